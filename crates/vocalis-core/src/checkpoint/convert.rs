//! `vocalis convert`: a model directory in any supported layout → the converted layout that
//! loads in well under a second: `model.safetensors` (f32, weight norm folded, keys normalised,
//! memory-mapped at load), `speakers.safetensors`, `config.json`, `vocab.json`, and optionally
//! `gpt.gguf` with the GPT blocks' linear layers quantized (q8_0, q4k, ...).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle::quantized::{GgmlDType, QTensor};
use candle::{DType, Device, Tensor};

use super::arch::{KeyDType, xtts_keys};
use super::model_dir::{ModelDir, ModelFormat, load_speakers};
use super::normalize::{WeightNormNaming, detect_weight_norm, validate_state_dict};
use super::pth::PthArchive;
use crate::error::{Error, Result};
use crate::models::GptConfig;
use crate::nn::weight_norm::fold;
use crate::text::TextTokenizer;

/// What a conversion wrote.
#[derive(Debug, Clone)]
pub struct ConvertReport {
    /// The output directory.
    pub out: PathBuf,
    /// Tensors in `model.safetensors`.
    pub tensors: usize,
    /// Quantized tensors in `gpt.gguf`.
    pub quantized: usize,
    /// Bytes of `model.safetensors` (+ `gpt.gguf`).
    pub bytes: u64,
}

/// Converts `src` into `out` (which must not exist unless `overwrite`). `progress` receives a
/// short description of each stage.
pub fn convert_dir(
    src: &Path,
    out: &Path,
    quantize: Option<GgmlDType>,
    overwrite: bool,
    progress: impl FnMut(&str),
) -> Result<ConvertReport> {
    let md = ModelDir::open(src)?;
    if out.exists() && !overwrite {
        return Err(Error::Invalid(format!(
            "{} already exists (use --force to replace it)",
            out.display()
        )));
    }
    let tok = TextTokenizer::from_file(&md.vocab)?;
    let gpt = GptConfig::new(&md.config, tok.number_tokens(), tok.start_id(), tok.stop_id());
    let mut progress = progress;
    progress(&format!("reading {}", md.weights.display()));
    let raw: Vec<(String, Tensor)> = match md.format {
        ModelFormat::Pth => PthArchive::open(&md.weights)?.read_all(Some("model"), &Device::Cpu)?,
        ModelFormat::Safetensors => {
            if md.quantized_gpt.is_some() {
                return Err(Error::Invalid(format!(
                    "{} is already converted and quantized",
                    src.display()
                )));
            }
            candle::safetensors::load(&md.weights, &Device::Cpu)
                .map_err(|e| Error::checkpoint(&md.weights, e.to_string()))?
                .into_iter()
                .collect()
        }
    };
    let wn = detect_weight_norm(raw.iter().map(|(k, _)| k.as_str()));
    let expected = xtts_keys(&gpt, wn);
    let map = validate_state_dict(&md.weights, raw, &expected)?;
    let speakers = match &md.speakers {
        Some(sp) => load_speakers(sp)?,
        None => Vec::new(),
    };
    write_converted(&md, &gpt, map, wn, &speakers, out, quantize, &mut progress)
}

/// Writes a converted model directory at `out` from a validated state dict `map` (weight norm
/// named per `wn`), copying `config.json` and `vocab.json` from `md`. Used by `convert_dir` and
/// by the trainer's export.
#[allow(clippy::too_many_arguments)]
pub fn write_converted(
    md: &ModelDir,
    gpt: &GptConfig,
    mut map: HashMap<String, Tensor>,
    wn: WeightNormNaming,
    speakers: &super::Speakers,
    out: &Path,
    quantize: Option<GgmlDType>,
    mut progress: impl FnMut(&str),
) -> Result<ConvertReport> {
    progress("folding weight norm");
    let folded_keys = xtts_keys(gpt, WeightNormNaming::Folded);
    let mut outm: HashMap<String, Tensor> = HashMap::new();
    let mut qtensors: Vec<(String, QTensor)> = Vec::new();
    for k in folded_keys.iter().filter(|k| k.dtype == KeyDType::Float) {
        let t = if let Some(t) = map.remove(&k.name) {
            t
        } else {
            let base = k.name.strip_suffix(".weight").expect("folded weight-norm key");
            let (g, v) = match wn {
                WeightNormNaming::Legacy => {
                    (format!("{base}.weight_g"), format!("{base}.weight_v"))
                }
                _ => (
                    format!("{base}.parametrizations.weight.original0"),
                    format!("{base}.parametrizations.weight.original1"),
                ),
            };
            let (g, v) = (map.remove(&g), map.remove(&v));
            match (g, v) {
                (Some(g), Some(v)) => fold(&g, &v)?,
                _ => {
                    return Err(Error::checkpoint(
                        &md.weights,
                        format!("missing tensor {}", k.name),
                    ));
                }
            }
        };
        let t = t.to_dtype(DType::F32)?.to_device(&Device::Cpu)?.contiguous()?;
        match quantize {
            Some(q) if crate::nn::linear::is_conv1d_hf_weight(&k.name) => {
                let w = crate::nn::linear::transpose_2d(&t)?; // [in, out] → [out, in]
                let qt = QTensor::quantize(&w, q).map_err(|e| {
                    Error::Invalid(format!(
                        "cannot quantize {} ({:?}) to {q:?}: {e}",
                        k.name,
                        w.dims()
                    ))
                })?;
                qtensors.push((k.name.clone(), qt));
            }
            _ => {
                outm.insert(k.name.clone(), t);
            }
        }
    }
    let tmp = crate::util::temp_sibling(out);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let res = (|| -> Result<ConvertReport> {
        progress("writing model.safetensors");
        let st = tmp.join("model.safetensors");
        candle::safetensors::save(&outm, &st).map_err(|e| Error::checkpoint(&st, e.to_string()))?;
        let mut bytes = std::fs::metadata(&st).map_err(|e| Error::io(&st, e))?.len();
        if !qtensors.is_empty() {
            progress("writing gpt.gguf");
            let gg = tmp.join("gpt.gguf");
            super::quantized::write_gguf(
                &gg,
                &qtensors,
                &format!("{:?}", quantize.expect("quantized")),
            )?;
            bytes += std::fs::metadata(&gg).map_err(|e| Error::io(&gg, e))?.len();
        }
        std::fs::copy(md.root.join("config.json"), tmp.join("config.json"))
            .map_err(|e| Error::io(md.root.join("config.json"), e))?;
        std::fs::copy(&md.vocab, tmp.join("vocab.json")).map_err(|e| Error::io(&md.vocab, e))?;
        if !speakers.is_empty() {
            progress("writing speakers.safetensors");
            write_speakers(speakers, &tmp.join("speakers.safetensors"))?;
        }
        Ok(ConvertReport {
            out: out.to_path_buf(),
            tensors: outm.len(),
            quantized: qtensors.len(),
            bytes,
        })
    })();
    match res {
        Ok(r) => {
            if out.exists() {
                std::fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
            }
            std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
            Ok(r)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Writes built-in speakers as safetensors (`NAME/gpt_cond_latent`, `NAME/speaker_embedding`)
/// with their order in the metadata.
pub fn write_speakers(speakers: &super::Speakers, path: &Path) -> Result<()> {
    let mut m: HashMap<String, Tensor> = HashMap::new();
    let names: Vec<&str> = speakers.iter().map(|(n, _, _)| n.as_str()).collect();
    for (n, g, s) in speakers {
        m.insert(format!("{n}/gpt_cond_latent"), g.to_dtype(DType::F32)?.contiguous()?);
        m.insert(format!("{n}/speaker_embedding"), s.to_dtype(DType::F32)?.contiguous()?);
    }
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = m
        .iter()
        .map(|(k, t)| {
            let v = t.flatten_all()?.to_vec1::<f32>()?;
            Ok((k.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect(), t.dims().to_vec()))
        })
        .collect::<Result<_>>()?;
    let views = data
        .iter()
        .map(|(k, b, s)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map(|v| (k.as_str(), v))
                .map_err(|e| Error::Invalid(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = HashMap::from([(
        "speakers".to_string(),
        serde_json::to_string(&names).map_err(|e| Error::Invalid(e.to_string()))?,
    )]);
    let bytes =
        safetensors::serialize(views, Some(meta)).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::util::write_atomic(path, &bytes)
}
