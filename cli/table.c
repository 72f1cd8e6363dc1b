// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl's tables: every cell is copied, so rows may be built from
 * short-lived buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "table.h"

void table_add(struct table *t, const char *const *cells)
{
	char **v = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));

	if (!v)
		return;
	t->cells = v;
	for (size_t i = 0; i < t->ncols; i++)
		v[t->nrows * t->ncols + i] = text_escape_dup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

void table_print(struct table *t, const char *indent)
{
	size_t w[TABLE_MAX_COLS] = { 0 };

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			bool last = c + 1 == t->ncols;

			if (t->right[c])
				printf("%*s%s", (int)w[c], cell, last ? "" : "  ");
			else if (last)
				fputs(cell, stdout);
			else
				printf("%-*s  ", (int)w[c], cell);
		}
		putchar('\n');
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

const char *fmt_int(json_t *v, char *buf, size_t len)
{
	if (!json_is_integer(v))
		return "-";
	snprintf(buf, len, "%lld", json_integer_value(v));
	return buf;
}

const char *fmt_value(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_real(v)) {
		snprintf(buf, len, "%g", json_real_value(v));
		return buf;
	}
	return fmt_int(v, buf, len);
}

const char *obj_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "-";
}

const char *fmt_text(const char *s, char *buf, size_t len)
{
	text_escape(buf, len, s ? s : "-");
	return buf;
}

const char *obj_text(json_t *obj, const char *key, char *buf, size_t len)
{
	return fmt_text(json_string_value(json_object_get(obj, key)), buf, len);
}
