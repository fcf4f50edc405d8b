//! The clonable handle: several clones share one task that owns the socket; requests are
//! served in order and the task ends when the last handle is dropped.

mod common;

use common::*;
use vgw_ipvs::model::{Destination, FwdMethod, Protocol, Service, ServiceKey};
use vgw_ipvs::{IpvsClient, IpvsHandle, Op};

#[test]
fn clones_share_one_task_and_it_ends_with_the_last_handle() {
    let key = cat(&[
        nla(1, &u16v(2)),
        nla(2, &u16v(17)),
        nla(3, &addr4([198, 51, 100, 7])),
        nla(4, &be16v(53)),
    ]);
    let svc_full = cat(&[
        key.clone(),
        nla(6, &cstr("lc")),
        nla(7, &cat(&[u32v(0), u32v(0xffff_fffd)])),
        nla(8, &u32v(0)),
        nla(9, &u32v(0xffff_ffff)),
    ]);
    let new_service = genl(1, 5, 2, &nla(1, &svc_full));
    let new_dest = genl(
        5,
        5,
        3,
        &cat(&[
            nla(1, &key),
            nla(
                2,
                &cat(&[
                    nla(1, &addr4([10, 0, 0, 9])),
                    nla(2, &be16v(53)),
                    nla(3, &u32v(3)),
                    nla(4, &u32v(1)),
                    nla(5, &u32v(0)),
                    nla(6, &u32v(0)),
                ]),
            ),
        ]),
    );
    let dump = genl(4, 0x301, 4, &[]);
    let reply = genl(
        1,
        2,
        4,
        &nla(
            1,
            &cat(&[
                key.clone(),
                nla(6, &cstr("lc")),
                nla(7, &cat(&[u32v(2), u32v(0xffff_ffff)])),
                nla(8, &u32v(0)),
                nla(9, &u32v(0xffff_ffff)),
            ]),
        ),
    );
    let steps = vec![
        Step {
            request: family_request(),
            replies: vec![cat(&[
                family_reply(1, &(1..=17).collect::<Vec<_>>(), 6),
                ack(&family_request(), 1, 0),
            ])],
        },
        Step {
            request: new_service.clone(),
            replies: vec![],
        },
        Step {
            request: new_dest.clone(),
            replies: vec![cat(&[ack(&new_service, 2, 0), ack(&new_dest, 3, 0)])],
        },
        Step {
            request: dump,
            replies: vec![reply, done(4)],
        },
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = IpvsClient::connect(ScriptedKernel::new(steps, None))
            .await
            .unwrap();
        let (h1, task) = IpvsHandle::spawn(client);
        let h2 = h1.clone();
        let vip = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "198.51.100.7".parse().unwrap(),
            port: 53,
        };
        let res = h1
            .apply(vec![
                Op::AddService(Service::new(vip, "lc")),
                Op::AddDest(
                    vip,
                    Destination::new("10.0.0.9".parse().unwrap(), 53, FwdMethod::Route, 1),
                ),
            ])
            .await;
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        let services = h2.services().await.unwrap();
        assert_eq!(services.len(), 1);
        assert_eq!(services[0].service.key, vip);
        drop(h1);
        drop(h2);
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .expect("task ends when the last handle is dropped")
            .unwrap();
    });
}
