//! Drain, undrain and reload really change what the daemon reports, and every refusal says
//! what to do. Transcripts are golden files.

mod common;

use common::*;
use vgwd::dbus::memory::NextReload;
use vgwd::dbus::sample::sample_state;

/// Runs the steps in order and compares the whole session with one golden file.
fn session(bed: &Bed, name: &str, steps: &[&[&str]]) {
    let mut all = String::new();
    for args in steps {
        let out = bed.vgwctl(args);
        all.push_str(&transcript(bed, args, &out));
        all.push('\n');
    }
    golden(name, &all);
}

#[test]
fn drain_and_undrain_a_vip() {
    let bed = Bed::start(sample_state());
    session(
        &bed,
        "session_drain_vip",
        &[
            &["drain", "vip", "192.0.2.10"],
            &["vip", "list"],
            &["status"],
            // Draining twice is not an error.
            &["drain", "vip", "192.0.2.10"],
            &["undrain", "vip", "192.0.2.10"],
            &["vip", "show", "192.0.2.10"],
            &["drain", "vip", "2001:db8::10", "-o", "json"],
            &["vip", "list"],
        ],
    );
    let snap = bed.backend.snapshot();
    assert_eq!(
        snap.vips
            .iter()
            .map(|v| v.state.as_str())
            .collect::<Vec<_>>(),
        ["announced", "withdrawn", "drained"]
    );
}

#[test]
fn drain_and_undrain_a_real() {
    let bed = Bed::start(sample_state());
    session(
        &bed,
        "session_drain_real",
        &[
            &["drain", "real", "web", "10.1.1.1:8080"],
            &["service", "show", "web"],
            &["ipvs", "list"],
            &["undrain", "real", "web", "10.1.1.1"],
            &["service", "show", "web"],
            // Undraining a real that is down leaves it at weight 0.
            &["drain", "real", "web", "10.1.1.3:8080"],
            &["undrain", "real", "web", "10.1.1.3:8080"],
            &["service", "show", "web"],
            &["drain", "real", "web6", "[2001:db8:1::1]:80"],
            &["ipvs", "list"],
        ],
    );
}

#[test]
fn drain_and_undrain_the_node() {
    let bed = Bed::start(sample_state());
    session(
        &bed,
        "session_drain_node",
        &[
            &["drain", "vip", "2001:db8::10"],
            &["drain", "node"],
            &["status"],
            &["vip", "list"],
            &["undrain", "node"],
            // The VIP drained on its own before the node drain stays drained.
            &["vip", "list"],
            &["status"],
        ],
    );
}

#[test]
fn reload_applies_or_rejects() {
    let bed = Bed::start(sample_state());
    bed.backend.set_next_reload(NextReload::Valid(vec![
        "+ real web/10.1.1.4:8080 weight 100".to_owned(),
        "~ service dns quorum 1 -> 2".to_owned(),
    ]));
    let mut steps = String::new();
    for args in [
        &["reload"][..],
        &["reload", "-o", "json"],
        &["status", "-o", "json"],
    ] {
        let out = bed.vgwctl(args);
        steps.push_str(&transcript(&bed, args, &out));
        steps.push('\n');
    }
    bed.backend.set_next_reload(NextReload::Broken(vec![
        "/etc/vgw/vgw.toml:12:1: service \"api\" uses VIP 192.0.2.99, which is not declared; \
         add a [[vip]] with address = \"192.0.2.99\""
            .to_owned(),
    ]));
    for args in [&["reload"][..], &["status"]] {
        let out = bed.vgwctl(args);
        steps.push_str(&transcript(&bed, args, &out));
        steps.push('\n');
    }
    golden("session_reload", &steps);
    assert_eq!(bed.backend.snapshot().status.config_generation, 5);
}

#[test]
fn unknown_names_and_bad_arguments_explain_themselves() {
    let bed = Bed::start(sample_state());
    session(
        &bed,
        "errors_unknown",
        &[
            &["vip", "show", "192.0.2.99"],
            &["vip", "show", "web"],
            &["service", "show", "nope"],
            &["bgp", "neighbors", "tor9"],
            &["bgp", "routes", "--received", "tor9"],
            &["drain", "vip", "192.0.2.99"],
            &["drain", "vip", "not-an-ip"],
            &["drain", "real", "nope", "10.1.1.1"],
            &["drain", "real", "web", "10.9.9.9:8080"],
            &["drain", "real", "web", "10.1.1.1:http"],
            &["undrain", "real", "web", "10.1.1.1:99999"],
        ],
    );
    // Nothing changed.
    assert_eq!(bed.backend.snapshot(), sample_state());
}

#[test]
fn usage_errors_exit_2() {
    let bed = Bed::start(sample_state());
    let out = bed.vgwctl(&["bgp", "routes", "--advertised", "--received"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bed.vgwctl(&["ipvs", "list", "--stats", "--rate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bed.vgwctl(&["drain"]);
    assert_eq!(out.status.code(), Some(2));
}
