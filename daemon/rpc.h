/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * JSON-RPC 2.0 over a line-oriented stream: one request object (or batch
 * array) per line in, one response per line out.  Every socket method is
 * one entry in a method table; see docs/api.md.
 */
#ifndef KVMSCOPE_RPC_H
#define KVMSCOPE_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

/* How every response is written; text handlers write their results so too. */
#define RPC_DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(16))

/* Largest answer to one request (a batch is bounded by the caller's output room). */
#define RPC_RESPONSE_MAX (32u << 20)

/* Longest request line accepted, newline excluded. */
#define RPC_LINE_MAX 65536
/* Most requests in one batch; a longer batch is an Invalid Request. */
#define RPC_BATCH_MAX 64

enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	/* Server-defined: the request was valid, the thing it names is not there. */
	RPC_NOT_FOUND = -32004,
	RPC_UNAVAILABLE = -32005,
	/* The caller's credentials do not allow the method. */
	RPC_PERMISSION_DENIED = -32001,
	/* The request is valid but the state forbids it now (another livepatch transition). */
	RPC_BUSY = -32006,
};

struct rpc_error {
	int code;
	char message[512];
	json_t *data;		/* optional "data" member; the response takes the reference */
};

/*
 * What a method does to the daemon.  RPC_READ is 0 so that a table entry
 * without the field reads, as every method did before access levels
 * existed; a method that changes state must say so.
 */
enum rpc_access {
	RPC_READ = 0,
	RPC_WRITE,
};

/* Who is calling, as the server learnt it from the socket (SO_PEERCRED). */
struct rpc_caller {
	bool may_read;		/* root, or a member of the daemon's group */
	bool may_write;		/* root */
	uid_t uid;
	pid_t pid;
	const char *group;	/* the group that may read, for messages; NULL: none */
	/*
	 * A descriptor the client passed with SCM_RIGHTS (only root's are
	 * kept), or -1.  A handler that takes it sets it to -1 and closes it.
	 */
	int *passed_fd;
	/* Bound on a batch's response text; 0 means RPC_BATCH_OUTPUT_MAX. */
	size_t batch_output_max;
};

/* A batch stops running its requests once its response passes this. */
#define RPC_BATCH_OUTPUT_MAX (4u << 20)

/*
 * A handler returns a new reference to the result, or NULL after filling
 * @err.  @params is always an object (empty when the request had none).
 */
typedef json_t *(*rpc_handler_t)(void *userdata, json_t *params, struct rpc_error *err);

/*
 * The same for a method that writes its result as text: it appends one
 * JSON value (compact, ASCII: RPC_DUMP_FLAGS) to @out and returns 0, or
 * fills @err and returns < 0.  For answers too big to build as JSON nodes
 * on every call (exits.get of every VM), put together from text the
 * capability keeps.
 */
struct strbuf;
struct rpc_caller;
typedef int (*rpc_text_handler_t)(void *userdata, json_t *params, struct rpc_error *err,
				  struct strbuf *out);

struct rpc_method {
	const char *name;
	rpc_handler_t handler;
	const char *const *params;	/* NULL-terminated names accepted, or NULL for none */
	enum rpc_access access;
	rpc_text_handler_t text_handler;	/* instead of @handler */
	/*
	 * Instead of @handler, for a method that must know who calls: one
	 * that changes the kernel's state audits the caller's uid and pid.
	 */
	json_t *(*caller_handler)(void *userdata, const struct rpc_caller *caller, json_t *params,
				  struct rpc_error *err);
};

struct rpc_entry {
	const struct rpc_method *method;
	void *userdata;
};

struct rpc_registry {
	struct rpc_entry *entries;
	size_t n;
};

/* Register a table terminated by an entry with name NULL. */
int rpc_register(struct rpc_registry *reg, const struct rpc_method *table, void *userdata);
void rpc_registry_free(struct rpc_registry *reg);
const struct rpc_entry *rpc_find(const struct rpc_registry *reg, const char *name);

/*
 * Handle one request line (without its newline) for @caller.  Returns the
 * response text (malloc'd, no newline) or NULL when nothing is to be sent
 * back (notifications).  A call @caller may not make is refused with
 * RPC_PERMISSION_DENIED and logged.
 */
char *rpc_handle_line(const struct rpc_registry *reg, const struct rpc_caller *caller,
		      const char *line, size_t len);

/* A complete error response with "id": null, for errors found before parsing. */
char *rpc_error_line(int code, const char *message);

int rpc_error_set(struct rpc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Read optional unsigned integer @key from @params into @out (range
 * 0..@max).  Returns 1 if present, 0 if absent, -EINVAL after filling @err.
 */
int rpc_param_uint(json_t *params, const char *key, uint64_t max, uint64_t *out,
		   struct rpc_error *err);

#endif
