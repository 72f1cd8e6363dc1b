// SPDX-License-Identifier: GPL-2.0-only
/*
 * Livepatches from sysfs (patches.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livepatch/patches.h"
#include "strbuf.h"

/* The first line of @dir/@name into @buf without its newline; -errno. */
static int read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return read_first_line(path, buf, len);
}

/* An integer attribute; -1 when absent or not a number. */
static int int_attr(const char *dir, const char *name)
{
	char buf[32], *end;
	long v;

	if (read_attr(dir, name, buf, sizeof(buf)) < 0)
		return -1;
	v = strtol(buf, &end, 10);
	return end == buf || *end || v < 0 || v > 1000000 ? -1 : (int)v;
}

/* @src into @dst of @size bytes, cut to fit. */
static void copy_name(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Subdirectories of @dir (no dot entries), sorted; -errno. */
static int subdirs(const char *dir, struct dirent ***list)
{
	struct dirent **all;
	int n = scandir(dir, &all, NULL, by_name), w = 0;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (all[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, all[i]->d_name) < (int)sizeof(path) &&
		    lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			all[w++] = all[i];
		else
			free(all[i]);
	}
	*list = all;
	return w;
}

static void free_list(struct dirent **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int read_object(const char *dir, const char *name, struct klp_object *o)
{
	struct dirent **funcs;
	struct klp_func *fv;
	int n;

	copy_name(o->name, sizeof(o->name), name);
	o->patched = int_attr(dir, "patched");
	n = subdirs(dir, &funcs);
	if (n < 0)
		return n == -ENOENT ? 0 : n;
	fv = calloc(n ? (size_t)n : 1, sizeof(*fv));
	if (!fv) {
		free_list(funcs, n);
		return -ENOMEM;
	}
	o->funcs = fv;
	for (int i = 0; i < n; i++) {
		struct klp_func *f = &fv[o->n_funcs];
		const char *comma = strrchr(funcs[i]->d_name, ',');
		size_t len = comma ? (size_t)(comma - funcs[i]->d_name) : strlen(funcs[i]->d_name);
		char *end;

		if (len >= sizeof(f->name))
			len = sizeof(f->name) - 1;
		memcpy(f->name, funcs[i]->d_name, len);
		f->name[len] = '\0';
		f->sympos = comma ? strtoul(comma + 1, &end, 10) : 0;
		o->n_funcs++;
	}
	free_list(funcs, n);
	return 0;
}

static void patch_free(struct klp_patch *p)
{
	for (size_t i = 0; i < p->n_objs; i++)
		free(p->objs[i].funcs);
	free(p->objs);
}

static int read_patch(const char *lp_dir, const char *mod_dir, const char *name, struct klp_patch *p)
{
	char dir[4096], mdir[4096];
	struct dirent **objs;
	int n;

	memset(p, 0, sizeof(*p));
	copy_name(p->name, sizeof(p->name), name);
	if (snprintf(dir, sizeof(dir), "%s/%s", lp_dir, name) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	p->enabled = int_attr(dir, "enabled");
	p->transition = int_attr(dir, "transition");
	p->replace = int_attr(dir, "replace");
	p->stack_order = int_attr(dir, "stack_order");
	n = subdirs(dir, &objs);
	if (n < 0)
		return n;
	p->objs = calloc(n ? (size_t)n : 1, sizeof(*p->objs));
	if (!p->objs) {
		free_list(objs, n);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		char odir[4096];
		int r;

		if (snprintf(odir, sizeof(odir), "%s/%s", dir, objs[i]->d_name) >= (int)sizeof(odir))
			continue;
		r = read_object(odir, objs[i]->d_name, &p->objs[p->n_objs]);
		if (r == -ENOMEM) {
			free_list(objs, n);
			patch_free(p);
			return r;
		}
		p->n_objs++;
	}
	free_list(objs, n);
	if (snprintf(mdir, sizeof(mdir), "%s/%s", mod_dir, name) >= (int)sizeof(mdir))
		return 0;
	read_attr(mdir, "version", p->version, sizeof(p->version));
	read_attr(mdir, "srcversion", p->srcversion, sizeof(p->srcversion));
	read_attr(mdir, "taint", p->taint, sizeof(p->taint));
	return 0;
}

int klp_read(const char *livepatch_dir, const char *module_dir, struct klp_patches *out)
{
	struct dirent **names;
	int n = subdirs(livepatch_dir, &names);

	*out = (struct klp_patches){ 0 };
	if (n < 0)
		return n;
	out->v = calloc(n ? (size_t)n : 1, sizeof(*out->v));
	if (!out->v) {
		free_list(names, n);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		int r = read_patch(livepatch_dir, module_dir, names[i]->d_name, &out->v[out->n]);

		if (r == -ENOMEM) {
			free_list(names, n);
			klp_patches_free(out);
			return r;
		}
		/* Gone meanwhile (unloaded): left out. */
		if (r == 0)
			out->n++;
	}
	free_list(names, n);
	return 0;
}

void klp_patches_free(struct klp_patches *p)
{
	for (size_t i = 0; i < p->n; i++)
		patch_free(&p->v[i]);
	free(p->v);
	*p = (struct klp_patches){ 0 };
}

const struct klp_patch *klp_find(const struct klp_patches *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].name, name))
			return &p->v[i];
	return NULL;
}
