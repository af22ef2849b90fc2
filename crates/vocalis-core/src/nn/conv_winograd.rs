//! Kernel-3 convolutions by Winograd's minimal filtering F(4, 3), for the HiFi-GAN resblocks.
//!
//! Four outputs `b, b+d, b+2d, b+3d` of a kernel-3 convolution with dilation `d` come from six
//! inputs `b−d … b+4d` through six products instead of twelve (Lavin & Gray 2016, the points
//! 0, ±1, ±2, ∞): the inputs are transformed (`Bᵀ·x`, additions), multiplied by the transformed
//! weights (`G·w`, computed at load) in six GEMMs `[out × in] · [in × tiles]`, and the products
//! folded back (`Aᵀ·m`). That halves the FLOPs of the direct form's `[out × 3·in]` GEMM.
//!
//! The inputs are first split into the `4d` phases of their index (`x[4d·q + s]`), so every
//! transform reads and writes contiguous vectors. Results equal the direct convolution up to
//! float rounding (the transforms' coefficients are at most 8).

use std::cell::RefCell;

use rayon::prelude::*;

use super::conv_cpu::{PreAct, grow, size_output};

/// `G`: the weights' transform, six points from three taps.
const G: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// Target size of one tile's transformed inputs and products, in f32 values.
const TILE_VALUES: usize = 512 * 1024;

/// A stride-1, kernel-3 `Conv1d` with "same" padding (`d`), by F(4, 3).
#[derive(Debug, Clone)]
pub struct Winograd3 {
    /// `[6][out][in]`: `G·w` of every channel pair.
    u: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    dilation: usize,
}

impl Winograd3 {
    /// From a weight `[out, in, 3]` (flattened), bias `[out]` (or zeros) and dilation.
    pub fn new(
        weight: &[f32],
        bias: Option<Vec<f32>>,
        c_out: usize,
        c_in: usize,
        dilation: usize,
    ) -> Self {
        assert_eq!(weight.len(), c_out * c_in * 3, "conv weight size");
        assert!(dilation > 0, "dilation 0");
        let bias = bias.unwrap_or_else(|| vec![0.0; c_out]);
        assert_eq!(bias.len(), c_out, "conv bias size");
        let pairs = c_out * c_in;
        let mut u = vec![0f32; 6 * pairs];
        for (p, w) in weight.chunks_exact(3).enumerate() {
            for (xi, g) in G.iter().enumerate() {
                u[xi * pairs + p] = g[0] * w[0] + g[1] * w[1] + g[2] * w[2];
            }
        }
        Winograd3 { u, bias, c_in, c_out, dilation }
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
        let d = self.dilation;
        let period = 4 * d;
        let nq = t.div_ceil(period);
        let threads = rayon::current_num_threads().max(1);
        // tiles of `per_tile` periods: `d·per_tile` Winograd tiles (GEMM columns)
        let per_tile = (TILE_VALUES / (6 * (self.c_in + self.c_out) * d))
            .max(8)
            .min(nq.div_ceil(threads))
            .max(1);
        let y_addr = y.as_mut_ptr() as usize;
        (0..nq.div_ceil(per_tile)).into_par_iter().for_each(|ti| {
            let q0 = ti * per_tile;
            let nqt = per_tile.min(nq - q0);
            let cols = d * nqt;
            let len = nqt + 2;
            SCRATCH.with_borrow_mut(|s| {
                grow(&mut s.v, 6 * self.c_in * cols);
                grow(&mut s.m, 6 * self.c_out * cols);
                grow(&mut s.ph, period * len);
                grow(&mut s.out, period * nqt);
                // inputs: phases `ph[s][j] = act(x[4d·(q0 + j − 1) + s])`, then Bᵀ per tile
                for ci in 0..self.c_in {
                    let xr = &x[ci * t..(ci + 1) * t];
                    for sp in 0..period {
                        let row = &mut s.ph[sp * len..(sp + 1) * len];
                        for (j, v) in row.iter_mut().enumerate() {
                            // tile q0 + j − 1; before 0 the index wraps to beyond t
                            let pos = ((q0 + j) * period + sp).wrapping_sub(period);
                            *v = if pos < t { act.apply(xr[pos]) } else { 0.0 };
                        }
                    }
                    for r in 0..d {
                        let at = |sp: usize, start: usize| &s.ph[sp * len + start..][..nqt];
                        let (m0, m1, m2) = (at(r + 3 * d, 0), at(r, 1), at(r + d, 1));
                        let (m3, m4, m5) = (at(r + 2 * d, 1), at(r + 3 * d, 1), at(r, 2));
                        let col0 = ci * cols + r * nqt;
                        let plane = self.c_in * cols;
                        let (v0, rest) = s.v.split_at_mut(plane);
                        let (v1, rest) = rest.split_at_mut(plane);
                        let (v2, rest) = rest.split_at_mut(plane);
                        let (v3, rest) = rest.split_at_mut(plane);
                        let (v4, v5) = rest.split_at_mut(plane);
                        let (v0, v1, v2) = (
                            &mut v0[col0..col0 + nqt],
                            &mut v1[col0..col0 + nqt],
                            &mut v2[col0..col0 + nqt],
                        );
                        let (v3, v4, v5) = (
                            &mut v3[col0..col0 + nqt],
                            &mut v4[col0..col0 + nqt],
                            &mut v5[col0..col0 + nqt],
                        );
                        input_transform([m0, m1, m2, m3, m4, m5], [v0, v1, v2, v3, v4, v5]);
                    }
                }
                // six products M_ξ [out][cols] = U_ξ [out][in] · V_ξ [in][cols]
                let pairs = self.c_out * self.c_in;
                for xi in 0..6 {
                    // SAFETY: the operands are the row-major shapes passed with them, inside
                    // their buffers (sized above).
                    unsafe {
                        super::sgemm(
                            (self.c_out, cols, self.c_in),
                            (s.m.as_mut_ptr().add(xi * self.c_out * cols), cols, 1),
                            (self.u.as_ptr().add(xi * pairs), self.c_in, 1),
                            (s.v.as_ptr().add(xi * self.c_in * cols), cols, 1),
                            1.0,
                            false,
                            gemm::Parallelism::None,
                        )
                    }
                }
                // SAFETY: `y` is `[c_out][t]`; this tile writes positions 4d·q0 ..
                // 4d·(q0 + nqt) of each row only, so tiles never write the same element.
                let y =
                    unsafe { std::slice::from_raw_parts_mut(y_addr as *mut f32, self.c_out * t) };
                let p0 = q0 * period;
                let n_out = (nqt * period).min(t - p0);
                let plane = self.c_out * cols;
                for co in 0..self.c_out {
                    // Aᵀ per tile into phases `out[s][j]`, then interleaved into `y`
                    for r in 0..d {
                        let c0 = co * cols + r * nqt;
                        let mm = |xi: usize| &s.m[xi * plane + c0..][..nqt];
                        let (k0, k1, k2, k3, k4, k5) = (mm(0), mm(1), mm(2), mm(3), mm(4), mm(5));
                        let (o0, rest) = s.out.split_at_mut((r + d) * nqt);
                        let (o1, rest) = rest.split_at_mut(d * nqt);
                        let (o2, o3) = rest.split_at_mut(d * nqt);
                        let (o0, o1) = (&mut o0[r * nqt..(r + 1) * nqt], &mut o1[..nqt]);
                        let (o2, o3) = (&mut o2[..nqt], &mut o3[..nqt]);
                        output_transform([k0, k1, k2, k3, k4, k5], [o0, o1, o2, o3]);
                    }
                    let b = self.bias[co];
                    let dst = &mut y[co * t + p0..][..n_out];
                    let res = residual.map(|r| &r[co * t + p0..][..n_out]);
                    for (j, chunk) in dst.chunks_mut(period).enumerate() {
                        for (sp, v) in chunk.iter_mut().enumerate() {
                            *v = s.out[sp * nqt + j] + b;
                        }
                    }
                    if let Some(res) = res {
                        for (v, r) in dst.iter_mut().zip(res) {
                            *v += r;
                        }
                    }
                }
            })
        });
    }
}

/// `v = Bᵀ·m` for a row of tiles: six input vectors to six transformed ones.
fn input_transform(m: [&[f32]; 6], v: [&mut [f32]; 6]) {
    #[inline(always)]
    fn body(m: [&[f32]; 6], v: [&mut [f32]; 6]) {
        let [m0, m1, m2, m3, m4, m5] = m;
        let [v0, v1, v2, v3, v4, v5] = v;
        let n = m0.len();
        let (m1, m2, m3, m4, m5) = (&m1[..n], &m2[..n], &m3[..n], &m4[..n], &m5[..n]);
        let (v0, v1, v2, v3, v4, v5) =
            (&mut v0[..n], &mut v1[..n], &mut v2[..n], &mut v3[..n], &mut v4[..n], &mut v5[..n]);
        for j in 0..n {
            let (a0, a1, a2, a3, a4, a5) = (m0[j], m1[j], m2[j], m3[j], m4[j], m5[j]);
            v0[j] = 4.0 * a0 - 5.0 * a2 + a4;
            v1[j] = -4.0 * (a1 + a2) + a3 + a4;
            v2[j] = 4.0 * (a1 - a2) - a3 + a4;
            v3[j] = 2.0 * (a3 - a1) - a2 + a4;
            v4[j] = 2.0 * (a1 - a3) - a2 + a4;
            v5[j] = 4.0 * a1 - 5.0 * a3 + a5;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "avx2,fma")]
        fn avx2(m: [&[f32]; 6], v: [&mut [f32]; 6]) {
            body(m, v)
        }
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        return unsafe { avx2(m, v) };
    }
    body(m, v)
}

/// `o = Aᵀ·k` for a row of tiles: six product vectors to the four outputs of each tile.
fn output_transform(k: [&[f32]; 6], o: [&mut [f32]; 4]) {
    #[inline(always)]
    fn body(k: [&[f32]; 6], o: [&mut [f32]; 4]) {
        let [k0, k1, k2, k3, k4, k5] = k;
        let [o0, o1, o2, o3] = o;
        let n = k0.len();
        let (k1, k2, k3, k4, k5) = (&k1[..n], &k2[..n], &k3[..n], &k4[..n], &k5[..n]);
        let (o0, o1, o2, o3) = (&mut o0[..n], &mut o1[..n], &mut o2[..n], &mut o3[..n]);
        for j in 0..n {
            let (b1, b2, b3, b4) = (k1[j], k2[j], k3[j], k4[j]);
            o0[j] = k0[j] + b1 + b2 + b3 + b4;
            o1[j] = b1 - b2 + 2.0 * (b3 - b4);
            o2[j] = b1 + b2 + 4.0 * (b3 + b4);
            o3[j] = b1 - b2 + 8.0 * (b3 - b4) + k5[j];
        }
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "avx2,fma")]
        fn avx2(k: [&[f32]; 6], o: [&mut [f32]; 4]) {
            body(k, o)
        }
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        return unsafe { avx2(k, o) };
    }
    body(k, o)
}

/// Per-worker buffers of [`Winograd3::forward_into`].
#[derive(Default)]
struct Scratch {
    /// Transformed inputs `[6][in][cols]`.
    v: Vec<f32>,
    /// Products `[6][out][cols]`.
    m: Vec<f32>,
    /// One input channel's phases `[4d][tiles + 2]`.
    ph: Vec<f32>,
    /// One output channel's phases `[4d][tiles]`.
    out: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::conv_vs_direct;

    #[test]
    fn winograd_equals_the_direct_conv() {
        // lengths below one period, not a multiple of it, long; dilations 1, 3, 5
        for (c_in, c_out, d, t) in [
            (3, 5, 1, 1),
            (4, 4, 1, 7),
            (8, 8, 3, 13),
            (16, 16, 5, 5003),
            (16, 8, 1, 2000),
            (5, 6, 3, 999),
        ] {
            let diff = conv_vs_direct((c_in, c_out, 3, d, t), |w, b, x, r| {
                let wino = Winograd3::new(w, Some(b.to_vec()), c_out, c_in, d);
                let mut y = vec![f32::NAN; 2];
                wino.forward_into(x, t, PreAct::Leaky(0.1), r, &mut y);
                y
            });
            assert!(diff < 1e-5, "({c_in},{c_out},{d},{t}): {diff}");
        }
    }
}
