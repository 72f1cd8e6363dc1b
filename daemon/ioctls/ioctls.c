// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioctls capability: load and attach bpf/ioctls.bpf.c, read its
 * counts on the tick into a snapshot, follow launch steps from its ring,
 * keep an exited VM's counts.  See ioctls.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "events.h"
#include "ioctls/ioctls.h"
#include "ioctls.skel.h"
#include "ioctls_fast.skel.h"
#include "log.h"
#include "manager.h"
#include "preempt.h"
#include "progprobe.h"

#define BATCH 1024

const char *const ioctls_drop_names[KVMSCOPE_IOCTL_DROP_MAX] = {
	"map_full", "ring_full", "inflight_full", "stream_full", "folded",
};

/* How often the ioctl stream's ring is drained while someone listens. */
#define STREAM_DRAIN_USEC 10000

/* ---- kept VMs ---- */

struct ioctl_vm *ioctls_vm(struct ioctls_state *st, const struct vm *vm, bool create)
{
	size_t lo = 0, hi = st->n_vms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->vms[mid].vm_id == vm->id)
			return &st->vms[mid];
		if (st->vms[mid].vm_id < vm->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!create)
		return NULL;
	if (st->n_vms == st->cap_vms) {
		size_t cap = st->cap_vms ? st->cap_vms * 2 : 16;
		struct ioctl_vm *v = realloc(st->vms, cap * sizeof(*v));

		if (!v)
			return NULL;
		st->vms = v;
		st->cap_vms = cap;
	}
	memmove(&st->vms[lo + 1], &st->vms[lo], (st->n_vms - lo) * sizeof(st->vms[0]));
	st->n_vms++;
	st->vms[lo] = (struct ioctl_vm){ .vm_id = vm->id, .pid = vm->pid };
	st->vms[lo].launch.pid = vm->pid;
	return &st->vms[lo];
}

static void ioctl_vm_release(struct ioctl_vm *iv)
{
	ioctl_table_free(&iv->final);
	launch_free(&iv->launch);
}

/* ---- reading the counts ---- */

/* Every key of ioctl_counts into @t; with @gone, the keys of those pids are deleted too. */
static int read_counts(struct ioctls_state *st, struct ioctl_table *t, struct ioctl_table *gone_t,
		       const uint32_t *gone, size_t n_gone)
{
	int fd = bpf_map__fd(st->skel->maps.ioctl_counts);
	struct kvmscope_ioctl_key *keys = calloc(BATCH, sizeof(*keys));
	struct kvmscope_ioctl_value *values = calloc(BATCH, sizeof(*values));
	struct kvmscope_ioctl_key in_batch, out_batch;
	bool first = true;
	int r = 0;

	if (!keys || !values) {
		free(keys);
		free(values);
		return -ENOMEM;
	}
	for (;;) {
		__u32 count = BATCH;

		r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, values,
					 &count, NULL);
		if (r < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			bool is_gone = false;

			for (size_t g = 0; g < n_gone; g++)
				is_gone |= gone[g] == keys[i].tgid;
			if (is_gone) {
				if (gone_t)
					ioctl_table_push(gone_t, &keys[i], &values[i]);
				bpf_map_delete_elem(fd, &keys[i]);
				/* Its share of the map goes with its keys. */
				bpf_map_delete_elem(bpf_map__fd(st->skel->maps.ioctl_vm_keys),
						    &keys[i].tgid);
			} else if (t && ioctl_table_push(t, &keys[i], &values[i]) < 0) {
				r = -ENOMEM;
				break;
			}
		}
		if (r == -ENOMEM)
			break;
		if (r < 0) {	/* ENOENT: that was the last batch */
			r = 0;
			break;
		}
		in_batch = out_batch;
		first = false;
	}
	free(keys);
	free(values);
	return r;
}

/* Processes that exited since the last look: their counts become their VM's own. */
static void flush_gone(struct ioctls_state *st)
{
	struct ioctl_table gone_t = { 0 };

	if (!st->n_gone || !st->loaded)
		return;
	if (read_counts(st, NULL, &gone_t, st->gone, st->n_gone) < 0)
		log_warning("ioctls: cannot read the counts of exited VMs");
	ioctl_table_sort(&gone_t);
	for (size_t i = 0; i < st->n_vms; i++) {
		struct ioctl_vm *iv = &st->vms[i];
		size_t first, n;

		if (!iv->exited || iv->final.n)
			continue;
		n = ioctl_table_range(&gone_t, iv->pid, &first);
		for (size_t k = 0; k < n; k++) {
			struct kvmscope_ioctl_value v = { .count = gone_t.v[first + k].count,
							  .time = gone_t.v[first + k].time };

			ioctl_table_push(&iv->final, &gone_t.v[first + k].key, &v);
		}
	}
	/* Their live records leave the snapshot. */
	{
		size_t w = 0;

		for (size_t i = 0; i < st->snap.n; i++) {
			bool is_gone = false;

			for (size_t g = 0; g < st->n_gone; g++)
				is_gone |= st->gone[g] == st->snap.v[i].key.tgid;
			if (!is_gone)
				st->snap.v[w++] = st->snap.v[i];
		}
		st->snap.n = w;
	}
	ioctl_table_free(&gone_t);
	st->n_gone = 0;
}

static const char *const *prog_names(const struct ioctls_state *st);

/* The attached programs (and backups) as status and /metrics name them: "ioctls:<probe>". */
static void track_programs(struct ioctls_state *st)
{
	const char *const *progs = prog_names(st);

	for (size_t i = 0; i < st->n_probes; i++) {
		char name[96], backup[96];

		if (!st->probes[i].attached)
			continue;
		snprintf(name, sizeof(name), "ioctls:%s", st->probes[i].name);
		if (bpfstats_track(&st->bpf_cost, name,
				   bpf_object__find_program_by_name(st->skel->obj, progs[i]),
				   st->probes[i].link) < 0)
			log_warning("ioctls: out of memory tracking the run time of %s", name);
		if (!st->probes[i].backup_link)
			continue;
		snprintf(name, sizeof(name), "ioctls:%s#backup", st->probes[i].name);
		snprintf(backup, sizeof(backup), "%s_backup", progs[i]);
		if (bpfstats_track(&st->bpf_cost, name,
				   bpf_object__find_program_by_name(st->skel->obj, backup),
				   st->probes[i].backup_link) < 0)
			log_warning("ioctls: out of memory tracking the run time of %s", name);
	}
}

static void ioctls_collect(void *state)
{
	struct ioctls_state *st = state;
	struct ioctl_table next = { 0 };

	if (!st->loaded)
		return;
	if (!st->bpf_cost.n)
		track_programs(st);
	bpfstats_read(&st->bpf_cost, BPFSTATS_SYSCTL);
	if (st->rb)
		ring_buffer__consume(st->rb);
	flush_gone(st);
	if (read_counts(st, &next, NULL, NULL, 0) < 0) {
		log_error("ioctls: cannot read the ioctl counts; keeping the previous snapshot");
		ioctl_table_free(&next);
		return;
	}
	ioctl_table_sort(&next);
	ioctl_table_free(&st->snap);
	st->snap = next;
	for (size_t i = 0; i < st->snap.n; i++) {
		uint32_t pid = st->snap.v[i].key.tgid;

		/* A process that talks to KVM is a VM (or is about to be one). */
		if ((!i || st->snap.v[i - 1].key.tgid != pid) && !manager_vm_find_live(st->m, pid))
			manager_vm_note(st->m, pid, NULL);
	}
	{
		int fd = bpf_map__fd(st->skel->maps.ioctl_drops), ncpus = libbpf_num_possible_cpus();
		uint64_t *per_cpu = ncpus > 0 ? calloc((size_t)ncpus, sizeof(*per_cpu)) : NULL;

		/* One buffer for every reason's per-CPU counters. */
		for (uint32_t k = 0; per_cpu && k < KVMSCOPE_IOCTL_DROP_MAX; k++) {
			if (bpf_map_lookup_elem(fd, &k, per_cpu) < 0)
				continue;
			st->drops[k] = 0;
			for (int c = 0; c < ncpus; c++)
				st->drops[k] += per_cpu[c];
		}
		free(per_cpu);
	}
}

const struct ioctl_record *ioctls_vm_records(struct ioctls_state *st, const struct vm *vm,
					     size_t *n)
{
	size_t first;

	flush_gone(st);
	if (vm->exited) {
		struct ioctl_vm *iv = ioctls_vm(st, vm, false);

		*n = iv ? iv->final.n : 0;
		return iv ? iv->final.v : NULL;
	}
	*n = ioctl_table_range(&st->snap, vm->pid, &first);
	return *n ? &st->snap.v[first] : NULL;
}

/* ---- launch steps ---- */

static int on_launch_step(void *ctx, void *data, size_t len)
{
	struct ioctls_state *st = ctx;
	const struct kvmscope_ioctl_event *ev = data;
	struct ioctl_vm *iv;
	struct vm *vm;

	if (len < sizeof(*ev))
		return 0;
	vm = manager_vm_find_live(st->m, ev->tgid);
	if (!vm)
		vm = manager_vm_note_at(st->m, ev->tgid, NULL, ev->ts_ns);
	iv = vm ? ioctls_vm(st, vm, true) : NULL;
	if (!iv)
		return 0;
	if (launch_add(&iv->launch, &st->cmds, ev) < 0) {
		log_warning("ioctls: out of memory for the launch of pid %u", ev->tgid);
		return 0;
	}
	{
		const struct launch_step *s = &iv->launch.steps[iv->launch.n_steps - 1];
		char name[64], result[32];

		events_hub_publish(manager_events(st->m), "launch", ev->tgid,
			json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "pid", (json_int_t)ev->tgid,
				  "step", launch_step_name(&st->cmds, iv->launch.protection, s, name,
							   sizeof(name)),
				  "result", ioctl_result_name(ev->result, result, sizeof(result)),
				  "protection", vm_protection_name(iv->launch.protection),
				  "state", iv->launch.state, "duration_ns",
				  (json_int_t)ev->duration_ns));
	}
	return 0;
}

/* One call on the ioctl topic. */
static int on_stream_event(void *ctx, void *data, size_t len)
{
	struct ioctls_state *st = ctx;
	const struct kvmscope_ioctl_event *ev = data;
	enum vm_protection p = PROTECTION_NONE;
	char name[96], sub[96], res[32], req[16];
	const char *cmd;
	struct vm *vm;

	if (len < sizeof(*ev))
		return 0;
	vm = manager_vm_find_live(st->m, ev->tgid);
	if (vm) {
		struct ioctl_vm *iv = ioctls_vm(st, vm, false);

		p = iv ? iv->launch.protection : PROTECTION_NONE;
	}
	cmd = ev->cmd == st->cmds.set_cpuid2 ? NULL :
	      ioctl_sub_name(&st->cmds, p, ev->cmd, ev->sub, sub, sizeof(sub));
	snprintf(req, sizeof(req), "0x%x", ev->cmd);
	events_hub_publish(manager_events(st->m), "ioctl", ev->tgid,
		json_pack("{s:I, s:I, s:I, s:o, s:s, s:s, s:s, s:s?, s:s, s:I}",
			  "ts_ns", (json_int_t)ev->ts_ns, "pid", (json_int_t)ev->tgid,
			  "tid", (json_int_t)ev->tid,
			  "vcpu", ev->vcpu == KVMSCOPE_VCPU_UNKNOWN ? json_null() :
				  json_integer(ev->vcpu),
			  "fd", fd_kind_name(ev->kind),
			  "ioctl", ioctl_name_or_number(ev->cmd, ev->kind, st->cmds.arch, name,
							sizeof(name)),
			  "request", req, "cmd", cmd,
			  "result", ioctl_result_name(ev->result, res, sizeof(res)),
			  "duration_ns", (json_int_t)ev->duration_ns));
	return 0;
}

static int on_stream_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ioctls_state *st = userdata;

	ring_buffer__consume(st->stream_rb);
	sd_event_source_set_time(s, usec + STREAM_DRAIN_USEC);
	sd_event_source_set_enabled(s, SD_EVENT_ON);
	return 0;
}

/* Subscriptions to the ioctl topic changed: what the kernel puts on the stream. */
static void ioctls_stream_filter(void *state, const char *topic, const struct stream_filter *f)
{
	struct ioctls_state *st = state;
	int fd;
	uint64_t now;

	if (strcmp(topic, "ioctl") || !st->loaded || !st->stream_rb)
		return;
	fd = bpf_map__fd(st->skel->maps.ioctl_stream_pids);
	if (f->mode == STREAM_OFF) {
		st->skel->bss->stream_enabled = 0;
		if (st->stream_timer)
			ring_buffer__consume(st->stream_rb);
		st->stream_timer = sd_event_source_disable_unref(st->stream_timer);
	}
	/* The kernel's pid set becomes the subscriptions' (empty unless by pid). */
	{
		uint32_t next;

		while (bpf_map_get_next_key(fd, NULL, &next) == 0 &&
		       bpf_map_delete_elem(fd, &next) == 0)
			;
		for (size_t i = 0; f->mode == STREAM_PIDS && i < f->n_pids; i++) {
			uint8_t one = 1;

			if (bpf_map_update_elem(fd, &f->pids[i], &one, BPF_ANY) < 0)
				log_warning("ioctls: cannot stream pid %u: %s", f->pids[i], strerror(errno));
		}
	}
	if (f->mode == STREAM_OFF)
		return;
	st->skel->bss->stream_all_pids = f->mode == STREAM_ALL_PIDS;
	st->skel->bss->stream_enabled = 1;
	if (st->stream_timer)
		return;
	sd_event_now(manager_event(st->m), CLOCK_MONOTONIC, &now);
	if (sd_event_add_time(manager_event(st->m), &st->stream_timer, CLOCK_MONOTONIC,
			      now + STREAM_DRAIN_USEC, 1000, on_stream_timer, st) < 0) {
		log_warning("ioctls: cannot start the ioctl stream's timer");
		st->skel->bss->stream_enabled = 0;
	}
}

static int on_ringbuf(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ioctls_state *st = userdata;

	ring_buffer__consume(st->rb);
	return 0;
}

/* ---- lifecycle ---- */

static void ioctls_free(void *state)
{
	struct ioctls_state *st = state;

	if (!st)
		return;
	sd_event_source_disable_unref(st->rb_source);
	sd_event_source_disable_unref(st->stream_timer);
	ring_buffer__free(st->rb);
	ring_buffer__free(st->stream_rb);
	for (size_t i = 0; i < st->n_probes; i++) {
		bpf_link__destroy(st->probes[i].link);
		bpf_link__destroy(st->probes[i].backup_link);
	}
	bpfstats_free(&st->bpf_cost);
	ioctls_bpf__destroy(st->skel);
	ioctl_table_free(&st->snap);
	for (size_t i = 0; i < st->n_vms; i++)
		ioctl_vm_release(&st->vms[i]);
	free(st->vms);
	free(st->gone);
	free(st);
}

/* The programs of each way to hook the ioctls, exit first (attached in this order). */
static const char *const tracepoint_progs[] = { "kvmscope_ioctls_exit", "kvmscope_ioctls_enter" };
static const char *const tracepoint_names[] = { "tracepoint/syscalls/sys_exit_ioctl",
						"tracepoint/syscalls/sys_enter_ioctl" };
static const char *const fentry_progs[] = {
	"kvmscope_ioctls_dev_exit", "kvmscope_ioctls_dev_enter", "kvmscope_ioctls_vm_exit",
	"kvmscope_ioctls_vm_enter", "kvmscope_ioctls_vcpu_exit", "kvmscope_ioctls_vcpu_enter",
};
static const char *const fentry_names[] = {
	"fexit/kvm_dev_ioctl", "fentry/kvm_dev_ioctl", "fexit/kvm_vm_ioctl",
	"fentry/kvm_vm_ioctl", "fexit/kvm_vcpu_ioctl", "fentry/kvm_vcpu_ioctl",
};
static const char *const kprobe_progs[] = {
	"kvmscope_ioctls_dev_kretprobe", "kvmscope_ioctls_dev_kprobe",
	"kvmscope_ioctls_vm_kretprobe", "kvmscope_ioctls_vm_kprobe",
	"kvmscope_ioctls_vcpu_kretprobe", "kvmscope_ioctls_vcpu_kprobe",
};
static const char *const kprobe_names[] = {
	"kretprobe.multi/kvm_dev_ioctl", "kprobe.multi/kvm_dev_ioctl",
	"kretprobe.multi/kvm_vm_ioctl", "kprobe.multi/kvm_vm_ioctl",
	"kretprobe.multi/kvm_vcpu_ioctl", "kprobe.multi/kvm_vcpu_ioctl",
};

static const char *hooks_name(enum ioctl_hooks h)
{
	return h == HOOKS_FENTRY ? "fentry" : h == HOOKS_KPROBE ? "kprobe_multi" :
	       "syscall_tracepoints";
}

/* Which of the hook kinds a program of the object belongs to, by its section. */
static enum ioctl_hooks hooks_of(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);

	if (!strncmp(sec, "fentry/", 7) || !strncmp(sec, "fexit/", 6))
		return HOOKS_FENTRY;
	if (!strncmp(sec, "kprobe", 6) || !strncmp(sec, "kretprobe", 9))
		return HOOKS_KPROBE;
	return HOOKS_SYSCALL;
}

/* The skeleton of ioctls.bpf.o, holding ioctls_fast.bpf.o's programs if @preempt_off. */
static struct ioctls_bpf *ioctls_open(bool preempt_off)
{
	struct ioctls_bpf *obj = calloc(1, sizeof(*obj));
	int err;

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	err = ioctls_bpf__create_skeleton(obj);
	if (!err && preempt_off)
		obj->skeleton->data = ioctls_fast_bpf__elf_bytes(&obj->skeleton->data_sz);
	if (!err)
		err = bpf_object__open_skeleton(obj->skeleton, NULL);
	if (err) {
		ioctls_bpf__destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

static int open_and_load_variant(struct ioctls_state *st, enum ioctl_hooks hooks);

/*
 * Open and load the object with one set of programs (@hooks): with
 * preemption off in their bodies where the kernel can, else as they are.
 */
static int open_and_load(struct ioctls_state *st, enum ioctl_hooks hooks)
{
	int r;

	st->preempt_off = st->preempt_kfunc;
	if (st->preempt_off) {
		r = open_and_load_variant(st, hooks);
		if (r >= 0)
			return r;
		log_info("ioctls: the programs with preemption off did not load (%s); "
			 "loading them without", strerror(-r));
		st->preempt_off = false;
	}
	return open_and_load_variant(st, hooks);
}

static int open_and_load_variant(struct ioctls_state *st, enum ioctl_hooks hooks)
{
	struct bpf_program *prog;
	int r;

	st->skel = ioctls_open(st->preempt_off);
	if (!st->skel)
		return -errno;
	/* The request numbers of this arch; 0 (none on this arch) matches no call. */
	st->skel->rodata->cmd_kvm_run = st->cmds.kvm_run;
	st->skel->rodata->cmd_create_vm = st->cmds.create_vm;
	st->skel->rodata->cmd_check_extension = st->cmds.check_extension;
	st->skel->rodata->cmd_enable_cap = st->cmds.enable_cap;
	st->skel->rodata->cmd_memory_encrypt_op = st->cmds.memory_encrypt_op;
	st->skel->rodata->cmd_pv_command = st->cmds.pv_command;
	st->skel->rodata->cmd_pv_cpu_command = st->cmds.pv_cpu_command;
	st->skel->rodata->cmd_arm_vcpu_init = st->cmds.arm_vcpu_init;
	st->skel->rodata->cmd_set_cpuid2 = st->cmds.set_cpuid2;
	/* fentry's programs run preemptible: each gets a backup (bpf/ioctls.bpf.c). */
	st->skel->rodata->backup_runs = st->preempt_off && hooks == HOOKS_FENTRY;
	st->skel->rodata->max_keys_per_vm = manager_options(st->m)->max_keys_per_vm;
	bpf_map__set_max_entries(st->skel->maps.ioctl_vm_keys, manager_options(st->m)->max_vms);
	bpf_object__for_each_program(prog, st->skel->obj)
		bpf_program__set_autoload(prog, hooks_of(prog) == hooks);
	r = ioctls_bpf__load(st->skel);
	if (r < 0) {
		ioctls_bpf__destroy(st->skel);
		st->skel = NULL;
	}
	return r;
}

static const char *const *probe_names(enum ioctl_hooks h)
{
	return h == HOOKS_FENTRY ? fentry_names : h == HOOKS_KPROBE ? kprobe_names :
	       tracepoint_names;
}

static const char *const *prog_names(const struct ioctls_state *st)
{
	return st->hooks == HOOKS_FENTRY ? fentry_progs : st->hooks == HOOKS_KPROBE ? kprobe_progs :
	       tracepoint_progs;
}

/*
 * Load the programs of @hooks, then the probes' names and the rings.
 * Quietly (libbpf's complaints to the debug log) where a failure is
 * expected and another way follows.
 */
static int load_hooks(struct ioctls_state *st, enum ioctl_hooks hooks, bool quiet)
{
	const char *const *names = probe_names(hooks);
	bool was_quiet = progprobe_libbpf_quiet(quiet);
	int r = open_and_load(st, hooks);

	progprobe_libbpf_quiet(was_quiet);
	st->hooks = hooks;
	st->n_probes = hooks == HOOKS_SYSCALL ? 2 : 6;
	for (size_t i = 0; i < st->n_probes; i++)
		st->probes[i] = (typeof(st->probes[i])){ .name = names[i] };
	if (r < 0) {
		snprintf(st->load_error, sizeof(st->load_error),
			 "cannot load the BPF programs: %s (see the log for the verifier)", strerror(-r));
		if (!quiet)
			log_error("ioctls: %s", st->load_error);
		return r;
	}
	st->load_error[0] = '\0';
	st->loaded = true;
	st->backups = hooks == HOOKS_FENTRY && st->preempt_off;
	st->rb = ring_buffer__new(bpf_map__fd(st->skel->maps.ioctl_events), on_launch_step, st,
				  NULL);
	if (!st->rb ||
	    sd_event_add_io(manager_event(st->m), &st->rb_source, ring_buffer__epoll_fd(st->rb),
			    EPOLLIN, on_ringbuf, st) < 0)
		log_warning("ioctls: launch steps are read on the tick only");
	st->stream_rb = ring_buffer__new(bpf_map__fd(st->skel->maps.ioctl_stream), on_stream_event,
					 st, NULL);
	if (!st->stream_rb)
		log_warning("ioctls: cannot read the ioctl stream; the ioctl topic stays empty");
	return 0;
}

/*
 * The first way of hooking the ioctls to try.  KVM's own functions,
 * where only KVM's ioctls pay: fentry/fexit, or on a kernel that
 * preempts anywhere kprobe.multi (fentry programs preempted mid-run lose
 * calls; kprobes run with preemption off).  Else the syscall tracepoints.
 */
static void choose_hooks(struct ioctls_state *st)
{
	char how[160];

	st->preempts = kernel_preempts_anywhere(how, sizeof(how)) == 1;
	/* From 6.15, kretprobe.multi keeps each call's return on its thread's stack. */
	if (st->preempts && kernel_version_at_least(6, 15) == 1) {
		if (load_hooks(st, HOOKS_KPROBE, true) == 0) {
			snprintf(st->hooks_note, sizeof(st->hooks_note),
				 "this kernel preempts anywhere (%s), where fentry programs lose calls: "
				 "kprobe.multi instead", how);
			log_info("ioctls: %s", st->hooks_note);
			return;
		}
		log_info("ioctls: kprobe.multi on kvm_*_ioctl could not load (%s); trying fentry",
			 st->load_error);
	}
	if (load_hooks(st, HOOKS_FENTRY, true) == 0)
		return;
	snprintf(st->hooks_note, sizeof(st->hooks_note),
		 "fentry/fexit on kvm_*_ioctl: %s: every ioctl of the host goes through the "
		 "syscall tracepoints", st->load_error);
	log_info("ioctls: %s", st->hooks_note);
	load_hooks(st, HOOKS_SYSCALL, false);
}

static int ioctls_probe(struct manager *m, void **state)
{
	struct ioctls_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->m = m;
	ioctl_cmds_for(&st->cmds, ioctl_arch_host());
	*state = st;
	/* Linux 6.10+ */
	st->preempt_kfunc = progprobe_kernel_has_func("bpf_preempt_disable");
	if (!manager_options(m)->ioctls) {
		snprintf(st->load_error, sizeof(st->load_error), "off (--ioctls off)");
		log_info("ioctls: %s", st->load_error);
		return 0;
	}
	choose_hooks(st);
	return 0;
}

/*
 * fentry programs can attach to a KVM function and still never run (so
 * on Debian's 6.12 for kvm_vm_ioctl: attached, no trampoline on it).  One
 * call through each hooked function, made here on a VM of our own, must
 * show up in the counts; the daemon's keys are removed after.  true when
 * all three were seen, else @why says which was not.
 */
static bool fentry_self_test(struct ioctls_state *st, char *why, size_t len)
{
	struct { const char *fn; uint8_t kind; uint32_t cmd; bool seen; } want[] = {
		{ "kvm_dev_ioctl", KVMSCOPE_FD_SYSTEM, ioctl_number("KVM_GET_API_VERSION", st->cmds.arch), false },
		{ "kvm_vm_ioctl", KVMSCOPE_FD_VM, st->cmds.check_extension, false },
		{ "kvm_vcpu_ioctl", KVMSCOPE_FD_VCPU, ioctl_number("KVM_GET_REGS", st->cmds.arch), false },
	};
	int map = bpf_map__fd(st->skel->maps.ioctl_counts), kvm, vm = -1, vcpu = -1;
	struct kvmscope_ioctl_key key, next;
	char regs[4096] = { 0 };
	bool first = true, ok = true;
	uint32_t self = (uint32_t)getpid();

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(why, len, "cannot open /dev/kvm for the self-test: %s", strerror(errno));
		return false;
	}
	ioctl(kvm, want[0].cmd, 0);
	vm = ioctl(kvm, st->cmds.create_vm, 0);
	if (vm >= 0) {
		ioctl(vm, st->cmds.check_extension, 0);
		vcpu = ioctl(vm, ioctl_number("KVM_CREATE_VCPU", st->cmds.arch), 0);
		if (vcpu >= 0)
			ioctl(vcpu, want[2].cmd, regs);
	}
	while (bpf_map_get_next_key(map, first ? NULL : &key, &next) == 0) {
		key = next;
		first = false;
		if (key.tgid != self)
			continue;
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			want[i].seen |= key.kind == want[i].kind && key.cmd == want[i].cmd;
	}
	/* Our own calls are no VM's: gone from the counts. */
	bpf_map_delete_elem(bpf_map__fd(st->skel->maps.ioctl_vm_keys), &self);
	for (first = true; bpf_map_get_next_key(map, first ? NULL : &key, &next) == 0; ) {
		if (next.tgid == self && bpf_map_delete_elem(map, &next) == 0) {
			first = true;
			continue;
		}
		key = next;
		first = false;
	}
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	close(kvm);
	if (vm < 0 || vcpu < 0) {
		snprintf(why, len, "the self-test could not make a VM and a vCPU: %s", strerror(errno));
		return false;
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]) && ok; i++)
		if (!want[i].seen) {
			snprintf(why, len, "%s on %s attached but never ran (self-test): every "
				 "ioctl of the host goes through the syscall tracepoints",
				 st->hooks == HOOKS_KPROBE ? "kprobe.multi" : "fentry/fexit", want[i].fn);
			ok = false;
		}
	return ok;
}

static int attach_loaded(struct ioctls_state *st);
static void unload(struct ioctls_state *st);

static int ioctls_attach(void *state)
{
	struct ioctls_state *st = state;
	int attached;

	if (!manager_options(st->m)->ioctls)
		return 0;
	attached = attach_loaded(st);
	/* kprobe.multi needs the kernel's fprobe: fentry where it is missing. */
	if (st->hooks == HOOKS_KPROBE && st->loaded && attached < (int)st->n_probes) {
		size_t failed = 0;

		while (failed < st->n_probes && st->probes[failed].attached)
			failed++;
		snprintf(st->hooks_note, sizeof(st->hooks_note), "this kernel preempts anywhere, where "
			 "fentry programs lose calls, but kprobe.multi did not attach (%s): "
			 "fentry/fexit with backups", st->probes[failed].reason);
		log_warning("ioctls: %s", st->hooks_note);
		unload(st);
		if (load_hooks(st, HOOKS_FENTRY, false) < 0)
			return -ENOENT;
		attached = attach_loaded(st);
	}
	if (st->hooks == HOOKS_SYSCALL || !st->loaded ||
	    fentry_self_test(st, st->hooks_note, sizeof(st->hooks_note)))
		return attached;
	/* Start again with the syscall tracepoints. */
	log_warning("ioctls: %s", st->hooks_note);
	unload(st);
	if (load_hooks(st, HOOKS_SYSCALL, false) < 0)
		return -ENOENT;
	return attach_loaded(st);
}

/* Detach and unload every program, before loading another set (at start only). */
static void unload(struct ioctls_state *st)
{
	for (size_t i = 0; i < st->n_probes; i++) {
		bpf_link__destroy(st->probes[i].link);
		bpf_link__destroy(st->probes[i].backup_link);
		st->probes[i].link = st->probes[i].backup_link = NULL;
		st->probes[i].attached = false;
	}
	bpfstats_free(&st->bpf_cost);
	sd_event_source_disable_unref(st->rb_source);
	st->rb_source = NULL;
	ring_buffer__free(st->rb);
	ring_buffer__free(st->stream_rb);
	st->rb = st->stream_rb = NULL;
	ioctls_bpf__destroy(st->skel);
	st->skel = NULL;
	st->loaded = st->backups = false;
}

/*
 * Attach @prog.  kprobe.multi by its function's name, not as a pattern:
 * libbpf would read all of /proc/kallsyms for each program (seconds in
 * the TCG lab); the kernel resolves a name itself.
 */
static struct bpf_link *attach_program(struct ioctls_state *st, struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog), *fn = strchr(sec, '/');

	if (st->hooks != HOOKS_KPROBE || !fn)
		return bpf_program__attach(prog);
	fn++;
	{
		LIBBPF_OPTS(bpf_kprobe_multi_opts, o, .syms = &fn, .cnt = 1,
			    .retprobe = !strncmp(sec, "kretprobe", 9));

		return bpf_program__attach_kprobe_multi_opts(prog, NULL, &o);
	}
}

static int attach_loaded(struct ioctls_state *st)
{
	const char *const *progs = prog_names(st);
	int attached = 0;

	if (!st->loaded) {
		for (size_t i = 0; i < st->n_probes; i++)
			snprintf(st->probes[i].reason, sizeof(st->probes[i].reason), "%s",
				 st->load_error);
		return -ENOENT;
	}
	/*
	 * Each exit before its entry: an entry without its exit would leave
	 * calls in flight.  A backup before its program: a trampoline runs
	 * the program attached last first, and the backup must run second
	 * (alone meanwhile, it does every call's work itself).
	 */
	for (size_t i = 0; i < st->n_probes; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(st->skel->obj, progs[i]);

		if (st->backups) {
			char name[80];
			struct bpf_program *backup;

			snprintf(name, sizeof(name), "%s_backup", progs[i]);
			backup = bpf_object__find_program_by_name(st->skel->obj, name);
			st->probes[i].backup_link = backup ? bpf_program__attach(backup) : NULL;
			if (!st->probes[i].backup_link)
				log_warning("ioctls: %s: cannot attach its backup program: %s; a run the "
					    "kernel skips is a call lost", st->probes[i].name,
					    strerror(errno));
		}
		st->probes[i].link = prog ? attach_program(st, prog) : NULL;
		if (!st->probes[i].link) {
			bpf_link__destroy(st->probes[i].backup_link);
			st->probes[i].backup_link = NULL;
			snprintf(st->probes[i].reason, sizeof(st->probes[i].reason),
				 "attach failed: %s", strerror(errno));
			log_warning("ioctls: %s: %s", st->probes[i].name, st->probes[i].reason);
			continue;
		}
		st->probes[i].attached = true;
		attached++;
	}
	return attached;
}

static json_t *ioctls_describe(void *state)
{
	struct ioctls_state *st = state;
	json_t *probes = json_array(), *drops = json_object();

	for (size_t i = 0; i < st->n_probes; i++)
		json_array_append_new(probes, json_pack("{s:s, s:b, s:b, s:s}", "name",
			st->probes[i].name, "attached", st->probes[i].attached, "backup",
			st->probes[i].backup_link != NULL, "reason",
			st->probes[i].attached ? "" : st->probes[i].reason));
	for (uint32_t k = 0; k < KVMSCOPE_IOCTL_DROP_MAX; k++)
		json_object_set_new(drops, ioctls_drop_names[k], json_integer((json_int_t)st->drops[k]));
	if (!st->loaded)
		bpfstats_read(&st->bpf_cost, BPFSTATS_SYSCTL);
	return json_pack("{s:b, s:s, s:s, s:s?, s:b, s:b, s:o, s:s, s:o, s:I, s:o}", "loaded", st->loaded,
			 "error", st->load_error, "hooks",
			 hooks_name(st->hooks), "hooks_note",
			 st->hooks_note[0] ? st->hooks_note : NULL, "kernel_preempts", st->preempts, "preempt_off", st->preempt_off,
			 "probes", probes, "arch",
			 st->cmds.arch == IOCTL_ARCH_ARM64 ? "arm64" :
			 st->cmds.arch == IOCTL_ARCH_S390X ? "s390x" : "x86_64",
			 "dropped", drops, "records", (json_int_t)st->snap.n, "bpf_cost",
			 bpfstats_to_json(&st->bpf_cost));
}

static const struct bpfstats *ioctls_bpf_cost(void *state)
{
	struct ioctls_state *st = state;

	return &st->bpf_cost;
}

static void ioctls_vm_exited(void *state, struct vm *vm)
{
	struct ioctls_state *st = state;
	struct ioctl_vm *iv = ioctls_vm(st, vm, true);

	if (!iv)
		return;
	iv->exited = true;
	if (st->n_gone == st->cap_gone) {
		size_t cap = st->cap_gone ? st->cap_gone * 2 : 16;
		uint32_t *g = realloc(st->gone, cap * sizeof(*g));

		if (!g)
			return;
		st->gone = g;
		st->cap_gone = cap;
	}
	st->gone[st->n_gone++] = vm->pid;
	/* Its last launch steps are on the ring. */
	if (st->rb)
		ring_buffer__consume(st->rb);
}

static void ioctls_vm_forget(void *state, struct vm *vm)
{
	struct ioctls_state *st = state;
	struct ioctl_vm *iv = ioctls_vm(st, vm, false);
	size_t pos;

	if (!iv)
		return;
	pos = (size_t)(iv - st->vms);
	ioctl_vm_release(iv);
	memmove(&st->vms[pos], &st->vms[pos + 1], (st->n_vms - pos - 1) * sizeof(st->vms[0]));
	st->n_vms--;
}

const struct capability_ops ioctls_capability = {
	.name = "ioctls",
	.probe = ioctls_probe,
	.attach = ioctls_attach,
	.collect = ioctls_collect,
	.describe = ioctls_describe,
	.metrics = ioctls_metrics,
	.bpf_cost = ioctls_bpf_cost,
	.vm_exited = ioctls_vm_exited,
	.vm_forget = ioctls_vm_forget,
	.free = ioctls_free,
	.topics = (const char *const[]){ "launch", "ioctl", NULL },
	.topics_on_request = (const char *const[]){ "ioctl", NULL },
	.stream_filter = ioctls_stream_filter,
	.methods = ioctls_methods,
};
