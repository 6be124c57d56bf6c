//! Start-up cost: `agents-bench ready` (a process that links every plugin, builds the registry
//! and one client per capability, then reports its memory) and `cold-start` (spawns `ready` and
//! the `agents` binary and times them).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agents_core::{Error, ProviderConfig, Result};
use serde::{Deserialize, Serialize};

use crate::procstat;
use crate::stats::Percentiles;

/// What `agents-bench ready` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Ready {
    /// Resident memory with every plugin linked, the registry and an STT, LLM and TTS client
    /// built, before any session, MiB.
    pub(crate) rss_mib: f64,
    /// Peak resident memory so far, MiB.
    pub(crate) peak_rss_mib: f64,
    /// Plugins in the registry.
    pub(crate) plugins: usize,
}

/// `agents-bench ready`.
pub(crate) fn ready() -> Result<Ready> {
    let registry = crate::registry()?;
    let url = "http://127.0.0.1:9";
    let _stt = registry.build_stt(
        &ProviderConfig::new("deepgram")
            .with_api_key("k")
            .with_base_url(url),
    )?;
    let _llm = registry.build_llm(
        &ProviderConfig::new("openai")
            .with_model("gpt-4o-mini")
            .with_api_key("k")
            .with_base_url(url),
    )?;
    let _tts = registry.build_tts(
        &ProviderConfig::new("elevenlabs")
            .with_api_key("k")
            .with_base_url(url),
    )?;
    Ok(Ready {
        rss_mib: procstat::mib(procstat::rss_bytes()),
        peak_rss_mib: procstat::mib(procstat::peak_rss_bytes()),
        plugins: registry.plugins().len(),
    })
}

/// The result of `cold-start`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct ColdStart {
    /// Spawns per measurement.
    pub(crate) runs: usize,
    /// From spawning `agents-bench ready` to its line on stdout (every plugin linked, registry
    /// and clients built; target: under 50 ms).
    pub(crate) ready: Percentiles,
    /// What `ready` reported (the last run).
    pub(crate) ready_report: Option<Ready>,
    /// From spawning `agents plugins --json` to its exit, when the binary is built.
    pub(crate) agents_plugins: Option<Percentiles>,
    /// The `agents` binary measured.
    pub(crate) agents_binary: Option<String>,
}

fn io(e: std::io::Error) -> Error {
    Error::connection(format!("cannot spawn: {e}"))
}

/// `agents-bench cold-start`.
pub(crate) fn cold_start(runs: usize) -> Result<ColdStart> {
    let exe = crate::self_exe()?;
    let mut ready_times = Vec::with_capacity(runs);
    let mut report = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new(&exe)
            .arg("ready")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(io)?;
        ready_times.push(start.elapsed());
        let text = String::from_utf8_lossy(&out.stdout);
        report = serde_json::from_str::<Ready>(text.trim()).ok();
    }
    let agents = agents_binary();
    let agents_plugins = match &agents {
        Some(path) => {
            let mut times: Vec<Duration> = Vec::with_capacity(runs);
            for _ in 0..runs {
                let start = Instant::now();
                let status = Command::new(path)
                    .args(["plugins", "--json"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map_err(io)?;
                times.push(start.elapsed());
                if !status.success() {
                    return Err(Error::protocol(format!(
                        "{} plugins failed",
                        path.display()
                    )));
                }
            }
            Some(Percentiles::of(&mut times))
        }
        None => None,
    };
    Ok(ColdStart {
        runs,
        ready: Percentiles::of(&mut ready_times),
        ready_report: report,
        agents_plugins,
        agents_binary: agents.map(|p| p.display().to_string()),
    })
}

/// `agents` next to this binary (`target/release/agents`), when built.
fn agents_binary() -> Option<PathBuf> {
    let exe = crate::self_exe().ok()?;
    let path = exe.parent()?.join("agents");
    path.exists().then_some(path)
}
