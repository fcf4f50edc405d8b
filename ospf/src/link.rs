//! The kernel's view of our interfaces, through rtnetlink: an RTM_GETLINK and an RTM_GETADDR
//! dump give a [`Snapshot`], and a second socket subscribed to RTNLGRP_LINK and
//! RTNLGRP_IPV4_IFADDR says when to take a new one.
//!
//! Netlink sockets belong to the network namespace of the thread that creates them, so both are
//! opened by [`Rtnl::open`], called from [`crate::Instance::spawn`] on the caller's thread (a lab
//! test spawns the router from a thread inside a namespace); the tasks that read them may run
//! on any runtime thread.
//!
//! A notification is not parsed: it only means "something changed", and the next dump says
//! what. That keeps one code path for the start, every event, a lost event (ENOBUFS when the
//! socket's buffer overflowed) and the slow periodic re-sync.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket};
use tokio::sync::Notify;

/// One link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelLink {
    pub ifindex: u32,
    pub name: String,
    /// IFF_UP and IFF_RUNNING (administratively up, with carrier).
    pub up: bool,
    pub mtu: u32,
}

/// One IPv4 address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelAddr {
    pub ifindex: u32,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// IFA_F_SECONDARY: another address on the link covers the same subnet.
    pub secondary: bool,
}

/// What a configured interface looks like to OSPF: up with an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub ifindex: u32,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub mtu: u16,
}

/// All links and IPv4 addresses of the namespace at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub links: Vec<KernelLink>,
    pub addrs: Vec<KernelAddr>,
}

impl Snapshot {
    /// The interface `name` if it is up, running and has an IPv4 address. The address is the
    /// first primary one the kernel lists (the one it uses as source), else the first secondary.
    /// `cfg_mtu` 0 means the kernel's MTU (capped at 65535, the DD packet's field width).
    pub fn link(&self, name: &str, cfg_mtu: u16) -> Option<Link> {
        let l = self.links.iter().find(|l| l.name == name && l.up)?;
        let mut addrs = self.addrs.iter().filter(|a| a.ifindex == l.ifindex);
        let a = addrs
            .clone()
            .find(|a| !a.secondary)
            .or_else(|| addrs.next())?;
        let mtu = if cfg_mtu == 0 {
            u16::try_from(l.mtu).unwrap_or(u16::MAX)
        } else {
            cfg_mtu
        };
        Some(Link {
            ifindex: l.ifindex,
            addr: a.addr,
            prefix_len: a.prefix_len,
            mtu,
        })
    }
}

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RtnlError {
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    #[error("kernel refused the {what} dump: {err}")]
    Refused { what: &'static str, err: io::Error },
    #[error("cannot parse a {what} dump reply: {detail}")]
    Parse { what: &'static str, detail: String },
    #[error("the {what} dump changed while it was read (NLM_F_DUMP_INTR)")]
    Interrupted { what: &'static str },
}

/// The request socket (dumps) and the notification socket.
pub(crate) struct Rtnl {
    query: TokioSocket,
    events: Option<TokioSocket>,
    seq: u32,
}

impl Rtnl {
    /// Opens both sockets in the calling thread's network namespace. Needs a tokio runtime.
    pub fn open() -> io::Result<Rtnl> {
        let mut query = TokioSocket::new(NETLINK_ROUTE)?;
        query.socket_mut().bind_auto()?;
        query.socket_mut().connect(&SocketAddr::new(0, 0))?;
        let mut events = TokioSocket::new(NETLINK_ROUTE)?;
        events.socket_mut().bind_auto()?;
        for group in [libc::RTNLGRP_LINK, libc::RTNLGRP_IPV4_IFADDR] {
            events.socket_mut().add_membership(group)?;
        }
        Ok(Rtnl {
            query,
            events: Some(events),
            seq: 0,
        })
    }

    /// Takes the notification socket, for [`watch`].
    pub fn take_events(&mut self) -> Option<TokioSocket> {
        self.events.take()
    }

    /// Dumps every link and every IPv4 address.
    pub async fn snapshot(&mut self) -> Result<Snapshot, RtnlError> {
        let mut snap = Snapshot::default();
        for m in self
            .dump("link", RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .await?
        {
            if let RouteNetlinkMessage::NewLink(l) = m {
                snap.links.extend(kernel_link(&l));
            }
        }
        let mut req = AddressMessage::default();
        req.header.family = AddressFamily::Inet;
        for m in self
            .dump("address", RouteNetlinkMessage::GetAddress(req))
            .await?
        {
            if let RouteNetlinkMessage::NewAddress(a) = m {
                snap.addrs.extend(kernel_addr(&a));
            }
        }
        Ok(snap)
    }

    async fn dump(
        &mut self,
        what: &'static str,
        req: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, RtnlError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(req));
        msg.finalize();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.query.send(&buf).await?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.query.recv_from_full().await?;
            if parse_dump(what, &data, self.seq, &mut out)? {
                return Ok(out);
            }
        }
    }
}

/// Parses one datagram of a dump reply into `out`; true once NLMSG_DONE arrived. Messages with
/// another sequence number (a reply to an earlier, abandoned dump) are skipped.
pub(crate) fn parse_dump(
    what: &'static str,
    mut data: &[u8],
    seq: u32,
    out: &mut Vec<RouteNetlinkMessage>,
) -> Result<bool, RtnlError> {
    const NLM_F_DUMP_INTR: u16 = 0x10;
    while !data.is_empty() {
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(data).map_err(|e| {
            RtnlError::Parse {
                what,
                detail: e.to_string(),
            }
        })?;
        let len = msg.header.length as usize;
        // Messages are padded to 4 bytes (NLMSG_ALIGN).
        let next = len.div_ceil(4) * 4;
        if len < 16 {
            return Err(RtnlError::Parse {
                what,
                detail: format!("message length {len} is shorter than its header"),
            });
        }
        data = data.get(next..).unwrap_or(&[]);
        if msg.header.sequence_number != seq {
            continue;
        }
        if msg.header.flags & NLM_F_DUMP_INTR != 0 {
            return Err(RtnlError::Interrupted { what });
        }
        match msg.payload {
            NetlinkPayload::Done(_) => return Ok(true),
            NetlinkPayload::Error(e) => {
                let err = e.to_io();
                return Err(RtnlError::Refused { what, err });
            }
            NetlinkPayload::InnerMessage(m) => out.push(m),
            _ => {}
        }
    }
    Ok(false)
}

fn kernel_link(l: &LinkMessage) -> Option<KernelLink> {
    let mut name = None;
    let mut mtu = 1500;
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Mtu(m) => mtu = *m,
            _ => {}
        }
    }
    Some(KernelLink {
        ifindex: l.header.index,
        name: name?,
        up: l.header.flags.contains(LinkFlags::Up | LinkFlags::Running),
        mtu,
    })
}

fn kernel_addr(a: &AddressMessage) -> Option<KernelAddr> {
    if a.header.family != AddressFamily::Inet {
        return None;
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on point-to-point
    // links (`ip addr add A peer B`) and equal to IFA_LOCAL otherwise.
    let mut local = None;
    let mut address = None;
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Local(IpAddr::V4(v)) => local = Some(*v),
            AddressAttribute::Address(IpAddr::V4(v)) => address = Some(*v),
            _ => {}
        }
    }
    Some(KernelAddr {
        ifindex: a.header.index,
        addr: local.or(address)?,
        prefix_len: a.header.prefix_len,
        secondary: a.header.flags.contains(AddressHeaderFlags::Secondary),
    })
}

/// Reads notifications and wakes `changed` for each (Notify coalesces a burst into one wake-up).
/// ENOBUFS (notifications were lost) wakes it too: the dump that follows catches up.
pub(crate) async fn watch(events: TokioSocket, changed: Arc<Notify>) {
    loop {
        match events.recv_from_full().await {
            Ok(_) => changed.notify_one(),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                tracing::warn!(
                    "rtnetlink notifications were lost (ENOBUFS); re-reading interfaces"
                );
                changed.notify_one();
            }
            Err(e) => {
                tracing::warn!(error = %e, "rtnetlink notification socket failed; interfaces are re-read every few seconds only");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Snapshot {
        Snapshot {
            links: vec![
                KernelLink {
                    ifindex: 1,
                    name: "lo".into(),
                    up: true,
                    mtu: 65536,
                },
                KernelLink {
                    ifindex: 2,
                    name: "eth1".into(),
                    up: true,
                    mtu: 9000,
                },
                KernelLink {
                    ifindex: 3,
                    name: "eth2".into(),
                    up: false,
                    mtu: 1500,
                },
            ],
            addrs: vec![
                KernelAddr {
                    ifindex: 2,
                    addr: Ipv4Addr::new(10, 0, 0, 9),
                    prefix_len: 24,
                    secondary: true,
                },
                KernelAddr {
                    ifindex: 2,
                    addr: Ipv4Addr::new(10, 0, 0, 2),
                    prefix_len: 24,
                    secondary: false,
                },
                KernelAddr {
                    ifindex: 3,
                    addr: Ipv4Addr::new(10, 0, 1, 2),
                    prefix_len: 24,
                    secondary: false,
                },
                KernelAddr {
                    ifindex: 1,
                    addr: Ipv4Addr::LOCALHOST,
                    prefix_len: 8,
                    secondary: false,
                },
            ],
        }
    }

    #[test]
    fn primary_address_and_kernel_mtu() {
        let l = snap().link("eth1", 0).expect("eth1 is up");
        assert_eq!(
            l,
            Link {
                ifindex: 2,
                addr: Ipv4Addr::new(10, 0, 0, 2),
                prefix_len: 24,
                mtu: 9000
            }
        );
        assert_eq!(snap().link("eth1", 1400).map(|l| l.mtu), Some(1400));
        assert_eq!(snap().link("lo", 0).map(|l| l.mtu), Some(u16::MAX));
    }

    #[test]
    fn down_or_unaddressed_or_absent_is_none() {
        assert_eq!(snap().link("eth2", 0), None, "no carrier");
        assert_eq!(snap().link("eth9", 0), None, "absent");
        let mut s = snap();
        s.addrs.retain(|a| a.ifindex != 2);
        assert_eq!(s.link("eth1", 0), None, "no IPv4 address");
        s.addrs.push(KernelAddr {
            ifindex: 2,
            addr: Ipv4Addr::new(10, 0, 0, 9),
            prefix_len: 24,
            secondary: true,
        });
        assert_eq!(
            s.link("eth1", 0).map(|l| l.addr),
            Some(Ipv4Addr::new(10, 0, 0, 9)),
            "a secondary address when there is no primary"
        );
    }

    /// A dump reply (built with netlink-packet-route's encoder, not captured from a kernel; the
    /// lab tests read real dumps): a stale message, RTM_NEWLINK for `lo`, NLMSG_DONE.
    #[test]
    fn parses_a_dump_and_stops_at_done() {
        let mut link = LinkMessage::default();
        link.header.index = 1;
        link.header.flags = LinkFlags::Up | LinkFlags::Running | LinkFlags::Loopback;
        link.attributes = vec![
            LinkAttribute::IfName("lo".into()),
            LinkAttribute::Mtu(65536),
        ];
        let mut data = Vec::new();
        for (payload, seq) in [
            (
                NetlinkPayload::from(RouteNetlinkMessage::NewLink(link.clone())),
                6,
            ),
            (
                NetlinkPayload::from(RouteNetlinkMessage::NewLink(link.clone())),
                7,
            ),
            (
                NetlinkPayload::Done(netlink_packet_core::DoneMessage::default()),
                7,
            ),
        ] {
            let mut header = NetlinkHeader::default();
            header.sequence_number = seq;
            let mut m = NetlinkMessage::new(header, payload);
            m.finalize();
            let mut b = vec![0u8; m.buffer_len()];
            m.serialize(&mut b);
            data.extend(b);
        }
        let mut out = Vec::new();
        assert!(parse_dump("link", &data, 7, &mut out).expect("parses"));
        assert_eq!(out.len(), 1, "the seq-6 message is skipped");
        let RouteNetlinkMessage::NewLink(l) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(
            kernel_link(l),
            Some(KernelLink {
                ifindex: 1,
                name: "lo".into(),
                up: true,
                mtu: 65536
            })
        );
        let mut out = Vec::new();
        assert!(parse_dump("link", &[0u8; 8], 7, &mut out).is_err(), "short");
    }
}
