//! A preallocated attention KV cache: one `[B, H, capacity, head_dim]` buffer per layer for
//! keys and values, written in place. Appending never reallocates or copies what is already
//! cached, so decoding cost per token does not grow with a copy of the history.

use candle::{Result, Tensor};

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
        let mk = || Tensor::zeros((batch, heads, capacity, head_dim), dtype, device);
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

    /// Writes `k`, `v` (`[B, H, T, hd]`) of `layer` at the current end and returns views of all
    /// cached keys and values including them. Call [`KvCache::advance`] once all layers wrote.
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let t = k.dim(2)?;
        if self.len + t > self.capacity {
            candle::bail!(
                "KV cache full: {} + {t} positions exceed its capacity of {}",
                self.len,
                self.capacity
            )
        }
        self.k[layer].slice_set(&k.contiguous()?, 2, self.len)?;
        self.v[layer].slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((self.k[layer].narrow(2, 0, self.len + t)?, self.v[layer].narrow(2, 0, self.len + t)?))
    }

    /// Writes one position's keys and values of `layer` (each `[H·hd]`, head-major) at the
    /// current end, like [`KvCache::append`] with `t = 1`.
    pub fn write_row(&mut self, layer: usize, k: &[f32], v: &[f32]) -> Result<()> {
        let (_, heads, _, hd) = self.k[layer].dims4()?;
        let dev = self.k[layer].device().clone();
        let k = Tensor::from_slice(k, (1, heads, 1, hd), &dev)?.to_dtype(self.k[layer].dtype())?;
        let v = Tensor::from_slice(v, (1, heads, 1, hd), &dev)?.to_dtype(self.v[layer].dtype())?;
        self.append(layer, &k, &v).map(|_| ())
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle::{DType, Device};

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
}
