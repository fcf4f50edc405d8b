//! Attribute plumbing shared by every IPVS object: a checked attribute walker, nested lists that
//! remember how their header was flagged, and exact-width value readers.
//!
//! ```text
//!  0               2               4
//! +---------------+---------------+-------------------------------+
//! | nla_len (u16) | nla_type (u16)| value (nla_len - 4 bytes) ... | pad to 4
//! +---------------+---------------+-------------------------------+
//!   nla_type bit 15 = NLA_F_NESTED, bit 14 = NLA_F_NET_BYTEORDER
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Buf;
use netlink_packet_core::{DefaultNla, Emitable, Nla, NLA_F_NESTED, NLA_TYPE_MASK};

use super::WireError;

pub(crate) const NLA_HDRLEN: usize = 4;

pub(crate) fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// One raw attribute as found in a buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawNla<'a> {
    /// The full 16-bit type field, flags included.
    pub raw_kind: u16,
    pub value: &'a [u8],
}

impl<'a> RawNla<'a> {
    /// The type with both flag bits cleared.
    pub fn kind(&self) -> u16 {
        self.raw_kind & NLA_TYPE_MASK
    }

    /// The flag bits, if any.
    pub fn flags(&self) -> u16 {
        self.raw_kind & !NLA_TYPE_MASK
    }

    pub fn nested(&self) -> bool {
        self.raw_kind & NLA_F_NESTED != 0
    }

    /// Kept as is, flags included, so it re-emits byte for byte.
    pub fn to_default(self) -> DefaultNla {
        DefaultNla::new(self.raw_kind, self.value.to_vec())
    }
}

/// Split `buf` into attributes. A length below the header size or past the end of the buffer is
/// an error (the kernel's `nla_ok()` rejects the same); the padding of the last attribute may be
/// missing.
pub(crate) fn walk<'a>(
    mut buf: &'a [u8],
    what: &'static str,
) -> Result<Vec<RawNla<'a>>, WireError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let remaining = buf.len();
        let mut hdr = buf;
        let len = hdr.try_get_u16_ne().map_err(|_| WireError::Truncated {
            what,
            need: NLA_HDRLEN,
            have: remaining,
        })?;
        let raw_kind = hdr.try_get_u16_ne().map_err(|_| WireError::Truncated {
            what,
            need: NLA_HDRLEN,
            have: remaining,
        })?;
        let len = usize::from(len);
        if len < NLA_HDRLEN || len > remaining {
            return Err(WireError::BadNlaLength {
                within: what,
                kind: raw_kind & NLA_TYPE_MASK,
                len,
                remaining,
            });
        }
        let value = buf.get(NLA_HDRLEN..len).ok_or(WireError::BadNlaLength {
            within: what,
            kind: raw_kind & NLA_TYPE_MASK,
            len,
            remaining,
        })?;
        out.push(RawNla { raw_kind, value });
        let step = align4(len).min(remaining);
        buf = buf.get(step..).unwrap_or(&[]);
    }
    Ok(out)
}

/// A nested attribute list. `flagged` records whether the header carried NLA_F_NESTED (the
/// kernel's IPVS code does not set it, libnl may), so a parsed message re-emits unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nested<T> {
    pub attrs: Vec<T>,
    pub flagged: bool,
}

impl<T> Nested<T> {
    /// A list emitted the kernel's way (no NLA_F_NESTED).
    pub fn new(attrs: Vec<T>) -> Nested<T> {
        Nested {
            attrs,
            flagged: false,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.attrs.iter()
    }
}

impl<T: Nla> Nested<T> {
    pub(crate) fn value_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    pub(crate) fn emit_value(&self, buf: &mut [u8]) {
        self.attrs.as_slice().emit(buf)
    }

    pub(crate) fn kind(&self, base: u16) -> u16 {
        if self.flagged {
            base | NLA_F_NESTED
        } else {
            base
        }
    }
}

/// Parse a nested list with `parse` for each member.
pub(crate) fn nested<'a, T>(
    nla: &RawNla<'a>,
    what: &'static str,
    mut parse: impl FnMut(RawNla<'a>) -> Result<T, WireError>,
) -> Result<Nested<T>, WireError> {
    let attrs = walk(nla.value, what)?
        .into_iter()
        .map(&mut parse)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Nested {
        attrs,
        flagged: nla.nested(),
    })
}

fn exact<'a>(value: &'a [u8], attr: &'static str, want: usize) -> Result<&'a [u8], WireError> {
    if value.len() == want {
        Ok(value)
    } else {
        Err(WireError::BadAttrLength {
            attr,
            expected: want,
            got: value.len(),
        })
    }
}

pub(crate) fn get_u8(value: &[u8], attr: &'static str) -> Result<u8, WireError> {
    let mut v = exact(value, attr, 1)?;
    v.try_get_u8().map_err(|_| WireError::BadAttrLength {
        attr,
        expected: 1,
        got: value.len(),
    })
}

pub(crate) fn get_u16(value: &[u8], attr: &'static str) -> Result<u16, WireError> {
    let mut v = exact(value, attr, 2)?;
    v.try_get_u16_ne().map_err(|_| WireError::BadAttrLength {
        attr,
        expected: 2,
        got: value.len(),
    })
}

pub(crate) fn get_be16(value: &[u8], attr: &'static str) -> Result<u16, WireError> {
    let mut v = exact(value, attr, 2)?;
    v.try_get_u16().map_err(|_| WireError::BadAttrLength {
        attr,
        expected: 2,
        got: value.len(),
    })
}

pub(crate) fn get_u32(value: &[u8], attr: &'static str) -> Result<u32, WireError> {
    let mut v = exact(value, attr, 4)?;
    v.try_get_u32_ne().map_err(|_| WireError::BadAttrLength {
        attr,
        expected: 4,
        got: value.len(),
    })
}

pub(crate) fn get_u64(value: &[u8], attr: &'static str) -> Result<u64, WireError> {
    let mut v = exact(value, attr, 8)?;
    v.try_get_u64_ne().map_err(|_| WireError::BadAttrLength {
        attr,
        expected: 8,
        got: value.len(),
    })
}

/// A NUL-terminated string (`NLA_NUL_STRING`). The terminator is required: without it the
/// value would not re-emit byte for byte, and the kernel never sends one without.
pub(crate) fn get_string(value: &[u8], attr: &'static str) -> Result<String, WireError> {
    let Some((0, body)) = value.split_last() else {
        return Err(WireError::BadString {
            attr,
            reason: "no NUL terminator",
        });
    };
    if body.contains(&0) {
        return Err(WireError::BadString {
            attr,
            reason: "NUL inside the string",
        });
    }
    String::from_utf8(body.to_vec()).map_err(|_| WireError::BadString {
        attr,
        reason: "not UTF-8",
    })
}

pub(crate) fn string_len(s: &str) -> usize {
    s.len() + 1
}

pub(crate) fn put_string(buf: &mut [u8], s: &str) {
    let n = s.len();
    if let Some(dst) = buf.get_mut(..n) {
        dst.copy_from_slice(s.as_bytes());
    }
    if let Some(last) = buf.get_mut(n) {
        *last = 0;
    }
}

pub(crate) fn put(buf: &mut [u8], bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// An address attribute: `union nf_inet_addr` (16 bytes) as the kernel and ipvsadm send it, or
/// a bare 4-byte IPv4 address as some other clients do. Which family it holds is decided by the
/// object's AF, so the raw bytes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InetAddr {
    bytes: [u8; 16],
    len: u8,
}

impl InetAddr {
    /// The 16-byte union form of `addr` (IPv4 in the first 4 bytes, rest zero).
    pub fn from_ip(addr: IpAddr) -> InetAddr {
        let mut bytes = [0u8; 16];
        match addr {
            IpAddr::V4(a) => put(&mut bytes, &a.octets()),
            IpAddr::V6(a) => bytes = a.octets(),
        }
        InetAddr { bytes, len: 16 }
    }

    pub(crate) fn parse(value: &[u8], attr: &'static str) -> Result<InetAddr, WireError> {
        let mut bytes = [0u8; 16];
        match value.len() {
            4 | 16 => {
                put(&mut bytes, value);
                Ok(InetAddr {
                    bytes,
                    len: value.len() as u8,
                })
            }
            got => Err(WireError::BadAttrLength {
                attr,
                expected: 16,
                got,
            }),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }

    pub fn v4(&self) -> Ipv4Addr {
        let [a, b, c, d, ..] = self.bytes;
        Ipv4Addr::new(a, b, c, d)
    }

    /// `None` when only 4 bytes were sent.
    pub fn v6(&self) -> Option<Ipv6Addr> {
        (self.len == 16).then(|| Ipv6Addr::from(self.bytes))
    }
}
