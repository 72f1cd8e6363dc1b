/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Request framing: bytes in, complete lines out, with a bound on line
 * length.  A line longer than the bound is reported once (as too long)
 * and its bytes are dropped up to the next newline, so memory per client
 * stays bounded whatever a peer sends.
 */
#ifndef KVMSCOPE_LINEBUF_H
#define KVMSCOPE_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

struct linebuf {
	struct strbuf pending;	/* bytes of the line not yet terminated */
	size_t max_line;
	bool discarding;	/* inside an over-long line */
	bool paused;		/* the line callback asked linebuf_feed() to stop */
};

/*
 * Called for each complete line without its "\n" (and without a final
 * "\r"), NUL-terminated; @too_long set instead when the line exceeded
 * the bound (then @line is NULL).
 */
typedef void (*linebuf_line_fn)(void *ctx, char *line, size_t len, bool too_long);

void linebuf_init(struct linebuf *lb, size_t max_line);
void linebuf_free(struct linebuf *lb);
/*
 * Frame @data, calling @fn for each complete line.  Returns how many bytes
 * of @data were consumed: all of them, unless @fn called linebuf_pause(),
 * in which case feeding stops right after that line and the caller feeds
 * the rest later.  This is how a consumer stops running requests while
 * their answers are not being read.
 */
size_t linebuf_feed(struct linebuf *lb, const char *data, size_t len, linebuf_line_fn fn,
		    void *ctx);
/* From the line callback: stop linebuf_feed() after this line. */
void linebuf_pause(struct linebuf *lb);
/* Bytes of an unterminated line held now. */
size_t linebuf_pending(const struct linebuf *lb);
/* End of input: an unterminated final line is still a line. */
void linebuf_finish(struct linebuf *lb, linebuf_line_fn fn, void *ctx);

#endif
