//! Golden-file conformance tests for the session FSM.
//!
//! Each directory under `tests/golden/` is one case:
//! - `config.json`: the [`SessionConfig`],
//! - `input.jsonl`: numbered inputs, one per line: `{"n":1,"event":{...}}` with an [`Event`],
//!   or `{"n":2,"wire":"ffff..."}` with the hex bytes of a message from the peer, decoded with
//!   the FSM's current decode context exactly as the transport does,
//! - `expected.jsonl`: for each input, `{"n":1,"actions":[...]}` with the exact ordered actions.
//!
//! Run with `VGW_GOLDEN_REGENERATE=1` to rewrite the expected files after a deliberate change.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use vgw_bgp::fsm::{Action, Event, Fsm};
use vgw_bgp::packet::{hex, Message};
use vgw_bgp::session::SessionConfig;

#[derive(Deserialize)]
struct Input {
    n: u32,
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    wire: Option<String>,
}

#[derive(Serialize)]
struct Output<'a> {
    n: u32,
    state: vgw_bgp::fsm::State,
    actions: &'a [Action],
}

fn run_case(dir: &Path) -> Result<(), String> {
    let name = dir.display();
    let cfg: SessionConfig = serde_json::from_str(
        &fs::read_to_string(dir.join("config.json")).map_err(|e| format!("{name}: {e}"))?,
    )
    .map_err(|e| format!("{name}/config.json: {e}"))?;
    let mut fsm = Fsm::new(cfg);
    let input = fs::read_to_string(dir.join("input.jsonl")).map_err(|e| format!("{name}: {e}"))?;
    let mut produced = String::new();
    for (i, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let inp: Input =
            serde_json::from_str(line).map_err(|e| format!("{name}/input.jsonl:{}: {e}", i + 1))?;
        let event = match (inp.event, inp.wire) {
            (Some(e), None) => e,
            (None, Some(w)) => {
                let bytes = hex::decode(&w).ok_or(format!("{name}: input {} bad hex", inp.n))?;
                match Message::decode(&bytes, &fsm.decode_context()) {
                    Ok(message) => Event::Message { message },
                    Err(error) => Event::DecodeError { error },
                }
            }
            _ => {
                return Err(format!(
                    "{name}: input {} needs exactly one of event/wire",
                    inp.n
                ))
            }
        };
        let actions = fsm.process(event);
        let out = Output {
            n: inp.n,
            state: fsm.state(),
            actions: &actions,
        };
        produced.push_str(&serde_json::to_string(&out).map_err(|e| e.to_string())?);
        produced.push('\n');
    }
    let expected_path = dir.join("expected.jsonl");
    if std::env::var_os("VGW_GOLDEN_REGENERATE").is_some() {
        fs::write(&expected_path, &produced).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = fs::read_to_string(&expected_path)
        .map_err(|e| format!("{name}: {e} (run with VGW_GOLDEN_REGENERATE=1 to create it)"))?;
    for (i, (want, got)) in expected.lines().zip(produced.lines()).enumerate() {
        if want != got {
            return Err(format!(
                "{name}: output line {} differs\n  expected: {want}\n  produced: {got}",
                i + 1
            ));
        }
    }
    if expected.lines().count() != produced.lines().count() {
        return Err(format!(
            "{name}: expected {} output lines, produced {}",
            expected.lines().count(),
            produced.lines().count()
        ));
    }
    Ok(())
}

#[test]
fn golden_fsm_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .expect("tests/golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.json").exists())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 10,
        "expected at least 10 golden cases, found {}",
        dirs.len()
    );
    let failures: Vec<String> = dirs.iter().filter_map(|d| run_case(d).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
