// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pid namespace: NSpid lines and namespace links parsed from fake /proc
 * text, and the decision read from a fake /proc tree in /tmp.
 */
#include "unit.h"

#include "pidns.h"

/* /proc/self/status as a process in the host's namespace shows it (trimmed). */
#define STATUS_HOST "Name:\tkvmscoped\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n" \
	"Ngid:\t0\nPid:\t4242\nPPid:\t1\nNStgid:\t4242\nNSpid:\t4242\nNSpgid:\t4242\n" \
	"NSsid:\t4242\nVmPeak:\t   12345 kB\n"
/* The same in a container whose /proc is the host's (two levels). */
#define STATUS_NESTED "Name:\tkvmscoped\nPid:\t917\nNStgid:\t917\t12\nNSpid:\t917\t12\n" \
	"NSpgid:\t917\t12\nNSsid:\t917\t12\n"

static int levels(const char *text)
{
	return pidns_nspid_levels(text, strlen(text));
}

static void test_nspid_levels(void **state)
{
	assert_int_equal(levels(STATUS_HOST), 1);
	assert_int_equal(levels(STATUS_NESTED), 2);
	assert_int_equal(levels("NSpid:\t1\t2\t3\n"), 3);
	/* The last line need not end in a newline. */
	assert_int_equal(levels("Pid:\t5\nNSpid:\t5\t1"), 2);
	/* NStgid and NSpgid are not NSpid. */
	assert_int_equal(levels("NStgid:\t5\t1\nNSpgid:\t5\t1\nNSpid:\t5\n"), 1);
	/* Before Linux 4.1 there is no NSpid line at all. */
	assert_int_equal(levels("Name:\tx\nPid:\t5\n"), 0);
	assert_int_equal(levels(""), 0);
	assert_int_equal(levels("NSpid:\n"), -EINVAL);
	assert_int_equal(levels("NSpid:\t5\tx\n"), -EINVAL);
	/* Only the length given is read. */
	assert_int_equal(pidns_nspid_levels("NSpid:\t5\t1\n", 9), 1);
}

static void test_inode_from_link(void **state)
{
	uint64_t inode = 0;

	assert_int_equal(pidns_inode_from_link("pid:[4026531836]", &inode), 0);
	assert_int_equal(inode, PIDNS_INIT_INODE);
	assert_int_equal(pidns_inode_from_link("pid:[4026532512]", &inode), 0);
	assert_int_equal(inode, 4026532512u);
	assert_int_equal(pidns_inode_from_link("net:[4026531840]", &inode), -EINVAL);
	assert_int_equal(pidns_inode_from_link("pid:[4026531836", &inode), -EINVAL);
	assert_int_equal(pidns_inode_from_link("pid:[]", &inode), -EINVAL);
	assert_int_equal(pidns_inode_from_link("pid:[-1]", &inode), -EINVAL);
	assert_int_equal(pidns_inode_from_link("", &inode), -EINVAL);
}

static int decided(uint64_t inode, int nspid_levels)
{
	struct pidns_info i = { .inode = inode, .nspid_levels = nspid_levels };

	pidns_decide(&i);
	return i.initial;
}

static void test_decide(void **state)
{
	/* The inode decides when known. */
	assert_int_equal(decided(PIDNS_INIT_INODE, 1), 1);
	assert_int_equal(decided(4026532512u, 1), 0);
	assert_int_equal(decided(4026532512u, 2), 0);
	/*
	 * Else NSpid: several numbers prove a nested namespace; one number
	 * is also what a container with its own /proc shows, so it proves
	 * nothing.
	 */
	assert_int_equal(decided(0, 2), 0);
	assert_int_equal(decided(0, 1), -1);
	assert_int_equal(decided(0, 0), -1);
}

static void test_warning_and_json(void **state)
{
	struct pidns_info host = { .initial = 1 }, other = { .initial = 0 }, unknown = { .initial = -1 };
	json_t *j;

	assert_null(pidns_warning(&host));
	assert_non_null(strstr(pidns_warning(&other), "--pid=host"));
	assert_non_null(strstr(pidns_warning(&unknown), "cannot tell"));

	j = pidns_to_json(&host);
	assert_true(json_is_true(json_object_get(j, "initial")));
	assert_true(json_is_null(json_object_get(j, "warning")));
	json_decref(j);
	j = pidns_to_json(&other);
	assert_true(json_is_false(json_object_get(j, "initial")));
	assert_true(json_is_string(json_object_get(j, "warning")));
	json_decref(j);
	j = pidns_to_json(&unknown);
	assert_true(json_is_null(json_object_get(j, "initial")));
	assert_true(json_is_string(json_object_get(j, "warning")));
	json_decref(j);
}

/* A fake /proc with self/ns/pid pointing at @link (NULL: none) and self/status. */
static void fake_proc(char *root, const char *link, const char *status)
{
	char path[PATH_MAX];

	unit_tmpdir_create(root, "kvmscope-pidns");
	unit_write_file(root, "self", "status", status, strlen(status));
	if (!link)
		return;
	snprintf(path, sizeof(path), "%s/self/ns", root);
	if (mkdir(path, 0755) < 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/self/ns/pid", root);
	if (symlink(link, path) < 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

static void test_read_fake_proc(void **state)
{
	char root[PATH_MAX];
	struct pidns_info i;

	fake_proc(root, "pid:[4026531836]", STATUS_HOST);
	pidns_read(root, &i);
	assert_int_equal(i.initial, 1);
	assert_int_equal(i.inode, PIDNS_INIT_INODE);
	assert_int_equal(i.nspid_levels, 1);
	unit_tmpdir_remove(root);

	/* A container with its own /proc: one NSpid number, but not the host's namespace. */
	fake_proc(root, "pid:[4026532512]", STATUS_HOST);
	pidns_read(root, &i);
	assert_int_equal(i.initial, 0);
	unit_tmpdir_remove(root);

	/* No namespace link: NSpid alone. */
	fake_proc(root, NULL, STATUS_NESTED);
	pidns_read(root, &i);
	assert_int_equal(i.inode, 0);
	assert_int_equal(i.nspid_levels, 2);
	assert_int_equal(i.initial, 0);
	unit_tmpdir_remove(root);

	fake_proc(root, NULL, STATUS_HOST);
	pidns_read(root, &i);
	assert_int_equal(i.initial, -1);
	unit_tmpdir_remove(root);

	/* Nothing readable at all. */
	pidns_read("/nonexistent-kvmscope-proc", &i);
	assert_int_equal(i.initial, -1);
	assert_int_equal(i.inode, 0);
	assert_int_equal(i.nspid_levels, 0);
}

/* The real /proc of this test: whatever it says, it must decide consistently. */
static void test_read_real_proc(void **state)
{
	struct pidns_info i;

	pidns_read("/proc", &i);
	assert_true(i.inode != 0);
	assert_true(i.nspid_levels >= 1);
	assert_int_equal(i.initial, i.inode == PIDNS_INIT_INODE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nspid_levels),
		cmocka_unit_test(test_inode_from_link),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_warning_and_json),
		cmocka_unit_test(test_read_fake_proc),
		cmocka_unit_test(test_read_real_proc),
	};

	return cmocka_run_group_tests_name("pidns", tests, NULL, NULL);
}
