use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::*;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "agents-core-config-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sub(text: &str, format: ConfigFormat, env: &[(&str, &str)]) -> Result<String> {
    let env = vars(env);
    substitute_vars(text, "test.toml", format, |n| {
        env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    })
}

#[test]
fn substitution_set_default_and_escape() {
    let t = ConfigFormat::Toml;
    assert_eq!(sub("a = \"${X}\"", t, &[("X", "1")]).unwrap(), "a = \"1\"");
    assert_eq!(sub("a = \"${X:-dflt}\"", t, &[]).unwrap(), "a = \"dflt\"");
    assert_eq!(sub("a = \"${X:-}\"", t, &[]).unwrap(), "a = \"\"");
    assert_eq!(
        sub("a = \"${X:-d}\"", t, &[("X", "")]).unwrap(),
        "a = \"d\""
    );
    assert_eq!(sub("a = \"${X}\"", t, &[("X", "")]).unwrap(), "a = \"\"");
    assert_eq!(sub("a = \"$$HOME\"", t, &[]).unwrap(), "a = \"$HOME\"");
    assert_eq!(
        sub("a = \"$$${X}\"", t, &[("X", "y")]).unwrap(),
        "a = \"$y\""
    );
    assert_eq!(sub("a = \"5$ $x\"", t, &[]).unwrap(), "a = \"5$ $x\"");
    assert_eq!(sub("a = ${N:-3}", t, &[]).unwrap(), "a = 3");
    assert_eq!(
        sub("a = 'p${X}'", t, &[("X", "\\w")]).unwrap(),
        "a = 'p\\w'"
    );
    assert_eq!(
        sub("a = \"${X}\"", t, &[("X", "say \"hi\"\\\n")]).unwrap(),
        "a = \"say \\\"hi\\\"\\\\\\n\""
    );
    // comments are not substituted
    assert_eq!(
        sub("# ${UNSET}\na = 1", t, &[]).unwrap(),
        "# ${UNSET}\na = 1"
    );
    // a `#` inside a string is not a comment
    assert!(sub("a = \"#${UNSET}\"", t, &[]).is_err());
    // JSON has no comments, `'` is an ordinary character
    assert_eq!(
        sub(
            "{\"a\": \"it's ${X}\"}",
            ConfigFormat::Json,
            &[("X", "\"q\"")]
        )
        .unwrap(),
        "{\"a\": \"it's \\\"q\\\"\"}"
    );
}

#[test]
fn substituted_values_parse_back() {
    let text = sub(
        "a = \"${X}\"\nb = ${N}",
        ConfigFormat::Toml,
        &[("X", "C:\\path \"quoted\"\nnext"), ("N", "42")],
    )
    .unwrap();
    let v = parse_str(&text, ConfigFormat::Toml, "t").unwrap();
    assert_eq!(v["a"], "C:\\path \"quoted\"\nnext");
    assert_eq!(v["b"], 42);
}

#[test]
fn unset_variable_names_variable_file_and_line() {
    let err = sub(
        "[llm]\nprovider = \"openai\"\n\napi_key = \"${OPENAI_API_KEY}\"\n",
        ConfigFormat::Toml,
        &[],
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`OPENAI_API_KEY`"), "{text}");
    assert!(text.contains("test.toml line 4, column 12"), "{text}");
    assert_eq!(*err.kind(), crate::ErrorKind::InvalidInput);

    let err = sub("a = \"${X\"\n", ConfigFormat::Toml, &[]).unwrap_err();
    assert!(err.to_string().contains("unterminated"), "{err}");
    let err = sub("a = \"${1X}\"", ConfigFormat::Toml, &[]).unwrap_err();
    assert!(
        err.to_string().contains("invalid variable name `1X`"),
        "{err}"
    );
    let err = sub("a = '${X}'", ConfigFormat::Toml, &[("X", "it's")]).unwrap_err();
    assert!(err.to_string().contains("single-quoted"), "{err}");
}

#[test]
fn file_substitution_error_names_the_file() {
    let dir = TempDir::new();
    let path = dir.write(
        "agent.json",
        "{\n  \"llm\": {\n    \"api_key\": \"${KEY}\"\n  }\n}",
    );
    let err = ConfigLoader::new()
        .file(&path)
        .env_vars(vars(&[]))
        .load_value()
        .unwrap_err()
        .to_string();
    assert!(err.contains("agent.json line 3"), "{err}");
    assert!(err.contains("`KEY`"), "{err}");
}

#[test]
fn layering_order() {
    let dir = TempDir::new();
    let file = dir.write(
        "a.toml",
        "[llm]\nprovider = \"file\"\nmodel = \"file\"\nbase_url = \"file\"\n[session]\nx = 1\n",
    );
    let second = dir.write("b.json", r#"{"session": {"y": 2}}"#);
    // builder call order does not matter
    let v = ConfigLoader::new()
        .set("llm.model", "set")
        .env_prefix("AGENTS_")
        .file(&file)
        .file(&second)
        .env_vars(vars(&[
            ("AGENTS_LLM__MODEL", "env"),
            ("AGENTS_LLM__BASE_URL", "env"),
            ("AGENTS_SESSION__TEMPERATURE", "0.5"),
            ("AGENTS_SESSION__ENABLED", "true"),
            ("AGENTS_SESSION__NAME", "plain text"),
            ("AGENTS_SESSION__LIST", "[1,2]"),
            ("OTHER_LLM__MODEL", "ignored"),
        ]))
        .defaults(
            json!({"llm": {"provider": "default", "model": "default", "extra": 1}, "top": true}),
        )
        .load_value()
        .unwrap();
    assert_eq!(v["llm"]["provider"], "file");
    assert_eq!(v["llm"]["model"], "set");
    assert_eq!(v["llm"]["base_url"], "env");
    assert_eq!(v["llm"]["extra"], 1);
    assert_eq!(v["top"], true);
    assert_eq!(v["session"]["x"], 1);
    assert_eq!(v["session"]["y"], 2);
    assert_eq!(v["session"]["temperature"], 0.5);
    assert_eq!(v["session"]["enabled"], true);
    assert_eq!(v["session"]["name"], "plain text");
    assert_eq!(v["session"]["list"], "[1,2]");
}

#[test]
fn env_sections_filter_unrelated_variables() {
    let dir = TempDir::new();
    let file = dir.write("agent.toml", "[llm]\nprovider = \"openai\"\n");
    let config: AgentConfig = AgentConfig::loader(&file)
        .env_vars(vars(&[("AGENTS_LOG", "debug"), ("AGENTS_LLM__MODEL", "m")]))
        .load()
        .unwrap();
    assert_eq!(config.llm.unwrap().model.as_deref(), Some("m"));

    // without the filter, the stray variable is reported by name
    let err = ConfigLoader::new()
        .file(&file)
        .env_prefix("AGENTS_")
        .env_vars(vars(&[("AGENTS_LOG", "debug")]))
        .load::<AgentConfig>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`log`"), "{err}");
    assert!(err.contains("environment variable `AGENTS_LOG`"), "{err}");
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let dir = TempDir::new();
    let path = dir.write("bad.toml", "[llm]\nprovider = \"openai\"\nmodel = gpt\n");
    let err = ConfigLoader::new()
        .file(&path)
        .env_vars(vars(&[]))
        .load_value()
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid TOML"), "{err}");
    assert!(err.contains("bad.toml line 3, column 9"), "{err}");
}

#[test]
fn json_syntax_error_has_line_and_column() {
    let dir = TempDir::new();
    let path = dir.write(
        "bad.json",
        "{\n  \"llm\": {\n    \"provider\": openai\n  }\n}",
    );
    let err = ConfigLoader::new()
        .file(&path)
        .env_vars(vars(&[]))
        .load_value()
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid JSON"), "{err}");
    assert!(err.contains("bad.json line 3, column"), "{err}");
    assert!(!err.contains(" at line "), "{err}");
}

#[test]
fn unknown_field_names_field_file_and_line() {
    let dir = TempDir::new();
    let path = dir.write(
        "agent.toml",
        "instructions = \"hi\"\n\n[llm]\nprovider = \"openai\"\nmodle = \"gpt-4o\"\n",
    );
    let err = ConfigLoader::new()
        .file(&path)
        .env_vars(vars(&[]))
        .load::<AgentConfig>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`llm.modle`"), "{err}");
    assert!(err.contains("unknown field `modle`"), "{err}");
    assert!(err.contains("agent.toml line 5"), "{err}");

    let path = dir.write("agent.json", "{\n  \"instructons\": \"hi\"\n}");
    let err = ConfigLoader::new()
        .file(&path)
        .env_vars(vars(&[]))
        .load::<AgentConfig>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`instructons`"), "{err}");
    assert!(err.contains("agent.json line 2"), "{err}");

    let err = ConfigLoader::new()
        .set("tts.voice", "x")
        .env_vars(vars(&[]))
        .load::<AgentConfig>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("explicit value `tts.voice`"), "{err}");
}

#[test]
fn type_errors_are_reported() {
    let dir = TempDir::new();
    let path = dir.write("agent.toml", "[llm]\nprovider = 5\n");
    let err = ConfigLoader::new()
        .file(&path)
        .env_vars(vars(&[]))
        .load::<AgentConfig>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid type: integer `5`"), "{err}");
    assert!(err.contains("agent.toml"), "{err}");
}

#[test]
fn provider_section_round_trip() {
    let dir = TempDir::new();
    let path = dir.write(
        "agent.toml",
        r#"
instructions = "Be brief."

[llm]
provider = "openai"
model = "gpt-4o-mini"
api_key = "${KEY}"
base_url = "http://127.0.0.1:8080/v1"
headers = { "X-Title" = "my app" }
options = { temperature = 0.3, tags = ["a", "b"] }

[stt]
provider = "deepgram"

[session]
allow_interruptions = true
started = 2024-01-02T03:04:05Z
"#,
    );
    let config: AgentConfig = AgentConfig::loader(&path)
        .env_vars(vars(&[("KEY", "sk-1")]))
        .load()
        .unwrap();
    let expected = ProviderConfig::new("openai")
        .with_model("gpt-4o-mini")
        .with_api_key("sk-1")
        .with_base_url("http://127.0.0.1:8080/v1")
        .with_header("X-Title", "my app")
        .with_option("temperature", 0.3)
        .with_option("tags", json!(["a", "b"]));
    assert_eq!(config.llm, Some(expected));
    assert_eq!(config.stt, Some(ProviderConfig::new("deepgram")));
    assert_eq!(config.tts, None);
    assert_eq!(config.instructions.as_deref(), Some("Be brief."));
    assert_eq!(config.session["allow_interruptions"], true);
    assert_eq!(config.session["started"], "2024-01-02T03:04:05Z");

    // the same file as JSON gives the same config
    let json_path = dir.write(
        "agent.json",
        r#"{"instructions": "Be brief.",
            "llm": {"provider": "openai", "model": "gpt-4o-mini", "api_key": "${KEY}",
                    "base_url": "http://127.0.0.1:8080/v1", "headers": {"X-Title": "my app"},
                    "options": {"temperature": 0.3, "tags": ["a", "b"]}},
            "stt": {"provider": "deepgram"},
            "session": {"allow_interruptions": true, "started": "2024-01-02T03:04:05Z"}}"#,
    );
    let from_json: AgentConfig = AgentConfig::loader(&json_path)
        .env_vars(vars(&[("KEY", "sk-1")]))
        .load()
        .unwrap();
    assert_eq!(from_json, config);
}

#[test]
fn format_detection_and_missing_files() {
    let dir = TempDir::new();
    let path = dir.write("agent.yaml", "a: 1");
    let err = ConfigLoader::new().file(&path).load_value().unwrap_err();
    assert!(err.to_string().contains("agent.yaml"), "{err}");
    let v = ConfigLoader::new()
        .file_with_format(&path, ConfigFormat::Json)
        .load_value();
    assert!(v.is_err());
    let txt = dir.write("agent.txt", "a = 1");
    let v = ConfigLoader::new()
        .file_with_format(&txt, ConfigFormat::Toml)
        .env_vars(vars(&[]))
        .load_value()
        .unwrap();
    assert_eq!(v["a"], 1);
    let err = AgentConfig::from_file(dir.0.join("missing.toml")).unwrap_err();
    assert!(err.to_string().contains("missing.toml"), "{err}");
}

#[test]
fn bad_set_path_is_an_error() {
    let err = ConfigLoader::new()
        .set("llm..model", "x")
        .load_value()
        .unwrap_err();
    assert!(err.to_string().contains("`llm..model`"), "{err}");
}

#[test]
fn deserializes_any_type() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct App {
        port: u16,
        name: String,
    }
    let dir = TempDir::new();
    let path = dir.write("app.toml", "port = ${PORT:-8080}\nname = \"x\"\n");
    let app: App = ConfigLoader::new()
        .file(&path)
        .env_prefix("APP_")
        .env_vars(vars(&[("APP_NAME", "from-env")]))
        .load()
        .unwrap();
    assert_eq!(
        app,
        App {
            port: 8080,
            name: "from-env".into()
        }
    );
}
