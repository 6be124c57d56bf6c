//! Every plugin linked into the `agents` binary.

use std::sync::Arc;

use agents_core::{Registry, Result};

/// The registry the CLI builds providers from.
pub(crate) fn registry() -> Result<Registry> {
    Registry::new()
        .with(Arc::new(agents_plugin_mock::MockPlugin))?
        .with(Arc::new(agents_plugin_openai::OpenAiPlugin))?
        .with(Arc::new(agents_plugin_openrouter::OpenRouterPlugin))?
        .with(Arc::new(agents_plugin_deepgram::DeepgramPlugin))?
        .with(Arc::new(agents_plugin_elevenlabs::ElevenLabsPlugin))
}
