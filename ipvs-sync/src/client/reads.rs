//! Reads: dumps of services, destinations, local addresses, daemons, info and timeouts.

use super::IpvsClient;
use crate::error::IpvsError;
use crate::model::{
    DaemonConfig, DestStatus, Info, LocalAddress, ServiceKey, ServiceStatus, Timeouts,
};
use crate::netlink::info::InfoAttr;
use crate::netlink::{daemon, dest, laddr, service};
use crate::netlink::{IpvsAttr, IpvsCmd, IpvsMessage, Nested};
use crate::reconcile::{ServiceState, State};
use crate::transport::Transport;

impl<T: Transport> IpvsClient<T> {
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
}
