// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel text changes from perf's TEXT_POKE and KSYMBOL records
 * (textpoke.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "livepatch/textpoke.h"
#include "log.h"
#include "strbuf.h"

/* Data pages of each CPU's ring (a power of two): 64 KiB with 4 KiB pages. */
#define RING_PAGES 16
/* A call site this near a function's start is its ftrace site (after endbr64). */
#define FTRACE_SITE_SPAN 16

const char *const poke_kind_names[POKE_KINDS] = { "ftrace", "bpf", "text", "unknown" };

/* ---- symbols ---- */

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct ksym *ksym_push(struct ksym_table *t)
{
	if (array_reserve((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 4096) < 0)
		return NULL;
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	return &t->v[t->n++];
}

/* @n bytes of @src into @dst of @size, cut to fit. */
static void copy_cut(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int ksym_table_parse_kallsyms(struct ksym_table *t, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *after = p;
		uint64_t addr;

		/* More than 64 bits is no address (0, skipped below). */
		parse_u64_until(&after, le, 16, &addr);

		/* "ffffffff81000000 T _stext" or "... t name\t[module]". */
		if (after + 3 < le && after[0] == ' ' && (after[1] == 't' || after[1] == 'T') &&
		    after[2] == ' ' && addr) {
			const char *name = after + 3, *name_end = name, *mod;
			struct ksym *s;

			while (name_end < le && *name_end != '\t' && *name_end != ' ')
				name_end++;
			s = ksym_push(t);
			if (!s)
				return -ENOMEM;
			s->addr = addr;
			copy_cut(s->name, sizeof(s->name), name, (size_t)(name_end - name));
			mod = memchr(name_end, '[', (size_t)(le - name_end));
			if (mod) {
				const char *mod_end = memchr(mod, ']', (size_t)(le - mod));

				if (mod_end)
					copy_cut(s->module, sizeof(s->module), mod + 1,
						 (size_t)(mod_end - mod - 1));
				/* BPF programs and trampolines are listed as module "bpf". */
				s->bpf = !strcmp(s->module, "bpf");
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(t->v[0]), by_addr);
	return 0;
}

/* The index of the last symbol at or below @addr, or -1. */
static long find_index(const struct ksym_table *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

int ksym_table_note(struct ksym_table *t, uint64_t addr, uint32_t len, bool bpf,
		    const char *name, bool unregister)
{
	long i = find_index(t, addr);
	struct ksym *s;

	if (unregister) {
		if (i >= 0 && t->v[i].addr == addr && t->v[i].len) {
			memmove(&t->v[i], &t->v[i + 1], (t->n - (size_t)i - 1) * sizeof(t->v[0]));
			t->n--;
		}
		return 0;
	}
	if (i >= 0 && t->v[i].addr == addr && t->v[i].len) {
		s = &t->v[i];
	} else {
		if (!ksym_push(t))
			return -ENOMEM;
		memmove(&t->v[i + 2], &t->v[i + 1], (t->n - 1 - (size_t)(i + 1)) * sizeof(t->v[0]));
		s = &t->v[i + 1];
		memset(s, 0, sizeof(*s));
	}
	s->addr = addr;
	s->len = len;
	s->bpf = bpf;
	copy_cut(s->name, sizeof(s->name), name, strlen(name));
	return 0;
}

const struct ksym *ksym_table_find(const struct ksym_table *t, uint64_t addr, uint64_t *offset)
{
	long i = find_index(t, addr);

	/* A sized symbol (BPF, out-of-line code) covers only its length. */
	while (i >= 0 && t->v[i].len && addr >= t->v[i].addr + t->v[i].len) {
		/* An unsized symbol below it may still cover the address. */
		i--;
		if (i >= 0 && !t->v[i].len)
			break;
	}
	if (i < 0)
		return NULL;
	*offset = addr - t->v[i].addr;
	return &t->v[i];
}

void ksym_table_free(struct ksym_table *t)
{
	free(t->v);
	*t = (struct ksym_table){ 0 };
}

enum poke_kind poke_kind_of(const struct ksym *sym, uint64_t offset)
{
	if (!sym)
		return POKE_UNKNOWN;
	if (sym->bpf)
		return POKE_BPF;
	return offset < FTRACE_SITE_SPAN ? POKE_FTRACE : POKE_TEXT;
}

/* ---- counting ---- */

static void count_function(struct textpoke *tp, const struct ksym *sym, enum poke_kind kind)
{
	size_t lo = 0, hi = tp->n_fns;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(tp->fns[mid].name, sym->name);

		if (!c)
			c = strcmp(tp->fns[mid].module, sym->module);
		if (!c) {
			tp->fns[mid].count++;
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (tp->n_fns == TEXTPOKE_FNS_MAX) {
		tp->fns_dropped++;
		return;
	}
	if (array_reserve((void **)&tp->fns, &tp->cap_fns, tp->n_fns + 1, sizeof(*tp->fns), 16) < 0) {
		tp->fns_dropped++;
		return;
	}
	memmove(&tp->fns[lo + 1], &tp->fns[lo], (tp->n_fns - lo) * sizeof(tp->fns[0]));
	tp->n_fns++;
	memset(&tp->fns[lo], 0, sizeof(tp->fns[0]));
	snprintf(tp->fns[lo].name, sizeof(tp->fns[lo].name), "%s", sym->name);
	snprintf(tp->fns[lo].module, sizeof(tp->fns[lo].module), "%s", sym->module);
	tp->fns[lo].kind = kind;
	tp->fns[lo].count = 1;
}

static int read_kallsyms(struct ksym_table *t);

/*
 * /proc/kallsyms is read at the first poke, not at start: 100,000 lines
 * and more, and most hosts change their text rarely.
 */
static void load_symbols(struct textpoke *tp)
{
	int r;

	if (tp->syms_loaded || !tp->open)
		return;
	tp->syms_loaded = true;
	r = read_kallsyms(&tp->syms);
	if (r < 0)
		log_warning("livepatch: text pokes are not symbolized: /proc/kallsyms: %s",
			    strerror(-r));
}

int textpoke_record(struct textpoke *tp, const void *rec, size_t len)
{
	const struct perf_event_header *h = rec;
	const uint8_t *b = rec;

	if (len < sizeof(*h) || h->size > len)
		return 0;
	if (h->type == PERF_RECORD_TEXT_POKE && h->size >= sizeof(*h) + 12) {
		uint64_t addr, offset = 0;
		uint16_t old_len, new_len;
		const struct ksym *sym;
		enum poke_kind kind;

		memcpy(&addr, b + 8, 8);
		memcpy(&old_len, b + 16, 2);
		memcpy(&new_len, b + 18, 2);
		load_symbols(tp);
		sym = ksym_table_find(&tp->syms, addr, &offset);
		kind = poke_kind_of(sym, offset);
		tp->total++;
		tp->by_kind[kind]++;
		if (sym)
			count_function(tp, sym, kind);
		if (tp->on_poke)
			tp->on_poke(tp->ctx, addr, sym, offset, kind, old_len, new_len);
		return 1;
	}
	if (h->type == PERF_RECORD_KSYMBOL && h->size >= sizeof(*h) + 16) {
		uint64_t addr;
		uint32_t klen;
		uint16_t type, flags;
		char name[64];
		size_t max = h->size - sizeof(*h) - 16;

		memcpy(&addr, b + 8, 8);
		memcpy(&klen, b + 16, 4);
		memcpy(&type, b + 20, 2);
		memcpy(&flags, b + 22, 2);
		copy_cut(name, sizeof(name), (const char *)b + 24, strnlen((const char *)b + 24, max));
		tp->ksymbols++;
		ksym_table_note(&tp->syms, addr, klen, type == PERF_RECORD_KSYMBOL_TYPE_BPF, name,
				flags & PERF_RECORD_KSYMBOL_FLAGS_UNREGISTER);
		return 0;
	}
	if (h->type == PERF_RECORD_LOST && h->size >= sizeof(*h) + 16) {
		uint64_t lost;

		memcpy(&lost, b + 16, 8);
		tp->lost += lost;
	}
	return 0;
}

/* ---- the rings ---- */

static void drain_ring(struct textpoke *tp, int cpu)
{
	struct perf_event_mmap_page *meta = tp->rings[cpu];
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size = RING_PAGES * page;
	const uint8_t *data = (const uint8_t *)meta + page;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE), tail = meta->data_tail;
	uint8_t rec[65536];

	while (tail < head) {
		struct perf_event_header h;
		size_t off = tail % size, first;

		first = size - off < sizeof(h) ? size - off : sizeof(h);
		memcpy(&h, data + off, first);
		memcpy((uint8_t *)&h + first, data, sizeof(h) - first);
		if (h.size < sizeof(h) || h.size > head - tail)
			break;
		first = size - off < h.size ? size - off : h.size;
		memcpy(rec, data + off, first);
		memcpy(rec + first, data, h.size - first);
		textpoke_record(tp, rec, h.size);
		tail += h.size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

void textpoke_drain(struct textpoke *tp)
{
	for (int c = 0; tp->open && c < tp->ncpus; c++)
		if (tp->rings[c])
			drain_ring(tp, c);
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	textpoke_drain(userdata);
	return 0;
}

static int read_kallsyms(struct ksym_table *t)
{
	size_t cap = 16u << 20, len = 0;
	char *text = malloc(cap);
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC), r;
	ssize_t n;

	if (!text || fd < 0) {
		r = fd < 0 ? -errno : -ENOMEM;
		free(text);
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (len < cap && (n = read(fd, text + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	r = ksym_table_parse_kallsyms(t, text, len);
	free(text);
	return r;
}

/*
 * Whether /proc/kallsyms shows addresses (kptr_restrict lets root see
 * them): the first text symbol among its first 64 KiB has one not 0.
 * Per-CPU symbols come first and are at 0 anyway.  1, 0, or -errno.
 */
static int kallsyms_shows_addresses(void)
{
	char buf[65536];
	ssize_t n;
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *after = p;
		uint64_t addr;

		parse_u64_until(&after, buf + n, 16, &addr);
		if (after[0] == ' ' && (after[1] == 't' || after[1] == 'T') && after[2] == ' ')
			return addr != 0;
	}
	/* No text symbol that early: try, and let the first poke say. */
	return 1;
}

int textpoke_open(struct textpoke *tp, sd_event *e)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.text_poke = 1,
		.ksymbol = 1,
		.watermark = 1,
		.wakeup_watermark = 1,
		.exclude_kernel = 0,
	};
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int r = kallsyms_shows_addresses();

	if (r < 0) {
		snprintf(tp->why, sizeof(tp->why), "/proc/kallsyms: %s", strerror(-r));
		return r;
	}
	if (!r) {
		snprintf(tp->why, sizeof(tp->why), "/proc/kallsyms shows no addresses (kptr_restrict)");
		return -EPERM;
	}
	tp->ncpus = (int)sysconf(_SC_NPROCESSORS_CONF);
	tp->fds = calloc((size_t)tp->ncpus, sizeof(*tp->fds));
	tp->rings = calloc((size_t)tp->ncpus, sizeof(*tp->rings));
	tp->sources = calloc((size_t)tp->ncpus, sizeof(*tp->sources));
	if (!tp->fds || !tp->rings || !tp->sources)
		return -ENOMEM;
	for (int c = 0; c < tp->ncpus; c++) {
		tp->fds[c] = (int)syscall(SYS_perf_event_open, &attr, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		if (tp->fds[c] < 0) {
			r = -errno;
			/* A CPU that is offline has no event: the others still count. */
			if (r == -ENODEV)
				continue;
			snprintf(tp->why, sizeof(tp->why), "perf_event_open(text_poke) on CPU %d: %s%s",
				 c, strerror(-r), r == -EINVAL ? " (text_poke needs Linux 5.9)" : "");
			textpoke_close(tp);
			return r;
		}
		tp->rings[c] = mmap(NULL, (1 + RING_PAGES) * page, PROT_READ | PROT_WRITE, MAP_SHARED,
				    tp->fds[c], 0);
		if (tp->rings[c] == MAP_FAILED) {
			tp->rings[c] = NULL;
			r = -errno;
			snprintf(tp->why, sizeof(tp->why), "mmap of CPU %d's text_poke ring: %s", c,
				 strerror(-r));
			textpoke_close(tp);
			return r;
		}
		if (e && sd_event_add_io(e, &tp->sources[c], tp->fds[c], EPOLLIN, on_ring, tp) < 0)
			log_warning("livepatch: CPU %d's text pokes are read on the tick only", c);
	}
	tp->open = true;
	return 0;
}

void textpoke_close(struct textpoke *tp)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (int c = 0; c < tp->ncpus; c++) {
		if (tp->sources)
			sd_event_source_disable_unref(tp->sources[c]);
		if (tp->rings && tp->rings[c])
			munmap(tp->rings[c], (1 + RING_PAGES) * page);
		if (tp->fds && tp->fds[c] > 0)
			close(tp->fds[c]);
	}
	free(tp->fds);
	free(tp->rings);
	free(tp->sources);
	free(tp->fns);
	ksym_table_free(&tp->syms);
	tp->fds = NULL;
	tp->rings = NULL;
	tp->sources = NULL;
	tp->fns = NULL;
	tp->n_fns = tp->cap_fns = 0;
	tp->open = tp->syms_loaded = false;
}

json_t *textpoke_json(const struct textpoke *tp)
{
	json_t *kinds = json_object(), *fns = json_array();

	for (size_t k = 0; k < POKE_KINDS; k++)
		json_object_set_new(kinds, poke_kind_names[k], json_integer((json_int_t)tp->by_kind[k]));
	for (size_t i = 0; i < tp->n_fns; i++)
		json_array_append_new(fns, json_pack("{s:s, s:s?, s:s, s:I}", "function", tp->fns[i].name,
			"module", tp->fns[i].module[0] ? tp->fns[i].module : NULL, "kind",
			poke_kind_names[tp->fns[i].kind], "count", (json_int_t)tp->fns[i].count));
	return json_pack("{s:I, s:o, s:I, s:I, s:I, s:o}", "total", (json_int_t)tp->total, "by_kind",
			 kinds, "lost", (json_int_t)tp->lost, "ksymbol_records",
			 (json_int_t)tp->ksymbols, "functions_not_listed", (json_int_t)tp->fns_dropped,
			 "functions", fns);
}
