//! Which IPVS the kernel speaks.
//!
//! Forks reuse the family name "IPVS" and give conflicting meanings to the same numbers
//! (ipvs-netlink facts, "Detecting the dialect at run time"):
//!
//! 1. CTRL_CMD_GETFAMILY("IPVS") lists the ops. Op ids 18, 19, 20 mean the Alibaba FULLNAT
//!    "laddr" dialect; 21 and up identify the Xiaomi dsnat / SNAT-gateway forks, whose numbers
//!    conflict with each other, so they are an unknown fork here.
//! 2. CTRL_ATTR_MAXATTR differs by era (Alibaba 20, mainline 3.x 17, mainline 5.x+ 6); it is
//!    recorded but the ops list decides.
//! 3. In mainline the optional features follow the kernel release (probe, don't assume).

use std::fmt;

use thiserror::Error;

/// Mainline features that arrived after generic netlink (2.6.28).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Kernel release (major, minor), when known. Unknown means "assume current".
    pub kernel: Option<(u32, u32)>,
}

impl Features {
    /// Every feature on (a current kernel).
    pub const CURRENT: Features = Features { kernel: None };

    fn at_least(&self, major: u32, minor: u32) -> bool {
        self.kernel.is_none_or(|k| k >= (major, minor))
    }

    /// IP_VS_SVC_F_SCHED1..3 (3.11).
    pub fn sched_flags(&self) -> bool {
        self.at_least(3, 11)
    }

    /// IPVS_DEST_ATTR_ADDR_FAMILY (3.18).
    pub fn dest_addr_family(&self) -> bool {
        self.at_least(3, 18)
    }

    /// IPVS_*_ATTR_STATS64 (4.1).
    pub fn stats64(&self) -> bool {
        self.at_least(4, 1)
    }

    /// IPVS_DAEMON_ATTR_SYNC_MAXLEN .. MCAST_TTL (4.3).
    pub fn daemon_mcast_attrs(&self) -> bool {
        self.at_least(4, 3)
    }

    /// IPVS_DEST_ATTR_TUN_TYPE / TUN_PORT, GUE (5.2).
    pub fn tun_type(&self) -> bool {
        self.at_least(5, 2)
    }

    /// IPVS_DEST_ATTR_TUN_FLAGS and GRE (5.3).
    pub fn tun_flags(&self) -> bool {
        self.at_least(5, 3)
    }

    /// Parse `uname -r` style text ("6.1.0-28-amd64").
    pub fn from_release(release: &str) -> Features {
        let mut parts = release
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u32>().ok());
        let kernel = match (parts.next().flatten(), parts.next().flatten()) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        Features { kernel }
    }
}

/// The dialect of the kernel's "IPVS" family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// Upstream Linux.
    Mainline(Features),
    /// Alibaba LVS FULLNAT (v2/v3, 2.6.32): local-address ops 18..20, top-level attribute 7
    /// LADDR, SVC attribute 11 = EST_TIMEOUT, 64-bit counters inside STATS.
    Fullnat,
    /// Ops beyond what this crate knows (the zone/SNAT forks): FULLNAT operations are refused,
    /// mainline ones keep working, SVC attribute 11 is kept raw.
    UnknownFork { ops: Vec<u32> },
}

/// How SVC attribute 11 is read in a dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcAttr11 {
    PeName,
    EstTimeout,
    Raw,
}

impl Dialect {
    /// Decide from the family's op ids (CTRL_ATTR_OPS) and the kernel release.
    pub fn detect(ops: &[u32], release: Option<&str>) -> Dialect {
        let extra: Vec<u32> = ops.iter().copied().filter(|op| *op > 17).collect();
        let laddr = [18, 19, 20].iter().all(|op| extra.contains(op));
        if extra.is_empty() {
            Dialect::Mainline(release.map_or(Features::CURRENT, Features::from_release))
        } else if laddr && extra.iter().all(|op| *op <= 20) {
            Dialect::Fullnat
        } else {
            let mut ops = extra;
            ops.sort_unstable();
            Dialect::UnknownFork { ops }
        }
    }

    pub fn svc_attr_11(&self) -> SvcAttr11 {
        match self {
            Dialect::Mainline(_) => SvcAttr11::PeName,
            Dialect::Fullnat => SvcAttr11::EstTimeout,
            Dialect::UnknownFork { .. } => SvcAttr11::Raw,
        }
    }

    /// Whether commands 18..20 are NEW/DEL/GET_LADDR and top-level attribute 7 is LADDR.
    pub fn has_laddr(&self) -> bool {
        matches!(self, Dialect::Fullnat)
    }

    /// Refuse a FULLNAT-only request on a kernel that cannot do it, naming its dialect.
    pub fn require_fullnat(&self, what: &'static str) -> Result<(), DialectError> {
        if self.has_laddr() {
            Ok(())
        } else {
            Err(DialectError::NotFullnat {
                what,
                dialect: self.to_string(),
            })
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dialect::Mainline(Features {
                kernel: Some((a, b)),
            }) => write!(f, "mainline IPVS (kernel {a}.{b})"),
            Dialect::Mainline(_) => write!(f, "mainline IPVS"),
            Dialect::Fullnat => write!(f, "Alibaba FULLNAT IPVS (laddr ops 18-20)"),
            Dialect::UnknownFork { ops } => {
                write!(f, "an unknown IPVS fork (extra ops {ops:?})")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialectError {
    #[error("{what} needs a FULLNAT-capable kernel, but this kernel speaks {dialect}")]
    NotFullnat { what: &'static str, dialect: String },
    #[error("{what} needs Linux {needs} or newer, but this kernel speaks {dialect}")]
    TooOld {
        what: &'static str,
        needs: &'static str,
        dialect: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(
            Features::from_release("6.1.0-28-amd64").kernel,
            Some((6, 1))
        );
        assert_eq!(
            Features::from_release("2.6.32-220.23.1.el6.x86_64").kernel,
            Some((2, 6))
        );
        assert_eq!(Features::from_release("garbage").kernel, None);
        let old = Features::from_release("4.1.12");
        assert!(old.stats64() && !old.daemon_mcast_attrs() && !old.tun_type());
        assert!(Features::CURRENT.tun_flags());
    }

    #[test]
    fn detection() {
        let mainline: Vec<u32> = (1..=17).filter(|o| *o != 14).collect();
        assert!(matches!(
            Dialect::detect(&mainline, None),
            Dialect::Mainline(_)
        ));
        let fullnat: Vec<u32> = (1..=20).collect();
        assert_eq!(Dialect::detect(&fullnat, None), Dialect::Fullnat);
        // Only part of the laddr ops, or anything past 20: a fork we do not know.
        assert_eq!(
            Dialect::detect(&[1, 2, 18], None),
            Dialect::UnknownFork { ops: vec![18] }
        );
        let mut dsnat = fullnat.clone();
        dsnat.extend(21..=26);
        assert_eq!(
            Dialect::detect(&dsnat, None),
            Dialect::UnknownFork {
                ops: (18..=26).collect()
            }
        );
        assert_eq!(Dialect::Fullnat.svc_attr_11(), SvcAttr11::EstTimeout);
        let err = Dialect::detect(&mainline, Some("6.1.0"))
            .require_fullnat("local addresses")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "local addresses needs a FULLNAT-capable kernel, but this kernel speaks mainline IPVS (kernel 6.1)"
        );
    }
}
