/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loss recovery state of one data direction (struct ack_half), with SACK:
 * RACK-TLP (RFC 8985), a pipe-limited retransmission of what is deemed lost
 * (RFC 6675), and the detection and undo of a spurious RTO (after F-RTO,
 * RFC 5682).  ack_recovery.c holds the logic; this header only the state,
 * which ack_int.h embeds in each half.
 *
 * RACK needs the time each kept byte was last sent.  Keeping one record per
 * segment would cost as much as a scoreboard of skbs; the core keeps at most
 * RACK_RECS ranges instead, covering [una, nxt) in order, each with the
 * latest time any of its bytes was sent.  When ranges run out, the two
 * neighbours sent closest in time merge and keep both the earliest and the
 * latest time: loss detection uses the latest (a byte may look younger than
 * it is, which only delays its detection), RACK's clock and RTT samples the
 * earliest (what was delivered may not be taken for younger than it is).
 */
#ifndef _NETSVC_ACK_RECOVERY_H
#define _NETSVC_ACK_RECOVERY_H

#define RACK_RECS	32
#define RACK_HI_ROUNDS	4	/* rounds the highest RTT is kept */

/* struct ack_txrec flags */
#define R_RETX		0x1	/* sent again at t (by the core) */
#define R_LOST		0x2	/* deemed lost, waiting to be sent again */

struct ack_txrec {
	u32 end;		/* the range ends here; it starts at the previous end (or una) */
	u32 flags;		/* R_* */
	u64 t;			/* when its bytes were last sent, at the latest */
	u64 t_lo;		/* ... at the earliest (< t once merged) */
	u64 t_prev;		/* ... the time before, at the earliest (t_lo if sent once) */
};

struct ack_rack {
	struct ack_txrec rec[RACK_RECS];
	u32 nrec;
	u64 xmit_ts;		/* RACK.xmit_ts: latest send time of what was delivered */
	u32 end_seq;		/* RACK.end_seq */
	u32 fack;		/* highest SACKed or acked byte, for reordering */
	u64 rtt, min_rtt;	/* RACK.rtt; min_rtt 0: none yet */
	u64 reo_wnd;		/* the reordering window last used, ns */
	u32 reo_mult;		/* RACK.reo_wnd_mult, grown by DSACK */
	u32 reo_persist;	/* recoveries left before reo_mult resets */
	u32 reo_round_end;	/* reo_mult grows at most once until una passes it */
	u64 hi[RACK_HI_ROUNDS];	/* the highest RTT of this round and the last ones, ns */
	u32 hi_round_end;	/* this round ends when una passes it ... */
	u64 hi_round_at;	/* ... and it has lasted the reach since this */
	u64 ack_rtt;		/* the RTT sample of the ACK being processed; 0: none */
	u32 ack_delivered;	/* the bytes it delivered */
	bool reordering_seen;
	bool tlp_out;		/* a probe is out, no new one until una moves */
	bool holes;		/* the receiver's latest ACK had SACK blocks (not DSACK) */
	bool frto;		/* after an RTO: watching for a spurious one */
	bool frto_spurious;	/* the ACK being processed proved it */
	bool dsack_seen;	/* a DSACK arrived since the last window growth */
	bool ambig;		/* below ambig_end, an ACK of a copy may be the original's */
	u32 ambig_end;
	u64 reo_at, tlp_at;	/* timers: 0 = not armed */
	u64 frto_at;		/* when the RTO fired */
	/* for undo: ack_cc_save() kept the congestion state before the reduction */
	bool undo_ok;		/* a reduction happened that may be undone */
	u32 undo_retrans;	/* retransmissions not yet reported duplicate (RFC 3708) */
};

#endif /* _NETSVC_ACK_RECOVERY_H */
