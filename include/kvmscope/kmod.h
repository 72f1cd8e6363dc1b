/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The helper module's device, /dev/kvmscope (kmod/, daemon/kmod/): its
 * ioctls and what they carry.  Fixed-width types only.  The schema hash
 * the handshake compares is computed from this file and canary.h by
 * scripts/schema-hash, for the module and the daemon alike: change either
 * and a module built before is refused by name and version.
 */
#ifndef KVMSCOPE_KMOD_H
#define KVMSCOPE_KMOD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#include "canary.h"
#include "exits.h"

/* Raised when the meaning of an ioctl below changes. */
#define KVMSCOPE_KMOD_API 2
#define KVMSCOPE_KMOD_DEVICE "kvmscope"
/* 0xB7: free in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define KVMSCOPE_IOC_MAGIC 0xB7

struct kvmscope_version {
	__u32 api;			/* KVMSCOPE_KMOD_API the module was built with */
	__u32 features;			/* KVMSCOPE_FEATURE_* */
	__u64 schema;			/* scripts/schema-hash when it was built */
	char version[32];		/* the project's version, NUL-terminated */
};

/* The canary can run: ftrace with IPMODIFY (x86 first). */
#define KVMSCOPE_FEATURE_CANARY (1u << 0)
/* The module can count exits (x86: KVM's tracepoints through the probe API). */
#define KVMSCOPE_FEATURE_EXITS (1u << 1)

#define KVMSCOPE_CANARY_MAX_SECONDS 3600
/* Violations kept with their generation and CPU; the rest are only counted. */
#define KVMSCOPE_CANARY_MAX_KEPT 16

struct kvmscope_canary_start {
	__u32 seconds;			/* 1 .. KVMSCOPE_CANARY_MAX_SECONDS */
	__u32 cpus;			/* CPUs taking part, updater included; 0: all online */
};

enum kvmscope_canary_run_state {
	KVMSCOPE_CANARY_IDLE = 0,	/* never run since the module loaded */
	KVMSCOPE_CANARY_RUNNING = 1,
	KVMSCOPE_CANARY_DONE = 2,	/* ran to its end or was stopped */
	KVMSCOPE_CANARY_FAILED = 3,	/* could not start or update: see error */
};

struct kvmscope_canary_violation {
	__u64 generation;
	__u32 verdict;			/* enum kvmscope_canary_verdict */
	__u32 cpu;
	__u32 body;
	__u32 state;			/* the phase state the call saw */
};

struct kvmscope_canary_report {
	__u32 run;			/* 1 for the first run since load, ... */
	__u32 state;			/* enum kvmscope_canary_run_state */
	__s32 error;			/* -errno when FAILED */
	__u32 seconds;			/* asked for */
	__u32 cpus;			/* taking part, updater included */
	__u32 updater_cpu;
	__u64 elapsed_ns;
	__u64 calls[3];			/* by enum kvmscope_canary_body */
	__u64 updates;			/* call-site rewrites that returned */
	__u64 generations;		/* redirection on-off cycles completed */
	__u64 tracer_calls;		/* calls the second (plain) tracer saw */
	/* Calls that began and ended in one phase, by its state: the judged ones. */
	__u64 settled[4];
	__u64 violations[KVMSCOPE_CANARY_VERDICTS];	/* [0] unused */
	__u32 kept;			/* entries of violation[] filled */
	__u32 pad;
	struct kvmscope_canary_violation violation[KVMSCOPE_CANARY_MAX_KEPT];
};

/*
 * Exits without BPF: the module attaches to KVM's tracepoints with the
 * kernel's probe API and keeps the same per-thread counter slots as
 * bpf/exits.bpf.c (struct kvmscope_slot, exits.h), in an area the daemon
 * maps read-only from /dev/kvmscope at offset 0 while a run goes on.
 */

/* The tracepoints the module can serve: bits of start.probes and header.probes. */
enum kvmscope_kexits_probe {
	KVMSCOPE_KPROBE_KVM_EXIT = 0,
	KVMSCOPE_KPROBE_KVM_ENTRY,
	KVMSCOPE_KPROBE_USERSPACE_EXIT,
	KVMSCOPE_KPROBE_PIO,
	KVMSCOPE_KPROBES,
};

/* How the events are counted, as the BPF programs' read-only switches. */
#define KVMSCOPE_KEXITS_LATENCY (1u << 0)	/* time exits, kvm_exit -> kvm_entry */
#define KVMSCOPE_KEXITS_USER (1u << 1)		/* count userspace exits */
#define KVMSCOPE_KEXITS_VMM (1u << 2)		/* time them, -> the thread's next kvm_entry */
#define KVMSCOPE_KEXITS_BACKDOOR (1u << 3)	/* VMware backdoor commands at KVM_EXIT_IO */
#define KVMSCOPE_KEXITS_FLAGS 0xfu

#define KVMSCOPE_KEXITS_MAX_SLOTS 65536u
#define KVMSCOPE_KEXITS_MAX_FALLBACK (1u << 20)

struct kvmscope_kexits_start {
	__u32 probes;		/* bit per enum kvmscope_kexits_probe */
	__u32 flags;		/* KVMSCOPE_KEXITS_* */
	__u32 n_slots;		/* 1 .. KVMSCOPE_KEXITS_MAX_SLOTS */
	__u32 n_fallback;	/* a power of 2, 16 .. KVMSCOPE_KEXITS_MAX_FALLBACK */
};

/*
 * What a slot cannot hold (the BPF programs' hash maps): a thread with
 * no slot, a reason outside the dense range, a taken port entry, a
 * failed KVM_RUN, and the VMware backdoor's commands.  Open addressing
 * on the whole key; a full table counts the event in header.drops.
 */
enum kvmscope_kexits_fallback_kind {
	KVMSCOPE_KFB_FREE = 0,
	KVMSCOPE_KFB_HW,	/* a: isa, b: reason */
	KVMSCOPE_KFB_USER,	/* b: reason (or KVMSCOPE_USER_ERROR_BASE | errno) */
	KVMSCOPE_KFB_PIO,	/* a: port | direction << 16 | size << 24 */
	KVMSCOPE_KFB_DETAIL,	/* no vcpu; a: kind | dir << 8 (enum kvmscope_detail_kind), b: id */
};

struct kvmscope_kexits_fallback {
	__u32 kind;		/* set last: the entry is complete */
	__u32 tgid;
	__u32 vcpu;
	__u32 a;
	__u64 b;
	__u64 count;
};

enum kvmscope_kexits_stream_mode {
	KVMSCOPE_KSTREAM_OFF = 0,
	KVMSCOPE_KSTREAM_ALL,
	KVMSCOPE_KSTREAM_PIDS,
};

struct kvmscope_kexits_stream {
	__u32 mode;		/* enum kvmscope_kexits_stream_mode */
	__u32 n_pids;		/* KVMSCOPE_KSTREAM_PIDS: pids[0 .. n_pids) */
	__u32 pids[KVMSCOPE_STREAM_MAX_PIDS];
};

#define KVMSCOPE_KEXITS_STREAM_ENTRIES 16384u

struct kvmscope_kexits_header {
	__u32 n_slots;
	__u32 n_fallback;
	__u32 probes;		/* attached now (KVM may load and unload under a run) */
	__u32 flags;
	__u64 slots_offset;	/* bytes from the start of the mapping */
	__u64 slot_size;	/* sizeof(struct kvmscope_slot) */
	__u64 fallback_offset;
	__u64 length;		/* of the whole mapping */
	__u64 stream_offset;	/* the exit stream: struct kvmscope_exit_event[stream_entries] */
	__u32 stream_entries;	/* a power of 2 */
	__u32 pad;
	__u64 stream_head;	/* events written; entry i at i % stream_entries */
	__u64 stream_submitted;	/* as stream_submitted */
	__u64 events[KVMSCOPE_KPROBES];		/* probe runs */
	__u64 drops[KVMSCOPE_DROP_MAX];		/* as exit_drops */
	__u64 fallbacks[KVMSCOPE_FALLBACK_MAX];	/* as exit_fallbacks */
};

#define KVMSCOPE_IOC_VERSION _IOR(KVMSCOPE_IOC_MAGIC, 0x01, struct kvmscope_version)
#define KVMSCOPE_IOC_CANARY_START _IOW(KVMSCOPE_IOC_MAGIC, 0x10, struct kvmscope_canary_start)
#define KVMSCOPE_IOC_CANARY_STOP _IO(KVMSCOPE_IOC_MAGIC, 0x11)
#define KVMSCOPE_IOC_CANARY_REPORT _IOR(KVMSCOPE_IOC_MAGIC, 0x12, struct kvmscope_canary_report)
/* Start (or restart, from zero) counting; then mmap offset 0 for the header. */
#define KVMSCOPE_IOC_EXITS_START _IOW(KVMSCOPE_IOC_MAGIC, 0x20, struct kvmscope_kexits_start)
#define KVMSCOPE_IOC_EXITS_STOP _IO(KVMSCOPE_IOC_MAGIC, 0x21)
/* A VM is gone: free its slots and fallback entries (the daemon has read them). */
#define KVMSCOPE_IOC_EXITS_FREE _IOW(KVMSCOPE_IOC_MAGIC, 0x22, __u32)
/* Which exits to stream (as the BPF programs' stream_pids), and what was read. */
#define KVMSCOPE_IOC_EXITS_STREAM _IOW(KVMSCOPE_IOC_MAGIC, 0x23, struct kvmscope_kexits_stream)
#define KVMSCOPE_IOC_EXITS_CONSUMED _IOW(KVMSCOPE_IOC_MAGIC, 0x24, __u64)

#endif
