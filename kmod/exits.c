// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exits without BPF: KVM's tracepoints (kvm_exit, kvm_entry,
 * kvm_userspace_exit, kvm_pio) through the kernel's tracepoint probe API,
 * counted into the same per-thread slots as bpf/exits.bpf.c (struct
 * kvmscope_slot in include/kvmscope/exits.h), which the daemon maps
 * read-only from /dev/kvmscope and reads with the code that reads the
 * BPF map.  What a slot cannot hold goes to a bounded fallback table, as
 * the BPF programs' goes to their hash maps.
 *
 * The tracepoints live in kvm.ko and only kvm_exit and kvm_entry are
 * exported, so every one is found by name in the module's tracepoint
 * table through the tracepoint module notifier: it also attaches when
 * kvm.ko loads after a run began, and detaches when kvm.ko goes.
 *
 * Each open device may run its own count (a daemon, and a second one a
 * test starts beside it, as each loads its own BPF programs): up to
 * KEXITS_MAX_RUNS runs, each with its own memory, switches and stream
 * filter, all fed by one registration of each tracepoint.  A run belongs
 * to the file that started it and ends when that file is closed.
 *
 * A slot is written only by its thread, from the probes that thread
 * runs, with plain stores, as in BPF; a reader may miss an increment in
 * progress, never see a counter bit without its counter.  Slot taking,
 * the thread index, the fallback table and the stream are under the
 * run's raw spinlock, taken at a thread's first event and for what does
 * not fit a slot.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/kref.h>
#include <linux/kvm_host.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <asm/svm.h>
#include <asm/vmx.h>

#include "kvmscope.h"

/*
 * SVM keeps the exit code in the VMCB, which struct vcpu_svm (private to
 * kvm_amd) points at right after its struct kvm_vcpu: "vmcb always points
 * at current_vmcb->ptr" on every kernel from 5.13 to 7.2.  This is what
 * svm_get_exit_info() reads for the tracepoint's record.
 */
struct kvmscope_svm_head {
	struct kvm_vcpu vcpu;
	struct vmcb *vmcb;
};

#define KEXITS_MAX_RUNS 4

/* One run: its memory, mapped by its daemon, freed after the last unmap. */
struct kexits_area {
	struct kref ref;
	void *mem;			/* vmalloc_user: header, slots, fallback table, stream */
	size_t len;
	struct kvmscope_kexits_header *hdr;
	struct kvmscope_slot *slots;
	struct kvmscope_kexits_fallback *fb;
	/* Private: the vCPU each slot counts for, and tid -> slot + 1. */
	struct kvm_vcpu **slot_vcpu;
	u32 *index;
	u32 index_mask;
	u32 fb_mask;
	u32 next_free;			/* where the search for a free slot starts */
	struct kvmscope_exit_event *ring;	/* the exit stream */
	u64 ring_tail;			/* what the daemon has read */
	struct file *owner;		/* the open device that started the run */
	u32 probes, flags;		/* as asked at start */
	raw_spinlock_t lock;		/* slots taken, index, fallback table, stream */
	/* The stream's filter, under lock; stream_mode also read without it first. */
	u32 stream_mode;
	u32 stream_n_pids;
	u32 stream_pids[KVMSCOPE_STREAM_MAX_PIDS];
};

static DEFINE_MUTEX(kexits_mutex);	/* runs[], the tracepoints, the notifier */
static struct kexits_area *runs[KEXITS_MAX_RUNS];	/* read by the probes */
static unsigned int n_runs;
static bool notifier_on;

static struct {
	const char *name;
	void *probe;
	struct tracepoint *tp;		/* registered on it, NULL if not */
} kprobes[KVMSCOPE_KPROBES];

/* Each run that wants probe @bit. */
#define for_each_run(a, bit) \
	for (unsigned int r_ = 0; r_ < KEXITS_MAX_RUNS; r_++) \
		if (((a) = READ_ONCE(runs[r_])) && ((a)->probes & (1u << (bit))))

static void area_free(struct kref *ref)
{
	struct kexits_area *a = container_of(ref, struct kexits_area, ref);

	vfree(a->mem);
	vfree(a->slot_vcpu);
	vfree(a->index);
	kfree(a);
}

static inline void hdr_inc(__u64 *counter)
{
	atomic64_inc((atomic64_t *)counter);
}

static u32 log2_bucket(u64 ns)
{
	u32 b = ns ? ilog2(ns) : 0;

	return b < KVMSCOPE_HIST_SLOTS ? b : KVMSCOPE_HIST_SLOTS - 1;
}

/* ---- the fallback table ---- */

static u32 fb_hash(u32 kind, u32 tgid, u32 vcpu, u32 a, u64 b)
{
	u64 h = hash_64(((u64)kind << 32 | tgid) ^ b, 64);

	return (u32)hash_64(h ^ ((u64)vcpu << 32 | a), 32);
}

/* One more for the key, or a drop of @drop when the table is full. */
static void fb_count(struct kexits_area *a, u32 kind, u32 tgid, u32 vcpu, u32 x, u64 y, u32 drop)
{
	struct kvmscope_kexits_fallback *e;
	unsigned long flags;
	u32 h = fb_hash(kind, tgid, vcpu, x, y);

	raw_spin_lock_irqsave(&a->lock, flags);
	for (u32 i = 0; i <= a->fb_mask; i++) {
		e = &a->fb[(h + i) & a->fb_mask];
		if (e->kind == KVMSCOPE_KFB_FREE) {
			e->tgid = tgid;
			e->vcpu = vcpu;
			e->a = x;
			e->b = y;
			e->count = 1;
			smp_store_release(&e->kind, kind);
			goto out;
		}
		if (e->kind == kind && e->tgid == tgid && e->vcpu == vcpu && e->a == x && e->b == y) {
			WRITE_ONCE(e->count, e->count + 1);
			goto out;
		}
	}
	hdr_inc(&a->hdr->drops[drop]);
out:
	raw_spin_unlock_irqrestore(&a->lock, flags);
}

/* ---- the exit stream ---- */

static bool stream_pid_wanted(struct kexits_area *a, u32 tgid)
{
	if (a->stream_mode == KVMSCOPE_KSTREAM_ALL)
		return true;
	for (u32 i = 0; i < a->stream_n_pids; i++)
		if (a->stream_pids[i] == tgid)
			return true;
	return false;
}

/* One exit on the stream, or a drop when the daemon has not read the ring. */
static void stream_exit(struct kexits_area *a, u32 vcpu, u32 isa, u32 reason, bool hardware,
			u64 now)
{
	struct kvmscope_exit_event *ev;
	u32 entries = a->hdr->stream_entries;
	unsigned long flags;
	u64 head;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->stream_mode || !stream_pid_wanted(a, current->tgid))
		goto out;
	head = a->hdr->stream_head;
	if (head - a->ring_tail >= entries) {
		hdr_inc(&a->hdr->drops[KVMSCOPE_DROP_STREAM_FULL]);
		goto out;
	}
	ev = &a->ring[head & (entries - 1)];
	ev->ts_ns = now;
	ev->tgid = current->tgid;
	ev->tid = current->pid;
	ev->vcpu = vcpu;
	ev->isa = isa;
	ev->reason = reason;
	ev->hardware = hardware;
	smp_store_release(&a->hdr->stream_head, head + 1);
	hdr_inc(&a->hdr->stream_submitted);
out:
	raw_spin_unlock_irqrestore(&a->lock, flags);
}

/* ---- which slot: the thread's, for its vCPU ---- */

static struct kvmscope_slot *slot_find(struct kexits_area *a, u32 tid, u32 tgid,
				       struct kvm_vcpu *vcpu, u32 *stale)
{
	u32 h = hash_32(tid, 32) & a->index_mask;

	*stale = U32_MAX;
	for (u32 i = 0; i <= a->index_mask; i++, h = (h + 1) & a->index_mask) {
		u32 e = READ_ONCE(a->index[h]);
		struct kvmscope_slot *s;

		if (!e)
			return NULL;
		s = &a->slots[e - 1];
		if (READ_ONCE(s->tid) != tid || READ_ONCE(s->tgid) != tgid)
			continue;
		if (vcpu && READ_ONCE(a->slot_vcpu[e - 1]) != vcpu) {
			*stale = e - 1;		/* the thread ran another vCPU there */
			continue;
		}
		return s;
	}
	return NULL;
}

static void index_insert(struct kexits_area *a, u32 tid, u32 slot)
{
	u32 h = hash_32(tid, 32) & a->index_mask;

	while (READ_ONCE(a->index[h]))
		h = (h + 1) & a->index_mask;
	WRITE_ONCE(a->index[h], slot + 1);
}

/*
 * The current thread's slot for @vcpu (NULL: any of its own), taken at
 * its first event; NULL when none is free (@vcpu unknown: none is taken).
 */
static struct kvmscope_slot *slot_of_current(struct kexits_area *a, struct kvm_vcpu *vcpu)
{
	u32 tid = current->pid, tgid = current->tgid, stale, i;
	struct kvmscope_slot *s = slot_find(a, tid, tgid, vcpu, &stale);
	unsigned long flags;

	if (s || !vcpu)
		return s;
	raw_spin_lock_irqsave(&a->lock, flags);
	s = slot_find(a, tid, tgid, vcpu, &stale);
	if (s)
		goto out;
	/* The slot it left keeps its counts until its VM exits. */
	if (stale != U32_MAX)
		WRITE_ONCE(a->slots[stale].tid, 0);
	for (u32 n = 0; n < a->hdr->n_slots; n++) {
		i = (a->next_free + n) % a->hdr->n_slots;
		if (READ_ONCE(a->slots[i].tgid))
			continue;
		s = &a->slots[i];
		a->next_free = i + 1;
		a->slot_vcpu[i] = vcpu;
		s->tid = tid;
		s->vcpu = vcpu->vcpu_id;
		/* Set last: the daemon reads a slot whose tgid is set. */
		smp_store_release(&s->tgid, tgid);
		index_insert(a, tid, i);
		break;
	}
out:
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return s;
}

/* The vCPU the current thread last entered, from its slot. */
static struct kvm_vcpu *vcpu_of_slot(struct kexits_area *a, struct kvmscope_slot *s)
{
	return READ_ONCE(a->slot_vcpu[s - a->slots]);
}

/* ---- timing, as bpf/exits.bpf.c's inflight_*() ---- */

struct inflight {
	__u64 *ts;
	__u32 *index;
	__u64 *counts, *used;
	__u8 *line_of;
	__u32 *n_lines;
	struct kvmscope_slot_hist *hists;
	u32 n_reasons, max_lines;
};

static struct inflight hw_inflight(struct kvmscope_slot *s)
{
	return (struct inflight){ &s->exit_ts, &s->exit_index, s->hw, s->hw_used, s->hw_line,
				  &s->hw_lines, s->hw_hist, KVMSCOPE_SLOT_HW_REASONS,
				  KVMSCOPE_SLOT_HW_HISTS };
}

static struct inflight user_inflight(struct kvmscope_slot *s)
{
	return (struct inflight){ &s->user_ts, &s->user_index, s->user, s->user_used,
				  s->user_line, &s->user_lines, s->user_hist,
				  KVMSCOPE_SLOT_USER_REASONS, KVMSCOPE_SLOT_USER_HISTS };
}

static void inflight_count(struct inflight f)
{
	u32 i = *f.index;

	*f.ts = 0;
	if (i < f.n_reasons)
		kvmscope_counter_add(f.counts, f.used, i);
}

static struct kvmscope_slot_hist *slot_line(struct inflight f, u32 i)
{
	u32 l = f.line_of[i];

	if (l)
		return l <= f.max_lines ? &f.hists[l - 1] : NULL;
	l = *f.n_lines;
	if (l >= f.max_lines)
		return NULL;
	*f.n_lines = l + 1;
	f.hists[l].index = i + 1;
	/* The line names its reason before the reason names the line. */
	smp_wmb();
	f.line_of[i] = l + 1;
	return &f.hists[l];
}

static void inflight_end(struct kexits_area *a, struct inflight f, u64 now)
{
	u64 delta = now - *f.ts;
	struct kvmscope_slot_hist *line;
	u32 i = *f.index;

	*f.ts = 0;
	if (i >= f.n_reasons)
		return;
	line = slot_line(f, i);
	if (line) {
		kvmscope_counter_add(line->h.slots, &line->used, log2_bucket(delta));
		line->h.sum_ns += delta;
		if (delta > line->h.max_ns)
			line->h.max_ns = delta;
		return;
	}
	kvmscope_counter_add(f.counts, f.used, i);
	hdr_inc(&a->hdr->fallbacks[KVMSCOPE_FALLBACK_HIST]);
}

/* ---- the probes ---- */

static u32 svm_exit_code(struct kvm_vcpu *vcpu)
{
	struct vmcb *vmcb = container_of(vcpu, struct kvmscope_svm_head, vcpu)->vmcb;

	return vmcb ? (u32)READ_ONCE(vmcb->control.exit_code) : U32_MAX;
}

/* VMX: the exit reason of the VMCS loaded on this CPU, which KVM just left. */
static bool vmx_exit_reason(u32 *reason)
{
	unsigned long value = 0;
	bool failed;

	asm volatile("vmread %[field], %[value]\n\t"
		     "setna %[failed]"
		     : [value] "=r"(value), [failed] "=qm"(failed)
		     : [field] "r"((unsigned long)VM_EXIT_REASON)
		     : "cc");
	*reason = (u32)value;
	return !failed;
}

static void on_kvm_exit(struct kexits_area *a, struct kvm_vcpu *vcpu, u32 isa, u32 reason)
{
	struct kvmscope_slot *s;
	u64 now = 0;
	u32 i;

	hdr_inc(&a->hdr->events[KVMSCOPE_KPROBE_KVM_EXIT]);
	if ((a->flags & KVMSCOPE_KEXITS_LATENCY) || READ_ONCE(a->stream_mode))
		now = ktime_get_mono_fast_ns();
	s = slot_of_current(a, vcpu);
	if (READ_ONCE(a->stream_mode))
		stream_exit(a, s ? s->vcpu : vcpu->vcpu_id, isa, reason, true, now);
	if (!s) {
		hdr_inc(&a->hdr->fallbacks[KVMSCOPE_FALLBACK_NO_SLOT]);
		fb_count(a, KVMSCOPE_KFB_HW, current->tgid, vcpu->vcpu_id, isa, reason,
			 KVMSCOPE_DROP_HW_MAP_FULL);
		return;
	}
	s->isa = isa;
	if ((a->flags & KVMSCOPE_KEXITS_LATENCY) && s->exit_ts)
		inflight_count(hw_inflight(s));
	i = kvmscope_hw_index(isa, reason);
	if (i >= KVMSCOPE_SLOT_HW_REASONS) {
		hdr_inc(&a->hdr->fallbacks[KVMSCOPE_FALLBACK_REASON]);
		fb_count(a, KVMSCOPE_KFB_HW, current->tgid, s->vcpu, isa, reason,
			 KVMSCOPE_DROP_HW_MAP_FULL);
		return;
	}
	if (!(a->flags & KVMSCOPE_KEXITS_LATENCY)) {
		kvmscope_counter_add(s->hw, s->hw_used, i);
		return;
	}
	s->exit_index = i;
	smp_wmb();
	s->exit_ts = now;
}

static void probe_kvm_exit(void *data, struct kvm_vcpu *vcpu, u32 isa)
{
	struct kexits_area *a;
	bool readable = true;
	u32 reason = 0;

	if (!vcpu)
		return;
	if (isa == KVMSCOPE_ISA_SVM) {
		reason = svm_exit_code(vcpu);
	} else if (isa == KVMSCOPE_ISA_VMX && vmx_exit_reason(&reason)) {
		/* Keep the basic reason and the failed-VM-entry bit only. */
		reason &= 0x8000ffffu;
	} else {
		readable = false;
	}
	for_each_run(a, KVMSCOPE_KPROBE_KVM_EXIT) {
		if (readable)
			on_kvm_exit(a, vcpu, isa, reason);
		else
			hdr_inc(&a->hdr->drops[KVMSCOPE_DROP_UNREADABLE]);
	}
}

/* Back in the guest: end what is in flight on the thread's slot. */
static void on_kvm_entry(struct kexits_area *a, struct kvm_vcpu *vcpu)
{
	struct kvmscope_slot *s;
	u64 now;

	hdr_inc(&a->hdr->events[KVMSCOPE_KPROBE_KVM_ENTRY]);
	/* The thread's first entry takes its slot: later events find it. */
	s = slot_of_current(a, vcpu);
	if (!s || !(s->exit_ts | s->user_ts))
		return;
	now = ktime_get_mono_fast_ns();
	if (s->user_ts)
		inflight_end(a, user_inflight(s), now);
	if (s->exit_ts)
		inflight_end(a, hw_inflight(s), now);
}

static void probe_kvm_entry(void *data, struct kvm_vcpu *vcpu, bool force_immediate_exit)
{
	struct kexits_area *a;

	if (!vcpu)
		return;
	for_each_run(a, KVMSCOPE_KPROBE_KVM_ENTRY)
		on_kvm_entry(a, vcpu);
}

/*
 * A VMware backdoor call reaches user space as KVM_EXIT_IO on port 0x5658
 * or 0x5659; its command is in ECX, read now, before the VMM rewrites the
 * registers (QEMU's vmport does).
 */
static void count_backdoor(struct kexits_area *a, struct kvm_vcpu *vcpu)
{
	u16 port = READ_ONCE(vcpu->run->io.port);
	u32 rax;

	if (port != KVMSCOPE_VMWARE_PORT && port != KVMSCOPE_VMWARE_PORT_HB)
		return;
	rax = (u32)READ_ONCE(vcpu->arch.regs[VCPU_REGS_RAX]);
	if (rax == KVMSCOPE_VMWARE_MAGIC)
		fb_count(a, KVMSCOPE_KFB_DETAIL, current->tgid, 0,
			 KVMSCOPE_DETAIL_BACKDOOR | (port == KVMSCOPE_VMWARE_PORT_HB) << 8,
			 READ_ONCE(vcpu->arch.regs[VCPU_REGS_RCX]) & 0xffff,
			 KVMSCOPE_DROP_DETAIL_MAP_FULL);
	else
		fb_count(a, KVMSCOPE_KFB_DETAIL, current->tgid, 0,
			 KVMSCOPE_DETAIL_BACKDOOR_NOMAGIC | (port == KVMSCOPE_VMWARE_PORT_HB) << 8,
			 0, KVMSCOPE_DROP_DETAIL_MAP_FULL);
}

/*
 * KVM_RUN returned to the VMM: @err is what it returns.  A failed call
 * (-EINTR, ...) carries the stale reason of the exit before: it is
 * counted apart under its errno, never timed, and it ends the VMM's time
 * of the exit before, which no kvm_entry will.
 */
static void on_userspace_exit(struct kexits_area *a, __u32 reason, int err)
{
	struct kvmscope_slot *s;
	u32 vcpu_id;
	u64 now = 0;

	hdr_inc(&a->hdr->events[KVMSCOPE_KPROBE_USERSPACE_EXIT]);
	s = slot_of_current(a, NULL);
	vcpu_id = s ? s->vcpu : KVMSCOPE_VCPU_UNKNOWN;
	if ((a->flags & KVMSCOPE_KEXITS_VMM) || READ_ONCE(a->stream_mode))
		now = ktime_get_mono_fast_ns();
	if (err < 0) {
		u32 error = KVMSCOPE_USER_ERROR_BASE | ((u32)-err & ~KVMSCOPE_USER_ERROR_BASE);

		if ((a->flags & KVMSCOPE_KEXITS_USER) && READ_ONCE(a->stream_mode))
			stream_exit(a, vcpu_id, 0, error, false, now);
		if (a->flags & KVMSCOPE_KEXITS_USER)
			fb_count(a, KVMSCOPE_KFB_USER, current->tgid, vcpu_id, 0,
				 error, KVMSCOPE_DROP_USER_MAP_FULL);
		if (s && s->user_ts)
			inflight_end(a, user_inflight(s), now);
		return;
	}
	if (a->flags & KVMSCOPE_KEXITS_USER) {
		if (READ_ONCE(a->stream_mode))
			stream_exit(a, vcpu_id, 0, reason, false, now);
		if (!s || reason >= KVMSCOPE_SLOT_USER_REASONS) {
			hdr_inc(&a->hdr->fallbacks[s ? KVMSCOPE_FALLBACK_REASON
						     : KVMSCOPE_FALLBACK_NO_SLOT]);
			if (s && s->user_ts)
				inflight_count(user_inflight(s));
			fb_count(a, KVMSCOPE_KFB_USER, current->tgid, vcpu_id, 0, reason,
				 KVMSCOPE_DROP_USER_MAP_FULL);
		} else if (!(a->flags & KVMSCOPE_KEXITS_VMM)) {
			kvmscope_counter_add(s->user, s->user_used, reason);
		} else {
			if (s->user_ts)
				inflight_count(user_inflight(s));
			s->user_index = reason;
			smp_wmb();
			s->user_ts = now;
		}
	}
	if (reason == KVMSCOPE_KVM_EXIT_IO && s && (a->flags & KVMSCOPE_KEXITS_BACKDOOR))
		count_backdoor(a, vcpu_of_slot(a, s));
}

static void probe_userspace_exit(void *data, __u32 reason, int err)
{
	struct kexits_area *a;

	for_each_run(a, KVMSCOPE_KPROBE_USERSPACE_EXIT)
		on_userspace_exit(a, reason, err);
}

static void on_pio(struct kexits_area *a, unsigned int rw, unsigned int port, unsigned int size)
{
	u8 dir = rw ? KVMSCOPE_PIO_OUT : KVMSCOPE_PIO_IN;
	struct kvmscope_slot_pio *e;
	struct kvmscope_slot *s;

	hdr_inc(&a->hdr->events[KVMSCOPE_KPROBE_PIO]);
	s = slot_of_current(a, NULL);
	if (!s) {
		hdr_inc(&a->hdr->fallbacks[KVMSCOPE_FALLBACK_NO_SLOT]);
		goto fallback;
	}
	e = &s->pio[kvmscope_pio_entry(port, dir)];
	if (!e->used) {
		e->port = (u16)port;
		e->direction = dir;
		e->size = (u8)size;
		smp_wmb();
		e->used = 1;
	} else if (e->port != (u16)port || e->direction != dir || e->size != (u8)size) {
		hdr_inc(&a->hdr->fallbacks[KVMSCOPE_FALLBACK_PIO]);
		goto fallback;
	}
	e->count += 1;
	return;
fallback:
	fb_count(a, KVMSCOPE_KFB_PIO, current->tgid, s ? s->vcpu : KVMSCOPE_VCPU_UNKNOWN,
		 (u16)port | (u32)dir << 16 | (u32)(u8)size << 24, 0, KVMSCOPE_DROP_PIO_MAP_FULL);
}

static void probe_pio(void *data, unsigned int rw, unsigned int port, unsigned int size,
		      unsigned int count, const void *values)
{
	struct kexits_area *a;

	for_each_run(a, KVMSCOPE_KPROBE_PIO)
		on_pio(a, rw, port, size);
}

/* ---- attaching to kvm.ko's tracepoints ---- */

static void kprobes_init(void)
{
	kprobes[KVMSCOPE_KPROBE_KVM_EXIT].name = "kvm_exit";
	kprobes[KVMSCOPE_KPROBE_KVM_EXIT].probe = probe_kvm_exit;
	kprobes[KVMSCOPE_KPROBE_KVM_ENTRY].name = "kvm_entry";
	kprobes[KVMSCOPE_KPROBE_KVM_ENTRY].probe = probe_kvm_entry;
	kprobes[KVMSCOPE_KPROBE_USERSPACE_EXIT].name = "kvm_userspace_exit";
	kprobes[KVMSCOPE_KPROBE_USERSPACE_EXIT].probe = probe_userspace_exit;
	kprobes[KVMSCOPE_KPROBE_PIO].name = "kvm_pio";
	kprobes[KVMSCOPE_KPROBE_PIO].probe = probe_pio;
}

static void set_attached_bits(void)
{
	u32 bits = 0;

	for (int k = 0; k < KVMSCOPE_KPROBES; k++)
		if (kprobes[k].tp)
			bits |= 1u << k;
	for (unsigned int r = 0; r < KEXITS_MAX_RUNS; r++)
		if (runs[r])
			WRITE_ONCE(runs[r]->hdr->probes, bits & runs[r]->probes);
}

/* Called with tracepoint_module_list_mutex held (the notifier's contract). */
static void attach_module(struct module *mod)
{
	for (unsigned int i = 0; i < mod->num_tracepoints; i++) {
		struct tracepoint *tp = tracepoint_ptr_deref(&mod->tracepoints_ptrs[i]);

		for (int k = 0; k < KVMSCOPE_KPROBES; k++) {
			int ret;

			if (kprobes[k].tp || strcmp(tp->name, kprobes[k].name))
				continue;
			ret = tracepoint_probe_register(tp, kprobes[k].probe, NULL);
			if (ret)
				pr_warn("cannot attach to %s: %d\n", tp->name, ret);
			else
				kprobes[k].tp = tp;
		}
	}
	set_attached_bits();
}

static void detach_all(struct module *only)
{
	for (int k = 0; k < KVMSCOPE_KPROBES; k++) {
		struct tracepoint *tp = kprobes[k].tp;

		if (!tp || (only && !within_module((unsigned long)tp, only)))
			continue;
		tracepoint_probe_unregister(tp, kprobes[k].probe, NULL);
		kprobes[k].tp = NULL;
	}
	set_attached_bits();
}

static int tp_module_notify(struct notifier_block *nb, unsigned long val, void *data)
{
	struct tp_module *tp_mod = data;

	if (strcmp(tp_mod->mod->name, "kvm"))
		return NOTIFY_OK;
	if (val == MODULE_STATE_COMING)
		attach_module(tp_mod->mod);
	else if (val == MODULE_STATE_GOING)
		detach_all(tp_mod->mod);
	return NOTIFY_OK;
}

static struct notifier_block tp_module_nb = {
	.notifier_call = tp_module_notify,
};

/* ---- start, stop, free, map ---- */

/* The run @file drives, or NULL; under kexits_mutex. */
static struct kexits_area *run_of(struct file *file)
{
	for (unsigned int r = 0; r < KEXITS_MAX_RUNS; r++)
		if (runs[r] && runs[r]->owner == file)
			return runs[r];
	return NULL;
}

/* End run @r: no probe uses it after this; the tracepoints go with the last run. */
static void run_stop_locked(unsigned int r)
{
	struct kexits_area *a = runs[r];

	if (!a)
		return;
	WRITE_ONCE(runs[r], NULL);
	n_runs--;
	if (!n_runs && notifier_on) {
		/* Also calls the notifier with GOING for kvm.ko: the probes go. */
		unregister_tracepoint_module_notifier(&tp_module_nb);
		notifier_on = false;
		detach_all(NULL);
	}
	tracepoint_synchronize_unregister();
	kref_put(&a->ref, area_free);
}

static void stop_file_locked(struct file *file)
{
	for (unsigned int r = 0; r < KEXITS_MAX_RUNS; r++)
		if (runs[r] && (!file || runs[r]->owner == file))
			run_stop_locked(r);
}

int kvmscope_exits_start(struct file *file, const struct kvmscope_kexits_start *req)
{
	struct kexits_area *a;
	size_t slots_off, fb_off, ring_off, len;
	unsigned int r;
	int ret = 0;

	if (!IS_ENABLED(CONFIG_X86))
		return -EOPNOTSUPP;
	if (!req->probes || req->probes >> KVMSCOPE_KPROBES || req->flags & ~KVMSCOPE_KEXITS_FLAGS ||
	    !req->n_slots || req->n_slots > KVMSCOPE_KEXITS_MAX_SLOTS ||
	    req->n_fallback < 16 || req->n_fallback > KVMSCOPE_KEXITS_MAX_FALLBACK ||
	    !is_power_of_2(req->n_fallback))
		return -EINVAL;
	slots_off = PAGE_ALIGN(sizeof(struct kvmscope_kexits_header));
	fb_off = PAGE_ALIGN(slots_off + (size_t)req->n_slots * sizeof(struct kvmscope_slot));
	ring_off = PAGE_ALIGN(fb_off + (size_t)req->n_fallback * sizeof(struct kvmscope_kexits_fallback));
	len = PAGE_ALIGN(ring_off + (size_t)KVMSCOPE_KEXITS_STREAM_ENTRIES *
				    sizeof(struct kvmscope_exit_event));

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	kref_init(&a->ref);
	raw_spin_lock_init(&a->lock);
	a->len = len;
	a->mem = vmalloc_user(len);
	a->slot_vcpu = vzalloc(array_size(req->n_slots, sizeof(*a->slot_vcpu)));
	a->index_mask = roundup_pow_of_two(2 * req->n_slots) - 1;
	a->index = vzalloc(array_size(a->index_mask + 1, sizeof(*a->index)));
	if (!a->mem || !a->slot_vcpu || !a->index) {
		kref_put(&a->ref, area_free);
		return -ENOMEM;
	}
	a->hdr = a->mem;
	a->slots = a->mem + slots_off;
	a->fb = a->mem + fb_off;
	a->fb_mask = req->n_fallback - 1;
	a->ring = a->mem + ring_off;
	a->owner = file;
	a->probes = req->probes;
	a->flags = req->flags;
	a->hdr->n_slots = req->n_slots;
	a->hdr->n_fallback = req->n_fallback;
	a->hdr->flags = req->flags;
	a->hdr->slots_offset = slots_off;
	a->hdr->slot_size = sizeof(struct kvmscope_slot);
	a->hdr->fallback_offset = fb_off;
	a->hdr->stream_offset = ring_off;
	a->hdr->stream_entries = KVMSCOPE_KEXITS_STREAM_ENTRIES;
	a->hdr->length = len;

	mutex_lock(&kexits_mutex);
	/* A restart from the same file replaces its run. */
	stop_file_locked(file);
	for (r = 0; r < KEXITS_MAX_RUNS && runs[r]; r++)
		;
	if (r == KEXITS_MAX_RUNS) {
		ret = -EBUSY;
		goto out;
	}
	WRITE_ONCE(runs[r], a);
	n_runs++;
	if (!notifier_on) {
		/* Attaches now to a loaded kvm.ko, later to one that loads. */
		ret = register_tracepoint_module_notifier(&tp_module_nb);
		if (ret) {
			WRITE_ONCE(runs[r], NULL);
			n_runs--;
			goto out;
		}
		notifier_on = true;
	} else {
		set_attached_bits();
	}
	a = NULL;	/* the run holds it now */
out:
	mutex_unlock(&kexits_mutex);
	if (a)
		kref_put(&a->ref, area_free);
	return ret;
}

/* Stop the run @file drives (NULL: every run, at module exit). */
int kvmscope_exits_stop(struct file *file)
{
	mutex_lock(&kexits_mutex);
	stop_file_locked(file);
	mutex_unlock(&kexits_mutex);
	return 0;
}

/* The device was closed: its run ends with it (a daemon that died counts nothing). */
void kvmscope_exits_release(struct file *file)
{
	kvmscope_exits_stop(file);
}

/* VM @tgid is gone and read: its slots and fallback entries are free again. */
int kvmscope_exits_free(struct file *file, u32 tgid)
{
	struct kvmscope_kexits_fallback *keep = NULL;
	struct kexits_area *a;
	unsigned long flags;
	u32 n_keep = 0;

	if (!tgid)
		return -EINVAL;
	mutex_lock(&kexits_mutex);
	a = run_of(file);
	if (!a) {
		mutex_unlock(&kexits_mutex);
		return -ENODATA;
	}
	keep = vmalloc(array_size(a->fb_mask + 1, sizeof(*keep)));
	if (!keep) {
		mutex_unlock(&kexits_mutex);
		return -ENOMEM;
	}
	raw_spin_lock_irqsave(&a->lock, flags);
	for (u32 i = 0; i < a->hdr->n_slots; i++) {
		if (a->slots[i].tgid != tgid)
			continue;
		WRITE_ONCE(a->slots[i].tgid, 0);
		smp_wmb();
		memset(&a->slots[i], 0, sizeof(a->slots[i]));
		a->slot_vcpu[i] = NULL;
	}
	memset(a->index, 0, (a->index_mask + 1) * sizeof(*a->index));
	for (u32 i = 0; i < a->hdr->n_slots; i++)
		if (a->slots[i].tgid)
			index_insert(a, a->slots[i].tid, i);
	for (u32 i = 0; i <= a->fb_mask; i++)
		if (a->fb[i].kind != KVMSCOPE_KFB_FREE && a->fb[i].tgid != tgid)
			keep[n_keep++] = a->fb[i];
	memset(a->fb, 0, (a->fb_mask + 1) * sizeof(*a->fb));
	for (u32 k = 0; k < n_keep; k++) {
		struct kvmscope_kexits_fallback *e = &keep[k];
		u32 h = fb_hash(e->kind, e->tgid, e->vcpu, e->a, e->b);

		while (a->fb[h & a->fb_mask].kind != KVMSCOPE_KFB_FREE)
			h++;
		a->fb[h & a->fb_mask] = *e;
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	mutex_unlock(&kexits_mutex);
	vfree(keep);
	return 0;
}

int kvmscope_exits_stream(struct file *file, const struct kvmscope_kexits_stream *req)
{
	struct kexits_area *a;
	unsigned long flags;

	if (req->mode > KVMSCOPE_KSTREAM_PIDS || req->n_pids > KVMSCOPE_STREAM_MAX_PIDS)
		return -EINVAL;
	mutex_lock(&kexits_mutex);
	a = run_of(file);
	if (!a) {
		mutex_unlock(&kexits_mutex);
		return -ENODATA;
	}
	raw_spin_lock_irqsave(&a->lock, flags);
	a->stream_n_pids = req->mode == KVMSCOPE_KSTREAM_PIDS ? req->n_pids : 0;
	memcpy(a->stream_pids, req->pids, a->stream_n_pids * sizeof(a->stream_pids[0]));
	WRITE_ONCE(a->stream_mode, req->mode);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	mutex_unlock(&kexits_mutex);
	return 0;
}

/* The daemon read the stream up to @tail: those entries may be written again. */
int kvmscope_exits_consumed(struct file *file, u64 tail)
{
	struct kexits_area *a;
	unsigned long flags;
	int ret = 0;

	mutex_lock(&kexits_mutex);
	a = run_of(file);
	if (!a) {
		ret = -ENODATA;
	} else {
		raw_spin_lock_irqsave(&a->lock, flags);
		if (tail < a->ring_tail || tail > a->hdr->stream_head)
			ret = -EINVAL;
		else
			a->ring_tail = tail;
		raw_spin_unlock_irqrestore(&a->lock, flags);
	}
	mutex_unlock(&kexits_mutex);
	return ret;
}

static void area_vm_open(struct vm_area_struct *vma)
{
	struct kexits_area *a = vma->vm_private_data;

	kref_get(&a->ref);
}

static void area_vm_close(struct vm_area_struct *vma)
{
	struct kexits_area *a = vma->vm_private_data;

	kref_put(&a->ref, area_free);
}

static const struct vm_operations_struct area_vm_ops = {
	.open = area_vm_open,
	.close = area_vm_close,
};

/* The run's area, read-only; it outlives the run until unmapped. */
int kvmscope_exits_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kexits_area *a;
	int ret;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (vma->vm_pgoff)
		return -EINVAL;
	mutex_lock(&kexits_mutex);
	a = run_of(file);
	if (!a) {
		ret = -ENODATA;
	} else if (vma->vm_end - vma->vm_start > a->len) {
		ret = -EINVAL;
	} else {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
		vm_flags_clear(vma, VM_MAYWRITE);
#else
		vma->vm_flags &= ~VM_MAYWRITE;
#endif
		ret = remap_vmalloc_range(vma, a->mem, 0);
		if (!ret) {
			kref_get(&a->ref);
			vma->vm_private_data = a;
			vma->vm_ops = &area_vm_ops;
		}
	}
	mutex_unlock(&kexits_mutex);
	return ret;
}

bool kvmscope_exits_supported(void)
{
	return IS_ENABLED(CONFIG_X86);
}

void kvmscope_exits_init(void)
{
	kprobes_init();
}

void kvmscope_exits_exit(void)
{
	kvmscope_exits_stop(NULL);
}
