/* SPDX-License-Identifier: GPL-2.0-only */
/* kvmscope.ko internals shared by main.c and canary.c. */
#ifndef KVMSCOPE_KMOD_INTERNAL_H
#define KVMSCOPE_KMOD_INTERNAL_H

#include <kvmscope/kmod.h>

/* Whether this kernel lets the canary run (ftrace with IPMODIFY). */
bool kvmscope_canary_supported(void);
int kvmscope_canary_start(const struct kvmscope_canary_start *req);
void kvmscope_canary_stop(void);
void kvmscope_canary_report(struct kvmscope_canary_report *rep);
/* Module exit: stop a run and release everything. */
void kvmscope_canary_exit(void);

#endif
