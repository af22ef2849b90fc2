//! The XTTS GPT (`TTS/tts/layers/xtts/gpt.py`, `gpt_inference.py`, HF `GPT2Model`), spec §5.
//!
//! A GPT-2 stack without token or position embeddings of its own (`wte` deleted, `wpe ≡ 0`);
//! segment-local learned positions are added to text and mel embeddings; `ln_f` then
//! `final_norm` before the heads. MLP activation is `gelu_new` (tanh). HF `Conv1D` weights are
//! transposed at load. Inference uses a preallocated [`KvCache`]; training runs the full
//! sequence with a key-padding mask and dropout.

use std::sync::{Arc, Mutex};

use candle::{D, DType, Device, IndexOp, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::conditioning::ConditioningEncoder;
use super::config::GptConfig;
use super::perceiver::Perceiver;
use crate::checkpoint::quantized::QuantizedWeights;
use crate::nn::attn::KvElem;
use crate::nn::{Dropout, KvCache, LayerNorm, Linear};

/// Dropout probability of the four GPT-2 dropout sites during training.
pub const GPT2_DROPOUT: f32 = 0.1;

struct Block {
    heads: usize,
    differentiable: bool,
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
}

/// Training-time options of a forward pass.
#[derive(Clone, Copy, Default)]
pub struct TrainOpts<'a> {
    /// Dropout at the four GPT-2 sites (none in eval mode).
    pub dropout: Option<&'a Dropout>,
}

fn dropout(x: &Tensor, d: Option<&Dropout>) -> Result<Tensor> {
    match d {
        Some(d) => d.apply(x),
        None => Ok(x.clone()),
    }
}

/// A GPT-2 `Conv1D` layer: quantized from `q` when it has the weight, float otherwise.
fn conv1d_layer(
    vb: &VarBuilder,
    q: &mut Option<&mut QuantizedWeights>,
    in_dim: usize,
    out_dim: usize,
) -> Result<Linear> {
    let name = format!("{}.weight", vb.prefix());
    if let Some(qt) = q.as_deref_mut().and_then(|q| q.take(&name)) {
        if qt.shape().dims() != [out_dim, in_dim] {
            candle::bail!(
                "quantized {name} has shape {:?}, expected [{out_dim}, {in_dim}]",
                qt.shape().dims()
            )
        }
        return Linear::from_qtensor(qt, Some(vb.get(out_dim, "bias")?));
    }
    Linear::load_conv1d_hf(vb, in_dim, out_dim)
}

impl Block {
    fn new(
        vb: VarBuilder,
        d: usize,
        heads: usize,
        differentiable: bool,
        q: &mut Option<&mut QuantizedWeights>,
    ) -> Result<Self> {
        Ok(Block {
            heads,
            differentiable,
            ln_1: LayerNorm::load(&vb.pp("ln_1"), d, 1e-5)?,
            c_attn: conv1d_layer(&vb.pp("attn.c_attn"), q, d, 3 * d)?,
            c_proj: conv1d_layer(&vb.pp("attn.c_proj"), q, d, d)?,
            ln_2: LayerNorm::load(&vb.pp("ln_2"), d, 1e-5)?,
            c_fc: conv1d_layer(&vb.pp("mlp.c_fc"), q, d, 4 * d)?,
            mlp_proj: conv1d_layer(&vb.pp("mlp.c_proj"), q, 4 * d, d)?,
        })
    }

    /// `x`: `[B, T, D]`. `mask`: additive `[B or 1, 1, T, S]` (None for a single query or no
    /// masking needed).
    fn forward(
        &self,
        x: &Tensor,
        layer: usize,
        cache: Option<&mut KvCache>,
        mask: Option<&Tensor>,
        train: TrainOpts,
    ) -> Result<Tensor> {
        let (heads, differentiable) = (self.heads, self.differentiable);
        let (b, t, d) = x.dims3()?;
        let hd = d / heads;
        let h = self.ln_1.forward(x)?;
        let qkv = self.c_attn.forward(&h)?;
        let split = |i: usize| -> Result<Tensor> {
            qkv.narrow(D::Minus1, i * d, d)?
                .reshape((b, t, heads, hd))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let (k, v) = match cache {
            Some(c) => c.append(layer, &k, &v)?,
            None => (k, v),
        };
        let mut att = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
        if let Some(m) = mask {
            att = att.broadcast_add(m)?;
        }
        let att = crate::nn::softmax_last_dim(&att, differentiable)?;
        let att = dropout(&att, train.dropout)?;
        let o = att.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        let o = dropout(&self.c_proj.forward(&o)?, train.dropout)?;
        let x = (x + o)?;
        let h = self.ln_2.forward(&x)?;
        let h = self.c_fc.forward(&h)?;
        let h = if !differentiable && h.device().is_cpu() && h.dtype() == DType::F32 {
            let mut v = h.flatten_all()?.to_vec1::<f32>()?;
            crate::nn::act::gelu_new_inplace(&mut v);
            Tensor::from_vec(v, h.shape(), h.device())?
        } else {
            h.gelu()?
        };
        let h = dropout(&self.mlp_proj.forward(&h)?, train.dropout)?;
        x + h
    }
}

/// Buffers of one position's pass through the blocks on the CPU ([`Gpt::step`]).
struct RowScratch {
    h: Vec<f32>,
    qkv: Vec<f32>,
    att: Vec<f32>,
    o: Vec<f32>,
    f: Vec<f32>,
}

impl Block {
    /// One new position `x` (`[D]`, f32, on the CPU) through the block, in place: the same
    /// operations as [`Block::forward`] with a single query, on slices (layer norms, the four
    /// linears, attention over the cache and GELU without a tensor op each). Its keys and
    /// values are written to `cache` at its current end.
    fn forward_row(
        &self,
        x: &mut [f32],
        layer: usize,
        cache: &mut KvCache,
        s: &mut RowScratch,
    ) -> Result<()> {
        use rayon::prelude::*;
        let d = x.len();
        let hd = d / self.heads;
        // this layer's cache row is written after `c_attn`: its misses overlap that product
        cache.prefetch_row(layer);
        if !self.ln_1.forward_row(x, &mut s.h) {
            candle::bail!("layer norm weights are not f32 on the CPU")
        }
        self.c_attn.forward_row(&s.h, &mut s.qkv)?;
        cache.write_row(layer, &s.qkv[d..2 * d], &s.qkv[2 * d..])?;
        let len = cache.len() + 1;
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        let (kt, vt) = cache.layer(layer);
        let cap = kt.dim(2)?;
        // every head's query against its `len` cached rows (`cap` rows apart per head);
        // `None` unless both buffers hold `T` on the CPU
        fn heads<T: KvElem + candle::WithDType>(
            q: &[f32],
            (kt, vt): (&Tensor, &Tensor),
            att: &mut [f32],
            (hd, cap, len): (usize, usize, usize),
            scale: f32,
        ) -> Option<()> {
            use crate::nn::with_cpu;
            with_cpu(kt, |k: &[T]| {
                with_cpu(vt, |v: &[T]| {
                    att.par_chunks_mut(hd).enumerate().for_each(|(head, out)| {
                        let rows = head * cap * hd..(head * cap + len) * hd;
                        let qh = &q[head * hd..(head + 1) * hd];
                        crate::nn::attn::attend(qh, &k[rows.clone()], &v[rows], scale, out)
                    })
                })
            })
            .flatten()
        }
        let (q, att, at) = (&s.qkv[..d], &mut s.att, (hd, cap, len));
        let done = match kt.dtype() {
            DType::F16 => heads::<half::f16>(q, (kt, vt), att, at, scale),
            _ => heads::<f32>(q, (kt, vt), att, at, scale),
        };
        if done.is_none() {
            candle::bail!("KV cache is not f32 or f16 on the CPU")
        }
        self.c_proj.forward_row(&s.att, &mut s.o)?;
        x.iter_mut().zip(&s.o).for_each(|(x, o)| *x += o);
        if !self.ln_2.forward_row(x, &mut s.h) {
            candle::bail!("layer norm weights are not f32 on the CPU")
        }
        self.c_fc.forward_row_gelu(&s.h, &mut s.f)?;
        self.mlp_proj.forward_row(&s.f, &mut s.o)?;
        x.iter_mut().zip(&s.o).for_each(|(x, o)| *x += o);
        Ok(())
    }
}

/// The KV cache's dtype for these blocks ([`Gpt::kv_dtype`]).
fn kv_dtype(blocks: &[Block], device: &Device, dtype: DType) -> DType {
    let quantized = blocks.first().is_some_and(|b| b.c_attn.weight().is_none());
    if quantized && device.is_cpu() && dtype == DType::F32 { DType::F16 } else { dtype }
}

/// An additive causal mask `[1, 1, t, offset + t]` for `t` new queries after `offset` cached
/// positions (0 where attended, −inf elsewhere).
pub fn causal_mask(t: usize, offset: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let s = offset + t;
    let data: Vec<f32> = (0..t)
        .flat_map(|i| (0..s).map(move |j| if j <= offset + i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Tensor::from_vec(data, (1, 1, t, s), device)?.to_dtype(dtype)
}

/// The GPT with its conditioning encoder and perceiver.
pub struct Gpt {
    cfg: GptConfig,
    conditioning_encoder: ConditioningEncoder,
    perceiver: Perceiver,
    text_embedding: Tensor,
    mel_embedding: Tensor,
    text_pos: Tensor,
    mel_pos: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    final_norm: LayerNorm,
    text_head: Linear,
    mel_head: Linear,
    device: Device,
    dtype: DType,
    /// What the KV cache stores: see [`Gpt::kv_dtype`].
    kv_dtype: DType,
    differentiable: bool,
    /// Keys and values of recently used voices' conditioning positions, most recent last.
    prefixes: Mutex<Vec<Arc<VoicePrefix>>>,
}

/// How many voices' conditioning keys and values [`Gpt::prefill`] keeps (7.9 MB each for the
/// v2 model in f32).
pub const VOICE_PREFIX_CACHE: usize = 8;

/// The keys and values a voice's conditioning latents leave in every layer. Every sequence
/// starts with these positions and causal attention lets nothing after them change them, so
/// they are computed once per voice and copied into each sentence's cache.
struct VoicePrefix {
    /// The conditioning latents' bits (the cache key, compared exactly).
    key: Vec<u32>,
    kv: Vec<(Tensor, Tensor)>,
}

/// The cache key of conditioning latents: their f32 bits.
fn prefix_key(cond: &Tensor) -> Result<Vec<u32>> {
    Ok(cond
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?
        .iter()
        .map(|v| v.to_bits())
        .collect())
}

impl Gpt {
    /// Loads `gpt.*` (pass `vb.pp("gpt")`); block linears come from `quantized` when it has
    /// them.
    pub fn new(
        cfg: &GptConfig,
        vb: VarBuilder,
        mut quantized: Option<&mut QuantizedWeights>,
    ) -> Result<Self> {
        let d = cfg.model_dim;
        let g = vb.pp("gpt");
        let text_embedding = vb.get((cfg.number_text_tokens, d), "text_embedding.weight")?;
        // Weights backed by trainable variables: use differentiable ops throughout.
        let differentiable = text_embedding.is_variable();
        let blocks: Vec<Block> = (0..cfg.layers)
            .map(|i| Block::new(g.pp("h").pp(i), d, cfg.heads, differentiable, &mut quantized))
            .collect::<Result<_>>()?;
        Ok(Gpt {
            kv_dtype: kv_dtype(&blocks, vb.device(), vb.dtype()),
            conditioning_encoder: ConditioningEncoder::new(
                vb.pp("conditioning_encoder"),
                d,
                cfg.heads,
                differentiable,
            )?,
            perceiver: Perceiver::new(
                vb.pp("conditioning_perceiver"),
                d,
                cfg.num_latents,
                differentiable,
            )?,
            text_embedding,
            mel_embedding: vb.get((cfg.num_audio_tokens, d), "mel_embedding.weight")?,
            text_pos: vb.get((cfg.text_positions(), d), "text_pos_embedding.emb.weight")?,
            mel_pos: vb.get((cfg.mel_positions(), d), "mel_pos_embedding.emb.weight")?,
            blocks,
            ln_f: LayerNorm::load(&g.pp("ln_f"), d, 1e-5)?,
            final_norm: LayerNorm::load(&vb.pp("final_norm"), d, 1e-5)?,
            text_head: Linear::load(&vb.pp("text_head"), d, cfg.number_text_tokens, true)?,
            mel_head: Linear::load(&vb.pp("mel_head"), d, cfg.num_audio_tokens, true)?,
            device: vb.device().clone(),
            dtype: vb.dtype(),
            differentiable,
            prefixes: Mutex::new(Vec::new()),
            cfg: cfg.clone(),
        })
    }

    /// Whether the weights are trainable variables (differentiable ops are used then).
    pub fn is_trainable(&self) -> bool {
        self.differentiable
    }

    /// The configuration.
    pub fn config(&self) -> &GptConfig {
        &self.cfg
    }

    /// The device of the weights.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Quantizes the linear layers of the transformer blocks and the mel head.
    pub fn quantize(&mut self, dtype: candle::quantized::GgmlDType) -> Result<()> {
        for b in self.blocks.iter_mut() {
            for l in [&mut b.c_attn, &mut b.c_proj, &mut b.c_fc, &mut b.mlp_proj] {
                *l = l.quantize(dtype)?;
            }
        }
        self.kv_dtype = kv_dtype(&self.blocks, &self.device, self.dtype);
        self.forget_voices();
        Ok(())
    }

    /// Every quantizable linear layer with its weight key (`gpt.gpt.h.{i}.attn.c_attn.weight`,
    /// ...), for conversion.
    pub fn block_linears(&self) -> Vec<(String, &Linear)> {
        let mut v = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            v.push((format!("gpt.gpt.h.{i}.attn.c_attn.weight"), &b.c_attn));
            v.push((format!("gpt.gpt.h.{i}.attn.c_proj.weight"), &b.c_proj));
            v.push((format!("gpt.gpt.h.{i}.mlp.c_fc.weight"), &b.c_fc));
            v.push((format!("gpt.gpt.h.{i}.mlp.c_proj.weight"), &b.mlp_proj));
        }
        v
    }

    /// `get_style_emb`: conditioning mel `[B, 80, T]` → latents `[B, 32, D]`.
    pub fn style_emb(&self, mel: &Tensor) -> Result<Tensor> {
        self.perceiver.forward(&self.conditioning_encoder.forward_time_major(mel)?)
    }

    /// Tensors that identify the voice-conditioning weights (for profile fingerprints).
    pub fn conditioning_tensors(&self) -> Vec<&Tensor> {
        let mut v = vec![self.perceiver.latents()];
        v.extend(self.conditioning_encoder.init_weight());
        v
    }

    /// The conditioning encoder alone (for parity tests): `[B, 80, T]` → `[B, D, T]`.
    pub fn conditioning_encoder_forward(&self, mel: &Tensor) -> Result<Tensor> {
        self.conditioning_encoder.forward(mel)
    }

    /// `text_emb([START] + ids + [STOP]) + text_pos(0..n+1)`: `[1, n+2, D]`.
    pub fn text_prefix(&self, ids: &[u32]) -> Result<Tensor> {
        let mut all = Vec::with_capacity(ids.len() + 2);
        all.push(self.cfg.start_text_token);
        all.extend_from_slice(ids);
        all.push(self.cfg.stop_text_token);
        if all.len() > self.cfg.text_positions() {
            candle::bail!(
                "text of {} tokens exceeds the model's limit of {} tokens",
                ids.len(),
                self.cfg.max_text_tokens
            )
        }
        let idx = Tensor::new(all.as_slice(), &self.device)?;
        let e = self.text_embedding.index_select(&idx, 0)?;
        let p = self.text_pos.narrow(0, 0, all.len())?;
        (e + p)?.unsqueeze(0)
    }

    /// `mel_emb(codes) + mel_pos(start..start+n)`: `[1, n, D]`.
    pub fn mel_embed(&self, codes: &[u32], start_pos: usize) -> Result<Tensor> {
        if start_pos + codes.len() > self.cfg.mel_positions() {
            candle::bail!(
                "audio position {} exceeds the model's limit of {} positions",
                start_pos + codes.len(),
                self.cfg.mel_positions()
            )
        }
        let idx = Tensor::new(codes, &self.device)?;
        let e = self.mel_embedding.index_select(&idx, 0)?;
        let p = self.mel_pos.narrow(0, start_pos, codes.len())?;
        (e + p)?.unsqueeze(0)
    }

    /// The transformer: `[B, T, D]` → post-`ln_f` hidden states `[B, T, D]`.
    pub fn transformer(
        &self,
        x: &Tensor,
        mut cache: Option<&mut KvCache>,
        mask: Option<&Tensor>,
        train: TrainOpts,
    ) -> Result<Tensor> {
        let t = x.dim(1)?;
        let mut h = dropout(x, train.dropout)?;
        for (i, b) in self.blocks.iter().enumerate() {
            h = b.forward(&h, i, cache.as_deref_mut(), mask, train)?;
        }
        if let Some(c) = cache {
            c.advance(t);
        }
        self.ln_f.forward(&h)
    }

    /// `final_norm` of post-`ln_f` states: the "GPT latents".
    pub fn final_norm(&self, h: &Tensor) -> Result<Tensor> {
        self.final_norm.forward(h)
    }

    /// Mel logits of latents `[.., D]` → `[.., num_audio_tokens]`.
    pub fn mel_logits(&self, latents: &Tensor) -> Result<Tensor> {
        self.mel_head.forward(latents)
    }

    /// Text logits of latents.
    pub fn text_logits(&self, latents: &Tensor) -> Result<Tensor> {
        self.text_head.forward(latents)
    }

    /// A KV cache large enough for one utterance (conditioning, the longest text, all codes).
    pub fn new_cache(&self) -> Result<KvCache> {
        let cap = self.cfg.num_latents + self.cfg.text_positions() + self.cfg.mel_positions();
        self.cache_of(cap)
    }

    /// A KV cache of `capacity` positions in [`Gpt::kv_dtype`].
    fn cache_of(&self, capacity: usize) -> Result<KvCache> {
        let c = &self.cfg;
        KvCache::new(c.layers, 1, c.heads, c.head_dim(), capacity, self.kv_dtype, &self.device)
    }

    /// What the KV cache stores keys and values in: the model's dtype, except f16 for f32
    /// quantized blocks on the CPU. A step reads the whole cache (~40 MB in f32 at ~170
    /// positions, a tenth of the q8_0 weights), and rounding it to f16 (11 bits) moves the
    /// logits far less than the weights' 8 bits do (`docs/benchmarks.md`, quantization).
    pub fn kv_dtype(&self) -> DType {
        self.kv_dtype
    }

    /// Runs the prefix `[cond | text | START_AUDIO]` through the model, filling `cache`, and
    /// returns the latent (post `final_norm`) of the START_AUDIO position `[1, D]`.
    ///
    /// The conditioning positions' keys and values are computed once per voice and reused
    /// (the last [`VOICE_PREFIX_CACHE`] voices are kept, keyed by the latents' exact bits);
    /// only the text and START_AUDIO positions are computed here, attending to them.
    /// Trainable weights change between calls, so they get one pass over the whole prefix.
    pub fn prefill(&self, cache: &mut KvCache, cond: &Tensor, text_ids: &[u32]) -> Result<Tensor> {
        cache.reset();
        let text = self.text_prefix(text_ids)?;
        let start = self.mel_embed(&[self.cfg.start_audio_token], 0)?;
        let x = if self.differentiable {
            Tensor::cat(&[&cond.to_dtype(self.dtype)?, &text, &start], 1)?
        } else {
            let prefix = self.voice_prefix(cond)?;
            cache.restore(&prefix.kv)?;
            Tensor::cat(&[&text, &start], 1)?
        };
        let t = x.dim(1)?;
        let mask = causal_mask(t, cache.len(), self.dtype, &self.device)?;
        let h = self.transformer(&x, Some(cache), Some(&mask), TrainOpts::default())?;
        self.final_norm(&h.i((.., t - 1, ..))?)
    }

    /// The keys and values of the conditioning latents `cond` (`[1, n, D]`), from the cache of
    /// recent voices or computed (one causal pass over the `n` positions) and added to it.
    fn voice_prefix(&self, cond: &Tensor) -> Result<Arc<VoicePrefix>> {
        let key = prefix_key(cond)?;
        let lock = || self.prefixes.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut voices = lock();
            if let Some(i) = voices.iter().position(|p| p.key == key) {
                let p = voices.remove(i);
                voices.push(p.clone());
                return Ok(p);
            }
        }
        // Computed outside the lock: other voices are not held up meanwhile.
        let n = cond.dim(1)?;
        let mut cache = self.cache_of(n)?;
        let mask = causal_mask(n, 0, self.dtype, &self.device)?;
        let x = cond.to_dtype(self.dtype)?;
        let mut h = x;
        for (i, b) in self.blocks.iter().enumerate() {
            h = b.forward(&h, i, Some(&mut cache), Some(&mask), TrainOpts::default())?;
        }
        cache.advance(n);
        let prefix = Arc::new(VoicePrefix { key, kv: cache.snapshot(n)? });
        let mut voices = lock();
        voices.retain(|p| p.key != prefix.key);
        if voices.len() >= VOICE_PREFIX_CACHE {
            voices.remove(0);
        }
        voices.push(prefix.clone());
        Ok(prefix)
    }

    /// Computes and keeps the conditioning keys and values of `cond` (`[1, n, D]`) ahead of its
    /// first [`Gpt::prefill`], so that request does not pay for them (a no-op for a voice
    /// already kept, and for trainable weights, which get no cache). Returns whether it computed
    /// them.
    pub fn prepare_voice(&self, cond: &Tensor) -> Result<bool> {
        if self.differentiable {
            return Ok(false);
        }
        let before = self.has_voice(cond)?;
        self.voice_prefix(cond)?;
        Ok(!before)
    }

    /// Whether the conditioning keys and values of `cond` are kept (see [`Gpt::prepare_voice`]).
    pub fn has_voice(&self, cond: &Tensor) -> Result<bool> {
        let key = prefix_key(cond)?;
        Ok(self.prefixes.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|p| p.key == key))
    }

    /// Drops the cached conditioning keys and values of every voice (the next
    /// [`Gpt::prefill`] of each voice computes them again).
    pub fn forget_voices(&self) {
        self.prefixes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Feeds one generated code at mel position `pos` (1 for the first code) and returns its
    /// latent `[1, D]`.
    pub fn step(&self, cache: &mut KvCache, code: u32, pos: usize) -> Result<Tensor> {
        let x = self.mel_embed(&[code], pos)?;
        if self.device.is_cpu() && self.dtype == DType::F32 && !self.differentiable {
            let d = self.cfg.model_dim;
            let mut row = x.flatten_all()?.to_vec1::<f32>()?;
            let mut s = RowScratch {
                h: vec![0.0; d],
                qkv: vec![0.0; 3 * d],
                att: vec![0.0; d],
                o: vec![0.0; d],
                f: vec![0.0; 4 * d],
            };
            for (i, b) in self.blocks.iter().enumerate() {
                b.forward_row(&mut row, i, cache, &mut s)?;
            }
            cache.advance(1);
            let h = self.ln_f.forward(&Tensor::from_vec(row, (1, d), &self.device)?)?;
            return self.final_norm(&h);
        }
        let h = self.transformer(&x, Some(cache), None, TrainOpts::default())?;
        self.final_norm(&h.i((.., 0, ..))?)
    }

    /// The reference's latent pass (`GPT.forward(..., return_latent=True)`, spec §5.4): the
    /// full sequence `[cond | text | START, codes, STOP×4]` in one causal pass, returning the
    /// latents of START, c_1 … c_{L−1}: `[1, L, D]`.
    pub fn latent_pass(&self, cond: &Tensor, text_ids: &[u32], codes: &[u32]) -> Result<Tensor> {
        let l = codes.len();
        let text = self.text_prefix(text_ids)?;
        let mut mel_in = Vec::with_capacity(l + 5);
        mel_in.push(self.cfg.start_audio_token);
        mel_in.extend_from_slice(codes);
        mel_in.extend(std::iter::repeat_n(self.cfg.stop_audio_token, 4));
        let mel = self.mel_embed(&mel_in, 0)?;
        let x = Tensor::cat(&[&cond.to_dtype(self.dtype)?, &text, &mel], 1)?;
        let t = x.dim(1)?;
        let mask = causal_mask(t, 0, self.dtype, &self.device)?;
        let h = self.transformer(&x, None, Some(&mask), TrainOpts::default())?;
        let mel_start = t - (l + 5);
        self.final_norm(&h.narrow(1, mel_start, l)?)
    }

    /// Embedding tables, for the trainer.
    pub fn text_embedding(&self) -> &Tensor {
        &self.text_embedding
    }

    /// Text position table.
    pub fn text_pos(&self) -> &Tensor {
        &self.text_pos
    }

    /// Mel embedding table.
    pub fn mel_embedding(&self) -> &Tensor {
        &self.mel_embedding
    }

    /// Mel position table.
    pub fn mel_pos(&self) -> &Tensor {
        &self.mel_pos
    }
}
