//! Link-state advertisements (RFC 2328 A.4): the common header and the bodies of router,
//! network, summary (types 3 and 4) and AS-external LSAs. Other types (opaque, RFC 5250) are
//! kept as bytes and flooded unchanged.

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::checksum::{lsa_checksum, lsa_checksum_ok};
use super::error::DecodeError;

/// RFC 2328 appendix B architectural constants (seconds unless noted).
pub const MAX_AGE: u16 = 3600;
pub const LS_REFRESH_TIME: u16 = 1800;
pub const MAX_AGE_DIFF: u16 = 900;
pub const MIN_LS_INTERVAL_MS: u64 = 5000;
pub const MIN_LS_ARRIVAL_MS: u64 = 1000;
pub const CHECK_AGE: u16 = 300;
pub const INITIAL_SEQ: u32 = 0x8000_0001;
pub const MAX_SEQ: u32 = 0x7fff_ffff;
/// Largest metric a router link can carry (RFC 6987 MaxLinkMetric).
pub const MAX_LINK_METRIC: u16 = 0xffff;
/// LSInfinity for 24-bit metrics (RFC 2328 appendix B).
pub const LS_INFINITY: u32 = 0x00ff_ffff;

pub const LSA_HEADER_LEN: usize = 20;

pub const TYPE_ROUTER: u8 = 1;
pub const TYPE_NETWORK: u8 = 2;
pub const TYPE_SUMMARY_NET: u8 = 3;
pub const TYPE_SUMMARY_ASBR: u8 = 4;
pub const TYPE_AS_EXTERNAL: u8 = 5;
pub const TYPE_OPAQUE_LINK: u8 = 9;
pub const TYPE_OPAQUE_AREA: u8 = 10;
pub const TYPE_OPAQUE_AS: u8 = 11;

/// Options field bits (RFC 2328 A.2).
pub const OPT_E: u8 = 0x02;
pub const OPT_O: u8 = 0x40;

/// The LS types this router stores and floods. RFC 2328 13 (2): "If the LS type is unknown,
/// discard the LSA"; opaque types are kept per RFC 5250.
pub fn ls_type_known(t: u8) -> bool {
    matches!(
        t,
        TYPE_ROUTER
            | TYPE_NETWORK
            | TYPE_SUMMARY_NET
            | TYPE_SUMMARY_ASBR
            | TYPE_AS_EXTERNAL
            | TYPE_OPAQUE_LINK
            | TYPE_OPAQUE_AREA
            | TYPE_OPAQUE_AS
    )
}

/// Identifies an LSA in the database (RFC 2328 12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LsaKey {
    pub ls_type: u8,
    pub ls_id: Ipv4Addr,
    pub adv_rtr: Ipv4Addr,
}

impl std::fmt::Display for LsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "type {} id {} adv {}",
            self.ls_type, self.ls_id, self.adv_rtr
        )
    }
}

/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            LS age             |    Options    |    LS type    |
/// |                        Link State ID                          |
/// |                     Advertising Router                        |
/// |                     LS sequence number                        |
/// |         LS checksum           |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsaHeader {
    pub age: u16,
    pub options: u8,
    pub ls_type: u8,
    pub ls_id: Ipv4Addr,
    pub adv_rtr: Ipv4Addr,
    pub seq: u32,
    pub checksum: u16,
    pub length: u16,
}

impl LsaHeader {
    pub fn key(&self) -> LsaKey {
        LsaKey {
            ls_type: self.ls_type,
            ls_id: self.ls_id,
            adv_rtr: self.adv_rtr,
        }
    }

    pub fn decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let have = buf.len();
        let trunc = || DecodeError::Truncated {
            what: "LSA header",
            need: LSA_HEADER_LEN,
            have,
        };
        Ok(LsaHeader {
            age: buf.try_get_u16().map_err(|_| trunc())?,
            options: buf.try_get_u8().map_err(|_| trunc())?,
            ls_type: buf.try_get_u8().map_err(|_| trunc())?,
            ls_id: Ipv4Addr::from(buf.try_get_u32().map_err(|_| trunc())?),
            adv_rtr: Ipv4Addr::from(buf.try_get_u32().map_err(|_| trunc())?),
            seq: buf.try_get_u32().map_err(|_| trunc())?,
            checksum: buf.try_get_u16().map_err(|_| trunc())?,
            length: buf.try_get_u16().map_err(|_| trunc())?,
        })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u16(self.age);
        buf.put_u8(self.options);
        buf.put_u8(self.ls_type);
        buf.put_u32(self.ls_id.into());
        buf.put_u32(self.adv_rtr.into());
        buf.put_u32(self.seq);
        buf.put_u16(self.checksum);
        buf.put_u16(self.length);
    }

    /// RFC 2328 13.1: which of two instances of the same LSA is more recent. `Greater` means
    /// `self` is newer. Ages are the current ages of both instances.
    pub fn compare(&self, other: &LsaHeader) -> Ordering {
        // "The LSA having the newer LS sequence number is more recent" (signed comparison).
        let (a, b) = (self.seq as i32, other.seq as i32);
        if a != b {
            return a.cmp(&b);
        }
        // "If the two instances have different LS checksums, then the instance having the
        // larger LS checksum is considered more recent."
        if self.checksum != other.checksum {
            return self.checksum.cmp(&other.checksum);
        }
        // "If only one of the instances has its LS age field set to MaxAge, the instance of age
        // MaxAge is considered to be more recent."
        let (sa, oa) = (self.age.min(MAX_AGE), other.age.min(MAX_AGE));
        match (sa == MAX_AGE, oa == MAX_AGE) {
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        // "If the LS age fields of the two instances differ by more than MaxAgeDiff, the
        // instance having the smaller (younger) LS age is considered more recent."
        if sa.abs_diff(oa) > MAX_AGE_DIFF {
            return oa.cmp(&sa);
        }
        Ordering::Equal
    }
}

/// A link in a router-LSA (RFC 2328 A.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterLink {
    pub link_id: Ipv4Addr,
    pub link_data: Ipv4Addr,
    /// 1 point-to-point, 2 transit, 3 stub, 4 virtual link.
    pub link_type: u8,
    pub metric: u16,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tos: Vec<(u8, u16)>,
}

pub const LINK_P2P: u8 = 1;
pub const LINK_TRANSIT: u8 = 2;
pub const LINK_STUB: u8 = 3;

/// Router-LSA flags (RFC 2328 A.4.2).
pub const ROUTER_FLAG_B: u8 = 0x01;
pub const ROUTER_FLAG_E: u8 = 0x02;

/// ```text
/// |    0    |V|E|B|        0      |            # links            |
/// |                          Link ID                              |
/// |                         Link Data                             |
/// |     Type      |     # TOS     |            metric             |
/// |      TOS      |        0      |          TOS  metric          |  (# TOS times)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterLsa {
    pub flags: u8,
    pub links: Vec<RouterLink>,
}

/// ```text
/// |                         Network Mask                          |
/// |                        Attached Router                        |  (repeated)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkLsa {
    pub mask: Ipv4Addr,
    pub routers: Vec<Ipv4Addr>,
}

/// Types 3 and 4 (RFC 2328 A.4.4).
/// ```text
/// |                         Network Mask                          |
/// |      0        |                  metric                       |
/// |     TOS       |                TOS  metric                    |  (repeated)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryLsa {
    pub mask: Ipv4Addr,
    pub metric: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tos: Vec<(u8, u32)>,
}

/// One metric block of an AS-external LSA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalMetric {
    pub tos: u8,
    /// E bit: a type 2 external metric.
    pub e2: bool,
    pub metric: u32,
    pub forwarding: Ipv4Addr,
    pub tag: u32,
}

/// Type 5 (RFC 2328 A.4.5).
/// ```text
/// |                         Network Mask                          |
/// |E|     0       |                  metric                       |
/// |                      Forwarding address                       |
/// |                      External Route Tag                       |
/// |E|    TOS      |                TOS  metric                    |  (repeated with the
/// |                      Forwarding address                       |   two fields below)
/// |                      External Route Tag                       |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalLsa {
    pub mask: Ipv4Addr,
    /// The TOS 0 entry first, then any others, as on the wire.
    pub metrics: Vec<ExternalMetric>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LsaBody {
    Router(RouterLsa),
    Network(NetworkLsa),
    Summary(SummaryLsa),
    AsExternal(ExternalLsa),
    /// Any other type, kept verbatim.
    Other(Vec<u8>),
}

/// A whole LSA. `header.length` and `header.checksum` always describe `body` as encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lsa {
    pub header: LsaHeader,
    pub body: LsaBody,
}

fn ip(buf: &mut &[u8], what: &'static str) -> Result<Ipv4Addr, DecodeError> {
    let have = buf.len();
    buf.try_get_u32()
        .map(Ipv4Addr::from)
        .map_err(|_| DecodeError::Truncated {
            what,
            need: 4,
            have,
        })
}

fn u32_of(buf: &mut &[u8], what: &'static str) -> Result<u32, DecodeError> {
    let have = buf.len();
    buf.try_get_u32().map_err(|_| DecodeError::Truncated {
        what,
        need: 4,
        have,
    })
}

impl LsaBody {
    fn decode(ls_type: u8, mut buf: &[u8]) -> Result<Self, DecodeError> {
        let body = match ls_type {
            TYPE_ROUTER => {
                let head = u32_of(&mut buf, "router-LSA flags")?;
                let flags = (head >> 24) as u8;
                let declared = (head & 0xffff) as u16;
                let mut links = Vec::new();
                while !buf.is_empty() {
                    let link_id = ip(&mut buf, "router link id")?;
                    let link_data = ip(&mut buf, "router link data")?;
                    let w = u32_of(&mut buf, "router link metric")?;
                    let ntos = ((w >> 16) & 0xff) as usize;
                    let mut tos = Vec::with_capacity(ntos.min(16));
                    for _ in 0..ntos {
                        let t = u32_of(&mut buf, "router link TOS")?;
                        tos.push(((t >> 24) as u8, (t & 0xffff) as u16));
                    }
                    links.push(RouterLink {
                        link_id,
                        link_data,
                        link_type: (w >> 24) as u8,
                        metric: (w & 0xffff) as u16,
                        tos,
                    });
                }
                // A.4.2: "# links: The number of router links described in this LSA."
                if links.len() != usize::from(declared) {
                    return Err(DecodeError::BadRouterLinks {
                        declared,
                        len: links.len(),
                    });
                }
                LsaBody::Router(RouterLsa { flags, links })
            }
            TYPE_NETWORK => {
                let mask = ip(&mut buf, "network-LSA mask")?;
                let mut routers = Vec::new();
                while !buf.is_empty() {
                    routers.push(ip(&mut buf, "network-LSA attached router")?);
                }
                LsaBody::Network(NetworkLsa { mask, routers })
            }
            TYPE_SUMMARY_NET | TYPE_SUMMARY_ASBR => {
                let mask = ip(&mut buf, "summary-LSA mask")?;
                let metric = u32_of(&mut buf, "summary-LSA metric")? & LS_INFINITY;
                let mut tos = Vec::new();
                while !buf.is_empty() {
                    let t = u32_of(&mut buf, "summary-LSA TOS")?;
                    tos.push(((t >> 24) as u8, t & LS_INFINITY));
                }
                LsaBody::Summary(SummaryLsa { mask, metric, tos })
            }
            TYPE_AS_EXTERNAL => {
                let mask = ip(&mut buf, "AS-external mask")?;
                let mut metrics = Vec::new();
                loop {
                    let w = u32_of(&mut buf, "AS-external metric")?;
                    let forwarding = ip(&mut buf, "AS-external forwarding address")?;
                    let tag = u32_of(&mut buf, "AS-external route tag")?;
                    metrics.push(ExternalMetric {
                        tos: ((w >> 24) & 0x7f) as u8,
                        e2: w & 0x8000_0000 != 0,
                        metric: w & LS_INFINITY,
                        forwarding,
                        tag,
                    });
                    if buf.is_empty() {
                        break;
                    }
                }
                LsaBody::AsExternal(ExternalLsa { mask, metrics })
            }
            _ => LsaBody::Other(buf.to_vec()),
        };
        Ok(body)
    }

    fn encode(&self, buf: &mut BytesMut) {
        match self {
            LsaBody::Router(r) => {
                buf.put_u8(r.flags);
                buf.put_u8(0);
                buf.put_u16(r.links.len() as u16);
                for l in &r.links {
                    buf.put_u32(l.link_id.into());
                    buf.put_u32(l.link_data.into());
                    buf.put_u8(l.link_type);
                    buf.put_u8(l.tos.len() as u8);
                    buf.put_u16(l.metric);
                    for (t, m) in &l.tos {
                        buf.put_u8(*t);
                        buf.put_u8(0);
                        buf.put_u16(*m);
                    }
                }
            }
            LsaBody::Network(n) => {
                buf.put_u32(n.mask.into());
                for r in &n.routers {
                    buf.put_u32((*r).into());
                }
            }
            LsaBody::Summary(s) => {
                buf.put_u32(s.mask.into());
                buf.put_u32(s.metric & LS_INFINITY);
                for (t, m) in &s.tos {
                    buf.put_u32((u32::from(*t) << 24) | (m & LS_INFINITY));
                }
            }
            LsaBody::AsExternal(e) => {
                buf.put_u32(e.mask.into());
                for m in &e.metrics {
                    let e_bit = if m.e2 { 0x8000_0000 } else { 0 };
                    buf.put_u32(e_bit | (u32::from(m.tos & 0x7f) << 24) | (m.metric & LS_INFINITY));
                    buf.put_u32(m.forwarding.into());
                    buf.put_u32(m.tag);
                }
            }
            LsaBody::Other(b) => buf.put_slice(b),
        }
    }
}

impl Lsa {
    /// Builds an LSA, filling in its length and checksum.
    pub fn new(mut header: LsaHeader, body: LsaBody) -> Self {
        header.length = 0;
        header.checksum = 0;
        let mut lsa = Lsa { header, body };
        let bytes = lsa.encode_raw();
        lsa.header.length = bytes.len() as u16;
        lsa.header.checksum = lsa_checksum(&bytes);
        lsa
    }

    fn encode_raw(&self) -> BytesMut {
        let mut buf = BytesMut::with_capacity(64);
        self.header.encode(&mut buf);
        self.body.encode(&mut buf);
        let len = buf.len() as u16;
        if let Some(l) = buf.get_mut(18..20) {
            l.copy_from_slice(&len.to_be_bytes());
        }
        buf
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(&self.encode_raw());
    }

    pub fn key(&self) -> LsaKey {
        self.header.key()
    }

    /// Decodes one LSA from the front of `buf`, advancing it.
    pub fn decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let whole: &[u8] = buf;
        let header = LsaHeader::decode(buf)?;
        let len = usize::from(header.length);
        // A.4.1: "length: The length in bytes of the LSA. This includes the 20 byte LSA header."
        if len < LSA_HEADER_LEN || len % 4 != 0 {
            return Err(DecodeError::BadLsaLength { len: header.length });
        }
        let Some(raw) = whole.get(..len) else {
            return Err(DecodeError::Truncated {
                what: "LSA",
                need: len,
                have: whole.len(),
            });
        };
        // RFC 2328 13 (1): "Validate the LSA's LS checksum. If the checksum turns out to be
        // invalid, discard the LSA and get the next one from the Link State Update packet."
        if !lsa_checksum_ok(raw) {
            return Err(DecodeError::BadLsaChecksum {
                ls_type: header.ls_type,
                ls_id: header.ls_id,
                adv_rtr: header.adv_rtr,
            });
        }
        let body_bytes = raw.get(LSA_HEADER_LEN..).unwrap_or_default();
        let body = LsaBody::decode(header.ls_type, body_bytes)?;
        *buf = whole.get(len..).unwrap_or_default();
        Ok(Lsa { header, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(seq: u32, checksum: u16, age: u16) -> LsaHeader {
        LsaHeader {
            age,
            options: OPT_E,
            ls_type: 1,
            ls_id: Ipv4Addr::new(1, 1, 1, 1),
            adv_rtr: Ipv4Addr::new(1, 1, 1, 1),
            seq,
            checksum,
            length: 20,
        }
    }

    #[test]
    fn newer_by_signed_sequence() {
        assert_eq!(
            hdr(INITIAL_SEQ + 1, 0, 0).compare(&hdr(INITIAL_SEQ, 0, 0)),
            Ordering::Greater
        );
        assert_eq!(
            hdr(1, 0, 0).compare(&hdr(INITIAL_SEQ, 0, 0)),
            Ordering::Greater
        );
        assert_eq!(hdr(5, 2, 0).compare(&hdr(5, 3, 0)), Ordering::Less);
        assert_eq!(
            hdr(5, 2, MAX_AGE).compare(&hdr(5, 2, 10)),
            Ordering::Greater
        );
        assert_eq!(hdr(5, 2, 10).compare(&hdr(5, 2, 1000)), Ordering::Greater);
        assert_eq!(hdr(5, 2, 10).compare(&hdr(5, 2, 900)), Ordering::Equal);
    }

    #[test]
    fn external_round_trip() {
        let lsa = Lsa::new(
            LsaHeader {
                ls_type: TYPE_AS_EXTERNAL,
                ..hdr(INITIAL_SEQ, 0, 1)
            },
            LsaBody::AsExternal(ExternalLsa {
                mask: Ipv4Addr::new(255, 255, 255, 255),
                metrics: vec![ExternalMetric {
                    tos: 0,
                    e2: true,
                    metric: 20,
                    forwarding: Ipv4Addr::UNSPECIFIED,
                    tag: 7,
                }],
            }),
        );
        let mut b = BytesMut::new();
        lsa.encode(&mut b);
        assert_eq!(b.len(), 36);
        let mut s: &[u8] = &b;
        assert_eq!(Lsa::decode(&mut s), Ok(lsa));
        assert!(s.is_empty());
    }
}
