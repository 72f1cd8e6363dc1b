// SPDX-License-Identifier: GPL-2.0-only
/* The pin directory; see pin.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "pin.h"

int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char path[4096], *p;

	if (strlen(dir) >= sizeof(path))
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int pin_dir_lock(const char *dir)
{
	int fd, r = mkdir_p(dir, 0700);

	if (r < 0)
		return r;
	/* O_NOFOLLOW: a symlink planted at the path is refused, not followed. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int pin_dir_clear(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[4096];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (pin_path(path, sizeof(path), dir, de->d_name) < 0) {
			r = r ? r : -ENAMETOOLONG;
			continue;
		}
		if (unlink(path) < 0 && errno != ENOENT && !r)
			r = -errno;
	}
	closedir(d);
	return r;
}

int pin_dir_remove(const char *dir)
{
	int r = pin_dir_clear(dir);

	if (rmdir(dir) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

/*
 * Every map but the read-only data (which each load makes anew) is pinned
 * as @dir/<map name>, and reused from there when it exists: that is how a
 * restarted daemon adopts its counts, and how the VM and thread tracking
 * maps of bpf/vmtrack.bpf.h are one set for every capability's object.
 */
int pin_object_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map), *dot = strrchr(name, '.');
		char path[300];

		if (dot && strcmp(dot, ".bss"))
			continue;	/* .rodata, .kconfig */
		if (pin_path(path, sizeof(path), dir, dot ? dot + 1 : name) < 0)
			return -ENAMETOOLONG;
		if (bpf_map__set_pin_path(map, path) < 0)
			return -errno;
	}
	return 0;
}
