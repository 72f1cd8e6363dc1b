// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection, as root against real guests: one kvmscoped, kept under
 * load the whole time, is put through one fault per test.  The load: a
 * witness guest making about 18,000 exits a second; 200 socket clients
 * taking turns (the daemon holds 128 at once: at most 48 of them are
 * connected, each asks one thing, reads the answer, comes back a second
 * later); a subscriber that reads 1 in 100 of the witness's exits; and a
 * subscriber that never reads at all (the 60 s fault, running through the
 * others).  After each fault: status and GET /metrics answer, a fresh
 * guest's exits are counted exactly, the load is served again, and the
 * daemon's RSS is back within 10 % of before.  At the end the witness,
 * which made its exits through every fault, is counted exactly.
 *
 * fault                   what the daemon does                          what is lost
 * ----------------------  --------------------------------------------  ---------------------------
 * 100 MB without a        answers -32600 once the line passes 64 KiB,   the over-long line
 * newline                 drops the rest 16 KiB per wakeup (its RSS     (answered as an error)
 *                         does not move); the connection is usable
 *                         after the newline; silent, it is closed
 *                         after --client-timeout
 * 1,000 clients that      frees each at its EOF or EPIPE: not a         their unread answers
 * connect and vanish      descriptor left behind
 * 500 clients holding     table full (128): each newcomer evicts the    the evicted clients and
 * half a request, then a  idle client silent longest (oldest first),    their half lines
 * new client              so the new one is served at once; a half
 *                         line still being written is closed after
 *                         10 s, a silent client after --client-timeout
 * a subscriber that       queues 1 MiB of its events, then counts each  events past that 1 MiB,
 * never reads, 60 s       one it cannot take as lost; never closed (it  counted as its lost
 *                         holds a subscription); once it reads, every
 *                         event counted as delivered arrives
 * SIGSTOP 10 s, SIGCONT   the kernel counts on; requests that waited    streamed events the 1 MiB
 *                         are answered at SIGCONT, VMs that came and    kernel ring could not hold
 *                         went meanwhile are exact; the watchdog ping   (lost_kernel_ring); no
 *                         resumes at once (see test_sigstop_sigcont     count
 *                         for WatchdogSec)
 * BPF maps full           core.c's test_per_vm_key_limit: the VM keeps  that VM's new keys, counted
 *                         its own keys, says complete: false            in its dropped
 * tracefs and debugfs     the attached programs count on; what the      KVM's debugfs statistics,
 * unmounted               tick read from them says why it has none      ftrace sites: reported
 * /proc of a VM           the VM is noted exited at once, its counts    identity that a gone
 * vanishing mid-read      read from the maps (also core.c's 120 short   process no longer has
 *                         VMs)
 * a VM process that       its counts stay the VM's, under the VMM's     nothing
 * execs into something    name; listed as running until the process
 * else                    ends (VMs are followed by process); the new
 *                         image is never taken for a VM
 * pid reuse               a second VM entry for the pid (another start  nothing
 *                         time), each with its own counts; also when
 *                         the second is gone before the daemon reads
 *                         its /proc (its KVM start came after the
 *                         first one's exit: manager_vm_note_at)
 *
 * The daemon runs in a mount namespace of its own, so that tracefs and
 * debugfs can be taken from it without touching the host's.  About 65 s;
 * KVMSCOPE_KEEP_LOGS=1 keeps the daemon's log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "kvmscoped.h"
#include "util.h"
#include "proc.h"

/* As the daemon is started here; kvmscoped.service has 60 and WatchdogSec=30. */
#define CLIENT_TIMEOUT_SEC 5
#define PARTIAL_LINE_SEC 10
#define STR(x) #x
#define XSTR(x) STR(x)
#define WATCHDOG_SEC 30
/* The daemon's bounds (docs/api.md). */
#define MAX_CLIENTS 128
#define LINE_MAX_BYTES 65536
#define OUTPUT_HIGH_WATER (1u << 20)

/* The load: 200 clients taking turns, at most 48 connected at once. */
#define LOAD_CLIENTS 200
#define LOAD_OPEN_MAX 48
#define LOAD_PERIOD_MS 1000

/* How long the subscriber that never reads is left alone. */
#define MUTE_SECONDS 60
/* The witness runs this long: through every fault but the last check. */
#define WITNESS_SECONDS 62

/*
 * RSS after a fault: at most 10 % above before it (or above the warm-up's,
 * if that is more: a sample taken just after the allocator gave memory
 * back is no baseline).  Built with ASan the daemon's RSS is mostly ASan's
 * (its quarantine keeps up to 256 MiB of freed memory): it is shown, and
 * checked in the release build.
 */
#define RSS_SLACK_PERCENT 10
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED false
#else
#define RSS_CHECKED true
#endif

static const char *build_dir = "build";
static char tmpdir[64];
static char sock_path[108];
static char log_path[128];
static char pin_dir[128];
static char notify_path[108];
static int metrics_port;
static pid_t daemon_pid = -1;

/* ---- small helpers ---- */

static char *bin(const char *name)
{
	return test_build_path(build_dir, name);
}

static int pick_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static long daemon_rss_kb(void)
{
	return test_rss_kb(daemon_pid);
}

static int daemon_fd_count(void)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)daemon_pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The state letter of /proc/PID/stat (R, S, T, Z...), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void assert_daemon_alive(const char *fault)
{
	int status;

	if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
		daemon_pid = -1;
		fail_msg("%s: kvmscoped died (%s %d); see %s", fault,
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), log_path);
	}
}

static int send_all_fd(int fd, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* One line from @fd within @timeout_ms (malloc'd, no newline), or NULL on EOF/timeout. */
static char *read_line(int fd, int timeout_ms)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	double end = now_seconds() + timeout_ms / 1000.0;

	if (!buf)
		return NULL;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((end - now_seconds()) * 1000);
		char *nl;
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		if (len + 65536 > cap) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		/* Peek, then take up to the newline: what follows is the next line's. */
		n = recv(fd, buf + len, cap - len - 1, MSG_PEEK | MSG_DONTWAIT);
		if (n <= 0)
			break;
		nl = memchr(buf + len, '\n', (size_t)n);
		n = recv(fd, buf + len, nl ? (size_t)(nl - (buf + len)) + 1 : (size_t)n, MSG_DONTWAIT);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (nl) {
			buf[len - 1] = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* Has the daemon closed @fd (EOF or reset)?  Reads and drops whatever came before. */
static bool closed_now(int fd)
{
	char buf[4096];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
		if (n < 0)
			return false;
	}
}

static bool closed_within(int fd, int timeout_ms)
{
	double end = now_seconds() + timeout_ms / 1000.0;

	do {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 50) > 0 && closed_now(fd))
			return true;
	} while (now_seconds() < end);
	return false;
}

/* ---- JSON-RPC ---- */

/*
 * @method with @params (a JSON object as text, or NULL) on a connection of
 * its own: the whole response (new reference).  A failure names @fault.
 */
static json_t *rpc_response(const char *fault, const char *method, const char *params,
			    int timeout_ms)
{
	char req[1024], *line;
	json_error_t e;
	json_t *v;
	int fd = test_connect_unix(sock_path);

	if (fd < 0)
		fail_msg("%s: cannot connect to %s for %s: %s", fault, sock_path, method,
			 strerror(-fd));
	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n", method,
		 params ? ",\"params\":" : "", params ? params : "");
	if (send_all_fd(fd, req, strlen(req)) < 0)
		fail_msg("%s: cannot send %s: %s", fault, method, strerror(errno));
	line = read_line(fd, timeout_ms);
	close(fd);
	if (!line)
		fail_msg("%s: no answer to %s within %d ms", fault, method, timeout_ms);
	v = json_loads(line, 0, &e);
	if (!v)
		fail_msg("%s: %s answered with something not JSON (%s): %.300s", fault, method, e.text,
			 line);
	free(line);
	return v;
}

/* The result of @method (new reference); an error answer fails the test. */
static json_t *rpc(const char *fault, const char *method, const char *params)
{
	json_t *resp = rpc_response(fault, method, params, 10000);
	json_t *result = json_incref(json_object_get(resp, "result"));

	if (!result) {
		char *text = json_dumps(resp, JSON_COMPACT);

		fail_msg("%s: %s failed: %.400s", fault, method, text);
	}
	json_decref(resp);
	return result;
}

/* Every VM that had @pid, oldest first (exits.get, summary): an array, maybe empty. */
static json_t *vms_of_pid(const char *fault, long long pid)
{
	char params[96];
	json_t *resp, *vms;

	snprintf(params, sizeof(params), "{\"pid\":%lld,\"view\":\"summary\"}", pid);
	resp = rpc_response(fault, "exits.get", params, 10000);
	vms = json_object_get(json_object_get(resp, "result"), "vms");
	if (vms) {
		json_incref(vms);
	} else if (json_integer_value(json_object_get(json_object_get(resp, "error"), "code")) ==
		   -32004) {
		vms = json_array();
	} else {
		char *text = json_dumps(resp, JSON_COMPACT);

		fail_msg("%s: exits.get for pid %lld failed: %.400s", fault, pid, text);
	}
	json_decref(resp);
	return vms;
}

/* The sum of @reason's counts in a VM's userspace_by_reason. */
static long long user_count(json_t *vm, const char *reason)
{
	long long sum = 0;
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(vm, "userspace_by_reason"), i, r)
		if (!strcmp(json_string_value(json_object_get(r, "reason")) ?: "", reason))
			sum += json_integer_value(json_object_get(r, "count"));
	return sum;
}

static const char *vm_state(json_t *vm)
{
	return json_string_value(json_object_get(vm, "state")) ?: "?";
}

/*
 * The @nth VM (0: the oldest; -1: the newest, as a pid used again later
 * in the run has several) of @pid once it shows as exited, within 5 s:
 * the daemon hears of an exit from a pidfd, on its loop (new reference).
 */
static json_t *exited_vm(const char *fault, long long pid, long nth, size_t *n_vms)
{
	double end = now_seconds() + 5;
	json_t *vms, *vm;

	for (;;) {
		vms = vms_of_pid(fault, pid);
		vm = json_array_get(vms, nth < 0 ? json_array_size(vms) - 1 : (size_t)nth);
		if (vm && !strcmp(vm_state(vm), "exited"))
			break;
		if (now_seconds() > end)
			fail_msg("%s: VM %ld of pid %lld is %s 5 s after its process ended (%zu VMs for the pid)",
				 fault, nth, pid, vm ? vm_state(vm) : "not listed", json_array_size(vms));
		json_decref(vms);
		sleep_ms(50);
	}
	if (n_vms)
		*n_vms = json_array_size(vms);
	json_incref(vm);
	json_decref(vms);
	return vm;
}

/*
 * Runs of kvm_userspace_exit's program the kernel skipped, in the first
 * program and in its backup (status, read at the tick): an exit is lost
 * only when both were skipped for it, and then it is counted there.
 */
static void userspace_exit_skips(const char *fault, long long *first, long long *backup)
{
	json_t *st = rpc(fault, "status", NULL);

	test_userspace_exit_skips(st, first, backup);
	json_decref(st);
}

/* ---- guests ---- */

static long long report_count(json_t *report, const char *reason)
{
	return json_integer_value(json_object_get(json_object_get(report, "userspace_exits"), reason));
}

static long long report_pid(json_t *report)
{
	return json_integer_value(json_object_get(report, "pid"));
}

static pid_t start_guest(char *const args[], int *fd)
{
	pid_t pid = proc_start_args(bin("kvmscope-guest"), args, fd);

	if (pid <= 0)
		fail_msg("cannot start %s: %s", bin("kvmscope-guest"), strerror(-pid));
	return pid;
}

static json_t *guest_report(const char *fault, pid_t pid, int fd)
{
	json_error_t e;
	json_t *report;
	char *out;
	int status = proc_finish(pid, fd, &out);

	if (status != 0)
		fail_msg("%s: the test guest (pid %d) failed with status %d", fault, (int)pid, status);
	report = json_loads(out, 0, &e);
	if (!report)
		fail_msg("%s: the guest's report is not JSON (%s): %.300s", fault, e.text, out);
	free(out);
	return report;
}

/*
 * The VM of @report (the @nth of its pid) against the guest's own
 * numbers: IO and HLT exact and complete, or short only by exits the
 * kernel skipped in both programs since @first0/@backup0 were read.
 */
static void assert_vm_exact(const char *fault, const char *who, json_t *report, long nth,
			    long long first0, long long backup0)
{
	long long pid = report_pid(report), io, hlt, want_io, want_hlt;
	json_t *vm = exited_vm(fault, pid, nth, NULL);

	io = user_count(vm, "IO");
	hlt = user_count(vm, "HLT");
	want_io = report_count(report, "IO");
	want_hlt = report_count(report, "HLT");
	if (io != want_io || hlt != want_hlt || !json_is_true(json_object_get(vm, "complete"))) {
		long long first1, backup1, both, short_by = want_io - io + want_hlt - hlt;

		/* Skipped runs are read at the tick. */
		sleep_ms(1100);
		userspace_exit_skips(fault, &first1, &backup1);
		both = first1 - first0 < backup1 - backup0 ? first1 - first0 : backup1 - backup0;
		if (io > want_io || hlt > want_hlt || short_by > both ||
		    !json_is_true(json_object_get(vm, "complete")))
			fail_msg("%s: %s (pid %lld): IO %lld of %lld, HLT %lld of %lld, complete %s; "
				 "the kernel skipped %lld runs of both programs meanwhile",
				 fault, who, pid, io, want_io, hlt, want_hlt,
				 json_is_true(json_object_get(vm, "complete")) ? "true" : "false", both);
		print_message("[   INFO   ] %s: %s short by %lld exits, all skipped by the kernel in both programs (counted in bpf_cost)\n",
			      fault, who, short_by);
	}
	json_decref(vm);
}

/* A guest with a known mix, run now: its counts must be exact. */
static void assert_fresh_guest_exact(const char *fault)
{
	char *args[] = { "--vcpus", "2", "--out", "0x70:300", "--hlt", "7", "-name", "checker", NULL };
	long long first0, backup0;
	json_t *report;
	int fd;
	pid_t pid;

	userspace_exit_skips(fault, &first0, &backup0);
	pid = start_guest(args, &fd);
	report = guest_report(fault, pid, fd);
	/* 300 OUTs plus each vCPU's done OUT, 7 HLTs. */
	if (report_count(report, "IO") != 302 || report_count(report, "HLT") != 7)
		fail_msg("%s: the checker guest made IO %lld, HLT %lld (302 and 7 expected)", fault,
			 report_count(report, "IO"), report_count(report, "HLT"));
	assert_vm_exact(fault, "a fresh guest", report, -1, first0, backup0);
	print_message("[   INFO   ] %s: fresh guest pid %lld counted exactly (IO 302, HLT 7)\n", fault,
		      report_pid(report));
	json_decref(report);
}

/* ---- the load: 200 clients and a reading subscriber, in a child ---- */

struct load_stats {
	volatile int stop, pause;
	volatile int open;			/* connections open now */
	volatile uint64_t sessions, answers, rpc_errors, refused, closed_early, backlog_full,
		 timeouts, connect_failed;
	volatile uint64_t max_latency_us;	/* the test resets it */
	/* The subscriber that reads. */
	volatile int sub_subscribed, sub_closed;
	volatile uint64_t sub_exits, sub_vm_events, sub_lost;
};

static struct load_stats *load;
static pid_t load_pid = -1;
static pid_t witness_pid = -1;
static int witness_fd = -1;
/* The subscriber that never reads, and the watchdog's notify socket. */
static int mute_fd = -1;
static int notify_fd = -1;

struct load_client {
	int fd;
	double next_start, t_sent;
	size_t got;
	char head[64];		/* the answer's first bytes */
};

/* The subscriber's lines: counted by kind, events.lost summed. */
static void load_sub_lines(char *buf, size_t *len)
{
	char *p = buf, *nl;

	while ((nl = memchr(p, '\n', *len - (size_t)(p - buf)))) {
		*nl = '\0';
		/* The answer to events.subscribe names the notifications too. */
		if (strstr(p, "\"method\":\"events.exit\""))
			load->sub_exits++;
		else if (strstr(p, "\"method\":\"events.vm\""))
			load->sub_vm_events++;
		else if (strstr(p, "\"method\":\"events.lost\"")) {
			char *l = strstr(p, "\"lost\":");

			if (l)
				load->sub_lost += strtoull(l + 7, NULL, 10);
		} else if (strstr(p, "\"result\"")) {
			load->sub_subscribed = 1;
		}
		p = nl + 1;
	}
	*len -= (size_t)(p - buf);
	memmove(buf, p, *len);
}

static const char *load_request(unsigned long n, char *buf, size_t len)
{
	static const char *const methods[] = { "status", "exits.get", "vms.list", "events.stats",
					       "metrics" };
	const char *m = methods[n % 5];

	if (!strcmp(m, "exits.get"))
		snprintf(buf, len, "{\"jsonrpc\":\"2.0\",\"id\":%lu,\"method\":\"exits.get\",\"params\":{\"pid\":%d,\"view\":\"summary\"}}\n",
			 n, (int)witness_pid);
	else
		snprintf(buf, len, "{\"jsonrpc\":\"2.0\",\"id\":%lu,\"method\":\"%s\"}\n", n, m);
	return buf;
}

static void load_close(struct load_client *c, double next)
{
	close(c->fd);
	c->fd = -1;
	c->next_start = next;
	load->open--;
}

/*
 * The load's loop: each of 200 clients connects, asks one thing (status,
 * exits.get of the witness, vms.list, events.stats or metrics), reads the
 * whole answer, closes, and comes back a second later; at most 48 are
 * connected at once, under the daemon's 128.  Paused, it finishes what is
 * in flight and starts nothing.
 */
static void __attribute__((noreturn)) load_main(const char *sub_params)
{
	static struct load_client clients[LOAD_CLIENTS];
	static char buf[1 << 16], sub_buf[1 << 16];
	struct pollfd pfd[LOAD_CLIENTS + 1];
	struct load_client *owner[LOAD_CLIENTS + 1];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t sub_len = 0;
	unsigned long n_req = 0;
	int sub = test_connect_unix(sock_path);
	char req[256];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (sub >= 0) {
		snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":%s}\n",
			 sub_params);
		if (send_all_fd(sub, req, strlen(req)) < 0) {
			close(sub);
			sub = -1;
		}
	}
	if (sub < 0)
		load->sub_closed = 1;
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		clients[i].fd = -1;
		clients[i].next_start = now_seconds() + i * (LOAD_PERIOD_MS / 1000.0) / LOAD_CLIENTS;
	}
	while (!load->stop) {
		double now = now_seconds();
		int n = 0;

		for (int i = 0; i < LOAD_CLIENTS; i++) {
			struct load_client *c = &clients[i];

			if (c->fd >= 0 || load->pause || load->open >= LOAD_OPEN_MAX ||
			    now < c->next_start)
				continue;
			c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (c->fd < 0)
				break;
			load->open++;
			if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				/* A full backlog (the daemon is not accepting): try again soon. */
				if (errno == EAGAIN)
					load->backlog_full++;
				else
					load->connect_failed++;
				load_close(c, now + 0.1);
				continue;
			}
			load_request(n_req++, req, sizeof(req));
			if (send(c->fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
				load->closed_early++;
				load_close(c, now + 0.2);
				continue;
			}
			load->sessions++;
			c->t_sent = now;
			c->got = 0;
		}
		for (int i = 0; i < LOAD_CLIENTS; i++) {
			if (clients[i].fd < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
			owner[n++] = &clients[i];
		}
		if (sub >= 0) {
			pfd[n] = (struct pollfd){ .fd = sub, .events = POLLIN };
			owner[n++] = NULL;
		}
		if (poll(pfd, (nfds_t)n, 20) <= 0)
			goto timeouts;
		now = now_seconds();
		for (int k = 0; k < n; k++) {
			struct load_client *c = owner[k];
			ssize_t got;

			if (!pfd[k].revents)
				continue;
			if (!c) {
				got = recv(sub, sub_buf + sub_len, sizeof(sub_buf) - sub_len, MSG_DONTWAIT);
				if (got == 0 || (got < 0 && errno != EAGAIN)) {
					load->sub_closed = 1;
					close(sub);
					sub = -1;
				} else if (got > 0) {
					sub_len += (size_t)got;
					load_sub_lines(sub_buf, &sub_len);
					if (sub_len == sizeof(sub_buf))
						sub_len = 0;	/* a line longer than 64 KiB: not ours */
				}
				continue;
			}
			got = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (got < 0 && errno == EAGAIN)
				continue;
			if (got <= 0) {
				/* Closed before its answer: evicted, or refused without a word. */
				load->closed_early++;
				load_close(c, now + 0.2);
				continue;
			}
			if (c->got < sizeof(c->head) - 1) {
				size_t take = (size_t)got < sizeof(c->head) - 1 - c->got ?
					      (size_t)got : sizeof(c->head) - 1 - c->got;

				memcpy(c->head + c->got, buf, take);
				c->head[c->got + take] = '\0';
			}
			c->got += (size_t)got;
			if (!memchr(buf, '\n', (size_t)got))
				continue;
			if (strstr(c->head, "\"result\""))
				load->answers++;
			else if (strstr(c->head, "-32005"))
				load->refused++;
			else
				load->rpc_errors++;
			{
				uint64_t us = (uint64_t)((now - c->t_sent) * 1e6);

				if (us > load->max_latency_us)
					load->max_latency_us = us;
			}
			load_close(c, now + LOAD_PERIOD_MS / 1000.0);
		}
timeouts:
		now = now_seconds();
		for (int i = 0; i < LOAD_CLIENTS; i++)
			if (clients[i].fd >= 0 && now - clients[i].t_sent > 30) {
				load->timeouts++;
				load_close(&clients[i], now + 1);
			}
	}
	_exit(0);
}

static void load_start(const char *sub_params)
{
	load = mmap(NULL, sizeof(*load), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(load != MAP_FAILED);
	memset((void *)load, 0, sizeof(*load));
	load_pid = fork();
	assert_true(load_pid >= 0);
	if (load_pid == 0) {
		/* The parent's descriptors are not the load's to hold. */
		if (witness_fd >= 0)
			close(witness_fd);
		if (mute_fd >= 0)
			close(mute_fd);
		close(notify_fd);
		load_main(sub_params);
	}
}

/* Stop starting sessions and wait until none is open (within 40 s: a stopped daemon holds them). */
static void load_pause(const char *fault)
{
	double end = now_seconds() + 40;

	load->pause = 1;
	while (load->open > 0) {
		if (now_seconds() > end)
			fail_msg("%s: %d load clients still open 40 s after the load paused", fault,
				 load->open);
		sleep_ms(10);
	}
}

static void load_resume(void)
{
	load->pause = 0;
}

/* What the load saw between two calls: its answers must go on. */
struct load_mark {
	uint64_t answers, refused, closed_early, backlog_full, timeouts, rpc_errors;
};

static struct load_mark load_mark_now(void)
{
	return (struct load_mark){ load->answers, load->refused, load->closed_early,
				   load->backlog_full, load->timeouts, load->rpc_errors };
}

/*
 * The load got answers again after the fault, none of them an error or
 * late; a client closed before its answer (evicted) or refused only where
 * the fault fills the table (@evictions).
 */
static void assert_load_served(const char *fault, const struct load_mark *before, bool evictions)
{
	struct load_mark now;
	double end = now_seconds() + 5;

	/* At least a round of answers after the fault. */
	while (load->answers < before->answers + LOAD_CLIENTS / 4 && now_seconds() < end)
		sleep_ms(50);
	now = load_mark_now();
	print_message("[   INFO   ] %s: load: %llu answers, %llu refused, %llu closed before their answer, "
		      "%llu connects to a full backlog, %llu timeouts, %llu errors; slowest answer %.0f ms\n",
		      fault, (unsigned long long)(now.answers - before->answers),
		      (unsigned long long)(now.refused - before->refused),
		      (unsigned long long)(now.closed_early - before->closed_early),
		      (unsigned long long)(now.backlog_full - before->backlog_full),
		      (unsigned long long)(now.timeouts - before->timeouts),
		      (unsigned long long)(now.rpc_errors - before->rpc_errors),
		      load->max_latency_us / 1000.0);
	if (now.answers < before->answers + LOAD_CLIENTS / 4)
		fail_msg("%s: the load got %llu answers (%d expected at least) since the fault began",
			 fault, (unsigned long long)(now.answers - before->answers), LOAD_CLIENTS / 4);
	if (now.rpc_errors != before->rpc_errors || now.timeouts != before->timeouts)
		fail_msg("%s: the load got %llu error answers and %llu timeouts (30 s)", fault,
			 (unsigned long long)(now.rpc_errors - before->rpc_errors),
			 (unsigned long long)(now.timeouts - before->timeouts));
	if (!evictions && (now.refused != before->refused || now.closed_early != before->closed_early))
		fail_msg("%s: %llu load clients refused and %llu closed before their answer", fault,
			 (unsigned long long)(now.refused - before->refused),
			 (unsigned long long)(now.closed_early - before->closed_early));
	if (load->sub_closed)
		fail_msg("%s: the daemon closed the reading subscriber's connection", fault);
	load->max_latency_us = 0;
}

/* ---- the watchdog's pings (NOTIFY_SOCKET, WATCHDOG_USEC as systemd sets them) ---- */

static double pings[1024];	/* CLOCK_REALTIME of each WATCHDOG=1 */
static int n_pings;

static void notify_drain(void)
{
	for (;;) {
		char data[512], control[CMSG_SPACE(sizeof(struct timespec)) + 64];
		struct iovec iov = { data, sizeof(data) - 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
				      .msg_controllen = sizeof(control) };
		struct cmsghdr *cm;
		ssize_t n = recvmsg(notify_fd, &msg, MSG_DONTWAIT);
		double at = 0;

		if (n < 0)
			return;
		data[n] = '\0';
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				at = (double)ts.tv_sec + ts.tv_nsec / 1e9;
			}
		if (strstr(data, "WATCHDOG=1") && n_pings < (int)(sizeof(pings) / sizeof(pings[0])))
			pings[n_pings++] = at;
	}
}

static double realtime_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int notify_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1;

	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	if (bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(notify_fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

/* ---- status, RSS ---- */

/* GET /metrics on the daemon's port: does it answer 200 within @timeout_ms? */
static bool metrics_answer(int timeout_ms, size_t *bytes)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	double end = now_seconds() + timeout_ms / 1000.0;
	char buf[65536], head[32] = "";
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send_all_fd(fd, req, sizeof(req) - 1) < 0)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((end - now_seconds()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			goto out;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (len < sizeof(head) - 1) {
			size_t take = (size_t)n < sizeof(head) - 1 - len ? (size_t)n : sizeof(head) - 1 - len;

			memcpy(head + len, buf, take);
		}
		len += (size_t)n;
	}
	ok = strstr(head, " 200 ") != NULL;
	*bytes = len;
out:
	close(fd);
	return ok;
}

/* status on a new connection and GET /metrics answer, within @timeout_ms each. */
static void assert_status_answers(const char *fault, int timeout_ms)
{
	double t0 = now_seconds(), t_status;
	json_t *resp = rpc_response(fault, "status", NULL, timeout_ms);
	size_t bytes = 0;

	t_status = now_seconds() - t0;
	if (!json_object_get(resp, "result"))
		fail_msg("%s: status answered with an error: %.300s", fault,
			 json_dumps(resp, JSON_COMPACT));
	json_decref(resp);
	t0 = now_seconds();
	if (!metrics_answer(timeout_ms, &bytes))
		fail_msg("%s: GET /metrics on 127.0.0.1:%d got no 200 within %d ms", fault,
			 metrics_port, timeout_ms);
	print_message("[   INFO   ] %s: status answered in %.0f ms, GET /metrics (%zu bytes) in %.0f ms\n",
		      fault, t_status * 1000, bytes, (now_seconds() - t0) * 1000);
}

static long rss_baseline_kb;	/* after the warm-up */
static long rss_before_kb;	/* before the running fault */

/* The daemon's RSS with the load paused, so that no answer in flight counts. */
static long quiet_rss_kb(const char *fault)
{
	long kb;

	load_pause(fault);
	sleep_ms(200);
	kb = daemon_rss_kb();
	load_resume();
	return kb;
}

static void assert_rss_back(const char *fault)
{
	long after = quiet_rss_kb(fault);
	long bound = rss_before_kb > rss_baseline_kb ? rss_before_kb : rss_baseline_kb;

	print_message("[   INFO   ] %s: VmRSS %ld kB before, %ld kB after (%+.1f %%; %+.1f %% since the warm-up's %ld kB)%s\n",
		      fault, rss_before_kb, after, 100.0 * (after - rss_before_kb) / rss_before_kb,
		      100.0 * (after - rss_baseline_kb) / rss_baseline_kb, rss_baseline_kb,
		      RSS_CHECKED ? "" : "; not checked under ASan");
	if (after < 0)
		fail_msg("%s: cannot read the daemon's VmRSS", fault);
	if (RSS_CHECKED && after * 100 > bound * (100 + RSS_SLACK_PERCENT))
		fail_msg("%s: VmRSS %ld kB after, %ld kB before (%ld kB after the warm-up): more than %d %% above",
			 fault, after, rss_before_kb, rss_baseline_kb, RSS_SLACK_PERCENT);
	rss_before_kb = after;
}

/* What every fault is followed by (@evictions: load clients may have been evicted). */
static void assert_recovered(const char *fault, const struct load_mark *before, bool evictions)
{
	assert_daemon_alive(fault);
	assert_status_answers(fault, 5000);
	assert_fresh_guest_exact(fault);
	assert_load_served(fault, before, evictions);
	assert_rss_back(fault);
}

/* ---- the subscriber that never reads ---- */

static long long mute_sub = -1;
static long long mute_delivered_warm;	/* delivered to it when it first lost one */
static double mute_since;

/* This subscription's record in events.stats (new reference), or NULL. */
static json_t *subscription_stats(const char *fault, long long id)
{
	json_t *st = rpc(fault, "events.stats", NULL), *s, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(st, "subscriptions"), i, s)
		if (json_integer_value(json_object_get(s, "subscription")) == id)
			found = json_incref(s);
	json_decref(st);
	return found;
}

/* ---- group setup and teardown ---- */

static int group_teardown(void **state);

static int group_setup(void **state)
{
	char port[32], daemon[PATH_MAX], witness_args[32], sub_params[160];
	char *args[] = { "-m", "--propagation", "private", "--", daemon, "--socket", sock_path,
			 "--metrics", port, "--pin-dir", pin_dir, "--client-timeout",
			 XSTR(CLIENT_TIMEOUT_SEC),
			 "--log-level", "info", NULL };
	/* About 18,000 exits a second, a fifth of a CPU: load, not a flood. */
	char *witness[] = { "--vcpus", "2", "--out", "0x60:200", "--hlt", "2", "--seconds",
			    witness_args, "--lap-pause", "10", "-name", "witness", NULL };
	struct rlimit rl;
	json_t *r;
	char *line;

	if (test_require_root_kvm("faults-tests") < 0)
		return -1;
	if (getenv("KVMSCOPE_BUILD"))
		build_dir = getenv("KVMSCOPE_BUILD");
	if (access("/usr/bin/unshare", X_OK) < 0) {
		fprintf(stderr, "faults-tests: /usr/bin/unshare (util-linux) is needed: %s\n",
			strerror(errno));
		return -1;
	}
	/* 500 clients at once, and the rest. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmscope-faults-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/kvmscope.sock", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/kvmscoped.log", tmpdir);
	snprintf(notify_path, sizeof(notify_path), "%s/notify", tmpdir);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/kvmscope-faults-%d", (int)getpid());
	snprintf(daemon, sizeof(daemon), "%s", bin("kvmscoped"));
	metrics_port = pick_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%d", metrics_port);
	if (notify_open() < 0) {
		fprintf(stderr, "faults-tests: cannot bind %s: %s\n", notify_path, strerror(errno));
		goto fail;
	}
	/* As systemd runs kvmscoped.service: a notify socket and WatchdogSec=30. */
	setenv("NOTIFY_SOCKET", notify_path, 1);
	setenv("WATCHDOG_USEC", "30000000", 1);
	daemon_pid = test_kvmscoped_start("/usr/bin/unshare", log_path, args);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	if (test_kvmscoped_wait(sock_path, daemon_pid, 20000) < 0) {
		fprintf(stderr, "faults-tests: kvmscoped did not come up; see %s\n", log_path);
		goto fail;
	}

	/* The witness: busy through every fault, counted exactly at the end. */
	snprintf(witness_args, sizeof(witness_args), "%d", WITNESS_SECONDS);
	witness_pid = proc_start_args(bin("kvmscope-guest"), witness, &witness_fd);
	if (witness_pid <= 0) {
		fprintf(stderr, "faults-tests: cannot start the witness guest\n");
		goto fail;
	}

	/* The subscriber that never reads: its stream is the witness's exits. */
	mute_fd = test_connect_unix(sock_path);
	if (mute_fd < 0)
		goto fail;
	snprintf(sub_params, sizeof(sub_params),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{\"topics\":[\"exit\"],\"pid\":%d}}\n",
		 (int)witness_pid);
	if (send_all_fd(mute_fd, sub_params, strlen(sub_params)) < 0)
		goto fail;
	line = read_line(mute_fd, 5000);
	r = line ? json_loads(line, 0, NULL) : NULL;
	mute_sub = json_integer_value(json_object_get(json_object_get(r, "result"), "subscription"));
	if (!r || mute_sub <= 0) {
		fprintf(stderr, "faults-tests: events.subscribe failed: %s\n", line ? line : "no answer");
		goto fail;
	}
	json_decref(r);
	free(line);
	mute_since = now_seconds();

	/* The load, with a subscriber that reads 1 in 100 of the witness's exits. */
	snprintf(sub_params, sizeof(sub_params), "{\"topics\":[\"vm\",\"exit\"],\"pid\":%d,\"sample\":100}",
		 (int)witness_pid);
	load_start(sub_params);
	return 0;
fail:
	/* cmocka runs no group teardown after a failed setup. */
	group_teardown(state);
	return -1;
}

static int group_teardown(void **state)
{
	char cmd[160];
	char *cleanup[] = { bin("kvmscoped"), "--cleanup", "--pin-dir", pin_dir, NULL };
	struct proc_result r;

	if (load_pid > 0) {
		load->stop = 1;
		if (waitpid(load_pid, NULL, 0) < 0)
			kill(load_pid, SIGKILL);
		load_pid = -1;
	}
	if (mute_fd >= 0)
		close(mute_fd);
	if (witness_pid > 0) {
		kill(witness_pid, SIGKILL);
		waitpid(witness_pid, NULL, 0);
		close(witness_fd);
		witness_pid = -1;
	}
	if (daemon_pid > 0)
		kill(daemon_pid, SIGCONT);
	test_process_stop(&daemon_pid, SIGTERM);
	r = proc_run(cleanup);
	proc_result_free(&r);
	if (notify_fd >= 0)
		close(notify_fd);
	if (tmpdir[0] && !getenv("KVMSCOPE_KEEP_LOGS")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		(void)!system(cmd);
	} else if (tmpdir[0]) {
		fprintf(stderr, "faults-tests: logs kept in %s\n", tmpdir);
	}
	return 0;
}

/* ---- the tests ---- */

/*
 * First, the load settles: a guest, a round of every request, and the
 * subscriber that never reads is 1 MiB behind (its one-time buffer is
 * part of the baseline).  What the faults are measured against.
 */
static void test_warm_up_under_load(void **state)
{
	const char *fault = "warm-up";
	struct load_mark mark = load_mark_now();
	double end = now_seconds() + 20;
	json_t *s;

	if (proc_state(witness_pid) == 0 || proc_state(witness_pid) == 'Z')
		fail_msg("the witness guest (pid %d) is not running", (int)witness_pid);
	assert_fresh_guest_exact(fault);
	for (;;) {
		s = subscription_stats(fault, mute_sub);
		if (!s)
			fail_msg("%s: the subscription %lld is not in events.stats", fault, mute_sub);
		if (json_integer_value(json_object_get(s, "lost")) > 0)
			break;
		if (now_seconds() > end)
			fail_msg("%s: the subscriber that never reads lost nothing in 20 s (%lld delivered): the witness makes too few exits",
				 fault, (long long)json_integer_value(json_object_get(s, "delivered")));
		json_decref(s);
		sleep_ms(200);
	}
	mute_delivered_warm = json_integer_value(json_object_get(s, "delivered"));
	print_message("[   INFO   ] %s: the subscriber that never reads is %lld events behind after %.1f s, %lld lost\n",
		      fault, mute_delivered_warm, now_seconds() - mute_since,
		      (long long)json_integer_value(json_object_get(s, "lost")));
	json_decref(s);
	if (!load->sub_subscribed)
		fail_msg("%s: the load's subscriber is not subscribed", fault);
	assert_load_served(fault, &mark, false);
	sleep_ms(1000);
	rss_baseline_kb = rss_before_kb = quiet_rss_kb(fault);
	print_message("[   INFO   ] %s: VmRSS %ld kB under load (the baseline)\n", fault,
		      rss_baseline_kb);
}

/*
 * 100 MB without a newline: one -32600 answer once the line passes 64
 * KiB, the rest dropped; the daemon's memory stays put, the connection is
 * usable after the newline, and a client that falls silent inside an
 * over-long line is closed by the idle timeout.
 */
static void test_100mb_without_newline(void **state)
{
	const char *fault = "100 MB without a newline";
	struct load_mark mark = load_mark_now();
	size_t total = 100u << 20, sent = 0, chunk = 1u << 16;
	char *data = malloc(chunk), *line;
	struct timeval tv = { .tv_sec = 20 };
	long rss_mid;
	double t0, t_sent, t_silent;
	int fd = test_connect_unix(sock_path);

	assert_non_null(data);
	if (fd < 0)
		fail_msg("%s: cannot connect: %s", fault, strerror(-fd));
	memset(data, 'x', chunk);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t0 = now_seconds();
	while (sent < total) {
		ssize_t n = send(fd, data, chunk, MSG_NOSIGNAL);

		if (n <= 0)
			fail_msg("%s: the daemon stopped taking bytes after %zu of %zu: %s", fault, sent,
				 total, n < 0 ? strerror(errno) : "closed");
		sent += (size_t)n;
	}
	t_sent = now_seconds() - t0;
	rss_mid = daemon_rss_kb();
	print_message("[   INFO   ] %s: sent in %.2f s (%.0f MB/s); VmRSS %ld kB with the line open\n",
		      fault, t_sent, 100 / t_sent, rss_mid);
	if (RSS_CHECKED && rss_mid * 100 > rss_before_kb * (100 + RSS_SLACK_PERCENT))
		fail_msg("%s: VmRSS %ld kB with 100 MB sent, %ld kB before", fault, rss_mid,
			 rss_before_kb);
	/* One error, said once, not one per 64 KiB. */
	line = read_line(fd, 2000);
	if (!line)
		fail_msg("%s: no -32600 answer for the over-long line", fault);
	{
		char want[64];

		snprintf(want, sizeof(want), "request line longer than %d bytes", LINE_MAX_BYTES);
		assert_contains(line, "-32600");
		assert_contains(line, want);
	}
	free(line);
	line = read_line(fd, 300);
	if (line)
		fail_msg("%s: a second answer for one line: %.200s", fault, line);
	/* The newline ends the long line; the next request is served. */
	{
		static const char req[] = "\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"status\"}\n";

		assert_int_equal(send_all_fd(fd, req, sizeof(req) - 1), 0);
		line = read_line(fd, 5000);
		if (!line || !strstr(line, "\"result\""))
			fail_msg("%s: status on the same connection after the newline: %.200s", fault,
				 line ? line : "no answer");
		free(line);
	}
	/*
	 * Silent inside another over-long line: closed after --client-timeout.
	 * Past 64 KiB the daemon holds nothing of the line, and the 10 s of a
	 * half line do not apply to it: only the idle timeout does.
	 */
	for (int i = 0; i < 2 * LINE_MAX_BYTES / (int)chunk; i++)
		assert_int_equal(send_all_fd(fd, data, chunk), 0);
	t0 = now_seconds();
	if (!closed_within(fd, (CLIENT_TIMEOUT_SEC + 3) * 1000))
		fail_msg("%s: a client silent inside an over-long line was not closed within %d s", fault,
			 CLIENT_TIMEOUT_SEC + 3);
	t_silent = now_seconds() - t0;
	print_message("[   INFO   ] %s: silent inside an over-long line, closed after %.1f s\n", fault,
		      t_silent);
	close(fd);
	free(data);
	assert_recovered(fault, &mark, false);
}

/*
 * 1,000 clients that connect and go: at once, after half a line, after a
 * request whose answer they never read, after a metrics request (an
 * answer too big for the socket, so its send fails).  Nothing of them
 * stays in the daemon: not a descriptor.
 */
static void test_1000_clients_vanish(void **state)
{
	static const char *const sends[] = {
		NULL,
		"{\"jsonrpc\":\"2.0\",\"meth",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"metrics\"}\n",
	};
	const char *fault = "1,000 clients that vanish";
	struct load_mark mark = load_mark_now();
	int fds[50], fds_before, fds_after = -1, failed = 0;
	double t0;

	load_pause(fault);
	sleep_ms(300);
	fds_before = daemon_fd_count();
	load_resume();
	t0 = now_seconds();
	for (int batch = 0; batch < 20; batch++) {
		for (int i = 0; i < 50; i++) {
			const char *s = sends[(batch * 50 + i) % 4];

			fds[i] = test_connect_unix(sock_path);
			if (fds[i] < 0) {
				failed++;
				continue;
			}
			if (s)
				(void)send_all_fd(fds[i], s, strlen(s));
		}
		for (int i = 0; i < 50; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	print_message("[   INFO   ] %s: 1,000 connected and gone in %.2f s (%d could not connect)\n",
		      fault, now_seconds() - t0, failed);
	if (failed)
		fail_msg("%s: %d of 1,000 clients could not connect", fault, failed);
	/* Their descriptors go as the daemon sees them close. */
	load_pause(fault);
	for (int i = 0; i < 50 && fds_after != fds_before; i++) {
		sleep_ms(100);
		fds_after = daemon_fd_count();
	}
	load_resume();
	print_message("[   INFO   ] %s: daemon descriptors %d before, %d after\n", fault, fds_before,
		      fds_after);
	if (fds_after != fds_before)
		fail_msg("%s: the daemon holds %d descriptors, %d before the 1,000 clients", fault,
			 fds_after, fds_before);
	assert_recovered(fault, &mark, false);
}

#define HALF_CLIENTS 500

static const char half_line[] = "{\"jsonrpc\":\"2.0\",\"meth";
static const char status_line[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n";

/*
 * 500 clients each holding half a request: the table (128) fills, every
 * newcomer evicts the idle client silent longest, and a new client is
 * served at once.  Then, the load paused so that nobody else evicts them,
 * the survivors are timed out: a silent one after --client-timeout, one
 * that keeps adding to its half line after 10 s.
 */
static void test_500_half_requests_new_client_served(void **state)
{
	static int fds[HALF_CLIENTS];
	static double sent_at[HALF_CLIENTS], closed_at[HALF_CLIENTS];
	const char *fault = "500 half requests";
	struct load_mark mark = load_mark_now();
	int open = 0, oldest_open = -1, inversions = 0, idle;
	double t0, t_served, end, t_idle0, t_idle = -1;
	json_t *r;
	char *line;

	for (int i = 0; i < HALF_CLIENTS; i++) {
		fds[i] = test_connect_unix(sock_path);
		if (fds[i] < 0)
			fail_msg("%s: client %d cannot connect: %s", fault, i, strerror(-fds[i]));
		if (send_all_fd(fds[i], half_line, strlen(half_line)) < 0)
			fail_msg("%s: client %d cannot send: %s", fault, i, strerror(errno));
		sent_at[i] = now_seconds();
		closed_at[i] = 0;
	}
	/* A new client, with the table full of half lines. */
	t0 = now_seconds();
	idle = test_connect_unix(sock_path);
	if (idle < 0)
		fail_msg("%s: the new client cannot connect: %s", fault, strerror(-idle));
	assert_int_equal(send_all_fd(idle, status_line, strlen(status_line)), 0);
	line = read_line(idle, 5000);
	t_served = now_seconds() - t0;
	if (!line)
		fail_msg("%s: the new client got no answer within 5 s", fault);
	r = json_loads(line, 0, NULL);
	if (!json_object_get(r, "result"))
		fail_msg("%s: the new client was not served: %.300s", fault, line);
	json_decref(r);
	free(line);
	close(idle);
	/* Who is left: the youngest, never one older than an evicted one (much). */
	for (int i = 0; i < HALF_CLIENTS; i++) {
		if (closed_now(fds[i])) {
			closed_at[i] = now_seconds();
			continue;
		}
		open++;
		if (oldest_open < 0)
			oldest_open = i;
	}
	for (int i = oldest_open + 1; oldest_open >= 0 && i < HALF_CLIENTS; i++)
		inversions += closed_at[i] != 0;
	print_message("[   INFO   ] %s: new client served in %.0f ms; %d of %d half lines left, the oldest of them #%d, %d younger ones evicted before it\n",
		      fault, t_served * 1000, open, HALF_CLIENTS, oldest_open, inversions);
	if (t_served > 2)
		fail_msg("%s: the new client waited %.1f s for its answer", fault, t_served);
	if (open > MAX_CLIENTS || open == 0)
		fail_msg("%s: %d half-line clients open (the table holds %d)", fault, open, MAX_CLIENTS);
	/* Eviction is oldest first: the older half are gone, the youngest are there. */
	if (oldest_open < HALF_CLIENTS / 2)
		fail_msg("%s: client #%d of %d is still open: eviction is not oldest first", fault,
			 oldest_open, HALF_CLIENTS);
	for (int i = HALF_CLIENTS - 20; i < HALF_CLIENTS; i++)
		if (closed_at[i])
			fail_msg("%s: client #%d, among the 20 youngest, was evicted", fault, i);

	/*
	 * Timed out, by themselves: the load paused, nobody new comes to
	 * evict them but one idle client (who evicts one); even ones keep
	 * adding to their line.
	 */
	load_pause(fault);
	idle = test_connect_unix(sock_path);
	t_idle0 = now_seconds();
	sleep_ms(200);
	for (int i = 0; i < HALF_CLIENTS; i++)
		if (!closed_at[i] && closed_now(fds[i]))
			closed_at[i] = now_seconds();
	t0 = now_seconds();
	end = t0 + PARTIAL_LINE_SEC + 4;
	for (double last_space = 0; now_seconds() < end;) {
		int left = 0;

		if (now_seconds() - last_space > 2) {
			for (int i = 0; i < HALF_CLIENTS; i += 2)
				if (!closed_at[i])
					(void)send(fds[i], " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			last_space = now_seconds();
		}
		sleep_ms(100);
		for (int i = 0; i < HALF_CLIENTS; i++) {
			if (!closed_at[i] && closed_now(fds[i]))
				closed_at[i] = now_seconds();
			left += !closed_at[i];
		}
		if (t_idle < 0 && idle >= 0 && closed_now(idle))
			t_idle = now_seconds() - t_idle0;
		if (!left && t_idle >= 0)
			break;
	}
	{
		double silent_min = 1e9, silent_max = 0, adding_min = 1e9, adding_max = 0;
		int timed = 0;

		for (int i = oldest_open; i < HALF_CLIENTS; i++) {
			double t = closed_at[i] - sent_at[i];

			if (!closed_at[i])
				fail_msg("%s: client #%d still open %.0f s after its half line", fault, i,
					 now_seconds() - sent_at[i]);
			if (closed_at[i] < t0)
				continue;	/* evicted before */
			timed++;
			if (i % 2) {
				silent_min = t < silent_min ? t : silent_min;
				silent_max = t > silent_max ? t : silent_max;
			} else {
				adding_min = t < adding_min ? t : adding_min;
				adding_max = t > adding_max ? t : adding_max;
			}
		}
		print_message("[   INFO   ] %s: %d timed out: silent half lines after %.1f-%.1f s, half lines still being written after %.1f-%.1f s; an idle client after %.1f s\n",
			      fault, timed, silent_min, silent_max, adding_min, adding_max, t_idle);
		if (silent_min < CLIENT_TIMEOUT_SEC - 0.5 || silent_max > CLIENT_TIMEOUT_SEC + 2.5)
			fail_msg("%s: silent half lines closed after %.1f-%.1f s (--client-timeout %d)", fault,
				 silent_min, silent_max, CLIENT_TIMEOUT_SEC);
		if (adding_min < PARTIAL_LINE_SEC - 0.5 || adding_max > PARTIAL_LINE_SEC + 2.5)
			fail_msg("%s: half lines still being written closed after %.1f-%.1f s (limit %d s)",
				 fault, adding_min, adding_max, PARTIAL_LINE_SEC);
		if (t_idle < CLIENT_TIMEOUT_SEC - 0.5 || t_idle > CLIENT_TIMEOUT_SEC + 2.5)
			fail_msg("%s: an idle client closed after %.1f s (--client-timeout %d)", fault, t_idle,
				 CLIENT_TIMEOUT_SEC);
	}
	close(idle);
	for (int i = 0; i < HALF_CLIENTS; i++)
		close(fds[i]);
	load_resume();
	assert_recovered(fault, &mark, true);
}

/* Exits the kernel's stream could not take (events.stats), as read at the last tick. */
static long long kernel_ring_lost(const char *fault)
{
	json_t *st = rpc(fault, "events.stats", NULL);
	long long lost = json_integer_value(json_object_get(st, "lost_kernel_ring"));

	json_decref(st);
	return lost;
}

/*
 * SIGSTOP for 10 s, then SIGCONT.  While stopped, a guest runs and exits:
 * the kernel counts it, and the daemon, woken, has it exact.  Requests
 * wait and are answered at SIGCONT.
 *
 * The watchdog: sd-event pings when a loop iteration finds a quarter of
 * WatchdogSec gone since the last ping, and the loop wakes at least every
 * tick (1 s), so a ping is never older than WatchdogSec/4 plus a tick when
 * the stop begins.  systemd kills the service (SIGABRT, WatchdogSignal=)
 * when no ping came for WatchdogSec (30 s in kvmscoped.service): a stop of
 * 10 s is far from that; one longer than about 20 s may be, and then
 * Restart=on-failure starts a daemon that adopts the pinned maps and
 * links (core.c's test_kill9_keeps_every_exit), so counting goes on.
 * Here the daemon has WATCHDOG_USEC=30000000 and a notify socket of ours,
 * and the longest gap between its pings is measured.
 */
static void test_sigstop_sigcont(void **state)
{
	const char *fault = "SIGSTOP 10 s";
	char *args[] = { "--vcpus", "2", "--out", "0x71:500", "--hlt", "11", "-name", "stopped",
			 NULL };
	struct load_mark mark = load_mark_now();
	long long first0, backup0;
	double t_stop, rt_stop, rt_cont, t0, gap = 0, last_before = 0, first_after = 0;
	double every_min = 1e9, every_max = 0;
	json_t *report, *resp;
	long long ring_lost0;
	int fd, gfd;
	pid_t guest;

	ring_lost0 = kernel_ring_lost(fault);
	notify_drain();
	if (n_pings < 2)
		fail_msg("%s: the daemon sent %d watchdog pings so far (WATCHDOG_USEC is set)", fault,
			 n_pings);
	userspace_exit_skips(fault, &first0, &backup0);
	/* A request already waiting when it stops: answered at SIGCONT. */
	fd = test_connect_unix(sock_path);
	assert_true(fd >= 0);
	assert_int_equal(kill(daemon_pid, SIGSTOP), 0);
	t_stop = now_seconds();
	rt_stop = realtime_seconds();
	for (int i = 0; proc_state(daemon_pid) != 'T'; i++) {
		if (i == 100)
			fail_msg("%s: kvmscoped is in state %c 1 s after SIGSTOP", fault,
				 proc_state(daemon_pid));
		sleep_ms(10);
	}
	assert_int_equal(send_all_fd(fd, status_line, strlen(status_line)), 0);
	guest = start_guest(args, &gfd);
	report = guest_report(fault, guest, gfd);
	{
		char *line = read_line(fd, 500);

		if (line)
			fail_msg("%s: a stopped daemon answered: %.200s", fault, line);
	}
	if (now_seconds() - t_stop < 10)
		sleep_ms((long)((10 - (now_seconds() - t_stop)) * 1000));
	rt_cont = realtime_seconds();
	t0 = now_seconds();
	assert_int_equal(kill(daemon_pid, SIGCONT), 0);
	{
		char *line = read_line(fd, 5000);

		if (!line || !strstr(line, "\"result\""))
			fail_msg("%s: the request sent while stopped got %s within 5 s of SIGCONT", fault,
				 line ? line : "no answer");
		print_message("[   INFO   ] %s: the request that waited was answered %.0f ms after SIGCONT\n",
			      fault, (now_seconds() - t0) * 1000);
		free(line);
	}
	close(fd);
	resp = rpc_response(fault, "status", NULL, 5000);
	json_decref(resp);
	print_message("[   INFO   ] %s: stopped %.1f s; a new status answered %.0f ms after SIGCONT\n",
		      fault, rt_cont - rt_stop, (now_seconds() - t0) * 1000);
	print_message("[   INFO   ] %s: the kernel's exit stream dropped %lld events meanwhile (lost_kernel_ring: a 1 MiB ring, undrained 10 s)\n",
		      fault, kernel_ring_lost(fault) - ring_lost0);
	/* The guest that ran and exited while the daemon was stopped. */
	assert_vm_exact(fault, "the guest run while stopped", report, -1, first0, backup0);
	print_message("[   INFO   ] %s: the guest run while stopped (pid %lld) counted exactly: IO %lld, HLT %lld\n",
		      fault, report_pid(report), report_count(report, "IO"),
		      report_count(report, "HLT"));
	json_decref(report);
	/* The watchdog pings around the stop: the first after SIGCONT comes soon. */
	do {
		notify_drain();
		if (n_pings && pings[n_pings - 1] > rt_cont)
			break;
		sleep_ms(100);
	} while (now_seconds() - t0 < WATCHDOG_SEC / 4 + 2);
	for (int i = 0; i < n_pings; i++) {
		if (pings[i] < rt_stop)
			last_before = pings[i];
		else if (!first_after)
			first_after = pings[i];
		/* How often it pings when running. */
		if (i && pings[i] < rt_stop) {
			double d = pings[i] - pings[i - 1];

			every_min = d < every_min ? d : every_min;
			every_max = d > every_max ? d : every_max;
		}
	}
	if (!first_after)
		fail_msg("%s: no watchdog ping within %d s of SIGCONT", fault, WATCHDOG_SEC / 4 + 2);
	gap = first_after - last_before;
	print_message("[   INFO   ] %s: watchdog pings every %.1f-%.1f s while running; the last %.1f s before SIGSTOP, the next %.2f s after SIGCONT: %.1f s without one (WatchdogSec=%d)\n",
		      fault, every_min, every_max, rt_stop - last_before, first_after - rt_cont, gap,
		      WATCHDOG_SEC);
	if (gap >= WATCHDOG_SEC)
		fail_msg("%s: %.1f s without a watchdog ping: systemd would have killed the daemon (WatchdogSec=%d)",
			 fault, gap, WATCHDOG_SEC);
	assert_recovered(fault, &mark, false);
}

/* ---- exec, pid reuse, /proc vanishing ---- */

/* Does @pid hold a KVM file: /dev/kvm, a VM or a vCPU? */
static bool holds_kvm_file(pid_t pid)
{
	char dir[64], path[320], link[128];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found |= !strncmp(link, "anon_inode:kvm", 14) || !strcmp(link, "/dev/kvm");
	}
	closedir(d);
	return found;
}

static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* The guest's report from @fd as soon as it is whole, without waiting for EOF. */
static json_t *report_without_eof(const char *fault, int fd, int timeout_ms)
{
	size_t cap = 1 << 16, len = 0;
	double end = now_seconds() + timeout_ms / 1000.0;
	char *buf = malloc(cap);
	json_t *v = NULL;

	assert_non_null(buf);
	while (!v) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((end - now_seconds()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			fail_msg("%s: no whole report from the guest within %d ms (%zu bytes)", fault,
				 timeout_ms, len);
		if (len + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			fail_msg("%s: the guest's output ended after %zu bytes, no report", fault, len);
		len += (size_t)n;
		buf[len] = '\0';
		v = json_loads(buf, 0, NULL);
	}
	free(buf);
	return v;
}

/*
 * A VM process that execs into something else (as a VMM that re-executes
 * itself does): its VM goes with the old image, the pid stays.  The
 * daemon keeps the VM's counts as they were and never takes the new image
 * for a VM, under its name or with counts of its own.
 */
static void test_exec_into_something_else(void **state)
{
	const char *fault = "exec into something else";
	char *args[] = { "--vcpus", "2", "--out", "0x72:200", "--hlt", "5", "-name", "execer",
			 "--exec-after", "/bin/sleep", "--", "2", NULL };
	struct load_mark mark = load_mark_now();
	long long first0, backup0, io, hlt;
	char comm[32], *out;
	json_t *report, *vms, *vm, *list, *v;
	size_t i, n_vms, n_listed = 0;
	int fd, status;
	pid_t pid;

	userspace_exit_skips(fault, &first0, &backup0);
	pid = start_guest(args, &fd);
	report = report_without_eof(fault, fd, 10000);
	assert_int_equal(report_pid(report), pid);
	/* The subject: the same pid, another program, no KVM file left. */
	for (int tries = 0;; tries++) {
		read_comm(pid, comm, sizeof(comm));
		if (!strcmp(comm, "sleep") && !holds_kvm_file(pid))
			break;
		if (tries == 300)
			fail_msg("%s: pid %d is \"%s\"%s 3 s after its report: it did not exec into sleep",
				 fault, (int)pid, comm, holds_kvm_file(pid) ? " and holds a KVM file" : "");
		sleep_ms(10);
	}
	/* A tick for the daemon to read the maps after the VM's last exit. */
	sleep_ms(1200);
	vms = vms_of_pid(fault, pid);
	vm = json_array_get(vms, json_array_size(vms) - 1);
	if (!vm)
		fail_msg("%s: exits.get has no VM for pid %d", fault, (int)pid);
	io = user_count(vm, "IO");
	hlt = user_count(vm, "HLT");
	print_message("[   INFO   ] %s: pid %d now runs %s; its VM shows as %s, comm %s, IO %lld of %lld, HLT %lld of %lld\n",
		      fault, (int)pid, comm, vm_state(vm),
		      json_string_value(json_object_get(vm, "comm")), io, report_count(report, "IO"),
		      hlt, report_count(report, "HLT"));
	if (strcmp(json_string_value(json_object_get(vm, "comm")) ?: "", "kvmscope-guest"))
		fail_msg("%s: the VM of pid %d is called \"%s\" after the exec", fault, (int)pid,
			 json_string_value(json_object_get(vm, "comm")));
	if (io > report_count(report, "IO") || hlt > report_count(report, "HLT"))
		fail_msg("%s: pid %d: IO %lld, HLT %lld after the exec; the VM made %lld and %lld", fault,
			 (int)pid, io, hlt, report_count(report, "IO"), report_count(report, "HLT"));
	json_decref(vms);
	/* sleep ends: the one VM of the pid is exited, with the guest's counts. */
	status = proc_finish(pid, fd, &out);
	free(out);
	if (status != 0)
		fail_msg("%s: the exec'd sleep ended with status %d", fault, status);
	assert_vm_exact(fault, "the VM that exec'd", report, -1, first0, backup0);
	vm = exited_vm(fault, pid, -1, &n_vms);
	json_decref(vm);
	list = rpc(fault, "vms.list", NULL);
	json_array_foreach(json_object_get(list, "vms"), i, v) {
		if (json_integer_value(json_object_get(v, "pid")) != pid)
			continue;
		if (!strcmp(json_string_value(json_object_get(v, "comm")) ?: "", "sleep"))
			fail_msg("%s: vms.list shows the exec'd sleep (pid %d) as a VM", fault, (int)pid);
		n_listed++;
	}
	json_decref(list);
	/* Earlier VMs of a reused pid may be listed too; this one is the newest. */
	print_message("[   INFO   ] %s: after sleep ended: %zu VM(s) listed for pid %d, the newest exited and exact\n",
		      fault, n_listed, (int)pid);
	json_decref(report);
	assert_recovered(fault, &mark, false);
}

static int ns_last_pid_read(void)
{
	char buf[32] = "";
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -EINVAL;
}

static int ns_last_pid_write(int v)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC), len, r = 0;

	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d", v);
	if (write(fd, buf, (size_t)len) != len)
		r = -errno;
	close(fd);
	return r;
}

/*
 * The guest with @args in a process whose pid is @want: the kernel's
 * next pid is set to @want (ns_last_pid), then a child is forked; it runs
 * the guest only if it got @want (another process on the host may have
 * been first), else it goes and we try again.  Its stdout on *@out_fd.
 */
static pid_t start_guest_at_pid(const char *fault, pid_t want, char *const args[], int *out_fd,
				int *tries)
{
	char *argv[32] = { bin("kvmscope-guest") };
	int n = 1, r;

	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	for (*tries = 1; *tries <= 500; (*tries)++) {
		int out[2], go[2];
		char c;
		pid_t pid;

		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
			fail_msg("%s: pipe: %s", fault, strerror(errno));
		r = ns_last_pid_write(want - 1);
		if (r < 0)
			fail_msg("%s: cannot write /proc/sys/kernel/ns_last_pid: %s", fault, strerror(-r));
		pid = fork();
		if (pid < 0)
			fail_msg("%s: fork: %s", fault, strerror(errno));
		if (pid == 0) {
			if (read(go[0], &c, 1) != 1 || c != 'x')
				_exit(0);
			dup2(out[1], 1);
			execv(argv[0], argv);
			_exit(127);
		}
		close(go[0]);
		close(out[1]);
		c = pid == want ? 'x' : 'q';
		(void)!write(go[1], &c, 1);
		close(go[1]);
		if (pid == want) {
			*out_fd = out[0];
			return pid;
		}
		close(out[0]);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/*
 * pid reuse: a VM in pid P runs and exits, then another process gets P
 * (ns_last_pid, as CRIU sets it) and runs a VM with another mix.  The
 * daemon keys VMs by pid and start time: two VMs for P, oldest first,
 * each with exactly its own counts, the second not added to the first.
 * The second starts 100 ms after the first: the start time in /proc,
 * which tells them apart, counts clock ticks (10 ms), and a pid comes
 * again within one only when forced.  With @stopped, the daemon is
 * stopped while the second runs, so that the second is gone before the
 * daemon can read its /proc.
 */
static void pid_reuse(const char *fault, bool stopped)
{
	char *first_args[] = { "--out", "0x73:120", "--hlt", "3", "-name", "first", NULL };
	/* Alive 1.5 s after its exits: the daemon reads its /proc while it is there. */
	char *second_args[] = { "--vcpus", "2", "--out", "0x74:80", "--hlt", "9", "-name", "second",
				"--linger", "1500", NULL };
	long long first0, backup0;
	json_t *a, *b, *vms, *va, *vb;
	int fd, tries, last_pid;
	size_t n;
	pid_t pid, again;

	userspace_exit_skips(fault, &first0, &backup0);
	pid = start_guest(first_args, &fd);
	a = guest_report(fault, pid, fd);
	assert_vm_exact(fault, "the first VM of the pid", a, -1, first0, backup0);
	vms = vms_of_pid(fault, pid);
	n = json_array_size(vms);
	json_decref(vms);
	sleep_ms(100);
	if (stopped) {
		second_args[8] = NULL;
		assert_int_equal(kill(daemon_pid, SIGSTOP), 0);
		for (int i = 0; proc_state(daemon_pid) != 'T'; i++) {
			if (i == 100)
				fail_msg("%s: kvmscoped is in state %c 1 s after SIGSTOP", fault,
					 proc_state(daemon_pid));
			sleep_ms(10);
		}
	}
	last_pid = ns_last_pid_read();
	again = start_guest_at_pid(fault, pid, second_args, &fd, &tries);
	/* Give the host its pid cursor back: no pid of this run comes again by chance. */
	if (last_pid > 0 && ns_last_pid_read() < last_pid)
		ns_last_pid_write(last_pid);
	if (again < 0) {
		kill(daemon_pid, SIGCONT);
		fail_msg("%s: pid %d could not be had again in %d forks: other processes were first every time",
			 fault, (int)pid, tries - 1);
	}
	b = guest_report(fault, again, fd);
	if (stopped)
		assert_int_equal(kill(daemon_pid, SIGCONT), 0);
	assert_int_equal(report_pid(b), pid);
	vms = vms_of_pid(fault, pid);
	if (json_array_size(vms) != n + 1) {
		va = json_array_get(vms, json_array_size(vms) - 1);
		fail_msg("%s: %zu VMs for pid %d after its second VM, %zu before; the newest has IO %lld, HLT %lld (the first VM made %lld and %lld, the second %lld and %lld)",
			 fault, json_array_size(vms), (int)pid, n, user_count(va, "IO"),
			 user_count(va, "HLT"), report_count(a, "IO"), report_count(a, "HLT"),
			 report_count(b, "IO"), report_count(b, "HLT"));
	}
	json_decref(vms);
	assert_vm_exact(fault, "the second VM of the pid", b, -1, first0, backup0);
	vms = vms_of_pid(fault, pid);
	va = json_array_get(vms, n - 1);
	vb = json_array_get(vms, n);
	print_message("[   INFO   ] %s: pid %d again after %d fork(s): first VM IO %lld HLT %lld, second IO %lld HLT %lld (guests: %lld %lld, %lld %lld)\n",
		      fault, (int)pid, tries, user_count(va, "IO"), user_count(va, "HLT"),
		      user_count(vb, "IO"), user_count(vb, "HLT"), report_count(a, "IO"),
		      report_count(a, "HLT"), report_count(b, "IO"), report_count(b, "HLT"));
	/* The first, read again after the second ran: nothing of the second in it. */
	if (user_count(va, "IO") != report_count(a, "IO") ||
	    user_count(va, "HLT") != report_count(a, "HLT"))
		fail_msg("%s: the first VM of pid %d has IO %lld, HLT %lld after the second ran; it made %lld and %lld",
			 fault, (int)pid, user_count(va, "IO"), user_count(va, "HLT"),
			 report_count(a, "IO"), report_count(a, "HLT"));
	if (json_real_value(json_object_get(va, "first_seen")) >=
	    json_real_value(json_object_get(vb, "first_seen")))
		fail_msg("%s: the two VMs of pid %d are not in order of first_seen", fault, (int)pid);
	json_decref(vms);
	json_decref(a);
	json_decref(b);
}

static void test_pid_reuse(void **state)
{
	const char *fault = "pid reuse";
	struct load_mark mark = load_mark_now();

	pid_reuse(fault, false);
	assert_recovered(fault, &mark, false);
}

/*
 * The same, with the second process gone before the daemon reads its
 * /proc (the daemon stopped meanwhile; on a busy host, a VM that lives a
 * few milliseconds).  The daemon used to take news of a pid whose process
 * was gone for the retained VM of that pid ("the same process"), so the
 * second VM was never listed and its exits never reported; now a KVM
 * start after that VM's exit makes a new VM (manager_vm_note_at).
 */
static void test_pid_reuse_gone_before_seen(void **state)
{
	const char *fault = "pid reuse, gone before seen";
	struct load_mark mark = load_mark_now();

	pid_reuse(fault, true);
	assert_recovered(fault, &mark, false);
}

#define BRIEF_VMS 40

/*
 * /proc of a VM vanishing while the daemon reads it: 40 guests that each
 * make 3 exits and go at once, all together, so the daemon's reading of
 * /proc/PID for a new VM meets processes gone or going (core.c's
 * test_many_short_vms_stay_exact does 120).  Each is one VM, exited, exact.
 */
static void test_proc_vanishes_mid_read(void **state)
{
	const char *fault = "/proc vanishing mid-read";
	char *args[] = { "--out", "0x75:3", "-name", "brief", NULL };
	struct load_mark mark = load_mark_now();
	static pid_t pids[BRIEF_VMS];
	static int fds[BRIEF_VMS];
	long long first0, backup0;
	double t0 = now_seconds();

	userspace_exit_skips(fault, &first0, &backup0);
	for (int i = 0; i < BRIEF_VMS; i++)
		pids[i] = start_guest(args, &fds[i]);
	for (int i = 0; i < BRIEF_VMS; i++) {
		json_t *report = guest_report(fault, pids[i], fds[i]);

		assert_vm_exact(fault, "a VM gone at once", report, -1, first0, backup0);
		json_decref(report);
	}
	print_message("[   INFO   ] %s: %d VMs of 4 exits each, all exited and exact, in %.1f s\n", fault,
		      BRIEF_VMS, now_seconds() - t0);
	assert_recovered(fault, &mark, false);
}

/* ---- tracefs and debugfs ---- */

/* Does the mount table of @pid have a filesystem of @type? */
static bool has_mount_type(pid_t pid, const char *type)
{
	char path[64], line[1024], want[64];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	snprintf(want, sizeof(want), " - %s ", type);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

/*
 * In a child that joins the daemon's mount namespace: unmount tracefs
 * (both places) and debugfs there, every mount stacked on each.  Its exit
 * status: 0, or the errno of what failed.
 */
static int unmount_for_daemon(void)
{
	static const char *const targets[] = { "/sys/kernel/debug/tracing", "/sys/kernel/tracing",
					       "/sys/kernel/debug" };
	char path[64];
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (pid == 0) {
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)daemon_pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
			_exit(errno);
		for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
			while (umount2(targets[i], MNT_DETACH) == 0)
				;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static json_t *capability(json_t *status, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "capabilities"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "name")) ?: "", name))
			return c;
	return NULL;
}

/* The exits capability's probes that are attached, as one string. */
static void attached_probes(json_t *status, char *buf, size_t len)
{
	size_t used = 0, i;
	json_t *p;

	buf[0] = '\0';
	json_array_foreach(json_object_get(capability(status, "exits"), "probes"), i, p)
		if (json_is_true(json_object_get(p, "attached")) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s ",
						 json_string_value(json_object_get(p, "name")) ?: "?");
}

/*
 * tracefs and debugfs unmounted while the daemon runs (in its own mount
 * namespace, the host keeps them): the programs it attached count on;
 * what it read from them (livepatch's ftrace sites from tracefs, KVM's
 * statistics from debugfs) says why it has nothing now.  It stays so for
 * the rest of the run.
 */
static void test_tracefs_debugfs_unmounted(void **state)
{
	const char *fault = "tracefs and debugfs unmounted";
	struct load_mark mark = load_mark_now();
	char before[2048], after[2048];
	json_t *st, *lp, *vms;
	bool sites_before;
	int r;

	if (!has_mount_type(daemon_pid, "tracefs") || !has_mount_type(daemon_pid, "debugfs"))
		fail_msg("%s: the daemon's mount namespace has no tracefs or no debugfs to take away",
			 fault);
	st = rpc(fault, "status", NULL);
	attached_probes(st, before, sizeof(before));
	lp = capability(st, "livepatch");
	sites_before = json_is_true(json_object_get(lp, "ftrace_sites"));
	print_message("[   INFO   ] %s: before: ftrace sites %s (%s)\n", fault,
		      sites_before ? "read" : "not read",
		      json_string_value(json_object_get(lp, "ftrace_sites_why")) ?: "-");
	json_decref(st);
	vms = vms_of_pid(fault, witness_pid);
	print_message("[   INFO   ] %s: before: the witness's kvm_stats: %s\n", fault,
		      json_string_value(json_object_get(json_object_get(json_array_get(vms, 0),
				"kvm_stats"), "error")) ?: "values");
	json_decref(vms);

	r = unmount_for_daemon();
	if (r)
		fail_msg("%s: cannot unmount them in the daemon's namespace: %s", fault, strerror(r));
	if (has_mount_type(daemon_pid, "tracefs") || has_mount_type(daemon_pid, "debugfs"))
		fail_msg("%s: the daemon still sees tracefs or debugfs mounted", fault);
	if (!has_mount_type(getpid(), "tracefs") || !has_mount_type(getpid(), "debugfs"))
		fail_msg("%s: the host lost tracefs or debugfs too", fault);
	/* Two ticks, each of which reads what it reads from them. */
	sleep_ms(2200);

	st = rpc(fault, "status", NULL);
	attached_probes(st, after, sizeof(after));
	lp = capability(st, "livepatch");
	print_message("[   INFO   ] %s: after: ftrace sites %s (%s); probes attached before: %s; after: %s\n",
		      fault, json_is_true(json_object_get(lp, "ftrace_sites")) ? "read" : "not read",
		      json_string_value(json_object_get(lp, "ftrace_sites_why")) ?: "-", before, after);
	if (strcmp(before, after))
		fail_msg("%s: probes attached before: %s; after: %s", fault, before, after);
	if (sites_before && (json_is_true(json_object_get(lp, "ftrace_sites")) ||
			     !strstr(json_string_value(json_object_get(lp, "ftrace_sites_why")) ?: "",
				     "tracefs")))
		fail_msg("%s: status says ftrace sites %s (%s), with tracefs gone", fault,
			 json_is_true(json_object_get(lp, "ftrace_sites")) ? "read" : "not read",
			 json_string_value(json_object_get(lp, "ftrace_sites_why")) ?: "no reason");
	json_decref(st);
	vms = vms_of_pid(fault, witness_pid);
	print_message("[   INFO   ] %s: after: the witness's kvm_stats: %s\n", fault,
		      json_string_value(json_object_get(json_object_get(json_array_get(vms, 0),
				"kvm_stats"), "error")) ?: "values");
	json_decref(vms);
	assert_recovered(fault, &mark, false);
}

/* ---- the end: the subscriber that never read, the witness ---- */

/*
 * A subscriber that has read nothing for 60 s: still connected (it holds
 * a subscription), its queue bounded, every event either delivered (in
 * its queue) or counted as lost.  When it reads at last, everything
 * delivered arrives, then the answer to its unsubscribe.
 */
static void test_subscriber_never_reads_60s(void **state)
{
	const char *fault = "a subscriber that never reads, 60 s";
	struct load_mark mark = load_mark_now();
	long long matched, delivered, lost, got_exits = 0, got_lost = 0, ans_delivered, ans_lost;
	double waited;
	size_t bytes = 0, queued = 0;
	char req[160], *line;
	json_t *s, *ans;

	waited = now_seconds() - mute_since;
	if (waited < MUTE_SECONDS)
		sleep_ms((long)((MUTE_SECONDS - waited) * 1000) + 100);
	waited = now_seconds() - mute_since;
	s = subscription_stats(fault, mute_sub);
	if (!s) {
		json_t *st = rpc(fault, "events.stats", NULL);
		long long slow = json_integer_value(json_object_get(st, "lost_slow_clients"));

		json_decref(st);
		if (!closed_within(mute_fd, 100) || slow <= 0)
			fail_msg("%s: subscription %lld is gone from events.stats, but its connection is %s and lost_slow_clients is %lld",
				 fault, mute_sub, closed_now(mute_fd) ? "closed" : "open", slow);
		print_message("[   INFO   ] %s: closed by the daemon, %lld events counted as lost\n", fault,
			      slow);
		assert_recovered(fault, &mark, false);
		return;
	}
	matched = json_integer_value(json_object_get(s, "matched"));
	delivered = json_integer_value(json_object_get(s, "delivered"));
	lost = json_integer_value(json_object_get(s, "lost"));
	json_decref(s);
	print_message("[   INFO   ] %s: after %.1f s unread: %lld events matched, %lld delivered (%lld at the warm-up), %lld lost\n",
		      fault, waited, matched, delivered, mute_delivered_warm, lost);
	if (lost <= 0 || delivered + lost != matched)
		fail_msg("%s: %lld matched, %lld delivered + %lld lost: every event must be one or the other, and some lost",
			 fault, matched, delivered, lost);
	assert_rss_back(fault);

	/* It reads at last: what was delivered, then the answer. */
	snprintf(req, sizeof(req),
		 "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"events.unsubscribe\",\"params\":{\"subscription\":%lld}}\n",
		 mute_sub);
	assert_int_equal(send_all_fd(mute_fd, req, strlen(req)), 0);
	for (;;) {
		line = read_line(mute_fd, 20000);
		if (!line)
			fail_msg("%s: no answer to events.unsubscribe after %lld events and %zu bytes", fault,
				 got_exits, bytes);
		bytes += strlen(line) + 1;
		if (strstr(line, "\"method\":\"events.exit\"")) {
			/* The first @delivered were queued while it read nothing. */
			if (++got_exits == delivered)
				queued = bytes;
		} else if (strstr(line, "\"method\":\"events.lost\"")) {
			char *l = strstr(line, "\"lost\":");

			got_lost += l ? strtoll(l + 7, NULL, 10) : 0;
		} else if (strstr(line, "\"id\":99")) {
			break;
		}
		free(line);
	}
	ans = json_loads(line, 0, NULL);
	free(line);
	ans_delivered = json_integer_value(json_object_get(json_object_get(ans, "result"), "delivered"));
	ans_lost = json_integer_value(json_object_get(json_object_get(ans, "result"), "lost"));
	json_decref(ans);
	print_message("[   INFO   ] %s: read %lld events (%zu bytes, the first %lld of them, %zu bytes, queued while unread) before the answer, which says %lld delivered and %lld lost; events.lost told of %lld\n",
		      fault, got_exits, bytes, delivered, queued, ans_delivered, ans_lost, got_lost);
	if (got_exits != ans_delivered)
		fail_msg("%s: %lld events arrived, the daemon counted %lld delivered", fault, got_exits,
			 ans_delivered);
	if (ans_lost < lost || got_lost > ans_lost)
		fail_msg("%s: lost %lld at unsubscribe, %lld before; events.lost told of %lld", fault,
			 ans_lost, lost, got_lost);
	/*
	 * Queued for it while it read nothing: the daemon's 1 MiB high-water
	 * mark, a line, and what the socket holds (wmem_default, 208 KiB).
	 */
	if (queued > OUTPUT_HIGH_WATER + (512u << 10))
		fail_msg("%s: %zu bytes were queued for a client that read nothing (high-water mark %u)",
			 fault, queued, OUTPUT_HIGH_WATER);
	close(mute_fd);
	mute_fd = -1;
	assert_recovered(fault, &mark, false);
}

/* The witness, which made exits through every fault: counted exactly. */
static void test_witness_counts_exact(void **state)
{
	const char *fault = "the witness";
	json_t *report;
	pid_t pid = witness_pid;

	report = guest_report(fault, witness_pid, witness_fd);
	witness_pid = -1;
	witness_fd = -1;
	/* Skipped runs are counted from the programs' load, just before the witness began. */
	assert_vm_exact(fault, "the witness, through every fault", report, -1, 0, 0);
	print_message("[   INFO   ] %s: pid %d ran %.1f s through every fault: IO %lld, HLT %lld, counted exactly\n",
		      fault, (int)pid, json_integer_value(json_object_get(report, "elapsed_ns")) / 1e9,
		      report_count(report, "IO"), report_count(report, "HLT"));
	print_message("[   INFO   ] %s: the load in all: %llu sessions, %llu answers, %llu refused, %llu closed before their answer; its subscriber read %llu exits and %llu VM events, %llu told lost\n",
		      fault, (unsigned long long)load->sessions, (unsigned long long)load->answers,
		      (unsigned long long)load->refused, (unsigned long long)load->closed_early,
		      (unsigned long long)load->sub_exits, (unsigned long long)load->sub_vm_events,
		      (unsigned long long)load->sub_lost);
	if (load->sub_closed || !load->sub_exits)
		fail_msg("%s: the load's subscriber was %s after %llu exits", fault,
			 load->sub_closed ? "closed" : "open", (unsigned long long)load->sub_exits);
	json_decref(report);
}

/* A test that failed half-way leaves nothing for the next: the load runs, the daemon too. */
static int test_setup(void **state)
{
	if (load)
		load->pause = 0;
	if (daemon_pid > 0)
		kill(daemon_pid, SIGCONT);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_warm_up_under_load, test_setup),
		cmocka_unit_test_setup(test_100mb_without_newline, test_setup),
		cmocka_unit_test_setup(test_1000_clients_vanish, test_setup),
		cmocka_unit_test_setup(test_500_half_requests_new_client_served, test_setup),
		cmocka_unit_test_setup(test_sigstop_sigcont, test_setup),
		cmocka_unit_test_setup(test_exec_into_something_else, test_setup),
		cmocka_unit_test_setup(test_pid_reuse, test_setup),
		cmocka_unit_test_setup(test_pid_reuse_gone_before_seen, test_setup),
		cmocka_unit_test_setup(test_proc_vanishes_mid_read, test_setup),
		cmocka_unit_test_setup(test_tracefs_debugfs_unmounted, test_setup),
		cmocka_unit_test_setup(test_subscriber_never_reads_60s, test_setup),
		cmocka_unit_test_setup(test_witness_counts_exact, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
