//! Process CPU time and memory from `/proc` (no `libc`, no `unsafe`).

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux).
const CLK_TCK: u64 = 100;

/// CPU time (user + system) of every thread of this process, dead ones included, from
/// `/proc/self/stat` (10 ms resolution).
#[must_use]
pub(crate) fn cpu_ticks_time() -> Duration {
    stat_cpu("/proc/self/stat").unwrap_or_default()
}

/// CPU time of `pid` from `/proc/<pid>/stat`.
#[must_use]
pub(crate) fn cpu_time_of(pid: u32) -> Duration {
    stat_cpu(&format!("/proc/{pid}/stat")).unwrap_or_default()
}

fn stat_cpu(path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ... utime is field 14, stime 15 (1-based), i.e. index 11, 12 here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / CLK_TCK))
}

/// CPU time of the live threads of this process in nanoseconds, from
/// `/proc/self/task/*/schedstat` (nanosecond resolution; threads that exited are not counted,
/// so use it over spans where the thread set is stable, like a running tokio runtime).
#[must_use]
pub(crate) fn cpu_ns_time() -> Duration {
    let mut total = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let path = entry.path().join("schedstat");
            if let Ok(text) = std::fs::read_to_string(path)
                && let Some(ns) = text
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
            {
                total += ns;
            }
        }
    }
    Duration::from_nanos(total)
}

/// A CPU clock for one measured span: nanosecond-precise thread sums, cross-checked against the
/// whole-process tick count (which also counts threads that exited during the span).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuClock {
    ns: Duration,
    ticks: Duration,
}

impl CpuClock {
    /// Starts a span.
    #[must_use]
    pub(crate) fn start() -> Self {
        CpuClock {
            ns: cpu_ns_time(),
            ticks: cpu_ticks_time(),
        }
    }

    /// CPU used since [`CpuClock::start`]: the nanosecond sum, unless threads that exited
    /// make the tick count clearly larger (then the tick count).
    #[must_use]
    pub(crate) fn elapsed(&self) -> Duration {
        let ns = cpu_ns_time().saturating_sub(self.ns);
        let ticks = cpu_ticks_time().saturating_sub(self.ticks);
        if ticks > ns + Duration::from_millis(30) {
            ticks
        } else {
            ns
        }
    }
}

/// Resident memory of this process in bytes (`VmRSS`).
#[must_use]
pub(crate) fn rss_bytes() -> u64 {
    status_kb("/proc/self/status", "VmRSS:").unwrap_or(0) * 1024
}

/// Peak resident memory of this process in bytes (`VmHWM`).
#[must_use]
pub(crate) fn peak_rss_bytes() -> u64 {
    status_kb("/proc/self/status", "VmHWM:").unwrap_or(0) * 1024
}

/// Resident memory of `pid` in bytes.
#[must_use]
pub(crate) fn rss_of(pid: u32) -> u64 {
    status_kb(&format!("/proc/{pid}/status"), "VmRSS:").unwrap_or(0) * 1024
}

fn status_kb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Bytes in MiB.
#[must_use]
pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        assert!(rss_bytes() > 0);
        assert!(peak_rss_bytes() >= rss_bytes() / 2);
        let clock = CpuClock::start();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(clock.elapsed() > Duration::ZERO);
        assert!(cpu_time_of(std::process::id()) <= cpu_ticks_time() + Duration::from_millis(20));
        assert!(rss_of(std::process::id()) > 0);
    }
}
