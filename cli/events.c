// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl events: subscribe (events.subscribe) and print the exits and
 * VM starts/exits the daemon streams (--topic: only some of those), one per line, until --count events
 * were printed or, with --follow, until interrupted.  Losses the daemon
 * reports (this client read too slowly) go to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvmscopectl.h"
#include "decode.h"
#include "strbuf.h"
#include "table.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

void events_usage(FILE *f)
{
	fprintf(f,
		"events options:\n"
		"  --pid PID         only this VM\n"
		"  --vcpu N          only this vCPU index\n"
		"  --reason NAME     only this exit reason (io, hlt, IO, MMIO, ...; any case;\n"
		"                    a name no ISA has is refused, with the list)\n"
		"  --sample N        1 of every N matching exits (default 1: all)\n"
		"  --topic NAME      only these events (repeatable): vm (VM start/exit),\n"
		"                    exit (KVM exits), launch (launch steps: CREATE_VM,\n"
		"                    SEV/TDX/PV commands, ARM_VCPU_INIT), ioctl (every KVM\n"
		"                    ioctl, only when named), livepatch (patches loaded and\n"
		"                    unloaded, transitions), textpoke (every change to kernel\n"
		"                    text, only when named); default: vm, exit, launch and\n"
		"                    livepatch, or vm and exit with --vcpu, --reason or --sample\n"
		"  --count N         stop after N events (default 20)\n"
		"  -f, --follow      print until interrupted (Ctrl-C)\n");
}

/*
 * The names the daemon's filter can match (it compares, in any case, with
 * hw_exit_name() or kvm_exit_name() of each exit): every entry of these
 * decode tables, arm64 traps as "TRAP/<class>", failed VMX entries as
 * "FAILED_VMENTRY|<reason>", and the number an unknown code is shown as.
 */
static const struct {
	const char *table;	/* decode_table()'s name */
	const char *title;
	const char *prefix;	/* how the name appears in an exit's reason */
} reason_tables[] = {
	{ "kvm", "exits to the VMM (KVM_EXIT_*)", "" },
	{ "vmx", "Intel VMX", "" },
	{ "svm", "AMD SVM", "" },
	{ "arm64_exception", "arm64", "" },
	{ "arm64_esr_ec", "arm64 traps", "TRAP/" },
	{ "s390", "s390", "" },
};

/*
 * The daemon's topics (manager_topic()), so that a typo is a usage error
 * before anything connects; the daemon refuses unknown names too.
 */
static const char *const known_topics[] = { "vm", "exit", "launch", "ioctl", "livepatch",
						"textpoke" };

static bool topic_known(const char *name)
{
	for (size_t i = 0; i < sizeof(known_topics) / sizeof(known_topics[0]); i++)
		if (!strcmp(known_topics[i], name))
			return true;
	return false;
}

static int unknown_topic(const char *name)
{
	struct strbuf known;
	int r;

	strbuf_init(&known, 0);
	for (size_t i = 0; i < sizeof(known_topics) / sizeof(known_topics[0]); i++)
		strbuf_printf(&known, "%s%s", i ? ", " : "", known_topics[i]);
	r = cli_usage_error("events: --topic: no topic is called '%s'; known: %s", name,
			    known.data ? known.data : "");
	strbuf_free(&known);
	return r;
}

static bool is_code_number(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	if (!strncasecmp(s, "0x", 2) && s[2])
		return strspn(s + 2, "0123456789abcdefABCDEF") == strlen(s + 2);
	return digits && !s[digits];
}

static bool reason_in_table(const char *table, const char *name)
{
	size_t n;
	const struct reason_name *t = decode_table(table, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(t[i].name, name))
			return true;
	return false;
}

static bool reason_known(const char *name)
{
	if (is_code_number(name))
		return true;
	if (!strncasecmp(name, "FAILED_VMENTRY|", strlen("FAILED_VMENTRY|")))
		name += strlen("FAILED_VMENTRY|");
	for (size_t i = 0; i < sizeof(reason_tables) / sizeof(reason_tables[0]); i++) {
		size_t plen = strlen(reason_tables[i].prefix);

		if (!strncasecmp(name, reason_tables[i].prefix, plen) &&
		    reason_in_table(reason_tables[i].table, name + plen))
			return true;
	}
	return false;
}

/* A usage error naming every reason --reason takes, table by table. */
static int unknown_reason(const char *name)
{
	struct strbuf known;
	int r;

	strbuf_init(&known, 0);
	for (size_t i = 0; i < sizeof(reason_tables) / sizeof(reason_tables[0]); i++) {
		size_t n;
		const struct reason_name *t = decode_table(reason_tables[i].table, &n);

		strbuf_printf(&known, "\n  %s:", reason_tables[i].title);
		for (size_t j = 0; j < n; j++)
			strbuf_printf(&known, "%s %s%s", j ? "," : "", reason_tables[i].prefix,
				      t[j].name);
	}
	r = cli_usage_error("events: --reason: no exit reason is called '%s'; known (any case):%s\n"
			    "  and FAILED_VMENTRY|<VMX reason>, or an unknown code's number (35, 0x1ff)",
			    name, known.data ? known.data : "");
	strbuf_free(&known);
	return r;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* One event per line; every string from the daemon escaped (a VM's name is the guest owner's). */
static void print_event(json_t *n)
{
	const char *method = json_string_value(json_object_get(n, "method"));
	json_t *p = json_object_get(n, "params");

	if (!strcmp(method, "events.exit")) {
		json_t *vcpu = json_object_get(p, "vcpu");
		uint64_t ts = json_integer_value(json_object_get(p, "ts_ns"));
		json_t *isa = json_object_get(p, "isa");
		char vbuf[16], kind[32], isabuf[32], reason[2 * TEXT_CELL_MAX];

		if (json_is_integer(vcpu))
			snprintf(vbuf, sizeof(vbuf), "%lld", (long long)json_integer_value(vcpu));
		else
			snprintf(vbuf, sizeof(vbuf), "?");
		printf("%llu.%06llu  pid %-7lld vcpu %-3s %-9s %s%s%s\n",
		       (unsigned long long)(ts / 1000000000), (unsigned long long)(ts % 1000000000) / 1000,
		       (long long)json_integer_value(json_object_get(p, "pid")), vbuf,
		       obj_text(p, "kind", kind, sizeof(kind)),
		       json_is_string(isa) ? obj_text(p, "isa", isabuf, sizeof(isabuf)) : "",
		       json_is_string(isa) ? " " : "", obj_text(p, "reason", reason, sizeof(reason)));
	} else if (!strcmp(method, "events.vm")) {
		json_t *vm = json_object_get(p, "vm");
		bool named = json_is_string(json_object_get(vm, "name"));
		char event[32], comm[TEXT_CELL_MAX], name[TEXT_CELL_MAX];

		printf("VM %s  pid %lld  %s%s%s\n", obj_text(p, "event", event, sizeof(event)),
		       (long long)json_integer_value(json_object_get(vm, "pid")),
		       obj_text(vm, "comm", comm, sizeof(comm)), named ? "  name " : "",
		       named ? obj_text(vm, "name", name, sizeof(name)) : "");
	} else if (!strcmp(method, "events.ioctl")) {
		uint64_t ts = json_integer_value(json_object_get(p, "ts_ns"));
		char ioctl[TEXT_CELL_MAX], cmd[TEXT_CELL_MAX], result[64], fd[32], vbuf[16];
		json_t *vcpu = json_object_get(p, "vcpu");
		bool has_cmd = json_is_string(json_object_get(p, "cmd"));

		if (json_is_integer(vcpu))
			snprintf(vbuf, sizeof(vbuf), "%lld", (long long)json_integer_value(vcpu));
		else
			snprintf(vbuf, sizeof(vbuf), "-");
		printf("%llu.%06llu  pid %-7lld %-6s vcpu %-3s %s%s%s  %s  %lld ns\n",
		       (unsigned long long)(ts / 1000000000), (unsigned long long)(ts % 1000000000) / 1000,
		       (long long)json_integer_value(json_object_get(p, "pid")),
		       obj_text(p, "fd", fd, sizeof(fd)), vbuf, obj_text(p, "ioctl", ioctl, sizeof(ioctl)),
		       has_cmd ? " " : "", has_cmd ? obj_text(p, "cmd", cmd, sizeof(cmd)) : "",
		       obj_text(p, "result", result, sizeof(result)),
		       (long long)json_integer_value(json_object_get(p, "duration_ns")));
	} else if (!strcmp(method, "events.launch")) {
		char step[TEXT_CELL_MAX], result[64], prot[64], state[64];

		printf("launch pid %lld  %s  %s  (%s, %s)  %lld ns\n",
		       (long long)json_integer_value(json_object_get(p, "pid")),
		       obj_text(p, "step", step, sizeof(step)), obj_text(p, "result", result, sizeof(result)),
		       obj_text(p, "protection", prot, sizeof(prot)), obj_text(p, "state", state, sizeof(state)),
		       (long long)json_integer_value(json_object_get(p, "duration_ns")));
	} else if (!strcmp(method, "events.textpoke")) {
		char addr[32], fn[TEXT_CELL_MAX], kind[16], patch[TEXT_CELL_MAX];
		bool in_tr = json_is_string(json_object_get(p, "transition"));

		printf("textpoke %s  %s+0x%llx  %s  %lld->%lld bytes%s%s\n",
		       obj_text(p, "addr", addr, sizeof(addr)), obj_text(p, "function", fn, sizeof(fn)),
		       (unsigned long long)json_integer_value(json_object_get(p, "offset")),
		       obj_text(p, "kind", kind, sizeof(kind)),
		       (long long)json_integer_value(json_object_get(p, "old_len")),
		       (long long)json_integer_value(json_object_get(p, "new_len")),
		       in_tr ? "  during the transition of " : "",
		       in_tr ? obj_text(p, "transition", patch, sizeof(patch)) : "");
	} else if (!strcmp(method, "events.livepatch")) {
		char event[64], patch[TEXT_CELL_MAX], target[32], result[32];
		json_t *d = json_object_get(p, "duration_ns");

		printf("livepatch %s  %s", obj_text(p, "event", event, sizeof(event)),
		       obj_text(p, "patch", patch, sizeof(patch)));
		if (json_is_string(json_object_get(p, "target")))
			printf("  %s", obj_text(p, "target", target, sizeof(target)));
		if (json_is_string(json_object_get(p, "result")))
			printf("  %s", obj_text(p, "result", result, sizeof(result)));
		if (json_is_integer(d) && json_is_string(json_object_get(p, "result")))
			printf("  %.3f s", json_integer_value(d) / 1e9);
		putchar('\n');
	}
}

/* Handle one notification from the daemon; returns 1 when it was a printed event. */
static int handle_line(struct cli *c, const char *line, int *rc)
{
	json_error_t jerr;
	json_t *n = json_loads(line, 0, &jerr);
	const char *method;
	int printed = 0;

	if (!n) {
		fprintf(stderr, "kvmscopectl: kvmscoped at %s sent a line that is not JSON: %s\n",
			c->socket_path, jerr.text);
		*rc = EXIT_DAEMON_ERROR;
		return -1;
	}
	method = json_string_value(json_object_get(n, "method"));
	if (method && !strcmp(method, "events.lost")) {
		fprintf(stderr, "kvmscopectl: lost %lld events (this terminal read too slowly; %lld in all)\n",
			(long long)json_integer_value(json_object_get(json_object_get(n, "params"), "lost")),
			(long long)json_integer_value(json_object_get(json_object_get(n, "params"),
								       "lost_total")));
	} else if (method) {
		/* Re-encoded rather than copied: see cli_print_json(). */
		if (c->json)
			cli_print_json(n, JSON_COMPACT);
		else
			print_event(n);
		fflush(stdout);
		printed = 1;
	}
	json_decref(n);
	return printed;
}

/*
 * The command line into @params (the subscription), *count and *follow.
 * Returns EXIT_OK or, having said why, EXIT_USAGE.
 */
static int events_args(struct cli *c, json_t *params, uint64_t *count, bool *follow)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "vcpu", required_argument, NULL, 'v' },
		{ "reason", required_argument, NULL, 'r' },
		{ "sample", required_argument, NULL, 's' },
		{ "topic", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{}
	};
	uint64_t v;
	json_t *topics = NULL;
	char *argv[64];
	int opt, argc = c->argc + 1;

	/* getopt wants the verb in argv[0]. */
	if (argc >= 63)
		return cli_usage_error("events: too many arguments");
	argv[0] = "events";
	argv[argc] = NULL;
	for (int i = 0; i < c->argc; i++)
		argv[i + 1] = c->argv[i];
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_u64(optarg, UINT32_MAX, &v) < 0)
				return cli_usage_error("events: --pid '%s' is not a process id", optarg);
			json_object_set_new(params, "pid", json_integer((json_int_t)v));
			break;
		case 'v':
			if (parse_u64(optarg, UINT32_MAX - 1, &v) < 0)
				return cli_usage_error("events: --vcpu '%s' is not a vCPU index", optarg);
			json_object_set_new(params, "vcpu", json_integer((json_int_t)v));
			break;
		case 'r':
			if (!optarg[0])
				return cli_usage_error("events: --reason needs a name");
			if (!reason_known(optarg))
				return unknown_reason(optarg);
			json_object_set_new(params, "reason", json_string(optarg));
			break;
		case 's':
			if (parse_u64(optarg, 1000000, &v) < 0 || !v)
				return cli_usage_error("events: --sample '%s' must be from 1 to 1000000", optarg);
			json_object_set_new(params, "sample", json_integer((json_int_t)v));
			break;
		case 't':
			if (!topic_known(optarg))
				return unknown_topic(optarg);
			if (!topics) {
				topics = json_array();
				json_object_set_new(params, "topics", topics);
			}
			json_array_append_new(topics, json_string(optarg));
			break;
		case 'n':
			if (parse_u64(optarg, UINT64_MAX >> 1, count) < 0 || !*count)
				return cli_usage_error("events: --count '%s' must be a positive number", optarg);
			break;
		case 'f':
			*follow = true;
			break;
		case ':':
			return cli_usage_error("events: option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("events: unknown option '%s'", argv[optind - 1]);
		}
	}
	/* --vcpu, --reason and --sample select exits: then VM starts and exits beside them, no more. */
	if (!topics && (json_object_get(params, "vcpu") || json_object_get(params, "reason") ||
			json_object_get(params, "sample"))) {
		topics = json_pack("[s, s]", "vm", "exit");
		json_object_set_new(params, "topics", topics);
	}
	if (optind < argc)
		return cli_usage_error("events: unexpected argument '%s'", argv[optind]);
	return EXIT_OK;
}

int verb_events(struct cli *c)
{
	uint64_t count = 20, printed = 0;
	json_t *params = json_object(), *subscription;
	bool follow = false;
	int rc;

	if (!params)
		return cli_usage_error("events: out of memory");
	rc = events_args(c, params, &count, &follow);
	if (rc != EXIT_OK) {
		json_decref(params);
		return rc;
	}
	rc = cli_call(c, "events.subscribe", params, &subscription);
	if (rc != EXIT_OK)
		return rc;
	json_decref(subscription);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* Events come when they come: wait without a limit, but wake to see ^C. */
	while (!interrupted && (follow || printed < count)) {
		char *line;
		int r = rpc_client_read_line(&c->rpc, &line, 500);

		if (r == -ETIMEDOUT || r == -EINTR)
			continue;
		if (r < 0) {
			rc = rpc_client_report(&c->rpc, EXIT_UNREACHABLE);
			break;
		}
		r = handle_line(c, line, &rc);
		free(line);
		if (r < 0)
			break;
		printed += (uint64_t)r;
	}
	return rc;
}
