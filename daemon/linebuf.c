// SPDX-License-Identifier: GPL-2.0-only
/* Bounded line framing; see linebuf.h. */
#include <string.h>

#include "linebuf.h"

void linebuf_init(struct linebuf *lb, size_t max_line)
{
	strbuf_init(&lb->pending, 0);
	lb->max_line = max_line;
	lb->discarding = false;
	lb->paused = false;
}

void linebuf_free(struct linebuf *lb)
{
	strbuf_free(&lb->pending);
}

static void emit(char *line, size_t len, linebuf_line_fn fn, void *ctx)
{
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	fn(ctx, line, len, false);
}

void linebuf_pause(struct linebuf *lb)
{
	lb->paused = true;
}

size_t linebuf_pending(const struct linebuf *lb)
{
	return lb->pending.len;
}

size_t linebuf_feed(struct linebuf *lb, const char *data, size_t len, linebuf_line_fn fn,
		    void *ctx)
{
	size_t consumed = 0;

	lb->paused = false;
	while (len && !lb->paused) {
		const char *nl = memchr(data, '\n', len);
		size_t chunk = nl ? (size_t)(nl - data) : len;

		if (lb->discarding) {
			/* Drop bytes until the newline that ends the long line. */
		} else if (lb->pending.len + chunk > lb->max_line) {
			strbuf_consume(&lb->pending, lb->pending.len);
			lb->discarding = true;
			fn(ctx, NULL, 0, true);
		} else {
			strbuf_append(&lb->pending, data, chunk);
		}
		if (!nl)
			return consumed + len;
		if (!lb->discarding) {
			/* pending.data is NULL only for an empty line. */
			char empty[1] = "";

			emit(lb->pending.data ? lb->pending.data : empty, lb->pending.len, fn, ctx);
		}
		lb->discarding = false;
		strbuf_consume(&lb->pending, lb->pending.len);
		data += chunk + 1;
		len -= chunk + 1;
		consumed += chunk + 1;
	}
	return consumed;
}

void linebuf_finish(struct linebuf *lb, linebuf_line_fn fn, void *ctx)
{
	if (!lb->discarding && lb->pending.len)
		emit(lb->pending.data, lb->pending.len, fn, ctx);
	lb->discarding = false;
	strbuf_consume(&lb->pending, lb->pending.len);
}
