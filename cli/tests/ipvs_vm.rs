//! `vgwctl ipvs list` against a real kernel IPVS table, line for line with `ipvsadm -Ln` (and
//! `--stats`, `--rate`, `--exact`). The host kernel has no IPVS, so the test re-runs itself
//! inside the lab VM (Debian's 6.1 kernel with ip_vs). There: ipvsadm programs a table with
//! every mainline forwarding method, persistence, masks, scheduler flags, one-packet
//! scheduling, a firewall mark, IPv6, SCTP, and addresses that exercise libipvs's sort order;
//! vgwd's D-Bus object serves it (read live through vgw-ipvs on every ListIpvs call) on a
//! private dbus-daemon; vgwctl prints it.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use vgw_api::{
    BgpNeighborInfo, BgpRoute, DrainTarget, IpvsTable, OspfInterface, OspfLsa, OspfNeighbor,
    ReloadOutcome, RouteDirection, ServiceInfo, Status, SyncStatus, VipInfo,
};
use vgwd::dbus::memory::MemoryBackend;
use vgwd::dbus::private_bus::PrivateBus;
use vgwd::dbus::sample::sample_state;
use vgwd::dbus::{serve, AccessPolicy, Backend, BackendError, BusAddress};

/// The sample node, except that `ListIpvs` reads the kernel each time.
struct KernelIpvs {
    rest: MemoryBackend,
}

impl Backend for KernelIpvs {
    fn status(&self) -> Status {
        self.rest.status()
    }
    fn vips(&self) -> Vec<VipInfo> {
        self.rest.vips()
    }
    fn services(&self) -> Vec<ServiceInfo> {
        self.rest.services()
    }
    fn bgp_neighbors(&self) -> Vec<BgpNeighborInfo> {
        self.rest.bgp_neighbors()
    }
    async fn bgp_routes(
        &self,
        neighbor: Option<&str>,
        direction: RouteDirection,
    ) -> Result<Vec<BgpRoute>, BackendError> {
        self.rest.bgp_routes(neighbor, direction).await
    }
    fn ospf_neighbors(&self) -> Vec<OspfNeighbor> {
        self.rest.ospf_neighbors()
    }
    fn ospf_interfaces(&self) -> Vec<OspfInterface> {
        self.rest.ospf_interfaces()
    }
    fn ospf_database(&self) -> Vec<OspfLsa> {
        self.rest.ospf_database()
    }
    async fn ipvs(&self) -> Result<IpvsTable, BackendError> {
        let mut client = vgw_ipvs::connect()
            .await
            .map_err(|e| BackendError::Unavailable(format!("IPVS: {e}")))?;
        vgwd::dbus::ipvs_view::read_ipvs_table(&mut client)
            .await
            .map_err(|e| BackendError::Failed(format!("reading IPVS: {e}")))
    }
    async fn sync_status(&self) -> SyncStatus {
        self.rest.sync_status().await
    }
    async fn drain(&self, target: &DrainTarget) -> Result<(), BackendError> {
        self.rest.drain(target).await
    }
    async fn undrain(&self, target: &DrainTarget) -> Result<(), BackendError> {
        self.rest.undrain(target).await
    }
    async fn reload(&self) -> Result<ReloadOutcome, BackendError> {
        self.rest.reload().await
    }
}

fn sh(cmd: &str) {
    let out = run(Command::new("sh").args(["-c", cmd]));
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const TABLE: &[&str] = &[
    // Reals need a unicast route.
    "ip link add reals type dummy",
    "ip addr add 10.1.1.254/24 dev reals",
    "ip -6 addr add 2001:db8:1::fe/64 dev reals",
    "ip link set reals up",
    "ipvsadm -A -t 192.0.2.10:80 -s wrr",
    "ipvsadm -a -t 192.0.2.10:80 -r 10.1.1.2:8080 -m -w 50",
    "ipvsadm -a -t 192.0.2.10:80 -r 10.1.1.1:8080 -m -w 100",
    "ipvsadm -a -t 192.0.2.10:80 -r 10.1.1.3:8080 -m -w 0",
    "ipvsadm -A -t 192.0.2.10:443 -s sh -b sh-fallback,sh-port -p 300",
    "ipvsadm -a -t 192.0.2.10:443 -r 10.1.1.1:443 -g",
    "ipvsadm -a -t 192.0.2.10:443 -r 10.1.1.2:443 -g -w 3",
    "ipvsadm -A -u 192.0.2.20:53 -s rr -o",
    "ipvsadm -a -u 192.0.2.20:53 -r 10.1.1.5:53 -g -w 10",
    "ipvsadm -A -t 192.0.2.30:8443 -s lc -p 600 -M 255.255.255.0",
    "ipvsadm -a -t 192.0.2.30:8443 -r 10.1.1.6:8443 -i -x 100 -y 50",
    "ipvsadm -A -f 7 -s mh -b mh-port",
    "ipvsadm -a -f 7 -r 10.1.1.7:0 -g",
    "ipvsadm -A -t [2001:db8::10]:80 -s rr",
    "ipvsadm -a -t [2001:db8::10]:80 -r [2001:db8:1::1]:80 -m",
    "ipvsadm -a -t [2001:db8::10]:80 -r [2001:db8:1::2]:80 -m -w 2",
    "ipvsadm -A --sctp-service 192.0.2.40:5000 -s wlc",
    "ipvsadm -a --sctp-service 192.0.2.40:5000 -r 10.1.1.8:5000 -m",
    // 10.x minus 192.x wraps in libipvs's comparison: ipvsadm lists it after 192.x.
    "ipvsadm -A -t 10.9.0.1:80 -s rr",
    "ipvsadm -a -t 10.9.0.1:80 -r 10.1.1.9:80 -m",
    "ipvsadm -A -u 192.0.2.10:80 -s wrr",
];

#[test]
fn ipvs_list_matches_ipvsadm_in_vm() {
    match vgw_lab::vm::reexec_test("ipvs_list_matches_ipvsadm_in_vm") {
        Ok(Some(outcome)) => {
            assert_eq!(
                outcome.status, 0,
                "the test failed inside the VM (see its output above)"
            );
            return;
        }
        Ok(None) => {}
        Err(e) => panic!("cannot run the test in the lab VM: {e}"),
    }
    for cmd in TABLE {
        sh(cmd);
    }
    let bus = match PrivateBus::start(&[policy_file().as_path()]) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    };
    let (rest, _events) = MemoryBackend::new(sample_state());
    let backend = Arc::new(KernelIpvs { rest });
    let address = BusAddress::Address(bus.address().to_owned());
    let conn = rt.block_on(async {
        match serve(&address, backend, AccessPolicy::default()).await {
            Ok(c) => c,
            Err(e) => panic!("serve: {e}"),
        }
    });
    for flags in [
        &[][..],
        &["--stats"],
        &["--rate"],
        &["--stats", "--exact"],
        &["--rate", "--exact"],
    ] {
        let ipvsadm = run(Command::new("ipvsadm").arg("-Ln").args(flags));
        assert!(ipvsadm.status.success());
        let mut args = vec!["--bus", bus.address(), "ipvs", "list", "-n"];
        args.extend_from_slice(flags);
        let ours = run(Command::new(VGWCTL).args(&args));
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let (want, got) = (
            String::from_utf8_lossy(&ipvsadm.stdout),
            String::from_utf8_lossy(&ours.stdout),
        );
        println!("--- ipvsadm -Ln {}\n{want}", flags.join(" "));
        let want_lines: Vec<&str> = want.lines().collect();
        let got_lines: Vec<&str> = got.lines().collect();
        for (i, (w, g)) in want_lines.iter().zip(got_lines.iter()).enumerate() {
            assert_eq!(
                g,
                w,
                "line {} of `ipvs list {}` differs",
                i + 1,
                flags.join(" ")
            );
        }
        assert_eq!(
            got_lines.len(),
            want_lines.len(),
            "line count, flags {flags:?}:\n{got}"
        );
        assert_eq!(got, want);
    }
    rt.block_on(async move { drop(conn) });
    sh("ipvsadm -C");
    sh("ip link del reals");
}
