//! The network checkers (tcp, udp, http, https, dns) against servers inside a lab namespace,
//! reached over a veth pair from another namespace, v4 (10.0.0.0/24) and v6 (fd00::/64): up,
//! down, timeout and malformed replies; a half-open TCP peer (accepts, then everything it
//! sends is dropped: no reply, no FIN, no RST); an HTTPS server that accepts TCP and never
//! starts TLS; custom HTTP headers as the server received them. Needs root (namespaces, nft).
//!
//! ```text
//!   ns a (checker)  eth1 10.0.0.1 fd00::1 ──veth── eth1 10.0.0.2 fd00::2  ns b (servers)
//! ```

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use vgw_health::check::dns::DnsFailure;
use vgw_health::{CheckResult, Reason};

const TCP_PONG: u16 = 7001;
const TCP_SILENT: u16 = 7002;
const TCP_GARBAGE: u16 = 7003;
const TCP_HALF_OPEN: u16 = 7004;
const HTTP: u16 = 8080;
const HTTPS: u16 = 8443;
const UDP_ECHO: u16 = 5301;
const UDP_SILENT: u16 = 5302;
const UDP_GARBAGE: u16 = 5303;
const DNS: u16 = 5353;
/// Nothing listens here (TCP or UDP) in b.
const CLOSED: u16 = 5399;

/// Request heads the HTTP(S) server received, for the header test.
type Seen = Arc<Mutex<Vec<String>>>;

struct Lab {
    _lab: vgw_lab::Lab,
    a: vgw_lab::Host,
    b: vgw_lab::Host,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    servers: Option<std::thread::JoinHandle<vgw_lab::Result<()>>>,
    seen: Seen,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.servers.take() {
            let _ = t.join();
        }
    }
}

const V4: &str = "10.0.0.2";
const V6: &str = "fd00::2";

fn at(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("ip"), port)
}

fn lab(name: &str) -> Lab {
    let lab = vgw_lab::Lab::new(name).expect("lab (needs root)");
    let a = lab.host("a").expect("host a");
    let b = lab.host("b").expect("host b");
    lab.link((&a, "eth1"), (&b, "eth1")).expect("link");
    a.add_addr("eth1", "10.0.0.1/24").expect("addr");
    b.add_addr("eth1", "10.0.0.2/24").expect("addr");
    a.ip(&["-6", "addr", "add", "fd00::1/64", "dev", "eth1", "nodad"])
        .expect("addr6");
    b.ip(&["-6", "addr", "add", "fd00::2/64", "dev", "eth1", "nodad"])
        .expect("addr6");
    let seen: Seen = Arc::default();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let seen2 = seen.clone();
    let servers = b
        .spawn_thread(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                start_servers(seen2).await;
                let _ = ready_tx.send(());
                let _ = stopped.await;
            });
        })
        .expect("server thread");
    ready
        .recv_timeout(Duration::from_secs(10))
        .expect("servers in b started");
    Lab {
        _lab: lab,
        a,
        b,
        stop: Some(stop),
        servers: Some(servers),
        seen,
    }
}

impl Lab {
    /// Run `(check TOML, target)` pairs from namespace a, in order, on a fresh runtime.
    fn check(&self, checks: &[(&str, SocketAddr)]) -> Vec<CheckResult> {
        let checks: Vec<(String, SocketAddr)> =
            checks.iter().map(|(t, a)| (t.to_string(), *a)).collect();
        self.a
            .run_in(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let mut out = Vec::new();
                    for (toml_text, addr) in checks {
                        out.push(run_at(&spec(&toml_text), addr).await);
                    }
                    out
                })
            })
            .expect("thread in namespace a")
    }
}

/// Dual-stack listeners on `[::]` (v4 clients arrive as ::ffff:10.0.0.1).
async fn tcp_listener(port: u16) -> TcpListener {
    TcpListener::bind(("::", port))
        .await
        .expect("bind tcp in b")
}

async fn udp_socket(port: u16) -> UdpSocket {
    UdpSocket::bind(("::", port)).await.expect("bind udp in b")
}

fn serve_tcp<F, Fut>(l: TcpListener, each: F)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(each(s));
        }
    });
}

async fn start_servers(seen: Seen) {
    // Reads the request, answers +PONG, closes.
    serve_tcp(tcp_listener(TCP_PONG).await, |mut s| async move {
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(b"+PONG\r\n").await;
        let _ = s.shutdown().await;
    });
    // Accepts and holds the connection without a word.
    serve_tcp(tcp_listener(TCP_SILENT).await, |s| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(s);
    });
    // Answers binary garbage at once and closes.
    serve_tcp(tcp_listener(TCP_GARBAGE).await, |mut s| async move {
        let _ = s.write_all(b"\x00\xff\xfe\x01garbage\r\n").await;
        let _ = s.shutdown().await;
    });
    // Behaves like TCP_PONG; the nft rule installed by the test drops whatever it sends
    // after the SYN-ACK, so for the checker the peer vanishes after accepting.
    serve_tcp(tcp_listener(TCP_HALF_OPEN).await, |mut s| async move {
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(b"+PONG\r\n").await;
        let _ = s.shutdown().await;
    });
    let seen_http = seen.clone();
    serve_tcp(tcp_listener(HTTP).await, move |s| {
        respond(s, seen_http.clone())
    });
    let acceptor = tls_acceptor();
    serve_tcp(tcp_listener(HTTPS).await, move |s| {
        let acceptor = acceptor.clone();
        let seen = seen.clone();
        async move {
            if let Ok(tls) = acceptor.accept(s).await {
                respond(tls, seen).await;
            }
        }
    });

    let echo = udp_socket(UDP_ECHO).await;
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = echo.recv_from(&mut buf).await {
            let mut reply = b"pong:".to_vec();
            reply.extend_from_slice(&buf[..n]);
            let _ = echo.send_to(&reply, from).await;
        }
    });
    let silent = udp_socket(UDP_SILENT).await;
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while silent.recv_from(&mut buf).await.is_ok() {}
    });
    let garbage = udp_socket(UDP_GARBAGE).await;
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((_, from)) = garbage.recv_from(&mut buf).await {
            let _ = garbage.send_to(b"\x00\xff\xfejunk", from).await;
        }
    });
    dns_server().await;
}

/// Read a request head (bounded); record it; answer by path.
async fn respond<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, seen: Seen) {
    let mut head = Vec::new();
    let mut b = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b).await {
            Ok(n) if n > 0 && head.len() < 16384 => head.extend_from_slice(&b[..n]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
    seen.lock().expect("seen").push(text);
    let out: &[u8] = match path.as_str() {
        "/ok" => b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nall good",
        "/fail" => b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
        "/garbage" => b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        "/never" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    };
    let _ = s.write_all(out).await;
    let _ = s.shutdown().await;
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let ck =
        rcgen::generate_simple_self_signed(vec!["10.0.0.2".to_string(), "fd00::2".to_string()])
            .expect("certificate");
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Scripted DNS over UDP and TCP on port DNS, per query name.
fn dns_answer(query: &Message) -> Option<Vec<Vec<u8>>> {
    let q = query.queries.first()?;
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.add_query(q.clone());
    match q.name().to_ascii().as_str() {
        "ok.test." => reply.answers.push(Record::from_rdata(
            q.name().clone(),
            30,
            RData::A("192.0.2.7".parse().ok()?),
        )),
        "nx.test." => reply.metadata.response_code = ResponseCode::NXDomain,
        "silent.test." => return Some(Vec::new()),
        "garbage.test." => return Some(vec![vec![0xff; 40], b"not dns".to_vec()]),
        _ => reply.metadata.response_code = ResponseCode::Refused,
    }
    Some(vec![reply.to_vec().ok()?])
}

async fn dns_server() {
    let udp = udp_socket(DNS).await;
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = udp.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            for r in dns_answer(&q).unwrap_or_default() {
                let _ = udp.send_to(&r, from).await;
            }
        }
    });
    serve_tcp(tcp_listener(DNS).await, |mut s| async move {
        let mut len = [0u8; 2];
        if s.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if s.read_exact(&mut q).await.is_err() {
            return;
        }
        let Ok(q) = Message::from_vec(&q) else {
            return;
        };
        for r in dns_answer(&q).unwrap_or_default() {
            let mut framed = u16::try_from(r.len()).unwrap_or(0).to_be_bytes().to_vec();
            framed.extend_from_slice(&r);
            let _ = s.write_all(&framed).await;
        }
    });
}

const TCP: &str = "type = \"tcp\"\ntimeout = \"1s\"";
const TCP_PING: &str = "type = \"tcp\"\ntimeout = \"1s\"\nsend = \"PING\\r\\n\"\nexpect = \"PONG\"";
const UDP: &str = "type = \"udp\"\ntimeout = \"1s\"\nsend = \"ping\"\nexpect = \"pong:ping\"";
const HTTP_OK: &str = "type = \"http\"\ntimeout = \"1s\"\npath = \"/ok\"";
const HTTPS_OK: &str = "type = \"https\"\ntimeout = \"2s\"\ntls_verify = false\npath = \"/ok\"";
const DNS_OK: &str =
    "type = \"dns\"\ntimeout = \"1s\"\nquery_name = \"ok.test\"\nexpect_answer = \"192.0.2.7\"";

#[test]
fn up_and_down_v4_v6() {
    let lab = lab("health-ns-updown");
    for ip in [V4, V6] {
        let http_fail = "type = \"http\"\ntimeout = \"1s\"\npath = \"/fail\"";
        let dns_nx = "type = \"dns\"\ntimeout = \"1s\"\nquery_name = \"nx.test\"";
        let dns_tcp = "type = \"dns\"\ntimeout = \"1s\"\nquery_name = \"ok.test\"\ndns_tcp = true";
        let r = lab.check(&[
            (TCP, at(ip, TCP_PONG)),
            (TCP_PING, at(ip, TCP_PONG)),
            (UDP, at(ip, UDP_ECHO)),
            (HTTP_OK, at(ip, HTTP)),
            (HTTPS_OK, at(ip, HTTPS)),
            (DNS_OK, at(ip, DNS)),
            (dns_tcp, at(ip, DNS)),
            // Down: nothing listens (TCP RST / ICMP port unreachable from b), a bad status,
            // a bad RCODE.
            (TCP, at(ip, CLOSED)),
            (UDP, at(ip, CLOSED)),
            (HTTP_OK, at(ip, CLOSED)),
            (DNS_OK, at(ip, CLOSED)),
            (http_fail, at(ip, HTTP)),
            (dns_nx, at(ip, DNS)),
        ]);
        for (i, up) in r[..7].iter().enumerate() {
            assert!(up.outcome.is_up(), "{ip} check {i}: {}", up.outcome);
        }
        let closed = at(ip, CLOSED);
        assert!(
            matches!(down(&r[7]), Reason::Refused { addr } if addr == closed),
            "{ip}: {:?}",
            r[7]
        );
        assert!(
            matches!(down(&r[8]), Reason::PortUnreachable { addr } if addr == closed),
            "{ip}: {:?}",
            r[8]
        );
        down_with(&r[9], "refused");
        assert!(
            matches!(down(&r[10]), Reason::PortUnreachable { .. }),
            "{ip}: {:?}",
            r[10]
        );
        down_with(&r[11], "503");
        down_with(&r[12], "RCODE Non-Existent Domain");
    }
}

#[test]
fn timeouts_and_malformed_replies_v4_v6() {
    let lab = lab("health-ns-bad");
    let t = Duration::from_millis(500);
    for ip in [V4, V6] {
        let r = lab.check(&[
            // Timeouts: the server holds the connection / swallows the datagram / stays mute.
            (
                "type = \"tcp\"\ntimeout = \"500ms\"\nsend = \"PING\"\nexpect = \"PONG\"",
                at(ip, TCP_SILENT),
            ),
            (
                "type = \"udp\"\ntimeout = \"500ms\"\nsend = \"ping\"\nexpect = \"pong\"",
                at(ip, UDP_SILENT),
            ),
            (
                "type = \"http\"\ntimeout = \"500ms\"\npath = \"/never\"",
                at(ip, HTTP),
            ),
            (
                "type = \"dns\"\ntimeout = \"500ms\"\nquery_name = \"silent.test\"",
                at(ip, DNS),
            ),
            // Malformed replies.
            (TCP_PING, at(ip, TCP_GARBAGE)),
            (UDP, at(ip, UDP_GARBAGE)),
            (
                "type = \"http\"\ntimeout = \"1s\"\npath = \"/garbage\"",
                at(ip, HTTP),
            ),
            (
                "type = \"dns\"\ntimeout = \"500ms\"\nquery_name = \"garbage.test\"",
                at(ip, DNS),
            ),
        ]);
        down_with(&r[0], "timed out after 500ms while waiting for the reply");
        down_with(&r[1], "timed out after 500ms while waiting for the reply");
        down_with(
            &r[2],
            "timed out after 500ms while reading the response head",
        );
        down_with(
            &r[3],
            "timed out after 500ms while waiting for the DNS reply",
        );
        for x in &r[..4] {
            bounded(x, t);
        }
        let tcp_bad = down(&r[4]);
        assert!(
            matches!(tcp_bad, Reason::ClosedEarly { ref got, .. } if got.contains("garbage")),
            "{ip}: {tcp_bad}"
        );
        assert!(
            matches!(down(&r[5]), Reason::ReplyMismatch { .. }),
            "{ip}: {:?}",
            r[5]
        );
        down_with(&r[6], "malformed status line");
        let dns_bad = down(&r[7]);
        assert!(
            matches!(
                dns_bad,
                Reason::Dns(DnsFailure::OnlyWrongReplies { ignored: 2, .. })
            ),
            "{ip}: {dns_bad}"
        );
        down_with(&r[7], "ignored 2 datagram(s)");
        bounded(&r[7], t);
    }
}

#[test]
fn https_server_that_never_handshakes_times_out() {
    let lab = lab("health-ns-tls");
    for ip in [V4, V6] {
        let r = lab.check(&[(
            "type = \"https\"\ntimeout = \"500ms\"\ntls_verify = false\npath = \"/ok\"",
            at(ip, TCP_SILENT),
        )]);
        let text = down_with(&r[0], "timed out after 500ms");
        assert!(text.contains("TLS"), "{ip}: phase not named: {text}");
        bounded(&r[0], Duration::from_millis(500));
    }
}

#[test]
fn half_open_peer_times_out_with_a_reason() {
    let lab = lab("health-ns-halfopen");
    // Before the rule: the peer answers.
    let r = lab.check(&[(TCP_PING, at(V4, TCP_HALF_OPEN))]);
    assert_up(&r[0]);
    // From now on b sends its SYN-ACK and nothing after it: no ACK of our data, no reply, no
    // FIN, no RST. It has accepted the connection and then is gone.
    let rules = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        rules.path(),
        format!(
            "table inet vgw_halfopen {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n    tcp sport {TCP_HALF_OPEN} tcp flags & syn == 0 counter drop\n  }}\n}}\n"
        ),
    )
    .expect("write rules");
    let path = rules.path().to_str().expect("utf-8 path").to_string();
    lab.b.run(&["nft", "-f", &path]).expect("nft in b");
    for ip in [V4, V6] {
        let r = lab.check(&[
            (
                "type = \"tcp\"\ntimeout = \"800ms\"\nsend = \"PING\\r\\n\"\nexpect = \"PONG\"",
                at(ip, TCP_HALF_OPEN),
            ),
            // Send without expect closes gracefully: the unacknowledged bytes must not hang
            // the check either.
            (
                "type = \"tcp\"\ntimeout = \"800ms\"\nsend = \"PING\\r\\n\"",
                at(ip, TCP_HALF_OPEN),
            ),
        ]);
        down_with(&r[0], "timed out after 800ms while waiting for the reply");
        bounded(&r[0], Duration::from_millis(800));
        // The handshake completed and the bytes went into the send buffer: up, at once.
        assert_up(&r[1]);
        assert!(r[1].latency < Duration::from_millis(800), "{:?}", r[1]);
    }
    // The rule did the work: b's ACKs, reply, FIN or RST were dropped.
    let listing = lab
        .b
        .run(&["nft", "list", "table", "inet", "vgw_halfopen"])
        .expect("nft list");
    let dropped: u64 = listing
        .split_whitespace()
        .skip_while(|w| *w != "packets")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(dropped >= 4, "{listing}");
}

#[test]
fn custom_http_headers_are_sent() {
    let lab = lab("health-ns-headers");
    for (ip, kind, port) in [
        (V4, "http", HTTP),
        (V6, "http", HTTP),
        (V4, "https", HTTPS),
        (V6, "https", HTTPS),
    ] {
        lab.seen.lock().expect("seen").clear();
        let toml_text = format!(
            "type = \"{kind}\"\ntimeout = \"2s\"\n{}path = \"/ok\"\nheaders = {{ \"X-Health-Token\" = \"s3cret\", \"Accept\" = \"text/plain\" }}",
            if kind == "https" { "tls_verify = false\n" } else { "" }
        );
        let r = lab.check(&[(toml_text.as_str(), at(ip, port))]);
        assert_up(&r[0]);
        let seen = lab.seen.lock().expect("seen").clone();
        assert_eq!(seen.len(), 1, "{kind} {ip}: {seen:?}");
        let head = seen[0].to_ascii_lowercase();
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert!(
            lines.contains(&"x-health-token: s3cret"),
            "{kind} {ip}: {head:?}"
        );
        assert!(
            lines.contains(&"accept: text/plain"),
            "{kind} {ip}: {head:?}"
        );
        assert!(
            lines[0].starts_with("get /ok http/1.1"),
            "{kind} {ip}: {head:?}"
        );
    }
}
