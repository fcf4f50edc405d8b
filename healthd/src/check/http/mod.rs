//! http and https checks: a minimal HTTP/1.1 client written for health checking.
//!
//! One request per connection (`Connection: close`), no redirects followed (a 3xx is a status
//! like any other, to be listed in `expect_status` if wanted), bounded reads: the header section
//! is capped at `max_header_bytes` and the body at `max_body_bytes`. The body is read only when
//! a body check (substring, regex, digest) needs it.

pub mod parse;

use std::net::{IpAddr, SocketAddr};

use md5::Digest as _;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use self::parse::{
    body_framing, parse_head, BodyFraming, ChunkError, ChunkedDecoder, HeadError, ResponseHead,
};
use super::{contains, sock, Ctx};
use crate::outcome::{IoFailure, Reason};
use crate::spec::{DigestAlgorithm, HttpProbe, StatusRange};

/// Why an HTTP check failed after the connection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpFailure {
    #[error("malformed HTTP response from {addr}: {error}")]
    Malformed { addr: SocketAddr, error: HeadError },
    #[error("{addr} closed the connection before a complete response head ({got} bytes received)")]
    ClosedBeforeHead { addr: SocketAddr, got: usize },
    #[error("{addr} answered {status} {reason:?}, expected {expected}")]
    Status {
        addr: SocketAddr,
        status: u16,
        reason: String,
        expected: String,
    },
    #[error("response body from {addr} exceeds {limit} bytes")]
    BodyTooLarge { addr: SocketAddr, limit: usize },
    #[error("response body from {addr} ended after {got} of {expected} bytes")]
    TruncatedBody {
        addr: SocketAddr,
        got: usize,
        expected: u64,
    },
    #[error("malformed chunked body from {addr}: {error}")]
    Chunked { addr: SocketAddr, error: ChunkError },
    #[error("response body from {addr} does not contain {expected:?}")]
    BodyMismatch { addr: SocketAddr, expected: String },
    #[error("response body from {addr} does not match /{pattern}/")]
    RegexMismatch { addr: SocketAddr, pattern: String },
    #[error("{algorithm} of the response body from {addr} is {got}, expected {expected}")]
    Digest {
        addr: SocketAddr,
        algorithm: DigestAlgorithm,
        got: String,
        expected: String,
    },
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub async fn check(probe: &HttpProbe, ctx: &Ctx<'_>) -> Result<(), Reason> {
    let peer = ctx.net.peer(ctx.target);
    let tcp = sock::tcp_connect(ctx, peer, true).await?;
    let mut stream: Box<dyn Stream> = match &probe.tls {
        None => Box::new(tcp),
        Some(tls) => {
            let name = match &tls.server_name {
                Some(n) => ServerName::try_from(n.clone())
                    .map_err(|e| Reason::Tls(format!("invalid server name {n:?}: {e}")))?,
                None => ServerName::IpAddress(peer.ip().into()),
            };
            let connector = tokio_rustls::TlsConnector::from(tls.client.clone());
            let s = ctx
                .within("in the TLS handshake", connector.connect(name, tcp))
                .await?
                .map_err(|e| Reason::Tls(format!("TLS handshake with {peer} failed: {e}")))?;
            Box::new(s)
        }
    };
    let request = build_request(probe, peer);
    ctx.within("sending the request", stream.write_all(&request))
        .await?
        .map_err(|e| io_reason("send", peer, e, probe.tls.is_some()))?;
    ctx.within("sending the request", stream.flush())
        .await?
        .map_err(|e| io_reason("send", peer, e, probe.tls.is_some()))?;

    // Read the head, skipping interim 1xx responses (RFC 9110 15.2: a client MUST be able to
    // parse one or more 1xx responses received prior to a final response).
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let (head, used) = loop {
        let (head, used) = read_head(probe, ctx, &mut stream, &mut buf, peer).await?;
        if (100..200).contains(&head.status) && head.status != 101 {
            buf.drain(..used);
            continue;
        }
        break (head, used);
    };
    buf.drain(..used);

    if !probe.expect_status.iter().any(|r| r.contains(head.status)) {
        return Err(HttpFailure::Status {
            addr: peer,
            status: head.status,
            reason: head.reason.clone(),
            expected: describe(&probe.expect_status),
        }
        .into());
    }
    if !probe.needs_body() {
        return Ok(());
    }
    let framing = body_framing(&head, probe.method == "HEAD")
        .map_err(|error| HttpFailure::Malformed { addr: peer, error })?;
    let body = read_body(probe, ctx, &mut stream, buf, framing, peer).await?;
    judge_body(probe, &body, peer)
}

fn io_reason(op: &'static str, addr: SocketAddr, e: std::io::Error, tls: bool) -> Reason {
    if tls && e.kind() == std::io::ErrorKind::InvalidData {
        Reason::Tls(format!("TLS error with {addr}: {e}"))
    } else {
        Reason::Io {
            op,
            addr,
            error: IoFailure::from(e),
        }
    }
}

fn describe(ranges: &[StatusRange]) -> String {
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Host header value: the configured host, or the address probed (RFC 9112 3.2: "A client MUST
/// send a Host header field in all HTTP/1.1 request messages").
fn host_header(probe: &HttpProbe, peer: SocketAddr) -> String {
    if let Some(h) = &probe.host {
        return h.clone();
    }
    let default_port = if probe.tls.is_some() { 443 } else { 80 };
    let ip = match peer.ip() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    if peer.port() == default_port {
        ip
    } else {
        format!("{ip}:{}", peer.port())
    }
}

pub(crate) fn build_request(probe: &HttpProbe, peer: SocketAddr) -> Vec<u8> {
    let mut r = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        probe.method,
        probe.path,
        host_header(probe, peer)
    );
    let has = |name: &str| {
        probe
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !has("user-agent") {
        r.push_str("User-Agent: vgw-health\r\n");
    }
    if !has("accept") {
        r.push_str("Accept: */*\r\n");
    }
    for (n, v) in &probe.headers {
        r.push_str(n);
        r.push_str(": ");
        r.push_str(v);
        r.push_str("\r\n");
    }
    r.push_str("Connection: close\r\n\r\n");
    r.into_bytes()
}

async fn read_more(
    ctx: &Ctx<'_>,
    stream: &mut Box<dyn Stream>,
    buf: &mut Vec<u8>,
    phase: &'static str,
    peer: SocketAddr,
    tls: bool,
) -> Result<usize, Reason> {
    let mut chunk = [0u8; 8192];
    let n = ctx
        .within(phase, stream.read(&mut chunk))
        .await?
        .map_err(|e| io_reason("read", peer, e, tls))?;
    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    Ok(n)
}

async fn read_head(
    probe: &HttpProbe,
    ctx: &Ctx<'_>,
    stream: &mut Box<dyn Stream>,
    buf: &mut Vec<u8>,
    peer: SocketAddr,
) -> Result<(ResponseHead, usize), Reason> {
    loop {
        match parse_head(buf, probe.max_header_bytes) {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {}
            Err(error) => return Err(HttpFailure::Malformed { addr: peer, error }.into()),
        }
        let n = read_more(
            ctx,
            stream,
            buf,
            "reading the response head",
            peer,
            probe.tls.is_some(),
        )
        .await?;
        if n == 0 {
            return Err(HttpFailure::ClosedBeforeHead {
                addr: peer,
                got: buf.len(),
            }
            .into());
        }
    }
}

async fn read_body(
    probe: &HttpProbe,
    ctx: &Ctx<'_>,
    stream: &mut Box<dyn Stream>,
    mut raw: Vec<u8>,
    framing: BodyFraming,
    peer: SocketAddr,
) -> Result<Vec<u8>, Reason> {
    let limit = probe.max_body_bytes;
    let tls = probe.tls.is_some();
    let too_large = || -> Reason { HttpFailure::BodyTooLarge { addr: peer, limit }.into() };
    let phase = "reading the response body";
    match framing {
        BodyFraming::None => Ok(Vec::new()),
        BodyFraming::Length(len) => {
            if len > limit as u64 {
                return Err(too_large());
            }
            while (raw.len() as u64) < len {
                if read_more(ctx, stream, &mut raw, phase, peer, tls).await? == 0 {
                    return Err(HttpFailure::TruncatedBody {
                        addr: peer,
                        got: raw.len(),
                        expected: len,
                    }
                    .into());
                }
            }
            raw.truncate(usize::try_from(len).unwrap_or(limit));
            Ok(raw)
        }
        BodyFraming::UntilClose => loop {
            if raw.len() > limit {
                return Err(too_large());
            }
            if read_more(ctx, stream, &mut raw, phase, peer, tls).await? == 0 {
                return Ok(raw);
            }
        },
        BodyFraming::Chunked => {
            let mut decoder = ChunkedDecoder::new(limit);
            let mut body = Vec::new();
            loop {
                let used = decoder
                    .feed(&raw, &mut body)
                    .map_err(|error| HttpFailure::Chunked { addr: peer, error })?;
                raw.drain(..used);
                if decoder.is_done() {
                    return Ok(body);
                }
                if read_more(ctx, stream, &mut raw, phase, peer, tls).await? == 0 {
                    return Err(HttpFailure::TruncatedBody {
                        addr: peer,
                        got: body.len(),
                        expected: body.len() as u64 + 1,
                    }
                    .into());
                }
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn judge_body(probe: &HttpProbe, body: &[u8], peer: SocketAddr) -> Result<(), Reason> {
    if let Some(expected) = &probe.expect_body {
        if !contains(body, expected.as_bytes()) {
            return Err(HttpFailure::BodyMismatch {
                addr: peer,
                expected: expected.clone(),
            }
            .into());
        }
    }
    if let Some(re) = &probe.expect_body_regex {
        if !re.is_match(body) {
            return Err(HttpFailure::RegexMismatch {
                addr: peer,
                pattern: re.as_str().to_string(),
            }
            .into());
        }
    }
    if let Some(d) = &probe.digest {
        let got = match d.algorithm {
            DigestAlgorithm::Md5 => hex(&md5::Md5::digest(body)),
            DigestAlgorithm::Sha256 => hex(&sha2::Sha256::digest(body)),
        };
        if got != d.hex {
            return Err(HttpFailure::Digest {
                addr: peer,
                algorithm: d.algorithm,
                got,
                expected: d.hex.clone(),
            }
            .into());
        }
    }
    Ok(())
}
