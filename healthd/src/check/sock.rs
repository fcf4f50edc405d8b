//! Probe sockets with the common options applied: source address and SO_MARK.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use super::Ctx;
use crate::outcome::{IoFailure, Reason};

fn socket_err(what: &'static str) -> impl FnOnce(io::Error) -> Reason {
    move |e| Reason::Socket {
        what,
        error: IoFailure::from(e),
    }
}

fn source_for(ctx: &Ctx<'_>, peer: &SocketAddr) -> Result<Option<SocketAddr>, Reason> {
    match ctx.net.source {
        Some(ip) if ip.is_ipv4() != peer.is_ipv4() => Err(Reason::Socket {
            what: "binding the source address",
            error: IoFailure {
                kind: io::ErrorKind::InvalidInput,
                message: format!("source {ip} and target {peer} are of different address families"),
            },
        }),
        Some(ip) => Ok(Some(SocketAddr::new(ip, 0))),
        None => Ok(None),
    }
}

/// Connect a TCP probe to `peer` with source address and mark applied. `will_send`: the
/// check writes a request (Nagle is then turned off so it is not delayed); a bare connect
/// check saves the system call.
pub(crate) async fn tcp_connect(
    ctx: &Ctx<'_>,
    peer: SocketAddr,
    will_send: bool,
) -> Result<TcpStream, Reason> {
    let socket = match peer {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(socket_err("creating a TCP socket"))?;
    if let Some(mark) = ctx.net.mark {
        SockRef::from(&socket)
            .set_mark(mark)
            .map_err(socket_err("setting SO_MARK (needs CAP_NET_ADMIN)"))?;
    }
    if let Some(src) = source_for(ctx, &peer)? {
        socket
            .bind(src)
            .map_err(socket_err("binding the source address"))?;
    }
    match ctx.within("connecting", socket.connect(peer)).await? {
        Ok(stream) => {
            if will_send {
                // Health checks are tiny exchanges; do not let Nagle delay the request.
                let _ = stream.set_nodelay(true);
            }
            if !ctx.net.graceful_close {
                // Reset on close: every checker reads the reply it needs before dropping the
                // stream, so nothing unsent is lost, and no TIME_WAIT is left behind.
                let _ = SockRef::from(&stream).set_linger(Some(std::time::Duration::ZERO));
            }
            Ok(stream)
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            Err(Reason::Refused { addr: peer })
        }
        Err(e) => Err(Reason::Connect {
            addr: peer,
            error: IoFailure::from(e),
        }),
    }
}

/// A UDP socket connected to `peer` (so ICMP errors come back as socket errors).
pub(crate) fn udp_connected(ctx: &Ctx<'_>, peer: SocketAddr) -> Result<UdpSocket, Reason> {
    let socket = Socket::new(Domain::for_address(peer), Type::DGRAM, Some(Protocol::UDP))
        .map_err(socket_err("creating a UDP socket"))?;
    socket
        .set_nonblocking(true)
        .map_err(socket_err("making the socket non-blocking"))?;
    if let Some(mark) = ctx.net.mark {
        socket
            .set_mark(mark)
            .map_err(socket_err("setting SO_MARK (needs CAP_NET_ADMIN)"))?;
    }
    if let Some(src) = source_for(ctx, &peer)? {
        socket
            .bind(&src.into())
            .map_err(socket_err("binding the source address"))?;
    }
    socket.connect(&peer.into()).map_err(|e| Reason::Connect {
        addr: peer,
        error: IoFailure::from(e),
    })?;
    UdpSocket::from_std(socket.into()).map_err(socket_err("registering the socket"))
}

/// A datagram socket of another protocol (ICMP) as a tokio `UdpSocket`, which only wraps
/// send/recv system calls and works for any datagram-shaped socket.
pub(crate) fn raw_like(
    ctx: &Ctx<'_>,
    peer: IpAddr,
    ty: Type,
    protocol: Protocol,
) -> Result<UdpSocket, io::Error> {
    let domain = match peer {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    };
    let socket = Socket::new(domain, ty, Some(protocol))?;
    socket.set_nonblocking(true)?;
    if let Some(mark) = ctx.net.mark {
        socket.set_mark(mark)?;
    }
    if let Some(ip) = ctx.net.source {
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    socket.connect(&SocketAddr::new(peer, 0).into())?;
    UdpSocket::from_std(socket.into())
}
