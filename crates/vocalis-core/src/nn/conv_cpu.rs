//! CPU 1-D convolutions on the `gemm` crate, for the HiFi-GAN decoder.
//!
//! candle's CPU `conv1d` materialises a transposed im2col of the whole sequence and runs
//! unfused element-wise ops around it; on the decoder that is ~10× slower than PyTorch. Here a
//! convolution is computed tile by tile over time: the tile's input columns (with the leaky-ReLU
//! that precedes every HiFi-GAN convolution applied while copying) are gathered into a
//! cache-sized im2col buffer and multiplied by the `[out, in·k]` weight with one GEMM; bias and
//! the residual are added in the same pass that stores the tile. Tiles run in parallel on the
//! rayon pool. Layout is channel-major `[C][T]`, batch 1.
//!
//! Results equal candle's (and PyTorch's) up to float summation order.

use std::cell::RefCell;

use rayon::prelude::*;

/// Target size of one tile's im2col buffer, in f32 values (~1 MiB: fits L2 with the weights
/// streaming through).
const TILE_VALUES: usize = 256 * 1024;

/// A stride-1 `Conv1d` with "same" padding, weights `[out][in·k]`.
#[derive(Debug, Clone)]
pub struct CpuConv1d {
    weight: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    k: usize,
    dilation: usize,
    padding: usize,
}

/// Leaky ReLU applied to a conv's input, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PreAct {
    /// Identity.
    None,
    /// `x < 0 ? slope·x : x`.
    Leaky(f32),
}

impl PreAct {
    /// `act(v)`, without a branch on the sign (which is random in a signal: a branch
    /// mispredicts half the time).
    #[inline(always)]
    pub(crate) fn apply(self, v: f32) -> f32 {
        match self {
            PreAct::None => v,
            PreAct::Leaky(s) => leaky(v, s),
        }
    }

    /// `dst[i] = act(src[i·stride])` (`src` holds `(dst.len() − 1)·stride + 1` values or more).
    #[inline(always)]
    pub(crate) fn copy_strided(self, dst: &mut [f32], src: &[f32], stride: usize) {
        if stride == 1 {
            return self.copy_into(dst, &src[..dst.len()]);
        }
        for (d, v) in dst.iter_mut().zip(src.iter().step_by(stride)) {
            *d = self.apply(*v);
        }
    }

    /// `dst[i] = act(src[i])`, the activation chosen once for the whole slice.
    #[inline(always)]
    pub(crate) fn copy_into(self, dst: &mut [f32], src: &[f32]) {
        match self {
            PreAct::None => dst.copy_from_slice(src),
            PreAct::Leaky(s) => {
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = leaky(v, s);
                }
            }
        }
    }
}

/// `v < 0 ? s·v : v`, as `max(v, 0) + s·min(v, 0)`: written as that select, the scalar
/// loops compiled to a branch on the sign (the decoder took 5–10 % longer).
#[inline(always)]
fn leaky(v: f32, s: f32) -> f32 {
    v.max(0.0) + s * v.min(0.0)
}

/// Makes `y` hold `n` values, for an output that writes every one of them: a buffer of that
/// length is kept as it is (no zeroing, no page faults); another is cleared and zero-filled.
pub(crate) fn size_output(y: &mut Vec<f32>, n: usize) {
    if y.len() != n {
        y.clear();
        y.resize(n, 0.0);
    }
}

/// Grows a reused scratch buffer to at least `n` values (never shrinks it: convolutions of
/// different shapes take turns on a worker, and regrowing zero-fills every time).
pub(crate) fn grow<T: Clone + Default>(buf: &mut Vec<T>, n: usize) {
    if buf.len() < n {
        buf.resize(n, T::default());
    }
}

fn tile_len(rows: usize, t: usize) -> usize {
    (TILE_VALUES / rows.max(1)).clamp(64, 4096).min(t.max(1))
}

/// `dst[m×n] = lhs[m×k] · rhs[k×n]`, row-major, single-threaded (parallelism is over tiles).
fn matmul(dst: &mut [f32], lhs: &[f32], rhs: &[f32], m: usize, k: usize, n: usize) {
    assert!(dst.len() >= m * n);
    // SAFETY: `dst` holds m rows of n floats and is borrowed mutably.
    unsafe { matmul_into(dst.as_mut_ptr(), n, lhs, rhs, m, k, n) }
}

/// [`matmul`] into rows `ldd` floats apart at `dst`.
///
/// # Safety
/// `dst` must be valid for writes of `m` rows of `n` floats, `ldd` apart, that no one else
/// reads or writes meanwhile.
unsafe fn matmul_into(
    dst: *mut f32,
    ldd: usize,
    lhs: &[f32],
    rhs: &[f32],
    m: usize,
    k: usize,
    n: usize,
) {
    assert!(lhs.len() >= m * k && rhs.len() >= k * n && ldd >= n);
    // SAFETY: the operands hold the row-major shapes passed with them (asserted); `dst` is
    // the caller's promise.
    unsafe {
        super::sgemm(
            (m, n, k),
            (dst, ldd, 1),
            (lhs.as_ptr(), k, 1),
            (rhs.as_ptr(), n, 1),
            1.0,
            false,
            gemm::Parallelism::None,
        )
    }
}

impl CpuConv1d {
    /// From a weight `[out, in, k]` (flattened), bias `[out]` (or zeros), dilation; padding is
    /// "same" (`(k−1)·d/2`).
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        c_out: usize,
        c_in: usize,
        k: usize,
        dilation: usize,
    ) -> Self {
        assert_eq!(weight.len(), c_out * c_in * k, "conv weight size");
        let bias = bias.unwrap_or_else(|| vec![0.0; c_out]);
        assert_eq!(bias.len(), c_out, "conv bias size");
        CpuConv1d { weight, bias, c_in, c_out, k, dilation, padding: (k - 1) * dilation / 2 }
    }

    /// Output channels.
    pub fn c_out(&self) -> usize {
        self.c_out
    }

    /// `y = conv(act(x)) + bias (+ extra_bias[c]) (+ residual)`, with `x` `[c_in][t]`.
    pub fn forward(
        &self,
        x: &[f32],
        t: usize,
        act: PreAct,
        extra_bias: Option<&[f32]>,
        residual: Option<&[f32]>,
    ) -> Vec<f32> {
        let mut y = Vec::new();
        self.forward_into(x, t, act, extra_bias, residual, &mut y);
        y
    }

    /// [`CpuConv1d::forward`] into `y` (resized to `c_out·t`; every element is written, so a
    /// buffer of the right size is reused as is: no allocation, zeroing or page faults).
    pub fn forward_into(
        &self,
        x: &[f32],
        t: usize,
        act: PreAct,
        extra_bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        y: &mut Vec<f32>,
    ) {
        assert_eq!(x.len(), self.c_in * t, "conv input size");
        let rows = self.c_in * self.k;
        let tile = tile_len(rows, t);
        size_output(y, self.c_out * t);
        let y_addr = y.as_mut_ptr() as usize;
        // Tiles write disjoint columns of every output row.
        (0..t.div_ceil(tile)).into_par_iter().for_each(|ti| {
            let t0 = ti * tile;
            let n = tile.min(t - t0);
            COLS.with_borrow_mut(|cols| {
                OUT.with_borrow_mut(|out| {
                    grow(cols, rows * n);
                    grow(out, self.c_out * n);
                    self.gather(x, t, t0, n, act, &mut cols[..rows * n]);
                    matmul(out, &self.weight, cols, self.c_out, rows, n);
                    // SAFETY: `y` is `[c_out][t]`; this tile writes columns t0..t0+n of each
                    // row only, so tiles never write the same element.
                    let y = unsafe {
                        std::slice::from_raw_parts_mut(y_addr as *mut f32, self.c_out * t)
                    };
                    for co in 0..self.c_out {
                        let b = self.bias[co] + extra_bias.map_or(0.0, |e| e[co]);
                        let dst = &mut y[co * t + t0..co * t + t0 + n];
                        let src = &out[co * n..(co + 1) * n];
                        match residual {
                            Some(r) => {
                                let r = &r[co * t + t0..co * t + t0 + n];
                                for ((d, s), r) in dst.iter_mut().zip(src).zip(r) {
                                    *d = *s + b + *r;
                                }
                            }
                            None => {
                                for (d, s) in dst.iter_mut().zip(src) {
                                    *d = *s + b;
                                }
                            }
                        }
                    }
                })
            })
        });
    }

    /// The im2col columns `t0..t0+n` of `act(x)`: row `ci·k + kk` holds
    /// `act(x[ci][t0 + j + kk·d − pad])`, 0 outside `[0, t)`.
    fn gather(&self, x: &[f32], t: usize, t0: usize, n: usize, act: PreAct, cols: &mut [f32]) {
        for ci in 0..self.c_in {
            let xr = &x[ci * t..(ci + 1) * t];
            for kk in 0..self.k {
                let row = &mut cols[(ci * self.k + kk) * n..(ci * self.k + kk + 1) * n];
                let shift = (kk * self.dilation) as isize - self.padding as isize;
                let lo = (-(t0 as isize) - shift).clamp(0, n as isize) as usize;
                let hi = ((t as isize - t0 as isize - shift).clamp(0, n as isize)) as usize;
                if lo < hi {
                    let s0 = (t0 as isize + lo as isize + shift) as usize;
                    act.copy_into(&mut row[lo..hi], &xr[s0..s0 + (hi - lo)]);
                    row[..lo].fill(0.0);
                    row[hi..].fill(0.0);
                } else {
                    row.fill(0.0);
                }
            }
        }
    }
}

thread_local! {
    /// A tile's im2col columns, reused across convolutions on each worker.
    static COLS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// A tile's GEMM output.
    static OUT: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `ConvTranspose1d` with kernel `k`, stride `s`, padding `p` (output length `(t−1)·s − 2p + k`),
/// weight `[in, out, k]`, as GEMM + col2im.
#[derive(Debug, Clone)]
pub struct CpuConvTranspose1d {
    /// `[out·k][in]`: row `co·k + kk` holds `W[:, co, kk]`.
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    padding: usize,
}

impl CpuConvTranspose1d {
    /// From a weight `[in, out, k]` (flattened) and bias `[out]`.
    pub fn new(
        weight: &[f32],
        bias: Vec<f32>,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        assert_eq!(weight.len(), c_in * c_out * k, "conv-transpose weight size");
        let mut weight_t = vec![0f32; c_out * k * c_in];
        for ci in 0..c_in {
            for co in 0..c_out {
                for kk in 0..k {
                    weight_t[(co * k + kk) * c_in + ci] = weight[(ci * c_out + co) * k + kk];
                }
            }
        }
        CpuConvTranspose1d { weight_t, bias, c_in, c_out, k, stride, padding }
    }

    /// Output channels.
    pub fn c_out(&self) -> usize {
        self.c_out
    }

    /// Output length for `t` input frames.
    pub fn out_len(&self, t: usize) -> usize {
        ((t - 1) * self.stride + self.k).saturating_sub(2 * self.padding)
    }

    /// `y = convT(act(x)) + bias + extra_bias[c]`, `x` `[c_in][t]`.
    ///
    /// Output `o` gathers the products of input frames `q − j` with taps `r + j·s`, where
    /// `o + p = q·s + r`; the products come from a GEMM `[out·k × in] · act(x)` over a tile of
    /// frames at a time (with the `⌈k/s⌉ − 1` frames before it), so they stay in cache, and the
    /// tiles (disjoint output ranges) run in parallel.
    pub fn forward(
        &self,
        x: &[f32],
        t: usize,
        act: PreAct,
        extra_bias: Option<&[f32]>,
    ) -> (Vec<f32>, usize) {
        let mut y = Vec::new();
        let t_out = self.forward_into(x, t, act, extra_bias, &mut y);
        (y, t_out)
    }

    /// [`Self::forward`] into `y` (resized to `c_out·t_out`; every element is written), which
    /// returns `t_out`.
    pub fn forward_into(
        &self,
        x: &[f32],
        t: usize,
        act: PreAct,
        extra_bias: Option<&[f32]>,
        y: &mut Vec<f32>,
    ) -> usize {
        assert_eq!(x.len(), self.c_in * t, "conv-transpose input size");
        let t_out = self.out_len(t);
        let (k, s, p) = (self.k, self.stride, self.padding);
        let rows = self.c_out * k;
        let taps_per_output = k.div_ceil(s);
        size_output(y, self.c_out * t_out);
        if t_out == 0 {
            return 0;
        }
        // frames q whose outputs q·s + r − p (0 ≤ r < s) fall in [0, t_out)
        let (q_lo, q_hi) = (p / s, (t_out + p - 1) / s + 1);
        let tile = (TILE_VALUES / rows.max(self.c_in)).clamp(16, 4096);
        let y_addr = y.as_mut_ptr() as usize;
        (q_lo..q_hi).step_by(tile).collect::<Vec<_>>().into_par_iter().for_each(|qa| {
            let qb = (qa + tile).min(q_hi);
            let lo = (qa + 1).saturating_sub(taps_per_output);
            // (no input frames: the outputs are the bias)
            let hi = qb.min(t).max(lo);
            let w = hi - lo;
            COLS.with_borrow_mut(|xa| {
                OUT.with_borrow_mut(|cols| {
                    grow(xa, self.c_in * w);
                    grow(cols, rows * w);
                    for ci in 0..self.c_in {
                        act.copy_into(&mut xa[ci * w..(ci + 1) * w], &x[ci * t + lo..ci * t + hi]);
                    }
                    if w > 0 {
                        matmul(cols, &self.weight_t, xa, rows, self.c_in, w);
                    }
                    // SAFETY: `y` is `[c_out][t_out]`; this tile writes outputs
                    // qa·s − p .. qb·s − p of each row only, so tiles never write the same
                    // element.
                    let y = unsafe {
                        std::slice::from_raw_parts_mut(y_addr as *mut f32, self.c_out * t_out)
                    };
                    for co in 0..self.c_out {
                        let b = self.bias[co] + extra_bias.map_or(0.0, |e| e[co]);
                        let yr = &mut y[co * t_out..(co + 1) * t_out];
                        let cr = &cols[co * k * w..(co + 1) * k * w];
                        for q in qa..qb {
                            for r in 0..s {
                                let Some(o) = (q * s + r).checked_sub(p) else { continue };
                                if o >= t_out {
                                    break;
                                }
                                let mut v = b;
                                for (j, kk) in (r..k).step_by(s).enumerate() {
                                    if let Some(ti) = q.checked_sub(j)
                                        && ti >= lo
                                        && ti < hi
                                    {
                                        v += cr[kk * w + ti - lo];
                                    }
                                }
                                yr[o] = v;
                            }
                        }
                    }
                })
            })
        });
        t_out
    }
}

/// `y [c_out][oh][ow] = conv2d(x [c_in][h][w])` (batch 1) with a square kernel `k`, stride
/// `stride`, zero padding `pad` and weight `[c_out][c_in·k·k]`, without bias. Tiles of whole
/// output rows are gathered into a per-worker im2col buffer and multiplied straight into `y`
/// (candle's CPU `conv2d` spent a third of voice cloning allocating and filling its tiles).
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32],
    c_in: usize,
    h: usize,
    w: usize,
    weight: &[f32],
    c_out: usize,
    k: usize,
    stride: usize,
    pad: usize,
) -> (Vec<f32>, usize, usize) {
    assert_eq!(x.len(), c_in * h * w, "conv2d input size");
    assert_eq!(weight.len(), c_out * c_in * k * k, "conv2d weight size");
    assert!(
        h + 2 * pad >= k && w + 2 * pad >= k && stride > 0,
        "conv2d input smaller than the kernel"
    );
    let oh = (h + 2 * pad - k) / stride + 1;
    let ow = (w + 2 * pad - k) / stride + 1;
    let rows = c_in * k * k;
    let pixels = oh * ow;
    let tile_rows = (TILE_VALUES / (rows * ow).max(1)).clamp(1, oh);
    let mut y = vec![0f32; c_out * pixels];
    let y_addr = y.as_mut_ptr() as usize;
    (0..oh.div_ceil(tile_rows)).into_par_iter().for_each(|ti| {
        let oy0 = ti * tile_rows;
        let noy = tile_rows.min(oh - oy0);
        let n = noy * ow;
        COLS.with_borrow_mut(|cols| {
            grow(cols, rows * n);
            for ci in 0..c_in {
                for ky in 0..k {
                    for kx in 0..k {
                        let r = (ci * k + ky) * k + kx;
                        let row = &mut cols[r * n..(r + 1) * n];
                        // output columns whose input column ox·stride + kx − pad is inside
                        let lo = pad.saturating_sub(kx).div_ceil(stride).min(ow);
                        let hi = (w + pad).saturating_sub(kx).div_ceil(stride).clamp(lo, ow);
                        for (dy, dst) in row.chunks_exact_mut(ow).enumerate() {
                            let iy = ((oy0 + dy) * stride + ky) as isize - pad as isize;
                            if iy < 0 || iy >= h as isize {
                                dst.fill(0.0);
                                continue;
                            }
                            let src = &x[(ci * h + iy as usize) * w..][..w];
                            dst[..lo].fill(0.0);
                            dst[hi..].fill(0.0);
                            for (ox, d) in (lo..hi).zip(&mut dst[lo..hi]) {
                                *d = src[ox * stride + kx - pad];
                            }
                        }
                    }
                }
            }
            // SAFETY: `y` is `[c_out][pixels]`; this tile writes pixels oy0·ow..oy0·ow+n of
            // each channel only (row stride `pixels`), so tiles never write the same element.
            unsafe {
                matmul_into(
                    (y_addr as *mut f32).add(oy0 * ow),
                    pixels,
                    weight,
                    cols,
                    c_out,
                    rows,
                    n,
                )
            }
        })
    });
    (y, oh, ow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{max_abs_diff, uniform as rand};
    use candle::{Device, Tensor};

    #[test]
    fn conv1d_equals_candle() -> candle::Result<()> {
        let dev = Device::Cpu;
        for (c_in, c_out, k, d, t) in
            [(3, 5, 3, 1, 17), (8, 4, 11, 5, 300), (16, 16, 7, 3, 5000), (2, 1, 7, 1, 9)]
        {
            let w = rand(c_out * c_in * k, 1);
            let b = rand(c_out, 2);
            let x = rand(c_in * t, 3);
            let r = rand(c_out * t, 4);
            let conv = CpuConv1d::new(w.clone(), Some(b.clone()), c_out, c_in, k, d);
            let ours = conv.forward(&x, t, PreAct::Leaky(0.1), None, Some(&r));
            let xt = Tensor::from_vec(x, (1, c_in, t), &dev)?;
            let xa = (xt.relu()? + (xt.minimum(0f64)? * 0.1)?)?;
            let want = xa
                .conv1d(&Tensor::from_vec(w, (c_out, c_in, k), &dev)?, (k - 1) * d / 2, 1, d, 1)?
                .broadcast_add(&Tensor::from_vec(b, (1, c_out, 1), &dev)?)?
                .add(&Tensor::from_vec(r, (1, c_out, t), &dev)?)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let diff = max_abs_diff("conv", &ours, &want);
            assert!(diff < 1e-5, "({c_in},{c_out},{k},{d},{t}): {diff}");
        }
        Ok(())
    }

    #[test]
    fn conv_transpose_equals_candle() -> candle::Result<()> {
        let dev = Device::Cpu;
        for (c_in, c_out, k, s, t) in [
            (4, 3, 16, 8, 10),
            (6, 5, 4, 2, 33),
            (3, 4, 4, 2, 9000),
            (2, 3, 16, 8, 2),
            (5, 2, 16, 8, 700),
        ] {
            let p = (k - s) / 2;
            let w = rand(c_in * c_out * k, 5);
            let b = rand(c_out, 6);
            let x = rand(c_in * t, 7);
            let ct = CpuConvTranspose1d::new(&w, b.clone(), c_in, c_out, k, s, p);
            let (ours, t_out) = ct.forward(&x, t, PreAct::None, None);
            assert_eq!(t_out, t * s);
            // into a used buffer: every element is written
            let mut used = vec![f32::NAN; c_out * t_out];
            assert_eq!(ct.forward_into(&x, t, PreAct::None, None, &mut used), t_out);
            assert_eq!(used, ours);
            let want = Tensor::from_vec(x, (1, c_in, t), &dev)?
                .conv_transpose1d(&Tensor::from_vec(w, (c_in, c_out, k), &dev)?, p, 0, s, 1, 1)?
                .broadcast_add(&Tensor::from_vec(b, (1, c_out, 1), &dev)?)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let diff = max_abs_diff("conv", &ours, &want);
            assert!(diff < 1e-5, "({c_in},{c_out},{k},{s},{t}): {diff}");
        }
        Ok(())
    }

    #[test]
    fn conv2d_equals_candle() -> candle::Result<()> {
        let dev = Device::Cpu;
        for (c_in, c_out, k, s, h, w) in
            [(1, 4, 3, 1, 9, 13), (3, 5, 3, 2, 10, 7), (4, 6, 1, 2, 9, 11), (2, 3, 3, 2, 5, 40)]
        {
            let pad = k / 2;
            let wt = rand(c_out * c_in * k * k, 8);
            let x = rand(c_in * h * w, 9);
            let (ours, oh, ow) = conv2d(&x, c_in, h, w, &wt, c_out, k, s, pad);
            let want = Tensor::from_vec(x, (1, c_in, h, w), &dev)?.conv2d(
                &Tensor::from_vec(wt, (c_out, c_in, k, k), &dev)?,
                pad,
                s,
                1,
                1,
            )?;
            assert_eq!(want.dims(), &[1, c_out, oh, ow]);
            let want = want.flatten_all()?.to_vec1::<f32>()?;
            let diff = max_abs_diff("conv", &ours, &want);
            assert!(diff < 1e-5, "({c_in},{c_out},{k},{s},{h},{w}): {diff}");
        }
        Ok(())
    }
}
