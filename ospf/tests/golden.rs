//! Golden-file conformance tests of the sans-IO router (ISM, NSM, flooding).
//!
//! `tests/golden/<case>/config.json` is the router [`Config`]; `NN-in.json` is one step
//! (`{"at": ms, "input": ...}` or `{"at": ms, "packet": {ifname, src, dst, packet}}`, the
//! packet encoded with the interface's authentication before it is fed in, LSAs in updates
//! with their length and checksum filled in); `NN-out.jsonl` is
//! the exact, ordered list of outputs of that step, one JSON object per line.
//! `VGW_OSPF_GOLDEN_REGEN=1 cargo test -p vgw-ospf --test golden` rewrites the expected files.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vgw_ospf::packet::{AuthKey, Body, Lsa, Packet};
use vgw_ospf::{Config, Input, Router};

#[derive(Deserialize)]
struct PacketIn {
    ifname: String,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    packet: Packet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: u64,
    #[serde(default)]
    input: Option<Input>,
    #[serde(default)]
    packet: Option<PacketIn>,
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn run_case(dir: &Path) -> Vec<String> {
    let regen = std::env::var_os("VGW_OSPF_GOLDEN_REGEN").is_some();
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let cfg: Config = serde_json::from_str(&read(dir.join("config.json"))).expect("config.json");
    let auth: std::collections::BTreeMap<String, AuthKey> = cfg
        .interfaces
        .iter()
        .map(|i| (i.name.clone(), i.auth.clone()))
        .collect();
    let mut router = Router::new(cfg);
    let mut steps: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("case dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-in.json"))
        .collect();
    steps.sort();
    assert!(!steps.is_empty(), "{}: no steps", dir.display());
    let mut failures = Vec::new();
    for step_path in steps {
        let step: Step = serde_json::from_str(&read(step_path.clone()))
            .unwrap_or_else(|e| panic!("{}: {e}", step_path.display()));
        let input = match (step.input, step.packet) {
            (Some(i), None) => i,
            (None, Some(mut p)) => {
                // LSAs in inputs get their length and checksum computed here.
                if let Body::LsUpdate(u) = &mut p.packet.body {
                    for l in u.lsas.iter_mut() {
                        *l = Lsa::new(l.header, l.body.clone());
                    }
                }
                let key = auth.get(&p.ifname).cloned().unwrap_or_default();
                Input::Packet {
                    data: p.packet.encode(&key, 1),
                    ifname: p.ifname,
                    src: p.src,
                    dst: p.dst,
                }
            }
            _ => panic!("{}: exactly one of input/packet", step_path.display()),
        };
        let outs = router.process(step.at, input);
        let got: String = outs
            .iter()
            .map(|o| serde_json::to_string(o).expect("json") + "\n")
            .collect();
        let out_path = PathBuf::from(
            step_path
                .to_string_lossy()
                .replace("-in.json", "-out.jsonl"),
        );
        if regen {
            std::fs::write(&out_path, &got).expect("write expected");
            continue;
        }
        let want = read(out_path.clone());
        if want != got {
            failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                out_path.display()
            ));
        }
    }
    failures
}

#[test]
fn golden_cases() {
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 3, "golden cases missing");
    for c in cases {
        failures.extend(run_case(&c));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
