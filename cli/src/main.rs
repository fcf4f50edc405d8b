//! vgwctl: the operator's command line for vgwd over D-Bus.

fn main() {
    eprintln!("vgwctl: no commands are built yet; see issue 7 in the tracker");
    std::process::exit(2);
}
