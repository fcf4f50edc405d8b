//! vgwd: the vgw daemon.

fn main() {
    eprintln!("vgwd: the daemon is not built yet; see issue 6 in the tracker");
    std::process::exit(2);
}
