/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small table printer for kvmscopectl: columns sized to their widest
 * cell, numbers right-aligned; and formatters for JSON cells.  Every cell
 * is escaped as it is added (text_escape()): whatever a guest owner put
 * in a name reaches the terminal as visible text.
 */
#ifndef KVMSCOPECTL_TABLE_H
#define KVMSCOPECTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define TABLE_MAX_COLS 8

struct table {
	size_t ncols, nrows;
	char **cells;		/* nrows * ncols, row 0 is the header */
	bool right[TABLE_MAX_COLS];
};

/* Append a row of ncols cells, escaped; a NULL cell is shown as "-". */
void table_add(struct table *t, const char *const *cells);
/* Print every row, each prefixed by @indent, and empty the table. */
void table_print(struct table *t, const char *indent);

/* An integer as decimal, anything else "-".  Returns @buf or "-". */
const char *fmt_int(json_t *v, char *buf, size_t len);
/* A string as is, an integer in decimal, a real as %g; null or absent "-". */
const char *fmt_value(json_t *v, char *buf, size_t len);
/* The string member @key of @obj, or "-". */
const char *obj_str(json_t *obj, const char *key);

/* Room for an escaped guest name or comm: at most 128 bytes, each 4 at worst. */
#define TEXT_CELL_MAX 520
/* @s made safe to print (text_escape()) into @buf; NULL is "-".  Returns @buf. */
const char *fmt_text(const char *s, char *buf, size_t len);
/* The string member @key of @obj, escaped into @buf, or "-". */
const char *obj_text(json_t *obj, const char *key, char *buf, size_t len);

#endif
