//! The crate's version.

/// The version of `agents-plugin-mock`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
