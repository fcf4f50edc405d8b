//! OSPFv2 router that originates VIP routes: packet codec, interface/neighbor FSMs, LSDB, raw-socket I/O.

pub mod config;
pub mod events;
pub mod flood;
pub mod instance;
pub mod interface;
pub mod link;
pub mod lsdb;
pub mod neighbor;
pub mod origin;
pub mod packet;
pub mod router;
pub mod state;
pub mod tasks;

pub use config::{Config, IfConfig, NetworkType};
pub use instance::{Instance, InstanceError, InstanceTask};
pub use router::{DropReason, Input, Output, Prefix, Router, Timer};
