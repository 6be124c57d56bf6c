//! # agents-plugin-deepgram
//!
//! [Deepgram](https://deepgram.com) for the agents framework:
//! - [`DeepgramStt`]: streaming speech-to-text over the live `/v1/listen` WebSocket (interim and
//!   final results, start and end of speech, `KeepAlive`, `Finalize`, `CloseStream`, reconnect
//!   without losing audio) and whole utterances over `POST /v1/listen`;
//! - [`DeepgramTts`]: text-to-speech over `POST /v1/speak` and the speak WebSocket.
//!
//! The key comes from the builder or `DEEPGRAM_API_KEY`. Every endpoint can be pointed at
//! another server with `base_url` (the tests use the emulator in `agents-testing`).
//!
//! ```no_run
//! use agents_core::{Plugin, ProviderConfig};
//! use agents_plugin_deepgram::DeepgramPlugin;
//!
//! # fn demo() -> agents_core::Result<()> {
//! let stt = DeepgramPlugin.build_stt(&ProviderConfig::new("deepgram").with_model("nova-3"))?;
//! # let _ = stt;
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
use std::time::Duration;

use agents_core::plugin::{Capability, EnvVar, Plugin, PluginInfo, ProviderConfig};
use agents_core::{Result, Stt, Tts};

pub use stt::{
    DEFAULT_AUDIO_CHUNK, DeepgramStt, DeepgramSttBuilder, Endpointing, MAX_AUDIO_CHUNK, SttOptions,
};
pub use tts::{DeepgramTts, DeepgramTtsBuilder};

/// What this plugin is.
pub const PLUGIN_INFO: PluginInfo = PluginInfo {
    name: "deepgram",
    version: version::VERSION,
    description: "Deepgram streaming and prerecorded speech-to-text, REST and WebSocket text-to-speech",
    capabilities: &[Capability::Stt, Capability::Tts],
    env_vars: &[EnvVar {
        name: "DEEPGRAM_API_KEY",
        description: "Deepgram API key (sent as `Authorization: Token <key>`)",
        required: true,
    }],
};

/// The plugin value: builds [`DeepgramStt`] and [`DeepgramTts`] from a [`ProviderConfig`].
///
/// STT options: `language`, `sample_rate`, `channels`, `interim_results`, `punctuate`,
/// `smart_format`, `endpointing` (ms, or `false`), `utterance_end_ms`, `vad_events`,
/// `keyterms`, `audio_chunk_ms` (audio per WebSocket message, default 50). TTS options:
/// `sample_rate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeepgramPlugin;

const STT_OPTIONS: &[&str] = &[
    "language",
    "sample_rate",
    "channels",
    "interim_results",
    "punctuate",
    "smart_format",
    "endpointing",
    "utterance_end_ms",
    "audio_chunk_ms",
    "vad_events",
    "keyterms",
];

const TTS_OPTIONS: &[&str] = &["sample_rate"];

impl Plugin for DeepgramPlugin {
    fn info(&self) -> PluginInfo {
        PLUGIN_INFO
    }

    fn build_stt(&self, config: &ProviderConfig) -> Result<Arc<dyn Stt>> {
        config.deny_unknown_options(STT_OPTIONS)?;
        let key = config.api_key_or_env(&["DEEPGRAM_API_KEY"])?;
        let mut b = DeepgramStt::builder()
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
        if let Some(v) = config.option::<u16>("channels")? {
            b = b.channels(v);
        }
        if let Some(v) = config.option::<bool>("interim_results")? {
            b = b.interim_results(v);
        }
        if let Some(v) = config.option::<bool>("punctuate")? {
            b = b.punctuate(v);
        }
        if let Some(v) = config.option::<bool>("smart_format")? {
            b = b.smart_format(v);
        }
        match config.option::<serde_json::Value>("endpointing")? {
            Some(serde_json::Value::Bool(false)) => b = b.endpointing(Endpointing::Disabled),
            Some(_) => {
                if let Some(ms) = config.option::<u32>("endpointing")? {
                    b = b.endpointing(Endpointing::Millis(ms));
                }
            }
            None => {}
        }
        if let Some(v) = config.option::<u32>("utterance_end_ms")? {
            b = b.utterance_end_ms(v);
        }
        if let Some(v) = config.option::<bool>("vad_events")? {
            b = b.vad_events(v);
        }
        if let Some(terms) = config.option::<Vec<String>>("keyterms")? {
            for t in terms {
                b = b.keyterm(t);
            }
        }
        if let Some(ms) = config.option::<u64>("audio_chunk_ms")? {
            b = b.audio_chunk(Duration::from_millis(ms));
        }
        Ok(Arc::new(b.build()?))
    }

    fn build_tts(&self, config: &ProviderConfig) -> Result<Arc<dyn Tts>> {
        config.deny_unknown_options(TTS_OPTIONS)?;
        let key = config.api_key_or_env(&["DEEPGRAM_API_KEY"])?;
        let mut b = DeepgramTts::builder()
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
        if let Some(v) = config.option::<u32>("sample_rate")? {
            b = b.sample_rate(v);
        }
        Ok(Arc::new(b.build()?))
    }
}
