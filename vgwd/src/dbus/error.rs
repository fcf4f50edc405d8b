//! The errors the D-Bus methods answer with. Names are in [`vgw_api::errors`]; the derive puts
//! `prefix.name` together, hence the short prefix `org`.

use super::BackendError;

/// An error reply of `org.vgw.Vgwd1`.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org")]
pub enum ApiError {
    /// A failure inside zbus itself.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// `org.freedesktop.DBus.Error.AccessDenied`.
    #[zbus(name = "freedesktop.DBus.Error.AccessDenied")]
    AccessDenied(String),
    /// `org.vgw.Vgwd1.Error.UnknownVip`.
    #[zbus(name = "vgw.Vgwd1.Error.UnknownVip")]
    UnknownVip(String),
    /// `org.vgw.Vgwd1.Error.UnknownService`.
    #[zbus(name = "vgw.Vgwd1.Error.UnknownService")]
    UnknownService(String),
    /// `org.vgw.Vgwd1.Error.UnknownReal`.
    #[zbus(name = "vgw.Vgwd1.Error.UnknownReal")]
    UnknownReal(String),
    /// `org.vgw.Vgwd1.Error.UnknownNeighbor`.
    #[zbus(name = "vgw.Vgwd1.Error.UnknownNeighbor")]
    UnknownNeighbor(String),
    /// `org.vgw.Vgwd1.Error.InvalidArgument`.
    #[zbus(name = "vgw.Vgwd1.Error.InvalidArgument")]
    InvalidArgument(String),
    /// `org.vgw.Vgwd1.Error.ReloadRejected`.
    #[zbus(name = "vgw.Vgwd1.Error.ReloadRejected")]
    ReloadRejected(String),
    /// `org.vgw.Vgwd1.Error.Unavailable`.
    #[zbus(name = "vgw.Vgwd1.Error.Unavailable")]
    Unavailable(String),
    /// `org.vgw.Vgwd1.Error.Failed`.
    #[zbus(name = "vgw.Vgwd1.Error.Failed")]
    Failed(String),
}

/// Known names to append to an "unknown X" message.
pub(crate) fn known(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        format!("this node has no {what}")
    } else {
        format!("known {what}: {}", names.join(", "))
    }
}

impl ApiError {
    /// Names a backend error; `known_*` give the lists for the "unknown" messages.
    pub(crate) fn from_backend(
        err: BackendError,
        known_vips: impl FnOnce() -> Vec<String>,
        known_services: impl FnOnce() -> Vec<String>,
        known_neighbors: impl FnOnce() -> Vec<String>,
    ) -> ApiError {
        match &err {
            BackendError::UnknownVip(_) => {
                ApiError::UnknownVip(format!("{err}; {}", known("VIPs", &known_vips())))
            }
            BackendError::UnknownService(_) => {
                ApiError::UnknownService(format!("{err}; {}", known("services", &known_services())))
            }
            BackendError::UnknownReal { .. } => ApiError::UnknownReal(err.to_string()),
            BackendError::UnknownNeighbor(_) => ApiError::UnknownNeighbor(format!(
                "{err}; {}",
                known("BGP neighbors", &known_neighbors())
            )),
            BackendError::Unavailable(_) => ApiError::Unavailable(err.to_string()),
            BackendError::ReloadRejected(_) => ApiError::ReloadRejected(err.to_string()),
            BackendError::Failed(_) => ApiError::Failed(err.to_string()),
        }
    }
}
