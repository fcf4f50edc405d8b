//! Who may change state: root, or a member of the configured admin group.
//!
//! The caller is identified through the bus daemon, which learned its credentials from the
//! socket (SO_PEERCRED) when it connected: `GetConnectionUnixUser` gives the uid,
//! `GetConnectionCredentials` the supplementary groups where the bus knows them. A caller's
//! claim about itself is never trusted.

use nix::unistd::{Gid, Group, Uid, User};
use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::BusName;
use zbus::Connection;

use super::error::ApiError;

/// The rule for state-changing methods.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessPolicy {
    /// Members of this group may drain, undrain and reload besides root.
    pub admin_group: Option<AdminGroup>,
}

/// A resolved admin group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminGroup {
    /// Group name, for messages.
    pub name: String,
    /// Its gid.
    pub gid: u32,
}

impl AdminGroup {
    /// Looks the group up in the system's group database.
    pub fn lookup(name: &str) -> Result<AdminGroup, String> {
        match Group::from_name(name) {
            Ok(Some(g)) => Ok(AdminGroup {
                name: name.to_owned(),
                gid: g.gid.as_raw(),
            }),
            Ok(None) => Err(format!(
                "admin group {name:?} does not exist on this system (create it with \
                 `groupadd {name}` or remove the setting)"
            )),
            Err(e) => Err(format!("cannot look up admin group {name:?}: {e}")),
        }
    }
}

/// Who called, as far as the bus vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Unix uid.
    pub uid: u32,
    /// Unique bus name (`:1.42`).
    pub bus_name: String,
}

impl AccessPolicy {
    /// Allows the call or answers `org.freedesktop.DBus.Error.AccessDenied`. `action` names
    /// the method for the message ("drain", "reload").
    pub(crate) async fn authorize(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        action: &str,
    ) -> Result<Caller, ApiError> {
        let Some(sender) = header.sender() else {
            return Err(ApiError::AccessDenied(format!(
                "{action} refused: the call carries no sender, so the caller cannot be identified"
            )));
        };
        let dbus = DBusProxy::new(conn).await.map_err(ApiError::ZBus)?;
        let name = BusName::Unique(sender.to_owned());
        let uid = dbus
            .get_connection_unix_user(name.clone())
            .await
            .map_err(|e| {
                ApiError::AccessDenied(format!(
                    "{action} refused: the bus could not tell who {sender} is ({e})"
                ))
            })?;
        let caller = Caller {
            uid,
            bus_name: sender.to_string(),
        };
        if uid == 0 {
            return Ok(caller);
        }
        if let Some(group) = &self.admin_group {
            // Groups the bus saw on the socket (Linux 4.13+ SO_PEERGROUPS), else the group
            // database: primary group or listed member.
            let bus_groups = match dbus.get_connection_credentials(name).await {
                Ok(creds) => creds.into_unix_group_ids(),
                Err(_) => None,
            };
            let member = match bus_groups {
                Some(gids) => gids.contains(&group.gid),
                None => in_group_database(uid, group),
            };
            if member {
                return Ok(caller);
            }
            return Err(ApiError::AccessDenied(format!(
                "{action} needs root or membership in group {:?}; the caller (uid {uid}) has \
                 neither. Run it with sudo, or add the user to the group.",
                group.name
            )));
        }
        Err(ApiError::AccessDenied(format!(
            "{action} needs root; the caller (uid {uid}) is not root and no admin group is \
             configured. Run it with sudo."
        )))
    }
}

fn in_group_database(uid: u32, group: &AdminGroup) -> bool {
    let Ok(Some(user)) = User::from_uid(Uid::from_raw(uid)) else {
        return false;
    };
    if user.gid == Gid::from_raw(group.gid) {
        return true;
    }
    matches!(Group::from_gid(Gid::from_raw(group.gid)), Ok(Some(g)) if g.mem.contains(&user.name))
}
