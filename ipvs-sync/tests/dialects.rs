//! Dialect detection and the FULLNAT laddr lifecycle against a scripted kernel that answers the
//! family query as each kind of kernel would. Expected requests are written out by hand, field by
//! field as the Alibaba / mainline headers lay them out, not produced by the crate's encoder.

mod common;

use std::net::IpAddr;

use common::*;
use vgw_ipvs::model::{
    DaemonConfig, DaemonState, Destination, FwdMethod, Protocol, Service, ServiceFlags, ServiceKey,
};
use vgw_ipvs::netlink::Dialect;
use vgw_ipvs::{IpvsClient, IpvsError, Op};

const REQ_ACK: u16 = 0x5;
const DUMP: u16 = 0x301;
const MULTI: u16 = 0x2;

fn vip() -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: "192.0.2.10".parse().unwrap(),
        port: 80,
    }
}

fn svc_key_attrs() -> Vec<u8> {
    cat(&[
        nla(1, &u16v(2)),
        nla(2, &u16v(6)),
        nla(3, &addr4([192, 0, 2, 10])),
        nla(4, &be16v(80)),
    ])
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ops(range: impl IntoIterator<Item = u32>) -> Vec<u32> {
    range.into_iter().collect()
}

#[test]
fn fullnat_kernel_full_laddr_lifecycle() {
    let key = svc_key_attrs();
    let svc_full = cat(&[
        key.clone(),
        nla(6, &cstr("rr")),
        nla(7, &cat(&[u32v(0x8000), u32v(0xffff_fffd)])),
        nla(8, &u32v(0)),
        nla(9, &u32v(0xffff_ffff)),
        nla(11, &u32v(90)),
    ]);
    let new_service = genl(1, REQ_ACK, 2, &nla(1, &svc_full));
    let laddr = |seq, cmd, a: [u8; 4]| {
        genl(
            cmd,
            REQ_ACK,
            seq,
            &cat(&[nla(1, &key), nla(7, &nla(1, &addr4(a)))]),
        )
    };
    let add_l1 = laddr(3, 18, [10, 1, 0, 100]);
    let add_l2 = laddr(4, 18, [10, 1, 0, 101]);
    let get_laddr = genl(20, DUMP, 5, &nla(1, &key));
    let laddr_reply = |a: [u8; 4], conflicts: u64, conns: u32| {
        genl(
            18,
            MULTI,
            5,
            &nla(
                7,
                &cat(&[
                    nla(1, &addr4(a)),
                    nla(2, &u64v(conflicts)),
                    nla(3, &u32v(conns)),
                ]),
            ),
        )
    };
    let new_dest = genl(
        5,
        REQ_ACK,
        6,
        &cat(&[
            nla(1, &key),
            nla(
                2,
                &cat(&[
                    nla(1, &addr4([10, 2, 0, 1])),
                    nla(2, &be16v(8080)),
                    nla(3, &u32v(5)),
                    nla(4, &u32v(100)),
                    nla(5, &u32v(0)),
                    nla(6, &u32v(0)),
                ]),
            ),
        ]),
    );
    let del_l1 = laddr(7, 19, [10, 1, 0, 100]);
    let del_l1_again = laddr(8, 19, [10, 1, 0, 100]);
    let del_service = genl(3, REQ_ACK, 9, &nla(1, &key));
    let get_services = genl(4, DUMP, 10, &[]);
    // A FULLNAT kernel's service: CONNS/INPKTS/OUTPKTS as u64 inside STATS, attr 11 EST_TIMEOUT.
    let fullnat_service = genl(
        1,
        MULTI,
        10,
        &nla(
            1,
            &cat(&[
                key.clone(),
                nla(6, &cstr("rr")),
                nla(7, &cat(&[u32v(0x8002), u32v(0xffff_ffff)])),
                nla(8, &u32v(0)),
                nla(9, &u32v(0xffff_ffff)),
                nla(
                    10,
                    &cat(&[
                        nla(1, &u64v(5_000_000_000)),
                        nla(2, &u64v(7)),
                        nla(3, &u64v(8)),
                        nla(4, &u64v(9)),
                        nla(5, &u64v(10)),
                        nla(6, &u32v(1)),
                    ]),
                ),
                nla(11, &u32v(90)),
            ]),
        ),
    );

    let steps = vec![
        Step {
            request: family_request(),
            replies: vec![cat(&[
                family_reply(1, &ops(1..=20), 20),
                ack(&family_request(), 1, 0),
            ])],
        },
        Step {
            request: new_service.clone(),
            replies: vec![ack(&new_service, 2, 0)],
        },
        // Pipelined: both requests in one datagram, both acks in one datagram.
        Step {
            request: add_l1.clone(),
            replies: vec![],
        },
        Step {
            request: add_l2.clone(),
            replies: vec![cat(&[ack(&add_l1, 3, 0), ack(&add_l2, 4, 0)])],
        },
        Step {
            request: get_laddr,
            replies: vec![
                cat(&[
                    laddr_reply([10, 1, 0, 100], 3, 7),
                    laddr_reply([10, 1, 0, 101], 0, 2),
                ]),
                done(5),
            ],
        },
        Step {
            request: new_dest.clone(),
            replies: vec![ack(&new_dest, 6, 0)],
        },
        Step {
            request: del_l1.clone(),
            replies: vec![ack(&del_l1, 7, 0)],
        },
        Step {
            request: del_l1_again.clone(),
            replies: vec![ack(&del_l1_again, 8, libc::ENOENT)],
        },
        Step {
            request: del_service.clone(),
            replies: vec![ack(&del_service, 9, 0)],
        },
        Step {
            request: get_services,
            replies: vec![fullnat_service, done(10)],
        },
    ];

    rt().block_on(async {
        let kernel = ScriptedKernel::new(steps, Some("2.6.32-220.23.1.el6.x86_64"));
        let mut c = IpvsClient::connect(kernel).await.unwrap();
        assert_eq!(c.dialect(), &Dialect::Fullnat);
        assert_eq!(c.family().maxattr, 20);

        let mut svc = Service::new(vip(), "rr");
        svc.flags = ServiceFlags(ServiceFlags::SYNPROXY);
        svc.est_timeout = Some(90);
        c.add_service(&svc).await.unwrap();

        let l1: IpAddr = "10.1.0.100".parse().unwrap();
        let l2: IpAddr = "10.1.0.101".parse().unwrap();
        let res = c
            .apply(&[Op::AddLaddr(vip(), l1), Op::AddLaddr(vip(), l2)])
            .await;
        assert!(res.iter().all(|r| r.is_ok()), "{res:?}");

        let laddrs = c.laddrs(&vip()).await.unwrap();
        assert_eq!(laddrs.len(), 2);
        assert_eq!(laddrs[0].addr, l1);
        assert_eq!(laddrs[0].port_conflict, 3);
        assert_eq!(laddrs[0].conn_counts, 7);
        assert_eq!(laddrs[1].addr, l2);

        let real = Destination::new("10.2.0.1".parse().unwrap(), 8080, FwdMethod::Fullnat, 100);
        c.add_dest(&vip(), &real).await.unwrap();

        c.del_laddr(&vip(), l1).await.unwrap();
        // Already gone: ENOENT counts as done.
        c.del_laddr(&vip(), l1).await.unwrap();
        c.del_service(&vip()).await.unwrap();

        let services = c.services().await.unwrap();
        assert_eq!(services.len(), 1);
        let s = &services[0];
        assert_eq!(s.service.est_timeout, Some(90));
        assert_eq!(s.service.pe_name, None);
        assert!(s.service.flags.contains(ServiceFlags::SYNPROXY));
        assert_eq!(s.stats.conns, 5_000_000_000);
        assert_eq!(s.stats.outbytes, 10);

        let kernel = c.into_transport();
        assert_eq!(kernel.remaining(), 0, "not every expected request was sent");
    });
}

#[test]
fn unknown_fork_refuses_fullnat_but_keeps_mainline_working() {
    let mut fork_ops = ops(1..=17);
    fork_ops.extend(21..=26);
    let svc_full = cat(&[
        svc_key_attrs(),
        nla(6, &cstr("wrr")),
        nla(7, &cat(&[u32v(0), u32v(0xffff_fffd)])),
        nla(8, &u32v(0)),
        nla(9, &u32v(0xffff_ffff)),
    ]);
    let new_service = genl(1, REQ_ACK, 2, &nla(1, &svc_full));
    let steps = vec![
        Step {
            request: family_request(),
            replies: vec![cat(&[
                family_reply(1, &fork_ops, 8),
                ack(&family_request(), 1, 0),
            ])],
        },
        Step {
            request: new_service.clone(),
            replies: vec![ack(&new_service, 2, 0)],
        },
    ];
    rt().block_on(async {
        let mut c = IpvsClient::connect(ScriptedKernel::new(steps, None))
            .await
            .unwrap();
        assert_eq!(
            c.dialect(),
            &Dialect::UnknownFork {
                ops: vec![21, 22, 23, 24, 25, 26]
            }
        );
        let err = c
            .add_laddr(&vip(), "10.1.0.1".parse().unwrap())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("FULLNAT"), "{text}");
        assert!(text.contains("unknown IPVS fork"), "{text}");
        let real = Destination::new("10.2.0.1".parse().unwrap(), 80, FwdMethod::Fullnat, 1);
        assert!(matches!(
            c.add_dest(&vip(), &real).await,
            Err(IpvsError::Dialect(_))
        ));
        // Nothing was sent for the refused requests; the mainline one goes out as seq 2.
        c.add_service(&Service::new(vip(), "wrr")).await.unwrap();
        assert_eq!(c.into_transport().remaining(), 0);
    });
}

#[test]
fn mainline_kernel_refuses_fullnat_naming_its_dialect() {
    let steps = vec![Step {
        request: family_request(),
        replies: vec![cat(&[
            family_reply(1, &ops(1..=17), 6),
            ack(&family_request(), 1, 0),
        ])],
    }];
    rt().block_on(async {
        let mut c = IpvsClient::connect(ScriptedKernel::new(steps, Some("6.1.0-28-amd64")))
            .await
            .unwrap();
        assert!(matches!(c.dialect(), Dialect::Mainline(_)));
        let err = c.laddrs(&vip()).await.unwrap_err().to_string();
        assert!(err.contains("mainline IPVS (kernel 6.1)"), "{err}");
        let mut s = Service::new(vip(), "rr");
        s.flags = ServiceFlags(ServiceFlags::SYNPROXY);
        let err = c.add_service(&s).await.unwrap_err().to_string();
        assert!(err.contains("SYNPROXY"), "{err}");
    });
}

#[test]
fn old_mainline_kernel_refuses_late_features() {
    let steps = vec![Step {
        request: family_request(),
        replies: vec![cat(&[
            family_reply(1, &ops(1..=17), 17),
            ack(&family_request(), 1, 0),
        ])],
    }];
    rt().block_on(async {
        let mut c = IpvsClient::connect(ScriptedKernel::new(steps, Some("4.1.12")))
            .await
            .unwrap();
        let mut cfg = DaemonConfig::new(DaemonState::Master, "eth0", 7);
        cfg.mcast_ttl = Some(2);
        let err = c.start_daemon(&cfg).await.unwrap_err().to_string();
        assert!(err.contains("4.3"), "{err}");
        let mut real = Destination::new("10.2.0.1".parse().unwrap(), 80, FwdMethod::Tunnel, 1);
        real.tunnel.tun_type = vgw_ipvs::model::TunType::Gue;
        real.tunnel.port = 6080;
        let err = c.add_dest(&vip(), &real).await.unwrap_err().to_string();
        assert!(err.contains("5.2"), "{err}");
    });
}

#[test]
fn missing_family_says_load_ip_vs() {
    let steps = vec![Step {
        request: family_request(),
        replies: vec![ack(&family_request(), 1, libc::ENOENT)],
    }];
    rt().block_on(async {
        let err = IpvsClient::connect(ScriptedKernel::new(steps, None))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, IpvsError::NoIpvs));
        assert!(err.to_string().contains("load ip_vs"), "{err}");
    });
}

#[test]
fn eperm_says_cap_net_admin_and_errors_carry_errno_and_object() {
    let svc_full = cat(&[
        svc_key_attrs(),
        nla(6, &cstr("rr")),
        nla(7, &cat(&[u32v(0), u32v(0xffff_fffd)])),
        nla(8, &u32v(0)),
        nla(9, &u32v(0xffff_ffff)),
    ]);
    let new_service = genl(1, REQ_ACK, 2, &nla(1, &svc_full));
    let again = genl(1, REQ_ACK, 3, &nla(1, &svc_full));
    let steps = vec![
        Step {
            request: family_request(),
            replies: vec![cat(&[
                family_reply(1, &ops(1..=17), 6),
                ack(&family_request(), 1, 0),
            ])],
        },
        Step {
            request: new_service.clone(),
            replies: vec![ack(&new_service, 2, libc::EPERM)],
        },
        Step {
            request: again.clone(),
            replies: vec![ack(&again, 3, libc::EEXIST)],
        },
    ];
    rt().block_on(async {
        let mut c = IpvsClient::connect(ScriptedKernel::new(steps, None))
            .await
            .unwrap();
        let err = c.add_service(&Service::new(vip(), "rr")).await.unwrap_err();
        assert_eq!(err.errno(), Some(libc::EPERM));
        let text = err.to_string();
        assert!(text.contains("CAP_NET_ADMIN (run as root)"), "{text}");
        let err = c.add_service(&Service::new(vip(), "rr")).await.unwrap_err();
        assert_eq!(err.errno(), Some(libc::EEXIST));
        let text = err.to_string();
        assert!(text.contains("TCP 192.0.2.10:80"), "{text}");
        assert!(text.contains("already exists"), "{text}");
    });
}

#[test]
fn a_kernel_that_never_answers_is_a_timeout_not_a_hang() {
    let svc_full = cat(&[
        svc_key_attrs(),
        nla(6, &cstr("rr")),
        nla(7, &cat(&[u32v(0), u32v(0xffff_fffd)])),
        nla(8, &u32v(0)),
        nla(9, &u32v(0xffff_ffff)),
    ]);
    let steps = vec![
        Step {
            request: family_request(),
            replies: vec![cat(&[
                family_reply(1, &ops(1..=17), 6),
                ack(&family_request(), 1, 0),
            ])],
        },
        Step {
            request: genl(1, REQ_ACK, 2, &nla(1, &svc_full)),
            replies: vec![],
        },
    ];
    rt().block_on(async {
        let mut kernel = ScriptedKernel::new(steps, None);
        kernel.hang_when_empty = true;
        let mut c = IpvsClient::connect(kernel).await.unwrap();
        c.set_reply_timeout(std::time::Duration::from_millis(50));
        let start = std::time::Instant::now();
        let err = c.add_service(&Service::new(vip(), "rr")).await.unwrap_err();
        assert!(
            err.to_string().contains("no reply from the kernel"),
            "{err}"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    });
}
