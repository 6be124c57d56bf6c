//! A provider and its plugin in one file: a text-to-speech "provider" that beeps once per
//! word, registered by name, built from a config section, checked by the conformance suite,
//! and spoken through the stream adapter.
//!
//! `cargo run -p agents-examples --example custom_plugin`

use std::sync::Arc;

use agents_core::{
    AudioFormat, AudioFrame, Capability, Plugin, PluginInfo, ProviderConfig, ProviderInfo,
    Registry, Result, SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities, TtsEvent,
    async_trait,
};
use agents_runtime::adapters::TtsStreamAdapter;
use agents_testing::conformance::tts::{TtsSuiteConfig, run};
use futures_util::StreamExt;

/// Beeps once per word at `pitch` Hz, 16 kHz mono.
struct BeepTts {
    pitch: f32,
}

#[async_trait]
impl Tts for BeepTts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("beep", format!("{} Hz", self.pitch))
    }

    fn capabilities(&self) -> TtsCapabilities {
        // Declare the native format; the core converts to whatever the caller asks for.
        TtsCapabilities::new(AudioFormat::MONO_16K)
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        let (tx, stream) = TtsAudioStream::channel(AudioFormat::MONO_16K, options);
        let words = text.split_whitespace().count().max(1);
        let pitch = self.pitch;
        tokio::spawn(async move {
            for _ in 0..words {
                // 150 ms of tone, 50 ms of silence, as two 100 ms frames
                let samples: Vec<i16> = (0..3200)
                    .map(|i| {
                        if i < 2400 {
                            let t = i as f32 / 16_000.0;
                            ((t * pitch * std::f32::consts::TAU).sin() * 8000.0) as i16
                        } else {
                            0
                        }
                    })
                    .collect();
                for chunk in samples.chunks(1600) {
                    let frame = AudioFrame::new(chunk.to_vec(), AudioFormat::MONO_16K)?;
                    tx.send(TtsEvent::Audio(frame)).await?;
                }
            }
            tx.send(TtsEvent::SegmentEnd).await
        });
        Ok(stream)
    }
}

/// The plugin: metadata plus a factory from config.
struct BeepPlugin;

impl Plugin for BeepPlugin {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: "beep",
            version: "0.1.0",
            description: "Beeps once per word",
            capabilities: &[Capability::Tts],
            env_vars: &[],
        }
    }

    fn build_tts(&self, config: &ProviderConfig) -> Result<Arc<dyn Tts>> {
        config.deny_unknown_options(&["pitch"])?;
        let pitch = config.option::<f32>("pitch")?.unwrap_or(440.0);
        Ok(Arc::new(BeepTts { pitch }))
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let registry = Registry::new().with(Arc::new(BeepPlugin))?;
    let tts = registry.build_tts(&ProviderConfig::new("beep").with_option("pitch", 660.0))?;
    println!("built {}", tts.info());

    // The same suite every plugin in the repository passes.
    let report = run(tts.as_ref(), &TtsSuiteConfig::default()).await;
    println!("{report}");

    // Streaming through the core's adapter: sentences are synthesized as they complete.
    let mut stream = TtsStreamAdapter::new(tts)
        .stream(&SynthesizeOptions::default().with_output_format(AudioFormat::MONO_48K))
        .await?;
    stream.push_text("One two three. Four five.").await?;
    stream.end_input().await?;
    let mut audio = std::time::Duration::ZERO;
    while let Some(event) = stream.next().await {
        if let TtsEvent::Audio(frame) = event? {
            audio += frame.duration();
        }
    }
    println!("streamed {:.2} s of 48 kHz audio", audio.as_secs_f64());
    Ok(())
}
