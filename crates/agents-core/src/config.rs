//! Configuration files: TOML or JSON, `${VAR}` substitution, and layering
//! `defaults < files < environment < explicit values`.
//!
//! ```
//! use agents_core::config::{AgentConfig, ConfigLoader};
//!
//! let dir = std::env::temp_dir().join(format!("agents-config-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("agent.toml");
//! std::fs::write(&path, r#"
//! instructions = "You are ${NAME:-a helpful assistant}."
//!
//! [llm]
//! provider = "openai"
//! model = "gpt-4o-mini"
//! api_key = "${OPENAI_KEY}"
//! "#).unwrap();
//!
//! let config: AgentConfig = ConfigLoader::new()
//!     .file(&path)
//!     .env_prefix("AGENTS_")
//!     // instead of the process environment (tests, embedding):
//!     .env_vars([("OPENAI_KEY", "sk-test"), ("AGENTS_LLM__MODEL", "gpt-4o")])
//!     .set("llm.options.temperature", 0.2)
//!     .load()
//!     .unwrap();
//! assert_eq!(config.instructions.as_deref(), Some("You are a helpful assistant."));
//! let llm = config.llm.unwrap();
//! assert_eq!(llm.model.as_deref(), Some("gpt-4o")); // the environment beats the file
//! assert_eq!(llm.api_key.as_ref().unwrap().expose(), "sk-test");
//! assert_eq!(llm.option::<f64>("temperature").unwrap(), Some(0.2));
//!
//! // an unset variable without a default names the variable, the file and the line
//! std::fs::write(&path, "[llm]\nprovider = \"openai\"\napi_key = \"${NOPE}\"\n").unwrap();
//! let err = ConfigLoader::new().file(&path).env_vars(Vec::<(String, String)>::new())
//!     .load::<AgentConfig>().unwrap_err().to_string();
//! assert!(err.contains("`NOPE`") && err.contains("agent.toml") && err.contains("line 3"), "{err}");
//! # std::fs::remove_dir_all(&dir).ok();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::plugin::ProviderConfig;

/// The syntax of a configuration text.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigFormat {
    /// TOML 1.0.
    Toml,
    /// JSON.
    Json,
}

impl ConfigFormat {
    /// The format for a file name's extension (`.toml`, `.json`, any case).
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("toml") => Ok(ConfigFormat::Toml),
            Some("json") => Ok(ConfigFormat::Json),
            _ => Err(Error::invalid_input(format!(
                "cannot tell the format of config file `{}` from its extension: use `.toml` or `.json`, or give the format explicitly",
                path.display()
            ))),
        }
    }
}

impl fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigFormat::Toml => "TOML",
            ConfigFormat::Json => "JSON",
        })
    }
}

/// Replaces `${VAR}` and `${VAR:-default}` in `text` with values from `lookup`; `$$` is a
/// literal `$`, and any other `$` is kept as is.
///
/// The substitution is aware of the syntax: inside a double-quoted string the value is escaped
/// (quotes, backslashes, control characters), in a TOML single-quoted string it is inserted as
/// is (a value with `'` or a line break is an error), outside strings it is inserted raw (so
/// `port = ${PORT:-8080}` gives a number), and TOML comments are left alone. As in the shell,
/// the default is used when the variable is unset or empty.
///
/// `origin` names the text in errors (usually the file's path); errors give the line and
/// column.
///
/// ```
/// use agents_core::config::{substitute_vars, ConfigFormat};
///
/// let lookup = |name: &str| (name == "USER").then(|| "ada \"the first\"".to_string());
/// let out = substitute_vars("name = \"${USER}\" # ${IGNORED}\ncost = \"$$5\"\nport = ${PORT:-80}",
///     "inline", ConfigFormat::Toml, lookup).unwrap();
/// assert_eq!(out, "name = \"ada \\\"the first\\\"\" # ${IGNORED}\ncost = \"$5\"\nport = 80");
/// let err = substitute_vars("a = 1\nb = \"${MISSING}\"", "app.toml", ConfigFormat::Toml, lookup);
/// assert!(err.unwrap_err().to_string().contains("`MISSING` is not set"));
/// ```
pub fn substitute_vars(
    text: &str,
    origin: &str,
    format: ConfigFormat,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Normal,
        Basic,
        Literal,
        Comment,
    }
    let toml = format == ConfigFormat::Toml;
    let mut out = String::with_capacity(text.len());
    let mut state = State::Normal;
    let mut line = 1usize;
    let mut line_start = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let column = text[line_start..i].chars().count() + 1;
        match c {
            '\n' => {
                line += 1;
                line_start = i + 1;
                if state == State::Comment {
                    state = State::Normal;
                }
                out.push(c);
            }
            '\\' if state == State::Basic => {
                out.push(c);
                if let Some((j, next)) = chars.next() {
                    if next == '\n' {
                        line += 1;
                        line_start = j + 1;
                    }
                    out.push(next);
                }
            }
            '"' if state == State::Normal => {
                state = State::Basic;
                out.push(c);
            }
            '"' if state == State::Basic => {
                state = State::Normal;
                out.push(c);
            }
            '\'' if toml && state == State::Normal => {
                state = State::Literal;
                out.push(c);
            }
            '\'' if state == State::Literal => {
                state = State::Normal;
                out.push(c);
            }
            '#' if toml && state == State::Normal => {
                state = State::Comment;
                out.push(c);
            }
            '$' if state != State::Comment => match chars.peek() {
                Some((_, '$')) => {
                    chars.next();
                    out.push('$');
                }
                Some((_, '{')) => {
                    chars.next();
                    let mut body = String::new();
                    let mut closed = false;
                    for (_, b) in chars.by_ref() {
                        if b == '}' {
                            closed = true;
                            break;
                        }
                        if b == '\n' {
                            break;
                        }
                        body.push(b);
                    }
                    let at = format!("{origin} line {line}, column {column}");
                    if !closed {
                        return Err(Error::invalid_input(format!(
                            "unterminated `${{` in {at}: write `${{NAME}}`, or `$$` for a literal `$`"
                        )));
                    }
                    let (name, default) = match body.split_once(":-") {
                        Some((n, d)) => (n, Some(d)),
                        None => (body.as_str(), None),
                    };
                    if !is_var_name(name) {
                        return Err(Error::invalid_input(format!(
                            "invalid variable name `{name}` in `${{{body}}}` in {at}: use letters, digits and `_`, not starting with a digit"
                        )));
                    }
                    let value = match (lookup(name), default) {
                        (Some(v), Some(d)) if v.is_empty() => d.to_string(),
                        (Some(v), _) => v,
                        (None, Some(d)) => d.to_string(),
                        (None, None) => {
                            return Err(Error::invalid_input(format!(
                                "environment variable `{name}` is not set and has no default (write `${{{name}:-default}}` to give one), in {at}"
                            )));
                        }
                    };
                    match state {
                        State::Basic => escape_basic(&value, &mut out),
                        State::Literal if value.contains(['\'', '\n']) => {
                            return Err(Error::invalid_input(format!(
                                "the value of `{name}` contains a quote or a line break and cannot go in a single-quoted string, in {at}: use a double-quoted string"
                            )));
                        }
                        _ => out.push_str(&value),
                    }
                }
                _ => out.push('$'),
            },
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn escape_basic(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
}

/// Parses a configuration text (already substituted) into a JSON value. Syntax errors name
/// `origin`, the line and the column.
///
/// ```
/// use agents_core::config::{parse_str, ConfigFormat};
///
/// let v = parse_str("[llm]\nmodel = \"x\"", ConfigFormat::Toml, "a.toml").unwrap();
/// assert_eq!(v["llm"]["model"], "x");
/// let err = parse_str("{\n  \"a\": 1,\n}", ConfigFormat::Json, "a.json").unwrap_err();
/// assert!(err.to_string().contains("a.json line 3"), "{err}");
/// ```
pub fn parse_str(text: &str, format: ConfigFormat, origin: &str) -> Result<Value> {
    match format {
        ConfigFormat::Json => serde_json::from_str::<Value>(text).map_err(|e| {
            Error::invalid_input(format!(
                "invalid JSON in {origin} line {}, column {}: {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            ))
        }),
        ConfigFormat::Toml => {
            let table = toml::from_str::<toml::Table>(text).map_err(|e| {
                let at = match e.span() {
                    Some(span) => {
                        let (line, column) = line_column(text, span.start);
                        format!("{origin} line {line}, column {column}")
                    }
                    None => origin.to_string(),
                };
                Error::invalid_input(format!("invalid TOML in {at}: {}", e.message().trim_end()))
            })?;
            Ok(toml_to_json(toml::Value::Table(table)))
        }
    }
}

/// serde_json appends " at line L column C"; the position is already in front.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Merges `overlay` into `base`: objects merge key by key, recursively; anything else
/// replaces.
///
/// ```
/// use serde_json::json;
/// let mut base = json!({"llm": {"provider": "openai", "model": "a"}, "x": 1});
/// agents_core::config::deep_merge(&mut base, json!({"llm": {"model": "b"}, "x": [2]}));
/// assert_eq!(base, json!({"llm": {"provider": "openai", "model": "b"}, "x": [2]}));
/// ```
pub fn deep_merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (k, v) in overlay {
                match base.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// A dotted path as a value: `("llm.model", "x")` gives `{"llm": {"model": "x"}}`.
fn nested(path: &[String], value: Value) -> Value {
    path.iter().rev().fold(value, |v, key| {
        Value::Object(Map::from_iter([(key.clone(), v)]))
    })
}

#[derive(Debug, Clone)]
enum Source {
    Defaults,
    File {
        path: PathBuf,
        format: ConfigFormat,
        text: String,
    },
    Env(String),
    Set(String),
}

impl Source {
    fn describe(&self, path: &[String]) -> String {
        match self {
            Source::Defaults => "from the defaults".into(),
            Source::File {
                path: file,
                format,
                text,
            } => match key_line(text, *format, path) {
                Some(line) => format!("in {} line {line}", file.display()),
                None => format!("in {}", file.display()),
            },
            Source::Env(var) => format!("from environment variable `{var}`"),
            Source::Set(key) => format!("from the explicit value `{key}`"),
        }
    }
}

/// The line where `path` is defined in a config text, when it can be found.
fn key_line(text: &str, format: ConfigFormat, path: &[String]) -> Option<usize> {
    match format {
        ConfigFormat::Toml => {
            let doc = toml::de::DeTable::parse(text).ok()?;
            let mut table = doc.get_ref();
            for (i, segment) in path.iter().enumerate() {
                let (key, value) = table
                    .iter()
                    .find(|(k, _)| k.get_ref().as_ref() == segment.as_str())?;
                if i + 1 == path.len() {
                    return Some(line_column(text, key.span().start).0);
                }
                match value.get_ref() {
                    toml::de::DeValue::Table(t) => table = t,
                    _ => return Some(line_column(text, key.span().start).0),
                }
            }
            None
        }
        ConfigFormat::Json => {
            // Find each key in turn after the previous one: good enough for error messages.
            let mut from = 0;
            let mut found = None;
            for segment in path {
                let needle = serde_json::to_string(segment).ok()?;
                let mut search = from;
                loop {
                    let i = search + text.get(search..)?.find(&needle)?;
                    let after = text[i + needle.len()..].trim_start();
                    if after.starts_with(':') {
                        found = Some(i);
                        from = i + needle.len();
                        break;
                    }
                    search = i + needle.len();
                }
            }
            found.map(|i| line_column(text, i).0)
        }
    }
}

/// Loads configuration in layers: `defaults < files < environment < explicit values`,
/// whatever the order of the builder calls, then deserializes it into any
/// `T: DeserializeOwned`.
///
/// - [`ConfigLoader::file`]: TOML or JSON by extension; `${VAR}` / `${VAR:-default}` are
///   substituted first ([`substitute_vars`]). Several files layer in the order given.
/// - [`ConfigLoader::env_prefix`]: `AGENTS_LLM__MODEL=gpt-4o` sets `llm.model` (after the
///   prefix, `__` separates levels and names are lowercased); a value that parses as a JSON
///   scalar (`0.3`, `true`, `null`, `"quoted"`) is that value, anything else is a string.
/// - [`ConfigLoader::set`]: a value at a dotted path.
///
/// Errors name the file and line (syntax errors, unset variables) and, for fields the target
/// type rejects, the field's path and where its value came from.
///
/// See the [module docs](self) for an example.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ConfigLoader {
    defaults: Option<Value>,
    files: Vec<(PathBuf, Option<ConfigFormat>)>,
    env_prefix: Option<String>,
    env_sections: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    sets: Vec<(String, Value)>,
}

impl ConfigLoader {
    /// A loader with no layers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lowest layer (usually a serialized `T::default()`).
    pub fn defaults(mut self, defaults: Value) -> Self {
        self.defaults = Some(defaults);
        self
    }

    /// Adds a file; the format comes from the extension.
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push((path.as_ref().to_path_buf(), None));
        self
    }

    /// Adds a file in the given format, whatever its extension.
    pub fn file_with_format(mut self, path: impl AsRef<Path>, format: ConfigFormat) -> Self {
        self.files.push((path.as_ref().to_path_buf(), Some(format)));
        self
    }

    /// Reads environment variables starting with `prefix` as overrides.
    pub fn env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.env_prefix = Some(prefix.into());
        self
    }

    /// Restricts the prefixed environment variables to these top-level keys, so that an
    /// unrelated variable sharing the prefix (`AGENTS_LOG`) is not taken for a config field.
    pub fn env_sections<S: Into<String>>(mut self, sections: impl IntoIterator<Item = S>) -> Self {
        self.env_sections = Some(sections.into_iter().map(Into::into).collect());
        self
    }

    /// Uses these variables instead of the process environment, for `${VAR}` substitution and
    /// for the prefixed overrides (tests, embedding).
    pub fn env_vars<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Sets the value at a dotted path (`"llm.model"`); the highest layer.
    pub fn set(mut self, path: impl Into<String>, value: impl Into<Value>) -> Self {
        self.sets.push((path.into(), value.into()));
        self
    }

    fn var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    fn layers(&self) -> Result<Vec<(Source, Value)>> {
        let mut layers = Vec::new();
        if let Some(defaults) = &self.defaults {
            layers.push((Source::Defaults, defaults.clone()));
        }
        for (path, format) in &self.files {
            let format = match format {
                Some(f) => *f,
                None => ConfigFormat::from_path(path)?,
            };
            let raw = std::fs::read_to_string(path).map_err(|e| {
                Error::invalid_input(format!("cannot read config file `{}`: {e}", path.display()))
                    .with_source(e)
            })?;
            let origin = path.display().to_string();
            let text = substitute_vars(&raw, &origin, format, |name| self.var(name))?;
            let value = parse_str(&text, format, &origin)?;
            layers.push((
                Source::File {
                    path: path.clone(),
                    format,
                    text,
                },
                value,
            ));
        }
        if let Some(prefix) = &self.env_prefix {
            let vars: Vec<(String, String)> = match &self.env {
                Some(vars) => vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                None => {
                    let mut vars: Vec<_> = std::env::vars_os()
                        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                        .collect();
                    vars.sort();
                    vars
                }
            };
            for (name, raw) in vars {
                let Some(rest) = name.strip_prefix(prefix.as_str()) else {
                    continue;
                };
                let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
                if path.iter().any(String::is_empty) {
                    continue;
                }
                if let Some(sections) = &self.env_sections {
                    if !sections.contains(&path[0]) {
                        continue;
                    }
                }
                let value = match serde_json::from_str::<Value>(&raw) {
                    Ok(v) if !v.is_object() && !v.is_array() => v,
                    _ => Value::String(raw),
                };
                layers.push((Source::Env(name), nested(&path, value)));
            }
        }
        for (key, value) in &self.sets {
            let path: Vec<String> = key.split('.').map(str::to_owned).collect();
            if path.iter().any(String::is_empty) {
                return Err(Error::invalid_input(format!(
                    "invalid config path `{key}`: use dot-separated names such as `llm.model`"
                )));
            }
            layers.push((Source::Set(key.clone()), nested(&path, value.clone())));
        }
        Ok(layers)
    }

    /// Loads and merges every layer into one JSON value.
    pub fn load_value(&self) -> Result<Value> {
        let mut merged = Value::Object(Map::new());
        for (_, layer) in self.layers()? {
            deep_merge(&mut merged, layer);
        }
        Ok(merged)
    }

    /// Loads, merges and deserializes into `T`.
    pub fn load<T: DeserializeOwned>(&self) -> Result<T> {
        let layers = self.layers()?;
        let mut merged = Value::Object(Map::new());
        for (_, layer) in &layers {
            deep_merge(&mut merged, layer.clone());
        }
        T::deserialize(&merged).map_err(|e| explain(&e.to_string(), &merged, &layers))
    }
}

/// Turns serde's message into one that names the field's path and where it came from.
fn explain(message: &str, merged: &Value, layers: &[(Source, Value)]) -> Error {
    let field = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name.to_string());
    let path = field.and_then(|name| find_key(merged, &name, &mut Vec::new()));
    let Some(path) = path else {
        let origins: Vec<String> = layers
            .iter()
            .filter_map(|(s, _)| match s {
                Source::File { path, .. } => Some(path.display().to_string()),
                _ => None,
            })
            .collect();
        let suffix = if origins.is_empty() {
            String::new()
        } else {
            format!(" (loaded from {})", origins.join(", "))
        };
        return Error::invalid_input(format!("invalid configuration: {message}{suffix}"));
    };
    let source = layers
        .iter()
        .rev()
        .find(|(_, v)| lookup(v, &path).is_some())
        .map(|(s, _)| format!(", {}", s.describe(&path)))
        .unwrap_or_default();
    Error::invalid_input(format!(
        "invalid configuration at `{}`{source}: {message}",
        path.join(".")
    ))
}

/// The path of the first object key (or string value, for enum variants) named `name`.
fn find_key(value: &Value, name: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
    match value {
        Value::Object(map) => {
            if map.contains_key(name) {
                let mut p = path.clone();
                p.push(name.to_string());
                return Some(p);
            }
            for (k, v) in map {
                if v.as_str() == Some(name) {
                    let mut p = path.clone();
                    p.push(k.clone());
                    return Some(p);
                }
                path.push(k.clone());
                let found = find_key(v, name, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        _ => None,
    }
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// The agent file the CLI reads: instructions, one provider section per capability, and
/// session settings. Unknown keys are errors, so a typo is caught.
///
/// ```toml
/// instructions = "You are a helpful voice assistant."
///
/// [stt]
/// provider = "deepgram"
///
/// [llm]
/// provider = "openai"
/// model = "gpt-4o-mini"
/// api_key = "${OPENAI_API_KEY}"
///
/// [session]
/// allow_interruptions = true
/// ```
///
/// ```
/// use agents_core::config::AgentConfig;
///
/// let config = AgentConfig::from_toml_str(r#"
///     instructions = "Be brief."
///     [tts]
///     provider = "elevenlabs"
///     options = { voice = "Rachel" }
/// "#).unwrap();
/// assert_eq!(config.tts.unwrap().option::<String>("voice").unwrap().as_deref(), Some("Rachel"));
///
/// let err = AgentConfig::from_toml_str("[llm]\nprovider = \"openai\"\nmodle = \"x\"").unwrap_err();
/// assert!(err.to_string().contains("`llm.modle`"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AgentConfig {
    /// The system instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Speech-to-text.
    #[serde(default)]
    pub stt: Option<ProviderConfig>,
    /// Language model.
    #[serde(default)]
    pub llm: Option<ProviderConfig>,
    /// Text-to-speech.
    #[serde(default)]
    pub tts: Option<ProviderConfig>,
    /// Voice activity detection.
    #[serde(default)]
    pub vad: Option<ProviderConfig>,
    /// Turn detection.
    #[serde(default)]
    pub turn_detector: Option<ProviderConfig>,
    /// Speech-to-speech model.
    #[serde(default)]
    pub realtime: Option<ProviderConfig>,
    /// Vision language model.
    #[serde(default)]
    pub video_llm: Option<ProviderConfig>,
    /// Session settings, read by the runtime.
    #[serde(default)]
    pub session: Map<String, Value>,
}

impl AgentConfig {
    /// The top-level keys of the file.
    pub const SECTIONS: &'static [&'static str] = &[
        "instructions",
        "stt",
        "llm",
        "tts",
        "vad",
        "turn_detector",
        "realtime",
        "video_llm",
        "session",
    ];

    /// The loader [`AgentConfig::from_file`] uses: the file, then `AGENTS_`-prefixed
    /// environment variables for the known sections (`AGENTS_LLM__MODEL`). Add layers to it
    /// (such as command-line values with [`ConfigLoader::set`]) before loading.
    pub fn loader(path: impl AsRef<Path>) -> ConfigLoader {
        ConfigLoader::new()
            .file(path)
            .env_prefix("AGENTS_")
            .env_sections(Self::SECTIONS.iter().copied())
    }

    /// Loads an agent file (TOML or JSON), with `${VAR}` substitution and `AGENTS_` overrides.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::loader(path).load()
    }

    /// Parses an agent config from TOML text, with `${VAR}` substitution from the process
    /// environment and no overrides.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let text = substitute_vars(text, "<string>", ConfigFormat::Toml, |n| {
            std::env::var(n).ok()
        })?;
        let value = parse_str(&text, ConfigFormat::Toml, "<string>")?;
        let layers = [(
            Source::File {
                path: PathBuf::from("<string>"),
                format: ConfigFormat::Toml,
                text,
            },
            value.clone(),
        )];
        AgentConfig::deserialize(&value).map_err(|e| explain(&e.to_string(), &value, &layers))
    }
}

#[cfg(test)]
mod tests;
