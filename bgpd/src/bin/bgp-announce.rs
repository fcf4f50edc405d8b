//! `bgp-announce`: a standalone vgw BGP speaker for tests, benchmarks and quick field checks.
//!
//! ```text
//! bgp-announce --asn 65011 --router-id 10.0.0.11 \
//!     --neighbor tor1,10.0.0.1,65000 --neighbor tor2,10.0.1.1,65000,passive,password=secret \
//!     --announce 192.0.2.10/32,community=65000:100,med=10 --bulk 10.100.0.0,10000 \
//!     --graceful-restart 120 [--restarting] [--listen 0.0.0.0:179] [--stdin]
//! ```
//! With `--stdin`, lines `announce PREFIX[,attrs]`, `withdraw PREFIX`, `status`,
//! `shutdown [MESSAGE]` are read from standard input; every answer is one JSON line on stdout.
//! SIGTERM or SIGINT ends all sessions with an administrative shutdown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader};
use vgw_bgp::session::GracefulRestart;
use vgw_bgp::{NeighborConfig, Prefix, RouteAttrs, Speaker, SpeakerConfig};

#[derive(Parser, Debug)]
#[command(about = "A vgw BGP speaker that announces prefixes (VIPs) to its neighbors")]
struct Args {
    #[arg(long)]
    asn: u32,
    #[arg(long)]
    router_id: Ipv4Addr,
    /// Accept connections on ADDR:PORT (repeatable).
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// NAME,ADDRESS,REMOTE_AS[,passive][,password=KEY][,ttl-security][,local=IP][,hold=SECS]
    /// [,port=N][,connect-retry=SECS][,next-hop-v6=IP]
    #[arg(long)]
    neighbor: Vec<String>,
    /// PREFIX[,community=A:B]...[,large=A:B:C]...[,med=N][,prepend=N][,local-pref=N][,gshut]
    #[arg(long)]
    announce: Vec<String>,
    /// BASE,COUNT: announce COUNT consecutive host routes starting at BASE.
    #[arg(long)]
    bulk: Option<String>,
    /// Advertise graceful restart with this restart time (seconds).
    #[arg(long)]
    graceful_restart: Option<u16>,
    /// Set the Restart State bit: this process is restarting (RFC 4724).
    #[arg(long)]
    restarting: bool,
    /// Read commands from standard input.
    #[arg(long)]
    stdin: bool,
}

fn parse_neighbor(s: &str) -> Result<NeighborConfig, String> {
    let mut parts = s.split(',');
    let (Some(name), Some(addr), Some(asn)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "--neighbor {s}: expected NAME,ADDRESS,REMOTE_AS[,options]"
        ));
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|e| format!("--neighbor {s}: address: {e}"))?;
    let asn: u32 = asn
        .parse()
        .map_err(|e| format!("--neighbor {s}: AS: {e}"))?;
    let mut cfg = NeighborConfig::new(name, addr, asn);
    for opt in parts {
        let bad = |e: &dyn std::fmt::Display| format!("--neighbor {s}: {opt}: {e}");
        match opt.split_once('=') {
            None if opt == "passive" => cfg.passive = true,
            None if opt == "ttl-security" => cfg.ttl_security = true,
            Some(("password", v)) => cfg.password = Some(v.to_string()),
            Some(("local", v)) => cfg.local_address = Some(v.parse().map_err(|e| bad(&e))?),
            Some(("hold", v)) => cfg.hold_time = v.parse().map_err(|e| bad(&e))?,
            Some(("port", v)) => cfg.port = v.parse().map_err(|e| bad(&e))?,
            Some(("connect-retry", v)) => cfg.connect_retry = v.parse().map_err(|e| bad(&e))?,
            Some(("next-hop-v6", v)) => cfg.next_hop_v6 = Some(v.parse().map_err(|e| bad(&e))?),
            _ => return Err(bad(&"unknown option")),
        }
    }
    Ok(cfg)
}

fn parse_route(s: &str) -> Result<(Prefix, RouteAttrs), String> {
    let mut parts = s.split(',');
    let prefix: Prefix = parts
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("{s}: {e}"))?;
    let mut attrs = RouteAttrs::default();
    let mut gshut = false;
    for opt in parts {
        let bad = |e: &dyn std::fmt::Display| format!("{s}: {opt}: {e}");
        match opt.split_once('=') {
            Some(("community", v)) => attrs.communities.push(v.parse().map_err(|e| bad(&e))?),
            Some(("large", v)) => attrs
                .large_communities
                .push(v.parse().map_err(|e| bad(&e))?),
            Some(("med", v)) => attrs.med = Some(v.parse().map_err(|e| bad(&e))?),
            Some(("prepend", v)) => attrs.as_path_prepend = v.parse().map_err(|e| bad(&e))?,
            Some(("local-pref", v)) => attrs.local_pref = Some(v.parse().map_err(|e| bad(&e))?),
            None if opt == "gshut" => gshut = true,
            _ => return Err(bad(&"unknown option")),
        }
    }
    if gshut {
        attrs = attrs.graceful_shutdown();
    }
    Ok((prefix, attrs))
}

fn bulk(s: &str) -> Result<Vec<(Prefix, RouteAttrs)>, String> {
    let (base, count) = s
        .split_once(',')
        .ok_or(format!("--bulk {s}: expected BASE,COUNT"))?;
    let base: Ipv4Addr = base.parse().map_err(|e| format!("--bulk {s}: {e}"))?;
    let count: u32 = count.parse().map_err(|e| format!("--bulk {s}: {e}"))?;
    Ok((0..count)
        .map(|i| {
            let a = Ipv4Addr::from(u32::from(base).wrapping_add(i));
            (Prefix::host(IpAddr::V4(a)), RouteAttrs::default())
        })
        .collect())
}

fn say(v: serde_json::Value) {
    println!("{v}");
}

async fn run(args: Args) -> Result<(), String> {
    let neighbors: Vec<NeighborConfig> = args
        .neighbor
        .iter()
        .map(|s| parse_neighbor(s))
        .collect::<Result<_, _>>()?;
    let mut routes: Vec<(Prefix, RouteAttrs)> = args
        .announce
        .iter()
        .map(|s| parse_route(s))
        .collect::<Result<_, _>>()?;
    if let Some(b) = &args.bulk {
        routes.extend(bulk(b)?);
    }
    let speaker = Speaker::start(SpeakerConfig {
        asn: args.asn,
        router_id: args.router_id,
        listen: args.listen.clone(),
        graceful_restart: args.graceful_restart.map(|t| GracefulRestart {
            restart_time: t,
            restarting: args.restarting,
        }),
    })
    .await
    .map_err(|e| e.to_string())?;
    speaker
        .announce_many(routes)
        .await
        .map_err(|e| e.to_string())?;
    for n in neighbors {
        speaker.add_neighbor(n).await.map_err(|e| e.to_string())?;
    }
    say(serde_json::json!({"started": true}));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = args.stdin;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            line = lines.next_line(), if stdin_open => {
                let Ok(Some(line)) = line else { stdin_open = false; continue };
                let (cmd, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
                let r = match cmd {
                    "announce" => match parse_route(rest) {
                        Ok((p, a)) => speaker.announce(p, a).await.map(|_| serde_json::json!({"ok": "announce"})).map_err(|e| e.to_string()),
                        Err(e) => Err(e),
                    },
                    "withdraw" => match rest.parse::<Prefix>() {
                        Ok(p) => speaker.withdraw(p).await.map(|_| serde_json::json!({"ok": "withdraw"})).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                    "status" => speaker.neighbors().await.map(|n| serde_json::json!({"neighbors": n})).map_err(|e| e.to_string()),
                    "shutdown" => {
                        let r = speaker.shutdown(rest).await.map_err(|e| e.to_string());
                        say(serde_json::json!({"ok": "shutdown"}));
                        return r;
                    }
                    other => Err(format!("unknown command {other:?} (announce, withdraw, status, shutdown)")),
                };
                match r {
                    Ok(v) => say(v),
                    Err(e) => say(serde_json::json!({"error": e})),
                }
            }
        }
    }
    speaker
        .shutdown("vgw speaker stopping")
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bgp-announce: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgp-announce: {e}");
            ExitCode::FAILURE
        }
    }
}
