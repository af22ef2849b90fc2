//! Times one inference stage in a loop, for profiling it alone (`perf record` around it) and
//! for A/B runs of a change in the same minute on a noisy machine.
//!
//!     cargo run --release --example stage_times -- MODEL_DIR STAGE [ROUNDS]
//!
//! STAGE is one of
//! - `prefill`: the GPT prefill of the `vocalis bench` sentence for one voice; the first round
//!   computes the voice's conditioning keys and values, later rounds reuse them;
//! - `step`: 200 one-position GPT steps after that prefill (greedy codes fed back), per round:
//!   their mean, and the 10th percentile and median of the single steps;
//! - `decode`: HiFi-GAN on 240 random latents (~11 s of audio), with its real-time factor;
//! - `clone`: the speaker embedding and the GPT conditioning latents of a 6.5 s clip, both as
//!   `condition_on_audio` computes them, then the
//!   latents of its first chunk by part (mel, conditioning encoder, perceiver).
//!
//! Threads: `RAYON_NUM_THREADS` (the CLI's `--threads`).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use vocalis_core::candle::{Device, Tensor};
use vocalis_core::models::{CloneOptions, Xtts};
use vocalis_core::util::in_pool;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, stage, rest @ ..] = args.as_slice() else {
        bail!("usage: stage_times MODEL_DIR prefill|step|decode|clone [ROUNDS]")
    };
    let rounds: usize = match rest.first() {
        Some(r) => r.parse().with_context(|| format!("ROUNDS must be a number, got {r:?}"))?,
        None => 5,
    };
    let dev = Device::Cpu;
    let model = Xtts::load(Path::new(dir), &dev)?;
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    match stage.as_str() {
        "prefill" => {
            let cond = Tensor::randn(0f32, 1.0, (1, 32, model.gpt_config().model_dim), &dev)?;
            let ids = model.tokenize("Hello world, this is a tiny test.", "en")?;
            let mut cache = model.gpt.new_cache()?;
            for i in 0..rounds {
                let t = Instant::now();
                in_pool(|| model.gpt.prefill(&mut cache, &cond, &ids))?;
                println!("prefill {i}: {:.1} ms ({} positions)", ms(t), cache.len());
            }
        }
        "step" => {
            // one-position GPT steps after the bench sentence's prefill (codes fed back as
            // they come, greedy), 200 per round
            let cond = Tensor::randn(0f32, 1.0, (1, 32, model.gpt_config().model_dim), &dev)?;
            let ids = model.tokenize("Hello world, this is a tiny test.", "en")?;
            let mut cache = model.gpt.new_cache()?;
            for i in 0..rounds {
                cache.reset();
                let mut latent = in_pool(|| model.gpt.prefill(&mut cache, &cond, &ids))?;
                let t = Instant::now();
                let mut each = Vec::with_capacity(200);
                for pos in 1..=200 {
                    let ts = Instant::now();
                    let logits = model.gpt.mel_logits(&latent)?.flatten_all()?;
                    let code = logits.argmax(0)?.to_scalar::<u32>()?;
                    latent = in_pool(|| model.gpt.step(&mut cache, code, pos))?;
                    each.push(ms(ts));
                }
                // on a shared machine the mean moves with the neighbours' load; the fastest
                // tenth of the steps moves less
                each.sort_by(f64::total_cmp);
                println!(
                    "step {i}: {:.2} ms per step, p10 {:.2}, median {:.2} ({} positions at the end)",
                    ms(t) / 200.0,
                    each[each.len() / 10],
                    each[each.len() / 2],
                    cache.len()
                );
            }
        }
        "decode" => {
            let lat = Tensor::randn(0f32, 1.0, (240, model.gpt_config().model_dim), &dev)?;
            let spk = Tensor::randn(0f32, 0.1, 512, &dev)?;
            for i in 0..rounds {
                let t = Instant::now();
                let wav = model.decode(&lat, &spk)?;
                let secs = ms(t) / 1e3;
                println!("decode {i}: {secs:.2} s, RTF {:.3}", secs / (wav.len() as f64 / 24000.0));
            }
        }
        "clone" => {
            let clip: Vec<f32> = (0..22050 * 13 / 2)
                .map(|i| (i as f32 * 0.031).sin() * 0.3 + (i as f32 * 0.0071).sin() * 0.2)
                .collect();
            let o = CloneOptions::from_config(&model.config);
            for i in 0..rounds {
                let t = Instant::now();
                in_pool(|| model.speaker_embedding(&clip))?;
                let spk = ms(t);
                let t = Instant::now();
                in_pool(|| model.gpt_cond_latents(&clip, o.gpt_cond_secs, o.gpt_cond_chunk_secs))?;
                let gpt = ms(t);
                let t = Instant::now();
                model.condition_on_audio(std::slice::from_ref(&clip), &o)?;
                println!(
                    "clone {i}: speaker embedding {spk:.0} ms, GPT latents {gpt:.0} ms; condition_on_audio {:.0} ms",
                    ms(t)
                );
            }
            // the GPT latents of the first chunk, by part
            let chunk = &clip[..(22050.0 * o.gpt_cond_chunk_secs) as usize];
            for i in 0..rounds {
                let t = Instant::now();
                let mel = model.cond_mel(chunk)?;
                let t_mel = ms(t);
                let t = Instant::now();
                in_pool(|| model.gpt.conditioning_encoder_forward(&mel))?;
                let t_enc = ms(t);
                let t = Instant::now();
                in_pool(|| model.gpt.style_emb(&mel))?;
                println!(
                    "chunk {i} ({} frames): mel {t_mel:.0} ms, conditioning encoder {t_enc:.0} ms, encoder + perceiver {:.0} ms",
                    mel.dim(2)?,
                    ms(t)
                );
            }
        }
        s => bail!("unknown stage {s:?}: prefill, step, decode or clone"),
    }
    Ok(())
}
