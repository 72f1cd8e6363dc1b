// SPDX-License-Identifier: GPL-2.0-only
/* kvmscoped's configuration file; see config.h. */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "strbuf.h"

struct config_key {
	const char *section;
	const char *key;		/* the long option's name too */
	bool reloadable;
	/* yes/no, for an option that takes no value: the field it sets; else 0
	 * (the first field, socket_path, is no flag). */
	size_t flag;
};

#define FLAG(field) offsetof(struct daemon_options, field)

static const struct config_key keys[] = {
	{ "daemon", "socket", false, 0 },
	{ "daemon", "group", false, 0 },
	{ "daemon", "client-timeout", true, 0 },
	{ "daemon", "metrics", false, 0 },
	{ "daemon", "log-level", true, 0 },
	{ "daemon", "tick-ms", false, 0 },
	{ "daemon", "pin-dir", false, 0 },
	{ "daemon", "keep-pinned", false, FLAG(keep_pinned) },
	{ "daemon", "retain-exited", true, 0 },
	{ "daemon", "retain-max", true, 0 },
	{ "daemon", "max-vms", false, 0 },
	{ "daemon", "max-threads", false, 0 },
	{ "daemon", "max-keys", false, 0 },
	{ "daemon", "max-keys-per-vm", false, 0 },
	{ "exits", "collect", false, 0 },
	{ "exits", "latency-labels", false, 0 },
	{ "exits", "detail-top", false, 0 },
	{ "exits", "driver", false, 0 },
	{ "ioctls", "ioctls", false, 0 },
	{ "livepatch", "patch-dir", false, 0 },
	{ "livepatch", "patch-autoload", false, FLAG(patch_autoload) },
	{ "livepatch", "patch-stall", true, 0 },
	{ "kmod", "kmod", false, 0 },
	{ "kmod", "kmod-path", false, 0 },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(N_KEYS <= sizeof(((struct config_origins *)0)->where) /
			  sizeof(((struct config_origins *)0)->where[0]),
	       "struct config_origins has room for every key");

size_t config_key_count(void)
{
	return N_KEYS;
}

const char *config_key_section(size_t i)
{
	return i < N_KEYS ? keys[i].section : NULL;
}

const char *config_key_name(size_t i)
{
	return i < N_KEYS ? keys[i].key : NULL;
}

bool config_key_reloadable(size_t i)
{
	return i < N_KEYS && keys[i].reloadable;
}

int config_key_index(const char *section, const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
			return (int)i;
	return -1;
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (!strcmp(keys[i].section, section))
			return true;
	return false;
}

/* One file being parsed. */
struct parse {
	struct daemon_options *o;
	struct config_origins *origins;
	const char *path;
	FILE *f;
	unsigned int line;		/* of the text the reader returned last */
	bool seen[N_KEYS];
	bool too_long;
	char err[400];			/* the first error, without "FILE:LINE: " */
	unsigned int err_line;
};

static int parse_fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int parse_fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->err[0]) {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
		p->err_line = p->line;
	}
	return 0;
}

/* ini_reader: fgets that counts lines and refuses over-long ones. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t n;

	if (!fgets(str, num, p->f))
		return NULL;
	p->line++;
	n = strlen(str);
	if (n && str[n - 1] != '\n' && !feof(p->f)) {
		int c;

		/* The rest of the line is skipped, not parsed as a line of its own. */
		while ((c = fgetc(p->f)) != EOF && c != '\n')
			;
		if (!p->err[0])
			parse_fail(p, "line longer than %d bytes", CONFIG_MAX_LINE);
		str[0] = '\0';
		return str;
	}
	/* A section without keys never reaches the handler: judge headers here. */
	{
		const char *h = str + strspn(str, " \t");
		const char *end = strchr(h, ']');

		if (*h == '[' && end && !p->err[0]) {
			char name[80], shown[160];

			snprintf(name, sizeof(name), "%.*s", (int)(end - h - 1), h + 1);
			if (!section_known(name)) {
				text_escape(shown, sizeof(shown), name);
				parse_fail(p, "unknown section [%s] (known: daemon, exits, ioctls, livepatch, kmod)",
					   shown);
			}
		}
	}
	return str;
}

static bool parse_flag(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char opt[64], err[300], shown[160], shown_value[160];
	int i = config_key_index(section, name);

	if (p->err[0])
		return 1;
	text_escape(shown, sizeof(shown), name);
	text_escape(shown_value, sizeof(shown_value), value);
	if (!section[0])
		return parse_fail(p, "key '%s' outside a section: put it under [daemon], [exits], [ioctls], [livepatch] or [kmod]",
				  shown);
	if (!section_known(section))
		return 1;	/* reported by the reader at its header */
	if (i < 0)
		return parse_fail(p, "[%s] has no key '%s' (kvmscoped.conf(5) lists them)", section,
				  shown);
	if (p->seen[i])
		return parse_fail(p, "[%s] %s is given twice in this file (a later drop-in may override it)",
				  section, name);
	p->seen[i] = true;
	if (keys[i].flag) {
		bool on;

		if (!parse_flag(value, &on))
			return parse_fail(p, "[%s] %s: '%s' is not yes or no", section, name, shown_value);
		*(bool *)((char *)p->o + keys[i].flag) = on;
	} else {
		char *argv[] = { "kvmscoped", opt, (char *)value, NULL };
		const char *msg = err;

		snprintf(opt, sizeof(opt), "--%s", name);
		if (daemon_options_parse(p->o, 3, argv, err, sizeof(err)) < 0) {
			/* "--key: why" from the option parser: the key is named already. */
			if (!strncmp(err, opt, strlen(opt)) && !strncmp(err + strlen(opt), ": ", 2))
				msg = err + strlen(opt) + 2;
			{
				char escaped[320];

				text_escape(escaped, sizeof(escaped), msg);
				return parse_fail(p, "[%s] %s: %s", section, name, escaped);
			}
		}
	}
	if (p->origins)
		snprintf(p->origins->where[i], sizeof(p->origins->where[i]), "%.260s:%u", p->path,
			 p->line);
	return 1;
}

static int load_one(struct daemon_options *o, const char *path, bool must_exist,
		    struct config_origins *origins, char *err, size_t errlen)
{
	struct parse p = { .o = o, .origins = origins, .path = path };
	int r;

	p.f = fopen(path, "re");
	if (!p.f) {
		r = -errno;
		if (r == -ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.f);
	if (p.err[0]) {
		snprintf(err, errlen, "%s:%u: %s", path, p.err_line, p.err);
		return -EINVAL;
	}
	if (r != 0) {
		snprintf(err, errlen, "%s:%d: not a 'key = value' line or a [section] header", path,
			 r);
		return -EINVAL;
	}
	return 0;
}

/* Drop-ins: "*.conf", not hidden. */
static int is_dropin(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return de->d_name[0] != '.' && len >= 6 && !strcmp(de->d_name + len - 5, ".conf");
}

/* Byte order, whatever the locale (as systemd orders its drop-ins). */
static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int config_load(struct daemon_options *o, const char *path, bool must_exist,
		struct config_origins *origins, char *err, size_t errlen)
{
	char dir[300], file[600];
	struct dirent **names;
	int n, r;

	r = load_one(o, path, must_exist, origins, err, errlen);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s.d", path);
	n = scandir(dir, &names, is_dropin, name_order);
	if (n < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	if (n > CONFIG_MAX_DROPINS) {
		snprintf(err, errlen, "%s: more than %d drop-ins", dir, CONFIG_MAX_DROPINS);
		r = -E2BIG;
	}
	for (int i = 0; i < n; i++) {
		if (r == 0) {
			snprintf(file, sizeof(file), "%s/%s", dir, names[i]->d_name);
			r = load_one(o, file, true, origins, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

void config_mark_command_line(struct config_origins *origins, int argc, char **argv)
{
	for (int a = 1; a < argc; a++) {
		if (strncmp(argv[a], "--", 2))
			continue;
		for (size_t i = 0; i < N_KEYS; i++) {
			size_t n = strlen(keys[i].key);

			if (!strncmp(argv[a] + 2, keys[i].key, n) &&
			    (argv[a][2 + n] == '\0' || argv[a][2 + n] == '='))
				snprintf(origins->where[i], sizeof(origins->where[i]), "command line");
		}
	}
}

static const char *log_level_name(int level)
{
	switch (level) {
	case LOG_DEBUG: return "debug";
	case LOG_INFO: return "info";
	case LOG_NOTICE: return "notice";
	case LOG_WARNING: return "warning";
	default: return "err";
	}
}

void config_key_value(const struct daemon_options *o, size_t i, char *buf, size_t len)
{
	const char *k = i < N_KEYS ? keys[i].key : "";

	buf[0] = '\0';
	if (!strcmp(k, "socket"))
		snprintf(buf, len, "%s", o->socket_path);
	else if (!strcmp(k, "group"))
		snprintf(buf, len, "%s", o->group);
	else if (!strcmp(k, "client-timeout"))
		snprintf(buf, len, "%u", o->client_timeout_sec);
	else if (!strcmp(k, "metrics"))
		snprintf(buf, len, !o->metrics_enabled ? "off" : strchr(o->metrics_host, ':') ? "[%s]:%u" : "%s:%u",
			 o->metrics_host, o->metrics_port);
	else if (!strcmp(k, "log-level"))
		snprintf(buf, len, "%s", log_level_name(o->log_level));
	else if (!strcmp(k, "tick-ms"))
		snprintf(buf, len, "%u", o->tick_ms);
	else if (!strcmp(k, "pin-dir"))
		snprintf(buf, len, "%s", o->pin_dir[0] ? o->pin_dir : "none");
	else if (!strcmp(k, "keep-pinned"))
		snprintf(buf, len, "%s", o->keep_pinned ? "yes" : "no");
	else if (!strcmp(k, "retain-exited"))
		snprintf(buf, len, "%llu", (unsigned long long)o->retain_exited_sec);
	else if (!strcmp(k, "retain-max"))
		snprintf(buf, len, "%u", o->retain_exited_max);
	else if (!strcmp(k, "max-vms"))
		snprintf(buf, len, "%u", o->max_vms);
	else if (!strcmp(k, "max-threads"))
		snprintf(buf, len, "%u", o->max_threads);
	else if (!strcmp(k, "max-keys"))
		snprintf(buf, len, "%u", o->max_keys);
	else if (!strcmp(k, "max-keys-per-vm"))
		snprintf(buf, len, "%u", o->max_keys_per_vm);
	else if (!strcmp(k, "collect")) {
		size_t used = 0;

		if (o->collect == COLLECT_ALL)
			snprintf(buf, len, "all");
		else if (!o->collect)
			snprintf(buf, len, "none");
		else
			for (unsigned int v = 1; v <= COLLECT_ALL && used < len; v <<= 1)
				if ((o->collect & v) && collect_name(v))
					used += (size_t)snprintf(buf + used, len - used, "%s%s",
								 used ? "," : "", collect_name(v));
	} else if (!strcmp(k, "latency-labels"))
		snprintf(buf, len, "%s", o->latency_labels == LATENCY_LABELS_VCPU ? "vcpu" : "vm");
	else if (!strcmp(k, "detail-top"))
		snprintf(buf, len, "%u", o->detail_top);
	else if (!strcmp(k, "ioctls"))
		snprintf(buf, len, "%s", o->ioctls ? "on" : "off");
	else if (!strcmp(k, "patch-dir"))
		snprintf(buf, len, "%s", o->patch_dir);
	else if (!strcmp(k, "patch-autoload"))
		snprintf(buf, len, "%s", o->patch_autoload ? "yes" : "no");
	else if (!strcmp(k, "patch-stall"))
		snprintf(buf, len, "%u", o->patch_stall_sec);
	else if (!strcmp(k, "kmod"))
		snprintf(buf, len, "%s", o->kmod == KMOD_ON ? "on" : o->kmod == KMOD_OFF ? "off" : "auto");
	else if (!strcmp(k, "kmod-path"))
		snprintf(buf, len, "%s", o->kmod_path);
	else if (!strcmp(k, "driver"))
		snprintf(buf, len, "%s", o->driver == DRIVER_BPF ? "bpf" : o->driver == DRIVER_KMOD ? "kmod" : "auto");
}

void config_print(FILE *f, const struct daemon_options *o, const struct config_origins *origins)
{
	const char *section = NULL;
	char value[300];

	for (size_t i = 0; i < N_KEYS; i++) {
		if (!section || strcmp(section, keys[i].section)) {
			section = keys[i].section;
			fprintf(f, "%s[%s]\n", i ? "\n" : "", section);
		}
		config_key_value(o, i, value, sizeof(value));
		fprintf(f, "%s = %s", keys[i].key, value);
		fprintf(f, "%*s; %s%s\n", (int)(strlen(keys[i].key) + 3 + strlen(value) < 40 ? 40 - strlen(keys[i].key) - 3 - strlen(value) : 1), "",
			origins && origins->where[i][0] ? origins->where[i] : "default",
			keys[i].reloadable ? "" : " (restart to change)");
	}
}
