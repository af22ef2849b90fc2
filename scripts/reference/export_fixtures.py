#!/usr/bin/env python3
"""Export the golden fixtures of the Vocalis parity tests from the reference (coqui-tts 0.28).

Run inside the reference virtualenv (see README.md, "Regenerating fixtures"):

    ../shared/reference/setup-reference.sh .venv-reference
    .venv-reference/bin/python scripts/reference/export_fixtures.py [--out crates/vocalis-core/tests/fixtures]

Deterministic: two runs write identical files. Nothing here is needed by the tests themselves.

What it writes (all small; the weights are NOT committed):

frontend/   audio front-end goldens (issue "audio front-end"): torchaudio resampling for the rate
            pairs XTTS uses and arbitrary ones, torch.stft power spectra, melscale_fbanks, the four
            XTTS feature extractors, F.interpolate, load_audio of WAV/FLAC files of every sample
            format. `frontend.safetensors` + `frontend.json` + the audio files.

tiny/       a tiny XTTS v2 model in the released directory layout whose weights come from the
            seeded formula of `synthetic_weights.py` (the Rust tests rebuild them bit for bit):
            config.json, vocab.json, mel_stats.pth, speakers_xtts.pth, ref.wav (6.5 s, 24 kHz),
            ref2.wav (3 s stereo, 44.1 kHz); for each checkpoint layout variant the torch pickle
            `model.<variant>.data.pkl` and `model.<variant>.storages.json` (storage key -> sha256 of
            the bytes torch wrote), from which the tests reassemble a byte-identical model.pth;
            the same for the tiny DVAE; golden.safetensors / golden.json with every stage of
            conditioning, generation, decoding, streaming, sampling processors and training.
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
import torchaudio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_weights import fill_state_dict  # noqa: E402

torch.set_num_threads(2)
LANGS = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"]
SEED = 0


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def save_tensors(path: Path, tensors: dict) -> None:
    from safetensors.torch import save_file

    g = {}
    for k, v in tensors.items():
        v = torch.as_tensor(v).detach().contiguous().cpu()
        g[k] = v.float() if torch.is_floating_point(v) else v.long()
    save_file(g, str(path))


def voice_like(seconds: float, sr: int, seed: int, f0: float = 140.0) -> np.ndarray:
    """Deterministic voice-like signal (harmonics with vibrato, three formants, syllable AM)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f = f0 + 15 * np.sin(2 * np.pi * 0.7 * t) + 4 * np.sin(2 * np.pi * 5.5 * t)
    phase = 2 * np.pi * np.cumsum(f) / sr
    src = sum((0.9**k) * np.sin(k * phase) for k in range(1, 25))
    out = np.zeros(n)
    from scipy.signal import lfilter

    for fc, bw, g in [(700, 110, 1.0), (1200, 130, 0.6), (2600, 200, 0.3)]:
        r = math.exp(-math.pi * bw / sr)
        out += g * lfilter([1.0], [1.0, -2 * r * math.cos(2 * math.pi * fc / sr), r * r], src)
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 3.1 * t) ** 2
    out = out * env + 0.02 * rng.standard_normal(n) * np.abs(out).max()
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def stop_margins(scores, stop: int) -> list:
    """Per generation step: best non-STOP logit minus the STOP logit (batch row 0)."""
    margins = []
    for s in scores:
        s = s[0].clone()
        sv = float(s[stop])
        s[stop] = -float("inf")
        margins.append(float(s.max()) - sv)
    return margins


def build_minimal_vocab(path: Path) -> None:
    """A character-level BPE vocab in the exact schema of the released vocab.json."""
    specials = ["[STOP]", "[UNK]", "[SPACE]"]
    chars = list("!'(),-./:;?") + list("abcdefghijklmnopqrstuvwxyz")
    merges = [("t", "h"), ("i", "n"), ("th", "e"), ("a", "n"), ("e", "r"), ("o", "u"), ("r", "e"), ("o", "n")]
    extra = list("ßäöüàâçéèêëîïôùûÿñáíóúãõœæ")
    vocab = {}
    for t in specials + chars:
        vocab[t] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    for t in extra:
        vocab[t] = len(vocab)
    for t in [f"[{l}]" for l in LANGS] + ["[START]"]:
        vocab[t] = len(vocab)
    added = [
        {"id": vocab[t], "special": True, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False}
        for t in specials + [f"[{l}]" for l in LANGS] + ["[START]"]
    ]
    added.sort(key=lambda d: d["id"])
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None, "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    path.write_text(json.dumps(tok, ensure_ascii=False, indent=1), encoding="utf-8")


def pickle_fixture(pth: Path, out_dir: Path, stem: str) -> dict:
    """Store the pickle of a torch.save archive and the sha256 of every storage, so the tests can
    rebuild a byte-identical archive from the seeded weights."""
    with zipfile.ZipFile(pth) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl")][0]
        prefix = pkl[: -len("data.pkl")]
        (out_dir / f"{stem}.data.pkl").write_bytes(z.read(pkl))
        storages = {}
        for n in names:
            if n.startswith(prefix + "data/"):
                storages[n[len(prefix) + len("data/"):]] = hashlib.sha256(z.read(n)).hexdigest()
    meta = {"prefix": prefix, "storages": storages}
    (out_dir / f"{stem}.storages.json").write_text(json.dumps(meta, indent=0, sort_keys=True))
    return meta


def log_mel_f64(x, n_fft, hop, win, mel_norms):
    """Float64 log-mel of the GPT conditioning / DVAE front-ends (spec 3.2-3.4), with the same
    float32 window and filterbank values torch uses (they define the transform)."""
    w = np.zeros(n_fft)
    left = (n_fft - win) // 2
    w[left : left + win] = torch.hann_window(win).double().numpy()
    xp = np.pad(x.astype(np.float64), (n_fft // 2, n_fft // 2), mode="reflect")
    frames = np.stack([xp[i * hop : i * hop + n_fft] * w for i in range(1 + (len(xp) - n_fft) // hop)], axis=1)
    spec = np.fft.rfft(frames, axis=0)
    p = spec.real**2 + spec.imag**2
    fb = torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, 0.0, 8000.0, 80, 22050, norm="slaney", mel_scale="htk").double().numpy()
    mel = fb.T @ p
    return (np.log(np.maximum(mel, 1e-5)) / mel_norms.astype(np.float64)[:, None]).astype(np.float32)


# ------------------------------------------------------------------------------------------
# front-end goldens
# ------------------------------------------------------------------------------------------
def export_frontend(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    g, meta = {}, {}

    # resampling: XTTS pairs and arbitrary rates
    pairs = [(22050, 16000), (24000, 22050), (22050, 24000), (44100, 22050), (16000, 22050), (48000, 22050),
             (8000, 22050), (11025, 22050), (12345, 22050), (96000, 22050)]
    meta["resample_pairs"] = pairs
    for a, b in pairs:
        x = (rng.standard_normal(a // 4 + 11) * 0.3).astype(np.float32)
        x[: a // 8] += 0.5 * np.sin(2 * np.pi * 440 * np.arange(a // 8) / a).astype(np.float32)
        y = torchaudio.functional.resample(torch.from_numpy(x)[None], a, b)[0]
        g[f"rs_in_{a}_{b}"] = torch.from_numpy(x)
        g[f"rs_out_{a}_{b}"] = y

    # raw STFT power (torch.stft as torchaudio Spectrogram calls it)
    x = voice_like(0.3, 22050, 5)
    g["stft_in"] = torch.from_numpy(x)
    for name, (n_fft, hop, win, window) in {
        "hann_2048_256_1024": (2048, 256, 1024, torch.hann_window(1024)),
        "hann_1024_256_1024": (1024, 256, 1024, torch.hann_window(1024)),
        "hamming_512_160_400": (512, 160, 400, torch.hamming_window(400)),
    }.items():
        spec = torchaudio.transforms.Spectrogram(n_fft=n_fft, hop_length=hop, win_length=win, window_fn=lambda n, w=window: w,
                                                 power=2, center=True, pad_mode="reflect", normalized=False)
        g[f"stft_{name}"] = spec(torch.from_numpy(x))
    g["window_hann_1024"] = torch.hann_window(1024)
    g["window_hamming_400"] = torch.hamming_window(400)

    # filterbanks
    F_ = torchaudio.functional
    g["fb_htk_slaney_513x80"] = F_.melscale_fbanks(513, 0.0, 8000.0, 80, 22050, norm="slaney", mel_scale="htk")
    g["fb_htk_none_257x64"] = F_.melscale_fbanks(257, 0.0, 8000.0, 64, 16000, norm=None, mel_scale="htk")
    g["fb_slaney_slaney_201x40"] = F_.melscale_fbanks(201, 20.0, 7600.0, 40, 16000, norm="slaney", mel_scale="slaney")

    # the XTTS feature extractors
    from TTS.tts.layers.tortoise.arch_utils import TorchMelSpectrogram
    from TTS.tts.models.xtts import wav_to_mel_cloning
    from TTS.encoder.models.resnet import ResNetSpeakerEncoder

    sig = voice_like(1.3, 22050, 7)
    sig = np.concatenate([sig, sig[:17]])
    mel_norms = (1.0 + rng.random(80)).astype(np.float32)
    g["feat_in_22k"] = torch.from_numpy(sig)
    g["mel_norms"] = torch.from_numpy(mel_norms)
    g["cond_mel"] = wav_to_mel_cloning(torch.from_numpy(sig)[None], mel_norms=torch.from_numpy(mel_norms), n_fft=2048,
                                       hop_length=256, win_length=1024, power=2, normalized=False, sample_rate=22050,
                                       f_min=0, f_max=8000, n_mels=80)[0]
    tms = TorchMelSpectrogram(mel_norm_file=None, sampling_rate=22050)
    tms.mel_norms = torch.from_numpy(mel_norms)
    g["dvae_mel"] = tms(torch.from_numpy(sig)[None])[0]
    # The same two log-mels computed in float64 end to end (numpy): torch's float32 FFT and GEMM
    # are themselves ~1e-5 off in the log domain on quiet bins, so the tests also compare
    # against these exact values.
    for key, n_fft in (("cond_mel_f64", 2048), ("dvae_mel_f64", 1024)):
        g[key] = torch.from_numpy(log_mel_f64(sig, n_fft, 256, 1024, mel_norms))
    se = ResNetSpeakerEncoder(input_dim=64, proj_dim=512, log_input=True, use_torch_spec=True,
                              audio_config={"fft_size": 512, "win_length": 400, "hop_length": 160, "sample_rate": 16000,
                                            "preemphasis": 0.97, "num_mels": 64}).eval()
    x16 = (rng.standard_normal(16000) * 0.1).astype(np.float32)
    g["feat_in_16k"] = torch.from_numpy(x16)
    with torch.no_grad():
        p = se.torch_spec(torch.from_numpy(x16)[None])
        g["spk_mel_power"] = p[0]
        g["spk_feats"] = se.instancenorm((p + 1e-6).log())[0]

    # interpolation (HifiDecoder and speed)
    lat = rng.standard_normal((8, 37)).astype(np.float32)
    g["interp_in"] = torch.from_numpy(lat)
    z = F.interpolate(torch.from_numpy(lat)[None], scale_factor=[4.0], mode="linear")
    g["interp_x4"] = z[0]
    g["interp_dec"] = F.interpolate(z, scale_factor=[24000 / 22050], mode="linear")[0]
    for speed in (1.3, 0.7):
        g[f"interp_speed_{speed}".replace(".", "p")] = F.interpolate(torch.from_numpy(lat)[None], scale_factor=1.0 / speed, mode="linear")[0]

    # load_audio on every WAV sample format and FLAC
    from TTS.tts.models.xtts import load_audio

    files = {
        "pcm16_mono_24k.wav": (voice_like(0.5, 24000, 11), 24000, "PCM_16"),
        "pcm24_stereo_44k.wav": (np.stack([voice_like(0.5, 44100, 12), voice_like(0.5, 44100, 13, 200.0)], 1), 44100, "PCM_24"),
        "pcm32_mono_16k.wav": (voice_like(0.5, 16000, 14), 16000, "PCM_32"),
        "u8_mono_8k.wav": (voice_like(0.5, 8000, 15), 8000, "PCM_U8"),
        "float_3ch_48k.wav": (np.stack([voice_like(0.4, 48000, s) for s in (16, 17, 18)], 1), 48000, "FLOAT"),
        "pcm16_mono_22k.flac": (voice_like(0.5, 22050, 19), 22050, "PCM_16"),
        "pcm16_stereo_32k.flac": (np.stack([voice_like(0.5, 32000, 20), voice_like(0.5, 32000, 21)], 1), 32000, "PCM_16"),
    }
    meta["audio_files"] = {}
    for fname, (data, sr, subtype) in files.items():
        sf.write(str(out / fname), data, sr, subtype=subtype)
        a = load_audio(str(out / fname), 22050)
        key = "load_" + fname.replace(".", "_")
        g[key] = a[0]
        info = sf.info(str(out / fname))
        meta["audio_files"][fname] = {"golden": key, "sample_rate": sr, "channels": info.channels, "frames": info.frames, "subtype": subtype}
    # an Ogg Vorbis and an MP3 file (lossy: decoder-dependent, compared loosely)
    v = voice_like(1.0, 22050, 22)
    sf.write(str(out / "vorbis_22k.ogg"), v, 22050, format="OGG", subtype="VORBIS")
    g["lossy_source_22k"] = torch.from_numpy(v)
    try:
        sf.write(str(out / "mp3_22k.mp3"), v, 22050, format="MP3", subtype="MPEG_LAYER_III")
        meta["mp3"] = True
    except Exception as e:  # noqa: BLE001
        meta["mp3"] = f"libsndfile cannot write MP3 here: {e}"

    save_tensors(out / "frontend.safetensors", g)
    (out / "frontend.json").write_text(json.dumps(meta, indent=1))


# ------------------------------------------------------------------------------------------
# tiny model
# ------------------------------------------------------------------------------------------
def tiny_config(vocab_path: Path):
    from TTS.tts.configs.xtts_config import XttsArgs, XttsAudioConfig, XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    tok = VoiceBpeTokenizer(vocab_file=str(vocab_path))
    args = XttsArgs(
        gpt_batch_size=1, kv_cache=True, num_chars=255, tokenizer_file="", gpt_max_audio_tokens=24, gpt_max_text_tokens=64,
        gpt_max_prompt_tokens=70, gpt_layers=2, gpt_n_model_channels=64, gpt_n_heads=4, gpt_number_text_tokens=tok.get_number_tokens(),
        gpt_start_text_token=None, gpt_stop_text_token=None, gpt_num_audio_tokens=1026, gpt_start_audio_token=1024,
        gpt_stop_audio_token=1025, gpt_code_stride_len=1024, gpt_use_masking_gt_prompt_approach=True,
        gpt_use_perceiver_resampler=True, input_sample_rate=22050, output_sample_rate=24000, output_hop_length=256,
        decoder_input_dim=64, d_vector_dim=512, cond_d_vector_in_each_upsampling_layer=True, duration_const=102400,
    )
    cfg = XttsConfig(model_args=args, audio=XttsAudioConfig(sample_rate=22050, output_sample_rate=24000), temperature=0.75,
                     length_penalty=1.0, repetition_penalty=5.0, top_k=50, top_p=0.85, num_gpt_outputs=1, gpt_cond_len=30,
                     gpt_cond_chunk_len=4, max_ref_len=30, sound_norm_refs=False)
    return cfg, tok


def export_tiny(out: Path) -> None:
    import contextlib

    from TTS.tts.configs.xtts_config import XttsArgs, XttsAudioConfig, XttsConfig
    from TTS.tts.layers.xtts.dvae import DiscreteVAE
    from TTS.tts.models.xtts import Xtts, load_audio, wav_to_mel_cloning

    out.mkdir(parents=True, exist_ok=True)
    build_minimal_vocab(out / "vocab.json")
    cfg, tok = tiny_config(out / "vocab.json")
    text, language = "Hello world, this is a tiny test.", "en"

    torch.manual_seed(SEED)
    model = Xtts(cfg)
    model.tokenizer = tok
    model.init_models()
    cfg.model_args.gpt_start_text_token = None
    cfg.model_args.gpt_stop_text_token = None
    fill_state_dict(model, SEED)
    model.eval()

    sf.write(str(out / "ref.wav"), voice_like(6.5, 24000, SEED), 24000, subtype="PCM_16")
    ref2 = np.stack([voice_like(3.0, 44100, 31, 190.0), voice_like(3.0, 44100, 32, 185.0)], 1)
    sf.write(str(out / "ref2.wav"), ref2, 44100, subtype="PCM_16")

    # make greedy decoding stop after ~10 codes: raise the stop logit bias at a record-low margin
    with torch.inference_mode():
        cond, _ = model.get_conditioning_latents(str(out / "ref.wav"), max_ref_length=30, gpt_cond_len=30, gpt_cond_chunk_len=4)
        tt = torch.IntTensor(tok.encode(text.strip().lower(), lang=language)).unsqueeze(0)
        _, gen = model.gpt.generate(cond_latents=cond, text_inputs=tt, do_sample=False, num_beams=1, repetition_penalty=5.0,
                                    length_penalty=1.0, output_scores=True, return_dict_in_generate=True)
    stop = model.gpt.stop_audio_token
    margins = stop_margins(gen.scores, stop)
    cands = [k for k in range(1, len(margins)) if margins[k] < min(margins[:k])]
    k = min(cands, key=lambda c: abs(c - 10))
    with torch.no_grad():
        # STOP is never in the penalised history, so its score moves one for one with the bias
        model.gpt.mel_head.bias[stop] += 0.5 * (margins[k] + min(margins[:k]))
    overrides = [{"name": "gpt.mel_head.bias", "index": stop, "value": float(model.gpt.mel_head.bias[stop].detach())}]

    # ---- save the model dir in the layout variants ------------------------------------------------
    sd = {k2: v.detach().clone() for k2, v in model.state_dict().items()}
    sd = {k2: v for k2, v in sd.items() if not k2.startswith("gpt.gpt_inference.") and k2 != "gpt.gpt.wte.weight"}
    cfg_json = cfg.to_dict()
    (out / "config.json").write_text(json.dumps(cfg_json, indent=4, default=str), encoding="utf-8")
    torch.save(model.mel_stats.detach().clone(), out / "mel_stats.pth")

    @contextlib.contextmanager
    def legacy_module_names():
        old = (XttsArgs.__module__, XttsAudioConfig.__module__)
        XttsArgs.__module__ = "TTS.tts.models.xtts"
        XttsAudioConfig.__module__ = "TTS.tts.models.xtts"
        try:
            yield
        finally:
            XttsArgs.__module__, XttsAudioConfig.__module__ = old

    def old_wn(d):
        return {k2.replace(".parametrizations.weight.original0", ".weight_g").replace(".parametrizations.weight.original1", ".weight_v"): v
                for k2, v in d.items()}

    # tensors whose values do not come from the formula (computed constants, trainer extras)
    constants = {k2: v for k2, v in sd.items() if k2.endswith(("torch_spec.0.filter", "torch_spec.1.spectrogram.window",
                                                               "torch_spec.1.mel_scale.fb"))}
    constants["dvae.encoder.0.0.weight"] = torch.zeros(2, 2)
    constants["torch_mel_spectrogram_dvae.mel_stft.spectrogram.window"] = torch.hann_window(8).clone()  # own storage
    from safetensors.torch import save_file as _save

    _save({k2: v.contiguous() for k2, v in constants.items()}, str(out / "constants.safetensors"))
    variants = {
        "legacy": ("object", sd),  # release layout: pickled XttsConfig object, parametrizations naming
        "dict_oldwn": ("dict", old_wn(sd)),  # config as dict, weight_g/weight_v
        "half": ("dict", {k2: (v.half() if torch.is_floating_point(v) else v) for k2, v in sd.items()}),
        "trainer": ("dict", {**{f"xtts.{k2}": v for k2, v in sd.items()},
                             "dvae.encoder.0.0.weight": constants["dvae.encoder.0.0.weight"],
                             "torch_mel_spectrogram_dvae.mel_stft.spectrogram.window": constants["torch_mel_spectrogram_dvae.mel_stft.spectrogram.window"]}),
    }
    meta = {"text": text, "language": language, "seed": SEED, "overrides": overrides, "variants": {}}
    g = {}
    tmp = Path(tempfile.mkdtemp())
    for name, (cfg_kind, state) in variants.items():
        p = tmp / f"model_{name}.pth"
        if cfg_kind == "object":
            with legacy_module_names():
                torch.save({"config": cfg, "model": state}, p)
        else:
            extra = {"optimizer": None, "step": 1234, "epoch": 3} if name == "trainer" else {}
            torch.save({"config": cfg_json, "model": state, **extra}, p)
        pickle_fixture(p, out, f"model.{name}")
        meta["variants"][name] = {"config": cfg_kind}

    # ---- tiny DVAE -----------------------------------------------------------------------------------
    dvae_kwargs = dict(channels=80, normalization=None, positional_dims=1, num_tokens=1024, codebook_dim=32, hidden_dim=32,
                       num_resnet_blocks=1, kernel_size=3, num_layers=2, use_transposed_convs=False)
    dvae = DiscreteVAE(**dvae_kwargs).eval()
    fill_state_dict(dvae, SEED)
    torch.save(dvae.state_dict(), tmp / "dvae.pth")
    pickle_fixture(tmp / "dvae.pth", out, "dvae")
    (out / "dvae.json").write_text(json.dumps(dvae_kwargs, indent=1))

    # ---- golden from the reference, loading each variant as a user would ----------------------------
    def load_variant(name):
        d = tmp / f"dir_{name}"
        d.mkdir(exist_ok=True)
        for f in ("config.json", "vocab.json"):
            shutil.copyfile(out / f, d / f)
        shutil.copyfile(tmp / f"model_{name}.pth", d / "model.pth")  # the reference may rewrite it
        c2 = XttsConfig()
        c2.load_json(str(d / "config.json"))
        m = Xtts.init_from_config(c2)
        m.load_checkpoint(c2, checkpoint_dir=str(d), eval=True, strict=True)
        return m

    gen_kwargs = dict(do_sample=False, num_beams=1, temperature=0.75, top_k=50, top_p=0.85, repetition_penalty=5.0, length_penalty=1.0)
    m2 = load_variant("legacy")
    with torch.inference_mode():
        cond, spk = m2.get_conditioning_latents(str(out / "ref.wav"), max_ref_length=30, gpt_cond_len=30, gpt_cond_chunk_len=4)
        torch.save({"tiny_speaker": {"gpt_cond_latent": cond.clone(), "speaker_embedding": spk.clone()}}, out / "speakers_xtts.pth")
        a22 = load_audio(str(out / "ref.wav"), 22050)[:, : 22050 * 30]
        g["ref_wav_22k"] = a22[0]
        a16 = torchaudio.functional.resample(a22, 22050, 16000)
        g["ref_wav_16k"] = a16[0]
        se = m2.hifigan_decoder.speaker_encoder
        g["spk_mel"] = se.torch_spec(a16.clone())[0]
        g["speaker_embedding"] = spk.reshape(-1)
        chunks = [a22[:, i : i + 22050 * 4] for i in range(0, a22.shape[1], 22050 * 4)]
        chunks = [c for c in chunks if c.size(-1) >= 22050 * 0.33]
        styles = []
        for ci, c in enumerate(chunks):
            mel = wav_to_mel_cloning(c, mel_norms=m2.mel_stats.cpu(), n_fft=2048, hop_length=256, win_length=1024, power=2,
                                     normalized=False, sample_rate=22050, f_min=0, f_max=8000, n_mels=80)
            g[f"cond_mel_chunk{ci}"] = mel[0]
            g[f"cond_encoder_out_chunk{ci}"] = m2.gpt.conditioning_encoder(mel)[0]
            styles.append(m2.gpt.get_style_emb(mel))
            g[f"perceiver_out_chunk{ci}"] = styles[-1][0]
        assert torch.allclose(torch.stack(styles).mean(0).transpose(1, 2), cond, atol=1e-6)
        g["gpt_cond_latent"] = cond[0]
        meta["cond_chunks"] = len(chunks)

        # multi-reference cloning (two files, different rate and channel count)
        cond_m, spk_m = m2.get_conditioning_latents([str(out / "ref.wav"), str(out / "ref2.wav")], max_ref_length=30,
                                                    gpt_cond_len=30, gpt_cond_chunk_len=4)
        g["gpt_cond_latent_multi"] = cond_m[0]
        g["speaker_embedding_multi"] = spk_m.reshape(-1)
        # the reference's get_conditioning_latents defaults (gpt_cond_len 6, chunk 6)
        cond_d, _ = m2.get_conditioning_latents(str(out / "ref.wav"))
        g["gpt_cond_latent_len6_chunk6"] = cond_d[0]

        sent = text.strip().lower()
        ids = tok.encode(sent, lang=language)
        meta["text_preprocessed"] = tok.preprocess_text(sent, language)
        meta["text_token_ids"] = ids
        tt = torch.IntTensor(ids).unsqueeze(0)
        g["text_tokens"] = tt[0].long()
        codes = m2.gpt.generate(cond_latents=cond, text_inputs=tt, num_return_sequences=1, output_attentions=False, **gen_kwargs)
        g["gpt_codes"] = codes[0].long()
        lat = m2.gpt(tt, torch.tensor([tt.shape[-1]]), codes, torch.tensor([codes.shape[-1] * m2.gpt.code_stride_len]),
                     cond_latents=cond, return_attentions=False, return_latent=True)
        g["gpt_latents"] = lat[0]
        # raw logits (before any processor) at each generation step, teacher-forced
        g["gpt_logits"] = m2.gpt.mel_head(lat[0])
        hd = m2.hifigan_decoder
        z = F.interpolate(lat.transpose(1, 2), scale_factor=[hd.ar_mel_length_compression / hd.output_hop_length], mode="linear")
        z = F.interpolate(z, scale_factor=[hd.output_sample_rate / hd.input_sample_rate], mode="linear")
        g["decoder_input"] = z[0]
        g["wav"] = hd.waveform_decoder(z, g=spk)[0, 0]
        res = m2.inference(text, language, cond, spk, **gen_kwargs)
        assert np.allclose(res["wav"], g["wav"].numpy(), atol=1e-6)
        sf.write(str(tmp / "out.wav"), res["wav"], 24000, subtype="FLOAT")
        res = m2.inference(text, language, cond, spk, speed=1.3, **gen_kwargs)
        g["wav_speed_1p3"] = torch.from_numpy(res["wav"])
        # two sentences in one call (no splitting): the reference concatenates per call
        res = m2.inference("Hi there.", language, cond, spk, **gen_kwargs)
        g["wav_hi_there"] = torch.from_numpy(res["wav"])
        meta["hi_there_tokens"] = tok.encode("hi there.", lang=language)

        # streaming, deterministic only with do_sample=True, top_k=1 (spec 5.7)
        chunks_out = list(m2.inference_stream(text, language, cond, spk, stream_chunk_size=4, overlap_wav_len=1024, do_sample=True,
                                              top_k=1, top_p=0.85, temperature=0.75, repetition_penalty=5.0))
        g["stream_wav"] = torch.cat([c.reshape(-1) for c in chunks_out])
        meta["stream_chunk_lengths"] = [int(c.numel()) for c in chunks_out]

    # ---- sampling processors on fixed logits (spec 5.3) ----------------------------------------------
    from transformers.generation.logits_process import (RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
                                                        TopKLogitsWarper, TopPLogitsWarper)

    rng = np.random.default_rng(99)
    logits = torch.from_numpy((rng.standard_normal((1, 1026)) * 3).astype(np.float32))
    logits[0, 7] = logits[0, 9]  # a tie
    history = torch.tensor([[1] * 40 + [1024, 5, 7, 7, 300, 1000]])
    g["proc_logits"] = logits[0]
    g["proc_history"] = history[0]
    meta["processors"] = []
    for i, (pen, temp, k_, p_) in enumerate([(5.0, 0.75, 50, 0.85), (1.0, 1.0, 0, 1.0), (2.0, 0.5, 10, 0.5), (10.0, 1.3, 1026, 0.99),
                                             (1.0, 0.75, 3, 0.999)]):
        s = logits.clone()
        if pen != 1.0:
            s = RepetitionPenaltyLogitsProcessor(pen)(history, s)
        if temp != 1.0:
            s = TemperatureLogitsWarper(temp)(history, s)
        if k_ != 0:
            s = TopKLogitsWarper(k_)(history, s)
        if p_ < 1.0:
            s = TopPLogitsWarper(p_)(history, s)
        g[f"proc_out_{i}"] = s[0]
        meta["processors"].append({"repetition_penalty": pen, "temperature": temp, "top_k": k_, "top_p": p_, "golden": f"proc_out_{i}"})

    # ---- layout variants: each must give the same codes (and the f16 one its own wav) ----------------
    for name in ("dict_oldwn", "half", "trainer"):
        mv = load_variant(name)
        with torch.inference_mode():
            cv, sv = mv.get_conditioning_latents(str(out / "ref.wav"), max_ref_length=30, gpt_cond_len=30, gpt_cond_chunk_len=4)
            rv = mv.inference(text, language, cv, sv, **gen_kwargs)
        g[f"variant_{name}_wav"] = torch.from_numpy(rv["wav"])
        g[f"variant_{name}_gpt_cond_latent"] = cv[0]
        meta["variants"][name]["same_as_legacy"] = bool(np.allclose(rv["wav"], g["wav"].numpy(), atol=1e-6))

    # ---- training step (GPTTrainer.format_batch_on_device + forward, eval mode / no dropout) --------
    from TTS.tts.layers.tortoise.arch_utils import TorchMelSpectrogram

    mel_norm_file = out / "mel_stats.pth"
    style_mel = TorchMelSpectrogram(filter_length=2048, hop_length=256, win_length=1024, normalize=False, sampling_rate=22050,
                                    mel_fmin=0, mel_fmax=8000, n_mel_channels=80, mel_norm_file=str(mel_norm_file))
    dvae_mel = TorchMelSpectrogram(mel_norm_file=str(mel_norm_file), sampling_rate=22050)
    gpt = m2.gpt
    wav22 = a22[:, :13230]
    rel = load_audio(str(out / "ref.wav"), 22050)
    start, length = 2560, 66150
    cond_wav = F.pad(rel[:, start : start + length], (0, 132300 - length))[0]
    with torch.no_grad():
        cond_mels = style_mel(cond_wav[None, None].view(1, 1, -1)).view(1, 1, 80, -1)
        dmel = dvae_mel(wav22[None])
        audio_codes = dvae.get_codebook_indices(dmel)
    g["train_cond_mels"] = cond_mels[0, 0]
    g["train_dvae_mel"] = dmel[0]
    g["train_audio_codes"] = audio_codes[0].long()
    text_ids = torch.IntTensor(tok.encode("hello world", "en"))[None]
    wav_len = torch.tensor([wav22.shape[-1]])
    gpt.train(False)
    gpt.zero_grad(set_to_none=True)
    with torch.enable_grad():
        lt, lm, _ = gpt(text_ids, torch.tensor([text_ids.shape[-1]]), audio_codes.clone(), wav_len, cond_mels=cond_mels,
                        cond_idxs=torch.tensor([[start, start + length]]), cond_lens=None)
        loss = 0.01 * lt + 1.0 * lm
        loss.backward()
    gn = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in gpt.parameters() if p.grad is not None))
    g["train_grad_final_norm_weight"] = gpt.final_norm.weight.grad.detach().clone()
    g["train_grad_mel_head_bias"] = gpt.mel_head.bias.grad.detach().clone()
    with torch.no_grad():
        lt2, lm2, _ = gpt(text_ids, torch.tensor([text_ids.shape[-1]]), audio_codes.clone(), wav_len, cond_mels=cond_mels,
                          cond_idxs=None, cond_lens=None)
    g["train_text_tokens"] = text_ids[0].long()
    meta["train"] = {"cond_idxs_samples": [start, start + length], "wav_len": int(wav_len), "loss_text_ce_masked": lt.item(),
                     "loss_mel_ce_masked": lm.item(), "loss_masked": loss.item(), "loss_text_ce_eval": lt2.item(),
                     "loss_mel_ce_eval": lm2.item(), "grad_global_l2_norm": gn.item()}

    save_tensors(out / "golden.safetensors", g)
    meta["tensors"] = {k2: list(torch.as_tensor(v).shape) for k2, v in g.items()}
    (out / "golden.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(tmp)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "crates/vocalis-core/tests/fixtures")
    ap.add_argument("--only", choices=["frontend", "tiny"], default=None)
    args = ap.parse_args()
    if args.only in (None, "frontend"):
        export_frontend(args.out / "frontend")
        print("wrote", args.out / "frontend")
    if args.only in (None, "tiny"):
        export_tiny(args.out / "tiny")
        print("wrote", args.out / "tiny")
    total = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"fixtures: {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
