/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The livepatch capability's BPF side (bpf/livepatch.bpf.c): one record
 * per step of a livepatch transition, as kernel/livepatch/transition.c
 * takes it.  Fixed-width types only.
 */
#ifndef KVMSCOPE_LIVEPATCH_H
#define KVMSCOPE_LIVEPATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum kvmscope_klp_step {
	KVMSCOPE_KLP_INIT = 1,		/* klp_init_transition(patch, target) */
	KVMSCOPE_KLP_TRY,		/* klp_try_complete_transition(): an attempt */
	KVMSCOPE_KLP_COMPLETED,		/* klp_complete_transition(): every task switched */
	KVMSCOPE_KLP_REVERSE,		/* klp_reverse_transition(): the target flips */
	KVMSCOPE_KLP_CANCEL,		/* klp_cancel_transition(): enabling failed */
	KVMSCOPE_KLP_FORCE,		/* klp_force_transition(): consistency given up */
};

struct kvmscope_klp_event {
	__u64 ts_ns;			/* CLOCK_MONOTONIC */
	__u32 step;			/* enum kvmscope_klp_step */
	__s32 target;			/* INIT: 1 patch, 0 unpatch; else -1 */
	char patch[56];			/* INIT: the patch's module name; else "" */
};

#endif
