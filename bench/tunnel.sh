# SPDX-License-Identifier: GPL-2.0
# where: xen
# Guest-to-guest through a netsvc tunnel vs through netfront/netback/bridge,
# on the emulated Xen host (two PV guests, one vCPU each):
#  1. TCP throughput g1 -> g2 (iperf3, SECS seconds);
#  2. round-trip time: ping (56-byte ICMP echo), median of COUNT per round;
#  3. a small TCP request/response: iperf3 with 64-byte messages both ways
#     is no RR test, so instead one TCP connection per request
#     (busybox nc to an echo server), COUNT of them: connect, 64 bytes out,
#     64 back, close.
# The two paths alternate within each round (the channel is revoked with
# detach and offered again with attach); medians of ROUNDS rounds.
# For context, ping g1 -> Dom0 over netfront: like the tunnel, two
# cross-domain wake-ups per round trip (netfront g1 -> g2 takes four).
set -u
. "$TOP/tests/xen/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=${ROUNDS:-3} SECS=${SECS:-8} COUNT=${COUNT:-20}
v1=$(guest_vif g1) v2=$(guest_vif g2) ip2=$(guest_ip g2)

path() {	# path tunnel|netfront
	if [ "$1" = tunnel ]; then
		netsvcctl attach tunnel "$v2" > /dev/null && wait_state g1 up && wait_state g2 up
	else
		netsvcctl detach tunnel "$v2" > /dev/null 2>&1; wait_state g1 none && wait_state g2 none
	fi
}
tput() { gx g1 "iperf3 -J -c $ip2 -t $SECS" | jq '.end.sum_received.bits_per_second / 1e6' | awk '{ printf "%.1f\n", $1 }'; }
rtt() {	# rtt [IP]: busybox ping prints each reply's time=X ms
	gx g1 "ping -c $COUNT -i 0.1 ${1:-$ip2}" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | median
}
rr() {	# milliseconds per connect+request+response+close
	local t0 t1
	t0=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	gx g1 "i=0; while [ \$i -lt $COUNT ]; do head -c 64 /tmp/req | nc $ip2 7010 > /dev/null; i=\$((i + 1)); done"
	t1=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	awk -v a="$t0" -v b="$t1" -v n="$COUNT" 'BEGIN { printf "%.3f\n", (b - a) * 1000 / n }'
}

for g in g1 g2; do gx $g "insmod /lib/netsvc/netsvc_front.ko" || exit 1; done
netsvcctl attach tunnel "$v1" > /dev/null || exit 1
gx g1 "head -c 64 /dev/urandom > /tmp/req"
# An echo server that answers 64 bytes and closes.
gx g2 "nc -ll -p 7010 -e head -c 64 > /dev/null 2>&1 &"
gx g1 "ping -c 2 $ip2" > /dev/null

out=/tmp/bench; mkdir -p $out; rm -f $out/*
for r in $(seq "$ROUNDS"); do
	for p in netfront tunnel; do
		path $p || exit 1
		tput >> $out/tput.$p
		rtt >> $out/rtt.$p
		rr >> $out/rr.$p
		echo "round $r $p: $(tail -n1 $out/tput.$p) Mbit/s, ping $(tail -n1 $out/rtt.$p) ms, rr $(tail -n1 $out/rr.$p) ms"
	done
	rtt 10.99.0.1 >> $out/rtt.dom0
done
rtt_dom0=$(median < $out/rtt.dom0)
gx g1 cat /proc/netsvc_front | head -16

for m in tput rtt rr; do
	for p in netfront tunnel; do eval "${m}_$p=$(median < $out/$m.$p)"; done
done
printf '%-34s %12s %12s %8s\n' "" netfront tunnel ratio
printf '%-34s %12s %12s %8s\n' "TCP g1->g2 (Mbit/s)" "$tput_netfront" "$tput_tunnel" "$(ratio "$tput_tunnel" "$tput_netfront")"
printf '%-34s %12s %12s %8s\n' "ping RTT (ms)" "$rtt_netfront" "$rtt_tunnel" "$(ratio "$rtt_netfront" "$rtt_tunnel")"
printf '%-34s %12s %12s %8s\n' "TCP connect+64B RR+close (ms)" "$rr_netfront" "$rr_tunnel" "$(ratio "$rr_netfront" "$rr_tunnel")"
echo "ping g1 -> Dom0 over netfront (two wake-ups per round trip, as the tunnel): $rtt_dom0 ms"
echo "BENCH tunnel_tput_mbps $tput_tunnel"
echo "BENCH netfront_tput_mbps $tput_netfront"
echo "BENCH tunnel_tput_ratio $(ratio "$tput_tunnel" "$tput_netfront")"
echo "BENCH tunnel_rtt_ms $rtt_tunnel"
echo "BENCH netfront_rtt_ms $rtt_netfront"
echo "BENCH tunnel_rtt_ratio $(ratio "$rtt_netfront" "$rtt_tunnel")"
echo "BENCH tunnel_rr_ratio $(ratio "$rr_netfront" "$rr_tunnel")"
echo "BENCH dom0_rtt_ms $rtt_dom0"
echo "BENCH netfront_rtt_vs_dom0 $(ratio "$rtt_netfront" "$rtt_dom0")"
