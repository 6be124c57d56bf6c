//! `agents demo`: a whole voice agent with no keys and no network.
//!
//! The OpenAI, Deepgram and ElevenLabs emulators of `agents-testing` start in this process
//! on 127.0.0.1; the real plugins talk to them over real sockets (HTTP, SSE and WebSockets),
//! exactly as they would talk to the providers. The user's turn is a bundled recording of
//! "What is the weather in Paris today?", fed at 48 kHz through the earshot VAD and the turn
//! detection; the model calls a `get_weather` tool and answers; the reply is written as WAV.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use agents_core::audio::resample;
use agents_core::{AudioFormat, AudioFrame, Error, ProviderConfig, Result, ToolRegistry};
use agents_runtime::transport::{ClipInput, WavFileOutput};
use agents_runtime::{AgentSession, SessionOptions, SessionReport};
use agents_testing::emulators::deepgram::{DeepgramConfig, DeepgramEmulator};
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};
use agents_testing::emulators::openai::{ChatReply, OpenAiEmulator, Reply};
use agents_testing::fixtures::Fixture;
use serde::{Deserialize, Serialize};

use crate::progress::Progress;

/// The arguments of the demo's tool.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct WeatherArgs {
    /// The city to report on.
    city: String,
}

#[derive(Debug, Serialize)]
struct Weather {
    city: String,
    temperature_c: i32,
    conditions: &'static str,
}

const REPLY: [&str; 9] = [
    "It ",
    "is ",
    "21 ",
    "degrees ",
    "and ",
    "sunny ",
    "in ",
    "Paris ",
    "right now.",
];

/// The demo's JSON output.
#[derive(Debug, Serialize)]
struct DemoOutput<'a> {
    report: &'a SessionReport,
    output_file: String,
    framework_overhead_ms: Option<f64>,
}

pub(crate) async fn run(output: &Path, json: bool, fast: bool) -> Result<ExitCode> {
    let progress = Progress::new(json);
    progress.step("starting the provider emulators on 127.0.0.1");
    let io = |e: std::io::Error| Error::connection(format!("cannot start an emulator: {e}"));
    let fixture = Fixture::Weather16k;
    let words: Vec<String> = fixture
        .text()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let openai = OpenAiEmulator::start().await.map_err(io)?;
    openai.push(Reply::Chat(
        ChatReply::text(Vec::<String>::new())
            .with_tool_call("call_weather_1", "get_weather", r#"{"city":"Paris"}"#)
            .with_finish_reason("tool_calls"),
    ));
    openai.push(Reply::Chat(ChatReply::text(REPLY)));
    let deepgram = DeepgramEmulator::start(
        DeepgramConfig::default()
            .with_words(words.clone())
            .with_voice_activity(words.len(), Duration::from_millis(300)),
    )
    .await
    .map_err(io)?;
    let mut voice = ElevenLabsConfig::default();
    voice.ms_per_char = 65;
    let elevenlabs = ElevenLabsEmulator::start(voice).await.map_err(io)?;

    progress.step("building the openai, deepgram and elevenlabs plugins");
    let registry = crate::registry::registry()?;
    let llm = registry.build_llm(
        &ProviderConfig::new("openai")
            .with_model("gpt-4o-mini")
            .with_api_key("demo-key")
            .with_base_url(openai.base_url()),
    )?;
    let stt = registry.build_stt(
        &ProviderConfig::new("deepgram")
            .with_model("nova-3")
            .with_api_key("demo-key")
            .with_base_url(deepgram.http_url()),
    )?;
    let tts = registry.build_tts(
        &ProviderConfig::new("elevenlabs")
            .with_api_key("demo-key")
            .with_base_url(elevenlabs.http_url()),
    )?;
    let tools = ToolRegistry::new().with_fn(
        "get_weather",
        "The current weather in a city",
        |args: WeatherArgs| async move {
            Ok(Weather {
                city: args.city,
                temperature_c: 21,
                conditions: "sunny",
            })
        },
    )?;

    progress.step(format!("loading the recording: \"{}\"", fixture.text()));
    let speech = resample(&fixture.load()?, AudioFormat::MONO_48K)?;
    let mut clip = AudioFrame::silence(AudioFormat::MONO_48K, Duration::from_millis(300))?;
    clip.append(&speech)?;
    let input = ClipInput::new(clip, Duration::from_millis(20))?
        .paced(!fast)
        .with_trailing_silence(Duration::from_millis(2500))?;
    let out = WavFileOutput::create(output, AudioFormat::MONO_24K)?.realtime(!fast);

    let session = AgentSession::builder()
        .instructions("You are a friendly voice assistant. Answer in one short sentence.")
        .stt(stt)
        .llm(llm)
        .tts(tts)
        .tools(tools)
        .options(SessionOptions::default())
        .build()?;
    progress.step("listening, thinking and speaking");
    let report = session.run(Box::new(input), Box::new(out)).await?;
    progress.finish();

    let overhead = report.turns.first().and_then(framework_overhead);
    if json {
        let out = DemoOutput {
            report: &report,
            output_file: output.display().to_string(),
            framework_overhead_ms: overhead.map(|d| d.as_secs_f64() * 1000.0),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("agents demo: a voice agent through the real openai, deepgram and elevenlabs");
        println!("plugins against local emulators of their protocols (no keys, no network).");
        crate::summary::print_report(&report);
        if let Some(o) = overhead {
            println!(
                "        framework's own share of voice-to-voice: {:.1} ms (the rest is the endpointing delay and the providers)",
                o.as_secs_f64() * 1000.0
            );
        }
        println!();
        println!(
            "wrote the reply to {} ({:.2} s of audio)",
            output.display(),
            report.output_duration.as_secs_f64()
        );
    }
    let answered = report
        .turns
        .iter()
        .any(|t| !t.agent_text.is_empty() && !t.tool_calls.is_empty());
    if !answered {
        return Err(Error::protocol(
            "the demo session ended without a reply that used the tool",
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Voice-to-voice latency minus what the framework waits for on purpose (the endpointing
/// delay) and what the providers and tools take (the LLM rounds and tool calls up to the first
/// sentence, the TTS's first audio).
fn framework_overhead(turn: &agents_runtime::TurnReport) -> Option<Duration> {
    let m = &turn.metrics;
    let v2v = m.voice_to_voice?;
    let llm = m.llm_first_sentence.or(m.llm_first_text)?;
    let waited = m.end_of_utterance_delay? + llm + m.tts_ttfb.unwrap_or_default();
    Some(v2v.saturating_sub(waited))
}
