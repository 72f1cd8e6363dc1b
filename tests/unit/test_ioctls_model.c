// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioctls model: records by VM, and launch timelines from steps.  The
 * steps are SYNTHETIC fixtures written from kvm-decode.md §2 (no SEV, TDX
 * or s390 machine is here): the sequence a VMM makes, with the results
 * and firmware codes the reference documents.
 */
#include "unit.h"

#include "ioctls/model.h"

static struct kvmscope_ioctl_event step(uint32_t cmd, uint32_t sub, int32_t result, uint32_t detail,
					uint8_t kind, uint64_t ts)
{
	return (struct kvmscope_ioctl_event){ .ts_ns = ts, .duration_ns = 1000, .tgid = 42,
					      .cmd = cmd, .sub = sub, .result = result,
					      .detail = detail, .kind = kind,
					      .vcpu = KVMSCOPE_VCPU_UNKNOWN };
}

/* One step into @l; the call ends 1 us after @ts. */
static void add(struct launch *l, const struct ioctl_cmds *c, uint32_t cmd, uint32_t sub,
		int32_t result, uint32_t detail, uint8_t kind, uint64_t ts)
{
	struct kvmscope_ioctl_event ev = step(cmd, sub, result, detail, kind, ts);

	assert_int_equal(launch_add(l, c, &ev), 0);
}

static void test_records_sorted_by_vm(void **state)
{
	struct ioctl_table t = { 0 };
	struct kvmscope_ioctl_value v = { .count = 1 };
	size_t first;

	for (uint32_t pid = 5; pid > 0; pid--)
		for (uint32_t c = 0; c < 3; c++) {
			struct kvmscope_ioctl_key k = { .tgid = pid, .cmd = 0xae80 + c,
							.kind = KVMSCOPE_FD_VCPU };

			assert_int_equal(ioctl_table_push(&t, &k, &v), 0);
		}
	ioctl_table_sort(&t);
	assert_int_equal(ioctl_table_range(&t, 3, &first), 3);
	assert_int_equal(t.v[first].key.tgid, 3);
	assert_int_equal(t.v[first].key.cmd, 0xae80);
	assert_int_equal(ioctl_table_range(&t, 9, &first), 0);
	ioctl_table_free(&t);
}

/* SEV (synthetic): CREATE_VM type 2, INIT2, LAUNCH_START, UPDATE_DATA x3, MEASURE, FINISH. */
static void test_sev_launch_runs(void **state)
{
	struct ioctl_cmds c;
	struct launch l = { .pid = 42 };
	char buf[96];

	ioctl_cmds_for(&c, IOCTL_ARCH_X86_64);
	assert_int_equal(c.memory_encrypt_op, 0xc008aeba);
	add(&l, &c, c.create_vm, 2, 0, 0, KVMSCOPE_FD_SYSTEM, 1);
	assert_int_equal(l.protection, PROTECTION_SEV);
	assert_string_equal(l.state, "created");
	add(&l, &c, c.memory_encrypt_op, 22, 0, 0, KVMSCOPE_FD_VM, 2);
	assert_string_equal(l.state, "initialized");
	add(&l, &c, c.memory_encrypt_op, 2, 0, 0, KVMSCOPE_FD_VM, 3);
	for (int i = 0; i < 3; i++)
		add(&l, &c, c.memory_encrypt_op, 3, 0, 0,
								       KVMSCOPE_FD_VM, 4 + i);
	assert_string_equal(l.state, "launching");
	add(&l, &c, c.memory_encrypt_op, 6, 0, 0, KVMSCOPE_FD_VM, 8);
	assert_string_equal(l.state, "measured");
	add(&l, &c, c.memory_encrypt_op, 7, 0, 0, KVMSCOPE_FD_VM, 9);
	assert_string_equal(l.state, "running");
	/* The three UPDATE_DATA calls are one step of count 3. */
	assert_int_equal(l.n_steps, 6);
	assert_int_equal(l.steps[3].count, 3);
	assert_string_equal(launch_step_name(&c, l.protection, &l.steps[3], buf, sizeof(buf)),
			    "KVM_SEV_LAUNCH_UPDATE_DATA");
	assert_string_equal(launch_step_name(&c, l.protection, &l.steps[0], buf, sizeof(buf)),
			    "KVM_CREATE_VM");
	assert_string_equal(ioctl_sub_name(&c, l.protection, c.create_vm, 2, buf, sizeof(buf)),
			    "KVM_X86_SEV_VM");
	/* x86 has no s390 PV command (0): a VM's folded key is not one. */
	assert_int_equal(c.pv_command, 0);
	assert_null(ioctl_sub_name(&c, l.protection, KVMSCOPE_IOCTL_CMD_FOLDED, 0, buf, sizeof(buf)));
	launch_free(&l);
}

/* SEV-ES (synthetic): LAUNCH_UPDATE_DATA fails with -EIO, firmware INVALID_ADDRESS. */
static void test_sev_launch_fails_with_its_step(void **state)
{
	struct ioctl_cmds c;
	struct launch l = { .pid = 42 };

	ioctl_cmds_for(&c, IOCTL_ARCH_X86_64);
	add(&l, &c, c.create_vm, 3, 0, 0, KVMSCOPE_FD_SYSTEM, 1);
	assert_int_equal(l.protection, PROTECTION_SEV_ES);
	add(&l, &c, c.memory_encrypt_op, 2, 0, 0, KVMSCOPE_FD_VM, 2);
	add(&l, &c, c.memory_encrypt_op, 3, -5, 0x9,
							       KVMSCOPE_FD_VM, 3);
	assert_string_equal(l.state, "failed");
	assert_string_equal(l.failed_step, "KVM_SEV_LAUNCH_UPDATE_DATA");
	assert_int_equal(l.steps[2].detail, 0x9);
	assert_string_equal(sev_error_name(l.steps[2].detail), "SEV_RET_INVALID_ADDRESS");
	/* ENABLE_CAP probing that fails fails nothing. */
	add(&l, &c, c.enable_cap, 123, -22, 0, KVMSCOPE_FD_VM, 4);
	assert_string_equal(l.failed_step, "KVM_SEV_LAUNCH_UPDATE_DATA");
	launch_free(&l);
}

/* Legacy SEV (synthetic): a default VM that KVM_SEV_ES_INIT makes SEV-ES. */
static void test_legacy_sev_es_init(void **state)
{
	struct ioctl_cmds c;
	struct launch l = { .pid = 42 };

	ioctl_cmds_for(&c, IOCTL_ARCH_X86_64);
	add(&l, &c, c.create_vm, 0, 0, 0, KVMSCOPE_FD_SYSTEM, 1);
	assert_int_equal(l.protection, PROTECTION_NONE);
	add(&l, &c, c.memory_encrypt_op, 1, 0, 0, KVMSCOPE_FD_VM, 2);
	assert_int_equal(l.protection, PROTECTION_SEV_ES);
	launch_free(&l);
}

/* s390 PV (synthetic): ENABLE, SET_SEC_PARMS, UNPACK x5, VERIFY; then an UNPACK with rc 0x102. */
static void test_s390_pv_launch(void **state)
{
	struct ioctl_cmds c;
	struct launch l = { .pid = 42 };
	char buf[96];

	ioctl_cmds_for(&c, IOCTL_ARCH_S390X);
	assert_true(c.pv_command != 0);
	add(&l, &c, c.pv_command, 0, 0, 1u << 16, KVMSCOPE_FD_VM, 1);
	assert_int_equal(l.protection, PROTECTION_S390_PV);
	assert_string_equal(l.state, "initialized");
	add(&l, &c, c.pv_command, 2, 0, 1u << 16, KVMSCOPE_FD_VM, 2);
	for (int i = 0; i < 5; i++)
		add(&l, &c, c.pv_command, 3, 0, 1u << 16,
								       KVMSCOPE_FD_VM, 3 + i);
	assert_string_equal(l.state, "launching");
	assert_int_equal(l.steps[2].count, 5);
	assert_string_equal(launch_step_name(&c, l.protection, &l.steps[2], buf, sizeof(buf)),
			    "KVM_PV_UNPACK");
	add(&l, &c, c.pv_command, 4, 0, 1u << 16, KVMSCOPE_FD_VM, 9);
	assert_string_equal(l.state, "running");
	add(&l, &c, c.pv_command, 3, -22, 0x102u << 16 | 0x5,
							       KVMSCOPE_FD_VM, 10);
	assert_string_equal(l.state, "failed");
	assert_string_equal(l.failed_step, "KVM_PV_UNPACK");
	assert_int_equal(l.steps[l.n_steps - 1].detail >> 16, 0x102);
	launch_free(&l);
}

/* arm64 (synthetic): KVM_ARM_VCPU_INIT asking for HAS_EL2 is nested virtualization. */
static void test_arm64_nested_init(void **state)
{
	struct ioctl_cmds c;
	struct launch l = { .pid = 42 };
	char buf[160];

	ioctl_cmds_for(&c, IOCTL_ARCH_ARM64);
	assert_true(c.arm_vcpu_init != 0);
	/* Refused (EINVAL): not nested. */
	add(&l, &c, c.arm_vcpu_init, 5, -22, 1u << 7 | 1u << 2,
							       KVMSCOPE_FD_VCPU, 1);
	assert_int_equal(l.protection, PROTECTION_NONE);
	assert_string_equal(l.state, "failed");
	assert_string_equal(l.failed_step, "KVM_ARM_VCPU_INIT");
	add(&l, &c, c.arm_vcpu_init, 5, 0, 1u << 7 | 1u << 2,
							       KVMSCOPE_FD_VCPU, 2);
	assert_int_equal(l.protection, PROTECTION_ARM_NESTED);
	assert_string_equal(arm_vcpu_features_text(1u << 7 | 1u << 2, buf, sizeof(buf)),
			    "KVM_ARM_VCPU_PSCI_0_2|KVM_ARM_VCPU_HAS_EL2");
	launch_free(&l);
}

/* A VM that makes more steps than are kept: the oldest go, and are counted. */
static void test_steps_are_bounded(void **state)
{
	struct ioctl_cmds c;
	struct launch l = { .pid = 42 };

	ioctl_cmds_for(&c, IOCTL_ARCH_X86_64);
	for (uint32_t i = 0; i < LAUNCH_STEPS_MAX + 10; i++)
		add(&l, &c, c.memory_encrypt_op, i % 2 ? 3 : 5,
								       0, 0, KVMSCOPE_FD_VM, i);
	assert_int_equal(l.n_steps, LAUNCH_STEPS_MAX);
	assert_int_equal(l.dropped_steps, 10);
	launch_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_sorted_by_vm),
		cmocka_unit_test(test_sev_launch_runs),
		cmocka_unit_test(test_sev_launch_fails_with_its_step),
		cmocka_unit_test(test_legacy_sev_es_init),
		cmocka_unit_test(test_s390_pv_launch),
		cmocka_unit_test(test_arm64_nested_init),
		cmocka_unit_test(test_steps_are_bounded),
	};

	return cmocka_run_group_tests_name("ioctls_model", tests, NULL, NULL);
}
