// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl exits: per VM, hardware and userspace exits by reason with
 * their rate and handling times, then port I/O; with --detail the MMIO,
 * MSR, CPUID, hypercall and VMware backdoor counts; with --hist one
 * reason's handling-time histogram, merged over the selection.
 *
 * Every key added to exits.get after its first version may be missing (an
 * older kvmscoped): such cells show "-".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvmscopectl.h"
#include "latency.h"
#include "table.h"

#define EXIT_COLS 7

/* Hardware or userspace exits: where exits.get puts them and how they are shown. */
struct exit_kind {
	const char *name;	/* for messages */
	const char *per_vcpu;	/* per vCPU x reason records */
	const char *by_reason;	/* the same summed over vCPUs */
	const char *latency;	/* each record's latency object */
	const char *hist_prefix; /* how --hist names this kind's reasons */
	const char *measures;	/* what the latency object measures */
	bool has_isa;
	size_t ncols;
	const char *heads[EXIT_COLS];
};

static const struct exit_kind hardware_kind = {
	.name = "hardware exit",
	.per_vcpu = "hardware_exits",
	.by_reason = "hardware_by_reason",
	.latency = "latency",
	.hist_prefix = "",
	.measures = "handling time, kvm_exit to the next kvm_entry",
	.has_isa = true,
	.ncols = 7,
	.heads = { "ISA", "REASON", "COUNT", "RATE/s", "P50", "P99", "MAX" },
};

static const struct exit_kind userspace_kind = {
	.name = "userspace exit",
	.per_vcpu = "userspace_exits",
	.by_reason = "userspace_by_reason",
	.latency = "vmm_time",
	.hist_prefix = "user:",
	.measures = "time in the VMM, exit to the next KVM_RUN",
	.has_isa = false,
	.ncols = 6,
	.heads = { "REASON", "COUNT", "RATE/s", "VMM-P50", "VMM-P99", "VMM-MAX" },
};

/* One line of a by-reason table: records of one (isa, reason) merged. */
struct exit_row {
	const char *isa;	/* NULL for userspace exits */
	const char *reason;
	uint64_t count;
	double rate;
	unsigned int rates;	/* records that reported a rate */
	struct latency lat;
};

struct exit_rows {
	struct exit_row *v;
	size_t n;
};

static bool same_isa(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static struct exit_row *rows_get(struct exit_rows *rows, const char *isa, const char *reason)
{
	struct exit_row *v;

	for (size_t i = 0; i < rows->n; i++)
		if (same_isa(rows->v[i].isa, isa) && !strcmp(rows->v[i].reason, reason))
			return &rows->v[i];
	v = realloc(rows->v, (rows->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	rows->v = v;
	v += rows->n++;
	*v = (struct exit_row){ .isa = isa, .reason = reason };
	return v;
}

static void rows_add_record(struct exit_rows *rows, const struct exit_kind *kind, json_t *rec)
{
	struct exit_row *row = rows_get(rows, kind->has_isa ? obj_str(rec, "isa") : NULL,
					obj_str(rec, "reason"));
	json_int_t count = json_integer_value(json_object_get(rec, "count"));
	json_t *rate = json_object_get(rec, "rate");

	if (!row)
		return;
	if (count > 0)
		row->count += (uint64_t)count;
	if (json_is_number(rate)) {
		row->rate += json_number_value(rate);
		row->rates++;
	}
	latency_add_json(&row->lat, json_object_get(rec, kind->latency));
}

static int row_cmp_count_desc(const void *a, const void *b)
{
	const struct exit_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->reason, y->reason);
}

static bool record_of_vcpu(json_t *rec, uint64_t vcpu)
{
	json_t *v = json_object_get(rec, "vcpu");

	return json_is_integer(v) && (uint64_t)json_integer_value(v) == vcpu;
}

/*
 * Add one VM's exits of @kind to @rows, merged by reason, largest first.
 * Without --vcpu: the daemon's sums over vCPUs; with --vcpu, or from a
 * daemon without those sums, the per-vCPU records (of that vCPU) merged.
 */
static void rows_add_vm(struct exit_rows *rows, json_t *vm, const struct exit_kind *kind,
			const struct cli *c)
{
	json_t *by_reason = json_object_get(vm, kind->by_reason), *rec;
	size_t i;

	if (!c->has_vcpu && json_is_array(by_reason)) {
		json_array_foreach(by_reason, i, rec)
			rows_add_record(rows, kind, rec);
	} else {
		json_array_foreach(json_object_get(vm, kind->per_vcpu), i, rec)
			if (!c->has_vcpu || record_of_vcpu(rec, c->vcpu))
				rows_add_record(rows, kind, rec);
	}
	if (rows->n)
		qsort(rows->v, rows->n, sizeof(*rows->v), row_cmp_count_desc);
}

static void rows_free(struct exit_rows *rows)
{
	free(rows->v);
	*rows = (struct exit_rows){ 0 };
}

static void print_exit_rows(const struct exit_rows *rows, const struct exit_kind *kind)
{
	struct table t = { .ncols = kind->ncols };
	size_t count_col = kind->has_isa ? 2 : 1;

	for (size_t i = count_col; i < kind->ncols; i++)
		t.right[i] = true;
	table_add(&t, kind->heads);
	for (size_t r = 0; r < rows->n; r++) {
		const struct exit_row *row = &rows->v[r];
		char count[24], rate[32], p50[16], p99[16], max[16];
		const char *cells[EXIT_COLS], **cell = cells;

		snprintf(count, sizeof(count), "%llu", (unsigned long long)row->count);
		snprintf(rate, sizeof(rate), "%.1f", row->rate);
		if (kind->has_isa)
			*cell++ = row->isa;
		*cell++ = row->reason;
		*cell++ = count;
		*cell++ = row->rates ? rate : "-";
		*cell++ = fmt_latency(&row->lat, 0.50, p50, sizeof(p50));
		*cell++ = fmt_latency(&row->lat, 0.99, p99, sizeof(p99));
		*cell = fmt_latency(&row->lat, 2, max, sizeof(max));
		table_add(&t, cells);
	}
	table_print(&t, "  ");
}

static const char *vcpu_str(json_t *rec, char *buf, size_t len)
{
	json_t *v = json_object_get(rec, "vcpu");

	return json_is_integer(v) ? fmt_int(v, buf, len) : "?";
}

static void print_pio(json_t *vm)
{
	struct table t = { .ncols = 5, .right = { false, false, true, true, true } };
	char vcpu[24], size[24], count[24];
	json_t *rec;
	size_t i;

	table_add(&t, (const char *[]){ "PORT", "DIR", "SIZE", "VCPU", "COUNT" });
	json_array_foreach(json_object_get(vm, "pio"), i, rec)
		table_add(&t, (const char *[]){ obj_str(rec, "port_hex"), obj_str(rec, "direction"),
			fmt_int(json_object_get(rec, "size"), size, sizeof(size)),
			vcpu_str(rec, vcpu, sizeof(vcpu)),
			fmt_int(json_object_get(rec, "count"), count, sizeof(count)) });
	table_print(&t, "  ");
}

/* ---- --detail: the decoded counts, one table per kind ---- */

#define DETAIL_COLS 4

struct detail_table {
	const char *key;	/* member of the VM object */
	const char *title;
	size_t ncols;
	const char *heads[DETAIL_COLS];
	const char *fields[DETAIL_COLS];
	bool right[DETAIL_COLS];
	bool no_magic;		/* also has a "no_magic" count */
};

static const struct detail_table detail_tables[] = {
	{ .key = "mmio", .title = "MMIO (top pages)", .ncols = 4,
	  .heads = { "PAGE", "GPA", "ACCESS", "COUNT" },
	  .fields = { "page", "gpa", "access", "count" },
	  .right = { false, false, false, true } },
	{ .key = "msr", .title = "MSR", .ncols = 3,
	  .heads = { "INDEX", "ACCESS", "COUNT" },
	  .fields = { "index", "access", "count" },
	  .right = { false, false, true } },
	{ .key = "cpuid", .title = "CPUID", .ncols = 3,
	  .heads = { "LEAF", "SUBLEAF", "COUNT" },
	  .fields = { "leaf", "subleaf", "count" },
	  .right = { false, false, true } },
	{ .key = "hypercalls", .title = "hypercalls", .ncols = 3,
	  .heads = { "NR", "NAME", "COUNT" },
	  .fields = { "nr", "name", "count" },
	  .right = { true, false, true } },
	{ .key = "vmware_backdoor", .title = "VMware backdoor", .ncols = 4,
	  .heads = { "COMMAND", "NAME", "PORT", "COUNT" },
	  .fields = { "command", "name", "port", "count" },
	  .right = { true, false, false, true }, .no_magic = true },
	{ .key = "vmgexit", .title = "SEV-ES/SNP VMGEXIT (GHCB exit code)", .ncols = 3,
	  .heads = { "EXIT_CODE", "NAME", "COUNT" },
	  .fields = { "exit_code", "name", "count" },
	  .right = { false, false, true } },
	{ .key = "ghcb_msr", .title = "SEV-ES/SNP VMGEXIT (GHCB MSR protocol)", .ncols = 3,
	  .heads = { "REQUEST", "NAME", "COUNT" },
	  .fields = { "request", "name", "count" },
	  .right = { false, false, true } },
};

static void print_detail(json_t *vm, const struct detail_table *d)
{
	json_t *obj = json_object_get(vm, d->key), *entries, *e;
	struct table t = { .ncols = d->ncols };
	char buf[24];
	size_t i, n;

	if (!json_is_object(obj)) {
		printf("\n  %s  -\n", d->title);
		return;
	}
	entries = json_object_get(obj, "entries");
	n = json_array_size(entries);
	printf("\n  %s  %zu %s", d->title, n, n == 1 ? "entry" : "entries");
	if (d->no_magic)
		printf("  no_magic %s", fmt_value(json_object_get(obj, "no_magic"), buf, sizeof(buf)));
	printf("  other %s\n", fmt_value(json_object_get(obj, "other"), buf, sizeof(buf)));
	if (!n)
		return;
	memcpy(t.right, d->right, sizeof(d->right));
	table_add(&t, d->heads);
	json_array_foreach(entries, i, e) {
		char cellbuf[DETAIL_COLS][24];
		const char *cells[DETAIL_COLS];

		for (size_t c = 0; c < d->ncols; c++)
			cells[c] = fmt_value(json_object_get(e, d->fields[c]), cellbuf[c],
					     sizeof(cellbuf[c]));
		table_add(&t, cells);
	}
	table_print(&t, "  ");
}

/* ---- the tables, per VM ---- */

/* The VM's guest name, else its comm, escaped into @buf. */
static const char *vm_label(json_t *vm, char *buf, size_t len)
{
	return obj_text(vm, json_is_string(json_object_get(vm, "name")) ? "name" : "comm", buf, len);
}

static void print_vm_header(json_t *vm, const struct cli *c, bool first)
{
	json_t *tot = json_object_get(vm, "totals");
	char vcpu[40] = "", label[TEXT_CELL_MAX], state[32];

	if (c->has_vcpu)
		snprintf(vcpu, sizeof(vcpu), "  vCPU %llu", (unsigned long long)c->vcpu);
	printf("%sVM %s  pid %lld  %s%s  (hardware %lld, userspace %lld, pio %lld)\n",
	       first ? "" : "\n", vm_label(vm, label, sizeof(label)),
	       json_integer_value(json_object_get(vm, "pid")),
	       obj_text(vm, "state", state, sizeof(state)), vcpu,
	       json_integer_value(json_object_get(tot, "hardware")),
	       json_integer_value(json_object_get(tot, "userspace")),
	       json_integer_value(json_object_get(tot, "pio")));
}

static void print_vm(json_t *vm, const struct cli *c, bool first)
{
	struct exit_rows hw = { 0 }, user = { 0 };

	print_vm_header(vm, c, first);
	rows_add_vm(&hw, vm, &hardware_kind, c);
	rows_add_vm(&user, vm, &userspace_kind, c);
	if (!hw.n && !user.n)
		puts("  no exits counted");
	if (hw.n)
		print_exit_rows(&hw, &hardware_kind);
	if (user.n) {
		if (hw.n)
			putchar('\n');
		print_exit_rows(&user, &userspace_kind);
	}
	if (json_array_size(json_object_get(vm, "pio"))) {
		putchar('\n');
		print_pio(vm);
	}
	if (c->detail)
		for (size_t i = 0; i < sizeof(detail_tables) / sizeof(detail_tables[0]); i++)
			print_detail(vm, &detail_tables[i]);
	rows_free(&hw);
	rows_free(&user);
}

/* ---- --hist REASON ---- */

/* "pid 123, all vCPUs", "2 VMs, vCPU 1" */
static void describe_selection(json_t *vms, const struct cli *c, char *buf, size_t len)
{
	char vcpu[32] = "all vCPUs", label[TEXT_CELL_MAX];

	if (c->has_vcpu)
		snprintf(vcpu, sizeof(vcpu), "vCPU %llu", (unsigned long long)c->vcpu);
	if (json_array_size(vms) == 1) {
		json_t *vm = json_array_get(vms, 0);

		snprintf(buf, len, "VM %s pid %lld, %s", vm_label(vm, label, sizeof(label)),
			 json_integer_value(json_object_get(vm, "pid")), vcpu);
	} else {
		snprintf(buf, len, "%zu VMs, %s", json_array_size(vms), vcpu);
	}
}

/* ", name" for each reason of @rows, once per name, prefixed as --hist wants it. */
static void list_reasons(const struct exit_rows *rows, const struct exit_kind *kind,
			 size_t *listed)
{
	char name[TEXT_CELL_MAX];

	for (size_t i = 0; i < rows->n; i++) {
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcasecmp(rows->v[j].reason, rows->v[i].reason);
		if (!dup)
			fprintf(stderr, "%s%s%s", (*listed)++ ? ", " : "", kind->hist_prefix,
				fmt_text(rows->v[i].reason, name, sizeof(name)));
	}
}

static int unknown_reason(const char *want, const struct exit_kind *kind, json_t *vms,
			  const struct cli *c)
{
	struct exit_rows hw = { 0 }, user = { 0 };
	size_t i, listed = 0;
	char sel[TEXT_CELL_MAX + 64], wantbuf[TEXT_CELL_MAX];
	json_t *vm;

	json_array_foreach(vms, i, vm) {
		rows_add_vm(&hw, vm, &hardware_kind, c);
		rows_add_vm(&user, vm, &userspace_kind, c);
	}
	describe_selection(vms, c, sel, sizeof(sel));
	fprintf(stderr, "kvmscopectl: --hist: no %s '%s' in the selection (%s); ", kind->name,
		fmt_text(want, wantbuf, sizeof(wantbuf)), sel);
	if (hw.n || user.n) {
		fputs("reasons there: ", stderr);
		list_reasons(&hw, &hardware_kind, &listed);
		list_reasons(&user, &userspace_kind, &listed);
		fputc('\n', stderr);
	} else {
		fputs("it has no exits\n", stderr);
	}
	rows_free(&hw);
	rows_free(&user);
	return EXIT_DAEMON_ERROR;
}

static int print_hist(json_t *vms, const struct cli *c)
{
	const struct exit_kind *kind = &hardware_kind;
	const char *want = c->hist, *name = NULL;
	struct exit_rows rows = { 0 };
	struct latency total = { 0 };
	uint64_t exits = 0;
	char sel[TEXT_CELL_MAX + 64], namebuf[TEXT_CELL_MAX];
	size_t i;
	json_t *vm;

	if (!strncasecmp(want, userspace_kind.hist_prefix, strlen(userspace_kind.hist_prefix))) {
		kind = &userspace_kind;
		want += strlen(userspace_kind.hist_prefix);
	}
	json_array_foreach(vms, i, vm)
		rows_add_vm(&rows, vm, kind, c);
	for (size_t r = 0; r < rows.n; r++)
		if (!strcasecmp(rows.v[r].reason, want)) {
			latency_merge(&total, &rows.v[r].lat);
			exits += rows.v[r].count;
			name = name ? name : rows.v[r].reason;
		}
	rows_free(&rows);
	if (!name)
		return unknown_reason(want, kind, vms, c);
	if (!total.reported) {
		fprintf(stderr, "kvmscopectl: --hist: this kvmscoped reports no \"%s\" for %ss; it predates handling times\n",
			kind->latency, kind->name);
		return EXIT_DAEMON_ERROR;
	}
	describe_selection(vms, c, sel, sizeof(sel));
	printf("%s %s, %llu exits (%s): %s\n", kind->name, fmt_text(name, namebuf, sizeof(namebuf)),
	       (unsigned long long)exits, sel,
	       kind->measures);
	if (total.count)
		latency_print_hist(stdout, &total, "  ");
	else
		puts("  no handling time measured");
	latency_print_summary(stdout, &total, "  ");
	return EXIT_OK;
}

int verb_exits(struct cli *c)
{
	json_t *params = json_object(), *res, *vms, *vm;
	size_t i;
	int r;

	if (c->has_pid)
		json_object_set_new(params, "pid", json_integer((json_int_t)c->pid));
	if (c->has_vcpu)
		json_object_set_new(params, "vcpu", json_integer((json_int_t)c->vcpu));
	r = call_for_table(c, "exits.get", params, &res);
	if (!res)
		return r;
	vms = json_object_get(res, "vms");
	if (c->hist) {
		r = print_hist(vms, c);
		json_decref(res);
		return r;
	}
	if (json_array_size(vms) == 0)
		puts("No KVM VMs seen.");
	json_array_foreach(vms, i, vm)
		print_vm(vm, c, i == 0);
	json_decref(res);
	return EXIT_OK;
}
