//! The error type of the core's public API.
//!
//! Layer code returns `candle::Result`; everything a caller of the core sees (loading a model,
//! reading audio, preparing text, synthesizing) returns [`Error`], whose messages name the file,
//! tensor or option involved so that a binary can print them as one line.

use std::path::{Path, PathBuf};

/// Errors of the Vocalis core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Audio input that cannot be used (corrupt, empty, unsupported, non-finite samples, ...).
    #[error("{source_name}: {msg}")]
    Audio {
        /// The file name, or a description of the source for in-memory data.
        source_name: String,
        /// What is wrong.
        msg: String,
    },
    /// A model file that is missing, corrupt, or does not match the architecture.
    #[error("{}: {msg}", path.display())]
    Checkpoint {
        /// The file (or model directory) involved.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A configuration file or value that cannot be used.
    #[error("{}: {msg}", path.display())]
    Config {
        /// The file involved.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Text that cannot be prepared for the model (unsupported language, empty text, ...).
    #[error("{0}")]
    Text(String),
    /// The tokenizer (`vocab.json`) failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// An invalid argument (a sampling parameter out of range, an unknown voice, ...).
    #[error("{0}")]
    Invalid(String),
    /// A voice profile that is missing, corrupt, or made with another model.
    #[error("voice profile {name}: {msg}")]
    Voice {
        /// The profile name.
        name: String,
        /// What is wrong.
        msg: String,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle::Error),
}

/// Result alias of the core.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }

    /// An [`Error::Audio`] for the named source.
    pub fn audio(source_name: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Audio { source_name: source_name.into(), msg: msg.into() }
    }

    /// An [`Error::Checkpoint`] for `path`.
    pub fn checkpoint(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::Checkpoint { path: path.as_ref().to_path_buf(), msg: msg.into() }
    }

    /// An [`Error::Config`] for `path`.
    pub fn config(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::Config { path: path.as_ref().to_path_buf(), msg: msg.into() }
    }
}

/// An error and its causes as one line, `outer: inner: …`, leaving out a cause whose text the
/// line already holds: many errors print their source in their own message too ([`Error::Io`]
/// does, and so do the HTTP client's), which `{:#}` would repeat once per layer.
pub fn one_line<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut line = String::new();
    for e in chain {
        let msg = e.to_string();
        if line.contains(&msg) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&msg);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_each_cause_once() {
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(Error::io("/x/ref.wav", missing)).context("cannot clone");
        assert_eq!(format!("{e:#}"), "cannot clone: /x/ref.wav: No such file: No such file");
        assert_eq!(one_line(e.chain()), "cannot clone: /x/ref.wav: No such file");
        // causes that the outer messages do not hold are all kept, in order
        let e = anyhow::anyhow!("disk full").context("writing a.wav").context("synthesis");
        assert_eq!(one_line(e.chain()), "synthesis: writing a.wav: disk full");
    }
}
