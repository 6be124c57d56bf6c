//! The crate's version.

/// The version of `{{crate}}`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
