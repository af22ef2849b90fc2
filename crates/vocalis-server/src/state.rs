//! What every handler shares: the configuration, the one loaded model, the voice store, the
//! scheduler, and the warm-up status.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use vocalis_core::models::Xtts;
use vocalis_core::models::xtts::Conditioning;
use vocalis_core::voice::{VoiceStore, closest, validate_name};

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::queue::Scheduler;

/// Shared state (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// Configuration.
    pub config: ServerConfig,
    /// The model, shared by all workers.
    pub model: Arc<Xtts>,
    /// [`Xtts::fingerprint`], computed once.
    pub fingerprint: String,
    /// `cpu`, `cuda` or `metal`.
    pub device: String,
    /// Voice profiles.
    pub store: VoiceStore,
    /// The queue.
    pub sched: Arc<Scheduler>,
    /// Serialises profile writes and deletes.
    pub store_lock: tokio::sync::Mutex<()>,
    /// Set when the warm-up synthesis finished (or was skipped).
    pub warmup_done: AtomicBool,
    /// Seconds the warm-up took.
    pub warmup_secs: Mutex<Option<f64>>,
    /// Start time.
    pub started: Instant,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A resolved voice.
pub struct Voice {
    /// The conditioning on the model's device.
    pub conditioning: Conditioning,
    /// The profile's language hint.
    pub language: Option<String>,
}

impl AppState {
    /// Builds the state (computes the model fingerprint).
    pub fn new(config: ServerConfig, model: Arc<Xtts>) -> anyhow::Result<Self> {
        let fingerprint = model.fingerprint()?;
        let device = match model.device() {
            candle::Device::Cpu => "cpu",
            candle::Device::Cuda(_) => "cuda",
            candle::Device::Metal(_) => "metal",
        }
        .to_string();
        let sched = Scheduler::new(config.workers, config.queue_size);
        let store = VoiceStore::new(&config.profiles_dir);
        Ok(AppState(Arc::new(Inner {
            config,
            model,
            fingerprint,
            device,
            store,
            sched,
            store_lock: tokio::sync::Mutex::new(()),
            warmup_done: AtomicBool::new(false),
            warmup_secs: Mutex::new(None),
            started: Instant::now(),
        })))
    }

    /// Whether the warm-up is over.
    pub fn warmed_up(&self) -> bool {
        self.warmup_done.load(Ordering::Relaxed)
    }

    /// Names of the built-in speakers, in model order.
    pub fn builtin_names(&self) -> Vec<String> {
        self.model.speakers().iter().map(|(n, _, _)| n.clone()).collect()
    }

    /// A voice by name: a built-in speaker, else a stored profile made with this model.
    pub fn resolve_voice(&self, name: &str) -> Result<Voice, ApiError> {
        if let Some(c) = self.model.speaker(name) {
            return Ok(Voice { conditioning: c, language: None });
        }
        if validate_name(name).is_ok() && self.store.contains(name) {
            let p = self.store.load(name)?;
            p.check_model(&self.fingerprint).map_err(|e| {
                ApiError::bad_request(e.to_string()).param("voice").code("voice_model_mismatch")
            })?;
            let conditioning = p.conditioning_on(self.model.device())?;
            return Ok(Voice { conditioning, language: p.meta.language.clone() });
        }
        Err(self.unknown_voice(name).param("voice").code("voice_not_found").into_bad_request())
    }

    /// Computes the GPT conditioning of up to `max` stored profiles made with this model, newest
    /// first ([`Xtts::prepare_voice`]), while `go()` says so; returns how many. Profiles that do
    /// not load are skipped (their requests report why).
    pub fn prepare_profiles(&self, max: usize, mut go: impl FnMut() -> bool) -> usize {
        let mut metas: Vec<_> = self
            .store
            .names()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| self.store.meta(&n).ok())
            .filter(|m| m.model.fingerprint == self.fingerprint)
            .collect();
        metas.sort_by(|a, b| b.created.cmp(&a.created));
        let mut done = 0;
        for m in metas.into_iter().take(max) {
            if !go() {
                break;
            }
            let prepared = self
                .store
                .load(&m.name)
                .and_then(|p| p.conditioning_on(self.model.device()))
                .and_then(|c| self.model.prepare_voice(&c));
            match prepared {
                Ok(_) => done += 1,
                Err(e) => tracing::warn!("voice {} not prepared: {e}", m.name),
            }
        }
        done
    }

    /// "unknown voice X; did you mean ...?" (404; callers in a request body make it a 400).
    pub fn unknown_voice(&self, name: &str) -> ApiError {
        let mut all = self.store.names().unwrap_or_default();
        all.extend(self.builtin_names());
        let close = closest(name, all);
        let hint = if close.is_empty() {
            "; list the voices with GET /v1/voices".to_string()
        } else {
            format!("; did you mean {}?", close.join(", "))
        };
        ApiError::not_found(format!("unknown voice {name:?}{hint}")).code("voice_not_found")
    }

    /// Checks that the model reads `language` (400 naming `param` otherwise).
    pub fn check_language(&self, language: &str, param: &str) -> Result<(), ApiError> {
        crate::api::check_language_form(language)
            .map_err(|e| ApiError { param: Some(param.into()), ..e })?;
        match self.model.tokenize("a", language) {
            Ok(_) => Ok(()),
            Err(vocalis_core::Error::Text(m)) => {
                Err(ApiError::bad_request(m).param(param).code("unsupported_language"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Splits and tokenizes `text` as the synthesis will, so that unusable text is a 400 before
    /// the request is queued (and before a streamed response has started).
    pub fn check_text(
        &self,
        text: &str,
        language: &str,
        trim_final_period: bool,
    ) -> Result<(), ApiError> {
        let chunks = vocalis_core::pipeline::text_chunks(text, language, true, trim_final_period)
            .map_err(|e| ApiError::from(e).param("input"))?;
        for c in &chunks {
            let ids =
                self.model.tokenize(c, language).map_err(|e| ApiError::from(e).param("input"))?;
            if ids.len() <= 1 {
                return Err(ApiError::bad_request(format!(
                    "nothing to say in {c:?} after text normalisation"
                ))
                .param("input")
                .code("empty_input"));
            }
        }
        Ok(())
    }
}

impl ApiError {
    /// The same error as a 400 (an unknown name inside a request body is a bad request, not a
    /// missing resource).
    pub fn into_bad_request(mut self) -> Self {
        self.status = axum::http::StatusCode::BAD_REQUEST;
        self
    }
}
