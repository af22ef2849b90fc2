//! The synthesis pipeline on the tiny model: streaming equals one-shot decoding, chunking and
//! pauses, cancellation, and clear errors on bad input.

mod common;

use std::sync::OnceLock;

use candle::Device;
use common::*;
use vocalis_core::candle;
use vocalis_core::models::Xtts;
use vocalis_core::models::xtts::{CloneOptions, Conditioning};
use vocalis_core::pipeline::{Event, SynthesisOptions, synthesize, text_chunks};

fn model() -> &'static Xtts {
    static M: OnceLock<Xtts> = OnceLock::new();
    M.get_or_init(|| Xtts::load(&shared_tiny_model_dir("legacy"), &Device::Cpu).unwrap())
}

fn voice() -> Conditioning {
    model().speaker("tiny_speaker").unwrap()
}

fn opts(stream: bool) -> SynthesisOptions {
    let mut o = SynthesisOptions::for_model(model(), "en");
    o.sampling.greedy = true;
    o.stream = stream;
    o.stream_chunk_frames = 4;
    // one-shot: each chunk decoded whole after its generation (the tests compare the
    // windowed paths against it)
    o.overlap_decode = false;
    o
}

fn run(text: &str, o: &SynthesisOptions) -> (Vec<f32>, Vec<usize>) {
    let mut audio = Vec::new();
    let mut pieces = Vec::new();
    synthesize(model(), &voice(), text, o, |e| {
        if let Event::Audio(a) = e {
            pieces.push(a.len());
            audio.extend_from_slice(a);
        }
        true
    })
    .unwrap();
    (audio, pieces)
}

#[test]
fn one_shot_synthesis_equals_the_reference_then_pauses() {
    let g = golden();
    let j = golden_json();
    let o = opts(false);
    let (audio, _) = run(j["text"].as_str().unwrap(), &o);
    let wav = vec_f32(&g["wav"]);
    assert_eq!(audio.len(), wav.len() + o.pause_samples);
    assert_close("pipeline one-shot vs reference", &audio[..wav.len()], &wav, 1e-3);
    assert!(audio[wav.len()..].iter().all(|&v| v == 0.0));
}

/// Streaming with the sliding-window decoder gives the one-shot audio (float rounding only),
/// delivered in several pieces.
#[test]
fn streaming_equals_one_shot() {
    let j = golden_json();
    let text = j["text"].as_str().unwrap();
    let (batch, _) = run(text, &opts(false));
    let (streamed, pieces) = run(text, &opts(true));
    assert!(pieces.len() >= 3, "expected several streamed pieces, got {pieces:?}");
    assert_close("streamed vs one-shot audio", &streamed, &batch, 1e-5);
    // the default one-shot path: decoded in windows while the GPT generates
    let mut o = opts(false);
    o.overlap_decode = true;
    let (overlapped, _) = run(text, &o);
    assert_close("overlapped vs one-shot audio", &overlapped, &batch, 1e-5);
}

#[test]
fn streaming_decoder_equals_batch_on_long_random_latents() {
    // A longer utterance than the tiny model generates: 60 latents, several chunk sizes.
    use vocalis_core::pipeline::stream::StreamingDecoder;
    let m = model();
    let lat = candle::Tensor::randn(0f32, 1.0, (60, 64), &Device::Cpu).unwrap();
    let spk = voice().speaker_embedding;
    let batch = m.decode(&lat, &spk).unwrap();
    for chunk in [3usize, 12, 40] {
        let mut dec = StreamingDecoder::new(&m.hifigan, &spk, chunk).unwrap();
        // the synthesis loop waits for the first piece after this many latents: it must come
        // exactly then (earlier or later would stall the stream)
        let first_at = dec.latents_for_first_piece();
        let mut out = Vec::new();
        for i in 0..lat.dim(0).unwrap() {
            if let Some(a) = dec.push(&lat.get(i).unwrap()).unwrap() {
                if out.is_empty() {
                    assert_eq!(i + 1, first_at, "first piece of {chunk} frames");
                    assert!(a.len() >= chunk * 256, "first piece of {chunk} frames");
                }
                out.extend(a);
            }
        }
        assert!(!out.is_empty(), "no piece before the end with {chunk} frames");
        out.extend(dec.finish().unwrap());
        assert_close(&format!("sliding-window decode, chunk {chunk} frames"), &out, &batch, 1e-5);
    }
}

#[test]
fn long_text_is_chunked_at_the_language_limit() {
    let sentence = "This is one sentence of a long text that keeps going for a while. ";
    let text = sentence.repeat(8);
    let chunks = text_chunks(&text, "en", true, false).unwrap();
    assert!(chunks.len() >= 2, "{chunks:?}");
    assert!(chunks.iter().all(|c| c.chars().count() <= 250));
    let trimmed = text_chunks("Hello there. How are you.", "en", false, true).unwrap();
    assert_eq!(trimmed, vec!["Hello there. How are you".to_string()]);
}

#[test]
fn cancellation_stops_generation() {
    let mut seen = 0;
    let r = synthesize(model(), &voice(), "Hello world, this is a tiny test.", &opts(true), |e| {
        if let Event::Token { .. } = e {
            seen += 1;
        }
        seen < 3
    });
    assert!(matches!(r, Err(vocalis_core::Error::Cancelled)), "{r:?}");
    assert_eq!(seen, 3);
}

#[test]
fn bad_text_is_a_clear_error() {
    for (text, lang, needle) in [
        ("", "en", "empty"),
        ("   \n\t ", "en", "empty"),
        ("Hello", "xx", "xx"),
        ("Hello", "ja", "ja"),
    ] {
        let mut o = opts(false);
        o.language = lang.into();
        let e = synthesize(model(), &voice(), text, &o, |_| true).unwrap_err().to_string();
        assert!(e.contains(needle), "{text:?}/{lang}: {e}");
    }
    let e = synthesize(model(), &voice(), "!!! ... ???", &opts(false), |_| true);
    // Punctuation is read by the tokenizer; the result is valid audio or a clear error.
    if let Err(e) = e {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn reference_clips_that_cannot_clone_a_voice() {
    let dir = tempfile::tempdir().unwrap();
    let opts = CloneOptions::from_config(&model().config);
    let short = dir.path().join("short.wav");
    vocalis_core::audio::write_wav(&short, &vec![0.3f32; 4000], 22050, Default::default()).unwrap();
    let e = model().condition_on_files(&[short], &opts).unwrap_err().to_string();
    assert!(e.contains("short.wav") && e.contains("0.5 s"), "{e}");
    let silent = dir.path().join("silent.wav");
    vocalis_core::audio::write_wav(&silent, &vec![0.0f32; 44100], 22050, Default::default())
        .unwrap();
    let e = model().condition_on_files(&[silent], &opts).unwrap_err().to_string();
    assert!(e.contains("silent"), "{e}");
    let missing = dir.path().join("missing.wav");
    let e = model().condition_on_files(&[missing], &opts).unwrap_err().to_string();
    assert!(e.contains("missing.wav"), "{e}");
}

#[test]
fn a_ten_minute_reference_uses_only_the_configured_seconds() {
    // 10 minutes at 22.05 kHz; only max_ref_len (30 s) is decoded and used.
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.wav");
    let ref22 = vec_f32(&golden()["ref_wav_22k"]);
    let mut audio = Vec::with_capacity(22050 * 600);
    while audio.len() < 22050 * 600 {
        audio.extend_from_slice(&ref22);
    }
    vocalis_core::audio::write_wav(&long, &audio, 22050, Default::default()).unwrap();
    let opts = CloneOptions::from_config(&model().config);
    let c = model().condition_on_files(&[long], &opts).unwrap();
    assert_eq!(c.gpt_cond_latent.dims(), &[1, 32, 64]);
}

#[test]
fn gpt_step_on_slices_equals_the_tensor_pass() {
    use candle::IndexOp;
    use vocalis_core::models::gpt::TrainOpts;
    let (m, v) = (model(), voice());
    let gpt = &m.gpt;
    let ids = m.tokenize("Hello there, how are you?", "en").unwrap();
    let (mut fast, mut slow) = (gpt.new_cache().unwrap(), gpt.new_cache().unwrap());
    gpt.prefill(&mut fast, &v.gpt_cond_latent, &ids).unwrap();
    gpt.prefill(&mut slow, &v.gpt_cond_latent, &ids).unwrap();
    for (i, code) in [5u32, 9, 13, 2, 40].into_iter().enumerate() {
        let a = gpt.step(&mut fast, code, i + 1).unwrap();
        let x = gpt.mel_embed(&[code], i + 1).unwrap();
        let h = gpt.transformer(&x, Some(&mut slow), None, TrainOpts::default()).unwrap();
        let b = gpt.final_norm(&h.i((.., 0, ..)).unwrap()).unwrap();
        assert_eq!(a.dims(), b.dims());
        let d = max_abs_diff("step latent", &vec_f32(&a), &vec_f32(&b));
        assert!(d < 1e-4, "position {}: {d}", i + 1);
    }
    assert_eq!(fast.len(), slow.len());
}

/// The one-pass prefill of `[cond | text | START_AUDIO]` (as the reference runs it): the START
/// latent.
fn one_pass_prefill(cond: &candle::Tensor, ids: &[u32]) -> Vec<f32> {
    use candle::IndexOp;
    use vocalis_core::models::gpt::{TrainOpts, causal_mask};
    let gpt = &model().gpt;
    let text = gpt.text_prefix(ids).unwrap();
    let start = gpt.mel_embed(&[gpt.config().start_audio_token], 0).unwrap();
    let x = candle::Tensor::cat(&[cond, &text, &start], 1).unwrap();
    let t = x.dim(1).unwrap();
    let mask = causal_mask(t, 0, x.dtype(), x.device()).unwrap();
    let h = gpt.transformer(&x, None, Some(&mask), TrainOpts::default()).unwrap();
    vec_f32(&gpt.final_norm(&h.i((.., t - 1, ..)).unwrap()).unwrap())
}

#[test]
fn prefill_reusing_a_voice_prefix_equals_one_pass() {
    let (m, v) = (model(), voice());
    let gpt = &m.gpt;
    let ids = m.tokenize("Hello there, how are you?", "en").unwrap();
    let other = (&v.gpt_cond_latent * 0.5).unwrap();
    let mut cache = gpt.new_cache().unwrap();
    for cond in [&v.gpt_cond_latent, &other] {
        let want = one_pass_prefill(cond, &ids);
        // the first call computes the voice's keys and values, the second reuses them
        let cold = vec_f32(&gpt.prefill(&mut cache, cond, &ids).unwrap());
        let warm = vec_f32(&gpt.prefill(&mut cache, cond, &ids).unwrap());
        assert_eq!(cache.len(), 32 + ids.len() + 3);
        let d = max_abs_diff("prefill latent", &cold, &want);
        assert!(d < 1e-4, "split prefill vs one pass: {d}");
        assert_eq!(cold, warm, "a cached voice prefix must give the same latent");
    }
    // the first voice is still cached and still its own
    let again = vec_f32(&gpt.prefill(&mut cache, &v.gpt_cond_latent, &ids).unwrap());
    let d = max_abs_diff("prefill latent", &again, &one_pass_prefill(&v.gpt_cond_latent, &ids));
    assert!(d < 1e-4, "{d}");
}

#[test]
fn a_prepared_voice_is_kept_and_prefills_as_one_pass() {
    let (m, v) = (model(), voice());
    let ids = m.tokenize("Prepared ahead.", "en").unwrap();
    // a voice no other test uses (the model and its cache of voices are shared)
    let cond = (&v.gpt_cond_latent * 0.37).unwrap();
    let prepared = Conditioning {
        gpt_cond_latent: cond.clone(),
        speaker_embedding: v.speaker_embedding.clone(),
    };
    assert!(!m.gpt.has_voice(&cond).unwrap());
    assert!(m.prepare_voice(&prepared).unwrap(), "the first preparation computes");
    assert!(m.gpt.has_voice(&cond).unwrap());
    assert!(!m.prepare_voice(&prepared).unwrap(), "a kept voice is not computed again");
    let mut cache = m.gpt.new_cache().unwrap();
    let got = vec_f32(&m.gpt.prefill(&mut cache, &cond, &ids).unwrap());
    let d = max_abs_diff("prefill latent", &got, &one_pass_prefill(&cond, &ids));
    assert!(d < 1e-4, "prepared prefix vs one pass: {d}");
}
