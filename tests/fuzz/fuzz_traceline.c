// SPDX-License-Identifier: GPL-2.0-only
/* A recorded trace line (traceline_parse_exit): x86, arm64 and s390 exit events. */
#include "fuzz.h"
#include "traceline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size);
	struct traceline_exit e;

	traceline_parse_exit(line, &e);
	free(line);
	return 0;
}
