/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One line of text tracing (trace_pipe, or perf script) for an exit event,
 * turned into the (isa, reason) the daemon counts.  For hosts this daemon
 * cannot run on here (arm64, s390): their recorded traces are replayed
 * through the same decode tables the BPF path uses.
 *
 * Events understood, in the form their TP_printk gives them:
 *   arm64 kvm_exit           "TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x..."
 *                            (kvm-decode.md §3.4.3)
 *   s390 kvm_s390_sie_exit   "01[<pswmask>-<pswaddr>]: exit sie icptcode 4 (Instruction)"
 *                            (VCPU_TP_PRINTK in arch/s390/kvm/trace.h; the
 *                            fields are in §3.5.2)
 *   x86 kvm_exit             "vcpu 0 reason io rip 0x... info1 ..."
 *                            (TRACE_EVENT_KVM_EXIT in arch/x86/kvm/trace.h)
 * with or without the trace_pipe prefix ("comm-pid [cpu] flags ts: ") or
 * perf script's ("comm pid [cpu] ts: kvm:").
 */
#ifndef KVMSCOPE_TRACELINE_H
#define KVMSCOPE_TRACELINE_H

#include <stdint.h>

struct traceline_exit {
	uint32_t isa;		/* KVMSCOPE_ISA_* */
	uint32_t reason;	/* as hw_exit_name() takes it for @isa */
	uint32_t vcpu;		/* KVMSCOPE_VCPU_UNKNOWN: arm64 kvm_exit has none */
	uint64_t pc;		/* guest PC: x86 RIP, arm64 PC, s390 PSW address */
};

/*
 * Parse @line (NUL-terminated, without its newline).  Returns 0 and fills
 * @parsed for an exit event; -ENOENT for any other line (another event, a
 * "#" comment, a blank line); -EINVAL for an exit event whose text does
 * not have the expected form or names a code the tables do not know.
 *
 * x86 caveat: the line does not carry the isa.  A reason printed by name
 * tells it (VMX names are upper case, SVM's lower case); a reason the
 * kernel printed as a number leaves isa KVMSCOPE_ISA_UNKNOWN, unless VMX
 * flags follow it.
 */
int traceline_parse_exit(const char *line, struct traceline_exit *parsed);

#endif
