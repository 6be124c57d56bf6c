//! Time to first audio of the ElevenLabs streaming TTS against the local emulator: from the
//! first `push_text` (a sentence, flushed at its end) to the first audio frame, with the
//! WebSocket already open (`preconnected`) and including the connect (`with_connect`).
//!
//! The emulator answers at once, so the figures are the client's own overhead on loopback:
//! JSON, base64, PCM decoding, the channels between tasks.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use agents_core::{ConnectOptions, SynthesizeOptions, Tts, TtsEvent};
use agents_plugin_elevenlabs::ElevenLabsTts;
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;

const TEXT: &str = "Hello there, this is the first sentence of the reply. ";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let el = rt
        .block_on(ElevenLabsEmulator::start(ElevenLabsConfig::default()))
        .unwrap();
    let tts = ElevenLabsTts::builder()
        .api_key("bench")
        .base_url(el.http_url())
        .connect_options(ConnectOptions::default().with_timeout(Duration::from_secs(5)))
        .build()
        .unwrap();
    let mut group = c.benchmark_group("elevenlabs_ttfa");
    group.sample_size(30);
    group.bench_function("preconnected", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
                    let start = Instant::now();
                    stream.push_text(TEXT).await.unwrap();
                    loop {
                        if let TtsEvent::Audio(_) = stream.next().await.unwrap().unwrap() {
                            break;
                        }
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    });
    group.bench_function("with_connect", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
                    stream.push_text(TEXT).await.unwrap();
                    loop {
                        if let TtsEvent::Audio(_) = stream.next().await.unwrap().unwrap() {
                            break;
                        }
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    });
    group.finish();
    drop(el);
}

criterion_group!(benches, bench);
criterion_main!(benches);
