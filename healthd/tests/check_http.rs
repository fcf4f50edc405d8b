//! http and https checkers against a scripted HTTP/1.1 server on loopback (v4 and v6), and
//! TLS with a certificate generated at test time.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use vgw_health::check::http::HttpFailure;
use vgw_health::Reason;

/// Read the request head; return the request line and the Host header.
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut b).await.ok()?;
        if n == 0 || buf.len() > 16384 {
            return None;
        }
        buf.extend_from_slice(&b[..n]);
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let line = text.lines().next()?.to_string();
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("Host: "))
        .unwrap_or("")
        .to_string();
    Some((line, host))
}

async fn respond<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let Some((line, host)) = read_request(&mut s).await else {
        return;
    };
    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
    let simple = |status: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let out: Vec<u8> = match path.as_str() {
        "/ok" => simple("200 OK", "all good: version=42").into_bytes(),
        "/fail" => simple("503 Service Unavailable", "down for maintenance").into_bytes(),
        "/redirect" => b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n".to_vec(),
        "/host" => simple("200 OK", &format!("host={host}")).into_bytes(),
        "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            .to_vec(),
        "/bad-chunk" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n".to_vec(),
        "/until-close" => b"HTTP/1.0 200 OK\r\n\r\nbody until close".to_vec(),
        "/interim" => b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        "/garbage" => b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec(),
        "/binary" => (0u8..=255).cycle().take(4096).collect(),
        "/truncated" => b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".to_vec(),
        "/close" => return,
        "/never" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        "/hugehead" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
            for _ in 0..100_000 {
                if s.write_all(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n").await.is_err() {
                    return;
                }
            }
            return;
        }
        "/hugebody" => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n")
                .await;
            let chunk = vec![b'a'; 65536];
            for _ in 0..1600 {
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            return;
        }
        "/endless" => {
            // No length, body never ends: must be capped by max_body_bytes.
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            let chunk = vec![b'b'; 65536];
            for _ in 0..1600 {
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            return;
        }
        "/slow-body" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nab").await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        _ => simple("404 Not Found", "").into_bytes(),
    };
    let _ = s.write_all(&out).await;
    let _ = s.shutdown().await;
}

async fn http_server(ip: &str) -> SocketAddr {
    let l = TcpListener::bind((ip, 0)).await.expect("bind");
    let a = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(respond(s));
        }
    });
    a
}

struct Tls {
    addr: SocketAddr,
    ca_pem: tempfile::NamedTempFile,
}

/// HTTPS server with a fresh self-signed certificate for "localhost", 127.0.0.1 and ::1.
async fn https_server(ip: &str) -> Tls {
    let ck = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
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
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    respond(tls).await;
                }
            });
        }
    });
    let ca_pem = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca_pem.path(), ck.cert.pem()).expect("write pem");
    Tls { addr, ca_pem }
}

fn http(extra: &str) -> vgw_health::CheckSpec {
    let timeout = if extra.contains("timeout") {
        ""
    } else {
        "timeout = \"1s\""
    };
    spec(&format!("type = \"http\"\n{timeout}\n{extra}"))
}

fn status_of(r: &vgw_health::CheckResult) -> Option<u16> {
    match down(r) {
        Reason::Http(HttpFailure::Status { status, .. }) => Some(status),
        _ => None,
    }
}

#[tokio::test]
async fn status_codes_and_ranges_v4_v6() {
    for ip in ["127.0.0.1", "::1"] {
        let a = http_server(ip).await;
        assert_up(&run_at(&http("path = \"/ok\""), a).await);
        let r = run_at(&http("path = \"/fail\""), a).await;
        assert_eq!(status_of(&r), Some(503));
        down_with(&r, "expected 200-299");
        assert_up(
            &run_at(
                &http("path = \"/fail\"\nexpect_status = [200, \"500-599\"]"),
                a,
            )
            .await,
        );
        // Redirects are not followed: a 302 is a status like any other.
        let r = run_at(&http("path = \"/redirect\""), a).await;
        assert_eq!(status_of(&r), Some(302));
        assert_up(&run_at(&http("path = \"/redirect\"\nexpect_status = [\"3xx\"]"), a).await);
        assert_up(&run_at(&http("path = \"/interim\"\nexpect_body = \"ok\""), a).await);
        assert_up(&run_at(&http("path = \"/ok\"\nmethod = \"HEAD\""), a).await);
    }
}

#[tokio::test]
async fn host_header_default_and_configured() {
    let a = http_server("::1").await;
    let want = format!("host=[::1]:{}", a.port());
    assert_up(
        &run_at(
            &http(&format!("path = \"/host\"\nexpect_body = \"{want}\"")),
            a,
        )
        .await,
    );
    assert_up(
        &run_at(
            &http("path = \"/host\"\nhost = \"www.example.test\"\nexpect_body = \"host=www.example.test\""),
            a,
        )
        .await,
    );
}

#[tokio::test]
async fn body_substring_regex_and_digests() {
    let a = http_server("127.0.0.1").await;
    assert_up(&run_at(&http("path = \"/ok\"\nexpect_body = \"all good\""), a).await);
    let r = run_at(&http("path = \"/ok\"\nexpect_body = \"broken\""), a).await;
    assert!(matches!(
        down(&r),
        Reason::Http(HttpFailure::BodyMismatch { .. })
    ));
    assert_up(
        &run_at(
            &http("path = \"/ok\"\nexpect_body_regex = \"version=[0-9]+$\""),
            a,
        )
        .await,
    );
    let r = run_at(&http("path = \"/ok\"\nexpect_body_regex = \"^down\""), a).await;
    assert!(matches!(
        down(&r),
        Reason::Http(HttpFailure::RegexMismatch { .. })
    ));

    // md5/sha256 of "all good: version=42", computed independently (coreutils).
    let md5 = std::process::Command::new("sh")
        .args([
            "-c",
            "printf 'all good: version=42' | md5sum | cut -d' ' -f1",
        ])
        .output()
        .expect("md5sum");
    let md5 = String::from_utf8_lossy(&md5.stdout).trim().to_string();
    let sha = std::process::Command::new("sh")
        .args([
            "-c",
            "printf 'all good: version=42' | sha256sum | cut -d' ' -f1",
        ])
        .output()
        .expect("sha256sum");
    let sha = String::from_utf8_lossy(&sha.stdout).trim().to_string();
    assert_eq!(md5.len(), 32);
    assert_up(&run_at(&http(&format!("path = \"/ok\"\ndigest = \"{md5}\"")), a).await);
    assert_up(
        &run_at(
            &http(&format!("path = \"/ok\"\ndigest = \"sha256:{sha}\"")),
            a,
        )
        .await,
    );
    let r = run_at(
        &http(&format!(
            "path = \"/fail\"\nexpect_status = [503]\ndigest = \"{md5}\""
        )),
        a,
    )
    .await;
    let text = down_with(&r, "md5 of the response body");
    assert!(text.contains(&md5));
}

#[tokio::test]
async fn framings_chunked_and_until_close() {
    let a = http_server("127.0.0.1").await;
    assert_up(
        &run_at(
            &http("path = \"/chunked\"\nexpect_body = \"hello world\""),
            a,
        )
        .await,
    );
    assert_up(
        &run_at(
            &http("path = \"/until-close\"\nexpect_body = \"until close\""),
            a,
        )
        .await,
    );
    let r = run_at(&http("path = \"/bad-chunk\"\nexpect_body = \"x\""), a).await;
    down_with(&r, "malformed chunked body");
    let r = run_at(&http("path = \"/truncated\"\nexpect_body = \"x\""), a).await;
    down_with(&r, "ended after 5 of 100 bytes");
}

#[tokio::test]
async fn malformed_and_hostile_servers() {
    let a = http_server("127.0.0.1").await;
    let r = run_at(&http("path = \"/garbage\""), a).await;
    down_with(&r, "malformed status line");
    let r = run_at(&http("path = \"/binary\""), a).await;
    down_with(&r, "malformed");
    let r = run_at(&http("path = \"/close\""), a).await;
    down_with(&r, "closed the connection before a complete response head");

    // Never answers: bounded by the timeout and the phase is named.
    let r = run_at(&http("path = \"/never\"\ntimeout = \"300ms\""), a).await;
    down_with(&r, "while reading the response head");
    bounded(&r, std::time::Duration::from_millis(300));
    let r = run_at(
        &http("path = \"/slow-body\"\ntimeout = \"300ms\"\nexpect_body = \"x\""),
        a,
    )
    .await;
    down_with(&r, "while reading the response body");
    bounded(&r, std::time::Duration::from_millis(300));

    // Huge replies are capped, not buffered.
    let r = run_at(&http("path = \"/hugehead\"\ntimeout = \"2s\""), a).await;
    down_with(&r, "header section exceeds 16384 bytes");
    let r = run_at(
        &http("path = \"/hugebody\"\ntimeout = \"2s\"\nexpect_body = \"x\""),
        a,
    )
    .await;
    down_with(&r, "exceeds 1048576 bytes");
    let r = run_at(
        &http(
            "path = \"/endless\"\ntimeout = \"2s\"\nexpect_body = \"x\"\nmax_body_bytes = 100000",
        ),
        a,
    )
    .await;
    down_with(&r, "exceeds 100000 bytes");
    // Without a body check, a huge body is never read.
    assert_up(&run_at(&http("path = \"/hugebody\"\ntimeout = \"2s\""), a).await);
}

#[tokio::test]
async fn https_with_verification_sni_and_errors() {
    for ip in ["127.0.0.1", "::1"] {
        let tls = https_server(ip).await;
        let ca = tls.ca_pem.path().display().to_string();
        let https = |extra: &str| {
            spec(&format!(
                "type = \"https\"\ntimeout = \"2s\"\npath = \"/ok\"\n{extra}"
            ))
        };
        // Verified against the CA file, by IP address and by SNI name.
        assert_up(&run_at(&https(&format!("ca_file = \"{ca}\"")), tls.addr).await);
        assert_up(
            &run_at(
                &https(&format!("ca_file = \"{ca}\"\nsni = \"localhost\"")),
                tls.addr,
            )
            .await,
        );
        assert_up(
            &run_at(
                &https(&format!("ca_file = \"{ca}\"\nexpect_body = \"all good\"")),
                tls.addr,
            )
            .await,
        );
        // Name mismatch.
        let r = run_at(
            &https(&format!("ca_file = \"{ca}\"\nsni = \"other.example\"")),
            tls.addr,
        )
        .await;
        assert!(matches!(down(&r), Reason::Tls(_)), "{r:?}");
        down_with(&r, "TLS handshake");
        // Self-signed against the system store: unknown issuer.
        let r = run_at(&https(""), tls.addr).await;
        down_with(&r, "TLS handshake");
        // Verification off: accepted.
        assert_up(&run_at(&https("tls_verify = false"), tls.addr).await);
    }
}

#[tokio::test]
async fn https_against_plain_http_and_http_against_tls() {
    let plain = http_server("127.0.0.1").await;
    let r = run_at(
        &spec("type = \"https\"\ntimeout = \"1s\"\ntls_verify = false\npath = \"/ok\""),
        plain,
    )
    .await;
    down_with(&r, "TLS");
    let tls = https_server("127.0.0.1").await;
    let r = run_at(&http("path = \"/ok\""), tls.addr).await;
    // The TLS server answers plain HTTP with an alert or closes: never up.
    let _ = down(&r);
}
