//! The `agents` binary: exit codes and messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn agents(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agents"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("DEEPGRAM_API_KEY")
        .env_remove("ELEVEN_API_KEY")
        .env_remove("ELEVENLABS_API_KEY")
        .env_remove("AGENTS_LOG")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    root()
        .join("crates/agents-testing/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agents-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, text: &str) -> String {
    let p = temp(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// One clear `error:` line, no panic, no backtrace.
fn assert_one_line_error(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected failure: {o:?}");
    let err = stderr(o);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains(needle), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{err}"
    );
}

const MOCK_AGENT: &str = r#"
instructions = "You are a test agent."
[stt]
provider = "mock"
options = { transcripts = ["What is the weather in Paris today?"] }
[llm]
provider = "mock"
options = { replies = ["It is sunny in Paris today."] }
[tts]
provider = "mock"
[session]
min_endpointing_delay_ms = 200
"#;

#[test]
fn plugins_lists_every_linked_plugin() {
    let o = agents(&["plugins"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for name in ["deepgram", "elevenlabs", "mock", "openai", "openrouter"] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{out}");
    }
    assert!(out.contains("OPENAI_API_KEY") && out.contains("DEEPGRAM_API_KEY"));
    let json: serde_json::Value =
        serde_json::from_slice(&agents(&["plugins", "--json"]).stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    assert!(json[0]["capabilities"].is_array());
}

#[test]
fn run_with_the_mock_plugin_writes_the_reply() {
    let config = write("mock.toml", MOCK_AGENT);
    let out = temp("reply.wav");
    let o = agents(&[
        "run",
        "--config",
        &config,
        "--input",
        &fixture("weather_16k.wav"),
        "--output",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["turns"][0]["user_text"],
        "What is the weather in Paris today?"
    );
    assert_eq!(
        report["turns"][0]["agent_text"],
        "It is sunny in Paris today."
    );
    let wav = std::fs::read(&out).unwrap();
    assert!(
        wav.len() > 44 + 24_000,
        "reply WAV too short: {} bytes",
        wav.len()
    );
}

#[test]
fn missing_files_are_one_line_errors() {
    let o = agents(&[
        "run",
        "--config",
        "/no/such/agent.toml",
        "--input",
        "x.wav",
        "--output",
        "y.wav",
    ]);
    assert_one_line_error(&o, "/no/such/agent.toml");
    let config = write("mock2.toml", MOCK_AGENT);
    let o = agents(&[
        "run",
        "--config",
        &config,
        "--input",
        "/no/such/input.wav",
        "--output",
        "y.wav",
    ]);
    assert_one_line_error(&o, "/no/such/input.wav");
}

#[test]
fn an_unreadable_wav_is_a_one_line_error() {
    let config = write("mock3.toml", MOCK_AGENT);
    let not_wav = write("not.wav", "this is not audio");
    let o = agents(&[
        "run", "--config", &config, "--input", &not_wav, "--output", "y.wav",
    ]);
    assert_one_line_error(&o, "not.wav");
}

#[test]
fn an_unknown_provider_names_the_known_ones() {
    let config = write(
        "unknown.toml",
        &MOCK_AGENT.replace("[llm]\nprovider = \"mock\"", "[llm]\nprovider = \"nosuch\""),
    );
    let o = agents(&[
        "run",
        "--config",
        &config,
        "--input",
        &fixture("weather_16k.wav"),
        "--output",
        "y.wav",
    ]);
    assert_one_line_error(&o, "nosuch");
    assert!(stderr(&o).contains("openai"), "{}", stderr(&o));
}

#[test]
fn a_missing_key_names_the_environment_variable() {
    let config = write(
        "nokey.toml",
        &MOCK_AGENT.replace(
            "[llm]\nprovider = \"mock\"\noptions = { replies = [\"It is sunny in Paris today.\"] }",
            "[llm]\nprovider = \"openai\"",
        ),
    );
    let o = agents(&[
        "run",
        "--config",
        &config,
        "--input",
        &fixture("weather_16k.wav"),
        "--output",
        "y.wav",
    ]);
    assert_one_line_error(&o, "OPENAI_API_KEY");
}

#[test]
fn a_config_typo_names_the_field_and_line() {
    let config = write(
        "typo.toml",
        &MOCK_AGENT.replace("instructions", "instructons"),
    );
    let o = agents(&[
        "run",
        "--config",
        &config,
        "--input",
        &fixture("weather_16k.wav"),
        "--output",
        "y.wav",
    ]);
    assert_one_line_error(&o, "instructons");
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

#[test]
fn health_reports_each_provider_in_one_line() {
    let ok = write("health-ok.toml", MOCK_AGENT);
    let o = agents(&["health", "--config", &ok]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok")).count(),
        3,
        "{out}"
    );

    // an OpenAI-compatible endpoint where nothing listens
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let bad = write(
        "health-bad.toml",
        &MOCK_AGENT.replace(
            "[llm]\nprovider = \"mock\"\noptions = { replies = [\"It is sunny in Paris today.\"] }",
            &format!(
                "[llm]\nprovider = \"openai\"\napi_key = \"k\"\nbase_url = \"http://127.0.0.1:{port}/v1\""
            ),
        ),
    );
    let o = agents(&["health", "--config", &bad]);
    assert!(!o.status.success());
    let out = stdout(&o);
    let fail: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fail.len(), 1, "{out}");
    assert!(fail[0].contains("[llm] openai"), "{out}");
}

#[test]
fn bad_arguments_exit_with_usage_status() {
    let o = agents(&["run", "--config"]);
    assert_eq!(o.status.code(), Some(2));
    let o = agents(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(agents(&["--help"]).status.success());
}

#[test]
fn the_demo_runs_without_keys_or_network() {
    let out = temp("demo.wav");
    let o = agents(&[
        "demo",
        "--fast",
        "--json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let turn = &v["report"]["turns"][0];
    assert_eq!(turn["user_text"], "What is the weather in Paris today?");
    assert_eq!(turn["tool_calls"][0]["name"], "get_weather");
    assert_eq!(
        turn["agent_text"],
        "It is 21 degrees and sunny in Paris right now."
    );
    assert!(std::fs::metadata(&out).unwrap().len() > 44 + 48_000);
}
