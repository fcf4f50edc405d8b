//! The handle the daemon holds: announce and withdraw VIPs, drain, read state, shut down.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::router::{Input, Prefix, Router};
use crate::state::State;
use crate::tasks::{Command, Runner};

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("the OSPF instance has stopped")]
    Stopped,
}

/// A running OSPF router. Cheap to clone; the router task ends when [`Instance::shutdown`] is
/// called or every handle is dropped (then without flushing).
#[derive(Clone)]
pub struct Instance {
    tx: mpsc::Sender<Command>,
}

/// Owns the router task; aborts it on drop.
pub struct InstanceTask(JoinHandle<()>);

impl Drop for InstanceTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Instance {
    /// Starts the router on the current tokio runtime, in the calling thread's network
    /// namespace: the rtnetlink sockets that report interfaces are opened here, on this thread.
    pub fn spawn(cfg: Config) -> (Instance, InstanceTask) {
        let (tx, rx) = mpsc::channel(256);
        let names = cfg
            .interfaces
            .iter()
            .map(|i| (i.name.clone(), i.mtu))
            .collect();
        let runner = Runner::new(Router::new(cfg), names, crate::link::Rtnl::open());
        let task = tokio::spawn(runner.run(rx));
        (Instance { tx }, InstanceTask(task))
    }

    async fn input(&self, i: Input) -> Result<(), InstanceError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Input(i, Some(done)))
            .await
            .map_err(|_| InstanceError::Stopped)?;
        wait.await.map_err(|_| InstanceError::Stopped)
    }

    /// Announces `prefix` as an AS-external (type 2) route with `metric`. Returns once the
    /// update has been handed to the sockets.
    pub async fn announce(&self, prefix: Prefix, metric: u32) -> Result<(), InstanceError> {
        self.input(Input::Announce { prefix, metric }).await
    }

    /// Withdraws `prefix`: its LSA is flushed (MaxAge) at once.
    pub async fn withdraw(&self, prefix: Prefix) -> Result<(), InstanceError> {
        self.input(Input::Withdraw { prefix }).await
    }

    /// RFC 6987 stub-router drain on or off.
    pub async fn set_stub_router(&self, on: bool) -> Result<(), InstanceError> {
        self.input(Input::StubRouter(on)).await
    }

    pub async fn state(&self) -> Result<State, InstanceError> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Command::State(reply))
            .await
            .map_err(|_| InstanceError::Stopped)?;
        wait.await.map_err(|_| InstanceError::Stopped)
    }

    /// Flushes our LSAs, waits up to `grace` for neighbors to acknowledge, and stops.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), InstanceError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Shutdown(grace, done))
            .await
            .map_err(|_| InstanceError::Stopped)?;
        wait.await.map_err(|_| InstanceError::Stopped)
    }
}
