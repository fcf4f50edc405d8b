//! The [`Announcer`] over the vgw-bgp speaker and the vgw-ospf router ([`super::ospf`]).
//!
//! On reload only neighbours whose settings changed are removed and re-added; the others keep
//! their sessions.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use tracing::{info, warn};
use vgw_bgp::session::GracefulRestart;
use vgw_bgp::{NeighborConfig, Prefix, RouteAttrs, Speaker, SpeakerConfig};

use crate::config::{self, Config, RouteProtocol, GRACEFUL_SHUTDOWN};
use crate::controller::Attributes;

use super::effects::{Announcer, EffectError};
use super::ospf::OspfRouter;

/// BGP through vgw-bgp, OSPF through vgw-ospf.
pub struct RoutingAnnouncer {
    bgp: Option<(Speaker, BTreeMap<String, NeighborConfig>)>,
    ospf: Option<OspfRouter>,
}

impl std::fmt::Debug for RoutingAnnouncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutingAnnouncer")
            .field(
                "bgp",
                &self.bgp.as_ref().map(|(_, n)| n.keys().collect::<Vec<_>>()),
            )
            .field("ospf", &self.ospf)
            .finish()
    }
}

/// The speaker's view of one `[[bgp.neighbor]]`.
pub fn neighbor_config(bgp: &config::Bgp, n: &config::Neighbor) -> NeighborConfig {
    let mut c = NeighborConfig::new(&n.name, n.address, n.remote_asn);
    c.port = n.port;
    c.password = n.password.clone();
    c.ttl_security = n.ttl_security;
    c.passive = n.passive;
    c.hold_time = bgp.hold_time;
    c
}

/// Listen addresses: one wildcard per address family that has a passive neighbour.
fn listen_addrs(bgp: &config::Bgp) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    if bgp
        .neighbors
        .iter()
        .any(|n| n.passive && n.address.is_ipv4())
    {
        out.push(SocketAddr::from(([0, 0, 0, 0], 179)));
    }
    if bgp
        .neighbors
        .iter()
        .any(|n| n.passive && n.address.is_ipv6())
    {
        out.push(SocketAddr::from(([0u16; 8], 179)));
    }
    out
}

impl RoutingAnnouncer {
    /// Starts the BGP speaker when `[bgp]` is configured and the OSPF router when `[ospf]`
    /// is.
    pub async fn start(cfg: &Config) -> Result<RoutingAnnouncer, EffectError> {
        let ospf = match &cfg.ospf {
            Some(o) => {
                let router_id = cfg
                    .node
                    .router_id
                    .ok_or_else(|| EffectError("[ospf] needs [node] router_id".into()))?;
                Some(OspfRouter::start(router_id, o))
            }
            None => None,
        };
        let Some(bgp) = &cfg.bgp else {
            return Ok(RoutingAnnouncer { bgp: None, ospf });
        };
        let router_id = cfg
            .node
            .router_id
            .ok_or_else(|| EffectError("[bgp] needs [node] router_id".into()))?;
        let speaker = Speaker::start(SpeakerConfig {
            asn: bgp.asn,
            router_id,
            listen: listen_addrs(bgp),
            graceful_restart: (bgp.graceful_restart > 0).then_some(GracefulRestart {
                restart_time: bgp.graceful_restart,
                restarting: true,
            }),
        })
        .await
        .map_err(|e| EffectError(format!("cannot start the BGP speaker: {e}")))?;
        let mut neighbors = BTreeMap::new();
        for n in &bgp.neighbors {
            let c = neighbor_config(bgp, n);
            speaker
                .add_neighbor(c.clone())
                .await
                .map_err(|e| EffectError(format!("BGP neighbor {}: {e}", n.name)))?;
            neighbors.insert(n.name.clone(), c);
        }
        info!(
            asn = bgp.asn,
            neighbors = neighbors.len(),
            "BGP speaker started"
        );
        Ok(RoutingAnnouncer {
            bgp: Some((speaker, neighbors)),
            ospf,
        })
    }

    /// The speaker, for the API and metrics.
    pub fn speaker(&self) -> Option<Speaker> {
        self.bgp.as_ref().map(|(s, _)| s.clone())
    }

    /// The OSPF instance, for the API and the shutdown flush.
    pub fn ospf(&self) -> Option<vgw_ospf::Instance> {
        self.ospf.as_ref().map(OspfRouter::instance)
    }
}

fn prefix(vip: IpAddr) -> Result<Prefix, EffectError> {
    let len = if vip.is_ipv4() { 32 } else { 128 };
    Prefix::new(vip, len).map_err(|e| EffectError(e.to_string()))
}

/// Path attributes for the speaker. GRACEFUL_SHUTDOWN also sets LOCAL_PREF 0 for internal
/// peers (RFC 8326 4.1).
pub fn route_attrs(a: &Attributes) -> RouteAttrs {
    let attrs = RouteAttrs {
        communities: a
            .communities
            .iter()
            .filter(|c| **c != GRACEFUL_SHUTDOWN)
            .map(|c| vgw_bgp::Community(c.0))
            .collect(),
        large_communities: a
            .large_communities
            .iter()
            .map(|l| vgw_bgp::LargeCommunity {
                global: l.0,
                local1: l.1,
                local2: l.2,
            })
            .collect(),
        med: a.med,
        as_path_prepend: a.as_path_prepend,
        local_pref: None,
    };
    if a.communities.contains(&GRACEFUL_SHUTDOWN) {
        attrs.graceful_shutdown()
    } else {
        attrs
    }
}

impl Announcer for RoutingAnnouncer {
    async fn announce(
        &mut self,
        vip: IpAddr,
        protocol: RouteProtocol,
        attributes: &Attributes,
    ) -> Result<(), EffectError> {
        match (protocol, &self.bgp) {
            (RouteProtocol::Bgp, Some((speaker, _))) => speaker
                .announce(prefix(vip)?, route_attrs(attributes))
                .await
                .map_err(|e| EffectError(format!("BGP announce {vip}: {e}"))),
            (RouteProtocol::Bgp, None) => Err(EffectError("no [bgp] section".into())),
            (RouteProtocol::Ospf, _) => match &mut self.ospf {
                Some(o) => o.announce(vip, attributes).await,
                None => Err(EffectError("no [ospf] section".into())),
            },
        }
    }

    async fn withdraw(&mut self, vip: IpAddr, protocol: RouteProtocol) -> Result<(), EffectError> {
        match (protocol, &self.bgp) {
            (RouteProtocol::Bgp, Some((speaker, _))) => speaker
                .withdraw(prefix(vip)?)
                .await
                .map_err(|e| EffectError(format!("BGP withdraw {vip}: {e}"))),
            (RouteProtocol::Bgp, None) => Err(EffectError("no [bgp] section".into())),
            (RouteProtocol::Ospf, _) => match &mut self.ospf {
                Some(o) => o.withdraw(vip).await,
                None => Err(EffectError("no [ospf] section".into())),
            },
        }
    }

    async fn close(&mut self) {
        if let Some(o) = &self.ospf {
            o.close().await;
        }
    }

    async fn reconfigure(&mut self, cfg: &Config) {
        match (&mut self.ospf, &cfg.ospf, cfg.node.router_id) {
            (Some(router), Some(o), Some(rid)) => router.reconfigure(rid, o).await,
            (None, Some(_), _) => {
                warn!("[ospf] was added by a reload: restart vgwd to start the OSPF router")
            }
            (Some(_), None, _) => {
                warn!("[ospf] was removed by a reload: the router runs until vgwd restarts")
            }
            _ => {}
        }
        let Some((speaker, current)) = &mut self.bgp else {
            if cfg.bgp.is_some() {
                warn!("[bgp] was added by a reload: restart vgwd to start the BGP speaker");
            }
            return;
        };
        let Some(bgp) = &cfg.bgp else {
            warn!("[bgp] was removed by a reload: sessions stay until vgwd restarts");
            return;
        };
        let wanted: BTreeMap<String, NeighborConfig> = bgp
            .neighbors
            .iter()
            .map(|n| (n.name.clone(), neighbor_config(bgp, n)))
            .collect();
        let names: Vec<String> = current.keys().cloned().collect();
        for name in names {
            if wanted.get(&name) != current.get(&name) {
                info!(neighbor = %name, "BGP neighbor removed or changed: closing its session");
                if let Err(e) = speaker.remove_neighbor(&name).await {
                    warn!(neighbor = %name, "cannot remove BGP neighbor: {e}");
                }
                current.remove(&name);
            }
        }
        for (name, c) in wanted {
            if let std::collections::btree_map::Entry::Vacant(slot) = current.entry(name) {
                info!(neighbor = %slot.key(), "BGP neighbor added");
                match speaker.add_neighbor(c.clone()).await {
                    Ok(()) => {
                        slot.insert(c);
                    }
                    Err(e) => warn!(neighbor = %slot.key(), "cannot add BGP neighbor: {e}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Community, LargeCommunity};

    #[test]
    fn graceful_shutdown_sets_local_pref_zero() {
        let a = Attributes {
            communities: vec![Community(0xFDE8_0064), GRACEFUL_SHUTDOWN],
            large_communities: vec![LargeCommunity(65000, 1, 2)],
            med: Some(10),
            as_path_prepend: 2,
        };
        let r = route_attrs(&a);
        assert_eq!(
            r.communities,
            vec![
                vgw_bgp::Community(0xFDE8_0064),
                vgw_bgp::Community(0xFFFF_0000)
            ]
        );
        assert_eq!(r.local_pref, Some(0));
        assert_eq!((r.med, r.as_path_prepend), (Some(10), 2));
        let plain = route_attrs(&Attributes::default());
        assert_eq!(plain.local_pref, None);
        assert!(plain.communities.is_empty());
    }
}
