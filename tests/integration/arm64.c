// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arm64 integration suite, run as root inside the arm64 lab (an arm64
 * KVM host emulated by QEMU: tests/vm/run --arch arm64), cross-built by
 * make test: a kvmscoped on a temporary socket, the arm64 test guest
 * (tests/guest/kvmscope-guest-arm64.c) making a known number of exits
 * from EL1, EL0 and, where the kernel nests, virtual EL2, and exact
 * assertions on what the daemon counts for its pid, per vCPU, per
 * exception class and level.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include <linux/kvm.h>

#include "kvmscoped.h"
#include "util.h"
#include "proc.h"

#ifndef KVM_CAP_ARM_EL2
#define KVM_CAP_ARM_EL2 240
#endif

static const char *build_dir = "build";
static char tmpdir[64];
static char sock_path[108];
static char log_path[128];
static pid_t daemon_pid = -1;

static char *bin(const char *name)
{
	return test_build_path(build_dir, name);
}

static json_t *parse_json(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		fail_msg("not JSON (%s at line %d): %.400s", e.text, e.line, text);
	return v;
}

static long long obj_int(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *obj_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* One request on the daemon's socket; the result, or the test fails. */
static json_t *rpc(const char *method, const char *params)
{
	char line[512], buf[65536];
	size_t len = 0;
	json_t *resp, *result;
	int fd = test_connect_unix(sock_path);
	ssize_t n;

	assert_true(fd >= 0);
	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}\n",
		 method, params ? params : "{}");
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	char *big = NULL;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		big = realloc(big, len + (size_t)n + 1);
		assert_non_null(big);
		memcpy(big + len, buf, (size_t)n);
		len += (size_t)n;
		big[len] = '\0';
		if (memchr(buf, '\n', (size_t)n))
			break;
	}
	close(fd);
	if (!big)
		fail_msg("%s: no answer from kvmscoped", method);
	resp = parse_json(big);
	free(big);
	result = json_incref(json_object_get(resp, "result"));
	if (!result)
		fail_msg("%s failed: %s", method, json_dumps(resp, 0));
	json_decref(resp);
	return result;
}

/* Run the arm64 test guest; its JSON report, or the test fails. */
static json_t *run_guest(char *const args[])
{
	char *argv[24] = { bin("kvmscope-guest") };
	struct proc_result r;
	json_t *report;
	int n = 1;

	for (; args[n - 1] && n < 23; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	r = proc_run(argv);
	if (r.status != 0)
		fail_msg("arm64 test guest failed (exit %d): %s", r.status, r.err);
	report = parse_json(r.out);
	proc_result_free(&r);
	/* The daemon reads its maps every second or so: let it see the VM's last exits. */
	usleep(1500 * 1000);
	return report;
}

static int kvm_cap(long cap)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	close(fd);
	return r;
}

static int group_setup(void **state)
{
	char *args[] = { "--socket", sock_path, "--metrics", "off", "--retain-exited",
			 "300", "--log-level", "debug", "--collect", "all", "--ioctls", "on", NULL };

	if (getenv("KVMSCOPE_BUILD"))
		build_dir = getenv("KVMSCOPE_BUILD");
	if (test_require_root_kvm("arm64") < 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmscope-arm64.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/kvmscope.sock", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/kvmscoped.log", tmpdir);
	daemon_pid = test_kvmscoped_start(bin("kvmscoped"), log_path, args);
	if (test_kvmscoped_wait(sock_path, daemon_pid, 60000) == 0)
		return 0;
	fprintf(stderr, "arm64: kvmscoped did not open %s in time; its log:\n", sock_path);
	{
		char *argv[] = { "cat", log_path, NULL };
		struct proc_result r = proc_run(argv);

		fprintf(stderr, "%s\n", r.out ? r.out : "");
		proc_result_free(&r);
	}
	return -1;
}

static int group_teardown(void **state)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	if (!getenv("KVMSCOPE_KEEP_LOGS")) {
		unlink(log_path);
		rmdir(tmpdir);
	}
	return 0;
}

static json_t *capability(json_t *status, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "capabilities"), i, c)
		if (!strcmp(obj_str(c, "name"), name))
			return c;
	fail_msg("no capability %s in status", name);
	return NULL;
}

static json_t *probe(json_t *cap, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(cap, "probes"), i, p)
		if (!strcmp(obj_str(p, "name"), name))
			return p;
	return NULL;
}

static json_t *vm_of(json_t *res, long long pid)
{
	json_t *vm;
	size_t i;

	json_array_foreach(json_object_get(res, "vms"), i, vm)
		if (obj_int(vm, "pid") == pid)
			return vm;
	fail_msg("pid %lld not in the answer", pid);
	return NULL;
}

/* Sum of counts of the records named @reason (NULL: all), vCPU @vcpu (-1: any). */
static long long sum_reason(json_t *records, const char *reason, long long vcpu)
{
	long long sum = 0;
	json_t *r;
	size_t i;

	json_array_foreach(records, i, r) {
		if (reason && strcmp(obj_str(r, "reason"), reason))
			continue;
		if (vcpu >= 0 && obj_int(r, "vcpu") != vcpu)
			continue;
		sum += obj_int(r, "count");
	}
	return sum;
}

static long long hist_total(json_t *lat)
{
	json_t *pair;
	long long sum = 0;
	size_t i;

	json_array_foreach(json_object_get(lat, "hist"), i, pair)
		sum += json_integer_value(json_array_get(pair, 1));
	return sum;
}

/* ---- tests ---- */

/*
 * status on arm64: the backend, what attaches (tp_btf kvm_exit, the KVM_RUN
 * hook that names the vCPU) and why the rest does not (x86 only).
 */
static void test_status_on_arm64(void **state)
{
	json_t *st = rpc("status", NULL), *exits, *p;
	struct stat sb;
	bool nested_tp = stat("/sys/kernel/tracing/events/kvm/kvm_nested_eret", &sb) == 0;
	const char *names[] = { "kvm_nested_eret", "kvm_inject_nested_exception",
				"kvm_forward_sysreg_trap" };

	assert_string_equal(obj_str(st, "kvm_backend"), "kvm_arm64");
	exits = capability(st, "exits");
	p = probe(exits, "tp_btf/kvm_exit");
	assert_non_null(p);
	assert_true(json_is_true(json_object_get(p, "attached")));
	p = probe(exits, "tracepoint/syscalls/sys_enter_ioctl");
	assert_non_null(p);
	assert_true(json_is_true(json_object_get(p, "attached")));
	p = probe(exits, "tracepoint/kvm/kvm_pio");
	assert_non_null(p);
	assert_false(json_is_true(json_object_get(p, "attached")));
	assert_non_null(strstr(obj_str(p, "reason"), "x86 only"));
	for (size_t i = 0; i < 3; i++) {
		char name[64];

		snprintf(name, sizeof(name), "tp_btf/%s", names[i]);
		p = probe(exits, name);
		if (!p)
			fail_msg("no probe %s in status", name);
		if (json_is_true(json_object_get(p, "attached")) != nested_tp)
			fail_msg("%s attached=%d, the kernel %s it", name,
				 json_is_true(json_object_get(p, "attached")),
				 nested_tp ? "has" : "does not have");
		if (!nested_tp)
			print_message("[   INFO   ] %s: %s\n", name, obj_str(p, "reason"));
	}
	/* Every probe the daemon wants is attached. */
	assert_string_equal(obj_str(exits, "state"), "active");
	assert_true(json_is_true(json_object_get(json_object_get(exits, "vcpu_resolution"),
						 "available")));
	json_decref(st);
}

#define N_EL1 40
#define N_EL0 25
#define N_HVC 15

/*
 * A guest on 2 vCPUs: every MMIO store is one DABT_LOW exit from the level
 * that made it, every hvc one HVC64 exit from EL1, counted per vCPU, each
 * timed (histogram totals equal counts), and nothing counted at an unknown
 * level.
 */
static void test_exits_by_class_and_level(void **state)
{
	char el1[16], el0[16], hvc[16];
	char *args[] = { "--vcpus", "2", "--mmio-el1", el1, "--mmio-el0", el0, "--hvc", hvc, NULL };
	json_t *report, *res, *vm, *hw, *user, *r, *exp;
	long long pid, hvc_total;
	size_t i;

	snprintf(el1, sizeof(el1), "%d", N_EL1);
	snprintf(el0, sizeof(el0), "%d", N_EL0);
	snprintf(hvc, sizeof(hvc), "%d", N_HVC);
	report = run_guest(args);
	pid = obj_int(report, "pid");
	if (pid <= 0)
		fail_msg("the guest's report has no pid: %s", json_dumps(report, 0));
	exp = json_object_get(report, "expected_kvm_exits");
	hvc_total = obj_int(json_object_get(exp, "HVC64"), "EL1");
	assert_true(hvc_total >= 2 * N_HVC);

	{
		char params[48];

		snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
		res = rpc("exits.get", params);
	}
	vm = vm_of(res, pid);
	hw = json_object_get(vm, "hardware_exits");
	user = json_object_get(vm, "userspace_exits");
	for (long long v = 0; v < 2; v++) {
		assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@EL1", v), N_EL1);
		assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@EL0", v), N_EL0);
		assert_int_equal(sum_reason(user, "MMIO", v), N_EL1 + N_EL0);
	}
	assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@EL1", -1),
			 obj_int(json_object_get(exp, "DABT_LOW"), "EL1"));
	assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@EL0", -1),
			 obj_int(json_object_get(exp, "DABT_LOW"), "EL0"));
	assert_int_equal(sum_reason(hw, "TRAP/HVC64@EL1", -1), hvc_total);
	assert_int_equal(sum_reason(hw, "TRAP/HVC64@EL0", -1), 0);
	assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@vEL2", -1), 0);

	json_array_foreach(hw, i, r) {
		json_t *lat = json_object_get(r, "latency");
		const char *el = obj_str(r, "el");

		if (strcmp(obj_str(r, "isa"), "arm64"))
			fail_msg("a hardware exit of isa %s", obj_str(r, "isa"));
		if (strcmp(el, "EL0") && strcmp(el, "EL1"))
			fail_msg("%s on vCPU %lld (%lld) taken from level '%s'", obj_str(r, "reason"),
				 obj_int(r, "vcpu"), obj_int(r, "count"), el);
		if (obj_int(lat, "count") + obj_int(lat, "unfinished") != obj_int(r, "count"))
			fail_msg("%s vCPU %lld: timed %lld + unfinished %lld != %lld exits",
				 obj_str(r, "reason"), obj_int(r, "vcpu"), obj_int(lat, "count"),
				 obj_int(lat, "unfinished"), obj_int(r, "count"));
		if (hist_total(lat) != obj_int(lat, "count"))
			fail_msg("%s vCPU %lld: histogram total %lld != timed %lld",
				 obj_str(r, "reason"), obj_int(r, "vcpu"), hist_total(lat),
				 obj_int(lat, "count"));
		print_message("[   INFO   ] vCPU %lld %-22s %6lld exits, p50 %lld ns\n",
			      obj_int(r, "vcpu"), obj_str(r, "reason"), obj_int(r, "count"),
			      obj_int(lat, "p50_ns"));
	}
	json_decref(res);
	json_decref(report);
}

/* The ioctl records of @vm for KVM_ARM_VCPU_INIT with @result, counted. */
static long long vcpu_inits(json_t *vm, const char *result, const char *feature)
{
	long long n = 0;
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(vm, "ioctls"), i, r) {
		if (strcmp(obj_str(r, "ioctl"), "KVM_ARM_VCPU_INIT") || strcmp(obj_str(r, "result"), result))
			continue;
		if (feature && !strstr(obj_str(r, "features"), feature))
			continue;
		n += obj_int(r, "count");
	}
	return n;
}

static json_t *ioctls_of(long long pid, json_t **res)
{
	char params[48];

	snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
	*res = rpc("ioctls.get", params);
	return vm_of(*res, pid);
}

/*
 * KVM_ARM_VCPU_INIT, live: its features decoded, one per vCPU; and a
 * request for nested virtualization (HAS_EL2) with KVM's answer, refused
 * with its errno on a kernel that does not nest.
 */
static void test_vcpu_init_features(void **state)
{
	char *args[] = { "--vcpus", "2", "--mmio-el1", "1", "--mmio-el0", "1", "--hvc", "1", NULL };
	char *try_args[] = { "--try-el2", NULL };
	json_t *report = run_guest(args), *res, *vm, *el2;
	long long pid = obj_int(report, "pid");
	const char *errname;

	vm = ioctls_of(pid, &res);
	assert_int_equal(vcpu_inits(vm, "ok", "KVM_ARM_VCPU_PSCI_0_2"), 2);
	json_decref(res);
	json_decref(report);

	report = run_guest(try_args);
	pid = obj_int(report, "pid");
	el2 = json_object_get(report, "el2");
	vm = ioctls_of(pid, &res);
	if (json_is_true(json_object_get(el2, "accepted"))) {
		assert_int_equal(vcpu_inits(vm, "ok", "KVM_ARM_VCPU_HAS_EL2"), 1);
		print_message("[   INFO   ] HAS_EL2 accepted (nested virtualization)\n");
	} else {
		errname = strerrorname_np((int)obj_int(el2, "errno"));
		assert_non_null(errname);
		assert_int_equal(vcpu_inits(vm, errname, "KVM_ARM_VCPU_HAS_EL2"), 1);
		print_message("[   INFO   ] HAS_EL2 refused with %s, seen as such\n", errname);
	}
	json_decref(res);
	json_decref(report);
}

#define N_EL2 3

/*
 * Nested virtualization (kvm-arm.mode=nested): a vCPU created with HAS_EL2
 * starts at virtual EL2, and its MMIO stores are DABT_LOW exits taken from
 * vEL2, counted exactly and told apart from EL1.
 */
static void test_exits_from_virtual_el2(void **state)
{
	char n[16];
	char *args[] = { "--el2", "--vcpus", "1", "--mmio-el2", n, "--el2-hvc", "4",
			 "--el2-sysreg-fwd", "2", NULL };
	json_t *report, *res, *vm, *hw, *exp, *ev, *nested;
	long long pid, want;
	char params[48];

	if (kvm_cap(KVM_CAP_ARM_EL2) <= 0) {
		skip_msg("this kernel does not nest (KVM_CAP_ARM_EL2 is 0; the arm64 sid lab boots "
			 "with kvm-arm.mode=nested and runs it)");
		return;
	}
	snprintf(n, sizeof(n), "%d", N_EL2);
	report = run_guest(args);
	pid = obj_int(report, "pid");
	exp = json_object_get(report, "expected_kvm_exits");
	want = obj_int(json_object_get(exp, "DABT_LOW"), "vEL2");
	if (!want)
		want = obj_int(json_object_get(exp, "DABT_LOW"), "EL2");
	assert_true(want >= N_EL2);
	snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
	res = rpc("exits.get", params);
	vm = vm_of(res, pid);
	hw = json_object_get(vm, "hardware_exits");
	assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@vEL2", -1), want);
	assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@EL1", -1), 0);
	assert_int_equal(sum_reason(hw, "TRAP/DABT_LOW@EL0", -1), 0);
	/*
	 * hvc at vEL2 into the guest hypervisor's own vectors; a nested EL1
	 * whose ID register reads its hypervisor traps (forwarded to vEL2,
	 * which erets back): each class at the level it was taken from.
	 */
	assert_int_equal(sum_reason(hw, "TRAP/HVC64@vEL2", -1),
			 obj_int(json_object_get(exp, "HVC64"), "vEL2"));
	assert_int_equal(obj_int(json_object_get(exp, "HVC64"), "vEL2"), 4);
	assert_int_equal(sum_reason(hw, "TRAP/SYS64@EL1", -1),
			 obj_int(json_object_get(exp, "SYS64"), "EL1"));
	assert_int_equal(sum_reason(hw, "TRAP/SYS64@vEL2", -1),
			 obj_int(json_object_get(exp, "SYS64"), "vEL2"));
	assert_int_equal(sum_reason(hw, "TRAP/ERET@vEL2", -1),
			 obj_int(json_object_get(exp, "ERET"), "vEL2"));
	/* KVM's nested tracepoints, per VM, exactly as many as the guest made. */
	ev = json_object_get(report, "expected_nested_events");
	nested = json_object_get(vm, "nested");
	print_message("[   INFO   ] nested: %s\n", json_dumps(nested, JSON_COMPACT));
	{
		struct { const char *table, *event; } t[] = {
			{ "injected_exceptions", "kvm_inject_nested_exception" },
			{ "eret", "kvm_nested_eret" },
			{ "sysreg_traps_forwarded", "kvm_forward_sysreg_trap" },
		};

		for (size_t i = 0; i < 3; i++) {
			json_t *tab = json_object_get(nested, t[i].table);
			long long got = sum_reason(json_object_get(tab, "entries"), NULL, -1) +
					obj_int(tab, "other");

			if (got != obj_int(ev, t[i].event))
				fail_msg("%s: %lld counted, the guest made %lld", t[i].event, got,
					 obj_int(ev, t[i].event));
		}
	}
	json_decref(res);
	json_decref(report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_on_arm64),
		cmocka_unit_test(test_exits_by_class_and_level),
		cmocka_unit_test(test_vcpu_init_features),
		cmocka_unit_test(test_exits_from_virtual_el2),
	};

	return cmocka_run_group_tests_name("arm64", tests, group_setup, group_teardown);
}
