//! The vgw daemon: config, controller, IPVS/BGP/OSPF wiring, D-Bus service.

pub mod config;
pub mod controller;
pub mod daemon;
pub mod dbus;
