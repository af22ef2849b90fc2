#!/usr/bin/env python3
"""Side-by-side benchmark of the reference (coqui-tts 0.28, PyTorch) and Vocalis on the same
full-size XTTS v2-shaped model with random (seeded) weights, in one run on one machine.

    /work/venvs/ref/bin/python scripts/bench_reference.py [--work DIR] [--threads 2] [--skip-build]

Steps:
 1. Builds the model directory once in DIR/model (released layout, model.pth with the pickled
    config object): the v2 architecture (30 layers x 1024, 16 heads, 605/402 positions) with
    weights from the seeded formula of synthetic_weights.py and the stop logit tuned so that
    greedy decoding emits ~200 codes (the same job as ../shared/research/cpu-baselines.md).
    The vocabulary is the fixtures' 92-token one (text embedding 92 x 1024 instead of 6681 x
    1024: 6.7M fewer parameters, irrelevant to speed). Also writes a 6.5 s 24 kHz reference clip.
 2. Reference, in fresh processes: load time, conditioning time, GPT ms per code (greedy
    generate), decoder real-time factor on the same latents, end-to-end real-time factor, and
    the whole job as a user runs it (load, clone, synthesize, write the wav) with peak RSS.
 3. Vocalis, same model and clip: `vocalis bench --json` on the .pth dir and on converted
    dirs (f32 safetensors, q8_0, q4k), and the whole job with `vocalis synth` under
    /usr/bin/time for peak RSS.
 4. Prints a markdown table and writes it into docs/benchmarks.md (section
    "## Inference: Vocalis vs the reference").
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))

TEXT = "Hello world, this is a tiny test."
REF_SEED = 11


def build_model(out: Path, stop_after: int, tune_stop: bool = True) -> dict:
    """Writes the model dir; `tune_stop=False` skips the greedy run that tunes the stop logit."""
    import numpy as np
    import soundfile as sf
    import torch
    from export_fixtures import build_minimal_vocab, stop_margins, voice_like
    from synthetic_weights import fill_state_dict
    from TTS.tts.configs.xtts_config import XttsArgs, XttsAudioConfig, XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    out.mkdir(parents=True, exist_ok=True)
    build_minimal_vocab(out / "vocab.json")
    tok = VoiceBpeTokenizer(vocab_file=str(out / "vocab.json"))
    args = XttsArgs(gpt_batch_size=1, kv_cache=True, num_chars=255, tokenizer_file="", gpt_max_audio_tokens=605,
                    gpt_max_text_tokens=402, gpt_max_prompt_tokens=70, gpt_layers=30, gpt_n_model_channels=1024,
                    gpt_n_heads=16, gpt_number_text_tokens=tok.get_number_tokens(), gpt_start_text_token=None,
                    gpt_stop_text_token=None, gpt_num_audio_tokens=1026, gpt_start_audio_token=1024,
                    gpt_stop_audio_token=1025, gpt_code_stride_len=1024, gpt_use_masking_gt_prompt_approach=True,
                    gpt_use_perceiver_resampler=True, input_sample_rate=22050, output_sample_rate=24000,
                    output_hop_length=256, decoder_input_dim=1024, d_vector_dim=512,
                    cond_d_vector_in_each_upsampling_layer=True, duration_const=102400)
    cfg = XttsConfig(model_args=args, audio=XttsAudioConfig(sample_rate=22050, output_sample_rate=24000), temperature=0.75,
                     length_penalty=1.0, repetition_penalty=5.0, top_k=50, top_p=0.85, num_gpt_outputs=1, gpt_cond_len=30,
                     gpt_cond_chunk_len=4, max_ref_len=30, sound_norm_refs=False)
    torch.manual_seed(REF_SEED)
    model = Xtts(cfg)
    model.tokenizer = tok
    model.init_models()
    cfg.model_args.gpt_start_text_token = None
    cfg.model_args.gpt_stop_text_token = None
    fill_state_dict(model, REF_SEED)
    model.eval()
    sf.write(str(out / "ref.wav"), voice_like(6.5, 24000, REF_SEED), 24000, subtype="PCM_16")
    info = {"stop_after_codes": None}
    if tune_stop:
        with torch.inference_mode():
            cond, _ = model.get_conditioning_latents(str(out / "ref.wav"), max_ref_length=30, gpt_cond_len=30, gpt_cond_chunk_len=4)
            tt = torch.IntTensor(tok.encode(TEXT.strip().lower(), lang="en")).unsqueeze(0)
            _, gen = model.gpt.generate(cond_latents=cond, text_inputs=tt, do_sample=False, num_beams=1, repetition_penalty=5.0,
                                     length_penalty=1.0, output_scores=True, return_dict_in_generate=True)
        stop = model.gpt.stop_audio_token
        margins = stop_margins(gen.scores, stop)
        cands = [k for k in range(1, len(margins)) if margins[k] < min(margins[:k])]
        if cands:
            k = min(cands, key=lambda c: abs(c - stop_after))
            with torch.no_grad():
                model.gpt.mel_head.bias[stop] += 0.5 * (margins[k] + min(margins[:k]))
            info["stop_after_codes"] = k
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()
          if not k.startswith("gpt.gpt_inference.") and k != "gpt.gpt.wte.weight"}
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=4, default=str))
    old = (XttsArgs.__module__, XttsAudioConfig.__module__)
    XttsArgs.__module__ = XttsAudioConfig.__module__ = "TTS.tts.models.xtts"
    try:
        torch.save({"config": cfg, "model": sd}, out / "model.pth")
    finally:
        XttsArgs.__module__, XttsAudioConfig.__module__ = old
    return info


REFERENCE_JOB = r"""
import json, resource, shutil, sys, tempfile, time
from pathlib import Path
t_start = time.perf_counter()
import torch
torch.set_num_threads(int(sys.argv[2]))
import soundfile as sf
from TTS.tts.configs.xtts_config import XttsConfig
from TTS.tts.models.xtts import Xtts
src = Path(sys.argv[1]); mode = sys.argv[3]
td = Path(tempfile.mkdtemp())          # the reference rewrites model.pth on first load
for f in ("config.json", "model.pth", "vocab.json"):
    shutil.copyfile(src / f, td / f)
t0 = time.perf_counter()
cfg = XttsConfig(); cfg.load_json(str(td / "config.json"))
m = Xtts(cfg); m.load_checkpoint(cfg, checkpoint_dir=str(td), eval=True)
load = time.perf_counter() - t0
shutil.rmtree(td)                      # 1.7 GB per run otherwise (it filled /tmp once)
r = {"load_secs": load, "import_secs": t0 - t_start}
with torch.inference_mode():
    t0 = time.perf_counter()
    cond, spk = m.get_conditioning_latents(str(src / "ref.wav"), max_ref_length=30, gpt_cond_len=30, gpt_cond_chunk_len=4)
    r["conditioning_secs"] = time.perf_counter() - t0
    text = sys.argv[4]
    if mode == "stages":
        tt = torch.IntTensor(m.tokenizer.encode(text.strip().lower(), lang="en")).unsqueeze(0)
        kw = dict(do_sample=False, num_beams=1, repetition_penalty=5.0, length_penalty=1.0)
        t0 = time.perf_counter()
        codes = m.gpt.generate(cond_latents=cond, text_inputs=tt, num_return_sequences=1, **kw)
        gen = time.perf_counter() - t0
        r["codes"] = int(codes.shape[-1]); r["gpt_ms_per_code"] = 1000 * gen / codes.shape[-1]
        lat = m.gpt(tt, torch.tensor([tt.shape[-1]]), codes, torch.tensor([codes.shape[-1] * 1024]), cond_latents=cond,
                    return_attentions=False, return_latent=True)
        t0 = time.perf_counter(); wav = m.hifigan_decoder(lat, g=spk); dec = time.perf_counter() - t0
        r["audio_secs"] = wav.shape[-1] / 24000; r["decoder_rtf"] = dec / r["audio_secs"]
        t0 = time.perf_counter()
        cond2, spk2 = m.get_conditioning_latents(str(src / "ref.wav"), max_ref_length=30, gpt_cond_len=30, gpt_cond_chunk_len=4)
        out = m.inference(text, "en", cond2, spk2, **kw)
        r["end_to_end_rtf"] = (time.perf_counter() - t0) / (len(out["wav"]) / 24000)
    else:  # the whole job as a user runs it: load, clone, synthesize, write
        out = m.inference(text, "en", cond, spk, do_sample=False, num_beams=1, repetition_penalty=5.0, length_penalty=1.0)
        sf.write(sys.argv[5], out["wav"], 24000, subtype="PCM_16")
r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
r["wall_secs"] = time.perf_counter() - t_start
print("RESULT " + json.dumps(r))
"""


def run(cmd, env=None) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{p.stderr[-3000:]}")
    return p.stdout + p.stderr


def timed(cmd, env=None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command, via /usr/bin/time -v."""
    t0 = time.perf_counter()
    out = run(["/usr/bin/time", "-v", *map(str, cmd)], env)
    wall = time.perf_counter() - t0
    rss = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out).group(1)) / 1024
    return wall, rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vocalis-bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--stop-after", type=int, default=200)
    ap.add_argument("--skip-build", action="store_true", help="reuse WORK/model")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    work, model = args.work, args.work / "model"
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    if not args.skip_build or not (model / "model.pth").is_file():
        print("building the full-size model...", flush=True)
        info = build_model(model, args.stop_after)
        print(info, flush=True)
    vocalis = ROOT / "target/release/vocalis"
    run(["cargo", "build", "--release", "-q", "--workspace", "--bins"])  # workspace features, as the tests build
    for name, q in (("st", None), ("q8_0", "q8_0"), ("q4k", "q4k")):
        d = work / f"model-{name}"
        if not d.is_dir():
            cmd = [vocalis, "convert", model, d] + (["--quantize", q] if q else [])
            run(cmd)

    rows = {}
    job = work / "job.py"
    job.write_text(REFERENCE_JOB)
    print("reference: stages...", flush=True)
    out = run([sys.executable, job, model, str(args.threads), "stages", TEXT], env)
    ref = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    wall, rss = timed([sys.executable, job, model, str(args.threads), "job", TEXT, work / "ref_out.wav"], env)
    ref["job_wall_secs"], ref["job_peak_rss_mb"] = wall, rss
    rows["reference (PyTorch f32, model.pth)"] = ref
    for label, d in (("Vocalis f32 (model.pth)", model), ("Vocalis f32 (converted)", work / "model-st"),
                     ("Vocalis q8_0 GPT", work / "model-q8_0"), ("Vocalis q4k GPT", work / "model-q4k")):
        print(f"{label}...", flush=True)
        out = run([vocalis, "--threads", str(args.threads), "bench", "--model", d, "--device", "cpu", "--speaker-wav",
                   model / "ref.wav", "--text", TEXT, "--json"], env)
        r = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
        wall, rss = timed([vocalis, "--threads", str(args.threads), "-q", "synth", "--model", d, "--device", "cpu",
                           "--speaker-wav", model / "ref.wav", "--text", TEXT, "--greedy", "--pause-ms", "0",
                           "--out", work / "voc_out.wav"], env)
        r["job_wall_secs"], r["job_peak_rss_mb"] = wall, rss
        rows[label] = r

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    cpu += " (AVX-512)" if "avx512f" in flags else " (AVX2, no AVX-512)" if "avx2" in flags else " (no AVX2)"
    lines = [
        "## Inference: Vocalis vs the reference",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu}, {os.cpu_count()} cores, {args.threads} threads each, "
        "same full-size XTTS v2-shaped model (30 layers x 1024, seeded random weights, stop tuned to ~200 codes), "
        "same 6.5 s reference clip, greedy decoding, in one run of:",
        "",
        "    PYTHON scripts/bench_reference.py   # PYTHON: the reference venv of ../shared/reference/setup-reference.sh",
        "",
        "| implementation | load s | conditioning s | GPT ms/code | decoder RTF | end-to-end RTF | first audio s (stream; Vocalis: new voice / prepared / used before) | stream RTF | whole job s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    f = lambda v, p=2: "-" if v is None else f"{v:.{p}f}"  # noqa: E731

    def first_audio(r):
        keys = ("stream_first_audio_secs", "stream_first_audio_prepared_voice_secs", "stream_first_audio_seen_voice_secs")
        return " / ".join(f(r[k]) for k in keys if k in r) or "-"

    for label, r in rows.items():
        lines.append(
            f"| {label} | {f(r.get('load_secs'))} | {f(r.get('conditioning_secs'))} | "
            f"{f(r.get('gpt_ms_per_code', r.get('gpt_ms_per_token')), 1)} | {f(r.get('decoder_rtf'), 3)} | "
            f"{f(r.get('end_to_end_rtf'), 3)} | {first_audio(r)} | {f(r.get('stream_rtf'), 3)} | {f(r.get('job_wall_secs'), 1)} | "
            f"{f(r.get('job_peak_rss_mb'), 0)} |")
    bw = [r["read_bandwidth_gbs"] for r in rows.values() if r.get("read_bandwidth_gbs")]
    if bw:
        lines += ["", f"Memory read bandwidth measured by `vocalis bench` ({args.threads} threads streaming 512 MiB "
                  f"through the GPT's dot kernel (AVX-512 or AVX2, as the CPU has), best of 5): {min(bw):.1f}-{max(bw):.1f} GB/s."]
    codes = rows["reference (PyTorch f32, model.pth)"].get("codes")
    lines += ["", f"Codes generated: {codes} (reference); Vocalis: "
              + ", ".join(f"{k}: {v.get('codes')}" for k, v in rows.items() if k.startswith("Vocalis")), "",
              "Raw results:", "", "```json", json.dumps(rows, indent=1), "```", ""]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        doc = ROOT / "docs/benchmarks.md"
        text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
        text = re.sub(r"## Inference: Vocalis vs the reference\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n\n"
        doc.write_text(text + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
