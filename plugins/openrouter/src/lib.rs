//! # agents-plugin-openrouter
//!
//! [OpenRouter](https://openrouter.ai) chat models for the agents framework. OpenRouter speaks
//! the OpenAI chat-completions protocol, so this crate is a thin layer over the shared client in
//! [`agents_plugin_openai::chat_completions`]; it adds:
//!
//! - the base URL `https://openrouter.ai/api/v1` and the key from `OPENROUTER_API_KEY`;
//! - the attribution headers `HTTP-Referer` and `X-Title`;
//! - provider routing preferences ([`ProviderPreferences`], the body's `provider` object) and
//!   the `models` fallback list;
//! - `max_tokens` as the token-limit field.
//!
//! `: OPENROUTER PROCESSING` keep-alive comments are skipped by the SSE parser; an error chunk
//! after tokens (`finish_reason: "error"` under HTTP 200) becomes one error after the text
//! already streamed; 402 (no credits) is a non-retryable `QuotaExceeded` error carrying
//! OpenRouter's message.

use std::sync::Arc;

use agents_core::plugin::{Capability, EnvVar, Plugin, PluginInfo, ProviderConfig};
use agents_core::{
    ApiKey, ChatRequest, ChatStream, ConnectOptions, Error, Llm, LlmCapabilities, ProviderInfo,
    Result, async_trait,
};
use agents_plugin_openai::chat_completions::{ChatCompletionsClient, MaxTokensField, request_body};
use agents_plugin_openai::endpoint::Endpoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod version;

pub use version::VERSION;

/// The public OpenRouter API.
pub const OPENROUTER_BASE_URL: &str = "https://openrouter.ai/api/v1";

/// The environment variable read for the key.
pub const API_KEY_ENV: &str = "OPENROUTER_API_KEY";

/// The default model: OpenRouter picks one.
pub const DEFAULT_MODEL: &str = "openrouter/auto";

/// What this plugin is.
pub const PLUGIN_INFO: PluginInfo = PluginInfo {
    name: "openrouter",
    version: VERSION,
    description: "OpenRouter chat models (hundreds of models behind one OpenAI-compatible API)",
    capabilities: &[Capability::Llm],
    env_vars: &[EnvVar {
        name: API_KEY_ENV,
        description: "OpenRouter API key (sk-or-v1-...)",
        required: true,
    }],
};

/// Provider routing preferences: the body's `provider` object. Unset fields are left out so
/// that OpenRouter's defaults apply.
///
/// ```
/// use agents_plugin_openrouter::ProviderPreferences;
///
/// let p = ProviderPreferences { order: Some(vec!["openai".into()]), allow_fallbacks: Some(false),
///     ..Default::default() };
/// let v = serde_json::to_value(&p).unwrap();
/// assert_eq!(v, serde_json::json!({"order": ["openai"], "allow_fallbacks": false}));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderPreferences {
    /// Provider slugs to try in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<String>>,
    /// Whether other providers may be used when the preferred ones fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_fallbacks: Option<bool>,
    /// Only use providers that support every parameter of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_parameters: Option<bool>,
    /// `"allow"` or `"deny"` providers that may store data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_collection: Option<String>,
    /// Only zero-data-retention endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zdr: Option<bool>,
    /// Only these providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// Never these providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<String>>,
    /// Allowed quantizations (`int4`, `int8`, `fp8`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantizations: Option<Vec<String>>,
    /// `"price"`, `"throughput"` or `"latency"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Price caps, e.g. `{"prompt": 1, "completion": 2}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<Value>,
}

/// An OpenRouter chat model.
///
/// ```no_run
/// use agents_plugin_openrouter::{OpenRouterLlm, ProviderPreferences};
///
/// # fn run() -> agents_core::Result<()> {
/// let llm = OpenRouterLlm::builder()          // reads OPENROUTER_API_KEY
///     .model("anthropic/claude-sonnet-4.5")
///     .fallback_models(["openai/gpt-4o-mini"])
///     .app_url("https://example.com")
///     .app_name("My agent")
///     .provider_preferences(ProviderPreferences { sort: Some("latency".into()), ..Default::default() })
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenRouterLlm {
    client: ChatCompletionsClient,
    model: String,
    fallback_models: Vec<String>,
    provider: Option<ProviderPreferences>,
}

/// Builds an [`OpenRouterLlm`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct OpenRouterLlmBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    model: Option<String>,
    fallback_models: Vec<String>,
    app_url: Option<String>,
    app_name: Option<String>,
    provider: Option<ProviderPreferences>,
    headers: Vec<(String, String)>,
    connect: ConnectOptions,
    read_timeout: Option<std::time::Duration>,
}

impl OpenRouterLlmBuilder {
    /// Sets the key; without it `OPENROUTER_API_KEY` is read.
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the base URL (default `https://openrouter.ai/api/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the model slug (default `openrouter/auto`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Models to fall back to, in order, when the model fails (sent as `models`).
    pub fn fallback_models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fallback_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// Your app's URL, sent as `HTTP-Referer` for attribution.
    pub fn app_url(mut self, url: impl Into<String>) -> Self {
        self.app_url = Some(url.into());
        self
    }

    /// Your app's name, sent as `X-Title` for attribution.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Provider routing preferences.
    pub fn provider_preferences(mut self, prefs: ProviderPreferences) -> Self {
        self.provider = Some(prefs);
        self
    }

    /// Adds a header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets connect retries, backoff and the per-attempt deadline.
    pub fn connect_options(mut self, connect: ConnectOptions) -> Self {
        self.connect = connect;
        self
    }

    /// Sets the longest silence allowed while a response streams.
    pub fn read_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// Builds the model. Fails when no key is given and `OPENROUTER_API_KEY` is unset.
    pub fn build(self) -> Result<OpenRouterLlm> {
        let key = match self.api_key.filter(|k| !k.is_blank()) {
            Some(k) => k,
            None => match std::env::var(API_KEY_ENV) {
                Ok(v) if !v.trim().is_empty() => ApiKey::new(v),
                _ => {
                    return Err(Error::auth(format!(
                        "no API key: set {API_KEY_ENV} or pass one with `api_key(..)`"
                    ))
                    .with_provider("openrouter"));
                }
            },
        };
        let mut ep = Endpoint::new(
            "openrouter",
            self.base_url
                .unwrap_or_else(|| OPENROUTER_BASE_URL.to_string()),
            key,
        )
        .with_connect_options(self.connect);
        if let Some(t) = self.read_timeout {
            ep = ep.with_read_timeout(t);
        }
        if let Some(url) = self.app_url {
            ep = ep.with_header("HTTP-Referer", url);
        }
        if let Some(name) = self.app_name {
            ep = ep.with_header("X-Title", name);
        }
        for (k, v) in self.headers {
            ep = ep.with_header(k, v);
        }
        Ok(OpenRouterLlm {
            client: ChatCompletionsClient::new(ep.connect()?),
            model: self.model.unwrap_or_else(|| DEFAULT_MODEL.to_string()),
            fallback_models: self.fallback_models,
            provider: self.provider,
        })
    }
}

impl OpenRouterLlm {
    /// A builder.
    pub fn builder() -> OpenRouterLlmBuilder {
        OpenRouterLlmBuilder::default()
    }

    /// The default model with the key from `OPENROUTER_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// Builds from a config section. Options: `app_url`, `app_name`, `fallback_models`
    /// (list), `provider` (a [`ProviderPreferences`] table), `read_timeout_secs`.
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&[
            "app_url",
            "app_name",
            "fallback_models",
            "provider",
            "read_timeout_secs",
        ])?;
        let mut b = OpenRouterLlm::builder().connect_options(config.connect.clone());
        if let Some(k) = &config.api_key {
            b = b.api_key(k.clone());
        }
        if let Some(u) = &config.base_url {
            b = b.base_url(u.clone());
        }
        if let Some(m) = &config.model {
            b = b.model(m.clone());
        }
        for (k, v) in &config.headers {
            b = b.header(k.clone(), v.clone());
        }
        if let Some(v) = config.option::<String>("app_url")? {
            b = b.app_url(v);
        }
        if let Some(v) = config.option::<String>("app_name")? {
            b = b.app_name(v);
        }
        if let Some(v) = config.option::<Vec<String>>("fallback_models")? {
            b = b.fallback_models(v);
        }
        if let Some(v) = config.option::<ProviderPreferences>("provider")? {
            b = b.provider_preferences(v);
        }
        if let Some(s) = config
            .option::<f64>("read_timeout_secs")?
            .filter(|s| s.is_finite() && *s > 0.0)
        {
            b = b.read_timeout(std::time::Duration::from_secs_f64(s));
        }
        b.build()
    }

    /// The model slug.
    #[must_use]
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The JSON body [`Llm::chat`] sends for `request`.
    #[must_use]
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let mut body = request_body(&self.model, request, MaxTokensField::MaxTokens);
        if let Value::Object(map) = &mut body {
            if !self.fallback_models.is_empty() {
                let models: Vec<Value> = std::iter::once(self.model.clone())
                    .chain(self.fallback_models.iter().cloned())
                    .map(Value::String)
                    .collect();
                map.insert("models".into(), Value::Array(models));
            }
            if let Some(p) = &self.provider {
                if let Ok(v) = serde_json::to_value(p) {
                    map.insert("provider".into(), v);
                }
            }
        }
        body
    }
}

#[async_trait]
impl Llm for OpenRouterLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("openrouter", self.model.clone())
    }

    fn capabilities(&self) -> LlmCapabilities {
        LlmCapabilities::default()
            .with_tools(true)
            .with_vision(true)
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        self.client.stream(self.request_body(&request)).await
    }
}

/// The plugin factory.
///
/// ```
/// use agents_core::plugin::{Plugin, ProviderConfig};
/// use agents_plugin_openrouter::OpenRouterPlugin;
///
/// let cfg = ProviderConfig::new("openrouter").with_api_key("sk-or-test")
///     .with_model("openai/gpt-4o-mini")
///     .with_option("fallback_models", vec!["anthropic/claude-sonnet-4.5"]);
/// let llm = OpenRouterPlugin.build_llm(&cfg).unwrap();
/// assert_eq!(llm.info().to_string(), "openrouter/openai/gpt-4o-mini");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenRouterPlugin;

impl Plugin for OpenRouterPlugin {
    fn info(&self) -> PluginInfo {
        PLUGIN_INFO
    }

    fn build_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn Llm>> {
        Ok(Arc::new(OpenRouterLlm::from_config(config)?))
    }
}
