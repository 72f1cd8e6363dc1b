// SPDX-License-Identifier: GPL-2.0-only
/* kvmscopectl's client of the daemon socket; see rpc_client.h. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kvmscopectl.h"
#include "rpc_client.h"

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until @deadline for poll(), never negative; -1 for no deadline. */
static int ms_left(double deadline)
{
	if (deadline < 0)
		return -1;
	return (int)ceil(fmax(0, deadline - monotonic_seconds()) * 1000);
}

static int fail(struct rpc_client *rc, enum rpc_failure failure, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record why the connection failed and close it.  Returns -@err. */
static int fail(struct rpc_client *rc, enum rpc_failure failure, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rc->error, sizeof(rc->error), fmt, ap);
	va_end(ap);
	rc->failure = failure;
	rpc_client_close(rc);
	return -err;
}

void rpc_client_init(struct rpc_client *rc, const char *socket_path, double timeout)
{
	*rc = (struct rpc_client){ .socket_path = socket_path, .timeout = timeout, .fd = -1 };
	strbuf_init(&rc->in, RPC_MAX_RESPONSE);
}

void rpc_client_close(struct rpc_client *rc)
{
	if (rc->fd >= 0)
		close(rc->fd);
	rc->fd = -1;
	strbuf_free(&rc->in);
	strbuf_init(&rc->in, RPC_MAX_RESPONSE);
}

int rpc_client_connect(struct rpc_client *rc)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = (time_t)rc->timeout,
			      .tv_usec = (suseconds_t)((rc->timeout - floor(rc->timeout)) * 1e6) };

	if (rc->fd >= 0)
		return EXIT_OK;
	rc->failure = RPC_OK;
	rc->error[0] = '\0';
	if (strlen(rc->socket_path) >= sizeof(sa.sun_path)) {
		fail(rc, RPC_CONNECT, ENAMETOOLONG, "socket path longer than %zu bytes",
		     sizeof(sa.sun_path) - 1);
		return EXIT_UNREACHABLE;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", rc->socket_path);
	rc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rc->fd < 0) {
		fail(rc, RPC_CONNECT, errno, "%s", strerror(errno));
		return EXIT_UNREACHABLE;
	}
	/* A listener whose backlog is full makes connect() wait: at most the timeout. */
	setsockopt(rc->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(rc->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			fail(rc, RPC_TIMEOUT, ETIMEDOUT, "not accepted within %g s", rc->timeout);
		else
			fail(rc, RPC_CONNECT, errno, "%s", strerror(errno));
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
}

/*
 * Send @n bytes of @text; with @pass_fd >= 0 the first bytes carry that
 * descriptor (SCM_RIGHTS), so that the daemon has it when it reads the
 * request's start.
 */
static int send_all(struct rpc_client *rc, const char *text, size_t n, double deadline, int pass_fd)
{
	size_t done = 0;

	while (done < n) {
		struct pollfd pfd = { .fd = rc->fd, .events = POLLOUT };
		ssize_t w;
		int r = poll(&pfd, 1, ms_left(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return fail(rc, RPC_TIMEOUT, ETIMEDOUT, "request not taken within %g s",
				    rc->timeout);
		/* MSG_NOSIGNAL: a daemon that went away is an error to show, not SIGPIPE. */
		if (pass_fd >= 0) {
			union {
				char space[CMSG_SPACE(sizeof(int))];
				struct cmsghdr align;
			} control;
			struct iovec iov = { .iov_base = (char *)text + done, .iov_len = n - done };
			struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
					      .msg_control = control.space,
					      .msg_controllen = sizeof(control.space) };
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
			w = sendmsg(rc->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			w = send(rc->fd, text + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return fail(rc, RPC_BROKEN, errno, "cannot send: %s", strerror(errno));
		if (w > 0)
			pass_fd = -1;
		done += (size_t)w;
	}
	return 0;
}

/* The next line, or a failure; waits until @deadline (monotonic seconds, <0: forever). */
static int read_line_until(struct rpc_client *rc, char **line, double deadline, bool fail_on_timeout)
{
	char buf[65536];

	*line = NULL;
	for (;;) {
		char *nl = rc->in.len ? memchr(rc->in.data, '\n', rc->in.len) : NULL;
		struct pollfd pfd = { .fd = rc->fd, .events = POLLIN };
		ssize_t n;
		int r;

		if (nl) {
			*line = strndup(rc->in.data, (size_t)(nl - rc->in.data));
			strbuf_consume(&rc->in, (size_t)(nl - rc->in.data) + 1);
			return *line ? 0 : fail(rc, RPC_BROKEN, ENOMEM, "out of memory");
		}
		r = poll(&pfd, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			return -EINTR;
		if (r == 0) {
			if (!fail_on_timeout)
				return -ETIMEDOUT;
			return fail(rc, RPC_TIMEOUT, ETIMEDOUT, "no answer within %g s", rc->timeout);
		}
		n = r < 0 ? -1 : read(rc->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(rc, RPC_BROKEN, errno, "%s", strerror(errno));
		if (n == 0)
			return fail(rc, RPC_BROKEN, ECONNRESET, "it closed the connection");
		if (strbuf_append(&rc->in, buf, (size_t)n) < 0)
			return fail(rc, RPC_BROKEN, EMSGSIZE, "answer longer than %u MiB",
				    RPC_MAX_RESPONSE >> 20);
	}
}

int rpc_client_read_line(struct rpc_client *rc, char **line, int timeout_ms)
{
	if (rc->fd < 0) {
		*line = NULL;
		return -ENOTCONN;
	}
	return read_line_until(rc, line, timeout_ms < 0 ? -1 : monotonic_seconds() + timeout_ms / 1000.0,
			       false);
}

int rpc_client_call(struct rpc_client *rc, const char *method, json_t *params, json_t **result)
{
	return rpc_client_call_fd(rc, method, params, -1, result);
}

int rpc_client_call_fd(struct rpc_client *rc, const char *method, json_t *params, int pass_fd,
		       json_t **result)
{
	double deadline = monotonic_seconds() + rc->timeout;
	json_int_t id = ++rc->next_id;
	json_t *req, *resp, *e;
	json_error_t jerr;
	char *text, *line;
	int r;

	*result = NULL;
	r = rpc_client_connect(rc);
	if (r != EXIT_OK) {
		json_decref(params);
		return r;
	}
	req = json_pack("{s:s, s:s, s:o, s:I}", "jsonrpc", "2.0", "method", method, "params",
			params ? params : json_object(), "id", id);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text) {
		fail(rc, RPC_BROKEN, ENOMEM, "%s: out of memory", method);
		return EXIT_UNREACHABLE;
	}
	r = send_all(rc, text, strlen(text), deadline, pass_fd);
	free(text);
	if (!r)
		r = send_all(rc, "\n", 1, deadline, -1);
	while (!r && (r = read_line_until(rc, &line, deadline, true)) == -EINTR)
		;
	if (r)
		return EXIT_UNREACHABLE;
	resp = json_loads(line, 0, &jerr);
	free(line);
	if (!resp) {
		fail(rc, RPC_BROKEN, EPROTO, "answered something that is not JSON (%s)", jerr.text);
		return EXIT_UNREACHABLE;
	}
	if (json_integer_value(json_object_get(resp, "id")) != id) {
		fail(rc, RPC_BROKEN, EPROTO, "answered request %lld to request %lld",
		     json_integer_value(json_object_get(resp, "id")), (long long)id);
		json_decref(resp);
		return EXIT_UNREACHABLE;
	}
	e = json_object_get(resp, "error");
	if (e) {
		snprintf(rc->error, sizeof(rc->error), "%s: %s (error %lld)", method,
			 json_is_string(json_object_get(e, "message")) ?
				 json_string_value(json_object_get(e, "message")) : "no message",
			 json_integer_value(json_object_get(e, "code")));
		rc->failure = RPC_DAEMON_ERROR;
		rc->error_code = (int)json_integer_value(json_object_get(e, "code"));
		json_decref(resp);
		return EXIT_DAEMON_ERROR;
	}
	*result = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	if (!*result) {
		snprintf(rc->error, sizeof(rc->error), "%s: an answer without a result", method);
		rc->failure = RPC_DAEMON_ERROR;
		return EXIT_DAEMON_ERROR;
	}
	rc->failure = RPC_OK;
	return EXIT_OK;
}

int rpc_client_report(const struct rpc_client *rc, int exit_code)
{
	char why[sizeof(rc->error) * 4];

	/* The daemon's message may quote what it was sent: shown, not obeyed. */
	text_escape(why, sizeof(why), rc->error);
	switch (rc->failure) {
	case RPC_CONNECT:
		fprintf(stderr,
			"kvmscopectl: cannot reach kvmscoped at %s: %s\n"
			"Start the daemon (as root: 'make run', or 'systemctl start kvmscoped') or point to it with --socket PATH.\n",
			rc->socket_path, why);
		break;
	case RPC_TIMEOUT:
		fprintf(stderr,
			"kvmscopectl: kvmscoped at %s: %s; it is stuck or very busy (wait longer with --timeout SECONDS)\n",
			rc->socket_path, why);
		break;
	case RPC_BROKEN:
		fprintf(stderr, "kvmscopectl: kvmscoped at %s: %s\n", rc->socket_path, why);
		break;
	default:
		fprintf(stderr, "kvmscopectl: %s\n", why);
		break;
	}
	return exit_code;
}
