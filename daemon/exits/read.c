// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading the exits maps: each map in a few bpf_map_lookup_batch() calls
 * (one get_next_key + lookup per key only where the kernel has no batch
 * operations), and a VM's keys deleted with bpf_map_delete_batch(), so
 * the cost of a tick or a VM teardown does not grow with one syscall per
 * key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "exits.skel.h"
#include "exits/exits.h"
#include "hist.h"
#include "log.h"

/* Keys per batch call: big enough that a hash bucket always fits. */
#define BATCH_KEYS 4096

struct map_dump {
	size_t key_size, value_size;	/* value_size: all CPUs of a per-CPU map */
	char *keys, *values;
	size_t n;
};

static void map_dump_free(struct map_dump *d)
{
	free(d->keys);
	free(d->values);
	memset(d, 0, sizeof(*d));
}

static int dump_grow(struct map_dump *d, size_t *cap, size_t want)
{
	char *k, *v;

	if (want <= *cap)
		return 0;
	while (*cap < want)
		*cap = *cap ? *cap * 2 : BATCH_KEYS;
	k = realloc(d->keys, *cap * d->key_size);
	if (!k)
		return -ENOMEM;
	d->keys = k;
	v = realloc(d->values, *cap * d->value_size);
	if (!v)
		return -ENOMEM;
	d->values = v;
	return 0;
}

/* The old way, one key at a time, for kernels without batch operations. */
static int dump_by_key(int fd, struct map_dump *d, size_t *cap)
{
	char prev[64], key[64];
	bool first = true;
	int r;

	while (bpf_map_get_next_key(fd, first ? NULL : prev, key) == 0) {
		first = false;
		memcpy(prev, key, d->key_size);
		r = dump_grow(d, cap, d->n + 1);
		if (r < 0)
			return r;
		if (bpf_map_lookup_elem(fd, key, d->values + d->n * d->value_size))
			continue;	/* deleted meanwhile */
		memcpy(d->keys + d->n * d->key_size, key, d->key_size);
		d->n++;
	}
	return 0;
}

static int map_dump(struct bpf_map *map, int ncpus, struct map_dump *d)
{
	enum bpf_map_type type = bpf_map__type(map);
	bool percpu = type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	int fd = bpf_map__fd(map);
	uint64_t in_batch = 0, out_batch = 0;
	size_t cap = 0;
	bool first = true;
	int r;

	memset(d, 0, sizeof(*d));
	d->key_size = bpf_map__key_size(map);
	d->value_size = bpf_map__value_size(map);
	if (percpu)
		d->value_size = ((d->value_size + 7) & ~(size_t)7) * (size_t)ncpus;
	if (d->key_size > 64)
		return -EINVAL;
	for (;;) {
		__u32 count = BATCH_KEYS;

		r = dump_grow(d, &cap, d->n + BATCH_KEYS);
		if (r < 0)
			return r;
		r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
					 d->keys + d->n * d->key_size,
					 d->values + d->n * d->value_size, &count, NULL);
		if (r < 0)
			r = -errno;
		d->n += count;
		if (r == -ENOENT)
			return 0;	/* the end of the map */
		if (r < 0) {
			if (first && (r == -EINVAL || r == -ENOTSUP || r == -EOPNOTSUPP || r == -524 /* ENOTSUPP */))
				return dump_by_key(fd, d, &cap);
			return r;
		}
		in_batch = out_batch;
		first = false;
	}
}

static uint64_t value_sum(const struct map_dump *d, size_t i, int ncpus, bool percpu)
{
	const uint64_t *v = (const uint64_t *)(d->values + i * d->value_size);
	uint64_t sum = 0;

	if (!percpu)
		return v[0];
	for (int c = 0; c < ncpus; c++)
		sum += v[c];
	return sum;
}

uint64_t exits_percpu_sum(struct exits_state *st, int map_fd, const void *key)
{
	uint64_t values[st->ncpus], sum = 0;

	if (bpf_map_lookup_elem(map_fd, key, values))
		return 0;
	for (int i = 0; i < st->ncpus; i++)
		sum += values[i];
	return sum;
}

/* Records of one counting map: @make turns key @k and its count into a record. */
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

static int read_counts(struct exits_state *st, struct bpf_map *map, record_maker make,
		       struct exit_table *t)
{
	struct map_dump d;
	int r = map_dump(map, st->ncpus, &d);

	for (size_t i = 0; r >= 0 && i < d.n; i++) {
		struct exit_record rec;

		make(d.keys + i * d.key_size, &rec);
		rec.count = value_sum(&d, i, st->ncpus, true);
		if (rec.count)
			r = exit_table_push(t, &rec);
	}
	map_dump_free(&d);
	return r;
}

static int read_hists(struct exits_state *st, struct bpf_map *map, record_maker make, uint8_t kind,
		      struct exit_table *t)
{
	struct map_dump d;
	int r = map_dump(map, st->ncpus, &d);

	for (size_t i = 0; r >= 0 && i < d.n; i++) {
		struct exit_record rec;

		make(d.keys + i * d.key_size, &rec);
		rec.kind = kind;
		memcpy(&rec.hist, d.values + i * d.value_size, sizeof(rec.hist));
		rec.count = hist_count(&rec.hist);
		r = exit_table_push(t, &rec);
	}
	map_dump_free(&d);
	return r;
}

/* Exits still being handled, or waiting in the VMM, one record each. */
static int read_pending(struct exits_state *st, struct exit_table *t)
{
	struct map_dump d;
	int r = map_dump(st->skel->maps.thread_vcpu, st->ncpus, &d);

	for (size_t i = 0; r >= 0 && i < d.n; i++) {
		const struct kvmscope_thread_vcpu *tv =
			(const void *)(d.values + i * d.value_size);

		if (tv->exit_ts)
			r = exit_table_push(t, &(struct exit_record){ .kind = EXIT_KIND_HW_PENDING,
				.pid = tv->tgid, .vcpu = tv->vcpu, .isa = tv->exit_isa,
				.reason = tv->exit_reason, .count = 1 });
		if (tv->user_ts && r >= 0)
			r = exit_table_push(t, &(struct exit_record){ .kind = EXIT_KIND_USER_PENDING,
				.pid = tv->tgid, .vcpu = tv->vcpu, .reason = tv->user_reason,
				.count = 1 });
	}
	map_dump_free(&d);
	return r;
}

int exits_read_all(struct exits_state *st, struct exit_table *t)
{
	struct exits_bpf *s = st->skel;
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
		r = read_pending(st, t);
	if (r >= 0)
		r = exit_table_fold_timed(t);
	if (r >= 0)
		exit_table_sort(t);
	return r;
}

void exits_read_drops(struct exits_state *st, struct exits_snapshot *snap)
{
	struct map_dump d;
	size_t n = 0;

	for (uint32_t k = 0; k < KVMSCOPE_DROP_MAX; k++)
		snap->drops[k] = st->loaded ?
			exits_percpu_sum(st, bpf_map__fd(st->skel->maps.exit_drops), &k) : 0;
	if (!st->loaded || map_dump(st->skel->maps.vm_state, st->ncpus, &d) < 0)
		return;
	snap->drop_pids = calloc(d.n ? d.n : 1, sizeof(*snap->drop_pids));
	snap->drop_counts = calloc(d.n ? d.n : 1, sizeof(*snap->drop_counts));
	if (snap->drop_pids && snap->drop_counts) {
		/* Sorted by pid for lookups: insertion, the list is short. */
		for (size_t i = 0; i < d.n; i++) {
			uint32_t pid = *(uint32_t *)(d.keys + i * d.key_size);
			size_t j = n;

			while (j && snap->drop_pids[j - 1] > pid) {
				snap->drop_pids[j] = snap->drop_pids[j - 1];
				memcpy(snap->drop_counts[j], snap->drop_counts[j - 1],
				       sizeof(snap->drop_counts[0]));
				j--;
			}
			snap->drop_pids[j] = pid;
			memcpy(snap->drop_counts[j], d.values + i * d.value_size,
			       sizeof(snap->drop_counts[0]));
			n++;
		}
	}
	snap->n_drop_pids = n;
	map_dump_free(&d);
}

/* Delete the keys of @pids from @map; the pid is each key's first field. */
static void delete_pids_from(struct exits_state *st, struct bpf_map *map, const uint32_t *pids,
			     size_t npids, bool pid_in_value)
{
	struct map_dump d;
	size_t w = 0;
	int fd = bpf_map__fd(map);

	if (map_dump(map, st->ncpus, &d) < 0)
		return;
	for (size_t i = 0; i < d.n; i++) {
		uint32_t pid = *(uint32_t *)(pid_in_value ? d.values + i * d.value_size
							  : d.keys + i * d.key_size);
		size_t lo = 0, hi = npids;
		bool hit = false;

		while (lo < hi && !hit) {
			size_t mid = lo + (hi - lo) / 2;

			hit = pids[mid] == pid;
			if (pids[mid] < pid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (hit)
			memmove(d.keys + w++ * d.key_size, d.keys + i * d.key_size, d.key_size);
	}
	if (w) {
		__u32 count = (__u32)w;

		/* A key gone meanwhile ends a batch early: delete the rest one by one. */
		if (bpf_map_delete_batch(fd, d.keys, &count, NULL) < 0)
			for (size_t i = count; i < w; i++)
				bpf_map_delete_elem(fd, d.keys + i * d.key_size);
	}
	map_dump_free(&d);
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
