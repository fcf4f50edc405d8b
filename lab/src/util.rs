//! Small helpers shared by the lab: tool discovery, running commands, bounded waiting.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::error::{IoContext, LabError, Result};

/// Fails with [`LabError::NotRoot`] unless the effective user is root.
pub fn require_root() -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(LabError::NotRoot)
    }
}

/// Finds `tool` on PATH (and in the sbin directories, which a non-login PATH may lack).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/lib/frr", "/usr/local/sbin"];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Like [`find_tool`], but an error that names the Debian package to install.
pub fn require_tool(tool: &str, package: &str) -> Result<PathBuf> {
    find_tool(tool).ok_or_else(|| LabError::MissingTool {
        tool: tool.to_string(),
        package: package.to_string(),
    })
}

/// Runs a command to completion and returns its output without judging the exit status.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output()
        .ctx(|| format!("cannot run `{}`", describe(cmd)))
}

/// Runs a command, failing unless it exits 0; returns its stdout as text.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command: describe(cmd),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// A command line as a person would type it (for error messages).
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Polls `check` every 50 ms until it returns `Ok(true)` or `timeout` passes.
///
/// Errors from `check` count as "not yet"; the last one is reported on timeout.
pub fn wait_until<F>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Result<bool>,
{
    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    loop {
        match check() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() >= deadline {
            let what = match last_err {
                Some(e) => format!("{what} (last error: {e})"),
                None => what.to_string(),
            };
            return Err(LabError::Timeout {
                what,
                after: timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
