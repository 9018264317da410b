// SPDX-License-Identifier: GPL-2.0
/*
 * insnmark OUT [-p]: execute a marker of bench/insn/insncount.c and print the
 * record it produced: "C <instructions so far>", and with -p the blocks
 * executed since the previous marker.  For scripts; a measured program
 * should mark itself (insnmark.h), since starting this one costs millions.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "insnmark.h"

int main(int argc, char **argv)
{
	int fd, profile = argc == 3 && !strcmp(argv[2], "-p");
	char *rec;
	off_t off;

	if (argc != 2 && !profile) {
		fprintf(stderr, "usage: insnmark OUT [-p]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	off = insn_out_end(fd);
	if (profile)
		insn_mark_profile();
	else
		insn_mark();
	rec = insn_out_read(fd, off);
	if (!rec) {
		fprintf(stderr, "insnmark: no record from the plugin (is it loaded?)\n");
		return 1;
	}
	fputs(rec, stdout);
	return 0;
}
