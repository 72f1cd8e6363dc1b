/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * VM and thread tracking, shared by every capability's BPF object: which
 * processes use KVM (vms_seen, and vm_events to tell the daemon at once)
 * and which vCPU each thread runs (thread_vcpu).  Each object that
 * includes this declares the same three maps; the daemon pins maps by
 * name (pin_object_maps()), so every object that loads with the same pin
 * directory uses the one set of maps instead of tracking VMs again.
 *
 * The includer defines, before including:
 *   vmtrack_count_drop(tgid, what)  count a lost update, with what being
 *   VMTRACK_DROP_VM_FULL or VMTRACK_DROP_THREAD_FULL;
 *   vmtrack_leave_slot(tv)  the thread runs another vCPU: give up its slot.
 * thread_vcpu's slot belongs to the exits capability; other capabilities
 * read the vCPU and leave it.
 */
#ifndef KVMSCOPE_VMTRACK_BPF_H
#define KVMSCOPE_VMTRACK_BPF_H

#include "kvmscope/vmtrack.h"
#include "common.bpf.h"

/* The vCPU each thread runs, in the thread's own storage: freed with it. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
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
			vmtrack_count_drop(0, VMTRACK_DROP_VM_FULL);
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

static __always_inline struct kvmscope_thread_vcpu *current_thread(void)
{
	return bpf_task_storage_get(&thread_vcpu, bpf_get_current_task_btf(), 0, 0);
}

/*
 * The current thread's state, made (fd unknown, no slot yet, @vcpu) where
 * it has none: at its first event, or an exit when it was inside KVM_RUN
 * as we attached.  NULL, counted as a drop, when it cannot be made.
 */
static __always_inline struct kvmscope_thread_vcpu *current_thread_or_new(__u64 id, __u32 vcpu)
{
	struct kvmscope_thread_vcpu init = { .tgid = id >> 32, .fd = -1, .vcpu = vcpu,
					     .slot = KVMSCOPE_SLOT_UNSET };
	struct kvmscope_thread_vcpu *tv;

	tv = bpf_task_storage_get(&thread_vcpu, bpf_get_current_task_btf(), &init,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tv)
		vmtrack_count_drop(id >> 32, VMTRACK_DROP_THREAD_FULL);
	return tv;
}

/* The struct kvm_vcpu behind the file installed at @fd of the current task. */
static __always_inline struct kvm_vcpu *vcpu_of_fd(__u64 fd)
{
	struct file *file;

	if (!bpf_core_type_exists(struct kvm_vcpu))
		return NULL;
	file = file_of_fd(fd);
	return file ? BPF_CORE_READ(file, private_data) : NULL;
}

static __always_inline __u32 vcpu_id_of(struct kvm_vcpu *vcpu)
{
	int vcpu_id;

	if (!vcpu)
		return KVMSCOPE_VCPU_UNKNOWN;
	vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
	/* KVM_MAX_VCPU_IDS is 4096 on x86; anything else is not a vCPU. */
	if (vcpu_id < 0 || vcpu_id > 65535)
		return KVMSCOPE_VCPU_UNKNOWN;
	return (__u32)vcpu_id;
}

/*
 * The thread's state for the vCPU @vcpu it is about to enter or has just
 * left (tp_btf programs).  Made at the thread's first kvm_entry, or again
 * when the thread runs another vCPU or its tid was reused: that is where
 * the vCPU is resolved when no KVM_RUN hook is attached.
 */
static __noinline struct kvmscope_thread_vcpu *thread_for_vcpu_slow(struct kvm_vcpu *vcpu)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct kvmscope_thread_vcpu *tv;

	if (!vcpu)
		return NULL;
	tv = current_thread_or_new(id, KVMSCOPE_VCPU_UNKNOWN);
	if (!tv)
		return NULL;
	note_vm(id >> 32);
	/* A thread that runs another vCPU counts into a slot of its own. */
	if (tv->vcpu_ptr && tv->vcpu_ptr != (__u64)vcpu)
		vmtrack_leave_slot(tv);
	tv->tgid = id >> 32;
	tv->vcpu = vcpu_id_of(vcpu);
	tv->vcpu_ptr = (__u64)vcpu;
	tv->run_ptr = (__u64)BPF_CORE_READ(vcpu, run);
	return tv;
}

/*
 * The thread's state for the vCPU @vcpu it is about to enter or has just
 * left (tp_btf programs): one task-storage lookup on the fast path.
 */
static __always_inline struct kvmscope_thread_vcpu *thread_for_vcpu(struct kvm_vcpu *vcpu)
{
	struct kvmscope_thread_vcpu *tv = current_thread();

	if (tv && tv->vcpu_ptr == (__u64)vcpu)
		return tv;
	return thread_for_vcpu_slow(vcpu);
}

#endif /* KVMSCOPE_VMTRACK_BPF_H */
