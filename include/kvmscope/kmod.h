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

/* Raised when the meaning of an ioctl below changes. */
#define KVMSCOPE_KMOD_API 1
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

#define KVMSCOPE_IOC_VERSION _IOR(KVMSCOPE_IOC_MAGIC, 0x01, struct kvmscope_version)
#define KVMSCOPE_IOC_CANARY_START _IOW(KVMSCOPE_IOC_MAGIC, 0x10, struct kvmscope_canary_start)
#define KVMSCOPE_IOC_CANARY_STOP _IO(KVMSCOPE_IOC_MAGIC, 0x11)
#define KVMSCOPE_IOC_CANARY_REPORT _IOR(KVMSCOPE_IOC_MAGIC, 0x12, struct kvmscope_canary_report)

#endif
