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
    /// Deploy a containerlab topology file as network namespaces (no Docker needed). The lab
    /// stays up until `vgw-lab down FILE`.
    ///
    /// With --vm the lab is deployed inside the IPVS VM (for hosts whose kernel has no IPVS),
    /// CMD runs there with the lab up (`vgw-lab exec` works inside it), and the lab goes with
    /// the VM when CMD ends: `vgw-lab up --vm FILE -- lab/demo.sh`.
    Up {
        /// Deploy inside the VM with a real IPVS kernel and run CMD there.
        #[arg(long)]
        vm: bool,
        file: PathBuf,
        /// With --vm: the command to run while the lab is up.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Remove a lab deployed with `vgw-lab up`: its processes, namespaces and logs.
    Down { file: PathBuf },
    /// Run a command inside a node of a lab that is up.
    Exec {
        /// The lab's name (the `name:` of its file); needed only when several labs are up.
        #[arg(long)]
        lab: Option<String>,
        node: String,
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
        Cmd::Up {
            vm: false,
            file,
            command,
        } => {
            if !command.is_empty() {
                eprintln!(
                    "vgw-lab up: a command after -- runs only with --vm; without it the lab stays \
                     up: run commands with vgw-lab exec NODE -- CMD"
                );
                return ExitCode::from(2);
            }
            report(up(&file))
        }
        Cmd::Up {
            vm: true,
            file,
            command,
        } => up_in_vm(&file, &command),
        Cmd::Down { file } => report(vgw_lab::clab::Topology::load(&file).map(|t| {
            let n = vgw_lab::destroy_persistent(&t.name);
            println!("lab {}: removed {n} node(s)", t.name);
        })),
        Cmd::Exec { lab, node, command } => {
            let host = match vgw_lab::Lab::find_persistent_host(lab.as_deref(), &node) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("vgw-lab exec: {e}");
                    return ExitCode::from(125);
                }
            };
            let status = host.command(&command[0]).args(&command[1..]).status();
            match status {
                Ok(s) => ExitCode::from(s.code().unwrap_or(125).clamp(0, 255) as u8),
                Err(e) => {
                    eprintln!("vgw-lab exec: cannot run {}: {e}", command[0]);
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

fn up(file: &std::path::Path) -> vgw_lab::Result<()> {
    let topo = vgw_lab::clab::Topology::load(file)?;
    let lab = vgw_lab::Lab::persistent(&topo.name)?;
    match topo.deploy(&lab) {
        Ok(hosts) => {
            println!(
                "lab {} is up: {} node(s); logs in /run/vgw-lab/{}/",
                topo.name,
                hosts.len(),
                topo.name
            );
            for (name, host) in hosts {
                println!("  {name:<12} netns {}", host.netns());
            }
            println!(
                "run commands with: vgw-lab exec NODE -- CMD; remove it with: vgw-lab down FILE"
            );
            Ok(())
        }
        Err(e) => {
            vgw_lab::destroy_persistent(&topo.name);
            Err(e)
        }
    }
}

/// `vgw-lab up --vm FILE -- CMD`: inside the VM, deploy, run CMD, tear down; CMD's status.
fn up_in_vm(file: &std::path::Path, command: &[String]) -> ExitCode {
    if command.is_empty() {
        eprintln!(
            "vgw-lab up --vm: the VM lives as long as a command; give one after --, for example \
             vgw-lab up --vm {} -- lab/demo.sh",
            file.display()
        );
        return ExitCode::from(2);
    }
    if let Err(e) = vgw_lab::clab::Topology::load(file) {
        eprintln!("vgw-lab up: {e}");
        return ExitCode::FAILURE;
    }
    let (Ok(me), Ok(file)) = (std::env::current_exe(), std::path::absolute(file)) else {
        eprintln!("vgw-lab up --vm: cannot resolve the paths of vgw-lab and the file");
        return ExitCode::from(125);
    };
    // Inside: $0 = vgw-lab, $1 = the file, the rest = CMD. vgw-lab's directory goes first on
    // PATH so that CMD and the nodes find it and the vgwd/vgwctl built beside it.
    let script = "PATH=\"$(dirname \"$0\"):$PATH\"; export PATH; \"$0\" up \"$1\" || exit 125; f=$1; shift; \"$@\"; st=$?; \"$0\" down \"$f\" >/dev/null; exit $st";
    let mut argv = vec![
        "sh".to_string(),
        "-c".to_string(),
        script.to_string(),
        me.display().to_string(),
        file.display().to_string(),
    ];
    argv.extend(command.iter().cloned());
    match vm::run(&argv, &VmOptions::default()) {
        Ok(o) => ExitCode::from(o.status.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("vgw-lab up --vm: {e}");
            ExitCode::from(125)
        }
    }
}

fn report(r: vgw_lab::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vgw-lab: {e}");
            ExitCode::FAILURE
        }
    }
}
