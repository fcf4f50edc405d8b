//! A raw BGP peer over real TCP for tests: sends exactly the bytes a test gives it and reads
//! whole messages back, so tests can assert the speaker's exact answers.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use vgw_bgp::packet::{hex, DecodeContext, Message};

pub const TIMEOUT: Duration = Duration::from_secs(10);

pub fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    v.push(msg_type);
    v.extend_from_slice(body);
    v
}

pub fn keepalive() -> Vec<u8> {
    frame(4, &[])
}

pub fn notification(code: u8, sub: u8, data: &[u8]) -> Vec<u8> {
    let mut b = vec![code, sub];
    b.extend_from_slice(data);
    frame(3, &b)
}

/// An OPEN body with MP IPv4+IPv6, route refresh and 4-octet AS capabilities.
pub fn open_body(version: u8, asn: u32, hold: u16, id: [u8; 4]) -> Vec<u8> {
    let caps: Vec<u8> = [
        &[1u8, 4, 0, 1, 0, 1][..],
        &[1, 4, 0, 2, 0, 1],
        &[2, 0],
        &[65, 4],
        &asn.to_be_bytes(),
    ]
    .concat();
    let my_as = u16::try_from(asn).unwrap_or(23456);
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(caps.len() as u8 + 2);
    b.push(2);
    b.push(caps.len() as u8);
    b.extend_from_slice(&caps);
    b
}

pub fn open(asn: u32, id: [u8; 4]) -> Vec<u8> {
    frame(1, &open_body(4, asn, 90, id))
}

pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = (withdrawn.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    frame(2, &b)
}

pub struct RawPeer {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawPeer {
    /// Connects from `from` (a loopback address like 127.0.0.2) to the speaker.
    pub async fn connect(from: IpAddr, to: SocketAddr) -> RawPeer {
        let sock = TcpSocket::new_v4().expect("socket");
        sock.bind(SocketAddr::new(from, 0)).expect("bind");
        let stream = tokio::time::timeout(TIMEOUT, sock.connect(to))
            .await
            .expect("connect timeout")
            .expect("connect");
        RawPeer {
            stream,
            buf: Vec::new(),
        }
    }

    /// Accepts the speaker's connection on `listener`.
    pub async fn accept(listener: &TcpListener) -> RawPeer {
        let (stream, _) = tokio::time::timeout(TIMEOUT, listener.accept())
            .await
            .expect("accept timeout")
            .expect("accept");
        RawPeer {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next whole message, or `None` at end of stream.
    pub async fn read(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.buf.len() >= 19 {
                let len = usize::from(u16::from_be_bytes([self.buf[16], self.buf[17]]));
                if len >= 19 && self.buf.len() >= len {
                    return Some(self.buf.drain(..len).collect());
                }
            }
            let mut chunk = [0u8; 65536];
            let n = tokio::time::timeout(TIMEOUT, self.stream.read(&mut chunk))
                .await
                .expect("read timeout")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn read_decoded(&mut self) -> Option<Message> {
        let ctx = DecodeContext {
            four_octet_as: true,
            extended_message: false,
            ibgp: false,
        };
        let m = self.read().await?;
        Some(Message::decode(&m, &ctx).unwrap_or_else(|e| panic!("speaker sent garbage: {e}")))
    }

    /// Reads until the speaker's OPEN.
    pub async fn expect_open(&mut self) -> Vec<u8> {
        let m = self.read().await.expect("OPEN");
        assert_eq!(m[18], 1, "expected OPEN, got {}", hex::encode(&m));
        m
    }

    /// Full handshake as AS `asn`; returns once both KEEPALIVEs are exchanged.
    pub async fn establish(&mut self, asn: u32, id: [u8; 4]) {
        self.expect_open().await;
        self.send(&open(asn, id)).await;
        self.send(&keepalive()).await;
        let m = self.read().await.expect("KEEPALIVE");
        assert_eq!(m, keepalive());
    }

    /// Reads messages until a NOTIFICATION, returning it; panics on end of stream first.
    pub async fn expect_notification(&mut self) -> Vec<u8> {
        loop {
            let m = self
                .read()
                .await
                .expect("NOTIFICATION before end of stream");
            if m[18] == 3 {
                return m;
            }
        }
    }

    /// After a NOTIFICATION the speaker must close the connection.
    pub async fn expect_eof(&mut self) {
        if let Some(m) = self.read().await {
            panic!("expected end of stream, got {}", hex::encode(&m));
        }
    }

    /// Reads UPDATEs until End-of-RIB for both families, returning the UPDATEs before.
    pub async fn read_initial_table(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        let mut eor = 0;
        while eor < 2 {
            match self.read_decoded().await.expect("initial table") {
                Message::Update(u) if u.is_end_of_rib().is_some() => eor += 1,
                Message::Keepalive => {}
                m => out.push(m),
            }
        }
        out
    }
}

pub fn lo(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// Polls `f` every 10 ms until it returns true or `timeout` passes.
pub async fn wait_for<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
