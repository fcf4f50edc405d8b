//! The daemon core: the controller in one task, fed by one channel, carrying out the
//! controller's outputs in order through the effect traits.
//!
//! ```text
//!  health source ─┐                 ┌──────────── Core task ─────────────┐
//!  signals       ─┼─► mpsc Command ─►  Controller::process(Input)        │──► Dataplane::apply
//!  D-Bus/Handle  ─┤                 │  outputs executed one by one       │──► Announcer
//!  timer tasks   ─┘ ◄── Input::Timer ─ ArmTimer spawns a sleep task      │──► VipAddresses
//!                                   │  probe every 2 s: IPVS / interface │
//!                                   └──► watch<Status> (metrics, API) ───┘──► broadcast<Output>
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::{Config, Service};
use crate::controller::{AdminError, Controller, Input, IpvsService, Output, Target, View};

use super::effects::{Announcer, Dataplane, VipAddresses};

/// How long a VIP's address stays after its withdrawal was sent (SIGTERM, or a reload that
/// removes the VIP): the switches must have removed the route before the address goes. The
/// lab measured 0.1–0.5 s from withdraw() to the route leaving BIRD's kernel FIB under
/// software emulation; one second leaves a margin. Quorum-loss withdrawals keep the address.
pub const WITHDRAW_SETTLE: Duration = Duration::from_secs(1);

/// Messages to the core task.
#[derive(Debug)]
pub enum Command {
    /// A controller input (health, timers, dataplane state, shutdown).
    Input(Input),
    /// An admin drain (`drain = true`) or undrain, answered once applied.
    Admin {
        /// Drain or undrain.
        drain: bool,
        /// What.
        target: Target,
        /// The answer.
        reply: oneshot::Sender<Result<(), AdminError>>,
    },
    /// A new, validated configuration, answered once applied.
    Reload {
        /// The configuration.
        config: Box<Config>,
        /// The answer.
        reply: oneshot::Sender<Result<(), AdminError>>,
    },
    /// One check result (for metrics: latency and last outcome).
    CheckResult {
        /// Service name.
        service: String,
        /// The real.
        real: SocketAddr,
        /// Passed or failed.
        ok: bool,
        /// How long the check took.
        latency: Duration,
        /// What the checker said.
        detail: String,
    },
}

/// Where health results come from (the vgw-health scheduler in production).
pub trait HealthSource: Send + 'static {
    /// Checks exactly the reals of `services` from now on (called at start and on every
    /// reload). Results are sent to `sink` as [`Input::Health`] transitions,
    /// [`Command::CheckResult`] observations and one [`Input::FirstRoundDone`].
    fn configure(&mut self, services: &[Service], sink: mpsc::Sender<Command>);
}

/// A health source that checks nothing (tests feed health through the [`super::Handle`]).
#[derive(Debug, Default)]
pub struct NoHealth;

impl HealthSource for NoHealth {
    fn configure(&mut self, _services: &[Service], _sink: mpsc::Sender<Command>) {}
}

/// Counters for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// IPVS applies that succeeded.
    pub reconcile_ok: u64,
    /// IPVS applies that failed.
    pub reconcile_errors: u64,
    /// Announcements/withdrawals that failed.
    pub announce_errors: u64,
    /// Address changes that failed.
    pub address_errors: u64,
    /// Reloads applied.
    pub reloads: u64,
}

/// Last check result of one real.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckObservation {
    /// Passed.
    pub ok: bool,
    /// Latency.
    pub latency: Duration,
    /// Checker's words.
    pub detail: String,
    /// When the result arrived.
    pub at: std::time::Instant,
}

/// What the core publishes after every step (read by metrics and the D-Bus backend).
#[derive(Debug, Clone)]
pub struct Status {
    /// Configuration in force.
    pub config: Arc<Config>,
    /// The controller's view.
    pub view: View,
    /// First round of checks done.
    pub first_round_done: bool,
    /// The node is drained by an admin.
    pub node_drained: bool,
    /// VIPs drained by an admin.
    pub drained_vips: Vec<std::net::IpAddr>,
    /// Counters.
    pub counters: Counters,
    /// Last check result per real.
    pub checks: BTreeMap<(String, SocketAddr), CheckObservation>,
    /// IPVS usable at the last probe.
    pub ipvs_usable: bool,
    /// VIP interface usable at the last probe.
    pub interface_usable: bool,
}

/// How often IPVS and the VIP interface are probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// The core task's state.
pub struct Core<D, A, V, H> {
    controller: Controller,
    dataplane: D,
    announcer: A,
    addresses: V,
    health: H,
    desired: BTreeMap<String, IpvsService>,
    tx: mpsc::Sender<Command>,
    status: watch::Sender<Arc<Status>>,
    events: broadcast::Sender<Output>,
    timers: Vec<JoinHandle<()>>,
    counters: Counters,
    checks: BTreeMap<(String, SocketAddr), CheckObservation>,
    ipvs_usable: bool,
    interface_usable: bool,
    pending: VecDeque<Input>,
}

impl<D: Dataplane, A: Announcer, V: VipAddresses, H: HealthSource> Core<D, A, V, H> {
    /// A core for `config`. `tx` must be the sender of the channel later given to [`Core::run`].
    pub fn new(
        config: Config,
        dataplane: D,
        announcer: A,
        addresses: V,
        health: H,
        tx: mpsc::Sender<Command>,
    ) -> (
        Self,
        watch::Receiver<Arc<Status>>,
        broadcast::Sender<Output>,
    ) {
        let controller = Controller::new(config);
        let status = Status {
            config: Arc::new(controller.config().clone()),
            view: View::default(),
            first_round_done: false,
            node_drained: false,
            drained_vips: Vec::new(),
            counters: Counters::default(),
            checks: BTreeMap::new(),
            ipvs_usable: true,
            interface_usable: true,
        };
        let (status_tx, status_rx) = watch::channel(Arc::new(status));
        let (events, _) = broadcast::channel(1024);
        let core = Core {
            controller,
            dataplane,
            announcer,
            addresses,
            health,
            desired: BTreeMap::new(),
            tx,
            status: status_tx,
            events: events.clone(),
            timers: Vec::new(),
            counters: Counters::default(),
            checks: BTreeMap::new(),
            ipvs_usable: true,
            interface_usable: true,
            pending: VecDeque::new(),
        };
        (core, status_rx, events)
    }

    /// Runs until the controller reports [`Output::ShutdownComplete`] or every sender is gone.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        self.health
            .configure(&self.controller.config().services, self.tx.clone());
        let sync = self.controller.config().sync.clone();
        self.sync(sync.as_ref()).await;
        let mut done = self.step(Input::Start).await;
        let mut probe = tokio::time::interval(PROBE_INTERVAL);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !done {
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    done = self.command(cmd).await;
                }
                _ = probe.tick() => {
                    done = self.probe().await;
                }
            }
        }
        for t in self.timers.drain(..) {
            t.abort();
        }
        self.announcer.close().await;
        info!("controller stopped");
    }

    async fn sync(&mut self, sync: Option<&crate::config::Sync>) {
        if let Err(e) = self.dataplane.configure_sync(sync).await {
            self.counters.reconcile_errors += 1;
            error!("IPVS sync daemons: {e}");
        }
    }

    async fn command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Input(input) => self.step(input).await,
            Command::Admin {
                drain,
                target,
                reply,
            } => {
                let checked = self.controller.check_target(&target);
                let input = if drain {
                    Input::Drain(target.clone())
                } else {
                    Input::Undrain(target.clone())
                };
                let done = if checked.is_ok() {
                    info!(?target, drain, "admin command");
                    self.step(input).await
                } else {
                    false
                };
                let _ = reply.send(checked);
                done
            }
            Command::Reload { config, reply } => {
                if let Err(e) = self.controller.check_target(&Target::Node) {
                    let _ = reply.send(Err(e));
                    return false;
                }
                self.health.configure(&config.services, self.tx.clone());
                self.announcer.reconfigure(&config).await;
                self.sync(config.sync.as_ref()).await;
                let done = self.step(Input::Reload(config)).await;
                self.counters.reloads += 1;
                self.publish();
                let _ = reply.send(Ok(()));
                done
            }
            Command::CheckResult {
                service,
                real,
                ok,
                latency,
                detail,
            } => {
                self.checks.insert(
                    (service, real),
                    CheckObservation {
                        ok,
                        latency,
                        detail,
                        at: std::time::Instant::now(),
                    },
                );
                self.publish();
                false
            }
        }
    }

    /// Probes IPVS and the VIP interface; a change becomes an [`Input::Dataplane`].
    async fn probe(&mut self) -> bool {
        let ipvs = self.dataplane.usable().await;
        let iface = self.addresses.usable().await;
        if ipvs == self.ipvs_usable && iface == self.interface_usable {
            return false;
        }
        if ipvs && !self.ipvs_usable {
            info!("IPVS is usable again: re-applying the desired table");
            self.flush_ipvs().await;
        }
        self.ipvs_usable = ipvs;
        self.interface_usable = iface;
        self.step(Input::Dataplane {
            ipvs,
            vip_interface: iface,
        })
        .await
    }

    /// Processes one input and everything it leads to. Returns true when shutdown is complete.
    async fn step(&mut self, input: Input) -> bool {
        self.pending.push_back(input);
        let mut done = false;
        while let Some(input) = self.pending.pop_front() {
            let outputs = self.controller.process(input);
            done |= self.execute(outputs).await;
        }
        self.publish();
        done
    }

    async fn execute(&mut self, outputs: Vec<Output>) -> bool {
        let mut ipvs_dirty = false;
        let mut done = false;
        // VIPs withdrawn in this batch: their addresses may leave only once the switches had
        // time to act on the withdrawal, or traffic still routed here would be black-holed.
        let mut withdrawn_now = std::collections::BTreeSet::new();
        let mut settled = false;
        for output in outputs {
            let is_ipvs = matches!(output, Output::IpvsService(_) | Output::IpvsRemove(_));
            if ipvs_dirty && !is_ipvs {
                self.flush_ipvs().await;
                ipvs_dirty = false;
            }
            match &output {
                Output::Withdraw { vip, protocol } => {
                    info!(%vip, ?protocol, "withdraw");
                    withdrawn_now.insert(*vip);
                    if let Err(e) = self.announcer.withdraw(*vip, *protocol).await {
                        self.counters.announce_errors += 1;
                        error!(%vip, ?protocol, "withdraw failed: {e}");
                    }
                }
                Output::Announce {
                    vip,
                    protocol,
                    attributes,
                } => {
                    info!(%vip, ?protocol, ?attributes, "announce");
                    if let Err(e) = self.announcer.announce(*vip, *protocol, attributes).await {
                        self.counters.announce_errors += 1;
                        error!(%vip, ?protocol, "announce failed: {e}");
                    }
                }
                Output::AddAddress { vip } => {
                    info!(%vip, "adding VIP address");
                    if let Err(e) = self.addresses.add(*vip).await {
                        self.counters.address_errors += 1;
                        error!(%vip, "cannot add the VIP address: {e}");
                    }
                }
                Output::RemoveAddress { vip } => {
                    if withdrawn_now.contains(vip) && !settled {
                        info!(%vip, settle = ?WITHDRAW_SETTLE, "waiting for the withdrawal to take effect before removing the address");
                        tokio::time::sleep(WITHDRAW_SETTLE).await;
                        settled = true;
                    }
                    info!(%vip, "removing VIP address");
                    if let Err(e) = self.addresses.remove(*vip).await {
                        self.counters.address_errors += 1;
                        error!(%vip, "cannot remove the VIP address: {e}");
                    }
                }
                Output::IpvsService(svc) => {
                    self.desired.insert(svc.key.name.clone(), svc.clone());
                    ipvs_dirty = true;
                }
                Output::IpvsRemove(key) => {
                    self.desired.remove(&key.name);
                    ipvs_dirty = true;
                }
                Output::ArmTimer { timer, after_ms } => {
                    let tx = self.tx.clone();
                    let timer = timer.clone();
                    let after = Duration::from_millis(*after_ms);
                    self.timers.retain(|t| !t.is_finished());
                    self.timers.push(tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        let _ = tx.send(Command::Input(Input::Timer(timer))).await;
                    }));
                }
                Output::Alarm(alarm) => {
                    if alarm.engaged {
                        warn!(service = %alarm.service, failed = alarm.failed, total = alarm.total,
                            "threshold protection engaged: failing reals kept in rotation");
                    } else {
                        info!(service = %alarm.service, "threshold protection released");
                    }
                }
                Output::Rejected { reason } => warn!("input rejected: {reason}"),
                Output::VipChanged(s) => {
                    info!(vip = %s.vip, state = ?s.state, reason = %s.reason, "VIP state")
                }
                Output::RealChanged(r) => {
                    info!(service = %r.service, real = %r.real, health = ?r.health, weight = ?r.weight, "real state")
                }
                Output::RealRemoved { .. } | Output::VipRemoved { .. } => {}
                Output::ShutdownComplete => done = true,
            }
            let _ = self.events.send(output);
        }
        if ipvs_dirty {
            self.flush_ipvs().await;
        }
        done
    }

    async fn flush_ipvs(&mut self) {
        let desired: Vec<IpvsService> = self.desired.values().cloned().collect();
        match self.dataplane.apply(&desired).await {
            Ok(()) => self.counters.reconcile_ok += 1,
            Err(e) => {
                self.counters.reconcile_errors += 1;
                error!("IPVS update failed: {e}; withdrawing until IPVS is usable again");
                if self.ipvs_usable {
                    self.ipvs_usable = false;
                    self.pending.push_back(Input::Dataplane {
                        ipvs: false,
                        vip_interface: self.interface_usable,
                    });
                }
            }
        }
    }

    fn publish(&self) {
        let status = Status {
            config: Arc::new(self.controller.config().clone()),
            view: self.controller.view().clone(),
            first_round_done: self.controller.first_round_done(),
            node_drained: self.controller.node_drained(),
            drained_vips: self
                .controller
                .config()
                .vips
                .iter()
                .map(|v| v.address)
                .filter(|v| self.controller.vip_drained(*v))
                .collect(),
            counters: self.counters.clone(),
            checks: self.checks.clone(),
            ipvs_usable: self.ipvs_usable,
            interface_usable: self.interface_usable,
        };
        self.status.send_replace(Arc::new(status));
    }
}
