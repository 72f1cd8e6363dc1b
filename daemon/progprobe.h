/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which BPF program types can attach on this kernel: one empty program of
 * each type (bpf/probe.bpf.c) is loaded and attached once at daemon start,
 * and the outcome is shown in `status` as "program_types".
 */
#ifndef KVMSCOPE_PROGPROBE_H
#define KVMSCOPE_PROGPROBE_H

#include <jansson.h>

/*
 * Try every program type in turn.  On success *ret is an object with one
 * key per type (tracepoint, raw_tp, tp_btf, fentry, kprobe), each
 * {"attached": bool, "error": "what failed: strerror" or null}.
 * Returns 0, or -ENOMEM; a type that does not attach is not an error.
 */
int progprobe_run(json_t **ret);

#endif
