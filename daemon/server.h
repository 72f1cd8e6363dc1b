/* SPDX-License-Identifier: GPL-2.0-only */
/* The JSON-RPC Unix stream socket: many clients, non-blocking, bounded buffers. */
#ifndef KVMSCOPE_SERVER_H
#define KVMSCOPE_SERVER_H

#include <systemd/sd-event.h>

#include "rpc.h"

/* Bounds per client; see docs/api.md. */
#define SERVER_MAX_CLIENTS 128
/* Stop reading a client's requests while this much output waits for it. */
#define SERVER_OUTPUT_HIGH_WATER (1u << 20)
/* Notifications queued beyond this are pushed to the socket at once. */
#define SERVER_NOTIFY_FLUSH (64u << 10)
/* A single response larger than this is replaced by an error. */
#define SERVER_RESPONSE_MAX (32u << 20)

struct server;
struct client;

typedef void (*server_disconnect_fn)(struct client *c, void *userdata);

/*
 * Claim the socket path: -EADDRINUSE (with a logged message) when another
 * daemon serves it.  Nothing listens yet, so clients cannot connect to a
 * daemon that is still loading its probes.
 */
int server_new(sd_event *event, const char *path, const struct rpc_registry *rpc,
	       struct server **ret);
/* Replace a stale socket file, bind and start accepting clients. */
int server_listen(struct server *s);
void server_free(struct server *s);

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

#endif
