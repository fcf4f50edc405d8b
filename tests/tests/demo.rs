//! The README's main command, unattended: the lab demo inside the VM (issue 9). It exits 0 only
//! when no request failed while a real server failed and while a node was drained.

use std::process::Command;

use vgw_tests::{repo_root, workspace_bin};

#[test]
fn lab_demo_loses_no_request_to_a_real_failure_or_a_node_drain() {
    let vgw_lab = workspace_bin("vgw-lab");
    let bin_dir = vgw_lab.parent().unwrap().to_path_buf();
    workspace_bin("vgwd");
    workspace_bin("vgwctl");
    let out = Command::new(&vgw_lab)
        .args(["vm", "--timing", "--timeout", "1500", "--", "lab/demo.sh"])
        .env("VGW_BIN", &bin_dir)
        .current_dir(repo_root())
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the demo failed (its output is above)"
    );
    assert!(
        stdout.contains("failed during the node drain:          0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("failed during the real-server failure: 0"),
        "{stdout}"
    );
}
