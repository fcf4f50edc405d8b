//! NOTIFICATION (RFC 4271 4.5) with the shutdown communication of RFC 9003.

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::error::{cease_sub, code, header_sub, DecodeError};

/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Error code    | Error subcode |   Data (variable)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "super::hex")]
    pub data: Vec<u8>,
}

/// RFC 9003 2: "the Shutdown Communication ... length ... MUST NOT exceed 255 octets".
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

impl Notification {
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Self {
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// Cease / Administrative Shutdown with a shutdown communication (RFC 9003 2):
    ///
    /// ```text
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// | Error Code 6  |    Subcode    |    Length     |     ...       \
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               /
    /// \                 Shutdown Communication ...                    \
    /// ```
    /// The text is cut at a character boundary to fit 255 octets of UTF-8.
    pub fn admin_shutdown(message: &str) -> Self {
        Self::cease_with_message(cease_sub::ADMINISTRATIVE_SHUTDOWN, message)
    }

    /// Cease / Administrative Reset with a shutdown communication (RFC 9003 2).
    pub fn admin_reset(message: &str) -> Self {
        Self::cease_with_message(cease_sub::ADMINISTRATIVE_RESET, message)
    }

    fn cease_with_message(subcode: u8, message: &str) -> Self {
        let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let text = &message.as_bytes()[..end];
        let mut data = Vec::with_capacity(text.len() + 1);
        if !text.is_empty() {
            // `end` is at most 255, so the cast is exact.
            data.push(end as u8);
            data.extend_from_slice(text);
        }
        Notification::new(code::CEASE, subcode, data)
    }

    /// The RFC 9003 shutdown communication, when this is a Cease / Administrative Shutdown or
    /// Reset that carries a well-formed one.
    pub fn shutdown_message(&self) -> Option<String> {
        let is_shutdown = self.code == code::CEASE
            && (self.subcode == cease_sub::ADMINISTRATIVE_SHUTDOWN
                || self.subcode == cease_sub::ADMINISTRATIVE_RESET);
        if !is_shutdown {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        // RFC 9003 2: "If the Shutdown Communication is malformed ... the receiver ... MUST NOT
        // use it" -- a length that does not match the data or invalid UTF-8 is ignored.
        let text = rest.get(..usize::from(len))?;
        String::from_utf8(text.to_vec()).ok()
    }

    /// "code/subcode (Name / Subname)" for logs and operator output.
    pub fn describe(&self) -> String {
        let mut s = format!("{}/{} ({})", self.code, self.subcode, self.name());
        if let Some(msg) = self.shutdown_message() {
            s.push_str(&format!(": \"{msg}\""));
        }
        s
    }

    /// The RFC names of code and subcode.
    pub fn name(&self) -> String {
        let (c, s) = names(self.code, self.subcode);
        match s {
            Some(s) => format!("{c} / {s}"),
            None => c.to_string(),
        }
    }

    pub(crate) fn decode_body(mut body: &[u8]) -> Result<Self, DecodeError> {
        // RFC 4271 4.5: the minimum length of the NOTIFICATION message is 21 octets; the header
        // check already enforced it, so two octets are here.
        let (Ok(code), Ok(subcode)) = (body.try_get_u8(), body.try_get_u8()) else {
            return Err(DecodeError::header(
                header_sub::BAD_MESSAGE_LENGTH,
                Vec::new(),
                "NOTIFICATION shorter than 21 octets",
            ));
        };
        Ok(Notification {
            code,
            subcode,
            data: body.to_vec(),
        })
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u8(self.code);
        buf.put_u8(self.subcode);
        buf.put_slice(&self.data);
    }
}

fn names(code: u8, subcode: u8) -> (&'static str, Option<&'static str>) {
    let c = match code {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        _ => "Unknown error code",
    };
    let s = match (code, subcode) {
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (7, 1) => "Invalid Message Length",
        _ => return (c, None),
    };
    (c, Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_round_trip() {
        let n = Notification::admin_shutdown("maintenance, back at 12:00");
        assert_eq!(n.code, 6);
        assert_eq!(n.subcode, 2);
        assert_eq!(n.data.first().copied(), Some(26));
        assert_eq!(
            n.shutdown_message().as_deref(),
            Some("maintenance, back at 12:00")
        );
        assert_eq!(
            n.describe(),
            "6/2 (Cease / Administrative Shutdown): \"maintenance, back at 12:00\""
        );
    }

    #[test]
    fn long_shutdown_communication_is_cut_at_char_boundary() {
        let msg = "é".repeat(200); // 400 octets
        let n = Notification::admin_shutdown(&msg);
        assert_eq!(n.data.first().copied(), Some(254));
        assert_eq!(n.shutdown_message().map(|s| s.chars().count()), Some(127));
    }

    #[test]
    fn malformed_shutdown_communication_is_ignored() {
        let n = Notification::new(6, 2, vec![10, b'a']);
        assert_eq!(n.shutdown_message(), None);
        let n = Notification::new(6, 2, vec![2, 0xff, 0xfe]);
        assert_eq!(n.shutdown_message(), None);
    }
}
