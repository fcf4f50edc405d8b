//! Real routing daemons as lab nodes: BIRD 2, FRR, GoBGP and ExaBGP from Debian.
//!
//! Each starts inside a lab host with a config text the test writes, private control sockets in
//! the lab directory, and its log in the lab directory; the lab stops it on drop. Query helpers
//! return the daemon's own view (what `birdc`, `vtysh`, `gobgp` print), which is what interop
//! tests must assert on.

mod bird;
mod exabgp;
mod frr;
mod gobgp;

pub use bird::Bird;
pub use exabgp::Exabgp;
pub use frr::Frr;
pub use gobgp::Gobgp;
