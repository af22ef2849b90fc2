//! Parity with the reference on the tiny model (weights from the seeded formula, golden values
//! exported by `scripts/reference/export_fixtures.py`): stage by stage with reference inputs,
//! then end to end with greedy decoding, for every checkpoint layout variant. Tolerances are the
//! spec's (§9) for f32 CPU.

mod common;

use std::sync::OnceLock;

use candle::{Device, Tensor};
use common::*;
use vocalis_core::candle;
use vocalis_core::models::Xtts;
use vocalis_core::models::xtts::{CloneOptions, Conditioning};
use vocalis_core::sampling::SamplingParams;

fn model() -> &'static Xtts {
    static M: OnceLock<Xtts> = OnceLock::new();
    M.get_or_init(|| {
        Xtts::load(&shared_tiny_model_dir("legacy"), &Device::Cpu).expect("tiny model loads")
    })
}

fn golden_cond() -> Conditioning {
    let g = golden();
    let d = model().gpt_config().model_dim;
    Conditioning {
        gpt_cond_latent: g["gpt_cond_latent"].reshape((1, 32, d)).unwrap(),
        speaker_embedding: g["speaker_embedding"].reshape((1, 512, 1)).unwrap(),
    }
}

fn greedy() -> SamplingParams {
    SamplingParams { greedy: true, ..model().default_sampling() }
}

fn clone_opts() -> CloneOptions {
    CloneOptions {
        max_ref_secs: 30.0,
        gpt_cond_secs: 30.0,
        gpt_cond_chunk_secs: 4.0,
        sound_norm_refs: false,
    }
}

#[test]
fn load_audio_resamples_24k_reference_like_torchaudio() {
    let g = golden();
    let a22 = vocalis_core::audio::load_audio(tiny().join("ref.wav"), 22050, Some(30.0)).unwrap();
    assert_close("load_audio ref.wav 24000→22050", &a22, &vec_f32(&g["ref_wav_22k"]), 1e-6);
    let a16 = vocalis_core::audio::resample(&a22, 22050, 16000);
    assert_close("resample 22050→16000", &a16, &vec_f32(&g["ref_wav_16k"]), 1e-6);
}

#[test]
fn speaker_encoder_front_end_and_embedding() {
    let g = golden();
    let m = model();
    let a16 = vec_f32(&g["ref_wav_16k"]);
    let (mel, t) = m.speaker_encoder.mel_power(&a16).unwrap();
    let refm = vec_f32(&g["spk_mel"]);
    assert_eq!(t, 651);
    // linear power: compare relative to the magnitude
    let scale = refm.iter().fold(0f32, |a, v| a.max(v.abs()));
    assert_close(
        "speaker mel power / max",
        &mel.iter().map(|v| v / scale).collect::<Vec<_>>(),
        &refm.iter().map(|v| v / scale).collect::<Vec<_>>(),
        1e-6,
    );
    let e = m.speaker_embedding(&vec_f32(&g["ref_wav_22k"])).unwrap();
    assert_close("speaker embedding", &vec_f32(&e), &vec_f32(&g["speaker_embedding"]), 1e-5);
}

#[test]
fn conditioning_mels_encoder_and_perceiver() {
    let g = golden();
    let m = model();
    let a22 = vec_f32(&g["ref_wav_22k"]);
    for (i, start) in [(0usize, 0usize), (1, 88200)] {
        let chunk = &a22[start..(start + 88200).min(a22.len())];
        let mel = m.cond_mel(chunk).unwrap();
        assert_close(
            &format!("cond mel chunk {i}"),
            &vec_f32(&mel),
            &vec_f32(&g[&format!("cond_mel_chunk{i}")]),
            1e-5,
        );
        // teacher forcing: the encoder on the reference mel
        let ref_mel = g[&format!("cond_mel_chunk{i}")].unsqueeze(0).unwrap();
        let enc = m.gpt.conditioning_encoder_forward(&ref_mel).unwrap();
        assert_close(
            &format!("conditioning encoder chunk {i}"),
            &vec_f32(&enc),
            &vec_f32(&g[&format!("cond_encoder_out_chunk{i}")]),
            1e-4,
        );
        let per = m.gpt.style_emb(&ref_mel).unwrap().squeeze(0).unwrap().t().unwrap(); // [D, 32]
        assert_close(
            &format!("perceiver chunk {i}"),
            &vec_f32(&per),
            &vec_f32(&g[&format!("perceiver_out_chunk{i}")]),
            1e-4,
        );
    }
    let lat = m.gpt_cond_latents(&a22, 30.0, 4.0).unwrap();
    assert_close("gpt_cond_latent", &vec_f32(&lat), &vec_f32(&g["gpt_cond_latent"]), 1e-4);
}

/// One mel goes through the CPU path of the conditioning encoder (time-major, own attention);
/// a batch of two through candle's ops: the same values.
#[test]
fn conditioning_encoder_cpu_path_equals_the_batched_ops() {
    let g = golden();
    let m = model();
    let mel = g["cond_mel_chunk0"].unsqueeze(0).unwrap();
    let other = ((&mel * 0.5).unwrap() + 0.1).unwrap();
    let both = Tensor::cat(&[&mel, &other], 0).unwrap();
    let batched = m.gpt.conditioning_encoder_forward(&both).unwrap();
    for (i, one) in [mel, other].iter().enumerate() {
        let single = m.gpt.conditioning_encoder_forward(one).unwrap();
        let d = max_abs_diff(
            "encoder",
            &vec_f32(&single),
            &vec_f32(&batched.get(i).unwrap().unsqueeze(0).unwrap()),
        );
        assert!(d < 1e-5, "item {i}: CPU path vs batched ops {d}");
    }
}

#[test]
fn cloning_from_files_single_multi_and_reference_defaults() {
    let g = golden();
    let m = model();
    let c = m.condition_on_files(&[tiny().join("ref.wav")], &clone_opts()).unwrap();
    assert_eq!(c.gpt_cond_latent.dims(), &[1, 32, 64]);
    assert_eq!(c.speaker_embedding.dims(), &[1, 512, 1]);
    assert_close(
        "clone(ref.wav) gpt_cond_latent",
        &vec_f32(&c.gpt_cond_latent),
        &vec_f32(&g["gpt_cond_latent"]),
        1e-4,
    );
    assert_close(
        "clone(ref.wav) speaker_embedding",
        &vec_f32(&c.speaker_embedding),
        &vec_f32(&g["speaker_embedding"]),
        1e-5,
    );
    let c = m
        .condition_on_files(&[tiny().join("ref.wav"), tiny().join("ref2.wav")], &clone_opts())
        .unwrap();
    assert_close(
        "clone(ref.wav, ref2.wav 44.1k stereo) latent",
        &vec_f32(&c.gpt_cond_latent),
        &vec_f32(&g["gpt_cond_latent_multi"]),
        1e-4,
    );
    assert_close(
        "clone(ref.wav, ref2.wav) speaker embedding",
        &vec_f32(&c.speaker_embedding),
        &vec_f32(&g["speaker_embedding_multi"]),
        1e-5,
    );
    let opts = CloneOptions { gpt_cond_secs: 6.0, gpt_cond_chunk_secs: 6.0, ..clone_opts() };
    let c = m.condition_on_files(&[tiny().join("ref.wav")], &opts).unwrap();
    assert_close(
        "clone with gpt_cond_len 6 / chunk 6",
        &vec_f32(&c.gpt_cond_latent),
        &vec_f32(&g["gpt_cond_latent_len6_chunk6"]),
        1e-4,
    );
}

#[test]
fn text_tokens_match() {
    let g = golden();
    let j = golden_json();
    let ids = model().tokenize(j["text"].as_str().unwrap(), "en").unwrap();
    assert_eq!(ids, vec_u32(&g["text_tokens"]));
}

#[test]
fn latent_pass_and_logits_with_reference_codes() {
    let g = golden();
    let m = model();
    let cond = golden_cond();
    let text = vec_u32(&g["text_tokens"]);
    let codes = vec_u32(&g["gpt_codes"]);
    let lat = m.latent_pass(&cond, &text, &codes).unwrap();
    assert_close("latent pass (teacher forced)", &vec_f32(&lat), &vec_f32(&g["gpt_latents"]), 1e-4);
    let logits = m.gpt.mel_logits(&lat).unwrap();
    assert_close(
        "mel logits per step (teacher forced)",
        &vec_f32(&logits),
        &vec_f32(&g["gpt_logits"]),
        1e-4,
    );
}

#[test]
fn greedy_generation_codes_are_identical_and_latents_match() {
    let g = golden();
    let m = model();
    let cond = golden_cond();
    let text = vec_u32(&g["text_tokens"]);
    let out = m.generate(&cond, &text, &greedy(), 0, |_, _, _| true).unwrap();
    assert_eq!(out.codes, vec_u32(&g["gpt_codes"]), "greedy codes");
    assert!(out.stopped);
    // the latents kept during generation (KV cache) equal the reference's second pass
    assert_close(
        "generation latents vs reference latent pass",
        &vec_f32(&out.latents),
        &vec_f32(&g["gpt_latents"]),
        1e-4,
    );
}

#[test]
fn decoder_from_reference_latents() {
    let g = golden();
    let m = model();
    let lat = &g["gpt_latents"];
    let z = vocalis_core::models::hifigan::decoder_input(lat).unwrap();
    assert_close(
        "decoder input (interpolations)",
        &vec_f32(&z),
        &vec_f32(&g["decoder_input"]),
        1e-6,
    );
    let wav = m.decode(lat, &g["speaker_embedding"]).unwrap();
    assert_close("HiFi-GAN waveform", &wav, &vec_f32(&g["wav"]), 1e-3);
}

#[test]
fn end_to_end_greedy_synthesis_from_the_reference_clip() {
    let g = golden();
    let j = golden_json();
    let m = model();
    let cond = m.condition_on_files(&[tiny().join("ref.wav")], &clone_opts()).unwrap();
    let text = m.tokenize(j["text"].as_str().unwrap(), "en").unwrap();
    let out = m.generate(&cond, &text, &greedy(), 0, |_, _, _| true).unwrap();
    assert_eq!(out.codes, vec_u32(&g["gpt_codes"]), "end-to-end greedy codes");
    let wav = m.decode(&out.latents, &cond.speaker_embedding).unwrap();
    assert_close("end-to-end waveform", &wav, &vec_f32(&g["wav"]), 1e-3);
}

#[test]
fn speed_interpolates_latents_like_the_reference() {
    let g = golden();
    let m = model();
    let lat = m.apply_speed(&g["gpt_latents"], 1.3).unwrap();
    let wav = m.decode(&lat, &g["speaker_embedding"]).unwrap();
    assert_close("waveform at speed 1.3", &wav, &vec_f32(&g["wav_speed_1p3"]), 1e-3);
}

#[test]
fn builtin_speaker_from_speakers_xtts_pth() {
    let g = golden();
    let m = model();
    assert_eq!(m.speakers().len(), 1);
    let s = m.speaker("tiny_speaker").unwrap();
    assert_close(
        "speakers_xtts.pth latent",
        &vec_f32(&s.gpt_cond_latent),
        &vec_f32(&g["gpt_cond_latent"]),
        0.0,
    );
    assert!(m.speaker("nobody").is_none());
}

#[test]
fn every_checkpoint_layout_gives_the_same_output() {
    let g = golden();
    let j = golden_json();
    for variant in ["dict_oldwn", "half", "trainer"] {
        let dir = tiny_model_dir(variant);
        let m = Xtts::load(dir.path(), &Device::Cpu).unwrap_or_else(|e| panic!("{variant}: {e}"));
        let cond = m.condition_on_files(&[tiny().join("ref.wav")], &clone_opts()).unwrap();
        assert_close(
            &format!("{variant}: gpt_cond_latent"),
            &vec_f32(&cond.gpt_cond_latent),
            &vec_f32(&g[&format!("variant_{variant}_gpt_cond_latent")]),
            1e-4,
        );
        let text = m.tokenize(j["text"].as_str().unwrap(), "en").unwrap();
        let out = m.generate(&cond, &text, &greedy(), 0, |_, _, _| true).unwrap();
        let wav = m.decode(&out.latents, &cond.speaker_embedding).unwrap();
        assert_close(
            &format!("{variant}: waveform"),
            &wav,
            &vec_f32(&g[&format!("variant_{variant}_wav")]),
            1e-3,
        );
    }
}

#[test]
fn logits_processors_match_hf_on_fixed_logits() {
    use vocalis_core::sampling::{apply_repetition_penalty, apply_warpers};
    let g = golden();
    let j = golden_json();
    let logits = vec_f32(&g["proc_logits"]);
    let history = vec_u32(&g["proc_history"]);
    for p in j["processors"].as_array().unwrap() {
        let params = SamplingParams {
            temperature: p["temperature"].as_f64().unwrap() as f32,
            top_k: p["top_k"].as_u64().unwrap() as usize,
            top_p: p["top_p"].as_f64().unwrap() as f32,
            repetition_penalty: p["repetition_penalty"].as_f64().unwrap() as f32,
            length_penalty: 1.0,
            greedy: false,
        };
        let mut s = logits.clone();
        apply_repetition_penalty(&mut s, &history, params.repetition_penalty);
        apply_warpers(&mut s, &params);
        let want = vec_f32(&g[p["golden"].as_str().unwrap()]);
        for (i, (a, b)) in s.iter().zip(&want).enumerate() {
            let ok =
                (a.is_infinite() && b.is_infinite()) || (a - b).abs() <= 1e-6 * b.abs().max(1.0);
            assert!(ok, "{params:?}: token {i}: {a} vs {b}");
        }
    }
}

#[test]
fn mel_stats_match_the_standalone_file() {
    // mel_stats.pth (a bare tensor) equals state_dict["mel_stats"].
    let arch =
        vocalis_core::checkpoint::pth::PthArchive::open(&tiny().join("mel_stats.pth")).unwrap();
    let t = arch.read_all(None, &Device::Cpu).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(vec_f32(&t[0].1), model().mel_stats());
    let _ = Tensor::zeros(1, candle::DType::F32, &Device::Cpu);
}
