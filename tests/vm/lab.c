// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lab tests, run as root inside the lab VM (a Debian kernel under QEMU,
 * see shared/reference/machines.md) by tests/vm/run.  They load the
 * modules that the runner built against that kernel's headers:
 *
 *   $KVMSCOPE_LAB_MODULES/module/kvmscope_labtest.ko      (tests/vm/module)
 *   $KVMSCOPE_LAB_MODULES/livepatch/kvmscope_lp_cmdline.ko (tests/vm/livepatch)
 *
 * and check what the kernel shows for them: module parameters in sysfs,
 * the printk of their init, a whole livepatch cycle on cmdline_proc_show()
 * with its transitions, and the ftrace site the livepatch uses; then what
 * kvmscoped shows of the same cycle (livepatch.list, ftrace.sites).
 *
 * Where this machine cannot build modules for the lab kernel at all (sid's
 * headers want gcc 16), tests/vm/run builds none and says why in
 * $KVMSCOPE_LAB_MODULES_NOT_BUILT: every test then reports itself not run,
 * with that reason, as a skip that tests/run counts and lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include <kvmscope/kmod.h>

#include "kvmscoped.h"
#include "proc.h"

#define LABTEST_NAME "kvmscope_labtest"
#define LABTEST_SYSFS "/sys/module/" LABTEST_NAME
#define LABTEST_GREETING "hello-from-lab"

#define LIVEPATCH_NAME "kvmscope_lp_cmdline"
#define LIVEPATCH_MODULE_SYSFS "/sys/module/" LIVEPATCH_NAME
#define LIVEPATCH_SYSFS "/sys/kernel/livepatch/" LIVEPATCH_NAME
#define LIVEPATCH_ENABLED LIVEPATCH_SYSFS "/enabled"
#define LIVEPATCH_TRANSITION LIVEPATCH_SYSFS "/transition"
/* What tests/vm/livepatch/kvmscope_lp_cmdline.c makes /proc/cmdline read. */
#define PATCHED_CMDLINE "kvmscope livepatch active\n"
#define PATCHED_FUNCTION "cmdline_proc_show"

/* tests/vm/livepatch/kvmscope_lp_park.c, and the thread it stalls on. */
#define PARK_NAME "kvmscope_lp_park"
#define PARK_SYSFS "/sys/kernel/livepatch/" PARK_NAME
#define PARK_MODULE_SYSFS "/sys/module/" PARK_NAME
#define PARK_PARAM LABTEST_SYSFS "/parameters/park"
#define PARKED_PARAM LABTEST_SYSFS "/parameters/parked"
#define PARKED_FUNCTION "kvmscope_labtest_park"
#define PARKER_COMM "kvmscope_parker"

/* tests/vm/livepatch/kvmscope_lp_kvmrun.c: kvm_arch_vcpu_ioctl_run() replaced. */
#define KVMRUN_NAME "kvmscope_lp_kvmrun"
#define KVMRUN_SYSFS "/sys/kernel/livepatch/" KVMRUN_NAME
#define KVMRUN_MODULE_SYSFS "/sys/module/" KVMRUN_NAME
/*
 * The held guest's one KVM_RUN lasts about KVMRUN_HOLD_S: long enough to
 * outlast "patch load --wait 3", short of the 15 s after which the
 * livepatch core sends the blocking task a fake signal.  That signal ends
 * KVM_RUN with EINTR, the guest restarts it into the patched function,
 * which returns EINTR for ever: the guest never finishes.  The count of
 * CPUIDs is measured on the machine at hand (twice as long on a slower
 * one), see kvmrun_cpuids().
 */
#define KVMRUN_HOLD_S 6.0

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TRANSITION_TIMEOUT_S 60.0
#define UNLOAD_TIMEOUT_S 10.0
#define POLL_INTERVAL_MS 100

static char labtest_ko[PATH_MAX];
static char livepatch_ko[PATH_MAX];
static char park_ko[PATH_MAX];
static char kvmrun_ko[PATH_MAX];
static char kmod_ko[PATH_MAX];
static char kmod_skew_ko[PATH_MAX];
/* Why the runner built no modules for this kernel, or NULL. */
static const char *modules_not_built;

static int remove_kvmrun_patch(void);
static int remove_kmod(void);

/* ---- files ---- */

/* Read a whole (small) file into buf, NUL-terminated: length or -errno. */
static int read_file_text(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return (int)len;
}

static int write_file_text(const char *path, const char *text)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

static void strip_trailing_newline(char *text)
{
	size_t len = strlen(text);

	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
}

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- time ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct timespec now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static double seconds_since(struct timespec start)
{
	struct timespec end = now_monotonic();

	return (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
}

/* ---- modules ---- */

/* finit_module(2) with a parameter string ("" for none): 0 or -errno. */
static int load_module_file(const char *path, const char *params)
{
	int fd, ret, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = (int)syscall(SYS_finit_module, fd, params, 0);
	if (ret < 0)
		err = -errno;
	close(fd);
	return err;
}

/*
 * delete_module(2), retried while the module is still referenced: a
 * livepatch module's last reference is dropped by a work item only after
 * its disable transition finished.  0 or the last -errno.
 */
static int unload_module_patiently(const char *name, double timeout_s)
{
	struct timespec start = now_monotonic();
	int err;

	for (;;) {
		if (syscall(SYS_delete_module, name, O_NONBLOCK) == 0)
			return 0;
		err = -errno;
		if (err != -EBUSY && err != -EAGAIN)
			return err;
		if (seconds_since(start) > timeout_s)
			return err;
		sleep_ms(POLL_INTERVAL_MS);
	}
}

/* Open /dev/kmsg positioned after every record already logged, or -errno. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	lseek(fd, 0, SEEK_END);
	return fd;
}

/* Look through the records logged since kmsg_open_at_end() for @needle. */
static bool kmsg_find(int fd, const char *needle, char *record, size_t size)
{
	for (;;) {
		ssize_t n = read(fd, record, size - 1);
		char *text;

		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten under us: read on */
		if (n <= 0)
			return false;
		record[n] = '\0';
		strip_trailing_newline(record);
		/* A record is "level,seq,usec,flags;text": keep the text. */
		text = strchr(record, ';');
		text = text ? text + 1 : record;
		if (strstr(text, needle)) {
			memmove(record, text, strlen(text) + 1);
			return true;
		}
	}
}

/* ---- livepatch ---- */

/* The numbers the kernel shows in /proc/<pid>/patch_state. */
#define KLP_TASK_UNPATCHED 0
#define KLP_TASK_PATCHED 1

/* Names of the tasks whose patch_state is not @target yet, for a timeout message. */
static void describe_tasks_behind(int target, char *out, size_t size)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	size_t used = 0;
	int listed = 0;

	out[0] = '\0';
	if (!proc)
		return;
	while ((de = readdir(proc)) && listed < 20) {
		char path[PATH_MAX], state[16], comm[64];

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/patch_state", de->d_name);
		/* -1: not part of a transition; target: already switched */
		if (read_file_text(path, state, sizeof(state)) <= 0 || atoi(state) < 0 ||
		    atoi(state) == target)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (read_file_text(path, comm, sizeof(comm)) < 0)
			snprintf(comm, sizeof(comm), "?");
		strip_trailing_newline(comm);
		used += (size_t)snprintf(out + used, size - used, "%s%s[%s]",
					 listed ? " " : "", comm, de->d_name);
		if (used >= size)
			break;
		listed++;
	}
	closedir(proc);
}

/*
 * Wait until the patch's transition file reads 0.  A patch that was just
 * disabled is freed once its transition ends, and its sysfs directory
 * goes with it: when @gone_is_done, that absence also means finished
 * (ENOENT, or ENODEV when the read races the removal of the directory,
 * as seen on 6.12).
 * Returns 0 with the wait in *took, -ETIMEDOUT, or -errno of the read.
 */
static int wait_for_transition_end(bool gone_is_done, double *took)
{
	struct timespec start = now_monotonic();
	char value[16];
	int ret;

	for (;;) {
		ret = read_file_text(LIVEPATCH_TRANSITION, value, sizeof(value));
		if ((ret == -ENOENT || ret == -ENODEV) && gone_is_done)
			break;
		if (ret < 0)
			return ret;
		if (atoi(value) == 0)
			break;
		if (seconds_since(start) > TRANSITION_TIMEOUT_S)
			return -ETIMEDOUT;
		sleep_ms(POLL_INTERVAL_MS);
	}
	*took = seconds_since(start);
	return 0;
}

/* Fail the test with the tasks that hold the transition back. */
static void fail_transition(const char *direction, int ret, int target)
{
	char behind[1024];

	if (ret != -ETIMEDOUT)
		fail_msg("%s: cannot read %s: %s", direction, LIVEPATCH_TRANSITION, strerror(-ret));
	describe_tasks_behind(target, behind, sizeof(behind));
	fail_msg("%s: %s still reads 1 after %.0f s; tasks not yet switched: %s", direction,
		 LIVEPATCH_TRANSITION, TRANSITION_TIMEOUT_S, behind[0] ? behind : "(none found)");
}

/* Load the livepatch and wait until every task runs the new function. */
static void enable_livepatch(void)
{
	struct timespec start = now_monotonic();
	double load_s, took;
	char enabled[16];
	int ret;

	ret = load_module_file(livepatch_ko, "");
	if (ret)
		fail_msg("finit_module(%s): %s — is CONFIG_LIVEPATCH set, and is %s unique in "
			 "kallsyms?", livepatch_ko, strerror(-ret), PATCHED_FUNCTION);
	load_s = seconds_since(start);
	ret = read_file_text(LIVEPATCH_ENABLED, enabled, sizeof(enabled));
	if (ret < 0)
		fail_msg("module loaded but %s is unreadable: %s", LIVEPATCH_ENABLED, strerror(-ret));
	strip_trailing_newline(enabled);
	assert_string_equal(enabled, "1");
	ret = wait_for_transition_end(false, &took);
	if (ret)
		fail_transition("enabling", ret, KLP_TASK_PATCHED);
	print_message("[   INFO   ] livepatch loaded in %.3f s, patching transition ended %.3f s "
		      "later\n", load_s, took);
}

/* Disable the livepatch, wait for the reverse transition, unload it. */
static void disable_and_unload_livepatch(void)
{
	struct timespec start = now_monotonic();
	double write_s, took, unload_s;
	int ret;

	ret = write_file_text(LIVEPATCH_ENABLED, "0");
	if (ret)
		fail_msg("writing 0 to %s: %s", LIVEPATCH_ENABLED, strerror(-ret));
	write_s = seconds_since(start);
	ret = wait_for_transition_end(true, &took);
	if (ret)
		fail_transition("disabling", ret, KLP_TASK_UNPATCHED);
	start = now_monotonic();
	ret = unload_module_patiently(LIVEPATCH_NAME, UNLOAD_TIMEOUT_S);
	if (ret)
		fail_msg("delete_module(%s) after the patch was disabled: %s", LIVEPATCH_NAME,
			 strerror(-ret));
	unload_s = seconds_since(start);
	print_message("[   INFO   ] livepatch disabled: writing 0 took %.3f s, unpatching "
		      "transition ended %.3f s later, module unloaded %.3f s after that\n",
		      write_s, took, unload_s);
	if (path_exists(LIVEPATCH_SYSFS))
		fail_msg("%s still exists after the module was unloaded", LIVEPATCH_SYSFS);
	if (path_exists(LIVEPATCH_MODULE_SYSFS))
		fail_msg("%s still exists after delete_module", LIVEPATCH_MODULE_SYSFS);
}

/*
 * Leave no patch behind, whatever state a failed test left it in: reverse
 * or undo the patch if it is enabled, then unload it.  Never forces the
 * transition: a forced patch module can never be unloaded.  0 or -errno.
 */
static int remove_livepatch(void)
{
	char enabled[16];
	double took;
	int ret;

	if (!path_exists(LIVEPATCH_MODULE_SYSFS))
		return 0;
	if (read_file_text(LIVEPATCH_ENABLED, enabled, sizeof(enabled)) > 0 && atoi(enabled) == 1) {
		ret = write_file_text(LIVEPATCH_ENABLED, "0");
		if (ret)
			fprintf(stderr, "lab: cleanup: writing 0 to %s: %s\n", LIVEPATCH_ENABLED,
				strerror(-ret));
	}
	ret = wait_for_transition_end(true, &took);
	if (ret) {
		fprintf(stderr, "lab: cleanup: the transition of %s did not end: %s\n",
			LIVEPATCH_NAME, strerror(-ret));
		return ret;
	}
	ret = unload_module_patiently(LIVEPATCH_NAME, UNLOAD_TIMEOUT_S);
	if (ret)
		fprintf(stderr, "lab: cleanup: delete_module(%s): %s\n", LIVEPATCH_NAME,
			strerror(-ret));
	return ret;
}

/* Leave no kvmscope_lp_park behind: release the thread, disable, unload. */
static int remove_park_patch(void)
{
	struct timespec start = now_monotonic();
	char value[16];
	int ret;

	if (path_exists(PARK_PARAM))
		write_file_text(PARK_PARAM, "0");
	if (!path_exists(PARK_MODULE_SYSFS))
		return 0;
	if (read_file_text(PARK_SYSFS "/enabled", value, sizeof(value)) > 0 && atoi(value) == 1 &&
	    read_file_text(PARK_SYSFS "/transition", value, sizeof(value)) > 0 && atoi(value) == 0)
		write_file_text(PARK_SYSFS "/enabled", "0");
	while (path_exists(PARK_SYSFS) && seconds_since(start) < TRANSITION_TIMEOUT_S)
		sleep_ms(POLL_INTERVAL_MS);
	ret = unload_module_patiently(PARK_NAME, UNLOAD_TIMEOUT_S);
	if (ret)
		fprintf(stderr, "lab: cleanup: delete_module(%s): %s\n", PARK_NAME, strerror(-ret));
	return ret;
}

static int remove_labtest_module(void)
{
	int ret;

	if (remove_park_patch())
		return -1;
	if (!path_exists(LABTEST_SYSFS))
		return 0;
	ret = unload_module_patiently(LABTEST_NAME, UNLOAD_TIMEOUT_S);
	if (ret)
		fprintf(stderr, "lab: cleanup: delete_module(%s): %s\n", LABTEST_NAME,
			strerror(-ret));
	return ret;
}

static int livepatch_teardown(void **state)
{
	return remove_livepatch() ? -1 : 0;
}

static int labtest_teardown(void **state)
{
	return remove_labtest_module() ? -1 : 0;
}

/* ---- ftrace ---- */

static const char *const enabled_functions_paths[] = {
	"/sys/kernel/tracing/enabled_functions",
	"/sys/kernel/debug/tracing/enabled_functions",
};

/* Read enabled_functions into buf, mounting tracefs if needed: length or -errno. */
static int read_enabled_functions(char *buf, size_t size, const char **path)
{
	int ret = -ENOENT;

	for (int attempt = 0; attempt < 2; attempt++) {
		for (size_t i = 0; i < ARRAY_SIZE(enabled_functions_paths); i++) {
			*path = enabled_functions_paths[i];
			ret = read_file_text(*path, buf, size);
			if (ret >= 0)
				return ret;
		}
		if (attempt == 0 && mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
			print_message("[   INFO   ] mounted tracefs on /sys/kernel/tracing\n");
	}
	return ret;
}

/* The enabled_functions line of @function ("name (count) flags ..."), copied to @line. */
static bool find_ftrace_site(const char *text, const char *function, char *line, size_t size)
{
	size_t flen = strlen(function);

	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > flen && !strncmp(p, function, flen) && p[flen] == ' ') {
			snprintf(line, size, "%.*s", (int)len, p);
			return true;
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

/* ---- setup ---- */

static int find_module_file(char *out, const char *dir, const char *kbuild_dir, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s/%s.ko", dir, kbuild_dir, name);
	if (access(out, R_OK) == 0)
		return 0;
	fprintf(stderr, "lab: %s: %s — tests/vm/run builds tests/vm/%s against the lab kernel "
		"into $KVMSCOPE_LAB_MODULES/%s/\n", out, strerror(errno), kbuild_dir, kbuild_dir);
	return -1;
}

static int group_setup(void **state)
{
	const char *dir = getenv("KVMSCOPE_LAB_MODULES");
	char disabled[16];

	modules_not_built = getenv("KVMSCOPE_LAB_MODULES_NOT_BUILT");
	if (modules_not_built && *modules_not_built)
		return 0;
	modules_not_built = NULL;
	if (!dir || !*dir) {
		fprintf(stderr, "lab: KVMSCOPE_LAB_MODULES is not set: these tests run inside the lab "
			"VM through tests/vm/run, which builds the test modules against the lab "
			"kernel and points KVMSCOPE_LAB_MODULES at them\n");
		return -1;
	}
	if (find_module_file(labtest_ko, dir, "module", LABTEST_NAME) ||
	    find_module_file(livepatch_ko, dir, "livepatch", LIVEPATCH_NAME) ||
	    find_module_file(park_ko, dir, "livepatch", PARK_NAME) ||
	    find_module_file(kvmrun_ko, dir, "livepatch", KVMRUN_NAME) ||
	    find_module_file(kmod_ko, dir, "kmod", "kvmscope") ||
	    find_module_file(kmod_skew_ko, dir, "kmod", "kvmscope_skew"))
		return -1;
	if (geteuid() != 0) {
		fprintf(stderr, "lab: must run as root (loads kernel modules)\n");
		return -1;
	}
	if (read_file_text("/proc/sys/kernel/modules_disabled", disabled, sizeof(disabled)) < 0) {
		fprintf(stderr, "lab: this kernel cannot load modules (no "
			"/proc/sys/kernel/modules_disabled): run inside the lab VM\n");
		return -1;
	}
	if (atoi(disabled)) {
		fprintf(stderr, "lab: /proc/sys/kernel/modules_disabled is 1: module loading is off "
			"until reboot\n");
		return -1;
	}
	/* An earlier run that died midway must not poison this one. */
	if (remove_labtest_module() || remove_livepatch() || remove_kvmrun_patch() || remove_kmod()) {
		fprintf(stderr, "lab: a module left by an earlier run cannot be removed; reboot "
			"the lab\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	int ret = 0;

	if (remove_labtest_module())
		ret = -1;
	if (remove_livepatch())
		ret = -1;
	if (remove_kvmrun_patch())
		ret = -1;
	return ret;
}

/* ---- tests ---- */

/* A test whose module was not built is not run: a skip, never a pass. */
static void skip_unless_modules_built(void)
{
	if (!modules_not_built)
		return;
	print_message("[ NOT RUN  ] %s\n", modules_not_built);
	skip();
}

static void test_module_load_unload(void **state)
{
	char greeting[256], initstate[32], record[8192];
	struct timespec start = now_monotonic();
	int kmsg, ret;
	bool logged;

	skip_unless_modules_built();
	kmsg = kmsg_open_at_end();
	if (kmsg < 0)
		fail_msg("cannot open /dev/kmsg: %s — the lab must mount devtmpfs on /dev",
			 strerror(-kmsg));
	ret = load_module_file(labtest_ko, "greeting=" LABTEST_GREETING);
	if (ret) {
		close(kmsg);
		fail_msg("finit_module(%s, \"greeting=%s\"): %s", labtest_ko, LABTEST_GREETING,
			 strerror(-ret));
	}
	print_message("[   INFO   ] %s loaded in %.3f s\n", LABTEST_NAME, seconds_since(start));
	logged = kmsg_find(kmsg, LABTEST_NAME ": loaded, greeting=" LABTEST_GREETING, record,
			   sizeof(record));
	close(kmsg);
	if (!logged)
		fail_msg("no \"%s: loaded, greeting=%s\" in /dev/kmsg: the module's init did not run",
			 LABTEST_NAME, LABTEST_GREETING);
	print_message("[   INFO   ] kernel log: %s\n", record);

	assert_true(path_exists(LABTEST_SYSFS));
	ret = read_file_text(LABTEST_SYSFS "/initstate", initstate, sizeof(initstate));
	if (ret < 0)
		fail_msg("%s/initstate: %s", LABTEST_SYSFS, strerror(-ret));
	strip_trailing_newline(initstate);
	assert_string_equal(initstate, "live");
	ret = read_file_text(LABTEST_SYSFS "/parameters/greeting", greeting, sizeof(greeting));
	if (ret < 0)
		fail_msg("%s/parameters/greeting: %s", LABTEST_SYSFS, strerror(-ret));
	strip_trailing_newline(greeting);
	print_message("[   INFO   ] %s/parameters/greeting reads \"%s\"\n", LABTEST_SYSFS, greeting);
	assert_string_equal(greeting, LABTEST_GREETING);

	ret = unload_module_patiently(LABTEST_NAME, UNLOAD_TIMEOUT_S);
	if (ret)
		fail_msg("delete_module(%s): %s", LABTEST_NAME, strerror(-ret));
	if (path_exists(LABTEST_SYSFS))
		fail_msg("%s still exists after delete_module", LABTEST_SYSFS);
}

/* Load, patch, unpatch and unload, checking /proc/cmdline at each step. */
static void test_livepatch_cycle(void **state)
{
	char original[4096], now[4096];
	int ret;

	skip_unless_modules_built();
	if (!path_exists("/sys/kernel/livepatch"))
		fail_msg("no /sys/kernel/livepatch: this kernel has no CONFIG_LIVEPATCH");
	ret = read_file_text("/proc/cmdline", original, sizeof(original));
	if (ret < 0)
		fail_msg("/proc/cmdline: %s", strerror(-ret));
	if (!strcmp(original, PATCHED_CMDLINE))
		fail_msg("/proc/cmdline already reads the patched line before the patch is loaded");
	print_message("[   INFO   ] /proc/cmdline before: %s", original);

	enable_livepatch();
	ret = read_file_text("/proc/cmdline", now, sizeof(now));
	if (ret < 0)
		fail_msg("/proc/cmdline: %s", strerror(-ret));
	print_message("[   INFO   ] /proc/cmdline patched: %s", now);
	assert_string_equal(now, PATCHED_CMDLINE);

	disable_and_unload_livepatch();
	ret = read_file_text("/proc/cmdline", now, sizeof(now));
	if (ret < 0)
		fail_msg("/proc/cmdline: %s", strerror(-ret));
	print_message("[   INFO   ] /proc/cmdline after: %s", now);
	assert_string_equal(now, original);
}

/* The patched function is an ftrace site with IPMODIFY, owned by klp_ftrace_handler. */
static void test_livepatch_ftrace_site(void **state)
{
	static char functions[1 << 20];
	const char *path;
	char site[1024];
	int ret;

	skip_unless_modules_built();
	if (!path_exists("/sys/kernel/livepatch"))
		fail_msg("no /sys/kernel/livepatch: this kernel has no CONFIG_LIVEPATCH");
	enable_livepatch();
	ret = read_enabled_functions(functions, sizeof(functions), &path);
	if (ret < 0) {
		print_message("[   INFO   ] enabled_functions is not readable (%s: %s); the ftrace "
			      "site of the patch is not checked\n", path, strerror(-ret));
		disable_and_unload_livepatch();
		skip();
	}
	if (!find_ftrace_site(functions, PATCHED_FUNCTION, site, sizeof(site)))
		fail_msg("%s has no line for %s while the patch is enabled:\n%.2000s", path,
			 PATCHED_FUNCTION, functions);
	print_message("[   INFO   ] %s: %s\n", path, site);
	if (!strstr(site, " I"))
		fail_msg("the ftrace site of %s is not marked I (IPMODIFY): %s", PATCHED_FUNCTION,
			 site);
	if (!strstr(site, "klp_ftrace_handler"))
		fail_msg("the ftrace site of %s does not call klp_ftrace_handler: %s",
			 PATCHED_FUNCTION, site);

	disable_and_unload_livepatch();
	ret = read_file_text(path, functions, sizeof(functions));
	if (ret < 0)
		fail_msg("%s: %s", path, strerror(-ret));
	if (find_ftrace_site(functions, PATCHED_FUNCTION, site, sizeof(site)))
		fail_msg("%s still lists %s after the patch was removed: %s", path,
			 PATCHED_FUNCTION, site);
}

/* ---- kvmscoped's view ---- */

#define LAB_SOCKET "/tmp/kvmscope-lab.sock"
#define LAB_DAEMON_LOG "/tmp/kvmscope-lab.log"

static pid_t lab_daemon = -1;

/* One JSON-RPC call with @params (JSON text or NULL): the daemon's whole answer. */
static json_t *lab_call(const char *method, const char *params)
{
	char req[1024], buf[1 << 20];
	size_t len = 0;
	json_error_t jerr;
	json_t *v;
	int fd = test_connect_unix(LAB_SOCKET);

	if (fd < 0)
		fail_msg("cannot connect to kvmscoped at %s: %s", LAB_SOCKET, strerror(-fd));
	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n", method,
		 params ? ",\"params\":" : "", params ? params : "");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		fail_msg("cannot send %s", method);
	while (len + 1 < sizeof(buf) && !memchr(buf, '\n', len)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	v = json_loads(buf, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!v)
		fail_msg("%s: not JSON (%s): %.200s", method, jerr.text, buf);
	return v;
}

static json_t *lab_rpc(const char *method)
{
	return lab_call(method, NULL);
}

/* The patch named LIVEPATCH_NAME in livepatch.list (a new reference), or NULL. */
static json_t *listed_patch(void)
{
	json_t *resp = lab_rpc("livepatch.list"), *p, *found = NULL;
	json_t *res = json_object_get(resp, "result");
	size_t i;

	if (!res)
		fail_msg("livepatch.list: %s", json_dumps(resp, JSON_COMPACT));
	json_array_foreach(json_object_get(res, "patches"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), LIVEPATCH_NAME))
			found = json_incref(p);
	json_decref(resp);
	return found;
}

/* The owners of PATCHED_FUNCTION's ftrace site, compact, or NULL when it has none. */
static char *site_owners(void)
{
	json_t *resp = lab_rpc("ftrace.sites"), *s;
	json_t *res = json_object_get(resp, "result");
	char *owners = NULL;
	size_t i;

	if (!res)
		fail_msg("ftrace.sites: %s", json_dumps(resp, JSON_COMPACT));
	assert_int_equal(json_integer_value(json_object_get(res, "unparsed_lines")), 0);
	json_array_foreach(json_object_get(res, "sites"), i, s)
		if (!strcmp(json_string_value(json_object_get(s, "function")), PATCHED_FUNCTION))
			owners = json_dumps(json_object_get(s, "owners"), JSON_COMPACT);
	json_decref(resp);
	return owners;
}

/* Text pokes kvmscoped saw at PATCHED_FUNCTION's ftrace site (kind "ftrace"). */
static long long site_pokes(void)
{
	json_t *resp = lab_rpc("textpoke.get"), *f;
	json_t *res = json_object_get(resp, "result");
	long long n = 0;
	size_t i;

	if (!res)
		fail_msg("textpoke.get: %s", json_dumps(resp, JSON_COMPACT));
	json_array_foreach(json_object_get(res, "functions"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "function")), PATCHED_FUNCTION) &&
		    !strcmp(json_string_value(json_object_get(f, "kind")), "ftrace"))
			n += json_integer_value(json_object_get(f, "count"));
	json_decref(resp);
	return n;
}

/* @patch's transitions in livepatch.list, oldest first (a new array), printed. */
static json_t *patch_transitions(const char *patch)
{
	json_t *resp = lab_rpc("livepatch.list"), *tr, *mine = json_array();
	size_t k;

	json_array_foreach(json_object_get(json_object_get(resp, "result"), "transitions"), k, tr)
		if (!strcmp(json_string_value(json_object_get(tr, "patch")), patch))
			json_array_append(mine, tr);
	print_message("[   INFO   ] transitions: %s\n", json_dumps(mine, JSON_COMPACT));
	json_decref(resp);
	return mine;
}

static int daemon_teardown(void **state)
{
	int ret = remove_livepatch() ? -1 : 0;

	test_process_stop(&lab_daemon, SIGTERM);
	return ret;
}

/*
 * kvmscoped beside the same cycle: the patch listed, enabled, with its
 * function; its ftrace site owned by the patch by name; one text poke at
 * that site for the patch and one for the unpatch (6.1 and 6.12); the two
 * transitions, from fentry, each completed; both gone after the unload.  Seen on the daemon's 1 s tick: each waited for
 * up to 5 s.
 */
static void test_livepatch_seen_by_kvmscoped(void **state)
{
	const char *build = getenv("KVMSCOPE_BUILD");
	char daemon_path[PATH_MAX];
	char *args[] = { "--socket", LAB_SOCKET, "--metrics", "off", "--pin-dir", "none", NULL };
	json_t *p = NULL;
	char *owners = NULL;
	long long pokes_enabled;
	int ret, i;

	skip_unless_modules_built();
	if (!path_exists("/sys/kernel/livepatch"))
		fail_msg("no /sys/kernel/livepatch: this kernel has no CONFIG_LIVEPATCH");
	snprintf(daemon_path, sizeof(daemon_path), "%s/kvmscoped", build && *build ? build : "build");
	unlink(LAB_SOCKET);
	lab_daemon = test_kvmscoped_start(daemon_path, LAB_DAEMON_LOG, args);
	ret = test_kvmscoped_wait(LAB_SOCKET, lab_daemon, test_start_wait_ms(20000));
	if (ret)
		fail_msg("kvmscoped did not come up (%s): see %s", strerror(-ret), LAB_DAEMON_LOG);
	assert_null(listed_patch());

	enable_livepatch();
	for (i = 0; i < 50; i++) {
		json_decref(p);
		p = listed_patch();
		if (p && json_integer_value(json_object_get(p, "enabled")) == 1 &&
		    json_integer_value(json_object_get(p, "transition")) == 0)
			break;
		usleep(100 * 1000);
	}
	if (!p)
		fail_msg("livepatch.list does not list %s 5 s after it was enabled", LIVEPATCH_NAME);
	print_message("[   INFO   ] livepatch.list: %s\n", json_dumps(p, JSON_COMPACT));
	assert_int_equal(json_integer_value(json_object_get(p, "enabled")), 1);
	assert_int_equal(json_integer_value(json_object_get(p, "transition")), 0);
	{
		json_t *obj = json_array_get(json_object_get(p, "objects"), 0);
		json_t *fn = json_array_get(json_object_get(obj, "functions"), 0);

		assert_string_equal(json_string_value(json_object_get(obj, "name")), "vmlinux");
		assert_int_equal(json_integer_value(json_object_get(obj, "patched")), 1);
		assert_string_equal(json_string_value(json_object_get(fn, "name")), PATCHED_FUNCTION);
	}
	json_decref(p);
	for (i = 0; i < 50; i++) {
		free(owners);
		owners = site_owners();
		if (owners && strstr(owners, "livepatch " LIVEPATCH_NAME))
			break;
		usleep(100 * 1000);
	}
	print_message("[   INFO   ] ftrace.sites: %s is owned by %s\n", PATCHED_FUNCTION,
		      owners ? owners : "nobody");
	if (!owners)
		fail_msg("ftrace.sites has no site for %s while the patch is enabled", PATCHED_FUNCTION);
	assert_string_equal(owners, "[{\"kind\":\"livepatch\",\"by\":\"livepatch " LIVEPATCH_NAME "\"}]");
	free(owners);
	/* Enabling the site rewrote its call (nop to call): one text poke there, symbolized. */
	pokes_enabled = site_pokes();
	print_message("[   INFO   ] text pokes at %s's ftrace site after the patch: %lld\n",
		      PATCHED_FUNCTION, pokes_enabled);
	assert_int_equal(pokes_enabled, 1);

	disable_and_unload_livepatch();
	for (i = 0; i < 50 && (p = listed_patch()); i++) {
		json_decref(p);
		usleep(100 * 1000);
	}
	if (p)
		fail_msg("livepatch.list still lists %s 5 s after its unload", LIVEPATCH_NAME);
	for (i = 0; i < 50 && (owners = site_owners()); i++) {
		free(owners);
		usleep(100 * 1000);
	}
	if (owners)
		fail_msg("ftrace.sites still lists %s 5 s after the unload: %s", PATCHED_FUNCTION, owners);
	/*
	 * Every transition, from fentry on the kernel's transition functions:
	 * exactly the patching and the unpatching, each completed.
	 */
	{
		json_t *st = lab_rpc("status"), *cap, *mine = patch_transitions(LIVEPATCH_NAME);
		size_t k;

		json_array_foreach(json_object_get(json_object_get(st, "result"), "capabilities"), k, cap)
			if (!strcmp(json_string_value(json_object_get(cap, "name")), "livepatch"))
				assert_string_equal(json_string_value(json_object_get(cap,
						    "transitions_from")), "fentry");
		assert_int_equal(json_array_size(mine), 2);
		assert_string_equal(json_string_value(json_object_get(json_array_get(mine, 0), "target")),
				    "patch");
		assert_string_equal(json_string_value(json_object_get(json_array_get(mine, 1), "target")),
				    "unpatch");
		for (k = 0; k < 2; k++) {
			json_t *t = json_array_get(mine, k);

			assert_string_equal(json_string_value(json_object_get(t, "result")), "completed");
			assert_true(json_is_true(json_object_get(t, "seen_start")));
			assert_true(json_integer_value(json_object_get(t, "duration_ns")) > 0);
		}
		json_decref(mine);
		json_decref(st);
	}
	/* And disabling it rewrote it back (call to nop): one more. */
	print_message("[   INFO   ] text pokes at %s's ftrace site after the unload: %lld\n",
		      PATCHED_FUNCTION, site_pokes());
	assert_int_equal(site_pokes(), 2);
	assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);
}

/* ---- managing patches through kvmscoped ---- */

#define LAB_PATCH_DIR "/tmp/kvmscope-lab-patches"
#define OTHER_KERNEL_KO "/tmp/kvmscope-other-kernel.ko"

static const char *build_path(char *out, const char *name)
{
	const char *build = getenv("KVMSCOPE_BUILD");

	snprintf(out, PATH_MAX, "%s/%s", build && *build ? build : "build", name);
	return out;
}

/* kvmscopectl --socket LAB_SOCKET a1...; the arguments end at the first NULL. */
static struct proc_result lab_ctl(const char *a1, const char *a2, const char *a3, const char *a4,
				  const char *a5, const char *a6)
{
	char ctl[PATH_MAX];
	char *argv[10] = { (char *)build_path(ctl, "kvmscopectl"), "--socket", LAB_SOCKET };
	const char *args[] = { a1, a2, a3, a4, a5, a6 };
	int n = 3;

	for (size_t i = 0; i < ARRAY_SIZE(args) && args[i]; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return proc_run(argv);
}

/* Copy @from to @to with mode @mode; with @old, the first @old in it becomes @new (same length). */
static void copy_file(const char *from, const char *to, mode_t mode, const char *old, const char *new)
{
	static char buf[16 << 20];
	int fd = open(from, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		fail_msg("open %s: %s", from, strerror(errno));
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len <= 0 || len == (ssize_t)sizeof(buf))
		fail_msg("read %s: %zd bytes", from, len);
	if (old) {
		char *at = memmem(buf, (size_t)len, old, strlen(old));

		if (!at || strlen(new) != strlen(old))
			fail_msg("%s has no '%s' to change", from, old);
		memcpy(at, new, strlen(new));
	}
	unlink(to);
	fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, (size_t)len) != len)
		fail_msg("write %s: %s", to, strerror(errno));
	close(fd);
	if (chmod(to, mode) < 0)
		fail_msg("chmod %s: %s", to, strerror(errno));
}

/* kvmscopectl patch load @file: refused with @want, exit 1, nothing loaded. */
static void expect_load_refused(const char *file, const char *want)
{
	struct proc_result r = lab_ctl("patch", "load", file, NULL, NULL, NULL);

	print_message("[   INFO   ] patch load %s: exit %d, %s", file, r.status, r.err);
	if (r.status != 1 || !strstr(r.err, want))
		fail_msg("patch load %s: exit %d, '%s'; expected exit 1 and '%s'", file, r.status,
			 r.err, want);
	proc_result_free(&r);
	if (path_exists(LIVEPATCH_MODULE_SYSFS))
		fail_msg("patch load %s was refused, yet %s is loaded", file, LIVEPATCH_NAME);
}

/* kvmscopectl @action @name...: exit 0 with @want in its output. */
static void expect_ctl(const char *want, const char *a1, const char *a2, const char *a3,
		       const char *a4, const char *a5, const char *a6)
{
	struct proc_result r = lab_ctl(a1, a2, a3, a4, a5, a6);

	print_message("[   INFO   ] kvmscopectl %s %s %s: exit %d: %s", a1, a2, a3 ? a3 : "",
		      r.status, r.out);
	if (r.status != 0 || !strstr(r.out, want))
		fail_msg("kvmscopectl %s %s %s: exit %d, stdout '%s', stderr '%s'; expected '%s'", a1,
			 a2, a3 ? a3 : "", r.status, r.out, r.err, want);
	proc_result_free(&r);
}

/* The answer a client of uid nobody gets to @request (one line). */
static char *as_nobody(const char *request)
{
	char *out = calloc(1, 4096);
	int pipefd[2];
	size_t len = 0;
	pid_t pid;

	assert_non_null(out);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[4096];
		ssize_t n;
		int fd;

		close(pipefd[0]);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = test_connect_unix(LAB_SOCKET);
		if (fd < 0) {
			dprintf(pipefd[1], "connect: %s", strerror(-fd));
			_exit(0);
		}
		if (write(fd, request, strlen(request)) < 0)
			_exit(3);
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0)
			(void)!write(pipefd[1], buf, (size_t)n);
		_exit(0);
	}
	close(pipefd[1]);
	for (ssize_t n; len + 1 < 4096 && (n = read(pipefd[0], out + len, 4095 - len)) > 0;)
		len += (size_t)n;
	close(pipefd[0]);
	waitpid(pid, NULL, 0);
	return out;
}

static int managed_teardown(void **state)
{
	unlink(OTHER_KERNEL_KO);
	unlink(LAB_PATCH_DIR "/lp.ko");
	unlink(LAB_PATCH_DIR "/ww.ko");
	unlink(LAB_PATCH_DIR "/link.ko");
	rmdir(LAB_PATCH_DIR);
	return daemon_teardown(state);
}

/*
 * kvmscope as the patching service: kvmscopectl loads the lab's livepatch
 * (a file of its own, passed as a descriptor; then by name from the patch
 * directory), follows each transition to its end, disables and unloads
 * it; /proc/cmdline shows the patch and its removal.  Every wrong file is
 * refused with its reason and nothing loaded: a world-writable one, a link,
 * a path outside the directory, another kernel's module, a module that is
 * no livepatch, a file that is no module, a client that is not root.
 * Exactly four transitions, each completed, and every action in the log
 * with the caller's uid and pid.
 */
static void test_livepatch_managed_by_kvmscopectl(void **state)
{
	static char log[4 << 20];
	char daemon_path[PATH_MAX], cmdline[256];
	char *args[] = { "--socket", LAB_SOCKET, "--metrics", "off", "--pin-dir", "none",
			 "--patch-dir", LAB_PATCH_DIR, NULL };
	struct utsname uts;
	char vermagic[sizeof(uts.release) + 16], other[sizeof(vermagic)];
	json_t *resp, *tr, *mine;
	struct proc_result r;
	char *answer;
	size_t k;
	int ret;

	skip_unless_modules_built();
	if (!path_exists("/sys/kernel/livepatch"))
		fail_msg("no /sys/kernel/livepatch: this kernel has no CONFIG_LIVEPATCH");
	managed_teardown(state);
	if (mkdir(LAB_PATCH_DIR, 0700) < 0)
		fail_msg("mkdir %s: %s", LAB_PATCH_DIR, strerror(errno));
	unlink(LAB_SOCKET);
	unlink(LAB_DAEMON_LOG);
	lab_daemon = test_kvmscoped_start(build_path(daemon_path, "kvmscoped"), LAB_DAEMON_LOG, args);
	ret = test_kvmscoped_wait(LAB_SOCKET, lab_daemon, test_start_wait_ms(20000));
	if (ret)
		fail_msg("kvmscoped did not come up (%s): see %s", strerror(-ret), LAB_DAEMON_LOG);

	/* A file of the CLI's: passed as a descriptor; the transition followed to its end. */
	expect_ctl("Livepatch " LIVEPATCH_NAME ": loaded; transition to patch completed in ", "patch",
		   "load", livepatch_ko, "--wait", "60", NULL);
	assert_true(read_file_text("/proc/cmdline", cmdline, sizeof(cmdline)) > 0);
	assert_string_equal(cmdline, PATCHED_CMDLINE);
	expect_ctl("Livepatch " LIVEPATCH_NAME ": disabled; transition to unpatch completed in ",
		   "patch", "disable", LIVEPATCH_NAME, "--wait", "60", NULL);
	assert_true(read_file_text("/proc/cmdline", cmdline, sizeof(cmdline)) > 0);
	assert_string_not_equal(cmdline, PATCHED_CMDLINE);
	expect_ctl("Livepatch module " LIVEPATCH_NAME " unloaded", "patch", "unload", LIVEPATCH_NAME,
		   NULL, NULL, NULL);
	assert_false(path_exists(LIVEPATCH_MODULE_SYSFS));

	/* By name, from the patch directory; the outcome as JSON. */
	copy_file(livepatch_ko, LAB_PATCH_DIR "/lp.ko", 0600, NULL, NULL);
	expect_ctl("\"result\": \"completed\"", "--json", "patch", "load", "lp.ko", "--wait", "60");
	assert_true(read_file_text("/proc/cmdline", cmdline, sizeof(cmdline)) > 0);
	assert_string_equal(cmdline, PATCHED_CMDLINE);
	expect_ctl("\"target\": \"unpatch\"", "--json", "patch", "disable", LIVEPATCH_NAME, "--wait",
		   "60");
	expect_ctl("\"unloaded\": true", "--json", "patch", "unload", LIVEPATCH_NAME, NULL, NULL);
	assert_false(path_exists(LIVEPATCH_MODULE_SYSFS));

	/* Refused, each with its reason, nothing loaded. */
	copy_file(livepatch_ko, LAB_PATCH_DIR "/ww.ko", 0666, NULL, NULL);
	expect_load_refused("ww.ko", "'ww.ko' is writable by others (mode 0666, uid 0)");
	assert_int_equal(symlink(livepatch_ko, LAB_PATCH_DIR "/link.ko"), 0);
	expect_load_refused("link.ko", "goes through the symbolic link 'link.ko'");
	resp = lab_call("livepatch.load", "{\"path\":\"/etc/passwd\"}");
	print_message("[   INFO   ] livepatch.load of /etc/passwd: %s\n", json_dumps(resp, JSON_COMPACT));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "error"), "code")), -32602);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(resp, "error"), "message")),
			       "'/etc/passwd' is not under the patch directory " LAB_PATCH_DIR));
	json_decref(resp);
	assert_int_equal(uname(&uts), 0);
	snprintf(vermagic, sizeof(vermagic), "vermagic=%s", uts.release);
	snprintf(other, sizeof(other), "vermagic=%c%.63s", uts.release[0] == '9' ? '8' : '9', uts.release + 1);
	copy_file(livepatch_ko, OTHER_KERNEL_KO, 0600, vermagic, other);
	{
		char want[700];

		snprintf(want, sizeof(want), "module %s was built for kernel %s, this kernel is %s",
			 LIVEPATCH_NAME, other + 9, uts.release);
		expect_load_refused(OTHER_KERNEL_KO, want);
	}
	expect_load_refused(labtest_ko, "module " LABTEST_NAME " is not a livepatch (its .modinfo has no livepatch=Y)");
	assert_false(path_exists(LABTEST_SYSFS));
	expect_load_refused("/etc/os-release", "not a module: no ELF header");
	chmod(LAB_SOCKET, 0666);
	answer = as_nobody("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.load\",\"params\":{\"path\":\"lp.ko\"}}\n");
	print_message("[   INFO   ] livepatch.load as uid 65534: %s", answer);
	assert_non_null(strstr(answer, "-32001"));
	assert_non_null(strstr(answer, "livepatch.load changes state: root only; you are uid 65534"));
	free(answer);
	assert_false(path_exists(LIVEPATCH_MODULE_SYSFS));

	/* Exactly the four transitions asked for, each completed. */
	mine = patch_transitions(LIVEPATCH_NAME);
	assert_int_equal(json_array_size(mine), 4);
	json_array_foreach(mine, k, tr) {
		assert_string_equal(json_string_value(json_object_get(tr, "target")),
				    k % 2 ? "unpatch" : "patch");
		assert_string_equal(json_string_value(json_object_get(tr, "result")), "completed");
	}
	json_decref(mine);

	/* Each action in the log, with who asked. */
	assert_true(read_file_text(LAB_DAEMON_LOG, log, sizeof(log)) > 0);
	{
		static const char *const lines[] = {
			"livepatch.load: loaded livepatch " LIVEPATCH_NAME " (version '', srcversion ",
			"livepatch.disable: disabled livepatch " LIVEPATCH_NAME " for uid 0 pid ",
			"livepatch.unload: unloaded livepatch module " LIVEPATCH_NAME " for uid 0 pid ",
			" from lp.ko for uid 0 pid ",
			"livepatch.load for uid 0 pid ",
			"refused: cannot load ww.ko: 'ww.ko' is writable by others",
			"Refused livepatch.load to uid 65534 pid ",
		};

		for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
			if (!strstr(log, lines[i]))
				fail_msg("the daemon's log (%s) has no '%s'", LAB_DAEMON_LOG, lines[i]);
	}
	r = lab_ctl("patch", "list", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	proc_result_free(&r);
	assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);

	/*
	 * --patch-autoload: the directory in name order (link.ko, lp.ko,
	 * ww.ko); the good one loaded, the others refused, by the daemon itself.
	 */
	{
		char *auto_args[] = { "--socket", LAB_SOCKET, "--metrics", "off", "--pin-dir", "none",
				      "--patch-dir", LAB_PATCH_DIR, "--patch-autoload", NULL };
		char want[160];
		int i;

		unlink(LAB_SOCKET);
		unlink(LAB_DAEMON_LOG);
		lab_daemon = test_kvmscoped_start(daemon_path, LAB_DAEMON_LOG, auto_args);
		ret = test_kvmscoped_wait(LAB_SOCKET, lab_daemon, test_start_wait_ms(20000));
		if (ret)
			fail_msg("kvmscoped --patch-autoload did not come up (%s): see %s", strerror(-ret),
				 LAB_DAEMON_LOG);
		for (i = 0; i < 100; i++) {
			if (read_file_text("/proc/cmdline", cmdline, sizeof(cmdline)) > 0 &&
			    !strcmp(cmdline, PATCHED_CMDLINE))
				break;
			sleep_ms(POLL_INTERVAL_MS);
		}
		if (i == 100)
			fail_msg("--patch-autoload: /proc/cmdline not patched 10 s after the start");
		expect_ctl("Livepatch " LIVEPATCH_NAME ": followed; transition to patch completed", "patch",
			   "wait", LIVEPATCH_NAME, "--wait", "60", NULL);
		expect_ctl("transition to unpatch completed", "patch", "disable", LIVEPATCH_NAME, "--wait",
			   "60", NULL);
		expect_ctl("unloaded", "patch", "unload", LIVEPATCH_NAME, NULL, NULL, NULL);
		assert_true(read_file_text(LAB_DAEMON_LOG, log, sizeof(log)) > 0);
		snprintf(want, sizeof(want), " from lp.ko for uid 0 pid %d", (int)lab_daemon);
		if (!strstr(log, "livepatch: --patch-autoload: 3 modules in " LAB_PATCH_DIR " to load") ||
		    !strstr(log, want) || !strstr(log, "refused: cannot load link.ko: 'link.ko' goes through the symbolic link") ||
		    !strstr(log, "refused: cannot load ww.ko: 'ww.ko' is writable by others"))
			fail_msg("--patch-autoload: the log (%s) does not show link.ko refused, lp.ko loaded by pid %d, ww.ko refused",
				 LAB_DAEMON_LOG, (int)lab_daemon);

		/* The same directory through kvmscopectl patch load-all (kvmscope-patches.service). */
		r = lab_ctl("patch", "load-all", "--wait", "60", NULL, NULL);
		print_message("[   INFO   ] patch load-all: exit %d: %s%s", r.status, r.out, r.err);
		assert_int_equal(r.status, 1);
		assert_non_null(strstr(r.out, "Livepatch " LIVEPATCH_NAME ": loaded; transition to patch completed in "));
		assert_non_null(strstr(r.err, "cannot load link.ko"));
		assert_non_null(strstr(r.err, "cannot load ww.ko"));
		proc_result_free(&r);
		expect_ctl("transition to unpatch completed", "patch", "disable", LIVEPATCH_NAME, "--wait",
			   "60", NULL);
		expect_ctl("unloaded", "patch", "unload", LIVEPATCH_NAME, NULL, NULL, NULL);
		assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);
	}
}

/* Leave no kvmscope_lp_kvmrun behind: disable it once settled, unload it. */
static int remove_kvmrun_patch(void)
{
	struct timespec start = now_monotonic();
	char value[16];
	int ret;

	if (!path_exists(KVMRUN_MODULE_SYSFS))
		return 0;
	while (read_file_text(KVMRUN_SYSFS "/transition", value, sizeof(value)) > 0 && atoi(value) == 1 &&
	       seconds_since(start) < TRANSITION_TIMEOUT_S)
		sleep_ms(POLL_INTERVAL_MS);
	if (read_file_text(KVMRUN_SYSFS "/enabled", value, sizeof(value)) > 0 && atoi(value) == 1)
		write_file_text(KVMRUN_SYSFS "/enabled", "0");
	while (path_exists(KVMRUN_SYSFS) && seconds_since(start) < 2 * TRANSITION_TIMEOUT_S)
		sleep_ms(POLL_INTERVAL_MS);
	ret = unload_module_patiently(KVMRUN_NAME, UNLOAD_TIMEOUT_S);
	if (ret)
		fprintf(stderr, "lab: cleanup: delete_module(%s): %s\n", KVMRUN_NAME, strerror(-ret));
	return ret;
}

static pid_t kvm_guest = -1;

/* Seconds a 1-vCPU guest making @n CPUIDs takes, start to end. */
static double time_cpuid_guest(long n)
{
	char guest_path[PATH_MAX], count[32];
	char *argv[] = { (char *)build_path(guest_path, "kvmscope-guest"), "--vcpus", "1", "--cpuid", count, NULL };
	struct timespec start = now_monotonic();
	struct proc_result r;

	snprintf(count, sizeof(count), "0:%ld", n);
	r = proc_run(argv);
	if (r.status != 0)
		fail_msg("%s --vcpus 1 --cpuid %s: exit %d: %s", guest_path, count, r.status, r.err);
	proc_result_free(&r);
	return seconds_since(start);
}

/* CPUIDs that keep one KVM_RUN busy for KVMRUN_HOLD_S here. */
static long kvmrun_cpuids(void)
{
	double t1 = time_cpuid_guest(10000), t2 = time_cpuid_guest(50000);
	double rate = t2 > t1 ? 40000 / (t2 - t1) : 0;
	long n = (long)(rate * KVMRUN_HOLD_S);

	print_message("[   INFO   ] 10000 CPUIDs in %.2f s, 50000 in %.2f s: %.0f/s, %ld for %.0f s\n", t1,
		      t2, rate, n, KVMRUN_HOLD_S);
	if (n < 40000)
		n = 40000;
	return n;
}

/*
 * proc_finish() for the held guest, bounded: one that has not ended
 * within @timeout_s is killed and the test fails, saying why.  WNOWAIT
 * leaves the ended guest for proc_finish() to read out and reap.
 */
static int finish_held_guest(int out_fd, char **out, double timeout_s)
{
	struct timespec start = now_monotonic();
	siginfo_t info = { 0 };
	int status;

	while (waitid(P_PID, (id_t)kvm_guest, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       info.si_pid == 0) {
		if (seconds_since(start) > timeout_s) {
			test_process_stop(&kvm_guest, SIGKILL);
			close(out_fd);
			fail_msg("the held guest had not ended %.0f s after the transition: a fake signal "
				 "from the livepatch core can send it back into the patched KVM_RUN, which "
				 "returns EINTR for ever", timeout_s);
		}
		sleep_ms(POLL_INTERVAL_MS);
	}
	status = proc_finish(kvm_guest, out_fd, out);
	kvm_guest = -1;
	return status;
}

static int kvmrun_teardown(void **state)
{
	int ret;

	if (kvm_guest > 0)
		test_process_stop(&kvm_guest, SIGKILL);
	ret = remove_kvmrun_patch() ? -1 : 0;
	test_process_stop(&lab_daemon, SIGTERM);
	return ret;
}

/*
 * KVM holds a patch: a guest whose one vCPU stays inside KVM_RUN (CPUIDs,
 * handled in the kernel, for seconds) has kvm_arch_vcpu_ioctl_run() on its
 * stack, which kvmscope_lp_kvmrun replaces.  The transition waits on that
 * thread alone; kvmscope names it with its VM and vCPU 0; the moment the
 * guest returns to user space (its done OUT) the transition completes.
 */
static void test_livepatch_held_by_kvm_run(void **state)
{
	char daemon_path[PATH_MAX], guest_path[PATH_MAX], count[32];
	char *args[] = { "--socket", LAB_SOCKET, "--metrics", "off", "--pin-dir", "none", NULL };
	char *guest_args[] = { "--vcpus", "1", "--cpuid", count, "-name", "held-by-kvm-run", NULL };
	json_t *resp, *res, *pt, *tr;
	struct proc_result r;
	struct timespec start;
	double held_s, guest_s;
	char *out = NULL;
	int ret, out_fd, status;

	skip_unless_modules_built();
	if (!path_exists("/sys/kernel/livepatch") || !path_exists("/dev/kvm"))
		fail_msg("this test needs livepatch and /dev/kvm (kvm_amd in the lab)");
	unlink(LAB_SOCKET);
	lab_daemon = test_kvmscoped_start(build_path(daemon_path, "kvmscoped"), LAB_DAEMON_LOG, args);
	ret = test_kvmscoped_wait(LAB_SOCKET, lab_daemon, test_start_wait_ms(20000));
	if (ret)
		fail_msg("kvmscoped did not come up (%s): see %s", strerror(-ret), LAB_DAEMON_LOG);
	/* CPUIDs for about KVMRUN_HOLD_S of nested SVM under TCG: see the figures printed. */
	snprintf(count, sizeof(count), "0:%ld", kvmrun_cpuids());
	start = now_monotonic();
	kvm_guest = proc_start_args(build_path(guest_path, "kvmscope-guest"), guest_args, &out_fd);
	if (kvm_guest < 0)
		fail_msg("cannot start %s: %s", guest_path, strerror((int)-kvm_guest));
	sleep_ms(1000);	/* set up, and inside its one long KVM_RUN */

	r = lab_ctl("patch", "load", kvmrun_ko, "--wait", "3", NULL);
	print_message("[   INFO   ] patch load %s --wait 3 while the guest runs: exit %d:\n%s", KVMRUN_NAME,
		      r.status, r.out);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "Livepatch " KVMRUN_NAME ": the transition to patch is still running after 3 s; 1 tasks pending:"));
	assert_non_null(strstr(r.out, "CPU 0/KVM, VM held-by-kvm-run vCPU 0: blocking function "));
	proc_result_free(&r);
	resp = lab_call("livepatch.get", "{\"name\":\"" KVMRUN_NAME "\"}");
	res = json_object_get(resp, "result");
	print_message("[   INFO   ] livepatch.get: %s\n", json_dumps(res, JSON_COMPACT));
	assert_int_equal(json_integer_value(json_object_get(res, "transition")), 1);
	assert_int_equal(json_integer_value(json_object_get(res, "pending_tasks_total")), 1);
	pt = json_array_get(json_object_get(res, "pending_tasks"), 0);
	assert_string_equal(json_string_value(json_object_get(pt, "comm")), "CPU 0/KVM");
	assert_string_equal(json_string_value(json_object_get(pt, "vm")), "held-by-kvm-run");
	assert_int_equal(json_integer_value(json_object_get(pt, "vcpu")), 0);
	assert_int_equal(json_integer_value(json_object_get(pt, "pid")), kvm_guest);
	/* In guest mode, on a CPU: no stack to read, said so rather than guessed. */
	if (json_is_true(json_object_get(pt, "running")))
		assert_true(json_is_null(json_object_get(pt, "blocking_function")));
	json_decref(resp);

	/* The guest ends its run: back in user space, the thread switches. */
	expect_ctl("Livepatch " KVMRUN_NAME ": followed; transition to patch completed in ", "patch",
		   "wait", KVMRUN_NAME, "--wait", "120", NULL);
	held_s = seconds_since(start);
	status = finish_held_guest(out_fd, &out, 60);
	guest_s = seconds_since(start);
	print_message("[   INFO   ] guest: exit %d after %.1f s, transition ended %.1f s after the start: %.300s\n",
		      status, guest_s, held_s, out ? out : "");
	assert_int_equal(status, 0);
	free(out);
	resp = lab_call("livepatch.get", "{\"name\":\"" KVMRUN_NAME "\"}");
	tr = json_array_get(json_object_get(json_object_get(resp, "result"), "transitions"), 0);
	print_message("[   INFO   ] transition: %s\n", json_dumps(tr, JSON_COMPACT));
	assert_string_equal(json_string_value(json_object_get(tr, "result")), "completed");
	assert_true(json_integer_value(json_object_get(tr, "duration_ns")) > 3000000000LL);
	assert_int_equal(json_integer_value(json_object_get(tr, "pending_tasks_max")) >= 1, 1);
	json_decref(resp);
	expect_ctl("transition to unpatch completed", "patch", "disable", KVMRUN_NAME, "--wait", "30",
		   NULL);
	expect_ctl("unloaded", "patch", "unload", KVMRUN_NAME, NULL, NULL, NULL);
	assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);
}

/* Wait up to 10 s for the lab module's parked parameter to read @want. */
static void wait_parked(int want)
{
	char value[16] = "";

	for (int i = 0; i < 100; i++) {
		if (read_file_text(PARKED_PARAM, value, sizeof(value)) > 0 &&
		    (value[0] == 'Y') == (want == 1))
			return;
		sleep_ms(POLL_INTERVAL_MS);
	}
	fail_msg("%s reads '%s' after 10 s, expected %s", PARKED_PARAM, value, want ? "Y" : "N");
}

/*
 * The parked thread released: kvmscopectl patch wait sees the stalled
 * transition of PARK_NAME complete; then the patch is disabled and unloaded.
 */
static void release_park_patch(void)
{
	assert_int_equal(write_file_text(PARK_PARAM, "0"), 0);
	expect_ctl("Livepatch " PARK_NAME ": followed; transition to patch completed in ", "patch",
		   "wait", PARK_NAME, "--wait", "30", NULL);
	expect_ctl("transition to unpatch completed", "patch", "disable", PARK_NAME, "--wait", "30",
		   NULL);
	expect_ctl("unloaded", "patch", "unload", PARK_NAME, NULL, NULL, NULL);
}

static int stall_teardown(void **state)
{
	int ret = remove_labtest_module() ? -1 : 0;

	test_process_stop(&lab_daemon, SIGTERM);
	return ret;
}

/*
 * A transition that stalls, as kvmscope shows it: the lab module's thread
 * sleeps inside kvmscope_labtest_park(), which kvmscope_lp_park replaces.
 * kvmscopectl patch load --wait 4 reports the stall with that thread and
 * the parked function as the blocking one; livepatch.get says the same;
 * released, patch wait sees the transition complete.  Parked again, a
 * load with --reverse-on-stall is reversed.  The timeline: patch
 * completed (after the stall), unpatch completed, patch reversed, unpatch
 * completed.
 */
static void test_livepatch_stall_reported(void **state)
{
	char daemon_path[PATH_MAX];
	char *args[] = { "--socket", LAB_SOCKET, "--metrics", "off", "--pin-dir", "none",
			 "--patch-stall", "2", NULL };
	static char log[4 << 20];
	json_t *resp, *res, *pt, *mine, *tr;
	struct proc_result r;
	size_t k;
	int ret;

	skip_unless_modules_built();
	if (!path_exists("/sys/kernel/livepatch"))
		fail_msg("no /sys/kernel/livepatch: this kernel has no CONFIG_LIVEPATCH");
	if (remove_labtest_module())
		fail_msg("a %s left by an earlier test cannot be removed", LABTEST_NAME);
	ret = load_module_file(labtest_ko, "park=1");
	if (ret)
		fail_msg("finit_module(%s, park=1): %s", labtest_ko, strerror(-ret));
	wait_parked(1);
	unlink(LAB_SOCKET);
	unlink(LAB_DAEMON_LOG);
	lab_daemon = test_kvmscoped_start(build_path(daemon_path, "kvmscoped"), LAB_DAEMON_LOG, args);
	ret = test_kvmscoped_wait(LAB_SOCKET, lab_daemon, test_start_wait_ms(20000));
	if (ret)
		fail_msg("kvmscoped did not come up (%s): see %s", strerror(-ret), LAB_DAEMON_LOG);

	/* Stalled: reported with the task and the function that hold it. */
	r = lab_ctl("patch", "load", park_ko, "--wait", "4", NULL);
	print_message("[   INFO   ] patch load %s --wait 4: exit %d:\n%s", PARK_NAME, r.status, r.out);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "Livepatch " PARK_NAME ": the transition to patch is still running after 4 s; 1 tasks pending:"));
	assert_non_null(strstr(r.out, PARKER_COMM ": blocking function " PARKED_FUNCTION "\n"));
	assert_non_null(strstr(r.out, "kvmscopectl patch wait " PARK_NAME));
	proc_result_free(&r);
	resp = lab_call("livepatch.get", "{\"name\":\"" PARK_NAME "\"}");
	res = json_object_get(resp, "result");
	print_message("[   INFO   ] livepatch.get: %s\n", json_dumps(res, JSON_COMPACT));
	assert_int_equal(json_integer_value(json_object_get(res, "transition")), 1);
	assert_int_equal(json_integer_value(json_object_get(res, "pending_tasks_total")), 1);
	pt = json_array_get(json_object_get(res, "pending_tasks"), 0);
	assert_string_equal(json_string_value(json_object_get(pt, "comm")), PARKER_COMM);
	assert_string_equal(json_string_value(json_object_get(pt, "blocking_function")), PARKED_FUNCTION);
	assert_int_equal(json_integer_value(json_object_get(pt, "patch_state")), KLP_TASK_UNPATCHED);
	assert_non_null(strstr(json_string_value(json_object_get(pt, "stack")), PARKED_FUNCTION));
	json_decref(resp);

	/* Released: the kernel's next attempt switches the thread. */
	release_park_patch();

	/* Parked again, and reversed on the stall. */
	assert_int_equal(write_file_text(PARK_PARAM, "1"), 0);
	wait_parked(1);
	/*
	 * --wait covers the reversal too, and unpatching every task back takes
	 * seconds under TCG (more than 3 on a slow machine): 10.
	 */
	r = lab_ctl("patch", "load", park_ko, "--wait", "10", "--reverse-on-stall");
	print_message("[   INFO   ] patch load %s --wait 10 --reverse-on-stall: exit %d:\n%s", PARK_NAME,
		      r.status, r.out);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "Reversing it (--reverse-on-stall)..."));
	assert_non_null(strstr(r.out, "Livepatch " PARK_NAME ": loaded, stalled, then reversed (--reverse-on-stall); transition to unpatch completed in "));
	proc_result_free(&r);
	resp = lab_call("livepatch.get", "{\"name\":\"" PARK_NAME "\"}");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "error"), "code")), -32004);
	json_decref(resp);
	expect_ctl("unloaded", "patch", "unload", PARK_NAME, NULL, NULL, NULL);

	/* The timeline, from fentry on the kernel's transition functions. */
	mine = patch_transitions(PARK_NAME);
	assert_int_equal(json_array_size(mine), 4);
	{
		static const char *const want[][2] = { { "patch", "completed" }, { "unpatch", "completed" },
						       { "patch", "reversed" }, { "unpatch", "completed" } };

		json_array_foreach(mine, k, tr) {
			assert_string_equal(json_string_value(json_object_get(tr, "target")), want[k][0]);
			assert_string_equal(json_string_value(json_object_get(tr, "result")), want[k][1]);
		}
	}
	tr = json_array_get(mine, 0);
	/* Stalled past --wait 4: the kernel tried once a second and failed each time. */
	assert_true(json_integer_value(json_object_get(tr, "duration_ns")) > 4000000000LL);
	assert_true(json_integer_value(json_object_get(tr, "failed_attempts")) >= 4);
	assert_true(json_integer_value(json_object_get(tr, "pending_tasks_max")) >= 1);
	tr = json_array_get(mine, 2);
	assert_true(json_integer_value(json_object_get(tr, "failed_attempts")) >= 2);
	json_decref(mine);
	/* Past --patch-stall 2: one warning each time, naming the task and where it sleeps. */
	assert_true(read_file_text(LAB_DAEMON_LOG, log, sizeof(log)) > 0);
	{
		int stalls = 0;

		for (const char *p = log; (p = strstr(p, "livepatch: " PARK_NAME ": the patching transition has waited ")); p++) {
			char line[512];

			snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
			print_message("[   INFO   ] log: %s\n", line);
			if (!strstr(line, " on 1 tasks: " PARKER_COMM "[") ||
			    !strstr(line, "] in " PARKED_FUNCTION))
				fail_msg("the stall warning does not name %s in %s: %s", PARKER_COMM,
					 PARKED_FUNCTION, line);
			stalls++;
		}
		assert_int_equal(stalls, 2);
		assert_non_null(strstr(log, "livepatch: " PARK_NAME ": the stalled patching transition completed after "));
		assert_non_null(strstr(log, "livepatch: " PARK_NAME ": the stalled patching transition reversed after "));
	}
	assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);
}

/* ---- the helper module, kvmscope.ko (kmod/) ---- */

#define KMOD_SYSFS "/sys/module/kvmscope"
#define KMOD_SKEW_SYSFS "/sys/module/kvmscope_skew"

/* Remove kvmscope.ko or kvmscope_skew.ko left behind; 0 when neither is loaded. */
static int remove_kmod(void)
{
	int ret = 0;

	if (path_exists(KMOD_SYSFS) && unload_module_patiently("kvmscope", UNLOAD_TIMEOUT_S))
		ret = -1;
	if (path_exists(KMOD_SKEW_SYSFS) && unload_module_patiently("kvmscope_skew", UNLOAD_TIMEOUT_S))
		ret = -1;
	return ret;
}

static int kmod_teardown(void **state)
{
	test_process_stop(&lab_daemon, SIGTERM);
	return remove_kmod();
}

static void start_kmod_daemon(const char *mode, const char *ko)
{
	char daemon_path[PATH_MAX];
	char *args[] = { "--socket", LAB_SOCKET, "--metrics", "off", "--pin-dir", "none", "--kmod",
			 (char *)mode, "--kmod-path", (char *)ko, NULL };
	int ret;

	unlink(LAB_SOCKET);
	truncate(LAB_DAEMON_LOG, 0);
	lab_daemon = test_kvmscoped_start(build_path(daemon_path, "kvmscoped"), LAB_DAEMON_LOG, args);
	ret = test_kvmscoped_wait(LAB_SOCKET, lab_daemon, test_start_wait_ms(20000));
	if (ret)
		fail_msg("kvmscoped --kmod %s did not come up (%s): see %s", mode, strerror(-ret),
			 LAB_DAEMON_LOG);
}

/* kmod.status's result (a new reference). */
static json_t *kmod_status(void)
{
	json_t *resp = lab_rpc("kmod.status"), *res = json_incref(json_object_get(resp, "result"));

	if (!res)
		fail_msg("kmod.status: %s", json_dumps(resp, JSON_COMPACT));
	json_decref(resp);
	return res;
}

static void wait_module_gone(const char *sysfs)
{
	for (int i = 0; i < 100 && path_exists(sysfs); i++)
		sleep_ms(50);
	if (path_exists(sysfs))
		fail_msg("%s is still there after kvmscoped stopped", sysfs);
}

/*
 * --kmod on: kvmscoped loads kvmscope.ko from a root-owned path, opens
 * /dev/kvmscope (0600) and shakes hands: version, API, schema; status and
 * kvmscopectl kmod say so; at exit it unloads what it loaded.
 */
static void test_kmod_handshake(void **state)
{
	struct proc_result r;
	struct stat st;
	json_t *k;

	skip_unless_modules_built();
	assert_int_equal(remove_kmod(), 0);
	start_kmod_daemon("on", kmod_ko);
	k = kmod_status();
	print_message("[   INFO   ] kmod.status: %s\n", json_dumps(k, JSON_COMPACT));
	assert_true(json_is_true(json_object_get(k, "loaded")));
	assert_true(json_is_true(json_object_get(k, "loaded_by_kvmscoped")));
	assert_string_equal(json_string_value(json_object_get(k, "version")), KVMSCOPE_VERSION);
	assert_int_equal(json_integer_value(json_object_get(k, "api")), KVMSCOPE_KMOD_API);
	assert_true(json_is_true(json_object_get(k, "canary_supported")));
	/* Out of tree and unsigned: O and E, as the kernel's taint says. */
	assert_non_null(strchr(json_string_value(json_object_get(k, "taint")), 'O'));
	json_decref(k);
	assert_int_equal(stat("/dev/kvmscope", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(path_exists(KMOD_SYSFS));
	r = lab_ctl("kmod", "status", NULL, NULL, NULL, NULL);
	print_message("[   INFO   ] kvmscopectl kmod status: exit %d\n%s", r.status, r.out);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "kvmscope.ko  loaded"));
	assert_non_null(strstr(r.out, ", loaded by kvmscoped"));
	proc_result_free(&r);
	assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);
	wait_module_gone(KMOD_SYSFS);
}

/*
 * kvmscope_skew.ko is the same module built with a wrong schema hash:
 * kvmscoped --kmod on refuses it by both versions, exits, and leaves it
 * unloaded.
 */
static void test_kmod_schema_mismatch_refused(void **state)
{
	char log[65536];
	int status = 0, i;
	pid_t done = 0;

	skip_unless_modules_built();
	assert_int_equal(remove_kmod(), 0);
	{
		char daemon_path[PATH_MAX];
		char *args[] = { "--socket", LAB_SOCKET, "--metrics", "off", "--pin-dir", "none",
				 "--kmod", "on", "--kmod-path", kmod_skew_ko, NULL };

		unlink(LAB_SOCKET);
		truncate(LAB_DAEMON_LOG, 0);
		lab_daemon = test_kvmscoped_start(build_path(daemon_path, "kvmscoped"),
						  LAB_DAEMON_LOG, args);
	}
	for (i = 0; i < 400 && done == 0; i++) {
		done = waitpid(lab_daemon, &status, WNOHANG);
		if (done == 0)
			sleep_ms(50);
	}
	if (done != lab_daemon)
		fail_msg("kvmscoped --kmod on with a wrong schema is still running after 20 s");
	lab_daemon = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(read_file_text(LAB_DAEMON_LOG, log, sizeof(log)) > 0);
	{
		const char *line = strstr(log, "kvmscope.ko ");

		print_message("[   INFO   ] %.*s\n", line ? (int)strcspn(line, "\n") : 0, line ? line : "");
		assert_non_null(line);
	}
	assert_non_null(strstr(log, "does not match kvmscoped " KVMSCOPE_VERSION " (API "));
	assert_non_null(strstr(log, "schema"));
	assert_false(path_exists(KMOD_SKEW_SYSFS));
	assert_false(path_exists(KMOD_SYSFS));
}

static long long jint(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	return json_integer_value(b ? json_object_get(v, b) : v);
}

/* The value of the unlabelled sample @name in Prometheus text, or -1. */
static long long metric_value(const char *text, const char *name)
{
	char want[128];
	const char *p;

	snprintf(want, sizeof(want), "\n%s ", name);
	p = strstr(text, want);
	return p ? atoll(p + strlen(want)) : -1;
}

/*
 * The consistency canary, 45 s on 2 vCPUs under --kmod auto (the module is
 * loaded only when the canary is asked for): at least 1000 call-site
 * rewrites (about 33 a second under TCG on a slow machine: 992 in 30 s),
 * calls judged both while patched and unpatched, 0 violations, and counts
 * that add up.  Root only; a client of another uid is refused.
 */
static void test_kmod_canary(void **state)
{
	struct proc_result r;
	json_t *k, *cn, *resp;
	json_error_t jerr;
	char *nobody;
	const char *text;

	skip_unless_modules_built();
	assert_int_equal(remove_kmod(), 0);
	start_kmod_daemon("auto", kmod_ko);
	k = kmod_status();
	assert_true(json_is_false(json_object_get(k, "loaded")));
	assert_true(json_is_true(json_object_get(k, "loadable")));
	json_decref(k);
	assert_false(path_exists(KMOD_SYSFS));

	nobody = as_nobody("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"kmod.canary\",\"params\":{\"seconds\":1}}\n");
	print_message("[   INFO   ] kmod.canary as nobody: %s", nobody);
	/* Refused at the socket (root only without the group) or by the method. */
	assert_non_null(strcasestr(nobody, "permission denied"));
	free(nobody);
	assert_false(path_exists(KMOD_SYSFS));

	r = lab_ctl("kmod", "canary", "--seconds", "45", "--json", NULL);
	print_message("[   INFO   ] kvmscopectl kmod canary --seconds 45: exit %d\n%s%s", r.status,
		      r.out, r.err);
	assert_int_equal(r.status, 0);
	cn = json_loads(r.out, 0, &jerr);
	if (!cn)
		fail_msg("kmod canary --json: not JSON: %s", jerr.text);
	proc_result_free(&r);
	assert_string_equal(json_string_value(json_object_get(cn, "state")), "done");
	assert_int_equal(jint(cn, "cpus", NULL), 2);
	assert_int_equal(jint(cn, "violations_total", NULL), 0);
	assert_int_equal(jint(cn, "calls", "neither"), 0);
	assert_int_equal(jint(cn, "calls_total", NULL),
			 jint(cn, "calls", "original") + jint(cn, "calls", "replacement"));
	assert_true(jint(cn, "calls", "original") > 0);
	assert_true(jint(cn, "calls", "replacement") > 0);
	/* The invariant was put to the test in both settled states. */
	assert_true(jint(cn, "settled_calls", "on") > 0);
	assert_true(jint(cn, "settled_calls", "off") > 0);
	assert_true(jint(cn, "updates", NULL) >= 1000);
	/* Four rewrites per generation: patch, tracer on, tracer off, unpatch. */
	assert_true(jint(cn, "updates", NULL) >= 4 * jint(cn, "generations", NULL));
	assert_true(jint(cn, "tracer_calls", NULL) > 0);
	assert_true(json_real_value(json_object_get(cn, "elapsed_seconds")) >= 45.0);

	resp = lab_rpc("metrics");
	text = json_string_value(json_object_get(json_object_get(resp, "result"), "text"));
	assert_non_null(text);
	assert_int_equal(metric_value(text, "kvmscope_canary_violations_total"), 0);
	assert_int_equal(metric_value(text, "kvmscope_canary_updates_total"), jint(cn, "updates", NULL));
	assert_int_equal(metric_value(text, "kvmscope_kmod_loaded"), 1);
	assert_non_null(strstr(text, "kvmscope_canary_calls_total{body=\"replacement\"} "));
	json_decref(resp);
	json_decref(cn);
	assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);
	wait_module_gone(KMOD_SYSFS);
}

static int canary_transition_teardown(void **state)
{
	int ret = kmod_teardown(state);

	if (remove_park_patch() || remove_labtest_module())
		ret = -1;
	return ret;
}

static int strcmp_ptrs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define KMOD_DRIVER_SOCKET "/tmp/kvmscope-lab-kmod.sock"
#define KMOD_DRIVER_LOG "/tmp/kvmscope-lab-kmod.log"

static pid_t kmod_driver_daemon = -1;

static int kmod_driver_teardown(void **state)
{
	test_process_stop(&kmod_driver_daemon, SIGTERM);
	return kmod_teardown(state);
}

static pid_t start_driver_daemon(const char *sock, const char *log, const char *driver)
{
	char daemon_path[PATH_MAX];
	char *args[] = { "--socket", (char *)sock, "--metrics", "off", "--pin-dir", "none",
			 "--driver", (char *)driver, "--kmod-path", kmod_ko, NULL };
	pid_t pid;
	int ret;

	unlink(sock);
	truncate(log, 0);
	pid = test_kvmscoped_start(build_path(daemon_path, "kvmscoped"), log, args);
	ret = test_kvmscoped_wait(sock, pid, test_start_wait_ms(20000));
	if (ret)
		fail_msg("kvmscoped --driver %s did not come up (%s): see %s", driver, strerror(-ret), log);
	return pid;
}

/* kvmscopectl --socket @sock --json exits --pid @pid: that VM's entry (a new reference). */
static json_t *vm_exits_from(const char *sock, long long pid)
{
	char ctl[PATH_MAX], pidarg[24];
	char *argv[] = { (char *)build_path(ctl, "kvmscopectl"), "--socket", (char *)sock, "--json",
			 "exits", "--pid", pidarg, NULL };
	struct proc_result r;
	json_t *res, *vm, *found = NULL;
	size_t i;

	snprintf(pidarg, sizeof(pidarg), "%lld", pid);
	r = proc_run(argv);
	if (r.status != 0)
		fail_msg("kvmscopectl exits --pid %lld on %s: exit %d: %s", pid, sock, r.status, r.err);
	res = json_loads(r.out, 0, NULL);
	proc_result_free(&r);
	if (!res)
		fail_msg("kvmscopectl --json exits on %s: not JSON", sock);
	json_array_foreach(json_object_get(res, "vms"), i, vm)
		if (json_integer_value(json_object_get(vm, "pid")) == pid)
			found = json_incref(vm);
	json_decref(res);
	if (!found)
		fail_msg("pid %lld is not in %s's exits", pid, sock);
	return found;
}

/* "vcpu reason count" lines of @list, sorted: what both drivers must agree on. */
static char *records_text(json_t *list, const char *const keys[])
{
	size_t i, n = json_array_size(list), len = 0;
	char **lines = calloc(n + 1, sizeof(*lines)), *out;
	json_t *r;

	json_array_foreach(list, i, r) {
		char line[256] = "";

		for (int k = 0; keys[k]; k++) {
			char *v = json_dumps(json_object_get(r, keys[k]), JSON_ENCODE_ANY | JSON_COMPACT);

			snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s=%s ", keys[k],
				 v ? v : "?");
			free(v);
		}
		lines[i] = strdup(line);
		len += strlen(line) + 1;
	}
	qsort(lines, n, sizeof(*lines), strcmp_ptrs);
	out = calloc(1, len + 1);
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		free(lines[i]);
	}
	free(lines);
	return out;
}

/*
 * --driver kmod beside --driver bpf: two daemons count the same guest,
 * one with its BPF programs, one with kvmscope.ko; every hardware exit,
 * userspace exit and port record is the same in both.  Then the kmod
 * daemon is killed (SIGKILL): its run ends with its file, and the module
 * it left loaded unloads cleanly.
 */
static void test_kmod_driver_beside_bpf(void **state)
{
	static const char *const hw_keys[] = { "vcpu", "isa", "code", "count", NULL };
	static const char *const user_keys[] = { "vcpu", "code", "count", NULL };
	static const char *const pio_keys[] = { "vcpu", "port", "direction", "size", "count", NULL };
	static const char *const lists[] = { "hardware_exits", "userspace_exits", "pio" };
	char guest_path[PATH_MAX];
	char *guest[] = { (char *)build_path(guest_path, "kvmscope-guest"), "--vcpus", "2", "--out",
			  "0x70:2000", "--in", "0x71:700:2", "--hlt", "60", "--immediate-exit", "5",
			  "-name", "lab-kmod-driver", NULL };
	const char *const *keys[] = { hw_keys, user_keys, pio_keys };
	json_t *report, *via_bpf, *via_kmod, *st, *drv;
	struct proc_result r;
	long long pid;

	skip_unless_modules_built();
	assert_int_equal(remove_kmod(), 0);
	lab_daemon = start_driver_daemon(LAB_SOCKET, LAB_DAEMON_LOG, "bpf");
	kmod_driver_daemon = start_driver_daemon(KMOD_DRIVER_SOCKET, KMOD_DRIVER_LOG, "kmod");
	assert_true(path_exists(KMOD_SYSFS));

	r = proc_run(guest);
	if (r.status != 0)
		fail_msg("kvmscope-guest failed (exit %d): %s", r.status, r.err);
	report = json_loads(r.out, 0, NULL);
	proc_result_free(&r);
	assert_non_null(report);
	pid = json_integer_value(json_object_get(report, "pid"));
	json_decref(report);
	/* Both daemons see the VM gone and take their final read. */
	sleep_ms(2500);
	via_bpf = vm_exits_from(LAB_SOCKET, pid);
	via_kmod = vm_exits_from(KMOD_DRIVER_SOCKET, pid);
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		char *a = records_text(json_object_get(via_bpf, lists[l]), keys[l]);
		char *b = records_text(json_object_get(via_kmod, lists[l]), keys[l]);

		print_message("[   INFO   ] %s, bpf:\n%s[   INFO   ] %s, kmod:\n%s", lists[l], a,
			      lists[l], b);
		assert_true(a[0] != '\0');
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	assert_true(json_equal(json_object_get(via_bpf, "totals"), json_object_get(via_kmod, "totals")));
	assert_true(json_is_true(json_object_get(via_kmod, "complete")));
	json_decref(via_bpf);
	json_decref(via_kmod);

	/* The kmod daemon's status: the module serves the four events, and they fired. */
	{
		char ctl[PATH_MAX];
		char *argv[] = { (char *)build_path(ctl, "kvmscopectl"), "--socket", KMOD_DRIVER_SOCKET,
				 "--json", "status", NULL };

		r = proc_run(argv);
		assert_int_equal(r.status, 0);
		st = json_loads(r.out, 0, NULL);
		proc_result_free(&r);
		assert_non_null(st);
		drv = json_object_get(json_array_get(json_object_get(st, "capabilities"), 0), "driver");
		print_message("[   INFO   ] status driver: %s\n", json_dumps(drv, JSON_COMPACT));
		assert_string_equal(json_string_value(json_object_get(drv, "requested")), "kmod");
		assert_int_equal(json_array_size(json_object_get(drv, "kmod_serves")), 4);
		assert_true(json_integer_value(json_object_get(json_object_get(drv, "kmod_events"),
							       "kvm_exit")) > 0);
		json_decref(st);
	}

	/* SIGKILL: no clean stop; closing its file ends its run, so the module unloads. */
	test_process_stop(&kmod_driver_daemon, SIGKILL);
	assert_true(path_exists(KMOD_SYSFS));
	assert_int_equal(unload_module_patiently("kvmscope", UNLOAD_TIMEOUT_S), 0);
	assert_int_equal(test_process_stop(&lab_daemon, SIGTERM), 0);
}

/*
 * The canary while a real livepatch transition is in progress (a
 * supported mode): kvmscope_lp_park's transition stalls on the parked
 * thread; a 5 s canary run beside it finds 0 violations and names the
 * transition; its workers sleep often enough that the transition, once
 * the thread is released, completes as before.
 */
static void test_kmod_canary_during_transition(void **state)
{
	struct proc_result r;
	json_error_t jerr;
	char log[65536];
	json_t *cn;
	int ret;

	skip_unless_modules_built();
	assert_int_equal(remove_kmod(), 0);
	if (remove_labtest_module())
		fail_msg("a %s left by an earlier test cannot be removed", LABTEST_NAME);
	ret = load_module_file(labtest_ko, "park=1");
	if (ret)
		fail_msg("finit_module(%s, park=1): %s", labtest_ko, strerror(-ret));
	wait_parked(1);
	start_kmod_daemon("auto", kmod_ko);
	r = lab_ctl("patch", "load", park_ko, "--wait", "1", NULL);
	assert_int_equal(r.status, 1);
	proc_result_free(&r);

	r = lab_ctl("kmod", "canary", "--seconds", "5", "--json", NULL);
	print_message("[   INFO   ] kmod canary --seconds 5 during a stalled transition: exit %d\n%s%s",
		      r.status, r.out, r.err);
	assert_int_equal(r.status, 0);
	cn = json_loads(r.out, 0, &jerr);
	if (!cn)
		fail_msg("kmod canary --json: not JSON: %s", jerr.text);
	proc_result_free(&r);
	assert_string_equal(json_string_value(json_object_get(cn, "during_transition")), PARK_NAME);
	assert_int_equal(jint(cn, "violations_total", NULL), 0);
	assert_true(jint(cn, "settled_calls", "on") > 0);
	json_decref(cn);
	assert_true(read_file_text(LAB_DAEMON_LOG, log, sizeof(log)) > 0);
	assert_non_null(strstr(log, ", during the transition of livepatch " PARK_NAME));

	release_park_patch();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_module_load_unload, labtest_teardown),
		cmocka_unit_test_teardown(test_livepatch_cycle, livepatch_teardown),
		cmocka_unit_test_teardown(test_livepatch_ftrace_site, livepatch_teardown),
		cmocka_unit_test_teardown(test_livepatch_seen_by_kvmscoped, daemon_teardown),
		cmocka_unit_test_teardown(test_livepatch_managed_by_kvmscopectl, managed_teardown),
		cmocka_unit_test_teardown(test_livepatch_stall_reported, stall_teardown),
		cmocka_unit_test_teardown(test_livepatch_held_by_kvm_run, kvmrun_teardown),
		cmocka_unit_test_teardown(test_kmod_handshake, kmod_teardown),
		cmocka_unit_test_teardown(test_kmod_schema_mismatch_refused, kmod_teardown),
		cmocka_unit_test_teardown(test_kmod_canary, kmod_teardown),
		cmocka_unit_test_teardown(test_kmod_driver_beside_bpf, kmod_driver_teardown),
		cmocka_unit_test_teardown(test_kmod_canary_during_transition,
					  canary_transition_teardown),
	};

	/*
	 * KVMSCOPE_LAB_PARTS (tests/run sets it for each lab kernel): "livepatch"
	 * (the module and livepatch tests), "kmod" (kvmscope.ko's), both, or
	 * none; unset, all of them.  Each part runs on one kernel of make test:
	 * minutes under TCG, and the same code on the others.
	 */
	const char *parts = getenv("KVMSCOPE_LAB_PARTS");
	struct CMUnitTest run[sizeof(tests) / sizeof(tests[0])];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		const char *part = !strncmp(tests[i].name, "test_kmod_", 10) ? "kmod" : "livepatch";
		char padded[64], want[16];

		snprintf(padded, sizeof(padded), " %s ", parts ? parts : "");
		snprintf(want, sizeof(want), " %s ", part);
		if (!parts || strstr(padded, want))
			run[n++] = tests[i];
	}
	if (parts)
		printf("lab: parts \"%s\" of livepatch and kmod (KVMSCOPE_LAB_PARTS): %zu of %zu tests\n", parts,
		       n, sizeof(tests) / sizeof(tests[0]));
	if (n == 0)
		return 0;
	return _cmocka_run_group_tests("lab", run, n, group_setup, group_teardown);
}
