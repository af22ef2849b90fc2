//! A model directory on disk and the loading of its weights.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::arch::{KeyDType, xtts_keys};
use super::normalize::{WeightNormNaming, detect_weight_norm, validate_state_dict};
use super::pth::PthArchive;
use crate::error::{Error, Result};
use crate::models::{GptConfig, XttsConfig};

/// How the weights of a model directory are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// `model.pth` as released or written by the Python trainer.
    Pth,
    /// `model.safetensors` as written by `vocalis convert` (weight norm folded).
    Safetensors,
}

/// The files of a model directory.
#[derive(Debug, Clone)]
pub struct ModelDir {
    /// The directory.
    pub root: PathBuf,
    /// Weight format.
    pub format: ModelFormat,
    /// `model.pth` or `model.safetensors`.
    pub weights: PathBuf,
    /// `gpt.gguf` with quantized GPT blocks, if the directory has one.
    pub quantized_gpt: Option<PathBuf>,
    /// `vocab.json`.
    pub vocab: PathBuf,
    /// `speakers_xtts.pth` or `speakers.safetensors`, if present.
    pub speakers: Option<PathBuf>,
    /// Parsed `config.json`.
    pub config: XttsConfig,
}

const HOW_TO_GET: &str =
    "download a model with `vocalis model download` or point --model at an XTTS v2 directory";

impl ModelDir {
    /// Inspects `dir`: which files exist, and parses `config.json`.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::checkpoint(
                dir,
                format!("model directory not found ({HOW_TO_GET})"),
            ));
        }
        let cfg_path = dir.join("config.json");
        if !cfg_path.is_file() {
            return Err(Error::checkpoint(
                &cfg_path,
                format!("missing config.json ({HOW_TO_GET})"),
            ));
        }
        let config = XttsConfig::load(&cfg_path)?;
        let st = dir.join("model.safetensors");
        let pth = dir.join("model.pth");
        let (format, weights) = if st.is_file() {
            (ModelFormat::Safetensors, st)
        } else if pth.is_file() {
            (ModelFormat::Pth, pth)
        } else {
            return Err(Error::checkpoint(
                dir,
                format!("missing model.pth (or model.safetensors) ({HOW_TO_GET})"),
            ));
        };
        let vocab = dir.join("vocab.json");
        if !vocab.is_file() {
            return Err(Error::checkpoint(&vocab, format!("missing vocab.json ({HOW_TO_GET})")));
        }
        let speakers = ["speakers.safetensors", "speakers_xtts.pth"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file());
        let quantized_gpt = Some(dir.join("gpt.gguf")).filter(|p| p.is_file());
        Ok(ModelDir {
            root: dir.to_path_buf(),
            format,
            weights,
            quantized_gpt,
            vocab,
            speakers,
            config,
        })
    }

    /// Loads and validates the weights for the architecture `gpt`, returning a VarBuilder whose
    /// tensors are in f32 on `device` (weight norm in whatever naming the file uses). Keys in
    /// `provided_elsewhere` (quantized weights from `gpt.gguf`) may be absent.
    pub fn var_builder(
        &self,
        gpt: &GptConfig,
        device: &Device,
        provided_elsewhere: &[String],
    ) -> Result<VarBuilder<'static>> {
        match self.format {
            ModelFormat::Pth => {
                let arch = PthArchive::open(&self.weights)?;
                let raw = arch.read_all(Some("model"), &Device::Cpu)?;
                let wn = detect_weight_norm(raw.iter().map(|(k, _)| k.as_str()));
                let mut expected = xtts_keys(gpt, wn);
                expected.retain(|k| !provided_elsewhere.contains(&k.name));
                let map = validate_state_dict(&self.weights, raw, &expected)?;
                into_var_builder(map, device)
            }
            ModelFormat::Safetensors => {
                let mut expected = xtts_keys(gpt, WeightNormNaming::Folded);
                expected.retain(|k| !provided_elsewhere.contains(&k.name));
                into_var_builder(read_safetensors(&self.weights, &expected)?, device)
            }
        }
    }
}

/// The state dict as a VarBuilder on `device`, with the GPT's `Conv1D` weights laid out for
/// inference first (on the CPU, one tensor at a time).
fn into_var_builder(
    mut map: HashMap<String, Tensor>,
    device: &Device,
) -> Result<VarBuilder<'static>> {
    crate::nn::linear::relayout_conv1d_hf_weights(&mut map)?;
    let map = if device.is_cpu() {
        map
    } else {
        map.into_iter()
            .map(|(k, t)| Ok((k, t.to_device(device)?)))
            .collect::<Result<HashMap<_, _>>>()?
    };
    Ok(VarBuilder::from_tensors(map, DType::F32, device))
}

/// Every tensor of a safetensors file, on the CPU, once its header has been checked against the
/// `expected` keys and shapes. The header is read through a memory map; f32 data is read with
/// `pread` straight into the tensors' buffers (no page faults on a mapping, no second resident
/// copy), other dtypes are copied out of the map, whose pages are then handed back to the kernel.
fn read_safetensors(
    path: &Path,
    expected: &[super::arch::KeySpec],
) -> Result<HashMap<String, Tensor>> {
    use candle::safetensors::Load;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: read-only map of a file nothing here writes.
    let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&mmap).map_err(|e| {
        Error::checkpoint(path, format!("corrupt or truncated safetensors file ({e})"))
    })?;
    check_safetensors(path, &st, expected)?;
    // Read on every worker, largest first: copying out of the page cache and faulting in the
    // new buffers is CPU work (the v2 model's 1.8 GB of f32 took 0.8–1.7 s on one thread of a
    // 2-core Zen 4, ~0.6 s on two).
    let mut views = st.tensors();
    views.sort_by_key(|(_, v)| std::cmp::Reverse(v.data().len()));
    views
        .into_par_iter()
        .map_init(Vec::new, |scratch, (name, view)| {
            let offset = (view.data().as_ptr() as usize - mmap.as_ptr() as usize) as u64;
            let conv1d = crate::nn::linear::is_conv1d_hf_weight(&name);
            let t = match read_f32_at(&file, offset, &view, conv1d.then_some(scratch)) {
                Some(r) => r.map_err(|e| Error::io(path, e))?,
                None => {
                    let t = view
                        .load(&Device::Cpu)
                        .map_err(|e| Error::checkpoint(path, format!("tensor {name}: {e}")))?;
                    super::pth::release_pages(&mmap, view.data());
                    t
                }
            };
            Ok((name, t))
        })
        .collect()
}

/// An f32 tensor read from `file` at `offset` into its own buffer; `None` for other dtypes or
/// where positioned reads are unavailable. With `transpose_via`, a GPT `Conv1D` weight `[in,
/// out]` is read into that reused buffer and laid out as `[out, in]` (returned as the `[in, out]`
/// view of it that [`crate::nn::Linear::load_conv1d_hf`] takes as is).
fn read_f32_at(
    file: &std::fs::File,
    offset: u64,
    view: &safetensors::tensor::TensorView,
    transpose_via: Option<&mut Vec<f32>>,
) -> Option<std::io::Result<Tensor>> {
    #[cfg(all(unix, target_endian = "little"))]
    {
        use std::os::unix::fs::FileExt;
        if view.dtype() != safetensors::Dtype::F32 {
            return None;
        }
        let shape = view.shape();
        let n: usize = shape.iter().product();
        let read = |v: &mut [f32]| {
            // SAFETY: any bytes are a valid f32; the slice covers exactly the elements of `v`.
            let bytes =
                unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), n * 4) };
            file.read_exact_at(bytes, offset)
        };
        let t = match (transpose_via, shape) {
            (Some(scratch), &[rows, cols]) => {
                scratch.resize(n, 0.0);
                read(&mut scratch[..n]).and_then(|()| {
                    let dst = crate::nn::linear::transpose_f32(&scratch[..n], rows, cols);
                    Tensor::from_vec(dst, (cols, rows), &Device::Cpu)
                        .and_then(|t| t.t())
                        .map_err(std::io::Error::other)
                })
            }
            _ => {
                let mut v = crate::nn::huge_page_buffer(n);
                read(&mut v).and_then(|()| {
                    Tensor::from_vec(v, shape, &Device::Cpu).map_err(std::io::Error::other)
                })
            }
        };
        Some(t)
    }
    #[cfg(not(all(unix, target_endian = "little")))]
    {
        let _ = (file, offset, view, transpose_via);
        None
    }
}

/// A one-line error naming the missing or mis-shaped tensors of `st` (the file `path`).
fn check_safetensors(
    path: &Path,
    st: &safetensors::SafeTensors,
    expected: &[super::arch::KeySpec],
) -> Result<()> {
    let mut problems = Vec::new();
    for k in expected.iter().filter(|k| k.dtype == KeyDType::Float) {
        match st.tensor(&k.name) {
            Err(_) => problems.push(format!("missing tensor {}", k.name)),
            Ok(t) if t.shape() != k.shape.as_slice() => problems.push(format!(
                "tensor {} has shape {:?}, expected {:?}",
                k.name,
                t.shape(),
                k.shape
            )),
            Ok(_) => {}
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        return Err(Error::checkpoint(
            path,
            format!(
                "does not match the XTTS architecture of config.json: {}{}",
                problems.into_iter().take(5).collect::<Vec<_>>().join("; "),
                if n > 5 { format!(" (and {} more)", n - 5) } else { String::new() }
            ),
        ));
    }
    Ok(())
}

/// Built-in speakers: `(name, gpt_cond_latent [1, 32, D], speaker_embedding [1, 512, 1])` in
/// file order.
pub type Speakers = Vec<(String, Tensor, Tensor)>;

/// Reads `speakers_xtts.pth` (nested dict) or `speakers.safetensors`.
pub fn load_speakers(path: &Path) -> Result<Speakers> {
    let is_st = path.extension().is_some_and(|e| e == "safetensors");
    let mut by_name: Vec<(String, Option<Tensor>, Option<Tensor>)> = Vec::new();
    let mut put = |name: &str, field: &str, t: Tensor| {
        let idx = match by_name.iter().position(|(n, _, _)| n == name) {
            Some(i) => i,
            None => {
                by_name.push((name.to_string(), None, None));
                by_name.len() - 1
            }
        };
        match field {
            "gpt_cond_latent" => by_name[idx].1 = Some(t),
            "speaker_embedding" => by_name[idx].2 = Some(t),
            _ => {}
        }
    };
    if is_st {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&data)
            .map_err(|e| Error::checkpoint(path, format!("corrupt speakers file ({e})")))?;
        let order: Vec<String> = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("speakers"))
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let tensors = candle::safetensors::load_buffer(&data, &Device::Cpu)
            .map_err(|e| Error::checkpoint(path, format!("corrupt speakers file ({e})")))?;
        for name in &order {
            for field in ["gpt_cond_latent", "speaker_embedding"] {
                if let Some(t) = tensors.get(&format!("{name}/{field}")) {
                    put(name, field, t.to_dtype(DType::F32)?);
                }
            }
        }
    } else {
        let arch = PthArchive::open(path)?;
        for info in arch.tensor_infos(None)? {
            if info.path.len() != 2 {
                continue;
            }
            let t = arch.read(&info, &Device::Cpu)?.to_dtype(DType::F32)?;
            put(&info.path[0], &info.path[1], t);
        }
    }
    by_name
        .into_iter()
        .map(|(n, g, s)| match (g, s) {
            (Some(g), Some(s)) => Ok((n, g, s)),
            _ => Err(Error::checkpoint(
                path,
                format!("speaker {n:?} lacks gpt_cond_latent or speaker_embedding"),
            )),
        })
        .collect()
}
