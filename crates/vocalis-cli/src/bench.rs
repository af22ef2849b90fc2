//! `vocalis bench`: the numbers `docs/benchmarks.md` records, measured on one model dir.
//!
//! Reports model load time, voice conditioning time for one reference clip, GPT prefill and
//! milliseconds per generated token (KV cache), decoder real-time factor, end-to-end real-time
//! factor (conditioning + generation + decoding), streaming time to first audio and real-time factor,
//! peak RSS, and the memory read bandwidth that bounds a batch-1 GPT step.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use vocalis_core::models::CloneOptions;
use vocalis_core::pipeline::{Event, SynthesisOptions, synthesize};

use crate::common::{self, ModelOpts, Ui};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelOpts,
    /// Reference clip for cloning (default: a 6.5 s synthetic voice-like signal).
    #[arg(long, value_name = "FILE")]
    pub speaker_wav: Option<PathBuf>,
    /// Text to synthesize.
    #[arg(long, default_value = "Hello world, this is a tiny test.")]
    pub text: String,
    /// Language.
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Decoder frames (256 samples) of the first streamed piece (default: the synthesis
    /// default).
    #[arg(long, value_name = "N")]
    pub stream_first_frames: Option<usize>,
    /// Repetitions of the GPT/decoder measurements (the median is reported).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Peak resident set size of this process, in bytes (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A 6.5 s voice-like test signal at 24 kHz (harmonics with vibrato and syllable-rate
/// amplitude modulation), for benchmarking without a real recording.
fn synthetic_reference() -> Vec<f32> {
    let sr = 24000.0f64;
    let n = (6.5 * sr) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let f0 = 140.0 + 15.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / sr;
            let src: f64 = (1..20).map(|k| 0.85f64.powi(k) * (k as f64 * phase).sin()).sum();
            let env = 0.55 + 0.45 * (2.0 * std::f64::consts::PI * 3.1 * t).sin().powi(2);
            (0.2 * src * env) as f32
        })
        .collect()
}

pub fn run(a: BenchArgs, ui: &Ui) -> Result<()> {
    let t0 = Instant::now();
    let model = common::load_model(&a.model, ui)?;
    let load_secs = t0.elapsed().as_secs_f64();

    // Conditioning from a reference clip.
    let opts = CloneOptions::from_config(&model.config);
    let (refs, ref_secs) = match &a.speaker_wav {
        Some(p) => {
            let a22 = vocalis_core::audio::load_audio(p, 22050, Some(opts.max_ref_secs))
                .with_context(|| format!("reading {}", p.display()))?;
            let s = a22.len() as f64 / 22050.0;
            (vec![a22], s)
        }
        None => {
            let a22 = vocalis_core::audio::resample(&synthetic_reference(), 24000, 22050);
            let s = a22.len() as f64 / 22050.0;
            (vec![a22], s)
        }
    };
    let tc = Instant::now();
    let voice = model.condition_on_audio(&refs, &opts)?;
    let cond_secs = tc.elapsed().as_secs_f64();

    let mut sopts = SynthesisOptions::for_model(&model, &a.language);
    sopts.sampling.greedy = true;
    sopts.pause_samples = 0;
    sopts.split_sentences = false;
    if let Some(n) = a.stream_first_frames {
        sopts.stream_chunk_frames = n.max(1);
    }
    let ids = model.tokenize(&a.text, &a.language)?;

    let mut gpt_ms_per_token = Vec::new();
    let mut prefill_ms = Vec::new();
    let mut prefill_seen_ms = Vec::new();
    let mut dec_rtf = Vec::new();
    let mut e2e_rtf = Vec::new();
    let mut ttfa = Vec::new();
    let mut ttfa_seen = Vec::new();
    let mut ttfa_prepared = Vec::new();
    let mut prepare_ms = Vec::new();
    let mut stream_rtf = Vec::new();
    let mut codes = 0;
    let mut audio_secs = 0.0;
    // Streams the text and returns (seconds to the first code, seconds to the first audio,
    // real-time factor); with `first_only` it stops at the first audio.
    let stream = |first_only: bool| -> Result<(f64, f64, f64)> {
        let mut o = sopts.clone();
        o.stream = true;
        let ts = Instant::now();
        let (mut first_code, mut first_audio) = (None, None);
        let r = synthesize(&model, &voice, &a.text, &o, |e| match e {
            Event::Token { .. } => {
                first_code.get_or_insert(ts.elapsed().as_secs_f64());
                true
            }
            Event::Audio(x) if !x.is_empty() => {
                first_audio.get_or_insert(ts.elapsed().as_secs_f64());
                !first_only
            }
            _ => true,
        });
        let rtf = match r {
            Ok(st) => ts.elapsed().as_secs_f64() / (st.samples as f64 / 24000.0),
            Err(vocalis_core::Error::Cancelled) if first_only => f64::NAN,
            Err(e) => return Err(e.into()),
        };
        Ok((first_code.unwrap_or(f64::NAN), first_audio.unwrap_or(f64::NAN), rtf))
    };
    for _ in 0..a.repeat.max(1) {
        // GPT alone for a voice it has not seen (its conditioning keys and values are computed
        // in the prefill), timing the first step (prefill) separately.
        model.gpt.forget_voices();
        let tg = Instant::now();
        let mut first: Option<f64> = None;
        let g = model.generate(&voice, &ids, &sopts.sampling, 0, |_, n, _| {
            if n == 0 {
                first = Some(tg.elapsed().as_secs_f64());
            }
            true
        })?;
        let total = tg.elapsed().as_secs_f64();
        let pre = first.unwrap_or(0.0);
        codes = g.codes.len();
        prefill_ms.push(pre * 1e3);
        gpt_ms_per_token.push((total - pre) * 1e3 / (codes.saturating_sub(1).max(1)) as f64);
        // Decoder alone.
        let td = Instant::now();
        let wav = model.decode(&g.latents, &voice.speaker_embedding)?;
        let dsecs = td.elapsed().as_secs_f64();
        audio_secs = wav.len() as f64 / 24000.0;
        dec_rtf.push(dsecs / audio_secs);
        // End to end from the reference audio (conditioning + synthesis of a new voice).
        model.gpt.forget_voices();
        let te = Instant::now();
        let v2 = model.condition_on_audio(&refs, &opts)?;
        let stats = synthesize(&model, &v2, &a.text, &sopts, |_| true)?;
        e2e_rtf.push(te.elapsed().as_secs_f64() / (stats.samples as f64 / 24000.0));
        // Streaming after the voice is ready: with a voice seen before (as in a server, or the
        // second sentence of a text), then the first audio of a new voice.
        let (code_s, audio_s, rtf) = stream(false)?;
        prefill_seen_ms.push(code_s * 1e3);
        ttfa_seen.push(audio_s);
        stream_rtf.push(rtf);
        model.gpt.forget_voices();
        ttfa.push(stream(true)?.1);
        // A voice prepared ahead (as a server does for its profiles), then its first request.
        model.gpt.forget_voices();
        let tp = Instant::now();
        model.prepare_voice(&voice)?;
        prepare_ms.push(tp.elapsed().as_secs_f64() * 1e3);
        ttfa_prepared.push(stream(true)?.1);
    }
    let peak_rss = peak_rss_bytes();
    let bandwidth = vocalis_core::nn::gemv::read_bandwidth_gbs();
    let report = serde_json::json!({
        "model": a.model.model.display().to_string(),
        "device": common::device_name(model.device()),
        "threads": rayon::current_num_threads(),
        "gpt_layers": model.gpt_config().layers,
        "gpt_dim": model.gpt_config().model_dim,
        "kv_cache_dtype": format!("{:?}", model.gpt.kv_dtype()).to_lowercase(),
        "load_secs": load_secs,
        "reference_secs": ref_secs,
        "conditioning_secs": cond_secs,
        "codes": codes,
        "audio_secs": audio_secs,
        "gpt_prefill_ms": median(&mut prefill_ms),
        "gpt_prefill_seen_voice_ms": median(&mut prefill_seen_ms),
        "gpt_ms_per_token": median(&mut gpt_ms_per_token),
        "decoder_rtf": median(&mut dec_rtf),
        "end_to_end_rtf": median(&mut e2e_rtf),
        "stream_first_audio_secs": median(&mut ttfa),
        "stream_first_audio_seen_voice_secs": median(&mut ttfa_seen),
        "voice_prepare_ms": median(&mut prepare_ms),
        "stream_first_audio_prepared_voice_secs": median(&mut ttfa_prepared),
        "stream_rtf": median(&mut stream_rtf),
        "peak_rss_mb": peak_rss.map(|b| b as f64 / 1e6),
        "read_bandwidth_gbs": bandwidth,
    });
    if a.json {
        println!("{report}");
    } else {
        let f = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "model            {} ({} layers × {}, {} on {} thread(s))",
            a.model.model.display(),
            report["gpt_layers"],
            report["gpt_dim"],
            report["device"].as_str().unwrap_or(""),
            report["threads"]
        );
        println!("load             {:.2} s", f("load_secs"));
        println!(
            "conditioning     {:.3} s for a {:.1} s clip",
            f("conditioning_secs"),
            f("reference_secs")
        );
        println!(
            "GPT prefill      {:.1} ms (new voice), {:.1} ms (voice seen before)",
            f("gpt_prefill_ms"),
            f("gpt_prefill_seen_voice_ms")
        );
        println!(
            "GPT per token    {:.1} ms ({} codes, KV cache in {})",
            f("gpt_ms_per_token"),
            codes,
            report["kv_cache_dtype"].as_str().unwrap_or("")
        );
        println!("decoder RTF      {:.3} ({:.2} s of audio)", f("decoder_rtf"), f("audio_secs"));
        println!("end-to-end RTF   {:.3}", f("end_to_end_rtf"));
        println!(
            "first audio      {:.3} s (new voice), {:.3} s (voice prepared in {:.0} ms), {:.3} s (voice used before); streaming",
            f("stream_first_audio_secs"),
            f("stream_first_audio_prepared_voice_secs"),
            f("voice_prepare_ms"),
            f("stream_first_audio_seen_voice_secs")
        );
        println!("streaming RTF    {:.3} (decoder overlapped with the GPT)", f("stream_rtf"));
        println!("peak RSS         {:.0} MB", f("peak_rss_mb"));
        println!("read bandwidth   {:.1} GB/s (measured after the run)", f("read_bandwidth_gbs"));
    }
    Ok(())
}
