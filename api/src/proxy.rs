//! The client side of `org.vgw.Vgwd1`, used by vgwctl.

use zbus::proxy;

use crate::{
    BgpNeighborInfo, BgpRoute, IpvsTable, OspfInterface, OspfLsa, OspfNeighbor, ReloadOutcome,
    ServiceInfo, Status, SyncStatus, VipInfo,
};

/// Typed calls to vgwd. Errors come back as `zbus::Error::MethodError(name, message, _)` with
/// the names in [`crate::errors`].
#[proxy(
    interface = "org.vgw.Vgwd1",
    default_service = "org.vgw.Vgwd1",
    default_path = "/org/vgw/Vgwd1"
)]
pub trait Vgwd1 {
    /// Node summary.
    fn status(&self) -> zbus::Result<Status>;
    /// Every VIP.
    fn list_vips(&self) -> zbus::Result<Vec<VipInfo>>;
    /// One VIP by address.
    fn get_vip(&self, address: &str) -> zbus::Result<VipInfo>;
    /// Every service with its reals.
    fn list_services(&self) -> zbus::Result<Vec<ServiceInfo>>;
    /// One service by name.
    fn get_service(&self, name: &str) -> zbus::Result<ServiceInfo>;
    /// BGP neighbours.
    fn list_bgp_neighbors(&self) -> zbus::Result<Vec<BgpNeighborInfo>>;
    /// Routes of one neighbour (`""`: all), `direction` `"advertised"` or `"received"`.
    fn list_bgp_routes(&self, neighbor: &str, direction: &str) -> zbus::Result<Vec<BgpRoute>>;
    /// OSPF neighbours.
    fn list_ospf_neighbors(&self) -> zbus::Result<Vec<OspfNeighbor>>;
    /// OSPF interfaces.
    fn list_ospf_interfaces(&self) -> zbus::Result<Vec<OspfInterface>>;
    /// OSPF link-state database headers.
    fn list_ospf_database(&self) -> zbus::Result<Vec<OspfLsa>>;
    /// The kernel IPVS table.
    fn list_ipvs(&self) -> zbus::Result<IpvsTable>;
    /// Connection sync state.
    fn sync_status(&self) -> zbus::Result<SyncStatus>;
    /// Drain `kind` (`"vip"`, `"real"`, `"node"`) `target`. Needs root or the admin group.
    fn drain(&self, kind: &str, target: &str) -> zbus::Result<()>;
    /// Undo a drain. Needs root or the admin group.
    fn undrain(&self, kind: &str, target: &str) -> zbus::Result<()>;
    /// Re-read the configuration and apply the difference. Needs root or the admin group.
    fn reload(&self) -> zbus::Result<ReloadOutcome>;
}
