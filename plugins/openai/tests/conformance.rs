//! The shared conformance suites (`agents_testing::conformance`) against the real plugin and the
//! OpenAI emulator: healthy streams, and failing ones (each fault must surface as one classified
//! error).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{ConnectOptions, ErrorKind};
use agents_plugin_openai::{OpenAiLlm, OpenAiStt, OpenAiTts};
use agents_testing::conformance::llm::{self, LlmFailingConfig, LlmSuiteConfig};
use agents_testing::conformance::stt::{self, SttFailingConfig, SttSuiteConfig};
use agents_testing::conformance::tts::{self, TtsFailingConfig, TtsSuiteConfig};
use agents_testing::conformance::{ExpectedError, ExpectedText};
use agents_testing::emulators::openai::{
    ChatFault, ChatReply, ErrorReply, OpenAiEmulator, SpeechReply,
};

fn fast() -> ConnectOptions {
    ConnectOptions::default()
        .with_max_retries(1)
        .with_retry_interval(Duration::from_millis(5))
        .with_max_interval(Duration::from_millis(10))
        .with_timeout(Duration::from_secs(5))
}

fn llm(emu: &OpenAiEmulator) -> OpenAiLlm {
    OpenAiLlm::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .connect_options(fast())
        .build()
        .unwrap()
}

#[tokio::test]
async fn llm_suite() {
    let emu = OpenAiEmulator::start().await.unwrap();
    // Replies to the plain request, then the tool request, then the drop check's two requests.
    emu.set_default_chat(
        ChatReply::text(["Hello", ", ", "wörld", "!"])
            .with_split(3)
            .with_keepalive_comments(),
    );
    let tool_reply = ChatReply::text(Vec::<String>::new())
        .with_tool_call("call_1", "get_weather", r#"{"city":"Paris"}"#)
        .with_tool_call("call_2", "get_weather", r#"{"city":"Lyon"}"#);
    emu.push(agents_testing::emulators::openai::Reply::Chat(
        ChatReply::text(["Hello", ", ", "wörld", "!"]),
    ));
    emu.push(agents_testing::emulators::openai::Reply::Chat(tool_reply));
    let config = LlmSuiteConfig::default()
        .with_tool_request(LlmSuiteConfig::weather_tool_request())
        .with_expected_text(ExpectedText::Contains("wörld".into()))
        .with_expect_usage(true);
    llm::run(&llm(&emu), &config).await.assert_passed();
}

#[tokio::test]
async fn llm_failing_suites() {
    let cases: Vec<(&str, Option<ErrorReply>, Option<ChatReply>, ExpectedError)> = vec![
        (
            "401",
            Some(ErrorReply::unauthorized()),
            None,
            ExpectedError::kind(ErrorKind::Auth).retryable(false),
        ),
        (
            "404 model",
            Some(ErrorReply::model_not_found("gpt-x")),
            None,
            ExpectedError::kind(ErrorKind::Unsupported).retryable(false),
        ),
        (
            "insufficient quota",
            Some(ErrorReply::insufficient_quota()),
            None,
            ExpectedError::kind(ErrorKind::QuotaExceeded).retryable(false),
        ),
        (
            "503 forever",
            Some(ErrorReply::server_error(503)),
            None,
            ExpectedError::kind(ErrorKind::ProviderStatus { status: 503 }).retryable(true),
        ),
        (
            "429 forever",
            Some(ErrorReply::rate_limited(None, Some("5"))),
            None,
            ExpectedError::kind(ErrorKind::RateLimited {
                retry_after: Some(Duration::from_millis(5)),
            }),
        ),
        (
            "drop mid-stream",
            None,
            Some(ChatReply::numbered(10).with_fault(3, ChatFault::Drop)),
            ExpectedError::kind(ErrorKind::Connection).retryable(true),
        ),
        (
            "malformed chunk",
            None,
            Some(ChatReply::numbered(10).with_fault(3, ChatFault::Malformed)),
            ExpectedError::kind(ErrorKind::Protocol),
        ),
        (
            "error event",
            None,
            Some(ChatReply::numbered(10).with_fault(3, ChatFault::ErrorEvent)),
            ExpectedError::kind(ErrorKind::ProviderStatus { status: 500 }),
        ),
    ];
    for (name, error, chat, expected) in cases {
        let emu = OpenAiEmulator::start().await.unwrap();
        emu.set_default_error(error);
        if let Some(c) = chat {
            emu.set_default_chat(c);
        }
        let report = llm::run_failing(&llm(&emu), &LlmFailingConfig::new(expected)).await;
        assert!(report.is_passed(), "{name}: {report:?}");
    }
}

fn tts(emu: &OpenAiEmulator) -> OpenAiTts {
    OpenAiTts::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .connect_options(fast())
        .build()
        .unwrap()
}

#[tokio::test]
async fn tts_suite() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_default_speech(SpeechReply::default().with_chunks(vec![999, 1, 2001]));
    tts::run(&tts(&emu), &TtsSuiteConfig::default())
        .await
        .assert_passed();
}

#[tokio::test]
async fn tts_failing_suites() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_default_error(Some(ErrorReply::unauthorized()));
    let report = tts::run_failing(
        &tts(&emu),
        &TtsFailingConfig::new(ExpectedError::kind(ErrorKind::Auth)).with_stream(false),
    )
    .await;
    assert!(report.is_passed(), "{report:?}");

    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_default_speech(
        SpeechReply::default()
            .with_chunks(vec![1000])
            .with_drop_after(2),
    );
    let report = tts::run_failing(
        &tts(&emu),
        &TtsFailingConfig::new(ExpectedError::kind(ErrorKind::Connection).retryable(true))
            .with_stream(false),
    )
    .await;
    assert!(report.is_passed(), "{report:?}");
}

fn stt(emu: &OpenAiEmulator) -> OpenAiStt {
    OpenAiStt::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .connect_options(fast())
        .build()
        .unwrap()
}

#[tokio::test]
async fn stt_suite() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_transcription("What is the weather in Paris today?");
    stt::run(
        &stt(&emu),
        &SttSuiteConfig::default().with_expected_text(ExpectedText::Contains("weather".into())),
    )
    .await
    .assert_passed();
}

#[tokio::test]
async fn stt_failing_suites() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_default_error(Some(ErrorReply::insufficient_quota()));
    let report = stt::run_failing(
        &stt(&emu),
        &SttFailingConfig::new(ExpectedError::kind(ErrorKind::QuotaExceeded).retryable(false))
            .with_stream(false),
    )
    .await;
    assert!(report.is_passed(), "{report:?}");
}
