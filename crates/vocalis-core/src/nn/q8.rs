//! q8_0 matrix products on the CPU for the quantized GPT (candle's ggml `BlockQ8_0` layout: per
//! 32 weights an f16 scale `d` and 32 `i8`, 34 bytes). On CPUs with AVX-512 VNNI the weights
//! are repacked at load instead and multiplied by `nn::q8_vnni`; these kernels serve the others.
//! Both compute ggml's q8_0 × q8_0 product: each activation row is quantized to q8_0 first.
//!
//! - **One to [`GEMV_MAX_ROWS`] input rows** (a decoding step): each output is ggml's q8_0 ×
//!   q8_0 dot product (exact integer block sums, scaled by `d_w·d_x` in f32). Blocks of rows
//!   are split over the rayon pool and each thread reads its rows as one sequential,
//!   prefetched stream: the weights go through once, which is what bounds a batch-1 step.
//! - **More rows** (the prefill): the activations, rounded to q8_0 and back, are multiplied
//!   with weight rows dequantized to f32 16 at a time by register-blocked AVX2 micro-kernels
//!   that broadcast the weights against transposed tiles of 8 activation rows (rows left
//!   over as dot products); nothing but the activations is packed (the `gemm` crate spent
//!   more time packing the dequantized panels than multiplying them: 36 % vs 34 % of a
//!   prefill). Without AVX2, panels of dequantized rows go to the `gemm` crate. candle
//!   multiplies each activation row against the whole quantized matrix with its integer dot
//!   products; on CPUs without AVX-512 VNNI that made the q8_0 prefill ~4× slower than f32.
//!   f32 weights take the same path from the second row on ([`gemm_f32`]), their rows read
//!   in place.

use std::cell::RefCell;

use candle::quantized::{GgmlDType, QTensor};
use candle::{Device, Result, Tensor};
use half::f16;
use rayon::prelude::*;

/// Weights per block.
const QK: usize = 32;
/// Bytes per block: f16 scale and 32 `i8`.
const BLOCK_BYTES: usize = 2 + QK;
/// Input rows up to which each row is a matrix–vector product over int8 blocks.
pub const GEMV_MAX_ROWS: usize = 4;
/// Weight rows per parallel task of the matrix–vector product (a multiple of 4).
const GEMV_ROWS_PER_TASK: usize = 32;
/// Size in f32 of the dequantized panel of the prefill path (fits in a core's L2 cache).
const PANEL_FLOATS: usize = 128 * 1024;

/// `y = x Wᵀ + b` for a q8_0 weight `[out, in]` and f32 `x [m, in]` on the CPU; `None` when
/// those conditions do not hold (the caller then uses candle's kernels).
pub fn try_matmul(x: &Tensor, w: &QTensor, bias: Option<&Tensor>) -> Result<Option<Tensor>> {
    if w.dtype() != GgmlDType::Q8_0
        || !w.device().is_cpu()
        || !matches!(x.device(), Device::Cpu)
        || x.dtype() != candle::DType::F32
        || x.track_op()
        || bias.is_some_and(|b| b.dtype() != candle::DType::F32 || b.track_op())
    {
        return Ok(None);
    }
    let (m, k) = x.dims2()?;
    let Ok((n, wk)) = w.shape().dims2() else { return Ok(None) };
    if wk != k || !k.is_multiple_of(QK) {
        return Ok(None);
    }
    let data = w.data()?;
    if data.len() != n * (k / QK) * BLOCK_BYTES {
        return Ok(None);
    }
    let xs = x.flatten_all()?.to_vec1::<f32>()?;
    let b = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
    let mut y = vec![0f32; m * n];
    if m <= GEMV_MAX_ROWS {
        for (xr, yr) in xs.chunks_exact(k).zip(y.chunks_exact_mut(n)) {
            gemv(&data, &quantize_row(xr), yr);
        }
    } else {
        // the activations rounded to q8_0 as in the one-row path (and in the AVX-512 VNNI
        // kernels, `nn::q8_vnni`), so that every q8_0 product is ggml's q8_0 × q8_0 one
        gemm(&data, n, k, &round_rows(&xs, k), m, &mut y);
    }
    if let Some(b) = b {
        super::add_to_rows(&mut y, &b);
    }
    Tensor::from_vec(y, (m, n), &Device::Cpu).map(Some)
}

/// An activation row quantized to q8_0 (ggml's `quantize_row_q8_0`): the scales as the f32
/// values of their f16 encoding, and the quantized values.
pub struct QuantizedRow {
    d: Vec<f32>,
    qs: Vec<i8>,
}

impl QuantizedRow {
    /// Each block's scale.
    pub fn d(&self) -> &[f32] {
        &self.d
    }

    /// The quantized values.
    pub fn qs(&self) -> &[i8] {
        &self.qs
    }
}

/// Quantizes `x` (length a multiple of 32) as candle's `BlockQ8_0::from_float` does: per block
/// `d = max|x| / 127` (kept as its f16 value), `q = round(x / d)` with ties away from zero.
///
/// Every product of a q8_0 GPT step quantizes its input first, on one thread while the other
/// waits: the explicit AVX-512 and AVX2 versions give the values of the scalar one
/// ([`quantize_scalar`]; `max` and `round` are exact in any order) in 0.44 µs for a row of 1024
/// and 1.6 µs for 4096 on the Zen 4 EPYC, where the scalar loop took 2.3 and 8.4 µs (~0.4 ms
/// of a 15–19 ms step).
pub fn quantize_row(x: &[f32]) -> QuantizedRow {
    assert!(x.len().is_multiple_of(QK), "q8_0 row of {} values", x.len());
    let mut d = vec![0f32; x.len() / QK];
    let mut qs = vec![0i8; x.len()];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512 F; `d` holds a scale per block of `x`, `qs` a value
            // per element.
            unsafe { x86::quantize_avx512(x, &mut d, &mut qs) };
            return QuantizedRow { d, qs };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("f16c") {
            // SAFETY: as above, with AVX2 and F16C.
            unsafe { x86::quantize_avx2(x, &mut d, &mut qs) };
            return QuantizedRow { d, qs };
        }
    }
    quantize_scalar(x, &mut d, &mut qs);
    QuantizedRow { d, qs }
}

/// [`quantize_row`] without SIMD (what the SIMD versions are tested against).
fn quantize_scalar(x: &[f32], d: &mut [f32], qs: &mut [i8]) {
    for ((xb, qb), d) in x.chunks_exact(QK).zip(qs.chunks_exact_mut(QK)).zip(d) {
        let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
        let s = amax / 127.0;
        let id = if s != 0.0 { 1.0 / s } else { 0.0 };
        *d = f16::from_f32(s).to_f32();
        for (q, v) in qb.iter_mut().zip(xb) {
            *q = (v * id).round() as i8;
        }
    }
}

/// The rows of `x` (`k` values each) quantized to q8_0 and back to f32 (`d·q`).
pub fn round_rows(x: &[f32], k: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(k) {
        let q = quantize_row(row);
        for (qb, d) in q.qs.chunks_exact(QK).zip(&q.d) {
            out.extend(qb.iter().map(|&v| v as f32 * d));
        }
    }
    out
}

/// `y[i] = Σ_b d_w[i,b]·d_x[b]·Σ_j w[i,b,j]·x[b,j]` over the q8_0 rows of `w` (`y.len()` rows).
pub fn gemv(w: &[u8], x: &QuantizedRow, y: &mut [f32]) {
    let nb = x.d.len();
    let row_bytes = nb * BLOCK_BYTES;
    assert_eq!(w.len(), y.len() * row_bytes, "q8_0 gemv: weight is not [out, in]");
    let kernel = rows_kernel();
    y.par_chunks_mut(GEMV_ROWS_PER_TASK).enumerate().for_each(|(t, ys)| {
        let r0 = t * GEMV_ROWS_PER_TASK;
        kernel(&w[r0 * row_bytes..(r0 + ys.len()) * row_bytes], x, ys);
    });
}

/// Computes `ys.len()` consecutive rows of [`gemv`] from their blocks `w`.
type RowsFn = fn(&[u8], &QuantizedRow, &mut [f32]);

fn rows_kernel() -> RowsFn {
    static KERNEL: std::sync::OnceLock<RowsFn> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c")
            {
                return x86::rows_avx2_safe;
            }
        }
        rows_portable
    })
}

fn block_scale(b: &[u8]) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()
}

/// Eight f32 lanes per row, accumulated over blocks, then summed.
fn rows_portable(w: &[u8], x: &QuantizedRow, ys: &mut [f32]) {
    let nb = x.d.len();
    for (row, y) in w.chunks_exact(nb * BLOCK_BYTES).zip(ys.iter_mut()) {
        let mut acc = [0f32; 8];
        for ((blk, xq), dx) in row.chunks_exact(BLOCK_BYTES).zip(x.qs.chunks_exact(QK)).zip(&x.d) {
            let d = block_scale(blk) * dx;
            for (lane, a) in acc.iter_mut().enumerate() {
                let s: i32 = (0..4)
                    .map(|j| blk[2 + lane * 4 + j] as i8 as i32 * xq[lane * 4 + j] as i32)
                    .sum();
                *a += d * s as f32;
            }
        }
        let h: [f32; 4] = std::array::from_fn(|i| acc[i] + acc[i + 4]);
        *y = (h[0] + h[2]) + (h[1] + h[3]);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{BLOCK_BYTES, QK, QuantizedRow};
    use crate::nn::tiles::x86::kernel6x2;

    /// [`super::quantize_row`] with AVX-512 F: the values of [`super::quantize_scalar`] (`max`
    /// is exact in any order; ties are rounded away from zero from the exact fraction `y −
    /// trunc(y)`; the scales go to f16 and back with the hardware's round-to-nearest-even, as
    /// `half` does).
    ///
    /// # Safety
    /// AVX-512 F must be present; `x.len() == 32 · d.len() == qs.len()`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn quantize_avx512(x: &[f32], d: &mut [f32], qs: &mut [i8]) {
        assert!(x.len() == d.len() * QK && qs.len() == x.len());
        // SAFETY: every load and store is within the lengths asserted above.
        unsafe {
            let (zero, half, one) = (_mm512_setzero_ps(), _mm512_set1_ps(0.5), _mm512_set1_ps(1.0));
            for (b, d) in d.iter_mut().enumerate() {
                let p = x.as_ptr().add(b * QK);
                let v = [_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16))];
                let amax =
                    _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v[0]), _mm512_abs_ps(v[1])));
                let s = amax / 127.0;
                let id = _mm512_set1_ps(if s != 0.0 { 1.0 / s } else { 0.0 });
                *d = s;
                for (h, v) in v.into_iter().enumerate() {
                    let y = _mm512_mul_ps(v, id);
                    let t = _mm512_roundscale_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(y);
                    let tie =
                        _mm512_cmp_ps_mask::<_CMP_GE_OQ>(_mm512_abs_ps(_mm512_sub_ps(y, t)), half);
                    let up = tie & _mm512_cmp_ps_mask::<_CMP_GT_OQ>(y, zero);
                    let down = tie & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(y, zero);
                    let r = _mm512_mask_sub_ps(_mm512_mask_add_ps(t, up, t, one), down, t, one);
                    let q = _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(r));
                    _mm_storeu_si128(qs.as_mut_ptr().add(b * QK + h * 16).cast(), q);
                }
            }
            let mut chunks = d.chunks_exact_mut(16);
            for c in &mut chunks {
                let h = _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                    _mm512_loadu_ps(c.as_ptr()),
                );
                _mm512_storeu_ps(c.as_mut_ptr(), _mm512_cvtph_ps(h));
            }
            for d in chunks.into_remainder() {
                *d = half::f16::from_f32(*d).to_f32();
            }
        }
    }

    /// [`quantize_avx512`] with AVX2 and F16C (the same values).
    ///
    /// # Safety
    /// AVX2 and F16C must be present; `x.len() == 32 · d.len() == qs.len()`.
    #[target_feature(enable = "avx2,f16c")]
    pub(super) unsafe fn quantize_avx2(x: &[f32], d: &mut [f32], qs: &mut [i8]) {
        assert!(x.len() == d.len() * QK && qs.len() == x.len());
        // SAFETY: every load and store is within the lengths asserted above.
        unsafe {
            let sign = _mm256_set1_ps(-0.0);
            let (half, one) = (_mm256_set1_ps(0.5), _mm256_set1_ps(1.0));
            let abs = |v| _mm256_andnot_ps(sign, v);
            // `packs` interleaves the 128-bit lanes; this puts the 8 groups of 4 back in order
            let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            for (b, d) in d.iter_mut().enumerate() {
                let p = x.as_ptr().add(b * QK);
                let v: [__m256; 4] = std::array::from_fn(|i| _mm256_loadu_ps(p.add(8 * i)));
                let m = _mm256_max_ps(
                    _mm256_max_ps(abs(v[0]), abs(v[1])),
                    _mm256_max_ps(abs(v[2]), abs(v[3])),
                );
                let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
                let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
                let amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
                let s = amax / 127.0;
                let id = _mm256_set1_ps(if s != 0.0 { 1.0 / s } else { 0.0 });
                *d = s;
                let i: [__m256i; 4] = std::array::from_fn(|i| {
                    let y = _mm256_mul_ps(v[i], id);
                    let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(y);
                    let tie = _mm256_cmp_ps::<_CMP_GE_OQ>(abs(_mm256_sub_ps(y, t)), half);
                    // ±1 where the fraction is a half or more, with the sign of `y`
                    let step = _mm256_and_ps(tie, _mm256_or_ps(one, _mm256_and_ps(y, sign)));
                    _mm256_cvttps_epi32(_mm256_add_ps(t, step))
                });
                let q = _mm256_packs_epi16(
                    _mm256_packs_epi32(i[0], i[1]),
                    _mm256_packs_epi32(i[2], i[3]),
                );
                let q = _mm256_permutevar8x32_epi32(q, order);
                _mm256_storeu_si256(qs.as_mut_ptr().add(b * QK).cast(), q);
            }
            let mut chunks = d.chunks_exact_mut(8);
            for c in &mut chunks {
                let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(c.as_ptr()));
                _mm256_storeu_ps(c.as_mut_ptr(), _mm256_cvtph_ps(h));
            }
            for d in chunks.into_remainder() {
                *d = half::f16::from_f32(*d).to_f32();
            }
        }
    }

    pub(super) fn rows_avx2_safe(w: &[u8], x: &QuantizedRow, ys: &mut [f32]) {
        let nb = x.d.len();
        assert_eq!(w.len(), ys.len() * nb * BLOCK_BYTES);
        assert_eq!(x.qs.len(), nb * QK);
        // SAFETY: selected only after detecting avx2, fma and f16c; the lengths are checked.
        unsafe { rows_avx2(w, x, ys) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn hsum(x: __m256) -> f32 {
        let r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
        let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
        _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r)))
    }

    /// One block of one row: `acc += d_w·d_x · (Σ of 4-product groups as 8 i32 lanes)`, with
    /// `ax = |x|` and `sx = x` of the activation block.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn block(p: *const u8, ax: __m256i, sx: __m256i, dx: __m256, acc: __m256) -> __m256 {
        // SAFETY: the caller passes a pointer to a whole 34-byte block.
        unsafe {
            let dw = _mm256_cvtph_ps(_mm_set1_epi16(p.cast::<i16>().read_unaligned()));
            let wq = _mm256_loadu_si256(p.add(2).cast());
            // |x| · (w·sign(x)) = w·x with the unsigned × signed byte product; |x| is shared by
            // every row, so a block costs one sign instead of ggml's two
            let ones = _mm256_set1_epi16(1);
            let s16 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wq, sx));
            let s = _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones));
            _mm256_fmadd_ps(_mm256_mul_ps(dw, dx), s, acc)
        }
    }

    /// Bytes ahead of the current block that are prefetched (`vocalis bench`-style streaming of
    /// 30 layers: 26 ms with four interleaved rows, 20 ms one row at a time, 17.6 ms with this
    /// prefetch; `cargo bench --bench gpt_kernels`), into L2 only (`T1`; to L1, `T0`, a q8_0
    /// step was ~6 % slower on a Zen 4 in alternating runs on 2026-12-07: the prefetches held
    /// the L1's few miss buffers).
    const PREFETCH: usize = 1024;

    /// Each row in turn, so that the weights are read as one sequential stream per thread (four
    /// rows walked together share activation loads but defeat the hardware prefetcher), with two
    /// accumulators over alternate blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn rows_avx2(w: &[u8], x: &QuantizedRow, ys: &mut [f32]) {
        let nb = x.d.len();
        let rb = nb * BLOCK_BYTES;
        let (wp, xp) = (w.as_ptr(), x.qs.as_ptr());
        // SAFETY: row r's block b starts at (r·nb + b)·34 ≤ w.len() − 34 for r < ys.len(),
        // b < nb; activation block b at 32·b ≤ qs.len() − 32 (lengths asserted by the caller).
        // Prefetches may point past the end: they never fault and are not dereferences.
        unsafe {
            let act = |b: usize| {
                let sx = _mm256_loadu_si256(xp.add(b * QK).cast());
                (_mm256_sign_epi8(sx, sx), sx, _mm256_set1_ps(*x.d.get_unchecked(b)))
            };
            for (r, y) in ys.iter_mut().enumerate() {
                let row = wp.add(r * rb);
                let mut acc = [_mm256_setzero_ps(); 2];
                let mut b = 0;
                while b + 2 <= nb {
                    _mm_prefetch::<_MM_HINT_T1>(
                        row.wrapping_add(b * BLOCK_BYTES + PREFETCH).cast(),
                    );
                    for (j, a) in acc.iter_mut().enumerate() {
                        let (ax, sx, dx) = act(b + j);
                        *a = block(row.add((b + j) * BLOCK_BYTES), ax, sx, dx, *a);
                    }
                    b += 2;
                }
                if b < nb {
                    let (ax, sx, dx) = act(b);
                    acc[0] = block(row.add(b * BLOCK_BYTES), ax, sx, dx, acc[0]);
                }
                *y = hsum(_mm256_add_ps(acc[0], acc[1]));
            }
        }
    }

    /// Activation rows per vector: the multi-row product works on tiles of 8 rows of `x`,
    /// transposed so that one load gives a weight's products with 8 rows.
    pub(super) const TILE: usize = 8;

    /// Eight weight rows against one tile (the last tile when their number is odd): eight
    /// accumulators, written out as in `nn::tiles`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel1(
        a: *const f32,
        lda: usize,
        b: *const f32,
        kc: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        // SAFETY: 8 rows of `kc` floats at `a` (stride lda), one tile of `kc·8` floats at `b`
        // and 8 rows of 8 floats at `c` (stride ldc).
        unsafe {
            let mut acc = [_mm256_setzero_ps(); 8];
            for (r, x) in acc.iter_mut().enumerate() {
                *x = _mm256_loadu_ps(c.add(r * ldc));
            }
            let [mut c0, mut c1, mut c2, mut c3, mut c4, mut c5, mut c6, mut c7] = acc;
            let ar: [*const f32; 8] = [
                a,
                a.add(lda),
                a.add(2 * lda),
                a.add(3 * lda),
                a.add(4 * lda),
                a.add(5 * lda),
                a.add(6 * lda),
                a.add(7 * lda),
            ];
            for kk in 0..kc {
                let x = _mm256_loadu_ps(b.add(kk * TILE));
                c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[0].add(kk)), x, c0);
                c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[1].add(kk)), x, c1);
                c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[2].add(kk)), x, c2);
                c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[3].add(kk)), x, c3);
                c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[4].add(kk)), x, c4);
                c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[5].add(kk)), x, c5);
                c6 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[6].add(kk)), x, c6);
                c7 = _mm256_fmadd_ps(_mm256_broadcast_ss(&*ar[7].add(kk)), x, c7);
            }
            for (r, x) in [c0, c1, c2, c3, c4, c5, c6, c7].into_iter().enumerate() {
                _mm256_storeu_ps(c.add(r * ldc), x);
            }
        }
    }

    /// `[[Σ_kk a[j·lda + kk] · xi[kk] for j < 4] for xi in [x0, x1]]` over `kk < k` (a multiple
    /// of 8): four weight rows against two activation rows as dot products along `k`, for the
    /// activation rows that do not fill a tile (no lane is padding).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot4x2(
        a: *const f32,
        lda: usize,
        x0: *const f32,
        x1: *const f32,
        k: usize,
    ) -> [[f32; 4]; 2] {
        // SAFETY: the caller passes 4 rows of `k` floats at `a` (stride lda) and two rows of
        // `k` floats at `x0`, `x1`.
        unsafe {
            let (a0, a1, a2, a3) = (a, a.add(lda), a.add(2 * lda), a.add(3 * lda));
            let z = _mm256_setzero_ps();
            let (mut c00, mut c01, mut c02, mut c03) = (z, z, z, z);
            let (mut c10, mut c11, mut c12, mut c13) = (z, z, z, z);
            for kk in (0..k).step_by(TILE) {
                let (y0, y1) = (_mm256_loadu_ps(x0.add(kk)), _mm256_loadu_ps(x1.add(kk)));
                let w = _mm256_loadu_ps(a0.add(kk));
                c00 = _mm256_fmadd_ps(w, y0, c00);
                c10 = _mm256_fmadd_ps(w, y1, c10);
                let w = _mm256_loadu_ps(a1.add(kk));
                c01 = _mm256_fmadd_ps(w, y0, c01);
                c11 = _mm256_fmadd_ps(w, y1, c11);
                let w = _mm256_loadu_ps(a2.add(kk));
                c02 = _mm256_fmadd_ps(w, y0, c02);
                c12 = _mm256_fmadd_ps(w, y1, c12);
                let w = _mm256_loadu_ps(a3.add(kk));
                c03 = _mm256_fmadd_ps(w, y0, c03);
                c13 = _mm256_fmadd_ps(w, y1, c13);
            }
            [
                [hsum(c00), hsum(c01), hsum(c02), hsum(c03)],
                [hsum(c10), hsum(c11), hsum(c12), hsum(c13)],
            ]
        }
    }

    /// `y[i][j] = Σ_kk a[j·lda + kk] · x[i·k + kk]` for the `rows` (a multiple of 4) weight
    /// rows `j` of `a` and every row `i` of `x` (`[m, k]`), written at `y[i·ldy + j]`.
    pub(super) fn dots_safe(
        a: &[f32],
        lda: usize,
        x: &[f32],
        k: usize,
        rows: usize,
        y: &mut [f32],
        ldy: usize,
    ) {
        let m = x.len() / k;
        assert!(rows.is_multiple_of(4) && k.is_multiple_of(TILE) && k <= lda);
        assert!(rows == 0 || a.len() >= (rows - 1) * lda + k);
        assert!(x.len() == m * k && (m == 0 || y.len() >= (m - 1) * ldy + rows));
        // SAFETY: selected only after detecting avx2 and fma; the asserts bound every access.
        unsafe {
            for i in (0..m).step_by(2) {
                let x0 = x.as_ptr().add(i * k);
                let x1 = if i + 1 < m { x0.add(k) } else { x0 };
                for j in (0..rows).step_by(4) {
                    let [r0, r1] = dot4x2(a.as_ptr().add(j * lda), lda, x0, x1, k);
                    y[i * ldy + j..][..4].copy_from_slice(&r0);
                    if i + 1 < m {
                        y[(i + 1) * ldy + j..][..4].copy_from_slice(&r1);
                    }
                }
            }
        }
    }

    /// [`super::dequantize_rows`] with AVX2 (the generic build only has SSE2, without
    /// sign-extending byte loads).
    pub(super) fn dequantize_avx2_safe(w: &[u8], out: &mut [f32]) {
        assert_eq!(w.len() / BLOCK_BYTES * QK, out.len());
        assert!(w.len().is_multiple_of(BLOCK_BYTES));
        // SAFETY: selected only after detecting avx2 and f16c; block i reads bytes
        // 34·i..34·i+34 of `w` and writes floats 32·i..32·i+32 of `out`, both in bounds.
        unsafe { dequantize_avx2(w, out) }
    }

    #[target_feature(enable = "avx2,f16c")]
    unsafe fn dequantize_avx2(w: &[u8], out: &mut [f32]) {
        // SAFETY: see dequantize_avx2_safe.
        unsafe {
            for (i, o) in out.chunks_exact_mut(QK).enumerate() {
                let p = w.as_ptr().add(i * BLOCK_BYTES);
                let d = _mm256_cvtph_ps(_mm_set1_epi16(p.cast::<i16>().read_unaligned()));
                for g in 0..4 {
                    let q = _mm_loadl_epi64(p.add(2 + 8 * g).cast());
                    let v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
                    _mm256_storeu_ps(o.as_mut_ptr().add(8 * g), _mm256_mul_ps(v, d));
                }
            }
        }
    }

    /// `c [rows][ldc] += a [rows][lda] (first kc columns) · xt`, where `xt` holds `ldc / 8`
    /// transposed activation tiles of `kc·8` floats at stride `ldb`; `rows` a multiple of 8.
    pub(super) fn panel_safe(
        a: &[f32],
        lda: usize,
        xt: &[f32],
        ldb: usize,
        kc: usize,
        c: &mut [f32],
        ldc: usize,
    ) {
        let rows = c.len() / ldc;
        let tiles = ldc / TILE;
        assert!(
            rows.is_multiple_of(8) && rows >= 8 && kc <= lda && a.len() >= (rows - 1) * lda + kc
        );
        assert!(ldc.is_multiple_of(TILE) && tiles >= 1);
        assert!(xt.len() >= (tiles - 1) * ldb + kc * TILE);
        // SAFETY: selected only after detecting avx2 and fma; the asserts above bound every
        // access of the kernels.
        unsafe {
            for t0 in (0..tiles).step_by(2) {
                let bp = xt.as_ptr().add(t0 * ldb);
                if t0 + 1 < tiles {
                    for g in (0..rows).step_by(6) {
                        let cp = c.as_mut_ptr().add(g * ldc + t0 * TILE);
                        kernel6x2(a.as_ptr().add(g * lda), lda, bp, ldb, kc, cp, ldc);
                    }
                } else {
                    for g in (0..rows).step_by(8) {
                        let cp = c.as_mut_ptr().add(g * ldc + t0 * TILE);
                        kernel1(a.as_ptr().add(g * lda), lda, bp, kc, cp, ldc);
                    }
                }
            }
        }
    }
}

/// Dequantizes q8_0 rows into `out` (`rows · k` floats).
fn dequantize_rows(w: &[u8], out: &mut [f32]) {
    for (blk, o) in w.chunks_exact(BLOCK_BYTES).zip(out.chunks_exact_mut(QK)) {
        let d = block_scale(blk);
        for (v, q) in o.iter_mut().zip(&blk[2..]) {
            *v = *q as i8 as f32 * d;
        }
    }
}

thread_local! {
    /// The dequantized weights of the prefill path, reused across calls on each worker.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The output rows of one task of the prefill path.
    static ACC: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Weight rows per task of the multi-row product (a multiple of 6 and 8, the micro-kernels'
/// rows).
const GEMM_ROWS_PER_TASK: usize = 24;
/// Depth of one pass of the multi-row product: the two activation tiles of a micro-kernel call
/// (2 × 128 × 8 floats) stay in L1 while the task's 24 dequantized rows (≤ 384 KiB) are read
/// from L2.
const GEMM_KC: usize = 128;

/// `y [m, n] = x [m, k] · Wᵀ` for more than [`GEMV_MAX_ROWS`] rows.
fn gemm(w: &[u8], n: usize, k: usize, x: &[f32], m: usize, y: &mut [f32]) {
    assert_eq!(x.len(), m * k);
    assert_eq!(y.len(), m * n);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c")
    {
        return gemm_tiled(WeightRows::Q8(w), n, k, x, m, y);
    }
    gemm_panels(w, n, k, x, m, y)
}

/// `y [m, n] = x [m, k] · Wᵀ` for an f32 weight `[n, k]` on the same tiled path as the q8_0
/// prefill (minus the dequantization); `false` (nothing written) where it does not apply: no
/// AVX2 and FMA, or `k` not a multiple of 8. The `gemm` crate, through candle's matmul, packed
/// every weight again on each call of the f32 prefill, where each is used for a few dozen rows
/// only: with the new pages of its packing buffers that was ~70 % of the prefill's time.
pub(crate) fn gemm_f32(w: &[f32], n: usize, k: usize, x: &[f32], m: usize, y: &mut [f32]) -> bool {
    assert_eq!(w.len(), n * k);
    assert_eq!(x.len(), m * k);
    assert_eq!(y.len(), m * n);
    #[cfg(target_arch = "x86_64")]
    if k.is_multiple_of(x86::TILE)
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        gemm_tiled(WeightRows::F32(w), n, k, x, m, y);
        return true;
    }
    false
}

/// The weights of the multi-row product, row-major `[n, k]`.
#[derive(Clone, Copy)]
enum WeightRows<'a> {
    /// q8_0 blocks, dequantized a task's rows at a time.
    Q8(&'a [u8]),
    /// f32, read in place.
    F32(&'a [f32]),
}

/// The AVX2 multi-row product. `x` is transposed once into tiles of 8 rows (`[k][8]` each);
/// each task dequantizes its 24 weight rows (one sequential read; f32 rows are used where they
/// are) and multiplies them with
/// every tile in register-blocked micro-kernels (6 weight rows × 2 tiles, `nn::tiles`, or 8
/// rows × the last odd tile) 128 columns at a time, so nothing is packed but the activations and each
/// weight is dequantized once. The `m % 8` rows left over are dot products along `k` (a
/// zero-padded tile cost as much as a full one: 35 text positions spent 18 % of a prefill on
/// their last 3 rows).
#[cfg(target_arch = "x86_64")]
fn gemm_tiled(w: WeightRows, n: usize, k: usize, x: &[f32], m: usize, y: &mut [f32]) {
    use x86::TILE;
    // whole tiles of 8 activation rows, and the rows left over (dot products along k)
    let tiles = m / TILE;
    let ld = tiles * TILE;
    let tail = &x[ld * k..];
    let mut xt = vec![0f32; tiles * k * TILE];
    for (i, xr) in x[..ld * k].chunks_exact(k).enumerate() {
        let tile = &mut xt[(i / TILE) * k * TILE..];
        for (kk, v) in xr.iter().enumerate() {
            tile[kk * TILE + i % TILE] = *v;
        }
    }
    let nb = k / QK;
    let row_bytes = nb * BLOCK_BYTES;
    let y_addr = y.as_mut_ptr() as usize;
    (0..n.div_ceil(GEMM_ROWS_PER_TASK)).into_par_iter().for_each(|task| {
        let r0 = task * GEMM_ROWS_PER_TASK;
        let nr = GEMM_ROWS_PER_TASK.min(n - r0);
        PANEL.with_borrow_mut(|panel| {
            ACC.with_borrow_mut(|c| {
                // the task's rows (one contiguous run of `w`, read as one stream), padded with
                // zero rows to GEMM_ROWS_PER_TASK; whole runs of f32 rows are read in place
                let a: &[f32] = match w {
                    WeightRows::F32(w) if nr == GEMM_ROWS_PER_TASK => &w[r0 * k..(r0 + nr) * k],
                    _ => {
                        panel.resize(GEMM_ROWS_PER_TASK * k, 0.0);
                        let rows = &mut panel[..nr * k];
                        match w {
                            WeightRows::F32(w) => rows.copy_from_slice(&w[r0 * k..(r0 + nr) * k]),
                            WeightRows::Q8(w) => x86::dequantize_avx2_safe(
                                &w[r0 * row_bytes..(r0 + nr) * row_bytes],
                                rows,
                            ),
                        }
                        panel[nr * k..].fill(0.0);
                        panel
                    }
                };
                c.clear();
                c.resize(GEMM_ROWS_PER_TASK * m, 0.0);
                // the tiles' products `[GEMM_ROWS_PER_TASK][ld]`, then the leftover rows'
                // `[m - ld][GEMM_ROWS_PER_TASK]`
                let (cp, ct) = c.split_at_mut(GEMM_ROWS_PER_TASK * ld);
                if tiles > 0 {
                    for k0 in (0..k).step_by(GEMM_KC) {
                        let kc = GEMM_KC.min(k - k0);
                        x86::panel_safe(&a[k0..], k, &xt[k0 * TILE..], k * TILE, kc, cp, ld);
                    }
                }
                x86::dots_safe(a, k, tail, k, GEMM_ROWS_PER_TASK, ct, GEMM_ROWS_PER_TASK);
                // SAFETY: `y` is `[m, n]`; this task writes its columns r0..r0+nr only, so
                // tasks never write the same element.
                let y = unsafe { std::slice::from_raw_parts_mut(y_addr as *mut f32, m * n) };
                for (i, yr) in y.chunks_exact_mut(n).enumerate() {
                    for (r, v) in yr[r0..r0 + nr].iter_mut().enumerate() {
                        *v = if i < ld {
                            c[r * ld + i]
                        } else {
                            c[GEMM_ROWS_PER_TASK * ld + (i - ld) * GEMM_ROWS_PER_TASK + r]
                        };
                    }
                }
            })
        })
    });
}

/// `y [m, n] = x [m, k] · Wᵀ` by panels of dequantized weight rows and the f32 GEMM (CPUs
/// without AVX2 and FMA).
fn gemm_panels(w: &[u8], n: usize, k: usize, x: &[f32], m: usize, y: &mut [f32]) {
    let rows = (PANEL_FLOATS / k).clamp(8, n.max(8)) / 8 * 8;
    let row_bytes = k / QK * BLOCK_BYTES;
    let y_addr = y.as_mut_ptr() as usize;
    (0..n.div_ceil(rows)).into_par_iter().for_each(|p| {
        let r0 = p * rows;
        let nr = rows.min(n - r0);
        PANEL.with_borrow_mut(|panel| {
            panel.resize(rows * k, 0.0);
            dequantize_rows(&w[r0 * row_bytes..(r0 + nr) * row_bytes], &mut panel[..nr * k]);
            // SAFETY: `y` is `[m, n]`; this task writes its columns r0..r0+nr only, so tasks
            // never write the same element; `x` is `[m, k]` and the panel `[nr, k]` row-major,
            // read as the `[k, nr]` right-hand side with a column stride of k.
            unsafe {
                super::sgemm(
                    (m, nr, k),
                    ((y_addr as *mut f32).add(r0), n, 1),
                    (x.as_ptr(), k, 1),
                    (panel.as_ptr(), 1, k),
                    1.0,
                    false,
                    gemm::Parallelism::None,
                )
            }
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle::Module;
    use candle::quantized::QMatMul;

    fn data(n: usize, seed: u64) -> Vec<f32> {
        (0..n).map(|i| ((i as u64 * 2654435761 + seed) % 10007) as f32 / 10007.0 - 0.5).collect()
    }

    /// Exact f64 value of the q8_0 × q8_0 product the kernels compute.
    fn reference(w: &QTensor, x: &[f32]) -> Vec<f64> {
        let bytes = w.data().unwrap();
        let k = x.len();
        let xq = quantize_row(x);
        bytes
            .chunks_exact(k / QK * BLOCK_BYTES)
            .map(|row| {
                row.chunks_exact(BLOCK_BYTES)
                    .enumerate()
                    .map(|(b, blk)| {
                        let s: i64 = (0..QK)
                            .map(|j| blk[2 + j] as i8 as i64 * xq.qs[b * QK + j] as i64)
                            .sum();
                        block_scale(blk) as f64 * xq.d[b] as f64 * s as f64
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn gemv_equals_the_exact_q8_product_and_candles() -> Result<()> {
        let dev = Device::Cpu;
        for (n, k) in [(1, 32), (7, 64), (45, 1024), (130, 96)] {
            let w = Tensor::from_vec(data(n * k, 1), (n, k), &dev)?;
            let q = QTensor::quantize(&w, GgmlDType::Q8_0)?;
            let xv = data(k, 7);
            let x = Tensor::from_vec(xv.clone(), (1, k), &dev)?;
            let ours = try_matmul(&x, &q, None)?.expect("q8_0 on the CPU").flatten_all()?;
            let ours = ours.to_vec1::<f32>()?;
            let want = reference(&q, &xv);
            for (i, (o, r)) in ours.iter().zip(&want).enumerate() {
                assert!(
                    (*o as f64 - r).abs() < 1e-4 * (1.0 + r.abs()),
                    "{n}×{k} row {i}: {o} vs {r}"
                );
            }
            let mut portable = vec![0f32; n];
            rows_portable(&q.data()?, &quantize_row(&xv), &mut portable);
            for (p, r) in portable.iter().zip(&want) {
                assert!((*p as f64 - r).abs() < 1e-4 * (1.0 + r.abs()));
            }
            let theirs = QMatMul::from_qtensor(q)?.forward(&x)?.flatten_all()?.to_vec1::<f32>()?;
            for (o, t) in ours.iter().zip(&theirs) {
                assert!((o - t).abs() < 1e-4 * (1.0 + t.abs()), "{n}×{k}: {o} vs candle {t}");
            }
        }
        Ok(())
    }

    #[test]
    fn activation_rows_are_quantized_as_candle_does() -> Result<()> {
        // one value placed at half a quantization step (a rounding tie, up to float error)
        let mut x = data(1024, 9);
        x[5] = 0.5 / 127.0 * x.iter().take(32).fold(0f32, |a, v| a.max(v.abs()));
        let ours = quantize_row(&x);
        let q = QTensor::quantize(&Tensor::from_vec(x, (1, 1024), &Device::Cpu)?, GgmlDType::Q8_0)?;
        for (b, blk) in q.data()?.chunks_exact(BLOCK_BYTES).enumerate() {
            assert_eq!(ours.d[b], block_scale(blk), "scale of block {b}");
            let qs: Vec<i8> = blk[2..].iter().map(|v| *v as i8).collect();
            assert_eq!(&ours.qs[b * QK..(b + 1) * QK], qs.as_slice(), "values of block {b}");
        }
        Ok(())
    }

    #[test]
    fn simd_quantization_equals_the_scalar_one() {
        // blocks at several magnitudes (scales from f16-subnormal to large), exact rounding
        // ties of both signs (max |x| = 127·2^e makes the scale 2^e and x/d exact), values
        // one ulp either side of a tie, zeros, an all-zero block and the saturating ±127
        let mut x = Vec::new();
        for (i, e) in [-30i32, -20, -8, -1, 0, 3, 9].into_iter().enumerate() {
            let s = 2f32.powi(e);
            let mut b: Vec<f32> = (0..QK).map(|j| (j as f32 - 15.5) * s).collect();
            b[0] = 127.0 * s;
            b[1] = -2.5 * s;
            b[2] = f32::from_bits((3.5 * s).to_bits() + 1);
            b[3] = f32::from_bits((3.5 * s).to_bits() - 1);
            b[4] = -0.0;
            x.extend_from_slice(&b);
            x.extend(data(QK, i as u64).iter().map(|v| v * s * 1000.0));
        }
        x.extend([0.0; QK]);
        let mut b = vec![-127.0f32; QK];
        b[7] = 126.5;
        x.extend(b);
        x.extend(data(4096, 17));
        let nb = x.len() / QK;
        let (mut d, mut qs) = (vec![0f32; nb], vec![0i8; x.len()]);
        quantize_scalar(&x, &mut d, &mut qs);
        assert!(qs.contains(&127) && qs.contains(&-127));
        let check = |name: &str, got: QuantizedRow| {
            for (b, d) in d.iter().enumerate() {
                assert_eq!(got.d[b].to_bits(), d.to_bits(), "{name}: scale of block {b}");
                let r = b * QK..(b + 1) * QK;
                assert_eq!(got.qs[r.clone()], qs[r], "{name}: values of block {b}");
            }
        };
        check("dispatched", quantize_row(&x));
        #[cfg(target_arch = "x86_64")]
        {
            let run = |name: &str, f: unsafe fn(&[f32], &mut [f32], &mut [i8])| {
                let (mut d, mut qs) = (vec![f32::NAN; nb], vec![99i8; x.len()]);
                // SAFETY: called only where the CPU has the features (checked by the caller)
                unsafe { f(&x, &mut d, &mut qs) };
                check(name, QuantizedRow { d, qs });
            };
            if std::is_x86_feature_detected!("avx512f") {
                run("avx512", x86::quantize_avx512);
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("f16c") {
                run("avx2", x86::quantize_avx2);
            }
        }
    }

    #[test]
    fn prefill_path_equals_the_dequantized_matmul_of_rounded_activations() -> Result<()> {
        let dev = Device::Cpu;
        // m: one tile, partial tiles, more than three tiles; n: not a multiple of the task's
        // 24 rows; k: one and several 128-column passes.
        for (m, n, k) in [(5, 3, 32), (9, 200, 1024), (40, 64, 4096), (35, 37, 160)] {
            let w = Tensor::from_vec(data(n * k, 3), (n, k), &dev)?;
            let q = QTensor::quantize(&w, GgmlDType::Q8_0)?;
            let wd = q.dequantize(&dev)?;
            let x = Tensor::from_vec(data(m * k, 5), (m, k), &dev)?;
            let b = Tensor::from_vec(data(n, 11), n, &dev)?;
            let ours = try_matmul(&x, &q, Some(&b))?.expect("q8_0 on the CPU");
            // the activations as the product rounds them (q8_0, ggml's rounding)
            let x =
                Tensor::from_vec(round_rows(&x.flatten_all()?.to_vec1::<f32>()?, k), (m, k), &dev)?;
            let candle = x.matmul(&wd.t()?)?.broadcast_add(&b)?;
            // exact value in f64
            let (xv, wv, bv) = (x.to_vec2::<f32>()?, wd.to_vec2::<f32>()?, b.to_vec1::<f32>()?);
            let exact: Vec<Vec<f64>> = xv
                .iter()
                .map(|xr| {
                    wv.iter()
                        .zip(&bv)
                        .map(|(wr, b)| {
                            xr.iter().zip(wr).map(|(a, w)| *a as f64 * *w as f64).sum::<f64>()
                                + *b as f64
                        })
                        .collect()
                })
                .collect();
            let err = |t: &Tensor| -> Result<f64> {
                let v = t.to_vec2::<f32>()?;
                Ok(v.iter()
                    .flatten()
                    .zip(exact.iter().flatten())
                    .fold(0f64, |e, (a, b)| e.max((*a as f64 - b).abs())))
            };
            // the path of CPUs without AVX2 (dequantized panels through the gemm crate)
            let mut yp = vec![0f32; m * n];
            gemm_panels(&q.data()?, n, k, &x.flatten_all()?.to_vec1::<f32>()?, m, &mut yp);
            let panels = Tensor::from_vec(yp, (m, n), &dev)?.broadcast_add(&b)?;
            let (e_ours, e_panels, e_candle) = (err(&ours)?, err(&panels)?, err(&candle)?);
            // f32 summation error only: relative to the largest output (candle's own f32
            // matmul is within 1e-6 of it, a wrong row or tile would be off by ~1)
            let scale = exact.iter().flatten().fold(0f64, |a, v| a.max(v.abs()));
            assert!(e_panels < 1e-5 * scale, "{m}×{n}×{k}: panels error {e_panels} of {scale}");
            assert!(
                e_ours < 1e-5 * scale,
                "{m}×{n}×{k}: error {e_ours} of max |y| {scale} (candle's f32 matmul: {e_candle})"
            );
        }
        Ok(())
    }

    #[test]
    fn other_inputs_are_left_to_candle() -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::from_vec(data(64 * 256, 1), (64, 256), &dev)?;
        let x = Tensor::from_vec(data(256, 2), (1, 256), &dev)?;
        let q4 = QTensor::quantize(&w, GgmlDType::Q4K)?;
        assert!(try_matmul(&x, &q4, None)?.is_none());
        let q8 = QTensor::quantize(&w, GgmlDType::Q8_0)?;
        assert!(try_matmul(&x.narrow(1, 0, 128)?, &q8, None)?.is_none());
        Ok(())
    }
}
