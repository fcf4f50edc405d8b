//! ROUTE-REFRESH (RFC 2918 3, with the message subtype of RFC 7313 3).

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::error::{header_sub, DecodeError};
use super::prefix::Family;

/// ```text
///  0       7      15      23      31
/// +-------+-------+-------+-------+
/// |      AFI      | Subtype| SAFI |
/// +-------+-------+-------+-------+
/// ```
/// Subtype (RFC 7313): 0 normal request, 1 BoRR, 2 EoRR (reserved octet in RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRefresh {
    pub family: Family,
    #[serde(default)]
    pub subtype: u8,
}

impl RouteRefresh {
    pub(crate) fn decode_body(mut body: &[u8]) -> Result<Self, DecodeError> {
        // The header check already pinned the length at 23; this cannot fail, but a short read
        // is still answered with Bad Message Length rather than a panic.
        let bad = || {
            DecodeError::header(
                header_sub::BAD_MESSAGE_LENGTH,
                Vec::new(),
                "ROUTE-REFRESH is not 23 octets",
            )
        };
        let afi = body.try_get_u16().map_err(|_| bad())?;
        let subtype = body.try_get_u8().map_err(|_| bad())?;
        let safi = body.try_get_u8().map_err(|_| bad())?;
        Ok(RouteRefresh {
            family: Family { afi, safi },
            subtype,
        })
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u16(self.family.afi);
        buf.put_u8(self.subtype);
        buf.put_u8(self.family.safi);
    }
}
