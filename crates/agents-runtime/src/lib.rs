//! # agents-runtime
//!
//! The voice pipeline on top of the `agents-core` traits.

pub mod adapters;
pub mod session;
pub mod tokenizer;
pub mod transport;
pub mod vad;

pub use session::{
    AgentSession, AgentSessionBuilder, SessionOptions, SessionReport, ToolCallReport, TurnMetrics,
    TurnReport,
};
