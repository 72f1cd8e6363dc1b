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

/*
 * Compiled-in sizes; the daemon sets the real ones (--max-threads: vCPU
 * threads that get a counter slot; --max-vms).
 */
#define KVMSCOPE_MAX_THREADS 1024
#define KVMSCOPE_MAX_VMS 4096

/* vCPU index used when the thread's vCPU could not be resolved. */
#define KVMSCOPE_VCPU_UNKNOWN 0xffffffffu

/* KVM_RUN = _IO(KVMIO, 0x80), KVM_CREATE_VM = _IO(KVMIO, 0x01) */
#define KVMSCOPE_IOCTL_KVM_RUN 0xae80u
#define KVMSCOPE_IOCTL_KVM_CREATE_VM 0xae01u

/* kvmscope_thread_vcpu.slot before the exits capability looked for one... */
#define KVMSCOPE_SLOT_UNSET 0xfffffffeu
/* ... and when none was free: the thread is counted in the hash maps. */
#define KVMSCOPE_NO_SLOT 0xffffffffu

/*
 * A thread that runs a vCPU, in task-local storage (one lookup per
 * program, freed with the thread): which vCPU, and the exits
 * capability's counter slot for it (struct kvmscope_slot), where its
 * counts and its exit in flight are kept.
 */
struct kvmscope_thread_vcpu {
	__u32 tgid;
	__s32 fd;	/* the vCPU fd of its last KVM_RUN, -1 if none seen */
	__u32 vcpu;	/* KVMSCOPE_VCPU_UNKNOWN if it could not be read */
	__u32 slot;	/* index in the slot table, or KVMSCOPE_SLOT_UNSET / _NO_SLOT */
	__u64 vcpu_ptr;	/* struct kvm_vcpu *, 0 if unknown: for register reads */
	__u64 run_ptr;	/* its struct kvm_run *, read once with vcpu_ptr */
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
