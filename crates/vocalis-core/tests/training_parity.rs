//! Fine-tuning parity on the tiny model (dropout off, as the golden was exported): the DVAE mel
//! and codes, the style mel of the conditioning slice, the text and audio cross-entropies on the
//! masked (train) and eval paths, the global gradient norm and sample gradients.

mod common;

use candle::{Device, Tensor};
use common::*;
use vocalis_core::candle;
use vocalis_core::models::GptConfig;
use vocalis_core::models::gpt::TrainOpts;
use vocalis_core::models::gpt_train::TrainBatch;
use vocalis_core::training::data::{DvaeCodec, padded_slice};
use vocalis_core::training::{TrainableGpt, grad_norm, load_state_dict, named_grads};

fn setup() -> (TrainableGpt, Vec<f32>) {
    let (md, weights) = load_state_dict(&shared_tiny_model_dir("legacy")).unwrap();
    let tok = vocalis_core::text::TextTokenizer::from_file(&md.vocab).unwrap();
    let cfg = GptConfig::new(&md.config, tok.number_tokens(), tok.start_id(), tok.stop_id());
    let mel_stats = vec_f32(&weights["mel_stats"]);
    let tg = TrainableGpt::from_tensors(&cfg, &weights, &Device::Cpu).unwrap();
    (tg, mel_stats)
}

fn close(what: &str, a: f64, b: f64, tol: f64) {
    println!("{what:40} ours {a:.7} reference {b:.7} |diff| {:.2e}", (a - b).abs());
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn dvae_mel_and_codes_match_the_reference() {
    let g = golden();
    let (_tg, mel_stats) = setup();
    let dvae_path = tempfile::tempdir().unwrap();
    let p = dvae_path.path().join("dvae.pth");
    write_tiny_dvae(&p);
    let codec = DvaeCodec::load(&p, mel_stats, &Device::Cpu).unwrap();
    let wav22 = &vec_f32(&g["ref_wav_22k"])[..13230];
    let mel = codec.mel(wav22).unwrap();
    assert_close(
        "DVAE mel of the training clip",
        &vec_f32(&mel),
        &vec_f32(&g["train_dvae_mel"]),
        2e-5,
    );
    assert_eq!(codec.codes(wav22).unwrap(), vec_u32(&g["train_audio_codes"]));
}

#[test]
fn losses_and_gradients_match_the_reference() {
    let g = golden();
    let j = golden_json();
    let t = &j["train"];
    let (tg, mel_stats) = setup();
    // the conditioning slice's style mel, from audio
    let rel = vocalis_core::audio::load_audio(tiny().join("ref.wav"), 22050, None).unwrap();
    let cond = padded_slice(&rel, 2560, 66150, 132_300);
    let fe = vocalis_core::audio::features::MelFrontend::gpt_conditioning();
    let (m, frames) = fe.log_mel(&cond, &mel_stats).unwrap();
    assert_close("style mel of the conditioning slice", &m, &vec_f32(&g["train_cond_mels"]), 2e-5);
    let cond_mels = g["train_cond_mels"].unsqueeze(0).unwrap();
    assert_eq!(frames, 517);
    let batch = |masked: bool| TrainBatch {
        text: vec![vec_u32(&g["train_text_tokens"])],
        codes: vec![vec_u32(&g["train_audio_codes"])],
        wav_lengths: vec![t["wav_len"].as_u64().unwrap() as usize],
        cond_mels: cond_mels.clone(),
        cond_idxs: masked.then(|| vec![(2560, 68710)]),
    };
    let (l, _) = tg.gpt.forward_train(&batch(true), TrainOpts::default()).unwrap();
    let lt = l.text.to_scalar::<f32>().unwrap() as f64;
    let lm = l.mel.to_scalar::<f32>().unwrap() as f64;
    close("text CE (masked / train path)", lt, t["loss_text_ce_masked"].as_f64().unwrap(), 1e-4);
    close("mel CE (masked / train path)", lm, t["loss_mel_ce_masked"].as_f64().unwrap(), 1e-4);
    let loss = ((l.text * 0.01).unwrap() + l.mel).unwrap();
    close(
        "loss = 0.01 text + mel",
        loss.to_scalar::<f32>().unwrap() as f64,
        t["loss_masked"].as_f64().unwrap(),
        1e-4,
    );
    let grads = named_grads(&loss.backward().unwrap(), &tg.vars());
    let gn = grad_norm(&grads).unwrap();
    close(
        "global gradient L2 norm",
        gn,
        t["grad_global_l2_norm"].as_f64().unwrap(),
        1e-3 * t["grad_global_l2_norm"].as_f64().unwrap(),
    );
    let gv = |name: &str| -> Vec<f32> { vec_f32(&grads[name]) };
    assert_close(
        "grad final_norm.weight",
        &gv("gpt.final_norm.weight"),
        &vec_f32(&g["train_grad_final_norm_weight"]),
        1e-4,
    );
    assert_close(
        "grad mel_head.bias",
        &gv("gpt.mel_head.bias"),
        &vec_f32(&g["train_grad_mel_head_bias"]),
        1e-5,
    );
    // eval path (cond_idxs = None)
    let (l, _) = tg.gpt.forward_train(&batch(false), TrainOpts::default()).unwrap();
    close(
        "text CE (eval path)",
        l.text.to_scalar::<f32>().unwrap() as f64,
        t["loss_text_ce_eval"].as_f64().unwrap(),
        1e-4,
    );
    close(
        "mel CE (eval path)",
        l.mel.to_scalar::<f32>().unwrap() as f64,
        t["loss_mel_ce_eval"].as_f64().unwrap(),
        1e-4,
    );
    let _ = Tensor::zeros(1, candle::DType::F32, &Device::Cpu);
}
