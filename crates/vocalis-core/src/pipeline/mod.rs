//! End-to-end synthesis: text → chunks → GPT codes and latents → 24 kHz audio, one chunk after
//! another, optionally streamed.
//!
//! Mirrors the reference's user-facing path (`TTS.api` → `Synthesizer.tts` → `Xtts.synthesize`):
//! long text is split with `split_sentence` at the language's character limit, each chunk is
//! synthesized on its own, and `PAD_SILENCE_SAMPLES` (10000 zero samples, 0.417 s) follow every
//! chunk. Deliberate additions: streaming that equals the one-shot audio ([`stream`]), a
//! per-chunk seed (`seed + chunk index`), and the optional dropping of each chunk's final period
//! (XTTS tends to babble after a final period; see [`SynthesisOptions::trim_final_period`]).

pub mod stream;

use std::time::Instant;

use candle::Tensor;

use crate::error::{Error, Result};
use crate::models::xtts::{Conditioning, Xtts};
use crate::sampling::SamplingParams;
use crate::text::split::{split_limit, split_sentence};

/// Zero samples appended after every chunk (`PAD_SILENCE_SAMPLES` of the reference).
pub const SENTENCE_PAUSE_SAMPLES: usize = 10_000;

/// Options of one synthesis.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesisOptions {
    /// Language code (`en`, `pt-br`, ...).
    pub language: String,
    /// Sampling parameters.
    pub sampling: SamplingParams,
    /// Speaking rate (1.0 = as generated; applied by interpolating the latents).
    pub speed: f32,
    /// Seed of the sampler (chunk `i` uses `seed + i`).
    pub seed: u64,
    /// Split long text at the language's character limit (the reference's `split_sentence`).
    pub split_sentences: bool,
    /// Drop one trailing `.` (or `。`) from each chunk before tokenizing: XTTS often adds a
    /// breath or babble after a final period; without it the chunk ends cleanly.
    pub trim_final_period: bool,
    /// Zero samples after each chunk.
    pub pause_samples: usize,
    /// Stream audio as it is generated (sliding-window decoder) instead of per chunk.
    pub stream: bool,
    /// Decoder frames (256 samples) of the first streamed piece; later pieces double up to
    /// [`stream::MAX_CHUNK_FRAMES`]. The default, 12 (0.13 s), is out after 7 codes, decoded
    /// while the GPT waits (docs/benchmarks.md: `vocalis bench --stream-first-frames N`).
    pub stream_chunk_frames: usize,
    /// Without `stream`, on the CPU: decode finished windows of the latents while the GPT
    /// generates the rest (one core each), as streaming does, and pass the audio on in those
    /// pieces; it equals the whole-chunk decode up to float rounding. `false` decodes each
    /// chunk at once after its generation.
    pub overlap_decode: bool,
}

impl SynthesisOptions {
    /// Defaults from the model's `config.json`, as the reference's `synthesize` takes them.
    pub fn for_model(model: &Xtts, language: &str) -> Self {
        SynthesisOptions {
            language: language.to_string(),
            sampling: model.default_sampling(),
            speed: 1.0,
            seed: 0,
            split_sentences: true,
            trim_final_period: false,
            pause_samples: SENTENCE_PAUSE_SAMPLES,
            stream: false,
            stream_chunk_frames: 12,
            overlap_decode: true,
        }
    }
}

/// What the pipeline reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    /// Chunk `index` of `total` starts.
    ChunkStart {
        /// 0-based chunk index.
        index: usize,
        /// Number of chunks.
        total: usize,
        /// The chunk's text.
        text: &'a str,
    },
    /// A code was generated in the current chunk.
    Token {
        /// Codes generated so far in this chunk.
        count: usize,
    },
    /// Audio ready for output (24 kHz mono f32).
    Audio(&'a [f32]),
    /// Chunk `index` finished.
    ChunkDone {
        /// 0-based chunk index.
        index: usize,
        /// Number of codes (incl. STOP).
        codes: usize,
        /// Whether generation ended with STOP (false: it hit the length limit).
        stopped: bool,
    },
}

/// Timing of a synthesis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SynthesisStats {
    /// Chunks synthesized.
    pub chunks: usize,
    /// Codes generated in all chunks.
    pub codes: usize,
    /// Samples produced (including pauses).
    pub samples: usize,
    /// Seconds until the first audio was delivered.
    pub first_audio_secs: Option<f64>,
    /// Seconds spent in GPT generation.
    pub gpt_secs: f64,
    /// Seconds spent in the decoder.
    pub decoder_secs: f64,
    /// Wall time.
    pub total_secs: f64,
}

/// Splits `text` into the chunks that are synthesized one after another.
pub fn text_chunks(
    text: &str,
    language: &str,
    split: bool,
    trim_final_period: bool,
) -> Result<Vec<String>> {
    let lang = language.split('-').next().unwrap_or(language);
    let chunks =
        if split { split_sentence(text, lang, split_limit(lang)) } else { vec![text.to_string()] };
    let chunks: Vec<String> = chunks
        .into_iter()
        .map(|c| {
            let c = c.trim();
            let c = if trim_final_period {
                c.strip_suffix('.').or_else(|| c.strip_suffix('。')).unwrap_or(c)
            } else {
                c
            };
            c.trim_end().to_string()
        })
        .filter(|c| !c.is_empty())
        .collect();
    if chunks.is_empty() {
        return Err(Error::Text("the text is empty".into()));
    }
    Ok(chunks)
}

/// Delivers events and audio to the caller and keeps the statistics.
struct Output<'f, 'e> {
    on_event: &'f mut (dyn FnMut(Event<'_>) -> bool + 'e),
    stats: SynthesisStats,
    t0: Instant,
}

impl Output<'_, '_> {
    fn event(&mut self, e: Event<'_>) -> Result<()> {
        if (self.on_event)(e) { Ok(()) } else { Err(Error::Cancelled) }
    }

    fn audio(&mut self, a: &[f32]) -> Result<()> {
        if a.is_empty() {
            return Ok(());
        }
        self.stats.first_audio_secs.get_or_insert_with(|| self.t0.elapsed().as_secs_f64());
        self.stats.samples += a.len();
        self.event(Event::Audio(a))
    }
}

/// Synthesizes `text` with `voice`, reporting progress and audio through `on_event`, which
/// returns `false` to cancel (the call then fails with [`Error::Cancelled`]).
pub fn synthesize(
    model: &Xtts,
    voice: &Conditioning,
    text: &str,
    opts: &SynthesisOptions,
    mut on_event: impl FnMut(Event<'_>) -> bool,
) -> Result<SynthesisStats> {
    let t0 = Instant::now();
    opts.sampling.validate().map_err(Error::Invalid)?;
    if !(opts.speed.is_finite() && opts.speed > 0.0) {
        return Err(Error::Invalid(format!("speed must be > 0 (got {})", opts.speed)));
    }
    let chunks = text_chunks(text, &opts.language, opts.split_sentences, opts.trim_final_period)?;
    // Tokenize everything first: a bad chunk fails before any audio is produced.
    let tokens = chunks
        .iter()
        .map(|c| {
            let ids = model.tokenize(c, &opts.language)?;
            if ids.len() <= 1 {
                return Err(Error::Text(format!(
                    "nothing to say in {c:?} after text normalisation"
                )));
            }
            Ok(ids)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Output {
        on_event: &mut on_event,
        stats: SynthesisStats { chunks: chunks.len(), ..Default::default() },
        t0,
    };
    let pause = vec![0f32; opts.pause_samples];
    for (index, (chunk, ids)) in chunks.iter().zip(&tokens).enumerate() {
        out.event(Event::ChunkStart { index, total: chunks.len(), text: chunk })?;
        let seed = opts.seed.wrapping_add(index as u64);
        let windowed = opts.stream || (opts.overlap_decode && model.device().is_cpu());
        let (codes, stopped) = if windowed && opts.speed == 1.0 {
            stream_chunk(model, voice, ids, opts, seed, &mut out)?
        } else {
            let tg = Instant::now();
            let mut cancelled = false;
            let generated = model.generate(voice, ids, &opts.sampling, seed, |_, n, _| {
                cancelled = out.event(Event::Token { count: n + 1 }).is_err();
                !cancelled
            })?;
            out.stats.gpt_secs += tg.elapsed().as_secs_f64();
            let td = Instant::now();
            let lat = model.apply_speed(&generated.latents, opts.speed)?;
            let wav = model.decode(&lat, &voice.speaker_embedding)?;
            out.stats.decoder_secs += td.elapsed().as_secs_f64();
            out.audio(&wav)?;
            (generated.codes.len(), generated.stopped)
        };
        out.stats.codes += codes;
        out.audio(&pause)?;
        out.event(Event::ChunkDone { index, codes, stopped })?;
    }
    out.stats.total_secs = t0.elapsed().as_secs_f64();
    Ok(out.stats)
}

/// Generates one chunk and decodes it through the sliding-window decoder as latents arrive
/// (streaming, or [`SynthesisOptions::overlap_decode`]).
///
/// The decoder runs on its own thread: while it decodes a finished window the GPT goes on with
/// the next tokens (both share the rayon pool, so on two cores each gets about one), and the
/// audio it sends back is passed on at the next token or at the end. The first piece is the
/// exception: the GPT waits for it, so that it is decoded on every core and out sooner.
fn stream_chunk(
    model: &Xtts,
    voice: &Conditioning,
    ids: &[u32],
    opts: &SynthesisOptions,
    seed: u64,
    out: &mut Output<'_, '_>,
) -> Result<(usize, bool)> {
    use std::sync::mpsc;
    // without streaming nobody waits for the first audio: the largest pieces, whose context
    // is the smallest share of their work
    let first_frames =
        if opts.stream { opts.stream_chunk_frames } else { stream::MAX_CHUNK_FRAMES };
    let mut dec =
        stream::StreamingDecoder::new(&model.hifigan, &voice.speaker_embedding, first_frames)?;
    let first_piece_at = if opts.stream { dec.latents_for_first_piece() } else { usize::MAX };
    let tg = Instant::now();
    // `Some(latent)` for each token, `None` once generation is complete; a channel closed
    // without `None` means generation stopped, and the rest is not decoded.
    let (latent_tx, latent_rx) = mpsc::channel::<Option<Tensor>>();
    let (audio_tx, audio_rx) = mpsc::channel::<Vec<f32>>();
    std::thread::scope(|scope| {
        let decoder = scope.spawn(move || -> Result<f64> {
            let mut busy = 0.0;
            for msg in latent_rx {
                let td = Instant::now();
                let audio = match msg {
                    Some(latent) => dec.push(&latent)?,
                    None => Some(dec.finish()?),
                };
                busy += td.elapsed().as_secs_f64();
                if let Some(a) = audio
                    && audio_tx.send(a).is_err()
                {
                    break; // the consumer is gone
                }
            }
            Ok(busy)
        });
        let mut failure: Option<Error> = None;
        let generated = model.generate(voice, ids, &opts.sampling, seed, |_, n, latent| {
            let mut step = || -> Result<()> {
                out.event(Event::Token { count: n + 1 })?;
                let stopped = || Error::Invalid("the streaming decoder stopped".into());
                if latent_tx.send(Some(latent.clone())).is_err() {
                    return Err(stopped());
                }
                if n + 1 == first_piece_at {
                    // the first piece gets every core: waiting for it costs the GPT one
                    // window's decode once, and brings the first audio that much earlier
                    out.audio(&audio_rx.recv().map_err(|_| stopped())?)?;
                }
                while let Ok(a) = audio_rx.try_recv() {
                    out.audio(&a)?;
                }
                Ok(())
            };
            match step() {
                Ok(()) => true,
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }
        });
        if failure.is_none() && generated.is_ok() {
            let _ = latent_tx.send(None);
        }
        drop(latent_tx);
        let joined = decoder.join();
        // A decoder error explains a stopped generation better than the send failure it caused.
        let decoder_secs = match joined {
            Ok(r) => r?,
            Err(p) => std::panic::resume_unwind(p),
        };
        if let Some(e) = failure {
            return Err(e);
        }
        let generated = generated?;
        for a in audio_rx.try_iter() {
            out.audio(&a)?;
        }
        out.stats.decoder_secs += decoder_secs;
        out.stats.gpt_secs += (tg.elapsed().as_secs_f64() - decoder_secs).max(0.0);
        Ok((generated.codes.len(), generated.stopped))
    })
}
