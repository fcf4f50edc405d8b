//! The [`Speaker`] handle and the speaker task.
//!
//! ```text
//!  Speaker (clonable) ──Command──► speaker task ──NeighborCmd──► neighbor task (one per peer)
//!                                   │  owns the announced table      owns Fsm, socket, timers
//!  listener task(s) ──Incoming──────┘  and the neighbor handles      │
//!                                                                     └─► Arc<Mutex<Shared>>
//!  neighbors(), adj_rib_in(), adj_rib_out() read the neighbors' shared state under its lock.
//! ```
//!
//! Every task is owned by an [`AbortOnDrop`]: dropping the last `Speaker` ends the speaker task,
//! which drops the neighbors, which aborts their tasks and closes their sockets.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::neighbor::{self, NeighborCmd, NeighborConfig, NeighborState, Shared};
use crate::packet::Prefix;
use crate::rib::{ReceivedRoute, RouteAttrs};
use crate::session::GracefulRestart;
use crate::sys;
use crate::transport;

/// Aborts a task when dropped.
#[derive(Debug)]
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerConfig {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// Addresses to accept BGP connections on (e.g. `0.0.0.0:179`, `[::]:179`); empty for none.
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    #[serde(default)]
    pub graceful_restart: Option<GracefulRestart>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeakerError {
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: SocketAddr, error: String },
    #[error("a neighbor named \"{0}\" already exists")]
    DuplicateName(String),
    #[error("a neighbor with address {0} already exists")]
    DuplicateAddress(IpAddr),
    #[error("no neighbor named \"{0}\"")]
    NoSuchNeighbor(String),
    #[error("cannot set the TCP-MD5 key for {peer} on the listening socket: {error}")]
    Md5 { peer: IpAddr, error: String },
    #[error("the BGP speaker task has stopped")]
    Stopped,
}

enum Command {
    AddNeighbor(
        Box<NeighborConfig>,
        oneshot::Sender<Result<(), SpeakerError>>,
    ),
    RemoveNeighbor(String, oneshot::Sender<Result<(), SpeakerError>>),
    Announce(Vec<(Prefix, Arc<RouteAttrs>)>, oneshot::Sender<()>),
    Withdraw(Vec<Prefix>, oneshot::Sender<()>),
    Neighbors(oneshot::Sender<Vec<NeighborState>>),
    Shared(
        String,
        oneshot::Sender<Result<Arc<Mutex<Shared>>, SpeakerError>>,
    ),
    Routes(oneshot::Sender<Vec<(Prefix, RouteAttrs)>>),
    Shutdown(String, oneshot::Sender<()>),
    Incoming(tokio::net::TcpStream, SocketAddr),
}

/// A cheap, clonable handle to the BGP speaker.
#[derive(Clone)]
pub struct Speaker {
    tx: mpsc::UnboundedSender<Command>,
    listening: Arc<Vec<SocketAddr>>,
    _task: Arc<AbortOnDrop>,
}

impl Speaker {
    /// Binds the listeners and starts the speaker task (on the current tokio runtime).
    pub async fn start(cfg: SpeakerConfig) -> Result<Speaker, SpeakerError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut listeners = Vec::new();
        let mut accept_tasks = Vec::new();
        let mut listening = Vec::new();
        for &addr in &cfg.listen {
            let l = transport::listen(addr).map_err(|e| SpeakerError::Listen {
                addr,
                error: e.to_string(),
            })?;
            listening.push(l.local_addr().unwrap_or(addr));
            let l = Arc::new(l);
            accept_tasks.push(AbortOnDrop(tokio::spawn(accept_loop(
                l.clone(),
                tx.clone(),
            ))));
            listeners.push(l);
        }
        let state = SpeakerTask {
            cfg,
            neighbors: BTreeMap::new(),
            table: BTreeMap::new(),
            listeners,
            _accept_tasks: accept_tasks,
        };
        let task = tokio::spawn(state.run(rx));
        Ok(Speaker {
            tx,
            listening: Arc::new(listening),
            _task: Arc::new(AbortOnDrop(task)),
        })
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SpeakerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| SpeakerError::Stopped)?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }

    /// The addresses the listeners are bound to (with the port the kernel chose for port 0).
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.listening
    }

    pub async fn add_neighbor(&self, cfg: NeighborConfig) -> Result<(), SpeakerError> {
        self.ask(|r| Command::AddNeighbor(Box::new(cfg), r)).await?
    }

    /// Stops the session with Cease / Peer De-configured and forgets the neighbor.
    pub async fn remove_neighbor(&self, name: &str) -> Result<(), SpeakerError> {
        self.ask(|r| Command::RemoveNeighbor(name.to_string(), r))
            .await?
    }

    /// Announces `prefix` (a VIP: /32 or /128) to every neighbor, replacing earlier attributes.
    pub async fn announce(&self, prefix: Prefix, attrs: RouteAttrs) -> Result<(), SpeakerError> {
        self.ask(|r| Command::Announce(vec![(prefix, Arc::new(attrs))], r))
            .await
    }

    /// Announces many prefixes at once (they are packed into as few UPDATEs as possible).
    pub async fn announce_many(
        &self,
        routes: impl IntoIterator<Item = (Prefix, RouteAttrs)>,
    ) -> Result<(), SpeakerError> {
        // One shared copy per attribute set: the Adj-RIB-Outs then compare and count
        // references on one allocation instead of one per route.
        let mut seen: HashMap<RouteAttrs, Arc<RouteAttrs>> = HashMap::new();
        let mut last: Option<Arc<RouteAttrs>> = None;
        let v = routes
            .into_iter()
            .map(|(p, a)| {
                let shared = match &last {
                    Some(l) if **l == a => l.clone(),
                    _ => seen
                        .entry(a)
                        .or_insert_with_key(|a| Arc::new(a.clone()))
                        .clone(),
                };
                last = Some(shared.clone());
                (p, shared)
            })
            .collect();
        self.ask(|r| Command::Announce(v, r)).await
    }

    pub async fn withdraw(&self, prefix: Prefix) -> Result<(), SpeakerError> {
        self.ask(|r| Command::Withdraw(vec![prefix], r)).await
    }

    pub async fn withdraw_many(
        &self,
        prefixes: impl IntoIterator<Item = Prefix>,
    ) -> Result<(), SpeakerError> {
        let v = prefixes.into_iter().collect();
        self.ask(|r| Command::Withdraw(v, r)).await
    }

    /// What the speaker currently announces.
    pub async fn routes(&self) -> Result<Vec<(Prefix, RouteAttrs)>, SpeakerError> {
        self.ask(Command::Routes).await
    }

    pub async fn neighbors(&self) -> Result<Vec<NeighborState>, SpeakerError> {
        self.ask(Command::Neighbors).await
    }

    pub async fn neighbor(&self, name: &str) -> Result<NeighborState, SpeakerError> {
        let shared = self.ask(|r| Command::Shared(name.to_string(), r)).await??;
        let s = neighbor::lock(&shared);
        Ok(s.state())
    }

    /// Routes received from the neighbor (validated, never installed).
    pub async fn adj_rib_in(&self, name: &str) -> Result<Vec<ReceivedRoute>, SpeakerError> {
        let shared = self.ask(|r| Command::Shared(name.to_string(), r)).await??;
        let s = neighbor::lock(&shared);
        Ok(s.rib_in.routes())
    }

    /// Routes sent to the neighbor, with the attributes they were sent with.
    pub async fn adj_rib_out(&self, name: &str) -> Result<Vec<(Prefix, RouteAttrs)>, SpeakerError> {
        let shared = self.ask(|r| Command::Shared(name.to_string(), r)).await??;
        let s = neighbor::lock(&shared);
        Ok(s.rib_out.sent_routes())
    }

    /// Ends every session with Cease / Administrative Shutdown and `message` (RFC 9003), and
    /// waits until the NOTIFICATIONs are written.
    pub async fn shutdown(&self, message: &str) -> Result<(), SpeakerError> {
        self.ask(|r| Command::Shutdown(message.to_string(), r))
            .await
    }
}

async fn accept_loop(listener: Arc<TcpListener>, tx: mpsc::UnboundedSender<Command>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if tx.send(Command::Incoming(stream, peer)).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a BGP connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

struct NeighborHandle {
    cfg: NeighborConfig,
    tx: mpsc::UnboundedSender<NeighborCmd>,
    shared: Arc<Mutex<Shared>>,
    task: AbortOnDrop,
}

struct SpeakerTask {
    cfg: SpeakerConfig,
    neighbors: BTreeMap<String, NeighborHandle>,
    table: BTreeMap<Prefix, Arc<RouteAttrs>>,
    listeners: Vec<Arc<TcpListener>>,
    _accept_tasks: Vec<AbortOnDrop>,
}

impl SpeakerTask {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Command::AddNeighbor(cfg, reply) => {
                    let _ = reply.send(self.add_neighbor(*cfg));
                }
                Command::RemoveNeighbor(name, reply) => {
                    let _ = reply.send(self.remove_neighbor(&name).await);
                }
                Command::Announce(routes, reply) => {
                    for (p, a) in &routes {
                        self.table.insert(*p, a.clone());
                    }
                    self.broadcast(|| NeighborCmd::Announce(routes.clone()));
                    let _ = reply.send(());
                }
                Command::Withdraw(prefixes, reply) => {
                    for p in &prefixes {
                        self.table.remove(p);
                    }
                    self.broadcast(|| NeighborCmd::Withdraw(prefixes.clone()));
                    let _ = reply.send(());
                }
                Command::Neighbors(reply) => {
                    let v = self
                        .neighbors
                        .values()
                        .map(|n| neighbor::lock(&n.shared).state())
                        .collect();
                    let _ = reply.send(v);
                }
                Command::Shared(name, reply) => {
                    let r = self
                        .neighbors
                        .get(&name)
                        .map(|n| n.shared.clone())
                        .ok_or(SpeakerError::NoSuchNeighbor(name));
                    let _ = reply.send(r);
                }
                Command::Routes(reply) => {
                    let v = self
                        .table
                        .iter()
                        .map(|(p, a)| (*p, (**a).clone()))
                        .collect();
                    let _ = reply.send(v);
                }
                Command::Shutdown(msg, reply) => {
                    let mut waits = Vec::new();
                    for n in self.neighbors.values() {
                        let (done, wait) = oneshot::channel();
                        if n.tx
                            .send(NeighborCmd::Stop(msg.clone(), Some(done)))
                            .is_ok()
                        {
                            waits.push(wait);
                        }
                    }
                    for w in waits {
                        let _ = w.await;
                    }
                    let _ = reply.send(());
                }
                Command::Incoming(stream, peer) => self.incoming(stream, peer),
            }
        }
    }

    fn broadcast(&self, make: impl Fn() -> NeighborCmd) {
        for n in self.neighbors.values() {
            let _ = n.tx.send(make());
        }
    }

    fn add_neighbor(&mut self, cfg: NeighborConfig) -> Result<(), SpeakerError> {
        if self.neighbors.contains_key(&cfg.name) {
            return Err(SpeakerError::DuplicateName(cfg.name));
        }
        if self
            .neighbors
            .values()
            .any(|n| n.cfg.address == cfg.address)
        {
            return Err(SpeakerError::DuplicateAddress(cfg.address));
        }
        if let Some(key) = &cfg.password {
            // RFC 2385: the listening socket must know the key, or the peer's signed SYN is
            // dropped by the kernel before it reaches us.
            for l in &self.listeners {
                let family_matches = l.local_addr().map(|a| a.is_ipv6() == cfg.address.is_ipv6());
                if family_matches.unwrap_or(false) {
                    sys::set_tcp_md5(l.as_fd(), cfg.address, key.as_bytes()).map_err(|e| {
                        SpeakerError::Md5 {
                            peer: cfg.address,
                            error: e.to_string(),
                        }
                    })?;
                }
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared::new(&cfg)));
        let initial: Vec<_> = self.table.iter().map(|(p, a)| (*p, a.clone())).collect();
        let task = neighbor::spawn(
            cfg.clone(),
            self.cfg.asn,
            self.cfg.router_id,
            self.cfg.graceful_restart,
            shared.clone(),
            rx,
        );
        let _ = tx.send(NeighborCmd::Announce(initial));
        let _ = tx.send(NeighborCmd::Start);
        self.neighbors.insert(
            cfg.name.clone(),
            NeighborHandle {
                cfg,
                tx,
                shared,
                task: AbortOnDrop(task),
            },
        );
        Ok(())
    }

    async fn remove_neighbor(&mut self, name: &str) -> Result<(), SpeakerError> {
        let n = self
            .neighbors
            .remove(name)
            .ok_or_else(|| SpeakerError::NoSuchNeighbor(name.into()))?;
        let (done, wait) = oneshot::channel();
        if n.tx.send(NeighborCmd::Deconfigure(done)).is_ok() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), wait).await;
        }
        if n.cfg.password.is_some() {
            for l in &self.listeners {
                if l.local_addr()
                    .map(|a| a.is_ipv6() == n.cfg.address.is_ipv6())
                    .unwrap_or(false)
                {
                    let _ = sys::set_tcp_md5(l.as_fd(), n.cfg.address, &[]);
                }
            }
        }
        drop(n.task);
        Ok(())
    }

    fn incoming(&mut self, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let found = self.neighbors.values().find(|n| n.cfg.address == peer.ip());
        match found {
            Some(n) => {
                let _ = n.tx.send(NeighborCmd::Incoming(stream));
            }
            None => {
                // RFC 4271 8: connections from unconfigured peers are not accepted.
                tracing::info!(%peer, "refusing a BGP connection from an unconfigured address");
                drop(stream);
            }
        }
    }
}
