//! Training checkpoints: `checkpoints/step_NNNNNNNN/` with `model.safetensors` (the trainable
//! GPT weights), `optimizer.safetensors` (AdamW moments) and `trainer_state.json` (step, epoch,
//! position in the epoch's data order, scheduler, best eval loss, ...).
//!
//! A checkpoint is written into a hidden temporary directory, flushed, and renamed into place,
//! so a kill at any moment leaves every earlier checkpoint valid; leftovers are removed at the
//! next start. Resumption picks the newest checkpoint that reads back completely.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use vocalis_core::candle::{Device, Tensor};

/// Format version of `trainer_state.json`.
pub const STATE_VERSION: u32 = 1;

/// Environment variable (tests only): milliseconds to pause in the middle of writing a
/// checkpoint, after creating the marker file `.writing` in the temporary directory, so a test
/// can kill the process at that moment.
pub const TEST_PAUSE_ENV: &str = "VOCALIS_TRAIN_TEST_CHECKPOINT_PAUSE_MS";

/// Everything besides tensors a run needs to continue exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub version: u32,
    /// Optimizer steps taken.
    pub step: u64,
    /// Current epoch (0-based).
    pub epoch: usize,
    /// Next micro-batch of the current epoch's data order.
    pub batch_in_epoch: usize,
    /// Scheduler steps (one per finished epoch).
    pub scheduler_steps: u64,
    /// Best eval loss so far and the step of its checkpoint.
    pub best_eval_loss: Option<f64>,
    pub best_step: Option<u64>,
    /// The last eval loss.
    pub last_eval_loss: Option<f64>,
    /// Non-finite losses in a row.
    pub consecutive_nonfinite: usize,
    /// The seed of the run (data order, slices and dropout derive from it and the counters).
    pub seed: u64,
    /// The base model directory.
    pub base_dir: PathBuf,
    /// The run name.
    pub run_name: String,
    pub created: String,
    pub vocalis_version: String,
}

/// A checkpoint on disk.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub dir: PathBuf,
    pub state: TrainState,
}

impl Checkpoint {
    /// Reads the trainable weights.
    pub fn weights(&self, device: &Device) -> Result<HashMap<String, Tensor>> {
        let p = self.dir.join("model.safetensors");
        vocalis_core::candle::safetensors::load(&p, device)
            .with_context(|| format!("reading {}", p.display()))
    }

    /// Reads the optimizer state.
    pub fn optimizer(&self, device: &Device) -> Result<HashMap<String, Tensor>> {
        let p = self.dir.join("optimizer.safetensors");
        vocalis_core::candle::safetensors::load(&p, device)
            .with_context(|| format!("reading {}", p.display()))
    }
}

fn step_dir_name(step: u64) -> String {
    format!("step_{step:08}")
}

/// Writes a checkpoint atomically and returns its directory.
pub fn save(
    root: &Path,
    state: &TrainState,
    weights: &[(String, Tensor)],
    optimizer: &[(String, Tensor)],
) -> Result<PathBuf> {
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    let name = step_dir_name(state.step);
    let dest = root.join(&name);
    let tmp = root.join(format!(".tmp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let write = || -> Result<()> {
        let to_cpu = |v: &[(String, Tensor)]| -> Result<HashMap<String, Tensor>> {
            v.iter()
                .map(|(n, t)| Ok((n.clone(), t.to_device(&Device::Cpu)?.contiguous()?)))
                .collect()
        };
        let model = tmp.join("model.safetensors");
        vocalis_core::candle::safetensors::save(&to_cpu(weights)?, &model)
            .with_context(|| format!("writing {}", model.display()))?;
        if let Some(ms) = std::env::var(TEST_PAUSE_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
            std::fs::write(tmp.join(".writing"), b"")?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let opt = tmp.join("optimizer.safetensors");
        vocalis_core::candle::safetensors::save(&to_cpu(optimizer)?, &opt)
            .with_context(|| format!("writing {}", opt.display()))?;
        let json = serde_json::to_vec_pretty(state)?;
        vocalis_core::util::write_atomic(&tmp.join("trainer_state.json"), &json)?;
        for f in ["model.safetensors", "optimizer.safetensors"] {
            std::fs::File::open(tmp.join(f))?.sync_all()?;
        }
        if dest.exists() {
            std::fs::remove_dir_all(&dest)?;
        }
        std::fs::rename(&tmp, &dest)?;
        if let Ok(d) = std::fs::File::open(root) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.context(format!(
            "saving checkpoint {} (the previous checkpoints are intact)",
            dest.display()
        )));
    }
    Ok(dest)
}

/// Reads a checkpoint directory, checking that every file is present and complete.
pub fn open(dir: &Path) -> Result<Checkpoint> {
    let text = std::fs::read_to_string(dir.join("trainer_state.json"))
        .with_context(|| format!("{}: no trainer_state.json", dir.display()))?;
    let state: TrainState = serde_json::from_str(&text)
        .with_context(|| format!("{}: corrupt trainer_state.json", dir.display()))?;
    if state.version > STATE_VERSION {
        anyhow::bail!(
            "{}: checkpoint format {} is newer than this vocalis-train",
            dir.display(),
            state.version
        );
    }
    for f in ["model.safetensors", "optimizer.safetensors"] {
        let p = dir.join(f);
        let data = std::fs::read(&p).with_context(|| format!("{}: missing {f}", dir.display()))?;
        safetensors::SafeTensors::deserialize(&data)
            .with_context(|| format!("{}: {f} is truncated or corrupt", dir.display()))?;
    }
    Ok(Checkpoint { dir: dir.to_path_buf(), state })
}

/// Step checkpoints in `root`, newest first (by step).
pub fn list(root: &Path) -> Vec<(u64, PathBuf)> {
    let mut v: Vec<(u64, PathBuf)> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let step = name.strip_prefix("step_")?.parse::<u64>().ok()?;
                    Some((step, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by_key(|e| std::cmp::Reverse(e.0));
    v
}

/// Removes temporary directories left by an interrupted save; returns how many.
pub fn clean_leftovers(root: &Path) -> usize {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_name().to_string_lossy().starts_with(".tmp-")
                && std::fs::remove_dir_all(e.path()).is_ok()
            {
                n += 1;
            }
        }
    }
    n
}

/// The newest checkpoint that reads back completely (unreadable ones are reported and skipped).
pub fn latest_valid(root: &Path) -> Option<Checkpoint> {
    for (_, dir) in list(root) {
        match open(&dir) {
            Ok(c) => return Some(c),
            Err(e) => tracing::warn!(
                "skipping unusable checkpoint: {}",
                vocalis_core::error::one_line(e.chain())
            ),
        }
    }
    None
}

/// Keeps the newest `keep_last` step checkpoints and the best one; deletes the rest.
pub fn rotate(root: &Path, keep_last: usize, best_step: Option<u64>) {
    for (i, (step, dir)) in list(root).into_iter().enumerate() {
        if i < keep_last.max(1) || Some(step) == best_step {
            continue;
        }
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!("cannot remove old checkpoint {}: {e}", dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(step: u64) -> TrainState {
        TrainState {
            version: STATE_VERSION,
            step,
            epoch: 0,
            batch_in_epoch: 0,
            scheduler_steps: 0,
            best_eval_loss: None,
            best_step: None,
            last_eval_loss: None,
            consecutive_nonfinite: 0,
            seed: 1,
            base_dir: "m".into(),
            run_name: "r".into(),
            created: "now".into(),
            vocalis_version: "t".into(),
        }
    }

    #[test]
    fn save_open_rotate() {
        let d = tempfile::tempdir().unwrap();
        let t = Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap();
        for s in [1, 2, 3, 4] {
            save(d.path(), &state(s), &[("w".into(), t.clone())], &[("m/w".into(), t.clone())])
                .unwrap();
        }
        rotate(d.path(), 2, Some(1));
        let steps: Vec<u64> = list(d.path()).into_iter().map(|(s, _)| s).collect();
        assert_eq!(steps, vec![4, 3, 1]);
        // a truncated newest checkpoint is skipped
        std::fs::write(d.path().join("step_00000004/model.safetensors"), b"trunc").unwrap();
        assert_eq!(latest_valid(d.path()).unwrap().state.step, 3);
        std::fs::create_dir(d.path().join(".tmp-step_00000009-1")).unwrap();
        assert_eq!(clean_leftovers(d.path()), 1);
    }
}
