#!/usr/bin/env bash
# The vgw lab demo: topology (a) — a BIRD switch, two LVS nodes running vgwd with BGP, three
# real servers (IPVS direct routing) and a client — with failures pulled one at a time while
# the client keeps sending requests. Runs as root inside the lab VM (real IPVS):
#   vgw-lab vm -- lab/demo.sh            (scripts/demo does this after building)
# Exits 0 when no request failed during the real-server failure and the node drain.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VGW_BIN:-$PWD/target/release}
export PATH="$BIN:$PATH"
TOPO=lab/topologies/bgp-ecmp.clab.yml
VIP=192.0.2.10
RUN=/run/vgw-demo
mkdir -p "$RUN"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
info() { printf '   %s\n' "$*"; }
x() { vgw-lab exec --lab vgw-bgp "$@"; }
# Bounded wait: wait_for SECONDS DESCRIPTION COMMAND...
wait_for() {
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "demo: timed out after ${limit}s waiting for $what" >&2
      diagnose >&2
      exit 1
    fi
    sleep 0.5
  done
}
# What an operator would look at when a step does not converge.
diagnose() {
  echo "--- sw1: birdc show protocols / route"
  birdc -s /run/bird-sw1.ctl show protocols 2>&1 || true
  birdc -s /run/bird-sw1.ctl show route all 2>&1 | head -30 || true
  x sw1 -- ip route 2>&1 || true
  for n in lvs1 lvs2; do
    echo "--- $n: ipvsadm -Ln, vgwctl status"
    x "$n" -- ipvsadm -Ln 2>&1 || true
    x "$n" -- timeout 10 vgwctl --bus "unix:path=/run/vgw-$n.bus" status 2>&1 || true
  done
  for f in /run/vgw-lab/vgw-bgp/*.log; do
    echo "--- $f (last 25 lines)"
    tail -n 25 "$f" | sed 's/\x1b\[[0-9;]*m//g'
  done
}
nexthops() { x sw1 -- ip -j route show "$VIP/32" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(" ".join(sorted([h["gateway"] for h in (r[0].get("nexthops") or [r[0]])] if r else [])))'; }
has_nexthops() { [ "$(nexthops)" = "$*" ]; }
weight() { x "$1" -- ipvsadm -Ln | awk -v r="$2:80" '$2==r {print $4}'; }
weights_are() { local node=$1 w=$2; shift 2; for r in "$@"; do [ "$(weight "$node" "$r")" = "$w" ] || return 1; done; }
conns() { x "$1" -- ipvsadm -Ln --stats | awk '/^TCP/ {print $3}'; }
phase() { echo "$1" > "$RUN/phase"; }

cleanup() {
  [ -n "${CLIENT_PID:-}" ] && kill "$CLIENT_PID" 2>/dev/null || true
  vgw-lab down "$TOPO" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "1. Deploy topology (a): switch sw1 (BIRD), lvs1 + lvs2 (vgwd), real1-3, client"
vgw-lab down "$TOPO" >/dev/null 2>&1 || true
vgw-lab up "$TOPO" | sed 's/^/   /'
info "waiting for both LVS nodes to announce $VIP and the switch to install ECMP ..."
wait_for 120 "ECMP over both nodes" has_nexthops 10.0.0.11 10.0.0.12
wait_for 60 "all reals at weight 100 on both nodes" sh -c "$(declare -f x weight weights_are); weights_are lvs1 100 10.0.0.21 10.0.0.22 10.0.0.23 && weights_are lvs2 100 10.0.0.21 10.0.0.22 10.0.0.23"
info "sw1: $VIP/32 via $(nexthops)"

# The client: one request at a time, each on a new connection (so ECMP hashes it afresh).
phase baseline
: > "$RUN/requests"
x client -- sh -c "while true; do p=\$(cat $RUN/phase); b=\$(curl -s -m 2 http://$VIP/ || echo FAIL); echo \"\$p \${b:-FAIL}\" >> $RUN/requests; done" &
CLIENT_PID=$!
count() { awk -v p="$1" -v b="$2" '$1==p && (b=="" || $2==b)' "$RUN/requests" | wc -l; }
report() {
  local p=$1
  info "requests in this step: $(count "$p" "") sent, $(count "$p" FAIL) failed; per real: real1 $(count "$p" real1), real2 $(count "$p" real2), real3 $(count "$p" real3)"
}

say "2. Traffic spreads over both LVS nodes and all three reals"
sleep 10
report baseline
info "connections handled: lvs1 $(conns lvs1), lvs2 $(conns lvs2)"

say "3. A real server fails its health check (real2's /healthz goes away, then it stops)"
phase realfail
rm -f /run/vgw-lab-www/real2/healthz
wait_for 30 "real2 at weight 0 on both nodes" sh -c "$(declare -f x weight weights_are); weights_are lvs1 0 10.0.0.22 && weights_are lvs2 0 10.0.0.22"
info "real2 weight: lvs1 $(weight lvs1 10.0.0.22), lvs2 $(weight lvs2 10.0.0.22) — existing connections finish, new ones avoid it"
x real2 -- pkill -f "busybox httpd -f -p 80 -h /run/vgw-lab-www/real2" || true
sleep 5
report realfail

say "4. Drain lvs1 (vgwctl drain node): GRACEFUL_SHUTDOWN, the switch moves traffic away, then withdraw"
phase drain
x lvs1 -- timeout 30 vgwctl --bus unix:path=/run/vgw-lvs1.bus drain node | sed 's/^/   /'
wait_for 60 "the switch to use lvs2 only" has_nexthops 10.0.0.12
info "sw1: $VIP/32 via $(nexthops)"
sleep 5
report drain
x lvs1 -- timeout 30 vgwctl --bus unix:path=/run/vgw-lvs1.bus undrain node | sed 's/^/   /'
wait_for 60 "ECMP over both nodes again" has_nexthops 10.0.0.11 10.0.0.12
info "undrained: sw1 uses $(nexthops) again"

say "5. lvs1 fails completely (vgwd killed, link down): ECMP converges within the BGP hold time"
phase nodefail
pkill -KILL -f "vgwd --config /run/vgw-lab/vgw-bgp/binds/lvs1" || true
x lvs1 -- ip link set eth1 down
t0=$(date +%s.%N)
wait_for 30 "the switch to drop lvs1" has_nexthops 10.0.0.12
t1=$(date +%s.%N)
info "sw1 dropped lvs1 after $(python3 -c "print(f'{$t1-$t0:.1f}')")s; now via $(nexthops)"
sleep 3
report nodefail

say "6. Restore everything"
phase restore
x lvs1 -- ip link set eth1 up
x lvs1 -- sh -c "setsid vgwd --config /run/vgw-lab/vgw-bgp/binds/lvs1/etc/vgw/vgw.toml --bus unix:path=/run/vgw-lvs1.bus >> /run/vgw-lab/vgw-bgp/lvs1-restart.log 2>&1 < /dev/null &"
x real2 -- sh -c "setsid sh /run/vgw-lab/vgw-bgp/binds/real2/etc/vgw-lab/real-httpd.sh real2 > /dev/null 2>&1 < /dev/null &"
wait_for 120 "ECMP over both nodes" has_nexthops 10.0.0.11 10.0.0.12
wait_for 60 "real2 back at weight 100 on both nodes" sh -c "$(declare -f x weight weights_are); weights_are lvs1 100 10.0.0.22 && weights_are lvs2 100 10.0.0.22"
sleep 5
report restore
kill "$CLIENT_PID" 2>/dev/null || true; CLIENT_PID=

say "Summary"
total=$(wc -l < "$RUN/requests"); failed=$(grep -c FAIL "$RUN/requests" || true)
info "requests sent: $total, failed: $failed"
for r in real1 real2 real3; do info "served by $r: $(grep -c " $r\$" "$RUN/requests" || true)"; done
info "failed during the real-server failure: $(count realfail FAIL) (want 0)"
info "failed during the node drain:          $(count drain FAIL) (want 0)"
info "failed during the node failure:        $(count nodefail FAIL) (until the hold time expired)"
[ "$(count realfail FAIL)" -eq 0 ] && [ "$(count drain FAIL)" -eq 0 ]
