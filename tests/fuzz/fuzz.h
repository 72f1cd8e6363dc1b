/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the libFuzzer harnesses share (tests/fuzz/fuzz_*.c).  Each one
 * feeds one parser of kvmscoped what a client, a guest owner or the
 * kernel controls; `make fuzz` runs them, `make test` replays their
 * corpora (tests/fuzz/corpus/<harness>/) so a regression fails CI.
 */
#ifndef KVMSCOPE_FUZZ_H
#define KVMSCOPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* @data as a NUL-terminated string (the parser's contract); free() it. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Split @data at its first NUL: a selector or name before it, the text after. */
static inline size_t fuzz_split(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);

	return nul ? (size_t)(nul - data) : size;
}

#endif
