//! Provider message handling, through each plugin's public API.
//!
//! - `sse/decode_1000_tokens_with_tool_calls`: the OpenAI client's SSE parser and chunk
//!   decoder on a realistic body of 1000 content tokens followed by two tool calls whose
//!   arguments stream in 4-character fragments (as OpenAI sends them), fed in 1400-byte
//!   pieces as TCP delivers them; no socket.
//! - `deepgram/stream_1s_48k`: one second of 48 kHz speech pushed in 20 ms frames into a
//!   `DeepgramStt` stream (48 -> 16 kHz conversion, WebSocket framing, result parsing), input
//!   ended and every event read, against the Deepgram emulator in this process over loopback.
//!   One iteration is one second of audio; the time includes the emulator's share and the
//!   WebSocket handshake.
//! - `elevenlabs/stream_1s_audio`: 100 characters (one second of audio at the emulator's
//!   10 ms per character) pushed into an `ElevenLabsTts` stream and every audio chunk read
//!   (base64 and JSON decoding, PCM framing), against the ElevenLabs emulator in this process.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use agents_core::audio::resample;
use agents_core::{
    AudioFormat, AudioFrame, ChatChunk, Stt, SttStreamOptions, SynthesizeOptions, Tts,
};
use agents_plugin_deepgram::DeepgramStt;
use agents_plugin_elevenlabs::ElevenLabsTts;
use agents_plugin_openai::chat_completions::ChunkDecoder;
use agents_plugin_openai::sse::SseParser;
use agents_testing::emulators::deepgram::{DeepgramConfig, DeepgramEmulator};
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};
use agents_testing::fixtures::Fixture;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;

fn sse_body() -> Vec<u8> {
    let mut out = String::new();
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fc9f1d7035\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":null}}\n\n"
        )
    };
    out.push_str(&chunk(
        "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}",
        "null",
    ));
    for i in 0..1000 {
        out.push_str(&chunk(&format!("{{\"content\":\" word{i}\"}}"), "null"));
    }
    let calls = [
        (
            "call_weather_1",
            "get_weather",
            r#"{"city":"Paris","unit":"celsius"}"#,
        ),
        ("call_time_2", "get_time", r#"{"timezone":"Europe/Paris"}"#),
    ];
    for (i, (id, name, _)) in calls.iter().enumerate() {
        out.push_str(&chunk(
            &format!(
                "{{\"tool_calls\":[{{\"index\":{i},\"id\":\"{id}\",\"type\":\"function\",\"function\":{{\"name\":\"{name}\",\"arguments\":\"\"}}}}]}}"
            ),
            "null",
        ));
        let chars: Vec<char> = calls[i].2.chars().collect();
        for piece in chars.chunks(4) {
            let piece: String = piece.iter().collect();
            let escaped = serde_json::to_string(&piece).unwrap();
            out.push_str(&chunk(
                &format!(
                    "{{\"tool_calls\":[{{\"index\":{i},\"function\":{{\"arguments\":{escaped}}}}}]}}"
                ),
                "null",
            ));
        }
    }
    out.push_str(&chunk("{}", "\"tool_calls\""));
    out.push_str("data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":1030,\"total_tokens\":1040}}\n\ndata: [DONE]\n\n");
    out.into_bytes()
}

fn sse(c: &mut Criterion) {
    let body = sse_body();
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("decode_1000_tokens_with_tool_calls", |b| {
        b.iter(|| {
            let mut parser = SseParser::new();
            let mut decoder = ChunkDecoder::new("openai");
            let mut out = Vec::with_capacity(8);
            let (mut text, mut calls) = (0usize, 0usize);
            let mut done = false;
            for piece in body.chunks(1400) {
                parser.push(piece);
                while let Some(data) = parser.next_event().unwrap() {
                    done |= decoder.push_data(&data, &mut out).unwrap();
                    for c in out.drain(..) {
                        match c {
                            ChatChunk::TextDelta { .. } => text += 1,
                            ChatChunk::ToolCall { .. } => calls += 1,
                            _ => {}
                        }
                    }
                }
            }
            // The client stops at `[DONE]`; the end of the body only matters without it.
            if !done {
                decoder
                    .end_of_body(parser.has_partial_event(), &mut out)
                    .unwrap();
            }
            for c in out.drain(..) {
                if let ChatChunk::ToolCall { .. } = c {
                    calls += 1;
                }
            }
            assert_eq!((text, calls), (1000, 2));
            black_box(text)
        });
    });
    g.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn deepgram(c: &mut Criterion) {
    let rt = runtime();
    let emu = rt
        .block_on(DeepgramEmulator::start(DeepgramConfig::default()))
        .unwrap();
    let stt = DeepgramStt::builder()
        .api_key("bench-key")
        .base_url(emu.http_url())
        .build()
        .unwrap();
    let speech = resample(&Fixture::Weather16k.load().unwrap(), AudioFormat::MONO_48K).unwrap();
    let second: Vec<AudioFrame> = speech.samples()[..48_000]
        .chunks(960)
        .map(|s| AudioFrame::new(s.to_vec(), AudioFormat::MONO_48K).unwrap())
        .collect();
    let mut g = c.benchmark_group("deepgram");
    g.throughput(Throughput::Elements(1));
    g.bench_function("stream_1s_48k", |b| {
        b.iter(|| {
            rt.block_on(async {
                let stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
                let (mut input, mut events) = stream.split();
                let reader = tokio::spawn(async move {
                    let mut n = 0usize;
                    while let Some(ev) = events.next().await {
                        ev.unwrap();
                        n += 1;
                    }
                    n
                });
                for f in &second {
                    input.push_frame(f.clone()).await.unwrap();
                }
                input.end_input().await.unwrap();
                black_box(reader.await.unwrap())
            })
        });
    });
    g.finish();
}

fn elevenlabs(c: &mut Criterion) {
    let rt = runtime();
    let emu = rt
        .block_on(ElevenLabsEmulator::start(ElevenLabsConfig::default()))
        .unwrap();
    let tts = ElevenLabsTts::builder()
        .api_key("bench-key")
        .base_url(emu.http_url())
        .build()
        .unwrap();
    // 100 characters: one second of audio at the emulator's 10 ms per character.
    let text: String = "The weather in Paris is sunny with a light breeze and twenty one degrees. "
        .repeat(2)
        .chars()
        .take(100)
        .collect();
    let text = text.as_str();
    let options = SynthesizeOptions::default().with_output_format(AudioFormat::MONO_24K);
    let mut g = c.benchmark_group("elevenlabs");
    g.throughput(Throughput::Elements(1));
    g.bench_function("stream_1s_audio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let stream = tts.stream(&options).await.unwrap();
                let (mut input, mut audio) = stream.split();
                input.push_text(text).await.unwrap();
                input.end_input().await.unwrap();
                let mut samples = 0usize;
                while let Some(ev) = audio.next().await {
                    if let agents_core::TtsEvent::Audio(frame) = ev.unwrap() {
                        samples += frame.samples().len();
                    }
                }
                assert!(samples >= 20_000, "{samples} samples");
                black_box(samples)
            })
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = sse, deepgram, elevenlabs
}
criterion_main!(benches);
