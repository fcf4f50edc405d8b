//! Controller throughput: `cargo bench -p vgwd --bench controller`.
//!
//! A node with 100 VIPs, 100 services and 10 reals each (1000 targets). Measures the first
//! round (1000 health inputs) and then 20 000 health flips, each a full recompute + diff,
//! reporting inputs per second and the mean cost of one `process()`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

use vgwd::controller::{Controller, Input};

fn config(services: usize, reals: usize) -> String {
    let mut t = String::from(
        "[node]\nname = \"bench\"\nrouter_id = \"10.0.0.1\"\n\n[bgp]\nasn = 65000\n\n",
    );
    for s in 0..services {
        let _ = write!(
            t,
            "[[vip]]\naddress = \"10.200.{}.{}\"\n\n",
            s / 250,
            s % 250 + 1
        );
    }
    for s in 0..services {
        let _ = write!(
            t,
            "[[service]]\nname = \"s{s}\"\nvip = \"10.200.{}.{}\"\nport = 80\nforward = \"nat\"\nquorum = 3\nprotect_threshold = 0.5\n\n",
            s / 250,
            s % 250 + 1
        );
        for r in 0..reals {
            let _ = write!(
                t,
                "[[service.real]]\naddress = \"10.{}.{}.{}\"\nweight = 10\n\n",
                1 + s / 250,
                s % 250,
                r + 1
            );
        }
    }
    t
}

fn main() {
    let (services, reals) = (100usize, 10usize);
    let text = config(services, reals);
    let t0 = Instant::now();
    let cfg = vgwd::config::parse(&text, "bench.toml").expect("valid bench config");
    let parse = t0.elapsed();
    let mut c = Controller::new(cfg);
    c.process(Input::Start);
    let real = |s: usize, r: usize| -> SocketAddr {
        format!("10.{}.{}.{}:80", 1 + s / 250, s % 250, r + 1)
            .parse()
            .expect("sa")
    };
    let t0 = Instant::now();
    let mut outputs = 0usize;
    for s in 0..services {
        for r in 0..reals {
            outputs += c
                .process(Input::Health {
                    service: format!("s{s}"),
                    real: real(s, r),
                    healthy: true,
                })
                .len();
        }
    }
    let first = t0.elapsed();
    let flips = 20_000usize;
    let t0 = Instant::now();
    for i in 0..flips {
        let (s, r) = ((i * 7) % services, (i * 3) % reals);
        outputs += c
            .process(Input::Health {
                service: format!("s{s}"),
                real: real(s, r),
                healthy: i % 2 == 1,
            })
            .len();
    }
    let flip = t0.elapsed();
    println!("config: {services} services x {reals} reals parsed and validated in {parse:?}");
    println!("first round: {} inputs in {first:?}", services * reals);
    println!(
        "health flips: {flips} in {flip:?} = {:.0} inputs/s, {:.1} us per process() ({outputs} outputs total)",
        flips as f64 / flip.as_secs_f64(),
        flip.as_secs_f64() * 1e6 / flips as f64
    );
}
