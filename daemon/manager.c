// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Manager: owns the event loop, the VM registry and the capability
 * table, and serves the core JSON-RPC methods (status, vms.list, metrics).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <search.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "bpfstats.h"
#include "config.h"
#include "http.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "progprobe.h"
#include "server.h"
#include "strbuf.h"


struct capability_instance {
	const struct capability_ops *ops;
	void *state;
	int probe_error;		/* probe() result when negative */
	int attached;			/* attach() result */
};

struct manager {
	sd_event *event;
	struct daemon_options opts;
	char kernel_release[65];
	char kvm_backend[32];
	uint64_t start_mono_usec;
	struct pidns_info pidns;	/* read once at start */

	struct vm **vms;
	size_t n_vms;
	uint64_t next_vm_id;
	void *live_by_pid;		/* tsearch tree of the live VMs, by pid */
	void *exited_by_pid;		/* and of the newest retained exited VM of each pid */

	struct capability_instance *caps;
	size_t n_caps;
	json_t *program_types;		/* progprobe_run() result, NULL if it failed */
	struct events_hub *events;

	struct rpc_registry rpc;
	struct server *server;
	struct http *http;
	sd_event_source *tick_source;
	manager_reload_fn reload;
	uint64_t tick_count;
	uint64_t tick_last_usec, tick_max_usec;	/* how long reading kernel state took */
	size_t n_running;		/* live VMs in the registry */
	/*
	 * /metrics changes only when the snapshot or the registry does: the
	 * text is kept and served again until then (state_gen moves on).
	 */
	uint64_t state_gen, metrics_gen;
	struct strbuf metrics_cache;
	bool metrics_cached;
};

/* Every capability the daemon has, in the order status lists them. */
static const struct capability_ops *const capability_table[] = {
	&exits_capability,
	&ioctls_capability,
	&livepatch_capability,
	&kmod_capability,
};

void *manager_capability_state(struct manager *m, const struct capability_ops *ops)
{
	for (size_t i = 0; i < m->n_caps; i++)
		if (m->caps[i].ops == ops)
			return m->caps[i].state;
	return NULL;
}

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void detect_kvm_backend(struct manager *m)
{
	static const char *const backends[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
	char path[64];

	snprintf(m->kvm_backend, sizeof(m->kvm_backend), "none");
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", backends[i]);
		if (path_exists(path)) {
			snprintf(m->kvm_backend, sizeof(m->kvm_backend), "%s", backends[i]);
			return;
		}
	}
#if defined(__aarch64__)
	/* arm64 KVM is part of the kernel (CONFIG_KVM=y): /dev/kvm says it runs. */
	if (path_exists("/dev/kvm"))
		snprintf(m->kvm_backend, sizeof(m->kvm_backend), "kvm_arm64");
#endif
}

const char *vm_display_name(const struct vm *vm, char *buf, size_t len)
{
	if (vm->ident.name[0])
		return vm->ident.name;
	if (vm->ident.libvirt_domain[0])
		return vm->ident.libvirt_domain;
	if (vm->ident.comm[0])
		return vm->ident.comm;
	snprintf(buf, len, "pid-%u", vm->pid);
	return buf;
}

static json_t *usec_to_json_time(uint64_t usec)
{
	return usec ? json_real((double)usec / 1e6) : json_null();
}

json_t *vm_to_json(const struct vm *vm)
{
	const struct vm_identity *id = &vm->ident;
	json_t *libvirt = id->libvirt_domain[0] ?
		json_pack("{s:s, s:i}", "domain", id->libvirt_domain, "id", id->libvirt_id) : json_null();

	return json_pack("{s:I, s:s, s:s?, s:s?, s:o, s:s?, s:s, s:o, s:o}", "pid",
			 (json_int_t)vm->pid, "comm", id->comm, "name", id->name[0] ? id->name : NULL,
			 "uuid", id->uuid[0] ? id->uuid : NULL, "libvirt", libvirt, "cgroup",
			 id->cgroup[0] ? id->cgroup : NULL, "state", vm->exited ? "exited" : "running",
			 "first_seen", usec_to_json_time(vm->first_seen_usec), "exited_at",
			 usec_to_json_time(vm->exited_usec));
}

/* ---- VM registry ---- */

static int vm_pid_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct vm *)a)->pid, y = ((const struct vm *)b)->pid;

	return x < y ? -1 : x > y;
}

/* O(log n): the tick and every VM event look processes up here. */
struct vm *manager_vm_find_live(struct manager *m, uint32_t pid)
{
	struct vm key = { .pid = pid };
	struct vm **found = tfind(&key, &m->live_by_pid, vm_pid_cmp);

	return found ? *found : NULL;
}

struct vm *manager_vm_find(struct manager *m, uint32_t pid)
{
	struct vm key = { .pid = pid }, *vm = manager_vm_find_live(m, pid), **found;

	if (vm)
		return vm;
	/* The newest retained VM with that pid (pids are reused). */
	found = tfind(&key, &m->exited_by_pid, vm_pid_cmp);
	return found ? *found : NULL;
}

sd_event *manager_event(struct manager *m)
{
	return m->event;
}

const struct daemon_options *manager_options(const struct manager *m)
{
	return &m->opts;
}

const char *manager_kvm_backend(const struct manager *m)
{
	return m->kvm_backend;
}

size_t manager_vm_count(const struct manager *m)
{
	return m->n_vms;
}

struct vm *manager_vm_at(const struct manager *m, size_t i)
{
	return i < m->n_vms ? m->vms[i] : NULL;
}

static void vm_mark_exited(struct vm *vm)
{
	struct manager *m = vm->manager;

	if (vm->exited)
		return;
	vm->exited = true;
	tdelete(vm, &m->live_by_pid, vm_pid_cmp);
	{
		struct vm **node = tsearch(vm, &m->exited_by_pid, vm_pid_cmp);

		if (node)
			*node = vm;	/* the newest of this pid */
	}
	m->n_running--;
	manager_state_changed(m);
	vm->exited_usec = now_usec(CLOCK_REALTIME);
	vm->exited_mono_usec = now_usec(CLOCK_MONOTONIC);
	vm->pidfd_source = sd_event_source_disable_unref(vm->pidfd_source);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	log_info("VM pid %u (%s) exited", vm->pid, vm->ident.comm);
	for (size_t i = 0; i < m->n_caps; i++)
		if (m->caps[i].state && m->caps[i].ops->vm_exited)
			m->caps[i].ops->vm_exited(m->caps[i].state, vm);
	events_hub_vm(m->events, "exit", vm);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	vm_mark_exited(userdata);
	return 0;
}

static void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	sd_event_source_disable_unref(vm->pidfd_source);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	free(vm);
}

/* The process is alive and /proc/PID still describes it (not a reused pid). */
static bool vm_still_same(const struct vm *vm)
{
	struct vm_identity now;

	if (vm_identity_read("/proc", (pid_t)vm->pid, &now) < 0)
		return false;
	return !vm->identity_known || now.start_time == vm->ident.start_time;
}

struct vm *manager_vm_note(struct manager *m, uint32_t pid, const char *comm_hint)
{
	return manager_vm_note_at(m, pid, comm_hint, 0);
}

struct vm *manager_vm_note_at(struct manager *m, uint32_t pid, const char *comm_hint,
			      uint64_t seen_mono_ns)
{
	struct vm *vm = manager_vm_find_live(m, pid), **v;
	int r;

	if (vm)
		return vm;
	/* The daemon's own KVM calls (a capability's self-test) make it no VM. */
	if (pid == (uint32_t)getpid())
		return NULL;
	/*
	 * News of a process that is gone already and that we followed: its VM
	 * event was still in the ring when its pidfd said it exited.  It is
	 * that VM, not a new one (which would share its counts).
	 */
	vm = manager_vm_find(m, pid);
	if (vm) {
		struct vm_identity now;

		/*
		 * Gone, or a zombie of the same start time: the same process,
		 * unless the news is from after we saw that one exit (a pid
		 * reused by a VM that went before we could read its /proc).
		 */
		if (seen_mono_ns && seen_mono_ns / 1000 > vm->exited_mono_usec)
			log_debug("VM pid %u: seen using KVM after the retained VM of that pid exited: a new VM",
				  pid);
		else if (vm_identity_read("/proc", (pid_t)pid, &now) < 0 ||
			 (vm->identity_known && now.start_time == vm->ident.start_time))
			return vm;
	}
	v = realloc(m->vms, (m->n_vms + 1) * sizeof(*v));
	if (!v)
		return NULL;
	m->vms = v;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->id = ++m->next_vm_id;
	vm->pid = pid;
	vm->pidfd = -1;
	vm->manager = m;
	vm->first_seen_usec = now_usec(CLOCK_REALTIME);
	m->vms[m->n_vms++] = vm;
	if (!tsearch(vm, &m->live_by_pid, vm_pid_cmp)) {
		m->n_vms--;
		free(vm);
		return NULL;
	}
	m->n_running++;
	manager_state_changed(m);

	/* A pidfd tells us the moment the process exits, with no polling. */
	vm->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	r = vm_identity_read("/proc", (pid_t)pid, &vm->ident);
	if (r == 0 && vm->pidfd >= 0) {
		vm->identity_known = true;
		/* If the pidfd is readable already, the /proc data may be a newer process's. */
		r = sd_event_add_io(m->event, &vm->pidfd_source, vm->pidfd, EPOLLIN, on_pidfd, vm);
		if (r < 0)
			log_warning_errno(r, "Cannot watch pid %u for exit: %m", pid);
	}
	if (comm_hint && !vm->ident.comm[0]) {
		snprintf(vm->ident.comm, sizeof(vm->ident.comm), "%.16s", comm_hint);
		utf8_sanitize(vm->ident.comm);
	}
	log_info("VM pid %u (%s%s%s) seen", pid, vm->ident.comm, vm->ident.name[0] ? ", guest " : "",
		 vm->ident.name);
	events_hub_vm(m->events, "start", vm);
	if (vm->pidfd < 0 || !vm->identity_known)
		vm_mark_exited(vm);	/* already gone when we heard of it */
	return vm;
}

static void free_nothing(void *p)
{
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Forget exited VMs past --retain-exited, and the oldest beyond
 * --retain-max; one pass over the registry, whatever the number forgotten.
 */
static void expire_exited_vms(struct manager *m)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	uint64_t keep = m->opts.retain_exited_sec * 1000000ULL, cutoff = 0;
	size_t n_exited = 0, w = 0;

	for (size_t i = 0; i < m->n_vms; i++) {
		struct vm *vm = m->vms[i];

		/* Without a pidfd watch, liveness is checked here. */
		if (!vm->exited && !vm->pidfd_source && !vm_still_same(vm))
			vm_mark_exited(vm);
		n_exited += vm->exited;
	}
	if (n_exited > m->opts.retain_exited_max) {
		uint64_t *times = calloc(n_exited, sizeof(*times));
		size_t k = 0, excess = n_exited - m->opts.retain_exited_max;

		if (times) {
			for (size_t i = 0; i < m->n_vms; i++)
				if (m->vms[i]->exited)
					times[k++] = m->vms[i]->exited_mono_usec;
			qsort(times, k, sizeof(*times), u64_cmp);
			cutoff = times[excess - 1] + 1;
			free(times);
		}
	}
	for (size_t i = 0; i < m->n_vms; i++) {
		struct vm *vm = m->vms[i];

		if (vm->exited && (now - vm->exited_mono_usec >= keep || vm->exited_mono_usec < cutoff)) {
			struct vm **node = tfind(vm, &m->exited_by_pid, vm_pid_cmp);

			log_debug("Forgetting exited VM pid %u", vm->pid);
			if (node && *node == vm)
				tdelete(vm, &m->exited_by_pid, vm_pid_cmp);
			for (size_t c = 0; c < m->n_caps; c++)
				if (m->caps[c].state && m->caps[c].ops->vm_forget)
					m->caps[c].ops->vm_forget(m->caps[c].state, vm);
			vm_free(vm);
			continue;
		}
		m->vms[w++] = vm;
	}
	m->n_vms = w;
}

/* Find processes that hold a KVM VM file already (started before us). */
static void scan_proc_for_vms(struct manager *m)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;

	if (!proc)
		return;
	while ((de = readdir(proc))) {
		char path[300], link[128];
		DIR *fds;
		struct dirent *fe;
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%lu/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%lu/fd/%s", pid, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (!strcmp(link, "anon_inode:kvm-vm")) {
				manager_vm_note(m, (uint32_t)pid, NULL);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

void manager_refresh(struct manager *m)
{
	for (size_t i = 0; i < m->n_caps; i++)
		if (m->caps[i].state && m->caps[i].ops->collect)
			m->caps[i].ops->collect(m->caps[i].state);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	uint64_t start = now_usec(CLOCK_MONOTONIC), took;

	m->tick_count++;
	manager_refresh(m);
	expire_exited_vms(m);
	manager_state_changed(m);
	events_hub_tick(m->events);
	took = now_usec(CLOCK_MONOTONIC) - start;
	m->tick_last_usec = took;
	if (took > m->tick_max_usec)
		m->tick_max_usec = took;
	sd_event_source_set_time(s, usec + m->opts.tick_ms * 1000ULL);
	return 0;
}

/* ---- core JSON-RPC methods ---- */

static json_t *method_status(void *userdata, json_t *params, struct rpc_error *err)
{
	struct manager *m = userdata;
	json_t *caps = json_array(), *metrics, *out;
	size_t running = 0;
	char addr[96];

	for (size_t i = 0; i < m->n_caps; i++) {
		struct capability_instance *c = &m->caps[i];
		json_t *d = c->state && c->ops->describe ? c->ops->describe(c->state) : json_object();

		json_object_set_new(d, "name", json_string(c->ops->name));
		if (!c->state)
			json_object_set_new(d, "error", json_string(strerror(-c->probe_error)));
		json_array_append_new(caps, d);
	}
	running = m->n_running;
	if (m->opts.metrics_enabled) {
		snprintf(addr, sizeof(addr), strchr(m->opts.metrics_host, ':') ? "[%s]:%u" : "%s:%u",
			 m->opts.metrics_host, http_port(m->http));
		metrics = json_string(addr);
	} else {
		metrics = json_null();
	}
	out = json_pack("{s:s, s:s, s:s, s:I, s:o, s:f, s:s, s:b, s:o, s:I, s:{s:I, s:I}, s:o, s:O?}",
			 "version", KVMSCOPE_VERSION, "kernel", m->kernel_release,
			 "kvm_backend", m->kvm_backend,
			 "pid", (json_int_t)getpid(), "pid_namespace", pidns_to_json(&m->pidns),
			 "uptime_seconds",
			 (double)(now_usec(CLOCK_MONOTONIC) - m->start_mono_usec) / 1e6, "socket",
			 server_path(m->server), "socket_activated", server_activated(m->server),
			 "metrics", metrics, "retain_exited_seconds",
			 (json_int_t)m->opts.retain_exited_sec, "vms", "running", (json_int_t)running,
			 "exited", (json_int_t)(m->n_vms - running), "capabilities", caps,
			 "program_types", m->program_types);
	/* How long the last tick took to read kernel state into the snapshot. */
	if (out)
		json_object_set_new(out, "tick", json_pack("{s:I, s:I, s:f, s:f}", "interval_ms",
			(json_int_t)m->opts.tick_ms, "count", (json_int_t)m->tick_count, "last_ms",
			(double)m->tick_last_usec / 1000.0, "max_ms", (double)m->tick_max_usec / 1000.0));
	return out;
}

static json_t *method_vms_list(void *userdata, json_t *params, struct rpc_error *err)
{
	struct manager *m = userdata;
	json_t *vms = json_array();

	for (size_t i = 0; i < m->n_vms; i++)
		json_array_append_new(vms, vm_to_json(m->vms[i]));
	return json_pack("{s:o}", "vms", vms);
}

void manager_state_changed(struct manager *m)
{
	m->state_gen++;
}

static int metrics_render(struct manager *m, struct strbuf *sb)
{
	struct metrics_label version = { "version", KVMSCOPE_VERSION };
	int r;

	r = metrics_family(sb, "kvmscope_up", "gauge", "1 while kvmscoped is running.");
	if (r >= 0)
		r = metrics_sample(sb, "kvmscope_up", NULL, 0, 1);
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_build_info", "gauge",
				   "Always 1; the version label names the build.");
	if (r >= 0)
		r = metrics_sample(sb, "kvmscope_build_info", &version, 1, 1);
	for (size_t i = 0; i < m->n_caps && r >= 0; i++)
		if (m->caps[i].state && m->caps[i].ops->metrics)
			r = m->caps[i].ops->metrics(m->caps[i].state, sb);
	/* Every capability's programs in one set of families. */
	if (r >= 0) {
		const struct bpfstats **sets = calloc(m->n_caps ? m->n_caps : 1, sizeof(*sets));
		size_t n = 0;

		if (!sets)
			return -ENOMEM;
		for (size_t i = 0; i < m->n_caps; i++)
			if (m->caps[i].state && m->caps[i].ops->bpf_cost)
				sets[n++] = m->caps[i].ops->bpf_cost(m->caps[i].state);
		r = bpfstats_metrics(sb, sets, n);
		free(sets);
	}
	return r;
}

int manager_metrics(struct manager *m, struct strbuf *sb)
{
	if (!m->metrics_cached || m->metrics_gen != m->state_gen) {
		strbuf_free(&m->metrics_cache);
		strbuf_init(&m->metrics_cache, 0);
		m->metrics_cached = false;
		if (metrics_render(m, &m->metrics_cache) < 0)
			return -ENOMEM;
		m->metrics_cached = true;
		m->metrics_gen = m->state_gen;
	}
	return strbuf_append(sb, m->metrics_cache.data ? m->metrics_cache.data : "",
			     m->metrics_cache.len);
}

static json_t *method_metrics(void *userdata, json_t *params, struct rpc_error *err)
{
	struct strbuf sb;
	json_t *result;

	strbuf_init(&sb, 0);
	if (manager_metrics(userdata, &sb) < 0) {
		strbuf_free(&sb);
		rpc_error_set(err, RPC_INTERNAL_ERROR, "cannot format metrics: out of memory");
		return NULL;
	}
	result = json_pack("{s:s, s:s%}", "content_type", METRICS_CONTENT_TYPE, "text",
			   sb.data ? sb.data : "", sb.len);
	strbuf_free(&sb);
	return result;
}

static const struct rpc_method core_methods[] = {
	{ .name = "status", .handler = method_status, .params = NULL, .access = RPC_READ },
	{ .name = "vms.list", .handler = method_vms_list, .params = NULL, .access = RPC_READ },
	{ .name = "metrics", .handler = method_metrics, .params = NULL, .access = RPC_READ },
	{}
};

/* ---- lifecycle ---- */

int manager_new(const struct daemon_options *opts, struct manager **ret)
{
	struct manager *m;
	struct utsname u;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->opts = *opts;
	m->start_mono_usec = now_usec(CLOCK_MONOTONIC);
	if (uname(&u) == 0)
		snprintf(m->kernel_release, sizeof(m->kernel_release), "%s", u.release);
	detect_kvm_backend(m);
	pidns_read("/proc", &m->pidns);
	if (m->pidns.initial != 1)
		log_warning("%s", pidns_warning(&m->pidns));

	r = sd_event_default(&m->event);
	if (r < 0)
		goto fail;
	r = rpc_register(&m->rpc, core_methods, m);
	if (r < 0)
		goto fail;
	r = events_hub_new(m, &m->events);
	if (r < 0)
		goto fail;
	r = rpc_register(&m->rpc, events_methods, m);
	if (r < 0)
		goto fail;
	*ret = m;
	return 0;
fail:
	manager_free(m);
	return r;
}

struct manager *manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	/* The server first: its clients' disconnect hook reaches the hub. */
	server_free(m->server);
	http_free(m->http);
	events_hub_free(m->events);
	tdestroy(m->live_by_pid, free_nothing);
	tdestroy(m->exited_by_pid, free_nothing);
	for (size_t i = 0; i < m->n_vms; i++)
		vm_free(m->vms[i]);
	free(m->vms);
	for (size_t i = 0; i < m->n_caps; i++)
		if (m->caps[i].state)
			m->caps[i].ops->free(m->caps[i].state);
	free(m->caps);
	json_decref(m->program_types);
	strbuf_free(&m->metrics_cache);
	rpc_registry_free(&m->rpc);
	sd_event_source_disable_unref(m->tick_source);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

/* tracefs and bpffs: mount them where the kernel has them but nobody mounted them. */
static void ensure_mounted(const char *type, const char *target, unsigned long magic)
{
	struct statfs sfs;

	if (statfs(target, &sfs) == 0 && (unsigned long)sfs.f_type == magic)
		return;
	if (mount(type, target, type, 0, NULL) == 0)
		log_info("Mounted %s on %s", type, target);
	else
		log_warning_errno(errno, "Cannot mount %s on %s: %m", type, target);
}

void manager_set_reload(struct manager *m, manager_reload_fn reload)
{
	m->reload = reload;
}

/*
 * SIGHUP: the configuration again.  Reloadable keys apply at once; a
 * changed key that is not is logged as waiting for a restart; a bad file
 * changes nothing and says where it is wrong.
 */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;
	struct daemon_options fresh;
	char err[512], was[300], now[300];
	unsigned int applied = 0, waiting = 0;

	if (!m->reload) {
		log_warning("Received SIGHUP: no configuration to reload");
		return 0;
	}
	sd_notify(0, "RELOADING=1");
	if (m->reload(&fresh, err, sizeof(err)) < 0) {
		log_error("Reload: %s; the running configuration stays", err);
		sd_notify(0, "READY=1");
		return 0;
	}
	for (size_t i = 0; i < config_key_count(); i++) {
		const char *key = config_key_name(i);

		config_key_value(&m->opts, i, was, sizeof(was));
		config_key_value(&fresh, i, now, sizeof(now));
		if (!strcmp(was, now))
			continue;
		if (!config_key_reloadable(i)) {
			log_warning("Reload: [%s] %s changed from '%s' to '%s': it takes effect at the next start",
				    config_key_section(i), key, was, now);
			waiting++;
			continue;
		}
		if (!strcmp(key, "log-level")) {
			m->opts.log_level = fresh.log_level;
			log_set_max_level(fresh.log_level);
		} else if (!strcmp(key, "client-timeout")) {
			m->opts.client_timeout_sec = fresh.client_timeout_sec;
			server_set_client_timeout(m->server, fresh.client_timeout_sec);
		} else if (!strcmp(key, "retain-exited")) {
			m->opts.retain_exited_sec = fresh.retain_exited_sec;
		} else if (!strcmp(key, "retain-max")) {
			m->opts.retain_exited_max = fresh.retain_exited_max;
		} else if (!strcmp(key, "patch-stall")) {
			m->opts.patch_stall_sec = fresh.patch_stall_sec;
		}
		log_notice("Reload: [%s] %s is now '%s' (was '%s')", config_key_section(i), key, now, was);
		applied++;
	}
	log_info("Reloaded the configuration: %u keys applied, %u waiting for a restart", applied,
		 waiting);
	manager_state_changed(m);
	sd_notify(0, "READY=1");
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;

	log_info("Received %s, shutting down", strsignal((int)si->ssi_signo));
	sd_notify(0, "STOPPING=1");
	return sd_event_exit(m->event, 0);
}

struct events_hub *manager_events(struct manager *m)
{
	return m->events;
}

/*
 * From the table, not from what probed: a topic whose capability is
 * unavailable here can still be subscribed to (and stays quiet), so a
 * client works the same on every host.
 */
const char *manager_topic(size_t i)
{
	if (i == 0)
		return "vm";
	i--;
	for (size_t c = 0; c < sizeof(capability_table) / sizeof(capability_table[0]); c++) {
		const char *const *t = capability_table[c]->topics;

		for (; t && *t; t++)
			if (i-- == 0)
				return *t;
	}
	return NULL;
}

bool manager_topic_on_request(const char *name)
{
	for (size_t c = 0; c < sizeof(capability_table) / sizeof(capability_table[0]); c++)
		for (const char *const *t = capability_table[c]->topics_on_request; t && *t; t++)
			if (!strcmp(*t, name))
				return true;
	return false;
}

void manager_set_stream_filter(struct manager *m, const char *topic, const struct stream_filter *f)
{
	for (size_t i = 0; i < m->n_caps; i++) {
		const struct capability_ops *ops = m->caps[i].ops;
		const char *const *t = ops->topics;

		if (!m->caps[i].state || !ops->stream_filter)
			continue;
		for (; t && *t; t++)
			if (!strcmp(*t, topic))
				ops->stream_filter(m->caps[i].state, topic, f);
	}
}

static void on_client_gone(struct client *c, void *userdata)
{
	struct manager *m = userdata;

	events_hub_client_gone(m->events, c);
}

int manager_start(struct manager *m)
{
	sigset_t mask;
	int r;

	/* The socket first: a second daemon must fail before touching BPF. */
	r = server_new(m->event, &m->opts, &m->rpc, &m->server);
	if (r < 0)
		return r;
	server_set_disconnect_hook(m->server, on_client_gone, m);

	ensure_mounted("tracefs", "/sys/kernel/tracing", TRACEFS_MAGIC);
	ensure_mounted("bpf", "/sys/fs/bpf", BPF_FS_MAGIC);
	/* KVM's own statistics (kvm_stat's debugfs mode). */
	ensure_mounted("debugfs", "/sys/kernel/debug", DEBUGFS_MAGIC);

	progprobe_libbpf_log_install();
	m->n_caps = sizeof(capability_table) / sizeof(capability_table[0]);
	m->caps = calloc(m->n_caps, sizeof(*m->caps));
	if (!m->caps)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_caps; i++)
		m->caps[i].ops = capability_table[i];
	/* Those the others use first; status keeps the table's order. */
	for (size_t n = 0; n < 2 * m->n_caps; n++) {
		struct capability_instance *c = &m->caps[n % m->n_caps];

		if (c->ops->probe_first != (n < m->n_caps))
			continue;
		r = c->ops->probe(m, &c->state);
		if (r < 0) {
			c->probe_error = r;
			c->state = NULL;
			log_warning_errno(r, "Capability %s is unavailable: %m", c->ops->name);
			continue;
		}
		c->attached = c->ops->attach(c->state);
		if (c->attached < 0 && c->ops->required && c->ops->required(c->state))
			return c->attached;
		if (c->attached < 0)
			log_warning_errno(c->attached, "Capability %s attached nothing: %m",
					  c->ops->name);
		if (c->ops->methods) {
			r = rpc_register(&m->rpc, c->ops->methods, c->state);
			if (r < 0)
				return r;
		}
	}

	/*
	 * After the capabilities, so that libbpf's log already goes through
	 * the daemon's callback; a failure only leaves program_types null.
	 */
	r = progprobe_run(&m->program_types);
	if (r < 0)
		log_warning_errno(r, "Cannot probe BPF program types: %m");

	if (m->opts.metrics_enabled) {
		r = http_new(m->event, m->opts.metrics_host, m->opts.metrics_port, m, &m->http);
		if (r < 0)
			return r;
	}

	scan_proc_for_vms(m);
	manager_refresh(m);
	/* Accept clients only now that every probe is attached. */
	r = server_listen(m->server);
	if (r < 0)
		return r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
	if (r >= 0)
		r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
	if (r < 0)
		return log_error_errno(r, "Cannot install signal handlers: %m");
	r = sd_event_add_time_relative(m->event, &m->tick_source, CLOCK_MONOTONIC,
				       m->opts.tick_ms * 1000ULL, 0,
				       on_tick, m);
	if (r < 0)
		return log_error_errno(r, "Cannot add the tick timer: %m");
	sd_event_source_set_enabled(m->tick_source, SD_EVENT_ON);
	/* Pings the service manager's watchdog when WatchdogSec= is set. */
	sd_event_set_watchdog(m->event, true);
	return 0;
}

int manager_run(struct manager *m)
{
	sd_notifyf(0, "READY=1\nSTATUS=Serving %s", server_path(m->server));
	if (m->opts.metrics_enabled)
		log_info("kvmscoped %s ready: socket %s%s, metrics http://%s%s%s:%u/metrics",
			 KVMSCOPE_VERSION, server_path(m->server),
			 server_activated(m->server) ? " (from the service manager)" : "",
			 strchr(m->opts.metrics_host, ':') ? "[" : "", m->opts.metrics_host,
			 strchr(m->opts.metrics_host, ':') ? "]" : "", http_port(m->http));
	else
		log_info("kvmscoped %s ready: socket %s%s, metrics off", KVMSCOPE_VERSION,
			 server_path(m->server),
			 server_activated(m->server) ? " (from the service manager)" : "");
	return sd_event_loop(m->event);
}
