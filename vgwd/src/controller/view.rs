//! The desired view: what IPVS, the routing protocols, the VIP interface and observers should
//! see, computed from configuration and state alone. The controller keeps the last view it
//! emitted and turns the difference into ordered outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use crate::config::{Config, Dataplane, OnFailure, RouteProtocol, Service, GRACEFUL_SHUTDOWN};

use super::io::{
    Alarm, AlarmKind, Attributes, Health, IpvsKey, IpvsReal, IpvsService, Output, RealStatus,
    VipState, VipStatus,
};
use super::state::{DrainPhase, State};

/// Everything the outside world should see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// VIP addresses on the interface.
    pub addresses: BTreeSet<IpAddr>,
    /// Desired IPVS table; `None` = not managed (before the first round, or announce-only).
    pub ipvs: Option<BTreeMap<String, IpvsService>>,
    /// Announcements.
    pub announce: BTreeMap<(IpAddr, RouteProtocol), Attributes>,
    /// VIP states.
    pub vips: BTreeMap<IpAddr, VipStatus>,
    /// Real states, by service then real.
    pub reals: BTreeMap<(String, SocketAddr), RealStatus>,
    /// Engaged alarms, by service.
    pub alarms: BTreeMap<String, Alarm>,
}

/// Per-service figures that decide weights and announcements.
struct ServiceHealth {
    up: usize,
    down: usize,
    total: usize,
    protected: bool,
    quorum_ok: bool,
    sorry: bool,
}

fn service_health(s: &Service, st: &State) -> ServiceHealth {
    let mut up = 0;
    let mut down = 0;
    let mut total = 0;
    for r in &s.reals {
        let rs = st.real(&s.name, r.endpoint());
        if rs.drained {
            continue;
        }
        total += 1;
        match rs.health {
            Health::Up => up += 1,
            Health::Down => down += 1,
            Health::Unknown => {}
        }
    }
    // "More than that share fails at once": strictly above the threshold.
    let protected = s
        .protect_threshold
        .is_some_and(|t| total > 0 && down as f64 > t * total as f64);
    let quorum_ok = up >= s.quorum;
    let sorry = !quorum_ok && s.sorry_server.is_some();
    ServiceHealth {
        up,
        down,
        total,
        protected,
        quorum_ok,
        sorry,
    }
}

/// Effective weight of one real: `None` = not in IPVS.
fn weight(s: &Service, real: &crate::config::Real, st: &State, h: &ServiceHealth) -> Option<u32> {
    let rs = st.real(&s.name, real.endpoint());
    if rs.drained {
        return Some(0);
    }
    let absent_or_zero = match s.on_failure {
        OnFailure::Quiesce => Some(0),
        OnFailure::Remove => None,
    };
    if h.sorry {
        return absent_or_zero;
    }
    match rs.health {
        Health::Up => Some(match rs.ramp {
            Some(step) => ramp_weight(real.weight, step),
            None => real.weight,
        }),
        Health::Down if h.protected => Some(real.weight),
        Health::Down | Health::Unknown => absent_or_zero,
    }
}

/// Number of slow-start steps from first weight to full weight.
pub(crate) const RAMP_STEPS: u8 = 4;

/// Weight at ramp step `step` (1..RAMP_STEPS): a rounded-up share, at least 1.
fn ramp_weight(full: u32, step: u8) -> u32 {
    if full == 0 {
        return 0;
    }
    let w = (u64::from(full) * u64::from(step)).div_ceil(u64::from(RAMP_STEPS));
    u32::try_from(w).unwrap_or(full).clamp(1, full)
}

pub(crate) fn compute(cfg: &Config, st: &State) -> View {
    let mut view = View::default();
    let healths: BTreeMap<&str, ServiceHealth> = cfg
        .services
        .iter()
        .map(|s| (s.name.as_str(), service_health(s, st)))
        .collect();

    let ipvs_managed = st.first_round_done && cfg.node.dataplane == Dataplane::Ipvs;
    let mut ipvs = BTreeMap::new();
    for s in &cfg.services {
        let Some(h) = healths.get(s.name.as_str()) else {
            continue;
        };
        let mut reals = Vec::new();
        for r in &s.reals {
            let w = if ipvs_managed {
                weight(s, r, st, h)
            } else {
                None
            };
            if let Some(w) = w {
                reals.push(IpvsReal {
                    real: r.endpoint(),
                    weight: w,
                });
            }
            let rs = st.real(&s.name, r.endpoint());
            view.reals.insert(
                (s.name.clone(), r.endpoint()),
                RealStatus {
                    service: s.name.clone(),
                    real: r.endpoint(),
                    health: rs.health,
                    drained: rs.drained,
                    weight: w,
                },
            );
        }
        if let (true, Some(sorry)) = (h.sorry, &s.sorry_server) {
            reals.push(IpvsReal {
                real: sorry.endpoint(),
                weight: sorry.weight,
            });
        }
        if h.protected {
            view.alarms.insert(
                s.name.clone(),
                Alarm {
                    service: s.name.clone(),
                    kind: AlarmKind::ThresholdProtection,
                    engaged: true,
                    failed: h.down,
                    total: h.total,
                },
            );
        }
        ipvs.insert(
            s.name.clone(),
            IpvsService {
                key: IpvsKey {
                    name: s.name.clone(),
                    vip: s.vip,
                    port: s.port,
                    protocol: s.protocol,
                },
                scheduler: s.scheduler.clone(),
                forward: s.forward,
                persistence: s.persistence,
                local_addresses: s.local_addresses.clone(),
                reals,
            },
        );
    }
    view.ipvs = ipvs_managed.then_some(ipvs);

    let shutdown_done = matches!(st.shutdown, Some(DrainPhase { expired: true, .. }));
    for vip in &cfg.vips {
        if !shutdown_done {
            view.addresses.insert(vip.address);
        }
        let services: Vec<&Service> = cfg
            .services
            .iter()
            .filter(|s| s.vip == vip.address)
            .collect();
        let vip_drain = st.vip_drain.get(&vip.address);
        let drains = [vip_drain, st.node_drain.as_ref(), st.shutdown.as_ref()];
        let drain_expired = drains.iter().flatten().any(|d| d.expired);
        let draining = drains.iter().flatten().any(|d| !d.expired);

        let mut withdrawn_reason = None;
        if !st.first_round_done {
            withdrawn_reason = Some("waiting for the first round of health checks".to_string());
        } else if shutdown_done {
            withdrawn_reason = Some("shutting down".to_string());
        } else if !st.vip_interface_ok {
            withdrawn_reason = Some(format!(
                "VIP interface {} is unusable",
                cfg.node.vip_interface
            ));
        } else if cfg.node.dataplane == Dataplane::Ipvs && !st.ipvs_ok {
            withdrawn_reason = Some("IPVS is unusable".to_string());
        } else if drain_expired {
            withdrawn_reason = Some("drained".to_string());
        } else {
            for s in &services {
                if let Some(h) = healths.get(s.name.as_str()) {
                    if !h.quorum_ok && !h.sorry {
                        withdrawn_reason = Some(format!(
                            "service {} lost quorum: {} of {} reals healthy, quorum {}",
                            s.name,
                            h.up,
                            s.reals.len(),
                            s.quorum
                        ));
                        break;
                    }
                }
            }
        }
        let degraded = services.iter().any(|s| {
            healths
                .get(s.name.as_str())
                .is_some_and(|h| h.protected || h.sorry)
        });
        let status = match withdrawn_reason {
            Some(reason) => VipStatus {
                vip: vip.address,
                state: VipState::Withdrawn,
                reason,
            },
            None => {
                let mut attrs = Attributes {
                    communities: vip.communities.clone(),
                    large_communities: vip.large_communities.clone(),
                    med: vip.med,
                    as_path_prepend: 0,
                };
                if degraded {
                    attrs.as_path_prepend = vip.standby.as_path_prepend;
                    if vip.standby.med.is_some() {
                        attrs.med = vip.standby.med;
                    }
                }
                // RFC 8326 4.1: a drained route is announced with GRACEFUL_SHUTDOWN so that
                // receivers lower its preference before it is withdrawn.
                if draining && !attrs.communities.contains(&GRACEFUL_SHUTDOWN) {
                    attrs.communities.push(GRACEFUL_SHUTDOWN);
                }
                for p in &vip.announce {
                    view.announce.insert((vip.address, *p), attrs.clone());
                }
                let (state, reason) = if draining {
                    (
                        VipState::Draining,
                        "drained by an admin or shutting down".to_string(),
                    )
                } else if degraded {
                    (
                        VipState::Degraded,
                        "threshold protection or sorry server in use".to_string(),
                    )
                } else {
                    (VipState::Announced, String::new())
                };
                VipStatus {
                    vip: vip.address,
                    state,
                    reason,
                }
            }
        };
        view.vips.insert(vip.address, status);
    }
    view
}

/// Ordered outputs that take the world from `old` to `new`.
pub(crate) fn diff(old: &View, new: &View, out: &mut Vec<Output>) {
    // 1. Withdraw first: traffic must leave before anything it relies on changes.
    for (vip, protocol) in old.announce.keys() {
        if !new.announce.contains_key(&(*vip, *protocol)) {
            out.push(Output::Withdraw {
                vip: *vip,
                protocol: *protocol,
            });
        }
    }
    // 2. Addresses: removed after their withdrawals, added before any announcement.
    for vip in old.addresses.difference(&new.addresses) {
        out.push(Output::RemoveAddress { vip: *vip });
    }
    for vip in new.addresses.difference(&old.addresses) {
        out.push(Output::AddAddress { vip: *vip });
    }
    // 3. IPVS, before announcements so that new traffic finds its service.
    match (&old.ipvs, &new.ipvs) {
        (Some(old_t), Some(new_t)) => {
            for (name, svc) in old_t {
                match new_t.get(name) {
                    Some(n) if n.key == svc.key => {}
                    _ => out.push(Output::IpvsRemove(svc.key.clone())),
                }
            }
            for (name, svc) in new_t {
                if old_t.get(name) != Some(svc) {
                    out.push(Output::IpvsService(svc.clone()));
                }
            }
        }
        (None, Some(new_t)) => {
            for svc in new_t.values() {
                out.push(Output::IpvsService(svc.clone()));
            }
        }
        // Not managed any more (announce-only after a reload): leave the kernel alone.
        (_, None) => {}
    }
    // 4. Announcements, new or with changed attributes.
    for (key, attrs) in &new.announce {
        if old.announce.get(key) != Some(attrs) {
            out.push(Output::Announce {
                vip: key.0,
                protocol: key.1,
                attributes: attrs.clone(),
            });
        }
    }
    // 5. Alarms raised or cleared.
    for (name, alarm) in &old.alarms {
        if !new.alarms.contains_key(name) {
            out.push(Output::Alarm(Alarm {
                engaged: false,
                failed: new
                    .reals
                    .values()
                    .filter(|r| &r.service == name && !r.drained && r.health == Health::Down)
                    .count(),
                ..alarm.clone()
            }));
        }
    }
    for (name, alarm) in &new.alarms {
        if !old.alarms.contains_key(name) {
            out.push(Output::Alarm(alarm.clone()));
        }
    }
    // 6. Notifications.
    for (service, real) in old.reals.keys() {
        if !new.reals.contains_key(&(service.clone(), *real)) {
            out.push(Output::RealRemoved {
                service: service.clone(),
                real: *real,
            });
        }
    }
    for (key, real) in &new.reals {
        if old.reals.get(key) != Some(real) {
            out.push(Output::RealChanged(real.clone()));
        }
    }
    for vip in old.vips.keys() {
        if !new.vips.contains_key(vip) {
            out.push(Output::VipRemoved { vip: *vip });
        }
    }
    for (vip, status) in &new.vips {
        if old.vips.get(vip) != Some(status) {
            out.push(Output::VipChanged(status.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ramp_weight;

    #[test]
    fn ramp_is_monotonic_and_never_zero() {
        assert_eq!(
            (1..=4).map(|s| ramp_weight(100, s)).collect::<Vec<_>>(),
            [25, 50, 75, 100]
        );
        assert_eq!(ramp_weight(1, 1), 1);
        assert_eq!(ramp_weight(3, 1), 1);
        assert_eq!(ramp_weight(0, 2), 0);
    }
}
