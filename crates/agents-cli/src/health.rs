//! `agents health`: one line per configured provider.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use agents_core::{
    AgentConfig, AudioFormat, AudioFrame, ChatContext, ChatMessage, ChatRequest, Error,
    ProviderConfig, RecognizeOptions, Registry, Result, SynthesizeOptions,
};
use futures_util::StreamExt;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Check {
    section: &'static str,
    provider: String,
    ok: bool,
    detail: String,
    millis: u128,
}

const TIMEOUT: Duration = Duration::from_secs(15);

async fn check(registry: &Registry, section: &'static str, config: &ProviderConfig) -> Check {
    let started = Instant::now();
    let outcome: Result<String> = match section {
        "llm" => match registry.build_llm(config) {
            Ok(llm) => {
                let mut ctx = ChatContext::new();
                ctx.push(ChatMessage::user("Reply with OK."));
                let request = ChatRequest::new(ctx).with_max_tokens(5);
                match tokio::time::timeout(TIMEOUT, async {
                    let stream = llm.chat(request).await?;
                    first_item(stream).await
                })
                .await
                {
                    Ok(Ok(())) => Ok(format!("{} answered", llm.info())),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(Error::timeout("no answer within 15 s")),
                }
            }
            Err(e) => Err(e),
        },
        "stt" => match registry.build_stt(config) {
            Ok(stt) => {
                let probe = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_millis(500));
                match probe {
                    Ok(audio) => match tokio::time::timeout(
                        TIMEOUT,
                        stt.recognize(&audio, &RecognizeOptions::default()),
                    )
                    .await
                    {
                        Ok(Ok(_)) => Ok(format!("{} answered", stt.info())),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err(Error::timeout("no answer within 15 s")),
                    },
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        },
        "tts" => match registry.build_tts(config) {
            Ok(tts) => match tokio::time::timeout(TIMEOUT, async {
                let stream = tts.synthesize("OK", &SynthesizeOptions::default()).await?;
                first_item(stream).await
            })
            .await
            {
                Ok(Ok(())) => Ok(format!("{} answered", tts.info())),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Error::timeout("no answer within 15 s")),
            },
            Err(e) => Err(e),
        },
        "vad" => registry.build_vad(config).map(|_| "built".to_string()),
        "turn_detector" => registry
            .build_turn_detector(config)
            .map(|t| format!("{} built", t.info())),
        "realtime" => registry
            .build_realtime(config)
            .map(|r| format!("{} built (connect not probed)", r.info())),
        "video_llm" => registry
            .build_video_llm(config)
            .map(|v| format!("{} built", v.info())),
        _ => Err(Error::unsupported(format!("unknown section [{section}]"))),
    };
    let millis = started.elapsed().as_millis();
    match outcome {
        Ok(detail) => Check {
            section,
            provider: config.provider.clone(),
            ok: true,
            detail,
            millis,
        },
        Err(e) => Check {
            section,
            provider: config.provider.clone(),
            ok: false,
            detail: e.to_string(),
            millis,
        },
    }
}

pub(crate) async fn run(config_path: &Path, json: bool) -> Result<ExitCode> {
    if !config_path.is_file() {
        return Err(Error::invalid_input(format!(
            "config file {} does not exist",
            config_path.display()
        )));
    }
    let config = AgentConfig::from_file(config_path)?;
    let registry = crate::registry::registry()?;
    let sections: [(&'static str, &Option<ProviderConfig>); 7] = [
        ("stt", &config.stt),
        ("llm", &config.llm),
        ("tts", &config.tts),
        ("vad", &config.vad),
        ("turn_detector", &config.turn_detector),
        ("realtime", &config.realtime),
        ("video_llm", &config.video_llm),
    ];
    let mut checks = Vec::new();
    for (name, section) in sections {
        if let Some(c) = section {
            checks.push(check(&registry, name, c).await);
        }
    }
    if checks.is_empty() {
        return Err(Error::invalid_input(format!(
            "{} configures no provider",
            config_path.display()
        )));
    }
    let all_ok = checks.iter().all(|c| c.ok);
    if json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            println!(
                "{mark} [{}] {}: {} ({} ms)",
                c.section, c.provider, c.detail, c.millis
            );
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Waits for the first item of a stream of results; an `Err` item is the error.
async fn first_item<S, T>(mut stream: S) -> Result<()>
where
    S: futures_util::Stream<Item = Result<T>> + Unpin,
{
    match stream.next().await {
        Some(Err(e)) => Err(e),
        _ => Ok(()),
    }
}
