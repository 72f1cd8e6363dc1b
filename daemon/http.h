/* SPDX-License-Identifier: GPL-2.0-only */
/* GET /metrics over HTTP (libmicrohttpd), driven by the daemon's sd-event loop. */
#ifndef KVMSCOPE_HTTP_H
#define KVMSCOPE_HTTP_H

#include <stdint.h>
#include <systemd/sd-event.h>

struct http;
struct manager;

int http_new(sd_event *event, const char *host, uint16_t port, struct manager *m,
	     struct http **ret);
void http_free(struct http *h);
/* The bound port (the real one when 0 was asked for). */
uint16_t http_port(const struct http *h);

#endif
