// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exit-reason tables.  Transcribed from kvm-decode.md §3.1 (KVM_EXIT_*,
 * include/uapi/linux/kvm.h), §3.2 (VMX basic reasons, asm/vmx.h) and §3.3
 * (SVM exit codes, asm/svm.h, with the exception intercepts 0x40-0x5f
 * expanded; short names are the kernel's SVM_EXIT_REASONS strings).
 * Short names match what perf and kvm_stat print.
 */
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "kvmscope/exits.h"

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

static const struct reason_name vmx_exit_names[] = {
	{ 0, "EXCEPTION_NMI", "EXIT_REASON_EXCEPTION_NMI" },
	{ 1, "EXTERNAL_INTERRUPT", "EXIT_REASON_EXTERNAL_INTERRUPT" },
	{ 2, "TRIPLE_FAULT", "EXIT_REASON_TRIPLE_FAULT" },
	{ 3, "INIT_SIGNAL", "EXIT_REASON_INIT_SIGNAL" },
	{ 4, "SIPI_SIGNAL", "EXIT_REASON_SIPI_SIGNAL" },
	{ 6, "OTHER_SMI", "EXIT_REASON_OTHER_SMI" },
	{ 7, "INTERRUPT_WINDOW", "EXIT_REASON_INTERRUPT_WINDOW" },
	{ 8, "NMI_WINDOW", "EXIT_REASON_NMI_WINDOW" },
	{ 9, "TASK_SWITCH", "EXIT_REASON_TASK_SWITCH" },
	{ 10, "CPUID", "EXIT_REASON_CPUID" },
	{ 12, "HLT", "EXIT_REASON_HLT" },
	{ 13, "INVD", "EXIT_REASON_INVD" },
	{ 14, "INVLPG", "EXIT_REASON_INVLPG" },
	{ 15, "RDPMC", "EXIT_REASON_RDPMC" },
	{ 16, "RDTSC", "EXIT_REASON_RDTSC" },
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
	{ 67, "UMWAIT", "EXIT_REASON_UMWAIT" },
	{ 68, "TPAUSE", "EXIT_REASON_TPAUSE" },
	{ 74, "BUS_LOCK", "EXIT_REASON_BUS_LOCK" },
	{ 75, "NOTIFY", "EXIT_REASON_NOTIFY" },
	{ 76, "SEAMCALL", "EXIT_REASON_SEAMCALL" },
	{ 77, "TDCALL", "EXIT_REASON_TDCALL" },
	{ 84, "MSR_READ_IMM", "EXIT_REASON_MSR_READ_IMM" },
	{ 85, "MSR_WRITE_IMM", "EXIT_REASON_MSR_WRITE_IMM" },
};

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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct reason_name *lookup(const struct reason_name *t, size_t n, uint32_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return &t[i];
	return NULL;
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
	const struct reason_name *r = NULL;

	switch (isa) {
	case KVMSCOPE_ISA_VMX: {
		const char *prefix = (code & 0x80000000u) ? "FAILED_VMENTRY|" : "";

		r = lookup(vmx_exit_names, ARRAY_SIZE(vmx_exit_names), code & 0xffff);
		if (r)
			snprintf(buf, len, "%s%s", prefix, r->name);
		else
			snprintf(buf, len, "%s%u", prefix, code & 0xffff);
		return buf;
	}
	case KVMSCOPE_ISA_SVM:
		r = lookup(svm_exit_names, ARRAY_SIZE(svm_exit_names), code);
		break;
	default:
		break;
	}
	if (r)
		snprintf(buf, len, "%s", r->name);
	else
		snprintf(buf, len, "0x%x", code);
	return buf;
}

const char *kvm_exit_name(uint32_t code, char *buf, size_t len)
{
	const struct reason_name *r = lookup(kvm_exit_names, ARRAY_SIZE(kvm_exit_names), code);

	if (r)
		snprintf(buf, len, "%s", r->name);
	else
		snprintf(buf, len, "%u", code);
	return buf;
}

const char *pio_direction_name(unsigned int direction)
{
	return direction == KVMSCOPE_PIO_OUT ? "out" : "in";
}

const struct reason_name *decode_table(const char *which, size_t *n)
{
	if (!strcmp(which, "kvm")) {
		*n = ARRAY_SIZE(kvm_exit_names);
		return kvm_exit_names;
	}
	if (!strcmp(which, "vmx")) {
		*n = ARRAY_SIZE(vmx_exit_names);
		return vmx_exit_names;
	}
	if (!strcmp(which, "svm")) {
		*n = ARRAY_SIZE(svm_exit_names);
		return svm_exit_names;
	}
	*n = 0;
	return NULL;
}
