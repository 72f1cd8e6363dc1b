// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmscope livepatch capability: each step of a livepatch transition as
 * the kernel takes it (kernel/livepatch/transition.c), so the daemon
 * times transitions to the nanosecond and misses none, where sysfs on
 * the tick sees only those that outlast a second.  fentry/fexit on the
 * transition functions every kernel since 5.x has:
 *   klp_init_transition(patch, state)   a transition begins (state 1: patch)
 *   klp_try_complete_transition()       an attempt to switch the remaining tasks
 *   klp_complete_transition()           the transition is done (or cancelled)
 *   klp_reverse_transition()            the transition turns around
 *   klp_cancel_transition()             enabling failed before it started
 *   klp_force_transition()              the admin forced it
 * Rare events: no filtering, one ring.
 *
 * fentry only, never fexit: an fexit trampoline stays on the stack of the
 * worker that runs klp_try_complete_transition() while that function
 * checks the worker's own stack, which is then unreliable; a transition
 * that needs that worker switched (every reversal) never completed while
 * kvmscoped watched (lab, Debian 6.1).  An fentry trampoline has returned
 * before the function's body runs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kvmscope/livepatch.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Only what is read of struct klp_patch (CO-RE: the kernel's own layout). */
struct klp_patch___kvmscope {
	struct module *mod;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} klp_events SEC(".maps");

/* Records the ring could not take. */
__u64 klp_lost;

static __always_inline struct kvmscope_klp_event *new_event(__u32 step)
{
	struct kvmscope_klp_event *ev = bpf_ringbuf_reserve(&klp_events, sizeof(*ev), 0);

	if (!ev) {
		__sync_fetch_and_add(&klp_lost, 1);
		return NULL;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->step = step;
	ev->target = -1;
	ev->patch[0] = '\0';
	return ev;
}

static __always_inline void step(__u32 s)
{
	struct kvmscope_klp_event *ev = new_event(s);

	if (ev)
		bpf_ringbuf_submit(ev, 0);
}

SEC("fentry/klp_init_transition")
int BPF_PROG(kvmscope_klp_init, struct klp_patch___kvmscope *patch, int state)
{
	struct kvmscope_klp_event *ev = new_event(KVMSCOPE_KLP_INIT);
	struct module *mod;

	if (!ev)
		return 0;
	ev->target = state;
	mod = BPF_CORE_READ(patch, mod);
	if (mod)
		BPF_CORE_READ_STR_INTO(&ev->patch, mod, name);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("fentry/klp_try_complete_transition")
int BPF_PROG(kvmscope_klp_try)
{
	step(KVMSCOPE_KLP_TRY);
	return 0;
}

/* Static, but a function of its own in every kernel the lab runs (6.1 to 7.2). */
SEC("fentry/klp_complete_transition")
int BPF_PROG(kvmscope_klp_complete)
{
	step(KVMSCOPE_KLP_COMPLETED);
	return 0;
}

SEC("fentry/klp_reverse_transition")
int BPF_PROG(kvmscope_klp_reverse)
{
	step(KVMSCOPE_KLP_REVERSE);
	return 0;
}

SEC("fentry/klp_cancel_transition")
int BPF_PROG(kvmscope_klp_cancel)
{
	step(KVMSCOPE_KLP_CANCEL);
	return 0;
}

SEC("fentry/klp_force_transition")
int BPF_PROG(kvmscope_klp_force)
{
	step(KVMSCOPE_KLP_FORCE);
	return 0;
}
