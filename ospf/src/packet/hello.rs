//! Hello packet (RFC 2328 A.3.2).

use std::net::Ipv4Addr;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::error::DecodeError;

/// ```text
/// |                        Network Mask                           |
/// |         HelloInterval         |    Options    |    Rtr Pri    |
/// |                     RouterDeadInterval                        |
/// |                      Designated Router                        |
/// |                   Backup Designated Router                    |
/// |                          Neighbor                             |  (repeated)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub mask: Ipv4Addr,
    pub hello_interval: u16,
    pub options: u8,
    pub priority: u8,
    pub dead_interval: u32,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub neighbors: Vec<Ipv4Addr>,
}

const FIXED_LEN: usize = 20;

impl Hello {
    pub fn decode(mut buf: &[u8]) -> Result<Self, DecodeError> {
        if buf.len() < FIXED_LEN || !buf.len().is_multiple_of(4) {
            return Err(DecodeError::BadBodyLength {
                what: "hello",
                len: buf.len(),
            });
        }
        let have = buf.len();
        let t = || DecodeError::Truncated {
            what: "hello",
            need: FIXED_LEN,
            have,
        };
        let mask = Ipv4Addr::from(buf.try_get_u32().map_err(|_| t())?);
        let hello_interval = buf.try_get_u16().map_err(|_| t())?;
        let options = buf.try_get_u8().map_err(|_| t())?;
        let priority = buf.try_get_u8().map_err(|_| t())?;
        let dead_interval = buf.try_get_u32().map_err(|_| t())?;
        let dr = Ipv4Addr::from(buf.try_get_u32().map_err(|_| t())?);
        let bdr = Ipv4Addr::from(buf.try_get_u32().map_err(|_| t())?);
        let mut neighbors = Vec::new();
        while let Ok(n) = buf.try_get_u32() {
            neighbors.push(Ipv4Addr::from(n));
        }
        Ok(Hello {
            mask,
            hello_interval,
            options,
            priority,
            dead_interval,
            dr,
            bdr,
            neighbors,
        })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u32(self.mask.into());
        buf.put_u16(self.hello_interval);
        buf.put_u8(self.options);
        buf.put_u8(self.priority);
        buf.put_u32(self.dead_interval);
        buf.put_u32(self.dr.into());
        buf.put_u32(self.bdr.into());
        for n in &self.neighbors {
            buf.put_u32((*n).into());
        }
    }
}
