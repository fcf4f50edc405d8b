//! The narrow interfaces through which the daemon core reaches the outside world (in the spirit
//! of Seesaw's NCC): IPVS, route announcements and VIP addresses. The core only ever calls these
//! traits; the real implementations (kernel IPVS, BGP speaker, rtnetlink) and the recording fakes
//! of the tests plug in behind them.

use std::future::Future;
use std::net::IpAddr;

use crate::config::{Config, RouteProtocol, Sync};
use crate::controller::{Attributes, IpvsService};

/// An effect that failed, for the log and the counters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EffectError(pub String);

/// Kernel IPVS, driven declaratively.
pub trait Dataplane: Send + 'static {
    /// Makes the kernel match `desired`: every service vgw owns, with its destinations and
    /// weights. Services vgw does not own are left alone; nothing is flushed.
    fn apply(
        &mut self,
        desired: &[IpvsService],
    ) -> impl Future<Output = Result<(), EffectError>> + Send;

    /// Whether IPVS is usable right now (node self-health).
    fn usable(&mut self) -> impl Future<Output = bool> + Send;

    /// Keeps the kernel's connection-sync daemons as `[sync]` says (at start and on every
    /// reload). `None`: leave them alone.
    fn configure_sync(
        &mut self,
        _sync: Option<&Sync>,
    ) -> impl Future<Output = Result<(), EffectError>> + Send {
        async { Ok(()) }
    }
}

/// Route announcements (BGP, OSPF).
pub trait Announcer: Send + 'static {
    /// Announces (or re-announces with new attributes) a VIP with one protocol.
    fn announce(
        &mut self,
        vip: IpAddr,
        protocol: RouteProtocol,
        attributes: &Attributes,
    ) -> impl Future<Output = Result<(), EffectError>> + Send;

    /// Withdraws a VIP from one protocol.
    fn withdraw(
        &mut self,
        vip: IpAddr,
        protocol: RouteProtocol,
    ) -> impl Future<Output = Result<(), EffectError>> + Send;

    /// A reload changed the configuration: update sessions whose settings changed and leave
    /// the others alone.
    fn reconfigure(&mut self, _config: &Config) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The ordered shutdown is done (every VIP withdrawn): leave the routing protocols
    /// cleanly (OSPF flushes its router-LSA) before the announcer is dropped.
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// VIP addresses on the VIP interface.
pub trait VipAddresses: Send + 'static {
    /// Adds a VIP (/32 or /128); adding one that is there is not an error.
    fn add(&mut self, vip: IpAddr) -> impl Future<Output = Result<(), EffectError>> + Send;

    /// Removes a VIP; removing one that is gone is not an error.
    fn remove(&mut self, vip: IpAddr) -> impl Future<Output = Result<(), EffectError>> + Send;

    /// Whether the VIP interface exists and is up.
    fn usable(&mut self) -> impl Future<Output = bool> + Send;
}

/// A dataplane for `dataplane = "none"`: never asked to do anything, always usable.
#[derive(Debug, Default)]
pub struct NoDataplane;

impl Dataplane for NoDataplane {
    async fn apply(&mut self, _desired: &[IpvsService]) -> Result<(), EffectError> {
        Ok(())
    }

    async fn usable(&mut self) -> bool {
        true
    }
}

/// An announcer for a node without routing protocols configured (or whose protocol crate is
/// not wired in): records nothing, logs what would be announced.
#[derive(Debug, Default)]
pub struct LogAnnouncer;

impl Announcer for LogAnnouncer {
    async fn announce(
        &mut self,
        vip: IpAddr,
        protocol: RouteProtocol,
        attributes: &Attributes,
    ) -> Result<(), EffectError> {
        tracing::warn!(%vip, ?protocol, ?attributes, "no speaker for this protocol: announcement not sent");
        Ok(())
    }

    async fn withdraw(&mut self, vip: IpAddr, protocol: RouteProtocol) -> Result<(), EffectError> {
        tracing::warn!(%vip, ?protocol, "no speaker for this protocol: withdrawal not sent");
        Ok(())
    }
}
