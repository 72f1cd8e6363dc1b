// SPDX-License-Identifier: GPL-2.0-only
/* log2 histograms: counts, merging, percentiles and their JSON. */
#include "unit.h"
#include "hist.h"

static void put(struct kvmscope_hist *h, uint64_t ns, uint64_t times)
{
	unsigned int slot = 0;

	while (slot + 1 < KVMSCOPE_HIST_SLOTS && ns >= hist_slot_le_ns(slot))
		slot++;
	h->slots[slot] += times;
	h->sum_ns += ns * times;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static void test_slot_bounds(void **state)
{
	assert_int_equal(hist_slot_le_ns(0), 2);
	assert_int_equal(hist_slot_le_ns(10), 2048);
	assert_int_equal(hist_slot_le_ns(39), 1ULL << 40);
}

static void test_empty(void **state)
{
	struct kvmscope_hist h = { 0 };
	json_t *j = hist_to_json(&h, 0);

	assert_int_equal(hist_count(&h), 0);
	assert_int_equal(hist_percentile_ns(&h, 0.5), 0);
	assert_true(json_is_null(j));
	json_decref(j);
	/* Nothing measured but exits pending: an object, not null. */
	j = hist_to_json(&h, 2);
	assert_true(json_is_object(j));
	assert_int_equal(json_integer_value(json_object_get(j, "unfinished")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
}

/* One slot: percentiles interpolate inside it and never pass the max. */
static void test_percentiles_one_slot(void **state)
{
	struct kvmscope_hist h = { 0 };

	put(&h, 3000, 100);	/* slot [2048, 4096) */
	assert_int_equal(hist_count(&h), 100);
	assert_int_equal(hist_percentile_ns(&h, 0.5), 3000);	/* interpolated 3072, capped */
	h.max_ns = 4000;
	assert_int_equal(hist_percentile_ns(&h, 0.5), 2048 + 1024);
	assert_int_equal(hist_percentile_ns(&h, 1.0), 4000);
}

static void test_percentiles_two_slots(void **state)
{
	struct kvmscope_hist h = { 0 };

	put(&h, 1500, 98);	/* [1024, 2048) */
	put(&h, 70000, 2);	/* [65536, 131072) */
	/* p50: rank 50 of 98 in the first slot. */
	assert_true(hist_percentile_ns(&h, 0.50) >= 1024 && hist_percentile_ns(&h, 0.50) < 2048);
	/* p99: rank 99, the first of the two slow ones, capped at max 70000. */
	assert_int_equal(hist_percentile_ns(&h, 0.99), 70000);
	assert_int_equal(hist_percentile_ns(&h, 0.98), 2048);
}

static void test_merge_and_json(void **state)
{
	struct kvmscope_hist a = { 0 }, b = { 0 };
	json_t *j, *slots;

	put(&a, 100, 5);
	put(&b, 100, 1);
	put(&b, 5000, 4);
	hist_merge(&a, &b);
	assert_int_equal(hist_count(&a), 10);
	assert_int_equal(a.max_ns, 5000);
	assert_int_equal(a.sum_ns, 600 + 20000);
	j = hist_to_json(&a, 3);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 10);
	assert_int_equal(json_integer_value(json_object_get(j, "unfinished")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "avg_ns")), 2060);
	assert_int_equal(json_integer_value(json_object_get(j, "max_ns")), 5000);
	slots = json_object_get(j, "hist");
	assert_int_equal(json_array_size(slots), 2);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(slots, 0), 0)), 128);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(slots, 0), 1)), 6);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(slots, 1), 0)), 8192);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(slots, 1), 1)), 4);
	json_decref(j);
}

/* The last slot takes everything longer: its bound is 2^40 ns. */
/* Counted in the daemon as the BPF programs count: slot k holds [2^k, 2^(k+1)). */
static void test_add_ns(void **state)
{
	struct kvmscope_hist h = { 0 };

	hist_add_ns(&h, 0);
	hist_add_ns(&h, 1);
	hist_add_ns(&h, 1023);
	hist_add_ns(&h, 1024);
	hist_add_ns(&h, 4795431000ull);	/* a 4.8 s transition: slot 32 */
	hist_add_ns(&h, UINT64_MAX);
	assert_int_equal(h.slots[0], 2);
	assert_int_equal(h.slots[9], 1);
	assert_int_equal(h.slots[10], 1);
	assert_int_equal(h.slots[32], 1);
	assert_int_equal(h.slots[KVMSCOPE_HIST_SLOTS - 1], 1);
	assert_int_equal(hist_count(&h), 6);
	assert_true(h.max_ns == UINT64_MAX);
}

static void test_overflow_slot(void **state)
{
	struct kvmscope_hist h = { 0 };

	h.slots[KVMSCOPE_HIST_SLOTS - 1] = 1;
	h.max_ns = 5ULL << 40;
	assert_int_equal(hist_percentile_ns(&h, 0.99), 1ULL << 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_bounds),
		cmocka_unit_test(test_add_ns),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_percentiles_one_slot),
		cmocka_unit_test(test_percentiles_two_slots),
		cmocka_unit_test(test_merge_and_json),
		cmocka_unit_test(test_overflow_slot),
	};

	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
