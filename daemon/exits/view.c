// SPDX-License-Identifier: GPL-2.0-only
/*
 * exits.get: the JSON of one VM or every VM, built from the tick's
 * snapshot (a live VM) or the VM's own records (an exited one); never
 * from the kernel maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "exits/exits.h"
#include "hist.h"
#include "manager.h"
#include "options.h"
#include "rpc.h"
#include "strbuf.h"

static int by_count_desc(const void *a, const void *b)
{
	const struct exit_record *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	return x->reason < y->reason ? -1 : x->reason > y->reason;
}

static json_t *vcpu_json(uint32_t vcpu)
{
	return vcpu == KVMSCOPE_VCPU_UNKNOWN ? json_null() : json_integer(vcpu);
}

/* Records the JSON of one VM is built from, and the filter on them. */
struct vm_view {
	const struct exits_state *st;
	const struct exit_table *t;
	const struct exit_record *sorted;	/* the same records in snapshot order */
	size_t n_sorted;
	int64_t vcpu;		/* -1: all */
	bool live;		/* rates exist only for running VMs */
	bool summary;		/* params.view "summary": by reason only, no histogram arrays */
};

static bool in_view(const struct vm_view *v, const struct exit_record *r)
{
	return v->vcpu < 0 || r->vcpu == (uint32_t)v->vcpu;
}

/*
 * The latency of one vCPU's exits like @key (hardware: same isa and
 * reason; user: same reason): its latency and pending records are found
 * by key in the sorted records, so a VM's table costs O(n log n).
 */
static json_t *latency_json(const struct vm_view *v, const struct exit_record *key)
{
	bool hw = key->kind == EXIT_KIND_HW;
	struct exit_record k = { .pid = key->pid, .kind = hw ? EXIT_KIND_HW_LAT : EXIT_KIND_USER_LAT,
				 .vcpu = key->vcpu, .isa = hw ? key->isa : 0, .reason = key->reason };
	struct kvmscope_hist h = { 0 };
	const struct exit_record *f;
	uint64_t pending = 0;

	f = bsearch(&k, v->sorted, v->n_sorted, sizeof(k), exit_record_cmp);
	if (f)
		hist_sparse_merge(&h, f->hist);
	k.kind = hw ? EXIT_KIND_HW_PENDING : EXIT_KIND_USER_PENDING;
	f = bsearch(&k, v->sorted, v->n_sorted, sizeof(k), exit_record_cmp);
	if (f)
		pending += f->count;
	return hist_to_json(&h, pending);
}

struct reason_sum {
	uint32_t isa, reason;
	uint64_t count;
	double rate;
	bool counted;		/* a count record was seen, not only latency */
	uint64_t pending;
	struct kvmscope_hist h;
};

static int reason_sum_cmp(const void *a, const void *b)
{
	const struct reason_sum *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->reason < y->reason ? -1 : x->reason > y->reason;
}

/*
 * Counts of @kind summed over the view's vCPUs, by (isa, reason), most
 * first, each with its latency: one pass over the VM's records gathers
 * the counts, histograms and exits in flight of every reason.
 */
/* @o with, for an arm64 exit, the guest's exception level it was taken from (where known). */
static json_t *with_el(json_t *o, uint32_t isa, uint32_t reason)
{
	const char *el = isa == KVMSCOPE_ISA_ARM64 ? arm64_el_name(arm64_exit_reason_el(reason)) : NULL;

	if (o && el)
		json_object_set_new(o, "el", json_string(el));
	return o;
}

static json_t *by_reason_json(const struct vm_view *v, uint8_t kind)
{
	bool hw = kind == EXIT_KIND_HW;
	uint8_t lat_kind = hw ? EXIT_KIND_HW_LAT : EXIT_KIND_USER_LAT;
	uint8_t pend_kind = hw ? EXIT_KIND_HW_PENDING : EXIT_KIND_USER_PENDING;
	struct reason_sum *sums = NULL;
	char name[DECODE_NAME_MAX];
	json_t *out = json_array();
	size_t n = 0, w = 0, cap = 0;

	/* A reason's entry by its dense index (that of the VM's first ISA): no search per record. */
	int16_t at[KVMSCOPE_SLOT_HW_REASONS];
	uint32_t first_isa = UINT32_MAX;

	memset(at, 0xff, sizeof(at));
	for (size_t i = 0; i < v->t->n; i++) {
		const struct exit_record *r = &v->t->v[i];
		uint32_t isa = hw ? r->isa : 0, dense;
		size_t j;

		if ((r->kind != kind && r->kind != lat_kind && r->kind != pend_kind) || !in_view(v, r))
			continue;
		if (first_isa == UINT32_MAX)
			first_isa = isa;
		dense = isa != first_isa ? KVMSCOPE_SLOT_NONE :
			hw ? kvmscope_hw_index(isa, r->reason) : r->reason;
		if (dense < KVMSCOPE_SLOT_HW_REASONS && at[dense] >= 0) {
			j = (size_t)at[dense];
		} else {
			for (j = 0; j < n; j++)
				if (sums[j].isa == isa && sums[j].reason == r->reason)
					break;
			if (j < n && dense < KVMSCOPE_SLOT_HW_REASONS && j <= INT16_MAX)
				at[dense] = (int16_t)j;
		}
		if (j == n) {
			/* A few dozen reasons of a VM's hundreds of records: grown as met. */
			if (n == cap) {
				size_t c = cap ? cap * 2 : 32;
				struct reason_sum *p = realloc(sums, c * sizeof(*p));

				if (!p)
					break;
				sums = p;
				cap = c;
			}
			if (dense < KVMSCOPE_SLOT_HW_REASONS && n <= INT16_MAX)
				at[dense] = (int16_t)n;
			sums[n++] = (struct reason_sum){ .isa = isa, .reason = r->reason };
		}
		if (r->kind == kind) {
			sums[j].counted = true;
			sums[j].count += r->count;
			sums[j].rate += v->live ? r->rate : 0;
		} else if (r->kind == lat_kind) {
			hist_sparse_merge(&sums[j].h, r->hist);
		} else {
			sums[j].pending += r->count;
		}
	}
	for (size_t j = 0; j < n; j++)
		if (sums[j].counted)
			sums[w++] = sums[j];
	if (w > 1)
		qsort(sums, w, sizeof(*sums), reason_sum_cmp);
	for (size_t j = 0; j < w; j++) {
		/* The summary view keeps the figures, not the slots. */
		json_t *lat = v->summary ? hist_figures_to_json(&sums[j].h, sums[j].pending) :
			      hist_to_json(&sums[j].h, sums[j].pending);

		if (hw)
			json_array_append_new(out, with_el(json_pack("{s:s, s:s, s:I, s:I, s:f, s:o}", "isa",
				isa_name(sums[j].isa), "reason",
				hw_exit_name(sums[j].isa, sums[j].reason, name, sizeof(name)), "code",
				(json_int_t)sums[j].reason, "count", (json_int_t)sums[j].count, "rate",
				sums[j].rate, "latency", lat), sums[j].isa, sums[j].reason));
		else
			json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:f, s:o}", "reason",
				kvm_exit_name(sums[j].reason, name, sizeof(name)), "code",
				(json_int_t)sums[j].reason, "count", (json_int_t)sums[j].count, "rate",
				sums[j].rate, "vmm_time", lat));
	}
	free(sums);
	return out;
}

static json_t *detail_entry_json(const struct exit_record *r)
{
	char a[24], b[24];

	switch (r->reason) {
	case KVMSCOPE_DETAIL_MMIO:
		snprintf(a, sizeof(a), "0x%llx", (unsigned long long)r->id);
		snprintf(b, sizeof(b), "0x%llx", (unsigned long long)r->id << 12);
		return json_pack("{s:s, s:s, s:s, s:I}", "page", a, "gpa", b, "access",
				 mmio_access_name(r->direction), "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_MSR:
		snprintf(a, sizeof(a), "0x%llx", (unsigned long long)r->id);
		return json_pack("{s:s, s:s, s:I}", "index", a, "access",
				 r->direction ? "write" : "read", "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_CPUID:
		snprintf(a, sizeof(a), "0x%llx", (unsigned long long)(r->id >> 32));
		snprintf(b, sizeof(b), "0x%llx", (unsigned long long)(r->id & 0xffffffffu));
		return json_pack("{s:s, s:s, s:I}", "leaf", a, "subleaf", b, "count",
				 (json_int_t)r->count);
	case KVMSCOPE_DETAIL_HYPERCALL:
		return json_pack("{s:I, s:s?, s:I}", "nr", (json_int_t)r->id, "name",
				 decode_kvm_hypercall(r->id), "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_VMGEXIT:
		snprintf(a, sizeof(a), "0x%llx", (unsigned long long)r->id);
		return json_pack("{s:s, s:s?, s:I}", "exit_code", a, "name",
				 decode_ghcb_exit_code(r->id), "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_GHCB_MSR:
		snprintf(a, sizeof(a), "0x%03llx", (unsigned long long)r->id);
		return json_pack("{s:s, s:s?, s:I}", "request", a, "name",
				 decode_ghcb_msr_request((uint32_t)r->id), "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_NESTED_ERET:
		return json_pack("{s:s?, s:I}", "to", arm64_el_name((uint32_t)r->id), "count",
				 (json_int_t)r->count);
	case KVMSCOPE_DETAIL_NESTED_EXC:
		snprintf(a, sizeof(a), "0x%02llx", (unsigned long long)(r->id >> 8) & 0x3f);
		return json_pack("{s:s, s:s?, s:I, s:I}", "class", a, "name",
				 decode_arm64_esr_ec((uint32_t)(r->id >> 8) & 0x3f), "type",
				 (json_int_t)(r->id & 0xff), "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_SYSREG_FWD:
		/* sys_reg(op0, op1, crn, crm, op2) of arch/arm64/include/asm/sysreg.h */
		snprintf(a, sizeof(a), "S%llu_%llu_C%llu_C%llu_%llu",
			 (unsigned long long)(r->id >> 19) & 3, (unsigned long long)(r->id >> 16) & 7,
			 (unsigned long long)(r->id >> 12) & 15, (unsigned long long)(r->id >> 8) & 15,
			 (unsigned long long)(r->id >> 5) & 7);
		return json_pack("{s:s, s:s, s:I}", "sysreg", a, "access",
				 r->direction ? "read" : "write", "count", (json_int_t)r->count);
	case KVMSCOPE_DETAIL_BACKDOOR:
		return json_pack("{s:I, s:s?, s:s, s:I}", "command", (json_int_t)r->id, "name",
				 decode_vmware_backdoor_command((uint32_t)r->id), "port",
				 r->direction ? "0x5659" : "0x5658", "count", (json_int_t)r->count);
	}
	return json_null();
}

/* The top @top entries of one detail kind, and the rest as "other". */
static json_t *detail_json(const struct vm_view *v, uint8_t kind, unsigned int top)
{
	struct exit_table sel = { 0 };
	uint64_t other = 0, no_magic = 0;
	json_t *entries = json_array(), *out;

	for (size_t i = 0; i < v->t->n; i++) {
		const struct exit_record *r = &v->t->v[i];

		if (r->kind == EXIT_KIND_DETAIL && r->reason == kind)
			exit_table_push(&sel, r);
		else if (r->kind == EXIT_KIND_DETAIL_OTHER && r->reason == kind)
			other += r->count;
		else if (r->kind == EXIT_KIND_DETAIL && kind == KVMSCOPE_DETAIL_BACKDOOR &&
			 r->reason == KVMSCOPE_DETAIL_BACKDOOR_NOMAGIC)
			no_magic += r->count;
	}
	if (sel.n > 1)
		qsort(sel.v, sel.n, sizeof(sel.v[0]), exit_record_by_count);
	for (size_t i = 0; i < sel.n; i++) {
		if (i < top)
			json_array_append_new(entries, detail_entry_json(&sel.v[i]));
		else
			other += sel.v[i].count;
	}
	exit_table_free(&sel);
	out = json_pack("{s:o, s:I}", "entries", entries, "other", (json_int_t)other);
	if (kind == KVMSCOPE_DETAIL_BACKDOOR)
		json_object_set_new(out, "no_magic", json_integer((json_int_t)no_magic));
	return out;
}

static json_t *records_json(const struct vm_view *v)
{
	json_t *hw = json_array(), *user = json_array(), *pio = json_array(), *out;
	uint64_t tot_hw = 0, tot_user = 0, tot_pio = 0;
	char name[DECODE_NAME_MAX], port[8];
	unsigned int top = manager_options(v->st->m)->detail_top;

	for (size_t i = 0; i < v->t->n; i++) {
		const struct exit_record *r = &v->t->v[i];
		double rate = v->live ? r->rate : 0;

		if (!in_view(v, r))
			continue;
		if (v->summary) {
			tot_hw += r->kind == EXIT_KIND_HW ? r->count : 0;
			tot_user += r->kind == EXIT_KIND_USER ? r->count : 0;
			tot_pio += r->kind == EXIT_KIND_PIO ? r->count : 0;
			continue;
		}
		switch (r->kind) {
		case EXIT_KIND_HW:
			tot_hw += r->count;
			json_array_append_new(hw, with_el(json_pack("{s:o, s:s, s:s, s:I, s:I, s:f, s:o}",
				"vcpu", vcpu_json(r->vcpu), "isa", isa_name(r->isa), "reason",
				hw_exit_name(r->isa, r->reason, name, sizeof(name)), "code",
				(json_int_t)r->reason, "count", (json_int_t)r->count, "rate", rate,
				"latency", latency_json(v, r)), r->isa, r->reason));
			break;
		case EXIT_KIND_USER:
			tot_user += r->count;
			json_array_append_new(user, json_pack("{s:o, s:s, s:I, s:I, s:f, s:o}", "vcpu",
				vcpu_json(r->vcpu), "reason",
				kvm_exit_name(r->reason, name, sizeof(name)), "code",
				(json_int_t)r->reason, "count", (json_int_t)r->count, "rate", rate,
				"vmm_time", latency_json(v, r)));
			break;
		case EXIT_KIND_PIO:
			tot_pio += r->count;
			snprintf(port, sizeof(port), "0x%x", r->port);
			json_array_append_new(pio, json_pack("{s:o, s:I, s:s, s:s, s:I, s:I}", "vcpu",
				vcpu_json(r->vcpu), "port", (json_int_t)r->port, "port_hex", port,
				"direction", pio_direction_name(r->direction), "size",
				(json_int_t)r->size, "count", (json_int_t)r->count));
			break;
		}
	}
	out = json_pack("{s:{s:I, s:I, s:I}}", "totals", "hardware", (json_int_t)tot_hw,
			"userspace", (json_int_t)tot_user, "pio", (json_int_t)tot_pio);
	json_object_set_new(out, "hardware_by_reason", by_reason_json(v, EXIT_KIND_HW));
	json_object_set_new(out, "userspace_by_reason", by_reason_json(v, EXIT_KIND_USER));
	if (v->summary) {
		json_decref(hw);
		json_decref(user);
		json_decref(pio);
		return out;
	}
	json_object_set_new(out, "hardware_exits", hw);
	json_object_set_new(out, "userspace_exits", user);
	json_object_set_new(out, "pio", pio);
	json_object_set_new(out, "mmio", detail_json(v, KVMSCOPE_DETAIL_MMIO, top));
	json_object_set_new(out, "msr", detail_json(v, KVMSCOPE_DETAIL_MSR, top));
	json_object_set_new(out, "cpuid", detail_json(v, KVMSCOPE_DETAIL_CPUID, top));
	json_object_set_new(out, "hypercalls", detail_json(v, KVMSCOPE_DETAIL_HYPERCALL, top));
#if defined(__aarch64__)
	/* A guest hypervisor at virtual EL2, as KVM's nested tracepoints saw it. */
	json_object_set_new(out, "nested", json_pack("{s:o, s:o, s:o}",
		"eret", detail_json(v, KVMSCOPE_DETAIL_NESTED_ERET, top),
		"injected_exceptions", detail_json(v, KVMSCOPE_DETAIL_NESTED_EXC, top),
		"sysreg_traps_forwarded", detail_json(v, KVMSCOPE_DETAIL_SYSREG_FWD, top)));
#endif
	json_object_set_new(out, "vmware_backdoor", detail_json(v, KVMSCOPE_DETAIL_BACKDOOR, top));
	json_object_set_new(out, "vmgexit", detail_json(v, KVMSCOPE_DETAIL_VMGEXIT, top));
	json_object_set_new(out, "ghcb_msr", detail_json(v, KVMSCOPE_DETAIL_GHCB_MSR, top));
	return out;
}

/* A VM's counts are incomplete when a bounded map had no room for one of its exits. */
static json_t *completeness_json(json_t *v, const uint64_t *dropped)
{
	json_t *what = json_object();
	bool complete = true;

	for (uint32_t d = 0; d < KVMSCOPE_DROP_MAX; d++) {
		if (!dropped[d] || d == KVMSCOPE_DROP_STREAM_FULL)
			continue;
		complete = false;
		json_object_set_new(what, exits_drop_names[d], json_integer((json_int_t)dropped[d]));
	}
	json_object_set_new(v, "complete", json_boolean(complete));
	json_object_set_new(v, "dropped", what);
	return v;
}

/* The members records_json() gives @vm, as text without the outer braces (malloc'd). */
static char *vm_records_text(struct exits_state *st, struct vm *vm, int64_t vcpu, bool summary,
			     size_t *len)
{
	struct exit_table t = { 0 };
	const uint64_t *dropped;
	size_t n;
	const struct exit_record *recs = exits_vm_records(st, vm, &n, &dropped);
	struct vm_view view;
	json_t *records;
	char *text;

	/*
	 * The full view lists records largest first: a sorted copy.  The
	 * summary only sums them, in the order they are in.
	 */
	if (summary) {
		t.v = (struct exit_record *)recs;
		t.n = n;
	} else {
		for (size_t i = 0; i < n; i++)
			if (exit_table_push(&t, &recs[i]) < 0)
				break;
		if (t.n > 1)
			qsort(t.v, t.n, sizeof(t.v[0]), by_count_desc);
	}
	view = (struct vm_view){ .st = st, .t = &t, .sorted = recs, .n_sorted = n, .vcpu = vcpu,
				 .live = !vm->exited, .summary = summary };
	records = records_json(&view);
	if (!summary)
		exit_table_free(&t);
	text = json_dumps(records, RPC_DUMP_FLAGS);
	json_decref(records);
	if (!text)
		return NULL;
	/* "{...}" -> "..." */
	*len = strlen(text);
	if (*len < 2) {
		free(text);
		return NULL;
	}
	*len -= 2;
	memmove(text, text + 1, *len);
	text[*len] = '\0';
	return text;
}

static int vm_text_cmp(uint64_t vm_id, bool summary, const struct vm_text *e)
{
	if (vm_id != e->vm_id)
		return vm_id < e->vm_id ? -1 : 1;
	return (int)summary - (int)e->summary;
}

/* The kept text of (@vm_id, @summary), or NULL and where it would go. */
static struct vm_text *vm_text_find(struct exits_state *st, uint64_t vm_id, bool summary,
				    size_t *pos)
{
	size_t lo = 0, hi = st->n_texts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = vm_text_cmp(vm_id, summary, &st->texts[mid]);

		if (!c)
			return &st->texts[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return NULL;
}

/* The kept text of (@vm_id, @summary), added empty if there is none. */
static struct vm_text *vm_text_get(struct exits_state *st, uint64_t vm_id, bool summary)
{
	size_t lo;
	struct vm_text *e = vm_text_find(st, vm_id, summary, &lo);

	if (e)
		return e;
	if (st->n_texts == st->cap_texts) {
		size_t cap = st->cap_texts ? st->cap_texts * 2 : 64;
		struct vm_text *v = realloc(st->texts, cap * sizeof(*v));

		if (!v)
			return NULL;
		st->texts = v;
		st->cap_texts = cap;
	}
	memmove(&st->texts[lo + 1], &st->texts[lo], (st->n_texts - lo) * sizeof(st->texts[0]));
	st->n_texts++;
	st->texts[lo] = (struct vm_text){ .vm_id = vm_id, .summary = summary };
	return &st->texts[lo];
}

void exits_view_forget(struct exits_state *st, uint64_t vm_id)
{
	size_t w = 0;

	for (size_t i = 0; i < st->n_texts; i++) {
		if (!vm_id || st->texts[i].vm_id == vm_id)
			free(st->texts[i].text);
		else
			st->texts[w++] = st->texts[i];
	}
	st->n_texts = w;
}

/*
 * One VM's object of exits.get, appended to @sb as text: what describes
 * it (identity, completeness, KVM's statistics) is made on every call;
 * its records, the bulk, are made once per generation of them and kept
 * (all vCPUs only), so asking for a thousand quiet VMs costs copies.
 */
static int vm_append(struct exits_state *st, struct vm *vm, int64_t vcpu, bool summary,
		     struct strbuf *sb)
{
	unsigned int top = manager_options(st->m)->detail_top;
	uint64_t gen = vcpu < 0 ? exits_vm_gen(st, vm) : 0;
	struct vm_text *kept = gen ? vm_text_get(st, vm->id, summary) : NULL;
	const uint64_t *dropped;
	size_t n, len, head_len;
	char *own = NULL, *head;
	const char *text;
	json_t *v;

	exits_vm_records(st, vm, &n, &dropped);
	if (kept && kept->text && kept->gen == gen && kept->top == top) {
		text = kept->text;
		len = kept->len;
	} else {
		own = vm_records_text(st, vm, vcpu, summary, &len);
		if (!own)
			return -ENOMEM;
		text = own;
		if (kept) {
			free(kept->text);
			kept->text = own;
			kept->len = len;
			kept->gen = gen;
			kept->top = top;
			own = NULL;
		}
	}
	v = vm_to_json(vm);
	completeness_json(v, dropped);
	json_object_set_new(v, "kvm_stats", exits_vm_kvm_stats(st, vm));
	head = json_dumps(v, RPC_DUMP_FLAGS);
	json_decref(v);
	if (!head) {
		free(own);
		return -ENOMEM;
	}
	/* "{head...}" + ",records..." + "}" */
	head_len = strlen(head);
	strbuf_append(sb, head, head_len - 1);
	if (len)
		strbuf_puts(sb, head_len > 2 ? "," : "");
	strbuf_append(sb, text, len);
	strbuf_puts(sb, "}");
	free(head);
	free(own);
	return sb->overflow ? -ENOMEM : 0;
}

static int method_exits_get(void *userdata, json_t *params, struct rpc_error *err,
			    struct strbuf *out)
{
	struct exits_state *st = userdata;
	struct manager *m = st->m;
	uint64_t pid = 0, vcpu = 0;
	int has_pid, has_vcpu, r = 0;
	json_t *view;
	bool summary, any = false;

	has_pid = rpc_param_uint(params, "pid", UINT32_MAX, &pid, err);
	if (has_pid < 0)
		return -EINVAL;
	has_vcpu = rpc_param_uint(params, "vcpu", UINT32_MAX - 1, &vcpu, err);
	if (has_vcpu < 0)
		return -EINVAL;
	view = json_object_get(params, "view");
	if (view && (!json_is_string(view) || (strcmp(json_string_value(view), "full") &&
					       strcmp(json_string_value(view), "summary")))) {
		return rpc_error_set(err, RPC_INVALID_PARAMS,
				     "params.view must be \"full\" (the default) or \"summary\"");
	}
	summary = view && !strcmp(json_string_value(view), "summary");
	/* VMs that exited a moment ago: their counts are taken now, not at the flush. */
	exits_flush_exited(st);
	if (has_pid && !manager_vm_find(m, (uint32_t)pid))
		return rpc_error_set(err, RPC_NOT_FOUND,
				     "no VM with pid %llu: not running, or exited longer ago than --retain-exited",
				     (unsigned long long)pid);
	/* Room for the whole answer at once: no copy as it grows to megabytes. */
	{
		size_t need = 16;

		for (size_t i = 0, n = manager_vm_count(m); i < n; i++) {
			struct vm *v = manager_vm_at(m, i);
			const struct vm_text *e;
			size_t pos;

			if (has_pid && v->pid != pid)
				continue;
			e = vm_text_find(st, v->id, summary, &pos);
			need += 1024 + (e ? e->len : 0);
		}
		strbuf_reserve(out, need);
	}
	strbuf_puts(out, "{\"vms\":[");
	/* With a pid: every VM that had it, oldest first. */
	for (size_t i = 0, n = manager_vm_count(m); i < n && r >= 0; i++) {
		struct vm *v = manager_vm_at(m, i);

		if (has_pid && v->pid != pid)
			continue;
		if (any)
			strbuf_puts(out, ",");
		any = true;
		r = vm_append(st, v, has_vcpu ? (int64_t)vcpu : -1, summary, out);
	}
	strbuf_puts(out, "]}");
	if (r < 0 || out->overflow)
		return rpc_error_set(err, RPC_INTERNAL_ERROR, "exits.get: out of memory");
	return 0;
}

static const char *const exits_get_params[] = { "pid", "vcpu", "view", NULL };

const struct rpc_method exits_methods[] = {
	{ .name = "exits.get", .text_handler = method_exits_get,
	  .params = exits_get_params, .access = RPC_READ },
	{}
};
