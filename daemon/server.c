// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON-RPC socket server.  Each client has a bounded input buffer (one
 * request line, RPC_LINE_MAX) and an output buffer; while a client does
 * not read its responses we stop reading its requests, so a slow or
 * stuck client costs only its own buffers and never blocks another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "linebuf.h"
#include "server.h"
#include "strbuf.h"

struct client {
	struct server *server;
	int fd;
	sd_event_source *source;
	struct linebuf in;
	struct strbuf out;
	bool eof;		/* peer shut down its side: flush, then close */
	struct client *next;
};

struct server {
	sd_event *event;
	const struct rpc_registry *rpc;
	char path[108];
	char lock_path[120];
	int listen_fd;
	int lock_fd;
	sd_event_source *listen_source;
	struct client *clients;
	unsigned int n_clients;
	server_disconnect_fn disconnect_hook;
	void *disconnect_userdata;
};

/* Set while a request of this client is being handled (one thread, one loop). */
static struct client *current_client;

struct client *server_current_client(void)
{
	return current_client;
}

void server_set_disconnect_hook(struct server *s, server_disconnect_fn fn, void *userdata)
{
	s->disconnect_hook = fn;
	s->disconnect_userdata = userdata;
}

static void client_free(struct client *c)
{
	struct server *s = c->server;

	if (s->disconnect_hook)
		s->disconnect_hook(c, s->disconnect_userdata);
	for (struct client **pp = &s->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->n_clients--;
	sd_event_source_disable_unref(c->source);
	close(c->fd);
	linebuf_free(&c->in);
	strbuf_free(&c->out);
	free(c);
}

static void client_update_events(struct client *c)
{
	uint32_t ev = 0;

	if (!c->eof && c->out.len < SERVER_OUTPUT_HIGH_WATER)
		ev |= EPOLLIN;
	if (c->out.len)
		ev |= EPOLLOUT;
	sd_event_source_set_io_events(c->source, ev);
}

static void client_queue(struct client *c, char *response)
{
	if (!response) {
		response = rpc_error_line(RPC_INTERNAL_ERROR, "internal error: out of memory");
		if (!response)
			return;
	}
	if (strlen(response) > SERVER_RESPONSE_MAX) {
		free(response);
		response = rpc_error_line(RPC_INTERNAL_ERROR,
					  "response larger than the 32 MiB limit; narrow the request");
	}
	strbuf_puts(&c->out, response);
	strbuf_puts(&c->out, "\n");
	free(response);
}

static void client_handle_line(void *ctx, char *line, size_t len, bool too_long)
{
	struct client *c = ctx;
	char *resp;

	if (too_long) {
		char msg[96];

		snprintf(msg, sizeof(msg), "request line longer than %d bytes", RPC_LINE_MAX);
		client_queue(c, rpc_error_line(RPC_INVALID_REQUEST, msg));
		return;
	}
	/* Blank lines are keep-alives, not requests. */
	if (strspn(line, " \t") >= len)
		return;
	current_client = c;
	resp = rpc_handle_line(c->server->rpc, line, len);
	current_client = NULL;
	if (resp)
		client_queue(c, resp);
}

static int client_flush(struct client *c);

int server_client_notify(struct client *c, const char *line)
{
	if (c->eof)
		return -ENOBUFS;
	/* A burst of notifications: hand the socket what it takes now. */
	if (c->out.len > SERVER_NOTIFY_FLUSH)
		(void)client_flush(c);
	if (c->out.len > SERVER_OUTPUT_HIGH_WATER)
		return -ENOBUFS;
	if (strbuf_puts(&c->out, line) < 0 || strbuf_puts(&c->out, "\n") < 0)
		return -ENOMEM;
	client_update_events(c);
	return 0;
}

static int client_flush(struct client *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		strbuf_consume(&c->out, (size_t)n);
	}
	return 0;
}

static int on_client(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct client *c = userdata;
	char buf[16384];

	if (revents & EPOLLIN) {
		/* One bounded read per wakeup keeps every client's turn short. */
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			linebuf_feed(&c->in, buf, (size_t)n, client_handle_line, c);
		} else if (n == 0) {
			c->eof = true;
			/* A final request without newline is still a request. */
			linebuf_finish(&c->in, client_handle_line, c);
		} else if (errno != EAGAIN && errno != EINTR) {
			client_free(c);
			return 0;
		}
	}
	if (revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLIN)) {
		client_free(c);
		return 0;
	}
	if (client_flush(c) < 0 || (c->eof && !c->out.len)) {
		client_free(c);
		return 0;
	}
	client_update_events(c);
	return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct server *s = userdata;
	struct client *c;
	int cfd, r;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return 0;
	if (s->n_clients >= SERVER_MAX_CLIENTS) {
		char *msg = rpc_error_line(RPC_UNAVAILABLE, "too many clients (limit 128); try again later");

		if (msg) {
			if (send(cfd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
				(void)!send(cfd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			free(msg);
		}
		close(cfd);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return 0;
	}
	c->server = s;
	c->fd = cfd;
	linebuf_init(&c->in, RPC_LINE_MAX);
	strbuf_init(&c->out, 0);
	r = sd_event_add_io(s->event, &c->source, cfd, EPOLLIN, on_client, c);
	if (r < 0) {
		close(cfd);
		free(c);
		return 0;
	}
	c->next = s->clients;
	s->clients = c;
	s->n_clients++;
	return 0;
}

/* Is something accepting connections on @path? */
static bool socket_is_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

static int mkdir_parents(const char *path)
{
	char dir[108], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int server_new(sd_event *event, const char *path, const struct rpc_registry *rpc,
	       struct server **ret)
{
	struct server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = event;
	s->rpc = rpc;
	s->listen_fd = s->lock_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->lock_path, sizeof(s->lock_path), "%s.lock", path);

	r = mkdir_parents(path);
	if (r < 0) {
		log_error_errno(r, "Cannot create the directory for socket %s: %m", path);
		goto fail;
	}
	/* The lock says which daemon owns the socket path; it dies with its holder. */
	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		r = log_error_errno(errno, "Cannot open lock file %s: %m", s->lock_path);
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0 || socket_is_live(path)) {
		r = -EADDRINUSE;
		log_error("Another kvmscoped is already serving %s; stop it first or use --socket PATH",
			  path);
		close(s->lock_fd);
		s->lock_fd = -1;
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	server_free(s);
	return r;
}

int server_listen(struct server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = s->path;
	int r;

	if (unlink(path) == 0)
		log_info("Removed stale socket %s", path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return log_error_errno(errno, "Cannot create a Unix socket: %m");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = log_error_errno(errno, "Cannot bind socket %s: %m", path);
		close(s->listen_fd);
		s->listen_fd = -1;
		return r;
	}
	/* root and the socket's group may query; others may not. */
	chmod(path, 0660);
	if (listen(s->listen_fd, 64) < 0)
		return log_error_errno(errno, "Cannot listen on %s: %m", path);
	r = sd_event_add_io(s->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
	if (r < 0)
		return log_error_errno(r, "Cannot watch socket %s: %m", path);
	return 0;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_free(s->clients);
	sd_event_source_disable_unref(s->listen_source);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	if (s->lock_fd >= 0) {
		unlink(s->lock_path);
		close(s->lock_fd);
	}
	free(s);
}
