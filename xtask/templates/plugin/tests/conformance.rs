//! Runs the `agents-testing` conformance suites on every {{Name}} provider against the local
//! emulator in `tests/emulator/`, plus the failure paths (bad key, server errors).
// {{#if http}}

mod emulator;
// {{/if}}

use agents_core::plugin::{Capability, Plugin};
// {{#if http}}
use agents_core::ErrorKind;
use agents_testing::conformance::ExpectedError;
use emulator::Emulator;
// {{/if}}
use {{crate_ident}}::{{{Name}}Plugin, PLUGIN_INFO};

#[test]
fn plugin_info_lists_the_capabilities() {
    assert_eq!(PLUGIN_INFO.name, "{{name}}");
    assert_eq!(PLUGIN_INFO.version, {{crate_ident}}::VERSION);
    let expected: &[Capability] = &[{{capabilities}}];
    assert_eq!({{Name}}Plugin.info().capabilities, expected);
    assert!(!{{Name}}Plugin.info().supports(Capability::TurnDetector));
}
// {{#if http}}

#[test]
fn a_missing_key_names_the_variable() {
    if std::env::var_os({{crate_ident}}::API_KEY_ENV).is_some() {
        return; // the developer's own key is set; nothing to check
    }
    let config = agents_core::ProviderConfig::new("{{name}}");
    let error = {{first_build}}(&config).err().expect("no key, no provider");
    assert_eq!(error.kind(), &ErrorKind::Auth);
    assert!(error.to_string().contains("{{ENV}}"), "{error}");
}

#[tokio::test]
async fn an_unknown_option_is_refused() {
    let emulator = Emulator::start().await;
    let config = emulator.config().with_option("no_such_option", 1);
    let error = {{first_build}}(&config).err().expect("refused");
    assert_eq!(error.kind(), &ErrorKind::InvalidInput);
}
// {{/if}}
// {{#if stt}}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stt_suite_passes() {
    use agents_testing::conformance::stt::{self, SttSuiteConfig};
    let emulator = Emulator::start().await;
    let stt = {{Name}}Plugin.build_stt(&emulator.config()).unwrap();
    stt::run(stt.as_ref(), &SttSuiteConfig::default())
        .await
        .assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stt_bad_key_is_an_auth_error() {
    use agents_testing::conformance::stt::{self, SttFailingConfig};
    let emulator = Emulator::start().await;
    let stt = {{Name}}Plugin
        .build_stt(&emulator.config().with_api_key("wrong"))
        .unwrap();
    let config = SttFailingConfig::new(ExpectedError::kind(ErrorKind::Auth).retryable(false))
        .with_stream(false);
    stt::run_failing(stt.as_ref(), &config).await.assert_passed();
}
// {{/if}}
// {{#if llm}}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_suite_passes() {
    use agents_testing::conformance::llm::{self, LlmSuiteConfig};
    let emulator = Emulator::start().await;
    let llm = {{Name}}Plugin.build_llm(&emulator.config()).unwrap();
    let config = LlmSuiteConfig::default()
        .with_tool_request(LlmSuiteConfig::weather_tool_request())
        .with_expect_usage(true);
    llm::run(llm.as_ref(), &config).await.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_server_errors_are_retried_then_reported() {
    use agents_testing::conformance::llm::{self, LlmFailingConfig};
    let emulator = Emulator::failing(503).await;
    let llm = {{Name}}Plugin.build_llm(&emulator.config()).unwrap();
    let config = LlmFailingConfig::new(
        ExpectedError::kind(ErrorKind::ProviderStatus { status: 503 }).retryable(true),
    );
    llm::run_failing(llm.as_ref(), &config).await.assert_passed();
}
// {{/if}}
// {{#if tts}}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tts_suite_passes() {
    use agents_testing::conformance::tts::{self, TtsSuiteConfig};
    let emulator = Emulator::start().await;
    let tts = {{Name}}Plugin.build_tts(&emulator.config()).unwrap();
    tts::run(tts.as_ref(), &TtsSuiteConfig::default())
        .await
        .assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tts_rate_limit_is_reported() {
    use agents_testing::conformance::tts::{self, TtsFailingConfig};
    let emulator = Emulator::failing(429).await;
    let tts = {{Name}}Plugin.build_tts(&emulator.config()).unwrap();
    let config = TtsFailingConfig::new(
        ExpectedError::kind(ErrorKind::RateLimited { retry_after: None }).retryable(true),
    )
    .with_stream(false);
    tts::run_failing(tts.as_ref(), &config).await.assert_passed();
}
// {{/if}}
// {{#if vad}}

#[test]
fn vad_suite_passes() {
    use agents_testing::conformance::vad::{self, VadSuiteConfig};
    let mut vad = {{Name}}Plugin
        .build_vad(&agents_core::ProviderConfig::new("{{name}}"))
        .unwrap();
    vad::run(vad.as_mut(), &VadSuiteConfig::default()).assert_passed();
}
// {{/if}}
// {{#if video}}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_llm_describes_the_frames() {
    use agents_core::{ChatContext, ChatMessage, ChatRequest, PixelFormat, VideoFrame};
    use agents_testing::conformance::llm::reply_text;
    use futures_util::StreamExt;

    let emulator = Emulator::start().await;
    let vision = {{Name}}Plugin.build_video_llm(&emulator.config()).unwrap();
    let frame = |i: u64| {
        VideoFrame::new(
            2,
            2,
            PixelFormat::Rgb24,
            vec![0u8; 12],
            std::time::Duration::from_millis(i * 100),
        )
        .unwrap()
    };
    let mut context = ChatContext::new();
    context.push(ChatMessage::user("What do you see?"));
    let frames = (0..6).map(frame).collect();
    let chunks: Vec<_> = vision
        .chat_with_frames(ChatRequest::new(context), frames)
        .await
        .unwrap()
        .collect()
        .await;
    let chunks: Vec<_> = chunks.into_iter().map(Result::unwrap).collect();
    assert_eq!(reply_text(&chunks), "I see 4 frames.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_llm_bad_key_is_an_auth_error() {
    use agents_core::{ChatContext, ChatMessage, ChatRequest};
    let emulator = Emulator::start().await;
    let vision = {{Name}}Plugin
        .build_video_llm(&emulator.config().with_api_key("wrong"))
        .unwrap();
    let mut context = ChatContext::new();
    context.push(ChatMessage::user("What do you see?"));
    let error = vision
        .chat_with_frames(ChatRequest::new(context), Vec::new())
        .await
        .err()
        .unwrap();
    ExpectedError::kind(ErrorKind::Auth)
        .retryable(false)
        .matches(&error)
        .unwrap();
}
// {{/if}}
// {{#if realtime}}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_answers_with_audio_and_text() {
    use agents_core::{AudioFormat, RealtimeEvent, RealtimeOptions, ResponseStatus};
    use futures_util::StreamExt;

    let emulator = Emulator::start().await;
    let model = {{Name}}Plugin.build_realtime(&emulator.config()).unwrap();
    let options = RealtimeOptions::default().with_output_format(AudioFormat::MONO_16K);
    let mut session = model.connect(&options).await.unwrap();
    let speech = agents_testing::fixtures::Fixture::Hello48k.load().unwrap();
    session.push_audio(speech).await.unwrap();
    session.commit_audio().await.unwrap();
    session.create_response().await.unwrap();
    let mut transcript = String::new();
    let mut audio = std::time::Duration::ZERO;
    let mut heard = false;
    while let Some(event) = tokio::time::timeout(std::time::Duration::from_secs(10), session.next())
        .await
        .expect("an event in time")
    {
        match event.unwrap() {
            RealtimeEvent::InputTranscript { .. } => heard = true,
            RealtimeEvent::Audio(frame) => {
                assert_eq!(frame.format(), AudioFormat::MONO_16K);
                audio += frame.duration();
            }
            RealtimeEvent::OutputTranscriptDelta(delta) => transcript.push_str(&delta),
            RealtimeEvent::ResponseDone { status, .. } => {
                assert_eq!(status, ResponseStatus::Completed);
                break;
            }
            _ => {}
        }
    }
    assert!(heard, "the input transcript came");
    assert_eq!(transcript, "Hello from {{name}}.");
    assert!(audio >= std::time::Duration::from_millis(150), "{audio:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_bad_key_is_an_auth_error() {
    use agents_core::RealtimeOptions;
    let emulator = Emulator::start().await;
    let model = {{Name}}Plugin
        .build_realtime(&emulator.config().with_api_key("wrong"))
        .unwrap();
    let error = model.connect(&RealtimeOptions::default()).await.err().unwrap();
    ExpectedError::kind(ErrorKind::Auth).matches(&error).unwrap();
}
// {{/if}}
