//! Path attributes (RFC 4271 4.3 and 5) with the error handling of RFC 7606.

pub mod aspath;
pub mod community;
pub mod mp;

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Serialize};

pub use aspath::{AsPath, Segment};
pub use community::{Community, LargeCommunity};
pub use mp::{MpNextHop, MpReach, MpUnreach};

use super::error::{update_sub, AttrIssue, DecodeError, Handling};
use super::DecodeContext;

pub const FLAG_OPTIONAL: u8 = 0x80;
pub const FLAG_TRANSITIVE: u8 = 0x40;
pub const FLAG_PARTIAL: u8 = 0x20;
pub const FLAG_EXTENDED_LENGTH: u8 = 0x10;

pub const ORIGIN: u8 = 1;
pub const AS_PATH: u8 = 2;
pub const NEXT_HOP: u8 = 3;
pub const MULTI_EXIT_DISC: u8 = 4;
pub const LOCAL_PREF: u8 = 5;
pub const ATOMIC_AGGREGATE: u8 = 6;
pub const AGGREGATOR: u8 = 7;
pub const COMMUNITIES: u8 = 8;
pub const MP_REACH_NLRI: u8 = 14;
pub const MP_UNREACH_NLRI: u8 = 15;
pub const AS4_PATH: u8 = 17;
pub const AS4_AGGREGATOR: u8 = 18;
pub const LARGE_COMMUNITY: u8 = 32;

/// ORIGIN values (RFC 4271 5.1.1).
pub const ORIGIN_IGP: u8 = 0;
pub const ORIGIN_EGP: u8 = 1;
pub const ORIGIN_INCOMPLETE: u8 = 2;

/// One path attribute:
///
/// ```text
///  0                   1
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Attr. Flags  |Attr. Type Code|  then 1 or 2 octets of length
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  (Extended Length bit), then the value
///
///  Attr. Flags: O(ptional) T(ransitive) P(artial) E(xtended length) 0 0 0 0
/// ```
///
/// The flags octet is kept as received so a decoded message re-encodes byte for byte; the
/// Extended Length bit is forced on when a value needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attr {
    pub flags: u8,
    #[serde(flatten)]
    pub value: AttrValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "attr", content = "value")]
pub enum AttrValue {
    Origin(u8),
    AsPath(AsPath),
    NextHop(Ipv4Addr),
    MultiExitDisc(u32),
    LocalPref(u32),
    AtomicAggregate,
    /// AGGREGATOR with a 2- or 4-octet AS, as negotiated.
    Aggregator {
        asn: u32,
        addr: Ipv4Addr,
    },
    Communities(Vec<Community>),
    MpReach(MpReach),
    MpUnreach(MpUnreach),
    As4Path(AsPath),
    As4Aggregator {
        asn: u32,
        addr: Ipv4Addr,
    },
    LargeCommunities(Vec<LargeCommunity>),
    /// An attribute vgw does not interpret (optional ones only; an unrecognized well-known
    /// attribute resets the session).
    Unknown {
        type_code: u8,
        #[serde(with = "super::hex")]
        data: Vec<u8>,
    },
}

impl AttrValue {
    pub fn type_code(&self) -> u8 {
        match self {
            AttrValue::Origin(_) => ORIGIN,
            AttrValue::AsPath(_) => AS_PATH,
            AttrValue::NextHop(_) => NEXT_HOP,
            AttrValue::MultiExitDisc(_) => MULTI_EXIT_DISC,
            AttrValue::LocalPref(_) => LOCAL_PREF,
            AttrValue::AtomicAggregate => ATOMIC_AGGREGATE,
            AttrValue::Aggregator { .. } => AGGREGATOR,
            AttrValue::Communities(_) => COMMUNITIES,
            AttrValue::MpReach(_) => MP_REACH_NLRI,
            AttrValue::MpUnreach(_) => MP_UNREACH_NLRI,
            AttrValue::As4Path(_) => AS4_PATH,
            AttrValue::As4Aggregator { .. } => AS4_AGGREGATOR,
            AttrValue::LargeCommunities(_) => LARGE_COMMUNITY,
            AttrValue::Unknown { type_code, .. } => *type_code,
        }
    }

    /// The Optional and Transitive bits the defining RFC gives the attribute.
    pub fn standard_flags(&self) -> u8 {
        standard_flags(self.type_code()).unwrap_or(FLAG_OPTIONAL)
    }
}

/// Optional/Transitive bits of the attributes vgw knows (RFC 4271 5, RFC 1997, RFC 4760,
/// RFC 6793, RFC 8092).
pub fn standard_flags(type_code: u8) -> Option<u8> {
    Some(match type_code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => FLAG_TRANSITIVE,
        MULTI_EXIT_DISC | MP_REACH_NLRI | MP_UNREACH_NLRI => FLAG_OPTIONAL,
        AGGREGATOR | COMMUNITIES | AS4_PATH | AS4_AGGREGATOR | LARGE_COMMUNITY => {
            FLAG_OPTIONAL | FLAG_TRANSITIVE
        }
        _ => return None,
    })
}

impl Attr {
    /// An attribute with the flags its RFC defines.
    pub fn new(value: AttrValue) -> Self {
        Attr {
            flags: value.standard_flags(),
            value,
        }
    }

    pub fn type_code(&self) -> u8 {
        self.value.type_code()
    }

    /// RFC 4271 5: "If an optional transitive attribute is unrecognized, the Partial bit in the
    /// attribute flags octet is set to 1, and the attribute is retained for propagation to other
    /// BGP speakers." Unrecognized optional non-transitive attributes are dropped (`None`).
    pub fn for_propagation(&self) -> Option<Attr> {
        match &self.value {
            AttrValue::Unknown { .. } if self.flags & FLAG_TRANSITIVE == 0 => None,
            AttrValue::Unknown { .. } => Some(Attr {
                flags: self.flags | FLAG_PARTIAL,
                value: self.value.clone(),
            }),
            _ => Some(self.clone()),
        }
    }

    pub fn encode(&self, buf: &mut BytesMut, ctx: &DecodeContext) {
        let mut value = BytesMut::new();
        match &self.value {
            AttrValue::Origin(o) => value.put_u8(*o),
            AttrValue::AsPath(p) => p.encode(&mut value, ctx.four_octet_as),
            AttrValue::NextHop(a) => value.put_slice(&a.octets()),
            AttrValue::MultiExitDisc(v) | AttrValue::LocalPref(v) => value.put_u32(*v),
            AttrValue::AtomicAggregate => {}
            AttrValue::Aggregator { asn, addr } => {
                if ctx.four_octet_as {
                    value.put_u32(*asn);
                } else {
                    value.put_u16(u16::try_from(*asn).unwrap_or(super::open::AS_TRANS));
                }
                value.put_slice(&addr.octets());
            }
            AttrValue::As4Aggregator { asn, addr } => {
                value.put_u32(*asn);
                value.put_slice(&addr.octets());
            }
            AttrValue::Communities(cs) => cs.iter().for_each(|c| value.put_u32(c.0)),
            AttrValue::LargeCommunities(cs) => cs.iter().for_each(|c| c.encode(&mut value)),
            AttrValue::MpReach(m) => m.encode(&mut value),
            AttrValue::MpUnreach(m) => m.encode(&mut value),
            AttrValue::As4Path(p) => p.encode(&mut value, true),
            AttrValue::Unknown { data, .. } => value.put_slice(data),
        }
        let extended = self.flags & FLAG_EXTENDED_LENGTH != 0 || value.len() > 255;
        let flags = if extended {
            self.flags | FLAG_EXTENDED_LENGTH
        } else {
            self.flags
        };
        buf.put_u8(flags);
        buf.put_u8(self.type_code());
        if extended {
            buf.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
        } else {
            buf.put_u8(value.len() as u8);
        }
        buf.put_slice(&value);
    }
}

/// What to do with one attribute as received.
#[derive(Debug)]
pub(crate) enum Verdict {
    Keep(Attr),
    Issue(AttrIssue),
    /// The attribute is malformed but the NLRI it carries are known: keep it (so the NLRI can be
    /// withdrawn) and handle the UPDATE as treat-as-withdraw.
    KeepAndWithdraw(Attr, AttrIssue),
    Reset(DecodeError),
}

/// The whole attribute as on the wire (flags, type, length, value): the Data of most UPDATE
/// Message Error NOTIFICATIONs.
pub(crate) fn raw_attr(flags: u8, type_code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, type_code];
    if flags & FLAG_EXTENDED_LENGTH != 0 {
        v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        v.push(value.len() as u8);
    }
    v.extend_from_slice(value);
    v
}

fn issue(type_code: u8, handling: Handling, reason: String) -> Verdict {
    Verdict::Issue(AttrIssue {
        type_code,
        handling,
        reason,
    })
}

/// Decodes one attribute's value and applies RFC 7606.
pub(crate) fn decode_attr(flags: u8, type_code: u8, v: &[u8], ctx: &DecodeContext) -> Verdict {
    use Handling::{AttributeDiscard as Discard, TreatAsWithdraw as Withdraw};
    let keep = |value| Verdict::Keep(Attr { flags, value });

    let Some(expected) = standard_flags(type_code) else {
        // RFC 4271 6.3: "If any of the well-known mandatory attributes are not recognized, then
        // the Error Subcode MUST be set to Unrecognized Well-known Attribute. The Data field
        // MUST contain the unrecognized attribute (type, length, and value)."
        if flags & FLAG_OPTIONAL == 0 {
            return Verdict::Reset(DecodeError::update(
                update_sub::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                raw_attr(flags, type_code, v),
                format!("unrecognized well-known attribute type {type_code}"),
            ));
        }
        // RFC 4271 5: unrecognized optional attributes are accepted (and passed on, with the
        // Partial bit, when transitive).
        return keep(AttrValue::Unknown {
            type_code,
            data: v.to_vec(),
        });
    };

    // RFC 7606 3(c): "If the value of either the Optional or Transitive bits in the Attribute
    // Flags is in conflict with their specified values, then the attribute MUST be treated as
    // malformed and the 'treat-as-withdraw' approach used, unless the specification for the
    // attribute mandates different handling for incorrect Attribute Flags."
    if flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE) != expected {
        let reason = format!("flags 0x{flags:02x} conflict with type {type_code}");
        return match type_code {
            // RFC 7606 7.11 leaves no safe reading of an MP attribute: the NLRI it would
            // withdraw cannot be trusted, so the session is reset (Attribute Flags Error).
            MP_REACH_NLRI | MP_UNREACH_NLRI => Verdict::Reset(DecodeError::update(
                update_sub::ATTRIBUTE_FLAGS_ERROR,
                raw_attr(flags, type_code, v),
                reason,
            )),
            // RFC 7606 7.6, 7.7, RFC 6793 6: these are discarded when malformed.
            ATOMIC_AGGREGATE | AGGREGATOR | AS4_PATH | AS4_AGGREGATOR => {
                issue(type_code, Discard, reason)
            }
            _ => issue(type_code, Withdraw, reason),
        };
    }

    let as_len = if ctx.four_octet_as { 4 } else { 2 };
    match type_code {
        ORIGIN => match v {
            // RFC 7606 7.1: "The attribute is considered malformed if its length is not 1 or if
            // it has an undefined value. An UPDATE message with a malformed ORIGIN attribute
            // SHALL be handled using the approach of 'treat-as-withdraw'."
            [o] if *o <= ORIGIN_INCOMPLETE => keep(AttrValue::Origin(*o)),
            _ => issue(
                ORIGIN,
                Withdraw,
                format!("ORIGIN value {v:02x?} is not 0, 1 or 2"),
            ),
        },
        AS_PATH => match AsPath::decode(v, as_len) {
            // RFC 7606 7.2: malformed AS_PATH (and, from an external peer, a confederation
            // segment) is handled as "treat-as-withdraw".
            Ok(p) if !ctx.ibgp && p.has_confed() => issue(
                AS_PATH,
                Withdraw,
                "AS_CONFED segment from an external peer".into(),
            ),
            Ok(p) => keep(AttrValue::AsPath(p)),
            Err(e) => issue(AS_PATH, Withdraw, format!("malformed AS_PATH: {e}")),
        },
        NEXT_HOP => match v {
            [a, b, c, d] => {
                let nh = Ipv4Addr::new(*a, *b, *c, *d);
                // RFC 4271 6.3: "If the NEXT_HOP attribute field is syntactically incorrect, then
                // ... Invalid NEXT_HOP Attribute ... syntactic correctness means that the
                // NEXT_HOP attribute represents a valid IP host address." RFC 7606 7.3 turns
                // that into "treat-as-withdraw".
                if nh.is_unspecified() || nh.is_broadcast() || nh.is_multicast() {
                    issue(
                        NEXT_HOP,
                        Withdraw,
                        format!("NEXT_HOP {nh} is not a host address"),
                    )
                } else {
                    keep(AttrValue::NextHop(nh))
                }
            }
            // RFC 7606 7.3: "The attribute is considered malformed if its length is not 4".
            _ => issue(
                NEXT_HOP,
                Withdraw,
                format!("NEXT_HOP length {} is not 4", v.len()),
            ),
        },
        // RFC 7606 7.4: "The attribute is considered malformed if its length is not 4 ...
        // 'treat-as-withdraw'".
        MULTI_EXIT_DISC => match u32_of(v) {
            Some(m) => keep(AttrValue::MultiExitDisc(m)),
            None => issue(
                type_code,
                Withdraw,
                format!("MED length {} is not 4", v.len()),
            ),
        },
        // RFC 7606 7.5: malformed LOCAL_PREF from an internal peer: "treat-as-withdraw"; "If
        // the LOCAL_PREF attribute is received from an external neighbor, it SHALL be
        // discarded".
        LOCAL_PREF => match (u32_of(v), ctx.ibgp) {
            (_, false) => issue(
                LOCAL_PREF,
                Discard,
                "LOCAL_PREF from an external peer".into(),
            ),
            (Some(p), true) => keep(AttrValue::LocalPref(p)),
            (None, true) => issue(
                LOCAL_PREF,
                Withdraw,
                format!("LOCAL_PREF length {} is not 4", v.len()),
            ),
        },
        // RFC 7606 7.6: "If the ATOMIC_AGGREGATE attribute has a length other than 0, it is
        // considered malformed ... 'attribute discard'".
        ATOMIC_AGGREGATE if v.is_empty() => keep(AttrValue::AtomicAggregate),
        ATOMIC_AGGREGATE => issue(
            type_code,
            Discard,
            "ATOMIC_AGGREGATE length is not 0".into(),
        ),
        // RFC 7606 7.7: "The error handling of [RFC4271] is revised to specify that the
        // attribute is discarded if its length is not 6 (or 8 with 4-octet ASes)".
        AGGREGATOR => match aggregator(v, as_len) {
            Some((asn, addr)) => keep(AttrValue::Aggregator { asn, addr }),
            None => issue(type_code, Discard, format!("AGGREGATOR length {}", v.len())),
        },
        AS4_AGGREGATOR => match aggregator(v, 4) {
            Some((asn, addr)) => keep(AttrValue::As4Aggregator { asn, addr }),
            None => issue(
                type_code,
                Discard,
                format!("AS4_AGGREGATOR length {}", v.len()),
            ),
        },
        // RFC 7606 7.8: "The error handling of [RFC1997] is revised as follows: The COMMUNITIES
        // attribute SHALL be considered malformed if its length is not a non-zero multiple of 4.
        // An UPDATE message with a malformed COMMUNITIES attribute SHALL be handled using the
        // approach of 'treat-as-withdraw'."
        COMMUNITIES if !v.is_empty() && v.len().is_multiple_of(4) => keep(AttrValue::Communities(
            v.chunks_exact(4)
                .filter_map(u32_of)
                .map(Community)
                .collect(),
        )),
        COMMUNITIES => issue(
            type_code,
            Withdraw,
            format!("COMMUNITIES length {}", v.len()),
        ),
        // RFC 8092 6: "a LARGE_COMMUNITY attribute ... SHALL be considered malformed if the
        // length ... is not a non-zero multiple of 12 ... 'treat-as-withdraw'".
        LARGE_COMMUNITY if !v.is_empty() && v.len().is_multiple_of(12) => {
            keep(AttrValue::LargeCommunities(
                v.chunks_exact(12)
                    .filter_map(LargeCommunity::decode)
                    .collect(),
            ))
        }
        LARGE_COMMUNITY => issue(
            type_code,
            Withdraw,
            format!("LARGE_COMMUNITY length {}", v.len()),
        ),
        // RFC 6793 6: a malformed AS4_PATH "MUST be ... discarded"; RFC 6793 4.1 also says an
        // AS4_PATH received from a 4-octet speaker "MUST be discarded".
        AS4_PATH if ctx.four_octet_as => issue(
            type_code,
            Discard,
            "AS4_PATH from a 4-octet AS speaker".into(),
        ),
        AS4_PATH => match AsPath::decode(v, 4) {
            Ok(p) if !p.has_confed() => keep(AttrValue::As4Path(p)),
            Ok(_) => issue(
                type_code,
                Discard,
                "AS4_PATH carries confederation segments".into(),
            ),
            Err(e) => issue(type_code, Discard, format!("malformed AS4_PATH: {e}")),
        },
        MP_REACH_NLRI => match MpReach::decode(v) {
            Ok(m) => keep(AttrValue::MpReach(m)),
            Err(mp::MpError::Withdraw(reason, m)) => Verdict::KeepAndWithdraw(
                Attr {
                    flags,
                    value: AttrValue::MpReach(m),
                },
                AttrIssue {
                    type_code,
                    handling: Withdraw,
                    reason,
                },
            ),
            // RFC 4760 7: "The session SHOULD be terminated with the NOTIFICATION message
            // code/subcode indicating 'UPDATE Message Error'/'Optional Attribute Error'".
            Err(mp::MpError::Reset(reason)) => Verdict::Reset(DecodeError::update(
                update_sub::OPTIONAL_ATTRIBUTE_ERROR,
                raw_attr(flags, type_code, v),
                format!("malformed MP_REACH_NLRI: {reason}"),
            )),
        },
        MP_UNREACH_NLRI => match MpUnreach::decode(v) {
            Ok(m) => keep(AttrValue::MpUnreach(m)),
            Err(reason) => Verdict::Reset(DecodeError::update(
                update_sub::OPTIONAL_ATTRIBUTE_ERROR,
                raw_attr(flags, type_code, v),
                format!("malformed MP_UNREACH_NLRI: {reason}"),
            )),
        },
        _ => keep(AttrValue::Unknown {
            type_code,
            data: v.to_vec(),
        }),
    }
}

fn u32_of(v: &[u8]) -> Option<u32> {
    let b: [u8; 4] = v.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn aggregator(v: &[u8], as_len: usize) -> Option<(u32, Ipv4Addr)> {
    if v.len() != as_len + 4 {
        return None;
    }
    let (a, addr) = v.split_at(as_len);
    let asn = if as_len == 2 {
        u32::from(u16::from_be_bytes([a[0], a[1]]))
    } else {
        u32_of(a)?
    };
    Some((asn, Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3])))
}
