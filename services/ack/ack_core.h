/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ack_core: the portable part of the "ack" service (early TCP acknowledgement
 * in Dom0).  No kernel headers, no skb, no clock, no locks: the glue parses
 * each TCP segment into a struct ack_seg, calls ack_core_segment() under its
 * per-vif lock with the time in nanoseconds, applies the verdict to the
 * original packet and builds the packets described by the actions the core
 * emits through env->emit.
 *
 * Sequence space, for one data direction of a flow (here guest -> WAN, tx):
 *
 *     una            nxt            edge
 *      |--- kept -----|-- promised --|
 *
 * una  lowest byte the real receiver has not acknowledged,
 * nxt  end of what the guest was acknowledged locally (== end of kept data),
 * edge highest right window edge ever advertised to the guest.
 *
 * rx (WAN -> guest, ack_config.dirs) is the same with the roles swapped: the
 * remote is the sender Dom0 acknowledges, the guest the receiver, and a
 * segment the core cannot keep there goes on unacknowledged without a
 * fallback (a gap on the WAN is no reason to give the flow up).
 *
 * Everything in [una, nxt) is kept until the receiver acknowledges it; the
 * budgets cover [una, max(edge, nxt)), so a guest that respects the windows
 * the core gave it never sends a byte the core cannot keep.  (Before the first
 * local ACK the guest sends into the receiver's own window; a first flight
 * beyond the budgets makes the flow fall back, as does any byte the core
 * cannot keep: it is passed on, never dropped, and no longer acked locally,
 * until the stream is consistent again and the flow re-enters.)
 *
 * Memory: the budgets count payload bytes.  Kept bytes live in chunks of 1
 * to 4 KiB (power-of-two kmalloc sizes, 16 bytes of header each); besides
 * them a flow costs about 350 bytes and at most two partly used chunks, and
 * the flow table up to 32 KiB.
 *
 * What the glue does (all calls under one per-vif spinlock):
 *  - ingress (guest -> WAN) and egress (WAN -> guest) TCP segments: parse
 *    into struct ack_seg (linearize the payload), call ack_core_segment();
 *    PASS: accept; DROP: drop; REWRITE: write rw.ack and rw.window, NOP out
 *    the SACK option if rw.strip_sack, fix the TCP checksum, accept.
 *  - in env->emit: build the packet (or queue a description and build it
 *    after unlocking; only the XMIT_* actions' data must be copied in the
 *    callback with ack_core_copy_kept()).  ACK_TO_GUEST, XMIT_TO_GUEST and
 *    the guest half of RESET_BOTH go out through netsvc_xmit_to_guest(),
 *    ACK_TO_WAN, XMIT_TO_WAN and the WAN half of RESET_BOTH through
 *    netsvc_inject_from_guest().
 *  - a timer armed at ack_core_deadline_hint() (re-read after every call),
 *    calling ack_core_timer().
 *  - detach: ack_core_drain(), wait (quiesce) until ack_core_kept_total() is
 *    0, then ack_core_destroy().
 */
#ifndef _NETSVC_ACK_CORE_H
#define _NETSVC_ACK_CORE_H

/* The shim: the only things the core takes from its environment's headers. */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#endif

#define ACK_NO_DEADLINE		(~(u64)0)

/* TCP header flag bits, as on the wire. */
#define ACK_TCP_FIN		0x01
#define ACK_TCP_SYN		0x02
#define ACK_TCP_RST		0x04
#define ACK_TCP_PSH		0x08
#define ACK_TCP_ACK		0x10
#define ACK_TCP_URG		0x20
#define ACK_TCP_ECE		0x40
#define ACK_TCP_CWR		0x80

#define ACK_MAX_SACK		4

enum ack_dir {
	ACK_FROM_GUEST,		/* seen at the vif's ingress: guest -> WAN */
	ACK_TO_GUEST,		/* seen at the vif's egress: WAN -> guest */
};

enum ack_cc {
	ACK_CC_NONE,
	ACK_CC_RENO,
	ACK_CC_CUBIC,		/* RFC 9438, HyStart (ack_cc.c) */
};

/* Loss recovery of flows that negotiated SACK (ack_config.recovery). */
enum ack_recovery {
	ACK_REC_RACK,		/* RACK-TLP, pipe, spurious RTO undo (ack_recovery.c) */
	ACK_REC_DUPACK,		/* fast retransmit on dupacks, NewReno */
};

enum ack_verdict {
	ACK_PASS,		/* let the segment go unchanged */
	ACK_REWRITE,		/* write struct ack_rewrite's fields, fix checksums */
	ACK_DROP,		/* consumed: the guest already has this ACK */
};

struct ack_sack {
	u32 start, end;
};

/* One parsed TCP segment; addresses are 4 (AF_INET) or 16 bytes, zero padded. */
struct ack_seg {
	u8 dir;			/* enum ack_dir */
	u8 family;		/* opaque to the core: part of the flow key */
	u8 flags;		/* ACK_TCP_* */
	/* IP fields the core remembers per direction and hands back */
	u8 ttl;			/* IPv4 TTL or IPv6 hop limit */
	u8 tos;			/* IPv4 TOS or IPv6 traffic class, ECN bits included */
	u32 flowlabel;		/* IPv6 */
	u8 saddr[16], daddr[16];
	u16 sport, dport;	/* host byte order */
	u32 seq, ack;
	u16 window;		/* raw header value, unscaled */
	/* options */
	u8 has_mss, has_wscale, sack_ok, has_ts;
	u16 mss;
	u8 wscale;
	u8 nsack;		/* <= ACK_MAX_SACK */
	u32 tsval, tsecr;
	struct ack_sack sack[ACK_MAX_SACK];
	/*
	 * The payload: len bytes at payload, or, with payload NULL, fetched
	 * through env->copy_payload(ctx, payload_ctx, ...) so that the glue
	 * need not linearize a 64 KiB GSO skb (kernel: skb_copy_bits()).
	 */
	const u8 *payload;
	const void *payload_ctx;
	u32 len;
};

/* For ACK_REWRITE: the values to put into the original segment. */
struct ack_rewrite {
	u32 ack;
	u16 window;
	bool strip_sack;	/* turn the SACK option into NOPs */
};

/* Addresses of a flow: g = guest side, r = remote (WAN) side. */
struct ack_key {
	u8 family;
	u8 gaddr[16], raddr[16];
	u16 gport, rport;
};

struct ack_flow;

enum ack_action_type {
	/* remote -> guest: seq, ack, window, flags (ACK), timestamps */
	ACK_ACT_ACK_TO_GUEST,
	/*
	 * guest -> remote: a retransmission of len kept bytes from seq; fetch
	 * them with ack_core_copy_kept(a->flow, ACK_FROM_GUEST, a->seq, buf,
	 * a->len) while still in the callback.  ack/window/timestamps are the guest's latest.
	 */
	ACK_ACT_XMIT_TO_WAN,
	/*
	 * Give up on the flow: a RST (with ACK) remote -> guest with seq/ack and
	 * one guest -> remote with wan_seq/wan_ack.  The flow is freed after.
	 */
	ACK_ACT_RESET_BOTH,
	/* guest -> remote: seq, ack, window, flags (ACK), timestamps (rx) */
	ACK_ACT_ACK_TO_WAN,
	/*
	 * remote -> guest: a retransmission of len kept bytes from seq (rx);
	 * fetch them with ack_core_copy_kept(a->flow, ACK_TO_GUEST, ...).
	 */
	ACK_ACT_XMIT_TO_GUEST,
};

struct ack_action {
	u8 type;		/* enum ack_action_type */
	u8 flags;		/* ACK_TCP_* for the (first) packet */
	bool has_ts;
	/*
	 * IP fields last seen in the packet's direction (ACK_TO_GUEST: the
	 * remote's; the glue clears the ECN bits of a pure ACK).
	 */
	u8 ttl, tos;
	u32 flowlabel;
	const struct ack_key *key;	/* valid during the callback only */
	const struct ack_flow *flow;	/* valid during the callback only */
	u32 seq, ack;
	u16 window;		/* raw: already scaled for the receiving side */
	u32 tsval, tsecr;
	u32 len;		/* XMIT_TO_WAN: payload bytes */
	u32 wan_seq, wan_ack;	/* RESET_BOTH: the RST toward the WAN */
	u8 wan_ttl, wan_tos;	/* RESET_BOTH: for the RST toward the WAN */
	u32 wan_flowlabel;
};

struct ack_env {
	/* May fail (kernel: kmalloc(GFP_ATOMIC)); never called with size 0. */
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	/*
	 * Called synchronously from ack_core_segment()/ack_core_timer(); may
	 * call ack_core_copy_kept() and ack_core_flow_range(), nothing else of
	 * the core.  Build the skb here, send it after dropping the lock.
	 */
	void (*emit)(void *ctx, const struct ack_action *a);
	/* Optional: copy n payload bytes from offset off of a segment. */
	void (*copy_payload)(void *ctx, const void *payload_ctx, u32 off,
			     void *dst, u32 n);
	void *ctx;
};

/* Directions acknowledged locally (ack_config.dirs). */
#define ACK_DIR_TX		0x1	/* what the guest sends */
#define ACK_DIR_RX		0x2	/* what the guest receives */

struct ack_config {
	u32 dirs;		/* ACK_DIR_*; new flows only, a direction removed falls back */
	u32 flow_budget;	/* bytes kept + promised per flow and direction */
	u64 vif_budget;		/* bytes kept + promised per core (vif), both directions;
				 * each tracked half may take vif_budget / 2 / (flow_limit x
				 * directions), 64 KiB at most, whatever the others hold */
	u32 cc;			/* enum ack_cc */
	u32 recovery;		/* enum ack_recovery; without SACK: dupacks */
	u16 port;		/* only flows whose SYN goes to this port; 0 = all */
	u32 flow_limit;		/* tracked flows; more are passed untouched */
	u32 retry_limit;	/* RTOs in a row before resetting the flow */
	u32 dupthresh;		/* duplicate ACKs that trigger fast retransmit */
	u32 rexmit_burst;	/* segments retransmitted per event at most */
	u32 init_cwnd;		/* segments (cc=reno, cubic) */
	u64 rto_init_ns, rto_min_ns, rto_max_ns;
	u64 rx_grace_ns;	/* rx: how long the guest may stay silent with data
				 * kept before the core acknowledges in its name
				 * (0: every segment at once) */
	u64 idle_ns;		/* free a flow with nothing kept after this */
	u64 handshake_ns;	/* free a flow whose handshake is not done */
	u32 hash_seed;		/* random, against hash flooding */
};

/* Counters of one data direction (tx: guest -> WAN, rx: WAN -> guest). */
struct ack_dir_stats {
	u64 local_acks;		/* ACKs built by the core for the sender */
	u64 kept_bytes, kept_peak;
	u64 rexmit_fast;	/* segments retransmitted on dupacks / SACK */
	u64 rexmit_rto;		/* segments retransmitted on RTO */
	u64 acks_consumed;	/* receiver ACKs dropped: the sender had them */
	u64 acks_rewritten;	/* receiver segments with ack/SACK rewritten */
	u64 acks_prompt;	/* rx: the guest's ACKs passed as they were, within rx_grace */
	u64 reordered;		/* sender segments held: an earlier one was late */
	u64 unheld;		/* ... not held: too many, or no memory */
	u64 fallbacks;		/* flows handed back to end-to-end */
	u64 reentries;		/* ... and acknowledged locally again (ack_input.c) */
	/* loss recovery with SACK (ack_recovery.c) */
	u64 tlp_probes;		/* tail loss probes sent */
	u64 dsacks;		/* DSACK blocks: a copy the receiver did not need */
	u64 spurious;		/* recoveries found spurious (RTO or fast) */
	u64 undos;		/* congestion reductions and backoffs undone */
	u64 reo_wnd_us;		/* reordering window last used by a flow */
	u64 ss_exits;		/* slow starts ended by HyStart, before a loss */
};

struct ack_stats {
	u64 flows;		/* tracked now */
	u64 flows_created;
	u64 flows_untracked;	/* handshakes not tracked: table full, no memory */
	u64 resets;		/* flows reset after retry_limit RTOs */
	u64 alloc_failures;
	struct ack_dir_stats tx, rx;
};

struct ack_core;

/* Fill @cfg with the defaults (also the test suite's baseline). */
void ack_core_config_default(struct ack_config *cfg);

struct ack_core *ack_core_create(const struct ack_env *env,
				 const struct ack_config *cfg);
/* Frees every flow and every kept byte; emits nothing. */
void ack_core_destroy(struct ack_core *c);
/* Budgets, cc, port, limits; existing flows keep their learned state. */
void ack_core_reconfigure(struct ack_core *c, const struct ack_config *cfg);

enum ack_verdict ack_core_segment(struct ack_core *c, const struct ack_seg *s,
				  u64 now, struct ack_rewrite *rw);

/*
 * Earliest time ack_core_timer() has something to do; ACK_NO_DEADLINE if none.
 * Walks every flow: for tests and rare events.
 */
u64 ack_core_next_deadline(const struct ack_core *c);
/*
 * A time at or before ack_core_next_deadline(), in constant time: what a
 * timer armed after every call must fire by.  It may be earlier than needed
 * (a deadline that moved later, a flow freed since, the start of a timer
 * wheel slot).
 */
u64 ack_core_deadline_hint(const struct ack_core *c);
/* Runs what is due at @now; its cost is the flows filed for the ticks run. */
void ack_core_timer(struct ack_core *c, u64 now);
#ifndef __KERNEL__
/*
 * For the tests: every flow filed in the timer wheel once, in the slot of
 * its filed deadline (or of the first tick not run yet), filed no later than
 * its deadline.
 */
bool ack_core_timers_consistent(const struct ack_core *c);
/*
 * Tests: the memory sums match the halves' (committed, and the excess over
 * the floor), what is committed is within @budget, and every half's held
 * segments and SACKed ranges are sorted, disjoint and counted.
 */
bool ack_core_budget_consistent(const struct ack_core *c, u64 budget);
#endif

/*
 * Stop acknowledging locally (before detach): new handshakes are not tracked,
 * flows stop early-acking but kept data is still retransmitted until the
 * receivers acknowledge it.  Wait for ack_core_kept_total() == 0.
 */
void ack_core_drain(struct ack_core *c);
u64 ack_core_kept_total(const struct ack_core *c);

void ack_core_stats(const struct ack_core *c, struct ack_stats *st);

/*
 * Copy up to @len kept bytes from @seq of the data travelling in @dir (enum
 * ack_dir: ACK_FROM_GUEST for what the guest sent); returns how many.
 */
u32 ack_core_copy_kept(const struct ack_flow *f, u8 dir, u32 seq, void *dst,
		       u32 len);
/* The flow of @key, or NULL; valid until the next call into the core. */
const struct ack_flow *ack_core_lookup(struct ack_core *c,
				       const struct ack_key *key);
/* The flow's kept range [*una, *nxt) in @dir. */
void ack_core_flow_range(const struct ack_flow *f, u8 dir, u32 *una, u32 *nxt);

/*
 * Describe up to @max flows, a line per flow and per direction with data,
 * through @out (printf-like; %u for u32, %llu/%lld for 64-bit values), for a
 * person reading a stalled transfer.  Sequence numbers are relative to the
 * sender's ISN, times are relative to @now.  Returns the number of flows.
 */
typedef void (*ack_out_fn)(void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
u32 ack_core_dump(const struct ack_core *c, u64 now, u32 max, ack_out_fn out,
		  void *ctx);

#endif /* _NETSVC_ACK_CORE_H */
