//! TCP for BGP sessions: connecting and listening sockets with local address binding, TCP-MD5
//! (RFC 2385), GTSM (RFC 5082) and DSCP CS6; message framing; local next-hop discovery.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use socket2::SockRef;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::packet::{DecodeContext, DecodeError, Header, Message};
use crate::sys;

/// DSCP CS6 (network control, RFC 4594) in the TOS / traffic class octet.
pub const TOS_CS6: u32 = 0xc0;
/// RFC 5082: send with TTL 255, accept 254 and up (one hop).
pub const GTSM_TTL: u32 = 255;
pub const GTSM_MIN_TTL: u8 = 254;

/// How one peer's TCP connections are set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOptions {
    pub peer: SocketAddr,
    pub local: Option<IpAddr>,
    pub md5_key: Option<String>,
    pub ttl_security: bool,
}

/// Options every session socket gets: DSCP CS6, and the GTSM TTLs when asked for.
pub fn apply_common(stream: &impl AsFd, ipv6: bool, ttl_security: bool) -> io::Result<()> {
    let sock = SockRef::from(stream);
    if ipv6 {
        sock.set_tclass_v6(TOS_CS6)?;
    } else {
        sock.set_tos_v4(TOS_CS6)?;
    }
    if ttl_security {
        if ipv6 {
            sock.set_unicast_hops_v6(GTSM_TTL)?;
        } else {
            sock.set_ttl_v4(GTSM_TTL)?;
        }
        sys::set_min_ttl(stream.as_fd(), ipv6, GTSM_MIN_TTL)?;
    }
    Ok(())
}

/// Opens a connection to the peer with all its options set before the SYN.
pub async fn connect(opts: &SocketOptions, timeout: Duration) -> io::Result<TcpStream> {
    let ipv6 = opts.peer.is_ipv6();
    let socket = if ipv6 {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    if let Some(local) = opts.local {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    if let Some(key) = &opts.md5_key {
        sys::set_tcp_md5(socket.as_fd(), opts.peer.ip(), key.as_bytes())?;
    }
    apply_common(&socket, ipv6, opts.ttl_security)?;
    let stream = tokio::time::timeout(timeout, socket.connect(opts.peer))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A listening socket for BGP; IPv6 sockets are v6-only so IPv4 peers get their own socket (and
/// their TCP-MD5 keys match the plain IPv4 address).
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        SockRef::from(&socket).set_only_v6(true)?;
    }
    apply_common(&socket, addr.is_ipv6(), false)?;
    socket.bind(addr)?;
    socket.listen(128)
}

/// Splits a byte stream into messages.
#[derive(Debug, Default)]
pub struct Framer {
    buf: BytesMut,
}

impl Framer {
    pub fn new() -> Self {
        Framer {
            buf: BytesMut::with_capacity(65536),
        }
    }

    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The next complete message, `Ok(None)` when more bytes are needed. After an error the
    /// connection is to be closed; the framer is not usable any more.
    pub fn next(&mut self, ctx: &DecodeContext) -> Result<Option<Message>, DecodeError> {
        let Some(h) = Header::check(&self.buf, ctx)? else {
            return Ok(None);
        };
        let len = usize::from(h.length);
        if self.buf.len() < len {
            return Ok(None);
        }
        let frame = self.buf.split_to(len);
        Message::decode(&frame, ctx).map(Some)
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    pub fn discard(&mut self, n: usize) {
        self.buf.advance(n.min(self.buf.len()));
    }
}

/// Next hops for "next hop self" on a session from `local` to `peer`: IPv4 from the session
/// address, IPv6 global from the session address (or a global address on the same interface
/// when the session runs over IPv4), and the interface's link-local address when the peer is
/// on-link (RFC 2545 3).
pub fn local_next_hops(
    local: IpAddr,
    peer: IpAddr,
) -> (Option<Ipv4Addr>, Option<(Ipv6Addr, Option<Ipv6Addr>)>) {
    let ifaces = interface_addrs();
    let iface = ifaces
        .iter()
        .find(|(_, a, _)| *a == local)
        .map(|(n, _, _)| n.clone());
    let on_iface = |pred: &dyn Fn(&Ipv6Addr) -> bool| -> Option<Ipv6Addr> {
        let name = iface.as_ref()?;
        ifaces.iter().find_map(|(n, a, _)| match a {
            IpAddr::V6(v6) if n == name && pred(v6) => Some(*v6),
            _ => None,
        })
    };
    let v4 = match local {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => iface.as_ref().and_then(|name| {
            ifaces.iter().find_map(|(n, a, _)| match a {
                IpAddr::V4(v4) if n == name => Some(*v4),
                _ => None,
            })
        }),
    };
    let global = match local {
        IpAddr::V6(a) if !is_link_local(&a) => Some(a),
        _ => on_iface(&|a| !is_link_local(a) && !a.is_loopback()),
    };
    let peer_on_link = match peer {
        IpAddr::V6(p) if is_link_local(&p) => true,
        _ => ifaces
            .iter()
            .any(|(n, a, plen)| Some(n) == iface.as_ref() && same_subnet(*a, peer, *plen)),
    };
    let link_local = if peer_on_link {
        on_iface(&is_link_local)
    } else {
        None
    };
    (v4, global.map(|g| (g, link_local)))
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

fn same_subnet(a: IpAddr, b: IpAddr, plen: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(plen.min(32)))
                .unwrap_or(0);
            u32::from(a) & m == u32::from(b) & m
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(plen.min(128)))
                .unwrap_or(0);
            u128::from(a) & m == u128::from(b) & m
        }
        _ => false,
    }
}

/// (interface, address, prefix length) of every address on this host's namespace.
fn interface_addrs() -> Vec<(String, IpAddr, u8)> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ifa in addrs {
        let (Some(addr), Some(mask)) = (ifa.address, ifa.netmask) else {
            continue;
        };
        if let (Some(a), Some(m)) = (addr.as_sockaddr_in(), mask.as_sockaddr_in()) {
            out.push((
                ifa.interface_name.clone(),
                IpAddr::V4(a.ip()),
                u32::from(m.ip()).count_ones() as u8,
            ));
        } else if let (Some(a), Some(m)) = (addr.as_sockaddr_in6(), mask.as_sockaddr_in6()) {
            out.push((
                ifa.interface_name.clone(),
                IpAddr::V6(a.ip()),
                u128::from(m.ip()).count_ones() as u8,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn session_sockets_carry_cs6_and_gtsm_ttl() {
        // Without GTSM on the listener its SYN-ACK leaves with TTL 64, below our minimum 254:
        // the handshake never completes.
        let plain = listen("127.0.0.1:0".parse().expect("addr")).expect("listen");
        let opts = SocketOptions {
            peer: plain.local_addr().expect("addr"),
            local: None,
            md5_key: None,
            ttl_security: true,
        };
        let r = connect(&opts, Duration::from_millis(500)).await;
        assert_eq!(
            r.map(drop).map_err(|e| e.kind()),
            Err(io::ErrorKind::TimedOut)
        );

        let l = listen("127.0.0.1:0".parse().expect("addr")).expect("listen");
        apply_common(&l, false, true).expect("GTSM on the listener");
        let addr = l.local_addr().expect("addr");
        let opts = SocketOptions {
            peer: addr,
            local: Some("127.0.0.1".parse().expect("local")),
            md5_key: None,
            ttl_security: true,
        };
        let s = connect(&opts, Duration::from_secs(5))
            .await
            .expect("connect");
        let sock = SockRef::from(&s);
        assert_eq!(sock.tos_v4().expect("tos"), TOS_CS6);
        assert_eq!(sock.ttl_v4().expect("ttl"), GTSM_TTL);
        let (accepted, _) = l.accept().await.expect("accept");
        apply_common(&accepted, false, false).expect("options");
        assert_eq!(SockRef::from(&accepted).tos_v4().expect("tos"), TOS_CS6);
    }

    #[test]
    fn on_link_detection() {
        assert!(same_subnet(
            "10.0.0.1".parse().expect("a"),
            "10.0.0.200".parse().expect("b"),
            24
        ));
        assert!(!same_subnet(
            "10.0.0.1".parse().expect("a"),
            "10.0.1.1".parse().expect("b"),
            24
        ));
        assert!(same_subnet(
            "2001:db8::1".parse().expect("a"),
            "2001:db8::2".parse().expect("b"),
            64
        ));
        assert!(is_link_local(&"fe80::1".parse().expect("ll")));
    }
}
