//! `vocalis serve`: maps options, environment variables and an optional TOML file onto
//! [`vocalis_server::ServerConfig`] (command line / environment > file > defaults), loads the
//! model once and runs the server until SIGTERM or Ctrl-C (exit 0).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use vocalis_server::ServerConfig;

use crate::common::{self, CliError, ModelOpts, Ui};

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  vocalis serve --model models/xtts_v2
  VOCALIS_API_KEY=secret vocalis serve --port 8000          # binds 0.0.0.0 because a key is set
  vocalis serve --config server.toml --workers 4

  curl -s localhost:8000/v1/audio/speech -H 'Content-Type: application/json' \\
       -d '{\"model\":\"tts-1\",\"input\":\"Hello there.\",\"voice\":\"Ana Florence\"}' -o hello.wav

Without an API key the server binds 127.0.0.1 unless --host is given. SIGTERM or Ctrl-C stops
accepting connections, lets in-flight requests finish (--shutdown-grace) and exits 0.
The TOML file takes the same settings (snake_case, limits under [limits]); see docs/server.md.")]
pub struct ServeArgs {
    /// TOML configuration file; options and environment variables given here override it.
    #[arg(long, env = "VOCALIS_SERVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// XTTS v2 model directory [default: models/xtts_v2].
    #[arg(long, env = "VOCALIS_MODEL", value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Device: cpu, cuda, cuda:N, metal or auto [default: auto].
    #[arg(long, env = "VOCALIS_DEVICE", value_name = "DEVICE")]
    pub device: Option<String>,
    /// Voice profile directory [default: voice_profiles].
    #[arg(long, env = "VOCALIS_VOICE_DIR", value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// Address to bind [default: 127.0.0.1, or 0.0.0.0 when an API key is set].
    #[arg(long, env = "VOCALIS_HOST", value_name = "ADDR")]
    pub host: Option<String>,
    /// TCP port (0 picks a free one) [default: 8000].
    #[arg(long, short = 'p', env = "VOCALIS_PORT", value_name = "PORT")]
    pub port: Option<u16>,
    /// API key clients must send as `Authorization: Bearer KEY` (repeat the option or separate
    /// keys with commas for several). Without one, no authentication.
    #[arg(
        long = "api-key",
        env = "VOCALIS_API_KEY",
        value_name = "KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// The model id reported by /v1/models (any `model` value of a request is accepted)
    /// [default: xtts-v2].
    #[arg(long, env = "VOCALIS_MODEL_ID", value_name = "ID")]
    pub model_id: Option<String>,
    /// Syntheses running at the same time; they share one copy of the weights, each needs its
    /// own activations and KV cache [default: 2].
    #[arg(long, env = "VOCALIS_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Requests that may wait for a worker; more get 503 with Retry-After [default: 8].
    #[arg(long, env = "VOCALIS_QUEUE_SIZE", value_name = "N")]
    pub queue_size: Option<usize>,
    /// Seconds a request may take, queue wait included; then its generation is cancelled
    /// [default: 300].
    #[arg(long, env = "VOCALIS_REQUEST_TIMEOUT", value_name = "SECS")]
    pub request_timeout: Option<f64>,
    /// Seconds in-flight requests get to finish after SIGTERM [default: 30].
    #[arg(long, env = "VOCALIS_SHUTDOWN_GRACE", value_name = "SECS")]
    pub shutdown_grace: Option<f64>,
    /// Skip the warm-up at startup (one short synthesis, then the newest 7 voice profiles'
    /// conditioning computed in the GPT so that their first requests start sooner).
    #[arg(long, env = "VOCALIS_NO_WARMUP")]
    pub no_warmup: bool,
    /// Language of requests that name none (and whose voice profile has none) [default: en].
    #[arg(long, env = "VOCALIS_DEFAULT_LANGUAGE", value_name = "LANG")]
    pub default_language: Option<String>,
    /// Characters of `input` per speech request [default: 4096].
    #[arg(long, env = "VOCALIS_MAX_INPUT_CHARS", value_name = "N")]
    pub max_input_chars: Option<usize>,
    /// Bytes of a JSON request body [default: 65536].
    #[arg(long, env = "VOCALIS_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Bytes of a voice upload, all clips together [default: 33554432 (32 MiB)].
    #[arg(long, env = "VOCALIS_MAX_UPLOAD_BYTES", value_name = "BYTES")]
    pub max_upload_bytes: Option<usize>,
    /// Reference clips per voice upload [default: 8].
    #[arg(long, env = "VOCALIS_MAX_CLIPS", value_name = "N")]
    pub max_clips: Option<usize>,
    /// Seconds of one uploaded clip [default: 60].
    #[arg(long, env = "VOCALIS_MAX_CLIP_SECS", value_name = "SECS")]
    pub max_clip_secs: Option<f64>,
    /// Print the resulting configuration as TOML (API keys redacted) and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// The configuration: defaults, then the file, then options and environment variables.
pub fn resolve_config(a: &ServeArgs) -> Result<ServerConfig> {
    let mut c = match &a.config {
        Some(f) => ServerConfig::from_toml_file(f)
            .map_err(|e| CliError::Input(vocalis_core::error::one_line(e.chain())))?,
        None => ServerConfig::default(),
    };
    fn set<T: Clone>(dst: &mut T, v: &Option<T>) {
        if let Some(v) = v {
            *dst = v.clone();
        }
    }
    set(&mut c.model, &a.model);
    set(&mut c.device, &a.device);
    set(&mut c.profiles_dir, &a.profiles_dir);
    if a.host.is_some() {
        c.host = a.host.clone();
    }
    set(&mut c.port, &a.port);
    if !a.api_keys.is_empty() {
        c.api_keys =
            a.api_keys.iter().map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
    }
    set(&mut c.model_id, &a.model_id);
    set(&mut c.workers, &a.workers);
    set(&mut c.queue_size, &a.queue_size);
    set(&mut c.request_timeout_secs, &a.request_timeout);
    set(&mut c.shutdown_grace_secs, &a.shutdown_grace);
    if a.no_warmup {
        c.warmup = false;
    }
    set(&mut c.default_language, &a.default_language);
    let l = &mut c.limits;
    set(&mut l.max_input_chars, &a.max_input_chars);
    set(&mut l.max_body_bytes, &a.max_body_bytes);
    set(&mut l.max_upload_bytes, &a.max_upload_bytes);
    set(&mut l.max_clips, &a.max_clips);
    set(&mut l.max_clip_secs, &a.max_clip_secs);
    c.validate().map_err(|e| CliError::Input(format!("invalid server configuration: {e}")))?;
    Ok(c)
}

pub fn run(a: ServeArgs, ui: &Ui) -> Result<()> {
    let config = resolve_config(&a)?;
    if a.print_config {
        print!("{}", config.to_toml_redacted());
        return Ok(());
    }
    let model = common::load_model(
        &ModelOpts { model: config.model.clone(), device: config.device.clone() },
        ui,
    )?;
    let auth = if config.api_keys.is_empty() { "no API key" } else { "API key required" };
    let (workers, queue) = (config.workers, config.queue_size);
    vocalis_server::run_blocking(config, Arc::new(model), |addr| {
        ui.note(format!(
            "vocalis serve: listening on http://{addr} ({auth}; {workers} worker(s), queue {queue}); docs at /docs"
        ));
    })
    .context("the HTTP server failed")
}
