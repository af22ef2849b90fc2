//! The trainer configuration: a TOML file (`train/config.example.toml` documents every field),
//! overridden by environment variables, overridden by command-line flags. Paths are resolved
//! once, relative to the current directory. Defaults are the XTTS v2 GPT recipe of the
//! reference (`recipes/ljspeech/xtts_v2/train_gpt_xtts.py`, spec §8.1) unless noted.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Format version of this file.
    #[serde(default = "one")]
    pub version: u32,
    pub model: ModelSection,
    pub dataset: DatasetSection,
    #[serde(default)]
    pub training: TrainingSection,
    #[serde(default)]
    pub checkpoints: CheckpointSection,
    #[serde(default)]
    pub logging: LoggingSection,
    #[serde(default)]
    pub samples: SamplesSection,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// The XTTS v2 model directory to fine-tune (released layout or converted).
    pub base_dir: PathBuf,
    /// The DVAE checkpoint (default: `<base_dir>/dvae.pth`).
    #[serde(default)]
    pub dvae: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetFormat {
    /// `metadata.csv` (`id|text|normalized_text`) and `wavs/<id>.wav`.
    Ljspeech,
    /// `audio_file|text|speaker_name` lines (paths relative to the file), optional header.
    Csv,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSection {
    pub format: DatasetFormat,
    /// LJSpeech: the directory with `metadata.csv`. CSV: the training list.
    pub path: PathBuf,
    /// CSV: an evaluation list; without it (or for LJSpeech) an eval split is drawn.
    #[serde(default)]
    pub eval_path: Option<PathBuf>,
    /// Language of the texts.
    #[serde(default = "default_language")]
    pub language: String,
    /// Fraction of the samples held out for evaluation when no eval list is given.
    #[serde(default = "default_eval_split")]
    pub eval_split: f64,
    /// Cap on the eval split size.
    #[serde(default = "default_eval_split_max")]
    pub eval_split_max_size: usize,
    /// Use at most this many training samples (0 = all). Env `MAX_TRAIN_SAMPLES`.
    #[serde(default)]
    pub max_train_samples: usize,
    /// Clips longer than this are skipped (the recipe's `max_wav_length`, 255995 samples).
    #[serde(default = "default_max_wav")]
    pub max_wav_seconds: f64,
    /// Clips shorter than this are skipped (the reference rejects < 0.5 s).
    #[serde(default = "default_min_wav")]
    pub min_wav_seconds: f64,
    /// Texts with more tokens are skipped (the recipe's `max_text_length`).
    #[serde(default = "default_max_text_tokens")]
    pub max_text_tokens: usize,
}

fn default_language() -> String {
    "en".into()
}
fn default_eval_split() -> f64 {
    0.01
}
fn default_eval_split_max() -> usize {
    256
}
fn default_max_wav() -> f64 {
    255_995.0 / 22050.0
}
fn default_min_wav() -> f64 {
    0.5
}
fn default_max_text_tokens() -> usize {
    200
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditioningSource {
    /// Condition on a slice of another clip of the same speaker (no target masking).
    OtherClip,
    /// The reference recipe's masking approach: a slice of the same clip, whose span is removed
    /// from the loss of the batch's last sample.
    SameClipMasked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingSection {
    /// Epochs. Env `NUM_EPOCHS`.
    pub epochs: usize,
    /// Stop after this many optimizer steps in total (0 = no limit); resumable.
    pub max_steps: u64,
    /// Samples per micro-batch. Env `BATCH_SIZE`.
    pub batch_size: usize,
    /// Micro-batches per optimizer step. Env `GRAD_ACCUM_STEPS`.
    pub grad_accum_steps: usize,
    /// Base learning rate. Env `LR`.
    pub lr: f64,
    /// AdamW weight decay of the decay group (weights; not biases, norms, embeddings).
    pub weight_decay: f64,
    /// AdamW betas.
    pub betas: [f64; 2],
    /// AdamW epsilon.
    pub eps: f64,
    /// MultiStepLR milestones, in epochs (the scheduler steps once per epoch).
    pub lr_milestones: Vec<u64>,
    /// MultiStepLR factor.
    pub lr_gamma: f64,
    /// Clip the gradient L2 norm to this (0 = no clipping, the recipe's default).
    pub grad_clip: f64,
    /// GPT-2 dropout.
    pub dropout: f32,
    /// Weight of the text cross-entropy.
    pub text_ce_weight: f64,
    /// Weight of the audio-code cross-entropy.
    pub mel_ce_weight: f64,
    /// Where the conditioning slice comes from.
    pub conditioning: ConditioningSource,
    /// Conditioning slice length range, seconds.
    pub min_conditioning_seconds: f64,
    pub max_conditioning_seconds: f64,
    /// Seed of everything random (data order, slices, dropout).
    pub seed: u64,
    /// Stop the run after this many non-finite losses in a row.
    pub max_consecutive_nonfinite: usize,
    /// Device: cpu, cuda, cuda:N.
    pub device: String,
    /// Evaluate before the first epoch (the recipe's `start_with_eval`).
    pub eval_at_start: bool,
    /// Eval batch size.
    pub eval_batch_size: usize,
}

impl Default for TrainingSection {
    fn default() -> Self {
        TrainingSection {
            epochs: 10,
            max_steps: 0,
            batch_size: 3,
            grad_accum_steps: 84,
            lr: 5e-6,
            weight_decay: 1e-2,
            betas: [0.9, 0.96],
            eps: 1e-8,
            lr_milestones: vec![900_000, 2_700_000, 5_400_000],
            lr_gamma: 0.5,
            grad_clip: 0.0,
            dropout: 0.1,
            text_ce_weight: 0.01,
            mel_ce_weight: 1.0,
            conditioning: ConditioningSource::OtherClip,
            min_conditioning_seconds: 3.0,
            max_conditioning_seconds: 6.0,
            seed: 1,
            max_consecutive_nonfinite: 10,
            device: "cpu".into(),
            eval_at_start: true,
            eval_batch_size: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointSection {
    /// Output root: `checkpoints/`, `samples/`, `cache/` go below it.
    pub output_dir: PathBuf,
    /// Save every this many optimizer steps (and at each epoch end).
    pub save_every_steps: u64,
    /// Step checkpoints kept (the best one by eval loss is kept in addition).
    pub keep_last: usize,
}

impl Default for CheckpointSection {
    fn default() -> Self {
        CheckpointSection {
            output_dir: "train/output".into(),
            save_every_steps: 1000,
            keep_last: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSection {
    /// TensorBoard runs directory: events go to `<runs_dir>/<run_name>/`.
    pub runs_dir: PathBuf,
    /// Run name (default: the config file's stem).
    pub run_name: Option<String>,
    /// Log training scalars every this many optimizer steps. Env `LOG_EVERY_N_STEPS`.
    pub log_every_n_steps: u64,
}

impl Default for LoggingSection {
    fn default() -> Self {
        LoggingSection { runs_dir: "train/runs".into(), run_name: None, log_every_n_steps: 50 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSentence {
    pub text: String,
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplesSection {
    /// Sentences synthesized at every epoch end.
    pub sentences: Vec<TestSentence>,
    /// Reference voice for the samples (default: the first eval clip).
    pub speaker_wav: Option<PathBuf>,
    /// Sampling temperature (the base model's config.json when unset).
    pub temperature: Option<f32>,
    /// Synthesize samples every this many epochs (0 = never).
    pub every_n_epochs: usize,
    /// Seed of the sample sampler.
    pub seed: u64,
}

impl Default for SamplesSection {
    fn default() -> Self {
        SamplesSection {
            sentences: vec![
                TestSentence {
                    text: "It took me quite a long time to develop a voice, and now that I have it I'm not going to be silent."
                        .into(),
                    language: None,
                },
                TestSentence { text: "This cake is great. It's so delicious and moist.".into(), language: None },
            ],
            speaker_wav: None,
            temperature: None,
            every_n_epochs: 1,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        // `Error::Config`, so that the binary exits with its "invalid configuration" code
        let invalid = |msg: String| vocalis_core::Error::config(path, msg);
        let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let mut cfg: TrainConfig = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if cfg.version != 1 {
            return Err(invalid(format!(
                "config version {} is not supported (expected 1)",
                cfg.version
            ))
            .into());
        }
        if cfg.logging.run_name.is_none() {
            cfg.logging.run_name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(cfg)
    }

    /// Applies the environment overrides of [`ENV_OVERRIDES`] through `get` (the process
    /// environment in the binary; a map in tests).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T> {
            v.trim().parse().map_err(|_| {
                anyhow::anyhow!("environment variable {name}={v:?} is not a valid number")
            })
        }
        if let Some(v) = get("NUM_EPOCHS") {
            self.training.epochs = parse("NUM_EPOCHS", &v)?;
        }
        if let Some(v) = get("MAX_TRAIN_SAMPLES") {
            self.dataset.max_train_samples = parse("MAX_TRAIN_SAMPLES", &v)?;
        }
        if let Some(v) = get("LOG_EVERY_N_STEPS") {
            self.logging.log_every_n_steps = parse("LOG_EVERY_N_STEPS", &v)?;
        }
        if let Some(v) = get("BATCH_SIZE") {
            self.training.batch_size = parse("BATCH_SIZE", &v)?;
        }
        if let Some(v) = get("GRAD_ACCUM_STEPS") {
            self.training.grad_accum_steps = parse("GRAD_ACCUM_STEPS", &v)?;
        }
        if let Some(v) = get("LR") {
            self.training.lr = parse("LR", &v)?;
        }
        Ok(())
    }

    /// Checks values a run cannot work with.
    pub fn validate(&self) -> Result<()> {
        let t = &self.training;
        if t.batch_size == 0 || t.grad_accum_steps == 0 || t.eval_batch_size == 0 {
            bail!(
                "training.batch_size, training.grad_accum_steps and training.eval_batch_size must be at least 1"
            );
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            bail!("training.lr must be > 0 (got {})", t.lr);
        }
        if !(0.0..1.0).contains(&t.dropout) {
            bail!("training.dropout must be in [0, 1) (got {})", t.dropout);
        }
        if t.min_conditioning_seconds <= 0.0
            || t.max_conditioning_seconds < t.min_conditioning_seconds
        {
            bail!("training.min_conditioning_seconds must be > 0 and <= max_conditioning_seconds");
        }
        if self.checkpoints.save_every_steps == 0 {
            bail!("checkpoints.save_every_steps must be at least 1");
        }
        if self.logging.log_every_n_steps == 0 {
            bail!("logging.log_every_n_steps must be at least 1");
        }
        Ok(())
    }

    /// The DVAE checkpoint.
    pub fn dvae_path(&self) -> PathBuf {
        self.model.dvae.clone().unwrap_or_else(|| self.model.base_dir.join("dvae.pth"))
    }

    /// `<output_dir>/checkpoints`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.checkpoints.output_dir.join("checkpoints")
    }

    /// `<output_dir>/samples`.
    pub fn samples_dir(&self) -> PathBuf {
        self.checkpoints.output_dir.join("samples")
    }

    /// `<output_dir>/cache`.
    pub fn cache_dir(&self) -> PathBuf {
        self.checkpoints.output_dir.join("cache")
    }

    /// `<runs_dir>/<run_name>`.
    pub fn run_dir(&self) -> PathBuf {
        self.logging.runs_dir.join(self.logging.run_name.as_deref().unwrap_or("run"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_env_overrides() {
        let text = include_str!("../../../train/config.example.toml");
        let mut cfg: TrainConfig = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        let env = std::collections::HashMap::from([
            ("NUM_EPOCHS", "7"),
            ("LR", "1e-5"),
            ("BATCH_SIZE", "2"),
        ]);
        cfg.apply_env(|k| env.get(k).map(|s| s.to_string())).unwrap();
        assert_eq!((cfg.training.epochs, cfg.training.lr, cfg.training.batch_size), (7, 1e-5, 2));
        let bad = std::collections::HashMap::from([("LR", "fast")]);
        let e = cfg.apply_env(|k| bad.get(k).map(|s| s.to_string())).unwrap_err().to_string();
        assert!(e.contains("LR"), "{e}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let e = toml::from_str::<TrainConfig>(
            "[model]\nbase_dir='m'\n[dataset]\nformat='ljspeech'\npath='d'\n[training]\nepoch=3\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("epoch"), "{e}");
    }
}
