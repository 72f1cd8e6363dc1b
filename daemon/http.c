// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus endpoint.  libmicrohttpd runs without threads of its own:
 * its epoll fd sits in our sd-event loop and MHD_run() is called when it
 * is readable or MHD's timeout expires, so handlers see the Manager's state
 * without locking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>

#include "http.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"

struct http {
	struct MHD_Daemon *mhd;
	struct manager *manager;
	sd_event *event;
	sd_event_source *io_source;
	sd_event_source *timer_source;
	uint16_t port;
};

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned int status,
				 const char *content_type, char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_plain(struct MHD_Connection *conn, unsigned int status, const char *msg)
{
	char *body = strdup(msg);

	if (!body)
		return MHD_NO;
	return send_text(conn, status, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	struct strbuf sb;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return send_plain(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is supported\n");
	if (strcmp(url, "/metrics")) {
		if (!strcmp(url, "/"))
			return send_plain(conn, MHD_HTTP_OK,
					  "kvmscoped: metrics are at /metrics\n");
		return send_plain(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	}
	strbuf_init(&sb, 0);
	if (manager_metrics(h->manager, &sb) < 0) {
		strbuf_free(&sb);
		return send_plain(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	{
		size_t len = sb.len;

		return send_text(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, strbuf_steal(&sb), len);
	}
}

static void rearm(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG timeout;
	uint64_t now;

	if (MHD_get_timeout(h->mhd, &timeout) == MHD_YES) {
		sd_event_now(h->event, CLOCK_MONOTONIC, &now);
		sd_event_source_set_time(h->timer_source, now + timeout * 1000ULL);
		sd_event_source_set_enabled(h->timer_source, SD_EVENT_ONESHOT);
	} else {
		sd_event_source_set_enabled(h->timer_source, SD_EVENT_OFF);
	}
}

static unsigned int connection_count(struct http *h)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

/*
 * At MHD_OPTION_CONNECTION_LIMIT, MHD takes its listen socket out of its
 * epoll set; it puts it back only at the start of a later MHD_run(), once
 * a run has closed a connection.  Nothing would wake us for that later run
 * (the listen socket is no longer watched), so /metrics stopped answering
 * for good after 64 abandoned connections.  Run again for as long as a run
 * closed connections: the next one re-adds the listen socket and accepts
 * what waits in the backlog.  Each run is non-blocking.
 */
static void run_mhd(struct http *h)
{
	for (int i = 0; i < 8; i++) {
		unsigned int before = connection_count(h);

		MHD_run(h->mhd);
		if (connection_count(h) >= before)
			break;
	}
	rearm(h);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	run_mhd(userdata);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	run_mhd(userdata);
	return 0;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

int http_new(sd_event *event, const char *host, uint16_t port, struct manager *m,
	     struct http **ret)
{
	struct sockaddr_storage ss = { 0 };
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct http *h;
	int r, epfd;

	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, host, &sin6->sin6_addr);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, host, &sin->sin_addr);
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->manager = m;
	h->event = event;
	h->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, 64U,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10U,
				  MHD_OPTION_END);
	if (!h->mhd) {
		free(h);
		return log_error_errno(EADDRINUSE,
				       "Cannot serve metrics on %s:%u (address in use or not local?); "
				       "use --metrics ADDR:PORT or --metrics off",
				       host, port);
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : port;
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	epfd = info ? info->epoll_fd : -1;
	if (epfd < 0) {
		http_free(h);
		return log_error_errno(EINVAL, "libmicrohttpd gave no epoll fd");
	}
	r = sd_event_add_io(event, &h->io_source, epfd, EPOLLIN, on_io, h);
	if (r >= 0)
		r = sd_event_add_time(event, &h->timer_source, CLOCK_MONOTONIC, 0, 0, on_timer, h);
	if (r < 0) {
		http_free(h);
		return log_error_errno(r, "Cannot add the metrics server to the event loop: %m");
	}
	rearm(h);
	*ret = h;
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	sd_event_source_disable_unref(h->io_source);
	sd_event_source_disable_unref(h->timer_source);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
}

uint16_t http_port(const struct http *h)
{
	return h ? h->port : 0;
}
