//! The crate's version.

/// The version of `agents-plugin-openai`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
