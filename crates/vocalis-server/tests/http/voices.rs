//! `/v1/voices`: multipart uploads, listing, use in speech, deletion, and the upload limits.

use crate::common::*;

async fn upload(srv: &TestServer, parts: &[Part<'_>]) -> Resp {
    let (ct, body) = multipart(parts);
    request(srv.addr, "POST", "/v1/voices", &[("Content-Type", &ct)], &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_profiles_crud() {
    let srv = TestServer::default().await;
    let clip1 = tone_wav(2.0, 16000);
    let clip2 = tone_wav(1.5, 44100);
    let r = upload(
        &srv,
        &[
            ("name", None, b"alice"),
            ("language", None, b"en"),
            ("file", Some("a1.wav"), &clip1),
            ("file", Some("a2.wav"), &clip2),
        ],
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        (v["id"].as_str(), v["type"].as_str(), v["language"].as_str()),
        (Some("alice"), Some("profile"), Some("en"))
    );
    assert_eq!(v["sources"].as_array().unwrap().len(), 2);
    assert_eq!(v["sources"][0]["file"], "a1.wav");
    assert_eq!(v["usable"], true);

    let list = srv.get("/v1/voices").await.json();
    let ids: Vec<&str> =
        list["data"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["alice", SPEAKER]);
    assert_eq!(srv.get("/v1/voices/alice").await.json()["id"], "alice");
    assert_eq!(srv.get(&format!("/v1/voices/{SPEAKER}")).await.json()["type"], "builtin");

    let s = srv.post_json("/v1/audio/speech", r#"{"input":"Hello there.","voice":"alice"}"#).await;
    assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
    assert!(!wav_data(&s.body).is_empty());

    // exists → 409 unless overwrite
    let r = upload(&srv, &[("name", None, b"alice"), ("file", Some("a1.wav"), &clip1)]).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error()["code"], "voice_exists");
    let r = upload(
        &srv,
        &[("name", None, b"alice"), ("overwrite", None, b"true"), ("file", Some("a2.wav"), &clip2)],
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["sources"].as_array().unwrap().len(), 1);
    assert_eq!(r.json().get("language"), None, "the replacement has no language");
    let r =
        upload(&srv, &[("name", None, SPEAKER.as_bytes()), ("file", Some("a.wav"), &clip1)]).await;
    assert_eq!(r.status, 409, "a built-in name is taken");

    let d = request(srv.addr, "DELETE", "/v1/voices/alice", &[], b"").await;
    assert_eq!((d.status, d.json()["deleted"].as_bool()), (200, Some(true)));
    let d = request(srv.addr, "DELETE", "/v1/voices/alice", &[], b"").await;
    assert_eq!(d.status, 404);
    d.error();
    let d = request(srv.addr, "DELETE", &format!("/v1/voices/{SPEAKER}"), &[], b"").await;
    assert_eq!(d.status, 400);
    assert_eq!(d.error()["code"], "builtin_voice");
    let g = srv.get("/v1/voices/alcie").await;
    assert_eq!(g.status, 404);
    let s = srv.post_json("/v1/audio/speech", r#"{"input":"Hi.","voice":"alice"}"#).await;
    assert_eq!(s.status, 400, "a deleted voice is unknown");
    let files = listing(srv.profiles.path());
    assert!(files.iter().all(|f| !f.to_string_lossy().contains("alice")), "{files:?}");
    srv.shutdown().await.unwrap();
}

/// A profile's conditioning keys and values are computed in the GPT when it is created and, for
/// stored profiles, by the warm-up of a server starting on them. (The only test here that
/// drops the model's kept voices: the others do not look at them.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_and_stored_profiles_are_prepared() {
    let srv = TestServer::default().await;
    let r = upload(
        &srv,
        &[("name", None, b"prepared"), ("file", Some("p.wav"), &tone_wav(1.7, 22050))],
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let cond = srv.state.store.load("prepared").unwrap().conditioning.gpt_cond_latent;
    let model = &srv.state.model;
    assert!(model.gpt.has_voice(&cond).unwrap(), "a created profile is prepared");

    model.gpt.forget_voices();
    assert!(!model.gpt.has_voice(&cond).unwrap());
    let cfg = vocalis_server::ServerConfig { warmup: true, ..test_config() };
    let warm = TestServer::start_on_profiles_of(cfg, &srv).await;
    for _ in 0..2400 {
        if warm.get("/health/models").await.json()["warmup_done"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(warm.get("/health/models").await.json()["warmup_done"], true, "warm-up never ended");
    assert!(model.gpt.has_voice(&cond).unwrap(), "the warm-up prepares stored profiles");
    warm.shutdown().await.unwrap();
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused() {
    let mut cfg = test_config();
    cfg.limits.max_clips = 2;
    cfg.limits.max_clip_secs = 3.0;
    cfg.limits.max_upload_bytes = 400_000;
    let srv = TestServer::start(cfg).await;
    let good = tone_wav(1.0, 16000);
    let silent = vocalis_core::audio::encode::encode(
        &[0.0; 16000],
        16000,
        vocalis_core::audio::encode::OutputFormat::Wav,
    )
    .unwrap();
    let mut truncated = good.clone();
    truncated.truncate(30);
    let junk: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let long = tone_wav(4.0, 16000);
    let short = tone_wav(0.2, 16000);
    let cases: Vec<(Vec<Part<'_>>, u16, &str, Option<&str>)> = vec![
        (
            vec![("name", None, b"bob"), ("file", Some("junk.wav"), &junk)],
            400,
            "invalid_audio",
            Some("file"),
        ),
        (
            vec![("name", None, b"bob"), ("file", Some("cut.wav"), &truncated)],
            400,
            "invalid_audio",
            Some("file"),
        ),
        (
            vec![("name", None, b"bob"), ("file", Some("silent.wav"), &silent)],
            400,
            "invalid_audio",
            Some("file"),
        ),
        (
            vec![("name", None, b"bob"), ("file", Some("short.wav"), &short)],
            400,
            "invalid_audio",
            Some("file"),
        ),
        (
            vec![("name", None, b"bob"), ("file", Some("empty.wav"), b"")],
            400,
            "invalid_audio",
            Some("file"),
        ),
        (
            vec![("name", None, b"bob"), ("file", Some("long.wav"), &long)],
            400,
            "clip_too_long",
            Some("file"),
        ),
        (
            vec![("name", None, b"../evil"), ("file", Some("a.wav"), &good)],
            400,
            "invalid_voice_name",
            Some("name"),
        ),
        (
            vec![("name", None, b"..%2Fevil"), ("file", Some("a.wav"), &good)],
            400,
            "invalid_voice_name",
            Some("name"),
        ),
        (
            vec![("name", None, b".hidden"), ("file", Some("a.wav"), &good)],
            400,
            "invalid_voice_name",
            Some("name"),
        ),
        (
            vec![("name", None, b"a/b"), ("file", Some("a.wav"), &good)],
            400,
            "invalid_voice_name",
            Some("name"),
        ),
        (
            vec![("name", None, b""), ("file", Some("a.wav"), &good)],
            400,
            "invalid_voice_name",
            Some("name"),
        ),
        (vec![("file", Some("a.wav"), &good)], 400, "missing_field", Some("name")),
        (vec![("name", None, b"bob")], 400, "missing_field", Some("file")),
        (
            vec![
                ("name", None, b"bob"),
                ("file", Some("1.wav"), &good),
                ("file", Some("2.wav"), &good),
                ("file", Some("3.wav"), &good),
            ],
            400,
            "too_many_clips",
            Some("file"),
        ),
        (
            vec![("name", None, b"bob"), ("colour", None, b"red")],
            400,
            "invalid_value",
            Some("colour"),
        ),
        (
            vec![("name", None, b"bob"), ("language", None, b"xx"), ("file", Some("a.wav"), &good)],
            400,
            "unsupported_language",
            Some("language"),
        ),
        (
            vec![
                ("name", None, b"bob"),
                ("overwrite", None, b"maybe"),
                ("file", Some("a.wav"), &good),
            ],
            400,
            "",
            Some("overwrite"),
        ),
    ];
    for (parts, status, code, param) in &cases {
        let r = upload(&srv, parts).await;
        let what: Vec<&str> = parts.iter().map(|(f, n, _)| n.unwrap_or(f)).collect();
        assert_eq!(r.status, *status, "{what:?}: {}", String::from_utf8_lossy(&r.body));
        let e = r.error();
        if !code.is_empty() {
            assert_eq!(e["code"].as_str(), Some(*code), "{what:?}: {e}");
        }
        assert_eq!(e["param"].as_str(), *param, "{what:?}: {e}");
    }
    // wrong content type, malformed multipart, oversized upload
    let r = request(srv.addr, "POST", "/v1/voices", &[("Content-Type", "application/json")], b"{}")
        .await;
    assert_eq!(r.status, 415);
    r.error();
    let r = request(
        srv.addr,
        "POST",
        "/v1/voices",
        &[("Content-Type", "multipart/form-data")],
        b"--x\r\n",
    )
    .await;
    assert_eq!(r.status, 400);
    r.error();
    let r = request(
        srv.addr,
        "POST",
        "/v1/voices",
        &[("Content-Type", "multipart/form-data; boundary=zz")],
        b"--zz\r\nbroken",
    )
    .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    r.error();
    let huge = vec![0u8; 500_000];
    let r = upload(&srv, &[("name", None, b"bob"), ("file", Some("big.wav"), &huge)]).await;
    assert_eq!(r.status, 413);
    r.error();
    // the path-traversal forms of the other routes
    for path in ["/v1/voices/..%2F..%2Fetc", "/v1/voices/%2e%2e", "/v1/voices/a%00b"] {
        let r = srv.get(path).await;
        assert_eq!(r.status, 400, "{path}");
        r.error();
        let r = request(srv.addr, "DELETE", path, &[], b"").await;
        assert_eq!(r.status, 400, "{path}");
    }
    // nothing was written
    assert_eq!(srv.get("/v1/voices").await.json()["data"].as_array().unwrap().len(), 1);
    let stray = listing(srv.profiles.path());
    assert!(stray.iter().all(|p| !p.to_string_lossy().contains("evil")), "{stray:?}");
    srv.shutdown().await.unwrap();
}
