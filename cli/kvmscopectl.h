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

enum { EXIT_OK = 0, EXIT_DAEMON_ERROR = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

struct cli {
	const char *socket_path;
	bool json;
	bool has_pid, has_vcpu;
	uint64_t pid, vcpu;
	bool detail;		/* exits --detail */
	const char *hist;	/* exits --hist REASON, or NULL */
	int argc;		/* positional arguments after the verb */
	char **argv;
};

/*
 * Call @method (consuming @params).  With --json, print the answer and
 * leave *result NULL; otherwise hand the answer to the caller to format.
 * Returns the exit code.
 */
int call_for_table(struct cli *c, const char *method, json_t *params, json_t **result);

/* Connect to the daemon; on failure say why and how to start it. Returns the exit code. */
int cli_connect(struct cli *c, int *fd);

/* cli/exits.c */
int verb_exits(struct cli *c);

/* cli/events.c */
int verb_events(struct cli *c);
void events_usage(FILE *f);

#endif
