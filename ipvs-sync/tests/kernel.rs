//! Real-kernel tests: Linux IPVS in the lab VM (re-run there when this kernel has none). Each
//! scenario gets its own network namespace, so its own IPVS table. The table is read back
//! through this crate's dump AND through `ipvsadm -Sn`, and both must match what was asked.

#[path = "kernel_support/ipvsadm.rs"]
mod ipvsadm;

use std::net::IpAddr;
use std::path::Path;

use rand::{rngs::StdRng, Rng, SeedableRng};
use vgw_ipvs::model::{
    Af, DaemonConfig, DaemonState, Destination, FwdMethod, Protocol, Service, ServiceFlags,
    ServiceKey, TunType, TUN_F_CSUM,
};
use vgw_ipvs::netlink::Dialect;
use vgw_ipvs::reconcile::{plan, Op, Ownership, ServiceState, State};
use vgw_ipvs::{IpvsClient, NetlinkTransport};
use vgw_lab::{Host, Lab};

const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Run an async body with a client inside `host`'s namespace.
fn with_client<R: Send>(
    host: &Host,
    f: impl AsyncFnOnce(&mut IpvsClient<NetlinkTransport>) -> R + Send,
) -> R {
    host.run_in(move || {
        runtime().block_on(async move {
            let mut c = vgw_ipvs::connect().await.expect("connect to kernel IPVS");
            f(&mut c).await
        })
    })
    .expect("inside the namespace")
}

/// Whether the kernel can use scheduler `name` (built in, loaded, or loadable).
fn scheduler_available(name: &str) -> bool {
    if Path::new(&format!("/sys/module/ip_vs_{name}")).exists() {
        return true;
    }
    std::process::Command::new("modprobe")
        .arg(format!("ip_vs_{name}"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether the running kernel ships scheduler `name` as a module (Debian builds them all as
/// modules): every one it ships must then be usable.
fn scheduler_shipped(name: &str) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = format!("/lib/modules/{}/kernel/net/netfilter/ipvs", release.trim());
    std::fs::read_dir(&dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("ip_vs_{name}.ko"))
        })
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}

fn assert_table(host: &Host, desired: &State, what: &str) {
    let got = with_client(host, async |c| c.read_state().await.unwrap());
    let ops = plan(desired, &got, &Ownership::All);
    assert!(
        ops.is_empty(),
        "{what}: crate dump differs from desired: {ops:#?}"
    );
    let rules = host.run(&["ipvsadm", "-Sn"]).unwrap();
    let mut parsed = ipvsadm::parse_rules(&rules);
    // -S does not print thresholds; take them from the listing that does.
    let listing = host.run(&["ipvsadm", "-Ln", "--thresholds"]).unwrap();
    ipvsadm::add_thresholds(&mut parsed, &listing);
    let ops = plan(desired, &parsed, &Ownership::All);
    assert!(
        ops.is_empty(),
        "{what}: ipvsadm -Sn differs from desired: {ops:#?}\n{rules}"
    );
    println!(
        "{what}: {} services, {} reals match (crate dump and ipvsadm -Sn)",
        desired.services.len(),
        desired.dest_count()
    );
}

fn apply_all(host: &Host, ops: Vec<vgw_ipvs::Op>) {
    with_client(host, async move |c| {
        let res = c.apply(&ops).await;
        for (op, r) in ops.iter().zip(&res) {
            if let Err(e) = r {
                panic!("{op}: {e}");
            }
        }
    });
}

/// Every scheduler this kernel ships, every forwarding method and tunnel type, v4 and v6,
/// fwmark services, scheduler flags, one-packet, persistence with netmask, thresholds, SCTP,
/// an IPv6 real behind an IPv4 tunnel service, and the SIP persistence engine when available.
fn everything(pe_sip: bool) -> State {
    let mut st = State::default();
    let mut n = 0u8;
    assert!(
        SCHEDULERS.iter().any(|s| scheduler_shipped(s)),
        "no ip_vs_* scheduler module found under /lib/modules/<release>: cannot tell which \
         schedulers this kernel ships"
    );
    let usable: Vec<&&str> = SCHEDULERS
        .iter()
        .filter(|s| {
            let ok = scheduler_available(s);
            assert!(
                ok || !scheduler_shipped(s),
                "the kernel ships ip_vs_{s} but it cannot be loaded"
            );
            ok
        })
        .collect();
    for sched in usable {
        n += 1;
        let key = tcp(&format!("192.0.2.{n}"), 80);
        let mut s = Service::new(key, sched);
        match *sched {
            "sh" | "mh" => s.flags = ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2),
            "wrr" => {
                s.timeout = 300;
                s.netmask = 0xffff_ff00;
            }
            _ => {}
        }
        let mut svc = ServiceState::new(s)
            .with_dest(Destination::new(ip("10.1.0.1"), 8080, FwdMethod::Masq, 1))
            .with_dest(Destination::new(ip("10.1.0.2"), 80, FwdMethod::Route, 2));
        let mut t = Destination::new(ip("10.1.0.3"), 80, FwdMethod::Tunnel, 3);
        t.u_thresh = 1000;
        t.l_thresh = 100;
        svc = svc.with_dest(t);
        st.insert(svc);
    }
    println!("schedulers available: {n} of {}", SCHEDULERS.len());
    // Tunnel types.
    let mut tun = ServiceState::new(Service::new(tcp("192.0.2.100", 443), "wlc"));
    let mut gue = Destination::new(ip("10.2.0.1"), 443, FwdMethod::Tunnel, 1);
    gue.tunnel.tun_type = TunType::Gue;
    gue.tunnel.port = 6080;
    let mut gre = Destination::new(ip("10.2.0.2"), 443, FwdMethod::Tunnel, 1);
    gre.tunnel.tun_type = TunType::Gre;
    gre.tunnel.flags = TUN_F_CSUM;
    let mixed = Destination::new(ip("2001:db8:2::1"), 443, FwdMethod::Tunnel, 1);
    tun = tun.with_dest(gue).with_dest(gre).with_dest(mixed);
    st.insert(tun);
    // IPv6 services.
    let mut v6 = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: ip("2001:db8::53"),
            port: 53,
        },
        "rr",
    );
    v6.flags = ServiceFlags(ServiceFlags::ONEPACKET);
    st.insert(
        ServiceState::new(v6)
            .with_dest(Destination::new(
                ip("2001:db8:1::1"),
                53,
                FwdMethod::Route,
                1,
            ))
            .with_dest(Destination::new(
                ip("2001:db8:1::2"),
                5353,
                FwdMethod::Masq,
                1,
            ))
            .with_dest(Destination::new(
                ip("2001:db8:1::3"),
                53,
                FwdMethod::Tunnel,
                1,
            )),
    );
    let mut v6p = Service::new(tcp("2001:db8::80", 80), "wlc");
    v6p.timeout = 60;
    v6p.netmask = 64;
    st.insert(ServiceState::new(v6p).with_dest(Destination::new(
        ip("2001:db8:1::1"),
        80,
        FwdMethod::Route,
        5,
    )));
    // Fwmark services, v4 and v6.
    st.insert(
        ServiceState::new(Service::new(
            ServiceKey::Fwmark {
                af: Af::Inet,
                mark: 7,
            },
            "wrr",
        ))
        .with_dest(Destination::new(ip("10.3.0.1"), 0, FwdMethod::Route, 1))
        .with_dest(Destination::new(ip("10.3.0.2"), 0, FwdMethod::Tunnel, 0)),
    );
    st.insert(
        ServiceState::new(Service::new(
            ServiceKey::Fwmark {
                af: Af::Inet6,
                mark: 8,
            },
            "sh",
        ))
        .with_dest(Destination::new(
            ip("2001:db8:3::1"),
            0,
            FwdMethod::Route,
            1,
        )),
    );
    // SCTP.
    st.insert(
        ServiceState::new(Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Sctp,
                addr: ip("192.0.2.200"),
                port: 3868,
            },
            "rr",
        ))
        .with_dest(Destination::new(ip("10.4.0.1"), 3868, FwdMethod::Masq, 1)),
    );
    if pe_sip {
        let mut sip = Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                addr: ip("192.0.2.201"),
                port: 5060,
            },
            "rr",
        );
        sip.timeout = 120;
        sip.pe_name = Some("sip".into());
        st.insert(ServiceState::new(sip).with_dest(Destination::new(
            ip("10.5.0.1"),
            5060,
            FwdMethod::Masq,
            1,
        )));
    }
    st
}

fn program_everything(lab: &Lab) {
    let h = lab.host("every").unwrap();
    let dialect = with_client(&h, async |c| {
        let info = c.info().await.unwrap();
        assert_eq!(info.version_string(), "1.2.1");
        assert!(info.conn_tab_size > 0);
        let fam = c.family().clone();
        println!(
            "family id {} version {} maxattr {} ops {:?}",
            fam.family_id, fam.version, fam.maxattr, fam.ops
        );
        // SET_INFO (14) exists only as a reply command, so the kernel does not list it.
        assert_eq!(
            fam.ops,
            (1..=17).filter(|op| *op != 14).collect::<Vec<u32>>()
        );
        c.dialect().clone()
    });
    assert!(
        matches!(dialect, Dialect::Mainline(f) if f.kernel.is_some()),
        "{dialect}"
    );
    println!("dialect: {dialect}");
    let pe_sip = std::process::Command::new("modprobe")
        .arg("ip_vs_pe_sip")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    println!("SIP persistence engine available: {pe_sip}");
    let desired = everything(pe_sip);
    let ops = plan(&desired, &State::default(), &Ownership::All);
    apply_all(&h, ops);
    assert_table(&h, &desired, "every scheduler/method");

    // Edit in place: scheduler + flags change, weight change, thresholds.
    let mut next = desired.clone();
    let first = *next.services.keys().next().unwrap();
    let s = next.services.get_mut(&first).unwrap();
    s.service.scheduler = "sh".into();
    s.service.flags = ServiceFlags(ServiceFlags::SCHED1);
    let d = s.dests.values_mut().next().unwrap();
    d.weight = 0;
    d.u_thresh = 5;
    let ops = with_client(&h, async |c| c.read_state().await.unwrap());
    let ops = plan(&next, &ops, &Ownership::All);
    assert_eq!(ops.len(), 2, "{ops:#?}");
    apply_all(&h, ops);
    assert_table(&h, &next, "after in-place edits");

    // Timeouts round trip.
    with_client(&h, async |c| {
        let t = vgw_ipvs::model::Timeouts {
            tcp: 901,
            tcp_fin: 121,
            udp: 301,
        };
        c.set_timeouts(&t).await.unwrap();
        assert_eq!(c.timeouts().await.unwrap(), t);
        c.zero(None).await.unwrap();
        c.zero(Some(&first)).await.unwrap();
    });
    let out = h.run(&["ipvsadm", "-L", "--timeout"]).unwrap();
    assert!(out.contains("901 121 301"), "{out}");
}

fn errors_and_idempotent_deletes(lab: &Lab) {
    let h = lab.host("errors").unwrap();
    with_client(&h, async |c| {
        let key = tcp("192.0.2.1", 80);
        c.add_service(&Service::new(key, "rr")).await.unwrap();
        let e = c.add_service(&Service::new(key, "rr")).await.unwrap_err();
        assert_eq!(e.errno(), Some(libc::EEXIST), "{e}");
        println!("duplicate add: {e}");
        let e = c
            .add_service(&Service::new(tcp("192.0.2.2", 80), "nosuchsched"))
            .await
            .unwrap_err();
        println!("unknown scheduler: {e}");
        assert!(e.errno().is_some());
        let real = Destination::new(ip("10.0.0.1"), 80, FwdMethod::Route, 1);
        c.del_dest(&key, &real.key()).await.unwrap();
        c.del_service(&key).await.unwrap();
        c.del_service(&key).await.unwrap();
        assert!(c.service(&key).await.unwrap().is_none());
        let e = c.add_dest(&key, &real).await.unwrap_err();
        println!("real on a missing service: {e}");
        assert!(e.errno().is_some());
    });
}

fn random_state(rng: &mut StdRng) -> State {
    let scheds = ["rr", "wrr", "lc", "sh", "mh"];
    let mut st = State::default();
    for _ in 0..rng.random_range(0..12) {
        let key = if rng.random_bool(0.2) {
            ServiceKey::Fwmark {
                af: if rng.random_bool(0.5) {
                    Af::Inet
                } else {
                    Af::Inet6
                },
                mark: rng.random_range(1..5),
            }
        } else if rng.random_bool(0.3) {
            tcp(&format!("2001:db8::{}", rng.random_range(1..5)), 80)
        } else {
            tcp(
                &format!("192.0.2.{}", rng.random_range(1..8)),
                [80, 443][rng.random_range(0..2)],
            )
        };
        let mut s = Service::new(key, scheds[rng.random_range(0..scheds.len())]);
        if rng.random_bool(0.3) {
            s.timeout = 60;
        }
        let mut svc = ServiceState::new(s);
        for _ in 0..rng.random_range(0..6) {
            let fwd =
                [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel][rng.random_range(0..3)];
            let addr = match key.af() {
                Af::Inet => ip(&format!("10.1.1.{}", rng.random_range(1..8))),
                Af::Inet6 => ip(&format!("2001:db8:9::{}", rng.random_range(1..8))),
            };
            let port = match (key, fwd) {
                (ServiceKey::Fwmark { .. }, _) => 0,
                (_, FwdMethod::Masq) => 8080,
                _ => 80,
            };
            svc = svc.with_dest(Destination::new(addr, port, fwd, rng.random_range(0..5)));
        }
        st.insert(svc);
    }
    st
}

fn random_reconcile(lab: &Lab) {
    let h = lab.host("random").unwrap();
    let mut rng = StdRng::seed_from_u64(61);
    for round in 0..8 {
        let start = random_state(&mut rng);
        let desired = random_state(&mut rng);
        with_client(&h, async |c| {
            c.flush().await.unwrap();
            let res = c
                .apply(&plan(&start, &State::default(), &Ownership::All))
                .await;
            assert!(res.iter().all(Result::is_ok), "round {round}: {res:?}");
            let actual = c.read_state().await.unwrap();
            let ops = plan(&desired, &actual, &Ownership::All);
            let res = c.apply(&ops).await;
            for (op, r) in ops.iter().zip(&res) {
                assert!(r.is_ok(), "round {round}: {op}: {r:?}");
            }
            let after = c.read_state().await.unwrap();
            let again = plan(&desired, &after, &Ownership::All);
            assert!(again.is_empty(), "round {round}: second plan {again:#?}");
            println!("round {round}: {} ops, second plan empty", ops.len());
        });
        assert_table(&h, &desired, &format!("random round {round}"));
    }
}

fn drift_repair_and_ownership(lab: &Lab) {
    let h = lab.host("drift").unwrap();
    let mut desired = State::default();
    for i in 1..=3u8 {
        let mut s = ServiceState::new(Service::new(tcp(&format!("192.0.2.{i}"), 80), "wrr"));
        for j in 1..=3u8 {
            s = s.with_dest(Destination::new(
                ip(&format!("10.0.{i}.{j}")),
                80,
                FwdMethod::Route,
                10,
            ));
        }
        desired.insert(s);
    }
    let own = Ownership::Match {
        prefixes: vec![(ip("192.0.2.0"), 24)],
        fwmarks: vec![],
    };
    // The operator's own service, outside vgw's prefix.
    h.run(&["ipvsadm", "-A", "-t", "203.0.113.5:22", "-s", "rr"])
        .unwrap();
    h.run(&[
        "ipvsadm",
        "-a",
        "-t",
        "203.0.113.5:22",
        "-r",
        "10.9.9.9:22",
        "-g",
    ])
    .unwrap();
    let reconcile = |h: &Host| {
        with_client(h, async |c| {
            let actual = c.read_state().await.unwrap();
            let ops = plan(&desired, &actual, &own);
            let res = c.apply(&ops).await;
            assert!(res.iter().all(Result::is_ok), "{res:?}");
            let again = plan(&desired, &c.read_state().await.unwrap(), &own);
            assert!(again.is_empty(), "second plan {again:#?}");
            ops.len()
        })
    };
    assert_eq!(reconcile(&h), 12);
    // Drift made by hand, like keepalived issue 1877.
    h.run(&["ipvsadm", "-d", "-t", "192.0.2.1:80", "-r", "10.0.1.2:80"])
        .unwrap();
    h.run(&[
        "ipvsadm",
        "-e",
        "-t",
        "192.0.2.2:80",
        "-r",
        "10.0.2.1:80",
        "-g",
        "-w",
        "99",
    ])
    .unwrap();
    h.run(&["ipvsadm", "-D", "-t", "192.0.2.3:80"]).unwrap();
    h.run(&["ipvsadm", "-A", "-t", "192.0.2.77:80", "-s", "rr"])
        .unwrap();
    let n = reconcile(&h);
    // 1 re-add + 1 weight + (service + 3 reals) + removal of the stray owned service.
    assert_eq!(n, 7, "drift repair ops");
    let rules = h.run(&["ipvsadm", "-Sn"]).unwrap();
    assert!(rules.contains("-A -t 203.0.113.5:22 -s rr"), "{rules}");
    assert!(
        rules.contains("-a -t 203.0.113.5:22 -r 10.9.9.9:22 -g -w 1"),
        "{rules}"
    );
    assert!(!rules.contains("192.0.2.77"), "{rules}");
    let mut with_operator = desired.clone();
    with_operator.insert(
        ServiceState::new(Service::new(tcp("203.0.113.5", 22), "rr")).with_dest(Destination::new(
            ip("10.9.9.9"),
            22,
            FwdMethod::Route,
            1,
        )),
    );
    assert_table(
        &h,
        &with_operator,
        "drift repaired, operator's service kept",
    );
}

fn sync_daemons(lab: &Lab) {
    let h = lab.host("sync").unwrap();
    h.ip(&["link", "add", "d0", "type", "dummy"]).unwrap();
    h.ip(&["link", "set", "d0", "up"]).unwrap();
    h.add_addr("d0", "10.77.0.1/24").unwrap();
    with_client(&h, async |c| {
        let master = DaemonConfig {
            state: DaemonState::Master,
            mcast_ifn: "d0".into(),
            sync_id: 42,
            sync_maxlen: Some(1200),
            mcast_group: Some(ip("239.0.0.42")),
            mcast_port: Some(9100),
            mcast_ttl: Some(3),
        };
        let backup = DaemonConfig {
            state: DaemonState::Backup,
            mcast_ifn: "d0".into(),
            sync_id: 42,
            sync_maxlen: Some(1200),
            mcast_group: Some(ip("239.0.0.42")),
            mcast_port: Some(9100),
            mcast_ttl: Some(3),
        };
        c.start_daemon(&master).await.unwrap();
        c.start_daemon(&backup).await.unwrap();
        let mut got = c.daemons().await.unwrap();
        got.sort_by_key(|d| d.state);
        assert_eq!(got, vec![master.clone(), backup.clone()]);
        let e = c.start_daemon(&master).await.unwrap_err();
        println!("second master: {e}");
    });
    let out = h.run(&["ipvsadm", "-L", "--daemon"]).unwrap();
    println!("{out}");
    assert!(out.contains("master sync daemon (mcast=d0, syncid=42, maxlen=1200, group=239.0.0.42, port=9100, ttl=3)"), "{out}");
    assert!(out.contains("backup sync daemon (mcast=d0, syncid=42, maxlen=1200, group=239.0.0.42, port=9100, ttl=3)"), "{out}");
    with_client(&h, async |c| {
        c.stop_daemon(DaemonState::Master).await.unwrap();
        c.stop_daemon(DaemonState::Master).await.unwrap();
        let left = c.daemons().await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].state, DaemonState::Backup);
        // Defaults: only the mandatory attributes, the kernel fills in the rest.
        c.stop_daemon(DaemonState::Backup).await.unwrap();
        c.start_daemon(&DaemonConfig::new(DaemonState::Master, "d0", 1))
            .await
            .unwrap();
        let d = c.daemons().await.unwrap();
        assert_eq!(d[0].mcast_group, Some(ip("224.0.0.81")));
        assert_eq!(d[0].mcast_port, Some(8848));
        // Linux 6.1 (seen under TCG): a DEL_DAEMON that arrives before the new master thread
        // has run once can leave the request without an answer. Wait for the thread's
        // "sync thread started" line first.
        vgw_lab::wait_until(
            "master sync thread running",
            std::time::Duration::from_secs(20),
            || {
                let log = std::process::Command::new("dmesg").output()?;
                Ok(String::from_utf8_lossy(&log.stdout)
                    .contains("sync thread started: state = MASTER, mcast_ifn = d0, syncid = 1,"))
            },
        )
        .unwrap();
        c.stop_daemon(DaemonState::Master).await.unwrap();
        assert!(c.daemons().await.unwrap().is_empty());
    });
    let out = h.run(&["ipvsadm", "-L", "--daemon"]).unwrap();
    assert!(out.trim().is_empty(), "{out}");
}

/// Without CAP_NET_ADMIN every IPVS command is refused; the error must say what to do.
fn unprivileged_is_told_to_run_as_root(lab: &Lab) {
    let h = lab.host("eperm").unwrap();
    let probe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipvs-probe"));
    let out = h
        .exec(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            probe.to_str().unwrap(),
        ])
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("unprivileged: {}", stderr.trim());
    assert!(!out.status.success());
    assert!(
        stderr.contains("needs CAP_NET_ADMIN (run as root)"),
        "{stderr}"
    );
    // As root the same probe works.
    let out = h.exec(&[probe.to_str().unwrap()]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("dialect: mainline IPVS (kernel 6.1)"));
}

/// A pipelined batch of 600 operations with two that the kernel refuses in the middle: each
/// result maps back to its own operation (the errors carry the object), and every other
/// operation of the batch took effect.
fn pipelined_batch_with_errors(lab: &Lab) {
    let h = lab.host("pipeline").unwrap();
    h.ip(&["link", "add", "reals", "type", "dummy"]).unwrap();
    h.ip(&["link", "set", "reals", "up"]).unwrap();
    h.add_addr("reals", "10.1.0.254/24").unwrap();
    let mut ops = Vec::new();
    for i in 0..200u16 {
        let key = tcp("192.0.2.200", 1000 + i);
        ops.push(Op::AddService(Service::new(key, "rr")));
        ops.push(Op::AddDest(
            key,
            Destination::new(ip("10.1.0.1"), 80, FwdMethod::Route, 1),
        ));
        ops.push(Op::AddDest(
            key,
            Destination::new(ip("10.1.0.2"), 80, FwdMethod::Route, 1),
        ));
    }
    // A real of a service that does not exist, and a second copy of an existing real.
    let missing = tcp("192.0.2.201", 1);
    ops.insert(
        250,
        Op::AddDest(
            missing,
            Destination::new(ip("10.1.0.9"), 80, FwdMethod::Route, 1),
        ),
    );
    ops.insert(
        400,
        Op::AddDest(
            tcp("192.0.2.200", 1000),
            Destination::new(ip("10.1.0.1"), 80, FwdMethod::Route, 1),
        ),
    );
    let (res, state) = with_client(&h, async |c| {
        let res = c.apply(&ops).await;
        (res, c.read_state().await.unwrap())
    });
    assert_eq!(res.len(), ops.len());
    let failed: Vec<usize> = res
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, [250, 400], "{res:?}");
    let e250 = res[250].as_ref().unwrap_err().to_string();
    assert!(
        e250.contains("192.0.2.201"),
        "error names its object: {e250}"
    );
    let e400 = res[400].as_ref().unwrap_err().to_string();
    assert!(e400.contains("10.1.0.1"), "error names its object: {e400}");
    assert_eq!(
        state.services.len(),
        200,
        "every service of the batch exists"
    );
    assert_eq!(state.dest_count(), 400, "every real of the batch exists");
    println!(
        "pipelined batch of {}: errors at 250 ({e250}) and 400 ({e400})",
        ops.len()
    );
}

#[test]
fn real_kernel_ipvs() {
    if let Some(outcome) = vgw_lab::vm::reexec_test("real_kernel_ipvs").unwrap() {
        assert_eq!(
            outcome.status, 0,
            "the test failed inside the VM (output above)"
        );
        return;
    }
    let lab = Lab::new("ipvs").unwrap();
    program_everything(&lab);
    errors_and_idempotent_deletes(&lab);
    random_reconcile(&lab);
    drift_repair_and_ownership(&lab);
    sync_daemons(&lab);
    pipelined_batch_with_errors(&lab);
    unprivileged_is_told_to_run_as_root(&lab);
}
