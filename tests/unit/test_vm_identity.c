// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM identity: guest names from QEMU command lines, start time from
 * /proc/PID/stat, and both read from a fake /proc tree in /tmp.
 */
#include "unit.h"

#include "vm_identity.h"

/* A QEMU stat line; the comm holds spaces and parentheses, field 22 is 987654. */
#define STAT_QEMU                                                                          \
	"4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 12345 0 0 0 100 50 0 0 20 0 4 0 "    \
	"987654 1234567890 2048 18446744073709551615 1 1 0 0 0 0 0 4096 17635 0 0 0 17 3 " \
	"0 0 0 0 0 0 0 0 0 0 0 0 0\n"

/* Returns vm_name_from_cmdline() and leaves the name in @name. */
static int name_from(const char *cmdline, size_t len, char *name, size_t name_len)
{
	memset(name, 'X', name_len);
	return vm_name_from_cmdline(cmdline, len, name, name_len);
}

#define ASSERT_NAME(cmdline, expect)                                                   \
	do {                                                                           \
		static const char cmd[] = cmdline;                                     \
		char name[VM_NAME_MAX + 1];                                            \
		assert_int_equal(name_from(cmd, LITERAL_LEN(cmd), name, sizeof(name)), 1); \
		assert_string_equal(name, expect);                                     \
	} while (0)

#define ASSERT_NO_NAME(cmdline)                                                        \
	do {                                                                           \
		static const char cmd[] = cmdline;                                     \
		char name[VM_NAME_MAX + 1];                                            \
		assert_int_equal(name_from(cmd, LITERAL_LEN(cmd), name, sizeof(name)), 0); \
		assert_string_equal(name, "");                                         \
	} while (0)

static void test_name_guest_key(void **state)
{
	ASSERT_NAME("qemu-system-x86_64\0-name\0guest=web1,debug-threads=on\0", "web1");
	ASSERT_NAME("qemu-system-x86_64\0-enable-kvm\0-name\0guest=web1\0-m\0512\0", "web1");
	/* guest= need not come first. */
	ASSERT_NAME("qemu\0-name\0process=p,guest=g\0", "g");
	ASSERT_NAME("qemu\0-name\0debug-threads=on,guest=last\0", "last");
}

static void test_name_implied_key(void **state)
{
	ASSERT_NAME("qemu\0-name\0db2\0", "db2");
	ASSERT_NAME("qemu\0-name\0db3,process=x\0", "db3");
	ASSERT_NAME("qemu\0--name\0n4\0", "n4");
}

static void test_name_with_equals_sign(void **state)
{
	ASSERT_NAME("qemu\0-name=n5\0", "n5");
	ASSERT_NAME("qemu\0--name=n6,process=x\0", "n6");
	ASSERT_NAME("qemu\0-name=guest=n7,debug-threads=on\0", "n7");
}

static void test_name_escaped_comma(void **state)
{
	ASSERT_NAME("qemu\0-name\0guest=a,,b\0", "a,b");
	ASSERT_NAME("qemu\0-name\0guest=a,,b,debug-threads=on\0", "a,b");
	ASSERT_NAME("qemu\0-name\0x,,y,process=p\0", "x,y");
	ASSERT_NAME("qemu\0-name\0process=a,,guest=no,guest=yes\0", "yes");
}

static void test_name_absent(void **state)
{
	ASSERT_NO_NAME("qemu-system-x86_64\0-m\0512\0-enable-kvm\0");
	/* -name as the last argument, with no value. */
	ASSERT_NO_NAME("qemu\0-m\0512\0-name\0");
	/* Only other keys. */
	ASSERT_NO_NAME("qemu\0-name\0debug-threads=on\0");
	/* An empty value is no name. */
	ASSERT_NO_NAME("qemu\0-name\0guest=\0");
	ASSERT_NO_NAME("qemu\0-name\0\0");
	/* Neither a prefix nor a suffix of -name is -name. */
	ASSERT_NO_NAME("qemu\0-names\0x\0-nam\0y\0name\0z\0");
}

static void test_name_without_final_nul(void **state)
{
	static const char cmd[] = "qemu\0-name\0guest=tail";
	char name[VM_NAME_MAX + 1];

	assert_int_equal(name_from(cmd, LITERAL_LEN(cmd), name, sizeof(name)), 1);
	assert_string_equal(name, "tail");

	/* @len bounds the command line: a name past it is not read. */
	assert_int_equal(name_from(cmd, strlen("qemu") + 1 + strlen("-name") + 1, name,
				   sizeof(name)),
			 0);
	assert_int_equal(name_from(cmd, 0, name, sizeof(name)), 0);
	assert_string_equal(name, "");
}

/*
 * Found by fuzz_proc: a last argument without its NUL was compared with
 * strcmp, reading past the command line.  Each input sits in a buffer of
 * exactly its size, so the sanitized unit run catches any over-read.
 */
static void test_args_without_nul_are_bounded(void **state)
{
	static const char *const inputs[] = { "-", "-nam", "-name", "--name", "-name=", "-uuid",
					      "--uuid", "-uuid=", "-u", "--name=x", NULL };
	char name[VM_NAME_MAX + 1], uuid[40];

	for (int i = 0; inputs[i]; i++) {
		size_t n = strlen(inputs[i]);
		char *buf = malloc(n);

		assert_non_null(buf);
		memcpy(buf, inputs[i], n);
		if (!strcmp(inputs[i], "--name=x")) {
			assert_int_equal(vm_name_from_cmdline(buf, n, name, sizeof(name)), 1);
			assert_string_equal(name, "x");
		} else {
			assert_int_equal(vm_name_from_cmdline(buf, n, name, sizeof(name)), 0);
		}
		assert_int_equal(vm_uuid_from_cmdline(buf, n, uuid, sizeof(uuid)), 0);
		free(buf);
	}
}

static void test_name_truncated_to_buffer(void **state)
{
	static const char cmd[] = "qemu\0-name\0guest=abcdefghijklmnopqrstuvwxyz,debug-threads=on\0";
	char name[8 + 1];
	char big[VM_NAME_MAX + 1];
	char cmdline[512], expect[VM_NAME_MAX + 1];
	size_t len;

	memset(name, 'X', sizeof(name));
	assert_int_equal(vm_name_from_cmdline(cmd, LITERAL_LEN(cmd), name, 5), 1);
	assert_string_equal(name, "abcd");
	/* Nothing written past the buffer. */
	assert_int_equal(name[5], 'X');

	assert_int_equal(vm_name_from_cmdline(cmd, LITERAL_LEN(cmd), name, 1), 0);
	assert_string_equal(name, "");
	assert_int_equal(vm_name_from_cmdline(cmd, LITERAL_LEN(cmd), name, 0), 0);

	/* A 300-byte name in a VM_NAME_MAX buffer keeps its first VM_NAME_MAX bytes. */
	len = (size_t)snprintf(cmdline, sizeof(cmdline), "qemu%c-name%cguest=", 0, 0);
	for (size_t i = 0; i < 300; i++)
		cmdline[len + i] = (char)('a' + i % 26);
	len += 300;
	cmdline[len++] = '\0';
	for (size_t i = 0; i < VM_NAME_MAX; i++)
		expect[i] = (char)('a' + i % 26);
	expect[VM_NAME_MAX] = '\0';
	assert_int_equal(vm_name_from_cmdline(cmdline, len, big, sizeof(big)), 1);
	assert_string_equal(big, expect);
}

static void test_start_time_from_stat(void **state)
{
	uint64_t start = 0;

	assert_int_equal(vm_start_time_from_stat(STAT_QEMU, &start), 0);
	assert_int_equal(start, 987654);

	/* A comm of ") 1 2 3": only the last ')' ends it. */
	assert_int_equal(vm_start_time_from_stat("7 () 1 2 3) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 "
						 "1 0 55 0 0",
						 &start),
			 0);
	assert_int_equal(start, 55);

	/* Field 22 last on the line, and the largest value. */
	assert_int_equal(vm_start_time_from_stat("1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
						 "18446744073709551615",
						 &start),
			 0);
	assert_true(start == UINT64_MAX);
}

static void test_start_time_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"4242 qemu S 1 2 3",
		"4242 (qemu) S 1 4242 4242 0 -1 4194560 12345 0 0 0 100 50 0 0 20 0 4 0",
		"4242 (qemu) S 1 4242 4242 0 -1 4194560 12345 0 0 0 100 50 0 0 20 0 4 0 ",
		"4242 (qemu) S 1 4242 4242 0 -1 4194560 12345 0 0 0 100 50 0 0 20 0 4 0 x 1 2",
		"4242 (qemu) S 1 4242 4242 0 -1 4194560 12345 0 0 0 100 50 0 0 20 0 4 0 "
		"99999999999999999999 1 2",
		"4242 (qemu)",
	};
	uint64_t start = 31337;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (vm_start_time_from_stat(bad[i], &start) != -EINVAL)
			fail_msg("stat \"%s\" accepted, start time %llu", bad[i],
				 (unsigned long long)start);
		assert_int_equal(start, 31337);
	}
}

struct fake_proc {
	char root[PATH_MAX];
};

static int fake_proc_setup(void **state)
{
	struct fake_proc *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	unit_tmpdir_create(p->root, "kvmscope-proc");
	*state = p;
	return 0;
}

static int fake_proc_teardown(void **state)
{
	struct fake_proc *p = *state;
	struct stat st;

	unit_tmpdir_remove(p->root);
	assert_int_equal(stat(p->root, &st), -1);
	free(p);
	return 0;
}

static void write_process(struct fake_proc *p, const char *pid, const char *stat,
			  const char *comm, const void *cmdline, size_t cmdline_len)
{
	if (stat)
		unit_write_file(p->root, pid, "stat", stat, strlen(stat));
	if (comm)
		unit_write_file(p->root, pid, "comm", comm, strlen(comm));
	if (cmdline)
		unit_write_file(p->root, pid, "cmdline", cmdline, cmdline_len);
}

static void test_identity_read(void **state)
{
	static const char cmdline[] = "/usr/bin/qemu-system-x86_64\0-enable-kvm\0-name\0"
				      "guest=web1,debug-threads=on\0-m\0512\0";
	struct fake_proc *p = *state;
	struct vm_identity id;

	write_process(p, "4242", STAT_QEMU, "qemu-system-x86\n", cmdline, LITERAL_LEN(cmdline));
	memset(&id, 0x55, sizeof(id));
	assert_int_equal(vm_identity_read(p->root, 4242, &id), 0);
	assert_string_equal(id.comm, "qemu-system-x86");
	assert_string_equal(id.name, "web1");
	assert_int_equal(id.start_time, 987654);
}

static void test_identity_without_name(void **state)
{
	static const char cmdline[] = "qemu-kvm\0-m\0512\0";
	struct fake_proc *p = *state;
	struct vm_identity id;

	write_process(p, "77", STAT_QEMU, "qemu-kvm\n", cmdline, LITERAL_LEN(cmdline));
	memset(&id, 0x55, sizeof(id));
	assert_int_equal(vm_identity_read(p->root, 77, &id), 0);
	assert_string_equal(id.comm, "qemu-kvm");
	assert_string_equal(id.name, "");
	assert_int_equal(id.start_time, 987654);

	/* An empty cmdline (a zombie's) or none at all still gives the rest. */
	write_process(p, "78", STAT_QEMU, "qemu-kvm\n", "", 0);
	assert_int_equal(vm_identity_read(p->root, 78, &id), 0);
	assert_string_equal(id.name, "");
	write_process(p, "79", STAT_QEMU, "qemu-kvm\n", NULL, 0);
	assert_int_equal(vm_identity_read(p->root, 79, &id), 0);
	assert_string_equal(id.comm, "qemu-kvm");
	assert_string_equal(id.name, "");
}

static void test_identity_long_comm_is_bounded(void **state)
{
	struct fake_proc *p = *state;
	struct vm_identity id;

	write_process(p, "80", STAT_QEMU, "abcdefghijklmnopqrstuvwxyz\n", "qemu\0", 5);
	assert_int_equal(vm_identity_read(p->root, 80, &id), 0);
	assert_int_equal(strlen(id.comm), VM_COMM_MAX);
	assert_string_equal(id.comm, "abcdefghijklmnop");
}

static void test_identity_missing_process(void **state)
{
	struct fake_proc *p = *state;
	struct vm_identity id;

	assert_int_equal(vm_identity_read(p->root, 4243, &id), -ENOENT);

	/* Gone between reading stat and comm. */
	write_process(p, "81", STAT_QEMU, NULL, NULL, 0);
	assert_int_equal(vm_identity_read(p->root, 81, &id), -ENOENT);
}

static void test_identity_malformed_stat(void **state)
{
	struct fake_proc *p = *state;
	struct vm_identity id;

	write_process(p, "82", "82 (qemu) S 1 2 3\n", "qemu\n", "qemu\0", 5);
	assert_int_equal(vm_identity_read(p->root, 82, &id), -EINVAL);
}

#define PROC_TEST(t) cmocka_unit_test_setup_teardown(t, fake_proc_setup, fake_proc_teardown)

static void test_uuid_from_cmdline(void **state)
{
	static const char good[] = "qemu\0-uuid\0c7a5fdbd-cdaf-9455-926a-d65c16db1809\0-m\0001";
	static const char eq[] = "qemu\0--uuid=C7A5FDBD-CDAF-9455-926A-D65C16DB1809\0";
	static const char bad[] = "qemu\0-uuid\0c7a5fdbd-cdaf-9455-926a-d65c16db180\0";
	static const char trailing[] = "qemu\0-uuid\0c7a5fdbd-cdaf-9455-926a-d65c16db1809x\0";
	static const char last[] = "qemu\0-uuid";
	char uuid[VM_UUID_MAX + 1];

	assert_int_equal(vm_uuid_from_cmdline(good, LITERAL_LEN(good), uuid, sizeof(uuid)), 1);
	assert_string_equal(uuid, "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
	assert_int_equal(vm_uuid_from_cmdline(eq, LITERAL_LEN(eq), uuid, sizeof(uuid)), 1);
	assert_string_equal(uuid, "C7A5FDBD-CDAF-9455-926A-D65C16DB1809");
	assert_int_equal(vm_uuid_from_cmdline(bad, LITERAL_LEN(bad), uuid, sizeof(uuid)), 0);
	assert_string_equal(uuid, "");
	assert_int_equal(vm_uuid_from_cmdline(trailing, LITERAL_LEN(trailing), uuid, sizeof(uuid)), 0);
	assert_int_equal(vm_uuid_from_cmdline(last, LITERAL_LEN(last), uuid, sizeof(uuid)), 0);
}

static void test_cgroup_libvirt_scope(void **state)
{
	char path[VM_CGROUP_MAX + 1], dom[VM_NAME_MAX + 1];
	int id;

	/* cgroup v2, as libvirt + systemd make it */
	assert_int_equal(vm_cgroup_parse("0::/machine.slice/machine-qemu\\x2d3\\x2dweb\\x2d01.scope/libvirt/emulator\n",
					 path, sizeof(path), dom, sizeof(dom), &id), 1);
	assert_string_equal(path, "/machine.slice/machine-qemu\\x2d3\\x2dweb\\x2d01.scope/libvirt/emulator");
	assert_string_equal(dom, "web-01");
	assert_int_equal(id, 3);
	/* cgroup v1: the first line with a path, no v2 line */
	assert_int_equal(vm_cgroup_parse("12:cpu,cpuacct:/machine.slice/machine-qemu\\x2d17\\x2ddb.scope/emulator\n"
					 "11:memory:/machine.slice/machine-qemu\\x2d17\\x2ddb.scope\n",
					 path, sizeof(path), dom, sizeof(dom), &id), 1);
	assert_string_equal(dom, "db");
	assert_int_equal(id, 17);
	/* hybrid: the v1 cpu hierarchy has the scope, the unified one is "/" */
	assert_int_equal(vm_cgroup_parse("2:cpuacct:/\n1:cpu:/machine.slice/machine-qemu\\x2d9\\x2dh.scope\n0::/\n",
					 path, sizeof(path), dom, sizeof(dom), &id), 1);
	assert_string_equal(dom, "h");
	assert_int_equal(id, 9);
	/* not libvirt */
	assert_int_equal(vm_cgroup_parse("0::/user.slice/user-0.slice/session-1.scope\n", path,
					 sizeof(path), dom, sizeof(dom), &id), 0);
	assert_string_equal(path, "/user.slice/user-0.slice/session-1.scope");
	assert_string_equal(dom, "");
	assert_int_equal(id, -1);
	/* malformed scopes are not libvirt domains */
	assert_int_equal(vm_cgroup_parse("0::/machine.slice/machine-qemu\\x2dx\\x2ddb.scope\n", path,
					 sizeof(path), dom, sizeof(dom), &id), 0);
	assert_int_equal(vm_cgroup_parse("0::/machine.slice/machine-qemu\\x2d4.scope\n", path,
					 sizeof(path), dom, sizeof(dom), &id), 0);
	assert_int_equal(vm_cgroup_parse("garbage", path, sizeof(path), dom, sizeof(dom), &id), -EINVAL);
	assert_int_equal(vm_cgroup_parse("", path, sizeof(path), dom, sizeof(dom), &id), -EINVAL);
}

/* QEMU's vCPU thread names, and names that only look like them. */
static void test_vcpu_from_comm(void **state)
{
	assert_int_equal(vm_vcpu_from_comm("CPU 0/KVM"), 0);
	assert_int_equal(vm_vcpu_from_comm("CPU 17/KVM"), 17);
	assert_int_equal(vm_vcpu_from_comm("CPU 4096/KVM"), 4096);
	assert_int_equal(vm_vcpu_from_comm("CPU 4097/KVM"), -1);
	assert_int_equal(vm_vcpu_from_comm("CPU 99999999999/KVM"), -1);
	assert_int_equal(vm_vcpu_from_comm("CPU /KVM"), -1);
	assert_int_equal(vm_vcpu_from_comm("CPU 1/KVMX"), -1);
	assert_int_equal(vm_vcpu_from_comm("CPU 1"), -1);
	assert_int_equal(vm_vcpu_from_comm("qemu-system-x86"), -1);
	assert_int_equal(vm_vcpu_from_comm("IO mon_iothread"), -1);
	assert_int_equal(vm_vcpu_from_comm(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_guest_key),
		cmocka_unit_test(test_name_implied_key),
		cmocka_unit_test(test_name_with_equals_sign),
		cmocka_unit_test(test_name_escaped_comma),
		cmocka_unit_test(test_name_absent),
		cmocka_unit_test(test_name_without_final_nul),
		cmocka_unit_test(test_args_without_nul_are_bounded),
		cmocka_unit_test(test_name_truncated_to_buffer),
		cmocka_unit_test(test_start_time_from_stat),
		cmocka_unit_test(test_uuid_from_cmdline),
		cmocka_unit_test(test_cgroup_libvirt_scope),
		cmocka_unit_test(test_start_time_malformed),
		cmocka_unit_test(test_vcpu_from_comm),
		PROC_TEST(test_identity_read),
		PROC_TEST(test_identity_without_name),
		PROC_TEST(test_identity_long_comm_is_bounded),
		PROC_TEST(test_identity_missing_process),
		PROC_TEST(test_identity_malformed_stat),
	};

	return cmocka_run_group_tests_name("vm_identity", tests, NULL, NULL);
}
