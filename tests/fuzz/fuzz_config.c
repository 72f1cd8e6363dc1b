// SPDX-License-Identifier: GPL-2.0-only
/*
 * /etc/kvmscope/kvmscoped.conf (config_load, libinih underneath): the
 * input as the file, read through a memfd.  A refusal names FILE:LINE.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_options o;
	struct config_origins origins = { 0 };
	char path[64], err[300];
	int fd = memfd_create("kvmscoped.conf", MFD_CLOEXEC), r;

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	daemon_options_init(&o);
	err[0] = '\0';
	r = config_load(&o, path, true, &origins, err, sizeof(err));
	if (r == -EINVAL && !strstr(err, path))
		abort();	/* where the problem is, by file and line */
	close(fd);
	return 0;
}
