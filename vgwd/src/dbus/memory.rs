//! A [`Backend`] that keeps its whole state in memory: for tests of the D-Bus service and of
//! vgwctl, and for demos. It is not a fake that accepts anything: a drain changes what
//! `Status`, `ListVips`, `ListServices` and `ListIpvs` report afterwards, emits the same
//! signals the daemon emits, and unknown targets are errors.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::mpsc;
use vgw_api::{
    addr_port, BgpNeighborInfo, BgpRoute, DrainTarget, Event, IpvsTable, OspfInterface, OspfLsa,
    OspfNeighbor, RealChange, RealInfo, ReloadDone, ReloadOutcome, RouteDirection, ServiceInfo,
    Status, SyncStatus, VipChange, VipInfo,
};

use super::{Backend, BackendError};

/// Everything the memory backend reports. `status`'s counters are recomputed from the VIPs and
/// neighbours on every read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryState {
    /// Node summary (counters are overwritten on read).
    pub status: Status,
    /// VIPs.
    pub vips: Vec<VipInfo>,
    /// Services.
    pub services: Vec<ServiceInfo>,
    /// BGP neighbours.
    pub bgp_neighbors: Vec<BgpNeighborInfo>,
    /// Routes of every neighbour and direction.
    pub bgp_routes: Vec<BgpRoute>,
    /// OSPF neighbours.
    pub ospf_neighbors: Vec<OspfNeighbor>,
    /// OSPF interfaces.
    pub ospf_interfaces: Vec<OspfInterface>,
    /// OSPF LSDB.
    pub ospf_database: Vec<OspfLsa>,
    /// The IPVS table; `None` on an announce-only node.
    pub ipvs: Option<IpvsTable>,
    /// Sync state.
    pub sync: SyncStatus,
}

/// What the next `Reload()` finds in the "file".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextReload {
    /// A valid file with these changes.
    Valid(Vec<String>),
    /// A broken file with these `file:line:col: message` errors.
    Broken(Vec<String>),
}

struct Inner {
    state: MemoryState,
    /// State of each drained VIP before its drain, to restore on undrain.
    saved_vip_state: Vec<(String, String, String)>,
    /// VIPs the node drain drained (undrain node restores exactly these).
    drained_by_node: BTreeSet<String>,
    next_reload: NextReload,
}

/// The in-memory backend. Events go to the receiver [`MemoryBackend::new`] returns (hand it to
/// [`super::forward_events`]).
pub struct MemoryBackend {
    inner: Mutex<Inner>,
    events: mpsc::UnboundedSender<Event>,
}

impl MemoryBackend {
    /// A backend over `state`, and the stream of events its commands cause.
    pub fn new(state: MemoryState) -> (MemoryBackend, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Inner {
            state,
            saved_vip_state: Vec::new(),
            drained_by_node: BTreeSet::new(),
            next_reload: NextReload::Valid(Vec::new()),
        };
        (
            MemoryBackend {
                inner: Mutex::new(inner),
                events: tx,
            },
            rx,
        )
    }

    /// Sets what the next `Reload()` will find.
    pub fn set_next_reload(&self, next: NextReload) {
        self.lock().next_reload = next;
    }

    /// Publishes an event as if the daemon had seen the change (neighbour and alarm changes
    /// have no command that causes them).
    pub fn inject(&self, event: Event) {
        // A closed receiver means nobody forwards signals any more; nothing to do then.
        let _ = self.events.send(event);
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> MemoryState {
        self.lock().state.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, events: Vec<Event>) {
        for e in events {
            self.inject(e);
        }
    }
}

fn ip_eq(text: &str, ip: &IpAddr) -> bool {
    text.parse::<IpAddr>().is_ok_and(|a| a == *ip)
}

impl Inner {
    fn drain_vip(&mut self, addr: &str, reason: &str) -> Option<Event> {
        let vip = self.state.vips.iter_mut().find(|v| v.address == addr)?;
        if vip.state == "drained" {
            return None;
        }
        self.saved_vip_state
            .push((vip.address.clone(), vip.state.clone(), vip.reason.clone()));
        let previous = std::mem::replace(&mut vip.state, "drained".to_owned());
        vip.reason = reason.to_owned();
        vip.announced_via.clear();
        vip.in_state_secs = 0;
        Some(Event::VipChanged(VipChange {
            address: vip.address.clone(),
            state: vip.state.clone(),
            previous,
            reason: reason.to_owned(),
        }))
    }

    fn undrain_vip(&mut self, addr: &str) -> Option<Event> {
        let vip = self.state.vips.iter_mut().find(|v| v.address == addr)?;
        if vip.state != "drained" {
            return None;
        }
        let pos = self.saved_vip_state.iter().position(|(a, _, _)| a == addr);
        let (state, reason) = match pos.map(|p| self.saved_vip_state.remove(p)) {
            Some((_, s, r)) => (s, r),
            None => ("withdrawn".to_owned(), "undrained".to_owned()),
        };
        if state == "announced" || state == "degraded" {
            vip.announced_via = vip.announce.clone();
        }
        let previous = std::mem::replace(&mut vip.state, state);
        vip.reason = reason;
        vip.in_state_secs = 0;
        Some(Event::VipChanged(VipChange {
            address: vip.address.clone(),
            state: vip.state.clone(),
            previous,
            reason: "admin undrain".to_owned(),
        }))
    }

    /// Finds the real; `Err` names what is missing.
    fn real_mut(
        &mut self,
        service: &str,
        address: &IpAddr,
        port: Option<u16>,
    ) -> Result<(&mut ServiceInfo, usize), BackendError> {
        let unknown_real = || BackendError::UnknownReal {
            service: service.to_owned(),
            real: match port {
                Some(p) => addr_port(&address.to_string(), p),
                None => address.to_string(),
            },
        };
        let svc = self
            .state
            .services
            .iter_mut()
            .find(|s| s.name == service)
            .ok_or_else(|| BackendError::UnknownService(service.to_owned()))?;
        let matches: Vec<usize> = svc
            .reals
            .iter()
            .enumerate()
            .filter(|(_, r)| ip_eq(&r.address, address) && port.is_none_or(|p| p == r.port))
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            [] => Err(unknown_real()),
            [i] => Ok((svc, *i)),
            _ => Err(BackendError::Failed(format!(
                "service {service:?} has several reals on {address}; name the port \
                 (ADDR:PORT)"
            ))),
        }
    }

    /// Puts the real's effective weight into the IPVS table too.
    fn program(&mut self, svc: &ServiceInfo, real: &RealInfo) {
        let Some(table) = self.state.ipvs.as_mut() else {
            return;
        };
        let port = if real.port == 0 { svc.port } else { real.port };
        for s in table.services.iter_mut() {
            if s.address == svc.vip && s.port == svc.port && s.protocol == svc.protocol {
                for d in s.dests.iter_mut() {
                    if d.address == real.address && d.port == port {
                        d.weight = real.effective_weight;
                    }
                }
            }
        }
    }

    fn set_real_admin(
        &mut self,
        service: &str,
        address: &IpAddr,
        port: Option<u16>,
        drained: bool,
    ) -> Result<Option<Event>, BackendError> {
        let (svc, i) = self.real_mut(service, address, port)?;
        let Some(real) = svc.reals.get_mut(i) else {
            return Err(BackendError::Failed(
                "real server list changed underfoot".into(),
            ));
        };
        let now_drained = real.admin == "drained";
        if now_drained == drained {
            return Ok(None);
        }
        let health = real.health.clone();
        let (admin, weight, state, previous, reason) = if drained {
            ("drained", 0, "drained".to_owned(), health, "admin drain")
        } else {
            let w = if health == "up" {
                real.configured_weight
            } else {
                0
            };
            ("enabled", w, health, "drained".to_owned(), "admin undrain")
        };
        real.admin = admin.to_owned();
        real.effective_weight = weight;
        let event = Event::RealChanged(RealChange {
            service: svc.name.clone(),
            real: addr_port(
                &real.address,
                if real.port == 0 { svc.port } else { real.port },
            ),
            state,
            previous,
            effective_weight: weight,
            reason: reason.to_owned(),
        });
        let real = real.clone();
        let svc = svc.clone();
        self.program(&svc, &real);
        Ok(Some(event))
    }

    fn status(&self) -> Status {
        let mut s = self.state.status.clone();
        let count = |f: &dyn Fn(&str) -> bool| {
            u32::try_from(self.state.vips.iter().filter(|v| f(&v.state)).count())
                .unwrap_or(u32::MAX)
        };
        s.vips_announced = count(&|st| st == "announced" || st == "degraded");
        s.vips_withdrawn = count(&|st| st == "withdrawn" || st == "pending");
        s.vips_drained = count(&|st| st == "drained");
        let bgp_up = self
            .state
            .bgp_neighbors
            .iter()
            .filter(|n| n.state == "Established")
            .count();
        let ospf_up = self
            .state
            .ospf_neighbors
            .iter()
            .filter(|n| n.state == "Full")
            .count();
        let total = self.state.bgp_neighbors.len() + self.state.ospf_neighbors.len();
        s.neighbors_up = u32::try_from(bgp_up + ospf_up).unwrap_or(u32::MAX);
        s.neighbors_total = u32::try_from(total).unwrap_or(u32::MAX);
        s
    }
}

impl Backend for MemoryBackend {
    fn status(&self) -> Status {
        self.lock().status()
    }
    fn vips(&self) -> Vec<VipInfo> {
        self.lock().state.vips.clone()
    }
    fn services(&self) -> Vec<ServiceInfo> {
        self.lock().state.services.clone()
    }
    fn bgp_neighbors(&self) -> Vec<BgpNeighborInfo> {
        self.lock().state.bgp_neighbors.clone()
    }
    async fn bgp_routes(
        &self,
        neighbor: Option<&str>,
        direction: RouteDirection,
    ) -> Result<Vec<BgpRoute>, BackendError> {
        let inner = self.lock();
        if let Some(n) = neighbor {
            if !inner.state.bgp_neighbors.iter().any(|b| b.name == n) {
                return Err(BackendError::UnknownNeighbor(n.to_owned()));
            }
        }
        Ok(inner
            .state
            .bgp_routes
            .iter()
            .filter(|r| r.direction == direction.as_str())
            .filter(|r| neighbor.is_none_or(|n| r.neighbor == n))
            .cloned()
            .collect())
    }
    fn ospf_neighbors(&self) -> Vec<OspfNeighbor> {
        self.lock().state.ospf_neighbors.clone()
    }
    fn ospf_interfaces(&self) -> Vec<OspfInterface> {
        self.lock().state.ospf_interfaces.clone()
    }
    fn ospf_database(&self) -> Vec<OspfLsa> {
        self.lock().state.ospf_database.clone()
    }
    async fn ipvs(&self) -> Result<IpvsTable, BackendError> {
        self.lock().state.ipvs.clone().ok_or_else(|| {
            BackendError::Unavailable(
                "this node is announce-only (dataplane = \"none\"): it has no IPVS table".into(),
            )
        })
    }
    async fn sync_status(&self) -> SyncStatus {
        self.lock().state.sync.clone()
    }
    async fn drain(&self, target: &DrainTarget) -> Result<(), BackendError> {
        let events = {
            let mut inner = self.lock();
            match target {
                DrainTarget::Vip(ip) => {
                    let addr = inner
                        .state
                        .vips
                        .iter()
                        .find(|v| ip_eq(&v.address, ip))
                        .map(|v| v.address.clone())
                        .ok_or_else(|| BackendError::UnknownVip(ip.to_string()))?;
                    inner.drain_vip(&addr, "admin drain").into_iter().collect()
                }
                DrainTarget::Real {
                    service,
                    address,
                    port,
                } => inner
                    .set_real_admin(service, address, *port, true)?
                    .into_iter()
                    .collect(),
                DrainTarget::Node => {
                    inner.state.status.node_drained = true;
                    let addrs: Vec<String> =
                        inner.state.vips.iter().map(|v| v.address.clone()).collect();
                    let mut events = Vec::new();
                    for a in addrs {
                        if let Some(e) = inner.drain_vip(&a, "node drain") {
                            inner.drained_by_node.insert(a);
                            events.push(e);
                        }
                    }
                    events
                }
            }
        };
        self.publish(events);
        Ok(())
    }
    async fn undrain(&self, target: &DrainTarget) -> Result<(), BackendError> {
        let events = {
            let mut inner = self.lock();
            match target {
                DrainTarget::Vip(ip) => {
                    let addr = inner
                        .state
                        .vips
                        .iter()
                        .find(|v| ip_eq(&v.address, ip))
                        .map(|v| v.address.clone())
                        .ok_or_else(|| BackendError::UnknownVip(ip.to_string()))?;
                    inner.drained_by_node.remove(&addr);
                    inner.undrain_vip(&addr).into_iter().collect()
                }
                DrainTarget::Real {
                    service,
                    address,
                    port,
                } => inner
                    .set_real_admin(service, address, *port, false)?
                    .into_iter()
                    .collect(),
                DrainTarget::Node => {
                    inner.state.status.node_drained = false;
                    let addrs = std::mem::take(&mut inner.drained_by_node);
                    addrs.iter().filter_map(|a| inner.undrain_vip(a)).collect()
                }
            }
        };
        self.publish(events);
        Ok(())
    }
    async fn reload(&self) -> Result<ReloadOutcome, BackendError> {
        let outcome = {
            let mut inner = self.lock();
            match inner.next_reload.clone() {
                NextReload::Broken(errors) => return Err(BackendError::ReloadRejected(errors)),
                NextReload::Valid(changes) => {
                    inner.state.status.config_generation += 1;
                    inner.next_reload = NextReload::Valid(Vec::new());
                    ReloadOutcome {
                        generation: inner.state.status.config_generation,
                        changes,
                    }
                }
            }
        };
        self.inject(Event::ConfigReloaded(ReloadDone {
            generation: outcome.generation,
            changes: outcome.changes.clone(),
        }));
        Ok(outcome)
    }
}
