//! Building every provider from config, key handling, and retry edge cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::plugin::{Capability, Plugin, ProviderConfig};
use agents_core::{ChatContext, ChatMessage, ChatRequest, ConnectOptions, ErrorKind, Llm};
use agents_plugin_openai::{
    OpenAiLlm, OpenAiPlugin, OpenAiRealtime, OpenAiStt, OpenAiTts, OpenAiVideoLlm,
};
use agents_testing::emulators::openai::{ErrorReply, OpenAiEmulator, Reply};

const SECRET: &str = "sk-proj-very-secret-key";

fn cfg() -> ProviderConfig {
    ProviderConfig::new("openai")
        .with_api_key(SECRET)
        .with_base_url("http://127.0.0.1:9/v1")
}

#[test]
fn the_plugin_builds_every_capability() {
    let info = OpenAiPlugin.info();
    for cap in [
        Capability::Llm,
        Capability::Stt,
        Capability::Tts,
        Capability::Realtime,
        Capability::VideoLlm,
    ] {
        assert!(info.supports(cap), "{cap}");
    }
    assert_eq!(info.env_vars[0].name, "OPENAI_API_KEY");
    assert_eq!(info.version, agents_plugin_openai::VERSION);
    let tts = OpenAiPlugin
        .build_tts(
            &cfg()
                .with_option("voice", "coral")
                .with_option("speed", 1.5),
        )
        .unwrap();
    assert_eq!(tts.info().model, "gpt-4o-mini-tts");
    let stt = OpenAiPlugin
        .build_stt(&cfg().with_model("whisper-1").with_option("language", "de"))
        .unwrap();
    assert_eq!(stt.info().model, "whisper-1");
    let rt = OpenAiPlugin
        .build_realtime(&cfg().with_option("api", "beta"))
        .unwrap();
    assert_eq!(rt.info().model, "gpt-realtime");
    let v = OpenAiPlugin
        .build_video_llm(&cfg().with_option("fps", 2.0).with_option("detail", "high"))
        .unwrap();
    assert_eq!(v.video_options().fps, 2.0);

    let bad = |e: agents_core::Error, what: &str| {
        assert_eq!(e.kind(), &ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains(what), "{e}");
    };
    bad(
        OpenAiPlugin
            .build_tts(&cfg().with_option("speed", 9.0))
            .err()
            .unwrap(),
        "speed",
    );
    bad(
        OpenAiPlugin
            .build_tts(&cfg().with_option("vioce", "x"))
            .err()
            .unwrap(),
        "vioce",
    );
    bad(
        OpenAiPlugin
            .build_realtime(&cfg().with_option("api", "v2"))
            .err()
            .unwrap(),
        "api",
    );
    bad(
        OpenAiPlugin
            .build_video_llm(&cfg().with_option("fps", 0.0))
            .err()
            .unwrap(),
        "fps",
    );
    bad(
        OpenAiPlugin
            .build_llm(&cfg().with_base_url("ftp://x"))
            .err()
            .unwrap(),
        "base_url",
    );
}

#[test]
fn debug_never_shows_the_key() {
    let texts = [
        format!(
            "{:?}",
            OpenAiLlm::builder().api_key(SECRET).build().unwrap()
        ),
        format!(
            "{:?}",
            OpenAiTts::builder().api_key(SECRET).build().unwrap()
        ),
        format!(
            "{:?}",
            OpenAiStt::builder().api_key(SECRET).build().unwrap()
        ),
        format!(
            "{:?}",
            OpenAiRealtime::builder().api_key(SECRET).build().unwrap()
        ),
        format!(
            "{:?}",
            OpenAiVideoLlm::builder().api_key(SECRET).build().unwrap()
        ),
    ];
    for t in texts {
        assert!(!t.contains(SECRET), "{t}");
    }
}

#[test]
fn missing_key_is_named_for_every_provider() {
    if std::env::var("OPENAI_API_KEY").is_ok() {
        return;
    }
    let errs = [
        OpenAiTts::builder().build().unwrap_err(),
        OpenAiStt::builder().build().unwrap_err(),
        OpenAiRealtime::builder().build().unwrap_err(),
        OpenAiVideoLlm::builder().build().unwrap_err(),
    ];
    for e in errs {
        assert_eq!(e.kind(), &ErrorKind::Auth);
        assert!(e.to_string().contains("OPENAI_API_KEY"), "{e}");
    }
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_not_waited_for() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Error(ErrorReply::rate_limited(Some("600"), None)));
    let llm = OpenAiLlm::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .connect_options(
            ConnectOptions::default()
                .with_retry_interval(Duration::from_millis(5))
                .with_max_retry_after(Duration::from_secs(120)),
        )
        .build()
        .unwrap();
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("hi"));
    let start = std::time::Instant::now();
    let err = llm.chat(ChatRequest::new(ctx)).await.err().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(emu.requests_to("/chat/completions").len(), 1);
}
