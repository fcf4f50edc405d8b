//! The sans-IO OSPF router core: `process(now, Input) -> Vec<Output>`.
//!
//! Time is a millisecond counter supplied with every input. Timers are outputs
//! ([`Output::SetTimer`]); when one expires the I/O layer feeds back [`Input::Timer`]. A timer
//! that fires late or after its reason went away is harmless: every handler re-checks state.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::interface::{IfState, Interface};
use crate::lsdb::Lsdb;
use crate::neighbor::NbrState;
use crate::origin::Origination;
use crate::packet::Packet;

/// An IPv4 prefix (VIP routes are usually /32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Prefix {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Prefix {
    pub fn new(addr: Ipv4Addr, len: u8) -> Self {
        let len = len.min(32);
        Prefix {
            addr: Ipv4Addr::from(u32::from(addr) & mask_bits(len)),
            len,
        }
    }
    pub fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask_bits(self.len))
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl std::str::FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = s.split_once('/').unwrap_or((s, "32"));
        let addr: Ipv4Addr = a.parse().map_err(|e| format!("bad address {a:?}: {e}"))?;
        let len: u8 = l
            .parse()
            .map_err(|e| format!("bad prefix length {l:?}: {e}"))?;
        if len > 32 {
            return Err(format!("prefix length {len} is over 32"));
        }
        Ok(Prefix::new(addr, len))
    }
}

pub fn mask_bits(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// Timers the core asks the I/O layer to run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timer {
    Hello {
        ifname: String,
    },
    Wait {
        ifname: String,
    },
    Inactivity {
        ifname: String,
        nbr: Ipv4Addr,
    },
    Rxmt {
        ifname: String,
        nbr: Ipv4Addr,
    },
    DelayedAck {
        ifname: String,
    },
    /// Aging, refresh, MaxAge removal and throttled originations.
    Lsdb,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// The interface is up with this primary address.
    InterfaceUp {
        ifname: String,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        mtu: u16,
    },
    InterfaceDown {
        ifname: String,
    },
    /// An OSPF packet (IP payload) received on an interface.
    Packet {
        ifname: String,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        data: Vec<u8>,
    },
    Timer(Timer),
    Announce {
        prefix: Prefix,
        metric: u32,
    },
    Withdraw {
        prefix: Prefix,
    },
    /// RFC 6987 stub-router advertisement (drain) on or off.
    StubRouter(bool),
    /// Flush every self-originated LSA (shutdown).
    FlushAll,
}

/// Why a packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    Decode(crate::packet::DecodeError),
    Auth(crate::packet::AuthError),
    UnknownInterface,
    InterfaceDown,
    AreaMismatch { received: Ipv4Addr },
    OwnRouterId,
    BadDestination { dst: Ipv4Addr },
    SourceNotOnSubnet { src: Ipv4Addr },
    MaskMismatch { received: Ipv4Addr },
    HelloIntervalMismatch { received: u16 },
    DeadIntervalMismatch { received: u32 },
    ExternalOptionMismatch { options: u8 },
    UnknownNeighbor { router_id: Ipv4Addr },
    NeighborStateTooLow { state: NbrState },
    MtuTooLarge { received: u16, ours: u16 },
    DdOptionsChanged,
}

impl DropReason {
    /// A short stable name for counters: the variant, and for decode and authentication
    /// failures which one (`decode_bad_checksum`, `auth_bad_digest`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            DropReason::Decode(e) => e.name(),
            DropReason::Auth(e) => e.name(),
            DropReason::UnknownInterface => "unknown_interface",
            DropReason::InterfaceDown => "interface_down",
            DropReason::AreaMismatch { .. } => "area_mismatch",
            DropReason::OwnRouterId => "own_router_id",
            DropReason::BadDestination { .. } => "bad_destination",
            DropReason::SourceNotOnSubnet { .. } => "source_not_on_subnet",
            DropReason::MaskMismatch { .. } => "mask_mismatch",
            DropReason::HelloIntervalMismatch { .. } => "hello_interval_mismatch",
            DropReason::DeadIntervalMismatch { .. } => "dead_interval_mismatch",
            DropReason::ExternalOptionMismatch { .. } => "external_option_mismatch",
            DropReason::UnknownNeighbor { .. } => "unknown_neighbor",
            DropReason::NeighborStateTooLow { .. } => "neighbor_state_too_low",
            DropReason::MtuTooLarge { .. } => "mtu_too_large",
            DropReason::DdOptionsChanged => "dd_options_changed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    Send {
        ifname: String,
        dst: Ipv4Addr,
        packet: Packet,
        /// The encoded packet (with authentication), ready for the socket.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    SetTimer {
        timer: Timer,
        at: u64,
    },
    CancelTimer {
        timer: Timer,
    },
    JoinGroup {
        ifname: String,
        group: Ipv4Addr,
    },
    LeaveGroup {
        ifname: String,
        group: Ipv4Addr,
    },
    InterfaceState {
        ifname: String,
        from: IfState,
        to: IfState,
        dr: Ipv4Addr,
        bdr: Ipv4Addr,
    },
    NeighborState {
        ifname: String,
        router_id: Ipv4Addr,
        from: NbrState,
        to: NbrState,
        event: String,
    },
    Drop {
        ifname: String,
        src: Ipv4Addr,
        reason: DropReason,
    },
}

/// The router: interfaces with their neighbors, the LSDB, and what we originate.
pub struct Router {
    pub(crate) cfg: Config,
    pub(crate) now: u64,
    pub(crate) interfaces: BTreeMap<String, Interface>,
    pub(crate) lsdb: Lsdb,
    pub(crate) origin: Origination,
    pub(crate) out: Vec<Output>,
    pub(crate) dd_seq_next: u32,
    /// Deadline currently requested for [`Timer::Lsdb`].
    pub(crate) lsdb_timer: Option<u64>,
    pub(crate) drops: BTreeMap<&'static str, u64>,
}

impl Router {
    pub fn new(cfg: Config) -> Self {
        let interfaces = cfg
            .interfaces
            .iter()
            .map(|c| (c.name.clone(), Interface::new(c.clone())))
            .collect();
        Router {
            dd_seq_next: cfg.dd_seq_seed,
            cfg,
            now: 0,
            interfaces,
            lsdb: Lsdb::default(),
            origin: Origination::default(),
            out: Vec::new(),
            lsdb_timer: None,
            drops: BTreeMap::new(),
        }
    }

    pub fn router_id(&self) -> Ipv4Addr {
        self.cfg.router_id
    }

    /// Feeds one input at time `now` (milliseconds, monotonic) and returns what to do.
    pub fn process(&mut self, now: u64, input: Input) -> Vec<Output> {
        self.now = self.now.max(now);
        match input {
            Input::InterfaceUp {
                ifname,
                ifindex,
                addr,
                prefix_len,
                mtu,
            } => self.interface_up(&ifname, ifindex, addr, prefix_len, mtu),
            Input::InterfaceDown { ifname } => self.interface_down(&ifname),
            Input::Packet {
                ifname,
                src,
                dst,
                data,
            } => self.receive(&ifname, src, dst, &data),
            Input::Timer(t) => self.timer(t),
            Input::Announce { prefix, metric } => {
                self.origin.vips.insert(prefix, metric);
                self.sync_own(false);
            }
            Input::Withdraw { prefix } => {
                self.origin.vips.remove(&prefix);
                self.sync_own(false);
            }
            Input::StubRouter(on) => {
                self.origin.stub_router = on;
                self.sync_own(false);
            }
            Input::FlushAll => {
                self.origin.vips.clear();
                self.origin.shutting_down = true;
                self.sync_own(false);
            }
        }
        self.schedule_lsdb_timer();
        std::mem::take(&mut self.out)
    }

    fn timer(&mut self, t: Timer) {
        match t {
            Timer::Hello { ifname } => self.hello_timer(&ifname),
            Timer::Wait { ifname } => self.wait_timer(&ifname),
            Timer::Inactivity { ifname, nbr } => self.inactivity_timer(&ifname, nbr),
            Timer::Rxmt { ifname, nbr } => self.rxmt_timer(&ifname, nbr),
            Timer::DelayedAck { ifname } => self.send_delayed_acks(&ifname),
            Timer::Lsdb => {
                self.lsdb_timer = None;
                self.lsdb_housekeeping();
            }
        }
    }

    pub(crate) fn set_timer(&mut self, timer: Timer, at: u64) {
        self.out.push(Output::SetTimer { timer, at });
    }

    pub(crate) fn drop_packet(&mut self, ifname: &str, src: Ipv4Addr, reason: DropReason) {
        *self.drops.entry(reason.name()).or_default() += 1;
        tracing::debug!(ifname, %src, reason = ?reason, "dropped OSPF packet");
        self.out.push(Output::Drop {
            ifname: ifname.to_string(),
            src,
            reason,
        });
    }

    /// Encodes and queues a packet on an interface.
    pub(crate) fn send(&mut self, ifname: &str, dst: Ipv4Addr, body: crate::packet::Body) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        let packet = Packet {
            router_id: self.cfg.router_id,
            area_id: self.cfg.area_id,
            body,
        };
        let seq = self
            .cfg
            .crypto_seq_base
            .wrapping_add((self.now / 1000) as u32);
        let bytes = packet.encode(&iface.cfg.auth, seq);
        self.out.push(Output::Send {
            ifname: ifname.to_string(),
            dst,
            packet,
            bytes,
        });
    }

    /// Dropped-packet counters by reason name.
    pub fn drop_counters(&self) -> &BTreeMap<&'static str, u64> {
        &self.drops
    }
}
