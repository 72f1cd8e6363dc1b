// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exits capability: at each tick, every exits map is read once into a
 * snapshot (exits/model.h) that exits.get, status and /metrics answer
 * from; VMs are followed from the BPF ring buffer and the maps.  Counts
 * of a VM whose process exited are copied out of the kernel maps (so a
 * reused pid starts from zero) and kept until the manager forgets it;
 * exits that arrive together are snapshotted and deleted together.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "events.h"
#include "exits.skel.h"
#include "exits/exits.h"
#include "kvm_stats.h"
#include "log.h"
#include "manager.h"

/*
 * How often the exit stream is drained while someone subscribed: events
 * reach clients within this, and a burst stays small enough (about 1000
 * events at 100,000 exits/s) for a client that keeps reading to lose none.
 */
#define STREAM_DRAIN_USEC 10000
/* VM exits within this are snapshotted together: one read of the maps. */
#define EXIT_FLUSH_USEC 20000

_Static_assert(STREAM_FILTER_MAX_PIDS <= KVMSCOPE_STREAM_MAX_PIDS,
	       "the kernel's stream_pids must hold every pid a filter can name");

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Drain the ring buffers, once at a time: a VM event can end in this
 * VM's exit (its process is gone already), whose handling drains the
 * rings again, and libbpf hands a record out until its callback returns.
 */
static int on_exit_event(void *ctx, void *data, size_t len);

static void consume_rings(struct exits_state *st)
{
	if (!st->rb || st->consuming)
		return;
	st->consuming = true;
	ring_buffer__consume(st->rb);
	/* kvmscope.ko's exit stream, where it counts the exits (kexits.c). */
	exits_kmod_drain(st, on_exit_event, st);
	st->consuming = false;
}

static struct exited_vm *exited_find(struct exits_state *st, uint64_t vm_id, size_t *pos);

/* ---- KVM's own statistics (debugfs) ---- */

/*
 * KVM's own counters of @pid from debugfs, or why there are none.  Under
 * lockdown every read is refused: remember it, so the tick stops retrying.
 */
static json_t *kvm_stats_now(struct exits_state *st, uint32_t pid)
{
	char source[1024], err[300];
	json_t *values;
	int r = kvm_stats_read(KVM_STATS_DEBUGFS, pid, &values, source, sizeof(source), err,
			       sizeof(err));

	st->kvm_stats_denied = r == -EPERM || r == -EACCES;
	if (r < 0)
		return json_pack("{s:n, s:n, s:s}", "source", "values", "error", err);
	return json_pack("{s:s, s:o, s:n}", "source", source, "values", values, "error");
}

/* The cache entry of @vm_id (sorted by id: a binary search), made if @create. */
static struct kvm_stats_cache *kvm_stats_slot(struct exits_state *st, uint64_t vm_id, bool create)
{
	size_t lo = 0, hi = st->n_kvm_stats;
	struct kvm_stats_cache *c;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->kvm_stats[mid].vm_id == vm_id)
			return &st->kvm_stats[mid];
		if (st->kvm_stats[mid].vm_id < vm_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!create)
		return NULL;
	c = realloc(st->kvm_stats, (st->n_kvm_stats + 1) * sizeof(*c));
	if (!c)
		return NULL;
	st->kvm_stats = c;
	memmove(&c[lo + 1], &c[lo], (st->n_kvm_stats - lo) * sizeof(*c));
	st->n_kvm_stats++;
	c[lo] = (struct kvm_stats_cache){ .vm_id = vm_id };
	return &c[lo];
}

static void kvm_stats_refresh(struct exits_state *st, const struct vm *vm)
{
	struct kvm_stats_cache *c = kvm_stats_slot(st, vm->id, true);
	json_t *now = kvm_stats_now(st, vm->pid);

	if (c) {
		json_decref(c->stats);
		c->stats = now;
	} else {
		json_decref(now);
	}
}

void exits_kvm_stats_forget(struct exits_state *st, uint64_t vm_id)
{
	struct kvm_stats_cache *c = kvm_stats_slot(st, vm_id, false);
	size_t i;

	if (!c)
		return;
	json_decref(c->stats);
	i = (size_t)(c - st->kvm_stats);
	memmove(c, c + 1, (st->n_kvm_stats - i - 1) * sizeof(*c));
	st->n_kvm_stats--;
}

/*
 * Reading a VM's debugfs statistics opens every file of its directory:
 * about a hundred reads.  The tick refreshes a bounded number of VMs in
 * turn, going on where the last tick stopped, so its cost does not grow
 * with the host; requests answer from what the tick read.
 */
#define KVM_STATS_PER_TICK 16

static void kvm_stats_tick(struct exits_state *st)
{
	size_t n = manager_vm_count(st->m), done = 0, k;

	if (st->kvm_stats_denied || !n)
		return;
	for (k = 0; k < n && done < KVM_STATS_PER_TICK; k++) {
		const struct vm *vm = manager_vm_at(st->m, (st->kvm_stats_cursor + k) % n);

		if (vm->exited)
			continue;
		kvm_stats_refresh(st, vm);
		done++;
		if (st->kvm_stats_denied)
			break;
	}
	st->kvm_stats_cursor = (st->kvm_stats_cursor + k) % n;
}

/* Live VMs: what the last read saw.  Exited ones: the last read while they ran. */
json_t *exits_vm_kvm_stats(struct exits_state *st, const struct vm *vm)
{
	struct kvm_stats_cache *c;

	if (vm->exited) {
		struct exited_vm *ev = exited_find(st, vm->id, NULL);

		if (ev && ev->kvm_stats && json_is_object(json_object_get(ev->kvm_stats, "values")))
			return json_incref(ev->kvm_stats);
		return json_pack("{s:n, s:n, s:s}", "source", "values", "error",
				 "the VM exited before its statistics were read");
	}
	c = kvm_stats_slot(st, vm->id, false);
	if (c && c->stats)
		return json_incref(c->stats);
	return json_pack("{s:n, s:n, s:s}", "source", "values", "error",
			 st->kvm_stats_denied ? "debugfs refused the read (lockdown?)"
					      : "not read yet: KVM statistics are read in turns, a few VMs per tick");
}

/* ---- exited VMs ---- */

static struct exited_vm *exited_find(struct exits_state *st, uint64_t vm_id, size_t *pos)
{
	size_t lo = 0, hi = st->n_exited;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->exited[mid].vm_id == vm_id) {
			if (pos)
				*pos = mid;
			return &st->exited[mid];
		}
		if (st->exited[mid].vm_id < vm_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

static struct exited_vm *exited_add(struct exits_state *st, uint64_t vm_id)
{
	struct exited_vm *v;
	size_t pos;

	v = exited_find(st, vm_id, &pos);
	if (v)
		return v;
	v = realloc(st->exited, (st->n_exited + 1) * sizeof(*v));
	if (!v)
		return NULL;
	st->exited = v;
	memmove(&st->exited[pos + 1], &st->exited[pos], (st->n_exited - pos) * sizeof(*v));
	st->n_exited++;
	st->exited[pos] = (struct exited_vm){ .vm_id = vm_id };
	return &st->exited[pos];
}

static int pid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Snapshot the counts of every VM that exited since the last flush, then
 * delete their keys: one read and one batch delete per map for all of
 * them, whatever the number of keys.
 */
void exits_flush_exited(struct exits_state *st)
{
	struct exit_table *all = &st->flush_table;
	uint32_t *pids;
	size_t n = st->n_pending_exits;

	if (!n)
		return;
	st->flush_source = sd_event_source_disable_unref(st->flush_source);
	pids = calloc(n, sizeof(*pids));
	exit_table_clear(all);
	if (exits_read_all(st, all) < 0)
		log_error("exits: cannot read the maps to keep the counts of %zu exited VMs", n);
	for (size_t i = 0; i < n; i++) {
		struct exited_vm *ev = exited_add(st, st->pending_exits[i].vm_id);
		uint32_t pid = st->pending_exits[i].pid;
		struct kvmscope_vm_state vs;
		struct kvm_stats_cache *c;
		size_t first, cnt = exit_table_range(all, pid, &first);

		if (pids)
			pids[i] = pid;
		if (!ev) {
			log_error("Out of memory keeping the counts of exited VM pid %u", pid);
			continue;
		}
		/*
		 * Its own copy, histograms too: the flush table is refilled next
		 * time.  Small chunks: thousands of exited VMs are kept.
		 */
		ev->t.arena_chunk = 4096;
		for (size_t j = 0; j < cnt; j++)
			if (exit_table_push_owned(&ev->t, &all->v[first + j]) < 0)
				break;
		for (size_t j = 0; j < ev->t.n; j++)
			if (ev->t.v[j].kind == EXIT_KIND_HW || ev->t.v[j].kind == EXIT_KIND_USER)
				ev->t.v[j].rate = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(st->skel->maps.vm_state), &pid, &vs) == 0)
			memcpy(ev->dropped, vs.dropped, sizeof(ev->dropped));
		c = kvm_stats_slot(st, st->pending_exits[i].vm_id, false);
		if (c) {
			ev->kvm_stats = c->stats;
			c->stats = NULL;
			exits_kvm_stats_forget(st, st->pending_exits[i].vm_id);
		}
	}
	exit_table_clear(all);
	if (pids) {
		if (n > 1)
			qsort(pids, n, sizeof(*pids), pid_cmp);
		exits_delete_pids(st, pids, n);
		/* A reused pid must not inherit these records from the snapshot. */
		exit_table_remove_pids(&st->snap.live, pids, n);
		free(pids);
	}
	st->n_pending_exits = 0;
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
	exits_flush_exited(userdata);
	return 0;
}

static void exits_vm_exited(void *state, struct vm *vm)
{
	struct exits_state *st = state;
	void *p;

	if (!st->loaded)
		return;
	/* Subscribers get the VM's last exits before the news that it exited. */
	if (st->stream_timer)
		consume_rings(st);
	p = realloc(st->pending_exits, (st->n_pending_exits + 1) * sizeof(*st->pending_exits));
	if (!p) {
		log_error("Out of memory noting the exit of VM pid %u", vm->pid);
		return;
	}
	st->pending_exits = p;
	st->pending_exits[st->n_pending_exits].vm_id = vm->id;
	st->pending_exits[st->n_pending_exits].pid = vm->pid;
	st->n_pending_exits++;
	if (!st->flush_source &&
	    sd_event_add_time_relative(manager_event(st->m), &st->flush_source, CLOCK_MONOTONIC,
				       EXIT_FLUSH_USEC, 1000, on_flush, st) < 0)
		exits_flush_exited(st);
}

static void exits_vm_forget(void *state, struct vm *vm)
{
	struct exits_state *st = state;
	struct exited_vm *ev;
	size_t pos;

	exits_kvm_stats_forget(st, vm->id);
	exits_view_forget(st, vm->id);
	ev = exited_find(st, vm->id, &pos);
	if (!ev)
		return;
	exit_table_free(&ev->t);
	json_decref(ev->kvm_stats);
	memmove(&st->exited[pos], &st->exited[pos + 1], (st->n_exited - pos - 1) * sizeof(*ev));
	st->n_exited--;
}

const struct exit_record *exits_vm_records(struct exits_state *st, const struct vm *vm,
					   size_t *n, const uint64_t **dropped)
{
	static const uint64_t none[KVMSCOPE_DROP_MAX];
	size_t first;

	*dropped = none;
	if (vm->exited) {
		struct exited_vm *ev = exited_find(st, vm->id, NULL);

		*n = ev ? ev->t.n : 0;
		if (ev)
			*dropped = ev->dropped;
		return ev ? ev->t.v : NULL;
	}
	for (size_t lo = 0, hi = st->snap.n_drop_pids; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->snap.drop_pids[mid] == vm->pid) {
			*dropped = st->snap.drop_counts[mid];
			break;
		}
		if (st->snap.drop_pids[mid] < vm->pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*n = exit_table_range(&st->snap.live, vm->pid, &first);
	return *n ? &st->snap.live.v[first] : NULL;
}

uint64_t exits_vm_gen(const struct exits_state *st, const struct vm *vm)
{
	/* An exited VM's records are final. */
	if (vm->exited)
		return UINT64_MAX;
	if (!st->snap.gens_valid)
		return 0;
	return vm_gen_find(st->snap.gens, st->snap.n_gens, vm->pid);
}

/* ---- VM discovery and the event stream ---- */

static int on_vm_event(void *ctx, void *data, size_t len)
{
	struct exits_state *st = ctx;
	const struct kvmscope_vm_event *ev = data;
	char comm[17];

	if (len < sizeof(*ev))
		return 0;
	memcpy(comm, ev->comm, 16);
	comm[16] = '\0';
	manager_vm_note_at(st->m, ev->tgid, comm, ev->ts_ns);
	return 0;
}

static int on_exit_event(void *ctx, void *data, size_t len)
{
	struct exits_state *st = ctx;
	const struct kvmscope_exit_event *ev = data;
	struct events_exit e;

	if (len < sizeof(*ev))
		return 0;
	e = (struct events_exit){ .ts_ns = ev->ts_ns, .pid = ev->tgid, .tid = ev->tid,
				  .vcpu = ev->vcpu, .isa = ev->isa, .reason = ev->reason,
				  .hardware = ev->hardware };
	events_hub_exit(manager_events(st->m), &e);
	return 0;
}

/* What the kernel put on the exit ring and could not, for events.stats. */
static void report_stream_counts(struct exits_state *st)
{
	uint32_t d = KVMSCOPE_DROP_STREAM_FULL, zero = 0;
	uint64_t submitted = 0, dropped = 0;

	exits_kmod_stream_counts(st, &submitted, &dropped);
	events_hub_kernel_ring(manager_events(st->m),
			       submitted + exits_percpu_sum(st, bpf_map__fd(st->skel->maps.stream_submitted), &zero),
			       dropped + exits_percpu_sum(st, bpf_map__fd(st->skel->maps.exit_drops), &d));
}

static int on_stream_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct exits_state *st = userdata;

	consume_rings(st);
	report_stream_counts(st);
	sd_event_source_set_time(s, usec + STREAM_DRAIN_USEC);
	return 0;
}

/*
 * Make the kernel's stream_pids hold exactly @pids (sorted, distinct):
 * one update per pid added and one delete per pid dropped, never a walk
 * of the map.
 */
static void stream_pids_set(struct exits_state *st, const uint32_t *pids, size_t n)
{
	int fd = bpf_map__fd(st->skel->maps.stream_pids);
	size_t i = 0, j = 0;
	uint8_t one = 1;

	while (i < st->n_stream_pids || j < n) {
		if (j == n || (i < st->n_stream_pids && st->stream_pids[i] < pids[j])) {
			bpf_map_delete_elem(fd, &st->stream_pids[i++]);
		} else if (i == st->n_stream_pids || pids[j] < st->stream_pids[i]) {
			if (bpf_map_update_elem(fd, &pids[j], &one, BPF_ANY) < 0)
				log_warning("exits: cannot stream the exits of pid %u: %s", pids[j],
					    strerror(errno));
			j++;
		} else {
			i++;
			j++;
		}
	}
	if (n)	/* pids is NULL when nothing streams */
		memcpy(st->stream_pids, pids, n * sizeof(*pids));
	st->n_stream_pids = n;
}

/* Nothing streams: also what a previous daemon's pinned state may have left on. */
static void stream_reset(struct exits_state *st)
{
	int fd = bpf_map__fd(st->skel->maps.stream_pids);
	uint32_t k;

	st->skel->bss->stream_enabled = 0;
	st->skel->bss->stream_all_pids = 0;
	exits_kmod_stream_set(st, NULL);
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		if (bpf_map_delete_elem(fd, &k) < 0)
			break;
	st->n_stream_pids = 0;
}

/*
 * Stream the exits @f selects.  Widening adds to the kernel's filter
 * before it narrows, so a subscriber never misses its own pid's exits
 * while another subscription comes or goes.
 */
static void exits_stream_filter(void *state, const char *topic, const struct stream_filter *f)
{
	struct exits_state *st = state;
	sd_event *event = manager_event(st->m);
	uint64_t now;

	if (!st->loaded || !st->rb)
		return;
	exits_kmod_stream_set(st, f);
	if (f->mode == STREAM_OFF) {
		st->skel->bss->stream_enabled = 0;
		/* The last records, and their count, before the timer stops. */
		if (st->stream_timer) {
			consume_rings(st);
			report_stream_counts(st);
		}
		st->stream_timer = sd_event_source_disable_unref(st->stream_timer);
		st->skel->bss->stream_all_pids = 0;
		stream_pids_set(st, NULL, 0);
		return;
	}
	if (f->mode == STREAM_ALL_PIDS) {
		st->skel->bss->stream_all_pids = 1;
		stream_pids_set(st, NULL, 0);
	} else {
		stream_pids_set(st, f->pids, f->n_pids);
		st->skel->bss->stream_all_pids = 0;
	}
	st->skel->bss->stream_enabled = 1;
	if (st->stream_timer)
		return;
	sd_event_now(event, CLOCK_MONOTONIC, &now);
	if (sd_event_add_time(event, &st->stream_timer, CLOCK_MONOTONIC, now + STREAM_DRAIN_USEC,
			      1000, on_stream_timer, st) < 0) {
		log_warning("exits: cannot start the event stream timer");
		st->skel->bss->stream_enabled = 0;
		return;
	}
	sd_event_source_set_enabled(st->stream_timer, SD_EVENT_ON);
}

static int on_ringbuf(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct exits_state *st = userdata;

	consume_rings(st);
	return 0;
}

int exits_ringbuf_open(struct exits_state *st)
{
	int r;

	stream_reset(st);
	st->rb = ring_buffer__new(bpf_map__fd(st->skel->maps.vm_events), on_vm_event, st, NULL);
	if (st->rb && ring_buffer__add(st->rb, bpf_map__fd(st->skel->maps.exit_stream), on_exit_event,
				       st) < 0)
		log_warning("exits: cannot read the exit stream; events.subscribe gets VM events only");
	if (!st->rb)
		return -errno;
	r = sd_event_add_io(manager_event(st->m), &st->rb_source, ring_buffer__epoll_fd(st->rb),
			    EPOLLIN, on_ringbuf, st);
	if (r < 0)
		log_warning_errno(r, "exits: VM start events will be noticed by polling: %m");
	return 0;
}

static void snapshot_free(struct exits_snapshot *s)
{
	exit_table_free(&s->live);
	free(s->drop_pids);
	free(s->drop_counts);
	free(s->gens);
	memset(s, 0, sizeof(*s));
}

void exits_state_release(struct exits_state *st)
{
	sd_event_source_disable_unref(st->flush_source);
	sd_event_source_disable_unref(st->stream_timer);
	sd_event_source_disable_unref(st->rb_source);
	ring_buffer__free(st->rb);
	snapshot_free(&st->snap);
	exits_view_forget(st, 0);
	free(st->texts);
	exit_table_free(&st->spare);
	exit_table_free(&st->fold_scratch);
	exit_table_free(&st->flush_table);
	free(st->batch_keys);
	free(st->batch_values);
	for (size_t i = 0; i < st->n_exited; i++) {
		exit_table_free(&st->exited[i].t);
		json_decref(st->exited[i].kvm_stats);
	}
	free(st->exited);
	free(st->pending_exits);
	for (size_t i = 0; i < st->n_kvm_stats; i++)
		json_decref(st->kvm_stats[i].stats);
	free(st->kvm_stats);
}

/* A process in vms_seen the registry does not follow yet (the ring was full, or it ran before us). */
static int note_seen(struct exits_state *st, const void *key, const void *value, void *ctx)
{
	const struct kvmscope_vm_seen *seen = value;
	uint32_t pid = *(const uint32_t *)key;
	char comm[17];

	if (manager_vm_find_live(st->m, pid))
		return 0;
	memcpy(comm, seen->comm, 16);
	comm[16] = '\0';
	manager_vm_note_at(st->m, pid, comm[0] ? comm : NULL, seen->first_seen_ns);
	return 0;
}

/*
 * The tick: read every map once into a new snapshot, with rates against
 * the previous one, and make sure every process the maps mention is in
 * the registry (the ring buffer may have been full, or the VM ran before
 * we attached).
 */
static void exits_collect(void *state)
{
	struct exits_state *st = state;
	struct exits_snapshot next = { 0 };
	struct exit_table old;
	uint64_t now;

	if (!st->loaded)
		return;
	exits_bpf_cost_read(st);
	consume_rings(st);
	exits_flush_exited(st);
	now = monotonic_usec();
	/* Into the array the snapshot before last used: no allocation per tick. */
	next.live = st->spare;
	exit_table_clear(&next.live);
	memset(&st->spare, 0, sizeof(st->spare));
	if (exits_read_all(st, &next.live) < 0) {
		log_error("exits: cannot read the exit maps; keeping the previous snapshot");
		st->spare = next.live;
		exit_table_clear(&st->spare);
		return;
	}
	exits_read_drops(st, &next);
	next.taken_usec = now;
	next.interval_s = st->snap.taken_usec ? (double)(now - st->snap.taken_usec) / 1e6 : 0;
	exit_table_rates(&next.live, &st->snap.live, next.interval_s);
	next.gens_valid = exit_table_generations(&next.live, &st->snap.live, st->snap.gens,
						 st->snap.n_gens, &next.gens, &next.n_gens,
						 &st->gen_counter) == 0;
	old = st->snap.live;
	memset(&st->snap.live, 0, sizeof(st->snap.live));
	snapshot_free(&st->snap);
	st->snap = next;
	st->spare = old;
	exit_table_clear(&st->spare);

	for (size_t i = 0; i < st->snap.live.n; i++) {
		const struct exit_record *r = &st->snap.live.v[i];

		if (r->kind == EXIT_KIND_HW)
			st->isas_seen |= 1u << (r->isa & 31);
		/* One registry lookup per process, not per record. */
		if (i && st->snap.live.v[i - 1].pid == r->pid)
			continue;
		if (!manager_vm_find_live(st->m, r->pid))
			manager_vm_note(st->m, r->pid, NULL);
	}
	if (exits_map_walk(st, st->skel->maps.vms_seen, note_seen, NULL) < 0)
		log_warning("exits: cannot read vms_seen; VMs are found from their exits only");
	kvm_stats_tick(st);
	/* Noting may have found processes gone. */
	exits_flush_exited(st);
}

/* --driver kmod: without the module the daemon does not start. */
static bool exits_required(void *state)
{
	return manager_options(((struct exits_state *)state)->m)->driver == DRIVER_KMOD;
}

const struct capability_ops exits_capability = {
	.name = "exits",
	.probe = exits_probe,
	.attach = exits_attach,
	.collect = exits_collect,
	.describe = exits_describe,
	.metrics = exits_metrics,
	.bpf_cost = exits_bpf_cost,
	.vm_exited = exits_vm_exited,
	.vm_forget = exits_vm_forget,
	.free = exits_free,
	.required = exits_required,
	.topics = (const char *const[]){ "exit", NULL },
	.stream_filter = exits_stream_filter,
	.methods = exits_methods,
};
