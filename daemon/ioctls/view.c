// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioctls.get, launch.get and the ioctls capability's Prometheus families,
 * from the tick's snapshot (a live VM) or the VM's own records (exited).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "hist.h"
#include "ioctls/ioctls.h"
#include "manager.h"
#include "metrics.h"

static enum vm_protection protection_of(struct ioctls_state *st, const struct vm *vm,
					const char **state)
{
	struct ioctl_vm *iv = ioctls_vm(st, vm, false);

	*state = iv && iv->launch.state ? iv->launch.state : "unknown";
	return iv ? iv->launch.protection : PROTECTION_NONE;
}

/*
 * The decoded outcome of a call whose structure the kernel wrote back
 * into; every key is always there (null where it does not apply), so a
 * record has one shape whatever the ioctl.
 */
static void detail_json(json_t *o, const struct ioctl_cmds *c, enum vm_protection p, uint32_t cmd,
			uint32_t detail, uint64_t detail64)
{
	json_t *fw = json_null(), *fw_name = json_null(), *hw = json_null(), *rc = json_null();
	json_t *rrc = json_null(), *meaning = json_null(), *features = json_null();
	char buf[96];

	if (cmd == KVMSCOPE_IOCTL_CMD_FOLDED) {
		/* A VM's folded key: no detail (and request 0 is what an arch lacks). */
	} else if (cmd == c->memory_encrypt_op && p == PROTECTION_TDX) {
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)detail64);
		json_decref(hw);
		hw = json_string(buf);
	} else if (cmd == c->memory_encrypt_op) {
		const char *n = sev_error_name(detail);

		json_decref(fw);
		fw = json_integer(detail);
		if (n) {
			json_decref(fw_name);
			fw_name = json_string(n);
		}
	} else if (cmd == c->pv_command || cmd == c->pv_cpu_command) {
		const char *m = pv_rc_meaning((uint16_t)(detail >> 16));

		snprintf(buf, sizeof(buf), "0x%x", detail >> 16);
		json_decref(rc);
		rc = json_string(buf);
		snprintf(buf, sizeof(buf), "0x%x", detail & 0xffff);
		json_decref(rrc);
		rrc = json_string(buf);
		if (m) {
			json_decref(meaning);
			meaning = json_string(m);
		}
	} else if (cmd == c->arm_vcpu_init) {
		json_decref(features);
		features = json_string(arm_vcpu_features_text(detail, buf, sizeof(buf)));
	}
	json_object_set_new(o, "fw_error", fw);
	json_object_set_new(o, "fw_error_name", fw_name);
	json_object_set_new(o, "hw_error", hw);
	json_object_set_new(o, "rc", rc);
	json_object_set_new(o, "rrc", rrc);
	json_object_set_new(o, "rc_meaning", meaning);
	json_object_set_new(o, "features", features);
}

/* Sub-command (or type, capability, target) by name, and as a number; null where none. */
static void sub_json(json_t *o, const struct ioctl_cmds *c, enum vm_protection p, uint32_t cmd,
		     uint32_t sub)
{
	char buf[96];
	const char *n = cmd == c->set_cpuid2 ? NULL :
			ioctl_sub_name(c, p, cmd, sub, buf, sizeof(buf));

	json_object_set_new(o, "cmd", n ? json_string(n) : json_null());
	json_object_set_new(o, "sub", n ? json_integer(sub) : json_null());
	if (cmd == c->set_cpuid2) {
		snprintf(buf, sizeof(buf), "0x%x", sub);
		json_object_set_new(o, "kvm_pv_features", json_string(buf));
	} else {
		json_object_set_new(o, "kvm_pv_features", json_null());
	}
}

static int by_count_desc(const void *a, const void *b)
{
	const struct ioctl_record *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->key.cmd < y->key.cmd ? -1 : x->key.cmd > y->key.cmd;
}

static json_t *record_json(struct ioctls_state *st, enum vm_protection p,
			   const struct ioctl_record *r)
{
	char name[96], res[32], req[16];
	json_t *o;

	snprintf(req, sizeof(req), "0x%x", r->key.cmd);
	o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:o}",
		      "ioctl", ioctl_name_or_number(r->key.cmd, r->key.kind, st->cmds.arch, name,
						    sizeof(name)),
		      "request", req, "fd", fd_kind_name(r->key.kind),
		      "vcpu", r->key.vcpu == KVMSCOPE_VCPU_UNKNOWN ? json_null() :
			      json_integer(r->key.vcpu),
		      "result", ioctl_result_name(r->key.result, res, sizeof(res)),
		      "count", (json_int_t)r->count,
		      "time", r->key.cmd == st->cmds.kvm_run ? json_null() :
			      hist_to_json(&r->time, 0));
	sub_json(o, &st->cmds, p, r->key.cmd, r->key.sub);
	detail_json(o, &st->cmds, p, r->key.cmd, r->key.detail, 0);
	return o;
}

static json_t *vm_ioctls_json(struct ioctls_state *st, struct vm *vm, int64_t vcpu)
{
	size_t n;
	const struct ioctl_record *recs = ioctls_vm_records(st, vm, &n);
	struct ioctl_record *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
	uint64_t calls = 0, errors = 0;
	json_t *v = vm_to_json(vm), *list = json_array();
	enum vm_protection p;
	const char *state;
	size_t k = 0;

	for (size_t i = 0; i < n && sorted; i++)
		if (vcpu < 0 || recs[i].key.vcpu == (uint32_t)vcpu)
			sorted[k++] = recs[i];
	if (k > 1)
		qsort(sorted, k, sizeof(*sorted), by_count_desc);
	p = protection_of(st, vm, &state);
	for (size_t i = 0; i < k; i++) {
		calls += sorted[i].count;
		errors += sorted[i].key.result < 0 ? sorted[i].count : 0;
		json_array_append_new(list, record_json(st, p, &sorted[i]));
	}
	free(sorted);
	json_object_set_new(v, "protection", json_string(vm_protection_name(p)));
	json_object_set_new(v, "launch_state", json_string(state));
	json_object_set_new(v, "totals", json_pack("{s:I, s:I}", "calls", (json_int_t)calls,
						   "errors", (json_int_t)errors));
	json_object_set_new(v, "ioctls", list);
	return v;
}

/*
 * The VMs a request is about: params.pid's (every VM that had it, oldest
 * first) or every VM, each made into JSON by @fn.  NULL after filling @err.
 */
static json_t *vms_json(struct ioctls_state *st, json_t *params, struct rpc_error *err,
			json_t *(*fn)(struct ioctls_state *st, struct vm *vm, int64_t vcpu),
			int64_t vcpu)
{
	uint64_t pid = 0;
	int has_pid = rpc_param_uint(params, "pid", UINT32_MAX, &pid, err);
	json_t *vms;

	if (has_pid < 0)
		return NULL;
	if (!st->loaded) {
		rpc_error_set(err, RPC_UNAVAILABLE, "ioctls are not observed: %s", st->load_error);
		return NULL;
	}
	if (has_pid && !manager_vm_find(st->m, (uint32_t)pid)) {
		rpc_error_set(err, RPC_NOT_FOUND,
			      "no VM with pid %llu: not running, or exited longer ago than --retain-exited",
			      (unsigned long long)pid);
		return NULL;
	}
	/* Launch steps still on the ring belong in the answer. */
	if (st->rb)
		ring_buffer__consume(st->rb);
	vms = json_array();
	for (size_t i = 0, n = manager_vm_count(st->m); i < n; i++) {
		struct vm *vm = manager_vm_at(st->m, i);

		if (!has_pid || vm->pid == pid)
			json_array_append_new(vms, fn(st, vm, vcpu));
	}
	return json_pack("{s:o}", "vms", vms);
}

static json_t *method_ioctls_get(void *userdata, json_t *params, struct rpc_error *err)
{
	uint64_t vcpu = 0;
	int has_vcpu = rpc_param_uint(params, "vcpu", UINT32_MAX - 1, &vcpu, err);

	if (has_vcpu < 0)
		return NULL;
	return vms_json(userdata, params, err, vm_ioctls_json, has_vcpu ? (int64_t)vcpu : -1);
}

/* CLOCK_MONOTONIC ns (the ring's) as a CLOCK_REALTIME ISO 8601 time. */
static json_t *mono_to_iso(uint64_t mono_ns)
{
	struct timespec mono, real;
	int64_t delta;
	time_t secs;
	struct tm tm;
	char buf[64];
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	delta = ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
	ns = mono_ns + (uint64_t)delta;
	secs = (time_t)(ns / 1000000000u);
	gmtime_r(&secs, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ns % 1000000000u / 1000));
	return json_string(buf);
}

json_t *ioctls_launch_json(struct ioctls_state *st, const struct vm *vm, const struct ioctl_vm *iv)
{
	const struct launch *l = iv ? &iv->launch : NULL;
	json_t *steps = json_array(), *v;
	uint64_t t0 = l && l->n_steps ? l->steps[0].ts_ns : 0;

	for (size_t i = 0; l && i < l->n_steps; i++) {
		const struct launch_step *s = &l->steps[i];
		char name[96], ioctl[96], res[32];
		json_t *o;

		o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:f, s:I, s:I, s:s}",
			      "step", launch_step_name(&st->cmds, l->protection, s, name, sizeof(name)),
			      "ioctl", ioctl_name_or_number(s->cmd, s->kind, st->cmds.arch, ioctl,
							    sizeof(ioctl)),
			      "fd", fd_kind_name(s->kind),
			      "vcpu", s->vcpu == KVMSCOPE_VCPU_UNKNOWN ? json_null() :
				      json_integer(s->vcpu),
			      "count", (json_int_t)s->count,
			      "start", mono_to_iso(s->ts_ns),
			      "t_ms", (double)(s->ts_ns - t0) / 1e6,
			      "duration_ns", (json_int_t)s->duration_ns,
			      "last_end_ns_after_start", (json_int_t)(s->last_ns - s->ts_ns),
			      "result", ioctl_result_name(s->result, res, sizeof(res)));
		sub_json(o, &st->cmds, l->protection, s->cmd, s->sub);
		detail_json(o, &st->cmds, l->protection, s->cmd, s->detail, s->detail64);
		json_array_append_new(steps, o);
	}
	v = vm_to_json(vm);
	json_object_set_new(v, "protection",
			    json_string(vm_protection_name(l ? l->protection : PROTECTION_NONE)));
	json_object_set_new(v, "launch_state", json_string(l && l->state ? l->state : "unknown"));
	json_object_set_new(v, "failed_step", l && l->failed_step[0] ?
			    json_string(l->failed_step) : json_null());
	json_object_set_new(v, "dropped_steps", json_integer(l ? (json_int_t)l->dropped_steps : 0));
	json_object_set_new(v, "steps", steps);
	return v;
}

static json_t *vm_launch_json(struct ioctls_state *st, struct vm *vm, int64_t vcpu)
{
	return ioctls_launch_json(st, vm, ioctls_vm(st, vm, false));
}

static json_t *method_launch_get(void *userdata, json_t *params, struct rpc_error *err)
{
	return vms_json(userdata, params, err, vm_launch_json, -1);
}

static const char *const ioctls_get_params[] = { "pid", "vcpu", NULL };
static const char *const launch_get_params[] = { "pid", NULL };

const struct rpc_method ioctls_methods[] = {
	{ .name = "ioctls.get", .handler = method_ioctls_get, .params = ioctls_get_params },
	{ .name = "launch.get", .handler = method_launch_get, .params = launch_get_params },
	{ NULL },
};

/* ---- metrics ---- */

/* Records of one VM summed by (ioctl name, sub-command name, result). */
struct ioctl_sum {
	char ioctl[96], cmd[96], result[32];
	uint64_t count;
	struct kvmscope_hist time;
	bool timed;
};

static int ioctl_sum_cmp(const void *a, const void *b)
{
	const struct ioctl_sum *x = a, *y = b;
	int c = strcmp(x->ioctl, y->ioctl);

	if (!c)
		c = strcmp(x->cmd, y->cmd);
	return c ? c : strcmp(x->result, y->result);
}

static size_t vm_sums(struct ioctls_state *st, const struct vm *vm, enum vm_protection p,
		      struct ioctl_sum **out)
{
	size_t n, k = 0;
	const struct ioctl_record *recs = ioctls_vm_records(st, vm, &n);
	struct ioctl_sum *sums = n ? calloc(n, sizeof(*sums)) : NULL;

	for (size_t i = 0; i < n && sums; i++) {
		const struct ioctl_record *r = &recs[i];
		struct ioctl_sum s = { 0 };
		const char *sub;
		size_t j;

		{
			const char *in = ioctl_name_or_number(r->key.cmd, r->key.kind, st->cmds.arch,
							      s.ioctl, sizeof(s.ioctl));

			if (in != s.ioctl)
				snprintf(s.ioctl, sizeof(s.ioctl), "%s", in);
		}
		sub = r->key.cmd == st->cmds.set_cpuid2 ? NULL :
		      ioctl_sub_name(&st->cmds, p, r->key.cmd, r->key.sub, s.cmd, sizeof(s.cmd));
		if (sub && sub != s.cmd)
			snprintf(s.cmd, sizeof(s.cmd), "%s", sub);
		else if (!sub)
			s.cmd[0] = '\0';
		ioctl_result_name(r->key.result, s.result, sizeof(s.result));
		for (j = 0; j < k; j++)
			if (!ioctl_sum_cmp(&sums[j], &s))
				break;
		if (j == k)
			sums[k++] = s;
		sums[j].count += r->count;
		if (r->key.cmd != st->cmds.kvm_run) {
			sums[j].timed = true;
			hist_merge(&sums[j].time, &r->time);
		}
	}
	if (k > 1)
		qsort(sums, k, sizeof(*sums), ioctl_sum_cmp);
	*out = sums;
	return k;
}

/* One kvmscope_ioctl_seconds series with --latency-labels vcpu. */
struct vcpu_series {
	char ioctl[96];
	uint32_t vcpu;			/* KVMSCOPE_VCPU_UNKNOWN: not a vCPU fd, or unresolved */
	bool vcpu_fd;
	struct kvmscope_hist time;
};

static int vcpu_series_cmp(const void *a, const void *b)
{
	const struct vcpu_series *x = a, *y = b;
	int c = strcmp(x->ioctl, y->ioctl);

	if (c)
		return c;
	if (x->vcpu_fd != y->vcpu_fd)
		return x->vcpu_fd - y->vcpu_fd;
	return (x->vcpu > y->vcpu) - (x->vcpu < y->vcpu);
}

/*
 * kvmscope_ioctl_seconds of one VM by ioctl and vCPU (the exits'
 * --latency-labels vcpu): vcpu is the index for a vCPU fd's ioctls,
 * "unknown" when that fd's index could not be read, "" for the others.
 */
static int vcpu_histograms(struct ioctls_state *st, struct strbuf *sb,
			   const struct metrics_histogram_names *names, const char *pid, const char *name,
			   const struct vm *vm)
{
	size_t n, k = 0;
	const struct ioctl_record *recs = ioctls_vm_records(st, vm, &n);
	struct vcpu_series *v = n ? calloc(n, sizeof(*v)) : NULL;
	int r = 0;

	if (n && !v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ioctl_record *rec = &recs[i];
		struct vcpu_series s = { .vcpu = rec->key.vcpu, .vcpu_fd = rec->key.kind == KVMSCOPE_FD_VCPU };
		const char *in;
		size_t j;

		if (rec->key.cmd == st->cmds.kvm_run)
			continue;
		in = ioctl_name_or_number(rec->key.cmd, rec->key.kind, st->cmds.arch, s.ioctl,
					  sizeof(s.ioctl));
		if (in != s.ioctl)
			snprintf(s.ioctl, sizeof(s.ioctl), "%s", in);
		if (!s.vcpu_fd)
			s.vcpu = KVMSCOPE_VCPU_UNKNOWN;
		for (j = 0; j < k; j++)
			if (!vcpu_series_cmp(&v[j], &s))
				break;
		if (j == k)
			v[k++] = s;
		hist_merge(&v[j].time, &rec->time);
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), vcpu_series_cmp);
	for (size_t j = 0; j < k && r >= 0; j++) {
		char vcpu[16] = "";
		/* Four labels and room for le. */
		struct metrics_label l[5] = { { "pid", pid }, { "vm", name }, { "vcpu", vcpu },
					      { "ioctl", v[j].ioctl } };

		if (v[j].vcpu_fd)
			snprintf(vcpu, sizeof(vcpu), v[j].vcpu == KVMSCOPE_VCPU_UNKNOWN ? "unknown" : "%u",
				 v[j].vcpu);
		r = metrics_histogram(sb, names, l, 4, &v[j].time);
	}
	free(v);
	return r;
}

/* What every family of one VM is written from, made once per scrape. */
struct vm_metrics {
	const struct vm *vm;
	char pid[16], dn[32];
	const char *name, *state;
	enum vm_protection protection;
	struct ioctl_sum *sums;
	size_t n_sums;
};

int ioctls_metrics(void *state, struct strbuf *sb)
{
	struct ioctls_state *st = state;
	size_t nvm = manager_vm_count(st->m);
	struct metrics_histogram_names names;
	struct vm_metrics *vms;
	int r;

	if (!st->loaded)
		return 0;
	vms = calloc(nvm ? nvm : 1, sizeof(*vms));
	if (!vms)
		return -ENOMEM;
	for (size_t i = 0; i < nvm; i++) {
		struct vm_metrics *v = &vms[i];

		v->vm = manager_vm_at(st->m, i);
		v->name = vm_display_name(v->vm, v->dn, sizeof(v->dn));
		snprintf(v->pid, sizeof(v->pid), "%u", v->vm->pid);
		v->protection = protection_of(st, v->vm, &v->state);
		v->n_sums = vm_sums(st, v->vm, v->protection, &v->sums);
	}
	r = metrics_family(sb, "kvmscope_ioctls_total", "counter",
			   "KVM ioctls by VM, ioctl, sub-command (cmd) and result (ok or the errno name).");
	for (size_t i = 0; i < nvm && r >= 0; i++)
		for (size_t j = 0; j < vms[i].n_sums && r >= 0; j++) {
			const struct ioctl_sum *s = &vms[i].sums[j];

			r = metrics_sample(sb, "kvmscope_ioctls_total",
				(struct metrics_label[]){ { "pid", vms[i].pid }, { "vm", vms[i].name },
					{ "ioctl", s->ioctl }, { "cmd", s->cmd },
					{ "result", s->result } }, 5, s->count);
		}
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_ioctl_seconds", "histogram",
				   "Time KVM ioctls took, by VM (and vCPU with --latency-labels vcpu) and ioctl "
				   "(KVM_RUN is the exits' view).");
	metrics_histogram_names(&names, "kvmscope_ioctl_seconds");
	for (size_t i = 0; i < nvm && r >= 0; i++) {
		const struct ioctl_sum *sums = vms[i].sums;
		size_t k = vms[i].n_sums;

		if (manager_options(st->m)->latency_labels == LATENCY_LABELS_VCPU) {
			r = vcpu_histograms(st, sb, &names, vms[i].pid, vms[i].name, vms[i].vm);
			continue;
		}

		/* By ioctl only: the sums are sorted by it, so each one's are together. */
		for (size_t j = 0; j < k && r >= 0;) {
			struct metrics_label l[4] = { { "pid", vms[i].pid }, { "vm", vms[i].name },
						      { "ioctl", sums[j].ioctl } };
			struct kvmscope_hist h = { 0 };
			bool timed = false;
			size_t e = j;

			for (; e < k && !strcmp(sums[e].ioctl, sums[j].ioctl); e++) {
				hist_merge(&h, &sums[e].time);
				timed |= sums[e].timed;
			}
			if (timed)
				r = metrics_histogram(sb, &names, l, 3, &h);
			j = e;
		}
	}
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_vm_protection_info", "gauge",
				   "1 for each VM: its protection type and launch state.");
	for (size_t i = 0; i < nvm && r >= 0; i++)
		r = metrics_sample(sb, "kvmscope_vm_protection_info",
			(struct metrics_label[]){ { "pid", vms[i].pid }, { "vm", vms[i].name },
				{ "type", vm_protection_name(vms[i].protection) },
				{ "state", vms[i].state } }, 4, 1);
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_launch_steps_total", "counter",
				   "Launch steps (CREATE_VM, MEMORY_ENCRYPT_OP and s390 PV sub-commands, "
				   "ARM_VCPU_INIT) by VM, step and result.");
	for (size_t i = 0; i < nvm && r >= 0; i++) {
		struct ioctl_vm *iv = ioctls_vm(st, vms[i].vm, false);

		if (!iv)
			continue;
		for (size_t s = 0; s < iv->launch.n_steps && r >= 0; s++) {
			const struct launch_step *step = &iv->launch.steps[s];
			char name[96], res[32];
			uint64_t total = 0;
			bool seen = false;

			launch_step_name(&st->cmds, iv->launch.protection, step, name, sizeof(name));
			ioctl_result_name(step->result, res, sizeof(res));
			/* Once per (step, result): the steps after add theirs here. */
			for (size_t e = 0; e < iv->launch.n_steps; e++) {
				char n2[96], r2[32];
				const struct launch_step *o = &iv->launch.steps[e];

				launch_step_name(&st->cmds, iv->launch.protection, o, n2, sizeof(n2));
				ioctl_result_name(o->result, r2, sizeof(r2));
				if (strcmp(n2, name) || strcmp(r2, res))
					continue;
				if (e < s) {
					seen = true;
					break;
				}
				total += o->count;
			}
			if (seen)
				continue;
			r = metrics_sample(sb, "kvmscope_launch_steps_total",
				(struct metrics_label[]){ { "pid", vms[i].pid }, { "vm", vms[i].name },
					{ "type", vm_protection_name(iv->launch.protection) },
					{ "step", name }, { "result", res } }, 5, total);
		}
	}
	if (r >= 0)
		r = metrics_family(sb, "kvmscope_ioctl_events_dropped_total", "counter",
				   "KVM ioctls not counted or not streamed, by why (map_full, ring_full, inflight_full, stream_full), or counted without their detail (folded: as OTHER, their VM over --max-keys-per-vm).");
	for (uint32_t k = 0; k < KVMSCOPE_IOCTL_DROP_MAX && r >= 0; k++)
		r = metrics_sample(sb, "kvmscope_ioctl_events_dropped_total",
				   (struct metrics_label[]){ { "why", ioctls_drop_names[k] } }, 1,
				   st->drops[k]);
	for (size_t i = 0; i < nvm; i++)
		free(vms[i].sums);
	free(vms);
	return r;
}
