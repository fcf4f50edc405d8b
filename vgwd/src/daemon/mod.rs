//! The daemon runtime: tokio tasks around the sans-IO controller.
//!
//! ```text
//!   SIGHUP ──reload_file──┐
//!   SIGTERM ──shutdown────┤
//!   health source ────────┼──► Handle ──mpsc──► core task (Controller) ──► effects:
//!   D-Bus service ────────┘                          │                     Dataplane (IPVS)
//!                                                     │                     Announcer (BGP/OSPF)
//!   metrics HTTP ◄── watch<Status> ◄──────────────────┤                     VipAddresses (rtnetlink)
//!   systemd notify (READY, STATUS, WATCHDOG) ◄────────┘
//! ```
//!
//! The core only sees the traits of [`effects`]; production wiring is in [`run`], tests plug
//! recording fakes into [`start`].

pub mod addr;
pub mod api;
pub mod core;
pub mod effects;
pub mod handle;
pub mod health;
pub mod ipvs;
pub mod metrics;
pub mod notify;
pub mod ospf;
pub mod routing;
pub mod routing_view;
pub mod sync;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::{Config, Dataplane as DataplaneMode};
use crate::controller::VipState;

pub use self::core::{Command, Core, HealthSource, NoHealth, Status};
pub use effects::{Announcer, Dataplane, EffectError, LogAnnouncer, NoDataplane, VipAddresses};
pub use handle::{Handle, HandleError};

/// Starts the core task with the given effects; returns its handle and join handle.
pub fn start<D, A, V, H>(
    config: Config,
    dataplane: D,
    announcer: A,
    addresses: V,
    health: H,
) -> (Handle, JoinHandle<()>)
where
    D: Dataplane,
    A: Announcer,
    V: VipAddresses,
    H: HealthSource,
{
    let (tx, rx) = mpsc::channel(1024);
    let (core, status, events) =
        Core::new(config, dataplane, announcer, addresses, health, tx.clone());
    let task = tokio::spawn(core.run(rx));
    (Handle { tx, status, events }, task)
}

/// Command-line options the runtime needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration file (re-read on SIGHUP).
    pub config_path: PathBuf,
    /// `--bus`: D-Bus address overriding `[api] dbus`.
    pub bus: Option<String>,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The VIP interface could not be prepared.
    #[error("VIP interface: {0}")]
    Interface(EffectError),
    /// The routing speaker could not start.
    #[error("routing: {0}")]
    Routing(EffectError),
    /// The metrics listener could not bind.
    #[error("metrics listener on {addr}: {source}")]
    Metrics {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Runs the daemon until SIGTERM/SIGINT and the ordered shutdown are done.
pub async fn run(opts: Options, config: Config) -> Result<(), DaemonError> {
    let addresses = addr::NetlinkAddresses::open(&config.node.vip_interface)
        .await
        .map_err(DaemonError::Interface)?;
    info!(
        interface = addresses.interface(),
        "VIP addresses go on this interface"
    );
    let announcer = routing::RoutingAnnouncer::start(&config)
        .await
        .map_err(DaemonError::Routing)?;
    let speaker = announcer.speaker().zip(config.bgp.as_ref().map(|b| b.asn));
    let ospf = announcer.ospf();
    let ospf_config = config.ospf.clone();
    let metrics_addr = config.metrics.as_ref().map(|m| m.listen);
    let bus = crate::dbus::BusAddress::from_config(opts.bus.as_deref().unwrap_or(&config.api.dbus));
    let admin_group = config.api.group.clone();
    let health = health::VgwHealth::start();
    let (handle, core) = match config.node.dataplane {
        DataplaneMode::None => start(config, NoDataplane, announcer, addresses, health),
        DataplaneMode::Ipvs => {
            let kernel = ipvs::KernelIpvs::connect().await;
            start(config, kernel, announcer, addresses, health)
        }
    };
    let signals = spawn_signals(handle.clone(), opts.config_path.clone())?;
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut backend =
        api::DaemonBackend::new(handle.clone(), opts.config_path.clone(), events_tx.clone());
    if let Some((speaker, asn)) = &speaker {
        backend = backend.with_speaker(speaker.clone(), *asn);
    }
    let mut tasks = vec![api::forward_notifications(&handle, events_tx.clone())];
    if let (Some(instance), Some(cfg)) = (&ospf, &ospf_config) {
        tasks.push(routing_view::poll_ospf(
            instance.clone(),
            cfg.clone(),
            backend.ospf_cache(),
            events_tx.clone(),
        ));
    }
    let speaker_for_exit = speaker.as_ref().map(|(s, _)| s.clone());
    if let Some((speaker, asn)) = speaker {
        tasks.push(api::poll_neighbors(
            speaker,
            asn,
            backend.neighbor_cache(),
            events_tx,
        ));
    }
    let metrics = match metrics_addr {
        Some(addr) => Some(
            metrics::serve(
                addr,
                handle.watch_status(),
                metrics::RoutingSamples {
                    bgp: backend.neighbor_cache(),
                    ospf: backend.ospf_cache(),
                },
            )
            .await
            .map_err(|source| DaemonError::Metrics { addr, source })?
            .1,
        ),
        None => None,
    };
    let access = crate::dbus::AccessPolicy {
        admin_group: match admin_group.as_deref().map(crate::dbus::AdminGroup::lookup) {
            Some(Ok(g)) => Some(g),
            Some(Err(e)) => {
                error!("[api] group: {e}; only root may change state over D-Bus");
                None
            }
            None => None,
        },
    };
    // The node keeps doing its job without the API: a missing bus is logged, not fatal.
    let _bus = match crate::dbus::serve(&bus, std::sync::Arc::new(backend), access).await {
        Ok(conn) => {
            info!(%bus, "D-Bus API served");
            tasks.push(crate::dbus::forward_events(conn.clone(), events_rx));
            Some(conn)
        }
        Err(e) => {
            error!("D-Bus API not available: {e}");
            None
        }
    };
    let notifier = notify::Notifier::from_env();
    let systemd = spawn_systemd(handle.clone(), notifier);
    info!("vgwd running");
    if let Err(e) = core.await {
        error!("controller task failed: {e}");
    }
    // Every VIP is withdrawn by now: close the sessions with a Cease so peers do not wait for
    // the hold timer (and do not keep our routes as graceful-restart stale routes).
    if let Some(speaker) = speaker_for_exit {
        let done =
            tokio::time::timeout(Duration::from_secs(5), speaker.shutdown("vgwd stopping")).await;
        if !matches!(done, Ok(Ok(()))) {
            warn!("BGP sessions did not close cleanly within 5 s");
        }
    }

    for t in [Some(signals), Some(systemd), metrics]
        .into_iter()
        .flatten()
    {
        t.abort();
    }
    info!("vgwd stopped");
    Ok(())
}

fn spawn_signals(handle: Handle, path: PathBuf) -> Result<JoinHandle<()>, DaemonError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    info!(file = %path.display(), "SIGHUP: reloading");
                    match handle.reload_file(&path).await {
                        Ok(()) => info!("reload applied"),
                        Err(e) => error!("{e}"),
                    }
                }
                _ = term.recv() => {
                    info!("SIGTERM: ordered shutdown");
                    let _ = handle.shutdown().await;
                }
                _ = int.recv() => {
                    info!("SIGINT: ordered shutdown");
                    let _ = handle.shutdown().await;
                }
            }
        }
    }))
}

/// READY=1 once the first step ran, STATUS= on every change, WATCHDOG=1 at half the interval.
fn spawn_systemd(handle: Handle, notifier: Option<notify::Notifier>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(n) = notifier else { return };
        let mut status = handle.watch_status();
        let watchdog = notify::Notifier::watchdog_interval().map(|d| d / 2);
        let mut tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        let _ = n.notify(&format!("READY=1\nSTATUS={}", summary(&handle.status())));
        loop {
            tokio::select! {
                changed = status.changed() => {
                    if changed.is_err() { return; }
                    let line = summary(&status.borrow_and_update().clone());
                    let _ = n.notify(&format!("STATUS={line}"));
                }
                _ = tick.tick() => {
                    if watchdog.is_some() {
                        let _ = n.notify("WATCHDOG=1");
                    }
                }
            }
        }
    })
}

/// One line for `systemctl status`.
pub fn summary(s: &Status) -> String {
    let announced = s
        .view
        .vips
        .values()
        .filter(|v| v.state != VipState::Withdrawn)
        .count();
    let up = s
        .view
        .reals
        .values()
        .filter(|r| r.health == crate::controller::Health::Up)
        .count();
    format!(
        "{announced}/{} VIPs announced, {up}/{} reals healthy{}",
        s.view.vips.len(),
        s.view.reals.len(),
        if s.first_round_done {
            ""
        } else {
            ", first check round running"
        }
    )
}
