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
# All of that with netsvc_front's default ring size (tunnel_ring_kb: what the
# channel negotiated); then TCP throughput again for each ring size of
# RING_KBS (netsvc_front reloaded with ring_kb=), alternating with netfront,
# ROUNDS rounds each.  tunnel_backlog_share: of the frames g1 sent into the
# tunnel during the throughput runs, the share that waited in the backlog
# because the ring was full.
# What bounds the throughput: TCP in g1 over loopback (iperf3 to 127.0.0.1,
# sender and receiver on g1's one vCPU, no transport between them) measures
# what one vCPU does of the stack and copies the tunnel cannot avoid; the
# tunnel splits the same work over two vCPUs and adds a copy into and out of
# the ring, so it cannot move more than twice that (tunnel_tput_bound_ratio:
# that ceiling over netfront).
# For the busy-polled round trip, the same 64-byte request/response in g1
# over loopback (rr to 127.0.0.1, client and server on g1's one vCPU, both
# sleeping: loopback has no NAPI context to poll): the stack work of a round
# trip with no transport, plus two wake-ups and context switches on one
# vCPU (guest_loopback_rr_ms, tunnel_rr_busy_vs_loopback).  It was meant as
# a floor and is not one: measured 2026-12-06, the busy-polled tunnel's
# round trip (0.358-0.371 ms) is shorter than loopback's (0.498-0.513 ms),
# the two vCPUs' polls costing less than one vCPU's two wake-ups.
# bench/tunnel.sh [NAME=VALUE...] sets ROUNDS SECS COUNT RR_COUNT BUSY_US
# RING_KBS (the environment does not reach Dom0: hence arguments).
set -u
. "$TOP/tests/xen/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=${ROUNDS:-3} SECS=${SECS:-8} COUNT=${COUNT:-20} RR_COUNT=${RR_COUNT:-500} BUSY_US=${BUSY_US:-2000}
RING_KBS=${RING_KBS-64 256 512}
for a in "$@"; do
	case $a in
	ROUNDS=*|SECS=*|COUNT=*|RR_COUNT=*|BUSY_US=*|RING_KBS=*) declare "$a" ;;
	*) echo "bench tunnel: unknown argument '$a'" >&2; exit 2 ;;
	esac
done
v1=$(guest_vif g1) v2=$(guest_vif g2) ip2=$(guest_ip g2)

path() {	# path tunnel|netfront
	if [ "$1" = tunnel ]; then
		netsvcctl attach tunnel "$v2" > /dev/null && wait_state g1 up && wait_state g2 up
	else
		netsvcctl detach tunnel "$v2" > /dev/null 2>&1; wait_state g1 none && wait_state g2 none
	fi
}
tput() { gx g1 "iperf3 -J -c ${1:-$ip2} -t $SECS" | jq '.end.sum_received.bits_per_second / 1e6' | awk '{ printf "%.1f\n", $1 }'; }
# tput_tunnel FILE SHAREFILE: tput, and the backlog share of g1's frames
tput_tunnel() {
	local b0 f0 b1 f1
	b0=$(fstat g1 backlogged) f0=$(fstat g1 tx_frames)
	tput >> "$1"
	b1=$(fstat g1 backlogged) f1=$(fstat g1 tx_frames)
	ratio $((b1 - b0)) $((f1 - f0)) >> "$2"
}
# cpu_sample PATH: during a throughput run, each domain's CPU share (xentop,
# percent of one CPU, over 3 s in the middle of the run) into $out/cpu.PATH.DOM
cpu_sample() {
	command -v xentop > /dev/null || return 0
	sleep $((SECS / 2 - 1))
	xentop -b -d 3 -i 2 2> /dev/null | awk -v o="$out/cpu.$1" '
		$1 == "NAME" { n++ } n == 2 && ($1 == "g1" || $1 == "g2" || $1 == "Domain-0") {
			print $4 >> (o "." $1) }'
}
# the ring size the channel of g1 negotiated
ring_kb() { gx g1 cat /proc/netsvc_front | awk '$1 == "peer" { for (i = 1; i < NF; i++) if ($i == "ring_kb") print $(i + 1) }'; }
# load_front [ARGS]: netsvc_front (re)loaded in both guests
load_front() {
	local g
	for g in g1 g2; do
		gx $g "busybox rmmod netsvc_front 2> /dev/null; insmod /lib/netsvc/netsvc_front.ko $*" || return 1
	done
}
rtt() {	# rtt [IP]: busybox ping prints each reply's time=X ms
	# (into a file: a line per reply sent back to Dom0 meanwhile would
	# wake the guests' netfront in the middle of the measurement)
	gx g1 "ping -c $COUNT -i 0.1 ${1:-$ip2} > /tmp/ping.out; cat /tmp/ping.out" |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | median
}
rr() {	# rr PORT [RR_ARGS...]: median milliseconds per round trip (to RR_IP, default g2)
	gx g1 "rr -c ${RR_IP:-$ip2} $1 -n $RR_COUNT -m 64 ${*:2}" |
		awk '$1 == "rr" && $8 == "median_us" { printf "%.3f\n", $9 / 1000 }'
}
crr() {	# milliseconds per connect+request+response+close
	local t0 t1
	t0=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	gx g1 "i=0; while [ \$i -lt $COUNT ]; do head -c 64 /tmp/req | nc $ip2 7010 > /dev/null; i=\$((i + 1)); done"
	t1=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	awk -v a="$t0" -v b="$t1" -v n="$COUNT" 'BEGIN { printf "%.3f\n", (b - a) * 1000 / n }'
}

load_front || exit 1
netsvcctl attach tunnel "$v1" > /dev/null || exit 1
gx g1 "head -c 64 /dev/urandom > /tmp/req"
# An echo server that answers 64 bytes and closes; RR echo servers.
gx g2 "nc -ll -p 7010 -e head -c 64 > /dev/null 2>&1 &"
gx g2 "rr -s 7011 > /dev/null 2>&1 &"
gx g2 "rr -s 7012 -b $BUSY_US > /dev/null 2>&1 &"
gx g1 "rr -s 7013 > /dev/null 2>&1 &"
gx g1 "ping -c 2 $ip2" > /dev/null

out=/tmp/bench; mkdir -p $out; rm -f $out/*
for r in $(seq "$ROUNDS"); do
	for p in netfront tunnel; do
		path $p || exit 1
		cpu_sample $p & cpu=$!
		if [ $p = tunnel ]; then
			tput_tunnel $out/tput.$p $out/backlog
			ring_kb >> $out/ringkb
		else
			tput >> $out/tput.$p
		fi
		wait $cpu
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
	cpu_sample loopback & cpu=$!
	tput 127.0.0.1 >> $out/tput.loopback
	wait $cpu
	RR_IP=127.0.0.1 rr 7013 >> $out/rr.loopback
	echo "round $r loopback in g1: $(tail -n1 $out/tput.loopback) Mbit/s," \
		"rr $(tail -n1 $out/rr.loopback) ms"
done
tput_loopback=$(median < $out/tput.loopback)
rr_loopback=$(median < $out/rr.loopback)
rtt_dom0=$(median < $out/rtt.dom0)
gx g1 cat /proc/netsvc_front | head -19
backlog_share=$(median < $out/backlog)
ringkb=$(sort -u $out/ringkb | tr '\n' ' ' | sed 's/ $//')
[ -n "$ringkb" ] && [ "$(wc -w <<< "$ringkb")" -eq 1 ] || { echo "bench tunnel: ring sizes '$ringkb'" >&2; ringkb=-1; }

# A row per ring size: throughput only, netfront alternating.
for kb in $RING_KBS; do
	path netfront || exit 1
	load_front ring_kb="$kb" || exit 1
	for r in $(seq "$ROUNDS"); do
		path netfront || exit 1
		tput >> $out/sz$kb.netfront
		path tunnel || exit 1
		tput_tunnel $out/sz$kb.tunnel $out/sz$kb.backlog
		ring_kb >> $out/sz$kb.ringkb
		echo "ring_kb=$kb round $r: netfront $(tail -n1 $out/sz$kb.netfront) Mbit/s," \
			"tunnel $(tail -n1 $out/sz$kb.tunnel) Mbit/s ($(tail -n1 $out/sz$kb.ringkb) KiB rings)," \
			"backlog share $(tail -n1 $out/sz$kb.backlog)"
	done
done

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
printf '%-34s %12s %12s %8s\n' "TCP in g1 over loopback (Mbit/s)" "" "$tput_loopback" ""
printf '%-34s %12s %12s %8s\n' "TCP 64B RR in g1 over loopback (ms)" "" "$rr_loopback" ""
echo "ping g1 -> Dom0 over netfront (two wake-ups per round trip, as the tunnel): $rtt_dom0 ms"
echo "ring: $ringkb KiB per direction (netsvc_front's default); frames through the backlog: $backlog_share"
if [ -f $out/cpu.tunnel.g1 ]; then
	for p in netfront tunnel loopback; do
		echo "CPU during the $p throughput runs (xentop, % of one CPU, medians):" \
			"g1 $(median < $out/cpu.$p.g1), g2 $(median < $out/cpu.$p.g2), Dom0 $(median < $out/cpu.$p.Domain-0)"
	done
fi
printf '\n%-12s %12s %12s %8s %14s\n' "ring_kb=" "netfront" "tunnel" ratio "backlog share"
for kb in $RING_KBS; do
	nf=$(median < $out/sz$kb.netfront) tu=$(median < $out/sz$kb.tunnel)
	printf '%-12s %12s %12s %8s %14s\n' "$kb KiB" "$nf" "$tu" "$(ratio "$tu" "$nf")" "$(median < $out/sz$kb.backlog)"
done
echo "BENCH tunnel_tput_mbps $tput_tunnel"
echo "BENCH netfront_tput_mbps $tput_netfront"
echo "BENCH tunnel_tput_ratio $(ratio "$tput_tunnel" "$tput_netfront")"
echo "BENCH tunnel_ring_kb $ringkb"
echo "BENCH guest_loopback_mbps $tput_loopback"
echo "BENCH tunnel_tput_bound_ratio $(ratio "$(echo "2 * $tput_loopback" | bc)" "$tput_netfront")"
echo "BENCH tunnel_vs_loopback $(ratio "$tput_tunnel" "$tput_loopback")"
if [ -f $out/cpu.tunnel.g1 ]; then
	for p in netfront tunnel loopback; do
		for d in g1 g2 Domain-0; do
			[ -f $out/cpu.$p.$d ] && echo "BENCH ${p}_cpu_$(tr -d '-' <<< "${d,,}")_pct $(median < $out/cpu.$p.$d)"
		done
	done
fi
echo "BENCH tunnel_backlog_share $backlog_share"
for kb in $RING_KBS; do
	nf=$(median < $out/sz$kb.netfront) tu=$(median < $out/sz$kb.tunnel)
	echo "BENCH tunnel_tput_mbps_${kb}k $tu"
	echo "BENCH tunnel_tput_ratio_${kb}k $(ratio "$tu" "$nf")"
	echo "BENCH tunnel_backlog_share_${kb}k $(median < $out/sz$kb.backlog)"
done
echo "BENCH tunnel_rtt_ms $rtt_tunnel"
echo "BENCH netfront_rtt_ms $rtt_netfront"
echo "BENCH tunnel_rtt_ratio $(ratio "$rtt_netfront" "$rtt_tunnel")"
echo "BENCH tunnel_rr_ms $rr_tunnel"
echo "BENCH netfront_rr_ms $rr_netfront"
echo "BENCH tunnel_rr_ratio $(ratio "$rr_netfront" "$rr_tunnel")"
echo "BENCH tunnel_rr_busy_ms $rrbusy_tunnel"
echo "BENCH netfront_rr_busy_ms $rrbusy_netfront"
echo "BENCH tunnel_rr_busy_ratio $(ratio "$rrbusy_netfront" "$rrbusy_tunnel")"
echo "BENCH guest_loopback_rr_ms $rr_loopback"
echo "BENCH tunnel_rr_busy_vs_loopback $(ratio "$rrbusy_tunnel" "$rr_loopback")"
echo "BENCH tunnel_rr_idle_ratio $(ratio "$rridle_netfront" "$rridle_tunnel")"
echo "BENCH tunnel_crr_ratio $(ratio "$crr_netfront" "$crr_tunnel")"
echo "BENCH dom0_rtt_ms $rtt_dom0"
echo "BENCH netfront_rtt_vs_dom0 $(ratio "$rtt_netfront" "$rtt_dom0")"
