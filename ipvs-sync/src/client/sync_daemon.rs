//! Kernel sync daemon control: start/stop master and backup with every DAEMON attribute.

use super::{IpvsClient, Request};
use crate::error::IpvsError;
use crate::model::{DaemonConfig, DaemonState};
use crate::netlink::{daemon, Dialect, DialectError};
use crate::netlink::{IpvsAttr, IpvsCmd, IpvsMessage, Nested};
use crate::transport::Transport;

impl<T: Transport> IpvsClient<T> {
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
