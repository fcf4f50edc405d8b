//! IPVS_INFO_ATTR_*: the top-level attributes of the reply to GET_INFO (sent as SET_INFO).
//! They share numbers 1 and 2 with IPVS_CMD_ATTR_SERVICE/DEST, so the command decides.

use netlink_packet_core::{DefaultNla, Nla};

use super::nla::{get_u32, put, RawNla};
use super::WireError;

pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InfoAttr {
    Version(u32),
    ConnTabSize(u32),
    Other(DefaultNla),
}

impl InfoAttr {
    pub(crate) fn parse(nla: RawNla<'_>) -> Result<InfoAttr, WireError> {
        if nla.flags() != 0 {
            return Ok(InfoAttr::Other(nla.to_default()));
        }
        Ok(match nla.kind() {
            IPVS_INFO_ATTR_VERSION => {
                InfoAttr::Version(get_u32(nla.value, "IPVS_INFO_ATTR_VERSION")?)
            }
            IPVS_INFO_ATTR_CONN_TAB_SIZE => {
                InfoAttr::ConnTabSize(get_u32(nla.value, "IPVS_INFO_ATTR_CONN_TAB_SIZE")?)
            }
            _ => InfoAttr::Other(nla.to_default()),
        })
    }
}

impl Nla for InfoAttr {
    fn value_len(&self) -> usize {
        match self {
            InfoAttr::Version(_) | InfoAttr::ConnTabSize(_) => 4,
            InfoAttr::Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            InfoAttr::Version(_) => IPVS_INFO_ATTR_VERSION,
            InfoAttr::ConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            InfoAttr::Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            InfoAttr::Version(v) | InfoAttr::ConnTabSize(v) => put(buf, &v.to_ne_bytes()),
            InfoAttr::Other(o) => o.emit_value(buf),
        }
    }
}
