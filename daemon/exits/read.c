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
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "exits.skel.h"
#include "exits/exits.h"
#include "log.h"
#include "manager.h"
#include "options.h"

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
};

static int add_count(struct exits_state *st, const void *key, const void *value, void *p)
{
	struct read_ctx *c = p;
	struct exit_record rec;

	c->make(key, &rec);
	rec.count = value_sum(st, value);
	return rec.count ? exit_table_push(c->t, &rec) : 0;
}

static int read_counts(struct exits_state *st, struct bpf_map *map, record_maker make,
		       struct exit_table *t)
{
	struct read_ctx c = { .t = t, .make = make };

	return exits_map_walk(st, map, add_count, &c);
}

/* ---- the slot table, through mmap ---- */

int exits_slots_open(struct exits_state *st)
{
	struct bpf_map *map = st->skel->maps.slots;
	size_t value_size = (bpf_map__value_size(map) + 7) & ~(size_t)7;
	uint32_t n = bpf_map__max_entries(map);
	size_t len = value_size * n, page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	len = (len + page - 1) & ~(page - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (p == MAP_FAILED)
		return -errno;
	st->slots = p;
	st->slots_len = len;
	st->slot_size = value_size;
	st->n_slots = n;
	if (st->adopted)
		return 0;	/* the free list came with the maps */
	for (uint32_t i = 0; i < n && i < manager_options(st->m)->max_threads; i++)
		if (bpf_map_update_elem(bpf_map__fd(st->skel->maps.free_slots), NULL, &i, 0) < 0)
			return -errno;
	return 0;
}

void exits_slots_close(struct exits_state *st)
{
	if (st->slots)
		munmap(st->slots, st->slots_len);
	st->slots = NULL;
	free(st->slot_refs);
	st->slot_refs = NULL;
}

static struct kvmscope_slot *slot_at(const struct exits_state *st, uint32_t i)
{
	return (struct kvmscope_slot *)((char *)st->slots + (size_t)i * st->slot_size);
}

/* A table of slots to read: the BPF map's, or kvmscope.ko's (kexits.c). */
struct slot_view {
	const void *base;
	uint32_t n;
	size_t size;
	struct slot_ref **refs;		/* n of them, made at the first read */
	uint32_t *used;			/* set to the slots in use */
};

static const struct kvmscope_slot *view_slot(const struct slot_view *v, uint32_t i)
{
	return (const struct kvmscope_slot *)((const char *)v->base + (size_t)i * v->size);
}

/* The BPF programs write while this reads: each field is read once. */
#define ONCE(x) (*(const volatile __typeof__(x) *)&(x))

/* A histogram line's record: only its marked buckets are read. */
static int push_hist(struct exit_table *t, struct exit_record *rec,
		     const struct kvmscope_slot_hist *line)
{
	uint64_t bits = ONCE(line->used), counts[KVMSCOPE_HIST_SLOTS];
	uint8_t slots[KVMSCOPE_HIST_SLOTS];
	uint32_t n = 0;

	while (bits) {
		uint32_t b = (uint32_t)__builtin_ctzll(bits);

		bits &= bits - 1;
		if (b >= KVMSCOPE_HIST_SLOTS)
			break;
		counts[n] = ONCE(line->h.slots[b]);
		slots[n] = (uint8_t)b;
		n += counts[n] != 0;
	}
	return exit_table_push_hist_sparse(t, rec, ONCE(line->h.sum_ns), ONCE(line->h.max_ns), n,
					   counts, slots);
}

/* A used slot, for reading the slots of each VM together and in vCPU order. */
struct slot_ref {
	uint32_t tgid, vcpu, idx;
};

static int slot_ref_cmp(const void *a, const void *b)
{
	const struct slot_ref *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Histogram lines and port entries of a slot, in key order (a handful each). */
struct line_ref {
	uint32_t key;	/* reason, or port << 16 | direction << 8 | size */
	uint32_t i;
};

static int line_ref_cmp(const void *a, const void *b)
{
	const struct line_ref *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * A record like @key for each counter of @c marked in bitmap @used (@n
 * counters), the index as its reason (hardware: the dense index's).  Only
 * the marked counters are read: see kvmscope_counter_add().
 */
static int read_counters(const __u64 *c, const __u64 *used, uint32_t n,
			 const struct exit_record *key, struct exit_table *t)
{
	int r = 0;

	for (uint32_t w = 0; w < KVMSCOPE_USED_WORDS(n) && r >= 0; w++) {
		uint64_t bits = ONCE(used[w]);

		while (bits && r >= 0) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
			struct exit_record rec = *key;

			bits &= bits - 1;
			if (i >= n)
				break;
			rec.count = ONCE(c[i]);
			if (!rec.count)
				continue;
			rec.reason = key->kind == EXIT_KIND_HW ? kvmscope_hw_reason(key->isa, i) : i;
			r = exit_table_push(t, &rec);
		}
	}
	return r;
}

/*
 * The records of one kind from a slot, as the hash path's (untimed
 * counts, histograms of the timed ones, what is in flight; the fold adds
 * them), in exit_record_cmp() order within the slot.
 */
static int read_slot_kind(const struct kvmscope_slot *s, uint32_t tgid, uint8_t kind,
			  struct exit_table *t)
{
	uint32_t vcpu = ONCE(s->vcpu), isa = ONCE(s->isa);
	struct line_ref refs[KVMSCOPE_SLOT_PIO];
	size_t n = 0;
	int r = 0;

	switch (kind) {
	case EXIT_KIND_HW:
		/* Dense index order is reason order, for VMX and SVM alike. */
		return read_counters(s->hw, s->hw_used, KVMSCOPE_SLOT_HW_REASONS, &(struct exit_record){
			.kind = EXIT_KIND_HW, .pid = tgid, .vcpu = vcpu, .isa = isa }, t);
	case EXIT_KIND_USER:
		return read_counters(s->user, s->user_used, KVMSCOPE_SLOT_USER_REASONS,
				     &(struct exit_record){
			.kind = EXIT_KIND_USER, .pid = tgid, .vcpu = vcpu }, t);
	case EXIT_KIND_PIO:
		for (uint32_t i = 0; i < KVMSCOPE_SLOT_PIO; i++) {
			const struct kvmscope_slot_pio *e = &s->pio[i];

			if (ONCE(e->used) && ONCE(e->count))
				refs[n++] = (struct line_ref){ .key = (uint32_t)ONCE(e->port) << 16 |
					(uint32_t)ONCE(e->direction) << 8 | ONCE(e->size), .i = i };
		}
		if (n > 1)
			qsort(refs, n, sizeof(refs[0]), line_ref_cmp);
		for (size_t k = 0; k < n && r >= 0; k++)
			r = exit_table_push(t, &(struct exit_record){ .kind = EXIT_KIND_PIO, .pid = tgid,
				.vcpu = vcpu, .port = refs[k].key >> 16,
				.direction = (refs[k].key >> 8) & 0xff, .size = refs[k].key & 0xff,
				.count = ONCE(s->pio[refs[k].i].count) });
		return r;
	case EXIT_KIND_HW_LAT:
	case EXIT_KIND_USER_LAT: {
		bool hw = kind == EXIT_KIND_HW_LAT;
		uint32_t lines = hw ? ONCE(s->hw_lines) : ONCE(s->user_lines);
		uint32_t max = hw ? KVMSCOPE_SLOT_HW_HISTS : KVMSCOPE_SLOT_USER_HISTS;
		uint32_t reasons = hw ? KVMSCOPE_SLOT_HW_REASONS : KVMSCOPE_SLOT_USER_REASONS;
		const struct kvmscope_slot_hist *hists = hw ? s->hw_hist : s->user_hist;

		for (uint32_t l = 0; l < lines && l < max; l++) {
			uint32_t idx = ONCE(hists[l].index);

			if (idx && idx <= reasons)
				refs[n++] = (struct line_ref){ .key = hw ? kvmscope_hw_reason(isa, idx - 1) :
										    idx - 1, .i = l };
		}
		if (n > 1)
			qsort(refs, n, sizeof(refs[0]), line_ref_cmp);
		for (size_t k = 0; k < n && r >= 0; k++) {
			struct exit_record rec = { .kind = kind, .pid = tgid, .vcpu = vcpu,
						   .isa = hw ? isa : 0, .reason = refs[k].key };

			r = push_hist(t, &rec, &hists[refs[k].i]);
		}
		return r;
	}
	case EXIT_KIND_HW_PENDING:
		if (ONCE(s->exit_ts))
			r = exit_table_push(t, &(struct exit_record){ .kind = EXIT_KIND_HW_PENDING,
				.pid = tgid, .vcpu = vcpu, .isa = isa,
				.reason = kvmscope_hw_reason(isa, ONCE(s->exit_index)), .count = 1 });
		return r;
	case EXIT_KIND_USER_PENDING:
		if (ONCE(s->user_ts))
			r = exit_table_push(t, &(struct exit_record){ .kind = EXIT_KIND_USER_PENDING,
				.pid = tgid, .vcpu = vcpu, .reason = ONCE(s->user_index), .count = 1 });
		return r;
	}
	return 0;
}

/*
 * Ask for the cache lines of @s that read_slot_kind() reads: the slots
 * are read VM by VM, not in memory order, so the CPU cannot guess them,
 * and a slot that is waited for line by line costs microseconds.
 */
static void slot_prefetch(const struct kvmscope_slot *s)
{
	__builtin_prefetch(s);
	__builtin_prefetch(s->hw_used);
	__builtin_prefetch(s->user_used);
	for (uint32_t l = 0; l < KVMSCOPE_SLOT_HW_HISTS; l++) {
		__builtin_prefetch(&s->hw_hist[l]);
		__builtin_prefetch(&s->hw_hist[l].h.sum_ns);
	}
	for (uint32_t l = 0; l < KVMSCOPE_SLOT_USER_HISTS; l++) {
		__builtin_prefetch(&s->user_hist[l]);
		__builtin_prefetch(&s->user_hist[l].h.sum_ns);
	}
	for (uint32_t e = 0; e < KVMSCOPE_SLOT_PIO; e += 4)
		__builtin_prefetch(&s->pio[e]);
}

/*
 * Every used slot's records, VM by VM, kind by kind, vCPU by vCPU: in
 * exit_record_cmp() order, so the fold need not sort them.  Returns how
 * many records at the front of @t are in order: all of them, unless a VM
 * has two slots for one vCPU (a thread that ran another vCPU, or vCPUs
 * not resolved), whose records interleave.
 */
static int read_slots(const struct slot_view *v, struct exit_table *t, size_t *sorted)
{
	static const uint8_t kinds[] = { EXIT_KIND_HW, EXIT_KIND_USER, EXIT_KIND_PIO,
					 EXIT_KIND_HW_LAT, EXIT_KIND_USER_LAT,
					 EXIT_KIND_HW_PENDING, EXIT_KIND_USER_PENDING };
	struct slot_ref *refs = *v->refs;
	size_t n = 0, first = t->n;
	bool in_order = true;
	int r = 0;

	_Static_assert(EXIT_KIND_HW < EXIT_KIND_USER && EXIT_KIND_USER < EXIT_KIND_PIO &&
		       EXIT_KIND_PIO < EXIT_KIND_HW_LAT && EXIT_KIND_HW_LAT < EXIT_KIND_USER_LAT &&
		       EXIT_KIND_USER_LAT < EXIT_KIND_HW_PENDING &&
		       EXIT_KIND_HW_PENDING < EXIT_KIND_USER_PENDING,
		       "kinds[] must follow enum exit_kind");
	if (!refs) {
		refs = *v->refs = calloc(v->n, sizeof(*refs));
		if (!refs)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < v->n; i++) {
		const struct kvmscope_slot *s = view_slot(v, i);
		uint32_t tgid = ONCE(s->tgid);

		if (tgid)
			refs[n++] = (struct slot_ref){ .tgid = tgid, .vcpu = ONCE(s->vcpu), .idx = i };
	}
	*v->used = (uint32_t)n;
	if (n > 1)
		qsort(refs, n, sizeof(refs[0]), slot_ref_cmp);
	for (size_t a = 0, b; a < n && r >= 0; a = b) {
		for (b = a + 1; b < n && refs[b].tgid == refs[a].tgid; b++)
			in_order &= refs[b].vcpu != refs[b - 1].vcpu;
		/* The next VM's slots are fetched while this one's are read. */
		for (size_t j = b; j < n && j < b + (b - a); j++)
			slot_prefetch(view_slot(v, refs[j].idx));
		for (size_t k = 0; k < sizeof(kinds) && r >= 0; k++)
			for (size_t j = a; j < b && r >= 0; j++)
				r = read_slot_kind(view_slot(v, refs[j].idx), refs[a].tgid, kinds[k], t);
	}
	/* In order from the table's start only if the slots came first. */
	*sorted = in_order && r >= 0 && !first ? t->n : 0;
	return r;
}

/* Free the slots of @pids (sorted): zeroed, then back on the free list. */
static void free_slots_of(struct exits_state *st, const uint32_t *pids, size_t npids)
{
	int fd = bpf_map__fd(st->skel->maps.free_slots);

	for (uint32_t i = 0; i < st->n_slots; i++) {
		struct kvmscope_slot *s = slot_at(st, i);

		if (!s->tgid || !pid_listed(pids, npids, s->tgid))
			continue;
		memset(s, 0, sizeof(*s));
		if (bpf_map_update_elem(fd, NULL, &i, 0) < 0)
			log_warning("exits: cannot free counter slot %u: %s", i, strerror(errno));
	}
}

int exits_read_all(struct exits_state *st, struct exit_table *t)
{
	struct exits_bpf *s = st->skel;
	size_t sorted = 0;
	int r = 0;

	if (!st->loaded)
		return 0;
	if (st->kmod_hdr) {
		struct slot_view v = { (const char *)st->kmod_hdr + st->kmod_hdr->slots_offset,
				       st->kmod_hdr->n_slots, st->kmod_hdr->slot_size,
				       &st->kmod_slot_refs, &st->kmod_slots_used };

		r = read_slots(&v, t, &sorted);
		if (r >= 0)
			r = exits_kmod_read_fallback(st, t);
	}
	if (st->slots && r >= 0) {
		struct slot_view v = { st->slots, st->n_slots, st->slot_size, &st->slot_refs,
				       &st->slots_used };
		size_t bpf_sorted;

		/* @sorted is a prefix: the module's slots, when they came first. */
		r = read_slots(&v, t, &bpf_sorted);
		if (!st->kmod_hdr)
			sorted = bpf_sorted;
	}
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
		r = exit_table_fold_timed_presorted(t, sorted, &st->fold_scratch);
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
	for (uint32_t k = 0; k < KVMSCOPE_FALLBACK_MAX; k++)
		snap->fallbacks[k] = st->loaded ?
			exits_percpu_sum(st, bpf_map__fd(st->skel->maps.exit_fallbacks), &k) : 0;
	if (!st->loaded)
		return;
	if (st->kmod_hdr) {
		for (uint32_t k = 0; k < KVMSCOPE_DROP_MAX; k++)
			snap->drops[k] += ONCE(st->kmod_hdr->drops[k]);
		for (uint32_t k = 0; k < KVMSCOPE_FALLBACK_MAX; k++)
			snap->fallbacks[k] += ONCE(st->kmod_hdr->fallbacks[k]);
	}
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
	char *keys;
};

static int collect_key(struct exits_state *st, const void *key, const void *value, void *p)
{
	struct delete_ctx *c = p;
	uint32_t pid = *(const uint32_t *)key;

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

/* Delete the keys of @pids from @map: the pid is each key's first field. */
static void delete_pids_from(struct exits_state *st, struct bpf_map *map, const uint32_t *pids,
			     size_t npids)
{
	struct delete_ctx c = { .pids = pids, .npids = npids,
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
	delete_pids_from(st, s->maps.hw_exits, pids, n);
	delete_pids_from(st, s->maps.user_exits, pids, n);
	delete_pids_from(st, s->maps.pio_exits, pids, n);
	delete_pids_from(st, s->maps.detail, pids, n);
	delete_pids_from(st, s->maps.detail_other, pids, n);
	delete_pids_from(st, s->maps.vms_seen, pids, n);
	delete_pids_from(st, s->maps.vm_state, pids, n);
	if (st->slots)
		free_slots_of(st, pids, n);
	exits_kmod_free_pids(st, pids, n);
}
