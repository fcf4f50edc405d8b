//! The VM with a real IPVS kernel, through the `vgw-lab` binary (one boot for all checks).

use std::process::Command;

#[test]
fn vm_runs_ipvsadm_and_namespaces_have_separate_tables() {
    let script = r#"
set -e
ipvsadm -Ln
# IPVS accepts a destination only with a unicast route to it, as on a real node.
ip link add reals type dummy
ip addr add 10.1.1.254/24 dev reals
ip link set reals up
ipvsadm -A -t 192.0.2.80:80 -s wrr
ipvsadm -a -t 192.0.2.80:80 -r 10.1.1.1:8080 -m -w 100
ipvsadm -Sn
ip netns add vgwsmoke-a
ip netns add vgwsmoke-b
ip netns exec vgwsmoke-a ipvsadm -A -u 192.0.2.53:53 -s rr
echo "a=$(ip netns exec vgwsmoke-a ipvsadm -Sn | wc -l) b=$(ip netns exec vgwsmoke-b ipvsadm -Sn | wc -l)"
exit 7
"#;
    let out = Command::new(env!("CARGO_BIN_EXE_vgw-lab"))
        .args(["vm", "--timing", "--", "sh", "-c", script])
        .output()
        .expect("run vgw-lab vm");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(
        out.status.code(),
        Some(7),
        "the command's status comes back out\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.starts_with("IP Virtual Server version"),
        "ipvsadm -Ln header:\n{stdout}"
    );
    assert!(stdout.contains("-A -t 192.0.2.80:80 -s wrr"), "{stdout}");
    assert!(
        stdout.contains("-a -t 192.0.2.80:80 -r 10.1.1.1:8080 -m -w 100"),
        "{stdout}"
    );
    assert!(
        stdout.contains("a=1 b=0"),
        "per-namespace IPVS tables:\n{stdout}"
    );
}

#[test]
fn vm_reports_a_missing_command_as_its_failure() {
    let out = Command::new(env!("CARGO_BIN_EXE_vgw-lab"))
        .args(["vm", "--", "/nonexistent/program"])
        .output()
        .expect("run vgw-lab vm");
    assert_eq!(
        out.status.code(),
        Some(127),
        "sh's 'not found' status passes through"
    );
}
