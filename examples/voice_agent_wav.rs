//! A voice agent on a WAV file: user audio in, the agent's reply out as WAV.
//!
//! `cargo run -p agents-examples --example voice_agent_wav [input.wav] [reply.wav]`
//!
//! It uses the mock plugin so it runs anywhere; swap in `agents_plugin_deepgram::DeepgramStt`,
//! `agents_plugin_openai::OpenAiLlm` and `agents_plugin_elevenlabs::ElevenLabsTts` to talk to
//! the real providers.

use std::sync::Arc;
use std::time::Duration;

use agents_core::{AudioFormat, Result};
use agents_plugin_mock::{MockLlm, MockReply, MockStt, MockTts};
use agents_runtime::AgentSession;
use agents_runtime::transport::{ClipInput, WavFileOutput};
use agents_testing::fixtures::Fixture;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let input_path = args
        .next()
        .unwrap_or_else(|| Fixture::Weather16k.path().display().to_string());
    let output_path = args.next().unwrap_or_else(|| "reply.wav".to_string());

    let session = AgentSession::builder()
        .instructions("You are a helpful voice assistant.")
        .stt(Arc::new(
            MockStt::builder()
                .transcript("What is the weather in Paris today?")
                .build()?,
        ))
        .llm(Arc::new(
            MockLlm::builder()
                .reply(MockReply::text("It is sunny and warm in Paris today."))
                .build()?,
        ))
        .tts(Arc::new(MockTts::builder().build()?))
        .build()?;

    let input = ClipInput::open(&input_path, Duration::from_millis(20))?
        .with_trailing_silence(Duration::from_secs(1))?;
    let output = WavFileOutput::create(&output_path, AudioFormat::MONO_24K)?;
    let report = session.run(Box::new(input), Box::new(output)).await?;
    for turn in &report.turns {
        println!("user:  {}", turn.user_text);
        println!("agent: {}", turn.agent_text);
    }
    println!("wrote {output_path}");
    Ok(())
}
