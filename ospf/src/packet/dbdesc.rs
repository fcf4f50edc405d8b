//! Database Description packet (RFC 2328 A.3.3).

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::lsa::{LsaHeader, LSA_HEADER_LEN};

pub const DD_FLAG_MS: u8 = 0x01;
pub const DD_FLAG_M: u8 = 0x02;
pub const DD_FLAG_I: u8 = 0x04;

/// ```text
/// |         Interface MTU         |    Options    |0|0|0|0|0|I|M|MS
/// |                     DD sequence number                        |
/// |                      an LSA Header                            |  (repeated)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbDesc {
    pub mtu: u16,
    pub options: u8,
    pub flags: u8,
    pub seq: u32,
    pub headers: Vec<LsaHeader>,
}

const FIXED_LEN: usize = 8;

impl DbDesc {
    pub fn decode(mut buf: &[u8]) -> Result<Self, DecodeError> {
        if buf.len() < FIXED_LEN || !(buf.len() - FIXED_LEN).is_multiple_of(LSA_HEADER_LEN) {
            return Err(DecodeError::BadBodyLength {
                what: "database description",
                len: buf.len(),
            });
        }
        let have = buf.len();
        let t = || DecodeError::Truncated {
            what: "database description",
            need: FIXED_LEN,
            have,
        };
        let mtu = buf.try_get_u16().map_err(|_| t())?;
        let options = buf.try_get_u8().map_err(|_| t())?;
        let flags = buf.try_get_u8().map_err(|_| t())?;
        let seq = buf.try_get_u32().map_err(|_| t())?;
        let mut headers = Vec::new();
        while !buf.is_empty() {
            headers.push(LsaHeader::decode(&mut buf)?);
        }
        Ok(DbDesc {
            mtu,
            options,
            flags,
            seq,
            headers,
        })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u16(self.mtu);
        buf.put_u8(self.options);
        buf.put_u8(self.flags);
        buf.put_u32(self.seq);
        for h in &self.headers {
            h.encode(buf);
        }
    }

    pub fn is_init(&self) -> bool {
        self.flags & DD_FLAG_I != 0
    }
    pub fn is_more(&self) -> bool {
        self.flags & DD_FLAG_M != 0
    }
    pub fn is_master(&self) -> bool {
        self.flags & DD_FLAG_MS != 0
    }
}
