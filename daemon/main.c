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
#include "pin.h"

/*
 * --cleanup: remove what a kvmscoped pinned (its links detach with their
 * pins), unless a running one still owns the directory.
 */
static int cleanup_pins(const struct daemon_options *o)
{
	int fd, r;

	if (!o->pin_dir[0]) {
		log_error("--cleanup needs a pin directory, not --pin-dir none");
		return 2;
	}
	fd = pin_dir_lock(o->pin_dir);
	if (fd == -EWOULDBLOCK) {
		log_error("A running kvmscoped owns %s; stop it first", o->pin_dir);
		return 1;
	}
	if (fd < 0) {
		log_error_errno(fd, "Cannot open %s: %m", o->pin_dir);
		return 1;
	}
	r = pin_dir_remove(o->pin_dir);
	close(fd);
	if (r < 0) {
		log_error_errno(r, "Cannot remove the pinned state in %s: %m", o->pin_dir);
		return 1;
	}
	log_info("Removed the pinned state in %s", o->pin_dir);
	return 0;
}

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
	if (opts.cleanup)
		return cleanup_pins(&opts);
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
