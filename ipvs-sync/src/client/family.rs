//! Resolving the "IPVS" family through the generic-netlink controller.

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, OpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;

use super::{FamilyInfo, DEFAULT_REPLY_TIMEOUT, GENL_ID_CTRL};
use crate::error::IpvsError;
use crate::transport::Transport;

/// CTRL_CMD_GETFAMILY("IPVS"): family id, version, max attribute and op ids.
pub(super) async fn resolve_family<T: Transport>(
    transport: &mut T,
) -> Result<FamilyInfo, IpvsError> {
    let op = "resolve the IPVS family";
    let seq = 1;
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName("IPVS".to_string())],
    });
    genl.finalize();
    let mut nl = NetlinkMessage::from(genl);
    nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    nl.header.sequence_number = seq;
    nl.finalize();
    let mut buf = vec![0u8; nl.buffer_len()];
    nl.serialize(&mut buf);
    transport.send(&buf).await?;

    let mut family: Option<FamilyInfo> = None;
    loop {
        let datagram = tokio::time::timeout(DEFAULT_REPLY_TIMEOUT, transport.recv())
            .await
            .map_err(|_| IpvsError::Protocol {
                op,
                detail: format!("no reply from the kernel within {DEFAULT_REPLY_TIMEOUT:?}"),
            })??;
        let mut rest: &[u8] = &datagram;
        while !rest.is_empty() {
            let len = rest
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(|b| u32::from_ne_bytes(b) as usize)
                .filter(|l| *l >= 16 && *l <= rest.len())
                .ok_or_else(|| IpvsError::Protocol {
                    op,
                    detail: format!("bad netlink length in a {}-byte reply", rest.len()),
                })?;
            let one = rest.get(..len).unwrap_or(&[]);
            rest = rest.get(((len + 3) & !3).min(rest.len())..).unwrap_or(&[]);
            let msg = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(one).map_err(|e| {
                IpvsError::Protocol {
                    op,
                    detail: format!("malformed controller reply: {e}"),
                }
            })?;
            if msg.header.sequence_number != seq {
                continue;
            }
            match msg.payload {
                NetlinkPayload::InnerMessage(g) => {
                    if g.header.cmd != u8::from(GenlCtrlCmd::NewFamily) {
                        continue;
                    }
                    let mut info = FamilyInfo {
                        family_id: 0,
                        version: 0,
                        maxattr: 0,
                        ops: Vec::new(),
                    };
                    for a in g.payload.nlas {
                        match a {
                            GenlCtrlAttrs::FamilyId(id) => info.family_id = id,
                            GenlCtrlAttrs::Version(v) => info.version = v,
                            GenlCtrlAttrs::MaxAttr(m) => info.maxattr = m,
                            GenlCtrlAttrs::Ops(ops) => {
                                for o in ops {
                                    for oa in o {
                                        if let OpAttrs::Id(id) = oa {
                                            info.ops.push(id);
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    info.ops.sort_unstable();
                    if info.family_id == 0 || info.family_id == GENL_ID_CTRL {
                        return Err(IpvsError::Protocol {
                            op,
                            detail: format!("controller gave family id {}", info.family_id),
                        });
                    }
                    family = Some(info);
                }
                NetlinkPayload::Error(e) => {
                    return match (e.code, family) {
                        (None, Some(f)) => Ok(f),
                        (None, None) => Err(IpvsError::Protocol {
                            op,
                            detail: "acknowledged without a family".into(),
                        }),
                        (Some(c), _) if -c.get() == libc::ENOENT => Err(IpvsError::NoIpvs),
                        (Some(c), _) => Err(IpvsError::from_errno(op, "IPVS".into(), -c.get())),
                    }
                }
                NetlinkPayload::Done(_) => {
                    return family.ok_or(IpvsError::NoIpvs);
                }
                _ => {}
            }
        }
    }
}
