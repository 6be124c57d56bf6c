//! An OpenAI-compatible HTTP emulator: chat completions (SSE with text and tool calls),
//! transcriptions and speech (PCM streaming), with knobs for the faults real servers produce:
//! per-token delay, writes split at any byte offset, `\r\n` line endings, comment lines
//! (`: keep-alive`, OpenRouter's `: OPENROUTER PROCESSING`), 401, 404 model, 429 with
//! `retry-after`, 500/503, `insufficient_quota`, 402 credits, a malformed chunk, an in-stream
//! error event (OpenAI and OpenRouter shapes) and a connection dropped mid-stream.
//!
//! Replies are scripted: [`OpenAiEmulator::push`] queues replies that the next requests take
//! in order (any endpoint); without a queued reply each endpoint answers with its default.
//!
//! ```
//! use agents_testing::emulators::openai::{ChatReply, ErrorReply, OpenAiEmulator, Reply};
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let emu = OpenAiEmulator::start().await.unwrap();
//! emu.push(Reply::Error(ErrorReply::rate_limited(Some("1"), None)));
//! emu.push(Reply::Chat(ChatReply::text(["Hel", "lo"]).with_split(3)));
//! assert!(emu.base_url().ends_with("/v1"));
//! # });
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::server::{EmulatorServer, Handler, HttpConnection, HttpRequest, HttpResponse, pause};

/// A fault injected into a chat stream after [`ChatReply::fault_after`] text tokens.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatFault {
    /// A `data:` line that is not JSON, then the body ends.
    Malformed,
    /// The TCP connection is dropped mid-body.
    Drop,
    /// OpenAI's in-stream `{"error": {...}}` event, then the body ends (no `[DONE]`).
    ErrorEvent,
    /// OpenRouter's unified error chunk (`finish_reason: "error"`, string code), then the body
    /// ends.
    OpenRouterError,
    /// OpenRouter's error chunk with a numeric code (502), then the body ends.
    OpenRouterErrorNumeric,
    /// The body ends cleanly without a finish reason or `[DONE]`.
    Truncate,
}

/// One scripted tool call, sent as argument fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolCallScript {
    /// The call id.
    pub id: String,
    /// The function name.
    pub name: String,
    /// The complete arguments (JSON text).
    pub arguments: String,
    /// The length of each argument fragment, in characters.
    pub fragment_len: usize,
}

/// A scripted streamed chat completion.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatReply {
    /// The `model` field of the chunks.
    pub model: String,
    /// Text deltas, one chunk each.
    pub tokens: Vec<String>,
    /// Tool calls, their fragments interleaved (index 0, 1, ...).
    pub tool_calls: Vec<ToolCallScript>,
    /// The finish reason; `None` gives `tool_calls` when there are calls, else `stop`.
    pub finish_reason: Option<String>,
    /// Prompt and completion tokens of the usage chunk; `None` sends none.
    pub usage: Option<(u32, u32)>,
    /// The wait before each text token.
    pub token_delay: Duration,
    /// Write the body in pieces of this many bytes (splitting lines and code points).
    pub split: Option<usize>,
    /// End lines with `\r\n`.
    pub crlf: bool,
    /// A `: keep-alive` comment between events.
    pub keepalive_comments: bool,
    /// `: OPENROUTER PROCESSING` comments before the first event (and one between events).
    pub processing_comments: usize,
    /// The injected fault.
    pub fault: Option<ChatFault>,
    /// How many text tokens go out before the fault.
    pub fault_after: usize,
    /// Send `data: [DONE]` at the end.
    pub done_marker: bool,
}

impl Default for ChatReply {
    fn default() -> Self {
        ChatReply::text(["Hello", " from", " the", " emulator", "."])
    }
}

impl ChatReply {
    /// A reply streaming `tokens` as text deltas, then `stop`, usage and `[DONE]`.
    pub fn text<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tokens: Vec<String> = tokens.into_iter().map(Into::into).collect();
        let n = u32::try_from(tokens.len()).unwrap_or(u32::MAX);
        ChatReply {
            model: "gpt-4o-mini-2024-07-18".into(),
            tokens,
            tool_calls: Vec::new(),
            finish_reason: None,
            usage: Some((12, n)),
            token_delay: Duration::ZERO,
            split: None,
            crlf: false,
            keepalive_comments: false,
            processing_comments: 0,
            fault: None,
            fault_after: 0,
            done_marker: true,
        }
    }

    /// `n` numbered tokens (`"t0 "`, `"t1 "`, ...).
    #[must_use]
    pub fn numbered(n: usize) -> Self {
        ChatReply::text((0..n).map(|i| format!("t{i} ")))
    }

    /// Adds a tool call sent in fragments of 4 characters.
    #[must_use]
    pub fn with_tool_call(mut self, id: &str, name: &str, arguments: &str) -> Self {
        self.tool_calls.push(ToolCallScript {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
            fragment_len: 4,
        });
        self
    }

    /// Sets the finish reason.
    #[must_use]
    pub fn with_finish_reason(mut self, reason: &str) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// Sets or removes the usage chunk.
    #[must_use]
    pub fn with_usage(mut self, usage: Option<(u32, u32)>) -> Self {
        self.usage = usage;
        self
    }

    /// Waits `delay` before each text token.
    #[must_use]
    pub fn with_token_delay(mut self, delay: Duration) -> Self {
        self.token_delay = delay;
        self
    }

    /// Writes the body in pieces of `bytes` bytes.
    #[must_use]
    pub fn with_split(mut self, bytes: usize) -> Self {
        self.split = Some(bytes.max(1));
        self
    }

    /// Uses `\r\n` line endings.
    #[must_use]
    pub fn with_crlf(mut self) -> Self {
        self.crlf = true;
        self
    }

    /// Sends `: keep-alive` comments between events.
    #[must_use]
    pub fn with_keepalive_comments(mut self) -> Self {
        self.keepalive_comments = true;
        self
    }

    /// Sends `n` OpenRouter processing comments before the first event and one between events.
    #[must_use]
    pub fn with_processing_comments(mut self, n: usize) -> Self {
        self.processing_comments = n;
        self
    }

    /// Injects `fault` after `after_tokens` text tokens.
    #[must_use]
    pub fn with_fault(mut self, after_tokens: usize, fault: ChatFault) -> Self {
        self.fault = Some(fault);
        self.fault_after = after_tokens;
        self
    }

    /// Leaves out `data: [DONE]`.
    #[must_use]
    pub fn without_done(mut self) -> Self {
        self.done_marker = false;
        self
    }

    fn chunk(&self, choices: Value) -> String {
        json!({
            "id": "chatcmpl-emu",
            "object": "chat.completion.chunk",
            "created": 1_753_357_673,
            "model": self.model,
            "system_fingerprint": "fp_emu",
            "choices": choices,
            "usage": null,
        })
        .to_string()
    }

    fn delta(&self, delta: Value, finish: Option<&str>) -> String {
        self.chunk(json!([{
            "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish,
        }]))
    }

    /// The body as a list of (wait before, bytes, is the end) pieces; `None` bytes mean the
    /// connection is dropped there.
    fn events(&self) -> Vec<Event> {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let data = |json: String| Event::Data(format!("data: {json}{nl}{nl}"));
        let comment = |text: &str| Event::Data(format!(": {text}{nl}{nl}"));
        let mut out = Vec::new();
        for _ in 0..self.processing_comments {
            out.push(comment("OPENROUTER PROCESSING"));
        }
        out.push(data(
            self.delta(json!({"role": "assistant", "content": ""}), None),
        ));
        let between = |out: &mut Vec<Event>| {
            if self.keepalive_comments {
                out.push(comment("keep-alive"));
            }
            if self.processing_comments > 0 {
                out.push(comment("OPENROUTER PROCESSING"));
            }
        };
        for (i, token) in self.tokens.iter().enumerate() {
            if self.fault.is_some() && i == self.fault_after {
                out.extend(self.fault_events(nl));
                return out;
            }
            out.push(Event::Wait(self.token_delay));
            out.push(data(self.delta(json!({"content": token}), None)));
            between(&mut out);
        }
        if self.fault.is_some() && self.fault_after >= self.tokens.len() {
            out.extend(self.fault_events(nl));
            return out;
        }
        for (i, call) in self.tool_calls.iter().enumerate() {
            out.push(data(self.delta(
                json!({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                        "function": {"name": call.name, "arguments": ""}}]}),
                None,
            )));
        }
        let fragments: Vec<Vec<String>> = self
            .tool_calls
            .iter()
            .map(|c| {
                let chars: Vec<char> = c.arguments.chars().collect();
                chars
                    .chunks(c.fragment_len.max(1))
                    .map(|p| p.iter().collect())
                    .collect()
            })
            .collect();
        let longest = fragments.iter().map(Vec::len).max().unwrap_or(0);
        for f in 0..longest {
            for (i, frags) in fragments.iter().enumerate() {
                if let Some(piece) = frags.get(f) {
                    out.push(data(self.delta(
                        json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                        None,
                    )));
                }
            }
        }
        let reason = self.finish_reason.clone().unwrap_or_else(|| {
            if self.tool_calls.is_empty() {
                "stop".into()
            } else {
                "tool_calls".into()
            }
        });
        out.push(data(self.delta(json!({}), Some(&reason))));
        if let Some((p, c)) = self.usage {
            out.push(data(
                json!({
                    "id": "chatcmpl-emu", "object": "chat.completion.chunk",
                    "created": 1_753_357_673, "model": self.model, "choices": [],
                    "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
                              "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                              "completion_tokens_details": {"reasoning_tokens": 0}},
                })
                .to_string(),
            ));
        }
        if self.done_marker {
            out.push(Event::Data(format!("data: [DONE]{nl}{nl}")));
        }
        out
    }

    fn fault_events(&self, nl: &str) -> Vec<Event> {
        let data = |json: String| Event::Data(format!("data: {json}{nl}{nl}"));
        match self.fault {
            Some(ChatFault::Malformed) => {
                vec![Event::Data(format!(
                    "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"oops{nl}{nl}"
                ))]
            }
            Some(ChatFault::Drop) => vec![Event::Drop],
            Some(ChatFault::ErrorEvent) => vec![data(
                json!({"error": {"message": "The server had an error while processing your request. Sorry about that!",
                                 "type": "server_error", "param": null, "code": null}})
                .to_string(),
            )],
            Some(ChatFault::OpenRouterError) => vec![data(
                json!({"id": "cmpl-abc123", "object": "chat.completion.chunk", "created": 1_234_567_890,
                       "model": self.model, "provider": "openai",
                       "error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
                       "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]})
                .to_string(),
            )],
            Some(ChatFault::OpenRouterErrorNumeric) => vec![data(
                json!({"id": "cmpl-abc123", "object": "chat.completion.chunk", "created": 1_234_567_890,
                       "model": self.model, "provider": "openai",
                       "error": {"code": 502, "message": "Upstream provider returned an invalid response"},
                       "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
                       "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
                .to_string(),
            )],
            Some(ChatFault::Truncate) | None => Vec::new(),
        }
    }
}

enum Event {
    Wait(Duration),
    Data(String),
    Drop,
}

/// A scripted HTTP error response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorReply {
    /// The status.
    pub status: u16,
    /// Extra headers (`retry-after`, `x-should-retry`, ...).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
}

impl ErrorReply {
    /// An OpenAI-shaped error.
    #[must_use]
    pub fn new(status: u16, message: &str, error_type: &str, code: Option<&str>) -> Self {
        ErrorReply {
            status,
            headers: Vec::new(),
            body: json!({"error": {"message": message, "type": error_type, "param": null, "code": code}})
                .to_string(),
        }
    }

    /// 401 `invalid_api_key`.
    #[must_use]
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "Incorrect API key provided: sk-te****st. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        )
    }

    /// 404 `model_not_found`.
    #[must_use]
    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            404,
            &format!("The model `{model}` does not exist or you do not have access to it."),
            "invalid_request_error",
            Some("model_not_found"),
        )
    }

    /// 400 `invalid_request_error`.
    #[must_use]
    pub fn bad_request(message: &str) -> Self {
        Self::new(400, message, "invalid_request_error", None)
    }

    /// 429 `rate_limit_exceeded` with optional `retry-after` and `retry-after-ms` headers.
    #[must_use]
    pub fn rate_limited(retry_after: Option<&str>, retry_after_ms: Option<&str>) -> Self {
        let mut e = Self::new(
            429,
            "Rate limit reached for gpt-4o-mini in organization org-emu on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 174ms.",
            "tokens",
            Some("rate_limit_exceeded"),
        )
        .with_header("x-ratelimit-remaining-requests", "0")
        .with_header("x-ratelimit-reset-tokens", "174ms");
        if let Some(v) = retry_after {
            e = e.with_header("retry-after", v);
        }
        if let Some(v) = retry_after_ms {
            e = e.with_header("retry-after-ms", v);
        }
        e
    }

    /// 429 `insufficient_quota` (must not be retried).
    #[must_use]
    pub fn insufficient_quota() -> Self {
        Self::new(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            Some("insufficient_quota"),
        )
    }

    /// A 5xx `server_error`.
    #[must_use]
    pub fn server_error(status: u16) -> Self {
        Self::new(
            status,
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
        )
    }

    /// OpenRouter's 402 (numeric code).
    #[must_use]
    pub fn openrouter_credits() -> Self {
        ErrorReply {
            status: 402,
            headers: Vec::new(),
            body: json!({"error": {"code": 402,
                "message": "Insufficient credits. This account never purchased credits. Make sure your key is on the correct account or org."}})
            .to_string(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A scripted `/audio/speech` response: raw 24 kHz s16le mono PCM.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpeechReply {
    /// Samples generated per input character.
    pub samples_per_char: usize,
    /// Chunk sizes in bytes, cycled (odd sizes split samples across chunks).
    pub chunk_bytes: Vec<usize>,
    /// The wait before each chunk.
    pub chunk_delay: Duration,
    /// Drop the connection after this many chunks.
    pub drop_after_chunks: Option<usize>,
}

impl Default for SpeechReply {
    fn default() -> Self {
        SpeechReply {
            samples_per_char: 240,
            chunk_bytes: vec![999, 1001, 7],
            chunk_delay: Duration::ZERO,
            drop_after_chunks: None,
        }
    }
}

impl SpeechReply {
    /// Sets the chunk sizes.
    #[must_use]
    pub fn with_chunks(mut self, sizes: Vec<usize>) -> Self {
        self.chunk_bytes = sizes;
        self
    }

    /// Sets the wait before each chunk.
    #[must_use]
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Drops the connection after `n` chunks.
    #[must_use]
    pub fn with_drop_after(mut self, n: usize) -> Self {
        self.drop_after_chunks = Some(n);
        self
    }

    /// The PCM samples the emulator sends for `text` (a deterministic ramp).
    #[must_use]
    pub fn samples_for(&self, text: &str) -> Vec<i16> {
        let n = text.chars().count() * self.samples_per_char;
        (0..n).map(|i| ((i % 200) as i16 - 100) * 100).collect()
    }
}

/// A scripted reply.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A streamed chat completion.
    Chat(ChatReply),
    /// An HTTP error.
    Error(ErrorReply),
    /// Speech audio.
    Speech(SpeechReply),
    /// A transcription (`{"text": ...}`).
    Transcription(String),
}

#[derive(Debug, Default)]
struct State {
    replies: Mutex<VecDeque<Reply>>,
    default_chat: Mutex<ChatReply>,
    default_speech: Mutex<SpeechReply>,
    transcription: Mutex<String>,
    api_key: Mutex<Option<String>>,
    default_error: Mutex<Option<ErrorReply>>,
    client_disconnects: AtomicUsize,
}

struct OpenAiHandler {
    state: Arc<State>,
}

/// A running OpenAI-compatible emulator.
#[derive(Debug)]
pub struct OpenAiEmulator {
    server: EmulatorServer,
    state: Arc<State>,
}

impl OpenAiEmulator {
    /// Starts on 127.0.0.1, port chosen by the system.
    pub async fn start() -> std::io::Result<Self> {
        let state = Arc::new(State {
            transcription: Mutex::new("hello world".into()),
            ..Default::default()
        });
        let server = EmulatorServer::start(Arc::new(OpenAiHandler {
            state: state.clone(),
        }))
        .await?;
        Ok(OpenAiEmulator { server, state })
    }

    /// `http://127.0.0.1:<port>/v1`, the value for `base_url`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.http_url())
    }

    /// The underlying server.
    #[must_use]
    pub fn server(&self) -> &EmulatorServer {
        &self.server
    }

    /// Queues a reply for the next request.
    pub fn push(&self, reply: Reply) {
        if let Ok(mut q) = self.state.replies.lock() {
            q.push_back(reply);
        }
    }

    /// Sets the chat reply used when nothing is queued.
    pub fn set_default_chat(&self, reply: ChatReply) {
        if let Ok(mut d) = self.state.default_chat.lock() {
            *d = reply;
        }
    }

    /// Sets the speech reply used when nothing is queued.
    pub fn set_default_speech(&self, reply: SpeechReply) {
        if let Ok(mut d) = self.state.default_speech.lock() {
            *d = reply;
        }
    }

    /// Sets the transcription text used when nothing is queued.
    pub fn set_transcription(&self, text: &str) {
        if let Ok(mut d) = self.state.transcription.lock() {
            *d = text.into();
        }
    }

    /// Answers every request that has no queued reply with `error` (or stops doing so with
    /// `None`): a provider that keeps failing.
    pub fn set_default_error(&self, error: Option<ErrorReply>) {
        if let Ok(mut d) = self.state.default_error.lock() {
            *d = error;
        }
    }

    /// Answers 401 to requests whose bearer token is not `key`.
    pub fn require_api_key(&self, key: &str) {
        if let Ok(mut k) = self.state.api_key.lock() {
            *k = Some(key.into());
        }
    }

    /// Every request received, oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.server.requests()
    }

    /// Requests whose path ends with `suffix` (`"/chat/completions"`).
    #[must_use]
    pub fn requests_to(&self, suffix: &str) -> Vec<HttpRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }

    /// How many streamed responses failed because the client closed the connection.
    #[must_use]
    pub fn client_disconnects(&self) -> usize {
        self.state.client_disconnects.load(Ordering::SeqCst)
    }
}

impl OpenAiHandler {
    fn next_reply(&self) -> Option<Reply> {
        let queued = self
            .state
            .replies
            .lock()
            .ok()
            .and_then(|mut q| q.pop_front());
        queued.or_else(|| {
            self.state
                .default_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .map(Reply::Error)
        })
    }

    fn disconnected(&self) {
        self.state.client_disconnects.fetch_add(1, Ordering::SeqCst);
    }

    async fn chat(&self, reply: ChatReply, conn: &mut HttpConnection) {
        let Ok(mut body) = conn
            .start_chunked(
                200,
                &[
                    ("content-type", "text/event-stream; charset=utf-8"),
                    ("x-request-id", "req_emu"),
                    ("openai-processing-ms", "12"),
                ],
            )
            .await
        else {
            return;
        };
        let events = reply.events();
        let coalesce = reply.token_delay.is_zero();
        let mut buffer: Vec<u8> = Vec::new();
        for event in events {
            match event {
                Event::Wait(d) => pause(d).await,
                Event::Drop => {
                    if write_split(&mut body, &buffer, reply.split).await.is_err() {
                        self.disconnected();
                    }
                    body.abort();
                    return;
                }
                Event::Data(text) => {
                    buffer.extend_from_slice(text.as_bytes());
                    if !coalesce {
                        if write_split(&mut body, &buffer, reply.split).await.is_err() {
                            self.disconnected();
                            return;
                        }
                        buffer.clear();
                    }
                }
            }
        }
        if write_split(&mut body, &buffer, reply.split).await.is_err() {
            self.disconnected();
            return;
        }
        let _ = body.finish().await;
    }

    async fn speech(&self, reply: SpeechReply, request: &HttpRequest, conn: &mut HttpConnection) {
        let input = request
            .json()
            .ok()
            .and_then(|v| v.get("input").and_then(Value::as_str).map(String::from))
            .unwrap_or_default();
        let samples = reply.samples_for(&input);
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let Ok(mut body) = conn
            .start_chunked(200, &[("content-type", "audio/pcm")])
            .await
        else {
            return;
        };
        let sizes = if reply.chunk_bytes.is_empty() {
            vec![4096]
        } else {
            reply.chunk_bytes.clone()
        };
        let mut pos = 0;
        let mut n = 0;
        while pos < bytes.len() {
            if reply.drop_after_chunks == Some(n) {
                body.abort();
                return;
            }
            pause(reply.chunk_delay).await;
            let size = sizes[n % sizes.len()].max(1);
            let end = (pos + size).min(bytes.len());
            if body.write(&bytes[pos..end]).await.is_err() {
                self.disconnected();
                return;
            }
            pos = end;
            n += 1;
        }
        let _ = body.finish().await;
    }
}

async fn write_split(
    body: &mut super::server::ChunkedBody<'_>,
    bytes: &[u8],
    split: Option<usize>,
) -> std::io::Result<()> {
    match split {
        None => body.write(bytes).await,
        Some(n) => {
            for piece in bytes.chunks(n.max(1)) {
                body.write(piece).await?;
            }
            Ok(())
        }
    }
}

#[async_trait]
impl Handler for OpenAiHandler {
    async fn handle_http(&self, request: HttpRequest, conn: &mut HttpConnection) {
        let required = self.state.api_key.lock().ok().and_then(|k| k.clone());
        if let Some(key) = required {
            if request.bearer() != Some(key.as_str()) {
                let e = ErrorReply::unauthorized();
                let _ = conn
                    .respond(
                        HttpResponse::new(e.status, e.body)
                            .with_header("content-type", "application/json"),
                    )
                    .await;
                return;
            }
        }
        let path = request.path.clone();
        let reply = self.next_reply();
        if let Some(Reply::Error(e)) = &reply {
            let mut response = HttpResponse::new(e.status, e.body.clone())
                .with_header("content-type", "application/json");
            for (k, v) in &e.headers {
                response = response.with_header(k.clone(), v.clone());
            }
            let _ = conn.respond(response).await;
            return;
        }
        if path.ends_with("/chat/completions") {
            let chat = match reply {
                Some(Reply::Chat(c)) => c,
                _ => self
                    .state
                    .default_chat
                    .lock()
                    .map(|d| d.clone())
                    .unwrap_or_default(),
            };
            self.chat(chat, conn).await;
        } else if path.ends_with("/audio/speech") {
            let speech = match reply {
                Some(Reply::Speech(s)) => s,
                _ => self
                    .state
                    .default_speech
                    .lock()
                    .map(|d| d.clone())
                    .unwrap_or_default(),
            };
            self.speech(speech, &request, conn).await;
        } else if path.ends_with("/audio/transcriptions") {
            let text = match reply {
                Some(Reply::Transcription(t)) => t,
                _ => self
                    .state
                    .transcription
                    .lock()
                    .map(|t| t.clone())
                    .unwrap_or_default(),
            };
            let _ = conn
                .respond(HttpResponse::json(
                    200,
                    &json!({"text": text, "usage": {"type": "duration", "seconds": 1}}),
                ))
                .await;
        } else {
            let _ = conn
                .respond(HttpResponse::json(
                    404,
                    &json!({"error": {"message": format!("Invalid URL (POST {path})"),
                                      "type": "invalid_request_error", "param": null, "code": null}}),
                ))
                .await;
        }
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartField {
    /// The field name.
    pub name: String,
    /// The file name, for file parts.
    pub filename: Option<String>,
    /// The part's content type, if given.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

impl MultipartField {
    /// The bytes as text (lossy).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).to_string()
    }
}

/// Parses a logged `multipart/form-data` request body (for assertions in tests).
#[must_use]
pub fn multipart_fields(request: &HttpRequest) -> Vec<MultipartField> {
    let Some(boundary) = request
        .header("content-type")
        .and_then(|ct| ct.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_string())
    else {
        return Vec::new();
    };
    let delim = format!("--{boundary}").into_bytes();
    let body = &request.body;
    let mut starts = Vec::new();
    let mut i = 0;
    while i + delim.len() <= body.len() {
        if body[i..].starts_with(&delim) {
            starts.push(i);
            i += delim.len();
        } else {
            i += 1;
        }
    }
    let mut fields = Vec::new();
    for w in starts.windows(2) {
        let part = &body[w[0] + delim.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(head_end) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..head_end]).to_string();
        let data = part[head_end + 4..].to_vec();
        let mut name = String::new();
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for item in line.split(';').map(str::trim) {
                    if let Some(v) = item.strip_prefix("name=") {
                        name = v.trim_matches('"').to_string();
                    } else if let Some(v) = item.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_string());
                    }
                }
            } else if lower.starts_with("content-type:") {
                content_type = line.split_once(':').map(|(_, v)| v.trim().to_string());
            }
        }
        fields.push(MultipartField {
            name,
            filename,
            content_type,
            data,
        });
    }
    fields
}
