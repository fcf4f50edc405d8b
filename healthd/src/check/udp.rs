//! UDP check: send a datagram on a connected socket.
//!
//! A connected UDP socket receives ICMP port unreachable as `ECONNREFUSED` on the next call, so
//! "nothing listens" is detectable without raw sockets. Without an expected reply, silence until
//! the timeout counts as up (the only evidence of down is the ICMP error, as keepalived's
//! UDP_CHECK does); with one, a reply containing it is required.

use std::io;

use super::{contains, sock, Ctx};
use crate::outcome::{snippet, IoFailure, Reason};
use crate::spec::UdpProbe;

/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_536;

pub async fn check(probe: &UdpProbe, ctx: &Ctx<'_>) -> Result<(), Reason> {
    let peer = ctx.net.peer(ctx.target);
    let socket = sock::udp_connected(ctx, peer)?;
    let refused = |e: io::Error, op: &'static str| {
        if e.kind() == io::ErrorKind::ConnectionRefused {
            Reason::PortUnreachable { addr: peer }
        } else {
            Reason::Io {
                op,
                addr: peer,
                error: IoFailure::from(e),
            }
        }
    };
    ctx.within("sending", socket.send(&probe.payload))
        .await?
        .map_err(|e| refused(e, "send"))?;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let received = match &probe.expect {
        Some(_) => {
            ctx.within("waiting for the reply", socket.recv(&mut buf))
                .await?
        }
        None => match tokio::time::timeout_at(ctx.deadline, socket.recv(&mut buf)).await {
            Ok(r) => r,
            // Silence: no port unreachable came back, the port is taken to be open.
            Err(_) => return Ok(()),
        },
    };
    let n = received.map_err(|e| refused(e, "receive"))?;
    let Some(expect) = &probe.expect else {
        return Ok(());
    };
    // The socket is connected: only datagrams from `peer` arrive. A real server answering
    // something else is down.
    let reply = buf.get(..n).unwrap_or_default();
    if contains(reply, expect) {
        Ok(())
    } else {
        Err(Reason::ReplyMismatch {
            addr: peer,
            expected: String::from_utf8_lossy(expect).into_owned(),
            got: snippet(reply, 64),
        })
    }
}
