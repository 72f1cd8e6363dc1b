// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF run time per program: the sysctl from fake /proc files, the status
 * JSON with the sysctl on, off and unreadable, and the Prometheus text
 * byte for byte.
 */
#include "unit.h"

#include <math.h>
#include <jansson.h>

#include "bpfstats.h"
#include "strbuf.h"

/* Three programs as the exits capability tracks them; fds -1, nothing to close. */
static void make_set(struct bpfstats *s, int enabled)
{
	*s = (struct bpfstats){ .read = true, .enabled = enabled, .unit = "exit", .unit_prog = 1 };
	assert_int_equal(bpfstats_add(s, "tracepoint/kvm/kvm_exit", -1, 41, 0), 0);
	assert_int_equal(bpfstats_add(s, "tp_btf/kvm_userspace_exit", -1, 42, 0), 0);
	assert_int_equal(bpfstats_add(s, "tracepoint/syscalls/sys_enter_ioctl", -1, 43, 0), 0);
	/* kvm_exit attached but never fired (kvm_pvm): runs 0. */
	s->progs[0].run_cnt = 0;
	s->progs[0].run_time_ns = 0;
	s->progs[1].run_cnt = 2000;
	s->progs[1].run_time_ns = 123456;
	s->progs[2].run_cnt = 5000;
	s->progs[2].run_time_ns = 1000001;
	/* Skipped runs are counted whatever the sysctl. */
	for (int i = 0; i < 3; i++)
		s->progs[i].misses_read = true;
	s->progs[1].recursion_misses = 7;
}

static json_t *prog(json_t *out, size_t i)
{
	return json_array_get(json_object_get(out, "programs"), i);
}

static void assert_real(json_t *v, double want)
{
	if (!json_is_real(v))
		fail_msg("not a real number: %s", json_dumps(v, JSON_ENCODE_ANY));
	assert_true(fabs(json_real_value(v) - want) < 1e-9);
}

static void test_read_enabled_from_proc_files(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	/* A fake /proc/sys: DIR/kernel/bpf_stats_enabled. */
	unit_tmpdir_create(dir, "kvmscope-bpfstats");
	snprintf(path, sizeof(path), "%s/kernel/bpf_stats_enabled", dir);
	unit_write_file(dir, "kernel", "bpf_stats_enabled", "1\n", 2);
	assert_int_equal(bpfstats_read_enabled(path), 1);
	unit_write_file(dir, "kernel", "bpf_stats_enabled", "0\n", 2);
	assert_int_equal(bpfstats_read_enabled(path), 0);
	unit_write_file(dir, "kernel", "bpf_stats_enabled", "2\n", 2);
	assert_int_equal(bpfstats_read_enabled(path), -EINVAL);
	unit_write_file(dir, "kernel", "bpf_stats_enabled", "", 0);
	assert_int_equal(bpfstats_read_enabled(path), -EINVAL);
	/* Linux before 5.1 has no such file. */
	snprintf(path, sizeof(path), "%s/kernel/no_such_sysctl", dir);
	assert_int_equal(bpfstats_read_enabled(path), -ENOENT);
	unit_tmpdir_remove(dir);
}

static void test_json_enabled(void **state)
{
	struct bpfstats s;
	json_t *out, *p;

	make_set(&s, 1);
	out = bpfstats_to_json(&s);
	assert_non_null(out);
	assert_true(json_is_true(json_object_get(out, "bpf_stats_enabled")));
	assert_non_null(strstr(json_string_value(json_object_get(out, "how")),
			       "sysctl kernel.bpf_stats_enabled=0"));
	/* Exits are the runs of the program that counts them. */
	assert_int_equal(json_integer_value(json_object_get(out, "exits")), 2000);
	assert_string_equal(json_string_value(json_object_get(out, "exits_from")),
			    "tp_btf/kvm_userspace_exit");
	assert_int_equal(json_integer_value(json_object_get(out, "run_time_ns")), 1123457);
	assert_real(json_object_get(out, "ns_per_exit"), 561.7);	/* 1123457 / 2000 */
	assert_int_equal(json_array_size(json_object_get(out, "programs")), 3);

	p = prog(out, 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "tracepoint/kvm/kvm_exit");
	assert_int_equal(json_integer_value(json_object_get(p, "id")), 41);
	assert_int_equal(json_integer_value(json_object_get(p, "runs")), 0);
	assert_int_equal(json_integer_value(json_object_get(p, "run_time_ns")), 0);
	/* No run: no average, not a division by zero. */
	assert_true(json_is_null(json_object_get(p, "ns_per_run")));
	assert_real(json_object_get(p, "ns_per_exit"), 0.0);
	assert_true(json_is_null(json_object_get(p, "error")));

	/* Skipped runs: the kernel's recursion_misses, per program and in all. */
	assert_int_equal(json_integer_value(json_object_get(out, "skipped_runs")), 7);
	assert_int_equal(json_integer_value(json_object_get(prog(out, 0), "skipped_runs")), 0);
	assert_int_equal(json_integer_value(json_object_get(prog(out, 1), "skipped_runs")), 7);

	p = prog(out, 1);
	assert_int_equal(json_integer_value(json_object_get(p, "runs")), 2000);
	assert_int_equal(json_integer_value(json_object_get(p, "run_time_ns")), 123456);
	assert_real(json_object_get(p, "ns_per_run"), 61.7);	/* 61.728 */
	assert_real(json_object_get(p, "ns_per_exit"), 61.7);

	/* The syscall hook runs for every ioctl on the host, more than once per exit. */
	p = prog(out, 2);
	assert_real(json_object_get(p, "ns_per_run"), 200.0);	/* 200.0002 */
	assert_real(json_object_get(p, "ns_per_exit"), 500.0);	/* 500.0005 */
	json_decref(out);
	bpfstats_free(&s);
}

/* Off: every number the kernel did not count is null, and "how" says how to turn it on. */
static void test_json_disabled_is_unknown_not_zero(void **state)
{
	static const char *const counts[] = { "runs", "run_time_ns", "ns_per_run", "ns_per_exit" };
	struct bpfstats s;
	json_t *out;

	make_set(&s, 0);
	out = bpfstats_to_json(&s);
	assert_non_null(out);
	assert_true(json_is_false(json_object_get(out, "bpf_stats_enabled")));
	assert_non_null(strstr(json_string_value(json_object_get(out, "how")), "unknown, not zero"));
	assert_non_null(strstr(json_string_value(json_object_get(out, "how")),
			       "`sysctl kernel.bpf_stats_enabled=1`"));
	assert_true(json_is_null(json_object_get(out, "exits")));
	assert_true(json_is_null(json_object_get(out, "run_time_ns")));
	assert_true(json_is_null(json_object_get(out, "ns_per_exit")));
	assert_string_equal(json_string_value(json_object_get(out, "exits_from")),
			    "tp_btf/kvm_userspace_exit");
	for (size_t i = 0; i < 3; i++) {
		/* Still listed, with its id: what is attached does not depend on the sysctl. */
		assert_int_equal(json_integer_value(json_object_get(prog(out, i), "id")), 41 + (int)i);
		for (size_t k = 0; k < ARRAY_SIZE(counts); k++)
			if (!json_is_null(json_object_get(prog(out, i), counts[k])))
				fail_msg("program %zu: %s is not null with the sysctl off", i, counts[k]);
	}
	json_decref(out);
	bpfstats_free(&s);
}

static void test_json_unreadable_and_not_read(void **state)
{
	struct bpfstats s;
	json_t *out;

	make_set(&s, -ENOENT);
	out = bpfstats_to_json(&s);
	assert_true(json_is_null(json_object_get(out, "bpf_stats_enabled")));
	assert_non_null(strstr(json_string_value(json_object_get(out, "how")),
			       "cannot read /proc/sys/kernel/bpf_stats_enabled: No such file or directory"));
	assert_true(json_is_null(json_object_get(prog(out, 1), "runs")));
	json_decref(out);

	s.read = false;
	s.enabled = 0;
	out = bpfstats_to_json(&s);
	assert_true(json_is_null(json_object_get(out, "bpf_stats_enabled")));
	assert_string_equal(json_string_value(json_object_get(out, "how")),
			    "not read yet: read at the next tick");
	json_decref(out);
	bpfstats_free(&s);
}

/* A program that cannot be read says why, and the totals do not leave it out silently. */
static void test_json_program_error(void **state)
{
	struct bpfstats s;
	json_t *out, *p;

	make_set(&s, 1);
	s.progs[2].error = -EPERM;
	out = bpfstats_to_json(&s);
	p = prog(out, 2);
	assert_true(json_is_null(json_object_get(p, "runs")));
	assert_true(json_is_null(json_object_get(p, "ns_per_exit")));
	assert_string_equal(json_string_value(json_object_get(p, "error")),
			    "cannot read the program's run time: Operation not permitted");
	assert_true(json_is_null(json_object_get(out, "run_time_ns")));
	assert_true(json_is_null(json_object_get(out, "ns_per_exit")));
	assert_int_equal(json_integer_value(json_object_get(out, "exits")), 2000);
	json_decref(out);

	/* Opening it failed at tracking: the error is kept from the start. */
	bpfstats_free(&s);
	s = (struct bpfstats){ .read = true, .enabled = 1, .unit_prog = -1 };
	assert_int_equal(bpfstats_add(&s, "tp_btf/kvm_pio", -1, 0, -ENOENT), 0);
	assert_int_equal(bpfstats_find(&s, "tp_btf/kvm_pio"), 0);
	assert_int_equal(bpfstats_find(&s, "tp_btf/kvm_exit"), -1);
	out = bpfstats_to_json(&s);
	p = prog(out, 0);
	assert_true(json_is_null(json_object_get(p, "id")));
	assert_non_null(strstr(json_string_value(json_object_get(p, "error")), "No such file"));
	/* Without a unit there are no per-unit keys. */
	assert_null(json_object_get(out, "ns_per_exit"));
	assert_null(json_object_get(p, "ns_per_exit"));
	json_decref(out);
	bpfstats_free(&s);
}

static char *metrics_text(const struct bpfstats *const *sets, size_t n)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(bpfstats_metrics(&sb, sets, n), 0);
	return strbuf_steal(&sb);
}

#define HELP_ENABLED \
	"# HELP kvmscope_bpf_stats_enabled 1 while kernel.bpf_stats_enabled is 1 and the kernel " \
	"times BPF programs; 0: kvmscope_bpf_runs_total and kvmscope_bpf_run_seconds_total are " \
	"left out, their cost is unknown (sysctl kernel.bpf_stats_enabled=1 turns it on, at two " \
	"clock reads per run of every BPF program on the host).\n" \
	"# TYPE kvmscope_bpf_stats_enabled gauge\n"
#define HELP_RUNS \
	"# HELP kvmscope_bpf_runs_total Runs of each of kvmscope's attached BPF programs, counted " \
	"by the kernel while kernel.bpf_stats_enabled is 1.\n" \
	"# TYPE kvmscope_bpf_runs_total counter\n"
#define HELP_SECONDS \
	"# HELP kvmscope_bpf_run_seconds_total Time the kernel spent in each of kvmscope's " \
	"attached BPF programs while kernel.bpf_stats_enabled is 1.\n" \
	"# TYPE kvmscope_bpf_run_seconds_total counter\n"
#define HELP_SKIPPED \
	"# HELP kvmscope_bpf_skipped_runs_total Runs of each of kvmscope's BPF programs the kernel " \
	"skipped because the program was already running on that CPU (recursion_misses): events " \
	"not seen, unless a backup program saw them.\n" \
	"# TYPE kvmscope_bpf_skipped_runs_total counter\n"
#define SKIPPED_SAMPLES \
	"kvmscope_bpf_skipped_runs_total{program=\"tracepoint/kvm/kvm_exit\"} 0\n" \
	"kvmscope_bpf_skipped_runs_total{program=\"tp_btf/kvm_userspace_exit\"} 7\n" \
	"kvmscope_bpf_skipped_runs_total{program=\"tracepoint/syscalls/sys_enter_ioctl\"} 0\n"

static void test_metrics_enabled(void **state)
{
	struct bpfstats s;
	const struct bpfstats *sets[] = { &s };
	char *text;

	make_set(&s, 1);
	text = metrics_text(sets, 1);
	assert_string_equal(text, HELP_ENABLED "kvmscope_bpf_stats_enabled 1\n" HELP_RUNS
		"kvmscope_bpf_runs_total{program=\"tracepoint/kvm/kvm_exit\"} 0\n"
		"kvmscope_bpf_runs_total{program=\"tp_btf/kvm_userspace_exit\"} 2000\n"
		"kvmscope_bpf_runs_total{program=\"tracepoint/syscalls/sys_enter_ioctl\"} 5000\n"
		HELP_SECONDS
		"kvmscope_bpf_run_seconds_total{program=\"tracepoint/kvm/kvm_exit\"} 0.000000000\n"
		"kvmscope_bpf_run_seconds_total{program=\"tp_btf/kvm_userspace_exit\"} 0.000123456\n"
		"kvmscope_bpf_run_seconds_total{program=\"tracepoint/syscalls/sys_enter_ioctl\"} 0.001000001\n"
		HELP_SKIPPED SKIPPED_SAMPLES);
	free(text);
	bpfstats_free(&s);
}

/* Off: the families are there, their samples are not; the gauge says why. */
static void test_metrics_disabled_leave_samples_out(void **state)
{
	struct bpfstats s;
	const struct bpfstats *sets[] = { &s };
	char *text;

	make_set(&s, 0);
	text = metrics_text(sets, 1);
	assert_string_equal(text, HELP_ENABLED "kvmscope_bpf_stats_enabled 0\n" HELP_RUNS HELP_SECONDS
			    HELP_SKIPPED SKIPPED_SAMPLES);
	free(text);
	/* Unreadable: not even the gauge claims a value. */
	s.enabled = -ENOENT;
	text = metrics_text(sets, 1);
	assert_string_equal(text, HELP_ENABLED HELP_RUNS HELP_SECONDS HELP_SKIPPED SKIPPED_SAMPLES);
	free(text);
	bpfstats_free(&s);
}

/* Two capabilities' sets: one family each, program labels escaped; an unreadable program left out. */
static void test_metrics_sets_and_escaping(void **state)
{
	struct bpfstats a = { .read = true, .enabled = 1, .unit_prog = -1 };
	struct bpfstats b = { .read = true, .enabled = 1, .unit_prog = -1 };
	const struct bpfstats *sets[] = { &a, &b };
	char *text;

	assert_int_equal(bpfstats_add(&a, "tp_btf/kvm_exit", -1, 1, 0), 0);
	assert_int_equal(bpfstats_add(&b, "odd\"name\\with\nnewline", -1, 2, 0), 0);
	assert_int_equal(bpfstats_add(&b, "unreadable", -1, 3, -EPERM), 0);
	a.progs[0].run_cnt = 3;
	a.progs[0].run_time_ns = 2500000000ULL;
	b.progs[0].run_cnt = 1;
	b.progs[0].run_time_ns = 10;
	text = metrics_text(sets, 2);
	assert_string_equal(text, HELP_ENABLED "kvmscope_bpf_stats_enabled 1\n" HELP_RUNS
		"kvmscope_bpf_runs_total{program=\"tp_btf/kvm_exit\"} 3\n"
		"kvmscope_bpf_runs_total{program=\"odd\\\"name\\\\with\\nnewline\"} 1\n"
		HELP_SECONDS
		"kvmscope_bpf_run_seconds_total{program=\"tp_btf/kvm_exit\"} 2.500000000\n"
		"kvmscope_bpf_run_seconds_total{program=\"odd\\\"name\\\\with\\nnewline\"} 0.000000010\n"
		HELP_SKIPPED);
	free(text);
	bpfstats_free(&a);
	bpfstats_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_enabled_from_proc_files),
		cmocka_unit_test(test_json_enabled),
		cmocka_unit_test(test_json_disabled_is_unknown_not_zero),
		cmocka_unit_test(test_json_unreadable_and_not_read),
		cmocka_unit_test(test_json_program_error),
		cmocka_unit_test(test_metrics_enabled),
		cmocka_unit_test(test_metrics_disabled_leave_samples_out),
		cmocka_unit_test(test_metrics_sets_and_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
