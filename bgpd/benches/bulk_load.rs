//! Bulk-load and withdraw benchmark in lab namespaces (root).
//!
//! `cargo bench -p vgw-bgp --bench bulk_load` (env `VGW_BENCH_SIZES=10000,100000`).
//!
//! One receiving BIRD ("the switch", kernel export on) gets the same N /32s from, in turn, a
//! vgw speaker, a BIRD, ExaBGP and GoBGP, each in its own namespace. Measured per sender, from
//! the moment the receiver shows the session Established (its `show protocols` "since", ms) to
//! the moment its kernel protocol has put the N-th of the routes into the switch namespace's FIB,
//! timestamped by a netlink listener on the IPv4 route group in that namespace (started once,
//! before any sender, the same for every sender). Also printed, as before: Established to the
//! first `birdc show route count` poll (every 20 ms, from before the sender starts, for every
//! sender alike) that shows all N routes in BIRD's table. Then: `withdraw()` on the vgw speaker
//! to the route leaving the switch's kernel FIB (`ip monitor route`), and `withdraw()` to the
//! withdrawal UPDATE arriving at a raw TCP peer on loopback.
//!
//! For diagnosis: `VGW_BENCH_SENDERS=vgw,bird` runs only those senders, and
//! `VGW_BENCH_CAPTURE=DIR` records each sender's session on the switch side with `dumpcap`
//! (`DIR/N-name.pcapng`; the capture costs CPU, so figures taken with it are not comparable);
//! `VGW_BENCH_ROUNDS=R` repeats every size R times (senders interleaved) and ends with the
//! median of each; `VGW_BENCH_DIAG=1` prints, per load, the receiver's route count at every poll
//! and the CPU time the receiving BIRD spent.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncReadExt;
use vgw_bgp::{NeighborConfig, Prefix, RouteAttrs, Speaker, SpeakerConfig};
use vgw_lab::peers::{Bird, Exabgp, Gobgp};
use vgw_lab::{wait_until, Host, Lab};

const T: Duration = Duration::from_secs(300);
const BASE: u32 = 0x0a64_0000; // 10.100.0.0

fn host_route(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(BASE + i)
}

struct Senders {
    lab: Lab,
    sw: Host,
    hosts: Vec<(String, Host, String, String)>, // name, host, sender address, receiver address
}

fn topology() -> Senders {
    let lab = Lab::new("bgp-bench").expect("lab");
    let sw = lab.host("sw").expect("sw");
    let mut hosts = Vec::new();
    for (i, name) in ["vgw", "bird", "exabgp", "gobgp"].iter().enumerate() {
        let h = lab.host(name).expect("host");
        let ifname = format!("eth{}", i + 1);
        lab.link((&sw, &ifname), (&h, "eth1")).expect("link");
        let rx = format!("10.0.{i}.1");
        let tx = format!("10.0.{i}.2");
        sw.add_addr(&ifname, &format!("{rx}/24")).expect("addr");
        h.add_addr("eth1", &format!("{tx}/24")).expect("addr");
        hosts.push((name.to_string(), h, tx, rx));
    }
    Senders { lab, sw, hosts }
}

fn receiver_config(s: &Senders) -> String {
    let mut c = String::from(
        "router id 10.0.0.1;\ntimeformat protocol iso long ms;\nprotocol device {}\n\
         protocol kernel { ipv4 { export all; }; merge paths on; }\n",
    );
    for (name, _, tx, rx) in &s.hosts {
        c.push_str(&format!(
            "protocol bgp p_{name} {{ local {rx} as 65000; neighbor {tx} as 65011; passive on; \
             ipv4 {{ import all; export none; }}; }}\n"
        ));
    }
    c
}

/// What the netlink listener has seen of the switch's kernel FIB: the bench's /32s present,
/// and when their count first reached `target` since the last [`FibWatch::arm`].
#[derive(Default)]
struct FibState {
    present: HashSet<u32>,
    target: usize,
    full_at: Option<SystemTime>,
    overflows: u64,
}

/// A netlink listener (RTMGRP_IPV4_ROUTE) in the switch namespace, on its own thread: every
/// RTM_NEWROUTE / RTM_DELROUTE for a /32 in the bench's range (from 10.100.0.0) is applied to
/// [`FibState`], stamped with the wall clock when `recv` returned the batch that held it. One
/// listener serves every sender, so the end-of-load signal is taken the same way for all of them.
#[derive(Clone)]
struct FibWatch(Arc<(Mutex<FibState>, Condvar)>);

impl FibWatch {
    fn start(sw: &Host) -> FibWatch {
        let w = FibWatch(Arc::default());
        let w2 = w.clone();
        let (tx, rx) = mpsc::channel();
        sw.spawn_thread(move || {
            let fd = match netlink_route_socket() {
                Ok(fd) => fd,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok(()));
            w2.listen(&fd);
        })
        .expect("netlink thread");
        rx.recv().expect("netlink thread").expect("netlink socket");
        w
    }

    fn listen(&self, fd: &OwnedFd) {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let r = nix::sys::socket::recv(
                fd.as_raw_fd(),
                &mut buf,
                nix::sys::socket::MsgFlags::empty(),
            );
            let now = SystemTime::now();
            let r = match r {
                Ok(r) => r,
                Err(nix::errno::Errno::ENOBUFS) => {
                    self.0 .0.lock().expect("fib").overflows += 1;
                    continue;
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    eprintln!("netlink listener: {e}");
                    return;
                }
            };
            let (lock, cv) = &*self.0;
            let mut st = lock.lock().expect("fib");
            for (kind, dst) in route_events(&buf[..r]) {
                if kind == libc::RTM_NEWROUTE {
                    st.present.insert(dst);
                    if st.full_at.is_none() && st.target > 0 && st.present.len() >= st.target {
                        st.full_at = Some(now);
                    }
                } else {
                    st.present.remove(&dst);
                }
            }
            cv.notify_all();
        }
    }

    /// Waits for the FIB to hold none of the bench's routes, then watches for `n` of them.
    fn arm(&self, n: u32) {
        let (lock, cv) = &*self.0;
        let st = lock.lock().expect("fib");
        let (mut st, to) = cv
            .wait_timeout_while(st, T, |s| !s.present.is_empty())
            .expect("fib");
        assert!(
            !to.timed_out(),
            "switch FIB still holds {} routes",
            st.present.len()
        );
        st.target = n as usize;
        st.full_at = None;
        st.overflows = 0;
    }

    /// When the FIB first held all armed routes (waiting up to `T` for it).
    fn full_at(&self) -> Option<SystemTime> {
        let (lock, cv) = &*self.0;
        let st = lock.lock().expect("fib");
        let (st, _) = cv
            .wait_timeout_while(st, T, |s| s.full_at.is_none() && s.overflows == 0)
            .expect("fib");
        if st.overflows > 0 {
            eprintln!(
                "netlink listener overflowed {} times: FIB time not valid",
                st.overflows
            );
            return None;
        }
        st.full_at
    }
}

/// A NETLINK_ROUTE socket in the calling thread's namespace, joined to the IPv4 route group,
/// with a receive buffer large enough for 100,000 notifications in one burst.
fn netlink_route_socket() -> nix::Result<OwnedFd> {
    use nix::sys::socket::{
        bind, setsockopt, socket, sockopt, AddressFamily, NetlinkAddr, SockFlag, SockProtocol,
        SockType,
    };
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
    setsockopt(&fd, sockopt::RcvBufForce, &(256 << 20))?;
    bind(
        fd.as_raw_fd(),
        &NetlinkAddr::new(0, libc::RTMGRP_IPV4_ROUTE as u32),
    )?;
    Ok(fd)
}

/// (RTM_NEWROUTE or RTM_DELROUTE, destination) for every IPv4 /32 of the 2^20 from 10.100.0.0
/// in a batch of netlink messages (nlmsghdr 16 octets, rtmsg 12, then rtattrs; RTA_DST = 1).
fn route_events(mut b: &[u8]) -> Vec<(u16, u32)> {
    let mut v = Vec::new();
    let u16at = |b: &[u8], i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if len < 16 || len > b.len() {
            break;
        }
        let kind = u16at(b, 4);
        let m = &b[16..len];
        if (kind == libc::RTM_NEWROUTE || kind == libc::RTM_DELROUTE)
            && m.len() >= 12
            && i32::from(m[0]) == libc::AF_INET
            && m[1] == 32
        {
            let mut a = &m[12..];
            while a.len() >= 4 {
                let alen = usize::from(u16at(a, 0));
                if alen < 4 || alen > a.len() {
                    break;
                }
                if u16at(a, 2) == libc::RTA_DST && alen == 8 {
                    let dst = u32::from_be_bytes([a[4], a[5], a[6], a[7]]);
                    if dst.wrapping_sub(BASE) < 1 << 20 {
                        v.push((kind, dst));
                    }
                }
                a = &a[((alen + 3) & !3).min(a.len())..];
            }
        }
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    v
}

/// One load, both ways: Established → N-th route in the switch's kernel FIB (netlink), and
/// Established → first count poll showing all N in BIRD's table.
#[derive(Clone, Copy)]
struct Load {
    fib: Duration,
    poll: Duration,
}

/// Established → all `n` routes in the receiver, as seen by the receiver: the session's
/// "since" time (BIRD's `timeformat protocol iso long ms`) to the first count poll that shows
/// all routes (every 20 ms). Called through [`timed`], which starts it before the sender.
fn measure(rx: &Bird, fib: &FibWatch, proto: &str, n: u64) -> Option<Load> {
    let start = Instant::now();
    let cpu0 = cpu_time(rx.pid());
    let own0 = cpu_time(std::process::id());
    let mut polls = Vec::new();
    while start.elapsed() < T {
        let count = rx.route_count("master4").unwrap_or(0);
        polls.push((SystemTime::now(), count));
        if count >= n {
            let t1 = SystemTime::now();
            if std::env::var_os("VGW_BENCH_DIAG").is_some() {
                if let Some(t0) = established_since(rx, proto) {
                    let trail: Vec<String> = polls
                        .iter()
                        .filter_map(|(t, c)| {
                            let ms = t.duration_since(t0).ok()?.as_millis();
                            Some(format!("{ms}:{}k", c / 1000))
                        })
                        .collect();
                    eprintln!(
                        "    {proto}: ms since Established:routes {}",
                        trail.join(" ")
                    );
                }
                let cpu = cpu_time(rx.pid()).saturating_sub(cpu0);
                let own = cpu_time(std::process::id()).saturating_sub(own0);
                eprintln!(
                    "    {proto}: receiver BIRD used {:.3} s of CPU, this process (polling, \
                     and the vgw speaker when it sends) {:.3} s",
                    cpu.as_secs_f64(),
                    own.as_secs_f64()
                );
            }
            let full = fib.full_at()?;
            let t0 = established_since(rx, proto)?;
            return Some(Load {
                fib: full.duration_since(t0).ok()?,
                poll: t1.duration_since(t0).ok()?,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs `start_sender` while `measure` polls the receiver from a second thread. Polling starts
/// before the sender does, for every sender alike: `show route count` walks the receiver's
/// table and its answers wait behind the UPDATEs being processed, so a poller that only began
/// once a slow-starting sender (BIRD parsing 100,000 static routes) was already up would spare
/// that sender's load the polling every other sender's load pays.
fn timed<R>(
    rx: &Bird,
    fib: &FibWatch,
    proto: &str,
    n: u32,
    start_sender: impl FnOnce() -> R,
) -> (Option<Load>, R) {
    fib.arm(n);
    std::thread::scope(|sc| {
        let poller = sc.spawn(|| measure(rx, fib, proto, u64::from(n)));
        let r = start_sender();
        (poller.join().ok().flatten(), r)
    })
}

/// User + system CPU time of process `pid` so far (`/proc/PID/stat`, in clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

/// When BIRD's protocol `proto` last changed state, from `show protocols`.
fn established_since(rx: &Bird, proto: &str) -> Option<SystemTime> {
    let text = rx.birdc("show protocols").ok()?;
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(proto))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    // name proto table state DATE TIME info
    let (date, time) = (f.get(4)?, f.get(5)?);
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, ms) = time.split_once('.')?;
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    let ms: u64 = ms.parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm), UTC.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + h * 3600 + mi * 60 + se;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?) + Duration::from_millis(ms))
}

/// `dumpcap` on the switch's interface towards sender `i`, when `VGW_BENCH_CAPTURE` names a
/// directory; stopped (and flushed) when dropped.
struct Capture(Option<std::process::Child>);

impl Capture {
    fn start(s: &Senders, i: usize, n: u32) -> Capture {
        let Ok(dir) = std::env::var("VGW_BENCH_CAPTURE") else {
            return Capture(None);
        };
        let file = format!("{dir}/{n}-{}.pcapng", s.hosts[i].0);
        let child =
            s.sw.command("dumpcap")
                .args([
                    "-q",
                    "-i",
                    &format!("eth{}", i + 1),
                    "-f",
                    "tcp port 179",
                    "-w",
                    &file,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dumpcap");
        std::thread::sleep(Duration::from_millis(500));
        Capture(Some(child))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            std::thread::sleep(Duration::from_millis(300));
            // SIGINT lets dumpcap finish the file.
            let _ = std::process::Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

fn wait_empty(rx: &Bird) {
    wait_until("receiver to forget the routes", T, || {
        Ok(rx.route_count("master4")? == 0)
    })
    .expect("empty");
}

fn ns_runtime(h: &Host) -> tokio::runtime::Runtime {
    h.run_in(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
    })
    .expect("ns")
    .expect("rt")
}

fn run_vgw(
    s: &Senders,
    rx: &Bird,
    fib: &FibWatch,
    n: u32,
) -> (Load, tokio::runtime::Runtime, Speaker) {
    let _cap = Capture::start(s, 0, n);
    let (_, h, tx, rxa) = &s.hosts[0];
    let rt = ns_runtime(h);
    let (tx, rxa) = (tx.clone(), rxa.clone());
    let (d, speaker) = timed(rx, fib, "p_vgw", n, || {
        rt.block_on(rt.spawn(async move {
            let sp = Speaker::start(SpeakerConfig {
                asn: 65011,
                router_id: tx.parse().expect("id"),
                listen: vec![],
                graceful_restart: None,
            })
            .await
            .expect("speaker");
            sp.announce_many((0..n).map(|i| {
                (
                    Prefix::host(IpAddr::V4(host_route(i))),
                    RouteAttrs::default(),
                )
            }))
            .await
            .expect("announce");
            let mut nb = NeighborConfig::new("sw", rxa.parse().expect("a"), 65000);
            nb.connect_retry = 1;
            sp.add_neighbor(nb).await.expect("neighbor");
            sp
        }))
        .expect("task")
    });
    let d = d.expect("vgw: receiver never held all routes");
    (d, rt, speaker)
}

fn run_bird(s: &Senders, rx: &Bird, fib: &FibWatch, n: u32) -> Load {
    let _cap = Capture::start(s, 1, n);
    let (_, h, tx, rxa) = &s.hosts[1];
    let mut c = format!("router id {tx};\nprotocol device {{}}\nprotocol static {{ ipv4;\n");
    for i in 0..n {
        c.push_str(&format!("route {}/32 blackhole;\n", host_route(i)));
    }
    c.push_str(&format!(
        "}}\nprotocol bgp sw {{ local {tx} as 65011; neighbor {rxa} as 65000; \
         ipv4 {{ import none; export all; next hop self; }}; }}\n"
    ));
    let (d, b) = timed(rx, fib, "p_bird", n, || {
        Bird::start(&s.lab, h, &c).expect("sender bird")
    });
    let d = d.expect("bird: receiver never held all routes");
    b.stop().expect("stop");
    d
}

fn run_exabgp(s: &Senders, rx: &Bird, fib: &FibWatch, n: u32) -> Load {
    let _cap = Capture::start(s, 2, n);
    let (_, h, tx, rxa) = &s.hosts[2];
    let mut c = format!(
        "neighbor {rxa} {{\n router-id {tx}; local-address {tx}; local-as 65011; peer-as 65000;\n \
         family {{ ipv4 unicast; }}\n static {{\n"
    );
    for i in 0..n {
        c.push_str(&format!("  route {}/32 next-hop {tx};\n", host_route(i)));
    }
    c.push_str(" }\n}\n");
    let (d, e) = timed(rx, fib, "p_exabgp", n, || {
        Exabgp::start(&s.lab, h, &c).expect("exabgp")
    });
    let d = d.expect("exabgp: receiver never held all");
    s.lab.stop(e.pid(), Duration::from_secs(5)).ok();
    d
}

/// GoBGP has no static routes in its config; routes are injected from an MRT TABLE_DUMP_V2 file
/// (`gobgp mrt inject global`) before the neighbor exists, so only the session's load is timed.
fn run_gobgp(s: &Senders, rx: &Bird, fib: &FibWatch, n: u32) -> Option<Load> {
    let _cap = Capture::start(s, 3, n);
    let (_, h, tx, rxa) = &s.hosts[3];
    let conf = format!("[global.config]\n  as = 65011\n  router-id = \"{tx}\"\n");
    let g = Gobgp::start(&s.lab, h, &conf).expect("gobgp");
    let mrt = s.lab.dir().join("routes.mrt");
    std::fs::write(&mrt, mrt_dump(n, tx.parse().expect("nh"))).expect("mrt");
    // `gobgp mrt inject` exits before its stream is flushed and loses a random tail (GoBGP
    // 3.10); injecting the same file again is idempotent, so repeat until all routes are in.
    let want = format!("Destination: {n},");
    for _ in 0..50 {
        g.gobgp(&["mrt", "inject", "global", mrt.to_str().expect("path")])
            .expect("inject");
        if g.gobgp(&["global", "rib", "summary"])
            .is_ok_and(|t| t.contains(&want))
        {
            break;
        }
    }
    let (d, ()) = timed(rx, fib, "p_gobgp", n, || {
        g.gobgp(&["neighbor", "add", rxa, "as", "65000"])
            .expect("neighbor");
    });
    if d.is_none() {
        eprintln!(
            "gobgp: receiver never held {n} routes; gobgp rib summary: {:?}; neighbors: {:?}",
            g.gobgp(&["global", "rib", "summary"]),
            g.gobgp(&["neighbor"])
        );
    }
    g.gobgp(&["neighbor", "del", rxa]).ok();
    // The next size starts its own gobgpd in the same namespace, on the same API port.
    s.lab.stop(g.pid(), Duration::from_secs(5)).ok();
    d
}

/// An MRT TABLE_DUMP_V2 (RFC 6396) file: PEER_INDEX_TABLE, then one RIB_IPV4_UNICAST record per
/// route with ORIGIN IGP, AS_PATH empty and NEXT_HOP `nh`.
fn mrt_dump(n: u32, nh: Ipv4Addr) -> Vec<u8> {
    fn record(out: &mut Vec<u8>, subtype: u16, body: &[u8]) {
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&13u16.to_be_bytes());
        out.extend_from_slice(&subtype.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
    }
    let mut out = Vec::new();
    let mut pit = Vec::new();
    pit.extend_from_slice(&nh.octets());
    pit.extend_from_slice(&0u16.to_be_bytes()); // view name length
    pit.extend_from_slice(&1u16.to_be_bytes()); // peer count
    pit.push(0x02); // 4-octet AS, IPv4 peer
    pit.extend_from_slice(&nh.octets());
    pit.extend_from_slice(&nh.octets());
    pit.extend_from_slice(&65011u32.to_be_bytes());
    record(&mut out, 1, &pit);
    let attrs: Vec<u8> = [
        &[0x40u8, 1, 1, 0][..],
        &[0x40, 2, 0],
        &[0x40, 3, 4],
        &nh.octets(),
    ]
    .concat();
    // GoBGP 3.10's `mrt inject` drops the first RIB record; the first route is written twice.
    // It also exits before its stream is flushed and loses a tail of records (59 of 10,000 on a
    // loaded machine, every time): the file ends with copies of the first route to lose instead.
    let pad = (n / 10).max(1000);
    for i in std::iter::once(0)
        .chain(0..n)
        .chain(std::iter::repeat_n(0, pad as usize))
    {
        let mut b = Vec::new();
        b.extend_from_slice(&i.to_be_bytes());
        b.push(32);
        b.extend_from_slice(&host_route(i).octets());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes()); // peer index
        b.extend_from_slice(&0u32.to_be_bytes()); // originated time
        b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        b.extend_from_slice(&attrs);
        record(&mut out, 2, &b);
    }
    out
}

/// withdraw() → the route leaves the switch's kernel FIB, `rounds` times.
fn withdraw_to_fib(
    s: &Senders,
    rt: &tokio::runtime::Runtime,
    sp: &Speaker,
    rounds: u32,
) -> Vec<Duration> {
    let mut mon =
        s.sw.command("ip")
            .args(["-4", "monitor", "route"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("ip monitor");
    let (tx, rxc) = mpsc::channel::<(Instant, String)>();
    let out = mon.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut v = Vec::new();
    for i in 0..rounds {
        let addr = host_route(i);
        let p = Prefix::host(IpAddr::V4(addr));
        let sp = sp.clone();
        let t0 = rt
            .block_on(rt.spawn(async move {
                let t0 = Instant::now();
                sp.withdraw(p).await.expect("withdraw");
                t0
            }))
            .expect("task");
        let want = format!("Deleted {addr} ");
        loop {
            let (t, line) = rxc
                .recv_timeout(Duration::from_secs(30))
                .expect("FIB deletion");
            if line.starts_with(&want) {
                v.push(t.duration_since(t0));
                break;
            }
        }
    }
    let _ = mon.kill();
    let _ = mon.wait();
    v
}

/// withdraw() → the UPDATE read by a raw peer on loopback.
fn withdraw_to_wire(rounds: u32) -> Vec<Duration> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.9:0")
            .await
            .expect("listen");
        let sp = Speaker::start(SpeakerConfig {
            asn: 65011,
            router_id: "10.0.0.11".parse().expect("id"),
            listen: vec![],
            graceful_restart: None,
        })
        .await
        .expect("speaker");
        sp.announce_many((0..rounds).map(|i| {
            (
                Prefix::host(IpAddr::V4(host_route(i))),
                RouteAttrs::default(),
            )
        }))
        .await
        .expect("a");
        let mut nb = NeighborConfig::new("raw", "127.0.0.9".parse().expect("a"), 65000);
        nb.port = listener.local_addr().expect("addr").port();
        sp.add_neighbor(nb).await.expect("n");
        let (mut stream, _) = listener.accept().await.expect("accept");
        let open = hex_open();
        let mut buf = vec![0u8; 1 << 20];
        let _ = stream.read(&mut buf).await.expect("their open");
        tokio::io::AsyncWriteExt::write_all(&mut stream, &open)
            .await
            .expect("open");
        tokio::io::AsyncWriteExt::write_all(
            &mut stream,
            &[0xffu8; 16]
                .iter()
                .copied()
                .chain([0, 19, 4])
                .collect::<Vec<_>>(),
        )
        .await
        .expect("ka");
        // Drain until both End-of-RIBs (the table is small).
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
        let mut v = Vec::new();
        for i in 0..rounds {
            let p = Prefix::host(IpAddr::V4(host_route(i)));
            let t0 = Instant::now();
            sp.withdraw(p).await.expect("w");
            let n = stream.read(&mut buf).await.expect("read");
            v.push(t0.elapsed());
            assert!(n >= 23 && buf[18] == 2, "expected an UPDATE");
        }
        v
    })
}

fn hex_open() -> Vec<u8> {
    let body = [
        4u8, 0xfd, 0xe8, 0, 90, 10, 0, 0, 9, 8, 2, 6, 65, 4, 0, 0, 0xfd, 0xe8,
    ];
    let mut m = vec![0xffu8; 16];
    m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    m.push(1);
    m.extend_from_slice(&body);
    m
}

type Times<'a> = Vec<(u32, &'a str, Vec<Load>)>;

fn record<'a>(times: &mut Times<'a>, n: u32, name: &'a str, d: Load) {
    match times.iter_mut().find(|(k, s, _)| *k == n && *s == name) {
        Some((_, _, v)) => v.push(d),
        None => times.push((n, name, vec![d])),
    }
}

/// "FIB 0.123 s   (poll 0.145 s)" with ratios to vgw's load `vgw` when given.
fn show(d: Load, vgw: Option<Load>, name: &str) -> String {
    let ratio = |v: Duration, p: Duration| match vgw {
        Some(_) if name != "vgw" => {
            format!(" (vgw/{name} = {:.2})", v.as_secs_f64() / p.as_secs_f64())
        }
        _ => String::new(),
    };
    format!(
        "FIB {:>7.3} s{}   poll {:>7.3} s{}",
        d.fib.as_secs_f64(),
        vgw.map(|g| ratio(g.fib, d.fib)).unwrap_or_default(),
        d.poll.as_secs_f64(),
        vgw.map(|g| ratio(g.poll, d.poll)).unwrap_or_default()
    )
}

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s.get(s.len() / 2).copied().unwrap_or_default()
}

fn stats(v: &[Duration]) -> String {
    let mut s: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    s.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| s[((s.len() - 1) as f64 * q) as usize];
    format!(
        "median {:.3} ms, p90 {:.3} ms, max {:.3} ms (n={})",
        pick(0.5),
        pick(0.9),
        pick(1.0),
        s.len()
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<u32> = std::env::var("VGW_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let s = topology();
    let fib = FibWatch::start(&s.sw);
    let rx = Bird::start(&s.lab, &s.sw, &receiver_config(&s)).expect("receiver");
    let senders =
        std::env::var("VGW_BENCH_SENDERS").unwrap_or_else(|_| "vgw,bird,exabgp,gobgp".into());
    let want = |name: &str| senders.split(',').any(|s| s.trim() == name);
    let mut times: Times = Vec::new();
    let rounds: usize = std::env::var("VGW_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1)
        .max(1);
    println!(
        "bulk load: Established → N-th /32 in the receiving BIRD's kernel FIB (netlink), \
         and → first count poll showing all N in its table"
    );
    for (n, round) in sizes.iter().flat_map(|&n| (0..rounds).map(move |r| (n, r))) {
        let mut vgw = None;
        if want("vgw") {
            let (d, rt, sp) = run_vgw(&s, &rx, &fib, n);
            println!("  N={n:>6}  vgw    {}", show(d, None, "vgw"));
            record(&mut times, n, "vgw", d);
            if n == *sizes.first().expect("size") && round == 0 {
                let fibw = withdraw_to_fib(&s, &rt, &sp, 50);
                println!(
                    "  withdraw() → route gone from the switch's kernel FIB: {}",
                    stats(&fibw)
                );
            }
            drop(sp);
            drop(rt);
            wait_empty(&rx);
            vgw = Some(d);
        }
        if want("bird") {
            let bird = run_bird(&s, &rx, &fib, n);
            record(&mut times, n, "bird", bird);
            println!("  N={n:>6}  bird   {}", show(bird, vgw, "bird"));
            wait_empty(&rx);
        }
        if want("exabgp") {
            let exa = run_exabgp(&s, &rx, &fib, n);
            record(&mut times, n, "exabgp", exa);
            println!("  N={n:>6}  exabgp {}", show(exa, vgw, "exabgp"));
            wait_empty(&rx);
        }
        if want("gobgp") {
            match run_gobgp(&s, &rx, &fib, n) {
                Some(gob) => {
                    record(&mut times, n, "gobgp", gob);
                    println!("  N={n:>6}  gobgp  {}", show(gob, vgw, "gobgp"));
                }
                None => println!("  N={n:>6}  gobgp  did not deliver all routes (see stderr)"),
            }
            wait_empty(&rx);
        }
    }
    if rounds > 1 {
        println!(
            "medians of {rounds} rounds, interleaved (FIB and poll medians taken separately):"
        );
        let med = |v: &[Load]| {
            let f: Vec<Duration> = v.iter().map(|d| d.fib).collect();
            let p: Vec<Duration> = v.iter().map(|d| d.poll).collect();
            (
                Load {
                    fib: median(&f),
                    poll: median(&p),
                },
                f.iter().min().copied().unwrap_or_default(),
                f.iter().max().copied().unwrap_or_default(),
            )
        };
        for (n, name, v) in &times {
            let (m, lo, hi) = med(v);
            let vgw = times
                .iter()
                .find(|(k, s, _)| k == n && *s == "vgw")
                .map(|(_, _, v)| med(v).0);
            println!(
                "  N={n:>6}  {name:<6} {}   (FIB min {:.3}, max {:.3})",
                show(m, vgw, name),
                lo.as_secs_f64(),
                hi.as_secs_f64()
            );
        }
    }
    if !want("vgw") {
        return;
    }
    let wire = withdraw_to_wire(200);
    println!(
        "withdraw() → withdrawal UPDATE read by a peer on loopback: {}",
        stats(&wire)
    );
}
