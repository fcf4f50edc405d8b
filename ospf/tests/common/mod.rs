//! Shared helpers for the lab interop tests: our router on a tokio runtime inside a lab host.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::time::Duration;

use vgw_lab::Host;
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::packet::AuthKey;
use vgw_ospf::{Config, IfConfig, Instance, NetworkType, Prefix};

/// Our router running on a tokio runtime inside a lab host.
pub struct Vgw {
    pub inst: Instance,
    pub rt: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<vgw_lab::Result<()>>>,
}

impl Vgw {
    pub fn start(host: &Host, cfg: Config) -> Vgw {
        let (tx, rx) = mpsc::channel();
        let thread = host
            .spawn_thread(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                rt.block_on(async move {
                    let (inst, task) = Instance::spawn(cfg);
                    tx.send((inst, tokio::runtime::Handle::current(), stop_tx))
                        .expect("send handle");
                    let _ = stop_rx.await;
                    drop(task);
                });
            })
            .expect("thread in namespace");
        let (inst, rt, stop) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("instance started");
        Vgw {
            inst,
            rt,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn nbr_state(&self, rid: Ipv4Addr) -> Option<NbrState> {
        let st = self.rt.block_on(self.inst.state()).ok()?;
        st.neighbors
            .iter()
            .find(|n| n.router_id == rid)
            .map(|n| n.state)
    }
}

impl Drop for Vgw {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn vip() -> Prefix {
    Prefix::new(Ipv4Addr::new(192, 0, 2, 10), 32)
}

pub fn vgw_config(rid: Ipv4Addr, network: NetworkType, priority: u8, auth: AuthKey) -> Config {
    Config {
        router_id: rid,
        area_id: Ipv4Addr::UNSPECIFIED,
        interfaces: vec![IfConfig {
            hello_interval: 1,
            dead_interval: 4,
            priority,
            auth,
            ..IfConfig::new("eth1", network)
        }],
        dd_seq_seed: 0x1000,
        crypto_seq_base: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(1),
    }
}
