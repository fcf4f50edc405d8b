//! The lab's error type: every failure says what was tried and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

/// Result with [`LabError`].
pub type Result<T, E = LabError> = std::result::Result<T, E>;

/// Everything that can go wrong while building or driving a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(
        "the lab needs root (network namespaces, veth pairs, qemu); run it as root or with sudo"
    )]
    NotRoot,
    #[error("`{tool}` was not found on PATH; install it with: apt-get install -y {package}")]
    MissingTool { tool: String, package: String },
    #[error("{what}: not found at {path}; {hint}")]
    MissingFile {
        what: String,
        path: PathBuf,
        hint: String,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout { what: String, after: Duration },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the VM did not boot with {accel}: {detail}")]
    VmBoot { accel: String, detail: String },
    #[error("{0}")]
    Invalid(String),
}

impl LabError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LabError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Attach a context string to an I/O result.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| LabError::io(context(), e))
    }
}

impl From<std::io::Error> for LabError {
    fn from(source: std::io::Error) -> Self {
        LabError::Io {
            context: "I/O error".to_string(),
            source,
        }
    }
}
