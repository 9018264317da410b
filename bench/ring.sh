# SPDX-License-Identifier: GPL-2.0
# where: host
# The tunnel ring in userspace, one process per end on CPUs 0 and 1, against
# memcpy of the same sizes, a pipe, an AF_UNIX socketpair and loopback TCP:
# throughput at 64 B .. 64 KiB and 64-byte ping-pong latency.  Medians of
# ROUNDS (default 3) runs per figure.  The goal, ring_64k_handoff_ratio >= 0.9:
# the ring against the same two copies with nothing else (slots and flags),
# the two alternating round by round.  Anything else busy on the two CPUs
# shows in the numbers: run it on an idle machine.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
make -s -C "$TOP/services/tunnel/tests" bench || exit 1
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ROUNDS=${ROUNDS:-3} "$TOP/services/tunnel/tests/build/bench_ring"
