/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names for KVM ioctls and for what they carry (machine types, SEV, TDX and
 * s390 PV sub-commands and status codes, arm64 vCPU features, capabilities),
 * transcribed from kvm-decode.md §1 and §2 and checked against it row by row
 * by tests/unit/test_ioctl_names.c.  Pure lookups: no state, no allocation.
 */
#ifndef KVMSCOPE_IOCTLS_NAMES_H
#define KVMSCOPE_IOCTLS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "kvmscope/ioctls.h"	/* enum kvmscope_fd_kind */

/*
 * The arches a request number is decoded for.  All three use the
 * asm-generic _IOC layout; only some sizes, hence some numbers, differ.
 */
enum ioctl_arch {
	IOCTL_ARCH_X86_64,
	IOCTL_ARCH_ARM64,
	IOCTL_ARCH_S390X,
};
#define IOCTL_ARCHES 3

/* Room for any name or number these functions write, feature lists aside. */
#define IOCTL_NAME_MAX 64
/* Room for arm_vcpu_features_text() with every bit of features[0] set. */
#define ARM_VCPU_FEATURES_TEXT_MAX 512

/*
 * Arches whose kernel takes an ioctl on a kind of fd: the lists of §1.2's
 * "fd kind" column, "all" being every one.  Only the first three are
 * decoded; the others are kept so that the table reads like the reference.
 */
#define IOCTL_ON_X86 (1u << 0)
#define IOCTL_ON_ARM64 (1u << 1)
#define IOCTL_ON_S390 (1u << 2)
#define IOCTL_ON_PPC (1u << 3)
#define IOCTL_ON_RISCV (1u << 4)
#define IOCTL_ON_LOONGARCH (1u << 5)
#define IOCTL_ON_MIPS (1u << 6)
#define IOCTL_ON_ALL 0x7fu

/* One ioctl of include/uapi/linux/kvm.h (§1.2), or a legacy one (§1.4). */
struct ioctl_def {
	const char *name;			/* the macro: "KVM_CREATE_VM" */
	uint32_t value[IOCTL_ARCHES];		/* by enum ioctl_arch; 0: no value there */
	/*
	 * By enum kvmscope_fd_kind: IOCTL_ON_* of the arches whose dispatch
	 * code takes it on that kind of fd; 0 where none does.
	 */
	uint8_t on[KVMSCOPE_FD_KINDS];
};

/* The arch this daemon was built for: x86_64, aarch64 or s390x (x86_64 otherwise). */
enum ioctl_arch ioctl_arch_host(void);
/* "x86_64", "arm64", "s390x"; "unknown" out of range. */
const char *ioctl_arch_name(enum ioctl_arch arch);

/*
 * The macro name of request @cmd sent to an fd of @kind (enum
 * kvmscope_fd_kind) on @arch, or NULL.  Matched on the full 32-bit value,
 * never on nr alone, among the ioctls whose dispatch on @arch takes them on
 * @kind (so numbers that collide resolve by fd kind, §1.3); then among the
 * legacy ones (§1.4), which no kernel handles any more and which match any
 * fd kind.  A number that is some ioctl's on @arch but that @arch does not
 * take on @kind is NULL: the call can only fail.  KVMSCOPE_FD_UNKNOWN
 * accepts every kind; where that leaves two names (arm64 0x4010aeab:
 * KVM_ARM_SET_DEVICE_ADDR on a VM fd, KVM_GET_ONE_REG on a vCPU fd), the
 * first in §1.2's order wins.
 */
const char *ioctl_name(uint32_t cmd, unsigned int kind, enum ioctl_arch arch);
/*
 * The same, never NULL: an unknown request is written into @buf as its
 * number and fields, "ioctl 0xc008aeff (_IOWR nr 0xff, 8 bytes)",
 * "ioctl 0xae45 (_IO nr 0x45)", "ioctl 0x5401 (_IO type 0x54 nr 0x01)";
 * KVMSCOPE_IOCTL_CMD_FOLDED (0, a VM's calls over its key share) as "OTHER".
 */
const char *ioctl_name_or_number(uint32_t cmd, unsigned int kind, enum ioctl_arch arch,
				 char *buf, size_t len);
/* The request number of macro @name on @arch; 0 if unknown or not defined there. */
uint32_t ioctl_number(const char *name, enum ioctl_arch arch);
/* The ioctls of §1.2, in its order. */
const struct ioctl_def *ioctl_table(size_t *n);
/* The legacy ioctls of §1.4 (on[] empty: they match any fd kind). */
const struct ioctl_def *ioctl_legacy_table(size_t *n);

/* "system", "vm", "vcpu", "device", "guest_memfd"; "unknown" for anything else. */
const char *fd_kind_name(unsigned int kind);

/*
 * KVM_CREATE_VM's argument (§1.5.1), written into @buf:
 *   x86_64  "KVM_X86_DEFAULT_VM" .. "KVM_X86_TDX_VM"; unknown: the number.
 *   arm64   "ipa_bits=N" (bits 7:0; 0 is the default, 40), after
 *           "KVM_VM_TYPE_ARM_PROTECTED|" for bit 31; other bits "|0x...".
 *   s390x   "default" (0), "KVM_VM_S390_UCONTROL" (1); unknown: the number.
 */
const char *vm_type_name(uint64_t type, enum ioctl_arch arch, char *buf, size_t len);
/*
 * The protection a CREATE_VM type asks for: "none", "sw_protected", "sev",
 * "sev_es", "snp", "tdx", "pkvm"; "unknown" for an x86 type not in §1.5.1.
 * s390 protected guests are "none" here: they turn protected later, with
 * KVM_PV_ENABLE.
 */
const char *vm_type_protection(uint64_t type, enum ioctl_arch arch);

/* Sub-commands and status codes; NULL when unknown. */
const char *sev_cmd_name(uint32_t id);		/* §2.1.1: "KVM_SEV_LAUNCH_START" */
/*
 * §2.1.3, kvm_sev_cmd.error: "SEV_RET_SUCCESS"; 0xffffffff (-1) is
 * "SEV_RET_NO_FW_CALL"; 3 is spelt "SEV_RET_INVALID_CONFIG", the alias of
 * the header's misspelt SEV_RET_INAVLID_CONFIG.
 */
const char *sev_error_name(uint32_t code);
const char *tdx_cmd_name(uint32_t id);		/* §2.2: "KVM_TDX_CAPABILITIES" */
const char *pv_cmd_name(uint32_t cmd);		/* §2.3: "KVM_PV_ENABLE" */
/*
 * §2.3 "Meaning of rc / rrc": "success", "invalid command", ...; any rc
 * with bit 15 (UVC_RC_NEED_DESTROY) set means the configuration must be
 * destroyed.
 */
const char *pv_rc_meaning(uint16_t rc);
const char *arm_vcpu_feature_name(unsigned int bit);	/* §1.5.2: "KVM_ARM_VCPU_HAS_EL2" */
const char *arm_target_name(uint32_t target);		/* §1.5.2: "KVM_ARM_TARGET_GENERIC_V8" */
/*
 * kvm_vcpu_init.features[0] as "KVM_ARM_VCPU_PSCI_0_2|KVM_ARM_VCPU_HAS_EL2|bit12",
 * "none" for 0, into @buf (cut at @len).
 */
const char *arm_vcpu_features_text(uint32_t features, char *buf, size_t len);
/* KVM_CAP_* of §1.5.4 and the others the reference numbers: "KVM_CAP_VM_TYPES". */
const char *kvm_cap_name(uint32_t cap);

/*
 * An ioctl's result as text in @buf: "ok" for 0, else the name of errno
 * |@result| ("ENOTTY" for -25 or 25), "E<n>" when it has none.
 */
const char *ioctl_result_name(int result, char *buf, size_t len);

#endif
