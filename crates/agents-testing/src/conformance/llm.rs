//! The language-model suite: rules llm-1 to llm-6 of the stream contract.
//!
//! ```no_run
//! use agents_testing::conformance::llm::{self, LlmSuiteConfig};
//!
//! # async fn demo(my_llm: &dyn agents_core::Llm) {
//! let config = LlmSuiteConfig::default().with_tool_request(LlmSuiteConfig::weather_tool_request());
//! llm::run(my_llm, &config).await.assert_passed();
//! # }
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant};

use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, Llm, ToolChoice, ToolDefinition,
};

use super::{Collector, ExpectedError, ExpectedText, Outcome, SuiteReport, Timeouts};

/// Configuration of the language-model suite.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LlmSuiteConfig {
    /// Bounded waits.
    pub timeouts: Timeouts,
    /// A plain request that should get a text reply.
    pub request: ChatRequest,
    /// What the reply's text must contain.
    pub expected_text: ExpectedText,
    /// A request that should get at least one tool call (rule llm-3); `None` skips it.
    pub tool_request: Option<ChatRequest>,
    /// Require a usage chunk.
    pub expect_usage: bool,
}

impl Default for LlmSuiteConfig {
    fn default() -> Self {
        let mut context = ChatContext::new().with_system("You are a helpful assistant. Be brief.");
        context.push(ChatMessage::user("Say hello."));
        LlmSuiteConfig {
            timeouts: Timeouts::default(),
            request: ChatRequest::new(context),
            expected_text: ExpectedText::AnyNonEmpty,
            tool_request: None,
            expect_usage: false,
        }
    }
}

impl LlmSuiteConfig {
    /// A request offering a `get_weather(city)` tool and asking for the weather in Paris, with
    /// a tool call required.
    #[must_use]
    pub fn weather_tool_request() -> ChatRequest {
        let mut context = ChatContext::new().with_system("Use the tools.");
        context.push(ChatMessage::user("What is the weather in Paris today?"));
        ChatRequest::new(context)
            .with_tools(vec![ToolDefinition::new(
                "get_weather",
                "Current weather in a city",
                serde_json::json!({
                    "type": "object",
                    "properties": { "city": { "type": "string" } },
                    "required": ["city"],
                }),
            )])
            .with_tool_choice(ToolChoice::Required)
    }

    /// Sets the bounded waits.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the plain request.
    #[must_use]
    pub fn with_request(mut self, request: ChatRequest) -> Self {
        self.request = request;
        self
    }

    /// Sets what the reply must contain.
    #[must_use]
    pub fn with_expected_text(mut self, expected: ExpectedText) -> Self {
        self.expected_text = expected;
        self
    }

    /// Sets the request that must get a tool call.
    #[must_use]
    pub fn with_tool_request(mut self, request: ChatRequest) -> Self {
        self.tool_request = Some(request);
        self
    }

    /// Requires a usage chunk.
    #[must_use]
    pub fn with_expect_usage(mut self, expect: bool) -> Self {
        self.expect_usage = expect;
        self
    }
}

/// Runs every rule against `llm` and reports each one.
pub async fn run(llm: &dyn Llm, config: &LlmSuiteConfig) -> SuiteReport {
    let mut report = SuiteReport::new("llm", llm.info().to_string());
    match collect(llm, config.request.clone(), config.timeouts.stream).await {
        Err(why) => report.record("llm-1", "chat answers", Outcome::Failed(why)),
        Ok((chunks, errors)) => {
            report.record_problems(
                "llm-5",
                "a healthy stream yields no error",
                errors.into_iter().map(|e| format!("got {e}")).collect(),
            );
            let text = reply_text(&chunks);
            report.record(
                "llm-2",
                "text deltas concatenate to the reply",
                match config.expected_text.check(&text) {
                    Ok(()) => Outcome::Passed,
                    Err(why) => Outcome::Failed(why),
                },
            );
            check_chunks(&chunks, &config.request, config.expect_usage, &mut report);
        }
    }
    match &config.tool_request {
        None => report.record(
            "llm-3",
            "a tool request gets complete tool calls",
            Outcome::Skipped("no tool request configured".into()),
        ),
        Some(request) => match collect(llm, request.clone(), config.timeouts.stream).await {
            Err(why) => report.record("llm-3", "a tool request gets complete tool calls", {
                Outcome::Failed(why)
            }),
            Ok((chunks, errors)) => {
                let mut problems: Vec<String> =
                    errors.into_iter().map(|e| format!("got {e}")).collect();
                if !chunks
                    .iter()
                    .any(|c| matches!(c, ChatChunk::ToolCall { .. }))
                {
                    problems.push("no tool call in the reply".into());
                }
                report.record_problems(
                    "llm-3",
                    "a tool request gets complete tool calls",
                    problems,
                );
                check_chunks(&chunks, request, config.expect_usage, &mut report);
            }
        },
    }
    check_drop(llm, config, &mut report).await;
    report
}

/// Calls `chat` and collects the stream to its end.
async fn collect(
    llm: &dyn Llm,
    request: ChatRequest,
    limit: Duration,
) -> Result<(Vec<ChatChunk>, Vec<String>), String> {
    let stream = tokio::time::timeout(limit, llm.chat(request))
        .await
        .map_err(|_| format!("chat did not answer within {limit:?}"))?
        .map_err(|e| format!("chat failed: {e}"))?;
    let mut c = Collector::new(stream, limit);
    if !c.read_to_end(limit).await {
        return Err(format!("the stream did not end within {limit:?}"));
    }
    let errors = c.errors();
    Ok((c.items.into_iter().filter_map(Result::ok).collect(), errors))
}

/// The concatenated text deltas.
#[must_use]
pub fn reply_text(chunks: &[ChatChunk]) -> String {
    chunks
        .iter()
        .filter_map(|c| match c {
            ChatChunk::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Checks rules llm-3 and llm-4 on a complete, successful stream.
pub fn check_chunks(
    chunks: &[ChatChunk],
    request: &ChatRequest,
    expect_usage: bool,
    report: &mut SuiteReport,
) {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    let tools: HashSet<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
    for (i, c) in chunks.iter().enumerate() {
        if let ChatChunk::ToolCall { call } = c {
            if call.id.is_empty() || call.name.is_empty() {
                problems.push(format!("tool call {i} lacks an id or a name: {call:?}"));
            }
            if !ids.insert(call.id.clone()) {
                problems.push(format!("tool call id {:?} yielded twice", call.id));
            }
            if !tools.is_empty() && !tools.contains(call.name.as_str()) {
                problems.push(format!("tool call {i} names unknown tool {:?}", call.name));
            }
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&call.arguments) {
                problems.push(format!(
                    "tool call {i} arguments {:?} are not JSON: {e}",
                    call.arguments
                ));
            }
        }
    }
    report.record_problems(
        "llm-3",
        "each tool call once, complete, with JSON arguments",
        problems,
    );

    let mut problems = Vec::new();
    let usages: Vec<usize> = positions(chunks, |c| matches!(c, ChatChunk::Usage { .. }));
    let finishes: Vec<usize> = positions(chunks, |c| matches!(c, ChatChunk::Finish { .. }));
    if usages.len() > 1 {
        problems.push(format!("usage yielded {} times", usages.len()));
    }
    if expect_usage && usages.is_empty() {
        problems.push("no usage chunk".into());
    }
    if let Some(&u) = usages.first() {
        if chunks[u + 1..]
            .iter()
            .any(|c| !matches!(c, ChatChunk::Finish { .. } | ChatChunk::Usage { .. }))
        {
            problems.push(format!("content follows the usage chunk ({u})"));
        }
    }
    match finishes.as_slice() {
        [] => problems.push("no finish reason".into()),
        [f] if *f + 1 != chunks.len() => problems.push(format!(
            "the finish reason is chunk {f} of {}, not the last",
            chunks.len()
        )),
        [_] => {}
        many => problems.push(format!("finish reason yielded {} times", many.len())),
    }
    report.record_problems(
        "llm-4",
        "usage at most once; finish reason once and last",
        problems,
    );
}

fn positions(chunks: &[ChatChunk], pred: impl Fn(&ChatChunk) -> bool) -> Vec<usize> {
    chunks
        .iter()
        .enumerate()
        .filter(|(_, c)| pred(c))
        .map(|(i, _)| i)
        .collect()
}

/// llm-6: dropping a stream after its first chunk returns at once, and the provider serves the
/// next request.
pub async fn check_drop(llm: &dyn Llm, config: &LlmSuiteConfig, report: &mut SuiteReport) {
    let name = "dropping a stream stops it in bounded time";
    let limit = config.timeouts.stream;
    let stream = match tokio::time::timeout(limit, llm.chat(config.request.clone())).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            report.record("llm-6", name, Outcome::Failed(format!("chat failed: {e}")));
            return;
        }
        Err(_) => {
            report.record("llm-6", name, Outcome::Failed("chat did not answer".into()));
            return;
        }
    };
    let mut c = Collector::new(stream, config.timeouts.event);
    let _ = c.until(0, config.timeouts.event, |_| true).await;
    let started = Instant::now();
    drop(c.into_stream());
    let took = started.elapsed();
    let mut problems = Vec::new();
    if took > config.timeouts.drop {
        problems.push(format!("dropping the stream took {took:?}"));
    }
    if let Err(why) = collect(llm, config.request.clone(), limit).await {
        problems.push(format!("the next request after a drop failed: {why}"));
    }
    report.record_problems("llm-6", name, problems);
}

/// Configuration of [`run_failing`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LlmFailingConfig {
    /// Bounded waits.
    pub timeouts: Timeouts,
    /// The request sent.
    pub request: ChatRequest,
    /// The expected error.
    pub expected: ExpectedError,
}

impl LlmFailingConfig {
    /// Expects `expected` for the default request.
    #[must_use]
    pub fn new(expected: ExpectedError) -> Self {
        LlmFailingConfig {
            timeouts: Timeouts::default(),
            request: LlmSuiteConfig::default().request,
            expected,
        }
    }

    /// Sets the bounded waits.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the request.
    #[must_use]
    pub fn with_request(mut self, request: ChatRequest) -> Self {
        self.request = request;
        self
    }
}

/// Checks that a failing provider reports one classified error (one `chat` call): either
/// `chat` itself fails with it (llm-1), or the stream yields it once, last, after the text
/// already yielded, then ends (llm-5).
pub async fn run_failing(llm: &dyn Llm, config: &LlmFailingConfig) -> SuiteReport {
    let mut report = SuiteReport::new("llm-failing", llm.info().to_string());
    let limit = config.timeouts.stream;
    match tokio::time::timeout(limit, llm.chat(config.request.clone())).await {
        Err(_) => report.record(
            "llm-1",
            "chat fails with a classified error",
            Outcome::Failed("chat did not answer in time".into()),
        ),
        Ok(Err(e)) => report.record(
            "llm-1",
            "chat fails with a classified error",
            match config.expected.matches(&e) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            },
        ),
        Ok(Ok(stream)) => {
            let mut c = Collector::new(stream, config.timeouts.event);
            let ended = c.read_to_end(limit).await;
            let mut outcome = super::stt::failing_outcome(&c.items, ended, &config.expected);
            if outcome == Outcome::Passed
                && c.oks().any(|ch| matches!(ch, ChatChunk::Finish { .. }))
            {
                outcome = Outcome::Failed("a finish reason came before the error".into());
            }
            report.record(
                "llm-5",
                "a mid-stream failure yields one classified Err, then the end",
                outcome,
            );
        }
    }
    report
}
