//! The queue under load: 503 with `Retry-After` when full, disconnects cancel generation,
//! timeouts, graceful shutdown. Worker slots are held deterministically by jobs the test
//! submits to the server's own scheduler, never by timing.

use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::common::*;

const HI: &str = r#"{"input":"Hello there.","voice":"tiny_speaker","response_format":"pcm"}"#;

/// A request long enough (30 sentences, one chunk each) that it is still generating when the
/// client leaves. The padding makes each sentence longer than half the split limit (so no two
/// are merged into one chunk) while it tokenizes to few tokens (whitespace is collapsed), under
/// the tiny model's 64-token text limit.
fn long_request(stream: bool) -> String {
    let text = format!("Hello there{}. ", " ".repeat(120)).repeat(30);
    format!(
        r#"{{"input":"{text}","voice":"tiny_speaker","response_format":"pcm","stream":{stream}}}"#
    )
}

/// Holds a worker slot until the returned sender is dropped or sent to.
async fn hold_worker(srv: &TestServer) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let ticket = srv.state.sched.try_admit(Duration::from_secs(600)).unwrap();
    let running = ticket.run(move |_| {
        let _ = rx.recv();
    });
    tokio::spawn(async move {
        let _ = running.await.unwrap().await;
    });
    srv.wait_queue(|q| q["running"] == 1).await;
    tx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_gets_503_with_retry_after_and_recovers() {
    let mut cfg = test_config();
    cfg.workers = 1;
    cfg.queue_size = 1;
    let srv = TestServer::start(cfg).await;
    let release = hold_worker(&srv).await;
    // one request waits in the queue...
    let addr = srv.addr;
    let queued = tokio::spawn(async move {
        request(
            addr,
            "POST",
            "/v1/audio/speech",
            &[("Content-Type", "application/json")],
            HI.as_bytes(),
        )
        .await
    });
    srv.wait_queue(|q| q["waiting"] == 1).await;
    // ...the next ones are refused, speech and voice uploads alike
    for _ in 0..3 {
        let r = srv.post_json("/v1/audio/speech", HI).await;
        assert_eq!(r.status, 503);
        let secs: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!(secs >= 1);
        assert_eq!(r.error()["code"], "server_overloaded");
    }
    let (ct, body) =
        multipart(&[("name", None, b"carol"), ("file", Some("c.wav"), &tone_wav(1.0, 16000))]);
    let r = request(srv.addr, "POST", "/v1/voices", &[("Content-Type", &ct)], &body).await;
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    let q = srv.get("/health/models").await.json()["queue"].clone();
    assert_eq!(
        (q["running"].as_u64(), q["waiting"].as_u64(), q["rejected"].as_u64()),
        (Some(1), Some(1), Some(4))
    );
    // health stays responsive while the workers are busy
    assert_eq!(srv.get("/health").await.status, 200);
    drop(release);
    let r = queued.await.unwrap();
    assert_eq!(r.status, 200, "the queued request is served once a worker is free");
    assert!(!r.body.is_empty());
    assert_eq!(srv.post_json("/v1/audio/speech", HI).await.status, 200);
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_cancels_generation() {
    let srv = TestServer::default().await;
    // streamed: read the headers and some audio, then hang up
    let mut s = send(
        srv.addr,
        "POST",
        "/v1/audio/speech",
        &[("Content-Type", "application/json")],
        long_request(true).as_bytes(),
    )
    .await;
    let (head, _) = read_head(&mut s).await;
    assert_eq!(head.status, 200);
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(n > 0, "audio arrives before the end of the generation");
    drop(s);
    let q = srv.wait_queue(|q| q["running"] == 0 && q["finished"] == 1).await;
    assert_eq!(q["cancelled"], 1, "the streamed generation was cancelled: {q}");

    // whole response: hang up while it is being generated
    let s = send(
        srv.addr,
        "POST",
        "/v1/audio/speech",
        &[("Content-Type", "application/json")],
        long_request(false).as_bytes(),
    )
    .await;
    srv.wait_queue(|q| q["running"] == 1).await;
    drop(s);
    let q = srv.wait_queue(|q| q["running"] == 0 && q["finished"] == 2).await;
    assert_eq!(q["cancelled"], 2, "the whole-response generation was cancelled: {q}");
    // a request waiting in the queue whose client leaves frees its place
    let release = hold_worker(&srv).await;
    let s = send(
        srv.addr,
        "POST",
        "/v1/audio/speech",
        &[("Content-Type", "application/json")],
        HI.as_bytes(),
    )
    .await;
    srv.wait_queue(|q| q["waiting"] == 1).await;
    drop(s);
    srv.wait_queue(|q| q["waiting"] == 0).await;
    drop(release);
    assert_eq!(srv.post_json("/v1/audio/speech", HI).await.status, 200);
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_cancels() {
    let mut cfg = test_config();
    cfg.request_timeout_secs = 0.001;
    let srv = TestServer::start(cfg).await;
    let r = srv.post_json("/v1/audio/speech", &long_request(false)).await;
    assert!(r.status == 504 || r.status == 503, "{r:?}");
    let e = r.error();
    assert!(["timeout", "queue_timeout"].contains(&e["code"].as_str().unwrap()), "{e}");
    let r = srv.post_json("/v1/audio/speech", &long_request(true)).await;
    // an error status before the first audio, or a stream cut short after it
    assert!(r.status == 503 || r.status == 504 || (r.status == 200 && !r.complete), "{r:?}");
    if r.status != 200 {
        r.error();
    }
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let srv = TestServer::default().await;
    let addr = srv.addr;
    // one job running, one request waiting behind it when the shutdown starts
    let release = hold_worker(&srv).await;
    let in_flight = tokio::spawn(async move {
        request(
            addr,
            "POST",
            "/v1/audio/speech",
            &[("Content-Type", "application/json")],
            HI.as_bytes(),
        )
        .await
    });
    srv.wait_queue(|q| q["waiting"] == 1).await;
    let state = srv.state.clone();
    let shutdown = tokio::spawn(srv.shutdown());
    while !state.sched.is_draining() {
        tokio::task::yield_now().await;
    }
    let refused = state.sched.try_admit(Duration::from_secs(1)).unwrap_err();
    assert_eq!(refused.status.as_u16(), 503, "no new work once draining");
    assert!(refused.retry_after.is_some());
    drop(release);
    let r = in_flight.await.unwrap();
    assert_eq!(
        r.status,
        200,
        "the in-flight request finished: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(!r.body.is_empty());
    shutdown.await.unwrap().expect("run returns Ok after a graceful shutdown");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_grace_period_cancels_what_is_left() {
    let mut cfg = test_config();
    cfg.shutdown_grace_secs = 0.001;
    let mut srv = TestServer::start(cfg).await;
    let mut s = send(
        srv.addr,
        "POST",
        "/v1/audio/speech",
        &[("Content-Type", "application/json")],
        long_request(true).as_bytes(),
    )
    .await;
    let (head, mut rest) = read_head(&mut s).await;
    assert_eq!(head.status, 200);
    srv.trigger_shutdown();
    let _ = s.read_to_end(&mut rest).await;
    let (_, complete) = dechunk(&rest);
    assert!(!complete, "the stream was cut, not ended as if complete");
    srv.shutdown().await.unwrap();
}
