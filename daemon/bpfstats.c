// SPDX-License-Identifier: GPL-2.0-only
/* BPF programs' run time: the pure part (tracking, JSON, metrics); see bpfstats.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfstats.h"
#include "metrics.h"

int bpfstats_add(struct bpfstats *s, const char *name, int prog_fd, uint32_t id, int error)
{
	struct bpfstats_prog *p = realloc(s->progs, (s->n + 1) * sizeof(*p));

	if (!p) {
		if (prog_fd >= 0)
			close(prog_fd);
		return -ENOMEM;
	}
	s->progs = p;
	p = &s->progs[s->n++];
	*p = (struct bpfstats_prog){ .fd = prog_fd, .id = id, .error = prog_fd < 0 ? error : 0 };
	snprintf(p->name, sizeof(p->name), "%s", name);
	return 0;
}

int bpfstats_find(const struct bpfstats *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->progs[i].name, name))
			return (int)i;
	return -1;
}

void bpfstats_free(struct bpfstats *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->progs[i].fd >= 0)
			close(s->progs[i].fd);
	free(s->progs);
	s->progs = NULL;
	s->n = 0;
}

int bpfstats_read_enabled(const char *path)
{
	char buf[16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	if (!strcmp(buf, "0\n") || !strcmp(buf, "0"))
		return 0;
	if (!strcmp(buf, "1\n") || !strcmp(buf, "1"))
		return 1;
	return -EINVAL;
}

/* Did the kernel count @p: the sysctl was on at the last read and @p was read. */
static bool counted(const struct bpfstats *s, const struct bpfstats_prog *p)
{
	return s->read && s->enabled == 1 && !p->error;
}

/* @ns per @n, to 0.1 ns; null when nothing was counted. */
static json_t *ns_per(bool known, uint64_t ns, uint64_t n)
{
	if (!known || !n)
		return json_null();
	return json_real(round((double)ns / (double)n * 10.0) / 10.0);
}

static json_t *count_or_null(bool known, uint64_t v)
{
	return known ? json_integer((json_int_t)v) : json_null();
}

/* Why the numbers are what they are, and what turns the counting on or off. */
static json_t *how(const struct bpfstats *s)
{
	char buf[400];

	if (!s->read)
		return json_string("not read yet: read at the next tick");
	if (s->enabled == 1)
		return json_string("the kernel's run time and runs of each program, counted whenever "
				   "kernel.bpf_stats_enabled was 1 since the program was loaded; that "
				   "costs two clock reads per run of every BPF program on the host: "
				   "`sysctl kernel.bpf_stats_enabled=0` when done");
	if (s->enabled == 0)
		return json_string("unknown, not zero: kernel.bpf_stats_enabled is 0, so the kernel "
				   "does not time BPF programs; `sysctl kernel.bpf_stats_enabled=1` "
				   "turns it on, for every BPF program on the host at two clock reads "
				   "per run (kvmscoped never turns it on itself)");
	snprintf(buf, sizeof(buf), "unknown: cannot read %s: %s%s", BPFSTATS_SYSCTL,
		 strerror(-s->enabled),
		 s->enabled == -ENOENT ? " (the kernel counts BPF run time from Linux 5.1)" : "");
	return json_string(buf);
}

json_t *bpfstats_to_json(const struct bpfstats *s)
{
	const struct bpfstats_prog *unit = s->unit && s->unit_prog >= 0 &&
		(size_t)s->unit_prog < s->n ? &s->progs[s->unit_prog] : NULL;
	bool unit_known = unit && counted(s, unit), all_known = s->read && s->enabled == 1 && s->n;
	uint64_t units = unit_known ? unit->run_cnt : 0, total_ns = 0;
	json_t *progs = json_array(), *out;
	char key[48];

	for (size_t i = 0; i < s->n; i++) {
		const struct bpfstats_prog *p = &s->progs[i];
		bool known = counted(s, p);
		char err[160];
		json_t *o;

		all_known &= known;
		total_ns += known ? p->run_time_ns : 0;
		o = json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", p->name, "id",
			      p->id ? json_integer(p->id) : json_null(), "runs",
			      count_or_null(known, p->run_cnt), "run_time_ns",
			      count_or_null(known, p->run_time_ns), "ns_per_run",
			      ns_per(known, p->run_time_ns, p->run_cnt));
		if (!o)
			continue;
		if (s->unit) {
			snprintf(key, sizeof(key), "ns_per_%s", s->unit);
			json_object_set_new(o, key, ns_per(known && unit_known, p->run_time_ns, units));
		}
		json_object_set_new(o, "skipped_runs", p->misses_read ?
				    json_integer((json_int_t)p->recursion_misses) : json_null());
		snprintf(err, sizeof(err), "cannot read the program's run time: %s", strerror(-p->error));
		json_object_set_new(o, "error", p->error ? json_string(err) : json_null());
		json_array_append_new(progs, o);
	}
	out = json_pack("{s:o, s:o}", "bpf_stats_enabled",
			s->read && s->enabled >= 0 ? json_boolean(s->enabled == 1) : json_null(),
			"how", how(s));
	if (!out) {
		json_decref(progs);
		return NULL;
	}
	if (s->unit) {
		snprintf(key, sizeof(key), "%ss", s->unit);
		json_object_set_new(out, key, count_or_null(unit_known, units));
		snprintf(key, sizeof(key), "%ss_from", s->unit);
		json_object_set_new(out, key, unit ? json_string(unit->name) : json_null());
	}
	json_object_set_new(out, "run_time_ns", count_or_null(all_known, total_ns));
	if (s->unit) {
		snprintf(key, sizeof(key), "ns_per_%s", s->unit);
		json_object_set_new(out, key, ns_per(all_known && unit_known, total_ns, units));
	}
	{
		uint64_t skipped = 0;
		bool any = false;

		for (size_t i = 0; i < s->n; i++) {
			skipped += s->progs[i].misses_read ? s->progs[i].recursion_misses : 0;
			any |= s->progs[i].misses_read;
		}
		json_object_set_new(out, "skipped_runs", any ? json_integer((json_int_t)skipped) :
							       json_null());
	}
	json_object_set_new(out, "programs", progs);
	return out;
}

enum per_program_value { PER_PROGRAM_RUNS, PER_PROGRAM_SECONDS, PER_PROGRAM_SKIPPED };

/*
 * One counter family with a sample per program of every set: runs and
 * run time where the kernel counted them (the sysctl on), skipped runs
 * wherever they could be read.
 */
static int per_program(struct strbuf *sb, const struct bpfstats *const *sets, size_t n_sets,
		       const char *name, const char *help, enum per_program_value what)
{
	int r = metrics_family(sb, name, "counter", help);

	for (size_t k = 0; k < n_sets && r >= 0; k++)
		for (size_t i = 0; i < sets[k]->n && r >= 0; i++) {
			const struct bpfstats_prog *p = &sets[k]->progs[i];
			struct metrics_label l = { "program", p->name };

			if (what == PER_PROGRAM_SKIPPED ? !p->misses_read || p->error :
							  !counted(sets[k], p))
				continue;
			r = what == PER_PROGRAM_SECONDS ?
				metrics_sample_ns_as_seconds(sb, name, &l, 1, p->run_time_ns) :
				metrics_sample(sb, name, &l, 1, what == PER_PROGRAM_RUNS ?
							 p->run_cnt : p->recursion_misses);
		}
	return r;
}

int bpfstats_metrics(struct strbuf *sb, const struct bpfstats *const *sets, size_t n_sets)
{
	const struct bpfstats *first = n_sets ? sets[0] : NULL;
	int r;

	r = metrics_family(sb, "kvmscope_bpf_stats_enabled", "gauge",
		"1 while kernel.bpf_stats_enabled is 1 and the kernel times BPF programs; 0: "
		"kvmscope_bpf_runs_total and kvmscope_bpf_run_seconds_total are left out, their cost "
		"is unknown (sysctl kernel.bpf_stats_enabled=1 turns it on, at two clock reads per run "
		"of every BPF program on the host).");
	/* Unreadable (before Linux 5.1): no sample rather than a made-up 0. */
	if (r >= 0 && first && first->read && first->enabled >= 0)
		r = metrics_sample(sb, "kvmscope_bpf_stats_enabled", NULL, 0, first->enabled == 1);
	if (r >= 0)
		r = per_program(sb, sets, n_sets, "kvmscope_bpf_runs_total",
			"Runs of each of kvmscope's attached BPF programs, counted by the kernel while "
			"kernel.bpf_stats_enabled is 1.", PER_PROGRAM_RUNS);
	if (r >= 0)
		r = per_program(sb, sets, n_sets, "kvmscope_bpf_run_seconds_total",
			"Time the kernel spent in each of kvmscope's attached BPF programs while "
			"kernel.bpf_stats_enabled is 1.", PER_PROGRAM_SECONDS);
	if (r >= 0)
		r = per_program(sb, sets, n_sets, "kvmscope_bpf_skipped_runs_total",
			"Runs of each of kvmscope's BPF programs the kernel skipped because the program "
			"was already running on that CPU (recursion_misses): events not seen, unless a "
			"backup program saw them.", PER_PROGRAM_SKIPPED);
	return r;
}
