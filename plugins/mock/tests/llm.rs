//! MockLlm behaviour: scripted rounds with tool calls, echo, latency, failure injection.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, Error, ErrorKind, FinishReason, Llm,
    TokenUsage, ToolCall,
};
use agents_plugin_mock::{MockLlm, MockReply, collect_text};
use futures::StreamExt;

fn request(text: &str) -> ChatRequest {
    let mut ctx = ChatContext::new().with_system("Be brief.");
    ctx.push(ChatMessage::user(text));
    ChatRequest::new(ctx)
}

async fn chunks(llm: &MockLlm, req: ChatRequest) -> Vec<agents_core::Result<ChatChunk>> {
    llm.chat(req).await.unwrap().collect().await
}

#[tokio::test]
async fn a_tool_round_then_an_answer() {
    let calls = [
        ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#),
        ToolCall::new("call_2", "get_time", r#"{"tz":"Europe/Paris"}"#),
    ];
    let llm = MockLlm::builder()
        .reply(
            MockReply::text("Checking.")
                .with_tool_call(calls[0].clone())
                .with_tool_call(calls[1].clone()),
        )
        .reply(
            MockReply::text("Sunny, 21 degrees.").with_usage(TokenUsage {
                prompt_tokens: 10,
                completion_tokens: 5,
                cached_tokens: 0,
                total_tokens: 15,
            }),
        )
        .build()
        .unwrap();
    let got: Vec<ChatChunk> = chunks(&llm, request("Weather?"))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got[0], ChatChunk::text("Checking."));
    assert_eq!(
        got[1],
        ChatChunk::ToolCall {
            call: calls[0].clone()
        }
    );
    assert_eq!(
        got[2],
        ChatChunk::ToolCall {
            call: calls[1].clone()
        }
    );
    assert!(matches!(got[3], ChatChunk::Usage { .. }));
    assert_eq!(
        got[4],
        ChatChunk::Finish {
            reason: FinishReason::ToolCalls
        }
    );
    assert_eq!(got.len(), 5);

    let got: Vec<ChatChunk> = chunks(&llm, request("Weather?"))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let text: String = got
        .iter()
        .filter_map(|c| match c {
            ChatChunk::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Sunny, 21 degrees.");
    assert_eq!(
        got.iter()
            .filter(|c| matches!(c, ChatChunk::TextDelta { .. }))
            .count(),
        3
    );
    assert!(got.contains(&ChatChunk::Usage {
        usage: TokenUsage {
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_tokens: 0,
            total_tokens: 15
        }
    }));
    assert_eq!(llm.requests().len(), 2);
}

#[tokio::test]
async fn echo_without_a_script() {
    let llm = MockLlm::new();
    let text = collect_text(llm.chat(request("ping")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(text, "You said: ping");
    let mut ctx = request("weather?").context;
    ctx.push(ChatMessage::assistant_tool_calls(
        "",
        vec![ToolCall::new("c", "w", "{}")],
    ));
    ctx.push(ChatMessage::tool_result("c", "sunny"));
    let text = collect_text(llm.chat(ChatRequest::new(ctx)).await.unwrap())
        .await
        .unwrap();
    assert_eq!(text, "Tool result: sunny");
}

#[tokio::test]
async fn cycling_replies_repeat() {
    let llm = MockLlm::builder()
        .replies([MockReply::text("a"), MockReply::text("b")])
        .cycle(true)
        .build()
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            collect_text(llm.chat(request("x")).await.unwrap())
                .await
                .unwrap(),
        );
    }
    assert_eq!(got, ["a", "b", "a"]);
}

#[tokio::test(start_paused = true)]
async fn latency_and_token_latency() {
    let llm = MockLlm::builder()
        .reply(MockReply::text("one two three four"))
        .latency(Duration::from_secs(1))
        .token_latency(Duration::from_millis(100))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut stream = llm.chat(request("x")).await.unwrap();
    stream.next().await.unwrap().unwrap();
    let first = started.elapsed();
    assert!(
        first >= Duration::from_secs(1) && first < Duration::from_millis(1050),
        "{first:?}"
    );
    while stream.next().await.is_some() {}
    // 4 deltas + usage + finish: 5 gaps of 100 ms after the first
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn failures_before_and_during_the_stream() {
    let llm = MockLlm::builder()
        .reply(MockReply::text("one two three four"))
        .fail_next(
            1,
            Error::rate_limited("slow down", Some(Duration::from_millis(10))),
        )
        .fail_after(2, Error::connection("reset"))
        .build()
        .unwrap();
    let err = llm.chat(request("x")).await.err().unwrap();
    assert_eq!(err.retry_after(), Some(Duration::from_millis(10)));
    let got = chunks(&llm, request("x")).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].as_ref().unwrap(), &ChatChunk::text("one"));
    assert_eq!(got[1].as_ref().unwrap(), &ChatChunk::text(" two"));
    assert_eq!(got[2].as_ref().unwrap_err().kind(), &ErrorKind::Connection);
    // the failure was for one stream only; the echo follows
    let text = collect_text(llm.chat(request("x")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(text, "You said: x");
}

#[test]
fn bad_scripts_are_errors() {
    let err = MockLlm::builder()
        .reply(MockReply::tool_call(ToolCall::new("", "f", "{}")))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("needs an id"), "{err}");
    let llm = MockLlm::new();
    assert!(
        llm.push_reply(MockReply::tool_call(ToolCall::new("c", "f", "[1,")))
            .is_err()
    );
}

#[tokio::test]
async fn max_tokens_cuts_the_reply() {
    let llm = MockLlm::builder()
        .reply(MockReply::text("one two three four five"))
        .build()
        .unwrap();
    let got: Vec<ChatChunk> = chunks(&llm, request("x").with_max_tokens(2))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got[0], ChatChunk::text("one"));
    assert_eq!(got[1], ChatChunk::text(" two"));
    assert!(matches!(got[2], ChatChunk::Usage { .. }));
    assert_eq!(
        got[3],
        ChatChunk::Finish {
            reason: FinishReason::Length
        }
    );
    assert_eq!(got.len(), 4);
}
