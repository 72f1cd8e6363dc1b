// SPDX-License-Identifier: GPL-2.0-only
/* Growable byte buffer; see strbuf.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"

void strbuf_init(struct strbuf *sb, size_t limit)
{
	memset(sb, 0, sizeof(*sb));
	sb->limit = limit;
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data ? sb->data - sb->off : NULL);
	strbuf_init(sb, sb->limit);
}

/* Move the contents back to the allocation's start. */
static void strbuf_compact(struct strbuf *sb)
{
	if (!sb->off)
		return;
	sb->data -= sb->off;
	memmove(sb->data, sb->data + sb->off, sb->len + 1);
	sb->off = 0;
}

int strbuf_reserve(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1, cap;
	char *p;

	if (sb->limit && sb->len + extra > sb->limit) {
		sb->overflow = true;
		return -ENOBUFS;
	}
	if (sb->off + need <= sb->cap)
		return 0;
	strbuf_compact(sb);
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->data, cap);
	if (!p) {
		sb->overflow = true;
		return -ENOMEM;
	}
	sb->data = p;
	sb->cap = cap;
	return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	int r = strbuf_reserve(sb, len);

	if (r < 0)
		return r;
	memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
	return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s)
{
	return strbuf_append(sb, s, strlen(s));
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = strbuf_reserve(sb, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

void strbuf_consume(struct strbuf *sb, size_t n)
{
	if (!sb->data)
		return;
	if (n >= sb->len) {
		sb->data -= sb->off;
		sb->off = 0;
		sb->len = 0;
	} else {
		sb->data += n;
		sb->off += n;
		sb->len -= n;
		if (sb->off > sb->len)
			strbuf_compact(sb);
	}
	sb->data[sb->len] = '\0';
}

int strbuf_adopt(struct strbuf *sb, char *buf, size_t len)
{
	if (sb->len)
		return -EBUSY;
	if (sb->limit && len > sb->limit) {
		sb->overflow = true;
		return -ENOBUFS;
	}
	free(sb->data ? sb->data - sb->off : NULL);
	sb->data = buf;
	sb->off = 0;
	sb->len = len;
	sb->cap = len + 1;
	return 0;
}

char *strbuf_steal(struct strbuf *sb)
{
	char *p;

	strbuf_compact(sb);
	p = sb->data;
	if (!p)
		p = strdup("");
	sb->data = NULL;
	sb->len = sb->cap = 0;
	return p;
}

/* Length of the well-formed UTF-8 sequence at @s, or 0. */
static size_t utf8_sequence_length(const unsigned char *s)
{
	size_t n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the terminating NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t n = utf8_sequence_length(p);

		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/* Code point of the well-formed sequence of @n bytes at @s. */
static unsigned int utf8_code_point(const unsigned char *s, size_t n)
{
	unsigned int cp = n == 1 ? s[0] : s[0] & (0xff >> (n + 1));

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

/*
 * Characters a terminal acts on or that reorder or break what follows:
 * C1 controls (CSI, OSC, NEL...), line and paragraph separators, and the
 * bidi embeddings, overrides and isolates.
 */
static bool code_point_needs_escape(unsigned int cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escaped form of the character of @n bytes at @s (n = 0: one invalid byte). */
static size_t escape_one(const unsigned char *s, size_t n, char out[16])
{
	unsigned int cp;

	if (n == 0)
		return (size_t)snprintf(out, 16, "\\x%02x", s[0]);
	cp = utf8_code_point(s, n);
	if (n == 1) {
		switch (cp) {
		case '\n':
			return (size_t)snprintf(out, 16, "\\n");
		case '\r':
			return (size_t)snprintf(out, 16, "\\r");
		case '\t':
			return (size_t)snprintf(out, 16, "\\t");
		}
		if (cp < 0x20 || cp == 0x7f)
			return (size_t)snprintf(out, 16, "\\x%02x", cp);
	} else if (cp <= 0x9f) {
		/* A C1 control: its bytes, as a byte-oriented terminal would see them. */
		return (size_t)snprintf(out, 16, "\\x%02x\\x%02x", s[0], s[1]);
	} else if (code_point_needs_escape(cp)) {
		return (size_t)snprintf(out, 16, "\\u%04x", cp);
	}
	memcpy(out, s, n);
	return n;
}

/* text_escape(), and with @ascii every non-ASCII character as \uXXXX too. */
static size_t escape_text(char *dst, size_t len, const char *src, bool ascii)
{
	const unsigned char *p = (const unsigned char *)(src ? src : "");
	size_t used = 0;

	if (!len)
		return 0;
	while (*p) {
		size_t n = utf8_sequence_length(p), m;
		char out[16];

		if (ascii && n > 1 && utf8_code_point(p, n) > 0x9f)
			m = (size_t)snprintf(out, sizeof(out), "\\u%04x", utf8_code_point(p, n));
		else if (n == 1 || n == 0 || code_point_needs_escape(utf8_code_point(p, n)))
			m = escape_one(p, n, out);
		else
			memcpy(out, p, m = n);
		if (used + m + 1 > len)
			break;
		memcpy(dst + used, out, m);
		used += m;
		p += n ? n : 1;
	}
	dst[used] = '\0';
	return used;
}

size_t text_escape(char *dst, size_t len, const char *src)
{
	return escape_text(dst, len, src, false);
}

size_t text_escape_ascii(char *dst, size_t len, const char *src)
{
	return escape_text(dst, len, src, true);
}

char *text_escape_dup(const char *src)
{
	/* An escape is at most 4 bytes per input byte ("\x1b"), 8 for 2 ("\xc2\x9b"). */
	size_t len = 4 * strlen(src ? src : "") + 1;
	char *dst = malloc(len);

	if (dst)
		text_escape(dst, len, src);
	return dst;
}

int array_reserve(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t c = *cap ? *cap : first;
	void *nv;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	nv = realloc(*v, c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

int read_first_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

bool path_exists(const char *path)
{
	return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

bool parse_u64_until(const char **p, const char *end, unsigned int base, uint64_t *value)
{
	const char *q = *p;
	bool fits = true;
	uint64_t v = 0;

	for (; q < end; q++) {
		unsigned int d = *q >= '0' && *q <= '9' ? (unsigned int)(*q - '0') :
				 *q >= 'a' && *q <= 'f' ? (unsigned int)(*q - 'a' + 10) :
				 *q >= 'A' && *q <= 'F' ? (unsigned int)(*q - 'A' + 10) : 99;

		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			fits = false;
		v = v * base + d;
	}
	fits &= q > *p;
	*p = q;
	*value = fits ? v : 0;
	return fits;
}
