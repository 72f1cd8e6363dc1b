/* SPDX-License-Identifier: GPL-2.0-only */
/* kvmscoped's command line, parsed without side effects so tests can drive it. */
#ifndef KVMSCOPE_OPTIONS_H
#define KVMSCOPE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVMSCOPE_DEFAULT_SOCKET "/run/kvmscope/kvmscope.sock"
#define KVMSCOPE_DEFAULT_METRICS "127.0.0.1:9753"
#define KVMSCOPE_DEFAULT_RETAIN_EXITED 600
#define KVMSCOPE_DEFAULT_DETAIL_TOP 20
#define KVMSCOPE_DEFAULT_PIN_DIR "/sys/fs/bpf/kvmscope"
#define KVMSCOPE_DEFAULT_PATCH_DIR "/var/lib/kvmscope/patches"
#define KVMSCOPE_DEFAULT_TICK_MS 1000
#define KVMSCOPE_DEFAULT_RETAIN_MAX 1000
/* Map sizes (--max-vms, --max-threads, --max-keys). */
#define KVMSCOPE_DEFAULT_MAX_VMS 4096
#define KVMSCOPE_DEFAULT_MAX_THREADS 1024
#define KVMSCOPE_DEFAULT_MAX_KEYS 16384
#define KVMSCOPE_DEFAULT_MAX_KEYS_PER_VM 2048
#define KVMSCOPE_DEFAULT_GROUP "kvmscope"
#define KVMSCOPE_DEFAULT_CLIENT_TIMEOUT 60

/* Labels of the latency histograms in /metrics: cardinality is a choice. */
enum latency_labels {
	LATENCY_LABELS_VM,	/* pid, vm, isa, reason */
	LATENCY_LABELS_VCPU,	/* and vcpu */
};

/* What the exits capability collects besides its counts (--collect). */
enum collect_view {
	COLLECT_LATENCY = 1 << 0,	/* handling time of hardware exits (kvm_entry) */
	COLLECT_DETAIL = 1 << 1,	/* PIO, MMIO, MSR, CPUID, hypercall tables */
	COLLECT_BACKDOOR = 1 << 2,	/* VMware backdoor commands (vCPU registers) */
	COLLECT_VMM = 1 << 3,		/* userspace exits by reason, time in the VMM */
	COLLECT_ALL = COLLECT_LATENCY | COLLECT_DETAIL | COLLECT_BACKDOOR | COLLECT_VMM,
};

/* Who counts exits at KVM's tracepoints (--driver). */
enum exits_driver {
	DRIVER_AUTO,	/* BPF, and kvmscope.ko where BPF cannot attach */
	DRIVER_BPF,
	DRIVER_KMOD,	/* kvmscope.ko for every tracepoint it serves; fails without it */
};

/* Whether kvmscoped loads its helper module (--kmod). */
enum kmod_mode {
	KMOD_AUTO,	/* when something asks for what only it does */
	KMOD_ON,	/* at start; the daemon fails if it cannot */
	KMOD_OFF,
};

struct daemon_options {
	char socket_path[108];		/* sizeof(sun_path) */
	char group[64];			/* may read over the socket; root alone may change */
	unsigned int client_timeout_sec; /* close a client silent this long */
	bool metrics_enabled;
	char metrics_host[64];		/* numeric IPv4 or IPv6 address */
	uint16_t metrics_port;
	uint64_t retain_exited_sec;
	enum latency_labels latency_labels;
	unsigned int detail_top;	/* entries per detail table before "other" */
	unsigned int collect;		/* enum collect_view bits */
	int log_level;			/* syslog priority */
	char pin_dir[200];		/* bpffs directory for pinned state; "" with --pin-dir none */
	bool keep_pinned;		/* leave the pins at a clean stop too */
	bool cleanup;			/* --cleanup: remove the pins and exit */
	unsigned int tick_ms;		/* how often kernel state is read into the snapshot */
	unsigned int retain_exited_max;	/* exited VMs kept at most; the oldest go first */
	unsigned int max_vms, max_threads, max_keys;	/* BPF map sizes */
	unsigned int max_keys_per_vm;	/* keys one VM may hold in each counting map */
	bool ioctls;			/* the ioctls capability (--ioctls on|off) */
	char patch_dir[200];		/* livepatch modules loadable by path */
	bool patch_autoload;		/* load every patch_dir/ *.ko at start */
	unsigned int patch_stall_sec;	/* a transition this long is reported as stalled */
	enum kmod_mode kmod;		/* --kmod */
	enum exits_driver driver;	/* --driver */
	char kmod_path[200];		/* --kmod-path; "" searches /lib/modules/RELEASE */
	char config_path[200];		/* --config; "" reads KVMSCOPE_DEFAULT_CONFIG if it exists */
	bool no_config;			/* --no-config */
	bool print_config;		/* --print-config: show every key's value and exit */
	bool help;
	bool version;
};

void daemon_options_init(struct daemon_options *o);
/* Returns 0, or -EINVAL with a message naming the problem in @err. */
int daemon_options_parse(struct daemon_options *o, int argc, char **argv, char *err, size_t errlen);
/* "ADDR:PORT" or "[V6ADDR]:PORT" into host and port; -EINVAL if malformed. */
int parse_listen_address(const char *s, char *host, size_t host_len, uint16_t *port);
/* "all", "none" or a comma list of latency,vmm,detail,backdoor; -EINVAL naming the bad word. */
int parse_collect(const char *s, unsigned int *views, char *err, size_t errlen);
/* The names of the views in @views, comma-separated, or "none". */
const char *collect_name(unsigned int view);
/* "debug", "info", "notice", "warning", "err": syslog level or -EINVAL. */
int parse_log_level(const char *s);

extern const char daemon_usage[];

#endif
