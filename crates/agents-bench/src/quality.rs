//! `agents-bench resampler-quality`: alias rejection of the 48 -> 16 kHz resampler, measured
//! through its public s16 API in 10 ms frames, as the STT path uses it.
//!
//! A half-scale tone at each frequency from 8.5 to 23.5 kHz (above the 8 kHz output Nyquist)
//! is resampled; the level of its alias (where it would fold to in 0-8 kHz) is measured with a
//! Hann-windowed single-bin DFT over the middle of the output. Rejection is the input level
//! over the alias level, in dB; the figure is the worst over the sweep.

use agents_core::audio::Resampler;
use agents_core::{AudioFormat, Result};
use serde::Serialize;

/// The result.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct QualityResult {
    /// Tones measured.
    pub(crate) tones: usize,
    /// Worst rejection over the sweep, dB (target: at least 70).
    pub(crate) worst_rejection_db: f64,
    /// The input frequency of the worst case, Hz.
    pub(crate) worst_input_hz: f64,
    /// Its alias frequency, Hz.
    pub(crate) worst_alias_hz: f64,
    /// Median rejection over the sweep, dB.
    pub(crate) median_rejection_db: f64,
    /// Level of a 1 kHz tone after resampling relative to before (passband check), dB.
    pub(crate) passband_1khz_db: f64,
}

fn tone(freq: f64, amp: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|k| {
            let t = k as f64 / 48_000.0;
            (amp * 32767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
        })
        .collect()
}

fn level(samples: &[i16], rate: f64, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let n = samples.len() as f64;
    let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
    for (k, &s) in samples.iter().enumerate() {
        let win = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / n).cos();
        let x = f64::from(s) / 32767.0 * win;
        re += x * (w * k as f64).cos();
        im -= x * (w * k as f64).sin();
        wsum += win;
    }
    2.0 * (re * re + im * im).sqrt() / wsum
}

fn through(input: &[i16]) -> Result<Vec<i16>> {
    let mut rs = Resampler::new(AudioFormat::MONO_48K, AudioFormat::MONO_16K)?;
    let mut out = Vec::with_capacity(input.len() / 3 + 160);
    for frame in input.chunks(480) {
        rs.process_into(frame, &mut out)?;
    }
    rs.flush_into(&mut out)?;
    Ok(out)
}

/// Runs the sweep.
pub(crate) fn run() -> Result<QualityResult> {
    let amp = 0.5;
    let mut results: Vec<(f64, f64, f64)> = Vec::new();
    let mut f = 8_500.0;
    while f <= 23_500.0 {
        let alias = {
            let folded = f % 16_000.0;
            if folded > 8_000.0 {
                16_000.0 - folded
            } else {
                folded
            }
        };
        if alias >= 100.0 {
            let out = through(&tone(f, amp, 48_000))?;
            let mid = &out[1_600..out.len() - 1_600];
            let lvl = level(mid, 16_000.0, alias).max(1e-12);
            results.push((f, alias, 20.0 * (amp / lvl).log10()));
        }
        f += 250.0;
    }
    let out = through(&tone(1_000.0, amp, 48_000))?;
    let pass = level(&out[1_600..out.len() - 1_600], 16_000.0, 1_000.0);
    let mut sorted: Vec<f64> = results.iter().map(|r| r.2).collect();
    sorted.sort_by(f64::total_cmp);
    let worst = results
        .iter()
        .copied()
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap_or((0.0, 0.0, 0.0));
    Ok(QualityResult {
        tones: results.len(),
        worst_rejection_db: worst.2,
        worst_input_hz: worst.0,
        worst_alias_hz: worst.1,
        median_rejection_db: sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
        passband_1khz_db: 20.0 * (pass / amp).log10(),
    })
}

/// What `resample-loop` prints.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct LoopResult {
    /// Seconds of 48 kHz audio resampled.
    pub(crate) seconds: usize,
    /// CPU microseconds per second of audio.
    pub(crate) cpu_us_per_audio_s: f64,
    /// Real-time factor on one core (audio seconds per CPU second).
    pub(crate) real_time_factor: f64,
}

/// Resamples `seconds` of a tone, 48 -> 16 kHz, in 10 ms frames.
pub(crate) fn resample_loop(seconds: usize) -> Result<LoopResult> {
    let second = tone(440.0, 0.5, 48_000);
    let mut rs = Resampler::new(AudioFormat::MONO_48K, AudioFormat::MONO_16K)?;
    let mut out = Vec::with_capacity(16_000);
    let clock = crate::procstat::CpuClock::start();
    for _ in 0..seconds {
        out.clear();
        for frame in second.chunks(480) {
            rs.process_into(std::hint::black_box(frame), &mut out)?;
        }
        std::hint::black_box(&out);
    }
    let cpu = clock.elapsed().as_secs_f64();
    Ok(LoopResult {
        seconds,
        cpu_us_per_audio_s: cpu * 1e6 / seconds.max(1) as f64,
        real_time_factor: seconds as f64 / cpu.max(1e-9),
    })
}
