/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers every root test program wants: sleeping, a monotonic
 * clock, and a substring assertion that prints where it looked.
 * Include after cmocka.h.
 */
#ifndef KVMSCOPE_TESTS_UTIL_H
#define KVMSCOPE_TESTS_UTIL_H

#include <errno.h>
#include <string.h>
#include <time.h>

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The driver the suite runs with (tests/run sets KVMSCOPE_TEST_DRIVER for a second run). */
#include <stdbool.h>
#include <stdlib.h>
static inline bool test_driver_is(const char *driver)
{
	const char *d = getenv("KVMSCOPE_TEST_DRIVER");

	return d && !strcmp(d, driver);
}

/*
 * Skip the running test, saying why under @tag (tests/run reads the tag):
 * "[ NOT RUN  ]" a skip, listed with its reason above the summary;
 * "[ LAB ONLY ]" not this kernel's to run but the lab's (where tests/run
 * runs it again), counted apart from skips as "in the lab only".
 */
#define skip_tagged(tag, ...) \
	do { \
		print_message(tag " " __VA_ARGS__); \
		print_message("\n"); \
		skip(); \
	} while (0)
#define skip_msg(...) skip_tagged("[ NOT RUN  ]", __VA_ARGS__)
#define lab_only_msg(...) skip_tagged("[ LAB ONLY ]", __VA_ARGS__)

#ifdef cmocka_unit_test
/*
 * In the lab (KVMSCOPE_LAB set, KVMSCOPE_LAB_ALL not): copy @tests to @out
 * without those named in @host_only (NULL-terminated), tests of user space
 * alone that ran on the host already and, under TCG, would cost seconds
 * each in every lab kernel; say how many were left out and @why.
 * Elsewhere, all.  These are not skips (they ran, on the host or in
 * another run of the suite), so not counted as such.  @out may be @tests.
 * Returns the count in @out.
 */
#define HOST_ONLY_WHY "of user space alone ran on the host and are not rerun in the lab"
static inline size_t test_lab_select(const char *suite, const char *why, const struct CMUnitTest *tests,
				     size_t n, const char *const *host_only, struct CMUnitTest *out)
{
	bool in_lab = getenv("KVMSCOPE_LAB") && !getenv("KVMSCOPE_LAB_ALL");
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		bool left_out = false;

		for (const char *const *h = host_only; in_lab && *h; h++)
			left_out |= !strcmp(tests[i].name, *h);
		if (!left_out)
			out[kept++] = tests[i];
	}
	if (kept < n)
		printf("%s: %zu tests %s (KVMSCOPE_LAB_ALL=1 runs them)\n", suite, n - kept, why);
	return kept;
}
#endif

#define assert_contains(haystack, needle) \
	do { \
		const char *h_ = (haystack), *n_ = (needle); \
		if (!h_ || !strstr(h_, n_)) \
			fail_msg("expected '%s' in: %.3000s", n_, h_ ? h_ : "(null)"); \
	} while (0)

#endif
