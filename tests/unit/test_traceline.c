// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exit events from text trace lines, and recorded traces replayed through
 * the parser and the decode tables: each decoded name must be counted
 * exactly as often as the recording's .expect file says.
 */
#include "unit.h"


#include "decode.h"
#include "kvmscope/exits.h"
#include "traceline.h"

/* Relative to the project root, where tests/run starts the suites. */
#define DEFAULT_FIXTURES "tests/unit/fixtures"

#define TRACE_PIPE_PREFIX "  kvmscope-guest-1234  [001] d..1.  5678.123456: "
#define PERF_SCRIPT_PREFIX "kvmscope-guest  1234 [001]  5678.123456: "

static struct traceline_exit parse_ok(const char *line)
{
	struct traceline_exit parsed;
	int r;

	memset(&parsed, 0xa5, sizeof(parsed));
	r = traceline_parse_exit(line, &parsed);
	if (r < 0)
		fail_msg("line does not parse (%s): %s", strerror(-r), line);
	return parsed;
}

static void assert_parse_fails(const char *line, int error)
{
	struct traceline_exit parsed;
	int r = traceline_parse_exit(line, &parsed);

	if (r != -error)
		fail_msg("expected %s, got %d, for: %s", strerror(error), r, line);
}

static const char *name_of(const struct traceline_exit *parsed)
{
	static char buf[DECODE_NAME_MAX];

	return hw_exit_name(parsed->isa, parsed->reason, buf, sizeof(buf));
}

static void test_arm64_kvm_exit(void **state)
{
	struct traceline_exit e;

	/* The print format of §3.4.3, with trace_pipe's prefix. */
	e = parse_ok(TRACE_PIPE_PREFIX
		     "kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0000000000400010");
	assert_int_equal(e.isa, KVMSCOPE_ISA_ARM64);
	assert_int_equal(e.reason, arm64_exit_reason(ARM64_EXCEPTION_TRAP, 0x24));
	assert_int_equal(e.vcpu, KVMSCOPE_VCPU_UNKNOWN);
	assert_int_equal(e.pc, 0x400010);
	assert_string_equal(name_of(&e), "TRAP/DABT_LOW");

	/* Without the comma, as the line is often quoted. */
	e = parse_ok("kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW) PC: 0x0000000000400010");
	assert_string_equal(name_of(&e), "TRAP/DABT_LOW");

	e = parse_ok(PERF_SCRIPT_PREFIX
		     "kvm:kvm_exit: TRAP: HSR_EC: 0x0016 (HVC64), PC: 0x0000000000400024");
	assert_string_equal(name_of(&e), "TRAP/HVC64");
	assert_int_equal(e.pc, 0x400024);

	e = parse_ok("kvm_exit: IRQ: HSR_EC: 0x0000 (UNKNOWN), PC: 0xffff800008012345");
	assert_int_equal(e.reason, arm64_exit_reason(ARM64_EXCEPTION_IRQ, 0));
	assert_string_equal(name_of(&e), "IRQ");
	assert_int_equal(e.pc, 0xffff800008012345ull);

	e = parse_ok("kvm_exit: SERROR: HSR_EC: 0x0000 (UNKNOWN), PC: 0x0000000000400000");
	assert_string_equal(name_of(&e), "SERROR");
	e = parse_ok("kvm_exit: HYP_GONE: HSR_EC: 0x0000 (UNKNOWN), PC: 0x0000000000000000");
	assert_string_equal(name_of(&e), "HYP_GONE");
	/* kvm_arm_exception_type has no IL: __print_symbolic() prints the number. */
	e = parse_ok("kvm_exit: 0x3: HSR_EC: 0x0000 (UNKNOWN), PC: 0x0000000000400000");
	assert_string_equal(name_of(&e), "IL");
	/* A class kvm_arm_exception_class lacks is printed as a number too. */
	e = parse_ok("kvm_exit: TRAP: HSR_EC: 0x0012 (0x12), PC: 0x0000000000008000");
	assert_string_equal(name_of(&e), "TRAP/HVC32");
	e = parse_ok("kvm_exit: TRAP: HSR_EC: 0x003f (0x3f), PC: 0x0000000000008000");
	assert_string_equal(name_of(&e), "TRAP/ec 0x3f");
}

static void test_s390_sie_exit(void **state)
{
	struct traceline_exit e;

	e = parse_ok(" qemu-system-s39-4243    [002] d..1.  812.000114: kvm_s390_sie_exit: "
		     "03[0705000180000000-0000000000012a40]: exit sie icptcode 4 (Instruction)");
	assert_int_equal(e.isa, KVMSCOPE_ISA_S390);
	assert_int_equal(e.reason, 0x04);
	assert_int_equal(e.vcpu, 3);
	assert_int_equal(e.pc, 0x12a40);
	assert_string_equal(name_of(&e), "Instruction");

	e = parse_ok(PERF_SCRIPT_PREFIX "kvm:kvm_s390_sie_exit: 12[0705000180000000-"
		     "0000000000012a44]: exit sie icptcode 108 (0x6c)");
	assert_int_equal(e.vcpu, 12);
	assert_string_equal(name_of(&e), "PV_NOTIFY");

	e = parse_ok("kvm_s390_sie_exit: 00[0705000180000000-0000000000012a44]: "
		     "exit sie icptcode 76 (0x4c)");
	assert_string_equal(name_of(&e), "0x4c");
}

static void test_x86_kvm_exit(void **state)
{
	struct traceline_exit e;

	e = parse_ok("qemu-system-x86-555 [000] d..1. 100.000001: kvm_exit: vcpu 1 reason io "
		     "rip 0xfff0 info1 0x0000000056580041 info2 0x0000000000000000 intr_info "
		     "0x00000000 error_code 0x00000000");
	assert_int_equal(e.isa, KVMSCOPE_ISA_SVM);
	assert_int_equal(e.reason, 0x7b);
	assert_int_equal(e.vcpu, 1);
	assert_int_equal(e.pc, 0xfff0);

	/* An SVM name with a space in it. */
	e = parse_ok("kvm_exit: vcpu 0 reason PF excp rip 0x1000 info1 0x0000000000000000");
	assert_int_equal(e.isa, KVMSCOPE_ISA_SVM);
	assert_int_equal(e.reason, 0x4e);

	e = parse_ok("kvm_exit: vcpu 2 reason IO_INSTRUCTION rip 0xffffffff81000000 info1 "
		     "0x0000000056580008 info2 0x0000000000000000 intr_info 0x00000000 "
		     "error_code 0x00000000 requests 0x0000000000000000");
	assert_int_equal(e.isa, KVMSCOPE_ISA_VMX);
	assert_int_equal(e.reason, 30);
	assert_int_equal(e.vcpu, 2);
	assert_int_equal(e.pc, 0xffffffff81000000ull);

	e = parse_ok("kvm_exit: vcpu 0 reason INVALID_STATE FAILED_VMENTRY rip 0x0 info1 0x0");
	assert_int_equal(e.isa, KVMSCOPE_ISA_VMX);
	assert_int_equal(e.reason, 0x80000021);
	assert_string_equal(name_of(&e), "FAILED_VMENTRY|INVALID_STATE");

	/* A flag VMX_EXIT_REASON_FLAGS does not name is printed in hex. */
	e = parse_ok("kvm_exit: vcpu 0 reason IO_INSTRUCTION 0x8000000 rip 0x0 info1 0x0");
	assert_int_equal(e.reason, 0x0800001e);

	/* Pre-6.x text: "info %llx %llx". */
	e = parse_ok("kvm_exit: vcpu 0 reason hlt rip 0x1000 info 0 0");
	assert_int_equal(e.isa, KVMSCOPE_ISA_SVM);
	assert_int_equal(e.reason, 0x78);

	/* A number alone does not say which vendor it is from. */
	e = parse_ok("kvm_exit: vcpu 0 reason 0x8c rip 0x1000 info1 0x0");
	assert_int_equal(e.isa, KVMSCOPE_ISA_UNKNOWN);
	assert_int_equal(e.reason, 0x8c);
}

static void test_other_lines(void **state)
{
	assert_parse_fails("", ENOENT);
	assert_parse_fails("# tracer: nop", ENOENT);
	assert_parse_fails("   # comment kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW)", ENOENT);
	assert_parse_fails(TRACE_PIPE_PREFIX "kvm_entry: PC: 0x0000000000400010", ENOENT);
	assert_parse_fails(TRACE_PIPE_PREFIX "kvm_userspace_exit: reason KVM_EXIT_MMIO (6)",
			   ENOENT);
	assert_parse_fails(TRACE_PIPE_PREFIX "kvm_nested_vmexit: vcpu 0 reason io rip 0x0",
			   ENOENT);
	assert_parse_fails(TRACE_PIPE_PREFIX "kvm_s390_sie_enter: 00[0705000180000000-"
			   "0000000000012a40]: entering sie flags 10000000", ENOENT);
	assert_parse_fails("kvm_exit_foo: TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0", ENOENT);
	assert_parse_fails("CPU:1 [LOST 12 EVENTS]", ENOENT);
}

static void test_malformed_exit_lines(void **state)
{
	assert_parse_fails("kvm_exit: BOGUS: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0", EINVAL);
	assert_parse_fails("kvm_exit: TRAP: HSR_EC: 24 (DABT_LOW), PC: 0x0", EINVAL);
	assert_parse_fails("kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 400010", EINVAL);
	assert_parse_fails("kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW", EINVAL);
	assert_parse_fails("kvm_exit: TRAP HSR_EC 0x0024", EINVAL);
	assert_parse_fails("kvm_exit: 0x100000000: HSR_EC: 0x0000 (UNKNOWN), PC: 0x0", EINVAL);
	assert_parse_fails("kvm_s390_sie_exit: 00[xyz-0]: exit sie icptcode 4 (Instruction)",
			   EINVAL);
	assert_parse_fails("kvm_s390_sie_exit: 00[0705000180000000-0000000000012a40]: "
			   "exit sie icptcode 300 (0x12c)", EINVAL);
	assert_parse_fails("kvm_s390_sie_exit: -1[0705000180000000-0000000000012a40]: "
			   "exit sie icptcode 4 (Instruction)", EINVAL);
	assert_parse_fails("kvm_exit: vcpu 0 reason nonsense rip 0x0 info1 0x0", EINVAL);
	assert_parse_fails("kvm_exit: vcpu 0 reason IO_INSTRUCTION BOGUS rip 0x0", EINVAL);
	assert_parse_fails("kvm_exit: vcpu 0 reason  rip 0x0", EINVAL);
	assert_parse_fails("kvm_exit: vcpu 0 reason io", EINVAL);
	assert_parse_fails("kvm_exit: vcpu x reason io rip 0x0", EINVAL);
}

/* Decoded names and how many exits had each. */
struct name_counts {
	struct {
		char name[DECODE_NAME_MAX];
		unsigned long count;
	} entries[256];
	size_t n;
	unsigned long exits;
};

static void count_name(struct name_counts *counts, const char *name)
{
	size_t i;

	for (i = 0; i < counts->n; i++)
		if (!strcmp(counts->entries[i].name, name))
			break;
	if (i == counts->n) {
		if (counts->n == ARRAY_SIZE(counts->entries))
			fail_msg("more than %zu distinct exit names", ARRAY_SIZE(counts->entries));
		snprintf(counts->entries[i].name, sizeof(counts->entries[i].name), "%s", name);
		counts->n++;
	}
	counts->entries[i].count++;
	counts->exits++;
}

static void fixture_path(char *path, const char *file)
{
	const char *dir = getenv("KVMSCOPE_FIXTURES");

	snprintf(path, PATH_MAX, "%s/%s", dir && dir[0] ? dir : DEFAULT_FIXTURES, file);
}

static void strip_newline(char *line)
{
	size_t len = strlen(line);

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
}

/*
 * The name the kernel printed in parentheses after @marker, e.g. "DABT_LOW"
 * in "HSR_EC: 0x0024 (DABT_LOW)"; empty when it printed a number instead.
 */
static void kernel_printed_name(const char *line, const char *marker, char *name, size_t len)
{
	const char *open = strstr(line, marker), *close;

	name[0] = '\0';
	open = open ? strchr(open, '(') : NULL;
	close = open ? strchr(open, ')') : NULL;
	if (!close || !strncmp(open + 1, "0x", 2) || (size_t)(close - open - 1) >= len)
		return;
	memcpy(name, open + 1, (size_t)(close - open - 1));
	name[close - open - 1] = '\0';
}

/* What our table calls the code the kernel printed a name for. */
static const char *our_name_for_kernel_field(uint32_t isa, uint32_t reason)
{
	if (isa == KVMSCOPE_ISA_ARM64)
		return decode_arm64_esr_ec(arm64_exit_reason_esr_ec(reason));
	return decode_s390_intercept(reason);
}

/*
 * Parse every exit line of @trace (other events and "#" lines skipped),
 * count exits per decoded name, and compare with @expect: lines "NAME
 * COUNT" (the count is the last word; names may hold spaces), "#"
 * comments.  Every listed name must have exactly its count; names the
 * file does not list are shown, not failed, so a recording may leave out
 * what its VMM cannot make deterministic (interrupts).
 */
static void replay_fixture(const char *trace, const char *expect, uint32_t isa,
			   const char *kernel_name_marker, const char *missing_hint)
{
	struct name_counts *counts = calloc(1, sizeof(*counts));
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0, lineno = 0, listed = 0;
	FILE *f;

	assert_non_null(counts);
	fixture_path(path, trace);
	f = fopen(path, "re");
	if (!f)
		fail_msg("fixture %s is missing (%s): %s", path, strerror(errno), missing_hint);
	while (getline(&line, &cap, f) >= 0) {
		struct traceline_exit parsed;
		char kernel_name[DECODE_NAME_MAX];
		const char *ours;
		int r;

		lineno++;
		strip_newline(line);
		r = traceline_parse_exit(line, &parsed);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			fail_msg("%s:%zu: exit line does not parse (%s): %s", path, lineno,
				 strerror(-r), line);
		if (parsed.isa != isa)
			fail_msg("%s:%zu: isa %s, expected %s: %s", path, lineno,
				 isa_name(parsed.isa), isa_name(isa), line);
		/* Where the kernel printed a name, our table must give the same. */
		kernel_printed_name(line, kernel_name_marker, kernel_name, sizeof(kernel_name));
		ours = our_name_for_kernel_field(isa, parsed.reason);
		if (kernel_name[0] && (!ours || strcmp(kernel_name, ours)))
			fail_msg("%s:%zu: the kernel printed \"%s\", our table says \"%s\"", path,
				 lineno, kernel_name, ours ? ours : "(nothing)");
		count_name(counts, name_of(&parsed));
	}
	fclose(f);
	if (!counts->exits)
		fail_msg("%s: no exit lines in it", path);

	fixture_path(path, expect);
	f = fopen(path, "re");
	if (!f)
		fail_msg("fixture %s is missing (%s): %s", path, strerror(errno), missing_hint);
	lineno = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *count_text, *end;
		unsigned long want, got = 0;

		lineno++;
		strip_newline(line);
		if (!line[0] || line[0] == '#')
			continue;
		count_text = strrchr(line, ' ');
		if (!count_text)
			fail_msg("%s:%zu: not \"NAME COUNT\": %s", path, lineno, line);
		*count_text++ = '\0';
		errno = 0;
		want = strtoul(count_text, &end, 10);
		if (errno || end == count_text || *end)
			fail_msg("%s:%zu: count \"%s\" is not a number", path, lineno, count_text);
		for (end = count_text - 1; end > line && end[-1] == ' ';)
			*--end = '\0';
		for (size_t i = 0; i < counts->n; i++)
			if (!strcmp(counts->entries[i].name, line))
				got = counts->entries[i].count;
		if (got != want)
			fail_msg("%s: %s counted %lu times, expected %lu", trace, line, got, want);
		listed++;
	}
	fclose(f);
	free(line);
	if (!listed)
		fail_msg("%s lists no names", path);
	for (size_t i = 0; i < counts->n; i++)
		print_message("%s: %s %lu\n", trace, counts->entries[i].name,
			      counts->entries[i].count);
	free(counts);
}

/* A real recording: Debian's arm64 kernel under qemu-system-aarch64, a VMM making known exits. */
static void test_arm64_recording(void **state)
{
	replay_fixture("arm64-kvm_exit.trace", "arm64-kvm_exit.expect", KVMSCOPE_ISA_ARM64,
		       "HSR_EC: ",
		       "it is the real arm64 KVM recording (Debian arm64 kernel under "
		       "qemu-system-aarch64), delivered with its .expect by the arm64 "
		       "recording work; without it arm64 decoding is untested against a kernel");
}

/* Synthetic (no s390 KVM can run here): built from the print format. */
static void test_s390_synthetic_trace(void **state)
{
	replay_fixture("s390-kvm_s390_sie_exit.trace", "s390-kvm_s390_sie_exit.expect",
		       KVMSCOPE_ISA_S390, "icptcode ", "it is kept in the repository");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arm64_kvm_exit),
		cmocka_unit_test(test_s390_sie_exit),
		cmocka_unit_test(test_x86_kvm_exit),
		cmocka_unit_test(test_other_lines),
		cmocka_unit_test(test_malformed_exit_lines),
		cmocka_unit_test(test_arm64_recording),
		cmocka_unit_test(test_s390_synthetic_trace),
	};

	return cmocka_run_group_tests_name("traceline", tests, NULL, NULL);
}
