// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM ioctl names and the names of what they carry, checked against the
 * reference kvm-decode.md: every table is parsed from its section (§1.2,
 * §1.3, §1.4, §1.5.1, §1.5.2, §1.5.4, §2.1.1, §2.1.3, §2.2, §2.3) and
 * compared with the lookups in both directions, plus spot checks that do
 * not depend on the parser.
 */
#include "unit.h"

#include <ctype.h>
#include <inttypes.h>

#include "ioctls/names.h"
#include "reference.h"

static const enum ioctl_arch all_arches[] = { IOCTL_ARCH_X86_64, IOCTL_ARCH_ARM64,
					      IOCTL_ARCH_S390X };

static char *reference;

/* One row of a markdown table, trimmed cells. */
#define MAX_CELLS 12
#define CELL_MAX 1024

struct row {
	char cell[MAX_CELLS][CELL_MAX];
	size_t n;
};

/* Split "| a | b | c |" into trimmed cells. */
static void split_row(const char *line, struct row *r)
{
	r->n = reference_split_row(line, &r->cell[0][0], CELL_MAX, MAX_CELLS);
}

/* Reads the rows of the first table under a heading, after its "|---" line. */
struct table_cursor {
	const char *heading;
	const char *line;
	bool in_rows;
};

static void table_open(struct table_cursor *c, const char *heading)
{
	const char *h = strstr(reference, heading);

	if (!h)
		fail_msg("reference has no section \"%s\"", heading);
	c->heading = heading;
	c->line = strchr(h, '\n');
	c->in_rows = false;
}

static bool table_next(struct table_cursor *c, struct row *r)
{
	for (; c->line && *++c->line; c->line = strchr(c->line, '\n')) {
		const char *line = c->line;

		if (line[0] == '#')
			break;
		if (line[0] != '|') {
			if (c->in_rows)
				break;
			continue;
		}
		if (!strncmp(line, "|---", 4)) {
			c->in_rows = true;
			continue;
		}
		if (!c->in_rows)
			continue;
		split_row(line, r);
		c->line = strchr(line, '\n');
		if (!c->line)
			c->line = line + strlen(line) - 1;
		return true;
	}
	c->line = NULL;
	return false;
}

/* A whole-cell number: decimal or 0x hex (any case); -1 is 0xffffffff. */
static bool parse_u32(const char *cell, uint32_t *v)
{
	char *end;
	long long n;

	if (!strcmp(cell, "-1")) {
		*v = 0xffffffffu;
		return true;
	}
	if (!isdigit((unsigned char)cell[0]))
		return false;
	errno = 0;
	n = strtoll(cell, &end, 0);
	if (errno || *end || n < 0 || n > 0xffffffffLL)
		return false;
	*v = (uint32_t)n;
	return true;
}


static void first_word(char *dst, size_t len, const char *cell)
{
	size_t n = strcspn(cell, " ");

	if (n >= len)
		fail_msg("reference cell \"%s\" has a first word too long", cell);
	memcpy(dst, cell, n);
	dst[n] = '\0';
}

static unsigned int arch_bit(enum ioctl_arch arch)
{
	static const unsigned int bits[] = { IOCTL_ON_X86, IOCTL_ON_ARM64, IOCTL_ON_S390 };

	return bits[arch];
}

/*
 * §1.2 and §1.4 as the test reads them: what the table in names.c must
 * hold, parsed independently of it.
 */
struct ref_ioctl {
	char name[64];
	char fd_kind[CELL_MAX];
	uint32_t nr;
	uint32_t value[IOCTL_ARCHES];
	uint8_t on[KVMSCOPE_FD_KINDS];
	bool legacy;
};

static struct ref_ioctl ref_ioctls[256];
static size_t n_ref_ioctls, n_ref_current;

static unsigned int parse_arch_word(const char *word)
{
	static const struct {
		const char *word;
		unsigned int bits;
	} words[] = {
		{ "all", IOCTL_ON_ALL },
		{ "x86", IOCTL_ON_X86 },
		{ "arm64", IOCTL_ON_ARM64 },
		{ "s390", IOCTL_ON_S390 },
		{ "powerpc", IOCTL_ON_PPC },
		{ "riscv", IOCTL_ON_RISCV },
		{ "loongarch", IOCTL_ON_LOONGARCH },
		{ "mips", IOCTL_ON_MIPS },
	};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcmp(word, words[i].word))
			return words[i].bits;
	fail_msg("fd kind column: unknown arch \"%s\"", word);
	return 0;
}

static unsigned int parse_kind_word(const char *word)
{
	static const struct {
		const char *word;
		unsigned int kind;
	} words[] = {
		{ "system", KVMSCOPE_FD_SYSTEM },
		{ "vm", KVMSCOPE_FD_VM },
		{ "vcpu", KVMSCOPE_FD_VCPU },
		{ "device", KVMSCOPE_FD_DEVICE },
		{ "guest_memfd", KVMSCOPE_FD_GMEM },
	};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcmp(word, words[i].word))
			return words[i].kind;
	fail_msg("fd kind column: unknown fd kind \"%s\"", word);
	return 0;
}

/*
 * §1.2's "fd kind" column into per-kind arch masks: "system (all); vm
 * (all)", "vcpu (arm64,loongarch,x86)", "vm (powerpc book3s_hv)",
 * "system (s390; handler just returns 0)".  "none ..." has no handler in
 * 7.2; where it says which fd took it before ("(x86 vm handler existed in
 * 5.10/6.1)"), that is what the table keeps.
 */
static void parse_fd_kinds(const char *cell, uint8_t on[KVMSCOPE_FD_KINDS])
{
	const char *p = cell;

	memset(on, 0, KVMSCOPE_FD_KINDS);
	if (!strncmp(cell, "none", 4)) {
		char arch[16], kind[16];
		int used = 0;

		/* "(x86 vm handler existed in 5.10/6.1)", not "(no handler in 7.2; obsolete)" */
		p = strchr(cell, '(');
		if (p && sscanf(p, "(%15[a-z0-9] %15[a-z_] handler%n", arch, kind, &used) == 2 &&
		    used)
			on[parse_kind_word(kind)] = (uint8_t)parse_arch_word(arch);
		return;
	}
	while (*p) {
		char kind[16], inner[CELL_MAX], *tok, *save = NULL;
		const char *open, *close;
		int depth = 0;
		size_t len;

		if (sscanf(p, "%15[a-z_]", kind) != 1)
			fail_msg("fd kind \"%s\": cannot read a kind at \"%s\"", cell, p);
		open = strchr(p, '(');
		if (!open || open != p + strlen(kind) + 1)
			fail_msg("fd kind \"%s\": no arch list after %s", cell, kind);
		for (close = open; *close; close++) {
			depth += *close == '(' ? 1 : *close == ')' ? -1 : 0;
			if (!depth)
				break;
		}
		if (*close != ')')
			fail_msg("fd kind \"%s\": unbalanced parentheses", cell);
		len = (size_t)(close - open - 1);
		memcpy(inner, open + 1, len);
		inner[len] = '\0';
		/* "s390; handler just returns 0": the arches end at the first ';'. */
		inner[strcspn(inner, ";")] = '\0';
		for (tok = strtok_r(inner, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char word[32];

			while (*tok == ' ')
				tok++;
			first_word(word, sizeof(word), tok);
			on[parse_kind_word(kind)] |= (uint8_t)parse_arch_word(word);
		}
		p = close + 1;
		if (!strncmp(p, "; ", 2))
			p += 2;
		else if (*p)
			fail_msg("fd kind \"%s\": unexpected \"%s\"", cell, p);
	}
}

/* "_IOWR(KVMIO, 0x05, struct kvm_cpuid2)": direction and nr. */
static void parse_macro(const char *macro, unsigned int *dir, uint32_t *nr)
{
	static const char *const prefixes[] = { "_IO(", "_IOW(", "_IOR(", "_IOWR(" };
	const char *p = NULL;

	for (unsigned int d = 0; d < ARRAY_SIZE(prefixes); d++)
		if (!strncmp(macro, prefixes[d], strlen(prefixes[d]))) {
			*dir = d;
			p = macro + strlen(prefixes[d]);
		}
	if (!p || sscanf(p, "KVMIO, 0x%" SCNx32, nr) != 1)
		fail_msg("macro \"%s\" is not _IO*(KVMIO, nr...)", macro);
}

/* The reference's own consistency: each value is what its macro encodes. */
static void check_value_encoding(const struct ref_ioctl *r, unsigned int dir)
{
	for (size_t a = 0; a < IOCTL_ARCHES; a++) {
		uint32_t v = r->value[a];

		if (!v)
			continue;
		if ((v >> 30) != dir || ((v >> 8) & 0xff) != KVMSCOPE_KVMIO ||
		    (v & 0xff) != r->nr || (dir == 0 && (v >> 16)))
			fail_msg("%s: value 0x%x does not encode dir %u, type 0xae, nr 0x%x",
				 r->name, v, dir, r->nr);
	}
}

/* "arm64 0x4208ae9b; s390 0x4018ae9b", "ppc64 0x8080aea1", or "". */
static void parse_other_arch_values(const char *cell, struct ref_ioctl *r)
{
	char copy[CELL_MAX], *tok, *save = NULL;

	reference_copy_cell(copy, sizeof(copy), cell);
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char arch[16];
		uint32_t v;

		if (sscanf(tok, " %15s 0x%" SCNx32, arch, &v) != 2)
			fail_msg("%s: other arch value \"%s\" not understood", r->name, cell);
		if (!strcmp(arch, "arm64"))
			r->value[IOCTL_ARCH_ARM64] = v;
		else if (!strcmp(arch, "s390"))
			r->value[IOCTL_ARCH_S390X] = v;
		else if (strcmp(arch, "ppc64"))
			fail_msg("%s: other arch value for unknown arch \"%s\"", r->name, arch);
	}
}

static const struct ref_ioctl *ref_find(const char *name)
{
	for (size_t i = 0; i < n_ref_ioctls; i++)
		if (!strcmp(ref_ioctls[i].name, name))
			return &ref_ioctls[i];
	return NULL;
}

static struct ref_ioctl *ref_new(void)
{
	if (n_ref_ioctls == ARRAY_SIZE(ref_ioctls))
		fail_msg("more ioctls in the reference than the test can hold");
	memset(&ref_ioctls[n_ref_ioctls], 0, sizeof(ref_ioctls[0]));
	return &ref_ioctls[n_ref_ioctls++];
}

/* §1.2: nr | Name | Macro | fd kind | api.rst | x86-64 value | other arch value | ... */
static void parse_ioctl_table(void)
{
	struct table_cursor c;
	struct row r;
	const char *all;
	unsigned long stated;

	table_open(&c, "### 1.2 All ioctls");
	while (table_next(&c, &r)) {
		struct ref_ioctl *e = ref_new();
		unsigned int dir;
		uint32_t nr, x86 = 0;

		if (r.n < 7)
			fail_msg("§1.2: row with %zu cells", r.n);
		reference_copy_cell(e->name, sizeof(e->name), r.cell[1]);
		reference_copy_cell(e->fd_kind, sizeof(e->fd_kind), r.cell[3]);
		if (!parse_u32(r.cell[0], &e->nr))
			fail_msg("§1.2 %s: nr \"%s\"", e->name, r.cell[0]);
		parse_macro(r.cell[2], &dir, &nr);
		if (nr != e->nr)
			fail_msg("§1.2 %s: nr column 0x%x, macro 0x%x", e->name, e->nr, nr);
		if (!strncmp(r.cell[5], "n/a", 3))
			x86 = 0;
		else if (!parse_u32(r.cell[5], &x86) || !x86)
			fail_msg("§1.2 %s: x86-64 value \"%s\"", e->name, r.cell[5]);
		/* Another arch's value where given, else x86-64's (0 if none). */
		for (size_t a = 0; a < IOCTL_ARCHES; a++)
			e->value[a] = x86;
		parse_other_arch_values(r.cell[6], e);
		parse_fd_kinds(r.cell[3], e->on);
		check_value_encoding(e, dir);
	}
	n_ref_current = n_ref_ioctls;
	/* "all 151 `_IO*(KVMIO, ...)` definitions" */
	all = strstr(reference, "(all ");
	assert_non_null(all);
	stated = strtoul(all + 5, NULL, 10);
	if (stated != n_ref_current)
		fail_msg("§1.2 says it lists %lu ioctls, the test read %zu rows", stated,
			 n_ref_current);

	/* §1.4: Name | Macro (L6.1 kvm.h) | x86-64 value */
	table_open(&c, "### 1.4 Legacy ioctls");
	while (table_next(&c, &r)) {
		struct ref_ioctl *e = ref_new();
		unsigned int dir;
		uint32_t v;

		reference_copy_cell(e->name, sizeof(e->name), r.cell[0]);
		parse_macro(r.cell[1], &dir, &e->nr);
		if (!parse_u32(r.cell[2], &v) || !v)
			fail_msg("§1.4 %s: value \"%s\"", e->name, r.cell[2]);
		for (size_t a = 0; a < IOCTL_ARCHES; a++)
			e->value[a] = v;
		e->legacy = true;
		check_value_encoding(e, dir);
	}
	if (n_ref_ioctls == n_ref_current)
		fail_msg("§1.4: no legacy ioctls read");
}

/*
 * The decoding rule, applied to the reference: the first current ioctl
 * (§1.2 order) with @cmd as its value on @arch whose dispatch there takes
 * it on @kind (any kind for UNKNOWN), else a legacy one with that value.
 */
static const char *model_name(uint32_t cmd, unsigned int kind, enum ioctl_arch arch)
{
	unsigned int bit = arch_bit(arch);

	if (!cmd)
		return NULL;
	for (size_t i = 0; i < n_ref_current; i++) {
		const struct ref_ioctl *e = &ref_ioctls[i];
		bool taken = false;

		if (e->value[arch] != cmd)
			continue;
		if (kind == KVMSCOPE_FD_UNKNOWN) {
			for (unsigned int k = 0; k < KVMSCOPE_FD_KINDS; k++)
				taken |= (e->on[k] & bit) != 0;
		} else {
			taken = kind < KVMSCOPE_FD_KINDS && (e->on[kind] & bit);
		}
		if (taken)
			return e->name;
	}
	for (size_t i = n_ref_current; i < n_ref_ioctls; i++)
		if (ref_ioctls[i].value[arch] == cmd)
			return ref_ioctls[i].name;
	return NULL;
}

static int setup(void **state)
{
	reference = reference_read();
	parse_ioctl_table();
	return 0;
}

static int teardown(void **state)
{
	free(reference);
	return 0;
}

static void assert_name(uint32_t cmd, unsigned int kind, enum ioctl_arch arch, const char *want)
{
	const char *got = ioctl_name(cmd, kind, arch);

	if (!want && got)
		fail_msg("0x%x on a %s fd (%s) is named %s, expected no name", cmd,
			 fd_kind_name(kind), ioctl_arch_name(arch), got);
	if (want && (!got || strcmp(got, want)))
		fail_msg("0x%x on a %s fd (%s) is named %s, expected %s", cmd, fd_kind_name(kind),
			 ioctl_arch_name(arch), got ? got : "(none)", want);
}

/* One of names.c's tables against rows [@from, @to) of the reference's. */
static void check_table(const char *which, const struct ioctl_def *t, size_t n, size_t from,
			size_t to)
{
	assert_non_null(t);
	if (n != to - from)
		fail_msg("%s table has %zu ioctls, the reference %zu", which, n, to - from);
	for (size_t i = 0; i < n; i++) {
		const struct ref_ioctl *r = &ref_ioctls[from + i];

		if (strcmp(t[i].name, r->name))
			fail_msg("%s table entry %zu is %s, the reference's row is %s", which, i,
				 t[i].name, r->name);
		if (strlen(t[i].name) >= IOCTL_NAME_MAX)
			fail_msg("%s does not fit IOCTL_NAME_MAX", t[i].name);
		for (size_t a = 0; a < IOCTL_ARCHES; a++)
			if (t[i].value[a] != r->value[a])
				fail_msg("%s on %s: table 0x%x, reference 0x%x", r->name,
					 ioctl_arch_name(all_arches[a]), t[i].value[a],
					 r->value[a]);
		for (unsigned int k = 0; k < KVMSCOPE_FD_KINDS; k++)
			if (t[i].on[k] != r->on[k])
				fail_msg("%s on %s fds: table arches 0x%x, reference 0x%x (\"%s\")",
					 r->name, fd_kind_name(k), t[i].on[k], r->on[k],
					 r->fd_kind);
	}
}

/* names.c's tables are §1.2 and §1.4, row for row, values and fd kinds included. */
static void test_tables_are_the_reference(void **state)
{
	const struct ioctl_def *t, *legacy;
	size_t n, n_legacy;

	t = ioctl_table(&n);
	legacy = ioctl_legacy_table(&n_legacy);
	check_table("§1.2", t, n, 0, n_ref_current);
	check_table("§1.4", legacy, n_legacy, n_ref_current, n_ref_ioctls);
	/* ioctl_number() looks names up: each must be there once. */
	for (size_t i = 0; i < n_ref_ioctls; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ref_ioctls[i].name, ref_ioctls[j].name))
				fail_msg("%s is in the reference twice", ref_ioctls[i].name);
	assert_int_equal(n_ref_current, 151);
	assert_int_equal(n_ref_ioctls - n_ref_current, 9);
}

/*
 * Every row of §1.2 and §1.4: its number on each arch, and its name from
 * that number on every kind of fd its arch's dispatch takes it on.
 */
static void test_every_row_resolves(void **state)
{
	size_t checked = 0, x86_rows = 0;

	for (size_t i = 0; i < n_ref_ioctls; i++) {
		const struct ref_ioctl *r = &ref_ioctls[i];

		for (size_t a = 0; a < IOCTL_ARCHES; a++) {
			enum ioctl_arch arch = all_arches[a];
			uint32_t v = r->value[arch];

			if (ioctl_number(r->name, arch) != v)
				fail_msg("ioctl_number(%s, %s) = 0x%x, reference 0x%x", r->name,
					 ioctl_arch_name(arch), ioctl_number(r->name, arch), v);
			if (!v)
				continue;
			if (r->legacy) {
				for (unsigned int k = 0; k < KVMSCOPE_FD_KINDS; k++)
					assert_name(v, k, arch, r->name);
				checked++;
				continue;
			}
			for (unsigned int k = KVMSCOPE_FD_SYSTEM; k < KVMSCOPE_FD_KINDS; k++) {
				if (!(r->on[k] & arch_bit(arch)))
					continue;
				assert_name(v, k, arch, r->name);
				checked++;
			}
		}
		if (r->value[IOCTL_ARCH_X86_64] && !r->legacy &&
		    strncmp(r->fd_kind, "none (", 6)) {
			/* Each row with an x86-64 value and each fd kind it lists for x86. */
			for (unsigned int k = KVMSCOPE_FD_SYSTEM; k < KVMSCOPE_FD_KINDS; k++)
				if (r->on[k] & IOCTL_ON_X86)
					assert_name(r->value[IOCTL_ARCH_X86_64], k,
						    IOCTL_ARCH_X86_64, r->name);
			x86_rows++;
		}
	}
	/* Most of the header is x86's; a parser that read nothing would pass above. */
	if (checked < 200 || x86_rows < 110)
		fail_msg("only %zu (row, arch, fd kind) checks, %zu x86 rows", checked, x86_rows);
}

/*
 * Every number the reference gives, on every arch and every fd kind (and
 * kinds out of range): named as the rule applied to the reference names
 * it, NULL included (a request an arch does not take on that fd kind).
 */
static void test_every_number_on_every_fd_kind(void **state)
{
	static const unsigned int kinds[] = { KVMSCOPE_FD_UNKNOWN, KVMSCOPE_FD_SYSTEM,
					      KVMSCOPE_FD_VM, KVMSCOPE_FD_VCPU,
					      KVMSCOPE_FD_DEVICE, KVMSCOPE_FD_GMEM,
					      KVMSCOPE_FD_KINDS, 255 };
	size_t named = 0, unnamed = 0;

	for (size_t i = 0; i < n_ref_ioctls; i++)
		for (size_t v = 0; v < IOCTL_ARCHES; v++) {
			uint32_t cmd = ref_ioctls[i].value[v];

			if (!cmd)
				continue;
			for (size_t a = 0; a < IOCTL_ARCHES; a++)
				for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
					const char *want = model_name(cmd, kinds[k], all_arches[a]);

					assert_name(cmd, kinds[k], all_arches[a], want);
					if (want)
						named++;
					else
						unnamed++;
				}
		}
	assert_true(named > 1000);
	assert_true(unnamed > 1000);
}

/*
 * §1.3: every pair that shares an nr.  The entries must be §1.2's (same
 * x86-64 value, same fd kinds), and each name must come back from its own
 * number on its own kind of fd; where both have the same number on an
 * arch, the fd kind alone decides.
 */
static void test_collisions(void **state)
{
	struct table_cursor c;
	struct row r;
	size_t pairs = 0, same_value = 0;

	table_open(&c, "### 1.3 nr collisions");
	while (table_next(&c, &r)) {
		const struct ref_ioctl *members[2];
		const char *p = r.cell[1];
		uint32_t nr;
		size_t n = 0;

		if (!parse_u32(r.cell[0], &nr))
			fail_msg("§1.3: nr \"%s\"", r.cell[0]);
		/* "A (x86 0x...; vm (all)), B (x86 n/a; vcpu (s390))" */
		while (*p) {
			char name[64], x86[32], kinds[CELL_MAX];
			const char *open, *close, *semi;
			const struct ref_ioctl *e;
			uint8_t on[KVMSCOPE_FD_KINDS];
			int depth = 0;

			if (sscanf(p, "%63[A-Z0-9_]", name) != 1)
				fail_msg("§1.3 0x%x: cannot read a name at \"%s\"", nr, p);
			open = p + strlen(name);
			if (strncmp(open, " (", 2))
				fail_msg("§1.3 0x%x: no details after %s", nr, name);
			open++;
			for (close = open; *close; close++) {
				depth += *close == '(' ? 1 : *close == ')' ? -1 : 0;
				if (!depth)
					break;
			}
			semi = strstr(open, "; ");
			if (*close != ')' || !semi || semi > close)
				fail_msg("§1.3 0x%x: %s's details not understood", nr, name);
			snprintf(x86, sizeof(x86), "%.*s", (int)(semi - open - 1), open + 1);
			snprintf(kinds, sizeof(kinds), "%.*s", (int)(close - semi - 2), semi + 2);

			e = ref_find(name);
			if (!e || e->legacy)
				fail_msg("§1.3 names %s, which §1.2 does not have", name);
			if (e->nr != nr)
				fail_msg("§1.3 0x%x: %s has nr 0x%x in §1.2", nr, name, e->nr);
			if (!strcmp(x86, "x86 n/a") ? e->value[IOCTL_ARCH_X86_64] != 0 :
			    strtoul(x86 + 4, NULL, 16) != e->value[IOCTL_ARCH_X86_64] ||
			    strncmp(x86, "x86 0x", 6))
				fail_msg("§1.3 0x%x: %s is \"%s\", §1.2 says 0x%x", nr, name, x86,
					 e->value[IOCTL_ARCH_X86_64]);
			parse_fd_kinds(kinds, on);
			if (memcmp(on, e->on, sizeof(on)))
				fail_msg("§1.3 0x%x: %s's fd kinds \"%s\", §1.2's \"%s\"", nr,
					 name, kinds, e->fd_kind);
			if (n == ARRAY_SIZE(members))
				fail_msg("§1.3 0x%x: more than two ioctls", nr);
			members[n++] = e;
			p = close + 1;
			if (!strncmp(p, ", ", 2))
				p += 2;
			else if (*p)
				fail_msg("§1.3 0x%x: unexpected \"%s\"", nr, p);
		}
		if (n != 2)
			fail_msg("§1.3 0x%x: %zu ioctls, expected two", nr, n);

		for (size_t m = 0; m < 2; m++) {
			const struct ref_ioctl *e = members[m];

			for (size_t a = 0; a < IOCTL_ARCHES; a++)
				for (unsigned int k = 1; k < KVMSCOPE_FD_KINDS; k++)
					if (e->value[a] && (e->on[k] & arch_bit(all_arches[a])))
						assert_name(e->value[a], k, all_arches[a], e->name);
		}
		for (size_t a = 0; a < IOCTL_ARCHES; a++)
			if (members[0]->value[a] && members[0]->value[a] == members[1]->value[a])
				same_value++;
		pairs++;
	}
	assert_int_equal(pairs, 24);
	/* 0xab: KVM_ARM_SET_DEVICE_ADDR and KVM_GET_ONE_REG are 0x4010aeab on all three. */
	assert_int_equal(same_value, 3);
	assert_name(0x4010aeab, KVMSCOPE_FD_VM, IOCTL_ARCH_ARM64, "KVM_ARM_SET_DEVICE_ADDR");
	assert_name(0x4010aeab, KVMSCOPE_FD_VCPU, IOCTL_ARCH_ARM64, "KVM_GET_ONE_REG");
	assert_name(0x4010aeab, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_GET_ONE_REG");
	/* x86 has no KVM_ARM_SET_DEVICE_ADDR handler: on a VM fd the number means nothing. */
	assert_name(0x4010aeab, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, NULL);
	/* Unknown fd kind: §1.2's first row wins. */
	assert_name(0x4010aeab, KVMSCOPE_FD_UNKNOWN, IOCTL_ARCH_ARM64, "KVM_ARM_SET_DEVICE_ADDR");
	assert_name(0x4010aeab, KVMSCOPE_FD_UNKNOWN, IOCTL_ARCH_X86_64, "KVM_GET_ONE_REG");
	/* Same nr and fd kind, different size and direction: the full value decides. */
	assert_name(0xc008ae67, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_IRQ_LINE_STATUS");
	assert_name(0x4010ae67, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_REGISTER_COALESCED_MMIO");
	assert_name(0x4020aea5, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_SIGNAL_MSI");
	assert_name(0x5000aea5, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_SET_XSAVE");
	assert_name(0x5000aea5, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, NULL);
	assert_name(0xaea3, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_GET_TSC_KHZ");
	assert_name(0x4068aea3, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_ENABLE_CAP");
	assert_name(0x400caed0, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_XEN_HVM_EVTCHN_SEND");
	assert_name(0xc020aed0, KVMSCOPE_FD_VCPU, IOCTL_ARCH_S390X, "KVM_S390_PV_CPU_COMMAND");
}

/* §1.4: the legacy numbers, on any fd kind, and KVM_GET_XSAVE beside nr 0xa4's. */
static void test_legacy(void **state)
{
	struct table_cursor c;
	struct row r;
	size_t n = 0;

	table_open(&c, "### 1.4 Legacy ioctls");
	while (table_next(&c, &r)) {
		uint32_t v;

		assert_true(parse_u32(r.cell[2], &v));
		for (unsigned int k = 0; k < KVMSCOPE_FD_KINDS; k++)
			assert_name(v, k, IOCTL_ARCH_X86_64, r.cell[0]);
		assert_int_equal(ioctl_number(r.cell[0], IOCTL_ARCH_X86_64), v);
		n++;
	}
	assert_int_equal(n, 9);
	assert_name(0x4018ae40, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_SET_MEMORY_REGION");
	assert_name(0x4040aea4, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_ASSIGN_SET_INTX_MASK");
	assert_name(0x9000aea4, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_GET_XSAVE");
}

/* The brief's spot checks, and others, written out so that they hold without the parser. */
static void test_spot_checks(void **state)
{
	assert_name(0xae01, KVMSCOPE_FD_SYSTEM, IOCTL_ARCH_X86_64, "KVM_CREATE_VM");
	assert_name(0xae01, KVMSCOPE_FD_SYSTEM, IOCTL_ARCH_ARM64, "KVM_CREATE_VM");
	assert_name(0xae01, KVMSCOPE_FD_UNKNOWN, IOCTL_ARCH_X86_64, "KVM_CREATE_VM");
	/* Sent to a VM fd, KVM_CREATE_VM is not something that fd takes. */
	assert_name(0xae01, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, NULL);
	assert_name(0xae03, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_CHECK_EXTENSION");
	assert_name(0xc008aeba, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_MEMORY_ENCRYPT_OP");
	assert_name(0xc008aeba, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_MEMORY_ENCRYPT_OP");
	assert_name(0xc008aeba, KVMSCOPE_FD_VM, IOCTL_ARCH_ARM64, NULL);
	assert_name(0x4020aeae, KVMSCOPE_FD_VCPU, IOCTL_ARCH_ARM64, "KVM_ARM_VCPU_INIT");
	assert_name(0x4020aeae, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, NULL);
	assert_name(0xc020aec5, KVMSCOPE_FD_VM, IOCTL_ARCH_S390X, "KVM_S390_PV_COMMAND");
	assert_name(0xc020aec5, KVMSCOPE_FD_VCPU, IOCTL_ARCH_S390X, NULL);
	assert_name(0xae80, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_RUN");
	assert_name(0x8090ae81, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, "KVM_GET_REGS");
	assert_name(0x8360ae81, KVMSCOPE_FD_VCPU, IOCTL_ARCH_ARM64, "KVM_GET_REGS");
	assert_name(0x8080ae81, KVMSCOPE_FD_VCPU, IOCTL_ARCH_S390X, "KVM_GET_REGS");
	/* Another arch's size is another number. */
	assert_name(0x8360ae81, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, NULL);
	assert_name(0xaece, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_GET_STATS_FD");
	assert_name(0xc040aed4, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_CREATE_GUEST_MEMFD");
	assert_name(0x4040aea0, KVMSCOPE_FD_VCPU, IOCTL_ARCH_ARM64, "KVM_SET_VCPU_EVENTS");
	assert_name(0x4070aea0, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, "KVM_SET_PIT2");
	/* Device fds. */
	assert_name(0x4018aee1, KVMSCOPE_FD_DEVICE, IOCTL_ARCH_X86_64, "KVM_SET_DEVICE_ATTR");
	assert_name(0x4018aee2, KVMSCOPE_FD_DEVICE, IOCTL_ARCH_ARM64, "KVM_GET_DEVICE_ATTR");
	assert_name(0x4018aee3, KVMSCOPE_FD_DEVICE, IOCTL_ARCH_S390X, "KVM_HAS_DEVICE_ATTR");
	assert_name(0x4018aee2, KVMSCOPE_FD_SYSTEM, IOCTL_ARCH_X86_64, "KVM_GET_DEVICE_ATTR");
	assert_name(0x4018aee1, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, NULL);
	assert_name(0x4018aee1, KVMSCOPE_FD_VM, IOCTL_ARCH_ARM64, "KVM_SET_DEVICE_ATTR");
	/* guest_memfd takes no KVMIO ioctl. */
	assert_name(0xae80, KVMSCOPE_FD_GMEM, IOCTL_ARCH_X86_64, NULL);
	/* Unknown numbers. */
	assert_name(0xc008aeff, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, NULL);
	assert_name(0xc008aeff, KVMSCOPE_FD_UNKNOWN, IOCTL_ARCH_X86_64, NULL);
	assert_name(0, KVMSCOPE_FD_UNKNOWN, IOCTL_ARCH_X86_64, NULL);
	/* Not nr alone: KVM_RUN's nr with a size is not KVM_RUN. */
	assert_name(0x8008ae80, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, NULL);
	assert_null(ioctl_name(0xae80, KVMSCOPE_FD_VCPU, (enum ioctl_arch)IOCTL_ARCHES));

	assert_int_equal(ioctl_number("KVM_CREATE_VM", IOCTL_ARCH_X86_64), 0xae01);
	assert_int_equal(ioctl_number("KVM_MEMORY_ENCRYPT_OP", IOCTL_ARCH_X86_64), 0xc008aeba);
	assert_int_equal(ioctl_number("KVM_ARM_VCPU_INIT", IOCTL_ARCH_ARM64), 0x4020aeae);
	assert_int_equal(ioctl_number("KVM_ARM_VCPU_INIT", IOCTL_ARCH_X86_64), 0);
	assert_int_equal(ioctl_number("KVM_S390_PV_COMMAND", IOCTL_ARCH_S390X), 0xc020aec5);
	assert_int_equal(ioctl_number("KVM_S390_PV_CPU_COMMAND", IOCTL_ARCH_S390X), 0xc020aed0);
	assert_int_equal(ioctl_number("KVM_SET_GUEST_DEBUG", IOCTL_ARCH_ARM64), 0x4208ae9b);
	assert_int_equal(ioctl_number("KVM_SET_CPUID2", IOCTL_ARCH_X86_64), 0x4008ae90);
	assert_int_equal(ioctl_number("KVM_NOPE", IOCTL_ARCH_X86_64), 0);
	assert_int_equal(ioctl_number("kvm_run", IOCTL_ARCH_X86_64), 0);
	assert_int_equal(ioctl_number(NULL, IOCTL_ARCH_X86_64), 0);
	assert_int_equal(ioctl_number("KVM_RUN", (enum ioctl_arch)IOCTL_ARCHES), 0);
}

static void test_unknown_requests_as_numbers(void **state)
{
	char buf[IOCTL_NAME_MAX];

	assert_ptr_equal(ioctl_name_or_number(0xc008aeff, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, buf,
					      sizeof(buf)), buf);
	assert_string_equal(buf, "ioctl 0xc008aeff (_IOWR nr 0xff, 8 bytes)");
	assert_string_equal(ioctl_name_or_number(0xc008aeba, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64,
						 buf, sizeof(buf)),
			    "KVM_MEMORY_ENCRYPT_OP");
	/* A VM's calls over its key share. */
	assert_string_equal(ioctl_name_or_number(KVMSCOPE_IOCTL_CMD_FOLDED, KVMSCOPE_FD_UNKNOWN,
						 IOCTL_ARCH_X86_64, buf, sizeof(buf)), "OTHER");
	assert_string_equal(ioctl_name_or_number(0xae01, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, buf,
						 sizeof(buf)),
			    "ioctl 0xae01 (_IO nr 0x01)");
	assert_string_equal(ioctl_name_or_number(0x4020aeae, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64,
						 buf, sizeof(buf)),
			    "ioctl 0x4020aeae (_IOW nr 0xae, 32 bytes)");
	assert_string_equal(ioctl_name_or_number(0x8360ae81, KVMSCOPE_FD_VCPU, IOCTL_ARCH_S390X,
						 buf, sizeof(buf)),
			    "ioctl 0x8360ae81 (_IOR nr 0x81, 864 bytes)");
	/* Not KVMIO at all (TCGETS): the type byte is shown. */
	assert_string_equal(ioctl_name_or_number(0x5401, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, buf,
						 sizeof(buf)),
			    "ioctl 0x5401 (_IO type 0x54 nr 0x01)");
	/* The longest text fits IOCTL_NAME_MAX. */
	assert_string_equal(ioctl_name_or_number(0xfffffffe, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64,
						 buf, sizeof(buf)),
			    "ioctl 0xfffffffe (_IOWR type 0xff nr 0xfe, 16383 bytes)");
	/* A short buffer is cut, never overrun. */
	memset(buf, 'X', sizeof(buf));
	ioctl_name_or_number(0xc008aeff, KVMSCOPE_FD_VM, IOCTL_ARCH_X86_64, buf, 9);
	assert_string_equal(buf, "ioctl 0x");
	assert_int_equal(buf[9], 'X');
	ioctl_name_or_number(0xae80, KVMSCOPE_FD_VCPU, IOCTL_ARCH_X86_64, buf, 4);
	assert_string_equal(buf, "KVM");
}

static void test_fd_kinds_and_arches(void **state)
{
	assert_string_equal(fd_kind_name(KVMSCOPE_FD_SYSTEM), "system");
	assert_string_equal(fd_kind_name(KVMSCOPE_FD_VM), "vm");
	assert_string_equal(fd_kind_name(KVMSCOPE_FD_VCPU), "vcpu");
	assert_string_equal(fd_kind_name(KVMSCOPE_FD_DEVICE), "device");
	assert_string_equal(fd_kind_name(KVMSCOPE_FD_GMEM), "guest_memfd");
	assert_string_equal(fd_kind_name(KVMSCOPE_FD_UNKNOWN), "unknown");
	assert_string_equal(fd_kind_name(KVMSCOPE_FD_KINDS), "unknown");
	assert_string_equal(fd_kind_name(~0u), "unknown");

	assert_string_equal(ioctl_arch_name(IOCTL_ARCH_X86_64), "x86_64");
	assert_string_equal(ioctl_arch_name(IOCTL_ARCH_ARM64), "arm64");
	assert_string_equal(ioctl_arch_name(IOCTL_ARCH_S390X), "s390x");
	assert_string_equal(ioctl_arch_name((enum ioctl_arch)IOCTL_ARCHES), "unknown");
#if defined(__aarch64__)
	assert_int_equal(ioctl_arch_host(), IOCTL_ARCH_ARM64);
#elif defined(__s390x__)
	assert_int_equal(ioctl_arch_host(), IOCTL_ARCH_S390X);
#else
	assert_int_equal(ioctl_arch_host(), IOCTL_ARCH_X86_64);
#endif
}

/* §1.5.1: every machine type of the three arches, and what it protects. */
static void test_vm_types(void **state)
{
	struct table_cursor c;
	struct row r;
	char buf[IOCTL_NAME_MAX];
	size_t x86 = 0, arm64 = 0, s390 = 0;

	table_open(&c, "#### 1.5.1 KVM_CREATE_VM machine types");
	while (table_next(&c, &r)) {
		const char *arch = r.cell[0], *name = r.cell[1], *value = r.cell[2];
		uint32_t v;

		if (!strcmp(arch, "x86")) {
			char want[32];
			size_t len;

			assert_true(parse_u32(value, &v));
			assert_string_equal(vm_type_name(v, IOCTL_ARCH_X86_64, buf, sizeof(buf)),
					    name);
			/* KVM_X86_<X>_VM asks for protection "<x>", DEFAULT for none. */
			assert_int_equal(strncmp(name, "KVM_X86_", 8), 0);
			len = strlen(name + 8);
			assert_true(len > 3 && !strcmp(name + 8 + len - 3, "_VM"));
			snprintf(want, sizeof(want), "%.*s", (int)(len - 3), name + 8);
			for (char *p = want; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			if (!strcmp(want, "default"))
				strcpy(want, "none");
			assert_string_equal(vm_type_protection(v, IOCTL_ARCH_X86_64), want);
			x86++;
		} else if (!strcmp(arch, "arm64")) {
			if (!strcmp(name, "KVM_VM_TYPE_ARM_PROTECTED")) {
				/* "1UL << 31 (pKVM protected VM)" */
				assert_int_equal(strncmp(value, "1UL << 31", 9), 0);
				assert_string_equal(vm_type_name(1ull << 31, IOCTL_ARCH_ARM64, buf,
								 sizeof(buf)),
						    "KVM_VM_TYPE_ARM_PROTECTED|ipa_bits=40");
				assert_string_equal(
					vm_type_protection(1ull << 31, IOCTL_ARCH_ARM64), "pkvm");
			} else {
				/* "bits[7:0] = log2(IPA size); 0 = default 40 bits" */
				const char *d = strstr(value, "0 = default ");
				unsigned int bits;
				char want[32];

				assert_string_equal(name, "KVM_VM_TYPE_ARM_IPA_SIZE(x)");
				assert_non_null(d);
				assert_int_equal(sscanf(d, "0 = default %u bits", &bits), 1);
				snprintf(want, sizeof(want), "ipa_bits=%u", bits);
				assert_string_equal(vm_type_name(0, IOCTL_ARCH_ARM64, buf,
								 sizeof(buf)), want);
				assert_string_equal(vm_type_protection(0, IOCTL_ARCH_ARM64),
						    "none");
			}
			arm64++;
		} else if (!strcmp(arch, "s390")) {
			assert_true(parse_u32(value, &v));
			assert_string_equal(vm_type_name(v, IOCTL_ARCH_S390X, buf, sizeof(buf)),
					    name);
			assert_string_equal(vm_type_protection(v, IOCTL_ARCH_S390X), "none");
			s390++;
		}
	}
	assert_int_equal(x86, 6);
	assert_int_equal(arm64, 2);
	assert_int_equal(s390, 1);

	assert_string_equal(vm_type_name(6, IOCTL_ARCH_X86_64, buf, sizeof(buf)), "6");
	assert_string_equal(vm_type_protection(6, IOCTL_ARCH_X86_64), "unknown");
	assert_string_equal(vm_type_name(1ull << 32, IOCTL_ARCH_X86_64, buf, sizeof(buf)),
			    "4294967296");
	assert_string_equal(vm_type_name(48, IOCTL_ARCH_ARM64, buf, sizeof(buf)), "ipa_bits=48");
	assert_string_equal(vm_type_name((1ull << 31) | 52, IOCTL_ARCH_ARM64, buf, sizeof(buf)),
			    "KVM_VM_TYPE_ARM_PROTECTED|ipa_bits=52");
	assert_string_equal(vm_type_protection((1ull << 31) | 52, IOCTL_ARCH_ARM64), "pkvm");
	assert_string_equal(vm_type_name(0x100 | 44, IOCTL_ARCH_ARM64, buf, sizeof(buf)),
			    "ipa_bits=44|0x100");
	assert_string_equal(vm_type_protection(5, IOCTL_ARCH_ARM64), "none");
	assert_string_equal(vm_type_name(0, IOCTL_ARCH_S390X, buf, sizeof(buf)), "default");
	assert_string_equal(vm_type_name(2, IOCTL_ARCH_S390X, buf, sizeof(buf)), "0x2");
	assert_string_equal(vm_type_protection(0, IOCTL_ARCH_S390X), "none");
	assert_string_equal(vm_type_name(0, (enum ioctl_arch)IOCTL_ARCHES, buf, sizeof(buf)),
			    "0x0");
	assert_string_equal(vm_type_protection(0, (enum ioctl_arch)IOCTL_ARCHES), "unknown");
	/* Cut, not overrun. */
	memset(buf, 'X', sizeof(buf));
	vm_type_name((1ull << 31) | 0x100, IOCTL_ARCH_ARM64, buf, 8);
	assert_string_equal(buf, "KVM_VM_");
	assert_int_equal(buf[8], 'X');
}

/*
 * One id | name table of the reference against a lookup, both ways: each
 * row is named, and no id up to @scan (nor 0xffffffff) has a name the
 * table lacks.  @name_col: the cell with the name, first word.  Rows
 * sharing an id: the one marked "(alias" is the name.
 */
static void check_id_table(const char *heading, size_t name_col, const char *(*lookup)(uint32_t),
			   uint32_t scan, size_t min_rows)
{
	struct table_cursor c;
	struct row r;
	uint32_t ids[128];
	size_t n = 0;

	table_open(&c, heading);
	while (table_next(&c, &r)) {
		char name[96];
		uint32_t id;
		bool dup = false;

		if (!parse_u32(r.cell[0], &id))
			fail_msg("%s: id \"%s\"", heading, r.cell[0]);
		first_word(name, sizeof(name), r.cell[name_col]);
		for (size_t i = 0; i < n; i++)
			dup |= ids[i] == id;
		if (dup && !strstr(r.cell[name_col], "(alias"))
			fail_msg("%s: id %u listed twice, neither marked an alias", heading, id);
		if (!dup && n < ARRAY_SIZE(ids))
			ids[n++] = id;
		/* The first row of an id, unless a later one is its alias. */
		if (!dup) {
			struct table_cursor look = c;
			struct row later;
			bool aliased = false;

			while (table_next(&look, &later)) {
				uint32_t later_id;

				if (parse_u32(later.cell[0], &later_id) && later_id == id &&
				    strstr(later.cell[name_col], "(alias"))
					aliased = true;
			}
			if (aliased)
				continue;
		}
		if (!lookup(id) || strcmp(lookup(id), name))
			fail_msg("%s: %u (0x%x) is named %s, reference %s", heading, id, id,
				 lookup(id) ? lookup(id) : "(none)", name);
	}
	if (n < min_rows)
		fail_msg("%s: %zu ids read, expected at least %zu", heading, n, min_rows);
	for (uint32_t id = 0;; id++) {
		uint32_t probe = id <= scan ? id : 0xffffffffu;
		bool listed = false;

		for (size_t i = 0; i < n; i++)
			listed |= ids[i] == probe;
		if (lookup(probe) && !listed)
			fail_msg("%s: %u (0x%x) is named %s, which the reference does not list",
				 heading, probe, probe, lookup(probe));
		if (probe == 0xffffffffu)
			break;
	}
}

static const char *arm_feature_lookup(uint32_t bit)
{
	return arm_vcpu_feature_name(bit);
}

static void test_sub_command_tables(void **state)
{
	check_id_table("#### 2.1.1 enum sev_cmd_id", 1, sev_cmd_name, 4096, 27);
	check_id_table("#### 2.1.3 SEV firmware status codes", 1, sev_error_name, 0x10000, 56);
	check_id_table("#### enum kvm_tdx_cmd_id", 1, tdx_cmd_name, 4096, 6);
	check_id_table("#### enum pv_cmd_id", 1, pv_cmd_name, 4096, 11);
	check_id_table("#### 1.5.2 KVM_ARM_VCPU_INIT feature bits", 1, arm_feature_lookup, 4096,
		       9);
}

/* §1.5.2's `target` bullet: "KVM_ARM_TARGET_AEM_V8 0, FOUNDATION_V8 1, ... GENERIC_V8 5 (...)". */
static void test_arm_targets(void **state)
{
	const char *p = strstr(reference, "`target` values: ");
	size_t n = 0;

	assert_non_null(p);
	p += strlen("`target` values: ");
	for (;;) {
		char word[64], want[96];
		unsigned int id;
		int used;

		if (sscanf(p, "%63[A-Z0-9_] %u%n", word, &id, &used) != 2)
			break;
		snprintf(want, sizeof(want), "%s%s",
			 strncmp(word, "KVM_ARM_TARGET_", 15) ? "KVM_ARM_TARGET_" : "", word);
		if (!arm_target_name(id) || strcmp(arm_target_name(id), want))
			fail_msg("arm target %u is %s, reference %s", id,
				 arm_target_name(id) ? arm_target_name(id) : "(none)", want);
		n++;
		p += used;
		if (strncmp(p, ", ", 2))
			break;
		p += 2;
	}
	assert_int_equal(n, 6);
	for (uint32_t id = 6; id < 4096; id++)
		assert_null(arm_target_name(id));
	assert_null(arm_target_name(0xffffffff));
	assert_string_equal(arm_target_name(5), "KVM_ARM_TARGET_GENERIC_V8");
}

static void test_arm_features_text(void **state)
{
	char buf[ARM_VCPU_FEATURES_TEXT_MAX], small[12];

	assert_string_equal(arm_vcpu_feature_name(7), "KVM_ARM_VCPU_HAS_EL2");
	assert_null(arm_vcpu_feature_name(9));
	assert_string_equal(arm_vcpu_features_text(0, buf, sizeof(buf)), "none");
	assert_string_equal(arm_vcpu_features_text(1u << 2, buf, sizeof(buf)),
			    "KVM_ARM_VCPU_PSCI_0_2");
	assert_string_equal(arm_vcpu_features_text(1u << 2 | 1u << 7 | 1u << 12, buf, sizeof(buf)),
			    "KVM_ARM_VCPU_PSCI_0_2|KVM_ARM_VCPU_HAS_EL2|bit12");
	assert_string_equal(arm_vcpu_features_text(1u << 31, buf, sizeof(buf)), "bit31");
	/* Every bit fits ARM_VCPU_FEATURES_TEXT_MAX. */
	arm_vcpu_features_text(0xffffffff, buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf) - 1);
	assert_non_null(strstr(buf, "KVM_ARM_VCPU_POWER_OFF|"));
	assert_non_null(strstr(buf, "|KVM_ARM_VCPU_HAS_EL2_E2H0|bit9|"));
	assert_non_null(strstr(buf, "|bit31"));
	/* Cut, not overrun. */
	memset(small, 'X', sizeof(small));
	arm_vcpu_features_text(1u << 2 | 1u << 7, small, 8);
	assert_string_equal(small, "KVM_ARM");
	assert_int_equal(small[8], 'X');
	arm_vcpu_features_text(1u << 12 | 1u << 13 | 1u << 14, small, 12);
	assert_string_equal(small, "bit12|bit13");
	arm_vcpu_features_text(1u << 12 | 1u << 13 | 1u << 14, small, 11);
	assert_string_equal(small, "bit12|bit1");
}

/*
 * §2.3 "Meaning of rc / rrc": rc | Name | Meaning.  A value cell is one rc,
 * several ("0x0109 / 0x010f / ..."), or a bit ("0x8000 (bit)").  Each
 * meaning given starts with the reference's words (up to any " (").
 */
static void test_pv_rc_meanings(void **state)
{
	struct table_cursor c;
	struct row r;
	uint32_t listed[32];
	size_t n = 0;
	uint16_t flag = 0;

	table_open(&c, "#### Meaning of rc / rrc");
	while (table_next(&c, &r)) {
		char words[CELL_MAX];
		const char *p = r.cell[0];
		bool bit = strstr(r.cell[0], "(bit)") != NULL;

		reference_copy_cell(words, sizeof(words), r.cell[2]);
		if (strstr(words, " ("))
			*strstr(words, " (") = '\0';
		for (;;) {
			unsigned int rc;
			int used;
			const char *got;

			if (sscanf(p, "0x%x%n", &rc, &used) != 1)
				fail_msg("§2.3 rc cell \"%s\" not understood", r.cell[0]);
			got = pv_rc_meaning((uint16_t)rc);
			if (!got || strncmp(got, words, strlen(words)))
				fail_msg("rc 0x%04x means \"%s\", reference \"%s\"", rc,
					 got ? got : "(none)", words);
			if (bit)
				flag = (uint16_t)rc;
			else
				listed[n++] = rc;
			p += used;
			if (strncmp(p, " / ", 3))
				break;
			p += 3;
		}
	}
	assert_int_equal(n, 11);
	assert_int_equal(flag, 0x8000);
	/* The flag means the same whatever else rc holds; nothing unlisted has a meaning. */
	for (uint32_t rc = 0; rc <= 0xffff; rc++) {
		bool is_listed = false;

		for (size_t i = 0; i < n; i++)
			is_listed |= listed[i] == rc;
		if (rc & flag)
			assert_string_equal(pv_rc_meaning((uint16_t)rc), pv_rc_meaning(flag));
		else if (!is_listed && pv_rc_meaning((uint16_t)rc))
			fail_msg("rc 0x%04x has a meaning the reference does not give", rc);
	}
	assert_string_equal(pv_rc_meaning(1), "success");
	assert_string_equal(pv_rc_meaning(0x8001), pv_rc_meaning(0x8000));
}

/* One KVM_CAP_* and its number, as the reference gives it somewhere. */
struct ref_cap {
	char name[64];
	uint32_t number;
};

static void add_cap(struct ref_cap *caps, size_t *n, size_t max, const char *name, uint32_t number)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp(caps[i].name, name) && caps[i].number != number)
			fail_msg("%s is both %u and %u in the reference", name, caps[i].number,
				 number);
		if (caps[i].number == number && strcmp(caps[i].name, name))
			fail_msg("cap %u is both %s and %s in the reference", number,
				 caps[i].name, name);
		if (caps[i].number == number)
			return;
	}
	if (*n == max)
		fail_msg("more caps in the reference than the test can hold");
	reference_copy_cell(caps[*n].name, sizeof(caps[*n].name), name);
	caps[(*n)++].number = number;
}

/*
 * §1.5.4's table, and every other cap §1 and §2 number in passing:
 * "KVM_CAP_VM_TYPES (235)" or "is 249, KVM_CAP_S390_HPAGE_2G)".
 */
static void test_caps(void **state)
{
	struct ref_cap caps[64];
	struct table_cursor c;
	struct row r;
	const char *start = strstr(reference, "## 1. KVM ioctl numbers");
	const char *end = strstr(reference, "## 3. Exit reason tables");
	size_t n = 0, from_table;

	table_open(&c, "#### 1.5.4 Capabilities relevant");
	while (table_next(&c, &r)) {
		uint32_t number;

		if (!parse_u32(r.cell[1], &number))
			fail_msg("§1.5.4: number \"%s\"", r.cell[1]);
		add_cap(caps, &n, ARRAY_SIZE(caps), r.cell[0], number);
	}
	from_table = n;
	assert_int_equal(from_table, 19);

	assert_non_null(start);
	assert_non_null(end);
	for (const char *p = strstr(start, "KVM_CAP_"); p && p < end;
	     p = strstr(p + 1, "KVM_CAP_")) {
		char name[64];
		unsigned int number;
		const char *q;

		if (sscanf(p, "%63[A-Z0-9_]", name) != 1 || !strcmp(name, "KVM_CAP_"))
			continue;
		q = p + strlen(name);
		if (sscanf(q, " (%u)", &number) == 1) {
			add_cap(caps, &n, ARRAY_SIZE(caps), name, number);
			continue;
		}
		/* "..., 249, KVM_CAP_S390_HPAGE_2G)" */
		if (p - start > 2 && !strncmp(p - 2, ", ", 2)) {
			const char *d = p - 2;

			while (d > start && isdigit((unsigned char)d[-1]))
				d--;
			if (d < p - 2 && sscanf(d, "%u", &number) == 1)
				add_cap(caps, &n, ARRAY_SIZE(caps), name, number);
		}
	}
	/* At least 249 beyond the table. */
	assert_true(n > from_table);

	for (size_t i = 0; i < n; i++)
		if (!kvm_cap_name(caps[i].number) || strcmp(kvm_cap_name(caps[i].number),
							      caps[i].name))
			fail_msg("cap %u is named %s, reference %s", caps[i].number,
				 kvm_cap_name(caps[i].number) ? kvm_cap_name(caps[i].number) :
								"(none)",
				 caps[i].name);
	for (uint32_t cap = 0; cap < 4096; cap++) {
		bool listed = false;

		for (size_t i = 0; i < n; i++)
			listed |= caps[i].number == cap;
		if (kvm_cap_name(cap) && !listed)
			fail_msg("cap %u is named %s, which the reference does not number", cap,
				 kvm_cap_name(cap));
	}
	assert_string_equal(kvm_cap_name(235), "KVM_CAP_VM_TYPES");
	assert_string_equal(kvm_cap_name(249), "KVM_CAP_S390_HPAGE_2G");
	assert_null(kvm_cap_name(0xffffffff));
}

/* Spot checks of the sub-command tables that hold without the parser. */
static void test_sub_command_spot_checks(void **state)
{
	assert_string_equal(sev_cmd_name(2), "KVM_SEV_LAUNCH_START");
	assert_string_equal(sev_cmd_name(22), "KVM_SEV_INIT2");
	assert_string_equal(sev_cmd_name(100), "KVM_SEV_SNP_LAUNCH_START");
	assert_null(sev_cmd_name(23));
	assert_null(sev_cmd_name(104));
	assert_string_equal(sev_error_name(0), "SEV_RET_SUCCESS");
	assert_string_equal(sev_error_name(1), "SEV_RET_INVALID_PLATFORM_STATE");
	assert_string_equal(sev_error_name(3), "SEV_RET_INVALID_CONFIG");
	assert_string_equal(sev_error_name(0xffffffff), "SEV_RET_NO_FW_CALL");
	assert_null(sev_error_name(0x1e));
	assert_null(sev_error_name(0x34));
	assert_null(sev_error_name(0x40));
	assert_string_equal(tdx_cmd_name(0), "KVM_TDX_CAPABILITIES");
	assert_string_equal(tdx_cmd_name(5), "KVM_TDX_GET_CPUID");
	assert_null(tdx_cmd_name(6));
	assert_string_equal(pv_cmd_name(0), "KVM_PV_ENABLE");
	assert_string_equal(pv_cmd_name(10), "KVM_PV_ASYNC_CLEANUP_PERFORM");
	assert_null(pv_cmd_name(11));
}

static void test_result_names(void **state)
{
	char buf[IOCTL_NAME_MAX];

	assert_ptr_equal(ioctl_result_name(-25, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "ENOTTY");
	assert_string_equal(ioctl_result_name(25, buf, sizeof(buf)), "ENOTTY");
	assert_string_equal(ioctl_result_name(0, buf, sizeof(buf)), "ok");
	assert_string_equal(ioctl_result_name(-EINVAL, buf, sizeof(buf)), "EINVAL");
	assert_string_equal(ioctl_result_name(-ENOENT, buf, sizeof(buf)), "ENOENT");
	assert_string_equal(ioctl_result_name(-EFAULT, buf, sizeof(buf)), "EFAULT");
	assert_string_equal(ioctl_result_name(-4000, buf, sizeof(buf)), "E4000");
	assert_string_equal(ioctl_result_name(INT_MIN, buf, sizeof(buf)), "E2147483648");
	assert_string_equal(ioctl_result_name(INT_MAX, buf, sizeof(buf)), "E2147483647");
	memset(buf, 'X', sizeof(buf));
	ioctl_result_name(-ENOTTY, buf, 4);
	assert_string_equal(buf, "ENO");
	assert_int_equal(buf[4], 'X');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_are_the_reference),
		cmocka_unit_test(test_every_row_resolves),
		cmocka_unit_test(test_every_number_on_every_fd_kind),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_spot_checks),
		cmocka_unit_test(test_unknown_requests_as_numbers),
		cmocka_unit_test(test_fd_kinds_and_arches),
		cmocka_unit_test(test_vm_types),
		cmocka_unit_test(test_sub_command_tables),
		cmocka_unit_test(test_arm_targets),
		cmocka_unit_test(test_arm_features_text),
		cmocka_unit_test(test_pv_rc_meanings),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_sub_command_spot_checks),
		cmocka_unit_test(test_result_names),
	};

	return cmocka_run_group_tests_name("ioctl_names", tests, setup, teardown);
}
