//! vgw-bgp: a BGP-4 speaker that announces and withdraws VIP prefixes to switches.
//!
//! - [`packet`]: the wire format, sans-IO.
//! - [`fsm`] and [`session`]: the RFC 4271 section 8 session state machine, sans-IO.
//! - [`rib`]: per-peer Adj-RIB-Out (update packing, End-of-RIB) and Adj-RIB-In.
//! - [`transport`], [`speaker`]: tokio tasks and the [`Speaker`] handle.

pub mod fsm;
pub mod neighbor;
pub mod packet;
pub mod rib;
pub mod session;
pub mod speaker;
pub mod sys;
pub mod transport;

pub use neighbor::{NeighborConfig, NeighborState};
pub use packet::{Community, LargeCommunity, Prefix};
pub use rib::RouteAttrs;
pub use speaker::{Speaker, SpeakerConfig, SpeakerError};
