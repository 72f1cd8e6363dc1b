// SPDX-License-Identifier: GPL-2.0-only
/*
 * Subscriptions and their notifications.  The kernel filters by process:
 * each capability is told the union of the subscriptions' pids for its
 * topic (or "every pid", or nothing), so it streams only what someone
 * asked for.  vCPU, reason and sampling are per subscription, here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "server.h"

#include <strings.h>

#define EVENTS_MAX_SUBSCRIPTIONS 64
/* So that one connection cannot take every slot. */
#define EVENTS_MAX_SUBSCRIPTIONS_PER_CLIENT 4

struct subscription {
	uint64_t id;
	struct client *client;
	uint32_t pid;		/* 0: any */
	int64_t vcpu;		/* -1: any */
	char reason[DECODE_NAME_MAX];	/* "": any; matched case-insensitively */
	uint64_t sample;	/* deliver 1 of every @sample matching exits */
	uint32_t topics;	/* bit per index in events_hub.topics */
	uint64_t matched, delivered, lost, lost_reported;
	struct subscription *next;
};

/* Topics a hub can know: "vm" and the capabilities' (manager_topic()). */
#define EVENTS_MAX_TOPICS 16
_Static_assert(EVENTS_MAX_TOPICS <= 31, "a subscription's topics are bits of a uint32_t");

struct events_hub {
	struct manager *m;
	struct subscription *subs;
	size_t n_subs;
	uint64_t next_id;
	uint64_t delivered_total, lost_total, kernel_submitted, kernel_lost;
	size_t n_topics;
	const char *topics[EVENTS_MAX_TOPICS];
	int exit_topic;		/* the exits capability's, or -1 */
	/* What each topic's capability was last told to stream. */
	struct stream_filter filters[EVENTS_MAX_TOPICS];
};

/* @name's index in h->topics, or -1. */
static int topic_index(const struct events_hub *h, const char *name)
{
	for (size_t i = 0; i < h->n_topics; i++)
		if (!strcmp(h->topics[i], name))
			return (int)i;
	return -1;
}

int events_hub_new(struct manager *m, struct events_hub **ret)
{
	struct events_hub *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->m = m;
	h->next_id = 1;
	while (h->n_topics < EVENTS_MAX_TOPICS && manager_topic(h->n_topics)) {
		h->topics[h->n_topics] = manager_topic(h->n_topics);
		h->filters[h->n_topics].mode = STREAM_OFF;
		h->n_topics++;
	}
	if (manager_topic(h->n_topics))
		log_warning("events: more than %d topics; \"%s\" and later cannot be subscribed to",
			    EVENTS_MAX_TOPICS, manager_topic(h->n_topics));
	h->exit_topic = topic_index(h, "exit");
	*ret = h;
	return 0;
}

void events_hub_free(struct events_hub *h)
{
	if (!h)
		return;
	while (h->subs) {
		struct subscription *s = h->subs;

		h->subs = s->next;
		free(s);
	}
	free(h);
}

static bool subscribed_to(const struct subscription *s, size_t topic)
{
	return s->topics & (1u << topic);
}

/* The union of the pid filters of @topic's subscriptions. */
static void stream_filter_of(const struct events_hub *h, size_t topic, struct stream_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->mode = STREAM_OFF;
	for (const struct subscription *s = h->subs; s; s = s->next) {
		size_t i = 0;

		if (!subscribed_to(s, topic))
			continue;
		if (!s->pid) {
			f->mode = STREAM_ALL_PIDS;
			f->n_pids = 0;
			return;
		}
		while (i < f->n_pids && f->pids[i] < s->pid)
			i++;
		if (i < f->n_pids && f->pids[i] == s->pid)
			continue;
		/* Cannot overflow: there are no more subscriptions than that. */
		if (f->n_pids == STREAM_FILTER_MAX_PIDS) {
			f->mode = STREAM_ALL_PIDS;
			f->n_pids = 0;
			return;
		}
		memmove(&f->pids[i + 1], &f->pids[i], (f->n_pids - i) * sizeof(f->pids[0]));
		f->pids[i] = s->pid;
		f->n_pids++;
		f->mode = STREAM_PIDS;
	}
}

/* After every subscribe and unsubscribe: tell each topic's capability what changed. */
static void update_stream_filters(struct events_hub *h)
{
	for (size_t t = 0; t < h->n_topics; t++) {
		struct stream_filter f;

		stream_filter_of(h, t, &f);
		if (f.mode == h->filters[t].mode && f.n_pids == h->filters[t].n_pids &&
		    !memcmp(f.pids, h->filters[t].pids, f.n_pids * sizeof(f.pids[0])))
			continue;
		h->filters[t] = f;
		manager_set_stream_filter(h->m, h->topics[t], &f);
	}
}

static void remove_where(struct events_hub *h, struct client *c, uint64_t id)
{
	size_t before = h->n_subs;

	for (struct subscription **pp = &h->subs; *pp;) {
		struct subscription *s = *pp;

		if (s->client == c && (!id || s->id == id)) {
			*pp = s->next;
			h->n_subs--;
			server_client_add_subscriptions(c, -1);
			free(s);
		} else {
			pp = &s->next;
		}
	}
	if (h->n_subs != before)
		update_stream_filters(h);
}

void events_hub_client_gone(struct events_hub *h, struct client *c)
{
	if (h)
		remove_where(h, c, 0);
}

/* Send @line to @s, counting a loss when its client is too far behind. */
static void deliver(struct events_hub *h, struct subscription *s, const char *line)
{
	if (server_client_notify(s->client, line) < 0) {
		s->lost++;
		h->lost_total++;
		return;
	}
	s->delivered++;
	h->delivered_total++;
}

/*
 * Deliver an event of @topic about process @pid to every subscription that
 * wants it: subscribed to the topic, with no pid filter or @pid's, and
 * accepted by @match (if any).  The line is built once, at the first
 * subscription that takes it, so that an event nobody wants costs no JSON.
 */
static void publish(struct events_hub *h, size_t topic, uint32_t pid,
		    bool (*match)(struct subscription *s, const void *ctx),
		    json_t *(*build)(const void *ctx), const void *ctx)
{
	char *line = NULL;

	for (struct subscription *s = h->subs; s; s = s->next) {
		if (!subscribed_to(s, topic) || (s->pid && s->pid != pid))
			continue;
		if (match && !match(s, ctx))
			continue;
		if (!line) {
			char method[64];
			json_t *n;

			snprintf(method, sizeof(method), "events.%s", h->topics[topic]);
			n = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method, "params",
				      build(ctx));
			line = n ? json_dumps(n, JSON_COMPACT) : NULL;
			json_decref(n);
			if (!line)
				return;
		}
		deliver(h, s, line);
	}
	free(line);
}

static json_t *params_as_given(const void *ctx)
{
	return json_incref((json_t *)ctx);
}

void events_hub_publish(struct events_hub *h, const char *topic, uint32_t pid, json_t *params)
{
	int t = h && h->n_subs ? topic_index(h, topic) : -1;

	if (t >= 0 && params)
		publish(h, (size_t)t, pid, NULL, params_as_given, params);
	json_decref(params);
}

struct exit_event {
	const struct events_exit *e;
	char name[DECODE_NAME_MAX];
};

/* The vCPU, reason and sampling filters: per subscription, in user space. */
static bool exit_matches(struct subscription *s, const void *ctx)
{
	const struct exit_event *x = ctx;

	if ((s->vcpu >= 0 && (uint32_t)s->vcpu != x->e->vcpu) ||
	    (s->reason[0] && strcasecmp(s->reason, x->name)))
		return false;
	return s->matched++ % s->sample == 0;
}

static json_t *exit_params(const void *ctx)
{
	const struct exit_event *x = ctx;
	const struct events_exit *e = x->e;

	return json_pack("{s:I, s:I, s:I, s:o, s:s, s:s?, s:s, s:I}", "ts_ns", (json_int_t)e->ts_ns,
			 "pid", (json_int_t)e->pid, "tid", (json_int_t)e->tid, "vcpu",
			 e->vcpu == UINT32_MAX ? json_null() : json_integer(e->vcpu), "kind",
			 e->hardware ? "hardware" : "userspace", "isa",
			 e->hardware ? isa_name(e->isa) : NULL, "reason", x->name, "code",
			 (json_int_t)e->reason);
}

void events_hub_exit(struct events_hub *h, const struct events_exit *e)
{
	struct exit_event x = { .e = e };

	if (!h || !h->n_subs || h->exit_topic < 0)
		return;
	if (e->hardware)
		hw_exit_name(e->isa, e->reason, x.name, sizeof(x.name));
	else
		kvm_exit_name(e->reason, x.name, sizeof(x.name));
	publish(h, (size_t)h->exit_topic, e->pid, exit_matches, exit_params, &x);
}

void events_hub_vm(struct events_hub *h, const char *what, const struct vm *vm)
{
	if (!h || !h->n_subs)
		return;
	events_hub_publish(h, "vm", vm->pid,
			   json_pack("{s:s, s:o}", "event", what, "vm", vm_to_json(vm)));
}

void events_hub_kernel_ring(struct events_hub *h, uint64_t submitted, uint64_t lost)
{
	if (!h)
		return;
	h->kernel_submitted = submitted;
	h->kernel_lost = lost;
}

void events_hub_tick(struct events_hub *h)
{
	if (!h)
		return;
	for (struct subscription *s = h->subs; s; s = s->next) {
		json_t *n;
		char *line;

		if (s->lost == s->lost_reported)
			continue;
		n = json_pack("{s:s, s:s, s:{s:I, s:I, s:I}}", "jsonrpc", "2.0", "method",
			      "events.lost", "params", "subscription", (json_int_t)s->id, "lost",
			      (json_int_t)(s->lost - s->lost_reported), "lost_total",
			      (json_int_t)s->lost);
		line = n ? json_dumps(n, JSON_COMPACT) : NULL;
		json_decref(n);
		/* If even this does not fit, the next tick says it again. */
		if (line && server_client_notify(s->client, line) == 0)
			s->lost_reported = s->lost;
		free(line);
	}
}

/* ---- methods ---- */

/* Tables whose names the filter can meet, under the names users know them by. */
static const struct {
	const char *table, *label;
} reason_tables[] = {
	{ "kvm", "kvm" }, { "vmx", "vmx" }, { "svm", "svm" }, { "s390", "s390" },
	{ "arm64_exception", "arm64" },
};

static bool table_has_name(const char *which, const char *name)
{
	size_t n;
	const struct reason_name *t = decode_table(which, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(t[i].name, name))
			return true;
	return false;
}

/*
 * Would events_hub_exit() ever produce @name (ignoring case)?  The names
 * are hw_exit_name()'s and kvm_exit_name()'s: a table name, "TRAP/<class>"
 * on arm64, "FAILED_VMENTRY|<reason>" on VMX, or the number of a code no
 * table knows.
 */
static bool exit_reason_known(const char *name)
{
	size_t digits = strspn(name, "0123456789");

	if (name[0] && !name[digits])
		return true;
	if (!strncasecmp(name, "0x", 2) && name[2] &&
	    !name[2 + strspn(name + 2, "0123456789abcdefABCDEF")])
		return true;
	if (!strncasecmp(name, "TRAP/", 5))
		return table_has_name("arm64_esr_ec", name + 5);
	if (!strncasecmp(name, "FAILED_VMENTRY|", 15))
		return table_has_name("vmx", name + 15);
	for (size_t i = 0; i < sizeof(reason_tables) / sizeof(reason_tables[0]); i++)
		if (table_has_name(reason_tables[i].table, name))
			return true;
	return false;
}

/* { "kvm": [...], "vmx": [...], ... } for an error's data. */
static json_t *known_reasons(void)
{
	json_t *all = json_object();

	for (size_t i = 0; all && i < sizeof(reason_tables) / sizeof(reason_tables[0]); i++) {
		size_t n;
		const struct reason_name *t = decode_table(reason_tables[i].table, &n);
		json_t *names = json_array();

		for (size_t j = 0; j < n; j++)
			json_array_append_new(names, json_string(t[j].name));
		if (!strcmp(reason_tables[i].table, "arm64_exception")) {
			const struct reason_name *ec = decode_table("arm64_esr_ec", &n);

			for (size_t j = 0; j < n; j++)
				json_array_append_new(names, json_sprintf("TRAP/%s", ec[j].name));
		}
		json_object_set_new(all, reason_tables[i].label, names);
	}
	return all;
}

static void reject_reason(const char *reason, struct rpc_error *err)
{
	char kvm_names[400] = "";
	size_t n, used = 0;
	const struct reason_name *t = decode_table("kvm", &n);

	for (size_t i = 0; i < n && used < sizeof(kvm_names); i++)
		used += (size_t)snprintf(kvm_names + used, sizeof(kvm_names) - used, "%s%s",
					 i ? ", " : "", t[i].name);
	rpc_error_set(err, RPC_INVALID_PARAMS,
		      "params.reason '%.64s' is not a known exit reason (case is ignored); "
		      "hardware names (vmx, svm, arm64, s390) are in error.data.known_reasons; "
		      "KVM_EXIT_* names: %s", reason, kvm_names);
	err->data = json_pack("{s:o}", "known_reasons", known_reasons());
}

/* "vm, exit" for messages, ["vm", "exit"] for data. */
static void reject_topic(const struct events_hub *h, const char *what, struct rpc_error *err)
{
	char names[256] = "";
	size_t used = 0;
	json_t *known = json_array();

	for (size_t i = 0; i < h->n_topics; i++) {
		if (used < sizeof(names))
			used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
						 i ? ", " : "", h->topics[i]);
		json_array_append_new(known, json_string(h->topics[i]));
	}
	rpc_error_set(err, RPC_INVALID_PARAMS, "params.topics: %s; known topics: %s", what, names);
	err->data = json_pack("{s:o}", "known_topics", known);
}

/* params.topics: an array of topic names, or absent for every topic but those sent on request. */
static int parse_topics(const struct events_hub *h, json_t *params, uint32_t *topics,
			struct rpc_error *err)
{
	json_t *list = json_object_get(params, "topics"), *name;
	char what[128];
	size_t i;

	if (!list) {
		*topics = 0;
		for (size_t t = 0; t < h->n_topics; t++)
			if (!manager_topic_on_request(h->topics[t]))
				*topics |= 1u << t;
		return 0;
	}
	if (!json_is_array(list) || !json_array_size(list)) {
		reject_topic(h, "must be a non-empty array of topic names", err);
		return -EINVAL;
	}
	*topics = 0;
	json_array_foreach(list, i, name) {
		int t = json_is_string(name) ? topic_index(h, json_string_value(name)) : -1;

		if (t < 0) {
			if (json_is_string(name))
				snprintf(what, sizeof(what), "no topic is called '%.64s'",
					 json_string_value(name));
			else
				snprintf(what, sizeof(what), "element %zu is not a topic name", i);
			reject_topic(h, what, err);
			return -EINVAL;
		}
		*topics |= 1u << t;
	}
	return 0;
}

/* The topics of @s as names, in the hub's order; with "events." before each if @methods. */
static json_t *topics_to_json(const struct events_hub *h, const struct subscription *s,
			      bool methods)
{
	json_t *a = json_array();

	for (size_t t = 0; t < h->n_topics; t++)
		if (subscribed_to(s, t))
			json_array_append_new(a, methods ? json_sprintf("events.%s", h->topics[t]) :
						  json_string(h->topics[t]));
	return a;
}

static json_t *method_subscribe(void *userdata, json_t *params, struct rpc_error *err)
{
	struct events_hub *h = manager_events(userdata);
	struct client *c = server_current_client();
	struct subscription *s;
	uint64_t pid = 0, vcpu = 0, sample = 1;
	uint32_t topics;
	json_t *notifications;
	int has_vcpu;
	json_t *reason = json_object_get(params, "reason");

	if (!c || !h) {
		rpc_error_set(err, RPC_UNAVAILABLE, "subscriptions need a socket connection");
		return NULL;
	}
	if (rpc_param_uint(params, "pid", UINT32_MAX, &pid, err) < 0)
		return NULL;
	has_vcpu = rpc_param_uint(params, "vcpu", UINT32_MAX - 1, &vcpu, err);
	if (has_vcpu < 0)
		return NULL;
	if (rpc_param_uint(params, "sample", 1000000, &sample, err) < 0)
		return NULL;
	if (sample == 0) {
		rpc_error_set(err, RPC_INVALID_PARAMS, "params.sample must be from 1 to 1000000");
		return NULL;
	}
	if (reason && (!json_is_string(reason) || !json_string_length(reason) ||
		       json_string_length(reason) >= DECODE_NAME_MAX)) {
		rpc_error_set(err, RPC_INVALID_PARAMS,
			      "params.reason must be an exit reason name such as \"io\" or \"HLT\"");
		return NULL;
	}
	if (reason && !exit_reason_known(json_string_value(reason))) {
		reject_reason(json_string_value(reason), err);
		return NULL;
	}
	if (parse_topics(h, params, &topics, err) < 0)
		return NULL;
	if (server_client_subscriptions(c) >= EVENTS_MAX_SUBSCRIPTIONS_PER_CLIENT) {
		rpc_error_set(err, RPC_UNAVAILABLE,
			      "too many subscriptions on this connection (limit %d per connection); "
			      "unsubscribe one or filter less narrowly",
			      EVENTS_MAX_SUBSCRIPTIONS_PER_CLIENT);
		return NULL;
	}
	if (h->n_subs >= EVENTS_MAX_SUBSCRIPTIONS) {
		rpc_error_set(err, RPC_UNAVAILABLE,
			      "too many subscriptions (limit %d in total, for all connections)",
			      EVENTS_MAX_SUBSCRIPTIONS);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		rpc_error_set(err, RPC_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	s->id = h->next_id++;
	s->client = c;
	s->pid = (uint32_t)pid;
	s->vcpu = has_vcpu ? (int64_t)vcpu : -1;
	s->sample = sample;
	s->topics = topics;
	if (reason)
		snprintf(s->reason, sizeof(s->reason), "%s", json_string_value(reason));
	s->next = h->subs;
	h->subs = s;
	server_client_add_subscriptions(c, +1);
	h->n_subs++;
	update_stream_filters(h);
	notifications = topics_to_json(h, s, true);
	json_array_append_new(notifications, json_string("events.lost"));
	return json_pack("{s:I, s:o, s:o}", "subscription", (json_int_t)s->id, "topics",
			 topics_to_json(h, s, false), "notifications", notifications);
}

static json_t *method_unsubscribe(void *userdata, json_t *params, struct rpc_error *err)
{
	struct events_hub *h = manager_events(userdata);
	struct client *c = server_current_client();
	uint64_t id = 0;
	int has;

	has = rpc_param_uint(params, "subscription", UINT64_MAX >> 1, &id, err);
	if (has < 0)
		return NULL;
	if (!has || !id) {
		rpc_error_set(err, RPC_INVALID_PARAMS, "params.subscription is required");
		return NULL;
	}
	for (struct subscription *s = h ? h->subs : NULL; s; s = s->next) {
		if (s->id == id && s->client == c) {
			json_t *r = json_pack("{s:I, s:I, s:I}", "subscription", (json_int_t)id,
					      "delivered", (json_int_t)s->delivered, "lost",
					      (json_int_t)s->lost);

			remove_where(h, c, id);
			return r;
		}
	}
	rpc_error_set(err, RPC_NOT_FOUND, "no subscription %llu on this connection",
		      (unsigned long long)id);
	return NULL;
}

/* {"mode": "off"|"all_pids"|"pids", "pids": [...]}: what a topic's capability streams. */
static json_t *stream_filter_to_json(const struct stream_filter *f)
{
	static const char *const modes[] = { [STREAM_OFF] = "off", [STREAM_ALL_PIDS] = "all_pids",
					     [STREAM_PIDS] = "pids" };
	json_t *pids = json_array();

	for (size_t i = 0; i < f->n_pids; i++)
		json_array_append_new(pids, json_integer(f->pids[i]));
	return json_pack("{s:s, s:o}", "mode", modes[f->mode], "pids", pids);
}

static json_t *method_stats(void *userdata, json_t *params, struct rpc_error *err)
{
	struct events_hub *h = manager_events(userdata);
	json_t *subs = json_array(), *streams = json_object();

	for (size_t t = 0; h && t < h->n_topics; t++)
		json_object_set_new(streams, h->topics[t], stream_filter_to_json(&h->filters[t]));

	for (struct subscription *s = h ? h->subs : NULL; s; s = s->next)
		json_array_append_new(subs, json_pack("{s:I, s:o, s:I, s:I, s:I}", "subscription",
			(json_int_t)s->id, "topics", topics_to_json(h, s, false), "matched",
			(json_int_t)s->matched, "delivered", (json_int_t)s->delivered, "lost",
			(json_int_t)s->lost));
	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:o}", "subscriptions", subs, "delivered",
			 (json_int_t)(h ? h->delivered_total : 0), "lost_slow_clients",
			 (json_int_t)(h ? h->lost_total : 0), "lost_kernel_ring",
			 (json_int_t)(h ? h->kernel_lost : 0), "submitted_kernel_ring",
			 (json_int_t)(h ? h->kernel_submitted : 0), "streams", streams);
}

static const char *const subscribe_params[] = { "pid", "vcpu", "reason", "sample", "topics",
						 NULL };
static const char *const unsubscribe_params[] = { "subscription", NULL };

const struct rpc_method events_methods[] = {
	/* A subscription makes the kernel stream exits: root only. */
	{ .name = "events.subscribe", .handler = method_subscribe,
	  .params = subscribe_params, .access = RPC_WRITE },
	{ .name = "events.unsubscribe", .handler = method_unsubscribe,
	  .params = unsubscribe_params, .access = RPC_WRITE },
	{ .name = "events.stats", .handler = method_stats, .params = NULL, .access = RPC_READ },
	{}
};
