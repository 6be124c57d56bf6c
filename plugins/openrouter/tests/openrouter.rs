//! The OpenRouter LLM over real sockets against the OpenAI-compatible emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, ConnectOptions, Error, ErrorKind,
    FinishReason, Llm, ToolCall,
};
use agents_plugin_openrouter::{OpenRouterLlm, ProviderPreferences};
use agents_testing::emulators::openai::{ChatFault, ChatReply, ErrorReply, OpenAiEmulator, Reply};
use futures::StreamExt;
use serde_json::json;

fn fast() -> ConnectOptions {
    ConnectOptions::default()
        .with_max_retries(2)
        .with_retry_interval(Duration::from_millis(5))
        .with_max_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_secs(5))
}

fn base(emu: &OpenAiEmulator) -> String {
    // OpenRouter's path prefix is /api/v1; the emulator matches on the path's end.
    format!("{}/api/v1", emu.server().http_url())
}

fn llm(emu: &OpenAiEmulator) -> OpenRouterLlm {
    OpenRouterLlm::builder()
        .api_key("sk-or-test")
        .base_url(base(emu))
        .model("openai/gpt-4o-mini")
        .connect_options(fast())
        .build()
        .unwrap()
}

fn hello() -> ChatRequest {
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("Hello"));
    ChatRequest::new(ctx)
}

async fn run(llm: &OpenRouterLlm) -> (String, Vec<ChatChunk>, Option<Error>) {
    let mut stream = llm.chat(hello()).await.unwrap();
    let (mut text, mut chunks, mut error) = (String::new(), Vec::new(), None);
    while let Some(item) = stream.next().await {
        assert!(error.is_none(), "nothing may follow an error");
        match item {
            Ok(ChatChunk::TextDelta { text: t }) => text.push_str(&t),
            Ok(c) => chunks.push(c),
            Err(e) => error = Some(e),
        }
    }
    (text, chunks, error)
}

#[tokio::test]
async fn sends_headers_routing_and_fallbacks() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let llm = OpenRouterLlm::builder()
        .api_key("sk-or-test")
        .base_url(base(&emu))
        .model("anthropic/claude-sonnet-4.5")
        .fallback_models(["openai/gpt-4o-mini", "google/gemini-2.5-pro"])
        .app_url("https://example.com/app")
        .app_name("Agents test")
        .provider_preferences(ProviderPreferences {
            order: Some(vec!["anthropic".into(), "openai".into()]),
            allow_fallbacks: Some(false),
            sort: Some("latency".into()),
            ..Default::default()
        })
        .connect_options(fast())
        .build()
        .unwrap();
    let (text, _, err) = run(&llm).await;
    assert!(err.is_none());
    assert_eq!(text, "Hello from the emulator.");
    let r = &emu.requests_to("/api/v1/chat/completions")[0];
    assert_eq!(r.bearer(), Some("sk-or-test"));
    assert_eq!(r.header("http-referer"), Some("https://example.com/app"));
    assert_eq!(r.header("x-title"), Some("Agents test"));
    let body = r.json().unwrap();
    assert_eq!(body["model"], "anthropic/claude-sonnet-4.5");
    assert_eq!(
        body["models"],
        json!([
            "anthropic/claude-sonnet-4.5",
            "openai/gpt-4o-mini",
            "google/gemini-2.5-pro"
        ])
    );
    assert_eq!(
        body["provider"],
        json!({"order": ["anthropic", "openai"], "allow_fallbacks": false, "sort": "latency"})
    );
    assert_eq!(body["stream"], true);
}

#[tokio::test]
async fn processing_comments_are_ignored() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["Bon", "jour"])
            .with_processing_comments(5)
            .with_split(7)
            .with_tool_call("call_1", "f", r#"{"a":[1,2,3]}"#),
    ));
    let (text, chunks, err) = run(&llm(&emu)).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(text, "Bonjour");
    assert_eq!(
        chunks[0],
        ChatChunk::ToolCall {
            call: ToolCall::new("call_1", "f", r#"{"a":[1,2,3]}"#)
        }
    );
    assert_eq!(
        chunks.last(),
        Some(&ChatChunk::Finish {
            reason: FinishReason::ToolCalls
        })
    );
}

#[tokio::test]
async fn error_chunk_after_tokens_is_an_error_after_the_text() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["Once ", "upon ", "a time"])
            .with_processing_comments(1)
            .with_fault(2, ChatFault::OpenRouterError),
    ));
    emu.push(Reply::Chat(
        ChatReply::text(["Once ", "upon"]).with_fault(1, ChatFault::OpenRouterErrorNumeric),
    ));
    let llm = llm(&emu);
    let (text, chunks, err) = run(&llm).await;
    assert_eq!(text, "Once upon ");
    assert!(chunks.is_empty(), "no finish after an error: {chunks:?}");
    let err = err.unwrap();
    assert_eq!(err.provider(), Some("openrouter"));
    assert_eq!(
        err.provider_message(),
        Some("Provider disconnected unexpectedly")
    );
    let (text, _, err) = run(&llm).await;
    assert_eq!(text, "Once ");
    let err = err.unwrap();
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        err.provider_message(),
        Some("Upstream provider returned an invalid response")
    );
    assert_eq!(emu.requests_to("/chat/completions").len(), 2);
}

#[tokio::test]
async fn no_credits_is_final_with_the_message() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Error(
        ErrorReply::openrouter_credits().with_header("retry-after", "1"),
    ));
    let err = llm(&emu).chat(hello()).await.err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::QuotaExceeded);
    assert!(!err.is_retryable());
    assert!(
        err.provider_message()
            .unwrap()
            .starts_with("Insufficient credits")
    );
    assert_eq!(emu.requests_to("/chat/completions").len(), 1);
}

#[tokio::test]
async fn rate_limit_then_success() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Error(ErrorReply::rate_limited(Some("0.05"), None)));
    emu.push(Reply::Error(ErrorReply::server_error(503)));
    let (text, _, err) = run(&llm(&emu)).await;
    assert!(err.is_none());
    assert_eq!(text, "Hello from the emulator.");
    assert_eq!(emu.requests_to("/chat/completions").len(), 3);
}

#[tokio::test]
async fn missing_key_names_the_variable() {
    if std::env::var("OPENROUTER_API_KEY").is_ok() {
        return;
    }
    let err = OpenRouterLlm::builder().build().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert!(err.to_string().contains("OPENROUTER_API_KEY"), "{err}");
}

#[tokio::test]
async fn debug_hides_the_key_and_config_builds() {
    use agents_core::plugin::{Plugin, ProviderConfig};
    let llm = OpenRouterLlm::builder()
        .api_key("sk-or-v1-secret")
        .build()
        .unwrap();
    assert!(!format!("{llm:?}").contains("sk-or-v1-secret"));
    let emu = OpenAiEmulator::start().await.unwrap();
    let cfg = ProviderConfig::new("openrouter")
        .with_api_key("sk-or-test")
        .with_base_url(base(&emu))
        .with_option("app_name", "cfg app")
        .with_option("provider", json!({"only": ["openai"]}))
        .with_connect_options(fast());
    let llm = agents_plugin_openrouter::OpenRouterPlugin
        .build_llm(&cfg)
        .unwrap();
    assert_eq!(llm.info().model, "openrouter/auto");
    let mut s = llm.chat(hello().with_max_tokens(9)).await.unwrap();
    while s.next().await.is_some() {}
    let r = &emu.requests_to("/chat/completions")[0];
    assert_eq!(r.header("x-title"), Some("cfg app"));
    let body = r.json().unwrap();
    assert_eq!(body["provider"], json!({"only": ["openai"]}));
    assert_eq!(body["max_tokens"], 9);
    let bad = cfg.with_option("provider", json!({"sorting": "price"}));
    assert!(
        agents_plugin_openrouter::OpenRouterPlugin
            .build_llm(&bad)
            .is_err()
    );
}
