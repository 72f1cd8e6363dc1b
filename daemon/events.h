/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event streams: clients call events.subscribe and get JSON-RPC
 * notifications on their connection until they unsubscribe or go away:
 * events.<topic> for each topic they chose (vm, and each capability's:
 * exit, ...), and events.lost.  A client that reads too slowly loses
 * events, counted per subscription and globally; the daemon never waits.
 */
#ifndef KVMSCOPE_EVENTS_H
#define KVMSCOPE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "rpc.h"

struct manager;
struct vm;
struct events_hub;
struct client;

/* One exit, as the BPF stream delivers it. */
struct events_exit {
	uint64_t ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	uint32_t pid, tid, vcpu, isa, reason;
	bool hardware;		/* kvm_exit; else kvm_userspace_exit (KVM_EXIT_*) */
};

int events_hub_new(struct manager *m, struct events_hub **ret);
void events_hub_free(struct events_hub *h);
extern const struct rpc_method events_methods[];

/* A client went away: its subscriptions end. */
void events_hub_client_gone(struct events_hub *h, struct client *c);
/*
 * Publish an event of @topic (one of manager_topic()'s) about process @pid
 * (0: about none, for subscriptions without a pid filter only): every
 * subscription to @topic that it matches gets the notification
 * "events.<topic>" with @params, built once.  Takes @params.
 */
void events_hub_publish(struct events_hub *h, const char *topic, uint32_t pid, json_t *params);
void events_hub_exit(struct events_hub *h, const struct events_exit *e);
/* @what: "start" or "exit". */
void events_hub_vm(struct events_hub *h, const char *what, const struct vm *vm);
/* Once a second: tell subscribers that lost events how many. */
void events_hub_tick(struct events_hub *h);
/* Exits the kernel put on its ring, and those it could not (set by the exits capability). */
void events_hub_kernel_ring(struct events_hub *h, uint64_t submitted, uint64_t lost);

#endif
