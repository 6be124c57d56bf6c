//! Percentiles and small summaries.

use std::time::Duration;

use serde::Serialize;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub(crate) struct Percentiles {
    /// How many samples.
    pub(crate) count: usize,
    /// Median.
    pub(crate) p50_ms: f64,
    /// 95th percentile.
    pub(crate) p95_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
    /// Largest.
    pub(crate) max_ms: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples`.
    pub(crate) fn of(samples: &mut [Duration]) -> Self {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |p: f64| {
            let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            ms(samples[rank.clamp(1, samples.len()) - 1])
        };
        Percentiles {
            count: samples.len(),
            p50_ms: at(50.0),
            p95_ms: at(95.0),
            p99_ms: at(99.0),
            max_ms: ms(samples[samples.len() - 1]),
        }
    }
}

/// A duration in milliseconds.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!(p.count, 100);
        assert!((p.p50_ms - 50.0).abs() < 1e-9);
        assert!((p.p95_ms - 95.0).abs() < 1e-9);
        assert!((p.p99_ms - 99.0).abs() < 1e-9);
        assert!((p.max_ms - 100.0).abs() < 1e-9);
        assert_eq!(Percentiles::of(&mut []).count, 0);
    }
}

/// A lock-free histogram of durations in 50 µs buckets up to 2 s (larger values land in the
/// last bucket; the exact maximum is kept), so that millions of frame timings cost no memory
/// per sample and do not pollute the per-session memory figure.
#[derive(Debug)]
pub(crate) struct Histogram {
    buckets: Vec<std::sync::atomic::AtomicU64>,
    max_ns: std::sync::atomic::AtomicU64,
}

const BUCKET_NS: u64 = 50_000;
const BUCKETS: usize = 40_000;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
            max_ns: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one value.
    pub(crate) fn record(&self, d: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = usize::try_from(ns / BUCKET_NS)
            .unwrap_or(usize::MAX)
            .min(BUCKETS - 1);
        self.buckets[i].fetch_add(1, Relaxed);
        self.max_ns.fetch_max(ns, Relaxed);
    }

    /// Values recorded.
    pub(crate) fn count(&self) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// Values strictly above `d` (to the bucket's resolution).
    pub(crate) fn above(&self, d: Duration) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        let from = usize::try_from(d.as_nanos() / u128::from(BUCKET_NS))
            .unwrap_or(usize::MAX)
            .min(BUCKETS - 1);
        self.buckets[from + 1..]
            .iter()
            .map(|b| b.load(Relaxed))
            .sum()
    }

    /// Percentiles (bucket upper bounds, so they round up by at most 50 µs).
    pub(crate) fn percentiles(&self) -> Percentiles {
        use std::sync::atomic::Ordering::Relaxed;
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Percentiles::default();
        }
        let at = |p: f64| {
            let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
            let mut seen = 0u64;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return (i as u64 + 1) as f64 * BUCKET_NS as f64 / 1e6;
                }
            }
            BUCKETS as f64 * BUCKET_NS as f64 / 1e6
        };
        Percentiles {
            count: usize::try_from(total).unwrap_or(usize::MAX),
            p50_ms: at(50.0),
            p95_ms: at(95.0),
            p99_ms: at(99.0),
            max_ms: self.max_ns.load(Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod histogram_tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let h = Histogram::default();
        for i in 0..100u64 {
            h.record(Duration::from_micros(i * 100));
        }
        h.record(Duration::from_secs(10));
        assert_eq!(h.count(), 101);
        assert_eq!(h.above(Duration::from_millis(5)), 50);
        let p = h.percentiles();
        assert!((p.p50_ms - 5.0).abs() < 0.11, "{p:?}");
        assert!((p.max_ms - 10_000.0).abs() < 1e-6);
    }
}
