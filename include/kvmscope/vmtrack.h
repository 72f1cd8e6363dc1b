/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * VM and thread tracking: types shared by bpf/vmtrack.bpf.h (included by
 * every capability's BPF object) and the daemon.  Fixed-width types only.
 */
#ifndef KVMSCOPE_VMTRACK_H
#define KVMSCOPE_VMTRACK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Compiled-in sizes; the daemon sets the real ones (--max-threads, --max-vms). */
#define KVMSCOPE_MAX_THREADS 8192
#define KVMSCOPE_MAX_VMS 4096

/* vCPU index used when the thread's vCPU could not be resolved. */
#define KVMSCOPE_VCPU_UNKNOWN 0xffffffffu

/* KVM_RUN = _IO(KVMIO, 0x80), KVM_CREATE_VM = _IO(KVMIO, 0x01) */
#define KVMSCOPE_IOCTL_KVM_RUN 0xae80u
#define KVMSCOPE_IOCTL_KVM_CREATE_VM 0xae01u

/*
 * A thread that runs a vCPU: which one, and what it is in the middle of.
 * exit_ts is set at kvm_exit and consumed by the next kvm_entry (handling
 * time); user_ts is set at kvm_userspace_exit and consumed when the thread
 * issues KVM_RUN again (time in the VMM).
 */
struct kvmscope_thread_vcpu {
	__u32 tgid;
	__s32 fd;	/* the vCPU fd of its last KVM_RUN, -1 if none seen */
	__u32 vcpu;	/* KVMSCOPE_VCPU_UNKNOWN if it could not be read */
	__u32 exit_isa;
	__u64 vcpu_ptr;	/* struct kvm_vcpu *, 0 if unknown: for register reads */
	__u64 run_ptr;	/* its struct kvm_run *, read once with vcpu_ptr */
	__u64 exit_ts;
	__u32 exit_reason;
	__u32 user_reason;
	__u64 user_ts;
};

/* A process that created a VM or ran a vCPU. */
struct kvmscope_vm_seen {
	__u64 first_seen_ns;
	char comm[16];
};

/* Ring buffer record: a process began using KVM (first KVM_CREATE_VM or KVM_RUN). */
struct kvmscope_vm_event {
	__u32 tgid;
	__u32 pad;
	__u64 ts_ns;
	char comm[16];
};

#endif /* KVMSCOPE_VMTRACK_H */
