//! What the subcommands share: logging and threads, the terminal UI (progress bars only on a
//! terminal), error reporting with documented exit codes, model loading, voice selection and
//! Ctrl-C handling.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vocalis_core::candle::Device;
use vocalis_core::models::Xtts;
use vocalis_core::models::xtts::Conditioning;
use vocalis_core::voice::VoiceStore;

/// Where `vocalis model download` puts the model by default, and where the other commands look.
pub const DEFAULT_MODEL_DIR: &str = "models/xtts_v2";
/// The default voice profile directory.
pub const DEFAULT_PROFILES_DIR: &str = "voice_profiles";

/// `--model` and `--device`, shared by the commands that load a model.
#[derive(Args, Debug, Clone)]
pub struct ModelOpts {
    /// XTTS v2 model directory: the released layout (model.pth, config.json, vocab.json,
    /// speakers_xtts.pth) or one written by `vocalis convert`.
    #[arg(long, env = "VOCALIS_MODEL", default_value = DEFAULT_MODEL_DIR, value_name = "DIR")]
    pub model: PathBuf,
    /// Device: cpu, cuda, cuda:N, metal or auto (CUDA when available, else CPU with a warning).
    #[arg(long, env = "VOCALIS_DEVICE", default_value = "auto", value_name = "DEVICE")]
    pub device: String,
}

/// `--profiles-dir`.
#[derive(Args, Debug, Clone)]
pub struct ProfilesOpts {
    /// Voice profile directory.
    #[arg(long, env = "VOCALIS_VOICE_DIR", default_value = DEFAULT_PROFILES_DIR, value_name = "DIR")]
    pub profiles_dir: PathBuf,
}

impl ProfilesOpts {
    pub fn store(&self) -> VoiceStore {
        VoiceStore::new(&self.profiles_dir)
    }
}

pub fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error,symphonia=off",
        (false, 0) => "warn,symphonia=off",
        (false, 1) => "info,vocalis_core=debug,vocalis=debug,vocalis_server=debug,symphonia=off",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Sizes the one thread pool every stage uses (rayon for our kernels, candle's matmuls read
/// `RAYON_NUM_THREADS`), so nothing oversubscribes the cores.
pub fn init_threads(threads: Option<usize>) -> Result<()> {
    let n = match threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    // SAFETY: called at startup, before any other thread exists.
    unsafe {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        // candle's own pool (element-wise ops, quantized matmuls) gets the same count; with
        // one thread a q8_0 GPT step takes 1.6× as long. An explicit setting wins.
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        }
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .context("cannot start the thread pool")?;
    Ok(())
}

/// Terminal output policy.
#[derive(Debug, Clone)]
pub struct Ui {
    pub quiet: bool,
    pub interactive: bool,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Ui { quiet, interactive: !quiet && std::io::stderr().is_terminal() }
    }

    /// A spinner with `msg`, drawn only on a terminal.
    pub fn spinner(&self, msg: impl Into<String>) -> ProgressBar {
        if !self.interactive {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
        );
        pb.set_message(msg.into());
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    }

    /// A bar of `len` steps.
    pub fn bar(&self, len: u64, template: &str) -> ProgressBar {
        if !self.interactive {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "),
        );
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    }

    /// A line for stderr unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

/// A process-wide flag set by SIGINT/SIGTERM (work stops at the next token and finishes its
/// output cleanly).
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal kills the process the default way.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag));
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    flag
}

pub fn interrupted(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}

/// The error kinds behind the exit codes.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("interrupted")]
    Interrupted,
    #[error("output closed by the reader")]
    BrokenPipe,
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Output(String),
}

pub fn report_error(e: &anyhow::Error) -> ExitCode {
    use vocalis_core::Error as E;
    let print = || eprintln!("error: {}", vocalis_core::error::one_line(e.chain()));
    if let Some(c) = e.downcast_ref::<CliError>() {
        match c {
            CliError::Interrupted => {
                eprintln!("interrupted");
                return ExitCode::from(130);
            }
            CliError::BrokenPipe => return ExitCode::from(141),
            CliError::Input(_) => {
                print();
                return ExitCode::from(3);
            }
            CliError::Output(_) => {
                print();
                return ExitCode::from(5);
            }
        }
    }
    print();
    let code = match e.chain().find_map(|c| c.downcast_ref::<E>()) {
        Some(E::Checkpoint { .. } | E::Config { .. } | E::Tokenizer(_)) => 4,
        Some(E::Audio { .. } | E::Text(_) | E::Invalid(_) | E::Voice { .. }) => 3,
        Some(E::Cancelled) => 130,
        Some(E::Io { .. }) => 3,
        Some(E::Candle(_)) | None => 1,
    };
    ExitCode::from(code)
}

/// Loads the model with a spinner, or fails with how to get one.
pub fn load_model(opts: &ModelOpts, ui: &Ui) -> Result<Xtts> {
    let (device, warning) = vocalis_core::util::device(&opts.device)?;
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    let t0 = Instant::now();
    let pb = ui.spinner(format!("Loading model from {}", opts.model.display()));
    let model = Xtts::load(&opts.model, &device);
    pb.finish_and_clear();
    let model = match model {
        Err(_) if opts.model == Path::new(DEFAULT_MODEL_DIR) && !opts.model.exists() => {
            return Err(vocalis_core::Error::checkpoint(
                &opts.model,
                "no model here: run `vocalis model download` first, or pass --model DIR",
            )
            .into());
        }
        r => r?,
    };
    tracing::info!(
        "model ready on {} in {:.2} s",
        device_name(&device),
        t0.elapsed().as_secs_f64()
    );
    Ok(model)
}

pub fn device_name(d: &Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(_) => "cuda".into(),
        Device::Metal(_) => "metal".into(),
    }
}

/// Voice sources, in priority order: a profile, a built-in speaker, reference clips.
#[derive(Args, Debug, Clone)]
pub struct VoiceOpts {
    /// A saved voice profile (see `vocalis voice add`).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["speaker", "speaker_wav"])]
    pub voice: Option<String>,
    /// A built-in speaker of the model (speakers_xtts.pth) or a voice profile name.
    #[arg(long, value_name = "NAME", conflicts_with = "speaker_wav")]
    pub speaker: Option<String>,
    /// Reference clip(s) to clone the voice from (any format and sample rate; 3-30 s of clean
    /// speech works best).
    #[arg(long = "speaker-wav", value_name = "FILE", num_args = 1..)]
    pub speaker_wav: Vec<PathBuf>,
}

/// Resolves the voice of a synthesis. Returns the conditioning and the voice's language hint.
pub fn resolve_voice(
    model: &Xtts,
    v: &VoiceOpts,
    profiles: &ProfilesOpts,
    ui: &Ui,
) -> Result<(Conditioning, Option<String>)> {
    let store = profiles.store();
    let from_profile = |name: &str| -> Result<(Conditioning, Option<String>)> {
        let p = store.load(name)?;
        p.check_model(&model.fingerprint()?)?;
        Ok((p.conditioning_on(model.device())?, p.meta.language.clone()))
    };
    if let Some(name) = &v.voice {
        return from_profile(name);
    }
    if let Some(name) = &v.speaker {
        if let Some(c) = model.speaker(name) {
            return Ok((c, None));
        }
        if store.contains(name) {
            return from_profile(name);
        }
        let mut all: Vec<String> = model.speakers().iter().map(|(n, _, _)| n.clone()).collect();
        all.extend(store.names().unwrap_or_default());
        let close = vocalis_core::voice::closest(name, all);
        let hint = if close.is_empty() {
            "; list them with `vocalis voice list`".to_string()
        } else {
            format!("; did you mean {}?", close.join(", "))
        };
        return Err(CliError::Input(format!("unknown speaker or voice {name:?}{hint}")).into());
    }
    if !v.speaker_wav.is_empty() {
        let pb = ui.spinner(format!("Cloning the voice from {} clip(s)", v.speaker_wav.len()));
        let opts = vocalis_core::models::CloneOptions::from_config(&model.config);
        let c = model.condition_on_files(&v.speaker_wav, &opts);
        pb.finish_and_clear();
        return Ok((c?, None));
    }
    Err(CliError::Input(
        "no voice given: use --voice NAME, --speaker NAME or --speaker-wav FILE (see `vocalis voice list`)".into(),
    )
    .into())
}
