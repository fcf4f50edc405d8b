//! The message header (RFC 4271 4.1) and the framing of a TCP byte stream into messages.

use bytes::{BufMut, BytesMut};

use super::error::{header_sub, DecodeError};
use super::DecodeContext;

/// RFC 4271 4.1: "This 16-octet field is included for compatibility; it MUST be set to all ones."
pub const MARKER: [u8; 16] = [0xff; 16];
pub const HEADER_LEN: usize = 19;
/// RFC 4271 4: "The maximum message size is 4096 octets."
pub const MAX_LEN: usize = 4096;
/// RFC 8654 3: extended messages may be up to 65535 octets.
pub const EXTENDED_MAX_LEN: usize = 65535;

pub const TYPE_OPEN: u8 = 1;
pub const TYPE_UPDATE: u8 = 2;
pub const TYPE_NOTIFICATION: u8 = 3;
pub const TYPE_KEEPALIVE: u8 = 4;
pub const TYPE_ROUTE_REFRESH: u8 = 5;

/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                                                               +
/// |                           Marker                              |
/// +                                                               +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Length               |      Type     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub length: u16,
    pub msg_type: u8,
}

impl Header {
    /// Checks the header at the start of `buf`. `Ok(None)` when fewer than 19 octets are there
    /// yet; otherwise the header, whose `length` may still exceed what `buf` holds.
    pub fn check(buf: &[u8], ctx: &DecodeContext) -> Result<Option<Header>, DecodeError> {
        let Some(head) = buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        // RFC 4271 6.1: "If the Marker field of the message header is not as expected, then a
        // synchronization error has occurred and the Error Subcode MUST be set to Connection Not
        // Synchronized."
        if head[..16] != MARKER {
            return Err(DecodeError::header(
                header_sub::CONNECTION_NOT_SYNCHRONIZED,
                Vec::new(),
                "marker is not all ones",
            ));
        }
        let length = u16::from_be_bytes([head[16], head[17]]);
        let msg_type = head[18];
        let len = usize::from(length);
        // RFC 4271 6.1: "If the Length field of the message header is less than 19 or greater
        // than 4096, or if the Length field of an OPEN message is less than the minimum length of
        // the OPEN message, or if the Length field of an UPDATE message is less than the minimum
        // length of the UPDATE message, or if the Length field of a KEEPALIVE message is not equal
        // to 19, or if the Length field of a NOTIFICATION message is less than the minimum length
        // of the NOTIFICATION message, then the Error Subcode MUST be set to Bad Message Length.
        // The Data field MUST contain the erroneous Length field."
        // RFC 8654 4: "The BGP Extended Message Capability applies to all messages except for
        // OPEN and KEEPALIVE messages."
        let bad_len = |why: &str| {
            DecodeError::header(
                header_sub::BAD_MESSAGE_LENGTH,
                length.to_be_bytes().to_vec(),
                format!("length {length} {why}"),
            )
        };
        let max = if ctx.extended_message {
            EXTENDED_MAX_LEN
        } else {
            MAX_LEN
        };
        let (min, max) = match msg_type {
            TYPE_OPEN => (29, MAX_LEN),
            TYPE_UPDATE => (23, max),
            TYPE_NOTIFICATION => (21, max),
            TYPE_KEEPALIVE => (19, 19),
            // RFC 2918 3: the ROUTE-REFRESH message is exactly 23 octets.
            TYPE_ROUTE_REFRESH => (23, 23),
            _ => {
                if !(HEADER_LEN..=max).contains(&len) {
                    return Err(bad_len("is outside 19..=maximum"));
                }
                // RFC 4271 6.1: "If the Type field of the message header is not recognized, then
                // the Error Subcode MUST be set to Bad Message Type. The Data field MUST contain
                // the erroneous Type field."
                return Err(DecodeError::header(
                    header_sub::BAD_MESSAGE_TYPE,
                    vec![msg_type],
                    format!("unknown message type {msg_type}"),
                ));
            }
        };
        if len < min {
            return Err(bad_len(&format!(
                "is below the minimum {min} for type {msg_type}"
            )));
        }
        if len > max {
            return Err(bad_len(&format!(
                "is above the maximum {max} for type {msg_type}"
            )));
        }
        Ok(Some(Header { length, msg_type }))
    }

    pub fn encode(buf: &mut BytesMut, msg_type: u8) -> usize {
        let start = buf.len();
        buf.put_slice(&MARKER);
        buf.put_u16(0);
        buf.put_u8(msg_type);
        start
    }

    /// Writes the final length into a header started at `start`.
    pub fn finish(buf: &mut BytesMut, start: usize) {
        let len = buf.len() - start;
        let len = u16::try_from(len).unwrap_or(u16::MAX);
        if let Some(field) = buf.get_mut(start + 16..start + 18) {
            field.copy_from_slice(&len.to_be_bytes());
        }
    }
}
