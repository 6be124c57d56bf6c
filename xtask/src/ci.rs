//! `cargo xtask ci`: runs `.ci/run`, the same steps as CI.

use std::path::Path;
use std::process::Command;

/// Runs `bash .ci/run` in `root` with the terminal attached.
pub fn run(root: &Path) -> Result<String, String> {
    let script = root.join(".ci/run");
    if !script.is_file() {
        return Err(format!("{} does not exist", script.display()));
    }
    let status = Command::new("bash")
        .arg(&script)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run bash .ci/run: {e}"))?;
    if status.success() {
        Ok("ci: every step passed".into())
    } else {
        Err(format!(".ci/run failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_script_is_one_clear_error() {
        let dir = std::env::temp_dir().join(format!("xtask-ci-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = super::run(&dir).unwrap_err();
        assert!(
            err.contains(".ci/run") && err.contains("does not exist"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_repository_script_exists() {
        let root = crate::project_root();
        assert!(root.join(".ci/run").is_file());
    }
}
