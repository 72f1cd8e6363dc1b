/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ioctls capability, inside.  ioctls.c loads and attaches the BPF
 * programs (bpf/ioctls.bpf.c), reads the counts on the tick into a
 * snapshot and the launch steps from the ring; view.c answers
 * ioctls.get and launch.get and writes the Prometheus families;
 * model.c is the pure part.
 */
#ifndef KVMSCOPE_IOCTLS_INTERNAL_H
#define KVMSCOPE_IOCTLS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "bpfstats.h"
#include "capability.h"
#include "ioctls/model.h"
#include "strbuf.h"

struct manager;
struct vm;
struct ioctls_bpf;
struct ring_buffer;
struct bpf_link;

#define IOCTLS_PROBES_MAX 6

/* What is kept of one VM: its launch, and its counts once its process exited. */
struct ioctl_vm {
	uint64_t vm_id;
	uint32_t pid;
	bool exited;
	struct ioctl_table final;	/* exited: its records, sorted */
	struct launch launch;
};

struct ioctls_state {
	struct manager *m;
	struct ioctls_bpf *skel;
	bool loaded;
	char load_error[200];
	struct ioctl_cmds cmds;
	/* How the calls are seen: KVM's ioctl functions (two ways) or the syscall. */
	enum ioctl_hooks { HOOKS_SYSCALL, HOOKS_FENTRY, HOOKS_KPROBE } hooks;
	bool preempts;			/* the kernel preempts anywhere (preempt.h) */
	char hooks_note[400];		/* why these hooks and not fentry, or "" */
	/*
	 * ioctls_fast.bpf.o loaded: preemption off in the programs' bodies
	 * (bpf_preempt_disable(), Linux 6.10+); with fentry, backups too.
	 */
	bool preempt_kfunc;		/* the kernel has bpf_preempt_disable() */
	bool preempt_off;
	bool backups;			/* each fentry/fexit program has a backup beside it */
	struct {
		const char *name;
		struct bpf_link *link;
		struct bpf_link *backup_link;
		bool attached;
		char reason[240];
	} probes[IOCTLS_PROBES_MAX];
	size_t n_probes;
	struct bpfstats bpf_cost;	/* the attached programs' run time and skipped runs */
	struct ring_buffer *rb;
	sd_event_source *rb_source;
	/* The ioctl topic: every call, while subscribed (a 10 ms drain timer). */
	struct ring_buffer *stream_rb;
	sd_event_source *stream_timer;
	struct ioctl_table snap;	/* the tick's: every live VM's records, sorted */
	uint64_t drops[KVMSCOPE_IOCTL_DROP_MAX];
	struct ioctl_vm *vms;		/* sorted by vm_id */
	size_t n_vms, cap_vms;
	/* Processes that exited: their keys are deleted at the next tick. */
	uint32_t *gone;
	size_t n_gone, cap_gone;
};

/* ioctls.c */
extern const char *const ioctls_drop_names[KVMSCOPE_IOCTL_DROP_MAX];
/* The kept state of @vm, made if @create. */
struct ioctl_vm *ioctls_vm(struct ioctls_state *st, const struct vm *vm, bool create);
/* @vm's records: the snapshot's while it runs, its own after. */
const struct ioctl_record *ioctls_vm_records(struct ioctls_state *st, const struct vm *vm,
					     size_t *n);

/* view.c */
extern const struct rpc_method ioctls_methods[];
int ioctls_metrics(void *state, struct strbuf *sb);
json_t *ioctls_launch_json(struct ioctls_state *st, const struct vm *vm,
			   const struct ioctl_vm *iv);

#endif
