// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl kmod: the helper module's state, and the live-patch
 * consistency canary (kmod canary --seconds N), followed to its end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmscopectl.h"

void kmod_usage(FILE *f)
{
	fprintf(f, "\nHelper module (kmod canary: root only):\n"
		   "  kmod [status]            whether kvmscope.ko loads here (and why not), its\n"
		   "                           version, taint and the last canary run\n"
		   "  kmod canary [--seconds N] [--cpus N]\n"
		   "                           rewrite a call site under running callers for N\n"
		   "                           seconds (default 10) and check that every call ran\n"
		   "                           the body the patch state promised; exits 1 on any\n"
		   "                           violation.  --cpus: CPUs taking part (default all)\n"
		   "  kmod canary --stop       end a run early\n");
}

static const char *s_or(json_t *o, const char *k, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : dflt;
}

static long long i_of(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void print_canary(json_t *cn)
{
	json_t *calls = json_object_get(cn, "calls"), *settled = json_object_get(cn, "settled_calls");
	json_t *viol = json_object_get(cn, "violations"), *kept = json_object_get(cn, "kept_violations");
	const char *k;
	json_t *v;
	size_t i;

	printf("canary run %lld: %s, %.1f of %lld s on %lld CPUs (updater on CPU %lld)%s%s\n",
	       i_of(cn, "run"), s_or(cn, "state", "?"),
	       json_real_value(json_object_get(cn, "elapsed_seconds")), i_of(cn, "seconds"),
	       i_of(cn, "cpus"), i_of(cn, "updater_cpu"),
	       json_is_string(json_object_get(cn, "during_transition")) ? ", during the transition of livepatch " : "",
	       s_or(cn, "during_transition", ""));
	printf("  calls       %lld: %lld original, %lld replacement, %lld neither\n",
	       i_of(cn, "calls_total"), i_of(calls, "original"), i_of(calls, "replacement"),
	       i_of(calls, "neither"));
	printf("  judged      %lld wholly while patched, %lld wholly while unpatched\n",
	       i_of(settled, "on"), i_of(settled, "off"));
	printf("  updates     %lld call-site rewrites in %lld patch/unpatch cycles; the second tracer saw %lld calls\n",
	       i_of(cn, "updates"), i_of(cn, "generations"), i_of(cn, "tracer_calls"));
	printf("  violations  %lld", i_of(cn, "violations_total"));
	json_object_foreach(viol, k, v)
		if (json_integer_value(v))
			printf(", %s %lld", k, (long long)json_integer_value(v));
	printf("\n");
	json_array_foreach(kept, i, v)
		printf("    %s in generation %lld on CPU %lld\n", s_or(v, "verdict", "?"),
		       i_of(v, "generation"), i_of(v, "cpu"));
	if (json_is_string(json_object_get(cn, "error")))
		printf("  error       %s\n", s_or(cn, "error", ""));
}

static int kmod_status(struct cli *c)
{
	json_t *res;
	int r = call_for_table(c, "kmod.status", NULL, &res);

	if (r || !res)
		return r;
	printf("kvmscope.ko  %s\n",
	       json_is_true(json_object_get(res, "loaded"))
		       ? "loaded"
		       : json_is_true(json_object_get(res, "loadable")) ? "loadable, not loaded"
								       : "cannot be loaded here");
	if (json_is_string(json_object_get(res, "why")))
		printf("  why         %s\n", s_or(res, "why", ""));
	printf("  mode        --kmod %s\n", s_or(res, "mode", "?"));
	if (json_is_string(json_object_get(res, "path")))
		printf("  file        %s\n", s_or(res, "path", ""));
	if (json_is_true(json_object_get(res, "loaded")))
		printf("  version     %s (API %lld, schema %s), taint '%s'%s\n", s_or(res, "version", "?"),
		       i_of(res, "api"), s_or(res, "schema", "?"), s_or(res, "taint", ""),
		       json_is_true(json_object_get(res, "loaded_by_kvmscoped")) ? ", loaded by kvmscoped" : "");
	if (json_is_string(json_object_get(res, "error")))
		printf("  last error  %s\n", s_or(res, "error", ""));
	if (json_is_object(json_object_get(res, "canary")))
		print_canary(json_object_get(res, "canary"));
	json_decref(res);
	return EXIT_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int kmod_canary(struct cli *c, uint64_t seconds, uint64_t cpus, bool has_cpus)
{
	json_t *res = NULL, *params = json_pack("{s:I}", "seconds", (json_int_t)seconds), *cn;
	long long run;
	double deadline;
	int r;

	if (has_cpus)
		json_object_set_new(params, "cpus", json_integer((json_int_t)cpus));
	r = cli_call(c, "kmod.canary", params, &res);
	if (r)
		return r;
	run = i_of(res, "run");
	json_decref(res);
	if (!c->json)
		printf("canary run %lld started for %llu s...\n", run, (unsigned long long)seconds);
	fflush(stdout);
	deadline = now_s() + (double)seconds + 60;
	for (;;) {
		sleep(1);
		r = cli_call(c, "kmod.status", NULL, &res);
		if (r)
			return r;
		cn = json_object_get(res, "canary");
		if (!json_is_object(cn) || i_of(cn, "run") != run) {
			fprintf(stderr, "kvmscopectl: canary run %lld is gone from the daemon's status\n", run);
			json_decref(res);
			return EXIT_DAEMON_ERROR;
		}
		if (strcmp(s_or(cn, "state", ""), "running"))
			break;
		if (now_s() > deadline) {
			fprintf(stderr, "kvmscopectl: canary run %lld still running %llu s past its end\n",
				run, (unsigned long long)60);
			json_decref(res);
			return EXIT_DAEMON_ERROR;
		}
		json_decref(res);
	}
	if (c->json)
		cli_print_json(cn, JSON_INDENT(2));
	else
		print_canary(cn);
	r = strcmp(s_or(cn, "state", ""), "done") || i_of(cn, "violations_total") ? EXIT_DAEMON_ERROR
										 : EXIT_OK;
	json_decref(res);
	return r;
}

static int parse_num(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s ? s : "", &end, 10);
	if (!s || errno || !*s || *end || s[0] == '-' || v < min || v > max)
		return cli_usage_error("%s: '%s' is not a number from %llu to %llu", opt, s ? s : "",
				       (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return EXIT_OK;
}

int verb_kmod(struct cli *c)
{
	uint64_t seconds = 10, cpus = 0;
	bool has_cpus = false, stop = false;
	int i = 1;

	if (c->argc == 0 || !strcmp(c->argv[0], "status")) {
		for (i = c->argc ? 1 : 0; i < c->argc; i++) {
			if (strcmp(c->argv[i], "--json"))
				return cli_usage_error("kmod status takes no argument '%s'", c->argv[i]);
			c->json = true;
		}
		return kmod_status(c);
	}
	if (strcmp(c->argv[0], "canary"))
		return cli_usage_error("unknown kmod action '%s' (status, canary)", c->argv[0]);
	for (; i < c->argc; i++) {
		const char *a = c->argv[i], *eq = strchr(a, '=');
		const char *val = eq ? eq + 1 : (i + 1 < c->argc ? c->argv[i + 1] : NULL);
		size_t n = eq ? (size_t)(eq - a) : strlen(a);

		if (!strcmp(a, "--json")) {
			c->json = true;
		} else if (!strcmp(a, "--stop")) {
			stop = true;
		} else if (n == 9 && !strncmp(a, "--seconds", n)) {
			if (parse_num("--seconds", val, 1, 3600, &seconds))
				return EXIT_USAGE;
			i += !eq;
		} else if (n == 6 && !strncmp(a, "--cpus", n)) {
			if (parse_num("--cpus", val, 2, 4096, &cpus))
				return EXIT_USAGE;
			has_cpus = true;
			i += !eq;
		} else {
			return cli_usage_error("kmod canary: unknown argument '%s' (--seconds N, --cpus N, --stop, --json)",
					       a);
		}
	}
	if (stop) {
		json_t *res;
		int r = cli_call(c, "kmod.canary_stop", NULL, &res);

		if (!r) {
			if (c->json)
				cli_print_json(res, JSON_INDENT(2));
			else if (json_is_object(res))
				print_canary(res);
			else
				printf("no canary run since the module was loaded\n");
		}
		json_decref(res);
		return r;
	}
	return kmod_canary(c, seconds, cpus, has_cpus);
}
