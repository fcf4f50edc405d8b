//! The I/O around the sans-IO [`Router`]: raw sockets, timers, interface polling, commands.
//!
//! ```text
//!  Instance (handle) ──Command──►┐
//!  recv task per interface ──Rx──►  main loop ── Router::process ──► Output
//!  timer map (sleep_until) ───────►│                 │ Send: socket.send_to
//!  interface poll (1 s) ──────────►┘                 │ Join/Leave: IP_ADD/DROP_MEMBERSHIP
//!                                                     └ SetTimer/CancelTimer: timer map
//! ```
//! One raw IP socket (protocol 89) per interface, bound to the device (SO_BINDTODEVICE), TTL 1,
//! DSCP CS6, multicast loop off. Receive tasks are aborted when their interface goes down or the
//! loop ends.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::packet::IPPROTO_OSPF;
use crate::router::{Input, Output, Router, Timer};
use crate::state::State;

/// DSCP CS6 (network control) in the TOS byte.
const TOS_CS6: u32 = 0xc0;
const INTERFACE_POLL: Duration = Duration::from_millis(500);

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

/// What the kernel says about one configured interface.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    ifindex: u32,
    addr: Ipv4Addr,
    prefix_len: u8,
    mtu: u16,
}

/// The interface is administratively up with carrier, and has an IPv4 address. Read through
/// getifaddrs (netlink in the calling thread's network namespace; /sys would show the
/// namespace sysfs was mounted in). The MTU comes from the configuration (`mtu`, default 1500).
fn probe_link(name: &str, mtu: u16) -> Option<Link> {
    use nix::net::if_::InterfaceFlags as F;
    let ifindex = nix::net::if_::if_nametoindex(name).ok()?;
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    for a in addrs {
        if a.interface_name != name || !a.flags.contains(F::IFF_UP | F::IFF_RUNNING) {
            continue;
        }
        let (Some(ad), Some(nm)) = (a.address, a.netmask) else {
            continue;
        };
        let (Some(ad), Some(nm)) = (ad.as_sockaddr_in(), nm.as_sockaddr_in()) else {
            continue;
        };
        let prefix_len = u32::from(nm.ip()).count_ones() as u8;
        return Some(Link {
            ifindex,
            addr: ad.ip(),
            prefix_len,
            mtu,
        });
    }
    None
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
    /// Configured interfaces and their MTUs.
    ifnames: Vec<(String, u16)>,
    start: Instant,
    timers: BTreeMap<Timer, Instant>,
    io: BTreeMap<String, IfIo>,
    links: BTreeMap<String, Link>,
    rx_tx: mpsc::Sender<Rx>,
    rx_rx: mpsc::Receiver<Rx>,
}

impl Runner {
    pub(crate) fn new(router: Router, ifnames: Vec<(String, u16)>) -> Self {
        let (rx_tx, rx_rx) = mpsc::channel(1024);
        Runner {
            router,
            ifnames,
            start: Instant::now(),
            timers: BTreeMap::new(),
            io: BTreeMap::new(),
            links: BTreeMap::new(),
            rx_tx,
            rx_rx,
        }
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

    fn poll_links(&mut self) {
        for (name, mtu) in self.ifnames.clone() {
            let link = probe_link(&name, mtu);
            if link.as_ref() == self.links.get(&name) {
                continue;
            }
            match link {
                Some(l) => {
                    // Close the old socket before the router leaves groups on it.
                    self.io.remove(&name);
                    match open_socket(&name, l.addr) {
                        Ok(fd) => {
                            let socket = Arc::new(fd);
                            let recv = tokio::spawn(recv_loop(
                                name.clone(),
                                socket.clone(),
                                self.rx_tx.clone(),
                            ));
                            self.io.insert(
                                name.clone(),
                                IfIo {
                                    socket,
                                    addr: l.addr,
                                    recv,
                                },
                            );
                        }
                        Err(e) => {
                            tracing::error!(ifname = name, error = %e, "cannot open OSPF raw socket (needs CAP_NET_RAW)");
                            continue;
                        }
                    }
                    self.links.insert(name.clone(), l.clone());
                    self.feed(Input::InterfaceUp {
                        ifname: name.clone(),
                        ifindex: l.ifindex,
                        addr: l.addr,
                        prefix_len: l.prefix_len,
                        mtu: l.mtu,
                    });
                }
                None => {
                    self.links.remove(&name);
                    self.feed(Input::InterfaceDown {
                        ifname: name.clone(),
                    });
                    self.io.remove(&name);
                }
            }
        }
    }

    fn next_timer(&self) -> Option<(Timer, Instant)> {
        self.timers
            .iter()
            .min_by_key(|(_, at)| **at)
            .map(|(t, at)| (t.clone(), *at))
    }

    pub(crate) async fn run(mut self, mut cmds: mpsc::Receiver<Command>) {
        self.poll_links();
        let mut poll = tokio::time::interval(INTERFACE_POLL);
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
                _ = poll.tick() => self.poll_links(),
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
