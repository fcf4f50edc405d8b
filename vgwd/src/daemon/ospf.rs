//! The OSPF half of the [`super::routing::RoutingAnnouncer`]: one vgw-ospf router on the
//! `[[ospf.interface]]`s, each VIP an AS-external (E2) LSA (see `ospf/README.md` for why).
//!
//! Attributes map onto the metric: `[ospf] metric` normally, plus the `standby`
//! `as_path_prepend` while the VIP is degraded, and 0xFFFFFE (LSInfinity - 1) while it
//! drains, so any other node announcing the VIP wins before the withdrawal (the OSPF
//! counterpart of RFC 8326's GRACEFUL_SHUTDOWN).
//!
//! A reload that changes `[ospf]` restarts the router (our LSAs are flushed first) and
//! re-announces every VIP; an unchanged `[ospf]` is not touched.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{info, warn};
use vgw_ospf::packet::auth::{AuthKey, CryptoAlg};
use vgw_ospf::{IfConfig, Instance, InstanceTask, NetworkType, Prefix};

use crate::config::{self, OspfAuth, OspfNetwork, GRACEFUL_SHUTDOWN};
use crate::controller::Attributes;

use super::effects::EffectError;

/// E2 metric of a draining VIP: still a route, but the worst one (RFC 2328 16.4).
pub const DRAIN_METRIC: u32 = 0xFF_FFFE;

/// How long a shutdown or a restart waits for neighbours to acknowledge the flush.
const FLUSH_GRACE: Duration = Duration::from_secs(2);

/// A running OSPF router and what it announces.
pub struct OspfRouter {
    instance: Instance,
    task: InstanceTask,
    settings: (Ipv4Addr, config::Ospf),
    /// What each VIP is announced with; its metric follows from `[ospf] metric`.
    announced: BTreeMap<Ipv4Addr, Attributes>,
}

impl std::fmt::Debug for OspfRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OspfRouter")
            .field("router_id", &self.settings.0)
            .field("announced", &self.announced)
            .finish()
    }
}

/// The interface settings vgw-ospf runs with.
pub fn if_config(i: &config::OspfInterface) -> IfConfig {
    let network = match i.network {
        OspfNetwork::Broadcast => NetworkType::Broadcast,
        OspfNetwork::PointToPoint => NetworkType::PointToPoint,
    };
    IfConfig {
        hello_interval: i.hello_interval,
        dead_interval: i.dead_interval,
        cost: i.cost,
        priority: i.priority,
        auth: auth_key(&i.auth),
        ..IfConfig::new(&i.name, network)
    }
}

fn auth_key(a: &OspfAuth) -> AuthKey {
    match a {
        OspfAuth::None => AuthKey::Null,
        OspfAuth::Simple { key } => AuthKey::simple(key),
        OspfAuth::Md5 { key_id, key } => AuthKey::Crypto {
            alg: CryptoAlg::Md5,
            key_id: *key_id,
            key: key.as_bytes().to_vec(),
        },
        OspfAuth::HmacSha { bits, key_id, key } => AuthKey::Crypto {
            alg: match bits {
                256 => CryptoAlg::HmacSha256,
                384 => CryptoAlg::HmacSha384,
                512 => CryptoAlg::HmacSha512,
                _ => CryptoAlg::HmacSha1,
            },
            key_id: *key_id,
            key: key.as_bytes().to_vec(),
        },
    }
}

/// The router settings: DD sequence numbers and the cryptographic sequence number start
/// from the clock so that a restarted vgwd is never taken for a replay (RFC 2328 D.3).
pub fn router_config(router_id: Ipv4Addr, o: &config::Ospf) -> vgw_ospf::Config {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    vgw_ospf::Config {
        router_id,
        area_id: o.area,
        interfaces: o.interfaces.iter().map(if_config).collect(),
        dd_seq_seed: u32::try_from(now & 0x7fff_ffff).unwrap_or(1),
        crypto_seq_base: u32::try_from(now).unwrap_or(u32::MAX),
    }
}

/// The E2 metric for a VIP announced with `a`.
pub fn metric(base: u32, a: &Attributes) -> u32 {
    if a.communities.contains(&GRACEFUL_SHUTDOWN) {
        DRAIN_METRIC
    } else {
        (base + u32::from(a.as_path_prepend)).min(DRAIN_METRIC - 1)
    }
}

fn v4(vip: IpAddr) -> Result<Ipv4Addr, EffectError> {
    match vip {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(EffectError(format!(
            "{vip}: OSPFv2 carries IPv4 routes only"
        ))),
    }
}

impl OspfRouter {
    /// Starts the router in the current network namespace (interfaces that are missing or
    /// down are picked up when they appear).
    pub fn start(router_id: Ipv4Addr, o: &config::Ospf) -> OspfRouter {
        let (instance, task) = Instance::spawn(router_config(router_id, o));
        info!(
            %router_id,
            area = %o.area,
            interfaces = o.interfaces.len(),
            "OSPF router started"
        );
        OspfRouter {
            instance,
            task,
            settings: (router_id, o.clone()),
            announced: BTreeMap::new(),
        }
    }

    /// The instance, for the API (neighbours, interfaces, database).
    pub fn instance(&self) -> Instance {
        self.instance.clone()
    }

    /// Announces (or re-announces with a new metric) a VIP.
    pub async fn announce(&mut self, vip: IpAddr, a: &Attributes) -> Result<(), EffectError> {
        let addr = v4(vip)?;
        self.instance
            .announce(Prefix::new(addr, 32), metric(self.settings.1.metric, a))
            .await
            .map_err(|e| EffectError(format!("OSPF announce {vip}: {e}")))?;
        self.announced.insert(addr, a.clone());
        Ok(())
    }

    /// Withdraws a VIP: its LSA is flushed at once.
    pub async fn withdraw(&mut self, vip: IpAddr) -> Result<(), EffectError> {
        let addr = v4(vip)?;
        self.instance
            .withdraw(Prefix::new(addr, 32))
            .await
            .map_err(|e| EffectError(format!("OSPF withdraw {vip}: {e}")))?;
        self.announced.remove(&addr);
        Ok(())
    }

    /// Applies a reload: a changed `[ospf]` (or router id) restarts the router and
    /// re-announces what was announced; an unchanged one is left alone.
    pub async fn reconfigure(&mut self, router_id: Ipv4Addr, o: &config::Ospf) {
        if self.settings == (router_id, o.clone()) {
            return;
        }
        info!("[ospf] changed: restarting the OSPF router");
        if self.instance.shutdown(FLUSH_GRACE).await.is_err() {
            warn!("the OSPF router had already stopped");
        }
        let (instance, task) = Instance::spawn(router_config(router_id, o));
        self.instance = instance;
        self.task = task;
        self.settings = (router_id, o.clone());
        for (addr, a) in &self.announced {
            let m = metric(o.metric, a);
            if let Err(e) = self.instance.announce(Prefix::new(*addr, 32), m).await {
                warn!(vip = %addr, "cannot re-announce over OSPF: {e}");
            }
        }
    }

    /// Flushes every LSA we originated (the router-LSA too) and stops the router, waiting
    /// up to 2 s for the neighbours' acknowledgments.
    pub async fn close(&self) {
        info!("OSPF: flushing our LSAs");
        if self.instance.shutdown(FLUSH_GRACE).await.is_err() {
            warn!("the OSPF router had already stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Community;

    #[test]
    fn metric_follows_standby_and_drain() {
        let plain = Attributes::default();
        assert_eq!(metric(20, &plain), 20);
        let standby = Attributes {
            as_path_prepend: 3,
            ..Attributes::default()
        };
        assert_eq!(metric(20, &standby), 23);
        let draining = Attributes {
            communities: vec![Community(0xFDE8_0064), GRACEFUL_SHUTDOWN],
            as_path_prepend: 3,
            ..Attributes::default()
        };
        assert_eq!(metric(20, &draining), DRAIN_METRIC);
        assert!(metric(DRAIN_METRIC - 2, &standby) < DRAIN_METRIC);
    }

    #[test]
    fn interface_settings_carry_over() {
        let i = config::OspfInterface {
            name: "eth1".into(),
            network: OspfNetwork::PointToPoint,
            hello_interval: 1,
            dead_interval: 4,
            cost: 7,
            priority: 0,
            auth: OspfAuth::HmacSha {
                bits: 256,
                key_id: 3,
                key: "k".into(),
            },
        };
        let c = if_config(&i);
        assert_eq!(c.network, NetworkType::PointToPoint);
        assert_eq!(
            (c.hello_interval, c.dead_interval, c.cost, c.priority),
            (1, 4, 7, 0)
        );
        assert_eq!(
            c.auth,
            AuthKey::Crypto {
                alg: CryptoAlg::HmacSha256,
                key_id: 3,
                key: b"k".to_vec()
            }
        );
    }

    #[test]
    fn ipv6_is_refused() {
        assert!(v4("2001:db8::1".parse().unwrap()).is_err());
    }
}
