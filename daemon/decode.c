// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exit-reason tables, one per kind of code, transcribed from kvm-decode.md
 * (section given above each table).  Each entry's name is the string the
 * kernel's tracepoint prints for the code, so that our output reads like
 * perf and kvm_stat; where the kernel prints only the number, the name is
 * the macro without its prefix, spelt as that table's comment says.
 * tests/unit/test_decode.c checks every table against the reference in
 * both directions, names included.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "kvmscope/exits.h"

/* §3.1, include/uapi/linux/kvm.h: KVM_EXIT_<name>. */
static const struct reason_name kvm_exit_names[] = {
	{ 0, "UNKNOWN", "KVM_EXIT_UNKNOWN" },
	{ 1, "EXCEPTION", "KVM_EXIT_EXCEPTION" },
	{ 2, "IO", "KVM_EXIT_IO" },
	{ 3, "HYPERCALL", "KVM_EXIT_HYPERCALL" },
	{ 4, "DEBUG", "KVM_EXIT_DEBUG" },
	{ 5, "HLT", "KVM_EXIT_HLT" },
	{ 6, "MMIO", "KVM_EXIT_MMIO" },
	{ 7, "IRQ_WINDOW_OPEN", "KVM_EXIT_IRQ_WINDOW_OPEN" },
	{ 8, "SHUTDOWN", "KVM_EXIT_SHUTDOWN" },
	{ 9, "FAIL_ENTRY", "KVM_EXIT_FAIL_ENTRY" },
	{ 10, "INTR", "KVM_EXIT_INTR" },
	{ 11, "SET_TPR", "KVM_EXIT_SET_TPR" },
	{ 12, "TPR_ACCESS", "KVM_EXIT_TPR_ACCESS" },
	{ 13, "S390_SIEIC", "KVM_EXIT_S390_SIEIC" },
	{ 14, "S390_RESET", "KVM_EXIT_S390_RESET" },
	{ 15, "DCR", "KVM_EXIT_DCR" },
	{ 16, "NMI", "KVM_EXIT_NMI" },
	{ 17, "INTERNAL_ERROR", "KVM_EXIT_INTERNAL_ERROR" },
	{ 18, "OSI", "KVM_EXIT_OSI" },
	{ 19, "PAPR_HCALL", "KVM_EXIT_PAPR_HCALL" },
	{ 20, "S390_UCONTROL", "KVM_EXIT_S390_UCONTROL" },
	{ 21, "WATCHDOG", "KVM_EXIT_WATCHDOG" },
	{ 22, "S390_TSCH", "KVM_EXIT_S390_TSCH" },
	{ 23, "EPR", "KVM_EXIT_EPR" },
	{ 24, "SYSTEM_EVENT", "KVM_EXIT_SYSTEM_EVENT" },
	{ 25, "S390_STSI", "KVM_EXIT_S390_STSI" },
	{ 26, "IOAPIC_EOI", "KVM_EXIT_IOAPIC_EOI" },
	{ 27, "HYPERV", "KVM_EXIT_HYPERV" },
	{ 28, "ARM_NISV", "KVM_EXIT_ARM_NISV" },
	{ 29, "X86_RDMSR", "KVM_EXIT_X86_RDMSR" },
	{ 30, "X86_WRMSR", "KVM_EXIT_X86_WRMSR" },
	{ 31, "DIRTY_RING_FULL", "KVM_EXIT_DIRTY_RING_FULL" },
	{ 32, "AP_RESET_HOLD", "KVM_EXIT_AP_RESET_HOLD" },
	{ 33, "X86_BUS_LOCK", "KVM_EXIT_X86_BUS_LOCK" },
	{ 34, "XEN", "KVM_EXIT_XEN" },
	{ 35, "RISCV_SBI", "KVM_EXIT_RISCV_SBI" },
	{ 36, "RISCV_CSR", "KVM_EXIT_RISCV_CSR" },
	{ 37, "NOTIFY", "KVM_EXIT_NOTIFY" },
	{ 38, "LOONGARCH_IOCSR", "KVM_EXIT_LOONGARCH_IOCSR" },
	{ 39, "MEMORY_FAULT", "KVM_EXIT_MEMORY_FAULT" },
	{ 40, "TDX", "KVM_EXIT_TDX" },
	{ 41, "ARM_SEA", "KVM_EXIT_ARM_SEA" },
	{ 42, "ARM_LDST64B", "KVM_EXIT_ARM_LDST64B" },
	{ 43, "SNP_REQ_CERTS", "KVM_EXIT_SNP_REQ_CERTS" },
};

/*
 * §3.2, arch/x86/include/uapi/asm/vmx.h: EXIT_REASON_<name>, the strings of
 * VMX_EXIT_REASONS.  The five marked entries are Intel basic reasons that
 * Linux does not define; the reference takes their names from Fuchsia.
 */
static const struct reason_name vmx_exit_names[] = {
	{ 0, "EXCEPTION_NMI", "EXIT_REASON_EXCEPTION_NMI" },
	{ 1, "EXTERNAL_INTERRUPT", "EXIT_REASON_EXTERNAL_INTERRUPT" },
	{ 2, "TRIPLE_FAULT", "EXIT_REASON_TRIPLE_FAULT" },
	{ 3, "INIT_SIGNAL", "EXIT_REASON_INIT_SIGNAL" },
	{ 4, "SIPI_SIGNAL", "EXIT_REASON_SIPI_SIGNAL" },
	{ 5, "IO_SMI", "IO_SMI" },	/* not in Linux vmx.h */
	{ 6, "OTHER_SMI", "EXIT_REASON_OTHER_SMI" },
	{ 7, "INTERRUPT_WINDOW", "EXIT_REASON_INTERRUPT_WINDOW" },
	{ 8, "NMI_WINDOW", "EXIT_REASON_NMI_WINDOW" },
	{ 9, "TASK_SWITCH", "EXIT_REASON_TASK_SWITCH" },
	{ 10, "CPUID", "EXIT_REASON_CPUID" },
	{ 11, "GETSEC", "GETSEC" },	/* not in Linux vmx.h */
	{ 12, "HLT", "EXIT_REASON_HLT" },
	{ 13, "INVD", "EXIT_REASON_INVD" },
	{ 14, "INVLPG", "EXIT_REASON_INVLPG" },
	{ 15, "RDPMC", "EXIT_REASON_RDPMC" },
	{ 16, "RDTSC", "EXIT_REASON_RDTSC" },
	{ 17, "RSM", "RSM" },	/* not in Linux vmx.h */
	{ 18, "VMCALL", "EXIT_REASON_VMCALL" },
	{ 19, "VMCLEAR", "EXIT_REASON_VMCLEAR" },
	{ 20, "VMLAUNCH", "EXIT_REASON_VMLAUNCH" },
	{ 21, "VMPTRLD", "EXIT_REASON_VMPTRLD" },
	{ 22, "VMPTRST", "EXIT_REASON_VMPTRST" },
	{ 23, "VMREAD", "EXIT_REASON_VMREAD" },
	{ 24, "VMRESUME", "EXIT_REASON_VMRESUME" },
	{ 25, "VMWRITE", "EXIT_REASON_VMWRITE" },
	{ 26, "VMOFF", "EXIT_REASON_VMOFF" },
	{ 27, "VMON", "EXIT_REASON_VMON" },
	{ 28, "CR_ACCESS", "EXIT_REASON_CR_ACCESS" },
	{ 29, "DR_ACCESS", "EXIT_REASON_DR_ACCESS" },
	{ 30, "IO_INSTRUCTION", "EXIT_REASON_IO_INSTRUCTION" },
	{ 31, "MSR_READ", "EXIT_REASON_MSR_READ" },
	{ 32, "MSR_WRITE", "EXIT_REASON_MSR_WRITE" },
	{ 33, "INVALID_STATE", "EXIT_REASON_INVALID_STATE" },
	{ 34, "MSR_LOAD_FAIL", "EXIT_REASON_MSR_LOAD_FAIL" },
	{ 36, "MWAIT_INSTRUCTION", "EXIT_REASON_MWAIT_INSTRUCTION" },
	{ 37, "MONITOR_TRAP_FLAG", "EXIT_REASON_MONITOR_TRAP_FLAG" },
	{ 39, "MONITOR_INSTRUCTION", "EXIT_REASON_MONITOR_INSTRUCTION" },
	{ 40, "PAUSE_INSTRUCTION", "EXIT_REASON_PAUSE_INSTRUCTION" },
	{ 41, "MCE_DURING_VMENTRY", "EXIT_REASON_MCE_DURING_VMENTRY" },
	{ 43, "TPR_BELOW_THRESHOLD", "EXIT_REASON_TPR_BELOW_THRESHOLD" },
	{ 44, "APIC_ACCESS", "EXIT_REASON_APIC_ACCESS" },
	{ 45, "EOI_INDUCED", "EXIT_REASON_EOI_INDUCED" },
	{ 46, "GDTR_IDTR", "EXIT_REASON_GDTR_IDTR" },
	{ 47, "LDTR_TR", "EXIT_REASON_LDTR_TR" },
	{ 48, "EPT_VIOLATION", "EXIT_REASON_EPT_VIOLATION" },
	{ 49, "EPT_MISCONFIG", "EXIT_REASON_EPT_MISCONFIG" },
	{ 50, "INVEPT", "EXIT_REASON_INVEPT" },
	{ 51, "RDTSCP", "EXIT_REASON_RDTSCP" },
	{ 52, "PREEMPTION_TIMER", "EXIT_REASON_PREEMPTION_TIMER" },
	{ 53, "INVVPID", "EXIT_REASON_INVVPID" },
	{ 54, "WBINVD", "EXIT_REASON_WBINVD" },
	{ 55, "XSETBV", "EXIT_REASON_XSETBV" },
	{ 56, "APIC_WRITE", "EXIT_REASON_APIC_WRITE" },
	{ 57, "RDRAND", "EXIT_REASON_RDRAND" },
	{ 58, "INVPCID", "EXIT_REASON_INVPCID" },
	{ 59, "VMFUNC", "EXIT_REASON_VMFUNC" },
	{ 60, "ENCLS", "EXIT_REASON_ENCLS" },
	{ 61, "RDSEED", "EXIT_REASON_RDSEED" },
	{ 62, "PML_FULL", "EXIT_REASON_PML_FULL" },
	{ 63, "XSAVES", "EXIT_REASON_XSAVES" },
	{ 64, "XRSTORS", "EXIT_REASON_XRSTORS" },
	{ 66, "SPP_EVENT", "SPP_EVENT" },	/* not in Linux vmx.h */
	{ 67, "UMWAIT", "EXIT_REASON_UMWAIT" },
	{ 68, "TPAUSE", "EXIT_REASON_TPAUSE" },
	{ 69, "LOADIWKEY", "LOADIWKEY" },	/* not in Linux vmx.h */
	{ 74, "BUS_LOCK", "EXIT_REASON_BUS_LOCK" },
	{ 75, "NOTIFY", "EXIT_REASON_NOTIFY" },
	{ 76, "SEAMCALL", "EXIT_REASON_SEAMCALL" },
	{ 77, "TDCALL", "EXIT_REASON_TDCALL" },
	{ 84, "MSR_READ_IMM", "EXIT_REASON_MSR_READ_IMM" },
	{ 85, "MSR_WRITE_IMM", "EXIT_REASON_MSR_WRITE_IMM" },
};

/*
 * §3.3, arch/x86/include/uapi/asm/svm.h: the strings of SVM_EXIT_REASONS;
 * a code without one is SVM_EXIT_<NAME> in lower case ("mwait_cond").
 */
static const struct reason_name svm_exit_names[] = {
	{ 0x000, "read_cr0", "SVM_EXIT_READ_CR0" },
	{ 0x002, "read_cr2", "SVM_EXIT_READ_CR2" },
	{ 0x003, "read_cr3", "SVM_EXIT_READ_CR3" },
	{ 0x004, "read_cr4", "SVM_EXIT_READ_CR4" },
	{ 0x008, "read_cr8", "SVM_EXIT_READ_CR8" },
	{ 0x010, "write_cr0", "SVM_EXIT_WRITE_CR0" },
	{ 0x012, "write_cr2", "SVM_EXIT_WRITE_CR2" },
	{ 0x013, "write_cr3", "SVM_EXIT_WRITE_CR3" },
	{ 0x014, "write_cr4", "SVM_EXIT_WRITE_CR4" },
	{ 0x018, "write_cr8", "SVM_EXIT_WRITE_CR8" },
	{ 0x020, "read_dr0", "SVM_EXIT_READ_DR0" },
	{ 0x021, "read_dr1", "SVM_EXIT_READ_DR1" },
	{ 0x022, "read_dr2", "SVM_EXIT_READ_DR2" },
	{ 0x023, "read_dr3", "SVM_EXIT_READ_DR3" },
	{ 0x024, "read_dr4", "SVM_EXIT_READ_DR4" },
	{ 0x025, "read_dr5", "SVM_EXIT_READ_DR5" },
	{ 0x026, "read_dr6", "SVM_EXIT_READ_DR6" },
	{ 0x027, "read_dr7", "SVM_EXIT_READ_DR7" },
	{ 0x030, "write_dr0", "SVM_EXIT_WRITE_DR0" },
	{ 0x031, "write_dr1", "SVM_EXIT_WRITE_DR1" },
	{ 0x032, "write_dr2", "SVM_EXIT_WRITE_DR2" },
	{ 0x033, "write_dr3", "SVM_EXIT_WRITE_DR3" },
	{ 0x034, "write_dr4", "SVM_EXIT_WRITE_DR4" },
	{ 0x035, "write_dr5", "SVM_EXIT_WRITE_DR5" },
	{ 0x036, "write_dr6", "SVM_EXIT_WRITE_DR6" },
	{ 0x037, "write_dr7", "SVM_EXIT_WRITE_DR7" },
	/* Exception intercepts: SVM_EXIT_EXCP_BASE (0x40) + vector, named as the kernel does. */
	{ 0x040, "DE excp", "SVM_EXIT_EXCP_BASE + DE_VECTOR" },
	{ 0x041, "DB excp", "SVM_EXIT_EXCP_BASE + DB_VECTOR" },
	{ 0x043, "BP excp", "SVM_EXIT_EXCP_BASE + BP_VECTOR" },
	{ 0x044, "OF excp", "SVM_EXIT_EXCP_BASE + OF_VECTOR" },
	{ 0x045, "BR excp", "SVM_EXIT_EXCP_BASE + BR_VECTOR" },
	{ 0x046, "UD excp", "SVM_EXIT_EXCP_BASE + UD_VECTOR" },
	{ 0x047, "NM excp", "SVM_EXIT_EXCP_BASE + NM_VECTOR" },
	{ 0x048, "DF excp", "SVM_EXIT_EXCP_BASE + DF_VECTOR" },
	{ 0x04a, "TS excp", "SVM_EXIT_EXCP_BASE + TS_VECTOR" },
	{ 0x04b, "NP excp", "SVM_EXIT_EXCP_BASE + NP_VECTOR" },
	{ 0x04c, "SS excp", "SVM_EXIT_EXCP_BASE + SS_VECTOR" },
	{ 0x04d, "GP excp", "SVM_EXIT_EXCP_BASE + GP_VECTOR" },
	{ 0x04e, "PF excp", "SVM_EXIT_EXCP_BASE + PF_VECTOR" },
	{ 0x050, "MF excp", "SVM_EXIT_EXCP_BASE + MF_VECTOR" },
	{ 0x051, "AC excp", "SVM_EXIT_EXCP_BASE + AC_VECTOR" },
	{ 0x052, "MC excp", "SVM_EXIT_EXCP_BASE + MC_VECTOR" },
	{ 0x053, "XF excp", "SVM_EXIT_EXCP_BASE + XF_VECTOR" },
	{ 0x060, "interrupt", "SVM_EXIT_INTR" },
	{ 0x061, "nmi", "SVM_EXIT_NMI" },
	{ 0x062, "smi", "SVM_EXIT_SMI" },
	{ 0x063, "init", "SVM_EXIT_INIT" },
	{ 0x064, "vintr", "SVM_EXIT_VINTR" },
	{ 0x065, "cr0_sel_write", "SVM_EXIT_CR0_SEL_WRITE" },
	{ 0x066, "read_idtr", "SVM_EXIT_IDTR_READ" },
	{ 0x067, "read_gdtr", "SVM_EXIT_GDTR_READ" },
	{ 0x068, "read_ldtr", "SVM_EXIT_LDTR_READ" },
	{ 0x069, "read_rt", "SVM_EXIT_TR_READ" },
	{ 0x06a, "write_idtr", "SVM_EXIT_IDTR_WRITE" },
	{ 0x06b, "write_gdtr", "SVM_EXIT_GDTR_WRITE" },
	{ 0x06c, "write_ldtr", "SVM_EXIT_LDTR_WRITE" },
	{ 0x06d, "write_rt", "SVM_EXIT_TR_WRITE" },
	{ 0x06e, "rdtsc", "SVM_EXIT_RDTSC" },
	{ 0x06f, "rdpmc", "SVM_EXIT_RDPMC" },
	{ 0x070, "pushf", "SVM_EXIT_PUSHF" },
	{ 0x071, "popf", "SVM_EXIT_POPF" },
	{ 0x072, "cpuid", "SVM_EXIT_CPUID" },
	{ 0x073, "rsm", "SVM_EXIT_RSM" },
	{ 0x074, "iret", "SVM_EXIT_IRET" },
	{ 0x075, "swint", "SVM_EXIT_SWINT" },
	{ 0x076, "invd", "SVM_EXIT_INVD" },
	{ 0x077, "pause", "SVM_EXIT_PAUSE" },
	{ 0x078, "hlt", "SVM_EXIT_HLT" },
	{ 0x079, "invlpg", "SVM_EXIT_INVLPG" },
	{ 0x07a, "invlpga", "SVM_EXIT_INVLPGA" },
	{ 0x07b, "io", "SVM_EXIT_IOIO" },
	{ 0x07c, "msr", "SVM_EXIT_MSR" },
	{ 0x07d, "task_switch", "SVM_EXIT_TASK_SWITCH" },
	{ 0x07e, "ferr_freeze", "SVM_EXIT_FERR_FREEZE" },
	{ 0x07f, "shutdown", "SVM_EXIT_SHUTDOWN" },
	{ 0x080, "vmrun", "SVM_EXIT_VMRUN" },
	{ 0x081, "hypercall", "SVM_EXIT_VMMCALL" },
	{ 0x082, "vmload", "SVM_EXIT_VMLOAD" },
	{ 0x083, "vmsave", "SVM_EXIT_VMSAVE" },
	{ 0x084, "stgi", "SVM_EXIT_STGI" },
	{ 0x085, "clgi", "SVM_EXIT_CLGI" },
	{ 0x086, "skinit", "SVM_EXIT_SKINIT" },
	{ 0x087, "rdtscp", "SVM_EXIT_RDTSCP" },
	{ 0x088, "icebp", "SVM_EXIT_ICEBP" },
	{ 0x089, "wbinvd", "SVM_EXIT_WBINVD" },
	{ 0x08a, "monitor", "SVM_EXIT_MONITOR" },
	{ 0x08b, "mwait", "SVM_EXIT_MWAIT" },
	{ 0x08c, "mwait_cond", "SVM_EXIT_MWAIT_COND" },
	{ 0x08d, "xsetbv", "SVM_EXIT_XSETBV" },
	{ 0x08e, "rdpru", "SVM_EXIT_RDPRU" },
	{ 0x08f, "write_efer_trap", "SVM_EXIT_EFER_WRITE_TRAP" },
	{ 0x090, "write_cr0_trap", "SVM_EXIT_CR0_WRITE_TRAP" },
	{ 0x091, "cr1_write_trap", "SVM_EXIT_CR1_WRITE_TRAP" },
	{ 0x092, "cr2_write_trap", "SVM_EXIT_CR2_WRITE_TRAP" },
	{ 0x093, "cr3_write_trap", "SVM_EXIT_CR3_WRITE_TRAP" },
	{ 0x094, "write_cr4_trap", "SVM_EXIT_CR4_WRITE_TRAP" },
	{ 0x095, "cr5_write_trap", "SVM_EXIT_CR5_WRITE_TRAP" },
	{ 0x096, "cr6_write_trap", "SVM_EXIT_CR6_WRITE_TRAP" },
	{ 0x097, "cr7_write_trap", "SVM_EXIT_CR7_WRITE_TRAP" },
	{ 0x098, "write_cr8_trap", "SVM_EXIT_CR8_WRITE_TRAP" },
	{ 0x099, "cr9_write_trap", "SVM_EXIT_CR9_WRITE_TRAP" },
	{ 0x09a, "cr10_write_trap", "SVM_EXIT_CR10_WRITE_TRAP" },
	{ 0x09b, "cr11_write_trap", "SVM_EXIT_CR11_WRITE_TRAP" },
	{ 0x09c, "cr12_write_trap", "SVM_EXIT_CR12_WRITE_TRAP" },
	{ 0x09d, "cr13_write_trap", "SVM_EXIT_CR13_WRITE_TRAP" },
	{ 0x09e, "cr14_write_trap", "SVM_EXIT_CR14_WRITE_TRAP" },
	{ 0x09f, "cr15_write_trap", "SVM_EXIT_CR15_WRITE_TRAP" },
	{ 0x0a2, "invpcid", "SVM_EXIT_INVPCID" },
	{ 0x0a5, "buslock", "SVM_EXIT_BUS_LOCK" },
	{ 0x0a6, "idle-halt", "SVM_EXIT_IDLE_HLT" },
	{ 0x400, "npf", "SVM_EXIT_NPF" },
	{ 0x401, "avic_incomplete_ipi", "SVM_EXIT_AVIC_INCOMPLETE_IPI" },
	{ 0x402, "avic_unaccelerated_access", "SVM_EXIT_AVIC_UNACCELERATED_ACCESS" },
	{ 0x403, "vmgexit", "SVM_EXIT_VMGEXIT" },
	{ 0xf0000000, "sw", "SVM_EXIT_SW" },
	{ 0xffffffffu, "invalid_guest_state", "SVM_EXIT_ERR" },
};


/*
 * §3.3.1, svm.h: GHCB sw_exit_code of a VMGEXIT.  Names are the strings of
 * SVM_EXIT_REASONS; a code without one is SVM_<NAME> in lower case.
 */
static const struct reason_name svm_vmgexit_names[] = {
	{ 0x80000001, "vmgexit_mmio_read", "SVM_VMGEXIT_MMIO_READ" },
	{ 0x80000002, "vmgexit_mmio_write", "SVM_VMGEXIT_MMIO_WRITE" },
	{ 0x80000003, "vmgexit_nmi_complete", "SVM_VMGEXIT_NMI_COMPLETE" },
	{ 0x80000004, "vmgexit_ap_hlt_loop", "SVM_VMGEXIT_AP_HLT_LOOP" },
	{ 0x80000005, "vmgexit_ap_jump_table", "SVM_VMGEXIT_AP_JUMP_TABLE" },
	{ 0x80000010, "vmgexit_page_state_change", "SVM_VMGEXIT_PSC" },
	{ 0x80000011, "vmgexit_guest_request", "SVM_VMGEXIT_GUEST_REQUEST" },
	{ 0x80000012, "vmgexit_ext_guest_request", "SVM_VMGEXIT_EXT_GUEST_REQUEST" },
	{ 0x80000013, "vmgexit_ap_creation", "SVM_VMGEXIT_AP_CREATION" },
	{ 0x80000018, "vmgexit_snp_run_vmpl", "SVM_VMGEXIT_SNP_RUN_VMPL" },
	{ 0x8000001a, "vmgexit_savic", "SVM_VMGEXIT_SAVIC" },
	{ 0x8000fffd, "vmgexit_hypervisor_feature", "SVM_VMGEXIT_HV_FEATURES" },
	{ 0x8000fffe, "vmgexit_term_request", "SVM_VMGEXIT_TERM_REQUEST" },
	{ 0x8000ffff, "vmgexit_unsupported_event", "SVM_VMGEXIT_UNSUPPORTED_EVENT" },
};

/*
 * §3.3.2, arch/x86/include/asm/sev-common.h: GHCBInfo of the GHCB MSR
 * protocol, GHCB_MSR_<name>.  No tracepoint prints these by name.
 */
static const struct reason_name ghcb_msr_names[] = {
	{ 0x001, "SEV_INFO_RESP", "GHCB_MSR_SEV_INFO_RESP" },
	{ 0x002, "SEV_INFO_REQ", "GHCB_MSR_SEV_INFO_REQ" },
	{ 0x004, "CPUID_REQ", "GHCB_MSR_CPUID_REQ" },
	{ 0x005, "CPUID_RESP", "GHCB_MSR_CPUID_RESP" },
	{ 0x006, "AP_RESET_HOLD_REQ", "GHCB_MSR_AP_RESET_HOLD_REQ" },
	{ 0x007, "AP_RESET_HOLD_RESP", "GHCB_MSR_AP_RESET_HOLD_RESP" },
	{ 0x010, "PREF_GPA_REQ", "GHCB_MSR_PREF_GPA_REQ" },
	{ 0x011, "PREF_GPA_RESP", "GHCB_MSR_PREF_GPA_RESP" },
	{ 0x012, "REG_GPA_REQ", "GHCB_MSR_REG_GPA_REQ" },
	{ 0x013, "REG_GPA_RESP", "GHCB_MSR_REG_GPA_RESP" },
	{ 0x014, "PSC_REQ", "GHCB_MSR_PSC_REQ" },
	{ 0x015, "PSC_RESP", "GHCB_MSR_PSC_RESP" },
	{ 0x016, "VMPL_REQ", "GHCB_MSR_VMPL_REQ" },
	{ 0x017, "VMPL_RESP", "GHCB_MSR_VMPL_RESP" },
	{ 0x080, "HV_FT_REQ", "GHCB_MSR_HV_FT_REQ" },
	{ 0x081, "HV_FT_RESP", "GHCB_MSR_HV_FT_RESP" },
	{ 0x100, "TERM_REQ", "GHCB_MSR_TERM_REQ" },
};

/*
 * §3.4.2, arch/arm64/include/asm/kvm_asm.h: the ret of arm64 kvm_exit,
 * ARM_EXCEPTION_<name>, named as kvm_arm_exception_type prints it; IL has
 * no string there.  The SError flag (bit 31) is not a code: see
 * arm64_exit_reason().
 */
static const struct reason_name arm64_exception_names[] = {
	{ ARM64_EXCEPTION_IRQ, "IRQ", "ARM_EXCEPTION_IRQ" },
	{ ARM64_EXCEPTION_EL1_SERROR, "SERROR", "ARM_EXCEPTION_EL1_SERROR" },
	{ ARM64_EXCEPTION_TRAP, "TRAP", "ARM_EXCEPTION_TRAP" },
	{ ARM64_EXCEPTION_IL, "IL", "ARM_EXCEPTION_IL" },
	{ ARM64_EXCEPTION_HYP_GONE, "HYP_GONE", "ARM_EXCEPTION_HYP_GONE" },
};

/*
 * §3.4.1, arch/arm64/include/asm/esr.h: ESR_ELx_EC_<name>, which is also
 * the string kvm_arm_exception_class prints (ECN(x) is #x), for the classes
 * it has; the others (BTI, HVC32, ...) it prints as a number.
 */
static const struct reason_name arm64_esr_ec_names[] = {
	{ 0x00, "UNKNOWN", "ESR_ELx_EC_UNKNOWN" },
	{ 0x01, "WFx", "ESR_ELx_EC_WFx" },
	{ 0x03, "CP15_32", "ESR_ELx_EC_CP15_32" },
	{ 0x04, "CP15_64", "ESR_ELx_EC_CP15_64" },
	{ 0x05, "CP14_MR", "ESR_ELx_EC_CP14_MR" },
	{ 0x06, "CP14_LS", "ESR_ELx_EC_CP14_LS" },
	{ 0x07, "FP_ASIMD", "ESR_ELx_EC_FP_ASIMD" },
	{ 0x08, "CP10_ID", "ESR_ELx_EC_CP10_ID" },
	{ 0x09, "PAC", "ESR_ELx_EC_PAC" },
	{ 0x0a, "OTHER", "ESR_ELx_EC_OTHER" },
	{ 0x0c, "CP14_64", "ESR_ELx_EC_CP14_64" },
	{ 0x0d, "BTI", "ESR_ELx_EC_BTI" },
	{ 0x0e, "ILL", "ESR_ELx_EC_ILL" },
	{ 0x11, "SVC32", "ESR_ELx_EC_SVC32" },
	{ 0x12, "HVC32", "ESR_ELx_EC_HVC32" },
	{ 0x13, "SMC32", "ESR_ELx_EC_SMC32" },
	{ 0x15, "SVC64", "ESR_ELx_EC_SVC64" },
	{ 0x16, "HVC64", "ESR_ELx_EC_HVC64" },
	{ 0x17, "SMC64", "ESR_ELx_EC_SMC64" },
	{ 0x18, "SYS64", "ESR_ELx_EC_SYS64" },
	{ 0x19, "SVE", "ESR_ELx_EC_SVE" },
	{ 0x1a, "ERET", "ESR_ELx_EC_ERET" },
	{ 0x1c, "FPAC", "ESR_ELx_EC_FPAC" },
	{ 0x1d, "SME", "ESR_ELx_EC_SME" },
	{ 0x1f, "IMP_DEF", "ESR_ELx_EC_IMP_DEF" },
	{ 0x20, "IABT_LOW", "ESR_ELx_EC_IABT_LOW" },
	{ 0x21, "IABT_CUR", "ESR_ELx_EC_IABT_CUR" },
	{ 0x22, "PC_ALIGN", "ESR_ELx_EC_PC_ALIGN" },
	{ 0x24, "DABT_LOW", "ESR_ELx_EC_DABT_LOW" },
	{ 0x25, "DABT_CUR", "ESR_ELx_EC_DABT_CUR" },
	{ 0x26, "SP_ALIGN", "ESR_ELx_EC_SP_ALIGN" },
	{ 0x27, "MOPS", "ESR_ELx_EC_MOPS" },
	{ 0x28, "FP_EXC32", "ESR_ELx_EC_FP_EXC32" },
	{ 0x2c, "FP_EXC64", "ESR_ELx_EC_FP_EXC64" },
	{ 0x2d, "GCS", "ESR_ELx_EC_GCS" },
	{ 0x2f, "SERROR", "ESR_ELx_EC_SERROR" },
	{ 0x30, "BREAKPT_LOW", "ESR_ELx_EC_BREAKPT_LOW" },
	{ 0x31, "BREAKPT_CUR", "ESR_ELx_EC_BREAKPT_CUR" },
	{ 0x32, "SOFTSTP_LOW", "ESR_ELx_EC_SOFTSTP_LOW" },
	{ 0x33, "SOFTSTP_CUR", "ESR_ELx_EC_SOFTSTP_CUR" },
	{ 0x34, "WATCHPT_LOW", "ESR_ELx_EC_WATCHPT_LOW" },
	{ 0x35, "WATCHPT_CUR", "ESR_ELx_EC_WATCHPT_CUR" },
	{ 0x38, "BKPT32", "ESR_ELx_EC_BKPT32" },
	{ 0x3a, "VECTOR32", "ESR_ELx_EC_VECTOR32" },
	{ 0x3c, "BRK64", "ESR_ELx_EC_BRK64" },
};

/*
 * §3.5.1: s390 SIE intercept codes, named by the strings of
 * sie_intercept_code (arch/s390/include/uapi/asm/sie.h) that
 * kvm_s390_sie_exit prints; a code without one is ICPT_<NAME>, and the
 * symbol is "-" where there is no ICPT_ macro.
 */
static const struct reason_name s390_intercept_names[] = {
	{ 0x00, "Host interruption", "-" },
	{ 0x04, "Instruction", "ICPT_INST" },
	{ 0x08, "Program interruption", "ICPT_PROGI" },
	{ 0x0c, "Instruction and program interruption", "ICPT_INSTPROGI" },
	{ 0x10, "External request", "ICPT_EXTREQ" },
	{ 0x14, "External interruption", "ICPT_EXTINT" },
	{ 0x18, "I/O request", "ICPT_IOREQ" },
	{ 0x1c, "Wait state", "ICPT_WAIT" },
	{ 0x20, "Validity", "ICPT_VALIDITY" },
	{ 0x28, "Stop request", "ICPT_STOP" },
	{ 0x2c, "Operation exception", "ICPT_OPEREXC" },
	{ 0x38, "Partial-execution", "ICPT_PARTEXEC" },
	{ 0x3c, "I/O interruption", "-" },
	{ 0x40, "I/O instruction", "ICPT_IOINST" },
	{ 0x48, "Timing subset", "-" },
	{ 0x5c, "KSS", "ICPT_KSS" },
	{ 0x60, "MCHKREQ", "ICPT_MCHKREQ" },
	{ 0x64, "INT_ENABLE", "ICPT_INT_ENABLE" },
	{ 0x68, "PV_INSTR", "ICPT_PV_INSTR" },
	{ 0x6c, "PV_NOTIFY", "ICPT_PV_NOTIFY" },
	{ 0x70, "PV_PREF", "ICPT_PV_PREF" },
};

/*
 * §5.2, open-vm-tools backdoor_def.h: VMware low-bandwidth backdoor
 * commands, BDOOR_CMD_<name>, including those open-vm-tools keeps only as
 * comments (retired numbers that a guest may still send).
 */
/* KVM_HC_* hypercall numbers (include/uapi/linux/kvm_para.h; kvm-decode.md §3.1). */
static const struct reason_name kvm_hc_names[] = {
	{ 1, "VAPIC_POLL_IRQ", "KVM_HC_VAPIC_POLL_IRQ" },
	{ 2, "MMU_OP", "KVM_HC_MMU_OP" },
	{ 3, "FEATURES", "KVM_HC_FEATURES" },
	{ 4, "PPC_MAP_MAGIC_PAGE", "KVM_HC_PPC_MAP_MAGIC_PAGE" },
	{ 5, "KICK_CPU", "KVM_HC_KICK_CPU" },
	{ 6, "MIPS_GET_CLOCK_FREQ", "KVM_HC_MIPS_GET_CLOCK_FREQ" },
	{ 7, "MIPS_EXIT_VM", "KVM_HC_MIPS_EXIT_VM" },
	{ 8, "MIPS_CONSOLE_OUTPUT", "KVM_HC_MIPS_CONSOLE_OUTPUT" },
	{ 9, "CLOCK_PAIRING", "KVM_HC_CLOCK_PAIRING" },
	{ 10, "SEND_IPI", "KVM_HC_SEND_IPI" },
	{ 11, "SCHED_YIELD", "KVM_HC_SCHED_YIELD" },
	{ 12, "MAP_GPA_RANGE", "KVM_HC_MAP_GPA_RANGE" },
};

static const struct reason_name vmware_backdoor_names[] = {
	{ 1, "GETMHZ", "BDOOR_CMD_GETMHZ" },
	{ 2, "APMFUNCTION", "BDOOR_CMD_APMFUNCTION" },
	{ 3, "GETDISKGEO", "BDOOR_CMD_GETDISKGEO" },
	{ 4, "GETPTRLOCATION", "BDOOR_CMD_GETPTRLOCATION" },
	{ 5, "SETPTRLOCATION", "BDOOR_CMD_SETPTRLOCATION" },
	{ 6, "GETSELLENGTH", "BDOOR_CMD_GETSELLENGTH" },
	{ 7, "GETNEXTPIECE", "BDOOR_CMD_GETNEXTPIECE" },
	{ 8, "SETSELLENGTH", "BDOOR_CMD_SETSELLENGTH" },
	{ 9, "SETNEXTPIECE", "BDOOR_CMD_SETNEXTPIECE" },
	{ 10, "GETVERSION", "BDOOR_CMD_GETVERSION" },
	{ 11, "GETDEVICELISTELEMENT", "BDOOR_CMD_GETDEVICELISTELEMENT" },
	{ 12, "TOGGLEDEVICE", "BDOOR_CMD_TOGGLEDEVICE" },
	{ 13, "GETGUIOPTIONS", "BDOOR_CMD_GETGUIOPTIONS" },
	{ 14, "SETGUIOPTIONS", "BDOOR_CMD_SETGUIOPTIONS" },
	{ 15, "GETSCREENSIZE", "BDOOR_CMD_GETSCREENSIZE" },
	{ 16, "MONITOR_CONTROL", "BDOOR_CMD_MONITOR_CONTROL" },
	{ 17, "GETHWVERSION", "BDOOR_CMD_GETHWVERSION" },
	{ 18, "OSNOTFOUND", "BDOOR_CMD_OSNOTFOUND" },
	{ 19, "GETUUID", "BDOOR_CMD_GETUUID" },
	{ 20, "GETMEMSIZE", "BDOOR_CMD_GETMEMSIZE" },
	{ 21, "HOSTCOPY", "BDOOR_CMD_HOSTCOPY" },
	{ 22, "PMC", "BDOOR_CMD_PMC" },
	{ 23, "GETTIME", "BDOOR_CMD_GETTIME" },
	{ 24, "STOPCATCHUP", "BDOOR_CMD_STOPCATCHUP" },
	{ 25, "PUTCHR", "BDOOR_CMD_PUTCHR" },
	{ 26, "ENABLE_MSG", "BDOOR_CMD_ENABLE_MSG" },
	{ 27, "GOTO_TCL", "BDOOR_CMD_GOTO_TCL" },
	{ 28, "INITPCIOPROM", "BDOOR_CMD_INITPCIOPROM" },
	{ 29, "INT13", "BDOOR_CMD_INT13" },
	{ 30, "MESSAGE", "BDOOR_CMD_MESSAGE" },
	{ 31, "SIDT", "BDOOR_CMD_SIDT" },
	{ 32, "SGDT", "BDOOR_CMD_SGDT" },
	{ 33, "SLDT_STR", "BDOOR_CMD_SLDT_STR" },
	{ 34, "ISACPIDISABLED", "BDOOR_CMD_ISACPIDISABLED" },
	{ 35, "TOE", "BDOOR_CMD_TOE" },
	{ 36, "ISMOUSEABSOLUTE", "BDOOR_CMD_ISMOUSEABSOLUTE" },
	{ 37, "PATCH_SMBIOS_STRUCTS", "BDOOR_CMD_PATCH_SMBIOS_STRUCTS" },
	{ 38, "MAPMEM", "BDOOR_CMD_MAPMEM" },
	{ 39, "ABSPOINTER_DATA", "BDOOR_CMD_ABSPOINTER_DATA" },
	{ 40, "ABSPOINTER_STATUS", "BDOOR_CMD_ABSPOINTER_STATUS" },
	{ 41, "ABSPOINTER_COMMAND", "BDOOR_CMD_ABSPOINTER_COMMAND" },
	{ 42, "TIMER_SPONGE", "BDOOR_CMD_TIMER_SPONGE" },
	{ 43, "PATCH_ACPI_TABLES", "BDOOR_CMD_PATCH_ACPI_TABLES" },
	{ 44, "DEVEL_FAKEHARDWARE", "BDOOR_CMD_DEVEL_FAKEHARDWARE" },
	{ 45, "GETHZ", "BDOOR_CMD_GETHZ" },
	{ 46, "GETTIMEFULL", "BDOOR_CMD_GETTIMEFULL" },
	{ 47, "STATELOGGER", "BDOOR_CMD_STATELOGGER" },
	{ 48, "CHECKFORCEBIOSSETUP", "BDOOR_CMD_CHECKFORCEBIOSSETUP" },
	{ 49, "LAZYTIMEREMULATION", "BDOOR_CMD_LAZYTIMEREMULATION" },
	{ 50, "BIOSBBS", "BDOOR_CMD_BIOSBBS" },
	{ 51, "VASSERT", "BDOOR_CMD_VASSERT" },
	{ 52, "ISGOSDARWIN", "BDOOR_CMD_ISGOSDARWIN" },
	{ 53, "DEBUGEVENT", "BDOOR_CMD_DEBUGEVENT" },
	{ 54, "OSNOTMACOSXSERVER", "BDOOR_CMD_OSNOTMACOSXSERVER" },
	{ 55, "GETTIMEFULL_WITH_LAG", "BDOOR_CMD_GETTIMEFULL_WITH_LAG" },
	{ 56, "ACPI_HOTPLUG_DEVICE", "BDOOR_CMD_ACPI_HOTPLUG_DEVICE" },
	{ 57, "ACPI_HOTPLUG_MEMORY", "BDOOR_CMD_ACPI_HOTPLUG_MEMORY" },
	{ 58, "ACPI_HOTPLUG_CBRET", "BDOOR_CMD_ACPI_HOTPLUG_CBRET" },
	{ 59, "GET_HOST_VIDEO_MODES", "BDOOR_CMD_GET_HOST_VIDEO_MODES" },
	{ 60, "ACPI_HOTPLUG_CPU", "BDOOR_CMD_ACPI_HOTPLUG_CPU" },
	{ 61, "USB_HOTPLUG_MOUSE", "BDOOR_CMD_USB_HOTPLUG_MOUSE" },
	{ 62, "XPMODE", "BDOOR_CMD_XPMODE" },
	{ 63, "NESTING_CONTROL", "BDOOR_CMD_NESTING_CONTROL" },
	{ 64, "FIRMWARE_INIT", "BDOOR_CMD_FIRMWARE_INIT" },
	{ 65, "FIRMWARE_ACPI_SERVICES", "BDOOR_CMD_FIRMWARE_ACPI_SERVICES" },
	{ 66, "SENDPSHAREHINTS", "BDOOR_CMD_SENDPSHAREHINTS" },
	{ 67, "ENABLE_USB_MOUSE", "BDOOR_CMD_ENABLE_USB_MOUSE" },
	{ 68, "GET_VCPU_INFO", "BDOOR_CMD_GET_VCPU_INFO" },
	{ 69, "EFI_SERIALCON_CONFIG", "BDOOR_CMD_EFI_SERIALCON_CONFIG" },
	{ 70, "BUG328986", "BDOOR_CMD_BUG328986" },
	{ 71, "FIRMWARE_ERROR", "BDOOR_CMD_FIRMWARE_ERROR" },
	{ 72, "VMK_INFO", "BDOOR_CMD_VMK_INFO" },
	{ 73, "EFI_BOOT_CONFIG", "BDOOR_CMD_EFI_BOOT_CONFIG" },
	{ 74, "GET_HW_MODEL", "BDOOR_CMD_GET_HW_MODEL" },
	{ 75, "GET_SVGA_CAPABILITIES", "BDOOR_CMD_GET_SVGA_CAPABILITIES" },
	{ 76, "GET_FORCE_X2APIC", "BDOOR_CMD_GET_FORCE_X2APIC" },
	{ 77, "SET_PCI_HOLE", "BDOOR_CMD_SET_PCI_HOLE" },
	{ 78, "GET_PCI_HOLE", "BDOOR_CMD_GET_PCI_HOLE" },
	{ 79, "GET_PCI_BAR", "BDOOR_CMD_GET_PCI_BAR" },
	{ 80, "SHOULD_GENERATE_SYSTEMID", "BDOOR_CMD_SHOULD_GENERATE_SYSTEMID" },
	{ 81, "READ_DEBUG_FILE", "BDOOR_CMD_READ_DEBUG_FILE" },
	{ 82, "SCREENSHOT", "BDOOR_CMD_SCREENSHOT" },
	{ 83, "INJECT_KEY", "BDOOR_CMD_INJECT_KEY" },
	{ 84, "INJECT_MOUSE", "BDOOR_CMD_INJECT_MOUSE" },
	{ 85, "MKS_GUEST_STATS", "BDOOR_CMD_MKS_GUEST_STATS" },
	{ 86, "ABSPOINTER_RESTRICT", "BDOOR_CMD_ABSPOINTER_RESTRICT" },
	{ 87, "GUEST_INTEGRITY", "BDOOR_CMD_GUEST_INTEGRITY" },
	{ 88, "MKSTEST", "BDOOR_CMD_MKSTEST" },
	{ 89, "SECUREBOOT", "BDOOR_CMD_SECUREBOOT" },
	{ 90, "COPY_PHYSMEM", "BDOOR_CMD_COPY_PHYSMEM" },
	{ 91, "STEALCLOCK", "BDOOR_CMD_STEALCLOCK" },
	{ 92, "GUEST_PAGE_HINTS", "BDOOR_CMD_GUEST_PAGE_HINTS" },
	{ 93, "FIRMWARE_UPDATE", "BDOOR_CMD_FIRMWARE_UPDATE" },
	{ 94, "FUZZER_HELPER", "BDOOR_CMD_FUZZER_HELPER" },
	{ 95, "PUTCHR12", "BDOOR_CMD_PUTCHR12" },
	{ 96, "GMM", "BDOOR_CMD_GMM" },
	{ 97, "PRECISIONCLOCK", "BDOOR_CMD_PRECISIONCLOCK" },
	{ 98, "COREDUMP_UNSYNC", "BDOOR_CMD_COREDUMP_UNSYNC" },
	{ 99, "APPLE_GPU_RES_SET", "BDOOR_CMD_APPLE_GPU_RES_SET" },
	{ 100, "GETBUILDNUM", "BDOOR_CMD_GETBUILDNUM" },
	{ 101, "GETENTROPY", "BDOOR_CMD_GETENTROPY" },
	{ 102, "REPORTGUESTCRASH", "BDOOR_CMD_REPORTGUESTCRASH" },
	{ 103, "PK_UPDATE", "BDOOR_CMD_PK_UPDATE" },
	{ 104, "GET_FWTRCLOG_MASK", "BDOOR_CMD_GET_FWTRCLOG_MASK" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* VMX exit reason: bits 15:0 are the basic reason, bit 31 a failed VM-entry. */
#define VMX_BASIC_REASON_MASK 0xffffu
#define VMX_FAILED_VMENTRY 0x80000000u

/*
 * The packed arm64 reason (include/kvmscope/exits.h): the exception level
 * in bits 31:30, ret in bits 29:8, exception class in bits 7:0.
 */
#define ARM64_REASON_RET_SHIFT KVMSCOPE_ARM64_RET_SHIFT
#define ARM64_REASON_RET_MASK KVMSCOPE_ARM64_RET_MASK
#define ARM64_REASON_EC_MASK 0xffu
#define ARM64_ESR_EC_MASK 0x3fu

struct decode_table_def {
	const char *which;
	const struct reason_name *entries;
	size_t n;
	/* A code with no entry: hex, or decimal, after this prefix (NULL: none). */
	const char *unknown_prefix;
	bool unknown_decimal;
};

enum decode_table_id {
	TABLE_KVM,
	TABLE_VMX,
	TABLE_SVM,
	TABLE_SVM_VMGEXIT,
	TABLE_GHCB_MSR,
	TABLE_ARM64_EXCEPTION,
	TABLE_ARM64_ESR_EC,
	TABLE_S390,
	TABLE_VMWARE_BACKDOOR,
	TABLE_KVM_HC,
	TABLE_COUNT,
};

#define TABLE(array) .entries = (array), .n = ARRAY_SIZE(array)

/*
 * Decimal where the kernel and the reference number the codes in decimal;
 * the arm64 parts get a prefix, as they are shown side by side.
 */
static const struct decode_table_def decode_tables[TABLE_COUNT] = {
	[TABLE_KVM] = { .which = "kvm", TABLE(kvm_exit_names), .unknown_decimal = true },
	[TABLE_VMX] = { .which = "vmx", TABLE(vmx_exit_names), .unknown_decimal = true },
	[TABLE_SVM] = { .which = "svm", TABLE(svm_exit_names) },
	[TABLE_SVM_VMGEXIT] = { .which = "svm_vmgexit", TABLE(svm_vmgexit_names) },
	[TABLE_GHCB_MSR] = { .which = "ghcb_msr", TABLE(ghcb_msr_names) },
	[TABLE_ARM64_EXCEPTION] = { .which = "arm64_exception", TABLE(arm64_exception_names),
				    .unknown_prefix = "ret " },
	[TABLE_ARM64_ESR_EC] = { .which = "arm64_esr_ec", TABLE(arm64_esr_ec_names),
				 .unknown_prefix = "ec " },
	[TABLE_S390] = { .which = "s390", TABLE(s390_intercept_names) },
	[TABLE_VMWARE_BACKDOOR] = { .which = "vmware_backdoor", TABLE(vmware_backdoor_names),
				    .unknown_decimal = true },
	[TABLE_KVM_HC] = { .which = "kvm_hc", TABLE(kvm_hc_names), .unknown_decimal = true },
};

static const struct reason_name *lookup(const struct decode_table_def *t, uint64_t code)
{
	/* Every table's codes fit 32 bits; a wider value must not match its low half. */
	if (code > UINT32_MAX)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->entries[i].code == code)
			return &t->entries[i];
	return NULL;
}

static const char *lookup_name(enum decode_table_id id, uint64_t code)
{
	const struct reason_name *r = lookup(&decode_tables[id], code);

	return r ? r->name : NULL;
}

/* The name of @code or its number; returns what snprintf() returns. */
static int format_code(const struct decode_table_def *t, uint64_t code, char *buf, size_t len)
{
	const struct reason_name *r = lookup(t, code);

	if (r)
		return snprintf(buf, len, "%s", r->name);
	return snprintf(buf, len, t->unknown_decimal ? "%s%" PRIu64 : "%s0x%" PRIx64,
			t->unknown_prefix ? t->unknown_prefix : "", code);
}

static const struct decode_table_def *find_table(const char *which)
{
	for (size_t i = 0; i < TABLE_COUNT; i++)
		if (!strcmp(which, decode_tables[i].which))
			return &decode_tables[i];
	return NULL;
}

const char *decode_kvm_exit(uint32_t code)
{
	return lookup_name(TABLE_KVM, code);
}

const char *decode_vmx_basic_reason(uint32_t basic_reason)
{
	return lookup_name(TABLE_VMX, basic_reason);
}

const char *decode_svm_exit(uint32_t exit_code)
{
	return lookup_name(TABLE_SVM, exit_code);
}

const char *decode_svm_vmgexit(uint64_t sw_exit_code)
{
	return lookup_name(TABLE_SVM_VMGEXIT, sw_exit_code);
}

const char *decode_ghcb_exit_code(uint64_t sw_exit_code)
{
	if (sw_exit_code >= 0x80000000u)
		return decode_svm_vmgexit(sw_exit_code);
	return sw_exit_code <= UINT32_MAX ? decode_svm_exit((uint32_t)sw_exit_code) : NULL;
}

const char *decode_ghcb_msr_request(uint32_t ghcb_info)
{
	return lookup_name(TABLE_GHCB_MSR, ghcb_info);
}

const char *decode_arm64_exception(uint32_t ret)
{
	return lookup_name(TABLE_ARM64_EXCEPTION, ret);
}

const char *decode_arm64_esr_ec(uint32_t esr_ec)
{
	return lookup_name(TABLE_ARM64_ESR_EC, esr_ec);
}

const char *decode_s390_intercept(uint32_t icptcode)
{
	return lookup_name(TABLE_S390, icptcode);
}

const char *decode_vmware_backdoor_command(uint32_t command)
{
	return lookup_name(TABLE_VMWARE_BACKDOOR, command);
}

const char *decode_kvm_hypercall(uint64_t nr)
{
	return lookup_name(TABLE_KVM_HC, nr);
}

const char *decode_name(const char *which, uint64_t code, char *buf, size_t len)
{
	const struct decode_table_def *t = find_table(which);

	if (t)
		format_code(t, code, buf, len);
	else
		snprintf(buf, len, "0x%" PRIx64, code);
	return buf;
}

uint32_t arm64_exit_reason(uint32_t ret, uint32_t esr_ec)
{
	/* As the tracepoint stores it, packed as the live BPF program packs it. */
	return kvmscope_arm64_reason(ret & ~ARM64_EXIT_WITH_SERROR_BIT, esr_ec,
				     KVMSCOPE_ARM64_EL_UNKNOWN);
}

uint32_t arm64_exit_reason_ret(uint32_t reason)
{
	uint32_t ret = (reason >> ARM64_REASON_RET_SHIFT) & ARM64_REASON_RET_MASK;

	if (ret == (ARM64_EXCEPTION_HYP_GONE & ARM64_REASON_RET_MASK))
		return ARM64_EXCEPTION_HYP_GONE;
	return ret;
}

uint32_t arm64_exit_reason_esr_ec(uint32_t reason)
{
	return reason & ARM64_REASON_EC_MASK;
}

uint32_t arm64_exit_reason_el(uint32_t reason)
{
	return reason >> KVMSCOPE_ARM64_EL_SHIFT;
}

const char *arm64_el_name(uint32_t el)
{
	switch (el) {
	case KVMSCOPE_ARM64_EL0:
		return "EL0";
	case KVMSCOPE_ARM64_EL1:
		return "EL1";
	case KVMSCOPE_ARM64_EL2:
		return "vEL2";
	default:
		return NULL;
	}
}

static const char *arm64_exit_name(uint32_t reason, char *buf, size_t len)
{
	uint32_t ret = arm64_exit_reason_ret(reason);
	uint32_t ec = arm64_exit_reason_esr_ec(reason);
	char ec_name[DECODE_NAME_MAX];
	int used;

	used = format_code(&decode_tables[TABLE_ARM64_EXCEPTION], ret, buf, len);
	/*
	 * Only a trap has a class.  A class on another type cannot come from
	 * arm64_exit_reason(), but is shown rather than silently merged.
	 */
	if (used < 0 || (size_t)used >= len)
		return buf;
	if (ret == ARM64_EXCEPTION_TRAP || ec) {
		format_code(&decode_tables[TABLE_ARM64_ESR_EC], ec, ec_name, sizeof(ec_name));
		used += snprintf(buf + used, len - (size_t)used, "/%s", ec_name);
	}
	/* Taken from a known level (live exits; a recorded trace has none). */
	if (arm64_el_name(arm64_exit_reason_el(reason)) && used > 0 && (size_t)used < len)
		snprintf(buf + used, len - (size_t)used, "@%s",
			 arm64_el_name(arm64_exit_reason_el(reason)));
	return buf;
}

const char *isa_name(uint32_t isa)
{
	switch (isa) {
	case KVMSCOPE_ISA_VMX:
		return "vmx";
	case KVMSCOPE_ISA_SVM:
		return "svm";
	case KVMSCOPE_ISA_ARM64:
		return "arm64";
	case KVMSCOPE_ISA_S390:
		return "s390";
	default:
		return "unknown";
	}
}

int isa_from_name(const char *name)
{
	for (uint32_t i = KVMSCOPE_ISA_VMX; i <= KVMSCOPE_ISA_S390; i++)
		if (!strcmp(name, isa_name(i)))
			return (int)i;
	return -1;
}

const char *hw_exit_name(uint32_t isa, uint32_t code, char *buf, size_t len)
{
	switch (isa) {
	case KVMSCOPE_ISA_VMX: {
		const char *prefix = (code & VMX_FAILED_VMENTRY) ? "FAILED_VMENTRY|" : "";
		const char *name = decode_vmx_basic_reason(code & VMX_BASIC_REASON_MASK);

		if (name)
			snprintf(buf, len, "%s%s", prefix, name);
		else
			snprintf(buf, len, "%s%u", prefix, code & VMX_BASIC_REASON_MASK);
		return buf;
	}
	case KVMSCOPE_ISA_SVM:
		format_code(&decode_tables[TABLE_SVM], code, buf, len);
		return buf;
	case KVMSCOPE_ISA_ARM64:
		return arm64_exit_name(code, buf, len);
	case KVMSCOPE_ISA_S390:
		format_code(&decode_tables[TABLE_S390], code, buf, len);
		return buf;
	default:
		snprintf(buf, len, "0x%x", code);
		return buf;
	}
}

/*
 * A KVM_RUN that failed, as the kernel prints kvm_userspace_exit with
 * errno < 0: "restart" for EINTR, else "error", to which we add the errno.
 */
static void user_error_name(uint32_t err, char *buf, size_t len)
{
	const char *name = strerrorname_np((int)err);

	if (err == EINTR)
		snprintf(buf, len, "restart");
	else if (name)
		snprintf(buf, len, "error:%s", name);
	else
		snprintf(buf, len, "error:%" PRIu32, err);
}

const char *kvm_exit_name(uint32_t code, char *buf, size_t len)
{
	uint32_t err = code & ~KVMSCOPE_USER_ERROR_BASE;

	if ((code & KVMSCOPE_USER_ERROR_BASE) && err && err <= KVMSCOPE_USER_ERROR_MAX_ERRNO)
		user_error_name(err, buf, len);
	else
		format_code(&decode_tables[TABLE_KVM], code, buf, len);
	return buf;
}

const char *pio_direction_name(unsigned int direction)
{
	return direction == KVMSCOPE_PIO_OUT ? "out" : "in";
}

const struct reason_name *decode_table(const char *which, size_t *n)
{
	const struct decode_table_def *t = find_table(which);

	*n = t ? t->n : 0;
	return t ? t->entries : NULL;
}

const struct reason_name *decode_table_find_name(const char *which, const char *name)
{
	const struct decode_table_def *t = find_table(which);

	for (size_t i = 0; t && i < t->n; i++)
		if (!strcmp(t->entries[i].name, name))
			return &t->entries[i];
	return NULL;
}
