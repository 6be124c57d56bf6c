//! # agents-plugin-elevenlabs
//!
//! [ElevenLabs](https://elevenlabs.io) for the agents framework:
//! - [`ElevenLabsTts`]: streaming text-to-speech over the `stream-input` WebSocket (text in as
//!   an LLM produces it, base64 audio and word timings out) and whole texts over
//!   `POST /v1/text-to-speech/{voice_id}/stream`;
//! - [`ElevenLabsStt`]: Scribe speech-to-text over `POST /v1/speech-to-text`.
//!
//! The key (`xi-api-key`) comes from the builder, `ELEVEN_API_KEY` or `ELEVENLABS_API_KEY`.
//! Every endpoint can be pointed elsewhere with `base_url` (the tests use the emulator in
//! `agents-testing`).
//!
//! Errors: `401` with `quota_exceeded` is [`ErrorKind::QuotaExceeded`]; `429`
//! `system_busy` is a retryable `RateLimited`; `429` `too_many_concurrent_requests` is a
//! `RateLimited` that is **not** retryable (queue the request instead of backing off); the
//! WebSocket's `input_timeout_exceeded` is a `Timeout` and other 1008 closes are
//! `ProviderStatus { status: 1008 }`, each with the provider's message.
//!
//! [`ErrorKind::QuotaExceeded`]: agents_core::ErrorKind::QuotaExceeded
//!
//! ```no_run
//! use agents_core::{Plugin, ProviderConfig};
//! use agents_plugin_elevenlabs::ElevenLabsPlugin;
//!
//! # fn demo() -> agents_core::Result<()> {
//! let tts = ElevenLabsPlugin.build_tts(
//!     &ProviderConfig::new("elevenlabs").with_option("voice_id", "EXAVITQu4vr4xnSDxMaL"),
//! )?;
//! # let _ = tts;
//! # Ok(()) }
//! ```

mod client;
pub mod stt;
pub mod tts;
pub mod version;

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

use std::sync::Arc;

use agents_core::plugin::{Capability, EnvVar, Plugin, PluginInfo, ProviderConfig};
use agents_core::{Result, Stt, Tts};

pub use stt::{ElevenLabsStt, ElevenLabsSttBuilder};
pub use tts::{ElevenLabsTts, ElevenLabsTtsBuilder, VoiceSettings, output_format_for};

/// What this plugin is.
pub const PLUGIN_INFO: PluginInfo = PluginInfo {
    name: "elevenlabs",
    version: version::VERSION,
    description: "ElevenLabs streaming and REST text-to-speech, Scribe speech-to-text",
    capabilities: &[Capability::Tts, Capability::Stt],
    env_vars: &[
        EnvVar {
            name: "ELEVEN_API_KEY",
            description: "ElevenLabs API key (sent as `xi-api-key`)",
            required: true,
        },
        EnvVar {
            name: "ELEVENLABS_API_KEY",
            description: "Read when ELEVEN_API_KEY is not set",
            required: false,
        },
    ],
};

const KEY_VARS: &[&str] = &["ELEVEN_API_KEY", "ELEVENLABS_API_KEY"];

const TTS_OPTIONS: &[&str] = &[
    "voice_id",
    "sample_rate",
    "language",
    "stability",
    "similarity_boost",
    "speed",
    "chunk_length_schedule",
    "inactivity_timeout",
];

const STT_OPTIONS: &[&str] = &["language", "sample_rate", "tag_audio_events"];

/// The plugin value: builds [`ElevenLabsTts`] and [`ElevenLabsStt`] from a [`ProviderConfig`].
///
/// TTS options: `voice_id`, `sample_rate`, `language`, `stability`, `similarity_boost`,
/// `speed`, `chunk_length_schedule`, `inactivity_timeout`. STT options: `language`,
/// `sample_rate`, `tag_audio_events`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ElevenLabsPlugin;

impl Plugin for ElevenLabsPlugin {
    fn info(&self) -> PluginInfo {
        PLUGIN_INFO
    }

    fn build_tts(&self, config: &ProviderConfig) -> Result<Arc<dyn Tts>> {
        config.deny_unknown_options(TTS_OPTIONS)?;
        let key = config.api_key_or_env(KEY_VARS)?;
        let mut b = ElevenLabsTts::builder()
            .api_key(key)
            .connect_options(config.connect.clone());
        if let Some(url) = &config.base_url {
            b = b.base_url(url.clone());
        }
        for (name, value) in &config.headers {
            b = b.header(name.clone(), value.clone());
        }
        if let Some(model) = &config.model {
            b = b.model(model.clone());
        }
        if let Some(v) = config.option::<String>("voice_id")? {
            b = b.voice_id(v);
        }
        if let Some(v) = config.option::<u32>("sample_rate")? {
            b = b.sample_rate(v);
        }
        if let Some(v) = config.option::<String>("language")? {
            b = b.language(v);
        }
        let mut settings = VoiceSettings::default();
        if let Some(v) = config.option::<f32>("stability")? {
            settings.stability = v;
        }
        if let Some(v) = config.option::<f32>("similarity_boost")? {
            settings.similarity_boost = v;
        }
        if let Some(v) = config.option::<f32>("speed")? {
            settings.speed = Some(v);
        }
        b = b.voice_settings(settings);
        if let Some(v) = config.option::<Vec<u32>>("chunk_length_schedule")? {
            b = b.chunk_length_schedule(v);
        }
        if let Some(v) = config.option::<u32>("inactivity_timeout")? {
            b = b.inactivity_timeout(v);
        }
        Ok(Arc::new(b.build()?))
    }

    fn build_stt(&self, config: &ProviderConfig) -> Result<Arc<dyn Stt>> {
        config.deny_unknown_options(STT_OPTIONS)?;
        let key = config.api_key_or_env(KEY_VARS)?;
        let mut b = ElevenLabsStt::builder()
            .api_key(key)
            .connect_options(config.connect.clone());
        if let Some(url) = &config.base_url {
            b = b.base_url(url.clone());
        }
        for (name, value) in &config.headers {
            b = b.header(name.clone(), value.clone());
        }
        if let Some(model) = &config.model {
            b = b.model(model.clone());
        }
        if let Some(v) = config.option::<String>("language")? {
            b = b.language(v);
        }
        if let Some(v) = config.option::<u32>("sample_rate")? {
            b = b.sample_rate(v);
        }
        if let Some(v) = config.option::<bool>("tag_audio_events")? {
            b = b.tag_audio_events(v);
        }
        Ok(Arc::new(b.build()?))
    }
}
