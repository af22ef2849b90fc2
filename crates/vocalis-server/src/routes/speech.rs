//! `POST /v1/audio/speech`: OpenAI's speech endpoint, whole or streamed.
//!
//! Everything that can be wrong with a request (JSON, values, voice, language, text) is
//! checked before it is queued, and a streamed response's status goes out with its first audio,
//! so a request refused or timed out before that gets a JSON error with the right status.
//! A streamed WAV starts with a header of unknown length (`0xFFFFFFFF`, as ffmpeg writes for
//! pipes) followed by 16-bit PCM as the sliding-window decoder produces it; the concatenated
//! audio equals the non-streamed response's. A stream cut by a timeout or a shutdown ends
//! without the final chunk, so the client sees an incomplete transfer rather than a short file.

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc;
use vocalis_core::audio::XTTS_OUTPUT_SAMPLE_RATE_HZ as SR;
use vocalis_core::audio::encode::{OutputFormat, encode, pcm16_bytes, wav_header};
use vocalis_core::models::Xtts;
use vocalis_core::models::xtts::Conditioning;
use vocalis_core::pipeline::{Event, SynthesisOptions, synthesize};

use crate::api::{SpeechParams, body_too_large, parse_speech};
use crate::error::{ApiError, ErrorBody};
use crate::queue::{JobControl, Running, StopReason};
use crate::state::AppState;

/// Reads a body of at most `limit` bytes (413 beyond).
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(body_too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| body_too_large(limit))
}

/// The `Content-Type` header as text.
pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

/// Synthesize speech.
#[utoipa::path(
    post,
    path = "/v1/audio/speech",
    tag = "speech",
    request_body(content = crate::api::SpeechRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Audio: `audio/wav` (16-bit, 24 kHz mono), `audio/pcm` (raw s16le) or \
            `audio/flac`; chunked while it is generated when `stream` is true",
            content(("audio/wav"), ("audio/pcm"), ("audio/flac"))),
        (status = 400, description = "Invalid request (JSON, value, unknown voice, unsupported format, text)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 503, description = "Queue full or shutting down; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 504, description = "The synthesis exceeded the request timeout", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn speech(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, st.config.limits.max_body_bytes).await?;
    let p = parse_speech(content_type(&headers), &bytes, &st.config.limits)?;
    let voice = st.resolve_voice(&p.voice)?;
    let language = match &p.language {
        Some(l) => l.clone(),
        None => voice.language.clone().unwrap_or_else(|| st.config.default_language.clone()),
    };
    st.check_language(&language, if p.language.is_some() { "language" } else { "voice" })?;
    st.check_text(&p.input, &language, p.trim_final_period)?;
    let opts = options(&st.model, &p, &language)?;
    let timeout = Duration::from_secs_f64(st.config.request_timeout_secs);
    let ticket = st.sched.try_admit(timeout)?;
    let model = Arc::clone(&st.model);
    let conditioning = voice.conditioning;
    let format = p.format;
    tracing::debug!(voice = %p.voice, chars = p.input.chars().count(), stream = p.stream, "speech request");
    if p.stream {
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        let job = ticket
            .run(move |ctl| {
                let send = |b: Bytes| tx.blocking_send(b).is_ok();
                run_synthesis(&model, &conditioning, &p.input, &opts, ctl, |samples| {
                    send(Bytes::from(pcm16_bytes(samples)))
                })
                .map(|_| ())
            })
            .await?;
        // The status goes out with the first audio: a synthesis that fails before it (a
        // timeout, a shutdown) still gets a proper error response.
        let mut rx = rx;
        let mut pending = VecDeque::new();
        if format == OutputFormat::Wav {
            pending.push_back(Bytes::copy_from_slice(&wav_header(SR, false, u32::MAX - 36)));
        }
        let job = match rx.recv().await {
            Some(first) => {
                pending.push_back(first);
                Some(job)
            }
            None => {
                job.await??;
                None
            }
        };
        let stream = AudioStream { pending, rx, job };
        let mut r = Response::new(Body::from_stream(stream));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.mime()));
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(r);
    }
    let job = ticket
        .run(move |ctl| {
            let mut audio = Vec::new();
            run_synthesis(&model, &conditioning, &p.input, &opts, ctl, |s| {
                audio.extend_from_slice(s);
                true
            })?;
            encode(&audio, SR, format).map_err(ApiError::from)
        })
        .await?;
    let bytes = job.await??;
    Ok(([(header::CONTENT_TYPE, format.mime())], bytes).into_response())
}

fn options(model: &Xtts, p: &SpeechParams, language: &str) -> Result<SynthesisOptions, ApiError> {
    let mut opts = SynthesisOptions::for_model(model, language);
    let s = &mut opts.sampling;
    s.temperature = p.temperature.unwrap_or(s.temperature);
    s.top_k = p.top_k.unwrap_or(s.top_k);
    s.top_p = p.top_p.unwrap_or(s.top_p);
    s.repetition_penalty = p.repetition_penalty.unwrap_or(s.repetition_penalty);
    s.length_penalty = p.length_penalty.unwrap_or(s.length_penalty);
    s.greedy = p.greedy;
    s.validate().map_err(ApiError::bad_request)?;
    opts.speed = p.speed;
    opts.seed = p.seed;
    opts.trim_final_period = p.trim_final_period;
    opts.stream = p.stream;
    Ok(opts)
}

/// Runs one synthesis on a worker thread, handing audio to `sink` (which returns false when
/// the client is gone) and stopping when `ctl` says so.
fn run_synthesis(
    model: &Xtts,
    voice: &Conditioning,
    text: &str,
    opts: &SynthesisOptions,
    ctl: &JobControl,
    mut sink: impl FnMut(&[f32]) -> bool,
) -> Result<(), ApiError> {
    let mut client_gone = false;
    let result = synthesize(model, voice, text, opts, |e| {
        if ctl.stop_reason().is_some() {
            return false;
        }
        match e {
            Event::Audio(samples) => {
                if !sink(samples) {
                    client_gone = true;
                    ctl.cancel();
                    return false;
                }
                true
            }
            Event::ChunkDone { index, stopped: false, .. } => {
                tracing::warn!(
                    "sentence {} reached the model's length limit and was cut",
                    index + 1
                );
                true
            }
            _ => true,
        }
    });
    match result {
        Ok(stats) => {
            tracing::debug!(
                secs = stats.total_secs,
                audio_secs = stats.samples as f64 / SR as f64,
                first_audio = stats.first_audio_secs,
                "synthesis done"
            );
            Ok(())
        }
        Err(vocalis_core::Error::Cancelled) => {
            Err(stopped(if client_gone { Some(StopReason::ClientGone) } else { ctl.stop_reason() }))
        }
        Err(e) => Err(e.into()),
    }
}

fn stopped(reason: Option<StopReason>) -> ApiError {
    match reason {
        Some(StopReason::Timeout) => {
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, "the synthesis exceeded the request timeout")
                .code("timeout")
        }
        Some(StopReason::Shutdown) => {
            ApiError::overloaded("the server is shutting down", 1).code("shutting_down")
        }
        Some(StopReason::ClientGone) | None => {
            tracing::debug!("client disconnected: generation cancelled");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "cancelled: the client disconnected")
                .code("cancelled")
        }
    }
}

/// The body of a streamed response: the WAV header and the first audio, then the rest as the
/// worker sends it, then the job's outcome (an error aborts the transfer). Dropping it cancels
/// the job.
struct AudioStream {
    pending: VecDeque<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    job: Option<Running<Result<(), ApiError>>>,
}

impl Stream for AudioStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(b) = self.pending.pop_front() {
            return Poll::Ready(Some(Ok(b)));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(b)) => Poll::Ready(Some(Ok(b))),
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                let Some(job) = self.job.as_mut() else { return Poll::Ready(None) };
                match Pin::new(job).poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(r) => {
                        self.job = None;
                        match r.and_then(|r| r) {
                            Ok(()) => Poll::Ready(None),
                            Err(e) => {
                                tracing::warn!("streamed synthesis ended early: {}", e.message);
                                Poll::Ready(Some(Err(std::io::Error::other(e.message))))
                            }
                        }
                    }
                }
            }
        }
    }
}
