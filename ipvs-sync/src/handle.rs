//! A cheap clonable handle to one task that owns the IPVS socket.
//!
//! ```text
//!  IpvsHandle (clone) ──Command + oneshot──►  mpsc  ──► task: IpvsClient<T> ──► kernel
//!  IpvsHandle (clone) ──────────────────────►   │        (one request at a time, in order)
//!                          ◄── result via oneshot ┘
//! ```
//!
//! The task ends when the last handle is dropped (the channel closes).

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::IpvsClient;
use crate::error::IpvsError;
use crate::model::{
    DaemonConfig, DaemonState, DestStatus, Info, ServiceKey, ServiceStatus, Timeouts,
};
use crate::netlink::Dialect;
use crate::reconcile::{Op, State};
use crate::transport::Transport;

type Reply<T> = oneshot::Sender<Result<T, IpvsError>>;

/// What a handle asks the task to do.
enum Command {
    ReadState(Reply<State>),
    Apply(Vec<Op>, oneshot::Sender<Vec<Result<(), IpvsError>>>),
    Services(Reply<Vec<ServiceStatus>>),
    Dests(ServiceKey, Reply<Vec<DestStatus>>),
    Daemons(Reply<Vec<DaemonConfig>>),
    StartDaemon(DaemonConfig, Reply<()>),
    StopDaemon(DaemonState, Reply<()>),
    Info(Reply<Info>),
    Timeouts(Reply<Timeouts>),
    SetTimeouts(Timeouts, Reply<()>),
    Zero(Option<ServiceKey>, Reply<()>),
    Flush(Reply<()>),
}

#[derive(Clone)]
pub struct IpvsHandle {
    tx: mpsc::Sender<Command>,
    dialect: Dialect,
}

fn gone() -> IpvsError {
    IpvsError::Protocol {
        op: "IPVS task",
        detail: "the task owning the IPVS socket has stopped".into(),
    }
}

impl IpvsHandle {
    /// Move `client` into a task on the current tokio runtime.
    pub fn spawn<T: Transport>(client: IpvsClient<T>) -> (IpvsHandle, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(64);
        let dialect = client.dialect().clone();
        let task = tokio::spawn(run(client, rx));
        (IpvsHandle { tx, dialect }, task)
    }

    /// The dialect the kernel was found to speak at connect time.
    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    async fn ask<R>(&self, make: impl FnOnce(Reply<R>) -> Command) -> Result<R, IpvsError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    pub async fn read_state(&self) -> Result<State, IpvsError> {
        self.ask(Command::ReadState).await
    }

    /// Apply operations (pipelined by the task); one result per operation, in order.
    pub async fn apply(&self, ops: Vec<Op>) -> Vec<Result<(), IpvsError>> {
        let n = ops.len();
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Apply(ops, tx)).await.is_err() {
            return (0..n).map(|_| Err(gone())).collect();
        }
        rx.await
            .unwrap_or_else(|_| (0..n).map(|_| Err(gone())).collect())
    }

    pub async fn services(&self) -> Result<Vec<ServiceStatus>, IpvsError> {
        self.ask(Command::Services).await
    }

    pub async fn dests(&self, key: ServiceKey) -> Result<Vec<DestStatus>, IpvsError> {
        self.ask(|r| Command::Dests(key, r)).await
    }

    pub async fn daemons(&self) -> Result<Vec<DaemonConfig>, IpvsError> {
        self.ask(Command::Daemons).await
    }

    pub async fn start_daemon(&self, cfg: DaemonConfig) -> Result<(), IpvsError> {
        self.ask(|r| Command::StartDaemon(cfg, r)).await
    }

    pub async fn stop_daemon(&self, state: DaemonState) -> Result<(), IpvsError> {
        self.ask(|r| Command::StopDaemon(state, r)).await
    }

    pub async fn info(&self) -> Result<Info, IpvsError> {
        self.ask(Command::Info).await
    }

    pub async fn timeouts(&self) -> Result<Timeouts, IpvsError> {
        self.ask(Command::Timeouts).await
    }

    pub async fn set_timeouts(&self, t: Timeouts) -> Result<(), IpvsError> {
        self.ask(|r| Command::SetTimeouts(t, r)).await
    }

    pub async fn zero(&self, key: Option<ServiceKey>) -> Result<(), IpvsError> {
        self.ask(|r| Command::Zero(key, r)).await
    }

    pub async fn flush(&self) -> Result<(), IpvsError> {
        self.ask(Command::Flush).await
    }
}

/// The task: one command at a time, so the socket's request/reply order stays simple.
async fn run<T: Transport>(mut client: IpvsClient<T>, mut rx: mpsc::Receiver<Command>) {
    while let Some(cmd) = rx.recv().await {
        // A caller that went away (dropped its receiver) is not an error for the task.
        match cmd {
            Command::ReadState(r) => {
                let _ = r.send(client.read_state().await);
            }
            Command::Apply(ops, r) => {
                let _ = r.send(client.apply(&ops).await);
            }
            Command::Services(r) => {
                let _ = r.send(client.services().await);
            }
            Command::Dests(k, r) => {
                let _ = r.send(client.dests(&k).await);
            }
            Command::Daemons(r) => {
                let _ = r.send(client.daemons().await);
            }
            Command::StartDaemon(cfg, r) => {
                let _ = r.send(client.start_daemon(&cfg).await);
            }
            Command::StopDaemon(s, r) => {
                let _ = r.send(client.stop_daemon(s).await);
            }
            Command::Info(r) => {
                let _ = r.send(client.info().await);
            }
            Command::Timeouts(r) => {
                let _ = r.send(client.timeouts().await);
            }
            Command::SetTimeouts(t, r) => {
                let _ = r.send(client.set_timeouts(&t).await);
            }
            Command::Zero(k, r) => {
                let _ = r.send(client.zero(k.as_ref()).await);
            }
            Command::Flush(r) => {
                let _ = r.send(client.flush().await);
            }
        }
    }
    tracing::debug!("all IPVS handles dropped; task ends");
}
