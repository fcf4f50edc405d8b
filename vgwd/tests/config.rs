//! Configuration tests: the shipped examples are valid, and every file in
//! `tests/config/broken/` fails with exactly the errors listed in its `# expect:` header lines
//! (`line:column: message`, in file order).

use std::path::{Path, PathBuf};

fn dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn toml_files(rel: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn examples_are_valid() {
    let files = toml_files("examples");
    assert!(files.len() >= 3, "examples missing: {files:?}");
    for f in files {
        if let Err(e) = vgwd::config::load(&f) {
            panic!("{} should be valid:\n{e}", f.display());
        }
    }
}

#[test]
fn node_only_file_gets_defaults() {
    let c = vgwd::config::parse("[node]\n", "t.toml").expect("valid");
    assert_eq!(c.node.vip_interface, "vgw0");
    assert_eq!(c.node.dataplane, vgwd::config::Dataplane::Ipvs);
    assert_eq!(c.node.drain_time, std::time::Duration::from_secs(10));
    assert_eq!(c.api.dbus, "system");
    assert!(c.vips.is_empty() && c.services.is_empty() && c.bgp.is_none());
}

#[test]
fn full_example_defaults_and_values() {
    let c = vgwd::config::load(&dir("examples/full.toml")).expect("valid");
    let dns = c
        .services
        .iter()
        .find(|s| s.name == "dns")
        .expect("dns service");
    assert_eq!(
        dns.reals[0].port, 53,
        "real port defaults to the service port"
    );
    assert_eq!(dns.reals[0].weight, 1);
    assert_eq!(dns.quorum, 1);
    assert_eq!(dns.on_failure, vgwd::config::OnFailure::Remove);
    let web = c
        .services
        .iter()
        .find(|s| s.name == "web")
        .expect("web service");
    assert_eq!(web.slow_start, Some(std::time::Duration::from_secs(20)));
    assert_eq!(web.protect_threshold, Some(0.5));
    let bgp = c.bgp.expect("bgp");
    assert_eq!((bgp.asn, bgp.hold_time, bgp.neighbors.len()), (65011, 9, 2));
    assert_eq!(bgp.neighbors[1].port, 179);
    let v6 = &c.vips[1];
    assert_eq!(v6.drain_time, std::time::Duration::from_secs(30));
    assert_eq!(c.vips[0].drain_time, std::time::Duration::from_secs(10));
}

#[test]
fn broken_configs_report_every_error_with_its_location() {
    let files = toml_files("tests/config/broken");
    assert!(files.len() >= 15, "broken cases missing");
    let mut failures = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let expected: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(str::to_string)
            .collect();
        assert!(!expected.is_empty(), "{}: no '# expect:' line", f.display());
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        match vgwd::config::parse(&text, &name) {
            Ok(_) => failures.push(format!("{name}: accepted, expected {expected:?}")),
            Err(errs) => {
                let got: Vec<String> = errs.errors.iter().map(|e| e.short()).collect();
                if got != expected {
                    failures.push(format!(
                        "{name}:\n  expected {expected:#?}\n  got      {got:#?}"
                    ));
                }
                for e in &errs.errors {
                    if e.hint.is_none() {
                        failures.push(format!("{name}: no hint for {}", e.short()));
                    }
                }
                let rendered = errs.to_string();
                assert!(rendered.starts_with(&format!("{name}:")), "{rendered}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
