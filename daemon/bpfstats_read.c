// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF programs' run time: finding the programs and reading the kernel; see
 * bpfstats.h.  bpf_obj_get_info_by_fd(), as bpf_prog_get_info_by_fd() and
 * bpf_link_get_info_by_fd() came with libbpf 1.2 and Debian 12 has 1.1.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfstats.h"

/* The id of the program behind @fd, or 0. */
static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ? 0 : info.id;
}

int bpfstats_track(struct bpfstats *s, const char *name, const struct bpf_program *prog,
		   const struct bpf_link *link)
{
	int fd = prog ? bpf_program__fd(prog) : -1, error = -ENOENT;
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);

	if (fd >= 0) {
		/* Our own copy: the object may be destroyed before this set. */
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			error = -errno;
	} else if (link && bpf_link__fd(link) >= 0) {
		/* A link adopted from a pin: ask it which program it runs. */
		if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) < 0)
			error = -errno;
		else if ((fd = bpf_prog_get_fd_by_id(info.prog_id)) < 0)
			error = -errno;
	}
	return bpfstats_add(s, name, fd, fd >= 0 ? prog_id(fd) : 0, error);
}

void bpfstats_read(struct bpfstats *s, const char *sysctl_path)
{
	s->enabled = bpfstats_read_enabled(sysctl_path);
	s->read = true;
	for (size_t i = 0; i < s->n; i++) {
		struct bpfstats_prog *p = &s->progs[i];
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);

		if (p->fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(p->fd, &info, &len) < 0) {
			p->error = -errno;
			continue;
		}
		p->error = 0;
		/* Older kernels return a shorter info: the field is then not there. */
		p->misses_read = len >= offsetof(struct bpf_prog_info, recursion_misses) +
				       sizeof(info.recursion_misses);
		p->recursion_misses = p->misses_read ? info.recursion_misses : 0;
		/* Off, the run counters hold what an earlier "on" left: stale, so not read. */
		if (s->enabled != 1)
			continue;
		p->run_time_ns = info.run_time_ns;
		p->run_cnt = info.run_cnt;
	}
}
