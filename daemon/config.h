/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvmscoped's configuration file (libinih): /etc/kvmscope/kvmscoped.conf
 * and its drop-ins kvmscoped.conf.d/ *.conf in name order, one section per
 * capability plus [daemon], a key for every command-line option with the
 * option's name and values.  Applied over the defaults and under the
 * command line: defaults < file < drop-ins < command line.  Pure logic on
 * struct daemon_options, unit-tested; no event loop.
 */
#ifndef KVMSCOPE_CONFIG_H
#define KVMSCOPE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "options.h"

#define KVMSCOPE_DEFAULT_CONFIG "/etc/kvmscope/kvmscoped.conf"
/* Drop-ins read at most from FILE.d/; longer lines than this are refused. */
#define CONFIG_MAX_DROPINS 128
#define CONFIG_MAX_LINE 199

/* Where each key's value came from: "default", "FILE:LINE" or "command line". */
struct config_origins {
	char where[64][280];
};

/* The keys: index, or -1 when @section/@key names none. */
int config_key_index(const char *section, const char *key);
size_t config_key_count(void);
const char *config_key_section(size_t i);
const char *config_key_name(size_t i);
/* A key applied on SIGHUP at once; the others need a restart. */
bool config_key_reloadable(size_t i);

/*
 * Apply @path and then @path.d/ *.conf (name order) to @o.  A missing
 * @path is no error unless @must_exist; a missing drop-in directory never
 * is.  Unknown sections or keys, bad values, duplicate keys in one file
 * and over-long lines are errors: -EINVAL with "FILE:LINE: ..." in @err
 * and nothing more applied after that file.  -errno when a file exists
 * but cannot be read.  @origins (may be NULL) is updated for each key set.
 */
int config_load(struct daemon_options *o, const char *path, bool must_exist,
		struct config_origins *origins, char *err, size_t errlen);

/* Mark in @origins the keys whose options appear in @argv as "command line". */
void config_mark_command_line(struct config_origins *origins, int argc, char **argv);

/* The effective value of key @i in @o, as the file would spell it. */
void config_key_value(const struct daemon_options *o, size_t i, char *buf, size_t len);

/* Every key, by section, with its value and where it came from (--print-config). */
void config_print(FILE *f, const struct daemon_options *o, const struct config_origins *origins);

#endif
