// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exit-reason names: known codes, unknown codes shown as numbers, and every
 * table entry checked against the reference kvm-decode.md §3.1-§3.3.
 */
#include "unit.h"

#include <ctype.h>

#include "decode.h"
#include "kvmscope/exits.h"

#define DEFAULT_REFERENCE "../shared/reference/kvm-decode.md"

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
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x000), "read_cr0");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x081), "hypercall");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x0a6), "idle-halt");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0xf0000000), "sw");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0xffffffff), "invalid_guest_state");
}

static void test_vmx_known_names(void **state)
{
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 30), "IO_INSTRUCTION");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 12), "HLT");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0), "EXCEPTION_NMI");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 48), "EPT_VIOLATION");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 85), "MSR_WRITE_IMM");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x80000021), "FAILED_VMENTRY|INVALID_STATE");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x80000022), "FAILED_VMENTRY|MSR_LOAD_FAIL");
	/* Bits 16..30 are flags (e.g. 27, enclave mode): the basic reason still names it. */
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x0800001e), "IO_INSTRUCTION");
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
}

static void test_unknown_codes_are_numbers(void **state)
{
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x12345), "0x12345");
	assert_string_equal(hw(KVMSCOPE_ISA_SVM, 0x001), "0x1");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 999), "999");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 5), "5");
	assert_string_equal(hw(KVMSCOPE_ISA_VMX, 0x80000000 | 999), "FAILED_VMENTRY|999");
	assert_string_equal(kvm(200), "200");
	assert_string_equal(kvm(44), "44");
	assert_string_equal(kvm(0xffffffff), "4294967295");
	/* No table for these ISAs: even a code that means something on x86 stays a number. */
	assert_string_equal(hw(7, 0x7b), "0x7b");
	assert_string_equal(hw(7, 30), "0x1e");
	assert_string_equal(hw(KVMSCOPE_ISA_UNKNOWN, 12), "0xc");
	assert_string_equal(hw(KVMSCOPE_ISA_ARM64, 0x16), "0x16");
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
		for (size_t j = i + 1; j < n; j++)
			if (t[i].code == t[j].code)
				fail_msg("table %s: code 0x%x appears twice (%s, %s)", which,
					 t[i].code, t[i].symbol, t[j].symbol);
	}
}

static void test_tables_have_unique_codes_and_names(void **state)
{
	size_t n = 99;

	check_table_sane("kvm", 40);
	check_table_sane("vmx", 60);
	check_table_sane("svm", 90);

	assert_null(decode_table("arm64", &n));
	assert_int_equal(n, 0);
}

/* Every table entry must be reachable through the public name functions. */
static void test_tables_match_name_functions(void **state)
{
	const struct reason_name *t;
	size_t n;

	t = decode_table("kvm", &n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(kvm(t[i].code), t[i].name);
	t = decode_table("vmx", &n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(hw(KVMSCOPE_ISA_VMX, t[i].code), t[i].name);
	t = decode_table("svm", &n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(hw(KVMSCOPE_ISA_SVM, t[i].code), t[i].name);
}

/* One row of a reference table. */
struct reference_row {
	uint32_t code;
	char symbol[96];
	char name[96];		/* expected short name, "" when the reference gives none */
};

struct reference_table {
	struct reference_row rows[256];
	size_t n;
	size_t ranges_expanded;
};

static char *read_reference(void)
{
	const char *path = getenv("KVMSCOPE_REFERENCE");
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!path || !path[0])
		path = DEFAULT_REFERENCE;
	f = fopen(path, "re");
	if (!f)
		fail_msg("cannot read the decode reference %s: %s "
			 "(set KVMSCOPE_REFERENCE to its path)", path, strerror(errno));
	if (getdelim(&text, &len, '\0', f) < 0)
		fail_msg("cannot read the decode reference %s: empty or unreadable", path);
	fclose(f);
	return text;
}

/* Split "| a | b | c |" into trimmed cells; returns the number of cells. */
static size_t split_row(const char *line, char cells[][256], size_t max_cells)
{
	const char *p = line + 1, *eol = strchr(line, '\n');
	size_t n = 0;

	if (!eol)
		eol = line + strlen(line);
	while (p < eol && n < max_cells) {
		const char *bar = memchr(p, '|', (size_t)(eol - p));
		const char *s = p, *e;
		size_t len;

		if (!bar)
			break;
		e = bar;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		len = (size_t)(e - s);
		if (len > 255)
			fail_msg("reference cell longer than the test's 255-byte buffer: %.60s...", s);
		memcpy(cells[n], s, len);
		cells[n][len] = '\0';
		n++;
		p = bar + 1;
	}
	return n;
}

/* Copy a cell, truncating; cells are far shorter than the buffers. */
static void copy_cell(char *dst, size_t dst_len, const char *cell)
{
	size_t len = strnlen(cell, dst_len - 1);

	memcpy(dst, cell, len);
	dst[len] = '\0';
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

enum reference_kind { REFERENCE_KVM, REFERENCE_VMX, REFERENCE_SVM };

/*
 * Parse the first table under @heading: rows after the "|---" separator
 * until the first line that is not a table row.
 */
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
		struct reference_row *row;

		if (out->n == ARRAY_SIZE(out->rows))
			fail_msg("more rows than the test can hold");
		row = &out->rows[out->n++];
		row->code = code;
		snprintf(row->symbol, sizeof(row->symbol), "SVM_EXIT_EXCP_BASE + %s_VECTOR", vec);
		snprintf(row->name, sizeof(row->name), "%s excp", vec);
		p += used;
		if (*p != ',')
			break;
		p++;
	}
}

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
		if (out->n == ARRAY_SIZE(out->rows))
			fail_msg("section \"%s\": more rows than the test can hold", heading);
		row = &out->rows[out->n];
		if (parse_code(cells[0], &row->code) < 0) {
			if (kind == REFERENCE_SVM && is_code_range(cells[0])) {
				expand_exception_range(cells[2], out);
				out->ranges_expanded++;
				continue;
			}
			fail_msg("section \"%s\": value \"%s\" is not a number", heading, cells[0]);
		}
		switch (kind) {
		case REFERENCE_KVM:
			copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
			if (strncmp(cells[1], "KVM_EXIT_", 9))
				fail_msg("section \"%s\": symbol %s lacks KVM_EXIT_", heading,
					 cells[1]);
			copy_cell(row->name, sizeof(row->name), cells[1] + 9);
			break;
		case REFERENCE_VMX: {
			uint32_t hex;

			if (parse_code(cells[1], &hex) < 0 || hex != row->code)
				fail_msg("section \"%s\": dec %s and hex %s disagree", heading,
					 cells[0], cells[1]);
			copy_cell(row->symbol, sizeof(row->symbol), cells[2]);
			if (strncmp(cells[2], "EXIT_REASON_", 12))
				fail_msg("section \"%s\": symbol %s lacks EXIT_REASON_", heading,
					 cells[2]);
			copy_cell(row->name, sizeof(row->name), cells[2] + 12);
			break;
		}
		case REFERENCE_SVM:
			copy_cell(row->symbol, sizeof(row->symbol), cells[1]);
			/* "-": the kernel's SVM_EXIT_REASONS has no string for it. */
			if (strcmp(cells[2], "-"))
				copy_cell(row->name, sizeof(row->name), cells[2]);
			break;
		}
		out->n++;
	}
	if (out->n == 0)
		fail_msg("section \"%s\": no table rows found", heading);
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

		for (size_t j = 0; j < n; j++)
			if (t[j].code == row->code)
				e = &t[j];
		if (!e)
			fail_msg("%s table: no entry for reference row 0x%x %s", which, row->code,
				 row->symbol);
		if (strcmp(e->symbol, row->symbol))
			fail_msg("%s table: code 0x%x is %s, reference says %s", which, row->code,
				 e->symbol, row->symbol);
		if (row->name[0] && strcmp(e->name, row->name))
			fail_msg("%s table: code 0x%x (%s) is named \"%s\", reference says \"%s\"",
				 which, row->code, row->symbol, e->name, row->name);
	}
	for (size_t j = 0; j < n; j++) {
		bool found = false;

		for (size_t i = 0; i < ref->n; i++)
			if (ref->rows[i].code == t[j].code &&
			    !strcmp(ref->rows[i].symbol, t[j].symbol))
				found = true;
		if (!found)
			fail_msg("%s table: entry 0x%x %s is not in the reference", which,
				 t[j].code, t[j].symbol);
	}
	if (n != ref->n)
		fail_msg("%s table has %zu entries, reference has %zu rows", which, n, ref->n);
}

static void test_tables_match_reference(void **state)
{
	struct reference_table *ref = malloc(sizeof(*ref));
	char *text = read_reference();

	assert_non_null(ref);

	parse_reference_section(text, "### 3.1 KVM_EXIT_*", REFERENCE_KVM, ref);
	check_against_reference("kvm", ref);

	parse_reference_section(text, "### 3.2 Intel VMX basic exit reasons", REFERENCE_VMX, ref);
	check_against_reference("vmx", ref);

	parse_reference_section(text, "### 3.3 AMD SVM exit codes", REFERENCE_SVM, ref);
	/* Only the exception-vector row 0x040-0x05f is a range. */
	assert_int_equal(ref->ranges_expanded, 1);
	check_against_reference("svm", ref);

	free(ref);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isa_names),
		cmocka_unit_test(test_svm_known_names),
		cmocka_unit_test(test_vmx_known_names),
		cmocka_unit_test(test_kvm_known_names),
		cmocka_unit_test(test_unknown_codes_are_numbers),
		cmocka_unit_test(test_short_buffer_truncates),
		cmocka_unit_test(test_pio_direction),
		cmocka_unit_test(test_tables_have_unique_codes_and_names),
		cmocka_unit_test(test_tables_match_name_functions),
		cmocka_unit_test(test_tables_match_reference),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
