# SPDX-License-Identifier: GPL-2.0
# What the hooks cost: TCP throughput from a guest through its vif with no
# netsvc, with netsvc loaded and idle, and with acct attached.  The three
# configurations take turns within each round so that drift in the emulator
# hits them alike; medians over the rounds.
set -u
. "$TOP/tests/vm/lib.sh"
. "$TOP/bench/lib.sh"
ROUNDS=${ROUNDS:-5} SECS=${SECS:-5}
trap topo_down EXIT
topo_up
iperf3 -s -D -B 10.3.0.1 >/dev/null 2>&1; sleep 0.5
out=/tmp/bench
mkdir -p $out
for r in $(seq "$ROUNDS"); do
	iperf3_mbps -c 10.3.0.1 -t "$SECS" >> $out/none
	insmod "$TOP/kmod/netsvc.ko" && insmod "$TOP/services/acct/netsvc_acct.ko" || exit 1
	iperf3_mbps -c 10.3.0.1 -t "$SECS" >> $out/idle
	netsvcctl attach acct vif3.0
	iperf3_mbps -c 10.3.0.1 -t "$SECS" >> $out/attached
	netsvcctl detach acct vif3.0
	rmmod netsvc_acct netsvc
	echo "round $r: none $(tail -n1 $out/none), idle $(tail -n1 $out/idle), attached $(tail -n1 $out/attached) Mbit/s"
done
none=$(median < $out/none) idle=$(median < $out/idle) att=$(median < $out/attached)
printf '\n%-24s %12s %8s\n' "guest -> dom0 TCP" "Mbit/s" "ratio"
printf '%-24s %12.0f %8s\n' "no netsvc" "$none" "1.000"
printf '%-24s %12.0f %8s\n' "netsvc loaded, idle" "$idle" "$(ratio "$idle" "$none")"
printf '%-24s %12.0f %8s\n' "acct attached" "$att" "$(ratio "$att" "$none")"
echo "(medians of $ROUNDS rounds of $SECS s, interleaved)"
echo "BENCH hook_none_mbps $none"
echo "BENCH hook_idle_ratio $(ratio "$idle" "$none")"
echo "BENCH hook_attached_ratio $(ratio "$att" "$none")"
