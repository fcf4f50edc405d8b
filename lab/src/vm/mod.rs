//! `vgw-lab vm`: run a command as root inside a qemu VM that has a real IPVS kernel.
//!
//! The host kernel of our machines has no IPVS (and no loadable modules), so IPVS tests run in
//! a VM booted from Debian's kernel package:
//!
//! ```text
//!  host                                   guest (software emulation, or KVM when it works)
//!  ────                                   ─────
//!  initramfs (built here, cached):        /init: insmod 9p + ip_vs + schedulers + veth ...
//!    busybox, /init, *.ko                         host / over 9p (ro) + tmpfs = overlay /host
//!  run dir: script.sh ──────────────────►         (writes stay in the guest), fresh /run
//!                                                 chroot /host sh script.sh > ttyS1
//!  qemu stdout (ttyS1) ◄──────────────────        "@@VGWLAB-EXIT <status>" ; poweroff
//!  console.log (ttyS0, kernel messages)
//! ```
//!
//! The guest sees the host's filesystem at the same paths, so the project's build output,
//! ipvsadm, BIRD and the rest run inside unchanged. Several tests share one boot by running
//! one test binary (or a script) inside.

mod cpio;
mod modules;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{IoContext, LabError, Result};
use crate::util::{find_tool, require_root};

/// The environment variable set inside the VM.
pub const IN_VM_ENV: &str = "VGW_LAB_IN_VM";
const EXIT_MARKER: &str = "@@VGWLAB-EXIT ";
const UP_MARKER: &str = "@@VGWLAB-UP";
const INIT_VERSION: u32 = 2;

/// Whether this process runs inside the lab VM.
pub fn in_vm() -> bool {
    std::env::var_os(IN_VM_ENV).is_some()
}

/// Whether the running kernel has IPVS (then tests need no VM).
pub fn kernel_has_ipvs() -> bool {
    Path::new("/proc/net/ip_vs").exists()
}

/// How to use hardware acceleration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// KVM if `/dev/kvm` is there and a probe boot shows it works (remembered), else TCG.
    Auto,
    Kvm,
    Tcg,
}

impl std::str::FromStr for Accel {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Accel::Auto),
            "kvm" => Ok(Accel::Kvm),
            "tcg" => Ok(Accel::Tcg),
            _ => Err(format!("unknown accelerator {s:?}: use auto, kvm or tcg")),
        }
    }
}

/// Options of one VM run.
#[derive(Debug, Clone)]
pub struct VmOptions {
    pub memory_mb: u32,
    pub cpus: u32,
    /// The whole run (boot + command) is killed after this long.
    pub timeout: Duration,
    pub accel: Accel,
    /// Kernel image; default: the newest `/boot/vmlinuz-*` that has IPVS modules.
    pub kernel: Option<PathBuf>,
    /// Working directory of the command inside the VM; default: the current one.
    pub cwd: Option<PathBuf>,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            memory_mb: 2048,
            cpus: 2,
            timeout: Duration::from_secs(3600),
            accel: Accel::Auto,
            kernel: None,
            cwd: None,
        }
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct VmOutcome {
    /// The command's exit status inside the VM.
    pub status: i32,
    /// Time from starting qemu to the guest's init running.
    pub boot: Duration,
    /// Time from starting qemu to the command's end.
    pub total: Duration,
    pub accel: Accel,
}

/// The files a VM run needs, found on the host.
#[derive(Debug, Clone)]
pub struct VmAssets {
    pub qemu: PathBuf,
    pub kernel: PathBuf,
    pub modules_dir: PathBuf,
    pub busybox: PathBuf,
}

impl VmAssets {
    /// Finds qemu, a kernel with IPVS modules and a static busybox, or says what to install.
    pub fn discover(kernel: Option<&Path>) -> Result<VmAssets> {
        let qemu = find_tool("qemu-system-x86_64").ok_or_else(|| LabError::MissingTool {
            tool: "qemu-system-x86_64".into(),
            package: "qemu-system-x86".into(),
        })?;
        let kernel = match kernel {
            Some(k) => k.to_path_buf(),
            None => match std::env::var_os("VGW_LAB_KERNEL") {
                Some(k) => PathBuf::from(k),
                None => newest_ipvs_kernel()?,
            },
        };
        let version = kernel
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("vmlinuz-"))
            .ok_or_else(|| {
                LabError::Invalid(format!(
                    "{} is not a /boot/vmlinuz-VERSION",
                    kernel.display()
                ))
            })?;
        let modules_dir = PathBuf::from(format!("/lib/modules/{version}"));
        if !modules_dir
            .join("kernel/net/netfilter/ipvs/ip_vs.ko")
            .is_file()
        {
            return Err(LabError::MissingFile {
                what: "the IPVS module of the VM kernel".into(),
                path: modules_dir.join("kernel/net/netfilter/ipvs/ip_vs.ko"),
                hint: "install Debian's kernel: apt-get install -y linux-image-amd64".into(),
            });
        }
        let busybox = PathBuf::from("/bin/busybox");
        if !is_static_elf(&busybox) {
            return Err(LabError::MissingFile {
                what: "a statically linked busybox for the VM's initramfs".into(),
                path: busybox,
                hint: "apt-get install -y busybox-static".into(),
            });
        }
        Ok(VmAssets {
            qemu,
            kernel,
            modules_dir,
            busybox,
        })
    }
}

fn newest_ipvs_kernel() -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/boot")
        .ctx(|| "cannot list /boot".to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("vmlinuz-"))
                .is_some_and(|v| {
                    Path::new(&format!(
                        "/lib/modules/{v}/kernel/net/netfilter/ipvs/ip_vs.ko"
                    ))
                    .is_file()
                })
        })
        .collect();
    found.sort();
    found.pop().ok_or_else(|| LabError::MissingFile {
        what: "a kernel with IPVS modules".into(),
        path: PathBuf::from("/boot/vmlinuz-*"),
        hint: "install Debian's kernel: apt-get install -y linux-image-amd64".into(),
    })
}

/// Whether an ELF file has no program interpreter (is statically linked).
fn is_static_elf(path: &Path) -> bool {
    let Ok(data) = std::fs::read(path) else {
        return false;
    };
    let u16_at = |o: usize| {
        data.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u64_at = |o: usize| {
        data.get(o..o + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    if data.get(..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    let Ok(phoff) = usize::try_from(phoff) else {
        return false;
    };
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        data.get(at..at + 4) != Some(&3u32.to_le_bytes()[..]) // PT_INTERP
    })
}

/// Where the initramfs and run directories live (must not be under a path the guest covers
/// with tmpfs, so the guest can read the scripts the host wrote).
fn cache_dir() -> PathBuf {
    std::env::var_os("VGW_LAB_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/vgw-lab"))
}

fn init_script() -> String {
    format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
stty -F /dev/ttyS1 raw -echo 2>/dev/null
echo "{UP_MARKER}" > /dev/ttyS1
for m in $(cat /modules.order); do
  insmod "/lib/modules/$m" 2>/dev/null || echo "vgw-lab: insmod $m failed" > /dev/ttyS0
done
script=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in vgw.script=*) script="${{arg#vgw.script=}}" ;; esac
done
mkdir -p /lower /rw /host
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower; then
  echo "vgw-lab: cannot mount the host filesystem over 9p" > /dev/ttyS1
  echo "{EXIT_MARKER}125" > /dev/ttyS1
  poweroff -f
fi
# The guest's root: the host's, read-only, under a tmpfs that takes every write. So every host
# path is visible (a checkout under /tmp too) and nothing written here reaches the host.
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
if ! mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /host; then
  echo "vgw-lab: overlay root failed; falling back to tmpfs on /run /var/log" > /dev/ttyS0
  mount --bind /lower /host
  for d in /run /var/log; do mount -t tmpfs -o mode=1777 tmpfs "/host$d"; done
fi
# /run holds the host's live state (netns mounts, pid files): start the guest's empty.
mount -t tmpfs -o mode=755 tmpfs /host/run
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm 2>/dev/null
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
mount -t cgroup2 none /host/sys/fs/cgroup 2>/dev/null
ln -s /proc/self/fd /dev/fd 2>/dev/null
hostname vgwlab-vm
chroot /host /bin/sh "$script" < /dev/null > /dev/ttyS1 2>&1
rc=$?
echo "{EXIT_MARKER}$rc" > /dev/ttyS1
sync
poweroff -f
"#
    )
}

/// Builds (or reuses) the initramfs for these assets; returns its path.
pub fn initramfs(assets: &VmAssets) -> Result<PathBuf> {
    let version = assets
        .modules_dir
        .file_name()
        .and_then(|v| v.to_str())
        .unwrap_or("unknown");
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("initramfs-{version}-v{INIT_VERSION}.cpio"));
    if path.is_file() {
        return Ok(path);
    }
    let order = modules::load_order(&assets.modules_dir)?;
    let mut c = cpio::Cpio::default();
    for d in [
        "/bin",
        "/dev",
        "/proc",
        "/sys",
        "/host",
        "/lib",
        "/lib/modules",
    ] {
        c.dir(d);
    }
    c.char_dev("/dev/console", 5, 1);
    c.char_dev("/dev/null", 1, 3);
    let busybox = std::fs::read(&assets.busybox)
        .ctx(|| format!("cannot read {}", assets.busybox.display()))?;
    c.file("/bin/busybox", 0o755, &busybox);
    c.symlink("/bin/sh", "busybox");
    let mut listing = String::new();
    for m in &order {
        let src = assets.modules_dir.join(m);
        let data = std::fs::read(&src).ctx(|| format!("cannot read {}", src.display()))?;
        let flat = m.to_string_lossy().replace('/', "_");
        c.file(&format!("/lib/modules/{flat}"), 0o644, &data);
        listing.push_str(&flat);
        listing.push('\n');
    }
    c.file("/modules.order", 0o644, listing.as_bytes());
    c.file("/init", 0o755, init_script().as_bytes());
    let tmp = dir.join(format!(".initramfs-{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).ctx(|| format!("cannot create {}", tmp.display()))?;
    c.finish(&mut f)
        .ctx(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, &path).ctx(|| format!("cannot rename to {}", path.display()))?;
    Ok(path)
}

/// Quotes a word for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn write_script(dir: &Path, argv: &[String], cwd: &Path) -> Result<PathBuf> {
    let mut s = String::from("#!/bin/sh\n");
    for (k, v) in std::env::vars() {
        let ok_name = !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit());
        if ok_name && !matches!(k.as_str(), "PWD" | "OLDPWD" | "SHLVL" | "_") {
            s.push_str(&format!("export {k}={}\n", sh_quote(&v)));
        }
    }
    s.push_str(&format!("export {IN_VM_ENV}=1\n"));
    s.push_str(&format!(
        "cd {} || cd /\n",
        sh_quote(&cwd.to_string_lossy())
    ));
    s.push_str("exec");
    for a in argv {
        s.push(' ');
        s.push_str(&sh_quote(a));
    }
    s.push('\n');
    let path = dir.join("script.sh");
    std::fs::write(&path, s).ctx(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Runs `argv` inside a fresh VM, streaming its output (stdout and stderr merged) to `sink`.
pub fn run_with(argv: &[String], opts: &VmOptions, sink: &mut dyn Write) -> Result<VmOutcome> {
    require_root()?;
    if argv.is_empty() {
        return Err(LabError::Invalid(
            "vgw-lab vm needs a command to run".into(),
        ));
    }
    let assets = VmAssets::discover(opts.kernel.as_deref())?;
    let initrd = initramfs(&assets)?;
    let accel = match opts.accel {
        Accel::Auto => match kvm_state() {
            Some(true) => Accel::Kvm,
            Some(false) => Accel::Tcg,
            // Never tried here: probe with this very run; a boot that hangs falls back to TCG.
            None if Path::new("/dev/kvm").exists() => Accel::Kvm,
            None => Accel::Tcg,
        },
        a => a,
    };
    match boot(&assets, &initrd, argv, opts, accel, sink) {
        Err(LabError::VmBoot { detail, .. })
            if opts.accel == Accel::Auto && accel == Accel::Kvm =>
        {
            tracing::info!(%detail, "KVM does not work here; using software emulation from now on");
            remember_kvm(false);
            boot(&assets, &initrd, argv, opts, Accel::Tcg, sink)
        }
        other => other,
    }
}

/// Runs `argv` inside a fresh VM, streaming its output to our stdout.
pub fn run(argv: &[String], opts: &VmOptions) -> Result<VmOutcome> {
    run_with(argv, opts, &mut std::io::stdout())
}

/// Runs `argv` inside a fresh VM and returns its exit status and output (for tests).
pub fn run_captured(argv: &[String], opts: &VmOptions) -> Result<(VmOutcome, String)> {
    let mut buf = Vec::new();
    let outcome = run_with(argv, opts, &mut buf)?;
    Ok((outcome, String::from_utf8_lossy(&buf).into_owned()))
}

fn kvm_state_file() -> PathBuf {
    cache_dir().join("kvm-works")
}

/// What an earlier boot found out about KVM on this machine (`/dev/kvm` can exist and hang).
fn kvm_state() -> Option<bool> {
    match std::fs::read_to_string(kvm_state_file()).ok()?.trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn remember_kvm(works: bool) {
    let _ = std::fs::write(kvm_state_file(), if works { "yes\n" } else { "no\n" });
}

fn boot(
    assets: &VmAssets,
    initrd: &Path,
    argv: &[String],
    opts: &VmOptions,
    accel: Accel,
    sink: &mut dyn Write,
) -> Result<VmOutcome> {
    let runs = cache_dir().join("runs");
    std::fs::create_dir_all(&runs).ctx(|| format!("cannot create {}", runs.display()))?;
    let rundir = tempfile::Builder::new()
        .prefix(&format!("{}-", std::process::id()))
        .tempdir_in(&runs)
        .ctx(|| format!("cannot create a run directory in {}", runs.display()))?;
    let cwd = match &opts.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir().ctx(|| "cannot read the current directory".to_string())?,
    };
    let script = write_script(rundir.path(), argv, &cwd)?;
    let console = rundir.path().join("console.log");
    let append = format!(
        "console=ttyS0 quiet loglevel=3 panic=-1 vgw.script={}",
        script.display()
    );
    let accel_arg = match accel {
        Accel::Kvm => "kvm",
        _ => "tcg,thread=multi",
    };
    let mut cmd = Command::new(&assets.qemu);
    cmd.args([
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
    ])
    .args([
        "-accel",
        accel_arg,
        "-cpu",
        if accel == Accel::Kvm { "host" } else { "max" },
    ])
    .args([
        "-smp",
        &opts.cpus.to_string(),
        "-m",
        &opts.memory_mb.to_string(),
    ])
    .arg("-kernel")
    .arg(&assets.kernel)
    .arg("-initrd")
    .arg(initrd)
    .args(["-append", &append])
    .args([
        "-virtfs",
        "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
    ])
    .arg("-chardev")
    .arg(format!("file,id=con,path={}", console.display()))
    .args([
        "-serial",
        "chardev:con",
        "-chardev",
        "stdio,id=out,signal=off",
        "-serial",
        "chardev:out",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .ctx(|| format!("cannot start {}", assets.qemu.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| LabError::Invalid("qemu has no stdout pipe".into()))?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let up_deadline = if accel == Accel::Kvm {
        Duration::from_secs(20)
    } else {
        opts.timeout
    };
    let mut boot_time = None;
    let mut status = None;
    let result = loop {
        let limit = if boot_time.is_none() {
            up_deadline
        } else {
            opts.timeout
        };
        let left = limit.saturating_sub(started.elapsed());
        match rx.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(raw) => {
                let text = String::from_utf8_lossy(&raw);
                let line = text.trim_end_matches(['\n', '\r']);
                if line.contains(UP_MARKER) {
                    boot_time.get_or_insert(started.elapsed());
                } else if let Some(rc) = line.strip_prefix(EXIT_MARKER) {
                    status = rc.trim().parse::<i32>().ok();
                } else {
                    let _ = sink.write_all(line.as_bytes());
                    let _ = sink.write_all(b"\n");
                    let _ = sink.flush();
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if started.elapsed() >= limit {
                    let _ = child.kill();
                    let what = if boot_time.is_none() {
                        format!(
                            "the VM to boot ({accel:?}); kernel log: {}",
                            console.display()
                        )
                    } else {
                        format!("`{}` inside the VM", argv.join(" "))
                    };
                    break Err(LabError::Timeout { what, after: limit });
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
        }
    };
    let _ = child.kill();
    let qemu_status = child.wait().ok();
    let _ = reader.join();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    if boot_time.is_none() {
        let log = std::fs::read_to_string(&console).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        let why = match result {
            Err(e) => e.to_string(),
            Ok(()) => format!(
                "qemu exited ({})",
                qemu_status.map(|s| s.to_string()).unwrap_or_default()
            ),
        };
        return Err(LabError::VmBoot {
            accel: format!("{accel:?}"),
            detail: format!(
                "{why}; {}; last kernel messages:\n{}",
                stderr.trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ),
        });
    }
    result?;
    if accel == Accel::Kvm {
        remember_kvm(true);
    }
    let total = started.elapsed();
    match status {
        Some(status) => Ok(VmOutcome {
            status,
            boot: boot_time.unwrap_or(total),
            total,
            accel,
        }),
        None => {
            let log = std::fs::read_to_string(&console).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            Err(LabError::Invalid(format!(
                "the VM ended without reporting the command's exit status (qemu: {}; {}); last kernel messages:\n{}",
                qemu_status.map(|s| s.to_string()).unwrap_or_default(),
                stderr.trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )))
        }
    }
}

/// For tests: if the running kernel has no IPVS, run this same test binary inside the VM with
/// the given test filter (exact name) and return `Some(outcome)`; inside the VM (or on a
/// kernel with IPVS) return `None`, meaning "run the test body here".
///
/// ```no_run
/// #[test]
/// fn programs_a_service() {
///     if let Some(outcome) = vgw_lab::vm::reexec_test("programs_a_service").unwrap() {
///         assert_eq!(outcome.status, 0, "the test failed inside the VM");
///         return;
///     }
///     // ... the real test, with IPVS available ...
/// }
/// ```
pub fn reexec_test(test_name: &str) -> Result<Option<VmOutcome>> {
    if in_vm() || kernel_has_ipvs() {
        return Ok(None);
    }
    let exe = std::env::current_exe().ctx(|| "cannot find the test binary".to_string())?;
    let argv = vec![
        exe.to_string_lossy().into_owned(),
        "--exact".to_string(),
        test_name.to_string(),
        "--nocapture".to_string(),
        "--test-threads=1".to_string(),
    ];
    run(&argv, &VmOptions::default()).map(Some)
}
