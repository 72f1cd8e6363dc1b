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

#endif
