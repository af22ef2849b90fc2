//! 1-D convolutions through FFTs (overlap-save), for the HiFi-GAN resblocks on the CPU.
//!
//! A resblock convolution with kernel 7 or 11 costs `2·k·C_in·C_out` FLOPs per output sample
//! computed directly. Through FFTs of length `n` it costs one real FFT per input channel and one
//! inverse per output channel for every block of `n − span + 1` outputs (`span = (k−1)·d + 1`),
//! and in between, per frequency bin, a complex `[C_out × C_in] · [C_in × blocks]` product:
//! `8·C_in·C_out·(n/2 + 1)/(n − span + 1)` FLOPs per output, independent of the kernel size and
//! its dilation (≈ 4–6·C_in·C_out instead of 14–22·C_in·C_out). The per-bin products run on the
//! `gemm` crate's complex kernels.
//!
//! The frequency-domain weights (`(n/2 + 1)·C_out·C_in` complex values) are computed on first
//! use, or ahead of it by [`FftConv1d::prepare`] on another thread, so loading a model does
//! not pay for them.
//!
//! Results equal the direct convolution up to float rounding (the FFTs' ~1e-7 relative).

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use gemm::c32;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::conv_cpu::{CpuConv1d, PreAct, grow};
use super::conv_winograd::Winograd3;

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

/// The FFT length (at most `max_n`) that makes a convolution cheapest in FLOPs per output
/// sample, if that cost is below `max_ratio` of the direct convolution's.
pub fn fft_len_for(
    c_in: usize,
    c_out: usize,
    k: usize,
    dilation: usize,
    max_n: usize,
    max_ratio: f64,
) -> Option<usize> {
    let span = (k - 1) * dilation + 1;
    let direct = 2.0 * (k * c_in * c_out) as f64;
    FFT_LENS
        .iter()
        .filter(|&&n| n >= 2 * span && n <= max_n)
        .map(|&n| {
            let valid = (n - span + 1) as f64;
            let bins = (n / 2 + 1) as f64;
            // complex MACs per bin and block, and the real FFTs in and out (≈ 2.5·n·log2 n)
            let gemm = 8.0 * bins * (c_in * c_out) as f64;
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
    /// `[bin][in][out]`: `conj(rfft(taps at j·d)) / n`.
    spectra: OnceLock<Vec<c32>>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    k: usize,
    dilation: usize,
    padding: usize,
    n: usize,
    /// Outputs per block: `n − span + 1`.
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
    /// length `n` (at least twice the dilated kernel's span).
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
        let span = (k - 1) * dilation + 1;
        assert!(n >= 2 * span && n.is_multiple_of(2), "FFT length {n} for a span of {span}");
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
            padding: (k - 1) * dilation / 2,
            n,
            valid: n - span + 1,
            r2c: planner.plan_fft_forward(n),
            c2r: planner.plan_fft_inverse(n),
        }
    }

    /// Computes the frequency-domain weights now (they are otherwise computed on first use).
    pub fn prepare(&self) {
        self.spectra();
    }

    fn spectra(&self) -> &[c32] {
        self.spectra.get_or_init(|| {
            let (n, bins, k) = (self.n, self.n / 2 + 1, self.k);
            let pairs = self.c_out * self.c_in;
            // The taps sit at j·d, so a bin is a k-term sum:
            //   conj(W(f)) / n = Σ_j w_j (cos θ + i sin θ) / n,  θ = 2π·f·j·d / n,
            // for every pair at once two real GEMMs, `[pairs × k] · [k × bins]`, that write the
            // real and imaginary parts straight into the `[bin][in][out]` layout.
            let mut w = vec![0f32; pairs * k]; // `[in][out][k]`
            for co in 0..self.c_out {
                for ci in 0..self.c_in {
                    let src = &self.weight[(co * self.c_in + ci) * k..][..k];
                    w[(ci * self.c_out + co) * k..][..k].copy_from_slice(src);
                }
            }
            let (mut cos, mut sin) = (vec![0f32; k * bins], vec![0f32; k * bins]);
            for j in 0..k {
                for f in 0..bins {
                    let theta = 2.0 * std::f64::consts::PI * ((f * j * self.dilation) % n) as f64
                        / n as f64;
                    cos[j * bins + f] = (theta.cos() / n as f64) as f32;
                    sin[j * bins + f] = (theta.sin() / n as f64) as f32;
                }
            }
            let mut spectra = vec![c32::new(0.0, 0.0); pairs * bins];
            let dst = spectra.as_mut_ptr() as *mut f32;
            for (part, table) in [(0, &cos), (1, &sin)] {
                // SAFETY: `w` is `[pairs][k]` and `table` `[k][bins]`, row-major; element
                // (pair, f) of the product goes to float `2·(f·pairs + pair) + part` of
                // `spectra`, which holds `bins·pairs` complex values.
                unsafe {
                    gemm::gemm(
                        pairs,
                        bins,
                        k,
                        dst.add(part),
                        2 * pairs as isize,
                        2,
                        false,
                        w.as_ptr(),
                        1,
                        k as isize,
                        table.as_ptr(),
                        1,
                        bins as isize,
                        0.0f32,
                        1.0f32,
                        false,
                        false,
                        false,
                        // one thread: `prepare` may run as a background task, and a rayon join
                        // inside it could steal a task that waits on this very cell
                        gemm::Parallelism::None,
                    )
                }
            }
            spectra
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
        if y.len() != self.c_out * t {
            y.clear();
            y.resize(self.c_out * t, 0.0);
        }
        if t == 0 {
            return;
        }
        let spectra = self.spectra();
        let (n, bins, valid) = (self.n, self.n / 2 + 1, self.valid);
        let blocks = t.div_ceil(valid);
        let per_block = (self.c_in + self.c_out) * bins * std::mem::size_of::<c32>();
        let threads = rayon::current_num_threads().max(1);
        let per_tile =
            (TILE_BYTES / per_block).max(MIN_TILE_BLOCKS).min(blocks.div_ceil(threads)).max(1);
        let y_addr = y.as_mut_ptr() as usize;
        // Tiles write disjoint columns of every output row.
        (0..blocks.div_ceil(per_tile)).into_par_iter().for_each(|ti| {
            let b0 = ti * per_tile;
            let nb = per_tile.min(blocks - b0);
            SCRATCH.with_borrow_mut(|s| {
                grow(&mut s.xf, bins * self.c_in * nb);
                grow(&mut s.yf, bins * self.c_out * nb);
                grow(&mut s.buf, n);
                grow(&mut s.scratch, self.r2c.get_scratch_len().max(self.c2r.get_scratch_len()));
                let buf = &mut s.buf[..n];
                // input spectra, `[bin][block][in]`: each block's channels, then transposed
                for bi in 0..nb {
                    let start = ((b0 + bi) * valid) as isize - self.padding as isize;
                    let lo = (-start).clamp(0, n as isize) as usize;
                    let hi = (t as isize - start).clamp(lo as isize, n as isize) as usize;
                    for ci in 0..self.c_in {
                        let xr = &x[ci * t..(ci + 1) * t];
                        buf[..lo].fill(0.0);
                        if lo < hi {
                            let s0 = (start + lo as isize) as usize;
                            act.copy_into(&mut buf[lo..hi], &xr[s0..s0 + (hi - lo)]);
                        }
                        buf[hi..].fill(0.0);
                        self.r2c
                            .process_with_scratch(
                                buf,
                                &mut s.xf[(bi * self.c_in + ci) * bins..][..bins],
                                &mut s.scratch,
                            )
                            .expect("FFT buffer sizes");
                    }
                }
                // per bin: Y_f [out][block] = W_f [out][in] · X_f [in][block], all three
                // column-major (`[block][out]`, `[in][out]`, `[block][in]`), so the kernel's
                // rows are the output channels
                let pairs = self.c_out * self.c_in;
                for f in 0..bins {
                    // SAFETY: the three matrices are the column-major shapes passed with them,
                    // inside their buffers (sized above).
                    unsafe {
                        gemm::gemm(
                            self.c_out,
                            nb,
                            self.c_in,
                            s.yf.as_mut_ptr().add(f),
                            (self.c_out * bins) as isize,
                            bins as isize,
                            false,
                            spectra.as_ptr().add(f * pairs),
                            self.c_out as isize,
                            1,
                            s.xf.as_ptr().add(f),
                            (self.c_in * bins) as isize,
                            bins as isize,
                            c32::new(0.0, 0.0),
                            c32::new(1.0, 0.0),
                            false,
                            false,
                            false,
                            gemm::Parallelism::None,
                        )
                    }
                }
                // SAFETY: `y` is `[c_out][t]`; this tile writes the columns of its blocks
                // only, so tiles never write the same element.
                let y =
                    unsafe { std::slice::from_raw_parts_mut(y_addr as *mut f32, self.c_out * t) };
                for bi in 0..nb {
                    let t0 = (b0 + bi) * valid;
                    let m = valid.min(t - t0);
                    for co in 0..self.c_out {
                        let spec = &mut s.yf[(bi * self.c_out + co) * bins..][..bins];
                        // the spectrum of a real signal: DC and Nyquist are real
                        spec[0].im = 0.0;
                        spec[bins - 1].im = 0.0;
                        self.c2r
                            .process_with_scratch(spec, buf, &mut s.scratch)
                            .expect("FFT buffer sizes");
                        let b = self.bias[co];
                        let dst = &mut y[co * t + t0..][..m];
                        match residual {
                            Some(r) => {
                                let r = &r[co * t + t0..][..m];
                                for ((d, v), r) in dst.iter_mut().zip(buf.iter()).zip(r) {
                                    *d = v + b + r;
                                }
                            }
                            None => {
                                for (d, v) in dst.iter_mut().zip(buf.iter()) {
                                    *d = v + b;
                                }
                            }
                        }
                    }
                }
            })
        });
    }
}

/// Per-worker buffers of [`FftConv1d::forward_into`].
#[derive(Default)]
struct Scratch {
    xf: Vec<c32>,
    yf: Vec<c32>,
    buf: Vec<f32>,
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
        match fft_len_for(c_in, c_out, k, dilation, max_n, max_ratio) {
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
        for d in [1, 3, 5] {
            assert_eq!(fft_len_for(128, 128, 3, d, 128, 0.5), None, "k 3, d {d}");
            assert_eq!(fft_len_for(128, 128, 7, d, 128, 0.5), Some(128), "k 7, d {d}");
            assert_eq!(fft_len_for(128, 128, 11, d, 128, 0.5), Some(128), "k 11, d {d}");
        }
        assert_eq!(fft_len_for(32, 32, 11, 1, 128, 0.5), Some(128));
        // a span longer than half the largest FFT cannot use it
        assert_eq!(fft_len_for(128, 128, 11, 7, 1024, 1.0), None);
    }
}
