//! The crate's version.

/// The version of `agents-plugin-openrouter`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
