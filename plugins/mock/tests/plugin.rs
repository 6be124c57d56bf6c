//! MockPlugin: metadata and building every provider from a ProviderConfig.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use agents_core::plugin::{Capability, Plugin, ProviderConfig};
use agents_core::{
    AudioFormat, AudioFrame, ChatContext, ChatMessage, ChatRequest, RealtimeOptions,
    RecognizeOptions, SynthesizeOptions,
};
use agents_plugin_mock::{PLUGIN, VERSION, collect_text};
use futures::StreamExt;

#[test]
fn info_lists_every_capability_and_no_env_vars() {
    let info = PLUGIN.info();
    assert_eq!(info.name, "mock");
    assert_eq!(info.version, VERSION);
    assert!(info.env_vars.is_empty());
    for c in [
        Capability::Stt,
        Capability::Llm,
        Capability::Tts,
        Capability::Vad,
        Capability::TurnDetector,
        Capability::Realtime,
        Capability::VideoLlm,
    ] {
        assert!(info.supports(c), "{c}");
    }
}

#[tokio::test]
async fn providers_are_built_from_options() {
    let cfg = |opts: serde_json::Value| {
        let mut c = ProviderConfig::new("mock");
        for (k, v) in opts.as_object().unwrap() {
            c = c.with_option(k.clone(), v.clone());
        }
        c
    };
    let stt = PLUGIN
        .build_stt(&cfg(
            serde_json::json!({"transcripts": ["hi there"], "latency_ms": 1}),
        ))
        .unwrap();
    let audio =
        AudioFrame::silence(AudioFormat::MONO_16K, std::time::Duration::from_millis(100)).unwrap();
    let ev = stt
        .recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap();
    assert_eq!(ev.text(), "hi there");

    let llm = PLUGIN
        .build_llm(&cfg(serde_json::json!({"replies": ["scripted"]})).with_model("m1"))
        .unwrap();
    assert_eq!(llm.info().model, "m1");
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("x"));
    let text = collect_text(llm.chat(ChatRequest::new(ctx.clone())).await.unwrap())
        .await
        .unwrap();
    assert_eq!(text, "scripted");

    let tts = PLUGIN
        .build_tts(&cfg(
            serde_json::json!({"ms_per_char": 10, "sample_rate": 16000}),
        ))
        .unwrap();
    assert_eq!(tts.capabilities().output_format, AudioFormat::MONO_16K);
    let n = tts
        .synthesize("abcdefghijklmnopqrst", &SynthesizeOptions::default())
        .await
        .unwrap()
        .filter_map(|e| async move {
            match e.unwrap() {
                agents_core::TtsEvent::Audio(f) => Some(f.duration()),
                _ => None,
            }
        })
        .fold(std::time::Duration::ZERO, |a, b| async move { a + b })
        .await;
    assert_eq!(n, std::time::Duration::from_millis(200));

    let mut vad = PLUGIN
        .build_vad(&cfg(serde_json::json!({"threshold": 0.5})))
        .unwrap();
    assert_eq!(vad.speech_probability(&[0; 160]).unwrap(), 0.0);
    let turn = PLUGIN
        .build_turn_detector(&cfg(serde_json::json!({"threshold": 0.7})))
        .unwrap();
    assert_eq!(turn.threshold(), 0.7);
    let rt = PLUGIN
        .build_realtime(&cfg(serde_json::json!({"replies": ["ok"]})))
        .unwrap();
    assert!(rt.connect(&RealtimeOptions::default()).await.is_ok());
    let vlm = PLUGIN
        .build_video_llm(&cfg(serde_json::json!({"replies": ["a cat"]})))
        .unwrap();
    let text = collect_text(
        vlm.chat_with_frames(ChatRequest::new(ctx), Vec::new())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(text, "a cat");
}

#[tokio::test]
async fn injected_failures_from_config() {
    let cfg = ProviderConfig::new("mock")
        .with_option("fail_next", 2)
        .with_option("fail_status", 429);
    let llm = PLUGIN.build_llm(&cfg).unwrap();
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("x"));
    for _ in 0..2 {
        let err = llm.chat(ChatRequest::new(ctx.clone())).await.err().unwrap();
        assert_eq!(err.status(), Some(429));
        assert!(err.is_retryable());
    }
    assert!(llm.chat(ChatRequest::new(ctx)).await.is_ok());
}

#[test]
fn bad_options_name_the_option() {
    let err = PLUGIN
        .build_stt(&ProviderConfig::new("mock").with_option("transcript", "typo"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("`transcript`"), "{err}");
    let err = PLUGIN
        .build_tts(&ProviderConfig::new("mock").with_option("ms_per_char", "fast"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("ms_per_char"), "{err}");
    let err = PLUGIN
        .build_vad(&ProviderConfig::new("mock").with_option("threshold", 7.0))
        .err()
        .unwrap();
    assert!(err.to_string().contains("threshold"), "{err}");
    let err = PLUGIN
        .build_llm(
            &ProviderConfig::new("mock")
                .with_option("fail_next", 1)
                .with_option("fail_status", 42),
        )
        .err()
        .unwrap();
    assert!(err.to_string().contains("fail_status"), "{err}");
}

/// The README's config file, through the core's config loader and plugin registry.
#[tokio::test]
async fn config_file_and_registry() {
    use agents_core::config::AgentConfig;
    use agents_core::registry::Registry;
    use std::sync::Arc;

    let config = AgentConfig::from_toml_str(
        r#"
        [stt]
        provider = "mock"
        options = { transcripts = ["What is the weather in Paris today?"], latency_ms = 5 }

        [llm]
        provider = "mock"
        options = { replies = ["It is sunny."], fail_next = 1, fail_status = 503 }
        "#,
    )
    .unwrap();
    let registry = Registry::new()
        .with(Arc::new(agents_plugin_mock::MockPlugin))
        .unwrap();
    let stt = registry.build_stt(config.stt.as_ref().unwrap()).unwrap();
    let audio = agents_testing::fixtures::Fixture::Weather16k
        .load()
        .unwrap();
    let ev = stt
        .recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap();
    assert_eq!(ev.text(), "What is the weather in Paris today?");
    let llm = registry.build_llm(config.llm.as_ref().unwrap()).unwrap();
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("weather?"));
    let err = llm.chat(ChatRequest::new(ctx.clone())).await.err().unwrap();
    assert_eq!(err.status(), Some(503));
    let text = collect_text(llm.chat(ChatRequest::new(ctx)).await.unwrap())
        .await
        .unwrap();
    assert_eq!(text, "It is sunny.");
}
