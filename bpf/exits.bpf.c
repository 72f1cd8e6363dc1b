// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmscope exits capability: exact per-VM, per-vCPU, per-reason counts of
 * KVM exits, kept in bounded per-CPU hash maps and read by kvmscoped.
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
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kvmscope/exits.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * What a program on a classic tracepoint returns: 0 would tell the kernel
 * to drop the event for every perf user of that tracepoint on the host
 * (perf_trace_run_bpf_submit), blinding perf record/stat and perf kvm stat
 * while kvmscope runs.  1 lets the event go on to them.
 */
#define KEEP_EVENT 1

/* Set by the daemon between open and load. */
const volatile bool resolve_vcpu = true;
/* --collect: time exits (kvm_exit -> kvm_entry, VMM); decode backdoor calls. */
const volatile bool collect_latency = true;
const volatile bool collect_backdoor = true;
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

/* Handling time kvm_exit -> kvm_entry, keyed like hw_exits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMSCOPE_MAX_HIST_KEYS);
	__type(key, struct kvmscope_hw_exit_key);
	__type(value, struct kvmscope_hist);
} hw_latency SEC(".maps");

/* Time in the VMM, kvm_userspace_exit -> next KVM_RUN, keyed like user_exits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMSCOPE_MAX_USER_HIST_KEYS);
	__type(key, struct kvmscope_user_exit_key);
	__type(value, struct kvmscope_hist);
} user_latency SEC(".maps");

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

/* A zeroed histogram to insert from (too big for the BPF stack budget). */
static struct kvmscope_hist zero_hist;

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

/* @id: bpf_get_current_pid_tgid(); @now: bpf_ktime_get_ns(), both already read. */
static __always_inline void stream_exit(__u64 id, __u32 vcpu, __u32 isa, __u32 reason,
					bool hardware, __u64 now)
{
	struct kvmscope_exit_event *ev;
	__u32 tgid = id >> 32, zero = 0;
	__u64 *submitted;

	if (!stream_enabled)
		return;
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

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r < KVMSCOPE_HIST_SLOTS ? r : KVMSCOPE_HIST_SLOTS - 1;
}

/*
 * Histograms are shared (not per-CPU: 40 slots per CPU would not scale to
 * big hosts) and updated atomically; a key has one writer at a time anyway,
 * the thread running that vCPU.
 */
static __always_inline bool hist_add(void *map, const void *key, __u64 delta, __u32 drop)
{
	struct kvmscope_hist *h = bpf_map_lookup_elem(map, key);
	__u32 slot;

	if (!h) {
		if (!vm_key_allowed(*(const __u32 *)key, drop)) {
			count_drop(*(const __u32 *)key, drop);
			return false;
		}
		bpf_map_update_elem(map, key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(map, key);
		if (!h) {
			count_drop(*(const __u32 *)key, drop);
			return false;
		}
	}
	slot = log2_slot(delta);
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum_ns, delta);
	if (delta > h->max_ns)
		h->max_ns = delta;
	return true;
}

/* VM and thread tracking, with its lost updates counted as the exits' drops. */
#define VMTRACK_DROP_VM_FULL KVMSCOPE_DROP_VM_MAP_FULL
#define VMTRACK_DROP_THREAD_FULL KVMSCOPE_DROP_THREAD_MAP_FULL
#define vmtrack_count_drop count_drop
#include "vmtrack.bpf.h"

/* Back from the VMM: the time it took to handle a userspace exit. */
static __always_inline void end_vmm_time(struct kvmscope_thread_vcpu *tv, __u64 now)
{
	struct kvmscope_user_exit_key key = { .tgid = tv->tgid, .vcpu = tv->vcpu,
					      .reason = tv->user_reason };

	/* Not timed (the histogram map is full), still counted. */
	if (!hist_add(&user_latency, &key, now - tv->user_ts, KVMSCOPE_DROP_USER_HIST_MAP_FULL))
		count_key(&user_exits, &key, KVMSCOPE_DROP_USER_MAP_FULL);
	tv->user_ts = 0;
}

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
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct kvmscope_thread_vcpu tv = {}, *old;
	__u32 cmd = (__u32)ctx->cmd;
	struct kvm_vcpu *vcpu = NULL;

	if (cmd == KVMSCOPE_IOCTL_KVM_CREATE_VM) {
		note_vm(tgid);
		return KEEP_EVENT;
	}
	if (cmd != KVMSCOPE_IOCTL_KVM_RUN)
		return KEEP_EVENT;

	old = bpf_map_lookup_elem(&thread_vcpu, &tid);
	if (old && old->user_ts)
		end_vmm_time(old, bpf_ktime_get_ns());
	/* Resolve once per (thread, fd): KVM_RUN is issued after every exit. */
	if (old && old->fd == (__s32)ctx->fd && old->tgid == tgid)
		return KEEP_EVENT;
	note_vm(tgid);
	if (old && old->tgid == tgid) {
		/* Keep a pending exit: its kvm_entry comes after this call. */
		tv.exit_ts = old->exit_ts;
		tv.exit_isa = old->exit_isa;
		tv.exit_reason = old->exit_reason;
	}
	tv.tgid = tgid;
	tv.fd = (__s32)ctx->fd;
	if (resolve_vcpu)
		vcpu = vcpu_of_fd(ctx->fd);
	tv.vcpu = vcpu_id_of(vcpu);
	tv.vcpu_ptr = (__u64)vcpu;
	/* Read once per (thread, fd), not at every I/O exit. */
	tv.run_ptr = vcpu ? (__u64)BPF_CORE_READ(vcpu, run) : 0;
	if (bpf_map_update_elem(&thread_vcpu, &tid, &tv, BPF_ANY))
		count_drop(tgid, KVMSCOPE_DROP_THREAD_MAP_FULL);
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

static __always_inline void on_kvm_exit(__u64 id, struct kvmscope_thread_vcpu *tv, __u32 vcpu,
					__u32 isa, __u32 reason)
{
	struct kvmscope_hw_exit_key key = { .tgid = id >> 32, .vcpu = vcpu, .isa = isa };
	__u64 now = collect_latency || stream_enabled ? bpf_ktime_get_ns() : 0;

	/* VMX: keep the basic reason and the failed-VM-entry bit only. */
	if (isa == KVMSCOPE_ISA_VMX)
		reason &= 0x8000ffffu;
	key.reason = reason;
	stream_exit(id, vcpu, isa, reason, true, now);
	if (!tv || !collect_latency) {
		count_key(&hw_exits, &key, KVMSCOPE_DROP_HW_MAP_FULL);
		return;
	}
	/*
	 * Timed exits are counted once timed: in the histogram at the next
	 * kvm_entry, pending on the thread until then (the daemon adds the
	 * two), which saves a map update on the hottest path.  Only an exit
	 * that never saw its entry goes to the count map.
	 */
	if (tv->exit_ts) {
		struct kvmscope_hw_exit_key old = { .tgid = key.tgid, .vcpu = vcpu,
						    .isa = tv->exit_isa, .reason = tv->exit_reason };

		count_key(&hw_exits, &old, KVMSCOPE_DROP_HW_MAP_FULL);
	}
	tv->exit_ts = now;
	tv->exit_isa = isa;
	tv->exit_reason = reason;
}

SEC("tracepoint/kvm/kvm_exit")
int kvmscope_kvm_exit(struct kvmscope_tp_kvm_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	on_kvm_exit(id, current_thread_or_new(id, ctx->vcpu_id), ctx->vcpu_id, ctx->isa,
		    ctx->exit_reason);
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

struct vcpu_svm___kvmscope {
	struct vmcb___kvmscope *vmcb;
} __attribute__((preserve_access_index));

SEC("tp_btf/kvm_exit")
int BPF_PROG(kvmscope_kvm_exit_btf, struct kvm_vcpu *vcpu, __u32 isa)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct vcpu_svm___kvmscope *svm = (void *)vcpu;
	struct kvmscope_thread_vcpu *tv;
	__u32 reason;

	/* Newer verifiers (6.12) type tracepoint arguments as maybe NULL. */
	if (!vcpu || !bpf_core_type_exists(struct vcpu_svm___kvmscope) || isa != KVMSCOPE_ISA_SVM) {
		count_drop(id >> 32, KVMSCOPE_DROP_UNREADABLE);
		return 0;
	}
	/* Truncated to 32 bits as in the record: SVM_EXIT_ERR is 0xffffffff. */
	reason = BPF_CORE_READ(svm, vmcb, control.exit_code);
	tv = thread_for_vcpu(id, vcpu);
	on_kvm_exit(id, tv, tv ? tv->vcpu : vcpu_id_of(vcpu), isa, reason);
	return 0;
}

static __always_inline void on_kvm_entry(struct kvmscope_thread_vcpu *tv, __u32 vcpu)
{
	struct kvmscope_hw_exit_key key = {};
	__u64 now;

	if (!tv || !(tv->exit_ts | tv->user_ts))
		return;
	now = bpf_ktime_get_ns();
	if (tv->user_ts)
		end_vmm_time(tv, now);
	if (!tv->exit_ts)
		return;
	key.tgid = tv->tgid;
	key.vcpu = vcpu;
	key.isa = tv->exit_isa;
	key.reason = tv->exit_reason;
	if (!hist_add(&hw_latency, &key, now - tv->exit_ts, KVMSCOPE_DROP_HIST_MAP_FULL))
		count_key(&hw_exits, &key, KVMSCOPE_DROP_HW_MAP_FULL);
	tv->exit_ts = 0;
}

SEC("tracepoint/kvm/kvm_entry")
int kvmscope_kvm_entry(struct kvmscope_tp_kvm_entry *ctx)
{
	on_kvm_entry(current_thread(bpf_get_current_pid_tgid()), ctx->vcpu_id);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_entry")
int BPF_PROG(kvmscope_kvm_entry_btf, struct kvm_vcpu *vcpu)
{
	struct kvmscope_thread_vcpu *tv;

	if (!vcpu)
		return 0;
	tv = thread_for_vcpu(bpf_get_current_pid_tgid(), vcpu);
	if (tv)
		on_kvm_entry(tv, tv->vcpu);
	return 0;
}

/*
 * A VMware backdoor call reaches user space as KVM_EXIT_IO on port 0x5658
 * or 0x5659, whether by a direct IN/OUT or through KVM's #GP emulation.
 * Its command is in ECX, read from the vCPU now: the VMM may rewrite the
 * registers before the I/O completes (QEMU's vmport does).
 */
static __always_inline void count_backdoor(__u32 tgid, struct kvmscope_thread_vcpu *tv)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)tv->vcpu_ptr;
	struct kvm_run *run = (struct kvm_run *)tv->run_ptr;
	unsigned long regs[2] = {};	/* VCPU_REGS_RAX 0, VCPU_REGS_RCX 1 */
	__u16 port;

	if (!vcpu || !run)
		return;
	port = BPF_CORE_READ(run, io.port);
	if (port != KVMSCOPE_VMWARE_PORT && port != KVMSCOPE_VMWARE_PORT_HB)
		return;
	if (bpf_core_read(&regs, sizeof(regs), &vcpu->arch.regs))
		return;
	if ((__u32)regs[0] == KVMSCOPE_VMWARE_MAGIC)
		count_detail(tgid, KVMSCOPE_DETAIL_BACKDOOR, port == KVMSCOPE_VMWARE_PORT_HB,
			     regs[1] & 0xffff);
	else
		count_detail(tgid, KVMSCOPE_DETAIL_BACKDOOR_NOMAGIC, port == KVMSCOPE_VMWARE_PORT_HB, 0);
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
static __always_inline void on_userspace_error(__u64 id, struct kvmscope_thread_vcpu *tv, __s32 err,
					       __u64 now)
{
	struct kvmscope_user_exit_key key = {};

	key.tgid = id >> 32;
	key.vcpu = tv ? tv->vcpu : KVMSCOPE_VCPU_UNKNOWN;
	key.reason = KVMSCOPE_USER_ERROR_BASE | ((__u32)-err & ~KVMSCOPE_USER_ERROR_BASE);
	stream_exit(id, key.vcpu, 0, key.reason, false, now);
	count_key(&user_exits, &key, KVMSCOPE_DROP_USER_MAP_FULL);
	if (tv && tv->user_ts)
		end_vmm_time(tv, now);
}

/* @err: what KVM_RUN returns, 0 or a negative errno. */
static __always_inline void on_userspace_exit(__u32 reason, __s32 err)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 now = collect_latency || stream_enabled ? bpf_ktime_get_ns() : 0;
	struct kvmscope_thread_vcpu *tv = current_thread(id);
	struct kvmscope_user_exit_key key = {};

	if (err < 0) {
		on_userspace_error(id, tv, err, now);
		return;
	}
	key.tgid = id >> 32;
	key.vcpu = tv ? tv->vcpu : KVMSCOPE_VCPU_UNKNOWN;
	key.reason = reason;
	stream_exit(id, key.vcpu, 0, key.reason, false, now);
	if (!tv || !collect_latency) {
		count_key(&user_exits, &key, KVMSCOPE_DROP_USER_MAP_FULL);
	} else {
		/* Counted once timed, as in on_kvm_exit(). */
		if (tv->user_ts) {
			struct kvmscope_user_exit_key old = { .tgid = key.tgid, .vcpu = key.vcpu,
							      .reason = tv->user_reason };

			count_key(&user_exits, &old, KVMSCOPE_DROP_USER_MAP_FULL);
		}
		tv->user_ts = now;
		tv->user_reason = reason;
	}
	if (!tv)
		return;
	if (reason == KVMSCOPE_KVM_EXIT_IO && resolve_vcpu && collect_backdoor)
		count_backdoor(key.tgid, tv);
}

SEC("tracepoint/kvm/kvm_userspace_exit")
int kvmscope_kvm_userspace_exit(struct kvmscope_tp_kvm_userspace_exit *ctx)
{
	on_userspace_exit(ctx->reason, ctx->err);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_userspace_exit")
int BPF_PROG(kvmscope_kvm_userspace_exit_btf, __u32 reason, int err)
{
	on_userspace_exit(reason, err);
	return 0;
}

static __always_inline void on_pio(__u32 rw, __u32 port, __u32 size)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct kvmscope_thread_vcpu *tv = current_thread(id);
	struct kvmscope_pio_key key = {};

	key.tgid = id >> 32;
	key.vcpu = tv ? tv->vcpu : KVMSCOPE_VCPU_UNKNOWN;
	key.port = (__u16)port;
	key.direction = rw ? KVMSCOPE_PIO_OUT : KVMSCOPE_PIO_IN;
	key.size = (__u8)size;
	count_key(&pio_exits, &key, KVMSCOPE_DROP_PIO_MAP_FULL);
}

SEC("tracepoint/kvm/kvm_pio")
int kvmscope_kvm_pio(struct kvmscope_tp_kvm_pio *ctx)
{
	on_pio(ctx->rw, ctx->port, ctx->size);
	return KEEP_EVENT;
}

SEC("tp_btf/kvm_pio")
int BPF_PROG(kvmscope_kvm_pio_btf, unsigned int rw, unsigned int port, unsigned int size)
{
	on_pio(rw, port, size);
	return 0;
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
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_MMIO, (__u8)type, gpa >> 12);
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
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_MSR, write ? 1 : 0, ecx);
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
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_CPUID, 0,
		     (__u64)function << 32 | index);
	return 0;
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
	count_detail(bpf_get_current_pid_tgid() >> 32, KVMSCOPE_DETAIL_HYPERCALL, 0, nr);
	return 0;
}
