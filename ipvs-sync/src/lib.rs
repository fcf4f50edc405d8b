//! IPVS generic-netlink client (mainline and FULLNAT dialects), declarative reconciler, sync
//! daemon control.
//!
//! - [`model`]: plain services, destinations, daemons, local addresses.
//! - [`netlink`]: the wire format, one file per kernel object, decoded with the kernel's
//!   [`netlink::Dialect`].
//! - [`client`]: the async handle that owns the socket (behind the [`client::Transport`] trait).
//! - [`reconcile`]: the pure `plan(desired, actual, ownership) -> Vec<Op>`.

pub mod client;
pub mod error;
pub mod handle;
pub mod model;
pub mod netlink;
pub mod reconcile;
pub mod transport;

pub use client::{connect, IpvsClient};
pub use error::IpvsError;
pub use handle::IpvsHandle;
pub use reconcile::{plan, Op, Ownership, ServiceState, State};
pub use transport::{NetlinkTransport, Transport};
