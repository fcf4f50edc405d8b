//! `vgwctl config check FILE`: runs `vgwd --config FILE --check` so the messages are exactly
//! the daemon's (vgwctl does not link the daemon's configuration code).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds `vgwd`: next to our own executable first (installed side by side, or a cargo target
/// directory), then on PATH.
pub fn find_vgwd() -> Option<PathBuf> {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("vgwd")))
        .filter(|p| p.is_file());
    sibling.or_else(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join("vgwd"))
            .find(|p| p.is_file())
    })
}

/// Runs the check; returns the exit status to use.
pub fn run(file: &Path) -> i32 {
    let Some(vgwd) = find_vgwd() else {
        eprintln!(
            "vgwctl: config check runs `vgwd --config FILE --check`, but no vgwd executable was \
             found next to vgwctl or on PATH. Install vgwd, or run vgwd --config {} --check \
             yourself.",
            file.display()
        );
        return 3;
    };
    match Command::new(&vgwd)
        .arg("--config")
        .arg(file)
        .arg("--check")
        .status()
    {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("vgwctl: cannot run {}: {e}", vgwd.display());
            3
        }
    }
}
