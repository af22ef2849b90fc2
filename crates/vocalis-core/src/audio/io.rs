//! Reading and writing audio files.
//!
//! Mirrors `load_audio` of `TTS/tts/models/xtts.py` (torchaudio → torchcodec/FFmpeg):
//! PCM is scaled by `1 / 2^(bits-1)` (PCM16 → `x / 32768`), 8-bit unsigned PCM is centred,
//! multi-channel audio is averaged over channels, and [`load_audio`] resamples to the target
//! rate and clips to [-1, 1] after resampling. WAV goes through `hound` (bit-exact with the
//! reference); FLAC, MP3, Ogg/Vorbis and anything else symphonia probes goes through
//! symphonia. Compressed formats are decoder-dependent (encoder delay, padding), so only PCM WAV
//! is expected to be bit-exact with the reference.
//!
//! Deliberate deviations (the reference accepts these and produces garbage or runs out of
//! memory): sample rates outside [`MIN_SAMPLE_RATE_HZ`, `MAX_SAMPLE_RATE_HZ`], files with no
//! samples, non-finite samples and audio that decodes to more than [`MAX_DECODED_SAMPLES`] are
//! errors that name the file.
//!
//! Untrusted input (`fuzz/` runs arbitrary bytes through [`read_audio_bytes`]): memory is only
//! reserved for samples actually decoded, never for a size a header declares, and a panic inside
//! a decoder (symphonia has some on malformed streams, see `fuzz/README.md`) is turned into an
//! error rather than unwinding into the caller.

use std::io::{Cursor, Read, Seek, Write};
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::error::{Error, Result};

/// Lowest accepted input sample rate.
pub const MIN_SAMPLE_RATE_HZ: u32 = 1000;
/// Highest accepted input sample rate.
pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;
/// Most interleaved samples one read may decode (1 GiB as f32: 3.4 h of mono 22.05 kHz audio,
/// 46 min of 48 kHz stereo). Compressed formats can expand a few kilobytes into gigabytes of
/// samples; pass `max_secs` to read the start of a longer file.
pub const MAX_DECODED_SAMPLES: usize = 1 << 28;
/// Samples reserved up front from a header's declared length (the rest grows as data arrives).
const MAX_PREALLOC_SAMPLES: usize = 1 << 20;

/// Decoded audio: interleaved samples in [-1, 1] (float formats may exceed it).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioData {
    /// Interleaved samples, `frames * channels` values.
    pub samples: Vec<f32>,
    /// Number of channels (≥ 1).
    pub channels: usize,
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
}

impl AudioData {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.frames() as f64 / self.sample_rate_hz as f64
    }

    /// Mono mixdown as the reference does it: `torch.mean(audio, dim=0)` over channels (f32).
    pub fn to_mono(&self) -> Vec<f32> {
        if self.channels == 1 {
            return self.samples.clone();
        }
        let c = self.channels;
        self.samples
            .chunks_exact(c)
            .map(|frame| {
                let mut s = 0f32;
                for &v in frame {
                    s += v;
                }
                s / c as f32
            })
            .collect()
    }
}

/// Reads an audio file of any supported format. `max_secs` stops decoding after that many
/// seconds (the rest of the file is not read); `None` reads everything.
pub fn read_audio(path: impl AsRef<Path>, max_secs: Option<f64>) -> Result<AudioData> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Err(Error::audio(name, "the file is empty"));
    }
    let mut head = [0u8; 12];
    let n = read_up_to(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    let data = if is_riff_wave(&head[..n]) {
        read_wav(std::io::BufReader::new(file), &name, max_secs)?
    } else {
        read_symphonia(Box::new(file), ext.as_deref(), &name, max_secs)?
    };
    validate(data, &name)
}

/// Reads audio from memory (an upload, stdin). `source_name` is used in error messages.
pub fn read_audio_bytes(
    bytes: Vec<u8>,
    source_name: &str,
    max_secs: Option<f64>,
) -> Result<AudioData> {
    if bytes.is_empty() {
        return Err(Error::audio(source_name, "the audio data is empty"));
    }
    let data = if is_riff_wave(&bytes[..bytes.len().min(12)]) {
        read_wav(Cursor::new(bytes), source_name, max_secs)?
    } else {
        read_symphonia(Box::new(Cursor::new(bytes)), None, source_name, max_secs)?
    };
    validate(data, source_name)
}

/// `load_audio(path, sr)` of the reference: read, mix down to mono, resample to
/// `target_rate_hz`, clip to [-1, 1]. `max_secs` bounds how much of the file is decoded (a
/// margin is added so that the resampled prefix is identical to resampling the whole file).
pub fn load_audio(
    path: impl AsRef<Path>,
    target_rate_hz: u32,
    max_secs: Option<f64>,
) -> Result<Vec<f32>> {
    let data = read_audio(path, max_secs.map(|s| s + RESAMPLE_MARGIN_SECS))?;
    Ok(prepare_mono(&data, target_rate_hz, max_secs))
}

/// Like [`load_audio`], for audio already decoded.
pub fn prepare_mono(data: &AudioData, target_rate_hz: u32, max_secs: Option<f64>) -> Vec<f32> {
    let mono = data.to_mono();
    let mut out = if data.sample_rate_hz != target_rate_hz {
        super::resample(&mono, data.sample_rate_hz, target_rate_hz)
    } else {
        mono
    };
    if let Some(s) = max_secs {
        out.truncate((s * target_rate_hz as f64).floor() as usize);
    }
    for v in out.iter_mut() {
        *v = v.clamp(-1.0, 1.0);
    }
    out
}

/// Extra input decoded past a requested duration so that the windowed-sinc resampler sees the
/// same neighbourhood as it would in the full file (its support is far below 0.1 s).
const RESAMPLE_MARGIN_SECS: f64 = 0.5;

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn is_riff_wave(head: &[u8]) -> bool {
    head.len() >= 12
        && (&head[0..4] == b"RIFF" || &head[0..4] == b"RF64")
        && &head[8..12] == b"WAVE"
}

fn check_rate(rate: u32, name: &str) -> Result<()> {
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&rate) {
        return Err(Error::audio(
            name,
            format!(
                "unsupported sample rate {rate} Hz (supported: {MIN_SAMPLE_RATE_HZ}–{MAX_SAMPLE_RATE_HZ} Hz)"
            ),
        ));
    }
    Ok(())
}

fn max_frames(max_secs: Option<f64>, rate: u32) -> usize {
    match max_secs {
        Some(s) if s.is_finite() && s >= 0.0 => (s * rate as f64).ceil() as usize,
        _ => usize::MAX,
    }
}

fn read_wav<R: Read>(reader: R, name: &str, max_secs: Option<f64>) -> Result<AudioData> {
    let wav = hound::WavReader::new(reader)
        .map_err(|e| Error::audio(name, format!("not a readable WAV file: {e}")))?;
    let spec = wav.spec();
    check_rate(spec.sample_rate, name)?;
    let channels = spec.channels as usize;
    if channels == 0 {
        return Err(Error::audio(name, "the WAV header declares 0 channels"));
    }
    let limit = max_frames(max_secs, spec.sample_rate).saturating_mul(channels);
    // `len()` is what the header declares, not what the file holds: reserve little up front.
    let mut samples = Vec::with_capacity((wav.len() as usize).min(limit).min(MAX_PREALLOC_SAMPLES));
    let mut push = |s: std::result::Result<f32, hound::Error>| -> Result<bool> {
        match s {
            Ok(v) if samples.len() < MAX_DECODED_SAMPLES => {
                samples.push(v);
                Ok(true)
            }
            Ok(_) => Err(too_long(name)),
            // The data chunk ends before its declared length (an interrupted download or
            // recording): keep what is there, as FFmpeg does.
            Err(hound::Error::IoError(e)) => {
                tracing::warn!("{name}: the WAV data ends early ({e}), keeping what was read");
                Ok(false)
            }
            Err(e) => Err(Error::audio(name, format!("corrupt WAV data: {e}"))),
        }
    };
    match spec.sample_format {
        hound::SampleFormat::Float => {
            if spec.bits_per_sample != 32 {
                return Err(Error::audio(
                    name,
                    format!("unsupported float WAV with {} bits", spec.bits_per_sample),
                ));
            }
            for s in wav.into_samples::<f32>().take(limit) {
                if !push(s)? {
                    break;
                }
            }
        }
        hound::SampleFormat::Int => {
            let bits = spec.bits_per_sample;
            if !(8..=32).contains(&bits) {
                return Err(Error::audio(name, format!("unsupported {bits}-bit PCM WAV")));
            }
            // hound returns 8-bit unsigned PCM already centred to i8 range.
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            for s in wav.into_samples::<i32>().take(limit) {
                if !push(s.map(|v| (v as f64 * scale) as f32))? {
                    break;
                }
            }
        }
    }
    // A truncated data chunk yields fewer samples than the header says; keep whole frames.
    samples.truncate(samples.len() / channels * channels);
    Ok(AudioData { samples, channels, sample_rate_hz: spec.sample_rate })
}

fn too_long(name: &str) -> Error {
    Error::audio(
        name,
        format!(
            "decodes to more than {MAX_DECODED_SAMPLES} samples; read a shorter part (max_secs)"
        ),
    )
}

/// Decodes with symphonia, turning a panic inside the decoder into an error.
fn read_symphonia(
    source: Box<dyn symphonia::core::io::MediaSource>,
    ext: Option<&str>,
    name: &str,
    max_secs: Option<f64>,
) -> Result<AudioData> {
    let run = std::panic::AssertUnwindSafe(|| decode_symphonia(source, ext, name, max_secs));
    std::panic::catch_unwind(run).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown error".into());
        let what = what.lines().next().unwrap_or_default().to_string();
        Err(Error::audio(name, format!("corrupt audio data (the decoder failed: {what})")))
    })
}

fn decode_symphonia(
    source: Box<dyn symphonia::core::io::MediaSource>,
    ext: Option<&str>,
    name: &str,
    max_secs: Option<f64>,
) -> Result<AudioData> {
    let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| Error::audio(name, format!("not a recognised audio format ({e})")))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| Error::audio(name, "the file has no audio track"))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| Error::audio(name, "the audio track has no codec parameters"))?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| Error::audio(name, format!("unsupported codec ({e})")))?;
    let mut samples: Vec<f32> = Vec::new();
    let mut buf: Vec<f32> = Vec::new();
    let mut channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut limit = usize::MAX;
    let mut decode_errors = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                if samples.is_empty() {
                    return Err(Error::audio(name, format!("corrupt audio data ({e})")));
                }
                tracing::warn!("{name}: stopped decoding at a corrupt packet: {e}");
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = decoded.spec();
                let (r, c) = (spec.rate(), spec.channels().count());
                if c == 0 {
                    continue;
                }
                if limit != usize::MAX && (r, c) != (rate, channels) {
                    // A chained stream with other parameters: keep the first part only.
                    tracing::warn!(
                        "{name}: stopped decoding where the stream changes from {channels} \
                         channels at {rate} Hz to {c} channels at {r} Hz"
                    );
                    break;
                }
                (rate, channels) = (r, c);
                if limit == usize::MAX {
                    check_rate(rate, name)?;
                    limit = max_frames(max_secs, rate).saturating_mul(channels);
                }
                decoded.copy_to_vec_interleaved(&mut buf);
                let want = samples.len() + buf.len();
                if want.min(limit) > MAX_DECODED_SAMPLES {
                    return Err(too_long(name));
                }
                if want > samples.capacity() {
                    // Double, but never past what may be kept.
                    let cap = (2 * samples.capacity())
                        .clamp(want, limit.min(MAX_DECODED_SAMPLES).max(want));
                    samples.reserve_exact(cap - samples.len());
                }
                samples.extend_from_slice(&buf);
                if samples.len() >= limit {
                    samples.truncate(limit);
                    break;
                }
            }
            Err(SymError::DecodeError(e)) => {
                decode_errors += 1;
                tracing::debug!("{name}: skipped an undecodable packet: {e}");
                if decode_errors > 100 && samples.is_empty() {
                    return Err(Error::audio(name, format!("corrupt audio data ({e})")));
                }
            }
            Err(SymError::IoError(_)) => continue,
            Err(e) => return Err(Error::audio(name, format!("cannot decode audio ({e})"))),
        }
    }
    if channels == 0 {
        return Err(Error::audio(name, "the file contains no audio samples"));
    }
    check_rate(rate, name)?;
    samples.truncate(samples.len() / channels * channels);
    Ok(AudioData { samples, channels, sample_rate_hz: rate })
}

fn validate(data: AudioData, name: &str) -> Result<AudioData> {
    if data.samples.is_empty() {
        return Err(Error::audio(name, "the file contains no audio samples"));
    }
    if let Some(i) = data.samples.iter().position(|v| !v.is_finite()) {
        let t = (i / data.channels) as f64 / data.sample_rate_hz as f64;
        return Err(Error::audio(
            name,
            format!("contains a non-finite sample (NaN or Inf) at {t:.3} s"),
        ));
    }
    Ok(data)
}

/// Sample format of a written WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WavFormat {
    /// 16-bit PCM: `round(x · 32768)` clamped to the i16 range — the inverse of the reader's
    /// `/ 32768`, so a PCM16 file read and written again is bit-identical.
    #[default]
    Pcm16,
    /// 32-bit IEEE float, written as is.
    Float32,
}

/// Converts a sample to 16-bit PCM: scaled by 32768 (the reader's inverse), rounded to nearest,
/// clamped to `[-32768, 32767]`; NaN becomes 0.
pub fn f32_to_pcm16(x: f32) -> i16 {
    if x.is_nan() {
        return 0;
    }
    (x as f64 * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Writes mono samples as a WAV file to any seekable writer.
pub fn write_wav_to<W: Write + Seek>(
    w: W,
    samples: &[f32],
    sample_rate_hz: u32,
    format: WavFormat,
) -> Result<()> {
    let spec = match format {
        WavFormat::Pcm16 => hound::WavSpec {
            channels: 1,
            sample_rate: sample_rate_hz,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
        WavFormat::Float32 => hound::WavSpec {
            channels: 1,
            sample_rate: sample_rate_hz,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        },
    };
    let err = |e: hound::Error| match e {
        hound::Error::IoError(e) => Error::Io { path: "<wav writer>".into(), source: e },
        e => Error::Invalid(format!("writing WAV: {e}")),
    };
    let mut writer = hound::WavWriter::new(w, spec).map_err(err)?;
    match format {
        WavFormat::Pcm16 => {
            let mut w16 = writer.get_i16_writer(samples.len() as u32);
            for &s in samples {
                w16.write_sample(f32_to_pcm16(s));
            }
            w16.flush().map_err(err)?;
        }
        WavFormat::Float32 => {
            for &s in samples {
                writer.write_sample(s).map_err(err)?;
            }
        }
    }
    writer.finalize().map_err(err)
}

/// Writes mono samples to a WAV file, atomically (a temporary file renamed over `path`).
pub fn write_wav(
    path: impl AsRef<Path>,
    samples: &[f32],
    sample_rate_hz: u32,
    format: WavFormat,
) -> Result<()> {
    let path = path.as_ref();
    let tmp = crate::util::temp_sibling(path);
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let res = write_wav_to(std::io::BufWriter::new(file), samples, sample_rate_hz, format)
        .and_then(|_| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(|e| match e {
        Error::Io { source, .. } => Error::io(path, source),
        e => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_bytes(
        spec: hound::WavSpec,
        write: impl FnOnce(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>),
    ) -> Vec<u8> {
        let mut c = Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
            write(&mut w);
            w.finalize().unwrap();
        }
        c.into_inner()
    }

    fn spec(ch: u16, bits: u16, float: bool, rate: u32) -> hound::WavSpec {
        hound::WavSpec {
            channels: ch,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        }
    }

    #[test]
    fn pcm_scaling_matches_reference_convention() {
        let b = wav_bytes(spec(1, 16, false, 22050), |w| {
            for v in [-32768i16, 0, 16384, 32767] {
                w.write_sample(v).unwrap();
            }
        });
        let a = read_audio_bytes(b, "t", None).unwrap();
        assert_eq!(a.samples, vec![-1.0, 0.0, 0.5, 32767.0 / 32768.0]);
        let b = wav_bytes(spec(1, 24, false, 22050), |w| {
            for v in [-(1i32 << 23), 1 << 22] {
                w.write_sample(v).unwrap();
            }
        });
        assert_eq!(read_audio_bytes(b, "t", None).unwrap().samples, vec![-1.0, 0.5]);
        let b = wav_bytes(spec(1, 32, false, 22050), |w| {
            for v in [i32::MIN, 1 << 30] {
                w.write_sample(v).unwrap();
            }
        });
        assert_eq!(read_audio_bytes(b, "t", None).unwrap().samples, vec![-1.0, 0.5]);
        let b = wav_bytes(spec(1, 8, false, 22050), |w| {
            for v in [-128i8, 0, 64] {
                w.write_sample(v).unwrap();
            }
        });
        assert_eq!(read_audio_bytes(b, "t", None).unwrap().samples, vec![-1.0, 0.0, 0.5]);
    }

    #[test]
    fn pcm16_round_trip_is_bit_exact() {
        let pcm: Vec<i16> = vec![-32768, -12345, -1, 0, 1, 777, 32767];
        let x: Vec<f32> = pcm.iter().map(|&v| v as f32 / 32768.0).collect();
        let back: Vec<i16> = x.iter().map(|&v| f32_to_pcm16(v)).collect();
        assert_eq!(back, pcm);
        assert_eq!(f32_to_pcm16(1.5), 32767);
        assert_eq!(f32_to_pcm16(-1.5), -32768);
        assert_eq!(f32_to_pcm16(f32::NAN), 0);
    }

    #[test]
    fn stereo_is_averaged() {
        let b = wav_bytes(spec(3, 32, true, 16000), |w| {
            for v in [0.25f32, 0.5, 0.75, -1.0, 0.0, 1.0] {
                w.write_sample(v).unwrap();
            }
        });
        let a = read_audio_bytes(b, "t", None).unwrap();
        assert_eq!(a.channels, 3);
        assert_eq!(a.to_mono(), vec![0.5, 0.0]);
    }

    #[test]
    fn round_trip_pcm16_and_float() {
        let x: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.01).sin() * 0.9).collect();
        for fmt in [WavFormat::Pcm16, WavFormat::Float32] {
            let mut c = Cursor::new(Vec::new());
            write_wav_to(&mut c, &x, 24000, fmt).unwrap();
            let a = read_audio_bytes(c.into_inner(), "t", None).unwrap();
            assert_eq!(a.sample_rate_hz, 24000);
            assert_eq!(a.samples.len(), x.len());
            let tol = if fmt == WavFormat::Pcm16 { 0.5 / 32768.0 } else { 0.0 };
            for (a, b) in a.samples.iter().zip(&x) {
                assert!((a - b).abs() <= tol, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let e = read_audio_bytes(Vec::new(), "empty.wav", None).unwrap_err().to_string();
        assert!(e.contains("empty.wav") && e.contains("empty"), "{e}");
        let e = read_audio_bytes(b"hello world, not audio at all".to_vec(), "x.bin", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.bin") && e.contains("not a recognised audio format"), "{e}");
        let good = wav_bytes(spec(1, 16, false, 22050), |w| {
            for i in 0..100 {
                w.write_sample(i as i16).unwrap();
            }
        });
        let e = read_audio_bytes(good[..20].to_vec(), "trunc.wav", None).unwrap_err().to_string();
        assert!(e.contains("trunc.wav"), "{e}");
        let empty = wav_bytes(spec(1, 16, false, 22050), |_| {});
        let e = read_audio_bytes(empty, "zero.wav", None).unwrap_err().to_string();
        assert!(e.contains("no audio samples"), "{e}");
        for rate in [0u32, 1, 10_000_000] {
            let b = wav_bytes(spec(1, 16, false, rate.max(1)), |w| w.write_sample(1i16).unwrap());
            let mut b = b;
            b[24..28].copy_from_slice(&rate.to_le_bytes());
            let e = read_audio_bytes(b, "rate.wav", None).unwrap_err().to_string();
            assert!(e.contains("rate.wav"), "{rate}: {e}");
        }
        let nan = wav_bytes(spec(1, 32, true, 22050), |w| {
            w.write_sample(0.1f32).unwrap();
            w.write_sample(f32::NAN).unwrap();
        });
        let e = read_audio_bytes(nan, "nan.wav", None).unwrap_err().to_string();
        assert!(e.contains("non-finite"), "{e}");
    }

    #[test]
    fn declared_sizes_do_not_reserve_memory() {
        // A 16-bit WAV whose data chunk claims 2 GiB but holds 100 samples: before, 1 GiB was
        // reserved for it and the read failed at the end of the data.
        let mut b = wav_bytes(spec(1, 16, false, 22050), |w| {
            for i in 0..100 {
                w.write_sample(i as i16).unwrap();
            }
        });
        b[40..44].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        let a = read_audio_bytes(b, "huge.wav", None).unwrap();
        assert_eq!(a.samples.len(), 100);
        assert!(a.samples.capacity() <= MAX_PREALLOC_SAMPLES, "{}", a.samples.capacity());
    }

    #[test]
    fn truncated_wav_keeps_whole_frames() {
        let b = wav_bytes(spec(2, 16, false, 8000), |w| {
            for i in 0..200 {
                w.write_sample(i as i16).unwrap();
            }
        });
        // 44-byte header, then 2 bytes per sample: cut in the middle of frame 50.
        let a = read_audio_bytes(b[..44 + 101 * 2 + 1].to_vec(), "cut.wav", None).unwrap();
        assert_eq!((a.channels, a.frames()), (2, 50));
        assert_eq!(a.samples[99], 99.0 / 32768.0);
    }

    /// WAVE_FORMAT_EXTENSIBLE float WAV with `channels` channels and channel mask 0b111, after
    /// some junk so that symphonia (not hound) reads it.
    fn junk_prefixed_extensible_wav(channels: u16) -> Vec<u8> {
        let block = 4 * channels;
        let mut fmt = Vec::new();
        for v in [0xfffeu16, channels] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        for v in [48000u32, 48000 * block as u32] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        for v in [block, 32, 22, 32] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        fmt.extend_from_slice(&7u32.to_le_bytes());
        // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
        fmt.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);
        let data = vec![0u8; block as usize * 4];
        let mut body = b"WAVEfmt ".to_vec();
        body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        body.extend_from_slice(&fmt);
        body.extend_from_slice(b"data");
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&data);
        let mut out = b"\xff\xe6\xff\xe6RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn decoder_panics_become_errors() {
        // fuzz finding 1: symphonia-format-riff 0.6.1 `fix_wave_channel_mask` shifts by the
        // channel count minus the mask's bits (`1 << 37`), which panics with overflow checks on.
        let r = read_audio_bytes(junk_prefixed_extensible_wav(40), "mask.wav", None);
        match r {
            // without overflow checks (release builds) the shift wraps instead of panicking, the
            // mask comes out different and the file decodes with however many channels it says
            Ok(a) if !cfg!(debug_assertions) => assert!(a.channels > 0, "{} channels", a.channels),
            Ok(a) => assert_eq!(a.channels, 40),
            Err(e) => {
                let e = e.to_string();
                assert!(e.starts_with("mask.wav: ") && !e.contains('\n'), "{e}");
                if cfg!(debug_assertions) {
                    assert!(e.contains("the decoder failed"), "{e}");
                }
            }
        }
        // fuzz finding 2: symphonia-format-riff 0.6.1 computes the PCM block align as
        // `channels * bytes_per_sample` in u16 (62977 × 3 overflows).
        let mut fmt = Vec::new();
        for v in [1u16, 62977] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        for v in [48000u32, 48000 * 3] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        for v in [3u16, 24] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        let mut b = b"\xff\xf0RIFF\x3c\x00\x00\x00WAVEfmt \x10\x00\x00\x00".to_vec();
        b.extend_from_slice(&fmt);
        b.extend_from_slice(b"data\x0c\x00\x00\x00");
        b.extend_from_slice(&[0u8; 12]);
        let e = read_audio_bytes(b, "align.wav", None).unwrap_err().to_string();
        assert!(e.starts_with("align.wav: ") && !e.contains('\n'), "{e}");
        if cfg!(debug_assertions) {
            assert!(e.contains("the decoder failed"), "{e}");
        }
        // The same file with a consistent channel count decodes.
        let a = read_audio_bytes(junk_prefixed_extensible_wav(3), "ok.wav", None).unwrap();
        assert_eq!((a.channels, a.frames()), (3, 4));
    }

    #[test]
    fn max_secs_limits_decoding() {
        let b = wav_bytes(spec(2, 16, false, 1000), |w| {
            for i in 0..4000 {
                w.write_sample(i as i16).unwrap();
            }
        });
        let a = read_audio_bytes(b, "t", Some(0.5)).unwrap();
        assert_eq!(a.frames(), 500);
    }
}
