//! `vocalis`: XTTS v2 speech synthesis, voice cloning and model management.

mod bench;
mod common;
mod convert;
mod doctor;
mod model;
mod serve;
mod synth;
mod voice;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    unexpected internal error
  2    invalid command line
  3    unusable input: text, audio, voice profile, option value
  4    model directory missing, incomplete or corrupt
  5    cannot write the output (disk full, permission, ...)
  130  interrupted (Ctrl-C / SIGTERM); a streamed WAV is left valid up to that point
  141  output pipe closed by the reader";

#[derive(Parser, Debug)]
#[command(
    name = "vocalis",
    version,
    about = "XTTS v2 text-to-speech in Rust: synthesis, voice cloning, streaming, model management",
    long_about = "XTTS v2 text-to-speech in Rust: loads a released XTTS v2 model directory unchanged \
(model.pth, config.json, vocab.json, speakers_xtts.pth), clones voices from reference clips into reusable \
profiles, and synthesizes the same audio as the Python reference, on CPU or CUDA.",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logging: -v shows every loading stage with its duration, -vv debug details
    /// (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bars or summaries on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Worker threads for every stage (default: all cores).
    #[arg(long, global = true, env = "VOCALIS_THREADS", value_name = "N")]
    threads: Option<usize>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Synthesize speech from text with a cloned voice, a saved voice profile or a built-in speaker.
    Synth(synth::SynthArgs),
    /// Manage voice profiles (cloned voices saved for reuse).
    Voice(voice::VoiceArgs),
    /// Download and verify model directories.
    Model(model::ModelArgs),
    /// Convert a model directory to the fast-loading safetensors layout (optionally quantized).
    Convert(convert::ConvertArgs),
    /// Show version, features, devices and whether the default model loads.
    Doctor(doctor::DoctorArgs),
    /// Measure load time, conditioning, GPT ms/token, decoder and end-to-end real-time factor.
    Bench(bench::BenchArgs),
    /// Run the HTTP API server (OpenAI-compatible /v1/audio/speech, voices, health).
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging(cli.verbose, cli.quiet);
    if let Err(e) = common::init_threads(cli.threads) {
        eprintln!("error: {}", vocalis_core::error::one_line(e.chain()));
        return ExitCode::from(3);
    }
    let ui = common::Ui::new(cli.quiet);
    let result = match cli.command {
        Command::Synth(a) => synth::run(a, &ui),
        Command::Voice(a) => voice::run(a, &ui),
        Command::Model(a) => model::run(a, &ui),
        Command::Convert(a) => convert::run(a, &ui),
        Command::Doctor(a) => doctor::run(a, &ui),
        Command::Bench(a) => bench::run(a, &ui),
        Command::Serve(a) => serve::run(a, &ui),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common::report_error(&e),
    }
}
