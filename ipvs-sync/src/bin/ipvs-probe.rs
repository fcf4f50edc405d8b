//! Probe the kernel's IPVS: family, dialect, and the table, the way vgw sees them.
//!
//!     cargo run -p vgw-ipvs --bin ipvs-probe
//!
//! Exits 0 on success; on failure prints the operator-facing error and exits 1.

fn main() {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ipvs-probe: cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    let result: Result<(), vgw_ipvs::IpvsError> = rt.block_on(async {
        let mut c = vgw_ipvs::connect().await?;
        let f = c.family().clone();
        println!(
            "IPVS family id {} version {} maxattr {} ops {:?}",
            f.family_id, f.version, f.maxattr, f.ops
        );
        println!("dialect: {}", c.dialect());
        let state = c.read_state().await?;
        for (key, svc) in &state.services {
            println!("{key} {}", svc.service.scheduler);
            for d in svc.dests.values() {
                println!("  -> {} {:?} weight {}", d.key(), d.fwd, d.weight);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("ipvs-probe: {e}");
        std::process::exit(1);
    }
}
