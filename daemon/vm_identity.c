// SPDX-License-Identifier: GPL-2.0-only
/* VM identity from /proc; see vm_identity.h. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
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

		/* The last argument may have no NUL (a cmdline cut to the buffer). */
		if ((arg_len == 5 && !memcmp(p, "-name", 5)) || (arg_len == 6 && !memcmp(p, "--name", 6))) {
			if (next >= end)
				return 0;
			return name_from_qemu_opts(next, strnlen(next, (size_t)(end - next)),
						   name, name_len);
		}
		if ((arg_len >= 6 && !strncmp(p, "-name=", 6)) || (arg_len >= 7 && !strncmp(p, "--name=", 7))) {
			const char *v = (const char *)memchr(p, '=', arg_len) + 1;

			return name_from_qemu_opts(v, arg_len - (size_t)(v - p), name, name_len);
		}
		p = next;
	}
	return 0;
}

int vm_uuid_from_cmdline(const char *cmdline, size_t len, char *uuid, size_t uuid_len)
{
	const char *p = cmdline, *end = cmdline + len, *v = NULL;

	if (!uuid_len)
		return 0;
	uuid[0] = '\0';
	while (p < end && !v) {
		size_t arg_len = strnlen(p, (size_t)(end - p));
		const char *next = p + arg_len + 1;

		if (((arg_len == 5 && !memcmp(p, "-uuid", 5)) || (arg_len == 6 && !memcmp(p, "--uuid", 6))) &&
		    next < end)
			v = next;
		else if ((arg_len >= 6 && !strncmp(p, "-uuid=", 6)) || (arg_len >= 7 && !strncmp(p, "--uuid=", 7)))
			v = memchr(p, '=', arg_len) + 1;
		p = next;
	}
	if (!v)
		return 0;
	/* 8-4-4-4-12 hex digits, nothing else: it goes into JSON and labels. */
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (v + i >= end || (dash ? v[i] != '-' : !isxdigit((unsigned char)v[i])))
			return 0;
	}
	if (v + 36 < end && v[36] != '\0')
		return 0;
	snprintf(uuid, uuid_len, "%.36s", v);
	return 1;
}

static int hex_value(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Undo systemd's unit-name escaping (\xHH) of @len bytes into @out. */
static void systemd_unescape(const char *s, size_t len, char *out, size_t out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < out_len; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' &&
		    isxdigit((unsigned char)s[i + 2]) && isxdigit((unsigned char)s[i + 3])) {
			out[o++] = (char)(hex_value(s[i + 2]) << 4 | hex_value(s[i + 3]));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

int vm_cgroup_parse(const char *text, char *path, size_t path_len, char *domain,
		    size_t domain_len, int *domain_id)
{
	const char *line = text, *chosen = NULL, *scope, *end;
	int chosen_rank = 0;
	size_t chosen_len = 0;
	char unit[VM_NAME_MAX + 32];

	path[0] = '\0';
	domain[0] = '\0';
	*domain_id = -1;
	while (*line) {
		size_t len = strcspn(line, "\n");
		const char *colon = memchr(line, ':', len);
		const char *colon2 = colon ? memchr(colon + 1, ':', len - (size_t)(colon + 1 - line)) : NULL;

		/*
		 * A line with libvirt's scope first (v1 hierarchies, or a hybrid
		 * host's v1 half), else v2's "0::", else the first with a path.
		 */
		if (colon2) {
			int rank = memmem(line, len, "/machine-qemu", 13) ? 3 :
				   !strncmp(line, "0::", 3) ? 2 : 1;

			if (rank > chosen_rank) {
				chosen = colon2 + 1;
				chosen_len = len - (size_t)(chosen - line);
				chosen_rank = rank;
			}
		}
		line += len;
		if (*line == '\n')
			line++;
	}
	if (!chosen)
		return -EINVAL;
	snprintf(path, path_len, "%.*s", (int)chosen_len, chosen);
	scope = strstr(path, "/machine-qemu");
	if (!scope)
		return 0;
	scope += strlen("/machine-");
	end = strstr(scope, ".scope");
	if (!end || (size_t)(end - scope) >= sizeof(unit))
		return 0;
	/* "qemu-3-NAME" once unescaped; NAME may hold dashes itself. */
	systemd_unescape(scope, (size_t)(end - scope), unit, sizeof(unit));
	{
		char *p = unit + strlen("qemu-"), *dash;
		long id;

		if (strncmp(unit, "qemu-", 5) || !isdigit((unsigned char)*p))
			return 0;
		id = strtol(p, &dash, 10);
		if (*dash != '-' || !dash[1] || id < 0 || id > INT32_MAX)
			return 0;
		*domain_id = (int)id;
		snprintf(domain, domain_len, "%s", dash + 1);
	}
	return 1;
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
	if (n > 0) {
		vm_name_from_cmdline(buf, (size_t)n, id->name, sizeof(id->name));
		vm_uuid_from_cmdline(buf, (size_t)n, id->uuid, sizeof(id->uuid));
	}
	utf8_sanitize(id->name);
	id->libvirt_id = -1;
	n = read_proc_file(proc_root, pid, "cgroup", buf, sizeof(buf));
	if (n > 0)
		vm_cgroup_parse(buf, id->cgroup, sizeof(id->cgroup), id->libvirt_domain,
				sizeof(id->libvirt_domain), &id->libvirt_id);
	utf8_sanitize(id->cgroup);
	utf8_sanitize(id->libvirt_domain);
	return 0;
}

int vm_vcpu_from_comm(const char *comm)
{
	unsigned int n = 0;
	size_t i = 4;

	if (strncmp(comm, "CPU ", 4) || comm[4] < '0' || comm[4] > '9')
		return -1;
	for (; comm[i] >= '0' && comm[i] <= '9'; i++) {
		n = n * 10 + (unsigned int)(comm[i] - '0');
		if (n > 4096)
			return -1;
	}
	return strcmp(comm + i, "/KVM") ? -1 : (int)n;
}
