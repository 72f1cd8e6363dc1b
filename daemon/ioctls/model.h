/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ioctls capability's pure model: counted calls as records, sorted by
 * VM, and each VM's protection type and launch timeline, built from the
 * launch steps the BPF programs put on their ring.  No BPF, no event
 * loop: unit tests feed it records and steps.
 */
#ifndef KVMSCOPE_IOCTLS_MODEL_H
#define KVMSCOPE_IOCTLS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ioctls/names.h"
#include "kvmscope/ioctls.h"

/* One counted key of ioctl_counts, as the daemon keeps it. */
struct ioctl_record {
	struct kvmscope_ioctl_key key;
	uint64_t count;
	struct kvmscope_hist time;
};

struct ioctl_table {
	struct ioctl_record *v;
	size_t n, cap;
};

int ioctl_table_push(struct ioctl_table *t, const struct kvmscope_ioctl_key *key,
		     const struct kvmscope_ioctl_value *value);
void ioctl_table_free(struct ioctl_table *t);
/* By VM, then fd kind, request, sub, result, detail, vCPU. */
void ioctl_table_sort(struct ioctl_table *t);
/* The records of @pid in a sorted table: *first and how many. */
size_t ioctl_table_range(const struct ioctl_table *t, uint32_t pid, size_t *first);

/* The request numbers whose arguments mean something, for one arch. */
struct ioctl_cmds {
	enum ioctl_arch arch;
	uint32_t kvm_run, create_vm, check_extension, enable_cap, memory_encrypt_op, pv_command,
		 pv_cpu_command, arm_vcpu_init, set_cpuid2;
};

void ioctl_cmds_for(struct ioctl_cmds *c, enum ioctl_arch arch);

enum vm_protection {
	PROTECTION_NONE = 0,
	PROTECTION_SW_PROTECTED,
	PROTECTION_SEV,
	PROTECTION_SEV_ES,
	PROTECTION_SNP,
	PROTECTION_TDX,
	PROTECTION_S390_PV,
	PROTECTION_ARM_NESTED,
	PROTECTION_PKVM,
};

const char *vm_protection_name(enum vm_protection p);

/* A step of a launch; repeats of the same call and outcome are one step with a count. */
struct launch_step {
	uint64_t ts_ns;		/* the first call's start (CLOCK_MONOTONIC, ns) */
	uint64_t duration_ns;	/* all calls' */
	uint64_t last_ns;	/* the last call's end */
	uint32_t count;
	uint32_t cmd, sub, detail, vcpu;
	int32_t result;
	uint64_t detail64;
	uint8_t kind;
};

/* Steps kept per VM; older ones are dropped (and counted). */
#define LAUNCH_STEPS_MAX 256

struct launch {
	uint32_t pid;
	enum vm_protection protection;
	const char *state;	/* "created", "launching", "running", "failed", "torn_down", ... */
	char failed_step[64];	/* the step that failed, by name, when state is "failed" */
	struct launch_step *steps;
	size_t n_steps, cap_steps;
	uint64_t dropped_steps;
};

/* Add one step to @l (same pid), updating protection and state. */
int launch_add(struct launch *l, const struct ioctl_cmds *c, const struct kvmscope_ioctl_event *ev);
void launch_free(struct launch *l);
/* The step's name: "KVM_SEV_LAUNCH_START", "KVM_PV_UNPACK", "KVM_CREATE_VM", ... into @buf. */
const char *launch_step_name(const struct ioctl_cmds *c, enum vm_protection p,
			     const struct launch_step *s, char *buf, size_t len);
/* The step's sub-command name for request @cmd (NULL if none), given the VM's protection. */
const char *ioctl_sub_name(const struct ioctl_cmds *c, enum vm_protection p, uint32_t cmd,
			   uint32_t sub, char *buf, size_t len);

#endif
