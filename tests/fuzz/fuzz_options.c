// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscoped's command line (daemon_options_parse): the input split at
 * NULs into at most 32 arguments.  Errors must be named within the
 * error buffer, and a second parse of the same options must not fail
 * differently (getopt's state is reset between parses).
 */
#include <errno.h>

#include "fuzz.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_string(data, size), *argv[34] = { "kvmscoped" }, err[160];
	struct daemon_options o;
	int argc = 1, r1, r2;
	size_t at = 0;

	while (at <= size && argc < 33) {
		argv[argc++] = copy + at;
		at += strlen(copy + at) + 1;
	}
	argv[argc] = NULL;
	daemon_options_init(&o);
	err[0] = '\0';
	r1 = daemon_options_parse(&o, argc, argv, err, sizeof(err));
	if (r1 < 0 && !err[0] && r1 != -ENOMEM)
		abort();	/* a refusal says why */
	daemon_options_init(&o);
	r2 = daemon_options_parse(&o, argc, argv, err, sizeof(err));
	if ((r1 < 0) != (r2 < 0))
		abort();
	free(copy);
	return 0;
}
