//! From an agent config file to providers and session options.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agents_core::{
    AgentConfig, Error, Llm, ProviderConfig, Registry, Result, Stt, Tts, TurnDetector, Vad,
};
use agents_runtime::SessionOptions;
use agents_runtime::adapters::VadFactory;
use agents_runtime::vad::{EarshotVad, VadOptions};
use serde::Deserialize;

/// The `[session]` table of an agent config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionSettings {
    /// Spoken first, before the user says anything.
    pub(crate) greeting: Option<String>,
    pub(crate) min_endpointing_delay_ms: Option<u64>,
    pub(crate) max_endpointing_delay_ms: Option<u64>,
    pub(crate) allow_interruptions: Option<bool>,
    pub(crate) min_interruption_duration_ms: Option<u64>,
    pub(crate) min_interruption_words: Option<usize>,
    pub(crate) preemptive_generation: Option<bool>,
    pub(crate) max_tool_rounds: Option<usize>,
    pub(crate) vad_activation_threshold: Option<f32>,
    pub(crate) vad_min_speech_ms: Option<u64>,
    pub(crate) vad_min_silence_ms: Option<u64>,
    pub(crate) vad_prefix_padding_ms: Option<u64>,
    /// Sample rate of the output WAV file (default 24000).
    pub(crate) output_sample_rate: Option<u32>,
}

impl SessionSettings {
    pub(crate) fn from_config(config: &AgentConfig, file: &Path) -> Result<Self> {
        serde_json::from_value(serde_json::Value::Object(config.session.clone()))
            .map_err(|e| Error::invalid_input(format!("[session] in {}: {e}", file.display())))
    }

    pub(crate) fn options(&self) -> SessionOptions {
        let ms = Duration::from_millis;
        let mut vad = VadOptions::default();
        if let Some(v) = self.vad_activation_threshold {
            vad = vad.with_activation_threshold(v);
        }
        if let Some(v) = self.vad_min_speech_ms {
            vad = vad.with_min_speech_duration(ms(v));
        }
        if let Some(v) = self.vad_min_silence_ms {
            vad = vad.with_min_silence_duration(ms(v));
        }
        if let Some(v) = self.vad_prefix_padding_ms {
            vad = vad.with_prefix_padding(ms(v));
        }
        let mut o = SessionOptions::default().with_vad(vad);
        if let Some(v) = self.min_endpointing_delay_ms {
            o = o.with_min_endpointing_delay(ms(v));
        }
        if let Some(v) = self.max_endpointing_delay_ms {
            o = o.with_max_endpointing_delay(ms(v));
        }
        if let Some(v) = self.allow_interruptions {
            o = o.with_allow_interruptions(v);
        }
        if let Some(v) = self.min_interruption_duration_ms {
            o = o.with_min_interruption_duration(ms(v));
        }
        if let Some(v) = self.min_interruption_words {
            o = o.with_min_interruption_words(v);
        }
        if let Some(v) = self.preemptive_generation {
            o = o.with_preemptive_generation(v);
        }
        if let Some(v) = self.max_tool_rounds {
            o = o.with_max_tool_rounds(v);
        }
        o
    }
}

/// The providers of a config, built through the registry.
pub(crate) struct Providers {
    pub(crate) stt: Arc<dyn Stt>,
    pub(crate) llm: Arc<dyn Llm>,
    pub(crate) tts: Arc<dyn Tts>,
    pub(crate) vad: VadFactory,
    pub(crate) turn_detector: Option<Arc<dyn TurnDetector>>,
}

fn required<'a>(
    section: &'a Option<ProviderConfig>,
    name: &str,
    file: &Path,
) -> Result<&'a ProviderConfig> {
    section.as_ref().ok_or_else(|| {
        Error::invalid_input(format!(
            "{} has no [{name}] section; a voice agent needs stt, llm and tts",
            file.display()
        ))
    })
}

/// Builds every provider the config names; the first problem is the error.
pub(crate) fn build_providers(
    registry: &Registry,
    config: &AgentConfig,
    file: &Path,
) -> Result<Providers> {
    let stt = registry.build_stt(required(&config.stt, "stt", file)?)?;
    let llm = registry.build_llm(required(&config.llm, "llm", file)?)?;
    let tts = registry.build_tts(required(&config.tts, "tts", file)?)?;
    let vad: VadFactory = match &config.vad {
        None => Arc::new(|| Box::new(EarshotVad::new()) as Box<dyn Vad>),
        Some(vad_config) => {
            // Build once now so a bad section fails here, not mid-session.
            registry.build_vad(vad_config)?;
            let registry = registry.clone();
            let vad_config = vad_config.clone();
            Arc::new(move || match registry.build_vad(&vad_config) {
                Ok(vad) => vad,
                Err(e) => {
                    tracing::warn!(%e, "cannot build the configured VAD; using earshot");
                    Box::new(EarshotVad::new())
                }
            })
        }
    };
    let turn_detector = config
        .turn_detector
        .as_ref()
        .map(|c| registry.build_turn_detector(c))
        .transpose()?;
    Ok(Providers {
        stt,
        llm,
        tts,
        vad,
        turn_detector,
    })
}
