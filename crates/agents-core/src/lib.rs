//! Core of the agents framework.

pub mod audio;
pub mod error;
pub mod retry;

pub use audio::{AudioFormat, AudioFrame};
pub use error::{Error, ErrorKind, Result};
pub use retry::{ConnectOptions, RetryAttempt, retry, retry_with};
