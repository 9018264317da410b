# SPDX-License-Identifier: GPL-2.0
# where: xen
# The ack service's rx direction in the vSnoop setting, on the emulated Xen
# host: a remote sender in Dom0 (namespace "remote", 10 ms RTT through netem)
# downloads MB MiB into guest g1 while g1 shares its physical CPU with a
# CPU-bound guest (g2 spinning).  Both guests run in a cpupool of their own
# on pCPU 1 under the credit scheduler (Xen 4.17's default is credit2,
# whose slices are short and have no tunable length; credit's 30 ms
# timeslice is the setting vSnoop was built for), Dom0 alone on pCPU 0.
# Goodput is measured at the guest (from just before the sender starts until
# the guest has hashed the last byte: its own clock, /proc/uptime), sha256
# checked there.  Two guest profiles: the receive buffer capped at 256 KiB
# (tcp_rmem max, as many appliance and older guests run) and Linux's default;
# and the default guest with g2 idle.  Without and with `ack dir=rx`
# alternate within each round, which goes first alternating by round, every
# download a fresh connection (no TCP metrics cached); medians of ROUNDS
# rounds.
#
# Arguments (KEY=VALUE, for tests/xen/run bench/ackrx.sh ...): rounds=3
# mb=10 sched=credit|credit2 tslice=MS (credit's timeslice, default 30)
# ratelimit=US only=cap,def,idle (which rows).  To look into a figure:
# grace=US,US... adds, within each round, a download with ack at each
# rx_grace_us (its median per row after the table); detail=1 prints per
# download Dom0's clock at its start and end (to match samples taken on the
# machine, e.g. QEMU's threads), the packets netback gave g1 and what g1's
# TCP counted (nonzero /proc/net/netstat and snmp deltas).
set -u
. "$TOP/tests/xen/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=3 MB=10 SCHED=credit TSLICE= RATELIMIT= ONLY=cap,def,idle GRACE= DETAIL=0
for a; do
	case $a in
	rounds=*) ROUNDS=${a#*=} ;; mb=*) MB=${a#*=} ;; sched=*) SCHED=${a#*=} ;;
	tslice=*) TSLICE=${a#*=} ;; ratelimit=*) RATELIMIT=${a#*=} ;; only=*) ONLY=${a#*=} ;;
	grace=*) GRACE=${a#*=} ;; detail=*) DETAIL=${a#*=} ;;
	*) echo "ackrx: unknown argument $a" >&2; exit 2 ;;
	esac
done
v1=$(guest_vif g1) ip1=$(guest_ip g1)
out=/tmp/bench; rm -rf $out; mkdir -p $out
LIMIT=$((30 + MB * 8))	# seconds a download may take (1 Mbit/s would be a failure anyway)
lost=0 failed=0
row() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }

modprobe netsvc_ack || exit 1
# --- the guests' pool: pCPU 1 under $SCHED, Dom0 keeps pCPU 0
xl vcpu-pin Domain-0 all 0 > /dev/null
if ! xl cpupool-list | grep -q '^guests '; then
	xl cpupool-cpu-remove Pool-0 1 &&
	xl cpupool-create "name=\"guests\"" "sched=\"$SCHED\"" "cpus=\"1\"" > /dev/null &&
	xl cpupool-migrate g1 guests && xl cpupool-migrate g2 guests || { echo "ackrx: cannot set up the cpupool" >&2; exit 1; }
fi
if [ "$SCHED" = credit ]; then
	if [ -n "$TSLICE" ]; then
		# the ratelimit must stay below the timeslice
		r=${RATELIMIT:-$(( TSLICE * 1000 > 1000 ? 1000 : TSLICE * 500 ))}
		xl sched-credit -p guests -s -t "$TSLICE" -r "$r" || exit 1
	elif [ -n "$RATELIMIT" ]; then
		xl sched-credit -p guests -s -r "$RATELIMIT" || exit 1
	fi
	echo "scheduler (guests' pool): credit, $(xl sched-credit -p guests -s | tail -n1 | sed 's/^ *//')"
else
	[ -n "$RATELIMIT" ] && { xl sched-credit2 -p guests -s -r "$RATELIMIT" || exit 1; }
	echo "scheduler (guests' pool): credit2, $(xl sched-credit2 -p guests -s | tail -n1 | sed 's/^ *//')"
fi
xl cpupool-list
xl vcpu-list
uplink_netem "delay 5ms limit 10000"
# Every download is a new connection to the same host: with its metrics
# cache a sender would start each one from the ssthresh and RTT the one
# before left (HyStart's exit from a download without ack setting the slow
# start of the next one with it, and so on).  Each starts afresh.
ip netns exec remote sysctl -qw net.ipv4.tcp_no_metrics_save=1 || exit 1
gx g1 "echo 1 > /proc/sys/net/ipv4/tcp_no_metrics_save" || exit 1
head -c $((MB << 20)) /dev/urandom > /tmp/src.ackrx
sum=$(sha256sum < /tmp/src.ackrx | cut -d' ' -f1)

busy() {	# busy on|off: g2 spins, or not
	if [ "$1" = on ]; then
		gx g2 'sh -c "while :; do :; done" > /dev/null 2>&1 & echo $! > /tmp/busy.pid'
	else
		gx g2 'kill $(cat /tmp/busy.pid) 2> /dev/null; rm -f /tmp/busy.pid'
	fi
}
rmem() { gx g1 "echo '4096 131072 $1' > /proc/sys/net/ipv4/tcp_rmem"; }
ack() {	# ack on|off [rx_grace_us=US]
	if [ "$1" = on ]; then netsvcctl attach ack "$v1" dir=rx ${2:-} > /dev/null
	else netsvcctl detach ack "$v1" > /dev/null; fi
}
# cpu DOMAIN: its vCPU time so far, in seconds (0.1 s resolution)
cpu() { xl vcpu-list "$1" | awk 'NR > 1 { t += $6 } END { print t }'; }
# dl FILE: one download into g1; appends its goodput in Mbit/s to FILE, or
# "timeout" / "failed" when it did not finish (which fails the figure), or
# "lost" when it finished with a wrong sha256 (counted in bytes lost).
# Prints one line saying which, with g1's share of the pCPU meanwhile.  The
# end is when sha256sum ends, not the pipeline: its sleep, which keeps nc's
# stdin open, runs on.
dl() {
	local f=$1 t0 t1= got i rc c0 c1 res why
	gx g1 "rm -f /tmp/r.sha /tmp/r.end; (sleep 1000 | nc -l -p 9000 | { sha256sum > /tmp/r.sha; cut -d' ' -f1 /proc/uptime > /tmp/r.end; }) < /dev/null > /dev/null 2>&1 &
		for i in \$(seq 100); do grep -q ':2328 00000000:0000 0A' /proc/net/tcp && break; sleep 0.1; done"
	[ "$DETAIL" = 1 ] && detail_snap "$out/d0"
	c0=$(cpu g1)
	t0=$(gx g1 "cut -d' ' -f1 /proc/uptime")
	timeout "$LIMIT" ip netns exec remote socat -u FILE:/tmp/src.ackrx TCP:$ip1:9000 2> /tmp/socat.err
	rc=$?
	for i in $(seq $((2 * LIMIT))); do
		t1=$(gx g1 "cat /tmp/r.end 2> /dev/null")
		[ -n "$t1" ] && break
		[ $rc -ne 0 ] && [ $i -gt 20 ] && break
		sleep 0.5
	done
	c1=$(cpu g1)
	[ "$DETAIL" = 1 ] && detail_snap "$out/d1"
	got=$(gx g1 "cat /tmp/r.sha 2> /dev/null" | cut -d' ' -f1)
	gx g1 "busybox killall sleep 2> /dev/null"
	if [ $rc = 124 ]; then
		res=timeout why="timed out: the sender did not finish within $LIMIT s"
	elif [ $rc -ne 0 ]; then
		res=failed why="the sender failed (socat exit $rc: $(head -c 200 /tmp/socat.err))"
	elif [ -z "$t1" ]; then
		res=timeout why="timed out: sent, but the guest did not finish hashing within $LIMIT s"
	elif [ "$got" != "$sum" ]; then
		res=lost why="sha256 mismatch: received ${got:-nothing}"
		lost=$((lost + (MB << 20)))
	else
		res=$(awk -v a="$t0" -v b="$t1" -v mb="$MB" 'BEGIN { printf "%.3f", mb * 8 * 1.048576 / (b - a) }')
		why=$(awk -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" -v r="$res" \
			'BEGIN { printf "%s Mbit/s in %.2f s, g1 ran %.0f %% of it", r, b - a, 100 * (c1 - c0) / (b - a) }')
		awk -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" 'BEGIN { printf "%.0f\n", 100 * (c1 - c0) / (b - a) }' >> "$out/$f.cpu"
	fi
	case $res in timeout | failed) failed=1 ;; esac
	echo "$res" >> "$out/$f"
	echo "  $f: $why"
	[ "$DETAIL" = 1 ] && detail_print "$out/d0" "$out/d1"
	return 0
}
# detail_snap FILE: Dom0's clock, the vif's packets and bytes toward g1 and
# g1's TCP/IP counters, as "name value" lines
detail_snap() {
	{
		echo "clock $(date +%s.%N)"
		echo "vif.tx_packets $(cat /sys/class/net/$v1/statistics/tx_packets)"
		echo "vif.tx_bytes $(cat /sys/class/net/$v1/statistics/tx_bytes)"
		gx g1 "cat /proc/net/netstat /proc/net/snmp" | awk '
			$1 == last { for (i = 2; i <= NF; i++) print substr($1, 1, length($1) - 1) "." h[i], $i; next }
			{ for (i = 2; i <= NF; i++) h[i] = $i; last = $1 }'
	} > "$1"
}
# detail_print BEFORE AFTER
detail_print() {
	awk 'NR == FNR { a[$1] = $2; next }
		$1 == "clock" { printf "    Dom0 clock %.3f to %.3f\n", a[$1], $2; next }
		$1 == "vif.tx_packets" { p = $2 - a[$1]; next }
		$1 == "vif.tx_bytes" { b = $2 - a[$1]; next }
		$1 in a && $2 != a[$1] && $1 !~ /Octets|Ect0|NoECT/ { c = c sprintf(" %s=%d", $1, $2 - a[$1]) }
		END { printf "    netback to g1: %d packets, %.0f bytes each\n    g1:%s\n", p, p ? b / p : 0, c }' "$1" "$2" |
		fold -s -w 160
}
# rxstats: what Dom0's ack did for the last download
rxstats() {
	local s; s=$(netsvcctl -j show "$v1")
	echo "    ack: rx_local_acks $(jstat "$s" ack rx_local_acks) rx_acks_prompt $(jstat "$s" ack rx_acks_prompt)" \
	     "rx_kept_peak $(jstat "$s" ack rx_kept_peak)" \
	     "rx_rexmit_fast $(jstat "$s" ack rx_rexmit_fast) rx_rexmit_rto $(jstat "$s" ack rx_rexmit_rto)" \
	     "rx_acks_consumed $(jstat "$s" ack rx_acks_consumed) rx_fallbacks $(jstat "$s" ack rx_fallbacks)"
}
# dl_ack FILE [rx_grace_us=US]: one download with ack attached so
dl_ack() { ack on ${2:-}; dl "$1"; rxstats; ack off; }
pair() {	# pair NAME ROUND: without and with ack, the order alternating by round (then each grace=)
	local g
	if [ $(($2 % 2)) = 1 ]; then
		dl "$1_off"; dl_ack "$1_on"
	else
		dl_ack "$1_on"; dl "$1_off"
	fi
	for g in ${GRACE//,/ }; do
		dl_ack "$1_g$g" rx_grace_us="$g"
	done
}

# --- what bounds the figures: g1's own hashing rate (the receiver's
# sha256sum), idle and beside the spinning g2
hashrate() {
	gx g1 "a=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero bs=1M count=20 2> /dev/null | sha256sum > /dev/null;
		b=\$(cut -d' ' -f1 /proc/uptime); echo \$a \$b" | awk '{ printf "%.1f", 20 * 8 * 1.048576 / ($2 - $1) }'
}
echo "g1's sha256 rate, g2 idle: $(hashrate) Mbit/s"
busy on; echo "g1's sha256 rate, g2 busy: $(hashrate) Mbit/s"; busy off

for r in $(seq "$ROUNDS"); do
	echo "round $r ($(date +%T))"
	busy on
	if row cap; then rmem 262144; pair cap "$r"; fi
	rmem 6291456
	if row def; then pair def "$r"; fi
	busy off
	if row idle; then pair idle "$r"; fi
done
rm -f /tmp/src.ackrx

# median FILE: of the round values; empty when any download did not finish
med() {
	grep -Eq 'timeout|failed' "$out/$1" && return
	grep -v lost "$out/$1" | median
}
fig() {	# fig KEY ROW LABEL: the row's table line and its BENCH line
	local k=$1 n=$2 off on
	row "$n" || return 0
	off=$(med "${n}_off") on=$(med "${n}_on")
	printf '%-28s %10s %10s %8s %9s   rounds: %s / %s\n' "$3" "${off:-n/a}" "${on:-n/a}" \
		"$( [ -n "$off" ] && [ -n "$on" ] && ratio "$on" "$off")" \
		"$(median 2> /dev/null < "$out/${n}_off.cpu")/$(median 2> /dev/null < "$out/${n}_on.cpu")" \
		"$(paste -sd' ' "$out/${n}_off")" "$(paste -sd' ' "$out/${n}_on")"
	if [ -z "$off" ] || [ -z "$on" ]; then
		echo "FAIL $k: a download did not finish (see above): no figure" >> $out/fails
	else
		echo "BENCH $k $(ratio "$on" "$off")" >> $out/bench
	fi
}
: > $out/bench; : > $out/fails
# g1 cpu: the share of its pCPU g1 ran during the downloads, median %,
# without/with: a guest that runs all the time it may is bound by its own
# processing, not by the scheduler's delays that ack takes out
printf '%-28s %10s %10s %8s %9s\n' "download $MB MiB into g1" without with ratio "g1 cpu %"
fig ack_rx_contended_speedup cap "capped 256 KiB, g2 busy"
fig ack_rx_contended_default_ratio def "default guest, g2 busy"
fig ack_rx_idle_ratio idle "default guest, g2 idle"
for n in cap def idle; do
	row "$n" || continue
	for g in ${GRACE//,/ }; do
		printf '%-28s %10s %10s   rounds: %s\n' "  $n, rx_grace_us=$g" "" "$(med "${n}_g$g")" \
			"$(paste -sd' ' "$out/${n}_g$g")"
	done
done
cat $out/fails $out/bench
echo "BENCH ack_rx_bytes_lost $lost"
[ $failed = 0 ] && [ $lost = 0 ]
