//! The D-Bus service `org.vgw.Vgwd1` (object `/org/vgw/Vgwd1`, interface `org.vgw.Vgwd1`).
//!
//! ```text
//!   vgwctl ──method call──► dbus-daemon ──► Vgwd1Server ──► Backend (the daemon)
//!                                              │  access check: GetConnectionUnixUser(sender)
//!   vgwctl ◄──signals────── dbus-daemon ◄── emit(Event) ◄── daemon's event channel
//! ```
//!
//! The daemon implements [`Backend`], calls [`serve`] once, and feeds state changes to
//! [`emit`] (or hands a channel to [`forward_events`]). Types and names of the contract live in
//! the `vgw-api` crate, which vgwctl shares.

mod access;
mod backend;
mod erased;
mod error;
pub mod ipvs_view;
pub mod memory;
pub mod private_bus;
pub mod sample;
mod server;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;
use vgw_api::{Event, BUS_NAME, OBJECT_PATH};
use zbus::fdo::{RequestNameFlags, RequestNameReply};
use zbus::object_server::SignalEmitter;
use zbus::Connection;

pub use access::{AccessPolicy, AdminGroup, Caller};
pub use backend::{Backend, BackendError};
pub use error::ApiError;
pub use server::Vgwd1Server;

/// Which bus to serve on: `[api] dbus` in the configuration, or `vgwd --bus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusAddress {
    /// The system bus (`dbus = "system"`, the default).
    System,
    /// A D-Bus server address, e.g. `unix:path=/run/vgw/bus` (a private dbus-daemon).
    Address(String),
}

impl BusAddress {
    /// `"system"` is the system bus; anything else is an address.
    pub fn from_config(value: &str) -> BusAddress {
        if value == "system" {
            BusAddress::System
        } else {
            BusAddress::Address(value.to_owned())
        }
    }
}

impl std::fmt::Display for BusAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusAddress::System => f.write_str("the system bus"),
            BusAddress::Address(a) => write!(f, "bus {a}"),
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The bus could not be reached.
    #[error(
        "cannot connect to {bus}: {source}. Is dbus-daemon running there? (set [api] dbus or \
         --bus to a reachable address)"
    )]
    Connect {
        /// The bus tried.
        bus: BusAddress,
        /// What zbus said.
        source: zbus::Error,
    },
    /// Another process owns `org.vgw.Vgwd1`.
    #[error("{BUS_NAME} is already owned on {bus}: is another vgwd running?")]
    NameTaken {
        /// The bus tried.
        bus: BusAddress,
    },
    /// The bus policy does not let us own the name.
    #[error(
        "{bus} refused to let vgwd own {BUS_NAME} ({message}). Install \
         vgwd/dist/org.vgw.Vgwd1.conf into /usr/share/dbus-1/system.d/ and run vgwd as root"
    )]
    NotAllowed {
        /// The bus tried.
        bus: BusAddress,
        /// The bus's message.
        message: String,
    },
    /// Anything else while registering.
    #[error("cannot serve {BUS_NAME} on {bus}: {source}")]
    Other {
        /// The bus tried.
        bus: BusAddress,
        /// What zbus said.
        source: zbus::Error,
    },
}

/// Connects to `bus`, exports the object backed by `backend` and takes the well-known name.
/// The returned connection serves until dropped.
pub async fn serve<B: Backend>(
    bus: &BusAddress,
    backend: Arc<B>,
    access: AccessPolicy,
) -> Result<Connection, ServeError> {
    let builder = match bus {
        BusAddress::System => zbus::connection::Builder::system(),
        BusAddress::Address(a) => zbus::connection::Builder::address(a.as_str()),
    }
    .map_err(|source| ServeError::Connect {
        bus: bus.clone(),
        source,
    })?;
    let server = Vgwd1Server::new(backend, access);
    let conn = builder
        .serve_at(OBJECT_PATH, server)
        .map_err(|source| ServeError::Other {
            bus: bus.clone(),
            source,
        })?
        .build()
        .await
        .map_err(|source| classify(bus, source))?;
    // Never queue behind, nor take the name from, another vgwd: one daemon per node.
    let reply = conn
        .request_name_with_flags(BUS_NAME, RequestNameFlags::DoNotQueue.into())
        .await
        .map_err(|source| classify(bus, source))?;
    match reply {
        RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner => Ok(conn),
        RequestNameReply::Exists | RequestNameReply::InQueue => {
            Err(ServeError::NameTaken { bus: bus.clone() })
        }
    }
}

fn classify(bus: &BusAddress, source: zbus::Error) -> ServeError {
    let bus = bus.clone();
    match source {
        zbus::Error::NameTaken => ServeError::NameTaken { bus },
        zbus::Error::MethodError(name, message, _)
            if name.as_str() == vgw_api::errors::ACCESS_DENIED =>
        {
            ServeError::NotAllowed {
                bus,
                message: message.unwrap_or_default(),
            }
        }
        zbus::Error::InputOutput(_)
        | zbus::Error::Connection(..)
        | zbus::Error::Address(_)
        | zbus::Error::Handshake(_) => ServeError::Connect { bus, source },
        source => ServeError::Other { bus, source },
    }
}

/// Emits the signal for `event` from the vgwd object on `conn`.
pub async fn emit(conn: &Connection, event: &Event) -> zbus::Result<()> {
    let e = SignalEmitter::new(conn, OBJECT_PATH)?;
    match event {
        Event::VipChanged(v) => {
            Vgwd1Server::vip_changed(&e, &v.address, &v.state, &v.previous, &v.reason).await
        }
        Event::RealChanged(r) => {
            Vgwd1Server::real_changed(
                &e,
                &r.service,
                &r.real,
                &r.state,
                &r.previous,
                r.effective_weight,
                &r.reason,
            )
            .await
        }
        Event::NeighborChanged(n) => {
            Vgwd1Server::neighbor_changed(
                &e,
                &n.protocol,
                &n.name,
                &n.address,
                &n.state,
                &n.previous,
            )
            .await
        }
        Event::ConfigReloaded(r) => {
            Vgwd1Server::config_reloaded(&e, r.generation, r.changes.clone()).await
        }
        Event::AlarmChanged(a) => {
            Vgwd1Server::alarm_changed(&e, &a.kind, &a.subject, a.active, &a.message).await
        }
    }
}

/// Emits every event arriving on `events` until the channel closes. A failed emit is logged
/// and the next event is tried (signals are notifications; nobody is blocked by a lost one).
pub fn forward_events(
    conn: Connection,
    mut events: mpsc::UnboundedReceiver<Event>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Err(e) = emit(&conn, &event).await {
                warn!("cannot emit {} signal: {e}", event.member());
            }
        }
    })
}

#[cfg(test)]
mod tests;
