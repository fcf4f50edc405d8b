//! Link State Update packet (RFC 2328 A.3.5).

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::lsa::Lsa;

/// ```text
/// |                            # LSAs                             |
/// |                            LSAs ...                           |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsUpdate {
    pub lsas: Vec<Lsa>,
}

impl LsUpdate {
    pub fn decode(mut buf: &[u8]) -> Result<Self, DecodeError> {
        let have = buf.len();
        let declared = buf.try_get_u32().map_err(|_| DecodeError::Truncated {
            what: "link state update",
            need: 4,
            have,
        })?;
        let mut lsas = Vec::new();
        while !buf.is_empty() {
            lsas.push(Lsa::decode(&mut buf)?);
        }
        // A.3.5: "# LSAs: The number of LSAs included in this update."
        if lsas.len() as u64 != u64::from(declared) {
            return Err(DecodeError::BadLsaCount {
                declared,
                found: lsas.len() as u32,
            });
        }
        Ok(LsUpdate { lsas })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u32(self.lsas.len() as u32);
        for l in &self.lsas {
            l.encode(buf);
        }
    }
}
