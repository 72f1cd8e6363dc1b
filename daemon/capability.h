/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A capability (exits, ioctls, live patching) is a unit with the same
 * entry points; the manager drives every entry of capability_table[] the
 * same way.  Adding a capability adds one line to that table.
 */
#ifndef KVMSCOPE_CAPABILITY_H
#define KVMSCOPE_CAPABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "rpc.h"
#include "strbuf.h"

struct manager;
struct vm;

/* As many distinct pids as there can be subscriptions (events.c). */
#define STREAM_FILTER_MAX_PIDS 64

/*
 * Which events of one topic someone subscribed to: the union of the
 * subscriptions' pid filters, so that the kernel puts nothing on a ring
 * for processes nobody asked about.  Other filters stay in user space.
 */
struct bpfstats;

struct stream_filter {
	enum { STREAM_OFF, STREAM_ALL_PIDS, STREAM_PIDS } mode;
	size_t n_pids;
	uint32_t pids[STREAM_FILTER_MAX_PIDS];	/* STREAM_PIDS: sorted, distinct */
};

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
	/* Event topics it publishes on manager_events() (NULL-terminated), or NULL. */
	const char *const *topics;
	/*
	 * Those of @topics a subscription gets only when it names them: they
	 * make the kernel stream every event of their kind (ioctl).
	 */
	const char *const *topics_on_request;
	/* Optional: stream only the events of @topic that @f selects (or none). */
	void (*stream_filter)(void *state, const char *topic, const struct stream_filter *f);
	/*
	 * Optional: its BPF programs' run time and skipped runs, which the
	 * manager writes into /metrics with every capability's at once.
	 */
	const struct bpfstats *(*bpf_cost)(void *state);
	/*
	 * Optional: true when the user demanded this capability (--kmod on),
	 * so that attach() failing stops the daemon instead of a warning.
	 */
	bool (*required)(void *state);
	/*
	 * Probed and attached before the others, which may use it through
	 * manager_capability_state() (the helper module serves exits).
	 */
	bool probe_first;
	/* JSON-RPC methods this capability serves (NULL-name terminated) or NULL. */
	const struct rpc_method *methods;
};

extern const struct capability_ops exits_capability;
extern const struct capability_ops ioctls_capability;
extern const struct capability_ops livepatch_capability;
extern const struct capability_ops kmod_capability;

#endif
