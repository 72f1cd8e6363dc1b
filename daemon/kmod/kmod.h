/* SPDX-License-Identifier: GPL-2.0-only */
/* What other capabilities use of the helper module capability (kmod.c). */
#ifndef KVMSCOPE_DAEMON_KMOD_H
#define KVMSCOPE_DAEMON_KMOD_H

#include <stddef.h>
#include <stdint.h>

struct manager;

/*
 * /dev/kvmscope for @feature (KVMSCOPE_FEATURE_*), loading kvmscope.ko
 * first if --kmod allows it: the open device, owned by the kmod
 * capability (never close it), or -errno with @why set.  @user names the
 * capability in status ("exits").
 */
int kmod_acquire(struct manager *m, uint32_t feature, const char *user, char *why, size_t len);

#endif
