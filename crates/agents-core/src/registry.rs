//! The [`Registry`] of plugins: choose providers by name from a [`ProviderConfig`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::llm::Llm;
use crate::plugin::{Capability, Plugin, PluginInfo, ProviderConfig};
use crate::realtime::Realtime;
use crate::stt::Stt;
use crate::tts::Tts;
use crate::turn::TurnDetector;
use crate::vad::Vad;
use crate::video_llm::VideoLlm;

/// The plugins an application knows, by name. Nothing global: the application builds one and
/// hands it to whoever reads config files.
///
/// # Concurrency
/// Cloning is cheap (the plugins are shared); lookups and factories may run concurrently.
///
/// ```
/// use std::sync::Arc;
/// use agents_core::plugin::{Capability, Plugin, PluginInfo, ProviderConfig};
/// use agents_core::registry::Registry;
///
/// struct Nothing;
/// impl Plugin for Nothing {
///     fn info(&self) -> PluginInfo {
///         PluginInfo { name: "nothing", version: "0.1.0", description: "Builds nothing",
///             capabilities: &[Capability::Llm], env_vars: &[] }
///     }
/// }
///
/// let mut registry = Registry::new().with(Arc::new(Nothing)).unwrap();
/// assert_eq!(registry.plugins()[0].name, "nothing");
/// assert!(registry.register(Arc::new(Nothing)).is_err()); // the name is taken
///
/// let err = registry.build_llm(&ProviderConfig::new("openai")).err().unwrap();
/// assert!(err.to_string().contains("unknown llm provider `openai`"), "{err}");
/// assert!(err.to_string().contains("nothing"), "{err}");
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    plugins: BTreeMap<&'static str, Arc<dyn Plugin>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("plugins", &self.plugins.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plugin; fails when a plugin with the same name is registered. See
    /// [`Registry::with`] for the builder form.
    pub fn register(&mut self, plugin: Arc<dyn Plugin>) -> Result<()> {
        let info = plugin.info();
        if info.name.trim().is_empty() {
            return Err(Error::invalid_input("a plugin's name must not be empty"));
        }
        if let Some(existing) = self.plugins.get(info.name) {
            return Err(Error::invalid_input(format!(
                "a plugin named `{}` is already registered (version {}); plugin names must be unique",
                info.name,
                existing.info().version
            )));
        }
        self.plugins.insert(info.name, plugin);
        Ok(())
    }

    /// Builder form of [`Registry::register`].
    pub fn with(mut self, plugin: Arc<dyn Plugin>) -> Result<Self> {
        self.register(plugin)?;
        Ok(self)
    }

    /// Every plugin's metadata, sorted by name.
    #[must_use]
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.plugins.values().map(|p| p.info()).collect()
    }

    /// The plugin named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Arc<dyn Plugin>> {
        self.plugins.get(name).cloned()
    }

    /// The names of the plugins that offer `capability`, sorted.
    #[must_use]
    pub fn providers_for(&self, capability: Capability) -> Vec<&'static str> {
        self.plugins
            .values()
            .map(|p| p.info())
            .filter(|i| i.supports(capability))
            .map(|i| i.name)
            .collect()
    }

    /// Number of plugins.
    #[must_use]
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// True when no plugin is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The plugin for `config.provider`, which must offer `capability`.
    fn plugin_for(&self, config: &ProviderConfig, capability: Capability) -> Result<&dyn Plugin> {
        let name = config.provider.as_str();
        match self.plugins.get(name) {
            Some(plugin) if plugin.info().supports(capability) => Ok(plugin.as_ref()),
            found => {
                let known = self.providers_for(capability);
                let known = if known.is_empty() {
                    format!("no registered plugin provides {capability}")
                } else {
                    format!("known {capability} providers: {}", known.join(", "))
                };
                let what = if found.is_some() {
                    format!("plugin `{name}` does not provide {capability}")
                } else if name.is_empty() {
                    format!("no {capability} provider given (`provider = \"...\"`)")
                } else {
                    format!("unknown {capability} provider `{name}`")
                };
                Err(Error::invalid_input(format!("{what}; {known}")))
            }
        }
    }

    /// Builds the speech-to-text provider `config.provider`.
    pub fn build_stt(&self, config: &ProviderConfig) -> Result<Arc<dyn Stt>> {
        self.plugin_for(config, Capability::Stt)?.build_stt(config)
    }

    /// Builds the language model `config.provider`.
    pub fn build_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn Llm>> {
        self.plugin_for(config, Capability::Llm)?.build_llm(config)
    }

    /// Builds the text-to-speech provider `config.provider`.
    pub fn build_tts(&self, config: &ProviderConfig) -> Result<Arc<dyn Tts>> {
        self.plugin_for(config, Capability::Tts)?.build_tts(config)
    }

    /// Builds the voice activity detector `config.provider`.
    pub fn build_vad(&self, config: &ProviderConfig) -> Result<Box<dyn Vad>> {
        self.plugin_for(config, Capability::Vad)?.build_vad(config)
    }

    /// Builds the turn detector `config.provider`.
    pub fn build_turn_detector(&self, config: &ProviderConfig) -> Result<Arc<dyn TurnDetector>> {
        self.plugin_for(config, Capability::TurnDetector)?
            .build_turn_detector(config)
    }

    /// Builds the speech-to-speech model `config.provider`.
    pub fn build_realtime(&self, config: &ProviderConfig) -> Result<Arc<dyn Realtime>> {
        self.plugin_for(config, Capability::Realtime)?
            .build_realtime(config)
    }

    /// Builds the vision language model `config.provider`.
    pub fn build_video_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn VideoLlm>> {
        self.plugin_for(config, Capability::VideoLlm)?
            .build_video_llm(config)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;
    use crate::llm::ChatStream;
    use crate::provider::ProviderInfo;
    use crate::types::{ChatChunk, ChatRequest};

    struct EchoLlm(String);

    #[async_trait::async_trait]
    impl Llm for EchoLlm {
        fn info(&self) -> ProviderInfo {
            ProviderInfo::new("echo", self.0.clone())
        }
        async fn chat(&self, _request: ChatRequest) -> Result<ChatStream> {
            Ok(futures_util::stream::iter([Ok(ChatChunk::text("hi"))]).boxed())
        }
    }

    struct TestPlugin {
        name: &'static str,
        capabilities: &'static [Capability],
    }

    impl Plugin for TestPlugin {
        fn info(&self) -> PluginInfo {
            PluginInfo {
                name: self.name,
                version: "0.0.1",
                description: "test",
                capabilities: self.capabilities,
                env_vars: &[],
            }
        }

        fn build_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn Llm>> {
            if config.option::<bool>("fail")? == Some(true) {
                return Err(Error::invalid_input("asked to fail"));
            }
            Ok(Arc::new(EchoLlm(
                config.model.clone().unwrap_or_else(|| "default".into()),
            )))
        }
    }

    fn registry() -> Registry {
        Registry::new()
            .with(Arc::new(TestPlugin {
                name: "zeta",
                capabilities: &[Capability::Llm, Capability::Stt],
            }))
            .unwrap()
            .with(Arc::new(TestPlugin {
                name: "alpha",
                capabilities: &[Capability::Llm],
            }))
            .unwrap()
            .with(Arc::new(TestPlugin {
                name: "tts-only",
                capabilities: &[Capability::Tts],
            }))
            .unwrap()
    }

    #[test]
    fn plugins_are_sorted_and_unique() {
        let mut r = registry();
        let names: Vec<_> = r.plugins().iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["alpha", "tts-only", "zeta"]);
        let err = r
            .register(Arc::new(TestPlugin {
                name: "alpha",
                capabilities: &[],
            }))
            .unwrap_err();
        assert!(err.to_string().contains("`alpha` is already registered"));
        assert_eq!(r.len(), 3);
        assert!(r.get("zeta").is_some());
        assert!(r.get("nope").is_none());
        assert_eq!(r.providers_for(Capability::Llm), vec!["alpha", "zeta"]);
    }

    #[test]
    fn builds_by_provider_name() {
        let r = registry();
        let llm = r
            .build_llm(&ProviderConfig::new("zeta").with_model("m1"))
            .unwrap();
        assert_eq!(llm.info().model, "m1");
        // factory errors come back as they are
        let err = r
            .build_llm(&ProviderConfig::new("alpha").with_option("fail", true))
            .err()
            .unwrap();
        assert!(err.to_string().contains("asked to fail"));
    }

    #[test]
    fn unknown_provider_lists_known_ones() {
        let r = registry();
        let err = r.build_llm(&ProviderConfig::new("openai")).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("unknown llm provider `openai`"), "{text}");
        assert!(text.contains("known llm providers: alpha, zeta"), "{text}");
        assert_eq!(*err.kind(), crate::ErrorKind::InvalidInput);

        let err = r.build_stt(&ProviderConfig::new("alpha")).err().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("plugin `alpha` does not provide stt"),
            "{text}"
        );
        assert!(text.contains("known stt providers: zeta"), "{text}");

        let err = r.build_vad(&ProviderConfig::new("x")).err().unwrap();
        assert!(
            err.to_string()
                .contains("no registered plugin provides vad"),
            "{err}"
        );

        // declared but not implemented: the plugin's own unsupported error
        let err = r.build_stt(&ProviderConfig::new("zeta")).err().unwrap();
        assert_eq!(*err.kind(), crate::ErrorKind::Unsupported);

        let err = r.build_tts(&ProviderConfig::default()).err().unwrap();
        assert!(err.to_string().contains("no tts provider given"), "{err}");
    }
}
