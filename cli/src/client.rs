//! Reaching vgwd, and turning D-Bus failures into messages that say what to do.

use std::fmt;

use vgw_api::{errors, Vgwd1Proxy, BUS_NAME};
use zbus::Connection;

/// Which bus vgwctl tried.
#[derive(Debug, Clone)]
pub enum Bus {
    /// The system bus.
    System,
    /// An explicit address (`--bus` or `VGW_BUS`).
    Address(String),
}

impl fmt::Display for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bus::System => f.write_str("the system bus"),
            Bus::Address(a) => write!(f, "the bus at {a}"),
        }
    }
}

/// A failure, classified by what the operator has to do about it.
#[derive(Debug)]
pub enum Failure {
    /// vgwd cannot be reached (exit 3).
    Unreachable(String),
    /// The caller may not do this (exit 4).
    Denied(String),
    /// The daemon refused or failed the request (exit 1).
    Refused(String),
}

impl Failure {
    /// The process exit status for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Refused(_) => 1,
            Failure::Unreachable(_) => 3,
            Failure::Denied(_) => 4,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unreachable(m) | Failure::Denied(m) | Failure::Refused(m) => f.write_str(m),
        }
    }
}

const HOW_TO_START: &str = "Start it with `systemctl start vgwd`, or on a node without a system \
bus run `vgwd --config /etc/vgw/vgw.toml --bus ADDRESS` and point vgwctl at the same address \
with --bus or VGW_BUS.";

/// An open connection plus what is needed to explain failures.
pub struct Client {
    /// The bus in use.
    pub bus: Bus,
    /// The typed proxy.
    pub proxy: Vgwd1Proxy<'static>,
}

impl Client {
    /// Connects to `bus` (`None`: the system bus).
    pub async fn connect(bus: Option<&str>) -> Result<Client, Failure> {
        let bus = match bus {
            Some(a) if !a.is_empty() => Bus::Address(a.to_owned()),
            _ => Bus::System,
        };
        let conn = match &bus {
            Bus::System => Connection::system().await,
            Bus::Address(a) => match zbus::connection::Builder::address(a.as_str()) {
                Ok(b) => b.build().await,
                Err(e) => Err(e),
            },
        }
        .map_err(|e| {
            Failure::Unreachable(format!(
                "cannot connect to {bus}: {e}.\nvgwd may not be running, or it serves another \
                 bus (check `[api] dbus` in its configuration and vgwctl's --bus / VGW_BUS). \
                 {HOW_TO_START}"
            ))
        })?;
        let proxy = Vgwd1Proxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .map_err(|e| Failure::Unreachable(format!("cannot talk to vgwd on {bus}: {e}")))?;
        Ok(Client { bus, proxy })
    }

    /// Classifies a failed call; `hint` is appended to "unknown X" answers.
    pub fn fail(&self, err: zbus::Error, hint: &str) -> Failure {
        classify(&self.bus, err, hint)
    }
}

/// Classifies a failed call.
pub fn classify(bus: &Bus, err: zbus::Error, hint: &str) -> Failure {
    let zbus::Error::MethodError(name, message, _) = &err else {
        return Failure::Refused(format!("talking to vgwd on {bus} failed: {err}"));
    };
    let message = message.clone().unwrap_or_default();
    match name.as_str() {
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner" => Failure::Unreachable(format!(
            "vgwd is not running on {bus}: nobody owns {BUS_NAME}. {HOW_TO_START}"
        )),
        "org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout" => {
            Failure::Unreachable(format!(
                "vgwd on {bus} did not answer in time; it may be overloaded or stuck (see \
                 `journalctl -u vgwd`)."
            ))
        }
        // vgwd's own refusal already says what is needed; a refusal by the bus policy does not.
        errors::ACCESS_DENIED if message.contains("needs root") => {
            Failure::Denied(format!("access denied: {message}"))
        }
        errors::ACCESS_DENIED => Failure::Denied(format!(
            "access denied by {bus}: {message}\nThis command needs root or membership in the \
             admin group configured for vgwd; check that vgwd's bus policy \
             (org.vgw.Vgwd1.conf) is installed."
        )),
        errors::UNKNOWN_VIP
        | errors::UNKNOWN_SERVICE
        | errors::UNKNOWN_REAL
        | errors::UNKNOWN_NEIGHBOR => {
            if hint.is_empty() {
                Failure::Refused(message)
            } else {
                Failure::Refused(format!("{message}\n{hint}"))
            }
        }
        errors::RELOAD_REJECTED => Failure::Refused(format!(
            "{message}\nFix the file and run `vgwctl reload` again; `vgwctl config check FILE` \
             shows the same errors without touching the daemon."
        )),
        errors::INVALID_ARGUMENT | errors::UNAVAILABLE | errors::FAILED => {
            Failure::Refused(message)
        }
        other => Failure::Refused(format!("vgwd answered {other}: {message}")),
    }
}
