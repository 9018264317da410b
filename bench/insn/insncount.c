// SPDX-License-Identifier: GPL-2.0
/*
 * insncount: a QEMU TCG plugin that counts the instructions the guest
 * executes, so that a benchmark can report instructions per packet: a figure
 * that, unlike throughput under TCG, does not move with the host's load.
 *
 *   qemu-system-x86_64 -accel tcg,thread=single \
 *       -plugin file=insncount.so,out=FILE ...
 *
 * Every translation block adds its length to a counter kept per block start
 * address (one inline add per executed block, no helper call).  A guest
 * program reports by executing a marker, a NOP compilers do not emit
 * (Debian's kernel, its modules and libc hold none): "nopl
 * 0x4e5356NN(%rax,%rax,1)", bytes 0f 1f 84 00 NN 56 53 4e.  When a marker
 * executes, the plugin appends to FILE, with one write(2):
 *
 *   C <sequence> <instructions executed so far> every marker
 *   P <block address> <instructions>            NN = 01: each block that ran
 *   E                                           since the previous marker
 *
 * User space's blocks count as one, address 1: ASLR puts every process's
 * code elsewhere.  The record is in FILE before the marker completes, so the
 * guest reads it back right after (bench/insn/insnmark.h).  Counts include
 * every vCPU, kernel and user, and a block's instructions are counted when
 * it is entered, whole.  With more than one vCPU, run TCG single-threaded
 * (thread=single): the inline adds are not atomic, and multi-threaded TCG
 * would lose some (a marker's record says so when blocks were translated on
 * more than one thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The few parts of QEMU's plugin API this file uses, declared here to match
 * QEMU 7.2's ABI (include/qemu/qemu-plugin.h at v7.2.0, plugin API version 1),
 * which Debian 12's qemu-system-x86 implements but ships no header for.
 */
typedef uint64_t qemu_plugin_id_t;

typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
					      enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags,
					    void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* The marker: nopl 0x4e5356NN(%rax,%rax,1), NN the command. */
static const uint8_t marker[] = { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x56, 0x53, 0x4e };
enum { MARK_COUNT = 0x00, MARK_PROFILE = 0x01 };

/*
 * One counter per block start address.  Generated code holds the counter's
 * address, so entries never move: they come from chunks, and the open
 * addressing table points at them.  A block translated again (after a flush,
 * or cut differently) adds to the same entry.
 */
struct block {
	uint64_t vaddr;
	uint64_t insns;		/* added to by the generated code */
	uint64_t seen;		/* insns at the previous marker */
};

#define TABLE_BITS	20
#define TABLE_SIZE	(1u << TABLE_BITS)
#define CHUNK		4096

static struct block **table;
static unsigned int n_blocks;
static struct block *chunk;
static unsigned int chunk_used = CHUNK;
/* Blocks in the lower half of the address space (user space, on x86-64),
 * which ASLR scatters anew in every process, and any beyond the table. */
static struct block other = { .vaddr = 1 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int out_fd = -1;
static uint64_t seq;		/* of the markers executed */
static pthread_t trans_thread;
static bool trans_thread_set, multi_threaded;

static struct block *block_get(uint64_t vaddr)
{
	uint64_t h = vaddr * 0x9e3779b97f4a7c15ull;
	unsigned int i = h >> (64 - TABLE_BITS);
	struct block *b;

	if (!(vaddr >> 63))
		return &other;
	for (;; i = (i + 1) & (TABLE_SIZE - 1)) {
		if (!table[i])
			break;
		if (table[i]->vaddr == vaddr)
			return table[i];
	}
	if (n_blocks >= TABLE_SIZE / 4 * 3)
		return &other;
	if (chunk_used == CHUNK) {
		chunk = calloc(CHUNK, sizeof(*chunk));
		if (!chunk)
			return &other;
		chunk_used = 0;
	}
	b = &chunk[chunk_used++];
	b->vaddr = vaddr;
	table[i] = b;
	n_blocks++;
	return b;
}

/* A growing buffer for one record, written with one write(2). */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->cap - b->len < 64) {
		size_t cap = b->cap ? b->cap * 2 : 1 << 16;
		char *p = realloc(b->p, cap);

		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < b->cap - b->len)
		b->len += n;
}

static void write_all(const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

static void on_marker(unsigned int vcpu, void *udata)
{
	unsigned int cmd = (uintptr_t)udata;
	struct buf b = { 0 };
	uint64_t total = 0;
	unsigned int i;

	(void)vcpu;
	pthread_mutex_lock(&lock);
	for (i = 0; i <= TABLE_SIZE; i++)
		if (i == TABLE_SIZE || table[i])
			total += i == TABLE_SIZE ? other.insns : table[i]->insns;
	buf_printf(&b, "C %" PRIu64 " %" PRIu64 "\n", ++seq, total);
	if (multi_threaded)
		buf_printf(&b, "W multi-threaded TCG: counts are not exact\n");
	for (i = 0; i <= TABLE_SIZE; i++) {
		struct block *e = i == TABLE_SIZE ? &other : table[i];

		if (!e || e->insns == e->seen)
			continue;
		if (cmd == MARK_PROFILE)
			buf_printf(&b, "P %016" PRIx64 " %" PRIu64 "\n", e->vaddr, e->insns - e->seen);
		e->seen = e->insns;
	}
	if (cmd == MARK_PROFILE)
		buf_printf(&b, "E\n");
	pthread_mutex_unlock(&lock);
	if (b.p)
		write_all(b.p, b.len);
	free(b.p);
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	struct block *b;

	(void)id;
	pthread_mutex_lock(&lock);
	if (!trans_thread_set) {
		trans_thread = pthread_self();
		trans_thread_set = true;
	} else if (!pthread_equal(trans_thread, pthread_self())) {
		multi_threaded = true;
	}
	b = block_get(qemu_plugin_tb_vaddr(tb));
	pthread_mutex_unlock(&lock);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->insns, n);

	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *d = qemu_plugin_insn_data(insn);

		if (qemu_plugin_insn_size(insn) != sizeof(marker) ||
		    memcmp(d, marker, 4) || memcmp(d + 5, marker + 5, 3))
			continue;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS,
						       (void *)(uintptr_t)d[4]);
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	if (out_fd >= 0)
		close(out_fd);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	const char *out = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			out = argv[i] + 4;
		} else {
			fprintf(stderr, "insncount: unknown argument '%s' (have: out=FILE)\n", argv[i]);
			return -1;
		}
	}
	if (!out) {
		fprintf(stderr, "insncount: no out=FILE\n");
		return -1;
	}
	if (!info->system_emulation) {
		fprintf(stderr, "insncount: for system emulation only\n");
		return -1;
	}
	out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	table = calloc(TABLE_SIZE, sizeof(*table));
	if (out_fd < 0 || !table) {
		fprintf(stderr, "insncount: %s: %s\n", out, strerror(errno));
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
