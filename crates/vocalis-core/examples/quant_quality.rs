//! What quantizing the GPT costs: a float model dir against quantized dirs of the same weights
//! (`vocalis convert --quantize`), on one reference clip and one sentence.
//!
//!     cargo run --release -p vocalis-core --example quant_quality -- \
//!         F32_DIR REF.wav "TEXT" QUANT_DIR [QUANT_DIR ...]
//!
//! For each quantized dir it reports, as one JSON line:
//! - greedy codes: lengths, index of the first code that differs, share of equal positions;
//! - GPT logits teacher-forced on the float model's codes: max and RMS absolute error relative
//!   to the float logits' RMS, and how often the arg-max agrees; once from one pass over the
//!   whole sequence (the reference's latent pass) and once from the prefill and one-position
//!   steps synthesis uses (so with its KV cache: f16 for quantized models);
//! - waveform SNR of the decoded audio: float latents against the quantized model's latents for
//!   the same (float) codes, so both have the same length; and the SNR of the free-running
//!   quantized synthesis when its codes happen to have the float length.

use std::path::Path;

use anyhow::{Context, Result};
use vocalis_core::candle::{self, D, Device, Tensor};
use vocalis_core::models::{CloneOptions, Xtts};
use vocalis_core::sampling::SamplingParams;

fn snr_db(reference: &[f32], test: &[f32]) -> f64 {
    let n = reference.len().min(test.len());
    let sig: f64 = reference[..n].iter().map(|&v| (v as f64).powi(2)).sum();
    let err: f64 =
        reference[..n].iter().zip(&test[..n]).map(|(&a, &b)| ((a - b) as f64).powi(2)).sum();
    10.0 * (sig / err.max(1e-30)).log10()
}

/// The latents synthesis computes for `codes` (teacher-forced): the prefill's START latent
/// and one step per code but the last, `[L, D]`.
fn stepped_latents(m: &Xtts, cond: &Tensor, ids: &[u32], codes: &[u32]) -> Result<Tensor> {
    let mut cache = m.gpt.new_cache()?;
    let mut lat = vec![m.gpt.prefill(&mut cache, cond, ids)?];
    for (i, &c) in codes.iter().enumerate().take(codes.len().saturating_sub(1)) {
        lat.push(m.gpt.step(&mut cache, c, i + 1)?);
    }
    Ok(Tensor::cat(&lat, 0)?)
}

fn rms(t: &Tensor) -> Result<f64> {
    Ok(t.sqr()?.mean_all()?.to_dtype(candle::DType::F64)?.to_scalar::<f64>()?.sqrt())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        anyhow::bail!("usage: quant_quality F32_DIR REF.wav TEXT QUANT_DIR [QUANT_DIR ...]");
    }
    let dev = Device::Cpu;
    let float = Xtts::load(Path::new(&args[1]), &dev).context("float model")?;
    let opts = CloneOptions::from_config(&float.config);
    let voice = float.condition_on_files(&[Path::new(&args[2]).to_path_buf()], &opts)?;
    let text = &args[3];
    let ids = float.tokenize(text, "en")?;
    let greedy = SamplingParams { greedy: true, ..float.default_sampling() };
    let gen_f = float.generate(&voice, &ids, &greedy, 0, |_, _, _| true)?;
    let codes_f = gen_f.codes.clone();
    let lat_f = float.latent_pass(&voice, &ids, &codes_f)?;
    let logits_f = float.gpt.mel_logits(&lat_f)?;
    let wav_f = float.decode(&gen_f.latents, &voice.speaker_embedding)?;
    let arg_f = logits_f.argmax(D::Minus1)?.to_vec1::<u32>()?;
    let logit_rms = rms(&logits_f)?;
    let stepped_f =
        float.gpt.mel_logits(&stepped_latents(&float, &voice.gpt_cond_latent, &ids, &codes_f)?)?;
    println!(
        "{}",
        serde_json::json!({
            "float_stepped_vs_one_pass_logits_rms_err_over_rms":
                rms(&(&stepped_f - &logits_f)?)? / logit_rms,
        })
    );
    for dir in &args[4..] {
        let q = Xtts::load(Path::new(dir), &dev).with_context(|| format!("model {dir}"))?;
        let qvoice = q.condition_on_files(&[Path::new(&args[2]).to_path_buf()], &opts)?;
        let cond_diff = (&qvoice.gpt_cond_latent - &voice.gpt_cond_latent)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        let gen_q = q.generate(&qvoice, &ids, &greedy, 0, |_, _, _| true)?;
        let first_diff = codes_f.iter().zip(&gen_q.codes).position(|(a, b)| a != b);
        let equal = codes_f.iter().zip(&gen_q.codes).filter(|(a, b)| a == b).count();
        // teacher-forced on the float codes
        let lat_q = q.latent_pass(&qvoice, &ids, &codes_f)?;
        let logits_q = q.gpt.mel_logits(&lat_q)?;
        let err = (&logits_q - &logits_f)?;
        let max_err = err.abs()?.max_all()?.to_scalar::<f32>()? as f64;
        let rms_err = rms(&err)?;
        let arg_q = logits_q.argmax(D::Minus1)?.to_vec1::<u32>()?;
        let argmax_agree =
            arg_f.iter().zip(&arg_q).filter(|(a, b)| a == b).count() as f64 / arg_f.len() as f64;
        let wav_tf = q.decode(&lat_q, &qvoice.speaker_embedding)?;
        let lat_s = stepped_latents(&q, &qvoice.gpt_cond_latent, &ids, &codes_f)?;
        let logits_s = q.gpt.mel_logits(&lat_s)?;
        let err_s = (&logits_s - &logits_f)?;
        let arg_s = logits_s.argmax(D::Minus1)?.to_vec1::<u32>()?;
        let wav_s = q.decode(&lat_s, &qvoice.speaker_embedding)?;
        let free_snr = (gen_q.codes == codes_f)
            .then(|| {
                q.decode(&gen_q.latents, &qvoice.speaker_embedding).map(|w| snr_db(&wav_f, &w))
            })
            .transpose()?;
        let report = serde_json::json!({
            "dir": dir,
            "codes_float": codes_f.len(),
            "codes_quantized": gen_q.codes.len(),
            "first_differing_code": first_diff,
            "equal_code_share": equal as f64 / codes_f.len().max(gen_q.codes.len()) as f64,
            "cond_latent_max_abs_diff": cond_diff,
            "logits_max_abs_err": max_err,
            "logits_rms_err_over_rms": rms_err / logit_rms,
            "logits_argmax_agreement": argmax_agree,
            "waveform_snr_db_teacher_forced": snr_db(&wav_f, &wav_tf),
            "kv_dtype": format!("{:?}", q.gpt.kv_dtype()),
            "stepped_logits_max_abs_err": err_s.abs()?.max_all()?.to_scalar::<f32>()?,
            "stepped_logits_rms_err_over_rms": rms(&err_s)? / logit_rms,
            "stepped_logits_argmax_agreement":
                arg_f.iter().zip(&arg_s).filter(|(a, b)| a == b).count() as f64 / arg_f.len() as f64,
            "waveform_snr_db_stepped": snr_db(&wav_f, &wav_s),
            "waveform_snr_db_free_running": free_snr,
        });
        println!("{report}");
    }
    Ok(())
}
