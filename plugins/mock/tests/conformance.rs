//! Runs the agents-testing conformance suites on every mock.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use agents_core::{AudioFormat, Error, ErrorKind};
use agents_plugin_mock::{MockLlm, MockReply, MockStt, MockTts, MockVad, MockVideoLlm};
use agents_testing::conformance::{
    ExpectedError, ExpectedText,
    llm::{self, LlmFailingConfig, LlmSuiteConfig},
    stt::{self, SttFailingConfig, SttSuiteConfig},
    tts::{self, TtsFailingConfig, TtsSuiteConfig},
    vad::{self, VadSuiteConfig},
};
use agents_testing::fixtures::Fixture;

fn weather_stt() -> MockStt {
    MockStt::builder()
        .transcript(Fixture::Weather16k.text())
        .cycle(true)
        .build()
        .unwrap()
}

fn stt_config() -> SttSuiteConfig {
    SttSuiteConfig::default()
        .with_fixture(Fixture::Weather16k)
        .with_expected_text(ExpectedText::Contains("weather in Paris".into()))
        .with_expect_interim(true)
}

#[tokio::test(start_paused = true)]
async fn stt_suite_passes() {
    let report = stt::run(&weather_stt(), &stt_config().with_format_fixtures(vec![])).await;
    report.assert_passed();
    for rule in [
        "stt-2", "stt-3", "stt-4", "stt-5", "stt-6", "stt-7", "stt-8", "stt-9",
    ] {
        assert!(report.passed(rule), "{rule} did not run:\n{report}");
    }
}

#[tokio::test(start_paused = true)]
async fn stt_suite_passes_unscripted_with_padded_speech() {
    let config = SttSuiteConfig::default()
        .with_fixture(Fixture::HelloPadded16k)
        .with_expected_text(ExpectedText::Contains("speech".into()))
        .with_format_fixtures(vec![]);
    stt::run(&MockStt::new(), &config).await.assert_passed();
}

#[tokio::test(start_paused = true)]
async fn stt_suite_passes_with_realtime_pacing_and_latency() {
    let stt = MockStt::builder()
        .transcript("hello")
        .cycle(true)
        .latency(std::time::Duration::from_millis(30))
        .build()
        .unwrap();
    let config = SttSuiteConfig::default()
        .with_fixture(Fixture::HelloPadded16k)
        .with_realtime_pacing(true)
        .with_frame_duration(std::time::Duration::from_millis(100))
        .with_format_fixtures(vec![]);
    stt::run(&stt, &config).await.assert_passed();
}

/// stt-1: audio at 48 kHz mono and 44.1 kHz stereo is converted by the core.
#[tokio::test(start_paused = true)]
async fn stt_format_conversion() {
    let config =
        stt_config().with_format_fixtures(vec![Fixture::Hello48k, Fixture::HelloStereo44k]);
    let report = stt::run(&weather_stt(), &config).await;
    report.assert_passed();
    assert!(report.passed("stt-1"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn stt_failing_suites() {
    let stt = MockStt::builder()
        .fail_next(2, Error::provider_status(503, "overloaded"))
        .build()
        .unwrap();
    let expected = ExpectedError::kind(ErrorKind::ProviderStatus { status: 503 }).retryable(true);
    stt::run_failing(&stt, &SttFailingConfig::new(expected))
        .await
        .assert_passed();

    let stt = MockStt::builder()
        .fail_next(2, Error::auth("invalid key"))
        .build()
        .unwrap();
    let expected = ExpectedError::kind(ErrorKind::Auth).retryable(false);
    stt::run_failing(&stt, &SttFailingConfig::new(expected))
        .await
        .assert_passed();

    // mid-stream: three events, then a connection error
    let stt = MockStt::builder()
        .transcript("hello")
        .fail_after(3, Error::connection("reset by peer"))
        .build()
        .unwrap();
    let config =
        SttFailingConfig::new(ExpectedError::kind(ErrorKind::Connection)).with_recognize(false);
    stt::run_failing(&stt, &config).await.assert_passed();
}

#[tokio::test(start_paused = true)]
async fn stt_failing_suite_fails_on_a_healthy_provider() {
    let report =
        stt::run_failing(&weather_stt(), &SttFailingConfig::new(ExpectedError::any())).await;
    assert!(report.failed("stt-9"), "{report}");
    assert!(report.failed("stt-7"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn tts_suite_passes() {
    let report = tts::run(
        &MockTts::new(),
        &TtsSuiteConfig::default().with_output_formats(vec![]),
    )
    .await;
    report.assert_passed();
    for rule in ["tts-1", "tts-2", "tts-3", "tts-4", "tts-5", "tts-6"] {
        assert!(report.passed(rule), "{rule} did not run:\n{report}");
    }
}

#[tokio::test(start_paused = true)]
async fn tts_suite_passes_with_non_ascii_texts() {
    let config = TtsSuiteConfig::default()
        .with_texts(
            "Grüße", // 7 bytes: the middle falls inside "ü"
            "Ça va très bien, merci — et vous, à Zürich aujourd’hui ?",
        )
        .with_output_formats(vec![]);
    tts::run(&MockTts::new(), &config).await.assert_passed();
}

#[tokio::test(start_paused = true)]
async fn tts_suite_passes_without_word_timings_and_with_pacing() {
    let tts = MockTts::builder()
        .word_timings(false)
        .latency(std::time::Duration::from_millis(20))
        .frame_latency(std::time::Duration::from_millis(1))
        .build()
        .unwrap();
    let report = tts::run(&tts, &TtsSuiteConfig::default().with_output_formats(vec![])).await;
    report.assert_passed();
}

/// tts-1: the caller asks for 16 kHz and 48 kHz; the core converts from 24 kHz.
#[tokio::test(start_paused = true)]
async fn tts_format_conversion() {
    let config = TtsSuiteConfig::default()
        .with_output_formats(vec![AudioFormat::MONO_16K, AudioFormat::MONO_48K]);
    tts::run(&MockTts::new(), &config).await.assert_passed();
}

#[tokio::test(start_paused = true)]
async fn tts_failing_suites() {
    let tts = MockTts::builder()
        .fail_next(2, Error::provider_status(503, "busy"))
        .build()
        .unwrap();
    let expected = ExpectedError::kind(ErrorKind::ProviderStatus { status: 503 }).retryable(true);
    tts::run_failing(&tts, &TtsFailingConfig::new(expected))
        .await
        .assert_passed();

    let tts = MockTts::new();
    tts.faults().fail_after(3, Error::connection("dropped"));
    tts.faults().fail_after(2, Error::connection("dropped"));
    tts::run_failing(
        &tts,
        &TtsFailingConfig::new(ExpectedError::kind(ErrorKind::Connection)),
    )
    .await
    .assert_passed();
}

#[tokio::test(start_paused = true)]
async fn llm_suite_passes_scripted_and_echo() {
    let llm = MockLlm::builder()
        .reply(MockReply::text("Hello! How can I help you today?"))
        .reply(
            MockReply::text("Let me check.").with_tool_call(agents_core::ToolCall::new(
                "call_1",
                "get_weather",
                r#"{"city":"Paris"}"#,
            )),
        )
        .build()
        .unwrap();
    let config = LlmSuiteConfig::default()
        .with_expected_text(ExpectedText::Contains("how can I help".into()))
        .with_tool_request(LlmSuiteConfig::weather_tool_request())
        .with_expect_usage(true);
    let report = llm::run(&llm, &config).await;
    report.assert_passed();
    for rule in ["llm-2", "llm-3", "llm-4", "llm-5", "llm-6"] {
        assert!(report.passed(rule), "{rule} did not run:\n{report}");
    }
    // echo mode
    let report = llm::run(
        &MockLlm::new(),
        &LlmSuiteConfig::default().with_expected_text(ExpectedText::Contains("say hello".into())),
    )
    .await;
    report.assert_passed();
}

#[tokio::test(start_paused = true)]
async fn llm_suite_passes_with_latency() {
    let llm = MockLlm::builder()
        .latency(std::time::Duration::from_millis(20))
        .token_latency(std::time::Duration::from_millis(2))
        .build()
        .unwrap();
    llm::run(&llm, &LlmSuiteConfig::default())
        .await
        .assert_passed();
}

#[tokio::test(start_paused = true)]
async fn llm_failing_suites() {
    let llm = MockLlm::builder()
        .fail_next(1, Error::auth("bad key"))
        .build()
        .unwrap();
    let report = llm::run_failing(
        &llm,
        &LlmFailingConfig::new(ExpectedError::kind(ErrorKind::Auth).retryable(false)),
    )
    .await;
    report.assert_passed();
    assert!(report.passed("llm-1"));

    let llm = MockLlm::builder()
        .reply(MockReply::text("one two three four five"))
        .fail_after(2, Error::connection("reset"))
        .build()
        .unwrap();
    let report = llm::run_failing(
        &llm,
        &LlmFailingConfig::new(ExpectedError::kind(ErrorKind::Connection).retryable(true)),
    )
    .await;
    report.assert_passed();
    assert!(report.passed("llm-5"));
}

/// The video model's chat stream obeys the LLM contract too.
#[tokio::test(start_paused = true)]
async fn video_llm_stream_obeys_the_llm_contract() {
    use agents_core::{ChatChunk, PixelFormat, VideoFrame, VideoLlm};
    use futures::StreamExt;
    let vlm = MockVideoLlm::new();
    let frame = VideoFrame::new(
        4,
        2,
        PixelFormat::Rgb24,
        vec![0u8; 24],
        std::time::Duration::from_secs(2),
    )
    .unwrap();
    let request = LlmSuiteConfig::default().request;
    let chunks: Vec<ChatChunk> = vlm
        .chat_with_frames(request.clone(), vec![frame.clone(), frame])
        .await
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
        .await;
    let mut report = agents_testing::conformance::SuiteReport::new("video-llm", "mock");
    llm::check_chunks(&chunks, &request, true, &mut report);
    report.assert_passed();
    assert_eq!(
        llm::reply_text(&chunks),
        "I see 2 frames; the latest is 4x2 at 2.0 s."
    );
}

#[test]
fn vad_suite_passes() {
    let report = vad::run(&mut MockVad::new(), &VadSuiteConfig::default());
    report.assert_passed();
    assert!(report.passed("vad-1") && report.passed("vad-3"), "{report}");
}
