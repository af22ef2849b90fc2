//! A preallocated attention KV cache: one `[B, H, capacity, head_dim]` buffer per layer for
//! keys and values, written in place. Appending never reallocates or copies what is already
//! cached, so decoding cost per token does not grow with a copy of the history, and a step's
//! row ([`KvCache::write_row`]) is written straight into the CPU buffer, with no tensor
//! allocated. The buffers may be f16 while the model computes in f32: rows are rounded (and
//! saturated) as they are stored and read back as f32.

use candle::{DType, Result, Tensor};

/// The largest finite f16.
const F16_MAX: f32 = 65504.0;

/// Keys and values of every layer.
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// A cache of `capacity` positions for `layers` layers.
    pub fn new(
        layers: usize,
        batch: usize,
        heads: usize,
        head_dim: usize,
        capacity: usize,
        dtype: candle::DType,
        device: &candle::Device,
    ) -> Result<Self> {
        let shape = (batch, heads, capacity, head_dim);
        let mk = || match dtype {
            // zeroed pages from the allocator, as `Tensor::zeros` gets for f32 (it writes every
            // f16 zero: ~130 MB at each utterance's start for the v2 model)
            DType::F16 if device.is_cpu() => {
                use half::vec::HalfBitsVecExt;
                let zeros = vec![0u16; batch * heads * capacity * head_dim];
                Tensor::from_vec(zeros.reinterpret_into::<half::f16>(), shape, device)
            }
            _ => Tensor::zeros(shape, dtype, device),
        };
        let k = (0..layers).map(|_| mk()).collect::<Result<Vec<_>>>()?;
        let v = (0..layers).map(|_| mk()).collect::<Result<Vec<_>>>()?;
        Ok(KvCache { k, v, len: 0, capacity })
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The dtype keys and values are stored in.
    pub fn dtype(&self) -> candle::DType {
        self.k.first().map_or(candle::DType::F32, |k| k.dtype())
    }

    /// Capacity in positions.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets everything (keeps the buffers).
    pub fn reset(&mut self) {
        self.len = 0;
    }

    /// Truncates to `len` positions (e.g. back to a shared prefix).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Writes `k`, `v` (`[B, H, T, hd]`) of `layer` at the current end and returns all cached
    /// keys and values including them, in `k`'s dtype (views where the cache has it, else
    /// converted copies). Call [`KvCache::advance`] once all layers wrote.
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let t = self.store(layer, k, v)?;
        let len = self.len + t;
        let all = |c: &Tensor| match (c.dtype(), k.dtype()) {
            (DType::F16, DType::F32) if c.device().is_cpu() => f16_rows_as_f32(c, len),
            _ => c.narrow(2, 0, len)?.to_dtype(k.dtype()),
        };
        Ok((all(&self.k[layer])?, all(&self.v[layer])?))
    }

    /// Writes one position's keys and values of `layer` (each `[H·hd]`, head-major) at the
    /// current end, like [`KvCache::append`] with `t = 1` (rounded to the cache's dtype).
    pub fn write_row(&mut self, layer: usize, k: &[f32], v: &[f32]) -> Result<()> {
        let (b, heads, cap, hd) = self.k[layer].dims4()?;
        if b != 1 {
            candle::bail!("KV rows are written one at a time for a batch of 1, not {b}")
        }
        if self.len >= self.capacity {
            candle::bail!("KV cache full: its {} positions are all used", self.capacity)
        }
        let n = heads * hd;
        if k.len() != n || v.len() != n {
            candle::bail!("KV row of {} and {} values for {heads} heads of {hd}", k.len(), v.len())
        }
        if !self.writes_in_place(layer) {
            let dev = self.k[layer].device().clone();
            let k = Tensor::from_slice(k, (1, heads, 1, hd), &dev)?;
            let v = Tensor::from_slice(v, (1, heads, 1, hd), &dev)?;
            return self.store(layer, &k, &v).map(|_| ());
        }
        // this runs for every layer of every step (tensor ops cost ~10 µs a layer)
        let pos = self.len;
        self.k[layer].inplace_op1(&WriteRows { x: k, hd, cap, pos, t: 1 })?;
        self.v[layer].inplace_op1(&WriteRows { x: v, hd, cap, pos, t: 1 })
    }

    /// Whether `layer`'s rows are written straight into its buffers ([`WriteRows`]): f32 or
    /// f16 on the CPU, batch 1. Other caches go through tensor ops.
    fn writes_in_place(&self, layer: usize) -> bool {
        let buf = &self.k[layer];
        buf.device().is_cpu()
            && buf.dim(0).is_ok_and(|b| b == 1)
            && matches!(buf.dtype(), DType::F32 | DType::F16)
    }

    /// Asks the CPU to fetch the lines [`KvCache::write_row`] will write in `layer` next (a
    /// no-op elsewhere), so that their cache misses overlap the work before it.
    pub fn prefetch_row(&self, layer: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let Ok((_, heads, cap, hd)) = self.k[layer].dims4() else { return };
            if self.len >= cap {
                return;
            }
            let lines = |base: *const i8, size: usize| {
                for head in 0..heads {
                    let at = (head * cap + self.len) * hd * size;
                    for off in (0..hd * size).step_by(64) {
                        // SAFETY: a prefetch never faults; the address is inside the buffer
                        unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(at + off)) }
                    }
                }
            };
            for t in [&self.k[layer], &self.v[layer]] {
                let _ = super::with_cpu(t, |d: &[f32]| lines(d.as_ptr() as *const i8, 4));
                let _ = super::with_cpu(t, |d: &[half::f16]| lines(d.as_ptr() as *const i8, 2));
            }
        }
    }

    /// Writes `k`, `v` (`[B, H, T, hd]`) of `layer` at the current end, in the cache's dtype;
    /// returns `T`.
    fn store(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<usize> {
        let t = k.dim(2)?;
        if self.len + t > self.capacity {
            candle::bail!(
                "KV cache full: {} + {t} positions exceed its capacity of {}",
                self.len,
                self.capacity
            )
        }
        if self.writes_in_place(layer) {
            let (_, _, cap, hd) = self.k[layer].dims4()?;
            // converted by slices (candle's f32 → f16 goes one element at a time)
            for (buf, x) in [(&self.k[layer], k), (&self.v[layer], v)] {
                let x = x.to_dtype(DType::F32)?.contiguous()?;
                let write =
                    |x: &[f32]| buf.inplace_op1(&WriteRows { x, hd, cap, pos: self.len, t });
                match super::with_cpu_f32(&x, write) {
                    Some(r) => r?,
                    None => candle::bail!("KV rows are not on the CPU"),
                }
            }
            return Ok(t);
        }
        let stored = self.k[layer].dtype();
        // f16 saturates at ±65504 rather than overflowing to ±inf (which would make the
        // attention NaN)
        let store = |x: &Tensor| match (stored, x.dtype()) {
            (DType::F16, DType::F32 | DType::F64) => {
                x.clamp(-F16_MAX as f64, F16_MAX as f64)?.to_dtype(stored)
            }
            _ => x.to_dtype(stored),
        };
        self.k[layer].slice_set(&store(k)?.contiguous()?, 2, self.len)?;
        self.v[layer].slice_set(&store(v)?.contiguous()?, 2, self.len)?;
        Ok(t)
    }

    /// The whole key and value buffers of `layer` (`[B, H, capacity, hd]`).
    pub fn layer(&self, layer: usize) -> (&Tensor, &Tensor) {
        (&self.k[layer], &self.v[layer])
    }

    /// Copies of the first `len` cached positions of every layer (`[B, H, len, hd]` keys and
    /// values), to be restored with [`KvCache::restore`].
    pub fn snapshot(&self, len: usize) -> Result<Vec<(Tensor, Tensor)>> {
        if len > self.len {
            candle::bail!("KV snapshot of {len} positions, only {} cached", self.len)
        }
        self.k
            .iter()
            .zip(&self.v)
            .map(|(k, v)| Ok((k.narrow(2, 0, len)?.copy()?, v.narrow(2, 0, len)?.copy()?)))
            .collect()
    }

    /// Replaces the cache's content with a [`KvCache::snapshot`].
    pub fn restore(&mut self, kv: &[(Tensor, Tensor)]) -> Result<()> {
        if kv.len() != self.k.len() {
            candle::bail!("KV snapshot has {} layers, the cache {}", kv.len(), self.k.len())
        }
        let len = kv.first().map_or(Ok(0), |(k, _)| k.dim(2))?;
        if len > self.capacity {
            candle::bail!(
                "KV snapshot of {len} positions exceeds the capacity of {}",
                self.capacity
            )
        }
        for (layer, (k, v)) in kv.iter().enumerate() {
            self.k[layer].slice_set(k, 2, 0)?;
            self.v[layer].slice_set(v, 2, 0)?;
        }
        self.len = len;
        Ok(())
    }

    /// Commits `t` positions written by [`KvCache::append`] in every layer.
    pub fn advance(&mut self, t: usize) {
        self.len += t;
    }
}

/// The first `len` positions of an f16 CPU buffer `[1, H, cap, hd]` as a contiguous f32
/// tensor `[1, H, len, hd]` (each head's rows converted as one slice).
fn f16_rows_as_f32(c: &Tensor, len: usize) -> Result<Tensor> {
    use half::slice::HalfFloatSliceExt;
    let (_, heads, cap, hd) = c.dims4()?;
    let mut out = vec![0f32; heads * len * hd];
    let done = super::with_cpu(c, |d: &[half::f16]| {
        for (head, o) in out.chunks_exact_mut(len * hd).enumerate() {
            d[head * cap * hd..][..len * hd].convert_to_f32_slice(o);
        }
    });
    if done.is_none() {
        candle::bail!("KV cache buffer is not f16 on the CPU")
    }
    Tensor::from_vec(out, (1, heads, len, hd), c.device())
}

/// Writes `t` positions (`x`: `[H, t, hd]` f32) at positions `pos..pos + t` of a CPU
/// `[1, H, cap, hd]` buffer, converted to its dtype (f16 saturated at ±65504).
struct WriteRows<'a> {
    x: &'a [f32],
    hd: usize,
    cap: usize,
    pos: usize,
    t: usize,
}

impl candle::InplaceOp1 for WriteRows<'_> {
    fn name(&self) -> &'static str {
        "kv-write-rows"
    }

    fn cpu_fwd(&self, storage: &mut candle::CpuStorage, layout: &candle::Layout) -> Result<()> {
        use candle::CpuStorage;
        use half::slice::HalfFloatSliceExt;
        let Some((a, b)) = layout.contiguous_offsets() else {
            candle::bail!("KV cache buffer is not contiguous")
        };
        let n = self.t * self.hd;
        if self.x.len() != (b - a) / (self.cap * self.hd) * n || self.pos + self.t > self.cap {
            candle::bail!("KV rows do not fit the cache buffer")
        }
        // each head's `t` rows are contiguous in both
        let heads = self.x.chunks_exact(n).enumerate();
        let at = |head: usize| (head * self.cap + self.pos) * self.hd;
        match storage {
            CpuStorage::F32(d) => {
                let d = &mut d[a..b];
                heads.for_each(|(h, x)| d[at(h)..at(h) + n].copy_from_slice(x));
            }
            CpuStorage::F16(d) => {
                let d = &mut d[a..b];
                const CHUNK: usize = 256;
                let mut clamped = [0f32; CHUNK];
                for (h, x) in heads {
                    for (i, x) in x.chunks(CHUNK).enumerate() {
                        let c = &mut clamped[..x.len()];
                        c.iter_mut().zip(x).for_each(|(c, x)| *c = x.clamp(-F16_MAX, F16_MAX));
                        let o = at(h) + i * CHUNK;
                        d[o..o + x.len()].convert_from_f32_slice(c);
                    }
                }
            }
            _ => candle::bail!("KV cache rows are written in f32 or f16 only"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle::Device;

    #[test]
    fn append_and_truncate() -> Result<()> {
        let dev = Device::Cpu;
        let mut c = KvCache::new(1, 1, 1, 2, 4, DType::F32, &dev)?;
        let a = Tensor::new(&[[[[1f32, 2.0]]]], &dev)?;
        let (k, _) = c.append(0, &a, &a)?;
        c.advance(1);
        assert_eq!(k.flatten_all()?.to_vec1::<f32>()?, vec![1.0, 2.0]);
        let b = Tensor::new(&[[[[3f32, 4.0], [5.0, 6.0]]]], &dev)?;
        let (k, v) = c.append(0, &b, &b)?;
        c.advance(2);
        assert_eq!(k.flatten_all()?.to_vec1::<f32>()?, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(v.dims(), &[1, 1, 3, 2]);
        let snap = c.snapshot(2)?;
        let mut d = KvCache::new(1, 1, 1, 2, 4, DType::F32, &dev)?;
        d.restore(&snap)?;
        assert_eq!(d.len(), 2);
        let (k, _) = d.append(0, &a, &a)?;
        assert_eq!(k.flatten_all()?.to_vec1::<f32>()?, vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0]);
        assert!(c.snapshot(4).is_err());
        c.truncate(1);
        let (k, _) = c.append(0, &b, &b)?;
        assert_eq!(k.flatten_all()?.to_vec1::<f32>()?, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(
            c.append(0, &Tensor::zeros((1, 1, 2, 2), DType::F32, &dev)?, &a).is_err()
                || c.len() == 1
        );
        Ok(())
    }

    #[test]
    fn an_f16_cache_rounds_saturates_and_returns_the_callers_dtype() -> Result<()> {
        let dev = Device::Cpu;
        let mut c = KvCache::new(2, 1, 1, 2, 4, DType::F16, &dev)?;
        assert_eq!(c.dtype(), DType::F16);
        let a = Tensor::new(&[[[[1.0f32 / 3.0, 1e5]]]], &dev)?;
        let (k, v) = c.append(1, &a, &a)?;
        assert_eq!((k.dtype(), v.dims()), (DType::F32, &[1, 1, 1, 2][..]));
        // rounded to f16: 1/3 to 0.33325195; 1e5, beyond f16's range, saturated
        assert_eq!(k.flatten_all()?.to_vec1::<f32>()?, vec![0.33325195, 65504.0]);
        c.write_row(0, &[0.5, -2.0], &[0.25, 4.0])?;
        c.advance(1);
        let (k0, v0) = c.layer(0);
        let row = |t: &Tensor| -> Result<Vec<f32>> {
            t.narrow(2, 0, 1)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
        };
        assert_eq!((row(k0)?, row(v0)?), (vec![0.5, -2.0], vec![0.25, 4.0]));
        Ok(())
    }

    #[test]
    fn a_cache_not_written_in_place_goes_through_tensor_ops() -> Result<()> {
        // bf16 on the CPU: not an in-place dtype, same results through tensor ops
        let dev = Device::Cpu;
        let mut c = KvCache::new(1, 1, 2, 2, 2, DType::BF16, &dev)?;
        c.write_row(0, &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0])?;
        c.advance(1);
        let a = Tensor::new(&[[[[0.5f32, 1.5]], [[2.5, 3.5]]]], &dev)?;
        let (k, v) = c.append(0, &a, &a)?;
        c.advance(1);
        assert_eq!(k.dtype(), DType::F32);
        assert_eq!(
            k.flatten_all()?.to_vec1::<f32>()?,
            vec![1.0, 2.0, 0.5, 1.5, 3.0, 4.0, 2.5, 3.5]
        );
        assert_eq!(
            v.flatten_all()?.to_vec1::<f32>()?,
            vec![5.0, 6.0, 0.5, 1.5, 7.0, 8.0, 2.5, 3.5]
        );
        let full = c.write_row(0, &[0.0; 4], &[0.0; 4]).unwrap_err().to_string();
        assert!(full.contains("KV cache full"), "{full}");
        Ok(())
    }
}
