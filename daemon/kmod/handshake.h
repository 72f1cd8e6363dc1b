/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What kvmscoped decides about the helper module before and after loading
 * it: whether this kernel can load a module at all (and if not, why, in
 * words an operator can act on), and whether a loaded module speaks the
 * daemon's schema.  Pure logic over files under a root prefix and a
 * struct; unit-tested (tests/unit/test_kmod.c).
 */
#ifndef KVMSCOPE_KMOD_HANDSHAKE_H
#define KVMSCOPE_KMOD_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kvmscope/kmod.h>

/*
 * Why the kernel under @root ("" for the running one) cannot load an
 * unsigned or signed (@file_signed) module: no module support, loading
 * disabled, lockdown, enforced signatures.  Returns false with the reason
 * in @why, true (and @why "") when it can.
 */
bool kmod_kernel_loadable(const char *root, bool file_signed, char *why, size_t len);

/*
 * Whether @v, from the module's KVMSCOPE_IOC_VERSION, matches this daemon
 * (@api, @schema, @version).  Returns 0, or -EPROTO with a message naming
 * both versions in @why.
 */
int kmod_handshake_check(const struct kvmscope_version *v, unsigned int api, uint64_t schema,
			 const char *version, char *why, size_t len);

#endif
