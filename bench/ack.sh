# SPDX-License-Identifier: GPL-2.0
# The ack service against the WAN round trip.  A 100 Mbit/s uplink with a
# 50 ms RTT (netem on both ends); the guest is a namespace behind vif3.0.
#  1. a guest with a 64 KiB send buffer: throughput without and with ack,
#     next to the link rate (what Dom0 itself gets over the same link);
#  2. a default guest over the same link with 1 % loss: goodput of sha256-
#     checked transfers without and with ack, and bytes lost;
#  3. flow completion time of 100 KB, 1 MB and 10 MB, from the sender's
#     connect() to the arrival of the last byte in the receiver's kernel
#     (bench/fct.c: process start-up, ~1 s and varying under TCG, and a
#     receiving process the emulator starves of CPU stay out of it; the
#     wall clock around both processes is printed too), from the guest (ack
#     as attached by default, dir=tx) and into the guest (ack dir=rx; the
#     remote -> Dom0 half of the link has the delay, not the rate limit);
#     ack_fct_worst_ratio is the lowest without/with ratio of the six;
#  4. "reorder": 40 ms RTT, 2 % loss, 25 % reordering, 1 % duplication, a
#     50 MiB upload without and with ack: the time, and the segments resent
#     on the WAN (with ack Dom0's and the guest's, without the guest's).
# Rows 2 and 4 give ack_rexmit_excess{_loss1,}: retransmissions with ack over
# the guest's own without, the frugality issue 18 asks for.
# Configurations alternate within each round; medians of the rounds.
# bench/ack.sh [ROUNDS=N] [ROW...]: only these rows (small loss fct
# reorder), e.g. tests/vm/run --timeout 3600 bench/ack.sh reorder; all by
# default (the environment does not reach the VM: hence arguments).
set -u
. "$TOP/tests/vm/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=${ROUNDS:-3} SECS=${SECS:-8} RATE=${RATE:-100mbit}
ROWS=
for a in "$@"; do
	case $a in ROUNDS=*) ROUNDS=${a#ROUNDS=} ;; *) ROWS="$ROWS $a" ;; esac
done
ROWS=${ROWS:-small loss fct reorder}
row() { [[ " $ROWS " == *" $1 "* ]]; }
trap topo_down EXIT
load_modules && insmod "$TOP/services/ack/netsvc_ack.ko" || exit 1
topo_up
# Every transfer is a new connection between the same two hosts: with their
# metrics caches each would start from the ssthresh and RTT the one before
# left (a HyStart exit setting the next one's slow start), whichever
# configuration that was.  Each starts afresh.
for ns in guest remote; do ip netns exec $ns sysctl -qw net.ipv4.tcp_no_metrics_save=1 || exit 1; done
sysctl -qw net.ipv4.tcp_no_metrics_save=1
# wan NETEM: the uplink, both ways, plus the rate limit toward the remote.
# The rate limit goes on a separate netem per side so that the delay queue
# does not also police the rate (netem's own rate cap is per packet).
wan() {
	tc qdisc replace dev up0 root netem $1 rate $RATE limit 10000
	ip netns exec remote tc qdisc replace dev eth0 root netem $1 limit 10000
}
wan "delay 25ms"
ip netns exec remote iperf3 -s -D >/dev/null 2>&1; listening remote 5201
out=/tmp/bench; mkdir -p $out
ack_on() { netsvcctl attach ack vif3.0 >/dev/null; }
ack_on_rx() { netsvcctl attach ack vif3.0 dir=rx >/dev/null; }
ack_off() { netsvcctl detach ack vif3.0 >/dev/null; }
lost=0
# segments the guest's TCP retransmitted so far
guest_retrans() {
	ip netns exec guest awk '$1 == "Tcp:" { if (!n++) { for (i = 1; i <= NF; i++)
		if ($i == "RetransSegs") c = i } else print $c }' /proc/net/snmp
}
# segments ack retransmitted on the vif (read before the detach)
dom0_retrans() { stat_sum vif3.0 ack rexmit_fast rexmit_rto; }
# xfer_rexmit ROW MB: one upload without ack and one with; appends the
# seconds to ROW_off/ROW_on and the WAN retransmissions to ROW_rx_off/_on.
xfer_rexmit() {
	local n=$1 b=$(($2 << 20)) g0 d
	g0=$(guest_retrans)
	xfer_secs "$b" >> $out/${n}_off
	echo $(( $(guest_retrans) - g0 )) >> $out/${n}_rx_off
	ack_on; g0=$(guest_retrans)
	xfer_secs "$b" >> $out/${n}_on
	d=$(dom0_retrans); echo $(( $(guest_retrans) - g0 + d )) >> $out/${n}_rx_on; ack_off
}

# xfer MB: seconds until the receiver has all of MB MiB; sha256 checked
# (a mismatch adds the size to $lost).
xfer_secs() {
	local bytes=$1 t0 t1 rx
	head -c "$bytes" /dev/urandom > /tmp/src
	ip netns exec remote sh -c 'socat -u TCP-LISTEN:9000,reuseaddr - | sha256sum > /tmp/dst' & rx=$!
	listening remote 9000
	t0=$(date +%s.%N)
	ip netns exec guest socat -u FILE:/tmp/src TCP:10.9.0.2:9000 || pkill -f TCP-LISTEN:9000,
	wait $rx
	t1=$(date +%s.%N)
	[ "$(sha256sum < /tmp/src | cut -d' ' -f1)" = "$(cut -d' ' -f1 < /tmp/dst)" ] || lost=$((lost + bytes))
	echo "$t1 - $t0" | bc
}

# fct_secs DIR BYTES: one transfer from the guest (tx) or into it (rx);
# sets FCT, the seconds from connect() to the last byte in the receiver's
# kernel, and WALL, the wall clock around both processes; sha256 checked.
fct_secs() {
	local bytes=$2 from=guest to=remote addr=10.9.0.2 t0 t1 rx start last
	[ "$1" = rx ] && from=remote to=guest addr=10.3.0.2
	head -c "$bytes" /dev/urandom > /tmp/src
	ip netns exec $to sh -c 'timeout 300 /tmp/fct -s 9000 2>/tmp/fct.rx | sha256sum > /tmp/dst' & rx=$!
	listening $to 9000
	t0=$(date +%s.%N)
	ip netns exec $from /tmp/fct -c $addr 9000 /tmp/src 2>/tmp/fct.tx || pkill -f 'fct -s 9000'
	wait $rx
	t1=$(date +%s.%N)
	[ "$(sha256sum < /tmp/src | cut -d' ' -f1)" = "$(cut -d' ' -f1 < /tmp/dst)" ] || lost=$((lost + bytes))
	start=$(awk '$1 == "start" { print $2 }' /tmp/fct.tx)
	last=$(awk '$1 == "first" { print $4 }' /tmp/fct.rx)
	FCT=$(echo "${last:-0} - ${start:-0}" | bc)
	WALL=$(echo "$t1 - $t0" | bc)
}
# fct_pair NAME DIR BYTES ON: without and with ack (ON attaches it), the
# order alternating by round; appends to NAME_{off,on} and NAMEw_{off,on}.
fct_pair() {
	local n=$1 d=$2 b=$3 on=$4 c
	for c in off on; do
		[ $((ROUND % 2)) = 0 ] && c=$([ $c = off ] && echo on || echo off)
		[ $c = on ] && $on
		fct_secs "$d" "$b"
		[ $c = on ] && ack_off
		echo "$FCT" >> $out/${n}_$c
		echo "$WALL" >> $out/${n}w_$c
	done
}

if row small; then
echo "--- 1. small send buffer (64 KiB), $RATE, 50 ms RTT"
ip netns exec guest sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536"
for r in $(seq "$ROUNDS"); do
	iperf3 -c 10.9.0.2 -t "$SECS" -J | jq '.end.sum_received.bits_per_second / 1e6' >> $out/link
	iperf3_mbps -c 10.9.0.2 -t "$SECS" >> $out/small_off
	ack_on; iperf3_mbps -c 10.9.0.2 -t "$SECS" >> $out/small_on; ack_off
	echo "round $r: link $(tail -n1 $out/link), without ack $(tail -n1 $out/small_off), with ack $(tail -n1 $out/small_on) Mbit/s"
done
ip netns exec guest sysctl -qw net.ipv4.tcp_wmem="4096 16384 4194304"
fi

if row loss; then
echo "--- 2. default guest, 1 % loss both ways, 10 MB transfers (sha256)"
wan "delay 25ms loss 1%"
for r in $(seq "$ROUNDS"); do
	xfer_rexmit loss1 10
	echo "scale=3; 10 * 8 * 1.048576 / $(tail -n1 $out/loss1_off)" | bc >> $out/loss_off
	echo "scale=3; 10 * 8 * 1.048576 / $(tail -n1 $out/loss1_on)" | bc >> $out/loss_on
	echo "round $r: goodput without ack $(tail -n1 $out/loss_off), with ack $(tail -n1 $out/loss_on) Mbit/s;" \
	     "retransmitted $(tail -n1 $out/loss1_rx_off), with ack $(tail -n1 $out/loss1_rx_on)"
done
fi

if row fct; then
echo "--- 3. flow completion time, no loss (connect() to the last byte; wall clock in brackets)"
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o /tmp/fct "$TOP/bench/fct.c" || exit 1
wan "delay 25ms"
for ROUND in $(seq "$ROUNDS"); do
	line="round $ROUND:"
	for sz in 100K:102400 1M:1048576 10M:10485760; do
		n=${sz%%:*} b=${sz#*:}
		fct_pair fct_$n tx "$b" ack_on
		fct_pair fctrx_$n rx "$b" ack_on_rx
		for f in fct fctrx; do
			line="$line $([ $f = fct ] && echo "$n" || echo "rx"): $(tail -n1 $out/${f}_${n}_off) [$(tail -n1 $out/${f}_${n}w_off)]"
			line="$line / $(tail -n1 $out/${f}_${n}_on) [$(tail -n1 $out/${f}_${n}w_on)];"
		done
	done
	echo "$line"
done
fi

if row reorder; then
echo "--- 4. reorder: 40 ms RTT, 2 % loss, 25 % reordering, 1 % duplication, 50 MiB"
wan "delay 20ms reorder 25% loss 2% duplicate 1%"
for r in $(seq "$ROUNDS"); do
	xfer_rexmit reorder 50
	echo "round $r: without ack $(tail -n1 $out/reorder_off) s, $(tail -n1 $out/reorder_rx_off) retransmitted;" \
	     "with ack $(tail -n1 $out/reorder_on) s, $(tail -n1 $out/reorder_rx_on) (Dom0's and the guest's)"
done
fi

m() { median < $out/$1; }
# excess ROW: WAN retransmissions with ack over the guest's own without
excess() { ratio "$(m ${1}_rx_on)" "$(m ${1}_rx_off)"; }
rexmit_line() {
	printf '%-44s %12s %12s %8s\n' "   segments retransmitted on the WAN" "$(m ${1}_rx_off)" "$(m ${1}_rx_on)" "$(excess $1)"
}
printf '\n%-44s %12s %12s %8s\n' "scenario (medians of $ROUNDS)" "without ack" "with ack" "ratio"
if row small; then
	link=$(m link) soff=$(m small_off) son=$(m small_on)
	printf '%-44s %12s\n' "link: Dom0 -> remote TCP, Mbit/s" "$link"
	printf '%-44s %12.1f %12.1f %8s\n' "1. 64 KiB send buffer, Mbit/s" "$soff" "$son" "$(ratio "$son" "$soff")"
	printf '%-44s %12s %12s %8s\n' "   with ack / link" "" "" "$(ratio "$son" "$link")"
fi
if row loss; then
	loff=$(m loss_off) lon=$(m loss_on)
	printf '%-44s %12.1f %12.1f %8s\n' "2. 1 % loss goodput, Mbit/s" "$loff" "$lon" "$(ratio "$lon" "$loff")"
	rexmit_line loss1
fi
if row reorder; then
	printf '%-44s %12.3f %12.3f %8s\n' "4. reorder, 50 MiB, s (without / with)" "$(m reorder_off)" "$(m reorder_on)" \
		"$(ratio "$(m reorder_off)" "$(m reorder_on)")"
	rexmit_line reorder
fi
worst=
fct_line() {	# LABEL FILE
	printf '%-44s %12.3f %12.3f %8s\n' "$1" "$(m ${2}_off)" "$(m ${2}_on)" "$(ratio "$(m ${2}_off)" "$(m ${2}_on)")"
}
row fct && for n in 100K 1M 10M; do
	fct_line "3. FCT $n, s (ratio: without / with)" fct_$n
	fct_line "   wall clock, processes included" fct_${n}w
done
row fct && for n in 100K 1M 10M; do
	fct_line "   FCT $n into the guest, dir=rx, s" fctrx_$n
	fct_line "   wall clock, processes included" fctrx_${n}w
done
echo "bytes lost (sha256 mismatches): $lost"
if row small; then
	echo "BENCH ack_link_mbps $link"
	echo "BENCH ack_smallbuf_link_ratio $(ratio "$son" "$link")"
	echo "BENCH ack_smallbuf_speedup $(ratio "$son" "$soff")"
fi
if row loss; then
	echo "BENCH ack_loss1_goodput_ratio $(ratio "$lon" "$loff")"
	echo "BENCH ack_rexmit_excess_loss1 $(excess loss1)"
fi
echo "BENCH ack_bytes_lost $lost"
if row fct; then
	for f in fct fctrx; do
		for n in 100K 1M 10M; do
			worst="$worst $(ratio "$(m ${f}_${n}_off)" "$(m ${f}_${n}_on)")"
		done
	done
	worst=$(echo $worst | tr ' ' '\n' | sort -g | head -n1)
	wworst=
	for f in fct fctrx; do
		for n in 100K 1M 10M; do
			wworst="$wworst $(ratio "$(m ${f}_${n}w_off)" "$(m ${f}_${n}w_on)")"
		done
	done
	echo "BENCH ack_fct_wall_worst_ratio $(echo $wworst | tr ' ' '\n' | sort -g | head -n1)"
	echo "BENCH ack_fct_1mb_ratio $(ratio "$(m fct_1M_off)" "$(m fct_1M_on)")"
	echo "BENCH ack_fct_rx_1mb_ratio $(ratio "$(m fctrx_1M_off)" "$(m fctrx_1M_on)")"
	echo "BENCH ack_fct_worst_ratio $worst"
fi
if row reorder; then
	echo "BENCH ack_rexmit_excess $(excess reorder)"
	echo "BENCH ack_reorder_speedup $(ratio "$(m reorder_off)" "$(m reorder_on)")"
fi
