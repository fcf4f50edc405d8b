//! A recording fake kernel and raw byte builders that do not use the crate's encoder.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io;

use vgw_ipvs::Transport;

pub const FAMILY: u16 = 0x1c;

pub fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One attribute, padded.
pub fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((value.len() + 4) as u16).to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(value);
    v.resize(align4(v.len()), 0);
    v
}

pub fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

pub fn u16v(x: u16) -> Vec<u8> {
    x.to_ne_bytes().to_vec()
}
pub fn u32v(x: u32) -> Vec<u8> {
    x.to_ne_bytes().to_vec()
}
pub fn u64v(x: u64) -> Vec<u8> {
    x.to_ne_bytes().to_vec()
}
pub fn be16v(x: u16) -> Vec<u8> {
    x.to_be_bytes().to_vec()
}
pub fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}
pub fn addr4(a: [u8; 4]) -> Vec<u8> {
    let mut v = a.to_vec();
    v.resize(16, 0);
    v
}

/// A netlink message with `payload` after the header.
pub fn nlmsg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((payload.len() + 16) as u32).to_ne_bytes());
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(payload);
    v.resize(align4(v.len()), 0);
    v
}

/// A generic-netlink message of the IPVS family.
pub fn genl(cmd: u8, flags: u16, seq: u32, attrs: &[u8]) -> Vec<u8> {
    let mut p = vec![cmd, 1, 0, 0];
    p.extend_from_slice(attrs);
    nlmsg(FAMILY, flags, seq, &p)
}

/// NLMSG_ERROR answering `request` with `errno` (0 = ack); like the kernel, an ack echoes only
/// the header and an error echoes the whole request.
pub fn ack(request: &[u8], seq: u32, errno: i32) -> Vec<u8> {
    let mut p = (-errno).to_ne_bytes().to_vec();
    if errno == 0 {
        p.extend_from_slice(request.get(..16).unwrap_or(request));
    } else {
        p.extend_from_slice(request);
    }
    nlmsg(2, 0, seq, &p)
}

pub fn done(seq: u32) -> Vec<u8> {
    nlmsg(3, 2, seq, &0i32.to_ne_bytes())
}

/// CTRL_CMD_NEWFAMILY for "IPVS" with these op ids and max attribute.
pub fn family_reply(seq: u32, ops: &[u32], maxattr: u32) -> Vec<u8> {
    let mut op_list = Vec::new();
    for (i, id) in ops.iter().enumerate() {
        let inner = cat(&[nla(1, &u32v(*id)), nla(2, &u32v(0x0b))]);
        op_list.extend(nla((i + 1) as u16, &inner));
    }
    let attrs = cat(&[
        nla(2, &cstr("IPVS")),
        nla(1, &u16v(FAMILY)),
        nla(3, &u32v(1)),
        nla(4, &u32v(0)),
        nla(5, &u32v(maxattr)),
        nla(6, &op_list),
    ]);
    let mut p = vec![1u8, 2, 0, 0];
    p.extend(attrs);
    nlmsg(16, 0, seq, &p)
}

/// The family request the client sends first (seq 1).
pub fn family_request() -> Vec<u8> {
    let attrs = nla(2, &cstr("IPVS"));
    let mut p = vec![3u8, 2, 0, 0];
    p.extend(attrs);
    nlmsg(16, 0x5, 1, &p)
}

/// One expected request and the datagrams the fake answers with.
pub struct Step {
    pub request: Vec<u8>,
    pub replies: Vec<Vec<u8>>,
}

/// A kernel that knows exactly which requests come, in which order, and answers each with
/// canned datagrams. Anything else fails the test with both byte strings shown.
pub struct ScriptedKernel {
    steps: VecDeque<Step>,
    queue: VecDeque<Vec<u8>>,
    pub seen: Vec<Vec<u8>>,
    release: Option<String>,
    /// When nothing is queued: wait forever (a kernel that never answers) instead of failing.
    pub hang_when_empty: bool,
}

impl ScriptedKernel {
    pub fn new(steps: Vec<Step>, release: Option<&str>) -> ScriptedKernel {
        ScriptedKernel {
            steps: steps.into(),
            queue: VecDeque::new(),
            seen: Vec::new(),
            release: release.map(str::to_string),
            hang_when_empty: false,
        }
    }

    pub fn remaining(&self) -> usize {
        self.steps.len()
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Transport for ScriptedKernel {
    async fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        let mut rest = datagram;
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let one = &rest[..len];
            self.seen.push(one.to_vec());
            let step = self
                .steps
                .pop_front()
                .unwrap_or_else(|| panic!("unexpected request {}", hex(one)));
            assert_eq!(
                hex(one),
                hex(&step.request),
                "request #{} differs (left: sent, right: expected)",
                self.seen.len()
            );
            self.queue.extend(step.replies);
            rest = &rest[align4(len).min(rest.len())..];
        }
        assert!(rest.is_empty(), "trailing bytes in a datagram");
        Ok(())
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        if self.queue.is_empty() && self.hang_when_empty {
            std::future::pending::<()>().await;
        }
        self.queue
            .pop_front()
            .ok_or_else(|| io::Error::new(io::ErrorKind::WouldBlock, "fake kernel: nothing queued"))
    }

    fn kernel_release(&self) -> Option<String> {
        self.release.clone()
    }
}
