#!/usr/bin/env python3
"""Turn the pcap printed by capture-ipvsadm.sh (od -tx1 between markers) into a fixture:
one line per netlink message, '>' for messages sent to the kernel, '<' for the kernel's, hex."""
import struct, sys

text = sys.stdin.read()
body = text.split("@@PCAP-BEGIN", 1)[1].split("@@PCAP-END", 1)[0]
data = bytes(int(x, 16) for x in body.split())

def blocks(d):
    off = 0
    while off + 12 <= len(d):
        btype, blen = struct.unpack_from("<II", d, off)
        if blen < 12 or off + blen > len(d):
            break
        yield btype, d[off + 8: off + blen - 4]
        off += blen

out = []
family = None
for btype, b in blocks(data):
    if btype != 6:  # Enhanced Packet Block
        continue
    _if, _th, _tl, caplen, _olen = struct.unpack_from("<IIIII", b, 0)
    pkt = b[20:20 + caplen]
    # LINKTYPE_NETLINK: 16-byte cooked header, pkttype first (4 = outgoing from a socket).
    pkttype, _arphrd, _alen = struct.unpack_from(">HHH", pkt, 0)
    proto = struct.unpack_from(">H", pkt, 14)[0]
    if proto != 16:
        continue
    msgs = pkt[16:]
    off = 0
    while off + 16 <= len(msgs):
        ln, ty, fl = struct.unpack_from("<IHH", msgs, off)
        if ln < 16 or off + ln > len(msgs):
            break
        m = msgs[off:off + ln]
        direction = ">" if fl & 0x1 else "<"
        if ty == 16 and m[16] == 1 and family is None:
            # CTRL_CMD_NEWFAMILY: find CTRL_ATTR_FAMILY_ID (1).
            a = 20
            while a + 4 <= len(m):
                al, at = struct.unpack_from("<HH", m, a)
                if at == 1:
                    family = struct.unpack_from("<H", m, a + 4)[0]
                a += (al + 3) & ~3
        out.append(f"{direction} {m.hex()}")
        off += (ln + 3) & ~3

print(f"# ipvsadm <-> Linux 6.1 IPVS, captured with nlmon in the lab VM (scripts/capture-ipvsadm.sh)")
print(f"family 0x{family:04x}")
print("\n".join(out))
