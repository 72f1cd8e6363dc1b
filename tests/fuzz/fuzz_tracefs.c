// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tracefs event format file (tracefs_field_layout): the offsets the
 * classic tracepoint programs are checked against.  The field name is
 * before the first NUL, the format text after it.
 */
#include "fuzz.h"
#include "tracefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t k = fuzz_split(data, size);
	char *field = fuzz_string(data, k), *format = fuzz_string(data + (k < size ? k + 1 : k),
								   size - (k < size ? k + 1 : k));
	static const char *const known[] = { "exit_reason", "isa", "vcpu_id", "port", "errno", NULL };
	int offset, fsize;

	tracefs_field_layout(format, field, &offset, &fsize);
	for (int i = 0; known[i]; i++)
		if (tracefs_field_layout(format, known[i], &offset, &fsize) == 0 &&
		    (offset < 0 || fsize <= 0))
			abort();
	free(field);
	free(format);
	return 0;
}
