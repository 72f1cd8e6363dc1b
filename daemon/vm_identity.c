// SPDX-License-Identifier: GPL-2.0-only
/* VM identity from /proc; see vm_identity.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"
#include "vm_identity.h"

/* Copy the QEMU option value at @s (up to ',' that is not ",,") into @out. */
static void qemu_opt_value(const char *s, const char *end, char *out, size_t out_len)
{
	size_t o = 0;

	while (s < end && *s) {
		if (*s == ',') {
			if (s + 1 < end && s[1] == ',') {
				s++;	/* ",," is a literal comma */
			} else {
				break;
			}
		}
		if (o + 1 < out_len)
			out[o++] = *s;
		s++;
	}
	out[o] = '\0';
}

/* Find the guest name inside one `-name` argument such as "guest=x,debug-threads=on". */
static int name_from_qemu_opts(const char *arg, size_t len, char *name, size_t name_len)
{
	const char *p = arg, *end = arg + len;
	int first = 1;

	while (p < end && *p) {
		const char *item = p, *eq = NULL;

		/* Find the end of this item, skipping escaped commas. */
		while (p < end && *p) {
			if (*p == ',') {
				if (p + 1 < end && p[1] == ',') {
					p += 2;
					continue;
				}
				break;
			}
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (!eq && first) {
			/* QEMU's implied key: `-name NAME,...` means guest=NAME. */
			qemu_opt_value(item, p, name, name_len);
			return name[0] ? 1 : 0;
		}
		if (eq && (size_t)(eq - item) == 5 && !strncmp(item, "guest", 5)) {
			qemu_opt_value(eq + 1, p, name, name_len);
			return name[0] ? 1 : 0;
		}
		first = 0;
		if (p < end && *p == ',')
			p++;
	}
	return 0;
}

int vm_name_from_cmdline(const char *cmdline, size_t len, char *name, size_t name_len)
{
	const char *p = cmdline, *end = cmdline + len;

	if (!name_len)
		return 0;
	name[0] = '\0';
	while (p < end) {
		size_t arg_len = strnlen(p, (size_t)(end - p));
		const char *next = p + arg_len + 1;

		if (!strcmp(p, "-name") || !strcmp(p, "--name")) {
			if (next >= end)
				return 0;
			return name_from_qemu_opts(next, strnlen(next, (size_t)(end - next)),
						   name, name_len);
		}
		if (!strncmp(p, "-name=", 6) || !strncmp(p, "--name=", 7)) {
			const char *v = strchr(p, '=') + 1;

			return name_from_qemu_opts(v, arg_len - (size_t)(v - p), name, name_len);
		}
		p = next;
	}
	return 0;
}

int vm_start_time_from_stat(const char *stat, uint64_t *start_time)
{
	/* comm (field 2) may hold spaces and ')': fields resume after the last ')'. */
	const char *p = strrchr(stat, ')');
	int field = 2;

	if (!p)
		return -EINVAL;
	p++;
	while (*p && field < 22) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		field++;
		if (field == 22) {
			char *endp;
			unsigned long long v;

			if (*p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			v = strtoull(p, &endp, 10);
			if (errno || (*endp && *endp != ' ' && *endp != '\n'))
				return -EINVAL;
			*start_time = v;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -EINVAL;
}

/* Read at most @cap-1 bytes of a small /proc file; returns length or -errno. */
static ssize_t read_proc_file(const char *proc_root, pid_t pid, const char *what,
			      char *buf, size_t cap)
{
	char path[256];
	size_t total = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/%s", proc_root, (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (total + 1 < cap) {
		ssize_t n = read(fd, buf + total, cap - 1 - total);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	buf[total] = '\0';
	return (ssize_t)total;
}

int vm_identity_read(const char *proc_root, pid_t pid, struct vm_identity *id)
{
	char buf[8192];
	ssize_t n;
	int r;

	memset(id, 0, sizeof(*id));
	n = read_proc_file(proc_root, pid, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	r = vm_start_time_from_stat(buf, &id->start_time);
	if (r < 0)
		return r;

	n = read_proc_file(proc_root, pid, "comm", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = '\0';
	memcpy(id->comm, buf, strnlen(buf, VM_COMM_MAX));
	utf8_sanitize(id->comm);

	/* A command line longer than the buffer only loses its tail. */
	n = read_proc_file(proc_root, pid, "cmdline", buf, sizeof(buf));
	if (n > 0)
		vm_name_from_cmdline(buf, (size_t)n, id->name, sizeof(id->name));
	utf8_sanitize(id->name);
	return 0;
}
