//! A cheap clonable handle on the running core: what signals, the D-Bus service and tests use.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::config::{self, LoadError};
use crate::controller::{AdminError, Input, Output, Target};

use super::core::{Command, Status};

/// Why a request through the handle failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The controller refused the command.
    #[error("{0}")]
    Admin(#[from] AdminError),
    /// The configuration file is wrong or unreadable; the running configuration stays.
    #[error("configuration rejected, the running one stays:\n{0}")]
    Config(#[from] LoadError),
    /// The core task has stopped.
    #[error("vgwd's controller has stopped")]
    Stopped,
}

/// Handle on the core task.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) tx: mpsc::Sender<Command>,
    pub(crate) status: watch::Receiver<Arc<Status>>,
    pub(crate) events: broadcast::Sender<Output>,
}

impl Handle {
    /// Sends one controller input.
    pub async fn input(&self, input: Input) -> Result<(), HandleError> {
        self.tx
            .send(Command::Input(input))
            .await
            .map_err(|_| HandleError::Stopped)
    }

    /// Sends a raw command (health sources use this).
    pub fn sender(&self) -> mpsc::Sender<Command> {
        self.tx.clone()
    }

    /// Drains a VIP, a real or the node.
    pub async fn drain(&self, target: Target) -> Result<(), HandleError> {
        self.admin(true, target).await
    }

    /// Undrains a VIP, a real or the node.
    pub async fn undrain(&self, target: Target) -> Result<(), HandleError> {
        self.admin(false, target).await
    }

    async fn admin(&self, drain: bool, target: Target) -> Result<(), HandleError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Admin {
                drain,
                target,
                reply,
            })
            .await
            .map_err(|_| HandleError::Stopped)?;
        rx.await
            .map_err(|_| HandleError::Stopped)?
            .map_err(HandleError::from)
    }

    /// Reads and validates `path`, then applies the difference. A broken file is rejected
    /// with its errors and the running configuration stays.
    pub async fn reload_file(&self, path: &Path) -> Result<(), HandleError> {
        let config = config::load(path)?;
        self.reload(config).await
    }

    /// Applies a validated configuration.
    pub async fn reload(&self, config: config::Config) -> Result<(), HandleError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Reload {
                config: Box::new(config),
                reply,
            })
            .await
            .map_err(|_| HandleError::Stopped)?;
        rx.await
            .map_err(|_| HandleError::Stopped)?
            .map_err(HandleError::from)
    }

    /// Starts the ordered shutdown.
    pub async fn shutdown(&self) -> Result<(), HandleError> {
        self.input(Input::Shutdown).await
    }

    /// The state after the last step.
    pub fn status(&self) -> Arc<Status> {
        self.status.borrow().clone()
    }

    /// A watch on the status (changes after every step).
    pub fn watch_status(&self) -> watch::Receiver<Arc<Status>> {
        self.status.clone()
    }

    /// Every output from now on (notifications for D-Bus signals).
    pub fn subscribe(&self) -> broadcast::Receiver<Output> {
        self.events.subscribe()
    }
}
