//! The I/O around the sans-IO [`Router`]: raw sockets, timers, interface events, commands.
//!
//! ```text
//!  Instance (handle) ──Command──►┐
//!  recv task per interface ──Rx──►  main loop ── Router::process ──► Output
//!  timer map (sleep_until) ───────►│                 │ Send: socket.send_to
//!  rtnetlink watch ──Notify──────►│                 │ Join/Leave: IP_ADD/DROP_MEMBERSHIP
//!  re-sync tick (5 s) ────────────►┘                 └ SetTimer/CancelTimer: timer map
//! ```
//! Interfaces: one rtnetlink dump (links, IPv4 addresses) at start, another at once after any
//! RTNLGRP_LINK / RTNLGRP_IPV4_IFADDR notification, and one every 5 s in case a notification
//! was missed (see [`crate::link`]).
//! One raw IP socket (protocol 89) per interface, bound to the device (SO_BINDTODEVICE), TTL 1,
//! DSCP CS6, multicast loop off. Receive tasks are aborted when their interface goes down or the
//! loop ends.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::link::{Link, Rtnl};
use crate::packet::IPPROTO_OSPF;
use crate::router::{Input, Output, Router, Timer};
use crate::state::State;

/// DSCP CS6 (network control) in the TOS byte.
const TOS_CS6: u32 = 0xc0;
/// Re-read interfaces this often even without a notification (a safety net only).
const INTERFACE_RESYNC: Duration = Duration::from_secs(5);

pub(crate) enum Command {
    Input(Input, Option<oneshot::Sender<()>>),
    State(oneshot::Sender<State>),
    Shutdown(Duration, oneshot::Sender<()>),
}

struct Rx {
    ifname: String,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    data: Vec<u8>,
}

struct IfIo {
    socket: Arc<UdpSocket>,
    addr: Ipv4Addr,
    recv: JoinHandle<()>,
}

impl Drop for IfIo {
    fn drop(&mut self) {
        self.recv.abort();
    }
}

/// Opens the raw socket. It is then driven through tokio's datagram socket type, which only
/// issues recv/sendto/setsockopt calls that are valid on a raw socket too.
fn open_socket(ifname: &str, addr: Ipv4Addr) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_OSPF)))?;
    s.bind_device(Some(ifname.as_bytes()))?;
    s.set_multicast_if_v4(&addr)?;
    s.set_multicast_loop_v4(false)?;
    s.set_multicast_ttl_v4(1)?;
    s.set_ttl_v4(1)?;
    s.set_tos_v4(TOS_CS6)?;
    // Only deliver the groups joined on this socket (Linux IP_MULTICAST_ALL defaults to on).
    s.set_multicast_all_v4(false)?;
    s.set_nonblocking(true)?;
    let std: std::net::UdpSocket = Socket::into(s);
    UdpSocket::from_std(std)
}

async fn recv_loop(ifname: String, sock: Arc<UdpSocket>, tx: mpsc::Sender<Rx>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let n = match sock.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(ifname, error = %e, "OSPF socket receive failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Raw IPv4 sockets deliver the IP header: IHL in the low nibble of byte 0.
        let Some(pkt) = buf.get(..n) else { continue };
        let ihl = usize::from(pkt.first().copied().unwrap_or(0) & 0x0f) * 4;
        let (Some(src), Some(dst), Some(data)) = (pkt.get(12..16), pkt.get(16..20), pkt.get(ihl..))
        else {
            continue;
        };
        if ihl < 20 {
            continue;
        }
        let ip = |b: &[u8]| {
            <[u8; 4]>::try_from(b)
                .map(Ipv4Addr::from)
                .unwrap_or(Ipv4Addr::UNSPECIFIED)
        };
        let rx = Rx {
            ifname: ifname.clone(),
            src: ip(src),
            dst: ip(dst),
            data: data.to_vec(),
        };
        if tx.send(rx).await.is_err() {
            return;
        }
    }
}

pub(crate) struct Runner {
    router: Router,
    /// Configured interfaces and their MTUs (0: the kernel's).
    ifnames: Vec<(String, u16)>,
    start: Instant,
    timers: BTreeMap<Timer, Instant>,
    io: BTreeMap<String, IfIo>,
    links: BTreeMap<String, Link>,
    rx_tx: mpsc::Sender<Rx>,
    rx_rx: mpsc::Receiver<Rx>,
    /// rtnetlink sockets, opened in the namespace of the thread that spawned the instance.
    rtnl: Option<Rtnl>,
    link_changed: Arc<Notify>,
    watch: Option<JoinHandle<()>>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(w) = self.watch.take() {
            w.abort();
        }
    }
}

impl Runner {
    /// `rtnl` comes from [`Rtnl::open`] on the spawning thread; when that failed the runner
    /// retries on its re-sync tick (then in whatever namespace the runtime thread is in).
    pub(crate) fn new(
        router: Router,
        ifnames: Vec<(String, u16)>,
        rtnl: std::io::Result<Rtnl>,
    ) -> Self {
        let (rx_tx, rx_rx) = mpsc::channel(1024);
        let rtnl = rtnl
            .map_err(|e| {
                tracing::error!(error = %e, "cannot open rtnetlink sockets; interfaces stay down until this works");
            })
            .ok();
        let mut r = Runner {
            router,
            ifnames,
            start: Instant::now(),
            timers: BTreeMap::new(),
            io: BTreeMap::new(),
            links: BTreeMap::new(),
            rx_tx,
            rx_rx,
            rtnl: None,
            link_changed: Arc::new(Notify::new()),
            watch: None,
        };
        if let Some(rtnl) = rtnl {
            r.set_rtnl(rtnl);
        }
        r
    }

    fn set_rtnl(&mut self, mut rtnl: Rtnl) {
        if let Some(events) = rtnl.take_events() {
            self.watch = Some(tokio::spawn(crate::link::watch(
                events,
                self.link_changed.clone(),
            )));
        }
        self.rtnl = Some(rtnl);
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn feed(&mut self, input: Input) {
        let now = self.now_ms();
        let outs = self.router.process(now, input);
        for o in outs {
            self.apply(o);
        }
    }

    fn apply(&mut self, o: Output) {
        match o {
            Output::Send {
                ifname, dst, bytes, ..
            } => {
                let Some(io) = self.io.get(&ifname) else {
                    return;
                };
                let to = std::net::SocketAddr::V4(SocketAddrV4::new(dst, 0));
                if let Err(e) = io.socket.try_send_to(&bytes, to) {
                    tracing::warn!(ifname, %dst, error = %e, "OSPF send failed");
                }
            }
            Output::SetTimer { timer, at } => {
                let at = self.start + Duration::from_millis(at);
                self.timers.insert(timer, at);
            }
            Output::CancelTimer { timer } => {
                self.timers.remove(&timer);
            }
            Output::JoinGroup { ifname, group } => {
                if let Some(io) = self.io.get(&ifname) {
                    if let Err(e) = io.socket.join_multicast_v4(group, io.addr) {
                        tracing::warn!(ifname, %group, error = %e, "cannot join multicast group");
                    }
                }
            }
            Output::LeaveGroup { ifname, group } => {
                if let Some(io) = self.io.get(&ifname) {
                    // Leaving a group not joined is not an error worth reporting.
                    let _ = io.socket.leave_multicast_v4(group, io.addr);
                }
            }
            Output::InterfaceState { .. } | Output::NeighborState { .. } => {}
            Output::Drop {
                ifname,
                src,
                reason,
            } => {
                tracing::debug!(ifname, %src, reason = reason.name(), "OSPF packet dropped");
            }
        }
    }

    /// Reads every link and address from the kernel and brings configured interfaces up or
    /// down to match.
    async fn sync_links(&mut self) {
        if self.rtnl.is_none() {
            match Rtnl::open() {
                Ok(r) => self.set_rtnl(r),
                Err(e) => {
                    tracing::error!(error = %e, "cannot open rtnetlink sockets");
                    return;
                }
            }
        }
        let Some(rtnl) = self.rtnl.as_mut() else {
            return;
        };
        let mut snap = None;
        // A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is simply taken again.
        for _ in 0..3 {
            match rtnl.snapshot().await {
                Ok(s) => {
                    snap = Some(s);
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "cannot read interfaces from the kernel"),
            }
        }
        let Some(snap) = snap else { return };
        for (name, mtu) in self.ifnames.clone() {
            let link = snap.link(&name, mtu);
            self.set_link(&name, link);
        }
    }

    fn set_link(&mut self, name: &str, link: Option<Link>) {
        let old = self.links.get(name).cloned();
        if link == old {
            return;
        }
        let Some(l) = link else {
            tracing::info!(ifname = name, "interface down, or without an IPv4 address");
            self.links.remove(name);
            self.feed(Input::InterfaceDown {
                ifname: name.to_string(),
            });
            self.io.remove(name);
            return;
        };
        let same_socket = old
            .as_ref()
            .is_some_and(|o| o.ifindex == l.ifindex && o.addr == l.addr);
        if !same_socket {
            if old.is_some() {
                // Another device or address: the adjacencies start over on the new socket.
                self.feed(Input::InterfaceDown {
                    ifname: name.to_string(),
                });
            }
            // Close the old socket before the router joins groups on the new one.
            self.io.remove(name);
            match open_socket(name, l.addr) {
                Ok(fd) => {
                    let socket = Arc::new(fd);
                    let recv = tokio::spawn(recv_loop(
                        name.to_string(),
                        socket.clone(),
                        self.rx_tx.clone(),
                    ));
                    self.io.insert(
                        name.to_string(),
                        IfIo {
                            socket,
                            addr: l.addr,
                            recv,
                        },
                    );
                }
                Err(e) => {
                    tracing::error!(ifname = name, error = %e, "cannot open OSPF raw socket (needs CAP_NET_RAW)");
                    self.links.remove(name);
                    return;
                }
            }
        }
        tracing::info!(ifname = name, addr = %l.addr, prefix_len = l.prefix_len, mtu = l.mtu, "interface up");
        self.links.insert(name.to_string(), l.clone());
        self.feed(Input::InterfaceUp {
            ifname: name.to_string(),
            ifindex: l.ifindex,
            addr: l.addr,
            prefix_len: l.prefix_len,
            mtu: l.mtu,
        });
    }

    fn next_timer(&self) -> Option<(Timer, Instant)> {
        self.timers
            .iter()
            .min_by_key(|(_, at)| **at)
            .map(|(t, at)| (t.clone(), *at))
    }

    pub(crate) async fn run(mut self, mut cmds: mpsc::Receiver<Command>) {
        self.sync_links().await;
        let mut resync = tokio::time::interval(INTERFACE_RESYNC);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let changed = self.link_changed.clone();
        loop {
            let next = self.next_timer();
            let sleep_until = next
                .as_ref()
                .map(|(_, at)| *at)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                Some(rx) = self.rx_rx.recv() => {
                    self.feed(Input::Packet { ifname: rx.ifname, src: rx.src, dst: rx.dst, data: rx.data });
                }
                () = tokio::time::sleep_until(sleep_until), if next.is_some() => {
                    if let Some((t, _)) = next {
                        self.timers.remove(&t);
                        self.feed(Input::Timer(t));
                    }
                }
                () = changed.notified() => self.sync_links().await,
                _ = resync.tick() => self.sync_links().await,
                cmd = cmds.recv() => match cmd {
                    None => break,
                    Some(Command::Input(i, done)) => {
                        self.feed(i);
                        if let Some(d) = done {
                            let _ = d.send(());
                        }
                    }
                    Some(Command::State(reply)) => {
                        let _ = reply.send(self.router.state());
                    }
                    Some(Command::Shutdown(grace, done)) => {
                        self.shutdown(grace).await;
                        let _ = done.send(());
                        break;
                    }
                },
            }
        }
    }

    /// Flushes everything we originated and keeps the adjacencies alive until every neighbor
    /// has acknowledged the flush (or `grace` passes), so the area converges at once.
    async fn shutdown(&mut self, grace: Duration) {
        self.feed(Input::FlushAll);
        let deadline = Instant::now() + grace;
        loop {
            let pending = self
                .router
                .state()
                .neighbors
                .iter()
                .any(|n| n.retransmit_len > 0);
            if !pending || Instant::now() >= deadline {
                break;
            }
            let next = self.next_timer();
            let until = next
                .as_ref()
                .map(|(_, at)| (*at).min(deadline))
                .unwrap_or(deadline);
            tokio::select! {
                Some(rx) = self.rx_rx.recv() => {
                    self.feed(Input::Packet { ifname: rx.ifname, src: rx.src, dst: rx.dst, data: rx.data });
                }
                () = tokio::time::sleep_until(until) => {
                    if let Some((t, at)) = next {
                        if at <= Instant::now() {
                            self.timers.remove(&t);
                            self.feed(Input::Timer(t));
                        }
                    }
                }
            }
        }
    }
}
