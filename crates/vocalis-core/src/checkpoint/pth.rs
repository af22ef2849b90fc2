//! A reader for PyTorch `torch.save` zip archives (`model.pth`, `speakers_xtts.pth`,
//! `mel_stats.pth`, `dvae.pth`), spec §1.2 and §12.
//!
//! The pickle is parsed with candle's `pickle::Stack` (data only: unlike `torch.load`, nothing
//! is executed, so a malicious checkpoint cannot run code). Tensor storages are read straight
//! from a memory map of the archive (they are stored uncompressed), which is much faster than
//! candle's `PthTensors` (a zip reader per tensor) and lets errors name the file and tensor:
//! a truncated archive, a storage that lies beyond the end of the file, an unsupported dtype.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle::pickle::{Object, Stack};
use candle::{DType, Device, Tensor};

use crate::error::{Error, Result};

/// A tensor found in the pickle, not yet read.
#[derive(Debug, Clone)]
pub struct PthTensorInfo {
    /// Path of the tensor in the pickled object (dict keys from the root).
    pub path: Vec<String>,
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
    /// Offset into the storage in elements.
    pub offset: usize,
    /// Name of the storage entry in the archive.
    pub storage: String,
}

/// An opened `.pth` archive.
pub struct PthArchive {
    path: PathBuf,
    mmap: memmap2::Mmap,
    entries: HashMap<String, (usize, usize)>,
    root: Object,
    prefix: String,
}

fn ck(path: &Path, msg: impl Into<String>) -> Error {
    Error::checkpoint(path, msg)
}

impl PthArchive {
    /// Opens and parses the archive's pickle.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(ck(path, "the file is empty"));
        }
        // SAFETY: the map is read-only; a concurrent truncation of the file by another process
        // would fault, as with any mmap-based loader (safetensors, candle).
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        if mmap.len() < 4 || &mmap[..2] != b"PK" {
            return Err(ck(
                path,
                "not a PyTorch zip checkpoint (legacy pre-1.6 torch.save files are not supported; re-save it with a current torch)",
            ));
        }
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&mmap[..]))
            .map_err(|e| ck(path, format!("truncated or corrupt checkpoint archive ({e})")))?;
        let mut entries = HashMap::new();
        let mut pkl = None;
        for i in 0..zip.len() {
            let f = zip
                .by_index_raw(i)
                .map_err(|e| ck(path, format!("corrupt archive entry {i} ({e})")))?;
            let name = f
                .name()
                .map_err(|e| ck(path, format!("corrupt archive entry {i} ({e})")))?
                .to_string();
            let start =
                f.data_start().ok_or_else(|| ck(path, format!("corrupt archive entry {name}")))?
                    as usize;
            let size = f.compressed_size() as usize;
            if f.compression() != zip::CompressionMethod::Stored {
                if name.ends_with("data.pkl") {
                    return Err(ck(path, "compressed pickle entries are not supported"));
                }
                continue;
            }
            if start.checked_add(size).is_none_or(|end| end > mmap.len()) {
                return Err(ck(
                    path,
                    format!("truncated file: entry {name} ends past the end of the file"),
                ));
            }
            if name.ends_with("/data.pkl") || name == "data.pkl" {
                pkl = Some(name.clone());
            }
            entries.insert(name, (start, size));
        }
        let pkl =
            pkl.ok_or_else(|| ck(path, "no data.pkl in the archive: not a torch.save checkpoint"))?;
        let prefix = pkl.strip_suffix("data.pkl").unwrap_or("").to_string();
        let (s, n) = entries[&pkl];
        let root = parse_pickle(&mmap[s..s + n])
            .map_err(|e| ck(path, format!("cannot parse the pickle ({e})")))?;
        drop(zip);
        Ok(PthArchive { path: path.to_path_buf(), mmap, entries, root, prefix })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unpickled root object.
    pub fn root(&self) -> &Object {
        &self.root
    }

    /// All tensors reachable through (nested) dicts from the root, or from `root[key]`.
    pub fn tensor_infos(&self, key: Option<&str>) -> Result<Vec<PthTensorInfo>> {
        tensor_infos(&self.root, key, &self.prefix).ok_or_else(|| {
            ck(&self.path, format!("no {:?} entry in the checkpoint", key.unwrap_or("")))
        })
    }

    /// Reads one tensor (converted to f32 unless `keep_dtype`).
    pub fn read(&self, info: &PthTensorInfo, device: &Device) -> Result<Tensor> {
        let name = info.path.join(".");
        let (start, size) = *self.entries.get(&info.storage).ok_or_else(|| {
            ck(
                &self.path,
                format!("tensor {name}: storage {} is missing from the archive", info.storage),
            )
        })?;
        let es = info.dtype.size_in_bytes();
        let numel: usize = info.shape.iter().product();
        // Highest element index touched.
        let span = if numel == 0 {
            0
        } else {
            info.offset
                + info.shape.iter().zip(&info.stride).map(|(d, s)| (d - 1) * s).sum::<usize>()
                + 1
        };
        if span * es > size {
            return Err(ck(
                &self.path,
                format!(
                    "tensor {name}: storage holds {} bytes but the tensor needs {} (truncated or corrupt file)",
                    size,
                    span * es
                ),
            ));
        }
        let bytes = &self.mmap[start..start + size];
        let contiguous = is_contiguous(&info.shape, &info.stride);
        let data: std::borrow::Cow<[u8]> = if contiguous {
            std::borrow::Cow::Borrowed(&bytes[info.offset * es..(info.offset + numel) * es])
        } else {
            let mut v = Vec::with_capacity(numel * es);
            let mut idx = vec![0usize; info.shape.len()];
            for _ in 0..numel {
                let off =
                    info.offset + idx.iter().zip(&info.stride).map(|(i, s)| i * s).sum::<usize>();
                v.extend_from_slice(&bytes[off * es..(off + 1) * es]);
                for d in (0..idx.len()).rev() {
                    idx[d] += 1;
                    if idx[d] < info.shape[d] {
                        break;
                    }
                    idx[d] = 0;
                }
            }
            std::borrow::Cow::Owned(v)
        };
        let t = bytes_to_tensor(&data, info.dtype, &info.shape, device)
            .map_err(|e| ck(&self.path, format!("tensor {name}: {e}")))?;
        drop(data);
        if numel > 0 {
            release_pages(&self.mmap, &bytes[info.offset * es..span * es]);
        }
        Ok(t)
    }

    /// Reads all tensors under `key`, named by their dotted path.
    pub fn read_all(&self, key: Option<&str>, device: &Device) -> Result<Vec<(String, Tensor)>> {
        self.tensor_infos(key)?
            .iter()
            .map(|i| Ok((i.path.join("."), self.read(i, device)?)))
            .collect()
    }
}

/// Hands the pages of `part` (a slice of `map`) back to the kernel once they have been copied
/// out, so that a model's weights are not resident twice (once mapped, once in tensors) while
/// it loads. The map is read-only and file-backed: a later access faults the same bytes in again
/// from the page cache. A no-op where `madvise` is unavailable.
pub(crate) fn release_pages(map: &memmap2::Mmap, part: &[u8]) {
    #[cfg(unix)]
    {
        let offset = part.as_ptr() as usize - map.as_ptr() as usize;
        debug_assert!(offset + part.len() <= map.len());
        // SAFETY: MADV_DONTNEED on a read-only, never-written file mapping only drops the
        // process's page-table entries; the contents seen afterwards are the file's, unchanged.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, part.len())
        };
    }
    #[cfg(not(unix))]
    let _ = (map, part);
}

/// Unpickles a `data.pkl` (data only; nothing is executed).
pub fn parse_pickle(bytes: &[u8]) -> candle::Result<Object> {
    let mut reader = std::io::BufReader::new(bytes);
    let mut stack = Stack::empty();
    stack.read_loop(&mut reader)?;
    stack.finalize()
}

/// The tensors reachable from `root` (or `root[key]`), with storages named
/// `{prefix}data/{key}`. `None` if `key` is missing.
pub fn tensor_infos(root: &Object, key: Option<&str>, prefix: &str) -> Option<Vec<PthTensorInfo>> {
    let start = match key {
        None => root.clone(),
        Some(k) => dict_get(root, k)?,
    };
    let mut out = Vec::new();
    collect(start, &mut Vec::new(), &mut out, prefix);
    Some(out)
}

fn is_contiguous(shape: &[usize], stride: &[usize]) -> bool {
    let mut expected = 1;
    for (d, s) in shape.iter().zip(stride).rev() {
        if *d != 1 && *s != expected {
            return false;
        }
        expected *= d;
    }
    true
}

/// Converts little-endian bytes to a tensor of `dtype` (no upcast).
pub fn bytes_to_tensor(
    bytes: &[u8],
    dtype: DType,
    shape: &[usize],
    device: &Device,
) -> candle::Result<Tensor> {
    macro_rules! conv {
        ($t:ty, $n:expr, $f:expr) => {{
            let v: Vec<$t> =
                bytes.chunks_exact($n).map(|c| $f(c.try_into().expect("chunk size"))).collect();
            Tensor::from_vec(v, shape, device)
        }};
    }
    match dtype {
        DType::F32 => conv!(f32, 4, f32::from_le_bytes),
        DType::F64 => conv!(f64, 8, f64::from_le_bytes),
        DType::F16 => conv!(half::f16, 2, |b: [u8; 2]| half::f16::from_bits(u16::from_le_bytes(b))),
        DType::BF16 => {
            conv!(half::bf16, 2, |b: [u8; 2]| half::bf16::from_bits(u16::from_le_bytes(b)))
        }
        DType::I64 => conv!(i64, 8, i64::from_le_bytes),
        DType::U8 => Tensor::from_vec(bytes.to_vec(), shape, device),
        other => candle::bail!("unsupported dtype {other:?}"),
    }
}

fn dict_get(obj: &Object, key: &str) -> Option<Object> {
    match obj {
        Object::Dict(kv) => {
            kv.iter().find(|(k, _)| *k == Object::Unicode(key.to_string())).map(|(_, v)| v.clone())
        }
        Object::Build { args, .. } => dict_get(args, key),
        _ => None,
    }
}

fn collect(obj: Object, path: &mut Vec<String>, out: &mut Vec<PthTensorInfo>, prefix: &str) {
    match obj {
        Object::Dict(kv) => {
            for (k, v) in kv {
                let key = match k {
                    Object::Unicode(s) => s,
                    Object::Int(i) => i.to_string(),
                    Object::Long(i) => i.to_string(),
                    _ => continue,
                };
                path.push(key);
                collect(v, path, out, prefix);
                path.pop();
            }
        }
        obj @ (Object::Reduce { .. } | Object::Build { .. }) => {
            let name = path.join(".");
            if let Ok(Some(ti)) = obj.clone().into_tensor_info(Object::Unicode(name), Path::new(""))
            {
                // candle formats the storage path as "{dir}/{file}" with our empty dir.
                let file = ti.path.trim_start_matches('/').to_string();
                let es = ti.dtype.size_in_bytes();
                out.push(PthTensorInfo {
                    path: path.clone(),
                    dtype: ti.dtype,
                    shape: ti.layout.dims().to_vec(),
                    stride: ti.layout.stride().to_vec(),
                    offset: ti.layout.start_offset() / es,
                    storage: format!("{prefix}data/{file}"),
                });
            } else if let Object::Build { args, .. } = obj {
                // An object whose state is a dict (e.g. an OrderedDict subclass): descend.
                collect(*args, path, out, prefix);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguity() {
        assert!(is_contiguous(&[2, 3], &[3, 1]));
        assert!(!is_contiguous(&[2, 3], &[1, 2]));
        assert!(is_contiguous(&[1, 3], &[7, 1]));
    }

    #[test]
    fn not_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.pth");
        std::fs::write(&p, b"hello").unwrap();
        let e = PthArchive::open(&p).err().unwrap().to_string();
        assert!(e.contains("model.pth") && e.contains("not a PyTorch zip checkpoint"), "{e}");
        std::fs::write(&p, b"").unwrap();
        let e = PthArchive::open(&p).err().unwrap().to_string();
        assert!(e.contains("empty"), "{e}");
        std::fs::write(&p, b"PK\x03\x04 truncated").unwrap();
        let e = PthArchive::open(&p).err().unwrap().to_string();
        assert!(e.contains("truncated or corrupt"), "{e}");
    }
}
