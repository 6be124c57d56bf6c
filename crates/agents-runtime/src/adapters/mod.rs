//! Adapters that give any provider the shape a pipeline needs: streaming on top of
//! non-streaming providers, and fallback between providers.
//!
//! # Fallback
//! Several providers of one kind behind one, switching on retryable failure and recovering
//! the primary in the background.
//!
//! Rules shared by [`FallbackLlm`], [`FallbackStt`] and [`FallbackTts`]:
//! - providers are tried in order, skipping those marked unavailable (when all are, all are
//!   tried again);
//! - an attempt fails over when it fails with a retryable error, or produces no first output
//!   within the per-attempt timeout; a non-retryable error (bad key, bad input) comes back at
//!   once, because another provider would not fix the request;
//! - once an attempt yielded output, it is never switched: later errors reach the caller;
//! - a provider that failed is probed in the background every `probe_interval` and is used
//!   again once a probe succeeds;
//! - every switch and recovery is reported through the [`FallbackEvent`] callback.

mod fallback;
mod stream;

pub use fallback::{
    FallbackEvent, FallbackListener, FallbackLlm, FallbackOptions, FallbackStt, FallbackTts,
};
pub use stream::{SttStreamAdapter, TtsStreamAdapter, VadFactory};
