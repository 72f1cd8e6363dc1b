// SPDX-License-Identifier: GPL-2.0-only
/*
 * Module files and the patch directory, before anything reaches
 * finit_module(): .modinfo read from ELF images the test builds (a
 * livepatch for the test's kernel, one for another kernel, a plain
 * module, compressed, truncated and lying files), the patch directory's
 * rules (owner, modes, links, "..", outside paths), and the management
 * methods' refusals against a fake /sys tree.
 */
#include "unit.h"

#include <elf.h>
#include <sys/syscall.h>

#include "livepatch/manage.h"
#include "livepatch/modfile.h"

#define RELEASE "6.1.0-99-amd64"
#define VERMAGIC RELEASE " SMP preempt mod_unload modversions "

#if defined(__x86_64__)
#define MACHINE EM_X86_64
#elif defined(__aarch64__)
#define MACHINE EM_AARCH64
#else
#define MACHINE EM_S390
#endif

struct image {
	unsigned char *p;
	size_t len;
};

/*
 * A relocatable ELF64 of this machine with sections NULL, .text,
 * .modinfo (@modinfo, @modinfo_len bytes) and .shstrtab, then @tail.
 */
static struct image build_module(const char *modinfo, size_t modinfo_len, const char *tail)
{
	static const char names[] = "\0.text\0.modinfo\0.shstrtab";
	size_t tail_len = tail ? strlen(tail) : 0;
	size_t off_text = sizeof(Elf64_Ehdr), off_info = off_text + 16;
	size_t off_names = off_info + modinfo_len, off_sh = (off_names + sizeof(names) + 7) & ~7ul;
	size_t len = off_sh + 4 * sizeof(Elf64_Shdr) + tail_len;
	struct image im = { calloc(1, len), len };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)im.p;
	Elf64_Shdr *sh = (Elf64_Shdr *)(im.p + off_sh);

	assert_non_null(im.p);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = __BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_REL;
	eh->e_machine = MACHINE;
	eh->e_version = EV_CURRENT;
	eh->e_shoff = off_sh;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 4;
	eh->e_shstrndx = 3;
	memcpy(im.p + off_info, modinfo, modinfo_len);
	memcpy(im.p + off_names, names, sizeof(names));
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_PROGBITS, .sh_offset = off_text, .sh_size = 16 };
	sh[2] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_PROGBITS, .sh_offset = off_info,
			      .sh_size = modinfo_len };
	sh[3] = (Elf64_Shdr){ .sh_name = 16, .sh_type = SHT_STRTAB, .sh_offset = off_names,
			      .sh_size = sizeof(names) };
	if (tail_len)
		memcpy(im.p + len - tail_len, tail, tail_len);
	return im;
}

/* What modpost and MODULE_INFO(livepatch, "Y") put in a livepatch's .modinfo. */
static const char lp_info[] = "version=1.0\0license=GPL\0livepatch=Y\0srcversion=0A1B2C3D4E5F607182\0"
			      "depends=\0retpoline=Y\0name=kvmscope_lp_cmdline\0vermagic=" VERMAGIC;

static struct image livepatch_image(void)
{
	return build_module(lp_info, sizeof(lp_info), NULL);
}

static void test_livepatch_module(void **state)
{
	struct image im = livepatch_image();
	struct modfile_info mi;
	char why[400];

	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), 0);
	assert_string_equal(mi.name, "kvmscope_lp_cmdline");
	assert_string_equal(mi.vermagic, VERMAGIC);
	assert_string_equal(mi.version, "1.0");
	assert_string_equal(mi.srcversion, "0A1B2C3D4E5F607182");
	assert_string_equal(mi.license, "GPL");
	assert_true(mi.livepatch);
	assert_false(mi.has_signature);
	assert_int_equal(mi.machine, MACHINE);
	assert_int_equal(modfile_check(&mi, RELEASE, MACHINE, why, sizeof(why)), 0);
	free(im.p);

	/* Signed: the mark at the very end. */
	im = build_module(lp_info, sizeof(lp_info), "sigdata~Module signature appended~\n");
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), 0);
	assert_true(mi.has_signature);
	free(im.p);
}

static void test_refusals_name_the_problem(void **state)
{
	static const char plain[] = "license=GPL\0name=kvmscope_labtest\0vermagic=" VERMAGIC;
	static const char no_name[] = "livepatch=Y\0vermagic=" VERMAGIC;
	static const char long_name[] = "livepatch=Y\0name=a_name_much_longer_than_the_fifty_five_bytes_a_module_name_may_have\0";
	static const char twice[] = "name=first\0name=second\0livepatch=N\0livepatch=Y\0version=a\x1b[31mb\0vermagic=" VERMAGIC;
	struct image im = livepatch_image();
	struct modfile_info mi;
	char why[400];

	/* Another kernel's. */
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), 0);
	assert_int_equal(modfile_check(&mi, "6.12.0-1-amd64", MACHINE, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "module kvmscope_lp_cmdline was built for kernel " RELEASE
			    ", this kernel is 6.12.0-1-amd64 (vermagic '" VERMAGIC "')");
	/* A release that is only a prefix of vermagic's first word is another kernel too. */
	assert_int_equal(modfile_check(&mi, "6.1.0-99", MACHINE, why, sizeof(why)), -EINVAL);
	assert_int_equal(modfile_check(&mi, RELEASE, EM_386, why, sizeof(why)), -EINVAL);
	assert_true(strstr(why, "is for another machine") != NULL);
	free(im.p);

	im = build_module(plain, sizeof(plain), NULL);
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), 0);
	assert_int_equal(modfile_check(&mi, RELEASE, MACHINE, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "module kvmscope_labtest is not a livepatch (its .modinfo has no livepatch=Y)");
	free(im.p);

	im = build_module(no_name, sizeof(no_name), NULL);
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), 0);
	assert_int_equal(modfile_check(&mi, RELEASE, MACHINE, why, sizeof(why)), -EINVAL);
	assert_true(strstr(why, "no valid name=") != NULL);
	free(im.p);

	im = build_module(long_name, sizeof(long_name), NULL);
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -EINVAL);
	assert_true(strstr(why, ".modinfo name is 67 bytes long, more than 55") != NULL);
	free(im.p);

	/* As the kernel's get_modinfo(): the first of each key; controls shown as '?'. */
	im = build_module(twice, sizeof(twice), NULL);
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), 0);
	assert_string_equal(mi.name, "first");
	assert_false(mi.livepatch);
	assert_string_equal(mi.version, "a?[31mb");
	free(im.p);

	assert_int_equal(modfile_parse_buffer("\xfd" "7zXZ\0\0\0\0", 10, &mi, why, sizeof(why)), -ENOEXEC);
	assert_string_equal(why, "a compressed module (xz): kvmscope loads uncompressed .ko files; decompress it first");
	assert_int_equal(modfile_parse_buffer("\x28\xb5\x2f\xfd\0\0\0\0", 8, &mi, why, sizeof(why)), -ENOEXEC);
	assert_true(strstr(why, "(zstd)") != NULL);
	assert_int_equal(modfile_parse_buffer("#!/bin/sh\nexit 0\n", 17, &mi, why, sizeof(why)), -ENOEXEC);
	assert_string_equal(why, "not a module: no ELF header");
}

/* Every prefix of a module and every lying offset: refused, never read past the end. */
static void test_malformed_images(void **state)
{
	struct image im = livepatch_image();
	struct modfile_info mi;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)im.p;
	Elf64_Shdr *sh;
	char why[400];

	for (size_t len = 0; len < im.len; len++) {
		unsigned char *copy = malloc(len ? len : 1);

		memcpy(copy, im.p, len);
		if (modfile_parse_buffer(copy, len, &mi, why, sizeof(why)) == 0)
			fail_msg("a module cut to %zu of %zu bytes was accepted", len, im.len);
		free(copy);
	}
	sh = (Elf64_Shdr *)(im.p + eh->e_shoff);
	sh[2].sh_offset = im.len - 4;	/* .modinfo runs past the end */
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -ENOEXEC);
	assert_string_equal(why, "not a module: its .modinfo lies outside the file");
	sh[2].sh_offset = UINT64_MAX - 2;
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -ENOEXEC);
	sh[3].sh_size = UINT64_MAX;	/* the section names, as big as can be */
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -ENOEXEC);
	assert_string_equal(why, "not a module: its section names lie outside the file");
	sh[3].sh_size = 26;
	sh[2].sh_name = 1000;		/* a name outside .shstrtab: no .modinfo */
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -ENOEXEC);
	assert_string_equal(why, "not a module: it has no .modinfo section");
	eh->e_shnum = 0xffff;		/* more headers than the file holds */
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -ENOEXEC);
	assert_string_equal(why, "not a module: its section headers lie outside the file");
	eh->e_type = ET_EXEC;
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -ENOEXEC);
	assert_string_equal(why, "not a module: ELF type 2, a module is relocatable (ET_REL)");
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(modfile_parse_buffer(im.p, im.len, &mi, why, sizeof(why)), -ENOEXEC);
	free(im.p);
}

static void test_names(void **state)
{
	assert_true(modfile_name_valid("kvmscope_lp_cmdline"));
	assert_true(modfile_name_valid("livepatch-v5_2"));
	assert_false(modfile_name_valid(""));
	assert_false(modfile_name_valid("../kvm"));
	assert_false(modfile_name_valid("a/b"));
	assert_false(modfile_name_valid("x y"));
	assert_false(modfile_name_valid("a_name_much_longer_than_the_fifty_five_bytes_a_module_na"));
}

/* ---- the patch directory ---- */

static char root[PATH_MAX];

static int tree_setup(void **state)
{
	struct image im = livepatch_image();

	unit_tmpdir_create(root, "kvmscope-patches");
	unit_write_file(root, NULL, "good.ko", im.p, im.len);
	unit_write_file(root, "sub", "deep.ko", im.p, im.len);
	free(im.p);
	return 0;
}

static int tree_teardown(void **state)
{
	unit_tmpdir_remove(root);
	return 0;
}

static void path_of(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%.3900s/%.100s", root, rel);
}

static int try_open(const char *path, char *why, size_t len)
{
	int fd = patchdir_open(root, path, getuid(), why, len);

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : fd;
}

static void test_patch_directory(void **state)
{
	char p[PATH_MAX], q[PATH_MAX], why[600], want[PATH_MAX + 200];

	assert_int_equal(try_open("good.ko", why, sizeof(why)), 0);
	assert_int_equal(try_open("sub/deep.ko", why, sizeof(why)), 0);
	path_of(p, "good.ko");
	assert_int_equal(try_open(p, why, sizeof(why)), 0);
	assert_int_equal(try_open("missing.ko", why, sizeof(why)), -ENOENT);

	assert_int_equal(try_open("/tmp/good.ko", why, sizeof(why)), -EPERM);
	snprintf(want, sizeof(want), "'/tmp/good.ko' is not under the patch directory %s", root);
	assert_true(strncmp(why, want, strlen(want)) == 0);
	/* A sibling whose name starts with the directory's is outside it. */
	snprintf(p, sizeof(p), "%.3900sx/good.ko", root);
	assert_int_equal(try_open(p, why, sizeof(why)), -EPERM);
	assert_int_equal(try_open("../good.ko", why, sizeof(why)), -EPERM);
	assert_true(strstr(why, "leaves the patch directory") != NULL);
	assert_int_equal(try_open("sub/../good.ko", why, sizeof(why)), -EPERM);

	/* Links: none followed, whether they stay inside or not. */
	path_of(p, "link.ko");
	assert_int_equal(symlink("/etc/hostname", p), 0);
	assert_int_equal(try_open("link.ko", why, sizeof(why)), -EPERM);
	assert_string_equal(why, "'link.ko' goes through the symbolic link 'link.ko': kvmscope follows no links in the patch directory");
	path_of(p, "inside.ko");
	assert_int_equal(symlink("good.ko", p), 0);
	assert_int_equal(try_open("inside.ko", why, sizeof(why)), -EPERM);
	path_of(p, "subl");
	assert_int_equal(symlink("/tmp", p), 0);
	assert_int_equal(try_open("subl/good.ko", why, sizeof(why)), -EPERM);
	assert_true(strstr(why, "symbolic link 'subl'") != NULL);

	/* Modes: the file, a directory on the way, the patch directory itself. */
	path_of(p, "good.ko");
	chmod(p, 0666);
	assert_int_equal(try_open("good.ko", why, sizeof(why)), -EPERM);
	snprintf(want, sizeof(want), "'good.ko' is writable by others (mode 0666, uid %u): kvmscope loads only files root alone can change",
		 (unsigned int)getuid());
	assert_string_equal(why, want);
	chmod(p, 0664);
	assert_int_equal(try_open("good.ko", why, sizeof(why)), -EPERM);
	assert_true(strstr(why, "writable by its group (mode 0664") != NULL);
	chmod(p, 0444);
	assert_int_equal(try_open("good.ko", why, sizeof(why)), 0);
	path_of(q, "sub");
	chmod(q, 0777);
	assert_int_equal(try_open("sub/deep.ko", why, sizeof(why)), -EPERM);
	assert_true(strncmp(why, "'sub' is writable by others", 27) == 0);
	chmod(q, 0755);
	chmod(root, 0777);
	assert_int_equal(try_open("good.ko", why, sizeof(why)), -EPERM);
	assert_true(strstr(why, "is writable by others (mode 0777") != NULL);
	assert_true(strstr(why, "kvmscope loads nothing from it") != NULL);
	chmod(root, 0700);
	/* Owned by someone else. */
	assert_int_equal(patchdir_open(root, "good.ko", getuid() + 1, why, sizeof(why)), -EPERM);
	assert_true(strstr(why, "not owned by") != NULL);

	/* Not a regular file; a FIFO does not block the daemon. */
	path_of(p, "fifo.ko");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(try_open("fifo.ko", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "'fifo.ko' is not a regular file");
	assert_int_equal(try_open("sub", why, sizeof(why)), -EINVAL);
	assert_int_equal(try_open("", why, sizeof(why)), -EINVAL);
	assert_int_equal(patchdir_open("relative", "good.ko", 0, why, sizeof(why)), -EINVAL);
	unlink(p);
	path_of(p, "link.ko");
	unlink(p);
	path_of(p, "inside.ko");
	unlink(p);
	path_of(p, "subl");
	unlink(p);
}

/* ---- the management methods against a fake /sys ---- */

static char sys[PATH_MAX], lpdir[PATH_MAX + 16], moddir[PATH_MAX + 16];
static int passed = -1;
static const struct rpc_caller root_caller = { .may_read = true, .may_write = true, .uid = 0,
					       .pid = 1, .passed_fd = &passed };

static int sys_setup(void **state)
{
	tree_setup(state);
	unit_tmpdir_create(sys, "kvmscope-sys");
	unit_mkdir(sys, "livepatch");
	unit_mkdir(sys, "module");
	unit_mkdir(sys, "livepatch/done");
	unit_put(sys, "livepatch/done/enabled", "1\n");
	unit_put(sys, "livepatch/done/transition", "0\n");
	unit_put(sys, "livepatch/done/force", "");
	unit_mkdir(sys, "module/done");
	unit_put(sys, "module/done/taint", "OEK\n");
	unit_mkdir(sys, "module/kvm_amd");
	unit_put(sys, "module/kvm_amd/taint", "\n");
	unit_mkdir(sys, "module/gone_patch");
	unit_put(sys, "module/gone_patch/taint", "K\n");
	snprintf(lpdir, sizeof(lpdir), "%s/livepatch", sys);
	snprintf(moddir, sizeof(moddir), "%s/module", sys);
	return 0;
}

static int sys_teardown(void **state)
{
	unit_tmpdir_remove(sys);
	return tree_teardown(state);
}

static json_t *run(json_t *(*fn)(const struct klp_manage *, const struct rpc_caller *, json_t *,
				  struct rpc_error *),
		   const char *params, struct rpc_error *err)
{
	struct klp_manage km = { .patch_dir = root, .livepatch_dir = lpdir, .module_dir = moddir,
				 .owner = getuid() };
	json_t *p = json_loads(params, 0, NULL), *res;

	assert_non_null(p);
	memset(err, 0, sizeof(*err));
	res = fn(&km, &root_caller, p, err);
	json_decref(p);
	return res;
}

static json_t *disable(const struct klp_manage *km, const struct rpc_caller *c, json_t *p,
		       struct rpc_error *err)
{
	return klp_manage_enable(km, c, p, err, false);
}

static json_t *enable(const struct klp_manage *km, const struct rpc_caller *c, json_t *p,
		      struct rpc_error *err)
{
	return klp_manage_enable(km, c, p, err, true);
}

#define expect_refusal(fn, params, want_code, want_text)                                   \
	do {                                                                               \
		struct rpc_error e_;                                                       \
		json_t *r_ = run(fn, params, &e_);                                         \
		if (r_)                                                                    \
			fail_msg("%s accepted: %s", params, json_dumps(r_, JSON_COMPACT)); \
		assert_int_equal(e_.code, want_code);                                      \
		if (!strstr(e_.message, want_text))                                        \
			fail_msg("%s: '%s' does not say '%s'", params, e_.message, want_text); \
	} while (0)

static void test_management_refusals(void **state)
{
	char p[PATH_MAX];
	struct rpc_error err;
	json_t *res;

	expect_refusal(klp_manage_load, "{}", RPC_INVALID_PARAMS, "needs either \"path\"");
	expect_refusal(klp_manage_load, "{\"path\":\"good.ko\",\"fd\":true}", RPC_INVALID_PARAMS,
		       "needs either");
	expect_refusal(klp_manage_load, "{\"fd\":true}", RPC_INVALID_PARAMS,
		       "no file descriptor came with the request");
	expect_refusal(klp_manage_load, "{\"fd\":1}", RPC_INVALID_PARAMS, "\"fd\" must be true");
	expect_refusal(klp_manage_load, "{\"path\":5}", RPC_INVALID_PARAMS, "must be a file name");
	expect_refusal(klp_manage_load, "{\"path\":\"missing.ko\"}", RPC_NOT_FOUND,
		       "cannot load missing.ko: cannot open");
	expect_refusal(klp_manage_load, "{\"path\":\"../x.ko\"}", RPC_INVALID_PARAMS,
		       "leaves the patch directory");
	/* The test's module was built for RELEASE, not for the kernel running this test. */
	expect_refusal(klp_manage_load, "{\"path\":\"good.ko\"}", RPC_INVALID_PARAMS,
		       "was built for kernel " RELEASE ", this kernel is");
	/* A descriptor passed with the request is taken (and closed) whatever the verdict. */
	path_of(p, "good.ko");
	passed = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(passed >= 0);
	expect_refusal(klp_manage_load, "{\"fd\":true}", RPC_INVALID_PARAMS,
		       "cannot load the file passed by pid 1: module kvmscope_lp_cmdline was built for kernel");
	assert_int_equal(passed, -1);
	passed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	expect_refusal(klp_manage_load, "{\"fd\":true}", RPC_INVALID_PARAMS, "not a regular file");
	assert_int_equal(passed, -1);

	expect_refusal(disable, "{}", RPC_INVALID_PARAMS, "needs \"name\"");
	expect_refusal(disable, "{\"name\":\"../../x\"}", RPC_INVALID_PARAMS, "is not a module name");
	expect_refusal(disable, "{\"name\":\"nope\"}", RPC_NOT_FOUND, "no livepatch nope");
	expect_refusal(enable, "{\"name\":\"nope\"}", RPC_NOT_FOUND, "load its module again");
	expect_refusal(enable, "{\"name\":\"done\"}", RPC_INVALID_PARAMS, "already enabled");
	expect_refusal(klp_manage_unload, "{\"name\":\"done\"}", RPC_INVALID_PARAMS,
		       "still enabled: disable it first");
	expect_refusal(klp_manage_unload, "{\"name\":\"kvm_amd\"}", RPC_INVALID_PARAMS,
		       "module kvm_amd is not a livepatch (no taint K)");
	expect_refusal(klp_manage_unload, "{\"name\":\"absent\"}", RPC_NOT_FOUND, "no module absent");
	expect_refusal(klp_manage_force, "{\"name\":\"done\"}", RPC_INVALID_PARAMS,
		       "pass \"confirm\": true");
	expect_refusal(klp_manage_force, "{\"name\":\"done\",\"confirm\":true}", RPC_INVALID_PARAMS,
		       "not in a transition");

	/* Disabling writes 0 to its enabled attribute (here a plain file). */
	res = run(disable, "{\"name\":\"done\"}", &err);
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "enabled")), 0);
	assert_false(json_is_true(json_object_get(res, "reversed")));
	json_decref(res);
	/* In a transition: disabling again is refused, enabling reverses it. */
	unit_put(sys, "livepatch/done/transition", "1\n");
	expect_refusal(disable, "{\"name\":\"done\"}", RPC_INVALID_PARAMS, "already disabled (its transition is in progress)");
	expect_refusal(klp_manage_unload, "{\"name\":\"done\"}", RPC_BUSY, "is in a transition");
	res = run(enable, "{\"name\":\"done\"}", &err);
	assert_non_null(res);
	assert_true(json_is_true(json_object_get(res, "reversed")));
	json_decref(res);
	/* Forcing writes 1 to force. */
	res = run(klp_manage_force, "{\"name\":\"done\",\"confirm\":true}", &err);
	assert_non_null(res);
	json_decref(res);
	{
		char line[8] = "";
		FILE *f;

		snprintf(p, sizeof(p), "%.3900s/done/force", lpdir);
		f = fopen(p, "r");
		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		assert_string_equal(line, "1");
	}
	/* Another patch is in a transition: the kernel runs one at a time. */
	unit_mkdir(sys, "livepatch/other");
	unit_put(sys, "livepatch/other/enabled", "1\n");
	unit_put(sys, "livepatch/other/transition", "0\n");
	expect_refusal(disable, "{\"name\":\"other\"}", RPC_BUSY, "livepatch done is in a transition");
}

static void test_list_dir(void **state)
{
	char **names;
	size_t n;

	assert_int_equal(klp_manage_list_dir(root, &names, &n), 0);
	assert_int_equal(n, 1);	/* sub/ and what is not *.ko are not taken */
	assert_string_equal(names[0], "good.ko");
	free(names[0]);
	free(names);
	assert_int_equal(klp_manage_list_dir("/nonexistent-kvmscope", &names, &n), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_livepatch_module),
		cmocka_unit_test(test_refusals_name_the_problem),
		cmocka_unit_test(test_malformed_images),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_patch_directory, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_management_refusals, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_list_dir, tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests_name("modfile", tests, NULL, NULL);
}
