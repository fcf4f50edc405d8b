//! TCP check: connect; optionally send bytes and require a reply containing a substring.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{contains, sock, Ctx};
use crate::outcome::{snippet, IoFailure, Reason};
use crate::spec::TcpProbe;

pub async fn check(probe: &TcpProbe, ctx: &Ctx<'_>) -> Result<(), Reason> {
    let peer = ctx.net.peer(ctx.target);
    let mut stream = sock::tcp_connect(ctx, peer, probe.send.is_some()).await?;
    if let Some(send) = &probe.send {
        ctx.within("sending", stream.write_all(send))
            .await?
            .map_err(|e| Reason::Io {
                op: "send",
                addr: peer,
                error: IoFailure::from(e),
            })?;
    }
    let Some(expect) = &probe.expect else {
        if probe.send.is_some() {
            // Nothing read back: a reset could discard the bytes just sent; close with FIN.
            let _ = socket2::SockRef::from(&stream).set_linger(None);
        }
        return Ok(());
    };
    let mut got = Vec::with_capacity(256);
    let mut buf = [0u8; 4096];
    loop {
        let n = ctx
            .within("waiting for the reply", stream.read(&mut buf))
            .await?
            .map_err(|e| Reason::Io {
                op: "read",
                addr: peer,
                error: IoFailure::from(e),
            })?;
        let chunk = buf.get(..n).unwrap_or_default();
        got.extend_from_slice(chunk);
        if contains(&got, expect) {
            return Ok(());
        }
        if n == 0 {
            return Err(Reason::ClosedEarly {
                addr: peer,
                expected: String::from_utf8_lossy(expect).into_owned(),
                got: snippet(&got, 64),
            });
        }
        if got.len() >= probe.max_reply {
            return Err(Reason::ReplyMismatch {
                addr: peer,
                expected: String::from_utf8_lossy(expect).into_owned(),
                got: snippet(&got, 64),
            });
        }
    }
}
