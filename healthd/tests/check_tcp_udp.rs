//! tcp and udp checkers against real sockets on loopback (v4 and v6).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use vgw_health::Reason;

/// A port with nothing listening: bind, note the port, close.
async fn closed_tcp_port(ip: &str) -> SocketAddr {
    let l = TcpListener::bind((ip, 0)).await.expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

async fn closed_udp_port(ip: &str) -> SocketAddr {
    let s = UdpSocket::bind((ip, 0)).await.expect("bind");
    let a = s.local_addr().expect("addr");
    drop(s);
    a
}

/// Accepts connections and answers each with `reply` after reading anything (or nothing).
async fn tcp_server(ip: &str, reply: &'static [u8], read_first: bool) -> SocketAddr {
    let l = TcpListener::bind((ip, 0)).await.expect("bind");
    let a = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                if read_first {
                    let mut buf = [0u8; 256];
                    let _ = s.read(&mut buf).await;
                }
                let _ = s.write_all(reply).await;
                let _ = s.shutdown().await;
            });
        }
    });
    a
}

/// Accepts and then never says anything (connections held open).
async fn silent_server(ip: &str) -> SocketAddr {
    let l = TcpListener::bind((ip, 0)).await.expect("bind");
    let a = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    a
}

#[tokio::test]
async fn tcp_connect_up_and_refused_v4_v6() {
    for ip in ["127.0.0.1", "::1"] {
        let open = silent_server(ip).await;
        let s = spec("type = \"tcp\"\ntimeout = \"1s\"");
        assert_up(&run_at(&s, open).await);
        let closed = closed_tcp_port(ip).await;
        let r = run_at(&s, closed).await;
        assert!(matches!(down(&r), Reason::Refused { addr } if addr == closed));
        down_with(&r, "refused");
    }
}

#[tokio::test]
async fn tcp_send_expect() {
    for ip in ["127.0.0.1", "::1"] {
        let good = tcp_server(ip, b"+PONG\r\n", true).await;
        let s = spec("type = \"tcp\"\nsend = \"PING\\r\\n\"\nexpect = \"PONG\"\ntimeout = \"1s\"");
        assert_up(&run_at(&s, good).await);

        let wrong = tcp_server(ip, b"-ERR unknown\r\n", true).await;
        let r = run_at(&s, wrong).await;
        assert!(matches!(down(&r), Reason::ClosedEarly { .. }), "{:?}", r);
        down_with(&r, "-ERR unknown");
    }
}

#[tokio::test]
async fn tcp_accept_and_never_answer_times_out() {
    let silent = silent_server("127.0.0.1").await;
    let s = spec("type = \"tcp\"\nsend = \"PING\"\nexpect = \"PONG\"\ntimeout = \"300ms\"");
    let r = run_at(&s, silent).await;
    down_with(&r, "timed out after 300ms while waiting for the reply");
    bounded(&r, Duration::from_millis(300));
}

#[tokio::test]
async fn tcp_huge_reply_is_bounded() {
    static HUGE: [u8; 1 << 20] = [b'x'; 1 << 20];
    let a = tcp_server("127.0.0.1", &HUGE, false).await;
    let s = spec("type = \"tcp\"\nexpect = \"PONG\"\ntimeout = \"2s\"");
    let r = run_at(&s, a).await;
    let text = down_with(&r, "does not contain");
    assert!(
        text.len() < 400,
        "reason text is bounded: {} bytes",
        text.len()
    );
}

#[tokio::test]
async fn tcp_half_open_peer_times_out() {
    // A listener whose backlog is full and never accepts: the SYN is not answered.
    // Simulate with an unroutable-in-namespace address is not possible on loopback, so use a
    // listener with backlog 0 filled by other connections.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    let _listener = socket.listen(0).expect("listen");
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(c)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(c);
        }
    }
    let s = spec("type = \"tcp\"\ntimeout = \"300ms\"");
    let r = run_at(&s, addr).await;
    down_with(&r, "timed out after 300ms while connecting");
    bounded(&r, Duration::from_millis(300));
}

/// Echo server: replies with the datagram it got, prefixed.
async fn udp_echo(ip: &str, prefix: &'static [u8]) -> SocketAddr {
    let s = UdpSocket::bind((ip, 0)).await.expect("bind");
    let a = s.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = s.recv_from(&mut buf).await {
            let mut out = prefix.to_vec();
            out.extend_from_slice(&buf[..n]);
            let _ = s.send_to(&out, from).await;
        }
    });
    a
}

/// Receives and never answers.
async fn udp_sink(ip: &str) -> SocketAddr {
    let s = UdpSocket::bind((ip, 0)).await.expect("bind");
    let a = s.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while s.recv_from(&mut buf).await.is_ok() {}
    });
    a
}

#[tokio::test]
async fn udp_echo_up_closed_port_down_v4_v6() {
    for ip in ["127.0.0.1", "::1"] {
        let echo = udp_echo(ip, b"").await;
        let s = spec("type = \"udp\"\nsend = \"hello\"\nexpect = \"hello\"\ntimeout = \"1s\"");
        assert_up(&run_at(&s, echo).await);

        let closed = closed_udp_port(ip).await;
        let r = run_at(&s, closed).await;
        assert!(
            matches!(down(&r), Reason::PortUnreachable { addr } if addr == closed),
            "{r:?}"
        );
        // The ICMP error decides (a timeout would be a different reason).

        // Without an expected reply: closed is down, a silent open port is up.
        let s = spec("type = \"udp\"\nsend = \"hello\"\ntimeout = \"300ms\"");
        let r = run_at(&s, closed).await;
        assert!(matches!(down(&r), Reason::PortUnreachable { .. }));
        assert_up(&run_at(&s, udp_sink(ip).await).await);
    }
}

#[tokio::test]
async fn udp_wrong_reply_and_silence() {
    let echo = udp_echo("127.0.0.1", b"ERR ").await;
    let s = spec("type = \"udp\"\nsend = \"hello\"\nexpect = \"OK\"\ntimeout = \"500ms\"");
    let r = run_at(&s, echo).await;
    assert!(matches!(down(&r), Reason::ReplyMismatch { .. }), "{r:?}");
    down_with(&r, "ERR hello");

    let sink = udp_sink("127.0.0.1").await;
    let r = run_at(&s, sink).await;
    down_with(&r, "timed out after 500ms while waiting for the reply");
    bounded(&r, Duration::from_millis(500));
}

#[tokio::test]
async fn source_address_and_mark_are_applied() {
    // Source address: the server sees the connection from 127.0.0.2.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    let seen = tokio::spawn(async move { l.accept().await.map(|(_, peer)| peer) });
    let s = spec("type = \"tcp\"\nsource_address = \"127.0.0.2\"\nmark = 7\ntimeout = \"1s\"");
    assert_up(&run_at(&s, a).await);
    let peer = seen.await.expect("join").expect("accept");
    assert_eq!(peer.ip().to_string(), "127.0.0.2");

    // Family mismatch is a clear failure, not a panic.
    let s = spec("type = \"tcp\"\nsource_address = \"::1\"\ntimeout = \"1s\"");
    down_with(&run_at(&s, a).await, "different address families");
}

#[tokio::test]
async fn connect_override() {
    let real = silent_server("127.0.0.1").await;
    let s = spec(&format!(
        "type = \"tcp\"\nconnect_ip = \"127.0.0.1\"\nconnect_port = {}\ntimeout = \"1s\"",
        real.port()
    ));
    // The target itself points elsewhere (a closed port); the override is what is probed.
    let closed = closed_tcp_port("127.0.0.1").await;
    assert_up(&run_at(&s, closed).await);
}

/// Client-side sockets still open towards `peer` (as `ss` sees them).
fn sockets_towards(peer: SocketAddr) -> Vec<String> {
    let out = std::process::Command::new("ss")
        .args(["-Htan", "dst", &peer.to_string()])
        .output()
        .expect("ss (iproute2)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[tokio::test]
async fn probes_are_reset_by_default_and_leave_nothing_behind() {
    // The server holds every connection open, so a FIN close would leave our side in
    // FIN-WAIT-2; a reset leaves nothing.
    let reset_peer = silent_server("127.0.0.1").await;
    assert_up(&run_at(&spec("type = \"tcp\"\ntimeout = \"1s\""), reset_peer).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sockets_towards(reset_peer), Vec::<String>::new());

    let fin_peer = silent_server("127.0.0.1").await;
    let s = spec("type = \"tcp\"\ntimeout = \"1s\"\ngraceful_close = true");
    assert_up(&run_at(&s, fin_peer).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let left = sockets_towards(fin_peer);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("FIN-WAIT-2"), "{left:?}");
}
