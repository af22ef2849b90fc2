//! Normalisation layers: LayerNorm (GPT-2), BatchNorm in eval mode folded to an affine map
//! (speaker encoder, DVAE-free), plus the perceiver's RMS norm and InstanceNorm as functions.

use candle::{D, DType, Result, Tensor};
use candle_nn::VarBuilder;

/// `nn.LayerNorm` over the last dim.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// Loads `weight` and `bias` of size `dim`.
    pub fn load(vb: &VarBuilder, dim: usize, eps: f64) -> Result<Self> {
        Ok(LayerNorm { weight: vb.get(dim, "weight")?, bias: vb.get(dim, "bias")?, eps })
    }

    /// Applies the norm to one f32 row on the CPU, as candle's fused kernel does; `false` (and
    /// `out` untouched) when the weights are not f32 CPU tensors.
    pub fn forward_row(&self, x: &[f32], out: &mut [f32]) -> bool {
        let eps = self.eps as f32;
        super::with_cpu_f32(&self.weight, |w| {
            super::with_cpu_f32(&self.bias, |b| {
                let n = x.len() as f32;
                let (sum, sum2) = x.iter().fold((0f32, 0f32), |(s, s2), v| (s + v, s2 + v * v));
                let mean = sum / n;
                let inv_std = (sum2 / n - mean * mean + eps).sqrt().recip();
                for (((o, v), w), b) in out.iter_mut().zip(x).zip(w).zip(b) {
                    *o = (v - mean) * inv_std * w + b;
                }
            })
        })
        .flatten()
        .is_some()
    }

    /// Applies the norm.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.is_contiguous() && !self.weight.is_variable() {
            return candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32);
        }
        // Differentiable path (training).
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        let xn = xc.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        xn.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

/// `BatchNorm{1,2}d` in eval mode: `(x − μ)/sqrt(σ² + eps)·γ + β`, folded to `x·scale + shift`
/// per channel (dim 1).
#[derive(Debug, Clone)]
pub struct BatchNorm {
    scale: Tensor,
    shift: Tensor,
}

impl BatchNorm {
    /// Loads `weight`, `bias`, `running_mean`, `running_var` of `channels`.
    pub fn load(vb: &VarBuilder, channels: usize, eps: f64) -> Result<Self> {
        let w = vb.get(channels, "weight")?.to_dtype(DType::F64)?;
        let b = vb.get(channels, "bias")?.to_dtype(DType::F64)?;
        let m = vb.get(channels, "running_mean")?.to_dtype(DType::F64)?;
        let v = vb.get(channels, "running_var")?.to_dtype(DType::F64)?;
        let inv = (v + eps)?.sqrt()?.recip()?;
        let scale = (w * &inv)?;
        let shift = (b - (m * &scale)?)?;
        let dt = vb.dtype();
        Ok(BatchNorm { scale: scale.to_dtype(dt)?, shift: shift.to_dtype(dt)? })
    }

    /// Per-channel scale.
    pub fn scale(&self) -> &Tensor {
        &self.scale
    }

    /// Per-channel shift.
    pub fn shift(&self) -> &Tensor {
        &self.shift
    }

    /// Applies the norm to `[B, C, ...]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut shape = vec![1, self.scale.dim(0)?];
        shape.extend(std::iter::repeat_n(1, x.rank() - 2));
        x.broadcast_mul(&self.scale.reshape(shape.as_slice())?)?
            .broadcast_add(&self.shift.reshape(shape)?)
    }
}

/// `GroupNorm(groups, C, eps, affine)` on `[B, C, T]`, computed in f32.
#[derive(Debug, Clone)]
pub struct GroupNorm {
    weight: Tensor,
    bias: Tensor,
    groups: usize,
    eps: f64,
}

impl GroupNorm {
    /// Loads the affine parameters.
    pub fn load(vb: &VarBuilder, groups: usize, channels: usize, eps: f64) -> Result<Self> {
        Ok(GroupNorm {
            weight: vb.get(channels, "weight")?,
            bias: vb.get(channels, "bias")?,
            groups,
            eps,
        })
    }

    /// Applies the norm.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, t) = x.dims3()?;
        let xg = x.reshape((b, self.groups, (c / self.groups) * t))?;
        let mean = xg.mean_keepdim(D::Minus1)?;
        let xc = xg.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        let xn = xc.broadcast_div(&(var + self.eps)?.sqrt()?)?.reshape((b, c, t))?;
        xn.broadcast_mul(&self.weight.reshape((1, c, 1))?)?
            .broadcast_add(&self.bias.reshape((1, c, 1))?)
    }
}

/// The GroupNorm group count of tortoise's `normalization(channels)`: 32, or 8 for ≤ 16
/// channels, or 16 for ≤ 64, halved until it divides the channel count.
pub fn tortoise_groups(channels: usize) -> usize {
    let mut groups = if channels <= 16 {
        8
    } else if channels <= 64 {
        16
    } else {
        32
    };
    while !channels.is_multiple_of(groups) {
        groups /= 2;
    }
    groups
}
