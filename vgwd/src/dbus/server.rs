//! The `org.vgw.Vgwd1` object: typed methods over a [`Backend`], access control on the ones
//! that change state, and the signals.

use std::net::IpAddr;
use std::sync::Arc;

use tracing::{info, warn};
use vgw_api::{
    BgpNeighborInfo, BgpRoute, DrainTarget, IpvsTable, OspfInterface, OspfLsa, OspfNeighbor,
    ReloadOutcome, RouteDirection, ServiceInfo, Status, SyncStatus, VipInfo,
};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{interface, Connection};

use super::access::AccessPolicy;
use super::erased::DynBackend;
use super::error::{known, ApiError};
use super::BackendError;

/// The exported object. Build it with [`super::serve`].
pub struct Vgwd1Server {
    backend: Arc<dyn DynBackend>,
    access: AccessPolicy,
}

impl Vgwd1Server {
    pub(crate) fn new(backend: Arc<dyn DynBackend>, access: AccessPolicy) -> Self {
        Vgwd1Server { backend, access }
    }

    fn name_error(&self, err: BackendError) -> ApiError {
        let b = &self.backend;
        ApiError::from_backend(
            err,
            || b.vips().into_iter().map(|v| v.address).collect(),
            || b.services().into_iter().map(|s| s.name).collect(),
            || b.bgp_neighbors().into_iter().map(|n| n.name).collect(),
        )
    }

    async fn admin(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        action: &str,
        what: &str,
    ) -> Result<(), ApiError> {
        match self.access.authorize(conn, header, action).await {
            Ok(caller) => {
                info!(uid = caller.uid, caller = %caller.bus_name, "{action} {what}");
                Ok(())
            }
            Err(e) => {
                warn!("refused {action} {what}: {e}");
                Err(e)
            }
        }
    }
}

fn parse_target(kind: &str, target: &str) -> Result<DrainTarget, ApiError> {
    DrainTarget::parse(kind, target).map_err(|e| ApiError::InvalidArgument(e.to_string()))
}

fn same_ip(configured: &str, wanted: &IpAddr) -> bool {
    configured.parse::<IpAddr>().is_ok_and(|a| a == *wanted)
}

#[interface(name = "org.vgw.Vgwd1")]
impl Vgwd1Server {
    /// Node summary: name, uptime, configuration generation, VIP and neighbour counts, alarms.
    async fn status(&self) -> Status {
        self.backend.status()
    }

    /// Every VIP with its announcement state.
    async fn list_vips(&self) -> Vec<VipInfo> {
        self.backend.vips()
    }

    /// One VIP; `address` in any textual form of the IP address.
    async fn get_vip(&self, address: &str) -> Result<VipInfo, ApiError> {
        let wanted: IpAddr = address.parse().map_err(|_| {
            let names: Vec<String> = self.backend.vips().into_iter().map(|v| v.address).collect();
            ApiError::InvalidArgument(format!(
                "{address:?} is not an IP address; a VIP is named by its address ({})",
                known("VIPs", &names)
            ))
        })?;
        self.backend
            .vips()
            .into_iter()
            .find(|v| same_ip(&v.address, &wanted))
            .ok_or_else(|| self.name_error(BackendError::UnknownVip(address.to_owned())))
    }

    /// Every service with its reals, their health, weights and last check.
    async fn list_services(&self) -> Vec<ServiceInfo> {
        self.backend.services()
    }

    /// One service by name.
    async fn get_service(&self, name: &str) -> Result<ServiceInfo, ApiError> {
        self.backend
            .services()
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| self.name_error(BackendError::UnknownService(name.to_owned())))
    }

    /// BGP neighbours and their session state.
    async fn list_bgp_neighbors(&self) -> Vec<BgpNeighborInfo> {
        self.backend.bgp_neighbors()
    }

    /// Routes exchanged with `neighbor` (`""`: every neighbour); `direction` is
    /// `"advertised"` or `"received"`.
    async fn list_bgp_routes(
        &self,
        neighbor: &str,
        direction: &str,
    ) -> Result<Vec<BgpRoute>, ApiError> {
        let direction = match direction {
            "advertised" => RouteDirection::Advertised,
            "received" => RouteDirection::Received,
            other => {
                return Err(ApiError::InvalidArgument(format!(
                    "direction {other:?}: expected \"advertised\" or \"received\""
                )))
            }
        };
        let neighbor = (!neighbor.is_empty()).then_some(neighbor);
        self.backend
            .bgp_routes(neighbor, direction)
            .await
            .map_err(|e| self.name_error(e))
    }

    /// OSPF neighbours.
    async fn list_ospf_neighbors(&self) -> Vec<OspfNeighbor> {
        self.backend.ospf_neighbors()
    }

    /// OSPF interfaces.
    async fn list_ospf_interfaces(&self) -> Vec<OspfInterface> {
        self.backend.ospf_interfaces()
    }

    /// OSPF link-state database (headers).
    async fn list_ospf_database(&self) -> Vec<OspfLsa> {
        self.backend.ospf_database()
    }

    /// The kernel IPVS table with counters and rates.
    async fn list_ipvs(&self) -> Result<IpvsTable, ApiError> {
        self.backend.ipvs().await.map_err(|e| self.name_error(e))
    }

    /// IPVS connection synchronisation.
    async fn sync_status(&self) -> SyncStatus {
        self.backend.sync_status().await
    }

    /// Drain `kind` ("vip", "real", "node") `target` (a VIP address, `SERVICE/ADDR[:PORT]`,
    /// or ""). Root or the admin group only.
    async fn drain(
        &self,
        kind: &str,
        target: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), ApiError> {
        let target = parse_target(kind, target)?;
        self.admin(conn, &header, "drain", &target.to_string())
            .await?;
        self.backend
            .drain(&target)
            .await
            .map_err(|e| self.name_error(e))
    }

    /// Undo a drain. Root or the admin group only.
    async fn undrain(
        &self,
        kind: &str,
        target: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), ApiError> {
        let target = parse_target(kind, target)?;
        self.admin(conn, &header, "undrain", &target.to_string())
            .await?;
        self.backend
            .undrain(&target)
            .await
            .map_err(|e| self.name_error(e))
    }

    /// Re-read the configuration file and apply only the difference. A file with errors is
    /// rejected (ReloadRejected, with file:line messages) and nothing changes. Root or the
    /// admin group only.
    async fn reload(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<ReloadOutcome, ApiError> {
        self.admin(conn, &header, "reload", "the configuration")
            .await?;
        self.backend.reload().await.map_err(|e| self.name_error(e))
    }

    /// A VIP's announcement state changed.
    #[zbus(signal)]
    pub async fn vip_changed(
        emitter: &SignalEmitter<'_>,
        address: &str,
        state: &str,
        previous: &str,
        reason: &str,
    ) -> zbus::Result<()>;

    /// A real server's health, admin state or effective weight changed.
    #[zbus(signal)]
    pub async fn real_changed(
        emitter: &SignalEmitter<'_>,
        service: &str,
        real: &str,
        state: &str,
        previous: &str,
        effective_weight: u32,
        reason: &str,
    ) -> zbus::Result<()>;

    /// A BGP session or OSPF adjacency changed state.
    #[zbus(signal)]
    pub async fn neighbor_changed(
        emitter: &SignalEmitter<'_>,
        protocol: &str,
        name: &str,
        address: &str,
        state: &str,
        previous: &str,
    ) -> zbus::Result<()>;

    /// A new configuration generation is running.
    #[zbus(signal)]
    pub async fn config_reloaded(
        emitter: &SignalEmitter<'_>,
        generation: u64,
        changes: Vec<String>,
    ) -> zbus::Result<()>;

    /// An alarm was raised (`active` true) or cleared.
    #[zbus(signal)]
    pub async fn alarm_changed(
        emitter: &SignalEmitter<'_>,
        kind: &str,
        subject: &str,
        active: bool,
        message: &str,
    ) -> zbus::Result<()>;
}
