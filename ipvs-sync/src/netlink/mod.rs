//! The "IPVS" generic-netlink family: one file per kernel object, shaped like the rust-netlink
//! crates (attribute enums are `#[non_exhaustive]` and end in `Other(DefaultNla)`, kernel
//! constant names kept as-is, `Nla`/`Emitable` to write, explicit decoders to read).
//!
//! Decoding needs the kernel's [`Dialect`] (SVC attribute 11, commands 18..20, attribute 7), so
//! it travels as a parameter, never as a global.

pub mod daemon;
pub mod dest;
pub mod dialect;
pub mod frame;
pub mod info;
pub mod laddr;
pub mod message;
mod nla;
pub mod service;
pub mod stats;

pub use dialect::{Dialect, DialectError, Features};
pub use frame::IpvsNetlinkMessage;
pub use message::{IpvsAttr, IpvsCmd, IpvsMessage};
pub use nla::{InetAddr, Nested};

use thiserror::Error;

/// A reply (or captured message) that does not decode. Each variant names what was wrong and
/// the offending value, so a log line is enough to understand a kernel/daemon mismatch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("netlink message length {len} is invalid with {remaining} bytes left in the datagram")]
    BadMessageLength { len: usize, remaining: usize },
    #[error(
        "attribute {kind} inside {within} has length {len}, invalid with {remaining} bytes left"
    )]
    BadNlaLength {
        within: &'static str,
        kind: u16,
        len: usize,
        remaining: usize,
    },
    #[error("{attr} must be {expected} bytes long, got {got}")]
    BadAttrLength {
        attr: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{attr} is not a valid string: {reason}")]
    BadString {
        attr: &'static str,
        reason: &'static str,
    },
    #[error("{attr} has an unknown value {value}")]
    BadValue { attr: &'static str, value: u64 },
    #[error("{object} without {attr}")]
    MissingAttr {
        object: &'static str,
        attr: &'static str,
    },
    #[error("netlink message of type {got} where the IPVS family ({expected}) or a control message was expected")]
    UnexpectedFamily { got: u16, expected: u16 },
}
