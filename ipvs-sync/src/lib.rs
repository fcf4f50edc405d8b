//! IPVS generic-netlink client (mainline and FULLNAT dialects), declarative reconciler, sync daemon control.
