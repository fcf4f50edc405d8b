//! The reconciler: exact plans for the cases that matter, and randomized (fixed-seed) runs
//! proving that applying a plan to `actual` in the simulator yields `desired` for the owned
//! services, leaves the others alone, and that a second plan is empty.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use rand::{rngs::StdRng, Rng, SeedableRng};
use vgw_ipvs::model::{
    Af, DestKey, Destination, FwdMethod, Protocol, Service, ServiceFlags, ServiceKey,
};
use vgw_ipvs::reconcile::{plan, simulate, Op, Ownership, ServiceState, State};

fn key(last: u8, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
        port,
    }
}

fn real(last: u8, weight: u32) -> Destination {
    Destination::new(
        IpAddr::V4(Ipv4Addr::new(10, 1, 1, last)),
        8080,
        FwdMethod::Masq,
        weight,
    )
}

fn state(svcs: Vec<ServiceState>) -> State {
    let mut s = State::default();
    for x in svcs {
        s.insert(x);
    }
    s
}

fn svc(k: ServiceKey, sched: &str, reals: &[(u8, u32)]) -> ServiceState {
    let mut s = ServiceState::new(Service::new(k, sched));
    for (l, w) in reals {
        s = s.with_dest(real(*l, *w));
    }
    s
}

#[test]
fn empty_to_table_adds_services_then_dests() {
    let desired = state(vec![svc(key(1, 80), "rr", &[(1, 1), (2, 1)])]);
    let ops = plan(&desired, &State::default(), &Ownership::All);
    assert_eq!(
        ops,
        vec![
            Op::AddService(Service::new(key(1, 80), "rr")),
            Op::AddDest(key(1, 80), real(1, 1)),
            Op::AddDest(key(1, 80), real(2, 1)),
        ]
    );
}

#[test]
fn identical_table_is_adopted_with_no_ops() {
    let t = state(vec![svc(key(1, 80), "wrr", &[(1, 5)])]);
    assert!(plan(&t, &t, &Ownership::All).is_empty());
}

#[test]
fn weight_change_is_one_set_dest() {
    let actual = state(vec![svc(key(1, 80), "wrr", &[(1, 5), (2, 5)])]);
    let desired = state(vec![svc(key(1, 80), "wrr", &[(1, 5), (2, 0)])]);
    assert_eq!(
        plan(&desired, &actual, &Ownership::All),
        vec![Op::EditDest(key(1, 80), real(2, 0))]
    );
}

#[test]
fn scheduler_and_flag_change_edit_the_service_in_place() {
    let actual = state(vec![svc(key(1, 80), "rr", &[(1, 1)])]);
    let mut want = svc(key(1, 80), "sh", &[(1, 1)]);
    want.service.flags = ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2);
    want.service.timeout = 300;
    let desired = state(vec![want.clone()]);
    assert_eq!(
        plan(&desired, &actual, &Ownership::All),
        vec![Op::EditService(want.service)]
    );
}

#[test]
fn kernel_owned_bits_do_not_cause_edits() {
    let mut have = svc(key(1, 80), "rr", &[]);
    have.service.flags = ServiceFlags(ServiceFlags::HASHED | ServiceFlags::PERSISTENT);
    have.service.timeout = 60;
    have.service.est_timeout = Some(90);
    let mut want = svc(key(1, 80), "rr", &[]);
    want.service.timeout = 60;
    // Netmask matters only for persistent services; tunnel settings only in TUNNEL mode.
    let mut a = have.clone();
    a.service.flags = ServiceFlags(ServiceFlags::HASHED);
    a.service.timeout = 0;
    a.service.netmask = 0;
    let mut d = real(1, 1);
    d.tunnel.port = 99;
    a = a.with_dest(d);
    let w = svc(key(1, 80), "rr", &[(1, 1)]);
    assert!(plan(&state(vec![want]), &state(vec![have]), &Ownership::All).is_empty());
    assert!(plan(&state(vec![w]), &state(vec![a]), &Ownership::All).is_empty());
}

#[test]
fn order_never_black_holes() {
    // Replace real 1 by real 3 in an existing service, move service 80 -> 81.
    let actual = state(vec![
        svc(key(1, 80), "rr", &[(1, 1), (2, 1)]),
        svc(key(1, 443), "rr", &[(1, 1)]),
    ]);
    let desired = state(vec![
        svc(key(1, 81), "rr", &[(1, 1), (2, 1)]),
        svc(key(1, 443), "wrr", &[(3, 1)]),
    ]);
    let ops = plan(&desired, &actual, &Ownership::All);
    assert_eq!(
        ops,
        vec![
            Op::AddService(Service::new(key(1, 81), "rr")),
            Op::AddDest(key(1, 81), real(1, 1)),
            Op::AddDest(key(1, 81), real(2, 1)),
            Op::AddDest(key(1, 443), real(3, 1)),
            Op::EditService(Service::new(key(1, 443), "wrr")),
            Op::DelDest(key(1, 443), real(1, 1).key()),
            Op::DelDest(key(1, 80), real(1, 1).key()),
            Op::DelDest(key(1, 80), real(2, 1).key()),
            Op::DelService(key(1, 80)),
        ]
    );
}

#[test]
fn unowned_services_are_left_alone() {
    let operator = svc(key(200, 22), "rr", &[(9, 1)]);
    let actual = state(vec![operator.clone(), svc(key(1, 80), "rr", &[(1, 1)])]);
    let desired = State::default();
    let only_vips = Ownership::Match {
        prefixes: vec![("192.0.2.0".parse().unwrap(), 28)],
        fwmarks: vec![(100, 199)],
    };
    let ops = plan(&desired, &actual, &only_vips);
    assert_eq!(
        ops,
        vec![
            Op::DelDest(key(1, 80), real(1, 1).key()),
            Op::DelService(key(1, 80)),
        ]
    );
    assert!(plan(&desired, &actual, &Ownership::DesiredOnly).is_empty());
    let keys = Ownership::Keys(BTreeSet::from([key(200, 22)]));
    assert_eq!(plan(&desired, &actual, &keys).len(), 2);
    assert!(only_vips.owns(&ServiceKey::Fwmark {
        af: Af::Inet6,
        mark: 150
    }));
    assert!(!only_vips.owns(&ServiceKey::Fwmark {
        af: Af::Inet,
        mark: 200
    }));
}

#[test]
fn local_addresses_are_added_before_removed() {
    let a = |x: u8| IpAddr::V4(Ipv4Addr::new(10, 9, 0, x));
    let mut have = svc(key(1, 80), "rr", &[]);
    have.laddrs = BTreeSet::from([a(1), a(2)]);
    let mut want = svc(key(1, 80), "rr", &[]);
    want.laddrs = BTreeSet::from([a(2), a(3)]);
    let mut new = svc(key(2, 80), "rr", &[(1, 1)]);
    new.laddrs = BTreeSet::from([a(9)]);
    let ops = plan(&state(vec![want, new]), &state(vec![have]), &Ownership::All);
    assert_eq!(
        ops,
        vec![
            Op::AddService(Service::new(key(2, 80), "rr")),
            Op::AddLaddr(key(2, 80), a(9)),
            Op::AddDest(key(2, 80), real(1, 1)),
            Op::AddLaddr(key(1, 80), a(3)),
            Op::DelLaddr(key(1, 80), a(1)),
        ]
    );
}

// ---- randomized ------------------------------------------------------------------------

fn random_service(rng: &mut StdRng) -> ServiceState {
    let k = if rng.random_bool(0.2) {
        ServiceKey::Fwmark {
            af: if rng.random_bool(0.5) {
                Af::Inet
            } else {
                Af::Inet6
            },
            mark: rng.random_range(1..6),
        }
    } else {
        key(
            rng.random_range(1..5),
            [80, 443, 53][rng.random_range(0..3)],
        )
    };
    let scheds = ["rr", "wrr", "lc", "sh", "mh"];
    let mut s = Service::new(k, scheds[rng.random_range(0..scheds.len())]);
    if rng.random_bool(0.3) {
        s.timeout = 300;
    }
    if rng.random_bool(0.2) {
        s.flags = ServiceFlags(ServiceFlags::SCHED1);
    }
    let mut st = ServiceState::new(s);
    for _ in 0..rng.random_range(0..6) {
        let fwd = [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel][rng.random_range(0..3)];
        let d = Destination::new(
            IpAddr::V4(Ipv4Addr::new(10, 1, 1, rng.random_range(1..8))),
            8080,
            fwd,
            rng.random_range(0..4),
        );
        st = st.with_dest(d);
    }
    if rng.random_bool(0.2) {
        st.laddrs
            .insert(IpAddr::V4(Ipv4Addr::new(10, 9, 0, rng.random_range(1..4))));
    }
    st
}

fn random_state(rng: &mut StdRng) -> State {
    let mut s = State::default();
    for _ in 0..rng.random_range(0..8) {
        s.insert(random_service(rng));
    }
    s
}

fn owned_part(s: &State, own: &Ownership, desired: &State) -> BTreeMap<ServiceKey, ServiceState> {
    s.services
        .iter()
        .filter(|(k, _)| own.owns(k) || desired.services.contains_key(k))
        .map(|(k, v)| (*k, v.clone()))
        .collect()
}

/// Compare ignoring what the reconciler deliberately does not compare.
fn equivalent(a: &ServiceState, b: &ServiceState) -> bool {
    !vgw_ipvs::reconcile::service_differs(&a.service, &b.service)
        && a.laddrs == b.laddrs
        && a.dests.len() == b.dests.len()
        && a.dests
            .iter()
            .all(|(k, d)| b.dests.get(k).is_some_and(|e| d.same_config(e)))
}

#[test]
fn randomized_plans_converge_and_second_plan_is_empty() {
    let mut rng = StdRng::seed_from_u64(20261122);
    let ownerships = [
        Ownership::All,
        Ownership::DesiredOnly,
        Ownership::Match {
            prefixes: vec![("192.0.2.0".parse().unwrap(), 31)],
            fwmarks: vec![(1, 2)],
        },
    ];
    let mut total_ops = 0;
    for round in 0..3000 {
        let desired = random_state(&mut rng);
        let actual = random_state(&mut rng);
        let own = &ownerships[round % ownerships.len()];
        let ops = plan(&desired, &actual, own);
        total_ops += ops.len();
        let mut sim = actual.clone();
        simulate(&mut sim, &ops).unwrap_or_else(|e| panic!("round {round}: {e}\n{ops:#?}"));

        // Owned services now equal the desired ones.
        let got = owned_part(&sim, own, &desired);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            desired.services.keys().collect::<Vec<_>>(),
            "round {round}"
        );
        for (k, want) in &desired.services {
            assert!(equivalent(want, &got[k]), "round {round}: {k} differs");
        }
        // Unowned services are untouched.
        for (k, v) in &actual.services {
            if !own.owns(k) && !desired.services.contains_key(k) {
                assert_eq!(sim.services.get(k), Some(v), "round {round}: touched {k}");
            }
        }
        // Idempotent.
        assert!(plan(&desired, &sim, own).is_empty(), "round {round}");
        // Minimal: an op count never above what delete-all + add-all would need.
        let naive: usize = actual
            .services
            .values()
            .map(|s| s.dests.len() + s.laddrs.len() + 1)
            .sum::<usize>()
            + desired
                .services
                .values()
                .map(|s| s.dests.len() + s.laddrs.len() + 1)
                .sum::<usize>();
        assert!(ops.len() <= naive, "round {round}");
        // Ordering: no dest op refers to a service deleted earlier, and every DelService
        // comes after the deletion of all of its dests.
        let mut deleted: BTreeSet<ServiceKey> = BTreeSet::new();
        for op in &ops {
            match op {
                Op::DelService(k) => {
                    deleted.insert(*k);
                }
                Op::AddDest(k, _) | Op::EditDest(k, _) | Op::DelDest(k, _) => {
                    assert!(
                        !deleted.contains(k),
                        "round {round}: dest op after its service"
                    );
                }
                _ => {}
            }
        }
        let first_del = ops.iter().position(|o| matches!(o, Op::DelDest(..)));
        let last_add = ops.iter().rposition(|o| matches!(o, Op::AddDest(..)));
        if let (Some(d), Some(a)) = (first_del, last_add) {
            assert!(
                a < d,
                "round {round}: a real removed before all new ones were added"
            );
        }
    }
    assert!(
        total_ops > 10_000,
        "the random states were too similar: {total_ops}"
    );
}

#[test]
fn weight_change_in_a_big_table_is_one_op() {
    let mut desired = State::default();
    for i in 0..1000u32 {
        let k = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
            port: 80,
        };
        let mut s = ServiceState::new(Service::new(k, "wrr"));
        for j in 0..10u8 {
            s = s.with_dest(real(j + 1, 1));
        }
        desired.insert(s);
    }
    let actual = desired.clone();
    let mut changed = desired.clone();
    let (k, s) = changed.services.iter_mut().nth(500).unwrap();
    let k = *k;
    let d = s
        .dests
        .get_mut(&DestKey {
            addr: real(3, 1).addr,
            port: 8080,
        })
        .unwrap();
    d.weight = 7;
    assert_eq!(
        plan(&changed, &actual, &Ownership::All),
        vec![Op::EditDest(k, real(3, 7))]
    );
}
