//! 1-D convolutions through FFTs (overlap-save), for the HiFi-GAN resblocks on the CPU.
//!
//! A resblock convolution with kernel 7 or 11 costs `2·k·C_in·C_out` FLOPs per output sample
//! computed directly. Through FFTs of length `n` it costs one real FFT per input channel and one
//! inverse per output channel for every block of `n − k + 1` outputs, and in between, per
//! frequency bin, a complex `[C_out × C_in] · [C_in × blocks]` product. That product is
//! computed as three real ones (Gauss's form: `(c + di)(a + bi)` from `c(a + b)`, `(d − c)a`
//! and `(c + d)b`), 25 % fewer FLOPs than four: `6·C_in·C_out·(n/2 + 1) / (n − k + 1)` FLOPs
//! per output, independent of the kernel size (≈ 3–4.5·C_in·C_out instead of
//! 14–22·C_in·C_out).
//!
//! A convolution dilated by `d` is `d` undilated ones: outputs `m·d + r` read inputs `m·d + r`
//! only, so each phase `r` is the undilated kernel run over every `d`-th sample. Blocks of all
//! phases share one set of weights and one product (FFTs of `2k` or more, not of
//! `2(k−1)d + 2`: the 256-channel stage's dilated convolutions fit in FFTs of 32).
//!
//! The products run on the register-blocked micro-kernel of [`super::tiles`], over planes of
//! real parts, imaginary parts and their sums laid out for it; the FFTs of 8 blocks at a time
//! go in and out of those planes through 8×8 transposes. (The `gemm` crate's complex kernels on
//! the interleaved spectra, before, took a third of the decoder's time; the 128- and
//! 256-channel convolutions now take 15–30 % less.)
//!
//! The frequency-domain weights (three floats per bin and channel pair: `c`, `d − c` and
//! `−(c + d)`) are computed on first use, or ahead of it by [`FftConv1d::prepare`] on another
//! thread, so loading a model does not pay for them.
//!
//! Results equal the direct convolution up to float rounding (the FFTs' ~1e-7 relative).

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use gemm::c32;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::conv_cpu::{CpuConv1d, PreAct, grow, size_output};
use super::conv_winograd::Winograd3;
use super::tiles::{GROUPS, LANES, ROWS, group_width, products};

/// Columns of one micro-kernel call: blocks per tile are a multiple of it.
const COLS: usize = GROUPS * LANES;

/// FFT lengths tried for a convolution. Longer ones cost fewer FLOPs per output but their
/// weights grow with `n/2 + 1` bins (callers cap `n` by memory); 256 measured no faster than
/// 128 on the decoder's 32- and 64-channel stages.
const FFT_LENS: [usize; 4] = [16, 32, 64, 128];

/// Target size of one tile's spectra (inputs and outputs), in bytes: fits L2 with the
/// weights of one bin streaming through.
const TILE_BYTES: usize = 2 << 20;

/// Blocks a tile has at least (when the input has that many per thread), so that each bin's
/// weights are used for that many columns once read.
const MIN_TILE_BLOCKS: usize = 32;

/// Blocks a tile has at least when one bin's weights are larger than [`LARGE_BIN_BYTES`]: they
/// come from L3 or memory once per tile, and 32 columns did not pay for that read (the 128-
/// and 256-channel stages' convolutions took ~25 % longer than with 96).
const MIN_TILE_BLOCKS_LARGE: usize = 96;
const LARGE_BIN_BYTES: usize = 128 << 10;

/// The FFT length (at most `max_n`) that makes a convolution cheapest in FLOPs per output
/// sample, if that cost is below `max_ratio` of the direct convolution's.
pub fn fft_len_for(
    c_in: usize,
    c_out: usize,
    k: usize,
    max_n: usize,
    max_ratio: f64,
) -> Option<usize> {
    let direct = 2.0 * (k * c_in * c_out) as f64;
    FFT_LENS
        .iter()
        .filter(|&&n| n >= 2 * k && n <= max_n)
        .map(|&n| {
            let valid = (n - k + 1) as f64;
            let bins = (n / 2 + 1) as f64;
            // three real products per bin and block, and the real FFTs in and out
            // (≈ 2.5·n·log2 n)
            let gemm = 6.0 * bins * (c_in * c_out) as f64;
            let ffts = 2.5 * n as f64 * (n as f64).log2() * (c_in + c_out) as f64;
            (n, (gemm + ffts) / valid)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|&(_, cost)| cost < max_ratio * direct)
        .map(|(n, _)| n)
}

/// A stride-1 `Conv1d` with "same" padding, computed by overlap-save FFTs of length `n`.
pub struct FftConv1d {
    /// Time-domain weight `[out][in][k]`, kept to build the spectra on first use.
    weight: Vec<f32>,
    /// Per bin, three `[out_p][in]` planes of `W = conj(rfft(taps)) / n = c + di`:
    /// `c`, `d − c` and `−(c + d)` (rows past `c_out` zero).
    spectra: OnceLock<Vec<f32>>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    k: usize,
    dilation: usize,
    /// Zero padding of each phase: `(k − 1) / 2`.
    padding: usize,
    n: usize,
    /// Outputs per block: `n − k + 1`.
    valid: usize,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for FftConv1d {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FftConv1d")
            .field("c_in", &self.c_in)
            .field("c_out", &self.c_out)
            .field("k", &self.k)
            .field("dilation", &self.dilation)
            .field("n", &self.n)
            .finish()
    }
}

impl FftConv1d {
    /// From a weight `[out, in, k]` (flattened), bias `[out]` (or zeros), dilation and FFT
    /// length `n` (at least `2k`). A dilated kernel must have an odd size (its "same" padding
    /// is then a whole number of phases).
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        c_out: usize,
        c_in: usize,
        k: usize,
        dilation: usize,
        n: usize,
    ) -> Self {
        assert_eq!(weight.len(), c_out * c_in * k, "conv weight size");
        assert!(n >= 2 * k && n.is_multiple_of(2), "FFT length {n} for a kernel of {k}");
        assert!(dilation == 1 || k % 2 == 1, "dilated FFT convolution of even kernel {k}");
        let bias = bias.unwrap_or_else(|| vec![0.0; c_out]);
        assert_eq!(bias.len(), c_out, "conv bias size");
        let mut planner = RealFftPlanner::<f32>::new();
        FftConv1d {
            weight,
            spectra: OnceLock::new(),
            bias,
            c_in,
            c_out,
            k,
            dilation,
            padding: (k - 1) / 2,
            n,
            valid: n - k + 1,
            r2c: planner.plan_fft_forward(n),
            c2r: planner.plan_fft_inverse(n),
        }
    }

    /// Computes the frequency-domain weights now (they are otherwise computed on first use).
    pub fn prepare(&self) {
        self.spectra();
    }

    /// Output rows of the per-bin products: `c_out` rounded up to the micro-kernel's rows.
    fn out_rows(&self) -> usize {
        self.c_out.next_multiple_of(ROWS)
    }

    fn spectra(&self) -> &[f32] {
        self.spectra.get_or_init(|| {
            let (n, bins, k) = (self.n, self.n / 2 + 1, self.k);
            let pairs = self.c_out * self.c_in;
            // A bin is a k-term sum:
            //   conj(W(f)) / n = Σ_j w_j (cos θ + i sin θ) / n,  θ = 2π·f·j / n,
            // for every pair at once two real GEMMs, `[pairs × k] · [k × bins]`, into
            // `[part][bin][out][in]`.
            let (cos, sin): (Vec<f32>, Vec<f32>) = (0..k * bins)
                .map(|i| {
                    let (j, f) = (i / bins, i % bins);
                    let theta = 2.0 * std::f64::consts::PI * ((f * j) % n) as f64 / n as f64;
                    ((theta.cos() / n as f64) as f32, (theta.sin() / n as f64) as f32)
                })
                .unzip();
            let mut parts = vec![0f32; 2 * bins * pairs];
            for (part, table) in parts.chunks_exact_mut(bins * pairs).zip([&cos, &sin]) {
                // SAFETY: the weight is `[pairs][k]` and `table` `[k][bins]`, row-major;
                // element (pair, f) of the product goes to `part[f·pairs + pair]`, inside
                // its `bins·pairs` floats.
                unsafe {
                    super::sgemm(
                        (pairs, bins, k),
                        (part.as_mut_ptr(), 1, pairs),
                        (self.weight.as_ptr(), k, 1),
                        (table.as_ptr(), bins, 1),
                        1.0,
                        false,
                        // one thread: `prepare` may run as a background task, and a rayon join
                        // inside it could steal a task that waits on this very cell
                        gemm::Parallelism::None,
                    )
                }
            }
            let (re, im) = parts.split_at(bins * pairs);
            let out_p = self.out_rows();
            let plane = out_p * self.c_in;
            let mut planes = vec![0f32; bins * 3 * plane];
            for (f, p) in planes.chunks_exact_mut(3 * plane).enumerate() {
                for (i, (c, d)) in re[f * pairs..][..pairs].iter().zip(&im[f * pairs..]).enumerate()
                {
                    p[i] = *c;
                    p[plane + i] = d - c;
                    p[2 * plane + i] = -(c + d);
                }
            }
            planes
        })
    }

    /// Output channels.
    pub fn c_out(&self) -> usize {
        self.c_out
    }

    /// `y = conv(act(x)) + bias (+ residual)`, with `x` `[c_in][t]`, into `y` (resized to
    /// `c_out·t`; every element is written).
    pub fn forward_into(
        &self,
        x: &[f32],
        t: usize,
        act: PreAct,
        residual: Option<&[f32]>,
        y: &mut Vec<f32>,
    ) {
        assert_eq!(x.len(), self.c_in * t, "conv input size");
        size_output(y, self.c_out * t);
        if t == 0 {
            return;
        }
        let spectra = self.spectra();
        let (n, bins, valid) = (self.n, self.n / 2 + 1, self.valid);
        let (c_in, c_out, out_p) = (self.c_in, self.c_out, self.out_rows());
        // block j of phase r (input samples r, r + d, …) is j·d + r: the phases of one stretch
        // of the input are neighbours, which read and write the same cache lines
        let d = self.dilation;
        let per_phase = t.div_ceil(d).div_ceil(valid);
        let blocks = d * per_phase;
        // samples of phase r
        let phase_len = |r: usize| t.saturating_sub(r).div_ceil(d);
        let per_block = (3 * c_in + 2 * out_p) * bins * std::mem::size_of::<f32>();
        let threads = rayon::current_num_threads().max(1);
        // blocks per tile: whole kernel widths (the last tile's padded), enough to reuse
        // each bin's weights, few enough that the spectra stay in L2 and every thread has one
        let widths = blocks.div_ceil(COLS);
        let bin_bytes = 3 * out_p * c_in * std::mem::size_of::<f32>();
        let min_blocks =
            if bin_bytes > LARGE_BIN_BYTES { MIN_TILE_BLOCKS_LARGE } else { MIN_TILE_BLOCKS };
        let per_tile = COLS
            * (TILE_BYTES / per_block / COLS)
                .max(min_blocks / COLS)
                .min(widths.div_ceil(threads))
                .max(1);
        let y_addr = y.as_mut_ptr() as usize;
        // Tiles write disjoint columns of every output row.
        (0..blocks.div_ceil(per_tile)).into_par_iter().for_each(|ti| {
            let b0 = ti * per_tile;
            let nb = per_tile.min(blocks - b0);
            // columns of the per-bin products: the blocks, padded to whole kernel widths
            let cols = nb.next_multiple_of(COLS);
            // groups of 8 blocks (one transpose), in groups of `width` columns of the products
            let groups = cols / LANES;
            let width = group_width();
            SCRATCH.with_borrow_mut(|s| {
                let x_len = bins * c_in * cols;
                grow(&mut s.x, 3 * x_len);
                grow(&mut s.y, 2 * bins * out_p * cols);
                grow(&mut s.buf, n);
                grow(&mut s.spec, LANES * bins);
                grow(&mut s.scratch, self.r2c.get_scratch_len().max(self.c2r.get_scratch_len()));
                let (buf, spec) = (&mut s.buf[..n], &mut s.spec[..LANES * bins]);
                // input spectra: planes `a`, `b` and `a + b` (real part, imaginary part, sum),
                // each `[bin][group of width blocks][in][width]`
                let (xr, rest) = s.x.split_at_mut(x_len);
                let (xi, xs) = rest.split_at_mut(x_len);
                // a group's 8 blocks of one channel at a time, written per bin as 8 lanes
                // (channel after channel: two fill each cache line)
                let f_stride = groups * c_in * LANES;
                for g in 0..groups {
                    for ci in 0..c_in {
                        let xrow = &x[ci * t..(ci + 1) * t];
                        for (lane, sp) in spec.chunks_exact_mut(bins).enumerate() {
                            let bi = g * LANES + lane;
                            if bi >= nb {
                                // padding columns: their products are never read
                                sp.fill(c32::new(0.0, 0.0));
                                continue;
                            }
                            let (j, r) = ((b0 + bi) / d, (b0 + bi) % d);
                            let tr = phase_len(r) as isize;
                            let start = (j * valid) as isize - self.padding as isize;
                            let lo = (-start).clamp(0, n as isize) as usize;
                            let hi = (tr - start).clamp(lo as isize, n as isize) as usize;
                            buf[..lo].fill(0.0);
                            if lo < hi {
                                let s0 = (start + lo as isize) as usize * d + r;
                                let src = &xrow[s0..s0 + (hi - lo - 1) * d + 1];
                                act.copy_strided(&mut buf[lo..hi], src, d);
                            }
                            buf[hi..].fill(0.0);
                            self.r2c
                                .process_with_scratch(buf, sp, &mut s.scratch)
                                .expect("FFT buffer sizes");
                        }
                        let (gw, half) = (g * LANES / width, g * LANES % width);
                        let at = ((gw * c_in + ci) * width + half, f_stride);
                        lanes_to_planes(spec, bins, [&mut *xr, &mut *xi, &mut *xs], at);
                    }
                }
                // per bin, Y = W·X as Gauss's three real products: with W = c + di and
                // X = a + bi, Re Y = c(a + b) − (c + d)b and Im Y = c(a + b) + (d − c)a
                let plane = out_p * c_in;
                let y_len = out_p * cols;
                let (yr, yi) = s.y[..2 * bins * y_len].split_at_mut(bins * y_len);
                for f in 0..bins {
                    let w = &spectra[3 * f * plane..][..3 * plane];
                    let xb = f * c_in * cols..(f + 1) * c_in * cols;
                    let (re, im) = (&mut yr[f * y_len..][..y_len], &mut yi[f * y_len..][..y_len]);
                    let ldb = c_in * width;
                    re.fill(0.0);
                    products(&w[..plane], c_in, &xs[xb.clone()], ldb, c_in, re, cols);
                    im.copy_from_slice(re);
                    products(&w[plane..2 * plane], c_in, &xr[xb.clone()], ldb, c_in, im, cols);
                    products(&w[2 * plane..], c_in, &xi[xb], ldb, c_in, re, cols);
                }
                // SAFETY: `y` is `[c_out][t]`; this tile writes the columns of its blocks
                // only, so tiles never write the same element.
                let y = unsafe { std::slice::from_raw_parts_mut(y_addr as *mut f32, c_out * t) };
                // a group's 8 blocks of one channel at a time, read per bin as 8 lanes
                for co in 0..c_out {
                    let b = self.bias[co];
                    for g in 0..groups {
                        planes_to_lanes([&*yr, &*yi], (co * cols + g * LANES, y_len), spec, bins);
                        for (lane, sp) in spec.chunks_exact_mut(bins).enumerate() {
                            let bi = g * LANES + lane;
                            if bi >= nb {
                                break;
                            }
                            let (j, r) = ((b0 + bi) / d, (b0 + bi) % d);
                            let t0 = j * valid;
                            let m = valid.min(phase_len(r).saturating_sub(t0));
                            if m == 0 {
                                continue;
                            }
                            // the spectrum of a real signal: DC and Nyquist are real
                            sp[0].im = 0.0;
                            sp[bins - 1].im = 0.0;
                            self.c2r
                                .process_with_scratch(sp, buf, &mut s.scratch)
                                .expect("FFT buffer sizes");
                            // outputs (t0 + i)·d + r, i < m
                            let at = co * t + t0 * d + r..co * t + (t0 + m - 1) * d + r + 1;
                            let res = residual.map(|res| &res[at.clone()]);
                            add_bias_strided(&mut y[at], &buf[..m], b, res, d);
                        }
                    }
                }
            })
        });
    }
}

/// `dst[i·d] = v[i] + b (+ res[i·d])`: a block's outputs of one phase (contiguous when `d`
/// is 1, which the compiler vectorises).
#[inline(always)]
fn add_bias_strided(dst: &mut [f32], v: &[f32], b: f32, res: Option<&[f32]>, d: usize) {
    match (res, d) {
        (Some(res), 1) => {
            for ((o, v), e) in dst.iter_mut().zip(v).zip(res) {
                *o = v + b + e;
            }
        }
        (None, 1) => {
            for (o, v) in dst.iter_mut().zip(v) {
                *o = v + b;
            }
        }
        (Some(res), _) => {
            for (i, v) in v.iter().enumerate() {
                dst[i * d] = v + b + res[i * d];
            }
        }
        (None, _) => {
            for (i, v) in v.iter().enumerate() {
                dst[i * d] = v + b;
            }
        }
    }
}

/// Scatters 8 spectra (`spec`, `[lane][bin]`) to planes `[re, im, re + im]`, where bin `f`'s
/// 8 lanes go to `at.0 + f·at.1`.
fn lanes_to_planes(spec: &[c32], bins: usize, planes: [&mut [f32]; 3], at: (usize, usize)) {
    let (base, stride) = at;
    assert!(spec.len() == LANES * bins && bins > 0);
    for p in &planes {
        assert!(p.len() >= base + (bins - 1) * stride + LANES);
    }
    let [re, im, sum] = planes;
    let mut f0 = 0;
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: avx2 detected; bins f0..f0+4 < bins of every lane are inside `spec`, and
        // their outputs inside the planes (both asserted above).
        unsafe { x86::lanes_to_planes(spec.as_ptr().cast(), bins, [re, im, sum], at) };
        f0 = bins / 4 * 4;
    }
    for f in f0..bins {
        let o = base + f * stride;
        for lane in 0..LANES {
            let v = spec[lane * bins + f];
            (re[o + lane], im[o + lane], sum[o + lane]) = (v.re, v.im, v.re + v.im);
        }
    }
}

/// The inverse of [`lanes_to_planes`] for planes `[re, im]`: bin `f` of lane `j` of `spec`
/// from element `at.0 + f·at.1 + j` of each plane.
fn planes_to_lanes(planes: [&[f32]; 2], at: (usize, usize), spec: &mut [c32], bins: usize) {
    let (base, stride) = at;
    assert!(spec.len() == LANES * bins && bins > 0);
    for p in &planes {
        assert!(p.len() >= base + (bins - 1) * stride + LANES);
    }
    let [re, im] = planes;
    let mut f0 = 0;
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: as in lanes_to_planes.
        unsafe { x86::planes_to_lanes([re, im], at, spec.as_mut_ptr().cast(), bins) };
        f0 = bins / 4 * 4;
    }
    for f in f0..bins {
        let o = base + f * stride;
        for lane in 0..LANES {
            spec[lane * bins + f] = c32::new(re[o + lane], im[o + lane]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `out[j][i] = r[i][j]`.
    #[target_feature(enable = "avx2")]
    fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }

    /// [`super::lanes_to_planes`] for bins `0..bins/4·4`, four bins (8 floats of each lane's
    /// interleaved spectrum) per 8×8 transpose.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn lanes_to_planes(
        spec: *const f32,
        bins: usize,
        planes: [&mut [f32]; 3],
        (base, stride): (usize, usize),
    ) {
        let [re, im, sum] = planes;
        // SAFETY: the caller's bounds: lane j's bins f0..f0+4 are floats
        // 2·(j·bins + f0)..+8 of `spec`, and each plane holds base + f·stride + 8 for f < bins.
        unsafe {
            for f0 in (0..bins / 4 * 4).step_by(4) {
                let r: [__m256; 8] =
                    std::array::from_fn(|j| _mm256_loadu_ps(spec.add(2 * (j * bins + f0))));
                let c = transpose8(r);
                for j in 0..4 {
                    let o = base + (f0 + j) * stride;
                    let (vr, vi) = (c[2 * j], c[2 * j + 1]);
                    _mm256_storeu_ps(re.as_mut_ptr().add(o), vr);
                    _mm256_storeu_ps(im.as_mut_ptr().add(o), vi);
                    _mm256_storeu_ps(sum.as_mut_ptr().add(o), _mm256_add_ps(vr, vi));
                }
            }
        }
    }

    /// [`super::planes_to_lanes`] for bins `0..bins/4·4`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn planes_to_lanes(
        planes: [&[f32]; 2],
        (base, stride): (usize, usize),
        spec: *mut f32,
        bins: usize,
    ) {
        let [re, im] = planes;
        // SAFETY: as in lanes_to_planes.
        unsafe {
            for f0 in (0..bins / 4 * 4).step_by(4) {
                let r: [__m256; 8] = std::array::from_fn(|i| {
                    let o = base + (f0 + i / 2) * stride;
                    _mm256_loadu_ps(if i % 2 == 0 {
                        re.as_ptr().add(o)
                    } else {
                        im.as_ptr().add(o)
                    })
                });
                for (j, v) in transpose8(r).into_iter().enumerate() {
                    _mm256_storeu_ps(spec.add(2 * (j * bins + f0)), v);
                }
            }
        }
    }
}

/// Per-worker buffers of [`FftConv1d::forward_into`].
#[derive(Default)]
struct Scratch {
    /// Input spectra: real parts, imaginary parts, their sums.
    x: Vec<f32>,
    /// Output spectra: real parts, imaginary parts.
    y: Vec<f32>,
    buf: Vec<f32>,
    spec: Vec<c32>,
    scratch: Vec<c32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A stride-1 "same" convolution, by the algorithm that costs fewest FLOPs: Winograd for
/// kernels of 3, FFTs where they cost at most `max_ratio` of the direct form, else direct.
#[derive(Debug)]
pub enum SameConv1d {
    /// Im2col + GEMM.
    Direct(CpuConv1d),
    /// Overlap-save FFTs.
    Fft(FftConv1d),
    /// Winograd F(4, 3).
    Winograd(Winograd3),
}

impl SameConv1d {
    /// Winograd for `k = 3`; else the FFT form (FFTs of at most `max_n`) if it needs at most
    /// `max_ratio` of the direct form's FLOPs; else direct.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        c_out: usize,
        c_in: usize,
        k: usize,
        dilation: usize,
        max_n: usize,
        max_ratio: f64,
    ) -> Self {
        if k == 3 {
            return SameConv1d::Winograd(Winograd3::new(&weight, bias, c_out, c_in, dilation));
        }
        let odd = dilation == 1 || k % 2 == 1;
        match fft_len_for(c_in, c_out, k, max_n, max_ratio).filter(|_| odd) {
            Some(n) => SameConv1d::Fft(FftConv1d::new(weight, bias, c_out, c_in, k, dilation, n)),
            None => SameConv1d::Direct(CpuConv1d::new(weight, bias, c_out, c_in, k, dilation)),
        }
    }

    /// Builds the FFT form's weights now, if it has any.
    pub fn prepare(&self) {
        if let SameConv1d::Fft(c) = self {
            c.prepare();
        }
    }

    /// `y = conv(act(x)) + bias (+ residual)` into `y`, as [`CpuConv1d::forward_into`].
    pub fn forward_into(
        &self,
        x: &[f32],
        t: usize,
        act: PreAct,
        residual: Option<&[f32]>,
        y: &mut Vec<f32>,
    ) {
        match self {
            SameConv1d::Direct(c) => c.forward_into(x, t, act, None, residual, y),
            SameConv1d::Fft(c) => c.forward_into(x, t, act, residual, y),
            SameConv1d::Winograd(c) => c.forward_into(x, t, act, residual, y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::conv_vs_direct;

    #[test]
    fn fft_conv_equals_the_direct_conv() {
        // lengths below one block, at block boundaries and long; FFT lengths 16–256
        for (c_in, c_out, k, d, t, n) in [
            (3, 5, 3, 1, 1, 16),
            (8, 4, 7, 1, 13, 16),
            (8, 8, 7, 3, 26, 64),
            (16, 16, 11, 5, 5000, 256),
            (16, 8, 11, 1, 2000, 32),
            (4, 6, 7, 5, 999, 128),
            // dilated: phases of unequal length, fewer samples than phases, several blocks
            (6, 5, 11, 3, 100, 32),
            (4, 4, 7, 5, 3, 16),
            (5, 3, 7, 4, 61, 16),
            // an even kernel, undilated
            (4, 4, 4, 1, 50, 16),
        ] {
            let diff = conv_vs_direct((c_in, c_out, k, d, t), |w, b, x, r| {
                let fft = FftConv1d::new(w.to_vec(), Some(b.to_vec()), c_out, c_in, k, d, n);
                let mut y = vec![f32::NAN; 3];
                fft.forward_into(x, t, PreAct::Leaky(0.1), r, &mut y);
                y
            });
            // sums of up to c_in·k products of values in [−1, 1]
            assert!(diff < 2e-5, "({c_in},{c_out},{k},{d},{t},{n}): {diff}");
        }
    }

    #[test]
    fn fft_form_is_chosen_where_it_saves_flops() {
        // the HiFi-GAN resblocks at the decoder's threshold: kernels 3 stay direct (≈ 0.7 of
        // the FLOPs, no gain measured), 7 and 11 go through FFTs of 128 (≈ 0.3)
        assert_eq!(fft_len_for(128, 128, 3, 128, 0.5), None);
        assert_eq!(fft_len_for(128, 128, 7, 128, 0.5), Some(128));
        assert_eq!(fft_len_for(128, 128, 11, 128, 0.5), Some(128));
        assert_eq!(fft_len_for(32, 32, 11, 128, 0.5), Some(128));
        // the first stage's 256 channels, capped at FFTs of 32 by the weights' memory
        assert_eq!(fft_len_for(256, 256, 7, 32, 0.5), Some(32));
        assert_eq!(fft_len_for(256, 256, 11, 32, 0.5), Some(32));
        // a kernel longer than half the largest FFT cannot use it
        assert_eq!(fft_len_for(128, 128, 65, 1024, 1.0), None);
    }

    #[test]
    fn dilated_even_kernels_stay_direct() {
        let c = 32;
        let conv = SameConv1d::new(vec![0.5; c * c * 8], None, c, c, 8, 3, 128, 1.0);
        assert!(matches!(conv, SameConv1d::Direct(_)), "kernel 8, dilation 3");
        let conv = SameConv1d::new(vec![0.5; c * c * 8], None, c, c, 8, 1, 128, 1.0);
        assert!(matches!(conv, SameConv1d::Fft(_)), "kernel 8, dilation 1");
        let conv = SameConv1d::new(vec![0.5; c * c * 9], None, c, c, 9, 3, 128, 1.0);
        assert!(matches!(conv, SameConv1d::Fft(_)), "kernel 9, dilation 3");
    }
}
