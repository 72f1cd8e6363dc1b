// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exits counted by kvmscope.ko instead of BPF (--driver kmod, or auto
 * where BPF cannot attach): the module attaches to kvm_exit, kvm_entry,
 * kvm_userspace_exit and kvm_pio with the kernel's tracepoint probe API
 * and keeps the BPF programs' counter slots, which this maps read-only
 * from /dev/kvmscope and reads with the BPF slots' reader (read.c).  The
 * other tracepoints (MMIO, MSR, CPUID, hypercalls, VMGEXIT) and the exit
 * stream stay BPF's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exits/exits.h"
#include "kmod/kmod.h"
#include "kvmscope/kmod.h"
#include "log.h"
#include "manager.h"
#include "options.h"

/* The exits probes the module serves, as its probe bits. */
static const struct {
	unsigned int probe;		/* PROBE_* */
	unsigned int bit;		/* enum kvmscope_kexits_probe */
} served[] = {
	{ PROBE_KVM_EXIT, KVMSCOPE_KPROBE_KVM_EXIT },
	{ PROBE_KVM_ENTRY, KVMSCOPE_KPROBE_KVM_ENTRY },
	{ PROBE_USERSPACE_EXIT, KVMSCOPE_KPROBE_USERSPACE_EXIT },
	{ PROBE_PIO, KVMSCOPE_KPROBE_PIO },
};

#define N_SERVED (sizeof(served) / sizeof(served[0]))

/* Fallback table entries per slot: room for each thread's errors and odd reasons. */
#define KMOD_FALLBACK_PER_SLOT 4

static const char *driver_name(enum exits_driver d)
{
	return d == DRIVER_BPF ? "bpf" : d == DRIVER_KMOD ? "kmod" : "auto";
}

/* After each choice of programs: the probes the module serves are not BPF's. */
void exits_kmod_mark(struct exits_state *st)
{
	for (size_t i = 0; i < N_SERVED; i++) {
		struct exits_probe *p = &st->probes[served[i].probe];

		if (!(st->kmod_probes & (1u << served[i].bit)))
			continue;
		p->kmod = true;
		p->available = true;
		p->use_btf = false;
		p->not_needed = false;
		p->reason[0] = '\0';
		snprintf(p->name, sizeof(p->name), "kmod/%s", p->event);
	}
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t p = 16;

	while (p < v && p < KVMSCOPE_KEXITS_MAX_FALLBACK)
		p <<= 1;
	return p;
}

/*
 * Which probes the module is to serve: all it can with --driver kmod;
 * with auto, all of them when BPF cannot attach one (an exit and its
 * entry must be timed by the same driver), else none.
 */
static uint32_t wanted_probes(const struct exits_state *st, enum exits_driver d, char *why,
			      size_t len)
{
	uint32_t bits = 0, missing = 0;

	for (size_t i = 0; i < N_SERVED; i++) {
		const struct exits_probe *p = &st->probes[served[i].probe];

		if (p->not_needed)
			continue;	/* --collect switched it off */
		bits |= 1u << served[i].bit;
		if (!p->available)
			missing |= 1u << served[i].bit;
	}
	if (d == DRIVER_KMOD)
		return bits;
	if (!missing) {
		snprintf(why, len, "BPF attaches every probe the module could serve");
		return 0;
	}
	return bits;
}

void exits_kmod_start(struct exits_state *st)
{
	const struct daemon_options *o = manager_options(st->m);
	struct kvmscope_kexits_start req = { 0 };
	const struct kvmscope_kexits_header *hdr;
	char why[400] = "";
	void *map;
	int fd;

	st->kmod_fd = -1;
	if (o->driver == DRIVER_BPF) {
		snprintf(st->kmod_note, sizeof(st->kmod_note), "not used: --driver bpf");
		return;
	}
	req.probes = wanted_probes(st, o->driver, why, sizeof(why));
	if (!req.probes) {
		snprintf(st->kmod_note, sizeof(st->kmod_note), "not used: %s",
			 why[0] ? why : "--collect switched every probe it serves off");
		st->kmod_fatal = o->driver == DRIVER_KMOD && !why[0];
		return;
	}
	fd = kmod_acquire(st->m, KVMSCOPE_FEATURE_EXITS, "exits", why, sizeof(why));
	if (fd < 0) {
		snprintf(st->kmod_note, sizeof(st->kmod_note), "unavailable: %s", why);
		st->kmod_fatal = o->driver == DRIVER_KMOD;
		return;
	}
	if (o->collect & COLLECT_LATENCY)
		req.flags |= KVMSCOPE_KEXITS_LATENCY;
	if ((o->collect & COLLECT_VMM) || !exits_hw_counted(st))
		req.flags |= KVMSCOPE_KEXITS_USER;
	if (o->collect & COLLECT_VMM)
		req.flags |= KVMSCOPE_KEXITS_VMM;
	if (o->collect & COLLECT_BACKDOOR)
		req.flags |= KVMSCOPE_KEXITS_BACKDOOR;
	req.n_slots = o->max_threads ? o->max_threads : 1;
	if (req.n_slots > KVMSCOPE_KEXITS_MAX_SLOTS)
		req.n_slots = KVMSCOPE_KEXITS_MAX_SLOTS;
	req.n_fallback = round_pow2(req.n_slots * KMOD_FALLBACK_PER_SLOT);
	if (ioctl(fd, KVMSCOPE_IOC_EXITS_START, &req) < 0) {
		snprintf(st->kmod_note, sizeof(st->kmod_note),
			 errno == EBUSY ? "unavailable: another process (a second kvmscoped?) counts exits with kvmscope.ko"
					: "unavailable: kvmscope.ko refused to start counting: %s",
			 strerror(errno));
		st->kmod_fatal = o->driver == DRIVER_KMOD;
		return;
	}
	/* The header says how long the whole area is. */
	map = mmap(NULL, sizeof(*hdr), PROT_READ, MAP_SHARED, fd, 0);
	if (map != MAP_FAILED) {
		size_t len = ((const struct kvmscope_kexits_header *)map)->length;

		munmap(map, sizeof(*hdr));
		map = len >= sizeof(*hdr) ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
		st->kmod_map_len = len;
	}
	if (map == MAP_FAILED) {
		snprintf(st->kmod_note, sizeof(st->kmod_note),
			 "unavailable: cannot map kvmscope.ko's counters: %s", strerror(errno));
		ioctl(fd, KVMSCOPE_IOC_EXITS_STOP);
		st->kmod_fatal = o->driver == DRIVER_KMOD;
		return;
	}
	hdr = map;
	if (hdr->slot_size != sizeof(struct kvmscope_slot) || hdr->n_slots != req.n_slots ||
	    hdr->slots_offset + (uint64_t)hdr->n_slots * hdr->slot_size > st->kmod_map_len ||
	    hdr->fallback_offset + (uint64_t)hdr->n_fallback *
		    sizeof(struct kvmscope_kexits_fallback) > st->kmod_map_len ||
	    !hdr->stream_entries || (hdr->stream_entries & (hdr->stream_entries - 1)) ||
	    hdr->stream_offset + (uint64_t)hdr->stream_entries *
		    sizeof(struct kvmscope_exit_event) > st->kmod_map_len) {
		snprintf(st->kmod_note, sizeof(st->kmod_note),
			 "unavailable: kvmscope.ko's counter area does not have the layout asked for");
		munmap(map, st->kmod_map_len);
		ioctl(fd, KVMSCOPE_IOC_EXITS_STOP);
		st->kmod_fatal = o->driver == DRIVER_KMOD;
		return;
	}
	st->kmod_hdr = hdr;
	st->kmod_fd = fd;
	st->kmod_probes = req.probes;
	snprintf(st->kmod_note, sizeof(st->kmod_note), "%s: %u slots, %u fallback entries",
		 o->driver == DRIVER_KMOD ? "--driver kmod" : "BPF cannot attach every exit probe",
		 hdr->n_slots, hdr->n_fallback);
	log_notice("exits: kvmscope.ko counts kvm_exit, kvm_entry, kvm_userspace_exit and kvm_pio (%s)",
		   st->kmod_note);
	exits_kmod_mark(st);
}

/* What did not fit a slot, as the BPF hash maps' records. */
int exits_kmod_read_fallback(struct exits_state *st, struct exit_table *t)
{
	const struct kvmscope_kexits_header *h = st->kmod_hdr;
	const struct kvmscope_kexits_fallback *fb;
	int r = 0;

	if (!h)
		return 0;
	fb = (const void *)((const char *)h + h->fallback_offset);
	for (uint32_t i = 0; i < h->n_fallback && r >= 0; i++) {
		const volatile struct kvmscope_kexits_fallback *e = &fb[i];
		uint32_t kind = __atomic_load_n(&fb[i].kind, __ATOMIC_ACQUIRE);
		struct exit_record rec = { .pid = e->tgid, .vcpu = e->vcpu, .count = e->count };

		switch (kind) {
		case KVMSCOPE_KFB_HW:
			rec.kind = EXIT_KIND_HW;
			rec.isa = e->a;
			rec.reason = (uint32_t)e->b;
			break;
		case KVMSCOPE_KFB_USER:
			rec.kind = EXIT_KIND_USER;
			rec.reason = (uint32_t)e->b;
			break;
		case KVMSCOPE_KFB_PIO:
			rec.kind = EXIT_KIND_PIO;
			rec.port = (uint16_t)e->a;
			rec.direction = (uint8_t)(e->a >> 16);
			rec.size = (uint8_t)(e->a >> 24);
			break;
		case KVMSCOPE_KFB_DETAIL:
			rec.kind = EXIT_KIND_DETAIL;
			rec.vcpu = 0;
			rec.reason = e->a & 0xff;
			rec.direction = (uint8_t)(e->a >> 8);
			rec.id = e->b;
			break;
		default:
			continue;
		}
		if (rec.count)
			r = exit_table_push(t, &rec);
	}
	return r;
}

void exits_kmod_free_pids(struct exits_state *st, const uint32_t *pids, size_t n)
{
	if (!st->kmod_hdr)
		return;
	for (size_t i = 0; i < n; i++)
		if (ioctl(st->kmod_fd, KVMSCOPE_IOC_EXITS_FREE, &pids[i]) < 0)
			log_warning("exits: kvmscope.ko cannot free the counters of pid %u: %s", pids[i],
				    strerror(errno));
}

void exits_kmod_close(struct exits_state *st)
{
	if (!st->kmod_hdr)
		return;
	munmap((void *)st->kmod_hdr, st->kmod_map_len);
	st->kmod_hdr = NULL;
	if (ioctl(st->kmod_fd, KVMSCOPE_IOC_EXITS_STOP) < 0)
		log_warning("exits: kvmscope.ko did not stop counting: %s", strerror(errno));
	free(st->kmod_slot_refs);
	st->kmod_slot_refs = NULL;
}

void exits_kmod_stream_set(struct exits_state *st, const struct stream_filter *f)
{
	struct kvmscope_kexits_stream req = { .mode = KVMSCOPE_KSTREAM_OFF };

	if (!st->kmod_hdr)
		return;
	if (f && f->mode == STREAM_ALL_PIDS) {
		req.mode = KVMSCOPE_KSTREAM_ALL;
	} else if (f && f->mode == STREAM_PIDS) {
		req.mode = KVMSCOPE_KSTREAM_PIDS;
		req.n_pids = (uint32_t)(f->n_pids < KVMSCOPE_STREAM_MAX_PIDS ? f->n_pids
									   : KVMSCOPE_STREAM_MAX_PIDS);
		memcpy(req.pids, f->pids, req.n_pids * sizeof(req.pids[0]));
	}
	if (ioctl(st->kmod_fd, KVMSCOPE_IOC_EXITS_STREAM, &req) < 0)
		log_warning("exits: kvmscope.ko cannot set the exit stream's filter: %s",
			    strerror(errno));
}

/* Hand each event the module streamed to @fn, then tell it they were read. */
void exits_kmod_drain(struct exits_state *st, int (*fn)(void *ctx, void *data, size_t len), void *ctx)
{
	const struct kvmscope_kexits_header *h = st->kmod_hdr;
	const struct kvmscope_exit_event *ring;
	uint64_t head, tail = st->kmod_stream_tail;
	uint32_t mask;

	if (!h)
		return;
	head = __atomic_load_n(&h->stream_head, __ATOMIC_ACQUIRE);
	if (head == tail)
		return;
	ring = (const void *)((const char *)h + h->stream_offset);
	mask = h->stream_entries - 1;
	for (; tail != head; tail++) {
		struct kvmscope_exit_event ev = ring[tail & mask];

		fn(ctx, &ev, sizeof(ev));
	}
	st->kmod_stream_tail = tail;
	if (ioctl(st->kmod_fd, KVMSCOPE_IOC_EXITS_CONSUMED, &tail) < 0)
		log_warning("exits: kvmscope.ko refused the stream position %llu: %s",
			    (unsigned long long)tail, strerror(errno));
}

void exits_kmod_stream_counts(const struct exits_state *st, uint64_t *submitted, uint64_t *dropped)
{
	const struct kvmscope_kexits_header *h = st->kmod_hdr;

	if (!h)
		return;
	*submitted = __atomic_load_n(&h->stream_submitted, __ATOMIC_RELAXED);
	*dropped = __atomic_load_n(&h->drops[KVMSCOPE_DROP_STREAM_FULL], __ATOMIC_RELAXED);
}

/* Is probe @i served by the module and attached there now (kvm.ko loaded)? */
static bool kmod_attached(const struct exits_state *st, unsigned int bit)
{
	return st->kmod_hdr && (__atomic_load_n(&st->kmod_hdr->probes, __ATOMIC_RELAXED) & (1u << bit));
}

/* The driver part of status; also refreshes the module's probes' attached state. */
json_t *exits_kmod_describe(struct exits_state *st)
{
	json_t *serves = json_array(), *events = json_object();

	for (size_t i = 0; i < N_SERVED; i++) {
		struct exits_probe *p = &st->probes[served[i].probe];

		if (!p->kmod)
			continue;
		p->attached = kmod_attached(st, served[i].bit);
		if (!p->attached)
			snprintf(p->reason, sizeof(p->reason),
				 "kvmscope.ko attaches when kvm.ko is loaded");
		json_array_append_new(serves, json_string(p->event));
		json_object_set_new(events, p->event,
				    json_integer((json_int_t)st->kmod_hdr->events[served[i].bit]));
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "requested",
			 driver_name(manager_options(st->m)->driver), "kmod", st->kmod_note,
			 "kmod_serves", serves, "kmod_events", events);
}
