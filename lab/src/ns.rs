//! Hosts (network namespaces), links (veth pairs) and processes inside them.
//!
//! A [`Lab`] owns everything it creates. Namespaces are named `vgwlab-<pid>-<n>-<host>` so that
//! the leftovers of a crashed run can be recognised (their pid is gone) and swept by the next
//! run; processes are tracked by PID and killed, then the namespaces are deleted, when the lab is
//! dropped (also while a test panics).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Deserialize;

use crate::error::{IoContext, LabError, Result};
use crate::util::{self, describe, require_root, require_tool};

/// Prefix of every namespace a lab creates.
pub const NS_PREFIX: &str = "vgwlab-";

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A set of hosts, links and processes that is torn down as a whole.
///
/// With `VGW_LAB_KEEP=1` in the environment the lab directory (configs, logs) is kept for a
/// post-mortem; namespaces and processes are removed all the same.
///
/// Cheap to clone; the last clone to drop tears the lab down.
#[derive(Clone)]
pub struct Lab {
    inner: Arc<LabInner>,
}

struct LabInner {
    name: String,
    prefix: String,
    dir_path: PathBuf,
    dir: Mutex<Option<tempfile::TempDir>>,
    state: Mutex<LabState>,
}

#[derive(Default)]
struct LabState {
    /// A persistent lab (`vgw-lab up`) outlives this process; `vgw-lab down` removes it.
    persistent: bool,
    namespaces: Vec<String>,
    procs: BTreeMap<u32, Proc>,
    torn_down: bool,
}

struct Proc {
    child: Child,
    label: String,
}

/// A process the lab started; its output goes to `log`.
#[derive(Debug, Clone)]
pub struct Spawned {
    pub pid: u32,
    pub log: PathBuf,
}

impl Lab {
    /// Creates an empty lab. Needs root and iproute2; sweeps leftovers of crashed runs first.
    pub fn new(name: &str) -> Result<Lab> {
        require_root()?;
        require_tool("ip", "iproute2")?;
        sweep_stale();
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("{NS_PREFIX}{}-{n}-", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&format!("vgwlab-{name}-"))
            .tempdir()
            .ctx(|| "cannot create the lab's temp directory".to_string())?;
        // Daemons that drop privileges (FRR runs as frr) read configs from here.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .ctx(|| format!("cannot chmod {}", dir.path().display()))?;
        tracing::debug!(lab = name, dir = %dir.path().display(), "lab created");
        Ok(Lab {
            inner: Arc::new(LabInner {
                name: name.to_string(),
                prefix,
                dir_path: dir.path().to_path_buf(),
                dir: Mutex::new(Some(dir)),
                state: Mutex::new(LabState::default()),
            }),
        })
    }

    /// Creates a lab that outlives this process (for `vgw-lab up`): namespaces are named
    /// `vgwlab-clab-<name>-<host>`, logs go to `/run/vgw-lab/<name>/`, nothing is torn down on
    /// drop; [`destroy_persistent`] removes it.
    pub fn persistent(name: &str) -> Result<Lab> {
        require_root()?;
        require_tool("ip", "iproute2")?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(LabError::Invalid(format!(
                "lab name {name:?}: use letters, digits, '-' and '_' only"
            )));
        }
        let prefix = persistent_prefix(name);
        if lab_namespaces().iter().any(|n| n.starts_with(&prefix)) {
            return Err(LabError::Invalid(format!(
                "lab {name} is already up; take it down first with: vgw-lab down FILE"
            )));
        }
        let dir = PathBuf::from(format!("/run/vgw-lab/{name}"));
        std::fs::create_dir_all(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        Ok(Lab {
            inner: Arc::new(LabInner {
                name: name.to_string(),
                prefix,
                dir_path: dir,
                dir: Mutex::new(None),
                state: Mutex::new(LabState {
                    persistent: true,
                    ..LabState::default()
                }),
            }),
        })
    }

    /// A host of a persistent lab that is up (for `vgw-lab exec`).
    pub fn find_persistent_host(lab: Option<&str>, node: &str) -> Result<Host> {
        let matches: Vec<String> = lab_namespaces()
            .into_iter()
            .filter(|n| match lab {
                Some(l) => *n == format!("{}{node}", persistent_prefix(l)),
                None => n.starts_with("vgwlab-clab-") && n.ends_with(&format!("-{node}")),
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(Host {
                name: node.to_string(),
                ns: one.clone(),
            }),
            [] => Err(LabError::Invalid(format!(
                "no running lab has a node {node:?}; start one with: vgw-lab up FILE"
            ))),
            many => Err(LabError::Invalid(format!(
                "several labs have a node {node:?} ({}); name the lab with --lab",
                many.join(", ")
            ))),
        }
    }

    /// The lab's name as given to [`Lab::new`].
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// A private directory for configs, sockets and logs; removed with the lab.
    pub fn dir(&self) -> &Path {
        &self.inner.dir_path
    }

    fn state(&self) -> MutexGuard<'_, LabState> {
        // A panic while holding the lock must not stop the teardown.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a host: a network namespace with `lo` up, IPv4/IPv6 forwarding on and duplicate
    /// address detection off (so addresses are usable at once).
    pub fn host(&self, name: &str) -> Result<Host> {
        let ns = format!("{}{name}", self.inner.prefix);
        if ns.len() > 200 || name.is_empty() || name.contains('/') {
            return Err(LabError::Invalid(format!("bad host name {name:?}")));
        }
        util::run(Command::new("ip").args(["netns", "add", &ns]))?;
        self.state().namespaces.push(ns.clone());
        let host = Host {
            name: name.to_string(),
            ns,
        };
        host.ip(&["link", "set", "lo", "up"])?;
        for (key, value) in [
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv6.conf.all.forwarding", "1"),
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
        ] {
            host.sysctl(key, value)?;
        }
        Ok(host)
    }

    /// Connects `a.0:a.1` with `b.0:b.1` by a veth pair; both ends are brought up.
    pub fn link(&self, a: (&Host, &str), b: (&Host, &str)) -> Result<()> {
        for (_, ifname) in [a, b] {
            if ifname.is_empty() || ifname.len() > 15 {
                return Err(LabError::Invalid(format!(
                    "interface name {ifname:?} must be 1 to 15 characters"
                )));
            }
        }
        util::run(Command::new("ip").args([
            "link", "add", "name", a.1, "netns", &a.0.ns, "type", "veth", "peer", "name", b.1,
            "netns", &b.0.ns,
        ]))?;
        a.0.ip(&["link", "set", a.1, "up"])?;
        b.0.ip(&["link", "set", b.1, "up"])?;
        Ok(())
    }

    /// Starts `cmd` inside `host`; stdout and stderr go to a log file in the lab directory.
    /// The process is killed (SIGTERM, then SIGKILL) when the lab is dropped.
    pub fn spawn(&self, host: &Host, cmd: &Command) -> Result<Spawned> {
        let label = Path::new(cmd.get_program())
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "proc".to_string());
        let log = self.dir().join(format!(
            "{}-{label}-{}.log",
            host.name,
            self.state().procs.len()
        ));
        let file = File::create(&log).ctx(|| format!("cannot create {}", log.display()))?;
        let err = file
            .try_clone()
            .ctx(|| "cannot duplicate a log file handle".to_string())?;
        let mut wrapped = host.command(cmd.get_program());
        wrapped.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped.stdin(Stdio::null()).stdout(file).stderr(err);
        let child = wrapped
            .spawn()
            .ctx(|| format!("cannot start `{}`", describe(cmd)))?;
        let pid = child.id();
        tracing::debug!(host = %host.name, pid, cmd = %describe(cmd), "spawned");
        self.state().procs.insert(
            pid,
            Proc {
                child,
                label: format!("{}:{label}", host.name),
            },
        );
        Ok(Spawned { pid, log })
    }

    /// Whether a process this lab started is still running.
    pub fn is_running(&self, pid: u32) -> bool {
        match self.state().procs.get_mut(&pid) {
            Some(p) => matches!(p.child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops a process this lab started: SIGTERM, up to `grace` to exit, then SIGKILL.
    pub fn stop(&self, pid: u32, grace: Duration) -> Result<()> {
        let proc = self.state().procs.remove(&pid);
        match proc {
            Some(mut p) => {
                terminate(&mut p.child, grace);
                Ok(())
            }
            None => Err(LabError::Invalid(format!(
                "pid {pid} was not started by this lab"
            ))),
        }
    }

    /// Kills a process this lab started with SIGKILL at once (a crash, for restart tests).
    pub fn kill9(&self, pid: u32) -> Result<()> {
        self.stop(pid, Duration::ZERO)
    }

    /// Tears the lab down when the process gets SIGINT, SIGTERM or SIGHUP (Ctrl-C, a closed
    /// terminal), then exits with 128 + the signal. For programs that own a lab for a while
    /// (the demo, `vgw-lab` commands); tests rely on drop and the sweep instead.
    pub fn teardown_on_signals(&self) -> Result<()> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .ctx(|| "cannot install signal handlers".to_string())?;
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("lab-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    eprintln!("vgw-lab: signal {sig}: tearing the lab down");
                    if let Some(inner) = weak.upgrade() {
                        inner.teardown();
                    }
                    std::process::exit(128 + sig);
                }
            })
            .ctx(|| "cannot start the signal thread".to_string())?;
        Ok(())
    }

    /// Tears everything down now (also done on drop). Idempotent.
    pub fn teardown(&self) {
        self.inner.teardown();
    }
}

impl LabInner {
    fn teardown(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.torn_down || st.persistent {
            return;
        }
        st.torn_down = true;
        let procs = std::mem::take(&mut st.procs);
        // Ask everybody first, then wait: shutdowns overlap instead of adding up.
        for p in procs.values() {
            let _ = kill(Pid::from_raw(p.child.id() as i32), Signal::SIGTERM);
        }
        for (_, mut p) in procs {
            tracing::debug!(proc = %p.label, "stopping");
            terminate(&mut p.child, Duration::from_secs(3));
        }
        for ns in st.namespaces.drain(..).rev() {
            delete_namespace(&ns);
        }
        let dir = self.dir.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(dir) = dir {
            if std::env::var_os("VGW_LAB_KEEP").is_some() {
                eprintln!(
                    "vgw-lab: keeping {} (VGW_LAB_KEEP is set)",
                    dir.keep().display()
                );
            }
        }
    }
}

impl Drop for LabInner {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn terminate(child: &mut Child, grace: Duration) {
    let pid = Pid::from_raw(child.id() as i32);
    if grace > Duration::ZERO {
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills whatever still runs inside a namespace of ours (children of the processes we started,
/// daemons that forked), then deletes it.
fn delete_namespace(ns: &str) {
    for round in 0..2 {
        let pids = Command::new("ip").args(["netns", "pids", ns]).output();
        let Ok(out) = pids else { break };
        let list: Vec<i32> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if list.is_empty() {
            break;
        }
        let sig = if round == 0 {
            Signal::SIGTERM
        } else {
            Signal::SIGKILL
        };
        for pid in list {
            let _ = kill(Pid::from_raw(pid), sig);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("ip")
        .args(["netns", "del", ns])
        .stderr(Stdio::null())
        .status();
}

fn persistent_prefix(name: &str) -> String {
    format!("{NS_PREFIX}clab-{name}-")
}

/// Removes a persistent lab: kills what runs in its namespaces, deletes them and its log
/// directory. Returns how many namespaces were removed.
pub fn destroy_persistent(name: &str) -> usize {
    let prefix = persistent_prefix(name);
    let mut n = 0;
    for ns in lab_namespaces()
        .into_iter()
        .filter(|ns| ns.starts_with(&prefix))
    {
        delete_namespace(&ns);
        n += 1;
    }
    let _ = std::fs::remove_dir_all(format!("/run/vgw-lab/{name}"));
    n
}

/// Removes namespaces left behind by lab processes that no longer exist.
pub fn sweep_stale() -> usize {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return 0;
    };
    let mut swept = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        tracing::info!(netns = %name, "sweeping a namespace left by a crashed lab run");
        delete_namespace(&name);
        swept += 1;
    }
    swept
}

/// Lists the lab namespaces that exist now (for tests that check cleanup).
pub fn lab_namespaces() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(NS_PREFIX))
        .collect();
    v.sort();
    v
}

/// A host of the lab: one network namespace.
#[derive(Debug, Clone)]
pub struct Host {
    name: String,
    ns: String,
}

/// One route of a host's kernel FIB, from `ip -j route`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Route {
    pub dst: String,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub dev: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub metric: Option<u32>,
    #[serde(default)]
    pub nexthops: Vec<NextHop>,
}

/// A next hop of a multipath (ECMP) route.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct NextHop {
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub dev: Option<String>,
}

impl Route {
    /// Whether this route is for `prefix` (`10.0.0.1/32` matches ip's `10.0.0.1`).
    pub fn is_for(&self, prefix: &str) -> bool {
        let (addr, len) = prefix.split_once('/').unwrap_or((prefix, ""));
        let host_len = if addr.contains(':') { "128" } else { "32" };
        self.dst == prefix || (self.dst == addr && (len.is_empty() || len == host_len))
    }

    /// The gateways of this route: one for a plain route, several for ECMP.
    pub fn gateways(&self) -> Vec<String> {
        if self.nexthops.is_empty() {
            self.gateway.iter().cloned().collect()
        } else {
            self.nexthops
                .iter()
                .filter_map(|n| n.gateway.clone())
                .collect()
        }
    }
}

impl Host {
    /// The host's name inside the lab.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The network namespace's name (for `ip netns exec`).
    pub fn netns(&self) -> &str {
        &self.ns
    }

    /// A command that runs `program` inside this host.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(program);
        c
    }

    /// Runs `ip -n <ns> ARGS`, failing unless it succeeds; returns stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        util::run(Command::new("ip").args(["-n", &self.ns]).args(args))
    }

    /// Adds an address (`10.0.0.1/24` or `2001:db8::1/64`) to an interface of this host.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> Result<()> {
        let mut args = vec!["addr", "add", cidr, "dev", ifname];
        if cidr.contains(':') {
            args.push("nodad");
        }
        self.ip(&args).map(drop)
    }

    /// Adds a route: `add_route("0.0.0.0/0", "10.0.0.1")`.
    pub fn add_route(&self, dst: &str, via: &str) -> Result<()> {
        self.ip(&["route", "add", dst, "via", via]).map(drop)
    }

    /// Sets a sysctl inside this host's namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run_in(move || std::fs::write(&path, value).ctx(|| format!("cannot write {path}")))?
    }

    /// Runs a program inside this host and returns its output (the exit status is not judged).
    pub fn exec(&self, argv: &[&str]) -> Result<Output> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| LabError::Invalid("exec needs a program".to_string()))?;
        util::output(self.command(prog).args(args))
    }

    /// Runs a program inside this host, failing unless it exits 0; returns stdout.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| LabError::Invalid("run needs a program".to_string()))?;
        util::run(self.command(prog).args(args))
    }

    /// Runs `f` on a thread that has entered this host's network namespace, and waits for it.
    /// Sockets opened by `f` (or by a tokio runtime it builds) live in this host.
    pub fn run_in<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let ns = self.open_ns()?;
        std::thread::scope(|s| {
            s.spawn(move || -> Result<R> {
                enter(&ns)?;
                Ok(f())
            })
            .join()
            .map_err(|_| {
                LabError::Invalid(format!("a thread inside host {} panicked", self.name))
            })?
        })
    }

    /// Starts a long-lived thread inside this host's namespace (e.g. a daemon under test).
    pub fn spawn_thread<F, R>(&self, f: F) -> Result<std::thread::JoinHandle<Result<R>>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let ns = self.open_ns()?;
        std::thread::Builder::new()
            .name(format!("lab-{}", self.name))
            .spawn(move || {
                enter(&ns)?;
                Ok(f())
            })
            .ctx(|| "cannot start a thread".to_string())
    }

    fn open_ns(&self) -> Result<File> {
        let path = format!("/run/netns/{}", self.ns);
        File::open(&path).ctx(|| format!("cannot open {path}"))
    }

    /// The host's IPv4 kernel FIB (main table).
    pub fn routes(&self) -> Result<Vec<Route>> {
        self.routes_of(&["-j", "route", "show"])
    }

    /// The host's IPv6 kernel FIB (main table).
    pub fn routes6(&self) -> Result<Vec<Route>> {
        self.routes_of(&["-j", "-6", "route", "show"])
    }

    fn routes_of(&self, args: &[&str]) -> Result<Vec<Route>> {
        let text = self.ip(args)?;
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(&text)
            .map_err(|e| LabError::Invalid(format!("cannot parse `ip -j route`: {e}")))
    }

    /// The route for `prefix` in this host's FIB, if there is one.
    pub fn route(&self, prefix: &str) -> Result<Option<Route>> {
        let routes = if prefix.contains(':') {
            self.routes6()?
        } else {
            self.routes()?
        };
        Ok(routes.into_iter().find(|r| r.is_for(prefix)))
    }
}

fn enter(ns: &File) -> Result<()> {
    nix::sched::setns(ns, CloneFlags::CLONE_NEWNET)
        .map_err(|e| LabError::io("cannot enter a network namespace (setns)", e.into()))
}
