//! Scribe speech-to-text against the ElevenLabs emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{AudioFormat, AudioFrame, ErrorKind, RecognizeOptions, SpeechEventKind, Stt};
use agents_plugin_elevenlabs::ElevenLabsStt;
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};

fn tone(format: AudioFormat, ms: u64) -> AudioFrame {
    let n = format.samples_for(Duration::from_millis(ms));
    let samples = (0..n).map(|i| ((i * 37) % 2000) as i16 - 1000).collect();
    AudioFrame::new(samples, format).unwrap()
}

#[tokio::test]
async fn scribe_posts_multipart_and_returns_one_final() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default().with_api_key("k"))
        .await
        .unwrap();
    let stt = ElevenLabsStt::builder()
        .api_key("k")
        .base_url(el.http_url())
        .language("en")
        .build()
        .unwrap();
    let event = stt
        .recognize(
            &tone(AudioFormat::MONO_16K, 1000),
            &RecognizeOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(event.kind, SpeechEventKind::Final);
    assert_eq!(event.text(), "Hello world from Scribe Hello");
    let alt = &event.alternatives[0];
    assert_eq!(alt.language.as_deref(), Some("en"));
    assert_eq!(alt.words.len(), 5, "spacing entries are not words");
    assert_eq!(alt.words[1].start, Duration::from_millis(200));
    assert_eq!(alt.end, Duration::from_secs(1));
    assert_eq!(event.request_id.as_deref(), Some("tr_emulated"));
    let req = el.requests().pop().unwrap();
    assert_eq!(req.path, "/v1/speech-to-text");
    assert_eq!(req.header("xi-api-key"), Some("k"));
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let body = String::from_utf8_lossy(&req.body);
    assert!(
        body.contains("name=\"model_id\"\r\n\r\nscribe_v1"),
        "{body:.300}"
    );
    assert!(body.contains("name=\"language_code\"\r\n\r\nen"));
    assert!(body.contains("filename=\"audio.wav\""));
    assert!(body.contains("RIFF"));
}

#[tokio::test]
async fn scribe_converts_48k_input_and_maps_errors() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default())
        .await
        .unwrap();
    let stt = ElevenLabsStt::builder()
        .api_key("k")
        .base_url(el.http_url())
        .build()
        .unwrap();
    let event = stt
        .recognize(
            &tone(AudioFormat::MONO_48K, 700),
            &RecognizeOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(event.text(), "Hello world from");
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default().with_reject(
        401,
        "invalid_api_key",
        "Invalid API key",
    ))
    .await
    .unwrap();
    let stt = ElevenLabsStt::builder()
        .api_key("k")
        .base_url(el.http_url())
        .build()
        .unwrap();
    let err = stt
        .recognize(
            &tone(AudioFormat::MONO_16K, 100),
            &RecognizeOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert_eq!(err.provider_message(), Some("Invalid API key"));
}
