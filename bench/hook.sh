# SPDX-License-Identifier: GPL-2.0
# What the hooks cost, for traffic from a guest through its vif: TCP
# throughput (iperf3, big GSO packets) and 64-byte UDP datagrams per second
# delivered to a Dom0 socket (the per-packet cost), with no netsvc, with
# netsvc loaded and idle, with the null service attached (the framework's own
# cost) and with acct attached.
#
# Under TCG with other emulators on the machine, throughput drifts by 2x over
# seconds, so configurations must take turns quickly.  Attaching and
# detaching patch no kernel text (netsvc holds the hook keys), so one stream
# per round runs through slots of SLOT seconds in which idle, null and acct
# take turns (backwards in even rounds), measured from the kernel's counters
# (vif3.0's rx_bytes, Udp InDatagrams).  Loading netsvc does patch text, which
# must not happen under load: "no netsvc" gets a stream of its own, before or
# after the loaded one by turns.  Ratios are medians over the rounds of each
# round's own ratio.  That comparison spans two streams, and single slots
# vary by 20 % and more (measured), so null and acct are also compared with
# idle in the same turn of the same stream (*_vs_idle_ratio: medians over
# every turn of every round), which is what the framework's and acct's own
# per-packet cost shows in.
#
# tests/vm/run bench/hook.sh DIR adds acct_base: DIR/netsvc_acct_base.ko, acct
# of another revision built under that name, to compare two builds side by side.
set -u
. "$TOP/tests/vm/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=${ROUNDS:-5} SLOT=${SLOT:-1} TURNS=${TURNS:-6} BASE=${1:-}
case $BASE in /* | "") ;; *) BASE=$TOP/$BASE ;; esac
CONFIGS="idle null acct"
[ -n "$BASE" ] && CONFIGS="$CONFIGS acct_base"
trap topo_down EXIT
topo_up
iperf3 -s -D -B 10.3.0.1 >/dev/null 2>&1; sleep 0.5
out=/tmp/bench
mkdir -p $out

load() {
	insmod "$TOP/kmod/netsvc.ko" && insmod "$TOP/services/null/netsvc_null.ko" &&
	insmod "$TOP/services/acct/netsvc_acct.ko" || return 1
	[ -z "$BASE" ] || insmod "$BASE/netsvc_acct_base.ko"
}
unload() { rmmod netsvc_acct_base netsvc_acct netsvc_null 2>/dev/null; rmmod netsvc; }
# use CONFIG: what is attached to vif3.0 is CONFIG's service, or nothing.
use() {
	local s
	for s in $(netsvcctl -j show vif3.0 | jq -r '.[].service'); do
		netsvcctl detach "$s" vif3.0
	done
	[ "$1" = idle ] || netsvcctl attach "$1" vif3.0
}
count() {
	case $1 in
	tcp) cat /sys/class/net/vif3.0/statistics/rx_bytes ;;
	udp) awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $2 }' /proc/net/snmp ;;
	esac
}
now() { date +%s.%N; }
# slots LOAD CONFIG...: one guest stream of LOAD; each CONFIG in turn for
# SLOT seconds, TURNS times over; appends the rate of each to $out/LOAD_CONFIG.
slots() {
	local load=$1 n c t0 t1 c0 c1 pid; shift
	if [ "$load" = udp ]; then
		ip netns exec guest iperf3 -c 10.3.0.1 -u -l 64 -b 0 -t 600 >/dev/null 2>&1 &
	else
		ip netns exec guest iperf3 -c 10.3.0.1 -t 600 >/dev/null 2>&1 &
	fi
	pid=$!
	sleep 1.5
	for n in $(seq "$TURNS"); do
		for c in "$@"; do
			[ "$c" = none ] || use "$c"
			c0=$(count "$load") t0=$(now)
			sleep "$SLOT"
			c1=$(count "$load") t1=$(now)
			awk -v l="$load" -v d=$((c1 - c0)) -v a="$t0" -v b="$t1" \
				'BEGIN { printf "%.0f\n", (l == "tcp" ? d * 8 / 1e6 : d) / (b - a) }' >> $out/${load}_$c.r
		done
		# Each service against idle within one turn, seconds apart.
		[ "$1" = none ] && continue
		for c in "$@"; do
			[ "$c" = idle ] || ratio "$(tail -n1 $out/${load}_$c.r)" "$(tail -n1 $out/${load}_idle.r)" >> $out/${load}_$c.pair
		done
	done
	kill "$pid"; wait "$pid" 2>/dev/null; sleep 0.5
	for c in "$@"; do median < $out/${load}_$c.r >> $out/${load}_$c; rm $out/${load}_$c.r; done
}

for r in $(seq "$ROUNDS"); do
	order=$CONFIGS
	[ $((r % 2)) -eq 0 ] && order=$(echo $CONFIGS | tr ' ' '\n' | tac | tr '\n' ' ')
	for load in tcp udp; do
		[ $((r % 2)) -eq 1 ] && slots $load none
		load || exit 1
		slots $load $order
		use idle; unload
		[ $((r % 2)) -eq 0 ] && slots $load none
	done
	line="round $r:"
	for c in none $CONFIGS; do
		line="$line $c $(tail -n1 $out/tcp_$c) Mbit/s $(tail -n1 $out/udp_$c) pps,"
		[ $c = none ] && continue
		for load in tcp udp; do
			ratio "$(tail -n1 $out/${load}_$c)" "$(tail -n1 $out/${load}_none)" >> $out/${load}_$c.ratio
		done
	done
	echo "${line%,}"
done

declare -A tcp udp tr ur
for c in none $CONFIGS; do
	tcp[$c]=$(median < $out/tcp_$c) udp[$c]=$(median < $out/udp_$c)
	if [ $c = none ]; then tr[$c]=1.000 ur[$c]=1.000; else
		tr[$c]=$(median < $out/tcp_$c.ratio | xargs printf %.3f) ur[$c]=$(median < $out/udp_$c.ratio | xargs printf %.3f); fi
done
printf '\n%-28s %10s %8s %12s %8s\n' "guest -> dom0" "TCP Mbit/s" "ratio" "64 B UDP pps" "ratio"
for c in none $CONFIGS; do
	case $c in
	none) what="no netsvc" ;; idle) what="netsvc loaded, idle" ;;
	null) what="null attached" ;; acct) what="acct attached" ;;
	acct_base) what="acct of the base build" ;;
	esac
	printf '%-28s %10.0f %8.3f %12.0f %8.3f\n' "$what" "${tcp[$c]}" "${tr[$c]}" "${udp[$c]}" "${ur[$c]}"
done
echo "(medians of $ROUNDS rounds; in each, $TURNS turns of $SLOT s slots per configuration; ratios: medians of each round's)"
# The same stream throughout: each service against idle in the same turn.
declare -A tp up
for c in null acct acct_base; do
	[ -f $out/tcp_$c.pair ] || continue
	tp[$c]=$(median < $out/tcp_$c.pair | xargs printf %.3f) up[$c]=$(median < $out/udp_$c.pair | xargs printf %.3f)
	echo "$c against idle in the same turn: TCP ${tp[$c]}, UDP pps ${up[$c]} (medians of $(wc -l < $out/tcp_$c.pair) turns)"
done
echo "BENCH hook_none_mbps ${tcp[none]}"
echo "BENCH hook_idle_ratio ${tr[idle]}"
echo "BENCH hook_noop_ratio ${tr[null]}"
echo "BENCH hook_attached_ratio ${tr[acct]}"
echo "BENCH hook_none_pps ${udp[none]}"
echo "BENCH hook_pps_idle_ratio ${ur[idle]}"
echo "BENCH hook_pps_noop_ratio ${ur[null]}"
echo "BENCH hook_pps_attached_ratio ${ur[acct]}"
echo "BENCH hook_noop_vs_idle_ratio ${tp[null]}"
echo "BENCH hook_attached_vs_idle_ratio ${tp[acct]}"
echo "BENCH hook_pps_noop_vs_idle_ratio ${up[null]}"
echo "BENCH hook_pps_attached_vs_idle_ratio ${up[acct]}"
if [ -n "$BASE" ]; then
	echo "BENCH hook_base_attached_ratio ${tr[acct_base]}"
	echo "BENCH hook_pps_base_attached_ratio ${ur[acct_base]}"
fi
