// SPDX-License-Identifier: GPL-2.0-only
/* See proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

void proc_result_free(struct proc_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	char *b = realloc(*buf, *len + n + 1);

	if (!b)
		abort();
	*buf = b;
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

struct proc_result proc_run(char *const argv[])
{
	struct proc_result res = { .status = -1, .out = strdup(""), .err = strdup("") };
	int pipes[2][2], st, open_fds = 2;
	size_t lens[2] = { 0, 0 };
	char **bufs[2] = { &res.out, &res.err };
	pid_t pid;

	if (pipe2(pipes[0], O_CLOEXEC) || pipe2(pipes[1], O_CLOEXEC))
		return res;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pipes[0][1], 1);
		dup2(pipes[1][1], 2);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipes[0][1]);
	close(pipes[1][1]);
	while (open_fds) {
		struct pollfd p[2] = { { pipes[0][0], POLLIN, 0 }, { pipes[1][0], POLLIN, 0 } };
		char buf[65536];

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0) {
				append(bufs[i], &lens[i], buf, (size_t)n);
			} else {
				close(pipes[i][0]);
				pipes[i][0] = -1;	/* poll() skips negative fds */
				open_fds--;
			}
		}
	}
	waitpid(pid, &st, 0);
	res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return res;
}

pid_t proc_start(char *const argv[], int *out_fd)
{
	int p[2];
	pid_t pid;

	/* No reader: stdout on /dev/null (p[1]), nothing to hand back. */
	if (!out_fd) {
		p[0] = -1;
		p[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (p[1] < 0)
			return -errno;
	} else if (pipe2(p, O_CLOEXEC)) {
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		if (p[0] >= 0)
			close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	if (out_fd)
		*out_fd = p[0];
	return pid;
}

pid_t proc_start_args(const char *path, char *const args[], int *out_fd)
{
	char *argv[32] = { (char *)path };
	int n = 1;

	for (; args && args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	return proc_start(argv, out_fd);
}

int proc_finish(pid_t pid, int fd, char **out)
{
	size_t len = 0;
	char buf[65536];
	ssize_t n;
	int st;

	*out = strdup("");
	if (!*out)
		abort();
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			append(out, &len, buf, (size_t)n);
	close(fd);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Built with SANITIZE=1, the subjects (kvmscoped, kvmscopectl, the guest)
 * are checked for leaks; a test program's own allocations, left behind
 * when an assertion jumps out of a test, are not the subject.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
