//! MockStt behaviour: energy segmentation, scripted and derived transcripts, flush, latency,
//! failure injection.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use agents_core::{
    AudioFormat, AudioFrame, Error, ErrorKind, RecognizeOptions, SpeechEvent, SpeechEventKind, Stt,
    SttStreamOptions,
};
use agents_plugin_mock::MockStt;
use agents_testing::fixtures::{self, Fixture};
use futures::StreamExt;

async fn stream_fixture(stt: &MockStt, fixture: Fixture) -> Vec<agents_core::Result<SpeechEvent>> {
    let audio = fixture.load().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    let mut open = true;
    for f in fixtures::chunk(&audio, Duration::from_millis(20)).unwrap() {
        // after a mid-stream failure the input side is closed
        if let Err(e) = stream.push_frame(f).await {
            assert_eq!(e.kind(), &ErrorKind::Closed);
            open = false;
            break;
        }
    }
    if open {
        stream.end_input().await.unwrap();
    }
    let (mut input, events) = stream.split();
    let out: Vec<_> = events.collect().await;
    assert!(input.flush().await.is_err());
    out
}

#[tokio::test]
async fn padded_speech_is_one_utterance_with_word_by_word_interims() {
    let stt = MockStt::builder()
        .transcript("hello can you hear me")
        .build()
        .unwrap();
    let events: Vec<SpeechEvent> = stream_fixture(&stt, Fixture::HelloPadded16k)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let kinds: Vec<SpeechEventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first(), Some(&SpeechEventKind::StartOfSpeech));
    let n = kinds.len();
    assert_eq!(
        &kinds[n - 3..],
        &[
            SpeechEventKind::Final,
            SpeechEventKind::EndOfSpeech,
            SpeechEventKind::Usage
        ],
        "{kinds:?}"
    );
    assert!(
        kinds[1..n - 3]
            .iter()
            .all(|k| *k == SpeechEventKind::Interim)
    );
    let interims: Vec<&str> = events[1..n - 3].iter().map(SpeechEvent::text).collect();
    assert_eq!(&interims[..3], &["hello", "hello can", "hello can you"]);
    assert_eq!(*interims.last().unwrap(), "hello can you hear me");
    let fin = &events[n - 3].alternatives[0];
    assert_eq!(fin.text, "hello can you hear me");
    // speech starts after the 0.5 s of padding and ends before the trailing padding
    assert!(
        fin.start >= Duration::from_millis(460) && fin.start <= Duration::from_millis(540),
        "{:?}",
        fin.start
    );
    let total = Fixture::HelloPadded16k.load().unwrap().duration();
    assert!(
        fin.end <= total - Duration::from_millis(460),
        "{:?}",
        fin.end
    );
    assert!(fin.end > fin.start + Duration::from_secs(1));
    let usage = events[n - 1].usage.unwrap();
    assert_eq!(usage.audio_duration, total);
    assert_eq!(stt.queued_transcripts(), 0);
}

#[tokio::test]
async fn unscripted_speech_is_labelled_by_its_duration() {
    let stt = MockStt::new();
    let audio = Fixture::HelloPadded16k.load().unwrap();
    let ev = stt
        .recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap();
    assert_eq!(ev.kind, SpeechEventKind::Final);
    let text = ev.text();
    assert!(
        text.starts_with("<speech 1.") && text.ends_with("s>"),
        "{text}"
    );
    let silence = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_secs(1)).unwrap();
    let ev = stt
        .recognize(&silence, &RecognizeOptions::default())
        .await
        .unwrap();
    assert_eq!(ev.text(), "");
    // empty audio is an error, not a panic
    let empty = AudioFrame::empty(AudioFormat::MONO_16K).unwrap();
    let err = stt
        .recognize(&empty, &RecognizeOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
}

#[tokio::test]
async fn resampled_input_is_heard() {
    let stt = MockStt::new();
    for fixture in [Fixture::Hello48k, Fixture::HelloStereo44k] {
        let audio = fixture.load().unwrap();
        let ev = stt
            .recognize(&audio, &RecognizeOptions::default())
            .await
            .unwrap();
        assert!(
            ev.text().starts_with("<speech 1."),
            "{fixture}: {}",
            ev.text()
        );
    }
}

#[tokio::test]
async fn flush_finalizes_and_the_stream_goes_on() {
    let stt = MockStt::builder()
        .transcripts(["one", "two"])
        .build()
        .unwrap();
    let audio = Fixture::Weather16k.load().unwrap();
    let frames = fixtures::chunk(&audio, Duration::from_millis(20)).unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    for f in &frames {
        stream.push_frame(f.clone()).await.unwrap();
    }
    stream.flush().await.unwrap();
    let mut finals = Vec::new();
    while let Some(ev) = stream.next().await {
        let ev = ev.unwrap();
        if ev.kind == SpeechEventKind::Final {
            finals.push(ev.text().to_string());
            break;
        }
    }
    for f in &frames {
        stream.push_frame(f.clone()).await.unwrap();
    }
    stream.end_input().await.unwrap();
    while let Some(ev) = stream.next().await {
        let ev = ev.unwrap();
        if ev.kind == SpeechEventKind::Final {
            finals.push(ev.text().to_string());
        }
    }
    assert_eq!(finals, ["one", "two"]);
}

#[tokio::test]
async fn interim_results_can_be_turned_off() {
    let stt = MockStt::builder().interim_results(false).build().unwrap();
    assert!(!stt.capabilities().interim_results);
    let events = stream_fixture(&stt, Fixture::Weather16k).await;
    assert!(
        events
            .iter()
            .all(|e| e.as_ref().unwrap().kind != SpeechEventKind::Interim)
    );
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_answer() {
    let stt = MockStt::builder()
        .latency(Duration::from_millis(700))
        .build()
        .unwrap();
    let audio = Fixture::Weather16k.load().unwrap();
    let started = tokio::time::Instant::now();
    stt.recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(700));
}

#[tokio::test]
async fn injected_failures_then_recovery() {
    let stt = MockStt::builder()
        .fail_next(1, Error::provider_status(503, "overloaded"))
        .build()
        .unwrap();
    let audio = Fixture::Weather16k.load().unwrap();
    let err = stt
        .recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(503));
    assert!(
        stt.recognize(&audio, &RecognizeOptions::default())
            .await
            .is_ok()
    );
    assert_eq!(stt.faults().calls(), 2);
    assert_eq!(stt.faults().failed_calls(), 1);

    // a final error injected later through the shared handle
    let clone = stt.clone();
    stt.faults().fail_next(1, Error::auth("key revoked"));
    let err = clone
        .stream(&SttStreamOptions::default())
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn mid_stream_failure_after_k_events() {
    let stt = MockStt::builder()
        .fail_after(2, Error::connection("reset by peer"))
        .build()
        .unwrap();
    let events = stream_fixture(&stt, Fixture::Weather16k).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events[0].is_ok() && events[1].is_ok());
    assert_eq!(
        events[2].as_ref().unwrap_err().kind(),
        &ErrorKind::Connection
    );
}

#[test]
fn builder_rejects_bad_options() {
    let err = MockStt::builder()
        .energy_threshold(0.0)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("energy_threshold"), "{err}");
    let err = MockStt::builder()
        .min_silence(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("min_silence"), "{err}");
}
