// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus text writer, byte for byte, and the bounded strbuf under it.
 */
#include "unit.h"

#include "metrics.h"
#include "strbuf.h"

static void test_strbuf_starts_empty(void **state)
{
	struct strbuf sb;
	char *s;

	strbuf_init(&sb, 0);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	assert_false(sb.overflow);

	/* Stealing from an empty buffer still gives a string the caller frees. */
	s = strbuf_steal(&sb);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	strbuf_free(&sb);
}

static void test_strbuf_append_puts_printf(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(strbuf_append(&sb, "ab\0cd", 5), 0);
	assert_int_equal(sb.len, 5);
	assert_memory_equal(sb.data, "ab\0cd", 6);
	assert_int_equal(strbuf_puts(&sb, "xyz"), 0);
	assert_int_equal(strbuf_printf(&sb, "[%d|%s|%05.1f]", -12, "q", 2.5), 0);
	assert_int_equal(sb.len, 5 + 3 + 13);
	assert_memory_equal(sb.data, "ab\0cdxyz[-12|q|002.5]", sb.len + 1);
	/* Empty appends change nothing but leave a valid string. */
	assert_int_equal(strbuf_puts(&sb, ""), 0);
	assert_int_equal(strbuf_printf(&sb, "%s", ""), 0);
	assert_int_equal(sb.len, 21);
	assert_false(sb.overflow);
	strbuf_free(&sb);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
}

/* Consuming from the front keeps the rest intact, whatever the order of appends. */
static void test_strbuf_consume_in_pieces(void **state)
{
	struct strbuf sb;
	char expect[64];
	size_t sent = 0, written = 0;

	strbuf_init(&sb, 0);
	/* A large buffer sent in pieces, with more appended between the sends. */
	for (int round = 0; round < 2000; round++) {
		char line[16];
		size_t n = (size_t)snprintf(line, sizeof(line), "%05d;", round);

		assert_int_equal(strbuf_append(&sb, line, n), 0);
		written += n;
		if (round % 3 == 2) {
			size_t take = sb.len > 7 ? 7 : sb.len;

			snprintf(expect, sizeof(expect), "%05zu;", sent / 6);
			assert_memory_equal(sb.data, expect + sent % 6, take < 6 - sent % 6 ? take :
					    6 - sent % 6);
			strbuf_consume(&sb, take);
			sent += take;
		}
		assert_int_equal(sb.len, written - sent);
		assert_int_equal(sb.data[sb.len], '\0');
	}
	/* What is left is the tail, in order. */
	snprintf(expect, sizeof(expect), "%05zu;", sent / 6);
	assert_memory_equal(sb.data, expect + sent % 6, 6 - sent % 6);
	assert_string_equal(sb.data + sb.len - 6, "01999;");
	/* Taken whole, it starts where the allocation does (free() must work). */
	free(strbuf_steal(&sb));
	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "abcdef");
	strbuf_consume(&sb, 4);
	assert_string_equal(sb.data, "ef");
	strbuf_consume(&sb, 10);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.data, "");
	strbuf_puts(&sb, "xyz");
	strbuf_consume(&sb, 1);
	assert_string_equal(sb.data, "yz");
	strbuf_free(&sb);
}

static void test_strbuf_grows(void **state)
{
	struct strbuf sb;
	char expect[10001];

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < 10000; i++) {
		expect[i] = (char)('0' + i % 10);
		assert_int_equal(strbuf_append(&sb, &expect[i], 1), 0);
		/* Always NUL-terminated, always room for the terminator. */
		assert_int_equal(sb.data[sb.len], '\0');
		assert_true(sb.cap >= sb.len + 1);
	}
	expect[10000] = '\0';
	assert_int_equal(sb.len, 10000);
	assert_string_equal(sb.data, expect);

	/* One append far larger than the current capacity. */
	assert_int_equal(strbuf_printf(&sb, "%100000s", "end"), 0);
	assert_int_equal(sb.len, 110000);
	assert_string_equal(sb.data + sb.len - 3, "end");
	assert_true(sb.cap >= 110001);
	strbuf_free(&sb);
}

static void test_strbuf_limit(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb, 10);
	assert_int_equal(strbuf_puts(&sb, "12345678"), 0);
	assert_int_equal(strbuf_puts(&sb, "90"), 0);
	/* Exactly at the limit is allowed; one byte more is not. */
	assert_int_equal(sb.len, 10);
	assert_false(sb.overflow);
	assert_int_equal(strbuf_puts(&sb, "x"), -ENOBUFS);
	assert_true(sb.overflow);
	assert_int_equal(sb.len, 10);
	assert_string_equal(sb.data, "1234567890");
	assert_int_equal(strbuf_printf(&sb, "%d", 7), -ENOBUFS);
	assert_int_equal(strbuf_append(&sb, "y", 1), -ENOBUFS);
	assert_string_equal(sb.data, "1234567890");

	/* The overflow flag stays set: a partial document must not pass as complete. */
	strbuf_consume(&sb, 5);
	assert_true(sb.overflow);
	assert_int_equal(strbuf_puts(&sb, "abcde"), 0);
	assert_string_equal(sb.data, "67890abcde");

	/* strbuf_free() keeps the limit and clears the flag. */
	strbuf_free(&sb);
	assert_int_equal(sb.limit, 10);
	assert_false(sb.overflow);
	assert_int_equal(strbuf_printf(&sb, "%s", "12345678901"), -ENOBUFS);
	assert_true(sb.overflow);
	assert_int_equal(sb.len, 0);
	strbuf_free(&sb);
}

static void test_strbuf_consume(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_consume(&sb, 3);
	assert_int_equal(sb.len, 0);

	assert_int_equal(strbuf_puts(&sb, "line one\nline two\n"), 0);
	strbuf_consume(&sb, 0);
	assert_string_equal(sb.data, "line one\nline two\n");
	strbuf_consume(&sb, strlen("line one\n"));
	assert_int_equal(sb.len, strlen("line two\n"));
	assert_string_equal(sb.data, "line two\n");
	strbuf_consume(&sb, 100);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.data, "");
	assert_int_equal(strbuf_puts(&sb, "again"), 0);
	strbuf_consume(&sb, 5);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.data, "");
	strbuf_free(&sb);
}

static void test_strbuf_steal(void **state)
{
	struct strbuf sb;
	char *s;

	strbuf_init(&sb, 64);
	assert_int_equal(strbuf_printf(&sb, "pid=%d", 1234), 0);
	s = strbuf_steal(&sb);
	assert_string_equal(s, "pid=1234");
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);

	/* The buffer is usable again, and the stolen string is independent of it. */
	assert_int_equal(strbuf_puts(&sb, "next"), 0);
	assert_string_equal(sb.data, "next");
	assert_string_equal(s, "pid=1234");
	free(s);
	strbuf_free(&sb);
}

/* Run @sb through strbuf_steal so each test compares one complete string. */
static void assert_text(struct strbuf *sb, const char *expect)
{
	char *s = strbuf_steal(sb);

	assert_string_equal(s, expect);
	free(s);
}

static void test_family_header(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_family(&sb, "kvmscope_exits_total", "counter",
					"Hardware exits by reason."), 0);
	assert_text(&sb, "# HELP kvmscope_exits_total Hardware exits by reason.\n"
			 "# TYPE kvmscope_exits_total counter\n");

	assert_int_equal(metrics_family(&sb, "kvmscope_vms", "gauge", ""), 0);
	assert_text(&sb, "# HELP kvmscope_vms \n# TYPE kvmscope_vms gauge\n");
	strbuf_free(&sb);
}

/* HELP escapes backslash and newline only; quotes stay as they are. */
static void test_family_help_escaping(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_family(&sb, "m", "counter", "a\\b\nc \"d\""), 0);
	assert_text(&sb, "# HELP m a\\\\b\\nc \"d\"\n# TYPE m counter\n");
	strbuf_free(&sb);
}

static void test_sample_with_labels(void **state)
{
	static const struct metrics_label labels[] = {
		{ "a", "1" },
		{ "b", "x" },
	};
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_sample(&sb, "name", labels, 2, 42), 0);
	assert_text(&sb, "name{a=\"1\",b=\"x\"} 42\n");

	assert_int_equal(metrics_sample(&sb, "name", labels, 1, 0), 0);
	assert_text(&sb, "name{a=\"1\"} 0\n");
	strbuf_free(&sb);
}

static void test_sample_without_labels(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_sample(&sb, "name", NULL, 0, 1), 0);
	assert_text(&sb, "name 1\n");
	strbuf_free(&sb);
}

static void test_sample_uint64_max(void **state)
{
	static const struct metrics_label labels[] = { { "vm", "web1" } };
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_sample(&sb, "big", labels, 1, UINT64_MAX), 0);
	assert_text(&sb, "big{vm=\"web1\"} 18446744073709551615\n");
	/* Above 2^53, where a double would round. */
	assert_int_equal(metrics_sample(&sb, "big", NULL, 0, 9007199254740993ULL), 0);
	assert_text(&sb, "big 9007199254740993\n");
	strbuf_free(&sb);
}

static void test_sample_ns_as_seconds(void **state)
{
	static const struct metrics_label labels[] = { { "program", "tp_btf/kvm_exit" } };
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_sample_ns_as_seconds(&sb, "t", labels, 1, 1234567890123ULL), 0);
	assert_text(&sb, "t{program=\"tp_btf/kvm_exit\"} 1234.567890123\n");
	assert_int_equal(metrics_sample_ns_as_seconds(&sb, "t", NULL, 0, 0), 0);
	assert_text(&sb, "t 0.000000000\n");
	assert_int_equal(metrics_sample_ns_as_seconds(&sb, "t", NULL, 0, 7), 0);
	assert_text(&sb, "t 0.000000007\n");
	/* Every nanosecond of a counter %.9g would round to 1.84467441e+10. */
	assert_int_equal(metrics_sample_ns_as_seconds(&sb, "t", NULL, 0, UINT64_MAX), 0);
	assert_text(&sb, "t 18446744073.709551615\n");
	strbuf_free(&sb);
}

static void test_label_value_escaping(void **state)
{
	static const struct metrics_label labels[] = { { "name", "a\"b\\c\nd" } };
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_escape_label_value(&sb, "a\"b\\c\nd"), 0);
	assert_text(&sb, "a\\\"b\\\\c\\nd");

	assert_int_equal(metrics_sample(&sb, "m", labels, 1, 3), 0);
	assert_text(&sb, "m{name=\"a\\\"b\\\\c\\nd\"} 3\n");

	/* UTF-8 and other bytes pass through unchanged. */
	assert_int_equal(metrics_escape_label_value(&sb, "caf\xc3\xa9\t{}=,"), 0);
	assert_text(&sb, "caf\xc3\xa9\t{}=,");

	assert_int_equal(metrics_escape_label_value(&sb, ""), 0);
	assert_text(&sb, "");
	strbuf_free(&sb);
}

static void test_family_then_samples(void **state)
{
	static const struct metrics_label first[] = {
		{ "pid", "1234" },
		{ "vm", "web1" },
		{ "isa", "vmx" },
		{ "reason", "HLT" },
	};
	static const struct metrics_label second[] = {
		{ "pid", "1234" },
		{ "vm", "web1" },
		{ "isa", "vmx" },
		{ "reason", "IO_INSTRUCTION" },
	};
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(metrics_family(&sb, "kvmscope_exits_total", "counter", "Exits."), 0);
	assert_int_equal(metrics_sample(&sb, "kvmscope_exits_total", first, 4, 89), 0);
	assert_int_equal(metrics_sample(&sb, "kvmscope_exits_total", second, 4, 1801), 0);
	assert_text(&sb,
		    "# HELP kvmscope_exits_total Exits.\n"
		    "# TYPE kvmscope_exits_total counter\n"
		    "kvmscope_exits_total{pid=\"1234\",vm=\"web1\",isa=\"vmx\",reason=\"HLT\"} 89\n"
		    "kvmscope_exits_total{pid=\"1234\",vm=\"web1\",isa=\"vmx\",reason=\"IO_INSTRUCTION\"} 1801\n");
	strbuf_free(&sb);
}

/* A bounded buffer refuses, flags overflow and reports it through every writer. */
static void test_writers_report_limit(void **state)
{
	static const struct metrics_label labels[] = { { "vm", "a-rather-long-vm-name" } };
	static const struct metrics_label short_labels[] = { { "vm", "x" } };
	struct strbuf sb;

	strbuf_init(&sb, 16);
	assert_int_equal(metrics_sample(&sb, "m", labels, 1, 5), -ENOBUFS);
	assert_true(sb.overflow);
	assert_true(sb.len <= 16);
	strbuf_free(&sb);

	assert_int_equal(metrics_family(&sb, "m", "counter", "a long help text, over sixteen"),
			 -ENOBUFS);
	assert_true(sb.overflow);
	strbuf_free(&sb);

	assert_int_equal(metrics_sample(&sb, "m", NULL, 0, UINT64_MAX), -ENOBUFS);
	assert_true(sb.overflow);
	strbuf_free(&sb);

	assert_int_equal(metrics_escape_label_value(&sb, "\\\\\\\\\\\\\\\\\\"), -ENOBUFS);
	assert_true(sb.overflow);
	assert_true(sb.len <= 16);
	strbuf_free(&sb);

	/* What fits, fits exactly: "m{vm=\"x\"} 5\n" is 13 bytes. */
	strbuf_init(&sb, 13);
	assert_int_equal(metrics_sample(&sb, "m", short_labels, 1, 5), 0);
	assert_false(sb.overflow);
	assert_text(&sb, "m{vm=\"x\"} 5\n");
	strbuf_free(&sb);
}

/* Text cut at a byte limit must still be valid UTF-8 for jansson. */
static void test_utf8_sanitize(void **state)
{
	char cut[] = "caf\xc3";		/* "café" cut inside the é */
	char good[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	char bad[] = "a\xff\xfe" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80";

	utf8_sanitize(cut);
	assert_string_equal(cut, "caf?");
	utf8_sanitize(good);
	assert_string_equal(good, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* Invalid bytes, an overlong '/', a surrogate and a value past U+10FFFF. */
	utf8_sanitize(bad);
	assert_string_equal(bad, "a??b??c???d????");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_strbuf_starts_empty),
		cmocka_unit_test(test_strbuf_append_puts_printf),
		cmocka_unit_test(test_strbuf_grows),
		cmocka_unit_test(test_strbuf_limit),
		cmocka_unit_test(test_strbuf_consume),
		cmocka_unit_test(test_strbuf_steal),
		cmocka_unit_test(test_family_header),
		cmocka_unit_test(test_family_help_escaping),
		cmocka_unit_test(test_sample_with_labels),
		cmocka_unit_test(test_sample_without_labels),
		cmocka_unit_test(test_sample_uint64_max),
		cmocka_unit_test(test_sample_ns_as_seconds),
		cmocka_unit_test(test_strbuf_consume_in_pieces),
		cmocka_unit_test(test_label_value_escaping),
		cmocka_unit_test(test_family_then_samples),
		cmocka_unit_test(test_writers_report_limit),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
