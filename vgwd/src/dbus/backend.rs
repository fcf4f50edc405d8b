//! What the D-Bus service needs from the daemon: the [`Backend`] trait.
//!
//! Reads are plain functions over a snapshot the daemon keeps (they must not block); the
//! calls that need the kernel, a session task or the controller are async.

use std::future::Future;

use vgw_api::{
    BgpNeighborInfo, BgpRoute, DrainTarget, IpvsTable, OspfInterface, OspfLsa, OspfNeighbor,
    ReloadOutcome, RouteDirection, ServiceInfo, Status, SyncStatus, VipInfo,
};

/// The daemon side of `org.vgw.Vgwd1`. The D-Bus layer does argument parsing, access control
/// and error naming; a backend only answers questions and carries out commands.
pub trait Backend: Send + Sync + 'static {
    /// `Status()`.
    fn status(&self) -> Status;
    /// `ListVips()`, in configuration order.
    fn vips(&self) -> Vec<VipInfo>;
    /// `ListServices()`, in configuration order.
    fn services(&self) -> Vec<ServiceInfo>;
    /// `ListBgpNeighbors()`, in configuration order; empty when BGP is not configured.
    fn bgp_neighbors(&self) -> Vec<BgpNeighborInfo>;
    /// `ListBgpRoutes(neighbor, direction)`: `neighbor` is `None` for every neighbor. Answer
    /// [`BackendError::UnknownNeighbor`] for a name that is not configured.
    fn bgp_routes(
        &self,
        neighbor: Option<&str>,
        direction: RouteDirection,
    ) -> impl Future<Output = Result<Vec<BgpRoute>, BackendError>> + Send;
    /// `ListOspfNeighbors()`; empty when OSPF is not configured.
    fn ospf_neighbors(&self) -> Vec<OspfNeighbor>;
    /// `ListOspfInterfaces()`.
    fn ospf_interfaces(&self) -> Vec<OspfInterface>;
    /// `ListOspfDatabase()`.
    fn ospf_database(&self) -> Vec<OspfLsa>;
    /// `ListIpvs()`: read the kernel table. [`BackendError::Unavailable`] on an announce-only
    /// node or when IPVS cannot be read.
    fn ipvs(&self) -> impl Future<Output = Result<IpvsTable, BackendError>> + Send;
    /// `SyncStatus()`.
    fn sync_status(&self) -> impl Future<Output = SyncStatus> + Send;
    /// `Drain(kind, target)`, parsed by the D-Bus layer. Draining something already drained
    /// is not an error.
    fn drain(&self, target: &DrainTarget) -> impl Future<Output = Result<(), BackendError>> + Send;
    /// `Undrain(kind, target)`; the reverse of [`Backend::drain`].
    fn undrain(
        &self,
        target: &DrainTarget,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
    /// `Reload()`: re-read the configuration file and apply the difference. A broken file is
    /// [`BackendError::ReloadRejected`] and changes nothing.
    fn reload(&self) -> impl Future<Output = Result<ReloadOutcome, BackendError>> + Send;
}

/// Why a backend call failed. Each variant becomes a D-Bus error name from
/// [`vgw_api::errors`]; the D-Bus layer adds the list of known names for the `Unknown*` ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No such VIP on this node.
    #[error("no VIP {0} on this node")]
    UnknownVip(String),
    /// No such service.
    #[error("no service named {0:?} on this node")]
    UnknownService(String),
    /// The service exists, the real does not.
    #[error("service {service:?} has no real server {real}")]
    UnknownReal {
        /// Service name.
        service: String,
        /// `ADDR[:PORT]` as given.
        real: String,
    },
    /// No such routing neighbour.
    #[error("no BGP neighbor named {0:?}")]
    UnknownNeighbor(String),
    /// The subsystem is not there (announce-only node has no IPVS, OSPF not configured, ...).
    #[error("{0}")]
    Unavailable(String),
    /// The new configuration has errors; each entry is one `file:line:col: message`.
    #[error("configuration rejected, nothing changed:\n{}", .0.join("\n"))]
    ReloadRejected(Vec<String>),
    /// Anything else, with a sentence for the operator.
    #[error("{0}")]
    Failed(String),
}
