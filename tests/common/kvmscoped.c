// SPDX-License-Identifier: GPL-2.0-only
/* The daemon under test, for the root test programs; see kvmscoped.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmscoped.h"

char *test_build_path(const char *build_dir, const char *name)
{
	static char paths[16][PATH_MAX];
	static int next;
	char *p = paths[next++ % 16], rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "%s/%s", build_dir, name);
	if (!realpath(rel, p))
		snprintf(p, PATH_MAX, "%s", rel);
	return p;
}

int test_require_root_kvm(const char *who)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: must run as root (kvmscoped loads BPF, guests open /dev/kvm)\n",
			who);
		return -1;
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "%s: /dev/kvm is not usable: %s; these tests need real KVM\n", who,
			strerror(errno));
		return -1;
	}
	return 0;
}

int test_connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

pid_t test_kvmscoped_start(const char *kvmscoped, const char *log, char *const args[])
{
	static int started;
	char pin_dir[128];
	bool has_pin_dir = false;
	pid_t pid;

	const char *driver = getenv("KVMSCOPE_TEST_DRIVER"), *kmod_path = getenv("KVMSCOPE_TEST_KMOD_PATH");
	bool has_driver = false;

	/* Each daemon under test pins into its own directory unless told where. */
	for (int i = 0; args && args[i]; i++) {
		has_pin_dir |= !strcmp(args[i], "--pin-dir");
		/* A test about the module or the driver says what it wants. */
		has_driver |= !strncmp(args[i], "--driver", 8) || !strncmp(args[i], "--kmod", 6);
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/kvmscope-test-%d-%d", (int)getpid(), started++);
	pid = fork();
	if (pid == 0) {
		char *argv[40] = { "kvmscoped" };
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644), n = 1;

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (; args && args[n - 1] && n < 29; n++)
			argv[n] = args[n - 1];
		if (!has_pin_dir) {
			argv[n++] = "--pin-dir";
			argv[n++] = pin_dir;
		}
		/* The whole suite again with another driver (tests/run inlab). */
		if (driver && driver[0] && !has_driver && n < 30) {
			argv[n++] = "--driver";
			argv[n++] = (char *)driver;
			if (kmod_path && kmod_path[0] && n < 32) {
				argv[n++] = "--kmod-path";
				argv[n++] = (char *)kmod_path;
			}
		}
		argv[n] = NULL;
		execv(kvmscoped, argv);
		fprintf(stderr, "cannot run %s: %s\n", kvmscoped, strerror(errno));
		_exit(127);
	}
	return pid;
}

int test_kvmscoped_wait(const char *path, pid_t pid, int timeout_ms)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	for (int waited = 0; waited < timeout_ms; waited += 50) {
		int fd = test_connect_unix(path);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return -ESRCH;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int test_process_stop(pid_t *pid, int sig)
{
	/* Inside the (TCG) lab a clean shutdown takes seconds, never a minute. */
	long limit_ms = test_start_wait_ms(20000);
	int ret = 0;

	if (*pid <= 0)
		return 0;
	kill(*pid, sig);
	for (long waited = 0; waitpid(*pid, NULL, WNOHANG) == 0; waited += 50) {
		if (waited >= limit_ms) {
			fprintf(stderr, "test: pid %d did not exit within %ld ms of signal %d (%s): killed\n",
				(int)*pid, limit_ms, sig, strsignal(sig));
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			ret = -1;
			break;
		}
		usleep(50 * 1000);
	}
	*pid = -1;
	return ret;
}

long test_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

void test_userspace_exit_skips(json_t *status, long long *first, long long *backup)
{
	json_t *caps = json_object_get(status, "capabilities"), *p;
	size_t i;

	*first = *backup = 0;
	json_array_foreach(json_object_get(json_object_get(json_array_get(caps, 0), "bpf_cost"),
					   "programs"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));

		if (!name || !strstr(name, "/kvm_userspace_exit"))
			continue;
		if (strstr(name, "#backup"))
			*backup += json_integer_value(json_object_get(p, "skipped_runs"));
		else
			*first += json_integer_value(json_object_get(p, "skipped_runs"));
	}
}

int test_start_wait_ms(int dflt)
{
	const char *ms = getenv("KVMSCOPE_TEST_START_MS");
	int v = ms ? atoi(ms) : 0;

	return v > dflt ? v : dflt;
}
