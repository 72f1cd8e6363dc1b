// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmscope exits capability: exact per-VM, per-vCPU, per-reason counts of
 * KVM exits, kept in bounded per-CPU hash maps and read by kvmscoped.
 *
 * Classic tracepoints are used for kvm_exit because since Linux 5.16 the
 * exit reason is no longer a TP_PROTO argument (see kvm-decode.md §4.1):
 * only the classic record carries it, at an offset that has not moved
 * since 5.10 (6.18 only appended "requests").  The daemon checks the
 * offsets below against tracefs before attaching.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kvmscope/exits.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the daemon between open and load. */
const volatile bool resolve_vcpu = true;

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

struct kvmscope_tp_kvm_userspace_exit {
	__u64 common;
	__u32 reason;		/* 8 */
	__s32 err;		/* 12 */
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

/* tid -> vCPU it runs; LRU so a busy host never fails an update. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KVMSCOPE_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct kvmscope_thread_vcpu);
} thread_vcpu SEC(".maps");

/* tgid of every process seen creating a VM or running a vCPU. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMSCOPE_MAX_VMS);
	__type(key, __u32);
	__type(value, struct kvmscope_vm_seen);
} vms_seen SEC(".maps");

/* New-VM notifications, so the daemon reads /proc while the process lives. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} vm_events SEC(".maps");

/* Events that could not be counted, by enum kvmscope_drop_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMSCOPE_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} exit_drops SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *val = bpf_map_lookup_elem(&exit_drops, &reason);

	if (val)
		*val += 1;
}

/*
 * Add one to a per-CPU counter.  Two CPUs may race to create the same key:
 * the loser's BPF_NOEXIST update fails and it increments its own slot of
 * the winner's element, so no increment is lost.
 */
static __always_inline void count_key(void *map, const void *key, __u32 drop)
{
	__u64 one = 1, *val;

	val = bpf_map_lookup_elem(map, key);
	if (val) {
		*val += 1;
		return;
	}
	if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST) == 0)
		return;
	val = bpf_map_lookup_elem(map, key);
	if (val)
		*val += 1;
	else
		count_drop(drop);
}

static __always_inline void note_vm(__u32 tgid)
{
	struct kvmscope_vm_seen seen = { .first_seen_ns = bpf_ktime_get_ns() };
	struct kvmscope_vm_event *ev;
	long err;

	if (bpf_map_lookup_elem(&vms_seen, &tgid))
		return;
	bpf_get_current_comm(seen.comm, sizeof(seen.comm));
	err = bpf_map_update_elem(&vms_seen, &tgid, &seen, BPF_NOEXIST);
	if (err) {
		if (err != -17 /* EEXIST: another thread was first */)
			count_drop(KVMSCOPE_DROP_VM_MAP_FULL);
		return;
	}
	/* Best effort: the daemon also sweeps vms_seen every second. */
	ev = bpf_ringbuf_reserve(&vm_events, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->tgid = tgid;
	ev->pad = 0;
	ev->ts_ns = seen.first_seen_ns;
	__builtin_memcpy(ev->comm, seen.comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline __u32 current_vcpu(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kvmscope_thread_vcpu *tv = bpf_map_lookup_elem(&thread_vcpu, &tid);

	return tv ? tv->vcpu : KVMSCOPE_VCPU_UNKNOWN;
}

/* Read kvm_vcpu->vcpu_id behind the file installed at @fd of the current task. */
static __always_inline __u32 vcpu_of_fd(__u64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fdarr;
	struct file *file = NULL;
	void *private;
	unsigned int max_fds;
	int vcpu_id = -1;

	if (!bpf_core_type_exists(struct kvm_vcpu))
		return KVMSCOPE_VCPU_UNKNOWN;
	max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
	if (fd >= max_fds)
		return KVMSCOPE_VCPU_UNKNOWN;
	fdarr = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fdarr[fd]) || !file)
		return KVMSCOPE_VCPU_UNKNOWN;
	private = BPF_CORE_READ(file, private_data);
	if (!private)
		return KVMSCOPE_VCPU_UNKNOWN;
	vcpu_id = BPF_CORE_READ((struct kvm_vcpu *)private, vcpu_id);
	/* KVM_MAX_VCPU_IDS is 4096 on x86; anything else is not a vCPU. */
	if (vcpu_id < 0 || vcpu_id > 65535)
		return KVMSCOPE_VCPU_UNKNOWN;
	return (__u32)vcpu_id;
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int kvmscope_ioctl_enter(struct kvmscope_tp_sys_enter_ioctl *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct kvmscope_thread_vcpu tv = {}, *old;
	__u32 cmd = (__u32)ctx->cmd;

	if (cmd == KVMSCOPE_IOCTL_KVM_CREATE_VM) {
		note_vm(tgid);
		return 0;
	}
	if (cmd != KVMSCOPE_IOCTL_KVM_RUN)
		return 0;

	/* Resolve once per (thread, fd): KVM_RUN is issued after every exit. */
	old = bpf_map_lookup_elem(&thread_vcpu, &tid);
	if (old && old->fd == (__s32)ctx->fd && old->tgid == tgid)
		return 0;
	note_vm(tgid);
	tv.tgid = tgid;
	tv.fd = (__s32)ctx->fd;
	tv.vcpu = resolve_vcpu ? vcpu_of_fd(ctx->fd) : KVMSCOPE_VCPU_UNKNOWN;
	if (bpf_map_update_elem(&thread_vcpu, &tid, &tv, BPF_ANY))
		count_drop(KVMSCOPE_DROP_THREAD_MAP_FULL);
	return 0;
}

SEC("tracepoint/kvm/kvm_exit")
int kvmscope_kvm_exit(struct kvmscope_tp_kvm_exit *ctx)
{
	struct kvmscope_hw_exit_key key = {};
	__u32 reason = ctx->exit_reason;

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.vcpu = ctx->vcpu_id;
	key.isa = ctx->isa;
	/* VMX: keep the basic reason and the failed-VM-entry bit only. */
	if (key.isa == KVMSCOPE_ISA_VMX)
		reason &= 0x8000ffffu;
	key.reason = reason;
	count_key(&hw_exits, &key, KVMSCOPE_DROP_HW_MAP_FULL);
	return 0;
}

SEC("tracepoint/kvm/kvm_userspace_exit")
int kvmscope_kvm_userspace_exit(struct kvmscope_tp_kvm_userspace_exit *ctx)
{
	struct kvmscope_user_exit_key key = {};

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.vcpu = current_vcpu();
	key.reason = ctx->reason;
	count_key(&user_exits, &key, KVMSCOPE_DROP_USER_MAP_FULL);
	return 0;
}

SEC("tracepoint/kvm/kvm_pio")
int kvmscope_kvm_pio(struct kvmscope_tp_kvm_pio *ctx)
{
	struct kvmscope_pio_key key = {};

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.vcpu = current_vcpu();
	key.port = (__u16)ctx->port;
	key.direction = ctx->rw ? KVMSCOPE_PIO_OUT : KVMSCOPE_PIO_IN;
	key.size = (__u8)ctx->size;
	count_key(&pio_exits, &key, KVMSCOPE_DROP_PIO_MAP_FULL);
	return 0;
}
