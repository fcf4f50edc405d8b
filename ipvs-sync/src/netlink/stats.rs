//! IPVS_STATS_ATTR_*: counters nested in SVC_ATTR_STATS(64) and DEST_ATTR_STATS(64).
//!
//! Mainline sends CONNS/INPKTS/OUTPKTS and the rates as u32 inside STATS and everything as u64
//! inside STATS64; the FULLNAT kernels send CONNS/INPKTS/OUTPKTS as u64 inside STATS. So the width
//! of a counter is taken from its length (4 or 8) in every dialect, and kept for re-emission.

use netlink_packet_core::{DefaultNla, Nla};

use super::nla::{get_u32, get_u64, RawNla};
use super::WireError;
use crate::model::Stats;

pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;
pub const IPVS_STATS_ATTR_PAD: u16 = 11;

/// A counter of either width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    U32(u32),
    U64(u64),
}

impl Counter {
    pub fn value(self) -> u64 {
        match self {
            Counter::U32(v) => u64::from(v),
            Counter::U64(v) => v,
        }
    }

    fn len(self) -> usize {
        match self {
            Counter::U32(_) => 4,
            Counter::U64(_) => 8,
        }
    }

    fn emit(self, buf: &mut [u8]) {
        match self {
            Counter::U32(v) => super::nla::put(buf, &v.to_ne_bytes()),
            Counter::U64(v) => super::nla::put(buf, &v.to_ne_bytes()),
        }
    }

    fn parse(value: &[u8], attr: &'static str) -> Result<Counter, WireError> {
        if value.len() == 8 {
            get_u64(value, attr).map(Counter::U64)
        } else {
            get_u32(value, attr).map(Counter::U32)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsAttr {
    Conns(Counter),
    Inpkts(Counter),
    Outpkts(Counter),
    Inbytes(Counter),
    Outbytes(Counter),
    Cps(Counter),
    Inpps(Counter),
    Outpps(Counter),
    Inbps(Counter),
    Outbps(Counter),
    /// IPVS_STATS_ATTR_PAD and anything newer, kept raw.
    Other(DefaultNla),
}

impl StatsAttr {
    fn counter(&self) -> Option<(u16, Counter)> {
        use StatsAttr::*;
        Some(match self {
            Conns(c) => (IPVS_STATS_ATTR_CONNS, *c),
            Inpkts(c) => (IPVS_STATS_ATTR_INPKTS, *c),
            Outpkts(c) => (IPVS_STATS_ATTR_OUTPKTS, *c),
            Inbytes(c) => (IPVS_STATS_ATTR_INBYTES, *c),
            Outbytes(c) => (IPVS_STATS_ATTR_OUTBYTES, *c),
            Cps(c) => (IPVS_STATS_ATTR_CPS, *c),
            Inpps(c) => (IPVS_STATS_ATTR_INPPS, *c),
            Outpps(c) => (IPVS_STATS_ATTR_OUTPPS, *c),
            Inbps(c) => (IPVS_STATS_ATTR_INBPS, *c),
            Outbps(c) => (IPVS_STATS_ATTR_OUTBPS, *c),
            Other(_) => return None,
        })
    }

    pub(crate) fn parse(nla: RawNla<'_>) -> Result<StatsAttr, WireError> {
        use StatsAttr::*;
        if nla.flags() != 0 {
            return Ok(Other(nla.to_default()));
        }
        let v = nla.value;
        Ok(match nla.kind() {
            IPVS_STATS_ATTR_CONNS => Conns(Counter::parse(v, "IPVS_STATS_ATTR_CONNS")?),
            IPVS_STATS_ATTR_INPKTS => Inpkts(Counter::parse(v, "IPVS_STATS_ATTR_INPKTS")?),
            IPVS_STATS_ATTR_OUTPKTS => Outpkts(Counter::parse(v, "IPVS_STATS_ATTR_OUTPKTS")?),
            IPVS_STATS_ATTR_INBYTES => Inbytes(Counter::parse(v, "IPVS_STATS_ATTR_INBYTES")?),
            IPVS_STATS_ATTR_OUTBYTES => Outbytes(Counter::parse(v, "IPVS_STATS_ATTR_OUTBYTES")?),
            IPVS_STATS_ATTR_CPS => Cps(Counter::parse(v, "IPVS_STATS_ATTR_CPS")?),
            IPVS_STATS_ATTR_INPPS => Inpps(Counter::parse(v, "IPVS_STATS_ATTR_INPPS")?),
            IPVS_STATS_ATTR_OUTPPS => Outpps(Counter::parse(v, "IPVS_STATS_ATTR_OUTPPS")?),
            IPVS_STATS_ATTR_INBPS => Inbps(Counter::parse(v, "IPVS_STATS_ATTR_INBPS")?),
            IPVS_STATS_ATTR_OUTBPS => Outbps(Counter::parse(v, "IPVS_STATS_ATTR_OUTBPS")?),
            _ => Other(nla.to_default()),
        })
    }
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match self {
            StatsAttr::Other(o) => o.value_len(),
            a => a.counter().map_or(0, |(_, c)| c.len()),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            StatsAttr::Other(o) => o.kind(),
            a => a.counter().map_or(0, |(k, _)| k),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            StatsAttr::Other(o) => o.emit_value(buf),
            a => {
                if let Some((_, c)) = a.counter() {
                    c.emit(buf)
                }
            }
        }
    }
}

/// Fold a list of counters into the model.
pub fn to_stats<'a>(attrs: impl IntoIterator<Item = &'a StatsAttr>) -> Stats {
    let mut s = Stats::default();
    for a in attrs {
        use StatsAttr::*;
        match a {
            Conns(c) => s.conns = c.value(),
            Inpkts(c) => s.inpkts = c.value(),
            Outpkts(c) => s.outpkts = c.value(),
            Inbytes(c) => s.inbytes = c.value(),
            Outbytes(c) => s.outbytes = c.value(),
            Cps(c) => s.cps = c.value(),
            Inpps(c) => s.inpps = c.value(),
            Outpps(c) => s.outpps = c.value(),
            Inbps(c) => s.inbps = c.value(),
            Outbps(c) => s.outbps = c.value(),
            Other(_) => {}
        }
    }
    s
}
