// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmscope livepatch capability: each step of a livepatch transition as
 * the kernel takes it (kernel/livepatch/transition.c), so the daemon
 * times transitions to the nanosecond and misses none, where sysfs on
 * the tick sees only those that outlast a second.  fentry/fexit on the
 * transition functions every kernel since 5.x has:
 *   klp_init_transition(patch, state)   a transition begins (state 1: patch)
 *   klp_try_complete_transition()       an attempt: true when every task switched
 *   klp_reverse_transition()            the transition turns around
 *   klp_cancel_transition()             enabling failed before it started
 *   klp_force_transition()              the admin forced it
 * Rare events: no filtering, one ring.
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

/*
 * Its return value through bpf_get_func_ret() (5.17+): 6.1's verifier
 * refuses a direct read of a no-argument function's return ("doesn't
 * have 2-th argument").
 */
SEC("fexit/klp_try_complete_transition")
int kvmscope_klp_try(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	step((__u8)ret ? KVMSCOPE_KLP_COMPLETED : KVMSCOPE_KLP_TRY_FAILED);
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
