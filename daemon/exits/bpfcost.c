// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the exits capability's BPF programs cost (daemon/bpfstats.h): the
 * programs of its attached probes, under the probes' names, read on the
 * tick and shown per exit in `status` and in /metrics.  Exits are the
 * runs of kvm_exit where it fires, else of kvm_userspace_exit (the
 * kvm_pvm backend never fires kvm_exit, though it attaches).
 */
#include <inttypes.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "exits.skel.h"
#include "exits/exits.h"
#include "log.h"

static void track_backup(struct exits_state *st, const struct exits_probe *p)
{
	const struct bpf_program *prog;
	char name[80];

	snprintf(name, sizeof(name), "%s#backup", p->name);
	prog = st->adopted ? NULL : bpf_object__find_program_by_name(st->skel->obj, p->btf_backup_name);
	if (bpfstats_track(&st->bpf_cost, name, prog, p->backup_link) < 0)
		log_warning("exits: out of memory tracking the run time of %s", name);
}

/* The programs of the probes attached; a tick that finds none tries again at the next. */
static void track_attached(struct exits_state *st)
{
	for (size_t i = 0; i < N_PROBES_MAX; i++) {
		const struct exits_probe *p = &st->probes[i];
		const char *prog_name = p->use_btf ? p->btf_prog_name : p->prog_name;
		const struct bpf_program *prog;

		if (!p->attached || !prog_name)
			continue;
		prog = bpf_object__find_program_by_name(st->skel->obj, prog_name);
		if (bpfstats_track(&st->bpf_cost, p->name, prog, p->link) < 0)
			log_warning("exits: out of memory tracking the run time of %s", p->name);
		if (p->backup_link)
			track_backup(st, p);
	}
}

/*
 * The kernel skipped a run of a program whose backup is loaded but not
 * attached (a kernel not known to run it preemptible): attach the
 * backups now, so later skipped runs are not lost events.
 */
static void attach_backups_if_skipped(struct exits_state *st)
{
	uint64_t skipped = 0;

	if (!st->fast_reads || st->backups_wanted)
		return;
	for (size_t i = 0; i < N_PROBES_MAX; i++) {
		const struct exits_probe *p = &st->probes[i];
		int k;

		if (!p->attached || !p->btf_backup_name || !p->use_btf)
			continue;
		k = bpfstats_find(&st->bpf_cost, p->name);
		if (k >= 0 && st->bpf_cost.progs[k].misses_read)
			skipped += st->bpf_cost.progs[k].recursion_misses;
	}
	if (!skipped)
		return;
	st->backups_wanted = true;
	log_notice("exits: the kernel skipped %" PRIu64 " runs of programs that were already "
		   "running on their CPU (preempted): attaching their backup programs", skipped);
	for (size_t i = 0; i < N_PROBES_MAX; i++) {
		struct exits_probe *p = &st->probes[i];

		if (!p->attached || p->backup_link)
			continue;
		exits_attach_backup(st, p);
		if (p->backup_link)
			track_backup(st, p);
	}
}

void exits_bpf_cost_read(struct exits_state *st)
{
	int hw;

	if (!st->loaded)
		return;
	if (!st->bpf_cost.n)
		track_attached(st);
	bpfstats_read(&st->bpf_cost, BPFSTATS_SYSCTL);
	attach_backups_if_skipped(st);
	/* Every exit to the VMM is a hardware exit first, where those fire. */
	hw = bpfstats_find(&st->bpf_cost, st->probes[PROBE_KVM_EXIT].name);
	st->bpf_cost.unit = "exit";
	st->bpf_cost.unit_prog = hw >= 0 && (exits_hw_counted(st) || st->bpf_cost.progs[hw].run_cnt) ? hw :
		bpfstats_find(&st->bpf_cost, st->probes[PROBE_USERSPACE_EXIT].name);
}

json_t *exits_bpf_cost_json(struct exits_state *st)
{
	/* Nothing loaded, so no tick reads it: the sysctl alone, for an honest "how". */
	if (!st->loaded)
		bpfstats_read(&st->bpf_cost, BPFSTATS_SYSCTL);
	return bpfstats_to_json(&st->bpf_cost);
}

const struct bpfstats *exits_bpf_cost(void *state)
{
	struct exits_state *st = state;

	return &st->bpf_cost;
}
