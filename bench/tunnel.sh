# SPDX-License-Identifier: GPL-2.0
# where: xen
# Guest-to-guest through a netsvc tunnel vs through netfront/netback/bridge,
# on the emulated Xen host (two PV guests, one vCPU each):
#  1. TCP throughput g1 -> g2 (iperf3, SECS seconds);
#  2. round-trip time: ping (56-byte ICMP echo), median of COUNT per round;
#  3. small TCP requests and responses over one connection, like netperf's
#     TCP_RR (tests/xen/rr.c: 64 bytes each way, RR_COUNT round trips,
#     median), with both ends sleeping in read() as applications do, and
#     with both ends busy-polling (SO_BUSY_POLL for BUSY_US microseconds:
#     a read spins on the receiving NAPI context before it sleeps; netfront
#     and the tunnel both take part), and sleeping with 100 ms between
#     requests, as ping sends them (both guests fall idle in between);
#  4. one TCP connection per request, like netperf's TCP_CRR (busybox nc to
#     an echo server), COUNT of them: connect, 64 bytes out, 64 back, close.
# The two paths alternate within each round (the channel is revoked with
# detach and offered again with attach); medians of ROUNDS rounds.
# For context, ping g1 -> Dom0 over netfront: like the tunnel, two
# cross-domain wake-ups per round trip (netfront g1 -> g2 takes four).
set -u
. "$TOP/tests/xen/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=${ROUNDS:-3} SECS=${SECS:-8} COUNT=${COUNT:-20} RR_COUNT=${RR_COUNT:-500} BUSY_US=${BUSY_US:-2000}
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
	# (into a file: a line per reply sent back to Dom0 meanwhile would
	# wake the guests' netfront in the middle of the measurement)
	gx g1 "ping -c $COUNT -i 0.1 ${1:-$ip2} > /tmp/ping.out; cat /tmp/ping.out" |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | median
}
rr() {	# rr PORT [RR_ARGS...]: median milliseconds per round trip
	gx g1 "rr -c $ip2 $1 -n $RR_COUNT -m 64 ${*:2}" |
		awk '$1 == "rr" && $8 == "median_us" { printf "%.3f\n", $9 / 1000 }'
}
crr() {	# milliseconds per connect+request+response+close
	local t0 t1
	t0=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	gx g1 "i=0; while [ \$i -lt $COUNT ]; do head -c 64 /tmp/req | nc $ip2 7010 > /dev/null; i=\$((i + 1)); done"
	t1=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	awk -v a="$t0" -v b="$t1" -v n="$COUNT" 'BEGIN { printf "%.3f\n", (b - a) * 1000 / n }'
}

for g in g1 g2; do gx $g "insmod /lib/netsvc/netsvc_front.ko" || exit 1; done
netsvcctl attach tunnel "$v1" > /dev/null || exit 1
gx g1 "head -c 64 /dev/urandom > /tmp/req"
# An echo server that answers 64 bytes and closes; RR echo servers.
gx g2 "nc -ll -p 7010 -e head -c 64 > /dev/null 2>&1 &"
gx g2 "rr -s 7011 > /dev/null 2>&1 &"
gx g2 "rr -s 7012 -b $BUSY_US > /dev/null 2>&1 &"
gx g1 "ping -c 2 $ip2" > /dev/null

out=/tmp/bench; mkdir -p $out; rm -f $out/*
for r in $(seq "$ROUNDS"); do
	for p in netfront tunnel; do
		path $p || exit 1
		tput >> $out/tput.$p
		rtt >> $out/rtt.$p
		rr 7011 >> $out/rr.$p
		rr 7012 -b "$BUSY_US" >> $out/rrbusy.$p
		RR_COUNT=30 rr 7011 -g 100 >> $out/rridle.$p
		crr >> $out/crr.$p
		echo "round $r $p: $(tail -n1 $out/tput.$p) Mbit/s, ping $(tail -n1 $out/rtt.$p) ms," \
			"rr $(tail -n1 $out/rr.$p) ms, busy-polled $(tail -n1 $out/rrbusy.$p) ms," \
			"idle in between $(tail -n1 $out/rridle.$p) ms," \
			"crr $(tail -n1 $out/crr.$p) ms"
	done
	rtt 10.99.0.1 >> $out/rtt.dom0
done
rtt_dom0=$(median < $out/rtt.dom0)
gx g1 cat /proc/netsvc_front | head -17

for m in tput rtt rr rrbusy rridle crr; do
	for p in netfront tunnel; do eval "${m}_$p=$(median < $out/$m.$p)"; done
done
printf '%-34s %12s %12s %8s\n' "" netfront tunnel ratio
printf '%-34s %12s %12s %8s\n' "TCP g1->g2 (Mbit/s)" "$tput_netfront" "$tput_tunnel" "$(ratio "$tput_tunnel" "$tput_netfront")"
printf '%-34s %12s %12s %8s\n' "ping RTT (ms)" "$rtt_netfront" "$rtt_tunnel" "$(ratio "$rtt_netfront" "$rtt_tunnel")"
printf '%-34s %12s %12s %8s\n' "TCP 64B RR, sleeping (ms)" "$rr_netfront" "$rr_tunnel" "$(ratio "$rr_netfront" "$rr_tunnel")"
printf '%-34s %12s %12s %8s\n' "TCP 64B RR, busy-polling (ms)" "$rrbusy_netfront" "$rrbusy_tunnel" "$(ratio "$rrbusy_netfront" "$rrbusy_tunnel")"
printf '%-34s %12s %12s %8s\n' "TCP 64B RR, 100 ms apart (ms)" "$rridle_netfront" "$rridle_tunnel" "$(ratio "$rridle_netfront" "$rridle_tunnel")"
printf '%-34s %12s %12s %8s\n' "TCP connect+64B RR+close (ms)" "$crr_netfront" "$crr_tunnel" "$(ratio "$crr_netfront" "$crr_tunnel")"
echo "ping g1 -> Dom0 over netfront (two wake-ups per round trip, as the tunnel): $rtt_dom0 ms"
echo "BENCH tunnel_tput_mbps $tput_tunnel"
echo "BENCH netfront_tput_mbps $tput_netfront"
echo "BENCH tunnel_tput_ratio $(ratio "$tput_tunnel" "$tput_netfront")"
echo "BENCH tunnel_rtt_ms $rtt_tunnel"
echo "BENCH netfront_rtt_ms $rtt_netfront"
echo "BENCH tunnel_rtt_ratio $(ratio "$rtt_netfront" "$rtt_tunnel")"
echo "BENCH tunnel_rr_ms $rr_tunnel"
echo "BENCH netfront_rr_ms $rr_netfront"
echo "BENCH tunnel_rr_ratio $(ratio "$rr_netfront" "$rr_tunnel")"
echo "BENCH tunnel_rr_busy_ms $rrbusy_tunnel"
echo "BENCH netfront_rr_busy_ms $rrbusy_netfront"
echo "BENCH tunnel_rr_busy_ratio $(ratio "$rrbusy_netfront" "$rrbusy_tunnel")"
echo "BENCH tunnel_rr_idle_ratio $(ratio "$rridle_netfront" "$rridle_tunnel")"
echo "BENCH tunnel_crr_ratio $(ratio "$crr_netfront" "$crr_tunnel")"
echo "BENCH dom0_rtt_ms $rtt_dom0"
echo "BENCH netfront_rtt_vs_dom0 $(ratio "$rtt_netfront" "$rtt_dom0")"
