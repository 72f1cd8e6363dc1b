// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl top, run as root against the real kernel: a kvmscoped of
 * its own on a temporary socket, real guests (build/kvmscope-guest), and
 * the curses view driven in a detached tmux session on a private tmux
 * socket, read back with capture-pane.  Plain-text snapshots (--once) are
 * checked against the exact counts the guest reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "kvmscoped.h"
#include "util.h"
#include "proc.h"

#define TMUX_PACKAGE_HINT "install the Debian package tmux (scripts/install-deps test)"

static const char *build_dir = "build";
static char tmpdir[64];
static char sock_path[108];
static char log_path[128];
static char tmux_socket[64];	/* tmux -L NAME: never the user's server */
static pid_t daemon_pid = -1;
static pid_t late_daemon_pid = -1;
static pid_t guest_pid = -1;

/* ---- processes ---- */

/* The shared runner (tests/common/proc.c) under this file's short name. */
#define run proc_run

/* build/NAME as an absolute path: tmux runs its command from its own cwd. */
static char *bin(const char *name)
{
	return test_build_path(build_dir, name);
}

/* ---- daemons and guests ---- */

static pid_t start_daemon(const char *socket, const char *log)
{
	char *args[] = { "--socket", (char *)socket, "--metrics", "off", "--retain-exited", "120",
			 "--log-level", "debug", NULL };

	return test_kvmscoped_start(bin("kvmscoped"), log, args);
}

static bool wait_for_socket(const char *path)
{
	return test_kvmscoped_wait(path, -1, test_start_wait_ms(10000)) == 0;
}

/* A guest in the background, its JSON report thrown away. */
static pid_t start_guest(char *const args[])
{
	return proc_start_args(bin("kvmscope-guest"), args, NULL);
}

static json_t *parse_json(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		fail_msg("not JSON (%s at line %d): %.400s", e.text, e.line, text);
	return v;
}

/* ---- tmux ---- */

/* tmux -L <ours> -f /dev/null ARGS...; NULL-terminated. */
static struct proc_result tmux(const char *arg, ...)
{
	char *argv[32] = { "tmux", "-L", tmux_socket, "-f", "/dev/null" };
	int n = 5;
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return run(argv);
}

/* A missing tmux fails the test that needs it: a skipped UI test proves nothing. */
static void require_tmux(void)
{
	char *argv[] = { "tmux", "-V", NULL };
	struct proc_result r = run(argv);

	if (r.status != 0)
		fail_msg("tmux is needed to drive 'kvmscopectl top' (%s): %s", TMUX_PACKAGE_HINT,
			 r.err);
	proc_result_free(&r);
}

/*
 * A detached 100x30 session named "top" running @command through sh;
 * the session ends when the command does.
 */
static void tmux_start(const char *command)
{
	struct proc_result r = tmux("new-session", "-d", "-s", "top", "-x", "100", "-y", "30",
				    command, NULL);

	if (r.status != 0)
		fail_msg("tmux new-session failed (exit %d): %s", r.status, r.err);
	proc_result_free(&r);
}

static char *tmux_screen(void)
{
	struct proc_result r = tmux("capture-pane", "-p", "-t", "top", NULL);

	free(r.err);
	return r.out;
}

static void tmux_keys(const char *key)
{
	struct proc_result r = tmux("send-keys", "-t", "top", key, NULL);

	if (r.status != 0)
		fail_msg("tmux send-keys %s failed: %s", key, r.err);
	proc_result_free(&r);
}

static bool tmux_session_alive(void)
{
	struct proc_result r = tmux("has-session", "-t", "top", NULL);
	bool alive = r.status == 0;

	proc_result_free(&r);
	return alive;
}

static void tmux_kill_server(void)
{
	struct proc_result r = tmux("kill-server", NULL);

	proc_result_free(&r);
}

/* Wait up to @ms for @ok(screen, arg); returns the last screen (caller frees). */
static char *wait_for_screen(bool (*ok)(const char *screen, const void *arg), const void *arg,
			     long ms, bool *met)
{
	double deadline = now_seconds() + (double)ms / 1000;
	char *screen = NULL;

	for (;;) {
		free(screen);
		screen = tmux_screen();
		*met = ok(screen, arg);
		if (*met || now_seconds() > deadline)
			return screen;
		sleep_ms(100);
	}
}

static bool screen_has(const char *screen, const void *needle)
{
	return strstr(screen, needle) != NULL;
}

/* ---- reading top's VM list ---- */

struct vm_row {
	bool selected;
	long long pid;
	char state;
	char name[64];
	long vcpus;		/* -1: "-" */
	double rate, user_rate;
	char top[40];
	char p99[16];
	unsigned long long total;
};

/* One row of the VM list: [>]PID S NAME VCPUS EXITS/s USER/s TOP P99 TOTAL. */
static bool parse_vm_row(const char *line, struct vm_row *row)
{
	char vcpus[16];
	int n;

	memset(row, 0, sizeof(*row));
	row->selected = line[0] == '>';
	n = sscanf(line + 1, "%lld %c %63s %15s %lf %lf %39s %15s %llu", &row->pid, &row->state,
		   row->name, vcpus, &row->rate, &row->user_rate, row->top, row->p99, &row->total);
	if (n != 9 || (row->state != 'R' && row->state != 'X'))
		return false;
	row->vcpus = strcmp(vcpus, "-") ? strtol(vcpus, NULL, 10) : -1;
	return true;
}

/* The row of @pid in @text, or false. */
static bool find_vm_row(const char *text, long long pid, struct vm_row *row)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
		if (parse_vm_row(buf, row) && row->pid == pid)
			return true;
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

/* How many VM rows come before @pid's in the list, or -1. */
static int vm_row_index(const char *text, long long pid)
{
	struct vm_row row;
	int index = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
		if (parse_vm_row(buf, &row)) {
			if (row.pid == pid)
				return index;
			index++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

struct live_row_want {
	long long pid;
	const char *name;
	const char *top;	/* and this top reason (case-insensitive), if set */
	/*
	 * And this text, if set: the status line's socket path, drawn last,
	 * so that a frame tmux captured half painted (slow under TCG) is not
	 * taken for the whole screen.
	 */
	const char *frame_end;
	/* And this many vCPUs, if set: the second may start a frame later. */
	int vcpus;
};

static bool live_row_shown(const char *screen, const void *arg)
{
	const struct live_row_want *want = arg;
	struct vm_row row;

	return find_vm_row(screen, want->pid, &row) && !strcmp(row.name, want->name) &&
	       row.rate > 0 && (!want->top || !strcasecmp(row.top, want->top)) &&
	       (!want->frame_end || strstr(screen, want->frame_end)) &&
	       (!want->vcpus || row.vcpus == want->vcpus);
}

/*
 * In @text's section for VM @pid (from "VM NAME  pid PID" to the next
 * "VM " line), the COUNT of the first row whose reason is @reason.
 */
static long long reason_count(const char *text, long long pid, const char *reason)
{
	char head[64];
	const char *sec, *end, *line;

	snprintf(head, sizeof(head), "  pid %lld  ", pid);
	sec = strstr(text, head);
	if (!sec)
		return -1;
	end = strstr(sec, "\nVM ");
	for (line = strchr(sec, '\n'); line && (!end || line < end);
	     line = strchr(line + 1, '\n')) {
		char name[40];
		long long count;

		if (sscanf(line + 1, " %39s %lld", name, &count) == 2 && !strcmp(name, reason))
			return count;
	}
	return -1;
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	if (getenv("KVMSCOPE_BUILD"))
		build_dir = getenv("KVMSCOPE_BUILD");
	/* tmux refuses nesting checks on $TMUX; our server is a private one anyway. */
	unsetenv("TMUX");
	snprintf(tmux_socket, sizeof(tmux_socket), "kvmscope-test-%d", (int)getpid());
	if (test_require_root_kvm("top-tests") < 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmscope-top.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/kvmscope.sock", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/kvmscoped.log", tmpdir);
	daemon_pid = start_daemon(sock_path, log_path);
	if (wait_for_socket(sock_path))
		return 0;
	fprintf(stderr, "top-tests: kvmscoped did not open %s within 10 s; log: %s\n", sock_path,
		log_path);
	return -1;
}

static int group_teardown(void **state)
{
	const char *tmux_dir = getenv("TMUX_TMPDIR");
	char path[192];

	test_process_stop(&daemon_pid, SIGTERM);
	/* kill-server leaves the socket file of our private server behind. */
	tmux_kill_server();
	if (!tmux_dir || !*tmux_dir)
		tmux_dir = "/tmp";
	snprintf(path, sizeof(path), "%s/tmux-%u/%s", tmux_dir, (unsigned int)getuid(), tmux_socket);
	unlink(path);
	if (getenv("KVMSCOPE_KEEP_LOGS")) {
		fprintf(stderr, "top-tests: daemon logs kept in %s\n", tmpdir);
		return 0;
	}
	unlink(log_path);
	snprintf(path, sizeof(path), "%s/late.log", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/top.status", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return 0;
}

/* Whatever a test left: its tmux server, a second daemon, a guest. */
static int test_teardown(void **state)
{
	tmux_kill_server();
	test_process_stop(&late_daemon_pid, SIGTERM);
	if (guest_pid > 0) {
		waitpid(guest_pid, NULL, 0);
		guest_pid = -1;
	}
	return 0;
}

/* ---- tests ---- */

static void test_no_tty_is_a_usage_error(void **state)
{
	char *argv[] = { bin("kvmscopectl"), "--socket", sock_path, "top", NULL };
	struct proc_result r = run(argv);

	assert_int_equal(r.status, 2);
	assert_contains(r.err, "needs a terminal");
	assert_contains(r.err, "--once");
	assert_string_equal(r.out, "");
	proc_result_free(&r);
}

static void test_once_without_daemon(void **state)
{
	char missing[128], *argv[] = { bin("kvmscopectl"), "--socket", missing, "top", "--once",
				       NULL };
	struct proc_result r;

	snprintf(missing, sizeof(missing), "%s/no-daemon-here.sock", tmpdir);
	r = run(argv);
	assert_int_equal(r.status, 3);
	assert_contains(r.err, "cannot reach kvmscoped at");
	assert_contains(r.err, missing);
	proc_result_free(&r);
}

static void test_usage_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "--interval", "0" },
		{ "-d", "fast" },
		{ "--iterations", "0" },
		{ "--bogus", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { bin("kvmscopectl"), "--socket", sock_path, "top",
				 (char *)bad[i][0], (char *)bad[i][1], NULL };
		struct proc_result r = run(argv);

		assert_int_equal(r.status, 2);
		assert_contains(r.err, bad[i][0]);
		proc_result_free(&r);
	}
}

/* The snapshot of a finished guest shows exactly the exits the guest made. */
static void test_once_shows_exact_counts(void **state)
{
	char *guest[] = { bin("kvmscope-guest"), "--out", "0x70:1000", "-name", "toptest-once",
			  NULL };
	char *once[] = { bin("kvmscopectl"), "--socket", sock_path, "top", "--once", "-d", "0.2",
			 NULL };
	struct proc_result g = run(guest), r;
	long long pid, io;
	struct vm_row row;
	json_t *report;

	if (g.status != 0)
		fail_msg("test guest failed (exit %d): %s", g.status, g.err);
	report = parse_json(g.out);
	pid = json_integer_value(json_object_get(report, "pid"));
	io = json_integer_value(json_object_get(json_object_get(report, "userspace_exits"), "IO"));
	assert_true(io == 1001);	/* 1000 OUTs to 0x70 and one to the done port */
	json_decref(report);
	proc_result_free(&g);

	r = run(once);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "kvmscope top  ");
	assert_contains(r.out, sock_path);
	if (!find_vm_row(r.out, pid, &row))
		fail_msg("no VM row for pid %lld in:\n%s", pid, r.out);
	assert_string_equal(row.name, "toptest-once");
	assert_int_equal(row.state, 'X');
	assert_int_equal(row.vcpus, 1);
	/* The top reason is the hardware one where kvm_exit fires (SVM io in the lab). */
	if (strcasecmp(row.top, "IO"))
		fail_msg("top reason %s, expected IO (or SVM io)", row.top);
	/* TOTAL is hardware exits where kvm_exit fires: io plus the others (npf, ...). */
	if (access("/sys/module/kvm_amd", F_OK) == 0 || access("/sys/module/kvm_intel", F_OK) == 0)
		assert_true(row.total >= (unsigned long long)io);
	else
		assert_int_equal(row.total, io);
	assert_true(row.rate == 0);
	if (reason_count(r.out, pid, "IO") != io)
		fail_msg("the IO row of pid %lld does not count %lld:\n%s", pid, io, r.out);
	proc_result_free(&r);
}

/* A guest name that would drive the terminal reaches top's snapshot escaped. */
static void test_once_escapes_names(void **state)
{
	char *guest[] = { bin("kvmscope-guest"), "--out", "0x70:10", "-name",
			  "evil\x1b]0;pwned\x07\x1b[2J\nname\xc2\x9b", NULL };
	char *once[] = { bin("kvmscopectl"), "--socket", sock_path, "top", "--once", "-d", "0.2",
			 NULL };
	struct proc_result g = run(guest), r;

	if (g.status != 0)
		fail_msg("test guest failed (exit %d): %s", g.status, g.err);
	proc_result_free(&g);
	r = run(once);
	assert_int_equal(r.status, 0);
	if (strchr(r.out, '\x1b') || strchr(r.out, '\x07') || strstr(r.out, "\xc2\x9b") ||
	    strstr(r.out, "\nname"))
		fail_msg("a raw control of the guest name in:\n%s", r.out);
	assert_contains(r.out, "evil\\x1b]0;pwned\\x07");
	proc_result_free(&r);
}

static void test_iterations_print_that_many_snapshots(void **state)
{
	char *argv[] = { bin("kvmscopectl"), "--socket", sock_path, "top", "-n", "3", "-d", "0.1",
			 NULL };
	struct proc_result r = run(argv);
	int snapshots = 0;

	assert_int_equal(r.status, 0);
	for (const char *p = r.out; (p = strstr(p, "kvmscope top  ")); p++)
		snapshots++;
	assert_int_equal(snapshots, 3);
	proc_result_free(&r);
}

static bool status_written(const char *path)
{
	for (int i = 0; i < 20; i++) {
		if (access(path, R_OK) == 0)
			return true;
		sleep_ms(100);
	}
	return false;
}

/* What the issue asks for: list, Enter, v, q, in a real terminal. */
static void test_live_view_in_tmux(void **state)
{
	char *guest[] = { "--vcpus", "2", "--out", "0x70:200000", "--linger", "2000",
			  "-name", "toptest", NULL };
	char command[1024], status_path[160], pidstr[24], *screen;
	/*
	 * IO is the top reason once the guest's loop runs; the first second
	 * may show only the exits of its start (interrupt, npf) in the lab.
	 */
	struct live_row_want want = { .name = "toptest", .top = "IO", .frame_end = sock_path, .vcpus = 2 };
	struct vm_row row;
	double quit_at;
	FILE *f;
	int index, st = -1;
	bool met;

	require_tmux();
	snprintf(status_path, sizeof(status_path), "%s/top.status", tmpdir);
	unlink(status_path);
	guest_pid = start_guest(guest);
	want.pid = guest_pid;
	/* The session ends with top; its exit status is left in a file. */
	snprintf(command, sizeof(command), "'%s' --socket '%s' top --interval 0.5; echo $? > '%s'",
		 bin("kvmscopectl"), sock_path, status_path);
	tmux_start(command);

	screen = wait_for_screen(live_row_shown, &want, 10000, &met);
	if (!met)
		fail_msg("no live row for toptest pid %lld with EXITS/s > 0, top reason IO "
			 "(or SVM io) and 2 vCPUs within 10 s:\n%s", want.pid, screen);
	assert_true(find_vm_row(screen, want.pid, &row));
	assert_int_equal(row.state, 'R');
	assert_int_equal(row.vcpus, 2);
	if (strcasecmp(row.top, "IO"))
		fail_msg("top reason %s, expected IO (or SVM io)", row.top);
	assert_true(row.user_rate > 0);
	assert_contains(screen, "kvmscope top");
	assert_contains(screen, sock_path);
	/* Another VM of this host may be listed too: walk to ours. */
	index = vm_row_index(screen, want.pid);
	free(screen);
	for (int i = 0; i < index; i++)
		tmux_keys("Down");
	tmux_keys("Enter");

	snprintf(pidstr, sizeof(pidstr), "VM toptest  pid %lld", want.pid);
	screen = wait_for_screen(screen_has, pidstr, 3000, &met);
	if (!met)
		fail_msg("Enter did not open toptest pid %lld:\n%s", want.pid, screen);
	assert_contains(screen, "USERSPACE EXITS");
	if (reason_count(screen, want.pid, "IO") <= 0)
		fail_msg("no IO row with a count in the drill-down:\n%s", screen);
	free(screen);

	tmux_keys("v");
	screen = wait_for_screen(screen_has, "vCPU 1", 3000, &met);
	if (!met)
		fail_msg("v did not break the exits down per vCPU:\n%s", screen);
	assert_contains(screen, "vCPU 0");
	assert_contains(screen, "v per-vCPU on");
	free(screen);

	tmux_keys("Escape");
	screen = wait_for_screen(screen_has, "     PID S NAME", 3000, &met);
	if (!met)
		fail_msg("Esc did not go back to the VM list:\n%s", screen);
	free(screen);

	tmux_keys("q");
	quit_at = now_seconds();
	while (tmux_session_alive() && now_seconds() - quit_at < 2)
		sleep_ms(50);
	if (tmux_session_alive()) {
		screen = tmux_screen();
		fail_msg("top still runs 2 s after q:\n%s", screen);
	}
	assert_true(status_written(status_path));
	f = fopen(status_path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &st), 1);
	fclose(f);
	assert_int_equal(st, 0);
}

/* The daemon is not there yet: top says so, keeps running, and connects once it is. */
static void test_waits_for_daemon_in_tmux(void **state)
{
	char late_sock[128], late_log[160], command[1024], needle[200], *screen;
	bool met;

	require_tmux();
	snprintf(late_sock, sizeof(late_sock), "%s/late.sock", tmpdir);
	snprintf(late_log, sizeof(late_log), "%s/late.log", tmpdir);
	snprintf(command, sizeof(command), "TERM=vt100 '%s' --socket '%s' top -d 0.2",
		 bin("kvmscopectl"), late_sock);
	tmux_start(command);

	snprintf(needle, sizeof(needle), "cannot reach kvmscoped at %s: retrying", late_sock);
	screen = wait_for_screen(screen_has, needle, 3000, &met);
	if (!met)
		fail_msg("no '%s' on the screen:\n%s", needle, screen);
	free(screen);

	late_daemon_pid = start_daemon(late_sock, late_log);
	assert_true(wait_for_socket(late_sock));
	screen = wait_for_screen(screen_has, "  updated ", 5000, &met);
	if (!met)
		fail_msg("top did not connect to the daemon that came up at %s:\n%s", late_sock,
			 screen);
	assert_contains(screen, "     PID S NAME");
	free(screen);

	/* And back to retrying when it goes away again. */
	test_process_stop(&late_daemon_pid, SIGTERM);
	screen = wait_for_screen(screen_has, needle, 3000, &met);
	if (!met)
		fail_msg("no '%s' after the daemon stopped:\n%s", needle, screen);
	free(screen);
	tmux_keys("q");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_tty_is_a_usage_error),
		cmocka_unit_test(test_once_without_daemon),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_once_shows_exact_counts),
		cmocka_unit_test(test_once_escapes_names),
		cmocka_unit_test(test_iterations_print_that_many_snapshots),
		cmocka_unit_test_teardown(test_live_view_in_tmux, test_teardown),
		cmocka_unit_test_teardown(test_waits_for_daemon_in_tmux, test_teardown),
	};

	/*
	 * The lab keeps the one that checks its hardware reasons (SVM io,
	 * TOTAL over kvm_exit); the live view's 400,000 exits cost a minute
	 * under TCG and draw the same rows.
	 */
	static const char *const host_only[] = {
		"test_no_tty_is_a_usage_error", "test_once_without_daemon", "test_usage_errors",
		"test_once_escapes_names", "test_iterations_print_that_many_snapshots",
		"test_live_view_in_tmux", "test_waits_for_daemon_in_tmux", NULL,
	};
	struct CMUnitTest run[sizeof(tests) / sizeof(tests[0])];
	size_t n = test_lab_select("top", HOST_ONLY_WHY, tests, sizeof(tests) / sizeof(tests[0]), host_only, run);

	return _cmocka_run_group_tests("top", run, n, group_setup, group_teardown);
}
