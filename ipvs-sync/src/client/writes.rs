//! Writes: model objects and reconciler operations to requests, checked against the dialect.

use std::net::IpAddr;

use super::{IpvsClient, Request};
use crate::error::IpvsError;
use crate::model::{Af, DestKey, Destination, FwdMethod, Service, ServiceKey, Timeouts};
use crate::netlink::laddr::LaddrAttr;
use crate::netlink::{dest, service, Dialect, DialectError, InetAddr};
use crate::netlink::{IpvsAttr, IpvsCmd, IpvsMessage, Nested};
use crate::reconcile::Op;
use crate::transport::Transport;

impl<T: Transport> IpvsClient<T> {
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
}
