// SPDX-License-Identifier: GPL-2.0-only
/*
 * The socket's request framing (linebuf): the bytes as they arrive, in
 * chunks whose sizes the first byte chooses, with a small line limit so
 * over-long lines are met, and pauses as the server makes when a
 * client's output is full.  Every line handed out is within the limit
 * and holds no newline; every byte is consumed in the end.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "linebuf.h"

#define MAX_LINE 64

struct ctx {
	struct linebuf *lb;
	size_t lines;
};

static void on_line(void *p, char *line, size_t len, bool too_long)
{
	struct ctx *c = p;

	if (too_long ? line != NULL : (len > MAX_LINE || memchr(line, '\n', len)))
		abort();
	if (++c->lines % 7 == 0)
		linebuf_pause(c->lb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	struct ctx c = { .lb = &lb };
	size_t chunk;

	if (!size)
		return 0;
	chunk = data[0] % 16 + 1;
	data++, size--;
	linebuf_init(&lb, MAX_LINE);
	while (size) {
		size_t n = size < chunk ? size : chunk, used = 0;

		/* A paused feed is fed again with the rest, as the server does. */
		while (used < n) {
			size_t k = linebuf_feed(&lb, (const char *)data + used, n - used, on_line, &c);

			if (!k && !lb.paused)
				abort();	/* neither consumed nor paused: it would spin */
			used += k;
		}
		data += n;
		size -= n;
	}
	linebuf_finish(&lb, on_line, &c);
	linebuf_free(&lb);
	return 0;
}
