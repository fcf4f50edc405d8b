//! The daemon's side of the D-Bus API: [`crate::dbus::Backend`] over the core's [`Handle`],
//! and the translation of controller notifications into the API's signals.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vgw_api::{
    AlarmChange, BgpNeighborInfo, BgpRoute, DrainTarget, Event, IpvsTable, OspfInterface, OspfLsa,
    OspfNeighbor, RealChange, RealInfo, ReloadDone, ReloadOutcome, RouteDirection, ServiceInfo,
    Status as ApiStatus, SyncStatus, VipChange, VipInfo,
};

use crate::config::{Config, Dataplane, LoadError, RouteProtocol};
use crate::controller::{AdminError, Health, Output, Target, VipState, VipStatus};
use crate::dbus::{Backend, BackendError};

use super::core::Status;
use super::handle::{Handle, HandleError};

/// The API backend of a running daemon.
pub struct DaemonBackend {
    handle: Handle,
    config_path: PathBuf,
    started: Instant,
    generation: AtomicU64,
    events: mpsc::UnboundedSender<Event>,
    neighbors: Arc<Mutex<Vec<BgpNeighborInfo>>>,
    speaker: Option<(vgw_bgp::Speaker, u32)>,
    ospf: Arc<Mutex<super::routing_view::OspfViews>>,
}

impl std::fmt::Debug for DaemonBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonBackend")
            .field("config_path", &self.config_path)
            .field("bgp", &self.speaker.as_ref().map(|(_, asn)| asn))
            .finish_non_exhaustive()
    }
}

impl DaemonBackend {
    /// A backend on `handle`; reloads re-read `config_path`. API events (signals) go to
    /// `events` (the D-Bus layer's `forward_events`).
    pub fn new(handle: Handle, config_path: PathBuf, events: mpsc::UnboundedSender<Event>) -> Self {
        DaemonBackend {
            handle,
            config_path,
            started: Instant::now(),
            generation: AtomicU64::new(1),
            events,
            neighbors: Arc::default(),
            speaker: None,
            ospf: Arc::default(),
        }
    }

    /// Serves `ListBgpRoutes` from this speaker (our AS number `local_asn`).
    pub fn with_speaker(mut self, speaker: vgw_bgp::Speaker, local_asn: u32) -> Self {
        self.speaker = Some((speaker, local_asn));
        self
    }

    /// Where OSPF state is published for `ListOspf*` (refreshed by the router poller).
    pub fn ospf_cache(&self) -> Arc<Mutex<super::routing_view::OspfViews>> {
        self.ospf.clone()
    }

    /// Where BGP neighbour state is published for `ListBgpNeighbors` (refreshed by the
    /// speaker poller).
    pub fn neighbor_cache(&self) -> Arc<Mutex<Vec<BgpNeighborInfo>>> {
        self.neighbors.clone()
    }

    fn snapshot(&self) -> Arc<Status> {
        self.handle.status()
    }
}

fn vip_state_name(s: &VipStatus, drained: bool) -> &'static str {
    match s.state {
        VipState::Announced => "announced",
        VipState::Degraded => "degraded",
        VipState::Draining => "drained",
        VipState::Withdrawn if drained || s.reason == "drained" => "drained",
        VipState::Withdrawn if s.reason.starts_with("waiting for the first round") => "pending",
        VipState::Withdrawn => "withdrawn",
    }
}

fn health_name(h: Health) -> &'static str {
    match h {
        Health::Up => "up",
        Health::Down => "down",
        Health::Unknown => "unknown",
    }
}

fn protocol_name(p: RouteProtocol) -> String {
    match p {
        RouteProtocol::Bgp => "bgp".into(),
        RouteProtocol::Ospf => "ospf".into(),
    }
}

/// `ListVips()` from a status snapshot.
pub fn vips(s: &Status) -> Vec<VipInfo> {
    s.config
        .vips
        .iter()
        .map(|v| {
            let st = s.view.vips.get(&v.address);
            let drained = s.drained_vips.contains(&v.address) || s.node_drained;
            let announced_via = s
                .view
                .announce
                .keys()
                .filter(|(a, _)| *a == v.address)
                .map(|(_, p)| protocol_name(*p))
                .collect();
            VipInfo {
                address: v.address.to_string(),
                state: st.map_or("pending", |x| vip_state_name(x, drained)).into(),
                reason: st.map(|x| x.reason.clone()).unwrap_or_default(),
                announce: v.announce.iter().map(|p| protocol_name(*p)).collect(),
                announced_via,
                services: s
                    .config
                    .services
                    .iter()
                    .filter(|x| x.vip == v.address)
                    .map(|x| x.name.clone())
                    .collect(),
                communities: v.communities.iter().map(ToString::to_string).collect(),
                med: v.med.map_or(-1, i64::from),
                in_state_secs: 0,
            }
        })
        .collect()
}

/// `ListServices()` from a status snapshot.
pub fn services(s: &Status) -> Vec<ServiceInfo> {
    s.config
        .services
        .iter()
        .map(|svc| {
            let mut healthy = 0u32;
            let reals = svc
                .reals
                .iter()
                .map(|r| {
                    let key = (svc.name.clone(), r.endpoint());
                    let st = s.view.reals.get(&key);
                    let health = st.map_or(Health::Unknown, |x| x.health);
                    let drained = st.is_some_and(|x| x.drained);
                    if health == Health::Up && !drained {
                        healthy += 1;
                    }
                    let check = s.checks.get(&key);
                    RealInfo {
                        address: r.address.to_string(),
                        port: r.port,
                        health: health_name(health).into(),
                        admin: if drained { "drained" } else { "enabled" }.into(),
                        configured_weight: r.weight,
                        effective_weight: st.and_then(|x| x.weight).unwrap_or(0),
                        last_result: check
                            .map(|c| if c.ok { "ok" } else { "fail" })
                            .unwrap_or("")
                            .into(),
                        last_latency_us: check.map_or(0, |c| {
                            u64::try_from(c.latency.as_micros()).unwrap_or(u64::MAX)
                        }),
                        last_reason: check.map(|c| c.detail.clone()).unwrap_or_default(),
                        last_check_secs: check.map_or(0, |c| c.at.elapsed().as_secs()),
                        in_state_secs: 0,
                    }
                })
                .collect();
            let state = if s.view.alarms.contains_key(&svc.name) {
                "protected"
            } else if healthy as usize >= svc.quorum {
                "up"
            } else {
                "down"
            };
            ServiceInfo {
                name: svc.name.clone(),
                vip: svc.vip.to_string(),
                port: svc.port,
                protocol: crate::controller::protocol_name(svc.protocol).into(),
                scheduler: svc.scheduler.clone(),
                forward: serde_json::to_value(svc.forward)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                state: state.into(),
                quorum: u32::try_from(svc.quorum).unwrap_or(u32::MAX),
                healthy,
                check: svc.check.kind.name().into(),
                reals,
            }
        })
        .collect()
}

fn node_name(cfg: &Config) -> String {
    cfg.node.name.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    })
}

fn target_of(cfg: &Config, t: &DrainTarget) -> Result<Target, BackendError> {
    match t {
        DrainTarget::Vip(v) => Ok(Target::Vip(*v)),
        DrainTarget::Node => Ok(Target::Node),
        DrainTarget::Real {
            service,
            address,
            port,
        } => {
            let svc = cfg
                .services
                .iter()
                .find(|s| &s.name == service)
                .ok_or_else(|| BackendError::UnknownService(service.clone()))?;
            let matching: Vec<_> = svc
                .reals
                .iter()
                .filter(|r| r.address == *address && port.is_none_or(|p| p == r.port))
                .collect();
            let shown = match port {
                Some(p) => format!("{}", std::net::SocketAddr::new(*address, *p)),
                None => address.to_string(),
            };
            match matching.as_slice() {
                [r] => Ok(Target::Real {
                    service: service.clone(),
                    real: r.endpoint(),
                }),
                [] => Err(BackendError::UnknownReal {
                    service: service.clone(),
                    real: shown,
                }),
                _ => Err(BackendError::Failed(format!(
                    "service {service:?} has several reals on {address}: name the port ({address}:PORT)"
                ))),
            }
        }
    }
}

fn backend_error(e: HandleError) -> BackendError {
    match e {
        HandleError::Admin(AdminError::UnknownVip(v)) => BackendError::UnknownVip(v.to_string()),
        HandleError::Admin(AdminError::UnknownService(s)) => BackendError::UnknownService(s),
        HandleError::Admin(AdminError::UnknownReal { service, real }) => {
            BackendError::UnknownReal {
                service,
                real: real.to_string(),
            }
        }
        HandleError::Admin(AdminError::ShuttingDown) => {
            BackendError::Unavailable("vgwd is shutting down".into())
        }
        HandleError::Config(LoadError::Invalid(errs)) => BackendError::ReloadRejected(
            errs.errors
                .iter()
                .map(|e| format!("{}:{}:{}: {}", errs.file, e.line, e.column, e.message))
                .collect(),
        ),
        HandleError::Config(e @ LoadError::Read { .. }) => {
            BackendError::ReloadRejected(vec![e.to_string()])
        }
        HandleError::Stopped => BackendError::Failed("vgwd's controller has stopped".into()),
    }
}

/// What a reload changed, one line each (for `ReloadOutcome` and the `ConfigReloaded` signal).
pub fn changes(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let old_vips: BTreeMap<IpAddr, _> = old.vips.iter().map(|v| (v.address, v)).collect();
    let new_vips: BTreeMap<IpAddr, _> = new.vips.iter().map(|v| (v.address, v)).collect();
    for (a, v) in &new_vips {
        match old_vips.get(a) {
            None => out.push(format!("vip {a} added")),
            Some(o) if o != v => out.push(format!("vip {a} changed")),
            _ => {}
        }
    }
    for a in old_vips.keys().filter(|a| !new_vips.contains_key(a)) {
        out.push(format!("vip {a} removed"));
    }
    let old_svcs: BTreeMap<&str, _> = old.services.iter().map(|s| (s.name.as_str(), s)).collect();
    let new_svcs: BTreeMap<&str, _> = new.services.iter().map(|s| (s.name.as_str(), s)).collect();
    for (n, s) in &new_svcs {
        match old_svcs.get(n) {
            None => out.push(format!("service {n} added")),
            Some(o) if o != s => out.push(format!("service {n} changed")),
            _ => {}
        }
    }
    for n in old_svcs.keys().filter(|n| !new_svcs.contains_key(*n)) {
        out.push(format!("service {n} removed"));
    }
    if old.bgp != new.bgp {
        out.push("bgp changed".into());
    }
    if old.ospf != new.ospf {
        out.push("ospf changed".into());
    }
    out
}

impl Backend for DaemonBackend {
    fn status(&self) -> ApiStatus {
        let s = self.snapshot();
        let vips = vips(&s);
        let count =
            |st: &str| u32::try_from(vips.iter().filter(|v| v.state == st).count()).unwrap_or(0);
        let neighbors = self.neighbors.lock().map(|n| n.clone()).unwrap_or_default();
        ApiStatus {
            node: node_name(&s.config),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_secs: self.started.elapsed().as_secs(),
            config_path: self.config_path.display().to_string(),
            config_generation: self.generation.load(Ordering::SeqCst),
            dataplane: match s.config.node.dataplane {
                Dataplane::Ipvs => "ipvs",
                Dataplane::None => "none",
            }
            .into(),
            first_round_done: s.first_round_done,
            node_drained: s.node_drained,
            vips_announced: count("announced") + count("degraded"),
            vips_withdrawn: count("withdrawn") + count("pending"),
            vips_drained: count("drained"),
            neighbors_up: u32::try_from(
                neighbors
                    .iter()
                    .filter(|n| n.state == "Established")
                    .count(),
            )
            .unwrap_or(0),
            neighbors_total: s
                .config
                .bgp
                .as_ref()
                .map_or(0, |b| u32::try_from(b.neighbors.len()).unwrap_or(0)),
            alarms: s
                .view
                .alarms
                .values()
                .map(|a| vgw_api::Alarm {
                    kind: "threshold_protection".into(),
                    subject: a.service.clone(),
                    message: format!(
                        "{} of {} reals failing: kept in rotation",
                        a.failed, a.total
                    ),
                    since_secs: 0,
                })
                .collect(),
        }
    }

    fn vips(&self) -> Vec<VipInfo> {
        vips(&self.snapshot())
    }

    fn services(&self) -> Vec<ServiceInfo> {
        services(&self.snapshot())
    }

    fn bgp_neighbors(&self) -> Vec<BgpNeighborInfo> {
        self.neighbors.lock().map(|n| n.clone()).unwrap_or_default()
    }

    async fn bgp_routes(
        &self,
        neighbor: Option<&str>,
        direction: RouteDirection,
    ) -> Result<Vec<BgpRoute>, BackendError> {
        if let Some(n) = neighbor {
            let known = self
                .snapshot()
                .config
                .bgp
                .as_ref()
                .is_some_and(|b| b.neighbors.iter().any(|x| x.name == n));
            if !known {
                return Err(BackendError::UnknownNeighbor(n.to_string()));
            }
        }
        let Some((speaker, asn)) = &self.speaker else {
            return Err(BackendError::Unavailable(
                "BGP is not configured on this node (no [bgp] section)".into(),
            ));
        };
        super::routing_view::bgp_routes(speaker, *asn, neighbor, direction)
            .await
            .map_err(|e| BackendError::Unavailable(format!("the BGP speaker: {e}")))
    }

    fn ospf_neighbors(&self) -> Vec<OspfNeighbor> {
        self.ospf
            .lock()
            .map(|o| o.neighbors.clone())
            .unwrap_or_default()
    }

    fn ospf_interfaces(&self) -> Vec<OspfInterface> {
        self.ospf
            .lock()
            .map(|o| o.interfaces.clone())
            .unwrap_or_default()
    }

    fn ospf_database(&self) -> Vec<OspfLsa> {
        self.ospf
            .lock()
            .map(|o| o.database.clone())
            .unwrap_or_default()
    }

    async fn ipvs(&self) -> Result<IpvsTable, BackendError> {
        if self.snapshot().config.node.dataplane == Dataplane::None {
            return Err(BackendError::Unavailable(
                "announce-only node (dataplane = \"none\"): no IPVS".into(),
            ));
        }
        let mut client = vgw_ipvs::connect()
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        crate::dbus::ipvs_view::read_ipvs_table(&mut client)
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))
    }

    async fn sync_status(&self) -> SyncStatus {
        if self.snapshot().config.node.dataplane == Dataplane::None {
            return super::sync::status(&[]);
        }
        let running = match vgw_ipvs::connect().await {
            Ok(mut c) => c.daemons().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        super::sync::status(&running)
    }

    async fn drain(&self, target: &DrainTarget) -> Result<(), BackendError> {
        let t = target_of(&self.snapshot().config, target)?;
        self.handle.drain(t).await.map_err(backend_error)
    }

    async fn undrain(&self, target: &DrainTarget) -> Result<(), BackendError> {
        let t = target_of(&self.snapshot().config, target)?;
        self.handle.undrain(t).await.map_err(backend_error)
    }

    async fn reload(&self) -> Result<ReloadOutcome, BackendError> {
        let old = self.snapshot().config.clone();
        self.handle
            .reload_file(&self.config_path)
            .await
            .map_err(backend_error)?;
        let new = self.snapshot().config.clone();
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let changes = changes(&old, &new);
        let _ = self.events.send(Event::ConfigReloaded(ReloadDone {
            generation,
            changes: changes.clone(),
        }));
        Ok(ReloadOutcome {
            generation,
            changes,
        })
    }
}

/// Turns controller notifications into API events (`VipChanged`, `RealChanged`,
/// `AlarmChanged`) until the core stops.
pub fn forward_notifications(
    handle: &Handle,
    events: mpsc::UnboundedSender<Event>,
) -> JoinHandle<()> {
    let mut rx = handle.subscribe();
    let status = handle.watch_status();
    tokio::spawn(async move {
        let mut vip_prev: BTreeMap<IpAddr, String> = BTreeMap::new();
        let mut real_prev: BTreeMap<String, String> = BTreeMap::new();
        loop {
            let output = match rx.recv().await {
                Ok(o) => o,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("API signals: {n} notifications lost (slow consumer)");
                    continue;
                }
                Err(_) => return,
            };
            let event = match output {
                Output::VipChanged(v) => {
                    let drained = {
                        let s = status.borrow();
                        s.drained_vips.contains(&v.vip) || s.node_drained
                    };
                    let state = vip_state_name(&v, drained).to_string();
                    let previous = vip_prev.insert(v.vip, state.clone()).unwrap_or_default();
                    Event::VipChanged(VipChange {
                        address: v.vip.to_string(),
                        state,
                        previous,
                        reason: v.reason,
                    })
                }
                Output::RealChanged(r) => {
                    let key = format!("{}/{}", r.service, r.real);
                    let state = if r.drained {
                        "drained".to_string()
                    } else {
                        health_name(r.health).to_string()
                    };
                    let previous = real_prev.insert(key, state.clone()).unwrap_or_default();
                    Event::RealChanged(RealChange {
                        service: r.service,
                        real: r.real.to_string(),
                        state,
                        previous,
                        effective_weight: r.weight.unwrap_or(0),
                        reason: String::new(),
                    })
                }
                Output::Alarm(a) => Event::AlarmChanged(AlarmChange {
                    kind: "threshold_protection".into(),
                    subject: a.service.clone(),
                    active: a.engaged,
                    message: format!("{} of {} reals failing", a.failed, a.total),
                }),
                _ => continue,
            };
            if events.send(event).is_err() {
                return;
            }
        }
    })
}

/// The API's view of one speaker neighbour.
pub fn neighbor_info(local_asn: u32, n: &vgw_bgp::NeighborState) -> BgpNeighborInfo {
    BgpNeighborInfo {
        name: n.name.clone(),
        address: n.address.to_string(),
        local_asn,
        remote_asn: n.remote_as,
        state: format!("{:?}", n.state),
        in_state_secs: n.uptime_secs.unwrap_or(0),
        router_id: n
            .negotiated
            .as_ref()
            .map(|x| x.peer_id.to_string())
            .unwrap_or_default(),
        hold_time: n.negotiated.as_ref().map_or(0, |x| u32::from(x.hold_time)),
        prefixes_received: u32::try_from(n.rib_in.prefixes_received).unwrap_or(u32::MAX),
        prefixes_advertised: u32::try_from(n.rib_out.prefixes_announced).unwrap_or(u32::MAX),
        last_error: n
            .last_error
            .as_ref()
            .map(|e| e.text.clone())
            .unwrap_or_default(),
    }
}

/// Polls the speaker every second into `cache` and sends `NeighborChanged` on state changes.
pub fn poll_neighbors(
    speaker: vgw_bgp::Speaker,
    local_asn: u32,
    cache: Arc<Mutex<Vec<BgpNeighborInfo>>>,
    events: mpsc::UnboundedSender<Event>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut previous: BTreeMap<String, String> = BTreeMap::new();
        loop {
            tick.tick().await;
            let Ok(states) = speaker.neighbors().await else {
                return;
            };
            let infos: Vec<BgpNeighborInfo> =
                states.iter().map(|n| neighbor_info(local_asn, n)).collect();
            for n in &infos {
                let prev = previous.insert(n.name.clone(), n.state.clone());
                if prev.as_deref() != Some(n.state.as_str()) {
                    let _ = events.send(Event::NeighborChanged(vgw_api::NeighborChange {
                        protocol: "bgp".into(),
                        name: n.name.clone(),
                        address: n.address.clone(),
                        state: n.state.clone(),
                        previous: prev.unwrap_or_default(),
                    }));
                }
            }
            if let Ok(mut c) = cache.lock() {
                *c = infos;
            }
        }
    })
}
