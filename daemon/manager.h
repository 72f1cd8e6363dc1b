/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon is one Manager: an sd-event loop, the VM registry, the
 * capabilities, the JSON-RPC socket and the metrics endpoint.
 */
#ifndef KVMSCOPE_MANAGER_H
#define KVMSCOPE_MANAGER_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "capability.h"
#include "options.h"
#include "pidns.h"
#include "rpc.h"
#include "vm_identity.h"

struct server;
struct http;

struct vm {
	uint64_t id;			/* unique for the daemon's lifetime */
	uint32_t pid;
	struct vm_identity ident;
	bool identity_known;		/* /proc was read while the process lived */
	bool exited;
	uint64_t first_seen_usec;	/* CLOCK_REALTIME */
	uint64_t exited_usec;		/* CLOCK_REALTIME */
	uint64_t exited_mono_usec;	/* CLOCK_MONOTONIC, for retention */
	int pidfd;
	sd_event_source *pidfd_source;
	struct manager *manager;
};

struct manager;

int manager_new(const struct daemon_options *opts, struct manager **ret);
struct manager *manager_free(struct manager *m);
int manager_start(struct manager *m);
/*
 * How SIGHUP re-reads the configuration: @reload fills a fresh set of
 * options (defaults, file, command line) or returns < 0 with the reason.
 */
typedef int (*manager_reload_fn)(struct daemon_options *out, char *err, size_t errlen);
void manager_set_reload(struct manager *m, manager_reload_fn reload);
int manager_run(struct manager *m);

/* What a capability may see of the manager. */
sd_event *manager_event(struct manager *m);
const struct daemon_options *manager_options(const struct manager *m);
/* The state of capability @ops, NULL before its probe or when it failed. */
struct capability_ops;
void *manager_capability_state(struct manager *m, const struct capability_ops *ops);
const char *manager_kvm_backend(const struct manager *m);
/* The VM registry: live and retained exited VMs, in the order they were seen. */
size_t manager_vm_count(const struct manager *m);
struct vm *manager_vm_at(const struct manager *m, size_t i);
/* The VM with @pid, live or retained (the newest), or NULL. */
struct vm *manager_vm_find(struct manager *m, uint32_t pid);

/* Register that @pid uses KVM; returns the live VM (new or known) or NULL. */
struct vm *manager_vm_note(struct manager *m, uint32_t pid, const char *comm_hint);
/*
 * The same, with when the process was seen using KVM (CLOCK_MONOTONIC ns,
 * as bpf_ktime_get_ns; 0: unknown): news from after the retained VM of
 * that pid exited is a new VM even when its process is gone already.
 */
struct vm *manager_vm_note_at(struct manager *m, uint32_t pid, const char *comm_hint,
			      uint64_t seen_mono_ns);
/* The subscriptions hub (events.subscribe). */
struct events_hub *manager_events(struct manager *m);
/* Event topics: "vm" (the registry's), then every capability's; NULL past the end. */
const char *manager_topic(size_t i);
/* Whether topic @name is sent only to subscriptions that name it. */
bool manager_topic_on_request(const char *name);
/* Tell the capability that publishes @topic which of its events to stream. */
void manager_set_stream_filter(struct manager *m, const char *topic, const struct stream_filter *f);
/* The live VM with @pid, or NULL. */
struct vm *manager_vm_find_live(struct manager *m, uint32_t pid);
/* Bring capabilities' view of VMs up to date before answering a request. */
void manager_refresh(struct manager *m);
/* Label for metrics and tables: guest name, else comm, else "pid-N". */
const char *vm_display_name(const struct vm *vm, char *buf, size_t len);
json_t *vm_to_json(const struct vm *vm);
/* Something /metrics shows changed outside the tick and the registry. */
void manager_state_changed(struct manager *m);
/* Prometheus text of everything (also served as the `metrics` method). */
int manager_metrics(struct manager *m, struct strbuf *sb);

#endif
