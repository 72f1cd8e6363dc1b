/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A capability (exits, ioctls, live patching) is a unit with the same
 * entry points; the manager drives every entry of capability_table[] the
 * same way.  Adding a capability adds one line to that table.
 */
#ifndef KVMSCOPE_CAPABILITY_H
#define KVMSCOPE_CAPABILITY_H

#include <stdbool.h>
#include <jansson.h>

#include "rpc.h"
#include "strbuf.h"

struct manager;
struct vm;

struct capability_ops {
	const char *name;
	/* Allocate state and ask the kernel what it has; never fatal for the daemon. */
	int (*probe)(struct manager *m, void **state);
	/* Attach what works; returns the number of probes attached or -errno. */
	int (*attach)(void *state);
	/* Periodic work (every second) and before every read of state. */
	void (*collect)(void *state);
	/* The capability's part of `status`: probes with available/attached/reason. */
	json_t *(*describe)(void *state);
	/* Append Prometheus families. */
	int (*metrics)(void *state, struct strbuf *sb);
	/* A VM's process exited: keep its numbers, release kernel-side state. */
	void (*vm_exited)(void *state, struct vm *vm);
	/* A VM's retention ended: drop everything about it. */
	void (*vm_forget)(void *state, struct vm *vm);
	void (*free)(void *state);
	/* Optional: stream events to manager_events() (on) or stop (off). */
	void (*stream)(void *state, bool on);
	/* JSON-RPC methods this capability serves (NULL-name terminated) or NULL. */
	const struct rpc_method *methods;
};

extern const struct capability_ops exits_capability;

#endif
