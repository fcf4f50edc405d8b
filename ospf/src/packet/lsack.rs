//! Link State Acknowledgment packet (RFC 2328 A.3.6).

use bytes::BytesMut;
use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::lsa::{LsaHeader, LSA_HEADER_LEN};

/// ```text
/// |                         An LSA Header                         |  (repeated)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsAck {
    pub headers: Vec<LsaHeader>,
}

impl LsAck {
    pub fn decode(mut buf: &[u8]) -> Result<Self, DecodeError> {
        if !buf.len().is_multiple_of(LSA_HEADER_LEN) {
            return Err(DecodeError::BadBodyLength {
                what: "link state ack",
                len: buf.len(),
            });
        }
        let mut headers = Vec::new();
        while !buf.is_empty() {
            headers.push(LsaHeader::decode(&mut buf)?);
        }
        Ok(LsAck { headers })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        for h in &self.headers {
            h.encode(buf);
        }
    }
}
