/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading tracepoint formats from tracefs, to check what a BPF program assumes. */
#ifndef KVMSCOPE_TRACEFS_H
#define KVMSCOPE_TRACEFS_H

/* Where tracefs is mounted ("/sys/kernel/tracing" or the debugfs path), or NULL. */
const char *tracefs_root(void);

/* Read events/@category/@event/format; -ENOENT when the tracepoint does not exist. */
int tracefs_read_format(const char *category, const char *event, char **text);

/* Offset and size of @field in a format text; -ENOENT if the field is absent. */
int tracefs_field_layout(const char *format, const char *field, int *offset, int *size);

#endif
