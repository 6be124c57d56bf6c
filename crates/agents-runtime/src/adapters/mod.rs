//! Adapters that give any provider the shape a pipeline needs: streaming on top of
//! non-streaming providers, and fallback between providers.

mod fallback;
mod stream;

pub use fallback::{
    FallbackEvent, FallbackListener, FallbackLlm, FallbackOptions, FallbackStt, FallbackTts,
};
pub use stream::{SttStreamAdapter, TtsStreamAdapter, VadFactory};
