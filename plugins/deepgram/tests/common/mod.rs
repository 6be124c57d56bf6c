//! Helpers shared by the Deepgram tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{AudioFormat, AudioFrame, ConnectOptions, Result, SpeechEvent, SpeechEventKind};
use agents_plugin_deepgram::{DeepgramStt, DeepgramSttBuilder};
use agents_testing::emulators::deepgram::DeepgramEmulator;
use futures::StreamExt;

pub const KEY: &str = "test-key";

/// Fast retries for tests.
pub fn fast_connect() -> ConnectOptions {
    ConnectOptions::default()
        .with_retry_interval(Duration::from_millis(10))
        .with_max_interval(Duration::from_millis(50))
        .with_max_retries(3)
        .with_timeout(Duration::from_secs(2))
}

/// A client of `dg` that sends every pushed frame as its own message, so that the tests
/// control exactly what reaches the emulator and when (batching has its own tests).
pub fn builder(dg: &DeepgramEmulator) -> DeepgramSttBuilder {
    DeepgramStt::builder()
        .audio_chunk(Duration::ZERO)
        .api_key(KEY)
        .base_url(dg.http_url())
        .connect_options(fast_connect())
        .drain_timeout(Duration::from_secs(3))
}

/// `ms` of non-repeating 16 kHz mono audio starting at sample `offset`.
pub fn audio(format: AudioFormat, ms: u64, offset: usize) -> AudioFrame {
    let n = format.samples_for(Duration::from_millis(ms));
    let samples = (0..n)
        .map(|i| {
            let x = (i + offset) as u64;
            (x.wrapping_mul(2_654_435_761) >> 7) as i16
        })
        .collect();
    AudioFrame::new(samples, format).unwrap()
}

/// Pushes `total_ms` of audio in `chunk_ms` frames; returns the bytes accepted. Stops early
/// when the stream has ended.
pub async fn push_audio(
    stream: &mut agents_core::SttStream,
    format: AudioFormat,
    total_ms: u64,
    chunk_ms: u64,
    pause: Duration,
) -> Vec<u8> {
    let mut pushed = Vec::new();
    let mut offset = 0;
    let mut t = 0;
    while t < total_ms {
        let frame = audio(format, chunk_ms, offset);
        offset += frame.samples().len();
        let bytes = frame.to_le_bytes();
        match stream.push_frame(frame).await {
            Ok(()) => pushed.extend(bytes),
            // The stream ended (a test of a fatal error): stop pushing.
            Err(e) if e.is_closed() => break,
            Err(e) => panic!("push failed: {e}"),
        }
        t += chunk_ms;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    pushed
}

/// Reads every item until the end (or 10 s).
pub async fn collect(stream: &mut agents_core::SttStream) -> Vec<Result<SpeechEvent>> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(item)) => out.push(item),
            Ok(None) => return out,
            Err(_) => panic!("stream did not end; got {out:?}"),
        }
    }
}

/// Reads events until one of `kind` arrives (or 5 s).
pub async fn until(stream: &mut agents_core::SttStream, kind: SpeechEventKind) -> Vec<SpeechEvent> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(ev))) => {
                let done = ev.kind == kind;
                out.push(ev);
                if done {
                    return out;
                }
            }
            other => panic!("no {kind:?}: {other:?} after {out:?}"),
        }
    }
}

/// Waits until `f` holds (or 5 s).
pub async fn eventually(mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition never held"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn kinds(events: &[SpeechEvent]) -> Vec<SpeechEventKind> {
    events.iter().map(|e| e.kind).collect()
}

/// Checks the per-utterance order and that times never go backwards.
pub fn check_contract(events: &[SpeechEvent]) {
    let mut last_start = Duration::ZERO;
    let mut finals_in_utterance = false;
    for ev in events {
        match ev.kind {
            SpeechEventKind::Interim => {
                assert!(!finals_in_utterance, "interim after final: {events:?}")
            }
            SpeechEventKind::Final => finals_in_utterance = true,
            SpeechEventKind::EndOfSpeech | SpeechEventKind::StartOfSpeech => {
                finals_in_utterance = false
            }
            _ => {}
        }
        if let Some(a) = ev.alternatives.first() {
            assert!(a.start >= last_start, "start went backwards: {events:?}");
            assert!(a.end >= a.start);
            last_start = a.start;
            for w in &a.words {
                assert!(w.end >= w.start);
            }
        }
    }
}
