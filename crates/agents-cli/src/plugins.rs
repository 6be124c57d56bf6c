//! `agents plugins`.

use std::process::ExitCode;

use agents_core::Result;

pub(crate) fn run(json: bool) -> Result<ExitCode> {
    let registry = crate::registry::registry()?;
    let plugins = registry.plugins();
    if json {
        let value = serde_json::to_string_pretty(&plugins)?;
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &plugins {
        let caps: Vec<&str> = p.capabilities.iter().map(|c| c.name()).collect();
        println!("{} {}  {}", p.name, p.version, p.description);
        println!("    provides: {}", caps.join(", "));
        if p.env_vars.is_empty() {
            println!("    environment: none");
        }
        for v in p.env_vars {
            let req = if v.required { "required" } else { "optional" };
            println!("    env {} ({req}): {}", v.name, v.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}
