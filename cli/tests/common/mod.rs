//! Test bed: a private dbus-daemon (configured like a system bus, with vgwd's shipped policy
//! file), vgwd's D-Bus object served over the in-memory backend, and the vgwctl binary run as
//! a process against it. The bus and the runtime are torn down on drop (the bus daemon is
//! killed by its PID).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use vgwd::dbus::memory::{MemoryBackend, MemoryState};
use vgwd::dbus::private_bus::PrivateBus;
use vgwd::dbus::{forward_events, serve, AccessPolicy, BusAddress};

pub const VGWCTL: &str = env!("CARGO_BIN_EXE_vgwctl");

pub fn policy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vgwd/dist/org.vgw.Vgwd1.conf")
}

/// A served in-memory vgwd on its own bus.
pub struct Bed {
    pub backend: Arc<MemoryBackend>,
    pub rt: tokio::runtime::Runtime,
    conn: Option<zbus::Connection>,
    // Dropped last: the bus outlives the connection.
    pub bus: PrivateBus,
}

impl Bed {
    pub fn start(state: MemoryState) -> Bed {
        Bed::start_with(state, AccessPolicy::default())
    }

    pub fn start_with(state: MemoryState, access: AccessPolicy) -> Bed {
        let policy = policy_file();
        let bus = match PrivateBus::start(&[policy.as_path()]) {
            Ok(b) => b,
            Err(e) => panic!("private bus: {e}"),
        };
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("runtime: {e}"),
        };
        let (backend, events) = MemoryBackend::new(state);
        let backend = Arc::new(backend);
        let address = BusAddress::Address(bus.address().to_owned());
        let conn = rt.block_on(async {
            let conn = match serve(&address, backend.clone(), access).await {
                Ok(c) => c,
                Err(e) => panic!("serve: {e}"),
            };
            forward_events(conn.clone(), events);
            conn
        });
        Bed {
            backend,
            rt,
            conn: Some(conn),
            bus,
        }
    }

    pub fn address(&self) -> String {
        self.bus.address().to_owned()
    }

    /// Runs vgwctl with VGW_BUS pointing at our bus.
    pub fn vgwctl(&self, args: &[&str]) -> Output {
        run(Command::new(VGWCTL)
            .args(args)
            .env("VGW_BUS", self.address())
            .env_remove("NO_COLOR"))
    }

    /// Runs vgwctl as uid/gid 65534 (nobody) with no supplementary groups.
    pub fn vgwctl_as_nobody(&self, args: &[&str]) -> Output {
        run(Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(VGWCTL)
            .args(args)
            .env("VGW_BUS", self.address()))
    }

    /// Replaces the random bus address in a text with `$BUS`.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.address(), "$BUS")
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.rt.block_on(async move { drop(conn) });
        }
    }
}

pub fn run(cmd: &mut Command) -> Output {
    // A binary another test thread has just copied can be briefly "busy" (a fork elsewhere in
    // this process inherited the writer's descriptor); retry that, bounded, and nothing else.
    for _ in 0..100 {
        match cmd.output() {
            Ok(o) => return o,
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("cannot run {cmd:?}: {e}"),
        }
    }
    panic!("{cmd:?} stayed \"text file busy\" for 2 s")
}

/// `$ vgwctl ARGS`, exit status, stdout and stderr, as one text for a golden file.
pub fn transcript(bed: &Bed, args: &[&str], out: &Output) -> String {
    let mut t = format!("$ vgwctl {}\n", args.join(" "));
    t.push_str(&format!("exit {}\n", out.status.code().unwrap_or(-1)));
    t.push_str("--- stdout\n");
    t.push_str(&bed.scrub(&String::from_utf8_lossy(&out.stdout)));
    t.push_str("--- stderr\n");
    t.push_str(&bed.scrub(&String::from_utf8_lossy(&out.stderr)));
    t
}

/// Compares `actual` with `tests/golden/NAME.txt`; `VGW_REGEN=1` rewrites the file instead.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("VGW_REGEN").is_some_and(|v| v == "1") {
        if let Err(e) = std::fs::write(&path, actual) {
            panic!("cannot write {}: {e}", path.display());
        }
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => panic!(
            "cannot read {} ({e}); run with VGW_REGEN=1 to create it. Output was:\n{actual}",
            path.display()
        ),
    };
    if expected != actual {
        let mut diff = String::new();
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        for i in 0..e.len().max(a.len()) {
            let (x, y) = (e.get(i), a.get(i));
            if x != y {
                diff.push_str(&format!(
                    "line {}:\n  expected {:?}\n  actual   {:?}\n",
                    i + 1,
                    x,
                    y
                ));
            }
        }
        panic!(
            "{} differs from the output:\n{diff}\nfull output:\n{actual}",
            path.display()
        );
    }
}

/// Runs vgwctl and compares the whole transcript with a golden file.
pub fn check(bed: &Bed, name: &str, args: &[&str]) -> Output {
    let out = bed.vgwctl(args);
    golden(name, &transcript(bed, args, &out));
    out
}
