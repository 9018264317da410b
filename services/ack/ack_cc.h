/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Congestion control state of one data direction (struct ack_half), for
 * cc=reno and cc=cubic; ack_cc.c holds the logic, ack_int.h embeds this in
 * each half.  cwnd and ssthresh stay in the half, where the window the
 * sender is offered (ack_output.c) and recovery (ack_recovery.c) read them.
 *
 * Everything is in bytes and nanoseconds, integers only: the core runs in the
 * kernel, where there is no floating point.
 */
#ifndef _NETSVC_ACK_CC_H
#define _NETSVC_ACK_CC_H

/* CUBIC (RFC 9438): the curve of the current congestion avoidance epoch. */
struct ack_cubic {
	u32 w_max;		/* W_max: the window at the last reduction */
	u32 origin;		/* the curve's plateau: w_max, or cwnd above it */
	u32 w_est;		/* W_est: what Reno would have by now */
	u64 w_est_acc;		/* W_est's remainder, in bytes * mss / 17 */
	u64 cnt_acc;		/* cwnd's remainder, in bytes * cwnd */
	u64 epoch;		/* when the epoch began, ns; 0: at the next ACK */
	u64 k;			/* ns from the epoch to the plateau (K) */
};

/*
 * A HyStart-like exit from slow start (Linux's tcp_cubic.c delay detector):
 * once the lowest of the first HYSTART_SAMPLES RTT samples of a round exceeds
 * the flow's lowest RTT by an eighth (4 to 16 ms), a queue is building at the
 * bottleneck: slow start ends there, before it overflows the queue.
 */
struct ack_hystart {
	u32 round_end;		/* the round ends when una passes it */
	u32 samples;		/* RTT samples taken in this round */
	u64 round_min;		/* the lowest of them */
	u64 min_rtt;		/* the lowest RTT ever seen; 0: none */
};

struct ack_cong {
	struct ack_cubic cubic;
	struct ack_hystart hy;
	/* before the last reduction, for undo (RFC 9438 4.9) */
	u32 prior_cwnd, prior_ssthresh;
	struct ack_cubic prior;
};

#endif /* _NETSVC_ACK_CC_H */
