// SPDX-License-Identifier: GPL-2.0-only
/* The exits capability's pure model; see model.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exits/model.h"

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

void exit_table_free(struct exit_table *t)
{
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
	CMP(x->id, y->id);
	return 0;
}

void exit_table_sort(struct exit_table *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(t->v[0]), exit_record_cmp);
}

int exit_table_fold_timed(struct exit_table *t)
{
	struct exit_table counts = { 0 };
	size_t w = 0;
	int r = 0;

	for (size_t i = 0; i < t->n && r >= 0; i++) {
		struct exit_record c = t->v[i];

		switch (c.kind) {
		case EXIT_KIND_HW:
		case EXIT_KIND_USER:
			r = exit_table_push(&counts, &c);
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
		r = exit_table_push(&counts, &c);
		t->v[w++] = t->v[i];
	}
	if (r < 0) {
		exit_table_free(&counts);
		return r;
	}
	t->n = w;
	exit_table_sort(&counts);
	for (size_t i = 0; i < counts.n && r >= 0; i++) {
		if (i && !exit_record_cmp(&counts.v[i - 1], &counts.v[i])) {
			t->v[t->n - 1].count += counts.v[i].count;
			continue;
		}
		r = exit_table_push(t, &counts.v[i]);
	}
	exit_table_free(&counts);
	return r;
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

static bool pid_listed(const uint32_t *pids, size_t n, uint32_t pid)
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

		r->rate = 0;
		if (r->kind != EXIT_KIND_HW && r->kind != EXIT_KIND_USER)
			continue;
		/* Both are sorted the same way: walk @prev alongside. */
		while (j < prev->n && (c = exit_record_cmp(&prev->v[j], r)) < 0)
			j++;
		if (j < prev->n && c == 0)
			before = prev->v[j].count;
		if (dt_s > 0 && r->count >= before)
			r->rate = (double)(r->count - before) / dt_s;
	}
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
