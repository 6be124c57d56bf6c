//! A tiny template renderer: `{{key}}` placeholders and line-based `{{#if cond}}` blocks.
//!
//! A line containing `{{#if cond}}` or `{{/if}}` is a directive and is dropped (whatever
//! comment marker surrounds it, so templates stay readable as Rust, TOML or Markdown). The
//! lines between are kept when `cond` holds: `cond` is a flag name, `a|b` (any of them), or
//! `!a` (not a). Blocks nest.

use std::collections::BTreeSet;

/// Renders `text` with `vars` substituted and only the blocks whose condition holds for
/// `flags`. Fails on an unbalanced block or a placeholder left without a value.
pub fn render(
    text: &str,
    vars: &[(&str, String)],
    flags: &BTreeSet<&str>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut stack: Vec<bool> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if let Some(start) = line.find("{{#if ") {
            let rest = &line[start + "{{#if ".len()..];
            let cond = rest
                .split("}}")
                .next()
                .ok_or_else(|| format!("line {}: unclosed `{{{{#if`", number + 1))?;
            stack.push(holds(cond.trim(), flags));
            continue;
        }
        if line.contains("{{/if}}") {
            stack
                .pop()
                .ok_or_else(|| format!("line {}: `{{{{/if}}}}` without `{{{{#if`", number + 1))?;
            continue;
        }
        if stack.iter().all(|keep| *keep) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !stack.is_empty() {
        return Err("a `{{#if` block is not closed".to_string());
    }
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    if let Some(left) = leftover_placeholder(&out) {
        return Err(format!("placeholder `{{{{{left}}}}}` has no value"));
    }
    Ok(out)
}

fn holds(cond: &str, flags: &BTreeSet<&str>) -> bool {
    if let Some(negated) = cond.strip_prefix('!') {
        return !holds(negated, flags);
    }
    cond.split('|').any(|flag| flags.contains(flag.trim()))
}

/// The first `{{identifier}}` left in `text`.
fn leftover_placeholder(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        if let Some(end) = after.find("}}") {
            let inner = &after[..end];
            if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Some(inner);
            }
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&'static str]) -> BTreeSet<&'static str> {
        list.iter().copied().collect()
    }

    #[test]
    fn substitutes_and_selects_blocks() {
        let text = "a {{x}}\n// {{#if stt}}\nstt\n// {{#if !llm}}\nno llm\n// {{/if}}\n// {{/if}}\n# {{#if llm|tts}}\nspeech\n# {{/if}}\nend\n";
        let out = render(text, &[("x", "1".into())], &flags(&["stt"])).unwrap();
        assert_eq!(out, "a 1\nstt\nno llm\nend\n");
        let out = render(text, &[("x", "1".into())], &flags(&["tts", "llm"])).unwrap();
        assert_eq!(out, "a 1\nspeech\nend\n");
    }

    #[test]
    fn braces_around_placeholders_survive() {
        let out = render(
            "use m::{{{Name}}Llm};",
            &[("Name", "Acme".into())],
            &flags(&[]),
        )
        .unwrap();
        assert_eq!(out, "use m::{AcmeLlm};\n");
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(
            render("{{nope}}", &[], &flags(&[]))
                .unwrap_err()
                .contains("nope")
        );
        assert!(
            render("// {{#if a}}\n", &[], &flags(&[]))
                .unwrap_err()
                .contains("not closed")
        );
        assert!(
            render("// {{/if}}\n", &[], &flags(&[]))
                .unwrap_err()
                .contains("without")
        );
    }
}
