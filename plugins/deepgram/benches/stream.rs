//! Client CPU per second of 48 kHz audio streamed through the Deepgram plugin, resampling to
//! the plugin's 16 kHz input included.
//!
//! The emulator runs on its own runtime thread; the client (the caller pushing 20 ms frames,
//! the core's resampler and the plugin's session task) runs on the bench thread in a
//! current-thread runtime, and the bench thread's on-CPU time is read from
//! `/proc/thread-self/schedstat`. Each iteration streams 10 s of audio as fast as possible,
//! ends the input and drains the results. The reported time is client CPU per 10 s of audio.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use agents_core::{AudioFormat, AudioFrame, ConnectOptions, Stt, SttStreamOptions};
use agents_plugin_deepgram::DeepgramStt;
use agents_testing::emulators::deepgram::{DeepgramConfig, DeepgramEmulator};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;

const AUDIO_SECS: u64 = 10;

/// On-CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn frames() -> Vec<AudioFrame> {
    let f = AudioFormat::MONO_48K;
    let per = f.samples_for(Duration::from_millis(20));
    (0..AUDIO_SECS * 50)
        .map(|k| {
            let samples = (0..per)
                .map(|i| {
                    let t = (k as usize * per + i) as f32 / 48_000.0;
                    ((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16
                })
                .collect();
            AudioFrame::new(samples, f).unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let emu_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dg = emu_rt
        .block_on(DeepgramEmulator::start(DeepgramConfig::default()))
        .unwrap();
    let url = dg.http_url();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stt = DeepgramStt::builder()
        .api_key("bench")
        .base_url(url)
        .connect_options(ConnectOptions::default().with_timeout(Duration::from_secs(5)))
        .build()
        .unwrap();
    let audio = frames();
    let mut group = c.benchmark_group("deepgram_stream");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("client_cpu_per_10s_of_48k_audio", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let frames = audio.clone();
                let before = thread_cpu();
                client_rt.block_on(async {
                    let stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
                    // Push and read concurrently, as a pipeline does: the event channel is
                    // bounded, so a caller that only pushes would stall the session.
                    let (mut input, mut events) = stream.split();
                    let push = async move {
                        for f in frames {
                            input.push_frame(f).await.unwrap();
                        }
                        input.end_input().await.unwrap();
                    };
                    let read = async move {
                        let mut finals = 0;
                        while let Some(ev) = events.next().await {
                            if ev.unwrap().kind == agents_core::SpeechEventKind::Final {
                                finals += 1;
                            }
                        }
                        finals
                    };
                    let ((), finals) = tokio::join!(push, read);
                    assert!(finals > 0);
                });
                total += thread_cpu() - before;
            }
            total
        });
    });
    group.finish();
    drop(dg);
}

criterion_group!(benches, bench);
criterion_main!(benches);
