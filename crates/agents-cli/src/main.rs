//! The `agents` command.
//!
//! - `agents demo`: a whole voice session through the real plugins against in-process
//!   emulators of the providers, on a bundled speech recording: no keys, no network.
//! - `agents run --config agent.toml --input in.wav --output out.wav`: a session from a config
//!   file; with real keys it talks to the real providers.
//! - `agents plugins`: every linked plugin.
//! - `agents health --config agent.toml`: checks each configured provider.
//!
//! Bad input exits non-zero with one line on stderr, never a panic or a backtrace.

mod config;
mod demo;
mod health;
mod plugins;
mod progress;
mod registry;
mod run;
mod summary;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Real-time voice and vision AI agents.
#[derive(Debug, Parser)]
#[command(name = "agents", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a whole voice agent on a bundled recording against local provider emulators
    /// (OpenAI, Deepgram, ElevenLabs protocols): no keys, no network.
    Demo {
        /// Where to write the agent's reply.
        #[arg(long, default_value = "agents-demo-reply.wav")]
        output: PathBuf,
        /// Prints the session report as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Processes as fast as possible instead of feeding the recording and playing the
        /// reply at wall-clock speed (timings are then not those of a live call).
        #[arg(long)]
        fast: bool,
    },
    /// Runs a voice session from a config file on a WAV file and writes the reply.
    Run {
        /// The agent config (TOML or JSON).
        #[arg(long, short)]
        config: PathBuf,
        /// The user's audio (WAV).
        #[arg(long, short)]
        input: PathBuf,
        /// Where to write the agent's audio (WAV).
        #[arg(long, short)]
        output: PathBuf,
        /// Prints the session report as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Feeds the input and plays the output at wall-clock speed.
        #[arg(long)]
        realtime: bool,
    },
    /// Lists every linked plugin with its version, capabilities and environment variables.
    Plugins {
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Checks each provider in a config file (configuration, reachability, authentication).
    Health {
        /// The agent config (TOML or JSON).
        #[arg(long, short)]
        config: PathBuf,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout and usage errors to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AGENTS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Demo { output, json, fast } => demo::run(&output, json, fast).await,
            Command::Run {
                config,
                input,
                output,
                json,
                realtime,
            } => run::run(&config, &input, &output, json, realtime).await,
            Command::Plugins { json } => plugins::run(json),
            Command::Health { config, json } => health::run(&config, json).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
