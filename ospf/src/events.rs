//! Received packets: the checks of RFC 2328 8.2 and dispatch to one `receive_*` per type.

use std::net::Ipv4Addr;

use crate::config::NetworkType;
use crate::interface::IfState;
use crate::neighbor::NbrState;
use crate::packet::{self, Body, Packet, ALL_D_ROUTERS, ALL_SPF_ROUTERS};
use crate::router::{DropReason, Router};

impl Router {
    pub(crate) fn receive(&mut self, ifname: &str, src: Ipv4Addr, dst: Ipv4Addr, data: &[u8]) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return self.drop_packet(ifname, src, DropReason::UnknownInterface);
        };
        if iface.state == IfState::Down {
            return self.drop_packet(ifname, src, DropReason::InterfaceDown);
        }
        let rx = match Packet::decode(data) {
            Ok(rx) => rx,
            Err(e) => return self.drop_packet(ifname, src, DropReason::Decode(e)),
        };
        let pkt = &rx.packet;
        // 8.2: "The IP destination address ... must be either the IP address of the receiving
        // interface, or one of the IP multicast addresses AllSPFRouters or AllDRouters"; "If
        // the packet's IP destination address is the designated router multicast address
        // AllDRouters, and the receiving interface is neither DR nor Backup, the packet should
        // be discarded."
        let dst_ok = dst == iface.addr
            || dst == ALL_SPF_ROUTERS
            || (dst == ALL_D_ROUTERS && iface.is_dr_or_backup());
        if !dst_ok {
            return self.drop_packet(ifname, src, DropReason::BadDestination { dst });
        }
        // "The Area ID ... must ... match the Area ID of the receiving interface."
        if pkt.area_id != self.cfg.area_id {
            let received = pkt.area_id;
            return self.drop_packet(ifname, src, DropReason::AreaMismatch { received });
        }
        // "Locally originated packets should not be passed on to OSPF."
        if pkt.router_id == self.cfg.router_id {
            return self.drop_packet(ifname, src, DropReason::OwnRouterId);
        }
        // "the packet's IP source address is required to be on the same network as the
        // receiving interface" (not on point-to-point networks).
        if iface.cfg.network == NetworkType::Broadcast && !iface.on_subnet(src) {
            return self.drop_packet(ifname, src, DropReason::SourceNotOnSubnet { src });
        }
        let rid = pkt.router_id;
        let last_seq = iface.neighbors.get(&rid).and_then(|n| n.crypto_seq);
        // "the packet must be authenticated" (appendix D.5).
        let seq = match packet::verify(data, &rx, &iface.cfg.auth, last_seq) {
            Ok(s) => s,
            Err(e) => return self.drop_packet(ifname, src, DropReason::Auth(e)),
        };
        let known = iface.neighbors.contains_key(&rid);
        let rx_packet = rx.packet;
        if !known && !matches!(rx_packet.body, Body::Hello(_)) {
            return self.drop_packet(ifname, src, DropReason::UnknownNeighbor { router_id: rid });
        }
        let body = rx_packet.body;
        match body {
            Body::Hello(h) => self.receive_hello(ifname, src, rid, h),
            Body::DbDesc(d) => self.receive_dd(ifname, src, rid, d),
            Body::LsRequest(r) => self.receive_ls_request(ifname, src, rid, r),
            Body::LsUpdate(u) => self.receive_ls_update(ifname, src, rid, u),
            Body::LsAck(a) => self.receive_ls_ack(ifname, src, rid, a),
        }
        if let (Some(seq), Some(n)) = (seq, self.nbr_mut(ifname, rid)) {
            n.crypto_seq = Some(seq);
        }
    }

    /// The neighbor must be at least in `min` for LSR/LSU/LSAck (10.7, 13, 13.7).
    pub(crate) fn nbr_at_least(
        &mut self,
        ifname: &str,
        src: Ipv4Addr,
        rid: Ipv4Addr,
        min: NbrState,
    ) -> bool {
        let state = self
            .nbr_mut(ifname, rid)
            .map(|n| n.state)
            .unwrap_or(NbrState::Down);
        if state < min {
            self.drop_packet(ifname, src, DropReason::NeighborStateTooLow { state });
            return false;
        }
        true
    }
}
