//! vgwd: the vgw daemon.

use std::process::ExitCode;

use clap::Parser;

/// The vgw daemon: health checks, IPVS and VIP announcements for one LVS node.
#[derive(Debug, Parser)]
#[command(name = "vgwd", version)]
struct Args {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = vgwd::config::DEFAULT_PATH)]
    config: std::path::PathBuf,
    /// Validate the configuration and exit (0 when valid, 1 with the errors otherwise).
    #[arg(long)]
    check: bool,
    /// D-Bus address to serve the API on (overrides [api] dbus).
    #[arg(long, env = "VGW_BUS")]
    bus: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match vgwd::config::load(&args.config) {
        Ok(_) if args.check => {
            println!("config OK");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("vgwd: the daemon runtime is not built yet");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
