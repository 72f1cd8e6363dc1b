// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl: ask kvmscoped over its JSON-RPC socket and print tables or
 * JSON.  Exit codes: 0 ok, 1 error reported by the daemon, 2 usage error,
 * 3 daemon unreachable.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "kvmscopectl.h"
#include "options.h"
#include "strbuf.h"
#include "table.h"
#include "top.h"

struct verb {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct cli *c);
	bool own_options;	/* parses what follows it on the command line itself */
};

static const struct verb verbs[];

static void usage(FILE *f)
{
	fprintf(f, "Usage: kvmscopectl [--socket PATH] [--timeout SECS] [--json] VERB [ARGS]\n\nVerbs:\n");
	for (const struct verb *v = verbs; v->name; v++)
		fprintf(f, "  %-8s %-22s %s\n", v->name, v->args, v->help);
	fprintf(f, "\nOptions:\n"
		   "  --socket PATH   daemon socket (default %s, or $KVMSCOPE_SOCKET)\n"
		   "  --timeout SECS  wait at most SECS seconds for each answer (default %g);\n"
		   "                  events then waits for events without a limit\n"
		   "  --json          print the daemon's answer as one JSON document\n"
		   "  -h, --help      show this help;  -V, --version: show the version\n"
		   "\nExits options:\n"
		   "  --pid PID       only the VM of process PID\n"
		   "  --vcpu N        only vCPU N\n"
		   "  --detail        also MMIO pages, MSRs, CPUID leaves, hypercalls and VMware\n"
		   "                  backdoor commands, the rest counted as \"other\"\n"
		   "  --hist REASON   histogram of the handling time (kvm_exit to the next kvm_entry)\n"
		   "                  of hardware exit REASON (io, IO_INSTRUCTION, hlt: any case),\n"
		   "                  merged over the selection; user:REASON (user:IO) draws the\n"
		   "                  time in the VMM of that userspace exit; it replaces the tables\n"
		   "  RATE/s is over the daemon's last second; P50/P99/MAX come from log2\n"
		   "  histograms, VMM-* is the time from the exit to the VMM to the next KVM_RUN.\n"
		   "  With --json the daemon's answer is printed as JSON, non-ASCII as \\uXXXX.\n",
		KVMSCOPE_DEFAULT_SOCKET, RPC_DEFAULT_TIMEOUT_SECONDS);
	fprintf(f, "\nPatch actions (load, enable, disable, unload, force: root only):\n"
		   "  list, info NAME, sites   patches; one patch with its transitions and the tasks\n"
		   "                           they wait on; the ftrace sites in use and their owners\n"
		   "  load FILE|NAME           load a livepatch module: FILE (a path, or a file here)\n"
		   "                           is opened by kvmscopectl and passed to the daemon;\n"
		   "                           NAME is a file in the daemon's patch directory\n"
		   "  load-all                 every *.ko of the patch directory, in name order\n"
		   "  enable NAME, disable NAME  (a transition in progress is reversed)\n"
		   "  unload NAME              unload a disabled patch's module\n"
		   "  force NAME --yes         end a transition now; voids the consistency guarantee\n"
		   "  wait NAME                follow NAME's transition until it ends\n"
		   "  --wait SECS              follow the transition at most SECS (default 15; 0: do\n"
		   "                           not wait); a load that finds the kernel busy with\n"
		   "                           another transition is retried for as long\n"
		   "  --reverse-on-stall       a transition still running at --wait is reversed\n");
	kmod_usage(f);
	top_usage(f);
	events_usage(f);
	fprintf(f, "\nExit status: 0 ok, 1 error reported by the daemon, 2 usage error, 3 daemon unreachable.\n");
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmscopectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'kvmscopectl --help'.\n");
	return EXIT_USAGE;
}

/* See kvmscopectl.h. */
int cli_call(struct cli *c, const char *method, json_t *params, json_t **result)
{
	int r = rpc_client_call(&c->rpc, method, params, result);

	return r ? rpc_client_report(&c->rpc, r) : EXIT_OK;
}

/*
 * JSON_ENSURE_ASCII: jansson escapes the C0 controls in strings but passes
 * C1 controls (U+009B is CSI to many terminals), bidi overrides and line
 * separators through as UTF-8; as \uXXXX they are still the same JSON
 * string to any parser, and inert on a terminal.
 */
void cli_print_json(json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(16));

	if (s)
		puts(s);
	free(s);
}

static void print_json(json_t *v)
{
	cli_print_json(v, JSON_INDENT(2));
}

/* See kvmscopectl.h. */
int call_for_table(struct cli *c, const char *method, json_t *params, json_t **result)
{
	int r = cli_call(c, method, params, result);

	if (!r && c->json) {
		print_json(*result);
		json_decref(*result);
		*result = NULL;
	}
	return r;
}

/* ---- verbs ---- */

/*
 * One line: the program types that attach, then those that do not with
 * the daemon's reason.  Known types in the daemon's order, any newer ones
 * after them.
 */
static void print_program_types(json_t *types)
{
	static const char *const order[] = { "tracepoint", "raw_tp", "tp_btf", "fentry", "kprobe" };
	const size_t n_order = sizeof(order) / sizeof(order[0]);
	const char *names[32];
	size_t n = 0, shown = 0, refused = 0;
	const char *key;
	json_t *v;

	if (!json_is_object(types)) {
		puts("program types  unknown");
		return;
	}
	for (size_t i = 0; i < n_order; i++)
		if (json_object_get(types, order[i]))
			names[n++] = order[i];
	json_object_foreach(types, key, v) {
		bool known = false;

		for (size_t i = 0; i < n_order; i++)
			known |= !strcmp(key, order[i]);
		if (!known && n < sizeof(names) / sizeof(names[0]))
			names[n++] = key;
	}
	fputs("program types ", stdout);
	for (size_t i = 0; i < n; i++)
		if (json_is_true(json_object_get(json_object_get(types, names[i]), "attached"))) {
			printf(" %s", names[i]);
			shown++;
		}
	if (!shown)
		fputs(" none", stdout);
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_object_get(types, names[i]);

		if (json_is_true(json_object_get(t, "attached")))
			continue;
		printf("%s%s: %s", refused++ ? "; " : " (no: ", names[i],
		       json_is_string(json_object_get(t, "error")) ? obj_str(t, "error") : "unknown reason");
	}
	puts(refused ? ")" : "");
}

/* One line: the BPF time per exit, or why it is unknown; --json has each program. */
static void print_bpf_cost(json_t *cost)
{
	json_t *enabled = json_object_get(cost, "bpf_stats_enabled");
	json_t *per_exit = json_object_get(cost, "ns_per_exit");

	if (json_is_true(enabled) && json_is_number(per_exit))
		printf("  BPF run time: %.1f ns per exit over %lld exits (--json: per program)\n",
		       json_number_value(per_exit),
		       json_integer_value(json_object_get(cost, "exits")));
	else if (json_is_true(enabled))
		puts("  BPF run time: no exit counted yet (--json: per program)");
	else if (json_is_false(enabled))
		puts("  BPF run time: unknown, kernel.bpf_stats_enabled is 0 "
		     "(`sysctl kernel.bpf_stats_enabled=1` measures it, at two clock reads per run "
		     "of every BPF program)");
	else
		printf("  BPF run time: %s\n", obj_str(cost, "how"));
}

static int verb_status(struct cli *c)
{
	json_t *res, *cap, *probe;
	size_t i, j;
	int r = call_for_table(c, "status", NULL, &res);

	if (!res)
		return r;
	printf("kvmscoped %s (pid %lld, up %.0f s)\n", obj_str(res, "version"),
	       json_integer_value(json_object_get(res, "pid")),
	       json_number_value(json_object_get(res, "uptime_seconds")));
	printf("kernel       %s\n", obj_str(res, "kernel"));
	printf("kvm backend  %s\n", obj_str(res, "kvm_backend"));
	printf("socket       %s\n", obj_str(res, "socket"));
	printf("metrics      %s\n", json_is_string(json_object_get(res, "metrics")) ?
				obj_str(res, "metrics") : "off");
	printf("VMs          %lld running, %lld exited\n",
	       json_integer_value(json_object_get(json_object_get(res, "vms"), "running")),
	       json_integer_value(json_object_get(json_object_get(res, "vms"), "exited")));
	print_program_types(json_object_get(res, "program_types"));
	json_array_foreach(json_object_get(res, "capabilities"), i, cap) {
		struct table t = { .ncols = 4 };

		printf("\ncapability %s: %s\n", obj_str(cap, "name"),
		       json_object_get(cap, "state") ? obj_str(cap, "state") : obj_str(cap, "error"));
		table_add(&t, (const char *[]){ "PROBE", "AVAILABLE", "ATTACHED", "REASON" });
		json_array_foreach(json_object_get(cap, "probes"), j, probe) {
			table_add(&t, (const char *[]){
				obj_str(probe, "name"),
				json_is_true(json_object_get(probe, "available")) ? "yes" : "no",
				json_is_true(json_object_get(probe, "attached")) ? "yes" : "no",
				json_is_string(json_object_get(probe, "reason")) ? obj_str(probe, "reason") : "" });
		}
		table_print(&t, "  ");
		if (json_object_get(cap, "vcpu_resolution"))
			printf("  vCPU resolution: %s\n",
			       obj_str(json_object_get(cap, "vcpu_resolution"), "how"));
		if (json_object_get(cap, "driver")) {
			json_t *d = json_object_get(cap, "driver");
			char *note = text_escape_dup(obj_str(d, "kmod"));

			/* The module's note quotes file paths and the kernel: escaped. */
			printf("  driver: %s; kvmscope.ko: %s\n", obj_str(d, "requested"),
			       note ? note : "?");
			free(note);
		}
		if (json_object_get(cap, "bpf_cost"))
			print_bpf_cost(json_object_get(cap, "bpf_cost"));
	}
	json_decref(res);
	return EXIT_OK;
}

/* A cgroup path longer than this is shown by its end in the table (in full with --json). */
#define VMS_CGROUP_WIDTH 40

/*
 * The last bytes of the cgroup path after "...": the scope at the end
 * tells VMs apart, the slices before it rarely do.  Cut at a character
 * boundary; table_add() escapes what is left.
 */
static const char *fmt_cgroup(json_t *vm, char *buf, size_t len)
{
	const char *path = json_string_value(json_object_get(vm, "cgroup"));
	size_t n = path ? strlen(path) : 0;

	if (!path)
		return "-";
	if (n <= VMS_CGROUP_WIDTH)
		return path;
	path += n - (VMS_CGROUP_WIDTH - 3);
	while ((*path & 0xc0) == 0x80)	/* inside a UTF-8 character */
		path++;
	snprintf(buf, len, "...%s", path);
	return buf;
}

/* "web-01 (id 3)", or "-" for a VM that libvirt did not start. */
static const char *fmt_libvirt(json_t *vm, char *buf, size_t len)
{
	json_t *lv = json_object_get(vm, "libvirt");
	json_t *id = json_object_get(lv, "id");

	if (!json_is_string(json_object_get(lv, "domain")))
		return "-";
	if (json_is_integer(id) && json_integer_value(id) >= 0)
		snprintf(buf, len, "%s (id %lld)", obj_str(lv, "domain"), json_integer_value(id));
	else
		snprintf(buf, len, "%s", obj_str(lv, "domain"));
	return buf;
}

static int verb_vms(struct cli *c)
{
	struct table t = { .ncols = 7, .right = { true } };
	json_t *res, *vm;
	char pid[24], libvirt[300], cgroup[VMS_CGROUP_WIDTH + 8];
	size_t i;
	int r = call_for_table(c, "vms.list", NULL, &res);

	if (!res)
		return r;
	if (json_array_size(json_object_get(res, "vms")) == 0) {
		puts("No KVM VMs seen.");
		json_decref(res);
		return EXIT_OK;
	}
	table_add(&t, (const char *[]){ "PID", "NAME", "UUID", "LIBVIRT", "CGROUP", "COMM", "STATE" });
	json_array_foreach(json_object_get(res, "vms"), i, vm)
		table_add(&t, (const char *[]){ fmt_int(json_object_get(vm, "pid"), pid, sizeof(pid)),
			json_is_string(json_object_get(vm, "name")) ? obj_str(vm, "name") : "-",
			obj_str(vm, "uuid"), fmt_libvirt(vm, libvirt, sizeof(libvirt)),
			fmt_cgroup(vm, cgroup, sizeof(cgroup)), obj_str(vm, "comm"),
			obj_str(vm, "state") });
	table_print(&t, "");
	json_decref(res);
	return EXIT_OK;
}

/*
 * The Prometheus text exactly as served when it goes to a pipe or a file
 * (promtool, a scraper's test); on a terminal each line escaped, since
 * label values hold guest names and the format lets controls through.
 */
static void print_metrics_text(const char *text)
{
	const char *line = text;

	if (!isatty(STDOUT_FILENO)) {
		fputs(text, stdout);
		return;
	}
	while (*line) {
		size_t n = strcspn(line, "\n");
		char *raw = strndup(line, n), *esc = raw ? text_escape_dup(raw) : NULL;

		if (esc)
			puts(esc);
		free(esc);
		free(raw);
		line += n + (line[n] == '\n');
	}
}

static int verb_metrics(struct cli *c)
{
	json_t *res;
	int r = cli_call(c, "metrics", NULL, &res);

	if (!r) {
		if (c->json)
			print_json(res);
		else
			print_metrics_text(obj_str(res, "text"));
	}
	json_decref(res);
	return r;
}

static int verb_call(struct cli *c)
{
	json_t *params = NULL, *res;
	json_error_t jerr;
	int r;

	if (c->argc < 1 || c->argc > 2)
		return cli_usage_error("%s", "call needs METHOD and optionally PARAMS as a JSON object");
	if (c->argc == 2) {
		params = json_loads(c->argv[1], 0, &jerr);
		if (!json_is_object(params)) {
			json_decref(params);
			return cli_usage_error("PARAMS must be a JSON object, got: %s", c->argv[1]);
		}
	}
	r = cli_call(c, c->argv[0], params, &res);
	if (!r)
		print_json(res);
	json_decref(res);
	return r;
}

static const struct verb verbs[] = {
	{ "status", "", "daemon, kernel and probe status", verb_status, false },
	{ "vms", "", "VMs seen, running and recently exited", verb_vms, false },
	{ "exits", "[EXITS-OPTIONS]", "exits per VM by reason: count, rate, handling time", verb_exits, false },
	{ "ioctls", "[--pid PID] [--vcpu N]", "KVM ioctls per VM: sub-command, result, count, time",
	  verb_ioctls, false },
	{ "launch", "--pid PID", "a VM's protection type, launch state and steps", verb_launch, false },
	{ "patch", "ACTION [NAME|FILE]", "livepatches, transitions, pending tasks, ftrace sites;\n"
	  "                                  load and manage them (see Patch actions)",
	  verb_patch, false },
	{ "kmod", "[status|canary ...]", "the helper module kvmscope.ko and its live-patch\n"
	  "                                  consistency canary (see Helper module)", verb_kmod, true },
	{ "events", "[EVENTS-OPTIONS]", "stream exits and VM starts/exits (--follow)", verb_events, true },
	{ "top", "[TOP-OPTIONS]", "live exit rates per VM; --once for plain text", verb_top, true },
	{ "metrics", "", "the Prometheus text the daemon serves", verb_metrics, false },
	{ "call", "METHOD [PARAMS-JSON]", "send any JSON-RPC method", verb_call, false },
	{}
};

static int parse_uint(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !*s || *end || s[0] == '-' || v > max)
		return cli_usage_error("%s: '%s' is not a number from 0 to %llu", opt, s,
				       (unsigned long long)max);
	*out = v;
	return EXIT_OK;
}

/* The first option given that only 'exits' takes, or NULL. */
static const char *exits_option(const struct cli *c)
{
	if (c->has_pid)
		return "--pid";
	if (c->has_vcpu)
		return "--vcpu";
	if (c->detail)
		return "--detail";
	return c->hist ? "--hist" : NULL;
}

/* Parses the command line into pos[] (room for argc entries) and runs the verb. */
static int cli_main(int argc, char **argv, char **pos)
{
	struct cli c = { .socket_path = getenv("KVMSCOPE_SOCKET"),
			 .timeout = RPC_DEFAULT_TIMEOUT_SECONDS };
	const struct verb *verb = NULL;
	int npos = 0, r;

	if (!c.socket_path || !*c.socket_path)
		c.socket_path = KVMSCOPE_DEFAULT_SOCKET;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const char *eq = strchr(a, '=');
		char name[32];

		if (a[0] != '-' || !a[1]) {
			pos[npos++] = argv[i];
			/* A verb with options of its own (top: -d, -n, -b) gets the rest of the line. */
			for (const struct verb *v = verbs; npos == 1 && v->name; v++)
				if (v->own_options && !strcmp(v->name, a))
					while (i + 1 < argc)
						pos[npos++] = argv[++i];
			continue;
		}
		if (!strcmp(a, "--")) {
			while (++i < argc)
				pos[npos++] = argv[i];
			break;
		}
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
			printf("kvmscopectl %s\n", KVMSCOPE_VERSION);
			return EXIT_OK;
		}
		if (!strcmp(name, "--json")) {
			c.json = true;
			continue;
		}
		if (!strcmp(name, "--detail")) {
			c.detail = true;
			continue;
		}
		if (!strcmp(name, "--reverse-on-stall")) {
			c.reverse_on_stall = true;
			continue;
		}
		if (!strcmp(name, "--yes")) {
			c.yes = true;
			continue;
		}
		if (strcmp(name, "--socket") && strcmp(name, "--pid") && strcmp(name, "--vcpu") &&
		    strcmp(name, "--hist") && strcmp(name, "--timeout") && strcmp(name, "--wait"))
			return cli_usage_error("unknown option '%s'", a);
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return cli_usage_error("option '%s' needs a value", name);
		}
		if (!strcmp(name, "--socket")) {
			if (!*val)
				return cli_usage_error("%s", "--socket needs a path");
			c.socket_path = val;
		} else if (!strcmp(name, "--timeout")) {
			char *end;

			errno = 0;
			c.timeout = strtod(val, &end);
			if (errno || end == val || *end || !isfinite(c.timeout) || c.timeout < 0.1 ||
			    c.timeout > 86400)
				return cli_usage_error("--timeout: '%s' is not a number of seconds from 0.1 to 86400",
						       val);
		} else if (!strcmp(name, "--wait")) {
			char *end;

			errno = 0;
			c.wait = strtod(val, &end);
			if (errno || end == val || *end || !isfinite(c.wait) || c.wait < 0 ||
			    c.wait > 86400)
				return cli_usage_error("--wait: '%s' is not a number of seconds from 0 to 86400",
						       val);
			c.has_wait = true;
		} else if (!strcmp(name, "--hist")) {
			if (!*val || val[0] == '-')
				return cli_usage_error("--hist needs a REASON (io, hlt, user:IO, ...), got '%s'",
						   val);
			c.hist = val;
		} else if (!strcmp(name, "--pid")) {
			if (parse_uint("--pid", val, UINT32_MAX, &c.pid))
				return EXIT_USAGE;
			c.has_pid = true;
		} else {
			if (parse_uint("--vcpu", val, UINT32_MAX - 1, &c.vcpu))
				return EXIT_USAGE;
			c.has_vcpu = true;
		}
	}
	if (!npos) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (const struct verb *v = verbs; v->name; v++)
		if (!strcmp(v->name, pos[0]))
			verb = v;
	if (!verb)
		return cli_usage_error("unknown verb '%s'", pos[0]);
	/* --pid also selects for ioctls and launch, --vcpu for ioctls. */
	if (strcmp(verb->name, "exits") && exits_option(&c) &&
	    !(!strcmp(verb->name, "ioctls") && !c.detail && !c.hist) &&
	    !(!strcmp(verb->name, "launch") && !c.detail && !c.hist && !c.has_vcpu))
		return cli_usage_error("%s goes with 'exits', not '%s'", exits_option(&c), verb->name);
	if (strcmp(verb->name, "patch") && (c.has_wait || c.reverse_on_stall || c.yes))
		return cli_usage_error("%s goes with 'patch', not '%s'",
				       c.has_wait ? "--wait" : c.reverse_on_stall ? "--reverse-on-stall" : "--yes",
				       verb->name);
	if (npos > 1 && strcmp(verb->name, "call") && strcmp(verb->name, "patch") && !verb->own_options)
		return cli_usage_error("unexpected argument '%s'", pos[1]);
	c.argc = npos - 1;
	c.argv = pos + 1;
	rpc_client_init(&c.rpc, c.socket_path, c.timeout);
	r = verb->run(&c);
	rpc_client_close(&c.rpc);
	return r;
}

int main(int argc, char **argv)
{
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int r;

	if (!pos) {
		fprintf(stderr, "kvmscopectl: out of memory\n");
		return EXIT_FAILURE;
	}
	r = cli_main(argc, argv, pos);
	free(pos);
	return r;
}
