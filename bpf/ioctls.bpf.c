// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmscope ioctls capability: every KVM ioctl per VM, with its result and
 * how long it took, and the argument details that tell a confidential or
 * paravirtual guest's launch apart (kvm-decode.md §1, §2).
 *
 * The daemon loads one set of programs: fentry/fexit on kvm_dev_ioctl,
 * kvm_vm_ioctl and kvm_vcpu_ioctl where fentry works; kprobe.multi on the
 * same functions where the kernel preempts anywhere (below); elsewhere:
 *
 * sys_enter_ioctl keeps requests of type KVMIO (0xAE) sent to a KVM file
 * (/dev/kvm, a VM, a vCPU, a device or a guest_memfd), notes the call in
 * the thread's storage and reads the argument's sub-command; sys_exit_ioctl
 * counts it by (VM, fd kind, vCPU, request, sub-command, result) with a
 * log2 histogram of its duration, and puts the launch steps (CREATE_VM,
 * MEMORY_ENCRYPT_OP, s390 PV commands, ARM_VCPU_INIT, ENABLE_CAP) on a
 * ring for the daemon's timelines.  Every other ioctl of the host costs
 * one compare at entry and one storage lookup at exit.
 *
 * fentry and fexit programs run preemptible: one preempted mid-run makes
 * the kernel skip the next run of that program on the CPU while it is
 * off (recursion_misses), a call lost.  ioctls_fast.bpf.o (this file
 * with KVMSCOPE_PREEMPT_OFF, Linux 6.10+) turns preemption off for each
 * body, which leaves the trampoline's own window, and the daemon
 * attaches a *_backup beside each program that does the work only when
 * its first program was skipped.  Where the kernel preempts anywhere even
 * both can be skipped; kprobes run with preemption off, so that is where
 * the daemon uses kprobe.multi.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "kvmscope/ioctls.h"
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Request numbers with an argument worth reading, for the host's arch:
 * set by the daemon from its name table before load (x86-64 defaults).
 */
const volatile __u32 cmd_kvm_run = 0xae80;
const volatile __u32 cmd_create_vm = 0xae01;
const volatile __u32 cmd_check_extension = 0xae03;
const volatile __u32 cmd_enable_cap = 0x4068aea3;
const volatile __u32 cmd_memory_encrypt_op = 0xc008aeba;
const volatile __u32 cmd_pv_command = 0xc020aec5;
const volatile __u32 cmd_pv_cpu_command = 0xc020aed0;
const volatile __u32 cmd_arm_vcpu_init = 0x4020aeae;
const volatile __u32 cmd_set_cpuid2 = 0x4008ae90;
/* Time KVM_RUN too (its time is the exits view's; off by default). */
const volatile bool time_kvm_run = false;
/* Keys one VM may make in ioctl_counts (--max-keys-per-vm); after, its folded key. */
const volatile __u32 max_keys_per_vm = 2048;
/* The *_backup programs may be attached: the first programs say when they ran. */
const volatile bool backup_runs = false;

/* Set by the daemon while someone subscribed to the ioctl topic ... */
volatile __u32 stream_enabled;
/* ... of whom one at least wants every process: ioctl_stream_pids is not asked. */
volatile __u32 stream_all_pids;

/* ANON_INODE_FS_MAGIC: VM, vCPU, device and guest_memfd files live there. */
#define ANON_INODE_MAGIC 0x09041934
/* /dev/kvm: misc device 10, minor 232 (kdev_t: major << 20 | minor). */
#define DEV_KVM_RDEV ((10u << 20) | 232u)
/* The KVM paravirt feature leaf a VMM exposes with KVM_SET_CPUID2. */
#define KVM_CPUID_FEATURES 0x40000001u
#define CPUID_ENTRIES_MAX 128

struct kvmscope_tp_sys_enter_ioctl {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 fd;
	__u64 cmd;
	__u64 arg;
};

struct kvmscope_tp_sys_exit {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__s64 ret;
};

/* Counts and durations; bounded, a full map counted in ioctl_drops. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kvmscope_ioctl_key);
	__type(value, struct kvmscope_ioctl_value);
} ioctl_counts SEC(".maps");

/* The call in flight on each thread: task storage, freed with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct kvmscope_ioctl_inflight);
} ioctl_inflight SEC(".maps");

/*
 * Keys each process made in ioctl_counts, so that one VM cannot fill it
 * for all (a VMM chooses its requests and arguments).  Sized by the
 * daemon (--max-vms); its entries leave with the VM's keys.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMSCOPE_MAX_VMS);
	__type(key, __u32);
	__type(value, __u32);
} ioctl_vm_keys SEC(".maps");

/* Launch steps, always on: a VM makes a handful. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ioctl_events SEC(".maps");

/* Every call, while streaming: drained by the daemon on a 10 ms timer, no wakeups. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} ioctl_stream SEC(".maps");

/* The processes the subscriptions name, when none wants every one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMSCOPE_IOCTL_STREAM_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} ioctl_stream_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMSCOPE_IOCTL_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ioctl_drops SEC(".maps");

static __always_inline void count_drop(__u32 why)
{
	__u64 *n = bpf_map_lookup_elem(&ioctl_drops, &why);

	if (n)
		*n += 1;
}

/*
 * Is this run the one to handle the thread's call at this hook?  The
 * first program always is, and counts itself in @done; its backup, which
 * runs right after it on the same thread, only when @done did not move
 * since the backup last looked (the first was skipped).
 */
static __always_inline bool ioctl_run_mine(__u32 *done, __u32 *seen, bool backup)
{
	bool skipped;

	if (!backup_runs)
		return !backup;
	if (!backup) {
		*done += 1;
		return true;
	}
	skipped = *done == *seen;
	if (skipped)
		*done += 1;
	*seen = *done;
	return skipped;
}

/*
 * What kind of KVM file @file is (KVMSCOPE_FD_UNKNOWN: not KVM's), and
 * for a vCPU its index from the name "kvm-vcpu:N".  /dev/kvm is known by
 * its device number; the others are anonymous inodes named by KVM.
 */
static __always_inline __u8 kvm_fd_kind(struct file *file, __u32 *vcpu)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	char name[16] = {};
	const unsigned char *p;

	*vcpu = KVMSCOPE_VCPU_UNKNOWN;
	if (!inode)
		return KVMSCOPE_FD_UNKNOWN;
	if (BPF_CORE_READ(inode, i_rdev) == DEV_KVM_RDEV &&
	    (BPF_CORE_READ(inode, i_mode) & 0170000) == 0020000 /* S_IFCHR */)
		return KVMSCOPE_FD_SYSTEM;
	if (BPF_CORE_READ(inode, i_sb, s_magic) != ANON_INODE_MAGIC)
		return KVMSCOPE_FD_UNKNOWN;
	p = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(name, sizeof(name), p) < 0)
		return KVMSCOPE_FD_UNKNOWN;
	if (name[0] == '[' && name[1] == 'k' && name[2] == 'v' && name[3] == 'm' &&
	    name[4] == '-' && name[5] == 'g' && name[6] == 'm' && name[7] == 'e' && name[8] == 'm')
		return KVMSCOPE_FD_GMEM;
	if (name[0] != 'k' || name[1] != 'v' || name[2] != 'm' || name[3] != '-')
		return KVMSCOPE_FD_UNKNOWN;
	if (name[4] == 'v' && name[5] == 'm' && name[6] == '\0')
		return KVMSCOPE_FD_VM;
	if (name[4] == 'v' && name[5] == 'c' && name[6] == 'p' && name[7] == 'u' && name[8] == ':') {
		__u32 id = 0;
		int digits = 0;

		for (int i = 9; i < 15; i++) {
			if (name[i] < '0' || name[i] > '9')
				break;
			id = id * 10 + (name[i] - '0');
			digits++;
		}
		if (digits)
			*vcpu = id;
		return KVMSCOPE_FD_VCPU;
	}
	return KVMSCOPE_FD_DEVICE;
}

/* The first __u32 the argument points to (a sub-command, a capability), or 0. */
static __always_inline __u32 user_u32(__u64 arg, __u32 off)
{
	__u32 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (const void *)(arg + off));
	return v;
}

/*
 * KVM_SET_CPUID2: the EAX of the KVM paravirt feature leaf the VMM gives
 * the guest (kvmclock, async PF, PV EOI, steal time, ...), 0 if absent.
 * struct kvm_cpuid2 { __u32 nent, padding; struct kvm_cpuid_entry2 entries[]; },
 * each entry 40 bytes: function at 0, eax at 12.
 */
static __always_inline __u32 cpuid_pv_features(__u64 arg)
{
	__u32 nent = user_u32(arg, 0);

	for (__u32 i = 0; i < CPUID_ENTRIES_MAX; i++) {
		__u64 e = arg + 8 + (__u64)i * 40;

		if (i >= nent)
			break;
		if (user_u32(e, 0) == KVM_CPUID_FEATURES)
			return user_u32(e, 12);
	}
	return 0;
}

/*
 * A KVM ioctl begins on the current thread: read its sub-command, note it
 * in the thread's storage for its end.
 */
static __always_inline int ioctl_begin(__u32 cmd, __u64 arg, __u8 kind, __u32 vcpu, bool backup)
{
	struct kvmscope_ioctl_inflight *f;
	__u32 sub = 0;

	/* KVM's requests only, whichever way the call was seen (a tty ioctl on a VM fd is not). */
	if (((cmd >> 8) & 0xff) != KVMSCOPE_KVMIO)
		return 0;
	f = bpf_task_storage_get(&ioctl_inflight, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!f) {
		count_drop(KVMSCOPE_IOCTL_DROP_INFLIGHT_FULL);
		return 0;
	}
	if (!ioctl_run_mine(&f->enter_done, &f->enter_seen, backup))
		return 0;
	if (cmd == cmd_create_vm || cmd == cmd_check_extension)
		sub = (__u32)arg;
	else if (cmd == cmd_enable_cap || cmd == cmd_memory_encrypt_op || cmd == cmd_pv_command ||
		 cmd == cmd_pv_cpu_command || cmd == cmd_arm_vcpu_init)
		sub = user_u32(arg, 0);
	else if (cmd == cmd_set_cpuid2)
		sub = cpuid_pv_features(arg);
	f->cmd = cmd;
	f->sub = sub;
	f->vcpu = vcpu;
	f->kind = kind;
	f->arg = arg;
	f->ts = bpf_ktime_get_ns();
	return 0;
}

/*
 * The syscall tracepoints' programs share one per-CPU guard (a run is
 * skipped while any of them runs on that CPU), so a backup would be
 * skipped with its program: none here.  On a kernel that preempts
 * anywhere they lose calls too (27 % on 7.2); kprobe.multi serves there.
 */
SEC("tracepoint/syscalls/sys_enter_ioctl")
int kvmscope_ioctls_enter(struct kvmscope_tp_sys_enter_ioctl *ctx)
{
	__u32 cmd = (__u32)ctx->cmd, vcpu;
	struct file *file;
	__u8 kind;

	/* Every ioctl of the host comes here: the type byte first. */
	if (((cmd >> 8) & 0xff) != KVMSCOPE_KVMIO)
		return 0;
	file = file_of_fd(ctx->fd);
	if (!file)
		return 0;
	kind = kvm_fd_kind(file, &vcpu);
	if (kind == KVMSCOPE_FD_UNKNOWN)
		return 0;
	PREEMPT_OFF();
	ioctl_begin(cmd, ctx->arg, kind, vcpu, false);
	PREEMPT_ON();
	return 0;
}

static __always_inline bool is_launch_step(__u32 cmd)
{
	return cmd == cmd_create_vm || cmd == cmd_memory_encrypt_op || cmd == cmd_pv_command ||
	       cmd == cmd_pv_cpu_command || cmd == cmd_arm_vcpu_init || cmd == cmd_enable_cap;
}

static __always_inline void fill_event(struct kvmscope_ioctl_event *ev,
				       const struct kvmscope_ioctl_key *key, __u64 now, __u64 delta,
				       __u64 detail64, __u32 tid)
{
	ev->ts_ns = now - delta;
	ev->duration_ns = delta;
	ev->tgid = key->tgid;
	ev->tid = tid;
	ev->cmd = key->cmd;
	ev->sub = key->sub;
	ev->result = key->result;
	ev->detail = key->detail;
	ev->detail64 = detail64;
	ev->vcpu = key->vcpu;
	ev->kind = key->kind;
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
}

/*
 * The value of @key, made if new: a new key counts against its VM's
 * share; over it, the VM's folded key instead (in @folded).  Two CPUs
 * may both pass at the limit: a VM holds a key or two more at most.
 */
static __always_inline struct kvmscope_ioctl_value *
value_of(const struct kvmscope_ioctl_key *key, struct kvmscope_ioctl_key *folded)
{
	struct kvmscope_ioctl_value zero = {}, *v = bpf_map_lookup_elem(&ioctl_counts, key);
	__u32 none = 0, *n;

	if (v)
		return v;
	n = bpf_map_lookup_elem(&ioctl_vm_keys, &key->tgid);
	if (!n) {
		bpf_map_update_elem(&ioctl_vm_keys, &key->tgid, &none, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&ioctl_vm_keys, &key->tgid);
	}
	if (n && *n >= max_keys_per_vm) {
		count_drop(KVMSCOPE_IOCTL_DROP_FOLDED);
		folded->tgid = key->tgid;
		folded->cmd = KVMSCOPE_IOCTL_CMD_FOLDED;
		folded->vcpu = KVMSCOPE_VCPU_UNKNOWN;
		v = bpf_map_lookup_elem(&ioctl_counts, folded);
		if (v)
			return v;
		key = folded;
		n = NULL;
	}
	if (bpf_map_update_elem(&ioctl_counts, key, &zero, BPF_NOEXIST) == 0) {
		if (n)
			__sync_fetch_and_add(n, 1);
	} else if (!bpf_map_lookup_elem(&ioctl_counts, key)) {
		count_drop(KVMSCOPE_IOCTL_DROP_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&ioctl_counts, key);
}

/* Count one call of @key that took @delta ns (timed: into its histogram too). */
static __always_inline bool count_call(const struct kvmscope_ioctl_key *key, __u64 delta, bool timed)
{
	struct kvmscope_ioctl_key folded = {};
	struct kvmscope_ioctl_value *v = value_of(key, &folded);
	__u32 b;

	if (!v)
		return false;
	__sync_fetch_and_add(&v->count, 1);
	if (!timed)
		return true;
	b = log2_slot(delta);
	asm volatile("" : "+r"(b));
	if (b < KVMSCOPE_HIST_SLOTS)
		__sync_fetch_and_add(&v->time.slots[b], 1);
	__sync_fetch_and_add(&v->time.sum_ns, delta);
	if (delta > v->time.max_ns)
		v->time.max_ns = delta;
	return true;
}

/* A __u16 of the caller's structure, 0 if it cannot be read. */
static __always_inline __u32 user_u16(__u64 arg, __u32 off)
{
	__u16 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (const void *)(arg + off));
	return v;
}

enum ioctl_end_result {
	END_COUNTED,	/* the noted call was counted (and streamed) */
	END_NOT_MINE,	/* the other program of the pair handles this return */
	END_NO_NOTE,	/* nothing was noted at entry: nothing counted */
};

/*
 * The KVM ioctl noted on the current thread returned @ret: count it,
 * stream it, and if it is a launch step put it on the launch ring.
 * Where backups may run, the thread's storage is made here when missing
 * (KVM_RUN's fast way notes nothing at entry), so a backup can tell.
 */
static __always_inline enum ioctl_end_result ioctl_end(long ret, bool backup)
{
	struct kvmscope_ioctl_key key = {};
	struct kvmscope_ioctl_inflight *f;
	__u64 now, delta, detail64 = 0, id;

	f = bpf_task_storage_get(&ioctl_inflight, bpf_get_current_task_btf(), 0,
				 backup_runs ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!f)
		return backup ? END_NOT_MINE : END_NO_NOTE;
	if (!ioctl_run_mine(&f->exit_done, &f->exit_seen, backup))
		return END_NOT_MINE;
	if (!f->ts)
		return END_NO_NOTE;
	now = bpf_ktime_get_ns();
	delta = now - f->ts;
	id = bpf_get_current_pid_tgid();
	key.tgid = id >> 32;
	key.cmd = f->cmd;
	key.vcpu = f->vcpu;
	key.sub = f->sub;
	key.kind = f->kind;
	key.result = ret < 0 ? (__s32)ret : 0;
	/* What the kernel wrote back into the caller's structure. */
	if (f->cmd == cmd_memory_encrypt_op) {
		/* kvm_sev_cmd.error (u32) and kvm_tdx_cmd.hw_error (u64) are both at 16. */
		bpf_probe_read_user(&detail64, sizeof(detail64), (const void *)(f->arg + 16));
		key.detail = (__u32)detail64;
	} else if (f->cmd == cmd_pv_command || f->cmd == cmd_pv_cpu_command) {
		/* struct kvm_pv_cmd: __u16 rc at 4, __u16 rrc at 6 (s390 is big-endian: read each). */
		key.detail = user_u16(f->arg, 4) << 16 | user_u16(f->arg, 6);
	} else if (f->cmd == cmd_arm_vcpu_init) {
		/* struct kvm_vcpu_init: features[0] after the target. */
		key.detail = user_u32(f->arg, 4);
	}
	f->ts = 0;

	if (!count_call(&key, delta, key.cmd != cmd_kvm_run || time_kvm_run))
		return END_COUNTED;
	if (stream_enabled && (stream_all_pids || bpf_map_lookup_elem(&ioctl_stream_pids, &key.tgid))) {
		struct kvmscope_ioctl_event *ev = bpf_ringbuf_reserve(&ioctl_stream, sizeof(*ev), 0);

		if (ev) {
			fill_event(ev, &key, now, delta, detail64, (__u32)id);
			bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
		} else {
			count_drop(KVMSCOPE_IOCTL_DROP_STREAM_FULL);
		}
	}
	if (is_launch_step(key.cmd)) {
		struct kvmscope_ioctl_event *ev = bpf_ringbuf_reserve(&ioctl_events, sizeof(*ev), 0);

		if (!ev) {
			count_drop(KVMSCOPE_IOCTL_DROP_RING_FULL);
			return END_COUNTED;
		}
		fill_event(ev, &key, now, delta, detail64, (__u32)id);
		bpf_ringbuf_submit(ev, 0);
	}
	return END_COUNTED;
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int kvmscope_ioctls_exit(struct kvmscope_tp_sys_exit *ctx)
{
	PREEMPT_OFF();
	ioctl_end(ctx->ret, false);
	PREEMPT_ON();
	return 0;
}

/* One fentry/fexit pair and its backups on KVM function @fn, the fd kind @kind. */
#define IOCTL_HOOKS(fn, name, kind)							\
SEC("fentry/" #fn)									\
int BPF_PROG(kvmscope_ioctls_##name##_enter, struct file *filp, unsigned int ioctl,	\
	     unsigned long arg)								\
{											\
	PREEMPT_OFF();									\
	ioctl_begin(ioctl, arg, kind, KVMSCOPE_VCPU_UNKNOWN, false);			\
	PREEMPT_ON();									\
	return 0;									\
}											\
SEC("fentry/" #fn)									\
int BPF_PROG(kvmscope_ioctls_##name##_enter_backup, struct file *filp,			\
	     unsigned int ioctl, unsigned long arg)					\
{											\
	PREEMPT_OFF();									\
	ioctl_begin(ioctl, arg, kind, KVMSCOPE_VCPU_UNKNOWN, true);			\
	PREEMPT_ON();									\
	return 0;									\
}											\
SEC("fexit/" #fn)									\
int BPF_PROG(kvmscope_ioctls_##name##_exit, struct file *filp, unsigned int ioctl,	\
	     unsigned long arg, long ret)						\
{											\
	PREEMPT_OFF();									\
	ioctl_end(ret, false);								\
	PREEMPT_ON();									\
	return 0;									\
}											\
SEC("fexit/" #fn)									\
int BPF_PROG(kvmscope_ioctls_##name##_exit_backup, struct file *filp,			\
	     unsigned int ioctl, unsigned long arg, long ret)				\
{											\
	PREEMPT_OFF();									\
	ioctl_end(ret, true);								\
	PREEMPT_ON();									\
	return 0;									\
}

/*
 * Where fentry works (the lab's kernels), KVM's own three ioctl entry
 * points instead: only KVM's ioctls pay, and the fd kind is the function.
 */
IOCTL_HOOKS(kvm_dev_ioctl, dev, KVMSCOPE_FD_SYSTEM)
IOCTL_HOOKS(kvm_vm_ioctl, vm, KVMSCOPE_FD_VM)

static __always_inline __u32 vcpu_index_of(struct file *filp)
{
	struct kvm_vcpu *vcpu = BPF_CORE_READ(filp, private_data);
	int id = vcpu ? BPF_CORE_READ(vcpu, vcpu_id) : -1;

	return id >= 0 ? (__u32)id : KVMSCOPE_VCPU_UNKNOWN;
}

/*
 * KVM_RUN, the one ioctl a VMM makes at every exit to it, is counted at
 * fexit alone, which has its arguments and result: no note, no clock
 * (its time is the exits view's) unless someone streams the ioctls.
 */
static __always_inline void vcpu_enter(struct file *filp, unsigned int ioctl, unsigned long arg,
				       bool backup)
{
	if (ioctl == cmd_kvm_run && !stream_enabled && !time_kvm_run)
		return;
	PREEMPT_OFF();
	ioctl_begin(ioctl, arg, KVMSCOPE_FD_VCPU, vcpu_index_of(filp), backup);
	PREEMPT_ON();
}

static __always_inline void vcpu_exit(struct file *filp, unsigned int ioctl, long ret, bool backup)
{
	struct kvmscope_ioctl_key key = {};
	enum ioctl_end_result r = END_NO_NOTE;

	if (backup && !backup_runs)
		return;
	PREEMPT_OFF();
	if (ioctl != cmd_kvm_run || stream_enabled || time_kvm_run || backup_runs)
		r = ioctl_end(ret, backup);
	/* Not noted at entry: KVM_RUN the fast way (or the stream was turned on meanwhile). */
	if (ioctl == cmd_kvm_run && r == END_NO_NOTE) {
		key.tgid = bpf_get_current_pid_tgid() >> 32;
		key.cmd = ioctl;
		key.vcpu = vcpu_index_of(filp);
		key.kind = KVMSCOPE_FD_VCPU;
		key.result = ret < 0 ? (__s32)ret : 0;
		count_call(&key, 0, false);
	}
	PREEMPT_ON();
}

SEC("fentry/kvm_vcpu_ioctl")
int BPF_PROG(kvmscope_ioctls_vcpu_enter, struct file *filp, unsigned int ioctl, unsigned long arg)
{
	vcpu_enter(filp, ioctl, arg, false);
	return 0;
}

SEC("fentry/kvm_vcpu_ioctl")
int BPF_PROG(kvmscope_ioctls_vcpu_enter_backup, struct file *filp, unsigned int ioctl,
	     unsigned long arg)
{
	vcpu_enter(filp, ioctl, arg, true);
	return 0;
}

SEC("fexit/kvm_vcpu_ioctl")
int BPF_PROG(kvmscope_ioctls_vcpu_exit, struct file *filp, unsigned int ioctl, unsigned long arg,
	     long ret)
{
	vcpu_exit(filp, ioctl, ret, false);
	return 0;
}

SEC("fexit/kvm_vcpu_ioctl")
int BPF_PROG(kvmscope_ioctls_vcpu_exit_backup, struct file *filp, unsigned int ioctl,
	     unsigned long arg, long ret)
{
	vcpu_exit(filp, ioctl, ret, true);
	return 0;
}

/*
 * On a kernel that preempts anywhere, where fentry programs lose calls:
 * kprobe.multi at entry and return, which run with preemption off and
 * keep each call's return on the thread's own stack (Linux 6.15+).  The
 * return has no arguments: every call is noted at entry, KVM_RUN too.
 */
#define IOCTL_KPROBES(fn, name, kind, vcpu_of)						\
SEC("kprobe.multi/" #fn)								\
int BPF_KPROBE(kvmscope_ioctls_##name##_kprobe, struct file *filp, unsigned int ioctl,	\
	       unsigned long arg)							\
{											\
	ioctl_begin(ioctl, arg, kind, vcpu_of, false);					\
	return 0;									\
}											\
SEC("kretprobe.multi/" #fn)								\
int BPF_KRETPROBE(kvmscope_ioctls_##name##_kretprobe, long ret)			\
{											\
	ioctl_end(ret, false);								\
	return 0;									\
}

IOCTL_KPROBES(kvm_dev_ioctl, dev, KVMSCOPE_FD_SYSTEM, KVMSCOPE_VCPU_UNKNOWN)
IOCTL_KPROBES(kvm_vm_ioctl, vm, KVMSCOPE_FD_VM, KVMSCOPE_VCPU_UNKNOWN)
IOCTL_KPROBES(kvm_vcpu_ioctl, vcpu, KVMSCOPE_FD_VCPU, vcpu_index_of(filp))
