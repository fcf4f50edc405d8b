//! Lab test bed: network-namespace topologies, real routing peers, and a qemu VM with a real IPVS kernel.
