//! ICMP echo check, IPv4 and IPv6.
//!
//! Unprivileged ping sockets (`SOCK_DGRAM`, `IPPROTO_ICMP[V6]`, allowed by
//! `net.ipv4.ping_group_range`) are tried first; the kernel then fills in the identifier and
//! the checksum and hands back only replies to this socket. Where they are not allowed, a raw
//! socket is used (needs CAP_NET_RAW): it sees every ICMP packet of the host, so replies are
//! matched on source, identifier, sequence and a random token in the payload.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Identifier          |        Sequence Number        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data ...
//! ```
//! (RFC 792 "Echo or Echo Reply Message"; RFC 4443 4.1/4.2 for ICMPv6.)

use std::io;
use std::net::{IpAddr, SocketAddr};

use bytes::Buf;
use socket2::{Protocol, Type};

use super::{sock, Ctx};
use crate::outcome::{IoFailure, Reason};
use crate::spec::IcmpProbe;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const UNREACHABLE_V4: u8 = 3;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const UNREACHABLE_V6: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcmpFailure {
    #[error("cannot open an ICMP socket: ping sockets are not allowed (net.ipv4.ping_group_range) and raw sockets failed: {error}")]
    NoSocket { error: IoFailure },
    #[error("{from} reports {target} unreachable (ICMP type {icmp_type} code {code})")]
    Unreachable {
        from: IpAddr,
        target: IpAddr,
        icmp_type: u8,
        code: u8,
    },
    #[error("no echo reply from {target} within {after:?}; ignored {ignored} packet(s) that were not our reply")]
    NoReply {
        target: IpAddr,
        ignored: u32,
        after: std::time::Duration,
    },
}

/// What a received packet means for the echo in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Our echo reply.
    Reply,
    /// An error about our echo request (destination unreachable).
    Unreachable { icmp_type: u8, code: u8 },
    /// Someone else's packet, or ours with the wrong token: keep waiting.
    NotOurs,
}

/// The echo in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub v6: bool,
    pub id: u16,
    pub seq: u16,
    pub payload: Vec<u8>,
    /// Ping sockets rewrite the identifier; do not compare it then.
    pub check_id: bool,
}

impl Echo {
    /// The echo request (checksum filled for IPv4; the kernel computes it for ICMPv6 and for
    /// ping sockets).
    pub fn encode(&self) -> Vec<u8> {
        let ty = if self.v6 {
            ECHO_REQUEST_V6
        } else {
            ECHO_REQUEST_V4
        };
        let mut p = Vec::with_capacity(8 + self.payload.len());
        p.extend_from_slice(&[ty, 0, 0, 0]);
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.payload);
        if !self.v6 {
            let c = checksum(&p).to_be_bytes();
            if let Some(slot) = p.get_mut(2..4) {
                slot.copy_from_slice(&c);
            }
        }
        p
    }

    /// Classify a received packet. `ip_header` is true for raw IPv4 sockets, which deliver the
    /// IPv4 header too.
    pub fn classify(&self, packet: &[u8], ip_header: bool) -> Received {
        let mut icmp = packet;
        if ip_header {
            match skip_ipv4_header(packet) {
                Some(rest) => icmp = rest,
                None => return Received::NotOurs,
            }
        }
        let mut b = icmp;
        let (Ok(ty), Ok(code), Ok(_sum)) = (b.try_get_u8(), b.try_get_u8(), b.try_get_u16()) else {
            return Received::NotOurs;
        };
        let (reply, unreachable) = if self.v6 {
            (ECHO_REPLY_V6, UNREACHABLE_V6)
        } else {
            (ECHO_REPLY_V4, UNREACHABLE_V4)
        };
        if ty == reply {
            let (Ok(id), Ok(seq)) = (b.try_get_u16(), b.try_get_u16()) else {
                return Received::NotOurs;
            };
            if (self.check_id && id != self.id) || seq != self.seq || b != self.payload.as_slice() {
                return Received::NotOurs;
            }
            return Received::Reply;
        }
        if ty == unreachable {
            // RFC 792 / RFC 4443 3.1: after 4 unused bytes, the offending packet's header and
            // the first 8 bytes of its payload (our echo request).
            let Ok(_unused) = b.try_get_u32() else {
                return Received::NotOurs;
            };
            let inner = if self.v6 {
                b.get(40..)
            } else {
                skip_ipv4_header(b)
            };
            let Some(mut inner) = inner else {
                return Received::NotOurs;
            };
            let request = if self.v6 {
                ECHO_REQUEST_V6
            } else {
                ECHO_REQUEST_V4
            };
            let (Ok(ity), Ok(_), Ok(_), Ok(id), Ok(seq)) = (
                inner.try_get_u8(),
                inner.try_get_u8(),
                inner.try_get_u16(),
                inner.try_get_u16(),
                inner.try_get_u16(),
            ) else {
                return Received::NotOurs;
            };
            if ity == request && (!self.check_id || id == self.id) && seq == self.seq {
                return Received::Unreachable {
                    icmp_type: ty,
                    code,
                };
            }
        }
        Received::NotOurs
    }
}

/// Skip an IPv4 header (IHL words) if `p` starts with a plausible one.
fn skip_ipv4_header(p: &[u8]) -> Option<&[u8]> {
    let first = *p.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 {
        return None;
    }
    p.get(ihl..)
}

/// RFC 1071 Internet checksum.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [hi, lo] = c {
            sum += u32::from(u16::from_be_bytes([*hi, *lo]));
        }
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub async fn check(probe: &IcmpProbe, ctx: &Ctx<'_>) -> Result<(), Reason> {
    let target = ctx.net.connect_ip.unwrap_or(ctx.target.addr);
    let v6 = target.is_ipv6();
    let proto = if v6 {
        Protocol::ICMPV6
    } else {
        Protocol::ICMPV4
    };
    let (socket, ping_socket) = match sock::raw_like(ctx, target, Type::DGRAM, proto) {
        Ok(s) => (s, true),
        Err(e)
            if matches!(e.kind(), io::ErrorKind::PermissionDenied)
                || e.raw_os_error() == Some(libc::EACCES) =>
        {
            let s = sock::raw_like(ctx, target, Type::RAW, proto).map_err(|error| {
                IcmpFailure::NoSocket {
                    error: IoFailure::from(error),
                }
            })?;
            (s, false)
        }
        Err(e) => {
            return Err(Reason::Socket {
                what: "creating an ICMP socket",
                error: IoFailure::from(e),
            })
        }
    };
    let mut payload = vec![0u8; probe.payload_size.max(8)];
    rand::fill(payload.as_mut_slice());
    let echo = Echo {
        v6,
        id: rand::random(),
        seq: rand::random(),
        payload,
        check_id: !ping_socket,
    };
    let peer = SocketAddr::new(target, 0);
    ctx.within("sending the echo request", socket.send(&echo.encode()))
        .await?
        .map_err(|e| Reason::Io {
            op: "send echo request",
            addr: peer,
            error: IoFailure::from(e),
        })?;
    let mut buf = vec![0u8; 2048];
    let mut ignored = 0u32;
    loop {
        let received = tokio::time::timeout_at(ctx.deadline, socket.recv_from(&mut buf)).await;
        let (n, from) = match received {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                return Err(Reason::Io {
                    op: "receive echo reply",
                    addr: peer,
                    error: IoFailure::from(e),
                })
            }
            Err(_) => {
                return Err(IcmpFailure::NoReply {
                    target,
                    ignored,
                    after: ctx.timeout,
                }
                .into())
            }
        };
        let packet = buf.get(..n).unwrap_or_default();
        match judge(
            echo.classify(packet, !ping_socket && !v6),
            from.ip(),
            target,
        ) {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) => return Err(e.into()),
            None => ignored = ignored.saturating_add(1),
        }
    }
}

/// What a classified packet from `from` means for the echo sent to `target`: `Some(Ok)` up,
/// `Some(Err)` down, `None` not an answer (keep waiting, counted as ignored). An echo reply
/// must come from the host pinged, whatever its contents (a copy of our token from another
/// host proves nothing about the target); an unreachable may come from a router on the way.
pub fn judge(received: Received, from: IpAddr, target: IpAddr) -> Option<Result<(), IcmpFailure>> {
    match received {
        Received::Reply if from == target => Some(Ok(())),
        Received::Unreachable { icmp_type, code } => Some(Err(IcmpFailure::Unreachable {
            from,
            target,
            icmp_type,
            code,
        })),
        Received::Reply | Received::NotOurs => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn echo(v6: bool) -> Echo {
        Echo {
            v6,
            id: 0x1234,
            seq: 7,
            payload: b"token-abcdefgh".to_vec(),
            check_id: true,
        }
    }

    fn as_reply(req: &[u8], ty: u8) -> Vec<u8> {
        let mut r = req.to_vec();
        r[0] = ty;
        r
    }

    fn ipv4_header() -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        h.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        h
    }

    #[test]
    fn checksum_of_encoded_request_verifies() {
        let req = echo(false).encode();
        assert_eq!(checksum(&req), 0);
        // RFC 1071 example bytes.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2u16
        );
    }

    #[test]
    fn reply_matches_only_our_echo() {
        for v6 in [false, true] {
            let e = echo(v6);
            let reply_ty = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
            let r = as_reply(&e.encode(), reply_ty);
            assert_eq!(e.classify(&r, false), Received::Reply);
            // Our own request (seen by raw sockets on loopback) is not a reply.
            assert_eq!(e.classify(&e.encode(), false), Received::NotOurs);
            let mut other = r.clone();
            other[7] ^= 1; // sequence
            assert_eq!(e.classify(&other, false), Received::NotOurs);
            let mut other = r.clone();
            other[4] ^= 1; // identifier
            assert_eq!(e.classify(&other, false), Received::NotOurs);
            let mut other = r.clone();
            *other.last_mut().expect("payload") ^= 1; // token
            assert_eq!(e.classify(&other, false), Received::NotOurs);
        }
    }

    #[test]
    fn raw_v4_header_is_skipped() {
        let e = echo(false);
        let mut pkt = ipv4_header();
        pkt.extend(as_reply(&e.encode(), ECHO_REPLY_V4));
        assert_eq!(e.classify(&pkt, true), Received::Reply);
        assert_eq!(e.classify(&pkt[..10], true), Received::NotOurs);
    }

    #[test]
    fn unreachable_about_our_request() {
        let e = echo(false);
        let mut pkt = vec![UNREACHABLE_V4, 1, 0, 0, 0, 0, 0, 0];
        pkt.extend(ipv4_header());
        pkt.extend_from_slice(&e.encode()[..8]);
        assert_eq!(
            e.classify(&pkt, false),
            Received::Unreachable {
                icmp_type: 3,
                code: 1
            }
        );
        let e6 = echo(true);
        let mut pkt = vec![UNREACHABLE_V6, 3, 0, 0, 0, 0, 0, 0];
        pkt.extend(vec![0x60; 40]);
        pkt.extend_from_slice(&e6.encode()[..8]);
        assert_eq!(
            e6.classify(&pkt, false),
            Received::Unreachable {
                icmp_type: 1,
                code: 3
            }
        );
    }

    #[test]
    fn reply_from_the_wrong_host_is_ignored() {
        let target: IpAddr = "10.0.0.2".parse().expect("ip");
        let other: IpAddr = "10.0.0.9".parse().expect("ip");
        let router: IpAddr = "10.0.0.254".parse().expect("ip");
        // A perfect copy of our reply (token included) from another host: not an answer.
        assert_eq!(judge(Received::Reply, other, target), None);
        let mapped: IpAddr = "::ffff:10.0.0.2".parse().expect("ip");
        assert_eq!(judge(Received::Reply, mapped, target), None);
        assert_eq!(judge(Received::Reply, target, target), Some(Ok(())));
        assert_eq!(judge(Received::NotOurs, target, target), None);
        // Unreachable from a router on the path is an answer, and names the router.
        assert_eq!(
            judge(
                Received::Unreachable {
                    icmp_type: 3,
                    code: 1
                },
                router,
                target
            ),
            Some(Err(IcmpFailure::Unreachable {
                from: router,
                target,
                icmp_type: 3,
                code: 1
            }))
        );
        let t6: IpAddr = "fd00::2".parse().expect("ip");
        let o6: IpAddr = "fd00::9".parse().expect("ip");
        assert_eq!(judge(Received::Reply, o6, t6), None);
        assert_eq!(judge(Received::Reply, t6, t6), Some(Ok(())));
    }

    #[test]
    fn mutation_never_panics() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x1c3b);
        for i in 0..20_000 {
            let v6 = i % 2 == 0;
            let e = echo(v6);
            let mut p = as_reply(&e.encode(), if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 });
            for _ in 0..rng.random_range(0..4) {
                if p.is_empty() {
                    break;
                }
                let at = rng.random_range(0..p.len());
                if rng.random_bool(0.5) {
                    p[at] = rng.random();
                } else {
                    p.truncate(at);
                }
            }
            let _ = e.classify(&p, i % 3 == 0);
        }
    }
}
