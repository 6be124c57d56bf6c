//! `agents-bench stt-streams`: N concurrent Deepgram streams in real time.
//!
//! Each stream is fed the weather recording (looped) in 20 ms frames of 48 kHz audio, paced to
//! wall-clock time, through the real `agents-plugin-deepgram` client (which receives 16 kHz: the
//! 48 -> 16 kHz resampling in `SttInputSender` is included) over a WebSocket to the Deepgram
//! emulator in a separate process. Measured: client CPU per second of audio, resident memory
//! per stream, and how late each frame was handed to the plugin against its schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agents_core::{ProviderConfig, Result, SpeechEventKind, Stt, SttStreamOptions};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::time::Instant;

use crate::clip::{Clip, FRAME};
use crate::emulators::EmulatorProcess;
use crate::procstat::{self, CpuClock};
use crate::stats::{Histogram, Percentiles};

/// The result of one run.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct SttStreamsResult {
    /// Concurrent streams.
    pub(crate) streams: usize,
    /// Seconds of audio per stream.
    pub(crate) duration_s: f64,
    /// Audio per WebSocket message, ms (0: every 20 ms frame is its own message).
    #[serde(default)]
    pub(crate) audio_chunk_ms: f64,
    /// Seconds to open every stream (WebSocket handshakes, in batches of 50).
    pub(crate) connect_s: f64,
    /// Client CPU seconds over the streaming span.
    pub(crate) cpu_s: f64,
    /// Client CPU milliseconds per second of 48 kHz audio (target: at most 0.5).
    pub(crate) cpu_ms_per_audio_s: f64,
    /// Resident memory before the streams, MiB.
    pub(crate) rss_baseline_mib: f64,
    /// Resident memory at the end of the streaming span, MiB.
    pub(crate) rss_loaded_mib: f64,
    /// (loaded - baseline) / streams, KiB.
    pub(crate) rss_per_stream_kib: f64,
    /// Frames handed to the plugin.
    pub(crate) frames: u64,
    /// Frames handed over more than 5 ms after their schedule (target: none).
    pub(crate) frames_late_5ms: u64,
    /// Frames more than 20 ms late (a live transport would have dropped or queued them).
    pub(crate) frames_late_20ms: u64,
    /// Lateness of the frames against their schedule.
    pub(crate) lateness: Percentiles,
    /// Final transcripts received.
    pub(crate) finals: u64,
    /// Interim transcripts received.
    pub(crate) interims: u64,
    /// Stream errors.
    pub(crate) errors: u64,
    /// Emulator process CPU seconds over the span (for scale; not part of the client figure).
    pub(crate) emulator_cpu_s: f64,
}

#[derive(Debug, Default)]
struct Counters {
    finals: AtomicU64,
    interims: AtomicU64,
    errors: AtomicU64,
}

/// Runs `streams` streams for `duration`, with `audio_chunk` per WebSocket message (the
/// plugin's default when `None`).
pub(crate) async fn run(
    streams: usize,
    duration: Duration,
    audio_chunk: Option<Duration>,
) -> Result<SttStreamsResult> {
    let emu = EmulatorProcess::spawn().await?;
    let registry = crate::registry()?;
    let mut config = ProviderConfig::new("deepgram")
        .with_model("nova-3")
        .with_api_key("bench-key")
        .with_base_url(emu.urls.deepgram.clone());
    if let Some(chunk) = audio_chunk {
        let ms = u64::try_from(chunk.as_millis()).unwrap_or(u64::MAX);
        config = config.with_option("audio_chunk_ms", ms);
    }
    let stt: Arc<dyn Stt> = registry.build_stt(&config)?;
    let clip = Clip::new(Duration::from_secs(4))?;
    let lateness = Arc::new(Histogram::default());
    let counters = Arc::new(Counters::default());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_baseline = procstat::rss_bytes();

    // Open every stream first (in batches), so the span measures streaming alone.
    let connect_start = Instant::now();
    let mut opened = Vec::with_capacity(streams);
    for batch in (0..streams).collect::<Vec<_>>().chunks(50) {
        let futs = batch.iter().map(|_| {
            let stt = stt.clone();
            async move { stt.stream(&SttStreamOptions::default()).await }
        });
        for s in futures_util::future::join_all(futs).await {
            opened.push(s?);
        }
    }
    let connect_s = connect_start.elapsed().as_secs_f64();
    let audio_chunk_ms = opened
        .first()
        .map_or(0.0, |s| s.audio_chunk().as_secs_f64() * 1000.0);

    let frames_per_stream = (duration.as_millis() / FRAME.as_millis()) as usize;
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::with_capacity(streams * 2);
    for (i, stream) in opened.into_iter().enumerate() {
        let (mut input, mut events) = stream.split();
        // Streams are not in lock-step: spread their frame clocks over one frame period, and
        // their place in the recording over the clip.
        let offset = FRAME.mul_f64(i as f64 / streams as f64);
        let phase = i * 37;
        let clip = clip.clone();
        let lateness = lateness.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..frames_per_stream {
                let at = start + offset + FRAME * u32::try_from(k).unwrap_or(u32::MAX);
                tokio::time::sleep_until(at).await;
                let frame = clip.frame(k + phase)?;
                input.push_frame(frame).await?;
                lateness.record(Instant::now().saturating_duration_since(at));
            }
            input.end_input().await
        }));
        let counters = counters.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(ev) = events.next().await {
                match ev {
                    Ok(ev) if ev.kind == SpeechEventKind::Final => {
                        counters.finals.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(ev) if ev.kind == SpeechEventKind::Interim => {
                        counters.interims.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(())
        }));
    }
    tokio::time::sleep_until(start).await;
    let cpu = CpuClock::start();
    let emu_cpu = procstat::cpu_time_of(emu.pid());
    tokio::time::sleep_until(start + duration).await;
    let cpu_used = cpu.elapsed();
    let emu_cpu_used = procstat::cpu_time_of(emu.pid()).saturating_sub(emu_cpu);
    let rss_loaded = procstat::rss_bytes();
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(10), t).await {
            Ok(Ok(Ok(()))) => {}
            _ => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let audio_s = streams as f64 * duration.as_secs_f64();
    Ok(SttStreamsResult {
        streams,
        duration_s: duration.as_secs_f64(),
        audio_chunk_ms,
        connect_s,
        cpu_s: cpu_used.as_secs_f64(),
        cpu_ms_per_audio_s: cpu_used.as_secs_f64() * 1000.0 / audio_s.max(1e-9),
        rss_baseline_mib: procstat::mib(rss_baseline),
        rss_loaded_mib: procstat::mib(rss_loaded),
        rss_per_stream_kib: rss_loaded.saturating_sub(rss_baseline) as f64
            / 1024.0
            / streams.max(1) as f64,
        frames: lateness.count(),
        frames_late_5ms: lateness.above(Duration::from_millis(5)),
        frames_late_20ms: lateness.above(Duration::from_millis(20)),
        lateness: lateness.percentiles(),
        finals: counters.finals.load(Ordering::Relaxed),
        interims: counters.interims.load(Ordering::Relaxed),
        errors: counters.errors.load(Ordering::Relaxed),
        emulator_cpu_s: emu_cpu_used.as_secs_f64(),
    })
}
