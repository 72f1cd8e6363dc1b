// SPDX-License-Identifier: GPL-2.0-only
/*
 * Integration tests, run as root against the real kernel: a kvmscoped on
 * a temporary socket and port, real KVM guests (build/kvmscope-guest)
 * making a known number of exits, and exact assertions on what
 * kvmscopectl and /metrics report for that guest's pid.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kvmscope/exits.h"
#include "kvmscoped.h"
#include "util.h"
#include "proc.h"

static const char *build_dir = "build";
static char tmpdir[64];
static char sock_path[108];
static char log_path[128];
static int metrics_port;
static pid_t daemon_pid = -1;

/* ---- processes ---- */

/* The shared runner (tests/common/proc.c) under this file's short name. */
#define run proc_run

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static char *bin(const char *name)
{
	return test_build_path(build_dir, name);
}

/* kvmscopectl --socket <ours> ARGS... */
static struct proc_result ctl(const char *a1, const char *a2, const char *a3, const char *a4,
			      const char *a5, const char *a6)
{
	char *argv[10] = { bin("kvmscopectl"), "--socket", sock_path };
	const char *args[] = { a1, a2, a3, a4, a5, a6 };
	int n = 3;

	for (int i = 0; i < 6 && args[i]; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return run(argv);
}

static json_t *parse_json(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		fail_msg("not JSON (%s at line %d): %.400s", e.text, e.line, text);
	return v;
}

/* Run the test guest; returns its JSON report.  Fails the test if it fails. */
static json_t *run_guest(char *const args[])
{
	char *argv[32] = { bin("kvmscope-guest") };
	struct proc_result r;
	json_t *report;
	int n = 1;

	for (; args[n - 1]; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	r = run(argv);
	if (r.status != 0)
		fail_msg("test guest failed (exit %d): %s", r.status, r.err);
	report = parse_json(r.out);
	proc_result_free(&r);
	return report;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Read one line (up to 10 s); returns malloc'd text without the newline. */
static char *read_line(int fd)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	/* A byte at a time (a stream's next line stays unread), in a doubling buffer. */
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			fail_msg("no answer from the daemon within 10 s");
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(fd, buf + len, 1);
		if (n <= 0)
			fail_msg("daemon closed the connection");
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return buf;
}

/* One raw request line on a fresh connection; returns the parsed response. */
static json_t *rpc_raw(const char *line)
{
	int fd = test_connect_unix(sock_path);
	char *resp;
	json_t *v;

	assert_true(fd >= 0);
	send_all(fd, line, strlen(line));
	send_str(fd, "\n");
	resp = read_line(fd);
	close(fd);
	v = parse_json(resp);
	free(resp);
	return v;
}

static json_t *rpc(const char *method, const char *params)
{
	char line[1024];
	json_t *resp, *result;

	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\",\"params\":%s}",
		 method, params ? params : "{}");
	resp = rpc_raw(line);
	result = json_incref(json_object_get(resp, "result"));
	if (!result)
		fail_msg("%s failed: %s", method, json_dumps(resp, 0));
	json_decref(resp);
	return result;
}

static char *http_get(const char *path, int *status)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port) };
	char req[256], buf[65536], *resp = NULL, *body;
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
		 path);
	send_all(fd, req, strlen(req));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		append(&resp, &len, buf, (size_t)n);
	close(fd);
	assert_non_null(resp);
	*status = atoi(resp + 9);
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	body = strdup(body + 4);
	free(resp);
	return body;
}

/* Value of the sample whose line starts with @prefix (name{labels}), or -1. */
static long long metric_value(const char *text, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');

		if (!strncmp(line, prefix, plen) && line[plen] == ' ')
			return atoll(line + plen + 1);
		line = eol ? eol + 1 : NULL;
	}
	return -1;
}

/* ---- the daemon under test ---- */

static pid_t start_daemon_collect(const char *socket, int port, const char *log, const char *retain,
				  const char *collect)
{
	char portarg[32];
	/* --collect none is the cheapest daemon: the ioctls capability off too. */
	char *args[] = { "--socket", (char *)socket, "--metrics", portarg, "--retain-exited",
			 (char *)retain, "--log-level", "debug", "--collect", (char *)collect,
			 "--ioctls", strcmp(collect, "none") ? "on" : "off", NULL };

	snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", port);
	return test_kvmscoped_start(bin("kvmscoped"), log, args);
}

static pid_t start_daemon(const char *socket, int port, const char *log, const char *retain)
{
	return start_daemon_collect(socket, port, log, retain, "all");
}

static int pick_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* 10 s, or KVMSCOPE_TEST_START_MS (a daemon under valgrind takes longer). */
static bool wait_for_socket(const char *path)
{
	const char *ms = getenv("KVMSCOPE_TEST_START_MS");
	int timeout = ms && atoi(ms) > 0 ? atoi(ms) : 10000;

	return test_kvmscoped_wait(path, -1, timeout) == 0;
}

static int group_setup(void **state)
{
	if (getenv("KVMSCOPE_BUILD"))
		build_dir = getenv("KVMSCOPE_BUILD");
	if (test_require_root_kvm("integration") < 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmscope-it.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/kvmscope.sock", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/kvmscoped.log", tmpdir);
	metrics_port = pick_free_port();
	daemon_pid = start_daemon(sock_path, metrics_port, log_path, "120");
	if (wait_for_socket(sock_path))
		return 0;
	fprintf(stderr, "integration: kvmscoped did not open %s in time; log: %s\n", sock_path,
		log_path);
	return -1;
}

static void bpf_stats_restore(void);

static int group_teardown(void **state)
{
	bpf_stats_restore();
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	if (getenv("KVMSCOPE_KEEP_LOGS")) {
		fprintf(stderr, "integration: daemon log kept at %s\n", log_path);
	} else {
		unlink(log_path);
		rmdir(tmpdir);
	}
	return 0;
}

/* ---- helpers over reports ---- */

static long long obj_int(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static json_t *find_vm(json_t *exits_result, long long pid)
{
	size_t i;
	json_t *vm;

	json_array_foreach(json_object_get(exits_result, "vms"), i, vm)
		if (obj_int(vm, "pid") == pid)
			return vm;
	fail_msg("pid %lld not in exits.get", pid);
	return NULL;
}

/* exits.get for one pid: the answer in *res (the caller frees it), its VM returned. */
static json_t *exits_of(long long pid, json_t **res)
{
	char params[48];

	snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
	*res = rpc("exits.get", params);
	return find_vm(*res, pid);
}

/* Sum of "count" over records matching (key == value) pairs, vcpu -1 = any. */
static long long sum_records(json_t *records, const char *k1, const char *v1, long long vcpu)
{
	long long sum = 0;
	size_t i;
	json_t *r;

	json_array_foreach(records, i, r) {
		const char *s = json_string_value(json_object_get(r, k1));

		if (v1 && (!s || strcmp(s, v1)))
			continue;
		if (vcpu >= 0 && obj_int(r, "vcpu") != vcpu)
			continue;
		sum += obj_int(r, "count");
	}
	return sum;
}

static long long pio_count(json_t *records, long long port, const char *dir, long long size,
			   long long vcpu)
{
	long long sum = 0;
	size_t i;
	json_t *r;

	json_array_foreach(records, i, r) {
		if (obj_int(r, "port") != port || strcmp(json_string_value(json_object_get(r, "direction")), dir))
			continue;
		if (size >= 0 && obj_int(r, "size") != size)
			continue;
		if (vcpu >= 0 && obj_int(r, "vcpu") != vcpu)
			continue;
		sum += obj_int(r, "count");
	}
	return sum;
}

static char *daemon_backend(void)
{
	json_t *st = rpc("status", NULL);
	char *b = strdup(json_string_value(json_object_get(st, "kvm_backend")));

	json_decref(st);
	return b;
}

/* ---- tests ---- */

static json_t *counts_report;	/* the guest run shared by the exact-count tests */

#define N_OUT 1234
#define N_IN 567
#define N_HLT 89

static void run_counts_guest(void)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:1234", "--in", "0x5658:567:4", "--hlt", "89",
			 "-name", "guest=itest-counts,debug-threads=on", NULL };

	if (!counts_report)
		counts_report = run_guest(args);
}

static void test_exact_counts_cli(void **state)
{
	struct proc_result r;
	json_t *res, *vm, *user, *pio, *ue;
	long long pid, io;
	char pidarg[24];
	size_t i;

	run_counts_guest();
	pid = obj_int(counts_report, "pid");
	ue = json_object_get(counts_report, "userspace_exits");
	io = obj_int(ue, "IO");
	/* The guest itself counted: N_OUT + N_IN plus one "done" OUT per vCPU. */
	assert_int_equal(io, N_OUT + N_IN + 2);
	assert_int_equal(obj_int(ue, "HLT"), N_HLT);

	snprintf(pidarg, sizeof(pidarg), "%lld", pid);
	r = ctl("--json", "exits", "--pid", pidarg, NULL, NULL);
	assert_int_equal(r.status, 0);
	res = parse_json(r.out);
	proc_result_free(&r);
	vm = find_vm(res, pid);
	assert_string_equal(json_string_value(json_object_get(vm, "name")), "itest-counts");
	assert_string_equal(json_string_value(json_object_get(vm, "comm")), "kvmscope-guest");
	user = json_object_get(vm, "userspace_exits");
	pio = json_object_get(vm, "pio");
	assert_int_equal(sum_records(user, "reason", "IO", -1), io);
	assert_int_equal(sum_records(user, "reason", "HLT", -1), N_HLT);
	assert_int_equal(sum_records(user, NULL, NULL, -1), io + N_HLT);
	assert_int_equal(pio_count(pio, 0x70, "out", 1, -1), N_OUT);
	assert_int_equal(pio_count(pio, 0x5658, "in", 4, -1), N_IN);
	assert_int_equal(pio_count(pio, 0xf4, "out", 1, -1), 2);
	assert_int_equal(sum_records(pio, NULL, NULL, -1), io);
	assert_int_equal(obj_int(json_object_get(vm, "totals"), "userspace"), io + N_HLT);

	/* Per vCPU, exactly what each guest thread did. */
	json_array_foreach(json_object_get(counts_report, "per_vcpu"), i, ue) {
		long long v = obj_int(ue, "vcpu");
		json_t *c = json_object_get(ue, "userspace_exits");

		assert_int_equal(sum_records(user, "reason", "IO", v), obj_int(c, "IO"));
		assert_int_equal(sum_records(user, "reason", "HLT", v), obj_int(c, "HLT"));
		assert_int_equal(pio_count(pio, 0x70, "out", 1, v), N_OUT / 2);
	}

	/* Hardware exits: real ones where the backend has them. */
	{
		char *backend = daemon_backend();
		json_t *hw = json_object_get(vm, "hardware_exits");

		if (!strcmp(backend, "kvm_amd")) {
			assert_int_equal(sum_records(hw, "reason", "io", -1), io);
			assert_int_equal(sum_records(hw, "reason", "hlt", -1), N_HLT);
		} else if (!strcmp(backend, "kvm_intel")) {
			assert_int_equal(sum_records(hw, "reason", "IO_INSTRUCTION", -1), io);
			assert_int_equal(sum_records(hw, "reason", "HLT", -1), N_HLT);
		} else {
			/* kvm_pvm: kvm_exit never fires (shared/reference/machines.md). */
			print_message("[   INFO   ] backend %s has no kvm_exit; hardware exits = %lld\n",
				      backend, obj_int(json_object_get(vm, "totals"), "hardware"));
		}
		free(backend);
	}
	json_decref(res);
}

static void test_exact_counts_metrics(void **state)
{
	char prefix[256], *text;
	long long pid, io;
	int status;
	size_t i;
	json_t *ue;

	run_counts_guest();
	pid = obj_int(counts_report, "pid");
	io = obj_int(json_object_get(counts_report, "userspace_exits"), "IO");
	text = http_get("/metrics", &status);
	assert_int_equal(status, 200);

	snprintf(prefix, sizeof(prefix), "kvmscope_pio_total{pid=\"%lld\",vm=\"itest-counts\",port=\"0x70\",direction=\"out\"}", pid);
	assert_int_equal(metric_value(text, prefix), N_OUT);
	snprintf(prefix, sizeof(prefix), "kvmscope_pio_total{pid=\"%lld\",vm=\"itest-counts\",port=\"0x5658\",direction=\"in\"}", pid);
	assert_int_equal(metric_value(text, prefix), N_IN);
	snprintf(prefix, sizeof(prefix), "kvmscope_pio_total{pid=\"%lld\",vm=\"itest-counts\",port=\"0xf4\",direction=\"out\"}", pid);
	assert_int_equal(metric_value(text, prefix), 2);

	json_array_foreach(json_object_get(counts_report, "per_vcpu"), i, ue) {
		json_t *c = json_object_get(ue, "userspace_exits");

		snprintf(prefix, sizeof(prefix),
			 "kvmscope_userspace_exits_total{pid=\"%lld\",vm=\"itest-counts\",vcpu=\"%lld\",reason=\"IO\"}",
			 pid, obj_int(ue, "vcpu"));
		assert_int_equal(metric_value(text, prefix), obj_int(c, "IO"));
		io -= obj_int(c, "IO");
		snprintf(prefix, sizeof(prefix),
			 "kvmscope_userspace_exits_total{pid=\"%lld\",vm=\"itest-counts\",vcpu=\"%lld\",reason=\"HLT\"}",
			 pid, obj_int(ue, "vcpu"));
		assert_int_equal(metric_value(text, prefix), obj_int(c, "HLT"));
	}
	assert_int_equal(io, 0);
	assert_int_equal(metric_value(text, "kvmscope_up"), 1);
	assert_contains(text, "# TYPE kvmscope_exits_total counter\n");
	assert_non_null(strstr(text, "kvmscope_build_info{version=\""));
	free(text);

	text = http_get("/nope", &status);
	assert_int_equal(status, 404);
	free(text);
}

/* promtool, the Prometheus project's own checker, accepts @text as an exposition. */
static void assert_promtool_accepts(const char *text)
{
	char path[160], *argv[5];
	struct proc_result r;
	int fd;

	snprintf(path, sizeof(path), "%s/metrics.txt", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	/* promtool reads the exposition on stdin; use a shell for the redirect. */
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char[300]){ 0 };
	snprintf(argv[2], 300, "command -v promtool >/dev/null || { echo 'promtool not installed (Debian package prometheus)' >&2; exit 99; }; promtool check metrics < '%s'", path);
	argv[3] = NULL;
	r = run(argv);
	if (r.status != 0)
		fail_msg("promtool check metrics failed (exit %d): %s%s", r.status, r.out, r.err);
	proc_result_free(&r);
	unlink(path);
}

static void test_metrics_pass_promtool(void **state)
{
	char *text;
	int status;

	run_counts_guest();
	text = http_get("/metrics", &status);
	assert_int_equal(status, 200);
	assert_promtool_accepts(text);
	free(text);
}

/* ---- what kvmscope's BPF programs cost (kernel.bpf_stats_enabled) ---- */

#define BPF_STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

/*
 * Two suites on one host (other worktrees, the lab's bench) must not both
 * change the sysctl at once: one would restore "0" under the other, or
 * save the other's "1" and leave it on.  The lock is held from reading
 * the old value to restoring it, and dies with the process.
 */
#define BPF_STATS_LOCK "/run/kvmscope-bpf-stats.lock"

/* The sysctl as the test found it, while the test has changed it; else -1. */
static int bpf_stats_saved = -1;
static int bpf_stats_lock_fd = -1;

/* 0 once this process holds the lock, within 60 s, else -errno. */
static int bpf_stats_lock(void)
{
	int fd = open(BPF_STATS_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 600; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			bpf_stats_lock_fd = fd;
			return 0;
		}
		if (errno != EWOULDBLOCK)
			break;
		if (i == 0)
			print_message("[   INFO   ] waiting for %s (another test changes the sysctl)\n",
				      BPF_STATS_LOCK);
		sleep_ms(100);
	}
	close(fd);
	return -ETIMEDOUT;
}

static int bpf_stats_read(void)
{
	char buf[8] = "";
	int fd = open(BPF_STATS_SYSCTL, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && (buf[0] == '0' || buf[0] == '1') ? buf[0] - '0' : -EINVAL;
}

static int bpf_stats_write(int v)
{
	int fd = open(BPF_STATS_SYSCTL, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v ? "1\n" : "0\n", 2) != 2)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Give the host its sysctl back: from the test's teardown (which cmocka
 * runs after a failure too), the group teardown and exit, whichever
 * comes first.
 */
static void bpf_stats_restore(void)
{
	int r;

	if (bpf_stats_saved >= 0) {
		r = bpf_stats_write(bpf_stats_saved);
		if (r < 0)
			fprintf(stderr, "integration: cannot restore kernel.bpf_stats_enabled=%d: %s\n",
				bpf_stats_saved, strerror(-r));
		bpf_stats_saved = -1;
	}
	if (bpf_stats_lock_fd >= 0) {
		close(bpf_stats_lock_fd);
		bpf_stats_lock_fd = -1;
	}
}

static int bpf_cost_teardown(void **state)
{
	bpf_stats_restore();
	return 0;
}

/* The exits capability's bpf_cost in status, and the tick count of that status. */
static json_t *bpf_cost_now(long long *tick)
{
	json_t *st = rpc("status", NULL), *cost;

	cost = json_object_get(json_array_get(json_object_get(st, "capabilities"), 0), "bpf_cost");
	if (!json_is_object(cost))
		fail_msg("status has no capabilities[0].bpf_cost: %.2000s", json_dumps(st, 0));
	json_incref(cost);
	if (tick)
		*tick = obj_int(json_object_get(st, "tick"), "count");
	json_decref(st);
	return cost;
}

/* bpf_cost as read by a tick that started after this call. */
static json_t *bpf_cost_next_tick(void)
{
	long long t0, t;
	json_t *cost = bpf_cost_now(&t0);

	for (int i = 0; i < 50; i++) {
		json_decref(cost);
		sleep_ms(100);
		cost = bpf_cost_now(&t);
		if (t > t0)
			return cost;
	}
	fail_msg("no tick within 5 s (status tick.count stayed %lld)", t0);
	return NULL;
}

/* The program of the probe whose name ends in @suffix ("/kvm_exit"), or NULL. */
static json_t *cost_program(json_t *cost, const char *suffix)
{
	size_t i, n = strlen(suffix);
	json_t *p;

	json_array_foreach(json_object_get(cost, "programs"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));

		if (name && strlen(name) >= n && !strcmp(name + strlen(name) - n, suffix))
			return p;
	}
	return NULL;
}

/*
 * Times the program for @suffix was called between two readings, run or
 * skipped by the kernel (skipped_runs: it was already running on that
 * CPU), or -1 when it is not attached.
 */
static long long runs_between(json_t *before, json_t *after, const char *suffix)
{
	json_t *p0 = cost_program(before, suffix), *p1 = cost_program(after, suffix);

	if (!p0 || !p1)
		return -1;
	if (!json_is_integer(json_object_get(p0, "runs")) || !json_is_integer(json_object_get(p1, "runs")))
		fail_msg("%s: runs not counted with kernel.bpf_stats_enabled=1: %s / %s", suffix,
			 json_dumps(p0, 0), json_dumps(p1, 0));
	/* The program's time grew with its runs, and its average is a number. */
	if (obj_int(p1, "runs") > obj_int(p0, "runs")) {
		assert_true(obj_int(p1, "run_time_ns") > obj_int(p0, "run_time_ns"));
		assert_true(json_number_value(json_object_get(p1, "ns_per_run")) > 0);
	}
	return obj_int(p1, "runs") - obj_int(p0, "runs") +
	       obj_int(p1, "skipped_runs") - obj_int(p0, "skipped_runs");
}

static void assert_at_least(const char *what, long long got, long long want)
{
	if (got < want)
		fail_msg("%s: %lld runs, fewer than the %lld the guest made", what, got, want);
	print_message("[   INFO   ] %s: %lld runs for the guest's %lld\n", what, got, want);
}

/* Value of the sample whose line starts with @prefix, as a double; -1 if none. */
static double metric_double(const char *text, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');

		if (!strncmp(line, prefix, plen) && line[plen] == ' ')
			return strtod(line + plen + 1, NULL);
		line = eol ? eol + 1 : NULL;
	}
	return -1;
}

/*
 * Did any VM but @pid make an exit after @t0 (a Unix time): running, or
 * exited since?  Then the host-wide run counts are not the guest's alone.
 */
static bool other_vm_since(long long pid, double t0)
{
	json_t *res = rpc("vms.list", NULL), *vm;
	bool other = false;
	size_t i;

	json_array_foreach(json_object_get(res, "vms"), i, vm) {
		if (obj_int(vm, "pid") == pid)
			continue;
		if (strcmp(json_string_value(json_object_get(vm, "state")), "exited") ||
		    json_number_value(json_object_get(vm, "exited_at")) >= t0) {
			print_message("[   INFO   ] VM pid %lld (%s) ran beside the test guest\n",
				      obj_int(vm, "pid"), json_string_value(json_object_get(vm, "comm")));
			other = true;
		}
	}
	json_decref(res);
	return other;
}

/*
 * The BPF run time of every attached program, in status and /metrics:
 * unknown (null, no samples) with kernel.bpf_stats_enabled off; with it on
 * (the test turns it on, and back as it was), each program that fires for
 * a guest's exits ran at least once per exit, and kvm_userspace_exit, which
 * fires once per KVM_RUN, exactly as often as the guest called it when no
 * other VM ran meanwhile.
 */
static void test_bpf_run_time_per_program(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:3000", "--in", "0x71:500:2", "--hlt", "40",
			 "--immediate-exit", "10", "-name", "itest-bpfcost", NULL };
	json_t *before, *after, *report, *st, *probe, *v, *p;
	char *backend = daemon_backend(), *text, prefix[160];
	struct proc_result cli;
	bool hw = !strcmp(backend, "kvm_amd") || !strcmp(backend, "kvm_intel");
	long long pid, io = 0, runs_of_kvm = 0, user_runs;
	const char *key, *user_name;
	struct timespec now;
	size_t i, attached = 0;
	double t0;
	int status, r;

	if (test_driver_is("kmod"))
		skip_msg("--driver kmod: kvm_exit, kvm_entry, kvm_userspace_exit and kvm_pio run no "
			 "BPF program whose run time could be measured (the BPF run of this suite does)");
	r = bpf_stats_lock();
	if (r < 0)
		fail_msg("cannot lock %s: %s", BPF_STATS_LOCK, strerror(-r));
	atexit(bpf_stats_restore);
	r = bpf_stats_read();
	if (r < 0)
		fail_msg("cannot read %s: %s (BPF run time needs Linux 5.1)", BPF_STATS_SYSCTL, strerror(-r));
	if (r == 0) {
		/* Off: unknown, never zero, and how to turn it on. */
		before = bpf_cost_next_tick();
		assert_true(json_is_false(json_object_get(before, "bpf_stats_enabled")));
		assert_contains(json_string_value(json_object_get(before, "how")),
				"`sysctl kernel.bpf_stats_enabled=1`");
		assert_true(json_is_null(json_object_get(before, "exits")));
		assert_true(json_is_null(json_object_get(before, "ns_per_exit")));
		assert_true(json_array_size(json_object_get(before, "programs")) > 0);
		json_array_foreach(json_object_get(before, "programs"), i, p) {
			assert_true(json_is_integer(json_object_get(p, "id")));
			assert_true(json_is_null(json_object_get(p, "runs")));
			assert_true(json_is_null(json_object_get(p, "run_time_ns")));
			assert_true(json_is_null(json_object_get(p, "ns_per_run")));
		}
		json_decref(before);
		text = http_get("/metrics", &status);
		assert_int_equal(status, 200);
		assert_int_equal(metric_value(text, "kvmscope_bpf_stats_enabled"), 0);
		assert_contains(text, "# TYPE kvmscope_bpf_runs_total counter\n");
		assert_contains(text, "# TYPE kvmscope_bpf_run_seconds_total counter\n");
		if (strstr(text, "kvmscope_bpf_runs_total{") || strstr(text, "kvmscope_bpf_run_seconds_total{"))
			fail_msg("BPF run samples with kernel.bpf_stats_enabled=0: %.3000s", text);
		free(text);
		cli = ctl("status", NULL, NULL, NULL, NULL, NULL);
		assert_int_equal(cli.status, 0);
		assert_contains(cli.out, "BPF run time: unknown, kernel.bpf_stats_enabled is 0");
		proc_result_free(&cli);
	} else {
		print_message("[   INFO   ] kernel.bpf_stats_enabled was already 1: the off case is not checked\n");
	}

	bpf_stats_saved = r;
	r = bpf_stats_write(1);
	if (r < 0)
		fail_msg("cannot set kernel.bpf_stats_enabled=1: %s", strerror(-r));
	before = bpf_cost_next_tick();
	assert_true(json_is_true(json_object_get(before, "bpf_stats_enabled")));
	assert_contains(json_string_value(json_object_get(before, "how")),
			"`sysctl kernel.bpf_stats_enabled=0`");
	json_decref(before);

	/* The baseline from a tick after t0: a VM gone before t0 ran no program since. */
	clock_gettime(CLOCK_REALTIME, &now);
	t0 = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	before = bpf_cost_next_tick();
	report = run_guest(args);
	pid = obj_int(report, "pid");
	after = bpf_cost_next_tick();
	assert_true(json_is_true(json_object_get(after, "bpf_stats_enabled")));

	/* Every attached probe's program, and only those, with its id. */
	st = rpc("status", NULL);
	json_array_foreach(json_object_get(json_array_get(json_object_get(st, "capabilities"), 0), "probes"),
			   i, probe) {
		const char *name = json_string_value(json_object_get(probe, "name"));

		if (!json_is_true(json_object_get(probe, "attached")))
			continue;
		attached++;
		/* Where the kernel may skip runs, the program's backup is tracked too. */
		if (json_is_true(json_object_get(probe, "backup"))) {
			char backup[96];

			snprintf(backup, sizeof(backup), "%s#backup", name);
			if (!cost_program(after, backup))
				fail_msg("probe %s has a backup but no %s in bpf_cost", name, backup);
			attached++;
		}
		p = cost_program(after, name);
		if (!p || strcmp(json_string_value(json_object_get(p, "name")), name))
			fail_msg("attached probe %s has no program in bpf_cost: %s", name, json_dumps(after, 0));
		assert_true(json_is_integer(json_object_get(p, "id")));
		assert_true(json_is_null(json_object_get(p, "error")));
	}
	json_decref(st);
	assert_int_equal(json_array_size(json_object_get(after, "programs")), attached);

	/* What the guest made: every KVM_RUN returns through kvm_userspace_exit. */
	json_object_foreach(json_object_get(report, "userspace_exits"), key, v)
		runs_of_kvm += json_integer_value(v);
	io = obj_int(json_object_get(report, "userspace_exits"), "IO");
	assert_int_equal(io, 3000 + 500 + 2);
	assert_int_equal(obj_int(report, "immediate_exits"), 10);
	runs_of_kvm += obj_int(report, "immediate_exits");

	user_runs = runs_between(before, after, "/kvm_userspace_exit");
	assert_at_least("kvm_userspace_exit", user_runs, runs_of_kvm);
	if (cost_program(after, "/kvm_pio"))
		assert_at_least("kvm_pio", runs_between(before, after, "/kvm_pio"), io);
	/* Each KVM_RUN is an ioctl; the hook sees every other ioctl on the host too. */
	if (cost_program(after, "/sys_enter_ioctl"))
		assert_at_least("sys_enter_ioctl", runs_between(before, after, "/sys_enter_ioctl"),
				runs_of_kvm);
	if (hw) {
		/* Each exit to the VMM was a hardware exit first (kvm_pvm has none). */
		assert_at_least("kvm_exit", runs_between(before, after, "/kvm_exit"), runs_of_kvm - 10);
		assert_at_least("kvm_entry", runs_between(before, after, "/kvm_entry"), runs_of_kvm - 10);
	}

	/* The whole set per exit: exits are the runs of the program that counts them. */
	user_name = json_string_value(json_object_get(cost_program(after, "/kvm_userspace_exit"), "name"));
	if (hw)
		assert_contains(json_string_value(json_object_get(after, "exits_from")), "/kvm_exit");
	else
		assert_string_equal(json_string_value(json_object_get(after, "exits_from")), user_name);
	assert_at_least("exits", obj_int(after, "exits") - obj_int(before, "exits"),
			hw ? runs_of_kvm - 10 : runs_of_kvm);
	assert_true(obj_int(after, "run_time_ns") > obj_int(before, "run_time_ns"));
	assert_true(json_number_value(json_object_get(after, "ns_per_exit")) > 0);
	assert_true(json_is_number(json_object_get(cost_program(after, "/kvm_userspace_exit"), "ns_per_exit")));

	/* Exact where nothing else can have fired it: no other VM ran since t0. */
	if (!other_vm_since(pid, t0))
		assert_int_equal(user_runs, runs_of_kvm);
	else
		print_message("[   INFO   ] another VM ran: kvm_userspace_exit's runs checked as >= only\n");

	/* /metrics: the same counters, at least as far as that tick. */
	text = http_get("/metrics", &status);
	assert_int_equal(status, 200);
	assert_int_equal(metric_value(text, "kvmscope_bpf_stats_enabled"), 1);
	snprintf(prefix, sizeof(prefix), "kvmscope_bpf_runs_total{program=\"%s\"}", user_name);
	assert_true(metric_value(text, prefix) >= obj_int(cost_program(after, "/kvm_userspace_exit"), "runs"));
	snprintf(prefix, sizeof(prefix), "kvmscope_bpf_run_seconds_total{program=\"%s\"}", user_name);
	assert_true(metric_double(text, prefix) * 1e9 >=
		    (double)obj_int(cost_program(after, "/kvm_userspace_exit"), "run_time_ns") - 1);
	assert_true(metric_double(text, prefix) > 0);
	assert_promtool_accepts(text);
	free(text);
	cli = ctl("status", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(cli.status, 0);
	assert_contains(cli.out, " ns per exit over ");
	proc_result_free(&cli);

	json_decref(before);
	json_decref(after);
	json_decref(report);
	free(backend);
}

/* The entry of a detail table ("mmio", "cpuid", ...) whose @key is @value. */
static long long detail_count(json_t *vm, const char *table, const char *key, const char *value,
			      const char *access)
{
	json_t *entries = json_object_get(json_object_get(vm, table), "entries"), *e;
	long long sum = 0;
	size_t i;

	json_array_foreach(entries, i, e) {
		const char *v = json_string_value(json_object_get(e, key));
		const char *a = json_string_value(json_object_get(e, "access"));

		if (v && !strcmp(v, value) && (!access || (a && !strcmp(a, access))))
			sum += obj_int(e, "count");
	}
	return sum;
}

static json_t *by_reason(json_t *vm, const char *list, const char *reason)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(vm, list), i, r)
		if (!strcmp(json_string_value(json_object_get(r, "reason")), reason))
			return r;
	fail_msg("no %s entry for reason %s", list, reason);
	return NULL;
}

/* Histogram total from the [le, count] pairs: must equal "count". */
static long long hist_total(json_t *lat)
{
	json_t *pair;
	long long sum = 0;
	size_t i;

	json_array_foreach(json_object_get(lat, "hist"), i, pair)
		sum += json_integer_value(json_array_get(pair, 1));
	return sum;
}

/*
 * Every exit is either measured or unfinished: an IO exit after which the
 * vCPU stopped (the done OUT) never gets its next entry.
 */
static void assert_latency_accounts_for(json_t *lat, long long count, long long unfinished,
					const char *what)
{
	if (!json_is_object(lat))
		fail_msg("%s: no latency object", what);
	if (obj_int(lat, "count") + obj_int(lat, "unfinished") != count)
		fail_msg("%s: measured %lld + unfinished %lld != %lld exits", what,
			 obj_int(lat, "count"), obj_int(lat, "unfinished"), count);
	if (unfinished >= 0 && obj_int(lat, "unfinished") != unfinished)
		fail_msg("%s: unfinished %lld, expected %lld", what, obj_int(lat, "unfinished"),
			 unfinished);
	if (hist_total(lat) != obj_int(lat, "count"))
		fail_msg("%s: histogram total %lld != count %lld", what, hist_total(lat),
			 obj_int(lat, "count"));
	if (obj_int(lat, "count") && (obj_int(lat, "max_ns") <= 0 ||
				      obj_int(lat, "p50_ns") > obj_int(lat, "p99_ns") ||
				      obj_int(lat, "p99_ns") > obj_int(lat, "max_ns")))
		fail_msg("%s: p50 %lld, p99 %lld, max %lld out of order", what,
			 obj_int(lat, "p50_ns"), obj_int(lat, "p99_ns"), obj_int(lat, "max_ns"));
}

static void test_latency_accounts_for_every_exit(void **state)
{
	json_t *res, *vm, *ue;
	long long pid, io;
	char *backend;

	run_counts_guest();
	pid = obj_int(counts_report, "pid");
	io = obj_int(json_object_get(counts_report, "userspace_exits"), "IO");
	vm = exits_of(pid, &res);

	/* Time in the VMM: every backend.  Each vCPU stopped at its done OUT. */
	ue = by_reason(vm, "userspace_by_reason", "IO");
	assert_int_equal(obj_int(ue, "count"), io);
	assert_latency_accounts_for(json_object_get(ue, "vmm_time"), io, 2, "vmm_time IO");
	ue = by_reason(vm, "userspace_by_reason", "HLT");
	assert_latency_accounts_for(json_object_get(ue, "vmm_time"), N_HLT, 0, "vmm_time HLT");
	print_message("[   INFO   ] VMM time IO: p50 %lld ns, p99 %lld ns, max %lld ns\n",
		      obj_int(json_object_get(by_reason(vm, "userspace_by_reason", "IO"), "vmm_time"), "p50_ns"),
		      obj_int(json_object_get(by_reason(vm, "userspace_by_reason", "IO"), "vmm_time"), "p99_ns"),
		      obj_int(json_object_get(by_reason(vm, "userspace_by_reason", "IO"), "vmm_time"), "max_ns"));

	/* Handling time of hardware exits: where kvm_exit and kvm_entry fire. */
	backend = daemon_backend();
	if (!strcmp(backend, "kvm_amd")) {
		json_t *hw_io = by_reason(vm, "hardware_by_reason", "io");
		json_t *hw_hlt = by_reason(vm, "hardware_by_reason", "hlt");
		json_t *r;
		size_t i;

		assert_int_equal(obj_int(hw_io, "count"), io);
		assert_int_equal(obj_int(hw_hlt, "count"), N_HLT);
		assert_latency_accounts_for(json_object_get(hw_io, "latency"), io, 2, "svm io");
		assert_latency_accounts_for(json_object_get(hw_hlt, "latency"), N_HLT, 0, "svm hlt");
		/* Every reason, on every vCPU: histogram total + unfinished = count. */
		json_array_foreach(json_object_get(vm, "hardware_exits"), i, r)
			assert_latency_accounts_for(json_object_get(r, "latency"), obj_int(r, "count"),
						    -1, json_string_value(json_object_get(r, "reason")));
		print_message("[   INFO   ] SVM io handling: p50 %lld ns, p99 %lld ns, max %lld ns\n",
			      obj_int(json_object_get(hw_io, "latency"), "p50_ns"),
			      obj_int(json_object_get(hw_io, "latency"), "p99_ns"),
			      obj_int(json_object_get(hw_io, "latency"), "max_ns"));
	} else {
		print_message("[   INFO   ] backend %s: no kvm_exit/kvm_entry, hardware latency not measured\n",
			      backend);
	}
	free(backend);
	json_decref(res);
}

/*
 * KVM_RUN with immediate_exit set (how QEMU kicks a vCPU) fails with EINTR
 * and fires kvm_userspace_exit with the stale reason of the exit before.
 * Each is one "restart", on its vCPU, never another IO or HLT; and the
 * exits before the kicks are still timed once each.  The guest kicks after
 * every exit but its done OUT: after OUTs, HLTs and INs alike.
 */
static void test_kvm_run_errors_are_restarts(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:20", "--hlt", "6", "--in", "0x71:10", "--hlt",
			 "4", "--immediate-exit", "40", "-name", "itest-restart", NULL };
	json_t *report, *res, *vm, *user, *rec;
	long long pid, io, hlt, kicks;
	char prefix[256], *text, *backend;
	int status;
	size_t i;

	report = run_guest(args);
	pid = obj_int(report, "pid");
	io = obj_int(json_object_get(report, "userspace_exits"), "IO");
	hlt = obj_int(json_object_get(report, "userspace_exits"), "HLT");
	kicks = obj_int(report, "immediate_exits");
	/* Per vCPU 10 OUTs, 3 + 2 HLTs, 5 INs, the done OUT: 21 exits, 20 kicks. */
	assert_int_equal(io, 20 + 10 + 2);
	assert_int_equal(hlt, 10);
	assert_int_equal(kicks, 40);

	vm = exits_of(pid, &res);
	user = json_object_get(vm, "userspace_exits");
	assert_int_equal(sum_records(user, "reason", "IO", -1), io);
	assert_int_equal(sum_records(user, "reason", "HLT", -1), hlt);
	assert_int_equal(sum_records(user, "reason", "restart", -1), kicks);
	assert_int_equal(sum_records(user, NULL, NULL, -1), io + hlt + kicks);
	json_array_foreach(json_object_get(report, "per_vcpu"), i, rec) {
		long long v = obj_int(rec, "vcpu");
		json_t *c = json_object_get(rec, "userspace_exits");

		assert_int_equal(sum_records(user, "reason", "IO", v), obj_int(c, "IO"));
		assert_int_equal(sum_records(user, "reason", "HLT", v), obj_int(c, "HLT"));
		assert_int_equal(sum_records(user, "reason", "restart", v), obj_int(rec, "immediate_exits"));
	}
	/* Every real exit timed or unfinished once; a restart is not timed. */
	assert_latency_accounts_for(json_object_get(by_reason(vm, "userspace_by_reason", "IO"), "vmm_time"),
				    io, 2, "vmm_time IO");
	assert_latency_accounts_for(json_object_get(by_reason(vm, "userspace_by_reason", "HLT"), "vmm_time"),
				    hlt, 0, "vmm_time HLT");
	assert_int_equal(obj_int(json_object_get(by_reason(vm, "userspace_by_reason", "restart"),
						 "vmm_time"), "count"), 0);

	/* A kick never enters the guest: the hardware exits are the guest's alone. */
	backend = daemon_backend();
	if (!strcmp(backend, "kvm_amd")) {
		assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "io", -1), io);
		assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "hlt", -1), hlt);
	} else if (!strcmp(backend, "kvm_intel")) {
		assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "IO_INSTRUCTION",
					     -1), io);
		assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "HLT", -1), hlt);
	}
	free(backend);

	/* The same row in /metrics, by vCPU. */
	text = http_get("/metrics", &status);
	assert_int_equal(status, 200);
	json_array_foreach(json_object_get(report, "per_vcpu"), i, rec) {
		snprintf(prefix, sizeof(prefix),
			 "kvmscope_userspace_exits_total{pid=\"%lld\",vm=\"itest-restart\",vcpu=\"%lld\",reason=\"restart\"}",
			 pid, obj_int(rec, "vcpu"));
		assert_int_equal(metric_value(text, prefix), obj_int(rec, "immediate_exits"));
	}
	free(text);
	json_decref(res);
	json_decref(report);
}

/* ---- ioctls ---- */

/* The errno name of a guest's result (0 or -errno), as the daemon writes it. */
static const char *result_name(long long result)
{
	const char *n;

	if (!result)
		return "ok";
	n = strerrorname_np((int)-result);
	return n ? n : "?";
}

/* Sum of the daemon's ioctl records matching (request, fd kind, vCPU or -1, result). */
static long long ioctl_count(json_t *vm, long long cmd, const char *fd, long long vcpu,
			     const char *result)
{
	char req[24];
	long long sum = 0;
	size_t i;
	json_t *r;

	snprintf(req, sizeof(req), "0x%llx", cmd);
	json_array_foreach(json_object_get(vm, "ioctls"), i, r) {
		if (strcmp(json_string_value(json_object_get(r, "request")), req) ||
		    strcmp(json_string_value(json_object_get(r, "fd")), fd) ||
		    strcmp(json_string_value(json_object_get(r, "result")), result))
			continue;
		if (vcpu >= 0 && obj_int(r, "vcpu") != vcpu)
			continue;
		sum += obj_int(r, "count");
	}
	return sum;
}

/* The record of one decoded sub-command, or NULL. */
static json_t *ioctl_with_cmd(json_t *vm, const char *ioctl, const char *cmd, const char *result)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(vm, "ioctls"), i, r)
		if (!strcmp(json_string_value(json_object_get(r, "ioctl")), ioctl) &&
		    json_is_string(json_object_get(r, "cmd")) &&
		    !strcmp(json_string_value(json_object_get(r, "cmd")), cmd) &&
		    !strcmp(json_string_value(json_object_get(r, "result")), result))
			return r;
	return NULL;
}

/*
 * Every ioctl the guest made on its KVM files, as the guest counted them
 * itself, is in ioctls.get with the same count and result, and nothing
 * else is; the SEV sub-commands, the machine type and the capability are
 * decoded; the launch timeline ends failed at the last SEV call.
 */
static void test_ioctls_match_the_guest(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:5", "--hlt", "3", "--encrypt-op", "2:3",
			 "--encrypt-op", "7:1", "--try-vm-type", "2:1", "--check-cap", "235:2",
			 "--bad-ioctl", "0xc008aeff:2", "-name", "ioctl-test", NULL };
	json_t *report = run_guest(args), *res, *vm, *entry = NULL, *rec, *steps;
	long long pid = obj_int(report, "pid"), total = 0;
	char params[48], needle[160], *text;
	struct proc_result out;
	size_t i;
	int status;

	assert_int_equal(obj_int(report, "ioctls_untallied"), 0);
	/* fentry on KVM's functions wherever the kernel lets fentry attach, else the syscall. */
	res = rpc("status", NULL);
	json_array_foreach(json_object_get(res, "capabilities"), i, entry)
		if (!strcmp(json_string_value(json_object_get(entry, "name")), "ioctls"))
			break;
	assert_true(i < json_array_size(json_object_get(res, "capabilities")));
	{
		bool fentry = json_is_true(json_object_get(json_object_get(json_object_get(res,
				"program_types"), "fentry"), "attached"));
		const char *hooks = json_string_value(json_object_get(entry, "hooks"));

		const char *note = json_string_value(json_object_get(entry, "hooks_note"));

		print_message("[   INFO   ] ioctls counted through %s%s%s\n", hooks, note ? ": " : "",
			      note ? note : "");
		bool kprobe = json_is_true(json_object_get(json_object_get(json_object_get(res,
				"program_types"), "kprobe"), "attached"));

		/*
		 * fentry wherever it attaches, unless its self-test saw a hook that
		 * never ran; kprobe.multi instead on a kernel that preempts anywhere.
		 */
		if (fentry && note && strstr(note, "attached but never ran (self-test)"))
			fentry = false;
		struct utsname u;
		int major = 0, minor = 0;

		if (uname(&u) == 0)
			sscanf(u.release, "%d.%d", &major, &minor);
		/* kretprobe.multi keeps returns on each thread's stack from 6.15. */
		if (kprobe && json_is_true(json_object_get(entry, "kernel_preempts")) &&
		    (major > 6 || (major == 6 && minor >= 15)) &&
		    !(note && strstr(note, "attached but never ran (self-test)")))
			assert_string_equal(hooks, "kprobe_multi");
		else
			assert_string_equal(hooks, fentry ? "fentry" : "syscall_tracepoints");
	}
	json_decref(res);
	entry = NULL;
	snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
	res = rpc("ioctls.get", params);
	vm = find_vm(res, pid);
	json_array_foreach(json_object_get(report, "ioctls"), i, entry) {
		long long want = obj_int(entry, "count");
		long long got = ioctl_count(vm, obj_int(entry, "cmd"),
					    json_string_value(json_object_get(entry, "fd")),
					    json_object_get(entry, "vcpu") ? obj_int(entry, "vcpu") : -1,
					    result_name(obj_int(entry, "result")));

		if (got != want)
			fail_msg("ioctl 0x%llx on %s (vcpu %lld) %s: guest made %lld, daemon counted %lld",
				 obj_int(entry, "cmd"), json_string_value(json_object_get(entry, "fd")),
				 json_object_get(entry, "vcpu") ? obj_int(entry, "vcpu") : -1,
				 result_name(obj_int(entry, "result")), want, got);
		total += want;
	}
	print_message("%lld ioctls in %zu kinds, all counted\n", total,
		      json_array_size(json_object_get(report, "ioctls")));
	assert_int_equal(obj_int(json_object_get(vm, "totals"), "calls"), total);

	/* Decoded: the SEV sub-commands by name, with the result the guest saw. */
	json_array_foreach(json_object_get(report, "encrypt_ops"), i, entry) {
		const char *name = obj_int(entry, "id") == 2 ? "KVM_SEV_LAUNCH_START" :
				   "KVM_SEV_LAUNCH_FINISH";

		rec = ioctl_with_cmd(vm, "KVM_MEMORY_ENCRYPT_OP", name,
				     result_name(obj_int(entry, "result")));
		if (!rec)
			fail_msg("no KVM_MEMORY_ENCRYPT_OP %s record", name);
		assert_int_equal(obj_int(rec, "count"), obj_int(entry, "count"));
		assert_int_equal(obj_int(rec, "fw_error"), obj_int(entry, "error"));
	}
	rec = ioctl_with_cmd(vm, "KVM_CREATE_VM", "KVM_X86_SEV_VM", "EINVAL");
	assert_non_null(rec);
	assert_int_equal(obj_int(rec, "count"), 1);
	assert_non_null(ioctl_with_cmd(vm, "KVM_CREATE_VM", "KVM_X86_DEFAULT_VM", "ok"));
	rec = ioctl_with_cmd(vm, "KVM_CHECK_EXTENSION", "KVM_CAP_VM_TYPES", "ok");
	assert_non_null(rec);
	assert_int_equal(obj_int(rec, "count"), 2);
	assert_string_equal(json_string_value(json_object_get(vm, "protection")), "none");
	json_decref(res);

	/* The launch: the failed SEV calls are its steps, the last one names the failure. */
	res = rpc("launch.get", params);
	vm = find_vm(res, pid);
	assert_string_equal(json_string_value(json_object_get(vm, "launch_state")), "failed");
	assert_string_equal(json_string_value(json_object_get(vm, "failed_step")),
			    "KVM_SEV_LAUNCH_FINISH");
	steps = json_object_get(vm, "steps");
	assert_true(json_array_size(steps) >= 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "step")),
			    "KVM_CREATE_VM");
	json_array_foreach(steps, i, entry)
		if (!strcmp(json_string_value(json_object_get(entry, "step")), "KVM_SEV_LAUNCH_START"))
			break;
	assert_true(i < json_array_size(steps));
	assert_int_equal(obj_int(entry, "count"), 3);
	json_decref(res);

	/* The same in /metrics and in the CLI. */
	text = http_get("/metrics", &status);
	assert_int_equal(status, 200);
	snprintf(needle, sizeof(needle),
		 "kvmscope_ioctls_total{pid=\"%lld\",vm=\"ioctl-test\",ioctl=\"KVM_MEMORY_ENCRYPT_OP\","
		 "cmd=\"KVM_SEV_LAUNCH_START\",result=\"ENOTTY\"} 3\n", pid);
	if (!strstr(text, needle))
		fail_msg("not in /metrics: %s", needle);
	snprintf(needle, sizeof(needle),
		 "kvmscope_vm_protection_info{pid=\"%lld\",vm=\"ioctl-test\",type=\"none\",state=\"failed\"} 1\n",
		 pid);
	if (!strstr(text, needle))
		fail_msg("not in /metrics: %s", needle);
	free(text);
	snprintf(params, sizeof(params), "%lld", pid);
	out = ctl("ioctls", "--pid", params, NULL, NULL, NULL);
	assert_int_equal(out.status, 0);
	if (!strstr(out.out, "KVM_SEV_LAUNCH_START") || !strstr(out.out, "ENOTTY"))
		fail_msg("kvmscopectl ioctls: %s", out.out);
	proc_result_free(&out);
	out = ctl("launch", "--pid", params, NULL, NULL, NULL);
	assert_int_equal(out.status, 0);
	if (!strstr(out.out, "state failed (at KVM_SEV_LAUNCH_FINISH)"))
		fail_msg("kvmscopectl launch: %s", out.out);
	proc_result_free(&out);
	out = ctl("launch", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(out.status, 2);
	proc_result_free(&out);
	json_decref(report);
}

/* Add @count to the per-CPU detail key (@pid, @kind, @id) of map @fd, as the BPF program does. */
static void detail_add(int fd, uint32_t pid, uint8_t kind, uint64_t id, uint64_t count)
{
	struct kvmscope_detail_key key = { .tgid = pid, .kind = kind, .id = id };
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *v = calloc((size_t)ncpus, sizeof(*v));

	assert_non_null(v);
	v[0] = count;
	assert_int_equal(bpf_map_update_elem(fd, &key, v, BPF_ANY), 0);
	free(v);
}

/*
 * SEV-ES/SNP VMGEXITs by GHCB exit code and MSR-protocol request.  No
 * SEV-ES guest can run here or in the lab, so the counts are SYNTHETIC:
 * written into the daemon's own (pinned) detail map as the programs on
 * kvm_vmgexit_enter and kvm_vmgexit_msr_protocol_enter count them, for a
 * sleeping process.  They must come out by name in exits.get, /metrics
 * and kvmscopectl exits --detail; and the two programs must be attached
 * wherever their tracepoints exist.
 */
static void test_vmgexit_synthetic(void **state)
{
	json_t *status = rpc("status", NULL), *cap, *probe, *res, *vm, *e;
	const char *dir;
	char path[512], pidtxt[24], needle[256], *text;
	struct proc_result out;
	int fd, http_status;
	long long got = -1;
	pid_t child;
	size_t i;

	cap = json_array_get(json_object_get(status, "capabilities"), 0);
	json_array_foreach(json_object_get(cap, "probes"), i, probe) {
		const char *name = json_string_value(json_object_get(probe, "name"));

		if (strstr(name, "kvm_vmgexit") && json_is_true(json_object_get(probe, "available")))
			assert_true(json_is_true(json_object_get(probe, "attached")));
	}
	dir = json_string_value(json_object_get(json_object_get(cap, "pinning"), "dir"));
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/detail", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail_msg("cannot open the daemon's pinned detail map %s: %s", path, strerror(errno));
	json_decref(status);

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "sev-es-fixture");
		pause();
		_exit(0);
	}
	/* MMIO read x5, IOIO (an SVM code in the GHCB) x3, an unknown code x2; CPUID by MSR x9. */
	detail_add(fd, (uint32_t)child, KVMSCOPE_DETAIL_VMGEXIT, 0x80000001, 5);
	detail_add(fd, (uint32_t)child, KVMSCOPE_DETAIL_VMGEXIT, 0x7b, 3);
	detail_add(fd, (uint32_t)child, KVMSCOPE_DETAIL_VMGEXIT, 0x8000abcd, 2);
	detail_add(fd, (uint32_t)child, KVMSCOPE_DETAIL_GHCB_MSR, 0x004, 9);
	/* Read on the daemon's next tick. */
	for (int tries = 0; tries < 40 && got != 5; tries++) {
		usleep(100 * 1000);
		res = rpc("exits.get", NULL);
		json_array_foreach(json_object_get(res, "vms"), i, vm)
			if (obj_int(vm, "pid") == child)
				got = detail_count(vm, "vmgexit", "name", "vmgexit_mmio_read", NULL);
		json_decref(res);
	}
	if (got != 5)
		fail_msg("the synthetic VM %d's VMGEXITs never showed in exits.get", (int)child);
	vm = exits_of(child, &res);
	assert_int_equal(detail_count(vm, "vmgexit", "name", "vmgexit_mmio_read", NULL), 5);
	assert_int_equal(detail_count(vm, "vmgexit", "name", "io", NULL), 3);
	assert_int_equal(detail_count(vm, "vmgexit", "exit_code", "0x8000abcd", NULL), 2);
	assert_int_equal(detail_count(vm, "ghcb_msr", "name", "CPUID_REQ", NULL), 9);
	json_array_foreach(json_object_get(json_object_get(vm, "ghcb_msr"), "entries"), i, e)
		assert_string_equal(json_string_value(json_object_get(e, "request")), "0x004");
	json_decref(res);

	text = http_get("/metrics", &http_status);
	assert_int_equal(http_status, 200);
	snprintf(needle, sizeof(needle),
		 "kvmscope_vmgexit_total{pid=\"%d\",vm=\"sev-es-fixture\",exit_code=\"0x80000001\","
		 "name=\"vmgexit_mmio_read\"} 5\n", (int)child);
	if (!strstr(text, needle))
		fail_msg("not in /metrics: %s", needle);
	snprintf(needle, sizeof(needle),
		 "kvmscope_ghcb_msr_total{pid=\"%d\",vm=\"sev-es-fixture\",request=\"0x004\","
		 "name=\"CPUID_REQ\"} 9\n", (int)child);
	if (!strstr(text, needle))
		fail_msg("not in /metrics: %s", needle);
	free(text);
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)child);
	out = ctl("exits", "--pid", pidtxt, "--detail", NULL, NULL);
	assert_int_equal(out.status, 0);
	if (!strstr(out.out, "SEV-ES/SNP VMGEXIT") || !strstr(out.out, "vmgexit_mmio_read") ||
	    !strstr(out.out, "CPUID_REQ"))
		fail_msg("kvmscopectl exits --detail: %s", out.out);
	proc_result_free(&out);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(fd);
}

static void test_detail_counts(void **state)
{
	char *args[] = { "--vcpus", "2", "--in", "0x5658:4:4", "--cpuid", "0x1:33",
			 "--cpuid", "0x80000001:7", "--rdmsr", "0x1b:11", "--mmio-write", "0x80000:30",
			 "--mmio-read", "0x81000:20", "--vmware-backdoor", "10:7",
			 "--vmware-backdoor", "20:3", NULL };
	json_t *report = run_guest(args), *res, *vm, *bd;
	long long pid = obj_int(report, "pid");

	vm = exits_of(pid, &res);
	assert_int_equal(detail_count(vm, "cpuid", "leaf", "0x1", NULL), 33);
	assert_int_equal(detail_count(vm, "cpuid", "leaf", "0x80000001", NULL), 7);
	assert_int_equal(detail_count(vm, "msr", "index", "0x1b", "read"), 11);
	assert_int_equal(detail_count(vm, "mmio", "gpa", "0x80000", "write"), 30);
	assert_int_equal(detail_count(vm, "mmio", "gpa", "0x81000", "read"), 20);
	assert_int_equal(detail_count(vm, "mmio", "gpa", "0x81000", "read_to_vmm"), 20);
	bd = json_object_get(vm, "vmware_backdoor");
	assert_int_equal(detail_count(vm, "vmware_backdoor", "name", "GETVERSION", NULL), 7);
	assert_int_equal(detail_count(vm, "vmware_backdoor", "name", "GETMEMSIZE", NULL), 3);
	/* The plain INs from 0x5658 ran first, before EAX ever held the magic. */
	assert_int_equal(obj_int(bd, "no_magic"), 4);
	assert_int_equal(obj_int(bd, "other"), 0);
	json_decref(res);
	json_decref(report);
}

/*
 * The backdoor from CPL 3, where the TSS I/O bitmap forbids the port: each
 * IN takes a #GP that KVM completes only with kvm.enable_vmware_backdoor=1
 * (the lab loads kvm so).  Counted the same, by command.
 */
static void test_vmware_backdoor_through_gp(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:4", "--vmware-backdoor-gp", "10:5",
			 "--vmware-backdoor-gp", "20:3", NULL };
	char enabled[8] = "", *backend = daemon_backend();
	json_t *report, *res, *vm, *bd;
	long long pid;
	FILE *f = fopen("/sys/module/kvm/parameters/enable_vmware_backdoor", "r");

	if (f) {
		if (!fgets(enabled, sizeof(enabled), f))
			enabled[0] = '\0';
		fclose(f);
	}
	if (enabled[0] != 'Y' || (strcmp(backend, "kvm_amd") && strcmp(backend, "kvm_intel"))) {
		enabled[strcspn(enabled, "\n")] = '\0';
		print_message("[   INFO   ] backend %s, kvm.enable_vmware_backdoor=%s\n", backend,
			      enabled[0] ? enabled : "?");
		free(backend);
		lab_only_msg("test_vmware_backdoor_through_gp: this KVM backend has no VMware backdoor #GP path (kvm_amd/kvm_intel with kvm.enable_vmware_backdoor=Y have)");
	}
	report = run_guest(args);
	pid = obj_int(report, "pid");
	vm = exits_of(pid, &res);
	bd = json_object_get(vm, "vmware_backdoor");
	assert_int_equal(detail_count(vm, "vmware_backdoor", "name", "GETVERSION", NULL), 5);
	assert_int_equal(detail_count(vm, "vmware_backdoor", "name", "GETMEMSIZE", NULL), 3);
	/* each vCPU says done with an OUT to 0x5659 and EAX 0 */
	assert_int_equal(obj_int(bd, "no_magic"), 2);
	if (!strcmp(backend, "kvm_amd"))
		/* every one of those 10 accesses was a #GP intercept first */
		assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "GP excp", -1),
				 10);
	free(backend);
	json_decref(res);
	json_decref(report);
}

/* Hypercalls: only where KVM handles VMCALL (kvm_pvm leaves the guest spinning). */
static void test_hypercall_counts(void **state)
{
	char *args[] = { "--vcpus", "2", "--hypercall", "1:5", "--hypercall", "1:4", NULL };
	char *backend = daemon_backend();
	json_t *report, *res, *vm;
	long long pid;

	if (strcmp(backend, "kvm_amd") && strcmp(backend, "kvm_intel")) {
		print_message("[   INFO   ] backend %s\n", backend);
		free(backend);
		lab_only_msg("test_hypercall_counts: this KVM backend does not emulate VMCALL (kvm_amd/kvm_intel do)");
	}
	free(backend);
	report = run_guest(args);
	pid = obj_int(report, "pid");
	vm = exits_of(pid, &res);
	assert_int_equal(detail_count(vm, "hypercalls", "name", "VAPIC_POLL_IRQ", NULL), 9);
	json_decref(res);
	json_decref(report);
}

static void test_isas_seen(void **state)
{
	json_t *st, *caps, *isas;
	char *backend = daemon_backend();

	run_counts_guest();
	/* isas_seen follows the daemon's 1 s tick. */
	usleep(1200 * 1000);
	st = rpc("status", NULL);
	caps = json_array_get(json_object_get(st, "capabilities"), 0);
	isas = json_object_get(caps, "isas_seen");
	assert_true(json_is_array(isas));
	assert_true(json_is_true(json_object_get(json_object_get(caps, "vmware_backdoor"), "available")));
	if (!strcmp(backend, "kvm_amd")) {
		assert_int_equal(json_array_size(isas), 1);
		assert_string_equal(json_string_value(json_array_get(isas, 0)), "svm");
		assert_true(json_is_true(json_object_get(json_object_get(caps, "handling_latency"),
							 "available")));
	} else if (!strcmp(backend, "kvm_intel")) {
		assert_int_equal(json_array_size(isas), 1);
		assert_string_equal(json_string_value(json_array_get(isas, 0)), "vmx");
		assert_true(json_is_true(json_object_get(json_object_get(caps, "handling_latency"),
							 "available")));
	} else if (!strcmp(backend, "kvm_pvm")) {
		assert_int_equal(json_array_size(isas), 0);
	} else {
		fail_msg("backend %s: this test knows what kvm_amd, kvm_intel and kvm_pvm must show, "
			 "not this one", backend);
	}
	free(backend);
	json_decref(st);
}

/*
 * A guest started the way libvirt starts QEMU: in a systemd-style scope
 * cgroup machine-qemu\x2dID\x2dNAME.scope, with -uuid.  cgroup v2 where
 * mounted (the lab), else the v1 cpu hierarchy (the dev machine).
 */
static void test_libvirt_identity(void **state)
{
	static const char uuid[] = "5e1f0c4a-2b7d-4c3e-9a8f-0123456789ab";
	const char *root = access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0 ? "/sys/fs/cgroup"
									    : "/sys/fs/cgroup/cpu";
	char slice[256], scope[320], script[1024];
	json_t *report, *res, *vm, *lv;
	struct proc_result r;
	long long pid;

	snprintf(slice, sizeof(slice), "%s/machine.slice", root);
	snprintf(scope, sizeof(scope), "%s/machine-qemu\\x2d7\\x2dittest\\x2dlv.scope", slice);
	if ((mkdir(slice, 0755) < 0 && errno != EEXIST) || (mkdir(scope, 0755) < 0 && errno != EEXIST))
		fail_msg("cannot create cgroup %s: %s", scope, strerror(errno));
	snprintf(script, sizeof(script),
		 "echo $$ > '%s/cgroup.procs' && exec '%s' --vcpus 1 --out 0x70:5 -uuid %s -name guest=lvname",
		 scope, bin("kvmscope-guest"), uuid);
	r = run((char *[]){ "/bin/sh", "-c", script, NULL });
	if (r.status != 0)
		fail_msg("guest in %s failed (exit %d): %s", scope, r.status, r.err);
	report = parse_json(r.out);
	proc_result_free(&r);
	pid = obj_int(report, "pid");
	vm = exits_of(pid, &res);
	assert_string_equal(json_string_value(json_object_get(vm, "uuid")), uuid);
	assert_string_equal(json_string_value(json_object_get(vm, "name")), "lvname");
	lv = json_object_get(vm, "libvirt");
	assert_true(json_is_object(lv));
	assert_string_equal(json_string_value(json_object_get(lv, "domain")), "ittest-lv");
	assert_int_equal(obj_int(lv, "id"), 7);
	assert_non_null(strstr(json_string_value(json_object_get(vm, "cgroup")),
			       "machine-qemu\\x2d7\\x2dittest\\x2dlv.scope"));
	json_decref(res);
	json_decref(report);
	rmdir(scope);
	rmdir(slice);
}

static void test_mmio_counts(void **state)
{
	char *args[] = { "--vcpus", "3", "--mmio-read", "0x90000:101", "--mmio-write", "0xa0000:202",
			 "--hlt", "7", NULL };
	json_t *report = run_guest(args), *res, *vm, *user;
	long long pid = obj_int(report, "pid");

	vm = exits_of(pid, &res);
	user = json_object_get(vm, "userspace_exits");
	assert_int_equal(sum_records(user, "reason", "MMIO", -1), 303);
	assert_int_equal(sum_records(user, "reason", "HLT", -1), 7);
	assert_int_equal(sum_records(user, "reason", "IO", -1), 3);	/* one done OUT per vCPU */
	assert_int_equal(json_is_null(json_object_get(vm, "name")), 1);
	json_decref(res);
	json_decref(report);
}

static void test_vcpu_filter(void **state)
{
	struct proc_result r;
	json_t *res, *vm, *rec;
	char pidarg[24];
	long long pid;
	size_t i;

	run_counts_guest();
	pid = obj_int(counts_report, "pid");
	snprintf(pidarg, sizeof(pidarg), "%lld", pid);
	r = ctl("exits", "--pid", pidarg, "--vcpu", "1", "--json");
	assert_int_equal(r.status, 0);
	res = parse_json(r.out);
	proc_result_free(&r);
	vm = find_vm(res, pid);
	json_array_foreach(json_object_get(vm, "userspace_exits"), i, rec)
		assert_int_equal(obj_int(rec, "vcpu"), 1);
	json_array_foreach(json_object_get(vm, "pio"), i, rec)
		assert_int_equal(obj_int(rec, "vcpu"), 1);
	assert_int_equal(pio_count(json_object_get(vm, "pio"), 0x70, "out", 1, -1), N_OUT / 2);
	json_decref(res);

	/* The human table lists the same numbers. */
	r = ctl("exits", "--pid", pidarg, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "itest-counts");
	assert_contains(r.out, "0x5658");
	assert_contains(r.out, "617");
	proc_result_free(&r);
}

static void test_running_vm_is_listed(void **state)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	char *argv[] = { bin("kvmscope-guest"), "--out", "0x80:10", "--start-delay", "300", "--linger",
			 "2500", "-name", "itest-live", NULL };
	struct proc_result r;
	bool seen_running = false, seen_exited = false;
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 20 && !seen_running; i++) {
		json_t *res = rpc("vms.list", NULL), *vm;
		size_t j;

		json_array_foreach(json_object_get(res, "vms"), j, vm)
			if (obj_int(vm, "pid") == pid &&
			    !strcmp(json_string_value(json_object_get(vm, "state")), "running")) {
				assert_string_equal(json_string_value(json_object_get(vm, "name")), "itest-live");
				seen_running = true;
			}
		json_decref(res);
		if (!seen_running)
			nanosleep(&ts, NULL);
	}
	assert_true(seen_running);
	r = ctl("vms", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "itest-live");
	assert_contains(r.out, "running");
	proc_result_free(&r);

	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The pidfd makes the exit visible at once; allow one second. */
	for (int i = 0; i < 10 && !seen_exited; i++) {
		json_t *res = rpc("vms.list", NULL), *vm;
		size_t j;

		json_array_foreach(json_object_get(res, "vms"), j, vm)
			if (obj_int(vm, "pid") == pid)
				seen_exited = !strcmp(json_string_value(json_object_get(vm, "state")), "exited");
		json_decref(res);
		if (!seen_exited)
			nanosleep(&ts, NULL);
	}
	assert_true(seen_exited);
}

static void test_unknown_pid_is_an_error(void **state)
{
	struct proc_result r = ctl("exits", "--pid", "4000000000", NULL, NULL, NULL);

	assert_int_equal(r.status, 1);
	assert_contains(r.err, "no VM with pid 4000000000");
	proc_result_free(&r);
}

static void expect_error(const char *line, int code, const char *needle)
{
	json_t *resp = rpc_raw(line), *err = json_object_get(resp, "error");

	if (!err)
		fail_msg("expected error %d for %.100s, got %s", code, line, json_dumps(resp, 0));
	assert_int_equal(obj_int(err, "code"), code);
	if (!strstr(json_string_value(json_object_get(err, "message")), needle))
		fail_msg("error message '%s' does not mention '%s'",
			 json_string_value(json_object_get(err, "message")), needle);
	json_decref(resp);
}

/*
 * The helper module where it cannot be had (this machine: no module
 * support; the lab: modules, but no kvmscope.ko installed for the kernel):
 * status says why and nothing else changes; kmod.canary is refused with
 * that reason, nothing loaded; --kmod on makes kvmscoped exit 1 with it.
 * tests/vm/lab.c loads the module it builds.
 */
static void test_kmod_unavailable(void **state)
{
	bool modules = access("/proc/modules", F_OK) == 0;
	/* This machine has no module support; the lab has, but no kvmscope.ko installed. */
	const char *why = modules ? "no kvmscope.ko for kernel " : "this kernel has no module support";
	char want[200];
	char *argv[] = { bin("kvmscoped"), "--kmod", "on", "--socket", "/tmp/kvmscope-kmod-on.sock",
			 "--metrics", "off", "--pin-dir", "none", NULL };
	char *dargv[] = { bin("kvmscoped"), "--driver", "kmod", "--socket", "/tmp/kvmscope-kmod-on.sock",
			  "--metrics", "off", "--pin-dir", "none", NULL };
	struct proc_result r;
	json_t *res, *k;

	if (test_driver_is("kmod"))
		skip_msg("--driver kmod: kvmscope.ko is loaded for this run of the suite; the BPF run "
			 "proves what happens without it");
	res = rpc("status", NULL);
	k = NULL;
	{
		json_t *caps = json_object_get(res, "capabilities"), *c;
		size_t i;

		json_array_foreach(caps, i, c)
			if (!strcmp(json_string_value(json_object_get(c, "name")), "kmod"))
				k = c;
	}
	assert_non_null(k);
	assert_true(json_is_false(json_object_get(k, "loadable")));
	assert_true(json_is_false(json_object_get(k, "loaded")));
	assert_string_equal(json_string_value(json_object_get(k, "mode")), "auto");
	assert_contains(json_string_value(json_object_get(k, "why")), why);
	json_decref(res);

	snprintf(want, sizeof(want), "the helper module is not available: %s", why);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"kmod.canary\",\"params\":{\"seconds\":1}}",
		     -32005, want);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"kmod.canary\",\"params\":{\"seconds\":0}}",
		     -32602, "\"seconds\" must be an integer from 1 to 3600");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"kmod.canary\",\"params\":{\"seconds\":\"x\"}}",
		     -32602, "\"seconds\" must be an integer");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"kmod.canary\",\"params\":{\"cpus\":1}}",
		     -32602, "\"cpus\" must be an integer from 2 to");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"kmod.canary_stop\"}", -32004,
		     "the helper module is not loaded");

	r = ctl("kmod", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "kvmscope.ko  cannot be loaded here");
	assert_contains(r.out, "why         ");
	assert_contains(r.out, why);
	proc_result_free(&r);
	r = ctl("kmod", "canary", "--seconds", "1", NULL, NULL);
	assert_int_equal(r.status, 1);
	assert_contains(r.err, want);
	proc_result_free(&r);
	r = ctl("kmod", "canary", "--seconds", "0", NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--seconds: '0' is not a number from 1 to 3600");
	proc_result_free(&r);
	r = ctl("kmod", "frob", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "unknown kmod action 'frob' (status, canary)");
	proc_result_free(&r);

	/* The daemon under test still serves, with its exits capability as before. */
	res = rpc("status", NULL);
	assert_non_null(res);
	json_decref(res);

	/* --kmod on: the operator demanded it, so it cannot be had is fatal, with the reason. */
	r = run(argv);
	assert_int_equal(r.status, 1);
	snprintf(want, sizeof(want), "kmod: --kmod on, but %s", why);
	assert_contains(r.err, want);
	proc_result_free(&r);
	argv[2] = "sometimes";
	r = run(argv);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--kmod: 'sometimes' is not auto, on or off");
	proc_result_free(&r);

	/* --driver kmod: the exits cannot be counted as asked, so that is fatal too. */
	r = run(dargv);
	assert_int_equal(r.status, 1);
	snprintf(want, sizeof(want),
		 "exits: --driver kmod, but kvmscope.ko cannot count exits here: unavailable: %s", why);
	assert_contains(r.err, want);
	proc_result_free(&r);
	dargv[2] = "ebpf";
	r = run(dargv);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--driver: 'ebpf' is not auto, bpf or kmod");
	proc_result_free(&r);
}

/*
 * The livepatch capability: where the kernel has no livepatch (this
 * machine) every method says so and why; where it has (the lab), the
 * patches are listed, a name no patch has is an error.  ftrace.sites
 * answers wherever enabled_functions is readable.  The CLI's usage errors.
 */
static void test_livepatch_methods(void **state)
{
	bool available = access("/sys/kernel/livepatch", F_OK) == 0;
	char path[300];
	struct proc_result r;
	json_t *res;
	int fd;

	if (available) {
		res = rpc("livepatch.list", NULL);
		assert_true(json_is_array(json_object_get(res, "patches")));
		assert_true(json_is_array(json_object_get(res, "transitions")));
		json_decref(res);
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.get\","
			     "\"params\":{\"name\":\"no-such-patch\"}}", -32004,
			     "no livepatch named 'no-such-patch'");
		r = ctl("patch", "list", NULL, NULL, NULL, NULL);
		assert_int_equal(r.status, 0);
	} else {
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.list\"}", -32005,
			     "livepatch not available: /sys/kernel/livepatch: No such file or directory");
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.get\","
			     "\"params\":{\"name\":\"x\"}}", -32005, "livepatch not available");
		r = ctl("patch", "list", NULL, NULL, NULL, NULL);
		assert_int_equal(r.status, 1);
		assert_contains(r.err, "livepatch not available");
		/* Managing: the same answer, nothing loaded or written. */
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.load\","
			     "\"params\":{\"path\":\"x.ko\"}}", -32005, "livepatch not available");
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.enable\","
			     "\"params\":{\"name\":\"x\"}}", -32005, "livepatch not available");
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.disable\","
			     "\"params\":{\"name\":\"x\"}}", -32005, "livepatch not available");
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.unload\","
			     "\"params\":{\"name\":\"x\"}}", -32005, "livepatch not available");
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.force\","
			     "\"params\":{\"name\":\"x\",\"confirm\":true}}", -32005,
			     "livepatch not available");
		proc_result_free(&r);
		/* The file goes to the daemon as a descriptor, and the answer comes back. */
		r = ctl("patch", "load", "/etc/hostname", NULL, NULL, NULL);
		assert_int_equal(r.status, 1);
		assert_contains(r.err, "livepatch.load: livepatch not available");
	}
	proc_result_free(&r);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"livepatch.get\",\"params\":{}}",
		     available ? -32602 : -32005, available ? "needs \"name\"" : "not available");
	snprintf(path, sizeof(path), "/sys/kernel/tracing/enabled_functions");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	if (fd < 0) {
		expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ftrace.sites\"}", -32005,
			     "ftrace sites not available");
	} else {
		res = rpc("ftrace.sites", NULL);
		assert_true(json_is_array(json_object_get(res, "sites")));
		assert_int_equal(obj_int(res, "unparsed_lines"), 0);
		json_decref(res);
	}
	/*
	 * Text pokes: observed wherever perf's text_poke record opens (Linux
	 * 5.9+, root); the BPF programs the daemon loaded came as KSYMBOL records.
	 */
	res = rpc("textpoke.get", NULL);
	assert_true(json_is_object(json_object_get(res, "by_kind")));
	assert_true(json_is_array(json_object_get(res, "functions")));
	assert_int_equal(obj_int(res, "lost"), 0);
	json_decref(res);
	/* Usage: each refused with what is wrong, exit 2. */
	r = ctl("patch", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "patch needs an action: list, info, sites, load, load-all, enable, disable, unload, force or wait");
	proc_result_free(&r);
	r = ctl("patch", "force", "x", NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "add --yes to mean it");
	proc_result_free(&r);
	r = ctl("status", "--wait", "5", NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--wait goes with 'patch', not 'status'");
	proc_result_free(&r);
	r = ctl("patch", "list", "--wait", "5", NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--wait goes with patch load, load-all, enable, disable, force or wait, not list");
	proc_result_free(&r);
	r = ctl("patch", "enable", "x", "--wait", "-1", NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--wait: '-1' is not a number of seconds from 0 to 86400");
	proc_result_free(&r);
	r = ctl("patch", "load", "/nonexistent/kvmscope.ko", NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "cannot open /nonexistent/kvmscope.ko: No such file or directory");
	proc_result_free(&r);
	r = ctl("patch", "load", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "patch load needs a FILE");
	proc_result_free(&r);
	r = ctl("patch", "bogus", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "unknown action 'bogus'");
	proc_result_free(&r);
	r = ctl("patch", "info", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "patch info needs the patch's NAME");
	proc_result_free(&r);
}

static void test_protocol_errors(void **state)
{
	int fd;
	char *resp, *big;
	json_t *v;

	expect_error("{{{", -32700, "parse error");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sta", -32700, "parse error");
	expect_error("[1,2", -32700, "parse error");
	expect_error("42", -32600, "object");
	expect_error("{\"id\":1,\"method\":\"status\"}", -32600, "jsonrpc");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", -32600, "method");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope.nothing\"}", -32601, "nope.nothing");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"exits.get\",\"params\":{\"pid\":\"x\"}}",
		     -32602, "pid");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"exits.get\",\"params\":{\"bogus\":1}}",
		     -32602, "bogus");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"exits.get\",\"params\":[1]}", -32602,
		     "params");

	/* On one connection: garbage, binary, an over-long line, then a good request. */
	fd = test_connect_unix(sock_path);
	assert_true(fd >= 0);
	send_str(fd, "garbage\n");
	resp = read_line(fd);
	assert_contains(resp, "-32700");
	free(resp);
	send_all(fd, "\x01\x02\xff\xfe\x00zz\n", 8);
	resp = read_line(fd);
	assert_contains(resp, "-32700");
	free(resp);
	big = malloc(70001);
	memset(big, 'x', 70000);
	big[70000] = '\n';
	send_all(fd, big, 70001);
	free(big);
	resp = read_line(fd);
	assert_contains(resp, "-32600");
	assert_contains(resp, "longer than 65536");
	free(resp);
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"status\"}\n");
	resp = read_line(fd);
	v = parse_json(resp);
	assert_non_null(json_object_get(v, "result"));
	assert_string_equal(json_string_value(json_object_get(v, "id")), "s");
	json_decref(v);
	free(resp);
	/* A notification gets no answer; the next request still does. */
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"status\"}\n");
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"vms.list\"}\n");
	resp = read_line(fd);
	v = parse_json(resp);
	assert_int_equal(obj_int(v, "id"), 9);
	json_decref(v);
	free(resp);
	close(fd);

	/* A client that disconnects mid-request does not hurt the daemon. */
	fd = test_connect_unix(sock_path);
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,");
	close(fd);
	v = rpc("status", NULL);
	json_decref(v);
}

/* A client that floods requests and never reads cannot block the others. */
static void test_concurrent_clients(void **state)
{
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n";
	int hog = test_connect_unix(sock_path), fds[40];
	struct timespec t0, t1;

	assert_true(hog >= 0);
	fcntl(hog, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 20000; i++)
		if (send(hog, req, strlen(req), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 40; i++) {
		fds[i] = test_connect_unix(sock_path);
		assert_true(fds[i] >= 0);
	}
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 40; i++)
			send_all(fds[i], req, strlen(req));
		for (int i = 0; i < 40; i++) {
			char *resp = read_line(fds[i]);

			assert_non_null(strstr(resp, "\"result\""));
			free(resp);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	close(hog);
	print_message("[   INFO   ] 200 requests on 40 clients beside a non-reading flood: %.2f s\n",
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	json_decref(rpc("status", NULL));
}

static int count_substr(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- event streams ---- */

struct stream {
	int fd;
	long long id;		/* subscription */
	char buf[1 << 16];
	size_t len, pos;
};

static void stream_subscribe(struct stream *st, const char *params)
{
	char line[512];
	json_t *resp;
	char *answer;

	memset(st, 0, sizeof(*st));
	st->fd = test_connect_unix(sock_path);
	snprintf(line, sizeof(line),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":%s}\n", params);
	send_str(st->fd, line);
	answer = read_line(st->fd);
	resp = parse_json(answer);
	if (!json_object_get(resp, "result"))
		fail_msg("events.subscribe %s failed: %s", params, answer);
	st->id = obj_int(json_object_get(resp, "result"), "subscription");
	free(answer);
	json_decref(resp);
}

/* The next notification, or NULL after @timeout_ms without one. */
static json_t *stream_next(struct stream *st, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(st->buf + st->pos, '\n', st->len - st->pos);
		struct pollfd p = { st->fd, POLLIN, 0 };
		ssize_t n;

		if (nl) {
			json_t *j;

			*nl = '\0';
			j = parse_json(st->buf + st->pos);
			st->pos = (size_t)(nl + 1 - st->buf);
			return j;
		}
		memmove(st->buf, st->buf + st->pos, st->len - st->pos);
		st->len -= st->pos;
		st->pos = 0;
		if (st->len == sizeof(st->buf))
			fail_msg("notification longer than %zu bytes", sizeof(st->buf));
		if (poll(&p, 1, timeout_ms) <= 0)
			return NULL;
		n = read(st->fd, st->buf + st->len, sizeof(st->buf) - st->len);
		if (n <= 0)
			fail_msg("daemon closed the event stream");
		st->len += (size_t)n;
	}
}

static pid_t start_guest_async(char *const args[], int *out_fd)
{
	pid_t pid = proc_start_args(bin("kvmscope-guest"), args, out_fd);

	assert_true(pid > 0);
	return pid;
}

struct stream_counts {
	long long io, hlt, hw_io, hw_hlt, vm_start, vm_exit, lost;
};

/* One events.exit notification's @params, by its reason. */
static void count_exit_event(struct stream_counts *c, json_t *params)
{
	const char *r = json_string_value(json_object_get(params, "reason"));

	c->io += !strcmp(r, "IO");
	c->hlt += !strcmp(r, "HLT");
	c->hw_io += !strcmp(r, "io");
	c->hw_hlt += !strcmp(r, "hlt");
}

/* Read @st until the exit of @pid has been announced; count its events. */
static void stream_count_until_exit(struct stream *st, long long pid, struct stream_counts *c)
{
	json_t *n;

	while ((n = stream_next(st, 20000))) {
		const char *method = json_string_value(json_object_get(n, "method"));
		json_t *p = json_object_get(n, "params");

		if (!strcmp(method, "events.lost")) {
			c->lost += obj_int(p, "lost");
		} else if (!strcmp(method, "events.vm")) {
			if (obj_int(json_object_get(p, "vm"), "pid") == pid) {
				bool exit = !strcmp(json_string_value(json_object_get(p, "event")), "exit");

				c->vm_start += !exit;
				c->vm_exit += exit;
				if (exit) {
					json_decref(n);
					/* Exits still in the ring are drained within 100 ms. */
					while ((n = stream_next(st, 500))) {
						p = json_object_get(n, "params");
						if (!strcmp(json_string_value(json_object_get(n, "method")), "events.exit") &&
						    obj_int(p, "pid") == pid)
							count_exit_event(c, p);
						json_decref(n);
					}
					return;
				}
			}
		} else if (!strcmp(method, "events.exit") && obj_int(p, "pid") == pid) {
			/* Other topics (events.launch) are not counted here. */
			count_exit_event(c, p);
		}
		json_decref(n);
	}
	fail_msg("no events.vm exit for pid %lld within 20 s", pid);
}

static long long guest_pid_from(int fd, pid_t child)
{
	char *out;
	json_t *report;
	long long pid;

	if (proc_finish(child, fd, &out) != 0)
		fail_msg("test guest failed");
	report = parse_json(out);
	free(out);
	pid = obj_int(report, "pid");
	json_decref(report);
	return pid;
}

/*
 * The ioctl topic: a subscriber gets every KVM ioctl of the guest, one
 * notification each, exactly as many of each as the guest made, and none
 * lost; filtered by pid in the kernel.
 */
static void test_ioctl_topic_is_exact(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:50", "--hlt", "4", "--encrypt-op", "3:2",
			 "-name", "ioctl-stream", NULL };
	struct stream st;
	json_t *n, *report, *entry;
	long long pid = -1, total = 0, events = 0, lost = 0, run_events = 0, run_total = 0;
	char *out;
	pid_t child;
	size_t i;
	int fd;

	stream_subscribe(&st, "{\"topics\":[\"ioctl\",\"vm\"]}");
	child = start_guest_async(args, &fd);
	if (proc_finish(child, fd, &out) != 0)
		fail_msg("test guest failed");
	report = parse_json(out);
	free(out);
	pid = obj_int(report, "pid");
	json_array_foreach(json_object_get(report, "ioctls"), i, entry) {
		total += obj_int(entry, "count");
		if (obj_int(entry, "cmd") == 0xae80)
			run_total += obj_int(entry, "count");
	}
	/* Everything streamed is drained within 100 ms of the VM's exit being noticed. */
	while ((n = stream_next(&st, 3000))) {
		const char *method = json_string_value(json_object_get(n, "method"));
		json_t *p = json_object_get(n, "params");

		if (!strcmp(method, "events.ioctl") && obj_int(p, "pid") == pid) {
			events++;
			run_events += !strcmp(json_string_value(json_object_get(p, "ioctl")), "KVM_RUN");
		} else if (!strcmp(method, "events.lost")) {
			lost += obj_int(p, "lost");
		}
		json_decref(n);
	}
	print_message("[   INFO   ] ioctl topic: %lld events for the guest's %lld ioctls (%lld KVM_RUN of %lld), %lld lost\n",
		      events, total, run_events, run_total, lost);
	assert_int_equal(lost, 0);
	assert_int_equal(run_events, run_total);
	assert_int_equal(events, total);
	close(st.fd);
	json_decref(report);
}


/* The pid of the VM named @name, from its events.vm start notification. */
static long long stream_wait_vm_start(struct stream *st, const char *name)
{
	json_t *n;

	while ((n = stream_next(st, 20000))) {
		json_t *p = json_object_get(n, "params"), *vm = json_object_get(p, "vm");
		const char *vm_name = json_string_value(json_object_get(vm, "name"));

		if (!strcmp(json_string_value(json_object_get(n, "method")), "events.vm") &&
		    vm_name && !strcmp(vm_name, name)) {
			long long pid = obj_int(vm, "pid");

			json_decref(n);
			return pid;
		}
		json_decref(n);
	}
	fail_msg("no events.vm start for %s within 20 s", name);
	return -1;
}

static void test_events_stream_exact(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:300", "--hlt", "7", "--start-delay", "2000",
			 "-name", "events", NULL };
	struct stream watch, all, hlt_only, sampled;
	struct stream_counts c = { 0 }, h = { 0 }, s = { 0 }, w = { 0 };
	char *backend = daemon_backend();
	char params[96];
	long long pid;
	pid_t child;
	int fd;

	/* VM start and exit, from a subscription made before the VM exists. */
	stream_subscribe(&watch, "{}");
	child = start_guest_async(args, &fd);
	pid = stream_wait_vm_start(&watch, "events");
	/*
	 * Exits from subscriptions to this VM alone (another VM's exits must
	 * not crowd them out, nor shift the sampling), made in the 2 s between
	 * its creation and its first run (the lab's TCG makes setup slow).
	 */
	snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
	stream_subscribe(&all, params);
	snprintf(params, sizeof(params), "{\"pid\":%lld,\"reason\":\"hlt\"}", pid);
	stream_subscribe(&hlt_only, params);
	snprintf(params, sizeof(params), "{\"pid\":%lld,\"reason\":\"IO\",\"sample\":10}", pid);
	stream_subscribe(&sampled, params);
	assert_int_equal(guest_pid_from(fd, child), pid);
	c.vm_start = 1;
	stream_count_until_exit(&all, pid, &c);
	stream_count_until_exit(&hlt_only, pid, &h);
	stream_count_until_exit(&sampled, pid, &s);
	stream_count_until_exit(&watch, pid, &w);
	assert_int_equal(w.vm_exit, 1);
	assert_int_equal(c.vm_start, 1);
	assert_int_equal(c.vm_exit, 1);
	assert_int_equal(c.io, 302);
	assert_int_equal(c.hlt, 7);
	assert_int_equal(c.lost, 0);
	/* The reason filter is case-insensitive: "hlt" selects HLT (and SVM hlt). */
	assert_int_equal(h.hlt, 7);
	assert_int_equal(h.io, 0);
	/*
	 * 1 of every 10 matching exits, from the first: ceil(302 / 10), or where
	 * each OUT is also an SVM "io" (which "IO" matches too) ceil(604 / 10).
	 */
	assert_int_equal(s.io + s.hw_io, strcmp(backend, "kvm_amd") ? 31 : 61);
	if (!strcmp(backend, "kvm_amd")) {
		assert_int_equal(c.hw_io, 302);
		assert_int_equal(c.hw_hlt, 7);
		assert_int_equal(h.hw_hlt, 7);
	}
	print_message("[   INFO   ] streamed IO %lld HLT %lld (svm io %lld hlt %lld), sampled IO %lld\n",
		      c.io, c.hlt, c.hw_io, c.hw_hlt, s.io);
	free(backend);
	close(watch.fd);
	close(all.fd);
	close(hlt_only.fd);
	close(sampled.fd);
}

/* The running VM named @name, by polling vms.list (it starts with a delay). */
static long long wait_vm_named(const char *name)
{
	for (int i = 0; i < 500; i++) {
		json_t *res = rpc("vms.list", NULL), *vm;
		size_t j;

		json_array_foreach(json_object_get(res, "vms"), j, vm) {
			const char *n = json_string_value(json_object_get(vm, "name"));

			if (n && !strcmp(n, name) &&
			    !strcmp(json_string_value(json_object_get(vm, "state")), "running")) {
				long long pid = obj_int(vm, "pid");

				json_decref(res);
				return pid;
			}
		}
		json_decref(res);
		usleep(10 * 1000);
	}
	fail_msg("VM %s did not show up in vms.list within 5 s", name);
	return -1;
}

/*
 * A subscriber that never reads loses events, and the daemon goes on; a
 * subscriber that reads gets every event or a count of what it lost:
 * nothing goes missing unaccounted.
 */
static void test_events_slow_client_loses_not_the_daemon(void **state)
{
	char *args[] = { "--vcpus", "1", "--out", "0x70:40000", "--start-delay", "2000", "-name",
			 "flood", NULL };
	struct stream reader, sleeper;
	struct stream_counts c = { 0 };
	long long pid, reader_lost = -1, sleeper_lost = -1, reader_matched = -1, per_out, ring_lost;
	char *backend;
	json_t *stats, *sub, *st;
	char params[64];
	pid_t child;
	size_t i;
	int fd;

	/* Where kvm_exit fires, each OUT is also an SVM/VMX exit on the stream. */
	backend = daemon_backend();
	per_out = !strcmp(backend, "kvm_amd") || !strcmp(backend, "kvm_intel") ? 2 : 1;
	free(backend);
	stats = rpc("events.stats", NULL);
	ring_lost = obj_int(stats, "lost_kernel_ring");
	json_decref(stats);
	child = start_guest_async(args, &fd);
	pid = wait_vm_named("flood");
	snprintf(params, sizeof(params), "{\"pid\":%lld,\"reason\":\"io\"}", pid);
	stream_subscribe(&sleeper, params);
	stream_subscribe(&reader, params);
	c.vm_start = 1;
	stream_count_until_exit(&reader, pid, &c);
	assert_int_equal(guest_pid_from(fd, child), pid);
	/* The daemon drains the kernel ring every 10 ms; wait for its last count. */
	usleep(100 * 1000);
	stats = rpc("events.stats", NULL);
	/*
	 * Exits the kernel ring could not take (a daemon slower than the guest:
	 * the lab's TCG) are counted too, once for all subscribers.  That count
	 * covers every kind of exit (npf, interrupt, ...), so each io exit is
	 * either matched or among those; with no ring loss, matched is exact.
	 */
	ring_lost = obj_int(stats, "lost_kernel_ring") - ring_lost;
	json_array_foreach(json_object_get(stats, "subscriptions"), i, sub) {
		long long matched = obj_int(sub, "matched");

		if (obj_int(sub, "subscription") == reader.id) {
			reader_lost = obj_int(sub, "lost");
			reader_matched = matched;
		}
		if (obj_int(sub, "subscription") == sleeper.id)
			sleeper_lost = obj_int(sub, "lost");
		if ((obj_int(sub, "subscription") == reader.id ||
		     obj_int(sub, "subscription") == sleeper.id) &&
		    (matched > 40001 * per_out || matched + ring_lost < 40001 * per_out))
			fail_msg("subscription %lld matched %lld of %lld io exits, the ring lost %lld: %s",
				 obj_int(sub, "subscription"), matched, 40001 * per_out, ring_lost,
				 json_dumps(stats, 0));
	}
	/* Every matched event reached the reader or was counted as lost to it. */
	if (c.io + c.hw_io + reader_lost != reader_matched)
		fail_msg("reader: %lld received + %lld lost != %lld matched: %s", c.io + c.hw_io,
			 reader_lost, reader_matched, json_dumps(stats, 0));
	if (sleeper_lost <= 0)
		fail_msg("the subscriber that never reads lost nothing: %s", json_dumps(stats, 0));
	assert_true(obj_int(stats, "lost_slow_clients") >= sleeper_lost + reader_lost);
	print_message("[   INFO   ] %lld io exits: the reader got %lld (lost %lld), the non-reader lost %lld, kernel ring full %lld\n",
		      40001 * per_out, c.io + c.hw_io, reader_lost, sleeper_lost, ring_lost);
	json_decref(stats);
	/* The daemon answers throughout. */
	st = rpc("status", NULL);
	json_decref(st);
	close(sleeper.fd);
	close(reader.fd);
	/* Gone clients take their subscriptions with them (the lab is slow to notice). */
	for (int tries = 0; tries < 50; tries++) {
		bool left = false;

		usleep(100 * 1000);
		stats = rpc("events.stats", NULL);
		json_array_foreach(json_object_get(stats, "subscriptions"), i, sub)
			left |= obj_int(sub, "subscription") == reader.id ||
				obj_int(sub, "subscription") == sleeper.id;
		json_decref(stats);
		if (!left)
			return;
	}
	fail_msg("subscriptions %lld and %lld outlived their connections", reader.id, sleeper.id);
}

/* kvmscopectl events prints what the stream carries, then stops at --count. */
static void test_events_cli(void **state)
{
	char *args[] = { "--vcpus", "1", "--out", "0x70:3", "--hlt", "2", "--start-delay", "2000",
			 "-name", "evcli", NULL };
	char *backend = daemon_backend();
	bool hw = !strcmp(backend, "kvm_amd") || !strcmp(backend, "kvm_intel");
	struct proc_result r;
	char pidarg[24];
	long long pid;
	pid_t child;
	int fd;

	free(backend);
	child = start_guest_async(args, &fd);
	pid = wait_vm_named("evcli");
	snprintf(pidarg, sizeof(pidarg), "%lld", pid);
	/*
	 * 3 OUT + 2 HLT + the done OUT = 6 userspace exits, then the VM exit;
	 * where kvm_exit fires, as many hardware exits again, and others (npf).
	 * --reason selects io (any case): 4 + 4 hardware where they fire.
	 */
	r = ctl("events", "--pid", pidarg, "--reason=io", "--count", hw ? "9" : "5");
	assert_int_equal(guest_pid_from(fd, child), pid);
	if (r.status != 0)
		fail_msg("kvmscopectl events failed (%d): %s", r.status, r.err);
	assert_int_equal(count_substr(r.out, "userspace IO"), 4);
	assert_int_equal(count_substr(r.out, "hardware  svm io") + count_substr(r.out, "hardware  vmx IO_INSTRUCTION"),
			 hw ? 4 : 0);
	assert_int_equal(count_substr(r.out, "VM exit"), 1);
	/* The last exits come before the news that the VM exited. */
	assert_true(strstr(r.out, "VM exit") > strstr(r.out, "userspace IO"));
	proc_result_free(&r);
	r = ctl("events", "--sample", "0", NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--sample '0'");
	proc_result_free(&r);
	r = ctl("events", "--bogus", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--bogus");
	proc_result_free(&r);
}

/* events.stats once no subscription of an earlier test is left (closing is noticed late). */
static json_t *events_stats_when_idle(void)
{
	for (int tries = 0; tries < 100; tries++) {
		json_t *stats = rpc("events.stats", NULL);

		if (!json_array_size(json_object_get(stats, "subscriptions")))
			return stats;
		json_decref(stats);
		usleep(50 * 1000);
	}
	fail_msg("subscriptions of earlier tests outlived their connections");
	return NULL;
}

/* What events.stats says the exits capability was told to stream. */
static void assert_exit_stream(json_t *stats, const char *mode, long long n_pids)
{
	json_t *exit = json_object_get(json_object_get(stats, "streams"), "exit");
	const char *m = json_string_value(json_object_get(exit, "mode"));

	if (!m || strcmp(m, mode) || (long long)json_array_size(json_object_get(exit, "pids")) != n_pids)
		fail_msg("exit stream is not %s with %lld pids: %s", mode, n_pids,
			 json_dumps(stats, JSON_COMPACT));
}

/* Every events.exit of @pid until its VM exit is announced, and what was not @pid's. */
static void stream_count_all_until_exit(struct stream *st, long long pid, long long *mine,
					long long *others, struct stream_counts *c)
{
	json_t *n;
	bool exited = false;

	while ((n = stream_next(st, exited ? 500 : 20000))) {
		const char *method = json_string_value(json_object_get(n, "method"));
		json_t *p = json_object_get(n, "params");

		if (!strcmp(method, "events.exit")) {
			if (obj_int(p, "pid") == pid) {
				(*mine)++;
				count_exit_event(c, p);
			} else {
				(*others)++;
			}
		} else if (!strcmp(method, "events.vm") && obj_int(json_object_get(p, "vm"), "pid") == pid &&
			   !strcmp(json_string_value(json_object_get(p, "event")), "exit")) {
			exited = true;	/* exits still in the ring are drained within 100 ms */
		} else if (!strcmp(method, "events.lost")) {
			c->lost += obj_int(p, "lost");
		}
		json_decref(n);
	}
	if (!exited)
		fail_msg("no events.vm exit for pid %lld within 20 s", pid);
}

/*
 * The pid filter is applied in the kernel: a subscription for a process
 * that does not exist puts nothing on the ring while a guest makes
 * hundreds of exits, and one for the guest puts exactly its exits there
 * (events.stats counts what the BPF program submitted).
 */
static void test_events_kernel_filters_by_pid(void **state)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:300", "--hlt", "7", NULL };
	char *delayed[] = { "--vcpus", "2", "--out", "0x70:300", "--hlt", "7", "--start-delay", "2000",
			    "-name", "kfilter", NULL };
	struct stream nobody, mine;
	struct stream_counts c = { 0 };
	long long pid, submitted, received = 0, others = 0;
	json_t *stats, *report, *res, *vm, *sub;
	char params[64];
	pid_t child;
	size_t i;
	int fd;

	stats = events_stats_when_idle();
	assert_exit_stream(stats, "off", 0);
	submitted = obj_int(stats, "submitted_kernel_ring");
	json_decref(stats);
	/* No process has this pid (pid_max is at most 2^22). */
	stream_subscribe(&nobody, "{\"pid\":4294967295}");
	stats = rpc("events.stats", NULL);
	assert_exit_stream(stats, "pids", 1);
	json_decref(stats);

	report = run_guest(args);
	pid = obj_int(report, "pid");
	vm = exits_of(pid, &res);
	/* The guest ran, and made the exits it was asked for. */
	assert_int_equal(sum_records(json_object_get(vm, "userspace_exits"), "reason", "IO", -1), 302);
	assert_int_equal(sum_records(json_object_get(vm, "userspace_exits"), "reason", "HLT", -1), 7);
	json_decref(res);
	json_decref(report);
	usleep(100 * 1000);	/* the ring is drained every 10 ms */
	stats = rpc("events.stats", NULL);
	if (obj_int(stats, "submitted_kernel_ring") != submitted)
		fail_msg("the kernel put %lld exits on the ring for a subscription to no process: %s",
			 obj_int(stats, "submitted_kernel_ring") - submitted,
			 json_dumps(stats, JSON_COMPACT));
	json_array_foreach(json_object_get(stats, "subscriptions"), i, sub)
		assert_int_equal(obj_int(sub, "matched"), 0);
	json_decref(stats);
	assert_null(stream_next(&nobody, 0));

	/* The guest's own pid, beside the one that matches nothing. */
	child = start_guest_async(delayed, &fd);
	pid = wait_vm_named("kfilter");
	snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
	stats = rpc("events.stats", NULL);
	submitted = obj_int(stats, "submitted_kernel_ring");
	json_decref(stats);
	stream_subscribe(&mine, params);
	stats = rpc("events.stats", NULL);
	assert_exit_stream(stats, "pids", 2);
	json_decref(stats);
	assert_int_equal(guest_pid_from(fd, child), pid);
	stream_count_all_until_exit(&mine, pid, &received, &others, &c);
	stats = rpc("events.stats", NULL);
	assert_int_equal(others, 0);
	assert_int_equal(c.lost, 0);
	assert_int_equal(c.io, 302);
	assert_int_equal(c.hlt, 7);
	if (obj_int(stats, "submitted_kernel_ring") - submitted != received)
		fail_msg("the kernel put %lld exits on the ring, the subscriber of pid %lld got %lld: %s",
			 obj_int(stats, "submitted_kernel_ring") - submitted, pid, received,
			 json_dumps(stats, JSON_COMPACT));
	print_message("[   INFO   ] pid filter in the kernel: 0 exits on the ring for nobody, %lld for pid %lld\n",
		      received, pid);
	json_decref(stats);
	assert_null(stream_next(&nobody, 0));
	close(nobody.fd);
	close(mine.fd);
}

/* @v, compact, is @want. */
static void assert_json_text(json_t *v, const char *want)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!text || strcmp(text, want))
		fail_msg("got %s, want %s", text ? text : "nothing", want);
	free(text);
}

/*
 * A subscriber names its topics: "vm" alone gets the VM's start and exit
 * and not one of its exits, and the kernel's exit stream stays off.
 */
static void test_events_topics(void **state)
{
	char *args[] = { "--vcpus", "1", "--out", "0x70:200", "--hlt", "3", "-name", "topicvm", NULL };
	struct stream vms;
	struct stream_counts c = { 0 };
	long long pid, submitted, exits = 0, others = 0;
	json_t *stats, *res, *n, *vm;
	pid_t child;
	int fd;

	stats = events_stats_when_idle();
	submitted = obj_int(stats, "submitted_kernel_ring");
	json_decref(stats);
	res = rpc("events.subscribe", "{\"topics\":[\"vm\"]}");
	assert_json_text(json_object_get(res, "topics"), "[\"vm\"]");
	assert_json_text(json_object_get(res, "notifications"), "[\"events.vm\",\"events.lost\"]");
	json_decref(res);

	stream_subscribe(&vms, "{\"topics\":[\"vm\"]}");
	stats = rpc("events.stats", NULL);
	assert_exit_stream(stats, "off", 0);
	json_decref(stats);
	child = start_guest_async(args, &fd);
	pid = stream_wait_vm_start(&vms, "topicvm");
	assert_int_equal(guest_pid_from(fd, child), pid);
	stream_count_all_until_exit(&vms, pid, &exits, &others, &c);
	assert_int_equal(exits + others, 0);
	usleep(100 * 1000);
	stats = rpc("events.stats", NULL);
	assert_exit_stream(stats, "off", 0);
	assert_int_equal(obj_int(stats, "submitted_kernel_ring"), submitted);
	json_decref(stats);
	/* The guest made its exits, as counted: the stream just did not carry them. */
	vm = exits_of(pid, &res);
	assert_int_equal(sum_records(json_object_get(vm, "userspace_exits"), "reason", "IO", -1), 201);
	json_decref(res);
	close(vms.fd);

	/* Both topics by name: every exit again. */
	stream_subscribe(&vms, "{\"topics\":[\"exit\",\"vm\"]}");
	child = start_guest_async(args, &fd);
	pid = stream_wait_vm_start(&vms, "topicvm");
	assert_int_equal(guest_pid_from(fd, child), pid);
	c = (struct stream_counts){ 0 };
	exits = 0;
	stream_count_all_until_exit(&vms, pid, &exits, &others, &c);
	assert_int_equal(c.io, 201);
	assert_int_equal(c.hlt, 3);
	close(vms.fd);

	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"topics\":[\"vm\",\"exits\"]}}",
		     -32602, "no topic is called 'exits'; known topics: vm, exit");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"topics\":[]}}",
		     -32602, "known topics: vm, exit");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"topics\":\"vm\"}}",
		     -32602, "known topics: vm, exit");
	n = rpc_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"topics\":[7]}}");
	assert_json_text(json_object_get(json_object_get(json_object_get(n, "error"), "data"),
					 "known_topics"), "[\"vm\",\"exit\",\"launch\",\"ioctl\",\"livepatch\",\"textpoke\"]");
	json_decref(n);
}

/* kvmscopectl events --topic: only those events; an unknown name is a usage error. */
static void test_events_cli_topics(void **state)
{
	char *args[] = { "--vcpus", "1", "--out", "0x70:3", "--hlt", "2", "--start-delay", "2000",
			 "-name", "evtopic", NULL };
	struct proc_result r;
	long long pid;
	pid_t child;
	int fd;

	child = start_guest_async(args, &fd);
	pid = wait_vm_named("evtopic");
	/* Its exits come during the 2 s start delay's end; only its VM exit may print. */
	r = ctl("events", "--topic", "vm", "--count", "1", NULL);
	assert_int_equal(guest_pid_from(fd, child), pid);
	if (r.status != 0)
		fail_msg("kvmscopectl events --topic vm failed (%d): %s", r.status, r.err);
	assert_int_equal(count_substr(r.out, "VM exit"), 1);
	assert_int_equal(count_substr(r.out, "userspace"), 0);
	assert_int_equal(count_substr(r.out, "hardware"), 0);
	proc_result_free(&r);
	r = ctl("events", "--topic", "vm", "--topic", "exits", NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "--topic: no topic is called 'exits'; known: vm, exit");
	proc_result_free(&r);
}

/*
 * What completion/kvmscopectl.bash offers after the words before the
 * cursor (the last word is the one being completed), one per line, with
 * kvmscopectl from this build first on PATH.  Nothing may reach stderr.
 */
static char *complete_words(const char *words)
{
	char script[2048], path[1024];
	char *argv[] = { "bash", "-c", script, NULL };
	struct proc_result r;
	char *out;

	snprintf(path, sizeof(path), "%s", bin("kvmscopectl"));
	*strrchr(path, '/') = '\0';
	snprintf(script, sizeof(script),
		 "export PATH='%s':\"$PATH\"; source completion/kvmscopectl.bash; "
		 "COMP_WORDS=(kvmscopectl %s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
		 "_kvmscopectl; printf '%%s\\n' \"${COMPREPLY[@]}\"", path, words);
	r = proc_run(argv);
	if (r.status != 0 || r.err[0])
		fail_msg("completing '%s': exit %d: %s", words, r.status, r.err);
	out = strdup(r.out);
	proc_result_free(&r);
	return out;
}

/* Bash completion: verbs, actions, topics, and from the daemon the VMs' pids. */
static void test_bash_completion(void **state)
{
	char *args[] = { "--vcpus", "1", "--out", "0x70:10", "--linger", "4000", "-name", "completeme",
			 NULL };
	char words[256], want[32], *out = NULL;
	long long pid;
	pid_t child;
	int fd;

	out = complete_words("pa");
	assert_string_equal(out, "patch\n");
	free(out);
	out = complete_words("patch ''");
	assert_string_equal(out, "list\ninfo\nsites\nload\nload-all\nenable\ndisable\nunload\nforce\nwait\n");
	free(out);
	out = complete_words("events --topic li");
	assert_string_equal(out, "livepatch\n");
	free(out);
	out = complete_words("exits --de");
	assert_string_equal(out, "--detail\n");
	free(out);
	out = complete_words("km");
	assert_string_equal(out, "kmod\n");
	free(out);
	out = complete_words("kmod canary --s");
	assert_string_equal(out, "--seconds\n--stop\n");
	free(out);
	/* Patch names come from the daemon; here it has no livepatch: none, and no noise. */
	snprintf(words, sizeof(words), "--socket %s patch info ''", sock_path);
	out = complete_words(words);
	assert_string_equal(out, "\n");
	free(out);

	child = start_guest_async(args, &fd);
	pid = wait_vm_named("completeme");
	snprintf(words, sizeof(words), "--socket %s exits --pid ''", sock_path);
	out = complete_words(words);
	snprintf(want, sizeof(want), "%lld\n", pid);
	print_message("[   INFO   ] exits --pid <TAB> offers: %s", out);
	assert_non_null(strstr(out, want));
	free(out);
	out = NULL;
	assert_int_equal(proc_finish(child, fd, &out), 0);
	free(out);
}

/* KVM's own counters from debugfs, next to ours, while the VM lives. */
static void test_kvm_debugfs_stats(void **state)
{
	char *args[] = { "--vcpus", "1", "--out", "0x70:500", "--hlt", "9", "--linger", "3000",
			 "-name", "kvmstats", NULL };
	json_t *res = NULL, *vm = NULL, *ks, *values;
	char params[64];
	long long pid, io = 0;
	char *backend;
	pid_t child;
	int fd;

	child = start_guest_async(args, &fd);
	pid = wait_vm_named("kvmstats");
	snprintf(params, sizeof(params), "{\"pid\":%lld}", pid);
	/* Until the guest is done (its 501 IO exits) and lingers. */
	for (int i = 0; i < 200 && io < 501; i++) {
		json_decref(res);
		res = rpc("exits.get", params);
		vm = find_vm(res, pid);
		io = sum_records(json_object_get(vm, "userspace_exits"), "reason", "IO", -1);
		if (io < 501)
			usleep(10 * 1000);
	}
	assert_int_equal(io, 501);
	ks = json_object_get(vm, "kvm_stats");
	values = json_object_get(ks, "values");
	backend = daemon_backend();
	if (json_is_object(values)) {
		print_message("[   INFO   ] debugfs %s: io_exits %lld, halt_exits %lld, exits %lld\n",
			      json_string_value(json_object_get(ks, "source")),
			      obj_int(values, "io_exits"), obj_int(values, "halt_exits"),
			      obj_int(values, "exits"));
		assert_int_equal(obj_int(values, "halt_exits"), 9);
		if (!strcmp(backend, "kvm_amd"))
			assert_int_equal(obj_int(values, "io_exits"), 501);
	} else {
		const char *e = json_string_value(json_object_get(ks, "error"));

		assert_non_null(e);
		print_message("[   INFO   ] debugfs statistics unavailable here: %s\n", e);
		/* The lab's debugfs is readable; this sandbox's answers EPERM. */
		if (!strcmp(backend, "kvm_amd"))
			fail_msg("KVM debugfs statistics should be readable in the lab: %s", e);
	}
	free(backend);
	json_decref(res);
	assert_int_equal(guest_pid_from(fd, child), pid);
}

static void test_events_bad_params(void **state)
{
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"sample\":0}}",
		     -32602, "sample");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"reason\":5}}",
		     -32602, "reason");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"bogus\":1}}",
		     -32602, "bogus");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.unsubscribe\",\"params\":{\"subscription\":999}}",
		     -32004, "999");
}

static void test_second_daemon_refused(void **state)
{
	char log2[160], port[32];
	char *argv[] = { bin("kvmscoped"), "--socket", sock_path, "--metrics", port, NULL };
	struct proc_result r;
	json_t *st;

	snprintf(port, sizeof(port), "127.0.0.1:%d", pick_free_port());
	snprintf(log2, sizeof(log2), "%s/second.log", tmpdir);
	r = run(argv);
	assert_int_equal(r.status, 1);
	if (!strstr(r.err, "already serving"))
		fail_msg("second daemon's message does not say the socket is taken: %s", r.err);
	assert_contains(r.err, sock_path);
	proc_result_free(&r);
	/* The first daemon still owns and serves the socket. */
	st = rpc("status", NULL);
	assert_int_equal(obj_int(st, "pid"), daemon_pid);
	json_decref(st);
}

static void test_cli_without_daemon(void **state)
{
	char *argv[] = { bin("kvmscopectl"), "--socket", "/tmp/kvmscope-no-such.sock", "status", NULL };
	struct proc_result r = run(argv);

	assert_int_equal(r.status, 3);
	assert_contains(r.err, "/tmp/kvmscope-no-such.sock");
	assert_contains(r.err, "Start the daemon");
	proc_result_free(&r);
}

static void test_usage_errors(void **state)
{
	/* Each bad command line exits 2 and names what was wrong ("" : no check). */
	static const struct {
		const char *prog;
		const char *args[4];
		const char *named;
	} cases[] = {
		{ "kvmscoped", { "--bogus" }, "--bogus" },
		{ "kvmscoped", { "--metrics", "nowhere" }, "nowhere" },
		{ "kvmscoped", { "--retain-exited", "-5" }, "--retain-exited" },
		{ "kvmscopectl", { "frobnicate" }, "frobnicate" },
		{ "kvmscopectl", { "exits", "--pid", "abc" }, "abc" },
		{ "kvmscopectl", { NULL }, "Usage" },
		{ "kvmscopectl", { "vms", "--vcpu", "1" }, "--vcpu" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[6] = { bin(cases[i].prog) };
		struct proc_result r;

		for (size_t a = 0; a < 4 && cases[i].args[a]; a++)
			argv[a + 1] = (char *)cases[i].args[a];
		r = run(argv);
		assert_int_equal(r.status, 2);
		assert_contains(r.err, cases[i].named);
		proc_result_free(&r);
	}
}

static void test_status_reports_probes(void **state)
{
	struct proc_result r = ctl("--json", "status", NULL, NULL, NULL, NULL);
	json_t *st, *cap, *probe, *driver;
	size_t i, kmod_probes = 0;
	bool userspace_attached = false, hw_backend, amd, kmod_driver = test_driver_is("kmod");
	const char *name, *type, *backend;

	assert_int_equal(r.status, 0);
	st = parse_json(r.out);
	proc_result_free(&r);
	backend = json_string_value(json_object_get(st, "kvm_backend"));
	amd = backend && !strcmp(backend, "kvm_amd");
	hw_backend = amd || (backend && !strcmp(backend, "kvm_intel"));
	assert_string_equal(json_string_value(json_object_get(st, "version")), "0.1.0");
	assert_non_null(json_string_value(json_object_get(st, "kernel")));
	assert_non_null(strstr("kvm_intel kvm_amd kvm_pvm",
			       json_string_value(json_object_get(st, "kvm_backend"))));
	cap = json_array_get(json_object_get(st, "capabilities"), 0);
	assert_string_equal(json_string_value(json_object_get(cap, "name")), "exits");
	json_array_foreach(json_object_get(cap, "probes"), i, probe) {
		json_t *reason = json_object_get(probe, "reason");

		assert_true(json_is_boolean(json_object_get(probe, "available")));
		assert_true(json_is_boolean(json_object_get(probe, "attached")));
		/* Every probe that is not attached says why. */
		if (!json_is_true(json_object_get(probe, "attached")))
			assert_true(json_is_string(reason) && json_string_length(reason) > 0);
		name = json_string_value(json_object_get(probe, "name"));
		type = json_string_value(json_object_get(probe, "type"));
		assert_true(!strcmp(type, "tp_btf") || !strcmp(type, "tracepoint") ||
			    !strcmp(type, "fentry") || (kmod_driver && !strcmp(type, "kmod")));
		if (strstr(name, "/kvm_userspace_exit"))
			userspace_attached = json_is_true(json_object_get(probe, "attached"));
		/* --driver kmod: kvmscope.ko serves the four exit probes, attached. */
		if (kmod_driver && (strstr(name, "/kvm_exit") || strstr(name, "/kvm_entry") ||
				    strstr(name, "/kvm_userspace_exit") || strstr(name, "/kvm_pio"))) {
			assert_string_equal(type, "kmod");
			assert_string_equal(json_string_value(json_object_get(probe, "driver")), "kmod");
			assert_true(json_is_true(json_object_get(probe, "attached")));
			kmod_probes++;
			continue;
		}
		assert_string_equal(json_string_value(json_object_get(probe, "driver")), "bpf");
		/*
		 * Hardware backends fire kvm_entry: its vCPU does the syscall
		 * hook's work, and kvm_amd reads kvm_exit's reason from the VMCB.
		 */
		if (hw_backend && strstr(name, "/kvm_exit"))
			assert_string_equal(type, amd ? "tp_btf" : "tracepoint");
		if (hw_backend && strstr(name, "/kvm_entry"))
			assert_string_equal(type, "tp_btf");
		if (strstr(name, "/sys_enter_ioctl")) {
			assert_int_equal(json_is_true(json_object_get(probe, "attached")), !hw_backend);
			if (hw_backend)
				assert_non_null(strstr(json_string_value(reason), "not needed"));
		}
		/* ... and KVM_CREATE_VM is seen by an fentry (the lab allows it). */
		if (!strcmp(name, "fentry/kvm_dev_ioctl"))
			assert_int_equal(json_is_true(json_object_get(probe, "attached")), hw_backend);
	}
	assert_true(userspace_attached);
	/* Which driver serves what, and why. */
	driver = json_object_get(cap, "driver");
	assert_string_equal(json_string_value(json_object_get(driver, "requested")),
			    kmod_driver ? "kmod" : "auto");
	assert_int_equal(json_array_size(json_object_get(driver, "kmod_serves")), kmod_driver ? 4 : 0);
	assert_int_equal(kmod_probes, kmod_driver ? 4 : 0);
	if (!kmod_driver)
		assert_non_null(strstr(json_string_value(json_object_get(driver, "kmod")), "not used"));
	json_decref(st);

	r = ctl("status", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "kvm_userspace_exit");
	proc_result_free(&r);
}

static bool type_attached(json_t *types, const char *name)
{
	return json_is_true(json_object_get(json_object_get(types, name), "attached"));
}

/* status.program_types: every type probed, and what this kernel is known to allow. */
static void test_status_reports_program_types(void **state)
{
	static const char *const names[] = { "tracepoint", "raw_tp", "tp_btf", "fentry", "kprobe" };
	json_t *st = rpc("status", NULL), *types = json_object_get(st, "program_types");
	struct proc_result r;

	if (!json_is_object(types))
		fail_msg("status has no program_types object: %s", json_dumps(st, 0));
	assert_int_equal(json_object_size(types), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *t = json_object_get(types, names[i]), *error;

		if (!t)
			fail_msg("program_types has no %s", names[i]);
		error = json_object_get(t, "error");
		assert_true(json_is_boolean(json_object_get(t, "attached")));
		/* A type that does not attach says why; one that does has no error. */
		if (type_attached(types, names[i]))
			assert_true(json_is_null(error));
		else if (!json_is_string(error) || !json_string_length(error))
			fail_msg("program_types.%s is not attached and has no error", names[i]);
	}
	assert_true(type_attached(types, "tracepoint"));
	if (access("/sys/module/kvm_amd", F_OK) == 0) {
		/* The lab kernel (shared/reference/machines.md): all of these attach. */
		assert_true(type_attached(types, "tp_btf"));
		assert_true(type_attached(types, "fentry"));
	} else if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		/* The development machine: fentry load is EPERM, no kprobes. */
		assert_true(type_attached(types, "raw_tp"));
		assert_true(type_attached(types, "tp_btf"));
		assert_false(type_attached(types, "fentry"));
		assert_contains(json_string_value(json_object_get(json_object_get(types, "fentry"),
								  "error")),
				"load: Operation not permitted");
		assert_false(type_attached(types, "kprobe"));
	}
	json_decref(st);

	r = ctl("status", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "program types  tracepoint");
	proc_result_free(&r);
}

/* Compare shapes: same keys and JSON types, recursively (values may differ). */
static void assert_same_shape(json_t *example, json_t *actual, const char *where)
{
	const char *key;
	json_t *v;

	if (json_is_null(example) || json_is_null(actual))
		return;	/* optional values */
	/* Maps whose keys are data (KVM's statistic names, event names), not schema. */
	if ((strlen(where) > 17 && !strcmp(where + strlen(where) - 17, ".kvm_stats.values")) ||
	    (strlen(where) > 12 && !strcmp(where + strlen(where) - 12, ".kmod_events"))) {
		json_object_foreach(actual, key, v)
			if (!json_is_integer(v))
				fail_msg("%s.%s: not a number", where, key);
		return;
	}
	if (json_typeof(example) != json_typeof(actual) &&
	    !(json_is_number(example) && json_is_number(actual)) &&
	    !(json_is_boolean(example) && json_is_boolean(actual)))
		fail_msg("%s: example is JSON type %d, daemon sent type %d", where,
			 json_typeof(example), json_typeof(actual));
	if (json_is_object(example)) {
		json_object_foreach(example, key, v) {
			char sub[512];

			snprintf(sub, sizeof(sub), "%s.%s", where, key);
			if (!json_object_get(actual, key))
				fail_msg("%s: missing in the daemon's answer", sub);
			assert_same_shape(v, json_object_get(actual, key), sub);
		}
		json_object_foreach(actual, key, v)
			if (!json_object_get(example, key))
				fail_msg("%s.%s: sent by the daemon but not documented", where, key);
	} else if (json_is_array(example) && json_array_size(example) && json_array_size(actual)) {
		assert_same_shape(json_array_get(example, 0), json_array_get(actual, 0), where);
	}
}

/* Extract the ```json blocks that follow "Request:" and "Response:" lines. */
static void test_api_doc_examples_replay(void **state)
{
	FILE *f = fopen("docs/api.md", "r");
	char line[4096], *block = NULL, *request = NULL;
	size_t blen = 0;
	int mode = 0, replayed = 0;	/* 0 text, 1 request block, 2 response block */
	const char *want = NULL;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Request:", 8)) {
			want = "request";
		} else if (!strncmp(line, "Response:", 9)) {
			want = "response";
		} else if (!strncmp(line, "```json", 7) && want) {
			mode = !strcmp(want, "request") ? 1 : 2;
			free(block);
			block = NULL;
			blen = 0;
		} else if (!strncmp(line, "```", 3) && mode) {
			if (mode == 1) {
				free(request);
				request = block ? strdup(block) : NULL;
			} else {
				json_t *example = parse_json(block), *actual;
				json_t *req = parse_json(request);
				char *compact = json_dumps(req, JSON_COMPACT);

				actual = rpc_raw(compact);
				assert_same_shape(example, actual, json_string_value(json_object_get(req, "method")));
				replayed++;
				free(compact);
				json_decref(req);
				json_decref(example);
				json_decref(actual);
			}
			mode = 0;
			want = NULL;
		} else if (mode) {
			append(&block, &blen, line, strlen(line));
		}
	}
	fclose(f);
	free(block);
	free(request);
	print_message("[   INFO   ] replayed %d examples from docs/api.md\n", replayed);
	assert_true(replayed >= 5);
}

/* A test's own daemon, beside the main one: its pid and log name. */
static pid_t second_daemon_pid = -1;

/*
 * Runs even when the test fails: point back at the main daemon, stop the
 * test's own, drop its log @name (unless the logs are kept).
 */
static void second_daemon_stop(const char *name)
{
	char log2[160];

	snprintf(sock_path, sizeof(sock_path), "%s/kvmscope.sock", tmpdir);
	if (second_daemon_pid > 0) {
		kill(second_daemon_pid, SIGTERM);
		waitpid(second_daemon_pid, NULL, 0);
		second_daemon_pid = -1;
	}
	snprintf(log2, sizeof(log2), "%s/%s", tmpdir, name);
	if (!getenv("KVMSCOPE_KEEP_LOGS"))
		unlink(log2);
}

static int retention_teardown(void **state)
{
	second_daemon_stop("retain.log");
	return 0;
}

/* An exited VM keeps its counts for --retain-exited seconds, then is forgotten. */
static void test_retention_of_exited_vms(void **state)
{
	char sock2[100], log2[160], line[64];
	char *args[] = { "--hlt", "5", NULL };
	struct timespec ts = { 0, 250 * 1000 * 1000 };
	json_t *report, *resp;
	long long pid;
	int gone_after = -1;

	snprintf(sock2, sizeof(sock2), "%s/retain.sock", tmpdir);
	snprintf(log2, sizeof(log2), "%s/retain.log", tmpdir);
	second_daemon_pid = start_daemon(sock2, pick_free_port(), log2, "1");
	assert_true(wait_for_socket(sock2));
	snprintf(sock_path, sizeof(sock_path), "%s", sock2);

	report = run_guest(args);
	pid = obj_int(report, "pid");
	snprintf(line, sizeof(line), "{\"pid\":%lld}", pid);
	resp = rpc("exits.get", line);
	assert_int_equal(sum_records(json_object_get(find_vm(resp, pid), "userspace_exits"), "reason",
				     "HLT", -1), 5);
	json_decref(resp);
	/* Retention 1 s, checked by the 1 s timer: gone within about 2 s. */
	for (int i = 1; i <= 16 && gone_after < 0; i++) {
		char req[240];

		nanosleep(&ts, NULL);
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"exits.get\",\"params\":%s}", line);
		resp = rpc_raw(req);
		if (json_object_get(resp, "error")) {
			assert_int_equal(obj_int(json_object_get(resp, "error"), "code"), -32004);
			gone_after = i * 250;
		}
		json_decref(resp);
	}
	json_decref(report);
	if (gone_after < 0)
		fail_msg("exited VM still listed 4 s after exit with --retain-exited 1");
	assert_true(gone_after >= 750);	/* not before its retention time */
}

static int collect_teardown(void **state)
{
	second_daemon_stop("collect.log");
	return 0;
}

/*
 * --collect none: the counts stay exact while every optional view, and
 * each probe that only serves one, is off and says so.
 */
static void test_collect_none_keeps_exact_counts(void **state)
{
	char sock2[100], log2[160];
	char *args[] = { "--vcpus", "2", "--out", "0x70:300", "--in", "0x5658:20:4", "--hlt", "4",
			 "--vmware-backdoor", "10:3", "-name", "itest-collect", NULL };
	json_t *report, *res, *vm, *st, *cap, *probe, *rec, *views;
	char *backend;
	long long pid, io, hlt;
	size_t i;

	(void)state;
	snprintf(sock2, sizeof(sock2), "%s/collect.sock", tmpdir);
	snprintf(log2, sizeof(log2), "%s/collect.log", tmpdir);
	second_daemon_pid = start_daemon_collect(sock2, pick_free_port(), log2, "60", "none");
	assert_true(wait_for_socket(sock2));
	snprintf(sock_path, sizeof(sock_path), "%s", sock2);
	backend = daemon_backend();

	st = rpc("status", NULL);
	/* With --ioctls off the second capability loads nothing and says why. */
	cap = json_array_get(json_object_get(st, "capabilities"), 1);
	assert_string_equal(json_string_value(json_object_get(cap, "name")), "ioctls");
	assert_false(json_is_true(json_object_get(cap, "loaded")));
	assert_string_equal(json_string_value(json_object_get(cap, "error")), "off (--ioctls off)");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ioctls.get\"}", -32005,
		     "ioctls are not observed: off (--ioctls off)");
	cap = json_array_get(json_object_get(st, "capabilities"), 0);
	views = json_object_get(cap, "collect");
	assert_true(json_is_array(views) && json_array_size(views) == 0);
	json_array_foreach(json_object_get(cap, "probes"), i, probe) {
		const char *name = json_string_value(json_object_get(probe, "name"));

		if (strstr(name, "/kvm_entry") || strstr(name, "/kvm_pio") || strstr(name, "/kvm_mmio") ||
		    strstr(name, "/kvm_msr") || strstr(name, "/kvm_cpuid") || strstr(name, "/kvm_hypercall")) {
			assert_false(json_is_true(json_object_get(probe, "attached")));
			assert_non_null(strstr(json_string_value(json_object_get(probe, "reason")),
					       "switched off: --collect has no"));
		}
		if (strstr(name, "/kvm_exit"))
			assert_true(json_is_true(json_object_get(probe, "attached")));
		/* Userspace exits are a view where kvm_exit counts, the counts where it does not. */
		if (strstr(name, "/kvm_userspace_exit") && !strcmp(backend, "kvm_amd")) {
			assert_false(json_is_true(json_object_get(probe, "attached")));
			assert_string_equal(json_string_value(json_object_get(probe, "reason")),
					    "switched off: --collect has no backdoor nor vmm");
		} else if (strstr(name, "/kvm_userspace_exit")) {
			assert_true(json_is_true(json_object_get(probe, "attached")));
		}
	}
	assert_string_equal(json_string_value(json_object_get(cap, "state")), "active");
	assert_false(json_is_true(json_object_get(json_object_get(cap, "handling_latency"), "available")));
	assert_false(json_is_true(json_object_get(json_object_get(cap, "vmm_latency"), "available")));
	assert_false(json_is_true(json_object_get(json_object_get(cap, "vmware_backdoor"), "available")));
	assert_int_equal(json_is_true(json_object_get(json_object_get(cap, "userspace_exits"), "available")),
			 strcmp(backend, "kvm_amd") != 0);
	json_decref(st);

	report = run_guest(args);
	pid = obj_int(report, "pid");
	io = obj_int(json_object_get(report, "userspace_exits"), "IO");
	hlt = obj_int(json_object_get(report, "userspace_exits"), "HLT");
	assert_int_equal(io, 300 + 20 + 3 + 2);
	vm = exits_of(pid, &res);
	if (!strcmp(backend, "kvm_amd")) {
		/* The exits are counted once, at kvm_exit: per VM and per vCPU. */
		assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "io", -1), io);
		assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "hlt", -1), hlt);
		assert_int_equal(json_array_size(json_object_get(vm, "userspace_exits")), 0);
		json_array_foreach(json_object_get(report, "per_vcpu"), i, rec) {
			long long v = obj_int(rec, "vcpu");

			assert_int_equal(sum_records(json_object_get(vm, "hardware_exits"), "reason", "io", v),
					 obj_int(json_object_get(rec, "userspace_exits"), "IO"));
		}
	} else {
		assert_int_equal(sum_records(json_object_get(vm, "userspace_exits"), "reason", "IO", -1), io);
		assert_int_equal(sum_records(json_object_get(vm, "userspace_exits"), "reason", "HLT", -1), hlt);
		/* Per vCPU too: the vCPU is still resolved without kvm_entry. */
		json_array_foreach(json_object_get(report, "per_vcpu"), i, rec) {
			long long v = obj_int(rec, "vcpu");

			assert_int_equal(sum_records(json_object_get(vm, "userspace_exits"), "reason", "IO", v),
					 obj_int(json_object_get(rec, "userspace_exits"), "IO"));
		}
	}
	json_array_foreach(json_object_get(vm, "hardware_exits"), i, rec) {
		assert_non_null(json_object_get(rec, "latency"));
		assert_true(json_is_null(json_object_get(rec, "latency")));
	}
	json_array_foreach(json_object_get(vm, "userspace_exits"), i, rec)
		assert_true(json_is_null(json_object_get(rec, "vmm_time")));
	assert_int_equal(json_array_size(json_object_get(vm, "pio")), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(vm, "vmware_backdoor"),
							 "entries")), 0);
	assert_int_equal(obj_int(json_object_get(vm, "vmware_backdoor"), "no_magic"), 0);
	json_decref(res);
	json_decref(report);
	free(backend);
}

/* Last: SIGTERM stops the daemon cleanly and removes the socket. */
/*
 * A guest name built to drive a terminal: OSC title, BEL, clear screen, a
 * new line, and a C1 CSI in UTF-8 (which JSON escaping alone lets through).
 */
#define EVIL_NAME "evil\x1b]0;pwned\x07\x1b[2J\nname\xc2\x9b" "6n"
#define EVIL_NAME_ESCAPED "evil\\x1b]0;pwned\\x07\\x1b[2J\\nname\\xc2\\x9b6n"

/* None of EVIL_NAME's controls in @text, and its escaped form @want_escaped times at least. */
static void assert_no_raw_evil(const char *what, const char *text, bool want_escaped)
{
	if (strchr(text, '\x1b') || strchr(text, '\x07') || strstr(text, "\xc2\x9b"))
		fail_msg("%s has a raw ESC, BEL or CSI: %.2000s", what, text);
	/* The name's newline would start a line with "name". */
	if (strstr(text, "\nname"))
		fail_msg("%s has the name's newline raw: %.2000s", what, text);
	if (want_escaped && !strstr(text, EVIL_NAME_ESCAPED))
		fail_msg("%s lacks the escaped name '%s': %.2000s", what, EVIL_NAME_ESCAPED, text);
}

/*
 * What a guest owner puts in -name reaches vms, exits, events and the
 * daemon log escaped; --json keeps the exact name, as JSON escapes.
 */
static void test_untrusted_names_are_escaped(void **state)
{
	char *args[] = { "--vcpus", "1", "--out", "0x70:3", "--start-delay", "1500",
			 "-uuid", "0badc0de-0000-4000-8000-000000000001", "-name", EVIL_NAME, NULL };
	char *backend = daemon_backend(), pidarg[24], *logtext;
	bool hw = !strcmp(backend, "kvm_amd") || !strcmp(backend, "kvm_intel");
	struct proc_result r;
	json_t *res, *vm;
	long long pid;
	size_t i;
	FILE *f;
	long len;
	pid_t child;
	int fd;

	free(backend);
	child = start_guest_async(args, &fd);
	pid = wait_vm_named(EVIL_NAME);
	snprintf(pidarg, sizeof(pidarg), "%lld", pid);
	/* As test_events_cli: 4 userspace IO, hardware ones where they fire, the VM's exit. */
	r = ctl("events", "--pid", pidarg, "--reason=io", "--count", hw ? "9" : "5");
	assert_int_equal(guest_pid_from(fd, child), pid);
	if (r.status != 0)
		fail_msg("kvmscopectl events failed (%d): %s", r.status, r.err);
	assert_int_equal(count_substr(r.out, "VM exit"), 1);
	assert_no_raw_evil("events", r.out, true);
	proc_result_free(&r);

	/* The same stream as JSON: re-encoded by the CLI with every non-ASCII character escaped. */
	child = start_guest_async(args, &fd);
	pid = wait_vm_named(EVIL_NAME);
	snprintf(pidarg, sizeof(pidarg), "%lld", pid);
	r = ctl("--json", "events", "--pid", pidarg, "--reason=io", hw ? "--count=9" : "--count=5");
	assert_int_equal(guest_pid_from(fd, child), pid);
	if (r.status != 0)
		fail_msg("kvmscopectl --json events failed (%d): %s", r.status, r.err);
	assert_no_raw_evil("--json events", r.out, false);
	assert_contains(r.out, "\\u001B]0;pwned\\u0007");
	assert_contains(r.out, "\\u009B6n");
	proc_result_free(&r);

	r = ctl("vms", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_no_raw_evil("vms", r.out, true);
	assert_contains(r.out, "0badc0de-0000-4000-8000-000000000001");
	assert_contains(r.out, "UUID");
	assert_contains(r.out, "LIBVIRT");
	assert_contains(r.out, "CGROUP");
	proc_result_free(&r);

	r = ctl("exits", "--pid", pidarg, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_no_raw_evil("exits", r.out, true);
	proc_result_free(&r);
	r = ctl("exits", "--pid", pidarg, "--hist", "user:IO", NULL);
	assert_int_equal(r.status, 0);
	assert_no_raw_evil("exits --hist", r.out, true);
	proc_result_free(&r);

	/* JSON stays JSON: the exact name, and no raw control on the terminal. */
	r = ctl("--json", "vms", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_no_raw_evil("--json vms", r.out, false);
	res = parse_json(r.out);
	json_array_foreach(json_object_get(res, "vms"), i, vm)
		if (obj_int(vm, "pid") == pid)
			assert_string_equal(json_string_value(json_object_get(vm, "name")), EVIL_NAME);
	json_decref(res);
	proc_result_free(&r);

	f = fopen(log_path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	logtext = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(logtext, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_no_raw_evil("the daemon log", logtext, true);
	free(logtext);
}

/* Accept every connection on @path and never answer; returns the server's pid. */
static pid_t start_silent_server(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			if (accept(lfd, NULL, NULL) < 0 && errno != EINTR)
				_exit(1);
	}
	close(lfd);
	return pid;
}

/*
 * kvmscopectl never waits for ever: a daemon that accepts and never
 * answers fails every verb after --timeout, naming the socket; an
 * unknown --reason is refused before any connection, with the names.
 */
static void test_cli_never_waits_forever(void **state)
{
	static const char *const verbs[][3] = {
		{ "status" }, { "vms" }, { "exits" }, { "events", "--count", "1" },
		{ "top", "--once" }, { "call", "status" },
	};
	char silent[128];
	pid_t server;
	struct proc_result r;

	snprintf(silent, sizeof(silent), "%s/silent.sock", tmpdir);
	server = start_silent_server(silent);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char *argv[10] = { bin("kvmscopectl"), "--socket", silent, "--timeout", "0.5",
				   (char *)verbs[i][0], (char *)verbs[i][1], (char *)verbs[i][2] };
		struct timespec t0, t1;
		double took;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = run(argv);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (r.status != 3)
			fail_msg("%s against a silent daemon: exit %d, not 3: %s", verbs[i][0], r.status, r.err);
		assert_contains(r.err, silent);
		assert_contains(r.err, "no answer within 0.5 s");
		if (took < 0.4 || took > 5)
			fail_msg("%s gave up after %.2f s, not after its 0.5 s timeout", verbs[i][0], took);
		proc_result_free(&r);
	}
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	unlink(silent);

	r = ctl("events", "--reason", "no-such-reason", NULL, NULL, NULL);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "kvmscopectl: events: --reason: no exit reason is called 'no-such-reason'");
	assert_contains(r.err, "IO_INSTRUCTION");
	assert_contains(r.err, "HLT");
	assert_contains(r.err, "Try 'kvmscopectl --help'");
	proc_result_free(&r);
}

static void test_sigterm_is_clean(void **state)
{
	int st;

	assert_int_equal(kill(daemon_pid, SIGTERM), 0);
	assert_int_equal(waitpid(daemon_pid, &st, 0), daemon_pid);
	daemon_pid = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(sock_path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_reports_probes),
		cmocka_unit_test(test_status_reports_program_types),
		cmocka_unit_test(test_exact_counts_cli),
		cmocka_unit_test(test_exact_counts_metrics),
		cmocka_unit_test(test_metrics_pass_promtool),
		cmocka_unit_test_teardown(test_bpf_run_time_per_program, bpf_cost_teardown),
		cmocka_unit_test(test_vcpu_filter),
		cmocka_unit_test(test_mmio_counts),
		cmocka_unit_test(test_latency_accounts_for_every_exit),
		cmocka_unit_test(test_kvm_run_errors_are_restarts),
		cmocka_unit_test(test_detail_counts),
		cmocka_unit_test(test_ioctls_match_the_guest),
		cmocka_unit_test(test_vmgexit_synthetic),
		cmocka_unit_test(test_ioctl_topic_is_exact),
		cmocka_unit_test(test_hypercall_counts),
		cmocka_unit_test(test_vmware_backdoor_through_gp),
		cmocka_unit_test(test_isas_seen),
		cmocka_unit_test(test_libvirt_identity),
		cmocka_unit_test(test_running_vm_is_listed),
		cmocka_unit_test(test_unknown_pid_is_an_error),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_events_stream_exact),
		cmocka_unit_test(test_events_slow_client_loses_not_the_daemon),
		cmocka_unit_test(test_events_cli),
		cmocka_unit_test(test_events_kernel_filters_by_pid),
		cmocka_unit_test(test_livepatch_methods),
		cmocka_unit_test(test_kmod_unavailable),
		cmocka_unit_test(test_events_topics),
		cmocka_unit_test(test_events_cli_topics),
		cmocka_unit_test(test_kvm_debugfs_stats),
		cmocka_unit_test(test_bash_completion),
		cmocka_unit_test(test_events_bad_params),
		cmocka_unit_test(test_second_daemon_refused),
		cmocka_unit_test(test_cli_without_daemon),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_api_doc_examples_replay),
		cmocka_unit_test_teardown(test_retention_of_exited_vms, retention_teardown),
		cmocka_unit_test_teardown(test_collect_none_keeps_exact_counts, collect_teardown),
		cmocka_unit_test(test_untrusted_names_are_escaped),
		cmocka_unit_test(test_cli_never_waits_forever),
		cmocka_unit_test(test_sigterm_is_clean),
	};

	/*
	 * Tests of user space alone, the same on every kernel: run on the host
	 * (and under the sanitizers), not again in each TCG lab kernel, where
	 * they would add minutes and prove nothing new.  KVMSCOPE_LAB_ALL=1
	 * runs them in the lab too.
	 */
	static const char *const host_only[] = {
		"test_unknown_pid_is_an_error", "test_protocol_errors", "test_concurrent_clients",
		"test_bash_completion", "test_events_bad_params", "test_second_daemon_refused",
		"test_cli_without_daemon", "test_usage_errors", "test_api_doc_examples_replay",
		"test_untrusted_names_are_escaped", "test_cli_never_waits_forever", NULL,
	};
	/*
	 * With --driver kmod (integration-kmod, the suite's second run in one
	 * lab kernel) the tests that no exit driver feeds (ioctls, identity,
	 * livepatch, debugfs, retention) ran in the first, BPF run already.
	 */
	static const char *const driver_free[] = {
		"test_status_reports_program_types", "test_ioctls_match_the_guest",
		"test_ioctl_topic_is_exact", "test_libvirt_identity", "test_running_vm_is_listed",
		"test_livepatch_methods", "test_events_cli_topics", "test_kvm_debugfs_stats",
		"test_retention_of_exited_vms",
		/* These two would only skip: no BPF program runs; the module is loaded. */
		"test_bpf_run_time_per_program", "test_kmod_unavailable", NULL,
	};
	struct CMUnitTest run[sizeof(tests) / sizeof(tests[0])];
	size_t n = test_lab_select("integration", HOST_ONLY_WHY, tests, sizeof(tests) / sizeof(tests[0]), host_only, run);

	if (test_driver_is("kmod"))
		n = test_lab_select("integration",
				    "that no exit driver feeds ran in the BPF run and are not rerun with --driver kmod",
				    run, n, driver_free, run);
	return _cmocka_run_group_tests("integration", run, n, group_setup, group_teardown);
}
