/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live-patch consistency canary (kmod/canary.c): what one call of the
 * canary function records, and the invariant every call is judged by.
 * Plain C with fixed-width types, shared by the module and the unit test
 * that feeds it synthetic records (tests/unit/test_canary.c).
 *
 * An updater turns a redirection of kvmscope_canary() to its replacement
 * on and off, as livepatch does (an ftrace_ops with IPMODIFY), and while
 * it is on also turns a second, plain tracer of the same function on and
 * off, so that the call site is rewritten from one call to another: the
 * case where x86 before 5.2 skipped the call from its breakpoint handler
 * and the old body ran under a patch that claimed to be in place.  The
 * updater publishes a phase, (generation << 2) | state, before and after
 * each change; each call reads it before and after it runs.
 */
#ifndef KVMSCOPE_CANARY_H
#define KVMSCOPE_CANARY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Which body ran: each body writes its own value; the caller preset NEITHER. */
enum kvmscope_canary_body {
	KVMSCOPE_CANARY_NEITHER = 0,
	KVMSCOPE_CANARY_ORIGINAL = 1,
	KVMSCOPE_CANARY_REPLACEMENT = 2,
};

/* The low two bits of a phase. */
enum kvmscope_canary_state {
	KVMSCOPE_CANARY_OFF = 0,	/* redirection removed and the removal returned */
	KVMSCOPE_CANARY_TURNING_ON = 1,	/* being registered: either body may run */
	KVMSCOPE_CANARY_ON = 2,		/* registered and the registration returned */
	KVMSCOPE_CANARY_TURNING_OFF = 3, /* being removed: either body may run */
};

#define KVMSCOPE_CANARY_PHASE(gen, state) (((__u64)(gen) << 2) | (state))
#define KVMSCOPE_CANARY_GEN(phase) ((phase) >> 2)
#define KVMSCOPE_CANARY_STATE(phase) ((unsigned int)((phase) & 3))

enum kvmscope_canary_verdict {
	KVMSCOPE_CANARY_OK = 0,
	/* No body ran: the call was skipped (or the record is corrupt). */
	KVMSCOPE_CANARY_RAN_NEITHER = 1,
	/* The original ran wholly inside a window where the redirection was in place. */
	KVMSCOPE_CANARY_STALE_ORIGINAL = 2,
	/* The replacement ran wholly inside a window where no redirection was. */
	KVMSCOPE_CANARY_STALE_REPLACEMENT = 3,
	/* The phase went backwards between the two reads: the bookkeeping is broken. */
	KVMSCOPE_CANARY_PHASE_BACKWARDS = 4,
	KVMSCOPE_CANARY_VERDICTS
};

/* One call: what ran, and the phase read just before and just after it. */
struct kvmscope_canary_call {
	__u64 before;
	__u64 after;
	__u32 body;			/* enum kvmscope_canary_body */
	__u32 cpu;
};

/*
 * The invariant.  A call that began and ended in the same phase ran wholly
 * inside it: ON demands the replacement, OFF the original.  A call that
 * saw the phase change overlapped an update, and either body may run; a
 * call never runs neither.
 */
static inline enum kvmscope_canary_verdict
kvmscope_canary_judge(const struct kvmscope_canary_call *c)
{
	if (c->body != KVMSCOPE_CANARY_ORIGINAL && c->body != KVMSCOPE_CANARY_REPLACEMENT)
		return KVMSCOPE_CANARY_RAN_NEITHER;
	if (c->after < c->before)
		return KVMSCOPE_CANARY_PHASE_BACKWARDS;
	if (c->after != c->before)
		return KVMSCOPE_CANARY_OK;
	switch (KVMSCOPE_CANARY_STATE(c->before)) {
	case KVMSCOPE_CANARY_ON:
		return c->body == KVMSCOPE_CANARY_REPLACEMENT ? KVMSCOPE_CANARY_OK
							       : KVMSCOPE_CANARY_STALE_ORIGINAL;
	case KVMSCOPE_CANARY_OFF:
		return c->body == KVMSCOPE_CANARY_ORIGINAL ? KVMSCOPE_CANARY_OK
							    : KVMSCOPE_CANARY_STALE_REPLACEMENT;
	default:
		return KVMSCOPE_CANARY_OK;
	}
}

static inline const char *kvmscope_canary_verdict_name(unsigned int v)
{
	switch (v) {
	case KVMSCOPE_CANARY_OK: return "ok";
	case KVMSCOPE_CANARY_RAN_NEITHER: return "ran_neither";
	case KVMSCOPE_CANARY_STALE_ORIGINAL: return "stale_original";
	case KVMSCOPE_CANARY_STALE_REPLACEMENT: return "stale_replacement";
	case KVMSCOPE_CANARY_PHASE_BACKWARDS: return "phase_backwards";
	default: return "unknown";
	}
}

#endif
