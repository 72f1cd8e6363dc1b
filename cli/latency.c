// SPDX-License-Identifier: GPL-2.0-only
/*
 * Handling times in kvmscopectl.  The daemon sends each histogram as
 * [le_ns, count] pairs; they go back into a struct kvmscope_hist so that
 * merging and percentiles use the daemon's own code (daemon/hist.c) and
 * the CLI's numbers cannot drift from the daemon's.
 */
#include <string.h>

#include "latency.h"

#define HIST_BAR_WIDTH 40

/* The slot whose exclusive upper bound is @le_ns (rounded up to a slot bound). */
static unsigned int slot_of_le(uint64_t le_ns)
{
	unsigned int slot = 0;

	while (slot + 1 < KVMSCOPE_HIST_SLOTS && hist_slot_le_ns(slot) < le_ns)
		slot++;
	return slot;
}

static uint64_t json_u64(json_t *v)
{
	json_int_t i = json_integer_value(v);

	return i > 0 ? (uint64_t)i : 0;
}

void latency_add_json(struct latency *l, json_t *obj)
{
	uint64_t count, max;
	json_t *pair;
	size_t i;

	if (!obj) {
		l->missing++;
		return;
	}
	l->reported++;
	if (!json_is_object(obj))
		return;
	count = json_u64(json_object_get(obj, "count"));
	max = json_u64(json_object_get(obj, "max_ns"));
	l->count += count;
	l->unfinished += json_u64(json_object_get(obj, "unfinished"));
	l->hist.sum_ns += json_u64(json_object_get(obj, "avg_ns")) * count;
	if (max > l->hist.max_ns)
		l->hist.max_ns = max;
	json_array_foreach(json_object_get(obj, "hist"), i, pair)
		l->hist.slots[slot_of_le(json_u64(json_array_get(pair, 0)))] +=
			json_u64(json_array_get(pair, 1));
}

void latency_merge(struct latency *into, const struct latency *l)
{
	hist_merge(&into->hist, &l->hist);
	into->count += l->count;
	into->unfinished += l->unfinished;
	into->reported += l->reported;
	into->missing += l->missing;
}

uint64_t latency_percentile_ns(const struct latency *l, double p)
{
	return hist_percentile_ns(&l->hist, p);
}

const char *fmt_duration(uint64_t ns, char *buf, size_t len)
{
	static const char *const units[] = { "ns", "us", "ms", "s" };
	double v = (double)ns;
	unsigned int u = 0;
	int decimals;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && v >= 999.5) {
		v /= 1000;
		u++;
	}
	if (u == 0 || v >= 99.95)
		decimals = 0;
	else if (v >= 9.995)
		decimals = 1;
	else
		decimals = 2;
	snprintf(buf, len, "%.*f%s", decimals, v, units[u]);
	return buf;
}

const char *fmt_latency(const struct latency *l, double p, char *buf, size_t len)
{
	if (!hist_count(&l->hist))
		return "-";
	return fmt_duration(p > 1 ? l->hist.max_ns : latency_percentile_ns(l, p), buf, len);
}

/* "[2.05us, 4.10us)"; slot 0 also holds 0 ns, the last slot everything longer. */
static void slot_range(unsigned int slot, char *buf, size_t len)
{
	uint64_t le = hist_slot_le_ns(slot);
	char lo[16], hi[16];

	fmt_duration(slot ? le / 2 : 0, lo, sizeof(lo));
	if (slot + 1 == KVMSCOPE_HIST_SLOTS)
		snprintf(hi, sizeof(hi), "inf");
	else
		fmt_duration(le, hi, sizeof(hi));
	snprintf(buf, len, "[%s, %s)", lo, hi);
}

void latency_print_hist(FILE *f, const struct latency *l, const char *indent)
{
	unsigned int first = KVMSCOPE_HIST_SLOTS, last = 0;
	int range_w = (int)strlen("range"), count_w = (int)strlen("count");
	uint64_t top = 0;
	char buf[48];

	for (unsigned int i = 0; i < KVMSCOPE_HIST_SLOTS; i++) {
		if (!l->hist.slots[i])
			continue;
		if (first == KVMSCOPE_HIST_SLOTS)
			first = i;
		last = i;
		if (l->hist.slots[i] > top)
			top = l->hist.slots[i];
	}
	if (!top)
		return;
	for (unsigned int i = first; i <= last; i++) {
		int w;

		slot_range(i, buf, sizeof(buf));
		if ((int)strlen(buf) > range_w)
			range_w = (int)strlen(buf);
		w = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)l->hist.slots[i]);
		if (w > count_w)
			count_w = w;
	}
	fprintf(f, "%s%-*s  %*s  distribution\n", indent, range_w, "range", count_w, "count");
	for (unsigned int i = first; i <= last; i++) {
		uint64_t n = l->hist.slots[i];
		/* Like bcc, scaled to the largest slot; a non-empty slot shows at least one star. */
		size_t stars = (size_t)(n * HIST_BAR_WIDTH / top);
		char bar[HIST_BAR_WIDTH + 1];

		if (n && !stars)
			stars = 1;
		memset(bar, '*', stars);
		memset(bar + stars, ' ', HIST_BAR_WIDTH - stars);
		bar[HIST_BAR_WIDTH] = '\0';
		slot_range(i, buf, sizeof(buf));
		fprintf(f, "%s%-*s  %*llu |%s|\n", indent, range_w, buf, count_w,
			(unsigned long long)n, bar);
	}
}

void latency_print_summary(FILE *f, const struct latency *l, const char *indent)
{
	char avg[16], p50[16], p99[16], max[16];

	fprintf(f, "%scount %llu  unfinished %llu  avg %s  p50 %s  p99 %s  max %s\n", indent,
		(unsigned long long)l->count, (unsigned long long)l->unfinished,
		l->count ? fmt_duration(l->hist.sum_ns / l->count, avg, sizeof(avg)) : "-",
		fmt_latency(l, 0.50, p50, sizeof(p50)), fmt_latency(l, 0.99, p99, sizeof(p99)),
		fmt_latency(l, 2, max, sizeof(max)));
}
