/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable byte buffer with an optional size bound. */
#ifndef KVMSCOPE_STRBUF_H
#define KVMSCOPE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *data;		/* the contents: @off bytes into the allocation */
	size_t len;
	size_t cap;		/* of the allocation */
	size_t off;		/* consumed from the front, not yet moved back */
	size_t limit;		/* 0: unbounded */
	bool overflow;		/* an append was refused by @limit or ENOMEM */
};

void strbuf_init(struct strbuf *sb, size_t limit);
void strbuf_free(struct strbuf *sb);
int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_puts(struct strbuf *sb, const char *s);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make room for @extra more bytes (and a NUL) in one allocation. */
int strbuf_reserve(struct strbuf *sb, size_t extra);
/*
 * Drop @n bytes from the front.  The rest moves back only once the
 * consumed part outweighs it, so sending a large buffer piece by piece
 * costs linear time, not quadratic.
 */
void strbuf_consume(struct strbuf *sb, size_t n);
/*
 * Make @buf (malloc'd: @len bytes and a NUL) the contents of @sb, which
 * must be empty: a large answer is queued without a copy.  -EBUSY if @sb
 * holds anything, -ENOBUFS past its limit; @buf is then still the caller's.
 */
int strbuf_adopt(struct strbuf *sb, char *buf, size_t len);
/* Hand the NUL-terminated contents to the caller; @sb is left empty. */
char *strbuf_steal(struct strbuf *sb);

/*
 * Replace, in place, every byte that is not part of a well-formed UTF-8
 * sequence with '?'.  Text cut at a byte limit (snprintf, comm, cmdline)
 * can end inside a character, and jansson refuses such strings.
 */
void utf8_sanitize(char *s);

/*
 * Untrusted text (guest names, cgroup paths, comm) made safe for a
 * terminal or a log line: C0 controls, DEL, C1 controls, invalid UTF-8
 * and the Unicode line separators and bidi overrides become visible
 * escapes ("\n", "\t", "\x1b", "\xc2\x9b", "\u202e"); printable text,
 * non-ASCII included, is kept.  So is a backslash: systemd's cgroup names
 * are full of "\x2d", and the aim is a safe terminal, not a reversible
 * encoding.  Writes at most @len bytes with the NUL, never cutting an
 * escape or a character, and returns the length written.  NULL is
 * written as "".
 */
size_t text_escape(char *dst, size_t len, const char *src);
/*
 * The same, with every other non-ASCII character as "\u00e9" (beyond
 * U+FFFF: "\u1f427"), for views that draw printable ASCII only.
 */
size_t text_escape_ascii(char *dst, size_t len, const char *src);
/* text_escape() into a new string, whole; NULL without memory. */
char *text_escape_dup(const char *src);

/*
 * The first line of the (small) file @path into @buf of @len bytes,
 * without its newline: 0, or -errno.  For sysfs, procfs and debugfs
 * attributes.
 */
int read_first_line(const char *path, char *buf, size_t len);
/*
 * Whether @path exists, looked up with the effective ids and capabilities:
 * access() uses the real uid and drops every capability when it is not
 * root, so a daemon running as its own user with CAP_DAC_READ_SEARCH would
 * see nothing under root's 0700 tracefs and bpffs.
 */
bool path_exists(const char *path);

/*
 * Room in the array *@v of *@cap elements of @size bytes for @n: doubled
 * from @first when it grows.  0, or -ENOMEM with the array unchanged.
 */
int array_reserve(void **v, size_t *cap, size_t n, size_t size, size_t first);

/*
 * The unsigned number in @base (10 or 16) at *@p, read no further than
 * @end: strtoull() would read past a text without a NUL (and take a sign
 * and blanks).  *@p moves past its digits; false when there is none or it
 * does not fit in 64 bits.
 */
bool parse_u64_until(const char **p, const char *end, unsigned int base, uint64_t *value);

#endif
