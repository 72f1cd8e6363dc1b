// SPDX-License-Identifier: GPL-2.0-only
/*
 * enabled_functions parsed into ftrace sites (sites.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/sites.h"
#include "strbuf.h"

const char *const ftrace_owner_kind_names[OWNER_KINDS] = {
	"livepatch", "bpf", "kprobe", "fprobe", "tracer", "shared", "other",
};

/* @len bytes of @s start with @prefix. */
static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

/* The length of the symbol's name: up to "+0x", " [" or the end. */
static size_t name_len(const char *sym, size_t len)
{
	size_t n = 0;

	while (n < len && sym[n] != '+' && sym[n] != ' ' && sym[n] != '\t' && sym[n] != ')')
		n++;
	return n;
}

/*
 * OWNER_KINDS for plumbing that names no owner (ftrace's own callers and
 * stubs, a trampoline's address printed as a number).
 */
enum ftrace_owner_kind ftrace_owner_of_symbol(const char *sym, size_t len)
{
	len = name_len(sym, len);
	if (!len || starts(sym, len, "0x") || starts(sym, len, "ftrace_stub") ||
	    starts(sym, len, "ftrace_caller") || starts(sym, len, "ftrace_regs_caller") ||
	    starts(sym, len, "ERROR"))
		return OWNER_KINDS;
	if (starts(sym, len, "klp_ftrace_handler"))
		return OWNER_LIVEPATCH;
	if (starts(sym, len, "bpf_trampoline_") || starts(sym, len, "bpf_prog_"))
		return OWNER_BPF;
	if (starts(sym, len, "kprobe_ftrace_handler") || starts(sym, len, "kprobe_"))
		return OWNER_KPROBE;
	if (starts(sym, len, "fprobe"))
		return OWNER_FPROBE;
	if (starts(sym, len, "function_") || starts(sym, len, "ftrace_graph") ||
	    starts(sym, len, "fgraph") || starts(sym, len, "return_to_handler"))
		return OWNER_TRACER;
	if (starts(sym, len, "ftrace_ops_list_func") || starts(sym, len, "arch_ftrace_ops_list_func") ||
	    starts(sym, len, "ftrace_ops_assist_func"))
		return OWNER_SHARED;
	return OWNER_OTHER;
}

void ftrace_site_add_owner(struct ftrace_site *site, enum ftrace_owner_kind kind,
			   const char *callback)
{
	for (size_t i = 0; i < site->n_owners; i++)
		if (site->owners[i].kind == kind && !strcmp(site->owners[i].callback, callback))
			return;
	if (site->n_owners == FTRACE_SITE_OWNERS_MAX)
		return;
	site->owners[site->n_owners].kind = kind;
	snprintf(site->owners[site->n_owners].callback, sizeof(site->owners[0].callback), "%s",
		 callback);
	site->n_owners++;
}

/* The symbol at @sym (@len bytes at most) as an owner of @site, if it names one. */
static void note_symbol(struct ftrace_site *site, const char *sym, size_t len)
{
	enum ftrace_owner_kind kind = ftrace_owner_of_symbol(sym, len);
	char name[128];
	size_t n = name_len(sym, len);

	if (kind == OWNER_KINDS)
		return;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, sym, n);
	name[n] = '\0';
	ftrace_site_add_owner(site, kind, name);
}

/* Every symbol that names an owner in the rest of a site's line: "(sym)", "->sym", "-->sym". */
static void note_owners(struct ftrace_site *site, const char *start, const char *end)
{
	for (const char *p = start; p < end; p++)
		if (*p == '(' || (*p == '>' && p > start && p[-1] == '-'))
			note_symbol(site, p + 1, (size_t)(end - p - 1));
}

/* A direct call whose target printed as an address: a BPF trampoline still. */
static void note_direct(struct ftrace_site *site)
{
	for (size_t i = 0; i < site->n_owners; i++)
		if (site->owners[i].kind == OWNER_BPF)
			return;
	if (site->direct)
		ftrace_site_add_owner(site, OWNER_BPF, "direct call");
}

static struct ftrace_site *new_site(struct ftrace_sites *s)
{
	if (array_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v), 64) < 0)
		return NULL;
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	return &s->v[s->n++];
}

/* One site line; false when it is not one. */
static bool parse_site(struct ftrace_site *site, const char *line, const char *end)
{
	const char *open = NULL, *close, *p, *name_end;
	uint64_t refs;

	/* The "(N)" after the name: the first "(" followed by digits and ")". */
	for (p = line; p < end; p++)
		if (*p == '(' && p + 1 < end && isdigit((unsigned char)p[1])) {
			open = p;
			break;
		}
	if (!open || open == line || open[-1] != ' ')
		return false;
	close = open + 1;
	if (!parse_u64_until(&close, end, 10, &refs) || close >= end || *close != ')')
		return false;
	site->refs = refs;
	name_end = open - 1;
	/* " [module]" before it. */
	if (name_end > line && name_end[-1] == ']') {
		const char *lb = name_end - 1;

		while (lb > line && *lb != '[')
			lb--;
		if (*lb == '[' && lb > line && lb[-1] == ' ') {
			size_t n = (size_t)(name_end - 1 - lb - 1);

			if (n >= sizeof(site->module))
				n = sizeof(site->module) - 1;
			memcpy(site->module, lb + 1, n);
			site->module[n] = '\0';
			name_end = lb - 1;
		}
	}
	if (name_end <= line)
		return false;
	{
		size_t n = (size_t)(name_end - line);

		if (n >= sizeof(site->func))
			n = sizeof(site->func) - 1;
		memcpy(site->func, line, n);
		site->func[n] = '\0';
	}
	/* The flags, up to the first tab or the end. */
	for (p = close + 1; p < end && *p != '\t' && !(*p == '-' && p + 1 < end && p[1] == '>'); p++) {
		if (p[-1] != ' ' || (p + 1 < end && p[1] != ' ' && p[1] != '\t'))
			continue;
		site->regs |= *p == 'R';
		site->ipmodify |= *p == 'I';
		site->direct |= *p == 'D';
		site->call_ops |= *p == 'O';
		site->modified |= *p == 'M';
	}
	note_owners(site, p, end);
	return true;
}

int ftrace_sites_parse(const char *text, size_t len, struct ftrace_sites *out)
{
	const char *p = text, *end = text + len;
	struct ftrace_site *last = NULL;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *line_end = nl ? nl : end;

		/* The site above is complete once the next line is not its own. */
		if (last && !(line_end > p && *p == '\t'))
			note_direct(last);

		if (line_end > p && *p == '\t') {
			/* "\tdirect-->sym": the site above calls a BPF trampoline directly. */
			if (last)
				note_owners(last, p, line_end);
			else
				out->unparsed++;
		} else if (line_end > p) {
			struct ftrace_site *site = new_site(out);

			if (!site)
				return -ENOMEM;
			if (parse_site(site, p, line_end)) {
				last = site;
			} else {
				out->n--;
				out->unparsed++;
				last = NULL;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (last)
		note_direct(last);
	return 0;
}

void ftrace_sites_free(struct ftrace_sites *s)
{
	free(s->v);
	*s = (struct ftrace_sites){ 0 };
}
