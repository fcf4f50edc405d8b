//! Bytes captured from the real ipvsadm talking to Linux 6.1 IPVS (nlmon inside the lab VM,
//! see scripts/capture-ipvsadm.sh): every IPVS and ack/error message decodes and re-encodes byte
//! for byte, and the decoded values are the ones ipvsadm printed.

use netlink_packet_core::NetlinkPayload;
use vgw_ipvs::model::{Af, DaemonState, FwdMethod, Protocol, ServiceFlags, ServiceKey, TunType};
use vgw_ipvs::netlink::{daemon, dest, frame, service, Dialect, Features, IpvsCmd, IpvsMessage};

struct Capture {
    family: u16,
    msgs: Vec<(bool, Vec<u8>)>,
}

fn load() -> Capture {
    let text = include_str!("fixtures/ipvsadm-6.1.txt");
    let mut family = 0;
    let mut msgs = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("family 0x") {
            family = u16::from_str_radix(f, 16).unwrap();
        } else if let Some((dir, hex)) = line.split_once(' ') {
            if dir == "#" {
                continue;
            }
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            msgs.push((dir == ">", bytes));
        }
    }
    assert_ne!(family, 0);
    Capture { family, msgs }
}

fn ipvs_messages(c: &Capture, to_kernel: bool) -> Vec<IpvsMessage> {
    let d = Dialect::Mainline(Features::from_release("6.1.0"));
    let mut out = Vec::new();
    for (dir, bytes) in &c.msgs {
        let ty = u16::from_ne_bytes([bytes[4], bytes[5]]);
        if ty != c.family || *dir != to_kernel {
            continue;
        }
        let m = frame::decode(bytes, c.family, &d).unwrap();
        if let NetlinkPayload::InnerMessage(g) = &m[0].payload {
            out.push(g.payload.clone());
        }
    }
    out
}

#[test]
fn every_captured_message_roundtrips_byte_for_byte() {
    let c = load();
    let d = Dialect::Mainline(Features::from_release("6.1.0"));
    let mut checked = 0;
    for (i, (_, bytes)) in c.msgs.iter().enumerate() {
        let ty = u16::from_ne_bytes([bytes[4], bytes[5]]);
        if ty == 16 {
            continue; // the controller family (nlctrl) is netlink-packet-generic's business
        }
        let msgs = frame::decode(bytes, c.family, &d)
            .unwrap_or_else(|e| panic!("message {i} does not decode: {e}"));
        let mut again = Vec::new();
        for m in &msgs {
            frame::encode_into(m, &mut again);
        }
        assert_eq!(again, *bytes, "message {i} re-encodes differently");
        checked += 1;
    }
    assert!(checked > 100, "only {checked} messages checked");
}

#[test]
fn ipvsadm_requests_mean_what_the_command_line_said() {
    let c = load();
    let reqs = ipvs_messages(&c, true);
    let svc = |cmd: IpvsCmd| {
        reqs.iter()
            .filter(|m| m.cmd == cmd)
            .map(|m| m.service().unwrap().attrs.clone())
            .collect::<Vec<_>>()
    };
    // ipvsadm flags the nested service (NLA_F_NESTED), the kernel does not.
    assert!(reqs
        .iter()
        .filter(|m| m.cmd == IpvsCmd::NewService)
        .all(|m| m.service().unwrap().flagged));
    let news = svc(IpvsCmd::NewService);
    assert_eq!(news.len(), 3);
    let a = service::to_service(&news[0]).unwrap();
    assert_eq!(
        a.service.key,
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "192.0.2.1".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(
        (a.service.scheduler.as_str(), a.service.timeout),
        ("wrr", 300)
    );
    let b = service::to_service(&news[1]).unwrap();
    assert_eq!(b.service.scheduler, "mh");
    assert_eq!(
        b.service.flags,
        ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2)
    );
    let f = service::to_service(&news[2]).unwrap();
    assert_eq!(
        f.service.key,
        ServiceKey::Fwmark {
            af: Af::Inet,
            mark: 7
        }
    );
    assert_eq!(f.service.flags, ServiceFlags(ServiceFlags::ONEPACKET));

    let dests: Vec<_> = reqs
        .iter()
        .filter(|m| m.cmd == IpvsCmd::NewDest)
        .map(|m| m.dest().unwrap().attrs.clone())
        .collect();
    assert_eq!(dests.len(), 3);
    let tun = dest::to_dest(&dests[2], Af::Inet).unwrap().dest;
    assert_eq!(tun.fwd, FwdMethod::Tunnel);
    assert_eq!(tun.tunnel.tun_type, TunType::Gue);
    assert_eq!(tun.tunnel.port, 6080);
    assert_eq!((tun.u_thresh, tun.l_thresh), (100, 10));
    let dr6 = dest::to_dest(&dests[1], Af::Inet6).unwrap().dest;
    assert_eq!(dr6.fwd, FwdMethod::Route);
    assert_eq!(
        dr6.addr,
        "2001:db8::10".parse::<std::net::IpAddr>().unwrap()
    );

    let daemons: Vec<_> = reqs
        .iter()
        .filter(|m| m.cmd == IpvsCmd::NewDaemon)
        .map(|m| daemon::to_daemon(&m.daemon().unwrap().attrs).unwrap())
        .collect();
    assert_eq!(daemons.len(), 2);
    assert_eq!(daemons[1].state, DaemonState::Backup);
    assert_eq!(daemons[1].sync_maxlen, Some(1400));
    assert_eq!(daemons[1].mcast_group, Some("239.1.1.1".parse().unwrap()));
    assert_eq!(daemons[1].mcast_port, Some(8849));
    assert_eq!(daemons[1].mcast_ttl, Some(2));
}

#[test]
fn kernel_replies_mean_what_ipvsadm_printed() {
    let c = load();
    let replies = ipvs_messages(&c, false);
    let daemons: Vec<_> = replies
        .iter()
        .filter(|m| m.cmd == IpvsCmd::NewDaemon)
        .map(|m| daemon::to_daemon(&m.daemon().unwrap().attrs).unwrap())
        .collect();
    // "master sync daemon (mcast=d0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"
    let master = daemons
        .iter()
        .find(|d| d.state == DaemonState::Master)
        .unwrap();
    assert_eq!(master.mcast_ifn, "d0");
    assert_eq!(master.sync_id, 5);
    assert_eq!(master.sync_maxlen, Some(1472));
    assert_eq!(master.mcast_group, Some("224.0.0.81".parse().unwrap()));
    assert_eq!((master.mcast_port, master.mcast_ttl), (Some(8848), Some(1)));
    let backup = daemons
        .iter()
        .find(|d| d.state == DaemonState::Backup)
        .unwrap();
    assert_eq!(backup.mcast_group, Some("239.1.1.1".parse().unwrap()));

    let services: Vec<_> = replies
        .iter()
        .filter(|m| m.cmd == IpvsCmd::NewService)
        .filter_map(|m| m.service())
        .map(|n| service::to_service(&n.attrs).unwrap())
        .collect();
    assert!(services.iter().any(|s| s.service.key
        == ServiceKey::Fwmark {
            af: Af::Inet,
            mark: 7
        }
        && s.raw_flags & ServiceFlags::HASHED != 0));
    // The edit (-E ... -s rr) shows in the last dump.
    assert!(services.iter().any(|s| s.service.scheduler == "rr"));
}
