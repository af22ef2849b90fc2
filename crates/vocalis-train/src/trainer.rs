//! The training loop: epochs of micro-batches with gradient accumulation, AdamW with the
//! reference's parameter groups, evaluation, per-epoch samples, checkpoints, TensorBoard.
//!
//! Determinism: the data order of epoch `e` is a permutation seeded by `(seed, e)`; the
//! conditioning slices and dropout masks of micro-batch `i` are seeded by `(seed, e, i)`. The
//! checkpoint stores the counters, so a run stopped at any optimizer step and resumed gives the
//! same weights as an uninterrupted run.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use vocalis_core::audio::XTTS_OUTPUT_SAMPLE_RATE_HZ;
use vocalis_core::audio::features::MelFrontend;
use vocalis_core::candle::{DType, Device, Tensor};
use vocalis_core::models::Xtts;
use vocalis_core::models::gpt::TrainOpts;
use vocalis_core::models::gpt_train::TrainBatch;
use vocalis_core::nn::Dropout;
use vocalis_core::training::adamw::MultiStepLr;
use vocalis_core::training::data::{padded_slice, prompt_slice};
use vocalis_core::training::{
    AdamW, AdamWConfig, ParamGroup, TrainableGpt, grad_norm, named_grads, no_weight_decay,
};

use crate::checkpoint::{self, TrainState};
use crate::config::{ConditioningSource, TrainConfig};
use crate::dataset::{Item, Prepared};
use crate::tensorboard::EventWriter;

const SR: f64 = 22050.0;

/// How a `fit` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All epochs done.
    Finished,
    /// `max_steps` reached.
    StepLimit,
    /// SIGINT/SIGTERM: a checkpoint was saved.
    Interrupted,
}

/// A training run.
pub struct Trainer {
    cfg: TrainConfig,
    device: Device,
    /// The model, with the trainable GPT in it.
    model: Xtts,
    vars: Vec<(String, vocalis_core::candle::Var)>,
    opt: AdamW,
    sched: MultiStepLr,
    data: Prepared,
    state: TrainState,
    tb: EventWriter,
    interrupt: Arc<AtomicBool>,
    style: MelFrontend,
    by_speaker: HashMap<String, Vec<usize>>,
    quiet: bool,
}

fn mix(a: u64, b: u64) -> u64 {
    vocalis_core::checkpoint::synthetic::mix64(
        a ^ vocalis_core::checkpoint::synthetic::mix64(b.wrapping_add(0x9E37_79B9_7F4A_7C15)),
    )
}

impl Trainer {
    /// Sets up the model, optimizer and logging; resumes from the newest valid checkpoint
    /// unless `restart`.
    pub fn new(
        cfg: TrainConfig,
        mut model: Xtts,
        trainable: TrainableGpt,
        data: Prepared,
        restart: bool,
        interrupt: Arc<AtomicBool>,
        quiet: bool,
    ) -> Result<Self> {
        let device = model.device().clone();
        let t = &cfg.training;
        let vars = trainable.vars();
        let (decay, no_decay): (Vec<_>, Vec<_>) =
            vars.iter().cloned().partition(|(n, _)| !no_weight_decay(n));
        let opt = AdamW::new(
            vec![
                ParamGroup { weight_decay: t.weight_decay, params: decay },
                ParamGroup { weight_decay: 0.0, params: no_decay },
            ],
            AdamWConfig { beta1: t.betas[0], beta2: t.betas[1], eps: t.eps },
        )?;
        let sched =
            MultiStepLr { base_lr: t.lr, milestones: t.lr_milestones.clone(), gamma: t.lr_gamma };
        let ckdir = cfg.checkpoints_dir();
        let n = checkpoint::clean_leftovers(&ckdir);
        if n > 0 {
            tracing::warn!("removed {n} incomplete checkpoint(s) left by an interrupted save");
        }
        let state = TrainState {
            version: checkpoint::STATE_VERSION,
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            scheduler_steps: 0,
            best_eval_loss: None,
            best_step: None,
            last_eval_loss: None,
            consecutive_nonfinite: 0,
            seed: t.seed,
            base_dir: cfg.model.base_dir.clone(),
            run_name: cfg.logging.run_name.clone().unwrap_or_else(|| "run".into()),
            created: vocalis_core::voice::now_rfc3339(),
            vocalis_version: env!("CARGO_PKG_VERSION").into(),
        };
        let tb = EventWriter::new(cfg.run_dir()).with_context(|| {
            format!("cannot write TensorBoard events in {}", cfg.run_dir().display())
        })?;
        if !quiet {
            eprintln!(
                "TensorBoard events: {} (tensorboard --logdir {})",
                tb.path().display(),
                cfg.logging.runs_dir.display()
            );
        }
        let mut by_speaker: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, it) in data.train.iter().enumerate() {
            by_speaker.entry(it.speaker.clone()).or_default().push(i);
        }
        let TrainableGpt { gpt, .. } = trainable;
        drop(vocalis_core::training::swap_gpt(&mut model, gpt));
        let mut tr = Trainer {
            cfg,
            device,
            model,
            vars,
            opt,
            sched,
            data,
            state,
            tb,
            interrupt,
            style: MelFrontend::gpt_conditioning(),
            by_speaker,
            quiet,
        };
        if restart {
            tracing::info!("--restart: ignoring existing checkpoints");
        } else if let Some(c) = checkpoint::latest_valid(&ckdir) {
            tr.resume(c)?;
        }
        Ok(tr)
    }

    fn resume(&mut self, c: checkpoint::Checkpoint) -> Result<()> {
        if c.state.seed != self.cfg.training.seed {
            bail!(
                "{} was trained with seed {}, the config says {}: use --restart to start over",
                c.dir.display(),
                c.state.seed,
                self.cfg.training.seed
            );
        }
        let w = c.weights(&self.device)?;
        for (n, v) in &self.vars {
            let t = w.get(n).with_context(|| format!("{} lacks {n}", c.dir.display()))?;
            v.set(&t.to_dtype(DType::F32)?)?;
        }
        self.opt.load_state(&c.optimizer(&self.device)?, c.state.step)?;
        self.state = c.state;
        eprintln!(
            "resuming from {} (step {}, epoch {}, batch {})",
            c.dir.display(),
            self.state.step,
            self.state.epoch + 1,
            self.state.batch_in_epoch
        );
        Ok(())
    }

    /// The current state.
    pub fn state(&self) -> &TrainState {
        &self.state
    }

    fn micro_batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.data.train.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.cfg.training.seed, epoch as u64));
        order.shuffle(&mut rng);
        order.chunks(self.cfg.training.batch_size).map(|c| c.to_vec()).collect()
    }

    /// The conditioning clip of sample `idx`: another clip of the speaker, or the same one.
    fn cond_source(&self, idx: usize, eval: bool, rng: &mut ChaCha8Rng) -> &Item {
        let items = if eval { &self.data.eval } else { &self.data.train };
        let it = &items[idx];
        if self.cfg.training.conditioning == ConditioningSource::SameClipMasked {
            return it;
        }
        if eval {
            // the next clip of the same speaker in the eval list, deterministically
            let same: Vec<&Item> =
                items.iter().filter(|o| o.speaker == it.speaker && o.id != it.id).collect();
            return same.first().copied().unwrap_or(it);
        }
        match self.by_speaker.get(&it.speaker) {
            Some(v) if v.len() > 1 => {
                let others: Vec<usize> = v.iter().copied().filter(|&j| j != idx).collect();
                &self.data.train[*others.choose(rng).expect("non-empty")]
            }
            _ => it,
        }
    }

    fn build_batch(&self, idxs: &[usize], eval: bool, rng: &mut ChaCha8Rng) -> Result<TrainBatch> {
        let items = if eval { &self.data.eval } else { &self.data.train };
        let t = &self.cfg.training;
        let (lo, hi) = (
            (t.min_conditioning_seconds * SR) as usize,
            (t.max_conditioning_seconds * SR) as usize,
        );
        let mut mels = Vec::new();
        let mut cond_idxs = Vec::new();
        for &i in idxs {
            let src = self.cond_source(i, eval, rng);
            let audio = src.audio()?;
            let (start, len) = prompt_slice(audio.len(), lo, hi, eval, rng);
            let cond = padded_slice(&audio, start, len, hi);
            let (m, frames) = self.style.log_mel(&cond, self.model.mel_stats())?;
            mels.push(Tensor::from_vec(m, (1, 80, frames), &self.device)?);
            cond_idxs.push((start, start + len));
        }
        let masked = self.cfg.training.conditioning == ConditioningSource::SameClipMasked && !eval;
        Ok(TrainBatch {
            text: idxs.iter().map(|&i| items[i].tokens.clone()).collect(),
            codes: idxs.iter().map(|&i| items[i].codes.clone()).collect(),
            wav_lengths: idxs.iter().map(|&i| items[i].len).collect(),
            cond_mels: Tensor::cat(&mels, 0)?,
            cond_idxs: masked.then_some(cond_idxs),
        })
    }

    fn lr(&self) -> f64 {
        self.sched.lr(self.state.scheduler_steps)
    }

    fn save(&mut self) -> Result<std::path::PathBuf> {
        let weights: Vec<(String, Tensor)> =
            self.vars.iter().map(|(n, v)| (n.clone(), v.as_tensor().detach())).collect();
        let dir = checkpoint::save(
            &self.cfg.checkpoints_dir(),
            &self.state,
            &weights,
            &self.opt.state_tensors(),
        )?;
        checkpoint::rotate(
            &self.cfg.checkpoints_dir(),
            self.cfg.checkpoints.keep_last,
            self.state.best_step,
        );
        tracing::info!("saved checkpoint {}", dir.display());
        Ok(dir)
    }

    fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }

    fn log(&mut self, f: impl FnOnce(&mut EventWriter) -> std::io::Result<()>) {
        if let Err(e) = f(&mut self.tb) {
            tracing::warn!("TensorBoard logging failed (training continues): {e}");
        }
    }

    /// Mean eval losses `(total, text, mel)` over the eval set (no dropout, no masking).
    pub fn evaluate(&mut self) -> Result<Option<(f64, f64, f64)>> {
        let n_eval = self.data.eval.len();
        if n_eval == 0 {
            return Ok(None);
        }
        let t = self.cfg.training.clone();
        let idxs: Vec<usize> = (0..n_eval).collect();
        let (mut lt, mut lm, mut n) = (0f64, 0f64, 0usize);
        for chunk in idxs.chunks(t.eval_batch_size) {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(t.seed, u64::MAX - chunk[0] as u64));
            let batch = self.build_batch(chunk, true, &mut rng)?;
            let (l, _) = self.model.gpt.forward_train(&batch, TrainOpts::default())?;
            let (a, b) = (
                l.text.to_dtype(DType::F64)?.to_scalar::<f64>()?,
                l.mel.to_dtype(DType::F64)?.to_scalar::<f64>()?,
            );
            if a.is_finite() && b.is_finite() {
                lt += a;
                lm += b;
                n += 1;
            }
        }
        if n == 0 {
            return Ok(None);
        }
        let (lt, lm) = (lt / n as f64, lm / n as f64);
        let total = t.text_ce_weight * lt + t.mel_ce_weight * lm;
        let step = self.state.step as i64;
        self.log(|tb| {
            tb.add_scalars(
                &[
                    ("eval/loss", total as f32),
                    ("eval/loss_text_ce", lt as f32),
                    ("eval/loss_mel_ce", lm as f32),
                ],
                step,
            )
        });
        Ok(Some((total, lt, lm)))
    }

    /// Synthesizes the configured sentences with the current weights (on the training device)
    /// into `samples/epoch_NNNN_K.wav` and TensorBoard.
    pub fn samples(&mut self, epoch: usize) -> Result<()> {
        use vocalis_core::pipeline::{Event, SynthesisOptions, synthesize};
        let sc = self.cfg.samples.clone();
        if sc.sentences.is_empty() {
            return Ok(());
        }
        let reference: Vec<f32> = match &sc.speaker_wav {
            Some(p) => vocalis_core::audio::load_audio(p, 22050, Some(30.0))
                .with_context(|| format!("samples.speaker_wav {}", p.display()))?,
            None => match self.data.eval.first().or(self.data.train.first()) {
                Some(it) => it.audio()?,
                None => return Ok(()),
            },
        };
        // The model holds the trained GPT: its weights are the live variables.
        let result = (|| -> Result<Vec<(String, Vec<f32>)>> {
            let opts = vocalis_core::models::CloneOptions::from_config(&self.model.config);
            let voice = self.model.condition_on_audio(std::slice::from_ref(&reference), &opts)?;
            let mut out = Vec::new();
            for (k, s) in sc.sentences.iter().enumerate() {
                let lang = s.language.clone().unwrap_or_else(|| self.cfg.dataset.language.clone());
                let mut o = SynthesisOptions::for_model(&self.model, &lang);
                o.pause_samples = 0;
                o.seed = sc.seed.wrapping_add(k as u64);
                if let Some(t) = sc.temperature {
                    o.sampling.temperature = t;
                }
                let mut audio = Vec::new();
                synthesize(&self.model, &voice, &s.text, &o, |e| {
                    if let Event::Audio(a) = e {
                        audio.extend_from_slice(a);
                    }
                    true
                })?;
                out.push((s.text.clone(), audio));
            }
            Ok(out)
        })();
        let dir = self.cfg.samples_dir();
        std::fs::create_dir_all(&dir)?;
        for (k, (text, audio)) in result?.into_iter().enumerate() {
            let p = dir.join(format!("epoch_{:04}_{k}.wav", epoch + 1));
            vocalis_core::audio::write_wav(
                &p,
                &audio,
                XTTS_OUTPUT_SAMPLE_RATE_HZ,
                Default::default(),
            )?;
            let step = self.state.step as i64;
            self.log(|tb| {
                tb.add_audio(
                    &format!("samples/{k}"),
                    &audio,
                    XTTS_OUTPUT_SAMPLE_RATE_HZ,
                    step,
                    &text,
                )?;
                tb.add_text(&format!("samples/{k}_text"), &text, step)
            });
        }
        Ok(())
    }

    /// Runs epochs until done, `max_steps`, or an interrupt (which saves a checkpoint).
    pub fn fit(&mut self) -> Result<Outcome> {
        let t = self.cfg.training.clone();
        let accum = t.grad_accum_steps;
        let fresh = self.state.step == 0 && self.state.epoch == 0 && self.state.batch_in_epoch == 0;
        if t.eval_at_start
            && fresh
            && let Some((l, _, _)) = self.evaluate()?
        {
            if !self.quiet {
                eprintln!("eval before training: loss {l:.4}");
            }
            self.state.last_eval_loss = Some(l);
        }
        let vars = self.vars.clone();
        while self.state.epoch < t.epochs {
            let epoch = self.state.epoch;
            let batches = self.micro_batches(epoch);
            let n_mb = batches.len();
            let steps_in_epoch = n_mb.div_ceil(accum) as u64;
            let pb = if self.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::hidden()
            } else {
                let pb = indicatif::ProgressBar::new(steps_in_epoch);
                pb.set_style(
                    indicatif::ProgressStyle::with_template(&format!(
                        "epoch {}/{} [{{bar:30}}] step {{pos}}/{{len}} {{msg}} {{per_sec}} eta {{eta}}",
                        epoch + 1,
                        t.epochs
                    ))
                    .expect("template"),
                );
                pb
            };
            pb.set_position((self.state.batch_in_epoch / accum) as u64);
            let mut acc: HashMap<String, Tensor> = HashMap::new();
            let mut acc_n = 0usize;
            let (mut acc_lt, mut acc_lm) = (0f64, 0f64);
            let t_epoch = Instant::now();
            let mut steps_this_run = 0u64;
            let mut mb = self.state.batch_in_epoch;
            while mb < n_mb {
                if self.interrupted() {
                    pb.finish_and_clear();
                    // Partial accumulation is dropped: the checkpoint is at the last optimizer step.
                    let dir = self.save()?;
                    eprintln!(
                        "interrupted: saved {}; run `vocalis-train fit` again to continue",
                        dir.display()
                    );
                    return Ok(Outcome::Interrupted);
                }
                let seed = mix(mix(t.seed, epoch as u64), mb as u64);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let batch = self.build_batch(&batches[mb], false, &mut rng)?;
                if !self.device.is_cpu() {
                    self.device.set_seed(seed)?;
                }
                let dropout = Dropout::new(t.dropout, seed);
                let opts = TrainOpts { dropout: (t.dropout > 0.0).then_some(&dropout) };
                let (l, _) = self.model.gpt.forward_train(&batch, opts)?;
                let lt = l.text.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                let lm = l.mel.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                if !(lt.is_finite() && lm.is_finite()) {
                    self.state.consecutive_nonfinite += 1;
                    tracing::warn!(
                        "non-finite loss (text {lt}, audio {lm}) at epoch {} batch {mb}: step skipped",
                        epoch + 1
                    );
                    let step = self.state.step as i64;
                    self.log(|tb| tb.add_scalar("train/nonfinite_loss", 1.0, step));
                    if self.state.consecutive_nonfinite >= t.max_consecutive_nonfinite {
                        self.save()?;
                        bail!(
                            "{} non-finite losses in a row: lower training.lr, enable training.grad_clip (e.g. 1.0), \
                             or check the dataset for broken clips (`vocalis-train prepare`)",
                            self.state.consecutive_nonfinite
                        );
                    }
                } else {
                    self.state.consecutive_nonfinite = 0;
                    let loss = (((l.text * t.text_ce_weight)? + (l.mel * t.mel_ce_weight)?)?
                        / accum as f64)?;
                    let grads = named_grads(&loss.backward()?, &vars);
                    for (n, g) in grads {
                        let e = acc.remove(&n);
                        acc.insert(
                            n,
                            match e {
                                Some(a) => (a + g)?,
                                None => g,
                            },
                        );
                    }
                    acc_lt += lt;
                    acc_lm += lm;
                    acc_n += 1;
                }
                mb += 1;
                if mb.is_multiple_of(accum) || mb == n_mb {
                    if !acc.is_empty() {
                        let gn = grad_norm(&acc)?;
                        if t.grad_clip > 0.0 && gn > t.grad_clip {
                            let s = t.grad_clip / (gn + 1e-6);
                            for g in acc.values_mut() {
                                *g = (&*g * s)?;
                            }
                        }
                        let lr = self.lr();
                        self.opt.step(&acc, lr)?;
                        self.state.step += 1;
                        steps_this_run += 1;
                        let (lt, lm) = (acc_lt / acc_n.max(1) as f64, acc_lm / acc_n.max(1) as f64);
                        let total = t.text_ce_weight * lt + t.mel_ce_weight * lm;
                        pb.set_message(format!("loss {total:.4} lr {lr:.2e}"));
                        if self.state.step.is_multiple_of(self.cfg.logging.log_every_n_steps) {
                            let step = self.state.step as i64;
                            let sps =
                                steps_this_run as f64 / t_epoch.elapsed().as_secs_f64().max(1e-9);
                            self.log(|tb| {
                                tb.add_scalars(
                                    &[
                                        ("train/loss", total as f32),
                                        ("train/loss_text_ce", lt as f32),
                                        ("train/loss_mel_ce", lm as f32),
                                        ("train/lr", lr as f32),
                                        ("train/grad_norm", gn as f32),
                                        ("train/steps_per_sec", sps as f32),
                                    ],
                                    step,
                                )
                            });
                        }
                    }
                    acc.clear();
                    acc_n = 0;
                    acc_lt = 0.0;
                    acc_lm = 0.0;
                    self.state.batch_in_epoch = mb;
                    pb.inc(1);
                    if self.state.step.is_multiple_of(self.cfg.checkpoints.save_every_steps)
                        && mb < n_mb
                    {
                        self.save()?;
                    }
                    if t.max_steps > 0 && self.state.step >= t.max_steps {
                        pb.finish_and_clear();
                        self.save()?;
                        return Ok(Outcome::StepLimit);
                    }
                }
            }
            pb.finish_and_clear();
            // epoch end: eval, samples, checkpoint, scheduler
            let eval = self.evaluate()?;
            if let Some((l, lt, lm)) = eval {
                self.state.last_eval_loss = Some(l);
                if !self.quiet {
                    eprintln!(
                        "epoch {}/{}: eval loss {l:.4} (text {lt:.4}, audio {lm:.4})",
                        epoch + 1,
                        t.epochs
                    );
                }
            }
            if self.cfg.samples.every_n_epochs > 0
                && (epoch + 1).is_multiple_of(self.cfg.samples.every_n_epochs)
                && let Err(e) = self.samples(epoch)
            {
                tracing::warn!(
                    "epoch samples failed (training continues): {}",
                    vocalis_core::error::one_line(e.chain())
                );
            }
            self.state.epoch += 1;
            self.state.batch_in_epoch = 0;
            self.state.scheduler_steps += 1;
            if let Some(l) = eval.map(|e| e.0)
                && self.state.best_eval_loss.is_none_or(|b| l < b)
            {
                self.state.best_eval_loss = Some(l);
                self.state.best_step = Some(self.state.step);
            }
            self.save()?;
            self.log(|tb| tb.flush());
        }
        Ok(Outcome::Finished)
    }
}
