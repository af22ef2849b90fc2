//! The composite XTTS v2 model (`TTS/tts/models/xtts.py`): loading a model directory, voice
//! conditioning (`get_conditioning_latents`), GPT generation and the HiFi-GAN decoder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle::{DType, Device, Tensor};
use rand::SeedableRng;

use super::config::{GptConfig, XttsConfig};
use super::gpt::Gpt;
use super::hifigan::HifiGan;
use super::speaker_encoder::SpeakerEncoder;
use crate::audio::features::MelFrontend;
use crate::audio::{self, XTTS_INPUT_SAMPLE_RATE_HZ};
use crate::checkpoint::quantized::QuantizedWeights;
use crate::checkpoint::{ModelDir, Speakers, load_speakers};
use crate::error::{Error, Result};
use crate::sampling::{SamplingParams, select_token};
use crate::text::TextTokenizer;
use crate::util::in_pool;

/// Minimum usable reference audio per conditioning chunk (`MIN_AUDIO_SECONDS`).
pub const MIN_AUDIO_SECONDS: f64 = 0.33;

/// A cloned voice: what the GPT and the decoder need.
#[derive(Debug, Clone)]
pub struct Conditioning {
    /// `[1, 32, D]`.
    pub gpt_cond_latent: Tensor,
    /// `[1, 512, 1]`.
    pub speaker_embedding: Tensor,
}

/// Cloning options (`get_conditioning_latents` arguments); defaults from `config.json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloneOptions {
    /// Seconds of each reference file used (`max_ref_length`).
    pub max_ref_secs: f64,
    /// Seconds of the concatenated references used for the GPT latents (`gpt_cond_len`).
    pub gpt_cond_secs: f64,
    /// Chunk length in seconds (`gpt_cond_chunk_len`).
    pub gpt_cond_chunk_secs: f64,
    /// Peak-normalise each reference to 0.75 (`sound_norm_refs`).
    pub sound_norm_refs: bool,
}

impl CloneOptions {
    /// The values of a model's `config.json`, as `synthesize()` uses them.
    pub fn from_config(cfg: &XttsConfig) -> Self {
        CloneOptions {
            max_ref_secs: cfg.max_ref_len,
            gpt_cond_secs: cfg.gpt_cond_len,
            gpt_cond_chunk_secs: cfg.gpt_cond_chunk_len,
            sound_norm_refs: cfg.sound_norm_refs,
        }
    }
}

/// Output of GPT generation.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Audio codes, including the final STOP if one was generated.
    pub codes: Vec<u32>,
    /// Latents of START, c_1 … c_{L−1}: `[L, D]`.
    pub latents: Tensor,
    /// Whether generation ended with STOP (false: it hit the length limit).
    pub stopped: bool,
}

/// The loaded model.
pub struct Xtts {
    /// `config.json`.
    pub config: XttsConfig,
    gpt_cfg: GptConfig,
    /// The GPT with its conditioning encoder and perceiver.
    pub gpt: Gpt,
    /// The HiFi-GAN decoder.
    pub hifigan: HifiGan,
    /// The speaker encoder.
    pub speaker_encoder: SpeakerEncoder,
    /// The text tokenizer.
    pub tokenizer: TextTokenizer,
    mel_stats: Vec<f32>,
    speakers: Speakers,
    cond_frontend: MelFrontend,
    device: Device,
    root: Option<PathBuf>,
}

fn timed<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let t0 = Instant::now();
    let r = f();
    tracing::debug!("{what}: {:.3} s", t0.elapsed().as_secs_f64());
    r
}

impl Xtts {
    /// Loads a model directory (released `.pth` layout or converted safetensors layout).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let t0 = Instant::now();
        let md = timed("read config.json", || ModelDir::open(dir))?;
        let tokenizer = timed("load vocab.json", || TextTokenizer::from_file(&md.vocab))?;
        let gpt_cfg = GptConfig::new(
            &md.config,
            tokenizer.number_tokens(),
            tokenizer.start_id(),
            tokenizer.stop_id(),
        );
        let mut quantized = match &md.quantized_gpt {
            Some(q) => {
                Some(timed(&format!("load {}", q.display()), || QuantizedWeights::load(q, device))?)
            }
            None => None,
        };
        let skip: Vec<String> =
            quantized.as_ref().map(|q| q.names().cloned().collect()).unwrap_or_default();
        let vb = timed(&format!("load {}", md.weights.display()), || {
            md.var_builder(&gpt_cfg, device, &skip)
        })?;
        let model = Self::from_parts(md, tokenizer, vb, quantized.as_mut(), device)?;
        tracing::info!(
            "model loaded from {} in {:.2} s",
            dir.display(),
            t0.elapsed().as_secs_f64()
        );
        Ok(model)
    }

    /// Builds the model from already-loaded weights (normalised keys, any weight-norm naming).
    pub fn from_parts(
        md: ModelDir,
        tokenizer: TextTokenizer,
        vb: candle_nn::VarBuilder,
        quantized: Option<&mut QuantizedWeights>,
        device: &Device,
    ) -> Result<Self> {
        let gpt_cfg = GptConfig::new(
            &md.config,
            tokenizer.number_tokens(),
            tokenizer.start_id(),
            tokenizer.stop_id(),
        );
        let ck = |e: candle::Error| Error::checkpoint(&md.weights, e.to_string());
        let gpt = timed("build GPT", || Gpt::new(&gpt_cfg, vb.pp("gpt"), quantized).map_err(ck))?;
        let hifigan = timed("build HiFi-GAN", || {
            HifiGan::new(vb.pp("hifigan_decoder.waveform_decoder"), gpt_cfg.model_dim, 512)
                .map_err(ck)
        })?;
        let speaker_encoder = timed("build speaker encoder", || {
            SpeakerEncoder::new(vb.pp("hifigan_decoder.speaker_encoder")).map_err(ck)
        })?;
        let mel_stats =
            vb.get(80, "mel_stats").map_err(ck)?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        let speakers = match &md.speakers {
            Some(p) => timed(&format!("load {}", p.display()), || load_speakers(p))?,
            None => Vec::new(),
        };
        for (name, g, s) in &speakers {
            if g.dims() != [1, gpt_cfg.num_latents, gpt_cfg.model_dim] || s.dims() != [1, 512, 1] {
                return Err(Error::checkpoint(
                    md.speakers.as_deref().unwrap_or(&md.root),
                    format!(
                        "speaker {name:?} has latents {:?} / embedding {:?}, which do not fit this model",
                        g.dims(),
                        s.dims()
                    ),
                ));
            }
        }
        Ok(Xtts {
            config: md.config,
            gpt_cfg,
            gpt,
            hifigan,
            speaker_encoder,
            tokenizer,
            mel_stats,
            speakers,
            cond_frontend: MelFrontend::gpt_conditioning(),
            device: device.clone(),
            root: Some(md.root),
        })
    }

    /// The model directory it was loaded from.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The GPT architecture.
    pub fn gpt_config(&self) -> &GptConfig {
        &self.gpt_cfg
    }

    /// `mel_stats` (the conditioning mel normalisation).
    pub fn mel_stats(&self) -> &[f32] {
        &self.mel_stats
    }

    /// Built-in speakers (`speakers_xtts.pth`), in file order.
    pub fn speakers(&self) -> &Speakers {
        &self.speakers
    }

    /// A built-in speaker's conditioning.
    pub fn speaker(&self, name: &str) -> Option<Conditioning> {
        self.speakers.iter().find(|(n, _, _)| n == name).map(|(_, g, s)| Conditioning {
            gpt_cond_latent: g.to_device(&self.device).expect("speaker latents to device"),
            speaker_embedding: s.to_device(&self.device).expect("speaker embedding to device"),
        })
    }

    /// A fingerprint of the weights that determine voice latents (conditioning encoder,
    /// perceiver, speaker encoder, `mel_stats`): SHA-256 over their f32 values, 16 hex digits.
    /// Equal for a `.pth` directory and its converted or GPT-quantized forms; different for any
    /// other model (a voice profile is only valid with the model it was computed with).
    pub fn fingerprint(&self) -> Result<String> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(
            format!("xtts-v2 d={} layers={}", self.gpt_cfg.model_dim, self.gpt_cfg.layers)
                .as_bytes(),
        );
        let mut tensors = self.gpt.conditioning_tensors();
        tensors.extend(self.speaker_encoder.fc_weight());
        for t in tensors {
            for v in t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()? {
                h.update(v.to_le_bytes());
            }
        }
        for v in &self.mel_stats {
            h.update(v.to_le_bytes());
        }
        Ok(crate::util::hex(&h.finalize()[..8]))
    }

    /// Sampling defaults from `config.json` (as the reference's `synthesize`).
    pub fn default_sampling(&self) -> SamplingParams {
        SamplingParams {
            temperature: self.config.temperature as f32,
            top_k: self.config.top_k,
            top_p: self.config.top_p as f32,
            repetition_penalty: self.config.repetition_penalty as f32,
            length_penalty: self.config.length_penalty as f32,
            greedy: false,
        }
    }

    /// `get_speaker_embedding` of 22.05 kHz audio: resample to 16 kHz (torchaudio sinc), run the
    /// speaker encoder. Returns `[512]`.
    pub fn speaker_embedding(&self, a22: &[f32]) -> Result<Tensor> {
        let a16 =
            audio::resample(a22, XTTS_INPUT_SAMPLE_RATE_HZ, audio::SPEAKER_ENCODER_SAMPLE_RATE_HZ);
        self.speaker_encoder.embed(&a16)
    }

    /// The conditioning mel of one chunk: `[1, 80, T]` on the model's device.
    pub fn cond_mel(&self, chunk: &[f32]) -> Result<Tensor> {
        let (mel, t) = self.cond_frontend.log_mel(chunk, &self.mel_stats)?;
        Ok(Tensor::from_vec(mel, (1, 80, t), &self.device)?)
    }

    /// `get_gpt_cond_latents` of 22.05 kHz audio: the first `length_secs`, in chunks of
    /// `chunk_secs` (chunks under 0.33 s skipped), each through the conditioning encoder and the
    /// perceiver, averaged. Returns `[1, 32, D]`.
    pub fn gpt_cond_latents(
        &self,
        a22: &[f32],
        length_secs: f64,
        chunk_secs: f64,
    ) -> Result<Tensor> {
        let sr = XTTS_INPUT_SAMPLE_RATE_HZ as f64;
        let audio = if length_secs > 0.0 {
            &a22[..a22.len().min((sr * length_secs) as usize)]
        } else {
            a22
        };
        let step = (sr * chunk_secs) as usize;
        if step == 0 {
            return Err(Error::Invalid(format!(
                "gpt_cond_chunk_len must be positive (got {chunk_secs})"
            )));
        }
        let mut sum: Option<Tensor> = None;
        let mut n = 0usize;
        for start in (0..audio.len()).step_by(step) {
            let chunk = &audio[start..(start + step).min(audio.len())];
            if (chunk.len() as f64) < sr * MIN_AUDIO_SECONDS {
                continue;
            }
            let mel = self.cond_mel(chunk)?;
            let e = self.gpt.style_emb(&mel)?; // [1, 32, D]
            sum = Some(match sum {
                Some(s) => (s + e)?,
                None => e,
            });
            n += 1;
        }
        let sum = sum.ok_or_else(|| {
            Error::Invalid(format!(
                "reference audio too short: {:.2} s usable, at least {MIN_AUDIO_SECONDS:.2} s needed",
                audio.len() as f64 / sr
            ))
        })?;
        Ok((sum / n as f64)?)
    }

    /// `get_conditioning_latents` from decoded reference audio (each at 22.05 kHz, clipped).
    pub fn condition_on_audio(
        &self,
        refs: &[Vec<f32>],
        opts: &CloneOptions,
    ) -> Result<Conditioning> {
        if refs.is_empty() {
            return Err(Error::Invalid("no reference audio given".into()));
        }
        let sr = XTTS_INPUT_SAMPLE_RATE_HZ as f64;
        let max_len = (sr * opts.max_ref_secs).floor() as usize;
        let clips: Vec<Vec<f32>> = refs
            .iter()
            .map(|a| {
                let mut a: Vec<f32> = a[..a.len().min(max_len)].to_vec();
                if opts.sound_norm_refs {
                    let peak = a.iter().fold(0f32, |m, v| m.max(v.abs()));
                    if peak > 0.0 {
                        for v in a.iter_mut() {
                            *v = *v / peak * 0.75;
                        }
                    }
                }
                a
            })
            .collect();
        let full = clips.concat();
        // The speaker encoder and the GPT conditioning are independent: side by side on the
        // pool, each fills the other's serial gaps (norms, softmax, small products): ~7 % off
        // a 6.5 s clip's cloning on two cores (`stage_times clone`, alternating with serial).
        let (spk, gpt_cond_latent) = in_pool(|| {
            rayon::join(
                || -> Result<Tensor> {
                    let mut sum: Option<Tensor> = None;
                    for a in &clips {
                        let e = self.speaker_embedding(a)?;
                        sum = Some(match sum {
                            Some(s) => (s + e)?,
                            None => e,
                        });
                    }
                    Ok((sum.expect("at least one reference") / clips.len() as f64)?)
                },
                || self.gpt_cond_latents(&full, opts.gpt_cond_secs, opts.gpt_cond_chunk_secs),
            )
        });
        Ok(Conditioning {
            gpt_cond_latent: gpt_cond_latent?,
            speaker_embedding: spk?.reshape((1, 512, 1))?,
        })
    }

    /// `get_conditioning_latents(paths)`: loads each file (any format and rate; only
    /// `max_ref_secs` of it are decoded), then [`Xtts::condition_on_audio`].
    pub fn condition_on_files(
        &self,
        paths: &[PathBuf],
        opts: &CloneOptions,
    ) -> Result<Conditioning> {
        let refs = paths
            .iter()
            .map(|p| {
                let a = audio::load_audio(p, XTTS_INPUT_SAMPLE_RATE_HZ, Some(opts.max_ref_secs))?;
                check_reference(&a, &p.display().to_string())?;
                Ok(a)
            })
            .collect::<Result<Vec<_>>>()?;
        self.condition_on_audio(&refs, opts)
    }

    /// Computes a voice's conditioning keys and values in the GPT ahead of its first synthesis
    /// (a server does this for its profiles; the most recent [`VOICE_PREFIX_CACHE`] voices are
    /// kept). Without it the voice's first sentence pays for them in its prefill (~0.2 s for
    /// the v2 model on two CPU cores). Returns whether anything was computed.
    ///
    /// [`VOICE_PREFIX_CACHE`]: crate::models::gpt::VOICE_PREFIX_CACHE
    pub fn prepare_voice(&self, voice: &Conditioning) -> Result<bool> {
        Ok(in_pool(|| self.gpt.prepare_voice(&voice.gpt_cond_latent))?)
    }

    /// Tokenizes one sentence as `Xtts.inference` does (`strip().lower()`, cleaners, BPE) and
    /// checks the model's text limit.
    pub fn tokenize(&self, sentence: &str, language: &str) -> Result<Vec<u32>> {
        let lang = language.split('-').next().unwrap_or(language);
        let ids = self.tokenizer.encode(&crate::text::strip_lower(sentence), lang)?;
        if ids.len() >= self.gpt_cfg.max_text_tokens {
            return Err(Error::Text(format!(
                "sentence is {} tokens long, the model accepts fewer than {}: split the text into shorter sentences",
                ids.len(),
                self.gpt_cfg.max_text_tokens
            )));
        }
        if let Some(unk) = self.tokenizer.unk_id()
            && ids.contains(&unk)
        {
            tracing::warn!(
                "text contains characters the vocabulary does not know (read as [UNK]): {sentence:?}"
            );
        }
        Ok(ids)
    }

    /// Autoregressive generation with a KV cache (spec §5.3). `on_token(code, step, latent)`
    /// sees every generated code with the latent that predicted it (`[1, D]`; these are the
    /// decoder's latents) and may return `false` to cancel.
    pub fn generate(
        &self,
        cond: &Conditioning,
        text_ids: &[u32],
        params: &SamplingParams,
        seed: u64,
        mut on_token: impl FnMut(u32, usize, &Tensor) -> bool,
    ) -> Result<Generated> {
        params.validate().map_err(Error::Invalid)?;
        let cfg = &self.gpt_cfg;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut cache = self.gpt.new_cache()?;
        // [1, D] latent and its mel logits; each model pass runs on the rayon pool (see
        // `util::in_pool`)
        let logits_of = |latent: &Tensor| -> Result<Vec<f32>> {
            Ok(self.gpt.mel_logits(latent)?.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?)
        };
        let (mut latent, mut logits) = in_pool(|| {
            let l = self.gpt.prefill(&mut cache, &cond.gpt_cond_latent, text_ids)?;
            let lg = logits_of(&l)?;
            Ok::<_, Error>((l, lg))
        })?;
        // HF input_ids: the fake prompt ids (1) and START_AUDIO are part of the penalised history.
        let mut history: Vec<u32> = vec![1, cfg.start_audio_token];
        let mut codes = Vec::new();
        let mut latents = Vec::new();
        let mut stopped = false;
        for step in 0..cfg.max_gen_tokens() {
            latents.push(latent.clone());
            let code = select_token(&mut logits, &history, params, &mut rng);
            codes.push(code);
            history.push(code);
            if !on_token(code, step, &latent) {
                return Err(Error::Cancelled);
            }
            if code == cfg.stop_audio_token {
                stopped = true;
                break;
            }
            if step + 1 == cfg.max_gen_tokens() {
                break;
            }
            (latent, logits) = in_pool(|| {
                let l = self.gpt.step(&mut cache, code, step + 1)?;
                let lg = logits_of(&l)?;
                Ok::<_, Error>((l, lg))
            })?;
        }
        // The latent of the last code is only needed when generation hit the limit without STOP
        // — and the reference drops it then too (latents are START, c_1 … c_{L−1}).
        latents.truncate(codes.len());
        let latents = Tensor::cat(&latents, 0)?;
        Ok(Generated { codes, latents, stopped })
    }

    /// The reference's second pass over the codes (`return_latent=True`): `[L, D]`.
    pub fn latent_pass(
        &self,
        cond: &Conditioning,
        text_ids: &[u32],
        codes: &[u32],
    ) -> Result<Tensor> {
        Ok(self.gpt.latent_pass(&cond.gpt_cond_latent, text_ids, codes)?.squeeze(0)?)
    }

    /// Applies `speed` to latents `[L, D]` (linear interpolation by `1/max(speed, 0.05)`).
    pub fn apply_speed(&self, latents: &Tensor, speed: f32) -> Result<Tensor> {
        let length_scale = 1.0 / (speed as f64).max(0.05);
        if length_scale == 1.0 {
            return Ok(latents.clone());
        }
        let plan = crate::audio::interp::LinearInterp::new(latents.dim(0)?, length_scale);
        if plan.out_len == 0 {
            return Err(Error::Invalid(format!("speed {speed} leaves no audio for this sentence")));
        }
        Ok(super::hifigan::interp_rows(latents, &plan)?)
    }

    /// HiFi-GAN: latents `[L, D]` and speaker embedding → 24 kHz samples.
    pub fn decode(&self, latents: &Tensor, speaker_embedding: &Tensor) -> Result<Vec<f32>> {
        let wav = in_pool(|| self.hifigan.decode(latents, &speaker_embedding.flatten_all()?))?;
        Ok(wav.to_dtype(DType::F32)?.to_vec1::<f32>()?)
    }
}

/// Rejects reference audio that cannot clone a voice: too short or silent.
pub fn check_reference(a22: &[f32], name: &str) -> Result<()> {
    let secs = a22.len() as f64 / XTTS_INPUT_SAMPLE_RATE_HZ as f64;
    if secs < 0.5 {
        return Err(Error::audio(
            name,
            format!("reference clip is {secs:.2} s long; at least 0.5 s of speech is needed"),
        ));
    }
    let peak = a22.iter().fold(0f32, |m, v| m.max(v.abs()));
    if peak < 1e-4 {
        return Err(Error::audio(name, "reference clip is silent"));
    }
    Ok(())
}
