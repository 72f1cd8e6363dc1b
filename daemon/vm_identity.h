/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who a VM is: read from /proc/PID while the process lives.  Pure file
 * parsing, with the /proc root as a parameter so unit tests can feed
 * fake trees.
 */
#ifndef KVMSCOPE_VM_IDENTITY_H
#define KVMSCOPE_VM_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VM_COMM_MAX 16
#define VM_NAME_MAX 128

#define VM_UUID_MAX 36
#define VM_CGROUP_MAX 512

struct vm_identity {
	char comm[VM_COMM_MAX + 1];
	char name[VM_NAME_MAX + 1];	/* "" when the command line names none */
	char uuid[VM_UUID_MAX + 1];	/* QEMU -uuid, "" when none */
	char cgroup[VM_CGROUP_MAX + 1];	/* the unified (or first) cgroup path, "" when unknown */
	char libvirt_domain[VM_NAME_MAX + 1];	/* from a machine-qemu-ID-NAME.scope, "" if none */
	int libvirt_id;			/* its ID, -1 when none */
	uint64_t start_time;		/* /proc/PID/stat field 22, clock ticks after boot */
};

/*
 * Guest name from a NUL-separated command line, QEMU style:
 * `-name guest=NAME,...`, `-name NAME[,...]` (also `--name`).  ",," is an
 * escaped comma.  Returns 1 and fills @name when found, 0 when not.
 */
int vm_name_from_cmdline(const char *cmdline, size_t len, char *name, size_t name_len);

/* QEMU `-uuid UUID` (also `--uuid`, `-uuid=`): 1 and @uuid when found, else 0. */
int vm_uuid_from_cmdline(const char *cmdline, size_t len, char *uuid, size_t uuid_len);

/*
 * From the text of /proc/PID/cgroup: the cgroup path (the v2 "0::" line,
 * else the first), and, when a component is libvirt's systemd scope
 * `machine-qemu\x2dID\x2dNAME.scope`, the domain ID and NAME (systemd's
 * \xHH escapes undone).  Returns 1 when a libvirt scope was found, 0 when
 * not, -EINVAL when no line has a path.
 */
int vm_cgroup_parse(const char *text, char *path, size_t path_len, char *domain,
		    size_t domain_len, int *domain_id);

/* Start time (field 22) from the text of /proc/PID/stat; -EINVAL if malformed. */
int vm_start_time_from_stat(const char *stat, uint64_t *start_time);

/* Fill @id from PROC_ROOT/PID/{comm,cmdline,stat,cgroup}.  -ENOENT when the process is gone. */
int vm_identity_read(const char *proc_root, pid_t pid, struct vm_identity *id);

/*
 * The vCPU a thread runs, from its name as QEMU sets it ("CPU 3/KVM"):
 * the index, or -1 for any other name.
 */
int vm_vcpu_from_comm(const char *comm);

#endif
