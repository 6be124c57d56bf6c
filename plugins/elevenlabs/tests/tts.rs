//! The real plugin over real sockets against the ElevenLabs emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{
    AudioFormat, ConnectOptions, ErrorKind, Result, SynthesizeOptions, Tts, TtsEvent, WordTiming,
};
use agents_plugin_elevenlabs::{ElevenLabsTts, ElevenLabsTtsBuilder};
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};
use futures::{Stream, StreamExt};

const KEY: &str = "xi-test-key";

fn fast_connect() -> ConnectOptions {
    ConnectOptions::default()
        .with_retry_interval(Duration::from_millis(10))
        .with_max_interval(Duration::from_millis(50))
        .with_max_retries(2)
        .with_timeout(Duration::from_secs(2))
}

async fn emulator(config: ElevenLabsConfig) -> ElevenLabsEmulator {
    ElevenLabsEmulator::start(config.with_api_key(KEY))
        .await
        .unwrap()
}

fn builder(el: &ElevenLabsEmulator) -> ElevenLabsTtsBuilder {
    ElevenLabsTts::builder()
        .api_key(KEY)
        .base_url(el.http_url())
        .voice_id("voice123")
        .connect_options(fast_connect())
}

async fn drain(
    stream: &mut (impl Stream<Item = Result<TtsEvent>> + Unpin),
) -> Vec<Result<TtsEvent>> {
    let mut out = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the stream ends in time")
    {
        out.push(item);
    }
    out
}

async fn until_segment_end(
    stream: &mut (impl Stream<Item = Result<TtsEvent>> + Unpin),
) -> Vec<TtsEvent> {
    let mut out = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("in time")
            .expect("not ended")
            .expect("no error");
        let end = ev == TtsEvent::SegmentEnd;
        out.push(ev);
        if end {
            return out;
        }
    }
}

fn samples(events: &[TtsEvent]) -> Vec<i16> {
    events
        .iter()
        .flat_map(|e| match e {
            TtsEvent::Audio(f) => f.samples().to_vec(),
            _ => Vec::new(),
        })
        .collect()
}

fn words(events: &[TtsEvent]) -> Vec<WordTiming> {
    events
        .iter()
        .flat_map(|e| match e {
            TtsEvent::Words(w) => w.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// The emulator's deterministic signal.
fn expected(n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| ((((i as i64) * 7919) % 16000) - 8000) as i16)
        .collect()
}

#[tokio::test]
async fn stream_input_protocol_audio_and_word_timings() {
    let el = emulator(ElevenLabsConfig::default()).await;
    let tts = builder(&el).model("eleven_flash_v2_5").build().unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    assert_eq!(stream.output_format(), AudioFormat::MONO_24K);
    for t in ["Hello ", "world. ", "How are ", "you?"] {
        stream.push_text(t).await.unwrap();
    }
    stream.end_input().await.unwrap();
    assert!(stream.push_text("late").await.unwrap_err().is_closed());
    let events: Vec<_> = drain(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events.last(), Some(&TtsEvent::SegmentEnd));
    // 25 characters, 10 ms each at 24 kHz; odd byte splits decode to the exact signal.
    let audio = samples(&events);
    assert_eq!(audio, expected(25 * 240));
    // Word timings from the per-message alignment, monotonic and within the audio.
    let w = words(&events);
    let texts: Vec<_> = w.iter().map(|w| w.word.as_str()).collect();
    assert_eq!(texts, vec!["Hello", "world.", "How", "are", "you?"]);
    assert!(w.windows(2).all(|p| p[0].end <= p[1].start), "{w:?}");
    assert!(w.last().unwrap().end <= Duration::from_millis(250));
    assert_eq!(w[1].start, Duration::from_millis(60));
    assert_eq!(w[2].start, Duration::from_millis(130));
    // What the server received.
    let conns = el.connections();
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    let req = c.request.as_ref().unwrap();
    assert_eq!(req.path, "/v1/text-to-speech/voice123/stream-input");
    assert_eq!(req.header("xi-api-key"), Some(KEY));
    assert_eq!(req.query_param("model_id"), Some("eleven_flash_v2_5"));
    assert_eq!(req.query_param("output_format"), Some("pcm_24000"));
    let m = &c.messages;
    assert_eq!(m[0]["text"], " ");
    assert_eq!(m[0]["voice_settings"]["stability"], 0.5);
    assert_eq!(m[0]["voice_settings"]["similarity_boost"], 0.75);
    assert_eq!(
        m[0]["generation_config"]["chunk_length_schedule"],
        serde_json::json!([120, 160, 250, 290])
    );
    assert_eq!(m[1], serde_json::json!({"text": "Hello "}));
    assert_eq!(m[2], serde_json::json!({"text": "world. ", "flush": true}));
    assert_eq!(m[3], serde_json::json!({"text": "How are "}));
    assert_eq!(m[4], serde_json::json!({"text": "you?", "flush": true}));
    assert_eq!(m[5], serde_json::json!({"text": ""}));
    assert_eq!(m.len(), 6);
    assert_eq!(c.sent.last().unwrap()["isFinal"], true);
}

#[tokio::test]
async fn flush_ends_the_segment_and_the_next_turn_opens_a_new_connection() {
    let el = emulator(ElevenLabsConfig::default()).await;
    let tts = builder(&el).build().unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hi there.").await.unwrap();
    stream.flush().await.unwrap();
    let first = until_segment_end(&mut stream).await;
    assert_eq!(samples(&first).len(), 9 * 240);
    let first_words = words(&first);
    // The next turn's connection is opened ahead, before its text arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while el.connections().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no connection opened ahead"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stream.push_text("Second turn.").await.unwrap();
    stream.end_input().await.unwrap();
    let rest: Vec<_> = drain(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(samples(&rest).len(), 12 * 240);
    // Word times restart with each segment.
    let second_words = words(&rest);
    assert_eq!(first_words[0].start, Duration::ZERO);
    assert_eq!(second_words[0].start, Duration::ZERO);
    let conns = el.connections();
    assert_eq!(conns.len(), 2, "one connection per turn");
    for c in &conns {
        assert_eq!(c.messages[0]["text"], " ");
        assert_eq!(c.messages.last().unwrap()["text"], "");
    }
}

#[tokio::test]
async fn input_timeout_is_a_typed_error() {
    let el =
        emulator(ElevenLabsConfig::default().with_inactivity_timeout(Duration::from_millis(150)))
            .await;
    let tts = builder(&el).build().unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello").await.unwrap();
    let items = drain(&mut stream).await;
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.kind(), &ErrorKind::Timeout);
    assert_eq!(err.provider(), Some("elevenlabs"));
    assert!(
        err.provider_message()
            .unwrap()
            .contains("Have not received a new text input"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_idle_connection_opened_ahead_is_replaced_silently() {
    let el =
        emulator(ElevenLabsConfig::default().with_inactivity_timeout(Duration::from_millis(100)))
            .await;
    let tts = builder(&el).build().unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.push_text("Late text.").await.unwrap();
    stream.end_input().await.unwrap();
    let events: Vec<_> = drain(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(samples(&events).len(), 10 * 240);
    assert_eq!(el.connections().len(), 2);
}

#[tokio::test]
async fn policy_close_is_a_typed_error_with_the_message() {
    let el = emulator(
        ElevenLabsConfig::default().with_close_after_audio_messages(1, "detected_unusual_activity"),
    )
    .await;
    let tts = builder(&el).build().unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello there my friend.").await.unwrap();
    let items = drain(&mut stream).await;
    assert!(items[0].is_ok(), "audio before the error is kept");
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.status(), Some(1008));
    assert_eq!(err.provider_message(), Some("Unusual activity detected."));
}

#[tokio::test]
async fn wrong_key_is_an_auth_error_from_stream() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default().with_api_key("right"))
        .await
        .unwrap();
    let tts = builder(&el).build().unwrap();
    let err = tts.stream(&SynthesizeOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert_eq!(err.provider_message(), Some("Invalid API key"));
    assert_eq!(el.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let el = emulator(ElevenLabsConfig::default()).await;
    let tts = builder(&el).build().unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello there.").await.unwrap();
    let _ = stream.next().await;
    drop(stream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !el.connections()[0].ended {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn synthesize_chooses_output_format_from_the_request() {
    let el = emulator(ElevenLabsConfig::default()).await;
    let tts = builder(&el).synthesize_timestamps(false).build().unwrap();
    let cases = [
        (16_000, "pcm_16000", 16_000),
        (44_100, "pcm_44100", 44_100),
        (8_000, "ulaw_8000", 8_000),
        (24_000, "pcm_24000", 24_000),
    ];
    for (rate, format, native) in cases {
        let opts =
            SynthesizeOptions::default().with_output_format(AudioFormat::new(rate, 1).unwrap());
        let mut audio = tts.synthesize("Hello world", &opts).await.unwrap();
        assert_eq!(audio.output_format().sample_rate, rate);
        let events: Vec<_> = drain(&mut audio)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events.last(), Some(&TtsEvent::SegmentEnd));
        assert_eq!(samples(&events).len(), 11 * native / 100, "{format}");
        let req = el.requests().pop().unwrap();
        assert_eq!(req.path, "/v1/text-to-speech/voice123/stream");
        assert_eq!(req.query_param("output_format"), Some(format));
        assert_eq!(req.header("xi-api-key"), Some(KEY));
        let body = req.json().unwrap();
        assert_eq!(body["text"], "Hello world");
        assert_eq!(body["model_id"], "eleven_flash_v2_5");
        assert_eq!(body["voice_settings"]["stability"], 0.5);
    }
    // A rate ElevenLabs does not offer is produced at the default and converted by the core.
    let opts =
        SynthesizeOptions::default().with_output_format(AudioFormat::new(11_025, 1).unwrap());
    let mut audio = tts.synthesize("Hello world", &opts).await.unwrap();
    let events: Vec<_> = drain(&mut audio)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(events.iter().all(|e| match e {
        TtsEvent::Audio(f) => f.sample_rate() == 11_025,
        _ => true,
    }));
    let n = samples(&events).len() as i64;
    assert!((n - 1213).abs() < 40, "{n} samples at 11025 Hz for 110 ms");
    assert_eq!(
        el.requests().pop().unwrap().query_param("output_format"),
        Some("pcm_24000")
    );
}

#[tokio::test]
async fn quota_exceeded_is_its_own_kind() {
    let el = emulator(ElevenLabsConfig::default().with_reject(
        401,
        "quota_exceeded",
        "This request exceeds your quota of 10000. You have 0 credits remaining, while 91 credits are required for this request.",
    ))
    .await;
    let tts = builder(&el).build().unwrap();
    let err = tts
        .synthesize("Hello", &SynthesizeOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::QuotaExceeded);
    assert!(
        err.provider_message()
            .unwrap()
            .contains("exceeds your quota")
    );
    assert!(!err.is_retryable());
    let err = tts.stream(&SynthesizeOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::QuotaExceeded);
}

#[tokio::test]
async fn concurrency_limit_and_system_busy_are_told_apart() {
    let el = emulator(ElevenLabsConfig::default().with_reject(
        429,
        "too_many_concurrent_requests",
        "Too many concurrent requests for your plan.",
    ))
    .await;
    let tts = builder(&el).build().unwrap();
    let err = tts
        .synthesize("Hello", &SynthesizeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::RateLimited { .. }));
    assert!(!err.is_retryable(), "queue, do not back off");
    assert!(err.message().contains("too_many_concurrent_requests"));
    assert_eq!(el.requests().len(), 1);

    let el = emulator(ElevenLabsConfig::default().with_reject(
        429,
        "system_busy",
        "The system is busy.",
    ))
    .await;
    let tts = builder(&el).build().unwrap();
    let err = tts
        .synthesize("Hello", &SynthesizeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::RateLimited { .. }));
    assert!(err.is_retryable(), "retry with backoff");
    assert!(err.message().contains("system_busy"));
    assert_eq!(el.requests().len(), 3, "first try plus two retries");
}

#[tokio::test]
async fn missing_key_names_both_variables() {
    let result = ElevenLabsTts::builder().api_key("").build();
    if std::env::var("ELEVEN_API_KEY").is_err() && std::env::var("ELEVENLABS_API_KEY").is_err() {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("ELEVEN_API_KEY"));
        assert!(err.to_string().contains("ELEVENLABS_API_KEY"));
    }
    let tts = ElevenLabsTts::builder()
        .api_key("very-secret")
        .build()
        .unwrap();
    assert!(!format!("{tts:?}").contains("very-secret"));
}

#[tokio::test]
async fn a_connection_opened_ahead_that_times_out_is_replaced() {
    let el =
        emulator(ElevenLabsConfig::default().with_inactivity_timeout(Duration::from_millis(100)))
            .await;
    let tts = builder(&el).build().unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hi.").await.unwrap();
    stream.flush().await.unwrap();
    until_segment_end(&mut stream).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    stream.push_text("Again.").await.unwrap();
    stream.end_input().await.unwrap();
    let events: Vec<_> = drain(&mut stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(samples(&events).len(), 6 * 240);
    let conns = el.connections();
    assert_eq!(
        conns.len(),
        3,
        "first turn, the one opened ahead (timed out), the replacement"
    );
    assert_eq!(
        conns[1].sent.last().unwrap()["error"],
        "input_timeout_exceeded"
    );
}

#[tokio::test]
async fn synthesize_with_timestamps_gives_audio_and_word_timings() {
    let el = emulator(ElevenLabsConfig::default()).await;
    let tts = builder(&el).build().unwrap();
    let mut audio = tts
        .synthesize("Hello brave new world", &SynthesizeOptions::default())
        .await
        .unwrap();
    let events: Vec<_> = drain(&mut audio)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events.last(), Some(&TtsEvent::SegmentEnd));
    assert_eq!(samples(&events), expected(21 * 240));
    let w = words(&events);
    let texts: Vec<_> = w.iter().map(|w| w.word.as_str()).collect();
    assert_eq!(texts, vec!["Hello", "brave", "new", "world"]);
    assert_eq!(w[1].start, Duration::from_millis(60));
    assert_eq!(w[3].start, Duration::from_millis(160));
    assert_eq!(w[3].end, Duration::from_millis(210));
    let req = el.requests().pop().unwrap();
    assert_eq!(
        req.path,
        "/v1/text-to-speech/voice123/stream/with-timestamps"
    );
    assert_eq!(req.query_param("output_format"), Some("pcm_24000"));
}

#[tokio::test]
async fn a_missing_is_final_is_a_timeout() {
    let el =
        emulator(ElevenLabsConfig::default().with_first_audio_delay(Duration::from_secs(3))).await;
    let tts = builder(&el)
        .final_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hello.").await.unwrap();
    stream.end_input().await.unwrap();
    let started = tokio::time::Instant::now();
    let items = drain(&mut stream).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let err = items.into_iter().find_map(Result::err).expect("an error");
    assert_eq!(err.kind(), &ErrorKind::Timeout);
    assert!(err.to_string().contains("isFinal"), "{err}");
}
