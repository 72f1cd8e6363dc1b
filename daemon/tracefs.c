// SPDX-License-Identifier: GPL-2.0-only
/* tracefs format parsing; see tracefs.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"
#include "tracefs.h"

const char *tracefs_root(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	for (size_t i = 0; i < 2; i++) {
		char path[64];

		snprintf(path, sizeof(path), "%s/events", roots[i]);
		if (path_exists(path))
			return roots[i];
	}
	return NULL;
}

int tracefs_read_format(const char *category, const char *event, char **text)
{
	const char *root = tracefs_root();
	char path[256], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r = 0;

	if (!root)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", root, category, event);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	{
		FILE *mem = open_memstream(&buf, &len);
		char chunk[4096];
		size_t n;

		if (!mem) {
			fclose(f);
			return -ENOMEM;
		}
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, mem);
		if (ferror(f))
			r = -EIO;
		fclose(mem);
	}
	fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	*text = buf;
	return 0;
}

/*
 * Lines look like "\tfield:unsigned int exit_reason;\toffset:8;\tsize:4;\tsigned:0;".
 * The field name is the last identifier before ';' (an array suffix is dropped).
 */
int tracefs_field_layout(const char *format, const char *field, int *offset, int *size)
{
	size_t flen = strlen(field);

	for (const char *line = format; line && *line;) {
		const char *eol = strchr(line, '\n');
		const char *decl = strstr(line, "field:");
		const char *semi;

		if (!eol)
			eol = line + strlen(line);
		if (decl && decl < eol && (semi = memchr(decl, ';', (size_t)(eol - decl)))) {
			const char *end = semi, *start;

			if (end > decl && end[-1] == ']') {
				while (end > decl && *end != '[')
					end--;
			}
			start = end;
			while (start > decl && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
						(start[-1] >= 'A' && start[-1] <= 'Z') ||
						(start[-1] >= '0' && start[-1] <= '9')))
				start--;
			if ((size_t)(end - start) == flen && !strncmp(start, field, flen)) {
				const char *o = strstr(semi, "offset:"), *s = strstr(semi, "size:");

				char *oe, *se;
				long ov, sv;

				if (!o || !s || o > eol || s > eol)
					return -EINVAL;
				/* A record is at most a page: anything else is not a layout. */
				ov = strtol(o + 7, &oe, 10);
				sv = strtol(s + 5, &se, 10);
				if (oe == o + 7 || se == s + 5 || ov < 0 || ov >= 65536 || sv <= 0 || sv > 65536)
					return -EINVAL;
				*offset = (int)ov;
				*size = (int)sv;
				return 0;
			}
		}
		line = *eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}
