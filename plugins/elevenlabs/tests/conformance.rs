//! The shared conformance suites (`agents_testing::conformance`) against the real plugin and
//! the ElevenLabs emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::{ConnectOptions, ErrorKind};
use agents_plugin_elevenlabs::{ElevenLabsStt, ElevenLabsTts};
use agents_testing::conformance::{ExpectedError, Timeouts, stt, tts};
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};

const KEY: &str = "xi-test-key";

fn timeouts() -> Timeouts {
    Timeouts::default()
        .with_stream(Duration::from_secs(15))
        .with_event(Duration::from_secs(5))
}

fn fast_connect() -> ConnectOptions {
    ConnectOptions::default()
        .with_retry_interval(Duration::from_millis(10))
        .with_max_retries(2)
        .with_timeout(Duration::from_secs(2))
}

fn tts_for(el: &ElevenLabsEmulator) -> ElevenLabsTts {
    ElevenLabsTts::builder()
        .api_key(KEY)
        .base_url(el.http_url())
        .connect_options(fast_connect())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tts_suite() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default().with_api_key(KEY))
        .await
        .unwrap();
    let config = tts::TtsSuiteConfig::default().with_timeouts(timeouts());
    tts::run(&tts_for(&el), &config).await.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tts_suite_failing_quota() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default().with_reject(
        401,
        "quota_exceeded",
        "This request exceeds your quota of 10000.",
    ))
    .await
    .unwrap();
    let config =
        tts::TtsFailingConfig::new(ExpectedError::kind(ErrorKind::QuotaExceeded).retryable(false))
            .with_timeouts(timeouts());
    tts::run_failing(&tts_for(&el), &config)
        .await
        .assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scribe_stt_suite() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default().with_api_key(KEY))
        .await
        .unwrap();
    let scribe = ElevenLabsStt::builder()
        .api_key(KEY)
        .base_url(el.http_url())
        .connect_options(fast_connect())
        .build()
        .unwrap();
    let config = stt::SttSuiteConfig::default().with_timeouts(timeouts());
    stt::run(&scribe, &config).await.assert_passed();
}
