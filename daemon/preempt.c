// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's preemption model (preempt.h).
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "preempt.h"
#include "strbuf.h"

#define DEBUGFS_PREEMPT "/sys/kernel/debug/sched/preempt"

static int model_preempts(const char *name, size_t n)
{
	if ((n == 4 && !strncmp(name, "full", 4)) || (n == 4 && !strncmp(name, "lazy", 4)) ||
	    (n == 2 && !strncmp(name, "rt", 2)))
		return 1;
	if ((n == 4 && !strncmp(name, "none", 4)) || (n == 9 && !strncmp(name, "voluntary", 9)))
		return 0;
	return -1;
}

int preempt_from_debugfs(const char *text)
{
	const char *open = strchr(text, '('), *close = open ? strchr(open, ')') : NULL;

	if (!close)
		return -1;
	return model_preempts(open + 1, (size_t)(close - open - 1));
}

int preempt_from_cmdline(const char *cmdline)
{
	int found = -1;

	for (const char *p = cmdline; (p = strstr(p, "preempt=")); p += 8) {
		size_t n;

		/* A word of its own, not the tail of another (nopreempt=, xpreempt=). */
		if (p != cmdline && p[-1] != ' ')
			continue;
		n = strcspn(p + 8, " \n");
		found = model_preempts(p + 8, n);
	}
	return found;
}

int kernel_preempts_anywhere(char *how, size_t len)
{
	char buf[4096];
	struct utsname u;
	int r;

	if (read_first_line(DEBUGFS_PREEMPT, buf, sizeof(buf)) == 0 &&
	    (r = preempt_from_debugfs(buf)) >= 0) {
		snprintf(how, len, "%s", DEBUGFS_PREEMPT);
		return r;
	}
	if (read_first_line("/proc/cmdline", buf, sizeof(buf)) == 0 && (r = preempt_from_cmdline(buf)) >= 0) {
		snprintf(how, len, "preempt= on the kernel command line");
		return r;
	}
	if (read_first_line("/sys/kernel/realtime", buf, sizeof(buf)) == 0 && buf[0] == '1') {
		snprintf(how, len, "/sys/kernel/realtime");
		return 1;
	}
	r = kernel_version_at_least(6, 19);
	if (r < 0) {
		snprintf(how, len, "unknown kernel version: assumed preemptible");
		return 1;
	}
	snprintf(how, len, "assumed from the kernel version (%s; %s not readable)",
		 uname(&u) == 0 ? u.release : "?", DEBUGFS_PREEMPT);
	return r;
}

int kernel_version_at_least(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return -1;
	return ma > major || (ma == major && mi >= minor);
}
