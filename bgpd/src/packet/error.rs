//! Decode errors. A decode error *is* the NOTIFICATION to send (code, subcode, data), plus a
//! reason for the operator's log; RFC 7606 outcomes that do not reset the session are
//! [`AttrIssue`]s carried on the decoded UPDATE instead.

use serde::{Deserialize, Serialize};

use super::notification::Notification;

/// NOTIFICATION error codes (RFC 4271 4.5, RFC 6608, RFC 7313).
pub mod code {
    pub const MESSAGE_HEADER: u8 = 1;
    pub const OPEN_MESSAGE: u8 = 2;
    pub const UPDATE_MESSAGE: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH: u8 = 7;
}

/// Message Header Error subcodes (RFC 4271 6.1).
pub mod header_sub {
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 6.2, RFC 5492).
pub mod open_sub {
    pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
    pub const BAD_PEER_AS: u8 = 2;
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
}

/// UPDATE Message Error subcodes (RFC 4271 6.3).
pub mod update_sub {
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608).
pub mod fsm_sub {
    pub const UNSPECIFIED: u8 = 0;
    pub const UNEXPECTED_IN_OPENSENT: u8 = 1;
    pub const UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486, RFC 8538).
pub mod cease_sub {
    pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
    pub const HARD_RESET: u8 = 9;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313).
pub mod route_refresh_sub {
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

/// A message that must end the session: the NOTIFICATION to send and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{reason} (sending NOTIFICATION {})", notification.describe())]
pub struct DecodeError {
    pub notification: Notification,
    pub reason: String,
}

impl DecodeError {
    pub fn new(code: u8, subcode: u8, data: Vec<u8>, reason: impl Into<String>) -> Self {
        DecodeError {
            notification: Notification::new(code, subcode, data),
            reason: reason.into(),
        }
    }

    pub fn header(subcode: u8, data: Vec<u8>, reason: impl Into<String>) -> Self {
        Self::new(code::MESSAGE_HEADER, subcode, data, reason)
    }

    pub fn open(subcode: u8, data: Vec<u8>, reason: impl Into<String>) -> Self {
        Self::new(code::OPEN_MESSAGE, subcode, data, reason)
    }

    pub fn update(subcode: u8, data: Vec<u8>, reason: impl Into<String>) -> Self {
        Self::new(code::UPDATE_MESSAGE, subcode, data, reason)
    }

    /// A short read inside a message whose length checked out: the message body is
    /// inconsistent with itself. Per message type the RFC names the subcode; callers pass it.
    pub fn truncated(code: u8, subcode: u8, what: &str) -> Self {
        Self::new(
            code,
            subcode,
            Vec::new(),
            format!("message ends inside {what}"),
        )
    }
}

/// How an attribute error that does not reset the session was handled (RFC 7606 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handling {
    /// "attribute discard": the attribute is dropped, the routes are kept.
    AttributeDiscard,
    /// "treat-as-withdraw": every NLRI in the UPDATE is handled as withdrawn.
    TreatAsWithdraw,
}

/// A malformed attribute that RFC 7606 says to survive, with what was done and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrIssue {
    pub type_code: u8,
    pub handling: Handling,
    pub reason: String,
}
