//! # agents-core
//!
//! The small, stable core of the agents framework for real-time voice and vision AI agents.
//! Plugins depend on this crate only; the pipeline lives in `agents-runtime`.
//!
//! What it holds:
//! - the provider traits, each with its concurrency and cancellation contract: [`Stt`], [`Llm`],
//!   [`Tts`], [`Vad`], [`TurnDetector`], [`VideoLlm`], [`Realtime`] and
//!   [`Processor`](processor::Processor);
//! - the streaming handles ([`SttStream`], [`TtsStream`], [`RealtimeSession`]) that convert
//!   audio between the caller's format and each provider's declared format, so that no plugin
//!   resamples;
//! - data types: [`AudioFrame`], [`SpeechEvent`], [`ChatContext`], [`ChatChunk`],
//!   [`VideoFrame`];
//! - the one [`Error`] type with [`Error::is_retryable`], and the connect-phase [`retry()`] helper;
//! - the synchronous audio toolkit in [`audio`];
//! - plugin metadata ([`plugin`]);
//! - with the cargo feature `ws` (off by default), `ws`: what WebSocket plugins share (base
//!   URLs and endpoints, the connect with retries, the mapping of WebSocket errors), so that a
//!   plugin holds only what is its provider's own.
//!
//! ## Supported Rust versions
//! The minimum supported Rust version is 1.87; it is raised only in a minor release.

pub mod audio;
pub mod config;
pub mod error;
pub mod events;
pub mod llm;
pub mod plugin;
pub mod processor;
pub mod provider;
pub mod realtime;
pub mod registry;
pub mod retry;
pub mod stream;
pub mod stt;
pub mod tools;
pub mod tts;
pub mod turn;
pub mod types;
pub mod vad;
pub mod video;
pub mod video_llm;
#[cfg(feature = "ws")]
pub mod ws;

pub use audio::{AudioFormat, AudioFrame};
pub use config::{AgentConfig, ConfigLoader};
pub use error::{Error, ErrorKind, Result};
pub use events::{EventBus, EventSubscriber, SessionEvent};
pub use llm::{ChatStream, Llm, LlmCapabilities};
pub use plugin::{ApiKey, Capability, EnvVar, Plugin, PluginInfo, ProviderConfig};
pub use provider::ProviderInfo;
pub use realtime::{
    Realtime, RealtimeBackend, RealtimeCapabilities, RealtimeEvent, RealtimeInput, RealtimeOptions,
    RealtimeSession, ResponseStatus,
};
pub use registry::Registry;
pub use retry::{ConnectOptions, RetryAttempt, retry, retry_with};
pub use stream::{EventSender, EventStream, event_channel};
pub use stt::{
    RecognizeOptions, Stt, SttCapabilities, SttInput, SttInputSender, SttStream, SttStreamBackend,
    SttStreamOptions,
};
pub use tools::{Tool, ToolOutput, ToolRegistry, ToolResult};
pub use tts::{
    SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities, TtsEvent, TtsInput, TtsInputSender,
    TtsStream, TtsStreamBackend,
};
pub use turn::TurnDetector;
pub use types::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, ChatRole, ContentPart, FinishReason,
    ImageDetail, ImageSource, PixelFormat, SpeechAlternative, SpeechEvent, SpeechEventKind,
    SttUsage, TokenUsage, ToolCall, ToolChoice, ToolDefinition, VideoFrame, WordTiming,
};
pub use vad::Vad;
pub use video::{VideoForwarder, VideoSubscriber};
pub use video_llm::{VideoLlm, VideoOptions};

/// Re-exported so that plugins implement the traits with the same macro version.
pub use async_trait::async_trait;
