// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON-RPC socket server.  Each client has a bounded input (one request
 * line, RPC_LINE_MAX, plus at most one unprocessed recv() chunk) and an
 * output buffer.  A request runs only while the client's unread output is
 * under SERVER_OUTPUT_HIGH_WATER, checked before every request line, and
 * nothing more is read from it meanwhile: a client that pipelines requests
 * without reading its answers costs at most its own few MiB, never blocks
 * another, and is closed if its output still passes SERVER_OUTPUT_MAX.
 *
 * Who may do what is decided once, at accept, from the peer's credentials
 * (SO_PEERCRED, SO_PEERGROUPS): root reads and changes, members of the
 * configured group read, anybody else is refused every method.
 *
 * A root client may pass one file descriptor with its request (SCM_RIGHTS,
 * livepatch.load's module): the last one received is kept until a method
 * takes it or the client goes; any other passed descriptor is closed at
 * once, so a client holds at most one open file in the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "linebuf.h"
#include "options.h"
#include "server.h"
#include "strbuf.h"

#define RECV_CHUNK 16384
/* Descriptors read with one chunk; more are closed by the kernel (MSG_CTRUNC). */
#define SERVER_PASSED_FDS_MAX 4

struct client {
	struct server *server;
	int fd;
	sd_event_source *source;
	struct linebuf in;
	struct strbuf backlog;	/* received, not yet framed: at most one RECV_CHUNK */
	struct strbuf out;
	bool eof;		/* peer shut down its side: flush, then close */
	bool doomed;		/* close once the current callback returns */
	struct rpc_caller caller;
	unsigned int subscriptions;
	uint64_t active_usec;	/* last byte received or sent */
	uint64_t partial_usec;	/* since when part of a line is held; 0: none */
	int passed_fd;		/* SCM_RIGHTS from a root client, not yet taken; -1: none */
	struct client *next;
};

struct server {
	sd_event *event;
	const struct rpc_registry *rpc;
	char path[108];
	char lock_path[120];
	bool activated;		/* the listening socket came from systemd (sd_listen_fds) */
	char group[64];
	bool have_group;	/* the group exists; else root only */
	gid_t gid;
	uint64_t client_timeout_usec;
	int listen_fd;
	int lock_fd;
	sd_event_source *listen_source;
	sd_event_source *timeout_source;
	struct client *clients;
	unsigned int n_clients;
	server_disconnect_fn disconnect_hook;
	void *disconnect_userdata;
};

/* Set while a request of this client is being handled (one thread, one loop). */
static struct client *current_client;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

struct client *server_current_client(void)
{
	return current_client;
}

void server_set_disconnect_hook(struct server *s, server_disconnect_fn fn, void *userdata)
{
	s->disconnect_hook = fn;
	s->disconnect_userdata = userdata;
}

unsigned int server_client_subscriptions(const struct client *c)
{
	return c->subscriptions;
}

void server_client_add_subscriptions(struct client *c, int delta)
{
	if (delta < 0 && c->subscriptions < (unsigned int)-delta)
		c->subscriptions = 0;
	else
		c->subscriptions += delta;
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
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	linebuf_free(&c->in);
	strbuf_free(&c->backlog);
	strbuf_free(&c->out);
	free(c);
}

/*
 * Idle: nothing to run, nothing to send, no subscription.  Part of a
 * request line does not count: holding one must not protect a client
 * from eviction, or 128 half-written lines would lock everyone out.
 */
static bool client_is_idle(const struct client *c)
{
	return !c->backlog.len && !c->out.len && !c->subscriptions && !c->doomed;
}

static void client_update_events(struct client *c)
{
	uint32_t ev = 0;

	/* Read more only once what was read has run. */
	if (!c->eof && !c->backlog.len && c->out.len < SERVER_OUTPUT_HIGH_WATER)
		ev |= EPOLLIN;
	if (c->out.len)
		ev |= EPOLLOUT;
	sd_event_source_set_io_events(c->source, ev);
}

static int client_flush(struct client *c);

static void client_queue(struct client *c, char *response)
{
	size_t len, before = c->out.len;

	if (!response) {
		response = rpc_error_line(RPC_INTERNAL_ERROR, "internal error: out of memory");
		if (!response)
			return;
	}
	len = strlen(response);
	if (len > SERVER_RESPONSE_MAX) {
		free(response);
		response = rpc_error_line(RPC_INTERNAL_ERROR,
					  "response larger than the 32 MiB limit; narrow the request");
		if (!response)
			return;
		len = strlen(response);
	}
	/*
	 * Requests run only under the high-water mark, so this takes a large
	 * response behind unread ones; a lone response may be larger.  Hand
	 * the socket what it takes first: a client that reads is not the one
	 * this is for.
	 */
	if (before && before + len > SERVER_OUTPUT_MAX) {
		(void)client_flush(c);
		before = c->out.len;
	}
	if (before && before + len > SERVER_OUTPUT_MAX) {
		log_warning("Closing client pid %d uid %u: %zu bytes of answers unread, limit %u",
			    (int)c->caller.pid, (unsigned int)c->caller.uid, before + len,
			    SERVER_OUTPUT_MAX);
		c->doomed = true;
		free(response);
		return;
	}
	/* Nothing queued: the answer itself becomes the queue, no copy of megabytes. */
	if (!c->out.len && strbuf_adopt(&c->out, response, len) == 0)
		response = NULL;
	else if (strbuf_append(&c->out, response, len) < 0)
		c->doomed = true;
	if (!c->doomed && strbuf_puts(&c->out, "\n") < 0)
		c->doomed = true;
	if (c->doomed)
		log_warning("Closing client pid %d: out of memory for its answers",
			    (int)c->caller.pid);
	free(response);
}

static void client_handle_line(void *ctx, char *line, size_t len, bool too_long)
{
	struct client *c = ctx;
	char *resp;

	if (c->doomed)
		return;
	if (too_long) {
		char msg[96];

		snprintf(msg, sizeof(msg), "request line longer than %d bytes", RPC_LINE_MAX);
		client_queue(c, rpc_error_line(RPC_INVALID_REQUEST, msg));
	} else if (strspn(line, " \t") < len) {
		/* Blank lines are keep-alives, not requests. */
		/* A batch may fill what is left under the cap, no more. */
		c->caller.batch_output_max = c->out.len < SERVER_OUTPUT_MAX ?
					     SERVER_OUTPUT_MAX - c->out.len : 1;
		current_client = c;
		resp = rpc_handle_line(c->server->rpc, &c->caller, line, len);
		current_client = NULL;
		if (resp)
			client_queue(c, resp);
	}
	/* Checked before every next line, not once per read. */
	if (c->out.len >= SERVER_OUTPUT_HIGH_WATER || c->doomed)
		linebuf_pause(&c->in);
}

/* Run what was received, up to the high-water mark. */
static void client_process(struct client *c)
{
	while (c->backlog.len && c->out.len < SERVER_OUTPUT_HIGH_WATER && !c->doomed) {
		size_t used = linebuf_feed(&c->in, c->backlog.data, c->backlog.len,
					   client_handle_line, c);

		strbuf_consume(&c->backlog, used);
	}
	/* Inside an over-long line (discarded) is half a line too. */
	if (linebuf_pending(&c->in) || c->in.discarding) {
		if (!c->partial_usec)
			c->partial_usec = now_usec();
	} else {
		c->partial_usec = 0;
	}
}

int server_client_notify(struct client *c, const char *line)
{
	if (c->eof || c->doomed)
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
		c->active_usec = now_usec();
	}
	return 0;
}

/*
 * Keep the descriptors that came with a read: root's last one, nothing
 * from anybody else (their requests that would use it are refused anyway).
 */
static void client_take_fds(struct client *c, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;
		int fds[SERVER_PASSED_FDS_MAX];

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > SERVER_PASSED_FDS_MAX)
			n = SERVER_PASSED_FDS_MAX;
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (!c->caller.may_write) {
				close(fds[i]);
				continue;
			}
			if (c->passed_fd >= 0)
				close(c->passed_fd);
			c->passed_fd = fds[i];
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		log_info("Client pid %d uid %u passed more than %d descriptors at once: the rest were closed",
			 (int)c->caller.pid, (unsigned int)c->caller.uid, SERVER_PASSED_FDS_MAX);
}

static int on_client(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct client *c = userdata;

	if ((revents & EPOLLIN) && !c->backlog.len) {
		/* One bounded read per wakeup keeps every client's turn short. */
		char buf[RECV_CHUNK];
		union {
			char space[CMSG_SPACE(SERVER_PASSED_FDS_MAX * sizeof(int))];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
				      .msg_controllen = sizeof(control.space) };
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n >= 0)
			client_take_fds(c, &msg);

		if (n > 0) {
			c->active_usec = now_usec();
			strbuf_append(&c->backlog, buf, (size_t)n);
		} else if (n == 0) {
			c->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			client_free(c);
			return 0;
		}
	}
	if (revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLIN)) {
		client_free(c);
		return 0;
	}
	if (client_flush(c) < 0) {
		client_free(c);
		return 0;
	}
	/* Output drained below the mark: resume what was held back. */
	client_process(c);
	if (c->eof && !c->backlog.len && !c->doomed && c->out.len < SERVER_OUTPUT_HIGH_WATER)
		/* A final request without newline is still a request. */
		linebuf_finish(&c->in, client_handle_line, c);
	if (c->doomed || client_flush(c) < 0 || (c->eof && !c->backlog.len && !c->out.len)) {
		client_free(c);
		return 0;
	}
	client_update_events(c);
	return 0;
}

/*
 * The daemon is the one behind, busy with others' answers, not the client:
 * a request sits in the client's socket and the daemon will read it (it is
 * not held back by the client's own unread answers), or an answer waits
 * and the client has read enough to make room for more of it.
 */
static bool client_waits_on_daemon(const struct client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };
	int n = 0;

	if (!c->eof && !c->backlog.len && c->out.len < SERVER_OUTPUT_HIGH_WATER &&
	    ioctl(c->fd, FIONREAD, &n) == 0 && n > 0)
		return true;
	return c->out.len && poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/*
 * Close clients silent for the timeout (unless subscribed: a quiet stream
 * is not a dead one; or one the daemon has not got round to) and
 * clients that hold part of a request line for
 * SERVER_PARTIAL_LINE_TIMEOUT_SEC.
 */
static int on_timeout_check(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct server *s = userdata;
	uint64_t now = now_usec();
	struct client *c, *next;

	for (c = s->clients; c; c = next) {
		next = c->next;
		if (c->partial_usec &&
		    now - c->partial_usec > SERVER_PARTIAL_LINE_TIMEOUT_SEC * 1000000ULL) {
			log_info("Closing client pid %d uid %u: half a request line for %d s",
				 (int)c->caller.pid, (unsigned int)c->caller.uid,
				 SERVER_PARTIAL_LINE_TIMEOUT_SEC);
			client_free(c);
		} else if (!c->subscriptions && now - c->active_usec > s->client_timeout_usec &&
			   !client_waits_on_daemon(c)) {
			log_info("Closing client pid %d uid %u: silent for %llu s (%zu bytes of answers unsent, %zu of requests unrun)",
				 (int)c->caller.pid, (unsigned int)c->caller.uid,
				 (unsigned long long)(s->client_timeout_usec / 1000000), c->out.len,
				 c->backlog.len);
			client_free(c);
		}
	}
	sd_event_source_set_time_relative(src, 1000000);
	return 0;
}

/*
 * Root reads and changes; the group's members read.  The supplementary
 * groups come from SO_PEERGROUPS: like SO_PEERCRED they are what the
 * kernel recorded at connect(), so neither a process that changes its
 * groups later nor a recycled pid (/proc/PID/status) can fool the check,
 * and unlike getgrouplist() they are the process's real groups, not what
 * /etc/group would give the user at login.
 */
static void client_credentials(struct server *s, struct client *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t few[64], *groups = few;
	int r;

	c->caller.uid = (uid_t)-1;
	c->caller.group = s->have_group ? s->group : NULL;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warning_errno(errno, "Cannot read a client's credentials; refusing it all: %m");
		return;
	}
	c->caller.uid = cred.uid;
	c->caller.pid = cred.pid;
	if (cred.uid == 0) {
		c->caller.may_read = c->caller.may_write = true;
		return;
	}
	if (!s->have_group)
		return;
	if (cred.gid == s->gid) {
		c->caller.may_read = true;
		return;
	}
	len = sizeof(few);
	r = getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	if (r < 0 && errno == ERANGE) {
		/* More than 64 groups: the kernel said how much room it needs. */
		groups = malloc(len);
		if (!groups) {
			log_warning("Cannot read the groups of client pid %d: out of memory",
				    (int)cred.pid);
			return;
		}
		r = getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	}
	if (r < 0) {
		log_warning_errno(errno, "Cannot read the groups of client pid %d: %m",
				  (int)cred.pid);
		len = 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == s->gid)
			c->caller.may_read = true;
	if (groups != few)
		free(groups);
}

/* The idle client that has been silent longest, or NULL. */
static struct client *oldest_idle_client(struct server *s)
{
	struct client *oldest = NULL;

	for (struct client *c = s->clients; c; c = c->next)
		if (client_is_idle(c) && (!oldest || c->active_usec < oldest->active_usec))
			oldest = c;
	return oldest;
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
		struct client *victim = oldest_idle_client(s);

		if (victim) {
			log_info("Client table full (%d): closing idle client pid %d uid %u",
				 SERVER_MAX_CLIENTS, (int)victim->caller.pid,
				 (unsigned int)victim->caller.uid);
			client_free(victim);
		}
	}
	if (s->n_clients >= SERVER_MAX_CLIENTS) {
		char *msg = rpc_error_line(RPC_UNAVAILABLE,
					   "too many clients (limit 128), none idle; try again later");

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
	c->passed_fd = -1;
	c->caller.passed_fd = &c->passed_fd;
	c->active_usec = now_usec();
	linebuf_init(&c->in, RPC_LINE_MAX);
	strbuf_init(&c->backlog, 0);
	strbuf_init(&c->out, 0);
	client_credentials(s, c);
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

/*
 * Create the socket's directory and its parents.  Only a directory made
 * here gets 0750 root:GROUP: an existing one (/tmp, say) is not ours to
 * change.
 */
static int make_socket_dir(struct server *s)
{
	char dir[108], *p;

	snprintf(dir, sizeof(dir), "%s", s->path);
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
	if (mkdir(dir, 0750) < 0)
		return errno == EEXIST ? 0 : -errno;
	if (chmod(dir, 0750) < 0 || (s->have_group && chown(dir, 0, s->gid) < 0))
		return -errno;
	return 0;
}

/* 0 when nothing or a socket is at @path; never let us unlink anything else. */
static int check_socket_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot inspect %s: %m", path);
	if (!S_ISSOCK(st.st_mode))
		return log_error_errno(EEXIST,
				       "%s exists and is not a socket; refusing to replace it: "
				       "remove it or use --socket PATH", path);
	return 0;
}

/*
 * The listening socket systemd passed (kvmscoped.socket, or
 * systemd-socket-activate): its fd, with its path in s->path, or -1 when
 * none was passed.  Descriptors that are not a listening Unix stream
 * socket are closed and logged.
 */
static int take_activated_socket(struct server *s)
{
	int n = sd_listen_fds(1), found = -1;

	if (n <= 0)
		return -1;
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);

		if (found < 0 && sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0 &&
		    getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && len > sizeof(sa_family_t) &&
		    sa.sun_path[0] == '/') {
			found = fd;
			snprintf(s->path, sizeof(s->path), "%.*s",
				 (int)(len - offsetof(struct sockaddr_un, sun_path)), sa.sun_path);
			continue;
		}
		log_warning("Closing descriptor %d from the service manager: not a listening Unix stream socket with a path",
			    fd);
		close(fd);
	}
	if (found >= 0) {
		fcntl(found, F_SETFD, FD_CLOEXEC);
		fcntl(found, F_SETFL, fcntl(found, F_GETFL) | O_NONBLOCK);
	}
	return found;
}

int server_new(sd_event *event, const struct daemon_options *opts,
	       const struct rpc_registry *rpc, struct server **ret)
{
	const char *path = opts->socket_path;
	struct group *gr;
	struct server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = event;
	s->rpc = rpc;
	s->listen_fd = s->lock_fd = -1;
	s->client_timeout_usec = (uint64_t)opts->client_timeout_sec * 1000000ULL;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->lock_path, sizeof(s->lock_path), "%s.lock", path);
	snprintf(s->group, sizeof(s->group), "%s", opts->group);
	errno = 0;
	gr = getgrnam(s->group);
	if (gr) {
		s->have_group = true;
		s->gid = gr->gr_gid;
	} else {
		log_info("Group %s does not exist: only root may use %s", s->group, path);
	}
	/* Socket activation: the service manager made the socket and owns its path. */
	s->listen_fd = take_activated_socket(s);
	if (s->listen_fd >= 0) {
		s->activated = true;
		if (strcmp(s->path, path))
			log_info("Serving the socket the service manager passed, %s, not %s", s->path,
				 path);
		*ret = s;
		return 0;
	}

	r = make_socket_dir(s);
	if (r < 0) {
		log_error_errno(r, "Cannot create the directory for socket %s: %m", path);
		goto fail;
	}
	r = check_socket_path(path);
	if (r < 0)
		goto fail;
	/*
	 * The lock says which daemon owns the socket path; it dies with its
	 * holder, so a daemon killed with SIGKILL never blocks the next.  No
	 * symlink is followed: the directory may be shared.
	 */
	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
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

void server_set_client_timeout(struct server *s, unsigned int seconds)
{
	s->client_timeout_usec = (uint64_t)seconds * 1000000ULL;
}

int server_listen(struct server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = s->path;
	int r;

	if (s->activated)
		goto serve;
	r = check_socket_path(path);
	if (r < 0)
		return r;
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
	/* root and the socket's group may connect; others may not even do that. */
	if (chmod(path, 0660) < 0 || (s->have_group && chown(path, 0, s->gid) < 0))
		return log_error_errno(errno, "Cannot set the owner and mode of %s: %m", path);
	if (listen(s->listen_fd, 64) < 0)
		return log_error_errno(errno, "Cannot listen on %s: %m", path);
serve:
	r = sd_event_add_io(s->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
	if (r < 0)
		return log_error_errno(r, "Cannot watch socket %s: %m", path);
	r = sd_event_add_time_relative(s->event, &s->timeout_source, CLOCK_MONOTONIC, 1000000, 0,
				       on_timeout_check, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->timeout_source, SD_EVENT_ON);
	if (r < 0)
		return log_error_errno(r, "Cannot add the client timeout timer: %m");
	return 0;
}

const char *server_path(const struct server *s)
{
	return s->path;
}

bool server_activated(const struct server *s)
{
	return s->activated;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_free(s->clients);
	sd_event_source_disable_unref(s->listen_source);
	sd_event_source_disable_unref(s->timeout_source);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		/* An activated socket's path is the service manager's. */
		if (!s->activated)
			unlink(s->path);
	}
	if (s->lock_fd >= 0) {
		unlink(s->lock_path);
		close(s->lock_fd);
	}
	free(s);
}
