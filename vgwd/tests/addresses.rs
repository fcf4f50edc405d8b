//! VIP addresses through rtnetlink on the real kernel, inside a network namespace this test
//! creates (unshare on its own thread, so nothing outside the namespace is touched). Needs root,
//! like the daemon.

use std::net::IpAddr;

use vgwd::daemon::addr::NetlinkAddresses;
use vgwd::daemon::VipAddresses;

/// Runs `f` on a thread inside a fresh network namespace, with a current-thread runtime.
fn in_new_netns<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let t = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET): the tests run as root");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(f());
    });
    if let Err(panic) = t.join() {
        std::panic::resume_unwind(panic);
    }
}

fn dummy_supported() -> bool {
    // The same detection the daemon uses: try, in a scratch namespace.
    let (tx, rx) = std::sync::mpsc::channel();
    in_new_netns(move || async move {
        let a = NetlinkAddresses::open("vgwprobe0").await.expect("open");
        let _ = tx.send(a.interface() == "vgwprobe0");
    });
    rx.recv().unwrap_or(false)
}

#[test]
fn vip_addresses_are_added_and_removed_idempotently() {
    let dummy = dummy_supported();
    in_new_netns(move || async move {
        let mut a = NetlinkAddresses::open("vgw0")
            .await
            .expect("open VIP interface");
        // Kernels without the dummy link type (this host) fall back to lo.
        assert_eq!(a.interface(), if dummy { "vgw0" } else { "lo" });
        assert!(a.usable().await, "interface is brought up");
        let v4: IpAddr = "192.0.2.10".parse().expect("ip");
        let v6: IpAddr = "2001:db8::10".parse().expect("ip");
        a.add(v4).await.expect("add v4");
        a.add(v4).await.expect("adding twice is not an error");
        a.add(v6).await.expect("add v6");
        let present = a.present().await.expect("list");
        assert!(
            present.contains(&v4) && present.contains(&v6),
            "{present:?}"
        );
        a.remove(v4).await.expect("remove v4");
        a.remove(v4).await.expect("removing twice is not an error");
        a.remove(v6).await.expect("remove v6");
        let present = a.present().await.expect("list");
        assert!(
            !present.contains(&v4) && !present.contains(&v6),
            "{present:?}"
        );
    });
}
