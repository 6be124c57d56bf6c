//! A local {{Name}} server for the tests: it speaks the protocol the providers in `src/`
//! implement, on 127.0.0.1, built on the `agents-testing` emulator server.
//!
//! It accepts the key [`KEY`] only (401 otherwise) and, when built with
//! [`Emulator::failing`], answers every request with that status.
#![allow(clippy::expect_used)] // test helpers outside #[test] functions

use std::sync::Arc;

use agents_core::ProviderConfig;
use agents_core::retry::ConnectOptions;
use agents_testing::emulators::{
    EmulatorServer, Handler, HttpConnection, HttpRequest, HttpResponse,
};
use async_trait::async_trait;
use serde_json::json;
// {{#if realtime}}
use agents_testing::emulators::UpgradeDecision;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
// {{/if}}

/// The key the emulator accepts.
pub(crate) const KEY: &str = "test-key";

/// A running emulator; dropping it stops the server.
#[derive(Debug)]
pub(crate) struct Emulator {
    server: EmulatorServer,
}

impl Emulator {
    /// A healthy emulator.
    pub(crate) async fn start() -> Emulator {
        Self::with(Behaviour { fail_status: None }).await
    }

    /// An emulator answering every request with `status`.
    #[allow(dead_code)] // not every capability's tests use it
    pub(crate) async fn failing(status: u16) -> Emulator {
        Self::with(Behaviour {
            fail_status: Some(status),
        })
        .await
    }

    async fn with(behaviour: Behaviour) -> Emulator {
        let server = EmulatorServer::start(Arc::new(behaviour))
            .await
            .expect("the emulator starts");
        Emulator { server }
    }

    /// A config section pointing at this emulator with the accepted key and quick retries.
    pub(crate) fn config(&self) -> ProviderConfig {
        ProviderConfig::new("{{name}}")
            .with_base_url(self.server.http_url())
            .with_api_key(KEY)
            .with_connect_options(
                ConnectOptions::default()
                    .with_max_retries(1)
                    .with_retry_interval(std::time::Duration::from_millis(10)),
            )
    }
}

#[derive(Debug)]
struct Behaviour {
    fail_status: Option<u16>,
}

impl Behaviour {
    /// The error response for this request, if it must fail.
    fn refusal(&self, request: &HttpRequest) -> Option<HttpResponse> {
        if let Some(status) = self.fail_status {
            return Some(HttpResponse::json(
                status,
                &json!({ "error": format!("emulated failure {status}") }),
            ));
        }
        if request.bearer() != Some(KEY) {
            return Some(HttpResponse::json(401, &json!({ "error": "invalid API key" })));
        }
        None
    }
}

#[async_trait]
impl Handler for Behaviour {
    async fn handle_http(&self, request: HttpRequest, conn: &mut HttpConnection) {
        if let Some(response) = self.refusal(&request) {
            let _ = conn.respond(response).await;
            return;
        }
// {{#if !rest}}
        let _ = conn
            .respond(HttpResponse::json(404, &json!({ "error": "no such endpoint" })))
            .await;
// {{/if}}
// {{#if rest}}
        let _ = match (request.method.as_str(), request.path.as_str()) {
// {{#if stt}}
            ("POST", "/v1/stt") => conn.respond(stt(&request)).await,
// {{/if}}
// {{#if llm}}
            ("POST", "/v1/chat") => chat(&request, conn).await,
// {{/if}}
// {{#if video}}
            ("POST", "/v1/vision") => vision(&request, conn).await,
// {{/if}}
// {{#if tts}}
            ("POST", "/v1/tts") => tts(&request, conn).await,
// {{/if}}
            _ => {
                conn.respond(HttpResponse::json(404, &json!({ "error": "no such endpoint" })))
                    .await
            }
        };
// {{/if}}
    }
// {{#if realtime}}

    async fn accept_ws(&self, request: &HttpRequest) -> UpgradeDecision {
        match self.refusal(request) {
            Some(response) => UpgradeDecision::Reject(response),
            None if request.path == "/v1/realtime" => UpgradeDecision::Accept,
            None => UpgradeDecision::Reject(HttpResponse::new(404, "no such endpoint")),
        }
    }

    async fn handle_ws(&self, _request: HttpRequest, ws: WebSocketStream<TcpStream>) {
        realtime(ws).await;
    }
// {{/if}}
}
// {{#if stt}}

/// `/v1/stt`: a transcript when the audio is loud enough, empty for silence.
fn stt(request: &HttpRequest) -> HttpResponse {
    let samples: Vec<i16> = request
        .body
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    if samples.is_empty() {
        return HttpResponse::json(400, &json!({ "error": "empty audio" }));
    }
    let text = if agents_core::audio::rms(&samples) > 0.01 {
        "hello from the {{name}} emulator"
    } else {
        ""
    };
    HttpResponse::json(200, &json!({ "text": text }))
}
// {{/if}}
// {{#if llm|video}}

/// Writes chunks as JSON lines, one HTTP chunk each.
async fn write_chunks(
    conn: &mut HttpConnection,
    chunks: Vec<agents_core::ChatChunk>,
) -> std::io::Result<()> {
    let mut body = conn
        .start_chunked(200, &[("content-type", "application/x-ndjson")])
        .await?;
    for chunk in chunks {
        let mut line = serde_json::to_vec(&chunk).map_err(std::io::Error::other)?;
        line.push(b'\n');
        body.write(&line).await?;
    }
    body.finish().await
}

/// The usage chunk every reply carries.
fn usage() -> agents_core::ChatChunk {
    agents_core::ChatChunk::Usage {
        usage: agents_core::TokenUsage {
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_tokens: 0,
            total_tokens: 15,
        },
    }
}

/// A text reply streamed word by word, with usage and the finish reason.
fn text_reply(text: &str) -> Vec<agents_core::ChatChunk> {
    use agents_core::{ChatChunk, FinishReason};
    let mut chunks: Vec<ChatChunk> = text
        .split_inclusive(' ')
        .map(ChatChunk::text)
        .collect();
    chunks.push(usage());
    chunks.push(ChatChunk::Finish {
        reason: FinishReason::Stop,
    });
    chunks
}
// {{/if}}
// {{#if llm}}

/// `/v1/chat`: a call of the first tool when tools are offered and the last message is the
/// user's; otherwise a short text reply.
async fn chat(request: &HttpRequest, conn: &mut HttpConnection) -> std::io::Result<()> {
    use agents_core::{ChatChunk, FinishReason, ToolCall};
    let Ok(body) = request.json() else {
        return conn
            .respond(HttpResponse::json(400, &json!({ "error": "not JSON" })))
            .await;
    };
    let last_role = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["role"].as_str())
        .unwrap_or_default()
        .to_string();
    let tool = body["tools"].as_array().and_then(|t| t.first()).cloned();
    let chunks = match tool {
        Some(tool) if last_role == "user" && body["tool_choice"] != "none" => {
            let mut arguments = serde_json::Map::new();
            for name in tool["parameters"]["required"].as_array().into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    arguments.insert(name.to_string(), json!("Paris"));
                }
            }
            vec![
                ChatChunk::ToolCall {
                    call: ToolCall::new(
                        "call_1",
                        tool["name"].as_str().unwrap_or_default(),
                        serde_json::Value::Object(arguments).to_string(),
                    ),
                },
                usage(),
                ChatChunk::Finish {
                    reason: FinishReason::ToolCalls,
                },
            ]
        }
        _ => text_reply("Hello from the {{name}} emulator."),
    };
    write_chunks(conn, chunks).await
}
// {{/if}}
// {{#if video}}

/// `/v1/vision`: says how many frames it got.
async fn vision(request: &HttpRequest, conn: &mut HttpConnection) -> std::io::Result<()> {
    let frames = request
        .json()
        .ok()
        .and_then(|b| b["frames"].as_array().map(Vec::len))
        .unwrap_or(0);
    write_chunks(conn, text_reply(&format!("I see {frames} frames."))).await
}
// {{/if}}
// {{#if tts}}

/// `/v1/tts`: a 220 Hz tone at 24 kHz, 40 ms per character, in 20 ms chunks.
async fn tts(request: &HttpRequest, conn: &mut HttpConnection) -> std::io::Result<()> {
    let text = request
        .json()
        .ok()
        .and_then(|b| b["text"].as_str().map(str::to_string))
        .unwrap_or_default();
    if text.trim().is_empty() {
        return conn
            .respond(HttpResponse::json(400, &json!({ "error": "empty text" })))
            .await;
    }
    let samples = tone(text.chars().count() * 960);
    let mut body = conn
        .start_chunked(200, &[("content-type", "audio/pcm")])
        .await?;
    for chunk in samples.chunks(480) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
        body.write(&bytes).await?;
    }
    body.finish().await
}
// {{/if}}
// {{#if tts|realtime}}

/// `n` samples of a 220 Hz tone at 24 kHz.
fn tone(n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f32 / 24_000.0;
            (f32::sin(t * 220.0 * std::f32::consts::TAU) * 8_000.0) as i16
        })
        .collect()
}
// {{/if}}
// {{#if realtime}}

/// `/v1/realtime`: after `commit` or `response.create`, a transcript of what it heard (when
/// audio came), then a response: 200 ms of tone and a text delta.
async fn realtime(mut ws: WebSocketStream<TcpStream>) {
    let send = |value: serde_json::Value| Message::text(value.to_string());
    if ws.send(send(json!({ "type": "session.started" }))).await.is_err() {
        return;
    }
    let mut heard = 0usize;
    let mut responses = 0usize;
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
            let _ = ws.send(send(json!({ "type": "error", "message": "not JSON" }))).await;
            return;
        };
        let mut reply = Vec::new();
        match value["type"].as_str().unwrap_or_default() {
            "audio" => {
                heard += base64::engine::general_purpose::STANDARD
                    .decode(value["audio"].as_str().unwrap_or_default())
                    .map(|b| b.len() / 2)
                    .unwrap_or(0);
            }
            "commit" if heard > 0 => {
                reply.push(json!({ "type": "transcript", "text": "hello", "final": true }));
                heard = 0;
            }
            "response.create" => {
                responses += 1;
                let id = format!("resp_{responses}");
                reply.push(json!({ "type": "response.started", "id": id }));
                for chunk in tone(4_800).chunks(2_400) {
                    let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
                    let audio = base64::engine::general_purpose::STANDARD.encode(bytes);
                    reply.push(json!({ "type": "audio", "audio": audio }));
                }
                reply.push(json!({ "type": "text.delta", "text": "Hello from {{name}}." }));
                reply.push(json!({ "type": "response.done", "id": id, "status": "completed" }));
            }
            _ => {}
        }
        for value in reply {
            if ws.send(send(value)).await.is_err() {
                return;
            }
        }
    }
}
// {{/if}}
