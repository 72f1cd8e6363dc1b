// SPDX-License-Identifier: GPL-2.0-only
/*
 * text_escape(): what a guest owner puts in a name must reach a terminal
 * or a log line as visible text, never as a control sequence.
 */
#include "unit.h"

#include "strbuf.h"

static void assert_escapes_to(const char *in, const char *want)
{
	char buf[256], *dup = text_escape_dup(in);

	assert_int_equal(text_escape(buf, sizeof(buf), in), strlen(want));
	assert_string_equal(buf, want);
	assert_non_null(dup);
	assert_string_equal(dup, want);
	free(dup);
}

static void test_printable_text_is_kept(void **state)
{
	assert_escapes_to("", "");
	assert_escapes_to("web-01 (prod)", "web-01 (prod)");
	/* systemd's escapes in cgroup names stay as systemd wrote them. */
	assert_escapes_to("/machine.slice/machine-qemu\\x2d1.scope",
			  "/machine.slice/machine-qemu\\x2d1.scope");
	/* Non-ASCII letters and symbols are printable: kept as they are. */
	assert_escapes_to("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");
	assert_escapes_to(NULL, "");
}

static void test_c0_controls_esc_and_del(void **state)
{
	assert_escapes_to("evil\x1b]0;pwned\x07\x1b[2J\nname",
			  "evil\\x1b]0;pwned\\x07\\x1b[2J\\nname");
	assert_escapes_to("a\tb\rc\x01\x1f\x7f", "a\\tb\\rc\\x01\\x1f\\x7f");
}

static void test_c1_controls(void **state)
{
	/* U+009B (CSI) and U+0085 (NEL) as UTF-8. */
	assert_escapes_to("x\xc2\x9b" "2Jy\xc2\x85z", "x\\xc2\\x9b2Jy\\xc2\\x85z");
	/* U+00A0, the first character after C1, is kept. */
	assert_escapes_to("\xc2\xa0", "\xc2\xa0");
}

static void test_invalid_utf8(void **state)
{
	/* A lone C1 byte (a raw 8-bit CSI), a cut sequence, an overlong '/', a surrogate. */
	assert_escapes_to("a\x9b" "b", "a\\x9bb");
	assert_escapes_to("caf\xc3", "caf\\xc3");
	assert_escapes_to("\xc0\xaf", "\\xc0\\xaf");
	assert_escapes_to("\xed\xa0\x80", "\\xed\\xa0\\x80");
	assert_escapes_to("\xff\xfe", "\\xff\\xfe");
}

static void test_separators_and_bidi(void **state)
{
	assert_escapes_to("a\xe2\x80\xa8" "b", "a\\u2028b");
	assert_escapes_to("txt.\xe2\x80\xae" "exe", "txt.\\u202eexe");
	assert_escapes_to("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");
}

static void test_ascii_only(void **state)
{
	char buf[128];

	text_escape_ascii(buf, sizeof(buf), "caf\xc3\xa9\x1b[2J\xc2\x9b\xf0\x9f\x90\xa7\xff");
	assert_string_equal(buf, "caf\\u00e9\\x1b[2J\\xc2\\x9b\\u1f427\\xff");
}

static void test_truncation_keeps_escapes_whole(void **state)
{
	char buf[8];

	/* "ab\x1b" needs 6 bytes, "\n" 2 more: cut before the escape that does not fit. */
	assert_int_equal(text_escape(buf, sizeof(buf), "ab\x1b\ncd"), 6);
	assert_string_equal(buf, "ab\\x1b");
	assert_int_equal(text_escape(buf, 4, "\xc3\xa9\xc3\xa9"), 2);
	assert_string_equal(buf, "\xc3\xa9");
	assert_int_equal(text_escape(buf, 1, "abc"), 0);
	assert_string_equal(buf, "");
	assert_int_equal(text_escape(buf, 0, "abc"), 0);
}

static void test_worst_case_fits_the_dup(void **state)
{
	char in[65], *out;

	/* Every byte an invalid one or a C1 pair: 4 output bytes per input byte. */
	memset(in, 0x9b, 64);
	in[64] = '\0';
	out = text_escape_dup(in);
	assert_int_equal(strlen(out), 4 * 64);
	free(out);
	for (int i = 0; i < 64; i += 2)
		in[i] = (char)0xc2;
	out = text_escape_dup(in);
	assert_int_equal(strlen(out), 4 * 64);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_text_is_kept),
		cmocka_unit_test(test_c0_controls_esc_and_del),
		cmocka_unit_test(test_c1_controls),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_separators_and_bidi),
		cmocka_unit_test(test_ascii_only),
		cmocka_unit_test(test_truncation_keeps_escapes_whole),
		cmocka_unit_test(test_worst_case_fits_the_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
