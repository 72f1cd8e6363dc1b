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


/* Exits without BPF (exits.c); a run belongs to the open file that started it. */
struct file;
struct vm_area_struct;
bool kvmscope_exits_supported(void);
void kvmscope_exits_init(void);
int kvmscope_exits_start(struct file *file, const struct kvmscope_kexits_start *req);
int kvmscope_exits_stop(struct file *file);
int kvmscope_exits_free(struct file *file, __u32 tgid);
int kvmscope_exits_stream(struct file *file, const struct kvmscope_kexits_stream *req);
int kvmscope_exits_consumed(struct file *file, __u64 tail);
int kvmscope_exits_mmap(struct file *file, struct vm_area_struct *vma);
void kvmscope_exits_release(struct file *file);
/* Module exit: stop a run. */
void kvmscope_exits_exit(void);

#endif
