//! The XTTS HiFi-GAN decoder (`HifiDecoder` of `TTS/tts/layers/xtts/hifigan_decoder.py` and
//! `HifiganGenerator` of `TTS/vocoder/models/hifigan_generator.py`), spec §6.
//!
//! GPT latents are interpolated ×4 then ×24000/22050 (torch `scale_factor` semantics), then a
//! speaker-conditioned HiFi-GAN (512 channels, upsampling 8·8·2·2 = 256) produces 24 kHz audio.
//! Weight norm is folded at load. Traps reproduced: the final `leaky_relu` uses slope 0.01; the
//! ConvTranspose weight norm is per input channel (handled by the shared helper).

use std::sync::Arc;

use candle::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::audio::interp::LinearInterp;
use crate::nn::conv_cpu::{CpuConv1d, CpuConvTranspose1d, PreAct};
use crate::nn::conv_fft::SameConv1d;
use crate::nn::weight_norm::conv_weight;
use crate::nn::{Conv1d, Conv1dSpec};

const UPSAMPLE_RATES: [usize; 4] = [8, 8, 2, 2];
const UPSAMPLE_KERNELS: [usize; 4] = [16, 16, 4, 4];
const RESBLOCK_KERNELS: [usize; 3] = [3, 7, 11];
const RESBLOCK_DILATIONS: [usize; 3] = [1, 3, 5];
const INITIAL_CHANNELS: usize = 512;
/// Output samples per decoder frame.
pub const HOP: usize = 256;
/// Frames kept on each side of a wanted span after the first stage (see
/// [`HifiGan::generate_span`]): the later stages see ±1.8 frames (upsampling ±1.5 samples at
/// 8 per frame, the k=11 resblocks ±60 samples at 64, 128 and 256 per frame, conv_post ±3).
pub const SPAN_MARGIN_FRAMES: usize = 3;
/// Frames of context the first stage's resblocks need on each side (k = 11 with dilations 1,
/// 3, 5: ±60 samples at 8 per frame = 7.5 frames).
const STAGE0_RESBLOCK_FRAMES: usize = 8;

struct ResBlock {
    convs1: Vec<Conv1d>,
    convs2: Vec<Conv1d>,
}

impl ResBlock {
    fn new(vb: VarBuilder, ch: usize, k: usize) -> Result<Self> {
        let mut convs1 = Vec::new();
        let mut convs2 = Vec::new();
        for (i, &d) in RESBLOCK_DILATIONS.iter().enumerate() {
            let v1 = vb.pp("convs1").pp(i);
            convs1.push(Conv1d::new(
                conv_weight(&v1, (ch, ch, k))?,
                Some(v1.get(ch, "bias")?),
                Conv1dSpec::same(k, d),
            ));
            let v2 = vb.pp("convs2").pp(i);
            convs2.push(Conv1d::new(
                conv_weight(&v2, (ch, ch, k))?,
                Some(v2.get(ch, "bias")?),
                Conv1dSpec::same(k, 1),
            ));
        }
        Ok(ResBlock { convs1, convs2 })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for (c1, c2) in self.convs1.iter().zip(&self.convs2) {
            let xt = c1.forward(&leaky_relu(&x, 0.1)?)?;
            let xt = c2.forward(&leaky_relu(&xt, 0.1)?)?;
            x = (xt + x)?;
        }
        Ok(x)
    }
}

/// `leaky_relu(x, slope)`.
pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    let neg = (x.minimum(0f64)? * slope)?;
    x.relu()? + neg
}

struct Upsample {
    weight: Tensor,
    bias: Tensor,
    stride: usize,
    padding: usize,
}

impl Upsample {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.conv_transpose1d(&self.weight, self.padding, 0, self.stride, 1, 1)?;
        y.broadcast_add(&self.bias.reshape((1, (), 1))?)
    }
}

/// The speaker-conditioned HiFi-GAN generator: on CPU the GEMM-based fused path of
/// [`crate::nn::conv_cpu`] (resblock convolutions by Winograd F(4, 3) for kernels of 3 and by
/// FFTs for 7 and 11, [`crate::nn::conv_fft`]), elsewhere candle ops.
pub struct HifiGan {
    backend: Backend,
    input_dim: usize,
}

enum Backend {
    Candle(Box<CandleGenerator>),
    Cpu(Box<CpuGenerator>),
}

impl HifiGan {
    /// Loads `hifigan_decoder.waveform_decoder` for latents of `input_dim` channels; the CPU
    /// path is used when the weights are on the CPU.
    pub fn new(vb: VarBuilder, input_dim: usize, cond_channels: usize) -> Result<Self> {
        let generator = CandleGenerator::new(vb.clone(), input_dim, cond_channels)?;
        let backend = if vb.device().is_cpu() {
            let cpu = CpuGenerator::from_candle(&generator)?;
            // the FFT convolutions' frequency-domain weights (~0.1 s of work) are built on the
            // rayon pool meanwhile, not while loading or at the first decode
            let resblocks = Arc::clone(&cpu.resblocks);
            rayon::spawn(move || {
                for (c1, c2) in resblocks.iter().flatten() {
                    c1.prepare();
                    c2.prepare();
                }
            });
            Backend::Cpu(Box::new(cpu))
        } else {
            Backend::Candle(Box::new(generator))
        };
        Ok(HifiGan { backend, input_dim })
    }

    /// Loads the candle-ops generator regardless of the device (for cross-checking backends).
    pub fn new_candle(vb: VarBuilder, input_dim: usize, cond_channels: usize) -> Result<Self> {
        Ok(HifiGan {
            backend: Backend::Candle(Box::new(CandleGenerator::new(vb, input_dim, cond_channels)?)),
            input_dim,
        })
    }

    /// Latent channels expected by `conv_pre`.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The generator on decoder frames `z` `[1, D, T']` with speaker embedding `g` `[1, 512, 1]`:
    /// `[1, 1, 256·T']`.
    pub fn generate(&self, z: &Tensor, g: &Tensor) -> Result<Tensor> {
        match &self.backend {
            Backend::Candle(c) => c.generate(z, g),
            Backend::Cpu(c) => c.generate(z, g),
        }
    }

    /// [`Self::generate`] where only the audio of frames `keep` (a range of `z`'s frames) is
    /// wanted: the CPU generator drops the frames no output of `keep` depends on, before the
    /// first stage's resblocks and again after them (keeping [`SPAN_MARGIN_FRAMES`] on each
    /// side for the later stages' receptive field), so a streamed window's context is decoded
    /// at the first stage's low rate only. Returns the audio and the frame of `z` where it
    /// starts; the audio of `keep` equals `generate`'s (tests/pipeline.rs, streaming tests).
    pub fn generate_span(
        &self,
        z: &Tensor,
        g: &Tensor,
        keep: std::ops::Range<usize>,
    ) -> Result<(Tensor, usize)> {
        match &self.backend {
            Backend::Candle(c) => Ok((c.generate(z, g)?, 0)),
            Backend::Cpu(c) => c.generate_span(z, g, Some(keep)),
        }
    }

    /// `HifiDecoder.forward`: GPT latents `[L, D]` (one utterance) and speaker embedding `[512]`
    /// → 24 kHz waveform.
    pub fn decode(&self, latents: &Tensor, speaker: &Tensor) -> Result<Tensor> {
        let z = decoder_input(latents)?;
        let g = speaker.reshape((1, (), 1))?;
        self.generate(&z.unsqueeze(0)?, &g)?.flatten_all()
    }
}

/// The generator in candle ops (any device).
struct CandleGenerator {
    conv_pre: Conv1d,
    cond_layer: Conv1d,
    ups: Vec<Upsample>,
    conds: Vec<Conv1d>,
    resblocks: Vec<ResBlock>,
    conv_post: Conv1d,
}

impl CandleGenerator {
    fn new(vb: VarBuilder, input_dim: usize, cond_channels: usize) -> Result<Self> {
        let conv_pre = Conv1d::new(
            vb.get((INITIAL_CHANNELS, input_dim, 7), "conv_pre.weight")?,
            Some(vb.get(INITIAL_CHANNELS, "conv_pre.bias")?),
            Conv1dSpec::same(7, 1),
        );
        let cond_layer = Conv1d::new(
            vb.get((INITIAL_CHANNELS, cond_channels, 1), "cond_layer.weight")?,
            Some(vb.get(INITIAL_CHANNELS, "cond_layer.bias")?),
            Conv1dSpec::same(1, 1),
        );
        let mut ups = Vec::new();
        let mut conds = Vec::new();
        let mut resblocks = Vec::new();
        for (i, (&u, &k)) in UPSAMPLE_RATES.iter().zip(&UPSAMPLE_KERNELS).enumerate() {
            let cin = INITIAL_CHANNELS >> i;
            let cout = INITIAL_CHANNELS >> (i + 1);
            let v = vb.pp("ups").pp(i);
            ups.push(Upsample {
                weight: conv_weight(&v, (cin, cout, k))?,
                bias: v.get(cout, "bias")?,
                stride: u,
                padding: (k - u) / 2,
            });
            let c = vb.pp("conds").pp(i);
            conds.push(Conv1d::new(
                c.get((cout, cond_channels, 1), "weight")?,
                Some(c.get(cout, "bias")?),
                Conv1dSpec::same(1, 1),
            ));
            for (m, &rk) in RESBLOCK_KERNELS.iter().enumerate() {
                resblocks.push(ResBlock::new(vb.pp("resblocks").pp(3 * i + m), cout, rk)?);
            }
        }
        let last = INITIAL_CHANNELS >> UPSAMPLE_RATES.len();
        let conv_post =
            Conv1d::new(vb.get((1, last, 7), "conv_post.weight")?, None, Conv1dSpec::same(7, 1));
        Ok(CandleGenerator { conv_pre, cond_layer, ups, conds, resblocks, conv_post })
    }

    fn generate(&self, z: &Tensor, g: &Tensor) -> Result<Tensor> {
        let mut o = self.conv_pre.forward(z)?.broadcast_add(&self.cond_layer.forward(g)?)?;
        for (i, up) in self.ups.iter().enumerate() {
            o = leaky_relu(&o, 0.1)?;
            o = up.forward(&o)?;
            o = o.broadcast_add(&self.conds[i].forward(g)?)?;
            let mut acc: Option<Tensor> = None;
            for m in 0..3 {
                let r = self.resblocks[3 * i + m].forward(&o)?;
                acc = Some(match acc {
                    Some(a) => (a + r)?,
                    None => r,
                });
            }
            o = (acc.expect("three resblocks") / 3.0)?;
        }
        let o = leaky_relu(&o, 0.01)?;
        self.conv_post.forward(&o)?.tanh()
    }
}

fn host(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(candle::DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

fn cpu_conv(c: &Conv1d, dilation: usize) -> Result<CpuConv1d> {
    let (co, ci, k) = c.weight().dims3()?;
    let bias = c.bias().map(host).transpose()?;
    Ok(CpuConv1d::new(host(c.weight())?, bias, co, ci, k, dilation))
}

/// Most memory a resblock convolution's frequency-domain weights may take (`(n/2 + 1)·C²`
/// channel pairs of three floats): FFTs of 128 at 128 channels, of 32 at the first stage's 256
/// (where 64 or 128 would add 280–600 MB for a few % of the decoder's time).
const FFT_MAX_WEIGHT_BYTES: usize = 14 << 20;

/// Share of the direct convolution's FLOPs below which the FFT form is used: kernels 7 and 11
/// (≈ 0.3); kernels 3 (≈ 0.7) measured no faster that way.
const FFT_MAX_FLOP_RATIO: f64 = 0.5;

fn resblock_conv(c: &Conv1d, dilation: usize) -> Result<SameConv1d> {
    let (co, ci, k) = c.weight().dims3()?;
    let bias = c.bias().map(host).transpose()?;
    let max_n = 2 * (FFT_MAX_WEIGHT_BYTES / (12 * co * ci)).saturating_sub(1);
    Ok(SameConv1d::new(host(c.weight())?, bias, co, ci, k, dilation, max_n, FFT_MAX_FLOP_RATIO))
}

/// A pointwise conv applied to the speaker embedding: a matrix-vector product done once.
struct CondProj {
    weight: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
}

impl CondProj {
    fn new(c: &Conv1d) -> Result<Self> {
        let (_, c_in, _) = c.weight().dims3()?;
        Ok(CondProj {
            weight: host(c.weight())?,
            bias: c.bias().map(host).transpose()?.unwrap_or_default(),
            c_in,
        })
    }

    fn apply(&self, g: &[f32]) -> Vec<f32> {
        self.bias
            .iter()
            .enumerate()
            .map(|(o, b)| {
                b + self.weight[o * self.c_in..(o + 1) * self.c_in]
                    .iter()
                    .zip(g)
                    .map(|(w, x)| w * x)
                    .sum::<f32>()
            })
            .collect()
    }
}

/// The generator on the CPU convolution kernels (`[C][T]` buffers, batch 1).
struct CpuGenerator {
    conv_pre: CpuConv1d,
    cond_layer: CondProj,
    ups: Vec<CpuConvTranspose1d>,
    conds: Vec<CondProj>,
    resblocks: Arc<Vec<Vec<(SameConv1d, SameConv1d)>>>,
    conv_post: CpuConv1d,
    buffers: Buffers,
}

/// The stage buffers of the last decode, for the next: the last three stages' are ~34 MB each
/// (for 11 s of audio), and a fresh one costs ~15 ms of page faults and zeroing the first time
/// it is written.
#[derive(Debug, Default)]
struct Buffers(std::sync::Mutex<Vec<Vec<f32>>>);

impl Buffers {
    /// Buffers one decode uses.
    const KEPT: usize = 6;

    /// The largest buffer kept if it holds `n` values, else a new one of `n` zeros; the
    /// length and contents of a kept one are those it was given back with.
    fn take_at_least(&self, n: usize) -> Vec<f32> {
        let kept = self.0.lock().map(|mut b| b.pop()).ok().flatten();
        match kept {
            Some(v) if v.capacity() >= n => v,
            _ => crate::nn::huge_page_buffer(n),
        }
    }

    fn give(&self, bufs: impl IntoIterator<Item = Vec<f32>>) {
        if let Ok(mut kept) = self.0.lock() {
            kept.extend(bufs);
            kept.sort_by_key(Vec::capacity);
            let extra = kept.len().saturating_sub(Self::KEPT);
            kept.drain(..extra);
        }
    }
}

impl CpuGenerator {
    fn from_candle(g: &CandleGenerator) -> Result<Self> {
        let ups = g
            .ups
            .iter()
            .map(|u| {
                let (ci, co, k) = u.weight.dims3()?;
                Ok(CpuConvTranspose1d::new(
                    &host(&u.weight)?,
                    host(&u.bias)?,
                    ci,
                    co,
                    k,
                    u.stride,
                    u.padding,
                ))
            })
            .collect::<Result<_>>()?;
        let resblocks = g
            .resblocks
            .iter()
            .map(|r| {
                r.convs1
                    .iter()
                    .zip(&r.convs2)
                    .zip(RESBLOCK_DILATIONS)
                    .map(|((c1, c2), d)| Ok((resblock_conv(c1, d)?, resblock_conv(c2, 1)?)))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let resblocks = Arc::new(resblocks);
        Ok(CpuGenerator {
            conv_pre: cpu_conv(&g.conv_pre, 1)?,
            cond_layer: CondProj::new(&g.cond_layer)?,
            ups,
            conds: g.conds.iter().map(CondProj::new).collect::<Result<_>>()?,
            resblocks,
            conv_post: cpu_conv(&g.conv_post, 1)?,
            buffers: Buffers::default(),
        })
    }

    fn generate(&self, z: &Tensor, g: &Tensor) -> Result<Tensor> {
        Ok(self.generate_span(z, g, None)?.0)
    }

    fn generate_span(
        &self,
        z: &Tensor,
        g: &Tensor,
        keep: Option<std::ops::Range<usize>>,
    ) -> Result<(Tensor, usize)> {
        let (_, _, t) = z.dims3()?;
        let dev = z.device().clone();
        let z = host(z)?;
        let g = host(g)?;
        // the frames the buffer holds: [first, first + frames) of `z`
        let (mut first, mut frames) = (0, t);
        // drops all but frames `keep` ± `margin` from `x` (`[C, t]`, t a multiple of frames)
        let mut crop = |x: &mut Vec<f32>, t: &mut usize, margin: usize| {
            let Some(keep) = &keep else { return };
            let lo = keep.start.saturating_sub(margin).max(first);
            let hi = (keep.end + margin).min(first + frames);
            if lo == first && hi == first + frames {
                return;
            }
            let (per_frame, channels) = (*t / frames, x.len() / *t);
            let (s0, n) = ((lo - first) * per_frame, (hi - lo) * per_frame);
            *x = (0..channels).flat_map(|c| x[c * *t + s0..][..n].iter().copied()).collect();
            (*t, first, frames) = (n, lo, hi - lo);
        };
        let mut o =
            self.conv_pre.forward(&z, t, PreAct::None, Some(&self.cond_layer.apply(&g)), None);
        let mut t = t;
        // every stage's upsampled input, resblock sum and three convolution buffers, sized for
        // the largest stage (the last three have the same size before any crop) and kept
        // across stages and decodes
        let b = &self.buffers;
        let (mut need, mut tu) = (0, t);
        for up in &self.ups {
            tu = up.out_len(tu);
            need = need.max(up.c_out() * tu);
        }
        let [mut u, mut acc, mut x, mut xt, mut x2] = [(); 5].map(|()| b.take_at_least(need));
        for (i, up) in self.ups.iter().enumerate() {
            let g_up = self.conds[i].apply(&g);
            t = up.forward_into(&o, t, PreAct::Leaky(0.1), Some(&g_up), &mut u);
            if i == 0 {
                crop(&mut u, &mut t, SPAN_MARGIN_FRAMES + STAGE0_RESBLOCK_FRAMES);
            }
            acc.clear();
            acc.resize(u.len(), 0.0);
            for rb in &self.resblocks[3 * i..3 * i + 3] {
                x.clone_from(&u);
                for (c1, c2) in rb {
                    c1.forward_into(&x, t, PreAct::Leaky(0.1), None, &mut xt);
                    c2.forward_into(&xt, t, PreAct::Leaky(0.1), Some(&x), &mut x2);
                    std::mem::swap(&mut x, &mut x2);
                }
                for (a, v) in acc.iter_mut().zip(&x) {
                    *a += v;
                }
            }
            for a in acc.iter_mut() {
                *a /= 3.0;
            }
            // this stage's output; the last one's buffer holds the next sum
            std::mem::swap(&mut o, &mut acc);
            if i == 0 {
                crop(&mut o, &mut t, SPAN_MARGIN_FRAMES);
            }
        }
        let mut y = self.conv_post.forward(&o, t, PreAct::Leaky(0.01), None, None);
        b.give([u, acc, o, x, xt, x2]);
        for v in y.iter_mut() {
            *v = v.tanh();
        }
        Ok((Tensor::from_vec(y, (1, 1, t), &dev)?, first))
    }
}

/// The decoder input of `[L, D]` latents: linear interpolation ×4 then ×24000/22050 → `[D, T']`.
pub fn decoder_input(latents: &Tensor) -> Result<Tensor> {
    let (l, _d) = latents.dims2()?;
    let p1 = LinearInterp::new(l, 4.0);
    let z = interp_rows(latents, &p1)?;
    let p2 = LinearInterp::new(p1.out_len, 24000.0 / 22050.0);
    interp_rows(&z, &p2)?.t()?.contiguous()
}

/// Interpolates `[L, D]` along L with a precomputed plan, on the tensor's device.
pub fn interp_rows(x: &Tensor, plan: &LinearInterp) -> Result<Tensor> {
    let dev = x.device();
    let i0 = Tensor::new(plan.i0.as_slice(), dev)?;
    let i1 = Tensor::new(plan.i1.as_slice(), dev)?;
    let l1 = Tensor::new(plan.lambda.as_slice(), dev)?.to_dtype(x.dtype())?.unsqueeze(1)?;
    let l0 = (1.0 - &l1)?;
    let a = x.index_select(&i0, 0)?;
    let b = x.index_select(&i1, 0)?;
    a.broadcast_mul(&l0)? + b.broadcast_mul(&l1)?
}
