// SPDX-License-Identifier: GPL-2.0-only
/*
 * log2 histograms of handling times.  Percentiles from log2 slots are
 * estimates: the slot is exact, the position inside it is interpolated,
 * and the result never exceeds the true maximum.
 */
#include <math.h>

#include "hist.h"

uint64_t hist_count(const struct kvmscope_hist *h)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++)
		n += h->slots[i];
	return n;
}

void hist_merge(struct kvmscope_hist *into, const struct kvmscope_hist *h)
{
	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++)
		into->slots[i] += h->slots[i];
	into->sum_ns += h->sum_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

uint64_t hist_percentile_ns(const struct kvmscope_hist *h, double p)
{
	uint64_t count = hist_count(h), rank, seen = 0;

	if (!count || p <= 0)
		return 0;
	if (p > 1)
		p = 1;
	rank = (uint64_t)ceil(p * (double)count);
	if (rank < 1)
		rank = 1;
	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++) {
		uint64_t lo, hi, v;

		if (seen + h->slots[i] < rank) {
			seen += h->slots[i];
			continue;
		}
		lo = i ? hist_slot_le_ns(i) / 2 : 0;
		hi = hist_slot_le_ns(i);
		v = lo + (uint64_t)((double)(hi - lo) * (double)(rank - seen) / (double)h->slots[i]);
		return h->max_ns && v > h->max_ns ? h->max_ns : v;
	}
	return h->max_ns;
}

json_t *hist_figures_to_json(const struct kvmscope_hist *h, uint64_t unfinished)
{
	uint64_t count = hist_count(h);

	if (!count && !unfinished)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "count", (json_int_t)count,
			 "unfinished", (json_int_t)unfinished, "avg_ns",
			 (json_int_t)(count ? h->sum_ns / count : 0), "p50_ns",
			 (json_int_t)hist_percentile_ns(h, 0.50), "p99_ns",
			 (json_int_t)hist_percentile_ns(h, 0.99), "max_ns", (json_int_t)h->max_ns);
}

json_t *hist_to_json(const struct kvmscope_hist *h, uint64_t unfinished)
{
	uint64_t count = hist_count(h);
	json_t *slots;

	if (!count && !unfinished)
		return json_null();
	slots = json_array();
	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++)
		if (h->slots[i])
			json_array_append_new(slots, json_pack("[I, I]", (json_int_t)hist_slot_le_ns(i),
							       (json_int_t)h->slots[i]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "count", (json_int_t)count,
			 "unfinished", (json_int_t)unfinished, "avg_ns",
			 (json_int_t)(count ? h->sum_ns / count : 0), "p50_ns",
			 (json_int_t)hist_percentile_ns(h, 0.50), "p99_ns",
			 (json_int_t)hist_percentile_ns(h, 0.99), "max_ns", (json_int_t)h->max_ns,
			 "hist", slots);
}

void hist_add_ns(struct kvmscope_hist *h, uint64_t ns)
{
	unsigned int slot = ns ? 63 - (unsigned int)__builtin_clzll(ns) : 0;

	if (slot >= KVMSCOPE_HIST_SLOTS)
		slot = KVMSCOPE_HIST_SLOTS - 1;
	h->slots[slot]++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}
