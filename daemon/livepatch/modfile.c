// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a module file says about itself, and where a patch file may be
 * opened from: see modfile.h.
 *
 * Only the ELF header, the section header table, .shstrtab and .modinfo
 * are read, each bounded, with every offset checked against the file's
 * size before it is used: the file is the client's.
 */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livepatch/modfile.h"

#define SIGNATURE_MARK "~Module signature appended~\n"

static int failf(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int failf(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -err;
}

/* Copy a .modinfo value, anything not printable ASCII shown as '?'. */
static bool copy_value(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (len >= size)
		return false;
	for (i = 0; i < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
	return true;
}

static int parse_modinfo(const char *p, size_t len, struct modfile_info *mi, char *why,
			 size_t whylen)
{
	static const struct {
		const char *key;
		size_t off, size;
		bool must_fit;
	} keys[] = {
		{ "name", offsetof(struct modfile_info, name), sizeof(mi->name), true },
		{ "vermagic", offsetof(struct modfile_info, vermagic), sizeof(mi->vermagic), true },
		{ "version", offsetof(struct modfile_info, version), sizeof(mi->version), false },
		{ "srcversion", offsetof(struct modfile_info, srcversion), sizeof(mi->srcversion), false },
		{ "license", offsetof(struct modfile_info, license), sizeof(mi->license), false },
	};
	bool seen[sizeof(keys) / sizeof(keys[0])] = { false }, seen_lp = false;
	size_t pos = 0;

	while (pos < len) {
		const char *s = p + pos, *eq;
		size_t n = strnlen(s, len - pos);

		pos += n + 1;
		eq = memchr(s, '=', n);
		if (!eq)
			continue;	/* padding or junk between strings */
		/* As the kernel's get_modinfo(): the first of a key counts. */
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t klen = strlen(keys[k].key), vlen = n - klen - 1;

			if (seen[k] || (size_t)(eq - s) != klen || memcmp(s, keys[k].key, klen))
				continue;
			seen[k] = true;
			if (!copy_value((char *)mi + keys[k].off, keys[k].size, eq + 1, vlen)) {
				if (keys[k].must_fit)
					return failf(why, whylen, EINVAL,
						     "its .modinfo %s is %zu bytes long, more than %zu",
						     keys[k].key, vlen, keys[k].size - 1);
				copy_value((char *)mi + keys[k].off, keys[k].size, eq + 1,
					   keys[k].size - 1);
			}
		}
		if (!seen_lp && eq - s == 9 && !memcmp(s, "livepatch", 9)) {
			seen_lp = true;
			mi->livepatch = n == 11 && eq[1] == 'Y';
		}
	}
	return 0;
}

int modfile_parse(modfile_read_fn read, void *ctx, uint64_t size, struct modfile_info *mi,
		  char *why, size_t whylen)
{
	unsigned char ident[8];
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL, *modinfo = NULL;
	char *strtab = NULL, *info = NULL;
	char mark[sizeof(SIGNATURE_MARK) - 1];
	uint64_t table;
	int r;

	memset(mi, 0, sizeof(*mi));
	if (size < sizeof(ident) || read(ctx, 0, sizeof(ident), ident) < 0)
		return failf(why, whylen, ENOEXEC, "not a module: %llu bytes, too short for ELF",
			     (unsigned long long)size);
	if (!memcmp(ident, "\xfd" "7zXZ", 6) || !memcmp(ident, "\x28\xb5\x2f\xfd", 4) ||
	    !memcmp(ident, "\x1f\x8b", 2))
		return failf(why, whylen, ENOEXEC,
			     "a compressed module (%s): kvmscope loads uncompressed .ko files; decompress it first",
			     ident[0] == 0xfd ? "xz" : ident[0] == 0x28 ? "zstd" : "gzip");
	if (memcmp(ident, ELFMAG, SELFMAG))
		return failf(why, whylen, ENOEXEC, "not a module: no ELF header");
	if (size < sizeof(eh) || read(ctx, 0, sizeof(eh), &eh) < 0)
		return failf(why, whylen, ENOEXEC, "not a module: its ELF header is cut short");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return failf(why, whylen, ENOEXEC, "not a module for this kernel: a 32-bit ELF file");
	if (eh.e_ident[EI_DATA] != (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB))
		return failf(why, whylen, ENOEXEC,
			     "not a module for this kernel: its byte order is not this machine's");
	mi->machine = eh.e_machine;
	if (eh.e_type != ET_REL)
		return failf(why, whylen, ENOEXEC,
			     "not a module: ELF type %u, a module is relocatable (ET_REL)",
			     (unsigned int)eh.e_type);
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || !eh.e_shnum || eh.e_shstrndx >= eh.e_shnum)
		return failf(why, whylen, ENOEXEC, "not a module: its section header table is malformed");
	table = (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr);
	if (table > MODFILE_MAX_SECTION || eh.e_shoff > size || table > size - eh.e_shoff)
		return failf(why, whylen, ENOEXEC,
			     "not a module: its section headers lie outside the file");
	sh = malloc(table);
	if (!sh)
		return failf(why, whylen, ENOMEM, "out of memory");
	r = failf(why, whylen, EIO, "cannot read its section headers");
	if (read(ctx, eh.e_shoff, table, sh) < 0)
		goto out;
	{
		const Elf64_Shdr *s = &sh[eh.e_shstrndx];

		r = failf(why, whylen, ENOEXEC, "not a module: its section names lie outside the file");
		if (s->sh_type == SHT_NOBITS || !s->sh_size || s->sh_size > MODFILE_MAX_SECTION ||
		    s->sh_offset > size || s->sh_size > size - s->sh_offset)
			goto out;
		strtab = malloc(s->sh_size + 1);
		r = failf(why, whylen, EIO, "cannot read its section names");
		if (!strtab || read(ctx, s->sh_offset, s->sh_size, strtab) < 0)
			goto out;
		strtab[s->sh_size] = '\0';
		for (unsigned int i = 0; i < eh.e_shnum; i++)
			if (sh[i].sh_name < s->sh_size && !strcmp(strtab + sh[i].sh_name, ".modinfo"))
				modinfo = &sh[i];
	}
	r = failf(why, whylen, ENOEXEC, "not a module: it has no .modinfo section");
	if (!modinfo)
		goto out;
	r = failf(why, whylen, ENOEXEC, "not a module: its .modinfo lies outside the file");
	if (modinfo->sh_type == SHT_NOBITS || modinfo->sh_size > MODFILE_MAX_SECTION ||
	    modinfo->sh_offset > size || modinfo->sh_size > size - modinfo->sh_offset)
		goto out;
	info = malloc(modinfo->sh_size + 1);
	r = failf(why, whylen, EIO, "cannot read its .modinfo");
	if (!info || read(ctx, modinfo->sh_offset, modinfo->sh_size, info) < 0)
		goto out;
	r = parse_modinfo(info, modinfo->sh_size, mi, why, whylen);
	if (r < 0)
		goto out;
	if (size >= sizeof(mark) && read(ctx, size - sizeof(mark), sizeof(mark), mark) == 0)
		mi->has_signature = !memcmp(mark, SIGNATURE_MARK, sizeof(mark));
	r = 0;
	why[0] = '\0';
out:
	free(sh);
	free(strtab);
	free(info);
	return r;
}

struct buffer_ctx {
	const unsigned char *p;
	size_t len;
};

static int buffer_read(void *ctx, uint64_t offset, size_t len, void *dst)
{
	const struct buffer_ctx *b = ctx;

	if (offset > b->len || len > b->len - offset)
		return -EIO;
	memcpy(dst, b->p + offset, len);
	return 0;
}

int modfile_parse_buffer(const void *buf, size_t len, struct modfile_info *mi, char *why,
			 size_t whylen)
{
	struct buffer_ctx b = { buf, len };

	return modfile_parse(buffer_read, &b, len, mi, why, whylen);
}

static int fd_read(void *ctx, uint64_t offset, size_t len, void *dst)
{
	int fd = *(int *)ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)dst + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int modfile_parse_fd(int fd, struct modfile_info *mi, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return failf(why, whylen, errno, "cannot stat it: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return failf(why, whylen, EINVAL, "not a regular file");
	if ((uint64_t)st.st_size > MODFILE_MAX_BYTES)
		return failf(why, whylen, EFBIG, "%lld bytes, more than the %u MiB a module may have",
			     (long long)st.st_size, MODFILE_MAX_BYTES >> 20);
	return modfile_parse(fd_read, &fd, (uint64_t)st.st_size, mi, why, whylen);
}

bool modfile_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= sizeof(((struct modfile_info *)0)->name))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') &&
		    ch != '_' && ch != '-')
			return false;
	}
	return true;
}

int modfile_check_for(const struct modfile_info *mi, const char *release, unsigned int machine,
		      char *why, size_t whylen)
{
	size_t n = strcspn(mi->vermagic, " ");

	if (!mi->name[0] || !modfile_name_valid(mi->name))
		return failf(why, whylen, EINVAL, "its .modinfo has no valid name= (got '%s')",
			     mi->name);
	if (mi->machine != machine)
		return failf(why, whylen, EINVAL,
			     "module %s is for another machine (ELF machine %u, this kernel's is %u)",
			     mi->name, mi->machine, machine);
	if (!mi->vermagic[0])
		return failf(why, whylen, EINVAL, "module %s has no vermagic", mi->name);
	if (n != strlen(release) || memcmp(mi->vermagic, release, n))
		return failf(why, whylen, EINVAL,
			     "module %s was built for kernel %.*s, this kernel is %s (vermagic '%s')",
			     mi->name, (int)n, mi->vermagic, release, mi->vermagic);
	why[0] = '\0';
	return 0;
}

int modfile_check_module(const struct modfile_info *mi, const char *release, char *why,
			 size_t whylen)
{
	return modfile_check_for(mi, release, MODFILE_NATIVE_MACHINE, why, whylen);
}

int modfile_check(const struct modfile_info *mi, const char *release, unsigned int machine,
		  char *why, size_t whylen)
{
	int r = modfile_check_for(mi, release, machine, why, whylen);

	if (r < 0)
		return r;
	if (!mi->livepatch)
		return failf(why, whylen, EINVAL,
			     "module %s is not a livepatch (its .modinfo has no livepatch=Y)",
			     mi->name);
	why[0] = '\0';
	return 0;
}

const char *patchdir_mode_problem(unsigned int mode, unsigned int uid, unsigned int owner)
{
	if (uid != owner)
		return owner ? "not owned by the daemon's test owner" : "not owned by root";
	if (mode & S_IWOTH)
		return "writable by others";
	if (mode & S_IWGRP)
		return "writable by its group";
	return "";
}

/*
 * fstat @fd into @st and judge its owner and mode: NULL when fstat fails
 * (errno set), "" when it may be trusted, else what is wrong.
 */
static const char *fd_problem(int fd, struct stat *st, unsigned int owner)
{
	if (fstat(fd, st) < 0)
		return NULL;
	return patchdir_mode_problem(st->st_mode, st->st_uid, owner);
}

/* Up to this many components below the patch directory. */
#define PATCHDIR_DEPTH_MAX 8

int patchdir_open(const char *dir, const char *path, unsigned int owner, char *why, size_t whylen)
{
	size_t dlen = strlen(dir);
	const char *rel = path, *problem;
	char comp[256];
	struct stat st;
	int cur, next, depth = 0;

	if (dir[0] != '/')
		return failf(why, whylen, EINVAL, "the patch directory '%s' is not absolute", dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (path[0] == '/') {
		if (strncmp(path, dir, dlen) || path[dlen] != '/')
			return failf(why, whylen, EPERM,
				     "'%s' is not under the patch directory %.*s: pass the file itself (kvmscopectl opens it) or copy it there",
				     path, (int)dlen, dir);
		rel = path + dlen;
	}
	while (*rel == '/')
		rel++;
	if (!*rel)
		return failf(why, whylen, EINVAL, "no file named: '%s' is the patch directory", path);
	cur = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return failf(why, whylen, errno, "cannot open the patch directory %s: %s", dir,
			     strerror(errno));
	problem = fd_problem(cur, &st, owner);
	if (!problem) {
		int e = errno;

		close(cur);
		return failf(why, whylen, e, "cannot stat the patch directory %s: %s", dir, strerror(e));
	}
	if (*problem) {
		close(cur);
		return failf(why, whylen, EPERM,
			     "the patch directory %s is %s (mode %04o, uid %u): kvmscope loads nothing from it",
			     dir, problem, (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid);
	}
	for (;;) {
		size_t n = strcspn(rel, "/");
		bool last;

		if (n >= sizeof(comp) || ++depth > PATCHDIR_DEPTH_MAX) {
			close(cur);
			return failf(why, whylen, ENAMETOOLONG, "'%s': too long or too deep", path);
		}
		memcpy(comp, rel, n);
		comp[n] = '\0';
		rel += n;
		while (*rel == '/')
			rel++;
		last = !*rel;
		if (!strcmp(comp, "..") || !strcmp(comp, ".")) {
			close(cur);
			return failf(why, whylen, EPERM,
				     "'%s' leaves the patch directory or names it twice ('%s'): name files in it plainly",
				     path, comp);
		}
		next = openat(cur, comp,
			      (last ? O_RDONLY | O_NONBLOCK | O_NOCTTY : O_RDONLY | O_DIRECTORY) |
				      O_NOFOLLOW | O_CLOEXEC);
		/* O_DIRECTORY|O_NOFOLLOW on a link fails ENOTDIR: tell a link apart. */
		if (next < 0 && (errno == ELOOP || errno == ENOTDIR) &&
		    fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			errno = ELOOP;
		close(cur);
		if (next < 0 && errno == ELOOP)
			return failf(why, whylen, EPERM,
				     "'%s' goes through the symbolic link '%s': kvmscope follows no links in the patch directory",
				     path, comp);
		if (next < 0 && errno == ENOTDIR && !last)
			return failf(why, whylen, ENOTDIR, "'%s': '%s' is not a directory", path, comp);
		if (next < 0)
			return failf(why, whylen, errno, "cannot open '%s' in the patch directory %s: %s",
				     path, dir, strerror(errno));
		problem = fd_problem(next, &st, owner);
		if (!problem) {
			int e = errno;

			close(next);
			return failf(why, whylen, e, "cannot stat '%s': %s", path, strerror(e));
		}
		if (*problem) {
			close(next);
			return failf(why, whylen, EPERM,
				     "'%s' is %s (mode %04o, uid %u): kvmscope loads only files root alone can change",
				     last ? path : comp, problem, (unsigned int)(st.st_mode & 07777),
				     (unsigned int)st.st_uid);
		}
		if (last) {
			if (!S_ISREG(st.st_mode)) {
				close(next);
				return failf(why, whylen, EINVAL, "'%s' is not a regular file", path);
			}
			why[0] = '\0';
			return next;
		}
		cur = next;
	}
}
