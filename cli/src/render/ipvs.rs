//! `vgwctl ipvs list`: the layout of `ipvsadm -Ln` (ipvsadm 1.31), byte for byte, including
//! its sort order and its trailing blanks, so the two outputs can be diffed. FULLNAT
//! services add one `  ~> ADDR LocalAddress ...` line per local address after the service
//! line (mainline tables never have them).

use std::net::IpAddr;

use vgw_api::{addr_port, IpvsDest, IpvsService, IpvsTable};

/// Which columns, like ipvsadm's `--stats` / `--rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// Forward, Weight, ActiveConn, InActConn.
    Default,
    /// Conns, InPkts, OutPkts, InBytes, OutBytes.
    Stats,
    /// CPS, InPPS, OutPPS, InBPS, OutBPS.
    Rate,
}

/// Renders the table. `exact` prints whole numbers instead of K/M/G units.
pub fn render(table: &IpvsTable, columns: Columns, exact: bool) -> String {
    let mut out = format!(
        "IP Virtual Server version {} (size={})\n",
        table.version, table.conn_tab_size
    );
    let title = |cols: [&str; 5]| {
        format!(
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", cols[0], cols[1], cols[2], cols[3], cols[4]
        )
    };
    out.push_str(&match columns {
        Columns::Stats => title(["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]),
        Columns::Rate => title(["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]),
        Columns::Default => "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n".to_owned(),
    });
    let mut services: Vec<&IpvsService> = table.services.iter().collect();
    glibc_msort(&mut services, &|a, b| cmp_services(a, b));
    for svc in services {
        service(&mut out, svc, columns, exact);
    }
    out
}

fn service(out: &mut String, svc: &IpvsService, columns: Columns, exact: bool) {
    let v6 = svc.family == "inet6";
    let name = if svc.fwmark != 0 {
        if v6 {
            format!("FWM  {} IPv6", svc.fwmark)
        } else {
            format!("FWM  {}", svc.fwmark)
        }
    } else {
        let mut n = format!(
            "{:<4} {}",
            svc.protocol.to_uppercase(),
            addr_port(&svc.address, svc.port)
        );
        if !v6 {
            truncate(&mut n, 33);
        }
        n
    };
    match columns {
        Columns::Stats => {
            out.push_str(&format!("{name:<33}"));
            let s = &svc.stats;
            for n in [
                s.conns,
                s.in_packets,
                s.out_packets,
                s.in_bytes,
                s.out_bytes,
            ] {
                out.push_str(&largenum(n, exact));
            }
        }
        Columns::Rate => {
            out.push_str(&format!("{name:<33}"));
            let r = &svc.rates;
            for n in [r.cps, r.in_pps, r.out_pps, r.in_bps, r.out_bps] {
                out.push_str(&largenum(n, exact));
            }
        }
        Columns::Default => {
            out.push_str(&format!("{name} {}", svc.scheduler));
            if !svc.sched_flags.is_empty() {
                out.push_str(&format!(" ({})", svc.sched_flags.join(",")));
            }
            if svc.persistent_secs != 0 {
                out.push_str(&format!(" persistent {}", svc.persistent_secs));
                let full = if v6 { "128" } else { "255.255.255.255" };
                if !svc.netmask.is_empty() && svc.netmask != full {
                    out.push_str(&format!(" mask {}", svc.netmask));
                }
                if !svc.pe_name.is_empty() {
                    out.push_str(&format!(" pe {}", svc.pe_name));
                }
            }
            if svc.one_packet {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');
    if columns == Columns::Default {
        for l in &svc.local_addresses {
            out.push_str(&format!(
                "  ~> {:<28} LocalAddress conns {} conflicts {}\n",
                l.address, l.conns, l.port_conflicts
            ));
        }
    }
    let mut dests: Vec<&IpvsDest> = svc.dests.iter().collect();
    glibc_msort(&mut dests, &|a, b| cmp_dests(a, b));
    for d in dests {
        let mut dname = addr_port(&d.address, d.port);
        if !v6 {
            truncate(&mut dname, 28);
        }
        match columns {
            Columns::Stats => {
                out.push_str(&format!("  -> {dname:<28}"));
                let s = &d.stats;
                for n in [
                    s.conns,
                    s.in_packets,
                    s.out_packets,
                    s.in_bytes,
                    s.out_bytes,
                ] {
                    out.push_str(&largenum(n, exact));
                }
            }
            Columns::Rate => {
                let r = &d.rates;
                out.push_str(&format!(
                    "  -> {dname:<28} {:>8} {:>8} {:>8}",
                    r.cps, r.in_pps, r.out_pps
                ));
                out.push_str(&largenum(r.in_bps, exact));
                out.push_str(&largenum(r.out_bps, exact));
            }
            Columns::Default => {
                out.push_str(&format!(
                    "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
                    d.forward, d.weight, d.active_conns, d.inactive_conns
                ));
            }
        }
        out.push('\n');
    }
}

fn truncate(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
}

/// ipvsadm's `print_largenum`: 9 columns, K/M/G/T above 10^8 unless `--exact`.
pub fn largenum(i: u64, exact: bool) -> String {
    if exact {
        let len = i.to_string().len();
        let width = if len <= 8 { 9 } else { len + 1 };
        return format!("{i:>width$}");
    }
    if i < 100_000_000 {
        format!("{i:>9}")
    } else if i < 1_000_000_000 {
        format!("{:>8}K", i / 1_000)
    } else if i < 100_000_000_000 {
        format!("{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        format!("{:>8}G", i / 1_000_000_000)
    } else {
        format!("{:>8}T", i / 1_000_000_000_000)
    }
}

/// The 32-bit words of an address in host order, as libipvs compares them.
fn words(addr: &str) -> Vec<u32> {
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => vec![u32::from(a)],
        Ok(IpAddr::V6(a)) => a
            .segments()
            .chunks(2)
            .map(|c| match c {
                [hi, lo] => (u32::from(*hi) << 16) | u32::from(*lo),
                _ => 0,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// libipvs computes `int r = ntohl(a) - ntohl(b)`: an unsigned difference read as signed.
/// Addresses more than 2^31 apart therefore compare "backwards"; reproduce that.
fn c_diff(a: u32, b: u32) -> i32 {
    i32::from_ne_bytes(a.wrapping_sub(b).to_ne_bytes())
}

fn cmp_addr(a: &str, b: &str) -> i32 {
    let (wa, wb) = (words(a), words(b));
    let mut r = 0;
    for (x, y) in wa.iter().zip(wb.iter()) {
        r = c_diff(*x, *y);
        if r != 0 {
            break;
        }
    }
    r
}

fn af(family: &str) -> i32 {
    if family == "inet6" {
        10
    } else {
        2
    }
}

fn proto(p: &str) -> i32 {
    match p {
        "tcp" => 6,
        "udp" => 17,
        "sctp" => 132,
        _ => 0,
    }
}

/// libipvs `ipvs_cmp_services`: fwmark, family, protocol, address, port.
fn cmp_services(a: &IpvsService, b: &IpvsService) -> i32 {
    let r = c_diff(a.fwmark, b.fwmark);
    if r != 0 {
        return r;
    }
    let r = af(&a.family) - af(&b.family);
    if r != 0 {
        return r;
    }
    let r = proto(&a.protocol) - proto(&b.protocol);
    if r != 0 {
        return r;
    }
    let r = cmp_addr(&a.address, &b.address);
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// libipvs `ipvs_cmp_dests`: address, port.
fn cmp_dests(a: &IpvsDest, b: &IpvsDest) -> i32 {
    let r = cmp_addr(&a.address, &b.address);
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// glibc's `qsort` (its top-down merge sort, `msort_with_tmp`): the order ipvsadm prints in,
/// even where libipvs's comparison is not a total order.
fn glibc_msort<T: Copy>(v: &mut [T], cmp: &dyn Fn(T, T) -> i32) {
    if v.len() <= 1 {
        return;
    }
    let len = v.len();
    let n1 = len / 2;
    let (left, right) = v.split_at_mut(n1);
    glibc_msort(left, cmp);
    glibc_msort(right, cmp);
    let mut merged = Vec::with_capacity(len);
    let (mut i, mut j) = (0, 0);
    while let (Some(a), Some(b)) = (left.get(i), right.get(j)) {
        if cmp(*a, *b) <= 0 {
            merged.push(*a);
            i += 1;
        } else {
            merged.push(*b);
            j += 1;
        }
    }
    merged.extend_from_slice(left.get(i..).unwrap_or(&[]));
    merged.extend_from_slice(right.get(j..).unwrap_or(&[]));
    v.copy_from_slice(&merged);
}

/// Ordering helper for tests.
#[cfg(test)]
fn order(a: &str, b: &str) -> std::cmp::Ordering {
    cmp_addr(a, b).cmp(&0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn largenum_matches_ipvsadm() {
        assert_eq!(largenum(0, false), "        0");
        assert_eq!(largenum(99_999_999, false), " 99999999");
        assert_eq!(largenum(100_000_000, false), "  100000K");
        assert_eq!(largenum(1_000_000_000, false), "    1000M");
        assert_eq!(largenum(100_000_000_000, false), "     100G");
        assert_eq!(largenum(100_000_000_000_000, false), "     100T");
        assert_eq!(largenum(12, true), "       12");
        assert_eq!(largenum(1_234_567_890, true), " 1234567890");
    }

    #[test]
    fn address_order_has_libipvs_wraparound() {
        assert_eq!(order("10.0.0.1", "10.0.0.2"), Ordering::Less);
        // 10.x minus 192.x wraps to a positive int in C: ipvsadm lists 192.x first.
        assert_eq!(order("10.0.0.1", "192.0.2.1"), Ordering::Greater);
        assert_eq!(order("2001:db8::1", "2001:db8::2"), Ordering::Less);
    }

    fn fullnat_table() -> IpvsTable {
        let dest = |addr: &str, w: u32| IpvsDest {
            address: addr.into(),
            port: 80,
            forward: "FullNat".into(),
            weight: w,
            u_threshold: 0,
            l_threshold: 0,
            active_conns: 12,
            inactive_conns: 3,
            persist_conns: 0,
            stats: Default::default(),
            rates: Default::default(),
        };
        IpvsTable {
            version: "1.2.1".into(),
            conn_tab_size: 4096,
            dialect: "fullnat".into(),
            services: vec![IpvsService {
                family: "inet".into(),
                protocol: "tcp".into(),
                address: "192.0.2.10".into(),
                port: 80,
                fwmark: 0,
                scheduler: "wlc".into(),
                sched_flags: vec![],
                persistent_secs: 0,
                netmask: "255.255.255.255".into(),
                pe_name: String::new(),
                one_packet: false,
                local_addresses: vec![
                    vgw_api::IpvsLocalAddress {
                        address: "10.2.0.1".into(),
                        conns: 15,
                        port_conflicts: 0,
                    },
                    vgw_api::IpvsLocalAddress {
                        address: "10.2.0.2".into(),
                        conns: 0,
                        port_conflicts: 2,
                    },
                ],
                stats: Default::default(),
                rates: Default::default(),
                dests: vec![dest("10.1.1.2", 100), dest("10.1.1.1", 50)],
            }],
        }
    }

    #[test]
    fn fullnat_services_list_their_local_addresses() {
        let want = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.0.2.10:80 wlc
  ~> 10.2.0.1                     LocalAddress conns 15 conflicts 0
  ~> 10.2.0.2                     LocalAddress conns 0 conflicts 2
  -> 10.1.1.1:80                  FullNat 50     12         3         
  -> 10.1.1.2:80                  FullNat 100    12         3         
";
        assert_eq!(render(&fullnat_table(), Columns::Default, false), want);
        // --stats/--rate keep ipvsadm's layout exactly (no local-address lines).
        assert!(!render(&fullnat_table(), Columns::Stats, false).contains("~>"));
    }

    #[test]
    fn empty_table_is_the_header_only() {
        let mut t = fullnat_table();
        t.services.clear();
        assert_eq!(
            render(&t, Columns::Default, false),
            "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        );
    }
}
