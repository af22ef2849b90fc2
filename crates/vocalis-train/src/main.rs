//! `vocalis-train`: fine-tune XTTS v2 on a speaker's dataset.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use vocalis_train::config::TrainConfig;
use vocalis_train::{Loaded, dataset, export, load_models, trainer};

const AFTER_HELP: &str = "\
Environment overrides (below command-line flags, above the config file):
  NUM_EPOCHS, MAX_TRAIN_SAMPLES, LOG_EVERY_N_STEPS, BATCH_SIZE, GRAD_ACCUM_STEPS, LR

Outputs: <output_dir>/checkpoints/step_NNNNNNNN/ (resumed automatically), <output_dir>/samples/,
<output_dir>/cache/ (prepared dataset), <runs_dir>/<run>/ (TensorBoard: tensorboard --logdir train/runs).

Exit codes: 0 done (also after SIGINT/SIGTERM, which save a checkpoint first), 1 error,
2 invalid command line, 3 invalid configuration or dataset.";

#[derive(Parser, Debug)]
#[command(name = "vocalis-train", version, about = "Fine-tune XTTS v2 on a speaker's dataset", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logging (-v info, -vv debug; RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bars.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long, global = true, env = "VOCALIS_THREADS")]
    threads: Option<usize>,
}

#[derive(Args, Debug, Clone)]
struct ConfigArgs {
    /// Training configuration (see train/config.example.toml).
    #[arg(long, short = 'c', default_value = "train/config.toml", value_name = "FILE")]
    config: PathBuf,
    /// Device: cpu, cuda, cuda:N (overrides training.device).
    #[arg(long)]
    device: Option<String>,
    /// Epochs (overrides NUM_EPOCHS and training.epochs).
    #[arg(long)]
    epochs: Option<usize>,
    /// Stop after this many optimizer steps in total (overrides training.max_steps).
    #[arg(long)]
    max_steps: Option<u64>,
    /// Micro-batch size (overrides BATCH_SIZE).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Gradient accumulation steps (overrides GRAD_ACCUM_STEPS).
    #[arg(long)]
    grad_accum_steps: Option<usize>,
    /// Learning rate (overrides LR).
    #[arg(long)]
    lr: Option<f64>,
    /// Limit the training set (overrides MAX_TRAIN_SAMPLES).
    #[arg(long)]
    max_train_samples: Option<usize>,
    /// Log every N optimizer steps (overrides LOG_EVERY_N_STEPS).
    #[arg(long)]
    log_every_n_steps: Option<u64>,
    /// Output directory (overrides checkpoints.output_dir).
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// TensorBoard runs directory (overrides logging.runs_dir).
    #[arg(long)]
    runs_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate the dataset, print a report, and cache audio, tokens and DVAE codes.
    Prepare(ConfigArgs),
    /// Train (resuming from the newest valid checkpoint unless --restart).
    Fit {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Ignore existing checkpoints and start over.
        #[arg(long)]
        restart: bool,
    },
    /// Write a model directory from a checkpoint (loadable by `vocalis synth --model`) and a
    /// voice profile of the training speaker.
    Export {
        /// Checkpoint directory (e.g. train/output/checkpoints/step_00001000).
        checkpoint: PathBuf,
        /// Output model directory.
        out_dir: PathBuf,
        /// Training config, to find the prepared clips for the voice profile.
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// Name of the voice profile.
        #[arg(long, default_value = "trained")]
        voice_name: String,
        /// Voice profile directory.
        #[arg(long, env = "VOCALIS_VOICE_DIR", default_value = "voice_profiles")]
        profiles_dir: PathBuf,
        /// Replace OUT_DIR if it exists.
        #[arg(long)]
        force: bool,
    },
}

fn load_config(a: &ConfigArgs) -> Result<TrainConfig> {
    let mut cfg = TrainConfig::load(&a.config)?;
    cfg.apply_env(|k| std::env::var(k).ok())?;
    let t = &mut cfg.training;
    if let Some(v) = &a.device {
        t.device = v.clone();
    }
    if let Some(v) = a.epochs {
        t.epochs = v;
    }
    if let Some(v) = a.max_steps {
        t.max_steps = v;
    }
    if let Some(v) = a.batch_size {
        t.batch_size = v;
    }
    if let Some(v) = a.grad_accum_steps {
        t.grad_accum_steps = v;
    }
    if let Some(v) = a.lr {
        t.lr = v;
    }
    if let Some(v) = a.max_train_samples {
        cfg.dataset.max_train_samples = v;
    }
    if let Some(v) = a.log_every_n_steps {
        cfg.logging.log_every_n_steps = v;
    }
    if let Some(v) = &a.output_dir {
        cfg.checkpoints.output_dir = v.clone();
    }
    if let Some(v) = &a.runs_dir {
        cfg.logging.runs_dir = v.clone();
    }
    cfg.validate().map_err(|e| {
        let msg = format!("invalid configuration: {}", vocalis_core::error::one_line(e.chain()));
        vocalis_core::Error::config(&a.config, msg)
    })?;
    Ok(cfg)
}

fn prepare(cfg: &TrainConfig, loaded: &Loaded, quiet: bool) -> Result<dataset::Prepared> {
    let pb = if quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let pb = indicatif::ProgressBar::new(0);
        pb.set_style(
            indicatif::ProgressStyle::with_template("preparing [{bar:30}] {pos}/{len} {msg}")
                .expect("template"),
        );
        pb
    };
    let (prepared, report) =
        dataset::prepare(cfg, &loaded.model, &loaded.dvae, |done, total, id| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
            pb.set_message(id.to_string());
        })?;
    pb.finish_and_clear();
    eprint!("{}", report.render(&prepared));
    Ok(prepared)
}

fn run(cli: Cli) -> Result<()> {
    let interrupt = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupt));
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupt));
    }
    match cli.command {
        Command::Prepare(a) => {
            let cfg = load_config(&a)?;
            let loaded = load_models(&cfg, cli.quiet)?;
            prepare(&cfg, &loaded, cli.quiet)?;
            eprintln!("dataset cached in {}", cfg.cache_dir().display());
        }
        Command::Fit { cfg: a, restart } => {
            let cfg = load_config(&a)?;
            let loaded = load_models(&cfg, cli.quiet)?;
            // Reuse the cache when it matches; otherwise prepare now.
            let key = dataset::cache_key(&cfg, &loaded.model)?;
            let prepared = match dataset::load_manifest(&cfg.cache_dir()) {
                Ok(p) if p.key == key => {
                    let mut p = p;
                    if cfg.dataset.max_train_samples > 0 {
                        p.train.truncate(cfg.dataset.max_train_samples);
                    }
                    p
                }
                _ => prepare(&cfg, &loaded, cli.quiet)?,
            };
            let Loaded { model, trainable, .. } = loaded;
            let mut tr = trainer::Trainer::new(
                cfg.clone(),
                model,
                trainable,
                prepared,
                restart,
                interrupt,
                cli.quiet,
            )?;
            let outcome = tr.fit()?;
            let s = tr.state();
            match outcome {
                trainer::Outcome::Finished => {
                    eprintln!("training finished: {} steps, {} epochs", s.step, s.epoch)
                }
                trainer::Outcome::StepLimit => eprintln!(
                    "stopped at the step limit ({} steps); `fit` again with a larger --max-steps continues",
                    s.step
                ),
                trainer::Outcome::Interrupted => {}
            }
            if let Some(best) = s.best_step {
                eprintln!(
                    "best eval loss {:.4} at step {best}",
                    s.best_eval_loss.unwrap_or(f64::NAN)
                );
            }
        }
        Command::Export { checkpoint, out_dir, config, voice_name, profiles_dir, force } => {
            let (prepared, language) = match &config {
                Some(c) => {
                    let cfg = TrainConfig::load(c)?;
                    (
                        dataset::load_manifest(&cfg.cache_dir()).ok(),
                        Some(cfg.dataset.language.clone()),
                    )
                }
                None => (None, None),
            };
            let store = vocalis_core::voice::VoiceStore::new(&profiles_dir);
            let e = export::export(
                &checkpoint,
                &out_dir,
                force,
                prepared.as_ref(),
                &voice_name,
                language.as_deref(),
                &store,
            )?;
            eprintln!("wrote the model to {}", e.model_dir.display());
            match e.voice {
                Some((name, dir)) => eprintln!(
                    "saved voice profile {name} in {} (vocalis synth --model {} --voice {name})",
                    dir.display(),
                    e.model_dir.display()
                ),
                None => {
                    eprintln!("no voice profile written (pass --config to use the training clips)")
                }
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error,symphonia=off",
        (false, 0) => "warn,symphonia=off",
        (false, 1) => "info,symphonia=off",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    // SAFETY: before any other thread starts.
    unsafe {
        if let Some(n) = cli.threads {
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        }
        // candle's element-wise pool spin-waits; one thread is faster at these sizes.
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", vocalis_core::error::one_line(e.chain()));
            let is_input = e.chain().any(|c| {
                c.downcast_ref::<vocalis_core::Error>().is_some_and(|e| {
                    matches!(
                        e,
                        vocalis_core::Error::Config { .. }
                            | vocalis_core::Error::Audio { .. }
                            | vocalis_core::Error::Invalid(_)
                    )
                })
            });
            ExitCode::from(if is_input { 3 } else { 1 })
        }
    }
}
