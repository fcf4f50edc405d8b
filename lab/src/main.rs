//! `vgw-lab`: run commands in the IPVS VM, and deploy lab topologies as namespaces.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use vgw_lab::vm::{self, Accel, VmOptions};

#[derive(Parser)]
#[command(
    name = "vgw-lab",
    version,
    about = "The vgw lab: namespace topologies and a VM with a real IPVS kernel"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Boot a VM with Debian's kernel and its IPVS modules, run CMD inside as root, and exit
    /// with CMD's status. The host filesystem is visible read-only at the same paths.
    Vm {
        /// Guest memory in MiB.
        #[arg(long, default_value_t = 2048)]
        memory: u32,
        /// Guest CPUs.
        #[arg(long, default_value_t = 2)]
        cpus: u32,
        /// Kill the VM after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        /// auto (KVM if it works here, else software emulation), kvm or tcg.
        #[arg(long, default_value = "auto")]
        accel: Accel,
        /// Kernel image (default: the newest /boot/vmlinuz-* with IPVS modules).
        #[arg(long)]
        kernel: Option<PathBuf>,
        /// Print boot and run times to stderr when done.
        #[arg(long)]
        timing: bool,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Check a containerlab topology file and print its nodes and links.
    Check { file: PathBuf },
    /// Remove namespaces left behind by lab runs that were killed.
    Sweep,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("VGW_LAB_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Vm {
            memory,
            cpus,
            timeout,
            accel,
            kernel,
            timing,
            command,
        } => {
            let opts = VmOptions {
                memory_mb: memory,
                cpus,
                timeout: Duration::from_secs(timeout),
                accel,
                kernel,
                cwd: None,
            };
            match vm::run(&command, &opts) {
                Ok(o) => {
                    if timing {
                        eprintln!(
                            "vgw-lab: accel {:?}, boot {:.1}s, total {:.1}s, status {}",
                            o.accel,
                            o.boot.as_secs_f64(),
                            o.total.as_secs_f64(),
                            o.status
                        );
                    }
                    ExitCode::from(o.status.clamp(0, 255) as u8)
                }
                Err(e) => {
                    eprintln!("vgw-lab vm: {e}");
                    ExitCode::from(125)
                }
            }
        }
        Cmd::Check { file } => match vgw_lab::clab::Topology::load(&file) {
            Ok(t) => {
                println!(
                    "{}: {} nodes, {} links",
                    t.name,
                    t.topology.nodes.len(),
                    t.topology.links.len()
                );
                for (name, node) in &t.topology.nodes {
                    println!("  node {name} ({})", node.kind);
                }
                for l in &t.topology.links {
                    println!("  link {} <-> {}", l.endpoints[0], l.endpoints[1]);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vgw-lab check: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Sweep => {
            let n = vgw_lab::sweep_stale();
            println!("swept {n} stale lab namespace(s)");
            ExitCode::SUCCESS
        }
    }
}
