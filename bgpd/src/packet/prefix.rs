//! IP prefixes and their NLRI encoding (RFC 4271 4.3, RFC 4760 5).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Address family identifiers (RFC 4760, IANA).
pub const AFI_IPV4: u16 = 1;
pub const AFI_IPV6: u16 = 2;
pub const SAFI_UNICAST: u8 = 1;

/// An AFI/SAFI pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Family {
    pub afi: u16,
    pub safi: u8,
}

impl Family {
    pub const IPV4_UNICAST: Family = Family {
        afi: AFI_IPV4,
        safi: SAFI_UNICAST,
    };
    pub const IPV6_UNICAST: Family = Family {
        afi: AFI_IPV6,
        safi: SAFI_UNICAST,
    };
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Family::IPV4_UNICAST => f.write_str("ipv4-unicast"),
            Family::IPV6_UNICAST => f.write_str("ipv6-unicast"),
            Family { afi, safi } => write!(f, "afi{afi}-safi{safi}"),
        }
    }
}

/// An IPv4 or IPv6 prefix with the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::len_without_is_empty)] // `len` is the prefix length, not a size
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("prefix length {len} is longer than {max} for {addr}")]
    TooLong { addr: IpAddr, len: u8, max: u8 },
    #[error("\"{0}\" is not a prefix (expected ADDRESS/LENGTH, e.g. 192.0.2.10/32)")]
    Syntax(String),
}

impl Prefix {
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        let max = max_len(&addr);
        if len > max {
            return Err(PrefixError::TooLong { addr, len, max });
        }
        Ok(Prefix {
            addr: mask(addr, len),
            len,
        })
    }

    /// A host route: /32 for IPv4, /128 for IPv6 (a VIP).
    pub fn host(addr: IpAddr) -> Self {
        Prefix {
            len: max_len(&addr),
            addr,
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn len(&self) -> u8 {
        self.len
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    pub fn family(&self) -> Family {
        if self.is_ipv4() {
            Family::IPV4_UNICAST
        } else {
            Family::IPV6_UNICAST
        }
    }

    /// Octets this prefix takes in an NLRI field.
    pub fn wire_len(&self) -> usize {
        1 + usize::from(self.len).div_ceil(8)
    }

    /// ```text
    /// +---------------------------+
    /// |   Length (1 octet)        |
    /// +---------------------------+
    /// |   Prefix (variable)       |
    /// +---------------------------+
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(self.len);
        let n = usize::from(self.len).div_ceil(8);
        match self.addr {
            IpAddr::V4(a) => buf.put_slice(&a.octets()[..n]),
            IpAddr::V6(a) => buf.put_slice(&a.octets()[..n]),
        }
    }

    /// Decodes one prefix of `afi` from the front of `buf`; `None` when it is malformed
    /// (length beyond the address size, or the octets run past the field).
    pub fn decode(buf: &mut &[u8], afi: u16) -> Option<Prefix> {
        let len = buf.try_get_u8().ok()?;
        let n = usize::from(len).div_ceil(8);
        let bytes = buf.get(..n)?;
        let addr = match afi {
            AFI_IPV4 => {
                if len > 32 {
                    return None;
                }
                let mut o = [0u8; 4];
                o[..n].copy_from_slice(bytes);
                IpAddr::V4(Ipv4Addr::from(o))
            }
            AFI_IPV6 => {
                if len > 128 {
                    return None;
                }
                let mut o = [0u8; 16];
                o[..n].copy_from_slice(bytes);
                IpAddr::V6(Ipv6Addr::from(o))
            }
            _ => return None,
        };
        buf.advance(n);
        Some(Prefix {
            addr: mask(addr, len),
            len,
        })
    }

    /// Decodes a whole NLRI field; `None` when any prefix in it is malformed.
    pub fn decode_all(mut buf: &[u8], afi: u16) -> Option<Vec<Prefix>> {
        let mut out = Vec::new();
        while !buf.is_empty() {
            out.push(Prefix::decode(&mut buf, afi)?);
        }
        Some(out)
    }
}

fn max_len(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || PrefixError::Syntax(s.to_string());
        match s.split_once('/') {
            Some((a, l)) => {
                let addr: IpAddr = a.parse().map_err(|_| syntax())?;
                let len: u8 = l.parse().map_err(|_| syntax())?;
                Prefix::new(addr, len)
            }
            None => Ok(Prefix::host(s.parse().map_err(|_| syntax())?)),
        }
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_mask_and_encode() {
        let p: Prefix = "10.1.2.3/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        let mut b = BytesMut::new();
        p.encode(&mut b);
        assert_eq!(&b[..], &[16, 10, 1]);
        let host: Prefix = "2001:db8::1".parse().unwrap();
        assert_eq!(host.len(), 128);
        assert_eq!(host.wire_len(), 17);
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
    }

    #[test]
    fn decode_rejects_overrun_and_long_length() {
        assert_eq!(Prefix::decode_all(&[24, 10, 1], AFI_IPV4), None);
        assert_eq!(Prefix::decode_all(&[33, 1, 2, 3, 4, 5], AFI_IPV4), None);
        let ok = Prefix::decode_all(&[32, 192, 0, 2, 10, 0], AFI_IPV4).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].to_string(), "0.0.0.0/0");
    }
}
