//! Records OSPF packets sent by FRR and BIRD to our router (tshark in the lab) and writes their
//! OSPF payloads as hex lines to `tests/fixtures/<peer>-<auth>.hex`, for the re-encoding tests.
//!
//! `cargo run -p vgw-ospf --example capture` (root; FRR, BIRD 2, tshark).

use std::net::Ipv4Addr;
use std::time::Duration;

use vgw_lab::peers::{Bird, Frr};
use vgw_lab::{wait_until, Lab};
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::packet::{AuthKey, CryptoAlg};
use vgw_ospf::NetworkType;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{vgw_config, vip, Vgw};

/// OSPF payloads of IPv4 packets from `src` in a classic pcap file (Ethernet link type).
fn ospf_payloads(pcap: &[u8], src: Ipv4Addr) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 24;
    while let Some(rec) = pcap.get(off..off + 16) {
        let incl = u32::from_le_bytes([rec[8], rec[9], rec[10], rec[11]]) as usize;
        let Some(frame) = pcap.get(off + 16..off + 16 + incl) else {
            break;
        };
        off += 16 + incl;
        let Some(ip) = frame.get(14..) else { continue };
        if ip.len() < 20 || ip[9] != 89 || ip[12..16] != src.octets() {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if let Some(p) = ip.get(ihl..total) {
            out.push(p.to_vec());
        }
    }
    out
}

fn capture(peer: &str, auth_name: &str, ours: AuthKey, peer_conf: &str) {
    let lab = Lab::new(&format!("ospf-cap-{peer}")).expect("lab");
    let sw = lab.host("sw").expect("host");
    let lvs = lab.host("lvs").expect("host");
    lab.link((&sw, "eth1"), (&lvs, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    lvs.add_addr("eth1", "10.0.0.2/24").expect("addr");
    let pcap = lab.dir().join(format!("{peer}.pcap"));
    let mut cmd = lvs.command("dumpcap");
    cmd.args(["-q", "-P", "-i", "eth1", "-f", "ip proto 89", "-w"])
        .arg(&pcap);
    let dump = lab.spawn(&lvs, &cmd).expect("dumpcap");
    std::thread::sleep(Duration::from_secs(2));
    let (_frr, _bird);
    if peer == "frr" {
        _frr = Some(Frr::start(&lab, &sw, &["ospfd"], peer_conf).expect("frr"));
    } else {
        _bird = Some(Bird::start(&lab, &sw, peer_conf).expect("bird"));
    }
    let v = Vgw::start(
        &lvs,
        vgw_config(Ipv4Addr::new(10, 0, 0, 2), NetworkType::Broadcast, 1, ours),
    );
    wait_until("Full", Duration::from_secs(30), || {
        Ok(v.nbr_state(Ipv4Addr::new(10, 0, 0, 1)) == Some(NbrState::Full))
    })
    .expect("Full");
    v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
    std::thread::sleep(Duration::from_secs(3));
    v.rt.block_on(v.inst.withdraw(vip())).expect("withdraw");
    std::thread::sleep(Duration::from_secs(3));
    lab.stop(dump.pid, Duration::from_secs(3))
        .expect("stop dumpcap");
    let bytes = std::fs::read(&pcap).expect("pcap");
    eprintln!(
        "{}: {} bytes (dumpcap log {})",
        pcap.display(),
        bytes.len(),
        dump.log.display()
    );
    let pkts = ospf_payloads(&bytes, Ipv4Addr::new(10, 0, 0, 1));
    let text: String = pkts
        .iter()
        .map(|p| p.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    let path = format!(
        "{}/tests/fixtures/{peer}-{auth_name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(&path, text).expect("write fixture");
    println!("{path}: {} packets", pkts.len());
}

fn main() {
    let frr = |auth: &str| {
        format!("interface eth1\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n{auth}exit\nrouter ospf\n ospf router-id 10.0.0.1\n redistribute connected\n network 10.0.0.0/24 area 0\nexit\n")
    };
    capture("frr", "null", AuthKey::Null, &frr(""));
    let md5 = AuthKey::Crypto {
        alg: CryptoAlg::Md5,
        key_id: 7,
        key: b"s3cret".to_vec(),
    };
    capture(
        "frr",
        "md5",
        md5,
        &frr(" ip ospf authentication message-digest\n ip ospf message-digest-key 7 md5 s3cret\n"),
    );
    let bird = |auth: &str| {
        format!("router id 10.0.0.1;\nprotocol device {{ scan time 1; }}\nprotocol static s1 {{ ipv4; route 198.51.100.0/24 blackhole; }}\nprotocol ospf v2 o1 {{\n  ipv4 {{ import all; export where source = RTS_STATIC; }};\n  area 0 {{ interface \"eth1\" {{ type broadcast; hello 1; dead 4;\n{auth} }}; }};\n}}\n")
    };
    capture("bird", "null", AuthKey::Null, &bird(""));
    let sha = AuthKey::Crypto {
        alg: CryptoAlg::HmacSha256,
        key_id: 3,
        key: b"s3cret-sha".to_vec(),
    };
    capture("bird", "hmac-sha256", sha, &bird("authentication cryptographic; password \"s3cret-sha\" { id 3; algorithm hmac sha256; };\n"));
}
