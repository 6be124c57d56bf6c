//! The shared LLM conformance suite against the OpenRouter plugin and the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{ConnectOptions, ErrorKind};
use agents_plugin_openrouter::OpenRouterLlm;
use agents_testing::conformance::ExpectedError;
use agents_testing::conformance::llm::{self, LlmFailingConfig, LlmSuiteConfig};
use agents_testing::emulators::openai::{ChatFault, ChatReply, ErrorReply, OpenAiEmulator};

fn llm(emu: &OpenAiEmulator) -> OpenRouterLlm {
    OpenRouterLlm::builder()
        .api_key("sk-or-test")
        .base_url(format!("{}/api/v1", emu.server().http_url()))
        .connect_options(
            ConnectOptions::default()
                .with_max_retries(1)
                .with_retry_interval(Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn llm_suite() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_default_chat(
        ChatReply::text(["Hi", " there"])
            .with_processing_comments(3)
            .with_tool_call("call_1", "get_weather", r#"{"city":"Paris"}"#)
            .with_finish_reason("stop"),
    );
    let config = LlmSuiteConfig::default()
        .with_tool_request(LlmSuiteConfig::weather_tool_request())
        .with_expect_usage(true);
    llm::run(&llm(&emu), &config).await.assert_passed();
}

#[tokio::test]
async fn llm_failing_suites() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_default_error(Some(ErrorReply::openrouter_credits()));
    let report = llm::run_failing(
        &llm(&emu),
        &LlmFailingConfig::new(ExpectedError::kind(ErrorKind::QuotaExceeded).retryable(false)),
    )
    .await;
    assert!(report.is_passed(), "{report:?}");

    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_default_chat(ChatReply::numbered(8).with_fault(4, ChatFault::OpenRouterError));
    let report = llm::run_failing(
        &llm(&emu),
        &LlmFailingConfig::new(ExpectedError::kind(ErrorKind::ProviderStatus {
            status: 500,
        })),
    )
    .await;
    assert!(report.is_passed(), "{report:?}");
}
