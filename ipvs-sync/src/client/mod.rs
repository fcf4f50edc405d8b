//! The async IPVS client: owns a [`Transport`], resolves the family, decides the dialect, and
//! turns model objects into requests.
//!
//! ```text
//!  caller ──► IpvsClient ──encode──► Transport::send ──► kernel (or a test's fake)
//!                 ▲                                         │
//!                 └──decode (with Dialect)◄── Transport::recv ◄┘
//! ```
//!
//! Writes are pipelined: up to `window` requests are in flight, each with NLM_F_ACK, and the
//! acks are matched to requests by sequence number in order. Deleting something that is already
//! gone (ESRCH / ENOENT) counts as done.

use std::collections::VecDeque;
use std::time::Duration;

use netlink_packet_core::{NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

use crate::error::IpvsError;
use crate::netlink::frame::{self, IpvsNetlinkMessage};
use crate::netlink::{Dialect, IpvsMessage};
use crate::transport::Transport;

mod family;
mod reads;
mod sync_daemon;
mod writes;

use family::resolve_family;

/// How long to wait for the kernel's next reply before giving up on a request.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// GENL_ID_CTRL: the controller family.
const GENL_ID_CTRL: u16 = 16;

/// What the family query told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyInfo {
    pub family_id: u16,
    pub version: u32,
    pub maxattr: u32,
    /// CTRL_ATTR_OPS op ids, sorted.
    pub ops: Vec<u32>,
}

/// One request of a batch: the message, what it is about (for errors), and whether a
/// "not found" answer means done.
#[derive(Debug, Clone)]
pub struct Request {
    pub msg: IpvsMessage,
    pub op: &'static str,
    pub object: String,
    pub missing_ok: bool,
}

pub struct IpvsClient<T: Transport> {
    transport: T,
    family: FamilyInfo,
    dialect: Dialect,
    seq: u32,
    window: usize,
    reply_timeout: Duration,
}

impl<T: Transport> IpvsClient<T> {
    /// Resolve "IPVS" and decide the dialect.
    pub async fn connect(mut transport: T) -> Result<IpvsClient<T>, IpvsError> {
        let family = resolve_family(&mut transport).await?;
        let release = transport.kernel_release();
        let dialect = Dialect::detect(&family.ops, release.as_deref());
        tracing::debug!(family_id = family.family_id, %dialect, "IPVS family resolved");
        Ok(IpvsClient {
            transport,
            family,
            dialect,
            seq: 1,
            window: 256,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        })
    }

    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    pub fn family(&self) -> &FamilyInfo {
        &self.family
    }

    /// How many requests may be in flight (default 256).
    pub fn set_window(&mut self, window: usize) {
        self.window = window.max(1);
    }

    /// How long to wait for each reply datagram (default 30 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = timeout;
    }

    /// Receive one datagram, bounded in time. Needs a tokio runtime with the time driver.
    async fn recv(&mut self, op: &'static str) -> Result<Vec<u8>, IpvsError> {
        match tokio::time::timeout(self.reply_timeout, self.transport.recv()).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(IpvsError::Protocol {
                op,
                detail: format!("no reply from the kernel within {:?}", self.reply_timeout),
            }),
        }
    }

    pub fn into_transport(self) -> T {
        self.transport
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Send a dump (or a single GET) and collect every IPVS message of the reply.
    pub async fn query(
        &mut self,
        msg: IpvsMessage,
        dump: bool,
        op: &'static str,
        object: String,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        let seq = self.next_seq();
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let req = frame::request(msg, self.family.family_id, flags, seq);
        self.transport.send(&frame::encode(&req)).await?;
        let mut out = Vec::new();
        loop {
            let datagram = self.recv(op).await?;
            let msgs = frame::decode(&datagram, self.family.family_id, &self.dialect)
                .map_err(|source| IpvsError::Wire { op, source })?;
            for m in msgs {
                if m.header.sequence_number != seq {
                    tracing::debug!(
                        seq = m.header.sequence_number,
                        "stale netlink reply ignored"
                    );
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(g) => out.push(g.payload),
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(code) => Err(IpvsError::from_errno(op, object, -code.get())),
                        }
                    }
                    NetlinkPayload::Noop => {}
                    NetlinkPayload::Overrun(_) => {
                        return Err(IpvsError::Protocol {
                            op,
                            detail: "netlink overrun".into(),
                        })
                    }
                    other => {
                        return Err(IpvsError::Protocol {
                            op,
                            detail: format!("unexpected message type {}", other.message_type()),
                        })
                    }
                }
            }
        }
    }

    /// Send `requests` pipelined and return one result per request, in order.
    pub async fn execute(&mut self, requests: Vec<Request>) -> Vec<Result<(), IpvsError>> {
        let total = requests.len();
        let mut results: Vec<Option<Result<(), IpvsError>>> = (0..total).map(|_| None).collect();
        let mut pending = requests.into_iter().enumerate();
        // (seq, index, request) in send order.
        let mut inflight: VecDeque<(u32, usize, Request)> = VecDeque::new();
        let mut done = 0;
        let mut fatal: Option<String> = None;
        while done < total {
            if fatal.is_none() && inflight.len() < self.window {
                let mut buf = Vec::new();
                while inflight.len() < self.window && buf.len() < 48 * 1024 {
                    let Some((i, r)) = pending.next() else { break };
                    let seq = self.next_seq();
                    let nl = frame::request(
                        r.msg.clone(),
                        self.family.family_id,
                        NLM_F_REQUEST | NLM_F_ACK,
                        seq,
                    );
                    frame::encode_into(&nl, &mut buf);
                    inflight.push_back((seq, i, r));
                }
                if !buf.is_empty() {
                    if let Err(e) = self.transport.send(&buf).await {
                        fatal = Some(e.to_string());
                    }
                }
            }
            if fatal.is_some() {
                break;
            }
            if inflight.is_empty() {
                continue;
            }
            let datagram = match self.recv("batch").await {
                Ok(d) => d,
                Err(e) => {
                    fatal = Some(e.to_string());
                    break;
                }
            };
            let msgs = match frame::decode(&datagram, self.family.family_id, &self.dialect) {
                Ok(m) => m,
                Err(e) => {
                    fatal = Some(format!("malformed reply: {e}"));
                    break;
                }
            };
            for m in msgs {
                let NetlinkPayload::Error(e) = m.payload else {
                    continue;
                };
                let seq = m.header.sequence_number;
                let Some(pos) = inflight.iter().position(|(s, _, _)| *s == seq) else {
                    tracing::debug!(seq, "ack for no request in flight ignored");
                    continue;
                };
                // Acks come in order; a skipped one would mean a lost ack.
                if pos != 0 {
                    tracing::warn!(seq, pos, "netlink ack out of order");
                }
                let Some((_, idx, req)) = inflight.remove(pos) else {
                    continue;
                };
                let res = match e.code {
                    None => Ok(()),
                    Some(code) => {
                        let errno = -code.get();
                        if req.missing_ok && (errno == libc::ESRCH || errno == libc::ENOENT) {
                            Ok(())
                        } else {
                            Err(IpvsError::from_errno(req.op, req.object, errno))
                        }
                    }
                };
                if let Some(slot) = results.get_mut(idx) {
                    *slot = Some(res);
                }
                done += 1;
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(IpvsError::Protocol {
                        op: "batch",
                        detail: fatal
                            .clone()
                            .unwrap_or_else(|| "no acknowledgement".to_string()),
                    })
                })
            })
            .collect()
    }

    async fn one(&mut self, req: Request) -> Result<(), IpvsError> {
        self.execute(vec![req])
            .await
            .into_iter()
            .next()
            .unwrap_or(Err(IpvsError::Protocol {
                op: "request",
                detail: "no result".into(),
            }))
    }
}

/// Convenience: a client on a real netlink socket in the current network namespace.
pub async fn connect() -> Result<IpvsClient<crate::transport::NetlinkTransport>, IpvsError> {
    IpvsClient::connect(crate::transport::NetlinkTransport::open()?).await
}

/// For tests and tools: the request bytes the client sends for a message.
pub fn encode_request(msg: IpvsMessage, family_id: u16, flags: u16, seq: u32) -> Vec<u8> {
    frame::encode(&frame::request(msg, family_id, flags, seq))
}

/// For tests and tools: decode what a kernel would answer.
pub fn decode_reply(
    buf: &[u8],
    family_id: u16,
    dialect: &Dialect,
) -> Result<Vec<IpvsNetlinkMessage>, crate::netlink::WireError> {
    frame::decode(buf, family_id, dialect)
}
