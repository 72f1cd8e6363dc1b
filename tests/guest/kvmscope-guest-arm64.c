// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope-guest-arm64 - the kvmscope test guest for arm64 KVM hosts.
 *
 * A minimal VMM: one VM, one memslot of RAM whose first page holds the guest
 * code (the top-level __asm__ block below, EL1 vectors included; only the
 * vEL2 vector table of --el2-hvc and --el2-sysreg-fwd lies on the second
 * page), one thread per vCPU, each with its own KVM_RUN loop.  The guest
 * makes an exactly known number of exits, the VMM checks every exit that
 * reaches it and prints one JSON line with what it configured, what it saw
 * and which hardware exits (and nested-virtualization events) the run must
 * have produced, for the integration tests of kvmscope's exit counters.
 *
 * What each vCPU does (default mode, the vCPU starts at EL1h, MMU off):
 *
 *   1. --mmio-el1 N 8-byte stores at EL1 to MMIO_EL1 (unbacked IPA);
 *   2. eret to EL0 (SPSR_EL1 = EL0t, DAIF masked), --mmio-el0 N stores at EL0
 *      to MMIO_EL0, then "svc #0": the EL1 vector (lower EL, AArch64, sync)
 *      checks ESR_EL1.EC == SVC64 and continues at EL1 without returning;
 *   3. --hvc N "hvc #0" at EL1 with function id HVC_UNKNOWN_FN, an SMCCC
 *      64-bit fast call (OEM owner) that KVM neither implements nor allows:
 *      answered in the kernel with NOT_SUPPORTED (-1), the guest checks each
 *      answer and counts them in x24;
 *   4. "hvc #0" PSCI SYSTEM_OFF, which returns KVM_EXIT_SYSTEM_EVENT
 *      (SHUTDOWN) to that vCPU's thread; the VMM then reads x24.
 *
 * SYSTEM_OFF stops every vCPU of the VM (KVM marks them all STOPPED), so the
 * VMM serialises the end: each thread parks once its vCPU made its last
 * MMIO exit (before the first KVM_RUN if it makes none) until all vCPUs got
 * there; then the vCPUs run the rest of their code (what follows the last
 * store: the svc, the hvc loop, SYSTEM_OFF) one after the other in index
 * order, vCPUs after the first set back to RUNNABLE with KVM_SET_MP_STATE
 * first (the previous vCPU's SYSTEM_OFF stopped them too).  Each vCPU thus
 * makes all its exits and exactly one SYSTEM_OFF; the hvc loops of
 * different vCPUs do not overlap in time.
 *
 * With --el2 (nested virtualization, KVM_ARM_VCPU_HAS_EL2 and an in-kernel
 * vGICv3) the vCPU starts at virtual EL2 (EL2h, PSTATE 0x3c9): it makes
 * --mmio-el2 N stores to MMIO_EL2 and one store to MMIO_DONE, and then is
 * never run again.  Nothing else runs at vEL2: no system register is
 * touched there, unless one of these asks for more first (both 0 by default;
 * either > 0 starts the vCPU at guest_el2_nested_entry instead, which sets
 * VBAR_EL2 to the guest's own vEL2 vector table with adr + msr vbar_el2):
 *
 *   a. --el2-hvc N: N "hvc #0" at vEL2 (x0 = 0).  An hvc at EL2 is taken at
 *      EL2: KVM injects it into the guest hypervisor, whose vector (current
 *      EL with SPx, synchronous) checks ESR_EL2.EC == HVC64 and does eret,
 *      back to the instruction after the hvc; x27 counts the returns;
 *   b. --el2-sysreg-fwd N: vEL2 sets TID3 and RW in its HCR_EL2 and erets
 *      to a nested EL1 (EL1h, MMU off, guest_vel1_code), whose read of
 *      ID_AA64PFR0_EL1 KVM forwards to vEL2, as the guest hypervisor's TID3
 *      asks; vEL2's vector (lower EL, AArch64, synchronous) checks
 *      ESR_EL2.EC == SYS64, counts it in x28 and erets to the same read, N
 *      times, then goes on to its stores without returning.
 *
 * Hardware exits (kvm_exit tracepoint, "TRAP: HSR_EC: ...") the run makes
 * EXACTLY, per vCPU:
 *
 *   default:  DABT_LOW (EC 0x24) from EL1: mmio_el1
 *             DABT_LOW (EC 0x24) from EL0: mmio_el0
 *             HVC64    (EC 0x16) from EL1: hvc + 1 (PSCI SYSTEM_OFF)
 *   --el2:    DABT_LOW (EC 0x24) from vEL2: mmio_el2 + 1 (MMIO_DONE)
 *             HVC64    (EC 0x16) from vEL2: el2_hvc
 *             SYS64    (EC 0x18) from vEL2: 1 (msr vbar_el2) if el2_hvc or
 *                                           el2_sysreg_fwd, else 0
 *             SYS64    (EC 0x18) from EL1:  el2_sysreg_fwd (the nested EL1:
 *                                           PSTATE EL1h)
 *             ERET     (EC 0x1a) from vEL2: el2_sysreg_fwd
 *
 * so no SYS64 and no ERET exit in default mode or with plain --el2 (as every
 * trace of 6.1, 6.12 and 7.2 shows).  The run also fires exactly these
 * nested-virtualization tracepoints, per vCPU (all 0 in default mode, where
 * no nested code runs, and with plain --el2):
 *
 *   kvm_inject_nested_exception  el2_hvc + el2_sysreg_fwd
 *   kvm_nested_eret              el2_sysreg_fwd
 *   kvm_forward_sysreg_trap      el2_sysreg_fwd
 *
 * (measured on Debian's 7.2 kernel, VHE + NV2, kvm-arm.mode=nested, under
 * QEMU 10).  Each hvc at vEL2 is one HVC64 trap, which KVM injects at vEL2
 * without leaving vEL2's context (kvm_inject_nested_exception, ESR_EL2
 * 0x5a000000).  The vector's eret traps as well (HCR_EL2.NV), but KVM's
 * world switch code performs an eret that stays at vEL2 itself and goes
 * straight back to the guest (kvm_hyp_handle_eret, as long as the guest
 * hypervisor's own HCR_EL2.NV and HFGITR_EL2.ERET are clear, which this
 * one never sets): no kvm_exit, no kvm_nested_eret.  Each
 * forwarded read is one SYS64 trap from the nested EL1 (KVM sets TID3 for
 * every guest), kvm_forward_sysreg_trap and kvm_inject_nested_exception
 * (EC 0x18), a switch to vEL2's context; each eret from vEL2 to the nested
 * EL1 is one ERET trap that KVM emulates in full (kvm_nested_eret): the
 * first from guest_el2_nested_entry, then one after each forwarded read
 * but the last.  At vEL2, mrs esr_el2 and msr/mrs of hcr_el2, elr_el2 and
 * spsr_el2 do not trap (FEAT_NV2 turns them into accesses to EL1
 * registers or to KVM's VNCR page in host memory, never guest RAM);
 * msr vbar_el2 does, once per vCPU.
 *
 * Each MMIO store is one stage-2 data abort handed to user space as one
 * KVM_EXIT_MMIO; each hvc is one HVC64 trap handled in the kernel, except the
 * PSCI SYSTEM_OFF, which also reaches user space.  This holds because the
 * guest code never touches guest RAM with a data access: it uses registers
 * only (no stack, no literal pool: constants are built with movz/movk, the
 * vector base with adr), so every DABT_LOW is one of the MMIO stores.  The
 * hvc function ids avoid ARM_SMCCC_ARCH_WORKAROUND_1/2/3, which KVM answers
 * in its EL2 vector without a kvm_exit.  The svc, eret, msr vbar_el1,
 * spsr_el1/elr_el1 and mrs esr_el1 of steps 2 and 3 do not trap to EL2.
 * In the trace, a DABT_LOW's PC is the str itself, an HVC64's PC is the
 * instruction after the hvc (the return address), a SYS64's or an ERET's
 * PC the trapped msr, mrs or eret itself.
 *
 * NOT deterministic (tests must not count them exactly):
 *   - IRQ exits ("IRQ: HSR_EC: 0x0000"): host interrupts (timer tick, IPIs)
 *     while a vCPU runs, any number, more under emulation;
 *   - IABT_LOW (EC 0x20): the stage-2 fault on the first instruction fetch
 *     from the code page, usually one per VM, sometimes one per vCPU when they
 *     start together, again after the host unmaps the page (reclaim,
 *     migration, THP, KSM); with --el2-sysreg-fwd also the nested EL1's
 *     first fetch through the shadow stage 2 KVM builds for it, again
 *     usually one per VM (on whichever vCPU gets there first), sometimes
 *     one per vCPU;
 *   - anything else the host forces: e.g. SError or a stage-2 fault after an
 *     MMU notifier invalidation.
 *
 * The VMM checks every exit that reaches it: each KVM_EXIT_MMIO must be an
 * 8-byte write to the address of the EL the guest is at, carrying the vCPU
 * index and the next sequence number, never more than requested; at the
 * end (SYSTEM_OFF, or MMIO_DONE with --el2) the numbers must be exactly the
 * requested ones, x24 must equal --hvc, x27 --el2-hvc and x28
 * --el2-sysreg-fwd; anything else (another exit reason, a guest failure
 * report at MMIO_FAIL: an unexpected exception at EL1 or vEL2, a wrong
 * answer, a nested EL1 read that was not forwarded) is fatal and named on
 * stderr with the vCPU, its PC and PSTATE.
 *
 * Output, one JSON line: "arch", "pid", "vcpus", "el2", "start_pstate";
 * "per_vcpu" (what each vCPU was told to do: mmio_el1, mmio_el0, hvc,
 * mmio_el2, mmio_done, psci_system_off, el2_hvc, el2_sysreg_fwd);
 * "mmio_addr"; "hvc_function_id";
 * "end" ("psci_system_off" or "mmio_done"); "userspace_exits" (what the
 * VMM saw, all vCPUs: mmio, of which mmio_done, system_event, total);
 * "kvm_run_calls", "kvm_run_eintr"; "expected_kvm_exits" (all vCPUs, the
 * list above: DABT_LOW by EL0/EL1/vEL2 and total, HVC64 by EL1/vEL2 and
 * total, SYS64 by EL1/vEL2 and total, ERET by vEL2 and total);
 * "expected_nested_events" (all vCPUs: kvm_inject_nested_exception,
 * kvm_nested_eret, kvm_forward_sysreg_trap); "setup_us"
 * (VM creation to the vCPU threads' start), "run_us" (threads' start to
 * the last join), "hold_ms", "vcpu_tids" (thread ids by vCPU index).
 * With --try-el2: "arch", "pid", "try_el2", "cap_arm_el2" and "el2":
 * {"accepted", "target", "features" (what was asked), and when refused
 * "errno", "errno_name", "error"}.
 * The JSON is printed before --hold-ms starts.
 *
 * Exit status: 0 and one JSON line on stdout; 1 when KVM or the guest did
 * something unexpected (message on stderr); 2 for a bad command line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define PROG		"kvmscope-guest-arm64"

/* Uapi constants newer than the headers this may be built against. */
#ifndef KVM_ARM_VCPU_HAS_EL2
#define KVM_ARM_VCPU_HAS_EL2		7
#endif
#ifndef KVM_CAP_ARM_EL2
#define KVM_CAP_ARM_EL2			240
#endif

/* Guest-physical layout. */
#define RAM_BASE	0x40000000UL
#define RAM_SIZE	0x200000UL
#define GIC_DIST_BASE	0x08000000UL	/* 64 KiB */
#define GIC_REDIST_BASE	0x080a0000UL	/* 128 KiB per vCPU, up to 0x081a0000 */

/*
 * Unbacked addresses the guest stores to; the guest code below spells them
 * as movz/movk pairs, keep both in step.
 */
#define MMIO_BASE	0x0a000000UL
#define MMIO_EL(el)	(MMIO_BASE + 0x1000UL * (el))	/* EL0, EL1, EL2 */
#define MMIO_FAIL	(MMIO_BASE + 0xe000UL)
#define MMIO_DONE	(MMIO_BASE + 0xf000UL)

/*
 * An MMIO store's value: vCPU index in bits 63:56, exception level (or
 * failure code) in 55:48, sequence number or detail in 47:0.
 */
#define VAL_VCPU(v)	((uint64_t)(v) >> 56)
#define VAL_TAG(v)	((uint64_t)(v) >> 48 & 0xff)
#define VAL_LOW(v)	((uint64_t)(v) & (uint64_t)0xffffffffffff)

/* Failure codes the guest stores to MMIO_FAIL, in the tag field. */
#define FAIL_VECTOR	1	/* unexpected exception: low = vector offset */
#define FAIL_HVC	2	/* hvc did not return NOT_SUPPORTED: low = x0 */
#define FAIL_PSCI_OFF	3	/* SYSTEM_OFF returned: low = x0 */
#define FAIL_VECTOR_EL2	4	/* unexpected exception at vEL2: low = offset */
#define FAIL_VEL1_NO_TRAP 5	/* the nested EL1's ID register read came back */

#define HVC_UNKNOWN_FN	0xc300ffffU	/* SMC64 fast call, OEM, fn 0xffff */
#define PSCI_SYSTEM_OFF	0x84000008U

#define MAX_VCPUS	8
#define MAX_COUNT	100000000UL
#define DEFAULT_TIMEOUT	600

/*
 * The guest.  Copied as is to RAM_BASE: the EL1 vector table must be 2 KiB
 * aligned in the guest, so it comes first; the vEL2 one, 2 KiB aligned
 * too, comes last, on the second page.  Registers set by the VMM:
 * x19 = vCPU index, x20 = mmio_el1, x21 = mmio_el0, x22 = hvc,
 * x23 = mmio_el2, x25 = el2_hvc, x26 = el2_sysreg_fwd (those two set only
 * when either is not 0).  x0-x3 belong to SMCCC; x9-x12 are scratch; x24
 * counts the hvc calls answered NOT_SUPPORTED, x27 the hvc calls that
 * returned to vEL2, x28 the traps forwarded to vEL2.
 */
/* clang-format off */
__asm__(
"	.pushsection .rodata.kvmscope_guest, \"a\"\n"
"	.balign	4096\n"
"	.globl	guest_code_start, guest_code_end\n"
"	.globl	guest_el1_entry, guest_el2_entry, guest_el2_nested_entry\n"
"	.hidden	guest_code_start, guest_code_end\n"
"	.hidden	guest_el1_entry, guest_el2_entry, guest_el2_nested_entry\n"
"guest_code_start:\n"
/* 16 vectors of 0x80 bytes: only 0x400, svc from EL0, is expected. */
"	.irp	off, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380\n"
"	.balign	0x80\n"
"	movz	x9, #\\off\n"
"	b	guest_fail_vector\n"
"	.endr\n"
"	.balign	0x80\n"
"	mrs	x9, esr_el1\n"
"	lsr	x9, x9, #26\n"
"	cmp	x9, #0x15\n"			/* EC SVC64 */
"	b.eq	guest_el0_returned\n"
"	movz	x9, #0x400\n"
"	b	guest_fail_vector\n"
"	.irp	off, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780\n"
"	.balign	0x80\n"
"	movz	x9, #\\off\n"
"	b	guest_fail_vector\n"
"	.endr\n"
"	.balign	0x80\n"
/* x9 = vector offset; works from EL0 and EL1 alike. */
"guest_fail_vector:\n"
"	lsl	x11, x19, #56\n"
"	orr	x11, x11, #(1 << 48)\n"		/* FAIL_VECTOR */
"	orr	x11, x11, x9\n"
"guest_fail_store:\n"
"	movz	x10, #0x0a00, lsl #16\n"
"	movk	x10, #0xe000\n"			/* MMIO_FAIL */
"	str	x11, [x10]\n"
"	b	.\n"
/* Default mode: starts here at EL1h. */
"guest_el1_entry:\n"
"	adr	x9, guest_code_start\n"
"	msr	vbar_el1, x9\n"
"	isb\n"
"	movz	x10, #0x0a00, lsl #16\n"
"	movk	x10, #0x1000\n"			/* MMIO_EL(1) */
"	lsl	x11, x19, #56\n"
"	orr	x11, x11, #(1 << 48)\n"		/* EL1 */
"	mov	x12, x20\n"
"1:	cbz	x12, 2f\n"
"	str	x11, [x10]\n"
"	add	x11, x11, #1\n"
"	sub	x12, x12, #1\n"
"	b	1b\n"
"2:	adr	x9, guest_el0_code\n"
"	msr	elr_el1, x9\n"
"	mov	x9, #0x3c0\n"			/* EL0t, DAIF masked */
"	msr	spsr_el1, x9\n"
"	eret\n"
"guest_el0_code:\n"
"	movz	x10, #0x0a00, lsl #16\n"	/* MMIO_EL(0) */
"	lsl	x11, x19, #56\n"		/* EL0 */
"	mov	x12, x21\n"
"1:	cbz	x12, 2f\n"
"	str	x11, [x10]\n"
"	add	x11, x11, #1\n"
"	sub	x12, x12, #1\n"
"	b	1b\n"
"2:	svc	#0\n"
"	movz	x9, #0xfff\n"			/* the svc came back to EL0 */
"	b	guest_fail_vector\n"
/* Reached from the vector at 0x400, at EL1h. */
"guest_el0_returned:\n"
"	mov	x24, #0\n"
"	mov	x12, x22\n"
"1:	cbz	x12, 2f\n"
"	movz	x0, #0xffff\n"
"	movk	x0, #0xc300, lsl #16\n"		/* HVC_UNKNOWN_FN */
"	hvc	#0\n"
"	cmn	x0, #1\n"			/* NOT_SUPPORTED? */
"	b.ne	3f\n"
"	add	x24, x24, #1\n"
"	sub	x12, x12, #1\n"
"	b	1b\n"
"3:	lsl	x11, x19, #56\n"
"	orr	x11, x11, #(2 << 48)\n"		/* FAIL_HVC */
"	and	x0, x0, #0xffffffffffff\n"
"	orr	x11, x11, x0\n"
"	b	guest_fail_store\n"
/* x24, the NOT_SUPPORTED answers, is read by the VMM after SYSTEM_OFF. */
"2:	movz	x0, #0x0008\n"
"	movk	x0, #0x8400, lsl #16\n"		/* PSCI_SYSTEM_OFF */
"	hvc	#0\n"
"	lsl	x11, x19, #56\n"
"	orr	x11, x11, #(3 << 48)\n"		/* FAIL_PSCI_OFF */
"	and	x0, x0, #0xffffffffffff\n"
"	orr	x11, x11, x0\n"
"	b	guest_fail_store\n"
/* --el2: starts here at vEL2 (EL2h); no vectors, no system registers. */
"guest_el2_entry:\n"
"	movz	x10, #0x0a00, lsl #16\n"
"	movk	x10, #0x2000\n"			/* MMIO_EL(2) */
"	lsl	x11, x19, #56\n"
"	orr	x11, x11, #(2 << 48)\n"		/* EL2 */
"	mov	x12, x23\n"
"1:	cbz	x12, 2f\n"
"	str	x11, [x10]\n"
"	add	x11, x11, #1\n"
"	sub	x12, x12, #1\n"
"	b	1b\n"
"2:	movz	x10, #0x0a00, lsl #16\n"
"	movk	x10, #0xf000\n"			/* MMIO_DONE */
"	lsl	x11, x19, #56\n"
"	str	x11, [x10]\n"
"	b	.\n"
/*
 * --el2-hvc or --el2-sysreg-fwd: starts here at vEL2 instead; points
 * VBAR_EL2 at guest_el2_vectors, makes the hvc calls (x27 counts them
 * back), the nested EL1 round trips (x28 counts the forwarded traps),
 * then the stores of guest_el2_entry.
 */
"guest_el2_nested_entry:\n"
"	adr	x9, guest_el2_vectors\n"
"	msr	vbar_el2, x9\n"
"	isb\n"
"	mov	x27, #0\n"
"	mov	x28, #0\n"
"	mov	x12, x25\n"
"1:	cbz	x12, 2f\n"
"	mov	x0, #0\n"			/* not an ARCH_WORKAROUND id */
"	hvc	#0\n"
"	add	x27, x27, #1\n"
"	sub	x12, x12, #1\n"
"	b	1b\n"
"2:	cbz	x26, guest_el2_entry\n"
"	mrs	x9, hcr_el2\n"
"	orr	x9, x9, #(1 << 31)\n"		/* RW: EL1 is AArch64 */
"	orr	x9, x9, #(1 << 18)\n"		/* TID3: ID register reads trap */
"	msr	hcr_el2, x9\n"
"	adr	x9, guest_vel1_code\n"
"	msr	elr_el2, x9\n"
"	mov	x9, #0x3c5\n"			/* EL1h, DAIF masked */
"	msr	spsr_el2, x9\n"
"	eret\n"
/*
 * At the nested guest's EL1: the read traps to vEL2 (vector 0x400), which
 * returns to it, so it runs again, until vEL2 has seen x26 of them.
 */
"guest_vel1_code:\n"
"	mrs	x9, id_aa64pfr0_el1\n"
"	lsl	x11, x19, #56\n"
"	movz	x9, #5, lsl #48\n"		/* FAIL_VEL1_NO_TRAP */
"	orr	x11, x11, x9\n"
"	b	guest_fail_store\n"
/* Reached from vector 0x400 of guest_el2_vectors, at vEL2. */
"guest_el2_forwarded:\n"
"	add	x28, x28, #1\n"
"	cmp	x28, x26\n"
"	b.hs	guest_el2_entry\n"
"	eret\n"
/* x9 = vector offset in guest_el2_vectors. */
"guest_el2_fail_vector:\n"
"	lsl	x11, x19, #56\n"
"	orr	x11, x11, #(4 << 48)\n"		/* FAIL_VECTOR_EL2 */
"	orr	x11, x11, x9\n"
"	b	guest_fail_store\n"
/*
 * The vEL2 vector table (VBAR_EL2), on the second page: only 0x200, the
 * hvc at vEL2, and 0x400, the trap forwarded from the nested EL1, are
 * expected; each checks ESR_EL2.EC.
 */
"	.balign	0x800\n"
"guest_el2_vectors:\n"
"	.irp	off, 0x000, 0x080, 0x100, 0x180\n"
"	.balign	0x80\n"
"	movz	x9, #\\off\n"
"	b	guest_el2_fail_vector\n"
"	.endr\n"
"	.balign	0x80\n"
"	mrs	x9, esr_el2\n"
"	lsr	x9, x9, #26\n"
"	cmp	x9, #0x16\n"			/* EC HVC64 */
"	b.ne	1f\n"
"	eret\n"
"1:	movz	x9, #0x200\n"
"	b	guest_el2_fail_vector\n"
"	.irp	off, 0x280, 0x300, 0x380\n"
"	.balign	0x80\n"
"	movz	x9, #\\off\n"
"	b	guest_el2_fail_vector\n"
"	.endr\n"
"	.balign	0x80\n"
"	mrs	x9, esr_el2\n"
"	lsr	x9, x9, #26\n"
"	cmp	x9, #0x18\n"			/* EC SYS64 */
"	b.eq	guest_el2_forwarded\n"
"	movz	x9, #0x400\n"
"	b	guest_el2_fail_vector\n"
"	.irp	off, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780\n"
"	.balign	0x80\n"
"	movz	x9, #\\off\n"
"	b	guest_el2_fail_vector\n"
"	.endr\n"
"guest_code_end:\n"
"	.popsection\n"
);
/* clang-format on */

extern const uint32_t guest_code_start[], guest_code_end[];
extern const uint32_t guest_el1_entry[], guest_el2_entry[];
extern const uint32_t guest_el2_nested_entry[];

struct config {
	unsigned int vcpus;
	uint64_t mmio_el1;
	uint64_t mmio_el0;
	uint64_t hvc;
	uint64_t mmio_el2;
	uint64_t el2_hvc;
	uint64_t el2_sysreg_fwd;
	bool el2;
	bool try_el2;
	uint64_t hold_ms;
	uint64_t timeout_s;
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	pid_t tid;
	uint64_t start_pstate;

	/* Written by the vCPU's thread; read by others only after the join. */
	uint64_t mmio[3];		/* data stores seen, by EL */
	uint64_t mmio_done;
	uint64_t system_event;
	uint64_t kvm_run_calls;
	uint64_t kvm_run_eintr;
	uint64_t hvc_ok;		/* x24 after SYSTEM_OFF */
	uint64_t el2_hvc_ok;		/* x27 after MMIO_DONE */
	uint64_t el2_fwd_ok;		/* x28 after MMIO_DONE */
	/* Where it is, for the watchdog's message; atomics. */
	uint64_t exits_seen;
	int phase;
};

enum vcpu_phase {
	PHASE_RUN,
	PHASE_PARKED,			/* after its last MMIO exit, waiting */
	PHASE_FINAL,			/* running the rest, up to SYSTEM_OFF */
	PHASE_FINISHED,
};

static const char *const phase_names[] = {
	"running", "parked after its last MMIO exit",
	"running its last part up to SYSTEM_OFF", "finished",
};

struct vm {
	const struct config *cfg;
	int kvm;
	int fd;
	int gic;
	void *ram;
	size_t run_size;
	struct vcpu vcpus[MAX_VCPUS];

	/* The SYSTEM_OFF sequence: see the comment at the top. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int parked;
	unsigned int turn;
};

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", PROG);
	exit(2);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--vcpus N] [--mmio-el1 N] [--mmio-el0 N] [--hvc N]\n"
		"       %*s [--hold-ms MS] [--timeout SECS]\n"
		"       %s --el2 [--vcpus N] [--mmio-el2 N] [--el2-hvc N]\n"
		"       %*s [--el2-sysreg-fwd N] [--hold-ms MS] [--timeout SECS]\n"
		"       %s --try-el2\n"
		"\n"
		"Run an arm64 KVM guest that makes an exact number of exits, one\n"
		"thread per vCPU, check every exit that reaches user space and\n"
		"print one JSON line.  Per vCPU (defaults in brackets):\n"
		"  --vcpus N      vCPUs, 1..%d [2]\n"
		"  --mmio-el1 N   MMIO stores at EL1 [10]\n"
		"  --mmio-el0 N   MMIO stores at EL0, between an eret and an svc [10]\n"
		"  --hvc N        hvc #0 calls KVM answers NOT_SUPPORTED [5],\n"
		"                 then one hvc PSCI SYSTEM_OFF\n"
		"  --el2          start the vCPUs at virtual EL2 (nested virt)\n"
		"  --mmio-el2 N   with --el2: MMIO stores at vEL2 [3], then one\n"
		"                 MMIO done store\n"
		"  --el2-hvc N    with --el2: first, hvc #0 calls at vEL2, each taken\n"
		"                 by the guest's own EL2 vector, which erets [0]\n"
		"  --el2-sysreg-fwd N\n"
		"                 with --el2: then ID register reads at a nested EL1,\n"
		"                 each forwarded by KVM to vEL2, which erets [0]\n"
		"  --try-el2      only ask KVM_ARM_VCPU_INIT for KVM_ARM_VCPU_HAS_EL2\n"
		"                 and report the answer (exit 0 either way)\n"
		"  --hold-ms MS   keep the VM alive MS ms after printing [0]\n"
		"  --timeout SECS give up (exit 1) if the guest is not done [%d]\n",
		PROG, (int)strlen(PROG), "", PROG, (int)strlen(PROG), "", PROG,
		MAX_VCPUS, DEFAULT_TIMEOUT);
}

static uint64_t parse_number(const char *opt, const char *s, uint64_t min,
			     uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' ||
	    v < min || v > max)
		usage_error("%s '%s': want a whole number from %" PRIu64
			    " to %" PRIu64, opt, s, min, max);
	return v;
}

enum {
	OPT_VCPUS = 256,
	OPT_MMIO_EL1,
	OPT_MMIO_EL0,
	OPT_HVC,
	OPT_MMIO_EL2,
	OPT_EL2_HVC,
	OPT_EL2_SYSREG_FWD,
	OPT_EL2,
	OPT_TRY_EL2,
	OPT_HOLD_MS,
	OPT_TIMEOUT,
};

static void parse_options(int argc, char **argv, struct config *cfg)
{
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "mmio-el1", required_argument, NULL, OPT_MMIO_EL1 },
		{ "mmio-el0", required_argument, NULL, OPT_MMIO_EL0 },
		{ "hvc", required_argument, NULL, OPT_HVC },
		{ "mmio-el2", required_argument, NULL, OPT_MMIO_EL2 },
		{ "el2-hvc", required_argument, NULL, OPT_EL2_HVC },
		{ "el2-sysreg-fwd", required_argument, NULL, OPT_EL2_SYSREG_FWD },
		{ "el2", no_argument, NULL, OPT_EL2 },
		{ "try-el2", no_argument, NULL, OPT_TRY_EL2 },
		{ "hold-ms", required_argument, NULL, OPT_HOLD_MS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *el1_only = NULL, *el2_only = NULL;
	int opt;

	*cfg = (struct config) {
		.vcpus = 2,
		.mmio_el1 = 10,
		.mmio_el0 = 10,
		.hvc = 5,
		.mmio_el2 = 3,
		.timeout_s = DEFAULT_TIMEOUT,
	};
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_VCPUS:
			cfg->vcpus = parse_number("--vcpus", optarg, 1, MAX_VCPUS);
			break;
		case OPT_MMIO_EL1:
			cfg->mmio_el1 = parse_number("--mmio-el1", optarg, 0, MAX_COUNT);
			el1_only = "--mmio-el1";
			break;
		case OPT_MMIO_EL0:
			cfg->mmio_el0 = parse_number("--mmio-el0", optarg, 0, MAX_COUNT);
			el1_only = "--mmio-el0";
			break;
		case OPT_HVC:
			cfg->hvc = parse_number("--hvc", optarg, 0, MAX_COUNT);
			el1_only = "--hvc";
			break;
		case OPT_MMIO_EL2:
			cfg->mmio_el2 = parse_number("--mmio-el2", optarg, 0, MAX_COUNT);
			el2_only = "--mmio-el2";
			break;
		case OPT_EL2_HVC:
			cfg->el2_hvc = parse_number("--el2-hvc", optarg, 0, MAX_COUNT);
			el2_only = "--el2-hvc";
			break;
		case OPT_EL2_SYSREG_FWD:
			cfg->el2_sysreg_fwd = parse_number("--el2-sysreg-fwd", optarg,
							   0, MAX_COUNT);
			el2_only = "--el2-sysreg-fwd";
			break;
		case OPT_EL2:
			cfg->el2 = true;
			break;
		case OPT_TRY_EL2:
			cfg->try_el2 = true;
			break;
		case OPT_HOLD_MS:
			cfg->hold_ms = parse_number("--hold-ms", optarg, 0, 86400000);
			break;
		case OPT_TIMEOUT:
			cfg->timeout_s = parse_number("--timeout", optarg, 1, 86400);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg->try_el2 && cfg->el2)
		usage_error("--try-el2 and --el2 exclude each other");
	if (cfg->el2 && el1_only)
		usage_error("%s does not apply to --el2: the vCPUs stay at vEL2",
			    el1_only);
	if (!cfg->el2 && el2_only)
		usage_error("%s needs --el2", el2_only);
	if (cfg->el2)
		cfg->mmio_el1 = cfg->mmio_el0 = cfg->hvc = 0;
	else
		cfg->mmio_el2 = cfg->el2_hvc = cfg->el2_sysreg_fwd = 0;
}

/* ---- KVM plumbing ---- */

static int kvm_ioctl(int fd, unsigned long req, void *arg, const char *what,
		     int vcpu)
{
	int r = ioctl(fd, req, arg);

	if (r < 0) {
		if (vcpu >= 0)
			die("%s on vCPU %d: %s", what, vcpu, strerror(errno));
		die("%s: %s", what, strerror(errno));
	}
	return r;
}

#define CORE_REG(name)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 KVM_REG_ARM_CORE_REG(name))

static int get_reg(const struct vcpu *v, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)val };

	return ioctl(v->fd, KVM_GET_ONE_REG, &reg);
}

static void set_reg(const struct vcpu *v, uint64_t id, uint64_t val,
		    const char *name)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };
	char what[64];

	snprintf(what, sizeof(what), "KVM_SET_ONE_REG %s", name);
	kvm_ioctl(v->fd, KVM_SET_ONE_REG, &reg, what, (int)v->index);
}

static uint64_t guest_offset(const uint32_t *sym)
{
	return (uint64_t)((const char *)sym - (const char *)guest_code_start);
}

/* "PC 0x40000abc (code+0xabc), PSTATE 0x3c5 (EL1h)" for error messages. */
static void describe_pc(const struct vcpu *v, char *buf, size_t len)
{
	static const char *const modes[16] = {
		[0x0] = "EL0t", [0x4] = "EL1t", [0x5] = "EL1h",
		[0x8] = "EL2t", [0x9] = "EL2h",
	};
	uint64_t pc, pstate;
	const char *mode;

	if (get_reg(v, CORE_REG(regs.pc), &pc) < 0) {
		snprintf(buf, len, "PC unknown (KVM_GET_ONE_REG: %s)",
			 strerror(errno));
		return;
	}
	if (get_reg(v, CORE_REG(regs.pstate), &pstate) < 0)
		pstate = ~0ULL;
	mode = pstate == ~0ULL ? NULL : modes[pstate & 0xf];
	if (pc >= RAM_BASE && pc < RAM_BASE + guest_offset(guest_code_end))
		snprintf(buf, len, "PC 0x%" PRIx64 " (code+0x%" PRIx64
			 "), PSTATE 0x%" PRIx64 " (%s)", pc, pc - RAM_BASE,
			 pstate, mode ? mode : "?");
	else
		snprintf(buf, len, "PC 0x%" PRIx64 " (outside the guest code)"
			 ", PSTATE 0x%" PRIx64 " (%s)", pc, pstate,
			 mode ? mode : "?");
}

static const char *exit_reason_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
	case KVM_EXIT_HYPERCALL: return "KVM_EXIT_HYPERCALL";
	case KVM_EXIT_DEBUG: return "KVM_EXIT_DEBUG";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_INTR: return "KVM_EXIT_INTR";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "KVM_EXIT_SYSTEM_EVENT";
	case KVM_EXIT_ARM_NISV: return "KVM_EXIT_ARM_NISV";
	default: return "an exit reason this VMM does not know";
	}
}

static void __attribute__((noreturn)) unexpected_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char where[160], detail[64] = "";

	describe_pc(v, where, sizeof(where));
	if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT)
		snprintf(detail, sizeof(detail), " type %u", run->system_event.type);
	else if (run->exit_reason == KVM_EXIT_HYPERCALL)
		snprintf(detail, sizeof(detail), " function 0x%llx",
			 (unsigned long long)run->hypercall.nr);
	die("vCPU %u: unexpected exit %s (%u)%s at %s", v->index,
	    exit_reason_name(run->exit_reason), run->exit_reason, detail, where);
}

/* EL2 system registers of a HAS_EL2 vCPU, for KVM_GET_ONE_REG. */
#define SYS_REG_SPSR_EL2	ARM64_SYS_REG(3, 4, 4, 0, 0)
#define SYS_REG_ELR_EL2		ARM64_SYS_REG(3, 4, 4, 0, 1)
#define SYS_REG_ESR_EL2		ARM64_SYS_REG(3, 4, 5, 2, 0)
#define SYS_REG_FAR_EL2		ARM64_SYS_REG(3, 4, 6, 0, 0)

/* The guest stored to MMIO_FAIL: say why, with its exception state. */
static void __attribute__((noreturn)) guest_failed(struct vcpu *v, uint64_t val)
{
	uint64_t esr = 0, elr = 0, far = 0, spsr = 0;
	char where[160];

	describe_pc(v, where, sizeof(where));
	switch (VAL_TAG(val)) {
	case FAIL_VECTOR:
		get_reg(v, ARM64_SYS_REG(3, 0, 5, 2, 0), &esr);
		get_reg(v, ARM64_SYS_REG(3, 0, 6, 0, 0), &far);
		get_reg(v, CORE_REG(elr_el1), &elr);
		get_reg(v, CORE_REG(spsr[KVM_SPSR_EL1]), &spsr);
		die("vCPU %u: guest took an unexpected exception (vector 0x%"
		    PRIx64 "): ESR_EL1 0x%" PRIx64 " (EC 0x%" PRIx64
		    "), ELR_EL1 0x%" PRIx64 ", FAR_EL1 0x%" PRIx64
		    ", SPSR_EL1 0x%" PRIx64 "; now at %s", v->index,
		    VAL_LOW(val), esr, esr >> 26 & 0x3f, elr, far, spsr, where);
	case FAIL_HVC:
		die("vCPU %u: hvc #0 with function 0x%x returned 0x%" PRIx64
		    " (low 48 bits), not NOT_SUPPORTED (-1); at %s", v->index,
		    HVC_UNKNOWN_FN, VAL_LOW(val), where);
	case FAIL_PSCI_OFF:
		die("vCPU %u: PSCI SYSTEM_OFF returned to the guest with x0 0x%"
		    PRIx64 " (low 48 bits); at %s", v->index, VAL_LOW(val),
		    where);
	case FAIL_VECTOR_EL2:
		get_reg(v, SYS_REG_ESR_EL2, &esr);
		get_reg(v, SYS_REG_FAR_EL2, &far);
		get_reg(v, SYS_REG_ELR_EL2, &elr);
		get_reg(v, SYS_REG_SPSR_EL2, &spsr);
		die("vCPU %u: guest took an unexpected exception at vEL2 (EL2"
		    " vector 0x%" PRIx64 "): ESR_EL2 0x%" PRIx64 " (EC 0x%"
		    PRIx64 "), ELR_EL2 0x%" PRIx64 ", FAR_EL2 0x%" PRIx64
		    ", SPSR_EL2 0x%" PRIx64 "; now at %s", v->index,
		    VAL_LOW(val), esr, esr >> 26 & 0x3f, elr, far, spsr, where);
	case FAIL_VEL1_NO_TRAP:
		die("vCPU %u: the nested EL1's read of ID_AA64PFR0_EL1 was not"
		    " forwarded to vEL2, whose HCR_EL2 has TID3 set; at %s",
		    v->index, where);
	default:
		die("vCPU %u: guest stored 0x%" PRIx64 " to its failure address"
		    " 0x%lx; at %s", v->index, val, MMIO_FAIL, where);
	}
}

static void vcpu_run(struct vcpu *v)
{
	for (;;) {
		__atomic_store_n(&v->kvm_run_calls, v->kvm_run_calls + 1,
				 __ATOMIC_RELAXED);
		if (ioctl(v->fd, KVM_RUN, NULL) == 0)
			break;
		if (errno != EINTR)
			die("KVM_RUN on vCPU %u: %s", v->index, strerror(errno));
		v->kvm_run_eintr++;
	}
	__atomic_store_n(&v->exits_seen, v->exits_seen + 1, __ATOMIC_RELAXED);
}

static uint64_t expected_mmio(const struct config *cfg, unsigned int el)
{
	switch (el) {
	case 0: return cfg->mmio_el0;
	case 1: return cfg->mmio_el1;
	default: return cfg->mmio_el2;
	}
}

/*
 * One KVM_EXIT_MMIO: an 8-byte store to one of the guest's addresses, with
 * the value it must have.  Returns true for the MMIO_DONE store (--el2).
 */
static bool handle_mmio(struct vcpu *v)
{
	const struct config *cfg = v->vm->cfg;
	struct kvm_run *run = v->run;
	uint64_t addr = run->mmio.phys_addr, val;
	char where[160];
	unsigned int el;

	if (!run->mmio.is_write || run->mmio.len != 8) {
		describe_pc(v, where, sizeof(where));
		die("vCPU %u: MMIO %s of %u bytes at 0x%" PRIx64
		    ", want 8-byte writes; at %s", v->index,
		    run->mmio.is_write ? "write" : "read", run->mmio.len, addr,
		    where);
	}
	memcpy(&val, run->mmio.data, sizeof(val));
	if (addr == MMIO_FAIL)
		guest_failed(v, val);
	if (VAL_VCPU(val) != v->index) {
		describe_pc(v, where, sizeof(where));
		die("vCPU %u: MMIO store of 0x%" PRIx64 " to 0x%" PRIx64
		    " carries vCPU index %" PRIu64 "; at %s", v->index, val,
		    addr, VAL_VCPU(val), where);
	}
	if (addr == MMIO_DONE && cfg->el2) {
		v->mmio_done++;
		return true;
	}
	for (el = 0; el < 3; el++) {
		if (addr != MMIO_EL(el))
			continue;
		if ((cfg->el2 ? el != 2 : el == 2) ||
		    v->mmio[el] >= expected_mmio(cfg, el)) {
			describe_pc(v, where, sizeof(where));
			die("vCPU %u: MMIO store #%" PRIu64 " from EL%u (0x%"
			    PRIx64 "): want %" PRIu64 " from EL%u; at %s",
			    v->index, v->mmio[el] + 1, el, addr,
			    expected_mmio(cfg, el), el, where);
		}
		if (VAL_TAG(val) != el || VAL_LOW(val) != v->mmio[el]) {
			describe_pc(v, where, sizeof(where));
			die("vCPU %u: MMIO store #%" PRIu64 " from EL%u stored 0x%"
			    PRIx64 ", want 0x%" PRIx64 "; at %s", v->index,
			    v->mmio[el] + 1, el, val,
			    (uint64_t)v->index << 56 | (uint64_t)el << 48 |
			    v->mmio[el], where);
		}
		v->mmio[el]++;
		return false;
	}
	describe_pc(v, where, sizeof(where));
	die("vCPU %u: MMIO store of 0x%" PRIx64 " to unexpected address 0x%"
	    PRIx64 "; at %s", v->index, val, addr, where);
}

static uint64_t mmio_seen(const struct vcpu *v)
{
	return v->mmio[0] + v->mmio[1] + v->mmio[2];
}

static uint64_t mmio_wanted(const struct config *cfg)
{
	return cfg->mmio_el0 + cfg->mmio_el1 + cfg->mmio_el2;
}

/* At the end: did this vCPU make exactly what it was told to? */
static void check_done(struct vcpu *v)
{
	const struct config *cfg = v->vm->cfg;
	unsigned int el;

	for (el = 0; el < 3; el++)
		if (v->mmio[el] != expected_mmio(cfg, el))
			die("vCPU %u: done after %" PRIu64 " MMIO stores from EL%u"
			    ", want %" PRIu64, v->index, v->mmio[el], el,
			    expected_mmio(cfg, el));
	if (v->hvc_ok != cfg->hvc)
		die("vCPU %u: done after %" PRIu64 " hvc calls answered"
		    " NOT_SUPPORTED, want %" PRIu64, v->index, v->hvc_ok,
		    cfg->hvc);
	if (v->el2_hvc_ok != cfg->el2_hvc)
		die("vCPU %u: done after %" PRIu64 " hvc calls returned to vEL2"
		    ", want %" PRIu64, v->index, v->el2_hvc_ok, cfg->el2_hvc);
	if (v->el2_fwd_ok != cfg->el2_sysreg_fwd)
		die("vCPU %u: done after %" PRIu64 " sysreg traps forwarded to"
		    " vEL2, want %" PRIu64, v->index, v->el2_fwd_ok,
		    cfg->el2_sysreg_fwd);
}

/* Does the vCPU start at guest_el2_nested_entry (VBAR_EL2 and all)? */
static bool el2_nested(const struct config *cfg)
{
	return cfg->el2_hvc || cfg->el2_sysreg_fwd;
}

/*
 * Park until every vCPU made its last MMIO exit and it is this one's turn,
 * so that no SYSTEM_OFF stops a vCPU that still has work.
 */
static void wait_for_turn(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->cond);
	while (vm->parked < vm->cfg->vcpus || vm->turn != v->index)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static void pass_turn(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->turn++;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

/*
 * --el2: run until the MMIO_DONE store; the vCPU is never run again.  The
 * hvc calls and forwarded traps before the stores never reach user space:
 * their counts are in x27 and x28.
 */
static void run_el2(struct vcpu *v)
{
	do {
		vcpu_run(v);
		if (v->run->exit_reason != KVM_EXIT_MMIO)
			unexpected_exit(v);
	} while (!handle_mmio(v));
	if (el2_nested(v->vm->cfg)) {
		if (get_reg(v, CORE_REG(regs.regs[27]), &v->el2_hvc_ok) < 0 ||
		    get_reg(v, CORE_REG(regs.regs[28]), &v->el2_fwd_ok) < 0)
			die("KVM_GET_ONE_REG x27/x28 on vCPU %u: %s", v->index,
			    strerror(errno));
	}
	check_done(v);
}

/*
 * Default mode: run until the last expected MMIO exit, park, then run the
 * rest of the guest code on this vCPU's turn, up to its SYSTEM_OFF.
 */
static void run_el1(struct vcpu *v)
{
	const struct config *cfg = v->vm->cfg;
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct kvm_run *run = v->run;

	while (mmio_seen(v) < mmio_wanted(cfg)) {
		vcpu_run(v);
		if (run->exit_reason != KVM_EXIT_MMIO)
			unexpected_exit(v);
		handle_mmio(v);
	}

	__atomic_store_n(&v->phase, PHASE_PARKED, __ATOMIC_RELAXED);
	wait_for_turn(v);
	__atomic_store_n(&v->phase, PHASE_FINAL, __ATOMIC_RELAXED);
	/* The previous vCPU's SYSTEM_OFF stopped this one too. */
	if (v->index > 0)
		kvm_ioctl(v->fd, KVM_SET_MP_STATE, &runnable,
			  "KVM_SET_MP_STATE RUNNABLE", (int)v->index);
	for (;;) {
		vcpu_run(v);
		if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT)
			break;
		/* Any store now is one too many, or a failure report. */
		if (run->exit_reason != KVM_EXIT_MMIO)
			unexpected_exit(v);
		handle_mmio(v);
	}
	if (run->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN)
		die("vCPU %u: PSCI SYSTEM_OFF gave system event type %u, want"
		    " KVM_SYSTEM_EVENT_SHUTDOWN (%u)", v->index,
		    run->system_event.type, KVM_SYSTEM_EVENT_SHUTDOWN);
	v->system_event++;
	if (get_reg(v, CORE_REG(regs.regs[24]), &v->hvc_ok) < 0)
		die("KVM_GET_ONE_REG x24 on vCPU %u: %s", v->index,
		    strerror(errno));
	check_done(v);
	pass_turn(v->vm);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	v->tid = gettid();
	if (v->vm->cfg->el2)
		run_el2(v);
	else
		run_el1(v);
	__atomic_store_n(&v->phase, PHASE_FINISHED, __ATOMIC_RELAXED);
	return NULL;
}

/* ---- VM setup ---- */

static void open_kvm(struct vm *vm)
{
	int api;

	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		die("cannot open /dev/kvm: %s", strerror(errno));
	api = kvm_ioctl(vm->kvm, KVM_GET_API_VERSION, NULL,
			"KVM_GET_API_VERSION", -1);
	if (api != KVM_API_VERSION)
		die("KVM_GET_API_VERSION returned %d, want %d", api,
		    KVM_API_VERSION);
	vm->run_size = (size_t)kvm_ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, NULL,
					 "KVM_GET_VCPU_MMAP_SIZE", -1);
	if (vm->run_size < sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE returned %zu, less than struct"
		    " kvm_run", vm->run_size);
	/* Default IPA size (type 0). */
	vm->fd = kvm_ioctl(vm->kvm, KVM_CREATE_VM, (void *)0UL,
			   "KVM_CREATE_VM", -1);
}

static int check_cap(int fd, long cap)
{
	return ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

static void add_ram(struct vm *vm)
{
	struct kvm_userspace_memory_region region;
	size_t code_size = guest_offset(guest_code_end);

	vm->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED)
		die("mmap of %lu bytes of guest RAM: %s", RAM_SIZE,
		    strerror(errno));
	/* The rest stays zero: UDF, so a runaway guest traps. */
	memcpy(vm->ram, guest_code_start, code_size);
	region = (struct kvm_userspace_memory_region) {
		.slot = 0,
		.guest_phys_addr = RAM_BASE,
		.memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)vm->ram,
	};
	kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region,
		  "KVM_SET_USER_MEMORY_REGION", -1);
}

static int create_vcpu(struct vm *vm, unsigned int index)
{
	return kvm_ioctl(vm->fd, KVM_CREATE_VCPU, (void *)(uintptr_t)index,
			 "KVM_CREATE_VCPU", -1);
}

static void preferred_target(struct vm *vm, struct kvm_vcpu_init *init)
{
	memset(init, 0, sizeof(*init));
	kvm_ioctl(vm->fd, KVM_ARM_PREFERRED_TARGET, init,
		  "KVM_ARM_PREFERRED_TARGET", -1);
	init->features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (vm->cfg->el2)
		init->features[0] |= 1U << KVM_ARM_VCPU_HAS_EL2;
}

static void setup_vcpu(struct vm *vm, unsigned int index,
		       const struct kvm_vcpu_init *init)
{
	const struct config *cfg = vm->cfg;
	struct vcpu *v = &vm->vcpus[index];
	const uint32_t *entry = !cfg->el2 ? guest_el1_entry :
				el2_nested(cfg) ? guest_el2_nested_entry :
				guest_el2_entry;

	v->vm = vm;
	v->index = index;
	v->fd = create_vcpu(vm, index);
	kvm_ioctl(v->fd, KVM_ARM_VCPU_INIT, (void *)init,
		  cfg->el2 ? "KVM_ARM_VCPU_INIT (PSCI_0_2 | HAS_EL2)" :
			     "KVM_ARM_VCPU_INIT (PSCI_0_2)", (int)index);
	set_reg(v, CORE_REG(regs.pc), RAM_BASE + guest_offset(entry), "pc");
	set_reg(v, CORE_REG(regs.regs[19]), index, "x19");
	set_reg(v, CORE_REG(regs.regs[20]), cfg->mmio_el1, "x20");
	set_reg(v, CORE_REG(regs.regs[21]), cfg->mmio_el0, "x21");
	set_reg(v, CORE_REG(regs.regs[22]), cfg->hvc, "x22");
	set_reg(v, CORE_REG(regs.regs[23]), cfg->mmio_el2, "x23");
	/* Only then: a plain --el2 run makes exactly the ioctls it made before. */
	if (el2_nested(cfg)) {
		set_reg(v, CORE_REG(regs.regs[25]), cfg->el2_hvc, "x25");
		set_reg(v, CORE_REG(regs.regs[26]), cfg->el2_sysreg_fwd, "x26");
	}
	if (get_reg(v, CORE_REG(regs.pstate), &v->start_pstate) < 0)
		die("KVM_GET_ONE_REG pstate on vCPU %u: %s", index,
		    strerror(errno));
	/* KVM resets to EL1h (0x3c5) or EL2h (0x3c9), DAIF masked. */
	if ((v->start_pstate & 0xf) != (cfg->el2 ? 0x9U : 0x5U))
		die("vCPU %u starts with PSTATE 0x%" PRIx64 ", want mode %s",
		    index, v->start_pstate, cfg->el2 ? "EL2h" : "EL1h");
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap of vCPU %u's kvm_run: %s", index, strerror(errno));
}

static void set_gic_attr(struct vm *vm, uint32_t group, uint64_t attr,
			 void *addr, const char *what)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)addr,
	};

	kvm_ioctl(vm->gic, KVM_SET_DEVICE_ATTR, &a, what, -1);
}

/* Nested virt needs an in-kernel GICv3; KVM_RUN fails with EAGAIN without. */
static void create_vgic_v3(struct vm *vm)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = GIC_DIST_BASE, redist = GIC_REDIST_BASE;

	kvm_ioctl(vm->fd, KVM_CREATE_DEVICE, &dev,
		  "KVM_CREATE_DEVICE KVM_DEV_TYPE_ARM_VGIC_V3", -1);
	vm->gic = (int)dev.fd;
	set_gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
		     &dist, "KVM_SET_DEVICE_ATTR vGICv3 distributor address");
	set_gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
		     KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
		     "KVM_SET_DEVICE_ATTR vGICv3 redistributor address");
	set_gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
		     NULL, "KVM_SET_DEVICE_ATTR vGICv3 KVM_DEV_ARM_VGIC_CTRL_INIT");
}

/* --try-el2: make the HAS_EL2 request and report what KVM said. */
static int try_el2(struct vm *vm)
{
	struct kvm_vcpu_init init;
	int cap, vcpu, r, err;

	open_kvm(vm);
	cap = check_cap(vm->fd, KVM_CAP_ARM_EL2);
	vcpu = create_vcpu(vm, 0);
	memset(&init, 0, sizeof(init));
	kvm_ioctl(vm->fd, KVM_ARM_PREFERRED_TARGET, &init,
		  "KVM_ARM_PREFERRED_TARGET", -1);
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2 |
			    1U << KVM_ARM_VCPU_HAS_EL2;
	r = ioctl(vcpu, KVM_ARM_VCPU_INIT, &init);
	err = errno;
	printf("{\"arch\":\"arm64\",\"pid\":%d,\"try_el2\":true,"
	       "\"cap_arm_el2\":%d,\"el2\":{\"accepted\":%s,\"target\":%u,"
	       "\"features\":\"0x%x\"", (int)getpid(), cap,
	       r == 0 ? "true" : "false", init.target, init.features[0]);
	if (r == 0)
		printf("}}\n");
	else
		printf(",\"errno\":%d,\"errno_name\":\"%s\",\"error\":\"%s\"}}\n",
		       err, strerrorname_np(err) ? strerrorname_np(err) : "?",
		       strerror(err));
	fflush(stdout);
	close(vcpu);
	return 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000U + (uint64_t)ts.tv_nsec / 1000;
}

/* Join every vCPU thread, or fail saying where each one was. */
static void join_vcpus(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	struct timespec deadline;
	unsigned int i, j;
	int r;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)cfg->timeout_s;
	for (i = 0; i < cfg->vcpus; i++) {
		r = pthread_timedjoin_np(vm->vcpus[i].thread, NULL, &deadline);
		if (r == 0)
			continue;
		if (r != ETIMEDOUT)
			die("pthread_timedjoin_np: %s", strerror(r));
		pthread_mutex_lock(&report_lock);
		fprintf(stderr, "%s: timeout: the guest did not finish in %"
			PRIu64 " s\n", PROG, cfg->timeout_s);
		for (j = 0; j < cfg->vcpus; j++) {
			struct vcpu *v = &vm->vcpus[j];

			fprintf(stderr, "%s:   vCPU %u: %s, %" PRIu64
				" KVM_RUN calls, %" PRIu64 " exits to user space\n",
				PROG, j,
				phase_names[__atomic_load_n(&v->phase,
							    __ATOMIC_RELAXED)],
				__atomic_load_n(&v->kvm_run_calls,
						__ATOMIC_RELAXED),
				__atomic_load_n(&v->exits_seen,
						__ATOMIC_RELAXED));
		}
		exit(1);
	}
}

/* What the whole run (all vCPUs) must make: see the comment at the top. */
struct expected {
	uint64_t dabt_low[3];		/* EL0, EL1, vEL2 */
	uint64_t hvc64_el1, hvc64_vel2;
	uint64_t sys64_el1, sys64_vel2;	/* EL1: the nested EL1 */
	uint64_t eret_vel2;
	uint64_t inject_nested_exception, nested_eret, forward_sysreg_trap;
};

static void expected_exits(const struct config *cfg, struct expected *e)
{
	uint64_t n = cfg->vcpus, fwd = cfg->el2_sysreg_fwd;

	*e = (struct expected) {
		.dabt_low = { n * cfg->mmio_el0, n * cfg->mmio_el1,
			      cfg->el2 ? n * (cfg->mmio_el2 + 1) : 0 },
		.hvc64_el1 = cfg->el2 ? 0 : n * (cfg->hvc + 1),
		.hvc64_vel2 = n * cfg->el2_hvc,
		/* The ID register reads; msr vbar_el2, once per vCPU. */
		.sys64_el1 = n * fwd,
		.sys64_vel2 = el2_nested(cfg) ? n : 0,
		/* The erets to the nested EL1; those to vEL2 do not exit. */
		.eret_vel2 = n * fwd,
		.inject_nested_exception = n * (cfg->el2_hvc + fwd),
		.nested_eret = n * fwd,
		.forward_sysreg_trap = n * fwd,
	};
}

static void print_result(const struct vm *vm, uint64_t setup_us,
			 uint64_t run_us)
{
	const struct config *cfg = vm->cfg;
	uint64_t mmio = 0, done = 0, sysev = 0, eintr = 0, calls = 0;
	struct expected e;
	unsigned int i;

	for (i = 0; i < cfg->vcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];

		mmio += v->mmio[0] + v->mmio[1] + v->mmio[2] + v->mmio_done;
		done += v->mmio_done;
		sysev += v->system_event;
		eintr += v->kvm_run_eintr;
		calls += v->kvm_run_calls;
	}
	printf("{\"arch\":\"arm64\",\"pid\":%d,\"vcpus\":%u,\"el2\":%s,"
	       "\"start_pstate\":\"0x%" PRIx64 "\","
	       "\"per_vcpu\":{\"mmio_el1\":%" PRIu64 ",\"mmio_el0\":%" PRIu64
	       ",\"hvc\":%" PRIu64 ",\"mmio_el2\":%" PRIu64
	       ",\"mmio_done\":%d,\"psci_system_off\":%d,\"el2_hvc\":%" PRIu64
	       ",\"el2_sysreg_fwd\":%" PRIu64 "},"
	       "\"mmio_addr\":{\"el0\":\"0x%08lx\",\"el1\":\"0x%08lx\","
	       "\"el2\":\"0x%08lx\",\"done\":\"0x%08lx\"},"
	       "\"hvc_function_id\":\"0x%x\","
	       "\"end\":\"%s\","
	       "\"userspace_exits\":{\"mmio\":%" PRIu64 ",\"mmio_done\":%" PRIu64
	       ",\"system_event\":%" PRIu64 ",\"total\":%" PRIu64 "},"
	       "\"kvm_run_calls\":%" PRIu64 ",\"kvm_run_eintr\":%" PRIu64 ",",
	       (int)getpid(), cfg->vcpus, cfg->el2 ? "true" : "false",
	       vm->vcpus[0].start_pstate,
	       cfg->mmio_el1, cfg->mmio_el0, cfg->hvc, cfg->mmio_el2,
	       cfg->el2 ? 1 : 0, cfg->el2 ? 0 : 1, cfg->el2_hvc,
	       cfg->el2_sysreg_fwd,
	       MMIO_EL(0), MMIO_EL(1), MMIO_EL(2), MMIO_DONE,
	       HVC_UNKNOWN_FN,
	       cfg->el2 ? "mmio_done" : "psci_system_off",
	       mmio, done, sysev, mmio + sysev, calls, eintr);
	expected_exits(cfg, &e);
	printf("\"expected_kvm_exits\":{"
	       "\"DABT_LOW\":{\"EL0\":%" PRIu64 ",\"EL1\":%" PRIu64
	       ",\"vEL2\":%" PRIu64 ",\"total\":%" PRIu64 "},"
	       "\"HVC64\":{\"EL1\":%" PRIu64 ",\"vEL2\":%" PRIu64
	       ",\"total\":%" PRIu64 "},"
	       "\"SYS64\":{\"EL1\":%" PRIu64 ",\"vEL2\":%" PRIu64
	       ",\"total\":%" PRIu64 "},"
	       "\"ERET\":{\"vEL2\":%" PRIu64 ",\"total\":%" PRIu64 "}},"
	       "\"expected_nested_events\":{"
	       "\"kvm_inject_nested_exception\":%" PRIu64
	       ",\"kvm_nested_eret\":%" PRIu64
	       ",\"kvm_forward_sysreg_trap\":%" PRIu64 "},"
	       "\"setup_us\":%" PRIu64 ",\"run_us\":%" PRIu64
	       ",\"hold_ms\":%" PRIu64 ",\"vcpu_tids\":[",
	       e.dabt_low[0], e.dabt_low[1], e.dabt_low[2],
	       e.dabt_low[0] + e.dabt_low[1] + e.dabt_low[2],
	       e.hvc64_el1, e.hvc64_vel2, e.hvc64_el1 + e.hvc64_vel2,
	       e.sys64_el1, e.sys64_vel2, e.sys64_el1 + e.sys64_vel2,
	       e.eret_vel2, e.eret_vel2,
	       e.inject_nested_exception, e.nested_eret, e.forward_sysreg_trap,
	       setup_us, run_us, cfg->hold_ms);
	for (i = 0; i < cfg->vcpus; i++)
		printf("%s%d", i ? "," : "", (int)vm->vcpus[i].tid);
	printf("]}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct vm vm = {
		.kvm = -1,
		.fd = -1,
		.gic = -1,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	struct config cfg;
	struct kvm_vcpu_init init;
	uint64_t t0, t1;
	unsigned int i;
	int r;

	parse_options(argc, argv, &cfg);
	vm.cfg = &cfg;
	if (cfg.try_el2)
		return try_el2(&vm);

	t0 = now_us();
	open_kvm(&vm);
	if (check_cap(vm.fd, KVM_CAP_ARM_PSCI_0_2) <= 0)
		die("KVM lacks KVM_CAP_ARM_PSCI_0_2 (PSCI 0.2 for the guest)");
	if (cfg.el2 && check_cap(vm.fd, KVM_CAP_ARM_EL2) <= 0)
		die("--el2: KVM_CAP_ARM_EL2 is 0: this kernel offers no nested"
		    " virtualization (it needs FEAT_NV2 and kvm-arm.mode=nested)");
	add_ram(&vm);
	preferred_target(&vm, &init);
	for (i = 0; i < cfg.vcpus; i++)
		setup_vcpu(&vm, i, &init);
	if (cfg.el2)
		create_vgic_v3(&vm);

	t1 = now_us();
	for (i = 0; i < cfg.vcpus; i++) {
		r = pthread_create(&vm.vcpus[i].thread, NULL, vcpu_thread,
				   &vm.vcpus[i]);
		if (r)
			die("pthread_create for vCPU %u: %s", i, strerror(r));
	}
	join_vcpus(&vm);
	print_result(&vm, t1 - t0, now_us() - t1);

	/* Let an observer read the counters of a VM that still exists. */
	if (cfg.hold_ms)
		sleep_ms(cfg.hold_ms);
	return 0;
}
