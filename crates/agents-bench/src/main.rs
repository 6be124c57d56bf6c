//! `agents-bench`: the performance measurements of the agents framework.
//!
//! - `all --json-out target/bench/report.json --markdown-out docs/benchmarks.md`: the
//!   criterion benches (through `cargo bench`), every load scenario, and both reports;
//! - `load --sessions N --duration S`: N full voice sessions in real time;
//! - `stt-streams --streams N --duration S`: N Deepgram streams in real time;
//! - `llm-tokens`: client CPU per streamed token and socket-to-application latency;
//! - `resampler-quality`: alias rejection of the 48 -> 16 kHz resampler;
//! - `cold-start`, `ready`: start-up time and memory before a session;
//! - `criterion`: the criterion benches alone;
//! - `serve-emulators`: the provider emulators, for the other commands' child process.
//!
//! Every measured client runs in this process; the emulators run in a child process so that
//! the CPU and memory figures are the client's alone.

mod clip;
mod cold;
mod criterion;
mod emulators;
mod llm;
mod load;
mod procstat;
mod quality;
mod report;
mod stats;
mod stt_streams;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use agents_core::{Registry, Result};
use clap::{Parser, Subcommand};

/// Benchmarks and a load harness for the agents framework.
#[derive(Debug, Parser)]
#[command(name = "agents-bench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the criterion benches and every load scenario; writes the JSON report and the
    /// Markdown table.
    All {
        /// Where to write the JSON report.
        #[arg(long, default_value = "target/bench/report.json")]
        json_out: PathBuf,
        /// Where to write the Markdown table.
        #[arg(long, default_value = "docs/benchmarks.md")]
        markdown_out: PathBuf,
        /// STT stream counts, stepped up until one misses the 5 ms lateness target.
        #[arg(long, value_delimiter = ',', default_value = "100,200,500")]
        stt_streams: Vec<usize>,
        /// Full-session counts, stepped up likewise.
        #[arg(long, value_delimiter = ',', default_value = "50,100,200")]
        sessions: Vec<usize>,
        /// Adds the full targets: 1000 STT streams and 500 sessions.
        #[arg(long)]
        big: bool,
        /// Seconds of audio per stream or session.
        #[arg(long, default_value_t = 15.0)]
        duration: f64,
        /// Skips the criterion benches.
        #[arg(long)]
        skip_criterion: bool,
        /// Criterion warm-up seconds.
        #[arg(long, default_value_t = 1.0)]
        warm_up: f64,
        /// Criterion measurement seconds.
        #[arg(long, default_value_t = 3.0)]
        measurement: f64,
    },
    /// Re-renders the Markdown table from a JSON report written by `all`.
    Markdown {
        /// The JSON report.
        #[arg(long, default_value = "target/bench/report.json")]
        json: PathBuf,
        /// Where to write the Markdown table.
        #[arg(long, default_value = "docs/benchmarks.md")]
        markdown_out: PathBuf,
        /// Collects the criterion estimates written in the last this many minutes again.
        #[arg(long)]
        criterion_since_minutes: Option<u64>,
    },
    /// Runs the criterion benches alone; prints their estimates as JSON.
    Criterion {
        /// Warm-up seconds.
        #[arg(long, default_value_t = 1.0)]
        warm_up: f64,
        /// Measurement seconds.
        #[arg(long, default_value_t = 3.0)]
        measurement: f64,
    },
    /// Starts the provider emulators, prints their URLs as JSON and serves until stdin closes.
    ServeEmulators,
    /// N concurrent full voice sessions in real time; prints JSON.
    Load {
        /// Concurrent sessions.
        #[arg(long, default_value_t = 50)]
        sessions: usize,
        /// Seconds of audio fed to each session.
        #[arg(long, default_value_t = 20.0)]
        duration: f64,
    },
    /// N concurrent real-time Deepgram streams; prints JSON.
    SttStreams {
        /// Concurrent streams.
        #[arg(long, default_value_t = 100)]
        streams: usize,
        /// Seconds of audio fed to each stream.
        #[arg(long, default_value_t = 20.0)]
        duration: f64,
        /// Audio per WebSocket message, ms (the plugin's default when not given; 0 sends
        /// every 20 ms frame as it comes).
        #[arg(long)]
        audio_chunk_ms: Option<u64>,
    },
    /// Client CPU per streamed LLM token (burst and paced) and socket-to-delta latency.
    LlmTokens {
        /// Sequential 1000-token requests for the burst figure.
        #[arg(long, default_value_t = 100)]
        burst_requests: usize,
        /// Concurrent 300-token streams (10 ms apart) for the paced figure.
        #[arg(long, default_value_t = 20)]
        paced_streams: usize,
    },
    /// Alias rejection of the 48 -> 16 kHz resampler.
    ResamplerQuality,
    /// Pushes audio through the 48 -> 16 kHz resampler in 10 ms frames (a loop to profile,
    /// e.g. under `valgrind --tool=callgrind`); prints the CPU time per second of audio.
    ResampleLoop {
        /// Seconds of audio.
        #[arg(long, default_value_t = 100)]
        seconds: usize,
    },
    /// Links every plugin, builds the registry and a client per capability, prints its memory.
    Ready,
    /// Times spawning `agents-bench ready` and `agents plugins`; prints JSON.
    ColdStart {
        /// Spawns per measurement.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

/// Every plugin, as linked into the `agents` binary.
pub(crate) fn registry() -> Result<Registry> {
    Registry::new()
        .with(Arc::new(agents_plugin_mock::MockPlugin))?
        .with(Arc::new(agents_plugin_openai::OpenAiPlugin))?
        .with(Arc::new(agents_plugin_openrouter::OpenRouterPlugin))?
        .with(Arc::new(agents_plugin_deepgram::DeepgramPlugin))?
        .with(Arc::new(agents_plugin_elevenlabs::ElevenLabsPlugin))
}

/// This binary's path. `cargo bench` may rebuild it while `all` runs, which unlinks the file
/// this process was started from: `/proc/self/exe` then ends in " (deleted)", while the path
/// holds the new build, which is what the children should run.
pub(crate) fn self_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| {
        agents_core::Error::connection(format!("cannot find agents-bench itself: {e}"))
    })?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| agents_core::Error::connection(format!("cannot start tokio: {e}")))
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.02))
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::All {
            json_out,
            markdown_out,
            mut stt_streams,
            mut sessions,
            big,
            duration,
            skip_criterion,
            warm_up,
            measurement,
        } => {
            if big {
                stt_streams.push(1000);
                sessions.push(500);
            }
            let r = report::all(&report::AllArgs {
                json_out: json_out.clone(),
                markdown_out: markdown_out.clone(),
                stt_streams,
                sessions,
                duration,
                skip_criterion,
                warm_up,
                measurement,
            })?;
            for t in &r.targets {
                let met = match t.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "-",
                };
                eprintln!("{:<70} {:>14}  {:<40} {met}", t.what, t.target, t.measured);
            }
            eprintln!(
                "agents-bench: wrote {} and {}",
                json_out.display(),
                markdown_out.display()
            );
            Ok(())
        }
        Command::Markdown {
            json,
            markdown_out,
            criterion_since_minutes,
        } => report::rerender(&json, &markdown_out, criterion_since_minutes),
        Command::Criterion {
            warm_up,
            measurement,
        } => print_json(&criterion::run(warm_up, measurement)?),
        Command::ServeEmulators => runtime()?.block_on(emulators::serve()),
        Command::Load { sessions, duration } => {
            let r = runtime()?.block_on(load::run(sessions, secs(duration)))?;
            print_json(&r)
        }
        Command::SttStreams {
            streams,
            duration,
            audio_chunk_ms,
        } => {
            let r = runtime()?.block_on(stt_streams::run(
                streams,
                secs(duration),
                audio_chunk_ms.map(Duration::from_millis),
            ))?;
            print_json(&r)
        }
        Command::LlmTokens {
            burst_requests,
            paced_streams,
        } => {
            let r = runtime()?.block_on(llm::run(burst_requests.max(1), paced_streams.max(1)))?;
            print_json(&r)
        }
        Command::ResamplerQuality => print_json(&quality::run()?),
        Command::ResampleLoop { seconds } => print_json(&quality::resample_loop(seconds)?),
        Command::Ready => {
            let r = cold::ready()?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(())
        }
        Command::ColdStart { runs } => print_json(&cold::cold_start(runs.max(1))?),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agents-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
