/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whether the kernel preempts tasks anywhere in the kernel (preempt=full
 * or lazy, PREEMPT_RT), and so inside a BPF program that runs with only
 * migration off: fentry/fexit, and tp_btf where tracepoints no longer
 * turn preemption off (Linux 6.19 or so).  A program preempted mid-run
 * makes the kernel skip its next run on that CPU (recursion_misses).
 */
#ifndef KVMSCOPE_PREEMPT_H
#define KVMSCOPE_PREEMPT_H

#include <stddef.h>

/*
 * The model the kernel runs now, from the text of
 * /sys/kernel/debug/sched/preempt ("none voluntary (full) lazy": the
 * current one in parentheses): 1 full, lazy or rt; 0 none or voluntary;
 * -1 when the text names none of them.
 */
int preempt_from_debugfs(const char *text);
/* The same from a kernel command line's last preempt= (-1: none given). */
int preempt_from_cmdline(const char *cmdline);

/*
 * This kernel's model, from debugfs, else the command line, else its
 * version (Debian's kernels after 6.18 default to lazy, before to
 * voluntary).  @how (of @len bytes) says where it was found.
 */
int kernel_preempts_anywhere(char *how, size_t len);

/* Whether the running kernel is @major.@minor or newer: 1, 0, -1 unknown. */
int kernel_version_at_least(int major, int minor);

#endif
