// SPDX-License-Identifier: GPL-2.0-only
/*
 * The helper module's pure logic: the consistency canary's invariant
 * (include/kvmscope/canary.h, the code kvmscope.ko runs on every call) fed
 * synthetic call records of every kind, violations included; the version
 * handshake; and why a kernel cannot load the module, from fake /proc and
 * /sys trees.
 */
#include "unit.h"

#include <kvmscope/canary.h>
#include <kvmscope/kmod.h>

#include "kmod/handshake.h"

#define PH(gen, state) KVMSCOPE_CANARY_PHASE(gen, KVMSCOPE_CANARY_##state)
#define ORIG KVMSCOPE_CANARY_ORIGINAL
#define REPL KVMSCOPE_CANARY_REPLACEMENT
#define NONE KVMSCOPE_CANARY_NEITHER

static unsigned int judge(uint64_t before, uint64_t after, unsigned int body)
{
	struct kvmscope_canary_call c = { .before = before, .after = after, .body = body, .cpu = 1 };

	return kvmscope_canary_judge(&c);
}

/* Calls wholly inside a settled phase must run the body it promises. */
static void test_canary_settled_phases(void **state)
{
	assert_int_equal(judge(PH(0, OFF), PH(0, OFF), ORIG), KVMSCOPE_CANARY_OK);
	assert_int_equal(judge(PH(7, ON), PH(7, ON), REPL), KVMSCOPE_CANARY_OK);
	/* The seed thread's bug: the old body ran while the patch claimed to be in place. */
	assert_int_equal(judge(PH(7, ON), PH(7, ON), ORIG), KVMSCOPE_CANARY_STALE_ORIGINAL);
	/* The reverse: the redirection outlived its removal. */
	assert_int_equal(judge(PH(8, OFF), PH(8, OFF), REPL), KVMSCOPE_CANARY_STALE_REPLACEMENT);
	assert_int_equal(judge(0, 0, REPL), KVMSCOPE_CANARY_STALE_REPLACEMENT);
}

/* During an update, or across one, either body is fine. */
static void test_canary_updates_allow_either_body(void **state)
{
	for (unsigned int body = ORIG; body <= REPL; body++) {
		assert_int_equal(judge(PH(3, TURNING_ON), PH(3, TURNING_ON), body), KVMSCOPE_CANARY_OK);
		assert_int_equal(judge(PH(3, TURNING_OFF), PH(3, TURNING_OFF), body), KVMSCOPE_CANARY_OK);
		assert_int_equal(judge(PH(3, OFF), PH(3, ON), body), KVMSCOPE_CANARY_OK);
		assert_int_equal(judge(PH(3, ON), PH(4, OFF), body), KVMSCOPE_CANARY_OK);
		/* A call that spans whole generations (a long preemption). */
		assert_int_equal(judge(PH(3, ON), PH(9, ON), body), KVMSCOPE_CANARY_OK);
	}
}

/* A call never runs neither, whatever the phase; a corrupt body is neither. */
static void test_canary_neither_is_always_a_violation(void **state)
{
	static const uint64_t phases[] = { PH(0, OFF), PH(1, TURNING_ON), PH(1, ON),
					   PH(1, TURNING_OFF) };

	for (size_t i = 0; i < ARRAY_SIZE(phases); i++) {
		assert_int_equal(judge(phases[i], phases[i], NONE), KVMSCOPE_CANARY_RAN_NEITHER);
		assert_int_equal(judge(phases[i], phases[i] + 1, NONE), KVMSCOPE_CANARY_RAN_NEITHER);
	}
	assert_int_equal(judge(PH(1, ON), PH(1, ON), 3), KVMSCOPE_CANARY_RAN_NEITHER);
	assert_int_equal(judge(PH(1, ON), PH(1, ON), 0xdeadbeef), KVMSCOPE_CANARY_RAN_NEITHER);
}

static void test_canary_phase_backwards(void **state)
{
	assert_int_equal(judge(PH(5, ON), PH(5, TURNING_ON), REPL), KVMSCOPE_CANARY_PHASE_BACKWARDS);
	assert_int_equal(judge(PH(5, OFF), PH(4, ON), ORIG), KVMSCOPE_CANARY_PHASE_BACKWARDS);
}

/* A stream of records as a run makes them, with one of each violation planted: each is found. */
static void test_canary_stream_finds_every_violation(void **state)
{
	unsigned int found[KVMSCOPE_CANARY_VERDICTS] = { 0 };
	uint64_t calls = 0;

	for (uint64_t gen = 0; gen < 1000; gen++) {
		for (unsigned int s = 0; s < 4; s++) {
			uint64_t ph = KVMSCOPE_CANARY_PHASE(gen, s);
			unsigned int good = s == KVMSCOPE_CANARY_ON ? REPL : ORIG;

			for (int k = 0; k < 5; k++, calls++)
				found[judge(ph, ph, good)]++;
			/* A call that straddles into the next phase. */
			found[judge(ph, ph + 1, REPL)]++;
			calls++;
		}
	}
	assert_int_equal(found[KVMSCOPE_CANARY_OK], calls);
	found[judge(PH(500, ON), PH(500, ON), ORIG)]++;
	found[judge(PH(501, OFF), PH(501, OFF), REPL)]++;
	found[judge(PH(502, TURNING_ON), PH(502, ON), NONE)]++;
	found[judge(PH(503, ON), PH(502, ON), REPL)]++;
	for (unsigned int v = 1; v < KVMSCOPE_CANARY_VERDICTS; v++) {
		assert_int_equal(found[v], 1);
		assert_string_not_equal(kvmscope_canary_verdict_name(v), "unknown");
	}
	assert_string_equal(kvmscope_canary_verdict_name(99), "unknown");
}

static void test_handshake(void **state)
{
	struct kvmscope_version v = { .api = 1, .schema = 0x1234, .version = "0.1.0" };
	char why[512];

	assert_int_equal(kmod_handshake_check(&v, 1, 0x1234, "0.1.0", why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* Another schema: refused, naming both versions and both hashes. */
	v.schema = 0x1235;
	assert_int_equal(kmod_handshake_check(&v, 1, 0x1234, "0.2.0", why, sizeof(why)),
			 -EPROTO);
	assert_non_null(strstr(why, "kvmscope.ko 0.1.0 (API 1, schema 0000000000001235)"));
	assert_non_null(strstr(why, "kvmscoped 0.2.0 (API 1, schema 0000000000001234)"));
	/* Another API with the same schema: refused too. */
	v.schema = 0x1234;
	v.api = 2;
	assert_int_equal(kmod_handshake_check(&v, 1, 0x1234, "0.1.0", why, sizeof(why)), -EPROTO);
	/* A version string that is not one: no terminal escape, no overrun. */
	memset(v.version, 0x1b, sizeof(v.version));
	assert_int_equal(kmod_handshake_check(&v, 1, 0x1234, "0.1.0", why, sizeof(why)), -EPROTO);
	assert_null(strchr(why, 0x1b));
	assert_non_null(strstr(why, "kvmscope.ko ????????????????????????????????"));
}

static void test_loadable(void **state)
{
	char root[PATH_MAX], why[400];

	unit_tmpdir_create(root, "kvmscope-kmod");
	/* This machine's case: no /proc/modules at all. */
	assert_false(kmod_kernel_loadable(root, false, why, sizeof(why)));
	assert_non_null(strstr(why, "no module support (CONFIG_MODULES is off"));

	unit_mkdir(root, "proc");
	unit_put(root, "proc/modules", "");
	assert_true(kmod_kernel_loadable(root, false, why, sizeof(why)));
	assert_string_equal(why, "");

	unit_mkdir(root, "proc/sys");
	unit_mkdir(root, "proc/sys/kernel");
	unit_put(root, "proc/sys/kernel/modules_disabled", "1\n");
	assert_false(kmod_kernel_loadable(root, true, why, sizeof(why)));
	assert_non_null(strstr(why, "kernel.modules_disabled=1"));
	unit_put(root, "proc/sys/kernel/modules_disabled", "0\n");

	unit_mkdir(root, "sys");
	unit_mkdir(root, "sys/kernel");
	unit_mkdir(root, "sys/kernel/security");
	unit_put(root, "sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
	assert_true(kmod_kernel_loadable(root, false, why, sizeof(why)));
	unit_put(root, "sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
	assert_false(kmod_kernel_loadable(root, false, why, sizeof(why)));
	assert_non_null(strstr(why, "lockdown (integrity) refuses unsigned modules"));
	/* A signed module may load under lockdown. */
	assert_true(kmod_kernel_loadable(root, true, why, sizeof(why)));
	unit_put(root, "sys/kernel/security/lockdown", "[none] integrity confidentiality\n");

	unit_mkdir(root, "sys/module");
	unit_mkdir(root, "sys/module/module");
	unit_mkdir(root, "sys/module/module/parameters");
	unit_put(root, "sys/module/module/parameters/sig_enforce", "Y\n");
	assert_false(kmod_kernel_loadable(root, false, why, sizeof(why)));
	assert_non_null(strstr(why, "module.sig_enforce=1"));
	assert_true(kmod_kernel_loadable(root, true, why, sizeof(why)));
	unit_tmpdir_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canary_settled_phases),
		cmocka_unit_test(test_canary_updates_allow_either_body),
		cmocka_unit_test(test_canary_neither_is_always_a_violation),
		cmocka_unit_test(test_canary_phase_backwards),
		cmocka_unit_test(test_canary_stream_finds_every_violation),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_loadable),
	};

	return cmocka_run_group_tests_name("kmod", tests, NULL, NULL);
}
