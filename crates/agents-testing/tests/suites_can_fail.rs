//! The suites can fail: deliberately broken providers must be reported, rule by rule.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::time::Duration;

use agents_core::stt::{SttInput, SttStreamBackend};
use agents_core::tts::{TtsInput, TtsStreamBackend};
use agents_core::{
    AudioFormat, AudioFrame, ChatChunk, ChatRequest, ChatStream, Error, FinishReason, Llm,
    ProviderInfo, RecognizeOptions, Result, SpeechAlternative, SpeechEvent, Stt, SttCapabilities,
    SttStream, SttStreamOptions, SynthesizeOptions, TokenUsage, ToolCall, Tts, TtsAudioStream,
    TtsCapabilities, TtsEvent, TtsStream, WordTiming, async_trait,
};
use agents_testing::conformance::{
    ExpectedError, ExpectedText, Timeouts,
    llm::{self, LlmFailingConfig, LlmSuiteConfig},
    stt::{self, SttFailingConfig, SttSuiteConfig},
    tts::{self, TtsSuiteConfig},
};
use futures_util::StreamExt;

fn short() -> Timeouts {
    Timeouts::default()
        .with_stream(Duration::from_millis(500))
        .with_event(Duration::from_millis(300))
        .with_drop(Duration::from_millis(300))
}

fn span(text: &str, start_ms: u64, end_ms: u64) -> SpeechAlternative {
    SpeechAlternative {
        text: text.into(),
        start: Duration::from_millis(start_ms),
        end: Duration::from_millis(end_ms),
        ..Default::default()
    }
}

/// Sends a scripted, contract-breaking event sequence, and on flush sends nothing.
struct BadOrderStt;

#[async_trait]
impl Stt for BadOrderStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("broken", "bad-order")
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(AudioFormat::MONO_16K)
            .with_streaming(true)
            .with_interim_results(true)
    }

    async fn recognize_native(&self, _: &AudioFrame, _: &RecognizeOptions) -> Result<SpeechEvent> {
        // the wrong kind
        Ok(SpeechEvent::interim(span("what is", 0, 500)))
    }

    async fn stream(&self, _: &SttStreamOptions) -> Result<SttStream> {
        let (stream, backend) = SttStream::channel(AudioFormat::MONO_16K);
        tokio::spawn(async move {
            let SttStreamBackend {
                mut input, events, ..
            } = backend;
            loop {
                tokio::select! {
                    () = events.cancelled() => return,
                    i = input.recv() => match i {
                        None | Some(SttInput::EndInput) => break,
                        Some(_) => {}
                    },
                }
            }
            let script = [
                SpeechEvent::start_of_speech(),
                SpeechEvent::interim(span("what", 0, 400)),
                SpeechEvent::final_transcript(span("what is", 0, 1000)),
                // stt-2: an interim after the final of its own utterance
                SpeechEvent::interim(span("what is the", 0, 1100)),
                // stt-3: cumulative final
                SpeechEvent::final_transcript(span("what is the weather", 1000, 2000)),
                // stt-4: a final going back in time
                SpeechEvent::final_transcript(span("in paris", 500, 800)),
                SpeechEvent::end_of_speech(),
            ];
            for ev in script {
                if events.send(ev).await.is_err() {
                    return;
                }
            }
        });
        Ok(stream)
    }
}

/// Never ends after end_input and ignores the caller dropping its events.
struct NeverEndsStt;

#[async_trait]
impl Stt for NeverEndsStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("broken", "never-ends")
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(AudioFormat::MONO_16K).with_streaming(true)
    }

    async fn recognize_native(&self, _: &AudioFrame, _: &RecognizeOptions) -> Result<SpeechEvent> {
        Ok(SpeechEvent::final_text(
            "what is the weather in paris today",
        ))
    }

    async fn stream(&self, _: &SttStreamOptions) -> Result<SttStream> {
        let (stream, backend) = SttStream::channel(AudioFormat::MONO_16K);
        tokio::spawn(async move {
            let SttStreamBackend {
                mut input, events, ..
            } = backend;
            // keeps the event sender alive and drains input forever
            let _keep = events;
            loop {
                if input.recv().await.is_none() {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
        });
        Ok(stream)
    }
}

#[tokio::test(start_paused = true)]
async fn broken_stt_order_is_reported() {
    let config = SttSuiteConfig::default()
        .with_timeouts(short())
        .with_expect_interim(true)
        .with_format_fixtures(vec![]);
    let report = stt::run(&BadOrderStt, &config).await;
    assert!(!report.is_passed());
    for rule in ["stt-2", "stt-3", "stt-4", "stt-5", "stt-9"] {
        assert!(report.failed(rule), "{rule} should fail:\n{report}");
    }
    let text = report.to_string();
    assert!(text.contains("Interim"), "{text}");
    assert!(text.contains("cumulative"), "{text}");
    assert!(text.contains("before an earlier Final"), "{text}");
    assert!(text.contains("expected a Final event"), "{text}");
    // it ends properly and closes on drop
    assert!(report.passed("stt-6"), "{report}");
    assert!(report.passed("stt-8"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn stt_that_never_ends_is_reported() {
    let config = SttSuiteConfig::default()
        .with_timeouts(short())
        .with_format_fixtures(vec![]);
    let report = stt::run(&NeverEndsStt, &config).await;
    assert!(report.failed("stt-6"), "{report}");
    assert!(report.failed("stt-8"), "{report}");
    assert!(report.failed("stt-5"), "{report}");
    assert!(report.passed("stt-9"), "{report}");
    let text = report.to_string();
    assert!(text.contains("did not end"), "{text}");
    assert!(text.contains("still took audio"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn wrong_transcript_and_wrong_error_kind_are_reported() {
    let config = SttSuiteConfig::default()
        .with_timeouts(short())
        .with_expected_text(ExpectedText::Contains("book a table".into()))
        .with_format_fixtures(vec![]);
    let report = stt::run(&NeverEndsStt, &config).await;
    assert!(report.failed("stt-9"), "{report}");

    // a provider that answers instead of failing fails the failing suite
    let report = stt::run_failing(
        &NeverEndsStt,
        &SttFailingConfig::new(ExpectedError::kind(agents_core::ErrorKind::Auth))
            .with_timeouts(short()),
    )
    .await;
    assert!(report.failed("stt-9"), "{report}");
    assert!(report.failed("stt-7"), "{report}");
}

/// Ignores the requested format, gives the same audio for any text, never sends SegmentEnd,
/// puts word timings past the audio, and ignores flush.
struct BrokenTts;

fn tone_16k() -> AudioFrame {
    AudioFrame::new(vec![3000i16; 1600], AudioFormat::MONO_16K).unwrap()
}

#[async_trait]
impl Tts for BrokenTts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("broken", "tts")
    }

    fn capabilities(&self) -> TtsCapabilities {
        TtsCapabilities::new(AudioFormat::MONO_16K)
            .with_streaming(true)
            .with_word_timings(true)
    }

    async fn synthesize(
        &self,
        _text: &str,
        _options: &SynthesizeOptions,
    ) -> Result<TtsAudioStream> {
        // the caller's format is ignored
        let (tx, stream) =
            TtsAudioStream::channel(AudioFormat::MONO_16K, &SynthesizeOptions::default());
        tokio::spawn(async move {
            let late = WordTiming {
                word: "hello".into(),
                start: Duration::from_millis(50),
                end: Duration::from_secs(5),
                confidence: None,
            };
            tx.send(TtsEvent::Words(vec![late])).await?;
            tx.send(TtsEvent::Audio(tone_16k())).await
        });
        Ok(stream)
    }

    async fn stream(&self, _options: &SynthesizeOptions) -> Result<TtsStream> {
        let (stream, backend) =
            TtsStream::channel(AudioFormat::MONO_16K, &SynthesizeOptions::default());
        tokio::spawn(async move {
            let TtsStreamBackend {
                mut input, events, ..
            } = backend;
            let _keep = events.clone();
            loop {
                match input.recv().await {
                    Some(TtsInput::Text(_)) => {
                        let _ = events.send(TtsEvent::Audio(tone_16k())).await;
                    }
                    Some(_) => {}
                    None => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            }
        });
        Ok(stream)
    }
}

#[tokio::test(start_paused = true)]
async fn broken_tts_is_reported() {
    let config = TtsSuiteConfig::default()
        .with_timeouts(short())
        .with_output_formats(vec![AudioFormat::MONO_48K]);
    let report = tts::run(&BrokenTts, &config).await;
    assert!(!report.is_passed());
    for rule in ["tts-1", "tts-2", "tts-3", "tts-4", "tts-5", "tts-6"] {
        assert!(report.failed(rule), "{rule} should fail:\n{report}");
    }
    let text = report.to_string();
    assert!(
        text.contains("the caller asked for 48000 Hz mono"),
        "{text}"
    );
    assert!(text.contains("expected one SegmentEnd, got 0"), "{text}");
    assert!(text.contains("longer"), "{text}");
    assert!(text.contains("after the audio"), "{text}");
}

/// Breaks the chat stream contract: a tool call with arguments that are not JSON, yielded
/// twice; usage twice; a finish reason that is not last.
struct BrokenLlm;

#[async_trait]
impl Llm for BrokenLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("broken", "llm")
    }

    async fn chat(&self, _request: ChatRequest) -> Result<ChatStream> {
        let call = ToolCall::new("c1", "get_weather", "{\"city\": \"Par");
        let usage = TokenUsage::default();
        Ok(futures_util::stream::iter(vec![
            Ok(ChatChunk::ToolCall { call: call.clone() }),
            Ok(ChatChunk::ToolCall { call }),
            Ok(ChatChunk::Usage { usage }),
            Ok(ChatChunk::Finish {
                reason: FinishReason::Stop,
            }),
            Ok(ChatChunk::Usage { usage }),
        ])
        .boxed())
    }
}

#[tokio::test(start_paused = true)]
async fn broken_llm_is_reported() {
    let config = LlmSuiteConfig::default()
        .with_timeouts(short())
        .with_tool_request(LlmSuiteConfig::weather_tool_request());
    let report = llm::run(&BrokenLlm, &config).await;
    for rule in ["llm-2", "llm-3", "llm-4"] {
        assert!(report.failed(rule), "{rule} should fail:\n{report}");
    }
    let text = report.to_string();
    assert!(text.contains("not JSON"), "{text}");
    assert!(text.contains("yielded twice"), "{text}");
    assert!(text.contains("usage yielded 2 times"), "{text}");
    assert!(text.contains("not the last"), "{text}");
}

/// Fails mid-stream but keeps going after the error chunk... which the core's channel
/// prevents, so this one yields two errors through a plain stream.
struct TwoErrorsLlm;

#[async_trait]
impl Llm for TwoErrorsLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("broken", "two-errors")
    }

    async fn chat(&self, _request: ChatRequest) -> Result<ChatStream> {
        Ok(futures_util::stream::iter(vec![
            Ok(ChatChunk::text("partial")),
            Err(Error::connection("reset")),
            Err(Error::connection("reset again")),
        ])
        .boxed())
    }
}

#[tokio::test(start_paused = true)]
async fn llm_failing_suite_reports_extra_errors_and_wrong_kinds() {
    let report = llm::run_failing(
        &TwoErrorsLlm,
        &LlmFailingConfig::new(ExpectedError::kind(agents_core::ErrorKind::Connection))
            .with_timeouts(short()),
    )
    .await;
    assert!(report.failed("llm-5"), "{report}");
    assert!(report.to_string().contains("2 errors"), "{report}");

    let report = llm::run_failing(
        &BrokenLlm,
        &LlmFailingConfig::new(ExpectedError::any()).with_timeouts(short()),
    )
    .await;
    assert!(report.failed("llm-5"), "{report}");
}

/// Opens streams but never reads their input: pushes block. The suites must report it and
/// not hang.
struct DeafStt;

#[async_trait]
impl Stt for DeafStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("broken", "deaf")
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(AudioFormat::MONO_16K).with_streaming(true)
    }

    async fn recognize_native(&self, _: &AudioFrame, _: &RecognizeOptions) -> Result<SpeechEvent> {
        std::future::pending().await
    }

    async fn stream(&self, _: &SttStreamOptions) -> Result<SttStream> {
        let (stream, backend) = SttStream::channel(AudioFormat::MONO_16K);
        tokio::spawn(async move {
            let _keep = backend;
            std::future::pending::<()>().await;
        });
        Ok(stream)
    }
}

#[tokio::test(start_paused = true)]
async fn a_provider_that_stops_reading_is_reported_not_hung() {
    let config = SttSuiteConfig::default()
        .with_timeouts(short())
        .with_format_fixtures(vec![]);
    let report = tokio::time::timeout(Duration::from_secs(60), stt::run(&DeafStt, &config))
        .await
        .expect("the suite must not hang");
    for rule in ["stt-5", "stt-6", "stt-8", "stt-9"] {
        assert!(report.failed(rule), "{rule} should fail:\n{report}");
    }
    assert!(
        report.to_string().contains("stopped reading input"),
        "{report}"
    );
}

/// Hears speech everywhere and takes frames of any size.
struct AlwaysSpeech;

impl agents_core::Vad for AlwaysSpeech {
    fn input_format(&self) -> AudioFormat {
        AudioFormat::MONO_16K
    }

    fn frame_samples(&self) -> usize {
        160
    }

    fn speech_probability(&mut self, _frame: &[i16]) -> Result<f32> {
        Ok(1.5)
    }

    fn reset(&mut self) {}
}

#[test]
fn broken_vad_is_reported() {
    use agents_testing::conformance::vad::{self, VadSuiteConfig};
    let report = vad::run(&mut AlwaysSpeech, &VadSuiteConfig::default());
    assert!(report.failed("vad-1"), "{report}");
    assert!(report.failed("vad-3"), "{report}");
    let text = report.to_string();
    assert!(text.contains("speech starts in silence"), "{text}");
    assert!(text.contains("outside [0, 1]"), "{text}");
}
