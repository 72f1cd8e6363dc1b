// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exits capability: loads bpf/exits.bpf.c, attaches each tracepoint
 * it can, and turns the kernel's per-CPU counters into per-VM tables for
 * exits.get and Prometheus.  Counts of a VM whose process exited are
 * copied out of the kernel maps (so a reused pid starts from zero) and
 * kept until the manager forgets the VM.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "decode.h"
#include "events.h"
#include "exits.skel.h"
#include "hist.h"
#include "kvm_stats.h"
#include "kvmscope/exits.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "tracefs.h"

enum exit_kind {
	EXIT_KIND_HW,		/* count of (vcpu, isa, reason) */
	EXIT_KIND_USER,		/* count of (vcpu, KVM_EXIT reason) */
	EXIT_KIND_PIO,
	EXIT_KIND_HW_LAT,	/* hist: kvm_exit -> kvm_entry */
	EXIT_KIND_USER_LAT,	/* hist: kvm_userspace_exit -> KVM_RUN */
	EXIT_KIND_HW_PENDING,	/* a thread between kvm_exit and kvm_entry */
	EXIT_KIND_USER_PENDING,	/* a thread in the VMM */
	EXIT_KIND_DETAIL,	/* reason: detail kind, direction: dir, id */
	EXIT_KIND_DETAIL_OTHER,	/* reason: detail kind */
};

struct exit_record {
	uint8_t kind;
	uint8_t direction;
	uint8_t size;
	uint16_t port;
	uint32_t pid;
	uint32_t vcpu;
	uint32_t isa;
	uint32_t reason;
	uint64_t count;
	uint64_t id;
	double rate;		/* per second, over the last tick (HW, USER) */
	uint64_t vm_id;		/* owner of a snapshot; 0 for live records */
	struct kvmscope_hist hist;
};

struct exit_table {
	struct exit_record *v;
	size_t n, cap;
};

struct field_check {
	const char *field;
	int offset, size;
};

struct exits_probe {
	const char *category, *event, *prog_name;
	const char *btf_prog_name;	/* tp_btf program, NULL if none */
	bool fentry;			/* prog_name is an fentry program on function @event */
	unsigned int view;		/* enum collect_view it serves; 0: the counts */
	bool btf_vcpu_arg;		/* the tp_btf program reads arg 0 as struct kvm_vcpu * */
	struct field_check fields[3];
	char name[64];			/* "tp_btf/kvm_exit", "tracepoint/kvm/kvm_exit" */
	bool use_btf;			/* load the tp_btf program, not the classic one */
	bool not_needed;		/* left out by design; reason says why */
	bool available, attached;
	char reason[200];
	struct bpf_link *link;
};

#define N_PROBES_MAX 10

struct exits_state {
	struct manager *m;
	struct exits_bpf *skel;
	struct exits_probe probes[N_PROBES_MAX];
	bool loaded;
	char load_error[200];
	bool vcpu_btf;		/* kernel BTF has struct kvm_vcpu */
	int ncpus;
	uint64_t *percpu;	/* scratch for one per-CPU value */
	struct ring_buffer *rb;
	sd_event_source *rb_source;
	struct exit_table snapshots;
	struct exit_table rates;	/* last tick's HW and USER counts, sorted, with rates */
	uint64_t rates_usec;
	uint32_t isas_seen;		/* bit per enum kvmscope_isa seen in kvm_exit */
	sd_event_source *stream_timer;	/* drains exit_stream while streaming */
	struct kvm_stats_cache *kvm_stats;	/* last debugfs read per VM, for exited VMs */
	size_t n_kvm_stats;
	bool kvm_stats_denied;		/* debugfs refused the last read (lockdown) */
};

struct kvm_stats_cache {
	uint64_t vm_id;
	json_t *stats;		/* {"source", "values"} or {"error"} */
};

/*
 * How often the exit stream is drained while someone subscribed: events
 * reach clients within this, and a burst stays small enough (about 1000
 * events at 100,000 exits/s) for a client that keeps reading to lose none.
 */
#define STREAM_DRAIN_USEC 10000

static const struct exits_probe probe_templates[] = {
	{ .category = "kvm", .event = "kvm_exit", .prog_name = "kvmscope_kvm_exit",
	  .btf_prog_name = "kvmscope_kvm_exit_btf", .btf_vcpu_arg = true,
	  .fields = { { "exit_reason", 8, 4 }, { "isa", 24, 4 }, { "vcpu_id", 56, 4 } } },
	{ .category = "kvm", .event = "kvm_userspace_exit", .prog_name = "kvmscope_kvm_userspace_exit",
	  .btf_prog_name = "kvmscope_kvm_userspace_exit_btf", .fields = { { "reason", 8, 4 }, { "errno", 12, 4 } } },
	{ .category = "kvm", .event = "kvm_pio", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_pio",
	  .btf_prog_name = "kvmscope_kvm_pio_btf",
	  .fields = { { "rw", 8, 4 }, { "port", 12, 4 }, { "size", 16, 4 } } },
	{ .category = "syscalls", .event = "sys_enter_ioctl", .prog_name = "kvmscope_ioctl_enter",
	  .fields = { { "fd", 16, 8 }, { "cmd", 24, 8 } } },
	{ .category = "kvm", .event = "kvm_entry", .view = COLLECT_LATENCY, .prog_name = "kvmscope_kvm_entry",
	  .btf_prog_name = "kvmscope_kvm_entry_btf", .btf_vcpu_arg = true,
	  .fields = { { "vcpu_id", 8, 4 } } },
	{ .category = "kvm", .event = "kvm_dev_ioctl", .prog_name = "kvmscope_kvm_dev_ioctl",
	  .fentry = true },
	{ .category = "kvm", .event = "kvm_mmio", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_mmio",
	  .btf_prog_name = "kvmscope_kvm_mmio_btf", .fields = { { "type", 8, 4 }, { "gpa", 16, 8 } } },
	{ .category = "kvm", .event = "kvm_msr", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_msr",
	  .btf_prog_name = "kvmscope_kvm_msr_btf", .fields = { { "write", 8, 4 }, { "ecx", 12, 4 } } },
	{ .category = "kvm", .event = "kvm_cpuid", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_cpuid",
	  .btf_prog_name = "kvmscope_kvm_cpuid_btf",
	  .fields = { { "function", 8, 4 }, { "index", 12, 4 } } },
	{ .category = "kvm", .event = "kvm_hypercall", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_hypercall",
	  .btf_prog_name = "kvmscope_kvm_hypercall_btf", .fields = { { "nr", 8, 8 } } },
};

#define N_PROBES (sizeof(probe_templates) / sizeof(probe_templates[0]))
_Static_assert(N_PROBES <= N_PROBES_MAX, "raise N_PROBES_MAX");

/* Indexes in probe_templates, for what depends on one probe. */
enum { PROBE_KVM_EXIT, PROBE_USERSPACE_EXIT, PROBE_PIO, PROBE_IOCTL, PROBE_KVM_ENTRY,
       PROBE_DEV_IOCTL };

/* Labels for enum kvmscope_drop_reason. */
static const char *const drop_names[KVMSCOPE_DROP_MAX] = {
	"hw_map_full", "user_map_full", "pio_map_full", "thread_map_full", "vm_map_full",
	"latency_map_full", "vmm_time_map_full", "detail_map_full", "stream_ring_full",
	"exit_reason_unreadable",
};

/* ---- tables ---- */

static int table_push(struct exit_table *t, const struct exit_record *r)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct exit_record *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *r;
	return 0;
}

static void table_free(struct exit_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ---- reading the kernel maps ---- */

static uint64_t percpu_sum(struct exits_state *st, int map_fd, const void *key)
{
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(map_fd, key, st->percpu))
		return 0;
	for (int i = 0; i < st->ncpus; i++)
		sum += st->percpu[i];
	return sum;
}

static int rate_key_cmp(const void *a, const void *b);

/*
 * Where latency is collected, BPF counts an exit once, when it is timed:
 * into its histogram at the next entry, or as pending on its thread until
 * then; the count maps only get the exits that never saw an entry (a
 * KVM_RUN interrupted before it entered the guest).  So the count of each
 * (VM, vCPU, reason) is the sum of the three, which this makes of the
 * HW/USER, *_LAT and *_PENDING records of @t, one HW/USER record per key.
 * Without latency the histograms and pending records are empty, and this
 * changes nothing.
 */
static int fold_timed_counts(struct exit_table *t)
{
	struct exit_table counts = { 0 };
	size_t w = 0;
	int r = 0;

	for (size_t i = 0; i < t->n && r >= 0; i++) {
		struct exit_record c = t->v[i];

		switch (c.kind) {
		case EXIT_KIND_HW:
		case EXIT_KIND_USER:
			r = table_push(&counts, &c);
			continue;
		case EXIT_KIND_HW_LAT:
		case EXIT_KIND_HW_PENDING:
			c.kind = EXIT_KIND_HW;
			break;
		case EXIT_KIND_USER_LAT:
		case EXIT_KIND_USER_PENDING:
			c.kind = EXIT_KIND_USER;
			c.isa = 0;
			break;
		default:
			t->v[w++] = t->v[i];	/* kept in place, in order */
			continue;
		}
		c.rate = 0;
		memset(&c.hist, 0, sizeof(c.hist));
		r = table_push(&counts, &c);
		t->v[w++] = t->v[i];
	}
	if (r < 0) {
		table_free(&counts);
		return r;
	}
	t->n = w;
	qsort(counts.v, counts.n, sizeof(*counts.v), rate_key_cmp);
	for (size_t i = 0; i < counts.n && r >= 0; i++) {
		if (i && !rate_key_cmp(&counts.v[i - 1], &counts.v[i])) {
			t->v[t->n - 1].count += counts.v[i].count;
			continue;
		}
		r = table_push(t, &counts.v[i]);
	}
	table_free(&counts);
	return r;
}

/* Append every live record (of @pid, or all when @pid is 0) to @t. */
static int read_live(struct exits_state *st, uint32_t pid, struct exit_table *t)
{
	int r = 0;

	if (!st->loaded)
		return 0;
	{
		int fd = bpf_map__fd(st->skel->maps.hw_exits);
		struct kvmscope_hw_exit_key k, *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &k) == 0) {
			struct exit_record rec = { .kind = EXIT_KIND_HW, .pid = k.tgid,
						   .vcpu = k.vcpu, .isa = k.isa, .reason = k.reason };

			prev = &k;
			if (pid && k.tgid != pid)
				continue;
			rec.count = percpu_sum(st, fd, &k);
			r = table_push(t, &rec);
		}
	}
	{
		int fd = bpf_map__fd(st->skel->maps.user_exits);
		struct kvmscope_user_exit_key k, *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &k) == 0) {
			struct exit_record rec = { .kind = EXIT_KIND_USER, .pid = k.tgid,
						   .vcpu = k.vcpu, .reason = k.reason };

			prev = &k;
			if (pid && k.tgid != pid)
				continue;
			rec.count = percpu_sum(st, fd, &k);
			r = table_push(t, &rec);
		}
	}
	{
		int fd = bpf_map__fd(st->skel->maps.pio_exits);
		struct kvmscope_pio_key k, *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &k) == 0) {
			struct exit_record rec = { .kind = EXIT_KIND_PIO, .pid = k.tgid,
						   .vcpu = k.vcpu, .port = k.port,
						   .direction = k.direction, .size = k.size };

			prev = &k;
			if (pid && k.tgid != pid)
				continue;
			rec.count = percpu_sum(st, fd, &k);
			r = table_push(t, &rec);
		}
	}
	{
		int fd = bpf_map__fd(st->skel->maps.hw_latency);
		struct kvmscope_hw_exit_key k, *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &k) == 0) {
			struct exit_record rec = { .kind = EXIT_KIND_HW_LAT, .pid = k.tgid,
						   .vcpu = k.vcpu, .isa = k.isa, .reason = k.reason };

			prev = &k;
			if ((pid && k.tgid != pid) || bpf_map_lookup_elem(fd, &k, &rec.hist))
				continue;
			rec.count = hist_count(&rec.hist);
			r = table_push(t, &rec);
		}
	}
	{
		int fd = bpf_map__fd(st->skel->maps.user_latency);
		struct kvmscope_user_exit_key k, *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &k) == 0) {
			struct exit_record rec = { .kind = EXIT_KIND_USER_LAT, .pid = k.tgid,
						   .vcpu = k.vcpu, .reason = k.reason };

			prev = &k;
			if ((pid && k.tgid != pid) || bpf_map_lookup_elem(fd, &k, &rec.hist))
				continue;
			rec.count = hist_count(&rec.hist);
			r = table_push(t, &rec);
		}
	}
	{
		int fd = bpf_map__fd(st->skel->maps.detail);
		struct kvmscope_detail_key k, *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &k) == 0) {
			struct exit_record rec = { .kind = EXIT_KIND_DETAIL, .pid = k.tgid,
						   .reason = k.kind, .direction = k.dir, .id = k.id };

			prev = &k;
			if (pid && k.tgid != pid)
				continue;
			rec.count = percpu_sum(st, fd, &k);
			r = table_push(t, &rec);
		}
	}
	{
		int fd = bpf_map__fd(st->skel->maps.detail_other);
		struct kvmscope_detail_other_key k, *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &k) == 0) {
			struct exit_record rec = { .kind = EXIT_KIND_DETAIL_OTHER, .pid = k.tgid,
						   .reason = k.kind };

			prev = &k;
			if (pid && k.tgid != pid)
				continue;
			rec.count = percpu_sum(st, fd, &k);
			r = table_push(t, &rec);
		}
	}
	{
		/* Exits still being handled, or waiting in the VMM. */
		int fd = bpf_map__fd(st->skel->maps.thread_vcpu);
		uint32_t tid, *prev = NULL;
		struct kvmscope_thread_vcpu tv;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &tid) == 0) {
			prev = &tid;
			if (bpf_map_lookup_elem(fd, &tid, &tv) || (pid && tv.tgid != pid))
				continue;
			if (tv.exit_ts)
				r = table_push(t, &(struct exit_record){ .kind = EXIT_KIND_HW_PENDING,
					.pid = tv.tgid, .vcpu = tv.vcpu, .isa = tv.exit_isa,
					.reason = tv.exit_reason, .count = 1 });
			if (tv.user_ts && r >= 0)
				r = table_push(t, &(struct exit_record){ .kind = EXIT_KIND_USER_PENDING,
					.pid = tv.tgid, .vcpu = tv.vcpu, .reason = tv.user_reason,
					.count = 1 });
		}
	}
	return r < 0 ? r : fold_timed_counts(t);
}

/* Delete every key of @map whose first field (tgid) is @pid. */
static void delete_keys_of(struct bpf_map *map, uint32_t pid)
{
	int fd = bpf_map__fd(map);
	size_t ksz = bpf_map__key_size(map), n = 0, cap = 0;
	char *keys = NULL, key[64], *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, key) == 0) {
		prev = key;
		if (*(uint32_t *)key != pid)
			continue;
		if (n == cap) {
			char *k = realloc(keys, (cap = cap ? cap * 2 : 16) * ksz);

			if (!k)
				break;
			keys = k;
		}
		memcpy(keys + n++ * ksz, key, ksz);
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * ksz);
	free(keys);
}

static void delete_threads_of(struct exits_state *st, uint32_t pid)
{
	int fd = bpf_map__fd(st->skel->maps.thread_vcpu);
	uint32_t tid, *prev = NULL, *dead = NULL;
	struct kvmscope_thread_vcpu tv;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, &tid) == 0) {
		prev = &tid;
		if (bpf_map_lookup_elem(fd, &tid, &tv) == 0 && tv.tgid == pid) {
			uint32_t *d = realloc(dead, (n + 1) * sizeof(*d));

			if (!d)
				break;
			dead = d;
			dead[n++] = tid;
		}
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &dead[i]);
	free(dead);
}

/* ---- KVM's own statistics (debugfs) ---- */

/*
 * KVM's own counters of @vm from debugfs, or why there are none.  Under
 * lockdown every read is refused: remember it, so the once-a-second
 * refresh stops retrying (a request still tries, and clears it).
 */
static json_t *kvm_stats_now(struct exits_state *st, uint32_t pid)
{
	char source[1024], err[300];
	json_t *values;
	int r = kvm_stats_read(KVM_STATS_DEBUGFS, pid, &values, source, sizeof(source), err,
			       sizeof(err));

	st->kvm_stats_denied = r == -EPERM || r == -EACCES;
	if (r < 0)
		return json_pack("{s:n, s:n, s:s}", "source", "values", "error", err);
	return json_pack("{s:s, s:o, s:n}", "source", source, "values", values, "error");
}

static struct kvm_stats_cache *kvm_stats_slot(struct exits_state *st, uint64_t vm_id, bool create)
{
	struct kvm_stats_cache *c;

	for (size_t i = 0; i < st->n_kvm_stats; i++)
		if (st->kvm_stats[i].vm_id == vm_id)
			return &st->kvm_stats[i];
	if (!create)
		return NULL;
	c = realloc(st->kvm_stats, (st->n_kvm_stats + 1) * sizeof(*c));
	if (!c)
		return NULL;
	st->kvm_stats = c;
	c = &st->kvm_stats[st->n_kvm_stats++];
	*c = (struct kvm_stats_cache){ .vm_id = vm_id };
	return c;
}

/* Live VMs: read now.  Exited ones: what the last read while they ran saw. */
static json_t *vm_kvm_stats(struct exits_state *st, const struct vm *vm)
{
	struct kvm_stats_cache *c = kvm_stats_slot(st, vm->id, !vm->exited);
	json_t *now;

	if (vm->exited) {
		if (c && c->stats)
			return json_incref(c->stats);
		return json_pack("{s:n, s:n, s:s}", "source", "values", "error",
				 "the VM exited before its statistics were read");
	}
	now = kvm_stats_now(st, vm->pid);
	if (c && json_is_object(json_object_get(now, "values"))) {
		json_decref(c->stats);
		c->stats = json_incref(now);
	}
	return now;
}

/* ---- rates ---- */

/* Order of the keys of counting records, for the rate table. */
static int rate_key_cmp(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	if (x->isa != y->isa)
		return x->isa < y->isa ? -1 : 1;
	return x->reason < y->reason ? -1 : x->reason > y->reason;
}

static double rate_of(const struct exits_state *st, const struct exit_record *r)
{
	const struct exit_record *found;

	if (!st->rates.n)
		return 0;
	found = bsearch(r, st->rates.v, st->rates.n, sizeof(*r), rate_key_cmp);
	return found ? found->rate : 0;
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* At each tick: the rate of every (VM, vCPU, reason) since the last one. */
static void update_rates(struct exits_state *st, const struct exit_table *live)
{
	struct exit_table cur = { 0 };
	uint64_t now = monotonic_usec();
	double dt = st->rates_usec ? (double)(now - st->rates_usec) / 1e6 : 0;

	for (size_t i = 0; i < live->n; i++) {
		if (live->v[i].kind == EXIT_KIND_HW)
			st->isas_seen |= 1u << (live->v[i].isa & 31);
		if (live->v[i].kind != EXIT_KIND_HW && live->v[i].kind != EXIT_KIND_USER)
			continue;
		if (table_push(&cur, &live->v[i]) < 0) {
			table_free(&cur);
			return;
		}
	}
	qsort(cur.v, cur.n, sizeof(cur.v[0]), rate_key_cmp);
	for (size_t i = 0; i < cur.n; i++) {
		struct exit_record *r = &cur.v[i];
		const struct exit_record *prev = st->rates.n ?
			bsearch(r, st->rates.v, st->rates.n, sizeof(*r), rate_key_cmp) : NULL;
		uint64_t before = prev ? prev->count : 0;

		r->rate = dt > 0 && r->count >= before ? (double)(r->count - before) / dt : 0;
	}
	table_free(&st->rates);
	st->rates = cur;
	st->rates_usec = now;
}

/* ---- VM discovery ---- */

static int on_vm_event(void *ctx, void *data, size_t len)
{
	struct exits_state *st = ctx;
	const struct kvmscope_vm_event *ev = data;
	char comm[17];

	if (len < sizeof(*ev))
		return 0;
	memcpy(comm, ev->comm, 16);
	comm[16] = '\0';
	manager_vm_note(st->m, ev->tgid, comm);
	return 0;
}

static int on_exit_event(void *ctx, void *data, size_t len)
{
	struct exits_state *st = ctx;
	const struct kvmscope_exit_event *ev = data;
	struct events_exit e;

	if (len < sizeof(*ev))
		return 0;
	e = (struct events_exit){ .ts_ns = ev->ts_ns, .pid = ev->tgid, .tid = ev->tid,
				  .vcpu = ev->vcpu, .isa = ev->isa, .reason = ev->reason,
				  .hardware = ev->hardware };
	events_hub_exit(manager_events(st->m), &e);
	return 0;
}

static int on_stream_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct exits_state *st = userdata;
	uint32_t d = KVMSCOPE_DROP_STREAM_FULL;

	ring_buffer__consume(st->rb);
	events_hub_kernel_lost(manager_events(st->m),
			       percpu_sum(st, bpf_map__fd(st->skel->maps.exit_drops), &d));
	sd_event_source_set_time(s, usec + STREAM_DRAIN_USEC);
	return 0;
}

static void exits_stream(void *state, bool on)
{
	struct exits_state *st = state;
	uint64_t now;

	if (!st->loaded || !st->rb)
		return;
	st->skel->bss->stream_enabled = on;
	if (!on) {
		st->stream_timer = sd_event_source_disable_unref(st->stream_timer);
		return;
	}
	if (st->stream_timer)
		return;
	sd_event_now(st->m->event, CLOCK_MONOTONIC, &now);
	if (sd_event_add_time(st->m->event, &st->stream_timer, CLOCK_MONOTONIC,
			      now + STREAM_DRAIN_USEC, 1000, on_stream_timer, st) < 0) {
		log_warning("exits: cannot start the event stream timer");
		st->skel->bss->stream_enabled = 0;
		return;
	}
	sd_event_source_set_enabled(st->stream_timer, SD_EVENT_ON);
}

static int on_ringbuf(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct exits_state *st = userdata;

	ring_buffer__consume(st->rb);
	return 0;
}

static bool pid_in(const uint32_t *v, size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/*
 * Make sure every process the kernel maps mention is in the registry: the
 * ring buffer may have been full, or the VM ran before we attached.
 */
static void exits_collect(void *state)
{
	struct exits_state *st = state;
	struct exit_table live = { 0 };
	uint32_t *pids = NULL, k, *prev = NULL;
	size_t n = 0;
	int fd;

	if (!st->loaded)
		return;
	ring_buffer__consume(st->rb);
	fd = bpf_map__fd(st->skel->maps.vms_seen);
	while (bpf_map_get_next_key(fd, prev, &k) == 0) {
		uint32_t *p;

		prev = &k;
		if (manager_vm_find_live(st->m, k) || pid_in(pids, n, k))
			continue;
		p = realloc(pids, (n + 1) * sizeof(*p));
		if (!p)
			break;
		pids = p;
		pids[n++] = k;
	}
	read_live(st, 0, &live);
	update_rates(st, &live);
	for (size_t i = 0; i < st->m->n_vms && !st->kvm_stats_denied; i++)
		if (!st->m->vms[i]->exited)
			json_decref(vm_kvm_stats(st, st->m->vms[i]));
	for (size_t i = 0; i < live.n; i++) {
		uint32_t *p;

		if (manager_vm_find_live(st->m, live.v[i].pid) || pid_in(pids, n, live.v[i].pid))
			continue;
		p = realloc(pids, (n + 1) * sizeof(*p));
		if (!p)
			break;
		pids = p;
		pids[n++] = live.v[i].pid;
	}
	table_free(&live);
	/* Noting may find the process gone, which snapshots and deletes its keys. */
	for (size_t i = 0; i < n; i++) {
		struct kvmscope_vm_seen seen = { 0 };
		char comm[17] = "";

		if (bpf_map_lookup_elem(fd, &pids[i], &seen) == 0) {
			memcpy(comm, seen.comm, 16);
			comm[16] = '\0';
		}
		manager_vm_note(st->m, pids[i], comm[0] ? comm : NULL);
	}
	free(pids);
}

static void exits_vm_exited(void *state, struct vm *vm)
{
	struct exits_state *st = state;
	struct exit_table t = { 0 };
	size_t start;

	if (!st->loaded)
		return;
	/* Subscribers get the VM's last exits before the news that it exited. */
	if (st->stream_timer)
		ring_buffer__consume(st->rb);
	read_live(st, vm->pid, &t);
	start = st->snapshots.n;
	for (size_t i = 0; i < t.n; i++) {
		t.v[i].vm_id = vm->id;
		if (table_push(&st->snapshots, &t.v[i]) < 0) {
			log_error("Out of memory keeping the counts of exited VM pid %u", vm->pid);
			st->snapshots.n = start;
			break;
		}
	}
	table_free(&t);
	delete_keys_of(st->skel->maps.hw_exits, vm->pid);
	delete_keys_of(st->skel->maps.user_exits, vm->pid);
	delete_keys_of(st->skel->maps.pio_exits, vm->pid);
	delete_keys_of(st->skel->maps.hw_latency, vm->pid);
	delete_keys_of(st->skel->maps.user_latency, vm->pid);
	delete_keys_of(st->skel->maps.detail, vm->pid);
	delete_keys_of(st->skel->maps.detail_other, vm->pid);
	delete_keys_of(st->skel->maps.vms_seen, vm->pid);
	delete_threads_of(st, vm->pid);
}

static void exits_vm_forget(void *state, struct vm *vm)
{
	struct exits_state *st = state;
	struct kvm_stats_cache *c = kvm_stats_slot(st, vm->id, false);
	size_t o = 0;

	if (c) {
		json_decref(c->stats);
		*c = st->kvm_stats[--st->n_kvm_stats];
	}

	for (size_t i = 0; i < st->snapshots.n; i++)
		if (st->snapshots.v[i].vm_id != vm->id)
			st->snapshots.v[o++] = st->snapshots.v[i];
	st->snapshots.n = o;
}

/* Records of @vm: the snapshot when it exited, else the live maps. */
static int vm_records(struct exits_state *st, const struct vm *vm, const struct exit_table *live,
		      struct exit_table *out)
{
	const struct exit_table *src = vm->exited ? &st->snapshots : live;
	int r = 0;

	for (size_t i = 0; i < src->n && r >= 0; i++) {
		const struct exit_record *rec = &src->v[i];

		if (vm->exited ? rec->vm_id == vm->id : rec->pid == vm->pid)
			r = table_push(out, rec);
	}
	return r;
}

static int by_count_desc(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	return x->reason < y->reason ? -1 : x->reason > y->reason;
}

static json_t *vcpu_json(uint32_t vcpu)
{
	return vcpu == KVMSCOPE_VCPU_UNKNOWN ? json_null() : json_integer(vcpu);
}

/* Records the JSON of one VM is built from, and the filter on them. */
struct vm_view {
	const struct exits_state *st;
	const struct exit_table *t;
	int64_t vcpu;		/* -1: all */
	bool live;		/* rates exist only for running VMs */
};

static bool in_view(const struct vm_view *v, const struct exit_record *r)
{
	return v->vcpu < 0 || r->vcpu == (uint32_t)v->vcpu;
}

/*
 * The latency of exits like @key (hardware: same isa and reason; user:
 * same reason), over one vCPU when @per_vcpu, else over the view.
 */
static json_t *latency_json(const struct vm_view *v, const struct exit_record *key, bool per_vcpu)
{
	bool hw = key->kind == EXIT_KIND_HW;
	uint8_t lat_kind = hw ? EXIT_KIND_HW_LAT : EXIT_KIND_USER_LAT;
	uint8_t pend_kind = hw ? EXIT_KIND_HW_PENDING : EXIT_KIND_USER_PENDING;
	struct kvmscope_hist h = { 0 };
	uint64_t pending = 0;

	for (size_t i = 0; i < v->t->n; i++) {
		const struct exit_record *r = &v->t->v[i];

		if ((r->kind != lat_kind && r->kind != pend_kind) || !in_view(v, r) ||
		    r->reason != key->reason || (hw && r->isa != key->isa) ||
		    (per_vcpu && r->vcpu != key->vcpu))
			continue;
		if (r->kind == lat_kind)
			hist_merge(&h, &r->hist);
		else
			pending += r->count;
	}
	return hist_to_json(&h, pending);
}

struct reason_sum {
	uint8_t kind;
	uint32_t isa, reason;
	uint64_t count;
	double rate;
};

static int reason_sum_cmp(const void *a, const void *b)
{
	const struct reason_sum *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->reason < y->reason ? -1 : x->reason > y->reason;
}

/* Counts of @kind summed over the view's vCPUs, by (isa, reason), most first. */
static json_t *by_reason_json(const struct vm_view *v, uint8_t kind)
{
	struct reason_sum *sums = calloc(v->t->n ? v->t->n : 1, sizeof(*sums));
	char name[DECODE_NAME_MAX];
	json_t *out = json_array();
	size_t n = 0;

	if (!sums)
		return out;
	for (size_t i = 0; i < v->t->n; i++) {
		const struct exit_record *r = &v->t->v[i];
		size_t j;

		if (r->kind != kind || !in_view(v, r))
			continue;
		for (j = 0; j < n; j++)
			if (sums[j].isa == r->isa && sums[j].reason == r->reason)
				break;
		if (j == n)
			sums[n++] = (struct reason_sum){ .kind = kind, .isa = r->isa, .reason = r->reason };
		sums[j].count += r->count;
		sums[j].rate += v->live ? rate_of(v->st, r) : 0;
	}
	qsort(sums, n, sizeof(*sums), reason_sum_cmp);
	for (size_t j = 0; j < n; j++) {
		struct exit_record key = { .kind = kind, .isa = sums[j].isa, .reason = sums[j].reason };

		if (kind == EXIT_KIND_HW)
			json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:I, s:f, s:o}", "isa",
				isa_name(key.isa), "reason",
				hw_exit_name(key.isa, key.reason, name, sizeof(name)), "code",
				(json_int_t)key.reason, "count", (json_int_t)sums[j].count, "rate",
				sums[j].rate, "latency", latency_json(v, &key, false)));
		else
			json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:f, s:o}", "reason",
				kvm_exit_name(key.reason, name, sizeof(name)), "code",
				(json_int_t)key.reason, "count", (json_int_t)sums[j].count, "rate",
				sums[j].rate, "vmm_time", latency_json(v, &key, false)));
	}
	free(sums);
	return out;
}

static int by_count_only_desc(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->direction - y->direction;
}

static const char *mmio_access_name(uint8_t type)
{
	/* kvm_mmio's type: KVM_TRACE_MMIO_READ_UNSATISFIED 0, READ 1, WRITE 2 */
	switch (type) {
	case 0: return "read_to_vmm";
	case 1: return "read";
	case 2: return "write";
	default: return "unknown";
	}
}

static json_t *detail_entry_json(const struct exit_record *r)
{
	char a[24], b[24];

	switch (r->reason) {
	case KVMSCOPE_DETAIL_MMIO:
		snprintf(a, sizeof(a), "0x%llx", (unsigned long long)r->id);
		snprintf(b, sizeof(b), "0x%llx", (unsigned long long)r->id << 12);
		return json_pack("{s:s, s:s, s:s, s:I}", "page", a, "gpa", b, "access",
				 mmio_access_name(r->direction), "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_MSR:
		snprintf(a, sizeof(a), "0x%llx", (unsigned long long)r->id);
		return json_pack("{s:s, s:s, s:I}", "index", a, "access",
				 r->direction ? "write" : "read", "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_CPUID:
		snprintf(a, sizeof(a), "0x%llx", (unsigned long long)(r->id >> 32));
		snprintf(b, sizeof(b), "0x%llx", (unsigned long long)(r->id & 0xffffffffu));
		return json_pack("{s:s, s:s, s:I}", "leaf", a, "subleaf", b, "count",
				 (json_int_t)r->count);
	case KVMSCOPE_DETAIL_HYPERCALL:
		return json_pack("{s:I, s:s?, s:I}", "nr", (json_int_t)r->id, "name",
				 decode_kvm_hypercall(r->id), "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_BACKDOOR:
		return json_pack("{s:I, s:s?, s:s, s:I}", "command", (json_int_t)r->id, "name",
				 decode_vmware_backdoor_command((uint32_t)r->id), "port",
				 r->direction ? "0x5659" : "0x5658", "count", (json_int_t)r->count);
	}
	return json_null();
}

/* The top @top entries of one detail kind, and the rest as "other". */
static json_t *detail_json(const struct vm_view *v, uint8_t kind, unsigned int top)
{
	struct exit_table sel = { 0 };
	uint64_t other = 0, no_magic = 0;
	json_t *entries = json_array(), *out;

	for (size_t i = 0; i < v->t->n; i++) {
		const struct exit_record *r = &v->t->v[i];

		if (r->kind == EXIT_KIND_DETAIL && r->reason == kind)
			table_push(&sel, r);
		else if (r->kind == EXIT_KIND_DETAIL_OTHER && r->reason == kind)
			other += r->count;
		else if (r->kind == EXIT_KIND_DETAIL && kind == KVMSCOPE_DETAIL_BACKDOOR &&
			 r->reason == KVMSCOPE_DETAIL_BACKDOOR_NOMAGIC)
			no_magic += r->count;
	}
	qsort(sel.v, sel.n, sizeof(sel.v[0]), by_count_only_desc);
	for (size_t i = 0; i < sel.n; i++) {
		if (i < top)
			json_array_append_new(entries, detail_entry_json(&sel.v[i]));
		else
			other += sel.v[i].count;
	}
	table_free(&sel);
	out = json_pack("{s:o, s:I}", "entries", entries, "other", (json_int_t)other);
	if (kind == KVMSCOPE_DETAIL_BACKDOOR)
		json_object_set_new(out, "no_magic", json_integer((json_int_t)no_magic));
	return out;
}

static json_t *records_json(const struct vm_view *v)
{
	json_t *hw = json_array(), *user = json_array(), *pio = json_array(), *out;
	uint64_t tot_hw = 0, tot_user = 0, tot_pio = 0;
	char name[DECODE_NAME_MAX], port[8];
	unsigned int top = v->st->m->opts.detail_top;

	for (size_t i = 0; i < v->t->n; i++) {
		const struct exit_record *r = &v->t->v[i];
		double rate = v->live ? rate_of(v->st, r) : 0;

		if (!in_view(v, r))
			continue;
		switch (r->kind) {
		case EXIT_KIND_HW:
			tot_hw += r->count;
			json_array_append_new(hw, json_pack("{s:o, s:s, s:s, s:I, s:I, s:f, s:o}",
				"vcpu", vcpu_json(r->vcpu), "isa", isa_name(r->isa), "reason",
				hw_exit_name(r->isa, r->reason, name, sizeof(name)), "code",
				(json_int_t)r->reason, "count", (json_int_t)r->count, "rate", rate,
				"latency", latency_json(v, r, true)));
			break;
		case EXIT_KIND_USER:
			tot_user += r->count;
			json_array_append_new(user, json_pack("{s:o, s:s, s:I, s:I, s:f, s:o}", "vcpu",
				vcpu_json(r->vcpu), "reason",
				kvm_exit_name(r->reason, name, sizeof(name)), "code",
				(json_int_t)r->reason, "count", (json_int_t)r->count, "rate", rate,
				"vmm_time", latency_json(v, r, true)));
			break;
		case EXIT_KIND_PIO:
			tot_pio += r->count;
			snprintf(port, sizeof(port), "0x%x", r->port);
			json_array_append_new(pio, json_pack("{s:o, s:I, s:s, s:s, s:I, s:I}", "vcpu",
				vcpu_json(r->vcpu), "port", (json_int_t)r->port, "port_hex", port,
				"direction", pio_direction_name(r->direction), "size",
				(json_int_t)r->size, "count", (json_int_t)r->count));
			break;
		}
	}
	out = json_pack("{s:{s:I, s:I, s:I}, s:o, s:o, s:o}", "totals", "hardware",
			(json_int_t)tot_hw, "userspace", (json_int_t)tot_user, "pio",
			(json_int_t)tot_pio, "hardware_exits", hw, "userspace_exits", user, "pio", pio);
	json_object_set_new(out, "hardware_by_reason", by_reason_json(v, EXIT_KIND_HW));
	json_object_set_new(out, "userspace_by_reason", by_reason_json(v, EXIT_KIND_USER));
	json_object_set_new(out, "mmio", detail_json(v, KVMSCOPE_DETAIL_MMIO, top));
	json_object_set_new(out, "msr", detail_json(v, KVMSCOPE_DETAIL_MSR, top));
	json_object_set_new(out, "cpuid", detail_json(v, KVMSCOPE_DETAIL_CPUID, top));
	json_object_set_new(out, "hypercalls", detail_json(v, KVMSCOPE_DETAIL_HYPERCALL, top));
	json_object_set_new(out, "vmware_backdoor", detail_json(v, KVMSCOPE_DETAIL_BACKDOOR, top));
	return out;
}

static json_t *method_exits_get(void *userdata, json_t *params, struct rpc_error *err)
{
	struct exits_state *st = userdata;
	struct manager *m = st->m;
	struct exit_table live = { 0 };
	uint64_t pid = 0, vcpu = 0;
	int has_pid, has_vcpu;
	json_t *vms;

	has_pid = rpc_param_uint(params, "pid", UINT32_MAX, &pid, err);
	if (has_pid < 0)
		return NULL;
	has_vcpu = rpc_param_uint(params, "vcpu", UINT32_MAX - 1, &vcpu, err);
	if (has_vcpu < 0)
		return NULL;
	manager_refresh(m);
	if (has_pid) {
		bool found = false;

		for (size_t i = 0; i < m->n_vms; i++)
			found |= m->vms[i]->pid == pid;
		if (!found) {
			rpc_error_set(err, RPC_NOT_FOUND,
				      "no VM with pid %llu: not running, or exited longer ago than --retain-exited",
				      (unsigned long long)pid);
			return NULL;
		}
	}
	if (read_live(st, has_pid ? (uint32_t)pid : 0, &live) < 0) {
		table_free(&live);
		rpc_error_set(err, RPC_INTERNAL_ERROR, "out of memory reading exit counts");
		return NULL;
	}
	vms = json_array();
	for (size_t i = 0; i < m->n_vms; i++) {
		struct vm *vm = m->vms[i];
		struct exit_table t = { 0 };
		struct vm_view view;
		json_t *v, *records;

		if (has_pid && vm->pid != pid)
			continue;
		vm_records(st, vm, &live, &t);
		qsort(t.v, t.n, sizeof(t.v[0]), by_count_desc);
		v = vm_to_json(vm);
		view = (struct vm_view){ .st = st, .t = &t, .vcpu = has_vcpu ? (int64_t)vcpu : -1,
					 .live = !vm->exited };
		records = records_json(&view);
		json_object_update(v, records);
		json_decref(records);
		json_object_set_new(v, "kvm_stats", vm_kvm_stats(st, vm));
		json_array_append_new(vms, v);
		table_free(&t);
	}
	table_free(&live);
	return json_pack("{s:o}", "vms", vms);
}

static const char *const exits_get_params[] = { "pid", "vcpu", NULL };

static const struct rpc_method exits_methods[] = {
	{ "exits.get", method_exits_get, exits_get_params },
	{}
};

/* ---- metrics ---- */

static int pio_agg_cmp(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	if (x->port != y->port)
		return x->port - y->port;
	return x->direction - y->direction;
}

/* Samples of kvmscope_exits_total (hardware) or kvmscope_userspace_exits_total. */
static int exit_samples(struct strbuf *sb, struct manager *m, struct exit_table *per_vm,
			enum exit_kind kind)
{
	const char *metric = kind == EXIT_KIND_HW ? "kvmscope_exits_total"
						  : "kvmscope_userspace_exits_total";
	char pid[16], vcpu[16], name[DECODE_NAME_MAX], dn[32];
	int r = 0;

	for (size_t i = 0; i < m->n_vms && r >= 0; i++) {
		const struct vm *vm = m->vms[i];

		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t j = 0; j < per_vm[i].n && r >= 0; j++) {
			const struct exit_record *e = &per_vm[i].v[j];
			struct metrics_label l[5] = { { "pid", pid },
						      { "vm", vm_display_name(vm, dn, sizeof(dn)) },
						      { "vcpu", vcpu } };
			size_t n = 3;

			if (e->kind != kind)
				continue;
			snprintf(vcpu, sizeof(vcpu), e->vcpu == KVMSCOPE_VCPU_UNKNOWN ? "unknown" : "%u",
				 e->vcpu);
			if (kind == EXIT_KIND_HW) {
				l[n++] = (struct metrics_label){ "isa", isa_name(e->isa) };
				l[n++] = (struct metrics_label){
					"reason", hw_exit_name(e->isa, e->reason, name, sizeof(name)) };
			} else {
				l[n++] = (struct metrics_label){
					"reason", kvm_exit_name(e->reason, name, sizeof(name)) };
			}
			r = metrics_sample(sb, metric, l, n, e->count);
		}
	}
	return r;
}

/*
 * Histogram buckets shown in /metrics: le = 2^(k+1) ns for slots k from
 * 7 (256 ns) to 35 (68.7 s); faster ones fall in the first bucket.
 */
#define METRIC_FIRST_SLOT 7
#define METRIC_LAST_SLOT 35

struct latency_series {
	uint32_t vcpu, isa, reason;
	struct kvmscope_hist h;
};

/* One Prometheus histogram: _bucket{le}, _sum and _count. */
static int histogram_samples(struct strbuf *sb, const char *name, struct metrics_label *l, size_t n,
			     const struct kvmscope_hist *h)
{
	char bucket[80], le[32];
	uint64_t cum = 0;
	int r = 0;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (unsigned int k = 0; k < METRIC_FIRST_SLOT; k++)
		cum += h->slots[k];
	l[n] = (struct metrics_label){ "le", le };
	for (unsigned int k = METRIC_FIRST_SLOT; k <= METRIC_LAST_SLOT && r >= 0; k++) {
		cum += h->slots[k];
		snprintf(le, sizeof(le), "%.9g", (double)hist_slot_le_ns(k) / 1e9);
		r = metrics_sample(sb, bucket, l, n + 1, cum);
	}
	if (r >= 0) {
		snprintf(le, sizeof(le), "+Inf");
		r = metrics_sample(sb, bucket, l, n + 1, hist_count(h));
	}
	snprintf(bucket, sizeof(bucket), "%s_sum", name);
	if (r >= 0)
		r = metrics_sample_double(sb, bucket, l, n, (double)h->sum_ns / 1e9);
	snprintf(bucket, sizeof(bucket), "%s_count", name);
	if (r >= 0)
		r = metrics_sample(sb, bucket, l, n, hist_count(h));
	return r;
}

/*
 * kvmscope_exit_handling_seconds (hardware exits, kvm_exit -> kvm_entry)
 * or kvmscope_vmm_handling_seconds (userspace exits, time in the VMM),
 * labelled per VM or per VM and vCPU as --latency-labels says.
 */
static int latency_metrics(struct strbuf *sb, struct manager *m, struct exit_table *per_vm,
			   uint8_t kind)
{
	bool hw = kind == EXIT_KIND_HW_LAT, by_vcpu = m->opts.latency_labels == LATENCY_LABELS_VCPU;
	const char *name = hw ? "kvmscope_exit_handling_seconds" : "kvmscope_vmm_handling_seconds";
	char pid[16], vcpu[16], dn[32], rn[DECODE_NAME_MAX];
	int r;

	r = metrics_family(sb, name, "histogram", hw ?
		"Time from a hardware exit (kvm_exit) to the next entry (kvm_entry) of the vCPU." :
		"Time the VMM took for an exit to user space (kvm_userspace_exit to the next KVM_RUN).");
	for (size_t i = 0; i < m->n_vms && r >= 0; i++) {
		const struct vm *vm = m->vms[i];
		const struct exit_table *t = &per_vm[i];
		struct latency_series *series = calloc(t->n ? t->n : 1, sizeof(*series));
		size_t n = 0;

		if (!series)
			return -ENOMEM;
		for (size_t j = 0; j < t->n; j++) {
			const struct exit_record *e = &t->v[j];
			uint32_t v = by_vcpu ? e->vcpu : 0;
			size_t k;

			if (e->kind != kind)
				continue;
			for (k = 0; k < n; k++)
				if (series[k].vcpu == v && series[k].isa == e->isa &&
				    series[k].reason == e->reason)
					break;
			if (k == n)
				series[n++] = (struct latency_series){ .vcpu = v, .isa = e->isa,
								       .reason = e->reason };
			hist_merge(&series[k].h, &e->hist);
		}
		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t k = 0; k < n && r >= 0; k++) {
			struct metrics_label l[6] = { { "pid", pid },
						      { "vm", vm_display_name(vm, dn, sizeof(dn)) } };
			size_t nl = 2;

			if (by_vcpu) {
				snprintf(vcpu, sizeof(vcpu), series[k].vcpu == KVMSCOPE_VCPU_UNKNOWN ?
					 "unknown" : "%u", series[k].vcpu);
				l[nl++] = (struct metrics_label){ "vcpu", vcpu };
			}
			if (hw) {
				l[nl++] = (struct metrics_label){ "isa", isa_name(series[k].isa) };
				l[nl++] = (struct metrics_label){ "reason", hw_exit_name(series[k].isa,
					series[k].reason, rn, sizeof(rn)) };
			} else {
				l[nl++] = (struct metrics_label){ "reason",
					kvm_exit_name(series[k].reason, rn, sizeof(rn)) };
			}
			r = histogram_samples(sb, name, l, nl, &series[k].h);
		}
		free(series);
	}
	return r;
}

struct detail_metric {
	uint8_t kind;
	const char *name, *help, *id_label;
};

static const struct detail_metric detail_metrics[] = {
	{ KVMSCOPE_DETAIL_MMIO, "kvmscope_mmio_total",
	  "Guest MMIO (kvm_mmio) by VM, guest-physical page and access; top N, rest as page=\"other\".",
	  "page" },
	{ KVMSCOPE_DETAIL_MSR, "kvmscope_msr_total",
	  "Guest MSR accesses (kvm_msr) by VM, index and access; top N, rest as index=\"other\".",
	  "index" },
	{ KVMSCOPE_DETAIL_CPUID, "kvmscope_cpuid_total",
	  "Guest CPUID (kvm_cpuid) by VM and leaf; top N, rest as leaf=\"other\".", "leaf" },
	{ KVMSCOPE_DETAIL_HYPERCALL, "kvmscope_hypercalls_total",
	  "KVM hypercalls (kvm_hypercall) by VM and number; top N, rest as nr=\"other\".", "nr" },
	{ KVMSCOPE_DETAIL_BACKDOOR, "kvmscope_vmware_backdoor_total",
	  "VMware backdoor calls (port 0x5658/0x5659 with the magic in EAX) by VM and command.",
	  "command" },
};

static int detail_samples(struct strbuf *sb, struct manager *m, struct exit_table *per_vm,
			  const struct detail_metric *dm)
{
	char pid[16], dn[32], id[24], sub[24];
	int r = metrics_family(sb, dm->name, "counter", dm->help);

	for (size_t i = 0; i < m->n_vms && r >= 0; i++) {
		const struct vm *vm = m->vms[i];
		struct exit_table sel = { 0 };
		uint64_t other = 0;

		for (size_t j = 0; j < per_vm[i].n; j++) {
			const struct exit_record *e = &per_vm[i].v[j];

			if (e->kind == EXIT_KIND_DETAIL && e->reason == dm->kind)
				table_push(&sel, e);
			else if (e->kind == EXIT_KIND_DETAIL_OTHER && e->reason == dm->kind)
				other += e->count;
		}
		qsort(sel.v, sel.n, sizeof(sel.v[0]), by_count_only_desc);
		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t j = 0; j < sel.n && r >= 0; j++) {
			const struct exit_record *e = &sel.v[j];
			struct metrics_label l[5] = { { "pid", pid },
						      { "vm", vm_display_name(vm, dn, sizeof(dn)) },
						      { dm->id_label, id } };
			size_t nl = 3;

			if (j >= m->opts.detail_top) {
				other += e->count;
				continue;
			}
			switch (dm->kind) {
			case KVMSCOPE_DETAIL_MMIO:
				snprintf(id, sizeof(id), "0x%llx", (unsigned long long)e->id << 12);
				l[nl++] = (struct metrics_label){ "access", mmio_access_name(e->direction) };
				break;
			case KVMSCOPE_DETAIL_MSR:
				snprintf(id, sizeof(id), "0x%llx", (unsigned long long)e->id);
				l[nl++] = (struct metrics_label){ "access", e->direction ? "write" : "read" };
				break;
			case KVMSCOPE_DETAIL_CPUID:
				snprintf(id, sizeof(id), "0x%llx", (unsigned long long)(e->id >> 32));
				snprintf(sub, sizeof(sub), "0x%llx", (unsigned long long)(e->id & 0xffffffffu));
				l[nl++] = (struct metrics_label){ "subleaf", sub };
				break;
			case KVMSCOPE_DETAIL_BACKDOOR: {
				const char *cn = decode_vmware_backdoor_command((uint32_t)e->id);

				snprintf(id, sizeof(id), "%llu", (unsigned long long)e->id);
				l[nl++] = (struct metrics_label){ "name", cn ? cn : "unknown" };
				break;
			}
			default:
				snprintf(id, sizeof(id), "%llu", (unsigned long long)e->id);
			}
			r = metrics_sample(sb, dm->name, l, nl, e->count);
		}
		table_free(&sel);
		if (other && r >= 0)
			r = metrics_sample(sb, dm->name,
				(struct metrics_label[]){ { "pid", pid },
					{ "vm", vm_display_name(vm, dn, sizeof(dn)) },
					{ dm->id_label, "other" } }, 3, other);
	}
	return r;
}

static int exits_metrics(void *state, struct strbuf *sb)
{
	struct exits_state *st = state;
	struct manager *m = st->m;
	struct exit_table live = { 0 }, *per_vm;
	char pid[16], port[8], dn[32];
	int r = 0;

	if (read_live(st, 0, &live) < 0)
		goto oom;
	per_vm = calloc(m->n_vms ? m->n_vms : 1, sizeof(*per_vm));
	if (!per_vm)
		goto oom;
	for (size_t i = 0; i < m->n_vms; i++)
		vm_records(st, m->vms[i], &live, &per_vm[i]);

	r = metrics_family(sb, "kvmscope_exits_total", "counter",
			   "Hardware VM exits (kvm_exit) by VM, vCPU, ISA and exit reason.");
	if (r >= 0)
		r = exit_samples(sb, m, per_vm, EXIT_KIND_HW);
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_userspace_exits_total", "counter",
				   "Exits to the VMM (kvm_userspace_exit) by VM, vCPU and KVM_EXIT reason.");
	if (r >= 0)
		r = exit_samples(sb, m, per_vm, EXIT_KIND_USER);
	if (r >= 0)
		r = latency_metrics(sb, m, per_vm, EXIT_KIND_HW_LAT);
	if (r >= 0)
		r = latency_metrics(sb, m, per_vm, EXIT_KIND_USER_LAT);
	for (size_t k = 0; k < sizeof(detail_metrics) / sizeof(detail_metrics[0]) && r >= 0; k++)
		r = detail_samples(sb, m, per_vm, &detail_metrics[k]);
	/* Last: the PIO samples below keep only the PIO records of per_vm. */
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_pio_total", "counter",
				   "Guest port I/O (kvm_pio) by VM, port and direction, all vCPUs and sizes.");
	for (size_t i = 0; i < m->n_vms && r >= 0; i++) {
		const struct vm *vm = m->vms[i];
		struct exit_table *t = &per_vm[i];
		size_t o = 0;

		/* Sum over vCPU and size: sort by (port, direction), merge neighbours. */
		for (size_t j = 0; j < t->n; j++)
			if (t->v[j].kind == EXIT_KIND_PIO)
				t->v[o++] = t->v[j];
		t->n = o;
		qsort(t->v, t->n, sizeof(t->v[0]), pio_agg_cmp);
		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t j = 0; j < t->n && r >= 0;) {
			uint64_t sum = 0;
			size_t k = j;

			while (k < t->n && !pio_agg_cmp(&t->v[j], &t->v[k]))
				sum += t->v[k++].count;
			snprintf(port, sizeof(port), "0x%x", t->v[j].port);
			r = metrics_sample(sb, "kvmscope_pio_total",
				(struct metrics_label[]){ { "pid", pid }, { "vm", vm_display_name(vm, dn, sizeof(dn)) },
					{ "port", port }, { "direction", pio_direction_name(t->v[j].direction) } },
				4, sum);
			j = k;
		}
	}
	if (r >= 0 && st->loaded) {
		int fd = bpf_map__fd(st->skel->maps.exit_drops);

		r = metrics_family(sb, "kvmscope_exit_events_dropped_total", "counter",
				   "Exit events not counted because a bounded map was full.");
		for (uint32_t d = 0; d < KVMSCOPE_DROP_MAX && r >= 0; d++)
			r = metrics_sample(sb, "kvmscope_exit_events_dropped_total",
					   (struct metrics_label[]){ { "map", drop_names[d] } }, 1,
					   percpu_sum(st, fd, &d));
	}
	for (size_t i = 0; i < m->n_vms; i++)
		table_free(&per_vm[i]);
	free(per_vm);
	table_free(&live);
	return r;
oom:
	table_free(&live);
	return -ENOMEM;
}

/* ---- probe, attach, describe ---- */

static bool kernel_has_kvm_vcpu_btf(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod;
	bool found = false;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, "kvm_vcpu", BTF_KIND_STRUCT) > 0;
	if (!found) {
		mod = btf__load_module_btf("kvm", vmlinux);
		if (mod) {
			found = btf__find_by_name_kind(mod, "kvm_vcpu", BTF_KIND_STRUCT) > 0;
			btf__free(mod);
		}
	}
	btf__free(vmlinux);
	return found;
}

/* Does the tracepoint exist, with the record layout the BPF program reads? */
static void check_tracepoint(struct exits_probe *p)
{
	char *fmt = NULL;
	int r = tracefs_read_format(p->category, p->event, &fmt);

	if (r < 0) {
		if (!tracefs_root())
			snprintf(p->reason, sizeof(p->reason),
				 "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)");
		else if (r == -ENOENT)
			snprintf(p->reason, sizeof(p->reason), "the kernel has no %s:%s tracepoint%s",
				 p->category, p->event,
				 strcmp(p->category, "kvm") ? "" : " (is KVM loaded?)");
		else
			snprintf(p->reason, sizeof(p->reason), "cannot read the %s format: %s",
				 p->event, strerror(-r));
		return;
	}
	for (size_t i = 0; i < 3 && p->fields[i].field; i++) {
		int off, size;

		if (tracefs_field_layout(fmt, p->fields[i].field, &off, &size) < 0) {
			snprintf(p->reason, sizeof(p->reason), "%s has no field '%s'", p->event,
				 p->fields[i].field);
			goto out;
		}
		if (off != p->fields[i].offset || size != p->fields[i].size) {
			snprintf(p->reason, sizeof(p->reason),
				 "%s.%s is at offset %d size %d, the program expects %d/%d", p->event,
				 p->fields[i].field, off, size, p->fields[i].offset, p->fields[i].size);
			goto out;
		}
	}
	p->available = true;
out:
	free(fmt);
}

/*
 * Can tp_btf/<event> be used: the kernel's btf_trace_<event> typedef is in
 * @btf (the kvm module's, which includes vmlinux), and where the program
 * reads its first argument as a vCPU, it is a struct kvm_vcpu * (kvm_exit's
 * was the exit reason before Linux 5.16).
 */
static const struct btf_type *btf_strip(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

static bool tp_btf_usable(const struct btf *btf, const struct exits_probe *p, char *why, size_t len)
{
	const struct btf_type *t, *arg;
	char tname[96];
	int id;

	snprintf(tname, sizeof(tname), "btf_trace_%s", p->event);
	id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id <= 0) {
		snprintf(why, len, "kernel BTF has no %s", tname);
		return false;
	}
	t = btf_strip(btf, (uint32_t)id);
	t = t && btf_is_ptr(t) ? btf_strip(btf, t->type) : NULL;
	if (!t || !btf_is_func_proto(t)) {
		snprintf(why, len, "%s is not a pointer to a function", tname);
		return false;
	}
	if (!p->btf_vcpu_arg)
		return true;
	/* Parameter 0 is the tracepoint's void *data; the arguments follow. */
	arg = btf_vlen(t) >= 2 ? btf_strip(btf, btf_params(t)[1].type) : NULL;
	arg = arg && btf_is_ptr(arg) ? btf_strip(btf, arg->type) : NULL;
	if (!arg || !btf_is_struct(arg) || strcmp(btf__name_by_offset(btf, arg->name_off), "kvm_vcpu")) {
		snprintf(why, len, "the first argument of %s is not a struct kvm_vcpu *", p->event);
		return false;
	}
	return true;
}

/*
 * Choose, per event, the tp_btf program (no trace record is built) or the
 * classic one, and whether the KVM_RUN syscall hook is needed at all.
 */
static void choose_probes(struct exits_state *st, bool allow_btf, bool allow_fentry)
{
	const char *backend = st->m->kvm_backend;
	bool hw_backend = !strcmp(backend, "kvm_amd") || !strcmp(backend, "kvm_intel");
	struct btf *vmlinux = allow_btf ? btf__load_vmlinux_btf() : NULL, *kvm = NULL;
	struct exits_probe *ioctl = &st->probes[PROBE_IOCTL], *dev = &st->probes[PROBE_DEV_IOCTL];

	if (vmlinux)
		kvm = btf__load_module_btf("kvm", vmlinux);
	for (size_t i = 0; i < N_PROBES; i++) {
		struct exits_probe *p = &st->probes[i];
		char why[160] = "";

		p->use_btf = p->not_needed = p->available = false;
		p->reason[0] = '\0';
		if (p->fentry) {
			snprintf(p->name, sizeof(p->name), "fentry/%s", p->event);
			continue;	/* decided below */
		}
		if (vmlinux && p->btf_prog_name) {
			if (i == PROBE_KVM_EXIT && strcmp(backend, "kvm_amd"))
				snprintf(why, sizeof(why), "its reason is read from the VMCB (SVM only)");
			else
				p->use_btf = tp_btf_usable(kvm ? kvm : vmlinux, p, why, sizeof(why));
		}
		if (p->use_btf) {
			snprintf(p->name, sizeof(p->name), "tp_btf/%s", p->event);
			p->available = true;
			continue;
		}
		snprintf(p->name, sizeof(p->name), "tracepoint/%s/%s", p->category, p->event);
		if (why[0])
			log_info("exits: %s: classic tracepoint, not tp_btf: %s", p->event, why);
		check_tracepoint(p);
	}
	for (size_t i = 0; i < N_PROBES; i++) {
		struct exits_probe *p = &st->probes[i];

		if (!p->view || (st->m->opts.collect & p->view))
			continue;
		p->available = p->use_btf = false;
		p->not_needed = true;
		snprintf(p->reason, sizeof(p->reason), "switched off: --collect has no %s",
			 collect_name(p->view));
	}
	/*
	 * A syscall tracepoint puts every system call on the host on the slow
	 * path.  Where the hardware backend fires kvm_entry or kvm_exit with a
	 * vCPU argument, that does the hook's work (resolve the thread's vCPU,
	 * end the VMM's time), and an fentry on /dev/kvm's ioctl sees
	 * KVM_CREATE_VM.
	 */
	if (hw_backend && allow_fentry && st->vcpu_btf &&
	    (st->probes[PROBE_KVM_ENTRY].use_btf || st->probes[PROBE_KVM_EXIT].use_btf)) {
		dev->available = true;
		ioctl->available = false;
		ioctl->not_needed = true;
		snprintf(ioctl->reason, sizeof(ioctl->reason),
			 "not needed: tp_btf %s resolves vCPUs%s on %s, "
			 "fentry/kvm_dev_ioctl sees KVM_CREATE_VM",
			 st->probes[PROBE_KVM_ENTRY].use_btf ? "kvm_entry" : "kvm_exit",
			 st->probes[PROBE_KVM_ENTRY].use_btf ? " and ends the VMM's time" : "", backend);
	} else {
		dev->not_needed = true;
		snprintf(dev->reason, sizeof(dev->reason),
			 "not needed: sys_enter_ioctl sees KVM_CREATE_VM");
	}
	btf__free(kvm);
	btf__free(vmlinux);
}

static int open_and_load(struct exits_state *st)
{
	int r;

	st->skel = exits_bpf__open();
	if (!st->skel) {
		r = -errno;
		snprintf(st->load_error, sizeof(st->load_error), "cannot open the BPF object: %s",
			 strerror(-r));
		return r;
	}
	st->skel->rodata->resolve_vcpu = st->vcpu_btf;
	/* Exits are counted when timed: only if something ends their time. */
	st->skel->rodata->collect_latency = (st->m->opts.collect & COLLECT_LATENCY) &&
		st->probes[PROBE_KVM_ENTRY].available;
	st->skel->rodata->collect_backdoor = st->m->opts.collect & COLLECT_BACKDOOR;
	for (size_t i = 0; i < N_PROBES; i++) {
		const struct exits_probe *p = &st->probes[i];
		struct bpf_program *classic =
			bpf_object__find_program_by_name(st->skel->obj, p->prog_name);
		struct bpf_program *btf = p->btf_prog_name ?
			bpf_object__find_program_by_name(st->skel->obj, p->btf_prog_name) : NULL;

		if (classic)
			bpf_program__set_autoload(classic, p->available && !p->use_btf);
		if (btf)
			bpf_program__set_autoload(btf, p->available && p->use_btf);
	}
	r = exits_bpf__load(st->skel);
	if (r < 0) {
		snprintf(st->load_error, sizeof(st->load_error),
			 "cannot load the BPF programs: %s (run as root; see the log for the verifier)",
			 strerror(-r));
		exits_bpf__destroy(st->skel);
		st->skel = NULL;
	}
	return r;
}

static void exits_free(void *state)
{
	struct exits_state *st = state;

	if (!st)
		return;
	for (size_t i = 0; i < N_PROBES; i++)
		bpf_link__destroy(st->probes[i].link);
	sd_event_source_disable_unref(st->stream_timer);
	sd_event_source_disable_unref(st->rb_source);
	ring_buffer__free(st->rb);
	exits_bpf__destroy(st->skel);
	table_free(&st->snapshots);
	table_free(&st->rates);
	for (size_t i = 0; i < st->n_kvm_stats; i++)
		json_decref(st->kvm_stats[i].stats);
	free(st->kvm_stats);
	free(st->percpu);
	free(st);
}

/*
 * libbpf's messages, one log line per line: a failed load hands over the
 * whole verifier log in one message, and that log is what explains it.
 */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int prio = level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG;
	char *msg = NULL, *line, *save = NULL;

	if (level == LIBBPF_DEBUG && log_get_max_level() < LOG_DEBUG)
		return 0;
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_internal(prio, 0, "%s", line);
	free(msg);
	return 0;
}

static int exits_probe(struct manager *m, void **state)
{
	struct exits_state *st;
	int r, any = 0;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->m = m;
	memcpy(st->probes, probe_templates, sizeof(probe_templates));
	libbpf_set_print(libbpf_log);
	st->ncpus = libbpf_num_possible_cpus();
	if (st->ncpus <= 0) {
		exits_free(st);
		return -EINVAL;
	}
	st->percpu = calloc((size_t)st->ncpus, sizeof(uint64_t));
	if (!st->percpu) {
		exits_free(st);
		return -ENOMEM;
	}
	st->vcpu_btf = kernel_has_kvm_vcpu_btf();
	*state = st;
	/* Cheapest first: tp_btf and fentry, then tp_btf alone, then classic. */
	choose_probes(st, true, true);
	for (size_t i = 0; i < N_PROBES; i++)
		any |= st->probes[i].available;
	if (!any) {
		snprintf(st->load_error, sizeof(st->load_error), "no tracepoint to attach to");
		return 0;
	}
	r = open_and_load(st);
	if (r < 0 && st->probes[PROBE_DEV_IOCTL].available) {
		log_warning("exits: %s with fentry; trying without", st->load_error);
		choose_probes(st, true, false);
		r = open_and_load(st);
	}
	if (r < 0 && st->probes[PROBE_KVM_ENTRY].use_btf) {
		log_warning("exits: %s with tp_btf; trying classic tracepoints", st->load_error);
		choose_probes(st, false, false);
		r = open_and_load(st);
	}
	if (r < 0) {
		log_error("exits: %s", st->load_error);
		return 0;
	}
	st->loaded = true;
	st->rb = ring_buffer__new(bpf_map__fd(st->skel->maps.vm_events), on_vm_event, st, NULL);
	if (st->rb && ring_buffer__add(st->rb, bpf_map__fd(st->skel->maps.exit_stream), on_exit_event,
				       st) < 0)
		log_warning("exits: cannot read the exit stream; events.subscribe gets VM events only");
	if (st->rb) {
		r = sd_event_add_io(m->event, &st->rb_source, ring_buffer__epoll_fd(st->rb), EPOLLIN,
				    on_ringbuf, st);
		if (r < 0)
			log_warning_errno(r, "exits: VM start events will be noticed by polling: %m");
	}
	return 0;
}

static int exits_attach(void *state)
{
	struct exits_state *st = state;
	int attached = 0;

	if (!st->loaded) {
		for (size_t i = 0; i < N_PROBES; i++)
			if (st->probes[i].available)
				snprintf(st->probes[i].reason, sizeof(st->probes[i].reason), "%s",
					 st->load_error);
		return -ENOENT;
	}
	for (size_t i = 0; i < N_PROBES; i++) {
		struct exits_probe *p = &st->probes[i];
		struct bpf_program *prog;

		if (!p->available)
			continue;
		prog = bpf_object__find_program_by_name(st->skel->obj,
							p->use_btf ? p->btf_prog_name : p->prog_name);
		p->link = prog ? bpf_program__attach(prog) : NULL;
		if (!p->link) {
			snprintf(p->reason, sizeof(p->reason), "attach failed: %s", strerror(errno));
			log_warning("exits: %s: %s", p->name, p->reason);
			continue;
		}
		p->attached = true;
		attached++;
	}
	for (size_t i = 0; i < N_PROBES; i++)
		if (!st->probes[i].attached && !st->probes[i].not_needed)
			log_notice("exits: %s not attached: %s", st->probes[i].name, st->probes[i].reason);
	return attached;
}

static json_t *exits_describe(void *state)
{
	struct exits_state *st = state;
	json_t *probes = json_array(), *drops = json_object(), *isas = json_array(), *extra, *out;
	json_t *collect = json_array();
	bool latency = st->m->opts.collect & COLLECT_LATENCY;
	bool backdoor = st->m->opts.collect & COLLECT_BACKDOOR;
	const struct exits_probe *ioctl = &st->probes[PROBE_IOCTL], *entry = &st->probes[PROBE_KVM_ENTRY];
	const struct exits_probe *uexit = &st->probes[PROBE_USERSPACE_EXIT];
	bool entry_resolves = entry->attached && entry->use_btf;
	bool resolves = st->vcpu_btf && (ioctl->attached || entry_resolves);
	size_t attached = 0, wanted = 0;

	for (size_t i = 0; i < N_PROBES; i++) {
		const struct exits_probe *p = &st->probes[i];

		attached += p->attached;
		wanted += !p->not_needed;
		json_array_append_new(probes, json_pack("{s:s, s:s, s:b, s:b, s:s?}", "name", p->name,
			"type", p->fentry ? "fentry" : p->use_btf ? "tp_btf" : "tracepoint", "available", p->available,
			"attached", p->attached, "reason", p->attached ? NULL : p->reason));
	}
	for (uint32_t d = 0; d < KVMSCOPE_DROP_MAX; d++)
		json_object_set_new(drops, drop_names[d], json_integer(st->loaded ?
			(json_int_t)percpu_sum(st, bpf_map__fd(st->skel->maps.exit_drops), &d) : 0));
	/* ISAs whose kvm_exit has been seen, live or in a retained snapshot. */
	for (size_t i = 0; i < st->snapshots.n; i++)
		if (st->snapshots.v[i].kind == EXIT_KIND_HW)
			st->isas_seen |= 1u << (st->snapshots.v[i].isa & 31);
	for (uint32_t isa = 0; isa < 32; isa++)
		if (st->isas_seen & (1u << isa))
			json_array_append_new(isas, json_string(isa_name(isa)));
	for (unsigned int v = 1; v & COLLECT_ALL; v <<= 1)
		if (st->m->opts.collect & v)
			json_array_append_new(collect, json_string(collect_name(v)));
	extra = json_pack("{s:o, s:o, s:{s:b, s:s}, s:{s:b, s:s}, s:{s:b, s:s}}", "isas_seen", isas,
		"collect", collect,
		"handling_latency", "available", entry->attached && st->probes[PROBE_KVM_EXIT].attached,
		"how", !latency ? "switched off: --collect has no latency"
			: entry->attached ? "kvm_exit -> next kvm_entry of the thread"
			: "unavailable: kvm_entry is not attached",
		"vmm_latency", "available", latency && uexit->attached && (ioctl->attached || entry->attached),
		"how", !latency ? "switched off: --collect has no latency"
			: ioctl->attached ? "kvm_userspace_exit -> the thread's next KVM_RUN"
			: entry->attached ? "kvm_userspace_exit -> the thread's next kvm_entry"
			: "unavailable: neither the KVM_RUN hook nor kvm_entry is attached",
		"vmware_backdoor", "available", backdoor && resolves && uexit->attached,
		"how", !backdoor ? "switched off: --collect has no backdoor"
			: !st->vcpu_btf ? "unavailable: kernel BTF has no struct kvm_vcpu to read the registers from"
			: ioctl->attached ? "RAX/RCX of the vCPU (struct kvm_vcpu via the KVM_RUN fd) at KVM_EXIT_IO on 0x5658/0x5659"
			: "RAX/RCX of the vCPU (struct kvm_vcpu from kvm_entry) at KVM_EXIT_IO on 0x5658/0x5659");
	out = json_pack("{s:s, s:i, s:o, s:{s:b, s:s}, s:o}", "state",
			 attached == wanted ? "active" : attached ? "degraded" : "inactive",
			 "schema_version", KVMSCOPE_EXITS_SCHEMA_VERSION, "probes", probes,
			 "vcpu_resolution", "available", resolves, "how",
			 !st->vcpu_btf ? "unavailable: kernel BTF has no struct kvm_vcpu; vcpu shows as unknown"
			 : ioctl->attached ? "KVM_RUN fd -> struct kvm_vcpu (kernel BTF)"
			 : "kvm_entry's struct kvm_vcpu (tp_btf), at the thread's first entry",
			 "dropped", drops);
	json_object_update(out, extra);
	json_decref(extra);
	return out;
}

const struct capability_ops exits_capability = {
	.name = "exits",
	.probe = exits_probe,
	.attach = exits_attach,
	.collect = exits_collect,
	.describe = exits_describe,
	.metrics = exits_metrics,
	.vm_exited = exits_vm_exited,
	.vm_forget = exits_vm_forget,
	.free = exits_free,
	.stream = exits_stream,
	.methods = exits_methods,
};
