// SPDX-License-Identifier: GPL-2.0-only
/*
 * The livepatch capability: the kernel's livepatches and their
 * transitions, the tasks a transition waits on, the ftrace sites in use
 * with their owners, and every change to kernel text.  Patches, pending
 * tasks and sites are read from sysfs, /proc and tracefs on the tick;
 * transitions come from fentry on the kernel's transition functions
 * (bpf/livepatch.bpf.c), else from sysfs on the tick (to the second);
 * text changes from perf (textpoke.c).  Patches are loaded, enabled,
 * disabled, unloaded and forced through manage.c, root only, audited.
 * Where the kernel has no livepatch (this project's sandbox), its
 * methods say so and nothing else changes.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "capability.h"
#include "events.h"
#include "hist.h"
#include "livepatch/manage.h"
#include "livepatch/patches.h"
#include "livepatch/sites.h"
#include "livepatch/textpoke.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "progprobe.h"
#include "rpc.h"
#include "strbuf.h"
#include "tracefs.h"
#include "kvmscope/livepatch.h"
#include "livepatch.skel.h"

#define LIVEPATCH_DIR "/sys/kernel/livepatch"
#define MODULE_DIR "/sys/module"
/* Transitions kept for livepatch.get, the oldest dropped first. */
#define TRANSITIONS_MAX 256
/* A task pending this long has its kernel stack read. */
#define PENDING_STACK_AFTER_USEC 1000000
/* Pending tasks listed per transition (all are counted). */
#define PENDING_MAX 64
/* Bytes of enabled_functions read at most. */
#define ENABLED_FUNCTIONS_MAX (8u << 20)
/* Pending tasks named in a stall event and its log line. */
#define STALL_TASKS_SHOWN 10

struct transition {
	char patch[64];
	bool unpatch;			/* target: 0 (unpatched), else 1 (patched) */
	uint64_t start_usec, end_usec;	/* CLOCK_REALTIME; end 0 while in progress */
	uint64_t start_mono, end_mono;	/* CLOCK_MONOTONIC */
	/* NULL while in progress: "completed", "reversed", "cancelled", "forced", "unloaded" */
	const char *result;
	bool seen_start;		/* false: it began before the daemon looked */
	bool forced;			/* klp_force_transition() during it */
	uint64_t attempts;		/* klp_try_complete_transition() calls that failed */
	size_t pending_max;		/* most tasks seen pending at once */
	bool stalled;			/* in progress past --patch-stall: reported */
};

struct pending_task {
	uint32_t pid, tid;
	char comm[17];
	int vcpu;			/* the vCPU it runs ("CPU N/KVM"), or -1 */
	bool running;			/* on a CPU when read (state R): no stack to read */
	int state;			/* /proc/.../patch_state: 0 or 1 */
	char blocking[128];		/* the patched function on its stack, or "" */
	char stack[512];		/* its first frames, when pending long enough */
};

struct counter {
	char patch[64];
	bool unpatch;
	const char *result;
	uint64_t n;
};

struct livepatch_state {
	struct manager *m;
	bool available;
	char why[200];			/* why not available */
	char sites_why[400];		/* why no ftrace sites, or "" */
	struct klp_patches snap;
	struct ftrace_sites sites;
	struct transition *tr;		/* ring of TRANSITIONS_MAX, oldest first */
	size_t n_tr;
	uint64_t dropped_tr;
	struct counter *counters;	/* transitions_total by (patch, target, result) */
	size_t n_counters;
	struct kvmscope_hist seconds[2];	/* durations of ended transitions: patch, unpatch */
	struct pending_task pending[PENDING_MAX];
	size_t n_pending, n_pending_all;
	struct textpoke tp;		/* every change to kernel text */
	/* The transition functions hooked (bpf/livepatch.bpf.c): exact transitions. */
	struct livepatch_bpf *skel;
	struct ring_buffer *rb;
	sd_event_source *rb_source;
	bool hooked;
	char hooks_why[240];		/* why transitions come from the tick, or "" */
	struct klp_manage manage;
	/* --patch-autoload: the patch directory's modules still to load, in order. */
	char **autoload;
	size_t n_autoload, next_autoload;
};

static uint64_t now_usec(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- transitions ---- */

/* The transition in progress, whichever patch (the kernel runs one at a time). */
static struct transition *current_transition(struct livepatch_state *st)
{
	for (size_t i = st->n_tr; i-- > 0;)
		if (!st->tr[i].result)
			return &st->tr[i];
	return NULL;
}

/* The transition in progress if it is @patch's. */
static struct transition *open_transition(struct livepatch_state *st, const char *patch)
{
	struct transition *t = current_transition(st);

	return t && !strcmp(t->patch, patch) ? t : NULL;
}

static struct transition *add_transition(struct livepatch_state *st)
{
	if (st->n_tr == TRANSITIONS_MAX) {
		memmove(&st->tr[0], &st->tr[1], (TRANSITIONS_MAX - 1) * sizeof(st->tr[0]));
		st->n_tr--;
		st->dropped_tr++;
	}
	memset(&st->tr[st->n_tr], 0, sizeof(st->tr[0]));
	return &st->tr[st->n_tr++];
}

static void count_transition(struct livepatch_state *st, const struct transition *t)
{
	struct counter *c;

	for (size_t i = 0; i < st->n_counters; i++) {
		c = &st->counters[i];
		if (!strcmp(c->patch, t->patch) && c->unpatch == t->unpatch && c->result == t->result) {
			c->n++;
			return;
		}
	}
	c = realloc(st->counters, (st->n_counters + 1) * sizeof(*c));
	if (!c)
		return;
	st->counters = c;
	c = &st->counters[st->n_counters++];
	snprintf(c->patch, sizeof(c->patch), "%s", t->patch);
	c->unpatch = t->unpatch;
	c->result = t->result;
	c->n = 1;
}

static json_t *transition_json(const struct transition *t)
{
	uint64_t end = t->result ? t->end_mono : now_usec(CLOCK_MONOTONIC);

	return json_pack("{s:s, s:s, s:f, s:o, s:o, s:b, s:s?, s:I, s:I}", "patch", t->patch, "target",
			 t->unpatch ? "unpatch" : "patch", "start", t->start_usec / 1e6, "end",
			 t->result ? json_real(t->end_usec / 1e6) : json_null(), "duration_ns",
			 t->seen_start ? json_integer((json_int_t)(end - t->start_mono) * 1000) :
					 json_null(),
			 "seen_start", t->seen_start, "result", t->result, "pending_tasks_max",
			 (json_int_t)t->pending_max, "failed_attempts", (json_int_t)t->attempts);
}

static void publish(struct livepatch_state *st, const char *event, const struct transition *t,
		    const char *patch)
{
	json_t *p = t ? transition_json(t) : json_pack("{s:s}", "patch", patch);

	if (!p)
		return;
	json_object_set_new(p, "event", json_string(event));
	events_hub_publish(manager_events(st->m), "livepatch", 0, p);
}

/* @mono_usec (CLOCK_MONOTONIC) as CLOCK_REALTIME microseconds. */
static uint64_t realtime_of(uint64_t mono_usec)
{
	uint64_t real = now_usec(CLOCK_REALTIME), mono = now_usec(CLOCK_MONOTONIC);

	return mono >= mono_usec ? real - (mono - mono_usec) : real;
}

/* A transition of @patch toward @unpatch began at @mono_usec (0: now). */
static void begin_at(struct livepatch_state *st, const char *patch, bool unpatch, bool seen_start,
		     uint64_t mono_usec)
{
	struct transition *t = add_transition(st);

	snprintf(t->patch, sizeof(t->patch), "%s", patch);
	t->unpatch = unpatch;
	t->start_mono = mono_usec ? mono_usec : now_usec(CLOCK_MONOTONIC);
	t->start_usec = realtime_of(t->start_mono);
	t->seen_start = seen_start;
	log_info("livepatch: %s: %s transition %s", patch, t->unpatch ? "unpatching" : "patching",
		 seen_start ? "started" : "in progress");
	publish(st, "transition_start", t, NULL);
}

static void begin(struct livepatch_state *st, const struct klp_patch *p, bool seen_start)
{
	begin_at(st, p->name, p->enabled == 0, seen_start, 0);
}

static void end_at(struct livepatch_state *st, struct transition *t, const char *result,
		   uint64_t mono_usec)
{
	t->result = result;
	t->end_mono = mono_usec ? mono_usec : now_usec(CLOCK_MONOTONIC);
	t->end_usec = realtime_of(t->end_mono);
	count_transition(st, t);
	if (t->seen_start)
		hist_add_ns(&st->seconds[t->unpatch], (t->end_mono - t->start_mono) * 1000);
	if (t->stalled)
		log_notice("livepatch: %s: the stalled %s transition %s after %.3f s", t->patch,
			   t->unpatch ? "unpatching" : "patching", result,
			   (t->end_mono - t->start_mono) / 1e6);
	else
		log_info("livepatch: %s: %s transition %s after %.3f s", t->patch,
			 t->unpatch ? "unpatching" : "patching", result,
			 (t->end_mono - t->start_mono) / 1e6);
	publish(st, "transition_end", t, NULL);
}

static void end(struct livepatch_state *st, struct transition *t, const char *result)
{
	end_at(st, t, result, 0);
}

/* One step of a transition from the kernel (bpf/livepatch.bpf.c). */
static int on_klp_event(void *ctx, void *data, size_t len)
{
	struct livepatch_state *st = ctx;
	const struct kvmscope_klp_event *ev = data;
	struct transition *t;
	uint64_t at = ev->ts_ns / 1000;
	char patch[64];

	if (len < sizeof(*ev))
		return 0;
	t = current_transition(st);
	switch (ev->step) {
	case KVMSCOPE_KLP_INIT:
		memcpy(patch, ev->patch, sizeof(ev->patch));
		patch[sizeof(ev->patch)] = '\0';
		if (t)
			end_at(st, t, "cancelled", at);
		begin_at(st, patch, ev->target == 0, true, at);
		break;
	case KVMSCOPE_KLP_TRY:
		if (t)
			t->attempts++;
		break;
	case KVMSCOPE_KLP_COMPLETED:
		/* After a cancel the transition has ended already. */
		if (t) {
			/* The attempt that completed it did not fail. */
			if (t->attempts)
				t->attempts--;
			end_at(st, t, t->forced ? "forced" : "completed", at);
		}
		break;
	case KVMSCOPE_KLP_REVERSE:
		if (t) {
			snprintf(patch, sizeof(patch), "%s", t->patch);
			end_at(st, t, "reversed", at);
			begin_at(st, patch, !t->unpatch, true, at);
		}
		break;
	case KVMSCOPE_KLP_CANCEL:
		if (t)
			end_at(st, t, "cancelled", at);
		break;
	case KVMSCOPE_KLP_FORCE:
		if (t) {
			t->forced = true;
			log_warning("livepatch: %s: transition forced: the consistency model no "
				    "longer holds for it", t->patch);
		}
		break;
	}
	return 0;
}

/* What changed between the last reading and @next: transitions begun and ended. */
static void follow(struct livepatch_state *st, const struct klp_patches *next)
{
	for (size_t i = 0; i < next->n; i++) {
		const struct klp_patch *p = &next->v[i], *prev = klp_find(&st->snap, p->name);
		struct transition *t = open_transition(st, p->name);

		if (!prev)
			publish(st, "loaded", NULL, p->name);
		/* Hooked: the kernel says when each transition begins and ends. */
		if (st->hooked)
			continue;
		if (p->transition == 1 && !t) {
			begin(st, p, true);
		} else if (p->transition == 1 && t && t->unpatch != (p->enabled == 0)) {
			/* Reversed: writing enabled during a transition turns it around. */
			end(st, t, "reversed");
			begin(st, p, true);
		} else if (p->transition == 0 && t) {
			end(st, t, "completed");
		}
	}
	/* Patches gone: unloaded (an open transition ends with them). */
	for (size_t i = 0; i < st->snap.n; i++) {
		const struct klp_patch *p = &st->snap.v[i];
		struct transition *t;

		if (klp_find(next, p->name))
			continue;
		t = st->hooked ? NULL : open_transition(st, p->name);
		if (t)
			end(st, t, t->unpatch ? "completed" : "unloaded");
		publish(st, "unloaded", NULL, p->name);
	}
}

/* ---- pending tasks ---- */

/* The function of @p patched in the stack text @stack, or NULL. */
static const char *blocking_function(const struct klp_patch *p, const char *stack)
{
	for (size_t o = 0; p && o < p->n_objs; o++)
		for (size_t f = 0; f < p->objs[o].n_funcs; f++) {
			const char *name = p->objs[o].funcs[f].name, *hit = stack;
			size_t n = strlen(name);

			while ((hit = strstr(hit, name))) {
				/* "] name+0x12/0x40": a whole symbol. */
				if ((hit == stack || hit[-1] == ' ') && hit[n] == '+')
					return name;
				hit += n;
			}
		}
	return NULL;
}

/* Tasks whose patch_state is not the target of the transition in progress. */
static void scan_pending(struct livepatch_state *st, const struct transition *t,
			 const struct klp_patch *p)
{
	int target = t->unpatch ? 0 : 1;
	bool read_stacks = now_usec(CLOCK_MONOTONIC) - t->start_mono >= PENDING_STACK_AFTER_USEC;
	DIR *proc = opendir("/proc");
	struct dirent *de;

	st->n_pending = st->n_pending_all = 0;
	if (!proc)
		return;
	while ((de = readdir(proc))) {
		char path[96];
		DIR *tasks;
		struct dirent *te;
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%lu/task", pid);
		tasks = opendir(path);
		if (!tasks)
			continue;
		while ((te = readdir(tasks))) {
			char buf[16], file[128];
			unsigned long tid = strtoul(te->d_name, &end, 10);
			long state;

			if (*end || !tid)
				continue;
			snprintf(file, sizeof(file), "/proc/%lu/task/%lu/patch_state", pid, tid);
			if (read_first_line(file, buf, sizeof(buf)) < 0)
				continue;
			state = strtol(buf, NULL, 10);
			/* -1: no transition for it (KLP_TRANSITION_IDLE). */
			if (state < 0 || state == target)
				continue;
			st->n_pending_all++;
			if (st->n_pending < PENDING_MAX) {
				struct pending_task *pt = &st->pending[st->n_pending++];
				char stack[4096];

				memset(pt, 0, sizeof(*pt));
				pt->pid = (uint32_t)pid;
				pt->tid = (uint32_t)tid;
				pt->state = (int)state;
				snprintf(file, sizeof(file), "/proc/%lu/task/%lu/comm", pid, tid);
				read_first_line(file, pt->comm, sizeof(pt->comm));
				pt->vcpu = vm_vcpu_from_comm(pt->comm);
				snprintf(file, sizeof(file), "/proc/%lu/task/%lu/stat", pid, tid);
				if (read_first_line(file, stack, sizeof(stack)) == 0 && strrchr(stack, ')'))
					pt->running = !strncmp(strrchr(stack, ')'), ") R", 3);
				snprintf(file, sizeof(file), "/proc/%lu/task/%lu/stack", pid, tid);
				if (read_stacks) {
					int fd = open(file, O_RDONLY | O_CLOEXEC);
					ssize_t n = fd >= 0 ? read(fd, stack, sizeof(stack) - 1) : -1;
					const char *b;

					if (fd >= 0)
						close(fd);
					if (n > 0) {
						stack[n] = '\0';
						memcpy(pt->stack, stack, sizeof(pt->stack) - 1);
						b = blocking_function(p, stack);
						if (b)
							snprintf(pt->blocking, sizeof(pt->blocking), "%s", b);
					}
				}
			}
		}
		closedir(tasks);
	}
	closedir(proc);
}

/* ---- the tick ---- */

static void read_sites(struct livepatch_state *st)
{
	const char *root = tracefs_root();
	char path[256];
	char *text;
	size_t cap;
	ssize_t n = 0, r = 0;
	int fd;

	ftrace_sites_free(&st->sites);
	if (!root) {
		snprintf(st->sites_why, sizeof(st->sites_why), "tracefs is not mounted");
		return;
	}
	snprintf(path, sizeof(path), "%s/enabled_functions", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(st->sites_why, sizeof(st->sites_why), "%s: %s (needs dynamic ftrace, "
			 "and root)", path, strerror(errno));
		return;
	}
	/* As big as the file, which is short unless many sites are in use. */
	text = NULL;
	cap = 0;
	do {
		if (array_reserve((void **)&text, &cap, (size_t)n + 65536, 1, 65536) < 0)
			break;
		r = read(fd, text + n, (cap < ENABLED_FUNCTIONS_MAX ? cap : ENABLED_FUNCTIONS_MAX) -
			 (size_t)n);
		if (r > 0)
			n += r;
	} while (r > 0 && (size_t)n < ENABLED_FUNCTIONS_MAX);
	close(fd);
	if (!text)
		return;
	st->sites_why[0] = '\0';
	if (ftrace_sites_parse(text, (size_t)n, &st->sites) < 0)
		log_warning("livepatch: out of memory parsing %s", path);
	free(text);
	/* Whose livepatch each site is: the patches' functions by name. */
	for (size_t i = 0; i < st->sites.n; i++) {
		struct ftrace_site *s = &st->sites.v[i];

		for (size_t k = 0; k < st->snap.n; k++) {
			const struct klp_patch *p = &st->snap.v[k];

			for (size_t o = 0; o < p->n_objs; o++) {
				const struct klp_object *obj = &p->objs[o];
				bool same_obj = !strcmp(obj->name, "vmlinux") ? !s->module[0] :
						!strcmp(obj->name, s->module);

				for (size_t f = 0; same_obj && f < obj->n_funcs; f++)
					if (!strcmp(obj->funcs[f].name, s->func) && p->enabled == 1) {
						char owner[96];
						size_t o2 = 0;

						snprintf(owner, sizeof(owner), "livepatch %s", p->name);
						/* klp_ftrace_handler is the patch's hook: name the patch instead. */
						while (o2 < s->n_owners &&
						       strcmp(s->owners[o2].callback, "klp_ftrace_handler"))
							o2++;
						if (o2 < s->n_owners)
							snprintf(s->owners[o2].callback,
								 sizeof(s->owners[o2].callback), "%s", owner);
						else
							ftrace_site_add_owner(s, OWNER_LIVEPATCH, owner);
					}
			}
		}
	}
}

/* The first STALL_TASKS_SHOWN pending tasks: {"pid", "tid", "comm", "blocking_function"}. */
static json_t *pending_json(const struct livepatch_state *st)
{
	json_t *a = json_array();

	for (size_t i = 0; i < st->n_pending && i < STALL_TASKS_SHOWN; i++) {
		const struct pending_task *pt = &st->pending[i];
		struct vm *vm = manager_vm_find_live(st->m, pt->pid);
		char name[128];

		json_array_append_new(a, json_pack("{s:I, s:I, s:s, s:s?, s:o, s:o}", "pid",
			(json_int_t)pt->pid, "tid", (json_int_t)pt->tid, "comm", pt->comm,
			"blocking_function", pt->blocking[0] ? pt->blocking : NULL, "vm",
			vm ? json_string(vm_display_name(vm, name, sizeof(name))) : json_null(),
			"vcpu", vm && pt->vcpu >= 0 ? json_integer(pt->vcpu) : json_null()));
	}
	return a;
}

/*
 * Each tick of a transition in progress: a transition_progress event with
 * the tasks it still waits on; once it has lasted --patch-stall, one
 * transition_stall event and a warning naming those tasks.
 */
static void report_progress(struct livepatch_state *st, struct transition *t)
{
	json_t *p = transition_json(t);

	json_object_set_new(p, "pending_tasks_total", json_integer((json_int_t)st->n_pending_all));
	json_object_set_new(p, "pending_tasks", pending_json(st));
	json_object_set_new(p, "event", json_string("transition_progress"));
	events_hub_publish(manager_events(st->m), "livepatch", 0, json_incref(p));
	if (!t->stalled && t->seen_start &&
	    now_usec(CLOCK_MONOTONIC) - t->start_mono >=
		    manager_options(st->m)->patch_stall_sec * 1000000ull) {
		char tasks[512] = "";
		size_t used = 0;

		t->stalled = true;
		for (size_t i = 0; i < st->n_pending && i < STALL_TASKS_SHOWN && used < sizeof(tasks); i++) {
			const struct pending_task *pt = &st->pending[i];
			struct vm *vm = manager_vm_find_live(st->m, pt->pid);
			char name[128] = "";

			if (vm)
				vm_display_name(vm, name, sizeof(name));
			used += (size_t)snprintf(tasks + used, sizeof(tasks) - used, "%s%s[%u]%s%s%s%s",
						 i ? ", " : "", pt->comm, pt->tid,
						 vm ? " of VM " : "", name,
						 pt->blocking[0] ? " in " : "", pt->blocking);
		}
		log_warning("livepatch: %s: the %s transition has waited %.0f s on %zu tasks: %s",
			    t->patch, t->unpatch ? "unpatching" : "patching",
			    (now_usec(CLOCK_MONOTONIC) - t->start_mono) / 1e6, st->n_pending_all,
			    tasks[0] ? tasks : "(none named yet)");
		json_object_set_new(p, "event", json_string("transition_stall"));
		events_hub_publish(manager_events(st->m), "livepatch", 0, json_incref(p));
	}
	json_decref(p);
}

/*
 * --patch-autoload: the next module of the patch directory, once no
 * transition is in progress (the kernel runs one at a time); a busy
 * kernel is tried again on the next tick, any other refusal is logged
 * and the next file comes.
 */
static void autoload_next(struct livepatch_state *st)
{
	struct rpc_caller self = { .may_read = true, .may_write = true, .uid = 0,
				   .pid = getpid() };
	struct rpc_error err = { 0 };
	json_t *params, *res;

	/* Hooked or read from sysfs, an open transition is known here; the kernel refuses the rest (busy). */
	if (st->next_autoload >= st->n_autoload || current_transition(st))
		return;
	params = json_pack("{s:s}", "path", st->autoload[st->next_autoload]);
	res = klp_manage_load(&st->manage, &self, params, &err);
	json_decref(params);
	json_decref(res);
	json_decref(err.data);
	if (!res && err.code == RPC_BUSY)
		return;
	st->next_autoload++;
}

/*
 * The patches read again from sysfs (after the transition steps the
 * kernel sent), and the tasks a transition in progress waits on: the
 * transition, or NULL (none, or sysfs unreadable).
 */
static struct transition *refresh_patches(struct livepatch_state *st)
{
	struct klp_patches next;
	struct transition *t;
	int r;

	if (st->rb)
		ring_buffer__consume(st->rb);
	r = klp_read(LIVEPATCH_DIR, MODULE_DIR, &next);
	if (r < 0) {
		log_warning("livepatch: cannot read %s: %s", LIVEPATCH_DIR, strerror(-r));
		return NULL;
	}
	follow(st, &next);
	klp_patches_free(&st->snap);
	st->snap = next;
	st->n_pending = st->n_pending_all = 0;
	t = current_transition(st);
	if (t) {
		scan_pending(st, t, klp_find(&st->snap, t->patch));
		if (st->n_pending_all > t->pending_max)
			t->pending_max = st->n_pending_all;
	}
	return t;
}

static void livepatch_collect(void *state)
{
	struct livepatch_state *st = state;
	struct transition *t;

	textpoke_drain(&st->tp);
	if (!st->available) {
		if (!st->sites_why[0])
			read_sites(st);
		return;
	}
	/* Before the reading, so that this tick already shows what it loaded. */
	autoload_next(st);
	t = refresh_patches(st);
	if (t)
		report_progress(st, t);
	read_sites(st);
}

/* ---- lifecycle ---- */

static int livepatch_probe(struct manager *m, void **state)
{
	struct livepatch_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->m = m;
	*state = st;
	st->manage = (struct klp_manage){ .patch_dir = manager_options(m)->patch_dir,
					  .livepatch_dir = LIVEPATCH_DIR, .module_dir = MODULE_DIR };
	st->tr = calloc(TRANSITIONS_MAX, sizeof(*st->tr));
	if (!st->tr)
		return -ENOMEM;
	if (!path_exists(LIVEPATCH_DIR)) {
		snprintf(st->why, sizeof(st->why), "%s: %s (the kernel has no CONFIG_LIVEPATCH)",
			 LIVEPATCH_DIR, strerror(errno));
		log_info("livepatch: not available: %s", st->why);
	} else {
		st->available = true;
	}
	return 0;
}

/* The patch in transition that patches @fn, or NULL. */
static const char *transition_of(struct livepatch_state *st, const char *fn)
{
	const struct transition *t = current_transition(st);
	const struct klp_patch *p = t ? klp_find(&st->snap, t->patch) : NULL;

	for (size_t o = 0; p && o < p->n_objs; o++)
		for (size_t f = 0; f < p->objs[o].n_funcs; f++)
			if (!strcmp(p->objs[o].funcs[f].name, fn))
				return p->name;
	return NULL;
}

static void on_poke(void *ctx, uint64_t addr, const struct ksym *sym, uint64_t offset,
		    enum poke_kind kind, uint16_t old_len, uint16_t new_len)
{
	struct livepatch_state *st = ctx;
	char a[24];

	snprintf(a, sizeof(a), "0x%llx", (unsigned long long)addr);
	events_hub_publish(manager_events(st->m), "textpoke", 0,
		json_pack("{s:s, s:s?, s:s?, s:I, s:s, s:i, s:i, s:s?}", "addr", a, "function",
			  sym ? sym->name : NULL, "module", sym && sym->module[0] ? sym->module : NULL,
			  "offset", (json_int_t)offset, "kind", poke_kind_names[kind], "old_len", old_len,
			  "new_len", new_len, "transition",
			  sym && kind == POKE_FTRACE ? transition_of(st, sym->name) : NULL));
}

static int on_klp_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct livepatch_state *st = userdata;

	ring_buffer__consume(st->rb);
	return 0;
}

/*
 * fentry/fexit on the transition functions: every transition, timed by
 * the kernel.  Where they do not attach, the tick's reading of sysfs.
 */
static void hook_transitions(struct livepatch_state *st)
{
	bool was_quiet = progprobe_libbpf_quiet(true);
	int r;

	st->skel = livepatch_bpf__open_and_load();
	r = st->skel ? livepatch_bpf__attach(st->skel) : -errno;
	progprobe_libbpf_quiet(was_quiet);
	if (!st->skel || r < 0) {
		snprintf(st->hooks_why, sizeof(st->hooks_why), "fentry on klp_init_transition and "
			 "the other transition functions: %s; transitions come from sysfs on the "
			 "tick, to the second", strerror(r < 0 ? -r : errno));
		log_info("livepatch: %s", st->hooks_why);
		livepatch_bpf__destroy(st->skel);
		st->skel = NULL;
		return;
	}
	st->rb = ring_buffer__new(bpf_map__fd(st->skel->maps.klp_events), on_klp_event, st, NULL);
	if (!st->rb || sd_event_add_io(manager_event(st->m), &st->rb_source,
				       ring_buffer__epoll_fd(st->rb), EPOLLIN, on_klp_ring, st) < 0)
		log_warning("livepatch: transition steps are read on the tick only");
	st->hooked = st->rb != NULL;
}

static int livepatch_attach(void *state)
{
	struct livepatch_state *st = state;

	st->tp.on_poke = on_poke;
	st->tp.ctx = st;
	if (textpoke_open(&st->tp, manager_event(st->m)) < 0)
		log_info("livepatch: kernel text changes are not observed: %s", st->tp.why);

	read_sites(st);
	if (!st->available)
		return 0;
	hook_transitions(st);
	if (manager_options(st->m)->patch_autoload) {
		int r = klp_manage_list_dir(st->manage.patch_dir, &st->autoload, &st->n_autoload);

		if (r < 0)
			log_warning("livepatch: --patch-autoload: cannot list %s: %s",
				    st->manage.patch_dir, strerror(-r));
		else
			log_info("livepatch: --patch-autoload: %zu modules in %s to load",
				 st->n_autoload, st->manage.patch_dir);
	}
	/* What was there before us: a transition in progress began before we looked. */
	if (klp_read(LIVEPATCH_DIR, MODULE_DIR, &st->snap) == 0)
		for (size_t i = 0; i < st->snap.n; i++)
			if (st->snap.v[i].transition == 1)
				begin(st, &st->snap.v[i], false);
	return 1;
}

static void livepatch_free(void *state)
{
	struct livepatch_state *st = state;

	if (!st)
		return;
	textpoke_close(&st->tp);
	sd_event_source_disable_unref(st->rb_source);
	ring_buffer__free(st->rb);
	livepatch_bpf__destroy(st->skel);
	klp_patches_free(&st->snap);
	ftrace_sites_free(&st->sites);
	free(st->tr);
	free(st->counters);
	for (size_t i = 0; i < st->n_autoload; i++)
		free(st->autoload[i]);
	free(st->autoload);
	free(st);
}

static json_t *livepatch_describe(void *state)
{
	struct livepatch_state *st = state;

	return json_pack("{s:b, s:s?, s:s, s:s, s:s?, s:b, s:s?, s:b, s:s?}", "available",
			 st->available, "why", st->available ? NULL : st->why, "patch_dir",
			 st->manage.patch_dir, "transitions_from",
			 st->hooked ? "fentry" : "sysfs", "transitions_note",
			 st->hooks_why[0] ? st->hooks_why : NULL,
			 "ftrace_sites", !st->sites_why[0], "ftrace_sites_why",
			 st->sites_why[0] ? st->sites_why : NULL, "text_pokes", st->tp.open,
			 "text_pokes_why", st->tp.open ? NULL : st->tp.why);
}

/* ---- methods ---- */

static bool check_available(struct livepatch_state *st, struct rpc_error *err)
{
	if (st->available)
		return true;
	rpc_error_set(err, RPC_UNAVAILABLE, "livepatch not available: %s", st->why);
	return false;
}

static json_t *int_or_null(int v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *patch_json(const struct livepatch_state *st, const struct klp_patch *p, bool full)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "name", p->name, "enabled",
			      int_or_null(p->enabled), "transition", int_or_null(p->transition),
			      "replace", int_or_null(p->replace), "stack_order",
			      int_or_null(p->stack_order), "version", p->version, "srcversion",
			      p->srcversion, "taint", p->taint);
	json_t *objs = json_array();

	for (size_t i = 0; i < p->n_objs; i++) {
		const struct klp_object *obj = &p->objs[i];
		json_t *funcs = json_array();

		for (size_t f = 0; f < obj->n_funcs; f++)
			json_array_append_new(funcs, json_pack("{s:s, s:I}", "name", obj->funcs[f].name,
							       "sympos", (json_int_t)obj->funcs[f].sympos));
		json_array_append_new(objs, json_pack("{s:s, s:o, s:o}", "name", obj->name, "patched",
						      int_or_null(obj->patched), "functions", funcs));
	}
	json_object_set_new(o, "objects", objs);
	if (full) {
		json_t *trs = json_array(), *pending = json_array();
		bool open = false;

		for (size_t i = 0; i < st->n_tr; i++)
			if (!strcmp(st->tr[i].patch, p->name)) {
				json_array_append_new(trs, transition_json(&st->tr[i]));
				open |= !st->tr[i].result;
			}
		for (size_t i = 0; open && i < st->n_pending; i++) {
			const struct pending_task *pt = &st->pending[i];
			struct vm *vm = manager_vm_find_live(st->m, pt->pid);
			char name[128];

			json_array_append_new(pending, json_pack("{s:I, s:I, s:s, s:i, s:s?, s:s?, s:o, s:o}",
				"pid", (json_int_t)pt->pid, "tid", (json_int_t)pt->tid, "comm", pt->comm,
				"patch_state", pt->state, "blocking_function",
				pt->blocking[0] ? pt->blocking : NULL, "stack",
				pt->stack[0] ? pt->stack : NULL, "vm",
				vm ? json_string(vm_display_name(vm, name, sizeof(name))) : json_null(),
				"vcpu", vm && pt->vcpu >= 0 ? json_integer(pt->vcpu) : json_null()));
			json_object_set_new(json_array_get(pending, json_array_size(pending) - 1),
					    "running", json_boolean(pt->running));
		}
		json_object_set_new(o, "transitions", trs);
		json_object_set_new(o, "pending_tasks", pending);
		json_object_set_new(o, "pending_tasks_total",
				    json_integer(open ? (json_int_t)st->n_pending_all : 0));
	}
	return o;
}

static json_t *method_list(void *userdata, json_t *params, struct rpc_error *err)
{
	struct livepatch_state *st = userdata;
	json_t *patches, *trs;

	if (!check_available(st, err))
		return NULL;
	patches = json_array();
	for (size_t i = 0; i < st->snap.n; i++)
		json_array_append_new(patches, patch_json(st, &st->snap.v[i], false));
	trs = json_array();
	for (size_t i = 0; i < st->n_tr; i++)
		json_array_append_new(trs, transition_json(&st->tr[i]));
	return json_pack("{s:o, s:o, s:I}", "patches", patches, "transitions", trs,
			 "dropped_transitions", (json_int_t)st->dropped_tr);
}

static json_t *method_get(void *userdata, json_t *params, struct rpc_error *err)
{
	struct livepatch_state *st = userdata;
	json_t *name = json_object_get(params, "name");
	const struct klp_patch *p;

	if (!check_available(st, err))
		return NULL;
	if (!json_is_string(name)) {
		rpc_error_set(err, RPC_INVALID_PARAMS, "livepatch.get needs \"name\": a patch's name");
		return NULL;
	}
	p = klp_find(&st->snap, json_string_value(name));
	if (!p) {
		rpc_error_set(err, RPC_NOT_FOUND, "no livepatch named '%s' (livepatch.list lists them)",
			      json_string_value(name));
		return NULL;
	}
	return patch_json(st, p, true);
}

static json_t *method_sites(void *userdata, json_t *params, struct rpc_error *err)
{
	struct livepatch_state *st = userdata;
	json_t *sites, *by_kind;
	size_t counts[OWNER_KINDS] = { 0 };

	if (st->sites_why[0]) {
		rpc_error_set(err, RPC_UNAVAILABLE, "ftrace sites not available: %s", st->sites_why);
		return NULL;
	}
	sites = json_array();
	for (size_t i = 0; i < st->sites.n; i++) {
		const struct ftrace_site *s = &st->sites.v[i];
		json_t *owners = json_array(), *flags = json_array();

		for (size_t k = 0; k < s->n_owners; k++) {
			json_array_append_new(owners, json_pack("{s:s, s:s}", "kind",
				ftrace_owner_kind_names[s->owners[k].kind], "by", s->owners[k].callback));
			counts[s->owners[k].kind]++;
		}
		if (s->regs)
			json_array_append_new(flags, json_string("regs"));
		if (s->ipmodify)
			json_array_append_new(flags, json_string("ipmodify"));
		if (s->direct)
			json_array_append_new(flags, json_string("direct"));
		if (s->call_ops)
			json_array_append_new(flags, json_string("call_ops"));
		if (s->modified)
			json_array_append_new(flags, json_string("modified"));
		json_array_append_new(sites, json_pack("{s:s, s:s?, s:I, s:o, s:o}", "function", s->func,
			"module", s->module[0] ? s->module : NULL, "refs", (json_int_t)s->refs, "flags",
			flags, "owners", owners));
	}
	by_kind = json_object();
	for (size_t k = 0; k < OWNER_KINDS; k++)
		json_object_set_new(by_kind, ftrace_owner_kind_names[k], json_integer((json_int_t)counts[k]));
	return json_pack("{s:o, s:o, s:I}", "sites", sites, "owners_by_kind", by_kind, "unparsed_lines",
			 (json_int_t)st->sites.unparsed);
}

static json_t *method_textpoke(void *userdata, json_t *params, struct rpc_error *err)
{
	struct livepatch_state *st = userdata;

	if (!st->tp.open) {
		rpc_error_set(err, RPC_UNAVAILABLE, "text pokes not observed: %s", st->tp.why);
		return NULL;
	}
	textpoke_drain(&st->tp);
	return textpoke_json(&st->tp);
}

/*
 * The management methods: each answers what the kernel says right after
 * the action, and the patches are read again at once (not the whole
 * tick: no sites, no autoload, no progress event), so that the next
 * livepatch.get already shows the new state.
 */
static json_t *managed(struct livepatch_state *st, json_t *res)
{
	if (res)
		refresh_patches(st);
	return res;
}

static json_t *method_load(void *userdata, const struct rpc_caller *caller, json_t *params,
			   struct rpc_error *err)
{
	struct livepatch_state *st = userdata;

	if (!check_available(st, err))
		return NULL;
	return managed(st, klp_manage_load(&st->manage, caller, params, err));
}

static json_t *method_enable(void *userdata, const struct rpc_caller *caller, json_t *params,
			     struct rpc_error *err)
{
	struct livepatch_state *st = userdata;

	if (!check_available(st, err))
		return NULL;
	return managed(st, klp_manage_enable(&st->manage, caller, params, err, true));
}

static json_t *method_disable(void *userdata, const struct rpc_caller *caller, json_t *params,
			      struct rpc_error *err)
{
	struct livepatch_state *st = userdata;

	if (!check_available(st, err))
		return NULL;
	return managed(st, klp_manage_enable(&st->manage, caller, params, err, false));
}

static json_t *method_unload(void *userdata, const struct rpc_caller *caller, json_t *params,
			     struct rpc_error *err)
{
	struct livepatch_state *st = userdata;

	if (!check_available(st, err))
		return NULL;
	return managed(st, klp_manage_unload(&st->manage, caller, params, err));
}

static json_t *method_force(void *userdata, const struct rpc_caller *caller, json_t *params,
			    struct rpc_error *err)
{
	struct livepatch_state *st = userdata;

	if (!check_available(st, err))
		return NULL;
	return managed(st, klp_manage_force(&st->manage, caller, params, err));
}

static const char *const get_params[] = { "name", NULL };
static const char *const no_params[] = { NULL };
static const char *const load_params[] = { "path", "fd", NULL };
static const char *const force_params[] = { "name", "confirm", NULL };

static const struct rpc_method livepatch_methods[] = {
	{ .name = "livepatch.list", .handler = method_list, .params = no_params },
	{ .name = "livepatch.get", .handler = method_get, .params = get_params },
	{ .name = "livepatch.load", .caller_handler = method_load, .params = load_params,
	  .access = RPC_WRITE },
	{ .name = "livepatch.enable", .caller_handler = method_enable, .params = get_params,
	  .access = RPC_WRITE },
	{ .name = "livepatch.disable", .caller_handler = method_disable, .params = get_params,
	  .access = RPC_WRITE },
	{ .name = "livepatch.unload", .caller_handler = method_unload, .params = get_params,
	  .access = RPC_WRITE },
	{ .name = "livepatch.force", .caller_handler = method_force, .params = force_params,
	  .access = RPC_WRITE },
	{ .name = "ftrace.sites", .handler = method_sites, .params = no_params },
	{ .name = "textpoke.get", .handler = method_textpoke, .params = no_params },
	{ NULL },
};

/* ---- metrics ---- */

static int livepatch_metrics(void *state, struct strbuf *sb)
{
	struct livepatch_state *st = state;
	size_t kinds[OWNER_KINDS] = { 0 };
	int r;

	r = metrics_family(sb, "kvmscope_livepatch_available", "gauge",
			   "1 where the kernel has livepatch (/sys/kernel/livepatch).");
	if (r >= 0)
		r = metrics_sample(sb, "kvmscope_livepatch_available", NULL, 0, st->available);
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_livepatch_enabled", "gauge",
				   "1 while the livepatch is enabled.");
	for (size_t i = 0; i < st->snap.n && r >= 0; i++) {
		struct metrics_label l = { "patch", st->snap.v[i].name };

		r = metrics_sample(sb, "kvmscope_livepatch_enabled", &l, 1, st->snap.v[i].enabled == 1);
	}
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_livepatch_in_transition", "gauge",
				   "1 while the livepatch is in a transition.");
	for (size_t i = 0; i < st->snap.n && r >= 0; i++) {
		struct metrics_label l = { "patch", st->snap.v[i].name };

		r = metrics_sample(sb, "kvmscope_livepatch_in_transition", &l, 1,
				   st->snap.v[i].transition == 1);
	}
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_livepatch_transitions_total", "counter",
				   "Transitions ended, by patch, target (patch, unpatch) and result "
				   "(completed, reversed, unloaded).");
	for (size_t i = 0; i < st->n_counters && r >= 0; i++) {
		struct metrics_label l[] = { { "patch", st->counters[i].patch },
					     { "target", st->counters[i].unpatch ? "unpatch" : "patch" },
					     { "result", st->counters[i].result } };

		r = metrics_sample(sb, "kvmscope_livepatch_transitions_total", l, 3, st->counters[i].n);
	}
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_livepatch_transition_seconds", "histogram",
				   "How long ended transitions took (those whose start was seen), by "
				   "target (patch, unpatch).");
	for (int k = 0; k < 2 && r >= 0; k++) {
		struct metrics_histogram_names names;
		struct metrics_label l[2] = { { "target", k ? "unpatch" : "patch" } };

		metrics_histogram_names(&names, "kvmscope_livepatch_transition_seconds");
		r = metrics_histogram(sb, &names, l, 1, &st->seconds[k]);
	}
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_livepatch_pending_tasks", "gauge",
				   "Tasks the transition in progress waits on.");
	if (r >= 0 && current_transition(st)) {
		struct metrics_label l = { "patch", current_transition(st)->patch };

		r = metrics_sample(sb, "kvmscope_livepatch_pending_tasks", &l, 1, st->n_pending_all);
	}
	if (r >= 0 && st->tp.open) {
		r = metrics_family(sb, "kvmscope_text_pokes_total", "counter",
				   "Changes the kernel made to its own text (PERF_RECORD_TEXT_POKE), by "
				   "kind: ftrace (a function's call site), bpf, text (static keys and "
				   "calls), unknown.");
		for (size_t k = 0; k < POKE_KINDS && r >= 0; k++) {
			struct metrics_label l = { "owner_kind", poke_kind_names[k] };

			r = metrics_sample(sb, "kvmscope_text_pokes_total", &l, 1, st->tp.by_kind[k]);
		}
	}
	for (size_t i = 0; i < st->sites.n; i++)
		for (size_t k = 0; k < st->sites.v[i].n_owners; k++)
			kinds[st->sites.v[i].owners[k].kind]++;
	if (r >= 0 && !st->sites_why[0]) {
		r = metrics_family(sb, "kvmscope_ftrace_sites", "gauge",
				   "ftrace call sites in use, by the kind of their owners (a site "
				   "with several owners counts once for each).");
		for (size_t k = 0; k < OWNER_KINDS && r >= 0; k++) {
			struct metrics_label l = { "owner_kind", ftrace_owner_kind_names[k] };

			r = metrics_sample(sb, "kvmscope_ftrace_sites", &l, 1, kinds[k]);
		}
	}
	return r;
}

const struct capability_ops livepatch_capability = {
	.name = "livepatch",
	.probe = livepatch_probe,
	.attach = livepatch_attach,
	.collect = livepatch_collect,
	.describe = livepatch_describe,
	.metrics = livepatch_metrics,
	.free = livepatch_free,
	.topics = (const char *const[]){ "livepatch", "textpoke", NULL },
	/* Every change to kernel text: a subscriber names it. */
	.topics_on_request = (const char *const[]){ "textpoke", NULL },
	.methods = livepatch_methods,
};
