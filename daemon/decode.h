/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names for exit codes and the sub-codes under them: one table per kind of
 * code, all in decode.c, each transcribed from kvm-decode.md and checked
 * against it row by row by tests/unit/test_decode.c.  An unknown code is
 * never dropped or merged with another: its name is its number.
 */
#ifndef KVMSCOPE_DECODE_H
#define KVMSCOPE_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct reason_name {
	uint32_t code;
	/*
	 * Short name, as the kernel's tracepoint prints it where the kernel has
	 * a string for the code; where it prints only the number, the macro
	 * without its prefix (see the table's comment in decode.c).
	 */
	const char *name;
	/*
	 * What defines the code in the source the reference cites: a macro,
	 * an expression ("SVM_EXIT_EXCP_BASE + DE_VECTOR"), or, for a VMX
	 * reason Linux lacks, Fuchsia's name; "-" where there is none.
	 */
	const char *symbol;
};

#define DECODE_NAME_MAX 64

/* "vmx", "svm", "arm64", "s390" or "unknown". */
const char *isa_name(uint32_t isa);
/* Parse an ISA name back; returns -1 when unknown. */
int isa_from_name(const char *name);

/*
 * The name of hardware exit @code for @isa, written into @buf, which is
 * returned; never NULL, a code with no entry is shown as its number.
 *   vmx    basic reason = bits 15:0 ("IO_INSTRUCTION"); bit 31 (failed
 *          VM-entry) gives "FAILED_VMENTRY|<basic>"; an unknown basic reason
 *          is decimal ("35"); flag bits 16-30 do not change the name.
 *   svm    EXITCODE ("io"); unknown: "0x1ff".
 *   arm64  @code packed by arm64_exit_reason(): "TRAP/DABT_LOW" for a trap,
 *          the exception type alone for the others ("IRQ", "HYP_GONE");
 *          unknown parts: "TRAP/ec 0x3f", "ret 0x5".
 *   s390   SIE icptcode ("Instruction", "PV_NOTIFY"); unknown: "0x4c".
 *   other  the number in hex.
 */
const char *hw_exit_name(uint32_t isa, uint32_t code, char *buf, size_t len);
/*
 * Short name of a KVM_EXIT_* reason ("IO"), or its decimal number; for
 * KVMSCOPE_USER_ERROR_BASE | errno (a KVM_RUN that failed, errno 1..4095)
 * "restart" if errno is EINTR, else "error:<ERRNAME>" ("error:EFAULT",
 * "error:4000" for an errno without a name).
 */
const char *kvm_exit_name(uint32_t code, char *buf, size_t len);
const char *pio_direction_name(unsigned int direction);

/*
 * One lookup per table: the short name of @code, or NULL when the table
 * has no entry for it.
 */
const char *decode_kvm_exit(uint32_t code);
/* @basic_reason: bits 15:0 of the VMX exit reason, flags stripped. */
const char *decode_vmx_basic_reason(uint32_t basic_reason);
/* @exit_code: the VMCB EXITCODE, as kvm_exit's exit_reason for isa 2. */
const char *decode_svm_exit(uint32_t exit_code);
/*
 * @sw_exit_code: the GHCB's sw_exit_code of an SEV-ES/SNP VMGEXIT (SVM exit
 * 0x403).  Pass kvm_vmgexit_enter's (or _exit's) exit_reason field, which
 * is that value read from the GHCB.  Not kvm_exit's info1: that is the
 * VMCB's EXITINFO1, and KVM copies the GHCB's code into the VMCB only
 * after kvm_exit has fired (kvm-decode.md §3.3.1, §4).
 */
const char *decode_svm_vmgexit(uint64_t sw_exit_code);
/*
 * A GHCB sw_exit_code of any kind: the SVM exit the guest asks the
 * hypervisor to handle for it (0x7b io, 0x72 cpuid, ...) or a VMGEXIT of
 * its own (0x8000xxxx); NULL if unknown.
 */
const char *decode_ghcb_exit_code(uint64_t sw_exit_code);
/*
 * @ghcb_info: GHCBInfo, bits 11:0 of the GHCB MSR value of an MSR-protocol
 * VMGEXIT, i.e. kvm_vmgexit_msr_protocol_enter's ghcb_gpa & 0xfff.
 */
const char *decode_ghcb_msr_request(uint32_t ghcb_info);
/* @ret: the arm64 kvm_exit ret, ARM_EXCEPTION_* with the SError bit cleared. */
const char *decode_arm64_exception(uint32_t ret);
/* @esr_ec: the exception class, ESR_ELx bits 31:26, as kvm_exit's esr_ec. */
const char *decode_arm64_esr_ec(uint32_t esr_ec);
/* @icptcode: the s390 SIE intercept code, as kvm_s390_sie_exit's icptcode. */
const char *decode_s390_intercept(uint32_t icptcode);
/*
 * @command: a VMware low-bandwidth backdoor command, BDOOR_CMD(ecx) =
 * ECX & 0xffff of the access to port 0x5658 (ECX[31:16] is a sub-command).
 */
const char *decode_vmware_backdoor_command(uint32_t command);
/* KVM_HC_* (kvm_hypercall's nr, RAX of the VMCALL/VMMCALL), e.g. "SEND_IPI". */
const char *decode_kvm_hypercall(uint64_t nr);

/*
 * Like the lookups, for the table called @which (see decode_table()), but
 * never NULL: a code with no entry is written as its number, in decimal
 * for KVM_EXIT_*, VMX and backdoor commands (numbered in decimal by the
 * kernel and the reference), else in hex; the arm64 parts with a prefix
 * ("ret 0x5", "ec 0x3f").  Returns @buf.
 */
const char *decode_name(const char *which, uint64_t code, char *buf, size_t len);

/*
 * arm64 has no single exit code: kvm_exit gives the exception type (ret,
 * ARM_EXCEPTION_*) and, for a trap, the exception class of ESR_ELx.  The
 * daemon packs both into one 32-bit reason (isa KVMSCOPE_ISA_ARM64):
 *
 *	reason = el << 30 | (ret & 0x3fffff) << 8 | (ret == TRAP ? esr_ec & 0x3f : 0)
 *
 * with ret = ARM_EXCEPTION_CODE(ret), the SError flag (bit 31) cleared.
 * Both steps are what the kernel does before storing the tracepoint's
 * fields, so a classic-tracepoint reader, a raw_tp reader and a parsed
 * trace line give the same reason for the same exit.  ret needs 22 bits:
 * codes 0-3 fit, and ARM_EXCEPTION_HYP_GONE (0x0badca11) is recognised by
 * its low 22 bits when unpacked.  el is the guest's exception level the
 * exit was taken from (enum kvmscope_arm64_el), read by the live BPF
 * program from the vCPU's saved PSTATE; 0 (unknown) in a recorded trace,
 * which arm64_exit_reason() packs.  A known level is shown as a suffix:
 * "TRAP/DABT_LOW@EL0".
 */
#define ARM64_EXCEPTION_IRQ 0u
#define ARM64_EXCEPTION_EL1_SERROR 1u
#define ARM64_EXCEPTION_TRAP 2u
#define ARM64_EXCEPTION_IL 3u
#define ARM64_EXCEPTION_HYP_GONE 0x0badca11u
#define ARM64_EXIT_WITH_SERROR_BIT 0x80000000u

uint32_t arm64_exit_reason(uint32_t ret, uint32_t esr_ec);
/* The ret (ARM_EXCEPTION_*) and exception class a packed reason holds. */
uint32_t arm64_exit_reason_ret(uint32_t reason);
uint32_t arm64_exit_reason_esr_ec(uint32_t reason);
/* The guest's exception level of a live exit (enum kvmscope_arm64_el), 0 if not known. */
uint32_t arm64_exit_reason_el(uint32_t reason);
/* "EL0", "EL1", "vEL2" (a guest hypervisor's virtual EL2), NULL for unknown. */
const char *arm64_el_name(uint32_t el);

/*
 * Table access for tests, documentation and reverse lookups.  @which:
 * "kvm", "vmx", "svm", "svm_vmgexit", "ghcb_msr", "arm64_exception",
 * "arm64_esr_ec", "s390", "vmware_backdoor", "kvm_hc".  Returns NULL and sets *n to 0
 * for any other name.
 */
const struct reason_name *decode_table(const char *which, size_t *n);
/* The entry of table @which named exactly @name, or NULL. */
const struct reason_name *decode_table_find_name(const char *which, const char *name);

#endif
