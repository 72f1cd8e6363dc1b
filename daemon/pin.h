/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The directory in bpffs where kvmscoped pins its maps and links, so BPF
 * keeps counting while the daemon is down and a restarted daemon adopts
 * what is there.  One daemon owns a directory at a time (flock on it).
 */
#ifndef KVMSCOPE_PIN_H
#define KVMSCOPE_PIN_H

#include <stddef.h>

/*
 * Create @dir (0700, parents as needed) and lock it.  Returns the locked
 * directory fd, -EWOULDBLOCK when another process holds it, or -errno.
 */
int pin_dir_lock(const char *dir);
/* Remove every entry of @dir (unpinning a link detaches it when nothing else holds it). */
int pin_dir_clear(const char *dir);
/* Remove every entry of @dir and @dir itself; 0, or -errno of the first failure. */
int pin_dir_remove(const char *dir);
/* @dir/@name into @buf; -ENAMETOOLONG if it does not fit. */
int pin_path(char *buf, size_t len, const char *dir, const char *name);

struct bpf_object;
/*
 * Before load: pin @obj's maps by name in @dir (reusing what is pinned
 * there), all but its read-only data.  0 or -errno.
 */
int pin_object_maps(struct bpf_object *obj, const char *dir);

#endif
