// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscoped's command line: defaults, every option, and errors that name
 * the option and the value at fault.
 */
#include "unit.h"

#include <syslog.h>

#include "options.h"

#define MAX_ARGS 16

/*
 * A writable argv with "kvmscoped" as argv[0]: getopt permutes it, so the
 * strings are copies, freed through @owned whatever order they end in.
 */
struct arg_vector {
	int argc;
	char *argv[MAX_ARGS + 2];
	char *owned[MAX_ARGS + 2];
};

static void arg_vector_fill(struct arg_vector *v, va_list ap)
{
	const char *arg;

	v->argc = 0;
	v->owned[v->argc++] = strdup("kvmscoped");
	while ((arg = va_arg(ap, const char *))) {
		assert_true(v->argc <= MAX_ARGS);
		v->owned[v->argc++] = strdup(arg);
	}
	for (int i = 0; i < v->argc; i++) {
		assert_non_null(v->owned[i]);
		v->argv[i] = v->owned[i];
	}
	v->argv[v->argc] = NULL;
}

static void arg_vector_free(struct arg_vector *v)
{
	for (int i = 0; i < v->argc; i++)
		free(v->owned[i]);
}

/* Parse the NULL-terminated arguments that follow @errlen. */
static int parse_args(struct daemon_options *o, char *err, size_t errlen, ...)
{
	struct arg_vector v;
	va_list ap;
	int r;

	va_start(ap, errlen);
	arg_vector_fill(&v, ap);
	va_end(ap);
	err[0] = '\0';
	r = daemon_options_parse(o, v.argc, v.argv, err, errlen);
	arg_vector_free(&v);
	return r;
}

static void assert_defaults(const struct daemon_options *o)
{
	assert_string_equal(o->socket_path, "/run/kvmscope/kvmscope.sock");
	assert_true(o->metrics_enabled);
	assert_string_equal(o->metrics_host, "127.0.0.1");
	assert_int_equal(o->metrics_port, 9753);
	assert_int_equal(o->retain_exited_sec, 600);
	assert_string_equal(o->group, "kvmscope");
	assert_int_equal(o->client_timeout_sec, 60);
	assert_int_equal(o->log_level, LOG_INFO);
	assert_false(o->help);
	assert_false(o->version);
}

static void test_defaults(void **state)
{
	struct daemon_options o;
	char err[256];

	memset(&o, 0xa5, sizeof(o));
	daemon_options_init(&o);
	assert_defaults(&o);

	/* No arguments changes nothing. */
	assert_int_equal(parse_args(&o, err, sizeof(err), NULL), 0);
	assert_defaults(&o);
	assert_string_equal(err, "");
}

static void test_socket(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--socket", "/tmp/k.sock", NULL), 0);
	assert_string_equal(o.socket_path, "/tmp/k.sock");
	assert_int_equal(parse_args(&o, err, sizeof(err), "--socket=/run/other.sock", NULL), 0);
	assert_string_equal(o.socket_path, "/run/other.sock");
}

/* sun_path holds 108 bytes: 107 and the NUL. */
static void test_socket_path_length_limit(void **state)
{
	struct daemon_options o;
	char err[256], path[200];

	daemon_options_init(&o);
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	assert_int_equal(parse_args(&o, err, sizeof(err), "--socket", path, NULL), 0);
	assert_string_equal(o.socket_path, path);

	daemon_options_init(&o);
	path[107] = 'p';
	path[108] = '\0';
	assert_int_equal(parse_args(&o, err, sizeof(err), "--socket", path, NULL), -EINVAL);
	assert_non_null(strstr(err, "--socket"));
	assert_non_null(strstr(err, "107"));
	assert_string_equal(o.socket_path, KVMSCOPE_DEFAULT_SOCKET);

	assert_int_equal(parse_args(&o, err, sizeof(err), "--socket", "", NULL), -EINVAL);
	assert_non_null(strstr(err, "--socket"));
	assert_string_equal(o.socket_path, KVMSCOPE_DEFAULT_SOCKET);
}

static void test_metrics(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--metrics", "off", NULL), 0);
	assert_false(o.metrics_enabled);

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--metrics", "[::1]:9000", NULL), 0);
	assert_true(o.metrics_enabled);
	assert_string_equal(o.metrics_host, "::1");
	assert_int_equal(o.metrics_port, 9000);

	/* The last one wins, and an address turns metrics back on. */
	assert_int_equal(parse_args(&o, err, sizeof(err), "--metrics", "off", "--metrics",
				    "0.0.0.0:80", NULL),
			 0);
	assert_true(o.metrics_enabled);
	assert_string_equal(o.metrics_host, "0.0.0.0");
	assert_int_equal(o.metrics_port, 80);
}

static void test_group_and_client_timeout(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_string_equal(o.group, "kvmscope");
	assert_int_equal(o.client_timeout_sec, 60);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--group", "kvm-readers", "--client-timeout",
				    "5", NULL), 0);
	assert_string_equal(o.group, "kvm-readers");
	assert_int_equal(o.client_timeout_sec, 5);

	assert_int_equal(parse_args(&o, err, sizeof(err), "--client-timeout", "0", NULL), -EINVAL);
	assert_string_equal(err, "--client-timeout: '0' is not a number of seconds from 1 to 86400");
	assert_int_equal(parse_args(&o, err, sizeof(err), "--client-timeout", "86401", NULL), -EINVAL);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--client-timeout", "-1", NULL), -EINVAL);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--group", "", NULL), -EINVAL);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--group", "a b", NULL), -EINVAL);
	assert_non_null(strstr(err, "--group: 'a b' is not a group name"));
	assert_int_equal(parse_args(&o, err, sizeof(err), "--group=-x", NULL), -EINVAL);
	/* The failed parses left the earlier values. */
	assert_string_equal(o.group, "kvm-readers");
	assert_int_equal(o.client_timeout_sec, 5);
}

static void test_retain_exited(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--retain-exited", "0", NULL), 0);
	assert_int_equal(o.retain_exited_sec, 0);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--retain-exited", "30", NULL), 0);
	assert_int_equal(o.retain_exited_sec, 30);
	/* One year is the upper bound. */
	assert_int_equal(parse_args(&o, err, sizeof(err), "--retain-exited=31536000", NULL), 0);
	assert_int_equal(o.retain_exited_sec, 31536000);
}

static void test_log_level_option(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--log-level", "debug", NULL), 0);
	assert_int_equal(o.log_level, LOG_DEBUG);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--log-level", "warning", NULL), 0);
	assert_int_equal(o.log_level, LOG_WARNING);
}

static void test_help_and_version(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--help", NULL), 0);
	assert_true(o.help);
	assert_false(o.version);

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--version", NULL), 0);
	assert_true(o.version);
	assert_false(o.help);

	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "-h", "-V", NULL), 0);
	assert_true(o.help);
	assert_true(o.version);

	assert_non_null(strstr(daemon_usage, "--socket"));
	assert_non_null(strstr(daemon_usage, "--metrics"));
	assert_non_null(strstr(daemon_usage, "--retain-exited"));
	assert_non_null(strstr(daemon_usage, "--log-level"));
}

/* All options at once, then again: getopt state must not leak between calls. */
static void test_parse_twice(void **state)
{
	struct daemon_options o;
	char err[256];

	for (int round = 0; round < 2; round++) {
		daemon_options_init(&o);
		assert_int_equal(parse_args(&o, err, sizeof(err), "--socket", "/tmp/a.sock",
					    "--metrics", "[::]:9100", "--retain-exited", "5",
					    "--log-level", "err", NULL),
				 0);
		assert_string_equal(o.socket_path, "/tmp/a.sock");
		assert_string_equal(o.metrics_host, "::");
		assert_int_equal(o.metrics_port, 9100);
		assert_int_equal(o.retain_exited_sec, 5);
		assert_int_equal(o.log_level, LOG_ERR);
		assert_false(o.help);
	}
	/* An error in between does not spoil the next parse either. */
	assert_int_equal(parse_args(&o, err, sizeof(err), "--bogus", NULL), -EINVAL);
	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--retain-exited", "7", NULL), 0);
	assert_int_equal(o.retain_exited_sec, 7);
}

/* Expect -EINVAL and a message that holds @needle1 and, when given, @needle2. */
static void expect_error(const char *needle1, const char *needle2, ...)
{
	struct daemon_options o;
	struct arg_vector v;
	char err[512], what[256];
	va_list ap;
	int r;

	va_start(ap, needle2);
	arg_vector_fill(&v, ap);
	va_end(ap);

	snprintf(what, sizeof(what), "%s %s", v.owned[1], v.argc > 2 ? v.owned[2] : "");
	daemon_options_init(&o);
	err[0] = '\0';
	r = daemon_options_parse(&o, v.argc, v.argv, err, sizeof(err));
	arg_vector_free(&v);
	if (r != -EINVAL)
		fail_msg("%s: expected -EINVAL, got %d", what, r);
	if (!strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
		fail_msg("%s: error \"%s\" should name \"%s\"%s%s", what, err, needle1,
			 needle2 ? " and " : "", needle2 ? needle2 : "");
}

static void test_latency_labels_and_detail_top(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_int_equal(o.latency_labels, LATENCY_LABELS_VM);
	assert_int_equal(o.detail_top, 20);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--latency-labels", "vcpu", "--detail-top",
				    "5", NULL), 0);
	assert_int_equal(o.latency_labels, LATENCY_LABELS_VCPU);
	assert_int_equal(o.detail_top, 5);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--latency-labels=vm", NULL), 0);
	assert_int_equal(o.latency_labels, LATENCY_LABELS_VM);
	expect_error("--latency-labels", "'cpu'", "--latency-labels", "cpu", NULL);
	expect_error("--detail-top", "'0'", "--detail-top", "0", NULL);
	expect_error("--detail-top", "'10001'", "--detail-top", "10001", NULL);
	expect_error("--detail-top", "'-3'", "--detail-top", "-3", NULL);
}

static void test_errors_name_option_and_value(void **state)
{
	expect_error("--bogus", NULL, "--bogus", NULL);
	expect_error("--bogus=1", NULL, "--bogus=1", NULL);
	expect_error("-x", NULL, "-x", NULL);
	expect_error("--help=yes", NULL, "--help=yes", NULL);

	expect_error("--socket", "argument", "--socket", NULL);
	expect_error("--metrics", "argument", "--metrics", NULL);
	expect_error("--retain-exited", "argument", "--log-level", "info", "--retain-exited", NULL);
	expect_error("--log-level", "argument", "--log-level", NULL);

	expect_error("--metrics", "'garbage'", "--metrics", "garbage", NULL);
	expect_error("--metrics", "'1.2.3.4'", "--metrics", "1.2.3.4", NULL);
	expect_error("--metrics", "'127.0.0.1:70000'", "--metrics", "127.0.0.1:70000", NULL);
	expect_error("--metrics", "'localhost:9753'", "--metrics", "localhost:9753", NULL);
	expect_error("--metrics", "'::1:9000'", "--metrics", "::1:9000", NULL);
	expect_error("--metrics", "''", "--metrics=", NULL);

	expect_error("--retain-exited", "'-1'", "--retain-exited", "-1", NULL);
	expect_error("--retain-exited", "'abc'", "--retain-exited", "abc", NULL);
	expect_error("--retain-exited", "''", "--retain-exited", "", NULL);
	expect_error("--retain-exited", "'10s'", "--retain-exited", "10s", NULL);
	expect_error("--retain-exited", "'31536001'", "--retain-exited", "31536001", NULL);
	expect_error("--retain-exited", "'99999999999999999999999'", "--retain-exited",
		     "99999999999999999999999", NULL);

	expect_error("--log-level", "'loud'", "--log-level", "loud", NULL);
	expect_error("--log-level", "'DEBUG'", "--log-level", "DEBUG", NULL);

	expect_error("'extra'", NULL, "extra", NULL);
	expect_error("'extra'", NULL, "--socket", "/tmp/s", "extra", NULL);
	expect_error("'extra'", NULL, "extra", "--log-level", "debug", NULL);
}

/* Clustered short options: the message names the one at fault, never argv[0]. */
static void test_unknown_option_in_cluster_is_named(void **state)
{
	expect_error("-Vx", NULL, "-Vx", NULL);
	expect_error("-x", NULL, "-xV", NULL);
}

/* A small error buffer is filled, cut and terminated, never overrun. */
static void test_error_buffer_is_bounded(void **state)
{
	struct daemon_options o;
	char err[16];

	memset(err, 'Z', sizeof(err));
	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, 8, "--log-level", "loud", NULL), -EINVAL);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'Z');
}

static void test_parse_listen_address(void **state)
{
	static const struct {
		const char *text;
		const char *host;
		uint16_t port;
	} good[] = {
		{ "127.0.0.1:9753", "127.0.0.1", 9753 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "10.1.2.3:65535", "10.1.2.3", 65535 },
		{ "[::1]:9000", "::1", 9000 },
		{ "[::]:80", "::", 80 },
		{ "[fe80::1:2]:443", "fe80::1:2", 443 },
		{ "[::ffff:192.0.2.1]:8080", "::ffff:192.0.2.1", 8080 },
	};
	static const char *const bad[] = {
		"", ":80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:70000",
		"127.0.0.1:-1", "127.0.0.1:+1", "127.0.0.1:80x", "127.0.0.1:0x50",
		"256.0.0.1:80", "1.2.3:80", "localhost:80", "example.com:9753",
		"::1:9000", "[::1]", "[::1]9000", "[::1]:", "[]:80", "[127.0.0.1]:80",
		"[::1:80", "[zz::1]:80",
	};
	char host[64];
	uint16_t port;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		memset(host, 'X', sizeof(host));
		port = 0;
		if (parse_listen_address(good[i].text, host, sizeof(host), &port) != 0)
			fail_msg("\"%s\" rejected", good[i].text);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		strcpy(host, "unchanged");
		port = 4321;
		if (parse_listen_address(bad[i], host, sizeof(host), &port) != -EINVAL)
			fail_msg("\"%s\" accepted as %s port %u", bad[i], host, port);
		assert_string_equal(host, "unchanged");
		assert_int_equal(port, 4321);
	}

	/* The host must fit the caller's buffer with its NUL. */
	assert_int_equal(parse_listen_address("127.0.0.1:80", host, 9, &port), -EINVAL);
	assert_int_equal(parse_listen_address("127.0.0.1:80", host, 10, &port), 0);
	assert_string_equal(host, "127.0.0.1");
}

static void test_parse_log_level(void **state)
{
	assert_int_equal(parse_log_level("debug"), LOG_DEBUG);
	assert_int_equal(parse_log_level("info"), LOG_INFO);
	assert_int_equal(parse_log_level("notice"), LOG_NOTICE);
	assert_int_equal(parse_log_level("warning"), LOG_WARNING);
	assert_int_equal(parse_log_level("err"), LOG_ERR);
	assert_int_equal(parse_log_level("error"), LOG_ERR);

	assert_int_equal(parse_log_level("loud"), -EINVAL);
	assert_int_equal(parse_log_level(""), -EINVAL);
	assert_int_equal(parse_log_level("Info"), -EINVAL);
	assert_int_equal(parse_log_level("info "), -EINVAL);
	assert_int_equal(parse_log_level("warn"), -EINVAL);
	assert_int_equal(parse_log_level("7"), -EINVAL);
}

/* --ioctls on|off, on by default; anything else is named. */
static void test_ioctls_option(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_true(o.ioctls);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--ioctls", "off", NULL), 0);
	assert_false(o.ioctls);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--ioctls=on", NULL), 0);
	assert_true(o.ioctls);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--ioctls", "yes", NULL), -EINVAL);
	assert_non_null(strstr(err, "--ioctls: 'yes' is not 'on' or 'off'"));
}

/* --driver: who counts exits at KVM's tracepoints. */
static void test_driver_option(void **state)
{
	struct daemon_options o;
	char err[256];

	daemon_options_init(&o);
	assert_int_equal(o.driver, DRIVER_AUTO);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--driver", "kmod", NULL), 0);
	assert_int_equal(o.driver, DRIVER_KMOD);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--driver=bpf", NULL), 0);
	assert_int_equal(o.driver, DRIVER_BPF);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--driver", "auto", NULL), 0);
	assert_int_equal(o.driver, DRIVER_AUTO);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--driver", "KMOD", NULL), -EINVAL);
	assert_non_null(strstr(err, "--driver: 'KMOD' is not auto, bpf or kmod"));
	assert_int_equal(parse_args(&o, err, sizeof(err), "--driver", "", NULL), -EINVAL);
	assert_non_null(strstr(err, "--driver: '' is not auto, bpf or kmod"));
}

/* --collect: all, none, or a list; a bad word is named. */
static void test_collect(void **state)
{
	struct daemon_options o;
	char err[200];

	(void)state;
	daemon_options_init(&o);
	assert_int_equal(parse_args(&o, err, sizeof(err), NULL), 0);
	assert_int_equal(o.collect, COLLECT_ALL);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--collect", "none", NULL), 0);
	assert_int_equal(o.collect, 0);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--collect", "latency", NULL), 0);
	assert_int_equal(o.collect, COLLECT_LATENCY);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--collect=backdoor,detail", NULL), 0);
	assert_int_equal(o.collect, COLLECT_DETAIL | COLLECT_BACKDOOR);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--collect", "detail,latency,backdoor",
				    NULL), 0);
	assert_int_equal(o.collect, COLLECT_LATENCY | COLLECT_DETAIL | COLLECT_BACKDOOR);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--collect", "vmm,detail,latency,backdoor",
				    NULL), 0);
	assert_int_equal(o.collect, COLLECT_ALL);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--collect", "vmm", NULL), 0);
	assert_int_equal(o.collect, COLLECT_VMM);
	expect_error("--collect", "'latncy'", "--collect", "latency,latncy", NULL);
	expect_error("--collect", "''", "--collect", "", NULL);
	expect_error("--collect", "''", "--collect", "detail,", NULL);
	expect_error("--collect", "'All'", "--collect", "All", NULL);
	assert_string_equal(collect_name(COLLECT_DETAIL), "detail");
	assert_string_equal(collect_name(COLLECT_VMM), "vmm");
}

/* --max-threads sizes the slot table: 0 (none) up to 65536, more is refused by name. */
static void test_max_threads(void **state)
{
	struct daemon_options o;
	char err[200];

	(void)state;
	daemon_options_init(&o);
	assert_int_equal(o.max_threads, 1024);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--max-threads", "0", NULL), 0);
	assert_int_equal(o.max_threads, 0);
	assert_int_equal(parse_args(&o, err, sizeof(err), "--max-threads", "65536", NULL), 0);
	assert_int_equal(o.max_threads, 65536);
	expect_error("--max-threads", "65537", "--max-threads", "65537", NULL);
	expect_error("--max-threads", "'-1'", "--max-threads", "-1", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_socket_path_length_limit),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_retain_exited),
		cmocka_unit_test(test_group_and_client_timeout),
		cmocka_unit_test(test_latency_labels_and_detail_top),
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_ioctls_option),
		cmocka_unit_test(test_driver_option),
		cmocka_unit_test(test_max_threads),
		cmocka_unit_test(test_log_level_option),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_parse_twice),
		cmocka_unit_test(test_errors_name_option_and_value),
		cmocka_unit_test(test_unknown_option_in_cluster_is_named),
		cmocka_unit_test(test_error_buffer_is_bounded),
		cmocka_unit_test(test_parse_listen_address),
		cmocka_unit_test(test_parse_log_level),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
