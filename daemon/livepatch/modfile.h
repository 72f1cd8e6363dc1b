/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Before kvmscoped hands a module to finit_module(): what the file says
 * about itself (its .modinfo strings: name, vermagic, livepatch=Y,
 * version, srcversion), checked against the running kernel, and where a
 * file named by path may come from (the patch directory, root-owned, not
 * writable by others, no way out of it).  Pure logic over a file
 * descriptor or a buffer, unit-tested and fuzzable; no BPF, no event loop.
 */
#ifndef KVMSCOPE_LIVEPATCH_MODFILE_H
#define KVMSCOPE_LIVEPATCH_MODFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <elf.h>

/* The ELF machine of the modules this kvmscoped can load. */
#if defined(__x86_64__)
#define MODFILE_NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define MODFILE_NATIVE_MACHINE EM_AARCH64
#elif defined(__s390x__)
#define MODFILE_NATIVE_MACHINE EM_S390
#else
#error "kvmscope knows no ELF machine for this architecture"
#endif

/* Largest module file kvmscoped reads: kpatch-built patches are far smaller. */
#define MODFILE_MAX_BYTES (256u << 20)
/* Largest section header table and .modinfo / .shstrtab read. */
#define MODFILE_MAX_SECTION (4u << 20)

struct modfile_info {
	char name[56];			/* MODULE_NAME_LEN is 56 with the NUL */
	char vermagic[160];
	char version[64];
	char srcversion[32];
	char license[64];
	bool livepatch;			/* livepatch=Y */
	bool has_signature;		/* "~Module signature appended~\n" at its end */
	unsigned int machine;		/* e_machine */
};

/*
 * Read @mi from a module image: @read(@ctx, offset, len, dst) fills dst
 * with @len bytes at @offset of a file of @size bytes, or returns < 0.
 * Returns 0, or -EINVAL/-ENOEXEC/-EIO with the reason in @why.
 */
typedef int (*modfile_read_fn)(void *ctx, uint64_t offset, size_t len, void *dst);
int modfile_parse(modfile_read_fn read, void *ctx, uint64_t size, struct modfile_info *mi,
		  char *why, size_t whylen);

/* The same over a buffer in memory (tests and fuzzers). */
int modfile_parse_buffer(const void *buf, size_t len, struct modfile_info *mi, char *why,
			 size_t whylen);

/*
 * The same over an open file: a regular file of at most MODFILE_MAX_BYTES,
 * read with pread() (never mapped: a file truncated under a mapping would
 * kill the daemon with SIGBUS).
 */
int modfile_parse_fd(int fd, struct modfile_info *mi, char *why, size_t whylen);

/*
 * Whether the module was built for the kernel whose release is @release
 * (vermagic's first word) on machine @machine (EM_*), with a valid name.
 * Returns 0, or -EINVAL with the reason in @why.
 */
int modfile_check_for(const struct modfile_info *mi, const char *release, unsigned int machine,
		      char *why, size_t whylen);

/* The same for the running machine (its EM_* from how kvmscoped was built). */
int modfile_check_module(const struct modfile_info *mi, const char *release, char *why,
			 size_t whylen);

/*
 * Whether the module can be a livepatch for the kernel whose release is
 * @release (uname -r) on machine @machine (EM_*): vermagic's first word is
 * @release, it says livepatch=Y, and it has a name.  Returns 0, or
 * -EINVAL with the reason in @why.
 */
int modfile_check(const struct modfile_info *mi, const char *release, unsigned int machine,
		  char *why, size_t whylen);

/* A patch or module name as the kernel writes them: [A-Za-z0-9_-], 1..55 bytes. */
bool modfile_name_valid(const char *name);

/*
 * Open @path for reading inside patch directory @dir: @path is a name
 * relative to it or an absolute path under it.  The directory and the
 * file must be owned by root and not writable by group or others; the
 * file must be regular; no component (symlink or "..") may lead out of
 * @dir (openat2 RESOLVE_BENEATH).  Returns the descriptor, or -errno with
 * the reason in @why.  @owner is the uid both must have (0 but in tests).
 */
int patchdir_open(const char *dir, const char *path, unsigned int owner, char *why, size_t whylen);

/* Which of @fd's file mode bits make it unsafe: "" when none, else a reason. */
const char *patchdir_mode_problem(unsigned int mode, unsigned int uid, unsigned int owner);

#endif
