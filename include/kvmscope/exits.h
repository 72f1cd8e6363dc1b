/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The exits capability: types shared by bpf/exits.bpf.c and the daemon.
 * Fixed-width types only, so the same layout holds in BPF and user space.
 */
#ifndef KVMSCOPE_EXITS_H
#define KVMSCOPE_EXITS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KVMSCOPE_EXITS_SCHEMA_VERSION 1

/* Map sizes: bounded, so a host with many VMs cannot exhaust memory. */
#define KVMSCOPE_MAX_HW_EXIT_KEYS 16384
#define KVMSCOPE_MAX_USER_EXIT_KEYS 8192
#define KVMSCOPE_MAX_PIO_KEYS 8192
#define KVMSCOPE_MAX_THREADS 8192
#define KVMSCOPE_MAX_VMS 4096

/* kvm_exit's isa argument (arch/x86/kvm/trace.h); arm64 and s390 get our own numbers. */
enum kvmscope_isa {
	KVMSCOPE_ISA_UNKNOWN = 0,
	KVMSCOPE_ISA_VMX = 1,
	KVMSCOPE_ISA_SVM = 2,
	KVMSCOPE_ISA_ARM64 = 3,
	KVMSCOPE_ISA_S390 = 4,
};

/* vCPU index used when the thread's vCPU could not be resolved. */
#define KVMSCOPE_VCPU_UNKNOWN 0xffffffffu

/* KVM_RUN = _IO(KVMIO, 0x80), KVM_CREATE_VM = _IO(KVMIO, 0x01) */
#define KVMSCOPE_IOCTL_KVM_RUN 0xae80u
#define KVMSCOPE_IOCTL_KVM_CREATE_VM 0xae01u

/* Hardware exit (kvm_exit tracepoint). */
struct kvmscope_hw_exit_key {
	__u32 tgid;
	__u32 vcpu;
	__u32 isa;
	__u32 reason;
};

/* Exit to the VMM (kvm_userspace_exit tracepoint): reason is KVM_EXIT_*. */
struct kvmscope_user_exit_key {
	__u32 tgid;
	__u32 vcpu;
	__u32 reason;
	__u32 pad;
};

/* Port I/O (kvm_pio tracepoint). */
struct kvmscope_pio_key {
	__u32 tgid;
	__u32 vcpu;
	__u16 port;
	__u8 direction; /* KVMSCOPE_PIO_IN / _OUT, as kvm_pio's rw */
	__u8 size;
	__u32 pad;
};

enum kvmscope_pio_direction {
	KVMSCOPE_PIO_IN = 0,
	KVMSCOPE_PIO_OUT = 1,
};

/* The thread that issued KVM_RUN, and the vCPU it runs. */
struct kvmscope_thread_vcpu {
	__u32 tgid;
	__s32 fd;
	__u32 vcpu; /* KVMSCOPE_VCPU_UNKNOWN if it could not be read */
	__u32 pad;
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

/* Why an event was not counted: indexes of the exit_drops array. */
enum kvmscope_drop_reason {
	KVMSCOPE_DROP_HW_MAP_FULL = 0,
	KVMSCOPE_DROP_USER_MAP_FULL,
	KVMSCOPE_DROP_PIO_MAP_FULL,
	KVMSCOPE_DROP_THREAD_MAP_FULL,
	KVMSCOPE_DROP_VM_MAP_FULL,
	KVMSCOPE_DROP_MAX,
};

#endif /* KVMSCOPE_EXITS_H */
