// SPDX-License-Identifier: GPL-2.0-only
/* The helper module's loadability and handshake: see handshake.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kmod/handshake.h"
#include "strbuf.h"

static int read_at(const char *root, const char *path, char *buf, size_t len)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s", root, path);
	return read_first_line(full, buf, len);
}

bool kmod_kernel_loadable(const char *root, bool file_signed, char *why, size_t len)
{
	char full[512], line[256];
	const char *open_br, *close_br;

	snprintf(full, sizeof(full), "%s/proc/modules", root);
	if (!path_exists(full)) {
		snprintf(why, len, "this kernel has no module support (CONFIG_MODULES is off: no /proc/modules)");
		return false;
	}
	if (read_at(root, "/proc/sys/kernel/modules_disabled", line, sizeof(line)) >= 0 &&
	    line[0] == '1') {
		snprintf(why, len, "module loading is disabled until reboot (kernel.modules_disabled=1)");
		return false;
	}
	if (!file_signed &&
	    read_at(root, "/sys/kernel/security/lockdown", line, sizeof(line)) >= 0 &&
	    (open_br = strchr(line, '[')) && (close_br = strchr(open_br, ']')) &&
	    strncmp(open_br + 1, "none]", 5) != 0) {
		snprintf(why, len, "kernel lockdown (%.*s) refuses unsigned modules and kvmscope.ko is unsigned",
			 (int)(close_br - open_br - 1), open_br + 1);
		return false;
	}
	if (!file_signed &&
	    read_at(root, "/sys/module/module/parameters/sig_enforce", line, sizeof(line)) >= 0 &&
	    line[0] == 'Y') {
		snprintf(why, len, "the kernel enforces module signatures (module.sig_enforce=1) and kvmscope.ko is unsigned: sign it with a key the kernel trusts");
		return false;
	}
	if (len)
		why[0] = '\0';
	return true;
}

int kmod_handshake_check(const struct kvmscope_version *v, unsigned int api, uint64_t schema,
			 const char *version, char *why, size_t len)
{
	char theirs[sizeof(v->version) + 1];

	/* The module's string, bounded and printable whatever it sent. */
	for (size_t i = 0; i < sizeof(v->version); i++) {
		unsigned char ch = (unsigned char)v->version[i];

		theirs[i] = ch;
		if (!ch)
			break;
		if (ch < 0x20 || ch > 0x7e)
			theirs[i] = '?';
	}
	theirs[sizeof(v->version)] = '\0';
	if (v->api == api && v->schema == schema) {
		if (len)
			why[0] = '\0';
		return 0;
	}
	snprintf(why, len,
		 "kvmscope.ko %s (API %u, schema %016llx) does not match kvmscoped %s (API %u, schema %016llx): rebuild the module from this release (make kmod, or reinstall kvmscope-dkms)",
		 theirs, v->api, (unsigned long long)v->schema, version, api,
		 (unsigned long long)schema);
	return -EPROTO;
}
