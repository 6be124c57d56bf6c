//! [`MockLlm`]: scripted replies with tool calls, or an echo.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::{
    ChatChunk, ChatRequest, ChatRole, ChatStream, Error, FinishReason, Llm, LlmCapabilities,
    ProviderInfo, Result, TokenUsage, ToolCall, async_trait,
};
use futures_util::StreamExt;

use crate::faults::{CallPlan, Faults, Script};

/// One scripted reply (one round of a chat): text, tool calls, usage and finish reason.
///
/// ```
/// use agents_core::ToolCall;
/// use agents_plugin_mock::MockReply;
///
/// let reply = MockReply::text("Let me check.")
///     .with_tool_call(ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#));
/// assert_eq!(reply.tool_calls.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct MockReply {
    /// The reply's text, streamed as word-sized deltas.
    pub text: String,
    /// Tool calls, each yielded once, complete, after the text.
    pub tool_calls: Vec<ToolCall>,
    /// Usage; `None` computes a word count.
    pub usage: Option<TokenUsage>,
    /// The finish reason; `None` is `ToolCalls` when there are tool calls, else `Stop`.
    pub finish: Option<FinishReason>,
}

impl MockReply {
    /// A text reply.
    pub fn text(text: impl Into<String>) -> Self {
        MockReply {
            text: text.into(),
            ..Default::default()
        }
    }

    /// A reply with only one tool call.
    #[must_use]
    pub fn tool_call(call: ToolCall) -> Self {
        MockReply::default().with_tool_call(call)
    }

    /// Adds a tool call.
    #[must_use]
    pub fn with_tool_call(mut self, call: ToolCall) -> Self {
        self.tool_calls.push(call);
        self
    }

    /// Sets the usage.
    #[must_use]
    pub fn with_usage(mut self, usage: TokenUsage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Sets the finish reason.
    #[must_use]
    pub fn with_finish(mut self, reason: FinishReason) -> Self {
        self.finish = Some(reason);
        self
    }

    fn validate(&self) -> Result<()> {
        for call in &self.tool_calls {
            if call.id.is_empty() || call.name.is_empty() {
                return Err(Error::invalid_input(format!(
                    "scripted tool call {call:?} needs an id and a name"
                )));
            }
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&call.arguments) {
                return Err(Error::invalid_input(format!(
                    "scripted tool call `{}` has arguments that are not JSON ({e}): {}",
                    call.name, call.arguments
                )));
            }
        }
        Ok(())
    }

    /// The chunks of this reply for `request`. A reply longer than `request.max_tokens`
    /// deltas is cut there and finishes with `Length`, without its tool calls.
    pub(crate) fn chunks(&self, request: &ChatRequest) -> Vec<ChatChunk> {
        let mut deltas = split_deltas(&self.text);
        let limit = request.max_tokens.map(|m| m as usize);
        let cut = limit.is_some_and(|m| deltas.len() > m);
        if let Some(m) = limit.filter(|_| cut) {
            deltas.truncate(m);
        }
        let mut out: Vec<ChatChunk> = deltas.into_iter().map(ChatChunk::text).collect();
        let deltas = out.len();
        if cut {
            let usage = self.usage.unwrap_or_else(|| usage_for(request, deltas, 0));
            out.push(ChatChunk::Usage { usage });
            out.push(ChatChunk::Finish {
                reason: FinishReason::Length,
            });
            return out;
        }
        out.extend(
            self.tool_calls
                .iter()
                .map(|c| ChatChunk::ToolCall { call: c.clone() }),
        );
        let usage = self
            .usage
            .unwrap_or_else(|| usage_for(request, deltas, self.tool_calls.len()));
        out.push(ChatChunk::Usage { usage });
        let reason = self
            .finish
            .clone()
            .unwrap_or(if self.tool_calls.is_empty() {
                FinishReason::Stop
            } else {
                FinishReason::ToolCalls
            });
        out.push(ChatChunk::Finish { reason });
        out
    }
}

/// Usage counted in words: 4 per message plus its words, 1 per delta, 8 per tool call.
fn usage_for(request: &ChatRequest, deltas: usize, tool_calls: usize) -> TokenUsage {
    let prompt: usize = request
        .context
        .messages()
        .iter()
        .map(|m| m.text().split_whitespace().count() + 4)
        .sum();
    let completion = (deltas + 8 * tool_calls) as u32;
    let prompt = prompt as u32;
    TokenUsage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: 0,
        total_tokens: prompt + completion,
    }
}

/// Splits text into word-sized deltas, each word with the white space before it, so that the
/// deltas concatenate to the text exactly.
pub(crate) fn split_deltas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    for ch in text.chars() {
        if ch.is_whitespace() && in_word {
            out.push(std::mem::take(&mut current));
            in_word = false;
        } else if !ch.is_whitespace() {
            in_word = true;
        }
        current.push(ch);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Timing of a chat stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Timing {
    pub(crate) first: Duration,
    pub(crate) per_token: Duration,
}

/// Streams `chunks` with the timing and the mid-stream failure of `plan`.
pub(crate) fn chunk_stream(chunks: Vec<ChatChunk>, timing: Timing, plan: CallPlan) -> ChatStream {
    struct State {
        chunks: VecDeque<ChatChunk>,
        sent: usize,
        timing: Timing,
        fail_after: Option<(usize, Error)>,
        done: bool,
    }
    let state = State {
        chunks: chunks.into(),
        sent: 0,
        timing,
        fail_after: plan.fail_after,
        done: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let wait = if s.sent == 0 {
            s.timing.first
        } else {
            s.timing.per_token
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if let Some((after, error)) = &s.fail_after {
            if s.sent >= *after {
                let error = error.clone();
                s.done = true;
                return Some((Err(error), s));
            }
        }
        let chunk = s.chunks.pop_front()?;
        s.sent += 1;
        Some((Ok(chunk), s))
    })
    .boxed()
}

/// A deterministic language model.
///
/// Each `chat` call takes the next scripted [`MockReply`] (one per round, so a tool-call round
/// and the answer after the tool result are two replies). With no reply scripted it echoes the
/// last user message as `"You said: <text>"` (or the last tool result as
/// `"Tool result: <text>"`). Replies stream as word-sized text deltas, then the tool calls,
/// then usage, then the finish reason. A reply longer than the request's `max_tokens` (counted
/// in deltas) is cut and finishes with `Length`. Every request is recorded for assertions.
///
/// ```
/// use agents_core::{ChatContext, ChatMessage, ChatRequest, Llm};
/// use agents_plugin_mock::{MockLlm, MockReply};
/// use futures_util::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let llm = MockLlm::builder().reply(MockReply::text("Hi there!")).build().unwrap();
/// let mut ctx = ChatContext::new();
/// ctx.push(ChatMessage::user("hello"));
/// let chunks: Vec<_> = llm.chat(ChatRequest::new(ctx.clone())).await.unwrap().collect().await;
/// assert!(matches!(&chunks[0], Ok(agents_core::ChatChunk::TextDelta { text }) if text == "Hi"));
/// // nothing scripted any more: echo
/// let text = agents_plugin_mock::collect_text(llm.chat(ChatRequest::new(ctx)).await.unwrap()).await.unwrap();
/// assert_eq!(text, "You said: hello");
/// assert_eq!(llm.requests().len(), 2);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MockLlm {
    model: String,
    script: Script<MockReply>,
    timing: Timing,
    faults: Faults,
    requests: Arc<Mutex<Vec<ChatRequest>>>,
}

/// Builds a [`MockLlm`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MockLlmBuilder {
    model: String,
    replies: Vec<MockReply>,
    cycle: bool,
    timing: Timing,
    faults: Faults,
}

impl Default for MockLlmBuilder {
    fn default() -> Self {
        MockLlmBuilder {
            model: "mock-llm".into(),
            replies: Vec::new(),
            cycle: false,
            timing: Timing::default(),
            faults: Faults::new(),
        }
    }
}

impl MockLlmBuilder {
    /// The model name reported by `info()` (default `"mock-llm"`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Queues a reply for the next round.
    pub fn reply(mut self, reply: MockReply) -> Self {
        self.replies.push(reply);
        self
    }

    /// Queues several replies, one per round.
    pub fn replies(mut self, replies: impl IntoIterator<Item = MockReply>) -> Self {
        self.replies.extend(replies);
        self
    }

    /// Reuses the replies in a loop (default off: echo once they are used up).
    pub fn cycle(mut self, cycle: bool) -> Self {
        self.cycle = cycle;
        self
    }

    /// Delay before the first chunk.
    pub fn latency(mut self, d: Duration) -> Self {
        self.timing.first = d;
        self
    }

    /// Delay between chunks.
    pub fn token_latency(mut self, d: Duration) -> Self {
        self.timing.per_token = d;
        self
    }

    /// Fails the next `n` `chat` calls with `error`.
    pub fn fail_next(self, n: usize, error: Error) -> Self {
        self.faults.fail_next(n, error);
        self
    }

    /// Makes the next stream fail after `items` chunks.
    pub fn fail_after(self, items: usize, error: Error) -> Self {
        self.faults.fail_after(items, error);
        self
    }

    /// Builds the mock; a scripted tool call without an id or name, or with arguments that
    /// are not JSON, is an `InvalidInput` error.
    pub fn build(self) -> Result<MockLlm> {
        for r in &self.replies {
            r.validate().map_err(|e| e.with_provider("mock"))?;
        }
        Ok(MockLlm {
            model: self.model,
            script: Script::new(self.replies, self.cycle),
            timing: self.timing,
            faults: self.faults,
            requests: Arc::default(),
        })
    }
}

impl Default for MockLlm {
    fn default() -> Self {
        Self::new()
    }
}

impl MockLlm {
    /// An echoing mock.
    #[must_use]
    pub fn new() -> Self {
        MockLlm {
            model: "mock-llm".into(),
            script: Script::new(Vec::new(), false),
            timing: Timing::default(),
            faults: Faults::new(),
            requests: Arc::default(),
        }
    }

    /// A builder.
    pub fn builder() -> MockLlmBuilder {
        MockLlmBuilder::default()
    }

    /// The fault handle (shared with clones).
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Queues another reply (shared with clones). A reply with invalid tool calls is an error.
    pub fn push_reply(&self, reply: MockReply) -> Result<()> {
        reply.validate()?;
        self.script.push(reply);
        Ok(())
    }

    /// Every request received, oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The reply for `request`: the next scripted one, or an echo.
    pub(crate) fn next_reply(&self, request: &ChatRequest) -> MockReply {
        self.script.next().unwrap_or_else(|| {
            let last = request.context.last();
            let text = match last {
                Some(m) if m.role == ChatRole::Tool => format!("Tool result: {}", m.text()),
                _ => format!(
                    "You said: {}",
                    request.context.last_user_text().unwrap_or_default()
                ),
            };
            MockReply::text(text)
        })
    }

    pub(crate) fn begin(&self, request: &ChatRequest) -> Result<CallPlan> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.clone());
        self.faults
            .begin_call()
            .map_err(|e| e.with_provider("mock"))
    }

    pub(crate) fn script_next(&self) -> Option<MockReply> {
        self.script.next()
    }

    pub(crate) fn timing(&self) -> Timing {
        self.timing
    }
}

#[async_trait]
impl Llm for MockLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("mock", self.model.clone())
    }

    fn capabilities(&self) -> LlmCapabilities {
        LlmCapabilities::default()
            .with_tools(true)
            .with_vision(true)
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let plan = self.begin(&request)?;
        let reply = self.next_reply(&request);
        Ok(chunk_stream(reply.chunks(&request), self.timing, plan))
    }
}

/// Collects a chat stream's text deltas; the first error is returned. A convenience for tests
/// and examples.
pub async fn collect_text(mut stream: ChatStream) -> Result<String> {
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        if let ChatChunk::TextDelta { text: t } = chunk? {
            text.push_str(&t);
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_concatenate() {
        let text = "  Hello,  world! How are\nyou? ";
        let parts = split_deltas(text);
        assert_eq!(parts.concat(), text);
        assert!(parts.len() >= 5);
        assert!(split_deltas("").is_empty());
    }

    #[test]
    fn bad_tool_arguments_are_rejected() {
        let err = MockLlm::builder()
            .reply(MockReply::tool_call(ToolCall::new("c", "f", "{not json")))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
    }
}
