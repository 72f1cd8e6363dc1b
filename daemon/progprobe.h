/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which BPF program types can attach on this kernel: one empty program of
 * each type (bpf/probe.bpf.c) is loaded and attached once at daemon start,
 * and the outcome is shown in `status` as "program_types".
 */
#ifndef KVMSCOPE_PROGPROBE_H
#define KVMSCOPE_PROGPROBE_H

#include <stdbool.h>
#include <jansson.h>

/*
 * Try every program type in turn.  On success *ret is an object with one
 * key per type (tracepoint, raw_tp, tp_btf, fentry, kprobe), each
 * {"attached": bool, "error": "what failed: strerror" or null}.
 * Returns 0, or -ENOMEM; a type that does not attach is not an error.
 */
int progprobe_run(json_t **ret);

/*
 * libbpf's messages into the daemon's log, one line each (a failed load
 * hands over the whole verifier log in one message).  The manager
 * installs it before any capability loads.
 */
void progprobe_libbpf_log_install(void);
/*
 * While a capability tries what has a fallback, libbpf's warnings go to
 * the debug log only.  Returns the previous setting, to restore.
 */
bool progprobe_libbpf_quiet(bool quiet);

/* Does the kernel's BTF have function (or kfunc) @name: bpf_rdonly_cast, bpf_preempt_disable? */
bool progprobe_kernel_has_func(const char *name);

#endif
