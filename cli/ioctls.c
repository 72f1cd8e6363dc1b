// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscopectl ioctls: per VM, every KVM ioctl with its sub-command,
 * result, count and time; kvmscopectl launch --pid P: the VM's protection,
 * launch state and timeline of steps, a failed step with its decoded error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmscopectl.h"
#include "table.h"

/* Nanoseconds as a short duration: 850ns, 12.3us, 4.56ms, 1.20s. */
static const char *fmt_ns(json_t *v, char *buf, size_t len)
{
	double ns;

	if (!json_is_integer(v))
		return "-";
	ns = (double)json_integer_value(v);
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

static json_t *pid_params(const struct cli *c, bool with_vcpu)
{
	json_t *p = json_object();

	if (c->has_pid)
		json_object_set_new(p, "pid", json_integer((json_int_t)c->pid));
	if (with_vcpu && c->has_vcpu)
		json_object_set_new(p, "vcpu", json_integer((json_int_t)c->vcpu));
	return p;
}

/* The sub-command cell: its name, the PV features of SET_CPUID2, or "-". */
static const char *sub_cell(json_t *rec, char *buf, size_t len)
{
	if (json_is_string(json_object_get(rec, "cmd")))
		return obj_str(rec, "cmd");
	if (json_is_string(json_object_get(rec, "kvm_pv_features")))
		snprintf(buf, len, "pv_features=%s", obj_str(rec, "kvm_pv_features"));
	else
		return "-";
	return buf;
}

/* What the kernel wrote back: firmware error, rc/rrc, ARM features. */
static const char *outcome_cell(json_t *rec, char *buf, size_t len)
{
	/* 0 is also what a call that never reached the firmware leaves there. */
	if (json_integer_value(json_object_get(rec, "fw_error"))) {
		snprintf(buf, len, "fw %s", json_is_string(json_object_get(rec, "fw_error_name")) ?
			 obj_str(rec, "fw_error_name") : "unknown");
		return buf;
	}
	if (json_is_string(json_object_get(rec, "rc"))) {
		snprintf(buf, len, "rc %s rrc %s", obj_str(rec, "rc"), obj_str(rec, "rrc"));
		return buf;
	}
	if (json_is_string(json_object_get(rec, "features")))
		return obj_str(rec, "features");
	if (json_is_string(json_object_get(rec, "hw_error"))) {
		snprintf(buf, len, "hw_error %s", obj_str(rec, "hw_error"));
		return buf;
	}
	return "";
}

/* A step's detail: its outcome, else what its sub-command says (a machine type, a target). */
static const char *step_detail(json_t *step, char *buf, size_t len)
{
	const char *o = outcome_cell(step, buf, len);

	if (*o)
		return o;
	if (json_is_string(json_object_get(step, "cmd")) &&
	    strcmp(obj_str(step, "cmd"), obj_str(step, "step")))
		return obj_str(step, "cmd");
	return "";
}

int verb_ioctls(struct cli *c)
{
	json_t *res, *vm;
	size_t i;
	int r = call_for_table(c, "ioctls.get", pid_params(c, true), &res);

	if (!res)
		return r;
	if (json_array_size(json_object_get(res, "vms")) == 0) {
		puts("No KVM VMs seen.");
		json_decref(res);
		return EXIT_OK;
	}
	json_array_foreach(json_object_get(res, "vms"), i, vm) {
		struct table t = { .ncols = 8, .right = { [4] = true, [5] = true, [6] = true } };
		char name[TEXT_CELL_MAX], vcpu[24], count[24], p50[24], p99[24], sub[64], out[128];
		json_t *rec, *totals = json_object_get(vm, "totals");
		size_t j;

		printf("%sVM pid %" JSON_INTEGER_FORMAT " %s: protection %s, state %s; %"
		       JSON_INTEGER_FORMAT " calls, %" JSON_INTEGER_FORMAT " failed\n", i ? "\n" : "",
		       json_integer_value(json_object_get(vm, "pid")),
		       obj_text(vm, "name", name, sizeof(name)), obj_str(vm, "protection"),
		       obj_str(vm, "launch_state"), json_integer_value(json_object_get(totals, "calls")),
		       json_integer_value(json_object_get(totals, "errors")));
		if (!json_array_size(json_object_get(vm, "ioctls")))
			continue;
		table_add(&t, (const char *[]){ "IOCTL", "FD", "VCPU", "CMD", "COUNT", "P50", "P99",
						"RESULT" });
		json_array_foreach(json_object_get(vm, "ioctls"), j, rec) {
			json_t *time = json_object_get(rec, "time");
			char result[160];

			snprintf(result, sizeof(result), "%s%s%s", obj_str(rec, "result"),
				 *outcome_cell(rec, out, sizeof(out)) ? " " : "",
				 outcome_cell(rec, out, sizeof(out)));
			table_add(&t, (const char *[]){ obj_str(rec, "ioctl"), obj_str(rec, "fd"),
				fmt_int(json_object_get(rec, "vcpu"), vcpu, sizeof(vcpu)),
				sub_cell(rec, sub, sizeof(sub)),
				fmt_int(json_object_get(rec, "count"), count, sizeof(count)),
				fmt_ns(json_object_get(time, "p50_ns"), p50, sizeof(p50)),
				fmt_ns(json_object_get(time, "p99_ns"), p99, sizeof(p99)), result });
		}
		table_print(&t, "  ");
	}
	json_decref(res);
	return EXIT_OK;
}

int verb_launch(struct cli *c)
{
	json_t *res, *vm;
	size_t i;
	int r;

	if (!c->has_pid)
		return cli_usage_error("%s", "launch needs --pid PID: the VM's process id");
	r = call_for_table(c, "launch.get", pid_params(c, false), &res);
	if (!res)
		return r;
	json_array_foreach(json_object_get(res, "vms"), i, vm) {
		struct table t = { .ncols = 7, .right = { [0] = true, [3] = true, [4] = true } };
		char name[TEXT_CELL_MAX], at[32], count[24], dur[24], out[128], vcpu[24];
		json_t *step;
		size_t j;

		printf("%sVM pid %" JSON_INTEGER_FORMAT " %s: protection %s, state %s",
		       i ? "\n" : "", json_integer_value(json_object_get(vm, "pid")),
		       obj_text(vm, "name", name, sizeof(name)), obj_str(vm, "protection"),
		       obj_str(vm, "launch_state"));
		if (json_is_string(json_object_get(vm, "failed_step")))
			printf(" (at %s)", obj_str(vm, "failed_step"));
		putchar('\n');
		if (json_integer_value(json_object_get(vm, "dropped_steps")))
			printf("  (%" JSON_INTEGER_FORMAT " older steps not kept)\n",
			       json_integer_value(json_object_get(vm, "dropped_steps")));
		if (!json_array_size(json_object_get(vm, "steps"))) {
			puts("  No launch steps seen (KVM_CREATE_VM, KVM_MEMORY_ENCRYPT_OP, "
			     "s390 PV commands, KVM_ARM_VCPU_INIT, KVM_ENABLE_CAP).");
			continue;
		}
		table_add(&t, (const char *[]){ "T+MS", "STEP", "VCPU", "COUNT", "TIME", "RESULT",
						"DETAIL" });
		json_array_foreach(json_object_get(vm, "steps"), j, step) {
			snprintf(at, sizeof(at), "%.3f", json_number_value(json_object_get(step, "t_ms")));
			table_add(&t, (const char *[]){ at, obj_str(step, "step"),
				fmt_int(json_object_get(step, "vcpu"), vcpu, sizeof(vcpu)),
				fmt_int(json_object_get(step, "count"), count, sizeof(count)),
				fmt_ns(json_object_get(step, "duration_ns"), dur, sizeof(dur)),
				obj_str(step, "result"), step_detail(step, out, sizeof(out)) });
		}
		table_print(&t, "  ");
	}
	json_decref(res);
	return EXIT_OK;
}
