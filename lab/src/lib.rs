//! vgw-lab: the test bed every vgw test stands on.
//!
//! - [`Lab`] and [`Host`]: network namespaces, veth links, addresses, routes and processes,
//!   all removed when the lab is dropped (also on panic); leftovers of a killed run are swept by
//!   the next one.
//! - [`peers`]: BIRD 2, FRR, GoBGP and ExaBGP as lab nodes, with query helpers.
//! - [`clab`]: containerlab topology files deployed as namespaces.
//! - [`vm`]: a qemu VM with Debian's kernel and its IPVS modules, for tests that need a real
//!   IPVS kernel (the host kernel has none).

pub mod clab;
mod error;
mod ns;
pub mod peers;
mod util;
pub mod vm;

pub use error::{LabError, Result};
pub use ns::{
    destroy_persistent, lab_namespaces, sweep_stale, Host, Lab, NextHop, Route, Spawned, NS_PREFIX,
};
pub use util::{find_tool, require_root, require_tool, wait_until};
