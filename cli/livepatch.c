// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl patch list | info NAME | sites: the kernel's livepatches,
 * one patch with its functions, transitions and the tasks a transition
 * waits on, and the ftrace sites in use with their owners.
 *
 * kvmscopectl patch load | enable | disable | unload | force | wait: the
 * daemon acts (root only, audited), and the CLI follows the transition
 * over livepatch.get, as kpatch waits for its own, so that the daemon
 * never blocks on one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmscopectl.h"
#include "table.h"

static const char *yes_no(json_t *v)
{
	return !json_is_integer(v) ? "-" : json_integer_value(v) ? "yes" : "no";
}

static int patch_list(struct cli *c)
{
	struct table t = { .ncols = 6 };
	json_t *res, *p;
	size_t i;
	int r = call_for_table(c, "livepatch.list", NULL, &res);

	if (r || !res)
		return r;
	if (!json_array_size(json_object_get(res, "patches"))) {
		puts("No livepatches loaded.");
		json_decref(res);
		return EXIT_OK;
	}
	table_add(&t, (const char *[]){ "PATCH", "ENABLED", "TRANSITION", "REPLACE", "OBJECTS",
					"TAINT" });
	json_array_foreach(json_object_get(res, "patches"), i, p) {
		char name[TEXT_CELL_MAX], objs[256] = "", taint[TEXT_CELL_MAX];
		json_t *o;
		size_t k;

		json_array_foreach(json_object_get(p, "objects"), k, o)
			snprintf(objs + strlen(objs), sizeof(objs) - strlen(objs), "%s%s", k ? "," : "",
				 obj_str(o, "name"));
		table_add(&t, (const char *[]){ obj_text(p, "name", name, sizeof(name)),
			yes_no(json_object_get(p, "enabled")), yes_no(json_object_get(p, "transition")),
			yes_no(json_object_get(p, "replace")), objs,
			obj_text(p, "taint", taint, sizeof(taint)) });
	}
	table_print(&t, "");
	json_decref(res);
	return EXIT_OK;
}

static int patch_info(struct cli *c, const char *name)
{
	json_t *res, *v, *o;
	size_t i, k;
	int r = call_for_table(c, "livepatch.get", json_pack("{s:s}", "name", name), &res);
	char text[TEXT_CELL_MAX];

	if (r || !res)
		return r;
	printf("Patch %s: enabled %s, in transition %s, replace %s\n",
	       obj_text(res, "name", text, sizeof(text)), yes_no(json_object_get(res, "enabled")),
	       yes_no(json_object_get(res, "transition")), yes_no(json_object_get(res, "replace")));
	json_array_foreach(json_object_get(res, "objects"), i, o) {
		printf("  object %s (patched %s):", obj_text(o, "name", text, sizeof(text)),
		       yes_no(json_object_get(o, "patched")));
		json_array_foreach(json_object_get(o, "functions"), k, v)
			printf(" %s", obj_text(v, "name", text, sizeof(text)));
		putchar('\n');
	}
	if (json_array_size(json_object_get(res, "transitions"))) {
		struct table t = { .ncols = 4, .right = { [2] = true } };
		char dur[32], pend[24];

		puts("Transitions:");
		table_add(&t, (const char *[]){ "TARGET", "RESULT", "SECONDS", "PENDING_MAX" });
		json_array_foreach(json_object_get(res, "transitions"), i, v) {
			json_t *d = json_object_get(v, "duration_ns");

			if (json_is_integer(d))
				snprintf(dur, sizeof(dur), "%.3f", json_integer_value(d) / 1e9);
			else
				snprintf(dur, sizeof(dur), "-");
			table_add(&t, (const char *[]){ obj_str(v, "target"),
				json_is_string(json_object_get(v, "result")) ? obj_str(v, "result") :
									     "in progress",
				dur, fmt_int(json_object_get(v, "pending_tasks_max"), pend, sizeof(pend)) });
		}
		table_print(&t, "  ");
	}
	if (json_array_size(json_object_get(res, "pending_tasks"))) {
		struct table t = { .ncols = 5 };
		char pid[24], tid[24], comm[TEXT_CELL_MAX], vm[TEXT_CELL_MAX], blk[TEXT_CELL_MAX];

		printf("Pending tasks (%" JSON_INTEGER_FORMAT "):\n",
		       json_integer_value(json_object_get(res, "pending_tasks_total")));
		table_add(&t, (const char *[]){ "PID", "TID", "COMM", "VM", "BLOCKING" });
		json_array_foreach(json_object_get(res, "pending_tasks"), i, v)
			table_add(&t, (const char *[]){ fmt_int(json_object_get(v, "pid"), pid, sizeof(pid)),
				fmt_int(json_object_get(v, "tid"), tid, sizeof(tid)),
				obj_text(v, "comm", comm, sizeof(comm)), obj_text(v, "vm", vm, sizeof(vm)),
				obj_text(v, "blocking_function", blk, sizeof(blk)) });
		table_print(&t, "  ");
	}
	json_decref(res);
	return EXIT_OK;
}

static int patch_sites(struct cli *c)
{
	struct table t = { .ncols = 4 };
	json_t *res, *s, *o;
	size_t i, k;
	int r = call_for_table(c, "ftrace.sites", NULL, &res);

	if (r || !res)
		return r;
	if (!json_array_size(json_object_get(res, "sites"))) {
		puts("No ftrace sites in use.");
		json_decref(res);
		return EXIT_OK;
	}
	table_add(&t, (const char *[]){ "FUNCTION", "MODULE", "FLAGS", "OWNERS" });
	json_array_foreach(json_object_get(res, "sites"), i, s) {
		char func[TEXT_CELL_MAX], mod[TEXT_CELL_MAX], flags[64] = "", owners[512] = "";
		char esc[TEXT_CELL_MAX];

		json_array_foreach(json_object_get(s, "flags"), k, o)
			snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%s%s", k ? "," : "",
				 json_string_value(o));
		json_array_foreach(json_object_get(s, "owners"), k, o)
			snprintf(owners + strlen(owners), sizeof(owners) - strlen(owners), "%s%s (%s)",
				 k ? ", " : "", obj_str(o, "kind"), obj_text(o, "by", esc, sizeof(esc)));
		table_add(&t, (const char *[]){ obj_text(s, "function", func, sizeof(func)),
			obj_text(s, "module", mod, sizeof(mod)), flags[0] ? flags : "-",
			owners[0] ? owners : "-" });
	}
	table_print(&t, "");
	json_decref(res);
	return EXIT_OK;
}

/* The daemon's codes the CLI acts on (daemon/rpc.h). */
#define CODE_NOT_FOUND (-32004)
#define CODE_BUSY (-32006)
#define DEFAULT_WAIT_SECONDS 15.0
#define POLL_MS 200

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double wait_seconds(const struct cli *c)
{
	return c->has_wait ? c->wait : DEFAULT_WAIT_SECONDS;
}

/* The last transition of @name in @trs (an array), or NULL. */
static json_t *last_transition(json_t *trs, const char *name)
{
	json_t *t, *last = NULL;
	size_t i;

	json_array_foreach(trs, i, t) {
		json_t *p = json_object_get(t, "patch");

		if (!p || (json_is_string(p) && !strcmp(json_string_value(p), name)))
			last = t;
	}
	return last;
}

/* Tasks listed at most in each report; the rest are counted. */
#define PENDING_SHOWN 10

static void print_pending(json_t *res, const char *indent)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(res, "pending_tasks"), i, v) {
		if (i == PENDING_SHOWN) {
			printf("%s... and %" JSON_INTEGER_FORMAT " more\n", indent,
			       json_integer_value(json_object_get(res, "pending_tasks_total")) -
				       PENDING_SHOWN);
			break;
		}
		char comm[TEXT_CELL_MAX], vm[TEXT_CELL_MAX], blk[TEXT_CELL_MAX], pid[24], tid[24];

		char vcpu[24];

		printf("%spid %s tid %s %s%s%s%s%s: blocking function %s\n", indent,
		       fmt_int(json_object_get(v, "pid"), pid, sizeof(pid)),
		       fmt_int(json_object_get(v, "tid"), tid, sizeof(tid)),
		       obj_text(v, "comm", comm, sizeof(comm)),
		       json_is_string(json_object_get(v, "vm")) ? ", VM " : "",
		       json_is_string(json_object_get(v, "vm")) ? obj_text(v, "vm", vm, sizeof(vm)) : "",
		       json_is_integer(json_object_get(v, "vcpu")) ? " vCPU " : "",
		       json_is_integer(json_object_get(v, "vcpu")) ?
			       fmt_int(json_object_get(v, "vcpu"), vcpu, sizeof(vcpu)) : "",
		       json_is_string(json_object_get(v, "blocking_function")) ?
			       obj_text(v, "blocking_function", blk, sizeof(blk)) :
		       json_is_string(json_object_get(v, "stack")) ?
			       "none of the patch's on its stack" :
		       json_is_true(json_object_get(v, "running")) ?
			       "not known: it is running (a vCPU in guest mode), its stack unreadable" :
			       "not known yet");
	}
}

/* How a transition ended, for people: "completed in 0.012 s". */
static void describe_end(json_t *t, char *out, size_t len)
{
	json_t *d = json_object_get(t, "duration_ns");

	if (json_is_integer(d))
		snprintf(out, len, "%s in %.3f s", obj_str(t, "result"), json_integer_value(d) / 1e9);
	else
		snprintf(out, len, "%s", obj_str(t, "result"));
}

/*
 * Follow @name's transition until it ends or @wait seconds pass.
 * Returns EXIT_OK when it ended completed, EXIT_DAEMON_ERROR when it
 * ended otherwise or stalled (*stalled), another code when the daemon
 * went.  *final is the patch's last answer, *tr its last transition.
 */
static int follow_transition(struct cli *c, const char *name, double wait, bool *stalled,
			     json_t **final, json_t **tr)
{
	double deadline = now_seconds() + wait, last_print = 0;
	json_int_t last_pending = -1;

	*stalled = false;
	*final = *tr = NULL;
	for (;;) {
		json_t *res = NULL;
		int r = rpc_client_call(&c->rpc, "livepatch.get", json_pack("{s:s}", "name", name), &res);

		if (r == EXIT_DAEMON_ERROR && c->rpc.error_code == CODE_NOT_FOUND) {
			/* Gone: an unpatch that ended, or a patch reversed and freed. */
			json_t *list = NULL;

			r = rpc_client_call(&c->rpc, "livepatch.list", NULL, &list);
			if (r)
				return rpc_client_report(&c->rpc, r);
			*tr = json_incref(last_transition(json_object_get(list, "transitions"), name));
			json_decref(list);
			break;
		}
		if (r)
			return rpc_client_report(&c->rpc, r);
		json_decref(*final);
		*final = res;
		if (json_integer_value(json_object_get(res, "transition")) != 1) {
			*tr = json_incref(last_transition(json_object_get(res, "transitions"), name));
			break;
		}
		if (now_seconds() >= deadline) {
			*stalled = true;
			*tr = json_incref(last_transition(json_object_get(res, "transitions"), name));
			return EXIT_DAEMON_ERROR;
		}
		if (!c->json && (json_integer_value(json_object_get(res, "pending_tasks_total")) !=
				 last_pending || now_seconds() - last_print >= 5)) {
			last_pending = json_integer_value(json_object_get(res, "pending_tasks_total"));
			last_print = now_seconds();
			if (last_pending > 0) {
				printf("Waiting on %" JSON_INTEGER_FORMAT " tasks:\n", last_pending);
				print_pending(res, "  ");
			}
			fflush(stdout);
		}
		sleep_ms(POLL_MS);
	}
	if (!*tr || !json_is_string(json_object_get(*tr, "result")))
		return EXIT_OK;	/* no transition known to the daemon: nothing left to wait for */
	return !strcmp(obj_str(*tr, "result"), "completed") ? EXIT_OK : EXIT_DAEMON_ERROR;
}

/*
 * After an action on @name: follow its transition (--wait), report how it
 * ended or that it stalled, and reverse a stalled one on request.
 */
static int after_action(struct cli *c, const char *action, const char *name, json_t *answer)
{
	json_t *final = NULL, *tr = NULL, *out;
	bool stalled = false, reversed = false;
	int r = EXIT_OK;
	char text[128], esc[TEXT_CELL_MAX];

	if (wait_seconds(c) > 0) {
		r = follow_transition(c, name, wait_seconds(c), &stalled, &final, &tr);
		if (r != EXIT_OK && r != EXIT_DAEMON_ERROR) {
			json_decref(answer);
			return r;
		}
	}
	text_escape(esc, sizeof(esc), name);
	if (stalled && !c->json) {
		printf("Livepatch %s: the transition to %s is still running after %g s; %" JSON_INTEGER_FORMAT
		       " tasks pending:\n", esc, tr ? obj_str(tr, "target") : "?", wait_seconds(c),
		       json_integer_value(json_object_get(final, "pending_tasks_total")));
		print_pending(final, "  ");
	}
	if (stalled && c->reverse_on_stall) {
		bool to_patch = tr && !strcmp(obj_str(tr, "target"), "unpatch");
		json_t *res = NULL;
		int rr = rpc_client_call(&c->rpc, to_patch ? "livepatch.enable" : "livepatch.disable",
					 json_pack("{s:s}", "name", name), &res);

		if (rr)
			rpc_client_report(&c->rpc, rr);
		json_decref(res);
		if (!rr) {
			bool again;

			reversed = true;
			if (!c->json)
				printf("Reversing it (--reverse-on-stall)...\n");
			json_decref(final);
			json_decref(tr);
			follow_transition(c, name, wait_seconds(c), &again, &final, &tr);
			stalled = again;
		}
		r = EXIT_DAEMON_ERROR;	/* what was asked did not happen */
	}
	if (c->json) {
		out = json_pack("{s:s, s:s, s:o, s:O?, s:b, s:b, s:O?}", "action", action, "name", name,
				"answer", answer, "transition", tr, "stalled", stalled, "reversed",
				reversed, "pending_tasks",
				stalled ? json_object_get(final, "pending_tasks") : NULL);
		cli_print_json(out, JSON_INDENT(2));
		json_decref(out);
	} else if (wait_seconds(c) <= 0) {
		printf("Livepatch %s: %s done; not waiting for its transition (--wait 0)\n", esc, action);
		json_decref(answer);
	} else if (stalled) {
		printf("Livepatch %s: %s; follow it with 'kvmscopectl patch wait %s', or end it with "
		       "'kvmscopectl patch force %s --yes' (voids the consistency guarantee)\n", esc,
		       reversed ? "the reversal is still running too" : "not finished", esc, esc);
		json_decref(answer);
	} else {
		if (tr)
			describe_end(tr, text, sizeof(text));
		printf("Livepatch %s: %s%s; transition to %s %s\n", esc, action,
		       reversed ? ", stalled, then reversed (--reverse-on-stall)" : "",
		       tr ? obj_str(tr, "target") : "?", tr ? text : "not seen");
		json_decref(answer);
	}
	json_decref(final);
	json_decref(tr);
	return stalled ? EXIT_DAEMON_ERROR : r;
}

/* Load @file: a file of ours passed as a descriptor, or with @by_name a file of the patch directory. */
static int patch_load(struct cli *c, const char *file, bool by_name)
{
	double deadline = now_seconds() + wait_seconds(c);
	bool by_fd = !by_name && (strchr(file, '/') || access(file, F_OK) == 0), told = false;
	json_t *res = NULL;
	int r;

	for (;;) {
		int fd = -1;

		if (by_fd) {
			fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			if (fd < 0) {
				char esc[TEXT_CELL_MAX];

				text_escape(esc, sizeof(esc), file);
				fprintf(stderr, "kvmscopectl: cannot open %s: %s\n", esc, strerror(errno));
				return EXIT_USAGE;
			}
		}
		r = rpc_client_call_fd(&c->rpc, "livepatch.load",
				       by_fd ? json_pack("{s:b}", "fd", 1) : json_pack("{s:s}", "path", file),
				       fd, &res);
		if (fd >= 0)
			close(fd);
		/* The kernel runs one transition at a time: kpatch retries, so do we. */
		if (r != EXIT_DAEMON_ERROR || c->rpc.error_code != CODE_BUSY || now_seconds() >= deadline)
			break;
		if (!told && !c->json)
			fprintf(stderr, "kvmscopectl: %s; retrying for up to %g s\n", c->rpc.error,
				wait_seconds(c));
		told = true;
		sleep_ms(1000);
	}
	if (r)
		return rpc_client_report(&c->rpc, r);
	{
		char name[64];

		snprintf(name, sizeof(name), "%s", obj_str(res, "name"));
		return after_action(c, "loaded", name, res);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * patch load-all: every *.ko of the daemon's patch directory (status says
 * which), in name order, each by name and followed to its end, as kpatch
 * load --all (kvmscope-patches.service at boot).  Exit 0 only when all
 * loaded; one that fails does not stop the others.
 */
static int patch_load_all(struct cli *c)
{
	json_t *st = NULL, *cap;
	const char *dir = NULL;
	char **names = NULL;
	size_t n = 0, cap_n = 0, i;
	int r = rpc_client_call(&c->rpc, "status", NULL, &st), worst = EXIT_OK;
	struct dirent *de;
	DIR *d;

	if (r)
		return rpc_client_report(&c->rpc, r);
	json_array_foreach(json_object_get(st, "capabilities"), i, cap)
		if (!strcmp(obj_str(cap, "name"), "livepatch") &&
		    json_is_string(json_object_get(cap, "patch_dir")))
			dir = json_string_value(json_object_get(cap, "patch_dir"));
	if (!dir) {
		json_decref(st);
		fprintf(stderr, "kvmscopectl: the daemon's status names no patch directory\n");
		return EXIT_DAEMON_ERROR;
	}
	d = opendir(dir);
	if (!d) {
		char esc[TEXT_CELL_MAX];

		text_escape(esc, sizeof(esc), dir);
		fprintf(stderr, "kvmscopectl: cannot list the patch directory %s: %s\n", esc, strerror(errno));
		json_decref(st);
		return EXIT_DAEMON_ERROR;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **grown;

		if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 3, ".ko"))
			continue;
		if (n == cap_n) {
			cap_n = cap_n ? 2 * cap_n : 16;
			grown = realloc(names, cap_n * sizeof(*names));
			if (!grown)
				break;
			names = grown;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	json_decref(st);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	if (!n && !c->json)
		printf("No livepatch modules (*.ko) in the patch directory.\n");
	for (i = 0; i < n; i++) {
		r = patch_load(c, names[i], true);
		if (r > worst)
			worst = r;
		free(names[i]);
	}
	free(names);
	return worst;
}

static int patch_action(struct cli *c, const char *what, const char *name)
{
	char method[32];
	json_t *params, *res = NULL;
	int r;

	if (!strcmp(what, "force") && !c->yes)
		return cli_usage_error("%s",
				       "patch force ends a transition without the consistency guarantee "
				       "(tasks may run old and new code together): add --yes to mean it");
	params = json_pack("{s:s}", "name", name);
	if (params && !strcmp(what, "force"))
		json_object_set_new(params, "confirm", json_true());
	snprintf(method, sizeof(method), "livepatch.%s", what);
	r = rpc_client_call(&c->rpc, method, params, &res);
	if (r)
		return rpc_client_report(&c->rpc, r);
	if (!strcmp(what, "unload")) {
		char esc[TEXT_CELL_MAX];

		text_escape(esc, sizeof(esc), name);
		if (c->json)
			cli_print_json(res, JSON_INDENT(2));
		else
			printf("Livepatch module %s unloaded\n", esc);
		json_decref(res);
		return EXIT_OK;
	}
	return after_action(c, !strcmp(what, "enable") ? "enabled" :
			       !strcmp(what, "disable") ? "disabled" : "forced", name, res);
}

static int patch_wait(struct cli *c, const char *name)
{
	json_t *res = NULL;
	int r = rpc_client_call(&c->rpc, "livepatch.get", json_pack("{s:s}", "name", name), &res);

	if (r)
		return rpc_client_report(&c->rpc, r);
	return after_action(c, "followed", name, res);
}

int verb_patch(struct cli *c)
{
	const char *what = c->argc ? c->argv[0] : NULL;
	static const char *const named[] = { "enable", "disable", "unload", "force", "wait", NULL };

	if (!what)
		return cli_usage_error("%s", "patch needs an action: list, info, sites, load, load-all, "
					     "enable, disable, unload, force or wait");
	if ((c->has_wait || c->reverse_on_stall) &&
	    (!strcmp(what, "list") || !strcmp(what, "info") || !strcmp(what, "sites") ||
	     !strcmp(what, "unload")))
		return cli_usage_error("%s goes with patch load, load-all, enable, disable, force or wait, not %s",
				       c->has_wait ? "--wait" : "--reverse-on-stall", what);
	if (c->yes && strcmp(what, "force"))
		return cli_usage_error("--yes goes with patch force, not %s", what);
	if (!strcmp(what, "load")) {
		if (c->argc != 2 || !c->argv[1][0])
			return cli_usage_error("%s", "patch load needs a FILE (or a NAME in the daemon's patch directory)");
		return patch_load(c, c->argv[1], false);
	}
	if (!strcmp(what, "load-all")) {
		if (c->argc != 1)
			return cli_usage_error("patch load-all takes no argument, got '%s'", c->argv[1]);
		return patch_load_all(c);
	}
	for (const char *const *n = named; *n; n++) {
		if (strcmp(what, *n))
			continue;
		if (c->argc != 2 || !c->argv[1][0])
			return cli_usage_error("patch %s needs the patch's NAME (patch list lists them)", what);
		return !strcmp(what, "wait") ? patch_wait(c, c->argv[1]) : patch_action(c, what, c->argv[1]);
	}
	if (!strcmp(what, "list") || !strcmp(what, "sites")) {
		if (c->argc != 1)
			return cli_usage_error("patch %s takes no argument, got '%s'", what, c->argv[1]);
		return !strcmp(what, "list") ? patch_list(c) : patch_sites(c);
	}
	if (!strcmp(what, "info")) {
		if (c->argc != 2)
			return cli_usage_error("%s", "patch info needs the patch's NAME (patch list lists them)");
		return patch_info(c, c->argv[1]);
	}
	return cli_usage_error("patch: unknown action '%s' (list, info, sites, load, load-all, enable, "
			       "disable, unload, force or wait)", what);
}
