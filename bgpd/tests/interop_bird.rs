//! Interop with BIRD 2 as the switch, in lab namespaces (needs root, like CI).

mod lab_util;

use std::time::Duration;

use lab_util::*;
use vgw_bgp::fsm::State;
use vgw_bgp::session::{GracefulRestart, PeerGracefulRestart};
use vgw_bgp::{NeighborConfig, Prefix, RouteAttrs, SpeakerConfig};
use vgw_lab::peers::Bird;
use vgw_lab::{wait_until, Host, Lab};

fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

fn speaker_cfg(router_id: &str, gr: Option<GracefulRestart>) -> SpeakerConfig {
    SpeakerConfig {
        asn: 65011,
        router_id: router_id.parse().expect("id"),
        listen: vec![],
        graceful_restart: gr,
    }
}

fn neighbor(addr: &str) -> NeighborConfig {
    let mut n = NeighborConfig::new("sw", addr.parse().expect("addr"), 65000);
    n.connect_retry = 1;
    n.hold_time = 9;
    n
}

/// sw (BIRD) --eth1-- n1: 10.0.0.0/24 and 2001:db8::/64.
fn two_hosts(name: &str) -> (Lab, Host, Host) {
    let lab = Lab::new(name).expect("lab");
    let sw = lab.host("sw").expect("sw");
    let n1 = lab.host("n1").expect("n1");
    lab.link((&sw, "eth1"), (&n1, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    sw.add_addr("eth1", "2001:db8::1/64").expect("addr");
    n1.add_addr("eth1", "10.0.0.11/24").expect("addr");
    n1.add_addr("eth1", "2001:db8::11/64").expect("addr");
    (lab, sw, n1)
}

fn bird_config(peers: &[(&str, &str)], extra: &str) -> String {
    let mut c = String::from(
        "router id 10.0.0.1;\nprotocol device {}\nprotocol direct { ipv4; ipv6; interface \"eth*\"; }\n\
         protocol kernel k4 { ipv4 { export all; }; merge paths on; }\n\
         protocol kernel k6 { ipv6 { export all; }; merge paths on; }\n",
    );
    for (name, addr) in peers {
        c.push_str(&format!(
            "protocol bgp {name} {{\n  local as 65000;\n  neighbor {addr} as 65011;\n  \
             passive on;\n  {extra}\n  ipv4 {{ import all; export none; }};\n  \
             ipv6 {{ import all; export none; }};\n}}\n"
        ));
    }
    c
}

#[test]
fn bird_receives_exact_attributes_withdraw_and_restart() {
    let (lab, sw, n1) = two_hosts("bgp-bird-attrs");
    let mut bird = Bird::start(&lab, &sw, &bird_config(&[("n1", "10.0.0.11")], "")).expect("bird");
    let s = NsSpeaker::start(
        &n1,
        speaker_cfg("10.0.0.11", None),
        vec![neighbor("10.0.0.1")],
    );
    bird.wait_established("n1", T).expect("established");

    let attrs = RouteAttrs {
        communities: vec!["65000:100".parse().expect("c")],
        large_communities: vec!["65011:1:2".parse().expect("lc")],
        med: Some(10),
        as_path_prepend: 2,
        local_pref: Some(300),
    };
    let a = attrs.clone();
    s.run(|sp| async move {
        sp.announce(p("192.0.2.10/32"), a.clone())
            .await
            .expect("announce");
        sp.announce(p("2001:db8:ff::10/128"), a)
            .await
            .expect("announce");
    });
    wait_until("BIRD to hold both VIPs", T, || {
        Ok(
            !bird_bgp_attrs(&bird.route_all("192.0.2.10/32")?).is_empty()
                && !bird_bgp_attrs(&bird.route_all("2001:db8:ff::10/128")?).is_empty(),
        )
    })
    .expect("routes");
    let v4 = bird_bgp_attrs(&bird.route_all("192.0.2.10/32").expect("birdc"));
    assert_eq!(
        v4,
        vec![
            "BGP.origin: IGP",
            "BGP.as_path: 65011 65011 65011",
            "BGP.next_hop: 10.0.0.11",
            "BGP.med: 10",
            "BGP.local_pref: 100",
            "BGP.community: (65000,100)",
            "BGP.large_community: (65011, 1, 2)",
        ],
        "no LOCAL_PREF is sent to an external peer (BIRD shows its own default 100)"
    );
    // The same attributes on the IPv6 route; the next hop is our global address and the
    // link-local address of n1's eth1 (RFC 2545 3: the peer is on-link).
    let ll = n1
        .run(&[
            "ip", "-6", "-o", "addr", "show", "dev", "eth1", "scope", "link",
        ])
        .expect("ip addr");
    let ll = ll
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("no link-local address on n1 eth1: {ll}"))
        .to_string();
    let v6 = bird_bgp_attrs(&bird.route_all("2001:db8:ff::10/128").expect("birdc"));
    assert_eq!(
        v6,
        vec![
            "BGP.origin: IGP".to_string(),
            "BGP.as_path: 65011 65011 65011".to_string(),
            format!("BGP.next_hop: 2001:db8::11 {ll}"),
            "BGP.med: 10".to_string(),
            "BGP.local_pref: 100".to_string(),
            "BGP.community: (65000,100)".to_string(),
            "BGP.large_community: (65011, 1, 2)".to_string(),
        ],
    );

    // What an operator sees of this session, checked against BIRD's own view of it.
    std::thread::sleep(Duration::from_millis(1100));
    let st = s.run(|sp| async move { sp.neighbor("sw").await.expect("n") });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert_eq!(st.state, State::Established);
    assert!(
        st.uptime_secs.is_some_and(|u| (1..60).contains(&u)),
        "{st:#?}"
    );
    assert!(
        st.established_at_unix
            .is_some_and(|t| t <= now && now - t < 60),
        "{st:#?}"
    );
    assert!(st.last_error.is_none(), "{st:#?}");
    assert_eq!(
        st.local_address.map(|a| a.ip()),
        Some("10.0.0.11".parse().expect("ip")),
        "{st:#?}"
    );
    let c = st.counters;
    // BIRD exports nothing: its only UPDATEs are the two End-of-RIB markers. Ours: End-of-RIB
    // for both families (the table was empty when the session came up), then one UPDATE per
    // family.
    assert_eq!(
        (c.updates_in, c.updates_out, c.prefixes_in, c.prefixes_out),
        (2, 4, 0, 2),
        "{st:#?}"
    );
    assert_eq!((c.notifications_in, c.notifications_out), (0, 0), "{st:#?}");
    assert_eq!(c.sessions_established, 1, "{st:#?}");
    // OPEN and at least one KEEPALIVE each way besides the UPDATEs.
    assert!(c.messages_in >= c.updates_in + 2, "{st:#?}");
    assert!(c.messages_out >= c.updates_out + 2, "{st:#?}");
    assert_eq!(st.rib_in.end_of_rib, 2, "{st:#?}");
    assert_eq!(st.rib_out.prefixes_announced, 2, "{st:#?}");
    let neg = st.negotiated.clone().expect("negotiated");
    assert_eq!(
        (neg.peer_as, neg.peer_id),
        (65000, "10.0.0.1".parse().expect("id"))
    );
    assert_eq!((neg.hold_time, neg.keepalive), (9, 3));
    assert!(neg.four_octet_as, "{neg:?}");
    assert!(neg.route_refresh && neg.enhanced_route_refresh, "{neg:?}");
    assert!(
        !neg.extended_message,
        "BIRD does not offer extended messages: {neg:?}"
    );
    assert!(!neg.ibgp);
    assert_eq!(
        neg.families,
        vec![
            vgw_bgp::packet::Family::IPV4_UNICAST,
            vgw_bgp::packet::Family::IPV6_UNICAST
        ]
    );
    // BIRD's default "graceful restart aware": the capability with its restart time and no
    // families.
    assert_eq!(
        neg.peer_graceful_restart,
        Some(PeerGracefulRestart {
            restart_time: 120,
            restarting: false,
            notification: false,
            families: vec![],
            forwarding: vec![],
        })
    );
    let proto = bird.birdc("show protocols all n1").expect("birdc");
    let ours = bird_section(&proto, "Neighbor capabilities");
    for cap in [
        "AF announced: ipv4 ipv6",
        "Route refresh",
        "Extended message",
        "4-octet AS numbers",
    ] {
        assert!(ours.contains(cap), "BIRD saw no {cap:?} from us: {proto}");
    }
    assert!(!ours.contains("Graceful restart"), "{proto}");
    assert!(proto.contains("Session:          external AS4"), "{proto}");
    for ch in ["Channel ipv4", "Channel ipv6"] {
        assert!(
            bird_section(&proto, ch).contains("Routes:         1 imported"),
            "{proto}"
        );
    }

    // The kernel FIB of the switch has both.
    wait_until("sw FIB to have the VIPs", T, || {
        Ok(sw
            .route("192.0.2.10/32")?
            .is_some_and(|r| r.gateways() == ["10.0.0.11"])
            && sw.route("2001:db8:ff::10/128")?.is_some())
    })
    .expect("fib");

    // Withdraw removes them from BIRD and the FIB.
    s.run(|sp| async move {
        sp.withdraw(p("192.0.2.10/32")).await.expect("withdraw");
        sp.withdraw(p("2001:db8:ff::10/128"))
            .await
            .expect("withdraw");
    });
    wait_until("BIRD to drop the VIPs", T, || {
        // birdc exits 1 ("Network not found") once the route is gone.
        Ok(
            bird_bgp_attrs(&bird.route_all("192.0.2.10/32").unwrap_or_default()).is_empty()
                && bird_bgp_attrs(&bird.route_all("2001:db8:ff::10/128").unwrap_or_default())
                    .is_empty()
                && sw.route("192.0.2.10/32")?.is_none(),
        )
    })
    .expect("withdrawn");

    // A BIRD restart: the session comes back and the table is re-announced.
    s.run(|sp| async move {
        sp.announce(p("192.0.2.20/32"), RouteAttrs::default())
            .await
            .expect("a")
    });
    wait_until("BIRD to hold 192.0.2.20", T, || {
        Ok(sw.route("192.0.2.20/32")?.is_some())
    })
    .expect("r");
    bird.restart().expect("restart");
    bird.wait_established("n1", T).expect("re-established");
    wait_until("BIRD to hold 192.0.2.20 again", T, || {
        Ok(!bird_bgp_attrs(&bird.route_all("192.0.2.20/32").unwrap_or_default()).is_empty())
    })
    .expect("re-announced");
    let st = s.run(|sp| async move { sp.neighbor("sw").await.expect("n") });
    assert_eq!(st.state, State::Established);
    assert!(st.counters.sessions_established >= 2, "{st:?}");
    assert_eq!(
        st.last_error
            .as_ref()
            .map(|e| (e.notification.code, e.direction.as_str())),
        Some((6, "received")),
        "BIRD's shutdown Cease is recorded"
    );
}

#[test]
fn bird_installs_ecmp_from_two_speakers() {
    let lab = Lab::new("bgp-bird-ecmp").expect("lab");
    let sw = lab.host("sw").expect("sw");
    let n1 = lab.host("n1").expect("n1");
    let n2 = lab.host("n2").expect("n2");
    lab.link((&sw, "eth1"), (&n1, "eth1")).expect("link");
    lab.link((&sw, "eth2"), (&n2, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    sw.add_addr("eth2", "10.0.1.1/24").expect("addr");
    n1.add_addr("eth1", "10.0.0.11/24").expect("addr");
    n2.add_addr("eth1", "10.0.1.12/24").expect("addr");
    let bird = Bird::start(
        &lab,
        &sw,
        &bird_config(&[("n1", "10.0.0.11"), ("n2", "10.0.1.12")], ""),
    )
    .expect("bird");
    let s1 = NsSpeaker::start(
        &n1,
        speaker_cfg("10.0.0.11", None),
        vec![neighbor("10.0.0.1")],
    );
    let s2 = NsSpeaker::start(
        &n2,
        speaker_cfg("10.0.1.12", None),
        vec![neighbor("10.0.1.1")],
    );
    for s in [&s1, &s2] {
        s.run(|sp| async move {
            sp.announce(p("192.0.2.10/32"), RouteAttrs::default())
                .await
                .expect("a")
        });
    }
    bird.wait_established("n1", T).expect("n1");
    bird.wait_established("n2", T).expect("n2");
    wait_until("an ECMP route with both speakers as next hops", T, || {
        Ok(sw.route("192.0.2.10/32")?.is_some_and(|r| {
            let mut g = r.gateways();
            g.sort();
            g == ["10.0.0.11", "10.0.1.12"]
        }))
    })
    .expect("ecmp");
    // One speaker withdraws: the switch keeps only the other.
    s1.run(|sp| async move { sp.withdraw(p("192.0.2.10/32")).await.expect("w") });
    wait_until("the route to shrink to one next hop", T, || {
        Ok(sw
            .route("192.0.2.10/32")?
            .is_some_and(|r| r.gateways() == ["10.0.1.12"]))
    })
    .expect("one path");
}

#[test]
fn bird_tcp_md5_right_key_up_wrong_key_never() {
    let (lab, sw, n1) = two_hosts("bgp-bird-md5");
    let bird = Bird::start(
        &lab,
        &sw,
        &bird_config(&[("n1", "10.0.0.11")], "password \"s3cret\";"),
    )
    .expect("bird");
    let mut wrong = neighbor("10.0.0.1");
    wrong.password = Some("wrong".into());
    let s = NsSpeaker::start(&n1, speaker_cfg("10.0.0.11", None), vec![wrong]);
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        !bird.established("n1").expect("birdc"),
        "wrong key must never establish"
    );
    assert_ne!(s.state("sw"), State::Established);
    drop(s);
    let mut right = neighbor("10.0.0.1");
    right.password = Some("s3cret".into());
    let s = NsSpeaker::start(&n1, speaker_cfg("10.0.0.11", None), vec![right]);
    bird.wait_established("n1", T)
        .expect("right key establishes");
    assert_eq!(s.state("sw"), State::Established);
}

#[test]
fn bird_graceful_restart_keeps_routes_across_a_crash() {
    let (lab, sw, n1) = two_hosts("bgp-bird-gr");
    let bird = Bird::start(
        &lab,
        &sw,
        &bird_config(&[("n1", "10.0.0.11")], "graceful restart on;"),
    )
    .expect("bird");
    let bin = env!("CARGO_BIN_EXE_bgp-announce");
    let cmd = |restarting: bool| {
        let mut c = std::process::Command::new(bin);
        c.args([
            "--asn",
            "65011",
            "--router-id",
            "10.0.0.11",
            "--neighbor",
            "sw,10.0.0.1,65000,connect-retry=1,hold=9",
            "--announce",
            "192.0.2.10/32,community=65000:7",
            "--announce",
            "192.0.2.11/32",
            "--graceful-restart",
            "120",
        ]);
        if restarting {
            c.arg("--restarting");
        }
        c
    };
    let first = lab.spawn(&n1, &cmd(false)).expect("spawn");
    bird.wait_established("n1", T).expect("established");
    wait_until("both routes in the FIB", T, || {
        Ok(sw.route("192.0.2.10/32")?.is_some() && sw.route("192.0.2.11/32")?.is_some())
    })
    .expect("routes");
    // BIRD's route lines carry the time the route entry was last changed: a route that was
    // withdrawn (or replaced by a different one) and announced again gets a new time.
    let headers = |what: &str| -> Vec<String> {
        ["192.0.2.10/32", "192.0.2.11/32"]
            .iter()
            .map(|pfx| {
                let text = bird.route_all(pfx).expect("birdc");
                bird_route_line(&text, pfx)
                    .unwrap_or_else(|| panic!("BIRD has no route for {pfx} {what}: {text}"))
            })
            .collect()
    };
    let before = headers("before the crash");
    let proto = bird.birdc("show protocols all n1").expect("birdc");
    assert!(
        bird_section(&proto, "Neighbor capabilities").contains("Graceful restart"),
        "BIRD saw our GR capability: {proto}"
    );

    // Watch the FIB from now on: nothing may disappear until the end.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let sw = sw.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut gaps = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for pfx in ["192.0.2.10/32", "192.0.2.11/32"] {
                    if !matches!(sw.route(pfx), Ok(Some(_))) {
                        gaps.push(pfx.to_string());
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            gaps
        })
    };
    lab.kill9(first.pid).expect("kill -9");

    // BIRD 2.0.12 prints no per-route "stale" mark; it shows the helper state per protocol:
    // "Neighbor graceful restart active" and, per channel, "Neighbor GR: Regular" (the
    // channel's routes are kept as stale until End-of-RIB or the restart timer).
    wait_until("BIRD to enter graceful restart for n1", T, || {
        Ok(bird
            .birdc("show protocols all n1")?
            .contains("Neighbor graceful restart active"))
    })
    .expect("BIRD helper mode after the crash");
    // Keep the speaker dead a while: the routes must stay the whole time.
    std::thread::sleep(Duration::from_secs(3));
    let during = bird.birdc("show protocols all n1").expect("birdc");
    assert!(!bird.established("n1").expect("birdc"), "{during}");
    assert!(
        during.contains("Neighbor graceful restart active"),
        "{during}"
    );
    let v4 = bird_section(&during, "Channel ipv4");
    assert!(
        v4.contains("Neighbor GR:    Regular"),
        "IPv4 routes held as stale: {during}"
    );
    assert!(v4.contains("Routes:         2 imported"), "{during}");
    assert_eq!(
        headers("while the speaker is dead"),
        before,
        "BIRD kept the very same route entries while the speaker was dead"
    );

    let second = lab.spawn(&n1, &cmd(true)).expect("respawn");
    bird.wait_established("n1", T).expect("re-established");
    // Our End-of-RIB for both families ends BIRD's helper mode; until then the routes stay
    // stale (BIRD would flush them when its stale timer fires).
    wait_until("BIRD to leave graceful restart after End-of-RIB", T, || {
        let t = bird.birdc("show protocols all n1")?;
        Ok(t.contains("Established")
            && !t.contains("Neighbor graceful restart active")
            && !t.contains("Neighbor GR:"))
    })
    .expect("End-of-RIB ends graceful restart");
    let after = bird.birdc("show protocols all n1").expect("birdc");
    assert!(
        bird_section(&after, "Neighbor capabilities").contains("Restart recovery"),
        "the restarted speaker set the Restart State bit: {after}"
    );
    let v4 = bird_section(&after, "Channel ipv4");
    assert!(v4.contains("Routes:         2 imported"), "{after}");
    assert_eq!(
        bird_stat(v4, "Import withdraws:"),
        Some(0),
        "no withdrawal reached BIRD: {after}"
    );
    // The re-announcements were identical, so BIRD counted them "ignored" and kept the
    // entries from before the crash: nothing was withdrawn and re-added in between.
    assert_eq!(headers("after End-of-RIB"), before, "{after}");
    let t = bird.route_all("192.0.2.10/32").expect("birdc");
    assert!(t.contains("BGP.community: (65000,7)"), "{t}");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let gaps = watcher.join().expect("watcher");
    assert!(
        gaps.is_empty(),
        "routes left the FIB during the restart: {gaps:?}; BIRD during: {during}"
    );
    let _ = second;
}

/// The line `PREFIX  unicast [PROTO TIME] ...` of `show route all for PREFIX`.
fn bird_route_line(text: &str, prefix: &str) -> Option<String> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(prefix))
        .map(|l| l.trim_end().to_string())
}

/// The block of `show protocols all` that starts with the line `title` (trimmed), up to the
/// next line indented as little or less.
fn bird_section<'a>(text: &'a str, title: &str) -> &'a str {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        match start {
            None if line.trim() == title => start = Some((offset, indent(line))),
            Some((s, i)) if !line.trim().is_empty() && indent(line) <= i => {
                return &text[s..offset];
            }
            _ => {}
        }
        offset += line.len();
    }
    start.map_or("", |(s, _)| &text[s..])
}

/// The first number ("received") of a `Route change stats` row such as `Import withdraws:`.
fn bird_stat(section: &str, row: &str) -> Option<u64> {
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix(row))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// sw (BIRD, fd00::1) --eth1-- n1 (fd00::11, fd00::12, fd00::13): sessions whose transport is
/// IPv6, one per n1 address; IPv4 on the link only for the IPv4 next hop.
fn bird_v6_transport_config() -> String {
    let proto = |name: &str, addr: &str, extra: &str| {
        format!(
            "protocol bgp {name} {{\n  local fd00::1 as 65000;\n  neighbor {addr} as 65011;\n  \
             {extra}\n  ipv4 {{ import all; export none; }};\n  \
             ipv6 {{ import all; export none; }};\n}}\n"
        )
    };
    [
        "router id 10.0.0.1;\nprotocol device {}\nprotocol direct { ipv4; ipv6; interface \"eth*\"; }\n\
         protocol kernel k4 { ipv4 { export all; }; merge paths on; }\n\
         protocol kernel k6 { ipv6 { export all; }; merge paths on; }\n"
            .to_string(),
        proto("plain", "fd00::11", "passive on;"),
        proto("sigout", "fd00::12", "passive on; password \"s3cret\";"),
        // BIRD connects to our listener; it retries every 2 s after an unanswered SYN.
        proto(
            "sigin",
            "fd00::13",
            "password \"s3cret\"; connect delay time 1; connect retry time 2;",
        ),
    ]
    .concat()
}

#[test]
fn bird_session_over_ipv6_transport_plain_and_tcp_md5() {
    let lab = Lab::new("bgp-bird-v6tr").expect("lab");
    let sw = lab.host("sw").expect("sw");
    let n1 = lab.host("n1").expect("n1");
    lab.link((&sw, "eth1"), (&n1, "eth1")).expect("link");
    for (h, a) in [
        (&sw, "fd00::1/64"),
        (&sw, "10.0.0.1/24"),
        (&n1, "fd00::11/64"),
        (&n1, "fd00::12/64"),
        (&n1, "fd00::13/64"),
        (&n1, "10.0.0.11/24"),
    ] {
        h.add_addr("eth1", a).expect("addr");
    }
    let bird = Bird::start(&lab, &sw, &bird_v6_transport_config()).expect("bird");
    let v6_neighbor = |local: &str, password: Option<&str>, passive: bool| {
        let mut n = neighbor("fd00::1");
        n.local_address = Some(local.parse().expect("local"));
        n.password = password.map(str::to_string);
        n.passive = passive;
        n
    };
    let listener = |password| {
        let mut cfg = speaker_cfg("10.0.0.13", None);
        cfg.listen = vec!["[fd00::13]:179".parse().expect("listen")];
        NsSpeaker::start(&n1, cfg, vec![v6_neighbor("fd00::13", password, true)])
    };

    // Plain session over IPv6, we connect: both families' routes arrive with our next hops.
    let plain = NsSpeaker::start(
        &n1,
        speaker_cfg("10.0.0.11", None),
        vec![v6_neighbor("fd00::11", None, false)],
    );
    // TCP-MD5 with the wrong key, both directions: we connect to BIRD, BIRD connects to us.
    let wrong_out = NsSpeaker::start(
        &n1,
        speaker_cfg("10.0.0.12", None),
        vec![v6_neighbor("fd00::12", Some("wrong"), false)],
    );
    let wrong_in = listener(Some("wrong"));

    bird.wait_established("plain", T).expect("plain session");
    let st = plain.run(|sp| async move { sp.neighbor("sw").await.expect("n") });
    assert_eq!(st.state, State::Established);
    assert_eq!(
        st.address,
        "fd00::1".parse::<std::net::IpAddr>().expect("ip")
    );
    assert_eq!(
        st.local_address.map(|a| a.ip()),
        Some("fd00::11".parse().expect("ip")),
        "{st:#?}"
    );
    let neg = st.negotiated.expect("negotiated");
    assert_eq!(
        neg.families,
        vec![
            vgw_bgp::packet::Family::IPV4_UNICAST,
            vgw_bgp::packet::Family::IPV6_UNICAST
        ]
    );
    let proto = bird.birdc("show protocols all plain").expect("birdc");
    assert!(proto.contains("Neighbor address: fd00::11"), "{proto}");
    assert!(proto.contains("Source address:   fd00::1"), "{proto}");
    plain.run(|sp| async move {
        sp.announce(p("192.0.2.10/32"), RouteAttrs::default())
            .await
            .expect("announce");
        sp.announce(p("2001:db8:ff::10/128"), RouteAttrs::default())
            .await
            .expect("announce");
    });
    wait_until("BIRD to hold both VIPs from the IPv6 session", T, || {
        Ok(
            !bird_bgp_attrs(&bird.route_all("192.0.2.10/32")?).is_empty()
                && !bird_bgp_attrs(&bird.route_all("2001:db8:ff::10/128")?).is_empty(),
        )
    })
    .expect("routes");
    let v4 = bird.route_all("192.0.2.10/32").expect("birdc");
    assert!(v4.contains("[plain "), "{v4}");
    assert!(
        bird_bgp_attrs(&v4).contains(&"BGP.next_hop: 10.0.0.11".to_string()),
        "IPv4 next hop from the interface of the IPv6 session: {v4}"
    );
    let v6 = bird.route_all("2001:db8:ff::10/128").expect("birdc");
    assert!(
        bird_bgp_attrs(&v6)
            .iter()
            .any(|l| l.starts_with("BGP.next_hop: fd00::11 fe80::")),
        "IPv6 next hop is the session address + link-local: {v6}"
    );
    wait_until("sw FIB to have both VIPs", T, || {
        Ok(sw
            .route("192.0.2.10/32")?
            .is_some_and(|r| r.gateways() == ["10.0.0.11"])
            && sw.route("2001:db8:ff::10/128")?.is_some())
    })
    .expect("fib");

    // The wrong keys: signed SYNs with a bad signature are dropped by the kernel, so neither
    // session ever gets as far as an OPEN (by now BIRD and we have retried several times).
    std::thread::sleep(Duration::from_secs(8));
    for name in ["sigout", "sigin"] {
        assert!(
            !bird.established(name).expect("birdc"),
            "wrong key must never establish ({name}): {}",
            bird.birdc("show protocols all").unwrap_or_default()
        );
    }
    assert_ne!(wrong_out.state("sw"), State::Established);
    assert_ne!(wrong_in.state("sw"), State::Established);
    let st = wrong_out.run(|sp| async move { sp.neighbor("sw").await.expect("n") });
    assert_eq!(st.counters.messages_in, 0, "{st:#?}");
    drop(wrong_out);
    drop(wrong_in);

    // The right key, both directions.
    let right_out = NsSpeaker::start(
        &n1,
        speaker_cfg("10.0.0.12", None),
        vec![v6_neighbor("fd00::12", Some("s3cret"), false)],
    );
    let right_in = listener(Some("s3cret"));
    bird.wait_established("sigout", T)
        .expect("right key establishes (we connect)");
    bird.wait_established("sigin", T)
        .expect("right key establishes (BIRD connects)");
    for (s, local) in [(&right_out, "fd00::12"), (&right_in, "fd00::13")] {
        let st = s.run(|sp| async move { sp.neighbor("sw").await.expect("n") });
        assert_eq!(st.state, State::Established, "{st:#?}");
        assert_eq!(
            st.local_address.map(|a| a.ip()),
            Some(local.parse().expect("ip")),
            "{st:#?}"
        );
    }
    let in_port = right_in
        .run(|sp| async move { sp.neighbor("sw").await.expect("n") })
        .local_address
        .map(|a| a.port());
    assert_eq!(in_port, Some(179), "BIRD connected to our listener");
    right_out.run(|sp| async move {
        sp.announce(p("192.0.2.20/32"), RouteAttrs::default())
            .await
            .expect("announce")
    });
    wait_until("BIRD to hold 192.0.2.20 from the MD5 session", T, || {
        Ok(bird.route_all("192.0.2.20/32")?.contains("[sigout "))
    })
    .expect("route over the MD5 session");
}
