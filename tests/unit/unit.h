/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the unit tests: cmocka (whose header needs these four system
 * headers first) and helpers for fake /proc trees in a temporary directory.
 */
#ifndef KVMSCOPE_TESTS_UNIT_H
#define KVMSCOPE_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Length of a string literal that holds NULs, without the compiler's final NUL. */
#define LITERAL_LEN(s) (sizeof(s) - 1)

/* Create a fresh directory under /tmp; @path must hold PATH_MAX bytes. */
static inline void unit_tmpdir_create(char *path, const char *prefix)
{
	snprintf(path, PATH_MAX, "/tmp/%s.XXXXXX", prefix);
	if (!mkdtemp(path))
		fail_msg("mkdtemp %s: %s", path, strerror(errno));
}

/* Write @len bytes to @dir/@name, creating @dir/@subdir first when given. */
static inline void unit_write_file(const char *dir, const char *subdir, const char *name,
				   const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	if (strlen(dir) + (subdir ? strlen(subdir) : 0) + strlen(name) + 3 > sizeof(path))
		fail_msg("path too long under %s", dir);
	if (subdir) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdir);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		snprintf(path, sizeof(path), "%s/%s/%s", dir, subdir, name);
	} else {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len)
		fail_msg("write %s: %s", path, strerror(errno));
	close(fd);
}

/* Make the directory @dir/@rel (its parent must exist). */
static inline void unit_mkdir(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
		fail_msg("path too long: %s/%s", dir, rel);
	if (mkdir(path, 0755) < 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

/* Write the string @text to @dir/@rel. */
static inline void unit_put(const char *dir, const char *rel, const char *text)
{
	unit_write_file(dir, NULL, rel, text, strlen(text));
}

static inline int unit_remove_entry(const char *path, const struct stat *st, int type,
				    struct FTW *ftw)
{
	return remove(path);
}

/* Remove a tree made by unit_tmpdir_create(); refuses anything outside /tmp. */
static inline void unit_tmpdir_remove(const char *path)
{
	if (strncmp(path, "/tmp/", 5) || strstr(path, ".."))
		fail_msg("refusing to remove %s: not a test directory under /tmp", path);
	if (nftw(path, unit_remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fail_msg("remove %s: %s", path, strerror(errno));
}

#endif
