//! `ListIpvs()` from the kernel: reads the table through vgw-ipvs and turns it into the API's
//! [`IpvsTable`], with ipvsadm's names (forwarding methods, scheduler flags) so vgwctl can
//! print it exactly like `ipvsadm -Ln`.

use std::net::{IpAddr, Ipv4Addr};

use vgw_api::{IpvsDest, IpvsLocalAddress, IpvsRates, IpvsService, IpvsStats, IpvsTable};
use vgw_ipvs::model::{
    Af, DestStatus, FwdMethod, LocalAddress, Protocol, ServiceFlags, ServiceKey, ServiceStatus,
    Stats,
};
use vgw_ipvs::{IpvsClient, IpvsError, Transport};

/// Reads the whole table (services, their destinations and, on FULLNAT kernels, their local
/// addresses) with one dump per object, as ipvsadm does.
pub async fn read_ipvs_table<T: Transport>(
    client: &mut IpvsClient<T>,
) -> Result<IpvsTable, IpvsError> {
    let info = client.info().await?;
    let fullnat = client.dialect().has_laddr();
    let mut services = Vec::new();
    for s in client.services().await? {
        let key = s.service.key;
        let dests = client.dests(&key).await?;
        let laddrs = if fullnat {
            client.laddrs(&key).await?
        } else {
            Vec::new()
        };
        services.push(service_view(&s, &dests, &laddrs));
    }
    Ok(IpvsTable {
        version: info.version_string(),
        conn_tab_size: info.conn_tab_size,
        dialect: if fullnat { "fullnat" } else { "mainline" }.to_owned(),
        services,
    })
}

/// One service as the API shows it.
pub fn service_view(
    s: &ServiceStatus,
    dests: &[DestStatus],
    laddrs: &[LocalAddress],
) -> IpvsService {
    let svc = &s.service;
    let (family, protocol, address, port, fwmark) = match svc.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            family(&addr),
            protocol_name(protocol),
            addr.to_string(),
            port,
            0,
        ),
        ServiceKey::Fwmark { af, mark } => (
            if af == Af::Inet6 { "inet6" } else { "inet" },
            String::new(),
            String::new(),
            0,
            mark,
        ),
    };
    let flags = ServiceFlags(s.raw_flags);
    let netmask = match svc.key.af() {
        Af::Inet => Ipv4Addr::from(svc.netmask).to_string(),
        Af::Inet6 => svc.netmask.to_string(),
    };
    IpvsService {
        family: family.to_owned(),
        protocol,
        address,
        port,
        fwmark,
        scheduler: svc.scheduler.clone(),
        sched_flags: sched_flags(&svc.scheduler, flags),
        persistent_secs: if flags.contains(ServiceFlags::PERSISTENT) {
            svc.timeout
        } else {
            0
        },
        netmask,
        pe_name: svc.pe_name.clone().unwrap_or_default(),
        one_packet: flags.contains(ServiceFlags::ONEPACKET),
        local_addresses: laddrs
            .iter()
            .map(|l| IpvsLocalAddress {
                address: l.addr.to_string(),
                conns: l.conn_counts,
                port_conflicts: l.port_conflict,
            })
            .collect(),
        stats: stats(&s.stats),
        rates: rates(&s.stats),
        dests: dests.iter().map(dest_view).collect(),
    }
}

fn family(addr: &IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => "inet",
        IpAddr::V6(_) => "inet6",
    }
}

fn protocol_name(p: Protocol) -> String {
    p.to_string()
}

/// ipvsadm's names: `sh-fallback`/`sh-port` for sh, `mh-fallback`/`mh-port` for mh,
/// `flag-N` otherwise.
fn sched_flags(scheduler: &str, flags: ServiceFlags) -> Vec<String> {
    let names: [&str; 3] = match scheduler {
        "sh" => ["sh-fallback", "sh-port", "flag-3"],
        "mh" => ["mh-fallback", "mh-port", "flag-3"],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    [
        ServiceFlags::SCHED1,
        ServiceFlags::SCHED2,
        ServiceFlags::SCHED3,
    ]
    .iter()
    .zip(names)
    .filter(|(bit, _)| flags.contains(**bit))
    .map(|(_, n)| n.to_owned())
    .collect()
}

/// ipvsadm's `fwd_name`.
fn forward_name(f: FwdMethod) -> &'static str {
    match f {
        FwdMethod::Masq => "Masq",
        FwdMethod::Local => "Local",
        FwdMethod::Tunnel => "Tunnel",
        FwdMethod::Route => "Route",
        FwdMethod::Bypass => "Bypass",
        FwdMethod::Fullnat => "FullNat",
    }
}

fn dest_view(d: &DestStatus) -> IpvsDest {
    IpvsDest {
        address: d.dest.addr.to_string(),
        port: d.dest.port,
        forward: forward_name(d.dest.fwd).to_owned(),
        weight: d.dest.weight,
        u_threshold: d.dest.u_thresh,
        l_threshold: d.dest.l_thresh,
        active_conns: d.active_conns,
        inactive_conns: d.inact_conns,
        persist_conns: d.persist_conns,
        stats: stats(&d.stats),
        rates: rates(&d.stats),
    }
}

fn stats(s: &Stats) -> IpvsStats {
    IpvsStats {
        conns: s.conns,
        in_packets: s.inpkts,
        out_packets: s.outpkts,
        in_bytes: s.inbytes,
        out_bytes: s.outbytes,
    }
}

fn rates(s: &Stats) -> IpvsRates {
    IpvsRates {
        cps: s.cps,
        in_pps: s.inpps,
        out_pps: s.outpps,
        in_bps: s.inbps,
        out_bps: s.outbps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vgw_ipvs::model::{Destination, Service};

    #[test]
    fn a_kernel_service_reads_like_ipvsadm() {
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "192.0.2.10"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: 443,
        };
        let mut svc = Service::new(key, "sh");
        svc.timeout = 300;
        svc.netmask = 0xffff_ff00;
        let status = ServiceStatus {
            service: svc,
            raw_flags: ServiceFlags::HASHED
                | ServiceFlags::PERSISTENT
                | ServiceFlags::SCHED1
                | ServiceFlags::SCHED2,
            stats: Stats {
                conns: 7,
                cps: 1,
                ..Stats::default()
            },
        };
        let dest = DestStatus {
            dest: Destination::new(
                "10.1.1.1"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                443,
                FwdMethod::Fullnat,
                5,
            ),
            active_conns: 2,
            inact_conns: 3,
            persist_conns: 1,
            stats: Stats::default(),
        };
        let laddr = LocalAddress {
            addr: "10.2.0.1"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port_conflict: 4,
            conn_counts: 9,
        };
        let v = service_view(&status, &[dest], &[laddr]);
        assert_eq!(v.family, "inet");
        assert_eq!(v.protocol, "tcp");
        assert_eq!(v.sched_flags, ["sh-fallback", "sh-port"]);
        assert_eq!(v.persistent_secs, 300);
        assert_eq!(v.netmask, "255.255.255.0");
        assert_eq!(v.stats.conns, 7);
        assert_eq!(v.rates.cps, 1);
        assert_eq!(v.local_addresses.len(), 1);
        assert_eq!(v.local_addresses.first().map(|l| l.port_conflicts), Some(4));
        assert_eq!(v.dests.first().map(|d| d.forward.as_str()), Some("FullNat"));
        assert_eq!(v.dests.first().map(|d| d.persist_conns), Some(1));
    }

    #[test]
    fn fwmark_services_have_no_address() {
        let key = ServiceKey::Fwmark {
            af: Af::Inet6,
            mark: 7,
        };
        let status = ServiceStatus {
            service: Service::new(key, "mh"),
            raw_flags: ServiceFlags::HASHED | ServiceFlags::SCHED2,
            stats: Stats::default(),
        };
        let v = service_view(&status, &[], &[]);
        assert_eq!(
            (v.family.as_str(), v.fwmark, v.address.as_str()),
            ("inet6", 7, "")
        );
        assert_eq!(v.sched_flags, ["mh-port"]);
        assert_eq!(v.netmask, "128");
        assert_eq!(v.persistent_secs, 0);
    }
}
