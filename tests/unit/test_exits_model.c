// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exits model without BPF: folding timed exits into counts, a VM's
 * records as one range of the sorted snapshot, rates between snapshots,
 * dropping exited pids, and the pin directory's lock and removal.
 */
#include "unit.h"

#include <sys/file.h>

#include "exits/model.h"
#include "pin.h"

static const struct exit_record *find(const struct exit_table *t, uint8_t kind, uint32_t pid,
				      uint32_t vcpu, uint32_t reason)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].kind == kind && t->v[i].pid == pid && t->v[i].vcpu == vcpu &&
		    t->v[i].reason == reason)
			return &t->v[i];
	return NULL;
}

/* count = untimed + histogram + pending, per (VM, vCPU, reason); the rest kept. */
static void test_fold_timed(void **state)
{
	struct exit_table t = { 0 }, scratch = { 0 };
	struct kvmscope_hist h90 = { .sum_ns = 9000, .max_ns = 300 }, h4 = { .sum_ns = 40 };
	struct kvmscope_hist merged = { 0 };
	const struct exit_record *lat;

	h90.slots[10] = 90;
	h4.slots[3] = 4;
	exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_PIO, .pid = 7, .port = 0x70,
						   .count = 93 });
	exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_USER, .pid = 7, .vcpu = 0,
						   .reason = 2, .count = 3 });
	exit_table_push_hist(&t, &(struct exit_record){ .kind = EXIT_KIND_USER_LAT, .pid = 7,
							.vcpu = 0, .reason = 2 }, &h90);
	exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_USER_PENDING, .pid = 7,
						   .vcpu = 0, .reason = 2, .count = 1 });
	exit_table_push_hist(&t, &(struct exit_record){ .kind = EXIT_KIND_USER_LAT, .pid = 7,
							.vcpu = 1, .reason = 5 }, &h4);
	/* Another VM, and two pending exits of one unresolved vCPU. */
	exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_HW, .pid = 3, .vcpu = 0,
						   .isa = 2, .reason = 0x7b, .count = 10 });
	exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_HW_PENDING, .pid = 3,
						   .vcpu = KVMSCOPE_VCPU_UNKNOWN, .isa = 2,
						   .reason = 0x7b, .count = 1 });
	exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_HW_PENDING, .pid = 3,
						   .vcpu = KVMSCOPE_VCPU_UNKNOWN, .isa = 2,
						   .reason = 0x7b, .count = 1 });
	assert_int_equal(exit_table_fold_timed(&t, &scratch), 0);
	assert_int_equal(find(&t, EXIT_KIND_USER, 7, 0, 2)->count, 94);
	/* A reason only ever timed still gets its count record. */
	assert_int_equal(find(&t, EXIT_KIND_USER, 7, 1, 5)->count, 4);
	lat = find(&t, EXIT_KIND_USER_LAT, 7, 0, 2);
	assert_non_null(lat);
	assert_int_equal(lat->count, 90);
	hist_sparse_merge(&merged, lat->hist);
	assert_int_equal(merged.slots[10], 90);
	assert_int_equal(merged.sum_ns, 9000);
	assert_int_equal(merged.max_ns, 300);
	assert_int_equal(lat->hist->n, 1);
	assert_non_null(find(&t, EXIT_KIND_USER_PENDING, 7, 0, 2));
	assert_int_equal(find(&t, EXIT_KIND_PIO, 7, 0, 0)->count, 93);
	assert_int_equal(find(&t, EXIT_KIND_HW, 3, 0, 0x7b)->count, 10);
	assert_int_equal(find(&t, EXIT_KIND_HW, 3, KVMSCOPE_VCPU_UNKNOWN, 0x7b)->count, 2);
	/* Sorted: pid 3 first, and every record once. */
	assert_int_equal(t.v[0].pid, 3);
	for (size_t i = 1; i < t.n; i++)
		assert_true(exit_record_cmp(&t.v[i - 1], &t.v[i]) <= 0);
	assert_int_equal(t.n, 10);
	exit_table_free(&t);
	exit_table_free(&scratch);
}

/* A record copied into another table keeps its histogram when the first is gone. */
static void test_owned_copy(void **state)
{
	struct exit_table a = { 0 }, b = { 0 };
	struct kvmscope_hist h = { .sum_ns = 5 }, back = { 0 };

	h.slots[0] = 1;
	h.slots[39] = 2;
	exit_table_push_hist(&a, &(struct exit_record){ .kind = EXIT_KIND_HW_LAT, .pid = 1 }, &h);
	assert_int_equal(a.v[0].count, 3);
	assert_int_equal(exit_table_push_owned(&b, &a.v[0]), 0);
	exit_table_free(&a);
	hist_sparse_merge(&back, b.v[0].hist);
	assert_int_equal(back.slots[0], 1);
	assert_int_equal(back.slots[39], 2);
	assert_int_equal(back.sum_ns, 5);
	exit_table_clear(&b);
	assert_int_equal(b.n, 0);
	exit_table_free(&b);
}

static void test_range_by_pid(void **state)
{
	struct exit_table t = { 0 };
	uint32_t pids[] = { 300, 5, 42, 5, 300, 42, 42, 9 };
	size_t first, n;

	for (size_t i = 0; i < ARRAY_SIZE(pids); i++)
		exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_HW, .pid = pids[i],
							   .reason = (uint32_t)i, .count = 1 });
	exit_table_sort(&t);
	n = exit_table_range(&t, 42, &first);
	assert_int_equal(n, 3);
	for (size_t i = first; i < first + n; i++)
		assert_int_equal(t.v[i].pid, 42);
	assert_int_equal(exit_table_range(&t, 5, &first), 2);
	assert_int_equal(first, 0);
	assert_int_equal(exit_table_range(&t, 300, &first), 2);
	assert_int_equal(first, 6);
	assert_int_equal(exit_table_range(&t, 6, &first), 0);
	assert_int_equal(exit_table_range(&t, 1000, &first), 0);
	exit_table_free(&t);
	/* An empty table has no range. */
	assert_int_equal(exit_table_range(&t, 1, &first), 0);
}

static void test_rates(void **state)
{
	struct exit_table prev = { 0 }, cur = { 0 };

	exit_table_push(&prev, &(struct exit_record){ .kind = EXIT_KIND_HW, .pid = 1, .reason = 1,
						      .count = 100 });
	exit_table_push(&prev, &(struct exit_record){ .kind = EXIT_KIND_USER, .pid = 2, .reason = 2,
						      .count = 50 });
	exit_table_push(&cur, &(struct exit_record){ .kind = EXIT_KIND_HW, .pid = 1, .reason = 1,
						     .count = 300 });
	/* New within the interval: from 0. */
	exit_table_push(&cur, &(struct exit_record){ .kind = EXIT_KIND_HW, .pid = 1, .reason = 9,
						     .count = 20 });
	/* Went down (a reused pid): no negative rate. */
	exit_table_push(&cur, &(struct exit_record){ .kind = EXIT_KIND_USER, .pid = 2, .reason = 2,
						     .count = 10 });
	exit_table_push(&cur, &(struct exit_record){ .kind = EXIT_KIND_PIO, .pid = 2, .count = 10 });
	exit_table_sort(&prev);
	exit_table_sort(&cur);
	exit_table_rates(&cur, &prev, 2.0);
	assert_true(find(&cur, EXIT_KIND_HW, 1, 0, 1)->rate == 100.0);
	assert_true(find(&cur, EXIT_KIND_HW, 1, 0, 9)->rate == 10.0);
	assert_true(find(&cur, EXIT_KIND_USER, 2, 0, 2)->rate == 0.0);
	assert_true(find(&cur, EXIT_KIND_PIO, 2, 0, 0)->rate == 0.0);
	/* A histogram record keeps its histogram: only count records get rates. */
	{
		struct kvmscope_hist h = { .sum_ns = 1 };
		const struct exit_record *lat;

		h.slots[2] = 1;
		exit_table_push_hist(&cur, &(struct exit_record){ .kind = EXIT_KIND_HW_LAT, .pid = 1,
								  .reason = 1 }, &h);
		exit_table_sort(&cur);
		exit_table_rates(&cur, &prev, 2.0);
		lat = find(&cur, EXIT_KIND_HW_LAT, 1, 0, 1);
		assert_non_null(lat->hist);
		assert_int_equal(lat->hist->n, 1);
	}
	/* The first snapshot has no interval: no rate. */
	exit_table_rates(&cur, &prev, 0);
	assert_true(find(&cur, EXIT_KIND_HW, 1, 0, 1)->rate == 0.0);
	exit_table_free(&prev);
	exit_table_free(&cur);
}

/* Three VMs over three snapshots: only one whose records change gets a new generation. */
static void test_generations(void **state)
{
	struct exit_table a = { 0 }, b = { 0 }, c = { 0 };
	struct vm_gen *g1 = NULL, *g2 = NULL, *g3 = NULL;
	size_t n1, n2, n3;
	uint64_t counter = 0;
	struct kvmscope_hist h = { .sum_ns = 5 };

	h.slots[3] = 2;
	for (uint32_t pid = 1; pid <= 3; pid++) {
		struct exit_table *tabs[] = { &a, &b, &c };

		for (int k = 0; k < 3; k++) {
			exit_table_push(tabs[k], &(struct exit_record){ .kind = EXIT_KIND_HW,
				.pid = pid, .reason = 1, .count = 10 + (pid == 2 && k == 1) });
			exit_table_push_hist(tabs[k], &(struct exit_record){ .kind = EXIT_KIND_HW_LAT,
				.pid = pid, .reason = 1 }, &h);
		}
	}
	/* VM 3 has one more record in the third snapshot. */
	exit_table_push(&c, &(struct exit_record){ .kind = EXIT_KIND_PIO, .pid = 3, .port = 0x70,
						   .count = 1 });
	exit_table_sort(&a);
	exit_table_sort(&b);
	exit_table_sort(&c);

	assert_int_equal(exit_table_generations(&a, &(struct exit_table){ 0 }, NULL, 0, &g1, &n1,
						&counter), 0);
	assert_int_equal(n1, 3);
	for (size_t i = 0; i < n1; i++) {
		assert_int_equal(g1[i].pid, i + 1);
		assert_true(g1[i].gen > VM_GEN_EMPTY);
	}
	assert_int_equal(exit_table_generations(&b, &a, g1, n1, &g2, &n2, &counter), 0);
	assert_int_equal(g2[0].gen, g1[0].gen);
	assert_true(g2[1].gen != g1[1].gen);	/* a count changed */
	assert_int_equal(g2[2].gen, g1[2].gen);
	assert_int_equal(exit_table_generations(&c, &b, g2, n2, &g3, &n3, &counter), 0);
	assert_int_equal(g3[0].gen, g1[0].gen);
	assert_true(g3[1].gen != g2[1].gen);	/* changed back */
	assert_true(g3[2].gen != g2[2].gen);	/* a record more */
	assert_int_equal(vm_gen_find(g3, n3, 1), g1[0].gen);
	assert_int_equal(vm_gen_find(g3, n3, 4), VM_GEN_EMPTY);

	/* A rate that differs (same counts, another interval) is another generation. */
	exit_table_rates(&b, &a, 1.0);
	{
		struct vm_gen *g4;
		size_t n4;

		exit_table_rates(&c, &b, 0);
		assert_int_equal(exit_table_generations(&b, &c, g3, n3, &g4, &n4, &counter), 0);
		assert_true(g4[1].gen != g3[1].gen);
		free(g4);
	}
	free(g1);
	free(g2);
	free(g3);
	exit_table_free(&a);
	exit_table_free(&b);
	exit_table_free(&c);
}

static void test_remove_pids(void **state)
{
	struct exit_table t = { 0 };
	uint32_t gone[] = { 3, 8 };
	size_t first;

	for (uint32_t pid = 1; pid <= 9; pid++)
		for (uint32_t r = 0; r < 3; r++)
			exit_table_push(&t, &(struct exit_record){ .kind = EXIT_KIND_HW, .pid = pid,
								   .reason = r, .count = 1 });
	exit_table_sort(&t);
	exit_table_remove_pids(&t, gone, ARRAY_SIZE(gone));
	assert_int_equal(t.n, 21);
	assert_int_equal(exit_table_range(&t, 3, &first), 0);
	assert_int_equal(exit_table_range(&t, 8, &first), 0);
	/* Still sorted: ranges still work. */
	assert_int_equal(exit_table_range(&t, 9, &first), 3);
	assert_int_equal(first, 18);
	exit_table_free(&t);
}

/* One daemon per pin directory; removal takes every entry and the directory. */
static void test_pin_dir(void **state)
{
	char tmp[PATH_MAX], dir[256], path[300];
	int fd, fd2;

	unit_tmpdir_create(tmp, "kvmscope-pin");
	if (snprintf(dir, sizeof(dir), "%s/a/b", tmp) >= (int)sizeof(dir))
		fail_msg("temporary path too long: %s", tmp);
	fd = pin_dir_lock(dir);
	assert_true(fd >= 0);
	fd2 = pin_dir_lock(dir);
	assert_int_equal(fd2, -EWOULDBLOCK);
	unit_write_file(dir, NULL, "hw_exits", "x", 1);
	unit_write_file(dir, NULL, "link_kvm_exit", "x", 1);
	assert_int_equal(pin_dir_clear(dir), 0);
	if (snprintf(path, sizeof(path), "%s/hw_exits", dir) >= (int)sizeof(path))
		fail_msg("path too long");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(dir, F_OK), 0);
	close(fd);
	fd = pin_dir_lock(dir);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pin_dir_remove(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
	/* A symlink planted where the directory should be is not followed. */
	assert_int_equal(symlink(tmp, dir), 0);
	assert_true(pin_dir_lock(dir) < 0);
	unlink(dir);
	assert_int_equal(pin_path(path, 8, "/sys/fs/bpf/x", "y"), -ENAMETOOLONG);
	unit_tmpdir_remove(tmp);
}

/*
 * A table whose front is sorted (the slots, read in order) and whose tail
 * is not (the hash maps): sorting only the tail and merging gives what a
 * full sort gives, whatever the split, and a fold from there is the same.
 */
static void test_sort_presorted(void **state)
{
	struct exit_table a = { 0 }, b = { 0 };
	unsigned int seed = 42;

	(void)state;
	for (size_t split = 0; split <= 300; split += 37) {
		exit_table_clear(&a);
		exit_table_clear(&b);
		for (size_t i = 0; i < 300; i++) {
			struct exit_record r = { .kind = rand_r(&seed) % 3, .pid = 1 + rand_r(&seed) % 7,
						 .vcpu = rand_r(&seed) % 3, .isa = 2,
						 .reason = rand_r(&seed) % 9, .count = 1 + i };

			assert_int_equal(exit_table_push(&a, &r), 0);
		}
		/* The front sorted, as read_slots() emits it. */
		qsort(a.v, split, sizeof(a.v[0]), exit_record_cmp);
		for (size_t i = 0; i < a.n; i++)
			assert_int_equal(exit_table_push(&b, &a.v[i]), 0);
		assert_int_equal(exit_table_sort_presorted(&a, split), 0);
		exit_table_sort(&b);
		for (size_t i = 0; i < a.n; i++)
			assert_int_equal(exit_record_cmp(&a.v[i], &b.v[i]), 0);
		for (size_t i = 1; i < a.n; i++)
			assert_true(exit_record_cmp(&a.v[i - 1], &a.v[i]) <= 0);
	}
	exit_table_free(&a);
	exit_table_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_timed),
		cmocka_unit_test(test_sort_presorted),
		cmocka_unit_test(test_owned_copy),
		cmocka_unit_test(test_range_by_pid),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_generations),
		cmocka_unit_test(test_remove_pids),
		cmocka_unit_test(test_pin_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
