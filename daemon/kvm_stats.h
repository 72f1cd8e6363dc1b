/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM's own per-VM statistics from debugfs (kvm_stat's debugfs mode):
 * DEBUGFS/kvm/<pid>-<fd>/<stat> holds one number per file, VM-wide stats
 * and vCPU stats summed over the VM's vCPUs.
 */
#ifndef KVMSCOPE_KVM_STATS_H
#define KVMSCOPE_KVM_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define KVM_STATS_DEBUGFS "/sys/kernel/debug/kvm"

/*
 * Read the statistics of every VM (fd) process @pid has under @kvm_dir,
 * summed over its VMs, into *values ({"io_exits": 1803, ...}); files that do
 * not hold one number (histograms) are left out.  *source gets the
 * directories read.  Returns 0, -ENOENT when @pid has no VM there, or
 * -errno of the first unreadable file (EPERM under lockdown), with what
 * failed in @err.
 */
int kvm_stats_read(const char *kvm_dir, uint32_t pid, json_t **values, char *source,
		   size_t source_len, char *err, size_t err_len);

#endif
