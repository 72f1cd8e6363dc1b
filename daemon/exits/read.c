// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading the exits maps: each map walked in bpf_map_lookup_batch() calls
 * of 4096 entries through one buffer that lives as long as the daemon
 * (one get_next_key + lookup per key only where the kernel has no batch
 * operations), each entry turned into a record as it comes; a VM's keys
 * are deleted with bpf_map_delete_batch().  Neither the tick nor a VM's
 * teardown makes a syscall per key, and memory holds one batch, not a
 * copy of every map.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "exits.skel.h"
#include "exits/exits.h"
#include "log.h"

/* Keys per batch call: big enough that a hash bucket always fits. */
#define BATCH_KEYS 4096
#define KEY_MAX 64

static int batch_buffers(struct exits_state *st, size_t key_size, size_t value_size)
{
	void *k, *v;

	if (st->batch_keys && key_size <= st->batch_key_size && value_size <= st->batch_value_size)
		return 0;
	key_size = key_size > st->batch_key_size ? key_size : st->batch_key_size;
	value_size = value_size > st->batch_value_size ? value_size : st->batch_value_size;
	k = realloc(st->batch_keys, BATCH_KEYS * key_size);
	if (!k)
		return -ENOMEM;
	st->batch_keys = k;
	v = realloc(st->batch_values, BATCH_KEYS * value_size);
	if (!v)
		return -ENOMEM;
	st->batch_values = v;
	st->batch_key_size = key_size;
	st->batch_value_size = value_size;
	return 0;
}

/* The old way, one key at a time, for kernels without batch operations. */
static int walk_by_key(struct exits_state *st, int fd, size_t key_size, exits_entry_fn fn, void *ctx)
{
	char prev[KEY_MAX], key[KEY_MAX];
	bool first = true;
	int r;

	while (bpf_map_get_next_key(fd, first ? NULL : prev, key) == 0) {
		first = false;
		memcpy(prev, key, key_size);
		if (bpf_map_lookup_elem(fd, key, st->batch_values))
			continue;	/* deleted meanwhile */
		r = fn(st, key, st->batch_values, ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

int exits_map_walk(struct exits_state *st, struct bpf_map *map, exits_entry_fn fn, void *ctx)
{
	enum bpf_map_type type = bpf_map__type(map);
	bool percpu = type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	size_t key_size = bpf_map__key_size(map), value_size = bpf_map__value_size(map);
	int fd = bpf_map__fd(map), r;
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true;

	if (percpu)
		value_size = ((value_size + 7) & ~(size_t)7) * (size_t)st->ncpus;
	if (key_size > KEY_MAX)
		return -EINVAL;
	r = batch_buffers(st, key_size, value_size);
	if (r < 0)
		return r;
	for (;;) {
		__u32 count = BATCH_KEYS;
		int q;

		r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, st->batch_keys,
					 st->batch_values, &count, NULL);
		if (r < 0)
			r = -errno;
		if (r < 0 && r != -ENOENT) {
			if (first && (r == -EINVAL || r == -ENOTSUP || r == -EOPNOTSUPP ||
				      r == -524 /* ENOTSUPP */))
				return walk_by_key(st, fd, key_size, fn, ctx);
			return r;
		}
		for (__u32 i = 0; i < count; i++) {
			q = fn(st, (char *)st->batch_keys + i * key_size,
			       (char *)st->batch_values + i * value_size, ctx);
			if (q < 0)
				return q;
		}
		if (r == -ENOENT)
			return 0;	/* the end of the map */
		in_batch = out_batch;
		first = false;
	}
}

static uint64_t value_sum(const struct exits_state *st, const void *value)
{
	const uint64_t *v = value;
	uint64_t sum = 0;

	for (int c = 0; c < st->ncpus; c++)
		sum += v[c];
	return sum;
}

uint64_t exits_percpu_sum(struct exits_state *st, int map_fd, const void *key)
{
	uint64_t values[st->ncpus];

	if (bpf_map_lookup_elem(map_fd, key, values))
		return 0;
	return value_sum(st, values);
}

/* Turns key @k of a counting map into a record (count and union left to the caller). */
typedef void (*record_maker)(const void *k, struct exit_record *rec);

static void make_hw(const void *p, struct exit_record *rec)
{
	const struct kvmscope_hw_exit_key *k = p;

	*rec = (struct exit_record){ .kind = EXIT_KIND_HW, .pid = k->tgid, .vcpu = k->vcpu,
				     .isa = k->isa, .reason = k->reason };
}

static void make_user(const void *p, struct exit_record *rec)
{
	const struct kvmscope_user_exit_key *k = p;

	*rec = (struct exit_record){ .kind = EXIT_KIND_USER, .pid = k->tgid, .vcpu = k->vcpu,
				     .reason = k->reason };
}

static void make_pio(const void *p, struct exit_record *rec)
{
	const struct kvmscope_pio_key *k = p;

	*rec = (struct exit_record){ .kind = EXIT_KIND_PIO, .pid = k->tgid, .vcpu = k->vcpu,
				     .port = k->port, .direction = k->direction, .size = k->size };
}

static void make_detail(const void *p, struct exit_record *rec)
{
	const struct kvmscope_detail_key *k = p;

	*rec = (struct exit_record){ .kind = EXIT_KIND_DETAIL, .pid = k->tgid, .reason = k->kind,
				     .direction = k->dir, .id = k->id };
}

static void make_detail_other(const void *p, struct exit_record *rec)
{
	const struct kvmscope_detail_other_key *k = p;

	*rec = (struct exit_record){ .kind = EXIT_KIND_DETAIL_OTHER, .pid = k->tgid,
				     .reason = k->kind };
}

struct read_ctx {
	struct exit_table *t;
	record_maker make;
	uint8_t kind;		/* for histograms: EXIT_KIND_HW_LAT or _USER_LAT */
};

static int add_count(struct exits_state *st, const void *key, const void *value, void *p)
{
	struct read_ctx *c = p;
	struct exit_record rec;

	c->make(key, &rec);
	rec.count = value_sum(st, value);
	return rec.count ? exit_table_push(c->t, &rec) : 0;
}

static int add_hist(struct exits_state *st, const void *key, const void *value, void *p)
{
	struct read_ctx *c = p;
	struct exit_record rec;

	c->make(key, &rec);
	rec.kind = c->kind;
	return exit_table_push_hist(c->t, &rec, value);
}

/* Exits still being handled, or waiting in the VMM, one record each. */
static int add_pending(struct exits_state *st, const void *key, const void *value, void *p)
{
	const struct kvmscope_thread_vcpu *tv = value;
	struct read_ctx *c = p;
	int r = 0;

	if (tv->exit_ts)
		r = exit_table_push(c->t, &(struct exit_record){ .kind = EXIT_KIND_HW_PENDING,
			.pid = tv->tgid, .vcpu = tv->vcpu, .isa = tv->exit_isa,
			.reason = tv->exit_reason, .count = 1 });
	if (tv->user_ts && r >= 0)
		r = exit_table_push(c->t, &(struct exit_record){ .kind = EXIT_KIND_USER_PENDING,
			.pid = tv->tgid, .vcpu = tv->vcpu, .reason = tv->user_reason, .count = 1 });
	return r;
}

static int read_counts(struct exits_state *st, struct bpf_map *map, record_maker make,
		       struct exit_table *t)
{
	struct read_ctx c = { .t = t, .make = make };

	return exits_map_walk(st, map, add_count, &c);
}

static int read_hists(struct exits_state *st, struct bpf_map *map, record_maker make, uint8_t kind,
		      struct exit_table *t)
{
	struct read_ctx c = { .t = t, .make = make, .kind = kind };

	return exits_map_walk(st, map, add_hist, &c);
}

int exits_read_all(struct exits_state *st, struct exit_table *t)
{
	struct exits_bpf *s = st->skel;
	struct read_ctx pending = { .t = t };
	int r = 0;

	if (!st->loaded)
		return 0;
	if (r >= 0)
		r = read_counts(st, s->maps.hw_exits, make_hw, t);
	if (r >= 0)
		r = read_counts(st, s->maps.user_exits, make_user, t);
	if (r >= 0)
		r = read_counts(st, s->maps.pio_exits, make_pio, t);
	if (r >= 0)
		r = read_counts(st, s->maps.detail, make_detail, t);
	if (r >= 0)
		r = read_counts(st, s->maps.detail_other, make_detail_other, t);
	if (r >= 0)
		r = read_hists(st, s->maps.hw_latency, make_hw, EXIT_KIND_HW_LAT, t);
	if (r >= 0)
		r = read_hists(st, s->maps.user_latency, make_user, EXIT_KIND_USER_LAT, t);
	if (r >= 0)
		r = exits_map_walk(st, s->maps.thread_vcpu, add_pending, &pending);
	if (r >= 0)
		r = exit_table_fold_timed(t, &st->fold_scratch);
	return r;
}

struct drops_ctx {
	struct exits_snapshot *snap;
	size_t cap;
};

/* VMs that lost exits: most have not, and hold no entry in the snapshot. */
static int add_drops(struct exits_state *st, const void *key, const void *value, void *p)
{
	const struct kvmscope_vm_state *vs = value;
	struct drops_ctx *c = p;
	struct exits_snapshot *s = c->snap;
	bool any = false;

	for (unsigned int d = 0; d < KVMSCOPE_DROP_MAX; d++)
		any |= vs->dropped[d] != 0;
	if (!any)
		return 0;
	if (s->n_drop_pids == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		uint32_t *pids = realloc(s->drop_pids, cap * sizeof(*pids));
		uint64_t (*counts)[KVMSCOPE_DROP_MAX];

		if (!pids)
			return -ENOMEM;
		s->drop_pids = pids;
		counts = realloc(s->drop_counts, cap * sizeof(*counts));
		if (!counts)
			return -ENOMEM;
		s->drop_counts = counts;
		c->cap = cap;
	}
	s->drop_pids[s->n_drop_pids] = *(const uint32_t *)key;
	memcpy(s->drop_counts[s->n_drop_pids], vs->dropped, sizeof(vs->dropped));
	s->n_drop_pids++;
	return 0;
}

void exits_read_drops(struct exits_state *st, struct exits_snapshot *snap)
{
	struct drops_ctx c = { .snap = snap };

	for (uint32_t k = 0; k < KVMSCOPE_DROP_MAX; k++)
		snap->drops[k] = st->loaded ?
			exits_percpu_sum(st, bpf_map__fd(st->skel->maps.exit_drops), &k) : 0;
	if (!st->loaded)
		return;
	if (exits_map_walk(st, st->skel->maps.vm_state, add_drops, &c) < 0)
		log_warning("exits: cannot read the per-VM drop counts");
	/* Sorted by pid for lookups; few VMs lose anything. */
	for (size_t i = 1; i < snap->n_drop_pids; i++) {
		uint64_t counts[KVMSCOPE_DROP_MAX];
		uint32_t pid = snap->drop_pids[i];
		size_t j = i;

		memcpy(counts, snap->drop_counts[i], sizeof(counts));
		for (; j && snap->drop_pids[j - 1] > pid; j--) {
			snap->drop_pids[j] = snap->drop_pids[j - 1];
			memcpy(snap->drop_counts[j], snap->drop_counts[j - 1], sizeof(counts));
		}
		snap->drop_pids[j] = pid;
		memcpy(snap->drop_counts[j], counts, sizeof(counts));
	}
}

struct delete_ctx {
	const uint32_t *pids;
	size_t npids, key_size, n, cap;
	bool pid_in_value;
	char *keys;
};

static int collect_key(struct exits_state *st, const void *key, const void *value, void *p)
{
	struct delete_ctx *c = p;
	uint32_t pid = *(const uint32_t *)(c->pid_in_value ? value : key);

	if (!pid_listed(c->pids, c->npids, pid))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		char *k = realloc(c->keys, cap * c->key_size);

		if (!k)
			return -ENOMEM;
		c->keys = k;
		c->cap = cap;
	}
	memcpy(c->keys + c->n++ * c->key_size, key, c->key_size);
	return 0;
}

/* Delete the keys of @pids from @map: the pid is each key's first field, or the value's. */
static void delete_pids_from(struct exits_state *st, struct bpf_map *map, const uint32_t *pids,
			     size_t npids, bool pid_in_value)
{
	struct delete_ctx c = { .pids = pids, .npids = npids, .pid_in_value = pid_in_value,
				.key_size = bpf_map__key_size(map) };
	int fd = bpf_map__fd(map);

	if (exits_map_walk(st, map, collect_key, &c) < 0)
		log_warning("exits: cannot list the keys of exited VMs in %s", bpf_map__name(map));
	if (c.n) {
		__u32 count = (__u32)c.n;

		/* A key gone meanwhile ends a batch early: delete the rest one by one. */
		if (bpf_map_delete_batch(fd, c.keys, &count, NULL) < 0)
			for (size_t i = count; i < c.n; i++)
				bpf_map_delete_elem(fd, c.keys + i * c.key_size);
	}
	free(c.keys);
}

void exits_delete_pids(struct exits_state *st, const uint32_t *pids, size_t n)
{
	struct exits_bpf *s = st->skel;

	if (!st->loaded || !n)
		return;
	delete_pids_from(st, s->maps.hw_exits, pids, n, false);
	delete_pids_from(st, s->maps.user_exits, pids, n, false);
	delete_pids_from(st, s->maps.pio_exits, pids, n, false);
	delete_pids_from(st, s->maps.hw_latency, pids, n, false);
	delete_pids_from(st, s->maps.user_latency, pids, n, false);
	delete_pids_from(st, s->maps.detail, pids, n, false);
	delete_pids_from(st, s->maps.detail_other, pids, n, false);
	delete_pids_from(st, s->maps.vms_seen, pids, n, false);
	delete_pids_from(st, s->maps.vm_state, pids, n, false);
	/* thread_vcpu is keyed by tid: its value names the process. */
	delete_pids_from(st, s->maps.thread_vcpu, pids, n, true);
}
