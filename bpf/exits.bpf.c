// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmscope exits capability: exact per-VM, per-vCPU, per-reason counts of
 * KVM exits.  Each vCPU thread counts into a slot of its own in an array
 * the daemon reads through mmap (struct kvmscope_slot): one task-storage
 * lookup and plain stores per program.  What a slot cannot hold goes to
 * bounded per-CPU hash maps, and is counted (exit_fallbacks).
 *
 * Every KVM event has two programs here, and the daemon loads one of each:
 *
 *  - tp_btf (preferred): the kernel calls the program with the
 *    tracepoint's arguments and builds no trace record.  Since Linux 5.16
 *    kvm_exit's reason is not an argument (kvm-decode.md §4.1), so the
 *    tp_btf kvm_exit reads it from the VMCB through CO-RE; that exists for
 *    SVM only.  kvm_entry's vCPU pointer resolves the thread's vCPU, so no
 *    syscall hook is needed where kvm_entry fires.
 *  - classic tracepoints (fallback, and kvm_exit on VMX): read the
 *    record, at offsets the daemon checks against tracefs first; the
 *    sys_enter_ioctl hook resolves vCPUs where kvm_entry never fires.
 */
/*
 * Events KVM fires with preemption on (exit handlers, KVM_RUN's return):
 * a program preempted there makes the kernel skip the next run of that
 * program on the CPU (recursion_misses), losing an event.  The fast build
 * (6.17+) turns preemption off for the program's body (common.bpf.h); the
 * window left is the dispatch before it, which the backups cover.
 */
#ifdef KVMSCOPE_FAST_READS
#define KVMSCOPE_PREEMPT_OFF
#endif
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kvmscope/exits.h"
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * What a program on a classic tracepoint returns: 0 would tell the kernel
 * to drop the event for every perf user of that tracepoint on the host
 * (perf_trace_run_bpf_submit), blinding perf record/stat and perf kvm stat
 * while kvmscope runs.  1 lets the event go on to them.
 */
#define KEEP_EVENT 1

/*
 * Reading kernel memory that BTF does not type for us (the VMCB behind a
 * struct kvm_vcpu, struct kvm_run): with bpf_rdonly_cast() to void, plain
 * loads the JIT guards with an exception table entry (a fault reads 0),
 * a few instructions each; without it (before Linux 6.17), one
 * bpf_probe_read_kernel() call each, about 90 instructions in the icount
 * lab.  The daemon loads this object built both ways and keeps the first
 * that the kernel accepts (exits_fast.bpf.o, then exits.bpf.o).
 */
#ifdef KVMSCOPE_FAST_READS
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;

#define KREAD(type, addr) (*(const type *)bpf_rdonly_cast((const void *)(addr), 0))
#else
#define KREAD(type, addr) ({						\
	type __v = 0;							\
	bpf_probe_read_kernel(&__v, sizeof(__v), (const void *)(addr));	\
	__v;								\
})
#endif

/* Set by the daemon between open and load. */
const volatile bool resolve_vcpu = true;
/* --collect latency: time hardware exits (kvm_exit -> kvm_entry). */
const volatile bool collect_latency = true;
/* Count userspace exits by reason (--collect vmm, or no kvm_exit here). */
const volatile bool count_user_exits = true;
/* --collect vmm: time in the VMM (kvm_userspace_exit -> KVM_RUN). */
const volatile bool collect_vmm = true;
/* --collect backdoor: decode VMware backdoor calls. */
const volatile bool collect_backdoor = true;
/* The *_backup programs are attached: see struct kvmscope_slot.done. */
const volatile bool backup_runs;
/* Keys one VM may create in each counting map (--max-keys-per-vm). */
const volatile __u32 max_keys_per_vm = KVMSCOPE_MAX_HW_EXIT_KEYS;
/* Set by the daemon at run time while events.subscribe has subscribers. */
volatile __u32 stream_enabled;
/* ... of whom one at least wants every process: stream_pids is not asked. */
volatile __u32 stream_all_pids;

/* Classic tracepoint records, as in /sys/kernel/tracing/events/.../format. */
struct kvmscope_tp_kvm_exit {
	__u64 common;
	__u32 exit_reason;	/* 8 */
	__u32 pad0;
	__u64 guest_rip;	/* 16 */
	__u32 isa;		/* 24 */
	__u32 pad1;
	__u64 info1;		/* 32 */
	__u64 info2;		/* 40 */
	__u32 intr_info;	/* 48 */
	__u32 error_code;	/* 52 */
	__u32 vcpu_id;		/* 56 */
};

/* arm64's kvm_exit record (arch/arm64/kvm/trace_arm.h). */
struct kvmscope_tp_kvm_exit_arm64 {
	__u64 common;
	__s32 ret;		/* 8: ARM_EXCEPTION_CODE(ret) */
	__u32 esr_ec;		/* 12 */
	__u64 vcpu_pc;		/* 16 */
};

struct kvmscope_tp_kvm_entry {
	__u64 common;
	__u32 vcpu_id;		/* 8 */
};

struct kvmscope_tp_kvm_mmio {
	__u64 common;
	__u32 type;		/* 8 */
	__u32 len;		/* 12 */
	__u64 gpa;		/* 16 */
};

struct kvmscope_tp_kvm_msr {
	__u64 common;
	__u32 write;		/* 8 */
	__u32 ecx;		/* 12 */
};

struct kvmscope_tp_kvm_cpuid {
	__u64 common;
	__u32 function;		/* 8 */
	__u32 index;		/* 12 */
};

struct kvmscope_tp_kvm_hypercall {
	__u64 common;
	__u64 nr;		/* 8 */
};

/* kvm_vmgexit_enter (5.11+; SEV-ES/SNP, full-GHCB VMGEXITs) */
struct kvmscope_tp_kvm_vmgexit_enter {
	__u64 common;
	__u32 vcpu_id;		/* 8 */
	__u32 pad;
	__u64 exit_reason;	/* 16: the GHCB's sw_exit_code */
};

/* kvm_vmgexit_msr_protocol_enter */
struct kvmscope_tp_kvm_vmgexit_msr {
	__u64 common;
	__u32 vcpu_id;		/* 8 */
	__u32 pad;
	__u64 ghcb_gpa;		/* 16: the raw GHCB MSR value */
};

struct kvmscope_tp_kvm_userspace_exit {
	__u64 common;
	__u32 reason;		/* 8 */
	__s32 err;		/* 12: errno, KVM_RUN's return value */
};

struct kvmscope_tp_kvm_pio {
	__u64 common;
	__u32 rw;		/* 8 */
	__u32 port;		/* 12 */
	__u32 size;		/* 16 */
	__u32 count;		/* 20 */
	__u32 val;		/* 24 */
};

struct kvmscope_tp_sys_enter_ioctl {
	__u64 common;
	__s32 syscall_nr;	/* 8 */
	__u32 pad;
	__u64 fd;		/* 16 */
	__u64 cmd;		/* 24 */
	__u64 arg;		/* 32 */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMSCOPE_MAX_HW_EXIT_KEYS);
	__type(key, struct kvmscope_hw_exit_key);
	__type(value, __u64);
} hw_exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMSCOPE_MAX_USER_EXIT_KEYS);
	__type(key, struct kvmscope_user_exit_key);
	__type(value, __u64);
} user_exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMSCOPE_MAX_PIO_KEYS);
	__type(key, struct kvmscope_pio_key);
	__type(value, __u64);
} pio_exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMSCOPE_MAX_DETAIL_KEYS);
	__type(key, struct kvmscope_detail_key);
	__type(value, __u64);
} detail SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMSCOPE_MAX_DETAIL_OTHER_KEYS);
	__type(key, struct kvmscope_detail_other_key);
	__type(value, __u64);
} detail_other SEC(".maps");

/*
 * Exit events for subscribers.  Submitted without wakeup: the daemon drains
 * the ring on a short timer, so a busy guest costs no wakeup per exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KVMSCOPE_STREAM_RING_BYTES);
} exit_stream SEC(".maps");

/*
 * tgid -> 1: the processes subscribers asked for.  Looked up only while
 * streaming without stream_all_pids, so that nobody's filter costs a ring
 * record per exit of every other VM on the host.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMSCOPE_STREAM_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} stream_pids SEC(".maps");

/* Records put on exit_stream: what the filter let through, for events.stats. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stream_submitted SEC(".maps");

/* Events that could not be counted, by enum kvmscope_drop_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMSCOPE_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} exit_drops SEC(".maps");

/*
 * Per VM: what could not be counted (so its answer says its counts are
 * incomplete, and why) and how many keys it holds in each counting map
 * (so one VM cannot fill a map that every VM shares).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMSCOPE_MAX_VMS);
	__type(key, __u32);
	__type(value, struct kvmscope_vm_state);
} vm_state SEC(".maps");

/* Written by the daemon, read by the next one: see struct kvmscope_pin_meta. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kvmscope_pin_meta);
} pin_meta SEC(".maps");

/* One counter slot per vCPU thread; sized by the daemon (--max-threads). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, KVMSCOPE_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct kvmscope_slot);
} slots SEC(".maps");

/* Indices of the free slots: filled by the daemon, which zeroes a slot first. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, KVMSCOPE_MAX_THREADS);
	__type(value, __u32);
} free_slots SEC(".maps");

/* Exits counted in the hash maps, by enum kvmscope_fallback. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMSCOPE_FALLBACK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} exit_fallbacks SEC(".maps");

/*
 * The slot of the vCPU thread that last ran on this CPU: a vCPU thread
 * stays on its CPU from exit to entry, so most events find their slot
 * here, without the task-storage lookup.  An entry counts only for the
 * same thread (pid_tgid) and vCPU, and only while its slot is still that
 * thread's: a slot the thread left (another vCPU) or the daemon freed
 * (its VM exited) no longer names it.
 */
struct cpu_slot {
	__u64 pid_tgid;
	__u64 vcpu_ptr;
	__u64 run_ptr;
	__u32 slot;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_slot);
} cpu_slots SEC(".maps");

static __always_inline struct kvmscope_vm_state *vm_state_of(__u32 tgid)
{
	static const struct kvmscope_vm_state zero_state;
	struct kvmscope_vm_state *vs = bpf_map_lookup_elem(&vm_state, &tgid);

	if (vs)
		return vs;
	bpf_map_update_elem(&vm_state, &tgid, &zero_state, BPF_NOEXIST);
	return bpf_map_lookup_elem(&vm_state, &tgid);
}

/* Inline: @reason is a constant at every call, which the verifier needs as an index. */
static __always_inline void count_drop(__u32 tgid, __u32 reason)
{
	struct kvmscope_vm_state *vs;
	__u32 key = reason;
	__u64 *val = bpf_map_lookup_elem(&exit_drops, &key);

	if (val)
		*val += 1;
	if (!tgid)
		return;
	vs = vm_state_of(tgid);
	if (!vs)
		return;
	/* Bounded here, on a register: the verifier needs it for the index. */
	asm volatile("" : "+r"(reason));
	if (reason < KVMSCOPE_DROP_MAX)
		__sync_fetch_and_add(&vs->dropped[reason], 1);
}

/*
 * May VM @tgid create one more key in the map whose drop reason is
 * @drop?  Only asked when a key is new, never on the counting path of a
 * key that exists.  Two CPUs may both pass at the limit: a VM can hold
 * a key or two more than the limit, never a map's worth.
 */
static __always_inline bool vm_key_allowed(__u32 tgid, __u32 drop)
{
	struct kvmscope_vm_state *vs = vm_state_of(tgid);

	if (!vs)
		return true;	/* the per-VM map is full: the shared map's bound holds */
	asm volatile("" : "+r"(drop));
	if (drop >= KVMSCOPE_DROP_MAX)
		return true;
	if (vs->keys[drop] >= max_keys_per_vm)
		return false;
	__sync_fetch_and_add(&vs->keys[drop], 1);
	return true;
}

/*
 * Add one to a per-CPU counter.  Two CPUs may race to create the same key:
 * the loser's BPF_NOEXIST update fails and it increments its own slot of
 * the winner's element, so no increment is lost.  A new key counts
 * against its VM's share of the map (@drop names the map); @drop
 * KVMSCOPE_DROP_MAX: no share.
 */
static __always_inline bool add_key(void *map, const void *key, __u32 drop)
{
	__u64 one = 1, *val;

	val = bpf_map_lookup_elem(map, key);
	if (val) {
		*val += 1;
		return true;
	}
	if (drop < KVMSCOPE_DROP_MAX && !vm_key_allowed(*(const __u32 *)key, drop))
		return false;
	if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST) == 0)
		return true;
	val = bpf_map_lookup_elem(map, key);
	if (!val)
		return false;
	*val += 1;
	return true;
}

/* Every counting key starts with the tgid of its VM. */
static __always_inline void count_key(void *map, const void *key, __u32 drop)
{
	if (!add_key(map, key, drop))
		count_drop(*(const __u32 *)key, drop);
}

/* A VM's detail key that does not fit is still counted, as its "other". */
static __always_inline void count_detail(__u32 tgid, __u8 kind, __u8 dir, __u64 id)
{
	struct kvmscope_detail_key key = { .tgid = tgid, .kind = kind, .dir = dir, .id = id };
	struct kvmscope_detail_other_key other = { .tgid = tgid, .kind = kind };

	if (add_key(&detail, &key, KVMSCOPE_DROP_DETAIL_MAP_FULL))
		return;
	if (!add_key(&detail_other, &other, KVMSCOPE_DROP_MAX))
		count_drop(tgid, KVMSCOPE_DROP_DETAIL_MAP_FULL);
}

/* Called only while stream_enabled; @now: bpf_ktime_get_ns(), already read. */
static __noinline void stream_exit(__u32 vcpu, __u32 isa, __u32 reason, bool hardware, __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct kvmscope_exit_event *ev;
	__u32 tgid = id >> 32, zero = 0;
	__u64 *submitted;

	if (!stream_all_pids && !bpf_map_lookup_elem(&stream_pids, &tgid))
		return;
	ev = bpf_ringbuf_reserve(&exit_stream, sizeof(*ev), 0);
	if (!ev) {
		count_drop(0, KVMSCOPE_DROP_STREAM_FULL);
		return;
	}
	ev->ts_ns = now;
	ev->tgid = tgid;
	ev->tid = (__u32)id;
	ev->vcpu = vcpu;
	ev->isa = isa;
	ev->reason = reason;
	ev->hardware = hardware;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	submitted = bpf_map_lookup_elem(&stream_submitted, &zero);
	if (submitted)
		*submitted += 1;
}

/* VM and thread tracking, with its lost updates counted as the exits' drops. */
#define VMTRACK_DROP_VM_FULL KVMSCOPE_DROP_VM_MAP_FULL
#define VMTRACK_DROP_THREAD_FULL KVMSCOPE_DROP_THREAD_MAP_FULL
#define vmtrack_count_drop count_drop

/*
 * A thread leaves its slot (it runs another vCPU now): the slot keeps its
 * counts until its VM exits, but no CPU's cached entry names it any more.
 */
static __always_inline void leave_slot(struct kvmscope_thread_vcpu *tv)
{
	struct kvmscope_slot *s;
	__u32 i = tv->slot;

	tv->slot = KVMSCOPE_SLOT_UNSET;
	if (i >= KVMSCOPE_SLOT_UNSET)
		return;
	s = bpf_map_lookup_elem(&slots, &i);
	if (s)
		s->tid = 0;
}
#define vmtrack_leave_slot leave_slot
#include "vmtrack.bpf.h"

/* ---- the slot path ---- */

/* Inline: @why is a constant at every call. */
static __always_inline void count_fallback(__u32 why)
{
	__u64 *val = bpf_map_lookup_elem(&exit_fallbacks, &why);

	if (val)
		*val += 1;
}

/* Give the thread a free slot, or mark it as counted in the hash maps. */
static __noinline void take_slot(struct kvmscope_thread_vcpu *tv)
{
	struct kvmscope_slot *s;
	__u32 i;

	if (!tv)
		return;
	tv->slot = KVMSCOPE_NO_SLOT;
	if (bpf_map_pop_elem(&free_slots, &i))
		return;
	s = bpf_map_lookup_elem(&slots, &i);
	if (!s)
		return;
	s->tid = (__u32)bpf_get_current_pid_tgid();
	s->vcpu = tv->vcpu;
	/* Set last: the daemon reads a slot whose tgid is set. */
	asm volatile("" ::: "memory");
	s->tgid = tv->tgid;
	tv->slot = i;
}

/* The thread's slot, taken at its first event; NULL: counted in the hash maps. */
static __always_inline struct kvmscope_slot *slot_of(struct kvmscope_thread_vcpu *tv)
{
	__u32 i = tv->slot;

	if (i == KVMSCOPE_SLOT_UNSET) {
		take_slot(tv);
		i = tv->slot;
	}
	if (i == KVMSCOPE_NO_SLOT)
		return NULL;
	return bpf_map_lookup_elem(&slots, &i);
}

/*
 * Where the current thread's events go: its slot, or (none) the hash
 * maps under its vCPU; vcpu_ptr and run_ptr for register reads.
 */
struct where {
	struct kvmscope_slot *s;
	__u32 tgid;
	__u32 vcpu;
	__u64 vcpu_ptr;
	__u64 run_ptr;
};

/* The fast path: this CPU's cached slot, if it is the current thread's (for @vcpu_ptr). */
static __always_inline bool where_cached(struct where *w, __u64 id, __u64 vcpu_ptr)
{
	__u32 zero = 0, i;
	struct cpu_slot *c = bpf_map_lookup_elem(&cpu_slots, &zero);
	struct kvmscope_slot *s;

	w->tgid = id >> 32;
	if (!c || c->pid_tgid != id || (vcpu_ptr && c->vcpu_ptr != vcpu_ptr))
		return false;
	i = c->slot;
	s = bpf_map_lookup_elem(&slots, &i);
	if (!s || s->tid != (__u32)id || s->tgid != id >> 32)
		return false;
	w->s = s;
	w->vcpu = s->vcpu;
	w->vcpu_ptr = c->vcpu_ptr;
	w->run_ptr = c->run_ptr;
	return true;
}

/* The slow path: the thread's task storage, its slot taken if it has none yet. */
static __always_inline void where_thread(struct where *w, __u64 id, struct kvmscope_thread_vcpu *tv)
{
	__u32 zero = 0;
	struct cpu_slot *c;

	w->s = NULL;
	w->tgid = id >> 32;
	w->vcpu = KVMSCOPE_VCPU_UNKNOWN;
	w->vcpu_ptr = 0;
	w->run_ptr = 0;
	if (!tv)
		return;
	w->vcpu = tv->vcpu;
	w->vcpu_ptr = tv->vcpu_ptr;
	w->run_ptr = tv->run_ptr;
	w->s = slot_of(tv);
	if (!w->s)
		return;
	c = bpf_map_lookup_elem(&cpu_slots, &zero);
	if (!c)
		return;
	c->pid_tgid = id;
	c->vcpu_ptr = tv->vcpu_ptr;
	c->run_ptr = tv->run_ptr;
	c->slot = tv->slot;
}

/*
 * Is this run the one to count the thread's event @ev?  The first
 * program always is, and says so in done[]; the backup only when the
 * first was skipped (done[] did not move since the backup last looked).
 */
static __always_inline bool event_mine(struct kvmscope_slot *s, __u32 ev, bool backup)
{
	bool skipped;

	if (!backup_runs)
		return true;
	if (!backup) {
		if (s)
			s->done[ev] += 1;
		return true;
	}
	if (!s)
		return false;
	skipped = s->done[ev] == s->seen[ev];
	if (skipped)
		s->done[ev] += 1;
	s->seen[ev] = s->done[ev];
	return skipped;
}

/*
 * The histogram line of dense reason @i in a slot, taken at its first
 * use; NULL when the thread's @lines lines are all taken (the exit is
 * then counted untimed).
 */
static __always_inline struct kvmscope_slot_hist *slot_line(__u8 *line_of, __u32 *n_lines,
						       struct kvmscope_slot_hist *hists, __u64 i,
						       __u64 lines)
{
	__u64 l = line_of[i];

	if (l) {
		l -= 1;
		asm volatile("" : "+r"(l));
		if (l >= lines)
			return NULL;
		/* The line's address only after the check, for the verifier. */
		asm volatile("" : "+r"(l));
		if (l >= lines)
			return NULL;
		return &hists[l];
	}
	l = *n_lines;
	asm volatile("" : "+r"(l));
	if (l >= lines)
		return NULL;
	*n_lines = l + 1;
	hists[l].index = i + 1;
	/* The line names its reason before the reason names the line. */
	asm volatile("" ::: "memory");
	line_of[i] = l + 1;
	return &hists[l];
}

static __always_inline void slot_hist_add(struct kvmscope_slot_hist *line, __u64 delta)
{
	struct kvmscope_hist *h = &line->h;
	__u64 b = log2_slot(delta);

	asm volatile("" : "+r"(b));
	if (b >= KVMSCOPE_HIST_SLOTS)
		return;
	kvmscope_counter_add(h->slots, &line->used, b);
	h->sum_ns += delta;
	if (delta > h->max_ns)
		h->max_ns = delta;
}

/*
 * One kind of exit in flight on a slot: hardware (kvm_exit -> kvm_entry)
 * or userspace (kvm_userspace_exit -> KVM_RUN), with the counts, lines
 * and histograms of that kind.  Built from constant offsets into the
 * slot, so the verifier sees every access as the slot's.
 */
struct inflight {
	__u64 *ts;
	__u32 *index;
	__u64 *counts;		/* [n_reasons], untimed */
	__u64 *used;		/* counts' bitmap */
	__u8 *line_of;		/* [n_reasons] */
	__u32 *n_lines;
	struct kvmscope_slot_hist *hists;
};

static __always_inline struct inflight hw_inflight(struct kvmscope_slot *s)
{
	return (struct inflight){ &s->exit_ts, &s->exit_index, s->hw, s->hw_used, s->hw_line,
				  &s->hw_lines, s->hw_hist };
}

static __always_inline struct inflight user_inflight(struct kvmscope_slot *s)
{
	return (struct inflight){ &s->user_ts, &s->user_index, s->user, s->user_used,
				  s->user_line, &s->user_lines, s->user_hist };
}

/* The exit in flight was never timed (no entry, no KVM_RUN came): count it untimed. */
static __always_inline void inflight_count(struct inflight f, __u64 n_reasons)
{
	__u64 i = *f.index;

	*f.ts = 0;
	asm volatile("" : "+r"(i));
	if (i < n_reasons)
		kvmscope_counter_add(f.counts, f.used, i);
}

/*
 * The exit in flight took now - ts: into its reason's histogram line,
 * or counted untimed when the slot's @n_lines lines are all taken.
 */
static __always_inline void inflight_end(struct inflight f, __u64 n_reasons, __u64 max_lines,
					 __u64 now)
{
	__u64 delta = now - *f.ts;
	__u64 i = *f.index;
	struct kvmscope_slot_hist *h;

	*f.ts = 0;
	asm volatile("" : "+r"(i));
	if (i >= n_reasons)
		return;
	h = slot_line(f.line_of, f.n_lines, f.hists, i, max_lines);
	if (h) {
		slot_hist_add(h, delta);
		return;
	}
	kvmscope_counter_add(f.counts, f.used, i);
	count_fallback(KVMSCOPE_FALLBACK_HIST);
}

static __always_inline void slot_count_pending_exit(struct kvmscope_slot *s)
{
	inflight_count(hw_inflight(s), KVMSCOPE_SLOT_HW_REASONS);
}

static __always_inline void slot_count_pending_user(struct kvmscope_slot *s)
{
	inflight_count(user_inflight(s), KVMSCOPE_SLOT_USER_REASONS);
}

/* kvm_entry: the hardware exit in flight took now - exit_ts to handle. */
static __always_inline void slot_end_exit(struct kvmscope_slot *s, __u64 now)
{
	inflight_end(hw_inflight(s), KVMSCOPE_SLOT_HW_REASONS, KVMSCOPE_SLOT_HW_HISTS, now);
}

/* Back from the VMM: the time it took to handle the userspace exit in flight. */
static __always_inline void slot_end_vmm(struct kvmscope_slot *s, __u64 now)
{
	inflight_end(user_inflight(s), KVMSCOPE_SLOT_USER_REASONS, KVMSCOPE_SLOT_USER_HISTS, now);
}

/* ---- the hash path: what a slot cannot hold ---- */

static __noinline void count_hw_hash(__u32 tgid, __u32 vcpu, __u32 isa, __u32 reason)
{
	struct kvmscope_hw_exit_key key = { .tgid = tgid, .vcpu = vcpu, .isa = isa,
					    .reason = reason };

	count_key(&hw_exits, &key, KVMSCOPE_DROP_HW_MAP_FULL);
}

static __noinline void count_user_hash(__u32 tgid, __u32 vcpu, __u32 reason)
{
	struct kvmscope_user_exit_key key = { .tgid = tgid, .vcpu = vcpu, .reason = reason };

	count_key(&user_exits, &key, KVMSCOPE_DROP_USER_MAP_FULL);
}

static __noinline void count_pio_hash(__u32 tgid, __u32 vcpu, __u16 port, __u8 dir, __u8 size)
{
	struct kvmscope_pio_key key = { .tgid = tgid, .vcpu = vcpu, .port = port,
					.direction = dir, .size = size };

	count_key(&pio_exits, &key, KVMSCOPE_DROP_PIO_MAP_FULL);
}

/* ---- the events ---- */

/*
 * KVM_RUN and KVM_CREATE_VM, from the syscall tracepoint.  Attached only
 * where kvm_entry does not fire or cannot be read with BTF (a software
 * KVM backend): a syscall tracepoint sends every system call of every
 * process on the host through the slow path, so it is avoided wherever
 * kvm_entry can resolve the vCPU and end the VMM's time instead.
 */
SEC("tracepoint/syscalls/sys_enter_ioctl")
int kvmscope_ioctl_enter(struct kvmscope_tp_sys_enter_ioctl *ctx)
{
	struct kvmscope_thread_vcpu *tv;
	__u32 cmd = (__u32)ctx->cmd, tgid;
	__u64 id;
	struct kvm_vcpu *vcpu = NULL;
	struct kvmscope_slot *s;

	if (cmd == KVMSCOPE_IOCTL_KVM_CREATE_VM) {
		note_vm(bpf_get_current_pid_tgid() >> 32);
		return KEEP_EVENT;
	}
	if (cmd != KVMSCOPE_IOCTL_KVM_RUN)
		return KEEP_EVENT;

	tv = current_thread();
	if (tv && tv->slot < KVMSCOPE_SLOT_UNSET) {
		s = slot_of(tv);
		if (s && s->user_ts)
			slot_end_vmm(s, bpf_ktime_get_ns());
	}
	/* Resolve once per (thread, fd): KVM_RUN is issued after every exit. */
	if (tv && tv->fd == (__s32)ctx->fd)
		return KEEP_EVENT;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	note_vm(tgid);
	if (!tv)
		tv = current_thread_or_new(id, KVMSCOPE_VCPU_UNKNOWN);
	if (!tv)
		return KEEP_EVENT;
	if (resolve_vcpu)
		vcpu = vcpu_of_fd(ctx->fd);
	/* Another vCPU on this thread counts into a slot of its own. */
	if (tv->fd >= 0 && tv->vcpu_ptr != (__u64)vcpu)
		leave_slot(tv);
	tv->tgid = tgid;
	tv->fd = (__s32)ctx->fd;
	tv->vcpu = vcpu_id_of(vcpu);
	tv->vcpu_ptr = (__u64)vcpu;
	/* Read once per (thread, fd), not at every I/O exit. */
	tv->run_ptr = vcpu ? (__u64)BPF_CORE_READ(vcpu, run) : 0;
	return KEEP_EVENT;
}

/*
 * KVM_CREATE_VM without the syscall hook: /dev/kvm's own ioctl handler,
 * which nothing but KVM's device ioctls reach.  Loaded with the tp_btf
 * programs where fentry is allowed, so a VM is known before it first runs.
 */
SEC("fentry/kvm_dev_ioctl")
int BPF_PROG(kvmscope_kvm_dev_ioctl, struct file *filp, unsigned int ioctl)
{
	if (ioctl == KVMSCOPE_IOCTL_KVM_CREATE_VM)
		note_vm(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/*
 * A hardware exit.  Untimed, it is one store into the thread's slot.
 * Timed, it is counted once timed: in the histogram at the next
 * kvm_entry, in flight on the slot until then (the daemon adds the two);
 * only an exit that never saw its entry is counted in hw[].
 */
static __always_inline void on_kvm_exit(struct where *w, __u32 isa, __u32 reason)
{
	struct kvmscope_slot *s = w->s;
	__u64 now = 0, i;

	/* VMX: keep the basic reason and the failed-VM-entry bit only. */
	if (isa == KVMSCOPE_ISA_VMX)
		reason &= 0x8000ffffu;
	if (collect_latency || stream_enabled)
		now = bpf_ktime_get_ns();
	if (stream_enabled)
		stream_exit(w->vcpu, isa, reason, true, now);
	if (!s) {
		count_fallback(KVMSCOPE_FALLBACK_NO_SLOT);
		count_hw_hash(w->tgid, w->vcpu, isa, reason);
		return;
	}
	s->isa = isa;
	if (collect_latency && s->exit_ts)
		slot_count_pending_exit(s);
	i = kvmscope_hw_index(isa, reason);
	asm volatile("" : "+r"(i));
	if (i >= KVMSCOPE_SLOT_HW_REASONS) {
		count_fallback(KVMSCOPE_FALLBACK_REASON);
		count_hw_hash(w->tgid, w->vcpu, isa, reason);
		return;
	}
	if (!collect_latency) {
		kvmscope_counter_add(s->hw, s->hw_used, i);
		return;
	}
	s->exit_index = i;
	asm volatile("" ::: "memory");
	s->exit_ts = now;
}

#if defined(__TARGET_ARCH_arm64)
/*
 * arm64: kvm_exit gives the exception type (ret), the exception class of
 * a trap and the guest's PC, but no vCPU: the thread's vCPU is the one
 * its KVM_RUN named (sys_enter_ioctl).  The guest's exception level is
 * read from that vCPU's saved PSTATE, which KVM has written back by the
 * time the tracepoint fires (with nested virtualization, as the guest
 * hypervisor's virtual EL2 where it ran there).
 */
#define KVMSCOPE_ARM64_SERROR_FLAG 0x80000000u

static __always_inline __u32 arm64_guest_el(__u64 vcpu_ptr)
{
	__u64 pstate;

	if (!vcpu_ptr || !bpf_core_field_exists(struct kvm_vcpu, arch.ctxt.regs.pstate))
		return KVMSCOPE_ARM64_EL_UNKNOWN;
	pstate = KREAD(__u64, vcpu_ptr + bpf_core_field_offset(struct kvm_vcpu, arch.ctxt.regs.pstate));
	return kvmscope_arm64_el_of_pstate(pstate);
}

static __always_inline void on_arm64_exit(__u32 ret, __u32 esr_ec)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct where w;

	if (!where_cached(&w, id, 0))
		where_thread(&w, id, current_thread());
	on_kvm_exit(&w, KVMSCOPE_ISA_ARM64,
		    kvmscope_arm64_reason(ret & ~KVMSCOPE_ARM64_SERROR_FLAG, esr_ec,
					  arm64_guest_el(w.vcpu_ptr)));
}

SEC("tracepoint/kvm/kvm_exit")
int kvmscope_kvm_exit(struct kvmscope_tp_kvm_exit_arm64 *ctx)
{
	on_arm64_exit((__u32)ctx->ret, ctx->esr_ec);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_exit")
int BPF_PROG(kvmscope_kvm_exit_btf, int ret, unsigned int esr_ec, unsigned long vcpu_pc)
{
	on_arm64_exit((__u32)ret, esr_ec);
	return 0;
}
#else
SEC("tracepoint/kvm/kvm_exit")
int kvmscope_kvm_exit(struct kvmscope_tp_kvm_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct where w;

	if (!where_cached(&w, id, 0)) {
		where_thread(&w, id, current_thread_or_new(id, ctx->vcpu_id));
		if (!w.s)
			w.vcpu = ctx->vcpu_id;
	}
	on_kvm_exit(&w, ctx->isa, ctx->exit_reason);
	return KEEP_EVENT;
}

/*
 * What SVM's get_exit_info() would put in the record, read from the VMCB
 * without building it.  Local flavours of the kvm_amd types, relocated by
 * CO-RE against the kvm_amd module's BTF; on a kernel without them the
 * program is not loaded (the daemon attaches the classic one).
 */
struct vmcb_control_area___kvmscope {
	__u32 exit_code;
} __attribute__((preserve_access_index));

struct vmcb___kvmscope {
	struct vmcb_control_area___kvmscope control;
} __attribute__((preserve_access_index));

struct kvm_vmcb_info___kvmscope {
	struct vmcb___kvmscope *ptr;
} __attribute__((preserve_access_index));

struct vcpu_svm___kvmscope {
	struct vmcb___kvmscope *vmcb;
	struct kvm_vmcb_info___kvmscope vmcb01;	/* Linux 5.13+ */
} __attribute__((preserve_access_index));

/* x86 vcpu->arch.hflags: the vCPU runs a nested guest (L2). */
#define KVMSCOPE_HF_GUEST_MASK (1u << 0)

/*
 * svm->vmcb->control.exit_code, truncated to 32 bits as in the record
 * (SVM_EXIT_ERR is 0xffffffff).  Outside guest mode svm->vmcb is vmcb01,
 * which a vCPU keeps for its life: its address is read once into the
 * slot, and each exit then reads only the exit code.  A vCPU in guest
 * mode (running a nested guest on vmcb02) reads svm->vmcb every time.
 */
static __always_inline __u32 svm_exit_code(struct kvm_vcpu *vcpu, struct kvmscope_slot *s)
{
	__u64 vmcb;

	if (s && bpf_core_field_exists(struct vcpu_svm___kvmscope, vmcb01) &&
	    !(vcpu->arch.hflags & KVMSCOPE_HF_GUEST_MASK)) {
		vmcb = s->vmcb01;
		if (!vmcb) {
			vmcb = KREAD(__u64, (__u64)vcpu +
					    bpf_core_field_offset(struct vcpu_svm___kvmscope, vmcb01.ptr));
			s->vmcb01 = vmcb;
		}
	} else {
		vmcb = KREAD(__u64, (__u64)vcpu + bpf_core_field_offset(struct vcpu_svm___kvmscope, vmcb));
	}
	return KREAD(__u32, vmcb + bpf_core_field_offset(struct vmcb___kvmscope, control.exit_code));
}

SEC("tp_btf/kvm_exit")
int BPF_PROG(kvmscope_kvm_exit_btf, struct kvm_vcpu *vcpu, __u32 isa)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct where w;

	/* Newer verifiers (6.12) type tracepoint arguments as maybe NULL. */
	if (!vcpu || !bpf_core_type_exists(struct vcpu_svm___kvmscope) || isa != KVMSCOPE_ISA_SVM) {
		count_drop(id >> 32, KVMSCOPE_DROP_UNREADABLE);
		return 0;
	}
	if (!where_cached(&w, id, (__u64)vcpu)) {
		where_thread(&w, id, thread_for_vcpu(vcpu));
		if (w.vcpu == KVMSCOPE_VCPU_UNKNOWN)
			w.vcpu = vcpu_id_of(vcpu);
	}
	on_kvm_exit(&w, isa, svm_exit_code(vcpu, w.s));
	return 0;
}

#endif /* __TARGET_ARCH_arm64 */

/* Back in the guest: end what is in flight on the thread's slot. */
static __always_inline void on_kvm_entry(struct kvmscope_slot *s)
{
	__u64 now;

	if (!s || !(s->exit_ts | s->user_ts))
		return;
	now = bpf_ktime_get_ns();
	if (s->user_ts)
		slot_end_vmm(s, now);
	if (s->exit_ts)
		slot_end_exit(s, now);
}

SEC("tracepoint/kvm/kvm_entry")
int kvmscope_kvm_entry(struct kvmscope_tp_kvm_entry *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct where w;

	if (!where_cached(&w, id, 0))
		where_thread(&w, id, current_thread());
	on_kvm_entry(w.s);
	return KEEP_EVENT;
}

#if defined(__TARGET_ARCH_arm64)
/* arm64's kvm_entry has the guest's PC only: the thread says which vCPU. */
SEC("tp_btf/kvm_entry")
int BPF_PROG(kvmscope_kvm_entry_btf, unsigned long vcpu_pc)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct where w;

	if (!where_cached(&w, id, 0))
		where_thread(&w, id, current_thread());
	on_kvm_entry(w.s);
	return 0;
}
#else
SEC("tp_btf/kvm_entry")
int BPF_PROG(kvmscope_kvm_entry_btf, struct kvm_vcpu *vcpu)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct where w;

	if (!vcpu)
		return 0;
	if (!where_cached(&w, id, (__u64)vcpu))
		where_thread(&w, id, thread_for_vcpu(vcpu));
	on_kvm_entry(w.s);
	return 0;
}
#endif

/*
 * A VMware backdoor call reaches user space as KVM_EXIT_IO on port 0x5658
 * or 0x5659, whether by a direct IN/OUT or through KVM's #GP emulation.
 * Its command is in ECX, read from the vCPU now: the VMM may rewrite the
 * registers before the I/O completes (QEMU's vmport does).
 */
static __noinline void count_backdoor(__u32 tgid, __u64 vcpu_ptr, __u64 run_ptr)
{
#if defined(__TARGET_ARCH_x86)
	__u64 regs = vcpu_ptr + bpf_core_field_offset(struct kvm_vcpu, arch.regs);
	__u16 port;
	__u32 rax;

	if (!vcpu_ptr || !run_ptr)
		return;
	port = KREAD(__u16, run_ptr + bpf_core_field_offset(struct kvm_run, io.port));
	if (port != KVMSCOPE_VMWARE_PORT && port != KVMSCOPE_VMWARE_PORT_HB)
		return;
	/* VCPU_REGS_RAX is regs[0], VCPU_REGS_RCX regs[1]. */
	rax = KREAD(__u32, regs);
	if (rax == KVMSCOPE_VMWARE_MAGIC)
		count_detail(tgid, KVMSCOPE_DETAIL_BACKDOOR, port == KVMSCOPE_VMWARE_PORT_HB,
			     KREAD(__u64, regs + sizeof(unsigned long)) & 0xffff);
	else
		count_detail(tgid, KVMSCOPE_DETAIL_BACKDOOR_NOMAGIC, port == KVMSCOPE_VMWARE_PORT_HB, 0);
#endif
}

/*
 * A KVM_RUN that failed: -EINTR after immediate_exit (how QEMU kicks a
 * vCPU) or a signal, -EFAULT, ...  kvm_userspace_exit fires for it too,
 * with the stale reason of the exit before, so it is counted apart, under
 * its errno, and never timed: the VMM is not handling an exit.  The call
 * that failed is the VMM back from the previous exit: where no KVM_RUN
 * hook ended that exit's time (kvm_entry would, but none comes), end it
 * here, so that exit is timed and counted once, as without the error.
 */
static __noinline void on_userspace_error(struct where *w, __s32 err, __u64 now)
{
	__u32 reason = KVMSCOPE_USER_ERROR_BASE | ((__u32)-err & ~KVMSCOPE_USER_ERROR_BASE);

	if (count_user_exits) {
		if (stream_enabled)
			stream_exit(w->vcpu, 0, reason, false, now);
		count_user_hash(w->tgid, w->vcpu, reason);
	}
	if (w->s && w->s->user_ts)
		slot_end_vmm(w->s, now);
}

/* @err: what KVM_RUN returns, 0 or a negative errno; @backup: the backup program. */
static __always_inline void on_userspace_exit(__u32 reason, __s32 err, bool backup)
{
	__u64 id = bpf_get_current_pid_tgid(), now = 0, i;
	struct kvmscope_slot *s;
	struct where w;

	if (!where_cached(&w, id, 0))
		where_thread(&w, id, current_thread());
	s = w.s;
	if (!event_mine(s, KVMSCOPE_EV_USERSPACE_EXIT, backup))
		return;
	if (collect_vmm || stream_enabled)
		now = bpf_ktime_get_ns();
	if (err < 0) {
		on_userspace_error(&w, err, now);
		return;
	}
	if (count_user_exits) {
		if (stream_enabled)
			stream_exit(w.vcpu, 0, reason, false, now);
		i = reason;
		asm volatile("" : "+r"(i));
		if (!s || i >= KVMSCOPE_SLOT_USER_REASONS) {
			count_fallback(s ? KVMSCOPE_FALLBACK_REASON : KVMSCOPE_FALLBACK_NO_SLOT);
			if (s && s->user_ts)
				slot_count_pending_user(s);
			count_user_hash(w.tgid, w.vcpu, reason);
		} else if (!collect_vmm) {
			kvmscope_counter_add(s->user, s->user_used, i);
		} else {
			if (s->user_ts)
				slot_count_pending_user(s);
			s->user_index = i;
			asm volatile("" ::: "memory");
			s->user_ts = now;
		}
	}
	if (reason == KVMSCOPE_KVM_EXIT_IO && resolve_vcpu && collect_backdoor)
		count_backdoor(w.tgid, w.vcpu_ptr, w.run_ptr);
}

SEC("tracepoint/kvm/kvm_userspace_exit")
int kvmscope_kvm_userspace_exit(struct kvmscope_tp_kvm_userspace_exit *ctx)
{
	on_userspace_exit(ctx->reason, ctx->err, false);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_userspace_exit")
int BPF_PROG(kvmscope_kvm_userspace_exit_btf, __u32 reason, int err)
{
	PREEMPT_OFF();
	on_userspace_exit(reason, err, false);
	PREEMPT_ON();
	return 0;
}

SEC("tp_btf/kvm_userspace_exit")
int BPF_PROG(kvmscope_kvm_userspace_exit_btf_backup, __u32 reason, int err)
{
	on_userspace_exit(reason, err, true);
	return 0;
}

/* Port I/O by (port, direction, size): one entry of the thread's port table. */
static __always_inline void on_pio(__u32 rw, __u32 port, __u32 size, bool backup)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u8 dir = rw ? KVMSCOPE_PIO_OUT : KVMSCOPE_PIO_IN;
	struct kvmscope_slot_pio *e;
	struct kvmscope_slot *s;
	struct where w;
	__u32 h;

	if (!where_cached(&w, id, 0))
		where_thread(&w, id, current_thread());
	s = w.s;
	if (!event_mine(s, KVMSCOPE_EV_PIO, backup))
		return;
	if (!s) {
		count_fallback(KVMSCOPE_FALLBACK_NO_SLOT);
		goto hash;
	}
	h = kvmscope_pio_entry(port, dir);
	e = &s->pio[h];
	if (!e->used) {
		e->port = (__u16)port;
		e->direction = dir;
		e->size = (__u8)size;
		asm volatile("" ::: "memory");
		e->used = 1;
	} else if (e->port != (__u16)port || e->direction != dir || e->size != (__u8)size) {
		count_fallback(KVMSCOPE_FALLBACK_PIO);
		goto hash;
	}
	e->count += 1;
	return;
hash:
	count_pio_hash(w.tgid, w.vcpu, (__u16)port, dir, (__u8)size);
}

SEC("tracepoint/kvm/kvm_pio")
int kvmscope_kvm_pio(struct kvmscope_tp_kvm_pio *ctx)
{
	on_pio(ctx->rw, ctx->port, ctx->size, false);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_pio")
int BPF_PROG(kvmscope_kvm_pio_btf, unsigned int rw, unsigned int port, unsigned int size)
{
	PREEMPT_OFF();
	on_pio(rw, port, size, false);
	PREEMPT_ON();
	return 0;
}

SEC("tp_btf/kvm_pio")
int BPF_PROG(kvmscope_kvm_pio_btf_backup, unsigned int rw, unsigned int port, unsigned int size)
{
	on_pio(rw, port, size, true);
	return 0;
}

/*
 * MMIO, MSR, CPUID and hypercall detail, by VM.  Where backups run, the
 * thread's slot tells the first program from its backup (event_mine()).
 */
static __always_inline void on_detail(__u32 ev, __u8 kind, __u8 dir, __u64 id, bool backup)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (backup_runs) {
		struct where w;

		if (!where_cached(&w, pid_tgid, 0))
			where_thread(&w, pid_tgid, current_thread());
		if (!event_mine(w.s, ev, backup))
			return;
	}
	count_detail(pid_tgid >> 32, kind, dir, id);
}

SEC("tracepoint/kvm/kvm_mmio")
int kvmscope_kvm_mmio(struct kvmscope_tp_kvm_mmio *ctx)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_MMIO, (__u8)ctx->type,
		     ctx->gpa >> 12);
	return KEEP_EVENT;
}


SEC("tp_btf/kvm_mmio")
int BPF_PROG(kvmscope_kvm_mmio_btf, int type, int len, __u64 gpa)
{
	PREEMPT_OFF();
	on_detail(KVMSCOPE_EV_MMIO, KVMSCOPE_DETAIL_MMIO, (__u8)type, gpa >> 12, false);
	PREEMPT_ON();
	return 0;
}

SEC("tp_btf/kvm_mmio")
int BPF_PROG(kvmscope_kvm_mmio_btf_backup, int type, int len, __u64 gpa)
{
	on_detail(KVMSCOPE_EV_MMIO, KVMSCOPE_DETAIL_MMIO, (__u8)type, gpa >> 12, true);
	return 0;
}

SEC("tracepoint/kvm/kvm_msr")
int kvmscope_kvm_msr(struct kvmscope_tp_kvm_msr *ctx)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_MSR, ctx->write ? 1 : 0,
		     ctx->ecx);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_msr")
int BPF_PROG(kvmscope_kvm_msr_btf, unsigned int write, __u32 ecx)
{
	PREEMPT_OFF();
	on_detail(KVMSCOPE_EV_MSR, KVMSCOPE_DETAIL_MSR, write ? 1 : 0, ecx, false);
	PREEMPT_ON();
	return 0;
}

SEC("tp_btf/kvm_msr")
int BPF_PROG(kvmscope_kvm_msr_btf_backup, unsigned int write, __u32 ecx)
{
	on_detail(KVMSCOPE_EV_MSR, KVMSCOPE_DETAIL_MSR, write ? 1 : 0, ecx, true);
	return 0;
}

SEC("tracepoint/kvm/kvm_cpuid")
int kvmscope_kvm_cpuid(struct kvmscope_tp_kvm_cpuid *ctx)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_CPUID, 0,
		     (__u64)ctx->function << 32 | ctx->index);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_cpuid")
int BPF_PROG(kvmscope_kvm_cpuid_btf, unsigned int function, unsigned int index)
{
	PREEMPT_OFF();
	on_detail(KVMSCOPE_EV_CPUID, KVMSCOPE_DETAIL_CPUID, 0, (__u64)function << 32 | index,
		  false);
	PREEMPT_ON();
	return 0;
}

SEC("tp_btf/kvm_cpuid")
int BPF_PROG(kvmscope_kvm_cpuid_btf_backup, unsigned int function, unsigned int index)
{
	on_detail(KVMSCOPE_EV_CPUID, KVMSCOPE_DETAIL_CPUID, 0, (__u64)function << 32 | index,
		  true);
	return 0;
}

/*
 * SEV-ES/SNP guests exit with VMGEXIT (SVM exit 0x403) and say why in
 * their GHCB: by its software exit code, or by a request of the GHCB MSR
 * protocol.  Rare (these guests only), so classic tracepoints do.
 */
SEC("tracepoint/kvm/kvm_vmgexit_enter")
int kvmscope_kvm_vmgexit_enter(struct kvmscope_tp_kvm_vmgexit_enter *ctx)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_VMGEXIT, 0, ctx->exit_reason);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_vmgexit_msr_protocol_enter")
int kvmscope_kvm_vmgexit_msr(struct kvmscope_tp_kvm_vmgexit_msr *ctx)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_GHCB_MSR, 0,
		     ctx->ghcb_gpa & 0xfff);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_hypercall")
int kvmscope_kvm_hypercall(struct kvmscope_tp_kvm_hypercall *ctx)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_HYPERCALL, 0, ctx->nr);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_hypercall")
int BPF_PROG(kvmscope_kvm_hypercall_btf, unsigned long nr)
{
	PREEMPT_OFF();
	on_detail(KVMSCOPE_EV_HYPERCALL, KVMSCOPE_DETAIL_HYPERCALL, 0, nr, false);
	PREEMPT_ON();
	return 0;
}

SEC("tp_btf/kvm_hypercall")
int BPF_PROG(kvmscope_kvm_hypercall_btf_backup, unsigned long nr)
{
	on_detail(KVMSCOPE_EV_HYPERCALL, KVMSCOPE_DETAIL_HYPERCALL, 0, nr, true);
	return 0;
}

#if defined(__TARGET_ARCH_arm64)
/*
 * arm64 nested virtualization: what KVM does for a guest hypervisor at
 * virtual EL2 (Linux 6.8+; tp_btf only, their records changed between
 * releases).  Rare next to exits: per VM, in the detail map.
 */
SEC("tp_btf/kvm_nested_eret")
int BPF_PROG(kvmscope_kvm_nested_eret_btf, struct kvm_vcpu *vcpu, unsigned long elr_el2,
	     unsigned long spsr_el2)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_NESTED_ERET, 0,
		     kvmscope_arm64_el_of_pstate(spsr_el2));
	return 0;
}

SEC("tp_btf/kvm_inject_nested_exception")
int BPF_PROG(kvmscope_kvm_inject_nested_exception_btf, struct kvm_vcpu *vcpu, __u64 esr_el2,
	     int type)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_NESTED_EXC, 0,
		     ((esr_el2 >> 26) & KVMSCOPE_ARM64_EC_MASK) << 8 | ((__u32)type & 0xff));
	return 0;
}

SEC("tp_btf/kvm_forward_sysreg_trap")
int BPF_PROG(kvmscope_kvm_forward_sysreg_trap_btf, struct kvm_vcpu *vcpu, __u32 sysreg,
	     bool is_read)
{
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_SYSREG_FWD, is_read ? 1 : 0,
		     sysreg);
	return 0;
}
#endif
