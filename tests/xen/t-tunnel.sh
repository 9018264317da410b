# SPDX-License-Identifier: GPL-2.0
# t-tunnel: shared-memory tunnels between co-resident guests (issue 6).
# limit: 2400
#
#  ┌──────────────────────┐  grant-shared rings   ┌──────────────────────┐
#  │ g1 netsvc_front      │◄═════════════════════►│ g2 netsvc_front      │
#  │ eth0 10.99.0.11      │    + event channel    │ eth0 10.99.0.12      │
#  └──────────┬───────────┘                       └───────────┬──────────┘
#  ┌──────────┴───────────────────────────────────────────────┴──────────┐
#  │ Dom0: vif1.0 ── xenbr0 ── vif2.0      netsvc_tunnel (broker)        │
#  │       offers in /local/domain/<g>/data/netsvc-tunnel/<peer>         │
#  └─────────────────────────────────────────────────────────────────────┘
# Frames between g1 and g2 go through the tunnel while it is up (netback's
# vif counters stay still), and through netfront/netback/bridge otherwise.
. "$TOP/tests/xen/lib.sh"

MB=${TUNNEL_MB:-50}
d1=$(guest_domid g1) d2=$(guest_domid g2)
v1=$(guest_vif g1) v2=$(guest_vif g2)
ip1=$(guest_ip g1) ip2=$(guest_ip g2)
# Frames from one guest to the other through netback: a tc counter on each
# vif's ingress for the other guest's MAC (the vifs' own counters also count
# this script's traffic to the guests' command servers).
modprobe cls_flower; modprobe act_gact
for p in "$v1 00:16:3e:00:00:02" "$v2 00:16:3e:00:00:01"; do
	set -- $p
	tc qdisc add dev "$1" clsact
	tc filter add dev "$1" ingress protocol all flower dst_mac "$2" action pass
done
vifpkts() {
	{ tc -s filter show dev "$v1" ingress; tc -s filter show dev "$v2" ingress; } |
		awk '/Sent/ { s += $4 } END { print s + 0 }'
}
bstat() { stat "$1" tunnel "$2"; }

# peer_ring_kb GUEST: the ring size of its channel, KiB per direction.
peer_ring_kb() {
	gx "$1" cat /proc/netsvc_front |
		awk '$1 == "peer" { for (i = 1; i < NF; i++) if ($i == "ring_kb") print $(i + 1) }'
}

# A ring size outside the protocol is refused at load time.
for kb in 100 32 1024; do
	if gx g1 "insmod /lib/netsvc/netsvc_front.ko ring_kb=$kb" > /dev/null 2>&1; then
		fail ring-kb-$kb-refused "loaded"; gx g1 "busybox rmmod netsvc_front"
	elif gx g1 dmesg | grep -q "ring_kb=$kb: not a power of two from 64 to 512"; then
		pass ring-kb-$kb-refused
	else
		fail ring-kb-$kb-refused "no reason in the guest's log"
	fi
done
for g in g1 g2; do expect_ok load-front-$g gx $g "insmod /lib/netsvc/netsvc_front.ko"; done
# What each guest end takes, as Dom0 reads it.
expect front-caps-g1 "$(xenstore-read /local/domain/$d1/data/netsvc-front/ring-kb 2>&1)" 256

# Only g1 eligible: nobody gets an offer.
expect_ok attach-g1 netsvcctl attach tunnel "$v1"
sleep 3
expect no-offer-alone "$(xenstore-list /local/domain/$d1/data/netsvc-tunnel 2>/dev/null | wc -l)" 0
expect no-channel-unattached "$(peer_state g2)" none
expect broker-offered-alone "$(bstat "$v1" pairs_offered)" 0

expect_ok attach-g2 netsvcctl attach tunnel "$v2"
if wait_state g1 up 60 && wait_state g2 up 10; then pass channel-up
else fail channel-up "g1 $(peer_state g1), g2 $(peer_state g2)"; fi
xenstore-ls -p /local/domain/$d1/data/netsvc-tunnel
# Each offer belongs to its guest alone: owner = that guest, nobody else reads.
perm=$(xenstore-ls -p /local/domain/$d1/data/netsvc-tunnel | awk -v p="$d2" '$1 == p { print $NF }')
expect offer-perms-g1 "$perm" "(n$d1)"
perm=$(xenstore-ls -p /local/domain/$d2/data/netsvc-tunnel | awk -v p="$d1" '$1 == p { print $NF }')
expect offer-perms-g2 "$perm" "(n$d2)"
expect broker-up "$(bstat "$v1" channels_up)" 1
expect broker-setups "$(bstat "$v2" setups)" 1
# Rings beyond xenbus_map_ring_valloc's 16 grants: 256 KiB, 129 pages mapped.
expect offer-ring-kb "$(xenstore-read /local/domain/$d2/data/netsvc-tunnel/$d1/ring-kb 2>&1)" 256
expect channel-ring-kb "$(peer_ring_kb g1)/$(peer_ring_kb g2)" 256/256
expect offer-refs "$(xenstore-read /local/domain/$d2/data/netsvc-tunnel/$d1/peer-refs | wc -w)" 129

# ping both ways, IPv4 and IPv6 (ARP/ND requests are broadcast: netfront).
x g1 "ping -c 3 $ip2" > /dev/null
base=$(vifpkts) t0=$(fstat g2 rx_frames)
expect_ok ping-g1-g2 x g1 "ping -c 5 -i 0.2 $ip2"
expect_ok ping-g2-g1 x g2 "ping -c 5 -i 0.2 $ip1"
expect_ok ping6-g1-g2 x g1 "ping -6 -c 3 -i 0.2 fe80::216:3eff:fe00:2%eth0"
expect_ge ping-through-tunnel "$(($(fstat g2 rx_frames) - t0))" 13
d=$(($(vifpkts) - base))
echo "    guest-to-guest frames through netback during the pings: $d"
expect_ge ping-vifs-still "$((2 - d))" 0
gx g1 cat /proc/netsvc_front; gx g2 cat /proc/netsvc_front

# 50 MB each way, sha256-checked, netback's counters still.
base=$(vifpkts)
xfer_start g1 g2 9001 "$MB"; t0=$(date +%s.%N)
xfer_send
xfer_ok tcp-g1-g2-sha
echo "    $MB MiB g1->g2 in $(echo "$(date +%s.%N) - $t0" | bc) s"
xfer_start g2 g1 9002 "$MB"; t0=$(date +%s.%N)
xfer_send
xfer_ok tcp-g2-g1-sha
echo "    $MB MiB g2->g1 in $(echo "$(date +%s.%N) - $t0" | bc) s"
d=$(($(vifpkts) - base))
echo "    netback packets during the transfers: $d"
expect_ge tcp-vifs-still "$((5 - d))" 0
expect_ge tcp-bytes-tunnel "$(fstat g1 tx_bytes)" $((MB * 1048576))
expect_ge tcp-bytes-tunnel-back "$(fstat g2 tx_bytes)" $((MB * 1048576))

# UDP through the tunnel: 2000 datagrams, a count rather than a time, so
# that a slow machine sends as many (one loaded day, "-t 2" sent 1008).
t0=$(fstat g2 rx_frames)
x g1 "iperf3 -c $ip2 -u -b 20M -n 2400000 -l 1200" | tail -4
expect_ge udp-through-tunnel "$(($(fstat g2 rx_frames) - t0))" 1900

# Socket busy polling (SO_BUSY_POLL): a reader spins on the tunnel's NAPI
# context and takes the peer's frames as they land, without waiting for an
# event.  200 checked 64-byte round trips over one connection, busy-polled
# at both ends; then the same without busy polling, which must still be
# woken by events (the busy loop leaves none of them masked) and poll nothing.
gx g2 "rr -s 7011 -b 20000 > /dev/null 2>&1 & rr -s 7012 > /dev/null 2>&1 &"
sleep 1
b1=$(fstat g1 rx_busy_polled) b2=$(fstat g2 rx_busy_polled) t0=$(fstat g2 rx_frames) base=$(vifpkts)
expect_ok busy-poll-rr x g1 "timeout 120 rr -c $ip2 7011 -n 200 -b 20000"
expect_ge busy-poll-through-tunnel "$(($(fstat g2 rx_frames) - t0))" 210
expect_ge busy-polled-g1 "$(($(fstat g1 rx_busy_polled) - b1))" 150
expect_ge busy-polled-g2 "$(($(fstat g2 rx_busy_polled) - b2))" 150
b1=$(fstat g1 rx_busy_polled) b2=$(fstat g2 rx_busy_polled)
expect_ok sleeping-rr x g1 "timeout 120 rr -c $ip2 7012 -n 200"
expect sleeping-rr-not-polled "$(($(fstat g1 rx_busy_polled) - b1))/$(($(fstat g2 rx_busy_polled) - b2))" 0/0
expect_ge rr-vifs-still "$((2 - $(vifpkts) + base))" 0
gx g2 "busybox killall rr"

gx g1 cat /proc/netsvc_front; gx g2 cat /proc/netsvc_front
netsvcctl show "$v1"

# Detach in the middle of a transfer: it completes through netfront.  Less
# data than above, with more time: through netfront alone 50 MiB took 320 s
# one day (the same through the tunnel: 92 s), beyond the sender's 300 s.
FMB=${TUNNEL_FALLBACK_MB:-20}
xfer_start g1 g2 9003 "$FMB"
base=$(vifpkts)
t0=$(date +%s)
xfer_send 900 & snd=$!
sleep 2
expect_ok detach-mid-transfer netsvcctl detach tunnel "$v2"
wait $snd
echo "    transfer done after $(( $(date +%s) - t0 )) s"
xfer_ok detach-transfer-sha
expect_ge detach-via-netback "$(($(vifpkts) - base))" 1000
expect detach-channel-gone "$(peer_state g1)/$(peer_state g2)" none/none
expect_ge detach-teardown "$(fstat g1 teardowns)" 1
gx g1 cat /proc/netsvc_front
expect_ok ping-after-detach x g1 "ping -c 2 -i 0.2 $ip2"

# Attached again in the middle of a transfer that began through netfront:
# the established connection moves into the new channel and completes.
xfer_start g1 g2 9005 "$FMB"
t0=$(date +%s)
xfer_send 900 & snd=$!
sleep 2
rx0=$(fstat g2 rx_frames)
expect_ok reattach netsvcctl attach tunnel "$v2"
if wait_state g1 up 60 && wait_state g2 up 10; then pass reattach-up
else fail reattach-up "g1 $(peer_state g1), g2 $(peer_state g2)"; fi
echo "    channel up $(( $(date +%s) - t0 )) s into the transfer"
wait $snd
echo "    transfer done after $(( $(date +%s) - t0 )) s"
xfer_ok reattach-transfer-sha
expect_ge reattach-transfer-via-tunnel "$(($(fstat g2 rx_frames) - rx0))" 1000
expect_ok ping-reattached x g1 "ping -c 2 -i 0.2 $ip2"

# peers= policy revokes and grants back.
expect_ok policy-revoke netsvcctl set tunnel "$v1" peers=999
if wait_state g1 none 20 && wait_state g2 none 10; then pass policy-revoked
else fail policy-revoked "g1 $(peer_state g1), g2 $(peer_state g2)"; fi
expect_ok policy-allow netsvcctl set tunnel "$v1" "peers=$d2"
if wait_state g1 up 60 && wait_state g2 up 10; then pass policy-allowed
else fail policy-allowed "g1 $(peer_state g1), g2 $(peer_state g2)"; fi

# g2's interface is hot-unplugged: g2's module lets go of it (or netfront's
# removal would wait forever for the reference), the channel goes, and the
# interface plugged back in is taken up again.  g2's network is gone
# meanwhile: a watcher in g2 configures the new eth0.
gx g2 "(while ip link show eth0; do sleep 0.2; done; while ! ip link show eth0; do sleep 0.2; done
	ip addr add $ip2/24 dev eth0; ip link set eth0 up; ip route add default via 10.99.0.1) \
	> /dev/null 2>&1 < /dev/null &"
expect_ok unplug-detach timeout 120 xl network-detach g2 0
if wait_state g1 none 30; then pass unplug-channel-gone; else fail unplug-channel-gone "g1 $(peer_state g1)"; fi
expect_ok unplug-attach timeout 120 xl network-attach g2 bridge=xenbr0 mac=00:16:3e:00:00:02 script=vif-netsvc
v2=$(ls /sys/class/net | grep "^vif$d2\." | head -n1)
echo "    g2's new vif: $v2"
for i in $(seq 30); do gx g2 true 2> /dev/null && break; sleep 2; done
expect_ok unplug-reattach-tunnel netsvcctl attach tunnel "$v2"
if wait_state g1 up 60 && wait_state g2 up 10; then pass unplug-channel-back
else fail unplug-channel-back "g1 $(peer_state g1), g2 $(peer_state g2)"; fi
t0=$(fstat g2 rx_frames)
expect_ok unplug-ping x g1 "ping -c 3 -i 0.2 $ip2"
expect_ge unplug-ping-through-tunnel "$(($(fstat g2 rx_frames) - t0))" 3
gx g2 dmesg | grep -E "netsvc_front|unregister_netdevice" | tail -5
clean_dmesg unplug-g2-dmesg g2 "waiting for eth0"

# A corrupting peer: g2 publishes nonsense; g1 drops the channel, counts it.
for mode in 1 2; do
	pe0=$(fstat g1 peer_errors) be0=$(bstat "$v1" peer_errors)
	gx g2 "echo $mode > /sys/module/netsvc_front/parameters/corrupt"
	x g2 "ping -c 3 -i 0.2 $ip1" > /dev/null
	wait_state g1 none 20; wait_state g2 none 10
	expect corrupt$mode-peer-error "$(($(fstat g1 peer_errors) - pe0))" 1
	expect corrupt$mode-broker-error "$(($(bstat "$v1" peer_errors) - be0))" 1
	expect corrupt$mode-channels "$(peer_state g1)/$(peer_state g2)" none/none
	expect_ok corrupt$mode-fallback x g1 "ping -c 2 -i 0.2 $ip2"
	# The broker does not offer an errored pair again until re-attached.
	netsvcctl detach tunnel "$v2"; netsvcctl attach tunnel "$v2"
	if wait_state g1 up 60 && wait_state g2 up 10; then pass corrupt$mode-reoffered
	else fail corrupt$mode-reoffered "g1 $(peer_state g1), g2 $(peer_state g2)"; fi
done

clean_dmesg guest-g2-dmesg g2

# g2's end reloaded with smaller rings: the broker offers the pair anew at
# the smaller of the two sizes, which both ends map; a transfer goes through
# (64 KiB rings: GSO bursts larger than half a ring segmented at g1).
expect_ok reload-front-64k gx g2 "busybox rmmod netsvc_front && insmod /lib/netsvc/netsvc_front.ko ring_kb=64"
if wait_state g1 up 60 && wait_state g2 up 10; then pass ring-64k-up
else fail ring-64k-up "g1 $(peer_state g1), g2 $(peer_state g2)"; fi
expect ring-64k-negotiated "$(peer_ring_kb g1)/$(peer_ring_kb g2)" 64/64
expect ring-64k-refs "$(xenstore-read /local/domain/$d2/data/netsvc-tunnel/$d1/peer-refs | wc -w)" 33
xfer_start g1 g2 9006 "$MB"
xfer_send
xfer_ok ring-64k-transfer-sha
expect_ge ring-64k-via-tunnel "$(gx g2 cat /proc/netsvc_front | awk '$1 == "peer" { print $14 }')" 1000
expect ring-64k-grants-released "$(fstat g1 grants_held)" 0

# xl destroy of the receiver mid-transfer: the sender recovers.
xfer_start g1 g2 9004 "$MB"
xfer_send 30 & snd=$!
sleep 2
expect_ok destroy-g2 xl destroy g2
wait $snd
if wait_state g1 none 20; then pass destroy-channel-gone; else fail destroy-channel-gone "g1 $(peer_state g1)"; fi
expect_ok destroy-g1-alive x g1 "ping -c 2 -i 0.2 10.99.0.1"
expect destroy-broker-pairs "$(bstat "$v1" pairs_offered)" 0

clean_dmesg guest-g1-dmesg g1
gx g1 dmesg | grep netsvc_front | tail -20
summary
