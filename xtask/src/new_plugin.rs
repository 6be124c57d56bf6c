//! `cargo xtask new-plugin <name> [--stt] [--llm] [--tts] [--vad] [--realtime] [--video]`.
//!
//! Renders `xtask/templates/plugin/` into `plugins/<name>`, then registers the crate: the
//! `[workspace.dependencies]` entry in the root `Cargo.toml` (and a `members` entry when the
//! `plugins/*` glob does not already cover it), the dependency of `crates/agents-cli` and the
//! line in `crates/agents-cli/src/registry.rs`. Every check runs and every new file content is
//! computed before anything is written, so a refusal changes nothing.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::template;

/// Names that would collide with the workspace's own crates or confuse users.
pub const RESERVED: &[&str] = &[
    "agents", "cli", "core", "mock", "plugin", "plugins", "runtime", "std", "test", "testing",
    "xtask",
];

/// One capability the scaffold can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cap {
    /// Speech-to-text.
    Stt,
    /// Language model.
    Llm,
    /// Text-to-speech.
    Tts,
    /// Voice activity detection.
    Vad,
    /// Speech-to-speech.
    Realtime,
    /// Vision language model.
    Video,
}

impl Cap {
    /// Every capability, in the order of the README checklist.
    pub const ALL: [Cap; 6] = [
        Cap::Stt,
        Cap::Llm,
        Cap::Tts,
        Cap::Vad,
        Cap::Realtime,
        Cap::Video,
    ];

    /// The flag (`--stt`) without dashes, also the template condition.
    #[must_use]
    pub fn flag(self) -> &'static str {
        match self {
            Cap::Stt => "stt",
            Cap::Llm => "llm",
            Cap::Tts => "tts",
            Cap::Vad => "vad",
            Cap::Realtime => "realtime",
            Cap::Video => "video",
        }
    }

    /// The `agents_core::plugin::Capability` variant.
    #[must_use]
    pub fn variant(self) -> &'static str {
        match self {
            Cap::Stt => "Stt",
            Cap::Llm => "Llm",
            Cap::Tts => "Tts",
            Cap::Vad => "Vad",
            Cap::Realtime => "Realtime",
            Cap::Video => "VideoLlm",
        }
    }

    /// The README checklist label (tidy matches on it).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Cap::Stt => "STT",
            Cap::Llm => "LLM",
            Cap::Tts => "TTS",
            Cap::Vad => "VAD",
            Cap::Realtime => "Realtime",
            Cap::Video => "Video LLM",
        }
    }

    /// What the checklist line says after the label.
    fn detail(self) -> &'static str {
        match self {
            Cap::Stt => "whole utterances, 16 kHz PCM, `POST /v1/stt`",
            Cap::Llm => "streamed text deltas, tool calls, usage, finish reason, `POST /v1/chat`",
            Cap::Tts => "24 kHz PCM streamed while the body arrives, `POST /v1/tts`",
            Cap::Vad => "energy, 16 kHz, 160-sample frames, no network",
            Cap::Realtime => "speech-to-speech over a WebSocket, `/v1/realtime`",
            Cap::Video => "chat about the latest frames, `POST /v1/vision`",
        }
    }

    /// The config file section of this capability.
    fn section(self) -> &'static str {
        match self {
            Cap::Video => "video_llm",
            other => other.flag(),
        }
    }

    /// The `Plugin` factory method.
    fn build_method(self) -> &'static str {
        match self {
            Cap::Stt => "build_stt",
            Cap::Llm => "build_llm",
            Cap::Tts => "build_tts",
            Cap::Vad => "build_vad",
            Cap::Realtime => "build_realtime",
            Cap::Video => "build_video_llm",
        }
    }

    /// True when the capability talks to the provider over the network.
    fn is_network(self) -> bool {
        self != Cap::Vad
    }
}

/// A parsed `new-plugin` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The plugin name (`acme`, `acme-voice`).
    pub name: String,
    /// The capabilities to generate.
    pub caps: BTreeSet<Cap>,
}

/// The usage line.
pub const USAGE: &str =
    "usage: cargo xtask new-plugin <name> [--stt] [--llm] [--tts] [--vad] [--realtime] [--video]";

/// Parses the arguments after `new-plugin`. Anything that is not a known `--flag` is the name.
pub fn parse(args: &[String]) -> Result<Request, String> {
    let mut name: Option<String> = None;
    let mut caps = BTreeSet::new();
    for arg in args {
        if let Some(flag) = arg.strip_prefix("--") {
            match Cap::ALL.iter().find(|c| c.flag() == flag) {
                Some(cap) => {
                    caps.insert(*cap);
                }
                None if flag == "all" => caps.extend(Cap::ALL),
                None => {
                    return Err(format!(
                        "unknown option `{arg}`; capabilities are --stt, --llm, --tts, --vad, --realtime, --video (or --all)"
                    ));
                }
            }
        } else if let Some(first) = &name {
            return Err(format!(
                "one plugin name expected, got `{first}` and `{arg}`; {USAGE}"
            ));
        } else {
            name = Some(arg.clone());
        }
    }
    let name = name.ok_or_else(|| format!("no plugin name given; {USAGE}"))?;
    Ok(Request { name, caps })
}

/// Checks a plugin name: lowercase ASCII letters, digits and single dashes, starting with a
/// letter, not reserved.
pub fn validate_name(name: &str) -> Result<(), String> {
    let valid = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(format!(
            "invalid plugin name `{name}`: use lowercase ASCII letters, digits and single dashes, starting with a letter (like `acme` or `acme-voice`)"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "the plugin name `{name}` is reserved (reserved: {}); choose the provider's name",
            RESERVED.join(", ")
        ));
    }
    Ok(())
}

/// `acme-voice` -> `AcmeVoice`.
#[must_use]
pub fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The embedded templates: path in the plugin, text, and the condition under which the file
/// is generated (`None`: always).
const TEMPLATES: &[(&str, &str, Option<&str>)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/plugin/Cargo.toml.tmpl"),
        None,
    ),
    (
        "README.md",
        include_str!("../templates/plugin/README.md.tmpl"),
        None,
    ),
    (
        "src/lib.rs",
        include_str!("../templates/plugin/src/lib.rs"),
        None,
    ),
    (
        "src/version.rs",
        include_str!("../templates/plugin/src/version.rs"),
        None,
    ),
    (
        "src/client.rs",
        include_str!("../templates/plugin/src/client.rs"),
        Some("http"),
    ),
    (
        "src/stt.rs",
        include_str!("../templates/plugin/src/stt.rs"),
        Some("stt"),
    ),
    (
        "src/llm.rs",
        include_str!("../templates/plugin/src/llm.rs"),
        Some("llm"),
    ),
    (
        "src/tts.rs",
        include_str!("../templates/plugin/src/tts.rs"),
        Some("tts"),
    ),
    (
        "src/vad.rs",
        include_str!("../templates/plugin/src/vad.rs"),
        Some("vad"),
    ),
    (
        "src/realtime.rs",
        include_str!("../templates/plugin/src/realtime.rs"),
        Some("realtime"),
    ),
    (
        "src/video.rs",
        include_str!("../templates/plugin/src/video.rs"),
        Some("video"),
    ),
    (
        "tests/conformance.rs",
        include_str!("../templates/plugin/tests/conformance.rs"),
        None,
    ),
    (
        "tests/emulator/mod.rs",
        include_str!("../templates/plugin/tests/emulator/mod.rs"),
        Some("http"),
    ),
];

/// Every file of a generated plugin, rendered (paths relative to the plugin directory).
pub fn render_plugin(request: &Request) -> Result<Vec<(String, String)>, String> {
    let name = request.name.as_str();
    let camel_name = camel(name);
    let snake = name.replace('-', "_");
    let caps: Vec<Cap> = request.caps.iter().copied().collect();
    let mut flags: BTreeSet<&str> = caps.iter().map(|c| c.flag()).collect();
    let network = caps.iter().any(|c| c.is_network());
    if network {
        flags.insert("http");
    }
    if caps.iter().any(|c| c.is_network() && *c != Cap::Realtime) {
        flags.insert("rest");
    }
    let env = format!("{}_API_KEY", snake.to_ascii_uppercase());
    let checklist: Vec<String> = Cap::ALL
        .iter()
        .map(|cap| {
            if request.caps.contains(cap) {
                format!("- [x] {} ({})", cap.label(), cap.detail())
            } else {
                format!("- [ ] {}", cap.label())
            }
        })
        .chain(std::iter::once(format!(
            "- [x] Plugin factory (`{camel_name}Plugin`, provider name `{name}`)"
        )))
        .chain(std::iter::once(if network {
            "- [x] Passes the `agents-testing` conformance suites against `tests/emulator/`"
                .to_string()
        } else {
            "- [x] Passes the `agents-testing` conformance suites".to_string()
        }))
        .collect();
    let key_line = if network {
        format!("\nKey: set `{env}` (or `api_key` in the provider's config section).")
    } else {
        "\nNo key: every provider of this plugin runs locally.".to_string()
    };
    let first = caps.first().copied().unwrap_or(Cap::Vad);
    let first_network = caps
        .iter()
        .copied()
        .find(|c| c.is_network())
        .unwrap_or(first);
    let vars = [
        ("crate_ident", format!("agents_plugin_{snake}")),
        ("crate", format!("agents-plugin-{name}")),
        ("name", name.to_string()),
        ("Name", camel_name.clone()),
        ("ENV", env),
        (
            "capabilities",
            caps.iter()
                .map(|c| format!("Capability::{}", c.variant()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "capability_names",
            caps.iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("checklist", checklist.join("\n")),
        ("key_line", key_line),
        ("first_section", first.section().to_string()),
        (
            "first_build",
            format!("{camel_name}Plugin.{}", first_network.build_method()),
        ),
    ];
    let mut files = Vec::new();
    for (path, text, condition) in TEMPLATES {
        if let Some(condition) = condition {
            if !flags.contains(condition) {
                continue;
            }
        }
        let rendered =
            template::render(text, &vars, &flags).map_err(|e| format!("template {path}: {e}"))?;
        files.push(((*path).to_string(), rendered));
    }
    Ok(files)
}

/// A planned change to an existing file.
#[derive(Debug)]
struct Edit {
    path: PathBuf,
    before: String,
    after: String,
}

/// Runs `new-plugin` in the workspace at `root`; returns what to print on success.
pub fn run(root: &Path, args: &[String]) -> Result<String, String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(format!(
            "{USAGE}\n\ncreates plugins/<name>: one working provider per capability against a configurable\nbase URL, a local emulator of its protocol (tests/emulator/) and the conformance tests,\nand registers the crate in Cargo.toml and crates/agents-cli; see docs/writing-a-plugin.md"
        ));
    }
    let request = parse(args)?;
    validate_name(&request.name)?;
    if request.caps.is_empty() {
        return Err(
            "choose at least one capability: --stt, --llm, --tts, --vad, --realtime, --video (or --all)"
                .to_string(),
        );
    }
    let dir = root.join("plugins").join(&request.name);
    if dir.exists() {
        return Err(format!(
            "plugins/{} already exists; choose another name or remove it",
            request.name
        ));
    }
    let files = render_plugin(&request)?;
    let edits = plan_edits(root, &request.name)?;

    // Everything is known: write.
    if let Err(e) = write_all(&dir, &files, &edits) {
        let _ = fs::remove_dir_all(&dir);
        for edit in &edits {
            let _ = fs::write(&edit.path, &edit.before);
        }
        return Err(format!(
            "could not write the plugin (nothing was kept): {e}"
        ));
    }
    let formatted = format_rust(&dir, &files);
    let krate = format!("agents-plugin-{}", request.name);
    let mut message = format!(
        "created plugins/{name} ({caps}) and registered {krate} in Cargo.toml, crates/agents-cli/Cargo.toml and crates/agents-cli/src/registry.rs\nnext: cargo test -p {krate}; then read docs/writing-a-plugin.md and replace the emulated protocol with the provider's",
        name = request.name,
        caps = request
            .caps
            .iter()
            .map(|c| c.flag())
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Err(why) = formatted {
        message.push_str(&format!(
            "\nwarning: rustfmt did not run ({why}); run `cargo fmt`"
        ));
    }
    Ok(message)
}

fn write_all(dir: &Path, files: &[(String, String)], edits: &[Edit]) -> std::io::Result<()> {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, text)?;
    }
    for edit in edits {
        fs::write(&edit.path, &edit.after)?;
    }
    Ok(())
}

/// Formats the generated Rust files with the toolchain's rustfmt, so that the conditional
/// blocks of the templates never leave `cargo fmt --check` work behind.
fn format_rust(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    let rust: Vec<PathBuf> = files
        .iter()
        .filter(|(p, _)| p.ends_with(".rs"))
        .map(|(p, _)| dir.join(p))
        .collect();
    let status = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2024"])
        .args(&rust)
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("rustfmt exited with {status}"))
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Computes the edits of the root manifest, the CLI manifest and the CLI registry.
fn plan_edits(root: &Path, name: &str) -> Result<Vec<Edit>, String> {
    let krate = format!("agents-plugin-{name}");
    let ident = format!("agents_plugin_{}", name.replace('-', "_"));
    let plugin_type = format!("{}Plugin", camel(name));

    let manifest_path = root.join("Cargo.toml");
    let manifest = read(&manifest_path)?;
    let parsed: toml::Table = manifest
        .parse()
        .map_err(|e| format!("cannot parse Cargo.toml: {e}"))?;
    let workspace = parsed
        .get("workspace")
        .and_then(toml::Value::as_table)
        .ok_or("Cargo.toml has no [workspace]")?;
    let version = workspace
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(toml::Value::as_str)
        .unwrap_or("0.1.0")
        .to_string();
    if workspace
        .get("dependencies")
        .and_then(|d| d.get(&krate))
        .is_some()
    {
        return Err(format!(
            "{krate} is already in [workspace.dependencies]; remove the stale entry first"
        ));
    }
    let member = format!("plugins/{name}");
    let members: Vec<&str> = workspace
        .get("members")
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    let mut after = manifest.clone();
    if !members.iter().any(|m| covers(m, &member)) {
        after = add_member(&after, &member)?;
    }
    let dep_line = format!("{krate} = {{ path = \"{member}\", version = \"{version}\" }}");
    after = insert_after_last(&after, "agents-plugin-", &dep_line, "[workspace.dependencies]")
        .ok_or("Cargo.toml: no `agents-plugin-*` line in [workspace.dependencies] to add the new plugin after")?;
    let mut edits = vec![Edit {
        path: manifest_path,
        before: manifest,
        after,
    }];

    let cli_manifest_path = root.join("crates/agents-cli/Cargo.toml");
    if cli_manifest_path.exists() {
        let cli_manifest = read(&cli_manifest_path)?;
        let line = format!("{krate}.workspace = true");
        let after = insert_sorted(&cli_manifest, "agents-plugin-", &line).ok_or(
            "crates/agents-cli/Cargo.toml: no `agents-plugin-*` dependency to add the new plugin next to",
        )?;
        edits.push(Edit {
            path: cli_manifest_path,
            before: cli_manifest,
            after,
        });
        let registry_path = root.join("crates/agents-cli/src/registry.rs");
        let registry = read(&registry_path)?;
        let after = add_to_registry(&registry, &ident, &plugin_type).ok_or(
            "crates/agents-cli/src/registry.rs: no `.with(Arc::new(...))` chain to add the new plugin to",
        )?;
        edits.push(Edit {
            path: registry_path,
            before: registry,
            after,
        });
    }
    Ok(edits)
}

/// True when the `members` entry `pattern` (a path or a `dir/*` glob) covers `member`.
#[must_use]
pub fn covers(pattern: &str, member: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    if pattern == member {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(dir) => member
            .strip_prefix(dir)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
        None => false,
    }
}

/// Adds `"member"` to the `members = [...]` array (on one line or several).
fn add_member(manifest: &str, member: &str) -> Result<String, String> {
    let start = manifest
        .find("members")
        .ok_or("Cargo.toml: no `members` array to add the plugin to")?;
    let close = manifest[start..]
        .find(']')
        .map(|i| start + i)
        .ok_or("Cargo.toml: the `members` array is not closed")?;
    let inside = manifest[start..close].trim_end();
    let separator = if inside.ends_with('[') || inside.ends_with(',') {
        ""
    } else {
        ", "
    };
    let before_close = manifest[..close].trim_end_matches([' ', '\n']).len();
    let mut out = String::new();
    out.push_str(&manifest[..before_close]);
    out.push_str(separator);
    if separator.is_empty() && !inside.ends_with('[') {
        out.push(' ');
    }
    out.push_str(&format!("\"{member}\""));
    out.push_str(&manifest[close..]);
    Ok(out)
}

/// Inserts `line` after the last line starting with `prefix` (within `section` when given).
fn insert_after_last(text: &str, prefix: &str, line: &str, section: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let section_start = lines.iter().position(|l| l.trim() == section)?;
    let section_end = lines[section_start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| section_start + 1 + i);
    let last = (section_start..section_end)
        .rev()
        .find(|i| lines[*i].starts_with(prefix))?;
    let mut out: Vec<&str> = lines.clone();
    out.insert(last + 1, line);
    Some(out.join("\n") + "\n")
}

/// Inserts `line` among the lines starting with `prefix`, keeping them sorted.
fn insert_sorted(text: &str, prefix: &str, line: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let block: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].starts_with(prefix))
        .collect();
    let first = *block.first()?;
    let last = *block.last()?;
    let at = block
        .iter()
        .copied()
        .find(|i| lines[*i] > line)
        .unwrap_or(last + 1)
        .max(first);
    let mut out = lines.clone();
    out.insert(at, line);
    Some(out.join("\n") + "\n")
}

/// Adds `.with(Arc::new(ident::Type))?` to the registry chain, before its last `.with(`.
fn add_to_registry(text: &str, ident: &str, plugin_type: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let last = (0..lines.len())
        .rev()
        .find(|i| lines[*i].trim_start().starts_with(".with(Arc::new("))?;
    let indent = &lines[last][..lines[last].len() - lines[last].trim_start().len()];
    let new_line = format!("{indent}.with(Arc::new({ident}::{plugin_type}))?");
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    out.insert(last, new_line);
    Some(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn parses_flags_and_name() {
        let r = parse(&args(&["acme", "--stt", "--video"])).unwrap();
        assert_eq!(r.name, "acme");
        assert_eq!(r.caps, [Cap::Stt, Cap::Video].into_iter().collect());
        assert!(
            parse(&args(&["acme", "--nope"]))
                .unwrap_err()
                .contains("--nope")
        );
        assert!(
            parse(&args(&["--stt"]))
                .unwrap_err()
                .contains("no plugin name")
        );
        assert!(
            parse(&args(&["a", "b"]))
                .unwrap_err()
                .contains("one plugin name")
        );
        assert_eq!(parse(&args(&["x", "--all"])).unwrap().caps.len(), 6);
    }

    #[test]
    fn help_changes_nothing() {
        let out = run(Path::new("/nonexistent"), &args(&["--help"])).unwrap();
        assert!(out.starts_with("usage: cargo xtask new-plugin"));
    }

    #[test]
    fn names() {
        for good in ["acme", "acme-voice", "a1", "eleven-labs2"] {
            validate_name(good).unwrap();
        }
        for bad in [
            "Acme", "acme_1", "-x", "1acme", "acme-", "a--b", "", "acmé", "a b",
        ] {
            assert!(
                validate_name(bad)
                    .unwrap_err()
                    .contains("invalid plugin name"),
                "{bad}"
            );
        }
        for reserved in ["core", "runtime", "testing", "cli", "mock"] {
            assert!(validate_name(reserved).unwrap_err().contains("reserved"));
        }
        assert_eq!(camel("acme-voice2"), "AcmeVoice2");
    }

    #[test]
    fn member_globs() {
        assert!(covers("plugins/*", "plugins/acme"));
        assert!(covers("plugins/acme", "plugins/acme"));
        assert!(!covers("crates/*", "plugins/acme"));
        assert!(!covers("plugins/*", "plugins/acme/x"));
        let out = add_member("[workspace]\nmembers = [\"crates/*\"]\n", "plugins/acme").unwrap();
        assert_eq!(
            out,
            "[workspace]\nmembers = [\"crates/*\", \"plugins/acme\"]\n"
        );
        let out = add_member("members = [\n    \"a\",\n]\n", "plugins/acme").unwrap();
        assert!(
            out.contains("\"a\", \"plugins/acme\"]") || out.contains("\"plugins/acme\""),
            "{out}"
        );
    }

    #[test]
    fn registry_and_manifest_edits() {
        let reg = "fn r() {\n    Registry::new()\n        .with(Arc::new(a::A))?\n        .with(Arc::new(b::B))\n}\n";
        let out = add_to_registry(reg, "agents_plugin_acme", "AcmePlugin").unwrap();
        assert!(out.contains("        .with(Arc::new(agents_plugin_acme::AcmePlugin))?\n        .with(Arc::new(b::B))\n"));
        let cli = "[dependencies]\nagents-core.workspace = true\nagents-plugin-b.workspace = true\nagents-plugin-z.workspace = true\nclap.workspace = true\n";
        let out = insert_sorted(cli, "agents-plugin-", "agents-plugin-m.workspace = true").unwrap();
        assert!(
            out.contains("b.workspace = true\nagents-plugin-m.workspace = true\nagents-plugin-z")
        );
        let root = "[workspace.dependencies]\nagents-plugin-a = { path = \"plugins/a\" }\n\nserde = \"1\"\n";
        let out = insert_after_last(
            root,
            "agents-plugin-",
            "agents-plugin-m = 1",
            "[workspace.dependencies]",
        )
        .unwrap();
        assert!(out.contains("\"plugins/a\" }\nagents-plugin-m = 1\n"));
    }

    #[test]
    fn renders_every_combination_without_leftovers() {
        for bits in 1u32..64 {
            let caps = Cap::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, c)| *c)
                .collect();
            let files = render_plugin(&Request {
                name: "acme-co".into(),
                caps,
            })
            .unwrap();
            for (path, text) in &files {
                assert!(!text.contains("{{"), "{path} keeps a placeholder:\n{text}");
            }
        }
    }
}
