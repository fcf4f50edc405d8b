//! Byte vectors captured from real peers (BIRD 2, FRR, GoBGP, ExaBGP) with tshark in the lab:
//! every message must decode and re-encode byte for byte.
//!
//! `tests/fixtures/<peer>.jsonl` holds one message per line, `{"hex": "...", "kind": "..."}`,
//! as the peer sent it to a vgw speaker (4-octet AS negotiated, no extended messages).
//! Regenerate with `VGW_CAPTURE_FIXTURES=1 cargo test -p vgw-bgp --test peer_fixtures` (root:
//! it builds a lab, starts each peer, and captures its side of the session with tshark).

mod lab_util;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lab_util::*;
use serde::{Deserialize, Serialize};
use vgw_bgp::packet::{hex, DecodeContext, Message};
use vgw_bgp::{NeighborConfig, Prefix, RouteAttrs, SpeakerConfig};
use vgw_lab::peers::{Bird, Exabgp, Frr, Gobgp};
use vgw_lab::{wait_until, Host, Lab};

const PEERS: [&str; 4] = ["bird", "frr", "gobgp", "exabgp"];

#[derive(Serialize, Deserialize)]
struct Fixture {
    kind: String,
    hex: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

const CTX: DecodeContext = DecodeContext {
    four_octet_as: true,
    extended_message: false,
    ibgp: false,
};

#[test]
fn captured_messages_decode_and_reencode_identically() {
    if std::env::var_os("VGW_CAPTURE_FIXTURES").is_some() {
        for peer in PEERS {
            capture(peer);
        }
    }
    for peer in PEERS {
        let path = dir().join(format!("{peer}.jsonl"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut kinds = BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            let f: Fixture = serde_json::from_str(line).expect("fixture line");
            let bytes = hex::decode(&f.hex).expect("hex");
            let msg = Message::decode(&bytes, &CTX)
                .unwrap_or_else(|e| panic!("{peer} line {}: {e}", i + 1));
            if let Message::Update(u) = &msg {
                assert!(u.issues.is_empty(), "{peer} line {}: {:?}", i + 1, u.issues);
            }
            assert_eq!(msg.kind(), f.kind, "{peer} line {}", i + 1);
            assert_eq!(
                hex::encode(&msg.encode(&CTX)),
                f.hex,
                "{peer} line {} re-encodes",
                i + 1
            );
            kinds.insert(f.kind);
        }
        for want in ["OPEN", "KEEPALIVE", "UPDATE"] {
            assert!(kinds.contains(want), "{peer}: no {want} captured");
        }
    }
}

fn capture(peer: &str) {
    let lab = Lab::new(&format!("bgp-capture-{peer}")).expect("lab");
    let sw = lab.host("sw").expect("sw");
    let n1 = lab.host("n1").expect("n1");
    lab.link((&sw, "eth1"), (&n1, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    sw.add_addr("eth1", "2001:db8::1/64").expect("addr");
    n1.add_addr("eth1", "10.0.0.11/24").expect("addr");
    n1.add_addr("eth1", "2001:db8::11/64").expect("addr");
    let pcap = lab.dir().join("capture.pcap");
    let mut dump = std::process::Command::new("dumpcap");
    dump.args(["-q", "-i", "eth1", "-f", "tcp port 179", "-w"])
        .arg(&pcap);
    let dumper = lab.spawn(&n1, &dump).expect("dumpcap");
    std::thread::sleep(Duration::from_secs(1));
    let s = NsSpeaker::start(
        &n1,
        SpeakerConfig {
            asn: 65011,
            router_id: "10.0.0.11".parse().expect("id"),
            listen: vec!["0.0.0.0:179".parse().expect("a")],
            graceful_restart: None,
        },
        vec![{
            let mut n = NeighborConfig::new("sw", "10.0.0.1".parse().expect("a"), 65000);
            n.connect_retry = 1;
            n
        }],
    );
    let pfx: Prefix = "192.0.2.10/32".parse().expect("p");
    s.run(move |sp| async move { sp.announce(pfx, RouteAttrs::default()).await.expect("a") });
    let got_routes = |s: &NsSpeaker| {
        s.run(|sp| async move { sp.adj_rib_in("sw").await.map(|r| r.len()).unwrap_or(0) })
    };
    run_peer(peer, &lab, &sw, &s, &got_routes);
    std::thread::sleep(Duration::from_secs(1));
    lab.stop(dumper.pid, Duration::from_secs(5))
        .expect("stop dumpcap");
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args([
            "-Y",
            "ip.src == 10.0.0.1 && tcp.len > 0",
            "-T",
            "fields",
            "-e",
            "tcp.payload",
        ])
        .output()
        .expect("tshark");
    let stream: Vec<u8> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .flat_map(|l| hex::decode(&l.replace(':', "")).unwrap_or_default())
        .collect();
    let mut rest = &stream[..];
    let mut lines = String::new();
    while rest.len() >= 19 {
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        let Some(m) = rest.get(..len) else { break };
        let kind = Message::decode(m, &CTX)
            .map(|m| m.kind().to_string())
            .unwrap_or_else(|e| format!("ERROR {e}"));
        lines.push_str(
            &serde_json::to_string(&Fixture {
                kind,
                hex: hex::encode(m),
            })
            .expect("json"),
        );
        lines.push('\n');
        rest = &rest[len..];
    }
    std::fs::write(dir().join(format!("{peer}.jsonl")), lines).expect("write fixture");
}

fn run_peer(peer: &str, lab: &Lab, sw: &Host, s: &NsSpeaker, got: &dyn Fn(&NsSpeaker) -> usize) {
    match peer {
        "bird" => {
            let conf = r#"
router id 10.0.0.1;
protocol device {}
protocol static s4 { ipv4; route 198.51.100.0/24 blackhole { bgp_med = 7; bgp_community.add((65000,42)); bgp_large_community.add((65000,1,2)); }; route 198.51.100.128/25 blackhole; }
protocol static s6 { ipv6; route 2001:db8:100::/48 blackhole { bgp_community.add((65000,43)); }; }
protocol bgp n1 {
  local 10.0.0.1 as 65000; neighbor 10.0.0.11 as 65011;
  ipv4 { import all; export all; next hop self; };
  ipv6 { import all; export all; next hop address 2001:db8::1; };
}
"#;
            let bird = Bird::start(lab, sw, conf).expect("bird");
            wait_until("routes from BIRD", T, || Ok(got(s) >= 3)).expect("routes");
            bird.stop().expect("stop");
        }
        "frr" => {
            let conf = "ip route 198.51.100.0/24 blackhole\nipv6 route 2001:db8:100::/48 blackhole\n\
                route-map OUT permit 10\n set community 65000:42\n set large-community 65000:1:2\n set metric 7\n\
                router bgp 65000\n bgp router-id 10.0.0.1\n no bgp ebgp-requires-policy\n \
                neighbor 10.0.0.11 remote-as 65011\n address-family ipv4 unicast\n  redistribute static\n  \
                neighbor 10.0.0.11 route-map OUT out\n exit-address-family\n address-family ipv6 unicast\n  \
                redistribute static\n  neighbor 10.0.0.11 activate\n  neighbor 10.0.0.11 route-map OUT out\n exit-address-family\n";
            let frr = Frr::start(lab, sw, &["bgpd", "staticd"], conf).expect("frr");
            wait_until("routes from FRR", T, || Ok(got(s) >= 2)).expect("routes");
            let _ = frr.vtysh("clear bgp 10.0.0.11");
            std::thread::sleep(Duration::from_secs(1));
        }
        "gobgp" => {
            let conf = r#"
[global.config]
  as = 65000
  router-id = "10.0.0.1"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.11"
    peer-as = 65011
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#;
            let g = Gobgp::start(lab, sw, conf).expect("gobgp");
            g.wait_established("10.0.0.11", T).expect("up");
            g.gobgp(&[
                "global",
                "rib",
                "add",
                "198.51.100.0/24",
                "community",
                "65000:42",
                "med",
                "7",
                "large-community",
                "65000:1:2",
            ])
            .expect("add");
            g.gobgp(&[
                "global",
                "rib",
                "-a",
                "ipv6",
                "add",
                "2001:db8:100::/48",
                "nexthop",
                "2001:db8::1",
            ])
            .expect("add6");
            wait_until("routes from GoBGP", T, || Ok(got(s) >= 2)).expect("routes");
            g.gobgp(&["neighbor", "10.0.0.11", "shutdown"]).ok();
            std::thread::sleep(Duration::from_secs(1));
        }
        "exabgp" => {
            let conf = r#"
neighbor 10.0.0.11 {
  router-id 10.0.0.1; local-address 10.0.0.1; local-as 65000; peer-as 65011;
  family { ipv4 unicast; ipv6 unicast; }
  static {
    route 198.51.100.0/24 next-hop 10.0.0.1 med 7 community [65000:42] large-community [65000:1:2];
    route 2001:db8:100::/48 next-hop 2001:db8::1 community [65000:43];
  }
}
"#;
            let e = Exabgp::start(lab, sw, conf).expect("exabgp");
            wait_until("routes from ExaBGP", T, || Ok(got(s) >= 2)).expect("routes");
            lab.stop(e.pid(), Duration::from_secs(5)).ok();
        }
        other => panic!("unknown peer {other}"),
    }
}
