//! OPEN (RFC 4271 4.2) with optional parameters carrying capabilities (RFC 5492).

use std::net::Ipv4Addr;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::capability::Capability;
use super::error::{code, open_sub, DecodeError};

pub const BGP_VERSION: u8 = 4;
/// RFC 6793 9: "AS_TRANS ... 23456".
pub const AS_TRANS: u16 = 23456;
/// RFC 5492 4: the optional parameter type of capabilities.
pub const PARAM_CAPABILITIES: u8 = 2;

/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    pub version: u8,
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    /// Optional parameters in wire order; each capabilities parameter keeps its own list so a
    /// peer that packs several capabilities into one parameter re-encodes byte for byte.
    pub params: Vec<Vec<Capability>>,
}

impl Open {
    /// An OPEN with one capability per optional parameter.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, caps: Vec<Capability>) -> Self {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        Open {
            version: BGP_VERSION,
            my_as,
            hold_time,
            bgp_id,
            params: caps.into_iter().map(|c| vec![c]).collect(),
        }
    }

    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.params.iter().flatten()
    }

    /// RFC 6793 4.1: the peer's AS is in the 4-octet AS capability when it is present.
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs { asn } => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    pub(crate) fn decode_body(mut body: &[u8]) -> Result<Self, DecodeError> {
        let short = || DecodeError::truncated(code::OPEN_MESSAGE, 0, "the OPEN fixed fields");
        let version = body.try_get_u8().map_err(|_| short())?;
        // RFC 4271 6.2: "If the version number in the Version field of the received OPEN
        // message is not supported, then the Error Subcode MUST be set to Unsupported Version
        // Number. The Data field is a 2-octet unsigned integer, which indicates the largest,
        // locally-supported version number less than the version the remote BGP peer bid".
        if version != BGP_VERSION {
            return Err(DecodeError::open(
                open_sub::UNSUPPORTED_VERSION_NUMBER,
                u16::from(BGP_VERSION).to_be_bytes().to_vec(),
                format!("BGP version {version}, only 4 is supported"),
            ));
        }
        let my_as = body.try_get_u16().map_err(|_| short())?;
        let hold_time = body.try_get_u16().map_err(|_| short())?;
        let bgp_id = Ipv4Addr::from(body.try_get_u32().map_err(|_| short())?);
        let opt_len = usize::from(body.try_get_u8().map_err(|_| short())?);
        // RFC 4271 6.2 names no subcode for an Optional Parameters Length that disagrees with the
        // message length; like FRR and BIRD we answer OPEN Message Error with subcode 0.
        let mut opts = body.get(..opt_len).ok_or_else(|| {
            DecodeError::open(
                0,
                Vec::new(),
                format!("optional parameters length {opt_len} runs past the message"),
            )
        })?;
        if body.len() != opt_len {
            return Err(DecodeError::open(
                0,
                Vec::new(),
                format!(
                    "{} octets follow the {opt_len} octets of optional parameters",
                    body.len() - opt_len
                ),
            ));
        }
        let mut params = Vec::new();
        while !opts.is_empty() {
            let bad_param = |what: &str| DecodeError::open(0, Vec::new(), what.to_string());
            let ptype = opts
                .try_get_u8()
                .map_err(|_| bad_param("truncated optional parameter"))?;
            let plen = usize::from(
                opts.try_get_u8()
                    .map_err(|_| bad_param("truncated optional parameter"))?,
            );
            let value = opts
                .get(..plen)
                .ok_or_else(|| bad_param("optional parameter runs past its length field"))?;
            opts.advance(plen);
            // RFC 4271 6.2: "If one of the Optional Parameters in the OPEN message is not
            // recognized, then the Error Subcode MUST be set to Unsupported Optional Parameters."
            if ptype != PARAM_CAPABILITIES {
                return Err(DecodeError::open(
                    open_sub::UNSUPPORTED_OPTIONAL_PARAMETER,
                    Vec::new(),
                    format!("optional parameter type {ptype} is not supported"),
                ));
            }
            params.push(decode_capabilities(value)?);
        }
        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_id,
            params,
        })
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u8(self.version);
        buf.put_u16(self.my_as);
        buf.put_u16(self.hold_time);
        buf.put_u32(u32::from(self.bgp_id));
        let len_at = buf.len();
        buf.put_u8(0);
        for caps in &self.params {
            buf.put_u8(PARAM_CAPABILITIES);
            let plen_at = buf.len();
            buf.put_u8(0);
            for cap in caps {
                cap.encode(buf);
            }
            let plen = buf.len() - plen_at - 1;
            if let Some(b) = buf.get_mut(plen_at) {
                *b = u8::try_from(plen).unwrap_or(u8::MAX);
            }
        }
        let len = buf.len() - len_at - 1;
        if let Some(b) = buf.get_mut(len_at) {
            *b = u8::try_from(len).unwrap_or(u8::MAX);
        }
    }
}

fn decode_capabilities(mut value: &[u8]) -> Result<Vec<Capability>, DecodeError> {
    let mut caps = Vec::new();
    while !value.is_empty() {
        let bad = || DecodeError::open(0, Vec::new(), "capability runs past its parameter");
        let code = value.try_get_u8().map_err(|_| bad())?;
        let len = usize::from(value.try_get_u8().map_err(|_| bad())?);
        let v = value.get(..len).ok_or_else(bad)?;
        caps.push(Capability::decode(code, v));
        value.advance(len);
    }
    Ok(caps)
}
