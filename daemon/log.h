/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging: to stderr when run by hand, to the journal (with priorities)
 * when started by systemd.  Functions that take an error return it
 * negative, so callers can write `return log_error_errno(r, "...: %m");`.
 */
#ifndef KVMSCOPE_LOG_H
#define KVMSCOPE_LOG_H

#include <syslog.h>

void log_setup(int max_level, int force_journal);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_internal(int level, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)

#endif
