/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Is the daemon in the initial pid namespace?  The BPF programs report
 * host tgids; /proc and getpid() speak the daemon's own namespace.  In
 * any other one no VM's pid is found in /proc, and every VM would look
 * exited at each tick, so this is found out once, at start, and shown in
 * `status`.  Pure parsing, with the /proc root as a parameter so unit
 * tests can feed fake trees.
 */
#ifndef KVMSCOPE_PIDNS_H
#define KVMSCOPE_PIDNS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* The initial pid namespace's inode, fixed by the kernel (PROC_PID_INIT_INO). */
#define PIDNS_INIT_INODE 0xEFFFFFFCu

struct pidns_info {
	int initial;		/* 1 initial, 0 another, -1 could not be told */
	uint64_t inode;		/* of @proc/self/ns/pid, 0 when unreadable */
	int nspid_levels;	/* numbers on NSpid in @proc/self/status, 0 when none */
};

/*
 * Numbers on the NSpid line of /proc/PID/status text: the pid in each
 * namespace from the one /proc was mounted in down to the task's own.
 * More than one: the task is not in /proc's namespace, so not in the
 * initial one.  Returns 0 when there is no NSpid line (Linux < 4.1),
 * -EINVAL when it holds no number or something else.
 */
int pidns_nspid_levels(const char *status, size_t len);

/* The inode of a namespace link's text, "pid:[4026531836]"; -EINVAL if not one. */
int pidns_inode_from_link(const char *link, uint64_t *inode);

/*
 * Decide @info->initial from what was read: the namespace's inode when
 * known (only the initial namespace has PIDNS_INIT_INODE), else NSpid,
 * which can prove a nested namespace but not the initial one.
 */
void pidns_decide(struct pidns_info *info);

/* Read @proc_root/self/ns/pid and @proc_root/self/status, then decide. */
void pidns_read(const char *proc_root, struct pidns_info *info);

/* What to tell the user when not in the initial namespace, else NULL. */
const char *pidns_warning(const struct pidns_info *info);

/* status's "pid_namespace": {"initial": true|false|null, "warning": string|null}. */
json_t *pidns_to_json(const struct pidns_info *info);

#endif
