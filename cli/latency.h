/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handling-time summaries as exits.get reports them ("latency",
 * "vmm_time"), merged over vCPUs and VMs, and drawn as log2 histograms.
 */
#ifndef KVMSCOPECTL_LATENCY_H
#define KVMSCOPECTL_LATENCY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "hist.h"

struct latency {
	struct kvmscope_hist hist;	/* merged slots, sum_ns, max_ns */
	uint64_t count;			/* measured handling times */
	uint64_t unfinished;		/* exits not yet followed by an entry */
	unsigned int reported;		/* records that had the key (object or null) */
	unsigned int missing;		/* records without it: an older daemon */
};

/*
 * Add one latency object of exits.get to @l.  @obj is what
 * json_object_get() returned: NULL (key absent), json null (nothing
 * measured) or {"count", "unfinished", "avg_ns", "max_ns", "hist"}.
 */
void latency_add_json(struct latency *l, json_t *obj);
void latency_merge(struct latency *into, const struct latency *l);

/* The @p quantile in ns, computed as the daemon does (hist_percentile_ns). */
uint64_t latency_percentile_ns(const struct latency *l, double p);

/* @ns with 3 significant digits and a unit: "512ns", "4.10us", "1.20ms", "2.00s". */
const char *fmt_duration(uint64_t ns, char *buf, size_t len);

/* The p50, p99 or max cell of a table (@p > 1: max); "-" when nothing was measured. */
const char *fmt_latency(const struct latency *l, double p, char *buf, size_t len);

/*
 * bcc-style log2 histogram, one line per slot from the first to the last
 * non-empty one, bars scaled to the largest slot; then one summary line.
 */
void latency_print_hist(FILE *f, const struct latency *l, const char *indent);
void latency_print_summary(FILE *f, const struct latency *l, const char *indent);

#endif
