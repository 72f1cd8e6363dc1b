// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl top: what kvm_stat shows, per VM.  Every interval it asks
 * kvmscoped for vms.list and exits.get over one kept-open connection and
 * computes rates from the counts of two successive answers; the daemon's
 * one-second "rate" is used only where there is no earlier answer to
 * compare with (the first one, a new VM, a counter that went backwards).
 *
 * Screens are built as lines of text first, so that the curses view and
 * the plain-text snapshots of --once/-b print the same thing.  Only
 * printable ASCII is drawn, attributes (reverse, bold, dim) are optional
 * and colour is used only where has_colors() says so: the view must work
 * over a serial console, in tmux and on a vt100.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <curses.h>
#include <jansson.h>

#include "latency.h"
#include "strbuf.h"
#include "table.h"
#include "top.h"

#define TOP_DEFAULT_INTERVAL	1.0
#define TOP_MIN_INTERVAL	0.1
#define TOP_MAX_INTERVAL	3600.0
/* Plain-text snapshots are not cut to a terminal: columns fit their content. */
#define BATCH_WIDTH		160
#define LINE_MAX_CHARS		256

#define VCPU_ALL		(-1)	/* a record summed over the vCPUs */
#define VCPU_UNKNOWN		(-2)	/* the daemon could not resolve the vCPU */

/* Hardware exits (kvm_exit) and exits to the VMM (kvm_userspace_exit). */
enum exit_class { CLASS_HARDWARE, CLASS_USERSPACE, NR_CLASSES };

static const struct {
	const char *records;	/* exits.get's per-vCPU list */
	const char *total;	/* member of "totals" */
	const char *latency;	/* each record's handling-time object */
	const char *title;
} classes[NR_CLASSES] = {
	[CLASS_HARDWARE] = { "hardware_exits", "hardware", "latency",
			     "HARDWARE EXITS  (P50/P99/MAX: kvm_exit to the next kvm_entry)" },
	[CLASS_USERSPACE] = { "userspace_exits", "userspace", "vmm_time",
			      "USERSPACE EXITS  (P50/P99/MAX: time in the VMM, exit to the next KVM_RUN)" },
};

/* One (class, isa, reason, vCPU) counter of one VM. */
struct reason_stat {
	enum exit_class cls;
	char isa[8];		/* hardware exits only */
	char reason[40];
	long long vcpu;		/* vCPU index, VCPU_ALL or VCPU_UNKNOWN */
	uint64_t count;
	double rate;		/* exits/s */
	struct latency lat;
};

struct vm_stat {
	long long pid;
	double first_seen;	/* with pid, tells a reused pid apart */
	char name[64];		/* guest name, else comm; printable ASCII */
	char comm[32];
	bool running;
	unsigned int vcpus;	/* distinct vCPUs with exits */
	uint64_t total[NR_CLASSES], pio;
	double rate[NR_CLASSES];
	struct reason_stat *reasons;	/* per vCPU, and VCPU_ALL sums */
	size_t n_reasons;
};

struct snapshot {
	double taken;		/* CLOCK_MONOTONIC seconds */
	time_t wall;
	struct vm_stat *vms;
	size_t n_vms;
};

/* ---- lines of a screen, shared by curses and plain text ---- */

enum line_style { STYLE_PLAIN, STYLE_HEADING, STYLE_SELECTED, STYLE_EXITED, STYLE_SELECTED_EXITED };

struct page_line {
	enum line_style style;
	char text[LINE_MAX_CHARS];
};

struct page {
	struct page_line *v;
	size_t n;
	size_t pinned;		/* leading lines that never scroll (column headings) */
	long focus;		/* a line to keep visible (the selected VM), or -1 */
};

static void page_add(struct page *p, enum line_style style, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void page_add(struct page *p, enum line_style style, const char *fmt, ...)
{
	struct page_line *v = realloc(p->v, (p->n + 1) * sizeof(*v));
	va_list ap;

	if (!v)
		return;
	p->v = v;
	v += p->n++;
	v->style = style;
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
}

static void page_free(struct page *p)
{
	free(p->v);
	*p = (struct page){ .focus = -1 };
}

/* ---- the top state ---- */

enum view { VIEW_LIST, VIEW_VM, VIEW_HELP };
enum sort_key { SORT_RATE, SORT_TOTAL, SORT_NAME, SORT_PID, NR_SORTS };

static const char *const sort_names[NR_SORTS] = { "rate", "total", "name", "pid" };

struct top {
	struct cli *cli;
	double interval;
	bool batch, per_vcpu, paused;
	unsigned long iterations;
	char backend[32];
	struct snapshot cur;
	bool have_cur;
	bool cur_comparable;	/* cur came from the daemon we are still connected to */
	char error[320];	/* of the last update; "" when it worked */
	bool unreachable;
	size_t *order;		/* indices into cur.vms, as the list shows them */
	enum sort_key sort;
	bool reverse;
	enum view view, view_before_help;
	long long selected_pid;
	size_t selected;
	long long open_pid;	/* the VM of VIEW_VM */
	int list_scroll, vm_scroll;
	bool colors;
};

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Names come from command lines and cgroups that the guest owner chose:
 * escaped, and printable ASCII only, so that a serial console stays sane
 * and columns line up.
 */
static void copy_printable(char *dst, size_t len, const char *src)
{
	text_escape_ascii(dst, len, src ? src : "");
}

/* ---- snapshots: exits.get and vms.list as counters per VM ---- */

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n_vms; i++)
		free(s->vms[i].reasons);
	free(s->vms);
	*s = (struct snapshot){ 0 };
}

static const struct vm_stat *snapshot_find_vm(const struct snapshot *s, long long pid)
{
	for (size_t i = 0; i < s->n_vms; i++)
		if (s->vms[i].pid == pid)
			return &s->vms[i];
	return NULL;
}

/* The VM of @pid, added if new; NULL only without memory. */
static struct vm_stat *snapshot_vm(struct snapshot *s, long long pid)
{
	struct vm_stat *v;

	for (size_t i = 0; i < s->n_vms; i++)
		if (s->vms[i].pid == pid)
			return &s->vms[i];
	v = realloc(s->vms, (s->n_vms + 1) * sizeof(*v));
	if (!v)
		return NULL;
	s->vms = v;
	v += s->n_vms++;
	*v = (struct vm_stat){ .pid = pid };
	return v;
}

/* pid, names, state: the same members in vms.list and exits.get. */
static void vm_set_identity(struct vm_stat *vm, json_t *obj)
{
	json_t *name = json_object_get(obj, "name");

	copy_printable(vm->comm, sizeof(vm->comm), obj_str(obj, "comm"));
	copy_printable(vm->name, sizeof(vm->name),
		       json_is_string(name) ? json_string_value(name) : vm->comm);
	vm->running = !strcmp(obj_str(obj, "state"), "running");
	vm->first_seen = json_number_value(json_object_get(obj, "first_seen"));
}

static bool reason_is(const struct reason_stat *r, enum exit_class cls, const char *isa,
		      const char *reason, long long vcpu)
{
	return r->cls == cls && r->vcpu == vcpu && !strcmp(r->isa, isa) &&
	       !strcmp(r->reason, reason);
}

static const struct reason_stat *vm_find_reason(const struct vm_stat *vm,
						const struct reason_stat *like)
{
	for (size_t i = 0; i < vm->n_reasons; i++)
		if (reason_is(&vm->reasons[i], like->cls, like->isa, like->reason, like->vcpu))
			return &vm->reasons[i];
	return NULL;
}

/* The counter of (@cls, @isa, @reason, @vcpu), added if new; NULL only without memory. */
static struct reason_stat *vm_reason(struct vm_stat *vm, enum exit_class cls, const char *isa,
				     const char *reason, long long vcpu)
{
	struct reason_stat *r;

	for (size_t i = 0; i < vm->n_reasons; i++)
		if (reason_is(&vm->reasons[i], cls, isa, reason, vcpu))
			return &vm->reasons[i];
	r = realloc(vm->reasons, (vm->n_reasons + 1) * sizeof(*r));
	if (!r)
		return NULL;
	vm->reasons = r;
	r += vm->n_reasons++;
	*r = (struct reason_stat){ .cls = cls, .vcpu = vcpu };
	snprintf(r->isa, sizeof(r->isa), "%s", isa);
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	return r;
}

/*
 * Each per-vCPU record counts twice: as itself and in its reason's sum
 * over the vCPUs.  Summing here rather than reading *_by_reason keeps one
 * path for daemons with and without those sums; the latency merge is the
 * daemon's own code (daemon/hist.c through latency.c).
 */
static void vm_add_records(struct vm_stat *vm, enum exit_class cls, json_t *records)
{
	json_t *rec;
	size_t i;

	json_array_foreach(records, i, rec) {
		json_t *vcpu = json_object_get(rec, "vcpu");
		char isa[8], reason[40];
		json_int_t count = json_integer_value(json_object_get(rec, "count"));
		double rate = json_number_value(json_object_get(rec, "rate"));
		long long own = json_is_integer(vcpu) ? json_integer_value(vcpu) : VCPU_UNKNOWN;
		long long ids[2] = { own, VCPU_ALL };

		copy_printable(isa, sizeof(isa), cls == CLASS_HARDWARE ? obj_str(rec, "isa") : "");
		copy_printable(reason, sizeof(reason), obj_str(rec, "reason"));
		for (int k = 0; k < 2; k++) {
			struct reason_stat *r = vm_reason(vm, cls, isa, reason, ids[k]);

			if (!r)
				continue;
			r->count += count > 0 ? (uint64_t)count : 0;
			r->rate += rate;
			latency_add_json(&r->lat, json_object_get(rec, classes[cls].latency));
		}
	}
}

static int reason_cmp(const void *a, const void *b)
{
	const struct reason_stat *x = a, *y = b;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	/* VCPU_ALL first, then vCPU 0, 1, ..., the unresolved last. */
	if (x->vcpu != y->vcpu) {
		if (x->vcpu == VCPU_ALL || y->vcpu == VCPU_UNKNOWN)
			return -1;
		if (y->vcpu == VCPU_ALL || x->vcpu == VCPU_UNKNOWN)
			return 1;
		return x->vcpu < y->vcpu ? -1 : 1;
	}
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (strcmp(x->reason, y->reason))
		return strcmp(x->reason, y->reason);
	return strcmp(x->isa, y->isa);
}

/* Totals, the daemon's rates as a first guess, vCPUs, and the display order. */
static void vm_finish(struct vm_stat *vm, json_t *obj)
{
	json_t *totals = json_object_get(obj, "totals");
	long long seen[64];
	unsigned int nseen = 0;

	for (int cls = 0; cls < NR_CLASSES; cls++) {
		json_t *t = json_object_get(totals, classes[cls].total);

		vm->total[cls] = 0;
		for (size_t i = 0; i < vm->n_reasons; i++)
			if (vm->reasons[i].cls == (enum exit_class)cls &&
			    vm->reasons[i].vcpu == VCPU_ALL) {
				vm->total[cls] += vm->reasons[i].count;
				vm->rate[cls] += vm->reasons[i].rate;
			}
		if (json_integer_value(t) > 0)
			vm->total[cls] = (uint64_t)json_integer_value(t);
	}
	vm->pio = (uint64_t)json_integer_value(json_object_get(totals, "pio"));
	for (size_t i = 0; i < vm->n_reasons; i++) {
		long long v = vm->reasons[i].vcpu;
		bool dup = v < 0;

		for (unsigned int j = 0; j < nseen && !dup; j++)
			dup = seen[j] == v;
		if (!dup && nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = v;
		if (!dup)
			vm->vcpus++;
	}
	if (vm->n_reasons)
		qsort(vm->reasons, vm->n_reasons, sizeof(*vm->reasons), reason_cmp);
}

/* Returns 0, or -ENOMEM. */
static int snapshot_build(struct snapshot *s, json_t *vms_list, json_t *exits)
{
	json_t *obj;
	size_t i;

	*s = (struct snapshot){ .taken = monotonic_seconds(), .wall = time(NULL) };
	json_array_foreach(json_object_get(vms_list, "vms"), i, obj) {
		long long pid = json_integer_value(json_object_get(obj, "pid"));
		struct vm_stat *vm = snapshot_vm(s, pid);

		if (!vm)
			return -ENOMEM;
		vm_set_identity(vm, obj);
	}
	/* A VM that appeared between the two calls is in exits.get only: keep it. */
	json_array_foreach(json_object_get(exits, "vms"), i, obj) {
		long long pid = json_integer_value(json_object_get(obj, "pid"));
		struct vm_stat *vm = snapshot_vm(s, pid);

		if (!vm)
			return -ENOMEM;
		vm_set_identity(vm, obj);
		for (int cls = 0; cls < NR_CLASSES; cls++)
			vm_add_records(vm, cls, json_object_get(obj, classes[cls].records));
		vm_finish(vm, obj);
	}
	return 0;
}

/* (new - old) / dt, or @fallback where there is nothing sound to subtract. */
static double delta_rate(uint64_t now, uint64_t before, double dt, double fallback)
{
	if (dt <= 0 || now < before)
		return fallback;
	return (double)(now - before) / dt;
}

/*
 * Replace the daemon's rates by our own where @prev has the same VM (same
 * pid, same first_seen).  A record new since @prev started from 0.
 */
static void snapshot_rates(struct snapshot *s, const struct snapshot *prev)
{
	double dt = s->taken - prev->taken;

	for (size_t i = 0; i < s->n_vms; i++) {
		struct vm_stat *vm = &s->vms[i];
		const struct vm_stat *old = snapshot_find_vm(prev, vm->pid);

		if (!old || fabs(old->first_seen - vm->first_seen) > 1e-3)
			continue;
		for (int cls = 0; cls < NR_CLASSES; cls++)
			vm->rate[cls] = delta_rate(vm->total[cls], old->total[cls], dt,
						   vm->rate[cls]);
		for (size_t j = 0; j < vm->n_reasons; j++) {
			struct reason_stat *r = &vm->reasons[j];
			const struct reason_stat *o = vm_find_reason(old, r);

			r->rate = delta_rate(r->count, o ? o->count : 0, dt, r->rate);
		}
	}
}

/* Hardware exits where the kernel reports any, else exits to the VMM (kvm_pvm). */
static enum exit_class vm_main_class(const struct vm_stat *vm)
{
	return vm->total[CLASS_HARDWARE] ? CLASS_HARDWARE : CLASS_USERSPACE;
}

/* The reason with the highest rate now, else the highest count. */
static const struct reason_stat *vm_top_reason(const struct vm_stat *vm)
{
	enum exit_class cls = vm_main_class(vm);
	const struct reason_stat *best = NULL;

	for (size_t i = 0; i < vm->n_reasons; i++) {
		const struct reason_stat *r = &vm->reasons[i];

		if (r->cls != cls || r->vcpu != VCPU_ALL)
			continue;
		if (!best || r->rate > best->rate ||
		    (r->rate == best->rate && r->count > best->count))
			best = r;
	}
	return best;
}

/* ---- the VM list ---- */

static int vm_order_cmp(const void *a, const void *b, void *arg)
{
	const struct top *t = arg;
	const struct vm_stat *x = &t->cur.vms[*(const size_t *)a];
	const struct vm_stat *y = &t->cur.vms[*(const size_t *)b];
	int c = 0;

	/* Running VMs first whatever the order: the exited ones are history. */
	if (x->running != y->running)
		return x->running ? -1 : 1;
	switch (t->sort) {
	case SORT_RATE: {
		double rx = x->rate[vm_main_class(x)], ry = y->rate[vm_main_class(y)];

		c = rx > ry ? -1 : rx < ry;
		break;
	}
	case SORT_TOTAL: {
		uint64_t tx = x->total[vm_main_class(x)], ty = y->total[vm_main_class(y)];

		c = tx > ty ? -1 : tx < ty;
		break;
	}
	case SORT_NAME:
		c = strcasecmp(x->name, y->name);
		break;
	case SORT_PID:
	case NR_SORTS:
		break;
	}
	if (!c)
		c = x->pid < y->pid ? -1 : x->pid > y->pid;
	return t->reverse ? -c : c;
}

/* Sort the list and keep the selection on the same VM if it is still there. */
static void top_reorder(struct top *t)
{
	size_t *order = realloc(t->order, (t->cur.n_vms + 1) * sizeof(*order));

	if (!order)
		return;
	t->order = order;
	for (size_t i = 0; i < t->cur.n_vms; i++)
		order[i] = i;
	qsort_r(order, t->cur.n_vms, sizeof(*order), vm_order_cmp, t);
	for (size_t i = 0; i < t->cur.n_vms; i++)
		if (t->cur.vms[order[i]].pid == t->selected_pid) {
			t->selected = i;
			return;
		}
	if (t->selected >= t->cur.n_vms)
		t->selected = t->cur.n_vms ? t->cur.n_vms - 1 : 0;
	t->selected_pid = t->cur.n_vms ? t->cur.vms[order[t->selected]].pid : 0;
}

/* "812.5", or without decimals once they no longer fit the column. */
static const char *fmt_rate(double rate, char *buf, size_t len)
{
	snprintf(buf, len, rate < 99999.95 ? "%.1f" : "%.0f", rate);
	return buf;
}

static const char *fmt_u64(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * PID S NAME VCPUS EXITS/s USER/s TOP P99 TOTAL, the first column marking
 * the selection ('>' as well as reverse video: a terminal may show no
 * attributes).  NAME and TOP grow to their content, as far as @width lets them.
 */
static void render_list(struct page *p, const struct top *t, int width, bool mark_selection)
{
	/* Everything but NAME and TOP, with the spaces between columns. */
	const int fixed = 1 + 7 + 2 + 1 + 6 + 9 + 9 + 1 + 8 + 11;
	int name_w = 4, top_w = 3, room;

	for (size_t i = 0; i < t->cur.n_vms; i++) {
		const struct reason_stat *r = vm_top_reason(&t->cur.vms[i]);

		if ((int)strlen(t->cur.vms[i].name) > name_w)
			name_w = (int)strlen(t->cur.vms[i].name);
		if (r && (int)strlen(r->reason) > top_w)
			top_w = (int)strlen(r->reason);
	}
	room = width - fixed;
	top_w = clamp_int(top_w, 3, room - 8 > 12 ? room - 8 : 12);
	name_w = clamp_int(name_w, 4, room - top_w > 4 ? room - top_w : 4);
	page_add(p, STYLE_HEADING, " %7s %c %-*s %5s %8s %8s %-*s %7s %10s", "PID", 'S', name_w,
		 "NAME", "VCPUS", "EXITS/s", "USER/s", top_w, "TOP", "P99", "TOTAL");
	p->pinned = 1;
	if (!t->cur.n_vms)
		page_add(p, STYLE_PLAIN, "No KVM VMs seen.");
	for (size_t i = 0; i < t->cur.n_vms; i++) {
		const struct vm_stat *vm = &t->cur.vms[t->order[i]];
		const struct reason_stat *top = vm_top_reason(vm);
		enum exit_class cls = vm_main_class(vm);
		bool sel = mark_selection && i == t->selected;
		enum line_style style = vm->running ? STYLE_PLAIN : STYLE_EXITED;
		char vcpus[16] = "-", rate[24], user[24], p99[16], total[24];

		if (sel) {
			style = vm->running ? STYLE_SELECTED : STYLE_SELECTED_EXITED;
			p->focus = (long)p->n;
		}
		if (vm->vcpus)
			snprintf(vcpus, sizeof(vcpus), "%u", vm->vcpus);
		page_add(p, style, "%c%7lld %c %-*.*s %5s %8s %8s %-*.*s %7s %10s", sel ? '>' : ' ',
			 vm->pid, vm->running ? 'R' : 'X', name_w, name_w, vm->name, vcpus,
			 fmt_rate(vm->rate[cls], rate, sizeof(rate)),
			 fmt_rate(vm->rate[CLASS_USERSPACE], user, sizeof(user)), top_w, top_w,
			 top ? top->reason : "-",
			 top ? fmt_latency(&top->lat, 0.99, p99, sizeof(p99)) : "-",
			 fmt_u64(vm->total[cls], total, sizeof(total)));
	}
}

/* ---- one VM: its exits by reason, optionally per vCPU ---- */

static void render_reason_rows(struct page *p, const struct vm_stat *vm, enum exit_class cls,
			       bool per_vcpu, int width, const char *backend)
{
	const bool isa = cls == CLASS_HARDWARE;
	const char *indent = per_vcpu ? "    " : "  ";
	int reason_w = 6, room = width - (int)strlen(indent) - (isa ? 6 : 0) - 44;
	long long vcpu = VCPU_ALL - 1;
	bool any = false;

	for (size_t i = 0; i < vm->n_reasons; i++)
		if (vm->reasons[i].cls == cls && (int)strlen(vm->reasons[i].reason) > reason_w)
			reason_w = (int)strlen(vm->reasons[i].reason);
	reason_w = clamp_int(reason_w, 6, room > 6 ? room : 6);
	page_add(p, STYLE_HEADING, "%s", classes[cls].title);
	for (size_t i = 0; i < vm->n_reasons; i++) {
		const struct reason_stat *r = &vm->reasons[i];
		char count[24], rate[24], p50[16], p99[16], max[16];

		if (r->cls != cls || (r->vcpu == VCPU_ALL) == per_vcpu)
			continue;
		if (!any)
			page_add(p, STYLE_HEADING, "%s%-*s%-*s %10s %8s %7s %7s %7s", indent,
				 isa ? 6 : 0, isa ? "ISA" : "", reason_w, "REASON", "COUNT",
				 "RATE/s", "P50", "P99", "MAX");
		any = true;
		if (per_vcpu && r->vcpu != vcpu) {
			vcpu = r->vcpu;
			if (vcpu == VCPU_UNKNOWN)
				page_add(p, STYLE_PLAIN, "  vCPU ?  (not resolved)");
			else
				page_add(p, STYLE_PLAIN, "  vCPU %lld", vcpu);
		}
		page_add(p, STYLE_PLAIN, "%s%-*.5s%-*.*s %10s %8s %7s %7s %7s", indent, isa ? 6 : 0,
			 r->isa, reason_w, reason_w, r->reason,
			 fmt_u64(r->count, count, sizeof(count)),
			 fmt_rate(r->rate, rate, sizeof(rate)),
			 fmt_latency(&r->lat, 0.50, p50, sizeof(p50)),
			 fmt_latency(&r->lat, 0.99, p99, sizeof(p99)),
			 fmt_latency(&r->lat, 2, max, sizeof(max)));
	}
	/* Not a fault of the VM or of kvmscope: say so where it shows. */
	if (!any && cls == CLASS_HARDWARE && !strcmp(backend, "kvm_pvm"))
		page_add(p, STYLE_PLAIN, "  none: the kvm_pvm backend has no kvm_exit tracepoint");
	else if (!any)
		page_add(p, STYLE_PLAIN, "  none counted");
}

static void render_vm(struct page *p, const struct vm_stat *vm, bool per_vcpu, int width,
		      const char *backend)
{
	char hw[24], user[24];

	page_add(p, vm->running ? STYLE_HEADING : STYLE_EXITED,
		 "VM %s  pid %lld  %s  %u vCPU%s%s%s%s", vm->name, vm->pid,
		 vm->running ? "running" : "exited", vm->vcpus, vm->vcpus == 1 ? "" : "s",
		 strcmp(vm->name, vm->comm) ? "  (" : "",
		 strcmp(vm->name, vm->comm) ? vm->comm : "", strcmp(vm->name, vm->comm) ? ")" : "");
	page_add(p, STYLE_PLAIN, "exits/s  hardware %s  userspace %s",
		 fmt_rate(vm->rate[CLASS_HARDWARE], hw, sizeof(hw)),
		 fmt_rate(vm->rate[CLASS_USERSPACE], user, sizeof(user)));
	page_add(p, STYLE_PLAIN, "total    hardware %llu  userspace %llu  pio %llu",
		 (unsigned long long)vm->total[CLASS_HARDWARE],
		 (unsigned long long)vm->total[CLASS_USERSPACE], (unsigned long long)vm->pio);
	p->pinned = 3;
	for (int cls = 0; cls < NR_CLASSES; cls++) {
		page_add(p, STYLE_PLAIN, "%s", "");
		render_reason_rows(p, vm, cls, per_vcpu, width, backend);
	}
}

static void render_help(struct page *p)
{
	static const struct {
		enum line_style style;
		const char *text;
	} help[] = {
		{ STYLE_HEADING, "Keys" },
		{ STYLE_PLAIN, "  Up/Down, j/k     select a VM; in a VM: scroll (also PgUp/PgDn, Home/End)" },
		{ STYLE_PLAIN, "  Enter            open the selected VM: its exits by reason" },
		{ STYLE_PLAIN, "  v                in a VM: per-vCPU breakdown on/off" },
		{ STYLE_PLAIN, "  Esc, Backspace, h, Left   back to the VM list" },
		{ STYLE_PLAIN, "  s                sort by rate, total, name, pid (cycles); r reverses" },
		{ STYLE_PLAIN, "  p                pause/resume the updates" },
		{ STYLE_PLAIN, "  ?                this help;  q quits" },
		{ STYLE_PLAIN, "" },
		{ STYLE_HEADING, "VM list" },
		{ STYLE_PLAIN, "  S        R running, X exited (kept by kvmscoped for --retain-exited)" },
		{ STYLE_PLAIN, "  VCPUS    vCPUs that made exits" },
		{ STYLE_PLAIN, "  EXITS/s  hardware exits (kvm_exit); where the kernel reports none" },
		{ STYLE_PLAIN, "           (the kvm_pvm backend), exits to the VMM" },
		{ STYLE_PLAIN, "  USER/s   exits to the VMM (kvm_userspace_exit)" },
		{ STYLE_PLAIN, "  TOP      the reason with the highest rate (else count) of EXITS/s" },
		{ STYLE_PLAIN, "  P99      its handling time: kvm_exit to the next kvm_entry, or for" },
		{ STYLE_PLAIN, "           exits to the VMM the time in the VMM to the next KVM_RUN" },
		{ STYLE_PLAIN, "  TOTAL    exits counted since kvmscoped first saw the VM" },
		{ STYLE_PLAIN, "Rates come from the counts of two successive updates; the first update" },
		{ STYLE_PLAIN, "and a new VM show the daemon's rate over its last second." },
	};

	for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++)
		page_add(p, help[i].style, "%s", help[i].text);
}

static int count_running(const struct snapshot *s)
{
	int n = 0;

	for (size_t i = 0; i < s->n_vms; i++)
		n += s->vms[i].running;
	return n;
}

/* ---- updates ---- */

/* One update: status once per connection, then vms.list and exits.get. */
static int top_update(struct top *t)
{
	struct rpc_client *rpc = &t->cli->rpc;
	json_t *status, *vms = NULL, *exits = NULL;
	struct snapshot next;
	int r;

	if (rpc->fd < 0) {
		t->cur_comparable = false;
		r = rpc_client_call(rpc, "status", NULL, &status);
		if (r != EXIT_OK)
			goto failed;
		copy_printable(t->backend, sizeof(t->backend), obj_str(status, "kvm_backend"));
		json_decref(status);
	}
	r = rpc_client_call(rpc, "vms.list", NULL, &vms);
	if (r == EXIT_OK)
		r = rpc_client_call(rpc, "exits.get", NULL, &exits);
	if (r != EXIT_OK)
		goto failed;
	if (snapshot_build(&next, vms, exits) < 0) {
		snapshot_free(&next);
		json_decref(vms);
		json_decref(exits);
		snprintf(t->error, sizeof(t->error), "out of memory");
		t->unreachable = false;
		return EXIT_DAEMON_ERROR;
	}
	json_decref(vms);
	json_decref(exits);
	if (t->have_cur && t->cur_comparable)
		snapshot_rates(&next, &t->cur);
	snapshot_free(&t->cur);
	t->cur = next;
	t->have_cur = true;
	t->cur_comparable = true;
	t->error[0] = '\0';
	t->unreachable = false;
	top_reorder(t);
	return EXIT_OK;

failed:
	json_decref(vms);
	json_decref(exits);
	text_escape(t->error, sizeof(t->error), rpc->error);
	t->unreachable = r == EXIT_UNREACHABLE;
	/* A daemon that comes back has new counters: nothing to subtract from. */
	if (t->unreachable)
		t->cur_comparable = false;
	return r;
}

/* ---- plain text: --once, -b ---- */

static void print_page(const struct page *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *s = p->v[i].text;
		size_t len = strlen(s);

		while (len && s[len - 1] == ' ')
			len--;
		printf("%.*s\n", (int)len, s);
	}
}

static void print_snapshot(struct top *t)
{
	struct page p = { .focus = -1 };
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t->cur.wall));
	printf("kvmscope top  %s  socket %s  backend %s  %zu VM%s, %d running\n\n", when,
	       t->cli->socket_path, t->backend, t->cur.n_vms, t->cur.n_vms == 1 ? "" : "s",
	       count_running(&t->cur));
	render_list(&p, t, BATCH_WIDTH, false);
	print_page(&p);
	page_free(&p);
	for (size_t i = 0; i < t->cur.n_vms; i++) {
		putchar('\n');
		render_vm(&p, &t->cur.vms[t->order[i]], t->per_vcpu, BATCH_WIDTH, t->backend);
		print_page(&p);
		page_free(&p);
	}
	fflush(stdout);
}

static void sleep_until(double deadline)
{
	double left = deadline - monotonic_seconds();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int report_failure(const struct top *t, int r)
{
	if (t->error[0] && t->cli->rpc.failure == RPC_OK)
		fprintf(stderr, "kvmscopectl: %s\n", t->error);
	else
		rpc_client_report(&t->cli->rpc, r);
	return r;
}

/*
 * Like kvm_stat's batch mode: one update to have counts to subtract
 * from, then one snapshot per interval.
 */
static int run_batch(struct top *t)
{
	double next;
	int r = top_update(t);

	if (r)
		return report_failure(t, r);
	next = monotonic_seconds() + t->interval;
	for (unsigned long i = 0; i < t->iterations; i++) {
		if (i)
			putchar('\n');
		sleep_until(next);
		next += t->interval;
		r = top_update(t);
		if (r)
			return report_failure(t, r);
		print_snapshot(t);
	}
	return EXIT_OK;
}

/* ---- curses ---- */

enum { PAIR_ERROR = 1, PAIR_EXITED };

static volatile sig_atomic_t top_stop;

static void on_stop_signal(int sig)
{
	top_stop = 1;
}

static attr_t style_attr(const struct top *t, enum line_style style)
{
	attr_t exited = A_DIM | (t->colors ? COLOR_PAIR(PAIR_EXITED) : 0);

	switch (style) {
	case STYLE_HEADING:
		return A_BOLD;
	case STYLE_SELECTED:
		return A_REVERSE;
	case STYLE_EXITED:
		return exited;
	case STYLE_SELECTED_EXITED:
		return A_REVERSE | exited;
	case STYLE_PLAIN:
		break;
	}
	return A_NORMAL;
}

/* @text on @row, cut to the screen; a reverse-video line spans the width. */
static void draw_text(int row, attr_t attr, const char *text, bool fill)
{
	/* The bottom-right cell is left alone: writing it scrolls some terminals. */
	int width = row == LINES - 1 ? COLS - 1 : COLS;

	if (width <= 0)
		return;
	attrset(attr);
	mvaddnstr(row, 0, text, width);
	if (fill)
		for (int x = (int)strlen(text); x < width; x++)
			mvaddch(row, x, ' ');
	attrset(A_NORMAL);
}

static void draw_page(struct top *t, const struct page *p, int *offset)
{
	int top_row = 1, rows = LINES - 2 - (int)p->pinned, max_scroll;

	for (size_t i = 0; i < p->pinned && i < p->n; i++)
		draw_text(top_row++, style_attr(t, p->v[i].style), p->v[i].text, false);
	if (rows <= 0)
		return;
	max_scroll = (int)(p->n - p->pinned) - rows;
	if (p->focus >= 0) {
		int f = (int)p->focus - (int)p->pinned;

		if (f < *offset)
			*offset = f;
		if (f >= *offset + rows)
			*offset = f - rows + 1;
	}
	*offset = clamp_int(*offset, 0, max_scroll > 0 ? max_scroll : 0);
	for (int i = 0; i < rows && p->pinned + (size_t)(*offset + i) < p->n; i++) {
		const struct page_line *l = &p->v[p->pinned + (size_t)(*offset + i)];
		enum line_style s = l->style;

		draw_text(top_row + i, style_attr(t, s), l->text,
			  s == STYLE_SELECTED || s == STYLE_SELECTED_EXITED);
	}
}

static const struct vm_stat *top_open_vm(const struct top *t)
{
	for (size_t i = 0; i < t->cur.n_vms; i++)
		if (t->cur.vms[i].pid == t->open_pid)
			return &t->cur.vms[i];
	return NULL;
}

static void draw_status(struct top *t)
{
	char line[LINE_MAX_CHARS + sizeof(t->error) + 128], when[16] = "never";

	if (t->have_cur)
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&t->cur.wall));
	if (t->unreachable)
		snprintf(line, sizeof(line), "cannot reach kvmscoped at %s: retrying (%s)  last update %s",
			 t->cli->socket_path, t->error, when);
	else if (t->error[0])
		snprintf(line, sizeof(line), "%s  last update %s", t->error, when);
	else
		snprintf(line, sizeof(line), "socket %s  backend %s  updated %s%s",
			 t->cli->socket_path, t->backend, when,
			 t->paused ? "  PAUSED (p resumes)" : "");
	draw_text(LINES - 1, t->error[0] ? A_BOLD | (t->colors ? COLOR_PAIR(PAIR_ERROR) : 0) :
					   A_NORMAL, line, false);
}

static void draw(struct top *t)
{
	struct page p = { .focus = -1 };
	char title[LINE_MAX_CHARS];
	const struct vm_stat *vm;

	erase();
	if (LINES < 4 || COLS < 20) {
		draw_text(0, A_NORMAL, "terminal too small", false);
		refresh();
		return;
	}
	switch (t->view) {
	case VIEW_HELP:
		snprintf(title, sizeof(title), "kvmscope top: help (any key goes back)");
		render_help(&p);
		draw_page(t, &p, &t->vm_scroll);
		break;
	case VIEW_VM:
		vm = top_open_vm(t);
		snprintf(title, sizeof(title), "kvmscope top%s > %s pid %lld  v per-vCPU %s  Esc back  ? help",
			 t->paused ? "  PAUSED" : "", vm ? vm->name : "?", t->open_pid,
			 t->per_vcpu ? "on" : "off");
		if (vm)
			render_vm(&p, vm, t->per_vcpu, COLS - 1, t->backend);
		else
			page_add(&p, STYLE_PLAIN, "kvmscoped no longer reports pid %lld (exited longer ago than its --retain-exited)",
				 t->open_pid);
		draw_page(t, &p, &t->vm_scroll);
		break;
	case VIEW_LIST:
		snprintf(title, sizeof(title), "kvmscope top%s  %zu VM%s, %d running  every %gs  sort %s%s  ? help",
			 t->paused ? "  PAUSED" : "", t->cur.n_vms, t->cur.n_vms == 1 ? "" : "s",
			 count_running(&t->cur), t->interval, sort_names[t->sort],
			 t->reverse ? " reversed" : "");
		render_list(&p, t, COLS - 1, true);
		draw_page(t, &p, &t->list_scroll);
		break;
	}
	draw_text(0, A_REVERSE, title, true);
	draw_status(t);
	page_free(&p);
	refresh();
}

static void select_row(struct top *t, long row)
{
	if (!t->cur.n_vms)
		return;
	if (row < 0)
		row = 0;
	if (row >= (long)t->cur.n_vms)
		row = (long)t->cur.n_vms - 1;
	t->selected = (size_t)row;
	t->selected_pid = t->cur.vms[t->order[row]].pid;
}

/* Returns false when the user quits. */
static bool handle_key(struct top *t, int ch)
{
	int page = LINES > 6 ? LINES - 5 : 1;

	if (ch == KEY_RESIZE)
		return true;
	if (t->view == VIEW_HELP) {
		t->view = t->view_before_help;
		t->vm_scroll = 0;
		return ch != 'q';
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 'p':
		t->paused = !t->paused;
		return true;
	case '?':
		t->view_before_help = t->view;
		t->view = VIEW_HELP;
		t->vm_scroll = 0;
		return true;
	case 's':
		t->sort = (t->sort + 1) % NR_SORTS;
		top_reorder(t);
		return true;
	case 'r':
		t->reverse = !t->reverse;
		top_reorder(t);
		return true;
	}
	if (t->view == VIEW_LIST) {
		switch (ch) {
		case KEY_UP:
		case 'k':
			select_row(t, (long)t->selected - 1);
			break;
		case KEY_DOWN:
		case 'j':
			select_row(t, (long)t->selected + 1);
			break;
		case KEY_PPAGE:
			select_row(t, (long)t->selected - page);
			break;
		case KEY_NPAGE:
			select_row(t, (long)t->selected + page);
			break;
		case KEY_HOME:
		case 'g':
			select_row(t, 0);
			break;
		case KEY_END:
		case 'G':
			select_row(t, (long)t->cur.n_vms - 1);
			break;
		case '\n':
		case '\r':
		case KEY_ENTER:
		case KEY_RIGHT:
		case 'l':
			if (t->cur.n_vms) {
				t->open_pid = t->selected_pid;
				t->view = VIEW_VM;
				t->vm_scroll = 0;
			}
			break;
		}
		return true;
	}
	switch (ch) {
	case KEY_UP:
	case 'k':
		t->vm_scroll--;
		break;
	case KEY_DOWN:
	case 'j':
		t->vm_scroll++;
		break;
	case KEY_PPAGE:
		t->vm_scroll -= page;
		break;
	case KEY_NPAGE:
	case ' ':
		t->vm_scroll += page;
		break;
	case KEY_HOME:
	case 'g':
		t->vm_scroll = 0;
		break;
	case KEY_END:
	case 'G':
		t->vm_scroll = 1 << 20;		/* draw_page clamps it */
		break;
	case 'v':
		t->per_vcpu = !t->per_vcpu;
		break;
	case 27:			/* Esc */
	case KEY_BACKSPACE:
	case 127:
	case '\b':
	case 'h':
	case KEY_LEFT:
		t->view = VIEW_LIST;
		break;
	}
	return true;
}

static int run_curses(struct top *t)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	SCREEN *screen;
	double next = 0;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		return cli_usage_error("%s", "top needs a terminal on stdin and stdout; for plain text use 'kvmscopectl top --once' or 'kvmscopectl top -b --iterations N'");
	}
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		return cli_usage_error("top cannot drive terminal type '%s' (TERM); try TERM=vt100, or 'kvmscopectl top --once'",
				       getenv("TERM") ? getenv("TERM") : "");
	}
	/* No SA_RESTART: getch() returns at once and the loop ends cleanly. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	/* Esc alone goes back: do not wait a second for an escape sequence. */
	set_escdelay(50);
	if (has_colors()) {
		short bg = COLOR_BLACK;

		start_color();
		if (use_default_colors() == OK)
			bg = -1;
		init_pair(PAIR_ERROR, COLOR_RED, bg);
		init_pair(PAIR_EXITED, COLOR_BLUE, bg);
		t->colors = true;
	}
	while (!top_stop) {
		double now = monotonic_seconds();
		int ch;

		if (!t->paused && now >= next) {
			top_update(t);
			now = monotonic_seconds();
			/* Keep the cadence, but do not race to catch up after a stall. */
			next = next + t->interval > now ? next + t->interval : now + t->interval;
		}
		draw(t);
		timeout(t->paused ? -1 : (int)fmax(1, (next - now) * 1000));
		ch = getch();
		if (ch != ERR && !handle_key(t, ch))
			break;
	}
	endwin();
	delscreen(screen);
	return EXIT_OK;
}

/* ---- the verb ---- */

void top_usage(FILE *f)
{
	fprintf(f, "\nTop options (kvmscopectl top [OPTIONS]; keys: press ? in top):\n"
		   "  -d, --interval SECS   seconds between updates (default 1, from 0.1)\n"
		   "  --once, -b, --batch   plain text without curses: one snapshot after one\n"
		   "                        interval, then exit; for scripts and tests\n"
		   "  -n, --iterations N    that many snapshots, one per interval (implies -b)\n"
		   "  --per-vcpu            break each VM's exits down per vCPU (key v)\n"
		   "  EXITS/s is hardware exits, or exits to the VMM where the kernel reports no\n"
		   "  kvm_exit (kvm_pvm); rates come from successive counts, P99 is the top\n"
		   "  reason's handling time.  Without --once it needs a terminal.\n");
}

/* Returns -1 to go on, else the exit code. */
static int parse_top_options(struct top *t, struct cli *c)
{
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i], *eq = strchr(a, '='), *val = NULL;
		char name[32], *end;

		if (a[0] == '-' && a[1] && a[1] != '-' && a[2]) {
			/* -d0.5, -n3 */
			snprintf(name, sizeof(name), "%.2s", a);
			val = a + 2;
		} else {
			snprintf(name, sizeof(name), "%.*s",
				 eq && a[1] == '-' ? (int)(eq - a) : (int)strlen(a), a);
			if (eq && a[1] == '-')
				val = eq + 1;
		}
		if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
			printf("Usage: kvmscopectl [--socket PATH] top [OPTIONS]\n"
			       "A live view of KVM exits per VM; Enter opens a VM.\n");
			top_usage(stdout);
			return EXIT_OK;
		}
		if (!strcmp(name, "--once") || !strcmp(name, "-b") || !strcmp(name, "--batch") ||
		    !strcmp(name, "--per-vcpu")) {
			if (val)
				return cli_usage_error("top: %s takes no value", name);
			if (!strcmp(name, "--per-vcpu"))
				t->per_vcpu = true;
			else
				t->batch = true;
			continue;
		}
		if (strcmp(name, "-d") && strcmp(name, "--interval") && strcmp(name, "-n") &&
		    strcmp(name, "--iterations") && strcmp(name, "--socket"))
			return cli_usage_error("top: unknown option '%s'", a);
		if (!val && i + 1 >= c->argc)
			return cli_usage_error("top: option '%s' needs a value", name);
		if (!val)
			val = c->argv[++i];
		errno = 0;
		if (!strcmp(name, "--socket")) {
			if (!*val)
				return cli_usage_error("top: %s", "--socket needs a path");
			c->socket_path = val;
		} else if (!strcmp(name, "-d") || !strcmp(name, "--interval")) {
			t->interval = strtod(val, &end);
			if (errno || end == val || *end || !isfinite(t->interval) ||
			    t->interval < TOP_MIN_INTERVAL || t->interval > TOP_MAX_INTERVAL)
				return cli_usage_error("top: %s: '%s' is not a number of seconds from %g to %g",
						       name, val, TOP_MIN_INTERVAL,
						       TOP_MAX_INTERVAL);
		} else {
			t->iterations = strtoul(val, &end, 10);
			if (errno || end == val || *end || val[0] == '-' || !t->iterations)
				return cli_usage_error("top: %s: '%s' is not a number of snapshots from 1",
						       name, val);
			t->batch = true;
		}
	}
	return -1;
}

int verb_top(struct cli *c)
{
	struct top t = {
		.cli = c,
		.interval = TOP_DEFAULT_INTERVAL,
		.iterations = 1,
		.backend = "?",
	};
	int r;

	if (c->json)
		return cli_usage_error("top: %s", "--json does not go with top; use 'kvmscopectl --json exits'");
	r = parse_top_options(&t, c);
	if (r >= 0)
		return r;
	/* top takes --socket after the verb too. */
	rpc_client_close(&c->rpc);
	rpc_client_init(&c->rpc, c->socket_path, c->timeout);
	r = t.batch ? run_batch(&t) : run_curses(&t);
	rpc_client_close(&c->rpc);
	snapshot_free(&t.cur);
	free(t.order);
	return r;
}
