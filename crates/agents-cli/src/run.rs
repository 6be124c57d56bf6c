//! `agents run`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use agents_core::{AgentConfig, AudioFormat, Error, Result};
use agents_runtime::AgentSession;
use agents_runtime::transport::{ClipInput, WavFileOutput};

use crate::config::{SessionSettings, build_providers};
use crate::progress::Progress;

pub(crate) async fn run(
    config_path: &Path,
    input: &Path,
    output: &Path,
    json: bool,
    realtime: bool,
) -> Result<ExitCode> {
    let progress = Progress::new(json);
    progress.step(format!("reading {}", config_path.display()));
    if !config_path.is_file() {
        return Err(Error::invalid_input(format!(
            "config file {} does not exist",
            config_path.display()
        )));
    }
    let config = AgentConfig::from_file(config_path)?;
    let settings = SessionSettings::from_config(&config, config_path)?;
    let registry = crate::registry::registry()?;
    let providers = build_providers(&registry, &config, config_path)?;
    progress.step(format!("reading {}", input.display()));
    let clip = ClipInput::open(input, Duration::from_millis(20))?
        .paced(realtime)
        .with_trailing_silence(Duration::from_secs(2))?;
    let rate = settings.output_sample_rate.unwrap_or(24_000);
    let out = WavFileOutput::create(output, AudioFormat::new(rate, 1)?)?.realtime(realtime);

    let mut builder = AgentSession::builder()
        .stt(providers.stt)
        .llm(providers.llm)
        .tts(providers.tts)
        .vad(providers.vad)
        .options(settings.options());
    if let Some(instructions) = &config.instructions {
        builder = builder.instructions(instructions.clone());
    }
    if let Some(td) = providers.turn_detector {
        builder = builder.turn_detector(td);
    }
    let session = builder.build()?;
    if let Some(greeting) = &settings.greeting {
        session.say(greeting.clone()).await?;
    }
    progress.step("running the session");
    let report = session.run(Box::new(clip), Box::new(out)).await?;
    progress.finish();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        crate::summary::print_report(&report);
        println!();
        println!(
            "wrote {} ({:.2} s of audio)",
            output.display(),
            report.output_duration.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
