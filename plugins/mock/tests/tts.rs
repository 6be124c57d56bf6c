//! MockTts behaviour: audible audio whose length follows the text, frames, word timings,
//! segments, format conversion, failure injection.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use agents_core::{AudioFormat, Error, SynthesizeOptions, Tts, TtsEvent};
use agents_plugin_mock::MockTts;
use futures::StreamExt;

fn audio_of(events: &[TtsEvent]) -> Duration {
    events
        .iter()
        .filter_map(|e| match e {
            TtsEvent::Audio(f) => Some(f.duration()),
            _ => None,
        })
        .sum()
}

#[tokio::test]
async fn audible_frames_whose_length_follows_the_text() {
    let tts = MockTts::new();
    let text = "Hello there, how are you?";
    let events: Vec<TtsEvent> = tts
        .synthesize(text, &SynthesizeOptions::default())
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert!(matches!(&events[0], TtsEvent::Words(w) if w.len() == 5));
    assert_eq!(events.last(), Some(&TtsEvent::SegmentEnd));
    let expected = Duration::from_millis(60 * text.len() as u64);
    assert_eq!(audio_of(&events), expected);
    for e in &events[1..events.len() - 1] {
        let TtsEvent::Audio(f) = e else {
            panic!("expected audio, got {e:?}")
        };
        assert_eq!(f.format(), AudioFormat::MONO_24K);
        assert_eq!(f.samples().len(), 480);
    }
    let loud = events
        .iter()
        .filter(|e| matches!(e, TtsEvent::Audio(f) if f.rms() > 0.05))
        .count();
    assert!(loud > 10, "the audio must be audible, not silence");
    assert_eq!(tts.duration_for("a"), Duration::from_millis(100));
}

#[tokio::test]
async fn converted_to_the_requested_format() {
    let tts = MockTts::new();
    for format in [AudioFormat::MONO_16K, AudioFormat::MONO_48K] {
        let options = SynthesizeOptions::default().with_output_format(format);
        let events: Vec<TtsEvent> = tts
            .synthesize("Hello there.", &options)
            .await
            .unwrap()
            .map(Result::unwrap)
            .collect()
            .await;
        let d = audio_of(&events);
        assert!(
            d.abs_diff(Duration::from_millis(720)) < Duration::from_millis(25),
            "{d:?}"
        );
        assert!(
            events
                .iter()
                .all(|e| !matches!(e, TtsEvent::Audio(f) if f.format() != format))
        );
    }
}

#[tokio::test]
async fn a_stream_speaks_one_segment_per_flush() {
    let tts = MockTts::new();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello").await.unwrap();
    stream.push_text(" world.").await.unwrap();
    stream.flush().await.unwrap();
    stream.flush().await.unwrap(); // an empty segment
    stream.push_text("Bye.").await.unwrap();
    stream.end_input().await.unwrap();
    assert!(stream.push_text("late").await.is_err());
    let events: Vec<TtsEvent> = stream.map(Result::unwrap).collect().await;
    let segments: Vec<&[TtsEvent]> = events
        .split_inclusive(|e| *e == TtsEvent::SegmentEnd)
        .collect();
    assert_eq!(segments.len(), 3);
    assert_eq!(audio_of(segments[0]), tts.duration_for("Hello world."));
    assert_eq!(audio_of(segments[1]), Duration::ZERO);
    assert_eq!(audio_of(segments[2]), tts.duration_for("Bye."));
}

#[tokio::test]
async fn failures_are_injected() {
    let tts = MockTts::builder()
        .fail_next(1, Error::auth("bad key"))
        .fail_after(3, Error::connection("dropped"))
        .build()
        .unwrap();
    let err = tts
        .synthesize("hi", &SynthesizeOptions::default())
        .await
        .err()
        .unwrap();
    assert!(!err.is_retryable());
    let items: Vec<_> = tts
        .synthesize("a longer sentence", &SynthesizeOptions::default())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 4);
    assert!(items[3].is_err());
    assert_eq!(tts.faults().calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn latency_and_real_time_frames() {
    let tts = MockTts::builder()
        .latency(Duration::from_millis(250))
        .frame_latency(Duration::from_millis(20))
        .word_timings(false)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut s = tts
        .synthesize("Hello there.", &SynthesizeOptions::default())
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    while s.next().await.is_some() {}
    // 36 frames of 20 ms, 35 gaps
    assert!(started.elapsed() >= Duration::from_millis(250 + 35 * 20));
}

#[tokio::test]
async fn speed_changes_the_duration_and_a_bad_speed_is_an_error() {
    let tts = MockTts::new();
    let fast = SynthesizeOptions::default().with_speed(2.0);
    let events: Vec<TtsEvent> = tts
        .synthesize("Hello there.", &fast)
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(audio_of(&events), Duration::from_millis(360));
    let err = tts
        .stream(&SynthesizeOptions::default().with_speed(0.0))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("speed"), "{err}");
}
