//! Link State Request packet (RFC 2328 A.3.4).

use std::net::Ipv4Addr;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::lsa::LsaKey;

/// ```text
/// |                          LS type                              |
/// |                       Link State ID                           |
/// |                     Advertising Router                        |  (repeated)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsRequest {
    pub entries: Vec<LsaKey>,
}

const ENTRY_LEN: usize = 12;

impl LsRequest {
    pub fn decode(mut buf: &[u8]) -> Result<Self, DecodeError> {
        if !buf.len().is_multiple_of(ENTRY_LEN) {
            return Err(DecodeError::BadBodyLength {
                what: "link state request",
                len: buf.len(),
            });
        }
        let mut entries = Vec::new();
        while let (Ok(t), Ok(id), Ok(adv)) =
            (buf.try_get_u32(), buf.try_get_u32(), buf.try_get_u32())
        {
            entries.push(LsaKey {
                // Types above 255 cannot name an LSA; they fail the database lookup as type 0.
                ls_type: u8::try_from(t).unwrap_or(0),
                ls_id: Ipv4Addr::from(id),
                adv_rtr: Ipv4Addr::from(adv),
            });
        }
        Ok(LsRequest { entries })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        for e in &self.entries {
            buf.put_u32(u32::from(e.ls_type));
            buf.put_u32(e.ls_id.into());
            buf.put_u32(e.adv_rtr.into());
        }
    }
}
