//! The GPT conditioning encoder (`ConditioningEncoder` of
//! `TTS/tts/layers/tortoise/autoregressive.py`, with `AttentionBlock` and
//! `QKVAttentionLegacy` of `TTS/tts/layers/tortoise/arch_utils.py`), spec §4.3.
//!
//! Traps reproduced: the residual adds the *normalised* input (`tortoise_norm=False`); the QKV
//! projection is laid out head-major (`[q_h, k_h, v_h]` per head); q and k are both scaled by
//! `ch^-1/4`.

use std::cell::RefCell;

use candle::{Module, Result, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use crate::nn::attn::exp_shifted;
use crate::nn::norm::{GroupNorm, tortoise_groups};
use crate::nn::{Linear, sgemm};

struct AttentionBlock {
    norm: GroupNorm,
    qkv: Linear,
    proj_out: Linear,
    heads: usize,
    differentiable: bool,
}

impl AttentionBlock {
    fn new(vb: VarBuilder, dim: usize, heads: usize, differentiable: bool) -> Result<Self> {
        Ok(AttentionBlock {
            norm: GroupNorm::load(&vb.pp("norm"), tortoise_groups(dim), dim, 1e-5)?,
            qkv: Linear::load_pointwise_conv(&vb.pp("qkv"), dim, 3 * dim)?,
            proj_out: Linear::load_pointwise_conv(&vb.pp("proj_out"), dim, dim)?,
            heads,
            differentiable,
        })
    }

    /// `x`: `[B, D, T]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, d, t) = x.dims3()?;
        let xn = self.norm.forward(x)?;
        // pointwise conv = linear over channels: [B, T, D] -> [B, T, 3D]
        let qkv = self.qkv.forward(&xn.transpose(1, 2)?)?.transpose(1, 2)?; // [B, 3D, T]
        let ch = d / self.heads;
        let qkv = qkv.reshape((b * self.heads, 3 * ch, t))?;
        let scale = 1.0 / (ch as f64).sqrt().sqrt();
        let q = (qkv.narrow(1, 0, ch)? * scale)?;
        let k = (qkv.narrow(1, ch, ch)? * scale)?;
        let v = qkv.narrow(1, 2 * ch, ch)?;
        // w[b,t,s] = softmax_s(sum_c q[b,c,t] k[b,c,s])
        let w = q.transpose(1, 2)?.contiguous()?.matmul(&k.contiguous()?)?;
        let w = crate::nn::softmax_last_dim(&w, self.differentiable)?;
        // a[b,c,t] = sum_s w[b,t,s] v[b,c,s]
        let a = v.contiguous()?.matmul(&w.transpose(1, 2)?)?.reshape((b, d, t))?;
        let h = self.proj_out.forward(&a.transpose(1, 2)?)?.transpose(1, 2)?;
        xn + h
    }

    /// [`AttentionBlock::forward`] on the CPU in f32 for one time-major input `x [t, d]`,
    /// written to `out [t, d]`: no transposes or copies, each head's attention a task with
    /// its own `[t, t]` scores (two GEMMs and a row softmax). `None` if a weight is not CPU f32.
    fn forward_cpu(&self, x: &[f32], d: usize, out: &mut [f32]) -> Option<()> {
        let t = x.len() / d;
        let ch = d / self.heads;
        let mut xn = vec![0f32; t * d];
        self.norm.forward_time_major(x, d, &mut xn)?;
        let mut qkv = vec![0f32; t * 3 * d];
        self.qkv.forward_rows_cpu(&xn, (d, 1), t, &mut qkv, false)?;
        // q·k scaled by ch^-1/4 each: one ch^-1/2 on the product
        let scale = 1.0 / (ch as f32).sqrt();
        let mut a = vec![0f32; t * d];
        let a_addr = a.as_mut_ptr() as usize;
        (0..self.heads).into_par_iter().for_each(|h| {
            SCORES.with_borrow_mut(|p| {
                p.clear();
                p.resize(t * t, 0.0);
                // head h's q, k, v are the channels [3h·ch, 3h·ch + 3ch) of each qkv row
                let (q, k, v) = (3 * h * ch, 3 * h * ch + ch, 3 * h * ch + 2 * ch);
                let ld = 3 * d;
                // SAFETY: qkv is [t, 3d] and p [t, t]; this task writes the columns
                // [h·ch, (h+1)·ch) of a [t, d] only, so tasks never write the same element.
                unsafe {
                    let qkv = qkv.as_ptr();
                    // p[i][j] = scale · Σ_c q[i][c] k[j][c]
                    sgemm(
                        (t, t, ch),
                        (p.as_mut_ptr(), t, 1),
                        (qkv.add(q), ld, 1),
                        (qkv.add(k), 1, ld),
                        scale,
                        false,
                        gemm::Parallelism::None,
                    );
                    for row in p.chunks_exact_mut(t) {
                        let inv = 1.0 / exp_shifted(row);
                        row.iter_mut().for_each(|v| *v *= inv);
                    }
                    // a[i][h·ch + c] = Σ_j p[i][j] v[j][c]
                    sgemm(
                        (t, ch, t),
                        ((a_addr as *mut f32).add(h * ch), d, 1),
                        (p.as_ptr(), t, 1),
                        (qkv.add(v), ld, 1),
                        1.0,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            })
        });
        // the residual adds the normalised input
        out.copy_from_slice(&xn);
        self.proj_out.forward_rows_cpu(&a, (d, 1), t, out, true)
    }
}

thread_local! {
    /// One head's `[t, t]` attention weights in [`AttentionBlock::forward_cpu`], per worker.
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `ConditioningEncoder(spec_dim=80, embedding_dim=D, attn_blocks=6, num_attn_heads=H)`.
pub struct ConditioningEncoder {
    init: Linear,
    attn: Vec<AttentionBlock>,
}

impl ConditioningEncoder {
    /// Loads `gpt.conditioning_encoder`; `differentiable` when training.
    pub fn new(vb: VarBuilder, dim: usize, heads: usize, differentiable: bool) -> Result<Self> {
        let init = Linear::load_pointwise_conv(&vb.pp("init"), 80, dim)?;
        let attn = (0..6)
            .map(|i| AttentionBlock::new(vb.pp("attn").pp(i), dim, heads, differentiable))
            .collect::<Result<_>>()?;
        Ok(ConditioningEncoder { init, attn })
    }

    /// The first projection's weight `[D, 80]`.
    pub fn init_weight(&self) -> Option<&Tensor> {
        self.init.weight()
    }

    /// `mel`: `[B, 80, T]` → `[B, D, T]`.
    pub fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        if let Some(h) = self.forward_cpu(mel)? {
            return h.transpose(1, 2);
        }
        let mut h = self.init.forward(&mel.transpose(1, 2)?)?.transpose(1, 2)?.contiguous()?;
        for blk in &self.attn {
            h = blk.forward(&h)?;
        }
        Ok(h)
    }

    /// [`ConditioningEncoder::forward`] time-major: `[B, 80, T]` → `[B, T, D]` (contiguous).
    pub fn forward_time_major(&self, mel: &Tensor) -> Result<Tensor> {
        match self.forward_cpu(mel)? {
            Some(h) => Ok(h),
            None => self.forward(mel)?.transpose(1, 2)?.contiguous(),
        }
    }

    /// The inference path on the CPU for one f32 mel `[1, 80, T]`: `[1, T, D]`, computed
    /// time-major throughout ([`AttentionBlock::forward_cpu`]). `None` for anything else
    /// (a batch, another device or dtype, trainable weights).
    fn forward_cpu(&self, mel: &Tensor) -> Result<Option<Tensor>> {
        let (b, _, t) = mel.dims3()?;
        if b != 1 || !mel.device().is_cpu() || self.attn.iter().any(|a| a.differentiable) {
            return Ok(None);
        }
        let Some(d) = self.init.weight().map(|w| w.dim(0)).transpose()? else {
            return Ok(None);
        };
        let mel = mel.contiguous()?;
        let (mut h, mut next) = (vec![0f32; t * d], vec![0f32; t * d]);
        // the mel [80, T] read as T rows of 80 (row stride 1, column stride T)
        let ok = crate::nn::with_cpu_f32(&mel, |m| {
            self.init.forward_rows_cpu(m, (1, t), t, &mut h, false)?;
            for blk in &self.attn {
                blk.forward_cpu(&h, d, &mut next)?;
                std::mem::swap(&mut h, &mut next);
            }
            Some(())
        })
        .flatten();
        Ok(match ok {
            Some(()) => Some(Tensor::from_vec(h, (1, t, d), mel.device())?),
            None => None,
        })
    }
}
