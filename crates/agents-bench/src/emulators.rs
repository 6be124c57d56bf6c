//! The provider emulators, in a separate process so that the client's CPU and memory are
//! measured alone: `agents-bench serve-emulators` starts them, prints their URLs as one JSON
//! line and serves until its stdin closes (so it never outlives the harness).

use std::process::Stdio;
use std::time::Duration;

use agents_core::{Error, Result};
use agents_testing::emulators::deepgram::{DeepgramConfig, DeepgramEmulator};
use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};
use agents_testing::emulators::openai::{ChatReply, OpenAiEmulator};
use agents_testing::fixtures::Fixture;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// The reply of the session's model, token by token (the demo's answer).
pub(crate) const REPLY: [&str; 9] = [
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

/// Tokens of the burst and paced LLM streams.
pub(crate) const BURST_TOKENS: usize = 1000;
/// Tokens of one paced LLM stream (10 ms apart).
pub(crate) const PACED_TOKENS: usize = 300;
/// Gap between paced tokens.
pub(crate) const PACED_GAP: Duration = Duration::from_millis(10);

/// Where the emulators listen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EmulatorUrls {
    /// OpenAI protocol answering every chat with [`REPLY`] at zero delay.
    pub(crate) openai_session: String,
    /// OpenAI protocol answering every chat with [`BURST_TOKENS`] tokens at once.
    pub(crate) openai_burst: String,
    /// OpenAI protocol answering every chat with [`PACED_TOKENS`] tokens 10 ms apart.
    pub(crate) openai_paced: String,
    /// Deepgram, voice-aware (transcribes the weather recording, 300 ms endpointing).
    pub(crate) deepgram: String,
    /// ElevenLabs at zero delay.
    pub(crate) elevenlabs: String,
}

fn io(e: std::io::Error) -> Error {
    Error::connection(format!("cannot start an emulator: {e}"))
}

/// `agents-bench serve-emulators`: runs until stdin closes.
pub(crate) async fn serve() -> Result<()> {
    let words: Vec<String> = Fixture::Weather16k
        .text()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let session = OpenAiEmulator::start().await.map_err(io)?;
    session.set_default_chat(ChatReply::text(REPLY));
    let burst = OpenAiEmulator::start().await.map_err(io)?;
    burst.set_default_chat(ChatReply::numbered(BURST_TOKENS));
    let paced = OpenAiEmulator::start().await.map_err(io)?;
    paced.set_default_chat(ChatReply::numbered(PACED_TOKENS).with_token_delay(PACED_GAP));
    let deepgram = DeepgramEmulator::start(
        DeepgramConfig::default()
            .with_words(words.clone())
            .with_voice_activity(words.len(), Duration::from_millis(300))
            .with_idle_timeout(Duration::from_secs(3600)),
    )
    .await
    .map_err(io)?;
    let elevenlabs = ElevenLabsEmulator::start(ElevenLabsConfig::default())
        .await
        .map_err(io)?;
    let urls = EmulatorUrls {
        openai_session: session.base_url(),
        openai_burst: burst.base_url(),
        openai_paced: paced.base_url(),
        deepgram: deepgram.http_url(),
        elevenlabs: elevenlabs.http_url(),
    };
    println!("{}", serde_json::to_string(&urls)?);
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    let _ = stdin.read_to_end(&mut sink).await;
    Ok(())
}

/// A running `serve-emulators` child; killed when dropped.
#[derive(Debug)]
pub(crate) struct EmulatorProcess {
    child: Child,
    /// Its URLs.
    pub(crate) urls: EmulatorUrls,
}

impl EmulatorProcess {
    /// Spawns this binary's `serve-emulators` and waits for its URLs.
    pub(crate) async fn spawn() -> Result<Self> {
        let exe = crate::self_exe()?;
        let mut child = Command::new(exe)
            .arg("serve-emulators")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(io)?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::connection("the emulator process has no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .map_err(io)?;
        let urls: EmulatorUrls = serde_json::from_str(line.trim())
            .map_err(|e| Error::protocol(format!("the emulator process printed {line:?}: {e}")))?;
        Ok(EmulatorProcess { child, urls })
    }

    /// The child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}
