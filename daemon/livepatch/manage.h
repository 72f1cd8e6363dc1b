/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Managing livepatches like kpatch: load a module (passed as a descriptor
 * or named in the patch directory) after checking that it is a livepatch
 * for this kernel, enable, disable, unload, force.  Every action, done or
 * refused, is logged with the caller's uid and pid.  The waiting for a
 * transition is the client's (kvmscopectl patch ... --wait), over
 * livepatch.get, so the daemon never blocks on one.
 */
#ifndef KVMSCOPE_LIVEPATCH_MANAGE_H
#define KVMSCOPE_LIVEPATCH_MANAGE_H

#include <stdbool.h>
#include <jansson.h>

#include "rpc.h"

struct klp_manage {
	const char *patch_dir;		/* --patch-dir */
	const char *livepatch_dir;	/* /sys/kernel/livepatch */
	const char *module_dir;		/* /sys/module */
	unsigned int owner;		/* who must own the patch directory: root (tests: themselves) */
};

/* params: exactly one of "path" (in the patch directory) or "fd": true. */
json_t *klp_manage_load(const struct klp_manage *km, const struct rpc_caller *caller,
			json_t *params, struct rpc_error *err);
/* params: "name"; writes the patch's enabled attribute (a transition's reversal too). */
json_t *klp_manage_enable(const struct klp_manage *km, const struct rpc_caller *caller,
			  json_t *params, struct rpc_error *err, bool enable);
/* params: "name"; a livepatch module whose patch is gone (disabled and settled). */
json_t *klp_manage_unload(const struct klp_manage *km, const struct rpc_caller *caller,
			  json_t *params, struct rpc_error *err);
/* params: "name", "confirm": true; ends a transition without the consistency model. */
json_t *klp_manage_force(const struct klp_manage *km, const struct rpc_caller *caller,
			 json_t *params, struct rpc_error *err);

/*
 * The livepatch under @livepatch_dir (/sys/kernel/livepatch) whose
 * transition is in progress, into @name: 1, or 0 when there is none.
 */
int klp_transition_in_progress(const char *livepatch_dir, char *name, size_t len);

/*
 * The patch directory's files ending in ".ko", in name order, as
 * kpatch load --all takes them: a malloc'd array of malloc'd names.
 */
int klp_manage_list_dir(const char *dir, char ***names, size_t *n);

#endif
