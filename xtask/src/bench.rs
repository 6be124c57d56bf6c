//! `cargo xtask bench`: the criterion benches and the load harness, written to
//! `target/bench/report.json` and `docs/benchmarks.md`.

use std::path::Path;
use std::process::Command;

/// The arguments `agents-bench` is run with; extra arguments are passed through (for example
/// `--sessions 500` for the large targets).
pub fn command_args(extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--release",
        "--locked",
        "-p",
        "agents-bench",
        "--",
        "all",
        "--json-out",
        "target/bench/report.json",
        "--markdown-out",
        "docs/benchmarks.md",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    args.extend(extra.iter().cloned());
    args
}

/// Runs the benchmarks in `root` with the terminal attached.
pub fn run(root: &Path, extra: &[String]) -> Result<String, String> {
    if !root.join("crates/agents-bench").is_dir() {
        return Err(format!("{} has no crates/agents-bench", root.display()));
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(command_args(extra))
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok("bench: wrote target/bench/report.json and docs/benchmarks.md".into())
    } else {
        Err(format!("agents-bench failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_the_harness_with_the_report_paths() {
        let args = super::command_args(&["--sessions".into(), "500".into()]);
        let joined = args.join(" ");
        assert!(joined.starts_with("run --release --locked -p agents-bench -- all"));
        assert!(joined.contains("--json-out target/bench/report.json"));
        assert!(joined.contains("--markdown-out docs/benchmarks.md"));
        assert!(joined.ends_with("--sessions 500"));
    }

    #[test]
    fn a_workspace_without_the_harness_is_one_clear_error() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = super::run(&dir, &[]).unwrap_err();
        assert!(err.contains("agents-bench"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
