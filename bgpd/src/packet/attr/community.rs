//! COMMUNITIES (RFC 1997) and LARGE_COMMUNITY (RFC 8092) values.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A standard community, written `ASN:VALUE` (each 16 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// RFC 8326 5: "GRACEFUL_SHUTDOWN (0xFFFF0000)".
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xffff_0000);
    /// RFC 1997: NO_EXPORT.
    pub const NO_EXPORT: Community = Community(0xffff_ff01);

    pub fn new(asn: u16, value: u16) -> Self {
        Community((u32::from(asn) << 16) | u32::from(value))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a community (expected ASN:VALUE with 16-bit parts, e.g. 65000:100)")]
pub struct CommunityError(String);

impl FromStr for Community {
    type Err = CommunityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CommunityError(s.to_string());
        let (a, v) = s.split_once(':').ok_or_else(err)?;
        Ok(Community::new(
            a.parse().map_err(|_| err())?,
            v.parse().map_err(|_| err())?,
        ))
    }
}

/// A large community, written `GLOBAL:LOCAL1:LOCAL2` (each 32 bits).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Global Administrator                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Local Data Part 1                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Local Data Part 2                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

impl LargeCommunity {
    pub fn decode(v: &[u8]) -> Option<Self> {
        let w = |i: usize| -> Option<u32> {
            let b: [u8; 4] = v.get(i..i + 4)?.try_into().ok()?;
            Some(u32::from_be_bytes(b))
        };
        Some(LargeCommunity {
            global: w(0)?,
            local1: w(4)?,
            local2: w(8)?,
        })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u32(self.global);
        buf.put_u32(self.local1);
        buf.put_u32(self.local2);
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a large community (expected GLOBAL:LOCAL1:LOCAL2, e.g. 65000:1:2)")]
pub struct LargeCommunityError(String);

impl FromStr for LargeCommunity {
    type Err = LargeCommunityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || LargeCommunityError(s.to_string());
        let mut it = s.split(':').map(|p| p.parse::<u32>().map_err(|_| err()));
        let c = LargeCommunity {
            global: it.next().ok_or_else(err)??,
            local1: it.next().ok_or_else(err)??,
            local2: it.next().ok_or_else(err)??,
        };
        if it.next().is_some() {
            return Err(err());
        }
        Ok(c)
    }
}

macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(Community);
string_serde!(LargeCommunity);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let c: Community = "65000:100".parse().unwrap();
        assert_eq!(c.0, 0xfde8_0064);
        assert_eq!(c.to_string(), "65000:100");
        assert_eq!(Community::GRACEFUL_SHUTDOWN.to_string(), "65535:0");
        assert!("70000:1".parse::<Community>().is_err());
        let l: LargeCommunity = "4200000000:1:2".parse().unwrap();
        assert_eq!(l.to_string(), "4200000000:1:2");
        assert!("1:2".parse::<LargeCommunity>().is_err());
        assert!("1:2:3:4".parse::<LargeCommunity>().is_err());
    }
}
