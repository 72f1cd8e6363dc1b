// SPDX-License-Identifier: GPL-2.0-only
/*
 * /sys/kernel/tracing/enabled_functions (ftrace_sites_parse): each
 * site's function, flags and owners, from text whose symbols and module
 * names anyone who loads a module chooses.
 */
#include "fuzz.h"
#include "livepatch/sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftrace_sites s = { 0 };

	ftrace_sites_parse((const char *)data, size, &s);
	ftrace_sites_free(&s);
	ftrace_owner_of_symbol((const char *)data, size);
	return 0;
}
