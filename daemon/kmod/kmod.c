// SPDX-License-Identifier: GPL-2.0-only
/*
 * The helper module capability: finding kvmscope.ko, loading it with
 * finit_module() from a root-owned path when --kmod allows, the version
 * handshake over /dev/kvmscope, and the live-patch consistency canary
 * (kmod.canary).  With --kmod auto the module is loaded only when
 * something asks for what only it does; it is unloaded at exit when this
 * daemon loaded it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "capability.h"
#include "events.h"
#include "kmod/handshake.h"
#include "kmod/kmod.h"
#include "kvmscope_schema.h"
#include "livepatch/manage.h"
#include "livepatch/modfile.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "options.h"
#include "strbuf.h"

#define KMOD_NAME "kvmscope"

struct kmod_state {
	struct manager *m;
	enum kmod_mode mode;
	char release[65];
	char path[256];			/* the module file, "" when none was found */
	char path_why[512];		/* why there is none */
	bool kernel_ok;			/* the kernel can load modules */
	char kernel_why[300];
	bool loaded;			/* handshake done, device open */
	bool loaded_by_us;		/* unload at exit */
	char loaded_name[56];
	int dev;
	struct kvmscope_version ver;
	char error[640];		/* the last load or handshake failure */
	char taint[16];
	/* The canary: the last report read, and what was announced. */
	struct kvmscope_canary_report rep;
	bool have_rep;
	uint32_t announced_run;		/* the run whose end was published */
	char during_transition[64];	/* a livepatch transition when the run started */
	char users[64];			/* capabilities using the device ("exits") */
};

static const char *mode_name(enum kmod_mode m)
{
	return m == KMOD_ON ? "on" : m == KMOD_OFF ? "off" : "auto";
}

/* The module file: --kmod-path, or where DKMS and `make kmod-install` put it. */
static void find_module(struct kmod_state *st)
{
	const char *opt = manager_options(st->m)->kmod_path;
	char cand[2][256];

	st->path[0] = '\0';
	if (opt[0]) {
		if (path_exists(opt))
			snprintf(st->path, sizeof(st->path), "%s", opt);
		else
			snprintf(st->path_why, sizeof(st->path_why), "--kmod-path %.200s: %s", opt,
				 strerror(errno));
		return;
	}
	snprintf(cand[0], sizeof(cand[0]), "/lib/modules/%s/updates/dkms/" KMOD_NAME ".ko",
		 st->release);
	snprintf(cand[1], sizeof(cand[1]), "/lib/modules/%s/extra/" KMOD_NAME ".ko", st->release);
	for (int i = 0; i < 2; i++) {
		if (path_exists(cand[i])) {
			snprintf(st->path, sizeof(st->path), "%s", cand[i]);
			return;
		}
	}
	snprintf(st->path_why, sizeof(st->path_why),
		 "no kvmscope.ko for kernel %.64s (looked for %.110s and %.110s): build it with make kmod, or install kvmscope-dkms",
		 st->release, cand[0], cand[1]);
	{
		char build[160];

		snprintf(build, sizeof(build), "/lib/modules/%s/build", st->release);
		if (!path_exists(build))
			snprintf(st->path_why + strlen(st->path_why),
				 sizeof(st->path_why) - strlen(st->path_why),
				 "; this kernel has no headers at %s to build it with", build);
	}
}

/* Why the module cannot be had here, or NULL when it can be loaded. */
static const char *not_loadable(const struct kmod_state *st)
{
	if (st->loaded)
		return NULL;
	if (!st->kernel_ok)
		return st->kernel_why;
	if (!st->path[0])
		return st->path_why;
	return NULL;
}

static void read_taint(struct kmod_state *st)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/taint", st->loaded_name);
	if (read_first_line(path, st->taint, sizeof(st->taint)) < 0)
		st->taint[0] = '\0';
}

/* Open /dev/kvmscope and check the handshake; 0, or -errno with st->error set. */
static int open_device(struct kmod_state *st)
{
	char why[400];
	int fd = -1;

	/* udev may take a moment to make the node after the module's init. */
	for (int i = 0; i < 200 && fd < 0; i++) {
		fd = open("/dev/" KVMSCOPE_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			usleep(10000);
		else
			break;
	}
	if (fd < 0) {
		int r = -errno;

		snprintf(st->error, sizeof(st->error), "cannot open /dev/%s: %s",
			 KVMSCOPE_KMOD_DEVICE, strerror(errno));
		return r;
	}
	memset(&st->ver, 0, sizeof(st->ver));
	if (ioctl(fd, KVMSCOPE_IOC_VERSION, &st->ver) < 0) {
		int r = -errno;

		snprintf(st->error, sizeof(st->error),
			 "/dev/%s does not answer the version handshake (%s): it is not kvmscope.ko's",
			 KVMSCOPE_KMOD_DEVICE, strerror(errno));
		close(fd);
		return r;
	}
	st->ver.version[sizeof(st->ver.version) - 1] = '\0';
	if (kmod_handshake_check(&st->ver, KVMSCOPE_KMOD_API, KVMSCOPE_SCHEMA_HASH, KVMSCOPE_VERSION,
				 why, sizeof(why)) < 0) {
		snprintf(st->error, sizeof(st->error), "%s", why);
		close(fd);
		return -EPROTO;
	}
	st->dev = fd;
	st->loaded = true;
	st->error[0] = '\0';
	read_taint(st);
	return 0;
}

static void unload_module(const char *name)
{
	for (int i = 0; i < 50; i++) {
		if (syscall(SYS_delete_module, name, O_NONBLOCK) == 0 || errno == ENOENT)
			return;
		if (errno != EAGAIN && errno != EBUSY && errno != EWOULDBLOCK)
			break;
		usleep(20000);
	}
	log_warning("kmod: cannot unload %s: %m", name);
}

/* Load (or adopt) the module and shake hands; 0 or -errno with st->error set. */
static int kmod_load(struct kmod_state *st)
{
	struct modfile_info mi;
	char why[400], dir[256], *slash;
	const char *base;
	int fd, r;

	if (st->loaded)
		return 0;
	if (st->mode == KMOD_OFF) {
		snprintf(st->error, sizeof(st->error), "the helper module is switched off (--kmod off)");
		return -EPERM;
	}
	if (path_exists("/sys/module/" KMOD_NAME)) {
		/* Someone loaded it before us: use it, leave it loaded. */
		snprintf(st->loaded_name, sizeof(st->loaded_name), KMOD_NAME);
		st->loaded_by_us = false;
		r = open_device(st);
		if (r == 0)
			log_info("kmod: using the kvmscope.ko already loaded (version %s, API %u)",
				 st->ver.version, st->ver.api);
		return r;
	}
	if (not_loadable(st)) {
		snprintf(st->error, sizeof(st->error), "%s", not_loadable(st));
		return -EOPNOTSUPP;
	}
	snprintf(dir, sizeof(dir), "%s", st->path);
	slash = strrchr(dir, '/');
	if (!slash) {
		snprintf(st->error, sizeof(st->error), "%s is not an absolute path", st->path);
		return -EINVAL;
	}
	*slash = '\0';
	base = slash + 1;
	fd = patchdir_open(dir[0] ? dir : "/", base, 0, why, sizeof(why));
	if (fd < 0) {
		snprintf(st->error, sizeof(st->error), "cannot load %.200s: %.300s", st->path, why);
		return fd;
	}
	r = modfile_parse_fd(fd, &mi, why, sizeof(why));
	if (r == 0)
		r = modfile_check_module(&mi, st->release, why, sizeof(why));
	if (r < 0) {
		close(fd);
		snprintf(st->error, sizeof(st->error), "cannot load %.200s: %.300s", st->path, why);
		return r;
	}
	if (strncmp(mi.name, KMOD_NAME, strlen(KMOD_NAME))) {
		close(fd);
		snprintf(st->error, sizeof(st->error), "%s is module %s, not kvmscope", st->path,
			 mi.name);
		return -EINVAL;
	}
	if (!kmod_kernel_loadable("", mi.has_signature, why, sizeof(why))) {
		close(fd);
		snprintf(st->error, sizeof(st->error), "%s", why);
		return -EPERM;
	}
	r = syscall(SYS_finit_module, fd, "", 0) < 0 ? -errno : 0;
	close(fd);
	if (r == -EEXIST)
		r = 0;
	if (r < 0) {
		snprintf(st->error, sizeof(st->error), "the kernel refused %s: %s (its log says why)",
			 st->path, strerror(-r));
		return r;
	}
	snprintf(st->loaded_name, sizeof(st->loaded_name), "%s", mi.name);
	st->loaded_by_us = true;
	r = open_device(st);
	if (r < 0) {
		/* Never leave behind a module this daemon refuses to use. */
		unload_module(mi.name);
		st->loaded_by_us = false;
		return r;
	}
	log_notice("kmod: loaded %s %s (API %u, schema %016llx, %s) from %s", mi.name,
		   st->ver.version, st->ver.api, (unsigned long long)st->ver.schema,
		   mi.has_signature ? "signed" : "unsigned", st->path);
	return 0;
}

static int kmod_probe(struct manager *m, void **state)
{
	struct kmod_state *st = calloc(1, sizeof(*st));
	struct utsname uts;

	if (!st)
		return -ENOMEM;
	st->m = m;
	st->dev = -1;
	st->mode = manager_options(m)->kmod;
	uname(&uts);
	snprintf(st->release, sizeof(st->release), "%s", uts.release);
	st->kernel_ok = kmod_kernel_loadable("", true, st->kernel_why, sizeof(st->kernel_why));
	find_module(st);
	*state = st;
	return 0;
}

static int kmod_attach(void *state)
{
	struct kmod_state *st = state;
	int r;

	if (st->mode == KMOD_AUTO && path_exists("/sys/module/" KMOD_NAME))
		return kmod_load(st) < 0 ? 0 : 1;
	if (st->mode != KMOD_ON) {
		if (not_loadable(st))
			log_info("kmod: the helper module cannot be loaded here: %s", not_loadable(st));
		return 0;
	}
	r = kmod_load(st);
	if (r < 0) {
		log_error("kmod: --kmod on, but %s", st->error);
		return r;
	}
	return 1;
}

int kmod_acquire(struct manager *m, uint32_t feature, const char *user, char *why, size_t len)
{
	struct kmod_state *st = manager_capability_state(m, &kmod_capability);
	int r;

	if (!st) {
		snprintf(why, len, "the helper module capability is unavailable");
		return -ENODEV;
	}
	r = kmod_load(st);
	if (r < 0) {
		snprintf(why, len, "%s", st->error);
		return r;
	}
	if (!(st->ver.features & feature)) {
		snprintf(why, len, "kvmscope.ko %s cannot do that on this kernel (features 0x%x)",
			 st->ver.version, st->ver.features);
		return -EOPNOTSUPP;
	}
	if (!strstr(st->users, user) && strlen(st->users) + strlen(user) + 2 < sizeof(st->users))
		snprintf(st->users + strlen(st->users), sizeof(st->users) - strlen(st->users), "%s%s",
			 st->users[0] ? "," : "", user);
	return st->dev;
}

static bool kmod_required(void *state)
{
	return ((struct kmod_state *)state)->mode == KMOD_ON;
}

static uint64_t violations_total(const struct kvmscope_canary_report *r)
{
	uint64_t v = 0;

	for (unsigned int i = 1; i < KVMSCOPE_CANARY_VERDICTS; i++)
		v += r->violations[i];
	return v;
}

static bool canary_running(const struct kmod_state *st)
{
	return st->have_rep && st->rep.state == KVMSCOPE_CANARY_RUNNING;
}

static json_t *canary_json(const struct kmod_state *st)
{
	const struct kvmscope_canary_report *r = &st->rep;
	static const char *const states[] = { "idle", "running", "done", "failed" };
	json_t *kept, *viol, *o;

	if (!st->have_rep)
		return json_null();
	kept = json_array();
	viol = json_object();
	for (unsigned int v = 1; v < KVMSCOPE_CANARY_VERDICTS; v++)
		json_object_set_new(viol, kvmscope_canary_verdict_name(v),
				    json_integer((json_int_t)r->violations[v]));
	for (uint32_t i = 0; i < r->kept && i < KVMSCOPE_CANARY_MAX_KEPT; i++) {
		const struct kvmscope_canary_violation *v = &r->violation[i];

		json_array_append_new(kept, json_pack("{s:s, s:I, s:i, s:i, s:i}", "verdict",
						      kvmscope_canary_verdict_name(v->verdict),
						      "generation", (json_int_t)v->generation, "cpu",
						      (int)v->cpu, "body", (int)v->body, "state",
						      (int)v->state));
	}
	o = json_pack("{s:i, s:s, s:i, s:i, s:i, s:f, s:{s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:o, s:o, s:s?}",
		      "run", (int)r->run, "state", r->state < 4 ? states[r->state] : "unknown",
		      "seconds", (int)r->seconds, "cpus", (int)r->cpus, "updater_cpu",
		      (int)r->updater_cpu, "elapsed_seconds", r->elapsed_ns / 1e9, "calls",
		      "original", (json_int_t)r->calls[KVMSCOPE_CANARY_ORIGINAL], "replacement",
		      (json_int_t)r->calls[KVMSCOPE_CANARY_REPLACEMENT], "neither",
		      (json_int_t)r->calls[KVMSCOPE_CANARY_NEITHER], "calls_total",
		      (json_int_t)(r->calls[0] + r->calls[1] + r->calls[2]), "updates",
		      (json_int_t)r->updates, "generations", (json_int_t)r->generations,
		      "tracer_calls", (json_int_t)r->tracer_calls, "settled_calls", "off",
		      (json_int_t)r->settled[KVMSCOPE_CANARY_OFF], "turning_on",
		      (json_int_t)r->settled[KVMSCOPE_CANARY_TURNING_ON], "on",
		      (json_int_t)r->settled[KVMSCOPE_CANARY_ON], "turning_off",
		      (json_int_t)r->settled[KVMSCOPE_CANARY_TURNING_OFF], "violations_total",
		      (json_int_t)violations_total(r),
		      "violations", viol, "kept_violations", kept, "during_transition",
		      st->during_transition[0] ? st->during_transition : NULL);
	if (o && r->state == KVMSCOPE_CANARY_FAILED)
		json_object_set_new(o, "error", json_string(strerror(-r->error)));
	return o;
}

static void publish(struct kmod_state *st, const char *event)
{
	json_t *p = canary_json(st);

	if (!json_is_object(p)) {
		json_decref(p);
		return;
	}
	json_object_set_new(p, "event", json_string(event));
	/* On the livepatch timeline: the canary is about live patching's promise. */
	events_hub_publish(manager_events(st->m), "livepatch", 0, p);
}

/* The module's canary report, and the end of a run announced once. */
static void read_report(struct kmod_state *st)
{
	const struct kvmscope_canary_report *r = &st->rep;

	if (!st->loaded)
		return;
	if (ioctl(st->dev, KVMSCOPE_IOC_CANARY_REPORT, &st->rep) < 0) {
		log_warning("kmod: cannot read the canary report: %m");
		return;
	}
	st->have_rep = r->state != KVMSCOPE_CANARY_IDLE;
	if (st->have_rep && r->state != KVMSCOPE_CANARY_RUNNING && st->announced_run != r->run) {
		uint64_t v = violations_total(r);

		st->announced_run = r->run;
		if (r->state == KVMSCOPE_CANARY_FAILED)
			log_error("kmod: canary run %u failed: %s", r->run, strerror(-r->error));
		else if (v)
			log_error("kmod: canary run %u: %llu VIOLATIONS of the patching invariant in %llu calls over %llu updates",
				  r->run, (unsigned long long)v,
				  (unsigned long long)(r->calls[0] + r->calls[1] + r->calls[2]),
				  (unsigned long long)r->updates);
		else
			log_notice("kmod: canary run %u: %llu calls (%llu original, %llu replacement) over %llu updates, 0 violations",
				   r->run, (unsigned long long)(r->calls[0] + r->calls[1] + r->calls[2]),
				   (unsigned long long)r->calls[1], (unsigned long long)r->calls[2],
				   (unsigned long long)r->updates);
		publish(st, r->state == KVMSCOPE_CANARY_FAILED ? "canary_failed" : "canary_done");
	}
}

/* The tick: the report changes only while a run this daemon started goes on. */
static void kmod_collect(void *state)
{
	struct kmod_state *st = state;

	if (canary_running(st))
		read_report(st);
}

static json_t *kmod_describe(void *state)
{
	struct kmod_state *st = state;
	const char *why = not_loadable(st);
	json_t *o;

	o = json_pack("{s:s, s:b, s:s?, s:s?, s:b, s:b, s:s?, s:s?, s:b, s:s?}", "mode",
		      mode_name(st->mode), "loadable", why == NULL, "why", why, "path",
		      st->path[0] ? st->path : NULL, "loaded", st->loaded, "loaded_by_kvmscoped",
		      st->loaded && st->loaded_by_us, "taint",
		      st->loaded ? st->taint : NULL, "error", st->error[0] ? st->error : NULL,
		      "canary_supported",
		      st->loaded && (st->ver.features & KVMSCOPE_FEATURE_CANARY),
		      "canary_note",
		      st->loaded && !(st->ver.features & KVMSCOPE_FEATURE_CANARY)
			      ? "this architecture or kernel has no ftrace IPMODIFY: the canary is x86 only"
			      : NULL);
	if (o && st->loaded) {
		char schema[20];

		snprintf(schema, sizeof(schema), "%016llx", (unsigned long long)st->ver.schema);
		json_object_set_new(o, "version", json_string(st->ver.version));
		json_object_set_new(o, "api", json_integer(st->ver.api));
		json_object_set_new(o, "schema", json_string(schema));
		json_object_set_new(o, "exits_supported",
				    json_boolean(st->ver.features & KVMSCOPE_FEATURE_EXITS));
	}
	if (o) {
		json_t *users = json_array();
		char list[sizeof(st->users)], *save = NULL;

		snprintf(list, sizeof(list), "%s", st->users);
		for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save))
			json_array_append_new(users, json_string(u));
		json_object_set_new(o, "used_by", users);
		json_object_set_new(o, "canary", canary_json(st));
	}
	return o;
}

/* ---- methods ---- */

static json_t *method_canary(void *userdata, const struct rpc_caller *caller, json_t *params,
			     struct rpc_error *err)
{
	struct kmod_state *st = userdata;
	json_t *js = json_object_get(params, "seconds"), *jc = json_object_get(params, "cpus");
	struct kvmscope_canary_start req = { .seconds = 10, .cpus = 0 };
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (js) {
		if (!json_is_integer(js) || json_integer_value(js) < 1 ||
		    json_integer_value(js) > KVMSCOPE_CANARY_MAX_SECONDS) {
			rpc_error_set(err, RPC_INVALID_PARAMS, "\"seconds\" must be an integer from 1 to %d",
				      KVMSCOPE_CANARY_MAX_SECONDS);
			return NULL;
		}
		req.seconds = (uint32_t)json_integer_value(js);
	}
	if (jc) {
		if (!json_is_integer(jc) || json_integer_value(jc) < 2 ||
		    json_integer_value(jc) > online) {
			rpc_error_set(err, RPC_INVALID_PARAMS,
				      "\"cpus\" must be an integer from 2 to %ld (the CPUs online): one updates, the others call",
				      online);
			return NULL;
		}
		req.cpus = (uint32_t)json_integer_value(jc);
	} else if (online < 2) {
		rpc_error_set(err, RPC_UNAVAILABLE,
			      "the canary needs 2 CPUs, one to update and one to call; %ld is online",
			      online);
		return NULL;
	}
	if (kmod_load(st) < 0) {
		rpc_error_set(err, RPC_UNAVAILABLE, "the helper module is not available: %s",
			      st->error);
		log_warning("kmod.canary for uid %u pid %d refused: %s", (unsigned int)caller->uid,
			    (int)caller->pid, st->error);
		return NULL;
	}
	if (!(st->ver.features & KVMSCOPE_FEATURE_CANARY)) {
		rpc_error_set(err, RPC_UNAVAILABLE,
			      "kvmscope.ko has no consistency canary on this kernel (it needs x86 ftrace with IPMODIFY)");
		return NULL;
	}
	if (ioctl(st->dev, KVMSCOPE_IOC_CANARY_START, &req) < 0) {
		if (errno == EBUSY)
			rpc_error_set(err, RPC_BUSY, "busy: a canary run is in progress (status shows it)");
		else
			rpc_error_set(err, RPC_INTERNAL_ERROR, "kvmscope.ko refused the run: %s",
				      strerror(errno));
		return NULL;
	}
	if (!klp_transition_in_progress("/sys/kernel/livepatch", st->during_transition,
					sizeof(st->during_transition)))
		st->during_transition[0] = '\0';
	log_notice("kmod: canary run for %u s on %s CPUs started for uid %u pid %d%s%s", req.seconds,
		   req.cpus ? "some" : "all", (unsigned int)caller->uid, (int)caller->pid,
		   st->during_transition[0] ? ", during the transition of livepatch " : "",
		   st->during_transition);
	read_report(st);
	publish(st, "canary_started");
	return canary_json(st);
}

static json_t *method_canary_stop(void *userdata, const struct rpc_caller *caller, json_t *params,
				  struct rpc_error *err)
{
	struct kmod_state *st = userdata;

	if (!st->loaded) {
		rpc_error_set(err, RPC_NOT_FOUND, "the helper module is not loaded: no canary runs");
		return NULL;
	}
	if (ioctl(st->dev, KVMSCOPE_IOC_CANARY_STOP) < 0) {
		rpc_error_set(err, RPC_INTERNAL_ERROR, "cannot stop the canary: %s", strerror(errno));
		return NULL;
	}
	log_notice("kmod: canary stopped for uid %u pid %d", (unsigned int)caller->uid,
		   (int)caller->pid);
	read_report(st);
	return canary_json(st);
}

static json_t *method_status(void *userdata, json_t *params, struct rpc_error *err)
{
	struct kmod_state *st = userdata;

	read_report(st);
	return kmod_describe(st);
}

static const char *const canary_params[] = { "seconds", "cpus", NULL };
static const char *const no_params[] = { NULL };

static const struct rpc_method kmod_methods[] = {
	{ .name = "kmod.status", .handler = method_status, .params = no_params },
	{ .name = "kmod.canary", .caller_handler = method_canary, .params = canary_params,
	  .access = RPC_WRITE },
	{ .name = "kmod.canary_stop", .caller_handler = method_canary_stop, .params = no_params,
	  .access = RPC_WRITE },
	{ NULL },
};

/* ---- metrics ---- */

static int kmod_metrics(void *state, struct strbuf *sb)
{
	struct kmod_state *st = state;
	const struct kvmscope_canary_report *r = &st->rep;
	static const char *const bodies[] = { "neither", "original", "replacement" };
	uint64_t v = violations_total(r);
	int rc;

	rc = metrics_family(sb, "kvmscope_kmod_loaded", "gauge",
			    "1 while kvmscope.ko is loaded and answered the handshake.");
	if (rc >= 0)
		rc = metrics_sample(sb, "kvmscope_kmod_loaded", NULL, 0, st->loaded);
	if (!st->have_rep || rc < 0)
		return rc;
	rc = metrics_family(sb, "kvmscope_canary_calls_total", "counter",
			    "Calls of the consistency canary in its last run, by the body that ran.");
	for (int b = 0; b < 3 && rc >= 0; b++) {
		struct metrics_label l = { "body", bodies[b] };

		rc = metrics_sample(sb, "kvmscope_canary_calls_total", &l, 1, r->calls[b]);
	}
	if (rc >= 0)
		rc = metrics_family(sb, "kvmscope_canary_updates_total", "counter",
				    "Call-site rewrites the canary's updater completed in its last run.");
	if (rc >= 0)
		rc = metrics_sample(sb, "kvmscope_canary_updates_total", NULL, 0, r->updates);
	if (rc >= 0)
		rc = metrics_family(sb, "kvmscope_canary_violations_total", "counter",
				    "Calls that broke the patching invariant in the canary's last run.");
	if (rc >= 0)
		rc = metrics_sample(sb, "kvmscope_canary_violations_total", NULL, 0, v);
	if (rc >= 0)
		rc = metrics_family(sb, "kvmscope_canary_running", "gauge",
				    "1 while a consistency canary run is in progress.");
	if (rc >= 0)
		rc = metrics_sample(sb, "kvmscope_canary_running", NULL, 0, canary_running(st));
	return rc;
}

static void kmod_free(void *state)
{
	struct kmod_state *st = state;

	if (!st)
		return;
	if (st->dev >= 0) {
		if (st->loaded_by_us)
			ioctl(st->dev, KVMSCOPE_IOC_CANARY_STOP);
		close(st->dev);
	}
	if (st->loaded && st->loaded_by_us) {
		unload_module(st->loaded_name);
		log_info("kmod: unloaded %s", st->loaded_name);
	}
	free(st);
}

const struct capability_ops kmod_capability = {
	.name = "kmod",
	.probe = kmod_probe,
	.attach = kmod_attach,
	.collect = kmod_collect,
	.describe = kmod_describe,
	.metrics = kmod_metrics,
	.free = kmod_free,
	.required = kmod_required,
	.probe_first = true,
	.methods = kmod_methods,
};
