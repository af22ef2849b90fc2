//! `vocalis model download | verify`.
//!
//! Downloads go through `hf-hub` (sync API over ureq) into a hub-layout cache inside the target
//! directory (`DIR/.cache`), which resumes interrupted transfers from their partial file; the
//! finished files are hard-linked (or copied) into `DIR`, checked against the hub's SHA-256
//! (the LFS etag) where it has one, and recorded in `DIR/manifest.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hf_hub::api::Progress;
use hf_hub::{Repo, RepoType};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use vocalis_core::util::sha256_file;

use crate::common::{CliError, DEFAULT_MODEL_DIR, Ui};

/// Files of an XTTS v2 model directory needed for inference.
const INFERENCE_FILES: &[&str] =
    &["config.json", "model.pth", "vocab.json", "speakers_xtts.pth", "mel_stats.pth"];
/// Added by `--training` (fine-tuning needs the DVAE).
const TRAINING_FILES: &[&str] = &["dvae.pth"];

#[derive(Args, Debug)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Download an XTTS v2 model from the Hugging Face Hub (resumes partial downloads).
    Download {
        /// Hub repository.
        #[arg(long, default_value = "coqui/XTTS-v2")]
        repo: String,
        /// Branch, tag or commit.
        #[arg(long, default_value = "main")]
        revision: String,
        /// Target directory.
        #[arg(long, default_value = DEFAULT_MODEL_DIR, value_name = "DIR")]
        dir: PathBuf,
        /// Also download dvae.pth (needed by vocalis-train).
        #[arg(long)]
        training: bool,
        /// Hub endpoint.
        #[arg(long, env = "HF_ENDPOINT", default_value = "https://huggingface.co")]
        endpoint: String,
        /// Access token for gated or private repositories.
        #[arg(long, env = "HF_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Check a model directory against its manifest and load every tensor.
    Verify {
        /// Model directory.
        #[arg(default_value = DEFAULT_MODEL_DIR, value_name = "DIR")]
        dir: PathBuf,
    },
}

/// `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub repo: String,
    pub revision: String,
    pub commit: Option<String>,
    pub files: BTreeMap<String, ManifestFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestFile {
    pub sha256: String,
    pub bytes: u64,
}

struct BarProgress {
    pb: ProgressBar,
}

impl Progress for BarProgress {
    fn init(&mut self, size: usize, filename: &str) {
        self.pb.set_length(size as u64);
        self.pb.set_message(filename.to_string());
    }
    fn update(&mut self, size: usize) {
        self.pb.inc(size as u64);
    }
    fn finish(&mut self) {}
}

pub fn run(a: ModelArgs, ui: &Ui) -> Result<()> {
    match a.command {
        ModelCommand::Download { repo, revision, dir, training, endpoint, token } => {
            download(&repo, &revision, &dir, training, &endpoint, token, ui)
        }
        ModelCommand::Verify { dir } => verify(&dir, ui),
    }
}

fn download(
    repo_id: &str,
    revision: &str,
    dir: &Path,
    training: bool,
    endpoint: &str,
    token: Option<String>,
    ui: &Ui,
) -> Result<()> {
    let cache = dir.join(".cache");
    let api = hf_hub::api::sync::ApiBuilder::new()
        .with_endpoint(endpoint.trim_end_matches('/').to_string())
        .with_cache_dir(cache)
        .with_token(token)
        .with_progress(false)
        .with_retries(3)
        .build()
        .context("cannot set up the Hub client")?;
    let repo =
        api.repo(Repo::with_revision(repo_id.to_string(), RepoType::Model, revision.to_string()));
    let info =
        repo.info().with_context(|| format!("cannot reach {endpoint} for {repo_id}@{revision}"))?;
    // only once the Hub answered: a failed first attempt leaves no empty model directory
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Output(format!("cannot create {}: {e}", dir.display())))?;
    let available: Vec<String> = info.siblings.iter().map(|s| s.rfilename.clone()).collect();
    let mut wanted: Vec<&str> = INFERENCE_FILES.to_vec();
    if training {
        wanted.extend(TRAINING_FILES);
    }
    let missing: Vec<&&str> = wanted
        .iter()
        .filter(|f| !available.iter().any(|a| a == *f) && **f != "mel_stats.pth")
        .collect();
    if !missing.is_empty() {
        bail!(
            "{repo_id}@{revision} has no {}: is it an XTTS v2 repository?",
            missing.iter().map(|s| **s).collect::<Vec<_>>().join(", ")
        );
    }
    let mut manifest = Manifest {
        repo: repo_id.to_string(),
        revision: revision.to_string(),
        commit: Some(info.sha.clone()),
        files: BTreeMap::new(),
    };
    for file in wanted.iter().filter(|f| available.iter().any(|a| a == *f)) {
        let pb = ui.bar(0, "{msg:20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}");
        let cached = repo
            .download_with_progress(file, BarProgress { pb: pb.clone() })
            .with_context(|| format!("downloading {file} from {repo_id}"))?;
        pb.finish_and_clear();
        let blob = std::fs::canonicalize(&cached).unwrap_or(cached);
        let dest = dir.join(file);
        let _ = std::fs::remove_file(&dest);
        if std::fs::hard_link(&blob, &dest).is_err() {
            std::fs::copy(&blob, &dest)
                .map_err(|e| CliError::Output(format!("cannot write {}: {e}", dest.display())))?;
        }
        let sha = sha256_file(&dest)?;
        // LFS blobs are named by their SHA-256: a mismatch means a corrupt transfer.
        let name = blob.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit()) && name != sha {
            let _ = std::fs::remove_file(&dest);
            let _ = std::fs::remove_file(&blob);
            bail!(
                "{file}: SHA-256 {sha} does not match the Hub's {name}; the download was corrupt and has been removed, run the command again"
            );
        }
        let bytes = std::fs::metadata(&dest)?.len();
        ui.note(format!("{file}: {bytes} bytes, sha256 {sha}"));
        manifest.files.insert(file.to_string(), ManifestFile { sha256: sha, bytes });
    }
    let json = serde_json::to_string_pretty(&manifest)?;
    vocalis_core::util::write_atomic(&dir.join("manifest.json"), json.as_bytes())?;
    ui.note(format!(
        "model ready in {} (verify with `vocalis model verify {}`)",
        dir.display(),
        dir.display()
    ));
    Ok(())
}

fn verify(dir: &Path, ui: &Ui) -> Result<()> {
    let mpath = dir.join("manifest.json");
    let mut problems = Vec::new();
    if mpath.is_file() {
        let manifest: Manifest = serde_json::from_str(&std::fs::read_to_string(&mpath)?)
            .map_err(|e| CliError::Input(format!("{}: corrupt manifest ({e})", mpath.display())))?;
        for (name, f) in &manifest.files {
            let p = dir.join(name);
            let pb = ui.spinner(format!("checking {name}"));
            let r = if !p.is_file() {
                Some(format!("{name}: missing"))
            } else {
                let bytes = std::fs::metadata(&p)?.len();
                if bytes != f.bytes {
                    Some(format!(
                        "{name}: {bytes} bytes, the manifest says {} (truncated or modified)",
                        f.bytes
                    ))
                } else if sha256_file(&p)? != f.sha256 {
                    Some(format!("{name}: SHA-256 differs from the manifest (corrupt or modified)"))
                } else {
                    None
                }
            };
            pb.finish_and_clear();
            match r {
                Some(msg) => problems.push(msg),
                None => ui.note(format!("{name}: ok")),
            }
        }
    } else {
        ui.note(format!(
            "{}: no manifest.json (not downloaded by vocalis): checking that everything loads",
            dir.display()
        ));
    }
    if problems.is_empty() {
        let pb = ui.spinner("loading every tensor");
        let r = vocalis_core::models::Xtts::load(dir, &vocalis_core::candle::Device::Cpu);
        pb.finish_and_clear();
        match r {
            Ok(m) => ui.note(format!(
                "all tensors load: {} GPT layers × {}, {} built-in speaker(s), fingerprint {}",
                m.gpt_config().layers,
                m.gpt_config().model_dim,
                m.speakers().len(),
                m.fingerprint()?
            )),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        ui.note(format!("{}: OK", dir.display()));
        Ok(())
    } else {
        for p in &problems {
            eprintln!("  {p}");
        }
        Err(vocalis_core::Error::checkpoint(dir, format!("{} problem(s) found", problems.len()))
            .into())
    }
}
