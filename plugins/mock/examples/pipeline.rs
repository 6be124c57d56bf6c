//! A voice turn through the mocks, by hand: speech in, transcript, reply, speech out.
//!
//! ```text
//! cargo run -p agents-plugin-mock --example pipeline
//! ```

use std::time::Duration;

use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, Llm, SpeechEventKind, Stt, SttStreamOptions,
    SynthesizeOptions, Tts, TtsEvent,
};
use agents_plugin_mock::{MockLlm, MockStt, MockTts};
use agents_testing::fixtures::{self, Fixture};
use futures::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> agents_core::Result<()> {
    let stt = MockStt::builder()
        .transcript(Fixture::Weather16k.text())
        .build()?;
    let llm = MockLlm::new(); // echoes
    let tts = MockTts::new();

    // 1. Stream a real recording into the STT in 20 ms frames. Push from one task and read
    //    from another: both sides are bounded, so pushing everything before reading can stall.
    let audio = Fixture::Weather16k.load()?;
    let (mut input, mut events) = stt.stream(&SttStreamOptions::default()).await?.split();
    let frames = fixtures::chunk(&audio, Duration::from_millis(20))?;
    let pusher = tokio::spawn(async move {
        for frame in frames {
            input.push_frame(frame).await?;
        }
        input.end_input().await
    });
    let mut transcript = String::new();
    while let Some(event) = events.next().await {
        let event = event?;
        match event.kind {
            SpeechEventKind::Interim => println!("  interim: {}", event.text()),
            SpeechEventKind::Final => transcript.push_str(event.text()),
            _ => {}
        }
    }
    pusher
        .await
        .map_err(|e| agents_core::Error::cancelled(format!("the pushing task failed: {e}")))??;
    println!("user: {transcript}");

    // 2. Ask the LLM.
    let mut context = ChatContext::new().with_system("Be brief.");
    context.push(ChatMessage::user(transcript));
    let mut reply = String::new();
    let mut chunks = llm.chat(ChatRequest::new(context)).await?;
    while let Some(chunk) = chunks.next().await {
        if let ChatChunk::TextDelta { text } = chunk? {
            reply.push_str(&text);
        }
    }
    println!("agent: {reply}");

    // 3. Speak the reply at 24 kHz (the mock's own rate).
    let mut speech = tts
        .synthesize(&reply, &SynthesizeOptions::default())
        .await?;
    let mut spoken = Duration::ZERO;
    while let Some(event) = speech.next().await {
        if let TtsEvent::Audio(frame) = event? {
            spoken += frame.duration();
        }
    }
    println!("spoke {:.2} s of audio", spoken.as_secs_f64());
    Ok(())
}
