//! `agents-bench llm-tokens`: the OpenAI client's cost per streamed token.
//!
//! - burst: every request streams 1000 tokens at once from the emulator (in the child
//!   process); client CPU per token;
//! - paced: 20 concurrent requests each stream 300 tokens 10 ms apart; client CPU per token;
//! - latency: a minimal SSE server in this process writes one token every 10 ms and notes the
//!   instant its `write` of the token's last byte returned; the client, read by a task on the
//!   runtime, notes when the `TextDelta` reaches the application. The difference includes the
//!   loopback socket and both task wake-ups, so it bounds the client's own share from above.

use std::sync::Arc;
use std::time::Duration;

use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, Error, Llm, ProviderConfig, Result,
};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::emulators::{BURST_TOKENS, EmulatorProcess, PACED_TOKENS};
use crate::procstat::CpuClock;
use crate::stats::Percentiles;

/// The result of `llm-tokens`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct LlmResult {
    /// Tokens streamed in the burst measurement.
    pub(crate) burst_tokens: usize,
    /// Client CPU microseconds per token, burst (target: at most 5).
    pub(crate) burst_cpu_us_per_token: f64,
    /// Tokens streamed in the paced measurement.
    pub(crate) paced_tokens: usize,
    /// Client CPU microseconds per token, tokens 10 ms apart (target: at most 20).
    pub(crate) paced_cpu_us_per_token: f64,
    /// From the last byte of a token written to the socket to its delta in the application
    /// (target: p99 at most 0.1 ms).
    pub(crate) socket_to_delta: Percentiles,
}

fn request() -> ChatRequest {
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("count"));
    ChatRequest::new(ctx)
}

fn client(url: &str) -> Result<Arc<dyn Llm>> {
    crate::registry()?.build_llm(
        &ProviderConfig::new("openai")
            .with_model("gpt-4o-mini")
            .with_api_key("bench-key")
            .with_base_url(url),
    )
}

async fn count_tokens(llm: Arc<dyn Llm>) -> Result<usize> {
    let mut s = llm.chat(request()).await?;
    let mut n = 0;
    while let Some(c) = s.next().await {
        if let ChatChunk::TextDelta { .. } = c? {
            n += 1;
        }
    }
    Ok(n)
}

/// Runs the three measurements.
pub(crate) async fn run(burst_requests: usize, paced_streams: usize) -> Result<LlmResult> {
    let emu = EmulatorProcess::spawn().await?;
    let burst = client(&emu.urls.openai_burst)?;
    // Warm the connection pool.
    count_tokens(burst.clone()).await?;
    let cpu = CpuClock::start();
    let mut burst_tokens = 0;
    for _ in 0..burst_requests {
        burst_tokens += count_tokens(burst.clone()).await?;
    }
    let burst_cpu = cpu.elapsed();
    if burst_tokens < burst_requests * BURST_TOKENS {
        return Err(Error::protocol(format!(
            "burst: {burst_tokens} tokens, expected {}",
            burst_requests * BURST_TOKENS
        )));
    }

    let paced = client(&emu.urls.openai_paced)?;
    let warm: Vec<_> = (0..paced_streams)
        .map(|_| tokio::spawn(count_tokens(paced.clone())))
        .collect();
    for w in warm {
        w.await
            .map_err(|e| Error::protocol(format!("paced warm-up: {e}")))??;
    }
    let cpu = CpuClock::start();
    let tasks: Vec<_> = (0..paced_streams)
        .map(|_| tokio::spawn(count_tokens(paced.clone())))
        .collect();
    let mut paced_tokens = 0;
    for t in tasks {
        paced_tokens += t
            .await
            .map_err(|e| Error::protocol(format!("paced stream: {e}")))??;
    }
    let paced_cpu = cpu.elapsed();
    if paced_tokens < paced_streams * PACED_TOKENS {
        return Err(Error::protocol(format!(
            "paced: only {paced_tokens} tokens"
        )));
    }
    drop(emu);

    let socket_to_delta = latency(200).await?;
    Ok(LlmResult {
        burst_tokens,
        burst_cpu_us_per_token: burst_cpu.as_secs_f64() * 1e6 / burst_tokens.max(1) as f64,
        paced_tokens,
        paced_cpu_us_per_token: paced_cpu.as_secs_f64() * 1e6 / paced_tokens.max(1) as f64,
        socket_to_delta,
    })
}

fn io(e: std::io::Error) -> Error {
    Error::connection(format!("latency server: {e}"))
}

const CHUNK_HEAD: &str = "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_fc9f1d7035\",\"choices\":[{\"index\":0,\"delta\":";

fn chunk(delta: &str, finish: &str) -> String {
    format!("{CHUNK_HEAD}{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n")
}

async fn read_request(sock: &mut TcpStream) -> Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await.map_err(io)?;
        if n == 0 {
            return Err(Error::connection("latency server: request cut short"));
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Ok(());
            }
        }
    }
}

/// Serves one streamed completion of `tokens` tokens 10 ms apart; returns when each token's
/// last byte was written.
async fn serve_one(listener: TcpListener, tokens: usize) -> Result<Vec<Instant>> {
    let (mut sock, _) = listener.accept().await.map_err(io)?;
    sock.set_nodelay(true).map_err(io)?;
    read_request(&mut sock).await?;
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    sock.write_all(head.as_bytes()).await.map_err(io)?;
    sock.write_all(chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null").as_bytes())
        .await
        .map_err(io)?;
    let mut sent = Vec::with_capacity(tokens);
    let start = Instant::now() + Duration::from_millis(10);
    for i in 0..tokens {
        tokio::time::sleep_until(start + Duration::from_millis(10) * u32::try_from(i).unwrap_or(0))
            .await;
        let c = chunk(&format!("{{\"content\":\"t{i} \"}}"), "null");
        sock.write_all(c.as_bytes()).await.map_err(io)?;
        sent.push(Instant::now());
    }
    sock.write_all(chunk("{}", "\"stop\"").as_bytes())
        .await
        .map_err(io)?;
    sock.write_all(b"data: [DONE]\n\n").await.map_err(io)?;
    sock.shutdown().await.map_err(io)?;
    Ok(sent)
}

/// Socket-to-application latency of `tokens` tokens 10 ms apart.
async fn latency(tokens: usize) -> Result<Percentiles> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
    let url = format!("http://{}/v1", listener.local_addr().map_err(io)?);
    let server = tokio::spawn(serve_one(listener, tokens));
    let llm = client(&url)?;
    // The application reads in a task on the runtime, as the session's tasks do (reading on
    // the thread blocked in `block_on`, which is not one of the runtime's workers, adds a
    // cross-thread wake-up to every token).
    let consumer = tokio::spawn(async move {
        let mut s = llm.chat(request()).await?;
        let mut received: Vec<(usize, Instant)> = Vec::with_capacity(tokens);
        while let Some(c) = s.next().await {
            if let ChatChunk::TextDelta { text } = c? {
                let at = Instant::now();
                if let Some(i) = text
                    .trim()
                    .strip_prefix('t')
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    received.push((i, at));
                }
            }
        }
        Ok::<_, Error>(received)
    });
    let received = consumer
        .await
        .map_err(|e| Error::protocol(format!("latency consumer: {e}")))??;
    let sent = server
        .await
        .map_err(|e| Error::protocol(format!("latency server: {e}")))??;
    let mut lat: Vec<Duration> = received
        .iter()
        .filter_map(|(i, at)| sent.get(*i).map(|s| at.saturating_duration_since(*s)))
        .collect();
    if lat.len() < tokens {
        return Err(Error::protocol(format!(
            "latency: {} of {tokens} tokens arrived",
            lat.len()
        )));
    }
    Ok(Percentiles::of(&mut lat))
}
