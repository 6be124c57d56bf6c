//! # agents-plugin-mock
//!
//! Deterministic mock providers for every trait of `agents-core`, for docs, examples and the
//! unit tests of applications built on the framework. Nothing touches the network; every mock
//! is scripted, has a configurable latency, and can be told to fail (the next N calls with a
//! given error, or mid-stream after K items) so that retry, fallback and error paths can be
//! tested.
//!
//! | mock | trait | behaviour |
//! | --- | --- | --- |
//! | [`MockStt`] | `Stt` | speech found by energy; scripted transcripts (or `"<speech 1.2s>"`); interims word by word |
//! | [`MockLlm`] | `Llm` | scripted [`MockReply`]s with tool calls, usage and finish reason; echo when unscripted |
//! | [`MockTts`] | `Tts` | an audible buzz at 24 kHz, 60 ms per character, 20 ms frames, word timings |
//! | [`MockVad`] | `Vad` | energy, 16 kHz, 160-sample frames |
//! | [`MockTurnDetector`] | `TurnDetector` | punctuation |
//! | [`MockVideoLlm`] | `VideoLlm` | scripted, or describes the frames |
//! | [`MockRealtime`] | `Realtime` | transcribes by energy, answers with transcript + audio, scripted tool calls, interrupt |
//!
//! [`PLUGIN`] builds them from a `ProviderConfig` (provider name `"mock"`).
//!
//! ```
//! use agents_core::{ChatContext, ChatMessage, ChatRequest, Error, Llm, ToolCall};
//! use agents_plugin_mock::{MockLlm, MockReply, collect_text};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let llm = MockLlm::builder()
//!     .reply(MockReply::tool_call(ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#)))
//!     .reply(MockReply::text("It is sunny in Paris."))
//!     .fail_next(1, Error::provider_status(503, "overloaded"))
//!     .build()
//!     .unwrap();
//! let mut ctx = ChatContext::new();
//! ctx.push(ChatMessage::user("Weather in Paris?"));
//! // the first call fails with a retryable error
//! let err = llm.chat(ChatRequest::new(ctx.clone())).await.err().unwrap();
//! assert!(err.is_retryable());
//! // then the script plays: a tool call round, then the answer
//! let _round1 = llm.chat(ChatRequest::new(ctx.clone())).await.unwrap();
//! let text = collect_text(llm.chat(ChatRequest::new(ctx)).await.unwrap()).await.unwrap();
//! assert_eq!(text, "It is sunny in Paris.");
//! assert_eq!(llm.faults().calls(), 3);
//! # });
//! ```

mod audio;
mod faults;
mod llm;
mod plugin;
mod realtime;
mod stt;
mod tts;
mod turn;
mod vad;
mod version;
mod video_llm;

pub use faults::{CallPlan, Faults};
pub use llm::{MockLlm, MockLlmBuilder, MockReply, collect_text};
pub use plugin::{MockPlugin, PLUGIN};
pub use realtime::{MockRealtime, MockRealtimeBuilder};
pub use stt::{MockStt, MockSttBuilder};
pub use tts::{MockTts, MockTtsBuilder, buzz_frames};
pub use turn::{MockTurnDetector, MockTurnDetectorBuilder};
pub use vad::{MockVad, MockVadBuilder};
pub use version::VERSION;
pub use video_llm::{MockVideoLlm, MockVideoLlmBuilder};
