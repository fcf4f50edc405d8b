//! Read `ipvsadm -Sn` (the rule format `ipvsadm -R` takes) into a reconciler [`State`], so the
//! kernel's table can be compared through a second, independent reader.

use std::net::IpAddr;

use vgw_ipvs::model::{
    Af, Destination, FwdMethod, Protocol, Service, ServiceFlags, ServiceKey, TunType, TUN_F_CSUM,
    TUN_F_REMCSUM,
};
use vgw_ipvs::reconcile::{ServiceState, State};

fn addr_port(s: &str) -> (IpAddr, u16) {
    if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest
            .split_once("]:")
            .unwrap_or_else(|| panic!("bad address {s}"));
        (a.parse().unwrap(), p.parse().unwrap())
    } else {
        let (a, p) = s
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("bad address {s}"));
        (a.parse().unwrap(), p.parse().unwrap())
    }
}

fn netmask(s: &str, af: Af) -> u32 {
    match af {
        Af::Inet => u32::from(s.parse::<std::net::Ipv4Addr>().unwrap()),
        Af::Inet6 => s.parse().unwrap(),
    }
}

/// Parse the service part of a rule; returns the key and the index after it.
fn service_key(tok: &[&str], six: bool) -> (ServiceKey, usize) {
    let (proto, v) = (tok[0], tok[1]);
    let key = match proto {
        "-t" | "-u" | "--sctp-service" => {
            let (addr, port) = addr_port(v);
            let protocol = match proto {
                "-t" => Protocol::Tcp,
                "-u" => Protocol::Udp,
                _ => Protocol::Sctp,
            };
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            }
        }
        "-f" => ServiceKey::Fwmark {
            af: if six { Af::Inet6 } else { Af::Inet },
            mark: v.parse().unwrap(),
        },
        other => panic!("unknown service kind {other}"),
    };
    (key, 2)
}

pub fn parse_rules(text: &str) -> State {
    let mut state = State::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let all: Vec<&str> = line.split_whitespace().collect();
        let six = all.contains(&"-6");
        let tok: Vec<&str> = all.iter().copied().filter(|t| *t != "-6").collect();
        match tok[0] {
            "-A" => {
                let (key, used) = service_key(&tok[1..], six);
                let mut s = Service::new(key, "");
                let mut i = 1 + used;
                while i < tok.len() {
                    match tok[i] {
                        "-s" => s.scheduler = tok[i + 1].to_string(),
                        "-p" => s.timeout = tok[i + 1].parse().unwrap(),
                        "-M" => s.netmask = netmask(tok[i + 1], key.af()),
                        "--pe" => s.pe_name = Some(tok[i + 1].to_string()),
                        "-b" => {
                            for f in tok[i + 1].split(',') {
                                s.flags.0 |= match f {
                                    "sh-fallback" | "mh-fallback" | "flag-1" => {
                                        ServiceFlags::SCHED1
                                    }
                                    "sh-port" | "mh-port" | "flag-2" => ServiceFlags::SCHED2,
                                    "flag-3" => ServiceFlags::SCHED3,
                                    other => panic!("unknown sched flag {other} in {line}"),
                                };
                            }
                        }
                        "-o" => {
                            s.flags.0 |= ServiceFlags::ONEPACKET;
                            i += 1;
                            continue;
                        }
                        other => panic!("unknown service option {other} in {line}"),
                    }
                    i += 2;
                }
                state.insert(ServiceState::new(s));
            }
            "-a" => {
                let (key, used) = service_key(&tok[1..], six);
                let mut i = 1 + used;
                assert_eq!(tok[i], "-r", "{line}");
                let (addr, port) = addr_port(tok[i + 1]);
                i += 2;
                let mut d = Destination::new(addr, port, FwdMethod::Route, 1);
                while i < tok.len() {
                    let mut step = 2;
                    match tok[i] {
                        "-g" => (d.fwd, step) = (FwdMethod::Route, 1),
                        "-i" => (d.fwd, step) = (FwdMethod::Tunnel, 1),
                        "-m" => (d.fwd, step) = (FwdMethod::Masq, 1),
                        "-w" => d.weight = tok[i + 1].parse().unwrap(),
                        "-x" => d.u_thresh = tok[i + 1].parse().unwrap(),
                        "-y" => d.l_thresh = tok[i + 1].parse().unwrap(),
                        "--tun-type" => {
                            d.tunnel.tun_type = match tok[i + 1] {
                                "ipip" => TunType::Ipip,
                                "gue" => TunType::Gue,
                                "gre" => TunType::Gre,
                                other => panic!("unknown tunnel type {other}"),
                            }
                        }
                        "--tun-port" => d.tunnel.port = tok[i + 1].parse().unwrap(),
                        "--tun-nocsum" => step = 1,
                        "--tun-csum" => (d.tunnel.flags, step) = (d.tunnel.flags | TUN_F_CSUM, 1),
                        "--tun-remcsum" => {
                            (d.tunnel.flags, step) = (d.tunnel.flags | TUN_F_REMCSUM, 1)
                        }
                        other => panic!("unknown real option {other} in {line}"),
                    }
                    i += step;
                }
                let svc = state
                    .services
                    .get_mut(&key)
                    .unwrap_or_else(|| panic!("real before its service: {line}"));
                svc.dests.insert(d.key(), d);
            }
            other => panic!("unknown rule {other}: {line}"),
        }
    }
    state
}

/// Fill thresholds from `ipvsadm -Ln --thresholds`:
/// ```text
/// TCP  192.0.2.1:80 rr
///   -> 10.1.0.3:80                  1000       100        0          0
/// FWM  8 IPv6 sh
/// ```
pub fn add_thresholds(state: &mut State, listing: &str) {
    let mut current: Option<ServiceKey> = None;
    for line in listing.lines() {
        let tok: Vec<&str> = line.split_whitespace().collect();
        match tok.first().copied() {
            Some("TCP") | Some("UDP") | Some("SCTP") => {
                let (addr, port) = addr_port(tok[1]);
                let protocol = match tok[0] {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                current = Some(ServiceKey::Addr {
                    protocol,
                    addr,
                    port,
                });
            }
            Some("FWM") => {
                let af = if tok.get(2) == Some(&"IPv6") {
                    Af::Inet6
                } else {
                    Af::Inet
                };
                current = Some(ServiceKey::Fwmark {
                    af,
                    mark: tok[1].parse().unwrap(),
                });
            }
            Some("->") if tok.len() >= 4 && tok[1] != "RemoteAddress:Port" => {
                let key = current.unwrap_or_else(|| panic!("real before service: {line}"));
                let (addr, port) = addr_port(tok[1]);
                let d = state
                    .services
                    .get_mut(&key)
                    .and_then(|s| s.dests.get_mut(&vgw_ipvs::model::DestKey { addr, port }))
                    .unwrap_or_else(|| panic!("{line}: not in -Sn output"));
                d.u_thresh = tok[2].parse().unwrap();
                d.l_thresh = tok[3].parse().unwrap();
            }
            _ => {}
        }
    }
}
