//! `cargo xtask tidy` as a test, and one test per rule that breaks it on purpose in a
//! synthetic tree.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::fs;
use std::path::{Path, PathBuf};

use xtask::tidy::{self, Violation};

#[test]
fn the_repository_is_tidy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    if let Err(problems) = tidy::run(root) {
        panic!(
            "{problems}\n(fix them, or for a known exception add `<rule> <path>` to xtask/tidy-allow.txt)"
        );
    }
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.0.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn remove(&self, path: &str) {
        let path = self.0.join(path);
        if path.is_dir() {
            fs::remove_dir_all(path).unwrap();
        } else {
            fs::remove_file(path).unwrap();
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const MANIFEST: &str = r#"[package]
name = "agents-plugin-good"
version.workspace = true
edition.workspace = true
license.workspace = true

[lints]
workspace = true
"#;

/// A tree where every rule holds.
fn good_tree(tag: &str) -> Scratch {
    let s = Scratch::new(tag);
    s.write(
        "README.md",
        "# ws\n\nSee [the plugin](plugins/good/README.md) and [docs](docs/guide.md#top).\n",
    );
    s.write(
        "docs/guide.md",
        "# Guide\n\n[Back](../README.md), [web](https://example.com).\n",
    );
    s.write(
        "crates/agents-cli/src/registry.rs",
        "fn r() { Registry::new().with(Arc::new(agents_plugin_good::GoodPlugin)) }\n",
    );
    s.write("plugins/good/Cargo.toml", MANIFEST);
    s.write(
        "plugins/good/README.md",
        "# agents-plugin-good\n\n- [x] STT (whole utterances)\n- [ ] LLM\n\nKey: `GOOD_API_KEY`.\n",
    );
    s.write(
        "plugins/good/src/version.rs",
        "pub const VERSION: &str = \"0.1.0\";\n",
    );
    s.write(
        "plugins/good/src/lib.rs",
        "mod version;\npub struct GoodStt;\n#[async_trait]\nimpl agents_core::Stt for GoodStt {}\n",
    );
    s.write(
        "plugins/good/tests/conformance.rs",
        "use agents_testing::conformance::stt;\n",
    );
    s
}

/// The rules broken in `root`.
fn broken(root: &Path) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = tidy::check(root)
        .iter()
        .map(|v: &Violation| v.rule)
        .collect();
    rules.dedup();
    rules
}

#[test]
fn a_good_tree_passes() {
    let s = good_tree("good");
    assert_eq!(tidy::check(&s.0), vec![]);
    assert!(tidy::run(&s.0).is_ok());
}

#[test]
fn missing_version_rs() {
    let s = good_tree("version");
    s.remove("plugins/good/src/version.rs");
    assert_eq!(broken(&s.0), ["version-rs"]);
}

#[test]
fn missing_readme() {
    let s = good_tree("readme");
    s.remove("plugins/good/README.md");
    // the root README links to it too
    assert_eq!(broken(&s.0), ["readme", "doc-links"]);
}

#[test]
fn checklist_missing_an_implemented_trait() {
    let s = good_tree("checklist1");
    s.write(
        "plugins/good/src/tts.rs",
        "impl<T: Send> agents_core::tts::Tts for Good<T> {}\n",
    );
    assert_eq!(broken(&s.0), ["readme-checklist"]);
    let message = &tidy::check(&s.0)[0].message;
    assert!(message.contains("TTS"), "{message}");
}

#[test]
fn checklist_ticking_an_unimplemented_trait() {
    let s = good_tree("checklist2");
    s.write(
        "plugins/good/README.md",
        "# agents-plugin-good\n\n- [x] STT\n- [x] LLM (streamed)\n",
    );
    assert_eq!(broken(&s.0), ["readme-checklist"]);
}

#[test]
fn checklist_leaving_an_implemented_trait_unticked() {
    let s = good_tree("checklist3");
    s.write(
        "plugins/good/README.md",
        "# agents-plugin-good\n\n- [ ] STT\n",
    );
    assert_eq!(broken(&s.0), ["readme-checklist"]);
}

#[test]
fn no_workspace_lints() {
    let s = good_tree("lints");
    s.write(
        "plugins/good/Cargo.toml",
        &MANIFEST.replace("[lints]\nworkspace = true\n", ""),
    );
    assert_eq!(broken(&s.0), ["workspace-lints"]);
}

#[test]
fn fields_not_inherited() {
    let s = good_tree("fields");
    s.write(
        "plugins/good/Cargo.toml",
        &MANIFEST.replace("license.workspace = true", "license = \"MIT\""),
    );
    assert_eq!(broken(&s.0), ["workspace-fields"]);
}

#[test]
fn no_conformance_test() {
    let s = good_tree("conformance");
    s.write(
        "plugins/good/tests/conformance.rs",
        "#[test]\nfn nothing() {}\n",
    );
    assert_eq!(broken(&s.0), ["conformance-test"]);
}

#[test]
fn not_in_the_cli_registry() {
    let s = good_tree("registry");
    s.write(
        "crates/agents-cli/src/registry.rs",
        "fn r() { Registry::new() }\n",
    );
    assert_eq!(broken(&s.0), ["registry"]);
}

#[test]
fn todo_outside_templates() {
    let s = good_tree("todo");
    // Spelled at run time so that this file itself stays clean.
    let body = format!("fn f() {{ {}!() }}\n", "todo");
    s.write("xtask/templates/plugin/src/x.rs", &body);
    assert_eq!(broken(&s.0), Vec::<&str>::new(), "templates are exempt");
    s.write("crates/core/src/x.rs", &body);
    assert_eq!(broken(&s.0), ["no-todo"]);
    s.write(
        "crates/core/src/x.rs",
        &format!("fn f() {{ {}!() }}\n", "unimplemented"),
    );
    assert_eq!(broken(&s.0), ["no-todo"]);
}

#[test]
fn broken_doc_link() {
    let s = good_tree("links");
    s.write(
        "docs/guide.md",
        "# Guide\n\nSee [nothing](missing.md).\n\n```text\n[ok](in-code.md)\n```\n",
    );
    assert_eq!(broken(&s.0), ["doc-links"]);
}

#[test]
fn the_allow_list_excuses_and_must_stay_current() {
    let s = good_tree("allow");
    s.remove("plugins/good/src/version.rs");
    s.write(tidy::ALLOW_FILE, "# known\nversion-rs plugins/good\n");
    assert!(tidy::run(&s.0).is_ok());
    s.write(
        "plugins/good/src/version.rs",
        "pub const VERSION: &str = \"0.1.0\";\n",
    );
    let err = tidy::run(&s.0).unwrap_err();
    assert!(err.contains("no longer fails"), "{err}");
}
