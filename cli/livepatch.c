// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl patch list | info NAME | sites: the kernel's livepatches,
 * one patch with its functions, transitions and the tasks a transition
 * waits on, and the ftrace sites in use with their owners.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int verb_patch(struct cli *c)
{
	const char *what = c->argc ? c->argv[0] : NULL;

	if (!what)
		return cli_usage_error("%s", "patch needs list, info NAME or sites");
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
	return cli_usage_error("patch: unknown action '%s' (list, info NAME or sites)", what);
}
