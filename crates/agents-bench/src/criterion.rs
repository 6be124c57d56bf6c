//! Runs the criterion benches through `cargo bench` (short warm-up and measurement) and reads
//! their estimates from `target/criterion/**/new/{benchmark,estimates}.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use agents_core::{Error, Result};
use serde::Serialize;
use serde_json::Value;

/// The benches run: (package, bench target).
pub(crate) const BENCHES: [(&str, &str); 3] = [
    ("agents-core", "audio"),
    ("agents-plugin-openai", "chat"),
    ("agents-bench", "providers"),
];

/// One criterion benchmark's estimate.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct BenchEstimate {
    /// `group/function`.
    pub(crate) id: String,
    /// Mean time per iteration, ns.
    pub(crate) mean_ns: f64,
    /// Median time per iteration, ns.
    pub(crate) median_ns: f64,
    /// Standard deviation, ns.
    pub(crate) std_dev_ns: f64,
}

/// The workspace root (two levels above this crate).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Runs every bench; returns the estimates written by this run.
pub(crate) fn run(warm_up_s: f64, measurement_s: f64) -> Result<Vec<BenchEstimate>> {
    let started = SystemTime::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut failed = Vec::new();
    for (package, bench) in BENCHES {
        eprintln!("agents-bench: cargo bench -p {package} --bench {bench}");
        let status = Command::new(&cargo)
            .current_dir(workspace_root())
            .args(["bench", "-p", package, "--bench", bench, "--"])
            .args(["--warm-up-time", &format!("{warm_up_s}")])
            .args(["--measurement-time", &format!("{measurement_s}")])
            .status()
            .map_err(|e| Error::connection(format!("cannot run cargo bench: {e}")))?;
        if !status.success() {
            failed.push(format!("cargo bench -p {package} --bench {bench} failed"));
        }
    }
    let out = collect_since(started);
    if out.is_empty() && !failed.is_empty() {
        return Err(Error::protocol(failed.join("; ")));
    }
    for f in failed {
        eprintln!("agents-bench: {f}");
    }
    Ok(out)
}

/// Every estimate written since `since`.
pub(crate) fn collect_since(since: SystemTime) -> Vec<BenchEstimate> {
    let mut out = Vec::new();
    collect(&target_dir().join("criterion"), since, &mut out);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn collect(dir: &Path, since: SystemTime, out: &mut Vec<BenchEstimate>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let estimates = path.join("estimates.json");
            let fresh = std::fs::metadata(&estimates)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since);
            if !fresh {
                continue;
            }
            let (Some(b), Some(e)) = (
                read_json(&path.join("benchmark.json")),
                read_json(&estimates),
            ) else {
                continue;
            };
            let get = |k: &str| e[k]["point_estimate"].as_f64().unwrap_or(f64::NAN);
            out.push(BenchEstimate {
                id: b["full_id"].as_str().unwrap_or("?").to_string(),
                mean_ns: get("mean"),
                median_ns: get("median"),
                std_dev_ns: get("std_dev"),
            });
        } else {
            collect(&path, since, out);
        }
    }
}
