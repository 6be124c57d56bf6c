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
