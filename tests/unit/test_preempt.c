// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's preemption model, from debugfs text and command lines.
 */
#include "unit.h"

#include "preempt.h"

static void test_debugfs(void **state)
{
	/* Debian's 7.2 on x86: only full and lazy built, lazy chosen. */
	assert_int_equal(preempt_from_debugfs("full (lazy)\n"), 1);
	assert_int_equal(preempt_from_debugfs("none voluntary (full) lazy\n"), 1);
	assert_int_equal(preempt_from_debugfs("none (voluntary) full\n"), 0);
	assert_int_equal(preempt_from_debugfs("(none) voluntary full\n"), 0);
	/* Nothing chosen, or a name not known: unknown. */
	assert_int_equal(preempt_from_debugfs("none voluntary full\n"), -1);
	assert_int_equal(preempt_from_debugfs("none (fast) full\n"), -1);
	assert_int_equal(preempt_from_debugfs("(full"), -1);
	assert_int_equal(preempt_from_debugfs(""), -1);
	(void)state;
}

static void test_cmdline(void **state)
{
	assert_int_equal(preempt_from_cmdline("BOOT_IMAGE=/vmlinuz root=/dev/vda ro preempt=full\n"), 1);
	assert_int_equal(preempt_from_cmdline("preempt=voluntary quiet"), 0);
	assert_int_equal(preempt_from_cmdline("preempt=lazy"), 1);
	/* The last one wins, as the kernel reads them. */
	assert_int_equal(preempt_from_cmdline("preempt=full preempt=none"), 0);
	assert_int_equal(preempt_from_cmdline("root=/dev/vda ro"), -1);
	/* Not a word of its own. */
	assert_int_equal(preempt_from_cmdline("xpreempt=full"), -1);
	assert_int_equal(preempt_from_cmdline("preempt=bogus"), -1);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debugfs),
		cmocka_unit_test(test_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
