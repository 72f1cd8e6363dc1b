// SPDX-License-Identifier: GPL-2.0-only
/*
 * A kernel module file a client passes or puts in the patch directory
 * (modfile_parse_buffer: ELF header, section headers, .shstrtab,
 * .modinfo), then the checks made before finit_module().
 */
#include "fuzz.h"
#include "livepatch/modfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct modfile_info mi;
	char why[300];

	if (modfile_parse_buffer(data, size, &mi, why, sizeof(why)) < 0) {
		if (!memchr(why, '\0', sizeof(why)) || !why[0])
			abort();	/* every refusal says why */
		return 0;
	}
	modfile_check_module(&mi, "6.1.0-57-amd64", why, sizeof(why));
	modfile_check_for(&mi, "6.1.0-57-amd64", MODFILE_NATIVE_MACHINE, why, sizeof(why));
	return 0;
}
