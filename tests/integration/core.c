// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's core as root against real guests: state that survives a
 * kill -9 (pinned maps and links adopted by the next daemon, exact
 * counts), --keep-pinned and --cleanup, pinned state from other options
 * refused, one VM that cannot fill a map for all (its answer says what it
 * lost), and many short-lived VMs that all stay exact.  Each test starts
 * the daemons it needs on its own socket and pin directory.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "kvmscoped.h"
#include "util.h"
#include "proc.h"

static const char *build_dir = "build";
static char tmpdir[64];
static char sock_path[108];
static char log_path[128];
static char pin_dir[128];
static pid_t daemon_pid = -1;

static char *bin(const char *name)
{
	return test_build_path(build_dir, name);
}

/* kvmscoped on our socket and pin directory, plus up to 6 more arguments. */
static pid_t start_daemon(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *args[16] = { "--socket", sock_path, "--metrics", "off", "--pin-dir", pin_dir,
			   "--log-level", "debug" };
	const char *more[] = { a1, a2, a3, a4 };
	int n = 8;
	pid_t pid;

	for (int i = 0; i < 4 && more[i]; i++)
		args[n++] = (char *)more[i];
	args[n] = NULL;
	pid = test_kvmscoped_start(bin("kvmscoped"), log_path, args);
	if (test_kvmscoped_wait(sock_path, pid, test_start_wait_ms(20000)) < 0)
		fail_msg("kvmscoped did not come up; see %s", log_path);
	return pid;
}

static json_t *parse_json(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		fail_msg("not JSON (%s): %.400s", e.text, text);
	return v;
}

/* kvmscopectl --json VERB [ARG...] against our daemon. */
static json_t *ctl_json(const char *verb, const char *a1, const char *a2)
{
	char *argv[10] = { bin("kvmscopectl"), "--socket", sock_path, "--json", (char *)verb,
			   (char *)a1, (char *)a2, NULL };
	struct proc_result r = proc_run(argv);
	json_t *v;

	if (r.status != 0)
		fail_msg("kvmscopectl %s failed (%d): %s", verb, r.status, r.err);
	v = parse_json(r.out);
	proc_result_free(&r);
	return v;
}

static json_t *exits_cap(json_t *status)
{
	return json_array_get(json_object_get(status, "capabilities"), 0);
}

/* The VM of @pid in exits.get (a new reference), failing the test if absent. */
static json_t *exits_of(long long pid)
{
	char p[24];
	json_t *res, *vm;

	snprintf(p, sizeof(p), "%lld", pid);
	res = ctl_json("exits", "--pid", p);
	vm = json_incref(json_array_get(json_object_get(res, "vms"), 0));
	json_decref(res);
	if (!vm)
		fail_msg("exits.get has no VM with pid %lld", pid);
	return vm;
}

/* Sum of the count of @reason over the VM's userspace_exits records. */
static long long userspace_count(json_t *vm, const char *reason)
{
	long long sum = 0;
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(vm, "userspace_exits"), i, r)
		if (!strcmp(json_string_value(json_object_get(r, "reason")), reason))
			sum += json_integer_value(json_object_get(r, "count"));
	return sum;
}

static long long report_count(json_t *report, const char *reason)
{
	return json_integer_value(json_object_get(json_object_get(report, "userspace_exits"), reason));
}

/* Start the test guest with @args; its stdout (the JSON report) comes on *@fd. */
static pid_t start_guest(char *const args[], int *fd)
{
	pid_t pid = proc_start_args(bin("kvmscope-guest"), args, fd);

	assert_true(pid > 0);
	return pid;
}

/* Wait for the guest and return its report. */
static json_t *guest_report(pid_t pid, int fd)
{
	char *out;
	int status = proc_finish(pid, fd, &out);
	json_t *report;

	if (status != 0)
		fail_msg("test guest failed (status %d)", status);
	report = parse_json(out);
	free(out);
	return report;
}

static json_t *run_guest(char *const args[])
{
	int fd;
	pid_t pid = start_guest(args, &fd);

	return guest_report(pid, fd);
}

static bool log_has(const char *text)
{
	char *argv[] = { "grep", "-qF", (char *)text, log_path, NULL };
	struct proc_result r = proc_run(argv);
	bool found = r.status == 0;

	proc_result_free(&r);
	return found;
}

static bool pin_exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return access(path, F_OK) == 0;
}

static void cleanup_pins(void)
{
	char *argv[] = { bin("kvmscoped"), "--cleanup", "--pin-dir", pin_dir, NULL };
	struct proc_result r = proc_run(argv);

	proc_result_free(&r);
}

static int test_setup(void **state)
{
	static int n;

	snprintf(sock_path, sizeof(sock_path), "%s/s%d.sock", tmpdir, n);
	snprintf(log_path, sizeof(log_path), "%s/kvmscoped-%d.log", tmpdir, n);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/kvmscope-core-%d-%d", (int)getpid(), n++);
	return 0;
}

static int test_teardown(void **state)
{
	test_process_stop(&daemon_pid, SIGTERM);
	cleanup_pins();
	return 0;
}

/*
 * kill -9 the daemon while a guest makes exits; a new daemon adopts the
 * pinned maps and links, and the VM's final counts equal the guest's own.
 */
static void test_kill9_keeps_every_exit(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:300000", "--hlt", "2000", "-name",
			 "crash", NULL };
	json_t *report, *vm, *st;
	long long pid;
	int fd;
	pid_t guest;

	daemon_pid = start_daemon(NULL, NULL, NULL, NULL);
	guest = start_guest(args, &fd);
	sleep_ms(600);
	test_process_stop(&daemon_pid, SIGKILL);
	/* Pinned: the programs count on while no daemon runs. */
	assert_true(pin_exists("link_kvm_userspace_exit"));
	assert_true(pin_exists("user_exits"));
	sleep_ms(400);
	daemon_pid = start_daemon(NULL, NULL, NULL, NULL);
	report = guest_report(guest, fd);
	pid = json_integer_value(json_object_get(report, "pid"));
	st = ctl_json("status", NULL, NULL);
	assert_true(json_is_true(json_object_get(json_object_get(exits_cap(st), "pinning"), "adopted")));
	json_decref(st);
	vm = exits_of(pid);
	print_message("[   INFO   ] after kill -9: IO %lld of %lld, HLT %lld of %lld\n",
		      userspace_count(vm, "IO"), report_count(report, "IO"),
		      userspace_count(vm, "HLT"), report_count(report, "HLT"));
	assert_int_equal(userspace_count(vm, "IO"), report_count(report, "IO"));
	assert_int_equal(userspace_count(vm, "HLT"), report_count(report, "HLT"));
	assert_true(json_is_true(json_object_get(vm, "complete")));
	json_decref(vm);
	json_decref(report);
	/* A clean stop unpins: nothing counts for a daemon that is gone. */
	test_process_stop(&daemon_pid, SIGTERM);
	assert_false(pin_exists("link_kvm_userspace_exit"));
}

/* --keep-pinned keeps the pins at a clean stop; --cleanup removes them, not under a live daemon. */
static void test_keep_pinned_and_cleanup(void **state)
{
	char *cleanup[] = { bin("kvmscoped"), "--cleanup", "--pin-dir", pin_dir, NULL };
	struct proc_result r;

	daemon_pid = start_daemon("--keep-pinned", NULL, NULL, NULL);
	r = proc_run(cleanup);
	assert_int_equal(r.status, 1);
	if (!strstr(r.err, "owns"))
		fail_msg("--cleanup under a live daemon: %s", r.err);
	proc_result_free(&r);
	assert_true(pin_exists("pin_meta"));
	test_process_stop(&daemon_pid, SIGTERM);
	assert_true(pin_exists("link_kvm_userspace_exit"));
	r = proc_run(cleanup);
	assert_int_equal(r.status, 0);
	proc_result_free(&r);
	assert_int_equal(access(pin_dir, F_OK), -1);
}

/* Pinned state made with other options is not adopted: the new daemon starts clean and says why. */
static void test_other_options_start_clean(void **state)
{
	json_t *st, *pinning;

	daemon_pid = start_daemon("--keep-pinned", "--collect", "all", NULL);
	test_process_stop(&daemon_pid, SIGTERM);
	daemon_pid = start_daemon("--collect", "none", NULL, NULL);
	st = ctl_json("status", NULL, NULL);
	pinning = json_object_get(exits_cap(st), "pinning");
	assert_false(json_is_true(json_object_get(pinning, "adopted")));
	if (strncmp(json_string_value(json_object_get(pinning, "state")), "started clean", 13))
		fail_msg("pinning.state: %s", json_string_value(json_object_get(pinning, "state")));
	json_decref(st);
	assert_true(log_has("not adopted"));
}

/*
 * One VM touching many ports cannot take the shared map from the others:
 * it keeps --max-keys-per-vm keys, says complete: false and how many
 * exits it lost; a VM after it is counted whole.
 */
static void test_per_vm_key_limit(void **state)
{
	char *greedy[] = { "--out", "0x70:5", "--out", "0x71:5", "--out", "0x72:5", "--out",
			   "0x73:5", "--out", "0x74:5", "--out", "0x75:5", "--hlt", "3", NULL };
	char *modest[] = { "--out", "0x80:7", "--hlt", "2", NULL };
	json_t *report, *vm;

	/* No counter slots: every exit goes through the hash maps, whose keys are shared. */
	daemon_pid = start_daemon("--max-keys-per-vm", "4", "--max-threads", "0");
	report = run_guest(greedy);
	vm = exits_of(json_integer_value(json_object_get(report, "pid")));
	/* Ports in command-line order: 0x70-0x73 fit, 0x74, 0x75 and the done port do not. */
	assert_false(json_is_true(json_object_get(vm, "complete")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(vm, "dropped"),
							    "pio_map_full")), 5 + 5 + 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(vm, "totals"), "pio")), 20);
	/* The exit counts themselves have keys to spare: exact. */
	assert_int_equal(userspace_count(vm, "IO"), report_count(report, "IO"));
	json_decref(vm);
	/*
	 * Its ioctls likewise: four keys of its own, the rest counted in its
	 * one OTHER key, without detail; every call counted.
	 */
	{
		long long calls = 0, other = 0, made = 0, records = 0;
		json_t *io, *rec, *ioctls;
		char pid[24];
		size_t i;

		json_array_foreach(json_object_get(report, "ioctls"), i, rec)
			made += json_integer_value(json_object_get(rec, "count"));
		assert_int_equal(json_integer_value(json_object_get(report, "ioctls_untallied")), 0);
		snprintf(pid, sizeof(pid), "%lld", json_integer_value(json_object_get(report, "pid")));
		io = ctl_json("ioctls", "--pid", pid);
		ioctls = json_object_get(json_array_get(json_object_get(io, "vms"), 0), "ioctls");
		json_array_foreach(ioctls, i, rec) {
			long long n = json_integer_value(json_object_get(rec, "count"));

			records++;
			calls += n;
			if (!strcmp(json_string_value(json_object_get(rec, "ioctl")), "OTHER"))
				other += n;
		}
		print_message("[   INFO   ] ioctls: %lld calls in %lld records, %lld as OTHER\n", calls,
			      records, other);
		assert_int_equal(records, 4 + 1);
		assert_true(other > 0);
		assert_int_equal(calls, made);
		json_decref(io);
	}
	json_decref(report);
	report = run_guest(modest);
	vm = exits_of(json_integer_value(json_object_get(report, "pid")));
	assert_true(json_is_true(json_object_get(vm, "complete")));
	assert_int_equal(json_object_size(json_object_get(vm, "dropped")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(vm, "totals"), "pio")), 8);
	assert_int_equal(userspace_count(vm, "IO"), 8);
	assert_int_equal(userspace_count(vm, "HLT"), 2);
	json_decref(vm);
	json_decref(report);
}

/* Events of vCPU @vcpu in the VM's records of @what (hardware_exits, userspace_exits, pio). */
static long long vcpu_events(json_t *vm, const char *what, long long vcpu)
{
	long long sum = 0;
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(vm, what), i, r)
		if (json_integer_value(json_object_get(r, "vcpu")) == vcpu)
			sum += json_integer_value(json_object_get(r, "count"));
	return sum;
}

/*
 * One slot for two vCPU threads: one thread counts in it, the other in
 * the hash maps.  Both stay exact, and every event of the second is
 * counted as a fallback, so a user sees the slot table is too small.
 */
static void test_threads_without_slot_stay_exact(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:200", "--hlt", "4", NULL };
	json_t *report, *vm, *st, *slots, *rec;
	long long no_slot, v0, v1;
	size_t i;

	daemon_pid = start_daemon("--max-threads", "1", NULL, NULL);
	report = run_guest(args);
	vm = exits_of(json_integer_value(json_object_get(report, "pid")));
	assert_true(json_is_true(json_object_get(vm, "complete")));
	json_array_foreach(json_object_get(report, "per_vcpu"), i, rec) {
		long long v = json_integer_value(json_object_get(rec, "vcpu"));
		json_t *ue = json_object_get(rec, "userspace_exits");

		assert_int_equal(vcpu_events(vm, "userspace_exits", v),
				 json_integer_value(json_object_get(ue, "IO")) +
				 json_integer_value(json_object_get(ue, "HLT")));
	}
	assert_int_equal(userspace_count(vm, "IO"), report_count(report, "IO"));
	assert_int_equal(userspace_count(vm, "HLT"), 4);
	v0 = vcpu_events(vm, "hardware_exits", 0) + vcpu_events(vm, "userspace_exits", 0) +
	     vcpu_events(vm, "pio", 0);
	v1 = vcpu_events(vm, "hardware_exits", 1) + vcpu_events(vm, "userspace_exits", 1) +
	     vcpu_events(vm, "pio", 1);
	/* Read at the tick: wait for the first one after the VM's exit. */
	for (int tries = 0;; tries++) {
		st = ctl_json("status", NULL, NULL);
		slots = json_object_get(json_array_get(json_object_get(st, "capabilities"), 0), "slots");
		assert_int_equal(json_integer_value(json_object_get(slots, "total")), 1);
		no_slot = json_integer_value(json_object_get(json_object_get(slots, "fallbacks"),
							     "no_slot"));
		if (no_slot == v0 || no_slot == v1 || tries == 30)
			break;
		json_decref(st);
		sleep_ms(100);
	}
	if (no_slot != v0 && no_slot != v1)
		fail_msg("fallbacks.no_slot is %lld: neither vCPU 0's %lld events nor vCPU 1's %lld",
			 no_slot, v0, v1);
	json_decref(st);
	json_decref(vm);
	json_decref(report);
}

#define SHORT_VMS 120
#define SHORT_BATCH 20

/*
 * Many VMs that start and exit together: each one's counts are taken at
 * its exit and its keys removed in one batch, all exact.
 */
/*
 * Runs of the kvm_userspace_exit program the kernel skipped (its
 * recursion_misses) in both the first program and its backup, as status
 * shows them: an exit is lost only when both were skipped for it.
 */
static void userspace_exit_skips(long long *first, long long *backup)
{
	json_t *st = ctl_json("status", NULL, NULL);

	test_userspace_exit_skips(st, first, backup);
	json_decref(st);
}

static void test_many_short_vms_stay_exact(void **state)
{
	static pid_t pids[SHORT_VMS];
	static int fds[SHORT_VMS];
	static long long vm_pids[SHORT_VMS];
	static int entries[SHORT_VMS];
	char *args[] = { "--vcpus", "2", "--out", "0x70:40", "--hlt", "6", NULL };
	long long first0, backup0, first1, backup1, both, short_by = 0;
	json_t *res, *vm;
	size_t i;
	int exact = 0;

	daemon_pid = start_daemon(NULL, NULL, NULL, NULL);
	sleep_ms(1100);		/* skipped runs are read at the tick */
	userspace_exit_skips(&first0, &backup0);
	for (int b = 0; b < SHORT_VMS; b += SHORT_BATCH) {
		for (int k = b; k < b + SHORT_BATCH; k++)
			pids[k] = start_guest(args, &fds[k]);
		for (int k = b; k < b + SHORT_BATCH; k++) {
			json_t *report = guest_report(pids[k], fds[k]);

			vm_pids[k] = json_integer_value(json_object_get(report, "pid"));
			json_decref(report);
		}
	}
	res = ctl_json("exits", NULL, NULL);
	json_array_foreach(json_object_get(res, "vms"), i, vm) {
		long long pid = json_integer_value(json_object_get(vm, "pid"));

		for (int k = 0; k < SHORT_VMS; k++) {
			long long io, hlt;

			if (vm_pids[k] != pid)
				continue;
			/* One process, one VM: never a second entry sharing its counts. */
			if (entries[k]++)
				fail_msg("pid %lld is listed as %d VMs", pid, entries[k]);
			/* 40 OUT + the done OUT of each of 2 vCPUs, 6 HLT. */
			io = userspace_count(vm, "IO");
			hlt = userspace_count(vm, "HLT");
			if (io == 42 && hlt == 6 && json_is_true(json_object_get(vm, "complete"))) {
				exact++;
				continue;
			}
			print_message("[   INFO   ] pid %lld: IO %lld HLT %lld\n", pid, io, hlt);
			/* Never more than happened, never a VM short for any other reason. */
			if (io > 42 || hlt > 6 || !json_is_true(json_object_get(vm, "complete")))
				fail_msg("pid %lld: IO %lld of 42, HLT %lld of 6, complete %s", pid, io, hlt,
					 json_is_true(json_object_get(vm, "complete")) ? "true" : "false");
			short_by += 42 - io + 6 - hlt;
		}
	}
	json_decref(res);
	/*
	 * A kernel that runs kvm_userspace_exit's programs preemptible (7.2)
	 * skips some runs; the backup program counts those, and an exit is
	 * lost only where the kernel skipped both.  Every exit missing here
	 * must be one of those, as the kernel counts them; anything else fails.
	 */
	sleep_ms(1100);
	userspace_exit_skips(&first1, &backup1);
	both = first1 - first0 < backup1 - backup0 ? first1 - first0 : backup1 - backup0;
	if (short_by)
		print_message("[   INFO   ] %lld exits missing in %d of %d VMs; the kernel skipped %lld "
			      "runs of kvm_userspace_exit's program and %lld of its backup meanwhile\n",
			      short_by, SHORT_VMS - exact, SHORT_VMS, first1 - first0, backup1 - backup0);
	if (short_by > both)
		fail_msg("%lld exits missing, more than the %lld runs the kernel skipped in both programs",
			 short_by, both);
	for (int k = 0; k < SHORT_VMS; k++)
		if (entries[k] != 1)
			fail_msg("guest pid %lld is listed %d times", vm_pids[k], entries[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill9_keeps_every_exit, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_keep_pinned_and_cleanup, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_other_options_start_clean, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_per_vm_key_limit, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_threads_without_slot_stay_exact, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_many_short_vms_stay_exact, test_setup, test_teardown),
	};
	char cmd[128];
	int failed;

	if (test_require_root_kvm("core-tests") < 0)
		return 1;
	if (getenv("KVMSCOPE_BUILD"))
		build_dir = getenv("KVMSCOPE_BUILD");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmscope-core-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	/*
	 * The lab keeps what a real exit path can change: adoption after
	 * kill -9, threads without a slot, many short VMs (7.2's skipped
	 * runs); pinning options and the key limit are the same everywhere.
	 */
	static const char *const host_only[] = {
		"test_keep_pinned_and_cleanup", "test_other_options_start_clean", "test_per_vm_key_limit",
		NULL,
	};
	struct CMUnitTest run[sizeof(tests) / sizeof(tests[0])];
	size_t n = test_lab_select("core", HOST_ONLY_WHY, tests, sizeof(tests) / sizeof(tests[0]), host_only, run);

	failed = _cmocka_run_group_tests("core", run, n, NULL, NULL);
	if (!getenv("KVMSCOPE_KEEP_LOGS")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		(void)!system(cmd);
	} else {
		fprintf(stderr, "core-tests: logs kept in %s\n", tmpdir);
	}
	return failed;
}
