//! The `(kind, target)` argument pair of `Drain` and `Undrain`, parsed.

use std::fmt;
use std::net::IpAddr;

use crate::DrainKind;

/// What to drain, parsed from `Drain(kind, target)`:
///
/// | kind     | target                  | example                              |
/// |----------|-------------------------|--------------------------------------|
/// | `"vip"`  | the VIP address         | `192.0.2.10`, `2001:db8::10`         |
/// | `"real"` | `SERVICE/ADDR[:PORT]`   | `web/10.1.1.1:8080`, `web/[2001:db8::1]:80`, `web/10.1.1.1` |
/// | `"node"` | `""`                    |                                      |
///
/// A real named without a port matches the real of that address in the service (an error if
/// the service has several reals on that address).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DrainTarget {
    /// One VIP.
    Vip(IpAddr),
    /// One real server of one service.
    Real {
        /// Service name.
        service: String,
        /// Real server address.
        address: IpAddr,
        /// Real server port, if given.
        port: Option<u16>,
    },
    /// Every VIP of the node.
    Node,
}

/// A `(kind, target)` pair that does not parse; the message says what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseTargetError(pub String);

impl DrainTarget {
    /// Parses the wire form.
    pub fn parse(kind: &str, target: &str) -> Result<DrainTarget, ParseTargetError> {
        let kind: DrainKind = kind.parse().map_err(|e| ParseTargetError(format!("{e}")))?;
        match kind {
            DrainKind::Vip => target.parse().map(DrainTarget::Vip).map_err(|_| {
                ParseTargetError(format!(
                    "{target:?} is not a VIP address (expected e.g. 192.0.2.10 or 2001:db8::10)"
                ))
            }),
            DrainKind::Node if target.is_empty() => Ok(DrainTarget::Node),
            DrainKind::Node => Err(ParseTargetError(format!(
                "a node drain takes no target, got {target:?}"
            ))),
            DrainKind::Real => {
                let bad = || {
                    ParseTargetError(format!(
                        "{target:?} is not SERVICE/ADDR[:PORT] (expected e.g. web/10.1.1.1:8080 \
                         or web/[2001:db8::1]:80)"
                    ))
                };
                let (service, real) = target.split_once('/').ok_or_else(bad)?;
                if service.is_empty() {
                    return Err(bad());
                }
                let (address, port) = parse_addr_port(real).ok_or_else(bad)?;
                Ok(DrainTarget::Real {
                    service: service.to_owned(),
                    address,
                    port,
                })
            }
        }
    }

    /// The kind on the wire.
    pub fn kind(&self) -> DrainKind {
        match self {
            DrainTarget::Vip(_) => DrainKind::Vip,
            DrainTarget::Real { .. } => DrainKind::Real,
            DrainTarget::Node => DrainKind::Node,
        }
    }

    /// The target string on the wire (inverse of [`DrainTarget::parse`]).
    pub fn wire_target(&self) -> String {
        match self {
            DrainTarget::Vip(a) => a.to_string(),
            DrainTarget::Real {
                service,
                address,
                port,
            } => {
                format!("{service}/{}", real_label(*address, *port))
            }
            DrainTarget::Node => String::new(),
        }
    }
}

impl fmt::Display for DrainTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrainTarget::Vip(a) => write!(f, "VIP {a}"),
            DrainTarget::Real {
                service,
                address,
                port,
            } => {
                write!(
                    f,
                    "real {} of service {service}",
                    real_label(*address, *port)
                )
            }
            DrainTarget::Node => f.write_str("this node"),
        }
    }
}

/// `ADDR` or `ADDR:PORT` (`[V6]:PORT` for IPv6).
fn real_label(address: IpAddr, port: Option<u16>) -> String {
    match (address, port) {
        (a, None) => a.to_string(),
        (IpAddr::V4(a), Some(p)) => format!("{a}:{p}"),
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
    }
}

/// Parses `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:80`.
pub fn parse_addr_port(s: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let addr: std::net::Ipv6Addr = addr.parse().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        return Some((IpAddr::V6(addr), port));
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some((a, None));
    }
    let (addr, port) = s.rsplit_once(':')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    Some((IpAddr::V4(addr), Some(port.parse().ok()?)))
}
