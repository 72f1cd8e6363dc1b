// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exit-reason names: known codes, unknown codes shown as numbers, the arm64
 * packing, and every table checked entry by entry, in both directions,
 * against the reference kvm-decode.md (§3.1-§3.5, §5.2).
 */
#include "unit.h"

#include <ctype.h>
#include <inttypes.h>

#include "decode.h"
#include "reference.h"
#include "kvmscope/exits.h"


/* Every table decode_table() knows, and the fewest entries each must have. */
static const struct {
	const char *which;
	size_t min_entries;
} all_tables[] = {
	{ "kvm", 44 },
	{ "vmx", 70 },
	{ "svm", 110 },
	{ "svm_vmgexit", 14 },
	{ "ghcb_msr", 17 },
	{ "arm64_exception", 5 },
	{ "arm64_esr_ec", 45 },
	{ "s390", 21 },
	{ "vmware_backdoor", 104 },
};

static const char *hw(uint32_t isa, uint32_t code)
{
	static char buf[DECODE_NAME_MAX];

	return hw_exit_name(isa, code, buf, sizeof(buf));
}

static const char *kvm(uint32_t code)
{
	static char buf[DECODE_NAME_MAX];

	return kvm_exit_name(code, buf, sizeof(buf));
}

static const char *named(const char *which, uint64_t code)
{
	static char buf[DECODE_NAME_MAX];

	return decode_name(which, code, buf, sizeof(buf));
}

static uint32_t arm64(uint32_t ret, uint32_t esr_ec)
{
	return arm64_exit_reason(ret, esr_ec);
}

static void test_isa_names(void **state)
{
	assert_string_equal(isa_name(KVMSCOPE_ISA_VMX), "vmx");
	assert_string_equal(isa_name(KVMSCOPE_ISA_SVM), "svm");
	assert_string_equal(isa_name(KVMSCOPE_ISA_ARM64), "arm64");
	assert_string_equal(isa_name(KVMSCOPE_ISA_S390), "s390");
	assert_string_equal(isa_name(KVMSCOPE_ISA_UNKNOWN), "unknown");
	assert_string_equal(isa_name(7), "unknown");

	assert_int_equal(isa_from_name("vmx"), KVMSCOPE_ISA_VMX);
	assert_int_equal(isa_from_name("svm"), KVMSCOPE_ISA_SVM);
	assert_int_equal(isa_from_name("arm64"), KVMSCOPE_ISA_ARM64);
	assert_int_equal(isa_from_name("s390"), KVMSCOPE_ISA_S390);
	/* "unknown" is what isa_name() prints, not an ISA one can ask for. */
	assert_int_equal(isa_from_name("unknown"), -1);
	assert_int_equal(isa_from_name("VMX"), -1);
	assert_int_equal(isa_from_name(""), -1);
}

static void test_svm_known_names(void **state)
{
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x7b), "io");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x78), "hlt");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x400), "npf");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x401), "avic_incomplete_ipi");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x402), "avic_unaccelerated_access");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x403), "vmgexit");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x04e), "PF excp");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x000), "read_cr0");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x081), "hypercall");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x0a6), "idle-halt");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0xf0000000), "sw");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0xffffffff), "invalid_guest_state");
	assert_string_equal(decode_svm_exit(0x07c), "msr");
	assert_null(decode_svm_exit(0x042));
}

static void test_svm_vmgexit_and_ghcb_msr_names(void **state)
{
	assert_string_equal(decode_svm_vmgexit(0x80000001), "vmgexit_mmio_read");
	assert_string_equal(decode_svm_vmgexit(0x80000010), "vmgexit_page_state_change");
	assert_string_equal(decode_svm_vmgexit(0x8000fffd), "vmgexit_hypervisor_feature");
	assert_string_equal(decode_svm_vmgexit(0x8000fffe), "vmgexit_term_request");
	assert_null(decode_svm_vmgexit(0x80000006));
	/* sw_exit_code is 64 bits: a high half must not be ignored. */
	assert_null(decode_svm_vmgexit(0x100000000ull | 0x80000001));
	/* A hardware exit code forwarded through the GHCB is not a VMGEXIT code. */
	assert_null(decode_svm_vmgexit(0x7b));
	assert_string_equal(named("svm_vmgexit", 0x80000019), "0x80000019");
	assert_string_equal(named("svm_vmgexit", 0x180000001ull), "0x180000001");

	assert_string_equal(decode_ghcb_msr_request(0x002), "SEV_INFO_REQ");
	assert_string_equal(decode_ghcb_msr_request(0x014), "PSC_REQ");
	assert_string_equal(decode_ghcb_msr_request(0x100), "TERM_REQ");
	assert_null(decode_ghcb_msr_request(0x003));
	assert_string_equal(named("ghcb_msr", 0x3), "0x3");
}

static void test_vmx_known_names(void **state)
{
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 30), "IO_INSTRUCTION");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 12), "HLT");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0), "EXCEPTION_NMI");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 48), "EPT_VIOLATION");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 85), "MSR_WRITE_IMM");
	/* Intel reasons Linux does not define; names from the reference's Fuchsia list. */
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 5), "IO_SMI");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 69), "LOADIWKEY");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x80000021), "FAILED_VMENTRY|INVALID_STATE");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x80000022), "FAILED_VMENTRY|MSR_LOAD_FAIL");
	/* Bits 16..30 are flags (e.g. 27, enclave mode): the basic reason still names it. */
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x0800001e), "IO_INSTRUCTION");
	assert_string_equal(decode_vmx_basic_reason(77), "TDCALL");
	assert_null(decode_vmx_basic_reason(0x8000001e));
}

static void test_kvm_known_names(void **state)
{
	assert_string_equal(kvm(0), "UNKNOWN");
	assert_string_equal(kvm(2), "IO");
	assert_string_equal(kvm(5), "HLT");
	assert_string_equal(kvm(6), "MMIO");
	assert_string_equal(kvm(8), "SHUTDOWN");
	assert_string_equal(kvm(17), "INTERNAL_ERROR");
	assert_string_equal(kvm(43), "SNP_REQ_CERTS");
	assert_string_equal(decode_kvm_exit(28), "ARM_NISV");
}

/*
 * A KVM_RUN that failed: named as the kernel prints kvm_userspace_exit
 * with errno < 0 ("restart" for EINTR, else "error"), with the errno's
 * name, never as the stale reason the tracepoint carries.
 */
static void test_kvm_run_errors(void **state)
{
	char buf[8];

	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | EINTR), "restart");
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | EFAULT), "error:EFAULT");
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | EINVAL), "error:EINVAL");
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | ENOEXEC), "error:ENOEXEC");
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | EAGAIN), "error:EAGAIN");
	/* An errno without a name is its number; MAX_ERRNO is the last errno. */
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | 4000), "error:4000");
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | KVMSCOPE_USER_ERROR_MAX_ERRNO),
			    "error:4095");
	/* Past it, or errno 0, no KVM_RUN made the code: a number, as unknown codes. */
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE), "2147483648");
	assert_string_equal(kvm(KVMSCOPE_USER_ERROR_BASE | 4096), "2147487744");
	/* Without the base, the number is a KVM_EXIT_* reason: 4 is DEBUG. */
	assert_string_equal(kvm(EINTR), "DEBUG");
	assert_ptr_equal(kvm_exit_name(KVMSCOPE_USER_ERROR_BASE | EFAULT, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "error:E");
}

static void test_arm64_names(void **state)
{
	assert_string_equal(decode_arm64_exception(ARM64_EXCEPTION_TRAP), "TRAP");
	assert_string_equal(decode_arm64_exception(ARM64_EXCEPTION_HYP_GONE), "HYP_GONE");
	assert_string_equal(decode_arm64_esr_ec(0x24), "DABT_LOW");
	assert_string_equal(decode_arm64_esr_ec(0x16), "HVC64");
	assert_string_equal(decode_arm64_esr_ec(0x01), "WFx");
	assert_null(decode_arm64_esr_ec(0x3f));

	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, 0x24)),
			    "TRAP/DABT_LOW");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, 0x16)), "TRAP/HVC64");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, 0x00)),
			    "TRAP/UNKNOWN");
	/* Not a trap: the class is stale, the tracepoint stores 0, so do we. */
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_IRQ, 0x24)), "IRQ");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_EL1_SERROR, 0)), "SERROR");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_IL, 0)), "IL");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_HYP_GONE, 0x16)),
			    "HYP_GONE");
	/* The SError flag is not part of the type. */
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64,
			       arm64(ARM64_EXIT_WITH_SERROR_BIT | ARM64_EXCEPTION_TRAP, 0x24)),
			    "TRAP/DABT_LOW");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXIT_WITH_SERROR_BIT, 0)), "IRQ");
}

static void test_s390_and_backdoor_names(void **state)
{
	assert_string_equal(hw(KVMSCOPE_ISA_S390, 0x04), "Instruction");
	assert_string_equal(hw(KVMSCOPE_ISA_S390, 0x1c), "Wait state");
	assert_string_equal(hw(KVMSCOPE_ISA_S390, 0x00), "Host interruption");
	assert_string_equal(hw(KVMSCOPE_ISA_S390, 0x6c), "PV_NOTIFY");
	assert_string_equal(decode_s390_intercept(0x40), "I/O instruction");
	assert_null(decode_s390_intercept(0x24));

	assert_string_equal(decode_vmware_backdoor_command(10), "GETVERSION");
	assert_string_equal(decode_vmware_backdoor_command(30), "MESSAGE");
	assert_string_equal(decode_vmware_backdoor_command(45), "GETHZ");
	assert_string_equal(decode_vmware_backdoor_command(104), "GET_FWTRCLOG_MASK");
	assert_null(decode_vmware_backdoor_command(0));
	assert_null(decode_vmware_backdoor_command(105));
	/* The caller passes ECX & 0xffff; a sub-command in ECX[31:16] is not a command. */
	assert_null(decode_vmware_backdoor_command(0x1001e));
	assert_string_equal(named("vmware_backdoor", 105), "105");
}

static void test_unknown_codes_are_numbers(void **state)
{
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x12345), "0x12345");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x001), "0x1");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x042), "0x42");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 999), "999");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 35), "35");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x80000000 | 999), "FAILED_VMENTRY|999");
	assert_string_equal(kvm(200), "200");
	assert_string_equal(kvm(44), "44");
	assert_string_equal(kvm(0xffffffff), "4294967295");
	assert_string_equal(hw(KVMSCOPE_ISA_S390, 0x4c), "0x4c");
	assert_string_equal(hw(KVMSCOPE_ISA_S390, 0xff), "0xff");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, 0x3f)),
			    "TRAP/ec 0x3f");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(5, 0)), "ret 0x5");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(0x123456, 0)), "ret 0x123456");
	/* Reasons arm64_exit_reason() never makes still keep every bit visible. */
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, 0x16), "IRQ/HVC64");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, 0x053f), "ret 0x5/ec 0x3f");
	assert_string_equal(named("arm64_esr_ec", 0x3f), "ec 0x3f");
	assert_string_equal(named("arm64_exception", 7), "ret 0x7");
	/* No table for these ISAs: even a code that means something on x86 stays a number. */
	assert_string_equal(hw(7, 0x7b), "0x7b");
	assert_string_equal(hw(7, 30), "0x1e");
	assert_string_equal(hw(KVMSCOPE_ISA_UNKNOWN, 12), "0xc");
	assert_string_equal(named("no_such_table", 12), "0xc");
}

/* Each table: a code with no entry is never NULL, never another entry's name. */
static void test_every_table_names_unknown_codes(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_tables); i++) {
		const struct reason_name *t;
		size_t n;
		uint64_t code;

		t = decode_table(all_tables[i].which, &n);
		/* The first code after the last entry is unknown (tables are sorted). */
		code = (uint64_t)t[n - 1].code + 1;
		if (code > UINT32_MAX)
			code = 0x7fff;
		for (size_t j = 0; j < n; j++)
			if (t[j].code == code)
				fail_msg("table %s: pick another unknown code than 0x%" PRIx64,
					 all_tables[i].which, code);
		for (size_t j = 0; j < n; j++)
			if (!strcmp(named(all_tables[i].which, code), t[j].name))
				fail_msg("table %s: unknown code 0x%" PRIx64 " named %s",
					 all_tables[i].which, code, t[j].name);
		if (!strchr("0123456789", named(all_tables[i].which, code)[0]) &&
		    !strstr(named(all_tables[i].which, code), " 0x"))
			fail_msg("table %s: unknown code 0x%" PRIx64 " rendered as \"%s\"",
				 all_tables[i].which, code, named(all_tables[i].which, code));
	}
}

static void test_arm64_packing_round_trips(void **state)
{
	const struct reason_name *t;
	size_t n;

	t = decode_table("arm64_exception", &n);
	for (size_t i = 0; i < n; i++) {
		uint32_t ret = t[i].code;

		for (uint32_t ec = 0; ec <= 0x3f; ec++) {
			uint32_t want_ec = ret == ARM64_EXCEPTION_TRAP ? ec : 0;
			uint32_t reason = arm64(ret, ec);

			if (arm64_exit_reason_ret(reason) != ret ||
			    arm64_exit_reason_esr_ec(reason) != want_ec)
				fail_msg("arm64 (ret 0x%x, ec 0x%x) packs to 0x%x, unpacks to "
					 "(0x%x, 0x%x)", ret, ec, reason,
					 arm64_exit_reason_ret(reason),
					 arm64_exit_reason_esr_ec(reason));
			/* The SError flag packs to the same reason. */
			assert_int_equal(arm64(ret | ARM64_EXIT_WITH_SERROR_BIT, ec), reason);
		}
	}
	/* The documented layout, which BPF code must reproduce. */
	assert_int_equal(arm64(ARM64_EXCEPTION_TRAP, 0x24), 0x224);
	assert_int_equal(arm64(ARM64_EXCEPTION_IRQ, 0x24), 0x000);
	assert_int_equal(arm64(ARM64_EXCEPTION_IL, 0x24), 0x300);
	/* ret keeps 22 bits: bits 31:30 hold the exception level (unknown here). */
	assert_int_equal(arm64(ARM64_EXCEPTION_HYP_GONE, 0), 0x2dca1100);
	/* The class is 6 bits of ESR: wider input must not spill into ret. */
	assert_int_equal(arm64(ARM64_EXCEPTION_TRAP, 0x1e4), 0x224);

	/* Every (type, class) pair has its own name: none merged. */
	for (uint32_t ec_a = 0; ec_a <= 0x3f; ec_a++) {
		char a[DECODE_NAME_MAX], b[DECODE_NAME_MAX];

		hw_exit_name(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, ec_a), a, sizeof(a));
		for (uint32_t ec_b = ec_a + 1; ec_b <= 0x3f; ec_b++) {
			hw_exit_name(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, ec_b), b,
				     sizeof(b));
			if (!strcmp(a, b))
				fail_msg("classes 0x%x and 0x%x are both named %s", ec_a, ec_b, a);
		}
	}
}

/*
 * Live arm64 exits carry the guest's exception level (bits 31:30): named
 * with a suffix, kept apart in the slots' dense index, and round-tripped.
 */
static void test_arm64_exception_levels(void **state)
{
	char name[DECODE_NAME_MAX];
	uint32_t r;

	r = kvmscope_arm64_reason(ARM64_EXCEPTION_TRAP, 0x24, KVMSCOPE_ARM64_EL0);
	assert_int_equal(r, 0x40000224);
	assert_int_equal(arm64_exit_reason_ret(r), ARM64_EXCEPTION_TRAP);
	assert_int_equal(arm64_exit_reason_esr_ec(r), 0x24);
	assert_int_equal(arm64_exit_reason_el(r), KVMSCOPE_ARM64_EL0);
	assert_string_equal(hw_exit_name(KVMSCOPE_ISA_ARM64, r, name, sizeof(name)),
			    "TRAP/DABT_LOW@EL0");
	r = kvmscope_arm64_reason(ARM64_EXCEPTION_TRAP, 0x16, KVMSCOPE_ARM64_EL2);
	assert_string_equal(hw_exit_name(KVMSCOPE_ISA_ARM64, r, name, sizeof(name)),
			    "TRAP/HVC64@vEL2");
	r = kvmscope_arm64_reason(ARM64_EXCEPTION_IRQ, 0x24, KVMSCOPE_ARM64_EL1);
	assert_string_equal(hw_exit_name(KVMSCOPE_ISA_ARM64, r, name, sizeof(name)), "IRQ@EL1");
	/* A recorded trace has no level: the name is as before. */
	assert_string_equal(hw_exit_name(KVMSCOPE_ISA_ARM64, arm64_exit_reason(2, 0x24), name,
					 sizeof(name)), "TRAP/DABT_LOW");

	/* PSTATE: AArch64 M[3:2], AArch32 modes. */
	assert_int_equal(kvmscope_arm64_el_of_pstate(0x3c5), KVMSCOPE_ARM64_EL1);	/* EL1h */
	assert_int_equal(kvmscope_arm64_el_of_pstate(0x3c4), KVMSCOPE_ARM64_EL1);	/* EL1t */
	assert_int_equal(kvmscope_arm64_el_of_pstate(0x0), KVMSCOPE_ARM64_EL0);	/* EL0t */
	assert_int_equal(kvmscope_arm64_el_of_pstate(0x3c9), KVMSCOPE_ARM64_EL2);	/* EL2h */
	assert_int_equal(kvmscope_arm64_el_of_pstate(0x10), KVMSCOPE_ARM64_EL0);	/* usr */
	assert_int_equal(kvmscope_arm64_el_of_pstate(0x13), KVMSCOPE_ARM64_EL1);	/* svc */
	assert_int_equal(kvmscope_arm64_el_of_pstate(0x1a), KVMSCOPE_ARM64_EL2);	/* hyp */

	/* Every (level, type, class) a slot holds has an index of its own, and back. */
	for (uint32_t el = 0; el < 4; el++) {
		for (uint32_t ec = 0; ec < 64; ec++) {
			r = kvmscope_arm64_reason(ARM64_EXCEPTION_TRAP, ec, el);
			assert_true(kvmscope_hw_index(KVMSCOPE_ISA_ARM64, r) < KVMSCOPE_SLOT_HW_REASONS);
			assert_int_equal(kvmscope_hw_reason(KVMSCOPE_ISA_ARM64,
							    kvmscope_hw_index(KVMSCOPE_ISA_ARM64, r)), r);
		}
		for (uint32_t type = 0; type < 8; type++) {
			if (type == ARM64_EXCEPTION_TRAP)
				continue;
			r = kvmscope_arm64_reason(type, 0, el);
			assert_true(kvmscope_hw_index(KVMSCOPE_ISA_ARM64, r) < KVMSCOPE_SLOT_HW_REASONS);
			assert_int_equal(kvmscope_hw_reason(KVMSCOPE_ISA_ARM64,
							    kvmscope_hw_index(KVMSCOPE_ISA_ARM64, r)), r);
		}
	}
	/* Distinct, but for 64 + TRAP, which no reason maps to (a trap has its class). */
	for (uint32_t a = 0; a < KVMSCOPE_SLOT_HW_REASONS; a++)
		for (uint32_t b = a + 1; b < KVMSCOPE_SLOT_HW_REASONS; b++)
			if (a % KVMSCOPE_ARM64_PER_EL != 64 + ARM64_EXCEPTION_TRAP &&
			    b % KVMSCOPE_ARM64_PER_EL != 64 + ARM64_EXCEPTION_TRAP)
				assert_int_not_equal(kvmscope_hw_reason(KVMSCOPE_ISA_ARM64, a),
						     kvmscope_hw_reason(KVMSCOPE_ISA_ARM64, b));
	/* HYP_GONE does not fit a slot: the hash maps count it. */
	assert_int_equal(kvmscope_hw_index(KVMSCOPE_ISA_ARM64, arm64_exit_reason(ARM64_EXCEPTION_HYP_GONE, 0)),
			 KVMSCOPE_SLOT_NONE);
}

static void test_short_buffer_truncates(void **state)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	assert_ptr_equal(hw_exit_name(KVMSCOPE_ISA_SVM, 0xffffffff, buf, 4), buf);
	assert_string_equal(buf, "inv");
	assert_int_equal(buf[4], 'X');

	assert_ptr_equal(kvm_exit_name(17, buf, 6), buf);
	assert_string_equal(buf, "INTER");

	assert_ptr_equal(hw_exit_name(KVMSCOPE_ISA_VMX, 0x80000021, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "FAILED_");

	/* The arm64 name is built in two steps: each must respect the bound. */
	memset(buf, 'X', sizeof(buf));
	hw_exit_name(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, 0x24), buf, 6);
	assert_string_equal(buf, "TRAP/");
	assert_int_equal(buf[6], 'X');
	hw_exit_name(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, 0x24), buf, 4);
	assert_string_equal(buf, "TRA");
	hw_exit_name(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, 0x24), buf, 5);
	assert_string_equal(buf, "TRAP");
}

static void test_pio_direction(void **state)
{
	assert_string_equal(pio_direction_name(KVMSCOPE_PIO_IN), "in");
	assert_string_equal(pio_direction_name(KVMSCOPE_PIO_OUT), "out");
}

static void check_table_sane(const char *which, size_t min_entries)
{
	const struct reason_name *t;
	size_t n = 12345;

	t = decode_table(which, &n);
	assert_non_null(t);
	if (n < min_entries)
		fail_msg("table %s has %zu entries, expected at least %zu", which, n, min_entries);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].name);
		assert_non_null(t[i].symbol);
		if (!t[i].name[0] || !t[i].symbol[0])
			fail_msg("table %s: code 0x%x has an empty name or symbol", which,
				 t[i].code);
		if (strlen(t[i].name) >= DECODE_NAME_MAX)
			fail_msg("table %s: name %s does not fit DECODE_NAME_MAX", which,
				 t[i].name);
		if (i && t[i].code <= t[i - 1].code)
			fail_msg("table %s: code 0x%x is not after 0x%x (keep tables sorted)",
				 which, t[i].code, t[i - 1].code);
		/* Names are read back from trace lines: each must mean one code. */
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(t[i].name, t[j].name))
				fail_msg("table %s: name %s is used by 0x%x and 0x%x", which,
					 t[i].name, t[i].code, t[j].code);
		if (decode_table_find_name(which, t[i].name) != &t[i])
			fail_msg("table %s: name %s does not find its own entry", which,
				 t[i].name);
	}
}

static void test_tables_have_sorted_unique_codes_and_names(void **state)
{
	const struct reason_name *vmx, *svm;
	size_t n = 99, n_vmx, n_svm;

	for (size_t i = 0; i < ARRAY_SIZE(all_tables); i++)
		check_table_sane(all_tables[i].which, all_tables[i].min_entries);

	assert_null(decode_table("arm64", &n));
	assert_int_equal(n, 0);
	assert_null(decode_table_find_name("nope", "IO"));
	assert_null(decode_table_find_name("vmx", "io"));

	/* x86 trace lines do not say the isa: the name must, so no name is in both. */
	vmx = decode_table("vmx", &n_vmx);
	svm = decode_table("svm", &n_svm);
	for (size_t i = 0; i < n_vmx; i++)
		for (size_t j = 0; j < n_svm; j++)
			if (!strcmp(vmx[i].name, svm[j].name))
				fail_msg("name %s is both VMX 0x%x and SVM 0x%x", vmx[i].name,
					 vmx[i].code, svm[j].code);
}

/* Every table entry must be reachable through the public lookups and formatters. */
static void test_tables_match_name_functions(void **state)
{
	static const struct {
		const char *which;
		const char *(*lookup)(uint32_t code);
		uint32_t isa;	/* hw_exit_name() takes the code as is; 0: it does not */
	} lookups[] = {
		{ "kvm", decode_kvm_exit, 0 },
		{ "vmx", decode_vmx_basic_reason, KVMSCOPE_ISA_VMX },
		{ "svm", decode_svm_exit, KVMSCOPE_ISA_SVM },
		{ "ghcb_msr", decode_ghcb_msr_request, 0 },
		{ "arm64_exception", decode_arm64_exception, 0 },
		{ "arm64_esr_ec", decode_arm64_esr_ec, 0 },
		{ "s390", decode_s390_intercept, KVMSCOPE_ISA_S390 },
		{ "vmware_backdoor", decode_vmware_backdoor_command, 0 },
	};
	const struct reason_name *t;
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(lookups); i++) {
		t = decode_table(lookups[i].which, &n);
		for (size_t j = 0; j < n; j++) {
			assert_string_equal(lookups[i].lookup(t[j].code), t[j].name);
			assert_string_equal(named(lookups[i].which, t[j].code), t[j].name);
			if (lookups[i].isa)
				assert_string_equal(hw(lookups[i].isa, t[j].code), t[j].name);
		}
	}
	t = decode_table("kvm", &n);
	for (size_t j = 0; j < n; j++)
		assert_string_equal(kvm(t[j].code), t[j].name);
	t = decode_table("svm_vmgexit", &n);
	for (size_t j = 0; j < n; j++)
		assert_string_equal(decode_svm_vmgexit(t[j].code), t[j].name);
	t = decode_table("arm64_esr_ec", &n);
	for (size_t j = 0; j < n; j++) {
		char want[DECODE_NAME_MAX];

		snprintf(want, sizeof(want), "TRAP/%s", t[j].name);
		assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(ARM64_EXCEPTION_TRAP, t[j].code)),
				    want);
	}
	t = decode_table("arm64_exception", &n);
	for (size_t j = 0; j < n; j++)
		if (t[j].code != ARM64_EXCEPTION_TRAP)
			assert_string_equal(hw(KVMSCOPE_ISA_ARM64, arm64(t[j].code, 0)), t[j].name);
}

/* One row of a reference table. */
struct reference_row {
	uint32_t code;
	char symbol[96];
	char name[96];		/* the name the table must give the code */
};

struct reference_table {
	struct reference_row rows[256];
	size_t n;
	size_t ranges_expanded;
	size_t flags_skipped;
};

/* Split "| a | b | c |" into trimmed cells; returns the number of cells. */
static size_t split_row(const char *line, char cells[][256], size_t max_cells)
{
	return reference_split_row(line, &cells[0][0], sizeof(cells[0]), max_cells);
}

/* A whole-cell number: decimal, 0x hex, or -1 (SVM_EXIT_ERR, 32 bits wide). */
static int parse_code(const char *cell, uint32_t *code)
{
	char *end;
	long long v;

	if (!strcmp(cell, "-1")) {
		*code = 0xffffffffu;
		return 0;
	}
	if (!isdigit((unsigned char)cell[0]))
		return -EINVAL;
	errno = 0;
	v = strtoll(cell, &end, 0);
	if (errno || *end || v < 0 || v > 0xffffffffLL)
		return -EINVAL;
	*code = (uint32_t)v;
	return 0;
}

/* "0x040-0x05f": a computed range (SVM_EXIT_EXCP_BASE + vector), not one entry. */
static bool is_code_range(const char *cell)
{
	char *end;

	strtoul(cell, &end, 0);
	if (end == cell || *end != '-')
		return false;
	cell = end + 1;
	strtoul(cell, &end, 0);
	return end != cell && !*end;
}

enum reference_kind {
	REFERENCE_KVM,
	REFERENCE_VMX,
	REFERENCE_SVM,
	REFERENCE_SVM_VMGEXIT,
	REFERENCE_GHCB_MSR,
	REFERENCE_ARM64_EXCEPTION,
	REFERENCE_ARM64_ESR_EC,
	REFERENCE_S390,
	REFERENCE_VMWARE_BACKDOOR,
};

static struct reference_row *new_row(struct reference_table *out, const char *heading)
{
	if (out->n == ARRAY_SIZE(out->rows))
		fail_msg("section \"%s\": more rows than the test can hold", heading);
	return &out->rows[out->n++];
}

/*
 * The SVM row "0x040-0x05f" lists its named vectors as "DE 0x40, DB 0x41, ...
 * ("<X> excp")": one row per vector, symbol SVM_EXIT_EXCP_BASE + <X>_VECTOR.
 */
static void expand_exception_range(const char *cell, struct reference_table *out)
{
	const char *p = cell;
	char vec[8];
	unsigned int code;
	int used;

	while (sscanf(p, " %7[A-Z] 0x%x%n", vec, &code, &used) == 2) {
		struct reference_row *row = new_row(out, "3.3");

		row->code = code;
		snprintf(row->symbol, sizeof(row->symbol), "SVM_EXIT_EXCP_BASE + %s_VECTOR", vec);
		snprintf(row->name, sizeof(row->name), "%s excp", vec);
		p += used;
		if (*p != ',')
			break;
		p++;
	}
}

/* @symbol without @prefix, which it must start with. */
static void name_from_symbol(char *name, size_t len, const char *symbol, const char *prefix,
			     bool lower)
{
	size_t n = strlen(prefix);

	if (strncmp(symbol, prefix, n) || !symbol[n])
		fail_msg("reference symbol \"%s\" does not start with %s", symbol, prefix);
	reference_copy_cell(name, len, symbol + n);
	for (char *c = name; lower && *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

/* The first word of a cell: "BDOOR_CMD_HOSTCOPY (commented out)" is BDOOR_CMD_HOSTCOPY. */
static void first_word(char *dst, size_t len, const char *cell)
{
	size_t n = strcspn(cell, " ");

	if (n >= len)
		fail_msg("reference cell \"%s\" has a first word too long", cell);
	memcpy(dst, cell, n);
	dst[n] = '\0';
}

/*
 * Fill @row's symbol and the name the table must use, from the cells after
 * the code.  Where the kernel prints a string for the code, that string;
 * else the symbol without its prefix, as decode.c's table comments say.
 */
static void fill_row(enum reference_kind kind, const char *heading, char cells[][256],
		     struct reference_row *row)
{
	switch (kind) {
	case REFERENCE_KVM:
		reference_copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
		name_from_symbol(row->name, sizeof(row->name), cells[1], "KVM_EXIT_", false);
		break;
	case REFERENCE_VMX: {
		uint32_t hex;

		if (parse_code(cells[1], &hex) < 0 || hex != row->code)
			fail_msg("section \"%s\": dec %s and hex %s disagree", heading, cells[0],
				 cells[1]);
		reference_copy_cell(row->symbol, sizeof(row->symbol), cells[2]);
		name_from_symbol(row->name, sizeof(row->name), cells[2], "EXIT_REASON_", false);
		break;
	}
	case REFERENCE_SVM:
		reference_copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
		/* "-": the kernel's SVM_EXIT_REASONS has no string for it. */
		if (strcmp(cells[2], "-"))
			reference_copy_cell(row->name, sizeof(row->name), cells[2]);
		else
			name_from_symbol(row->name, sizeof(row->name), cells[1], "SVM_EXIT_", true);
		break;
	case REFERENCE_SVM_VMGEXIT:
		reference_copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
		if (strcmp(cells[2], "-"))
			reference_copy_cell(row->name, sizeof(row->name), cells[2]);
		else
			name_from_symbol(row->name, sizeof(row->name), cells[1], "SVM_", true);
		break;
	case REFERENCE_GHCB_MSR:
		reference_copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
		name_from_symbol(row->name, sizeof(row->name), cells[1], "GHCB_MSR_", false);
		break;
	case REFERENCE_ARM64_EXCEPTION:
		/* "ARM_EXCEPTION_HYP_GONE (= HVC_STUB_ERR)" */
		first_word(row->symbol, sizeof(row->symbol), cells[1]);
		/* "(not in kvm_arm_exception_type; numeric)" */
		if (cells[2][0] != '(')
			reference_copy_cell(row->name, sizeof(row->name), cells[2]);
		else
			name_from_symbol(row->name, sizeof(row->name), row->symbol,
					 "ARM_EXCEPTION_", false);
		break;
	case REFERENCE_ARM64_ESR_EC:
		reference_copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
		/* kvm_arm_exception_class is ECN(x) = { ESR_ELx_EC_##x, #x }. */
		name_from_symbol(row->name, sizeof(row->name), cells[1], "ESR_ELx_EC_", false);
		break;
	case REFERENCE_S390:
		reference_copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
		/* "- (printed numerically)": sie_intercept_code has no string. */
		if (cells[2][0] != '-')
			reference_copy_cell(row->name, sizeof(row->name), cells[2]);
		else
			name_from_symbol(row->name, sizeof(row->name), cells[1], "ICPT_", false);
		break;
	case REFERENCE_VMWARE_BACKDOOR:
		first_word(row->symbol, sizeof(row->symbol), cells[1]);
		name_from_symbol(row->name, sizeof(row->name), row->symbol, "BDOOR_CMD_", false);
		break;
	}
}

/*
 * Parse the first table under @heading: rows after the "|---" separator
 * until the first line that is not a table row.
 */
static void parse_reference_section(const char *text, const char *heading,
				    enum reference_kind kind, struct reference_table *out)
{
	const char *line = strstr(text, heading);
	bool in_rows = false;

	memset(out, 0, sizeof(*out));
	if (!line)
		fail_msg("reference has no section \"%s\"", heading);
	for (line = strchr(line, '\n'); line && *++line; line = strchr(line, '\n')) {
		char cells[8][256];
		struct reference_row *row;
		uint32_t code;
		size_t n;

		if (line[0] == '#')
			break;
		if (line[0] != '|') {
			if (in_rows)
				break;
			continue;
		}
		if (!strncmp(line, "|---", 4)) {
			in_rows = true;
			continue;
		}
		if (!in_rows)
			continue;
		n = split_row(line, cells, ARRAY_SIZE(cells));
		if (n < 3)
			fail_msg("section \"%s\": row with %zu cells: %.80s", heading, n, line);
		if (parse_code(cells[0], &code) < 0) {
			if (kind == REFERENCE_SVM && is_code_range(cells[0])) {
				expand_exception_range(cells[2], out);
				out->ranges_expanded++;
				continue;
			}
			/* "bit 31 | ARM_EXIT_WITH_SERROR_BIT | flag ...": not a code. */
			if (kind == REFERENCE_ARM64_EXCEPTION && !strncmp(cells[0], "bit ", 4)) {
				out->flags_skipped++;
				continue;
			}
			fail_msg("section \"%s\": value \"%s\" is not a number", heading, cells[0]);
		}
		row = new_row(out, heading);
		row->code = code;
		fill_row(kind, heading, cells, row);
	}
	if (out->n == 0)
		fail_msg("section \"%s\": no table rows found", heading);
}

/*
 * §3.2 ends with the Intel basic reasons Linux lacks, as prose: "...(names
 * from FUCHSIA vmexit_priv.h, not from Linux): 5 IO_SMI, 11 GETSEC, ...".
 * Their only symbol is that name.
 */
static size_t parse_vmx_reasons_not_in_linux(const char *text, struct reference_table *out)
{
	static const char marker[] = "not from Linux): ";
	const char *section = strstr(text, "### 3.2 ");
	const char *end = section ? strstr(section, "\n### ") : NULL;
	const char *p = section ? strstr(section, marker) : NULL;
	size_t added = 0;
	unsigned int code;
	char name[96];
	int used;

	if (!p || (end && p > end))
		fail_msg("§3.2 of the reference has no list of reasons \"%s...\"", marker);
	p += strlen(marker);
	while (sscanf(p, "%u %95[A-Z0-9_]%n", &code, name, &used) == 2) {
		struct reference_row *row = new_row(out, "3.2 (not in Linux)");

		row->code = code;
		reference_copy_cell(row->symbol, sizeof(row->symbol), name);
		reference_copy_cell(row->name, sizeof(row->name), name);
		added++;
		p += used;
		if (strncmp(p, ", ", 2))
			break;
		p += 2;
	}
	if (*p != '.')
		fail_msg("§3.2: the list of reasons not in Linux does not end where expected: %.40s",
			 p);
	return added;
}

static const struct reference_row *find_reference_row(const struct reference_table *ref,
						      uint32_t code)
{
	for (size_t i = 0; i < ref->n; i++)
		if (ref->rows[i].code == code)
			return &ref->rows[i];
	return NULL;
}

static void check_against_reference(const char *which, const struct reference_table *ref)
{
	const struct reason_name *t;
	size_t n;

	t = decode_table(which, &n);
	assert_non_null(t);
	for (size_t i = 0; i < ref->n; i++) {
		const struct reference_row *row = &ref->rows[i];
		const struct reason_name *e = NULL;

		if (find_reference_row(ref, row->code) != row)
			fail_msg("reference for %s lists code 0x%x twice", which, row->code);
		for (size_t j = 0; j < n; j++)
			if (t[j].code == row->code)
				e = &t[j];
		if (!e)
			fail_msg("%s table: no entry for reference row 0x%x %s", which, row->code,
				 row->symbol);
		if (strcmp(e->symbol, row->symbol))
			fail_msg("%s table: code 0x%x is %s, reference says %s", which, row->code,
				 e->symbol, row->symbol);
		if (strcmp(e->name, row->name))
			fail_msg("%s table: code 0x%x (%s) is named \"%s\", reference says \"%s\"",
				 which, row->code, row->symbol, e->name, row->name);
	}
	for (size_t j = 0; j < n; j++) {
		const struct reference_row *row = find_reference_row(ref, t[j].code);

		if (!row || strcmp(row->symbol, t[j].symbol))
			fail_msg("%s table: entry 0x%x %s is not in the reference", which,
				 t[j].code, t[j].symbol);
	}
	if (n != ref->n)
		fail_msg("%s table has %zu entries, reference has %zu rows", which, n, ref->n);
}

static void test_tables_match_reference(void **state)
{
	static const struct {
		const char *heading;
		enum reference_kind kind;
		const char *which;
	} sections[] = {
		{ "### 3.1 KVM_EXIT_*", REFERENCE_KVM, "kvm" },
		{ "### 3.2 Intel VMX basic exit reasons", REFERENCE_VMX, "vmx" },
		{ "### 3.3 AMD SVM exit codes", REFERENCE_SVM, "svm" },
		{ "#### 3.3.1 SEV-ES/SNP VMGEXIT", REFERENCE_SVM_VMGEXIT, "svm_vmgexit" },
		{ "#### 3.3.2 GHCB MSR protocol", REFERENCE_GHCB_MSR, "ghcb_msr" },
		{ "#### 3.4.1 ESR_ELx exception classes", REFERENCE_ARM64_ESR_EC, "arm64_esr_ec" },
		{ "#### 3.4.2 ARM_EXCEPTION_*", REFERENCE_ARM64_EXCEPTION, "arm64_exception" },
		{ "#### 3.5.1 SIE intercept codes", REFERENCE_S390, "s390" },
		{ "### 5.2 Low-bandwidth command numbers", REFERENCE_VMWARE_BACKDOOR,
		  "vmware_backdoor" },
	};
	struct reference_table *ref = malloc(sizeof(*ref));
	char *text = reference_read();

	assert_non_null(ref);
	/* Every table is covered by a section, and only once. */
	assert_int_equal(ARRAY_SIZE(sections), ARRAY_SIZE(all_tables));

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		parse_reference_section(text, sections[i].heading, sections[i].kind, ref);
		switch (sections[i].kind) {
		case REFERENCE_VMX:
			if (!parse_vmx_reasons_not_in_linux(text, ref))
				fail_msg("§3.2: no reasons listed as not in Linux");
			break;
		case REFERENCE_SVM:
			/* Only the exception-vector row 0x040-0x05f is a range. */
			assert_int_equal(ref->ranges_expanded, 1);
			break;
		case REFERENCE_ARM64_EXCEPTION:
			/* The SError flag row, which is not a code. */
			assert_int_equal(ref->flags_skipped, 1);
			break;
		default:
			break;
		}
		check_against_reference(sections[i].which, ref);
	}

	free(ref);
	free(text);
}

/*
 * §3.1 lists the KVM_HC_* numbers inline: "VAPIC_POLL_IRQ 1, MMU_OP 2, ...
 * (include/uapi/linux/kvm_para.h)".  Both directions, like the tables.
 */
static void test_kvm_hc_matches_reference(void **state)
{
	char *text = reference_read(), *line, *end, *p;
	const struct reason_name *t;
	size_t n, found = 0;

	line = strstr(text, "| KVM_HC_* ");
	assert_non_null(line);
	end = strchr(line, '\n');
	assert_non_null(end);
	*end = '\0';
	p = strchr(line + 2, '|');
	assert_non_null(p);
	t = decode_table("kvm_hc", &n);
	assert_non_null(t);
	check_table_sane("kvm_hc", 12);
	for (p++; *p && *p != '(';) {
		char name[64];
		unsigned int code;
		int used;

		while (*p == ' ' || *p == ',')
			p++;
		if (sscanf(p, "%63[A-Z0-9_] %u%n", name, &code, &used) != 2)
			break;
		p += used;
		if (!decode_kvm_hypercall(code))
			fail_msg("KVM_HC_%s %u is in the reference, not in the table", name, code);
		if (strcmp(decode_kvm_hypercall(code), name))
			fail_msg("KVM_HC %u: table says %s, reference %s", code,
				 decode_kvm_hypercall(code), name);
		found++;
	}
	if (found != n)
		fail_msg("kvm_hc table has %zu entries, the reference lists %zu", n, found);
	assert_null(decode_kvm_hypercall(0));
	assert_null(decode_kvm_hypercall(1ULL << 32 | 1));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isa_names),
		cmocka_unit_test(test_svm_known_names),
		cmocka_unit_test(test_svm_vmgexit_and_ghcb_msr_names),
		cmocka_unit_test(test_vmx_known_names),
		cmocka_unit_test(test_kvm_known_names),
		cmocka_unit_test(test_kvm_run_errors),
		cmocka_unit_test(test_arm64_names),
		cmocka_unit_test(test_s390_and_backdoor_names),
		cmocka_unit_test(test_unknown_codes_are_numbers),
		cmocka_unit_test(test_every_table_names_unknown_codes),
		cmocka_unit_test(test_arm64_packing_round_trips),
		cmocka_unit_test(test_arm64_exception_levels),
		cmocka_unit_test(test_short_buffer_truncates),
		cmocka_unit_test(test_pio_direction),
		cmocka_unit_test(test_tables_have_sorted_unique_codes_and_names),
		cmocka_unit_test(test_tables_match_name_functions),
		cmocka_unit_test(test_tables_match_reference),
		cmocka_unit_test(test_kvm_hc_matches_reference),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
