/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The livepatches the kernel has, read from sysfs
 * (Documentation/ABI/testing/sysfs-kernel-livepatch):
 *   /sys/kernel/livepatch/<patch>/{enabled,transition,replace,stack_order}
 *   /sys/kernel/livepatch/<patch>/<object>/patched
 *   /sys/kernel/livepatch/<patch>/<object>/<function,sympos>/
 * and the module behind each patch from /sys/module/<patch>/.  Both
 * directories are parameters, so the unit tests read a tree of their own.
 */
#ifndef KVMSCOPE_LIVEPATCH_PATCHES_H
#define KVMSCOPE_LIVEPATCH_PATCHES_H

#include <stddef.h>

struct klp_func {
	char name[128];
	unsigned long sympos;		/* 0: the only one of its name */
};

struct klp_object {
	char name[64];			/* "vmlinux" or a module's name */
	int patched;			/* 1, 0, or -1 unreadable */
	struct klp_func *funcs;
	size_t n_funcs;
};

struct klp_patch {
	char name[64];
	/* 1, 0, or -1 where the kernel has no such file (stack_order: its value, 6.13+). */
	int enabled, transition, replace, stack_order;
	struct klp_object *objs;
	size_t n_objs;
	/* /sys/module/<name>/: version and srcversion ("" when absent), taint flags. */
	char version[64], srcversion[64], taint[16];
};

struct klp_patches {
	struct klp_patch *v;		/* sorted by name */
	size_t n;
};

/*
 * Read every patch under @livepatch_dir, with its module from
 * @module_dir.  0; -ENOENT when @livepatch_dir does not exist (no
 * CONFIG_LIVEPATCH); -ENOMEM.  A patch that vanishes while read (its
 * module unloaded) is left out.
 */
int klp_read(const char *livepatch_dir, const char *module_dir, struct klp_patches *out);
void klp_patches_free(struct klp_patches *p);
const struct klp_patch *klp_find(const struct klp_patches *p, const char *name);

#endif
