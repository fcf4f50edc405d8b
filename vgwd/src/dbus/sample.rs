//! A small, realistic node for demos and for the golden tests of the D-Bus service and vgwctl:
//! two IPv4 VIPs and one IPv6 VIP, four services (one below quorum), two BGP neighbours (one
//! down), one OSPF adjacency, and the matching IPVS table.

use vgw_api::{
    Alarm, BgpNeighborInfo, BgpRoute, IpvsDest, IpvsRates, IpvsService, IpvsStats, IpvsTable,
    OspfInterface, OspfLsa, OspfNeighbor, RealInfo, ServiceInfo, Status, SyncDaemon, SyncRelay,
    SyncStatus, VipInfo,
};

use super::memory::MemoryState;

fn s(v: &str) -> String {
    v.to_owned()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| s(x)).collect()
}

#[allow(clippy::too_many_arguments)]
fn real(
    address: &str,
    port: u16,
    health: &str,
    weight: u32,
    result: &str,
    latency_us: u64,
    reason: &str,
    in_state_secs: u64,
) -> RealInfo {
    RealInfo {
        address: s(address),
        port,
        health: s(health),
        admin: s("enabled"),
        configured_weight: weight,
        effective_weight: if health == "up" { weight } else { 0 },
        last_result: s(result),
        last_latency_us: latency_us,
        last_reason: s(reason),
        last_check_secs: 1,
        in_state_secs,
    }
}

fn vip(address: &str, state: &str, reason: &str, announce: &[&str], services: &[&str]) -> VipInfo {
    let announced = state == "announced" || state == "degraded";
    VipInfo {
        address: s(address),
        state: s(state),
        reason: s(reason),
        announce: strs(announce),
        announced_via: if announced {
            strs(announce)
        } else {
            Vec::new()
        },
        services: strs(services),
        communities: strs(&["65000:100"]),
        med: -1,
        in_state_secs: 3600,
    }
}

#[allow(clippy::too_many_arguments)]
fn service(
    name: &str,
    vip: &str,
    port: u16,
    protocol: &str,
    scheduler: &str,
    forward: &str,
    state: &str,
    quorum: u32,
    check: &str,
    reals: Vec<RealInfo>,
) -> ServiceInfo {
    let healthy = u32::try_from(reals.iter().filter(|r| r.health == "up").count()).unwrap_or(0);
    ServiceInfo {
        name: s(name),
        vip: s(vip),
        port,
        protocol: s(protocol),
        scheduler: s(scheduler),
        forward: s(forward),
        state: s(state),
        quorum,
        healthy,
        check: s(check),
        reals,
    }
}

fn stats(conns: u64, pkts: u64) -> IpvsStats {
    IpvsStats {
        conns,
        in_packets: pkts,
        out_packets: pkts / 10 * 9,
        in_bytes: pkts * 120,
        out_bytes: pkts * 1400,
    }
}

fn rates(cps: u64) -> IpvsRates {
    IpvsRates {
        cps,
        in_pps: cps * 8,
        out_pps: cps * 7,
        in_bps: cps * 960,
        out_bps: cps * 9800,
    }
}

fn dest(address: &str, port: u16, forward: &str, weight: u32, active: u32, inact: u32) -> IpvsDest {
    IpvsDest {
        address: s(address),
        port,
        forward: s(forward),
        weight,
        u_threshold: 0,
        l_threshold: 0,
        active_conns: active,
        inactive_conns: inact,
        persist_conns: 0,
        stats: stats(u64::from(active + inact) * 10, u64::from(active) * 1000),
        rates: rates(u64::from(active / 10)),
    }
}

#[allow(clippy::too_many_arguments)]
fn ipvs_service(
    family: &str,
    protocol: &str,
    address: &str,
    port: u16,
    scheduler: &str,
    persistent_secs: u32,
    dests: Vec<IpvsDest>,
) -> IpvsService {
    let mut stats = IpvsStats::default();
    let mut rates = IpvsRates::default();
    for d in &dests {
        stats.conns += d.stats.conns;
        stats.in_packets += d.stats.in_packets;
        stats.out_packets += d.stats.out_packets;
        stats.in_bytes += d.stats.in_bytes;
        stats.out_bytes += d.stats.out_bytes;
        rates.cps += d.rates.cps;
        rates.in_pps += d.rates.in_pps;
        rates.out_pps += d.rates.out_pps;
        rates.in_bps += d.rates.in_bps;
        rates.out_bps += d.rates.out_bps;
    }
    IpvsService {
        family: s(family),
        protocol: s(protocol),
        address: s(address),
        port,
        fwmark: 0,
        scheduler: s(scheduler),
        sched_flags: Vec::new(),
        persistent_secs,
        netmask: s(if family == "inet6" {
            "128"
        } else {
            "255.255.255.255"
        }),
        pe_name: String::new(),
        one_packet: false,
        local_addresses: Vec::new(),
        stats,
        rates,
        dests,
    }
}

/// The sample node `lvs1`.
pub fn sample_state() -> MemoryState {
    let web = service(
        "web",
        "192.0.2.10",
        80,
        "tcp",
        "wrr",
        "nat",
        "up",
        1,
        "http",
        vec![
            real("10.1.1.1", 8080, "up", 100, "ok", 1830, "HTTP 200", 7200),
            real("10.1.1.2", 8080, "up", 100, "ok", 2210, "HTTP 200", 7200),
            real("10.1.1.3", 8080, "down", 50, "fail", 1020, "HTTP 503", 95),
        ],
    );
    let web_tls = service(
        "web-tls",
        "192.0.2.10",
        443,
        "tcp",
        "sh",
        "dr",
        "up",
        1,
        "tcp",
        vec![
            real("10.1.1.1", 443, "up", 1, "ok", 410, "connected", 7200),
            real("10.1.1.2", 443, "up", 1, "ok", 395, "connected", 7200),
        ],
    );
    let dns = service(
        "dns",
        "192.0.2.20",
        53,
        "udp",
        "rr",
        "dr",
        "down",
        1,
        "dns",
        vec![
            real(
                "10.1.2.1",
                53,
                "down",
                10,
                "timeout",
                1_000_000,
                "no answer within 1s",
                600,
            ),
            real("10.1.2.2", 53, "down", 10, "fail", 2400, "SERVFAIL", 600),
        ],
    );
    let web6 = service(
        "web6",
        "2001:db8::10",
        80,
        "tcp",
        "rr",
        "tun",
        "up",
        1,
        "http",
        vec![real(
            "2001:db8:1::1",
            80,
            "up",
            1,
            "ok",
            2950,
            "HTTP 200",
            7200,
        )],
    );

    let mut tls = ipvs_service(
        "inet",
        "tcp",
        "192.0.2.10",
        443,
        "sh",
        300,
        vec![
            dest("10.1.1.1", 443, "Route", 1, 310, 1204),
            dest("10.1.1.2", 443, "Route", 1, 298, 1187),
        ],
    );
    tls.sched_flags = strs(&["sh-fallback", "sh-port"]);
    let ipvs = IpvsTable {
        version: s("1.2.1"),
        conn_tab_size: 4096,
        dialect: s("mainline"),
        services: vec![
            ipvs_service(
                "inet",
                "tcp",
                "192.0.2.10",
                80,
                "wrr",
                0,
                vec![
                    dest("10.1.1.1", 8080, "Masq", 100, 1520, 30211),
                    dest("10.1.1.2", 8080, "Masq", 100, 1498, 29876),
                    dest("10.1.1.3", 8080, "Masq", 0, 0, 212),
                ],
            ),
            tls,
            ipvs_service(
                "inet",
                "udp",
                "192.0.2.20",
                53,
                "rr",
                0,
                vec![
                    dest("10.1.2.1", 53, "Route", 0, 0, 0),
                    dest("10.1.2.2", 53, "Route", 0, 0, 0),
                ],
            ),
            ipvs_service(
                "inet6",
                "tcp",
                "2001:db8::10",
                80,
                "rr",
                0,
                vec![dest("2001:db8:1::1", 80, "Tunnel", 1, 41, 530)],
            ),
        ],
    };

    MemoryState {
        status: Status {
            node: s("lvs1"),
            version: s("0.1.0"),
            uptime_secs: 90_061,
            config_path: s("/etc/vgw/vgw.toml"),
            config_generation: 3,
            dataplane: s("ipvs"),
            first_round_done: true,
            node_drained: false,
            vips_announced: 0,
            vips_withdrawn: 0,
            vips_drained: 0,
            neighbors_up: 0,
            neighbors_total: 0,
            alarms: vec![Alarm {
                kind: s("quorum_lost"),
                subject: s("dns"),
                message: s(
                    "service dns has 0 of 2 reals healthy (quorum 1); VIP 192.0.2.20 withdrawn",
                ),
                since_secs: 600,
            }],
        },
        vips: vec![
            vip(
                "192.0.2.10",
                "announced",
                "web 2/3 up, web-tls 2/2 up",
                &["bgp", "ospf"],
                &["web", "web-tls"],
            ),
            vip(
                "192.0.2.20",
                "withdrawn",
                "dns below quorum (0/2 up, quorum 1)",
                &["bgp"],
                &["dns"],
            ),
            vip(
                "2001:db8::10",
                "announced",
                "web6 1/1 up",
                &["bgp"],
                &["web6"],
            ),
        ],
        services: vec![web, web_tls, dns, web6],
        bgp_neighbors: vec![
            BgpNeighborInfo {
                name: s("tor1"),
                address: s("10.0.0.1"),
                local_asn: 65011,
                remote_asn: 65000,
                state: s("Established"),
                in_state_secs: 86_400,
                router_id: s("10.0.0.1"),
                hold_time: 9,
                prefixes_received: 1,
                prefixes_advertised: 2,
                last_error: String::new(),
            },
            BgpNeighborInfo {
                name: s("tor2"),
                address: s("10.0.0.5"),
                local_asn: 65011,
                remote_asn: 65000,
                state: s("Active"),
                in_state_secs: 42,
                router_id: String::new(),
                hold_time: 0,
                prefixes_received: 0,
                prefixes_advertised: 0,
                last_error: s("connect: connection refused"),
            },
        ],
        bgp_routes: vec![
            BgpRoute {
                neighbor: s("tor1"),
                direction: s("advertised"),
                prefix: s("192.0.2.10/32"),
                next_hop: s("10.0.0.11"),
                as_path: s("65011"),
                origin: s("igp"),
                med: -1,
                local_pref: -1,
                communities: strs(&["65000:100"]),
                large_communities: Vec::new(),
            },
            BgpRoute {
                neighbor: s("tor1"),
                direction: s("advertised"),
                prefix: s("2001:db8::10/128"),
                next_hop: s("2001:db8:ff::11"),
                as_path: s("65011"),
                origin: s("igp"),
                med: -1,
                local_pref: -1,
                communities: strs(&["65000:100"]),
                large_communities: strs(&["65000:1:2"]),
            },
            BgpRoute {
                neighbor: s("tor1"),
                direction: s("received"),
                prefix: s("0.0.0.0/0"),
                next_hop: s("10.0.0.1"),
                as_path: s("65000"),
                origin: s("igp"),
                med: 0,
                local_pref: -1,
                communities: Vec::new(),
                large_communities: Vec::new(),
            },
        ],
        ospf_neighbors: vec![OspfNeighbor {
            router_id: s("10.0.0.1"),
            address: s("10.0.1.1"),
            interface: s("eth1"),
            state: s("Full"),
            priority: 1,
            role: s("DR"),
            dead_in_secs: 3,
            in_state_secs: 86_000,
        }],
        ospf_interfaces: vec![OspfInterface {
            name: s("eth1"),
            address: s("10.0.1.11/24"),
            area: s("0.0.0.0"),
            network: s("broadcast"),
            state: s("Backup"),
            cost: 10,
            hello_interval: 1,
            dead_interval: 4,
            dr: s("10.0.0.1"),
            bdr: s("10.0.0.11"),
            neighbors: 1,
            adjacencies: 1,
        }],
        ospf_database: vec![
            OspfLsa {
                area: s("0.0.0.0"),
                lsa_type: s("router"),
                ls_id: s("10.0.0.1"),
                adv_router: s("10.0.0.1"),
                seq: 0x8000_0012,
                age: 341,
                checksum: 0x4b2e,
                self_originated: false,
            },
            OspfLsa {
                area: s("0.0.0.0"),
                lsa_type: s("router"),
                ls_id: s("10.0.0.11"),
                adv_router: s("10.0.0.11"),
                seq: 0x8000_0007,
                age: 12,
                checksum: 0x91c3,
                self_originated: true,
            },
            OspfLsa {
                area: s("0.0.0.0"),
                lsa_type: s("network"),
                ls_id: s("10.0.1.1"),
                adv_router: s("10.0.0.1"),
                seq: 0x8000_0003,
                age: 340,
                checksum: 0x1f0a,
                self_originated: false,
            },
        ],
        ipvs: Some(ipvs),
        sync: SyncStatus {
            daemons: vec![SyncDaemon {
                role: s("master"),
                interface: s("eth2"),
                sync_id: 11,
                group: s("224.0.0.81"),
                port: 8848,
                ttl: 1,
                max_len: 1472,
            }],
            relay: SyncRelay {
                enabled: true,
                peers: strs(&["10.0.2.12:8848", "10.0.2.13:8848"]),
                sent: 120_443,
                received: 118_902,
                dropped: 3,
            },
        },
    }
}
