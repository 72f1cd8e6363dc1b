// SPDX-License-Identifier: GPL-2.0-only
/*
 * Request framing: complete, split, truncated and over-long lines, fed in
 * every way a socket can deliver them.
 */
#include "unit.h"

#include "linebuf.h"

#define MAX_SEEN 16

struct seen {
	int n;
	char *lines[MAX_SEEN];	/* NULL marks a too-long report */
};

static void record(void *ctx, char *line, size_t len, bool too_long)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_SEEN);
	if (too_long) {
		assert_null(line);
		s->lines[s->n++] = NULL;
		return;
	}
	assert_int_equal(strlen(line), len);
	s->lines[s->n++] = strdup(line);
}

static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->lines[i]);
	memset(s, 0, sizeof(*s));
}

static void test_whole_lines(void **state)
{
	struct linebuf lb;
	struct seen s = { 0 };

	linebuf_init(&lb, 64);
	linebuf_feed(&lb, "one\ntwo\r\n\nthree", 15, record, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "one");
	assert_string_equal(s.lines[1], "two");	/* CR dropped */
	assert_string_equal(s.lines[2], "");	/* empty line is reported, caller ignores it */
	/* "three" has no newline yet: nothing until it comes. */
	linebuf_feed(&lb, "!\n", 2, record, &s);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.lines[3], "three!");
	seen_free(&s);
	linebuf_free(&lb);
}

static void test_byte_by_byte(void **state)
{
	const char *in = "{\"a\":1}\n{\"b\":2}\n";
	struct linebuf lb;
	struct seen s = { 0 };

	linebuf_init(&lb, 64);
	for (size_t i = 0; i < strlen(in); i++)
		linebuf_feed(&lb, in + i, 1, record, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[0], "{\"a\":1}");
	assert_string_equal(s.lines[1], "{\"b\":2}");
	seen_free(&s);
	linebuf_free(&lb);
}

static void test_truncated_then_eof(void **state)
{
	struct linebuf lb;
	struct seen s = { 0 };

	linebuf_init(&lb, 64);
	linebuf_feed(&lb, "{\"jsonrpc\":\"2.0\",\"met", 21, record, &s);
	assert_int_equal(s.n, 0);
	/* The peer closed: the partial line is handed over as it is. */
	linebuf_finish(&lb, record, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "{\"jsonrpc\":\"2.0\",\"met");
	linebuf_finish(&lb, record, &s);
	assert_int_equal(s.n, 1);
	seen_free(&s);
	linebuf_free(&lb);
}

static void test_exact_limit_is_accepted(void **state)
{
	char line[17];
	struct linebuf lb;
	struct seen s = { 0 };

	memset(line, 'x', 16);
	line[16] = '\n';
	linebuf_init(&lb, 16);
	linebuf_feed(&lb, line, 17, record, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.lines[0]), 16);
	seen_free(&s);
	linebuf_free(&lb);
}

static void test_oversized_reported_once_then_recovers(void **state)
{
	char big[100];
	struct linebuf lb;
	struct seen s = { 0 };

	memset(big, 'y', sizeof(big));
	linebuf_init(&lb, 16);
	/* 300 bytes of one line in pieces: one report, no memory growth. */
	linebuf_feed(&lb, big, sizeof(big), record, &s);
	linebuf_feed(&lb, big, sizeof(big), record, &s);
	assert_true(lb.pending.len <= 16);
	linebuf_feed(&lb, big, sizeof(big), record, &s);
	assert_int_equal(s.n, 1);
	assert_null(s.lines[0]);
	/* The rest of the long line and the next good one. */
	linebuf_feed(&lb, "tail\nok\n", 8, record, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[1], "ok");
	seen_free(&s);
	linebuf_free(&lb);
}

static void test_oversized_within_one_read(void **state)
{
	char buf[64];
	struct linebuf lb;
	struct seen s = { 0 };

	/* An over-long line whose newline arrives in the same read. */
	memset(buf, 'z', 40);
	memcpy(buf + 40, "\nnext\n", 6);
	linebuf_init(&lb, 16);
	linebuf_feed(&lb, buf, 46, record, &s);
	assert_int_equal(s.n, 2);
	assert_null(s.lines[0]);
	assert_string_equal(s.lines[1], "next");
	seen_free(&s);
	linebuf_free(&lb);
}

static void test_oversized_unterminated_at_eof(void **state)
{
	char buf[40];
	struct linebuf lb;
	struct seen s = { 0 };

	memset(buf, 'q', sizeof(buf));
	linebuf_init(&lb, 16);
	linebuf_feed(&lb, buf, sizeof(buf), record, &s);
	linebuf_finish(&lb, record, &s);
	assert_int_equal(s.n, 1);
	assert_null(s.lines[0]);
	seen_free(&s);
	linebuf_free(&lb);
}

/* A consumer that stops after every second line, as the server does when its output is full. */
struct pausing {
	struct linebuf *lb;
	struct seen seen;
};

static void record_and_pause(void *ctx, char *line, size_t len, bool too_long)
{
	struct pausing *p = ctx;

	record(&p->seen, line, len, too_long);
	if (p->seen.n % 2 == 0)
		linebuf_pause(p->lb);
}

static void test_pause_stops_after_the_line(void **state)
{
	static const char in[] = "a\nb\nc\nd\ne";
	struct linebuf lb;
	struct pausing p = { .lb = &lb };
	size_t used, off = 0;

	linebuf_init(&lb, 64);
	used = linebuf_feed(&lb, in, strlen(in), record_and_pause, &p);
	/* Stopped right after "b\n": "c\nd\ne" is the caller's to feed again. */
	assert_int_equal(used, 4);
	assert_int_equal(p.seen.n, 2);
	off += used;
	used = linebuf_feed(&lb, in + off, strlen(in) - off, record_and_pause, &p);
	assert_int_equal(used, 4);
	assert_int_equal(p.seen.n, 4);
	assert_string_equal(p.seen.lines[3], "d");
	off += used;
	/* No newline: consumed into the pending line, no pause. */
	used = linebuf_feed(&lb, in + off, strlen(in) - off, record_and_pause, &p);
	assert_int_equal(used, 1);
	assert_int_equal(linebuf_pending(&lb), 1);
	assert_int_equal(p.seen.n, 4);
	linebuf_finish(&lb, record_and_pause, &p);
	assert_int_equal(p.seen.n, 5);
	assert_string_equal(p.seen.lines[4], "e");
	assert_int_equal(linebuf_pending(&lb), 0);
	seen_free(&p.seen);
	linebuf_free(&lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_lines),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_truncated_then_eof),
		cmocka_unit_test(test_exact_limit_is_accepted),
		cmocka_unit_test(test_oversized_reported_once_then_recovers),
		cmocka_unit_test(test_oversized_within_one_read),
		cmocka_unit_test(test_oversized_unterminated_at_eof),
		cmocka_unit_test(test_pause_stops_after_the_line),
	};

	return cmocka_run_group_tests_name("linebuf", tests, NULL, NULL);
}
