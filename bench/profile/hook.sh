# SPDX-License-Identifier: GPL-2.0
# Where the hook's per-packet time goes:
#   tests/vm/run bench/profile/hook.sh [udp|tcp] [SECS] CONFIG...
# CONFIG is idle, a service name (its module from services/NAME/), or
# NAME:MODULE.ko (a module of another build).  For each, guest -> Dom0
# traffic through vif3.0 (64-byte UDP from iperf3, or TCP) runs with the
# service attached, traced by ftrace's function_graph tracer on the functions
# of the per-packet path: calls and median time per call (a function's time
# includes what it calls, and the tracer's own overhead: compare rows and
# configurations, not absolute figures).  perf's software clock is no use
# here: under TCG it only ever samples the idle loop.  Not a benchmark
# (bench/run skips subdirectories).
set -u
. "$TOP/tests/vm/lib.sh"
mode=${1:-udp} secs=${2:-3}; shift 2
trap topo_down EXIT
topo_up
# Every module first, then the tracer, all before any traffic: enabling the
# tracer patches kernel text, which must not happen under load in TCG.
insmod "$TOP/kmod/netsvc.ko" || exit 1
for cfg in "$@"; do
	svc=${cfg%%:*} ko=${cfg#*:}
	[ "$ko" = "$cfg" ] && ko=$TOP/services/$svc/netsvc_$svc.ko
	case $ko in /*) ;; *) ko=$TOP/$ko ;; esac
	[ "$svc" = idle ] || insmod "$ko" || exit 1
done
iperf3 -s -D -B 10.3.0.1 >/dev/null 2>&1; sleep 0.5
T=/sys/kernel/debug/tracing
echo 0 > $T/tracing_on
for f in __netif_receive_skb_core.constprop.0 nf_hook_slow hook_ingress hook_egress ip_rcv \
	 udp_rcv tcp_v4_rcv __dev_queue_xmit acct_ingress acct_egress classify track_flow \
	 null_packet; do
	echo "$f" >> $T/set_ftrace_filter || exit 1
done
echo 1 > $T/options/funcgraph-tail
echo 0 > $T/options/funcgraph-irqs
echo 16384 > $T/buffer_size_kb
echo function_graph > $T/current_tracer
echo 0 > $T/tracing_on
for cfg in "$@"; do
	svc=${cfg%%:*}
	[ "$svc" = idle ] || netsvcctl attach "$svc" vif3.0 || exit 1
	if [ "$mode" = udp ]; then
		ip netns exec guest iperf3 -c 10.3.0.1 -u -l 64 -b 0 -t $((secs + 3)) >/dev/null &
	else
		ip netns exec guest iperf3 -c 10.3.0.1 -t $((secs + 3)) >/dev/null &
	fi
	sleep 1.5
	echo > $T/trace
	echo "=== $cfg ($mode)"
	echo 1 > $T/tracing_on; sleep "$secs"; echo 0 > $T/tracing_on
	wait
	# "N) 1.234 us | func();" or "N) 1.234 us | } /* func */": the median
	# time per call of each function (means are the host's preemptions of
	# the vCPUs more than anything)
	awk -F'|' '$1 ~ /us/ && ($2 ~ /\(\);/ || $2 ~ /\/\*/) {
			d = $1; gsub(/[^0-9.]/, "", d); f = $2
			gsub(/[{}();]|\/\*|\*\//, "", f); gsub(/^ +| +$/, "", f); gsub(/ +\[.*\]$/, "", f)
			print f, d
		}' $T/trace | sort -k1,1 -k2,2g |
		awk '{ v[$1, ++n[$1]] = $2 }
		     END { for (f in n) printf "%-40s %9d calls %8.2f us median\n", f, n[f], v[f, int((n[f] + 1) / 2)] }' |
		sort -k4 -gr
	[ "$svc" = idle ] || netsvcctl detach "$svc" vif3.0
done
