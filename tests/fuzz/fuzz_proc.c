// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a guest owner controls in /proc: a VMM's cmdline (its -name and
 * -uuid), its cgroup path (a libvirt scope's escaped name), its stat
 * line (comm may hold anything), a thread's comm, and /proc/PID/status
 * (NSpid).  Every name written out fits its buffer and is terminated.
 */
#include <sys/types.h>

#include "fuzz.h"
#include "pidns.h"
#include "vm_identity.h"

static void check_terminated(const char *buf, size_t len)
{
	if (!memchr(buf, '\0', len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), name[64], uuid[40], path[256], domain[64];
	uint64_t start;
	int id = -1;

	/* cmdline is NUL-separated: the raw bytes, with their NULs. */
	if (vm_name_from_cmdline((const char *)data, size, name, sizeof(name)) > 0)
		check_terminated(name, sizeof(name));
	if (vm_uuid_from_cmdline((const char *)data, size, uuid, sizeof(uuid)) > 0)
		check_terminated(uuid, sizeof(uuid));
	if (vm_cgroup_parse(text, path, sizeof(path), domain, sizeof(domain), &id) >= 0) {
		check_terminated(path, sizeof(path));
		check_terminated(domain, sizeof(domain));
	}
	vm_start_time_from_stat(text, &start);
	vm_vcpu_from_comm(text);
	pidns_nspid_levels(text, strlen(text));
	free(text);
	return 0;
}
