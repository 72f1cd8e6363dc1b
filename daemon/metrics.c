// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus text format writer; see metrics.h. */
#include <inttypes.h>
#include <string.h>

#include <stdbool.h>
#include <stdio.h>

#include "hist.h"
#include "metrics.h"

int metrics_escape_label_value(struct strbuf *sb, const char *value)
{
	const char *p = value;
	int r = 0;

	/* Runs of plain bytes in one append: most values have nothing to escape. */
	while (*p && r >= 0) {
		size_t run = strcspn(p, "\\\"\n");

		r = strbuf_append(sb, p, run);
		p += run;
		if (!*p || r < 0)
			break;
		r = strbuf_puts(sb, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n");
		p++;
	}
	return r;
}

/* @v in decimal: a scrape writes hundreds of thousands of them. */
static int put_u64(struct strbuf *sb, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return strbuf_append(sb, p, (size_t)(buf + sizeof(buf) - p));
}

int metrics_family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	int r = strbuf_printf(sb, "# HELP %s ", name);

	/* HELP text escapes only backslash and newline. */
	for (const char *p = help; *p && r >= 0; p++) {
		if (*p == '\\')
			r = strbuf_puts(sb, "\\\\");
		else if (*p == '\n')
			r = strbuf_puts(sb, "\\n");
		else
			r = strbuf_append(sb, p, 1);
	}
	if (r >= 0)
		r = strbuf_printf(sb, "\n# TYPE %s %s\n", name, type);
	return r;
}

static int sample_name_labels(struct strbuf *sb, const char *name, const struct metrics_label *labels,
			      size_t n_labels)
{
	int r = strbuf_puts(sb, name);

	if (n_labels && r >= 0) {
		r = strbuf_puts(sb, "{");
		for (size_t i = 0; i < n_labels && r >= 0; i++) {
			if (i)
				r = strbuf_puts(sb, ",");
			if (r >= 0)
				r = strbuf_puts(sb, labels[i].name);
			if (r >= 0)
				r = strbuf_puts(sb, "=\"");
			if (r >= 0)
				r = metrics_escape_label_value(sb, labels[i].value);
			if (r >= 0)
				r = strbuf_puts(sb, "\"");
		}
		if (r >= 0)
			r = strbuf_puts(sb, "}");
	}
	return r;
}

int metrics_sample(struct strbuf *sb, const char *name, const struct metrics_label *labels,
		   size_t n_labels, uint64_t value)
{
	int r = sample_name_labels(sb, name, labels, n_labels);

	if (r >= 0)
		r = strbuf_puts(sb, " ");
	if (r >= 0)
		r = put_u64(sb, value);
	if (r >= 0)
		r = strbuf_puts(sb, "\n");
	return r;
}

int metrics_sample_double(struct strbuf *sb, const char *name, const struct metrics_label *labels,
			  size_t n_labels, double value)
{
	int r = sample_name_labels(sb, name, labels, n_labels);

	if (r >= 0)
		r = strbuf_printf(sb, " %.9g\n", value);
	return r;
}

int metrics_sample_ns_as_seconds(struct strbuf *sb, const char *name,
				 const struct metrics_label *labels, size_t n_labels, uint64_t ns)
{
	int r = sample_name_labels(sb, name, labels, n_labels);
	char frac[10];
	uint64_t f = ns % 1000000000u;

	/* Exact: whole seconds, then the nanoseconds as nine digits. */
	for (int i = 8; i >= 0; i--) {
		frac[i] = (char)('0' + f % 10);
		f /= 10;
	}
	frac[9] = '\n';
	if (r >= 0)
		r = strbuf_puts(sb, " ");
	if (r >= 0)
		r = put_u64(sb, ns / 1000000000u);
	if (r >= 0)
		r = strbuf_puts(sb, ".");
	if (r >= 0)
		r = strbuf_append(sb, frac, sizeof(frac));
	return r;
}

/*
 * Histogram buckets shown: le = 2^(k+1) ns for slots k from 7 (256 ns)
 * to 35 (68.7 s); faster ones fall in the first bucket.
 */
#define METRIC_FIRST_SLOT 7
#define METRIC_LAST_SLOT 35

/* The le label of each bucket shown: the same text in every series, made once. */
static const char *bucket_le(unsigned int k)
{
	static char le[METRIC_LAST_SLOT + 1][24];
	static bool made;

	if (!made) {
		for (unsigned int i = METRIC_FIRST_SLOT; i <= METRIC_LAST_SLOT; i++)
			snprintf(le[i], sizeof(le[i]), "%.9g", (double)hist_slot_le_ns(i) / 1e9);
		made = true;
	}
	return le[k];
}

void metrics_histogram_names(struct metrics_histogram_names *n, const char *name)
{
	snprintf(n->bucket, sizeof(n->bucket), "%s_bucket", name);
	snprintf(n->sum, sizeof(n->sum), "%s_sum", name);
	snprintf(n->count, sizeof(n->count), "%s_count", name);
}

int metrics_histogram(struct strbuf *sb, const struct metrics_histogram_names *names,
		      struct metrics_label *l, size_t n, const struct kvmscope_hist *h)
{
	uint64_t cum = 0;
	int r = 0;

	for (unsigned int k = 0; k < METRIC_FIRST_SLOT; k++)
		cum += h->slots[k];
	for (unsigned int k = METRIC_FIRST_SLOT; k <= METRIC_LAST_SLOT && r >= 0; k++) {
		cum += h->slots[k];
		l[n] = (struct metrics_label){ "le", bucket_le(k) };
		r = metrics_sample(sb, names->bucket, l, n + 1, cum);
	}
	l[n] = (struct metrics_label){ "le", "+Inf" };
	if (r >= 0)
		r = metrics_sample(sb, names->bucket, l, n + 1, hist_count(h));
	if (r >= 0)
		r = metrics_sample_ns_as_seconds(sb, names->sum, l, n, h->sum_ns);
	if (r >= 0)
		r = metrics_sample(sb, names->count, l, n, hist_count(h));
	return r;
}
