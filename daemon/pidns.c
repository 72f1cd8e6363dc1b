// SPDX-License-Identifier: GPL-2.0-only
/* Is the daemon in the initial pid namespace; see pidns.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidns.h"

int pidns_nspid_levels(const char *status, size_t len)
{
	const char *end = status + len, *p = status;
	int levels = 0;

	/* Find "NSpid:" at the start of a line. */
	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) >= 6 && !memcmp(p, "NSpid:", 6)) {
			p += 6;
			while (p < eol) {
				if (*p == ' ' || *p == '\t') {
					p++;
					continue;
				}
				if (*p < '0' || *p > '9')
					return -EINVAL;
				while (p < eol && *p >= '0' && *p <= '9')
					p++;
				levels++;
			}
			return levels ? levels : -EINVAL;
		}
		p = eol + 1;
	}
	return 0;
}

int pidns_inode_from_link(const char *link, uint64_t *inode)
{
	char *end;
	unsigned long long v;

	if (strncmp(link, "pid:[", 5) || link[5] < '0' || link[5] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(link + 5, &end, 10);
	if (errno || strcmp(end, "]") || !v)
		return -EINVAL;
	*inode = v;
	return 0;
}

void pidns_decide(struct pidns_info *info)
{
	if (info->inode)
		info->initial = info->inode == PIDNS_INIT_INODE;
	else if (info->nspid_levels > 1)
		info->initial = 0;
	else
		info->initial = -1;
}

void pidns_read(const char *proc_root, struct pidns_info *info)
{
	char path[PATH_MAX], buf[4096];
	ssize_t n;
	int fd, r;

	*info = (struct pidns_info){ 0 };
	snprintf(path, sizeof(path), "%s/self/ns/pid", proc_root);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (pidns_inode_from_link(buf, &info->inode) < 0)
			info->inode = 0;
	}
	snprintf(path, sizeof(path), "%s/self/status", proc_root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
		r = n > 0 ? pidns_nspid_levels(buf, n) : 0;
		info->nspid_levels = r > 0 ? r : 0;
	}
	pidns_decide(info);
}

const char *pidns_warning(const struct pidns_info *info)
{
	if (info->initial == 1)
		return NULL;
	if (info->initial == 0)
		return "kvmscoped runs in a pid namespace other than the host's: BPF reports host "
		       "pids, which its /proc does not show, so VMs look exited; run it in the "
		       "host's pid namespace (e.g. docker/podman --pid=host)";
	return "cannot tell whether kvmscoped runs in the host's pid namespace (/proc/self/ns/pid "
	       "and NSpid unreadable); outside it VMs look exited";
}

json_t *pidns_to_json(const struct pidns_info *info)
{
	const char *warning = pidns_warning(info);

	return json_pack("{s:o, s:o}", "initial",
			 info->initial < 0 ? json_null() : json_boolean(info->initial),
			 "warning", warning ? json_string(warning) : json_null());
}
