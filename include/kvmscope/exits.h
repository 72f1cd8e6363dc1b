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

#include "kvmscope/vmtrack.h"

#define KVMSCOPE_EXITS_SCHEMA_VERSION 6

/*
 * Map sizes: bounded, so a host with many VMs cannot exhaust memory.  These
 * are the compiled defaults; the daemon sets the real sizes from its
 * options (--max-vms, --max-threads, --max-keys) before loading.
 */
#define KVMSCOPE_MAX_HW_EXIT_KEYS 16384
#define KVMSCOPE_MAX_USER_EXIT_KEYS 8192
#define KVMSCOPE_MAX_PIO_KEYS 8192
#define KVMSCOPE_MAX_DETAIL_KEYS 16384
#define KVMSCOPE_MAX_DETAIL_OTHER_KEYS 4096

/* log2 histogram of nanoseconds: slot k counts [2^k, 2^(k+1)); the last
 * slot also takes everything longer (2^39 ns is about 9 minutes). */
#define KVMSCOPE_HIST_SLOTS 40

/* kvm_exit's isa argument (arch/x86/kvm/trace.h); arm64 and s390 get our own numbers. */
enum kvmscope_isa {
	KVMSCOPE_ISA_UNKNOWN = 0,
	KVMSCOPE_ISA_VMX = 1,
	KVMSCOPE_ISA_SVM = 2,
	KVMSCOPE_ISA_ARM64 = 3,
	KVMSCOPE_ISA_S390 = 4,
};

/*
 * An arm64 exit's reason: the guest's exception level in bits 31:30 (0:
 * not known, as in a recorded trace; KVMSCOPE_ARM64_EL0/EL1/EL2 + 1), the
 * exception type (kvm_exit's ret, ARM_EXCEPTION_*) in bits 29:8, the ESR
 * exception class in bits 7:0 (a trap's only; 0 for the other types).
 */
#define KVMSCOPE_ARM64_EL_SHIFT 30
#define KVMSCOPE_ARM64_RET_SHIFT 8
#define KVMSCOPE_ARM64_RET_MASK 0x3fffffu
#define KVMSCOPE_ARM64_EC_MASK 0x3fu
#define KVMSCOPE_ARM64_TRAP 2	/* ARM_EXCEPTION_TRAP */
/* Exception level + 1 in the reason; EL2 of a guest is its virtual EL2. */
enum kvmscope_arm64_el {
	KVMSCOPE_ARM64_EL_UNKNOWN = 0,
	KVMSCOPE_ARM64_EL0 = 1,
	KVMSCOPE_ARM64_EL1 = 2,
	KVMSCOPE_ARM64_EL2 = 3,
};

static inline __u32 kvmscope_arm64_reason(__u32 ret, __u32 esr_ec, __u32 el)
{
	__u32 type = ret & KVMSCOPE_ARM64_RET_MASK;
	__u32 ec = type == KVMSCOPE_ARM64_TRAP ? esr_ec & KVMSCOPE_ARM64_EC_MASK : 0;

	return (el & 3) << KVMSCOPE_ARM64_EL_SHIFT | type << KVMSCOPE_ARM64_RET_SHIFT | ec;
}

/*
 * The level a PSTATE (SPSR) value was taken from: AArch64 M[3:2]; an
 * AArch32 mode (M[4] set) is EL0 for User, EL2 for Hyp, EL1 otherwise.
 */
static inline __u32 kvmscope_arm64_el_of_pstate(__u64 pstate)
{
	__u32 mode = pstate & 0x1f, el = (mode >> 2) & 3;

	if (mode & 0x10)
		return mode == 0x10 ? KVMSCOPE_ARM64_EL0 :
		       mode == 0x1a ? KVMSCOPE_ARM64_EL2 : KVMSCOPE_ARM64_EL1;
	return el >= 2 ? KVMSCOPE_ARM64_EL2 : el + 1;
}

/* Hardware exit (kvm_exit tracepoint). */
struct kvmscope_hw_exit_key {
	__u32 tgid;
	__u32 vcpu;
	__u32 isa;
	__u32 reason;
};

/*
 * Exit to the VMM (kvm_userspace_exit tracepoint): reason is KVM_EXIT_*,
 * or for a KVM_RUN that returned an error, KVMSCOPE_USER_ERROR_BASE | errno.
 */
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

/*
 * user_exits reason of a KVM_RUN that failed (kvm_userspace_exit's errno
 * < 0, whose reason is then stale): this bit with the positive errno in
 * the bits below.  No KVM_EXIT_* comes near it.
 */
#define KVMSCOPE_USER_ERROR_BASE 0x80000000u
/* The kernel's MAX_ERRNO: a system call's errno is in 1..4095. */
#define KVMSCOPE_USER_ERROR_MAX_ERRNO 4095u

/* KVM_EXIT_IO, the only userspace exit whose registers are looked at. */
#define KVMSCOPE_KVM_EXIT_IO 2

/* VMware backdoor (kvm-decode.md §5.1). */
#define KVMSCOPE_VMWARE_MAGIC 0x564D5868u
#define KVMSCOPE_VMWARE_PORT 0x5658
#define KVMSCOPE_VMWARE_PORT_HB 0x5659

/* Handling-time histogram; count = sum of slots. */
struct kvmscope_hist {
	__u64 slots[KVMSCOPE_HIST_SLOTS];
	__u64 sum_ns;
	__u64 max_ns;
};

/* Per-VM detail counts (kvm_mmio, kvm_msr, kvm_cpuid, kvm_hypercall, backdoor). */
/*
 * Per-thread counter slots: an array map (BPF_F_MMAPABLE: the daemon
 * reads it through mmap, no syscall per key) of one slot per vCPU
 * thread.  The thread's task storage holds its slot index; its programs
 * update the slot with plain stores, exact because one thread never runs
 * two of them at once.  What does not fit a slot (a reason outside the
 * dense range, a full histogram or port table, a thread without a slot)
 * goes to the hash maps above, and is counted in exit_fallbacks.
 *
 * Dense hardware reason index: VMX basic reasons 0-255 as they are; SVM
 * exit codes 0x000-0x0ff as they are and 0x400-0x41f (NPF, AVIC, VMGEXIT)
 * at 0x100-0x11f; arm64, 72 per exception level (unknown, EL0, EL1, EL2):
 * a trap's exception class 0-63, then the other exception types 0-7 at
 * 64-71.  Userspace exits: KVM_EXIT_* 0-63.
 */
#define KVMSCOPE_SLOT_HW_REASONS 288
#define KVMSCOPE_ARM64_PER_EL 72
#define KVMSCOPE_SLOT_USER_REASONS 64
#define KVMSCOPE_SLOT_HW_HISTS 8	/* timed hardware reasons per thread */
#define KVMSCOPE_SLOT_USER_HISTS 4	/* timed userspace reasons per thread */
#define KVMSCOPE_SLOT_PIO 16		/* (port, direction, size) per thread */
#define KVMSCOPE_SLOT_NONE 0xffffffffu
/* Words of a bitmap with a bit per counter: which ones are not 0. */
#define KVMSCOPE_USED_WORDS(n) (((n) + 63) / 64)

/*
 * Events KVM fires with preemption on, each with a backup program where
 * the kernel may skip a program's run (see struct kvmscope_slot.done).
 */
enum kvmscope_slot_event {
	KVMSCOPE_EV_USERSPACE_EXIT = 0,
	KVMSCOPE_EV_PIO,
	KVMSCOPE_EV_MMIO,
	KVMSCOPE_EV_MSR,
	KVMSCOPE_EV_CPUID,
	KVMSCOPE_EV_HYPERCALL,
	KVMSCOPE_SLOT_EVENTS,
};

static inline __u32 kvmscope_hw_index(__u32 isa, __u32 reason)
{
	if (isa == KVMSCOPE_ISA_VMX)
		return reason < 0x100 ? reason : KVMSCOPE_SLOT_NONE;
	if (isa == KVMSCOPE_ISA_SVM) {
		if (reason < 0x100)
			return reason;
		if (reason - 0x400u < 0x20u)
			return 0x100 + reason - 0x400u;
	}
	if (isa == KVMSCOPE_ISA_ARM64) {
		__u32 type = (reason >> KVMSCOPE_ARM64_RET_SHIFT) & KVMSCOPE_ARM64_RET_MASK;
		__u32 el = reason >> KVMSCOPE_ARM64_EL_SHIFT;

		if (type == KVMSCOPE_ARM64_TRAP)
			return el * KVMSCOPE_ARM64_PER_EL + (reason & KVMSCOPE_ARM64_EC_MASK);
		if (type < KVMSCOPE_ARM64_PER_EL - 64)
			return el * KVMSCOPE_ARM64_PER_EL + 64 + type;
	}
	return KVMSCOPE_SLOT_NONE;
}

static inline __u32 kvmscope_hw_reason(__u32 isa, __u32 index)
{
	if (isa == KVMSCOPE_ISA_ARM64) {
		__u32 el = index / KVMSCOPE_ARM64_PER_EL, i = index % KVMSCOPE_ARM64_PER_EL;

		return i < 64 ? kvmscope_arm64_reason(KVMSCOPE_ARM64_TRAP, i, el) :
				kvmscope_arm64_reason(i - 64, 0, el);
	}
	return isa == KVMSCOPE_ISA_SVM && index >= 0x100 ? 0x400 + index - 0x100 : index;
}

/* The port table entry of (port, direction): register pairs land apart. */
static inline __u32 kvmscope_pio_entry(__u32 port, __u32 direction)
{
	return (port ^ (port >> 3) ^ (direction << 3)) & (KVMSCOPE_SLOT_PIO - 1);
}

struct kvmscope_slot_hist {
	__u32 index;	/* dense reason index + 1; 0: line unused */
	__u32 pad;
	__u64 used;	/* bit per h.slots[] that is not 0 */
	struct kvmscope_hist h;
};

/*
 * One more in counter @i of @counts, its bit set in @used when it was 0.
 * A slot's counters are mostly 0 (a vCPU meets a few dozen reasons of
 * hundreds, a latency a few buckets of 40): the daemon reads only the
 * marked ones, a few hundred bytes of a slot's kilobytes.  The counter
 * is written before its bit, so a reader may miss an increment that is
 * happening, never see a bit without its counter.
 */
static inline void kvmscope_counter_add(__u64 *counts, __u64 *used, __u64 i)
{
	__u64 c = counts[i];

	counts[i] = c + 1;
	if (!c)
		used[i >> 6] |= 1ull << (i & 63);
}

struct kvmscope_slot_pio {
	__u16 port;
	__u8 direction;
	__u8 size;
	__u32 used;	/* set last: the entry is complete */
	__u64 count;
};

struct kvmscope_slot {
	__u32 tgid;	/* the VM; 0: the slot is free */
	__u32 vcpu;
	__u32 isa;	/* of hw[]'s indices; set at every kvm_exit */
	__u32 tid;
	/* In flight, as in the hash path: an exit is counted once timed. */
	__u64 exit_ts;	/* kvm_exit -> kvm_entry, 0: none */
	__u64 user_ts;	/* kvm_userspace_exit -> KVM_RUN, 0: none */
	__u32 exit_index;
	__u32 user_index;
	__u64 vmcb01;	/* SVM: the vCPU's own VMCB, read once (see svm_exit_code()) */
	__u32 hw_lines;	/* hw_hist[] lines in use */
	__u32 user_lines;
	__u64 hw[KVMSCOPE_SLOT_HW_REASONS];	/* untimed (or not yet timed) exits */
	__u64 user[KVMSCOPE_SLOT_USER_REASONS];
	__u64 hw_used[KVMSCOPE_USED_WORDS(KVMSCOPE_SLOT_HW_REASONS)];	/* see kvmscope_counter_add() */
	__u64 user_used[KVMSCOPE_USED_WORDS(KVMSCOPE_SLOT_USER_REASONS)];
	__u8 hw_line[KVMSCOPE_SLOT_HW_REASONS];	/* line + 1 in hw_hist, 0: none */
	__u8 user_line[KVMSCOPE_SLOT_USER_REASONS];
	struct kvmscope_slot_hist hw_hist[KVMSCOPE_SLOT_HW_HISTS];
	struct kvmscope_slot_hist user_hist[KVMSCOPE_SLOT_USER_HISTS];
	struct kvmscope_slot_pio pio[KVMSCOPE_SLOT_PIO];
	/*
	 * A program that is preempted makes the kernel skip that program's
	 * next run on the CPU (its recursion_misses).  Where that can happen
	 * each such event has a second, backup program after the first: the
	 * first counts done[] up, the backup does the work only when done[]
	 * did not move since it last looked (seen[]), so each event of the
	 * thread is counted once unless both are skipped.
	 */
	__u32 done[KVMSCOPE_SLOT_EVENTS];
	__u32 seen[KVMSCOPE_SLOT_EVENTS];
};

/* Why an exit was counted in the hash maps instead of its thread's slot. */
enum kvmscope_fallback {
	KVMSCOPE_FALLBACK_NO_SLOT = 0,	/* every slot taken (--max-threads) */
	KVMSCOPE_FALLBACK_REASON,	/* reason outside the slot's dense range */
	KVMSCOPE_FALLBACK_HIST,		/* timed, but the thread's histogram lines are taken */
	KVMSCOPE_FALLBACK_PIO,		/* the thread's port table entry is taken */
	KVMSCOPE_FALLBACK_MAX,
};

enum kvmscope_detail_kind {
	KVMSCOPE_DETAIL_MMIO = 1,	/* id: guest-physical page (gpa >> 12); dir: kvm_mmio type */
	KVMSCOPE_DETAIL_MSR = 2,	/* id: MSR index; dir: 0 read, 1 write */
	KVMSCOPE_DETAIL_CPUID = 3,	/* id: leaf << 32 | subleaf */
	KVMSCOPE_DETAIL_HYPERCALL = 4,	/* id: hypercall number */
	KVMSCOPE_DETAIL_BACKDOOR = 5,	/* id: command (ECX[15:0]); dir: 0 port 0x5658, 1 port 0x5659 */
	KVMSCOPE_DETAIL_BACKDOOR_NOMAGIC = 6, /* backdoor port without the magic in EAX; dir as above */
	KVMSCOPE_DETAIL_VMGEXIT = 7,	/* SEV-ES/SNP VMGEXIT, id: the GHCB's sw_exit_code */
	KVMSCOPE_DETAIL_GHCB_MSR = 8,	/* VMGEXIT by the GHCB MSR protocol, id: request (GHCBData[11:0]) */
	/* arm64 nested virtualization (a guest hypervisor at virtual EL2): */
	KVMSCOPE_DETAIL_NESTED_ERET = 9,	/* its ERET, id: the level returned to (enum kvmscope_arm64_el) */
	KVMSCOPE_DETAIL_NESTED_EXC = 10,	/* exception injected into it, id: ESR class << 8 | type */
	KVMSCOPE_DETAIL_SYSREG_FWD = 11,	/* sysreg trap forwarded to it, id: encoding; dir: 1 read */
	KVMSCOPE_DETAIL_MAX,
};

struct kvmscope_detail_key {
	__u32 tgid;
	__u8 kind;
	__u8 dir;
	__u16 pad;
	__u64 id;
};

/* Where a VM's detail did not fit in the bounded map: counted as "other". */
struct kvmscope_detail_other_key {
	__u32 tgid;
	__u32 kind;
};

/* One exit on the stream ring (only while someone subscribed). */
struct kvmscope_exit_event {
	__u64 ts_ns;
	__u32 tgid;
	__u32 tid;
	__u32 vcpu;
	__u32 isa;	/* KVMSCOPE_ISA_*, 0 for a userspace exit */
	__u32 reason;
	__u32 hardware;	/* 1: kvm_exit; 0: kvm_userspace_exit */
};

#define KVMSCOPE_STREAM_RING_BYTES (1u << 20)
/* Processes the exit stream can be filtered to at once (stream_pids). */
#define KVMSCOPE_STREAM_MAX_PIDS 64

/* Why an event was not counted: indexes of the exit_drops array. */
enum kvmscope_drop_reason {
	KVMSCOPE_DROP_HW_MAP_FULL = 0,
	KVMSCOPE_DROP_USER_MAP_FULL,
	KVMSCOPE_DROP_PIO_MAP_FULL,
	KVMSCOPE_DROP_THREAD_MAP_FULL,
	KVMSCOPE_DROP_VM_MAP_FULL,
	KVMSCOPE_DROP_DETAIL_MAP_FULL,
	KVMSCOPE_DROP_STREAM_FULL,
	KVMSCOPE_DROP_UNREADABLE,	/* kvm_exit whose reason could not be read (tp_btf) */
	KVMSCOPE_DROP_MAX,
};

/*
 * Per VM: what could not be counted for it, and the keys it holds in each
 * counting map, both indexed by enum kvmscope_drop_reason (a map's
 * "full" reason names the map).
 */
struct kvmscope_vm_state {
	__u64 dropped[KVMSCOPE_DROP_MAX];
	__u32 keys[KVMSCOPE_DROP_MAX];
};

/*
 * What pinned state was made with.  A restarted daemon adopts the pinned
 * maps and links only when its own choice is the same; else it starts clean.
 */
struct kvmscope_pin_meta {
	__u32 schema;		/* KVMSCOPE_EXITS_SCHEMA_VERSION */
	__u32 collect;		/* enum collect_view bits */
	__u64 probes;		/* bit 2i: probe i attached; bit 2i+1: as tp_btf */
	__u32 max_vms;
	__u32 max_threads;
	__u32 max_keys;
	__u32 max_keys_per_vm;
};

#endif /* KVMSCOPE_EXITS_H */
