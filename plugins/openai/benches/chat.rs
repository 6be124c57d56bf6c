//! Chat-completions client cost.
//!
//! - `client_decode_1000_tokens`: the client's own CPU per 1000 streamed tokens: SSE parsing and
//!   chunk decoding of a realistic OpenAI body, fed in 1400-byte pieces as TCP would;
//! - `end_to_end_1000_tokens`: a whole request of 1000 tokens against the emulator at zero
//!   delay over a real socket (client and emulator share the process);
//! - `time_to_first_token`: from `chat()` to the first text delta against the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use agents_core::{ChatChunk, ChatContext, ChatMessage, ChatRequest, Llm};
use agents_plugin_openai::OpenAiLlm;
use agents_plugin_openai::chat_completions::ChunkDecoder;
use agents_plugin_openai::sse::SseParser;
use agents_testing::emulators::openai::{ChatReply, OpenAiEmulator};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;

fn body(tokens: usize) -> Vec<u8> {
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
    for i in 0..tokens {
        out.push_str(&chunk(&format!("{{\"content\":\" word{i}\"}}"), "null"));
    }
    out.push_str(&chunk("{}", "\"stop\""));
    out.push_str("data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":1000,\"total_tokens\":1010}}\n\ndata: [DONE]\n\n");
    out.into_bytes()
}

fn decode(c: &mut Criterion) {
    let body = body(1000);
    let mut g = c.benchmark_group("chat");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("client_decode_1000_tokens", |b| {
        b.iter(|| {
            let mut parser = SseParser::new();
            let mut decoder = ChunkDecoder::new("openai");
            let mut out = Vec::with_capacity(8);
            let mut n = 0usize;
            for piece in body.chunks(1400) {
                parser.push(piece);
                while let Some(data) = parser.next_event().unwrap() {
                    decoder.push_data(&data, &mut out).unwrap();
                    n += out.len();
                    out.clear();
                }
            }
            black_box(n)
        });
    });
    g.finish();
}

fn request() -> ChatRequest {
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("count"));
    ChatRequest::new(ctx)
}

fn end_to_end(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(OpenAiEmulator::start()).unwrap();
    emu.set_default_chat(ChatReply::numbered(1000));
    let llm = OpenAiLlm::builder()
        .api_key("sk-bench")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let mut g = c.benchmark_group("chat");
    g.throughput(Throughput::Elements(1000));
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("end_to_end_1000_tokens", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s = llm.chat(request()).await.unwrap();
                let mut n = 0;
                while let Some(c) = s.next().await {
                    if let ChatChunk::TextDelta { .. } = c.unwrap() {
                        n += 1;
                    }
                }
                assert_eq!(n, 1000);
            })
        });
    });
    g.finish();

    emu.set_default_chat(ChatReply::text(["first", " second"]));
    let mut g = c.benchmark_group("chat");
    g.bench_function("time_to_first_token", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let mut s = llm.chat(request()).await.unwrap();
                    let first = s.next().await.unwrap().unwrap();
                    total += start.elapsed();
                    black_box(first);
                    while s.next().await.is_some() {}
                }
                total
            })
        });
    });
    g.finish();
}

criterion_group!(benches, decode, end_to_end);
criterion_main!(benches);
