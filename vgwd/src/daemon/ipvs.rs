//! The [`Dataplane`] over the vgw-ipvs client and reconciler: every apply reads the kernel
//! table, plans the minimal change with `vgw_ipvs::plan` and executes it. What the kernel already
//! has is adopted (a restart of vgwd does not flush or disturb live traffic); services that are
//! not in the configuration are only ever deleted if this process programmed them.

use std::collections::BTreeSet;

use tracing::{debug, info, warn};
use vgw_ipvs::model::{
    Destination, FwdMethod, Protocol as IpvsProtocol, Service, ServiceFlags, ServiceKey,
};
use vgw_ipvs::{plan, IpvsClient, NetlinkTransport, Ownership, ServiceState, State};

use crate::config::{Forward, Protocol};
use crate::controller::IpvsService;

use super::effects::{Dataplane, EffectError};

/// Kernel IPVS through generic netlink.
pub struct KernelIpvs {
    /// `None` until the IPVS family could be resolved (retried on every probe).
    client: Option<IpvsClient<NetlinkTransport>>,
    /// Services this process put in the kernel (may be deleted when they leave the config).
    owned: BTreeSet<ServiceKey>,
}

impl std::fmt::Debug for KernelIpvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelIpvs")
            .field("owned", &self.owned)
            .finish()
    }
}

impl KernelIpvs {
    /// Connects to the kernel's IPVS family. A kernel without IPVS is not an error here: the
    /// connection is retried on every probe, and IPVS reports unusable until then.
    pub async fn connect() -> KernelIpvs {
        let mut k = KernelIpvs {
            client: None,
            owned: BTreeSet::new(),
        };
        if let Err(e) = k.client().await {
            warn!("IPVS is not usable yet: {e}");
        }
        k
    }

    async fn client(&mut self) -> Result<&mut IpvsClient<NetlinkTransport>, EffectError> {
        if self.client.is_none() {
            let c = vgw_ipvs::connect()
                .await
                .map_err(|e| EffectError(e.to_string()))?;
            info!(dialect = ?c.dialect(), "IPVS family found");
            self.client = Some(c);
        }
        self.client
            .as_mut()
            .ok_or_else(|| EffectError("IPVS client missing".into()))
    }
}

/// The reconciler's desired state for the controller's services.
pub fn desired_state(services: &[IpvsService]) -> State {
    let mut state = State::default();
    for s in services {
        let key = ServiceKey::Addr {
            protocol: match s.key.protocol {
                Protocol::Tcp => IpvsProtocol::Tcp,
                Protocol::Udp => IpvsProtocol::Udp,
                Protocol::Sctp => IpvsProtocol::Sctp,
            },
            addr: s.key.vip,
            port: s.key.port,
        };
        let mut svc = Service::new(key, &s.scheduler);
        if let Some(timeout) = s.persistence {
            svc.flags = ServiceFlags(ServiceFlags::PERSISTENT);
            svc.timeout = timeout;
        }
        let fwd = match s.forward {
            Forward::Dr => FwdMethod::Route,
            Forward::Tun => FwdMethod::Tunnel,
            Forward::Nat => FwdMethod::Masq,
            Forward::Fullnat => FwdMethod::Fullnat,
        };
        let mut st = ServiceState::new(svc);
        for r in &s.reals {
            st = st.with_dest(Destination::new(r.real.ip(), r.real.port(), fwd, r.weight));
        }
        st.laddrs = s.local_addresses.iter().copied().collect();
        state.insert(st);
    }
    state
}

impl Dataplane for KernelIpvs {
    async fn apply(&mut self, desired: &[IpvsService]) -> Result<(), EffectError> {
        let want = desired_state(desired);
        let owned = Ownership::Keys(self.owned.clone());
        let client = self.client().await?;
        let actual = client
            .read_state()
            .await
            .map_err(|e| EffectError(format!("cannot read the IPVS table: {e}")))?;
        let ops = plan(&want, &actual, &owned);
        debug!(ops = ops.len(), "IPVS reconcile");
        let mut errors = Vec::new();
        for (op, result) in ops.iter().zip(client.apply(&ops).await) {
            if let Err(e) = result {
                errors.push(format!("{op:?}: {e}"));
            }
        }
        self.owned = want.services.keys().copied().collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(EffectError(errors.join("; ")))
        }
    }

    async fn configure_sync(
        &mut self,
        sync: Option<&crate::config::Sync>,
    ) -> Result<(), EffectError> {
        if sync.is_none() {
            return Ok(());
        }
        let client = self.client().await?;
        let running = client
            .daemons()
            .await
            .map_err(|e| EffectError(format!("cannot read the sync daemons: {e}")))?;
        let todo = super::sync::plan(sync, &running);
        let mut errors = Vec::new();
        for state in todo.stop {
            info!(?state, "stopping the IPVS sync daemon");
            if let Err(e) = client.stop_daemon(state).await {
                errors.push(format!("stop {state:?}: {e}"));
            }
        }
        for d in todo.start {
            info!(state = ?d.state, interface = %d.mcast_ifn, sync_id = d.sync_id, "starting the IPVS sync daemon");
            if let Err(e) = client.start_daemon(&d).await {
                errors.push(format!("start {:?} on {}: {e}", d.state, d.mcast_ifn));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(EffectError(errors.join("; ")))
        }
    }

    async fn usable(&mut self) -> bool {
        match self.client().await {
            Ok(c) => c.info().await.is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{IpvsKey, IpvsReal};

    #[test]
    fn controller_services_map_to_reconciler_state() {
        let svc = IpvsService {
            key: IpvsKey {
                name: "web".into(),
                vip: "192.0.2.10".parse().expect("ip"),
                port: 80,
                protocol: Protocol::Tcp,
            },
            scheduler: "wrr".into(),
            forward: Forward::Dr,
            persistence: Some(300),
            local_addresses: vec![],
            reals: vec![IpvsReal {
                real: "10.1.1.1:80".parse().expect("sa"),
                weight: 7,
            }],
        };
        let st = desired_state(&[svc]);
        let (key, s) = st.services.iter().next().expect("one service");
        assert_eq!(key.to_string(), "TCP 192.0.2.10:80");
        assert_eq!(s.service.scheduler, "wrr");
        assert!(s.service.flags.contains(ServiceFlags::PERSISTENT));
        assert_eq!(s.service.timeout, 300);
        let d = s.dests.values().next().expect("one dest");
        assert_eq!((d.fwd, d.weight, d.port), (FwdMethod::Route, 7, 80));
    }
}
