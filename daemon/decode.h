/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names for exit codes, one table per ISA, all in decode.c.  An unknown
 * code is never dropped: its name is its number.
 */
#ifndef KVMSCOPE_DECODE_H
#define KVMSCOPE_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct reason_name {
	uint32_t code;
	const char *name;	/* short name, as the kernel's tracepoint prints it */
	const char *symbol;	/* the uapi macro */
};

/* "vmx", "svm", "arm64", "s390" or "unknown". */
const char *isa_name(uint32_t isa);
/* Parse an ISA name back; returns -1 when unknown. */
int isa_from_name(const char *name);

/*
 * Write the short name of hardware exit @code for @isa into @buf, or the
 * number ("0x1234") when the table has no entry.  VMX failed VM-entry
 * (bit 31) is shown as "FAILED_VMENTRY|<basic>".  Returns @buf.
 */
const char *hw_exit_name(uint32_t isa, uint32_t code, char *buf, size_t len);
/* Short name of a KVM_EXIT_* reason ("IO"), or its decimal number. */
const char *kvm_exit_name(uint32_t code, char *buf, size_t len);
const char *pio_direction_name(unsigned int direction);

/* Table access for tests and documentation. */
const struct reason_name *decode_table(const char *which, size_t *n);

#define DECODE_NAME_MAX 64

#endif
