// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe which BPF program types load and attach here.  A kernel may
 * declare a type and still refuse it (fentry load is EPERM under some
 * hypervisors, kprobes may be compiled out), so each type is really
 * loaded and attached, alone: one refused program would fail a
 * whole-object load.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "probe.skel.h"
#include "progprobe.h"

struct program_type {
	const char *name;	/* key in status.program_types */
	const char *prog_name;	/* its program in bpf/probe.bpf.c */
};

/* In the order status lists them. */
static const struct program_type program_types[] = {
	{ "tracepoint", "probe_tracepoint" },
	{ "raw_tp", "probe_raw_tp" },
	{ "tp_btf", "probe_tp_btf" },
	{ "fentry", "probe_fentry" },
	{ "kprobe", "probe_kprobe" },
};

#define N_PROGRAM_TYPES (sizeof(program_types) / sizeof(program_types[0]))

/* The callback that was installed before the probe (the daemon's own). */
static libbpf_print_fn_t outer_print;

/*
 * Refusals are expected here, so libbpf's warnings about them (and the
 * verifier log) go to the daemon's own callback as debug messages.
 */
static int print_as_debug(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return outer_print ? outer_print(LIBBPF_DEBUG, fmt, ap) : 0;
}

/* Load and attach @type's program alone; on failure say which step failed. */
static bool try_program_type(const struct program_type *type, char *error, size_t len)
{
	struct bpf_program *prog, *target = NULL;
	struct bpf_link *link;
	struct probe_bpf *skel;
	int r;

	skel = probe_bpf__open();
	if (!skel) {
		snprintf(error, len, "open: %s", strerror(errno));
		return false;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		bool mine = !strcmp(bpf_program__name(prog), type->prog_name);

		bpf_program__set_autoload(prog, mine);
		if (mine)
			target = prog;
	}
	if (!target) {
		snprintf(error, len, "open: no program %s in the BPF object", type->prog_name);
		goto destroy_skel;
	}
	r = probe_bpf__load(skel);
	if (r < 0) {
		snprintf(error, len, "load: %s", strerror(-r));
		goto destroy_skel;
	}
	link = bpf_program__attach(target);
	if (!link) {
		snprintf(error, len, "attach: %s", strerror(errno));
		goto destroy_skel;
	}
	bpf_link__destroy(link);
	probe_bpf__destroy(skel);
	return true;

destroy_skel:
	probe_bpf__destroy(skel);
	return false;
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

int progprobe_run(json_t **ret)
{
	char attached[64] = "", refused[1024] = "";
	struct timespec start;
	json_t *types;

	types = json_object();
	if (!types)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &start);
	outer_print = libbpf_set_print(print_as_debug);
	for (size_t i = 0; i < N_PROGRAM_TYPES; i++) {
		const struct program_type *type = &program_types[i];
		struct timespec type_start;
		char error[256];
		size_t n;
		bool ok;

		clock_gettime(CLOCK_MONOTONIC, &type_start);
		ok = try_program_type(type, error, sizeof(error));
		log_debug("program type %s: %s (%.1f ms)", type->name, ok ? "attached" : error,
			  elapsed_ms(&type_start));
		if (json_object_set_new(types, type->name, json_pack("{s:b, s:s?}", "attached", ok,
					"error", ok ? NULL : error)) < 0) {
			libbpf_set_print(outer_print);
			json_decref(types);
			return -ENOMEM;
		}
		if (ok) {
			n = strlen(attached);
			snprintf(attached + n, sizeof(attached) - n, " %s", type->name);
		} else {
			n = strlen(refused);
			snprintf(refused + n, sizeof(refused) - n, "%s%s (%s)", n ? ", " : "",
				 type->name, error);
		}
	}
	libbpf_set_print(outer_print);
	log_info("BPF program types that attach:%s; not:%s%s (probed in %.1f ms)",
		 attached[0] ? attached : " none", refused[0] ? " " : " none", refused,
		 elapsed_ms(&start));
	*ret = types;
	return 0;
}

bool progprobe_kernel_has_func(const char *name)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found = vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;

	btf__free(vmlinux);
	return found;
}

static bool libbpf_quiet;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int prio = level == LIBBPF_WARN && !libbpf_quiet ? LOG_WARNING : LOG_DEBUG;
	char *msg = NULL, *line, *save = NULL;

	if (prio == LOG_DEBUG && log_get_max_level() < LOG_DEBUG)
		return 0;
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_internal(prio, 0, "%s", line);
	free(msg);
	return 0;
}

void progprobe_libbpf_log_install(void)
{
	libbpf_set_print(libbpf_log);
}

bool progprobe_libbpf_quiet(bool quiet)
{
	bool was = libbpf_quiet;

	libbpf_quiet = quiet;
	return was;
}
