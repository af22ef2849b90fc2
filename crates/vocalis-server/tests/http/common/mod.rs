//! Test support: the tiny model (written and loaded once per test binary), a server on an
//! ephemeral loopback port, and a small HTTP/1.1 client over a raw socket (so that tests can
//! send malformed requests and drop connections at will).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use vocalis_core::candle::Device;
use vocalis_core::models::Xtts;
use vocalis_server::{AppState, Server, ServerConfig};

/// The built-in speaker of the tiny model.
pub const SPEAKER: &str = "tiny_speaker";

/// The shared tiny model.
pub fn model() -> Arc<Xtts> {
    static M: OnceLock<Arc<Xtts>> = OnceLock::new();
    let m = M.get_or_init(|| {
        let dir = vocalis_core::testing::shared_tiny_model_dir("legacy");
        Arc::new(Xtts::load(&dir, &Device::Cpu).expect("tiny model loads"))
    });
    Arc::clone(m)
}

/// A running server; dropping it without [`TestServer::shutdown`] leaves the task to the runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub profiles: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A configuration for tests: loopback, any port, no warm-up, small queue.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        host: Some("127.0.0.1".into()),
        port: 0,
        warmup: false,
        workers: 1,
        queue_size: 4,
        ..ServerConfig::default()
    }
}

impl TestServer {
    pub async fn start(mut config: ServerConfig) -> TestServer {
        let profiles = tempfile::tempdir().expect("tempdir");
        config.profiles_dir = profiles.path().join("voice_profiles");
        Self::launch(config, profiles).await
    }

    /// A server on another's profiles (`config.profiles_dir` as given).
    pub async fn start_on_profiles_of(mut config: ServerConfig, other: &TestServer) -> TestServer {
        config.profiles_dir = other.state.config.profiles_dir.clone();
        Self::launch(config, tempfile::tempdir().expect("tempdir")).await
    }

    async fn launch(config: ServerConfig, profiles: tempfile::TempDir) -> TestServer {
        let server = Server::bind(config, model()).await.expect("server binds");
        let addr = server.local_addr();
        let state = server.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        TestServer { addr, state, profiles, stop: Some(tx), task: Some(task) }
    }

    pub async fn default() -> TestServer {
        Self::start(test_config()).await
    }

    /// Triggers the graceful shutdown (as SIGTERM does) without waiting.
    pub fn trigger_shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Triggers the shutdown and waits for `run` to return.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.trigger_shutdown();
        match self.task.take() {
            Some(t) => t.await.expect("server task"),
            None => Ok(()),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        request(self.addr, "GET", path, &[], b"").await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Resp {
        request(self.addr, "POST", path, &[("Content-Type", "application/json")], body.as_bytes())
            .await
    }

    /// Polls `/health/models` until `done` holds for its `queue` object (at most ~2 minutes,
    /// then panics: a hang, not a timing assertion).
    pub async fn wait_queue(&self, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        for _ in 0..2400 {
            let q = self.get("/health/models").await.json()["queue"].clone();
            if done(&q) {
                return q;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the queue never reached the expected state");
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// False when a chunked body ended without its final chunk (an aborted stream).
    pub complete: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Checks OpenAI's error shape and returns `error`.
    pub fn error(&self) -> serde_json::Value {
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
        let v = self.json();
        let e = v["error"].clone();
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {v}");
        let kind = e["type"].as_str().expect("type");
        assert_eq!(kind, if self.status >= 500 { "server_error" } else { "invalid_request_error" });
        let obj = e.as_object().expect("error object");
        assert!(obj.contains_key("param") && obj.contains_key("code"), "{v}");
        e
    }
}

/// Sends one request (`Connection: close`) and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = send(addr, method, path, headers, body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    parse_response(&raw)
}

/// Sends a request and returns the socket, response unread.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    }) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    // the server may answer and close early (413): later writes may fail, the answer is read
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body).await;
    s
}

/// Reads from `s` until the end of the response headers; returns them and the bytes after.
pub async fn read_head(s: &mut TcpStream) -> (Resp, Vec<u8>) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            let rest = buf[i + 4..].to_vec();
            let mut r = parse_response(&buf[..i + 4]);
            r.body.clear();
            return (r, rest);
        }
        let n = s.read(&mut tmp).await.expect("read");
        assert!(n > 0, "connection closed before the response headers");
        buf.extend_from_slice(&tmp[..n]);
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Parses a raw HTTP/1.1 response, decoding a chunked body.
pub fn parse_response(raw: &[u8]) -> Resp {
    let end = find(raw, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let body = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let (body, complete) = if chunked { dechunk(body) } else { (body.to_vec(), true) };
    Resp { status, headers, body, complete }
}

/// Decodes a chunked body; `complete` is false without the final zero-length chunk.
pub fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(i) = find(b, b"\r\n") else { return (out, false) };
        let size_text = String::from_utf8_lossy(&b[..i]).to_string();
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return (out, false);
        };
        if size == 0 {
            return (out, true);
        }
        let data = &b[i + 2..];
        if data.len() < size + 2 {
            out.extend_from_slice(&data[..data.len().min(size)]);
            return (out, false);
        }
        out.extend_from_slice(&data[..size]);
        b = &data[size + 2..];
    }
}

/// A 16-bit mono WAV of a modulated tone.
pub fn tone_wav(secs: f64, rate: u32) -> Vec<u8> {
    let n = (secs * rate as f64) as usize;
    let samples: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() * (1.0 + 0.5 * (7.0 * t).sin())
        })
        .collect();
    vocalis_core::audio::encode::encode(
        &samples,
        rate,
        vocalis_core::audio::encode::OutputFormat::Wav,
    )
    .expect("wav")
}

/// A multipart/form-data part: field, file name, bytes.
pub type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A multipart/form-data body.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "vocalis-test-boundary-7d3f";
    let mut b = Vec::new();
    for (field, file, data) in parts {
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{field}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => b.extend_from_slice(format!("Content-Disposition: form-data; name=\"{field}\"\r\n\r\n").as_bytes()),
        }
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

/// The data chunk of a canonical 44-byte-header WAV, after checking the header.
pub fn wav_data(bytes: &[u8]) -> &[u8] {
    assert!(bytes.len() >= 44, "short WAV");
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(u16::from_le_bytes([bytes[22], bytes[23]]), 1, "mono");
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 24000, "24 kHz");
    assert_eq!(u16::from_le_bytes([bytes[34], bytes[35]]), 16, "16-bit");
    assert_eq!(&bytes[36..40], b"data");
    &bytes[44..]
}

/// Where a test may look for stray files.
pub fn listing(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p.clone());
                }
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
