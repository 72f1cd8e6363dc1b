/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What kvmscope's own BPF programs cost: the run time and run count the
 * kernel keeps per program, which it counts only while the sysctl
 * kernel.bpf_stats_enabled is 1 (two clock reads per run of every BPF
 * program on the host, so kvmscoped never turns it on itself).
 *
 * A capability tracks the programs it attached (bpfstats_track(), once),
 * reads them on its tick (bpfstats_read()) and shows that reading in its
 * part of `status` (bpfstats_to_json()) and in /metrics
 * (bpfstats_metrics()).  Everything but tracking and reading is pure, for
 * the unit tests.
 */
#ifndef KVMSCOPE_BPFSTATS_H
#define KVMSCOPE_BPFSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "strbuf.h"

#define BPFSTATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

struct bpf_program;
struct bpf_link;

struct bpfstats_prog {
	char name[64];		/* as status names the probe: "tp_btf/kvm_exit" */
	int fd;			/* the program, owned; -1 when it could not be opened */
	uint32_t id;		/* the kernel's program id (bpftool prog show id N), 0 unknown */
	int error;		/* 0, or -errno of the last read */
	uint64_t run_time_ns, run_cnt;	/* valid when read, enabled == 1 and !error */
	/*
	 * Runs the kernel skipped because the program was already running on
	 * that CPU (bpf_prog_info.recursion_misses, Linux 5.12+): the event
	 * was not seen.  Counted whatever the sysctl; valid when misses_read.
	 */
	uint64_t recursion_misses;
	bool misses_read;
};

struct bpfstats {
	bool read;		/* bpfstats_read() ran at least once */
	/* kernel.bpf_stats_enabled at the last read: 1, 0, or -errno (unreadable). */
	int enabled;
	struct bpfstats_prog *progs;
	size_t n;
	/*
	 * Optional: the costs are also shown per @unit ("exit" gives
	 * "exits", "ns_per_exit"), counted by the runs of progs[unit_prog];
	 * unit_prog < 0 when no program counts them.  Set by the capability
	 * after each read.
	 */
	const char *unit;
	int unit_prog;
};

/* Track @prog_fd (taken: bpfstats_free() closes it; < 0: @error says why) as @name. */
int bpfstats_add(struct bpfstats *s, const char *name, int prog_fd, uint32_t id, int error);
/* The index of the program named @name, or -1. */
int bpfstats_find(const struct bpfstats *s, const char *name);
void bpfstats_free(struct bpfstats *s);

/* kernel.bpf_stats_enabled from @path: 1, 0, or -errno (-EINVAL: not "0" or "1"). */
int bpfstats_read_enabled(const char *path);

/*
 * The last reading, for `status`:
 *   {"bpf_stats_enabled": true, "how": "...", "exits": N, "exits_from": "name",
 *    "run_time_ns": N, "ns_per_exit": F,
 *    "programs": [{"name", "id", "runs", "run_time_ns", "ns_per_run", "ns_per_exit", "error"}]}
 * Numbers the kernel did not count are null, never 0: with the sysctl off
 * the cost is unknown, and "how" says so and how to turn it on.  The
 * per-unit keys are there only with a @unit.
 */
json_t *bpfstats_to_json(const struct bpfstats *s);

/*
 * The families kvmscope_bpf_stats_enabled (gauge), kvmscope_bpf_runs_total
 * and kvmscope_bpf_run_seconds_total (counters, label program) over every
 * set in @sets: each family is written once per scrape, so when more
 * capabilities than one have programs, the caller passes all their sets
 * here at once (program names must then be distinct).  Runs and run time
 * are left out while the sysctl is off: their cost is unknown, not zero.
 */
int bpfstats_metrics(struct strbuf *sb, const struct bpfstats *const *sets, size_t n_sets);

/* bpfstats_read.c: the kernel. */

/*
 * Track the program behind @link as @name: @prog's own fd where this
 * daemon loaded it, else (a link adopted from a pin, whose program this
 * daemon never loaded) the program the link holds.  Either may be NULL.
 * A program that cannot be opened is still listed, with its error.
 */
int bpfstats_track(struct bpfstats *s, const char *name, const struct bpf_program *prog,
		   const struct bpf_link *link);
/* Read the sysctl at @sysctl_path and, while it is 1, every program's counters. */
void bpfstats_read(struct bpfstats *s, const char *sysctl_path);

#endif
