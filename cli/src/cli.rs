//! The command line, declared once: parsing, `--help`, shell completions and the man page
//! all come from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Which daemon: vgwctl talks to vgwd over D-Bus (name org.vgw.Vgwd1). It uses --bus ADDRESS, else \
the VGW_BUS environment variable, else the system bus. On nodes without a system bus, vgwd \
serves a private bus; pass its address, e.g. --bus unix:path=/run/vgw/bus.

Permissions: reading is open to every user. drain, undrain and reload need root or membership \
in the admin group configured for vgwd; vgwd checks the caller's uid through the bus.

Exit status: 0 success; 1 the daemon refused or failed the request (unknown name, rejected \
configuration); 2 bad command line; 3 vgwd is not reachable; 4 access denied.";

/// vgwctl: inspect and steer the vgw load-balancer daemon (vgwd) over D-Bus.
#[derive(Debug, Parser)]
#[command(name = "vgwctl", version, about, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// D-Bus address of the bus vgwd serves on (default: the system bus).
    #[arg(long, global = true, env = "VGW_BUS", value_name = "ADDRESS")]
    pub bus: Option<String>,

    /// Output format of listings: tables for people, JSON for scripts.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Colour in tables: auto = only when stdout is a terminal and NO_COLOR is unset.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns.
    Table,
    /// JSON documents (field names are stable, see vgw-api's README).
    Json,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when stdout is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Node summary: uptime, configuration generation, VIPs, neighbours, alarms.
    Status,
    /// Virtual IP addresses and whether they are announced.
    #[command(subcommand)]
    Vip(VipCmd),
    /// Virtual services and their real servers' health.
    #[command(subcommand)]
    Service(ServiceCmd),
    /// BGP sessions and routes.
    #[command(subcommand)]
    Bgp(BgpCmd),
    /// OSPF adjacencies, interfaces and database.
    #[command(subcommand)]
    Ospf(OspfCmd),
    /// The kernel IPVS table, in the layout of `ipvsadm -Ln`.
    #[command(subcommand)]
    Ipvs(IpvsCmd),
    /// IPVS connection synchronisation.
    #[command(subcommand)]
    Sync(SyncCmd),
    /// Take a VIP, a real server or the whole node out of service gracefully (root or admin
    /// group).
    #[command(subcommand)]
    Drain(DrainCmd),
    /// Put back what `drain` took out (root or admin group).
    #[command(subcommand)]
    Undrain(DrainCmd),
    /// Re-read vgwd's configuration file and apply only the differences (root or admin group).
    Reload,
    /// Follow vgwd's state changes as they happen, until Ctrl-C.
    Events(EventsArgs),
    /// Configuration file tools (offline, no daemon needed).
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff); e.g. `vgwctl man | man -l -`.
    Man,
}

/// `vip`.
#[derive(Debug, Subcommand)]
pub enum VipCmd {
    /// Every VIP with its state.
    List,
    /// One VIP in detail.
    Show {
        /// The VIP address.
        vip: String,
    },
}

/// `service`.
#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Every service with its health summary.
    List,
    /// One service with each real's health, weights and last check.
    Show {
        /// The service name.
        name: String,
    },
}

/// `bgp`.
#[derive(Debug, Subcommand)]
pub enum BgpCmd {
    /// One line per neighbour.
    Summary,
    /// Neighbours in detail.
    Neighbors {
        /// Only this neighbour.
        name: Option<String>,
    },
    /// Routes announced to (default) or received from neighbours.
    Routes(RoutesArgs),
}

/// `bgp routes`.
#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// Routes vgwd announces (the default).
    #[arg(long, conflicts_with = "received")]
    pub advertised: bool,
    /// Routes the neighbours send.
    #[arg(long)]
    pub received: bool,
    /// Only this neighbour.
    pub name: Option<String>,
}

/// `ospf`.
#[derive(Debug, Subcommand)]
pub enum OspfCmd {
    /// Adjacencies.
    Neighbors,
    /// OSPF interfaces.
    Interfaces,
    /// Link-state database headers.
    Database,
}

/// `ipvs`.
#[derive(Debug, Subcommand)]
pub enum IpvsCmd {
    /// The table as `ipvsadm -Ln` prints it (FULLNAT services also list their local
    /// addresses).
    List(IpvsListArgs),
}

/// `ipvs list`.
#[derive(Debug, Args)]
pub struct IpvsListArgs {
    /// Counters since creation (like `ipvsadm -Ln --stats`).
    #[arg(long, conflicts_with = "rate")]
    pub stats: bool,
    /// Rates per second (like `ipvsadm -Ln --rate`).
    #[arg(long)]
    pub rate: bool,
    /// Numeric output. Accepted for ipvsadm habit; vgwctl never resolves names.
    #[arg(short = 'n', long)]
    pub numeric: bool,
    /// Print exact numbers instead of K/M/G units (like `ipvsadm --exact`).
    #[arg(long)]
    pub exact: bool,
}

/// `sync`.
#[derive(Debug, Subcommand)]
pub enum SyncCmd {
    /// Kernel sync daemons and the relay.
    Status,
}

/// `drain` / `undrain`.
#[derive(Debug, Subcommand)]
pub enum DrainCmd {
    /// A VIP: announced with the graceful-shutdown community, then withdrawn.
    Vip {
        /// The VIP address.
        vip: String,
    },
    /// A real server: weight 0, existing connections finish.
    Real {
        /// The service name.
        service: String,
        /// The real server, `ADDR`, `ADDR:PORT` or `[IPV6]:PORT`.
        #[arg(value_name = "ADDR[:PORT]")]
        real: String,
    },
    /// Every VIP of this node.
    Node,
}

/// `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// `config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Validate a configuration file without a running daemon. This runs
    /// `vgwd --config FILE --check` (the vgwd found next to vgwctl's own executable, else on
    /// PATH), so the messages are exactly the daemon's.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}
