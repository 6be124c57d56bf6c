//! In-call processors: plugins that watch a session's data and publish one named output.
//!
//! A [`Processor`] declares what it is ([`ProcessorMetadata`]), which kinds of data it
//! consumes, and the name of its one output that other processors and the application may
//! read. It keeps no per-session state of its own: state lives in the engine's [`Store`],
//! reached through the [`SessionContext`], so one instance serves many sessions and instances
//! scale horizontally.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::audio::AudioFrame;
use crate::error::{Error, Result};
use crate::llm::Llm;
use crate::types::{ChatMessage, SpeechEvent, VideoFrame};

/// The kinds of data a processor can consume.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// User audio frames.
    Audio,
    /// Video frames.
    Video,
    /// Speech-to-text events.
    Transcript,
    /// Messages added to the chat history (user, assistant, tool).
    ChatMessage,
    /// Outputs published by other processors.
    ProcessorOutput,
}

/// One piece of session data handed to [`Processor::on_data`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum ProcessorData {
    /// A user audio frame.
    Audio(AudioFrame),
    /// A video frame.
    Video(VideoFrame),
    /// A speech-to-text event.
    Transcript(SpeechEvent),
    /// A message added to the history.
    ChatMessage(ChatMessage),
    /// Another processor's output.
    ProcessorOutput {
        /// The output's name.
        name: String,
        /// Its value.
        value: serde_json::Value,
    },
}

impl ProcessorData {
    /// The kind of this data.
    #[must_use]
    pub fn kind(&self) -> DataKind {
        match self {
            ProcessorData::Audio(_) => DataKind::Audio,
            ProcessorData::Video(_) => DataKind::Video,
            ProcessorData::Transcript(_) => DataKind::Transcript,
            ProcessorData::ChatMessage(_) => DataKind::ChatMessage,
            ProcessorData::ProcessorOutput { .. } => DataKind::ProcessorOutput,
        }
    }
}

/// What a processor is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessorMetadata {
    /// Unique name.
    pub name: String,
    /// Version.
    pub version: String,
    /// What it does.
    pub description: String,
    /// The data it wants; it is only called with these kinds.
    pub consumes: Vec<DataKind>,
    /// The name of its one output, if it publishes one.
    pub output: Option<String>,
}

impl ProcessorMetadata {
    /// Metadata with a name, version and description, consuming nothing yet.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        ProcessorMetadata {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            consumes: Vec::new(),
            output: None,
        }
    }

    /// Adds a consumed kind.
    #[must_use]
    pub fn consumes(mut self, kind: DataKind) -> Self {
        self.consumes.push(kind);
        self
    }

    /// Names the output.
    #[must_use]
    pub fn with_output(mut self, name: impl Into<String>) -> Self {
        self.output = Some(name.into());
        self
    }
}

/// Persistent key-value state owned by the engine, shared by processor instances.
///
/// # Concurrency
/// Called concurrently from many sessions; implementations synchronise internally.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads a value.
    async fn get(&self, key: &str) -> Result<Option<serde_json::Value>>;
    /// Writes a value.
    async fn set(&self, key: &str, value: serde_json::Value) -> Result<()>;
    /// Deletes a value.
    async fn delete(&self, key: &str) -> Result<()>;
}

/// A [`Store`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    values: Mutex<HashMap<String, serde_json::Value>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let values = self
            .values
            .lock()
            .map_err(|_| Error::closed("the store's lock is poisoned"))?;
        Ok(values.get(key).cloned())
    }

    async fn set(&self, key: &str, value: serde_json::Value) -> Result<()> {
        let mut values = self
            .values
            .lock()
            .map_err(|_| Error::closed("the store's lock is poisoned"))?;
        values.insert(key.to_string(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let mut values = self
            .values
            .lock()
            .map_err(|_| Error::closed("the store's lock is poisoned"))?;
        values.remove(key);
        Ok(())
    }
}

/// What a processor may use during a session: its id, the session's language model and the
/// engine's store (keys are scoped by session id with [`SessionContext::session_key`]).
#[derive(Clone)]
pub struct SessionContext {
    session_id: String,
    llm: Option<Arc<dyn Llm>>,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for SessionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionContext")
            .field("session_id", &self.session_id)
            .field("llm", &self.llm.as_ref().map(|l| l.info()))
            .finish_non_exhaustive()
    }
}

impl SessionContext {
    /// A context for `session_id`.
    pub fn new(
        session_id: impl Into<String>,
        llm: Option<Arc<dyn Llm>>,
        store: Arc<dyn Store>,
    ) -> Self {
        SessionContext {
            session_id: session_id.into(),
            llm,
            store,
        }
    }

    /// The session's id.
    #[must_use]
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The session's language model, if it has one.
    #[must_use]
    pub fn llm(&self) -> Option<&Arc<dyn Llm>> {
        self.llm.as_ref()
    }

    /// The engine's store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// `key` scoped to this session: `"<session id>/<key>"`.
    #[must_use]
    pub fn session_key(&self, key: &str) -> String {
        format!("{}/{key}", self.session_id)
    }
}

/// An in-call plugin.
///
/// Lifecycle: `on_install` once when registered, `on_startup` when the engine starts,
/// `on_session_start`/`on_session_end` around each session, `on_shutdown` when the engine
/// stops. Data hooks: [`Processor::on_data`] for each kind in [`ProcessorMetadata::consumes`];
/// a returned value is published as the processor's output.
///
/// # Concurrency and cancellation
/// One instance serves many sessions concurrently, so methods take `&self` and keep state in
/// the [`Store`]. Audio and video are delivered per frame: keep `on_data` quick for them. A
/// hook's future may be dropped when its session ends.
///
/// # Example
/// ```
/// use agents_core::processor::{DataKind, Processor, ProcessorData, ProcessorMetadata, SessionContext};
/// use agents_core::Result;
///
/// /// Counts the user's words and publishes the total as `word_count`.
/// struct WordCounter;
///
/// #[async_trait::async_trait]
/// impl Processor for WordCounter {
///     fn metadata(&self) -> ProcessorMetadata {
///         ProcessorMetadata::new("word-counter", "0.1.0", "counts words")
///             .consumes(DataKind::Transcript)
///             .with_output("word_count")
///     }
///     async fn on_data(&self, ctx: &SessionContext, data: &ProcessorData) -> Result<Option<serde_json::Value>> {
///         let ProcessorData::Transcript(ev) = data else { return Ok(None) };
///         if ev.kind != agents_core::SpeechEventKind::Final { return Ok(None) }
///         let key = ctx.session_key("words");
///         let total = ctx.store().get(&key).await?.and_then(|v| v.as_u64()).unwrap_or(0)
///             + ev.text().split_whitespace().count() as u64;
///         ctx.store().set(&key, total.into()).await?;
///         Ok(Some(total.into()))
///     }
/// }
/// ```
#[async_trait]
pub trait Processor: Send + Sync {
    /// What the processor is, what it consumes and its output's name.
    fn metadata(&self) -> ProcessorMetadata;

    /// Called once when the processor is registered.
    async fn on_install(&self) -> Result<()> {
        Ok(())
    }

    /// Called when the engine starts.
    async fn on_startup(&self) -> Result<()> {
        Ok(())
    }

    /// Called when the engine stops.
    async fn on_shutdown(&self) -> Result<()> {
        Ok(())
    }

    /// Called when a session starts.
    async fn on_session_start(&self, ctx: &SessionContext) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Called when a session ends.
    async fn on_session_end(&self, ctx: &SessionContext) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Called with each piece of data of a consumed kind; `Some(value)` publishes the output.
    async fn on_data(
        &self,
        ctx: &SessionContext,
        data: &ProcessorData,
    ) -> Result<Option<serde_json::Value>>;
}
