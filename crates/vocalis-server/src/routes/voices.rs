//! `/v1/voices`: list, create (multipart upload of reference clips → a cloned profile), show
//! and delete voice profiles; built-in speakers are listed and shown too.
//!
//! Uploads are decoded in memory (any format symphonia reads), each clip at most
//! `limits.max_clip_secs` long; only the model's `max_ref_len` seconds of each are used, as in
//! `vocalis voice add`. Cloning runs on a synthesis worker, behind the same queue as speech.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use vocalis_core::audio::XTTS_INPUT_SAMPLE_RATE_HZ;
use vocalis_core::audio::io::{prepare_mono, read_audio_bytes};
use vocalis_core::models::CloneOptions;
use vocalis_core::models::xtts::check_reference;
use vocalis_core::voice::{ProfileMeta, ReferenceClip, clone_profile_from_audio, validate_name};

use crate::api::{VoiceDeleted, VoiceList, VoiceObject, VoiceSource};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

fn builtin(name: &str) -> VoiceObject {
    VoiceObject {
        id: name.to_string(),
        object: "voice",
        kind: "builtin",
        language: None,
        created: None,
        sources: None,
        usable: true,
        error: None,
    }
}

fn profile(m: ProfileMeta, fingerprint: &str) -> VoiceObject {
    let usable = m.model.fingerprint == fingerprint;
    VoiceObject {
        id: m.name,
        object: "voice",
        kind: "profile",
        language: m.language,
        created: Some(m.created),
        sources: Some(
            m.sources
                .into_iter()
                .map(|s| VoiceSource { file: s.file, sha256: s.sha256, seconds: s.seconds })
                .collect(),
        ),
        usable,
        error: (!usable).then(|| {
            format!(
                "made with another model (fingerprint {}; this model is {fingerprint})",
                m.model.fingerprint
            )
        }),
    }
}

fn checked_name(name: &str) -> Result<(), ApiError> {
    validate_name(name)
        .map_err(|e| ApiError::bad_request(e.to_string()).param("name").code("invalid_voice_name"))
}

/// List voice profiles and built-in speakers.
#[utoipa::path(get, path = "/v1/voices", tag = "voices",
    responses((status = 200, body = VoiceList), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_voices(State(st): State<AppState>) -> Result<Json<VoiceList>, ApiError> {
    let mut data = Vec::new();
    for n in st.store.names()? {
        data.push(match st.store.meta(&n) {
            Ok(m) => profile(m, &st.fingerprint),
            Err(e) => VoiceObject { usable: false, error: Some(e.to_string()), ..builtin(&n) }
                .into_profile(),
        });
    }
    data.extend(st.builtin_names().iter().map(|n| builtin(n)));
    Ok(Json(VoiceList { object: "list", data }))
}

impl VoiceObject {
    fn into_profile(mut self) -> Self {
        self.kind = "profile";
        self
    }
}

/// Show one voice.
#[utoipa::path(get, path = "/v1/voices/{name}", tag = "voices",
    params(("name" = String, Path, description = "Profile or built-in speaker name")),
    responses((status = 200, body = VoiceObject), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_voice(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<VoiceObject>, ApiError> {
    if st.model.speakers().iter().any(|(n, _, _)| *n == name) {
        return Ok(Json(builtin(&name)));
    }
    checked_name(&name)?;
    if !st.store.contains(&name) {
        return Err(st.unknown_voice(&name));
    }
    Ok(Json(profile(st.store.meta(&name)?, &st.fingerprint)))
}

/// Delete a voice profile.
#[utoipa::path(delete, path = "/v1/voices/{name}", tag = "voices",
    params(("name" = String, Path, description = "Profile name")),
    responses((status = 200, body = VoiceDeleted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_voice(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<VoiceDeleted>, ApiError> {
    if st.model.speakers().iter().any(|(n, _, _)| *n == name) {
        return Err(ApiError::bad_request(format!(
            "{name:?} is a built-in speaker of the model and cannot be deleted"
        ))
        .param("name")
        .code("builtin_voice"));
    }
    checked_name(&name)?;
    let _lock = st.store_lock.lock().await;
    if !st.store.contains(&name) {
        return Err(st.unknown_voice(&name));
    }
    st.store.remove(&name)?;
    tracing::info!("deleted voice {name}");
    Ok(Json(VoiceDeleted { id: name, object: "voice", deleted: true }))
}

/// An uploaded clip.
struct Upload {
    file: String,
    bytes: Bytes,
}

/// The fields of an upload form.
#[derive(Default)]
struct Form {
    name: Option<String>,
    language: Option<String>,
    overwrite: bool,
    clips: Vec<Upload>,
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    let msg = e.body_text();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, format!("the upload is too large: {msg}")).code("request_too_large")
    } else {
        ApiError::new(status, format!("malformed multipart body: {msg}")).code("invalid_multipart")
    }
}

async fn read_form(st: &AppState, req: Request) -> Result<Form, ApiError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type must be multipart/form-data with fields name and file (got {ct:?})"
            ),
        )
        .code("unsupported_media_type"));
    }
    let limit = st.config.limits.max_upload_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(crate::api::body_too_large(limit));
    }
    let mut mp = Multipart::from_request(req, &()).await.map_err(|e| {
        ApiError::bad_request(format!("malformed multipart body: {e}")).code("invalid_multipart")
    })?;
    let mut form = Form::default();
    let text = |b: Bytes, field: &str| -> Result<String, ApiError> {
        let s = String::from_utf8(b.to_vec()).map_err(|_| {
            ApiError::bad_request(format!("field {field} is not UTF-8 text")).param(field)
        })?;
        if s.len() > 256 {
            return Err(ApiError::bad_request(format!("field {field} is too long")).param(field));
        }
        Ok(s.trim().to_string())
    };
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let fname = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let data = field.bytes().await.map_err(multipart_error)?;
        match fname.as_str() {
            "name" | "voice" | "id" => form.name = Some(text(data, "name")?),
            "language" => form.language = Some(text(data, "language")?).filter(|l| !l.is_empty()),
            "overwrite" | "force" => {
                form.overwrite = match text(data, "overwrite")?.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" | "" => false,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "overwrite must be true or false (got {other:?})"
                        ))
                        .param("overwrite"));
                    }
                }
            }
            "file" | "files" | "files[]" | "file[]" | "clip" | "clips" | "reference" | "audio" => {
                if form.clips.len() >= st.config.limits.max_clips {
                    return Err(ApiError::bad_request(format!(
                        "too many clips: at most {} per voice",
                        st.config.limits.max_clips
                    ))
                    .param("file")
                    .code("too_many_clips"));
                }
                let n = form.clips.len() + 1;
                form.clips.push(Upload {
                    file: file_name.unwrap_or_else(|| format!("clip{n}")),
                    bytes: data,
                });
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field {other:?}: expected name, file (repeatable), language, overwrite"
                ))
                .param(other.to_string())
                .code("invalid_value"));
            }
        }
    }
    Ok(form)
}

/// Decodes and checks one clip (on a worker thread).
fn decode_clip(
    u: &Upload,
    max_clip_secs: f64,
    opts: &CloneOptions,
) -> Result<ReferenceClip, ApiError> {
    let bad = |e: vocalis_core::Error| {
        ApiError::bad_request(e.to_string()).param("file").code("invalid_audio")
    };
    let data =
        read_audio_bytes(u.bytes.to_vec(), &u.file, Some(max_clip_secs + 0.05)).map_err(bad)?;
    let secs = data.duration_secs();
    if secs > max_clip_secs {
        return Err(ApiError::bad_request(format!(
            "{}: the clip is longer than {max_clip_secs} s; only the first {} s are used anyway, so trim it",
            u.file, opts.max_ref_secs
        ))
        .param("file")
        .code("clip_too_long"));
    }
    let audio_22k = prepare_mono(&data, XTTS_INPUT_SAMPLE_RATE_HZ, Some(opts.max_ref_secs));
    check_reference(&audio_22k, &u.file).map_err(bad)?;
    Ok(ReferenceClip {
        file: u.file.clone(),
        sha256: Sha256::digest(&u.bytes).iter().map(|b| format!("{b:02x}")).collect(),
        seconds: secs.min(opts.max_ref_secs),
        audio_22k,
    })
}

/// Clone a voice from uploaded reference clips.
#[utoipa::path(post, path = "/v1/voices", tag = "voices",
    request_body(content = inline(crate::api::VoiceUpload), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The new profile", body = VoiceObject),
        (status = 400, description = "Invalid name, corrupt or unusable clip, too many clips", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "A voice of that name exists (send overwrite=true to replace it)", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait")))),
    security(("bearer" = [])))]
pub async fn create_voice(
    State(st): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<VoiceObject>), ApiError> {
    let form = read_form(&st, req).await?;
    let name = form.name.ok_or_else(|| {
        ApiError::bad_request("missing field name").param("name").code("missing_field")
    })?;
    checked_name(&name)?;
    if st.model.speakers().iter().any(|(n, _, _)| *n == name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{name:?} is a built-in speaker name: choose another"),
        )
        .param("name")
        .code("voice_exists"));
    }
    if form.clips.is_empty() {
        return Err(ApiError::bad_request("no reference clip: add one or more file fields")
            .param("file")
            .code("missing_field"));
    }
    if let Some(l) = &form.language {
        st.check_language(l, "language")?;
    }
    if st.store.contains(&name) && !form.overwrite {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("voice {name:?} exists: send overwrite=true to replace it"),
        )
        .param("name")
        .code("voice_exists"));
    }
    let timeout = std::time::Duration::from_secs_f64(st.config.request_timeout_secs);
    let ticket = st.sched.try_admit(timeout)?;
    let model = Arc::clone(&st.model);
    let max_clip_secs = st.config.limits.max_clip_secs;
    let (clips, language) = (form.clips, form.language);
    let job_name = name.clone();
    let profile_new = ticket
        .run(move |_ctl| {
            let opts = CloneOptions::from_config(&model.config);
            let refs = clips
                .iter()
                .map(|u| decode_clip(u, max_clip_secs, &opts))
                .collect::<Result<Vec<_>, _>>()?;
            let p = clone_profile_from_audio(&model, &job_name, &refs, language.as_deref(), &opts)?;
            // Its first request then starts without computing its conditioning in the GPT.
            model.prepare_voice(&p.conditioning_on(model.device())?)?;
            Ok::<_, ApiError>(p)
        })
        .await?
        .await??;
    let _lock = st.store_lock.lock().await;
    if st.store.contains(&name) && !form.overwrite {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("voice {name:?} was created meanwhile"),
        )
        .code("voice_exists"));
    }
    st.store.save(&profile_new, form.overwrite)?;
    tracing::info!("saved voice {name} ({} clip(s))", profile_new.meta.sources.len());
    Ok((StatusCode::CREATED, Json(profile(profile_new.meta, &st.fingerprint))))
}
