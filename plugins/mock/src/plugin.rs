//! [`MockPlugin`]: builds the mocks from a [`ProviderConfig`].

use std::sync::Arc;
use std::time::Duration;

use agents_core::plugin::{Capability, Plugin, PluginInfo, ProviderConfig};
use agents_core::{Error, Llm, Realtime, Result, Stt, Tts, TurnDetector, Vad, VideoLlm};

use crate::{
    MockLlm, MockRealtime, MockReply, MockStt, MockTts, MockTurnDetector, MockVad, MockVideoLlm,
};

/// The mock plugin: every capability, no environment variables.
///
/// Options understood in a provider section (`options = { .. }`), all optional; an unknown
/// option is an error naming it:
///
/// | provider | options |
/// | --- | --- |
/// | every one | `latency_ms`, `fail_next` (count), `fail_status` (HTTP status of those failures, default 503) |
/// | `stt` | `transcripts` (list), `cycle`, `energy_threshold`, `interim_results` |
/// | `llm`, `video_llm` | `replies` (list of texts), `cycle`, `token_latency_ms` |
/// | `tts` | `ms_per_char`, `min_duration_ms`, `sample_rate`, `frequency` |
/// | `vad`, `turn_detector` | `threshold` |
/// | `realtime` | `transcripts`, `replies`, `energy_threshold` |
///
/// ```
/// use agents_core::plugin::{Plugin, ProviderConfig};
/// use agents_plugin_mock::PLUGIN;
///
/// let stt = PLUGIN
///     .build_stt(&ProviderConfig::new("mock").with_option("transcripts", vec!["hello"]))
///     .unwrap();
/// assert_eq!(stt.info().provider, "mock");
/// let err = PLUGIN
///     .build_tts(&ProviderConfig::new("mock").with_option("speed", 2))
///     .err()
///     .unwrap();
/// assert!(err.to_string().contains("speed"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MockPlugin;

/// The plugin value for registries.
pub static PLUGIN: MockPlugin = MockPlugin;

const COMMON: &[&str] = &["latency_ms", "fail_next", "fail_status"];

fn known(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

fn latency(config: &ProviderConfig) -> Result<Duration> {
    Ok(Duration::from_millis(
        config.option::<u64>("latency_ms")?.unwrap_or(0),
    ))
}

/// The failure injected by `fail_next` / `fail_status`, if any.
fn failure(config: &ProviderConfig) -> Result<Option<(usize, Error)>> {
    let Some(n) = config.option::<usize>("fail_next")? else {
        return Ok(None);
    };
    let status = config.option::<u16>("fail_status")?.unwrap_or(503);
    if !(100..=599).contains(&status) {
        return Err(Error::invalid_input(format!(
            "option `fail_status` of provider `mock` must be an HTTP status, got {status}"
        ))
        .with_provider("mock"));
    }
    Ok(Some((
        n,
        Error::provider_status(status, "injected failure").with_provider("mock"),
    )))
}

fn list(config: &ProviderConfig, name: &str) -> Result<Vec<String>> {
    Ok(config.option::<Vec<String>>(name)?.unwrap_or_default())
}

impl Plugin for MockPlugin {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: "mock",
            version: crate::VERSION,
            description: "Deterministic mock providers with latency and failure injection",
            capabilities: &[
                Capability::Stt,
                Capability::Llm,
                Capability::Tts,
                Capability::Vad,
                Capability::TurnDetector,
                Capability::Realtime,
                Capability::VideoLlm,
            ],
            env_vars: &[],
        }
    }

    fn build_stt(&self, config: &ProviderConfig) -> Result<Arc<dyn Stt>> {
        config.deny_unknown_options(&known(&[
            "transcripts",
            "cycle",
            "energy_threshold",
            "interim_results",
        ]))?;
        let mut b = MockStt::builder()
            .transcripts(list(config, "transcripts")?)
            .cycle(config.option("cycle")?.unwrap_or(false))
            .interim_results(config.option("interim_results")?.unwrap_or(true))
            .latency(latency(config)?);
        if let Some(t) = config.option::<f32>("energy_threshold")? {
            b = b.energy_threshold(t);
        }
        if let Some(m) = &config.model {
            b = b.model(m.clone());
        }
        if let Some((n, e)) = failure(config)? {
            b = b.fail_next(n, e);
        }
        Ok(Arc::new(b.build()?))
    }

    fn build_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn Llm>> {
        config.deny_unknown_options(&known(&["replies", "cycle", "token_latency_ms"]))?;
        Ok(Arc::new(llm_builder(config)?.build()?))
    }

    fn build_tts(&self, config: &ProviderConfig) -> Result<Arc<dyn Tts>> {
        config.deny_unknown_options(&known(&[
            "ms_per_char",
            "min_duration_ms",
            "sample_rate",
            "frequency",
        ]))?;
        let mut b = MockTts::builder().latency(latency(config)?);
        if let Some(ms) = config.option::<u64>("ms_per_char")? {
            b = b.per_char(Duration::from_millis(ms));
        }
        if let Some(ms) = config.option::<u64>("min_duration_ms")? {
            b = b.min_duration(Duration::from_millis(ms));
        }
        if let Some(rate) = config.option::<u32>("sample_rate")? {
            b = b.sample_rate(rate);
        }
        if let Some(hz) = config.option::<f32>("frequency")? {
            b = b.frequency(hz);
        }
        if let Some(m) = &config.model {
            b = b.model(m.clone());
        }
        if let Some((n, e)) = failure(config)? {
            b = b.fail_next(n, e);
        }
        Ok(Arc::new(b.build()?))
    }

    fn build_vad(&self, config: &ProviderConfig) -> Result<Box<dyn Vad>> {
        config.deny_unknown_options(&["threshold", "fail_next", "fail_status"])?;
        let mut b = MockVad::builder();
        if let Some(t) = config.option::<f32>("threshold")? {
            b = b.threshold(t);
        }
        if let Some((n, e)) = failure(config)? {
            b = b.fail_next(n, e);
        }
        Ok(Box::new(b.build()?))
    }

    fn build_turn_detector(&self, config: &ProviderConfig) -> Result<Arc<dyn TurnDetector>> {
        config.deny_unknown_options(&known(&["threshold"]))?;
        let mut b = MockTurnDetector::builder().latency(latency(config)?);
        if let Some(t) = config.option::<f32>("threshold")? {
            b = b.threshold(t);
        }
        if let Some((n, e)) = failure(config)? {
            b = b.fail_next(n, e);
        }
        Ok(Arc::new(b.build()?))
    }

    fn build_realtime(&self, config: &ProviderConfig) -> Result<Arc<dyn Realtime>> {
        config.deny_unknown_options(&known(&["transcripts", "replies", "energy_threshold"]))?;
        let mut b = MockRealtime::builder().latency(latency(config)?);
        for t in list(config, "transcripts")? {
            b = b.transcript(t);
        }
        for r in list(config, "replies")? {
            b = b.reply(r);
        }
        if let Some(t) = config.option::<f32>("energy_threshold")? {
            b = b.energy_threshold(t);
        }
        if let Some(m) = &config.model {
            b = b.model(m.clone());
        }
        if let Some((n, e)) = failure(config)? {
            b = b.fail_next(n, e);
        }
        Ok(Arc::new(b.build()?))
    }

    fn build_video_llm(&self, config: &ProviderConfig) -> Result<Arc<dyn VideoLlm>> {
        config.deny_unknown_options(&known(&["replies", "cycle", "token_latency_ms"]))?;
        Ok(Arc::new(
            MockVideoLlm::builder().llm(llm_builder(config)?).build()?,
        ))
    }
}

fn llm_builder(config: &ProviderConfig) -> Result<crate::MockLlmBuilder> {
    let mut b = MockLlm::builder()
        .replies(list(config, "replies")?.into_iter().map(MockReply::text))
        .cycle(config.option("cycle")?.unwrap_or(false))
        .latency(latency(config)?)
        .token_latency(Duration::from_millis(
            config.option::<u64>("token_latency_ms")?.unwrap_or(0),
        ));
    if let Some(m) = &config.model {
        b = b.model(m.clone());
    }
    if let Some((n, e)) = failure(config)? {
        b = b.fail_next(n, e);
    }
    Ok(b)
}
