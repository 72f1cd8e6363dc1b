// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus text format writer; see metrics.h. */
#include <inttypes.h>
#include <string.h>

#include "metrics.h"

int metrics_escape_label_value(struct strbuf *sb, const char *value)
{
	int r = 0;

	for (const char *p = value; *p && r >= 0; p++) {
		switch (*p) {
		case '\\':
			r = strbuf_puts(sb, "\\\\");
			break;
		case '"':
			r = strbuf_puts(sb, "\\\"");
			break;
		case '\n':
			r = strbuf_puts(sb, "\\n");
			break;
		default:
			r = strbuf_append(sb, p, 1);
		}
	}
	return r;
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
			r = strbuf_printf(sb, "%s%s=\"", i ? "," : "", labels[i].name);
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
		r = strbuf_printf(sb, " %" PRIu64 "\n", value);
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

	if (r >= 0)
		r = strbuf_printf(sb, " %" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000u,
				  ns % 1000000000u);
	return r;
}
