// SPDX-License-Identifier: GPL-2.0-only
/* The exits capability's pure model; see model.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exits/model.h"

/* ---- histograms, sparse, in a per-table arena ---- */

/* 1 MiB: few chunks, and each one its own mapping, outside the heap. */
#define ARENA_CHUNK (1u << 20)

struct hist_arena_chunk {
	struct hist_arena_chunk *next;
	size_t used, size;
	_Alignas(8) unsigned char data[];
};

static void *arena_alloc(struct exit_table *t, size_t size)
{
	struct hist_arena_chunk *c = t->arena_cur;

	size_t chunk = t->arena_chunk ? t->arena_chunk : ARENA_CHUNK;

	size = (size + 7) & ~(size_t)7;
	if (size > chunk)
		chunk = size;
	/* Chunks kept from an earlier fill are used again before any new one. */
	while (c && c->used + size > c->size) {
		c = c->next;
		if (c)
			c->used = 0;
	}
	if (!c) {
		c = malloc(sizeof(*c) + chunk);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = chunk;
		if (t->arena_cur) {
			c->next = t->arena_cur->next;
			t->arena_cur->next = c;
		} else {
			c->next = t->arena;
			t->arena = c;
		}
	}
	t->arena_cur = c;
	c->used += size;
	return c->data + c->used - size;
}

/* Forget every histogram but keep the chunks: the next fill writes over them. */
static void arena_reset(struct exit_table *t)
{
	t->arena_cur = t->arena;
	if (t->arena)
		t->arena->used = 0;
}

static void arena_free(struct exit_table *t)
{
	while (t->arena) {
		struct hist_arena_chunk *c = t->arena;

		t->arena = c->next;
		free(c);
	}
	t->arena_cur = NULL;
}

static const struct hist_sparse *sparse_from(struct exit_table *t, const struct kvmscope_hist *h)
{
	struct hist_sparse *s;
	uint32_t n = 0, k = 0;
	uint8_t *slots;

	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++)
		n += h->slots[i] != 0;
	s = arena_alloc(t, sizeof(*s) + n * (sizeof(uint64_t) + 1));
	if (!s)
		return NULL;
	s->sum_ns = h->sum_ns;
	s->max_ns = h->max_ns;
	s->n = n;
	s->pad = 0;
	slots = (uint8_t *)&s->count[n];
	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		s->count[k] = h->slots[i];
		slots[k++] = (uint8_t)i;
	}
	return s;
}

static const struct hist_sparse *sparse_copy(struct exit_table *t, const struct hist_sparse *src)
{
	size_t size = sizeof(*src) + src->n * (sizeof(uint64_t) + 1);
	struct hist_sparse *s = arena_alloc(t, size);

	if (s)
		memcpy(s, src, size);
	return s;
}

void hist_sparse_merge(struct kvmscope_hist *into, const struct hist_sparse *s)
{
	const uint8_t *slots = hist_sparse_slots(s);

	for (uint32_t i = 0; i < s->n; i++)
		into->slots[slots[i]] += s->count[i];
	into->sum_ns += s->sum_ns;
	if (s->max_ns > into->max_ns)
		into->max_ns = s->max_ns;
}

static bool is_lat(uint8_t kind)
{
	return kind == EXIT_KIND_HW_LAT || kind == EXIT_KIND_USER_LAT;
}

/* ---- tables ---- */

int exit_table_push(struct exit_table *t, const struct exit_record *r)
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

int exit_table_push_owned(struct exit_table *t, const struct exit_record *r)
{
	struct exit_record c = *r;

	if (is_lat(r->kind) && r->hist) {
		c.hist = sparse_copy(t, r->hist);
		if (!c.hist)
			return -ENOMEM;
	}
	return exit_table_push(t, &c);
}

int exit_table_push_hist(struct exit_table *t, const struct exit_record *key,
			 const struct kvmscope_hist *h)
{
	struct exit_record c = *key;
	uint64_t count = 0;

	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++)
		count += h->slots[i];
	c.count = count;
	c.hist = sparse_from(t, h);
	if (!c.hist)
		return -ENOMEM;
	return exit_table_push(t, &c);
}

int exit_table_push_hist_sparse(struct exit_table *t, const struct exit_record *key,
				uint64_t sum_ns, uint64_t max_ns, uint32_t n,
				const uint64_t *counts, const uint8_t *slots)
{
	struct exit_record c = *key;
	struct hist_sparse *s = arena_alloc(t, sizeof(*s) + n * (sizeof(uint64_t) + 1));

	if (!s)
		return -ENOMEM;
	s->sum_ns = sum_ns;
	s->max_ns = max_ns;
	s->n = n;
	s->pad = 0;
	c.count = 0;
	for (uint32_t i = 0; i < n; i++) {
		s->count[i] = counts[i];
		c.count += counts[i];
	}
	memcpy((uint8_t *)&s->count[n], slots, n);
	c.hist = s;
	return exit_table_push(t, &c);
}

void exit_table_clear(struct exit_table *t)
{
	arena_reset(t);
	t->n = 0;
}

void exit_table_free(struct exit_table *t)
{
	arena_free(t);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

int exit_record_cmp(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	CMP(x->pid, y->pid);
	CMP(x->kind, y->kind);
	CMP(x->vcpu, y->vcpu);
	CMP(x->isa, y->isa);
	CMP(x->reason, y->reason);
	CMP(x->port, y->port);
	CMP(x->direction, y->direction);
	CMP(x->size, y->size);
	/* The union is a key only for detail records (a rate or a pointer elsewhere). */
	if (x->kind >= EXIT_KIND_DETAIL)
		CMP(x->id, y->id);
	return 0;
}

void exit_table_sort(struct exit_table *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(t->v[0]), exit_record_cmp);
}

int exit_table_sort_presorted(struct exit_table *t, size_t sorted)
{
	size_t tail = sorted < t->n ? t->n - sorted : 0;
	struct exit_record *tmp;
	size_t i, j, k;

	if (sorted >= t->n)
		return 0;
	if (sorted <= 1) {
		exit_table_sort(t);
		return 0;
	}
	qsort(t->v + sorted, tail, sizeof(t->v[0]), exit_record_cmp);
	/* Already in order where the two meet: nothing to merge. */
	if (exit_record_cmp(&t->v[sorted - 1], &t->v[sorted]) <= 0)
		return 0;
	tmp = malloc(tail * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, t->v + sorted, tail * sizeof(*tmp));
	/* From the back, the larger of the two heads first: in place, stable. */
	i = sorted, j = tail, k = t->n;
	while (j) {
		if (i && exit_record_cmp(&t->v[i - 1], &tmp[j - 1]) > 0)
			t->v[--k] = t->v[--i];
		else
			t->v[--k] = tmp[--j];
	}
	free(tmp);
	return 0;
}

/* Order of the keys that fold together: vCPU, ISA, reason. */
static int fold_key_cmp(const struct exit_record *x, const struct exit_record *y)
{
	CMP(x->vcpu, y->vcpu);
	CMP(x->isa, y->isa);
	CMP(x->reason, y->reason);
	return 0;
}

struct range {
	const struct exit_record *v;
	size_t n, i;
};

/*
 * Merge the count, latency and pending ranges of one VM (each sorted by
 * key) into count records of @kind: one per key, the sum of all three.
 */
static int merge_counts(struct exit_table *out, uint8_t kind, struct range *r3)
{
	for (;;) {
		const struct exit_record *min = NULL;
		struct exit_record c;
		int r;

		for (int k = 0; k < 3; k++)
			if (r3[k].i < r3[k].n &&
			    (!min || fold_key_cmp(&r3[k].v[r3[k].i], min) < 0))
				min = &r3[k].v[r3[k].i];
		if (!min)
			return 0;
		c = *min;
		c.kind = kind;
		c.count = 0;
		c.rate = 0;
		for (int k = 0; k < 3; k++)
			while (r3[k].i < r3[k].n && !fold_key_cmp(&r3[k].v[r3[k].i], &c))
				c.count += r3[k].v[r3[k].i++].count;
		r = exit_table_push(out, &c);
		if (r < 0)
			return r;
	}
}

int exit_table_fold_timed(struct exit_table *t, struct exit_table *scratch)
{
	return exit_table_fold_timed_presorted(t, 0, scratch);
}

int exit_table_fold_timed_presorted(struct exit_table *t, size_t sorted, struct exit_table *scratch)
{
	struct exit_table out = { .v = scratch->v, .cap = scratch->cap };
	int r;

	r = exit_table_sort_presorted(t, sorted);
	if (r < 0)
		return r;
	for (size_t a = 0; a < t->n && r >= 0;) {
		size_t b = a, from[EXIT_KIND_DETAIL_OTHER + 2];
		uint32_t pid = t->v[a].pid;

		/* The kind ranges of this VM: [from[k], from[k + 1]). */
		for (unsigned int k = 0; k <= EXIT_KIND_DETAIL_OTHER + 1; k++) {
			while (b < t->n && t->v[b].pid == pid && t->v[b].kind < k)
				b++;
			from[k] = b;
		}
		while (b < t->n && t->v[b].pid == pid)
			b++;
		{
			struct range hw[3] = {
				{ &t->v[from[EXIT_KIND_HW]], from[EXIT_KIND_HW + 1] - from[EXIT_KIND_HW], 0 },
				{ &t->v[from[EXIT_KIND_HW_LAT]], from[EXIT_KIND_HW_LAT + 1] - from[EXIT_KIND_HW_LAT], 0 },
				{ &t->v[from[EXIT_KIND_HW_PENDING]],
				  from[EXIT_KIND_HW_PENDING + 1] - from[EXIT_KIND_HW_PENDING], 0 } };
			struct range user[3] = {
				{ &t->v[from[EXIT_KIND_USER]], from[EXIT_KIND_USER + 1] - from[EXIT_KIND_USER], 0 },
				{ &t->v[from[EXIT_KIND_USER_LAT]],
				  from[EXIT_KIND_USER_LAT + 1] - from[EXIT_KIND_USER_LAT], 0 },
				{ &t->v[from[EXIT_KIND_USER_PENDING]],
				  from[EXIT_KIND_USER_PENDING + 1] - from[EXIT_KIND_USER_PENDING], 0 } };

			r = merge_counts(&out, EXIT_KIND_HW, hw);
			if (r >= 0)
				r = merge_counts(&out, EXIT_KIND_USER, user);
		}
		/* Everything else as it is, in order: PIO, the histograms, pending, detail. */
		for (size_t i = from[EXIT_KIND_PIO]; i < b && r >= 0; i++)
			r = exit_table_push(&out, &t->v[i]);
		a = b;
	}
	/* The arrays change hands, so neither is allocated again next time. */
	scratch->v = t->v;
	scratch->cap = t->cap;
	scratch->n = 0;
	if (r < 0) {
		free(out.v);
		t->n = 0;
		t->v = NULL;
		t->cap = 0;
		return r;
	}
	t->v = out.v;
	t->n = out.n;
	t->cap = out.cap;
	return 0;
}

/* First index whose pid is >= @pid. */
static size_t lower_bound(const struct exit_table *t, uint32_t pid)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t exit_table_range(const struct exit_table *t, uint32_t pid, size_t *first)
{
	size_t lo = lower_bound(t, pid), hi = lo;

	while (hi < t->n && t->v[hi].pid == pid)
		hi++;
	*first = lo;
	return hi - lo;
}

bool pid_listed(const uint32_t *pids, size_t n, uint32_t pid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pids[mid] == pid)
			return true;
		if (pids[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void exit_table_remove_pids(struct exit_table *t, const uint32_t *pids, size_t n)
{
	size_t w = 0;

	if (!n)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (!pid_listed(pids, n, t->v[i].pid))
			t->v[w++] = t->v[i];
	t->n = w;
}

void exit_table_rates(struct exit_table *cur, const struct exit_table *prev, double dt_s)
{
	size_t j = 0;

	for (size_t i = 0; i < cur->n; i++) {
		struct exit_record *r = &cur->v[i];
		uint64_t before = 0;
		int c = 1;

		/* Only count records have a rate: the union holds a key or a histogram elsewhere. */
		if (r->kind != EXIT_KIND_HW && r->kind != EXIT_KIND_USER)
			continue;
		r->rate = 0;
		/* Both are sorted the same way: walk @prev alongside. */
		while (j < prev->n && (c = exit_record_cmp(&prev->v[j], r)) < 0)
			j++;
		if (j < prev->n && c == 0)
			before = prev->v[j].count;
		if (dt_s > 0 && r->count >= before)
			r->rate = (double)(r->count - before) / dt_s;
	}
}

/* Is every record the same, keys, counts and (HW, USER) rates? */
static bool records_same(const struct exit_record *a, const struct exit_record *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (exit_record_cmp(&a[i], &b[i]) || a[i].count != b[i].count)
			return false;
		/*
		 * A histogram grows only with its count; a rate is compared
		 * bit for bit (it is text the same way only if it is equal).
		 */
		if ((a[i].kind == EXIT_KIND_HW || a[i].kind == EXIT_KIND_USER) &&
		    memcmp(&a[i].rate, &b[i].rate, sizeof(a[i].rate)))
			return false;
	}
	return true;
}

uint64_t vm_gen_find(const struct vm_gen *gens, size_t n, uint32_t pid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (gens[mid].pid == pid)
			return gens[mid].gen;
		if (gens[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return VM_GEN_EMPTY;
}

int exit_table_generations(const struct exit_table *cur, const struct exit_table *prev,
			   const struct vm_gen *old, size_t n_old, struct vm_gen **out,
			   size_t *n_out, uint64_t *counter)
{
	struct vm_gen *g = NULL;
	size_t n = 0, cap = 0;

	if (*counter < VM_GEN_EMPTY)
		*counter = VM_GEN_EMPTY;
	for (size_t a = 0, b; a < cur->n; a = b) {
		uint32_t pid = cur->v[a].pid;
		size_t first, np;
		uint64_t was;

		for (b = a + 1; b < cur->n && cur->v[b].pid == pid; b++)
			;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct vm_gen *p = realloc(g, c * sizeof(*g));

			if (!p) {
				free(g);
				return -ENOMEM;
			}
			g = p;
			cap = c;
		}
		np = exit_table_range(prev, pid, &first);
		was = vm_gen_find(old, n_old, pid);
		g[n++] = (struct vm_gen){ .pid = pid,
			.gen = was != VM_GEN_EMPTY && np == b - a &&
			       records_same(&cur->v[a], &prev->v[first], np) ? was : ++*counter };
	}
	*out = g;
	*n_out = n;
	return 0;
}

int exit_record_by_count(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->direction - y->direction;
}

const char *mmio_access_name(uint8_t type)
{
	/* kvm_mmio's type: KVM_TRACE_MMIO_READ_UNSATISFIED 0, READ 1, WRITE 2 */
	switch (type) {
	case 0: return "read_to_vmm";
	case 1: return "read";
	case 2: return "write";
	default: return "unknown";
	}
}
