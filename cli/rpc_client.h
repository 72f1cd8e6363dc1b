/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvmscopectl's one client of the daemon's JSON-RPC socket, used by every
 * verb and by top: one connection, newline-framed requests and answers,
 * and a timeout on every wait, so that a daemon that accepts and never
 * answers makes the CLI fail with a message naming the socket, not hang.
 */
#ifndef KVMSCOPECTL_RPC_CLIENT_H
#define KVMSCOPECTL_RPC_CLIENT_H

#include <stdbool.h>
#include <jansson.h>

#include "strbuf.h"

#define RPC_DEFAULT_TIMEOUT_SECONDS 10.0
/* The daemon's own bound on one response is 32 MiB. */
#define RPC_MAX_RESPONSE (64u << 20)

enum rpc_failure {
	RPC_OK,
	RPC_CONNECT,		/* no daemon at the socket (or not ours to reach) */
	RPC_TIMEOUT,		/* connected, but no answer in time */
	RPC_BROKEN,		/* closed, unreadable, not JSON, wrong id */
	RPC_DAEMON_ERROR,	/* the daemon answered with an error object */
};

struct rpc_client {
	const char *socket_path;
	double timeout;		/* seconds, for each call */
	int fd;			/* -1 while not connected */
	struct strbuf in;
	json_int_t next_id;
	enum rpc_failure failure;	/* of the last call */
	char error[256];	/* why, short: "Connection refused", "no answer within 10 s" */
	int error_code;		/* the daemon's error code, with RPC_DAEMON_ERROR */
};

void rpc_client_init(struct rpc_client *rc, const char *socket_path, double timeout);
void rpc_client_close(struct rpc_client *rc);

/* Connect unless connected.  Returns the exit code: EXIT_OK or EXIT_UNREACHABLE. */
int rpc_client_connect(struct rpc_client *rc);

/*
 * Call @method (consuming @params), connecting first if needed.  Returns
 * EXIT_OK with *result; EXIT_DAEMON_ERROR with the daemon's message in
 * rc->error; EXIT_UNREACHABLE with the reason in rc->error and the
 * connection closed.
 */
int rpc_client_call(struct rpc_client *rc, const char *method, json_t *params, json_t **result);

/* The same, passing descriptor @pass_fd with the request (SCM_RIGHTS); -1: none. */
int rpc_client_call_fd(struct rpc_client *rc, const char *method, json_t *params, int pass_fd,
		       json_t **result);

/*
 * The next line the daemon sends on a subscribed connection, waiting at
 * most @timeout_ms (-1: no limit).  Returns 0 with a malloc'd *line
 * without its newline; -ETIMEDOUT when none came in time (not a failure,
 * the connection stays); another -errno with rc->error set and the
 * connection closed.
 */
int rpc_client_read_line(struct rpc_client *rc, char **line, int timeout_ms);

/*
 * Print why the last call failed, as "kvmscopectl: ..." lines on stderr
 * naming the socket, with what to do about it.  Returns @exit_code.
 */
int rpc_client_report(const struct rpc_client *rc, int exit_code);

#endif
