//! Small programs to copy from. Run one with
//! `cargo run -p agents-examples --example <name>`:
//!
//! - `voice_agent_wav`: a voice agent on a WAV file, reply written as WAV;
//! - `text_chat_tools`: text chat with a typed tool;
//! - `custom_plugin`: a provider and its plugin in one file, picked by name from config;
//! - `vision_agent`: video frames shared through a `VideoForwarder` to a vision model;
//! - `fallback`: two language models behind one, switching on failure.
