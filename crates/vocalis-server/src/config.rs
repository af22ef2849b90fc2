//! [`ServerConfig`]: everything `vocalis serve` can be told, as one TOML-deserializable struct.
//!
//! The binary maps its command-line options and environment variables onto it in one place
//! (`crates/vocalis-cli/src/serve.rs`); this crate never reads the environment. Precedence:
//! command line / environment > TOML file > [`ServerConfig::default`].

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Current version of the TOML layout (`format_version`).
pub const FORMAT_VERSION: u32 = 1;

/// Server configuration.
///
/// ```toml
/// format_version = 1
/// port = 8000
/// api_keys = ["change-me"]
/// model = "models/xtts_v2"
/// workers = 2
/// queue_size = 8
///
/// [limits]
/// max_input_chars = 4096
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Layout version of this file ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Address to bind. `None`: `127.0.0.1`, or `0.0.0.0` when API keys are set.
    pub host: Option<String>,
    /// TCP port (0: any free port).
    pub port: u16,
    /// Accepted API keys (`Authorization: Bearer KEY`). Empty: no authentication.
    pub api_keys: Vec<String>,
    /// XTTS v2 model directory.
    pub model: PathBuf,
    /// Device: `cpu`, `cuda`, `cuda:N`, `metal` or `auto`.
    pub device: String,
    /// The model id reported by `/v1/models` and `/health/models`. Any `model` value of a
    /// speech request is accepted (OpenAI clients send `tts-1`).
    pub model_id: String,
    /// Voice profile directory.
    pub profiles_dir: PathBuf,
    /// Synthesis workers running at the same time (they share one copy of the weights; each
    /// holds its own KV cache and activations).
    pub workers: usize,
    /// Requests that may wait for a worker; beyond `workers + queue_size` admitted requests the
    /// server answers 503 with `Retry-After`.
    pub queue_size: usize,
    /// Seconds a request may take from admission to its last byte of audio (queue wait
    /// included). Past it the generation is cancelled.
    pub request_timeout_secs: f64,
    /// Seconds in-flight requests get to finish after SIGTERM/Ctrl-C before they are cancelled.
    pub shutdown_grace_secs: f64,
    /// Synthesize one short sentence at startup (the first requests then do not pay for
    /// first-touch allocations) and prepare the newest stored voice profiles (their first
    /// requests then do not compute their conditioning in the GPT); `/health/models` reports
    /// when it is done.
    pub warmup: bool,
    /// Language of a speech request that names none and whose voice profile has none.
    pub default_language: String,
    /// Request limits.
    pub limits: Limits,
}

/// Request limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Characters of `input` in one speech request (OpenAI's limit is 4096).
    pub max_input_chars: usize,
    /// Bytes of a JSON request body.
    pub max_body_bytes: usize,
    /// Bytes of a multipart voice upload (all clips together).
    pub max_upload_bytes: usize,
    /// Reference clips in one voice upload.
    pub max_clips: usize,
    /// Seconds of one uploaded clip (longer clips are refused; only the model's `max_ref_len`
    /// seconds of each are used anyway).
    pub max_clip_secs: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_chars: 4096,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 32 * 1024 * 1024,
            max_clips: 8,
            max_clip_secs: 60.0,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            format_version: FORMAT_VERSION,
            host: None,
            port: 8000,
            api_keys: Vec::new(),
            model: PathBuf::from("models/xtts_v2"),
            device: "auto".into(),
            model_id: "xtts-v2".into(),
            profiles_dir: PathBuf::from("voice_profiles"),
            workers: 2,
            queue_size: 8,
            request_timeout_secs: 300.0,
            shutdown_grace_secs: 30.0,
            warmup: true,
            default_language: "en".into(),
            limits: Limits::default(),
        }
    }
}

impl ServerConfig {
    /// Parses TOML; relative paths stay relative (see [`ServerConfig::from_toml_file`]).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let cfg: ServerConfig = toml::from_str(text)?;
        if cfg.format_version > FORMAT_VERSION {
            bail!(
                "format_version {} is newer than this Vocalis understands ({FORMAT_VERSION})",
                cfg.format_version
            );
        }
        Ok(cfg)
    }

    /// Reads a TOML file. A relative `model` or `profiles_dir` given in the file is resolved
    /// against the file's directory, once, here (defaults stay relative to the working
    /// directory).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut cfg = Self::from_toml_str(&text).with_context(|| format!("{}", path.display()))?;
        let keys: toml::Table = toml::from_str(&text)?;
        let base = path.parent().unwrap_or(Path::new(""));
        for (key, p) in [("model", &mut cfg.model), ("profiles_dir", &mut cfg.profiles_dir)] {
            if keys.contains_key(key) && p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(cfg)
    }

    /// TOML of this configuration (API keys redacted).
    pub fn to_toml_redacted(&self) -> String {
        let mut c = self.clone();
        c.api_keys = c.api_keys.iter().map(|_| "<redacted>".to_string()).collect();
        toml::to_string_pretty(&c).unwrap_or_else(|e| format!("# cannot serialise: {e}"))
    }

    /// Checks values; the message names the option.
    pub fn validate(&self) -> Result<()> {
        if self.workers == 0 {
            bail!("workers must be at least 1");
        }
        if self.workers > 64 {
            bail!("workers must be at most 64 (got {})", self.workers);
        }
        if self.queue_size > 100_000 {
            bail!("queue_size must be at most 100000 (got {})", self.queue_size);
        }
        for (name, v) in [
            ("request_timeout_secs", self.request_timeout_secs),
            ("shutdown_grace_secs", self.shutdown_grace_secs),
            ("limits.max_clip_secs", self.limits.max_clip_secs),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
                bail!("{name} must be in (0, 86400] seconds (got {v})");
            }
        }
        let l = &self.limits;
        for (name, v) in [
            ("limits.max_input_chars", l.max_input_chars),
            ("limits.max_body_bytes", l.max_body_bytes),
            ("limits.max_upload_bytes", l.max_upload_bytes),
            ("limits.max_clips", l.max_clips),
        ] {
            if v == 0 {
                bail!("{name} must be at least 1");
            }
        }
        if self.api_keys.iter().any(|k| k.trim().is_empty()) {
            bail!("an API key is empty");
        }
        if self.api_keys.iter().any(|k| k.chars().any(|c| c.is_whitespace() || c.is_control())) {
            bail!("API keys cannot contain spaces or control characters");
        }
        if self.model_id.trim().is_empty() {
            bail!("model_id is empty");
        }
        if self.default_language.trim().is_empty() {
            bail!("default_language is empty");
        }
        Ok(())
    }

    /// The host actually bound: `host`, else `0.0.0.0` with API keys, else `127.0.0.1`.
    pub fn bind_host(&self) -> String {
        match &self.host {
            Some(h) => h.clone(),
            None if !self.api_keys.is_empty() => "0.0.0.0".into(),
            None => "127.0.0.1".into(),
        }
    }

    /// Whether the bound host is reachable from other machines without an API key.
    pub fn exposed_without_key(&self) -> bool {
        if !self.api_keys.is_empty() {
            return false;
        }
        let host = self.bind_host();
        match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => !ip.is_loopback(),
            Err(_) => host != "localhost",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_bind_rules() {
        let c = ServerConfig::default();
        assert_eq!(ServerConfig::from_toml_str(&toml::to_string(&c).unwrap()).unwrap(), c);
        assert_eq!(c.bind_host(), "127.0.0.1");
        assert!(!c.exposed_without_key());
        let k = ServerConfig { api_keys: vec!["k".into()], ..c.clone() };
        assert_eq!(k.bind_host(), "0.0.0.0");
        let open = ServerConfig { host: Some("0.0.0.0".into()), ..c };
        assert!(open.exposed_without_key());
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        let e = ServerConfig::from_toml_str("prot = 1").unwrap_err().to_string();
        assert!(e.contains("prot"), "{e}");
        let c = ServerConfig::from_toml_str("workers = 0").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("workers"));
        let c = ServerConfig::from_toml_str("[limits]\nmax_clips = 0").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("max_clips"));
        assert!(ServerConfig::from_toml_str("format_version = 9").is_err());
    }

    #[test]
    fn file_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("server.toml");
        std::fs::write(&f, "model = \"../m\"\napi_keys = [\"k\"]\n[limits]\nmax_clips = 2\n")
            .unwrap();
        let c = ServerConfig::from_toml_file(&f).unwrap();
        assert_eq!(c.model, dir.path().join("../m"));
        assert_eq!(c.profiles_dir, PathBuf::from("voice_profiles"), "defaults stay as they are");
        assert_eq!((c.limits.max_clips, c.api_keys.len()), (2, 1));
        assert!(c.to_toml_redacted().contains("<redacted>"));
    }
}
