/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ftrace call sites in use, from tracefs's enabled_functions: each
 * patched function with its flags and who owns it (a livepatch, a BPF
 * trampoline, a kprobe, the function tracer, ...).  Pure: parsed from
 * text, so the unit tests feed it what each kernel prints.
 *
 * A line, as Linux 6.1-7.2 print it (kernel/trace/ftrace.c, t_show()):
 *   cmdline_proc_show (1)   I  \ttramp: 0xffffffffc02e1000 (klp_ftrace_handler+0x0/0x110) ->klp_ftrace_handler+0x0/0x110
 *   kvm_vcpu_ioctl [kvm] (2) R   D   \ttramp: ... ->ftrace_ops_list_func+0x0/0x1b0
 *   \tdirect-->bpf_trampoline_6442512345+0x0/0x...   (a line of its own)
 * name, " [module]" for a module's function, "(N)" the number of owners,
 * then the flags R (regs), I (IPMODIFY), D (direct), O (call ops), M
 * (modified), then what the site calls.
 */
#ifndef KVMSCOPE_LIVEPATCH_SITES_H
#define KVMSCOPE_LIVEPATCH_SITES_H

#include <stdbool.h>
#include <stddef.h>

enum ftrace_owner_kind {
	OWNER_LIVEPATCH,	/* klp_ftrace_handler */
	OWNER_BPF,		/* a BPF trampoline (direct call) */
	OWNER_KPROBE,		/* kprobe_ftrace_handler */
	OWNER_FPROBE,		/* fprobe (kprobe.multi, fprobe events) */
	OWNER_TRACER,		/* the function or function_graph tracer */
	OWNER_SHARED,		/* several owners: the site calls the ops list */
	OWNER_OTHER,		/* some other ftrace_ops (a module's own) */
	OWNER_KINDS,
};

extern const char *const ftrace_owner_kind_names[OWNER_KINDS];

#define FTRACE_SITE_OWNERS_MAX 4

struct ftrace_site {
	char func[128];
	char module[64];		/* "" for the kernel's own */
	unsigned long refs;		/* "(N)": ftrace_ops using the site */
	bool regs, ipmodify, direct, call_ops, modified;
	size_t n_owners;
	struct {
		enum ftrace_owner_kind kind;
		char callback[128];	/* the symbol that names it, without offset */
	} owners[FTRACE_SITE_OWNERS_MAX];
};

struct ftrace_sites {
	struct ftrace_site *v;
	size_t n, cap;
	size_t unparsed;		/* lines that were not a site */
};

/* What symbol @sym (as %pS prints it: "name+0x0/0x110 [mod]") says of its owner. */
enum ftrace_owner_kind ftrace_owner_of_symbol(const char *sym, size_t len);

/*
 * Parse @len bytes of enabled_functions into @out (appended).  Lines that
 * are not a site are counted in out->unparsed.  0, or -ENOMEM.
 */
int ftrace_sites_parse(const char *text, size_t len, struct ftrace_sites *out);
void ftrace_sites_free(struct ftrace_sites *s);

/* Add an owner to @site unless one of that kind and callback is there. */
void ftrace_site_add_owner(struct ftrace_site *site, enum ftrace_owner_kind kind,
			   const char *callback);

#endif
