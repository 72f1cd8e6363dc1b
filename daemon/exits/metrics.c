// SPDX-License-Identifier: GPL-2.0-only
/* The exits capability's Prometheus families, from the tick's snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "decode.h"
#include "exits/exits.h"
#include "hist.h"
#include "manager.h"
#include "metrics.h"
#include "options.h"

/* ---- metrics ---- */

static int pio_agg_cmp(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	if (x->port != y->port)
		return x->port - y->port;
	return x->direction - y->direction;
}

/* Samples of kvmscope_exits_total (hardware) or kvmscope_userspace_exits_total. */
static int exit_samples(struct strbuf *sb, struct manager *m, const struct exit_table *per_vm,
			enum exit_kind kind)
{
	const char *metric = kind == EXIT_KIND_HW ? "kvmscope_exits_total"
						  : "kvmscope_userspace_exits_total";
	char pid[16], vcpu[16], name[DECODE_NAME_MAX], dn[32];
	int r = 0;

	for (size_t i = 0; i < manager_vm_count(m) && r >= 0; i++) {
		const struct vm *vm = manager_vm_at(m, i);

		const char *vm_name = vm_display_name(vm, dn, sizeof(dn));

		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t j = 0; j < per_vm[i].n && r >= 0; j++) {
			const struct exit_record *e = &per_vm[i].v[j];
			struct metrics_label l[5] = { { "pid", pid }, { "vm", vm_name }, { "vcpu", vcpu } };
			size_t n = 3;

			if (e->kind != kind)
				continue;
			snprintf(vcpu, sizeof(vcpu), e->vcpu == KVMSCOPE_VCPU_UNKNOWN ? "unknown" : "%u",
				 e->vcpu);
			if (kind == EXIT_KIND_HW) {
				l[n++] = (struct metrics_label){ "isa", isa_name(e->isa) };
				l[n++] = (struct metrics_label){
					"reason", hw_exit_name(e->isa, e->reason, name, sizeof(name)) };
			} else {
				l[n++] = (struct metrics_label){
					"reason", kvm_exit_name(e->reason, name, sizeof(name)) };
			}
			r = metrics_sample(sb, metric, l, n, e->count);
		}
	}
	return r;
}

struct latency_series {
	uint32_t vcpu, isa, reason;
	struct kvmscope_hist h;
};

/*
 * kvmscope_exit_handling_seconds (hardware exits, kvm_exit -> kvm_entry)
 * or kvmscope_vmm_handling_seconds (userspace exits, time in the VMM),
 * labelled per VM or per VM and vCPU as --latency-labels says.
 */
static int latency_metrics(struct strbuf *sb, struct manager *m, const struct exit_table *per_vm,
			   uint8_t kind)
{
	bool hw = kind == EXIT_KIND_HW_LAT, by_vcpu = manager_options(m)->latency_labels == LATENCY_LABELS_VCPU;
	const char *name = hw ? "kvmscope_exit_handling_seconds" : "kvmscope_vmm_handling_seconds";
	char pid[16], vcpu[16], dn[32], rn[DECODE_NAME_MAX];
	struct metrics_histogram_names names;
	int r;

	metrics_histogram_names(&names, name);
	r = metrics_family(sb, name, "histogram", hw ?
		"Time from a hardware exit (kvm_exit) to the next entry (kvm_entry) of the vCPU." :
		"Time the VMM took for an exit to user space (kvm_userspace_exit to the next KVM_RUN).");
	for (size_t i = 0; i < manager_vm_count(m) && r >= 0; i++) {
		const struct vm *vm = manager_vm_at(m, i);
		const struct exit_table *t = &per_vm[i];
		struct latency_series *series = calloc(t->n ? t->n : 1, sizeof(*series));
		size_t n = 0;

		if (!series)
			return -ENOMEM;
		for (size_t j = 0; j < t->n; j++) {
			const struct exit_record *e = &t->v[j];
			uint32_t v = by_vcpu ? e->vcpu : 0;
			size_t k;

			if (e->kind != kind)
				continue;
			for (k = 0; k < n; k++)
				if (series[k].vcpu == v && series[k].isa == e->isa &&
				    series[k].reason == e->reason)
					break;
			if (k == n)
				series[n++] = (struct latency_series){ .vcpu = v, .isa = e->isa,
								       .reason = e->reason };
			hist_sparse_merge(&series[k].h, e->hist);
		}
		const char *vm_name = vm_display_name(vm, dn, sizeof(dn));

		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t k = 0; k < n && r >= 0; k++) {
			struct metrics_label l[6] = { { "pid", pid }, { "vm", vm_name } };
			size_t nl = 2;

			if (by_vcpu) {
				snprintf(vcpu, sizeof(vcpu), series[k].vcpu == KVMSCOPE_VCPU_UNKNOWN ?
					 "unknown" : "%u", series[k].vcpu);
				l[nl++] = (struct metrics_label){ "vcpu", vcpu };
			}
			if (hw) {
				l[nl++] = (struct metrics_label){ "isa", isa_name(series[k].isa) };
				l[nl++] = (struct metrics_label){ "reason", hw_exit_name(series[k].isa,
					series[k].reason, rn, sizeof(rn)) };
			} else {
				l[nl++] = (struct metrics_label){ "reason",
					kvm_exit_name(series[k].reason, rn, sizeof(rn)) };
			}
			r = metrics_histogram(sb, &names, l, nl, &series[k].h);
		}
		free(series);
	}
	return r;
}

struct detail_metric {
	uint8_t kind;
	const char *name, *help, *id_label;
};

static const struct detail_metric detail_metrics[] = {
	{ KVMSCOPE_DETAIL_MMIO, "kvmscope_mmio_total",
	  "Guest MMIO (kvm_mmio) by VM, guest-physical page and access; top N, rest as page=\"other\".",
	  "page" },
	{ KVMSCOPE_DETAIL_MSR, "kvmscope_msr_total",
	  "Guest MSR accesses (kvm_msr) by VM, index and access; top N, rest as index=\"other\".",
	  "index" },
	{ KVMSCOPE_DETAIL_CPUID, "kvmscope_cpuid_total",
	  "Guest CPUID (kvm_cpuid) by VM and leaf; top N, rest as leaf=\"other\".", "leaf" },
	{ KVMSCOPE_DETAIL_HYPERCALL, "kvmscope_hypercalls_total",
	  "KVM hypercalls (kvm_hypercall) by VM and number; top N, rest as nr=\"other\".", "nr" },
	{ KVMSCOPE_DETAIL_BACKDOOR, "kvmscope_vmware_backdoor_total",
	  "VMware backdoor calls (port 0x5658/0x5659 with the magic in EAX) by VM and command.",
	  "command" },
	{ KVMSCOPE_DETAIL_VMGEXIT, "kvmscope_vmgexit_total",
	  "SEV-ES/SNP VMGEXITs (kvm_vmgexit_enter) by VM and GHCB software exit code; top N, rest as exit_code=\"other\".",
	  "exit_code" },
	{ KVMSCOPE_DETAIL_GHCB_MSR, "kvmscope_ghcb_msr_total",
	  "SEV-ES/SNP VMGEXITs by the GHCB MSR protocol, by VM and request; top N, rest as request=\"other\".",
	  "request" },
};

static int detail_samples(struct strbuf *sb, struct manager *m, const struct exit_table *per_vm,
			  const struct detail_metric *dm)
{
	char pid[16], dn[32], id[24], sub[24];
	int r = metrics_family(sb, dm->name, "counter", dm->help);

	for (size_t i = 0; i < manager_vm_count(m) && r >= 0; i++) {
		const struct vm *vm = manager_vm_at(m, i);
		struct exit_table sel = { 0 };
		uint64_t other = 0;

		for (size_t j = 0; j < per_vm[i].n; j++) {
			const struct exit_record *e = &per_vm[i].v[j];

			if (e->kind == EXIT_KIND_DETAIL && e->reason == dm->kind)
				exit_table_push(&sel, e);
			else if (e->kind == EXIT_KIND_DETAIL_OTHER && e->reason == dm->kind)
				other += e->count;
		}
		if (sel.n > 1)
			qsort(sel.v, sel.n, sizeof(sel.v[0]), exit_record_by_count);
		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t j = 0; j < sel.n && r >= 0; j++) {
			const struct exit_record *e = &sel.v[j];
			struct metrics_label l[5] = { { "pid", pid },
						      { "vm", vm_display_name(vm, dn, sizeof(dn)) },
						      { dm->id_label, id } };
			size_t nl = 3;

			if (j >= manager_options(m)->detail_top) {
				other += e->count;
				continue;
			}
			switch (dm->kind) {
			case KVMSCOPE_DETAIL_MMIO:
				snprintf(id, sizeof(id), "0x%llx", (unsigned long long)e->id << 12);
				l[nl++] = (struct metrics_label){ "access", mmio_access_name(e->direction) };
				break;
			case KVMSCOPE_DETAIL_MSR:
				snprintf(id, sizeof(id), "0x%llx", (unsigned long long)e->id);
				l[nl++] = (struct metrics_label){ "access", e->direction ? "write" : "read" };
				break;
			case KVMSCOPE_DETAIL_CPUID:
				snprintf(id, sizeof(id), "0x%llx", (unsigned long long)(e->id >> 32));
				snprintf(sub, sizeof(sub), "0x%llx", (unsigned long long)(e->id & 0xffffffffu));
				l[nl++] = (struct metrics_label){ "subleaf", sub };
				break;
			case KVMSCOPE_DETAIL_VMGEXIT: {
				const char *vn = decode_ghcb_exit_code(e->id);

				snprintf(id, sizeof(id), "0x%llx", (unsigned long long)e->id);
				l[nl++] = (struct metrics_label){ "name", vn ? vn : "unknown" };
				break;
			}
			case KVMSCOPE_DETAIL_GHCB_MSR: {
				const char *gn = decode_ghcb_msr_request((uint32_t)e->id);

				snprintf(id, sizeof(id), "0x%03llx", (unsigned long long)e->id);
				l[nl++] = (struct metrics_label){ "name", gn ? gn : "unknown" };
				break;
			}
			case KVMSCOPE_DETAIL_BACKDOOR: {
				const char *cn = decode_vmware_backdoor_command((uint32_t)e->id);

				snprintf(id, sizeof(id), "%llu", (unsigned long long)e->id);
				l[nl++] = (struct metrics_label){ "name", cn ? cn : "unknown" };
				break;
			}
			default:
				snprintf(id, sizeof(id), "%llu", (unsigned long long)e->id);
			}
			r = metrics_sample(sb, dm->name, l, nl, e->count);
		}
		exit_table_free(&sel);
		if (other && r >= 0)
			r = metrics_sample(sb, dm->name,
				(struct metrics_label[]){ { "pid", pid },
					{ "vm", vm_display_name(vm, dn, sizeof(dn)) },
					{ dm->id_label, "other" } }, 3, other);
	}
	return r;
}

int exits_metrics(void *state, struct strbuf *sb)
{
	struct exits_state *st = state;
	struct manager *m = st->m;
	struct exit_table *per_vm, pio = { 0 };
	char pid[16], port[8], dn[32];
	int r = 0;

	exits_flush_exited(st);
	per_vm = calloc(manager_vm_count(m) ? manager_vm_count(m) : 1, sizeof(*per_vm));
	if (!per_vm)
		return -ENOMEM;
	/* Each VM's records where they are (the snapshot, or its own): read, not copied. */
	for (size_t i = 0; i < manager_vm_count(m); i++) {
		const uint64_t *dropped;

		per_vm[i].v = (struct exit_record *)exits_vm_records(st, manager_vm_at(m, i),
								      &per_vm[i].n, &dropped);
	}

	r = metrics_family(sb, "kvmscope_exits_total", "counter",
			   "Hardware VM exits (kvm_exit) by VM, vCPU, ISA and exit reason.");
	if (r >= 0)
		r = exit_samples(sb, m, per_vm, EXIT_KIND_HW);
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_userspace_exits_total", "counter",
				   "Exits to the VMM (kvm_userspace_exit) by VM, vCPU and KVM_EXIT reason.");
	if (r >= 0)
		r = exit_samples(sb, m, per_vm, EXIT_KIND_USER);
	if (r >= 0)
		r = latency_metrics(sb, m, per_vm, EXIT_KIND_HW_LAT);
	if (r >= 0)
		r = latency_metrics(sb, m, per_vm, EXIT_KIND_USER_LAT);
	for (size_t k = 0; k < sizeof(detail_metrics) / sizeof(detail_metrics[0]) && r >= 0; k++)
		r = detail_samples(sb, m, per_vm, &detail_metrics[k]);
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_pio_total", "counter",
				   "Guest port I/O (kvm_pio) by VM, port and direction, all vCPUs and sizes.");
	for (size_t i = 0; i < manager_vm_count(m) && r >= 0; i++) {
		const struct vm *vm = manager_vm_at(m, i);
		struct exit_table *t = &pio;

		/* Sum over vCPU and size: its PIO records sorted by (port, direction), neighbours merged. */
		pio.n = 0;
		for (size_t j = 0; j < per_vm[i].n; j++)
			if (per_vm[i].v[j].kind == EXIT_KIND_PIO && exit_table_push(&pio, &per_vm[i].v[j]) < 0)
				r = -ENOMEM;
		if (t->n > 1)
			qsort(t->v, t->n, sizeof(t->v[0]), pio_agg_cmp);
		snprintf(pid, sizeof(pid), "%u", vm->pid);
		for (size_t j = 0; j < t->n && r >= 0;) {
			uint64_t sum = 0;
			size_t k = j;

			while (k < t->n && !pio_agg_cmp(&t->v[j], &t->v[k]))
				sum += t->v[k++].count;
			snprintf(port, sizeof(port), "0x%x", t->v[j].port);
			r = metrics_sample(sb, "kvmscope_pio_total",
				(struct metrics_label[]){ { "pid", pid }, { "vm", vm_display_name(vm, dn, sizeof(dn)) },
					{ "port", port }, { "direction", pio_direction_name(t->v[j].direction) } },
				4, sum);
			j = k;
		}
	}
	if (r >= 0 && st->loaded) {
		r = metrics_family(sb, "kvmscope_exit_events_dropped_total", "counter",
				   "Exit events not counted because a bounded map was full.");
		for (uint32_t d = 0; d < KVMSCOPE_DROP_MAX && r >= 0; d++)
			r = metrics_sample(sb, "kvmscope_exit_events_dropped_total",
					   (struct metrics_label[]){ { "map", exits_drop_names[d] } }, 1,
					   st->snap.drops[d]);
	}
	if (r >= 0 && st->loaded) {
		r = metrics_family(sb, "kvmscope_exit_fallbacks_total", "counter",
				   "Exits counted in the hash maps, not in their thread's slot, by why.");
		for (uint32_t k = 0; k < KVMSCOPE_FALLBACK_MAX && r >= 0; k++)
			r = metrics_sample(sb, "kvmscope_exit_fallbacks_total",
					   (struct metrics_label[]){ { "why", exits_fallback_names[k] } }, 1,
					   st->snap.fallbacks[k]);
		if (r >= 0)
			r = metrics_family(sb, "kvmscope_slots_used", "gauge",
					   "Per-thread counter slots in use (--max-threads is the total).");
		if (r >= 0)
			r = metrics_sample(sb, "kvmscope_slots_used", NULL, 0, st->slots_used + st->kmod_slots_used);
	}
	exit_table_free(&pio);
	free(per_vm);
	return r;
}
