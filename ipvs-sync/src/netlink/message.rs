//! The IPVS generic-netlink message: a command and its top-level attributes.
//!
//! ```text
//! +-------------------------+  struct nlmsghdr (16 bytes, type = resolved family id)
//! | cmd | version=1 | 0 | 0 |  struct genlmsghdr (4 bytes)
//! +-------------------------+
//! | IPVS_CMD_ATTR_*  ...    |  SERVICE / DEST / DAEMON nested, TIMEOUT_* u32,
//! |                         |  LADDR (7, FULLNAT), or INFO_ATTR_* in a GET_INFO reply
//! +-------------------------+
//! ```

use netlink_packet_core::{DecodeError, DefaultNla, Emitable, Nla, ParseableParametrized};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::daemon::DaemonAttr;
use super::dest::DestAttr;
use super::dialect::Dialect;
use super::info::InfoAttr;
use super::laddr::LaddrAttr;
use super::nla::{get_u32, nested, put, walk, Nested, RawNla};
use super::service::SvcAttr;
use super::WireError;

pub const IPVS_GENL_NAME: &str = "IPVS";
pub const IPVS_GENL_VERSION: u8 = 1;

pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
pub const IPVS_CMD_NEW_DEST: u8 = 5;
pub const IPVS_CMD_SET_DEST: u8 = 6;
pub const IPVS_CMD_DEL_DEST: u8 = 7;
pub const IPVS_CMD_GET_DEST: u8 = 8;
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
pub const IPVS_CMD_SET_INFO: u8 = 14;
pub const IPVS_CMD_GET_INFO: u8 = 15;
pub const IPVS_CMD_ZERO: u8 = 16;
pub const IPVS_CMD_FLUSH: u8 = 17;
/// FULLNAT dialect only.
pub const IPVS_CMD_NEW_LADDR: u8 = 18;
/// FULLNAT dialect only.
pub const IPVS_CMD_DEL_LADDR: u8 = 19;
/// FULLNAT dialect only.
pub const IPVS_CMD_GET_LADDR: u8 = 20;

pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;
/// FULLNAT dialect only.
pub const IPVS_CMD_ATTR_LADDR: u16 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvsCmd {
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    SetConfig,
    GetConfig,
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    NewLaddr,
    DelLaddr,
    GetLaddr,
    /// A command this dialect does not define.
    Other(u8),
}

impl IpvsCmd {
    pub fn to_raw(self) -> u8 {
        use IpvsCmd::*;
        match self {
            NewService => IPVS_CMD_NEW_SERVICE,
            SetService => IPVS_CMD_SET_SERVICE,
            DelService => IPVS_CMD_DEL_SERVICE,
            GetService => IPVS_CMD_GET_SERVICE,
            NewDest => IPVS_CMD_NEW_DEST,
            SetDest => IPVS_CMD_SET_DEST,
            DelDest => IPVS_CMD_DEL_DEST,
            GetDest => IPVS_CMD_GET_DEST,
            NewDaemon => IPVS_CMD_NEW_DAEMON,
            DelDaemon => IPVS_CMD_DEL_DAEMON,
            GetDaemon => IPVS_CMD_GET_DAEMON,
            SetConfig => IPVS_CMD_SET_CONFIG,
            GetConfig => IPVS_CMD_GET_CONFIG,
            SetInfo => IPVS_CMD_SET_INFO,
            GetInfo => IPVS_CMD_GET_INFO,
            Zero => IPVS_CMD_ZERO,
            Flush => IPVS_CMD_FLUSH,
            NewLaddr => IPVS_CMD_NEW_LADDR,
            DelLaddr => IPVS_CMD_DEL_LADDR,
            GetLaddr => IPVS_CMD_GET_LADDR,
            Other(n) => n,
        }
    }

    /// Commands 18..20 mean something only in the FULLNAT dialect.
    pub fn from_raw(raw: u8, dialect: &Dialect) -> IpvsCmd {
        use IpvsCmd::*;
        match raw {
            IPVS_CMD_NEW_SERVICE => NewService,
            IPVS_CMD_SET_SERVICE => SetService,
            IPVS_CMD_DEL_SERVICE => DelService,
            IPVS_CMD_GET_SERVICE => GetService,
            IPVS_CMD_NEW_DEST => NewDest,
            IPVS_CMD_SET_DEST => SetDest,
            IPVS_CMD_DEL_DEST => DelDest,
            IPVS_CMD_GET_DEST => GetDest,
            IPVS_CMD_NEW_DAEMON => NewDaemon,
            IPVS_CMD_DEL_DAEMON => DelDaemon,
            IPVS_CMD_GET_DAEMON => GetDaemon,
            IPVS_CMD_SET_CONFIG => SetConfig,
            IPVS_CMD_GET_CONFIG => GetConfig,
            IPVS_CMD_SET_INFO => SetInfo,
            IPVS_CMD_GET_INFO => GetInfo,
            IPVS_CMD_ZERO => Zero,
            IPVS_CMD_FLUSH => Flush,
            IPVS_CMD_NEW_LADDR if dialect.has_laddr() => NewLaddr,
            IPVS_CMD_DEL_LADDR if dialect.has_laddr() => DelLaddr,
            IPVS_CMD_GET_LADDR if dialect.has_laddr() => GetLaddr,
            n => Other(n),
        }
    }
}

/// Top-level attributes (IPVS_CMD_ATTR_*, or IPVS_INFO_ATTR_* in an info message).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpvsAttr {
    Service(Nested<SvcAttr>),
    Dest(Nested<DestAttr>),
    Daemon(Nested<DaemonAttr>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    /// FULLNAT dialect only.
    Laddr(Nested<LaddrAttr>),
    /// Only in GET_INFO / SET_INFO messages, where numbers 1 and 2 are INFO_ATTR_*.
    Info(InfoAttr),
    Other(DefaultNla),
}

impl IpvsAttr {
    fn parse(nla: RawNla<'_>, cmd: IpvsCmd, dialect: &Dialect) -> Result<IpvsAttr, WireError> {
        use IpvsAttr::*;
        if matches!(cmd, IpvsCmd::SetInfo | IpvsCmd::GetInfo) {
            return InfoAttr::parse(nla).map(Info);
        }
        let is_nested_kind = matches!(
            nla.kind(),
            IPVS_CMD_ATTR_SERVICE | IPVS_CMD_ATTR_DEST | IPVS_CMD_ATTR_DAEMON
        ) || (nla.kind() == IPVS_CMD_ATTR_LADDR && dialect.has_laddr());
        if nla.flags() != 0 && !(is_nested_kind && nla.nested()) {
            return Ok(Other(nla.to_default()));
        }
        Ok(match nla.kind() {
            IPVS_CMD_ATTR_SERVICE => Service(nested(&nla, "IPVS_CMD_ATTR_SERVICE", |a| {
                SvcAttr::parse(a, dialect)
            })?),
            IPVS_CMD_ATTR_DEST => Dest(nested(&nla, "IPVS_CMD_ATTR_DEST", DestAttr::parse)?),
            IPVS_CMD_ATTR_DAEMON => {
                Daemon(nested(&nla, "IPVS_CMD_ATTR_DAEMON", DaemonAttr::parse)?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP => {
                TimeoutTcp(get_u32(nla.value, "IPVS_CMD_ATTR_TIMEOUT_TCP")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                TimeoutTcpFin(get_u32(nla.value, "IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => {
                TimeoutUdp(get_u32(nla.value, "IPVS_CMD_ATTR_TIMEOUT_UDP")?)
            }
            IPVS_CMD_ATTR_LADDR if dialect.has_laddr() => {
                Laddr(nested(&nla, "IPVS_CMD_ATTR_LADDR", LaddrAttr::parse)?)
            }
            _ => Other(nla.to_default()),
        })
    }
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        use IpvsAttr::*;
        match self {
            Service(n) => n.value_len(),
            Dest(n) => n.value_len(),
            Daemon(n) => n.value_len(),
            Laddr(n) => n.value_len(),
            TimeoutTcp(_) | TimeoutTcpFin(_) | TimeoutUdp(_) => 4,
            Info(i) => i.value_len(),
            Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use IpvsAttr::*;
        match self {
            Service(n) => n.kind(IPVS_CMD_ATTR_SERVICE),
            Dest(n) => n.kind(IPVS_CMD_ATTR_DEST),
            Daemon(n) => n.kind(IPVS_CMD_ATTR_DAEMON),
            Laddr(n) => n.kind(IPVS_CMD_ATTR_LADDR),
            TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            Info(i) => i.kind(),
            Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use IpvsAttr::*;
        match self {
            Service(n) => n.emit_value(buf),
            Dest(n) => n.emit_value(buf),
            Daemon(n) => n.emit_value(buf),
            Laddr(n) => n.emit_value(buf),
            TimeoutTcp(v) | TimeoutTcpFin(v) | TimeoutUdp(v) => put(buf, &v.to_ne_bytes()),
            Info(i) => i.emit_value(buf),
            Other(o) => o.emit_value(buf),
        }
    }
}

/// One IPVS message (the generic-netlink payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<IpvsAttr>,
}

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> IpvsMessage {
        IpvsMessage { cmd, attrs }
    }

    /// Decode the attributes that follow a generic-netlink header with command `raw_cmd`.
    pub fn decode(payload: &[u8], raw_cmd: u8, dialect: &Dialect) -> Result<Self, WireError> {
        let cmd = IpvsCmd::from_raw(raw_cmd, dialect);
        let attrs = walk(payload, "IPVS message")?
            .into_iter()
            .map(|nla| IpvsAttr::parse(nla, cmd, dialect))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IpvsMessage { cmd, attrs })
    }

    /// The nested service, if any.
    pub fn service(&self) -> Option<&Nested<SvcAttr>> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Service(n) => Some(n),
            _ => None,
        })
    }

    pub fn dest(&self) -> Option<&Nested<DestAttr>> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Dest(n) => Some(n),
            _ => None,
        })
    }

    pub fn daemon(&self) -> Option<&Nested<DaemonAttr>> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Daemon(n) => Some(n),
            _ => None,
        })
    }

    pub fn laddr(&self) -> Option<&Nested<LaddrAttr>> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Laddr(n) => Some(n),
            _ => None,
        })
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.to_raw()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl<'d> ParseableParametrized<[u8], (GenlHeader, &'d Dialect)> for IpvsMessage {
    fn parse_with_param(
        buf: &[u8],
        (header, dialect): (GenlHeader, &'d Dialect),
    ) -> Result<Self, DecodeError> {
        IpvsMessage::decode(buf, header.cmd, dialect).map_err(|e| DecodeError::from(e.to_string()))
    }
}
