/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ack_core's own header: the flow and core state, and the functions its
 * files share.  ack_core.h is the interface to the glue; nothing outside
 * ack_*.c includes this one.
 *
 * Each flow has two halves (struct ack_half), one per data direction: tx
 * (the guest sends) and rx (the remote sends).  Both run the same code: keep,
 * acknowledge, retransmit, time out, fall back; only what the core emits on
 * either side's behalf differs (ack_output.c).
 *
 * The rule everything follows: the core never acknowledges a byte to a
 * sender that it has not copied, and never drops a byte a sender sent.  When
 * it cannot keep a byte (budget, memory, a sequence number it cannot explain)
 * the flow falls back: it stops acknowledging, recovers what it already
 * acknowledged, and then lets it run end to end, until its stream is
 * consistent again and it may re-enter (ack_input.c), or it ends.
 *
 * The files, by concern (as Linux splits tcp_input.c, tcp_output.c,
 * tcp_timer.c):
 *   ack_flow.c    the flow table, configuration, the core's lifetime
 *   ack_kept.c    kept bytes and early segments held: the only memory per byte
 *   ack_input.c   segments in both directions: handshake, local ACKs' trigger,
 *                 the receiver's ACKs, SACK, fallback
 *   ack_output.c  what the core emits: local ACKs, retransmissions, resets,
 *                 and the windows it advertises
 *   ack_timer.c   RTT, RTO and idle timers
 *   ack_recovery.c  loss recovery with SACK: RACK-TLP, pipe, spurious RTO undo
 *   ack_cc.c      congestion control: reno, cubic, HyStart
 */
#ifndef _NETSVC_ACK_INT_H
#define _NETSVC_ACK_INT_H

#include "ack_core.h"
#include "ack_recovery.h"
#include "ack_cc.h"

#define CHUNK_ALLOC	4096		/* the largest chunk: one page */
#define CHUNK_MIN	1024		/* the smallest: what a quiet flow costs */
/*
 * SACKed ranges remembered per half.  With 2 % random loss a 4 MiB window
 * has about 60 holes: at 64, the highest blocks were forgotten and resent
 * though the receiver had them (tests/test_sim.c, random_loss_2pct: 1 in
 * 5 retransmissions not needed; none at 128).
 */
#define MAX_SACKED	128
/*
 * The timer wheel (ack_timer.c): a flow is filed in the slot of its deadline,
 * 4.2 ms a slot (ns >> 22, about the glue's jiffy), 256 slots a turn (1.07 s);
 * a deadline further away sits in its slot and is filed again when the turn
 * comes round.  A timer visits the slots that came due, not every flow.
 */
#define WHEEL_SHIFT	22
#define WHEEL_SLOTS	256
/*
 * Runs of early data held per flow: holes in what the sender sent, not
 * segments (a vCPU descheduled with the guest's segments in its backlog
 * while the other runs on delivers a long run early).  Bytes are bounded
 * by the window given, the count by the list walks.
 */
#define MAX_HELD	64
#define MAX_SEG_LEN	(1u << 20)	/* sanity: GSO segments are <= 64 KiB */
#define DEFAULT_MSS	536
#define TS_OPT_LEN	12
#define WS_NONE		0xff

/* Flow flags */
#define F_GSYN		0x0001	/* the guest's SYN (or SYN-ACK) was seen */
#define F_RSYN		0x0002	/* the remote's SYN (or SYN-ACK) was seen */
#define F_EST		0x0004	/* both: options known, data can be acked */
#define F_SACK		0x0400	/* SACK negotiated */
#define F_TS		0x0800	/* timestamps negotiated */
#define F_GTS		0x2000	/* g_tsval holds a value */
#define F_RTS		0x4000	/* r_tsval holds a value */

/* Half flags: the state of one data direction */
#define H_FALLBACK	0x0008	/* no more local ACKs; recover, then forget */
#define H_FIN		0x0010	/* the sender sent its FIN */
#define H_GIVEN		0x0020	/* at least one local ACK was sent */
#define H_RTT		0x0040	/* timing rtt_seq since rtt_time */
#define H_RECOVERY	0x0080	/* fast recovery or loss recovery, until recover */
#define H_LOSS		0x0100	/* recovery after an RTO: all unsacked is lost */
#define H_RWIN		0x0200	/* r_ack/r_wnd describe the receiver's window */
#define H_SRTT		0x1000	/* srtt/rttvar hold a sample */
#define H_PROBE		0x8000	/* inert: copies of [probe_seq, hi) held, toward a re-entry */
#define H_TAKEN		0x10000	/* acknowledged locally from the start (dir): may re-enter */

/* IP fields remembered per direction. */
struct ack_ip {
	u8 ttl, tos;
	u32 flowlabel;
};

struct chunk {
	struct chunk *next;
	u32 len, cap;
	u8 data[];
};

#define CHUNK_HDR	((u32)sizeof(struct chunk))

/*
 * A guest segment that arrived before an earlier one: the path from the guest
 * reordered them (a multi-queue or multi-CPU receive path does).  It is passed
 * on at once; its copy waits here, not acknowledged, until the bytes below it
 * arrive, and then joins the kept data and is acknowledged with them.
 */
struct held {
	struct held *next;		/* sorted by seq, disjoint */
	u32 seq, len;
	struct chunk *data, *last;
};

/*
 * One data direction of a flow, seen from the core as the sender's stand-in:
 * tx (the guest sends, the remote receives) or rx (the reverse).  Sequence
 * numbers are the sender's; "receiver" is the other end.
 */
struct ack_half {
	u8 dir;				/* enum ack_dir of the data: tx is ACK_FROM_GUEST */
	u8 ws;				/* scale of the receiver's windows */
	u16 mss;			/* payload per retransmitted segment */
	u32 flags;			/* H_* */
	u32 una, nxt, edge, adv_edge;	/* see ack_core.h */
	u32 hi;				/* highest sender seq seen, FIN counted */
	u32 fin_seq;			/* the sender's FIN's sequence number */
	u32 r_ack, r_wnd;		/* receiver's latest ack and window (bytes) */
	u16 r_win_raw;			/* for duplicate ACK detection */
	u32 ts_recent;			/* sender's tsval of the latest kept data */
	u32 late_end;			/* rx: kept data below went to the guest before the
					 * segment that last filled a gap (see on_receiver_ack) */

	/* loss recovery and congestion control */
	u32 cwnd, ssthresh, recover, retx_hi;
	u32 dupacks, retries;
	u32 rtt_seq;
	u64 rtt_time;
	u64 srtt, rttvar, rto, rto_at;	/* rto: RFC 6298's, before backoff */
	u64 ack_due;			/* rx: an ACK of nxt owed from then (see sender_seg) */
	u32 told;			/* rx: the highest ACK the remote was given or passed */
	u32 backoff;			/* RTOs since the last new ACK */
	struct ack_sack sacked[MAX_SACKED];	/* sorted, disjoint, in (una, nxt] */
	u32 nsacked;

	/* accounting, so that the core's sums can be updated by difference */
	u32 kept, committed;
	u32 excess;			/* committed beyond the core's floor */

	/* kept bytes [una, nxt): head->data[head_off] is una */
	struct chunk *head, *tail;
	u32 head_off;
	struct held *held;		/* early segments, above nxt */
	u32 nheld;

	/* re-entry after a fallback (ack_input.c) */
	u32 probe_seq;			/* H_PROBE: where the held copies start */
	u32 reenter_seq;		/* nxt at the last re-entry */
	u32 flaps;			/* fallbacks in a row soon after a re-entry */
	bool reentered;			/* reenter_seq is valid */
	u64 reenter_at;			/* no copies toward a re-entry before this */

	struct ack_rack rack;		/* ack_recovery.c, with SACK */
	struct ack_cong cc;		/* ack_cc.c */
};

struct ack_flow {
	struct ack_flow *hnext;		/* hash chain */
	struct ack_flow *prev, *next;	/* all flows, for timers and drain */
	/* in c->waiting: a window held back by the vif budget (wpprev: NULL if not) */
	struct ack_flow *wnext, **wpprev;
	/* in c->wheel, filed for its deadline tdue (tpprev: NULL if not) */
	struct ack_flow *tnext, **tpprev;
	u64 tdue;
	struct ack_key key;
	u32 flags;			/* F_* */

	u32 g_isn, r_isn;
	u16 g_mss, r_mss;
	u8 g_wsopt, r_wsopt;
	u8 g_sack, r_sack, g_ts, r_ts;
	struct ack_ip g_ip, r_ip;

	/* each side's latest header values, for what the core sends as it */
	u32 g_ack;
	u16 g_win_raw;
	u32 g_tsval, g_tsecr;
	u32 r_ack;
	u16 r_win_raw;
	u32 r_tsval, r_tsecr;
	u64 last_active;

	struct ack_half tx, rx;
};

struct ack_core {
	struct ack_env env;
	struct ack_config cfg;
	struct ack_flow **table;
	u32 mask;
	struct ack_flow *flows;		/* list of all flows */
	u64 kept, committed;		/* both directions */
	/*
	 * The vif budget is shared fairly: every tracked half may promise up
	 * to floor bytes whatever the others hold, so that flows which came
	 * first and idle with large windows cannot starve later ones to a
	 * zero window; what a half commits beyond its floor (excess) comes
	 * out of the rest of the budget, first come first served.
	 */
	u32 floor;
	u64 reserve;			/* floor x the halves that may be tracked */
	u64 excess;			/* sum of the halves' excess */
	u64 dkept[2];			/* by enum ack_dir */
	bool draining;
	/*
	 * Flows whose window the vif budget held to less than two segments,
	 * oldest first: offered room when memory is freed (ack_offer_room()).
	 * Only these, so that freeing costs nothing per flow tracked.
	 */
	struct ack_flow *waiting, **waiting_tail;
	u32 nwaiting;
	u64 now;			/* of the call into the core being served */
	u64 soonest;			/* at or before every flow's deadline */
	struct ack_flow *wheel[WHEEL_SLOTS];
	u64 wheel_tick;			/* the first tick (ns >> WHEEL_SHIFT) not run yet */
	u64 late;			/* at or before the deadlines filed there, earlier */
	struct ack_stats st;
};

static inline bool seq_before(u32 a, u32 b)
{
	return (int)(a - b) < 0;
}

static inline bool seq_after(u32 a, u32 b)
{
	return seq_before(b, a);
}

static inline u32 seq_max(u32 a, u32 b)
{
	return seq_after(a, b) ? a : b;
}

static inline u32 seq_min(u32 a, u32 b)
{
	return seq_before(a, b) ? a : b;
}

static inline u32 umin(u32 a, u32 b)
{
	return a < b ? a : b;
}

static inline bool is_tx(const struct ack_half *h)
{
	return h->dir == ACK_FROM_GUEST;
}

static inline struct ack_flow *half_flow(struct ack_half *h)
{
	return (struct ack_flow *)((char *)h - (is_tx(h) ? offsetof(struct ack_flow, tx) :
							  offsetof(struct ack_flow, rx)));
}

static inline struct ack_dir_stats *hstats(struct ack_core *c,
					   const struct ack_half *h)
{
	return is_tx(h) ? &c->st.tx : &c->st.rx;
}

/* ack_flow.c */
void *ack_alloc(struct ack_core *c, size_t size);
void ack_free(struct ack_core *c, void *p);
void ack_key_from_seg(struct ack_key *k, const struct ack_seg *s);
struct ack_flow *ack_lookup(struct ack_core *c, const struct ack_key *k);
void ack_account(struct ack_core *c, struct ack_half *h);
void ack_free_flow(struct ack_core *c, struct ack_flow *f);
struct ack_flow *ack_new_flow(struct ack_core *c, const struct ack_key *k,
			      u64 now);

/* ack_kept.c */
void ack_release(struct ack_core *c, struct ack_half *h, u32 n);
int ack_keep(struct ack_core *c, struct ack_half *h, const struct ack_seg *s,
	     u32 off, u32 len);
void ack_drop_held(struct ack_core *c, struct ack_half *h);
int ack_hold(struct ack_core *c, struct ack_half *h, const struct ack_seg *s);
void ack_merge_held(struct ack_core *c, struct ack_half *h);
int ack_probe_copy(struct ack_core *c, struct ack_half *h,
		   const struct ack_seg *s, u32 off, u32 len);

/* ack_input.c */
void ack_fallback(struct ack_core *c, struct ack_half *h, bool count);
bool ack_maybe_finish(struct ack_core *c, struct ack_flow *f);

/* ack_output.c */
u32 ack_window_limit(struct ack_core *c, struct ack_half *h);
void ack_wait_for_room(struct ack_core *c, struct ack_flow *f);
void ack_stop_waiting(struct ack_core *c, struct ack_flow *f);
void ack_offer_room(struct ack_core *c);
u16 ack_sender_view_window(const struct ack_half *h);
void ack_send_local_ack(struct ack_core *c, struct ack_flow *f,
			struct ack_half *h);
void ack_rexmit(struct ack_core *c, struct ack_flow *f, struct ack_half *h,
		u32 max, bool force, bool rto);
u32 ack_burst(const struct ack_core *c, const struct ack_half *h);
void ack_reset_both(struct ack_core *c, struct ack_flow *f);
void ack_maybe_window_update(struct ack_core *c, struct ack_flow *f,
			     struct ack_half *h);

void ack_xmit(struct ack_core *c, struct ack_flow *f, struct ack_half *h,
	      u32 seq, u32 len, bool rto);

/* ack_recovery.c */
bool ack_rack_on(const struct ack_core *c, const struct ack_flow *f,
		 const struct ack_half *h);
void ack_rack_on_ack(struct ack_core *c, struct ack_half *h,
		     const struct ack_seg *s);
void ack_rack_after_ack(struct ack_core *c, struct ack_flow *f,
			struct ack_half *h, bool newack);
void ack_rack_kept(struct ack_core *c, struct ack_half *h);
void ack_rack_sent(struct ack_core *c, struct ack_half *h, u32 seq, u32 len);
void ack_rack_rto(struct ack_core *c, struct ack_flow *f, struct ack_half *h);
u64 ack_rack_deadline(const struct ack_half *h);
void ack_rack_timer(struct ack_core *c, struct ack_flow *f, struct ack_half *h);

/* ack_cc.c */
bool ack_cc_on(const struct ack_core *c);
void ack_cc_init(struct ack_core *c, struct ack_half *h);
void ack_cc_acked(struct ack_core *c, struct ack_half *h, u32 acked, u32 flight);
void ack_cc_rtt(struct ack_core *c, struct ack_half *h, u64 rtt);
void ack_cc_reduce(struct ack_core *c, struct ack_half *h, bool rto);
void ack_cc_recovered(struct ack_core *c, struct ack_half *h);
void ack_cc_save(struct ack_half *h);
void ack_cc_undo(struct ack_core *c, struct ack_half *h);

/* ack_timer.c */
void ack_rtt_sample(struct ack_core *c, struct ack_half *h, u64 r);
u64 ack_rto_timeout(const struct ack_core *c, const struct ack_half *h);
u64 ack_flow_deadline(const struct ack_core *c, const struct ack_flow *f);
void ack_timer_file(struct ack_core *c, struct ack_flow *f);
void ack_timer_unfile(struct ack_flow *f);
void ack_timer_refile_all(struct ack_core *c);

#endif /* _NETSVC_ACK_INT_H */
