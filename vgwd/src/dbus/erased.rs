//! [`Backend`] made object-safe, so the D-Bus object is one concrete type whatever the daemon
//! plugs in.

use std::future::Future;
use std::pin::Pin;

use vgw_api::{
    BgpNeighborInfo, BgpRoute, DrainTarget, IpvsTable, OspfInterface, OspfLsa, OspfNeighbor,
    ReloadOutcome, RouteDirection, ServiceInfo, Status, SyncStatus, VipInfo,
};

use super::{Backend, BackendError};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe mirror of [`Backend`]; implemented for every `Backend`.
pub(crate) trait DynBackend: Send + Sync {
    fn status(&self) -> Status;
    fn vips(&self) -> Vec<VipInfo>;
    fn services(&self) -> Vec<ServiceInfo>;
    fn bgp_neighbors(&self) -> Vec<BgpNeighborInfo>;
    fn bgp_routes<'a>(
        &'a self,
        neighbor: Option<&'a str>,
        direction: RouteDirection,
    ) -> BoxFuture<'a, Result<Vec<BgpRoute>, BackendError>>;
    fn ospf_neighbors(&self) -> Vec<OspfNeighbor>;
    fn ospf_interfaces(&self) -> Vec<OspfInterface>;
    fn ospf_database(&self) -> Vec<OspfLsa>;
    fn ipvs(&self) -> BoxFuture<'_, Result<IpvsTable, BackendError>>;
    fn sync_status(&self) -> BoxFuture<'_, SyncStatus>;
    fn drain<'a>(&'a self, target: &'a DrainTarget) -> BoxFuture<'a, Result<(), BackendError>>;
    fn undrain<'a>(&'a self, target: &'a DrainTarget) -> BoxFuture<'a, Result<(), BackendError>>;
    fn reload(&self) -> BoxFuture<'_, Result<ReloadOutcome, BackendError>>;
}

impl<B: Backend> DynBackend for B {
    fn status(&self) -> Status {
        Backend::status(self)
    }
    fn vips(&self) -> Vec<VipInfo> {
        Backend::vips(self)
    }
    fn services(&self) -> Vec<ServiceInfo> {
        Backend::services(self)
    }
    fn bgp_neighbors(&self) -> Vec<BgpNeighborInfo> {
        Backend::bgp_neighbors(self)
    }
    fn bgp_routes<'a>(
        &'a self,
        neighbor: Option<&'a str>,
        direction: RouteDirection,
    ) -> BoxFuture<'a, Result<Vec<BgpRoute>, BackendError>> {
        Box::pin(Backend::bgp_routes(self, neighbor, direction))
    }
    fn ospf_neighbors(&self) -> Vec<OspfNeighbor> {
        Backend::ospf_neighbors(self)
    }
    fn ospf_interfaces(&self) -> Vec<OspfInterface> {
        Backend::ospf_interfaces(self)
    }
    fn ospf_database(&self) -> Vec<OspfLsa> {
        Backend::ospf_database(self)
    }
    fn ipvs(&self) -> BoxFuture<'_, Result<IpvsTable, BackendError>> {
        Box::pin(Backend::ipvs(self))
    }
    fn sync_status(&self) -> BoxFuture<'_, SyncStatus> {
        Box::pin(Backend::sync_status(self))
    }
    fn drain<'a>(&'a self, target: &'a DrainTarget) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(Backend::drain(self, target))
    }
    fn undrain<'a>(&'a self, target: &'a DrainTarget) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(Backend::undrain(self, target))
    }
    fn reload(&self) -> BoxFuture<'_, Result<ReloadOutcome, BackendError>> {
        Box::pin(Backend::reload(self))
    }
}
