/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's side of bench/insn/insncount.c: execute a marker, then read
 * back what the plugin appended to its output file (the results share, seen
 * as /results/insn in the test VM).  The marker is a NOP on any x86 CPU.
 */
#ifndef _INSNMARK_H
#define _INSNMARK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

/* nopl 0x4e5356NN(%rax,%rax,1): NN 00 counts, 01 counts and profiles */
#define INSN_MARK(nn) \
	asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00, " #nn ", 0x56, 0x53, 0x4e" ::: "memory")

static inline void insn_mark(void) { INSN_MARK(0x00); }
static inline void insn_mark_profile(void) { INSN_MARK(0x01); }

/*
 * Where the next record will start: take it before the marker.  fstat, not
 * lseek: over 9p without a cache, only a getattr asks the host for the size.
 */
static inline off_t insn_out_end(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/*
 * Everything the plugin wrote from @off on, NUL-terminated, or NULL.  Read it
 * after the last marker of a measurement: reading is work the count sees.
 */
static inline char *insn_out_read(int fd, off_t off)
{
	size_t cap = 1 << 16, len = 0;
	char *p = malloc(cap), *q;
	ssize_t n;

	while (p) {
		if (cap - len < 4096) {
			q = realloc(p, cap * 2);
			if (!q)
				break;
			p = q;
			cap *= 2;
		}
		n = pread(fd, p + len, cap - len - 1, off + len);
		if (n <= 0) {
			p[len] = 0;
			return len ? p : (free(p), NULL);
		}
		len += n;
	}
	free(p);
	return NULL;
}

#endif /* _INSNMARK_H */
