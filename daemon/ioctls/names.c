// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM ioctl names and the names of what the launch-time ioctls carry.
 * Every table is transcribed from kvm-decode.md (section given above each)
 * and checked against it, in both directions, by
 * tests/unit/test_ioctl_names.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ioctls/names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Shorthands for the ioctl table only. */
#define X86 IOCTL_ON_X86
#define ARM64 IOCTL_ON_ARM64
#define S390 IOCTL_ON_S390
#define PPC IOCTL_ON_PPC
#define RISCV IOCTL_ON_RISCV
#define LOONGARCH IOCTL_ON_LOONGARCH
#define MIPS IOCTL_ON_MIPS
#define ALL IOCTL_ON_ALL
#define SYS(arches) [KVMSCOPE_FD_SYSTEM] = (arches)
#define VM(arches) [KVMSCOPE_FD_VM] = (arches)
#define VCPU(arches) [KVMSCOPE_FD_VCPU] = (arches)
#define DEV(arches) [KVMSCOPE_FD_DEVICE] = (arches)

/*
 * Follows kvm-decode.md §1.2 (L7.2 include/uapi/linux/kvm.h), row for row
 * and in its order, which decides between the two names arm64 0x4010aeab
 * has when the fd kind is unknown.  value[]: x86-64, arm64, s390x; the
 * "other arch value" where the reference gives one, else the x86-64 value;
 * 0 where it gives neither (x86-64 "n/a", the struct being another arch's).
 * on[]: the "fd kind" column.  Rows for powerpc alone are kept so that the table is
 * the whole header; they match nothing on the arches decoded here.
 */
static const struct ioctl_def ioctl_defs[] = {
	{ "KVM_GET_API_VERSION", { 0xae00, 0xae00, 0xae00 }, { SYS(ALL) } },
	{ "KVM_CREATE_VM", { 0xae01, 0xae01, 0xae01 }, { SYS(ALL) } },
	{ "KVM_GET_MSR_INDEX_LIST", { 0xc004ae02, 0xc004ae02, 0xc004ae02 }, { SYS(X86) } },
	{ "KVM_S390_ENABLE_SIE", { 0xae06, 0xae06, 0xae06 }, { SYS(S390) } },
	{ "KVM_CHECK_EXTENSION", { 0xae03, 0xae03, 0xae03 }, { SYS(ALL), VM(ALL) } },
	{ "KVM_GET_VCPU_MMAP_SIZE", { 0xae04, 0xae04, 0xae04 }, { SYS(ALL) } },
	{ "KVM_GET_SUPPORTED_CPUID", { 0xc008ae05, 0xc008ae05, 0xc008ae05 }, { SYS(X86) } },
	{ "KVM_GET_EMULATED_CPUID", { 0xc008ae09, 0xc008ae09, 0xc008ae09 }, { SYS(X86) } },
	{ "KVM_GET_MSR_FEATURE_INDEX_LIST", { 0xc004ae0a, 0xc004ae0a, 0xc004ae0a }, { SYS(X86) } },
	{ "KVM_CREATE_VCPU", { 0xae41, 0xae41, 0xae41 }, { VM(ALL) } },
	{ "KVM_GET_DIRTY_LOG", { 0x4010ae42, 0x4010ae42, 0x4010ae42 }, { VM(ALL) } },
	{ "KVM_SET_NR_MMU_PAGES", { 0xae44, 0xae44, 0xae44 }, { VM(X86) } },
	/* "none in 6.12/7.2": the x86 VM fd took it in 5.10 and 6.1. */
	{ "KVM_GET_NR_MMU_PAGES", { 0xae45, 0xae45, 0xae45 }, { VM(X86) } },
	{ "KVM_SET_USER_MEMORY_REGION", { 0x4020ae46, 0x4020ae46, 0x4020ae46 }, { VM(ALL) } },
	{ "KVM_SET_TSS_ADDR", { 0xae47, 0xae47, 0xae47 }, { VM(X86) } },
	{ "KVM_SET_IDENTITY_MAP_ADDR", { 0x4008ae48, 0x4008ae48, 0x4008ae48 }, { VM(X86) } },
	{ "KVM_SET_USER_MEMORY_REGION2", { 0x40a0ae49, 0x40a0ae49, 0x40a0ae49 }, { VM(ALL) } },
	{ "KVM_S390_UCAS_MAP", { 0, 0, 0x4018ae50 }, { VCPU(S390) } },
	{ "KVM_S390_UCAS_UNMAP", { 0, 0, 0x4018ae51 }, { VCPU(S390) } },
	{ "KVM_S390_VCPU_FAULT", { 0x4008ae52, 0x4008ae52, 0x4008ae52 }, { VCPU(S390) } },
	{ "KVM_S390_KEYOP", { 0xc010ae53, 0xc010ae53, 0xc010ae53 }, { VM(S390) } },
	{ "KVM_CREATE_IRQCHIP", { 0xae60, 0xae60, 0xae60 },
	  { VM(ARM64 | LOONGARCH | S390 | X86) } },
	{ "KVM_IRQ_LINE", { 0x4008ae61, 0x4008ae61, 0x4008ae61 }, { VM(ALL) } },
	{ "KVM_GET_IRQCHIP", { 0xc208ae62, 0xc208ae62, 0xc208ae62 }, { VM(X86) } },
	{ "KVM_SET_IRQCHIP", { 0x8208ae63, 0x8208ae63, 0x8208ae63 }, { VM(X86) } },
	{ "KVM_CREATE_PIT", { 0xae64, 0xae64, 0xae64 }, { VM(X86) } },
	{ "KVM_GET_PIT", { 0xc048ae65, 0xc048ae65, 0xc048ae65 }, { VM(X86) } },
	{ "KVM_SET_PIT", { 0x8048ae66, 0x8048ae66, 0x8048ae66 }, { VM(X86) } },
	{ "KVM_IRQ_LINE_STATUS", { 0xc008ae67, 0xc008ae67, 0xc008ae67 }, { VM(ALL) } },
	{ "KVM_REGISTER_COALESCED_MMIO", { 0x4010ae67, 0x4010ae67, 0x4010ae67 }, { VM(ALL) } },
	{ "KVM_UNREGISTER_COALESCED_MMIO", { 0x4010ae68, 0x4010ae68, 0x4010ae68 }, { VM(ALL) } },
	{ "KVM_SET_GSI_ROUTING", { 0x4008ae6a, 0x4008ae6a, 0x4008ae6a }, { VM(ALL) } },
	{ "KVM_REINJECT_CONTROL", { 0xae71, 0xae71, 0xae71 }, { VM(X86) } },
	{ "KVM_IRQFD", { 0x4020ae76, 0x4020ae76, 0x4020ae76 }, { VM(ALL) } },
	{ "KVM_CREATE_PIT2", { 0x4040ae77, 0x4040ae77, 0x4040ae77 }, { VM(X86) } },
	{ "KVM_SET_BOOT_CPU_ID", { 0xae78, 0xae78, 0xae78 }, { VM(X86) } },
	{ "KVM_IOEVENTFD", { 0x4040ae79, 0x4040ae79, 0x4040ae79 }, { VM(ALL) } },
	{ "KVM_XEN_HVM_CONFIG", { 0x4038ae7a, 0x4038ae7a, 0x4038ae7a }, { VM(X86) } },
	{ "KVM_SET_CLOCK", { 0x4030ae7b, 0x4030ae7b, 0x4030ae7b }, { VM(X86) } },
	{ "KVM_GET_CLOCK", { 0x8030ae7c, 0x8030ae7c, 0x8030ae7c }, { VM(X86) } },
	{ "KVM_GET_PIT2", { 0x8070ae9f, 0x8070ae9f, 0x8070ae9f }, { VM(X86) } },
	{ "KVM_SET_PIT2", { 0x4070aea0, 0x4070aea0, 0x4070aea0 }, { VM(X86) } },
	{ "KVM_PPC_GET_PVINFO", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_SET_TSC_KHZ", { 0xaea2, 0xaea2, 0xaea2 }, { VM(X86), VCPU(X86) } },
	{ "KVM_GET_TSC_KHZ", { 0xaea3, 0xaea3, 0xaea3 }, { VM(X86), VCPU(X86) } },
	{ "KVM_SIGNAL_MSI", { 0x4020aea5, 0x4020aea5, 0x4020aea5 }, { VM(ALL) } },
	{ "KVM_PPC_GET_SMMU_INFO", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_PPC_ALLOCATE_HTAB", { 0xc004aea7, 0xc004aea7, 0xc004aea7 }, { VM(PPC) } },
	{ "KVM_CREATE_SPAPR_TCE", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_CREATE_SPAPR_TCE_64", { 0, 0, 0 }, { VM(PPC) } },
	/* "none": no handler in 7.2, obsolete. */
	{ "KVM_ALLOCATE_RMA", { 0, 0, 0 }, { 0 } },
	{ "KVM_PPC_GET_HTAB_FD", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_ARM_SET_DEVICE_ADDR", { 0x4010aeab, 0x4010aeab, 0x4010aeab }, { VM(ARM64) } },
	{ "KVM_PPC_RTAS_DEFINE_TOKEN", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_PPC_RESIZE_HPT_PREPARE", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_PPC_RESIZE_HPT_COMMIT", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_PPC_CONFIGURE_V3_MMU", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_PPC_GET_RMMU_INFO", { 0, 0, 0 }, { VM(PPC) } },
	{ "KVM_PPC_GET_CPU_CHAR", { 0, 0, 0 }, { VM(PPC) } },
	/* arm64 has the macro (its own struct) but takes the filter as a vCPU attribute. */
	{ "KVM_SET_PMU_EVENT_FILTER", { 0x4020aeb2, 0x4008aeb2, 0x4020aeb2 }, { VM(X86) } },
	{ "KVM_PPC_SVM_OFF", { 0xaeb3, 0xaeb3, 0xaeb3 }, { VM(PPC) } },
	{ "KVM_ARM_MTE_COPY_TAGS", { 0, 0x8030aeb4, 0 }, { VM(ARM64) } },
	{ "KVM_ARM_SET_COUNTER_OFFSET", { 0, 0x4010aeb5, 0 }, { VM(ARM64) } },
	{ "KVM_ARM_GET_REG_WRITABLE_MASKS", { 0, 0x8040aeb6, 0 }, { VM(ARM64) } },
	{ "KVM_CREATE_DEVICE", { 0xc00caee0, 0xc00caee0, 0xc00caee0 }, { VM(ALL) } },
	{ "KVM_SET_DEVICE_ATTR", { 0x4018aee1, 0x4018aee1, 0x4018aee1 },
	  { VM(ARM64 | S390), VCPU(ARM64 | LOONGARCH | X86), DEV(ALL) } },
	{ "KVM_GET_DEVICE_ATTR", { 0x4018aee2, 0x4018aee2, 0x4018aee2 },
	  { SYS(X86), VM(S390), VCPU(ARM64 | LOONGARCH | X86), DEV(ALL) } },
	{ "KVM_HAS_DEVICE_ATTR", { 0x4018aee3, 0x4018aee3, 0x4018aee3 },
	  { SYS(X86), VM(ARM64 | LOONGARCH | S390), VCPU(ARM64 | LOONGARCH | X86), DEV(ALL) } },
	{ "KVM_RUN", { 0xae80, 0xae80, 0xae80 }, { VCPU(ALL) } },
	{ "KVM_GET_REGS", { 0x8090ae81, 0x8360ae81, 0x8080ae81 }, { VCPU(ALL) } },
	{ "KVM_SET_REGS", { 0x4090ae82, 0x4360ae82, 0x4080ae82 }, { VCPU(ALL) } },
	{ "KVM_GET_SREGS", { 0x8138ae83, 0x8000ae83, 0x80c0ae83 }, { VCPU(ALL) } },
	{ "KVM_SET_SREGS", { 0x4138ae84, 0x4000ae84, 0x40c0ae84 }, { VCPU(ALL) } },
	{ "KVM_TRANSLATE", { 0xc018ae85, 0xc018ae85, 0xc018ae85 }, { VCPU(ALL) } },
	{ "KVM_INTERRUPT", { 0x4004ae86, 0x4004ae86, 0x4004ae86 }, { VCPU(X86) } },
	{ "KVM_GET_MSRS", { 0xc008ae88, 0xc008ae88, 0xc008ae88 }, { SYS(X86), VCPU(X86) } },
	{ "KVM_SET_MSRS", { 0x4008ae89, 0x4008ae89, 0x4008ae89 }, { VCPU(X86) } },
	{ "KVM_SET_CPUID", { 0x4008ae8a, 0x4008ae8a, 0x4008ae8a }, { VCPU(X86) } },
	{ "KVM_SET_SIGNAL_MASK", { 0x4004ae8b, 0x4004ae8b, 0x4004ae8b }, { VCPU(ALL) } },
	{ "KVM_GET_FPU", { 0x81a0ae8c, 0x8000ae8c, 0x8088ae8c }, { VCPU(ALL) } },
	{ "KVM_SET_FPU", { 0x41a0ae8d, 0x4000ae8d, 0x4088ae8d }, { VCPU(ALL) } },
	{ "KVM_GET_LAPIC", { 0x8400ae8e, 0x8400ae8e, 0x8400ae8e }, { VCPU(X86) } },
	{ "KVM_SET_LAPIC", { 0x4400ae8f, 0x4400ae8f, 0x4400ae8f }, { VCPU(X86) } },
	{ "KVM_SET_CPUID2", { 0x4008ae90, 0x4008ae90, 0x4008ae90 }, { VCPU(X86) } },
	{ "KVM_GET_CPUID2", { 0xc008ae91, 0xc008ae91, 0xc008ae91 }, { VCPU(X86) } },
	{ "KVM_TPR_ACCESS_REPORTING", { 0xc028ae92, 0xc028ae92, 0xc028ae92 }, { VCPU(X86) } },
	{ "KVM_SET_VAPIC_ADDR", { 0x4008ae93, 0x4008ae93, 0x4008ae93 }, { VCPU(X86) } },
	{ "KVM_S390_INTERRUPT", { 0, 0, 0x4010ae94 }, { VM(S390), VCPU(S390) } },
	{ "KVM_S390_STORE_STATUS", { 0x4008ae95, 0x4008ae95, 0x4008ae95 }, { VCPU(S390) } },
	{ "KVM_S390_SET_INITIAL_PSW", { 0, 0, 0x4010ae96 }, { VCPU(S390) } },
	{ "KVM_S390_INITIAL_RESET", { 0xae97, 0xae97, 0xae97 }, { VCPU(S390) } },
	{ "KVM_GET_MP_STATE", { 0x8004ae98, 0x8004ae98, 0x8004ae98 }, { VCPU(ALL) } },
	{ "KVM_SET_MP_STATE", { 0x4004ae99, 0x4004ae99, 0x4004ae99 }, { VCPU(ALL) } },
	{ "KVM_NMI", { 0xae9a, 0xae9a, 0xae9a }, { VCPU(X86) } },
	{ "KVM_SET_GUEST_DEBUG", { 0x4048ae9b, 0x4208ae9b, 0x4018ae9b }, { VCPU(ALL) } },
	{ "KVM_X86_SETUP_MCE", { 0x4008ae9c, 0x4008ae9c, 0x4008ae9c }, { VCPU(X86) } },
	{ "KVM_X86_GET_MCE_CAP_SUPPORTED", { 0x8008ae9d, 0x8008ae9d, 0x8008ae9d }, { SYS(X86) } },
	{ "KVM_X86_SET_MCE", { 0x4040ae9e, 0x4040ae9e, 0x4040ae9e }, { VCPU(X86) } },
	{ "KVM_GET_VCPU_EVENTS", { 0x8040ae9f, 0x8040ae9f, 0x8040ae9f }, { VCPU(ARM64 | X86) } },
	{ "KVM_SET_VCPU_EVENTS", { 0x4040aea0, 0x4040aea0, 0x4040aea0 }, { VCPU(ARM64 | X86) } },
	{ "KVM_GET_DEBUGREGS", { 0x8080aea1, 0x8080aea1, 0x8080aea1 }, { VCPU(X86) } },
	{ "KVM_SET_DEBUGREGS", { 0x4080aea2, 0x4080aea2, 0x4080aea2 }, { VCPU(X86) } },
	{ "KVM_ENABLE_CAP", { 0x4068aea3, 0x4068aea3, 0x4068aea3 },
	  { VM(ALL), VCPU(LOONGARCH | MIPS | PPC | S390 | X86) } },
	{ "KVM_GET_XSAVE", { 0x9000aea4, 0x9000aea4, 0x9000aea4 }, { VCPU(X86) } },
	{ "KVM_SET_XSAVE", { 0x5000aea5, 0x5000aea5, 0x5000aea5 }, { VCPU(X86) } },
	{ "KVM_GET_XCRS", { 0x8188aea6, 0x8188aea6, 0x8188aea6 }, { VCPU(X86) } },
	{ "KVM_SET_XCRS", { 0x4188aea7, 0x4188aea7, 0x4188aea7 }, { VCPU(X86) } },
	{ "KVM_DIRTY_TLB", { 0x4010aeaa, 0x4010aeaa, 0x4010aeaa }, { VCPU(PPC) } },
	{ "KVM_GET_ONE_REG", { 0x4010aeab, 0x4010aeab, 0x4010aeab },
	  { VCPU(ARM64 | LOONGARCH | MIPS | PPC | RISCV | S390 | X86) } },
	{ "KVM_SET_ONE_REG", { 0x4010aeac, 0x4010aeac, 0x4010aeac },
	  { VCPU(ARM64 | LOONGARCH | MIPS | PPC | RISCV | S390 | X86) } },
	{ "KVM_KVMCLOCK_CTRL", { 0xaead, 0xaead, 0xaead }, { VCPU(X86) } },
	{ "KVM_ARM_VCPU_INIT", { 0, 0x4020aeae, 0 }, { VCPU(ARM64) } },
	{ "KVM_ARM_PREFERRED_TARGET", { 0, 0x8020aeaf, 0 }, { VM(ARM64) } },
	{ "KVM_GET_REG_LIST", { 0xc008aeb0, 0xc008aeb0, 0xc008aeb0 },
	  { VCPU(ARM64 | MIPS | RISCV | X86) } },
	{ "KVM_S390_MEM_OP", { 0, 0, 0x4040aeb1 }, { VM(S390), VCPU(S390) } },
	{ "KVM_S390_GET_SKEYS", { 0, 0, 0x4040aeb2 }, { VM(S390) } },
	{ "KVM_S390_SET_SKEYS", { 0, 0, 0x4040aeb3 }, { VM(S390) } },
	{ "KVM_S390_IRQ", { 0, 0, 0x4048aeb4 }, { VCPU(S390) } },
	{ "KVM_S390_SET_IRQ_STATE", { 0, 0, 0x4020aeb5 }, { VCPU(S390) } },
	{ "KVM_S390_GET_IRQ_STATE", { 0, 0, 0x4020aeb6 }, { VCPU(S390) } },
	{ "KVM_SMI", { 0xaeb7, 0xaeb7, 0xaeb7 }, { VCPU(X86) } },
	{ "KVM_S390_GET_CMMA_BITS", { 0, 0, 0xc020aeb8 }, { VM(S390) } },
	{ "KVM_S390_SET_CMMA_BITS", { 0, 0, 0x4020aeb9 }, { VM(S390) } },
	{ "KVM_MEMORY_ENCRYPT_OP", { 0xc008aeba, 0xc008aeba, 0xc008aeba }, { VM(X86), VCPU(X86) } },
	{ "KVM_MEMORY_ENCRYPT_REG_REGION", { 0x8010aebb, 0x8010aebb, 0x8010aebb }, { VM(X86) } },
	{ "KVM_MEMORY_ENCRYPT_UNREG_REGION", { 0x8010aebc, 0x8010aebc, 0x8010aebc }, { VM(X86) } },
	{ "KVM_HYPERV_EVENTFD", { 0x4018aebd, 0x4018aebd, 0x4018aebd }, { VM(X86) } },
	{ "KVM_GET_NESTED_STATE", { 0xc080aebe, 0xc080aebe, 0xc080aebe }, { VCPU(X86) } },
	{ "KVM_SET_NESTED_STATE", { 0x4080aebf, 0x4080aebf, 0x4080aebf }, { VCPU(X86) } },
	{ "KVM_CLEAR_DIRTY_LOG", { 0xc018aec0, 0xc018aec0, 0xc018aec0 }, { VM(ALL) } },
	{ "KVM_GET_SUPPORTED_HV_CPUID", { 0xc008aec1, 0xc008aec1, 0xc008aec1 },
	  { SYS(X86), VCPU(X86) } },
	{ "KVM_ARM_VCPU_FINALIZE", { 0x4004aec2, 0x4004aec2, 0x4004aec2 }, { VCPU(ARM64) } },
	{ "KVM_S390_NORMAL_RESET", { 0xaec3, 0xaec3, 0xaec3 }, { VCPU(S390) } },
	{ "KVM_S390_CLEAR_RESET", { 0xaec4, 0xaec4, 0xaec4 }, { VCPU(S390) } },
	{ "KVM_S390_PV_COMMAND", { 0, 0, 0xc020aec5 }, { VM(S390) } },
	{ "KVM_X86_SET_MSR_FILTER", { 0x4188aec6, 0x4188aec6, 0x4188aec6 }, { VM(X86) } },
	{ "KVM_RESET_DIRTY_RINGS", { 0xaec7, 0xaec7, 0xaec7 }, { VM(ALL) } },
	{ "KVM_XEN_HVM_GET_ATTR", { 0xc048aec8, 0xc048aec8, 0xc048aec8 }, { VM(X86) } },
	{ "KVM_XEN_HVM_SET_ATTR", { 0x4048aec9, 0x4048aec9, 0x4048aec9 }, { VM(X86) } },
	{ "KVM_XEN_VCPU_GET_ATTR", { 0xc048aeca, 0xc048aeca, 0xc048aeca }, { VCPU(X86) } },
	{ "KVM_XEN_VCPU_SET_ATTR", { 0x4048aecb, 0x4048aecb, 0x4048aecb }, { VCPU(X86) } },
	{ "KVM_XEN_HVM_EVTCHN_SEND", { 0x400caed0, 0x400caed0, 0x400caed0 }, { VM(X86) } },
	{ "KVM_GET_SREGS2", { 0x8140aecc, 0x8140aecc, 0x8140aecc }, { VCPU(X86) } },
	{ "KVM_SET_SREGS2", { 0x4140aecd, 0x4140aecd, 0x4140aecd }, { VCPU(X86) } },
	{ "KVM_GET_STATS_FD", { 0xaece, 0xaece, 0xaece }, { VM(ALL), VCPU(ALL) } },
	{ "KVM_GET_XSAVE2", { 0x9000aecf, 0x9000aecf, 0x9000aecf }, { VCPU(X86) } },
	{ "KVM_S390_PV_CPU_COMMAND", { 0, 0, 0xc020aed0 }, { VCPU(S390) } },
	{ "KVM_S390_ZPCI_OP", { 0, 0, 0x4048aed1 }, { VM(S390) } },
	{ "KVM_SET_MEMORY_ATTRIBUTES", { 0x4020aed2, 0x4020aed2, 0x4020aed2 }, { VM(ALL) } },
	{ "KVM_CREATE_GUEST_MEMFD", { 0xc040aed4, 0xc040aed4, 0xc040aed4 }, { VM(ALL) } },
	{ "KVM_PRE_FAULT_MEMORY", { 0xc040aed5, 0xc040aed5, 0xc040aed5 }, { VCPU(ALL) } },
};

/*
 * §1.4: in the 5.10 and 6.1 headers only, their handlers long gone; the
 * x86-64 values (compiled against L6.1), taken for the other arches too.
 * No fd takes them, so on[] is empty and any fd kind names them.
 */
static const struct ioctl_def legacy_ioctl_defs[] = {
	{ "KVM_SET_MEMORY_REGION", { 0x4018ae40, 0x4018ae40, 0x4018ae40 }, { 0 } },
	{ "KVM_SET_MEMORY_ALIAS", { 0x4020ae43, 0x4020ae43, 0x4020ae43 }, { 0 } },
	{ "KVM_ASSIGN_PCI_DEVICE", { 0x8040ae69, 0x8040ae69, 0x8040ae69 }, { 0 } },
	{ "KVM_ASSIGN_DEV_IRQ", { 0x4040ae70, 0x4040ae70, 0x4040ae70 }, { 0 } },
	{ "KVM_DEASSIGN_PCI_DEVICE", { 0x4040ae72, 0x4040ae72, 0x4040ae72 }, { 0 } },
	{ "KVM_ASSIGN_SET_MSIX_NR", { 0x4008ae73, 0x4008ae73, 0x4008ae73 }, { 0 } },
	{ "KVM_ASSIGN_SET_MSIX_ENTRY", { 0x4010ae74, 0x4010ae74, 0x4010ae74 }, { 0 } },
	{ "KVM_DEASSIGN_DEV_IRQ", { 0x4040ae75, 0x4040ae75, 0x4040ae75 }, { 0 } },
	{ "KVM_ASSIGN_SET_INTX_MASK", { 0x4040aea4, 0x4040aea4, 0x4040aea4 }, { 0 } },
};

#undef X86
#undef ARM64
#undef S390
#undef PPC
#undef RISCV
#undef LOONGARCH
#undef MIPS
#undef ALL
#undef SYS
#undef VM
#undef VCPU
#undef DEV

/* A number and its name, for the small tables below. */
struct id_name {
	uint32_t id;
	const char *name;
};

static const char *id_lookup(const struct id_name *t, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].id == id)
			return t[i].name;
	return NULL;
}

#define ID_LOOKUP(table, id) id_lookup(table, ARRAY_SIZE(table), id)

/*
 * §1.5.1, arch/x86/include/uapi/asm/kvm.h: KVM_CREATE_VM types on x86, with
 * the protection each asks for.
 */
static const struct {
	const char *name;
	const char *protection;
} x86_vm_types[] = {
	{ "KVM_X86_DEFAULT_VM", "none" },
	{ "KVM_X86_SW_PROTECTED_VM", "sw_protected" },
	{ "KVM_X86_SEV_VM", "sev" },
	{ "KVM_X86_SEV_ES_VM", "sev_es" },
	{ "KVM_X86_SNP_VM", "snp" },
	{ "KVM_X86_TDX_VM", "tdx" },
};

/* §1.5.1, include/uapi/linux/kvm.h: the arm64 type is the IPA size and a flag. */
#define ARM_VM_TYPE_IPA_MASK 0xffull
#define ARM_VM_TYPE_IPA_DEFAULT 40
#define ARM_VM_TYPE_PROTECTED (1ull << 31)
#define S390_VM_UCONTROL 1ull

/* §2.1.1, arch/x86/include/uapi/asm/kvm.h: enum sev_cmd_id. */
static const struct id_name sev_cmds[] = {
	{ 0, "KVM_SEV_INIT" },
	{ 1, "KVM_SEV_ES_INIT" },
	{ 2, "KVM_SEV_LAUNCH_START" },
	{ 3, "KVM_SEV_LAUNCH_UPDATE_DATA" },
	{ 4, "KVM_SEV_LAUNCH_UPDATE_VMSA" },
	{ 5, "KVM_SEV_LAUNCH_SECRET" },
	{ 6, "KVM_SEV_LAUNCH_MEASURE" },
	{ 7, "KVM_SEV_LAUNCH_FINISH" },
	{ 8, "KVM_SEV_SEND_START" },
	{ 9, "KVM_SEV_SEND_UPDATE_DATA" },
	{ 10, "KVM_SEV_SEND_UPDATE_VMSA" },
	{ 11, "KVM_SEV_SEND_FINISH" },
	{ 12, "KVM_SEV_RECEIVE_START" },
	{ 13, "KVM_SEV_RECEIVE_UPDATE_DATA" },
	{ 14, "KVM_SEV_RECEIVE_UPDATE_VMSA" },
	{ 15, "KVM_SEV_RECEIVE_FINISH" },
	{ 16, "KVM_SEV_GUEST_STATUS" },
	{ 17, "KVM_SEV_DBG_DECRYPT" },
	{ 18, "KVM_SEV_DBG_ENCRYPT" },
	{ 19, "KVM_SEV_CERT_EXPORT" },
	{ 20, "KVM_SEV_GET_ATTESTATION_REPORT" },
	{ 21, "KVM_SEV_SEND_CANCEL" },
	{ 22, "KVM_SEV_INIT2" },
	{ 100, "KVM_SEV_SNP_LAUNCH_START" },
	{ 101, "KVM_SEV_SNP_LAUNCH_UPDATE" },
	{ 102, "KVM_SEV_SNP_LAUNCH_FINISH" },
	{ 103, "KVM_SEV_SNP_ENABLE_REQ_CERTS" },
};

/*
 * §2.1.3, include/uapi/linux/psp-sev.h: enum sev_ret_code.  3 is named by
 * the header's correctly spelt alias, not by SEV_RET_INAVLID_CONFIG.
 */
static const struct id_name sev_errors[] = {
	{ 0xffffffff, "SEV_RET_NO_FW_CALL" },	/* -1 */
	{ 0x0000, "SEV_RET_SUCCESS" },
	{ 0x0001, "SEV_RET_INVALID_PLATFORM_STATE" },
	{ 0x0002, "SEV_RET_INVALID_GUEST_STATE" },
	{ 0x0003, "SEV_RET_INVALID_CONFIG" },
	{ 0x0004, "SEV_RET_INVALID_LEN" },
	{ 0x0005, "SEV_RET_ALREADY_OWNED" },
	{ 0x0006, "SEV_RET_INVALID_CERTIFICATE" },
	{ 0x0007, "SEV_RET_POLICY_FAILURE" },
	{ 0x0008, "SEV_RET_INACTIVE" },
	{ 0x0009, "SEV_RET_INVALID_ADDRESS" },
	{ 0x000a, "SEV_RET_BAD_SIGNATURE" },
	{ 0x000b, "SEV_RET_BAD_MEASUREMENT" },
	{ 0x000c, "SEV_RET_ASID_OWNED" },
	{ 0x000d, "SEV_RET_INVALID_ASID" },
	{ 0x000e, "SEV_RET_WBINVD_REQUIRED" },
	{ 0x000f, "SEV_RET_DFFLUSH_REQUIRED" },
	{ 0x0010, "SEV_RET_INVALID_GUEST" },
	{ 0x0011, "SEV_RET_INVALID_COMMAND" },
	{ 0x0012, "SEV_RET_ACTIVE" },
	{ 0x0013, "SEV_RET_HWSEV_RET_PLATFORM" },
	{ 0x0014, "SEV_RET_HWSEV_RET_UNSAFE" },
	{ 0x0015, "SEV_RET_UNSUPPORTED" },
	{ 0x0016, "SEV_RET_INVALID_PARAM" },
	{ 0x0017, "SEV_RET_RESOURCE_LIMIT" },
	{ 0x0018, "SEV_RET_SECURE_DATA_INVALID" },
	{ 0x0019, "SEV_RET_INVALID_PAGE_SIZE" },
	{ 0x001a, "SEV_RET_INVALID_PAGE_STATE" },
	{ 0x001b, "SEV_RET_INVALID_MDATA_ENTRY" },
	{ 0x001c, "SEV_RET_INVALID_PAGE_OWNER" },
	{ 0x001d, "SEV_RET_AEAD_OFLOW" },
	{ 0x001f, "SEV_RET_EXIT_RING_BUFFER" },
	{ 0x0020, "SEV_RET_RMP_INIT_REQUIRED" },
	{ 0x0021, "SEV_RET_BAD_SVN" },
	{ 0x0022, "SEV_RET_BAD_VERSION" },
	{ 0x0023, "SEV_RET_SHUTDOWN_REQUIRED" },
	{ 0x0024, "SEV_RET_UPDATE_FAILED" },
	{ 0x0025, "SEV_RET_RESTORE_REQUIRED" },
	{ 0x0026, "SEV_RET_RMP_INITIALIZATION_FAILED" },
	{ 0x0027, "SEV_RET_INVALID_KEY" },
	{ 0x0028, "SEV_RET_SHUTDOWN_INCOMPLETE" },
	{ 0x0030, "SEV_RET_INCORRECT_BUFFER_LENGTH" },
	{ 0x0031, "SEV_RET_EXPAND_BUFFER_LENGTH_REQUEST" },
	{ 0x0032, "SEV_RET_SPDM_REQUEST" },
	{ 0x0033, "SEV_RET_SPDM_ERROR" },
	{ 0x0035, "SEV_RET_SEV_STATUS_ERR_IN_DEV_CONN" },
	{ 0x0036, "SEV_RET_SEV_STATUS_INVALID_DEV_CTX" },
	{ 0x0037, "SEV_RET_SEV_STATUS_INVALID_TDI_CTX" },
	{ 0x0038, "SEV_RET_SEV_STATUS_INVALID_TDI" },
	{ 0x0039, "SEV_RET_SEV_STATUS_RECLAIM_REQUIRED" },
	{ 0x003a, "SEV_RET_IN_USE" },
	{ 0x003b, "SEV_RET_SEV_STATUS_INVALID_DEV_STATE" },
	{ 0x003c, "SEV_RET_SEV_STATUS_INVALID_TDI_STATE" },
	{ 0x003d, "SEV_RET_SEV_STATUS_DEV_CERT_CHANGED" },
	{ 0x003e, "SEV_RET_SEV_STATUS_RESYNC_REQ" },
	{ 0x003f, "SEV_RET_SEV_STATUS_RESPONSE_TOO_LARGE" },
};

/* §2.2, arch/x86/include/uapi/asm/kvm.h: enum kvm_tdx_cmd_id. */
static const struct id_name tdx_cmds[] = {
	{ 0, "KVM_TDX_CAPABILITIES" },
	{ 1, "KVM_TDX_INIT_VM" },
	{ 2, "KVM_TDX_INIT_VCPU" },
	{ 3, "KVM_TDX_INIT_MEM_REGION" },
	{ 4, "KVM_TDX_FINALIZE_VM" },
	{ 5, "KVM_TDX_GET_CPUID" },
};

/* §2.3, arch/s390/include/uapi/asm/kvm.h: enum pv_cmd_id. */
static const struct id_name pv_cmds[] = {
	{ 0, "KVM_PV_ENABLE" },
	{ 1, "KVM_PV_DISABLE" },
	{ 2, "KVM_PV_SET_SEC_PARMS" },
	{ 3, "KVM_PV_UNPACK" },
	{ 4, "KVM_PV_VERIFY" },
	{ 5, "KVM_PV_PREP_RESET" },
	{ 6, "KVM_PV_UNSHARE_ALL" },
	{ 7, "KVM_PV_INFO" },
	{ 8, "KVM_PV_DUMP" },
	{ 9, "KVM_PV_ASYNC_CLEANUP_PREPARE" },
	{ 10, "KVM_PV_ASYNC_CLEANUP_PERFORM" },
};

/*
 * §2.3 "Meaning of rc / rrc", arch/s390/include/asm/uv.h: the Ultravisor
 * return codes Linux names (UVC_RC_*), each meaning as the reference words
 * it.  rrc values are the Ultravisor's own and are not listed anywhere.
 */
static const struct id_name pv_rcs[] = {
	{ 0x0000, "not set: no Ultravisor call was made" },
	{ 0x0001, "success" },				/* UVC_RC_EXECUTED */
	{ 0x0002, "invalid command" },			/* UVC_RC_INV_CMD */
	{ 0x0003, "invalid state" },			/* UVC_RC_INV_STATE */
	{ 0x0005, "invalid length" },			/* UVC_RC_INV_LEN */
	{ 0x0007, "no resume" },			/* UVC_RC_NO_RESUME */
	{ 0x0100, "more data available" },		/* UVC_RC_MORE_DATA */
	/* UVC_RC_RETR_SECR_BUF_SMALL, _STORE_EMPTY, _INV_IDX, _INV_SECRET */
	{ 0x0109, "secret-retrieval specific (buffer too small)" },
	{ 0x010f, "secret-retrieval specific (store empty)" },
	{ 0x0110, "secret-retrieval specific (invalid index)" },
	{ 0x0111, "secret-retrieval specific (invalid secret)" },
};

/* UVC_RC_NEED_DESTROY: a flag in the rc of CREATE_SEC_CONF, whatever the rest. */
#define PV_RC_NEED_DESTROY 0x8000u
static const char pv_rc_need_destroy[] =
	"flag in rc of CREATE_SEC_CONF: configuration must be destroyed";

/* §1.5.2, arch/arm64/include/uapi/asm/kvm.h: kvm_vcpu_init.features[0] bits. */
static const struct id_name arm_vcpu_features[] = {
	{ 0, "KVM_ARM_VCPU_POWER_OFF" },
	{ 1, "KVM_ARM_VCPU_EL1_32BIT" },
	{ 2, "KVM_ARM_VCPU_PSCI_0_2" },
	{ 3, "KVM_ARM_VCPU_PMU_V3" },
	{ 4, "KVM_ARM_VCPU_SVE" },
	{ 5, "KVM_ARM_VCPU_PTRAUTH_ADDRESS" },
	{ 6, "KVM_ARM_VCPU_PTRAUTH_GENERIC" },
	{ 7, "KVM_ARM_VCPU_HAS_EL2" },
	{ 8, "KVM_ARM_VCPU_HAS_EL2_E2H0" },
};

/* §1.5.2: kvm_vcpu_init.target, as KVM_ARM_PREFERRED_TARGET returns it. */
static const struct id_name arm_targets[] = {
	{ 0, "KVM_ARM_TARGET_AEM_V8" },
	{ 1, "KVM_ARM_TARGET_FOUNDATION_V8" },
	{ 2, "KVM_ARM_TARGET_CORTEX_A57" },
	{ 3, "KVM_ARM_TARGET_XGENE_POTENZA" },
	{ 4, "KVM_ARM_TARGET_CORTEX_A53" },
	{ 5, "KVM_ARM_TARGET_GENERIC_V8" },
};

/*
 * §1.5.4, include/uapi/linux/kvm.h: the capabilities the reference
 * numbers, which are those of protected, confidential and PV work, plus
 * the highest one it names (249, end of §1.5.4).  A capability the
 * reference does not number is shown as its number.
 */
static const struct id_name kvm_caps[] = {
	{ 23, "KVM_CAP_SET_GUEST_DEBUG" },
	{ 180, "KVM_CAP_S390_PROTECTED" },
	{ 181, "KVM_CAP_PPC_SECURE_GUEST" },
	{ 195, "KVM_CAP_SET_GUEST_DEBUG2" },
	{ 197, "KVM_CAP_VM_COPY_ENC_CONTEXT_FROM" },
	{ 201, "KVM_CAP_EXIT_HYPERCALL" },
	{ 203, "KVM_CAP_BINARY_STATS_FD" },
	{ 206, "KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM" },
	{ 217, "KVM_CAP_S390_PROTECTED_DUMP" },
	{ 224, "KVM_CAP_S390_PROTECTED_ASYNC_DISABLE" },
	{ 231, "KVM_CAP_USER_MEMORY2" },
	{ 232, "KVM_CAP_MEMORY_FAULT_INFO" },
	{ 233, "KVM_CAP_MEMORY_ATTRIBUTES" },
	{ 234, "KVM_CAP_GUEST_MEMFD" },
	{ 235, "KVM_CAP_VM_TYPES" },
	{ 236, "KVM_CAP_PRE_FAULT_MEMORY" },
	{ 240, "KVM_CAP_ARM_EL2" },
	{ 241, "KVM_CAP_ARM_EL2_E2H0" },
	{ 244, "KVM_CAP_GUEST_MEMFD_FLAGS" },
	{ 249, "KVM_CAP_S390_HPAGE_2G" },
};

/* IOCTL_ON_* bit of each enum ioctl_arch. */
static const uint8_t arch_bit[IOCTL_ARCHES] = {
	[IOCTL_ARCH_X86_64] = IOCTL_ON_X86,
	[IOCTL_ARCH_ARM64] = IOCTL_ON_ARM64,
	[IOCTL_ARCH_S390X] = IOCTL_ON_S390,
};

enum ioctl_arch ioctl_arch_host(void)
{
#if defined(__aarch64__)
	return IOCTL_ARCH_ARM64;
#elif defined(__s390x__)
	return IOCTL_ARCH_S390X;
#else
	return IOCTL_ARCH_X86_64;
#endif
}

const char *ioctl_arch_name(enum ioctl_arch arch)
{
	switch (arch) {
	case IOCTL_ARCH_X86_64:
		return "x86_64";
	case IOCTL_ARCH_ARM64:
		return "arm64";
	case IOCTL_ARCH_S390X:
		return "s390x";
	}
	return "unknown";
}

/* Does @e's dispatch on @arch take it on an fd of @kind (any kind for UNKNOWN)? */
static bool taken_on(const struct ioctl_def *e, unsigned int kind, enum ioctl_arch arch)
{
	uint8_t bit = arch_bit[arch];

	if (kind != KVMSCOPE_FD_UNKNOWN)
		return kind < KVMSCOPE_FD_KINDS && (e->on[kind] & bit);
	for (unsigned int k = 0; k < KVMSCOPE_FD_KINDS; k++)
		if (e->on[k] & bit)
			return true;
	return false;
}

const char *ioctl_name(uint32_t cmd, unsigned int kind, enum ioctl_arch arch)
{
	/* 0 marks "no value on this arch" in the tables; no KVM ioctl is 0. */
	if ((unsigned int)arch >= IOCTL_ARCHES || !cmd)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(ioctl_defs); i++) {
		const struct ioctl_def *e = &ioctl_defs[i];

		if (e->value[arch] == cmd && taken_on(e, kind, arch))
			return e->name;
	}
	/* No current ioctl has a legacy one's number: these never shadow another. */
	for (size_t i = 0; i < ARRAY_SIZE(legacy_ioctl_defs); i++)
		if (legacy_ioctl_defs[i].value[arch] == cmd)
			return legacy_ioctl_defs[i].name;
	return NULL;
}

const char *ioctl_name_or_number(uint32_t cmd, unsigned int kind, enum ioctl_arch arch,
				 char *buf, size_t len)
{
	/* The asm-generic _IOC layout, the one of all three arches (§1.1). */
	static const char *const dirs[] = { "_IO", "_IOW", "_IOR", "_IOWR" };
	const char *name = ioctl_name(cmd, kind, arch);
	unsigned int dir = cmd >> 30, size = (cmd >> 16) & 0x3fff;
	unsigned int type = (cmd >> 8) & 0xff, nr = cmd & 0xff;
	char type_text[16] = "";

	if (!len)
		return buf;
	if (cmd == KVMSCOPE_IOCTL_CMD_FOLDED) {
		snprintf(buf, len, "OTHER");
		return buf;
	}
	if (name) {
		snprintf(buf, len, "%s", name);
		return buf;
	}
	if (type != KVMSCOPE_KVMIO)
		snprintf(type_text, sizeof(type_text), " type 0x%02x", type);
	if (dir || size)
		snprintf(buf, len, "ioctl 0x%" PRIx32 " (%s%s nr 0x%02x, %u bytes)", cmd, dirs[dir],
			 type_text, nr, size);
	else
		snprintf(buf, len, "ioctl 0x%" PRIx32 " (%s%s nr 0x%02x)", cmd, dirs[dir],
			 type_text, nr);
	return buf;
}

static const struct ioctl_def *find_by_name(const struct ioctl_def *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

uint32_t ioctl_number(const char *name, enum ioctl_arch arch)
{
	const struct ioctl_def *e;

	if (!name || (unsigned int)arch >= IOCTL_ARCHES)
		return 0;
	e = find_by_name(ioctl_defs, ARRAY_SIZE(ioctl_defs), name);
	if (!e)
		e = find_by_name(legacy_ioctl_defs, ARRAY_SIZE(legacy_ioctl_defs), name);
	return e ? e->value[arch] : 0;
}

const struct ioctl_def *ioctl_table(size_t *n)
{
	*n = ARRAY_SIZE(ioctl_defs);
	return ioctl_defs;
}

const struct ioctl_def *ioctl_legacy_table(size_t *n)
{
	*n = ARRAY_SIZE(legacy_ioctl_defs);
	return legacy_ioctl_defs;
}

const char *fd_kind_name(unsigned int kind)
{
	switch (kind) {
	case KVMSCOPE_FD_SYSTEM:
		return "system";
	case KVMSCOPE_FD_VM:
		return "vm";
	case KVMSCOPE_FD_VCPU:
		return "vcpu";
	case KVMSCOPE_FD_DEVICE:
		return "device";
	case KVMSCOPE_FD_GMEM:
		return "guest_memfd";
	default:
		return "unknown";
	}
}

const char *vm_type_name(uint64_t type, enum ioctl_arch arch, char *buf, size_t len)
{
	const size_t n_x86 = ARRAY_SIZE(x86_vm_types);

	if (!len)
		return buf;
	switch (arch) {
	case IOCTL_ARCH_X86_64:
		if (type < n_x86)
			snprintf(buf, len, "%s", x86_vm_types[type].name);
		else
			snprintf(buf, len, "%" PRIu64, type);
		return buf;
	case IOCTL_ARCH_ARM64: {
		uint64_t ipa = type & ARM_VM_TYPE_IPA_MASK;
		uint64_t rest = type & ~(ARM_VM_TYPE_IPA_MASK | ARM_VM_TYPE_PROTECTED);
		int used;

		used = snprintf(buf, len, "%sipa_bits=%" PRIu64,
				type & ARM_VM_TYPE_PROTECTED ? "KVM_VM_TYPE_ARM_PROTECTED|" : "",
				ipa ? ipa : ARM_VM_TYPE_IPA_DEFAULT);
		if (rest && used >= 0 && (size_t)used < len)
			snprintf(buf + used, len - (size_t)used, "|0x%" PRIx64, rest);
		return buf;
	}
	case IOCTL_ARCH_S390X:
		if (type == 0)
			snprintf(buf, len, "default");
		else if (type == S390_VM_UCONTROL)
			snprintf(buf, len, "KVM_VM_S390_UCONTROL");
		else
			snprintf(buf, len, "0x%" PRIx64, type);
		return buf;
	}
	snprintf(buf, len, "0x%" PRIx64, type);
	return buf;
}

const char *vm_type_protection(uint64_t type, enum ioctl_arch arch)
{
	switch (arch) {
	case IOCTL_ARCH_X86_64:
		if (type < ARRAY_SIZE(x86_vm_types))
			return x86_vm_types[type].protection;
		return "unknown";
	case IOCTL_ARCH_ARM64:
		return type & ARM_VM_TYPE_PROTECTED ? "pkvm" : "none";
	case IOCTL_ARCH_S390X:
		return "none";
	}
	return "unknown";
}

const char *sev_cmd_name(uint32_t id)
{
	return ID_LOOKUP(sev_cmds, id);
}

const char *sev_error_name(uint32_t code)
{
	return ID_LOOKUP(sev_errors, code);
}

const char *tdx_cmd_name(uint32_t id)
{
	return ID_LOOKUP(tdx_cmds, id);
}

const char *pv_cmd_name(uint32_t cmd)
{
	return ID_LOOKUP(pv_cmds, cmd);
}

const char *pv_rc_meaning(uint16_t rc)
{
	if (rc & PV_RC_NEED_DESTROY)
		return pv_rc_need_destroy;
	return ID_LOOKUP(pv_rcs, rc);
}

const char *arm_vcpu_feature_name(unsigned int bit)
{
	return ID_LOOKUP(arm_vcpu_features, bit);
}

const char *arm_target_name(uint32_t target)
{
	return ID_LOOKUP(arm_targets, target);
}

const char *arm_vcpu_features_text(uint32_t features, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!features) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (unsigned int bit = 0; bit < 32 && used < len; bit++) {
		const char *name = arm_vcpu_feature_name(bit);
		int n;

		if (!(features & (1u << bit)))
			continue;
		if (name)
			n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "", name);
		else
			n = snprintf(buf + used, len - used, "%sbit%u", used ? "|" : "", bit);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

const char *kvm_cap_name(uint32_t cap)
{
	return ID_LOOKUP(kvm_caps, cap);
}

const char *ioctl_result_name(int result, char *buf, size_t len)
{
	/* Through unsigned: -INT_MIN does not fit an int. */
	unsigned int err = result < 0 ? 0u - (unsigned int)result : (unsigned int)result;
	const char *name = err <= INT_MAX ? strerrorname_np((int)err) : NULL;

	if (!len)
		return buf;
	if (!result)
		snprintf(buf, len, "ok");
	else if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "E%u", err);
	return buf;
}
