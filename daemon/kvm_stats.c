// SPDX-License-Identifier: GPL-2.0-only
/* KVM debugfs statistics; see kvm_stats.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_stats.h"

/* One number, optionally followed by a newline; anything else is not a counter. */
static int read_counter(int dirfd, const char *name, uint64_t *value)
{
	char buf[64], *end;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	if (n == 0 || buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*value = strtoull(buf, &end, 10);
	if (errno || (*end && strcmp(end, "\n")))
		return -EINVAL;
	return 0;
}

static int add_dir(const char *path, json_t *values, char *err, size_t err_len)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	while ((de = readdir(d))) {
		uint64_t v = 0;
		json_t *old;
		int q;

		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (de->d_name[0] == '.')
			continue;
		q = read_counter(dirfd(d), de->d_name, &v);
		if (q == -EINVAL || q == -EISDIR)
			continue;
		if (q < 0) {
			snprintf(err, err_len, "cannot read %s/%s: %s", path, de->d_name, strerror(-q));
			r = q;
			break;
		}
		old = json_object_get(values, de->d_name);
		json_object_set_new(values, de->d_name,
				    json_integer((json_int_t)(v + (old ? (uint64_t)json_integer_value(old) : 0))));
	}
	closedir(d);
	return r;
}

int kvm_stats_read(const char *kvm_dir, uint32_t pid, json_t **values, char *source,
		   size_t source_len, char *err, size_t err_len)
{
	DIR *d = opendir(kvm_dir);
	struct dirent *de;
	char prefix[16];
	size_t plen, used = 0;
	json_t *v;
	int r = -ENOENT;

	*values = NULL;
	source[0] = '\0';
	if (!d) {
		r = -errno;
		snprintf(err, err_len, "cannot open %s: %s", kvm_dir, strerror(-r));
		return r;
	}
	v = json_object();
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%u-", pid);
	while ((de = readdir(d))) {
		char path[512];
		int q;

		if (strncmp(de->d_name, prefix, plen) || !de->d_name[plen] ||
		    strspn(de->d_name + plen, "0123456789") != strlen(de->d_name + plen))
			continue;
		snprintf(path, sizeof(path), "%s/%s", kvm_dir, de->d_name);
		q = add_dir(path, v, err, err_len);
		if (q < 0) {
			r = q;
			break;
		}
		used += (size_t)snprintf(source + used, used < source_len ? source_len - used : 0,
					 "%s%s", used ? " " : "", path);
		r = 0;
	}
	closedir(d);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(err, err_len, "no %s/%s<fd> directory", kvm_dir, prefix);
		json_decref(v);
		return r;
	}
	*values = v;
	return 0;
}
