// SPDX-License-Identifier: GPL-2.0-only
/*
 * The decoders: exit reasons of every table, ioctl numbers of every fd
 * kind and architecture, sub-commands, firmware codes, capabilities,
 * errnos, arm64 feature bits.  Codes come from the kernel and from
 * guests (VMGEXIT codes, backdoor commands, hypercall numbers); names
 * from clients (filters).  Every name is terminated within its buffer.
 */
#include "decode.h"
#include "fuzz.h"
#include "ioctls/names.h"

static const char *const tables[] = { "kvm", "vmx", "svm", "svm_vmgexit", "ghcb_msr",
				      "arm64_exception", "arm64_esr_ec", "s390", "vmware_backdoor",
				      "kvm_hc" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t code = 0;
	char buf[96], *name;

	memcpy(&code, data, size < sizeof(code) ? size : sizeof(code));
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		decode_name(tables[i], code, buf, sizeof(buf));
		if (!memchr(buf, '\0', sizeof(buf)))
			abort();
	}
	for (uint32_t isa = 0; isa < 6; isa++)
		hw_exit_name(isa, (uint32_t)code, buf, sizeof(buf));
	kvm_exit_name((uint32_t)code, buf, sizeof(buf));
	for (unsigned int kind = 0; kind < 7; kind++)
		for (int arch = 0; arch < IOCTL_ARCHES; arch++)
			ioctl_name_or_number((uint32_t)code, kind, (enum ioctl_arch)arch, buf, sizeof(buf));
	vm_type_name(code, ioctl_arch_host(), buf, sizeof(buf));
	sev_cmd_name((uint32_t)code);
	sev_error_name((uint32_t)code);
	tdx_cmd_name((uint32_t)code);
	pv_cmd_name((uint32_t)code);
	pv_rc_meaning((uint16_t)code);
	arm_target_name((uint32_t)code);
	arm_vcpu_features_text((uint32_t)code, buf, sizeof(buf));
	kvm_cap_name((uint32_t)code);
	ioctl_result_name((int)code, buf, sizeof(buf));
	/* A name a client sent, as a filter. */
	name = fuzz_string(data, size);
	isa_from_name(name);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		decode_table_find_name(tables[i], name);
	ioctl_number(name, ioctl_arch_host());
	free(name);
	return 0;
}
