//! The shared conformance suites (`agents_testing::conformance`) against the real plugin and
//! the Deepgram emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use agents_core::ErrorKind;
use agents_plugin_deepgram::DeepgramTts;
use agents_testing::conformance::{ExpectedError, Timeouts, stt, tts};
use agents_testing::emulators::deepgram::{DeepgramConfig, DeepgramEmulator};
use common::{KEY, builder, fast_connect};

fn timeouts() -> Timeouts {
    Timeouts::default()
        .with_stream(Duration::from_secs(15))
        .with_event(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stt_suite() {
    let dg = DeepgramEmulator::start(DeepgramConfig::default().with_api_key(KEY))
        .await
        .unwrap();
    let stt_provider = builder(&dg).build().unwrap();
    let config = stt::SttSuiteConfig::default()
        .with_timeouts(timeouts())
        .with_expect_interim(true);
    stt::run(&stt_provider, &config).await.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stt_suite_failing_auth() {
    let dg = DeepgramEmulator::start(DeepgramConfig::default().with_api_key("another-key"))
        .await
        .unwrap();
    let stt_provider = builder(&dg).build().unwrap();
    let config = stt::SttFailingConfig::new(ExpectedError::kind(ErrorKind::Auth).retryable(false))
        .with_timeouts(timeouts());
    stt::run_failing(&stt_provider, &config)
        .await
        .assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stt_suite_failing_bad_audio() {
    let dg = DeepgramEmulator::start(
        DeepgramConfig::default()
            .with_api_key(KEY)
            .with_required_sample_rate(8000),
    )
    .await
    .unwrap();
    let stt_provider = builder(&dg).build().unwrap();
    let config = stt::SttFailingConfig::new(ExpectedError::kind(ErrorKind::InvalidInput))
        .with_timeouts(timeouts())
        .with_recognize(false);
    stt::run_failing(&stt_provider, &config)
        .await
        .assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tts_suite() {
    let dg = DeepgramEmulator::start(DeepgramConfig::default().with_api_key(KEY))
        .await
        .unwrap();
    let tts_provider = DeepgramTts::builder()
        .api_key(KEY)
        .base_url(dg.http_url())
        .connect_options(fast_connect())
        .build()
        .unwrap();
    let config = tts::TtsSuiteConfig::default().with_timeouts(timeouts());
    tts::run(&tts_provider, &config).await.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tts_suite_failing_auth() {
    let dg = DeepgramEmulator::start(DeepgramConfig::default().with_api_key("another-key"))
        .await
        .unwrap();
    let tts_provider = DeepgramTts::builder()
        .api_key(KEY)
        .base_url(dg.http_url())
        .connect_options(fast_connect())
        .build()
        .unwrap();
    let config = tts::TtsFailingConfig::new(ExpectedError::kind(ErrorKind::Auth).retryable(false))
        .with_timeouts(timeouts());
    tts::run_failing(&tts_provider, &config)
        .await
        .assert_passed();
}
