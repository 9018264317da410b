# SPDX-License-Identifier: GPL-2.0
# Helpers for benchmarks running in the VM.

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# ratio A B: A / B with 3 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b > 0 ? a / b : 0) }'; }
# iperf3_mbps ARGS...: the receiver's throughput in Mbit/s of one guest run
iperf3_mbps() {
	ip netns exec guest iperf3 -J "$@" | jq '.end.sum_received.bits_per_second / 1e6'
}
