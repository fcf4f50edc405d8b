//! One neighbor's task: owns the FSM, the TCP connection, the timers and the Adj-RIBs, and
//! carries out the FSM's actions. A bad message from this peer ends this session only.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::fsm::{Action, Event, Fsm, LastError, State, Timer};
use crate::packet::error::{cease_sub, code};
use crate::packet::{Family, Message, Notification, Prefix, Update};
use crate::rib::{AdjRibIn, AdjRibOut, ExportContext, RibInStats, RibOutStats, RouteAttrs};
use crate::session::{
    collision_winner, CollisionWinner, GracefulRestart, Negotiated, SessionConfig,
    DEFAULT_CONNECT_RETRY, DEFAULT_HOLD_TIME,
};
use crate::speaker::AbortOnDrop;
use crate::transport::{self, Framer, SocketOptions};

/// One BGP neighbor (a switch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborConfig {
    pub name: String,
    pub address: IpAddr,
    #[serde(default = "bgp_port")]
    pub port: u16,
    pub remote_as: u32,
    /// Source address of our connections (and so the default next hop).
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// TCP-MD5 key (RFC 2385).
    #[serde(default)]
    pub password: Option<String>,
    /// GTSM (RFC 5082): TTL 255 out, at least 254 in.
    #[serde(default)]
    pub ttl_security: bool,
    #[serde(default)]
    pub passive: bool,
    #[serde(default = "hold")]
    pub hold_time: u16,
    #[serde(default = "connect_retry")]
    pub connect_retry: u32,
    /// Override next hop self for IPv4 routes.
    #[serde(default)]
    pub next_hop_v4: Option<Ipv4Addr>,
    /// Override next hop self for IPv6 routes (global address).
    #[serde(default)]
    pub next_hop_v6: Option<Ipv6Addr>,
    #[serde(default = "families")]
    pub families: Vec<Family>,
}

fn bgp_port() -> u16 {
    179
}
fn hold() -> u16 {
    DEFAULT_HOLD_TIME
}
fn connect_retry() -> u32 {
    DEFAULT_CONNECT_RETRY
}
fn families() -> Vec<Family> {
    vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
}

impl NeighborConfig {
    pub fn new(name: &str, address: IpAddr, remote_as: u32) -> Self {
        NeighborConfig {
            name: name.to_string(),
            address,
            port: bgp_port(),
            remote_as,
            local_address: None,
            password: None,
            ttl_security: false,
            passive: false,
            hold_time: hold(),
            connect_retry: connect_retry(),
            next_hop_v4: None,
            next_hop_v6: None,
            families: families(),
        }
    }
}

/// Message and route counters of one neighbor (since it was configured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub messages_in: u64,
    pub messages_out: u64,
    pub updates_in: u64,
    pub updates_out: u64,
    pub notifications_in: u64,
    pub notifications_out: u64,
    /// Routes currently in the Adj-RIB-In.
    pub prefixes_in: u64,
    /// Routes currently in the Adj-RIB-Out (sent and not withdrawn).
    pub prefixes_out: u64,
    pub sessions_established: u64,
}

/// What operators see of a neighbor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborState {
    pub name: String,
    pub address: IpAddr,
    pub remote_as: u32,
    pub state: State,
    /// Seconds in Established, when established.
    pub uptime_secs: Option<u64>,
    /// Unix time of the last transition into Established.
    pub established_at_unix: Option<u64>,
    pub last_error: Option<LastError>,
    pub counters: Counters,
    pub negotiated: Option<Negotiated>,
    pub rib_in: RibInStats,
    pub rib_out: RibOutStats,
    pub local_address: Option<SocketAddr>,
}

/// State the neighbor task shares with the speaker for reading.
#[derive(Debug)]
pub struct Shared {
    name: String,
    address: IpAddr,
    remote_as: u32,
    state: State,
    established: Option<(Instant, u64)>,
    last_error: Option<LastError>,
    counters: Counters,
    negotiated: Option<Negotiated>,
    local_address: Option<SocketAddr>,
    pub rib_in: AdjRibIn,
    pub rib_out: AdjRibOut,
}

impl Shared {
    pub fn new(cfg: &NeighborConfig) -> Self {
        Shared {
            name: cfg.name.clone(),
            address: cfg.address,
            remote_as: cfg.remote_as,
            state: State::Idle,
            established: None,
            last_error: None,
            counters: Counters::default(),
            negotiated: None,
            local_address: None,
            rib_in: AdjRibIn::new(),
            rib_out: AdjRibOut::new(),
        }
    }

    pub fn state(&self) -> NeighborState {
        let mut counters = self.counters;
        counters.prefixes_in = self.rib_in.len() as u64;
        counters.prefixes_out = self.rib_out.sent_len() as u64;
        NeighborState {
            name: self.name.clone(),
            address: self.address,
            remote_as: self.remote_as,
            state: self.state,
            uptime_secs: self.established.map(|(t, _)| t.elapsed().as_secs()),
            established_at_unix: self.established.map(|(_, u)| u),
            last_error: self.last_error.clone(),
            counters,
            negotiated: self.negotiated.clone(),
            rib_in: self.rib_in.stats,
            rib_out: self.rib_out.stats,
            local_address: self.local_address,
        }
    }
}

/// Locks the shared state; a panic elsewhere while holding it does not make it unreadable.
pub fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) enum NeighborCmd {
    Start,
    Announce(Vec<(Prefix, Arc<RouteAttrs>)>),
    Withdraw(Vec<Prefix>),
    Incoming(TcpStream),
    /// Administrative shutdown with a message; reply when the NOTIFICATION is written.
    Stop(String, Option<oneshot::Sender<()>>),
    /// The neighbor is being removed: Cease / Peer De-configured.
    Deconfigure(oneshot::Sender<()>),
}

pub(crate) fn spawn(
    cfg: NeighborConfig,
    local_as: u32,
    router_id: Ipv4Addr,
    graceful_restart: Option<GracefulRestart>,
    shared: Arc<Mutex<Shared>>,
    rx: mpsc::UnboundedReceiver<NeighborCmd>,
) -> JoinHandle<()> {
    let mut session = SessionConfig::new(local_as, cfg.remote_as, router_id);
    session.hold_time = cfg.hold_time;
    session.connect_retry = cfg.connect_retry;
    session.passive = cfg.passive;
    session.families = cfg.families.clone();
    session.graceful_restart = graceful_restart;
    let span = tracing::info_span!("bgp-neighbor", name = %cfg.name, peer = %cfg.address);
    let n = Neighbor {
        fsm: Fsm::new(session),
        cfg,
        shared,
        conn: None,
        pending: None,
        connecting: None,
        timers: [None; 4],
        export: None,
    };
    tokio::spawn(n.run(rx).instrument(span))
}

struct Conn {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    framer: Framer,
    local: SocketAddr,
    /// We initiated this connection (for collision resolution).
    outgoing: bool,
}

struct Neighbor {
    cfg: NeighborConfig,
    fsm: Fsm,
    shared: Arc<Mutex<Shared>>,
    conn: Option<Conn>,
    /// A second connection from the peer waiting for collision resolution (RFC 4271 6.8).
    pending: Option<TcpStream>,
    connecting: Option<(AbortOnDrop, oneshot::Receiver<std::io::Result<TcpStream>>)>,
    timers: [Option<tokio::time::Instant>; 4],
    export: Option<ExportContext>,
}

fn timer_index(t: Timer) -> usize {
    match t {
        Timer::ConnectRetry => 0,
        Timer::Hold => 1,
        Timer::Keepalive => 2,
        Timer::IdleHold => 3,
    }
}

const TIMERS: [Timer; 4] = [
    Timer::ConnectRetry,
    Timer::Hold,
    Timer::Keepalive,
    Timer::IdleHold,
];

enum Input {
    Cmd(Option<NeighborCmd>),
    Read(std::io::Result<usize>),
    Connected(std::io::Result<TcpStream>),
    Timer(Timer),
}

impl Neighbor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<NeighborCmd>) {
        loop {
            let next_timer = self
                .timers
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.map(|t| (t, i)))
                .min();
            let input = {
                let read = async {
                    match self.conn.as_mut() {
                        Some(c) => c.reader.read_buf(c.framer.buffer()).await,
                        None => std::future::pending().await,
                    }
                };
                let connected = async {
                    match self.connecting.as_mut() {
                        Some((_, rx)) => rx
                            .await
                            .unwrap_or_else(|_| Err(std::io::Error::other("connect task ended"))),
                        None => std::future::pending().await,
                    }
                };
                let timer = async {
                    match next_timer {
                        Some((at, i)) => {
                            tokio::time::sleep_until(at).await;
                            TIMERS[i]
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    cmd = rx.recv() => Input::Cmd(cmd),
                    r = read => Input::Read(r),
                    c = connected => Input::Connected(c),
                    t = timer => Input::Timer(t),
                }
            };
            match input {
                Input::Cmd(None) => return,
                Input::Cmd(Some(cmd)) => {
                    if self.command(cmd, &mut rx).await {
                        return;
                    }
                }
                Input::Read(Ok(0)) | Input::Read(Err(_)) => {
                    self.conn = None;
                    self.event(Event::TcpConnectionFails).await;
                    self.adopt_pending().await;
                }
                Input::Read(Ok(_)) => self.read_messages().await,
                Input::Connected(r) => {
                    self.connecting = None;
                    match r {
                        Ok(stream) => {
                            self.set_conn(stream, true);
                            self.event(Event::TcpCrAcked).await;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "TCP connection to the peer failed");
                            self.event(Event::TcpConnectionFails).await;
                        }
                    }
                }
                Input::Timer(t) => {
                    self.timers[timer_index(t)] = None;
                    let ev = match t {
                        Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
                        Timer::Hold => Event::HoldTimerExpires,
                        Timer::Keepalive => Event::KeepaliveTimerExpires,
                        Timer::IdleHold => Event::IdleHoldTimerExpires,
                    };
                    self.event(ev).await;
                }
            }
            self.flush_rib().await;
        }
    }

    /// Handles a command; `true` ends the task.
    async fn command(
        &mut self,
        cmd: NeighborCmd,
        rx: &mut mpsc::UnboundedReceiver<NeighborCmd>,
    ) -> bool {
        match cmd {
            NeighborCmd::Start => self.event(Event::ManualStart).await,
            NeighborCmd::Announce(routes) => {
                let mut s = lock(&self.shared);
                for (p, a) in routes {
                    s.rib_out.announce(p, a);
                }
            }
            NeighborCmd::Withdraw(prefixes) => {
                let mut s = lock(&self.shared);
                for p in prefixes {
                    s.rib_out.withdraw(p);
                }
            }
            NeighborCmd::Incoming(stream) => self.incoming(stream).await,
            NeighborCmd::Stop(msg, done) => {
                self.event(Event::ManualStop { message: msg }).await;
                if let Some(d) = done {
                    let _ = d.send(());
                }
            }
            NeighborCmd::Deconfigure(done) => {
                if matches!(
                    self.fsm.state(),
                    State::OpenSent | State::OpenConfirm | State::Established
                ) {
                    let n =
                        Notification::new(code::CEASE, cease_sub::PEER_DECONFIGURED, Vec::new());
                    self.send(&Message::Notification(n)).await;
                }
                self.close().await;
                let _ = done.send(());
                return true;
            }
        }
        // Coalesce a burst of route changes into one flush.
        while let Ok(more) = rx.try_recv() {
            match more {
                NeighborCmd::Announce(routes) => {
                    let mut s = lock(&self.shared);
                    for (p, a) in routes {
                        s.rib_out.announce(p, a);
                    }
                }
                NeighborCmd::Withdraw(prefixes) => {
                    let mut s = lock(&self.shared);
                    for p in prefixes {
                        s.rib_out.withdraw(p);
                    }
                }
                other => return Box::pin(self.command(other, rx)).await,
            }
        }
        false
    }

    fn set_conn(&mut self, stream: TcpStream, outgoing: bool) {
        let local = stream.local_addr().ok();
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        let local = local.unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
        lock(&self.shared).local_address = Some(local);
        self.conn = Some(Conn {
            reader,
            writer,
            framer: Framer::new(),
            local,
            outgoing,
        });
    }

    async fn incoming(&mut self, stream: TcpStream) {
        let ipv6 = self.cfg.address.is_ipv6();
        if let Err(e) = transport::apply_common(&stream, ipv6, self.cfg.ttl_security) {
            tracing::warn!(error = %e, "cannot set socket options on an accepted connection");
            return;
        }
        match self.fsm.state() {
            // RFC 4271 8.2.2 Idle: connections are refused.
            State::Idle => drop(stream),
            State::Connect | State::Active => {
                self.connecting = None;
                self.conn = None;
                self.set_conn(stream, false);
                self.event(Event::TcpConnectionConfirmed).await;
            }
            // RFC 4271 6.8: "a connection collision with an existing BGP connection that is in
            // the Established state causes closing of the newly created connection."
            State::Established => {
                let n = Notification::new(
                    code::CEASE,
                    cease_sub::CONNECTION_COLLISION_RESOLUTION,
                    Vec::new(),
                );
                reject(stream, n).await;
            }
            State::OpenSent => {
                // The peer's BGP Identifier is not known yet: hold the connection until the OPEN
                // on the existing one tells us who wins.
                if let Some(old) = self.pending.replace(stream) {
                    drop(old);
                }
            }
            State::OpenConfirm => {
                self.pending = Some(stream);
                self.resolve_collision().await;
            }
        }
    }

    /// RFC 4271 6.8, once the peer's identifier is known (OpenConfirm).
    async fn resolve_collision(&mut self) {
        let Some(n) = self.fsm.negotiated() else {
            return;
        };
        let Some(pending) = self.pending.take() else {
            return;
        };
        let existing_outgoing = self.conn.as_ref().is_some_and(|c| c.outgoing);
        let winner = collision_winner(self.fsm.config().router_id, n.peer_id);
        let keep_existing = match winner {
            CollisionWinner::Outgoing => existing_outgoing,
            CollisionWinner::Incoming => !existing_outgoing,
        };
        if keep_existing {
            let n = Notification::new(
                code::CEASE,
                cease_sub::CONNECTION_COLLISION_RESOLUTION,
                Vec::new(),
            );
            reject(pending, n).await;
        } else {
            tracing::info!("connection collision: keeping the peer's connection");
            self.event(Event::OpenCollisionDump).await;
            // The FSM is in Idle now; start over on the surviving connection.
            self.event(Event::ManualStart).await;
            self.connecting = None;
            self.conn = None;
            self.set_conn(pending, false);
            self.event(Event::TcpConnectionConfirmed).await;
        }
    }

    async fn adopt_pending(&mut self) {
        if let Some(p) = self.pending.take() {
            if matches!(self.fsm.state(), State::Active | State::Connect) {
                self.connecting = None;
                self.set_conn(p, false);
                self.event(Event::TcpConnectionConfirmed).await;
            }
        }
    }

    async fn read_messages(&mut self) {
        loop {
            let ctx = self.fsm.decode_context();
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            let ev = match conn.framer.next(&ctx) {
                Ok(None) => return,
                Ok(Some(message)) => {
                    self.count_in(&message);
                    Event::Message { message }
                }
                Err(error) => {
                    tracing::warn!(%error, "malformed message from the peer");
                    conn.framer.clear();
                    Event::DecodeError { error }
                }
            };
            let was_open_sent = self.fsm.state() == State::OpenSent;
            self.event(ev).await;
            if was_open_sent && self.fsm.state() == State::OpenConfirm && self.pending.is_some() {
                self.resolve_collision().await;
            }
        }
    }

    fn count_in(&self, m: &Message) {
        let mut s = lock(&self.shared);
        s.counters.messages_in += 1;
        match m {
            Message::Update(_) => s.counters.updates_in += 1,
            Message::Notification(_) => s.counters.notifications_in += 1,
            _ => {}
        }
    }

    async fn event(&mut self, ev: Event) {
        let actions = self.fsm.process(ev);
        for a in actions {
            self.act(a).await;
        }
        let mut s = lock(&self.shared);
        s.last_error = self.fsm.last_error().cloned();
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::Connect => {
                let opts = SocketOptions {
                    peer: SocketAddr::new(self.cfg.address, self.cfg.port),
                    local: self.cfg.local_address,
                    md5_key: self.cfg.password.clone(),
                    ttl_security: self.cfg.ttl_security,
                };
                let timeout = Duration::from_secs(u64::from(self.cfg.connect_retry.max(1)));
                let (tx, rx) = oneshot::channel();
                let task = tokio::spawn(async move {
                    let _ = tx.send(transport::connect(&opts, timeout).await);
                });
                self.connecting = Some((AbortOnDrop(task), rx));
            }
            Action::Disconnect => self.close().await,
            Action::Send { message } => self.send(&message).await,
            Action::StartTimer { timer, seconds } => {
                let at = tokio::time::Instant::now() + Duration::from_secs(u64::from(seconds));
                self.timers[timer_index(timer)] = Some(at);
            }
            Action::StopTimer { timer } => self.timers[timer_index(timer)] = None,
            Action::StateChange { to, .. } => {
                let mut s = lock(&self.shared);
                s.state = to;
                if to == State::Established {
                    let unix = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    s.established = Some((Instant::now(), unix));
                    s.counters.sessions_established += 1;
                } else {
                    s.established = None;
                }
            }
            Action::SessionUp { negotiated } => self.session_up(negotiated).await,
            Action::SessionDown { reason } => {
                tracing::info!(%reason, "session down");
                self.export = None;
                let mut s = lock(&self.shared);
                s.rib_in.clear();
                s.rib_out.reset();
                s.negotiated = None;
            }
            Action::Received { update } => {
                for i in &update.issues {
                    tracing::warn!(type_code = i.type_code, handling = ?i.handling, reason = %i.reason, "UPDATE attribute error (RFC 7606)");
                }
                lock(&self.shared).rib_in.apply(&update);
            }
            Action::RouteRefresh { family } => {
                lock(&self.shared).rib_out.refresh(family);
                self.flush_rib().await;
            }
        }
    }

    async fn session_up(&mut self, negotiated: Negotiated) {
        let local = self.conn.as_ref().map(|c| c.local.ip());
        let (mut v4, mut v6) = match local {
            Some(l) => transport::local_next_hops(l, self.cfg.address),
            None => (None, None),
        };
        if let Some(nh) = self.cfg.next_hop_v4 {
            v4 = Some(nh);
        }
        if let Some(nh) = self.cfg.next_hop_v6 {
            v6 = Some((nh, v6.and_then(|(_, ll)| ll)));
        }
        let ctx = ExportContext {
            local_as: self.fsm.config().local_as,
            ibgp: negotiated.ibgp,
            codec: negotiated.decode_context(),
            families: negotiated.families.clone(),
            next_hop_v4: v4,
            next_hop_v6: v6,
        };
        tracing::info!(peer_id = %negotiated.peer_id, hold = negotiated.hold_time, ?v4, ?v6, "session established");
        let families: BTreeSet<Family> = negotiated.families.iter().copied().collect();
        {
            let mut s = lock(&self.shared);
            s.negotiated = Some(negotiated);
            s.rib_out.reset();
        }
        self.export = Some(ctx);
        self.flush_rib().await;
        // RFC 4724 2: "the End-of-RIB marker ... sent by a BGP speaker to its peer once it
        // completes the initial routing update for an address family".
        for f in families {
            self.send(&Message::Update(Update::end_of_rib(f))).await;
        }
    }

    async fn flush_rib(&mut self) {
        if self.fsm.state() != State::Established {
            return;
        }
        let Some(ctx) = self.export.clone() else {
            return;
        };
        let updates = {
            let mut s = lock(&self.shared);
            if !s.rib_out.has_pending() {
                return;
            }
            s.rib_out.flush(&ctx)
        };
        if updates.is_empty() {
            return;
        }
        {
            let mut s = lock(&self.shared);
            s.counters.messages_out += updates.len() as u64;
            s.counters.updates_out += updates.len() as u64;
        }
        // Encoded and written in slices of about WRITE_BATCH octets: the peer starts on the
        // first UPDATEs while we encode the rest, and each write is still one large syscall.
        let mut buf = BytesMut::with_capacity(WRITE_BATCH + ctx.codec.max_message_len());
        for u in updates {
            Message::Update(u).encode_into(&mut buf, &ctx.codec);
            if buf.len() >= WRITE_BATCH {
                self.write(&buf).await;
                buf.clear();
                if self.conn.is_none() {
                    return;
                }
            }
        }
        if !buf.is_empty() {
            self.write(&buf).await;
        }
    }

    async fn send(&mut self, m: &Message) {
        let ctx = self
            .export
            .as_ref()
            .map(|e| e.codec)
            .unwrap_or_else(|| self.fsm.decode_context());
        let bytes = m.encode(&ctx);
        {
            let mut s = lock(&self.shared);
            s.counters.messages_out += 1;
            match m {
                Message::Update(_) => s.counters.updates_out += 1,
                Message::Notification(_) => s.counters.notifications_out += 1,
                _ => {}
            }
        }
        self.write(&bytes).await;
    }

    async fn write(&mut self, bytes: &[u8]) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Err(e) = conn.writer.write_all(bytes).await {
            tracing::info!(error = %e, "write to the peer failed");
            self.conn = None;
            // Box the recursion: the FSM may ask us to send again.
            Box::pin(self.event(Event::TcpConnectionFails)).await;
        }
    }

    async fn close(&mut self) {
        self.connecting = None;
        if let Some(mut c) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), c.writer.shutdown()).await;
        }
        lock(&self.shared).local_address = None;
    }
}

/// How many octets of UPDATEs are encoded before they are written to the socket.
const WRITE_BATCH: usize = 64 * 1024;

/// Sends a NOTIFICATION on a connection we are not keeping, and closes it.
async fn reject(mut stream: TcpStream, n: Notification) {
    let bytes = Message::Notification(n).encode(&Default::default());
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&bytes)).await;
    let _ = stream.shutdown().await;
}
