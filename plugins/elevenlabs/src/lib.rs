//! stub
pub mod version;
