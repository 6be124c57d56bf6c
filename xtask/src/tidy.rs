//! `cargo xtask tidy`: repository rules that review should not have to check by eye.
//!
//! Rules (each [`Violation`] names its rule):
//!
//! - `version-rs`: every `plugins/*` has `src/version.rs`;
//! - `readme`: every `plugins/*` has a `README.md`;
//! - `readme-checklist`: the README's checklist (`- [x] STT ...`) ticks exactly the traits the
//!   crate implements (`impl Stt for ...`);
//! - `workspace-lints`: `[lints] workspace = true` in the plugin's `Cargo.toml`;
//! - `workspace-fields`: `version`, `edition` and `license` inherited from the workspace;
//! - `conformance-test`: a file under the plugin's `tests/` runs `agents_testing::conformance`;
//! - `registry`: the plugin is linked into the CLI (`crates/agents-cli/src/registry.rs`);
//! - `no-todo`: no `todo!`/`unimplemented!` in `*.rs` outside `xtask/templates/`;
//! - `doc-links`: relative links in Markdown files point at files that exist.
//!
//! Known violations are listed in `xtask/tidy-allow.txt` (`<rule> <path>` per line); an entry
//! that no longer matches a violation is itself an error, so the list only shrinks.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's name (`readme-checklist`).
    pub rule: &'static str,
    /// The file or directory, relative to the root, with `/` separators.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.rule, self.path, self.message)
    }
}

/// The allow list, relative to the root.
pub const ALLOW_FILE: &str = "xtask/tidy-allow.txt";

/// The traits a plugin may implement and their README checklist labels.
const TRAITS: &[(&str, &str)] = &[
    ("Stt", "STT"),
    ("Llm", "LLM"),
    ("Tts", "TTS"),
    ("Vad", "VAD"),
    ("TurnDetector", "Turn detection"),
    ("Realtime", "Realtime"),
    ("VideoLlm", "Video LLM"),
];

/// Runs every rule, applies the allow list, and returns a summary or every problem.
pub fn run(root: &Path) -> Result<String, String> {
    let violations = check(root);
    let allowed = read_allow_list(root)?;
    let mut problems: Vec<String> = violations
        .iter()
        .filter(|v| {
            !allowed
                .iter()
                .any(|(rule, path)| rule == v.rule && *path == v.path)
        })
        .map(Violation::to_string)
        .collect();
    for (rule, path) in &allowed {
        if !violations.iter().any(|v| v.rule == rule && v.path == *path) {
            problems.push(format!(
                "[allow-list] {ALLOW_FILE}: `{rule} {path}` no longer fails; remove the line"
            ));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "tidy: all rules hold ({} known exception(s) in {ALLOW_FILE})",
            allowed.len()
        ))
    } else {
        Err(format!(
            "tidy found {} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        ))
    }
}

fn read_allow_list(root: &Path) -> Result<Vec<(String, String)>, String> {
    let path = root.join(ALLOW_FILE);
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once(' ') {
            Some((rule, path)) => out.push((rule.to_string(), path.trim().to_string())),
            None => return Err(format!("{ALLOW_FILE}:{}: expected `<rule> <path>`", i + 1)),
        }
    }
    Ok(out)
}

/// Every violation in the tree at `root`, allowed or not.
#[must_use]
pub fn check(root: &Path) -> Vec<Violation> {
    let mut out = Vec::new();
    let registry = fs::read_to_string(root.join("crates/agents-cli/src/registry.rs")).ok();
    for dir in plugin_dirs(root) {
        check_plugin(root, &dir, registry.as_deref(), &mut out);
    }
    check_no_todo(root, &mut out);
    check_doc_links(root, &mut out);
    out
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn plugin_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("plugins"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("Cargo.toml").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn check_plugin(root: &Path, dir: &Path, registry: Option<&str>, out: &mut Vec<Violation>) {
    let path = rel(root, dir);
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut push = |rule: &'static str, message: String| {
        out.push(Violation {
            rule,
            path: path.clone(),
            message,
        });
    };
    if !dir.join("src/version.rs").is_file() {
        push(
            "version-rs",
            "no src/version.rs; add `pub const VERSION: &str = env!(\"CARGO_PKG_VERSION\");`"
                .into(),
        );
    }
    let implemented = implemented_traits(&dir.join("src"));
    match fs::read_to_string(dir.join("README.md")) {
        Err(_) => push(
            "readme",
            "no README.md; open it with the checklist of implemented traits and the key's environment variable".into(),
        ),
        Ok(readme) => {
            let problems = checklist_problems(&readme, &implemented);
            if !problems.is_empty() {
                push("readme-checklist", problems.join("; "));
            }
        }
    }
    match fs::read_to_string(dir.join("Cargo.toml"))
        .map_err(|e| e.to_string())
        .and_then(|t| t.parse::<toml::Table>().map_err(|e| e.to_string()))
    {
        Err(e) => push("workspace-lints", format!("cannot read Cargo.toml: {e}")),
        Ok(manifest) => {
            let lints = manifest
                .get("lints")
                .and_then(|l| l.get("workspace"))
                .and_then(toml::Value::as_bool);
            if lints != Some(true) {
                push(
                    "workspace-lints",
                    "Cargo.toml lacks `[lints] workspace = true`".into(),
                );
            }
            let package = manifest.get("package");
            let missing: Vec<&str> = ["version", "edition", "license"]
                .into_iter()
                .filter(|field| {
                    package
                        .and_then(|p| p.get(*field))
                        .and_then(|f| f.get("workspace"))
                        .and_then(toml::Value::as_bool)
                        != Some(true)
                })
                .collect();
            if !missing.is_empty() {
                push(
                    "workspace-fields",
                    format!(
                        "Cargo.toml must inherit {} from the workspace (`version.workspace = true`)",
                        missing.join(", ")
                    ),
                );
            }
        }
    }
    let has_conformance = rust_files(&dir.join("tests")).iter().any(|f| {
        fs::read_to_string(f)
            .map(|t| t.contains("conformance::"))
            .unwrap_or(false)
    });
    if !has_conformance {
        push(
            "conformance-test",
            "no test under tests/ runs `agents_testing::conformance`".into(),
        );
    }
    let ident = format!("agents_plugin_{}::", name.replace('-', "_"));
    if !registry.is_some_and(|r| r.contains(&ident)) {
        push(
            "registry",
            format!("not listed in crates/agents-cli/src/registry.rs (`{ident}...`)"),
        );
    }
}

/// The trait names of `impl ... Trait for ...` lines under `src`.
#[must_use]
pub fn implemented_traits(src: &Path) -> Vec<&'static str> {
    let mut found = Vec::new();
    for file in rust_files(src) {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim_start();
            let Some(rest) = line.strip_prefix("impl") else {
                continue;
            };
            let rest = skip_generics(rest);
            let Some((head, _)) = rest.split_once(" for ") else {
                continue;
            };
            let last = head.trim().rsplit("::").next().unwrap_or_default();
            if let Some((name, _)) = TRAITS.iter().find(|(t, _)| *t == last) {
                if !found.contains(name) {
                    found.push(*name);
                }
            }
        }
    }
    found
}

fn skip_generics(rest: &str) -> &str {
    if !rest.starts_with('<') {
        return rest;
    }
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &rest[i + 1..];
                }
            }
            _ => {}
        }
    }
    rest
}

/// The traits a top-level checklist item names, read from its head (the text before the
/// first `:` or `(`): a label as a word (`STT ...`, `Streaming TTS over ...`, `Video LLM`) or
/// an identifier ending in the trait's name (`**`OpenAiLlm`**: ...`, `` `Stt` over ... ``).
fn item_traits(text: &str) -> Vec<&'static str> {
    let mut head = text
        .split([':', '('])
        .next()
        .unwrap_or_default()
        .to_string();
    let mut found = Vec::new();
    // Labels of several words first, so that `Video LLM` is not also read as `LLM`.
    for (name, label) in TRAITS.iter().filter(|(_, label)| label.contains(' ')) {
        if head.contains(label) {
            found.push(*name);
            head = head.replace(label, " ");
        }
    }
    let mut names: Vec<&'static str> = TRAITS.iter().map(|(name, _)| *name).collect();
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    for word in head.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let by_label = TRAITS
            .iter()
            .find(|(_, label)| *label == word)
            .map(|(name, _)| *name);
        let by_ident = names.iter().copied().find(|name| word.ends_with(name));
        if let Some(name) = by_label.or(by_ident) {
            if !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}

/// What is wrong with the checklist of `readme` given the implemented traits: every
/// implemented trait needs a ticked top-level item (`- [x] STT ...`), and no ticked item may
/// name a trait the crate does not implement. Unticked items name what is missing (a trait
/// not implemented, or a part of one that is).
#[must_use]
pub fn checklist_problems(readme: &str, implemented: &[&str]) -> Vec<String> {
    let mut ticked: Vec<&'static str> = Vec::new();
    let mut problems = Vec::new();
    for line in readme.lines() {
        let (done, text) = if let Some(text) = line
            .strip_prefix("- [x] ")
            .or_else(|| line.strip_prefix("- [X] "))
        {
            (true, text)
        } else if let Some(text) = line.strip_prefix("- [ ] ") {
            (false, text)
        } else {
            continue;
        };
        if done {
            ticked.extend(item_traits(text));
        }
    }
    for (name, label) in TRAITS {
        let is_ticked = ticked.contains(name);
        let is_impl = implemented.contains(name);
        if is_ticked && !is_impl {
            problems.push(format!(
                "the checklist ticks {label} but no `impl {name} for` exists"
            ));
        } else if is_impl && !is_ticked {
            problems.push(format!(
                "{label} is implemented but no ticked checklist item names it (`- [x] {label} ...`)"
            ));
        }
    }
    problems
}

/// Every `*.rs` under `dir`, skipping `target` and hidden directories.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_with(dir, "rs")
}

fn files_with(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == extension) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn is_template(root: &Path, path: &Path) -> bool {
    path.starts_with(root.join("xtask/templates"))
}

fn check_no_todo(root: &Path, out: &mut Vec<Violation>) {
    // Built at run time so that this file does not contain what it looks for.
    let needles = [format!("{}!(", "todo"), format!("{}!(", "unimplemented")];
    for file in rust_files(root) {
        if is_template(root, &file) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if let Some(needle) = needles.iter().find(|n| line.contains(n.as_str())) {
                out.push(Violation {
                    rule: "no-todo",
                    path: rel(root, &file),
                    message: format!(
                        "line {}: `{needle}..)`; finish the code or return a classified error",
                        i + 1
                    ),
                });
            }
        }
    }
}

fn check_doc_links(root: &Path, out: &mut Vec<Violation>) {
    for file in files_with(root, "md") {
        if is_template(root, &file) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let dir = file.parent().unwrap_or(root);
        for (line_number, target) in markdown_links(&text) {
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() {
                continue;
            }
            let resolved = match target.strip_prefix('/') {
                Some(from_root) => root.join(from_root),
                None => dir.join(target),
            };
            if !resolved.exists() {
                out.push(Violation {
                    rule: "doc-links",
                    path: rel(root, &file),
                    message: format!(
                        "line {line_number}: link to `{target}`, which does not exist"
                    ),
                });
            }
        }
    }
}

/// `(line, target)` of every relative Markdown link outside code blocks and code spans.
#[must_use]
pub fn markdown_links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop code spans.
        let mut plain = String::new();
        for (j, part) in line.split('`').enumerate() {
            if j % 2 == 0 {
                plain.push_str(part);
            }
        }
        let mut rest = plain.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else {
                break;
            };
            let target = after[..end].split_whitespace().next().unwrap_or_default();
            let target = target.trim_start_matches('<').trim_end_matches('>');
            let external = target.contains("://")
                || target.starts_with("mailto:")
                || target.starts_with('#')
                || target.is_empty();
            if !external {
                out.push((i + 1, target.to_string()));
            }
            rest = &after[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_items_in_prose() {
        let readme = "- [x] Streaming STT over the live `/v1/listen` WebSocket\n- [x] `recognize` over POST\n- [x] TTS over `POST /v1/speak` (`encoding=linear16`)\n- [x] `DeepgramPlugin` builds both\n- [ ] multichannel results, realtime Scribe\n- [x] Passes the conformance suites (STT, LLM)\n";
        assert_eq!(
            checklist_problems(readme, &["Stt", "Tts"]),
            Vec::<String>::new()
        );
        assert_eq!(item_traits("`Stt` over Scribe (multipart)"), vec!["Stt"]);
        assert_eq!(item_traits("Video LLM (frames)"), vec!["VideoLlm"]);
        assert_eq!(item_traits("STT and TTS"), vec!["Stt", "Tts"]);
        assert!(item_traits("Plugin factory (`PLUGIN`)").is_empty());
    }

    #[test]
    fn checklist_items_by_type_name() {
        let readme = "- [x] **`OpenAiLlm`**: chat\n  - [x] SSE\n- [x] **`OpenAiVideoLlm`**: frames\n- [ ] Realtime: restore audio\n- [x] Configuration: keys\n";
        assert!(checklist_problems(readme, &["Llm", "VideoLlm"]).is_empty());
        let p = checklist_problems(readme, &["Llm", "VideoLlm", "Realtime"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("Realtime"));
    }

    #[test]
    fn checklist_matching() {
        let readme = "# x\n- [x] STT (whole)\n- [ ] LLM\n- [x] Video LLM\n";
        assert!(checklist_problems(readme, &["Stt", "VideoLlm"]).is_empty());
        let p = checklist_problems(readme, &["Stt"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("Video LLM"));
        let p = checklist_problems(readme, &["Stt", "VideoLlm", "Llm", "Tts"]);
        assert_eq!(p.len(), 2, "{p:?}");
    }

    #[test]
    fn links_outside_code() {
        let md = "see [a](docs/a.md#x) and [b](https://x.y) `[c](nope.md)`\n```\n[d](nope.md)\n```\n[e](<f.md> \"t\")\n";
        let links = markdown_links(md);
        assert_eq!(
            links,
            vec![(1, "docs/a.md#x".to_string()), (5, "f.md".to_string())]
        );
    }

    #[test]
    fn generics_are_skipped() {
        assert_eq!(skip_generics("<T: Foo<u8>> Stt for X<T>"), " Stt for X<T>");
    }
}
