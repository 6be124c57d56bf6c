//! Stream and fallback adapters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, Error, ErrorKind, Llm, SpeechEventKind, Stt,
    SttStreamOptions, SynthesizeOptions, Tts, TtsEvent, Vad,
};
use agents_runtime::adapters::{
    FallbackEvent, FallbackLlm, FallbackOptions, FallbackTts, SttStreamAdapter, TtsStreamAdapter,
};
use agents_runtime::vad::VadOptions;
use common::*;
use futures_util::StreamExt;

fn request() -> ChatRequest {
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("hi"));
    ChatRequest::new(ctx)
}

async fn collect_text(llm: &dyn Llm) -> agents_core::Result<String> {
    let mut s = llm.chat(request()).await?;
    let mut text = String::new();
    while let Some(c) = s.next().await {
        if let ChatChunk::TextDelta { text: t } = c? {
            text.push_str(&t);
        }
    }
    Ok(text)
}

fn named(name: &'static str, script: Vec<Vec<ChatChunk>>) -> Arc<ScriptedLlm> {
    let mut llm = ScriptedLlm::new(script);
    Arc::get_mut(&mut llm).unwrap().name = name;
    llm
}

#[tokio::test(start_paused = true)]
async fn llm_fallback_switches_on_retryable_failure_and_recovers() {
    let primary = named("primary", vec![]);
    primary
        .fail_with
        .lock()
        .unwrap()
        .push_back(Error::provider_status(503, "overloaded"));
    let backup = named("backup", vec![ScriptedLlm::text("from backup")]);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let fallback = FallbackLlm::new(
        vec![primary.clone(), backup.clone()],
        FallbackOptions::default().with_probe_interval(Duration::from_secs(1)),
    )
    .unwrap()
    .with_listener(Arc::new(move |e| sink.lock().unwrap().push(e)))
    .unwrap();

    assert_eq!(collect_text(&fallback).await.unwrap(), "from backup");
    assert!(!fallback.is_available(0));
    assert!(matches!(
        events.lock().unwrap()[0],
        FallbackEvent::ProviderFailed { .. }
    ));
    // the probe succeeds (the primary's failure was one-off) and the primary is used again
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(fallback.is_available(0));
    assert!(matches!(
        events.lock().unwrap().last().unwrap(),
        FallbackEvent::ProviderRecovered { .. }
    ));
    primary
        .script
        .lock()
        .unwrap()
        .push_back(ScriptedLlm::text("from primary"));
    assert_eq!(collect_text(&fallback).await.unwrap(), "from primary");
}

#[tokio::test(start_paused = true)]
async fn llm_fallback_does_not_switch_on_final_errors() {
    let primary = named("primary", vec![]);
    primary
        .fail_with
        .lock()
        .unwrap()
        .push_back(Error::auth("bad key"));
    let backup = named("backup", vec![ScriptedLlm::text("from backup")]);
    let fallback =
        FallbackLlm::new(vec![primary, backup.clone()], FallbackOptions::default()).unwrap();
    let err = collect_text(&fallback).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert!(backup.requests.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn llm_fallback_switches_on_timeout_but_never_after_output() {
    let slow = {
        let mut llm = ScriptedLlm::new(vec![ScriptedLlm::text("too late")]);
        let m = Arc::get_mut(&mut llm).unwrap();
        m.token_delay = Duration::from_secs(5);
        m.name = "slow";
        llm
    };
    let backup = named("backup", vec![ScriptedLlm::text("quick")]);
    let fallback = FallbackLlm::new(
        vec![slow, backup],
        FallbackOptions::default().with_attempt_timeout(Duration::from_secs(1)),
    )
    .unwrap();
    assert_eq!(collect_text(&fallback).await.unwrap(), "quick");

    // output started, then a failure: it reaches the caller, no switch
    let broken = named(
        "broken",
        vec![vec![ChatChunk::text("partial "), ChatChunk::text("answer")]],
    );
    let backup = named("backup2", vec![ScriptedLlm::text("never used")]);
    let fallback =
        FallbackLlm::new(vec![broken, backup.clone()], FallbackOptions::default()).unwrap();
    let mut s = fallback.chat(request()).await.unwrap();
    let first = s.next().await.unwrap().unwrap();
    assert_eq!(first, ChatChunk::text("partial "));
    assert!(backup.requests.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn all_providers_failing_is_one_clear_error() {
    let a = named("a", vec![]);
    a.fail_with
        .lock()
        .unwrap()
        .push_back(Error::connection("refused"));
    let b = named("b", vec![]);
    b.fail_with
        .lock()
        .unwrap()
        .push_back(Error::timeout("slow"));
    let fallback = FallbackLlm::new(vec![a, b], FallbackOptions::default()).unwrap();
    let err = collect_text(&fallback).await.unwrap_err();
    assert!(err.to_string().contains("all 2 providers failed"), "{err}");
    assert!(err.is_retryable());
    assert!(FallbackLlm::new(vec![], FallbackOptions::default()).is_err());
}

#[tokio::test(start_paused = true)]
async fn tts_fallback_switches_before_the_first_audio() {
    struct Failing;
    #[agents_core::async_trait]
    impl Tts for Failing {
        fn info(&self) -> agents_core::ProviderInfo {
            agents_core::ProviderInfo::new("failing", "tts")
        }
        fn capabilities(&self) -> agents_core::TtsCapabilities {
            agents_core::TtsCapabilities::new(FMT)
        }
        async fn synthesize(
            &self,
            _: &str,
            options: &SynthesizeOptions,
        ) -> agents_core::Result<agents_core::TtsAudioStream> {
            let (tx, out) = agents_core::TtsAudioStream::channel(FMT, options);
            tokio::spawn(async move {
                let _ = tx.send_error(Error::connection("dropped")).await;
            });
            Ok(out)
        }
    }
    let fallback = FallbackTts::new(
        vec![
            Arc::new(Failing),
            Arc::new(BuzzTts {
                first_audio_delay: Duration::ZERO,
            }),
        ],
        FallbackOptions::default(),
    )
    .unwrap();
    let mut audio = fallback
        .synthesize("hello", &SynthesizeOptions::default())
        .await
        .unwrap();
    let mut total = Duration::ZERO;
    while let Some(ev) = audio.next().await {
        if let TtsEvent::Audio(f) = ev.unwrap() {
            total += f.duration();
        }
    }
    assert_eq!(total, Duration::from_millis(200));
    assert!(!fallback.is_available(0));
}

#[tokio::test(start_paused = true)]
async fn stt_stream_adapter_turns_utterances_into_finals() {
    let inner = ScriptedStt::new(&["first utterance", "second utterance"]);
    let adapter = SttStreamAdapter::new(
        inner,
        Arc::new(|| Box::new(EnergyVad) as Box<dyn Vad>),
        VadOptions::default()
            .with_min_silence_duration(Duration::from_millis(200))
            .with_min_speech_duration(Duration::from_millis(40)),
    );
    assert!(adapter.capabilities().streaming);
    let mut stream = adapter.stream(&SttStreamOptions::default()).await.unwrap();
    let clip = audio(&[
        (false, 200),
        (true, 500),
        (false, 400),
        (true, 300),
        (false, 400),
    ]);
    for chunk in clip.samples().chunks(320) {
        stream
            .push_frame(agents_core::AudioFrame::new(chunk.to_vec(), FMT).unwrap())
            .await
            .unwrap();
    }
    stream.end_input().await.unwrap();
    let mut kinds = Vec::new();
    let mut finals = Vec::new();
    let mut last_end = Duration::ZERO;
    while let Some(ev) = stream.next().await {
        let ev = ev.unwrap();
        if ev.kind == SpeechEventKind::Final {
            finals.push(ev.text().to_string());
            let alt = &ev.alternatives[0];
            assert!(alt.start >= last_end && alt.end > alt.start, "{alt:?}");
            last_end = alt.end;
        }
        kinds.push(ev.kind);
    }
    assert_eq!(finals, ["first utterance", "second utterance"]);
    assert_eq!(
        kinds,
        [
            SpeechEventKind::StartOfSpeech,
            SpeechEventKind::Final,
            SpeechEventKind::EndOfSpeech,
            SpeechEventKind::StartOfSpeech,
            SpeechEventKind::Final,
            SpeechEventKind::EndOfSpeech
        ]
    );
    assert!(stream.push_frame(audio(&[(true, 20)])).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn tts_stream_adapter_synthesizes_sentence_by_sentence() {
    struct WholeText(BuzzTts);
    #[agents_core::async_trait]
    impl Tts for WholeText {
        fn info(&self) -> agents_core::ProviderInfo {
            self.0.info()
        }
        fn capabilities(&self) -> agents_core::TtsCapabilities {
            agents_core::TtsCapabilities::new(FMT)
        }
        async fn synthesize(
            &self,
            text: &str,
            options: &SynthesizeOptions,
        ) -> agents_core::Result<agents_core::TtsAudioStream> {
            self.0.synthesize(text, options).await
        }
    }
    let adapter = TtsStreamAdapter::new(Arc::new(WholeText(BuzzTts {
        first_audio_delay: Duration::ZERO,
    })));
    let mut stream = adapter
        .stream(
            &SynthesizeOptions::default().with_output_format(agents_core::AudioFormat::MONO_48K),
        )
        .await
        .unwrap();
    stream.push_text("Hello there. How").await.unwrap();
    stream.push_text(" are you?").await.unwrap();
    stream.flush().await.unwrap();
    stream.push_text("Fine").await.unwrap();
    stream.end_input().await.unwrap();
    let mut segments = vec![Duration::ZERO];
    while let Some(ev) = stream.next().await {
        match ev.unwrap() {
            TtsEvent::Audio(f) => {
                assert_eq!(f.format(), agents_core::AudioFormat::MONO_48K);
                *segments.last_mut().unwrap() += f.duration();
            }
            TtsEvent::SegmentEnd => segments.push(Duration::ZERO),
            _ => {}
        }
    }
    // "Hello there." (12) + "How are you?" (12), then "Fine" (4), 40 ms per character
    assert_eq!(
        segments,
        [
            Duration::from_millis(960),
            Duration::from_millis(160),
            Duration::ZERO
        ]
    );
}
