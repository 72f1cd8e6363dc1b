// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscoped.conf: keys applied over the defaults, drop-ins in name order,
 * where each value came from, and every kind of bad file refused with its
 * file and line, leaving what came before it applied.
 */
#include "unit.h"

#include "config.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	unit_tmpdir_create(dir, "kvmscope-config");
	unit_mkdir(dir, "k.conf.d");
	return 0;
}

static int teardown(void **state)
{
	unit_tmpdir_remove(dir);
	return 0;
}

static int load(struct daemon_options *o, struct config_origins *orig, char *err, size_t len)
{
	char path[PATH_MAX];

	daemon_options_init(o);
	memset(orig, 0, sizeof(*orig));
	snprintf(path, sizeof(path), "%.200s/k.conf", dir);
	return config_load(o, path, true, orig, err, len);
}

static void test_values_dropins_and_origins(void **state)
{
	struct daemon_options o;
	struct config_origins orig;
	char err[512], value[64];
	int i;

	unit_put(dir, "k.conf", "[daemon]\nretain-exited = 30\nkeep-pinned = yes\n"
				"[exits]\ncollect = latency,vmm\n[kmod]\nkmod = off\n");
	unit_put(dir, "k.conf.d/20-b.conf", "[daemon]\nretain-exited = 50\n");
	unit_put(dir, "k.conf.d/10-a.conf", "; first\n[daemon]\nretain-exited = 40\nlog-level = debug\n");
	unit_put(dir, "k.conf.d/README", "not a drop-in\n");
	assert_int_equal(load(&o, &orig, err, sizeof(err)), 0);
	assert_int_equal(o.retain_exited_sec, 50);
	assert_true(o.keep_pinned);
	assert_int_equal(o.collect, COLLECT_LATENCY | COLLECT_VMM);
	assert_int_equal(o.kmod, KMOD_OFF);
	i = config_key_index("daemon", "retain-exited");
	assert_true(i >= 0);
	assert_non_null(strstr(orig.where[i], "k.conf.d/20-b.conf:2"));
	i = config_key_index("daemon", "log-level");
	assert_non_null(strstr(orig.where[i], "k.conf.d/10-a.conf:4"));
	config_key_value(&o, (size_t)i, value, sizeof(value));
	assert_string_equal(value, "debug");
	i = config_key_index("exits", "collect");
	config_key_value(&o, (size_t)i, value, sizeof(value));
	assert_string_equal(value, "latency,vmm");
	assert_int_equal(config_key_index("daemon", "collect"), -1);
	assert_true(config_key_reloadable((size_t)config_key_index("daemon", "log-level")));
	assert_false(config_key_reloadable((size_t)config_key_index("daemon", "socket")));
	/* The command line marks what it set. */
	{
		char *argv[] = { "kvmscoped", "--log-level=err", "--tick-ms", "500", NULL };

		config_mark_command_line(&orig, 4, argv);
		assert_string_equal(orig.where[config_key_index("daemon", "log-level")], "command line");
		assert_string_equal(orig.where[config_key_index("daemon", "tick-ms")], "command line");
	}
	unit_put(dir, "k.conf.d/20-b.conf", "");
	unit_put(dir, "k.conf.d/10-a.conf", "");
}

static void test_errors_name_file_and_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[daemon]\nnope = 1\n", "k.conf:2: [daemon] has no key 'nope'" },
		{ "[nope]\nx = 1\n", "k.conf:1: unknown section [nope]" },
		{ "[daemon]\nmax-vms = 100\nmax-vms = 200\n", "k.conf:3: [daemon] max-vms is given twice" },
		{ "[daemon]\nmetrics = 999.1.1.1:1\n", "k.conf:2: [daemon] metrics: " },
		{ "[ioctls]\nioctls = sometimes\n", "k.conf:2: [ioctls] ioctls: " },
		{ "[daemon]\nkeep-pinned = 2\n", "k.conf:2: [daemon] keep-pinned: '2' is not yes or no" },
		{ "[daemon]\ngroup = \x1b]0;x\x07\n", "k.conf:2: [daemon] group: '\\x1b]0" },
		{ "x = 1\n", "k.conf:1: key 'x' outside a section" },
		{ "[daemon]\n=\n", "k.conf:2: [daemon] has no key ''" },
		{ "[daemon]\njust words\n", "k.conf:2: not a 'key = value' line" },
	};
	struct daemon_options o;
	struct config_origins orig;
	char err[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unit_put(dir, "k.conf", cases[i].text);
		assert_int_equal(load(&o, &orig, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].want))
			fail_msg("'%s': got '%s', want '%s'", cases[i].text, err, cases[i].want);
		assert_null(strchr(err, 0x1b));
	}
	/* A line too long for the parser is refused, never split into two. */
	{
		char text[400];

		snprintf(text, sizeof(text), "[daemon]\nsocket = /%0300d\n", 0);
		unit_put(dir, "k.conf", text);
		assert_int_equal(load(&o, &orig, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "k.conf:2: line longer than 199 bytes"));
	}
	/* A bad drop-in: the file before it is applied, the error names the drop-in. */
	unit_put(dir, "k.conf", "[daemon]\nretain-max = 9\n");
	unit_put(dir, "k.conf.d/30-bad.conf", "[daemon]\n\nbogus = yes\n");
	assert_int_equal(load(&o, &orig, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "k.conf.d/30-bad.conf:3: [daemon] has no key 'bogus'"));
	assert_int_equal(o.retain_exited_max, 9);
	unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, dir), "/k.conf.d/30-bad.conf"));
}

static void test_missing_file(void **state)
{
	struct daemon_options o;
	char err[256], path[PATH_MAX];

	daemon_options_init(&o);
	snprintf(path, sizeof(path), "%.200s/absent.conf", dir);
	assert_int_equal(config_load(&o, path, false, NULL, err, sizeof(err)), 0);
	assert_int_equal(config_load(&o, path, true, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "absent.conf: No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_dropins_and_origins),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
