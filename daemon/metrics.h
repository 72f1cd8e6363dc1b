/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus text exposition format 0.0.4: a family header (HELP, TYPE)
 * followed by its samples, each family written contiguously.
 */
#ifndef KVMSCOPE_METRICS_H
#define KVMSCOPE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_label {
	const char *name;
	const char *value;
};

int metrics_family(struct strbuf *sb, const char *name, const char *type, const char *help);
int metrics_sample(struct strbuf *sb, const char *name, const struct metrics_label *labels,
		   size_t n_labels, uint64_t value);
/* A sample with a non-integer value (seconds), printed with %.9g. */
int metrics_sample_double(struct strbuf *sb, const char *name, const struct metrics_label *labels,
			  size_t n_labels, double value);
/*
 * A sample of @ns nanoseconds, written as seconds with all nine decimals
 * ("1234.567890123"): exact, where %.9g would round a large counter.
 */
int metrics_sample_ns_as_seconds(struct strbuf *sb, const char *name,
				 const struct metrics_label *labels, size_t n_labels, uint64_t ns);
/* The sample names of histogram family @name: _bucket, _sum, _count. */
struct metrics_histogram_names {
	char bucket[80], sum[80], count[80];
};

void metrics_histogram_names(struct metrics_histogram_names *n, const char *name);
/*
 * One Prometheus histogram of @h with labels @l (@n of them, and room for
 * one more: le): _bucket for 256 ns to 68.7 s and +Inf, _sum (exact), _count.
 */
struct kvmscope_hist;
int metrics_histogram(struct strbuf *sb, const struct metrics_histogram_names *names,
		      struct metrics_label *l, size_t n, const struct kvmscope_hist *h);
/* Escape a label value (\\, \", \n) into @sb. */
int metrics_escape_label_value(struct strbuf *sb, const char *value);

#endif
