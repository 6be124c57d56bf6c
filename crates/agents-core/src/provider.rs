//! What every provider says about itself.

use std::borrow::Cow;

use serde::Serialize;

/// The provider and model behind a trait object, for logs, metrics and errors.
///
/// ```
/// use agents_core::ProviderInfo;
///
/// let info = ProviderInfo::new("deepgram", "nova-3");
/// assert_eq!(info.to_string(), "deepgram/nova-3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProviderInfo {
    /// The provider's name, as plugins and config files spell it (`"openai"`).
    pub provider: Cow<'static, str>,
    /// The model in use.
    pub model: String,
}

impl ProviderInfo {
    /// Provider and model.
    pub fn new(provider: impl Into<Cow<'static, str>>, model: impl Into<String>) -> Self {
        ProviderInfo {
            provider: provider.into(),
            model: model.into(),
        }
    }
}

impl std::fmt::Display for ProviderInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}
