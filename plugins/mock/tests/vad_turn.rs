//! MockVad and MockTurnDetector behaviour.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use agents_core::{ChatContext, ChatMessage, Error, TurnDetector, Vad};
use agents_plugin_mock::{MockTurnDetector, MockVad};
use agents_testing::fixtures::Fixture;

/// Start after 3 frames above 0.5, end after 30 frames (300 ms) below.
fn segments(probs: &[f32]) -> (usize, usize) {
    let (mut starts, mut ends, mut speaking, mut run) = (0, 0, false, 0);
    for &p in probs {
        let loud = p > 0.5;
        if loud != speaking {
            run += 1;
        } else {
            run = 0;
        }
        if !speaking && run >= 3 {
            speaking = true;
            starts += 1;
            run = 0;
        } else if speaking && run >= 30 {
            speaking = false;
            ends += 1;
            run = 0;
        }
    }
    if speaking {
        ends += 1;
    }
    (starts, ends)
}

#[test]
fn a_recorded_utterance_is_one_start_and_one_end() {
    let mut vad = MockVad::new();
    let audio = Fixture::HelloPadded16k.load().unwrap();
    assert_eq!(audio.format(), vad.input_format());
    let probs: Vec<f32> = audio
        .samples()
        .chunks_exact(vad.frame_samples())
        .map(|f| vad.speech_probability(f).unwrap())
        .collect();
    // the first 0.45 s are silence
    assert!(probs[..45].iter().all(|p| *p < 0.5));
    assert!(probs.iter().filter(|p| **p > 0.5).count() > 100);
    assert_eq!(segments(&probs), (1, 1));
    let silence = vec![0.0; 300];
    assert_eq!(segments(&silence), (0, 0));
}

#[test]
fn bad_frames_and_injected_failures_are_errors() {
    let mut vad = MockVad::builder()
        .threshold(0.1)
        .fail_next(1, Error::protocol("model crashed"))
        .build()
        .unwrap();
    let err = vad.speech_probability(&[0; 320]).unwrap_err();
    assert!(err.to_string().contains("160"), "{err}");
    assert!(vad.speech_probability(&[0; 160]).is_err());
    assert_eq!(vad.speech_probability(&[0; 160]).unwrap(), 0.0);
    assert!(MockVad::builder().threshold(2.0).build().is_err());
}

#[tokio::test(start_paused = true)]
async fn turn_detection_by_punctuation() {
    let detector = MockTurnDetector::builder()
        .latency(Duration::from_millis(50))
        .fail_next(1, Error::timeout("slow model"))
        .build()
        .unwrap();
    let mut ctx = ChatContext::new();
    assert!(detector.end_of_turn_probability(&ctx).await.is_err());
    assert_eq!(detector.end_of_turn_probability(&ctx).await.unwrap(), 0.0);
    for (text, done) in [
        ("What is the weather in Paris?", true),
        ("Book a table.", true),
        ("I would like to", false),
        ("Well, um", false),
        ("Paris,", false),
    ] {
        ctx.push(ChatMessage::user(text));
        let started = tokio::time::Instant::now();
        let p = detector.end_of_turn_probability(&ctx).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(p > detector.threshold(), done, "{text}: {p}");
    }
    assert!(MockTurnDetector::builder().threshold(1.5).build().is_err());
}
