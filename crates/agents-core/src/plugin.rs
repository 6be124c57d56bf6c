//! Plugin metadata and the [`Plugin`] factory that builds providers from a [`ProviderConfig`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::llm::Llm;
use crate::realtime::Realtime;
use crate::retry::ConnectOptions;
use crate::stt::Stt;
use crate::tts::Tts;
use crate::turn::TurnDetector;
use crate::vad::Vad;
use crate::video_llm::VideoLlm;

/// A kind of provider a plugin can build.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Speech-to-text ([`Stt`]).
    Stt,
    /// Language model ([`Llm`]).
    Llm,
    /// Text-to-speech ([`Tts`]).
    Tts,
    /// Voice activity detection ([`Vad`]).
    Vad,
    /// Turn detection ([`TurnDetector`]).
    TurnDetector,
    /// Speech-to-speech ([`Realtime`]).
    Realtime,
    /// Vision language model ([`VideoLlm`]).
    VideoLlm,
}

impl Capability {
    /// The lowercase name used in config files and READMEs (`"stt"`, `"video_llm"`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Capability::Stt => "stt",
            Capability::Llm => "llm",
            Capability::Tts => "tts",
            Capability::Vad => "vad",
            Capability::TurnDetector => "turn_detector",
            Capability::Realtime => "realtime",
            Capability::VideoLlm => "video_llm",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An environment variable a plugin reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// What it holds.
    pub description: &'static str,
    /// True when the plugin cannot work without it (unless the value is given in config).
    pub required: bool,
}

/// What a plugin is: name, version, description, capabilities and environment variables.
///
/// ```
/// use agents_core::plugin::{Capability, EnvVar, PluginInfo};
///
/// const INFO: PluginInfo = PluginInfo {
///     name: "example",
///     version: "0.1.0",
///     description: "An example provider",
///     capabilities: &[Capability::Llm],
///     env_vars: &[EnvVar { name: "EXAMPLE_API_KEY", description: "API key", required: true }],
/// };
/// assert!(INFO.supports(Capability::Llm));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    /// The provider name used in config files (`provider = "openai"`).
    pub name: &'static str,
    /// The crate's version (from its `version.rs`).
    pub version: &'static str,
    /// One line on what it provides.
    pub description: &'static str,
    /// What it can build.
    pub capabilities: &'static [Capability],
    /// The environment variables it reads.
    pub env_vars: &'static [EnvVar],
}

impl PluginInfo {
    /// True when the plugin can build `capability`.
    #[must_use]
    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

/// An API key. Its `Debug` and `Display` never show the key.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key, for the one place that sends it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the key is empty or only white space.
    #[must_use]
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::new(key)
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey(key)
    }
}

/// How to build one provider: which plugin, model, key, endpoint and options.
///
/// This is the shape of a provider section in a config file:
///
/// ```toml
/// [llm]
/// provider = "openai"
/// model = "gpt-4o-mini"
/// api_key = "${OPENAI_API_KEY}"
/// base_url = "http://127.0.0.1:8080/v1"
/// headers = { "X-Title" = "my app" }
/// options = { temperature = 0.3 }
/// ```
///
/// ```
/// use agents_core::plugin::ProviderConfig;
///
/// let cfg = ProviderConfig::new("openai").with_model("gpt-4o-mini").with_option("temperature", 0.3);
/// assert_eq!(cfg.option::<f64>("temperature").unwrap(), Some(0.3));
/// assert!(cfg.option::<String>("temperature").is_err());
/// let err = cfg.api_key_or_env(&["AGENTS_DOC_TEST_UNSET_KEY"]).unwrap_err();
/// assert!(err.to_string().contains("AGENTS_DOC_TEST_UNSET_KEY"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// The plugin's name (`"openai"`, `"deepgram"`).
    pub provider: String,
    /// The model; `None` takes the plugin's default.
    #[serde(default)]
    pub model: Option<String>,
    /// The key; `None` makes the plugin read its environment variable.
    #[serde(default)]
    pub api_key: Option<ApiKey>,
    /// The endpoint; `None` is the provider's public API. Any server speaking the provider's
    /// protocol works.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Extra HTTP headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Plugin-specific options (voice, language, temperature, ...).
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Connect retries and timeouts.
    #[serde(skip)]
    pub connect: ConnectOptions,
}

impl ProviderConfig {
    /// A config for `provider` with everything else at defaults.
    pub fn new(provider: impl Into<String>) -> Self {
        ProviderConfig {
            provider: provider.into(),
            ..Default::default()
        }
    }

    /// Sets the model.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the key.
    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the endpoint.
    #[must_use]
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets an option.
    #[must_use]
    pub fn with_option(
        mut self,
        name: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.options.insert(name.into(), value.into());
        self
    }

    /// Sets the connect options.
    #[must_use]
    pub fn with_connect_options(mut self, connect: ConnectOptions) -> Self {
        self.connect = connect;
        self
    }

    /// Reads option `name` as `T`; `Ok(None)` when absent, an error naming the option, the
    /// provider and the expected type when it has the wrong type.
    pub fn option<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.options.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|e| {
                    Error::invalid_input(format!(
                        "option `{name}` of provider `{}` is invalid: {e} (got {value})",
                        self.provider
                    ))
                    .with_provider(self.provider.clone())
                }),
        }
    }

    /// The key from the config, or else from the first of `env_vars` that is set and not blank.
    /// The error names the provider and every variable.
    pub fn api_key_or_env(&self, env_vars: &[&str]) -> Result<ApiKey> {
        if let Some(key) = &self.api_key {
            if !key.is_blank() {
                return Ok(key.clone());
            }
        }
        for var in env_vars {
            if let Ok(value) = std::env::var(var) {
                if !value.trim().is_empty() {
                    return Ok(ApiKey(value));
                }
            }
        }
        let vars = env_vars.join(" or ");
        Err(Error::auth(format!(
            "no API key for provider `{}`: set {vars} or `api_key` in its config section",
            self.provider
        ))
        .with_provider(self.provider.clone()))
    }

    /// Fails with a clear error naming the options this plugin does not know, so that a typo
    /// in a config file is not silently ignored.
    pub fn deny_unknown_options(&self, known: &[&str]) -> Result<()> {
        let unknown: Vec<&str> = self
            .options
            .keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::invalid_input(format!(
            "unknown option(s) {} for provider `{}`; known options: {}",
            unknown
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
            self.provider,
            known.join(", ")
        ))
        .with_provider(self.provider.clone()))
    }
}

fn unsupported(info: &PluginInfo, capability: Capability) -> Error {
    let supported: Vec<&str> = info.capabilities.iter().map(Capability::name).collect();
    Error::unsupported(format!(
        "plugin `{}` does not provide {capability} (it provides: {})",
        info.name,
        supported.join(", ")
    ))
    .with_provider(info.name)
}

/// A plugin: its metadata and factories for the providers it offers.
///
/// Each plugin crate exposes one value implementing this trait so that the CLI and config
/// files can choose providers by name through a [`Registry`](crate::registry::Registry).
/// Factories are synchronous and cheap: they validate the config (missing key, bad option)
/// and build a client; connections are made on first use.
///
/// # Concurrency
/// Shared (`Arc<dyn Plugin>`); factories may be called concurrently.
pub trait Plugin: Send + Sync {
    /// Name, version, capabilities, environment variables.
    fn info(&self) -> PluginInfo;

    /// Builds a speech-to-text provider.
    fn build_stt(&self, config: &ProviderConfig) -> Result<Arc<dyn Stt>> {
        let _ = config;
        Err(unsupported(&self.info(), Capability::Stt))
    }

    /// Builds a language model.
    fn build_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn Llm>> {
        let _ = config;
        Err(unsupported(&self.info(), Capability::Llm))
    }

    /// Builds a text-to-speech provider.
    fn build_tts(&self, config: &ProviderConfig) -> Result<Arc<dyn Tts>> {
        let _ = config;
        Err(unsupported(&self.info(), Capability::Tts))
    }

    /// Builds a voice activity detector (one per audio stream).
    fn build_vad(&self, config: &ProviderConfig) -> Result<Box<dyn Vad>> {
        let _ = config;
        Err(unsupported(&self.info(), Capability::Vad))
    }

    /// Builds a turn detector.
    fn build_turn_detector(&self, config: &ProviderConfig) -> Result<Arc<dyn TurnDetector>> {
        let _ = config;
        Err(unsupported(&self.info(), Capability::TurnDetector))
    }

    /// Builds a speech-to-speech model.
    fn build_realtime(&self, config: &ProviderConfig) -> Result<Arc<dyn Realtime>> {
        let _ = config;
        Err(unsupported(&self.info(), Capability::Realtime))
    }

    /// Builds a vision language model.
    fn build_video_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn VideoLlm>> {
        let _ = config;
        Err(unsupported(&self.info(), Capability::VideoLlm))
    }
}
