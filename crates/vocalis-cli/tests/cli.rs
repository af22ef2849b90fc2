//! The `vocalis` command as a user runs it, on the tiny model (seeded weights, released
//! layout): synthesis to files and pipes, streaming, voice profiles, conversion, model download
//! from a local Hub-like server (with an interrupted transfer resumed), verification, and the
//! documented exit codes on bad input.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vocalis")
}

/// One tiny model directory for all tests (written once).
fn tiny() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| vocalis_core::testing::shared_tiny_model_dir("legacy"))
}

fn vocalis(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .args(args)
        .env("VOCALIS_MODEL", tiny())
        .env_remove("VOCALIS_VOICE_DIR")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_wav(p: &Path) -> vocalis_core::audio::AudioData {
    vocalis_core::audio::read_audio(p, None).unwrap()
}

fn golden_wav() -> Vec<f32> {
    let g = vocalis_core::testing::golden();
    vocalis_core::testing::vec_f32(&g["wav"])
}

const TEXT: &str = "Hello world, this is a tiny test.";

#[test]
fn synth_with_a_builtin_speaker_matches_the_reference() {
    let d = tempfile::tempdir().unwrap();
    let o = vocalis(
        d.path(),
        &[
            "synth",
            "--speaker",
            "tiny_speaker",
            "--text",
            TEXT,
            "--greedy",
            "--out",
            "a.wav",
            "--format",
            "wav-f32",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read_wav(&d.path().join("a.wav"));
    assert_eq!(a.sample_rate_hz, 24000);
    let want = golden_wav();
    assert_eq!(a.samples.len(), want.len() + 10_000, "audio then the 10000-sample pause");
    let diff = a.samples.iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(diff < 1e-3, "max diff {diff}");
}

#[test]
fn streamed_file_and_pipe_equal_the_one_shot_output() {
    let d = tempfile::tempdir().unwrap();
    let args =
        ["synth", "--speaker", "tiny_speaker", "--text", TEXT, "--greedy", "--pause-ms", "0"];
    let o = vocalis(d.path(), &[&args[..], &["--out", "batch.wav"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vocalis(d.path(), &[&args[..], &["--out", "stream.wav", "--stream"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    // float rounding in the windowed decoder can move a 16-bit sample by one step
    let (b, s) = (
        read_wav(&d.path().join("batch.wav")).samples,
        read_wav(&d.path().join("stream.wav")).samples,
    );
    assert_eq!(b.len(), s.len());
    let diff = b.iter().zip(&s).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(diff <= 1.0 / 32768.0, "streamed file differs from the one-shot file by {diff}");
    let o = vocalis(
        d.path(),
        &[&args[..], &["--out", "-", "--format", "pcm", "--stream", "-q"]].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let streamed = std::fs::read(d.path().join("stream.wav")).unwrap();
    assert_eq!(o.stdout, streamed[44..], "raw PCM on stdout = the streamed WAV's data");
}

#[test]
fn text_from_stdin_and_file_and_flac_output() {
    let d = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .current_dir(d.path())
        .args(["synth", "--speaker", "tiny_speaker", "--greedy", "--out", "x.flac", "-q"])
        .env("VOCALIS_MODEL", tiny())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(TEXT.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let flac = read_wav(&d.path().join("x.flac"));
    std::fs::write(d.path().join("t.txt"), TEXT).unwrap();
    let o = vocalis(
        d.path(),
        &[
            "synth",
            "--speaker",
            "tiny_speaker",
            "--greedy",
            "--text-file",
            "t.txt",
            "--out",
            "y.wav",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let wav = read_wav(&d.path().join("y.wav"));
    assert_eq!(flac.samples, wav.samples, "FLAC is lossless 16-bit");
}

#[test]
fn voice_profiles_lifecycle() {
    let d = tempfile::tempdir().unwrap();
    let refwav = vocalis_core::testing::tiny().join("ref.wav");
    let r = refwav.to_str().unwrap();
    let o = vocalis(d.path(), &["voice", "add", "alice", r, "--language", "en"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.path().join("voice_profiles/alice/profile.safetensors").is_file());
    let o = vocalis(d.path(), &["voice", "add", "alice", r]);
    assert_eq!(o.status.code(), Some(3), "existing name without --force: {}", stderr(&o));
    let o = vocalis(d.path(), &["voice", "list"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("alice"));
    let o = vocalis(d.path(), &["voice", "show", "alice"]);
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(meta["sources"][0]["file"], "ref.wav");
    assert_eq!(meta["sources"][0]["sha256"].as_str().unwrap().len(), 64);
    // synthesize with the profile: equals cloning from the clip directly
    let o = vocalis(
        d.path(),
        &["synth", "--voice", "alice", "--text", TEXT, "--greedy", "--out", "p.wav"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vocalis(
        d.path(),
        &["synth", "--speaker-wav", r, "--text", TEXT, "--greedy", "--out", "c.wav"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_wav(&d.path().join("p.wav")).samples,
        read_wav(&d.path().join("c.wav")).samples
    );
    // export / import / rm, with a custom directory
    let o = vocalis(d.path(), &["voice", "export", "alice", "alice.vocalis-voice"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vocalis(
        d.path(),
        &["voice", "--profiles-dir", "other", "import", "alice.vocalis-voice", "--name", "bob"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.path().join("other/bob/profile.json").is_file());
    // unknown voice: close names suggested
    let o = vocalis(d.path(), &["synth", "--voice", "alcie", "--text", TEXT, "--out", "z.wav"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("did you mean alice"), "{}", stderr(&o));
    // a profile made with another model is refused
    let pj = d.path().join("voice_profiles/alice/profile.json");
    let text = std::fs::read_to_string(&pj).unwrap();
    let fp = meta["model"]["fingerprint"].as_str().unwrap();
    std::fs::write(&pj, text.replace(fp, "0000000000000000")).unwrap();
    let o = vocalis(d.path(), &["synth", "--voice", "alice", "--text", TEXT, "--out", "z.wav"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("another model"), "{}", stderr(&o));
    // a corrupted profile is named
    std::fs::write(d.path().join("voice_profiles/alice/profile.safetensors"), b"junk").unwrap();
    std::fs::write(&pj, text).unwrap();
    let o = vocalis(d.path(), &["synth", "--voice", "alice", "--text", TEXT, "--out", "z.wav"]);
    assert!(stderr(&o).contains("corrupted"), "{}", stderr(&o));
    let o = vocalis(d.path(), &["voice", "rm", "alice"]);
    assert!(o.status.success());
    let o = vocalis(d.path(), &["voice", "add", "../evil", r]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn convert_then_synthesize_from_the_converted_directory() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("conv");
    let o = vocalis(d.path(), &["convert", tiny().to_str().unwrap(), out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vocalis(
        d.path(),
        &[
            "synth",
            "--model",
            out.to_str().unwrap(),
            "--speaker",
            "tiny_speaker",
            "--text",
            TEXT,
            "--greedy",
            "--out",
            "a.wav",
            "--pause-ms",
            "0",
            "--format",
            "wav-f32",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read_wav(&d.path().join("a.wav")).samples;
    let want = golden_wav();
    let diff = a.iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(a.len() == want.len() && diff < 1e-3);
    let o = vocalis(
        d.path(),
        &["convert", tiny().to_str().unwrap(), out.to_str().unwrap(), "--quantize", "q3"],
    );
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn bench_reports_its_figures_and_a_quantized_model_caches_in_f16() {
    let d = tempfile::tempdir().unwrap();
    let q8 = d.path().join("q8");
    let o = vocalis(
        d.path(),
        &["convert", tiny().to_str().unwrap(), q8.to_str().unwrap(), "--quantize", "q8_0"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (model, kv) in [(tiny(), "f32"), (q8.as_path(), "f16")] {
        let o = vocalis(
            d.path(),
            &["--threads", "2", "bench", "--model", model.to_str().unwrap(), "--json"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["kv_cache_dtype"], kv, "{r}");
        assert_eq!(r["threads"], 2);
        assert!(r["codes"].as_u64().unwrap() > 1, "{r}");
        for k in ["gpt_ms_per_token", "decoder_rtf", "end_to_end_rtf", "read_bandwidth_gbs"] {
            let v = r[k].as_f64().unwrap_or(f64::NAN);
            assert!(v.is_finite() && v > 0.0, "{k}: {r}");
        }
    }
}

#[test]
fn bad_inputs_give_one_line_errors_and_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["synth", "--model", "nope", "--speaker", "x", "--text", "hi"],
            4,
            "model directory not found",
        ),
        (&["synth", "--speaker", "tiny_speaker", "--text", "   "], 3, "empty"),
        (
            &["synth", "--speaker", "tiny_speaker", "--text", "hi", "--language", "xx"],
            3,
            "unsupported language",
        ),
        (
            &[
                "synth",
                "--speaker",
                "tiny_speaker",
                "--text",
                "hi",
                "--out",
                "/nonexistent/dir/x.wav",
            ],
            5,
            "does not exist",
        ),
        (
            &["synth", "--speaker", "tiny_speaker", "--text", "hi", "--format", "mp3"],
            3,
            "unknown --format",
        ),
        (
            &["synth", "--speaker", "tiny_speaker", "--text", "hi", "--stream", "--out", "a.flac"],
            3,
            "FLAC cannot be streamed",
        ),
        (
            &["synth", "--speaker", "tiny_speaker", "--text", "hi", "--temperature", "0"],
            3,
            "temperature",
        ),
        (&["synth", "--text", "hi"], 3, "no voice given"),
        (&["synth", "--speaker-wav", "missing.wav", "--text", "hi"], 3, "missing.wav"),
    ];
    for (args, code, needle) in cases {
        let o = vocalis(d.path(), args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {e}");
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
        // each cause once (`{:#}` repeated an I/O error's cause: "x.wav: No such file or
        // directory (os error 2): No such file or directory (os error 2)")
        let line = e.lines().find(|l| l.starts_with("error: ")).expect("an error line");
        let last = line.rsplit(": ").next().unwrap_or(line);
        assert_eq!(line.matches(last).count(), 1, "{args:?}: {line}");
    }
    // empty stdin
    let o = Command::new(bin())
        .current_dir(d.path())
        .args(["synth", "--speaker", "tiny_speaker"])
        .env("VOCALIS_MODEL", tiny())
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // corrupt model.pth
    let bad = d.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for f in ["config.json", "vocab.json"] {
        std::fs::copy(tiny().join(f), bad.join(f)).unwrap();
    }
    let pth = std::fs::read(tiny().join("model.pth")).unwrap();
    std::fs::write(bad.join("model.pth"), &pth[..pth.len() / 2]).unwrap();
    let o = vocalis(
        d.path(),
        &["synth", "--model", bad.to_str().unwrap(), "--speaker", "x", "--text", "hi"],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("model.pth"), "{}", stderr(&o));
}

#[test]
fn closed_output_pipe_is_quiet() {
    let mut child = Command::new(bin())
        .args([
            "synth",
            "--speaker",
            "tiny_speaker",
            "--text",
            TEXT,
            "--greedy",
            "--out",
            "-",
            "--format",
            "pcm",
            "-q",
            "--stream",
        ])
        .env("VOCALIS_MODEL", tiny())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---- model download from a local Hub-like server -------------------------------------------

struct Hub {
    port: u16,
    range_starts: Arc<Mutex<Vec<(String, u64)>>>,
}

/// Serves `files` the way the Hub does for hf-hub 0.4: the repo info API and `resolve` URLs
/// with range requests, `etag` = SHA-256 (as for LFS files) and `x-repo-commit`. The first
/// `truncate_first` full-body requests for `model.pth` are cut in the middle.
fn hub(files: Vec<(String, Vec<u8>)>, truncate_first: usize) -> Hub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let range_starts = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&range_starts);
    let cuts = Arc::new(AtomicUsize::new(truncate_first));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let files = files.clone();
            let log = Arc::clone(&log);
            let cuts = Arc::clone(&cuts);
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (mut range, mut range_end): (Option<u64>, Option<u64>) = (None, None);
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        let mut it = v.trim().split('-');
                        range = it.next().and_then(|x| x.parse().ok());
                        range_end = it.next().and_then(|x| x.parse().ok());
                    }
                }
                if path.starts_with("/api/models/") {
                    let siblings: Vec<_> =
                        files.iter().map(|(n, _)| serde_json::json!({"rfilename": n})).collect();
                    let body = serde_json::json!({"sha": "0123456789abcdef0123456789abcdef01234567", "siblings": siblings}).to_string();
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    return;
                }
                let name = path.rsplit('/').next().unwrap_or("");
                let Some((_, data)) = files.iter().find(|(n, _)| n == name) else {
                    let _ = write!(
                        s,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    return;
                };
                let sha = vocalis_core::util::hex(&<sha2::Sha256 as sha2::Digest>::digest(data));
                let start = range.unwrap_or(0).min(data.len() as u64) as usize;
                // hf-hub probes the metadata with `bytes=0-0`, then downloads with `bytes=N-`
                let is_probe = range == Some(0) && range_end == Some(0);
                let (lo, hi) = if is_probe { (0, 1.min(data.len())) } else { (start, data.len()) };
                if !is_probe {
                    log.lock().unwrap().push((name.to_string(), start as u64));
                }
                let mut body = &data[lo..hi];
                let cut = !is_probe
                    && name == "model.pth"
                    && cuts
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                        .is_ok();
                let header = format!(
                    "HTTP/1.1 206 Partial Content\r\netag: \"{sha}\"\r\nx-repo-commit: 0123456789abcdef0123456789abcdef01234567\r\nContent-Range: bytes {lo}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    hi.saturating_sub(1),
                    data.len(),
                    body.len()
                );
                let _ = s.write_all(header.as_bytes());
                if cut {
                    body = &body[..body.len() / 2];
                }
                let _ = s.write_all(body);
            });
        }
    });
    Hub { port, range_starts }
}

fn model_files() -> Vec<(String, Vec<u8>)> {
    ["config.json", "model.pth", "vocab.json", "speakers_xtts.pth", "mel_stats.pth"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(tiny().join(f)).unwrap()))
        .collect()
}

fn download(dir: &Path, port: u16) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .args(["model", "download", "--repo", "test/tiny-xtts", "--dir", "m", "--endpoint"])
        .arg(format!("http://127.0.0.1:{port}"))
        .env_remove("HF_TOKEN")
        .output()
        .unwrap()
}

#[test]
fn model_download_resumes_and_verify_catches_corruption() {
    let d = tempfile::tempdir().unwrap();
    // no Hub at the endpoint: one line naming it, and no empty model directory left behind
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let o = download(d.path(), port);
    let e = stderr(&o);
    assert!(!o.status.success() && e.contains(&format!("cannot reach http://127.0.0.1:{port}")));
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        !d.path().join("m").exists(),
        "a failed download left {}",
        d.path().join("m").display()
    );
    // every attempt at model.pth is cut in half until the retries run out: the first run fails
    let h = hub(model_files(), 4);
    let o = download(d.path(), h.port);
    assert!(!o.status.success(), "the cut transfer must fail the first run");
    // the second run resumes from the partial file
    let o = download(d.path(), h.port);
    assert!(o.status.success(), "{}", stderr(&o));
    let starts = h.range_starts.lock().unwrap().clone();
    assert!(
        starts.iter().any(|(n, s)| n == "model.pth" && *s > 0),
        "no resumed range request: {starts:?}"
    );
    let m = d.path().join("m");
    assert_eq!(
        std::fs::read(m.join("model.pth")).unwrap(),
        std::fs::read(tiny().join("model.pth")).unwrap()
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"]["model.pth"]["sha256"].as_str().unwrap().len(), 64);
    let o = vocalis(d.path(), &["model", "verify", "m"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // truncate a file: verify names it
    let p = m.join("speakers_xtts.pth");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::remove_file(&p).unwrap(); // it is a hard link to the cache blob
    std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
    let o = vocalis(d.path(), &["model", "verify", "m"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("speakers_xtts.pth"), "{}", stderr(&o));
}

#[test]
fn doctor_reports() {
    let d = tempfile::tempdir().unwrap();
    let o = vocalis(d.path(), &["doctor", "--device", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("vocalis ") && out.contains("loads in"), "{out}");
    let _ = PathBuf::new();
}

#[test]
fn interrupted_stream_leaves_a_valid_wav() {
    let d = tempfile::tempdir().unwrap();
    // a small model with the released text/audio limits (the tiny one reads only 64 tokens)
    let model =
        vocalis_core::testing::shared_synthetic_model_dir(vocalis_core::testing::SyntheticSpec {
            layers: 2,
            dim: 64,
            heads: 4,
            max_audio_tokens: 605,
            max_text_tokens: 402,
            seed: 0,
        });
    let refwav = vocalis_core::testing::tiny().join("ref.wav");
    let text = "This is one sentence of a long text that keeps going for a while. ".repeat(40);
    let mut child = Command::new(bin())
        .current_dir(d.path())
        .args(["synth", "--stream", "--out", "long.wav", "-q", "--text", &text, "--speaker-wav"])
        .arg(&refwav)
        .env("VOCALIS_MODEL", &model)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait until audio is being written to the temporary output, then Ctrl-C
    let t0 = std::time::Instant::now();
    loop {
        let writing = std::fs::read_dir(d.path()).unwrap().filter_map(|e| e.ok()).any(|e| {
            e.file_name().to_string_lossy().contains("long.wav.tmp")
                && e.metadata().map(|m| m.len() > 10_000).unwrap_or(false)
        });
        if writing {
            break;
        }
        assert!(t0.elapsed().as_secs() < 300, "no audio written");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    let a = read_wav(&d.path().join("long.wav"));
    assert!(a.frames() > 4000, "{} frames kept", a.frames());
}
