//! vgwd: the vgw daemon.

use std::process::ExitCode;

use clap::Parser;
use vgwd::config::{self, LogFormat};

/// The vgw daemon: health checks, IPVS and VIP announcements for one LVS node.
#[derive(Debug, Parser)]
#[command(name = "vgwd", version)]
struct Args {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = config::DEFAULT_PATH)]
    config: std::path::PathBuf,
    /// Validate the configuration and exit (0 when valid, 1 with the errors otherwise).
    #[arg(long)]
    check: bool,
    /// D-Bus address to serve the API on (overrides [api] dbus).
    #[arg(long, env = "VGW_BUS")]
    bus: Option<String>,
}

fn init_logging(cfg: &config::Log) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&cfg.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cfg.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = match config::load(&args.config) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if args.check {
        println!("config OK");
        return ExitCode::SUCCESS;
    }
    init_logging(&cfg.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vgwd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = vgwd::daemon::Options {
        config_path: args.config,
        bus: args.bus,
    };
    match runtime.block_on(vgwd::daemon::run(opts, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("vgwd: {e}");
            ExitCode::FAILURE
        }
    }
}
