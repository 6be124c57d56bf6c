//! Building the providers from a `ProviderConfig`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agents_core::{ErrorKind, Plugin, ProviderConfig, SttStreamOptions};
use agents_plugin_deepgram::{DeepgramPlugin, PLUGIN_INFO};
use agents_testing::emulators::deepgram::{DeepgramConfig, DeepgramEmulator};

#[test]
fn info_lists_capabilities_and_the_key_variable() {
    assert_eq!(DeepgramPlugin.info(), PLUGIN_INFO);
    assert_eq!(
        PLUGIN_INFO.version,
        agents_plugin_deepgram::version::VERSION
    );
    assert!(PLUGIN_INFO.supports(agents_core::Capability::Stt));
    assert!(PLUGIN_INFO.supports(agents_core::Capability::Tts));
    assert_eq!(PLUGIN_INFO.env_vars[0].name, "DEEPGRAM_API_KEY");
}

#[test]
fn unknown_and_mistyped_options_are_errors() {
    let cfg = ProviderConfig::new("deepgram")
        .with_api_key("k")
        .with_option("langauge", "en");
    let err = DeepgramPlugin.build_stt(&cfg).err().unwrap();
    assert!(err.to_string().contains("langauge"), "{err}");
    let cfg = ProviderConfig::new("deepgram")
        .with_api_key("k")
        .with_option("sample_rate", "fast");
    let err = DeepgramPlugin.build_stt(&cfg).err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    let cfg = ProviderConfig::new("deepgram")
        .with_api_key("k")
        .with_option("sample_rate", 11_025);
    assert!(
        DeepgramPlugin.build_tts(&cfg).is_err(),
        "11025 Hz is not a speak rate"
    );
}

#[tokio::test]
async fn config_options_reach_the_query() {
    let dg = DeepgramEmulator::start(DeepgramConfig::default())
        .await
        .unwrap();
    let cfg = ProviderConfig::new("deepgram")
        .with_api_key("k")
        .with_base_url(dg.http_url())
        .with_model("nova-2-general")
        .with_option("language", "de")
        .with_option("sample_rate", 8000)
        .with_option("endpointing", false)
        .with_option("utterance_end_ms", 1200)
        .with_option("audio_chunk_ms", 100)
        .with_option("keyterms", serde_json::json!(["alpha", "beta"]))
        .with_header("x-agent-name", "demo");
    let stt = DeepgramPlugin.build_stt(&cfg).unwrap();
    assert_eq!(stt.capabilities().input_format.sample_rate, 8000);
    let mut stream = stt.stream(&SttStreamOptions::default()).await.unwrap();
    assert_eq!(stream.audio_chunk(), std::time::Duration::from_millis(100));
    stream.end_input().await.unwrap();
    while futures::StreamExt::next(&mut stream).await.is_some() {}
    let req = dg.listen_connections()[0].request.clone().unwrap();
    assert_eq!(req.query_param("model"), Some("nova-2-general"));
    assert_eq!(req.query_param("language"), Some("de"));
    assert_eq!(req.query_param("sample_rate"), Some("8000"));
    assert_eq!(req.query_param("endpointing"), Some("false"));
    assert_eq!(req.query_param("utterance_end_ms"), Some("1200"));
    assert_eq!(req.query_params("keyterm"), vec!["alpha", "beta"]);
    assert_eq!(req.header("authorization"), Some("Token k"));
    assert_eq!(req.header("x-agent-name"), Some("demo"));
    let bad = ProviderConfig::new("deepgram")
        .with_api_key("k")
        .with_header("bad header", "x");
    assert!(DeepgramPlugin.build_stt(&bad).is_err());
}
