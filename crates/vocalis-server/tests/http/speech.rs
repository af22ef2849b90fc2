//! Speech, health, docs, API keys and every request error path.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_models_and_docs() {
    let srv = TestServer::default().await;
    let h = srv.get("/health").await;
    assert_eq!((h.status, h.json()), (200, serde_json::json!({"status": "ok"})));
    let m = srv.get("/health/models").await.json();
    assert_eq!(m["status"], "ready", "{m}");
    assert_eq!(m["warmup_done"], true);
    assert_eq!(m["model"]["device"], "cpu");
    assert_eq!(m["model"]["id"], "xtts-v2");
    assert_eq!(m["model"]["builtin_speakers"], 1);
    assert_eq!(m["queue"]["workers"], 1);
    assert_eq!(m["queue"]["capacity"], 5);
    assert_eq!(m["queue"]["waiting"], 0);
    let models = srv.get("/v1/models").await.json();
    assert_eq!(models["data"][0]["id"], "xtts-v2");
    let doc = srv.get("/openapi.json").await.json();
    for p in [
        "/v1/audio/speech",
        "/v1/voices",
        "/v1/voices/{name}",
        "/health",
        "/health/models",
        "/v1/models",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"].get("SpeechRequest").is_some());
    let docs = srv.get("/docs/").await;
    assert_eq!(docs.status, 200);
    assert!(String::from_utf8_lossy(&docs.body).contains("swagger"), "not the Swagger UI page");
    let e = srv.get("/v2/nothing").await;
    assert_eq!(e.status, 404);
    assert_eq!(e.error()["code"], "not_found");
    let e = request(srv.addr, "PUT", "/health", &[], b"").await;
    assert_eq!(e.status, 405);
    e.error();
    srv.shutdown().await.unwrap();
}

/// 16-bit PCM of equal length whose samples differ by at most one step: streamed audio is
/// decoded in other pieces than the whole response, and the decoder's FFT convolutions round
/// differently at other block boundaries (≤ 1e-5, tests/pipeline.rs), which can move a sample
/// across a rounding edge.
fn assert_pcm_close(a: &[u8], b: &[u8], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    let pcm = |x: &[u8]| -> Vec<i16> {
        x.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
    };
    let (a, b) = (pcm(a), pcm(b));
    let worst = a.iter().zip(&b).map(|(x, y)| (*x as i32 - *y as i32).abs()).max().unwrap_or(0);
    assert!(worst <= 1, "{what}: samples differ by up to {worst}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_in_every_format_and_streaming_equals_whole() {
    let srv = TestServer::default().await;
    let req = |extra: &str| {
        format!(r#"{{"model":"tts-1","input":"Hello there.","voice":"{SPEAKER}","seed":3{extra}}}"#)
    };
    let wav = srv.post_json("/v1/audio/speech", &req("")).await;
    assert_eq!(wav.status, 200, "{}", String::from_utf8_lossy(&wav.body));
    assert_eq!(wav.header("content-type"), Some("audio/wav"));
    let data = wav_data(&wav.body);
    assert!(!data.is_empty());
    assert_eq!(u32::from_le_bytes(wav.body[40..44].try_into().unwrap()) as usize, data.len());
    let pcm = srv.post_json("/v1/audio/speech", &req(r#","response_format":"pcm""#)).await;
    assert_eq!((pcm.status, pcm.header("content-type")), (200, Some("audio/pcm")));
    assert_eq!(pcm.body, data, "pcm equals the WAV's samples");
    let flac = srv.post_json("/v1/audio/speech", &req(r#","response_format":"flac""#)).await;
    assert_eq!((flac.status, flac.header("content-type")), (200, Some("audio/flac")));
    let decoded = vocalis_core::audio::read_audio_bytes(flac.body.clone(), "flac", None).unwrap();
    assert_eq!(decoded.frames() * 2, data.len());

    // streamed: chunked, same samples
    let s =
        srv.post_json("/v1/audio/speech", &req(r#","response_format":"pcm","stream":true"#)).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.header("transfer-encoding"), Some("chunked"));
    assert!(s.complete);
    assert_pcm_close(&s.body, &pcm.body, "streamed PCM equals the whole response");
    let sw = srv.post_json("/v1/audio/speech", &req(r#","stream":true"#)).await;
    assert!(sw.complete);
    assert_pcm_close(wav_data(&sw.body), data, "streamed WAV carries the same samples");
    assert_eq!(
        u32::from_le_bytes(sw.body[40..44].try_into().unwrap()),
        u32::MAX - 36,
        "unknown length"
    );

    // the voice as an object, a different speed, OpenAI's extra fields
    let o = srv
        .post_json(
            "/v1/audio/speech",
            &format!(
                r#"{{"model":"tts-1","input":"Hello.","voice":{{"id":"{SPEAKER}"}},"speed":1.5,"instructions":"calm","stream_format":"audio"}}"#
            ),
        )
        .await;
    assert_eq!(o.status, 200, "{}", String::from_utf8_lossy(&o.body));
    wav_data(&o.body);
    srv.shutdown().await.unwrap();
}

/// (body, content type, status, param, code)
type Case = (&'static str, &'static str, u16, Option<&'static str>, Option<&'static str>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_openai_errors() {
    let mut cfg = test_config();
    cfg.limits.max_input_chars = 40;
    cfg.limits.max_body_bytes = 2048;
    let srv = TestServer::start(cfg).await;
    const J: &str = "application/json";
    let cases: Vec<Case> = vec![
        (r#"{"input":"x","voice":"#, J, 400, None, Some("invalid_json")),
        ("not json", J, 400, None, Some("invalid_json")),
        ("", J, 400, None, Some("invalid_json")),
        ("[1,2]", J, 400, None, Some("invalid_json")),
        (r#"{"input":3,"voice":"tiny_speaker"}"#, J, 400, Some("input"), Some("invalid_value")),
        (r#"{"input":"x","voice":7}"#, J, 400, Some("voice"), Some("invalid_value")),
        (
            r#"{"input":"x","voice":"tiny_speaker","speed":"fast"}"#,
            J,
            400,
            Some("speed"),
            Some("invalid_value"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","seed":-1}"#,
            J,
            400,
            Some("seed"),
            Some("invalid_value"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","stream":"yes"}"#,
            J,
            400,
            Some("stream"),
            Some("invalid_value"),
        ),
        (r#"{"voice":"tiny_speaker"}"#, J, 400, Some("input"), Some("invalid_value")),
        (r#"{"input":"x"}"#, J, 400, Some("voice"), Some("invalid_value")),
        (
            r#"{"input":"x","voice":"tiny_speaker","temprature":0.5}"#,
            J,
            400,
            Some("temprature"),
            Some("invalid_value"),
        ),
        (r#"{"input":"   ","voice":"tiny_speaker"}"#, J, 400, Some("input"), Some("empty_input")),
        (
            r#"{"input":"This sentence is far longer than forty characters.","voice":"tiny_speaker"}"#,
            J,
            400,
            Some("input"),
            Some("input_too_long"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","response_format":"mp3"}"#,
            J,
            400,
            Some("response_format"),
            Some("unsupported_response_format"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","response_format":"opus"}"#,
            J,
            400,
            Some("response_format"),
            Some("unsupported_response_format"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","response_format":"ogg"}"#,
            J,
            400,
            Some("response_format"),
            Some("invalid_value"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","response_format":"flac","stream":true}"#,
            J,
            400,
            Some("response_format"),
            Some("unsupported_response_format"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","stream_format":"sse"}"#,
            J,
            400,
            Some("stream_format"),
            Some("unsupported_stream_format"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","speed":9}"#,
            J,
            400,
            Some("speed"),
            Some("invalid_value"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","top_p":0}"#,
            J,
            400,
            Some("top_p"),
            Some("invalid_value"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","temperature":-1}"#,
            J,
            400,
            Some("temperature"),
            Some("invalid_value"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","language":"xx"}"#,
            J,
            400,
            Some("language"),
            Some("unsupported_language"),
        ),
        (
            r#"{"input":"x","voice":"tiny_speaker","language":"../en"}"#,
            J,
            400,
            Some("language"),
            Some("invalid_value"),
        ),
        (r#"{"input":"x","voice":"tiny_speakr"}"#, J, 400, Some("voice"), Some("voice_not_found")),
        (
            r#"{"input":"x","voice":"../../etc/passwd"}"#,
            J,
            400,
            Some("voice"),
            Some("voice_not_found"),
        ),
        (r#"{"input":"x","voice":{"name":"a"}}"#, J, 400, Some("voice"), Some("invalid_value")),
        (
            r#"{"input":"x","voice":"tiny_speaker"}"#,
            "text/plain",
            415,
            None,
            Some("unsupported_media_type"),
        ),
        (r#"{"input":"x","voice":"tiny_speaker"}"#, "", 415, None, Some("unsupported_media_type")),
    ];
    for (body, ct, status, param, code) in cases {
        let headers: Vec<(&str, &str)> =
            if ct.is_empty() { vec![] } else { vec![("Content-Type", ct)] };
        let r = request(srv.addr, "POST", "/v1/audio/speech", &headers, body.as_bytes()).await;
        assert_eq!(r.status, status, "{body}: {}", String::from_utf8_lossy(&r.body));
        let e = r.error();
        assert_eq!(e["param"].as_str(), param, "{body}: {e}");
        if let Some(c) = code {
            assert_eq!(e["code"].as_str(), Some(c), "{body}: {e}");
        }
    }
    // the close-name hint
    let r = srv.post_json("/v1/audio/speech", r#"{"input":"x","voice":"tiny_speakr"}"#).await;
    assert!(r.error()["message"].as_str().unwrap().contains("did you mean tiny_speaker"));
    // oversized body, declared and chunked
    let big = format!(r#"{{"input":"{}","voice":"tiny_speaker"}}"#, "a".repeat(4000));
    let r = srv.post_json("/v1/audio/speech", &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error()["code"], "request_too_large");
    let chunked = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let r = request(
        srv.addr,
        "POST",
        "/v1/audio/speech",
        &[("Content-Type", J), ("Transfer-Encoding", "chunked")],
        chunked.as_bytes(),
    )
    .await;
    assert!(r.status == 413 || r.status == 400, "{r:?}");
    r.error();
    // the server is still fine
    assert_eq!(srv.get("/health").await.status, 200);
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys() {
    let mut cfg = test_config();
    cfg.api_keys = vec!["key-one".into(), "key-two".into()];
    let srv = TestServer::start(cfg).await;
    assert_eq!(srv.get("/health").await.status, 200, "liveness needs no key");
    assert_eq!(srv.get("/openapi.json").await.status, 200, "the API document needs no key");
    let r = srv.get("/v1/voices").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(r.error()["code"], "missing_api_key");
    for bad in ["Bearer nope", "Bearer key-one2", "Basic a2V5LW9uZQ==", "key-one"] {
        let r = request(srv.addr, "GET", "/v1/voices", &[("Authorization", bad)], b"").await;
        assert_eq!(r.status, 401, "{bad}");
        r.error();
    }
    for good in ["Bearer key-one", "bearer key-two", "BEARER  key-one "] {
        let r = request(srv.addr, "GET", "/health/models", &[("Authorization", good)], b"").await;
        assert_eq!(r.status, 200, "{good}");
    }
    let r = request(
        srv.addr,
        "POST",
        "/v1/audio/speech",
        &[("Content-Type", "application/json")],
        br#"{"input":"Hi.","voice":"tiny_speaker"}"#,
    )
    .await;
    assert_eq!(r.status, 401);
    srv.shutdown().await.unwrap();
}

/// Random mutations of a valid request, sent to the real server: never a 5xx, always
/// OpenAI's error shape on failure, valid audio on success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_requests_never_fail_the_server() {
    let srv = TestServer::default().await;
    let valid = br#"{"model":"tts-1","input":"Hi.","voice":"tiny_speaker","response_format":"pcm","speed":1.0}"#;
    let strategy = proptest::collection::vec((0usize..valid.len(), any::<u8>(), 0u8..3), 1..4);
    let mut runner = TestRunner::deterministic();
    let mut bodies = Vec::new();
    for _ in 0..48 {
        let edits = strategy.new_tree(&mut runner).unwrap().current();
        let mut b = valid.to_vec();
        for (pos, byte, op) in edits {
            let pos = pos.min(b.len().saturating_sub(1));
            match op {
                0 => b[pos] = byte,
                1 => b.insert(pos, byte),
                _ => {
                    b.remove(pos);
                }
            }
        }
        bodies.push(b);
    }
    for b in bodies {
        let r = request(
            srv.addr,
            "POST",
            "/v1/audio/speech",
            &[("Content-Type", "application/json")],
            &b,
        )
        .await;
        assert!(
            r.status == 200 || (400..500).contains(&r.status),
            "{} for {:?}",
            r.status,
            String::from_utf8_lossy(&b)
        );
        if r.status == 200 {
            assert!(r.body.len() % 2 == 0 || r.header("content-type") != Some("audio/pcm"));
        } else {
            r.error();
        }
    }
    srv.shutdown().await.unwrap();
}
