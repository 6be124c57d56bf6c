//! # agents-testing
//!
//! The kit every plugin's tests use, ours and contributors':
//! - [`emulators`]: local servers that speak the providers' real wire protocols, with fault
//!   knobs (429/5xx, dropped connections, malformed frames, idle timeouts);
//! - [`conformance`]: suites that check the stream contracts of `Stt`, `Llm` and `Tts`
//!   (`docs/stream-contracts.md`) against any provider and report each rule;
//! - [`fixtures`]: real speech recordings, committed as small WAV files and embedded in the
//!   crate.

pub mod conformance;
pub mod emulators;
pub mod fixtures;
