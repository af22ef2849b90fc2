//! Times one GPT fine-tuning step (forward + backward, no optimizer) on a fixed batch, for
//! `scripts/bench_train_step.py`, which runs the same step in the reference.
//!
//!     train_step_bench MODEL_DIR BATCH.safetensors STEPS
//!
//! The batch file holds (as written by the script): `text` [B, T] i64 (padded), `text_lens` [B],
//! `codes` [B, C] i64 (padded), `code_lens` [B], `wav_lens` [B], `cond_mels` [B, 1, 80, T_m]
//! f32 and `cond_idxs` [B, 2] (sample indices of the conditioning slice, masking approach).
//! Runs 1 warm-up step and STEPS timed ones and prints one JSON line:
//! `{"step_secs_median": .., "step_secs": [..], "loss": ..}` (the loss of the last step,
//! `0.01 * text CE + mel CE`).

use std::time::Instant;

use anyhow::{Context, Result, bail};
use vocalis_core::candle::{self, Device, Tensor};
use vocalis_core::models::GptConfig;
use vocalis_core::models::gpt::TrainOpts;
use vocalis_core::models::gpt_train::TrainBatch;
use vocalis_core::training::{TrainableGpt, load_state_dict};

fn rows(t: &Tensor, lens: &[usize]) -> Result<Vec<Vec<u32>>> {
    let v = t.to_dtype(candle::DType::I64)?.to_vec2::<i64>()?;
    Ok(v.iter().zip(lens).map(|(r, &n)| r[..n].iter().map(|&x| x as u32).collect()).collect())
}

fn lens(t: &Tensor) -> Result<Vec<usize>> {
    Ok(t.to_dtype(candle::DType::I64)?.to_vec1::<i64>()?.iter().map(|&x| x as usize).collect())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        bail!("usage: {} MODEL_DIR BATCH.safetensors STEPS", args[0]);
    }
    let steps: usize = args[3].parse().context("STEPS")?;
    let dev = Device::Cpu;

    let (md, weights) = load_state_dict(std::path::Path::new(&args[1]))?;
    let tok = vocalis_core::text::TextTokenizer::from_file(&md.vocab)?;
    let cfg = GptConfig::new(&md.config, tok.number_tokens(), tok.start_id(), tok.stop_id());
    let tg = TrainableGpt::from_tensors(&cfg, &weights, &dev)?;
    drop(weights);

    let b = candle::safetensors::load(&args[2], &dev)?;
    let get = |k: &str| b.get(k).with_context(|| format!("batch tensor {k} missing"));
    let text = rows(get("text")?, &lens(get("text_lens")?)?)?;
    let codes = rows(get("codes")?, &lens(get("code_lens")?)?)?;
    let wav_lengths = lens(get("wav_lens")?)?;
    let mut cond_mels = get("cond_mels")?.to_dtype(candle::DType::F32)?;
    if cond_mels.rank() == 4 {
        cond_mels = cond_mels.squeeze(1)?; // [B, 1, 80, T] -> [B, 80, T]
    }
    let ci = get("cond_idxs")?.to_dtype(candle::DType::I64)?.to_vec2::<i64>()?;
    let batch = TrainBatch {
        text,
        codes,
        wav_lengths,
        cond_mels,
        cond_idxs: Some(ci.iter().map(|r| (r[0] as usize, r[1] as usize)).collect()),
    };

    let step = || -> Result<f32> {
        let (l, _) = tg.gpt.forward_train(&batch, TrainOpts::default())?;
        let loss = ((l.text * 0.01)? + l.mel)?;
        let grads = loss.backward()?;
        drop(grads);
        Ok(loss.to_scalar::<f32>()?)
    };
    let mut loss = step()?; // warm-up
    let mut secs = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t0 = Instant::now();
        loss = step()?;
        secs.push(t0.elapsed().as_secs_f64());
    }
    let mut sorted = secs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.is_empty() {
        f64::NAN
    } else if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        0.5 * (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2])
    };
    println!(
        "{}",
        serde_json::json!({"step_secs_median": median, "step_secs": secs, "loss": loss})
    );
    Ok(())
}
