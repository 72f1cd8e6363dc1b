/* SPDX-License-Identifier: GPL-2.0-only */
/* Running a program to completion from a test, with its output captured. */
#ifndef KVMSCOPE_TESTS_PROC_H
#define KVMSCOPE_TESTS_PROC_H

struct proc_result {
	int status;		/* exit code, or 128+signal */
	char *out;
	char *err;
};

/*
 * Run argv (argv[0] a path, or a name looked up in PATH) with stdin on
 * /dev/null, capturing stdout and stderr: never a terminal, whatever runs
 * the tests.
 */
struct proc_result proc_run(char *const argv[]);
void proc_result_free(struct proc_result *r);

#include <sys/types.h>

/*
 * Start argv[0] (a path) with its stdout on *@out_fd (@out_fd NULL: on
 * /dev/null), stderr shared: its pid, or -errno.
 */
pid_t proc_start(char *const argv[], int *out_fd);
/* The same, for @path with the arguments @args (NULL-terminated, at most 30). */
pid_t proc_start_args(const char *path, char *const args[], int *out_fd);
/* Read the rest of @fd into *@out (malloc'd), close it, reap @pid: its exit code or 128+signal. */
int proc_finish(pid_t pid, int fd, char **out);

#endif
