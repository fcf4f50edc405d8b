# Starts zebra and ospfd of the switch in topology (b), in the foreground of this node.
# (A container would run /usr/lib/frr/frrinit.sh; a namespace lab shares /run, so each
# switch gets its own socket directory.)
set -e
dir=/run/frr-$(hostname)-$$
mkdir -p "$dir" && chown frr:frr "$dir"
conf=$(dirname "$0")/frr.conf
for d in zebra ospfd; do
  /usr/lib/frr/$d -d -f "$conf" -i "$dir/$d.pid" -z "$dir/zserv.api" --vty_socket "$dir" -u frr -g frr -P 0
done
echo "vtysh --vty_socket $dir"
exec sleep infinity
