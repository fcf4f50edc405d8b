//! DNS check: one query, an expected RCODE and optionally an expected answer.
//!
//! UDP first, TCP when the reply is truncated (RFC 1035 4.2.1; RFC 7766 5) or when `dns_tcp`
//! is set. Messages are built and parsed with hickory-proto; the judgement of a reply is a pure
//! function ([`judge_reply`]) so it can be fed arbitrary bytes in tests.

use std::net::SocketAddr;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{sock, Ctx};
use crate::outcome::{IoFailure, Reason};
use crate::spec::DnsProbe;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsFailure {
    #[error("could not build the DNS query: {0}")]
    Encode(String),
    #[error("malformed DNS reply from {addr}: {error}")]
    Malformed { addr: SocketAddr, error: String },
    #[error("DNS reply from {addr} is not a response to a standard query")]
    NotAResponse { addr: SocketAddr },
    #[error("DNS reply from {addr} answers a different question ({got})")]
    QuestionMismatch { addr: SocketAddr, got: String },
    #[error("DNS reply from {addr} has RCODE {got}, expected {expected}")]
    Rcode {
        addr: SocketAddr,
        got: String,
        expected: String,
    },
    #[error("DNS reply from {addr} has no answer {expected:?} (answers: {got:?})")]
    NoAnswer {
        addr: SocketAddr,
        expected: String,
        got: Vec<String>,
    },
    #[error("DNS reply from {addr} over TCP is truncated")]
    TruncatedOverTcp { addr: SocketAddr },
    #[error("no valid DNS reply from {addr} within {after:?}; ignored {ignored} datagram(s) with a wrong id or question")]
    OnlyWrongReplies {
        addr: SocketAddr,
        ignored: u32,
        after: std::time::Duration,
    },
}

/// What to make of one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyVerdict {
    /// The reply answers our query as expected.
    Good,
    /// The reply is for our query but says the target is unhealthy.
    Bad(DnsFailure),
    /// Truncated: ask again over TCP.
    Truncated,
    /// Not for us (wrong id, unparseable, wrong question): keep waiting on UDP.
    Ignore(DnsFailure),
}

/// Build the query message.
pub fn build_query(probe: &DnsProbe, id: u16) -> Result<Vec<u8>, DnsFailure> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = probe.recursion_desired;
    msg.add_query(Query::query(probe.name.clone(), probe.qtype));
    msg.to_vec().map_err(|e| DnsFailure::Encode(e.to_string()))
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Judge a reply to query `id`. Pure: no I/O.
pub fn judge_reply(probe: &DnsProbe, id: u16, bytes: &[u8], addr: SocketAddr) -> ReplyVerdict {
    let msg = match Message::from_vec(bytes) {
        Ok(m) => m,
        Err(e) => {
            return ReplyVerdict::Ignore(DnsFailure::Malformed {
                addr,
                error: e.to_string(),
            })
        }
    };
    // RFC 5452 9.1: match the reply to the query on id, question name, type and class, or
    // discard it (a forged or stale reply must not decide health).
    if msg.metadata.id != id {
        return ReplyVerdict::Ignore(DnsFailure::Malformed {
            addr,
            error: format!("id {} instead of {id}", msg.metadata.id),
        });
    }
    if msg.metadata.message_type != MessageType::Response || msg.metadata.op_code != OpCode::Query {
        return ReplyVerdict::Ignore(DnsFailure::NotAResponse { addr });
    }
    if msg.metadata.truncation {
        return ReplyVerdict::Truncated;
    }
    let question_ok = match msg.queries.as_slice() {
        [q] => {
            q.query_type() == probe.qtype && same_name(&q.name().to_ascii(), &probe.name.to_ascii())
        }
        // RFC 1035 allows servers to omit the question in some error replies; accept only
        // then, when there is nothing to mismatch.
        [] => msg.answers.is_empty(),
        _ => false,
    };
    if !question_ok {
        let got = msg
            .queries
            .iter()
            .map(|q| format!("{} {}", q.name(), q.query_type()))
            .collect::<Vec<_>>()
            .join(", ");
        return ReplyVerdict::Ignore(DnsFailure::QuestionMismatch { addr, got });
    }
    let rcode = msg.metadata.response_code;
    if rcode != probe.expect_rcode {
        return ReplyVerdict::Bad(DnsFailure::Rcode {
            addr,
            got: rcode_name(rcode),
            expected: rcode_name(probe.expect_rcode),
        });
    }
    if let Some(expected) = &probe.expect_answer {
        let got: Vec<String> = msg.answers.iter().map(|r| r.data.to_string()).collect();
        if !got.iter().any(|a| same_name(a, expected)) {
            return ReplyVerdict::Bad(DnsFailure::NoAnswer {
                addr,
                expected: expected.clone(),
                got,
            });
        }
    }
    ReplyVerdict::Good
}

fn rcode_name(r: ResponseCode) -> String {
    format!("{r} ({})", u16::from(r))
}

pub async fn check(probe: &DnsProbe, ctx: &Ctx<'_>) -> Result<(), Reason> {
    let peer = {
        let mut p = ctx.net.peer(ctx.target);
        if ctx.net.connect_port.is_none() && ctx.target.port == 0 {
            p.set_port(53);
        }
        p
    };
    let id: u16 = rand::random();
    let query = build_query(probe, id)?;
    if !probe.tcp_only {
        match udp_exchange(probe, ctx, peer, id, &query).await? {
            UdpEnd::Done(result) => return result,
            UdpEnd::Truncated => {}
        }
    }
    tcp_exchange(probe, ctx, peer, id, &query).await
}

enum UdpEnd {
    Done(Result<(), Reason>),
    Truncated,
}

async fn udp_exchange(
    probe: &DnsProbe,
    ctx: &Ctx<'_>,
    peer: SocketAddr,
    id: u16,
    query: &[u8],
) -> Result<UdpEnd, Reason> {
    let socket = sock::udp_connected(ctx, peer)?;
    let refused = |e: std::io::Error, op| {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            Reason::PortUnreachable { addr: peer }
        } else {
            Reason::Io {
                op,
                addr: peer,
                error: IoFailure::from(e),
            }
        }
    };
    ctx.within("sending the query", socket.send(query))
        .await?
        .map_err(|e| refused(e, "send"))?;
    let mut buf = vec![0u8; 65_536];
    let mut ignored = 0u32;
    loop {
        let n = match tokio::time::timeout_at(ctx.deadline, socket.recv(&mut buf)).await {
            Ok(r) => r.map_err(|e| refused(e, "receive"))?,
            Err(_) if ignored > 0 => {
                return Err(DnsFailure::OnlyWrongReplies {
                    addr: peer,
                    ignored,
                    after: ctx.timeout,
                }
                .into())
            }
            Err(_) => {
                return Err(Reason::Timeout {
                    phase: "waiting for the DNS reply",
                    after: ctx.timeout,
                })
            }
        };
        match judge_reply(probe, id, buf.get(..n).unwrap_or_default(), peer) {
            ReplyVerdict::Good => return Ok(UdpEnd::Done(Ok(()))),
            ReplyVerdict::Bad(f) => return Ok(UdpEnd::Done(Err(f.into()))),
            ReplyVerdict::Truncated => return Ok(UdpEnd::Truncated),
            ReplyVerdict::Ignore(why) => {
                tracing::debug!(%why, "ignoring DNS datagram");
                ignored = ignored.saturating_add(1);
            }
        }
    }
}

/// RFC 1035 4.2.2: over TCP every message is prefixed with a two-byte length.
async fn tcp_exchange(
    probe: &DnsProbe,
    ctx: &Ctx<'_>,
    peer: SocketAddr,
    id: u16,
    query: &[u8],
) -> Result<(), Reason> {
    let mut stream = sock::tcp_connect(ctx, peer, true).await?;
    let len = u16::try_from(query.len())
        .map_err(|_| DnsFailure::Encode("query longer than 65535 bytes".to_string()))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    let io = |op| {
        move |e: std::io::Error| Reason::Io {
            op,
            addr: peer,
            error: IoFailure::from(e),
        }
    };
    ctx.within("sending the query over TCP", stream.write_all(&framed))
        .await?
        .map_err(io("send"))?;
    let mut len = [0u8; 2];
    ctx.within("reading the TCP DNS reply", stream.read_exact(&mut len))
        .await?
        .map_err(io("read"))?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    ctx.within("reading the TCP DNS reply", stream.read_exact(&mut reply))
        .await?
        .map_err(io("read"))?;
    // Over TCP there is no stream of stray datagrams: a reply that is not ours is a failure.
    match judge_reply(probe, id, &reply, peer) {
        ReplyVerdict::Good => Ok(()),
        ReplyVerdict::Bad(f) | ReplyVerdict::Ignore(f) => Err(f.into()),
        ReplyVerdict::Truncated => Err(DnsFailure::TruncatedOverTcp { addr: peer }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{Name, RData, Record, RecordType};
    use rand::{Rng, SeedableRng};

    fn probe() -> DnsProbe {
        DnsProbe {
            name: Name::from_ascii("svc.test.").expect("name"),
            qtype: RecordType::A,
            expect_rcode: ResponseCode::NoError,
            expect_answer: Some("192.0.2.7".to_string()),
            recursion_desired: false,
            tcp_only: false,
        }
    }

    fn addr() -> SocketAddr {
        "127.0.0.1:53".parse().expect("addr")
    }

    fn reply(id: u16, rcode: ResponseCode, answer: Option<&str>, tc: bool) -> Vec<u8> {
        let p = probe();
        let mut m = Message::response(id, OpCode::Query);
        m.metadata.response_code = rcode;
        m.metadata.truncation = tc;
        m.add_query(Query::query(p.name.clone(), RecordType::A));
        if let Some(a) = answer {
            m.answers.push(Record::from_rdata(
                p.name.clone(),
                60,
                RData::A(a.parse().expect("ip")),
            ));
        }
        m.to_vec().expect("encode")
    }

    #[test]
    fn good_reply() {
        let r = reply(7, ResponseCode::NoError, Some("192.0.2.7"), false);
        assert_eq!(judge_reply(&probe(), 7, &r, addr()), ReplyVerdict::Good);
    }

    #[test]
    fn wrong_id_is_ignored() {
        let r = reply(8, ResponseCode::NoError, Some("192.0.2.7"), false);
        assert!(matches!(
            judge_reply(&probe(), 7, &r, addr()),
            ReplyVerdict::Ignore(_)
        ));
    }

    #[test]
    fn rcode_and_answer_mismatch_are_bad() {
        let r = reply(7, ResponseCode::ServFail, None, false);
        match judge_reply(&probe(), 7, &r, addr()) {
            ReplyVerdict::Bad(DnsFailure::Rcode { got, .. }) => {
                assert!(got.contains("Server Failure") || got.contains("2"), "{got}")
            }
            v => panic!("{v:?}"),
        }
        let r = reply(7, ResponseCode::NoError, Some("192.0.2.8"), false);
        assert!(matches!(
            judge_reply(&probe(), 7, &r, addr()),
            ReplyVerdict::Bad(DnsFailure::NoAnswer { .. })
        ));
    }

    #[test]
    fn truncated_asks_for_tcp() {
        let r = reply(7, ResponseCode::NoError, None, true);
        assert_eq!(
            judge_reply(&probe(), 7, &r, addr()),
            ReplyVerdict::Truncated
        );
    }

    #[test]
    fn query_echoed_back_is_not_a_response() {
        let q = build_query(&probe(), 7).expect("query");
        assert!(matches!(
            judge_reply(&probe(), 7, &q, addr()),
            ReplyVerdict::Ignore(DnsFailure::NotAResponse { .. })
        ));
    }

    #[test]
    fn malformed_inputs() {
        let cases: &[&[u8]] = &[
            b"",
            b"\x00",
            b"\x00\x07\x80",
            &[0, 7, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0], // claims a question, has none
            &[0, 7, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c], // pointer loop
            &[0xff; 512],
        ];
        for c in cases {
            assert!(
                matches!(judge_reply(&probe(), 7, c, addr()), ReplyVerdict::Ignore(_)),
                "{c:?}"
            );
        }
    }

    /// Fixed-seed mutation test: valid replies with random byte flips, truncations and
    /// insertions, plus random garbage; the judge must never panic.
    #[test]
    fn mutation_never_panics() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_d115);
        let seeds = [
            reply(7, ResponseCode::NoError, Some("192.0.2.7"), false),
            reply(7, ResponseCode::NXDomain, None, false),
            reply(7, ResponseCode::NoError, None, true),
        ];
        let mut verdicts = [0usize; 4];
        for i in 0..20_000 {
            let mut m = seeds[i % seeds.len()].clone();
            if i % 10 == 9 {
                let len = rng.random_range(0..600);
                m = (0..len).map(|_| rng.random()).collect();
            } else {
                for _ in 0..rng.random_range(1..6) {
                    match rng.random_range(0..3) {
                        0 if !m.is_empty() => {
                            let at = rng.random_range(0..m.len());
                            m[at] = rng.random();
                        }
                        1 if !m.is_empty() => {
                            let at = rng.random_range(0..m.len());
                            m.truncate(at);
                        }
                        _ => {
                            let at = rng.random_range(0..=m.len());
                            m.insert(at, rng.random());
                        }
                    }
                }
            }
            let v = judge_reply(&probe(), 7, &m, addr());
            verdicts[match v {
                ReplyVerdict::Good => 0,
                ReplyVerdict::Bad(_) => 1,
                ReplyVerdict::Truncated => 2,
                ReplyVerdict::Ignore(_) => 3,
            }] += 1;
        }
        // The mutations must exercise more than the "garbage" path.
        assert!(
            verdicts[3] > 0 && verdicts[0] + verdicts[1] + verdicts[2] > 0,
            "{verdicts:?}"
        );
    }
}
