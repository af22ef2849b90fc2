//! A linear layer over float or quantized weights — one code path for both (conventions:
//! "an enum linear, not a second model file").
//!
//! Weights are kept in the `nn.Linear` layout `[out, in]`; HF GPT-2 `Conv1D` weights (`[in,
//! out]`) are transposed once at load, which also puts them on candle's faster `x · Wᵀ` path.

use std::collections::HashMap;

use candle::quantized::{GgmlDType, QMatMul, QTensor};
use candle::{Device, Module, Result, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

/// Whether `name` is the weight of one of the GPT's HF `Conv1D` layers (stored `[in, out]`).
pub fn is_conv1d_hf_weight(name: &str) -> bool {
    name.starts_with("gpt.gpt.h.")
        && [".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// Lays the GPT's `Conv1D` weights of a state dict out as `[out, in]` in memory, in place, one
/// tensor at a time (so the state dict never exists twice). Each stays an `[in, out]`-shaped
/// view, which [`Linear::load_conv1d_hf`] then takes as it is.
pub fn relayout_conv1d_hf_weights(map: &mut HashMap<String, Tensor>) -> Result<()> {
    let names: Vec<String> = map.keys().filter(|k| is_conv1d_hf_weight(k)).cloned().collect();
    for name in names {
        let w = map.remove(&name).expect("key listed above");
        let w = if w.rank() == 2 && !w.t()?.is_contiguous() { transpose_2d(&w)?.t()? } else { w };
        map.insert(name, w);
    }
    Ok(())
}

/// The transpose of a 2-D tensor, contiguous. On the CPU, f32 goes through [`transpose_f32`]
/// (candle's strided copy moves one element at a time, which made the GPT's 1.5 GB of `Conv1D`
/// weights the slowest part of loading a model).
pub fn transpose_2d(w: &Tensor) -> Result<Tensor> {
    let (rows, cols) = w.dims2()?;
    match super::with_cpu_f32(w, |src| transpose_f32(src, rows, cols)) {
        Some(dst) => Tensor::from_vec(dst, (cols, rows), &Device::Cpu),
        None => w.t()?.contiguous(),
    }
}

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix, in a new weight buffer,
/// copied by tiles over the rayon pool.
pub fn transpose_f32(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    /// Source columns per task (= destination rows), and source rows per tile.
    const COLS: usize = 64;
    const ROWS: usize = 16;
    assert_eq!(src.len(), rows * cols, "transpose of a {rows}×{cols} matrix");
    let mut dst = crate::nn::huge_page_buffer(rows * cols);
    // a task fills COLS destination rows from a strip of source columns, a ROWS × COLS tile at
    // a time, turned in a local buffer so that both the reads and the writes are contiguous runs
    dst.par_chunks_mut(COLS * rows).enumerate().for_each(|(t, out)| {
        let c0 = t * COLS;
        let nc = out.len() / rows;
        let mut tile = [[0f32; ROWS]; COLS];
        for r0 in (0..rows).step_by(ROWS) {
            let nr = ROWS.min(rows - r0);
            for dr in 0..nr {
                let row = &src[(r0 + dr) * cols + c0..][..nc];
                for (c, v) in row.iter().enumerate() {
                    tile[c][dr] = *v;
                }
            }
            for (c, col) in tile.iter().enumerate().take(nc) {
                out[c * rows + r0..][..nr].copy_from_slice(&col[..nr]);
            }
        }
    });
    dst
}

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
    /// A q8_0 weight repacked for AVX-512 VNNI (`nn::q8_vnni`), on CPUs that have it.
    PackedQ8 {
        /// The `[out, in]` weight.
        weight: std::sync::Arc<super::q8_vnni::PackedQ8>,
        /// `[out]`, f32.
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
        let weight =
            if w.is_variable() || w.t()?.is_contiguous() { w.t()? } else { transpose_2d(&w)? };
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
            Linear::Quantized { .. } | Linear::PackedQ8 { .. } => None,
        }
    }

    /// The bias.
    pub fn bias(&self) -> Option<&Tensor> {
        match self {
            Linear::Float { bias, .. }
            | Linear::Quantized { bias, .. }
            | Linear::PackedQ8 { bias, .. } => bias.as_ref(),
        }
    }

    /// `y = W x + b` for one f32 row `x` on the CPU, with the kernels [`Module::forward`] uses
    /// for one row (other weights go through `forward`).
    pub fn forward_row(&self, x: &[f32], y: &mut [f32]) -> Result<()> {
        self.forward_row_act(x, y, false)
    }

    /// `y = gelu_new(W x + b)` for one f32 row, as [`Linear::forward_row`] followed by
    /// [`super::act::gelu_new_inplace`]; the packed q8_0 kernel adds the bias and applies the
    /// activation to each group of outputs where it computes them (no second parallel pass).
    pub fn forward_row_gelu(&self, x: &[f32], y: &mut [f32]) -> Result<()> {
        self.forward_row_act(x, y, true)
    }

    fn forward_row_act(&self, x: &[f32], y: &mut [f32], gelu: bool) -> Result<()> {
        use super::with_cpu_f32;
        // runs `f` with the bias's values; `false` (nothing run: the row is left to `forward`)
        // for a bias that is not f32 on the CPU
        fn with_bias(bias: Option<&Tensor>, f: impl FnOnce(Option<&[f32]>)) -> bool {
            match bias {
                Some(b) => with_cpu_f32(b, |b| f(Some(b))).is_some(),
                None => {
                    f(None);
                    true
                }
            }
        }
        // whether `y` holds the result, and whether the activation is applied to it
        let (done, activated) = match self {
            Linear::Float { weight, bias } => {
                let done = with_cpu_f32(weight, |w| {
                    with_bias(bias.as_ref(), |b| super::gemv::gemv(w, x, b, y))
                });
                (done == Some(true), false)
            }
            Linear::Quantized { weight: QMatMul::QTensor(q), bias, .. }
                if q.dtype() == GgmlDType::Q8_0 && q.device().is_cpu() =>
            {
                let (w, xq) = (q.data()?, super::q8::quantize_row(x));
                let done = with_bias(bias.as_ref(), |b| {
                    super::q8::gemv(&w, &xq, y);
                    if let Some(b) = b {
                        super::add_to_rows(y, b)
                    }
                });
                (done, false)
            }
            // the bias and the activation on each group of outputs, where they are computed
            Linear::PackedQ8 { weight, bias } => {
                let done = with_bias(bias.as_ref(), |b| {
                    weight.matmul_then(x, 1, y, |col, o| {
                        if let Some(b) = b {
                            o.iter_mut().zip(&b[col..]).for_each(|(v, b)| *v += b);
                        }
                        if gelu {
                            super::act::gelu_new_serial(o);
                        }
                    })
                });
                (done, gelu)
            }
            Linear::Quantized { .. } => (false, false),
        };
        if !done {
            let t = Tensor::from_slice(x, (1, x.len()), &Device::Cpu)?;
            let out = self.forward(&t)?.flatten_all()?.to_dtype(candle::DType::F32)?;
            y.copy_from_slice(&out.to_vec1::<f32>()?);
        }
        if gelu && !(done && activated) {
            super::act::gelu_new_inplace(y);
        }
        Ok(())
    }

    /// `y [m, out] (+)= x Wᵀ + b` on the CPU for a float f32 layer, `x` being `m` rows of
    /// `in` values at `x[i·x_rs + j·x_cs]` (so a channel-major `[in, m]` input is read as it
    /// is); `y` is overwritten, or added to with `accumulate`. One GEMM of the `gemm` crate on
    /// the rayon pool, no copies. `None` (nothing written) for any other weight.
    pub fn forward_rows_cpu(
        &self,
        x: &[f32],
        (x_rs, x_cs): (usize, usize),
        m: usize,
        y: &mut [f32],
        accumulate: bool,
    ) -> Option<()> {
        use super::with_cpu_f32;
        let Linear::Float { weight, bias } = self else { return None };
        let (n, k) = weight.dims2().ok()?;
        assert!(m == 0 || x.len() > (m - 1) * x_rs + (k - 1) * x_cs, "linear input too short");
        assert_eq!(y.len(), m * n, "linear output");
        let add_bias = |y: &mut [f32]| match bias {
            Some(b) => with_cpu_f32(b, |b| {
                for row in y.chunks_exact_mut(n) {
                    if accumulate {
                        row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
                    } else {
                        row.copy_from_slice(b);
                    }
                }
            }),
            None => {
                if !accumulate {
                    y.fill(0.0);
                }
                Some(())
            }
        };
        with_cpu_f32(weight, |w| {
            add_bias(y)?;
            // SAFETY: x holds m rows of k at the given strides (asserted), w is [n, k] (read
            // transposed: element (kk, j) at j·k + kk) and y is [m, n].
            unsafe {
                super::sgemm(
                    (m, n, k),
                    (y.as_mut_ptr(), n, 1),
                    (x.as_ptr(), x_rs, x_cs),
                    (w.as_ptr(), 1, k),
                    1.0,
                    true,
                    gemm::Parallelism::Rayon(rayon::current_num_threads()),
                )
            }
            Some(())
        })?
    }

    /// Quantizes a float layer (no-op if already quantized).
    pub fn quantize(&self, dtype: GgmlDType) -> Result<Self> {
        match self {
            Linear::Float { weight, bias } => {
                Linear::from_qtensor(QTensor::quantize(weight, dtype)?, bias.clone())
            }
            q => Ok(q.clone()),
        }
    }

    /// From a quantized tensor: a q8_0 weight on the CPU is repacked for the AVX-512 VNNI
    /// kernels where the CPU has them and its shape allows (`nn::q8_vnni`).
    pub fn from_qtensor(q: QTensor, bias: Option<Tensor>) -> Result<Self> {
        let out_features = q.shape().dims()[0];
        if q.dtype() == GgmlDType::Q8_0
            && q.device().is_cpu()
            && super::q8_vnni::available()
            && bias.as_ref().is_none_or(|b| b.dtype() == candle::DType::F32 && b.device().is_cpu())
            && let Ok((n, k)) = q.shape().dims2()
            && let Some(p) = super::q8_vnni::PackedQ8::from_ggml(&q.data()?, n, k)
        {
            return Ok(Linear::PackedQ8 { weight: std::sync::Arc::new(p), bias });
        }
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
        if let Linear::Quantized { weight: QMatMul::QTensor(q), bias, .. } = self
            && let Some(y) = super::q8::try_matmul(&x2, q, bias.as_ref())?
        {
            let mut shape = lead;
            shape.push(y.dim(1)?);
            return y.reshape(shape);
        }
        if let Linear::PackedQ8 { weight, bias } = self {
            let (m, k) = x2.dims2()?;
            if k != weight.k() {
                candle::bail!(
                    "linear: input of {k} features for a [{}, {}] weight",
                    weight.n(),
                    weight.k()
                )
            }
            let xs = x2.to_dtype(candle::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
            let mut y = vec![0f32; m * weight.n()];
            weight.matmul(&xs, m, &mut y);
            if let Some(b) = bias {
                super::with_cpu_f32(b, |b| super::add_to_rows(&mut y, b));
            }
            let mut shape = lead;
            shape.push(weight.n());
            return Tensor::from_vec(y, shape, &Device::Cpu)?.to_dtype(x.dtype());
        }
        let (y, out) = match self {
            Linear::PackedQ8 { .. } => unreachable!("handled above"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiled_transpose_equals_candles() {
        for (r, c) in [(1, 1), (3, 70), (37, 33), (64, 96), (100, 7)] {
            let v: Vec<f32> = (0..r * c).map(|i| (i as f32 * 0.37).sin()).collect();
            let w = Tensor::from_vec(v, (r, c), &Device::Cpu).unwrap();
            let ours = transpose_2d(&w).unwrap();
            assert!(ours.is_contiguous());
            let theirs = w.t().unwrap().contiguous().unwrap();
            assert_eq!(ours.to_vec2::<f32>().unwrap(), theirs.to_vec2::<f32>().unwrap(), "{r}×{c}");
        }
    }

    #[test]
    fn rows_on_the_cpu_equal_forward_for_any_input_layout() {
        use crate::testing::{max_abs_diff, uniform};
        let dev = Device::Cpu;
        for (m, k, n, bias) in [(1, 8, 5, true), (37, 80, 64, true), (345, 64, 192, false)] {
            let w = Tensor::from_vec(uniform(n * k, 1), (n, k), &dev).unwrap();
            let b = bias.then(|| Tensor::from_vec(uniform(n, 2), n, &dev).unwrap());
            let lin = Linear::new(w, b);
            let x = uniform(m * k, 3);
            let want = lin
                .forward(&Tensor::from_slice(&x, (m, k), &dev).unwrap())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            // row-major rows, and the same values stored channel-major ([k][m])
            let mut y = vec![f32::NAN; m * n];
            lin.forward_rows_cpu(&x, (k, 1), m, &mut y, false).unwrap();
            assert!(max_abs_diff("rows", &y, &want) < 1e-5, "{m}×{k}×{n}");
            let xt = transpose_f32(&x, m, k);
            let mut y = vec![f32::NAN; m * n];
            lin.forward_rows_cpu(&xt, (1, m), m, &mut y, false).unwrap();
            assert!(max_abs_diff("columns", &y, &want) < 1e-5, "{m}×{k}×{n}");
            // accumulating adds to what is there
            let base = uniform(m * n, 4);
            let mut y = base.clone();
            lin.forward_rows_cpu(&x, (k, 1), m, &mut y, true).unwrap();
            let sum: Vec<f32> = want.iter().zip(&base).map(|(a, b)| a + b).collect();
            assert!(max_abs_diff("accumulated", &y, &sum) < 1e-5, "{m}×{k}×{n}");
        }
        let q = Linear::new(Tensor::ones((32, 32), candle::DType::F32, &dev).unwrap(), None)
            .quantize(GgmlDType::Q8_0)
            .unwrap();
        assert!(q.forward_rows_cpu(&[0.0; 32], (32, 1), 1, &mut [0.0; 32], false).is_none());
    }

    #[test]
    fn a_row_with_gelu_equals_the_row_then_gelu() {
        use crate::testing::uniform;
        let dev = Device::Cpu;
        // float, q8_0 (96 rows: packed for VNNI where the CPU has it; 40 rows: never packed)
        // and q4k (through `forward`), with and without a bias: the same values to the bit
        for (k, n, bias) in [(256, 96, true), (256, 96, false), (256, 40, true)] {
            let w = Tensor::from_vec(uniform(n * k, 5), (n, k), &dev).unwrap();
            let bias = bias.then(|| Tensor::from_vec(uniform(n, 6), n, &dev).unwrap());
            let x: Vec<f32> = uniform(k, 7).iter().map(|v| v * 4.0).collect();
            let float = Linear::new(w, bias);
            for lin in [
                float.quantize(GgmlDType::Q8_0).unwrap(),
                float.quantize(GgmlDType::Q4K).unwrap(),
                float,
            ] {
                let mut want = vec![f32::NAN; n];
                lin.forward_row(&x, &mut want).unwrap();
                crate::nn::act::gelu_new_inplace(&mut want);
                let mut y = vec![f32::NAN; n];
                lin.forward_row_gelu(&x, &mut y).unwrap();
                assert_eq!(y, want, "{lin:?}");
                assert!(y.iter().any(|v| *v < 0.0) && y.iter().any(|v| *v > 0.5), "{y:?}");
                // and the row's kernels agree with the layer's tensor forward
                let t = Tensor::from_slice(&x, (1, k), &dev).unwrap();
                let mut f = lin.forward(&t).unwrap().flatten_all().unwrap().to_vec1().unwrap();
                crate::nn::act::gelu_new_inplace(&mut f);
                assert!(crate::testing::max_abs_diff("row", &y, &f) < 1e-4, "{lin:?}");
            }
        }
        #[cfg(target_arch = "x86_64")]
        if crate::nn::q8_vnni::available() {
            let w = Tensor::from_vec(uniform(96 * 256, 5), (96, 256), &dev).unwrap();
            let q = Linear::new(w, None).quantize(GgmlDType::Q8_0).unwrap();
            assert!(matches!(q, Linear::PackedQ8 { .. }), "q8_0 packed on a VNNI CPU");
        }
        let w = Tensor::from_vec(uniform(40 * 256, 5), (40, 256), &dev).unwrap();
        let q = Linear::new(w, None).quantize(GgmlDType::Q8_0).unwrap();
        assert!(matches!(q, Linear::Quantized { .. }), "40 rows are not packed");
    }

    #[test]
    fn relaid_out_conv1d_weights_load_to_the_same_linear() {
        let w: Vec<f32> = (0..12 * 20).map(|i| i as f32).collect();
        let w = Tensor::from_vec(w, (12, 20), &Device::Cpu).unwrap();
        let b = Tensor::zeros(20, candle::DType::F32, &Device::Cpu).unwrap();
        let name = "gpt.gpt.h.3.mlp.c_fc";
        let mut map = HashMap::new();
        map.insert(format!("{name}.weight"), w.clone());
        map.insert(format!("{name}.bias"), b);
        map.insert("gpt.text_head.weight".to_string(), w.clone());
        let plain = VarBuilder::from_tensors(map.clone(), candle::DType::F32, &Device::Cpu);
        relayout_conv1d_hf_weights(&mut map).unwrap();
        let moved = &map[&format!("{name}.weight")];
        assert_eq!(moved.dims(), [12, 20]);
        assert!(moved.t().unwrap().is_contiguous(), "stored as [out, in]");
        assert!(map["gpt.text_head.weight"].is_contiguous(), "other weights untouched");
        let relaid = VarBuilder::from_tensors(map, candle::DType::F32, &Device::Cpu);
        let a = Linear::load_conv1d_hf(&plain.pp(name), 12, 20).unwrap();
        let b = Linear::load_conv1d_hf(&relaid.pp(name), 12, 20).unwrap();
        let (a, b) = (a.weight().unwrap(), b.weight().unwrap());
        assert_eq!(a.dims(), [20, 12]);
        assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
        assert_eq!(a.to_vec2::<f32>().unwrap(), w.t().unwrap().to_vec2::<f32>().unwrap());
    }
}
