// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/kallsyms (ksym_table_parse_kallsyms), the table text pokes are
 * symbolized with: module symbols are chosen by whoever loads a module.
 * Every address found in the table is then looked up.
 */
#include "fuzz.h"
#include "livepatch/textpoke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ksym_table t = { 0 };
	uint64_t off;

	if (ksym_table_parse_kallsyms(&t, (const char *)data, size) == 0)
		for (size_t i = 0; i < t.n; i++)
			if (!ksym_table_find(&t, t.v[i].addr, &off))
				abort();
	ksym_table_free(&t);
	return 0;
}
