//! The [`HealthSource`] over vgw-health's scheduler: one target per real (id
//! `service/address:port`), its check built from `[service.check]`. Transitions become
//! [`Input::Health`]; the latest result of every target is sampled once a second for metrics
//! and the API (latency, last outcome).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use vgw_health::config::StatusSpec;
use vgw_health::{
    CheckConfig, CheckKind as HKind, HealthHandle, HealthService, HumanDuration, Outcome,
    ServiceOptions, Target, TargetId,
};

use crate::config::{Check, CheckKind, Service};
use crate::controller::Input;

use super::core::{Command, HealthSource};

/// The vgw-health scheduler, owned by the daemon.
pub struct VgwHealth {
    _service: HealthService,
    handle: HealthHandle,
    targets: BTreeMap<TargetId, (String, SocketAddr, Check)>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for VgwHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VgwHealth")
            .field("targets", &self.targets.len())
            .finish()
    }
}

impl Drop for VgwHealth {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl VgwHealth {
    /// Starts the scheduler on the current runtime.
    pub fn start() -> VgwHealth {
        let service = HealthService::start(ServiceOptions::default());
        let handle = service.handle();
        VgwHealth {
            _service: service,
            handle,
            targets: BTreeMap::new(),
            tasks: Vec::new(),
        }
    }
}

/// The target id of one real of one service.
pub fn target_id(service: &str, real: SocketAddr) -> TargetId {
    TargetId::new(format!("{service}/{real}"))
}

fn parse_id(id: &TargetId) -> Option<(String, SocketAddr)> {
    let (service, real) = id.as_str().rsplit_once('/')?;
    Some((service.to_string(), real.parse().ok()?))
}

/// vgw-health's form of a validated `[service.check]`.
pub fn check_config(c: &Check) -> CheckConfig {
    let mut cc = CheckConfig {
        interval: Some(HumanDuration(c.interval)),
        timeout: Some(HumanDuration(c.timeout)),
        rise: Some(c.rise),
        fall: Some(c.fall),
        connect_port: c.port,
        ..CheckConfig::default()
    };
    cc.kind = Some(match &c.kind {
        CheckKind::Tcp => HKind::Tcp,
        CheckKind::Udp { send, expect } => {
            cc.send = send.clone();
            cc.expect = expect.clone();
            HKind::Udp
        }
        CheckKind::Http(h) | CheckKind::Https(h) => {
            cc.path = Some(h.path.clone());
            cc.host = h.host.clone();
            cc.expect_status = Some(
                h.expect_status
                    .iter()
                    .map(|s| StatusSpec::Code(*s))
                    .collect(),
            );
            if matches!(c.kind, CheckKind::Http(_)) {
                HKind::Http
            } else {
                HKind::Https
            }
        }
        CheckKind::Dns { query, query_type } => {
            cc.query_name = Some(query.clone());
            cc.query_type = Some(query_type.clone());
            HKind::Dns
        }
        CheckKind::Icmp => HKind::Icmp,
        CheckKind::Exec { command } => {
            cc.command = Some(command.clone());
            HKind::Exec
        }
        CheckKind::File { path } => {
            cc.path = Some(path.clone());
            HKind::File
        }
    });
    cc
}

impl HealthSource for VgwHealth {
    fn configure(&mut self, services: &[Service], sink: mpsc::Sender<Command>) {
        let mut wanted = BTreeMap::new();
        for s in services {
            for r in &s.reals {
                wanted.insert(
                    target_id(&s.name, r.endpoint()),
                    (s.name.clone(), r.endpoint(), s.check.clone()),
                );
            }
        }
        let gone: Vec<TargetId> = self
            .targets
            .keys()
            .filter(|id| !wanted.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Err(e) = self.handle.remove(&id) {
                warn!(target = %id, "cannot stop checking: {e}");
            }
            self.targets.remove(&id);
        }
        for (id, (service, real, check)) in wanted {
            if self.targets.get(&id).is_some_and(|(_, _, c)| *c == check) {
                continue;
            }
            let spec = match check_config(&check).validate() {
                Ok(spec) => spec,
                Err(e) => {
                    warn!(target = %id, "check not started: {e}");
                    continue;
                }
            };
            let target = Target::new(id.clone(), real.ip(), real.port());
            let result = if self.targets.contains_key(&id) {
                self.handle.update(target, spec)
            } else {
                self.handle.add(target, spec)
            };
            match result {
                Ok(()) => {
                    self.targets.insert(id, (service, real, check));
                }
                Err(e) => warn!(target = %id, "check not started: {e}"),
            }
        }
        if self.tasks.is_empty() {
            self.tasks
                .push(pump_transitions(&self.handle, sink.clone()));
            self.tasks.push(sample_results(self.handle.clone(), sink));
        }
        info!(targets = self.targets.len(), "health checks configured");
    }
}

fn pump_transitions(handle: &HealthHandle, sink: mpsc::Sender<Command>) -> JoinHandle<()> {
    let mut events = handle.subscribe();
    tokio::spawn(async move {
        loop {
            let ev = match events.recv().await {
                Ok(ev) => ev,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    warn!("{n} health transitions lost; the next ones resynchronise");
                    continue;
                }
                Err(_) => return,
            };
            let Some((service, real)) = parse_id(&ev.target_id) else {
                continue;
            };
            let healthy = match ev.to {
                vgw_health::State::Up => true,
                vgw_health::State::Down => false,
                vgw_health::State::Unknown => continue,
            };
            info!(%service, %real, healthy, reason = %ev.reason, "health transition");
            let input = Input::Health {
                service,
                real,
                healthy,
            };
            if sink.send(Command::Input(input)).await.is_err() {
                return;
            }
        }
    })
}

fn sample_results(handle: HealthHandle, sink: mpsc::Sender<Command>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut seen: BTreeMap<TargetId, u64> = BTreeMap::new();
        loop {
            tick.tick().await;
            for id in handle.targets() {
                let Some(st) = handle.latest(&id) else {
                    continue;
                };
                let Some(last) = st.last else { continue };
                if seen.insert(id.clone(), st.checks) == Some(st.checks) {
                    continue;
                }
                let Some((service, real)) = parse_id(&id) else {
                    continue;
                };
                let (ok, detail) = match &last.outcome {
                    Outcome::Up { .. } => (true, String::new()),
                    Outcome::Down { reason } => (false, reason.to_string()),
                };
                let cmd = Command::CheckResult {
                    service,
                    real,
                    ok,
                    latency: last.latency,
                    detail,
                };
                if sink.send(cmd).await.is_err() {
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_check_is_accepted_by_vgw_health() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for f in ["full.toml", "announce-only.toml"] {
            let cfg = crate::config::load(&dir.join(f)).expect("valid example");
            for s in &cfg.services {
                if let Err(e) = check_config(&s.check).validate() {
                    panic!("{f}: service {}: {e}", s.name);
                }
            }
        }
    }

    #[test]
    fn target_ids_round_trip() {
        let real: SocketAddr = "[2001:db8::1]:80".parse().expect("sa");
        assert_eq!(
            parse_id(&target_id("a/b", real)),
            Some(("a/b".to_string(), real))
        );
    }
}
