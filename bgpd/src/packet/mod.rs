//! The BGP-4 wire format, sans-IO: `Message::decode(frame, ctx)` and `Message::encode(ctx)`.
//!
//! A decode error *is* the NOTIFICATION to answer with ([`DecodeError::notification`]); errors
//! that RFC 7606 says to survive are recorded on the decoded UPDATE as [`AttrIssue`]s.

pub mod attr;
pub mod capability;
pub mod error;
pub mod header;
pub mod notification;
pub mod open;
pub mod prefix;
pub mod route_refresh;
pub mod update;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

pub use attr::{AsPath, Attr, AttrValue, Community, LargeCommunity, MpNextHop, MpReach, MpUnreach};
pub use capability::{Capability, GrFamily};
pub use error::{AttrIssue, DecodeError, Handling};
pub use header::{Header, EXTENDED_MAX_LEN, HEADER_LEN, MAX_LEN};
pub use notification::Notification;
pub use open::Open;
pub use prefix::{Family, Prefix};
pub use route_refresh::RouteRefresh;
pub use update::Update;

/// Facts negotiated for one session that change how messages are read and written.
///
/// ADD-PATH (RFC 7911) is never negotiated (vgw does not send the capability), so NLRI never
/// carry path identifiers and there is no flag for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecodeContext {
    /// RFC 6793: both sides sent the 4-octet AS capability; AS_PATH carries 4-octet ASes.
    pub four_octet_as: bool,
    /// RFC 8654: both sides sent the extended message capability; UPDATE, NOTIFICATION and
    /// ROUTE-REFRESH may be up to 65535 octets.
    pub extended_message: bool,
    /// The peer is in our AS (LOCAL_PREF rules, confederation segments).
    pub ibgp: bool,
}

impl DecodeContext {
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            EXTENDED_MAX_LEN
        } else {
            MAX_LEN
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type", content = "body")]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// Decodes exactly one message; `frame` must be the whole message (header included), as
    /// delimited by [`Header::check`].
    pub fn decode(frame: &[u8], ctx: &DecodeContext) -> Result<Message, DecodeError> {
        let header = match Header::check(frame, ctx)? {
            Some(h) if usize::from(h.length) == frame.len() => h,
            Some(h) => {
                return Err(DecodeError::header(
                    error::header_sub::BAD_MESSAGE_LENGTH,
                    h.length.to_be_bytes().to_vec(),
                    format!(
                        "length field {} but {} octets were read",
                        h.length,
                        frame.len()
                    ),
                ))
            }
            None => {
                return Err(DecodeError::header(
                    error::header_sub::BAD_MESSAGE_LENGTH,
                    Vec::new(),
                    format!("message of {} octets is shorter than a header", frame.len()),
                ))
            }
        };
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        Ok(match header.msg_type {
            header::TYPE_OPEN => Message::Open(Open::decode_body(body)?),
            header::TYPE_UPDATE => Message::Update(Update::decode_body(body, ctx)?),
            header::TYPE_NOTIFICATION => Message::Notification(Notification::decode_body(body)?),
            header::TYPE_KEEPALIVE => Message::Keepalive,
            header::TYPE_ROUTE_REFRESH => Message::RouteRefresh(RouteRefresh::decode_body(body)?),
            // Header::check rejects every other type.
            other => {
                return Err(DecodeError::header(
                    error::header_sub::BAD_MESSAGE_TYPE,
                    vec![other],
                    format!("unknown message type {other}"),
                ))
            }
        })
    }

    pub fn encode(&self, ctx: &DecodeContext) -> Bytes {
        let mut buf = BytesMut::with_capacity(64);
        self.encode_into(&mut buf, ctx);
        buf.freeze()
    }

    pub fn encode_into(&self, buf: &mut BytesMut, ctx: &DecodeContext) {
        let start = Header::encode(buf, self.type_code());
        match self {
            Message::Open(o) => o.encode_body(buf),
            Message::Update(u) => u.encode_body(buf, ctx),
            Message::Notification(n) => n.encode_body(buf),
            Message::Keepalive => {}
            Message::RouteRefresh(r) => r.encode_body(buf),
        }
        Header::finish(buf, start);
    }

    pub fn type_code(&self) -> u8 {
        match self {
            Message::Open(_) => header::TYPE_OPEN,
            Message::Update(_) => header::TYPE_UPDATE,
            Message::Notification(_) => header::TYPE_NOTIFICATION,
            Message::Keepalive => header::TYPE_KEEPALIVE,
            Message::RouteRefresh(_) => header::TYPE_ROUTE_REFRESH,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Message::Open(_) => "OPEN",
            Message::Update(_) => "UPDATE",
            Message::Notification(_) => "NOTIFICATION",
            Message::Keepalive => "KEEPALIVE",
            Message::RouteRefresh(_) => "ROUTE-REFRESH",
        }
    }
}

/// Serde helper: byte strings as lowercase hex in JSON (golden files, operator output).
pub mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn encode(data: &[u8]) -> String {
        data.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if !s.len().is_multiple_of(2) {
            return None;
        }
        (0..s.len())
            .step_by(2)
            .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect()
    }

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        decode(&s).ok_or_else(|| serde::de::Error::custom(format!("\"{s}\" is not hex")))
    }
}

#[cfg(test)]
mod tests;
