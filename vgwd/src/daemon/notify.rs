//! systemd notification (sd_notify protocol): datagrams such as `READY=1`, `STATUS=...` and
//! `WATCHDOG=1` to the socket named by `$NOTIFY_SOCKET`. Plain `std` Unix datagram sockets; an
//! abstract socket (`@name`) is reached through the Linux socket-address extension.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// A connection to systemd's notify socket, if vgwd runs under systemd.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    path: String,
}

impl Notifier {
    /// `None` when `$NOTIFY_SOCKET` is unset (not started by systemd with `Type=notify`).
    pub fn from_env() -> Option<Notifier> {
        let path = std::env::var("NOTIFY_SOCKET").ok()?;
        Notifier::new(&path).ok()
    }

    /// A notifier for a socket path (`/run/...` or `@abstract`).
    pub fn new(path: &str) -> std::io::Result<Notifier> {
        let socket = UnixDatagram::unbound()?;
        Ok(Notifier {
            socket,
            path: path.to_string(),
        })
    }

    /// Sends one notification, e.g. `"READY=1\nSTATUS=running"`.
    pub fn notify(&self, state: &str) -> std::io::Result<()> {
        if let Some(name) = self.path.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            self.socket.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            self.socket.send_to(state.as_bytes(), &self.path)?;
        }
        Ok(())
    }

    /// The watchdog interval systemd asked for (`$WATCHDOG_USEC`), if any.
    pub fn watchdog_interval() -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        (usec > 0).then(|| Duration::from_micros(usec))
    }
}

#[cfg(test)]
mod tests {
    use super::Notifier;

    #[test]
    fn sends_datagrams_to_a_path_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify");
        let server = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        let n = Notifier::new(path.to_str().expect("utf-8")).expect("notifier");
        n.notify("READY=1\nSTATUS=running").expect("send");
        let mut buf = [0u8; 64];
        let len = server.recv(&mut buf).expect("recv");
        assert_eq!(buf.get(..len), Some(&b"READY=1\nSTATUS=running"[..]));
    }
}
