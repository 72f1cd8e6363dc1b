// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl events: subscribe (events.subscribe) and print the exits and
 * VM starts/exits the daemon streams, one per line, until --count events
 * were printed or, with --follow, until interrupted.  Losses the daemon
 * reports (this client read too slowly) go to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kvmscopectl.h"
#include "strbuf.h"

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
		"  --reason NAME     only this exit reason (io, hlt, IO, MMIO, ...; any case)\n"
		"  --sample N        1 of every N matching exits (default 1: all)\n"
		"  --count N         stop after N events (default 20)\n"
		"  -f, --follow      print until interrupted (Ctrl-C)\n");
}

static int usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmscopectl events: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	events_usage(stderr);
	return EXIT_USAGE;
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

static void print_event(json_t *n)
{
	const char *method = json_string_value(json_object_get(n, "method"));
	json_t *p = json_object_get(n, "params");

	if (!strcmp(method, "events.exit")) {
		json_t *vcpu = json_object_get(p, "vcpu");
		uint64_t ts = json_integer_value(json_object_get(p, "ts_ns"));
		const char *isa = json_string_value(json_object_get(p, "isa"));
		char vbuf[16];

		if (json_is_integer(vcpu))
			snprintf(vbuf, sizeof(vbuf), "%lld", (long long)json_integer_value(vcpu));
		else
			snprintf(vbuf, sizeof(vbuf), "?");
		printf("%llu.%06llu  pid %-7lld vcpu %-3s %-9s %s%s%s\n",
		       (unsigned long long)(ts / 1000000000), (unsigned long long)(ts % 1000000000) / 1000,
		       (long long)json_integer_value(json_object_get(p, "pid")), vbuf,
		       json_string_value(json_object_get(p, "kind")), isa ? isa : "", isa ? " " : "",
		       json_string_value(json_object_get(p, "reason")));
	} else if (!strcmp(method, "events.vm")) {
		json_t *vm = json_object_get(p, "vm");
		const char *name = json_string_value(json_object_get(vm, "name"));

		printf("VM %s  pid %lld  %s%s%s\n", json_string_value(json_object_get(p, "event")),
		       (long long)json_integer_value(json_object_get(vm, "pid")),
		       json_string_value(json_object_get(vm, "comm")), name ? "  name " : "",
		       name ? name : "");
	}
}

/* Handle one line from the daemon; returns 1 when it was a printed event. */
static int handle_line(struct cli *c, const char *line, bool *subscribed, int *rc)
{
	json_error_t jerr;
	json_t *n = json_loads(line, 0, &jerr);
	const char *method;
	int printed = 0;

	if (!n) {
		fprintf(stderr, "kvmscopectl: kvmscoped sent a line that is not JSON: %s\n", jerr.text);
		*rc = EXIT_DAEMON_ERROR;
		return -1;
	}
	method = json_string_value(json_object_get(n, "method"));
	if (!*subscribed) {
		json_t *err = json_object_get(n, "error");

		if (err) {
			fprintf(stderr, "kvmscopectl: events.subscribe: %s\n",
				json_string_value(json_object_get(err, "message")));
			*rc = EXIT_DAEMON_ERROR;
			json_decref(n);
			return -1;
		}
		*subscribed = true;
	} else if (method && !strcmp(method, "events.lost")) {
		fprintf(stderr, "kvmscopectl: lost %lld events (this terminal read too slowly; %lld in all)\n",
			(long long)json_integer_value(json_object_get(json_object_get(n, "params"), "lost")),
			(long long)json_integer_value(json_object_get(json_object_get(n, "params"),
								       "lost_total")));
	} else if (method) {
		if (c->json)
			printf("%s\n", line);
		else
			print_event(n);
		fflush(stdout);
		printed = 1;
	}
	json_decref(n);
	return printed;
}

int verb_events(struct cli *c)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "vcpu", required_argument, NULL, 'v' },
		{ "reason", required_argument, NULL, 'r' },
		{ "sample", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{}
	};
	uint64_t v, count = 20, printed = 0;
	json_t *params = json_object();
	struct strbuf in;
	bool follow = false, subscribed = false;
	char *req, *argv[64];
	int opt, fd, rc = EXIT_OK, argc = c->argc + 1;

	/* getopt wants the verb in argv[0]. */
	if (argc >= 63)
		return usage_fail("too many arguments");
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
				return usage_fail("--pid '%s' is not a process id", optarg);
			json_object_set_new(params, "pid", json_integer((json_int_t)v));
			break;
		case 'v':
			if (parse_u64(optarg, UINT32_MAX - 1, &v) < 0)
				return usage_fail("--vcpu '%s' is not a vCPU index", optarg);
			json_object_set_new(params, "vcpu", json_integer((json_int_t)v));
			break;
		case 'r':
			if (!optarg[0])
				return usage_fail("--reason needs a name");
			json_object_set_new(params, "reason", json_string(optarg));
			break;
		case 's':
			if (parse_u64(optarg, 1000000, &v) < 0 || !v)
				return usage_fail("--sample '%s' must be from 1 to 1000000", optarg);
			json_object_set_new(params, "sample", json_integer((json_int_t)v));
			break;
		case 'n':
			if (parse_u64(optarg, UINT64_MAX >> 1, &count) < 0 || !count)
				return usage_fail("--count '%s' must be a positive number", optarg);
			break;
		case 'f':
			follow = true;
			break;
		case ':':
			return usage_fail("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_fail("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_fail("unexpected argument '%s'", argv[optind]);

	rc = cli_connect(c, &fd);
	if (rc != EXIT_OK) {
		json_decref(params);
		return rc;
	}
	{
		json_t *r = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method",
				      "events.subscribe", "params", params);

		req = json_dumps(r, JSON_COMPACT);
		json_decref(r);
	}
	if (!req || send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "kvmscopectl: cannot send to kvmscoped at %s: %s\n", c->socket_path,
			strerror(errno));
		free(req);
		close(fd);
		return EXIT_UNREACHABLE;
	}
	free(req);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	strbuf_init(&in, 0);
	while (!interrupted && (follow || printed < count)) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[65536], *nl;
		ssize_t n;

		if (poll(&p, 1, 500) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			fprintf(stderr, "kvmscopectl: kvmscoped at %s closed the connection\n",
				c->socket_path);
			rc = EXIT_UNREACHABLE;
			break;
		}
		strbuf_append(&in, buf, (size_t)n);
		while (rc == EXIT_OK && (nl = memchr(in.data, '\n', in.len)) &&
		       (follow || printed < count)) {
			int r;

			*nl = '\0';
			r = handle_line(c, in.data, &subscribed, &rc);
			if (r > 0)
				printed++;
			strbuf_consume(&in, (size_t)(nl + 1 - in.data));
			if (r < 0)
				break;
		}
		if (rc != EXIT_OK)
			break;
	}
	strbuf_free(&in);
	close(fd);
	return rc;
}
