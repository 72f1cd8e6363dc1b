// SPDX-License-Identifier: GPL-2.0-only
/* KVM debugfs statistics from fake debugfs trees. */
#include "unit.h"
#include "kvm_stats.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/kvmscope-kvmstats.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mk("4242-11");
	put("4242-11/io_exits", "1803\n");
	put("4242-11/halt_exits", "89\n");
	put("4242-11/halt_poll_fail_hist", "0 0 3 1\n");	/* a histogram: left out */
	mk("4242-11/vcpu0");
	put("4242-11/vcpu0/io_exits", "902\n");		/* per vCPU: not summed twice */
	mk("4242-12");					/* a second VM of the same process */
	put("4242-12/io_exits", "7\n");
	mk("42420-3");					/* another pid that starts the same */
	put("42420-3/io_exits", "1\n");
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	return nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_sums_vms_of_a_process(void **state)
{
	char source[512], err[256];
	json_t *v;

	assert_int_equal(kvm_stats_read(root, 4242, &v, source, sizeof(source), err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "io_exits")), 1810);
	assert_int_equal(json_integer_value(json_object_get(v, "halt_exits")), 89);
	assert_null(json_object_get(v, "halt_poll_fail_hist"));
	assert_null(json_object_get(v, "vcpu0"));
	assert_non_null(strstr(source, "4242-11"));
	assert_non_null(strstr(source, "4242-12"));
	assert_null(strstr(source, "42420-3"));
	json_decref(v);
}

static void test_missing_pid_and_dir(void **state)
{
	char source[64], err[256], path[128];
	json_t *v = (json_t *)1;

	assert_int_equal(kvm_stats_read(root, 7, &v, source, sizeof(source), err, sizeof(err)), -ENOENT);
	assert_null(v);
	assert_non_null(strstr(err, "7-"));
	snprintf(path, sizeof(path), "%s/nope", root);
	assert_int_equal(kvm_stats_read(path, 4242, &v, source, sizeof(source), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums_vms_of_a_process),
		cmocka_unit_test(test_missing_pid_and_dir),
	};

	return cmocka_run_group_tests_name("kvm_stats", tests, setup, teardown);
}
