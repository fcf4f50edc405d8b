//! What one check run produced: up (optionally with a weight) or down with a reason an operator
//! can act on. Reasons are data (an enum), rendered to text only at the edge.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// An I/O error reduced to what is worth keeping: cloneable and comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoFailure {
    pub kind: io::ErrorKind,
    pub message: String,
}

impl From<&io::Error> for IoFailure {
    fn from(e: &io::Error) -> Self {
        IoFailure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<io::Error> for IoFailure {
    fn from(e: io::Error) -> Self {
        IoFailure::from(&e)
    }
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a check failed. Every variant names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    #[error("timed out after {after:?} while {phase}")]
    Timeout {
        phase: &'static str,
        after: Duration,
    },
    #[error("could not set up the socket ({what}): {error}")]
    Socket {
        what: &'static str,
        error: IoFailure,
    },
    #[error("connect to {addr} refused (nothing listens there)")]
    Refused { addr: SocketAddr },
    #[error("connect to {addr} failed: {error}")]
    Connect { addr: SocketAddr, error: IoFailure },
    #[error("{op} to {addr} failed: {error}")]
    Io {
        op: &'static str,
        addr: SocketAddr,
        error: IoFailure,
    },
    #[error(
        "{addr} closed the connection before the expected reply {expected:?} arrived (got {got:?})"
    )]
    ClosedEarly {
        addr: SocketAddr,
        expected: String,
        got: String,
    },
    #[error("reply from {addr} does not contain {expected:?} (got {got:?})")]
    ReplyMismatch {
        addr: SocketAddr,
        expected: String,
        got: String,
    },
    #[error("port unreachable: {addr} answered with ICMP port unreachable")]
    PortUnreachable { addr: SocketAddr },
    #[error("{0}")]
    Tls(String),
    #[error("{0}")]
    Http(#[from] crate::check::http::HttpFailure),
    #[error("{0}")]
    Dns(#[from] crate::check::dns::DnsFailure),
    #[error("{0}")]
    Icmp(#[from] crate::check::icmp::IcmpFailure),
    #[error("{0}")]
    Exec(#[from] crate::check::exec::ExecFailure),
    #[error("{0}")]
    File(#[from] crate::check::file::FileFailure),
    /// The check task itself died (a bug): reported instead of being lost.
    #[error("check task failed: {0}")]
    Internal(String),
}

/// Verdict of one check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The target answered as expected. `weight` is set by checks that carry one (the file check).
    Up {
        weight: Option<u32>,
    },
    Down {
        reason: Reason,
    },
}

impl Outcome {
    pub fn up() -> Self {
        Outcome::Up { weight: None }
    }

    pub fn down(reason: Reason) -> Self {
        Outcome::Down { reason }
    }

    pub fn is_up(&self) -> bool {
        matches!(self, Outcome::Up { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Up { weight: None } => f.write_str("up"),
            Outcome::Up { weight: Some(w) } => write!(f, "up (weight {w})"),
            Outcome::Down { reason } => write!(f, "down: {reason}"),
        }
    }
}

/// One finished check: its verdict and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub outcome: Outcome,
    pub latency: Duration,
}

impl CheckResult {
    pub fn new(outcome: Outcome, latency: Duration) -> Self {
        CheckResult { outcome, latency }
    }
}

/// Render bytes from the network for a reason text: printable ASCII kept, the rest escaped,
/// and at most `max` bytes shown so a huge reply cannot blow up a log line.
pub fn snippet(bytes: &[u8], max: usize) -> String {
    let shown = bytes.get(..max.min(bytes.len())).unwrap_or(bytes);
    let mut s: String = shown.escape_ascii().to_string();
    if bytes.len() > max {
        s.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    s
}
