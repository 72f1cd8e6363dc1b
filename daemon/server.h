/* SPDX-License-Identifier: GPL-2.0-only */
/* The JSON-RPC Unix stream socket: many clients, non-blocking, bounded buffers. */
#ifndef KVMSCOPE_SERVER_H
#define KVMSCOPE_SERVER_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "rpc.h"

/* Bounds per client; see docs/api.md. */
#define SERVER_MAX_CLIENTS 128
/* No request of a client runs while this much output waits for it. */
#define SERVER_OUTPUT_HIGH_WATER (1u << 20)
/* Unread output beyond this closes the client (one lone response excepted). */
#define SERVER_OUTPUT_MAX (4u << 20)
/* Notifications queued beyond this are pushed to the socket at once. */
#define SERVER_NOTIFY_FLUSH (64u << 10)
/* A single response larger than this is replaced by an error. */
#define SERVER_RESPONSE_MAX (32u << 20)
/* A client holding part of a request line this long is closed. */
#define SERVER_PARTIAL_LINE_TIMEOUT_SEC 10

struct server;
struct client;
struct daemon_options;

typedef void (*server_disconnect_fn)(struct client *c, void *userdata);

/*
 * Claim the socket path (opts->socket_path): -EADDRINUSE (with a logged
 * message) when another daemon serves it, -EEXIST when something that is
 * not a socket is there.  Nothing listens yet, so clients cannot connect
 * to a daemon that is still loading its probes.  opts->group may read,
 * root may read and change; opts->client_timeout_sec closes idle clients.
 */
int server_new(sd_event *event, const struct daemon_options *opts,
	       const struct rpc_registry *rpc, struct server **ret);
/* Replace a stale socket file, bind and start accepting clients. */
int server_listen(struct server *s);
/* Close clients silent this long from now on (SIGHUP reload). */
void server_set_client_timeout(struct server *s, unsigned int seconds);
void server_free(struct server *s);
/* The socket's path: --socket, or the one the service manager passed. */
const char *server_path(const struct server *s);
/* Whether the listening socket came from the service manager (socket activation). */
bool server_activated(const struct server *s);

/* Called for every client that goes away, before it is freed. */
void server_set_disconnect_hook(struct server *s, server_disconnect_fn fn, void *userdata);
/* The client whose request is being handled now, or NULL outside a request. */
struct client *server_current_client(void);
/*
 * Queue one notification line (no newline) for @c.  A client more than
 * SERVER_OUTPUT_HIGH_WATER behind loses it: -ENOBUFS, and the caller counts
 * the loss.  The daemon never waits for a slow reader.
 */
int server_client_notify(struct client *c, const char *line);
/*
 * Subscriptions held by @c: a subscribed client is never idle, so it is
 * neither timed out nor evicted.  @delta is +1 or -1.
 */
unsigned int server_client_subscriptions(const struct client *c);
void server_client_add_subscriptions(struct client *c, int delta);

#endif
