//! # agents-runtime
//!
//! The voice pipeline on top of the `agents-core` traits.

pub mod adapters;
pub mod tokenizer;
pub mod transport;
pub mod vad;
