// SPDX-License-Identifier: GPL-2.0-only
/*
 * Logging to stderr or the journal; see log.h.  Every message is escaped
 * whole (text_escape()): log lines carry guest names, comm and cgroup
 * paths that the guest's owner chose, and one message must stay one line
 * with no terminal controls in it, whatever its arguments hold.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "strbuf.h"

static int log_max_level = LOG_INFO;
static int log_to_journal;

void log_setup(int max_level, int force_journal)
{
	log_max_level = max_level;
	/* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
	log_to_journal = force_journal || getenv("JOURNAL_STREAM") != NULL;
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	int saved = errno;
	char *raw = NULL, *text;
	va_list ap;

	if (error < 0)
		error = -error;
	if (level <= log_max_level) {
		/* So that %m in fmt names @error. */
		errno = error ? error : saved;
		va_start(ap, fmt);
		if (vasprintf(&raw, fmt, ap) < 0)
			raw = NULL;
		va_end(ap);
		text = raw ? text_escape_dup(raw) : NULL;
		if (log_to_journal)
			sd_journal_print(level, "%s", text ? text : "(out of memory formatting a message)");
		else
			fprintf(stderr, "kvmscoped: %s\n", text ? text : "(out of memory formatting a message)");
		free(text);
		free(raw);
	}
	errno = saved;
	return -error;
}
