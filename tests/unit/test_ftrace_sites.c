// SPDX-License-Identifier: GPL-2.0-only
/*
 * enabled_functions lines, as the lab's kernels print them, parsed into
 * sites with their owners.
 */
#include "unit.h"

#include "livepatch/sites.h"

/* Debian's 6.1 with tests/vm/livepatch loaded (from the lab's test log). */
#define LINE_LIVEPATCH "cmdline_proc_show (1)   I  \ttramp: 0xffffffffc02e1000 " \
	"(klp_ftrace_handler+0x0/0x110) ->klp_ftrace_handler+0x0/0x110\n"

static int parse(const char *text, struct ftrace_sites *s)
{
	*s = (struct ftrace_sites){ 0 };
	return ftrace_sites_parse(text, strlen(text), s);
}

static void test_livepatch_site(void **state)
{
	struct ftrace_sites s;

	assert_int_equal(parse(LINE_LIVEPATCH, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.unparsed, 0);
	assert_string_equal(s.v[0].func, "cmdline_proc_show");
	assert_string_equal(s.v[0].module, "");
	assert_int_equal(s.v[0].refs, 1);
	assert_true(s.v[0].ipmodify);
	assert_false(s.v[0].regs);
	assert_false(s.v[0].direct);
	assert_int_equal(s.v[0].n_owners, 1);
	assert_int_equal(s.v[0].owners[0].kind, OWNER_LIVEPATCH);
	assert_string_equal(s.v[0].owners[0].callback, "klp_ftrace_handler");
	ftrace_sites_free(&s);
	(void)state;
}

static void test_module_function_and_direct_line(void **state)
{
	const char *text =
		"kvm_vcpu_ioctl [kvm] (2) R   D   \ttramp: 0xffffffffc0400000 "
		"(ftrace_ops_list_func+0x0/0x1b0) ->ftrace_ops_list_func+0x0/0x1b0\n"
		"\tdirect-->bpf_trampoline_6442512345+0x0/0x120\n"
		"vfs_read (1) R             \t->kprobe_ftrace_handler+0x0/0x1d0\n"
		"do_sys_openat2 (1)          ->function_trace_call+0x0/0x180\n";
	struct ftrace_sites s;

	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0].func, "kvm_vcpu_ioctl");
	assert_string_equal(s.v[0].module, "kvm");
	assert_int_equal(s.v[0].refs, 2);
	assert_true(s.v[0].regs);
	assert_true(s.v[0].direct);
	assert_false(s.v[0].ipmodify);
	/* The ops list (several owners) and the BPF trampoline it calls directly. */
	assert_int_equal(s.v[0].n_owners, 2);
	assert_int_equal(s.v[0].owners[0].kind, OWNER_SHARED);
	assert_int_equal(s.v[0].owners[1].kind, OWNER_BPF);
	assert_string_equal(s.v[0].owners[1].callback, "bpf_trampoline_6442512345");
	assert_int_equal(s.v[1].owners[0].kind, OWNER_KPROBE);
	assert_int_equal(s.v[2].owners[0].kind, OWNER_TRACER);
	assert_int_equal(s.v[2].n_owners, 1);
	ftrace_sites_free(&s);
	(void)state;
}

static void test_direct_without_symbol(void **state)
{
	const char *text = "kvm_dev_ioctl [kvm] (1)     D   \n\tdirect-->0xffffffffc0a01000\n";
	struct ftrace_sites s;

	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.v[0].n_owners, 1);
	assert_int_equal(s.v[0].owners[0].kind, OWNER_BPF);
	assert_string_equal(s.v[0].owners[0].callback, "direct call");
	ftrace_sites_free(&s);
	(void)state;
}

static void test_not_sites(void **state)
{
	const char *text = "garbage\n(1)\n\tdirect-->bpf_trampoline_1\nname (x)\nok_fn (3) \n";
	struct ftrace_sites s;

	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0].func, "ok_fn");
	assert_int_equal(s.v[0].refs, 3);
	assert_int_equal(s.v[0].n_owners, 0);
	assert_int_equal(s.unparsed, 4);
	ftrace_sites_free(&s);
	assert_int_equal(parse("", &s), 0);
	assert_int_equal(s.n, 0);
	(void)state;
}

static void test_owner_of_symbol(void **state)
{
	const char *plumbing[] = { "ftrace_stub+0x0/0x10", "ftrace_regs_caller", "0xffffffffc02e1000",
				   "ERROR!" };

	for (size_t i = 0; i < sizeof(plumbing) / sizeof(plumbing[0]); i++)
		assert_int_equal(ftrace_owner_of_symbol(plumbing[i], strlen(plumbing[i])), OWNER_KINDS);
	assert_int_equal(ftrace_owner_of_symbol("fprobe_ftrace_entry+0x0/0x2a0", 29), OWNER_FPROBE);
	assert_int_equal(ftrace_owner_of_symbol("my_ops_func+0x0/0x30 [mymod]", 28), OWNER_OTHER);
	(void)state;
}

/*
 * Found by fuzz_ftrace_sites: the "(N)" count was read with strtoul, past
 * a text without a NUL.  Each input in a buffer of exactly its size.
 */
static void test_count_bounded(void **state)
{
	static const char *const inputs[] = { "f (1", "f (12", "f (1)", "f (99999999999999999999999)", NULL };

	for (int i = 0; inputs[i]; i++) {
		size_t n = strlen(inputs[i]);
		char *buf = malloc(n);
		struct ftrace_sites s = { 0 };

		assert_non_null(buf);
		memcpy(buf, inputs[i], n);
		assert_int_equal(ftrace_sites_parse(buf, n, &s), 0);
		assert_int_equal(s.n, !strcmp(inputs[i], "f (1)") ? 1 : 0);
		if (s.n)
			assert_int_equal(s.v[0].refs, 1);
		ftrace_sites_free(&s);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_livepatch_site),
		cmocka_unit_test(test_module_function_and_direct_line),
		cmocka_unit_test(test_direct_without_symbol),
		cmocka_unit_test(test_not_sites),
		cmocka_unit_test(test_owner_of_symbol),
		cmocka_unit_test(test_count_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
