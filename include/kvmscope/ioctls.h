/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ioctls capability: KVM ioctls per VM, as the BPF programs
 * (bpf/ioctls.bpf.c) count them and the daemon (daemon/ioctls/) reads
 * them.  Fixed-width types only.  See kvm-decode.md §1 and §2.
 */
#ifndef KVMSCOPE_IOCTLS_H
#define KVMSCOPE_IOCTLS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "kvmscope/exits.h"	/* struct kvmscope_hist */
#include "kvmscope/vmtrack.h"	/* KVMSCOPE_VCPU_UNKNOWN */

#define KVMSCOPE_IOCTLS_SCHEMA_VERSION 1

/* The ioctl "type" byte of every KVM ioctl (bits 8-15 of the request). */
#define KVMSCOPE_KVMIO 0xaeu

/*
 * What an ioctl was sent to: decides its name where numbers collide
 * (kvm-decode.md §1.3).  From the file's name: "kvm" (/dev/kvm),
 * "kvm-vm", "kvm-vcpu:N", "kvm-<device>" (KVM_CREATE_DEVICE), and
 * "kvm-gmem" (guest_memfd).
 */
enum kvmscope_fd_kind {
	KVMSCOPE_FD_UNKNOWN = 0,
	KVMSCOPE_FD_SYSTEM = 1,		/* /dev/kvm */
	KVMSCOPE_FD_VM = 2,
	KVMSCOPE_FD_VCPU = 3,
	KVMSCOPE_FD_DEVICE = 4,
	KVMSCOPE_FD_GMEM = 5,
	KVMSCOPE_FD_KINDS,
};

/*
 * Which argument detail the BPF program read for an ioctl (the key's
 * sub), by request number (x86-64 values; the daemon knows the others).
 */
enum kvmscope_ioctl_sub {
	KVMSCOPE_SUB_NONE = 0,		/* sub is 0 */
	KVMSCOPE_SUB_VALUE,		/* the argument itself: CREATE_VM type, CHECK_EXTENSION cap */
	KVMSCOPE_SUB_FIRST_U32,		/* the first __u32 the argument points to: sev/tdx/pv id, cap */
};

/*
 * The one key of a VM's calls that came after it had --max-keys-per-vm
 * keys: cmd 0 (no KVM ioctl is 0), kind unknown, the rest 0.  They are
 * counted there, in total, and as KVMSCOPE_IOCTL_DROP_FOLDED.
 */
#define KVMSCOPE_IOCTL_CMD_FOLDED 0u

/* Counted per (VM, fd kind, request, sub, result). */
struct kvmscope_ioctl_key {
	__u32 tgid;
	__u32 cmd;		/* the request number as passed */
	__u32 vcpu;		/* a vCPU fd's index ("kvm-vcpu:N"), else KVMSCOPE_VCPU_UNKNOWN */
	__u32 sub;		/* sub-command, machine type or capability; 0 if none */
	__s32 result;		/* 0 or the negative errno */
	__u32 detail;		/* after the call: SEV error, TDX hw_error (low 32 bits), PV rc << 16 | rrc */
	__u8 kind;		/* enum kvmscope_fd_kind */
	__u8 pad[7];
};

struct kvmscope_ioctl_value {
	__u64 count;
	struct kvmscope_hist time;	/* duration of the call */
};

/*
 * A call in flight on a thread, from its entry to its return.  Where
 * backup programs run, the *_done and *_seen counts tell each backup
 * whether its first program ran for this call (ioctl_run_mine()).
 */
struct kvmscope_ioctl_inflight {
	__u64 ts;		/* 0: none */
	__u64 arg;
	__u32 cmd;
	__u32 sub;
	__u32 vcpu;
	__u8 kind;
	__u8 pad[3];
	__u32 enter_done, enter_seen;
	__u32 exit_done, exit_seen;
};

/* Most processes an ioctl stream can be filtered to (as many as subscriptions). */
#define KVMSCOPE_IOCTL_STREAM_PIDS 64

/*
 * One step of a VM's launch (the ring, always on: these calls are rare),
 * and, while someone subscribed to the ioctl topic, every call (its own ring):
 * KVM_CREATE_VM, KVM_MEMORY_ENCRYPT_OP, KVM_S390_PV_COMMAND,
 * KVM_S390_PV_CPU_COMMAND, KVM_ARM_VCPU_INIT, KVM_ENABLE_CAP.
 */
struct kvmscope_ioctl_event {
	__u64 ts_ns;		/* at entry */
	__u64 duration_ns;
	__u32 tgid;
	__u32 tid;
	__u32 cmd;
	__u32 sub;
	__s32 result;
	__u32 detail;
	__u64 detail64;		/* TDX: the whole hw_error */
	__u32 vcpu;
	__u8 kind;
	__u8 pad[3];
};

/* Why an ioctl was not counted. */
enum kvmscope_ioctl_drop {
	KVMSCOPE_IOCTL_DROP_MAP_FULL = 0,	/* the counts map had no room for a new key */
	KVMSCOPE_IOCTL_DROP_RING_FULL,		/* a launch step found the ring full */
	KVMSCOPE_IOCTL_DROP_INFLIGHT_FULL,	/* no room to note a call in flight */
	KVMSCOPE_IOCTL_DROP_STREAM_FULL,	/* the ioctl stream's ring was full (subscribers only) */
	KVMSCOPE_IOCTL_DROP_FOLDED,		/* counted in its VM's folded key, without detail */
	KVMSCOPE_IOCTL_DROP_MAX,
};

#endif /* KVMSCOPE_IOCTLS_H */
