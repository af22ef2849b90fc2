//! q8_0 weights repacked at load for AVX-512 VNNI (`vpdpbusd`: 64 byte products summed into
//! 16 `i32` lanes per instruction), used by the quantized GPT on CPUs that have it.
//!
//! In candle's ggml layout each 34-byte block holds one row's f16 scale and 32 `i8`, so every
//! block of every row costs its own scale conversion, sign fix-up and float multiply–add (the
//! `nn::q8` kernels: ~13 instructions per 32 weights, 31–34 GB/s per core with the weights in
//! cache). Here 16 rows go together: per block of 32 columns, their 16 scales (32 bytes) and
//! the 16 × 32 quantized weights as eight 64-byte vectors, each holding 4 consecutive columns of
//! the 16 rows (the `vpdpbusd` operand order), stored offset by 128 as `u8`; blocks go in pairs,
//! both blocks' scales in one line before their weights, so a group is one stream of whole
//! lines ([`scales_at`], [`quants_at`]). A block of 16 rows is then eight `vpdpbusd` against
//! broadcast 4-byte groups of the activation block, and one conversion and multiply–add with
//! the 16 scales; the activation's offset is taken out exactly by starting each block's sum at
//! `−128·Σx` (`Σ (w+128)·x − 128·Σx = Σ w·x`). The integer
//! block sums equal ggml's q8_0 × q8_0 dot products; only the f32 order of adding the blocks'
//! scaled sums differs. Same bytes as the ggml layout (the scales stay f16).
//!
//! One code path serves every number of activation rows: up to [`ROWS`] rows go through a
//! group's weights together (the weights are read from memory once per decoding step; in the
//! prefill, a group's weights stay in L1/L2 while all rows pass).

use rayon::prelude::*;

use super::q8::QuantizedRow;

/// Weights per block.
const QK: usize = 32;
/// Rows per group (the 16 `i32` lanes of one vector).
const GROUP: usize = 16;
/// Bytes of one group's block: 16 f16 scales and 16 × 32 weights.
const GROUP_BLOCK_BYTES: usize = GROUP * 2 + GROUP * QK;
/// Activation rows per pass over a group's weights (16 accumulators in registers).
pub const ROWS: usize = 8;
/// Groups per parallel task.
const GROUPS_PER_TASK: usize = 2;

/// A q8_0 `[n, k]` weight in the VNNI layout (see the module doc).
pub struct PackedQ8 {
    n: usize,
    k: usize,
    /// The packed weights (64-byte aligned, on huge pages where the system has them:
    /// `nn::pages`).
    buf: super::pages::PageSlice,
}

/// Offset in a group of block `b`'s 16 scales: blocks go in pairs, the pair's 32 scales (one
/// 64-byte line) before its 2 × 512 bytes of weights, so that a group is one sequential stream
/// of whole lines.
fn scales_at(b: usize) -> usize {
    b / 2 * 2 * GROUP_BLOCK_BYTES + b % 2 * GROUP * 2
}

/// Offset in a group of block `b`'s 16 × 32 weights (see [`scales_at`]).
fn quants_at(b: usize) -> usize {
    b / 2 * 2 * GROUP_BLOCK_BYTES + 2 * GROUP * 2 + b % 2 * GROUP * QK
}

impl std::fmt::Debug for PackedQ8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedQ8 {{ n: {}, k: {} }}", self.n, self.k)
    }
}

/// Whether this CPU runs the packed kernels (AVX-512 F, BW, VL and VNNI, and F16C).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| {
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("f16c")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

impl PackedQ8 {
    /// Repacks candle's q8_0 bytes of an `[n, k]` weight into memory of its own (huge pages
    /// where the system has them: `nn::pages`); `None` where the layout does not apply (`n`
    /// not a multiple of 16, `k` not a multiple of 64, or a byte count that is not `[n, k]` in
    /// q8_0) or the memory cannot be mapped (the weight then stays in the ggml layout).
    pub fn from_ggml(data: &[u8], n: usize, k: usize) -> Option<Self> {
        if n == 0 || !n.is_multiple_of(GROUP) || k == 0 || !k.is_multiple_of(2 * QK) {
            return None;
        }
        let nb = k / QK;
        if data.len() != n * nb * (2 + QK) {
            return None;
        }
        let group_bytes = nb * GROUP_BLOCK_BYTES;
        let len = n / GROUP * group_bytes;
        // zeroed pages come lazily, so the huge pages hold for the writes below
        let mut buf = super::pages::PageSlice::zeroed(len)?;
        let bytes = &mut buf[..];
        let row_bytes = nb * (2 + QK);
        bytes.par_chunks_mut(group_bytes).enumerate().for_each(|(g, out)| {
            for c in 0..GROUP {
                let row = &data[(g * GROUP + c) * row_bytes..][..row_bytes];
                for (b, blk) in row.chunks_exact(2 + QK).enumerate() {
                    out[scales_at(b) + c * 2..][..2].copy_from_slice(&blk[..2]);
                    let qb = &mut out[quants_at(b)..][..GROUP * QK];
                    // 4 columns at a time, flipped to `u8` (+128) as one word
                    for (j4, w4) in blk[2..].chunks_exact(4).enumerate() {
                        let v = u32::from_le_bytes(w4.try_into().expect("4 bytes")) ^ 0x8080_8080;
                        qb[j4 * 64 + c * 4..][..4].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        });
        Some(PackedQ8 { n, k, buf })
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// `y [m, n] = x [m, k] · Wᵀ` with each row of `x` quantized to q8_0 as ggml does (the
    /// integer block sums of ggml's q8_0 × q8_0 product, scaled in f32).
    pub fn matmul(&self, x: &[f32], m: usize, y: &mut [f32]) {
        self.matmul_then(x, m, y, |_, _| {})
    }

    /// [`PackedQ8::matmul`], with `then(col, out)` applied to each row's 16 outputs of
    /// columns `col..col + 16` where they are computed, before they are stored (a bias and an
    /// activation in the same pass, on the same thread).
    pub fn matmul_then(
        &self,
        x: &[f32],
        m: usize,
        y: &mut [f32],
        then: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        assert!(available(), "the packed q8_0 kernels need AVX-512 VNNI");
        assert_eq!(x.len(), m * self.k, "q8_0 matmul input");
        assert_eq!(y.len(), m * self.n, "q8_0 matmul output");
        let acts: Vec<Activation> = if m <= ROWS {
            x.chunks_exact(self.k).map(Activation::new).collect()
        } else {
            x.par_chunks_exact(self.k).map(Activation::new).collect()
        };
        let nb = self.k / QK;
        let group_bytes = nb * GROUP_BLOCK_BYTES;
        let (n, y_addr) = (self.n, y.as_mut_ptr() as usize);
        self.bytes().par_chunks(group_bytes * GROUPS_PER_TASK).enumerate().for_each(|(t, w)| {
            let mut out = [[0f32; GROUP]; ROWS];
            for (gi, gw) in w.chunks_exact(group_bytes).enumerate() {
                let col = (t * GROUPS_PER_TASK + gi) * GROUP;
                for (ci, chunk) in acts.chunks(ROWS).enumerate() {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `available()` was asserted; `gw` is one group's `nb` blocks and
                    // every activation holds `nb` blocks.
                    unsafe {
                        x86::group(gw, nb, chunk, &mut out)
                    };
                    for (r, o) in out.iter_mut().enumerate().take(chunk.len()) {
                        then(col, o);
                        let i = ci * ROWS + r;
                        // SAFETY: `y` is `[m, n]` and this task writes only its own groups'
                        // columns `col..col + 16` of each row, so no two tasks write the same
                        // element.
                        unsafe {
                            let dst = (y_addr as *mut f32).add(i * n + col);
                            std::ptr::copy_nonoverlapping(o.as_ptr(), dst, GROUP);
                        }
                    }
                }
            }
        });
    }
}

/// An activation row quantized to q8_0 (ggml's rounding) with each block's offset correction.
struct Activation {
    q: QuantizedRow,
    /// `−128 · Σ x` of each block's quantized values.
    corr: Vec<i32>,
}

impl Activation {
    fn new(x: &[f32]) -> Self {
        let q = super::q8::quantize_row(x);
        let corr = q.qs().chunks_exact(QK).map(|b| -128 * b.iter().map(|&v| v as i32).sum::<i32>());
        Activation { corr: corr.collect(), q }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Activation, GROUP, GROUP_BLOCK_BYTES, QK, ROWS, quants_at, scales_at};

    /// Bytes ahead of the current pair of blocks whose lines are prefetched: the pair after
    /// next. The prefetches ask for L2 only (`T1`): with `T0` (to L1) they held the L1's few
    /// miss buffers and a q8_0 step was 6–15 % slower than with `T1` (five alternating series,
    /// 2026-12-07 16:30–17:00; with no software prefetch at all, 2–5 % slower than `T1`).
    const PREFETCH: usize = 4 * GROUP_BLOCK_BYTES;

    /// `out[r] = ` the 16 outputs of one group's rows for activation `acts[r]`.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL/VNNI and F16C must be present; `w` holds one group's `nb` blocks and
    /// each activation `nb` blocks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,f16c")]
    pub(super) unsafe fn group(
        w: &[u8],
        nb: usize,
        acts: &[Activation],
        out: &mut [[f32; GROUP]; ROWS],
    ) {
        assert!(w.len() == nb * GROUP_BLOCK_BYTES && acts.len() <= ROWS);
        for a in acts {
            assert!(a.q.qs().len() == nb * QK && a.q.d().len() == nb && a.corr.len() == nb);
        }
        // SAFETY: the features are the caller's promise; every access below stays within the
        // lengths asserted above.
        unsafe {
            match acts.len() {
                8 => rows::<8>(w, nb, acts, out),
                7 => rows::<7>(w, nb, acts, out),
                6 => rows::<6>(w, nb, acts, out),
                5 => rows::<5>(w, nb, acts, out),
                4 => rows::<4>(w, nb, acts, out),
                3 => rows::<3>(w, nb, acts, out),
                2 => rows::<2>(w, nb, acts, out),
                1 => rows::<1>(w, nb, acts, out),
                _ => {}
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,f16c")]
    unsafe fn rows<const R: usize>(
        w: &[u8],
        nb: usize,
        acts: &[Activation],
        out: &mut [[f32; GROUP]; ROWS],
    ) {
        // SAFETY: see `group`: block b's 16 scales are the 32 bytes at `scales_at(b)` of `w`,
        // its weights the 512 bytes at `quants_at(b)`, activation block b the 32 values from
        // 32·b. Prefetches may point past the end: they never fault and are not dereferences.
        unsafe {
            let w = w.as_ptr();
            let xq: [*const i8; R] = std::array::from_fn(|r| acts[r].q.qs().as_ptr());
            let mut acc = [_mm512_setzero_ps(); R];
            // independent sums per row: one row alone would otherwise wait on a chain of eight
            // dependent `vpdpbusd` per block
            let chains = if R <= 2 {
                4
            } else if R <= 4 {
                2
            } else {
                1
            };
            for b in 0..nb {
                let mut s = [[_mm512_setzero_si512(); R]; 4];
                for (r, s) in s[0].iter_mut().enumerate() {
                    *s = _mm512_set1_epi32(*acts[r].corr.get_unchecked(b));
                }
                if b % 2 == 0 {
                    // the pair's scales line and its 2 × 512 bytes of weights
                    let pair = w.add(scales_at(b)).wrapping_add(PREFETCH);
                    for l in 0..2 * GROUP_BLOCK_BYTES / 64 {
                        _mm_prefetch::<_MM_HINT_T1>(pair.wrapping_add(l * 64).cast());
                    }
                }
                let qb = w.add(quants_at(b));
                for g in 0..QK / 4 {
                    let wv = _mm512_load_si512(qb.add(g * 64).cast());
                    let s = &mut s[g % chains];
                    for (r, s) in s.iter_mut().enumerate() {
                        let x = xq[r].add(b * QK + g * 4).cast::<i32>().read_unaligned();
                        *s = _mm512_dpbusd_epi32(*s, wv, _mm512_set1_epi32(x));
                    }
                }
                let dw = _mm512_cvtph_ps(_mm256_loadu_si256(w.add(scales_at(b)).cast()));
                for (r, a) in acc.iter_mut().enumerate() {
                    let mut t = s[0][r];
                    for c in s.iter().take(chains).skip(1) {
                        t = _mm512_add_epi32(t, c[r]);
                    }
                    let d = _mm512_mul_ps(dw, _mm512_set1_ps(*acts[r].q.d().get_unchecked(b)));
                    *a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), d, *a);
                }
            }
            for (r, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(out[r].as_mut_ptr(), *a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle::quantized::{GgmlDType, QTensor};
    use candle::{Device, Tensor};

    /// The weight back in candle's ggml q8_0 layout.
    fn to_ggml(p: &PackedQ8) -> Vec<u8> {
        let nb = p.k / QK;
        let row_bytes = nb * (2 + QK);
        let mut out = vec![0u8; p.n * row_bytes];
        let group_bytes = nb * GROUP_BLOCK_BYTES;
        for (g, src) in p.bytes().chunks_exact(group_bytes).enumerate() {
            for c in 0..GROUP {
                let row = &mut out[(g * GROUP + c) * row_bytes..][..row_bytes];
                for (b, blk) in row.chunks_exact_mut(2 + QK).enumerate() {
                    blk[..2].copy_from_slice(&src[scales_at(b) + c * 2..][..2]);
                    let qb = &src[quants_at(b)..][..GROUP * QK];
                    for j in 0..QK {
                        blk[2 + j] = qb[(j / 4) * 64 + c * 4 + j % 4] ^ 0x80;
                    }
                }
            }
        }
        out
    }

    fn data(n: usize, seed: u64) -> Vec<f32> {
        (0..n).map(|i| ((i as u64 * 2654435761 + seed) % 10007) as f32 / 10007.0 - 0.5).collect()
    }

    /// Exact (f64) q8_0 × q8_0 products of ggml's blocks with `x`'s quantized rows.
    fn exact(w: &[u8], n: usize, k: usize, x: &[f32]) -> Vec<f64> {
        let nb = k / QK;
        let mut y = Vec::new();
        for xr in x.chunks_exact(k) {
            let xq = super::super::q8::quantize_row(xr);
            for row in w.chunks_exact(nb * (2 + QK)).take(n) {
                let mut s = 0f64;
                for (b, blk) in row.chunks_exact(2 + QK).enumerate() {
                    let d = half::f16::from_bits(u16::from_le_bytes([blk[0], blk[1]])).to_f64();
                    let dot: i64 =
                        (0..QK).map(|j| blk[2 + j] as i8 as i64 * xq.qs()[b * QK + j] as i64).sum();
                    s += d * xq.d()[b] as f64 * dot as f64;
                }
                y.push(s);
            }
        }
        y
    }

    #[test]
    fn repacking_round_trips_and_refuses_other_shapes() {
        let (n, k) = (48, 128);
        let w = Tensor::from_vec(data(n * k, 3), (n, k), &Device::Cpu).unwrap();
        let bytes = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap().data().unwrap().into_owned();
        let p = PackedQ8::from_ggml(&bytes, n, k).unwrap();
        assert_eq!(to_ggml(&p), bytes);
        assert!(PackedQ8::from_ggml(&bytes, n, k / 2).is_none(), "byte count");
        assert!(PackedQ8::from_ggml(&bytes[..bytes.len() / n * 8], 8, k).is_none(), "n % 16");
        let w = Tensor::from_vec(data(16 * 96, 3), (16, 96), &Device::Cpu).unwrap();
        let b96 = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap().data().unwrap().into_owned();
        assert!(PackedQ8::from_ggml(&b96, 16, 96).is_none(), "k % 64");
    }

    #[test]
    fn packed_products_equal_the_exact_q8_products() {
        if !available() {
            println!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        for (n, k, m) in [(16, 64, 1), (64, 1024, 1), (32, 256, 3), (48, 4096, 4), (32, 192, 9)] {
            let mut w = data(n * k, 7);
            w[5] = 3.0; // one block with a large scale
            let w = Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap();
            let bytes =
                QTensor::quantize(&w, GgmlDType::Q8_0).unwrap().data().unwrap().into_owned();
            let mut x = data(m * k, 11);
            x[..QK].fill(0.0); // an all-zero activation block (scale 0)
            x[k - 1] = -4.0;
            let p = PackedQ8::from_ggml(&bytes, n, k).unwrap();
            let mut y = vec![f32::NAN; m * n];
            p.matmul(&x, m, &mut y);
            let want = exact(&bytes, n, k, &x);
            for (i, (a, b)) in y.iter().zip(&want).enumerate() {
                let tol = 1e-5 * (1.0 + b.abs()) * (k as f64 / QK as f64).sqrt();
                assert!((*a as f64 - b).abs() <= tol, "{n}×{k}, m={m}, element {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn a_q8_0_linear_uses_the_packed_weights_for_rows_and_tensors() {
        use crate::nn::Linear;
        use candle::Module;
        if !available() {
            println!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        let (n, k) = (32, 128);
        let dev = Device::Cpu;
        let w = Tensor::from_vec(data(n * k, 5), (n, k), &dev).unwrap();
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let bytes = q.data().unwrap().into_owned();
        let bias = data(n, 9);
        let lin =
            Linear::from_qtensor(q, Some(Tensor::from_slice(&bias, n, &dev).unwrap())).unwrap();
        assert!(matches!(lin, Linear::PackedQ8 { .. }), "repacked at load");
        for m in [1, 5] {
            let x = data(m * k, 13);
            let want: Vec<f64> = exact(&bytes, n, k, &x)
                .iter()
                .enumerate()
                .map(|(i, v)| v + bias[i % n] as f64)
                .collect();
            let xt = Tensor::from_slice(&x, (1, m, k), &dev).unwrap();
            let y = lin.forward(&xt).unwrap();
            assert_eq!(y.dims(), [1, m, n]);
            let y = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for (a, b) in y.iter().zip(&want) {
                assert!((*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()), "m={m}: {a} vs {b}");
            }
            let mut row = vec![f32::NAN; n];
            lin.forward_row(&x[..k], &mut row).unwrap();
            assert_eq!(row, y[..n], "one row as forward_row");
        }
        let short = Tensor::zeros((1, 64), candle::DType::F32, &dev).unwrap();
        assert!(lin.forward(&short).is_err(), "wrong input width");
    }
}
