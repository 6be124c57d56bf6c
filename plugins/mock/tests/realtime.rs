//! MockRealtime behaviour: speech in, transcript and audio out, tool calls, interrupt.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use agents_core::{
    AudioFormat, Error, Realtime, RealtimeEvent, RealtimeOptions, RealtimeSession, ResponseStatus,
    ToolCall,
};
use agents_plugin_mock::MockRealtime;
use agents_testing::fixtures::{self, Fixture};
use futures::StreamExt;

/// Reads events until `pred` matches (inclusive), with a deadline.
async fn read_until(
    session: &mut RealtimeSession,
    pred: impl Fn(&RealtimeEvent) -> bool,
) -> Vec<RealtimeEvent> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = session.next().await {
            let ev = ev.unwrap();
            let done = pred(&ev);
            out.push(ev);
            if done {
                break;
            }
        }
    })
    .await
    .unwrap();
    out
}

fn is_done(ev: &RealtimeEvent) -> bool {
    matches!(ev, RealtimeEvent::ResponseDone { .. })
}

#[tokio::test]
async fn speech_in_transcript_and_audio_out() {
    let model = MockRealtime::builder()
        .transcript("hello can you hear me")
        .realtime_pacing(false)
        .build()
        .unwrap();
    let mut session = model.connect(&RealtimeOptions::default()).await.unwrap();
    let audio = Fixture::HelloPadded16k.load().unwrap();
    for f in fixtures::chunk(&audio, Duration::from_millis(20)).unwrap() {
        session.push_audio(f).await.unwrap();
    }
    let events = read_until(&mut session, is_done).await;
    assert_eq!(events[0], RealtimeEvent::SessionStarted);
    assert_eq!(events[1], RealtimeEvent::SpeechStarted);
    assert_eq!(events[2], RealtimeEvent::SpeechStopped);
    assert_eq!(
        events[3],
        RealtimeEvent::InputTranscript {
            text: "hello can you hear me".into(),
            is_final: true
        }
    );
    assert!(matches!(events[4], RealtimeEvent::ResponseStarted { .. }));
    let transcript: String = events
        .iter()
        .filter_map(|e| match e {
            RealtimeEvent::OutputTranscriptDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(transcript, "You said: hello can you hear me");
    let audio: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RealtimeEvent::Audio(f) => Some(f),
            _ => None,
        })
        .collect();
    assert!(audio.iter().all(|f| f.format() == AudioFormat::MONO_24K));
    assert!(audio.iter().map(|f| f.duration()).sum::<Duration>() > Duration::from_secs(1));
    assert!(matches!(
        events.last(),
        Some(RealtimeEvent::ResponseDone {
            status: ResponseStatus::Completed,
            ..
        })
    ));
}

#[tokio::test]
async fn a_scripted_tool_call_and_its_result() {
    let call = ToolCall::new("call_9", "get_weather", r#"{"city":"Paris"}"#);
    let model = MockRealtime::builder()
        .tool_call(call.clone())
        .realtime_pacing(false)
        .build()
        .unwrap();
    let options = RealtimeOptions::default().with_output_format(AudioFormat::MONO_48K);
    let mut session = model.connect(&options).await.unwrap();
    session.send_text("Weather in Paris?").await.unwrap();
    session.create_response().await.unwrap();
    let events = read_until(&mut session, is_done).await;
    assert!(events.contains(&RealtimeEvent::ToolCall(call)));
    assert!(!events.iter().any(|e| matches!(e, RealtimeEvent::Audio(_))));
    session.send_tool_result("call_9", "sunny").await.unwrap();
    let events = read_until(&mut session, is_done).await;
    let transcript: String = events
        .iter()
        .filter_map(|e| match e {
            RealtimeEvent::OutputTranscriptDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(transcript, "The result is sunny.");
    // the core converted the model's 24 kHz audio to the 48 kHz asked for
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RealtimeEvent::Audio(f) if f.format() == AudioFormat::MONO_48K))
    );
    session.send_tool_result("nope", "x").await.unwrap();
    let events = read_until(&mut session, |e| matches!(e, RealtimeEvent::Warning(_))).await;
    assert!(matches!(events.last(), Some(RealtimeEvent::Warning(w)) if w.contains("nope")));
}

#[tokio::test(start_paused = true)]
async fn interrupt_stops_the_audio_at_once() {
    let model = MockRealtime::builder()
        .reply("This is a long answer that would take several seconds to speak aloud.")
        .build()
        .unwrap();
    let mut session = model.connect(&RealtimeOptions::default()).await.unwrap();
    session.send_text("Tell me something.").await.unwrap();
    session.create_response().await.unwrap();
    read_until(&mut session, |e| matches!(e, RealtimeEvent::Audio(_))).await;
    session
        .interrupt(Some(Duration::from_millis(20)))
        .await
        .unwrap();
    let events = read_until(&mut session, is_done).await;
    assert!(matches!(
        events.last(),
        Some(RealtimeEvent::ResponseDone {
            status: ResponseStatus::Cancelled,
            ..
        })
    ));
    // paced output: at most the frame already on its way
    let late = events
        .iter()
        .filter(|e| matches!(e, RealtimeEvent::Audio(_)))
        .count();
    assert!(late <= 2, "{late} frames after interrupt");
    // nothing more of that response
    let more = tokio::time::timeout(Duration::from_secs(2), session.next()).await;
    assert!(
        more.is_err(),
        "unexpected event after the interrupt: {more:?}"
    );
}

#[tokio::test]
async fn connect_failures_are_injected() {
    let model = MockRealtime::builder()
        .fail_next(1, Error::provider_status(503, "busy"))
        .build()
        .unwrap();
    let err = model
        .connect(&RealtimeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.status(), Some(503));
    assert!(model.connect(&RealtimeOptions::default()).await.is_ok());
}

#[tokio::test]
async fn commit_without_speech_warns() {
    let model = MockRealtime::builder()
        .realtime_pacing(false)
        .build()
        .unwrap();
    let mut session = model.connect(&RealtimeOptions::default()).await.unwrap();
    session.commit_audio().await.unwrap();
    let events = read_until(&mut session, |e| matches!(e, RealtimeEvent::Warning(_))).await;
    assert_eq!(events.len(), 2);
}
