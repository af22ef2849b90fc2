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

impl GroupNorm {
    /// [`GroupNorm::forward`] of one time-major f32 input on the CPU: `x` and `out` are
    /// `[t, c]` rows; statistics are accumulated per channel in f64, then per group. `None`
    /// (nothing written) if the parameters are not CPU f32.
    pub fn forward_time_major(&self, x: &[f32], c: usize, out: &mut [f32]) -> Option<()> {
        use super::with_cpu_f32;
        assert!(c > 0 && x.len().is_multiple_of(c) && out.len() == x.len(), "group norm rows");
        let (t, cg) = (x.len() / c, c / self.groups);
        let group_means = |col: &[f64]| -> Vec<f64> {
            col.chunks_exact(cg).map(|g| g.iter().sum::<f64>() / (cg * t) as f64).collect()
        };
        let mut col = vec![0f64; c];
        for row in x.chunks_exact(c) {
            col.iter_mut().zip(row).for_each(|(a, v)| *a += *v as f64);
        }
        let mean = group_means(&col);
        let mean_c: Vec<f64> = (0..c).map(|i| mean[i / cg]).collect();
        col.fill(0.0);
        for row in x.chunks_exact(c) {
            for ((a, v), m) in col.iter_mut().zip(row).zip(&mean_c) {
                let d = *v as f64 - m;
                *a += d * d;
            }
        }
        let var = group_means(&col);
        with_cpu_f32(&self.weight, |w| {
            with_cpu_f32(&self.bias, |b| {
                // out = x·a + s with a = w / sqrt(var + eps), s = b − mean·a, per channel
                let (a, s): (Vec<f32>, Vec<f32>) = (0..c)
                    .map(|i| {
                        let a = w[i] as f64 / (var[i / cg] + self.eps).sqrt();
                        (a as f32, (b[i] as f64 - mean_c[i] * a) as f32)
                    })
                    .unzip();
                for (o, xr) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                    for (((o, v), a), s) in o.iter_mut().zip(xr).zip(&a).zip(&s) {
                        *o = v * a + s;
                    }
                }
            })
        })
        .flatten()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{max_abs_diff, uniform};
    use candle::Device;

    #[test]
    fn group_norm_time_major_equals_forward() {
        let dev = Device::Cpu;
        for (c, t, groups) in [(64, 1, 16), (1024, 345, 32), (96, 7, 8)] {
            let map = std::collections::HashMap::from([
                ("weight".to_string(), Tensor::from_vec(uniform(c, 1), c, &dev).unwrap()),
                ("bias".to_string(), Tensor::from_vec(uniform(c, 2), c, &dev).unwrap()),
            ]);
            let vb = VarBuilder::from_tensors(map, candle::DType::F32, &dev);
            let gn = GroupNorm::load(&vb, groups, c, 1e-5).unwrap();
            // an offset and a scale per channel, as activations have
            let x: Vec<f32> = uniform(c * t, 3)
                .iter()
                .enumerate()
                .map(|(i, v)| v * 3.0 + (i % c) as f32 * 0.01)
                .collect();
            let xt = crate::nn::linear::transpose_f32(&x, t, c); // [c][t]
            let want = gn
                .forward(&Tensor::from_vec(xt, (1, c, t), &dev).unwrap())
                .unwrap()
                .squeeze(0)
                .unwrap()
                .t()
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let mut got = vec![f32::NAN; c * t];
            gn.forward_time_major(&x, c, &mut got).unwrap();
            let d = max_abs_diff("group norm", &got, &want);
            assert!(d < 2e-5, "{c}×{t}: {d}");
        }
    }
}
