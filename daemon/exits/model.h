/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exits capability's pure model: records read from the kernel maps,
 * folded, indexed by VM into an immutable snapshot, and rates between two
 * snapshots.  No BPF, no event loop: unit tests feed it records.
 */
#ifndef KVMSCOPE_EXITS_MODEL_H
#define KVMSCOPE_EXITS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmscope/exits.h"

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

/*
 * A latency histogram as the snapshot keeps it: only its non-empty slots
 * (most have a handful of the 40), so a thousand VMs' histograms fit in a
 * few MB.  slot[] follows count[n] in the same allocation.
 */
struct hist_sparse {
	uint64_t sum_ns, max_ns;
	uint32_t n;
	uint32_t pad;
	uint64_t count[];	/* then uint8_t slot[n] */
};

static inline const uint8_t *hist_sparse_slots(const struct hist_sparse *s)
{
	return (const uint8_t *)&s->count[s->n];
}

/* Add @s into the full histogram @into. */
void hist_sparse_merge(struct kvmscope_hist *into, const struct hist_sparse *s);

/* 40 bytes: a thousand VMs' 370,000 records are 15 MB, not 150. */
struct exit_record {
	uint8_t kind;
	uint8_t direction;
	uint8_t size;
	uint8_t pad;
	uint16_t port;
	uint16_t pad2;
	uint32_t pid;
	uint32_t vcpu;
	uint32_t isa;
	uint32_t reason;
	uint64_t count;
	union {
		uint64_t id;		/* EXIT_KIND_DETAIL, _DETAIL_OTHER: part of the key */
		double rate;		/* EXIT_KIND_HW, _USER: per second over the last tick */
		const struct hist_sparse *hist;	/* *_LAT: owned by the table's arena */
	};
};

struct hist_arena_chunk;

struct exit_table {
	struct exit_record *v;
	size_t n, cap;
	struct hist_arena_chunk *arena;	/* the histograms this table owns */
	struct hist_arena_chunk *arena_cur;	/* where the next one goes */
	uint32_t arena_chunk;		/* bytes per arena chunk; 0: 1 MiB (a snapshot's) */
};

/* Append @r as it is: a histogram stays owned by the table @r came from. */
int exit_table_push(struct exit_table *t, const struct exit_record *r);
/* Append @r with its histogram copied into @t's arena (it outlives @r's table). */
int exit_table_push_owned(struct exit_table *t, const struct exit_record *r);
/* A *_LAT record of @h in @t's arena; its count is the histogram's. */
int exit_table_push_hist(struct exit_table *t, const struct exit_record *key,
			 const struct kvmscope_hist *h);
/*
 * The same from the histogram's non-empty slots already: @n of them,
 * @slots ascending (each < KVMSCOPE_HIST_SLOTS) and their @counts (not 0).
 */
int exit_table_push_hist_sparse(struct exit_table *t, const struct exit_record *key,
				uint64_t sum_ns, uint64_t max_ns, uint32_t n,
				const uint64_t *counts, const uint8_t *slots);
/* Empty @t, keeping its array and its histogram memory for the next fill. */
void exit_table_clear(struct exit_table *t);
void exit_table_free(struct exit_table *t);

/*
 * Where latency is collected, BPF counts an exit once, when it is timed:
 * into its histogram at the next entry, or as pending on its thread until
 * then; the count maps only get the exits that never saw an entry.  This
 * sorts @t and adds, for every (VM, vCPU, reason), the HW/USER, *_LAT and
 * *_PENDING records into one HW/USER record, keeping the latency and
 * pending records as they are: one sort and one pass.  The result is
 * built in @scratch's array (which has no histograms of its own); the
 * two arrays are swapped, so both are reused at the next fold.
 */
int exit_table_fold_timed(struct exit_table *t, struct exit_table *scratch);
/* The same, where t->v[0..@sorted) is already in exit_record_cmp() order. */
int exit_table_fold_timed_presorted(struct exit_table *t, size_t sorted, struct exit_table *scratch);

/* Total order of records: pid first, then kind and every key field. */
int exit_record_cmp(const void *a, const void *b);
/* Sort @t by exit_record_cmp, so that a VM's records are one range. */
void exit_table_sort(struct exit_table *t);
/*
 * Sort @t whose first @sorted records are sorted already: the rest are
 * sorted alone and merged in (no full sort when few records are new).
 */
int exit_table_sort_presorted(struct exit_table *t, size_t sorted);
/* The range of @pid's records in a sorted table: *first and the count. */
size_t exit_table_range(const struct exit_table *t, uint32_t pid, size_t *first);
/* Is @pid in @pids (sorted ascending)? */
bool pid_listed(const uint32_t *pids, size_t n, uint32_t pid);
/* Drop the records of every pid in @pids (sorted ascending), keeping the order. */
void exit_table_remove_pids(struct exit_table *t, const uint32_t *pids, size_t n);

/*
 * Rates of the HW and USER records of sorted @cur against sorted @prev,
 * @dt_s seconds earlier: (count now - count then) / dt.  A key absent
 * from @prev started within the interval (rate from 0); a count that went
 * down (a reused pid) gives 0.
 */
void exit_table_rates(struct exit_table *cur, const struct exit_table *prev, double dt_s);

/*
 * What a VM's records look like, as a number: a VM keeps its generation
 * from one snapshot to the next while its records (keys, counts, rates)
 * are the same, so text made of them can be kept too.
 */
struct vm_gen {
	uint32_t pid;
	uint32_t pad;
	uint64_t gen;
};

/* No records in the snapshot; counted generations start above it. */
#define VM_GEN_EMPTY 1u

/*
 * The generations of @cur's VMs (sorted by pid, malloc'd into *@out):
 * the one in @old (@prev's, sorted by pid) where the VM's records in
 * @cur and @prev are the same, else ++*@counter.  Both tables sorted.
 */
int exit_table_generations(const struct exit_table *cur, const struct exit_table *prev,
			   const struct vm_gen *old, size_t n_old, struct vm_gen **out,
			   size_t *n_out, uint64_t *counter);
/* @pid's generation in @gens (sorted); VM_GEN_EMPTY when it has none. */
uint64_t vm_gen_find(const struct vm_gen *gens, size_t n, uint32_t pid);

/* qsort order for detail tables: count descending, then id and direction. */
int exit_record_by_count(const void *a, const void *b);
/* kvm_mmio's access type by name: read_to_vmm, read, write. */
const char *mmio_access_name(uint8_t type);

#endif
