//! # agents-plugin-openai
//!
//! OpenAI providers for the agents framework, usable with any OpenAI-compatible server through
//! `base_url` (vLLM, Ollama, LM Studio, llama.cpp):
//!
//! - [`OpenAiLlm`]: streamed chat completions with tools and images;
//! - [`OpenAiTts`]: `/audio/speech` as 24 kHz PCM frames streamed while the body arrives;
//! - [`OpenAiStt`]: `/audio/transcriptions` with the utterance as WAV;
//! - [`OpenAiRealtime`]: speech-to-speech over the Realtime WebSocket (GA and beta);
//! - [`OpenAiVideoLlm`]: video frames at a chosen rate, sent as JPEG images with each request;
//! - the public [`chat_completions`] client, shared with the OpenRouter plugin;
//! - [`OpenAiPlugin`]: the [`Plugin`] factory that builds them from a [`ProviderConfig`].
//!
//! The key comes from the builder or `OPENAI_API_KEY`; a missing key is an error naming the
//! variable. Connect-phase failures (refused, 429, 5xx) are retried with backoff that honours
//! `retry-after`; nothing is retried after output began. See [`endpoint`] for the error mapping.

use std::sync::Arc;

use agents_core::plugin::{Capability, EnvVar, Plugin, PluginInfo, ProviderConfig};
use agents_core::{Llm, Realtime, Result, Stt, Tts, VideoLlm};

pub mod chat_completions;
mod config;
pub mod endpoint;
mod llm;
mod realtime;
pub mod sse;
mod stt;
mod tts;
pub mod version;
mod video;

pub use config::API_KEY_ENV;
pub use llm::{DEFAULT_LLM_MODEL, OpenAiLlm, OpenAiLlmBuilder};
pub use realtime::{
    DEFAULT_REALTIME_MODEL, OpenAiRealtime, OpenAiRealtimeBuilder, REALTIME_FORMAT, RealtimeApi,
};
pub use stt::{DEFAULT_STT_MODEL, OpenAiStt, OpenAiSttBuilder, STT_INPUT_FORMAT};
pub use tts::{DEFAULT_TTS_MODEL, DEFAULT_VOICE, OpenAiTts, OpenAiTtsBuilder, PCM_FORMAT};
pub use version::VERSION;
pub use video::{DEFAULT_VIDEO_MODEL, OpenAiVideoLlm, OpenAiVideoLlmBuilder, encode_jpeg};

/// What this plugin is.
pub const PLUGIN_INFO: PluginInfo = PluginInfo {
    name: "openai",
    version: VERSION,
    description: "OpenAI and OpenAI-compatible chat, speech-to-text, text-to-speech, realtime and vision",
    capabilities: &[
        Capability::Llm,
        Capability::Stt,
        Capability::Tts,
        Capability::Realtime,
        Capability::VideoLlm,
    ],
    env_vars: &[EnvVar {
        name: API_KEY_ENV,
        description: "OpenAI API key (any non-empty value for local servers that ignore it)",
        required: true,
    }],
};

/// The plugin factory: builds OpenAI providers from config sections.
///
/// ```
/// use agents_core::plugin::{Plugin, ProviderConfig};
/// use agents_plugin_openai::OpenAiPlugin;
///
/// let cfg = ProviderConfig::new("openai")
///     .with_api_key("sk-test")
///     .with_base_url("http://127.0.0.1:8080/v1")
///     .with_model("llama3");
/// let llm = OpenAiPlugin.build_llm(&cfg).unwrap();
/// assert_eq!(llm.info().model, "llama3");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiPlugin;

impl Plugin for OpenAiPlugin {
    fn info(&self) -> PluginInfo {
        PLUGIN_INFO
    }

    fn build_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn Llm>> {
        Ok(Arc::new(OpenAiLlm::from_config(config)?))
    }

    fn build_stt(&self, config: &ProviderConfig) -> Result<Arc<dyn Stt>> {
        Ok(Arc::new(OpenAiStt::from_config(config)?))
    }

    fn build_tts(&self, config: &ProviderConfig) -> Result<Arc<dyn Tts>> {
        Ok(Arc::new(OpenAiTts::from_config(config)?))
    }

    fn build_realtime(&self, config: &ProviderConfig) -> Result<Arc<dyn Realtime>> {
        Ok(Arc::new(OpenAiRealtime::from_config(config)?))
    }

    fn build_video_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn VideoLlm>> {
        Ok(Arc::new(OpenAiVideoLlm::from_config(config)?))
    }
}
