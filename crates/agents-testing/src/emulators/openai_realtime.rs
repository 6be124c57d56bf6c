//! An OpenAI Realtime WebSocket emulator: `session.created` on open, `session.updated`,
//! audio appends, responses with audio and transcript deltas (GA or beta event names), a
//! function call answered by `function_call_output` + `response.create`, `response.cancel`
//! (a `cancelled` `response.done`), `conversation.item.truncate`, plus faults: handshake
//! rejected with any status, `session_expired` then close 1001, abrupt drop.
//!
//! Every client event is logged ([`RealtimeEmulator::received`]) for assertions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use super::server::{
    EmulatorServer, Handler, HttpConnection, HttpRequest, HttpResponse, UpgradeDecision, pause,
};

/// How the emulated model behaves.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RealtimeScript {
    /// Use the beta event names (`response.audio.delta`, ...) instead of the GA ones.
    pub beta: bool,
    /// Audio deltas per response.
    pub audio_chunks: usize,
    /// Samples (24 kHz) per audio delta.
    pub chunk_samples: usize,
    /// The wait before each audio delta.
    pub chunk_delay: Duration,
    /// The first response calls this function (`call_id`, `name`, `arguments`).
    pub tool_call: Option<(String, String, String)>,
    /// Reject the handshake with this status.
    pub reject_status: Option<u16>,
    /// Send an `error` event with `code: session_expired` and close with 1001 after this many
    /// responses.
    pub expire_after_responses: Option<usize>,
    /// Drop the TCP connection (no close frame) after this many responses, on the first
    /// connection only (a reconnecting client then gets a healthy one).
    pub drop_after_responses: Option<usize>,
}

impl Default for RealtimeScript {
    fn default() -> Self {
        RealtimeScript {
            beta: false,
            audio_chunks: 5,
            chunk_samples: 480,
            chunk_delay: Duration::ZERO,
            tool_call: None,
            reject_status: None,
            expire_after_responses: None,
            drop_after_responses: None,
        }
    }
}

impl RealtimeScript {
    /// Uses the beta event names.
    #[must_use]
    pub fn beta(mut self) -> Self {
        self.beta = true;
        self
    }

    /// Sets audio deltas per response and the wait before each.
    #[must_use]
    pub fn with_audio(mut self, chunks: usize, delay: Duration) -> Self {
        self.audio_chunks = chunks;
        self.chunk_delay = delay;
        self
    }

    /// Makes the first response a function call.
    #[must_use]
    pub fn with_tool_call(mut self, call_id: &str, name: &str, arguments: &str) -> Self {
        self.tool_call = Some((call_id.into(), name.into(), arguments.into()));
        self
    }

    /// Rejects the handshake with `status`.
    #[must_use]
    pub fn with_reject(mut self, status: u16) -> Self {
        self.reject_status = Some(status);
        self
    }

    /// Expires the session after `n` responses.
    #[must_use]
    pub fn with_expire_after(mut self, n: usize) -> Self {
        self.expire_after_responses = Some(n);
        self
    }

    /// Drops the connection after `n` responses.
    #[must_use]
    pub fn with_drop_after(mut self, n: usize) -> Self {
        self.drop_after_responses = Some(n);
        self
    }

    /// The samples of audio delta `i` (a deterministic ramp).
    #[must_use]
    pub fn chunk(&self, i: usize) -> Vec<i16> {
        (0..self.chunk_samples)
            .map(|n| ((n + i * 7) % 100) as i16 * 10)
            .collect()
    }
}

#[derive(Debug, Default)]
struct State {
    script: Mutex<RealtimeScript>,
    received: Mutex<Vec<Value>>,
    connections: AtomicUsize,
    closed: AtomicUsize,
}

/// A running Realtime emulator.
#[derive(Debug)]
pub struct RealtimeEmulator {
    server: EmulatorServer,
    state: Arc<State>,
}

impl RealtimeEmulator {
    /// Starts with `script` on 127.0.0.1, port chosen by the system.
    pub async fn start(script: RealtimeScript) -> std::io::Result<Self> {
        let state = Arc::new(State {
            script: Mutex::new(script),
            ..Default::default()
        });
        let server = EmulatorServer::start(Arc::new(RealtimeHandler {
            state: state.clone(),
        }))
        .await?;
        Ok(RealtimeEmulator { server, state })
    }

    /// `http://127.0.0.1:<port>/v1`, the value for `base_url` (the client derives `ws://`).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.http_url())
    }

    /// The underlying server (handshake requests are in its log).
    #[must_use]
    pub fn server(&self) -> &EmulatorServer {
        &self.server
    }

    /// Every client event received, oldest first.
    #[must_use]
    pub fn received(&self) -> Vec<Value> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Client events of `type`.
    #[must_use]
    pub fn received_of(&self, event_type: &str) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|e| e["type"] == event_type)
            .collect()
    }

    /// Accepted WebSocket connections so far.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Connections that have ended (the client closed or the emulator dropped them).
    #[must_use]
    pub fn closed_connections(&self) -> usize {
        self.state.closed.load(Ordering::SeqCst)
    }
}

struct RealtimeHandler {
    state: Arc<State>,
}

fn script(state: &State) -> RealtimeScript {
    state.script.lock().map(|s| s.clone()).unwrap_or_default()
}

fn name(beta: bool, ga: &'static str) -> &'static str {
    if !beta {
        return ga;
    }
    match ga {
        "response.output_audio.delta" => "response.audio.delta",
        "response.output_audio.done" => "response.audio.done",
        "response.output_audio_transcript.delta" => "response.audio_transcript.delta",
        "response.output_audio_transcript.done" => "response.audio_transcript.done",
        "conversation.item.added" => "conversation.item.created",
        other => other,
    }
}

enum Out {
    Event(Value),
    Close(u16, String),
    Drop,
}

#[async_trait]
impl Handler for RealtimeHandler {
    async fn handle_http(&self, _request: HttpRequest, conn: &mut HttpConnection) {
        let _ = conn
            .respond(HttpResponse::new(404, "only the realtime WebSocket here"))
            .await;
    }

    async fn accept_ws(&self, request: &HttpRequest) -> UpgradeDecision {
        let s = script(&self.state);
        if let Some(status) = s.reject_status {
            let body = json!({"error": {"message": format!("rejected with {status}"),
                "type": "invalid_request_error", "code": if status == 401 { "invalid_api_key" } else { "rejected" }}});
            let mut r = HttpResponse::json(status, &body);
            if status == 429 {
                r = r.with_header("retry-after-ms", "10");
            }
            return UpgradeDecision::Reject(r);
        }
        if !request.path.ends_with("/realtime") || request.bearer().is_none() {
            return UpgradeDecision::Reject(HttpResponse::json(
                401,
                &json!({"error": {"message": "Missing bearer or wrong path", "type": "invalid_request_error"}}),
            ));
        }
        UpgradeDecision::Accept
    }

    async fn handle_ws(&self, request: HttpRequest, ws: WebSocketStream<TcpStream>) {
        let connection = self.state.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let mut s = script(&self.state);
        if connection > 1 {
            s.drop_after_responses = None;
        }
        let model = request
            .query_param("model")
            .unwrap_or("gpt-realtime")
            .to_string();
        let (mut sink, mut stream) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
        let stop = CancellationToken::new();
        let writer_stop = stop.clone();
        let writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Out::Event(v) => {
                        if sink.send(Message::text(v.to_string())).await.is_err() {
                            return;
                        }
                    }
                    Out::Close(code, reason) => {
                        let _ = sink
                            .send(Message::Close(Some(CloseFrame {
                                code: CloseCode::from(code),
                                reason: reason.into(),
                            })))
                            .await;
                        return;
                    }
                    Out::Drop => {
                        writer_stop.cancel();
                        return;
                    }
                }
            }
        });
        let send = |v: Value| {
            let _ = tx.send(Out::Event(v));
        };
        send(json!({"type": "session.created", "event_id": "ev_0",
                    "session": {"id": "sess_emu", "model": model, "type": "realtime"}}));
        let mut responses = 0usize;
        let mut tool_used = false;
        let mut current: Option<CancellationToken> = None;
        let mut item_seq = 0usize;
        loop {
            let msg = tokio::select! {
                _ = stop.cancelled() => break,
                msg = stream.next() => msg,
            };
            let Some(msg) = msg else { break };
            let text = match msg {
                Ok(Message::Text(t)) => t.to_string(),
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            let Ok(event) = serde_json::from_str::<Value>(&text) else {
                send(
                    json!({"type": "error", "error": {"type": "invalid_request_error",
                    "code": "invalid_json", "message": "not JSON"}}),
                );
                continue;
            };
            if let Ok(mut r) = self.state.received.lock() {
                r.push(event.clone());
            }
            let kind = event["type"].as_str().unwrap_or_default().to_string();
            match kind.as_str() {
                "session.update" => {
                    send(json!({"type": "session.updated", "session": event["session"]}))
                }
                "input_audio_buffer.commit" => {
                    item_seq += 1;
                    send(
                        json!({"type": "input_audio_buffer.committed", "item_id": format!("item_in_{item_seq}")}),
                    );
                    send(
                        json!({"type": "conversation.item.input_audio_transcription.completed",
                        "item_id": format!("item_in_{item_seq}"), "content_index": 0, "transcript": "hello there"}),
                    );
                }
                "conversation.item.create" => {
                    item_seq += 1;
                    send(json!({"type": name(s.beta, "conversation.item.added"),
                        "item": {"id": format!("item_c_{item_seq}"), "type": event["item"]["type"]}}));
                }
                "conversation.item.truncate" => send(json!({"type": "conversation.item.truncated",
                    "item_id": event["item_id"], "content_index": 0, "audio_end_ms": event["audio_end_ms"]})),
                "response.cancel" => {
                    if let Some(token) = current.take() {
                        token.cancel();
                    }
                }
                "response.create" => {
                    if let Some(old) = current.take() {
                        old.cancel();
                    }
                    responses += 1;
                    let token = CancellationToken::new();
                    current = Some(token.clone());
                    let as_tool = s.tool_call.clone().filter(|_| !tool_used);
                    tool_used |= as_tool.is_some();
                    let tx = tx.clone();
                    let s = s.clone();
                    let n = responses;
                    tokio::spawn(async move {
                        run_response(&s, n, as_tool, token, &tx).await;
                        if s.expire_after_responses == Some(n) {
                            let _ = tx.send(Out::Event(json!({"type": "error", "event_id": "ev_x",
                                "error": {"type": "invalid_request_error", "code": "session_expired",
                                          "message": "Your session hit the maximum duration of 60 minutes.",
                                          "param": null, "event_id": null}})));
                            let _ = tx.send(Out::Close(
                                1001,
                                "Your session hit the maximum duration of 60 minutes.".into(),
                            ));
                        }
                        if s.drop_after_responses == Some(n) {
                            let _ = tx.send(Out::Drop);
                        }
                    });
                }
                _ => {}
            }
        }
        if let Some(token) = current.take() {
            token.cancel();
        }
        drop(tx);
        let _ = writer.await;
        self.state.closed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn run_response(
    s: &RealtimeScript,
    n: usize,
    tool: Option<(String, String, String)>,
    token: CancellationToken,
    tx: &mpsc::UnboundedSender<Out>,
) {
    let send = |v: Value| {
        let _ = tx.send(Out::Event(v));
    };
    let rid = format!("resp_{n}");
    send(
        json!({"type": "response.created", "response": {"id": rid, "object": "realtime.response", "status": "in_progress"}}),
    );
    if let Some((call_id, fname, args)) = tool {
        let item = format!("item_fc_{n}");
        send(
            json!({"type": "response.output_item.added", "response_id": rid, "output_index": 0,
            "item": {"id": item, "type": "function_call", "call_id": call_id, "name": fname, "arguments": ""}}),
        );
        let mid = args.len() / 2;
        let (a, b) = args.split_at(if args.is_char_boundary(mid) { mid } else { 0 });
        for part in [a, b] {
            send(
                json!({"type": "response.function_call_arguments.delta", "response_id": rid,
                "item_id": item, "output_index": 0, "call_id": call_id, "delta": part}),
            );
        }
        send(
            json!({"type": "response.function_call_arguments.done", "response_id": rid,
            "item_id": item, "output_index": 0, "call_id": call_id, "name": fname, "arguments": args}),
        );
        send(
            json!({"type": "response.done", "response": {"id": rid, "status": "completed",
            "output": [{"id": item, "type": "function_call"}],
            "usage": {"input_tokens": 20, "output_tokens": 5, "total_tokens": 25}}}),
        );
        return;
    }
    let item = format!("item_out_{n}");
    send(
        json!({"type": "response.output_item.added", "response_id": rid, "output_index": 0,
        "item": {"id": item, "type": "message", "role": "assistant"}}),
    );
    for i in 0..s.audio_chunks {
        tokio::select! {
            _ = token.cancelled() => {
                send(json!({"type": "response.done", "response": {"id": rid, "status": "cancelled",
                    "status_details": {"type": "cancelled", "reason": "client_cancelled"}}}));
                return;
            }
            _ = pause(s.chunk_delay) => {}
        }
        send(
            json!({"type": name(s.beta, "response.output_audio_transcript.delta"),
            "response_id": rid, "item_id": item, "output_index": 0, "content_index": 0,
            "delta": format!("word{i} ")}),
        );
        let bytes: Vec<u8> = s.chunk(i).iter().flat_map(|x| x.to_le_bytes()).collect();
        send(json!({"type": name(s.beta, "response.output_audio.delta"),
            "response_id": rid, "item_id": item, "output_index": 0, "content_index": 0,
            "delta": base64::engine::general_purpose::STANDARD.encode(bytes)}));
    }
    send(
        json!({"type": name(s.beta, "response.output_audio.done"), "response_id": rid, "item_id": item}),
    );
    send(
        json!({"type": "response.done", "response": {"id": rid, "status": "completed",
        "output": [{"id": item, "type": "message"}],
        "usage": {"input_tokens": 30, "output_tokens": 40, "total_tokens": 70,
                  "input_token_details": {"cached_tokens": 4}}}}),
    );
}
