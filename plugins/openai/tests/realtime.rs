//! The Realtime session over a real WebSocket against the Realtime emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{
    AudioFormat, AudioFrame, ConnectOptions, ErrorKind, Realtime, RealtimeEvent, RealtimeOptions,
    RealtimeSession, ResponseStatus, ToolDefinition,
};
use agents_plugin_openai::{OpenAiRealtime, RealtimeApi};
use agents_testing::emulators::openai_realtime::{RealtimeEmulator, RealtimeScript};
use base64::Engine as _;
use futures::StreamExt;
use serde_json::json;

fn fast() -> ConnectOptions {
    ConnectOptions::default()
        .with_max_retries(2)
        .with_retry_interval(Duration::from_millis(5))
        .with_max_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_secs(5))
}

fn model(emu: &RealtimeEmulator, api: RealtimeApi) -> OpenAiRealtime {
    OpenAiRealtime::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .voice("cedar")
        .api(api)
        .input_transcription("gpt-4o-mini-transcribe")
        .connect_options(fast())
        .build()
        .unwrap()
}

async fn next(session: &mut RealtimeSession) -> RealtimeEvent {
    tokio::time::timeout(Duration::from_secs(5), session.next())
        .await
        .expect("an event in time")
        .expect("the session is open")
        .expect("no error")
}

/// Reads events until `pred` matches; returns everything read.
async fn until(
    session: &mut RealtimeSession,
    pred: impl Fn(&RealtimeEvent) -> bool,
) -> Vec<RealtimeEvent> {
    let mut seen = Vec::new();
    loop {
        let e = next(session).await;
        let done = pred(&e);
        seen.push(e);
        if done {
            return seen;
        }
    }
}

async fn wait_for(emu: &RealtimeEmulator, kind: &str, n: usize) {
    let start = std::time::Instant::now();
    while emu.received_of(kind).len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no {kind} received"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn options() -> RealtimeOptions {
    RealtimeOptions::default()
        .with_instructions("Be brief.")
        .with_tools(vec![ToolDefinition::new(
            "get_weather",
            "Weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )])
}

#[tokio::test]
async fn ga_session_audio_in_and_out() {
    let emu = RealtimeEmulator::start(RealtimeScript::default())
        .await
        .unwrap();
    let rt = model(&emu, RealtimeApi::Ga);
    let mut s = rt
        .connect(&options().with_server_turn_detection(true))
        .await
        .unwrap();
    assert_eq!(next(&mut s).await, RealtimeEvent::SessionStarted);

    let hs = &emu.server().requests()[0];
    assert_eq!(hs.bearer(), Some("sk-test"));
    assert_eq!(hs.path, "/v1/realtime");
    assert_eq!(hs.query_param("model"), Some("gpt-realtime"));
    assert_eq!(hs.header("openai-beta"), None);

    wait_for(&emu, "session.update", 1).await;
    let update = &emu.received_of("session.update")[0]["session"];
    assert_eq!(update["type"], "realtime");
    assert_eq!(update["instructions"], "Be brief.");
    assert_eq!(update["tools"][0]["name"], "get_weather");
    assert_eq!(update["audio"]["input"]["format"]["rate"], 24000);
    assert_eq!(
        update["audio"]["input"]["turn_detection"]["type"],
        "server_vad"
    );
    assert_eq!(
        update["audio"]["input"]["transcription"]["model"],
        "gpt-4o-mini-transcribe"
    );
    assert_eq!(update["audio"]["output"]["voice"], "cedar");

    let samples: Vec<i16> = (0..2400).map(|i| (i % 300) as i16).collect();
    s.push_audio(AudioFrame::new(samples.clone(), AudioFormat::MONO_24K).unwrap())
        .await
        .unwrap();
    s.commit_audio().await.unwrap();
    s.create_response().await.unwrap();
    let events = until(&mut s, |e| matches!(e, RealtimeEvent::ResponseDone { .. })).await;

    let appended = emu.received_of("input_audio_buffer.append");
    let bytes: Vec<u8> = appended
        .iter()
        .flat_map(|e| {
            base64::engine::general_purpose::STANDARD
                .decode(e["audio"].as_str().unwrap())
                .unwrap()
        })
        .collect();
    let sent: Vec<i16> = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(sent, samples);
    assert_eq!(emu.received_of("input_audio_buffer.commit").len(), 1);

    assert!(events.contains(&RealtimeEvent::InputTranscript {
        text: "hello there".into(),
        is_final: true
    }));
    assert!(events.contains(&RealtimeEvent::ResponseStarted {
        response_id: "resp_1".into()
    }));
    let audio: Vec<i16> = events
        .iter()
        .filter_map(|e| match e {
            RealtimeEvent::Audio(f) => Some(f.samples().to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    let script = RealtimeScript::default();
    let want: Vec<i16> = (0..script.audio_chunks)
        .flat_map(|i| script.chunk(i))
        .collect();
    assert_eq!(audio, want);
    let transcript: String = events
        .iter()
        .filter_map(|e| match e {
            RealtimeEvent::OutputTranscriptDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(transcript, "word0 word1 word2 word3 word4 ");
    match events.last().unwrap() {
        RealtimeEvent::ResponseDone { status, usage, .. } => {
            assert_eq!(status, &ResponseStatus::Completed);
            let u = usage.unwrap();
            assert_eq!(
                (u.prompt_tokens, u.completion_tokens, u.cached_tokens),
                (30, 40, 4)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn beta_protocol_and_event_names() {
    let emu = RealtimeEmulator::start(RealtimeScript::default().beta())
        .await
        .unwrap();
    let mut s = model(&emu, RealtimeApi::Beta)
        .connect(&options())
        .await
        .unwrap();
    assert_eq!(next(&mut s).await, RealtimeEvent::SessionStarted);
    assert_eq!(
        emu.server().requests()[0].header("openai-beta"),
        Some("realtime=v1")
    );
    wait_for(&emu, "session.update", 1).await;
    let update = &emu.received_of("session.update")[0]["session"];
    assert_eq!(update["input_audio_format"], "pcm16");
    assert_eq!(update["voice"], "cedar");
    assert_eq!(update["turn_detection"], serde_json::Value::Null);
    s.send_text("hi").await.unwrap();
    s.create_response().await.unwrap();
    let events = until(&mut s, |e| matches!(e, RealtimeEvent::ResponseDone { .. })).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, RealtimeEvent::Audio(_)))
            .count(),
        5
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RealtimeEvent::OutputTranscriptDelta(_)))
    );
    let item = &emu.received_of("conversation.item.create")[0]["item"];
    assert_eq!(
        item["content"][0],
        json!({"type": "input_text", "text": "hi"})
    );
}

#[tokio::test]
async fn function_call_out_result_back_and_the_model_continues() {
    let emu = RealtimeEmulator::start(RealtimeScript::default().with_tool_call(
        "call_7",
        "get_weather",
        r#"{"city":"Paris"}"#,
    ))
    .await
    .unwrap();
    let mut s = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .unwrap();
    s.send_text("weather in Paris?").await.unwrap();
    s.create_response().await.unwrap();
    let events = until(&mut s, |e| matches!(e, RealtimeEvent::ToolCall(_))).await;
    let call = match events.last().unwrap() {
        RealtimeEvent::ToolCall(c) => c.clone(),
        _ => unreachable!(),
    };
    assert_eq!(call.id, "call_7");
    assert_eq!(call.name, "get_weather");
    assert_eq!(call.arguments, r#"{"city":"Paris"}"#);
    until(&mut s, |e| matches!(e, RealtimeEvent::ResponseDone { .. })).await;

    s.send_tool_result("call_7", r#"{"temp_c":21}"#)
        .await
        .unwrap();
    let events = until(&mut s, |e| {
        matches!(
            e,
            RealtimeEvent::ResponseDone {
                status: ResponseStatus::Completed,
                ..
            }
        )
    })
    .await;
    assert!(events.iter().any(|e| matches!(e, RealtimeEvent::Audio(_))));
    let outputs: Vec<_> = emu
        .received_of("conversation.item.create")
        .into_iter()
        .filter(|e| e["item"]["type"] == "function_call_output")
        .collect();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["item"]["call_id"], "call_7");
    assert_eq!(outputs[0]["item"]["output"], r#"{"temp_c":21}"#);
    assert_eq!(emu.received_of("response.create").len(), 2);
}

#[tokio::test]
async fn interrupt_cancels_and_truncates() {
    let emu = RealtimeEmulator::start(
        RealtimeScript::default().with_audio(200, Duration::from_millis(10)),
    )
    .await
    .unwrap();
    let mut s = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .unwrap();
    s.create_response().await.unwrap();
    let mut frames = 0;
    while frames < 3 {
        if let RealtimeEvent::Audio(_) = next(&mut s).await {
            frames += 1;
        }
    }
    s.interrupt(Some(Duration::from_millis(40))).await.unwrap();
    let after = until(&mut s, |e| matches!(e, RealtimeEvent::ResponseDone { .. })).await;
    assert!(
        !after.iter().any(|e| matches!(e, RealtimeEvent::Audio(_))),
        "no audio after the interrupt: {after:?}"
    );
    match after.last().unwrap() {
        RealtimeEvent::ResponseDone { status, .. } => {
            assert_eq!(status, &ResponseStatus::Cancelled)
        }
        _ => unreachable!(),
    }
    wait_for(&emu, "conversation.item.truncate", 1).await;
    assert_eq!(emu.received_of("response.cancel").len(), 1);
    let t = &emu.received_of("conversation.item.truncate")[0];
    assert_eq!(t["item_id"], "item_out_1");
    assert_eq!(t["content_index"], 0);
    assert_eq!(t["audio_end_ms"], 40);
}

#[tokio::test]
async fn handshake_errors() {
    let emu = RealtimeEmulator::start(RealtimeScript::default().with_reject(401))
        .await
        .unwrap();
    let err = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert_eq!(err.provider_message(), Some("rejected with 401"));
    assert_eq!(emu.server().requests().len(), 1);

    let emu = RealtimeEmulator::start(RealtimeScript::default().with_reject(429))
        .await
        .unwrap();
    let err = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .err()
        .unwrap();
    assert!(matches!(err.kind(), ErrorKind::RateLimited { .. }));
    assert_eq!(emu.server().requests().len(), 3);
}

#[tokio::test]
async fn session_expiry_ends_the_session_with_one_error() {
    let emu = RealtimeEmulator::start(RealtimeScript::default().with_expire_after(1))
        .await
        .unwrap();
    let mut s = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .unwrap();
    s.create_response().await.unwrap();
    let mut error = None;
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap()
    {
        assert!(error.is_none(), "nothing after the error");
        if let Err(e) = item {
            error = Some(e);
        }
    }
    let error = error.unwrap();
    assert_eq!(
        error.provider_message(),
        Some("Your session hit the maximum duration of 60 minutes.")
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_failed_reconnect_ends_the_session_with_one_error() {
    let emu = RealtimeEmulator::start(RealtimeScript::default())
        .await
        .unwrap();
    let mut s = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .unwrap();
    assert_eq!(next(&mut s).await, RealtimeEvent::SessionStarted);
    emu.server().shutdown();
    let mut errors = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap()
    {
        if let Err(e) = item {
            errors.push(e);
        }
    }
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), &ErrorKind::Connection);
}

#[tokio::test]
async fn a_dropped_connection_reconnects_and_restores_the_conversation() {
    let emu = RealtimeEmulator::start(RealtimeScript::default().with_drop_after(1))
        .await
        .unwrap();
    let mut s = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .unwrap();
    s.send_text("first question").await.unwrap();
    s.create_response().await.unwrap();
    until(&mut s, |e| matches!(e, RealtimeEvent::ResponseDone { .. })).await;
    // the emulator drops the TCP connection after that response
    until(&mut s, |e| *e == RealtimeEvent::Reconnected).await;
    assert_eq!(emu.connections(), 2);
    wait_for(&emu, "session.update", 2).await;
    let updates = emu.received_of("session.update");
    assert_eq!(
        updates[0], updates[1],
        "the same session config is restored"
    );
    // the conversation is replayed: the user's text and the assistant's transcript
    wait_for(&emu, "conversation.item.create", 3).await;
    let items = emu.received_of("conversation.item.create");
    assert_eq!(items[1]["item"], items[0]["item"]);
    assert_eq!(items[2]["item"]["role"], "assistant");
    assert_eq!(
        items[2]["item"]["content"][0],
        json!({"type": "output_text", "text": "word0 word1 word2 word3 word4 "})
    );
    // and the session goes on
    s.create_response().await.unwrap();
    let events = until(&mut s, |e| matches!(e, RealtimeEvent::ResponseDone { .. })).await;
    assert!(events.iter().any(|e| matches!(e, RealtimeEvent::Audio(_))));
}

#[tokio::test]
async fn dropping_the_session_closes_the_socket() {
    let emu = RealtimeEmulator::start(RealtimeScript::default())
        .await
        .unwrap();
    let mut s = model(&emu, RealtimeApi::Ga)
        .connect(&options())
        .await
        .unwrap();
    assert_eq!(next(&mut s).await, RealtimeEvent::SessionStarted);
    drop(s);
    let start = std::time::Instant::now();
    while emu.closed_connections() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "socket not closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
