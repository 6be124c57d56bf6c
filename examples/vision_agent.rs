//! A vision agent: one camera feeds a `VideoForwarder`; the vision model keeps the latest
//! frames at its own rate and sees them with the next question.
//!
//! `cargo run -p agents-examples --example vision_agent`

use std::time::Duration;

use agents_core::{
    ChatContext, ChatMessage, ChatRequest, PixelFormat, Result, VideoForwarder, VideoFrame,
    VideoLlm,
};
use agents_plugin_mock::{MockLlm, MockReply, MockVideoLlm};

#[tokio::main]
async fn main() -> Result<()> {
    let model = MockVideoLlm::builder()
        .llm(MockLlm::builder().reply(MockReply::text("I see a grey test pattern.")))
        .fps(2.0)
        .max_frames(4)
        .build()?;
    let options = model.video_options();

    // One source shared by any number of consumers, each at its own rate.
    let forwarder = VideoForwarder::new();
    let for_model = forwarder.subscribe(options.fps, options.max_frames)?;
    let for_recorder = forwarder.subscribe(10.0, 30)?;

    // Three seconds of a 30 fps camera (a 64x48 grey image).
    for i in 0..90u64 {
        let frame = VideoFrame::new(
            64,
            48,
            PixelFormat::Rgb24,
            vec![128u8; 64 * 48 * 3],
            Duration::from_millis(i * 1000 / 30),
        )?;
        forwarder.push(frame);
    }

    let frames = for_model.latest(options.max_frames);
    println!(
        "model keeps {} frames at {} fps; recorder has {} at 10 fps",
        frames.len(),
        options.fps,
        for_recorder.latest(30).len()
    );
    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("What do you see?"));
    let stream = model
        .chat_with_frames(ChatRequest::new(ctx), frames)
        .await?;
    println!("model: {}", agents_plugin_mock::collect_text(stream).await?);
    Ok(())
}
