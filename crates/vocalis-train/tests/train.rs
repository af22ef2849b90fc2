//! The trainer end to end on a small synthetic model (seeded weights) and a committed espeak-ng
//! dataset (`scripts/make_test_dataset.sh`): the loss falls, checkpoints, samples and TensorBoard
//! files appear, an interrupted run resumes to the same weights, a kill during a checkpoint
//! write loses nothing but the unsaved steps, SIGINT saves and exits cleanly, and export gives
//! a model directory and a voice profile the CLI can use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use vocalis_core::candle::{Device, Tensor};
use vocalis_core::testing::{SyntheticSpec, shared_synthetic_model_dir};
use vocalis_train::config::TrainConfig;
use vocalis_train::trainer::{Outcome, Trainer};
use vocalis_train::{checkpoint, dataset, load_models};

fn dataset_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/espeak_dataset")
}

/// The small synthetic base model, shared read-only by this file's tests.
fn model_dir() -> PathBuf {
    shared_synthetic_model_dir(SyntheticSpec {
        layers: 2,
        dim: 64,
        heads: 4,
        max_audio_tokens: 128,
        max_text_tokens: 64,
        seed: 0,
    })
}

fn write_config(root: &Path, extra_training: &str, samples_every: usize) -> PathBuf {
    let model = model_dir();
    let cfg = format!(
        r#"version = 1
[model]
base_dir = "{model}"
[dataset]
format = "ljspeech"
path = "{data}"
language = "en"
eval_split = 0.1
[training]
batch_size = 2
grad_accum_steps = 1
lr = 5e-4
device = "cpu"
{extra_training}
[checkpoints]
output_dir = "{out}"
save_every_steps = 1000
keep_last = 2
[logging]
runs_dir = "{runs}"
run_name = "test"
log_every_n_steps = 1
[samples]
every_n_epochs = {samples_every}
[[samples.sentences]]
text = "the cat sat on the mat."
"#,
        model = model.display(),
        data = dataset_dir().display(),
        out = root.join("out").display(),
        runs = root.join("runs").display(),
    );
    let p = root.join("config.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn run_fit(
    cfg_path: &Path,
    max_steps: Option<u64>,
) -> (Outcome, vocalis_train::checkpoint::TrainState) {
    let mut cfg = TrainConfig::load(cfg_path).unwrap();
    if let Some(m) = max_steps {
        cfg.training.max_steps = m;
    }
    let loaded = load_models(&cfg, true).unwrap();
    let (prepared, _) = dataset::prepare(&cfg, &loaded.model, &loaded.dvae, |_, _, _| {}).unwrap();
    let mut tr = Trainer::new(
        cfg,
        loaded.model,
        loaded.trainable,
        prepared,
        false,
        Arc::new(AtomicBool::new(false)),
        true,
    )
    .unwrap();
    let o = tr.fit().unwrap();
    (o, tr.state().clone())
}

fn final_weights(root: &Path) -> Vec<(String, Tensor)> {
    let c = checkpoint::latest_valid(&root.join("out/checkpoints")).unwrap();
    let mut w: Vec<(String, Tensor)> = c.weights(&Device::Cpu).unwrap().into_iter().collect();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn assert_same_weights(a: &[(String, Tensor)], b: &[(String, Tensor)]) {
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(b) {
        assert_eq!(na, nb);
        let (va, vb) = (
            ta.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            tb.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        assert!(va == vb, "{na} differs");
    }
}

/// Reads scalar `tag` from the run's TensorBoard files with the crate's own record reader.
fn tb_scalars(run: &Path, tag: &str) -> Vec<(i64, f32)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(run).unwrap().filter_map(|e| e.ok()) {
        for ev in vocalis_train::tensorboard::read_events(&e.path()).unwrap() {
            for (t, v) in ev.scalars() {
                if t == tag {
                    out.push((ev.step, v));
                }
            }
        }
    }
    out.sort_by_key(|x| x.0);
    out
}

#[test]
fn loss_falls_and_outputs_appear() {
    let td = tempfile::tempdir().unwrap();
    let cfg = write_config(td.path(), "epochs = 10\ndropout = 0.1", 5);
    let (o, st) = run_fit(&cfg, None);
    assert_eq!(o, Outcome::Finished);
    assert_eq!(st.epoch, 10);
    assert!(st.step >= 100, "{} steps", st.step);
    let run = td.path().join("runs/test");
    let eval = tb_scalars(&run, "eval/loss");
    let train = tb_scalars(&run, "train/loss");
    let mean = |v: &[(i64, f32)]| v.iter().map(|x| x.1 as f64).sum::<f64>() / v.len() as f64;
    let (first, last) = (mean(&train[..20]), mean(&train[train.len() - 20..]));
    println!(
        "train loss: first 20 steps {first:.3}, last 20 steps {last:.3}; eval {:.3} → {:.3}",
        eval[0].1,
        eval.last().unwrap().1
    );
    assert!(last < 0.6 * first, "training loss did not fall clearly: {first} → {last}");
    assert!(eval.last().unwrap().1 < 0.75 * eval[0].1, "eval loss did not fall: {eval:?}");
    for tag in [
        "train/lr",
        "train/grad_norm",
        "train/steps_per_sec",
        "train/loss_text_ce",
        "train/loss_mel_ce",
        "eval/loss_mel_ce",
    ] {
        assert!(!tb_scalars(&run, tag).is_empty(), "no {tag}");
    }
    let samples: Vec<_> = std::fs::read_dir(td.path().join("out/samples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert!(
        samples.contains(&"epoch_0005_0.wav".to_string())
            && samples.contains(&"epoch_0010_0.wav".to_string()),
        "{samples:?}"
    );
    let wav = vocalis_core::audio::read_audio(td.path().join("out/samples/epoch_0010_0.wav"), None)
        .unwrap();
    assert_eq!(wav.sample_rate_hz, 24000);
    assert!(wav.frames() > 0);
    let cks = checkpoint::list(&td.path().join("out/checkpoints"));
    assert!(cks.len() >= 2 && cks.len() <= 3, "keep_last 2 plus the best: {cks:?}");
}

#[test]
fn stopping_and_resuming_gives_identical_weights() {
    let extra = "epochs = 3\ndropout = 0.1\neval_at_start = false";
    let a = tempfile::tempdir().unwrap();
    let cfg_a = write_config(a.path(), extra, 0);
    run_fit(&cfg_a, Some(9));
    let b = tempfile::tempdir().unwrap();
    let cfg_b = write_config(b.path(), extra, 0);
    let (o, st) = run_fit(&cfg_b, Some(5));
    assert_eq!((o, st.step), (Outcome::StepLimit, 5));
    let (_, st) = run_fit(&cfg_b, Some(9));
    assert_eq!(st.step, 9);
    assert_same_weights(&final_weights(a.path()), &final_weights(b.path()));
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vocalis-train")
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tmp_writing(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()).any(|e| {
                e.file_name().to_string_lossy().starts_with(".tmp-")
                    && e.path().join(".writing").exists()
            })
        })
        .unwrap_or(false)
}

#[test]
fn kill_during_checkpoint_write_loses_only_unsaved_steps() {
    let extra = "epochs = 3\ndropout = 0.1\neval_at_start = false";
    let td = tempfile::tempdir().unwrap();
    let cfg = write_config(td.path(), extra, 0);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("save_every_steps = 1000", "save_every_steps = 2");
    std::fs::write(&cfg, text).unwrap();
    let ck = td.path().join("out/checkpoints");
    let mut child = Command::new(bin())
        .args(["fit", "-q", "--max-steps", "6", "-c"])
        .arg(&cfg)
        .env(checkpoint::TEST_PAUSE_ENV, "1500")
        .spawn()
        .unwrap();
    // the first checkpoint (step 2) completes; kill while step 4's is being written
    wait_for("checkpoint step 2", Duration::from_secs(600), || {
        ck.join("step_00000002/trainer_state.json").exists()
    });
    wait_for("the step-4 write", Duration::from_secs(600), || tmp_writing(&ck));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        checkpoint::latest_valid(&ck).unwrap().state.step,
        2,
        "the previous checkpoint stays valid"
    );
    let status = Command::new(bin())
        .args(["fit", "-q", "--max-steps", "6", "-c"])
        .arg(&cfg)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(checkpoint::latest_valid(&ck).unwrap().state.step, 6);
    assert!(
        !std::fs::read_dir(&ck)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
    );
    // same weights as a run that was never killed
    let clean = tempfile::tempdir().unwrap();
    let cfg2 = write_config(clean.path(), extra, 0);
    run_fit(&cfg2, Some(6));
    assert_same_weights(&final_weights(td.path()), &final_weights(clean.path()));
}

#[test]
fn sigint_saves_a_checkpoint_and_exits_cleanly() {
    let td = tempfile::tempdir().unwrap();
    let cfg = write_config(td.path(), "epochs = 50\neval_at_start = false", 0);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("save_every_steps = 1000", "save_every_steps = 3");
    std::fs::write(&cfg, text).unwrap();
    let ck = td.path().join("out/checkpoints");
    let mut child = Command::new(bin()).args(["fit", "-q", "-c"]).arg(&cfg).spawn().unwrap();
    wait_for("a first checkpoint", Duration::from_secs(600), || !checkpoint::list(&ck).is_empty());
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let last = checkpoint::latest_valid(&ck).unwrap();
    assert!(last.state.step >= 3);
}

#[test]
fn export_writes_a_loadable_model_and_a_voice_profile() {
    let td = tempfile::tempdir().unwrap();
    let cfg = write_config(td.path(), "epochs = 1\neval_at_start = false", 0);
    run_fit(&cfg, Some(3));
    let ck = checkpoint::latest_valid(&td.path().join("out/checkpoints")).unwrap();
    let out = td.path().join("exported");
    let status = Command::new(bin())
        .args(["export", "-q"])
        .arg(&ck.dir)
        .arg(&out)
        .arg("--config")
        .arg(&cfg)
        .args(["--voice-name", "espeak", "--profiles-dir"])
        .arg(td.path().join("voices"))
        .status()
        .unwrap();
    assert!(status.success());
    let m = vocalis_core::models::Xtts::load(&out, &Device::Cpu).unwrap();
    let store = vocalis_core::voice::VoiceStore::new(td.path().join("voices"));
    let p = store.load("espeak").unwrap();
    p.check_model(&m.fingerprint().unwrap()).unwrap();
    // the exported GPT carries the trained weights
    let trained = ck.weights(&Device::Cpu).unwrap();
    let w = &trained["gpt.mel_head.bias"];
    let st = vocalis_core::candle::safetensors::load(out.join("model.safetensors"), &Device::Cpu)
        .unwrap();
    assert_eq!(w.to_vec1::<f32>().unwrap(), st["gpt.mel_head.bias"].to_vec1::<f32>().unwrap());
}

#[test]
fn bad_configs_and_datasets_are_clear_errors() {
    let td = tempfile::tempdir().unwrap();
    let cfg = write_config(td.path(), "epochs = 1", 0);
    // typo in a field name
    let text = std::fs::read_to_string(&cfg).unwrap().replace("batch_size = 2", "batchsize = 2");
    std::fs::write(td.path().join("typo.toml"), text).unwrap();
    let out = Command::new(bin())
        .args(["prepare", "-q", "-c"])
        .arg(td.path().join("typo.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("batchsize"), "{err}");
    // a config that cannot be used is exit code 3 (`--help`), whether it has an unknown
    // field, a syntax error, a value out of range or is missing; the file is named, each cause
    // once
    std::fs::write(td.path().join("syntax.toml"), "version = [").unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replace("batch_size = 2", "batch_size = 0");
    std::fs::write(td.path().join("zero.toml"), text).unwrap();
    for name in ["typo.toml", "syntax.toml", "missing.toml", "zero.toml"] {
        let out = Command::new(bin())
            .args(["fit", "-q", "-c"])
            .arg(td.path().join(name))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {err}");
        assert_eq!(err.matches(name).count(), 1, "{name}: {err}");
        if name == "missing.toml" {
            assert_eq!(err.matches("No such file").count(), 1, "{err}");
        }
    }
    // a dataset with missing, empty and corrupt clips: prepare reports each and continues
    let data = td.path().join("data");
    std::fs::create_dir_all(data.join("wavs")).unwrap();
    for f in ["clip001", "clip002", "clip003"] {
        std::fs::copy(
            dataset_dir().join(format!("wavs/{f}.wav")),
            data.join(format!("wavs/{f}.wav")),
        )
        .unwrap();
    }
    std::fs::write(data.join("wavs/bad.wav"), b"not audio").unwrap();
    std::fs::write(
        data.join("metadata.csv"),
        "clip001|the cat sat.|the cat sat.\nclip002|a dog.|a dog.\nclip003|hello there.|hello there.\nmissing|nothing.|nothing.\nbad|broken.|broken.\nclip001|dup.|dup.\nempty||\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&dataset_dir().display().to_string(), &data.display().to_string());
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(bin()).args(["prepare", "-q", "-c"]).arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    for needle in ["missing audio file", "unreadable audio", "duplicate id", "empty text"] {
        assert!(err.contains(needle), "report lacks {needle:?}:\n{err}");
    }
}
