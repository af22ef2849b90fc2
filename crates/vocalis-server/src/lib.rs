//! Vocalis HTTP server: an OpenAI-compatible speech API for XTTS v2, voice profiles, health.
//!
//! A library so that the `vocalis serve` command, the tests and anyone embedding it share one
//! code path (the layout of mistral.rs's server: a config, a router of handlers, an entry
//! point):
//!
//! ```no_run
//! # async fn f(model: std::sync::Arc<vocalis_core::models::Xtts>) -> anyhow::Result<()> {
//! let config = vocalis_server::ServerConfig::default();
//! let server = vocalis_server::Server::bind(config, model).await?;
//! println!("listening on {}", server.local_addr());
//! server.run(vocalis_server::shutdown_signal()).await
//! # }
//! ```
//!
//! Endpoints: `POST /v1/audio/speech`, `GET|POST /v1/voices`, `GET|DELETE /v1/voices/{name}`,
//! `GET /v1/models`, `GET /health`, `GET /health/models`, `GET /openapi.json`, `GET /docs`.
//! Requests go through a bounded queue ([`queue`]) in front of `workers` synthesis threads that
//! share one model. SIGTERM stops accepting connections, lets in-flight requests finish for
//! `shutdown_grace_secs`, then cancels what is left.

pub mod api;
pub mod config;
pub mod error;
pub mod queue;
pub mod routes;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use vocalis_core::models::Xtts;
use vocalis_core::models::gpt::VOICE_PREFIX_CACHE;
use vocalis_core::pipeline::{SynthesisOptions, synthesize};

pub use config::{Limits, ServerConfig};
pub use error::ApiError;
pub use state::AppState;

/// A server bound to its address, not serving yet.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Validates `config` and binds `config.bind_host():config.port`.
    pub async fn bind(config: ServerConfig, model: Arc<Xtts>) -> Result<Self> {
        config.validate()?;
        let addr = format!("{}:{}", config.bind_host(), config.port);
        let listener =
            TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        if config.exposed_without_key() {
            tracing::warn!(
                "listening on {addr} without an API key: anyone who can reach this address can use the server \
                 (set --api-key or VOCALIS_API_KEY)"
            );
        }
        let state = AppState::new(config, model)?;
        Ok(Server { listener, state })
    }

    /// The bound address (with the actual port when `port` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The shared state (for tests and embedding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains: no new connections or requests,
    /// in-flight requests get `shutdown_grace_secs` to finish, the rest are cancelled.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Server { listener, state } = self;
        if state.config.warmup {
            spawn_warmup(state.clone());
        } else {
            state.warmup_done.store(true, Ordering::Relaxed);
        }
        let token = CancellationToken::new();
        let trigger = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            trigger.cancel();
        });
        let app = routes::app(state.clone());
        let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(token.clone().cancelled_owned());
        let grace = Duration::from_secs_f64(state.config.shutdown_grace_secs);
        let sched = Arc::clone(&state.sched);
        let deadline = async move {
            token.cancelled().await;
            tracing::info!(
                "shutting down: finishing in-flight requests (up to {:.0} s)",
                grace.as_secs_f64()
            );
            sched.begin_drain();
            tokio::time::sleep(grace).await;
            let d = sched.depth();
            if d.running + d.waiting > 0 {
                tracing::warn!(
                    "grace period over: cancelling {} request(s)",
                    d.running + d.waiting
                );
            }
            sched.abort_all();
            // cancelled jobs stop at their next token; give their connections a moment to close
            tokio::time::sleep(Duration::from_secs(5)).await;
        };
        tokio::select! {
            r = serve => r.context("server failed")?,
            _ = deadline => tracing::warn!("connections still open after the grace period: exiting anyway"),
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Builds a runtime, binds, and serves until SIGTERM/Ctrl-C. `on_ready` is called with the
/// bound address once the server accepts connections. This is what `vocalis serve` calls.
pub fn run_blocking(
    config: ServerConfig,
    model: Arc<Xtts>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("vocalis-http")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let server = Server::bind(config, model).await?;
        on_ready(server.local_addr());
        server.run(shutdown_signal()).await
    })
}

/// Synthesizes one short sentence with the first built-in speaker on a worker, so that the
/// first requests do not pay for first-touch allocations (skipped for a model without built-in
/// speakers), then prepares the newest stored profiles ([`AppState::prepare_profiles`]) so that
/// their first requests do not compute their conditioning in the GPT.
fn spawn_warmup(state: AppState) {
    tokio::spawn(async move {
        let t0 = Instant::now();
        let timeout = Duration::from_secs_f64(state.config.request_timeout_secs);
        let result = async {
            let builtin = state.builtin_names().into_iter().next();
            let voice = match &builtin {
                Some(name) => Some(state.resolve_voice(name)?),
                None => {
                    tracing::info!("warm-up synthesis skipped: the model has no built-in speaker");
                    None
                }
            };
            let ticket = state.sched.try_admit(timeout)?;
            let st = state.clone();
            ticket
                .run(move |ctl| {
                    if let Some(voice) = voice {
                        let opts =
                            SynthesisOptions::for_model(&st.model, &st.config.default_language);
                        synthesize(&st.model, &voice.conditioning, "Hello.", &opts, |_| {
                            ctl.stop_reason().is_none()
                        })
                        .map_err(ApiError::from)?;
                    }
                    let n =
                        st.prepare_profiles(VOICE_PREFIX_CACHE - 1, || ctl.stop_reason().is_none());
                    Ok::<_, ApiError>(n)
                })
                .await?
                .await?
        }
        .await;
        match result {
            Ok(n) => {
                let secs = t0.elapsed().as_secs_f64();
                tracing::info!("warm-up done in {secs:.2} s ({n} voice profile(s) prepared)");
                if let Ok(mut g) = state.warmup_secs.lock() {
                    *g = Some(secs);
                }
            }
            Err(e) => tracing::warn!("warm-up failed: {}", e.message),
        }
        state.warmup_done.store(true, Ordering::Relaxed);
    });
}
