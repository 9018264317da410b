/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The few things ring.c needs from its environment: fixed-width types,
 * memcpy/memset, errno values, and the shared-memory accessors.  In the kernel
 * they are the usual READ_ONCE/smp_* primitives; in userspace they are GCC
 * __atomic builtins, chosen (instead of volatile plus fences) so that
 * ThreadSanitizer understands the ordering and checks the two-thread test.
 */
#ifndef NETSVC_TUNNEL_RING_SHIM_H
#define NETSVC_TUNNEL_RING_SHIM_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/compiler.h>
#include <asm/barrier.h>

#define NTR_READ_ONCE(x)		READ_ONCE(x)
#define NTR_WRITE_ONCE(x, v)		WRITE_ONCE(x, v)
/*
 * virt_*, not smp_*: the other end is another domain, which may run while
 * this kernel is built (or booted) uniprocessor.
 */
#define ntr_load_acquire(p)		virt_load_acquire(p)
#define ntr_store_release(p, v)		virt_store_release(p, v)
#define ntr_mb()			virt_mb()
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#define NTR_READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define NTR_WRITE_ONCE(x, v)		__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define ntr_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ntr_store_release(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ntr_mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#endif
