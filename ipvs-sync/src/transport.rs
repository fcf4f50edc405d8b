//! The one narrow door to the kernel: send a datagram, receive a datagram.
//!
//! [`NetlinkTransport`] is a NETLINK_GENERIC socket on tokio. Tests put a recording fake behind
//! the same trait and assert the exact ordered requests.

use std::future::Future;
use std::io;

use netlink_sys::{
    protocols::NETLINK_GENERIC, AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket,
};

/// Moves whole netlink datagrams. `send` may carry several messages back to back; `recv`
/// returns one datagram as the kernel queued it (one or more messages).
pub trait Transport: Send + 'static {
    fn send(&mut self, datagram: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    fn recv(&mut self) -> impl Future<Output = io::Result<Vec<u8>>> + Send;
    /// `uname -r` of the kernel behind this transport, for mainline feature probing.
    fn kernel_release(&self) -> Option<String> {
        None
    }
}

/// A generic-netlink socket in the caller's network namespace.
pub struct NetlinkTransport {
    socket: TokioSocket,
}

/// Receive buffer asked for: big enough that a window of pipelined acks never overruns it.
const RCVBUF: usize = 4 << 20;

impl NetlinkTransport {
    /// Open and bind a NETLINK_GENERIC socket. Must be called inside a tokio runtime.
    pub fn open() -> io::Result<NetlinkTransport> {
        let mut socket = TokioSocket::new(NETLINK_GENERIC)?;
        let s = socket.socket_mut();
        s.bind_auto()?;
        s.connect(&SocketAddr::new(0, 0))?;
        // Best effort: a smaller buffer only narrows the pipelining window.
        let _ = s.set_rx_buf_sz(RCVBUF);
        let _ = s.set_ext_ack(true);
        Ok(NetlinkTransport { socket })
    }
}

impl Transport for NetlinkTransport {
    async fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        let n = self.socket.send(datagram).await?;
        if n != datagram.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("netlink send wrote {n} of {} bytes", datagram.len()),
            ));
        }
        Ok(())
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        let (buf, _addr) = self.socket.recv_from_full().await?;
        Ok(buf)
    }

    fn kernel_release(&self) -> Option<String> {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string())
    }
}
