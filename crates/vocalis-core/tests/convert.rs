//! `vocalis convert`: the safetensors layout (and a q8_0-quantized GPT) loads and gives the same
//! output as the `.pth` it came from; voice fingerprints survive conversion.

mod common;

use candle::Device;
use common::*;
use vocalis_core::candle;
use vocalis_core::candle::quantized::GgmlDType;
use vocalis_core::checkpoint::convert::convert_dir;
use vocalis_core::models::Xtts;
use vocalis_core::sampling::SamplingParams;

fn synth(m: &Xtts) -> (Vec<u32>, Vec<f32>) {
    let j = golden_json();
    let cond = m.speaker("tiny_speaker").unwrap();
    let text = m.tokenize(j["text"].as_str().unwrap(), "en").unwrap();
    let p = SamplingParams { greedy: true, ..m.default_sampling() };
    let out = m.generate(&cond, &text, &p, 0, |_, _, _| true).unwrap();
    let wav = m.decode(&out.latents, &cond.speaker_embedding).unwrap();
    (out.codes, wav)
}

#[test]
fn converted_directory_gives_the_same_audio() {
    let g = golden();
    let src = shared_tiny_model_dir("legacy");
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("converted");
    let r = convert_dir(&src, &dst, None, false, |_| {}).unwrap();
    assert_eq!(r.quantized, 0);
    for f in ["model.safetensors", "speakers.safetensors", "config.json", "vocab.json"] {
        assert!(dst.join(f).is_file(), "{f}");
    }
    // refuses to overwrite
    assert!(convert_dir(&src, &dst, None, false, |_| {}).is_err());
    let orig = Xtts::load(&src, &Device::Cpu).unwrap();
    let conv = Xtts::load(&dst, &Device::Cpu).unwrap();
    assert_eq!(orig.fingerprint().unwrap(), conv.fingerprint().unwrap());
    let (codes, wav) = synth(&conv);
    assert_eq!(codes, vec_u32(&g["gpt_codes"]));
    assert_close("converted safetensors dir: waveform", &wav, &vec_f32(&g["wav"]), 1e-3);
    assert_eq!(conv.speakers().len(), 1);
}

#[test]
fn q8_0_gpt_loads_and_stays_close() {
    let g = golden();
    let src = shared_tiny_model_dir("legacy");
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("q8");
    let r = convert_dir(&src, &dst, Some(GgmlDType::Q8_0), false, |_| {}).unwrap();
    assert_eq!(r.quantized, 2 * 4, "two layers × four linears");
    assert!(dst.join("gpt.gguf").is_file());
    let m = Xtts::load(&dst, &Device::Cpu).unwrap();
    let orig = Xtts::load(&src, &Device::Cpu).unwrap();
    assert_eq!(
        m.fingerprint().unwrap(),
        orig.fingerprint().unwrap(),
        "conditioning weights are not quantized"
    );
    // teacher-forced latents and logits with the reference codes
    let cond = m.speaker("tiny_speaker").unwrap();
    let lat = m.latent_pass(&cond, &vec_u32(&g["text_tokens"]), &vec_u32(&g["gpt_codes"])).unwrap();
    let d = max_abs_diff("q8_0 latents", &vec_f32(&lat), &vec_f32(&g["gpt_latents"]));
    println!("q8_0 latents max|diff| = {d:.3e}");
    assert!(d < 0.1, "q8_0 latents drift {d}");
    let (codes, _) = synth(&m);
    let want = vec_u32(&g["gpt_codes"]);
    let agree = codes.iter().zip(&want).take_while(|(a, b)| a == b).count();
    println!("q8_0 greedy codes: {agree}/{} identical prefix", want.len());
}
