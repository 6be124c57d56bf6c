//! The real plugin over real sockets against the Deepgram emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use agents_core::{
    AudioFormat, ErrorKind, RecognizeOptions, SpeechEventKind, Stt, SttStreamOptions,
};
use agents_plugin_deepgram::{DeepgramStt, Endpointing};
use agents_testing::emulators::deepgram::{CloseAction, DeepgramConfig, DeepgramEmulator};
use common::*;

const F16: AudioFormat = AudioFormat::MONO_16K;

async fn emulator(config: DeepgramConfig) -> DeepgramEmulator {
    DeepgramEmulator::start(config.with_api_key(KEY))
        .await
        .unwrap()
}

#[tokio::test]
async fn query_parameters_and_token_header() {
    let dg = emulator(DeepgramConfig::default()).await;
    let stt = builder(&dg)
        .model("nova-3")
        .language("en-GB")
        .smart_format(true)
        .endpointing(Endpointing::Millis(300))
        .utterance_end_ms(1000)
        .keyterm("Deepgram")
        .keyterm("agents rs")
        .build()
        .unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 100, 20, Duration::ZERO).await;
    stream.end_input().await.unwrap();
    let items = collect(&mut stream).await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let conns = dg.listen_connections();
    assert_eq!(conns.len(), 1);
    let req = conns[0].request.clone().unwrap();
    assert_eq!(req.path, "/v1/listen");
    assert_eq!(req.header("authorization"), Some("Token test-key"));
    for (k, v) in [
        ("model", "nova-3"),
        ("language", "en-GB"),
        ("encoding", "linear16"),
        ("sample_rate", "16000"),
        ("channels", "1"),
        ("interim_results", "true"),
        ("punctuate", "true"),
        ("smart_format", "true"),
        ("endpointing", "300"),
        ("utterance_end_ms", "1000"),
        ("vad_events", "true"),
    ] {
        assert_eq!(req.query_param(k), Some(v), "{k}");
    }
    assert_eq!(req.query_params("keyterm"), vec!["Deepgram", "agents rs"]);
    // The stream options' language wins over the builder's.
    let mut s2 = stt
        .stream(&SttStreamOptions::default().with_language("fr"))
        .await
        .unwrap();
    s2.end_input().await.unwrap();
    collect(&mut s2).await;
    assert_eq!(
        dg.listen_connections()[1]
            .request
            .as_ref()
            .unwrap()
            .query_param("language"),
        Some("fr")
    );
}

#[tokio::test]
async fn interim_final_and_end_of_speech() {
    let dg = emulator(DeepgramConfig::default().with_cadence(100, 3, 100)).await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 640, 20, Duration::ZERO).await;
    stream.end_input().await.unwrap();
    let events: Vec<_> = collect(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    check_contract(&events);
    use SpeechEventKind::*;
    let k = kinds(&events);
    assert_eq!(
        &k[..5],
        &[StartOfSpeech, Interim, Interim, Final, EndOfSpeech],
        "{events:?}"
    );
    assert_eq!(events[1].text(), "hello");
    assert_eq!(events[2].text(), "hello world");
    assert_eq!(events[3].text(), "hello world this");
    let fin = &events[3].alternatives[0];
    assert_eq!(fin.start, Duration::ZERO);
    assert_eq!(fin.end, Duration::from_millis(300));
    assert_eq!(fin.words.len(), 3);
    assert_eq!(fin.words[1].start, Duration::from_millis(100));
    assert!(events[3].request_id.is_some());
    // The second utterance is "is a test", times relative to the stream start.
    let finals: Vec<_> = events.iter().filter(|e| e.kind == Final).collect();
    assert_eq!(finals[1].text(), "is a test");
    assert_eq!(finals[1].alternatives[0].start, Duration::from_millis(300));
    // After CloseStream the Metadata message becomes one usage event, last.
    assert_eq!(*k.last().unwrap(), Usage);
    assert_eq!(k[k.len() - 2], EndOfSpeech);
    let usage = events.last().unwrap().usage.unwrap();
    assert_eq!(usage.audio_duration, Duration::from_millis(640));
    let conn = &dg.listen_connections()[0];
    assert_eq!(
        conn.message_types().last().map(String::as_str),
        Some("CloseStream")
    );
}

#[tokio::test]
async fn utterance_end_without_speech_final() {
    let dg = emulator(
        DeepgramConfig::default()
            .with_cadence(100, 2, 1000)
            .with_utterance_end_only(),
    )
    .await;
    let stt = builder(&dg).utterance_end_ms(1000).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 200, 20, Duration::ZERO).await;
    let events = until(&mut stream, SpeechEventKind::EndOfSpeech).await;
    use SpeechEventKind::*;
    assert_eq!(
        kinds(&events),
        vec![StartOfSpeech, Final, EndOfSpeech],
        "{events:?}"
    );
    let sent = &dg.listen_connections()[0].sent;
    assert!(sent.iter().any(|m| m["type"] == "UtteranceEnd"));
    assert!(
        sent.iter()
            .all(|m| m["type"] != "Results" || m["speech_final"] == false)
    );
}

#[tokio::test]
async fn flush_sends_finalize_and_empty_finals_emit_nothing() {
    let dg = emulator(DeepgramConfig::default().with_cadence(100, 10, 1000)).await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    // 60 ms: no word yet, so the finalized result has an empty transcript.
    push_audio(&mut stream, F16, 60, 20, Duration::ZERO).await;
    stream.flush().await.unwrap();
    eventually(|| {
        dg.listen_connections()[0].sent.iter().any(|m| {
            m["from_finalize"] == true && m["channel"]["alternatives"][0]["transcript"] == ""
        })
    })
    .await;
    // Now speech, then a flush: the final arrives and the stream stays open.
    push_audio(&mut stream, F16, 240, 20, Duration::ZERO).await;
    stream.flush().await.unwrap();
    let events = until(&mut stream, SpeechEventKind::Final).await;
    assert_eq!(events.first().unwrap().kind, SpeechEventKind::StartOfSpeech);
    assert_eq!(events.last().unwrap().text(), "hello world");
    push_audio(&mut stream, F16, 100, 20, Duration::ZERO).await;
    stream.end_input().await.unwrap();
    let rest = collect(&mut stream).await;
    assert!(rest.iter().all(Result::is_ok), "{rest:?}");
    let types = dg.listen_connections()[0].message_types();
    assert_eq!(types, vec!["Finalize", "Finalize", "CloseStream"]);
}

#[tokio::test]
async fn keepalive_keeps_an_idle_stream_open() {
    let dg = emulator(
        DeepgramConfig::default()
            .with_cadence(100, 3, 100)
            .with_idle_timeout(Duration::from_millis(300)),
    )
    .await;
    let stt = builder(&dg)
        .keepalive_interval(Duration::from_millis(80))
        .build()
        .unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 100, 20, Duration::ZERO).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    push_audio(&mut stream, F16, 300, 20, Duration::ZERO).await;
    stream.end_input().await.unwrap();
    let items = collect(&mut stream).await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let conns = dg.listen_connections();
    assert_eq!(conns.len(), 1, "no reconnect was needed");
    let keepalives = conns[0]
        .message_types()
        .iter()
        .filter(|t| *t == "KeepAlive")
        .count();
    assert!(keepalives >= 5, "{keepalives} KeepAlives");
}

#[tokio::test]
async fn end_input_drains_the_last_results() {
    let dg = emulator(
        DeepgramConfig::default()
            .with_cadence(100, 10, 1000)
            .with_message_delay(Duration::from_millis(20)),
    )
    .await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 420, 20, Duration::ZERO).await;
    stream.end_input().await.unwrap();
    assert!(
        stream
            .push_frame(audio(F16, 20, 0))
            .await
            .unwrap_err()
            .is_closed()
    );
    let events: Vec<_> = collect(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let last_final = events
        .iter()
        .rev()
        .find(|e| e.kind == SpeechEventKind::Final)
        .unwrap();
    assert_eq!(last_final.text(), "hello world this is");
    let conn = &dg.listen_connections()[0];
    assert_eq!(conn.message_types(), vec!["CloseStream"]);
    assert_eq!(conn.sent.last().unwrap()["type"], "Metadata");
}

async fn reconnect_case(action: CloseAction) {
    let dg = emulator(
        DeepgramConfig::default()
            .with_cadence(100, 3, 100)
            .with_fault(0, 450, action),
    )
    .await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    let pushed = push_audio(&mut stream, F16, 1200, 20, Duration::from_millis(2)).await;
    stream.end_input().await.unwrap();
    let items = collect(&mut stream).await;
    let events: Vec<_> = items.into_iter().map(|i| i.unwrap()).collect();
    check_contract(&events);
    let conns = dg.listen_connections();
    assert_eq!(conns.len(), 2, "one reconnect");
    // Nothing accepted was lost: the second connection received a suffix of the pushed audio
    // that starts at or before where the first connection stopped.
    let second = &conns[1].audio;
    let first = &conns[0].audio;
    assert!(second.len() <= pushed.len());
    let k = pushed.len() - second.len();
    assert!(
        k <= first.len(),
        "gap between connections: {k} > {}",
        first.len()
    );
    assert_eq!(&first[..k], &pushed[..k]);
    assert_eq!(&second[..], &pushed[k..]);
    // The replay starts where the last final received ended (300 ms, the first utterance;
    // 0 if the drop raced ahead of that final).
    assert!(k == 300 * 32 || k == 0, "replay started at byte {k}");
    let finals: Vec<_> = events
        .iter()
        .filter(|e| e.kind == SpeechEventKind::Final)
        .collect();
    let ends: Vec<_> = finals.iter().map(|f| f.alternatives[0].end).collect();
    assert_eq!(ends[0], Duration::from_millis(300));
    assert_eq!(finals[1].alternatives[0].start, Duration::from_millis(300));
    assert!(ends.windows(2).all(|w| w[0] <= w[1]), "{ends:?}");
    // 1200 ms pushed: four 300 ms utterances in all, none repeated.
    assert_eq!(finals.len(), 4, "{finals:?}");
    assert_eq!(*ends.last().unwrap(), Duration::from_millis(1200));
}

#[tokio::test]
async fn reconnect_after_a_dropped_connection_loses_no_audio() {
    reconnect_case(CloseAction::Drop).await;
}

#[tokio::test]
async fn reconnect_after_a_server_close_loses_no_audio() {
    reconnect_case(CloseAction::Close {
        code: 1011,
        reason: "NET-0000".into(),
    })
    .await;
}

#[tokio::test]
async fn reconnect_buffer_bound_is_a_clear_error() {
    let dg = emulator(
        DeepgramConfig::default()
            .with_fault(0, 100, CloseAction::Drop)
            .with_reject_handshakes_from(1, 503),
    )
    .await;
    let stt = builder(&dg)
        .connect_options(
            fast_connect()
                .with_retry_interval(Duration::from_millis(300))
                .with_max_retries(5),
        )
        .max_reconnect_buffer(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 100, 20, Duration::ZERO).await;
    eventually(|| dg.listen_connections()[0].ended).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // 400 ms while disconnected: over the 200 ms bound.
    let mut offset = 0;
    for _ in 0..20 {
        let f = audio(F16, 20, offset);
        offset += f.samples().len();
        if stream.push_frame(f).await.is_err() {
            break;
        }
    }
    let items = collect(&mut stream).await;
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.kind(), &ErrorKind::Connection);
    assert!(err.to_string().contains("reconnect buffer"), "{err}");
}

#[tokio::test]
async fn reconnect_gives_up_after_the_retries() {
    let dg = emulator(
        DeepgramConfig::default()
            .with_fault(0, 100, CloseAction::Drop)
            .with_reject_handshakes_from(1, 503),
    )
    .await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 200, 20, Duration::from_millis(2)).await;
    let items = collect(&mut stream).await;
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.status(), Some(503));
    // The first connect plus 1 + 3 retries.
    let handshakes = dg
        .requests()
        .iter()
        .filter(|r| r.is_websocket_upgrade())
        .count();
    assert_eq!(handshakes, 5);
}

#[tokio::test]
async fn unauthorized_handshake_is_an_auth_error_without_retry() {
    let dg = DeepgramEmulator::start(DeepgramConfig::default().with_api_key("the-right-key"))
        .await
        .unwrap();
    let stt = builder(&dg).build().unwrap();
    let err = stt.stream(&SttStreamOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert_eq!(err.provider(), Some("deepgram"));
    assert!(
        err.provider_message()
            .unwrap()
            .contains("Invalid credentials"),
        "{err:?}"
    );
    assert_eq!(dg.requests().len(), 1, "401 is not retried");
}

#[tokio::test]
async fn rate_limited_handshake_is_retried_then_classified() {
    let dg = emulator(DeepgramConfig::default().with_reject(429, "Too many requests")).await;
    let stt = builder(&dg)
        .connect_options(fast_connect().with_max_retries(1))
        .build()
        .unwrap();
    let err = stt.stream(&SttStreamOptions::default()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::RateLimited { .. }),
        "{err:?}"
    );
    assert_eq!(dg.requests().len(), 2);
}

#[tokio::test]
async fn bad_audio_close_is_invalid_input_with_the_provider_text() {
    let dg = emulator(DeepgramConfig::default().with_required_sample_rate(8000)).await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 40, 20, Duration::ZERO).await;
    let items = collect(&mut stream).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let err = items.into_iter().next().unwrap().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    assert_eq!(err.provider_message(), Some("DATA-0000"));
    assert_eq!(dg.listen_connections().len(), 1, "not retried");
}

#[tokio::test]
async fn idle_close_is_a_typed_error() {
    let dg =
        emulator(DeepgramConfig::default().with_idle_timeout(Duration::from_millis(150))).await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    let items = collect(&mut stream).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let err = items.into_iter().next().unwrap().unwrap_err();
    assert_eq!(err.status(), Some(1011));
    assert_eq!(err.provider_message(), Some("NET-0001"));
    assert!(err.to_string().contains("idle"), "{err}");
}

#[tokio::test]
async fn dropping_the_handle_closes_the_connection() {
    let dg = emulator(DeepgramConfig::default()).await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 100, 20, Duration::ZERO).await;
    drop(stream);
    eventually(|| {
        let c = &dg.listen_connections()[0];
        c.ended && c.closed_by_client
    })
    .await;
}

#[tokio::test]
async fn recognize_posts_wav_and_returns_one_final() {
    let dg = emulator(DeepgramConfig::default()).await;
    let stt = builder(&dg).language("en-US").build().unwrap();
    let event = stt
        .recognize(&audio(F16, 1000, 0), &RecognizeOptions::default())
        .await
        .unwrap();
    assert_eq!(event.kind, SpeechEventKind::Final);
    assert_eq!(event.text(), "hello world this is a");
    let alt = &event.alternatives[0];
    assert_eq!(alt.end, Duration::from_secs(1));
    assert_eq!(alt.words.len(), 5);
    assert!(event.request_id.is_some());
    let req = dg.requests().pop().unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/listen");
    assert_eq!(req.header("authorization"), Some("Token test-key"));
    assert_eq!(req.header("content-type"), Some("audio/wav"));
    assert_eq!(req.query_param("model"), Some("nova-3"));
    assert_eq!(&req.body[..4], b"RIFF");
    assert_eq!(req.body.len(), 44 + 32_000);
}

#[tokio::test]
async fn recognize_maps_http_errors() {
    let dg = emulator(
        DeepgramConfig::default().with_reject(400, "Bad Request: failed to process audio"),
    )
    .await;
    let stt = builder(&dg).build().unwrap();
    let err = stt
        .recognize(&audio(F16, 100, 0), &RecognizeOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    assert!(
        err.provider_message()
            .unwrap()
            .contains("failed to process audio")
    );
}

#[tokio::test]
async fn missing_key_names_the_variable() {
    let err = agents_plugin_deepgram::DeepgramStt::builder()
        .api_key("   ")
        .base_url("http://127.0.0.1:9")
        .build();
    if std::env::var("DEEPGRAM_API_KEY").is_err() {
        let err = err.unwrap_err();
        assert!(err.to_string().contains("DEEPGRAM_API_KEY"), "{err}");
    }
    let stt = agents_plugin_deepgram::DeepgramStt::builder()
        .api_key("secret-key-123")
        .build()
        .unwrap();
    assert!(!format!("{stt:?}").contains("secret-key-123"));
}

#[tokio::test]
async fn pushing_48k_audio_is_converted_to_the_declared_rate() {
    let dg = emulator(DeepgramConfig::default().with_cadence(100, 3, 100)).await;
    let stt = builder(&dg).build().unwrap();
    assert_eq!(stt.capabilities().input_format, F16);
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    assert_eq!(stream.input_format(), F16);
    push_audio(&mut stream, AudioFormat::MONO_48K, 600, 10, Duration::ZERO).await;
    stream.end_input().await.unwrap();
    let events: Vec<_> = collect(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    check_contract(&events);
    let finals: Vec<_> = events
        .iter()
        .filter(|e| e.kind == SpeechEventKind::Final)
        .collect();
    assert_eq!(finals.len(), 2, "{events:?}");
    // 600 ms at 48 kHz arrive as 600 ms at 16 kHz (linear16, 32 bytes per ms).
    let received = dg.listen_connections()[0].audio.len();
    assert!((received as i64 - 600 * 32).abs() <= 64, "{received} bytes");
    assert_eq!(
        dg.listen_connections()[0]
            .request
            .as_ref()
            .unwrap()
            .query_param("sample_rate"),
        Some("16000")
    );
}

#[tokio::test]
async fn a_transcript_without_speech_started_still_starts_speech() {
    let dg = emulator(DeepgramConfig::default().with_cadence(100, 2, 100)).await;
    let stt = builder(&dg).vad_events(false).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 200, 20, Duration::ZERO).await;
    let events = until(&mut stream, SpeechEventKind::EndOfSpeech).await;
    use SpeechEventKind::*;
    assert_eq!(
        kinds(&events),
        vec![StartOfSpeech, Interim, Final, EndOfSpeech]
    );
    let conn = &dg.listen_connections()[0];
    assert_eq!(
        conn.request.as_ref().unwrap().query_param("vad_events"),
        Some("false")
    );
    assert!(conn.sent.iter().all(|m| m["type"] != "SpeechStarted"));
}

#[tokio::test]
async fn speech_started_gives_start_of_speech_before_any_transcript() {
    let dg = emulator(DeepgramConfig::default().with_cadence(100, 3, 1000)).await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 100, 20, Duration::ZERO).await;
    let events = until(&mut stream, SpeechEventKind::StartOfSpeech).await;
    assert_eq!(events.len(), 1);
    assert!(
        dg.listen_connections()[0]
            .sent
            .iter()
            .any(|m| m["type"] == "SpeechStarted")
    );
}

#[tokio::test]
async fn an_unknown_close_code_mid_stream_is_final() {
    let dg = emulator(DeepgramConfig::default().with_fault(
        0,
        100,
        CloseAction::Close {
            code: 1008,
            reason: "policy violation".into(),
        },
    ))
    .await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 200, 20, Duration::from_millis(1)).await;
    let items = collect(&mut stream).await;
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.status(), Some(1008));
    assert_eq!(err.provider_message(), Some("policy violation"));
    assert_eq!(dg.listen_connections().len(), 1, "not reconnected");
}

#[tokio::test]
async fn dropping_only_the_input_half_ends_the_input() {
    let dg = emulator(DeepgramConfig::default().with_cadence(100, 3, 100)).await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    push_audio(&mut stream, F16, 300, 20, Duration::ZERO).await;
    let (input, mut events) = stream.split();
    drop(input);
    let mut finals = 0;
    while let Some(item) = tokio::time::timeout(
        Duration::from_secs(5),
        futures::StreamExt::next(&mut events),
    )
    .await
    .unwrap()
    {
        if item.unwrap().kind == SpeechEventKind::Final {
            finals += 1;
        }
    }
    assert_eq!(finals, 1);
    assert_eq!(
        dg.listen_connections()[0].message_types(),
        vec!["CloseStream"]
    );
}

#[tokio::test]
async fn audio_pushed_while_reconnecting_is_sent_after() {
    let dg = emulator(
        DeepgramConfig::default()
            .with_cadence(100, 3, 100)
            .with_fault(0, 200, CloseAction::Drop)
            .with_delay_handshakes_from(1, Duration::from_millis(300)),
    )
    .await;
    let stt = builder(&dg).build().unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    let mut pushed = push_audio(&mut stream, F16, 200, 20, Duration::ZERO).await;
    eventually(|| dg.listen_connections()[0].ended).await;
    // The reconnect handshake takes 300 ms: these frames wait in the reconnect buffer.
    let mut offset = pushed.len() / 2;
    for _ in 0..20 {
        let f = audio(F16, 20, offset);
        offset += f.samples().len();
        pushed.extend(f.to_le_bytes());
        stream.push_frame(f).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stream.end_input().await.unwrap();
    let events: Vec<_> = collect(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    check_contract(&events);
    let conns = dg.listen_connections();
    assert_eq!(conns.len(), 2);
    let second = &conns[1].audio;
    let k = pushed.len() - second.len();
    assert!(
        k <= conns[0].audio.len(),
        "gap of {} bytes",
        k - conns[0].audio.len()
    );
    assert_eq!(&second[..], &pushed[k..]);
    assert_eq!(&conns[0].audio[..k], &pushed[..k]);
}

#[tokio::test]
async fn audio_is_sent_in_50_ms_messages_by_default_and_flushed_before_control_messages() {
    let dg = emulator(DeepgramConfig::default().with_cadence(100, 10, 1000)).await;
    let stt = DeepgramStt::builder()
        .api_key(KEY)
        .base_url(dg.http_url())
        .connect_options(fast_connect())
        .build()
        .unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    assert_eq!(
        stream.audio_chunk(),
        agents_plugin_deepgram::DEFAULT_AUDIO_CHUNK
    );
    // 230 ms of 48 kHz audio in 10 ms frames: 50 ms is 1600 bytes at 16 kHz.
    let first = push_audio(&mut stream, AudioFormat::MONO_48K, 230, 10, Duration::ZERO).await;
    assert_eq!(first.len(), 230 * 96);
    eventually(|| dg.listen_connections()[0].audio_messages.len() >= 4).await;
    // The 30 ms left over are still gathered; Finalize sends them first.
    stream.flush().await.unwrap();
    let second = push_audio(&mut stream, F16, 80, 20, Duration::ZERO).await;
    assert_eq!(second.len(), 80 * 32);
    stream.end_input().await.unwrap();
    let rest = collect(&mut stream).await;
    assert!(rest.iter().all(Result::is_ok), "{rest:?}");
    let conn = dg.listen_connections()[0].clone();
    assert_eq!(conn.message_types(), vec!["Finalize", "CloseStream"]);
    // Every byte pushed before Finalize (230 ms at 16 kHz, exactly) arrived before it.
    assert_eq!(conn.audio_before_message[0], 230 * 32);
    assert_eq!(conn.audio_before_message[1], 310 * 32);
    assert_eq!(conn.audio.len(), 310 * 32);
    assert_eq!(&conn.audio[230 * 32..], &second[..]);
    // Whole messages hold at least 50 ms; only the ones sent at Finalize and CloseStream are
    // shorter.
    let sizes = &conn.audio_messages;
    let short: Vec<_> = sizes.iter().filter(|&&n| n < 1_600).collect();
    assert!(short.len() <= 2, "{sizes:?}");
    assert!(sizes.len() <= 7, "{sizes:?}");
}

#[tokio::test]
async fn audio_chunk_is_configurable_and_bounded() {
    let dg = emulator(DeepgramConfig::default()).await;
    let stt = builder(&dg)
        .audio_chunk(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    assert_eq!(stream.audio_chunk(), Duration::from_millis(100));
    push_audio(&mut stream, F16, 400, 20, Duration::ZERO).await;
    eventually(|| dg.listen_connections()[0].audio.len() == 400 * 32).await;
    assert_eq!(dg.listen_connections()[0].audio_messages, vec![3_200; 4]);
    let err = builder(&dg)
        .audio_chunk(Duration::from_secs(2))
        .build()
        .unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("audio_chunk"), "{err}");
}
