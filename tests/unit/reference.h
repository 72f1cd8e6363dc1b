/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The unit tests that check name tables against the team's reference
 * (kvm-decode.md): reading it, and splitting its markdown table rows.
 * Include after unit.h.
 */
#ifndef KVMSCOPE_TESTS_REFERENCE_H
#define KVMSCOPE_TESTS_REFERENCE_H

#include <ctype.h>

/*
 * The team's reference next to the project, else the copy in the tree
 * (a clone elsewhere, as CI may make, has no ../shared);
 * $KVMSCOPE_REFERENCE overrides both.
 */
#define REFERENCE_DEFAULT "../shared/reference/kvm-decode.md"
#define REFERENCE_IN_TREE "tests/reference/kvm-decode.md"

/* The whole reference, malloc'd and NUL-terminated; fails the test if it cannot. */
static inline char *reference_read(void)
{
	const char *path = getenv("KVMSCOPE_REFERENCE");
	struct stat st;
	char *text;
	FILE *f;

	if (!path || !path[0])
		path = access(REFERENCE_DEFAULT, R_OK) == 0 ? REFERENCE_DEFAULT : REFERENCE_IN_TREE;
	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st) < 0)
		fail_msg("cannot read the decode reference %s: %s "
			 "(set KVMSCOPE_REFERENCE to its path)", path, strerror(errno));
	text = malloc((size_t)st.st_size + 1);
	assert_non_null(text);
	if (!st.st_size || fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		fail_msg("cannot read the decode reference %s: empty or unreadable", path);
	text[st.st_size] = '\0';
	fclose(f);
	return text;
}

/*
 * Split "| a | b | c |" into trimmed cells of @cell_size bytes each, at
 * most @max_cells of them, into @cells (an array of @max_cells cells laid
 * out one after another); returns how many.  A cell that does not fit
 * fails the test.
 */
static inline size_t reference_split_row(const char *line, char *cells, size_t cell_size,
					 size_t max_cells)
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
		if (len >= cell_size)
			fail_msg("reference cell longer than the test's %zu-byte buffer: %.60s...",
				 cell_size - 1, s);
		memcpy(cells + n * cell_size, s, len);
		cells[n * cell_size + len] = '\0';
		n++;
		p = bar + 1;
	}
	return n;
}

/* Copy a cell that must fit @dst_len (else the test fails: a buffer to grow). */
static inline void reference_copy_cell(char *dst, size_t dst_len, const char *cell)
{
	size_t n = strlen(cell);

	if (n >= dst_len)
		fail_msg("reference cell \"%.60s\" longer than %zu bytes", cell, dst_len - 1);
	memcpy(dst, cell, n + 1);
}

#endif
