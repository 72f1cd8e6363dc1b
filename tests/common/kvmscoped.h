/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the root test programs (integration, top, the lab's cross-check)
 * need around the daemon under test: build paths, the root and /dev/kvm
 * check, starting kvmscoped, waiting for its socket, stopping it.
 */
#ifndef KVMSCOPE_TESTS_KVMSCOPED_H
#define KVMSCOPE_TESTS_KVMSCOPED_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * @build_dir/@name, made absolute when it exists (tmux runs commands from
 * its own directory).  The string lives until 16 more calls.
 */
char *test_build_path(const char *build_dir, const char *name);

/* 0 when running as root with a usable /dev/kvm; else says why, as @who, and -1. */
int test_require_root_kvm(const char *who);

/* A connected Unix stream socket to @path, or -errno. */
int test_connect_unix(const char *path);

/*
 * Start @kvmscoped with the NULL-terminated @args (after argv[0]), its
 * stdout and stderr appended to @log.  Returns its pid.
 */
pid_t test_kvmscoped_start(const char *kvmscoped, const char *log, char *const args[]);

/*
 * Wait until @path accepts a connection: 0, or -ESRCH when @pid (if > 0)
 * exited first, -ETIMEDOUT after @timeout_ms.
 */
int test_kvmscoped_wait(const char *path, pid_t pid, int timeout_ms);
/*
 * How long to wait for a daemon to start: @dflt ms, or KVMSCOPE_TEST_START_MS
 * where longer (a daemon under valgrind, or in a lab under TCG on a slow
 * machine; tests/run sets it inside the lab).
 */
int test_start_wait_ms(int dflt);

/*
 * Send @sig to *@pid, reap it, and set *@pid to -1 (nothing if <= 0). A
 * process that has not exited within the start wait
 * (test_start_wait_ms(20000)) is killed, said on stderr, and -1 returned.
 */
int test_process_stop(pid_t *pid, int sig);

/* VmRSS of @pid in kB, or -1. */
long test_rss_kb(pid_t pid);

/*
 * From a status answer: the runs of kvm_userspace_exit's program the
 * kernel skipped, in the first program and in its backup.  An exit is lost
 * only when both were skipped for it (and then it is counted there).
 */
void test_userspace_exit_skips(json_t *status, long long *first, long long *backup);

#endif
