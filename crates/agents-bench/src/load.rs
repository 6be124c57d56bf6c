//! `agents-bench load`: N concurrent full `AgentSession`s in one process.
//!
//! Every session runs the earshot VAD, the real Deepgram (STT), OpenAI (LLM) and ElevenLabs
//! (TTS) plugins against their emulators in a separate process at zero delay, the turn
//! detection and a real-time playout. Each is fed the weather recording in a loop, in 20 ms
//! frames of 48 kHz audio paced to wall-clock time, for a fixed duration; the first frames of
//! the sessions are spread over one cycle so their turns do not all fall at once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agents_core::{AudioFormat, AudioFrame, Llm, ProviderConfig, Result, Stt, Tts};
use agents_runtime::transport::{AudioInput, AudioOutput};
use agents_runtime::{AgentSession, SessionOptions, SessionReport};
use async_trait::async_trait;
use serde::Serialize;
use tokio::time::Instant;

use crate::clip::{Clip, FRAME};
use crate::emulators::EmulatorProcess;
use crate::procstat::{self, CpuClock};
use crate::stats::{Histogram, Percentiles};

/// Shared counters of every session.
#[derive(Debug, Default)]
struct Shared {
    /// Lateness of input frames against their schedule.
    input: Histogram,
    /// Gaps in the playout inside a reply (an output underrun).
    output_gaps: Histogram,
    output_frames: AtomicU64,
}

/// A paced, looping microphone that records how late each frame is taken.
struct PacedInput {
    clip: Clip,
    start: Instant,
    lead: usize,
    frames: usize,
    next: usize,
    shared: Arc<Shared>,
}

#[async_trait]
impl AudioInput for PacedInput {
    fn format(&self) -> AudioFormat {
        AudioFormat::MONO_48K
    }

    async fn recv(&mut self) -> Option<Result<AudioFrame>> {
        if self.next >= self.frames {
            return None;
        }
        let k = self.next;
        let at = self.start + FRAME * u32::try_from(k).unwrap_or(u32::MAX);
        // The session may drop this future (a `select!`): the frame is only taken once the
        // sleep is over, so nothing is lost.
        tokio::time::sleep_until(at).await;
        self.next += 1;
        self.shared
            .input
            .record(Instant::now().saturating_duration_since(at));
        if k < self.lead {
            return Some(AudioFrame::silence(AudioFormat::MONO_48K, FRAME));
        }
        Some(self.clip.frame(k - self.lead))
    }
}

/// A real-time playout that keeps no audio, only counts it, and records underruns: a frame
/// written after the previous one finished playing (while a reply is going on, i.e. within
/// 500 ms of it) is a gap the listener hears.
struct PlayoutOutput {
    max_ahead: Duration,
    played: Duration,
    queue: VecDeque<(Duration, Instant)>,
    scheduled_end: Option<Instant>,
    shared: Arc<Shared>,
}

impl PlayoutOutput {
    fn commit(&mut self, now: Instant) {
        while let Some((d, end)) = self.queue.front() {
            if *end > now {
                break;
            }
            self.played += *d;
            self.queue.pop_front();
        }
    }
}

const OUTPUT_FORMAT: AudioFormat = AudioFormat::MONO_48K;

#[async_trait]
impl AudioOutput for PlayoutOutput {
    fn format(&self) -> AudioFormat {
        OUTPUT_FORMAT
    }

    async fn write(&mut self, frame: AudioFrame) -> Result<()> {
        let now = Instant::now();
        self.commit(now);
        self.shared.output_frames.fetch_add(1, Ordering::Relaxed);
        let start = match self.scheduled_end {
            Some(end) if end > now => end,
            Some(end) => {
                let gap = now - end;
                if gap < Duration::from_millis(500) {
                    self.shared.output_gaps.record(gap);
                }
                now
            }
            None => now,
        };
        let end = start + frame.duration();
        self.queue.push_back((frame.duration(), end));
        self.scheduled_end = Some(end);
        if end.saturating_duration_since(now) > self.max_ahead {
            tokio::time::sleep_until(end - self.max_ahead).await;
            self.commit(Instant::now());
        }
        Ok(())
    }

    async fn clear(&mut self) -> Result<Duration> {
        let now = Instant::now();
        self.commit(now);
        let mut dropped = Duration::ZERO;
        if let Some((d, end)) = self.queue.pop_front() {
            let start = end.checked_sub(d).unwrap_or(end);
            let heard = now.saturating_duration_since(start).min(d);
            self.played += heard;
            dropped += d.saturating_sub(heard);
        }
        for (d, _) in self.queue.drain(..) {
            dropped += d;
        }
        self.scheduled_end = None;
        Ok(dropped)
    }

    async fn drain(&mut self) -> Result<()> {
        if let Some(end) = self.scheduled_end {
            tokio::time::sleep_until(end).await;
        }
        self.commit(Instant::now());
        Ok(())
    }

    fn played(&mut self) -> Duration {
        self.commit(Instant::now());
        self.played
    }
}

/// The result of one load run.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct LoadResult {
    /// Concurrent sessions.
    pub(crate) sessions: usize,
    /// Seconds of user audio per session.
    pub(crate) duration_s: f64,
    /// Client CPU seconds over the span of the input.
    pub(crate) cpu_s: f64,
    /// Client CPU seconds per session-second (1.0 would be one core per session).
    pub(crate) cpu_per_session_s: f64,
    /// Resident memory with the providers built and no session, MiB.
    pub(crate) rss_baseline_mib: f64,
    /// Resident memory near the end of the input span, MiB.
    pub(crate) rss_loaded_mib: f64,
    /// (loaded - baseline) / sessions, KiB (target: at most 1024).
    pub(crate) rss_per_session_kib: f64,
    /// Input frames taken by the sessions.
    pub(crate) input_frames: u64,
    /// Input frames taken more than 5 ms after their schedule (target: none).
    pub(crate) input_late_5ms: u64,
    /// Input frames more than 20 ms late.
    pub(crate) input_late_20ms: u64,
    /// Lateness of input frames.
    pub(crate) input_lateness: Percentiles,
    /// Output frames written.
    pub(crate) output_frames: u64,
    /// Playout gaps inside replies longer than 5 ms (underruns).
    pub(crate) output_gaps_5ms: u64,
    /// Playout gaps inside replies.
    pub(crate) output_gaps: Percentiles,
    /// Agent turns completed.
    pub(crate) turns: usize,
    /// Turns expected from the input (one per full cycle of the recording).
    pub(crate) turns_expected: usize,
    /// Voice-to-voice latency (end of the user's speech to the agent's first sound).
    pub(crate) voice_to_voice: Percentiles,
    /// The framework's own share: voice-to-voice minus the endpointing delay, the time to the
    /// LLM's first sentence and the TTS's time to first audio (target: p99 under 5 ms).
    pub(crate) framework_overhead: Percentiles,
    /// End-of-utterance delay (the endpointing wait, by design).
    pub(crate) end_of_utterance: Percentiles,
    /// LLM request to first text (emulator at zero delay: the loopback HTTP round trip).
    pub(crate) llm_first_text: Percentiles,
    /// Reply start to the first sentence handed to the TTS (the LLM request, its first
    /// sentence's tokens and the TTS connection, opened at the same time).
    #[serde(default)]
    pub(crate) llm_first_sentence: Percentiles,
    /// TTS first text to first audio (emulator at zero delay).
    pub(crate) tts_ttfb: Percentiles,
    /// The five turns with the largest framework overhead, with all their metrics (what the
    /// tail is made of).
    #[serde(default)]
    pub(crate) slowest_turns: Vec<serde_json::Value>,
    /// Session errors (recovered or not).
    pub(crate) errors: usize,
    /// The first few error texts.
    pub(crate) error_samples: Vec<String>,
    /// Emulator process CPU seconds over the span (for scale; not in the client figure).
    pub(crate) emulator_cpu_s: f64,
    /// Emulator process resident memory at the end, MiB (not in the client figure).
    pub(crate) emulator_rss_mib: f64,
    /// Seconds per cycle of the input (300 ms silence, the question, silence).
    pub(crate) cycle_s: f64,
}

/// Runs `sessions` sessions for `duration`.
pub(crate) async fn run(sessions: usize, duration: Duration) -> Result<LoadResult> {
    let emu = EmulatorProcess::spawn().await?;
    let registry = crate::registry()?;
    let llm: Arc<dyn Llm> = registry.build_llm(
        &ProviderConfig::new("openai")
            .with_model("gpt-4o-mini")
            .with_api_key("bench-key")
            .with_base_url(emu.urls.openai_session.clone()),
    )?;
    let stt: Arc<dyn Stt> = registry.build_stt(
        &ProviderConfig::new("deepgram")
            .with_model("nova-3")
            .with_api_key("bench-key")
            .with_base_url(emu.urls.deepgram.clone()),
    )?;
    let tts: Arc<dyn Tts> = registry.build_tts(
        &ProviderConfig::new("elevenlabs")
            .with_api_key("bench-key")
            .with_base_url(emu.urls.elevenlabs.clone()),
    )?;
    let clip = Clip::new(Duration::from_secs(6))?;
    let shared = Arc::new(Shared::default());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_baseline = procstat::rss_bytes();

    let frames = (duration.as_millis() / FRAME.as_millis()) as usize;
    let cycle_frames = clip.frames();
    let start = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::with_capacity(sessions);
    let mut turns_expected = 0usize;
    for i in 0..sessions {
        let lead = cycle_frames * i / sessions.max(1);
        // A turn per cycle whose question ends at least a second before the input does.
        let mut c = lead + clip.speech_end_frames() + 50;
        while c <= frames {
            turns_expected += 1;
            c += cycle_frames;
        }
        let input = PacedInput {
            clip: clip.clone(),
            // Spread the frame clocks over one frame period too.
            start: start + FRAME.mul_f64(i as f64 / sessions as f64),
            lead,
            frames,
            next: 0,
            shared: shared.clone(),
        };
        let output = PlayoutOutput {
            max_ahead: Duration::from_millis(100),
            played: Duration::ZERO,
            queue: VecDeque::new(),
            scheduled_end: None,
            shared: shared.clone(),
        };
        let session = AgentSession::builder()
            .instructions("You are a friendly voice assistant. Answer in one short sentence.")
            .stt(stt.clone())
            .llm(llm.clone())
            .tts(tts.clone())
            .options(SessionOptions::default())
            .build()?;
        tasks.push(tokio::spawn(async move {
            session.run(Box::new(input), Box::new(output)).await
        }));
    }
    tokio::time::sleep_until(start).await;
    let cpu = CpuClock::start();
    let emu_cpu = procstat::cpu_time_of(emu.pid());
    // Memory near the end of the input, when every session holds its whole history.
    tokio::time::sleep_until(start + duration.mul_f64(0.95)).await;
    let rss_loaded = procstat::rss_bytes();
    tokio::time::sleep_until(start + duration).await;
    let cpu_used = cpu.elapsed();
    let emu_cpu_used = procstat::cpu_time_of(emu.pid()).saturating_sub(emu_cpu);
    let emu_rss = procstat::rss_of(emu.pid());

    let mut reports: Vec<SessionReport> = Vec::with_capacity(sessions);
    let mut error_samples = Vec::new();
    let mut failed = 0usize;
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(30), t).await {
            Ok(Ok(Ok(r))) => reports.push(r),
            Ok(Ok(Err(e))) => {
                failed += 1;
                error_samples.push(e.to_string());
            }
            _ => {
                failed += 1;
                error_samples.push("session did not finish".into());
            }
        }
    }
    let mut v2v = Vec::new();
    let mut overhead = Vec::new();
    let mut eou = Vec::new();
    let mut llm_first = Vec::new();
    let mut llm_sentence = Vec::new();
    let mut ttfb = Vec::new();
    let mut turns = 0usize;
    let mut slowest: Vec<(Duration, &agents_runtime::TurnMetrics)> = Vec::new();
    let mut errors = failed;
    for r in &reports {
        errors += r.errors.len();
        for e in &r.errors {
            if error_samples.len() < 5 {
                error_samples.push(e.clone());
            }
        }
        for t in &r.turns {
            let m = &t.metrics;
            if t.agent_text.is_empty() {
                continue;
            }
            turns += 1;
            if let Some(v) = m.voice_to_voice {
                v2v.push(v);
                // The providers' share: the LLM's time to its first full sentence (the
                // tokenizer hands the TTS whole sentences) and the TTS's time to first audio.
                let llm = m.llm_first_sentence.or(m.llm_first_text);
                if let (Some(e), Some(l)) = (m.end_of_utterance_delay, llm) {
                    let waited = e + l + m.tts_ttfb.unwrap_or_default();
                    overhead.push(v.saturating_sub(waited));
                    slowest.push((v.saturating_sub(waited), m));
                }
            }
            eou.extend(m.end_of_utterance_delay);
            llm_first.extend(m.llm_first_text);
            llm_sentence.extend(m.llm_first_sentence);
            ttfb.extend(m.tts_ttfb);
        }
    }
    error_samples.truncate(5);
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    let slowest_turns = slowest
        .iter()
        .take(5)
        .map(|(o, m)| {
            let mut v = serde_json::to_value(m).unwrap_or_default();
            v["framework_overhead"] = serde_json::json!(o.as_secs_f64() * 1000.0);
            v
        })
        .collect();
    Ok(LoadResult {
        sessions,
        duration_s: duration.as_secs_f64(),
        cpu_s: cpu_used.as_secs_f64(),
        cpu_per_session_s: cpu_used.as_secs_f64()
            / (sessions as f64 * duration.as_secs_f64()).max(1e-9),
        rss_baseline_mib: procstat::mib(rss_baseline),
        rss_loaded_mib: procstat::mib(rss_loaded),
        rss_per_session_kib: rss_loaded.saturating_sub(rss_baseline) as f64
            / 1024.0
            / sessions.max(1) as f64,
        input_frames: shared.input.count(),
        input_late_5ms: shared.input.above(Duration::from_millis(5)),
        input_late_20ms: shared.input.above(Duration::from_millis(20)),
        input_lateness: shared.input.percentiles(),
        output_frames: shared.output_frames.load(Ordering::Relaxed),
        output_gaps_5ms: shared.output_gaps.above(Duration::from_millis(5)),
        output_gaps: shared.output_gaps.percentiles(),
        turns,
        turns_expected,
        voice_to_voice: Percentiles::of(&mut v2v),
        framework_overhead: Percentiles::of(&mut overhead),
        end_of_utterance: Percentiles::of(&mut eou),
        llm_first_text: Percentiles::of(&mut llm_first),
        llm_first_sentence: Percentiles::of(&mut llm_sentence),
        tts_ttfb: Percentiles::of(&mut ttfb),
        slowest_turns,
        errors,
        error_samples,
        emulator_cpu_s: emu_cpu_used.as_secs_f64(),
        emulator_rss_mib: procstat::mib(emu_rss),
        cycle_s: clip.cycle().as_secs_f64(),
    })
}
