//! Building the providers from a `ProviderConfig`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agents_core::{Plugin, ProviderConfig, SynthesizeOptions};
use agents_plugin_elevenlabs::{ElevenLabsPlugin, PLUGIN_INFO};
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};
use futures::StreamExt;

#[test]
fn info_and_option_errors() {
    assert_eq!(ElevenLabsPlugin.info(), PLUGIN_INFO);
    assert_eq!(PLUGIN_INFO.env_vars[0].name, "ELEVEN_API_KEY");
    assert_eq!(PLUGIN_INFO.env_vars[1].name, "ELEVENLABS_API_KEY");
    let cfg = ProviderConfig::new("elevenlabs")
        .with_api_key("k")
        .with_option("voice", "x");
    let err = ElevenLabsPlugin.build_tts(&cfg).err().unwrap();
    assert!(err.to_string().contains("`voice`"), "{err}");
    let cfg = ProviderConfig::new("elevenlabs")
        .with_api_key("k")
        .with_option("chunk_length_schedule", serde_json::json!([10]));
    assert!(
        ElevenLabsPlugin.build_tts(&cfg).is_err(),
        "schedule values are 50..=500"
    );
}

#[tokio::test]
async fn config_options_reach_the_wire() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default())
        .await
        .unwrap();
    let cfg = ProviderConfig::new("elevenlabs")
        .with_api_key("k")
        .with_base_url(format!("{}/v1", el.http_url()))
        .with_model("eleven_turbo_v2_5")
        .with_option("voice_id", "v42")
        .with_option("sample_rate", 16000)
        .with_option("stability", 0.3)
        .with_option("speed", 1.1)
        .with_option("chunk_length_schedule", serde_json::json!([50, 100]))
        .with_option("inactivity_timeout", 60)
        .with_header("x-agent-name", "demo");
    let tts = ElevenLabsPlugin.build_tts(&cfg).unwrap();
    assert_eq!(tts.capabilities().output_format.sample_rate, 16_000);
    let mut stream = tts.stream(&SynthesizeOptions::default()).await.unwrap();
    stream.push_text("Hi.").await.unwrap();
    stream.end_input().await.unwrap();
    while let Some(item) = stream.next().await {
        item.unwrap();
    }
    let c = &el.connections()[0];
    let req = c.request.as_ref().unwrap();
    assert_eq!(req.path, "/v1/text-to-speech/v42/stream-input");
    assert_eq!(req.query_param("model_id"), Some("eleven_turbo_v2_5"));
    assert_eq!(req.query_param("output_format"), Some("pcm_16000"));
    assert_eq!(req.query_param("inactivity_timeout"), Some("60"));
    assert_eq!(req.header("x-agent-name"), Some("demo"));
    let open = &c.messages[0];
    assert!((open["voice_settings"]["stability"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    assert!((open["voice_settings"]["speed"].as_f64().unwrap() - 1.1).abs() < 1e-6);
    assert_eq!(
        open["generation_config"]["chunk_length_schedule"],
        serde_json::json!([50, 100])
    );
}

#[tokio::test]
async fn config_headers_reach_rest_requests() {
    let el = ElevenLabsEmulator::start(ElevenLabsConfig::default())
        .await
        .unwrap();
    let cfg = ProviderConfig::new("elevenlabs")
        .with_api_key("k")
        .with_base_url(el.http_url())
        .with_header("x-agent-name", "demo");
    let tts = ElevenLabsPlugin.build_tts(&cfg).unwrap();
    let mut audio = tts
        .synthesize("Hi.", &SynthesizeOptions::default())
        .await
        .unwrap();
    while let Some(item) = audio.next().await {
        item.unwrap();
    }
    let req = el.requests().pop().unwrap();
    assert_eq!(req.header("x-agent-name"), Some("demo"));
    assert_eq!(req.header("xi-api-key"), Some("k"));
}
