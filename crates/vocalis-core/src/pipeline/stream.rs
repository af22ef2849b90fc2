//! Streaming HiFi-GAN decoding over a sliding window of decoder frames.
//!
//! The reference's `inference_stream` re-decodes *all* latents every chunk (quadratic) and
//! cross-fades 1024 samples between chunks, so its stream differs from its one-shot output by
//! ~1e-3. Here the decoder input is built on the global frame grid (the two linear
//! interpolations of spec §6.1 evaluated only for frames whose sources are final), and the
//! generator runs on a window of those frames with enough context on both sides to cover its
//! receptive field (~15 frames). Only the window's interior is emitted, so the concatenated
//! stream equals the one-shot decode up to float rounding, and the work per chunk is constant.

use candle::{Result, Tensor};

use crate::audio::interp::LinearInterp;
use crate::models::hifigan::{HOP, HifiGan};

/// Decoder frames of context on each side of an emitted window. The generator's receptive
/// field is ±14.5 frames (conv_pre ±3, first upsampling ±1, the k=11 resblocks at 8× ±7.5,
/// later stages ±1.7, conv_post ±3 samples).
pub const CONTEXT_FRAMES: usize = 16;

/// Per-stream state: latents received so far and how much audio was emitted.
pub struct StreamingDecoder<'a> {
    hifigan: &'a HifiGan,
    speaker: Tensor,
    latents: Vec<Tensor>,
    emitted_frames: usize,
    /// Frames the next piece must have; starts at the first piece's size and doubles up to
    /// [`MAX_CHUNK_FRAMES`], so the first audio comes early and later pieces spend less of their
    /// work on the context that every window decodes twice.
    chunk_frames: usize,
    first_chunk_frames: usize,
}

/// Largest streamed piece, in decoder frames (192 × 256 samples = 2.05 s).
pub const MAX_CHUNK_FRAMES: usize = 192;

const SCALE1: f64 = 4.0;
const SCALE2: f64 = 24000.0 / 22050.0;

impl<'a> StreamingDecoder<'a> {
    /// A stream for one utterance. The first piece has `min_chunk_frames` decoder frames (256
    /// samples each); each later one twice the previous, up to [`MAX_CHUNK_FRAMES`] (or
    /// `min_chunk_frames` if larger); the last piece has whatever is left.
    pub fn new(
        hifigan: &'a HifiGan,
        speaker_embedding: &Tensor,
        min_chunk_frames: usize,
    ) -> Result<Self> {
        Ok(StreamingDecoder {
            hifigan,
            speaker: speaker_embedding.reshape((1, 512, 1))?,
            latents: Vec::new(),
            emitted_frames: 0,
            chunk_frames: min_chunk_frames.max(1),
            first_chunk_frames: min_chunk_frames.max(1),
        })
    }

    /// Forgets the utterance (keeps the model and speaker).
    pub fn reset(&mut self) {
        self.latents.clear();
        self.emitted_frames = 0;
        self.chunk_frames = self.first_chunk_frames;
    }

    /// Samples emitted so far.
    pub fn emitted_samples(&self) -> usize {
        self.emitted_frames * HOP
    }

    /// Latents after which the first piece is decoded (the piece's frames and their right
    /// context stable); a stream that ends earlier is decoded whole by [`Self::finish`].
    pub fn latents_for_first_piece(&self) -> usize {
        (2..)
            .find(|&l| Self::stable_frames_of(l) >= self.first_chunk_frames + CONTEXT_FRAMES)
            .expect("stable frames grow with the latents")
    }

    /// Adds one latent (`[D]` or `[1, D]`) and returns any audio that became final.
    pub fn push(&mut self, latent: &Tensor) -> Result<Option<Vec<f32>>> {
        self.latents.push(latent.flatten_all()?.unsqueeze(0)?);
        let stable = self.stable_frames();
        let target = stable.saturating_sub(CONTEXT_FRAMES);
        if target >= self.emitted_frames + self.chunk_frames {
            self.chunk_frames =
                (self.chunk_frames * 2).min(MAX_CHUNK_FRAMES.max(self.first_chunk_frames));
            return self.emit(target, false).map(Some);
        }
        Ok(None)
    }

    /// Adds several latents (`[n, D]`).
    pub fn push_many(&mut self, latents: &Tensor) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        for i in 0..latents.dim(0)? {
            if let Some(a) = self.push(&latents.get(i)?)? {
                out.extend(a);
            }
        }
        Ok(out)
    }

    /// Ends the utterance and returns the rest of the audio.
    pub fn finish(&mut self) -> Result<Vec<f32>> {
        let total = Self::total_frames(self.latents.len());
        if total <= self.emitted_frames {
            return Ok(Vec::new());
        }
        self.emit(total, true)
    }

    /// Decoder frames of a whole utterance of `l` latents: `floor(floor(4l)·24000/22050)`.
    fn total_frames(l: usize) -> usize {
        let l1 = (l as f64 * SCALE1).floor() as usize;
        (l1 as f64 * SCALE2).floor() as usize
    }

    /// Frames whose value no longer depends on latents still to come: both interpolation
    /// sources are interior (not clamped at the current end).
    fn stable_frames(&self) -> usize {
        Self::stable_frames_of(self.latents.len())
    }

    /// [`Self::stable_frames`] once `l` latents have arrived.
    fn stable_frames_of(l: usize) -> usize {
        if l < 2 {
            return 0;
        }
        let p1 = LinearInterp::new(l, SCALE1);
        let p2 = LinearInterp::new(p1.out_len, SCALE2);
        // z1[p] is final while i0(p) < l − 1; z2[f] while its q0 + 1 < len(z1) and z1[q0+1] is final.
        let z1_final = p1.i0.iter().take_while(|&&i| (i as usize) + 1 < l).count();
        p2.i0.iter().take_while(|&&q| (q as usize) + 1 < z1_final.min(p1.out_len)).count()
    }

    /// Decodes and returns the audio of frames `[emitted, end)`.
    fn emit(&mut self, end: usize, last: bool) -> Result<Vec<f32>> {
        let l = self.latents.len();
        let p1 = LinearInterp::new(l, SCALE1);
        let p2 = LinearInterp::new(p1.out_len, SCALE2);
        let w0 = self.emitted_frames.saturating_sub(CONTEXT_FRAMES);
        let w1 = if last { p2.out_len } else { (end + CONTEXT_FRAMES).min(p2.out_len) };
        // z1 rows and latent rows the window needs
        let q_lo = p2.i0[w0] as usize;
        let q_hi = p2.i1[w1 - 1] as usize;
        let i_lo = p1.i0[q_lo] as usize;
        let i_hi = p1.i1[q_hi] as usize;
        let lat = Tensor::cat(&self.latents[i_lo..=i_hi], 0)?; // [n, D]
        let z1 = gather_lerp(&lat, &p1, q_lo..q_hi + 1, i_lo)?;
        let z2 = gather_lerp(&z1, &p2, w0..w1, q_lo)?; // [w1-w0, D]
        let keep = self.emitted_frames - w0..end - w0;
        let (wav, first) =
            self.hifigan.generate_span(&z2.t()?.unsqueeze(0)?, &self.speaker, keep)?;
        let wav = wav.flatten_all()?;
        let from = (self.emitted_frames - w0 - first) * HOP;
        let len = (end - self.emitted_frames) * HOP;
        let out = wav.narrow(0, from, len)?.to_dtype(candle::DType::F32)?.to_vec1::<f32>()?;
        self.emitted_frames = end;
        Ok(out)
    }
}

/// Rows `range` of the interpolation `plan` applied to `x`, whose row 0 is source row `offset`.
fn gather_lerp(
    x: &Tensor,
    plan: &LinearInterp,
    range: std::ops::Range<usize>,
    offset: usize,
) -> Result<Tensor> {
    let dev = x.device();
    let i0: Vec<u32> = plan.i0[range.clone()].iter().map(|&i| i - offset as u32).collect();
    let i1: Vec<u32> = plan.i1[range.clone()].iter().map(|&i| i - offset as u32).collect();
    let l1 = Tensor::new(&plan.lambda[range], dev)?.to_dtype(x.dtype())?.unsqueeze(1)?;
    let l0 = (1.0 - &l1)?;
    let a = x.index_select(&Tensor::new(i0.as_slice(), dev)?, 0)?;
    let b = x.index_select(&Tensor::new(i1.as_slice(), dev)?, 0)?;
    a.broadcast_mul(&l0)? + b.broadcast_mul(&l1)?
}
