// SPDX-License-Identifier: GPL-2.0-only
/* kvmscoped: parse options, build the Manager, run its event loop. */
#include <errno.h>
#include <linux/capability.h>
#include <malloc.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
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

/* CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN effective (kvmscoped.service's user). */
static bool has_bpf_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	const unsigned int caps[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN };

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (!(d[caps[i] / 32].effective & (1u << (caps[i] % 32))))
			return false;
	return true;
}

static int saved_argc;
static char **saved_argv;

/*
 * The effective options: defaults, then the configuration file and its
 * drop-ins, then the command line (already known to parse).  What SIGHUP
 * runs again.
 */
static int effective_options(struct daemon_options *o, struct config_origins *origins, char *err,
			     size_t errlen)
{
	struct daemon_options cl;
	int r;

	daemon_options_init(&cl);
	if (daemon_options_parse(&cl, saved_argc, saved_argv, err, errlen) < 0)
		return -EINVAL;
	daemon_options_init(o);
	if (origins)
		memset(origins, 0, sizeof(*origins));
	if (!cl.no_config) {
		r = config_load(o, cl.config_path[0] ? cl.config_path : KVMSCOPE_DEFAULT_CONFIG,
				cl.config_path[0] != '\0', origins, err, errlen);
		if (r < 0)
			return r;
	}
	if (daemon_options_parse(o, saved_argc, saved_argv, err, errlen) < 0)
		return -EINVAL;
	if (origins)
		config_mark_command_line(origins, saved_argc, saved_argv);
	return 0;
}

static int reload_options(struct daemon_options *out, char *err, size_t errlen)
{
	return effective_options(out, NULL, err, errlen);
}

int main(int argc, char **argv)
{
	struct daemon_options opts;
	static struct config_origins origins;
	struct manager *m = NULL;
	char err[600];
	int r;

	/*
	 * Answers (/metrics, exits.get) are built in buffers of up to a few
	 * MB and freed at once.  glibc's dynamic mmap threshold would move
	 * such buffers onto the heap after the first free, where what they
	 * leave between live blocks stays resident; a fixed threshold maps
	 * and unmaps them, so RSS follows what the daemon holds.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 512 * 1024);
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
	saved_argc = argc;
	saved_argv = argv;
	if (effective_options(&opts, &origins, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmscoped: %s\n", err);
		return 2;
	}
	if (opts.print_config) {
		config_print(stdout, &opts, &origins);
		return 0;
	}
	log_setup(opts.log_level, 0);
	if (opts.cleanup)
		return cleanup_pins(&opts);
	if (geteuid() != 0 && !has_bpf_capabilities())
		log_warning("Neither root nor CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: loading BPF programs will most likely fail");

	r = manager_new(&opts, &m);
	if (r < 0) {
		log_error_errno(r, "Cannot create the manager: %m");
		return 1;
	}
	manager_set_reload(m, reload_options);
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
