//! Which kernel modules the VM loads, in an order that satisfies their dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// Modules the VM wants: IPVS and every scheduler the kernel ships, the 9p root filesystem,
/// and the link types and tunnels tests use. Missing optional ones are skipped.
pub const WANTED: &[&str] = &[
    // crc32c must be there before libcrc32c asks the crypto API for it (a soft dependency).
    "crc32c_generic",
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "overlay",
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_twos",
    "ip_vs_ftp",
    "veth",
    "dummy",
    "bridge",
    "ipip",
    "ip6_tunnel",
    "tunnel4",
    "tunnel6",
    "ip_gre",
    "fou",
    "sctp",
    "xt_ipvs",
    "nf_conntrack_netlink",
    "nf_tables",
    "nft_ct",
    "nft_chain_nat",
    "nft_masq",
    "af_packet",
    "nlmon",
];

/// The modules to load, dependencies first, as paths under `/lib/modules/<version>/`.
pub fn load_order(modules_dir: &Path) -> Result<Vec<PathBuf>> {
    let dep_path = modules_dir.join("modules.dep");
    let text =
        std::fs::read_to_string(&dep_path).ctx(|| format!("cannot read {}", dep_path.display()))?;
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let Some((module, rest)) = line.split_once(':') else {
            continue;
        };
        by_name.insert(module_name(module), module.to_string());
        deps.insert(
            module.to_string(),
            rest.split_whitespace().map(str::to_string).collect(),
        );
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for want in WANTED {
        if let Some(path) = by_name.get(*want) {
            visit(path, &deps, &mut seen, &mut order);
        }
    }
    Ok(order.into_iter().map(PathBuf::from).collect())
}

fn visit(
    m: &str,
    deps: &BTreeMap<String, Vec<String>>,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<String>,
) {
    if !seen.insert(m.to_string()) {
        return;
    }
    // modules.dep lists a module's dependencies so that the last one must be loaded first.
    if let Some(ds) = deps.get(m) {
        for d in ds.iter().rev() {
            visit(d, deps, seen, out);
        }
    }
    out.push(m.to_string());
}

/// `kernel/net/netfilter/ipvs/ip_vs_rr.ko` → `ip_vs_rr` (dashes count as underscores).
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("modules.dep"),
            "kernel/lib/libcrc32c.ko:\n\
             kernel/crypto/crc32c_generic.ko:\n\
             kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/lib/libcrc32c.ko\n\
             kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko:\n\
             kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/lib/libcrc32c.ko\n\
             kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/lib/libcrc32c.ko\n",
        )
        .unwrap();
        let order: Vec<String> = load_order(dir.path())
            .unwrap()
            .into_iter()
            .map(|p| module_name(&p.to_string_lossy()))
            .collect();
        assert_eq!(
            order,
            [
                "crc32c_generic",
                "libcrc32c",
                "nf_defrag_ipv6",
                "nf_conntrack",
                "ip_vs",
                "ip_vs_rr"
            ]
        );
    }
}
