//! `ospf neighbors|interfaces|database`.

use vgw_api::{OspfInterface, OspfLsa, OspfNeighbor};

use super::{duration, or_dash, Style, Table};

/// `vgwctl ospf neighbors`.
pub fn neighbors(neighbors: &[OspfNeighbor], style: Style) -> String {
    let mut t = Table::new(&[
        "ROUTER ID",
        "PRI",
        "STATE",
        "ROLE",
        "DEAD IN",
        "SINCE",
        "ADDRESS",
        "INTERFACE",
    ]);
    for n in neighbors {
        t.row(vec![
            n.router_id.clone().into(),
            n.priority.to_string().into(),
            style.state(&n.state),
            or_dash(&n.role).into(),
            format!("{}s", n.dead_in_secs).into(),
            duration(n.in_state_secs).into(),
            n.address.clone().into(),
            n.interface.clone().into(),
        ]);
    }
    t.render()
}

/// `vgwctl ospf interfaces`.
pub fn interfaces(interfaces: &[OspfInterface]) -> String {
    let mut t = Table::new(&[
        "INTERFACE",
        "ADDRESS",
        "AREA",
        "NETWORK",
        "STATE",
        "COST",
        "HELLO",
        "DEAD",
        "DR",
        "BDR",
        "NBRS",
        "ADJ",
    ]);
    for i in interfaces {
        t.row(vec![
            i.name.clone().into(),
            i.address.clone().into(),
            i.area.clone().into(),
            i.network.clone().into(),
            i.state.clone().into(),
            i.cost.to_string().into(),
            format!("{}s", i.hello_interval).into(),
            format!("{}s", i.dead_interval).into(),
            or_dash(&i.dr).into(),
            or_dash(&i.bdr).into(),
            i.neighbors.to_string().into(),
            i.adjacencies.to_string().into(),
        ]);
    }
    t.render()
}

/// `vgwctl ospf database`.
pub fn database(lsas: &[OspfLsa]) -> String {
    let mut t = Table::new(&[
        "AREA",
        "TYPE",
        "LINK ID",
        "ADV ROUTER",
        "AGE",
        "SEQ",
        "CHECKSUM",
        "SELF",
    ]);
    for l in lsas {
        t.row(vec![
            or_dash(&l.area).into(),
            l.lsa_type.clone().into(),
            l.ls_id.clone().into(),
            l.adv_router.clone().into(),
            l.age.to_string().into(),
            format!("0x{:08x}", l.seq).into(),
            format!("0x{:04x}", l.checksum).into(),
            if l.self_originated { "yes" } else { "" }.into(),
        ]);
    }
    t.render()
}
