// SPDX-License-Identifier: GPL-2.0-only
/*
 * Livepatches read from a sysfs tree the test makes: the lab's patch,
 * one in transition with a module object, and what a kernel without
 * livepatch has.
 */
#include "unit.h"

#include "livepatch/patches.h"

static char root[PATH_MAX];

#define put(rel, text) unit_put(root, rel, text)
#define dir(rel) unit_mkdir(root, rel)

static int setup(void **state)
{
	unit_tmpdir_create(root, "kvmscope-klp");
	dir("livepatch");
	dir("module");
	/* The lab's patch: vmlinux's cmdline_proc_show, done. */
	dir("livepatch/kvmscope_lp_cmdline");
	put("livepatch/kvmscope_lp_cmdline/enabled", "1\n");
	put("livepatch/kvmscope_lp_cmdline/transition", "0\n");
	put("livepatch/kvmscope_lp_cmdline/force", "");
	put("livepatch/kvmscope_lp_cmdline/replace", "0\n");
	dir("livepatch/kvmscope_lp_cmdline/vmlinux");
	put("livepatch/kvmscope_lp_cmdline/vmlinux/patched", "1\n");
	dir("livepatch/kvmscope_lp_cmdline/vmlinux/cmdline_proc_show,1");
	dir("module/kvmscope_lp_cmdline");
	put("module/kvmscope_lp_cmdline/srcversion", "0A1B2C3D4E5F60718293A4B\n");
	put("module/kvmscope_lp_cmdline/taint", "OEK\n");
	/* A second, patching kvm_amd and vmlinux, in transition; stack_order (6.13+). */
	dir("livepatch/a_kvm_fix");
	put("livepatch/a_kvm_fix/enabled", "1\n");
	put("livepatch/a_kvm_fix/transition", "1\n");
	put("livepatch/a_kvm_fix/replace", "1\n");
	put("livepatch/a_kvm_fix/stack_order", "2\n");
	dir("livepatch/a_kvm_fix/kvm_amd");
	put("livepatch/a_kvm_fix/kvm_amd/patched", "0\n");
	dir("livepatch/a_kvm_fix/kvm_amd/svm_vcpu_run,0");
	dir("livepatch/a_kvm_fix/kvm_amd/svm_handle_exit,2");
	dir("livepatch/a_kvm_fix/vmlinux");
	put("livepatch/a_kvm_fix/vmlinux/patched", "1\n");
	dir("livepatch/a_kvm_fix/vmlinux/kvm_vcpu_ioctl,1");
	dir("module/a_kvm_fix");
	put("module/a_kvm_fix/version", "1.2\n");
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	unit_tmpdir_remove(root);
	return 0;
}

static void test_patches(void **state)
{
	char lp[PATH_MAX + 16], mod[PATH_MAX + 16];
	struct klp_patches p;
	const struct klp_patch *a, *b;

	snprintf(lp, sizeof(lp), "%s/livepatch", root);
	snprintf(mod, sizeof(mod), "%s/module", root);
	assert_int_equal(klp_read(lp, mod, &p), 0);
	assert_int_equal(p.n, 2);
	/* Sorted by name. */
	assert_string_equal(p.v[0].name, "a_kvm_fix");
	a = klp_find(&p, "a_kvm_fix");
	b = klp_find(&p, "kvmscope_lp_cmdline");
	assert_non_null(a);
	assert_non_null(b);
	assert_null(klp_find(&p, "nope"));

	assert_int_equal(b->enabled, 1);
	assert_int_equal(b->transition, 0);
	assert_int_equal(b->replace, 0);
	assert_int_equal(b->stack_order, -1);
	assert_int_equal(b->n_objs, 1);
	assert_string_equal(b->objs[0].name, "vmlinux");
	assert_int_equal(b->objs[0].patched, 1);
	assert_int_equal(b->objs[0].n_funcs, 1);
	assert_string_equal(b->objs[0].funcs[0].name, "cmdline_proc_show");
	assert_int_equal(b->objs[0].funcs[0].sympos, 1);
	assert_string_equal(b->srcversion, "0A1B2C3D4E5F60718293A4B");
	assert_string_equal(b->taint, "OEK");
	assert_string_equal(b->version, "");

	assert_int_equal(a->transition, 1);
	assert_int_equal(a->replace, 1);
	assert_int_equal(a->stack_order, 2);
	assert_int_equal(a->n_objs, 2);
	assert_string_equal(a->objs[0].name, "kvm_amd");
	assert_int_equal(a->objs[0].patched, 0);
	assert_int_equal(a->objs[0].n_funcs, 2);
	assert_string_equal(a->objs[0].funcs[0].name, "svm_handle_exit");
	assert_int_equal(a->objs[0].funcs[0].sympos, 2);
	assert_string_equal(a->objs[0].funcs[1].name, "svm_vcpu_run");
	assert_string_equal(a->objs[1].name, "vmlinux");
	assert_string_equal(a->version, "1.2");
	klp_patches_free(&p);
	(void)state;
}

static void test_no_livepatch(void **state)
{
	char lp[PATH_MAX + 16];
	struct klp_patches p;

	snprintf(lp, sizeof(lp), "%s/no-such-dir", root);
	assert_int_equal(klp_read(lp, root, &p), -ENOENT);
	assert_int_equal(p.n, 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patches),
		cmocka_unit_test(test_no_livepatch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
