//! The controller: the heart of vgwd, with no I/O at all.
//!
//! ```text
//!   health transitions ─┐
//!   admin drain/undrain ─┤                      ┌─► IPVS desired state (per service)
//!   reload (new Config) ─┼─► Controller::process ┼─► announce / withdraw (per VIP, per protocol)
//!   dataplane health    ─┤     (state + config)  ├─► VIP address add / remove
//!   timer expiries      ─┘                      ├─► alarms, state notifications
//!                                               └─► timers to arm
//! ```
//!
//! Every input updates the state; then the whole desired [`View`] is recomputed from
//! configuration and state, and the difference from the last view becomes the outputs, in an
//! order that is safe to carry out one by one: withdraw, remove addresses, add addresses, IPVS,
//! announce, alarms, notifications, timers. Timers are outputs, so tests need no clock.

mod io;
mod state;
mod view;

use std::net::SocketAddr;
use std::time::Duration;

pub use io::*;
pub use view::View;

use crate::config::{Config, Protocol};
use state::{DrainPhase, State};

/// The controller of one node.
#[derive(Debug, Clone)]
pub struct Controller {
    config: Config,
    state: State,
    view: View,
    shutdown_reported: bool,
}

/// Why an admin command cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No such VIP in the configuration.
    #[error("no VIP {0} in the configuration")]
    UnknownVip(std::net::IpAddr),
    /// No such service.
    #[error("no service named \"{0}\" in the configuration")]
    UnknownService(String),
    /// No such real in the service.
    #[error("service \"{service}\" has no real {real}")]
    UnknownReal {
        /// Service name.
        service: String,
        /// The real.
        real: SocketAddr,
    },
    /// The node is shutting down.
    #[error("vgwd is shutting down")]
    ShuttingDown,
}

impl Controller {
    /// A controller for a configuration. Nothing happens until [`Input::Start`].
    pub fn new(config: Config) -> Controller {
        Controller {
            config,
            state: State::new(),
            view: View::default(),
            shutdown_reported: false,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The last view emitted (what observers and metrics show).
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Whether the first round of health checks is done.
    pub fn first_round_done(&self) -> bool {
        self.state.first_round_done
    }

    /// Whether the node is drained by an admin.
    pub fn node_drained(&self) -> bool {
        self.state.node_drain.is_some()
    }

    /// Whether a VIP is drained by an admin.
    pub fn vip_drained(&self, vip: std::net::IpAddr) -> bool {
        self.state.vip_drain.contains_key(&vip)
    }

    /// Checks an admin target without changing anything.
    pub fn check_target(&self, target: &Target) -> Result<(), AdminError> {
        if self.state.shutdown.is_some() {
            return Err(AdminError::ShuttingDown);
        }
        match target {
            Target::Node => Ok(()),
            Target::Vip(v) => {
                if self.config.vips.iter().any(|x| x.address == *v) {
                    Ok(())
                } else {
                    Err(AdminError::UnknownVip(*v))
                }
            }
            Target::Real { service, real } => {
                let s = self
                    .config
                    .services
                    .iter()
                    .find(|s| &s.name == service)
                    .ok_or_else(|| AdminError::UnknownService(service.clone()))?;
                if s.reals.iter().any(|r| r.endpoint() == *real) {
                    Ok(())
                } else {
                    Err(AdminError::UnknownReal {
                        service: service.clone(),
                        real: *real,
                    })
                }
            }
        }
    }

    /// Feeds one input; returns what to do, in order.
    pub fn process(&mut self, input: Input) -> Vec<Output> {
        let mut timers = Vec::new();
        let mut out = Vec::new();
        match input {
            Input::Start => self.state.started = true,
            Input::Health {
                service,
                real,
                healthy,
            } => self.health(&service, real, healthy, &mut timers),
            Input::FirstRoundDone => self.state.first_round_done = true,
            Input::Drain(target) => {
                if let Err(e) = self.check_target(&target) {
                    out.push(Output::Rejected {
                        reason: e.to_string(),
                    });
                } else {
                    self.drain(target, &mut timers);
                }
            }
            Input::Undrain(target) => {
                if let Err(e) = self.check_target(&target) {
                    out.push(Output::Rejected {
                        reason: e.to_string(),
                    });
                } else {
                    self.undrain(target, &mut timers);
                }
            }
            Input::Reload(config) => {
                if self.state.shutdown.is_some() {
                    out.push(Output::Rejected {
                        reason: AdminError::ShuttingDown.to_string(),
                    });
                } else {
                    self.reload(*config);
                }
            }
            Input::Dataplane {
                ipvs,
                vip_interface,
            } => {
                self.state.ipvs_ok = ipvs;
                self.state.vip_interface_ok = vip_interface;
            }
            Input::Timer(timer) => self.timer(timer, &mut timers),
            Input::Shutdown => self.shutdown(&mut timers),
        }
        if !self.state.first_round_done && self.every_target_checked() {
            self.state.first_round_done = true;
        }
        if self.state.started {
            let new = view::compute(&self.config, &self.state);
            view::diff(&self.view, &new, &mut out);
            self.view = new;
        }
        out.extend(timers);
        if matches!(self.state.shutdown, Some(DrainPhase { expired: true, .. }))
            && !self.shutdown_reported
        {
            self.shutdown_reported = true;
            out.push(Output::ShutdownComplete);
        }
        out
    }

    fn every_target_checked(&self) -> bool {
        self.config.services.iter().all(|s| {
            s.reals
                .iter()
                .all(|r| self.state.real(&s.name, r.endpoint()).health != Health::Unknown)
        })
    }

    fn health(&mut self, service: &str, real: SocketAddr, healthy: bool, timers: &mut Vec<Output>) {
        let Some(svc) = self.config.services.iter().find(|s| s.name == service) else {
            return;
        };
        if !svc.reals.iter().any(|r| r.endpoint() == real) {
            return;
        }
        let slow_start = svc.slow_start;
        let ramp_allowed = self.state.first_round_done;
        let seq = self.state.seq();
        let rs = self.state.real_mut(service, real);
        let new = if healthy { Health::Up } else { Health::Down };
        if rs.health == new {
            return;
        }
        rs.health = new;
        rs.ramp = None;
        if healthy && ramp_allowed && !rs.drained {
            if let Some(total) = slow_start {
                rs.ramp = Some(1);
                rs.ramp_seq = seq;
                timers.push(ramp_timer(service, real, seq, total));
            }
        }
    }

    fn drain(&mut self, target: Target, timers: &mut Vec<Output>) {
        match target {
            Target::Node => {
                if self.state.node_drain.is_none() {
                    let seq = self.state.seq();
                    let time = self.config.node.drain_time;
                    self.state.node_drain = Some(DrainPhase {
                        seq,
                        expired: time.is_zero(),
                    });
                    if !time.is_zero() {
                        timers.push(arm(Timer::NodeDrain { seq }, time));
                    }
                }
            }
            Target::Vip(vip) => {
                if !self.state.vip_drain.contains_key(&vip) {
                    let seq = self.state.seq();
                    let time = self
                        .config
                        .vips
                        .iter()
                        .find(|v| v.address == vip)
                        .map_or(self.config.node.drain_time, |v| v.drain_time);
                    self.state.vip_drain.insert(
                        vip,
                        DrainPhase {
                            seq,
                            expired: time.is_zero(),
                        },
                    );
                    if !time.is_zero() {
                        timers.push(arm(Timer::VipDrain { vip, seq }, time));
                    }
                }
            }
            Target::Real { service, real } => {
                let rs = self.state.real_mut(&service, real);
                rs.drained = true;
                rs.ramp = None;
            }
        }
    }

    fn undrain(&mut self, target: Target, timers: &mut Vec<Output>) {
        match target {
            Target::Node => self.state.node_drain = None,
            Target::Vip(vip) => {
                self.state.vip_drain.remove(&vip);
            }
            Target::Real { service, real } => {
                let slow_start = self
                    .config
                    .services
                    .iter()
                    .find(|s| s.name == service)
                    .and_then(|s| s.slow_start);
                let seq = self.state.seq();
                let rs = self.state.real_mut(&service, real);
                if !rs.drained {
                    return;
                }
                rs.drained = false;
                if rs.health == Health::Up {
                    if let Some(total) = slow_start {
                        rs.ramp = Some(1);
                        rs.ramp_seq = seq;
                        timers.push(ramp_timer(&service, real, seq, total));
                    }
                }
            }
        }
    }

    fn timer(&mut self, timer: Timer, timers: &mut Vec<Output>) {
        match timer {
            Timer::VipDrain { vip, seq } => {
                if let Some(d) = self.state.vip_drain.get_mut(&vip) {
                    if d.seq == seq {
                        d.expired = true;
                    }
                }
            }
            Timer::NodeDrain { seq } => {
                if let Some(d) = self.state.node_drain.as_mut() {
                    if d.seq == seq {
                        d.expired = true;
                    }
                }
            }
            Timer::Shutdown => {
                if let Some(d) = self.state.shutdown.as_mut() {
                    d.expired = true;
                }
            }
            Timer::SlowStart { service, real, seq } => {
                let slow_start = self
                    .config
                    .services
                    .iter()
                    .find(|s| s.name == service)
                    .and_then(|s| s.slow_start);
                let rs = self.state.real_mut(&service, real);
                let (Some(step), Some(total)) = (rs.ramp, slow_start) else {
                    return;
                };
                if rs.ramp_seq != seq {
                    return;
                }
                if step + 1 >= view::RAMP_STEPS {
                    rs.ramp = None;
                } else {
                    rs.ramp = Some(step + 1);
                    timers.push(ramp_timer(&service, real, seq, total));
                }
            }
        }
    }

    fn shutdown(&mut self, timers: &mut Vec<Output>) {
        if self.state.shutdown.is_some() {
            return;
        }
        let time = self.config.node.drain_time;
        // Nothing announced: nobody to warn, withdraw (nothing) and go.
        let wait = !time.is_zero() && !self.view.announce.is_empty();
        self.state.shutdown = Some(DrainPhase {
            seq: 0,
            expired: !wait,
        });
        if wait {
            timers.push(arm(Timer::Shutdown, time));
        }
    }

    fn reload(&mut self, config: Config) {
        // Keep the state of reals, VIPs and services that survive; forget the rest.
        let keep: std::collections::BTreeSet<(String, SocketAddr)> = config
            .services
            .iter()
            .flat_map(|s| s.reals.iter().map(move |r| (s.name.clone(), r.endpoint())))
            .collect();
        self.state.reals.retain(|k, _| keep.contains(k));
        self.state
            .vip_drain
            .retain(|vip, _| config.vips.iter().any(|v| v.address == *vip));
        self.config = config;
    }
}

fn arm(timer: Timer, after: Duration) -> Output {
    Output::ArmTimer {
        timer,
        after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
    }
}

fn ramp_timer(service: &str, real: SocketAddr, seq: u64, total: Duration) -> Output {
    arm(
        Timer::SlowStart {
            service: service.to_string(),
            real,
            seq,
        },
        total / u32::from(view::RAMP_STEPS - 1),
    )
}

/// Protocol name as IPVS tools write it.
pub fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}
