# SPDX-License-Identifier: GPL-2.0
# where: host
# What the number of flows ack tracks on one vif costs per packet: the core
# in userspace (services/ack/tests/bench_flows.c), a data segment and its ACK
# through ack_core_segment() plus ack_core_next_deadline(), which the glue
# calls after every core call, with 10 to 9,000 flows open.  A cost that
# grows with the table shows as the ratio to 10 flows.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
make -s -C "$TOP/services/ack/tests" bench_flows || exit 1
ROUNDS=${ROUNDS:-5} "$TOP/services/ack/tests/bench_flows"
