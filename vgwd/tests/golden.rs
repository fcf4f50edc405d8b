//! Golden-file scenarios for the controller.
//!
//! Each directory under `tests/golden/` holds:
//! - `config.toml`: the configuration the controller starts with;
//! - `events.jsonl`: one input per line (the line's position is the event number); an input is
//!   the JSON of `vgwd::controller::Input`, or `{"reload": "other.toml"}` to reload with another
//!   file of the same directory; lines starting with `//` are comments;
//! - `expected.txt`: for every event, a line `# N <event>` followed by the exact outputs, one
//!   JSON object per line, in order.
//!
//! The comparison is exact and ordered. `VGW_REGEN=1 cargo test -p vgwd --test golden` rewrites
//! `expected.txt` from the current behaviour (review the diff before committing it).

use std::path::{Path, PathBuf};

use vgwd::controller::{Controller, Input};

fn run_scenario(dir: &Path) -> String {
    let load = |name: &str| {
        let path = dir.join(name);
        vgwd::config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut controller = Controller::new(load("config.toml"));
    let events = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut transcript = String::new();
    let mut n = 0;
    for line in events.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        n += 1;
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: event {n}: {e}", dir.display()));
        let input = match value.get("reload").and_then(|v| v.as_str()) {
            Some(file) => Input::Reload(Box::new(load(file))),
            None => serde_json::from_value(value)
                .unwrap_or_else(|e| panic!("{}: event {n} `{line}`: {e}", dir.display())),
        };
        transcript.push_str(&format!("# {n} {line}\n"));
        for output in controller.process(input) {
            let json = serde_json::to_string(&output).expect("outputs serialize");
            transcript.push_str(&json);
            transcript.push('\n');
        }
    }
    transcript
}

fn scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn golden_scenarios() {
    let regen = std::env::var_os("VGW_REGEN").is_some_and(|v| v == "1");
    let dirs = scenarios();
    assert!(dirs.len() >= 10, "scenarios missing: {dirs:?}");
    let mut failures = Vec::new();
    for dir in dirs {
        let got = run_scenario(&dir);
        let path = dir.join("expected.txt");
        if regen {
            std::fs::write(&path, &got).expect("write expected.txt");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{}: differs at line {}\n  want: {}\n  got:  {}",
                dir.display(),
                first + 1,
                want.lines().nth(first).unwrap_or("<end>"),
                got.lines().nth(first).unwrap_or("<end>")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(VGW_REGEN=1 rewrites the files)",
        failures.join("\n")
    );
}
