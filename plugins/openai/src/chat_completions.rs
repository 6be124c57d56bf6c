//! The OpenAI chat-completions client, shared by every OpenAI-compatible provider (this crate's
//! [`OpenAiLlm`](crate::OpenAiLlm), the OpenRouter plugin, vLLM, Ollama, LM Studio,
//! llama.cpp).
//!
//! - [`request_body`] turns a [`ChatRequest`] into the JSON body (`stream: true`, usage on,
//!   tools, `tool_choice`, temperature, max tokens, images as data URLs);
//! - [`ChatCompletionsClient::stream`] posts it with connect-phase retries and returns a
//!   [`ChatStream`];
//! - [`ChunkDecoder`] turns the SSE `data:` payloads into [`ChatChunk`]s: text deltas as they
//!   arrive, tool calls assembled from argument fragments (several in parallel) and handed out
//!   complete when the choice finishes, usage, then the finish reason last.
//!
//! Faults after the first chunk are never retried: a drop mid-stream yields one retryable
//! `Connection` error after the text already yielded, a malformed chunk a `Protocol` error, an
//! in-stream `{"error": ...}` event (OpenAI, or OpenRouter's `finish_reason: "error"` chunk)
//! the error classified from its `code`, then the stream ends. Dropping the stream closes the
//! HTTP connection.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use agents_core::{
    ChatChunk, ChatRequest, ChatRole, ChatStream, ContentPart, Error, FinishReason, ImageDetail,
    Result, TokenUsage, ToolCall, ToolChoice,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::endpoint::{HttpClient, ProviderError, classify};
use crate::sse::SseParser;

/// Which body field carries the token limit.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxTokensField {
    /// `max_completion_tokens` (OpenAI; required by reasoning models).
    #[default]
    MaxCompletionTokens,
    /// `max_tokens` (OpenRouter and most OpenAI-compatible servers).
    MaxTokens,
}

impl MaxTokensField {
    fn key(self) -> &'static str {
        match self {
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::MaxTokens => "max_tokens",
        }
    }
}

/// Builds the streaming request body for `model`.
///
/// ```
/// use agents_core::{ChatContext, ChatMessage, ChatRequest, ToolChoice, ToolDefinition};
/// use agents_plugin_openai::chat_completions::{request_body, MaxTokensField};
///
/// let mut ctx = ChatContext::new().with_system("Be brief.");
/// ctx.push(ChatMessage::user("hi"));
/// let tool = ToolDefinition::new("f", "does f", serde_json::json!({"type": "object"}));
/// let req = ChatRequest::new(ctx).with_temperature(0.5).with_max_tokens(64)
///     .with_tools(vec![tool]).with_tool_choice(ToolChoice::Required);
/// let body = request_body("gpt-4o-mini", &req, MaxTokensField::MaxCompletionTokens);
/// assert_eq!(body["stream"], true);
/// assert_eq!(body["messages"][1]["content"], "hi");
/// assert_eq!(body["max_completion_tokens"], 64);
/// assert_eq!(body["tool_choice"], "required");
/// ```
#[must_use]
pub fn request_body(model: &str, request: &ChatRequest, max_tokens: MaxTokensField) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.to_string()));
    let messages: Vec<Value> = request
        .context
        .messages()
        .iter()
        .map(message_json)
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), Value::Bool(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                let mut function = json!({
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                });
                if t.strict {
                    function["strict"] = Value::Bool(true);
                }
                json!({"type": "function", "function": function})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(parallel) = request.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), Value::Bool(parallel));
        }
    }
    // `tool_choice` without tools is rejected by OpenAI and most compatible servers.
    if let Some(choice) = request
        .tool_choice
        .as_ref()
        .filter(|_| !request.tools.is_empty())
    {
        let value = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
            _ => json!("auto"),
        };
        body.insert("tool_choice".into(), value);
    }
    if let Some(t) = request.temperature {
        // f32 -> f64 through the decimal text keeps 0.2 as 0.2 rather than 0.20000000298.
        let t: f64 = t.to_string().parse().unwrap_or(f64::from(t));
        body.insert("temperature".into(), json!(t));
    }
    if let Some(n) = request.max_tokens {
        body.insert(max_tokens.key().into(), json!(n));
    }
    Value::Object(body)
}

fn message_json(m: &agents_core::ChatMessage) -> Value {
    let role = match m.role {
        ChatRole::System => "system",
        ChatRole::User => "user",
        ChatRole::Assistant => "assistant",
        ChatRole::Tool => "tool",
        _ => "user",
    };
    match m.role {
        ChatRole::User if m.image_count() > 0 => {
            let parts: Vec<Value> = m
                .content
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } => Some(json!({"type": "text", "text": text})),
                    ContentPart::Image { image, detail } => Some(json!({
                        "type": "image_url",
                        "image_url": {"url": image.to_url(), "detail": detail_str(*detail)},
                    })),
                    _ => None,
                })
                .collect();
            json!({"role": role, "content": parts})
        }
        ChatRole::Assistant if !m.tool_calls.is_empty() => {
            let text = m.text();
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect();
            json!({
                "role": role,
                "content": if text.is_empty() { Value::Null } else { Value::String(text) },
                "tool_calls": calls,
            })
        }
        ChatRole::Tool => json!({
            "role": role,
            "tool_call_id": m.tool_call_id.clone().unwrap_or_default(),
            "content": m.text(),
        }),
        _ => json!({"role": role, "content": m.text()}),
    }
}

fn detail_str(detail: ImageDetail) -> &'static str {
    match detail {
        ImageDetail::Low => "low",
        ImageDetail::High => "high",
        _ => "auto",
    }
}

/// A chat-completions client over an [`HttpClient`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ChatCompletionsClient {
    http: HttpClient,
    path: String,
}

impl ChatCompletionsClient {
    /// A client posting to `<base_url>/chat/completions`.
    #[must_use]
    pub fn new(http: HttpClient) -> Self {
        ChatCompletionsClient {
            http,
            path: "chat/completions".into(),
        }
    }

    /// The HTTP client.
    #[must_use]
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Posts `body` and streams the completion. Errors before the first chunk (connect, HTTP
    /// status) come back here after the connect retries; see the [module docs](self) for what
    /// happens after.
    pub async fn stream(&self, body: Value) -> Result<ChatStream> {
        let payload = Bytes::from(serde_json::to_vec(&body)?);
        let response = self
            .http
            .send(|http| {
                http.post(&self.path)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::ACCEPT, "text/event-stream")
                    .body(payload.clone())
            })
            .await?;
        Ok(SseChatStream {
            body: Some(response.bytes_stream()),
            http: self.http.clone(),
            parser: SseParser::new(),
            decoder: ChunkDecoder::new(self.http.provider().to_string()),
            pending: VecDeque::new(),
            scratch: Vec::new(),
            done: false,
        }
        .boxed())
    }
}

/// The stream returned by [`ChatCompletionsClient::stream`], generic over reqwest's body
/// stream so that polling it costs no extra boxing or mapping layer per chunk.
struct SseChatStream<B> {
    body: Option<B>,
    http: HttpClient,
    parser: SseParser,
    decoder: ChunkDecoder,
    pending: VecDeque<Result<ChatChunk>>,
    scratch: Vec<ChatChunk>,
    done: bool,
}

impl<B> SseChatStream<B> {
    fn finish(&mut self, result: Result<()>) {
        self.pending.extend(self.scratch.drain(..).map(Ok));
        if let Err(e) = result {
            self.pending.push_back(Err(e));
        }
        self.done = true;
        // Drop the body now: the connection closes (or is released) at once.
        self.body = None;
    }

    fn drain_parser(&mut self) {
        loop {
            match self.parser.next_data() {
                Ok(Some(data)) => match self.decoder.push_data(data, &mut self.scratch) {
                    Ok(false) => {
                        self.pending.extend(self.scratch.drain(..).map(Ok));
                    }
                    Ok(true) => return self.finish(Ok(())),
                    Err(e) => return self.finish(Err(e)),
                },
                Ok(None) => return,
                Err(e) => {
                    let e = e.with_provider(self.decoder.provider.clone());
                    return self.finish(Err(e));
                }
            }
        }
    }
}

impl<B> Stream for SseChatStream<B>
where
    B: Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let Some(body) = this.body.as_mut() else {
                this.done = true;
                continue;
            };
            match body.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => {
                    this.parser.push(&bytes);
                    this.drain_parser();
                }
                Poll::Ready(Some(Err(e))) => {
                    let e = this.http.transport_error(e, true);
                    this.finish(Err(e));
                }
                Poll::Ready(None) => {
                    let partial = this.parser.has_partial_event();
                    let result = this.decoder.end_of_body(partial, &mut this.scratch);
                    this.finish(result);
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
    #[serde(default)]
    total_tokens: u32,
    #[serde(default)]
    prompt_tokens_details: Option<WirePromptDetails>,
}

#[derive(Deserialize)]
struct WirePromptDetails {
    #[serde(default)]
    cached_tokens: Option<u32>,
}

#[derive(Debug)]
struct PendingCall {
    index: Option<u32>,
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Turns chat-completion SSE payloads into [`ChatChunk`]s (see the [module docs](self)).
///
/// ```
/// use agents_core::ChatChunk;
/// use agents_plugin_openai::chat_completions::ChunkDecoder;
///
/// let mut d = ChunkDecoder::new("openai");
/// let mut out = Vec::new();
/// d.push_data(r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#, &mut out).unwrap();
/// d.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\""}}]}}]}"#, &mut out).unwrap();
/// d.push_data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}"#, &mut out).unwrap();
/// d.push_data(r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#, &mut out).unwrap();
/// assert!(d.push_data("[DONE]", &mut out).unwrap());
/// assert_eq!(out.len(), 3);
/// assert!(matches!(&out[1], ChatChunk::ToolCall { call } if call.arguments == "{\"a\":1}"));
/// ```
#[derive(Debug)]
pub struct ChunkDecoder {
    provider: String,
    calls: Vec<PendingCall>,
    usage: Option<TokenUsage>,
    finish: Option<FinishReason>,
}

impl ChunkDecoder {
    /// A decoder for `provider` (named in errors).
    pub fn new(provider: impl Into<String>) -> Self {
        ChunkDecoder {
            provider: provider.into(),
            calls: Vec::new(),
            usage: None,
            finish: None,
        }
    }

    fn err(&self, e: Error) -> Error {
        e.with_provider(self.provider.clone())
    }

    /// Decodes one event's data. Appends chunks to `out`; returns `Ok(true)` at `[DONE]` (with
    /// the usage and finish reason appended). An `Err` ends the stream; chunks already in `out`
    /// come before it.
    pub fn push_data(&mut self, data: &str, out: &mut Vec<ChatChunk>) -> Result<bool> {
        let data = data.trim();
        if data.starts_with("[DONE]") {
            self.flush_calls(out)?;
            self.finish_into(out);
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let chunk: WireChunk = serde_json::from_str(data).map_err(|e| {
            self.err(
                Error::protocol(format!("a stream chunk is not valid JSON: {e}")).with_source(e),
            )
        })?;
        if let Some(error) = chunk.error.as_ref().filter(|e| is_truthy(e)) {
            return Err(self.err(stream_error(error)));
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(TokenUsage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                cached_tokens: u
                    .prompt_tokens_details
                    .and_then(|d| d.cached_tokens)
                    .unwrap_or(0),
                total_tokens: u.total_tokens,
            });
        }
        for choice in chunk.choices {
            if choice.index != 0 {
                continue;
            }
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content {
                    if !text.is_empty() {
                        out.push(ChatChunk::TextDelta { text });
                    }
                }
                for call in delta.tool_calls.unwrap_or_default() {
                    self.tool_fragment(call);
                }
            }
            if let Some(reason) = choice.finish_reason {
                if reason == "error" {
                    return Err(self.err(
                        Error::provider_status(500, "the provider ended the stream with an error")
                            .with_provider_message("finish_reason: error"),
                    ));
                }
                self.flush_calls(out)?;
                self.finish = Some(FinishReason::from_openai(&reason));
            }
        }
        Ok(false)
    }

    /// Called when the body ended without `[DONE]`. A stream that already had its finish reason
    /// ends normally; otherwise it was cut and this is a retryable `Connection` error (or a
    /// `Protocol` error when half an event was left).
    pub fn end_of_body(&mut self, partial_event: bool, out: &mut Vec<ChatChunk>) -> Result<()> {
        if partial_event {
            return Err(self.err(Error::protocol(
                "the stream ended in the middle of an event",
            )));
        }
        if self.finish.is_none() {
            return Err(self.err(Error::connection(
                "the stream ended before the completion finished",
            )));
        }
        self.flush_calls(out)?;
        self.finish_into(out);
        Ok(())
    }

    fn finish_into(&mut self, out: &mut Vec<ChatChunk>) {
        if let Some(usage) = self.usage.take() {
            out.push(ChatChunk::Usage { usage });
        }
        let reason = self.finish.take().unwrap_or(FinishReason::Stop);
        out.push(ChatChunk::Finish { reason });
    }

    fn tool_fragment(&mut self, frag: WireToolCall) {
        let (name, arguments) = match frag.function {
            Some(f) => (f.name, f.arguments),
            None => (None, None),
        };
        let existing = match frag.index {
            Some(i) => self.calls.iter().rposition(|c| c.index == Some(i)),
            None if name.is_some() => None,
            None => self.calls.len().checked_sub(1),
        };
        let starts_new = match (existing, &frag.id) {
            (None, _) => true,
            // A different id at the same index starts another call (some servers reuse index 0).
            (Some(pos), Some(id)) => {
                !id.is_empty() && self.calls[pos].id.as_ref().is_some_and(|cur| cur != id)
            }
            (Some(_), None) => false,
        };
        if starts_new {
            self.calls.push(PendingCall {
                index: frag.index,
                id: frag.id.filter(|id| !id.is_empty()),
                name: name.unwrap_or_default(),
                arguments: arguments.unwrap_or_default(),
            });
            return;
        }
        if let Some(call) = existing.and_then(|pos| self.calls.get_mut(pos)) {
            if call.id.is_none() {
                call.id = frag.id.filter(|id| !id.is_empty());
            }
            if let Some(name) = name {
                if call.name.is_empty() {
                    call.name = name;
                } else if call.name != name {
                    call.name.push_str(&name);
                }
            }
            if let Some(args) = arguments {
                call.arguments.push_str(&args);
            }
        }
    }

    fn flush_calls(&mut self, out: &mut Vec<ChatChunk>) -> Result<()> {
        for (n, call) in std::mem::take(&mut self.calls).into_iter().enumerate() {
            if call.name.is_empty() {
                return Err(self.err(Error::protocol("a tool call has no function name")));
            }
            let arguments = if call.arguments.trim().is_empty() {
                "{}".to_string()
            } else {
                call.arguments
            };
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&arguments) {
                return Err(self.err(
                    Error::protocol(format!(
                        "the arguments of tool call `{}` are not valid JSON: {e}",
                        call.name
                    ))
                    .with_provider_message(arguments),
                ));
            }
            let id = call
                .id
                .unwrap_or_else(|| format!("call_{}", call.index.unwrap_or(n as u32)));
            out.push(ChatChunk::ToolCall {
                call: ToolCall {
                    id,
                    name: call.name,
                    arguments,
                },
            });
        }
        Ok(())
    }
}

fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(_) => true,
    }
}

/// Classifies an `error` object received inside a 200 stream. A numeric `code` (OpenRouter) is
/// read as an HTTP status; string codes `rate_limit_exceeded` and `insufficient_quota` map to
/// their kinds; anything else is a retryable `ProviderStatus { 500 }`.
fn stream_error(error: &Value) -> Error {
    let parsed = ProviderError::from_value(&json!({ "error": error }));
    let status = parsed
        .code
        .as_deref()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|s| (400..600).contains(s));
    let mut err = match status {
        Some(status) => classify(status, &parsed, None),
        None if parsed.code.as_deref() == Some("rate_limit_exceeded") => {
            classify(429, &parsed, None)
        }
        None => classify(500, &parsed, None),
    };
    err = Error::new(
        err.kind().clone(),
        format!("error event after the stream began: {}", err.message()),
    )
    .with_retryable(err.is_retryable());
    let message = parsed
        .message
        .unwrap_or_else(|| "An error occurred during streaming".to_string());
    err.with_provider_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agents_core::ErrorKind;

    fn decode(events: &[&str]) -> (Vec<ChatChunk>, Result<bool>) {
        let mut d = ChunkDecoder::new("openai");
        let mut out = Vec::new();
        for e in events {
            match d.push_data(e, &mut out) {
                Ok(false) => {}
                other => return (out, other),
            }
        }
        (out, Ok(false))
    }

    #[test]
    fn parallel_calls_from_fragments() {
        let (out, r) = decode(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"A","type":"function","function":{"name":"a","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"B","type":"function","function":{"name":"b","arguments":"{\"y\""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":2}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":null,"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":2}}}"#,
            "[DONE]",
        ]);
        assert!(r.unwrap());
        assert_eq!(
            out,
            vec![
                ChatChunk::ToolCall {
                    call: ToolCall::new("A", "a", "{\"x\":1}")
                },
                ChatChunk::ToolCall {
                    call: ToolCall::new("B", "b", "{\"y\":2}")
                },
                ChatChunk::Usage {
                    usage: TokenUsage {
                        prompt_tokens: 5,
                        completion_tokens: 7,
                        cached_tokens: 2,
                        total_tokens: 12
                    }
                },
                ChatChunk::Finish {
                    reason: FinishReason::Stop
                },
            ]
        );
    }

    #[test]
    fn repeated_ids_and_reused_index() {
        let (out, _) = decode(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"A","function":{"name":"a","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"A","function":{"arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"B","function":{"name":"b","arguments":"{\"k\":true}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        assert_eq!(out.len(), 3);
        assert!(
            matches!(&out[0], ChatChunk::ToolCall { call } if call.id == "A" && call.arguments == "{}")
        );
        assert!(matches!(&out[1], ChatChunk::ToolCall { call } if call.id == "B"));
        assert_eq!(
            out[2],
            ChatChunk::Finish {
                reason: FinishReason::ToolCalls
            }
        );
    }

    #[test]
    fn error_events() {
        let (out, r) = decode(&[
            r#"{"choices":[{"delta":{"content":"Hel"}}]}"#,
            r#"{"error":{"message":"The server had an error","type":"server_error"}}"#,
        ]);
        assert_eq!(out, vec![ChatChunk::text("Hel")]);
        let e = r.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::ProviderStatus { status: 500 });
        assert_eq!(e.provider_message(), Some("The server had an error"));
        let (_, r) = decode(&[
            r#"{"error":{"code":502,"message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#,
        ]);
        assert_eq!(r.unwrap_err().status(), Some(502));
        let (_, r) = decode(&["{not json"]);
        assert_eq!(r.unwrap_err().kind(), &ErrorKind::Protocol);
        let (_, r) = decode(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"A","function":{"name":"a","arguments":"{oops"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        ]);
        assert_eq!(r.unwrap_err().kind(), &ErrorKind::Protocol);
    }
}
