//! What a session is configured with, what the OPEN exchange negotiates, and the checks an
//! OPEN must pass (RFC 4271 6.2, RFC 5492, RFC 6793, RFC 4724, RFC 8654).

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::packet::capability::{GR_AF_FLAG_FORWARDING, GR_FLAG_NOTIFICATION, GR_FLAG_RESTART};
use crate::packet::error::{open_sub, DecodeError};
use crate::packet::open::AS_TRANS;
use crate::packet::{Capability, DecodeContext, Family, GrFamily, Open};

/// RFC 4271 10: suggested ConnectRetryTime 120 s; vgw retries sooner because a VIP speaker
/// that cannot reach its switch has nothing better to do.
pub const DEFAULT_CONNECT_RETRY: u32 = 5;
/// RFC 4271 10: suggested HoldTime 90 s.
pub const DEFAULT_HOLD_TIME: u16 = 90;
/// RFC 4271 8.2.2: "a large value ... A HoldTimer value of 4 minutes is suggested" while
/// waiting for the peer's OPEN.
pub const OPEN_HOLD_TIME: u32 = 240;

/// Graceful restart as the restarting speaker (RFC 4724).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GracefulRestart {
    /// Seconds the peer should keep our routes after the session drops.
    pub restart_time: u16,
    /// This process has just restarted: set the Restart State (R) bit in the first OPEN.
    pub restarting: bool,
}

/// Per-session settings the FSM needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionConfig {
    pub local_as: u32,
    pub remote_as: u32,
    pub router_id: Ipv4Addr,
    #[serde(default = "default_hold")]
    pub hold_time: u16,
    #[serde(default = "default_connect_retry")]
    pub connect_retry: u32,
    /// Only accept connections, never initiate them (RFC 4271 8.1.1 PassiveTcpEstablishment).
    #[serde(default)]
    pub passive: bool,
    /// First IdleHold interval after an error, doubled per consecutive error up to
    /// `idle_hold_max` (RFC 4271 8.1.1 DampPeerOscillations).
    #[serde(default = "default_idle_hold")]
    pub idle_hold: u32,
    #[serde(default = "default_idle_hold_max")]
    pub idle_hold_max: u32,
    #[serde(default = "default_families")]
    pub families: Vec<Family>,
    #[serde(default)]
    pub graceful_restart: Option<GracefulRestart>,
    #[serde(default = "yes")]
    pub extended_message: bool,
}

fn default_hold() -> u16 {
    DEFAULT_HOLD_TIME
}
fn default_connect_retry() -> u32 {
    DEFAULT_CONNECT_RETRY
}
fn default_idle_hold() -> u32 {
    1
}
fn default_idle_hold_max() -> u32 {
    120
}
fn default_families() -> Vec<Family> {
    vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
}
fn yes() -> bool {
    true
}

impl SessionConfig {
    pub fn new(local_as: u32, remote_as: u32, router_id: Ipv4Addr) -> Self {
        SessionConfig {
            local_as,
            remote_as,
            router_id,
            hold_time: DEFAULT_HOLD_TIME,
            connect_retry: DEFAULT_CONNECT_RETRY,
            passive: false,
            idle_hold: default_idle_hold(),
            idle_hold_max: default_idle_hold_max(),
            families: default_families(),
            graceful_restart: None,
            extended_message: true,
        }
    }

    pub fn ibgp(&self) -> bool {
        self.local_as == self.remote_as
    }

    /// The OPEN we send. `restarting` sets the R bit (RFC 4724 3).
    pub fn open(&self, restarting: bool) -> Open {
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .map(|&family| Capability::Multiprotocol { family })
            .collect();
        caps.push(Capability::RouteRefresh);
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        if let Some(gr) = self.graceful_restart {
            // RFC 4724 3: the Forwarding State bit says forwarding was preserved; the data plane
            // (kernel IPVS and the VIP addresses) keeps forwarding while vgwd restarts.
            let flags = if restarting { GR_FLAG_RESTART } else { 0 };
            caps.push(Capability::GracefulRestart {
                flags,
                restart_time: gr.restart_time.min(0x0fff),
                families: self
                    .families
                    .iter()
                    .map(|&family| GrFamily {
                        family,
                        forwarding: true,
                        other_flags: 0,
                    })
                    .collect(),
            });
        }
        caps.push(Capability::FourOctetAs { asn: self.local_as });
        Open::new(self.local_as, self.hold_time, self.router_id, caps)
    }
}

/// The peer's graceful restart capability as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerGracefulRestart {
    pub restart_time: u16,
    pub restarting: bool,
    pub notification: bool,
    pub families: Vec<Family>,
    pub forwarding: Vec<Family>,
}

/// What both OPENs together decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiated {
    pub peer_as: u32,
    pub peer_id: Ipv4Addr,
    /// RFC 4271 4.2: the smaller of both Hold Times; 0 means no keepalives at all.
    pub hold_time: u16,
    pub keepalive: u16,
    pub four_octet_as: bool,
    pub extended_message: bool,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    /// Families both sides announced (IPv4 unicast when the peer sent no MP capability).
    pub families: Vec<Family>,
    pub peer_graceful_restart: Option<PeerGracefulRestart>,
    pub ibgp: bool,
}

impl Negotiated {
    pub fn decode_context(&self) -> DecodeContext {
        DecodeContext {
            four_octet_as: self.four_octet_as,
            extended_message: self.extended_message,
            ibgp: self.ibgp,
        }
    }
}

/// Checks the peer's OPEN against our configuration and negotiates the session.
pub fn check_open(cfg: &SessionConfig, open: &Open) -> Result<Negotiated, DecodeError> {
    let peer_as = open.asn();
    let has_as4 = open
        .capabilities()
        .any(|c| matches!(c, Capability::FourOctetAs { .. }));
    // RFC 4271 6.2: "If the Autonomous System field of the OPEN message is unacceptable, then
    // the Error Subcode MUST be set to Bad Peer AS." RFC 6793 4.1: a speaker without the
    // capability cannot have an AS that needs it; AS_TRANS alone names no AS.
    if peer_as != cfg.remote_as || (!has_as4 && open.my_as == AS_TRANS) {
        return Err(DecodeError::open(
            open_sub::BAD_PEER_AS,
            Vec::new(),
            format!(
                "peer says AS {peer_as}, configured remote AS is {}",
                cfg.remote_as
            ),
        ));
    }
    // RFC 4271 6.2: "If the Hold Time field of the OPEN message is unacceptable, then the Error
    // Subcode MUST be set to Unacceptable Hold Time. An implementation MUST reject Hold Time
    // values of one or two seconds."
    if open.hold_time == 1 || open.hold_time == 2 {
        return Err(DecodeError::open(
            open_sub::UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
            format!("hold time {} s (must be 0 or at least 3)", open.hold_time),
        ));
    }
    // RFC 6286 2.2: "the BGP Identifier ... a non-zero 4-octet unsigned integer" and, for
    // internal peers, it must differ from ours; RFC 4271 6.2: "If the BGP Identifier field of
    // the OPEN message is syntactically incorrect, then the Error Subcode MUST be set to Bad
    // BGP Identifier."
    if open.bgp_id.is_unspecified() || (cfg.ibgp() && open.bgp_id == cfg.router_id) {
        return Err(DecodeError::open(
            open_sub::BAD_BGP_IDENTIFIER,
            Vec::new(),
            format!("BGP identifier {} is not acceptable", open.bgp_id),
        ));
    }
    let caps: Vec<&Capability> = open.capabilities().collect();
    let peer_families: Vec<Family> = caps
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol { family } => Some(*family),
            _ => None,
        })
        .collect();
    // RFC 4760 8: a peer without any Multiprotocol capability speaks IPv4 unicast only.
    let peer_families = if peer_families.is_empty() {
        vec![Family::IPV4_UNICAST]
    } else {
        peer_families
    };
    let families: Vec<Family> = cfg
        .families
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();
    let hold_time = cfg.hold_time.min(open.hold_time);
    let has = |f: &dyn Fn(&Capability) -> bool| caps.iter().any(|c| f(c));
    let peer_graceful_restart = caps.iter().find_map(|c| match c {
        Capability::GracefulRestart {
            flags,
            restart_time,
            families,
        } => Some(PeerGracefulRestart {
            restart_time: *restart_time,
            restarting: flags & GR_FLAG_RESTART != 0,
            notification: flags & GR_FLAG_NOTIFICATION != 0,
            families: families.iter().map(|f| f.family).collect(),
            forwarding: families
                .iter()
                .filter(|f| f.forwarding || f.other_flags & GR_AF_FLAG_FORWARDING != 0)
                .map(|f| f.family)
                .collect(),
        }),
        _ => None,
    });
    Ok(Negotiated {
        peer_as,
        peer_id: open.bgp_id,
        hold_time,
        keepalive: hold_time / 3,
        // We always send the 4-octet AS capability, so the peer's alone decides.
        four_octet_as: has_as4,
        extended_message: cfg.extended_message
            && has(&|c| matches!(c, Capability::ExtendedMessage)),
        route_refresh: has(&|c| matches!(c, Capability::RouteRefresh)),
        enhanced_route_refresh: has(&|c| matches!(c, Capability::EnhancedRouteRefresh)),
        families,
        peer_graceful_restart,
        ibgp: cfg.ibgp(),
    })
}

/// Which of two connections to the same peer survives (RFC 4271 6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CollisionWinner {
    /// The connection we initiated.
    Outgoing,
    /// The connection the peer initiated.
    Incoming,
}

/// RFC 4271 6.8: "Comparing BGP Identifiers is done by converting them to host byte order and
/// treating them as 4-octet unsigned integers. If the value of the local BGP Identifier is less
/// than the remote one, the local system closes the BGP connection that already exists (the one
/// that is already in the OpenConfirm state), and accepts the BGP connection initiated by the
/// remote system. Otherwise, the local system closes the newly created BGP connection (the one
/// associated with the newly received OPEN message), and continues to use the existing one".
/// Stated per direction: the connection initiated by the speaker with the higher identifier
/// survives.
pub fn collision_winner(local_id: Ipv4Addr, remote_id: Ipv4Addr) -> CollisionWinner {
    match u32::from(local_id).cmp(&u32::from(remote_id)) {
        Ordering::Less => CollisionWinner::Incoming,
        _ => CollisionWinner::Outgoing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SessionConfig {
        SessionConfig::new(65011, 65000, Ipv4Addr::new(10, 0, 0, 11))
    }

    fn peer_open(hold: u16, id: [u8; 4], caps: Vec<Capability>) -> Open {
        Open::new(65000, hold, Ipv4Addr::from(id), caps)
    }

    #[test]
    fn negotiation() {
        let open = peer_open(
            30,
            [10, 0, 0, 1],
            vec![
                Capability::Multiprotocol {
                    family: Family::IPV4_UNICAST,
                },
                Capability::FourOctetAs { asn: 65000 },
                Capability::RouteRefresh,
            ],
        );
        let n = check_open(&cfg(), &open).unwrap();
        assert_eq!((n.hold_time, n.keepalive), (30, 10));
        assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
        assert!(n.four_octet_as && n.route_refresh && !n.extended_message);
        let bare = peer_open(0, [10, 0, 0, 1], vec![]);
        let n = check_open(&cfg(), &bare).unwrap();
        assert_eq!((n.hold_time, n.keepalive, n.four_octet_as), (0, 0, false));
        assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
    }

    #[test]
    fn open_rejections() {
        let code = |o: &Open| {
            check_open(&cfg(), o)
                .map(|_| ())
                .map_err(|e| e.notification.subcode)
        };
        assert_eq!(code(&peer_open(2, [10, 0, 0, 1], vec![])), Err(6));
        assert_eq!(code(&peer_open(1, [10, 0, 0, 1], vec![])), Err(6));
        assert_eq!(code(&peer_open(3, [10, 0, 0, 1], vec![])), Ok(()));
        assert_eq!(code(&peer_open(90, [0, 0, 0, 0], vec![])), Err(3));
        let wrong_as = Open::new(65001, 90, Ipv4Addr::new(10, 0, 0, 1), vec![]);
        assert_eq!(code(&wrong_as), Err(2));
        let trans_without_cap = Open::new(4_200_000_000, 90, Ipv4Addr::new(10, 0, 0, 1), vec![]);
        assert_eq!(code(&trans_without_cap), Err(2));
    }

    #[test]
    fn collision() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(collision_winner(a, b), CollisionWinner::Incoming);
        assert_eq!(collision_winner(b, a), CollisionWinner::Outgoing);
    }
}
