// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon log: a message with a guest-chosen argument stays one line
 * with no terminal control in it; %m still names the error.
 */
#include "unit.h"

#include "log.h"

/* Run @fn with stderr going to a file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/kvmscope-test-log.XXXXXX", *text = calloc(1, 4096);
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, text, 4095, 0);
	assert_true(n >= 0);
	close(fd);
	unlink(path);
	return text;
}

static void log_evil_name(void)
{
	log_info("VM pid %u (%s) seen", 42u, "evil\x1b]0;pwned\x07\x1b[2J\nname");
}

static void log_errno(void)
{
	log_error_errno(-ENOENT, "Failed to open %s: %m", "/dev/kvm");
}

static void test_untrusted_argument_is_escaped(void **state)
{
	char *out;

	log_setup(LOG_INFO, 0);
	out = capture_stderr(log_evil_name);
	assert_string_equal(out, "kvmscoped: VM pid 42 (evil\\x1b]0;pwned\\x07\\x1b[2J\\nname) seen\n");
	free(out);
}

static void test_errno_is_named(void **state)
{
	char *out;

	log_setup(LOG_INFO, 0);
	out = capture_stderr(log_errno);
	assert_string_equal(out, "kvmscoped: Failed to open /dev/kvm: No such file or directory\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_untrusted_argument_is_escaped),
		cmocka_unit_test(test_errno_is_named),
	};

	/* Not the journal, whatever started the tests. */
	unsetenv("JOURNAL_STREAM");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
