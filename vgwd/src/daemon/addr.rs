//! VIP addresses through rtnetlink. The VIP interface is a dummy interface when the kernel has
//! that link type (created if missing); where it does not (detected by trying), the configured
//! name must be an existing interface, or vgwd falls back to `lo`.

use std::net::IpAddr;

use futures::TryStreamExt;
use rtnetlink::{Handle, LinkDummy, LinkUnspec};
use tracing::{info, warn};

use super::effects::{EffectError, VipAddresses};

/// VIP addresses on one interface, through a netlink socket owned by a background task.
#[derive(Debug, Clone)]
pub struct NetlinkAddresses {
    handle: Handle,
    index: u32,
    name: String,
}

fn nl_errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io().raw_os_error(),
        _ => None,
    }
}

const EEXIST: i32 = 17;
const ENODEV: i32 = 19;
const EADDRNOTAVAIL: i32 = 99;

impl NetlinkAddresses {
    /// Opens the VIP interface `name`: uses it if it exists, else creates a dummy interface of
    /// that name, else (kernel without dummy links) falls back to `lo` and says so.
    pub async fn open(name: &str) -> Result<NetlinkAddresses, EffectError> {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| EffectError(format!("cannot open a netlink socket: {e}")))?;
        tokio::spawn(conn);
        if let Some(index) = link_index(&handle, name).await? {
            info!(interface = name, "VIP interface exists");
            set_up(&handle, index).await?;
            return Ok(NetlinkAddresses {
                handle,
                index,
                name: name.to_string(),
            });
        }
        match handle
            .link()
            .add(LinkDummy::new(name).up().build())
            .execute()
            .await
        {
            Ok(()) => {
                let index = link_index(&handle, name).await?.ok_or_else(|| {
                    EffectError(format!("dummy interface {name} vanished after creation"))
                })?;
                info!(interface = name, "created dummy VIP interface");
                Ok(NetlinkAddresses {
                    handle,
                    index,
                    name: name.to_string(),
                })
            }
            Err(e) => {
                let errno = nl_errno(&e);
                if errno == Some(EEXIST) {
                    return Err(EffectError(format!(
                        "interface {name} appeared while creating it: {e}"
                    )));
                }
                warn!(
                    interface = name,
                    "this kernel cannot create a dummy interface ({e}); VIP addresses go on lo instead"
                );
                let index = link_index(&handle, "lo")
                    .await?
                    .ok_or_else(|| EffectError("no loopback interface".into()))?;
                set_up(&handle, index).await?;
                Ok(NetlinkAddresses {
                    handle,
                    index,
                    name: "lo".to_string(),
                })
            }
        }
    }

    /// The interface actually used.
    pub fn interface(&self) -> &str {
        &self.name
    }

    /// The VIPs currently on the interface among `candidates` (for tests and start-up logs).
    pub async fn present(&self) -> Result<Vec<IpAddr>, EffectError> {
        let mut out = Vec::new();
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(self.index)
            .execute();
        while let Some(msg) = stream
            .try_next()
            .await
            .map_err(|e| EffectError(format!("cannot list addresses of {}: {e}", self.name)))?
        {
            for attr in &msg.attributes {
                if let netlink_packet_route::address::AddressAttribute::Address(a) = attr {
                    out.push(*a);
                }
            }
        }
        Ok(out)
    }
}

async fn link_index(handle: &Handle, name: &str) -> Result<Option<u32>, EffectError> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(msg)) => Ok(Some(msg.header.index)),
        Ok(None) => Ok(None),
        Err(e) if nl_errno(&e) == Some(ENODEV) => Ok(None),
        Err(e) => Err(EffectError(format!("cannot look up interface {name}: {e}"))),
    }
}

async fn set_up(handle: &Handle, index: u32) -> Result<(), EffectError> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|e| EffectError(format!("cannot bring interface {index} up: {e}")))
}

fn prefix_len(vip: IpAddr) -> u8 {
    if vip.is_ipv4() {
        32
    } else {
        128
    }
}

impl VipAddresses for NetlinkAddresses {
    async fn add(&mut self, vip: IpAddr) -> Result<(), EffectError> {
        match self
            .handle
            .address()
            .add(self.index, vip, prefix_len(vip))
            .execute()
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if nl_errno(&e) == Some(EEXIST) => Ok(()),
            Err(e) => Err(EffectError(format!(
                "cannot add {vip} to {}: {e}",
                self.name
            ))),
        }
    }

    async fn remove(&mut self, vip: IpAddr) -> Result<(), EffectError> {
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(self.index)
            .set_address_filter(vip)
            .execute();
        let mut found = Vec::new();
        while let Some(msg) = stream
            .try_next()
            .await
            .map_err(|e| EffectError(format!("cannot list addresses of {}: {e}", self.name)))?
        {
            if msg.header.prefix_len == prefix_len(vip) {
                found.push(msg);
            }
        }
        for msg in found {
            match self.handle.address().del(msg).execute().await {
                Ok(()) => {}
                Err(e) if matches!(nl_errno(&e), Some(EADDRNOTAVAIL) | Some(ENODEV)) => {}
                Err(e) => {
                    return Err(EffectError(format!(
                        "cannot remove {vip} from {}: {e}",
                        self.name
                    )))
                }
            }
        }
        Ok(())
    }

    async fn usable(&mut self) -> bool {
        let mut links = self.handle.link().get().match_index(self.index).execute();
        match links.try_next().await {
            // IFF_UP only: a dummy or lo interface has no carrier to wait for.
            Ok(Some(msg)) => msg
                .header
                .flags
                .contains(netlink_packet_route::link::LinkFlags::Up),
            _ => false,
        }
    }
}
