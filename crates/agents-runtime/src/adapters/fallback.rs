//! Fallback adapters; the rules are in the [`adapters`](crate::adapters) module docs.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use agents_core::{
    AudioFrame, ChatRequest, ChatStream, Error, Llm, LlmCapabilities, ProviderInfo,
    RecognizeOptions, Result, SpeechEvent, Stt, SttCapabilities, SttStream, SttStreamOptions,
    SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities, TtsStream, async_trait,
};
use futures_util::{StreamExt, stream};

/// Options of a fallback adapter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FallbackOptions {
    /// How long one provider may take to produce its first output.
    pub attempt_timeout: Duration,
    /// How often a failed provider is probed.
    pub probe_interval: Duration,
}

impl Default for FallbackOptions {
    fn default() -> Self {
        FallbackOptions {
            attempt_timeout: Duration::from_secs(10),
            probe_interval: Duration::from_secs(5),
        }
    }
}

impl FallbackOptions {
    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sets the probe interval.
    #[must_use]
    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }
}

/// A switch or a recovery.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum FallbackEvent {
    /// A provider failed and is marked unavailable.
    ProviderFailed {
        /// The provider.
        provider: ProviderInfo,
        /// Why.
        error: Error,
    },
    /// A failed provider answered a probe and is used again.
    ProviderRecovered {
        /// The provider.
        provider: ProviderInfo,
    },
}

/// Receives fallback events.
pub type FallbackListener = Arc<dyn Fn(FallbackEvent) + Send + Sync>;

struct Slot<T: ?Sized> {
    provider: Arc<T>,
    available: AtomicBool,
    probing: AtomicBool,
}

struct Shared<T: ?Sized> {
    slots: Vec<Slot<T>>,
    options: FallbackOptions,
    listener: Option<FallbackListener>,
}

impl<T: ?Sized + Send + Sync + 'static> Shared<T> {
    fn new(providers: Vec<Arc<T>>, options: FallbackOptions) -> Result<Self> {
        if providers.is_empty() {
            return Err(Error::invalid_input(
                "a fallback adapter needs at least one provider",
            ));
        }
        Ok(Shared {
            slots: providers
                .into_iter()
                .map(|provider| Slot {
                    provider,
                    available: AtomicBool::new(true),
                    probing: AtomicBool::new(false),
                })
                .collect(),
            options,
            listener: None,
        })
    }

    fn emit(&self, event: FallbackEvent) {
        if let Some(l) = &self.listener {
            l(event);
        }
    }

    fn order(&self) -> Vec<usize> {
        let available: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].available.load(Ordering::Acquire))
            .collect();
        if available.is_empty() {
            (0..self.slots.len()).collect()
        } else {
            available
        }
    }

    /// Runs `attempt` on providers in order until one produces output.
    async fn run<R, F, Fut>(
        self: &Arc<Self>,
        info: impl Fn(&T) -> ProviderInfo,
        attempt: F,
        probe: impl Fn(Arc<T>) -> ProbeFuture + Clone + Send + Sync + 'static,
    ) -> Result<R>
    where
        F: Fn(Arc<T>) -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        let mut last_error = None;
        for i in self.order() {
            let slot = &self.slots[i];
            let outcome = match tokio::time::timeout(
                self.options.attempt_timeout,
                attempt(slot.provider.clone()),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::timeout(format!(
                    "no output within {} ms",
                    self.options.attempt_timeout.as_millis()
                ))
                .with_provider(info(&slot.provider).provider)),
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(error) if error.is_retryable() => {
                    tracing::warn!(provider = %info(&slot.provider), %error, "provider failed, falling back");
                    if slot.available.swap(false, Ordering::AcqRel) {
                        self.emit(FallbackEvent::ProviderFailed {
                            provider: info(&slot.provider),
                            error: error.clone(),
                        });
                    }
                    self.spawn_probe(i, &info, probe.clone());
                    last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        let error = last_error.unwrap_or_else(|| Error::connection("no provider available"));
        Err(Error::new(
            error.kind().clone(),
            format!(
                "all {} providers failed; the last error: {error}",
                self.slots.len()
            ),
        )
        .with_retryable(error.is_retryable()))
    }

    fn spawn_probe(
        self: &Arc<Self>,
        index: usize,
        info: &impl Fn(&T) -> ProviderInfo,
        probe: impl Fn(Arc<T>) -> ProbeFuture + Send + Sync + 'static,
    ) {
        let slot = &self.slots[index];
        if slot.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        let provider = slot.provider.clone();
        let name = info(&provider);
        let interval = self.options.probe_interval;
        let timeout = self.options.attempt_timeout;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                if weak.strong_count() == 0 {
                    return;
                }
                let ok = matches!(
                    tokio::time::timeout(timeout, probe(provider.clone())).await,
                    Ok(Ok(()))
                );
                let Some(shared) = weak.upgrade() else { return };
                if ok {
                    let slot = &shared.slots[index];
                    slot.available.store(true, Ordering::Release);
                    slot.probing.store(false, Ordering::Release);
                    tracing::info!(provider = %name, "provider recovered");
                    shared.emit(FallbackEvent::ProviderRecovered {
                        provider: name.clone(),
                    });
                    return;
                }
            }
        });
    }
}

type ProbeFuture = std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>;

macro_rules! fallback_common {
    ($name:ident, $tr:ident) => {
        impl $name {
            /// Providers in priority order (the first is the primary).
            pub fn new(providers: Vec<Arc<dyn $tr>>, options: FallbackOptions) -> Result<Self> {
                Ok($name {
                    shared: Arc::new(Shared::new(providers, options)?),
                })
            }

            /// Reports switches and recoveries to `listener`.
            pub fn with_listener(self, listener: FallbackListener) -> Result<Self> {
                let Ok(mut shared) = Arc::try_unwrap(self.shared) else {
                    return Err(Error::invalid_input(
                        "set the listener before the adapter is shared",
                    ));
                };
                shared.listener = Some(listener);
                Ok($name {
                    shared: Arc::new(shared),
                })
            }

            /// Whether provider `index` is currently used.
            #[must_use]
            pub fn is_available(&self, index: usize) -> bool {
                self.shared
                    .slots
                    .get(index)
                    .map(|s| s.available.load(Ordering::Acquire))
                    .unwrap_or(false)
            }

            fn primary(&self) -> &Arc<dyn $tr> {
                &self.shared.slots[self.shared.order()[0]].provider
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let providers: Vec<String> = self
                    .shared
                    .slots
                    .iter()
                    .map(|s| s.provider.info().to_string())
                    .collect();
                f.debug_struct(stringify!($name))
                    .field("providers", &providers)
                    .field("options", &self.shared.options)
                    .finish()
            }
        }
    };
}

/// Several language models behind one; see the [`adapters`](crate::adapters) module docs.
///
/// ```
/// use agents_runtime::adapters::{FallbackLlm, FallbackOptions};
/// use std::sync::Arc;
///
/// # fn build(primary: Arc<dyn agents_core::Llm>, backup: Arc<dyn agents_core::Llm>) -> agents_core::Result<FallbackLlm> {
/// FallbackLlm::new(vec![primary, backup], FallbackOptions::default())
/// # }
/// ```
pub struct FallbackLlm {
    shared: Arc<Shared<dyn Llm>>,
}

fallback_common!(FallbackLlm, Llm);

#[async_trait]
impl Llm for FallbackLlm {
    fn info(&self) -> ProviderInfo {
        self.primary().info()
    }

    fn capabilities(&self) -> LlmCapabilities {
        self.primary().capabilities()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let probe_request = request.clone().with_max_tokens(1);
        self.shared
            .run(
                |p| p.info(),
                |provider| {
                    let request = request.clone();
                    async move {
                        let mut s = provider.chat(request).await?;
                        match s.next().await {
                            Some(Ok(first)) => Ok(stream::iter([Ok(first)]).chain(s).boxed()),
                            Some(Err(e)) => Err(e),
                            None => Ok(stream::empty().boxed()),
                        }
                    }
                },
                move |provider| {
                    let request = probe_request.clone();
                    Box::pin(async move {
                        let mut s = provider.chat(request).await?;
                        match s.next().await {
                            Some(Err(e)) => Err(e),
                            _ => Ok(()),
                        }
                    })
                },
            )
            .await
    }
}

/// Several speech-to-text providers behind one; see the [`adapters`](crate::adapters) module docs. Streams switch
/// only while connecting.
pub struct FallbackStt {
    shared: Arc<Shared<dyn Stt>>,
}

fallback_common!(FallbackStt, Stt);

#[async_trait]
impl Stt for FallbackStt {
    fn info(&self) -> ProviderInfo {
        self.primary().info()
    }

    fn capabilities(&self) -> SttCapabilities {
        self.primary().capabilities()
    }

    async fn recognize(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        let probe_audio = audio.clone();
        let probe_options = options.clone();
        self.shared
            .run(
                |p| p.info(),
                |provider| async move { provider.recognize(audio, options).await },
                move |provider| {
                    let audio = probe_audio.clone();
                    let options = probe_options.clone();
                    Box::pin(async move { provider.recognize(&audio, &options).await.map(|_| ()) })
                },
            )
            .await
    }

    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        self.recognize(audio, options).await
    }

    async fn stream(&self, options: &SttStreamOptions) -> Result<SttStream> {
        let probe_options = options.clone();
        self.shared
            .run(
                |p| p.info(),
                |provider| async move { provider.stream(options).await },
                move |provider| {
                    let options = probe_options.clone();
                    Box::pin(async move { provider.stream(&options).await.map(|_| ()) })
                },
            )
            .await
    }
}

/// Several text-to-speech providers behind one; see the [`adapters`](crate::adapters) module docs. `synthesize`
/// switches until the first audio; streams switch only while connecting.
pub struct FallbackTts {
    shared: Arc<Shared<dyn Tts>>,
}

fallback_common!(FallbackTts, Tts);

#[async_trait]
impl Tts for FallbackTts {
    fn info(&self) -> ProviderInfo {
        self.primary().info()
    }

    fn capabilities(&self) -> TtsCapabilities {
        self.primary().capabilities()
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        let probe_options = options.clone();
        self.shared
            .run(
                |p| p.info(),
                |provider| async move {
                    let mut audio = provider.synthesize(text, options).await?;
                    // Wait for the first item so that a failure before any audio fails over.
                    let first = audio.next().await;
                    let format = audio.output_format();
                    match first {
                        Some(Err(e)) => Err(e),
                        first => Ok(prepend(first, audio, format)),
                    }
                },
                move |provider| {
                    let options = probe_options.clone();
                    Box::pin(async move {
                        let mut audio = provider.synthesize("ok", &options).await?;
                        match audio.next().await {
                            Some(Err(e)) => Err(e),
                            _ => Ok(()),
                        }
                    })
                },
            )
            .await
    }

    async fn stream(&self, options: &SynthesizeOptions) -> Result<TtsStream> {
        let probe_options = options.clone();
        self.shared
            .run(
                |p| p.info(),
                |provider| async move { provider.stream(options).await },
                move |provider| {
                    let options = probe_options.clone();
                    Box::pin(async move { provider.stream(&options).await.map(|_| ()) })
                },
            )
            .await
    }
}

/// Puts an item already taken back in front of a synthesis stream.
fn prepend(
    first: Option<Result<agents_core::TtsEvent>>,
    rest: TtsAudioStream,
    format: agents_core::AudioFormat,
) -> TtsAudioStream {
    let options = SynthesizeOptions::default().with_output_format(format);
    let (tx, out) = TtsAudioStream::channel(format, &options);
    tokio::spawn(async move {
        let mut rest = rest;
        if let Some(item) = first {
            if tx.send_result(item).await.is_err() {
                return;
            }
        }
        loop {
            let item = tokio::select! {
                _ = tx.cancelled() => return,
                item = rest.next() => item,
            };
            let Some(item) = item else { return };
            if tx.send_result(item).await.is_err() {
                return;
            }
        }
    });
    out
}
