//! vgwctl: the operator's command line for vgwd over D-Bus.

mod cli;
mod client;
mod config_check;
mod render;

use std::io::{IsTerminal, Write};

use clap::{CommandFactory, Parser};
use futures::StreamExt;
use serde::Serialize;
use vgw_api::{DrainTarget, Event};

use cli::{
    BgpCmd, Cli, Color, Command, ConfigCmd, DrainCmd, IpvsCmd, OspfCmd, Output, ServiceCmd,
    SyncCmd, VipCmd,
};
use client::{Client, Failure};
use render::Style;

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "vgwctl",
                &mut std::io::stdout(),
            );
            0
        }
        Command::Man => match man_page() {
            Ok(page) => emit(&page),
            Err(e) => {
                eprintln!("vgwctl: cannot render the man page: {e}");
                1
            }
        },
        Command::Config(ConfigCmd::Check { file }) => config_check::run(file),
        _ => online(&cli),
    };
    std::process::exit(code);
}

/// The roff man page, from the same definitions as the parser.
fn man_page() -> std::io::Result<String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Writes to stdout; a closed pipe (`vgwctl ... | head`) is not an error worth a message.
fn emit(text: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("vgwctl: cannot write output: {e}");
            1
        }
    }
}

fn json<T: Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(s) => s + "\n",
        // Our API types always serialise; say so plainly if that ever changes.
        Err(e) => format!("{{\"error\": \"cannot encode JSON: {e}\"}}\n"),
    }
}

fn style(cli: &Cli) -> Style {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    Style { color }
}

fn online(cli: &Cli) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vgwctl: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(text) => emit(&text),
        Err(f) => {
            eprintln!("vgwctl: {f}");
            f.exit_code()
        }
    }
}

/// Runs one online command; the text to print on success.
async fn run(cli: &Cli) -> Result<String, Failure> {
    let c = Client::connect(cli.bus.as_deref()).await?;
    let p = &c.proxy;
    let style = style(cli);
    let js = cli.output == Output::Json;
    let text = match &cli.command {
        Command::Status => {
            let s = p.status().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&s)
            } else {
                render::node::status(&s, style)
            }
        }
        Command::Vip(VipCmd::List) => {
            let v = p.list_vips().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&v)
            } else {
                render::node::vip_list(&v, style)
            }
        }
        Command::Vip(VipCmd::Show { vip }) => {
            let v = p
                .get_vip(vip)
                .await
                .map_err(|e| c.fail(e, "See `vgwctl vip list`."))?;
            if js {
                json(&v)
            } else {
                render::node::vip_show(&v)
            }
        }
        Command::Service(ServiceCmd::List) => {
            let s = p.list_services().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&s)
            } else {
                render::service::list(&s, style)
            }
        }
        Command::Service(ServiceCmd::Show { name }) => {
            let s = p
                .get_service(name)
                .await
                .map_err(|e| c.fail(e, "See `vgwctl service list`."))?;
            if js {
                json(&s)
            } else {
                render::service::show(&s, style)
            }
        }
        Command::Bgp(BgpCmd::Summary) => {
            let n = p.list_bgp_neighbors().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&n)
            } else {
                render::bgp::summary(&n, style)
            }
        }
        Command::Bgp(BgpCmd::Neighbors { name }) => {
            let mut n = p.list_bgp_neighbors().await.map_err(|e| c.fail(e, ""))?;
            if let Some(name) = name {
                let known: Vec<String> = n.iter().map(|x| x.name.clone()).collect();
                n.retain(|x| &x.name == name);
                if n.is_empty() {
                    return Err(Failure::Refused(format!(
                        "no BGP neighbor named {name:?}; {}",
                        if known.is_empty() {
                            "this node has no BGP neighbors".to_owned()
                        } else {
                            format!("known BGP neighbors: {}", known.join(", "))
                        }
                    )));
                }
            }
            if js {
                json(&n)
            } else {
                render::bgp::neighbors(&n)
            }
        }
        Command::Bgp(BgpCmd::Routes(args)) => {
            let direction = if args.received {
                "received"
            } else {
                "advertised"
            };
            let r = p
                .list_bgp_routes(args.name.as_deref().unwrap_or(""), direction)
                .await
                .map_err(|e| c.fail(e, "See `vgwctl bgp summary`."))?;
            if js {
                json(&r)
            } else {
                render::bgp::routes(&r)
            }
        }
        Command::Ospf(OspfCmd::Neighbors) => {
            let n = p.list_ospf_neighbors().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&n)
            } else {
                render::ospf::neighbors(&n, style)
            }
        }
        Command::Ospf(OspfCmd::Interfaces) => {
            let i = p.list_ospf_interfaces().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&i)
            } else {
                render::ospf::interfaces(&i)
            }
        }
        Command::Ospf(OspfCmd::Database) => {
            let d = p.list_ospf_database().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&d)
            } else {
                render::ospf::database(&d)
            }
        }
        Command::Ipvs(IpvsCmd::List(args)) => {
            let t = p.list_ipvs().await.map_err(|e| c.fail(e, ""))?;
            let columns = if args.stats {
                render::ipvs::Columns::Stats
            } else if args.rate {
                render::ipvs::Columns::Rate
            } else {
                render::ipvs::Columns::Default
            };
            if js {
                json(&t)
            } else {
                render::ipvs::render(&t, columns, args.exact)
            }
        }
        Command::Sync(SyncCmd::Status) => {
            let s = p.sync_status().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&s)
            } else {
                render::node::sync_status(&s)
            }
        }
        Command::Drain(cmd) => drain(&c, cmd, true, js).await?,
        Command::Undrain(cmd) => drain(&c, cmd, false, js).await?,
        Command::Reload => {
            let r = p.reload().await.map_err(|e| c.fail(e, ""))?;
            if js {
                json(&r)
            } else if r.changes.is_empty() {
                format!("Reloaded: generation {}, no changes.\n", r.generation)
            } else {
                let mut out = format!("Reloaded: generation {}:\n", r.generation);
                for ch in &r.changes {
                    out.push_str(&format!("  {ch}\n"));
                }
                out
            }
        }
        Command::Events(args) => return events(&c, args.count, js).await,
        Command::Completions { .. } | Command::Man | Command::Config(_) => String::new(),
    };
    Ok(text)
}

async fn drain(c: &Client, cmd: &DrainCmd, on: bool, js: bool) -> Result<String, Failure> {
    let (kind, target) = match cmd {
        DrainCmd::Vip { vip } => ("vip", vip.clone()),
        DrainCmd::Real { service, real } => ("real", format!("{service}/{real}")),
        DrainCmd::Node => ("node", String::new()),
    };
    // Check the syntax here so a typo is explained before anything is sent.
    let parsed = DrainTarget::parse(kind, &target).map_err(|e| Failure::Refused(e.to_string()))?;
    let hint = match parsed {
        DrainTarget::Vip(_) => "See `vgwctl vip list`.",
        _ => "See `vgwctl service list` and `vgwctl service show NAME`.",
    };
    let wire = parsed.wire_target();
    let result = if on {
        c.proxy.drain(kind, &wire).await
    } else {
        c.proxy.undrain(kind, &wire).await
    };
    result.map_err(|e| c.fail(e, hint))?;
    let verb = if on { "drained" } else { "undrained" };
    Ok(if js {
        json(&serde_json::json!({ "action": verb, "kind": kind, "target": wire }))
    } else {
        format!("{} {parsed}.\n", if on { "Drained" } else { "Undrained" })
    })
}

async fn events(c: &Client, count: Option<u64>, js: bool) -> Result<String, Failure> {
    let mut stream = c
        .proxy
        .inner()
        .receive_all_signals()
        .await
        .map_err(|e| c.fail(e, ""))?;
    eprintln!("Following vgwd events on {} (Ctrl-C to stop).", c.bus);
    let mut seen = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        if count.is_some_and(|n| seen >= n) {
            return Ok(String::new());
        }
        tokio::select! {
            _ = &mut ctrl_c => return Ok(String::new()),
            msg = stream.next() => {
                let Some(msg) = msg else {
                    return Err(Failure::Unreachable(format!(
                        "the connection to {} closed; vgwd or the bus went away", c.bus
                    )));
                };
                match Event::from_message(&msg) {
                    Ok(Some(ev)) => {
                        seen += 1;
                        let line = if js {
                            serde_json::to_string(&ev).unwrap_or_default()
                        } else {
                            render::events::line(&ev)
                        };
                        if emit(&format!("{line}\n")) != 0 {
                            return Ok(String::new());
                        }
                    }
                    Ok(None) => {}
                    Err(e) => eprintln!("vgwctl: ignoring a signal that does not decode: {e}"),
                }
            }
        }
    }
}
