// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading, enabling, disabling, unloading and forcing livepatches: see
 * manage.h.  The kernel does the work (finit_module(), the patch's sysfs
 * attributes, delete_module()); this file checks first, so that a wrong
 * file or a wrong moment is refused with a message that names the
 * problem, and logs who asked.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "livepatch/manage.h"
#include "livepatch/modfile.h"
#include "log.h"
#include "strbuf.h"

/* Patch files taken from the patch directory at most (autoload). */
#define PATCH_DIR_MAX 256

/* Fill @err, and log the refusal with who asked. */
static json_t *refuse(struct rpc_error *err, int code, const char *action,
		      const struct rpc_caller *caller, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static json_t *refuse(struct rpc_error *err, int code, const char *action,
		      const struct rpc_caller *caller, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->code = code;
	log_warning("%s for uid %u pid %d refused: %s", action, (unsigned int)caller->uid,
		    (int)caller->pid, err->message);
	return NULL;
}

static void patch_path(char *out, size_t len, const char *dir, const char *name, const char *attr)
{
	snprintf(out, len, "%s/%s%s%s", dir, name, attr ? "/" : "", attr ? attr : "");
}

/* A patch's attribute as 0/1, or -errno (-ENOENT: no such patch). */
static int patch_attr(const struct klp_manage *km, const char *name, const char *attr)
{
	char path[256], line[16];
	int r;

	patch_path(path, sizeof(path), km->livepatch_dir, name, attr);
	r = read_first_line(path, line, sizeof(line));
	if (r < 0)
		return r;
	return line[0] == '1';
}

static int write_attr(const struct klp_manage *km, const char *name, const char *attr,
		      const char *value)
{
	char path[256];
	int fd, r = 0;

	patch_path(path, sizeof(path), km->livepatch_dir, name, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int klp_transition_in_progress(const char *livepatch_dir, char *name, size_t len)
{
	DIR *d = opendir(livepatch_dir);
	struct dirent *de;
	char path[320], line[8];
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !modfile_name_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/transition", livepatch_dir, de->d_name);
		if (read_first_line(path, line, sizeof(line)) >= 0 && line[0] == '1') {
			snprintf(name, len, "%.55s", de->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static int transition_in_progress(const struct klp_manage *km, char *name, size_t len)
{
	return klp_transition_in_progress(km->livepatch_dir, name, len);
}

static bool module_loaded(const struct klp_manage *km, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", km->module_dir, name);
	return path_exists(path);
}

/* The "name" parameter, checked: NULL after filling @err. */
static const char *name_param(json_t *params, const char *action, const struct rpc_caller *caller,
			      struct rpc_error *err)
{
	json_t *v = json_object_get(params, "name");

	if (!json_is_string(v)) {
		refuse(err, RPC_INVALID_PARAMS, action, caller, "%s needs \"name\": a livepatch's name",
		       action);
		return NULL;
	}
	if (!modfile_name_valid(json_string_value(v))) {
		refuse(err, RPC_INVALID_PARAMS, action, caller,
		       "\"name\" '%.64s' is not a module name (letters, digits, '_' and '-', at most 55)",
		       json_string_value(v));
		return NULL;
	}
	return json_string_value(v);
}

static json_t *patch_state(const struct klp_manage *km, const char *name)
{
	int en = patch_attr(km, name, "enabled"), tr = patch_attr(km, name, "transition");

	return json_pack("{s:s, s:o, s:o}", "name", name, "enabled",
			 en < 0 ? json_null() : json_integer(en), "transition",
			 tr < 0 ? json_null() : json_integer(tr));
}

json_t *klp_manage_load(const struct klp_manage *km, const struct rpc_caller *caller,
			json_t *params, struct rpc_error *err)
{
	static const char action[] = "livepatch.load";
	json_t *path = json_object_get(params, "path"), *fdp = json_object_get(params, "fd");
	struct modfile_info mi;
	struct utsname uts;
	char why[400], source[300], busy[64];
	int fd, r;

	if (!path == !fdp)
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "livepatch.load needs either \"path\" (a file in the patch directory %s) or \"fd\": true (the module passed with SCM_RIGHTS)",
			      km->patch_dir);
	if (path) {
		if (!json_is_string(path) || !json_string_length(path))
			return refuse(err, RPC_INVALID_PARAMS, action, caller,
				      "\"path\" must be a file name in the patch directory %s",
				      km->patch_dir);
		text_escape(source, sizeof(source), json_string_value(path));
		fd = patchdir_open(km->patch_dir, json_string_value(path), km->owner, why, sizeof(why));
		if (fd < 0)
			return refuse(err, fd == -ENOENT ? RPC_NOT_FOUND : RPC_INVALID_PARAMS, action,
				      caller, "cannot load %s: %s", source, why);
	} else {
		if (!json_is_true(fdp))
			return refuse(err, RPC_INVALID_PARAMS, action, caller,
				      "\"fd\" must be true: the module comes with the request (SCM_RIGHTS)");
		if (!caller->passed_fd || *caller->passed_fd < 0)
			return refuse(err, RPC_INVALID_PARAMS, action, caller,
				      "no file descriptor came with the request: send the module's with SCM_RIGHTS in the same message (kvmscopectl patch load FILE does)");
		fd = *caller->passed_fd;
		*caller->passed_fd = -1;
		snprintf(source, sizeof(source), "the file passed by pid %d", (int)caller->pid);
	}
	r = modfile_parse_fd(fd, &mi, why, sizeof(why));
	if (r == 0) {
		uname(&uts);
		r = modfile_check(&mi, uts.release, MODFILE_NATIVE_MACHINE, why, sizeof(why));
	}
	if (r < 0) {
		close(fd);
		return refuse(err, RPC_INVALID_PARAMS, action, caller, "cannot load %s: %s", source, why);
	}
	if (module_loaded(km, mi.name)) {
		close(fd);
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "module %s is already loaded (patch list shows it; unload it first to load another build)",
			      mi.name);
	}
	if (transition_in_progress(km, busy, sizeof(busy))) {
		close(fd);
		return refuse(err, RPC_BUSY, action, caller,
			      "busy: livepatch %s is in a transition; load %s when it has ended", busy,
			      mi.name);
	}
	r = syscall(SYS_finit_module, fd, "", 0) < 0 ? -errno : 0;
	close(fd);
	switch (-r) {
	case 0:
		break;
	case EBUSY:
		return refuse(err, RPC_BUSY, action, caller,
			      "busy: the kernel is in another livepatch transition; load %s when it has ended",
			      mi.name);
	case EEXIST:
		return refuse(err, RPC_INVALID_PARAMS, action, caller, "module %s is already loaded",
			      mi.name);
	case EKEYREJECTED:
	case ENOKEY:
	case EBADMSG:
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "the kernel rejected %s's signature (%s): it enforces signed modules",
			      mi.name, strerror(-r));
	case EPERM:
		return refuse(err, RPC_UNAVAILABLE, action, caller,
			      "the kernel refuses to load modules (%s): modules disabled, lockdown, or no CAP_SYS_MODULE",
			      strerror(-r));
	default:
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "the kernel refused module %s: %s (its log says why)", mi.name,
			      strerror(-r));
	}
	log_notice("%s: loaded livepatch %s (version '%s', srcversion %s, %s) from %s for uid %u pid %d",
		   action, mi.name, mi.version, mi.srcversion, mi.has_signature ? "signed" : "unsigned",
		   source, (unsigned int)caller->uid, (int)caller->pid);
	{
		json_t *res = patch_state(km, mi.name);

		json_object_set_new(res, "version", json_string(mi.version));
		json_object_set_new(res, "srcversion", json_string(mi.srcversion));
		json_object_set_new(res, "vermagic", json_string(mi.vermagic));
		json_object_set_new(res, "signed", json_boolean(mi.has_signature));
		return res;
	}
}

json_t *klp_manage_enable(const struct klp_manage *km, const struct rpc_caller *caller,
			  json_t *params, struct rpc_error *err, bool enable)
{
	const char *action = enable ? "livepatch.enable" : "livepatch.disable";
	const char *name = name_param(params, action, caller, err);
	char busy[64];
	int en, tr, r;

	if (!name)
		return NULL;
	en = patch_attr(km, name, "enabled");
	tr = patch_attr(km, name, "transition");
	if (en == -ENOENT)
		return refuse(err, RPC_NOT_FOUND, action, caller,
			      enable ? "no livepatch %s: once disabled and settled a patch is gone; load its module again"
				     : "no livepatch %s (patch list lists them)",
			      name);
	if (en < 0 || tr < 0)
		return refuse(err, RPC_INTERNAL_ERROR, action, caller, "cannot read livepatch %s: %s",
			      name, strerror(-(en < 0 ? en : tr)));
	if (en == enable)
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      enable ? "livepatch %s is already enabled%s"
				     : "livepatch %s is already disabled%s",
			      name, tr ? " (its transition is in progress)" : "");
	if (!tr && transition_in_progress(km, busy, sizeof(busy)))
		return refuse(err, RPC_BUSY, action, caller,
			      "busy: livepatch %s is in a transition; try again when it has ended", busy);
	r = write_attr(km, name, "enabled", enable ? "1" : "0");
	if (r == -EBUSY)
		return refuse(err, RPC_BUSY, action, caller,
			      "busy: the kernel is in another livepatch transition");
	if (r < 0)
		return refuse(err, RPC_INVALID_PARAMS, action, caller, "the kernel refused: %s",
			      strerror(-r));
	log_notice("%s: %s livepatch %s%s for uid %u pid %d", action, enable ? "enabled" : "disabled",
		   name, tr ? " (reversing its transition)" : "", (unsigned int)caller->uid,
		   (int)caller->pid);
	{
		json_t *res = patch_state(km, name);

		json_object_set_new(res, "reversed", json_boolean(tr));
		return res;
	}
}

json_t *klp_manage_unload(const struct klp_manage *km, const struct rpc_caller *caller,
			  json_t *params, struct rpc_error *err)
{
	static const char action[] = "livepatch.unload";
	const char *name = name_param(params, action, caller, err);
	char path[256], taint[32];
	int tr, r;

	if (!name)
		return NULL;
	tr = patch_attr(km, name, "transition");
	if (tr == 1)
		return refuse(err, RPC_BUSY, action, caller,
			      "busy: livepatch %s is in a transition; unload it when the disable has settled",
			      name);
	if (tr == 0)
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "livepatch %s is still enabled: disable it first (patch disable %s)", name,
			      name);
	snprintf(path, sizeof(path), "%s/%s/taint", km->module_dir, name);
	r = read_first_line(path, taint, sizeof(taint));
	if (r == -ENOENT)
		return refuse(err, RPC_NOT_FOUND, action, caller, "no module %s is loaded", name);
	if (r < 0)
		return refuse(err, RPC_INTERNAL_ERROR, action, caller, "cannot read %s: %s", path,
			      strerror(-r));
	if (!strchr(taint, 'K'))
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "module %s is not a livepatch (no taint K): kvmscope unloads only livepatches",
			      name);
	if (syscall(SYS_delete_module, name, O_NONBLOCK) < 0) {
		r = errno;
		return refuse(err, r == EWOULDBLOCK || r == EBUSY ? RPC_BUSY : RPC_INVALID_PARAMS,
			      action, caller, "the kernel did not unload %s: %s", name, strerror(r));
	}
	log_notice("%s: unloaded livepatch module %s for uid %u pid %d", action, name,
		   (unsigned int)caller->uid, (int)caller->pid);
	return json_pack("{s:s, s:b}", "name", name, "unloaded", 1);
}

json_t *klp_manage_force(const struct klp_manage *km, const struct rpc_caller *caller,
			 json_t *params, struct rpc_error *err)
{
	static const char action[] = "livepatch.force";
	const char *name = name_param(params, action, caller, err);
	int tr, r;

	if (!name)
		return NULL;
	if (!json_is_true(json_object_get(params, "confirm")))
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "livepatch.force voids the consistency guarantee (tasks may run old and new code together): pass \"confirm\": true to mean it");
	tr = patch_attr(km, name, "transition");
	if (tr == -ENOENT)
		return refuse(err, RPC_NOT_FOUND, action, caller, "no livepatch %s", name);
	if (tr != 1)
		return refuse(err, RPC_INVALID_PARAMS, action, caller,
			      "livepatch %s is not in a transition: nothing to force", name);
	r = write_attr(km, name, "force", "1");
	if (r < 0)
		return refuse(err, RPC_INVALID_PARAMS, action, caller, "the kernel refused: %s",
			      strerror(-r));
	log_warning("%s: FORCED the transition of livepatch %s for uid %u pid %d: its consistency guarantee is void",
		    action, name, (unsigned int)caller->uid, (int)caller->pid);
	{
		json_t *res = patch_state(km, name);

		json_object_set_new(res, "forced", json_true());
		return res;
	}
}

/* Modules: "*.ko", not hidden. */
static int is_module_file(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return de->d_name[0] != '.' && len >= 4 && !strcmp(de->d_name + len - 3, ".ko");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int klp_manage_list_dir(const char *dir, char ***names, size_t *n)
{
	struct dirent **all;
	char **v;
	int found = scandir(dir, &all, is_module_file, by_name), r = 0;
	size_t keep;

	*names = NULL;
	*n = 0;
	if (found < 0)
		return -errno;
	/* The first PATCH_DIR_MAX in name order. */
	keep = found < PATCH_DIR_MAX ? (size_t)found : PATCH_DIR_MAX;
	v = calloc(keep ? keep : 1, sizeof(*v));
	for (size_t i = 0; v && i < keep; i++)
		if (!(v[i] = strdup(all[i]->d_name)))
			r = -ENOMEM;
	for (int i = 0; i < found; i++)
		free(all[i]);
	free(all);
	if (!v || r < 0) {
		for (size_t i = 0; v && i < keep; i++)
			free(v[i]);
		free(v);
		return -ENOMEM;
	}
	*names = v;
	*n = keep;
	return 0;
}
