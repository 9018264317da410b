# SPDX-License-Identifier: GPL-2.0
# where: host
# What the number of flows ack tracks on one vif costs per packet: the core
# in userspace (services/ack/tests/bench_flows.c), a data segment and its ACK
# through ack_core_segment() plus the deadline the glue asks for after every
# core call (the constant-time hint, and the walk it replaced), with 10 to
# 9,000 flows open, and again with the vif budget full so that every ACK
# frees room to offer to held-back flows; and the cost of a timer call every
# 4 ms with every flow's retransmission timer running.  A cost that grows
# with the table shows as the ratio to 10 flows.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
make -s -C "$TOP/services/ack/tests" bench_flows || exit 1
ROUNDS=${ROUNDS:-5} "$TOP/services/ack/tests/bench_flows"
