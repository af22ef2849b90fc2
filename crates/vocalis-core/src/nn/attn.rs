//! One query's attention over one head's cached keys and values: the GPT's per-token step.
//!
//! `out = softmax(scale · K q) · V` with `K`, `V` the head's `len` cached rows of `hd` floats.
//! A step reads the whole cache (30 layers × 2 × len × 1024 floats: 70 MB at 300 positions),
//! so this is a second stream beside the weights. With AVX2 and `hd` a multiple of 8 up to 64
//! the query and the output stay in registers: four keys at a time give four scores, the
//! softmax uses the polynomial `exp` of [`super::act`], and each value row is one FMA per 8
//! lanes (the scalar loop it replaces called a dot product per key and `expf` per score, and
//! read and wrote the output row for every value row).
//!
//! The cache holds f32 or f16 ([`KvElem`]): f16 halves that stream for quantized models,
//! whose weights already round far more (see [`crate::models::gpt::Gpt::kv_dtype`]).

use std::cell::RefCell;

use half::f16;

/// An element type of the KV cache: `f32`, or `f16` (converted to f32 as it is read).
pub trait KvElem: Copy + Send + Sync + 'static {
    /// The value as f32.
    fn to_f32(self) -> f32;
    /// Eight consecutive values from `p` as f32 lanes.
    ///
    /// # Safety
    /// `p..p + 8` must be readable and the CPU must have AVX2 and F16C; call only from code
    /// compiled with those features.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256;
}

impl KvElem for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const f32) -> std::arch::x86_64::__m256 {
        // SAFETY: the caller's contract
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
}

impl KvElem for f16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const f16) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        // SAFETY: the caller's contract (16 readable bytes, F16C)
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)) }
    }
}

thread_local! {
    /// The scores of [`attend`], reused across calls on each worker.
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out = softmax(scale · k q) v` for `q [hd]`, `k`, `v` row-major `[len, hd]` (`len ≥ 1`).
pub fn attend<T: KvElem>(q: &[f32], k: &[T], v: &[T], scale: f32, out: &mut [f32]) {
    SCORES.with_borrow_mut(|p| attend_with(q, k, v, scale, p, out))
}

fn attend_with<T: KvElem>(
    q: &[f32],
    k: &[T],
    v: &[T],
    scale: f32,
    p: &mut Vec<f32>,
    out: &mut [f32],
) {
    let hd = q.len();
    assert!(hd > 0 && out.len() == hd, "attention: query and output of {hd} and {}", out.len());
    assert!(k.len() == v.len() && k.len().is_multiple_of(hd) && !k.is_empty(), "attention cache");
    let len = k.len() / hd;
    p.clear();
    p.resize(len, 0.0);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c")
    {
        // SAFETY: the CPU has AVX2, FMA and F16C; the lengths are checked above and in
        // `x86::attend`.
        let done = unsafe {
            match hd {
                8 => x86::attend::<T, 1>(q, k, v, scale, p, out),
                16 => x86::attend::<T, 2>(q, k, v, scale, p, out),
                32 => x86::attend::<T, 4>(q, k, v, scale, p, out),
                64 => x86::attend::<T, 8>(q, k, v, scale, p, out),
                _ => false,
            }
        };
        if done {
            return;
        }
    }
    attend_portable(q, k, v, scale, p, out)
}

fn attend_portable<T: KvElem>(
    q: &[f32],
    k: &[T],
    v: &[T],
    scale: f32,
    p: &mut [f32],
    out: &mut [f32],
) {
    let hd = q.len();
    for (s, kr) in p.iter_mut().zip(k.chunks_exact(hd)) {
        *s = q.iter().zip(kr).map(|(a, b)| a * b.to_f32()).sum::<f32>() * scale;
    }
    let sum = exp_shifted(p);
    out.fill(0.0);
    for (s, vr) in p.iter().zip(v.chunks_exact(hd)) {
        out.iter_mut().zip(vr).for_each(|(o, x)| *o += s * x.to_f32());
    }
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// `p[j] = e^{p[j] − max p}` and their sum, in loops over 8 independent lanes that vectorise
/// (an `f32` running sum or max would force one element at a time).
#[inline(always)]
pub(crate) fn exp_shifted(p: &mut [f32]) -> f32 {
    let lanes = |p: &[f32], init: f32, f: fn(f32, f32) -> f32| {
        let mut acc = [init; 8];
        let mut chunks = p.chunks_exact(8);
        for c in &mut chunks {
            for (a, v) in acc.iter_mut().zip(c) {
                *a = f(*a, *v);
            }
        }
        chunks.remainder().iter().chain(&acc).fold(init, |a, v| f(a, *v))
    };
    let max = lanes(p, f32::NEG_INFINITY, f32::max);
    for s in p.iter_mut() {
        *s = super::act::exp(*s - max);
    }
    lanes(p, 0.0, |a, b| a + b)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::KvElem;

    /// [`super::attend`] for `hd = 8·C`; `false` if the lengths do not fit.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn attend<T: KvElem, const C: usize>(
        q: &[f32],
        k: &[T],
        v: &[T],
        scale: f32,
        p: &mut [f32],
        out: &mut [f32],
    ) -> bool {
        let hd = 8 * C;
        let len = p.len();
        if q.len() != hd || out.len() != hd || k.len() != len * hd || v.len() != len * hd {
            return false;
        }
        // SAFETY: key/value row j is floats j·hd .. (j+1)·hd < len·hd of `k`/`v`; q, out and
        // p are read and written within their checked lengths.
        unsafe {
            let qv: [__m256; C] = std::array::from_fn(|c| _mm256_loadu_ps(q.as_ptr().add(8 * c)));
            let (kp, vp, pp) = (k.as_ptr(), v.as_ptr(), p.as_mut_ptr());
            let dot = |j: usize| {
                let row = kp.add(j * hd);
                let mut a = _mm256_mul_ps(qv[0], T::load8(row));
                for (c, qc) in qv.iter().enumerate().skip(1) {
                    a = _mm256_fmadd_ps(*qc, T::load8(row.add(8 * c)), a);
                }
                a
            };
            let sv = _mm_set1_ps(scale);
            let mut j = 0;
            while j + 4 <= len {
                let h01 = _mm256_hadd_ps(dot(j), dot(j + 1));
                let h23 = _mm256_hadd_ps(dot(j + 2), dot(j + 3));
                let h = _mm256_hadd_ps(h01, h23);
                let s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
                _mm_storeu_ps(pp.add(j), _mm_mul_ps(s, sv));
                j += 4;
            }
            while j < len {
                let a = dot(j);
                let r = _mm_add_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
                let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
                *pp.add(j) = _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r))) * scale;
                j += 1;
            }
            let sum = super::exp_shifted(p);
            let mut acc = [_mm256_setzero_ps(); C];
            for (j, s) in p.iter().enumerate() {
                let w = _mm256_set1_ps(*s);
                let row = vp.add(j * hd);
                for (c, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(w, T::load8(row.add(8 * c)), *a);
                }
            }
            let inv = _mm256_set1_ps(1.0 / sum);
            for (c, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * c), _mm256_mul_ps(*a, inv));
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(q: &[f32], k: &[f32], v: &[f32], scale: f32) -> Vec<f64> {
        let hd = q.len();
        let s: Vec<f64> = k
            .chunks_exact(hd)
            .map(|kr| q.iter().zip(kr).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>())
            .map(|x| x * scale as f64)
            .collect();
        let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        (0..hd)
            .map(|c| e.iter().zip(v.chunks_exact(hd)).map(|(w, vr)| w * vr[c] as f64).sum::<f64>())
            .map(|x| x / sum)
            .collect()
    }

    #[test]
    fn attention_equals_the_f64_softmax() {
        let val = |i: usize, seed: usize| ((i * 2654435761 + seed) % 10007) as f32 / 10007.0 - 0.5;
        // head sizes of the kernels and of the fallback, lengths around the 4-key groups
        for hd in [8, 16, 24, 64] {
            for len in [1, 3, 4, 5, 67, 300] {
                let q: Vec<f32> = (0..hd).map(|i| val(i, 1) * 4.0).collect();
                let k: Vec<f32> = (0..len * hd).map(|i| val(i, 2) * 4.0).collect();
                let v: Vec<f32> = (0..len * hd).map(|i| val(i, 3)).collect();
                let scale = 1.0 / (hd as f32).sqrt();
                let want = exact(&q, &k, &v, scale);
                let (mut out, mut portable) = (vec![0f32; hd], vec![0f32; hd]);
                attend(&q, &k, &v, scale, &mut out);
                attend_portable(&q, &k, &v, scale, &mut vec![0.0; len], &mut portable);
                for c in 0..hd {
                    let tol = 1e-5 * (1.0 + want[c].abs());
                    assert!((out[c] as f64 - want[c]).abs() < tol, "hd {hd} len {len} lane {c}");
                    assert!((portable[c] as f64 - want[c]).abs() < tol, "portable hd {hd}");
                }
                // an f16 cache: the same attention over the f16-rounded keys and values
                let (k16, v16): (Vec<f16>, Vec<f16>) = (
                    k.iter().map(|x| f16::from_f32(*x)).collect(),
                    v.iter().map(|x| f16::from_f32(*x)).collect(),
                );
                let rounded = |h: &[f16]| h.iter().map(|x| x.to_f32()).collect::<Vec<f32>>();
                let want16 = exact(&q, &rounded(&k16), &rounded(&v16), scale);
                attend(&q, &k16, &v16, scale, &mut out);
                attend_portable(&q, &k16, &v16, scale, &mut vec![0.0; len], &mut portable);
                for c in 0..hd {
                    let tol = 1e-5 * (1.0 + want16[c].abs());
                    assert!(
                        (out[c] as f64 - want16[c]).abs() < tol,
                        "f16 hd {hd} len {len} lane {c}"
                    );
                    assert!((portable[c] as f64 - want16[c]).abs() < tol, "f16 portable hd {hd}");
                    // and f16 storage moves the result by far less than q8_0 weights do
                    assert!((out[c] as f64 - want[c]).abs() < 2e-3, "f16 vs f32 hd {hd} len {len}");
                }
            }
        }
    }
}
