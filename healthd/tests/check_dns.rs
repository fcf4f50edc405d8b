//! dns checker against a scripted DNS server built with hickory-proto (UDP and TCP on the same
//! port) and against dnsmasq from Debian, v4 and v6.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use vgw_health::check::dns::DnsFailure;
use vgw_health::Reason;

/// Build the reply for `query` as the scripted server would, per query name.
fn answer(query: &Message, over_tcp: bool) -> Option<Vec<Vec<u8>>> {
    let q = query.queries.first()?;
    let name = q.name().to_ascii();
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.add_query(q.clone());
    let a = |ip: &str| Record::from_rdata(q.name().clone(), 30, RData::A(ip.parse().expect("ip")));
    match name.as_str() {
        "ok.test." => reply.answers.push(a("192.0.2.7")),
        "nx.test." => reply.metadata.response_code = ResponseCode::NXDomain,
        "servfail.test." => reply.metadata.response_code = ResponseCode::ServFail,
        "silent.test." => return Some(Vec::new()),
        "tc.test." if !over_tcp => reply.metadata.truncation = true,
        "tc.test." => reply.answers.push(a("192.0.2.8")),
        "wrongid.test." => reply.metadata.id = query.metadata.id.wrapping_add(1),
        "wrongid-then-ok.test." => {
            reply.answers.push(a("192.0.2.9"));
            let mut wrong = reply.clone();
            wrong.metadata.id = query.metadata.id.wrapping_add(1);
            return Some(vec![
                wrong.to_vec().ok()?,
                b"\x00garbage".to_vec(),
                reply.to_vec().ok()?,
            ]);
        }
        "garbage.test." => return Some(vec![vec![0xff; 40], b"not dns".to_vec()]),
        "other-question.test." => {
            let mut other = Message::response(query.metadata.id, query.metadata.op_code);
            other.add_query(hickory_proto::op::Query::query(
                hickory_proto::rr::Name::from_ascii("elsewhere.test.").ok()?,
                q.query_type(),
            ));
            return Some(vec![other.to_vec().ok()?]);
        }
        _ => reply.metadata.response_code = ResponseCode::Refused,
    }
    Some(vec![reply.to_vec().ok()?])
}

async fn dns_server(ip: &str) -> SocketAddr {
    // UDP and TCP on the same port.
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind((ip, 0)).await.expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if let Ok(tcp) = TcpListener::bind((ip, port)).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = udp.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            for r in answer(&q, false).unwrap_or_default() {
                let _ = udp.send_to(&r, from).await;
            }
        }
    });
    tokio::spawn(async move {
        while let Ok((mut s, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
                if s.read_exact(&mut msg).await.is_err() {
                    return;
                }
                let Ok(q) = Message::from_vec(&msg) else {
                    return;
                };
                for r in answer(&q, true).unwrap_or_default() {
                    let _ = s.write_all(&(r.len() as u16).to_be_bytes()).await;
                    let _ = s.write_all(&r).await;
                }
            });
        }
    });
    addr
}

fn dns(name: &str, extra: &str) -> vgw_health::CheckSpec {
    spec(&format!(
        "type = \"dns\"\nquery_name = \"{name}\"\ntimeout = \"500ms\"\n{extra}"
    ))
}

#[tokio::test]
async fn answers_rcodes_v4_v6() {
    for ip in ["127.0.0.1", "::1"] {
        let a = dns_server(ip).await;
        assert_up(&run_at(&dns("ok.test", ""), a).await);
        assert_up(&run_at(&dns("ok.test", "expect_answer = \"192.0.2.7\""), a).await);
        let r = run_at(&dns("ok.test", "expect_answer = \"192.0.2.99\""), a).await;
        assert!(
            matches!(down(&r), Reason::Dns(DnsFailure::NoAnswer { .. })),
            "{r:?}"
        );
        let r = run_at(&dns("nx.test", ""), a).await;
        down_with(&r, "RCODE Non-Existent Domain");
        assert_up(&run_at(&dns("nx.test", "expect_rcode = \"NXDOMAIN\""), a).await);
        down_with(&run_at(&dns("servfail.test", ""), a).await, "RCODE");
        // Forced TCP.
        assert_up(&run_at(&dns("ok.test", "dns_tcp = true"), a).await);
    }
}

#[tokio::test]
async fn truncation_falls_back_to_tcp() {
    let a = dns_server("127.0.0.1").await;
    assert_up(&run_at(&dns("tc.test", "expect_answer = \"192.0.2.8\""), a).await);
}

#[tokio::test]
async fn wrong_ids_and_garbage_are_ignored() {
    let a = dns_server("127.0.0.1").await;
    // The good reply after a forged one and garbage still counts.
    assert_up(
        &run_at(
            &dns("wrongid-then-ok.test", "expect_answer = \"192.0.2.9\""),
            a,
        )
        .await,
    );
    // Only forged replies: failure that says so, bounded by the timeout.
    let r = run_at(&dns("wrongid.test", ""), a).await;
    assert!(
        matches!(
            down(&r),
            Reason::Dns(DnsFailure::OnlyWrongReplies { ignored: 1, .. })
        ),
        "{r:?}"
    );
    bounded(&r, Duration::from_millis(500));
    let r = run_at(&dns("garbage.test", ""), a).await;
    down_with(&r, "ignored 2 datagram(s)");
    let r = run_at(&dns("other-question.test", ""), a).await;
    down_with(&r, "ignored 1 datagram(s)");
    let r = run_at(&dns("silent.test", ""), a).await;
    down_with(&r, "timed out after 500ms while waiting for the DNS reply");
    bounded(&r, Duration::from_millis(500));
}

#[tokio::test]
async fn closed_port_is_port_unreachable() {
    let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let a = s.local_addr().expect("addr");
    drop(s);
    let r = run_at(&dns("ok.test", ""), a).await;
    assert!(matches!(down(&r), Reason::PortUnreachable { .. }), "{r:?}");
}

/// Kills the dnsmasq we started, by PID, even when the test fails.
struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    // A port free for both UDP and TCP on both loopback addresses, at the time of asking.
    loop {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = u.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("::1", port)).is_ok()
            && std::net::TcpListener::bind(("::1", port)).is_ok()
        {
            return port;
        }
    }
}

#[tokio::test]
async fn against_dnsmasq() {
    let Some(bin) = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "dnsmasq is missing, and CI must have it (scripts/setup installs it)"
        );
        eprintln!("SKIP: dnsmasq is not installed (apt-get install dnsmasq)");
        return;
    };
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let child = Command::new(bin)
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--listen-address=::1",
            "--user=root",
            &format!("--port={port}"),
            &format!("--pid-file={}", dir.path().join("pid").display()),
            "--address=/svc.test/192.0.2.10",
            "--address=/svc.test/2001:db8::10",
            "--local=/test/",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dnsmasq");
    let _guard = Dnsmasq(child);
    for ip in ["127.0.0.1", "::1"] {
        let a: SocketAddr = format!("{}:{port}", if ip == "::1" { "[::1]" } else { ip })
            .parse()
            .expect("addr");
        // dnsmasq needs a moment to bind: bounded retries.
        let s = dns("svc.test", "expect_answer = \"192.0.2.10\"");
        let mut r = run_at(&s, a).await;
        for _ in 0..50 {
            if r.outcome.is_up() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            r = run_at(&s, a).await;
        }
        assert_up(&r);
        assert_up(
            &run_at(
                &dns(
                    "svc.test",
                    "query_type = \"AAAA\"\nexpect_answer = \"2001:db8::10\"",
                ),
                a,
            )
            .await,
        );
        assert_up(
            &run_at(
                &dns("svc.test", "dns_tcp = true\nexpect_answer = \"192.0.2.10\""),
                a,
            )
            .await,
        );
        let r = run_at(&dns("missing.test", ""), a).await;
        down_with(&r, "RCODE");
        assert_up(&run_at(&dns("missing.test", "expect_rcode = \"NXDOMAIN\""), a).await);
    }
}
