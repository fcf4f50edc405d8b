//! Every read-only command against a served in-memory vgwd: exact transcripts (golden files)
//! and the JSON shape of every listing.

mod common;

use common::*;
use vgwd::dbus::sample::sample_state;

const READS: &[(&str, &[&str])] = &[
    ("status", &["status"]),
    ("vip_list", &["vip", "list"]),
    ("vip_show", &["vip", "show", "192.0.2.10"]),
    ("vip_show_v6", &["vip", "show", "2001:db8:0::10"]),
    ("service_list", &["service", "list"]),
    ("service_show_web", &["service", "show", "web"]),
    ("service_show_dns", &["service", "show", "dns"]),
    ("bgp_summary", &["bgp", "summary"]),
    ("bgp_neighbors", &["bgp", "neighbors"]),
    ("bgp_neighbors_tor2", &["bgp", "neighbors", "tor2"]),
    ("bgp_routes", &["bgp", "routes"]),
    ("bgp_routes_received", &["bgp", "routes", "--received"]),
    (
        "bgp_routes_advertised_tor1",
        &["bgp", "routes", "--advertised", "tor1"],
    ),
    ("ospf_neighbors", &["ospf", "neighbors"]),
    ("ospf_interfaces", &["ospf", "interfaces"]),
    ("ospf_database", &["ospf", "database"]),
    ("ipvs_list", &["ipvs", "list", "-n"]),
    ("ipvs_list_stats", &["ipvs", "list", "--stats"]),
    ("ipvs_list_rate", &["ipvs", "list", "--rate"]),
    (
        "ipvs_list_stats_exact",
        &["ipvs", "list", "--stats", "--exact"],
    ),
    ("sync_status", &["sync", "status"]),
];

#[test]
fn every_read_command_prints_exactly_the_golden_output() {
    let bed = Bed::start(sample_state());
    for (name, args) in READS {
        let out = check(&bed, name, args);
        assert!(out.status.success(), "{name} failed");
    }
}

#[test]
fn every_listing_prints_the_same_values_as_json() {
    let bed = Bed::start(sample_state());
    for (name, args) in READS {
        let mut with_json = args.to_vec();
        with_json.extend(["-o", "json"]);
        let out = check(&bed, &format!("{name}.json"), &with_json);
        assert!(out.status.success(), "{name} -o json failed");
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&out.stdout);
        assert!(parsed.is_ok(), "{name}: not JSON: {parsed:?}");
    }
}

/// The JSON documents decode back into the API types, so their field names are exactly the
/// documented ones (serde rejects nothing extra here, so also compare the key sets).
#[test]
fn json_field_names_are_the_api_contract() {
    let bed = Bed::start(sample_state());
    let get = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let out = bed.vgwctl(&a);
        assert!(out.status.success());
        match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => panic!("{args:?}: {e}"),
        }
    };
    // serde_json's map is sorted; compare as sorted sets.
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let set = |names: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };

    let status = get(&["status"]);
    let decoded: Result<vgw_api::Status, _> = serde_json::from_value(status.clone());
    assert_eq!(decoded.ok(), Some(vgwd_state_status()));
    assert_eq!(
        keys(&status),
        set(&[
            "node",
            "version",
            "uptime_secs",
            "config_path",
            "config_generation",
            "dataplane",
            "first_round_done",
            "node_drained",
            "vips_announced",
            "vips_withdrawn",
            "vips_drained",
            "neighbors_up",
            "neighbors_total",
            "alarms"
        ])
    );

    let services = get(&["service", "list"]);
    let decoded: Result<Vec<vgw_api::ServiceInfo>, _> = serde_json::from_value(services.clone());
    assert_eq!(decoded.ok(), Some(sample_state().services));
    let real = &services[0]["reals"][0];
    assert_eq!(
        keys(real),
        set(&[
            "address",
            "port",
            "health",
            "admin",
            "configured_weight",
            "effective_weight",
            "last_result",
            "last_latency_us",
            "last_reason",
            "last_check_secs",
            "in_state_secs"
        ])
    );

    let ipvs = get(&["ipvs", "list"]);
    let decoded: Result<vgw_api::IpvsTable, _> = serde_json::from_value(ipvs.clone());
    assert_eq!(decoded.ok(), sample_state().ipvs);
    assert_eq!(
        keys(&ipvs["services"][0]["dests"][0]),
        set(&[
            "address",
            "port",
            "forward",
            "weight",
            "u_threshold",
            "l_threshold",
            "active_conns",
            "inactive_conns",
            "persist_conns",
            "stats",
            "rates"
        ])
    );
    assert_eq!(
        keys(&ipvs["services"][0]["stats"]),
        set(&[
            "conns",
            "in_packets",
            "out_packets",
            "in_bytes",
            "out_bytes"
        ])
    );
    assert_eq!(
        keys(&ipvs["services"][0]["rates"]),
        set(&["cps", "in_pps", "out_pps", "in_bps", "out_bps"])
    );

    let vips: Result<Vec<vgw_api::VipInfo>, _> = serde_json::from_value(get(&["vip", "list"]));
    assert_eq!(vips.ok(), Some(sample_state().vips));
    let n: Result<Vec<vgw_api::BgpNeighborInfo>, _> =
        serde_json::from_value(get(&["bgp", "summary"]));
    assert_eq!(n.ok(), Some(sample_state().bgp_neighbors));
    let s: Result<vgw_api::SyncStatus, _> = serde_json::from_value(get(&["sync", "status"]));
    assert_eq!(s.ok(), Some(sample_state().sync));
}

/// The status the daemon reports for the sample: counters derived from the VIPs and
/// neighbours, not the zeros stored in the sample.
fn vgwd_state_status() -> vgw_api::Status {
    let mut s = sample_state().status;
    s.vips_announced = 2;
    s.vips_withdrawn = 1;
    s.vips_drained = 0;
    s.neighbors_up = 2;
    s.neighbors_total = 3;
    s
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let bed = Bed::start(sample_state());
    let plain = bed.vgwctl(&["vip", "list"]);
    assert!(
        !plain.stdout.contains(&0x1b),
        "escape codes in piped output"
    );
    let coloured = bed.vgwctl(&["vip", "list", "--color", "always"]);
    let text = String::from_utf8_lossy(&coloured.stdout);
    assert!(text.contains("\x1b[32mannounced\x1b[0m"), "{text}");
    assert!(text.contains("\x1b[31mwithdrawn\x1b[0m"), "{text}");
    // Stripped of colour, the table is the same.
    let stripped = text
        .replace("\x1b[32m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[0m", "");
    assert_eq!(stripped, String::from_utf8_lossy(&plain.stdout));
}

#[test]
fn bus_from_flag_overrides_the_environment() {
    let bed = Bed::start(sample_state());
    let out = run(std::process::Command::new(VGWCTL)
        .args(["--bus", &bed.address(), "vip", "list"])
        .env("VGW_BUS", "unix:path=/nonexistent/bus"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, bed.vgwctl(&["vip", "list"]).stdout);
}
