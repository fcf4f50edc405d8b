//! Netlink framing of IPVS messages: build requests, split a received datagram into messages.
//!
//! ```text
//!  0               4       6       8               12              16
//! +---------------+-------+-------+---------------+---------------+----------
//! | nlmsg_len u32 | type  | flags | seq u32       | pid u32       | payload, padded to 4
//! +---------------+-------+-------+---------------+---------------+----------
//! ```
//!
//! A datagram holds one or more messages. `type` is NLMSG_ERROR (2, an ack when the code is 0),
//! NLMSG_DONE (3, end of a dump), or the IPVS family id resolved at start.

use bytes::Buf;
use netlink_packet_core::{
    DoneBuffer, DoneMessage, Emitable, ErrorBuffer, ErrorMessage, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, Parseable, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN,
};
use netlink_packet_generic::{GenlHeader, GenlMessage};

use super::dialect::Dialect;
use super::message::{IpvsMessage, IPVS_GENL_VERSION};
use super::nla::align4;
use super::WireError;

/// A whole IPVS netlink message as the rust-netlink crates model it.
pub type IpvsNetlinkMessage = NetlinkMessage<GenlMessage<IpvsMessage>>;

pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;

/// A request for `family_id` with `flags` (NLM_F_REQUEST and friends) and `seq`.
pub fn request(msg: IpvsMessage, family_id: u16, flags: u16, seq: u32) -> IpvsNetlinkMessage {
    let genl = GenlMessage::new(
        GenlHeader {
            cmd: msg.cmd.to_raw(),
            version: IPVS_GENL_VERSION,
        },
        msg,
        family_id,
    );
    let mut header = NetlinkHeader::default();
    header.message_type = family_id;
    header.flags = flags;
    header.sequence_number = seq;
    let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    nl.header.length = nl.buffer_len() as u32;
    nl
}

/// Serialize one message; the length field is recomputed from the content.
pub fn encode(msg: &IpvsNetlinkMessage) -> Vec<u8> {
    let mut msg = msg.clone();
    msg.header.length = msg.buffer_len() as u32;
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

/// Append one message to `out` (for batching many requests into one send).
pub fn encode_into(msg: &IpvsNetlinkMessage, out: &mut Vec<u8>) {
    let start = out.len();
    let len = msg.buffer_len();
    out.resize(start + len, 0);
    if let Some(dst) = out.get_mut(start..) {
        msg.emit(dst);
    }
}

fn parse_header(mut b: &[u8]) -> Result<NetlinkHeader, WireError> {
    let have = b.len();
    let short = |_| WireError::Truncated {
        what: "netlink header",
        need: NLMSG_HDRLEN,
        have,
    };
    let mut h = NetlinkHeader::default();
    h.length = b.try_get_u32_ne().map_err(short)?;
    h.message_type = b.try_get_u16_ne().map_err(short)?;
    h.flags = b.try_get_u16_ne().map_err(short)?;
    h.sequence_number = b.try_get_u32_ne().map_err(short)?;
    h.port_number = b.try_get_u32_ne().map_err(short)?;
    Ok(h)
}

/// Split a datagram into messages and decode each. `family_id` is the resolved IPVS family;
/// any other non-control type is an error naming it.
pub fn decode(
    mut buf: &[u8],
    family_id: u16,
    dialect: &Dialect,
) -> Result<Vec<IpvsNetlinkMessage>, WireError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let header = parse_header(buf)?;
        let len = header.length as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(WireError::BadMessageLength {
                len,
                remaining: buf.len(),
            });
        }
        let payload = buf.get(NLMSG_HDRLEN..len).unwrap_or(&[]);
        let body = match header.message_type {
            NLMSG_NOOP => NetlinkPayload::Noop,
            NLMSG_OVERRUN => NetlinkPayload::Overrun(payload.to_vec()),
            NLMSG_ERROR => {
                let msg = ErrorBuffer::new_checked(&payload)
                    .and_then(|b| ErrorMessage::parse(&b))
                    .map_err(|_| WireError::Truncated {
                        what: "NLMSG_ERROR",
                        need: 4,
                        have: payload.len(),
                    })?;
                NetlinkPayload::Error(msg)
            }
            NLMSG_DONE => {
                let msg = DoneBuffer::new_checked(&payload)
                    .and_then(|b| DoneMessage::parse(&b))
                    .map_err(|_| WireError::Truncated {
                        what: "NLMSG_DONE",
                        need: 4,
                        have: payload.len(),
                    })?;
                NetlinkPayload::Done(msg)
            }
            t if t == family_id => {
                let (Some(&cmd), Some(&version), Some(attrs)) =
                    (payload.first(), payload.get(1), payload.get(GENL_HDRLEN..))
                else {
                    return Err(WireError::Truncated {
                        what: "generic netlink header",
                        need: GENL_HDRLEN,
                        have: payload.len(),
                    });
                };
                let msg = IpvsMessage::decode(attrs, cmd, dialect)?;
                NetlinkPayload::InnerMessage(GenlMessage::new(
                    GenlHeader { cmd, version },
                    msg,
                    family_id,
                ))
            }
            t => {
                return Err(WireError::UnexpectedFamily {
                    got: t,
                    expected: family_id,
                })
            }
        };
        out.push(NetlinkMessage::new(header, body));
        let step = align4(len).min(buf.len());
        buf = buf.get(step..).unwrap_or(&[]);
    }
    Ok(out)
}
