//! Datasets: reading the LJSpeech and `audio_file|text|speaker_name` layouts, the eval split,
//! validation with a report, and the cache of what does not change between epochs (the
//! 22.05 kHz audio, text tokens and DVAE codes of every clip).
//!
//! Mirrors the reference's formatters (`TTS/tts/datasets/formatters.py`: `ljspeech` takes the
//! normalized-text column) and `load_item`'s rejections (empty text, clips under 0.5 s, over
//! `max_wav_length` or `max_text_length`, `[UNK]` in the tokens). Deliberate differences: a
//! rejected clip is reported up front instead of being skipped at random during training, and
//! the eval split draws at least one sample.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use vocalis_core::audio::XTTS_INPUT_SAMPLE_RATE_HZ as SR;
use vocalis_core::models::Xtts;
use vocalis_core::training::data::DvaeCodec;

use crate::config::{DatasetFormat, TrainConfig};

/// A line of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub id: String,
    pub audio: PathBuf,
    pub text: String,
    pub speaker: String,
}

/// A validated, cached clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub speaker: String,
    pub text: String,
    pub tokens: Vec<u32>,
    pub codes: Vec<u32>,
    /// Samples at 22.05 kHz.
    pub len: usize,
    /// Raw little-endian f32 audio at 22.05 kHz in the cache.
    pub audio_cache: PathBuf,
    pub source: PathBuf,
    /// `size:mtime` of the source when cached.
    pub source_stamp: String,
}

impl Item {
    /// The cached 22.05 kHz audio.
    pub fn audio(&self) -> Result<Vec<f32>> {
        let bytes = std::fs::read(&self.audio_cache).with_context(|| {
            format!(
                "cache file {} is missing: run `vocalis-train prepare` again",
                self.audio_cache.display()
            )
        })?;
        if bytes.len() != self.len * 4 {
            bail!(
                "cache file {} is truncated: run `vocalis-train prepare` again",
                self.audio_cache.display()
            );
        }
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

/// Train and eval sets after preparation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Prepared {
    pub train: Vec<Item>,
    pub eval: Vec<Item>,
    /// Fingerprint of the model, DVAE and settings the cache was made with.
    pub key: String,
}

/// What `prepare` found.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: usize,
    pub problems: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub from_cache: usize,
}

fn split_line(line: &str) -> Vec<&str> {
    line.trim_end_matches(['\r', '\n']).split('|').collect()
}

/// Reads the samples of a list file.
fn read_list(path: &Path, format: DatasetFormat) -> Result<Vec<Sample>> {
    let (list, base) = match format {
        DatasetFormat::Ljspeech => (path.join("metadata.csv"), path.to_path_buf()),
        DatasetFormat::Csv => {
            (path.to_path_buf(), path.parent().unwrap_or(Path::new(".")).to_path_buf())
        }
    };
    let text = std::fs::read_to_string(&list).map_err(|e| {
        vocalis_core::Error::config(&list, format!("cannot read the dataset list: {e}"))
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols = split_line(line);
        match format {
            DatasetFormat::Ljspeech => {
                if cols.len() < 2 {
                    bail!("{}:{}: expected `id|text|normalized_text`", list.display(), n + 1);
                }
                let text = cols.get(2).filter(|t| !t.trim().is_empty()).unwrap_or(&cols[1]);
                out.push(Sample {
                    id: cols[0].to_string(),
                    audio: base.join("wavs").join(format!("{}.wav", cols[0])),
                    text: text.to_string(),
                    speaker: "ljspeech".into(),
                });
            }
            DatasetFormat::Csv => {
                if n == 0 && cols.first().is_some_and(|c| c.trim() == "audio_file") {
                    continue;
                }
                if cols.len() < 2 {
                    bail!("{}:{}: expected `audio_file|text|speaker_name`", list.display(), n + 1);
                }
                out.push(Sample {
                    id: cols[0].to_string(),
                    audio: base.join(cols[0]),
                    text: cols[1].to_string(),
                    speaker: cols
                        .get(2)
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "speaker".into()),
                });
            }
        }
    }
    if out.is_empty() {
        bail!("{}: the dataset list is empty", list.display());
    }
    Ok(out)
}

/// Train and eval samples (before validation), with the eval split drawn with a fixed seed.
pub fn read_samples(cfg: &TrainConfig) -> Result<(Vec<Sample>, Vec<Sample>)> {
    let d = &cfg.dataset;
    let mut train = read_list(&d.path, d.format)?;
    let eval = match (&d.eval_path, d.format) {
        (Some(p), DatasetFormat::Csv) => read_list(p, DatasetFormat::Csv)?,
        (Some(_), DatasetFormat::Ljspeech) => bail!("dataset.eval_path is only for the csv format"),
        (None, _) => {
            // np.random.seed(0); shuffle; the first items are the eval set
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
            train.shuffle(&mut rng);
            let n = if train.len() < 2 {
                0
            } else {
                ((train.len() as f64 * d.eval_split) as usize)
                    .clamp(1, d.eval_split_max_size.max(1))
                    .min(train.len() - 1)
            };
            train.drain(..n).collect()
        }
    };
    Ok((train, eval))
}

fn stamp(path: &Path) -> Option<String> {
    let m = std::fs::metadata(path).ok()?;
    let mtime = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
    Some(format!("{}:{mtime}", m.len()))
}

/// A fingerprint of everything the cached values depend on.
pub fn cache_key(cfg: &TrainConfig, model: &Xtts) -> Result<String> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    model.fingerprint()?.hash(&mut h);
    stamp(&cfg.dvae_path()).hash(&mut h);
    cfg.dataset.language.hash(&mut h);
    std::fs::read(model.root().map(|r| r.join("vocab.json")).unwrap_or_default()).ok().hash(&mut h);
    Ok(format!("{:016x}", h.finish()))
}

/// Validates every sample, computes what the cache lacks, and writes the cache manifest.
/// `progress(done, total, id)` is called per sample.
pub fn prepare(
    cfg: &TrainConfig,
    model: &Xtts,
    dvae: &DvaeCodec,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<(Prepared, Report)> {
    let (train, eval) = read_samples(cfg)?;
    let key = cache_key(cfg, model)?;
    let cache = cfg.cache_dir();
    let audio_dir = cache.join("audio");
    std::fs::create_dir_all(&audio_dir)
        .with_context(|| format!("cannot create {}", audio_dir.display()))?;
    let old: HashMap<String, Item> = load_manifest(&cache)
        .ok()
        .filter(|p| p.key == key)
        .map(|p| {
            p.train.into_iter().chain(p.eval).map(|i| (i.source.display().to_string(), i)).collect()
        })
        .unwrap_or_default();
    let mut report = Report { lines: train.len() + eval.len(), ..Default::default() };
    let mut seen: HashSet<String> = HashSet::new();
    let lang = &cfg.dataset.language;
    let limit =
        vocalis_core::text::char_limit(lang.split('-').next().unwrap_or(lang)).unwrap_or(250);
    let total = train.len() + eval.len();
    let mut done = 0;
    let mut process = |samples: Vec<Sample>, report: &mut Report| -> Result<Vec<Item>> {
        let mut items = Vec::new();
        for s in samples {
            done += 1;
            progress(done, total, &s.id);
            if !seen.insert(s.id.clone()) {
                report.problems.push((s.id.clone(), "duplicate id".into()));
                continue;
            }
            if s.text.trim().is_empty() {
                report.problems.push((s.id.clone(), "empty text".into()));
                continue;
            }
            if s.text.chars().count() > limit {
                report.warnings.push((
                    s.id.clone(),
                    format!("text longer than the {lang} limit of {limit} characters"),
                ));
            }
            let Some(st) = stamp(&s.audio) else {
                report
                    .problems
                    .push((s.id.clone(), format!("missing audio file {}", s.audio.display())));
                continue;
            };
            if let Some(it) = old.get(&s.audio.display().to_string())
                && it.source_stamp == st
                && it.text == s.text
                && it.audio_cache.is_file()
            {
                report.from_cache += 1;
                items.push(Item { id: s.id.clone(), speaker: s.speaker.clone(), ..it.clone() });
                continue;
            }
            let tokens = match model.tokenize(&s.text, lang) {
                Ok(t) => t,
                Err(e) => {
                    report.problems.push((s.id.clone(), format!("text: {e}")));
                    continue;
                }
            };
            if model.tokenizer.unk_id().is_some_and(|u| tokens.contains(&u)) {
                report.problems.push((
                    s.id.clone(),
                    "text has characters the vocabulary does not know ([UNK])".into(),
                ));
                continue;
            }
            if tokens.len() > cfg.dataset.max_text_tokens {
                report.problems.push((
                    s.id.clone(),
                    format!(
                        "{} text tokens, over max_text_tokens {}",
                        tokens.len(),
                        cfg.dataset.max_text_tokens
                    ),
                ));
                continue;
            }
            let audio = match vocalis_core::audio::load_audio(
                &s.audio,
                SR,
                Some(cfg.dataset.max_wav_seconds + 1.0),
            ) {
                Ok(a) => a,
                Err(e) => {
                    report.problems.push((s.id.clone(), format!("unreadable audio: {e}")));
                    continue;
                }
            };
            let secs = audio.len() as f64 / SR as f64;
            if secs > cfg.dataset.max_wav_seconds {
                report.problems.push((
                    s.id.clone(),
                    format!("clip longer than {:.1} s", cfg.dataset.max_wav_seconds),
                ));
                continue;
            }
            if secs < cfg.dataset.min_wav_seconds {
                report.problems.push((
                    s.id.clone(),
                    format!("clip of {secs:.2} s, under {:.1} s", cfg.dataset.min_wav_seconds),
                ));
                continue;
            }
            if audio.iter().fold(0f32, |m, v| m.max(v.abs())) < 1e-4 {
                report.problems.push((s.id.clone(), "silent clip".into()));
                continue;
            }
            let codes = dvae
                .codes(&audio)
                .with_context(|| format!("DVAE codes of {}", s.audio.display()))?;
            let cache_file = audio_dir.join(format!("{:016x}.f32", {
                use std::hash::{DefaultHasher, Hash, Hasher};
                let mut h = DefaultHasher::new();
                s.audio.hash(&mut h);
                h.finish()
            }));
            vocalis_core::util::write_atomic_with(&cache_file, |w| {
                for v in &audio {
                    w.write_all(&v.to_le_bytes())?;
                }
                Ok(())
            })?;
            items.push(Item {
                id: s.id,
                speaker: s.speaker,
                text: s.text,
                tokens,
                codes,
                len: audio.len(),
                audio_cache: cache_file,
                source: s.audio,
                source_stamp: st,
            });
        }
        Ok(items)
    };
    let mut train = process(train, &mut report)?;
    let eval = process(eval, &mut report)?;
    if cfg.dataset.max_train_samples > 0 {
        train.truncate(cfg.dataset.max_train_samples);
    }
    if train.is_empty() {
        bail!("no usable training samples (see the problems above)");
    }
    report.train_seconds = train.iter().map(|i| i.len as f64 / SR as f64).sum();
    report.eval_seconds = eval.iter().map(|i| i.len as f64 / SR as f64).sum();
    let prepared = Prepared { train, eval, key };
    let json = serde_json::to_vec_pretty(&prepared)?;
    vocalis_core::util::write_atomic(&cache.join("manifest.json"), &json)?;
    Ok((prepared, report))
}

/// Reads the cache manifest written by [`prepare`].
pub fn load_manifest(cache: &Path) -> Result<Prepared> {
    let p = cache.join("manifest.json");
    let text = std::fs::read_to_string(&p)
        .with_context(|| format!("no prepared dataset at {}", p.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is corrupt: run `vocalis-train prepare` again", p.display()))
}

impl Report {
    /// The human-readable report.
    pub fn render(&self, prepared: &Prepared) -> String {
        let mut s = String::new();
        let by_reason: BTreeMap<&str, usize> =
            self.problems.iter().fold(BTreeMap::new(), |mut m, (_, r)| {
                *m.entry(r.split(':').next().unwrap_or(r)).or_default() += 1;
                m
            });
        s.push_str(&format!(
            "{} lines: {} training clips ({:.1} min), {} eval clips ({:.1} min), {} skipped, {} from cache\n",
            self.lines,
            prepared.train.len(),
            self.train_seconds / 60.0,
            prepared.eval.len(),
            self.eval_seconds / 60.0,
            self.problems.len(),
            self.from_cache
        ));
        for (reason, n) in by_reason {
            s.push_str(&format!("  skipped {n}: {reason}\n"));
        }
        for (id, p) in self.problems.iter().take(20) {
            s.push_str(&format!("  {id}: {p}\n"));
        }
        if self.problems.len() > 20 {
            s.push_str(&format!("  ... and {} more\n", self.problems.len() - 20));
        }
        for (id, w) in self.warnings.iter().take(10) {
            s.push_str(&format!("  warning {id}: {w}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("metadata.csv"), "a|Hello 1.|Hello one.\nb|Bye|\n").unwrap();
        let s = read_list(d.path(), DatasetFormat::Ljspeech).unwrap();
        assert_eq!(s[0].text, "Hello one.");
        assert_eq!(s[1].text, "Bye");
        assert!(s[0].audio.ends_with("wavs/a.wav"));
        std::fs::write(
            d.path().join("list.csv"),
            "audio_file|text|speaker_name\nclips/x.flac|Hi there|bob\n",
        )
        .unwrap();
        let s = read_list(&d.path().join("list.csv"), DatasetFormat::Csv).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].speaker, "bob");
        assert!(s[0].audio.ends_with("clips/x.flac"));
        std::fs::write(d.path().join("bad.csv"), "just one column\n").unwrap();
        assert!(read_list(&d.path().join("bad.csv"), DatasetFormat::Csv).is_err());
    }
}
