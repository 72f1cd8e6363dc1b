/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What kvmscopectl's verbs share: the parsed command line and the call to
 * the daemon.
 */
#ifndef KVMSCOPECTL_H
#define KVMSCOPECTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "rpc_client.h"

enum { EXIT_OK = 0, EXIT_DAEMON_ERROR = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

struct cli {
	const char *socket_path;
	double timeout;		/* seconds to wait for each answer (--timeout) */
	struct rpc_client rpc;	/* the one connection, opened by the first call */
	bool json;
	bool has_pid, has_vcpu;
	uint64_t pid, vcpu;
	bool detail;		/* exits --detail */
	const char *hist;	/* exits --hist REASON, or NULL */
	double wait;		/* patch: seconds to follow a transition (--wait) */
	bool has_wait;
	bool reverse_on_stall;	/* patch: reverse a transition still running at --wait */
	bool yes;		/* patch force: the consistency guarantee may go */
	int argc;		/* positional arguments after the verb */
	char **argv;
};

/*
 * Call @method (consuming @params) over c->rpc; on failure say why on
 * stderr.  Returns the exit code, with *result on success.
 */
int cli_call(struct cli *c, const char *method, json_t *params, json_t **result);

/*
 * Like cli_call(), but with --json print the answer and leave *result
 * NULL; otherwise hand the answer to the caller to format.
 */
int call_for_table(struct cli *c, const char *method, json_t *params, json_t **result);

/* Print a JSON document terminal-safe (see cli_print_json in kvmscopectl.c). */
void cli_print_json(json_t *v, size_t flags);

/*
 * Every verb's usage error: "kvmscopectl: <problem>" and where the help is,
 * on stderr.  Returns EXIT_USAGE.
 */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli/exits.c */
int verb_exits(struct cli *c);

/* cli/ioctls.c */
int verb_ioctls(struct cli *c);
int verb_launch(struct cli *c);

/* cli/livepatch.c */
int verb_patch(struct cli *c);

/* cli/kmod.c */
int verb_kmod(struct cli *c);
void kmod_usage(FILE *f);

/* cli/events.c */
int verb_events(struct cli *c);
void events_usage(FILE *f);

#endif
