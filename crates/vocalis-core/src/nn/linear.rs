//! A linear layer over float or quantized weights — one code path for both (conventions:
//! "an enum linear, not a second model file").
//!
//! Weights are kept in the `nn.Linear` layout `[out, in]`; HF GPT-2 `Conv1D` weights (`[in,
//! out]`) are transposed once at load, which also puts them on candle's faster `x · Wᵀ` path.

use candle::quantized::{GgmlDType, QMatMul, QTensor};
use candle::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// `y = x Wᵀ + b`.
#[derive(Debug, Clone)]
pub enum Linear {
    /// Float weight `[out, in]` (any float dtype the device supports).
    Float {
        /// `[out, in]`.
        weight: Tensor,
        /// `[out]`.
        bias: Option<Tensor>,
    },
    /// Quantized weight (candle's ggml kernels).
    Quantized {
        /// The quantized `[out, in]` weight.
        weight: QMatMul,
        /// `[out]`, float.
        bias: Option<Tensor>,
        /// Output features.
        out_features: usize,
    },
}

impl Linear {
    /// From tensors.
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Self {
        Linear::Float { weight, bias }
    }

    /// `nn.Linear` weights `weight [out, in]`, `bias [out]`.
    pub fn load(vb: &VarBuilder, in_dim: usize, out_dim: usize, bias: bool) -> Result<Self> {
        let weight = vb.get((out_dim, in_dim), "weight")?;
        let bias = if bias { Some(vb.get(out_dim, "bias")?) } else { None };
        Ok(Linear::Float { weight, bias })
    }

    /// HF `Conv1D` weights `weight [in, out]`, `bias [out]`; transposed to `[out, in]` (copied
    /// for inference; a view of trainable variables, so optimizer updates stay visible).
    pub fn load_conv1d_hf(vb: &VarBuilder, in_dim: usize, out_dim: usize) -> Result<Self> {
        let w = vb.get((in_dim, out_dim), "weight")?;
        let weight = if w.is_variable() { w.t()? } else { w.t()?.contiguous()? };
        let bias = Some(vb.get(out_dim, "bias")?);
        Ok(Linear::Float { weight, bias })
    }

    /// A `k = 1` `Conv1d` weight `[out, in, 1]` used as a linear layer over channels.
    pub fn load_pointwise_conv(vb: &VarBuilder, in_dim: usize, out_dim: usize) -> Result<Self> {
        let weight = vb.get((out_dim, in_dim, 1), "weight")?.squeeze(2)?;
        let bias = Some(vb.get(out_dim, "bias")?);
        Ok(Linear::Float { weight, bias })
    }

    /// The float weight, if not quantized.
    pub fn weight(&self) -> Option<&Tensor> {
        match self {
            Linear::Float { weight, .. } => Some(weight),
            Linear::Quantized { .. } => None,
        }
    }

    /// The bias.
    pub fn bias(&self) -> Option<&Tensor> {
        match self {
            Linear::Float { bias, .. } | Linear::Quantized { bias, .. } => bias.as_ref(),
        }
    }

    /// Quantizes a float layer (no-op if already quantized).
    pub fn quantize(&self, dtype: GgmlDType) -> Result<Self> {
        match self {
            Linear::Float { weight, bias } => {
                let out_features = weight.dim(0)?;
                let q = QTensor::quantize(weight, dtype)?;
                Ok(Linear::Quantized {
                    weight: QMatMul::from_qtensor(q)?,
                    bias: bias.clone(),
                    out_features,
                })
            }
            q => Ok(q.clone()),
        }
    }

    /// From a quantized tensor.
    pub fn from_qtensor(q: QTensor, bias: Option<Tensor>) -> Result<Self> {
        let out_features = q.shape().dims()[0];
        Ok(Linear::Quantized { weight: QMatMul::from_qtensor(q)?, bias, out_features })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let in_dim = *dims.last().expect("linear input has a last dim");
        let lead: Vec<usize> = dims[..dims.len() - 1].to_vec();
        let x2 = x.reshape(((), in_dim))?;
        if let Linear::Float { weight, bias } = self
            && let Some(y) = super::gemv::try_linear(&x2, weight, bias.as_ref())?
        {
            let mut shape = lead;
            shape.push(y.dim(1)?);
            return y.reshape(shape);
        }
        let (y, out) = match self {
            Linear::Float { weight, .. } => (x2.matmul(&weight.t()?)?, weight.dim(0)?),
            Linear::Quantized { weight, out_features, .. } => (weight.forward(&x2)?, *out_features),
        };
        let y = match self.bias() {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut shape = lead;
        shape.push(out);
        y.reshape(shape)
    }
}
