#!/bin/sh
# Capture ipvsadm <-> kernel generic-netlink traffic with nlmon, inside the lab VM:
#   vgw-lab vm -- sh ipvs-sync/scripts/capture-ipvsadm.sh > capture.txt
# then turn the printed pcap into fixtures with scripts/pcap-to-fixture.py.
set -u
ip netns add ipvscap
ip -n ipvscap link set lo up
ip netns exec ipvscap sh -c '
set -x
ip link add nlmon0 type nlmon && ip link set nlmon0 up
ip link add d0 type dummy && ip link set d0 up && ip addr add 10.9.0.1/24 dev d0
dumpcap -q -i nlmon0 -w /tmp/c.pcap 2>/dev/null & P=$!
sleep 3
ipvsadm -A -t 192.0.2.1:80 -s wrr -p 300
ipvsadm -a -t 192.0.2.1:80 -r 10.0.0.1:8080 -m -w 5
ipvsadm -A -u [2001:db8::1]:53 -s mh -b mh-fallback,mh-port
ipvsadm -a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -g -w 2
ipvsadm -A -f 7 -s sh -o
ipvsadm -a -f 7 -r 10.0.0.2 -i --tun-type gue --tun-port 6080 -x 100 -y 10
ipvsadm -e -t 192.0.2.1:80 -r 10.0.0.1:8080 -m -w 7
ipvsadm -E -t 192.0.2.1:80 -s rr
ipvsadm -Ln --stats
ipvsadm --set 900 120 300
ipvsadm -L --timeout
ipvsadm --start-daemon master --mcast-interface d0 --syncid 5
ipvsadm --start-daemon backup --mcast-interface d0 --syncid 5 --sync-maxlen 1400 --mcast-group 239.1.1.1 --mcast-port 8849 --mcast-ttl 2
ipvsadm -L --daemon
ipvsadm --stop-daemon master
ipvsadm -d -t 192.0.2.1:80 -r 10.0.0.1:8080
ipvsadm -D -t 192.0.2.1:80
ipvsadm -D -t 192.0.2.1:80
ipvsadm -Z
ipvsadm -C
sleep 2
kill $P; wait $P
set +x
echo @@PCAP-BEGIN
od -An -tx1 -v /tmp/c.pcap
echo @@PCAP-END
'
ip netns del ipvscap
