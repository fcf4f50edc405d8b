//! The async IPVS client: owns a [`Transport`], resolves the family, decides the dialect, and
//! turns model objects into requests.
//!
//! ```text
//!  caller ──► IpvsClient ──encode──► Transport::send ──► kernel (or a test's fake)
//!                 ▲                                         │
//!                 └──decode (with Dialect)◄── Transport::recv ◄┘
//! ```
//!
//! Writes are pipelined: up to `window` requests are in flight, each with NLM_F_ACK, and the
//! acks are matched to requests by sequence number in order. Deleting something that is already
//! gone (ESRCH / ENOENT) counts as done.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, OpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;

use crate::error::IpvsError;
use crate::model::{
    Af, DaemonConfig, DaemonState, DestKey, DestStatus, Destination, FwdMethod, Info, LocalAddress,
    Service, ServiceKey, ServiceStatus, Timeouts,
};
use crate::netlink::frame::{self, IpvsNetlinkMessage};
use crate::netlink::info::InfoAttr;
use crate::netlink::laddr::LaddrAttr;
use crate::netlink::{daemon, dest, laddr, service, Dialect, DialectError, InetAddr};
use crate::netlink::{IpvsAttr, IpvsCmd, IpvsMessage, Nested};
use crate::reconcile::{Op, ServiceState, State};
use crate::transport::Transport;

/// How long to wait for the kernel's next reply before giving up on a request.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// GENL_ID_CTRL: the controller family.
const GENL_ID_CTRL: u16 = 16;

/// What the family query told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyInfo {
    pub family_id: u16,
    pub version: u32,
    pub maxattr: u32,
    /// CTRL_ATTR_OPS op ids, sorted.
    pub ops: Vec<u32>,
}

/// One request of a batch: the message, what it is about (for errors), and whether a
/// "not found" answer means done.
#[derive(Debug, Clone)]
pub struct Request {
    pub msg: IpvsMessage,
    pub op: &'static str,
    pub object: String,
    pub missing_ok: bool,
}

pub struct IpvsClient<T: Transport> {
    transport: T,
    family: FamilyInfo,
    dialect: Dialect,
    seq: u32,
    window: usize,
    reply_timeout: Duration,
}

impl<T: Transport> IpvsClient<T> {
    /// Resolve "IPVS" and decide the dialect.
    pub async fn connect(mut transport: T) -> Result<IpvsClient<T>, IpvsError> {
        let family = resolve_family(&mut transport).await?;
        let release = transport.kernel_release();
        let dialect = Dialect::detect(&family.ops, release.as_deref());
        tracing::debug!(family_id = family.family_id, %dialect, "IPVS family resolved");
        Ok(IpvsClient {
            transport,
            family,
            dialect,
            seq: 1,
            window: 256,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        })
    }

    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    pub fn family(&self) -> &FamilyInfo {
        &self.family
    }

    /// How many requests may be in flight (default 256).
    pub fn set_window(&mut self, window: usize) {
        self.window = window.max(1);
    }

    /// How long to wait for each reply datagram (default 30 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = timeout;
    }

    /// Receive one datagram, bounded in time. Needs a tokio runtime with the time driver.
    async fn recv(&mut self, op: &'static str) -> Result<Vec<u8>, IpvsError> {
        match tokio::time::timeout(self.reply_timeout, self.transport.recv()).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(IpvsError::Protocol {
                op,
                detail: format!("no reply from the kernel within {:?}", self.reply_timeout),
            }),
        }
    }

    pub fn into_transport(self) -> T {
        self.transport
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Send a dump (or a single GET) and collect every IPVS message of the reply.
    pub async fn query(
        &mut self,
        msg: IpvsMessage,
        dump: bool,
        op: &'static str,
        object: String,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        let seq = self.next_seq();
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let req = frame::request(msg, self.family.family_id, flags, seq);
        self.transport.send(&frame::encode(&req)).await?;
        let mut out = Vec::new();
        loop {
            let datagram = self.recv(op).await?;
            let msgs = frame::decode(&datagram, self.family.family_id, &self.dialect)
                .map_err(|source| IpvsError::Wire { op, source })?;
            for m in msgs {
                if m.header.sequence_number != seq {
                    tracing::debug!(
                        seq = m.header.sequence_number,
                        "stale netlink reply ignored"
                    );
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(g) => out.push(g.payload),
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(code) => Err(IpvsError::from_errno(op, object, -code.get())),
                        }
                    }
                    NetlinkPayload::Noop => {}
                    NetlinkPayload::Overrun(_) => {
                        return Err(IpvsError::Protocol {
                            op,
                            detail: "netlink overrun".into(),
                        })
                    }
                    other => {
                        return Err(IpvsError::Protocol {
                            op,
                            detail: format!("unexpected message type {}", other.message_type()),
                        })
                    }
                }
            }
        }
    }

    /// Send `requests` pipelined and return one result per request, in order.
    pub async fn execute(&mut self, requests: Vec<Request>) -> Vec<Result<(), IpvsError>> {
        let total = requests.len();
        let mut results: Vec<Option<Result<(), IpvsError>>> = (0..total).map(|_| None).collect();
        let mut pending = requests.into_iter().enumerate();
        // (seq, index, request) in send order.
        let mut inflight: VecDeque<(u32, usize, Request)> = VecDeque::new();
        let mut done = 0;
        let mut fatal: Option<String> = None;
        while done < total {
            if fatal.is_none() && inflight.len() < self.window {
                let mut buf = Vec::new();
                while inflight.len() < self.window && buf.len() < 48 * 1024 {
                    let Some((i, r)) = pending.next() else { break };
                    let seq = self.next_seq();
                    let nl = frame::request(
                        r.msg.clone(),
                        self.family.family_id,
                        NLM_F_REQUEST | NLM_F_ACK,
                        seq,
                    );
                    frame::encode_into(&nl, &mut buf);
                    inflight.push_back((seq, i, r));
                }
                if !buf.is_empty() {
                    if let Err(e) = self.transport.send(&buf).await {
                        fatal = Some(e.to_string());
                    }
                }
            }
            if fatal.is_some() {
                break;
            }
            if inflight.is_empty() {
                continue;
            }
            let datagram = match self.recv("batch").await {
                Ok(d) => d,
                Err(e) => {
                    fatal = Some(e.to_string());
                    break;
                }
            };
            let msgs = match frame::decode(&datagram, self.family.family_id, &self.dialect) {
                Ok(m) => m,
                Err(e) => {
                    fatal = Some(format!("malformed reply: {e}"));
                    break;
                }
            };
            for m in msgs {
                let NetlinkPayload::Error(e) = m.payload else {
                    continue;
                };
                let seq = m.header.sequence_number;
                let Some(pos) = inflight.iter().position(|(s, _, _)| *s == seq) else {
                    tracing::debug!(seq, "ack for no request in flight ignored");
                    continue;
                };
                // Acks come in order; a skipped one would mean a lost ack.
                if pos != 0 {
                    tracing::warn!(seq, pos, "netlink ack out of order");
                }
                let Some((_, idx, req)) = inflight.remove(pos) else {
                    continue;
                };
                let res = match e.code {
                    None => Ok(()),
                    Some(code) => {
                        let errno = -code.get();
                        if req.missing_ok && (errno == libc::ESRCH || errno == libc::ENOENT) {
                            Ok(())
                        } else {
                            Err(IpvsError::from_errno(req.op, req.object, errno))
                        }
                    }
                };
                if let Some(slot) = results.get_mut(idx) {
                    *slot = Some(res);
                }
                done += 1;
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(IpvsError::Protocol {
                        op: "batch",
                        detail: fatal
                            .clone()
                            .unwrap_or_else(|| "no acknowledgement".to_string()),
                    })
                })
            })
            .collect()
    }

    async fn one(&mut self, req: Request) -> Result<(), IpvsError> {
        self.execute(vec![req])
            .await
            .into_iter()
            .next()
            .unwrap_or(Err(IpvsError::Protocol {
                op: "request",
                detail: "no result".into(),
            }))
    }

    // ---- reads -------------------------------------------------------------------------

    pub async fn services(&mut self) -> Result<Vec<ServiceStatus>, IpvsError> {
        let msgs = self
            .query(
                IpvsMessage::new(IpvsCmd::GetService, vec![]),
                true,
                "list services",
                String::new(),
            )
            .await?;
        msgs.iter()
            .filter_map(|m| m.service())
            .map(|n| {
                service::to_service(&n.attrs).map_err(|source| IpvsError::Wire {
                    op: "list services",
                    source,
                })
            })
            .collect()
    }

    pub async fn service(&mut self, key: &ServiceKey) -> Result<Option<ServiceStatus>, IpvsError> {
        let msg = IpvsMessage::new(
            IpvsCmd::GetService,
            vec![IpvsAttr::Service(Nested::new(service::key_attrs(key)))],
        );
        match self.query(msg, false, "get service", key.to_string()).await {
            Ok(msgs) => msgs
                .iter()
                .filter_map(|m| m.service())
                .map(|n| {
                    service::to_service(&n.attrs).map_err(|source| IpvsError::Wire {
                        op: "get service",
                        source,
                    })
                })
                .next()
                .transpose(),
            Err(IpvsError::Kernel { errno, .. }) if errno == libc::ESRCH => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn dests(&mut self, key: &ServiceKey) -> Result<Vec<DestStatus>, IpvsError> {
        let msg = IpvsMessage::new(
            IpvsCmd::GetDest,
            vec![IpvsAttr::Service(Nested::new(service::key_attrs(key)))],
        );
        let msgs = self
            .query(msg, true, "list reals of", key.to_string())
            .await?;
        msgs.iter()
            .filter_map(|m| m.dest())
            .map(|n| {
                dest::to_dest(&n.attrs, key.af()).map_err(|source| IpvsError::Wire {
                    op: "list reals",
                    source,
                })
            })
            .collect()
    }

    /// FULLNAT only: the local addresses of a service.
    pub async fn laddrs(&mut self, key: &ServiceKey) -> Result<Vec<LocalAddress>, IpvsError> {
        self.dialect.require_fullnat("listing local addresses")?;
        let msg = IpvsMessage::new(
            IpvsCmd::GetLaddr,
            vec![IpvsAttr::Service(Nested::new(service::key_attrs(key)))],
        );
        let msgs = self
            .query(msg, true, "list local addresses of", key.to_string())
            .await?;
        msgs.iter()
            .filter_map(|m| m.laddr())
            .map(|n| {
                laddr::to_laddr(&n.attrs, key.af()).map_err(|source| IpvsError::Wire {
                    op: "list local addresses",
                    source,
                })
            })
            .collect()
    }

    pub async fn daemons(&mut self) -> Result<Vec<DaemonConfig>, IpvsError> {
        let msgs = self
            .query(
                IpvsMessage::new(IpvsCmd::GetDaemon, vec![]),
                true,
                "list sync daemons",
                String::new(),
            )
            .await?;
        msgs.iter()
            .filter_map(|m| m.daemon())
            .map(|n| {
                daemon::to_daemon(&n.attrs).map_err(|source| IpvsError::Wire {
                    op: "list sync daemons",
                    source,
                })
            })
            .collect()
    }

    pub async fn info(&mut self) -> Result<Info, IpvsError> {
        let msgs = self
            .query(
                IpvsMessage::new(IpvsCmd::GetInfo, vec![]),
                false,
                "get info",
                String::new(),
            )
            .await?;
        let mut info = Info::default();
        for a in msgs.iter().flat_map(|m| m.attrs.iter()) {
            match a {
                IpvsAttr::Info(InfoAttr::Version(v)) => info.version = *v,
                IpvsAttr::Info(InfoAttr::ConnTabSize(v)) => info.conn_tab_size = *v,
                _ => {}
            }
        }
        Ok(info)
    }

    pub async fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let msgs = self
            .query(
                IpvsMessage::new(IpvsCmd::GetConfig, vec![]),
                false,
                "get timeouts",
                String::new(),
            )
            .await?;
        let mut t = Timeouts::default();
        for a in msgs.iter().flat_map(|m| m.attrs.iter()) {
            match a {
                IpvsAttr::TimeoutTcp(v) => t.tcp = *v,
                IpvsAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
                IpvsAttr::TimeoutUdp(v) => t.udp = *v,
                _ => {}
            }
        }
        Ok(t)
    }

    /// The whole table as the reconciler sees it (local addresses only in FULLNAT).
    pub async fn read_state(&mut self) -> Result<State, IpvsError> {
        let mut state = State::default();
        for s in self.services().await? {
            let key = s.service.key;
            let mut st = ServiceState::new(s.service);
            let dests = match self.dests(&key).await {
                Ok(d) => d,
                // Deleted by someone else between the two dumps: it is not in the table.
                Err(IpvsError::Kernel { errno, .. }) if errno == libc::ESRCH => continue,
                Err(e) => return Err(e),
            };
            for d in dests {
                st.dests.insert(d.dest.key(), d.dest);
            }
            if self.dialect.has_laddr() {
                st.laddrs = self
                    .laddrs(&key)
                    .await?
                    .into_iter()
                    .map(|l| l.addr)
                    .collect();
            }
            state.insert(st);
        }
        Ok(state)
    }

    // ---- writes ------------------------------------------------------------------------

    /// The request for one reconciler operation, checked against the dialect.
    pub fn request_for(&self, op: &Op) -> Result<Request, IpvsError> {
        let svc_msg = |cmd, key: &ServiceKey, extra: Vec<IpvsAttr>| {
            let mut attrs = vec![IpvsAttr::Service(Nested::new(service::key_attrs(key)))];
            attrs.extend(extra);
            IpvsMessage::new(cmd, attrs)
        };
        Ok(match op {
            Op::AddService(s) | Op::EditService(s) => {
                self.check_service(s)?;
                let (cmd, name) = match op {
                    Op::AddService(_) => (IpvsCmd::NewService, "add service"),
                    _ => (IpvsCmd::SetService, "edit service"),
                };
                Request {
                    msg: IpvsMessage::new(
                        cmd,
                        vec![IpvsAttr::Service(Nested::new(service::full_attrs(
                            s,
                            &self.dialect,
                        )))],
                    ),
                    op: name,
                    object: s.key.to_string(),
                    missing_ok: false,
                }
            }
            Op::DelService(k) => Request {
                msg: svc_msg(IpvsCmd::DelService, k, vec![]),
                op: "delete service",
                object: k.to_string(),
                missing_ok: true,
            },
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                self.check_dest(k, d)?;
                let (cmd, name) = match op {
                    Op::AddDest(..) => (IpvsCmd::NewDest, "add real"),
                    _ => (IpvsCmd::SetDest, "edit real"),
                };
                Request {
                    msg: svc_msg(
                        cmd,
                        k,
                        vec![IpvsAttr::Dest(Nested::new(dest::full_attrs(d, k.af())))],
                    ),
                    op: name,
                    object: format!("{} of {k}", d.key()),
                    missing_ok: false,
                }
            }
            Op::DelDest(k, dk) => Request {
                msg: svc_msg(
                    IpvsCmd::DelDest,
                    k,
                    vec![IpvsAttr::Dest(Nested::new(dest::key_attrs(
                        dk.addr,
                        dk.port,
                        k.af(),
                    )))],
                ),
                op: "delete real",
                object: format!("{dk} of {k}"),
                missing_ok: true,
            },
            Op::AddLaddr(k, a) | Op::DelLaddr(k, a) => {
                let (cmd, name, missing_ok) = match op {
                    Op::AddLaddr(..) => (IpvsCmd::NewLaddr, "add local address", false),
                    _ => (IpvsCmd::DelLaddr, "delete local address", true),
                };
                self.dialect.require_fullnat(name)?;
                if Af::of(a) != k.af() {
                    return Err(IpvsError::Invalid {
                        op: name,
                        object: format!("{a} of {k}"),
                        reason: "a local address must have the service's address family".into(),
                    });
                }
                Request {
                    msg: svc_msg(
                        cmd,
                        k,
                        vec![IpvsAttr::Laddr(Nested::new(vec![LaddrAttr::Addr(
                            InetAddr::from_ip(*a),
                        )]))],
                    ),
                    op: name,
                    object: format!("{a} of {k}"),
                    missing_ok,
                }
            }
        })
    }

    fn check_service(&self, s: &Service) -> Result<(), IpvsError> {
        let op = "add service";
        if s.scheduler.is_empty() || s.scheduler.len() >= service::IP_VS_SCHEDNAME_MAXLEN {
            return Err(IpvsError::Invalid {
                op,
                object: s.key.to_string(),
                reason: format!("scheduler name {:?} must be 1..15 characters", s.scheduler),
            });
        }
        if s.flags.contains(crate::model::ServiceFlags::SYNPROXY) {
            self.dialect.require_fullnat("the SYNPROXY service flag")?;
        }
        if s.est_timeout.is_some() {
            self.dialect
                .require_fullnat("an established-connection timeout")?;
        }
        if s.pe_name.is_some() && !matches!(self.dialect, Dialect::Mainline(_)) {
            return Err(IpvsError::Invalid {
                op,
                object: s.key.to_string(),
                reason: format!(
                    "a persistence engine needs mainline IPVS, this is {}",
                    self.dialect
                ),
            });
        }
        Ok(())
    }

    fn check_dest(&self, k: &ServiceKey, d: &Destination) -> Result<(), IpvsError> {
        if d.fwd == FwdMethod::Fullnat {
            self.dialect
                .require_fullnat("the FULLNAT forwarding method")?;
        }
        // The FULLNAT kernels are 2.6.32: no ADDR_FAMILY (3.18) and no tunnel settings (5.2).
        let features = match &self.dialect {
            Dialect::Mainline(f) => *f,
            _ => crate::netlink::Features {
                kernel: Some((2, 6)),
            },
        };
        {
            let f = &features;
            if Af::of(&d.addr) != k.af() && !f.dest_addr_family() {
                return Err(DialectError::TooOld {
                    what: "a real of another address family",
                    needs: "3.18",
                    dialect: self.dialect.to_string(),
                }
                .into());
            }
            if d.fwd == FwdMethod::Tunnel && d.tunnel != Default::default() {
                let needs_flags =
                    d.tunnel.flags != 0 || d.tunnel.tun_type == crate::model::TunType::Gre;
                if !f.tun_type() || (needs_flags && !f.tun_flags()) {
                    return Err(DialectError::TooOld {
                        what: "tunnel type/port/flags",
                        needs: if needs_flags { "5.3" } else { "5.2" },
                        dialect: self.dialect.to_string(),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Apply reconciler operations, pipelined. Returns one result per operation, in order.
    pub async fn apply(&mut self, ops: &[Op]) -> Vec<Result<(), IpvsError>> {
        let mut results: Vec<Option<Result<(), IpvsError>>> = Vec::with_capacity(ops.len());
        let mut requests = Vec::new();
        let mut slots = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match self.request_for(op) {
                Ok(r) => {
                    requests.push(r);
                    slots.push(i);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        for (slot, res) in slots.into_iter().zip(self.execute(requests).await) {
            if let Some(r) = results.get_mut(slot) {
                *r = Some(res);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or(Err(IpvsError::Protocol {
                    op: "apply",
                    detail: "lost result".into(),
                }))
            })
            .collect()
    }

    pub async fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::AddService(s.clone()))?;
        self.one(r).await
    }

    pub async fn edit_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::EditService(s.clone()))?;
        self.one(r).await
    }

    pub async fn del_service(&mut self, k: &ServiceKey) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::DelService(*k))?;
        self.one(r).await
    }

    pub async fn add_dest(&mut self, k: &ServiceKey, d: &Destination) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::AddDest(*k, d.clone()))?;
        self.one(r).await
    }

    pub async fn edit_dest(&mut self, k: &ServiceKey, d: &Destination) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::EditDest(*k, d.clone()))?;
        self.one(r).await
    }

    pub async fn del_dest(&mut self, k: &ServiceKey, d: &DestKey) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::DelDest(*k, *d))?;
        self.one(r).await
    }

    pub async fn add_laddr(&mut self, k: &ServiceKey, a: IpAddr) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::AddLaddr(*k, a))?;
        self.one(r).await
    }

    pub async fn del_laddr(&mut self, k: &ServiceKey, a: IpAddr) -> Result<(), IpvsError> {
        let r = self.request_for(&Op::DelLaddr(*k, a))?;
        self.one(r).await
    }

    /// Zero the counters of one service, or of everything.
    pub async fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), IpvsError> {
        let attrs = key
            .map(|k| vec![IpvsAttr::Service(Nested::new(service::key_attrs(k)))])
            .unwrap_or_default();
        self.one(Request {
            msg: IpvsMessage::new(IpvsCmd::Zero, attrs),
            op: "zero counters",
            object: key.map(|k| k.to_string()).unwrap_or_else(|| "(all)".into()),
            missing_ok: false,
        })
        .await
    }

    /// Remove every service and destination (of every owner).
    pub async fn flush(&mut self) -> Result<(), IpvsError> {
        self.one(Request {
            msg: IpvsMessage::new(IpvsCmd::Flush, vec![]),
            op: "flush",
            object: "(all services)".into(),
            missing_ok: false,
        })
        .await
    }

    /// Set connection timeouts; a 0 leaves that one unchanged.
    pub async fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.one(Request {
            msg: IpvsMessage::new(
                IpvsCmd::SetConfig,
                vec![
                    IpvsAttr::TimeoutTcp(t.tcp),
                    IpvsAttr::TimeoutTcpFin(t.tcp_fin),
                    IpvsAttr::TimeoutUdp(t.udp),
                ],
            ),
            op: "set timeouts",
            object: format!("tcp {} tcpfin {} udp {}", t.tcp, t.tcp_fin, t.udp),
            missing_ok: false,
        })
        .await
    }

    // ---- sync daemon -------------------------------------------------------------------

    /// Start a master or backup sync daemon with every attribute in `cfg`.
    pub async fn start_daemon(&mut self, cfg: &DaemonConfig) -> Result<(), IpvsError> {
        let op = "start sync daemon";
        let object = format!(
            "{:?} on {} (syncid {})",
            cfg.state, cfg.mcast_ifn, cfg.sync_id
        );
        if cfg.mcast_ifn.is_empty() || cfg.mcast_ifn.len() >= daemon::IP_VS_IFNAME_MAXLEN {
            return Err(IpvsError::Invalid {
                op,
                object,
                reason: "interface name must be 1..15 characters".into(),
            });
        }
        if let Some(g) = cfg.mcast_group {
            if !g.is_multicast() {
                return Err(IpvsError::Invalid {
                    op,
                    object,
                    reason: format!("sync group {g} is not a multicast address"),
                });
            }
        }
        let extended = cfg.sync_maxlen.is_some()
            || cfg.mcast_group.is_some()
            || cfg.mcast_port.is_some()
            || cfg.mcast_ttl.is_some();
        if let Dialect::Mainline(f) = &self.dialect {
            if extended && !f.daemon_mcast_attrs() {
                return Err(DialectError::TooOld {
                    what: "sync daemon maxlen/group/port/ttl",
                    needs: "4.3",
                    dialect: self.dialect.to_string(),
                }
                .into());
            }
        }
        self.one(Request {
            msg: IpvsMessage::new(
                IpvsCmd::NewDaemon,
                vec![IpvsAttr::Daemon(Nested::new(daemon::full_attrs(cfg)))],
            ),
            op,
            object,
            missing_ok: false,
        })
        .await
    }

    /// Stop the master or backup daemon; stopping one that is not running is success.
    pub async fn stop_daemon(&mut self, state: DaemonState) -> Result<(), IpvsError> {
        self.one(Request {
            msg: IpvsMessage::new(
                IpvsCmd::DelDaemon,
                vec![IpvsAttr::Daemon(Nested::new(vec![
                    daemon::DaemonAttr::State(state.to_raw()),
                ]))],
            ),
            op: "stop sync daemon",
            object: format!("{state:?}"),
            missing_ok: true,
        })
        .await
    }
}

/// CTRL_CMD_GETFAMILY("IPVS"): family id, version, max attribute and op ids.
async fn resolve_family<T: Transport>(transport: &mut T) -> Result<FamilyInfo, IpvsError> {
    let op = "resolve the IPVS family";
    let seq = 1;
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName("IPVS".to_string())],
    });
    genl.finalize();
    let mut nl = NetlinkMessage::from(genl);
    nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    nl.header.sequence_number = seq;
    nl.finalize();
    let mut buf = vec![0u8; nl.buffer_len()];
    nl.serialize(&mut buf);
    transport.send(&buf).await?;

    let mut family: Option<FamilyInfo> = None;
    loop {
        let datagram = tokio::time::timeout(DEFAULT_REPLY_TIMEOUT, transport.recv())
            .await
            .map_err(|_| IpvsError::Protocol {
                op,
                detail: format!("no reply from the kernel within {DEFAULT_REPLY_TIMEOUT:?}"),
            })??;
        let mut rest: &[u8] = &datagram;
        while !rest.is_empty() {
            let len = rest
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(|b| u32::from_ne_bytes(b) as usize)
                .filter(|l| *l >= 16 && *l <= rest.len())
                .ok_or_else(|| IpvsError::Protocol {
                    op,
                    detail: format!("bad netlink length in a {}-byte reply", rest.len()),
                })?;
            let one = rest.get(..len).unwrap_or(&[]);
            rest = rest.get(((len + 3) & !3).min(rest.len())..).unwrap_or(&[]);
            let msg = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(one).map_err(|e| {
                IpvsError::Protocol {
                    op,
                    detail: format!("malformed controller reply: {e}"),
                }
            })?;
            if msg.header.sequence_number != seq {
                continue;
            }
            match msg.payload {
                NetlinkPayload::InnerMessage(g) => {
                    if g.header.cmd != u8::from(GenlCtrlCmd::NewFamily) {
                        continue;
                    }
                    let mut info = FamilyInfo {
                        family_id: 0,
                        version: 0,
                        maxattr: 0,
                        ops: Vec::new(),
                    };
                    for a in g.payload.nlas {
                        match a {
                            GenlCtrlAttrs::FamilyId(id) => info.family_id = id,
                            GenlCtrlAttrs::Version(v) => info.version = v,
                            GenlCtrlAttrs::MaxAttr(m) => info.maxattr = m,
                            GenlCtrlAttrs::Ops(ops) => {
                                for o in ops {
                                    for oa in o {
                                        if let OpAttrs::Id(id) = oa {
                                            info.ops.push(id);
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    info.ops.sort_unstable();
                    if info.family_id == 0 || info.family_id == GENL_ID_CTRL {
                        return Err(IpvsError::Protocol {
                            op,
                            detail: format!("controller gave family id {}", info.family_id),
                        });
                    }
                    family = Some(info);
                }
                NetlinkPayload::Error(e) => {
                    return match (e.code, family) {
                        (None, Some(f)) => Ok(f),
                        (None, None) => Err(IpvsError::Protocol {
                            op,
                            detail: "acknowledged without a family".into(),
                        }),
                        (Some(c), _) if -c.get() == libc::ENOENT => Err(IpvsError::NoIpvs),
                        (Some(c), _) => Err(IpvsError::from_errno(op, "IPVS".into(), -c.get())),
                    }
                }
                NetlinkPayload::Done(_) => {
                    return family.ok_or(IpvsError::NoIpvs);
                }
                _ => {}
            }
        }
    }
}

/// Convenience: a client on a real netlink socket in the current network namespace.
pub async fn connect() -> Result<IpvsClient<crate::transport::NetlinkTransport>, IpvsError> {
    IpvsClient::connect(crate::transport::NetlinkTransport::open()?).await
}

/// For tests and tools: the request bytes the client sends for a message.
pub fn encode_request(msg: IpvsMessage, family_id: u16, flags: u16, seq: u32) -> Vec<u8> {
    frame::encode(&frame::request(msg, family_id, flags, seq))
}

/// For tests and tools: decode what a kernel would answer.
pub fn decode_reply(
    buf: &[u8],
    family_id: u16,
    dialect: &Dialect,
) -> Result<Vec<IpvsNetlinkMessage>, crate::netlink::WireError> {
    frame::decode(buf, family_id, dialect)
}
