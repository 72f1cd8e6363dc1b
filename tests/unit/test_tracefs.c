// SPDX-License-Identifier: GPL-2.0-only
/*
 * Field layouts from tracepoint format texts, as the kernel prints them
 * (copied from /sys/kernel/tracing/events/kvm/<event>/format on 6.18).
 */
#include "unit.h"

#include "tracefs.h"

#define COMMON_FIELDS                                                                      \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"             \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"             \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"     \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"                         \
	"\n"

static const char kvm_exit_format[] =
	"name: kvm_exit\n"
	"ID: 103\n"
	"format:\n"
	COMMON_FIELDS
	"\tfield:unsigned int exit_reason;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned long guest_rip;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:u32 isa;\toffset:24;\tsize:4;\tsigned:0;\n"
	"\tfield:u64 info1;\toffset:32;\tsize:8;\tsigned:0;\n"
	"\tfield:u64 info2;\toffset:40;\tsize:8;\tsigned:0;\n"
	"\tfield:u32 intr_info;\toffset:48;\tsize:4;\tsigned:0;\n"
	"\tfield:u32 error_code;\toffset:52;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned int vcpu_id;\toffset:56;\tsize:4;\tsigned:0;\n"
	"\tfield:u64 requests;\toffset:64;\tsize:8;\tsigned:0;\n"
	"\n"
	"print fmt: \"vcpu %u reason %s%s%s rip 0x%lx info1 0x%016llx info2 0x%016llx "
	"intr_info 0x%08x error_code 0x%08x requests 0x%016llx\", REC->vcpu_id, "
	"(REC->isa == 1) ? __print_symbolic(REC->exit_reason & 0xffff, { 0, \"EXCEPTION_NMI\" }, "
	"{ 12, \"HLT\" }, { 30, \"IO_INSTRUCTION\" }) : __print_symbolic(REC->exit_reason, "
	"{ 0x078, \"hlt\" }, { 0x07b, \"io\" }, { -1, \"invalid_guest_state\" }), "
	"(REC->isa == 1 && REC->exit_reason & ~0xffff) ? \" \" : \"\", (REC->isa == 1) ? "
	"__print_flags(REC->exit_reason & ~0xffff, \" \", { 0x80000000, \"FAILED_VMENTRY\" }) : "
	"\"\", REC->guest_rip, REC->info1, REC->info2, REC->intr_info, REC->error_code, "
	"REC->requests\n";

/* An array field, and a field called plain "rip". */
static const char kvm_emulate_insn_format[] =
	"name: kvm_emulate_insn\n"
	"ID: 85\n"
	"format:\n"
	COMMON_FIELDS
	"\tfield:__u64 rip;\toffset:8;\tsize:8;\tsigned:0;\n"
	"\tfield:__u32 csbase;\toffset:16;\tsize:4;\tsigned:0;\n"
	"\tfield:__u8 len;\toffset:20;\tsize:1;\tsigned:0;\n"
	"\tfield:__u8 insn[15];\toffset:21;\tsize:15;\tsigned:0;\n"
	"\tfield:__u8 flags;\toffset:36;\tsize:1;\tsigned:0;\n"
	"\tfield:__u8 failed;\toffset:37;\tsize:1;\tsigned:0;\n"
	"\n"
	"print fmt: \"%x:%llx:%s (%s)%s\", REC->csbase, REC->rip, __print_hex(REC->insn, REC->len), "
	"__print_symbolic(REC->flags, { 0, \"real\" }), REC->failed ? \" failed\" : \"\"\n";

/* Fields named "size" and "count": words that also appear in the layout syntax. */
static const char kvm_pio_format[] =
	"name: kvm_pio\n"
	"ID: 110\n"
	"format:\n"
	COMMON_FIELDS
	"\tfield:unsigned int rw;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned int port;\toffset:12;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned int size;\toffset:16;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned int count;\toffset:20;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned int val;\toffset:24;\tsize:4;\tsigned:0;\n"
	"\n"
	"print fmt: \"pio_%s at 0x%x size %d count %d val 0x%x %s\", REC->rw ? \"write\" : "
	"\"read\", REC->port, REC->size, REC->count, REC->val, REC->count > 1 ? \"(...)\" : \"\"\n";

/* A dynamic (__data_loc) string field. */
static const char kvm_nested_vmenter_failed_format[] =
	"name: kvm_nested_vmenter_failed\n"
	"ID: 50\n"
	"format:\n"
	COMMON_FIELDS
	"\tfield:__data_loc char[] msg;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:u32 err;\toffset:12;\tsize:4;\tsigned:0;\n"
	"\n"
	"print fmt: \"%s%s\", __get_str(msg), \"\"\n";

static void assert_layout(const char *format, const char *field, int offset, int size)
{
	int got_offset = -1, got_size = -1;
	int r = tracefs_field_layout(format, field, &got_offset, &got_size);

	if (r != 0)
		fail_msg("field %s: expected offset %d size %d, got error %d", field, offset, size,
			 r);
	if (got_offset != offset || got_size != size)
		fail_msg("field %s: expected offset %d size %d, got offset %d size %d", field,
			 offset, size, got_offset, got_size);
}

static void assert_no_field(const char *format, const char *field)
{
	int offset = 1234, size = 5678;
	int r = tracefs_field_layout(format, field, &offset, &size);

	if (r != -ENOENT)
		fail_msg("field %s: expected -ENOENT, got %d (offset %d size %d)", field, r, offset,
			 size);
	/* Outputs untouched when the field is absent. */
	assert_int_equal(offset, 1234);
	assert_int_equal(size, 5678);
}

static void test_kvm_exit_fields(void **state)
{
	assert_layout(kvm_exit_format, "exit_reason", 8, 4);
	assert_layout(kvm_exit_format, "guest_rip", 16, 8);
	assert_layout(kvm_exit_format, "isa", 24, 4);
	assert_layout(kvm_exit_format, "info1", 32, 8);
	assert_layout(kvm_exit_format, "info2", 40, 8);
	assert_layout(kvm_exit_format, "intr_info", 48, 4);
	assert_layout(kvm_exit_format, "error_code", 52, 4);
	assert_layout(kvm_exit_format, "vcpu_id", 56, 4);
	assert_layout(kvm_exit_format, "requests", 64, 8);
}

static void test_common_fields(void **state)
{
	assert_layout(kvm_exit_format, "common_type", 0, 2);
	assert_layout(kvm_exit_format, "common_flags", 2, 1);
	assert_layout(kvm_exit_format, "common_preempt_count", 3, 1);
	assert_layout(kvm_exit_format, "common_pid", 4, 4);
}

/* Names match whole identifiers: no suffixes, prefixes or substrings. */
static void test_partial_names_do_not_match(void **state)
{
	assert_no_field(kvm_exit_format, "rip");
	assert_no_field(kvm_exit_format, "reason");
	assert_no_field(kvm_exit_format, "exit");
	assert_no_field(kvm_exit_format, "exit_reaso");
	assert_no_field(kvm_exit_format, "info");
	assert_no_field(kvm_exit_format, "type");
	assert_no_field(kvm_exit_format, "pid");
	assert_no_field(kvm_exit_format, "common");
	assert_no_field(kvm_exit_format, "vcpu");
	assert_no_field(kvm_exit_format, "Exit_reason");
	/* Words elsewhere in the text are not fields. */
	assert_no_field(kvm_exit_format, "kvm_exit");
	assert_no_field(kvm_exit_format, "REC");
	assert_no_field(kvm_exit_format, "int");
	assert_no_field(kvm_exit_format, "unsigned");
	assert_no_field(kvm_exit_format, "u64");
	assert_no_field(kvm_exit_format, "offset");
	assert_no_field(kvm_exit_format, "");
}

static void test_missing_field(void **state)
{
	assert_no_field(kvm_exit_format, "exit_qualification");
	assert_no_field(kvm_exit_format, "insn");
	assert_no_field("", "exit_reason");
	assert_no_field("name: kvm_exit\nID: 103\nformat:\n", "exit_reason");
}

static void test_plain_rip_and_arrays(void **state)
{
	assert_layout(kvm_emulate_insn_format, "rip", 8, 8);
	assert_layout(kvm_emulate_insn_format, "csbase", 16, 4);
	assert_layout(kvm_emulate_insn_format, "len", 20, 1);
	assert_layout(kvm_emulate_insn_format, "insn", 21, 15);
	assert_layout(kvm_emulate_insn_format, "flags", 36, 1);
	assert_layout(kvm_emulate_insn_format, "failed", 37, 1);
	/* The array suffix is not part of the name. */
	assert_no_field(kvm_emulate_insn_format, "insn[15]");
	assert_no_field(kvm_emulate_insn_format, "15");
	assert_no_field(kvm_emulate_insn_format, "guest_rip");
}

static void test_fields_named_like_layout_words(void **state)
{
	assert_layout(kvm_pio_format, "rw", 8, 4);
	assert_layout(kvm_pio_format, "port", 12, 4);
	assert_layout(kvm_pio_format, "size", 16, 4);
	assert_layout(kvm_pio_format, "count", 20, 4);
	assert_layout(kvm_pio_format, "val", 24, 4);
	assert_no_field(kvm_pio_format, "signed");
}

static void test_dynamic_string_field(void **state)
{
	assert_layout(kvm_nested_vmenter_failed_format, "msg", 8, 4);
	assert_layout(kvm_nested_vmenter_failed_format, "err", 12, 4);
	assert_no_field(kvm_nested_vmenter_failed_format, "char");
	assert_no_field(kvm_nested_vmenter_failed_format, "__data_loc");
}

/* The last line need not end in a newline. */
static void test_last_line_without_newline(void **state)
{
	assert_layout("format:\n\tfield:u32 isa;\toffset:24;\tsize:4;\tsigned:0;", "isa", 24, 4);
	assert_layout("\tfield:u64 requests;\toffset:64;\tsize:8;\tsigned:0;", "requests", 64, 8);
}

/* A field line without its offset or size is not guessed at. */
static void test_incomplete_layout_is_an_error(void **state)
{
	static const char no_offset[] =
		"\tfield:u32 isa;\tsize:4;\tsigned:0;\n"
		"\tfield:u64 info1;\toffset:32;\tsize:8;\tsigned:0;\n";
	static const char no_size[] =
		"\tfield:u32 isa;\toffset:24;\tsigned:0;\n"
		"\tfield:u64 info1;\toffset:32;\tsize:8;\tsigned:0;\n";
	int offset = -1, size = -1;

	assert_int_equal(tracefs_field_layout(no_offset, "isa", &offset, &size), -EINVAL);
	assert_int_equal(tracefs_field_layout(no_size, "isa", &offset, &size), -EINVAL);
	/* The next line's layout is not borrowed. */
	assert_int_not_equal(offset, 32);
	assert_int_not_equal(size, 8);
	assert_layout(no_offset, "info1", 32, 8);
}

/*
 * Found by fuzz_tracefs: a negative offset or a size of 0 was returned as
 * a layout.  Numbers that cannot be a record's are an error.
 */
static void test_impossible_layout_is_an_error(void **state)
{
	static const char *const formats[] = {
		"\tfield:u32 isa;\toffset:-4;\tsize:4;\tsigned:0;\n",
		"\tfield:u32 isa;\toffset:24;\tsize:0;\tsigned:0;\n",
		"\tfield:u32 isa;\toffset:24;\tsize:-8;\tsigned:0;\n",
		"\tfield:u32 isa;\toffset:x;\tsize:4;\tsigned:0;\n",
		"\tfield:u32 isa;\toffset:24;\tsize:;\tsigned:0;\n",
		"\tfield:u32 isa;\toffset:99999999999;\tsize:4;\tsigned:0;\n",
		NULL
	};
	int offset, size;

	for (int i = 0; formats[i]; i++)
		assert_int_equal(tracefs_field_layout(formats[i], "isa", &offset, &size), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_exit_fields),
		cmocka_unit_test(test_impossible_layout_is_an_error),
		cmocka_unit_test(test_common_fields),
		cmocka_unit_test(test_partial_names_do_not_match),
		cmocka_unit_test(test_missing_field),
		cmocka_unit_test(test_plain_rip_and_arrays),
		cmocka_unit_test(test_fields_named_like_layout_words),
		cmocka_unit_test(test_dynamic_string_field),
		cmocka_unit_test(test_last_line_without_newline),
		cmocka_unit_test(test_incomplete_layout_is_an_error),
	};

	return cmocka_run_group_tests_name("tracefs", tests, NULL, NULL);
}
