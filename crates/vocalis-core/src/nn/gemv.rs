//! Matrix–vector products for one-row float linear layers on CPU (the GPT's per-token steps).
//!
//! A batch-1 decoding step reads every weight once, so its speed is bounded by memory
//! bandwidth. candle's f32 matmul runs a general GEMM that packs its operands even for a single
//! row; here each output is one dot product over a contiguous weight row, computed with AVX-512
//! or AVX2 FMA when the CPU has them (detected at run time) and split over the rayon pool by
//! blocks of rows, so the weights stream through once at close to the machine's bandwidth.
//! Results equal the GEMM's up to float summation order.

use candle::{Device, Result, Tensor};
use rayon::prelude::*;

/// Output rows per parallel task.
const ROWS_PER_TASK: usize = 32;

/// `y = x Wᵀ + b` for `x` of shape `[m, in]` and a contiguous f32 `W [out, in]` on the CPU: one
/// row as the matrix–vector product below, more (a prefill) through the tiled product of
/// [`super::q8::gemm_f32`]; `None` when those conditions do not hold or gradients are tracked
/// (the caller then uses candle).
pub fn try_linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Option<Tensor>> {
    let (m, k) = x.dims2()?;
    if m == 0
        || !matches!(x.device(), Device::Cpu)
        || x.dtype() != candle::DType::F32
        || weight.dtype() != candle::DType::F32
        || x.track_op()
        || weight.track_op()
        || bias.is_some_and(|b| b.track_op() || b.dtype() != candle::DType::F32)
    {
        return Ok(None);
    }
    let (n, wk) = weight.dims2()?;
    if wk != k {
        return Ok(None);
    }
    let x = x.flatten_all()?.to_vec1::<f32>()?;
    let b = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
    let mut y = vec![0f32; m * n];
    let done = super::with_cpu_f32(weight, |w| {
        if m == 1 {
            gemv(w, &x, b.as_deref(), &mut y);
            return true;
        }
        let done = super::q8::gemm_f32(w, n, k, &x, m, &mut y);
        if let (true, Some(b)) = (done, &b) {
            super::add_to_rows(&mut y, b);
        }
        done
    });
    if done != Some(true) {
        return Ok(None);
    }
    Tensor::from_vec(y, (m, n), &Device::Cpu).map(Some)
}

/// `y[i] = dot(w[i·k .. (i+1)·k], x) + b[i]` with `k = x.len()`, `w` row-major `[y.len(), k]`.
pub fn gemv(w: &[f32], x: &[f32], b: Option<&[f32]>, y: &mut [f32]) {
    let k = x.len();
    assert_eq!(w.len(), y.len() * k, "gemv: weight is not [out, in]");
    if let Some(b) = b {
        assert_eq!(b.len(), y.len(), "gemv: bias length");
    }
    let dot = dot_kernel();
    y.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(t, ys)| {
        let r0 = t * ROWS_PER_TASK;
        for (i, yi) in ys.iter_mut().enumerate() {
            let row = &w[(r0 + i) * k..(r0 + i + 1) * k];
            *yi = dot(row, x) + b.map_or(0.0, |b| b[r0 + i]);
        }
    });
}

/// `Σ a[i]·b[i]` with the kernel `gemv` uses.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_kernel()(a, b)
}

/// Memory read bandwidth in GB/s: a 512 MiB buffer streamed through [`dot`] on the rayon pool
/// (`dot(c, c)` reads each byte once), best of five. What bounds a batch-1 GPT step; `vocalis
/// bench` reports it.
pub fn read_bandwidth_gbs() -> f64 {
    let buf = vec![1f32; 128 << 20];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let s: f32 = buf.par_chunks(1 << 18).map(|c| dot(c, c)).sum();
        std::hint::black_box(s);
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::mem::size_of_val(buf.as_slice()) as f64 / best / 1e9
}

type DotFn = fn(&[f32], &[f32]) -> f32;

/// The fastest dot product this CPU supports (decided once).
fn dot_kernel() -> DotFn {
    static KERNEL: std::sync::OnceLock<DotFn> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return x86::dot_avx512_safe;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return x86::dot_avx2_safe;
            }
        }
        dot_portable
    })
}

/// Eight independent partial sums, which the compiler vectorises on any target.
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (xa, xb) in (&mut ca).zip(&mut cb) {
        for j in 0..8 {
            acc[j] += xa[j] * xb[j];
        }
    }
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(p, q)| p * q).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub(super) fn dot_avx512_safe(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: selected only after `is_x86_feature_detected!("avx512f")`.
        unsafe { dot_avx512(a, b) }
    }

    pub(super) fn dot_avx2_safe(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: selected only after detecting avx2 and fma.
        unsafe { dot_avx2(a, b) }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: every load reads 16 floats at an offset + 16 <= n.
        unsafe {
            while i + 64 <= n {
                for (j, s) in acc.iter_mut().enumerate() {
                    let x = _mm512_loadu_ps(pa.add(i + 16 * j));
                    let y = _mm512_loadu_ps(pb.add(i + 16 * j));
                    *s = _mm512_fmadd_ps(x, y, *s);
                }
                i += 64;
            }
            while i + 16 <= n {
                acc[0] =
                    _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc[0]);
                i += 16;
            }
            let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
            let mut r = _mm512_reduce_add_ps(s);
            while i < n {
                r += a[i] * b[i];
                i += 1;
            }
            r
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: every load reads 8 floats at an offset + 8 <= n.
        unsafe {
            while i + 32 <= n {
                for (j, s) in acc.iter_mut().enumerate() {
                    let x = _mm256_loadu_ps(pa.add(i + 8 * j));
                    let y = _mm256_loadu_ps(pb.add(i + 8 * j));
                    *s = _mm256_fmadd_ps(x, y, *s);
                }
                i += 32;
            }
            let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), s);
            let mut r: f32 = lanes.iter().sum();
            while i < n {
                r += a[i] * b[i];
                i += 1;
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(w: &[f32], x: &[f32], b: Option<&[f32]>, n: usize) -> Vec<f64> {
        let k = x.len();
        (0..n)
            .map(|i| {
                let d: f64 = (0..k).map(|j| w[i * k + j] as f64 * x[j] as f64).sum();
                d + b.map_or(0.0, |b| b[i] as f64)
            })
            .collect()
    }

    #[test]
    fn kernels_agree_with_f64_on_odd_sizes() {
        for &(n, k) in &[(1, 1), (3, 7), (33, 64), (70, 1000), (65, 1027)] {
            let w: Vec<f32> =
                (0..n * k).map(|i| ((i * 7919 % 1013) as f32 / 1013.0) - 0.5).collect();
            let x: Vec<f32> = (0..k).map(|i| ((i * 104729 % 997) as f32 / 997.0) - 0.5).collect();
            let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
            let want = reference(&w, &x, Some(&b), n);
            let mut y = vec![0f32; n];
            gemv(&w, &x, Some(&b), &mut y);
            for (got, want) in y.iter().zip(&want) {
                assert!((*got as f64 - want).abs() < 1e-4, "{n}x{k}: {got} vs {want}");
            }
            for f in [dot_portable as DotFn, dot_kernel()] {
                let d = f(&w[..k], &x);
                assert!((d as f64 - (want[0] - b[0] as f64)).abs() < 1e-4);
            }
        }
    }

    /// Whether more than one row takes the tiled product (AVX2 and FMA).
    fn tiled() -> bool {
        #[cfg(target_arch = "x86_64")]
        return std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    #[test]
    fn linear_equals_candle_matmul() -> Result<()> {
        let dev = Device::Cpu;
        // 56 outputs: two tasks of 24 weight rows read in place, one padded; rows of `x`: one
        // (the matrix–vector product), fewer than a tile of 8, tiles and rows left over
        let w = Tensor::randn(0f32, 1.0, (56, 96), &dev)?;
        let b = Tensor::randn(0f32, 1.0, 56, &dev)?;
        for m in [1, 3, 8, 35] {
            let x = Tensor::randn(0f32, 1.0, (m, 96), &dev)?;
            let Some(y) = try_linear(&x, &w, Some(&b))? else {
                assert!(m > 1 && !tiled(), "the fast path applies to {m} rows");
                continue;
            };
            let want = x.matmul(&w.t()?)?.broadcast_add(&b)?;
            let err = (y - want)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(err < 1e-4, "{m} rows: {err}");
        }
        // a transposed weight, an input width the tiles do not divide, or a tracked variable:
        // not taken
        let x = Tensor::randn(0f32, 1.0, (1, 96), &dev)?;
        let wt = Tensor::randn(0f32, 1.0, (96, 40), &dev)?.t()?;
        assert!(try_linear(&x, &wt, None)?.is_none());
        let w_odd = Tensor::randn(0f32, 1.0, (40, 90), &dev)?;
        let x_odd = Tensor::randn(0f32, 1.0, (5, 90), &dev)?;
        assert!(try_linear(&x_odd, &w_odd, None)?.is_none());
        let v = candle::Var::from_tensor(&w)?;
        assert!(try_linear(&x, v.as_tensor(), None)?.is_none());
        Ok(())
    }
}
