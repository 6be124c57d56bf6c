//! Deepgram text-to-speech against the emulator: `POST /v1/speak` and the speak WebSocket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use agents_core::{AudioFormat, ErrorKind, SynthesizeOptions, Tts, TtsEvent};
use agents_plugin_deepgram::DeepgramTts;
use agents_testing::emulators::deepgram::{CloseAction, DeepgramConfig, DeepgramEmulator};
use common::{KEY, eventually, fast_connect};
use futures::StreamExt;

async fn setup(config: DeepgramConfig) -> (DeepgramEmulator, DeepgramTts) {
    let dg = DeepgramEmulator::start(config.with_api_key(KEY))
        .await
        .unwrap();
    let tts = DeepgramTts::builder()
        .api_key(KEY)
        .base_url(dg.http_url())
        .connect_options(fast_connect())
        .sample_rate(24_000)
        .build()
        .unwrap();
    (dg, tts)
}

async fn drain(
    stream: &mut (impl futures::Stream<Item = agents_core::Result<TtsEvent>> + Unpin),
) -> Vec<agents_core::Result<TtsEvent>> {
    let mut out = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("stream ended in time")
    {
        out.push(item);
    }
    out
}

fn audio_ms(events: &[TtsEvent]) -> usize {
    let samples: usize = events
        .iter()
        .filter_map(|e| match e {
            TtsEvent::Audio(f) => Some(f.samples().len()),
            _ => None,
        })
        .sum();
    samples / 24
}

#[tokio::test]
async fn synthesize_posts_text_and_streams_pcm() {
    let (dg, tts) = setup(DeepgramConfig::default()).await;
    assert_eq!(tts.capabilities().output_format, AudioFormat::MONO_24K);
    let mut audio = tts
        .synthesize("Hello there, world.", &SynthesizeOptions::default())
        .await
        .unwrap();
    let events: Vec<_> = drain(&mut audio)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // 19 characters at 10 ms each; the emulator splits samples across 4001-byte chunks.
    assert_eq!(audio_ms(&events), 190);
    assert_eq!(events.last(), Some(&TtsEvent::SegmentEnd));
    let req = dg.requests().pop().unwrap();
    assert_eq!(req.path, "/v1/speak");
    assert_eq!(req.header("authorization"), Some("Token test-key"));
    assert_eq!(req.query_param("encoding"), Some("linear16"));
    assert_eq!(req.query_param("sample_rate"), Some("24000"));
    assert_eq!(req.query_param("container"), Some("none"));
    assert_eq!(req.query_param("model"), Some("aura-2-thalia-en"));
    assert_eq!(req.json().unwrap()["text"], "Hello there, world.");
}

#[tokio::test]
async fn synthesize_maps_auth_errors() {
    let dg = DeepgramEmulator::start(DeepgramConfig::default().with_api_key("other"))
        .await
        .unwrap();
    let tts = DeepgramTts::builder()
        .api_key(KEY)
        .base_url(dg.http_url())
        .build()
        .unwrap();
    let err = tts
        .synthesize("hi", &SynthesizeOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert!(
        err.provider_message()
            .unwrap()
            .contains("Invalid credentials")
    );
}

#[tokio::test]
async fn speak_websocket_flush_and_end() {
    let (dg, tts) = setup(DeepgramConfig::default()).await;
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello ").await.unwrap();
    stream.push_text("world. ").await.unwrap();
    stream.flush().await.unwrap();
    let mut first = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let end = ev == TtsEvent::SegmentEnd;
        first.push(ev);
        if end {
            break;
        }
    }
    assert_eq!(audio_ms(&first), 130);
    stream.push_text("Bye.").await.unwrap();
    stream.end_input().await.unwrap();
    assert!(stream.push_text("more").await.unwrap_err().is_closed());
    let rest: Vec<_> = drain(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(audio_ms(&rest), 40);
    assert_eq!(rest.last(), Some(&TtsEvent::SegmentEnd));
    eventually(|| dg.speak_connections()[0].messages.len() == 6).await;
    let conn = &dg.speak_connections()[0];
    let types: Vec<_> = conn
        .messages
        .iter()
        .map(|m| m["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        vec!["Speak", "Speak", "Flush", "Speak", "Flush", "Close"]
    );
    assert_eq!(conn.messages[0]["text"], "Hello ");
}

#[tokio::test]
async fn dropping_the_speak_stream_sends_clear() {
    let (dg, tts) = setup(DeepgramConfig::default()).await;
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello world").await.unwrap();
    eventually(|| {
        dg.speak_connections()
            .first()
            .is_some_and(|c| !c.messages.is_empty())
    })
    .await;
    drop(stream);
    eventually(|| {
        let c = &dg.speak_connections()[0];
        c.ended && c.messages.iter().any(|m| m["type"] == "Clear")
    })
    .await;
}

#[tokio::test]
async fn the_requested_rate_is_asked_for_when_offered() {
    let (dg, tts) = setup(DeepgramConfig::default()).await;
    let opts = SynthesizeOptions::default().with_output_format(AudioFormat::MONO_16K);
    let mut audio = tts.synthesize("Hello", &opts).await.unwrap();
    let events: Vec<_> = drain(&mut audio)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(events.iter().all(|e| match e {
        TtsEvent::Audio(f) => f.sample_rate() == 16_000,
        _ => true,
    }));
    assert_eq!(
        dg.requests().pop().unwrap().query_param("sample_rate"),
        Some("16000")
    );
    // 22.05 kHz is not a speak rate: 24 kHz is asked for and the core converts.
    let opts =
        SynthesizeOptions::default().with_output_format(AudioFormat::new(22_050, 1).unwrap());
    let mut audio = tts.synthesize("Hello", &opts).await.unwrap();
    let events: Vec<_> = drain(&mut audio)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TtsEvent::Audio(f) if f.sample_rate() == 22_050))
    );
    assert_eq!(
        dg.requests().pop().unwrap().query_param("sample_rate"),
        Some("24000")
    );
}

#[tokio::test]
async fn a_speak_socket_closed_before_flushed_is_an_error() {
    let (_dg, tts) = setup(
        DeepgramConfig::default().with_speak_fault(CloseAction::Close {
            code: 1011,
            reason: "NET-0000".into(),
        }),
    )
    .await;
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello.").await.unwrap();
    stream.flush().await.unwrap();
    let items = drain(&mut stream).await;
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.status(), Some(1011));
    assert_eq!(err.provider_message(), Some("NET-0000"));

    let (_dg, tts) = setup(DeepgramConfig::default().with_speak_fault(CloseAction::Drop)).await;
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello.").await.unwrap();
    stream.flush().await.unwrap();
    let items = drain(&mut stream).await;
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.kind(), &ErrorKind::Connection);
}
