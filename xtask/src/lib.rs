//! Repository automation for the agents workspace, in the `cargo xtask` pattern: plain Rust,
//! no extra tooling, run with `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask new-plugin <name> [--stt] [--llm] [--tts] [--vad] [--realtime] [--video]`:
//!   scaffolds `plugins/<name>` ([`new_plugin`]);
//! - `cargo xtask tidy`: checks the repository rules ([`tidy`]; also a test of this crate);
//! - `cargo xtask ci`: runs `.ci/run` ([`ci`]).
//!
//! The plugin guide, `docs/writing-a-plugin.md`, is the documentation of [`guide`], so that
//! every `rust` block in it is compiled and run as a doc test of this crate.

use std::path::{Path, PathBuf};

pub mod bench;
pub mod ci;
pub mod new_plugin;
pub mod template;
pub mod tidy;

#[doc = include_str!("../../docs/writing-a-plugin.md")]
pub mod guide {}

/// The help text.
pub const HELP: &str = "cargo xtask <command>

commands:
  new-plugin <name> [--stt] [--llm] [--tts] [--vad] [--realtime] [--video] [--all]
                 create plugins/<name>: a working provider for each capability, its
                 emulator and conformance tests, registered in the workspace and the CLI
  tidy           check the repository rules (plugin layout, READMEs, no todo!, doc links)
  ci             run .ci/run, the same steps as CI
  bench [args]   run the criterion benches and the load harness; write
                 target/bench/report.json and docs/benchmarks.md (args go to agents-bench)
  help           this text";

/// The workspace root: `XTASK_ROOT` when set (tests point it at a scratch copy), otherwise
/// the parent of this crate.
#[must_use]
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs one command; `Ok` holds what to print, `Err` the one-line reason it refused or failed.
pub fn run(root: &Path, args: &[String]) -> Result<String, String> {
    match args.first().map(String::as_str) {
        Some("new-plugin") => new_plugin::run(root, &args[1..]),
        Some("tidy") => tidy::run(root),
        Some("ci") => ci::run(root),
        Some("bench") => bench::run(root, &args[1..]),
        None | Some("help" | "--help" | "-h") => Ok(HELP.to_string()),
        Some(other) => Err(format!("unknown command `{other}`; run `cargo xtask help`")),
    }
}
