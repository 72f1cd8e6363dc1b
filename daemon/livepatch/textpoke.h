/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every change the kernel makes to its own text, from perf's
 * PERF_RECORD_TEXT_POKE (perf_event_open with text_poke=1, Linux 5.9+)
 * and PERF_RECORD_KSYMBOL (BPF programs and trampolines coming and
 * going), read on each CPU: each poke symbolized from /proc/kallsyms and
 * the BPF symbols, counted per function and per kind of owner:
 *   ftrace   the call site at a function's start (ftrace, livepatch, BPF
 *            trampolines attach there);
 *   bpf      inside a BPF program or trampoline;
 *   text     elsewhere in kernel text (static keys, static calls);
 *   unknown  an address no symbol covers.
 * The symbol table and record parsing are pure, for the unit tests.
 */
#ifndef KVMSCOPE_LIVEPATCH_TEXTPOKE_H
#define KVMSCOPE_LIVEPATCH_TEXTPOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <systemd/sd-event.h>

enum poke_kind { POKE_FTRACE, POKE_BPF, POKE_TEXT, POKE_UNKNOWN, POKE_KINDS };
extern const char *const poke_kind_names[POKE_KINDS];

struct ksym {
	uint64_t addr;
	uint32_t len;		/* 0: up to the next symbol */
	bool bpf;
	char name[64];
	char module[32];
};

struct ksym_table {
	struct ksym *v;		/* sorted by addr */
	size_t n, cap;
};

/* /proc/kallsyms text into @t: its text symbols (t, T), sorted.  0 or -ENOMEM. */
int ksym_table_parse_kallsyms(struct ksym_table *t, const char *text, size_t len);
/* Add (or, @unregister, remove) one symbol of a PERF_RECORD_KSYMBOL. */
int ksym_table_note(struct ksym_table *t, uint64_t addr, uint32_t len, bool bpf,
		    const char *name, bool unregister);
/* The symbol covering @addr and the offset into it, or NULL. */
const struct ksym *ksym_table_find(const struct ksym_table *t, uint64_t addr, uint64_t *offset);
void ksym_table_free(struct ksym_table *t);

/* What a poke at @offset into @sym is (@sym NULL: unknown). */
enum poke_kind poke_kind_of(const struct ksym *sym, uint64_t offset);

struct poke_fn {
	char name[64];
	char module[32];
	enum poke_kind kind;
	uint64_t count;
};

struct textpoke {
	bool open;
	char why[200];			/* why not open */
	int ncpus;
	int *fds;
	void **rings;			/* each 1 + RING_PAGES pages */
	sd_event_source **sources;
	struct ksym_table syms;
	bool syms_loaded;		/* /proc/kallsyms read (at the first poke) */
	uint64_t total, by_kind[POKE_KINDS], lost, ksymbols;
	struct poke_fn *fns;		/* sorted by (name, module); at most TEXTPOKE_FNS_MAX */
	size_t n_fns, cap_fns;
	uint64_t fns_dropped;		/* pokes of functions beyond the table */
	/* Called for each poke, with its function (NULL: unknown). */
	void (*on_poke)(void *ctx, uint64_t addr, const struct ksym *sym, uint64_t offset,
			enum poke_kind kind, uint16_t old_len, uint16_t new_len);
	void *ctx;
};

#define TEXTPOKE_FNS_MAX 4096

/* Open one text_poke+ksymbol event per CPU and read them on @e; @tp->why says why not. */
int textpoke_open(struct textpoke *tp, sd_event *e);
/* Read every ring now. */
void textpoke_drain(struct textpoke *tp);
void textpoke_close(struct textpoke *tp);
/* {"total", "by_kind", "lost", "functions": [{"function", "module", "kind", "count"}]} */
json_t *textpoke_json(const struct textpoke *tp);

/* One record of a perf ring (pure): counts it into @tp; returns 1 for a text poke. */
int textpoke_record(struct textpoke *tp, const void *rec, size_t len);

#endif
