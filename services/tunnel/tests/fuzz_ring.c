// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target: the fuzzer is the hostile peer.  Each input is a script of
 * one-byte opcodes with arguments.  Some steps drive an honest end (so that
 * deep states are reachable), some scribble on the shared indices, events,
 * headers and payload, and some step the end under test.  The first byte picks
 * which end is under test: the consumer (peer = producer) or the producer
 * (peer = consumer), and the ring size: one or two pages, where short inputs
 * reach deep states, or the tunnel's 64, 256 and 512 KiB.  Shared memory is two exact-size heap blocks, so ASan
 * reports any byte read or written outside them.
 *
 * What must hold: no sanitizer report, no hang; a frame handed out lies
 * inside the ring and within the frame limit; once broken, always broken; and
 * as long as the peer has only behaved honestly, nothing is broken and every
 * frame arrives intact and in order.
 */
#include <stdlib.h>
#include "../shared/ring.h"

/* more than the frames the largest ring can hold (512 KiB / 16 B) */
#define LENS_MASK 65535u
static uint32_t lens[LENS_MASK + 1];

#define check(c) do { if (!(c)) __builtin_trap(); } while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct input *in, unsigned int bytes)
{
	uint32_t v = 0;

	while (bytes--) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

/* frame seq: its length and its bytes both follow from seq */
static uint32_t honest_len(uint32_t seq, uint32_t arg, uint32_t maxf)
{
	return 1 + (seq * 131 + arg) % maxf;
}

static uint8_t honest_byte(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 7 + i);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct input in = { buf, len };
	uint32_t mode = take(&in, 1);
	/* 4 and 8 KiB (most inputs: deep states), the tunnel's 64, 256, 512 KiB */
	static const unsigned int orders[] = { 0, 1, 0, 1, 4, 1, 6, 7 };
	unsigned int order = orders[(mode & 1) | ((mode >> 1) & 6)];
	struct ntr_shared *sh = malloc(sizeof(*sh));
	uint32_t size = ntr_ring_bytes(order);
	uint8_t *data = malloc(size);
	uint32_t maxf = 1 + take(&in, 2) % ntr_max_frame_limit(order);
	uint8_t *out = malloc(maxf);
	bool consumer_under_test = !(mode & 2), hostile = false;
	uint32_t sent = 0, got = 0;
	struct ntr_ring P, C, *dut;

	ntr_shared_reset(sh);
	memset(data, 0, size);
	check(ntr_init(&P, sh, data, order, maxf) == 0);
	check(ntr_init(&C, sh, data, order, maxf) == 0);
	dut = consumer_under_test ? &C : &P;

	while (in.n) {
		uint32_t op = take(&in, 1), a, l, rlen, i;
		const uint8_t *q;
		uint8_t *w;
		bool was_broken = ntr_broken(dut);
		int err;

		switch (op % 12) {
		case 0:		/* the producer sends a frame (honest or under test) */
			a = take(&in, 2);
			l = honest_len(sent, a, maxf);
			if (op & 0x80) {	/* the copying path */
				for (i = 0; i < l; i++)
					out[i] = honest_byte(sent, i);
				if (ntr_send(&P, out, l) == 0)
					lens[sent++ & LENS_MASK] = l;
				break;
			}
			err = ntr_reserve(&P, l, (void **)&w);
			if (err)
				break;
			check(w >= data + NTR_HDR_SIZE && w + l <= data + size);
			for (i = 0; i < l; i++)
				w[i] = honest_byte(sent, i);
			check(ntr_commit(&P, l) == 0);
			lens[sent++ & LENS_MASK] = l;
			break;
		case 1:
			ntr_push(&P);
			break;
		case 2:		/* the peer lies about its index */
			a = take(&in, 4);
			/* near the truth is where the checks are subtle */
			w = (uint8_t *)(consumer_under_test ? &sh->prod : &sh->cons);
			memcpy(&l, w, 4);
			l = op & 0x80 ? l + (a & 0xfff) : op & 0x40 ? l - (a & 0xff) * 8 : a;
			memcpy(w, &l, 4);
			hostile = true;
			break;
		case 3:		/* ... about events and closing */
			a = take(&in, 4);
			if (op & 0x80)
				sh->prod_event = a, sh->cons_event = ~a;
			else
				sh->closed = a & 1;
			hostile = true;
			break;
		case 4:		/* ... writes a frame header anywhere */
			a = take(&in, size > 65536 * NTR_HDR_SIZE ? 3 : 2) % (size / NTR_HDR_SIZE);
			l = take(&in, 4);
			memcpy(data + a * NTR_HDR_SIZE, &l, 4);
			l = take(&in, 1) & 3;
			memcpy(data + a * NTR_HDR_SIZE + 4, &l, 4);
			hostile = true;
			break;
		case 5:		/* ... or any bytes anywhere */
			a = take(&in, size > 65536 ? 3 : 2) % size;
			l = take(&in, 1);
			for (i = 0; i < l && a + i < size; i++)
				data[a + i] = (uint8_t)take(&in, 1);
			hostile = true;
			break;
		case 6:		/* the consumer looks at the next frame in place */
			err = ntr_peek(&C, (const void **)&q, &rlen);
			if (err)
				break;
			check(rlen >= 1 && rlen <= maxf);
			check(q >= data + NTR_HDR_SIZE && q + rlen <= data + size);
			a = 0;
			for (i = 0; i < rlen; i++)
				a += q[i];	/* every byte readable */
			if (!hostile) {
				check(rlen == lens[got & LENS_MASK]);
				for (i = 0; i < rlen; i++)
					check(q[i] == honest_byte(got, i));
			}
			if (op & 0x80) {
				ntr_release(&C);
				got++;
			}
			break;
		case 7:		/* the consumer copies a frame out */
			err = ntr_recv(&C, out, maxf, &rlen);
			if (!err && !hostile) {
				check(rlen == lens[got & LENS_MASK]);
				for (i = 0; i < rlen; i++)
					check(out[i] == honest_byte(got, i));
			}
			if (!err)
				got++;
			if (!err)
				check(rlen >= 1 && rlen <= maxf);
			break;
		case 8:
			ntr_pull(&C);
			break;
		case 9:
			ntr_cons_prepare_wait(&C);
			break;
		case 10:
			ntr_prod_prepare_wait(&P, 1 + take(&in, 2) % maxf);
			break;
		case 11:
			if (op & 0x80)
				ntr_close(&P);
			else if (C.cur)
				ntr_release(&C), got++;
			break;
		}
		/* broken is forever; an honest peer never breaks us */
		check(!was_broken || ntr_broken(dut));
		if (!hostile)
			check(!ntr_broken(&C) && !ntr_broken(&P));
		if (ntr_broken(dut)) {
			const void *x;

			check(ntr_peek(dut, &x, &rlen) == -EPROTO || dut == &P);
			check(ntr_reserve(dut, 1, (void **)&w) == -EPROTO || dut == &C);
		}
	}
	free(out);
	free(data);
	free(sh);
	return 0;
}
