// SPDX-License-Identifier: GPL-2.0-only
/*
 * Text pokes: /proc/kallsyms parsed, addresses symbolized (BPF symbols
 * from KSYMBOL records on top), and perf records counted.
 */
#include "unit.h"

#include <linux/perf_event.h>

#include "livepatch/textpoke.h"

#define KALLSYMS "ffffffff81000000 T _stext\n" \
	"ffffffff81234560 T cmdline_proc_show\n" \
	"ffffffff81234600 t next_fn\n" \
	"ffffffff81300000 D some_data\n" \
	"ffffffffc0a00000 t svm_vcpu_run\t[kvm_amd]\n" \
	"ffffffffc0b00000 t bpf_prog_6deef7357e7b4530_x\t[bpf]\n" \
	"0000000000000000 T hidden\n"

static void test_kallsyms_and_lookup(void **state)
{
	struct ksym_table t = { 0 };
	const struct ksym *s;
	uint64_t off;

	assert_int_equal(ksym_table_parse_kallsyms(&t, KALLSYMS, strlen(KALLSYMS)), 0);
	/* Text only, with an address: data and hidden (kptr_restrict) left out. */
	assert_int_equal(t.n, 5);
	s = ksym_table_find(&t, 0xffffffff81234565, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "cmdline_proc_show");
	assert_int_equal(off, 5);
	assert_int_equal(poke_kind_of(s, off), POKE_FTRACE);
	s = ksym_table_find(&t, 0xffffffff81234590, &off);
	assert_int_equal(poke_kind_of(s, off), POKE_TEXT);
	s = ksym_table_find(&t, 0xffffffffc0a00004, &off);
	assert_string_equal(s->module, "kvm_amd");
	s = ksym_table_find(&t, 0xffffffffc0b00010, &off);
	assert_true(s->bpf);
	assert_int_equal(poke_kind_of(s, off), POKE_BPF);
	assert_null(ksym_table_find(&t, 0x1000, &off));
	assert_int_equal(poke_kind_of(NULL, 0), POKE_UNKNOWN);

	/* A BPF trampoline registered: it covers its length only. */
	assert_int_equal(ksym_table_note(&t, 0xffffffffc0c00000, 0x100, true, "bpf_trampoline_42",
					 false), 0);
	s = ksym_table_find(&t, 0xffffffffc0c00020, &off);
	assert_string_equal(s->name, "bpf_trampoline_42");
	assert_int_equal(poke_kind_of(s, off), POKE_BPF);
	/* Past it, the unsized symbol below still covers the address. */
	s = ksym_table_find(&t, 0xffffffffc0c00200, &off);
	assert_string_equal(s->name, "bpf_prog_6deef7357e7b4530_x");
	assert_int_equal(ksym_table_note(&t, 0xffffffffc0c00000, 0x100, true, "bpf_trampoline_42",
					 true), 0);
	s = ksym_table_find(&t, 0xffffffffc0c00020, &off);
	assert_string_equal(s->name, "bpf_prog_6deef7357e7b4530_x");
	ksym_table_free(&t);
	(void)state;
}

/* A TEXT_POKE record as the kernel writes it: header, addr, old_len, new_len, bytes. */
static size_t poke_record(uint8_t *buf, uint64_t addr)
{
	struct perf_event_header h = { .type = PERF_RECORD_TEXT_POKE, .size = 32 };
	uint16_t old_len = 5, new_len = 5;

	memset(buf, 0x90, 32);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + 8, &addr, 8);
	memcpy(buf + 16, &old_len, 2);
	memcpy(buf + 18, &new_len, 2);
	return 32;
}

/*
 * Found by fuzz_kallsyms: strtoull read the address past a text without a
 * NUL.  Each input in a buffer of exactly its size (the sanitized run
 * catches an over-read); an address of more than 64 bits is none.
 */
static void test_kallsyms_bounded(void **state)
{
	static const char *const inputs[] = { "ffffffff81000000", "ffffffff81000000 T", "ffffffff81000000 T x",
					      "1", " ", "11111111111111111111 T toolong\n", NULL };
	struct ksym_table t = { 0 };

	for (int i = 0; inputs[i]; i++) {
		size_t n = strlen(inputs[i]);
		char *buf = malloc(n);

		assert_non_null(buf);
		memcpy(buf, inputs[i], n);
		assert_int_equal(ksym_table_parse_kallsyms(&t, buf, n), 0);
		assert_int_equal(t.n, !strcmp(inputs[i], "ffffffff81000000 T x") ? 1 : 0);
		if (t.n)
			assert_string_equal(t.v[0].name, "x");
		ksym_table_free(&t);
		memset(&t, 0, sizeof(t));
		free(buf);
	}
}

/* Found by fuzz_kallsyms: no symbol at all sorted a NULL table (qsort(NULL, 0)). */
static void test_kallsyms_empty(void **state)
{
	struct ksym_table t = { 0 };
	uint64_t off;

	assert_int_equal(ksym_table_parse_kallsyms(&t, "", 0), 0);
	assert_int_equal(t.n, 0);
	assert_null(ksym_table_find(&t, 0xffffffff81000000ull, &off));
	assert_int_equal(ksym_table_parse_kallsyms(&t, "garbage\n\n", 9), 0);
	assert_int_equal(t.n, 0);
	ksym_table_free(&t);
}

static void test_records(void **state)
{
	struct textpoke tp = { 0 };
	uint8_t buf[64];
	size_t n;

	assert_int_equal(ksym_table_parse_kallsyms(&tp.syms, KALLSYMS, strlen(KALLSYMS)), 0);
	n = poke_record(buf, 0xffffffff81234560);
	assert_int_equal(textpoke_record(&tp, buf, n), 1);
	assert_int_equal(textpoke_record(&tp, buf, n), 1);
	n = poke_record(buf, 0xffffffff812345a0);
	assert_int_equal(textpoke_record(&tp, buf, n), 1);
	n = poke_record(buf, 0x10);
	assert_int_equal(textpoke_record(&tp, buf, n), 1);
	/* A record longer than what was read is not one. */
	assert_int_equal(textpoke_record(&tp, buf, 16), 0);
	assert_int_equal(tp.total, 4);
	assert_int_equal(tp.by_kind[POKE_FTRACE], 2);
	assert_int_equal(tp.by_kind[POKE_TEXT], 1);
	assert_int_equal(tp.by_kind[POKE_UNKNOWN], 1);
	assert_int_equal(tp.n_fns, 1);
	assert_string_equal(tp.fns[0].name, "cmdline_proc_show");
	assert_int_equal(tp.fns[0].count, 3);

	/* KSYMBOL: a BPF program registered, then poked. */
	{
		struct perf_event_header h = { .type = PERF_RECORD_KSYMBOL, .size = 48 };
		uint64_t addr = 0xffffffffc0d00000;
		uint32_t len = 64;
		uint16_t type = PERF_RECORD_KSYMBOL_TYPE_BPF, flags = 0;

		memset(buf, 0, sizeof(buf));
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + 8, &addr, 8);
		memcpy(buf + 16, &len, 4);
		memcpy(buf + 20, &type, 2);
		memcpy(buf + 22, &flags, 2);
		strcpy((char *)buf + 24, "bpf_prog_abc_kvm");
		assert_int_equal(textpoke_record(&tp, buf, 48), 0);
		n = poke_record(buf, addr + 8);
		assert_int_equal(textpoke_record(&tp, buf, n), 1);
		assert_int_equal(tp.by_kind[POKE_BPF], 1);
		assert_int_equal(tp.ksymbols, 1);
	}
	/* LOST: counted. */
	{
		struct perf_event_header h = { .type = PERF_RECORD_LOST, .size = 24 };
		uint64_t id = 1, lost = 7;

		memcpy(buf, &h, sizeof(h));
		memcpy(buf + 8, &id, 8);
		memcpy(buf + 16, &lost, 8);
		assert_int_equal(textpoke_record(&tp, buf, 24), 0);
		assert_int_equal(tp.lost, 7);
	}
	textpoke_close(&tp);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kallsyms_and_lookup),
		cmocka_unit_test(test_kallsyms_empty),
		cmocka_unit_test(test_kallsyms_bounded),
		cmocka_unit_test(test_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
