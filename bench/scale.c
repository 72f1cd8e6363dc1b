// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/scale.c (make bench-scale): how kvmscoped holds up at the daemon-core
 * issue's scale.  Figures, not pass/fail: one table of every target, what
 * was measured and whether it is met, also written to BUILD/bench/scale.txt.
 *
 * Part 1, synthetic: 1,000 sleeping processes stand in for VMs.  Their
 * vCPUs go straight into the daemon's own pinned maps, laid out as the BPF
 * programs write them: each takes a slot index from free_slots and is
 * written into that slot of the mmapped slots table (counts, histogram
 * lines, port table), then its VM into vms_seen.  So the daemon's tick
 * reads them exactly as it would read a busy host's.  Then the socket,
 * /metrics, the tick, RSS and idle CPU are measured, and the counts of
 * sampled VMs checked.
 *
 * Part 2, real guests: at least 200 test guests with 2 vCPUs each on
 * /dev/kvm, started staggered; the same latencies and the tick while they
 * live, then every guest's own report against what the daemon counted.
 *
 * Every process started here dies with us (PR_SET_PDEATHSIG) and is killed
 * on every way out; the pinned state is removed with kvmscoped --cleanup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "kvmscope/exits.h"
#include "kvmscoped.h"

#define PROG "bench-scale"
/* The whole run, whatever happens: then everything is killed. */
#define OVERALL_TIMEOUT_S 1500
/* No single request may take longer than this. */
#define IO_TIMEOUT_S 60
#define BATCH 4096

static struct {
	const char *build;
	unsigned vms, vcpus, hw_reasons, user_reasons, guests;
	unsigned single_requests, all_requests, scrapes, ticks, idle_s;
	unsigned tick_ms;
	const char *latency_labels;
} cfg = {
	.build = "build", .vms = 1000, .vcpus = 8, .hw_reasons = 20, .user_reasons = 4,
	.guests = 200, .single_requests = 1000, .all_requests = 30, .scrapes = 10, .ticks = 10,
	.idle_s = 10, .tick_ms = 1000, .latency_labels = "vm",
};

/* Slots kept free beyond the synthetic vCPUs: real vCPU threads on this host take them too. */
#define SLOTS_SPARE 256

/* Part 1's --max-threads: a counter slot for every synthetic vCPU. */
static unsigned slots_wanted(void)
{
	return cfg.vms * cfg.vcpus + SLOTS_SPARE;
}

/* Everything that must not outlive us; read by the cleanup, also from signals. */
static pid_t daemon_pid = -1;
static pid_t *children;		/* sleepers or guests */
static unsigned n_children;
static char kvmscoped_path[PATH_MAX], pin_dir[128], tmp_dir[64], sock_path[128];
static char metrics_addr[64];
static int metrics_port;

/* ---- the result table ---- */

struct row {
	char target[64], goal[24], measured[96], met[8];
};
static struct row rows[64];
static unsigned n_rows;
static char notes[4096];

static void row_add(const char *target, const char *goal, const char *met, const char *fmt, ...)
{
	struct row *r;
	va_list ap;

	if (n_rows >= sizeof(rows) / sizeof(rows[0]))
		return;
	r = &rows[n_rows++];
	snprintf(r->target, sizeof(r->target), "%s", target);
	snprintf(r->goal, sizeof(r->goal), "%s", goal);
	snprintf(r->met, sizeof(r->met), "%s", met);
	va_start(ap, fmt);
	vsnprintf(r->measured, sizeof(r->measured), fmt, ap);
	va_end(ap);
	printf(PROG ": %-40s %s\n", r->target, r->measured);
	fflush(stdout);
}

static void note(const char *fmt, ...)
{
	size_t len = strlen(notes);
	va_list ap;

	if (len + 4 >= sizeof(notes))
		return;
	notes[len++] = '-';
	notes[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(notes + len, sizeof(notes) - len - 1, fmt, ap);
	va_end(ap);
	len = strlen(notes);
	if (len + 1 < sizeof(notes)) {
		notes[len] = '\n';
		notes[len + 1] = '\0';
	}
}

static void table_print(FILE *f)
{
	fprintf(f, "%-40s %-12s %-44s %s\n", "target", "goal", "measured", "met");
	for (unsigned i = 0; i < n_rows; i++)
		fprintf(f, "%-40s %-12s %-44s %s\n", rows[i].target, rows[i].goal, rows[i].measured,
			rows[i].met);
	if (notes[0])
		fprintf(f, "\n%s", notes);
}

/* ---- processes ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait for @pid up to @ms; SIGKILL it after that.  Async-signal-safe. */
static void reap(pid_t pid, unsigned ms)
{
	for (unsigned waited = 0; waited < ms; waited += 10) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void kill_children(void)
{
	for (unsigned i = 0; i < n_children; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	for (unsigned i = 0; i < n_children; i++)
		if (children[i] > 0)
			waitpid(children[i], NULL, 0);
	n_children = 0;
}

/* SIGTERM: kvmscoped removes its pins on a clean stop. */
static void daemon_stop(void)
{
	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	reap(daemon_pid, 10000);
	daemon_pid = -1;
}

/* kvmscoped --cleanup --pin-dir X, to be sure nothing stays pinned. */
static void pins_cleanup(void)
{
	pid_t pid;

	if (!pin_dir[0])
		return;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(kvmscoped_path, "kvmscoped", "--cleanup", "--pin-dir", pin_dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		reap(pid, 10000);
	rmdir(pin_dir);
}

static void cleanup(void)
{
	kill_children();
	daemon_stop();
	pins_cleanup();
}

static void on_fatal_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cleanup();
	if (tmp_dir[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, PROG ": cannot remove %s\n", tmp_dir);
	}
	if (n_rows) {
		fprintf(stderr, PROG ": measured so far:\n");
		table_print(stderr);
	}
	exit(1);
}

/* A child that dies with us. */
static pid_t fork_child(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
	}
	return pid;
}

static int free_tcp_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void daemon_start(const char *log, bool big_maps)
{
	char tick[16], threads[16];
	char *args[32];
	int n = 0;
	pid_t pid;

	snprintf(tick, sizeof(tick), "%u", cfg.tick_ms);
	metrics_port = free_tcp_port();
	if (metrics_port < 0)
		die("cannot find a free TCP port on 127.0.0.1: %s", strerror(errno));
	snprintf(metrics_addr, sizeof(metrics_addr), "127.0.0.1:%d", metrics_port);
	unlink(sock_path);
	args[n++] = "kvmscoped";
	args[n++] = "--socket";
	args[n++] = sock_path;
	args[n++] = "--metrics";
	args[n++] = metrics_addr;
	args[n++] = "--pin-dir";
	args[n++] = pin_dir;
	args[n++] = "--tick-ms";
	args[n++] = tick;
	args[n++] = "--latency-labels";
	args[n++] = (char *)cfg.latency_labels;
	if (big_maps) {
		/* --max-keys as by default: the hash maps hold only what a slot cannot. */
		snprintf(threads, sizeof(threads), "%u", slots_wanted());
		args[n++] = "--max-vms";
		args[n++] = "4096";
		args[n++] = "--max-threads";
		args[n++] = threads;
	}
	args[n] = NULL;
	pid = fork_child();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		/* TERM, not KILL: it unpins on its way out even if we crash. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(kvmscoped_path, args);
		_exit(127);
	}
	daemon_pid = pid;
	if (test_kvmscoped_wait(sock_path, pid, 60000) < 0) {
		daemon_pid = -1;
		reap(pid, 1000);
		die("kvmscoped did not come up on %s within 60 s; its log: %s", sock_path, log);
	}
}

/* ---- JSON-RPC over the socket ---- */

struct conn {
	int fd;
	char *buf;
	size_t len, cap;	/* bytes held; the line ends at the first '\n' */
};

static void conn_open(struct conn *c)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };

	memset(c, 0, sizeof(*c));
	c->fd = test_connect_unix(sock_path);
	if (c->fd < 0)
		die("cannot connect to %s: %s", sock_path, strerror(-c->fd));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/*
 * Send one request line and read the answer line; *@seconds is the round
 * trip.  The answer (NUL-terminated, without the newline) is in c->buf,
 * its length returned.
 */
static size_t rpc_roundtrip(struct conn *c, const char *method, const char *params, double *seconds)
{
	static unsigned id;
	char req[512];
	size_t scanned = 0;
	double t0;
	int n;

	n = snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"%s\"%s%s}\n", ++id,
		     method, params ? ",\"params\":" : "", params ? params : "");
	c->len = 0;
	t0 = now_s();
	if (write(c->fd, req, (size_t)n) != n)
		die("cannot send %s: %s", method, strerror(errno));
	for (;;) {
		ssize_t r;
		char *nl;

		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 1 << 20;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				die("out of memory reading an answer of %zu bytes", c->len);
		}
		r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (r <= 0)
			die("reading the answer to %s: %s", method, r ? strerror(errno) : "connection closed");
		c->len += (size_t)r;
		nl = memchr(c->buf + scanned, '\n', c->len - scanned);
		scanned = c->len;
		if (nl) {
			*seconds = now_s() - t0;
			*nl = '\0';
			return (size_t)(nl - c->buf);
		}
	}
}

/* The result of a call, or NULL with *@code set to the JSON-RPC error code. */
static json_t *rpc_call(struct conn *c, const char *method, const char *params, int *code, double *seconds)
{
	json_error_t jerr;
	double t;
	json_t *root, *result, *error;

	rpc_roundtrip(c, method, params, seconds ? seconds : &t);
	root = json_loads(c->buf, 0, &jerr);
	if (!root)
		die("the answer to %s is not JSON: %s", method, jerr.text);
	*code = 0;
	result = json_incref(json_object_get(root, "result"));
	error = json_object_get(root, "error");
	if (!result)
		*code = error ? (int)json_integer_value(json_object_get(error, "code")) : -1;
	json_decref(root);
	return result;
}

static json_t *rpc_must(struct conn *c, const char *method, const char *params)
{
	int code;
	json_t *r = rpc_call(c, method, params, &code, NULL);

	if (!r)
		die("%s %s failed with error %d", method, params ? params : "", code);
	return r;
}

/* ---- /metrics over HTTP ---- */

/* One scrape: its time, its size and its samples (non-comment lines). */
static int scrape(double *seconds, size_t *bytes, size_t *samples)
{
	static char *buf;
	static size_t cap;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	size_t len = 0;
	char *body, *p;
	double t0;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = now_s();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		int r = -errno;

		close(fd);
		return r;
	}
	for (;;) {
		ssize_t r;

		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory reading /metrics");
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			r = -errno;
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*seconds = now_s() - t0;
	close(fd);
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 9, "200", 3))
		return -EPROTO;
	body = strstr(buf, "\r\n\r\n");
	if (!body)
		return -EPROTO;
	body += 4;
	*bytes = len - (size_t)(body - buf);
	*samples = 0;
	for (p = body; *p; ) {
		char *nl = strchr(p, '\n');

		if (*p != '#' && *p != '\n')
			(*samples)++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/* ---- figures ---- */

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile @q (0..1) of @v, sorted here. */
static double pct(double *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), dbl_cmp);
	k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

static long status_field_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':')
			kb = strtol(line + flen + 1, NULL, 10);
	fclose(f);
	return kb;
}

/* utime + stime of @pid, in clock ticks. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After "pid (comm)": state is field 3; utime, stime are 14 and 15. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static const char *yes_no(bool met)
{
	return met ? "yes" : "NO";
}

/* ---- measurements shared by both parts ---- */

static uint64_t status_tick(struct conn *c, double *last_ms, double *max_ms)
{
	json_t *st = rpc_must(c, "status", NULL), *tick = json_object_get(st, "tick");
	uint64_t count = (uint64_t)json_integer_value(json_object_get(tick, "count"));

	*last_ms = json_number_value(json_object_get(tick, "last_ms"));
	*max_ms = json_number_value(json_object_get(tick, "max_ms"));
	json_decref(st);
	return count;
}

static unsigned status_running(struct conn *c)
{
	json_t *st = rpc_must(c, "status", NULL);
	unsigned n = (unsigned)json_integer_value(json_object_get(json_object_get(st, "vms"), "running"));

	json_decref(st);
	return n;
}

/* Wait until the daemon ran @n more ticks (bounded). */
static void wait_ticks(struct conn *c, unsigned n)
{
	double last, max, deadline = now_s() + (n + 2) * (cfg.tick_ms / 1000.0) + 30;
	uint64_t start = status_tick(c, &last, &max);

	while (status_tick(c, &last, &max) < start + n)
		if (now_s() > deadline)
			die("kvmscoped ran fewer than %u ticks in %.0f s", n,
			    (n + 2) * (cfg.tick_ms / 1000.0) + 30);
		else
			sleep_ms(50);
}

/* Every tick's last_ms over @n ticks, polled from status. */
static void measure_ticks(struct conn *c, const char *part)
{
	double last, max, *v = calloc(cfg.ticks + 1, sizeof(*v));
	double deadline = now_s() + (cfg.ticks + 2) * (cfg.tick_ms / 1000.0) + 60, worst, p50;
	uint64_t seen = status_tick(c, &last, &max), cnt;
	unsigned n = 0;
	char target[64];

	if (!v)
		die("out of memory");
	while (n < cfg.ticks) {
		if (now_s() > deadline)
			die("%s: kvmscoped ran only %u ticks in time", part, n);
		sleep_ms(cfg.tick_ms / 20 ? cfg.tick_ms / 20 : 1);
		cnt = status_tick(c, &last, &max);
		if (cnt != seen) {
			seen = cnt;
			v[n++] = last;
		}
	}
	p50 = pct(v, n, 0.5);
	worst = v[n - 1];
	snprintf(target, sizeof(target), "%s: tick (last_ms over %u ticks)", part, n);
	row_add(target, "< 20 ms", yes_no(worst < 20), "p50 %.2f ms, max %.2f ms", p50, worst);
	snprintf(target, sizeof(target), "%s: tick max_ms since start", part);
	row_add(target, "(info)", "-", "%.2f ms", max);
	free(v);
}

/* exits.get {"pid"} over @pids (round robin from a random start): p50, p99. */
static void measure_single(struct conn *c, const char *part, const pid_t *pids, unsigned n_pids)
{
	double *v = calloc(cfg.single_requests, sizeof(*v));
	size_t bytes = 0;
	unsigned errors = 0, first_error = 0;
	char target[64], params[64];

	if (!v)
		die("out of memory");
	for (unsigned i = 0; i < cfg.single_requests; i++) {
		snprintf(params, sizeof(params), "{\"pid\":%d}", (int)pids[(i * 7919u) % n_pids]);
		bytes += rpc_roundtrip(c, "exits.get", params, &v[i]);
		if (strstr(c->buf, "\"error\"") && !strstr(c->buf, "\"result\"")) {
			if (!errors)
				first_error = i;
			errors++;
		}
		v[i] *= 1000;
	}
	snprintf(target, sizeof(target), "%s: exits.get one VM p99 (%u req)", part,
		 cfg.single_requests);
	{
		double p50 = pct(v, cfg.single_requests, 0.5), p99 = pct(v, cfg.single_requests, 0.99);

		row_add(target, "< 1 ms", yes_no(p99 < 1 && !errors), "p50 %.3f ms, p99 %.3f ms, %zu B/answer",
			p50, p99, bytes / cfg.single_requests);
	}
	if (errors)
		note("%s: %u of %u exits.get {\"pid\"} answers were errors (first: request %u)", part,
		     errors, cfg.single_requests, first_error);
	free(v);
}

/* exits.get of every VM, full or summary (@params "{\"view\":\"summary\"}"). */
static void measure_all(struct conn *c, const char *part, const char *params)
{
	double *v = calloc(cfg.all_requests, sizeof(*v));
	size_t bytes = 0;
	unsigned errors = 0, n = 0;
	char target[64], err[200] = "";
	double budget = now_s() + 120;

	if (!v)
		die("out of memory");
	for (; n < cfg.all_requests && now_s() < budget; n++) {
		bytes = rpc_roundtrip(c, "exits.get", params, &v[n]);
		v[n] *= 1000;
		if (strncmp(c->buf, "{\"jsonrpc\":\"2.0\",\"error\"", 24) == 0 ||
		    (bytes < 4096 && strstr(c->buf, "\"error\""))) {
			errors++;
			snprintf(err, sizeof(err), "%.180s", c->buf);
		}
	}
	snprintf(target, sizeof(target), "%s: exits.get all VMs%s p99 (%u req)", part,
		 params ? ", summary" : "", n);
	{
		double p50 = pct(v, n, 0.5), p99 = pct(v, n, 0.99);

		row_add(target, "< 50 ms", yes_no(p99 < 50 && !errors), "p50 %.1f ms, p99 %.1f ms, %.1f MB%s",
			p50, p99, bytes / 1e6, errors ? ", ERROR" : "");
	}
	if (errors)
		note("%s: %u of %u exits.get (all VMs) answered an error: %s", part, errors, n, err);
	if (n < cfg.all_requests)
		note("%s: exits.get (all VMs) stopped after %u requests: 120 s budget", part, n);
	free(v);
}

static void measure_metrics(const char *part)
{
	double *v = calloc(cfg.scrapes, sizeof(*v)), budget = now_s() + 180;
	size_t bytes = 0, samples = 0, lo = SIZE_MAX, hi = 0;
	unsigned n = 0;
	char target[64];

	if (!v)
		die("out of memory");
	for (; n < cfg.scrapes && now_s() < budget; n++) {
		int r = scrape(&v[n], &bytes, &samples);

		if (r < 0)
			die("%s: GET http://%s/metrics: %s", part, metrics_addr, strerror(-r));
		v[n] *= 1000;
		lo = samples < lo ? samples : lo;
		hi = samples > hi ? samples : hi;
	}
	/* The maps do not change meanwhile: every scrape should hold as many. */
	if (lo != hi)
		note("%s: /metrics sample lines differ between scrapes: %zu to %zu", part, lo, hi);
	snprintf(target, sizeof(target), "%s: /metrics scrape p99 (%u scrapes)", part, n);
	{
		double p50 = pct(v, n, 0.5), p99 = pct(v, n, 0.99);

		row_add(target, "< 200 ms", yes_no(p99 < 200), "p50 %.0f ms, p99 %.0f ms", p50, p99);
	}
	snprintf(target, sizeof(target), "%s: /metrics series", part);
	row_add(target, ">= 100000", !strcmp(part, "part 1") ? yes_no(samples >= 100000) : "-",
		"%zu samples, %.1f MB", samples, bytes / 1e6);
	if (n < cfg.scrapes)
		note("%s: /metrics stopped after %u scrapes: 180 s budget", part, n);
	free(v);
}

static void measure_rss(const char *part)
{
	long rss = status_field_kb(daemon_pid, "VmRSS"), hwm = status_field_kb(daemon_pid, "VmHWM");
	long anon = status_field_kb(daemon_pid, "RssAnon");
	char target[64];

	snprintf(target, sizeof(target), "%s: daemon VmRSS", part);
	row_add(target, "< 64 MB", yes_no(rss >= 0 && rss < 64 * 1024), "%.1f MB (VmHWM %.1f MB)",
		rss / 1024.0, hwm / 1024.0);
	/* What it is made of: the daemon's own heap, and the kernel's maps it has mapped. */
	snprintf(target, sizeof(target), "%s: of it, the daemon's own", part);
	row_add(target, "(info)", "-", "RssAnon %.1f MB; the rest (%.1f MB) is mapped files and the "
		"slot table the kernel holds", anon / 1024.0, (rss - anon) / 1024.0);
}

/* ---- part 1: synthetic VMs in the real maps ---- */

/* Real SVM exit codes, so that the daemon names them. */
static const uint32_t svm_codes[] = { 0x60, 0x61, 0x62, 0x64, 0x6e, 0x72, 0x77, 0x78, 0x7b, 0x7c,
				      0x7f, 0x81, 0x400, 0x46, 0x4e, 0x52, 0x65, 0x00, 0x10, 0x8d };
/* KVM_EXIT_IO, HLT, MMIO, INTR, then others. */
static const uint32_t user_codes[] = { 2, 5, 6, 10, 1, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17,
				       18, 19, 20 };
#define N_PIO 2
/*
 * Port 0x70 + q, both OUT: 0x71 IN would hash to 0x70 OUT's entry of the
 * slot's port table (on_pio() in bpf/exits.bpf.c) and go to the hash maps.
 */
#define PIO_DIRECTION KVMSCOPE_PIO_OUT

/* The counts inserted: known, different for every key. */
static uint64_t hw_count(unsigned vm, unsigned vcpu, unsigned r)
{
	return 1 + (vm * 131u + vcpu * 17u + r * 7u) % 5000u;
}

static uint64_t user_count(unsigned vm, unsigned vcpu, unsigned r)
{
	return 3 + (vm * 71u + vcpu * 13u + r * 5u) % 3000u;
}

static uint64_t pio_count(unsigned vm, unsigned vcpu, unsigned p)
{
	return 2 + (vm * 29u + vcpu * 3u + p) % 2000u;
}

static int map_open(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		die("cannot open the pinned map %s: %s (is --pin-dir honoured?)", path, strerror(errno));
	return fd;
}

/* Update @n keys of @fd in batches (one element at a time where batches fail). */
static void map_fill(int fd, const char *name, const void *keys, const void *values, size_t n,
		     size_t key_size, size_t value_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (size_t done = 0; done < n;) {
		__u32 count = (__u32)(n - done < BATCH ? n - done : BATCH);

		if (bpf_map_update_batch(fd, (const char *)keys + done * key_size,
					 (const char *)values + done * value_size, &count, &opts) == 0) {
			done += count;
			continue;
		}
		for (size_t i = done; i < done + count; i++)
			if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
						(const char *)values + i * value_size, BPF_ANY) < 0)
				die("cannot insert into %s: %s (map full? raise --max-keys)", name,
				    strerror(errno));
		done += count;
	}
}

/* The pinned slot table, mapped as the daemon maps it (exits_slots_open()). */
struct slot_table {
	void *base;
	size_t len, stride;
	uint32_t n;
};

static void slot_table_map(struct slot_table *t)
{
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = map_open("slots");

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) < 0)
		die("cannot read the slots map's info: %s", strerror(errno));
	if (info.value_size < sizeof(struct kvmscope_slot))
		die("the pinned slots are %u bytes, struct kvmscope_slot is %zu: rebuild bench-scale",
		    info.value_size, sizeof(struct kvmscope_slot));
	t->stride = ((size_t)info.value_size + 7) & ~(size_t)7;
	t->n = info.max_entries;
	t->len = (t->stride * t->n + page - 1) & ~(page - 1);
	t->base = mmap(NULL, t->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t->base == MAP_FAILED)
		die("cannot mmap the slots map (%zu bytes): %s", t->len, strerror(errno));
	close(fd);
}

/* The port-table entry of (port, direction), as on_pio() in bpf/exits.bpf.c picks it. */
static unsigned pio_entry(uint16_t port, uint8_t direction)
{
	return kvmscope_pio_entry(port, direction);
}

/*
 * VM @vm's vCPU @vcpu in slot @s, as the BPF programs leave it with
 * latency on.  The first KVMSCOPE_SLOT_HW_HISTS reasons take the
 * histogram lines: their timed exits there, the untimed tenth in hw[].
 * The reasons after them find every line taken, so all their exits are
 * in hw[], and counted as no_histogram_line fallbacks: returned.
 * tgid last: the daemon reads a slot whose tgid is set.
 */
/* Counter @i of a slot's bitmap @used is not 0 (see kvmscope_counter_add()). */
static void mark(__u64 *used, uint32_t i)
{
	used[i >> 6] |= 1ull << (i & 63);
}

static uint64_t slot_fill(struct kvmscope_slot *s, pid_t pid, unsigned vm, unsigned vcpu)
{
	uint64_t unlined = 0;

	if (s->tgid)
		die("a slot popped from free_slots holds pid %u already", s->tgid);
	s->vcpu = vcpu;
	s->isa = KVMSCOPE_ISA_SVM;
	s->tid = (__u32)pid;	/* the sleeper's only thread */
	for (unsigned r = 0; r < cfg.hw_reasons; r++) {
		uint32_t i = kvmscope_hw_index(KVMSCOPE_ISA_SVM, svm_codes[r]);
		uint64_t n = hw_count(vm, vcpu, r), untimed = n / 10, timed = n - untimed;
		struct kvmscope_hist *h;
		unsigned b = 9 + r % 6;

		if (i == KVMSCOPE_SLOT_NONE)
			die("SVM exit code %#x has no slot index", svm_codes[r]);
		mark(s->hw_used, i);
		if (s->hw_lines >= KVMSCOPE_SLOT_HW_HISTS) {
			s->hw[i] = n;
			unlined += timed;
			continue;
		}
		s->hw[i] = untimed;
		s->hw_hist[s->hw_lines].index = i + 1;
		h = &s->hw_hist[s->hw_lines].h;
		h->slots[b] = timed - timed / 3;
		h->slots[b + 1] = timed / 3;
		mark(&s->hw_hist[s->hw_lines].used, b);
		mark(&s->hw_hist[s->hw_lines].used, b + 1);
		h->sum_ns = (timed - timed / 3) * (3ull << (b - 1)) + (timed / 3) * (3ull << b);
		h->max_ns = (2ull << (b + 1)) - 1;
		s->hw_line[i] = (__u8)++s->hw_lines;
	}
	for (unsigned r = 0; r < cfg.user_reasons; r++) {
		s->user[user_codes[r]] = user_count(vm, vcpu, r);
		mark(s->user_used, user_codes[r]);
	}
	for (unsigned q = 0; q < N_PIO; q++) {
		struct kvmscope_slot_pio *e = &s->pio[pio_entry((uint16_t)(0x70 + q), PIO_DIRECTION)];

		if (e->used)
			die("port %#x shares a slot's port table entry with port %#x", 0x70 + q, e->port);
		e->port = (__u16)(0x70 + q);
		e->direction = PIO_DIRECTION;
		e->size = 1;
		e->count = pio_count(vm, vcpu, q);
		e->used = 1;
	}
	__atomic_store_n(&s->tgid, (__u32)pid, __ATOMIC_RELEASE);
	return unlined;
}

/* Add @n to CPU 0's count of fallback @why, as count_fallback() does. */
static void fallbacks_add(uint32_t why, uint64_t n)
{
	int ncpus = libbpf_num_possible_cpus(), fd = map_open("exit_fallbacks");
	uint64_t *v;

	if (ncpus <= 0)
		die("libbpf_num_possible_cpus: %s", strerror(-ncpus));
	v = calloc((size_t)ncpus, sizeof(*v));
	if (!v)
		die("out of memory");
	if (bpf_map_lookup_elem(fd, &why, v) < 0)
		die("cannot read exit_fallbacks: %s", strerror(errno));
	v[0] += n;
	if (bpf_map_update_elem(fd, &why, v, BPF_ANY) < 0)
		die("cannot update exit_fallbacks: %s", strerror(errno));
	free(v);
	close(fd);
}

/*
 * Each synthetic vCPU takes a slot index from free_slots, as take_slot()
 * does at a thread's first event, and is written into that slot of the
 * mapped table; then the VMs go into vms_seen, as in the kernel a VM is
 * known once it ran.
 */
static void fill_maps(const pid_t *pids)
{
	int queue = map_open("free_slots");
	__u32 *vk = calloc(cfg.vms, sizeof(*vk));
	struct kvmscope_vm_seen *vv = calloc(cfg.vms, sizeof(*vv));
	struct slot_table t;
	uint64_t unlined = 0;
	size_t filled = 0;
	double t0 = now_s();

	if (!vk || !vv)
		die("out of memory");
	slot_table_map(&t);
	for (unsigned vm = 0; vm < cfg.vms; vm++) {
		vk[vm] = (__u32)pids[vm];
		vv[vm].first_seen_ns = 1;
		snprintf(vv[vm].comm, sizeof(vv[vm].comm), "bench-vm");
		for (unsigned vcpu = 0; vcpu < cfg.vcpus; vcpu++, filled++) {
			__u32 i;

			if (bpf_map_lookup_and_delete_elem(queue, NULL, &i) < 0)
				die("no free slot for VM %u vCPU %u after %zu of %u: %s (--max-threads %u)",
				    vm, vcpu, filled, cfg.vms * cfg.vcpus, strerror(errno),
				    slots_wanted());
			if (i >= t.n)
				die("free_slots gave slot %u of %u", i, t.n);
			unlined += slot_fill((struct kvmscope_slot *)((char *)t.base + (size_t)i * t.stride),
					     pids[vm], vm, vcpu);
		}
	}
	if (unlined)
		fallbacks_add(KVMSCOPE_FALLBACK_HIST, unlined);
	map_fill(map_open("vms_seen"), "vms_seen", vk, vv, cfg.vms, sizeof(*vk), sizeof(*vv));
	printf(PROG ": filled %zu slots of %u (per vCPU: %u hardware reasons, %u of them with "
	       "histograms; %u userspace; %u ports) and %u VMs in vms_seen in %.2f s\n", filled, t.n,
	       cfg.hw_reasons, cfg.hw_reasons < KVMSCOPE_SLOT_HW_HISTS ? cfg.hw_reasons : KVMSCOPE_SLOT_HW_HISTS,
	       cfg.user_reasons, N_PIO, cfg.vms, now_s() - t0);
	fflush(stdout);
	munmap(t.base, t.len);
	close(queue);
	free(vk), free(vv);
}

/*
 * The records of one exits.get table (hardware_exits, userspace_exits)
 * against what was inserted for VM @vm, reason r having code @codes[r]:
 * how many records; *@bad counts mismatches, the first said in @why.
 */
static unsigned check_reasons(json_t *table, const char *what, const uint32_t *codes,
			      unsigned n_reasons, uint64_t (*count)(unsigned, unsigned, unsigned),
			      pid_t pid, unsigned vm, unsigned *bad, char *why, size_t whylen)
{
	unsigned n = 0;
	size_t i;
	json_t *rec;

	json_array_foreach(table, i, rec) {
		unsigned vcpu = (unsigned)json_integer_value(json_object_get(rec, "vcpu"));
		uint32_t code = (uint32_t)json_integer_value(json_object_get(rec, "code"));
		uint64_t got = (uint64_t)json_integer_value(json_object_get(rec, "count")), want = 0;
		unsigned r;

		for (r = 0; r < n_reasons && codes[r] != code; r++)
			;
		if (r < n_reasons && vcpu < cfg.vcpus)
			want = count(vm, vcpu, r);
		n++;
		if (got != want && !(*bad)++)
			snprintf(why, whylen, "pid %d vcpu %u %s code %#x: %llu, inserted %llu", (int)pid,
				 vcpu, what, code, (unsigned long long)got, (unsigned long long)want);
	}
	return n;
}

/* exits.get {"pid"} of VM @vm against what was inserted: mismatching records. */
static unsigned check_vm(struct conn *c, pid_t pid, unsigned vm, char *why, size_t whylen)
{
	char params[64];
	unsigned bad = 0, n_hw = 0, n_user = 0, n_pio = 0;
	size_t i;
	json_t *res, *v, *rec;
	int code;

	snprintf(params, sizeof(params), "{\"pid\":%d}", (int)pid);
	res = rpc_call(c, "exits.get", params, &code, NULL);
	if (!res) {
		snprintf(why, whylen, "pid %d: error %d", (int)pid, code);
		return 1;
	}
	v = json_array_get(json_object_get(res, "vms"), 0);
	n_hw = check_reasons(json_object_get(v, "hardware_exits"), "hw", svm_codes, cfg.hw_reasons,
			     hw_count, pid, vm, &bad, why, whylen);
	n_user = check_reasons(json_object_get(v, "userspace_exits"), "user", user_codes,
			       cfg.user_reasons, user_count, pid, vm, &bad, why, whylen);
	json_array_foreach(json_object_get(v, "pio"), i, rec) {
		unsigned vcpu = (unsigned)json_integer_value(json_object_get(rec, "vcpu"));
		unsigned q = (unsigned)json_integer_value(json_object_get(rec, "port")) - 0x70;
		uint64_t got = (uint64_t)json_integer_value(json_object_get(rec, "count")), want = 0;

		if (q < N_PIO && vcpu < cfg.vcpus)
			want = pio_count(vm, vcpu, q);
		n_pio++;
		if (got != want && !bad++)
			snprintf(why, whylen, "pid %d vcpu %u port %#x: %llu, inserted %llu", (int)pid, vcpu,
				 0x70 + q, (unsigned long long)got, (unsigned long long)want);
	}
	if (n_hw != cfg.vcpus * cfg.hw_reasons || n_user != cfg.vcpus * cfg.user_reasons ||
	    n_pio != cfg.vcpus * N_PIO) {
		if (!bad)
			snprintf(why, whylen, "pid %d: %u/%u/%u hw/user/pio records, inserted %u/%u/%u",
				 (int)pid, n_hw, n_user, n_pio, cfg.vcpus * cfg.hw_reasons,
				 cfg.vcpus * cfg.user_reasons, cfg.vcpus * N_PIO);
		bad++;
	}
	json_decref(res);
	return bad;
}

static void part1(const char *log)
{
	const char *part = "part 1";
	struct conn c;
	pid_t *pids = calloc(cfg.vms, sizeof(*pids));
	unsigned sampled = 0, bad_vms = 0;
	long long t0;
	char why[200] = "";
	double deadline;

	if (!pids)
		die("out of memory");
	printf(PROG ": part 1: %u VMs x %u vCPUs x %u hardware reasons (+%u userspace, %u pio) "
	       "through the real maps\n", cfg.vms, cfg.vcpus, cfg.hw_reasons, cfg.user_reasons, N_PIO);
	/* The VMs: processes that only sleep, so that the daemon finds them alive. */
	children = calloc(cfg.vms > cfg.guests ? cfg.vms : cfg.guests, sizeof(*children));
	if (!children)
		die("out of memory");
	for (unsigned i = 0; i < cfg.vms; i++) {
		pid_t pid = fork_child();

		if (pid < 0)
			die("fork of sleeper %u: %s", i, strerror(errno));
		if (pid == 0) {
			prctl(PR_SET_NAME, "bench-vm");
			for (;;)
				pause();
		}
		children[n_children++] = pids[i] = pid;
	}
	daemon_start(log, true);
	conn_open(&c);
	fill_maps(pids);
	/* The tick registers every process vms_seen names. */
	deadline = now_s() + 60;
	while (status_running(&c) < cfg.vms) {
		if (now_s() > deadline)
			die("kvmscoped sees %u of %u VMs after 60 s", status_running(&c), cfg.vms);
		sleep_ms(100);
	}
	wait_ticks(&c, 2);

	/* Idle CPU first: nothing is asked meanwhile. */
	t0 = cpu_ticks(daemon_pid);
	sleep(cfg.idle_s);
	{
		double pctv = (double)(cpu_ticks(daemon_pid) - t0) / (double)sysconf(_SC_CLK_TCK) /
			      cfg.idle_s * 100;

		row_add("part 1: idle CPU (10 s, no requests)", "< 2 %", yes_no(pctv < 2),
			"%.1f %% of one core", pctv);
	}
	measure_ticks(&c, part);
	measure_single(&c, part, pids, cfg.vms);
	measure_all(&c, part, NULL);
	measure_all(&c, part, "{\"view\":\"summary\"}");
	measure_metrics(part);
	/* The scrapes may outlast --client-timeout (60 s) of the idle socket client. */
	conn_close(&c);
	conn_open(&c);
	measure_rss(part);

	for (unsigned i = 0; i < cfg.vms; i += cfg.vms / 20 ? cfg.vms / 20 : 1, sampled++) {
		char w[200] = "";

		if (check_vm(&c, pids[i], i, w, sizeof(w))) {
			if (!bad_vms++)
				snprintf(why, sizeof(why), "%s", w);
		}
	}
	row_add("part 1: counts exact (sampled VMs)", "all exact", yes_no(!bad_vms), "%u of %u VMs exact",
		sampled - bad_vms, sampled);
	if (bad_vms)
		note("part 1: first mismatch: %s", why);
	conn_close(&c);
	/* The sleepers exit before the daemon stops: a clean stop with 1,000 exits. */
	kill_children();
	daemon_stop();
	pins_cleanup();
	free(pids);
}

/* ---- part 2: real guests ---- */

struct guest_report {
	uint64_t io, hlt;
	pid_t pid;
	bool ok;
};

static void part2(const char *log)
{
	const char *part = "part 2";
	struct conn c;
	char guest[PATH_MAX], out[PATH_MAX], name[32], outs[32], hlts[32], delay[16], linger[16];
	/* Guest i starts i * stagger ms in, all live until every measurement is done. */
	unsigned stagger = 40, live_ms = cfg.guests * stagger + 300000;
	unsigned exact = 0, compared = 0, bad = 0, failed = 0;
	struct guest_report *rep = calloc(cfg.guests, sizeof(*rep));
	pid_t *pids = calloc(cfg.guests, sizeof(*pids));
	char why[300] = "";
	double t_start, deadline;

	if (!rep || !pids)
		die("out of memory");
	snprintf(guest, sizeof(guest), "%s", test_build_path(cfg.build, "kvmscope-guest"));
	printf(PROG ": part 2: %u real guests x 2 vCPUs, started %u ms apart\n", cfg.guests, stagger);
	fflush(stdout);
	daemon_start(log, false);
	conn_open(&c);
	t_start = now_s();
	for (unsigned i = 0; i < cfg.guests; i++) {
		pid_t pid;

		snprintf(name, sizeof(name), "bench-%u", i);
		snprintf(outs, sizeof(outs), "0x70:%u", 2000 + 37 * i);
		snprintf(hlts, sizeof(hlts), "%u", 50 + i);
		snprintf(delay, sizeof(delay), "%u", i * stagger);
		snprintf(linger, sizeof(linger), "%u", live_ms - i * stagger);
		snprintf(out, sizeof(out), "%s/guest-%u.json", tmp_dir, i);
		pid = fork_child();
		if (pid < 0)
			die("fork of guest %u: %s", i, strerror(errno));
		if (pid == 0) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

			if (fd < 0 || null < 0)
				_exit(126);
			dup2(fd, 1);
			dup2(null, 2);
			execl(guest, "kvmscope-guest", "--vcpus", "2", "--out", outs, "--hlt", hlts,
			      "--start-delay", delay, "--linger", linger, "-name", name, (char *)NULL);
			_exit(127);
		}
		children[n_children++] = pids[i] = pid;
	}
	deadline = now_s() + 60;
	while (status_running(&c) < cfg.guests) {
		if (now_s() > deadline)
			die("kvmscoped sees %u of %u guests after 60 s", status_running(&c), cfg.guests);
		sleep_ms(100);
	}
	printf(PROG ": part 2: all %u guests seen after %.1f s\n", cfg.guests, now_s() - t_start);
	fflush(stdout);
	measure_ticks(&c, part);
	measure_single(&c, part, pids, cfg.guests);
	measure_all(&c, part, NULL);
	measure_all(&c, part, "{\"view\":\"summary\"}");
	measure_metrics(part);
	/* The scrapes may outlast --client-timeout (60 s) of the idle socket client. */
	conn_close(&c);
	conn_open(&c);
	measure_rss(part);
	if (now_s() - t_start > live_ms / 1000.0)
		note("part 2: the measurements outlasted the guests (%.0f s > %.0f s): some ran while guests exited",
		     now_s() - t_start, live_ms / 1000.0);

	/*
	 * Every guest prints its report once its exits are done, then lingers
	 * (a live VM with parked vCPUs); once all reported, they are stopped.
	 */
	deadline = now_s() + 120;
	for (unsigned i = 0; i < cfg.guests; i++) {
		json_t *j = NULL;

		snprintf(out, sizeof(out), "%s/guest-%u.json", tmp_dir, i);
		while (!(j = json_load_file(out, 0, NULL)) && now_s() < deadline &&
		       waitpid(pids[i], NULL, WNOHANG) == 0)
			sleep_ms(50);
		json_decref(j);
	}
	for (unsigned i = 0; i < cfg.guests; i++) {
		int status = 0;

		kill(pids[i], SIGTERM);
		waitpid(pids[i], &status, 0);
		children[i] = -1;
		/* Killed while lingering, as told, or exited by itself. */
		rep[i].ok = (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) ||
			    (WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	n_children = 0;
	/* Exits are snapshotted within 20 ms of the pidfd; give it a tick. */
	wait_ticks(&c, 1);
	for (unsigned i = 0; i < cfg.guests; i++) {
		json_error_t jerr;
		json_t *j, *res, *v, *rec;
		char params[64];
		uint64_t io = 0, hlt = 0;
		size_t k;
		int code;

		snprintf(out, sizeof(out), "%s/guest-%u.json", tmp_dir, i);
		j = rep[i].ok ? json_load_file(out, 0, &jerr) : NULL;
		if (!j) {
			failed++;
			continue;
		}
		rep[i].pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
		rep[i].io = (uint64_t)json_integer_value(json_object_get(json_object_get(j, "userspace_exits"), "IO"));
		rep[i].hlt = (uint64_t)json_integer_value(json_object_get(json_object_get(j, "userspace_exits"), "HLT"));
		json_decref(j);
		compared++;
		snprintf(params, sizeof(params), "{\"pid\":%d}", (int)rep[i].pid);
		res = rpc_call(&c, "exits.get", params, &code, NULL);
		if (!res) {
			if (!bad++)
				snprintf(why, sizeof(why), "guest %u pid %d: exits.get error %d", i,
					 (int)rep[i].pid, code);
			continue;
		}
		v = json_array_get(json_object_get(res, "vms"), 0);
		json_array_foreach(json_object_get(v, "userspace_by_reason"), k, rec) {
			const char *reason = json_string_value(json_object_get(rec, "reason"));
			uint64_t n = (uint64_t)json_integer_value(json_object_get(rec, "count"));

			if (reason && !strcmp(reason, "IO"))
				io = n;
			else if (reason && !strcmp(reason, "HLT"))
				hlt = n;
		}
		if (io == rep[i].io && hlt == rep[i].hlt)
			exact++;
		else if (!bad++)
			snprintf(why, sizeof(why), "guest %u pid %d: daemon IO %llu HLT %llu, guest IO %llu HLT %llu",
				 i, (int)rep[i].pid, (unsigned long long)io, (unsigned long long)hlt,
				 (unsigned long long)rep[i].io, (unsigned long long)rep[i].hlt);
		json_decref(res);
	}
	row_add("part 2: guests' IO+HLT counts exact", "all exact", yes_no(exact == cfg.guests),
		"%u of %u guests exact%s", exact, cfg.guests, failed ? " (some guests failed)" : "");
	if (bad)
		note("part 2: first mismatch: %s", why);
	if (failed)
		note("part 2: %u guests failed or left no report (not compared)", failed);
	conn_close(&c);
	daemon_stop();
	pins_cleanup();
	free(rep);
	free(pids);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [BUILD] [OPTIONS]\n"
		"kvmscoped at scale: 1,000 synthetic VMs in the real maps, then real guests.\n"
		"Prints a table of targets, measured figures and whether each is met, also in\n"
		"BUILD/bench/scale.txt.  Needs root and /dev/kvm.\n\n"
		"  --vms N          synthetic VMs (default 1000)\n"
		"  --vcpus N        vCPUs per synthetic VM (default 8)\n"
		"  --reasons N      hardware exit reasons per vCPU (default 20, at most 20)\n"
		"  --guests N       real guests in part 2 (default 200; 0: no part 2)\n"
		"  --latency-labels vm|vcpu   passed to kvmscoped (default vm)\n"
		"  -h, --help       this help\n");
}

static unsigned parse_count(const char *opt, const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max) {
		fprintf(stderr, PROG ": %s '%s' is not a number from %u to %u\n", opt, s, min, max);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	char log[PATH_MAX], out_path[PATH_MAX], out_dir[PATH_MAX - 64];
	double t0 = now_s();
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--vms") && i + 1 < argc) {
			cfg.vms = parse_count("--vms", argv[++i], 1, 4000);
		} else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc) {
			cfg.vcpus = parse_count("--vcpus", argv[++i], 1, 64);
		} else if (!strcmp(argv[i], "--reasons") && i + 1 < argc) {
			cfg.hw_reasons = parse_count("--reasons", argv[++i], 1, 20);
		} else if (!strcmp(argv[i], "--guests") && i + 1 < argc) {
			cfg.guests = parse_count("--guests", argv[++i], 0, 2000);
		} else if (!strcmp(argv[i], "--latency-labels") && i + 1 < argc) {
			cfg.latency_labels = argv[++i];
			if (strcmp(cfg.latency_labels, "vm") && strcmp(cfg.latency_labels, "vcpu")) {
				fprintf(stderr, PROG ": --latency-labels is vm or vcpu\n");
				return 2;
			}
		} else if (argv[i][0] != '-') {
			cfg.build = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (test_require_root_kvm(PROG) < 0)
		return 1;
	/* kvmscoped takes --max-threads up to 65536. */
	if ((size_t)cfg.vms * cfg.vcpus + SLOTS_SPARE > 65536)
		die("%u VMs x %u vCPUs (+%u spare) is more than the 65536 slots kvmscoped can have",
		    cfg.vms, cfg.vcpus, SLOTS_SPARE);
	snprintf(kvmscoped_path, sizeof(kvmscoped_path), "%s", test_build_path(cfg.build, "kvmscoped"));
	if (access(kvmscoped_path, X_OK) < 0)
		die("%s: %s; run make all first", kvmscoped_path, strerror(errno));
	snprintf(out_dir, sizeof(out_dir), "%s/bench", cfg.build);
	mkdir(out_dir, 0755);
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/kvmscope-bench-scale.XXXXXX");
	if (!mkdtemp(tmp_dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(sock_path, sizeof(sock_path), "%s/kvmscope.sock", tmp_dir);
	snprintf(log, sizeof(log), "%s/scale-kvmscoped.log", out_dir);
	unlink(log);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/kvmscope-bench-%d", (int)getpid());
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	signal(SIGALRM, on_fatal_signal);
	signal(SIGPIPE, SIG_IGN);
	alarm(OVERALL_TIMEOUT_S);
	{
		FILE *la = fopen("/proc/loadavg", "re");
		char load[64] = "?";

		if (la && fgets(load, sizeof(load), la))
			load[strcspn(load, "\n")] = '\0';
		if (la)
			fclose(la);
		printf(PROG ": %ld CPUs, load average %s; kvmscoped's log: %s\n",
		       sysconf(_SC_NPROCESSORS_ONLN), load, log);
		note("machine: %ld CPUs online, load average at start %s", sysconf(_SC_NPROCESSORS_ONLN),
		     load);
	}
	fflush(stdout);

	part1(log);
	if (cfg.guests)
		part2(log);
	cleanup();
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, PROG ": cannot remove %s\n", tmp_dir);
	}
	note("bench-scale took %.0f s", now_s() - t0);
	printf("\n");
	table_print(stdout);
	snprintf(out_path, sizeof(out_path), "%s/scale.txt", out_dir);
	f = fopen(out_path, "we");
	if (!f)
		die("cannot write %s: %s", out_path, strerror(errno));
	table_print(f);
	fclose(f);
	printf("\n" PROG ": table written to %s\n", out_path);
	return 0;
}
