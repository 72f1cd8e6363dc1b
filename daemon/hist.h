/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log2 histograms of nanoseconds as the BPF programs keep them
 * (struct kvmscope_hist): merging, percentiles and JSON.
 */
#ifndef KVMSCOPE_HIST_H
#define KVMSCOPE_HIST_H

#include <stdint.h>
#include <jansson.h>

#include "kvmscope/exits.h"

/* Exclusive upper bound of @slot in ns: slot k counts [2^k, 2^(k+1)). */
static inline uint64_t hist_slot_le_ns(unsigned int slot)
{
	return (uint64_t)2 << slot;
}

uint64_t hist_count(const struct kvmscope_hist *h);
/* Count @ns in @h as the BPF programs do: slot floor(log2(ns)), the last one open. */
void hist_add_ns(struct kvmscope_hist *h, uint64_t ns);
void hist_merge(struct kvmscope_hist *into, const struct kvmscope_hist *h);

/*
 * The @p quantile (0 < p <= 1) in ns: the slot where the cumulative count
 * reaches ceil(p * count), interpolated linearly inside it and capped at
 * the maximum seen.  0 for an empty histogram.
 */
uint64_t hist_percentile_ns(const struct kvmscope_hist *h, double p);

/*
 * {"count", "unfinished", "avg_ns", "p50_ns", "p99_ns", "max_ns",
 *  "hist": [[le_ns, count], ...]} with only non-empty slots; json null
 * when nothing was measured and nothing is unfinished.
 */
json_t *hist_to_json(const struct kvmscope_hist *h, uint64_t unfinished);
/* The same without the "hist" slots (a summary's figures). */
json_t *hist_figures_to_json(const struct kvmscope_hist *h, uint64_t unfinished);

#endif
