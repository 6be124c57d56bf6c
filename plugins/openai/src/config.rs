//! Configuration shared by every builder of this crate.

use std::time::Duration;

use agents_core::{ApiKey, ConnectOptions, Error, ProviderConfig, Result};

use crate::endpoint::{DEFAULT_READ_TIMEOUT, Endpoint, OPENAI_BASE_URL};

/// The environment variable read for the key.
pub const API_KEY_ENV: &str = "OPENAI_API_KEY";

/// The settings every OpenAI provider shares: key, endpoint, headers, timeouts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Common {
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) base_url: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) connect: ConnectOptions,
    pub(crate) read_timeout: Option<Duration>,
}

impl Common {
    /// Reads the shared fields of a [`ProviderConfig`] (the key is resolved later).
    pub(crate) fn from_config(config: &ProviderConfig) -> Result<Self> {
        Ok(Common {
            api_key: config.api_key.clone(),
            base_url: config.base_url.clone(),
            model: config.model.clone(),
            organization: config.option("organization")?,
            project: config.option("project")?,
            headers: config
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            connect: config.connect.clone(),
            read_timeout: config
                .option::<f64>("read_timeout_secs")?
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64),
        })
    }

    /// The key from the builder, else from `OPENAI_API_KEY`; the error names the variable.
    pub(crate) fn resolve_key(&self) -> Result<ApiKey> {
        if let Some(key) = self.api_key.as_ref().filter(|k| !k.is_blank()) {
            return Ok(key.clone());
        }
        match std::env::var(API_KEY_ENV) {
            Ok(v) if !v.trim().is_empty() => Ok(ApiKey::new(v)),
            _ => Err(Error::auth(format!(
                "no API key: set {API_KEY_ENV} or pass one with `api_key(..)`"
            ))
            .with_provider("openai")),
        }
    }

    pub(crate) fn endpoint(&self) -> Result<Endpoint> {
        let key = self.resolve_key()?;
        let mut ep = Endpoint::new(
            "openai",
            self.base_url
                .clone()
                .unwrap_or_else(|| OPENAI_BASE_URL.to_string()),
            key,
        )
        .with_connect_options(self.connect.clone())
        .with_read_timeout(self.read_timeout.unwrap_or(DEFAULT_READ_TIMEOUT));
        if let Some(org) = &self.organization {
            ep = ep.with_header("OpenAI-Organization", org.clone());
        }
        if let Some(project) = &self.project {
            ep = ep.with_header("OpenAI-Project", project.clone());
        }
        for (k, v) in &self.headers {
            ep = ep.with_header(k.clone(), v.clone());
        }
        Ok(ep)
    }
}

/// The builder methods every provider of this crate shares.
macro_rules! common_builder_methods {
    () => {
        /// Sets the API key; without it `OPENAI_API_KEY` is read.
        pub fn api_key(mut self, key: impl Into<agents_core::ApiKey>) -> Self {
            self.common.api_key = Some(key.into());
            self
        }

        /// Sets the base URL (default `https://api.openai.com/v1`); any OpenAI-compatible
        /// server works (vLLM, Ollama, LM Studio, llama.cpp).
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.common.base_url = Some(url.into());
            self
        }

        /// Sets the model.
        pub fn model(mut self, model: impl Into<String>) -> Self {
            self.common.model = Some(model.into());
            self
        }

        /// Sends `OpenAI-Organization`.
        pub fn organization(mut self, organization: impl Into<String>) -> Self {
            self.common.organization = Some(organization.into());
            self
        }

        /// Sends `OpenAI-Project`.
        pub fn project(mut self, project: impl Into<String>) -> Self {
            self.common.project = Some(project.into());
            self
        }

        /// Adds a header sent with every request.
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.common.headers.push((name.into(), value.into()));
            self
        }

        /// Sets connect retries, backoff and the per-attempt deadline.
        pub fn connect_options(mut self, connect: agents_core::ConnectOptions) -> Self {
            self.common.connect = connect;
            self
        }

        /// Sets the longest silence allowed while a response streams (default 60 s).
        pub fn read_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.common.read_timeout = Some(timeout);
            self
        }
    };
}

pub(crate) use common_builder_methods;
