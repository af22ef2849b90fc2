//! Test support shared by this crate's tests and the binaries' tests: fixture paths, golden
//! tensors, and the tiny model directory rebuilt from the committed torch pickles and the seeded
//! weight formula (see `scripts/reference/export_fixtures.py`). Not part of the stable API.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle::{DType, Device, Tensor};
use sha2::{Digest, Sha256};

use crate::checkpoint::pth::{parse_pickle, tensor_infos};
use crate::checkpoint::synthetic::{Override, tensor_values};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn tiny() -> PathBuf {
    fixtures().join("tiny")
}

pub fn load_safetensors(path: &Path) -> HashMap<String, Tensor> {
    candle::safetensors::load(path, &Device::Cpu)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn golden() -> HashMap<String, Tensor> {
    load_safetensors(&tiny().join("golden.safetensors"))
}

pub fn golden_json() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(tiny().join("golden.json")).unwrap()).unwrap()
}

pub fn vec_f32(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

pub fn vec_u32(t: &Tensor) -> Vec<u32> {
    t.to_dtype(DType::I64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<i64>()
        .unwrap()
        .iter()
        .map(|&v| v as u32)
        .collect()
}

/// `n` values uniform in [−1, 1) from a 64-bit LCG seeded with `seed` (test data).
pub fn uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / 16777216.0) * 2.0 - 1.0
        })
        .collect()
}

/// Largest difference between `conv` and the direct "same" convolution (leaky ReLU 0.1 before
/// it) of random weights `[c_out][c_in][k]`, bias and input `[c_in][t]`, with and without a
/// random residual. `conv(weight, bias, x, residual)` returns `[c_out][t]`.
pub fn conv_vs_direct(
    (c_in, c_out, k, dilation, t): (usize, usize, usize, usize, usize),
    conv: impl Fn(&[f32], &[f32], &[f32], Option<&[f32]>) -> Vec<f32>,
) -> f32 {
    use crate::nn::conv_cpu::{CpuConv1d, PreAct};
    let (w, b) = (uniform(c_out * c_in * k, 1), uniform(c_out, 2));
    let (x, r) = (uniform(c_in * t, 3), uniform(c_out * t, 4));
    let direct = CpuConv1d::new(w.clone(), Some(b.clone()), c_out, c_in, k, dilation);
    [Some(&r[..]), None]
        .into_iter()
        .map(|res| {
            let want = direct.forward(&x, t, PreAct::Leaky(0.1), None, res);
            max_abs_diff("conv vs direct", &conv(&w, &b, &x, res), &want)
        })
        .fold(0f32, f32::max)
}

/// Max absolute difference; panics with context on length mismatch.
pub fn max_abs_diff(what: &str, a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "{what}: length {} vs {}", a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

/// Asserts `max|a−b| ≤ tol` and prints the measured error (visible with `--nocapture`).
pub fn assert_close(what: &str, a: &[f32], b: &[f32], tol: f32) {
    let d = max_abs_diff(what, a, b);
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    println!("{what:50} max|diff| = {d:.3e} (max|ref| = {scale:.3e}, tol {tol:.0e})");
    assert!(d <= tol, "{what}: max|diff| {d:e} > {tol:e}");
}

fn overrides() -> Vec<Override> {
    serde_json::from_value(golden_json()["overrides"].clone()).unwrap()
}

/// The little-endian bytes of one storage, regenerated: formula values (f32 or f16), int64
/// zeros, or the committed constants.
fn storage_bytes(
    name: &str,
    dtype: DType,
    shape: &[usize],
    constants: &HashMap<String, Tensor>,
    ov: &[Override],
) -> Vec<u8> {
    // The formula ran on the model's own names; layouts rename some afterwards.
    let formula_name = name.strip_prefix("xtts.").unwrap_or(name);
    let formula_name = &formula_name
        .replace(".weight_g", ".parametrizations.weight.original0")
        .replace(".weight_v", ".parametrizations.weight.original1");
    let formula_name = formula_name.as_str();
    let values: Vec<f32> =
        if let Some(c) = constants.get(formula_name).or_else(|| constants.get(name)) {
            vec_f32(c)
        } else if dtype == DType::I64 {
            return vec![0u8; shape.iter().product::<usize>() * 8];
        } else {
            let mut v = tensor_values(formula_name, shape, 0);
            for o in ov.iter().filter(|o| o.name == formula_name) {
                v[o.index] = o.value;
            }
            v
        };
    match dtype {
        DType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        DType::F16 => {
            values.iter().flat_map(|v| half::f16::from_f32(*v).to_bits().to_le_bytes()).collect()
        }
        other => panic!("{name}: unexpected dtype {other:?}"),
    }
}

/// Writes `<out>` as a torch zip archive rebuilt from `<stem>.data.pkl` and the formula, and
/// checks every storage's sha256 against the one torch wrote.
pub fn rebuild_pth(stem: &str, out: &Path) {
    let dir = tiny();
    let pkl = std::fs::read(dir.join(format!("{stem}.data.pkl"))).unwrap();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{stem}.storages.json"))).unwrap(),
    )
    .unwrap();
    let prefix = meta["prefix"].as_str().unwrap().to_string();
    let root = parse_pickle(&pkl).unwrap();
    let key = if stem.starts_with("model.") { Some("model") } else { None };
    let infos = tensor_infos(&root, key, &prefix).unwrap();
    let constants = load_safetensors(&dir.join("constants.safetensors"));
    let ov = overrides();
    let file = std::fs::File::create(out).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(format!("{prefix}data.pkl"), opts).unwrap();
    zip.write_all(&pkl).unwrap();
    let mut bad = Vec::new();
    for info in &infos {
        let name = info.path.join(".");
        let bytes = storage_bytes(&name, info.dtype, &info.shape, &constants, &ov);
        let key = info.storage.rsplit('/').next().unwrap();
        let want =
            meta["storages"][key].as_str().unwrap_or_else(|| panic!("no sha for storage {key}"));
        let got = crate::util::hex(&Sha256::digest(&bytes));
        if got != want {
            bad.push(name.clone());
        }
        zip.start_file(info.storage.clone(), opts).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.start_file(format!("{prefix}version"), opts).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.start_file(format!("{prefix}byteorder"), opts).unwrap();
    zip.write_all(b"little").unwrap();
    zip.finish().unwrap();
    assert!(
        bad.is_empty(),
        "{stem}: regenerated storages differ from torch's for {} tensors: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

/// Writes a complete tiny model directory in the released layout for `variant` (`legacy`,
/// `dict_oldwn`, `half`, `trainer`) into `dir`.
pub fn write_tiny_model_dir(variant: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in ["config.json", "vocab.json", "speakers_xtts.pth", "mel_stats.pth"] {
        std::fs::copy(tiny().join(f), dir.join(f)).unwrap();
    }
    rebuild_pth(&format!("model.{variant}"), &dir.join("model.pth"));
}

/// The tiny DVAE's `dvae.pth`, rebuilt like the model.
pub fn write_tiny_dvae(path: &Path) {
    rebuild_pth("dvae", path);
}

/// This process's scratch directory, `$TMPDIR/vocalis-tests/<pid>`, for the model directories
/// shared by a test binary's tests. Statics are never dropped, so it outlives the process; the
/// directories of processes that have exited are removed when the next one starts (on Linux,
/// where `/proc` tells which are alive), so repeated runs do not fill the disk.
pub fn scratch_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = std::env::temp_dir().join("vocalis-tests");
        if Path::new("/proc/self").is_dir() {
            for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let alive = Path::new("/proc").join(&name).exists();
                if name.parse::<u32>().is_ok() && !alive {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = root.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    })
}

/// A model directory under [`scratch_dir`] written once per process by `write` and shared,
/// read-only, by every test that asks for the same `key`. Tests that change files in a model
/// directory must write their own.
fn shared_dir(key: &str, write: impl FnOnce(&Path)) -> PathBuf {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch_dir().join(key);
    if !done.iter().any(|k| k == key) {
        let _ = std::fs::remove_dir_all(&dir);
        write(&dir);
        done.push(key.to_string());
    }
    dir
}

/// The tiny model directory for `variant` (see [`write_tiny_model_dir`]), shared by this
/// process's tests.
pub fn shared_tiny_model_dir(variant: &str) -> PathBuf {
    shared_dir(&format!("tiny-{variant}"), |d| write_tiny_model_dir(variant, d))
}

/// The synthetic model directory for `spec` (see [`write_synthetic_model_dir`]), shared by this
/// process's tests.
pub fn shared_synthetic_model_dir(spec: SyntheticSpec) -> PathBuf {
    let SyntheticSpec { layers, dim, heads, max_audio_tokens, max_text_tokens, seed } = spec;
    let key =
        format!("synthetic-{layers}x{dim}h{heads}-a{max_audio_tokens}-t{max_text_tokens}-s{seed}");
    shared_dir(&key, |d| write_synthetic_model_dir(spec, d))
}

/// Shape of a synthetic model (weights from the seeded formula, no reference needed).
#[derive(Debug, Clone, Copy)]
pub struct SyntheticSpec {
    /// GPT layers.
    pub layers: usize,
    /// GPT width.
    pub dim: usize,
    /// Attention heads.
    pub heads: usize,
    /// `gpt_max_audio_tokens` (longest clip ≈ this × 46 ms).
    pub max_audio_tokens: usize,
    /// `gpt_max_text_tokens`.
    pub max_text_tokens: usize,
    /// Formula seed.
    pub seed: u64,
}

/// Writes a model directory in the converted layout (`model.safetensors`, weight norm folded)
/// with formula weights for `spec`, the tiny vocabulary, and the tiny DVAE as `dvae.pth`.
pub fn write_synthetic_model_dir(spec: SyntheticSpec, dir: &Path) {
    use crate::checkpoint::arch::{KeyDType, xtts_keys};
    use crate::checkpoint::normalize::WeightNormNaming;
    use crate::checkpoint::synthetic::{SyntheticTensor, state_dict};
    std::fs::create_dir_all(dir).unwrap();
    // the released schema has a bare `Infinity` (max_audio_len), which serde_json rejects
    let text =
        std::fs::read_to_string(tiny().join("config.json")).unwrap().replace("Infinity", "null");
    let mut cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
    let a = &mut cfg["model_args"];
    a["gpt_layers"] = spec.layers.into();
    a["gpt_n_model_channels"] = spec.dim.into();
    a["decoder_input_dim"] = spec.dim.into();
    a["gpt_n_heads"] = spec.heads.into();
    a["gpt_max_audio_tokens"] = spec.max_audio_tokens.into();
    a["gpt_max_text_tokens"] = spec.max_text_tokens.into();
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    std::fs::copy(tiny().join("vocab.json"), dir.join("vocab.json")).unwrap();
    let xcfg = crate::models::XttsConfig::load(&dir.join("config.json")).unwrap();
    let tok = crate::text::TextTokenizer::from_file(&dir.join("vocab.json")).unwrap();
    let gcfg =
        crate::models::GptConfig::new(&xcfg, tok.number_tokens(), tok.start_id(), tok.stop_id());
    let keys: Vec<_> = xtts_keys(&gcfg, WeightNormNaming::Folded)
        .into_iter()
        .filter(|k| k.dtype == KeyDType::Float)
        .collect();
    let mut map = std::collections::HashMap::new();
    for ((name, t), k) in state_dict(&keys, spec.seed, &[]).into_iter().zip(&keys) {
        let SyntheticTensor::F32(v) = t else { continue };
        map.insert(name, Tensor::from_vec(v, k.shape.as_slice(), &Device::Cpu).unwrap());
    }
    candle::safetensors::save(&map, dir.join("model.safetensors")).unwrap();
    write_tiny_dvae(&dir.join("dvae.pth"));
}
