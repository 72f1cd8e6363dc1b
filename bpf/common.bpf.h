/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small helpers every capability's BPF object uses: the log2 slot of a
 * duration and the file behind a descriptor of the current task.
 * Include after vmlinux.h and the libbpf headers.
 */
#ifndef KVMSCOPE_COMMON_BPF_H
#define KVMSCOPE_COMMON_BPF_H

#include "kvmscope/exits.h"	/* KVMSCOPE_HIST_SLOTS */

/*
 * Preemption off for a program's body (bpf_preempt_disable(), Linux
 * 6.10+), in the builds that define KVMSCOPE_PREEMPT_OFF (the *_fast
 * objects, loaded only where the kernel has it); no-ops elsewhere.
 */
#ifdef KVMSCOPE_PREEMPT_OFF
extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;
#define PREEMPT_OFF() bpf_preempt_disable()
#define PREEMPT_ON() bpf_preempt_enable()
#else
#define PREEMPT_OFF() do { } while (0)
#define PREEMPT_ON() do { } while (0)
#endif

/* The histogram slot of @v: floor(log2(v)), capped at the last slot. */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r < KVMSCOPE_HIST_SLOTS ? r : KVMSCOPE_HIST_SLOTS - 1;
}

/* The file installed at @fd of the current task, or NULL. */
static __always_inline struct file *file_of_fd(__u64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fdarr;
	struct file *file = NULL;
	unsigned int max_fds;

	max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
	if (fd >= max_fds)
		return NULL;
	fdarr = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fdarr[fd]))
		return NULL;
	return file;
}

#endif /* KVMSCOPE_COMMON_BPF_H */
