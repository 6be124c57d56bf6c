//! The video LLM over real sockets against the OpenAI emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agents_core::video::VideoForwarder;
use agents_core::{
    ChatContext, ChatMessage, ChatRequest, ConnectOptions, Llm, PixelFormat, VideoFrame, VideoLlm,
};
use agents_plugin_openai::OpenAiVideoLlm;
use agents_testing::emulators::openai::OpenAiEmulator;
use base64::Engine as _;
use futures::StreamExt;

fn vlm(emu: &OpenAiEmulator) -> OpenAiVideoLlm {
    OpenAiVideoLlm::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .fps(1.0)
        .max_frames(2)
        .connect_options(ConnectOptions::default().with_retry_interval(Duration::from_millis(5)))
        .build()
        .unwrap()
}

fn frame(i: u32) -> VideoFrame {
    let shade = (i * 4) as u8;
    VideoFrame::new(
        32,
        24,
        PixelFormat::Rgb24,
        vec![shade; 32 * 24 * 3],
        Duration::from_secs(u64::from(i)) / 30,
    )
    .unwrap()
}

fn ask() -> ChatRequest {
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("What do you see?"));
    ChatRequest::new(ctx)
}

fn images(body: &serde_json::Value) -> Vec<Vec<u8>> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["type"] == "image_url")
        .map(|p| {
            let url = p["image_url"]["url"].as_str().unwrap();
            let b64 = url.strip_prefix("data:image/jpeg;base64,").unwrap();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn frames_at_the_chosen_rate_go_with_the_next_request_as_jpeg() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let vlm = vlm(&emu);
    let forwarder = VideoForwarder::new();
    vlm.watch(&forwarder).unwrap();
    for i in 0..100 {
        forwarder.push(frame(i)); // 3.3 s of a 30 fps source
    }
    // 1 fps keeps frames at 0, 1, 2 and 3 s; the buffer holds the newest 2
    let buffered = vlm.buffered_frames();
    assert_eq!(
        buffered.iter().map(|f| f.timestamp()).collect::<Vec<_>>(),
        vec![Duration::from_secs(2), Duration::from_secs(3)]
    );
    let mut s = vlm.chat(ask()).await.unwrap();
    while s.next().await.is_some() {}
    let body = emu.requests_to("/chat/completions")[0].json().unwrap();
    let imgs = images(&body);
    assert_eq!(imgs.len(), 2);
    for img in &imgs {
        assert_eq!(&img[..2], &[0xFF, 0xD8]);
    }
    let user = &body["messages"][0];
    assert_eq!(user["content"][0]["text"], "What do you see?");
    assert_eq!(user["content"][1]["image_url"]["detail"], "low");
}

#[tokio::test]
async fn frames_from_a_stream_and_explicit_frames() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let vlm = vlm(&emu);
    vlm.watch_stream(futures::stream::iter((0..70).map(frame)))
        .unwrap();
    let start = std::time::Instant::now();
    while vlm.buffered_frames().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // explicit frames through the VideoLlm trait: only the newest max_frames are sent
    let frames: Vec<_> = (0..5).map(|i| frame(i * 30)).collect();
    let mut s = vlm.chat_with_frames(ask(), frames).await.unwrap();
    while s.next().await.is_some() {}
    let body = emu.requests_to("/chat/completions")[0].json().unwrap();
    assert_eq!(images(&body).len(), 2);
}
