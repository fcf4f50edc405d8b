//! Client errors, written for an operator: what failed, on which object, and what to do.

use thiserror::Error;

use crate::netlink::{DialectError, WireError};

#[derive(Debug, Error)]
pub enum IpvsError {
    #[error("kernel has no IPVS (generic netlink family \"IPVS\" not found): load ip_vs (modprobe ip_vs)")]
    NoIpvs,
    #[error(
        "{op}{}: permission denied; IPVS needs CAP_NET_ADMIN (run as root)",
        spaced(object)
    )]
    PermissionDenied { op: &'static str, object: String },
    #[error("{op}{}: kernel said {} (errno {errno}){}", spaced(object), strerror(*errno), hint(*errno, op))]
    Kernel {
        op: &'static str,
        object: String,
        errno: i32,
    },
    #[error(transparent)]
    Dialect(#[from] DialectError),
    #[error("malformed reply from the kernel to {op}: {source}")]
    Wire {
        op: &'static str,
        #[source]
        source: WireError,
    },
    #[error("unexpected reply to {op}: {detail}")]
    Protocol { op: &'static str, detail: String },
    #[error("invalid request {op} {object}: {reason}")]
    Invalid {
        op: &'static str,
        object: String,
        reason: String,
    },
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
}

impl IpvsError {
    /// The kernel's errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::PermissionDenied { .. } => Some(libc::EPERM),
            _ => None,
        }
    }

    /// Map a kernel NACK.
    pub(crate) fn from_errno(op: &'static str, object: String, errno: i32) -> IpvsError {
        if errno == libc::EPERM || errno == libc::EACCES {
            IpvsError::PermissionDenied { op, object }
        } else {
            IpvsError::Kernel { op, object, errno }
        }
    }
}

fn spaced(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!(" {object}")
    }
}

fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.split_once(" (os error") {
        Some((msg, _)) => msg.to_string(),
        None => text,
    }
}

/// What an operator should check for the errors IPVS commonly returns.
fn hint(errno: i32, op: &str) -> &'static str {
    match errno {
        libc::EEXIST => "; it already exists",
        libc::ESRCH if op.contains("service") => "; no such service",
        libc::ENOENT if op.contains("scheduler") || op.contains("add service") => {
            "; scheduler or persistence engine module not loaded (modprobe ip_vs_<name>)"
        }
        libc::ENOENT => "; no such object, or a needed module (scheduler, pe) is not loaded",
        libc::EINVAL => "; the kernel rejected a value (check scheduler, flags, addresses)",
        libc::EAFNOSUPPORT => "; the kernel has no IPv6 support in IPVS",
        libc::ENODEV => "; no such interface",
        libc::EBUSY => "; already running",
        _ => "",
    }
}
