//! OSPFv2 router that originates VIP routes: packet codec, interface/neighbor FSMs, LSDB, raw-socket I/O.

pub mod packet;
