//! Small value types of the configuration language: durations with a unit, BGP communities,
//! and their parsers. Each parser returns an operator-readable message on failure.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// A duration written as a string with a unit: `"200ms"`, `"2s"`, `"1m"`, `"1h"`, or a
/// combination such as `"1m30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct ConfigDuration(pub Duration);

impl From<ConfigDuration> for String {
    fn from(d: ConfigDuration) -> String {
        format_duration(d.0)
    }
}

/// Formats a duration the way the config language writes it (`"1m30s"`, `"200ms"`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Parses `"1m30s"`-style durations. Every number needs a unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write a number with a unit such as \"2s\"".into());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "invalid duration \"{text}\": expected a number at \"{rest}\""
            ));
        }
        let (num, tail) = rest.split_at(digits);
        let n: u128 = num
            .parse()
            .map_err(|_| format!("invalid duration \"{text}\": number too large"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let factor: u128 = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => {
                return Err(format!(
                    "invalid duration \"{text}\": a unit is missing (ms, s, m or h), e.g. \"{n}s\""
                ))
            }
            other => {
                return Err(format!(
                    "invalid duration \"{text}\": unknown unit \"{other}\" (use ms, s, m or h)"
                ))
            }
        };
        total = n
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration \"{text}\": too large"))?;
        rest = tail;
    }
    let ms = u64::try_from(total).map_err(|_| format!("invalid duration \"{text}\": too large"))?;
    Ok(Duration::from_millis(ms))
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ConfigDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit such as \"2s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConfigDuration, E> {
                parse_duration(v).map(ConfigDuration).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ConfigDuration, E> {
                Err(E::custom(format!(
                    "invalid duration {v}: durations are strings with a unit, e.g. \"{v}s\""
                )))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ConfigDuration, E> {
                Err(E::custom(format!(
                    "invalid duration {v}: durations are strings with a unit, e.g. \"{v}s\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A standard BGP community (RFC 1997): `"65000:100"` or a well-known name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

/// RFC 8326 2: GRACEFUL_SHUTDOWN, 65535:0.
pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);

impl Community {
    /// Parses `"a:b"` (two 16-bit numbers) or one of the RFC 1997/7999/8326 well-known names.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "no-export" => return Ok(Community(0xFFFF_FF01)),
            "no-advertise" => return Ok(Community(0xFFFF_FF02)),
            "no-export-subconfed" => return Ok(Community(0xFFFF_FF03)),
            "blackhole" => return Ok(Community(0xFFFF_029A)),
            "graceful-shutdown" => return Ok(GRACEFUL_SHUTDOWN),
            _ => {}
        }
        let (a, b) = s.split_once(':').ok_or_else(|| {
            format!("invalid community \"{s}\": write it as \"ASN:VALUE\", e.g. \"65000:100\"")
        })?;
        let a: u16 = a
            .parse()
            .map_err(|_| format!("invalid community \"{s}\": \"{a}\" is not a number 0-65535"))?;
        let b: u16 = b
            .parse()
            .map_err(|_| format!("invalid community \"{s}\": \"{b}\" is not a number 0-65535"))?;
        Ok(Community((u32::from(a) << 16) | u32::from(b)))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xFFFF)
    }
}

impl Serialize for Community {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Community {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Community::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A large BGP community (RFC 8092): `"65000:1:2"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity(pub u32, pub u32, pub u32);

impl LargeCommunity {
    /// Parses `"global:local1:local2"` (three 32-bit numbers).
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [a, b, c] = parts.as_slice() else {
            return Err(format!(
                "invalid large community \"{s}\": write it as \"ASN:X:Y\", e.g. \"65000:1:2\""
            ));
        };
        let n = |p: &str| {
            p.parse::<u32>().map_err(|_| {
                format!("invalid large community \"{s}\": \"{p}\" is not a number 0-4294967295")
            })
        };
        Ok(LargeCommunity(n(a)?, n(b)?, n(c)?))
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.0, self.1, self.2)
    }
}

impl Serialize for LargeCommunity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LargeCommunity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        LargeCommunity::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An IP address that must be a single host (no prefix length).
pub fn parse_host_address(s: &str) -> Result<std::net::IpAddr, String> {
    if s.contains('/') {
        return Err(format!(
            "\"{s}\" has a prefix length; write the address alone (VIPs are always /32 or /128)"
        ));
    }
    s.parse()
        .map_err(|_| format!("\"{s}\" is not an IPv4 or IPv6 address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("2").unwrap_err().contains("unit is missing"));
        assert!(parse_duration("2x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999999h").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(200)), "200ms");
    }

    #[test]
    fn communities() {
        assert_eq!(Community::parse("65000:100"), Ok(Community(0xFDE8_0064)));
        assert_eq!(Community::parse("graceful-shutdown"), Ok(GRACEFUL_SHUTDOWN));
        assert_eq!(GRACEFUL_SHUTDOWN.to_string(), "65535:0");
        assert!(Community::parse("65536:1").is_err());
        assert!(Community::parse("100").is_err());
        assert_eq!(
            LargeCommunity::parse("65000:1:2"),
            Ok(LargeCommunity(65000, 1, 2))
        );
        assert!(LargeCommunity::parse("1:2").is_err());
    }
}
