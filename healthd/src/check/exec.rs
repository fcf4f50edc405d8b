//! exec check: run a program; exit status 0 means up.
//!
//! The program runs in its own process group with a clean environment describing the target:
//!
//! | variable | value |
//! |---|---|
//! | `VGW_TARGET_ID` | the target id |
//! | `VGW_TARGET_ADDR` | address to check (connect_ip override applied) |
//! | `VGW_TARGET_PORT` | port to check (connect_port override applied) |
//! | `VGW_TIMEOUT_MS` | the check timeout in milliseconds |
//! | `PATH` | `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` |
//!
//! When it overruns the timeout, the whole process group is killed with SIGKILL, so a script
//! that forked children does not leave them behind. The group is also killed after a normal
//! exit, for the same reason: nothing a check started outlives the check.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::Ctx;
use crate::outcome::{snippet, IoFailure, Reason};
use crate::spec::ExecProbe;

/// Most bytes of stderr kept for the reason text.
const STDERR_KEEP: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecFailure {
    #[error("cannot start {program}: {error}")]
    Spawn { program: String, error: IoFailure },
    #[error("{program} exited with status {code}{}", stderr_suffix(.stderr))]
    Exit {
        program: String,
        code: i32,
        stderr: String,
    },
    #[error("{program} was killed by signal {signal}{}", stderr_suffix(.stderr))]
    Signal {
        program: String,
        signal: i32,
        stderr: String,
    },
    #[error("{program} did not finish within {after:?}; killed it and its process group")]
    Overrun {
        program: String,
        after: std::time::Duration,
    },
}

fn stderr_suffix(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (stderr: {s})")
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // ESRCH (already gone) is the normal case after a clean exit.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

pub async fn check(probe: &ExecProbe, ctx: &Ctx<'_>) -> Result<(), Reason> {
    let program = probe.program.display().to_string();
    let peer = ctx.net.peer(ctx.target);
    let mut cmd = Command::new(&probe.program);
    cmd.args(&probe.args)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("VGW_TARGET_ID", ctx.target.id.as_str())
        .env("VGW_TARGET_ADDR", peer.ip().to_string())
        .env("VGW_TARGET_PORT", peer.port().to_string())
        .env("VGW_TIMEOUT_MS", ctx.timeout.as_millis().to_string())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| ExecFailure::Spawn {
        program: program.clone(),
        error: IoFailure::from(e),
    })?;
    let pid = child.id();
    let mut stderr = child.stderr.take();
    let mut err_buf = Vec::new();

    let waited = tokio::time::timeout_at(ctx.deadline, child.wait()).await;
    // Whatever happened, nothing in the group may outlive the check.
    kill_group(pid);
    let status: ExitStatus = match waited {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let _ = child.wait().await;
            return Err(Reason::Io {
                op: "wait for the check program",
                addr: peer,
                error: IoFailure::from(e),
            });
        }
        Err(_) => {
            // The leader was killed with its group; tokio reaps a dropped child in the
            // background, so the verdict does not wait for the kernel to deliver the signal.
            drop(child);
            return Err(ExecFailure::Overrun {
                program,
                after: ctx.timeout,
            }
            .into());
        }
    };
    if let Some(pipe) = stderr.as_mut() {
        // The group is dead, so the pipe closes promptly; still bounded in time and size.
        let mut limited = pipe.take(STDERR_KEEP as u64 * 4);
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            limited.read_to_end(&mut err_buf),
        )
        .await;
    }
    let text = snippet(err_buf.trim_ascii(), STDERR_KEEP);
    if status.success() {
        return Ok(());
    }
    Err(match (status.code(), status.signal()) {
        (Some(code), _) => ExecFailure::Exit {
            program,
            code,
            stderr: text,
        },
        (None, Some(signal)) => ExecFailure::Signal {
            program,
            signal,
            stderr: text,
        },
        (None, None) => ExecFailure::Exit {
            program,
            code: -1,
            stderr: text,
        },
    }
    .into())
}
