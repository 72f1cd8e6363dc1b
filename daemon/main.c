// SPDX-License-Identifier: GPL-2.0-only
/* kvmscoped: parse options, build the Manager, run its event loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "options.h"

int main(int argc, char **argv)
{
	struct daemon_options opts;
	struct manager *m = NULL;
	char err[256];
	int r;

	daemon_options_init(&opts);
	if (daemon_options_parse(&opts, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmscoped: %s\n\n%s", err, daemon_usage);
		return 2;
	}
	if (opts.help) {
		fputs(daemon_usage, stdout);
		return 0;
	}
	if (opts.version) {
		printf("kvmscoped %s\n", KVMSCOPE_VERSION);
		return 0;
	}
	log_setup(opts.log_level, 0);
	if (geteuid() != 0)
		log_warning("Not running as root: loading BPF programs will most likely fail");

	r = manager_new(&opts, &m);
	if (r < 0) {
		log_error_errno(r, "Cannot create the manager: %m");
		return 1;
	}
	r = manager_start(m);
	if (r >= 0)
		r = manager_run(m);
	manager_free(m);
	if (r < 0) {
		log_error_errno(r, "kvmscoped stopped on an error: %m");
		return 1;
	}
	return 0;
}
