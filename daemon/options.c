// SPDX-License-Identifier: GPL-2.0-only
/* kvmscoped command-line parsing; see options.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "options.h"

const char daemon_usage[] =
	"Usage: kvmscoped [OPTIONS]\n"
	"Observe KVM exits with BPF and serve them over a Unix socket and HTTP.\n"
	"\n"
	"  --socket PATH            JSON-RPC socket (default " KVMSCOPE_DEFAULT_SOCKET ")\n"
	"  --group NAME             members may read over the socket; changes stay root\n"
	"                           only (default " KVMSCOPE_DEFAULT_GROUP "; a missing group: root only)\n"
	"  --client-timeout SECONDS close socket clients idle this long (default 60)\n"
	"  --metrics ADDR:PORT|off  Prometheus endpoint (default " KVMSCOPE_DEFAULT_METRICS ")\n"
	"  --retain-exited SECONDS  keep an exited VM's counts this long (default 600)\n"
	"  --latency-labels vm|vcpu label latency histograms in /metrics per VM (default)\n"
	"                           or per VM and vCPU\n"
	"  --detail-top N           entries per MMIO/MSR/CPUID/hypercall/backdoor table\n"
	"                           before the rest is counted as other (default 20)\n"
	"  --collect LIST           what to collect besides the hardware exit counts:\n"
	"                           all (default), none, or some of latency (handling\n"
	"                           time), vmm (userspace exits, time in the VMM),\n"
	"                           detail, backdoor; each costs BPF time on every\n"
	"                           exit it concerns (where kvm_exit does not fire,\n"
	"                           userspace exits are the counts and always kept)\n"
	"  --ioctls on|off          count every KVM ioctl and follow VM launches (default\n"
	"                           on; costs BPF time on each, KVM_RUN included)\n"
	"  --log-level LEVEL        debug, info, notice, warning or err (default info)\n"
	"  --tick-ms MS             how often kernel state is read (default 1000)\n"
	"  --retain-max N           exited VMs kept at most, oldest dropped (default 1000)\n"
	"  --max-vms N, --max-threads N, --max-keys N\n"
	"                           BPF map sizes: VMs; vCPU threads counted in slots\n"
	"                           of their own (about 7.5 KiB each; more threads are\n"
	"                           counted in the hash maps, slower; 0: none); keys per\n"
	"                           counting map (defaults 4096, 1024, 16384)\n"
	"  --max-keys-per-vm N      keys one VM may hold in each counting map, so one\n"
	"                           VM cannot fill it for all (default 2048)\n"
	"  --pin-dir PATH|none      pin maps and links here so counting survives a\n"
	"                           crash or restart (default " KVMSCOPE_DEFAULT_PIN_DIR ")\n"
	"  --keep-pinned            keep counting after a clean stop too (for restarts)\n"
	"  --cleanup                remove the pinned state of --pin-dir and exit\n"
	"  --patch-dir PATH         livepatch modules that livepatch.load may name; it\n"
	"                           and they must be root's, not writable by others\n"
	"                           (default " KVMSCOPE_DEFAULT_PATCH_DIR ")\n"
	"  --patch-autoload         load every *.ko of --patch-dir at start, in name\n"
	"                           order, one transition at a time (kpatch load --all)\n"
	"  --patch-stall SECONDS    a livepatch transition in progress this long is\n"
	"                           reported as stalled, with its tasks (default 10)\n"
	"  --kmod auto|on|off       the helper module kvmscope.ko: auto loads it when\n"
	"                           something asks for what only it does (the\n"
	"                           consistency canary); on loads it at start and\n"
	"                           fails if it cannot; off never (default auto)\n"
	"  --driver auto|bpf|kmod   who counts exits at kvm_exit, kvm_entry,\n"
	"                           kvm_userspace_exit and kvm_pio: BPF, or\n"
	"                           kvmscope.ko (where BPF cannot run or attach);\n"
	"                           auto uses the module only for what BPF cannot\n"
	"                           attach; kmod fails the start without the module\n"
	"                           (default auto)\n"
	"  --kmod-path FILE         the module to load (default: kvmscope.ko of this\n"
	"                           kernel under /lib/modules/RELEASE/updates/dkms or\n"
	"                           extra); it and its directory must be root's\n"
	"  --config FILE            read FILE and FILE.d/ *.conf instead of\n"
	"                           /etc/kvmscope/kvmscoped.conf (see kvmscoped.conf(5));\n"
	"                           the command line wins over the file\n"
	"  --no-config              read no configuration file\n"
	"  --print-config           show every key's effective value and where it came\n"
	"                           from, then exit\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n";

void daemon_options_init(struct daemon_options *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->socket_path, sizeof(o->socket_path), "%s", KVMSCOPE_DEFAULT_SOCKET);
	snprintf(o->group, sizeof(o->group), "%s", KVMSCOPE_DEFAULT_GROUP);
	o->client_timeout_sec = KVMSCOPE_DEFAULT_CLIENT_TIMEOUT;
	o->metrics_enabled = true;
	parse_listen_address(KVMSCOPE_DEFAULT_METRICS, o->metrics_host, sizeof(o->metrics_host),
			     &o->metrics_port);
	o->retain_exited_sec = KVMSCOPE_DEFAULT_RETAIN_EXITED;
	o->latency_labels = LATENCY_LABELS_VM;
	o->ioctls = true;
	o->detail_top = KVMSCOPE_DEFAULT_DETAIL_TOP;
	o->collect = COLLECT_ALL;
	o->log_level = LOG_INFO;
	snprintf(o->pin_dir, sizeof(o->pin_dir), "%s", KVMSCOPE_DEFAULT_PIN_DIR);
	snprintf(o->patch_dir, sizeof(o->patch_dir), "%s", KVMSCOPE_DEFAULT_PATCH_DIR);
	o->patch_stall_sec = 10;
	o->tick_ms = KVMSCOPE_DEFAULT_TICK_MS;
	o->retain_exited_max = KVMSCOPE_DEFAULT_RETAIN_MAX;
	o->max_vms = KVMSCOPE_DEFAULT_MAX_VMS;
	o->max_threads = KVMSCOPE_DEFAULT_MAX_THREADS;
	o->max_keys = KVMSCOPE_DEFAULT_MAX_KEYS;
	o->max_keys_per_vm = KVMSCOPE_DEFAULT_MAX_KEYS_PER_VM;
}

/* A decimal number from @min to @max for option @name, or -EINVAL naming it ("is not @what"). */
static int parse_uint_option(const char *name, const char *what, const char *s, unsigned long min,
			     unsigned long max, unsigned int *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || s[0] < '0' || s[0] > '9' || *end || v < min || v > max) {
		snprintf(err, errlen, "--%s: '%s' is not %s from %lu to %lu", name, s, what, min, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

int parse_listen_address(const char *s, char *host, size_t host_len, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hlen;
	char buf[64];
	unsigned char addr[16];
	char *end;
	unsigned long p;
	int family = AF_INET;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(buf) || hlen >= host_len)
		return -EINVAL;
	memcpy(buf, h, hlen);
	buf[hlen] = '\0';
	if (inet_pton(family, buf, addr) != 1)
		return -EINVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p > 65535)
		return -EINVAL;
	memcpy(host, buf, hlen + 1);
	*port = (uint16_t)p;
	return 0;
}

int parse_log_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO },	{ "notice", LOG_NOTICE },
		{ "warning", LOG_WARNING }, { "err", LOG_ERR }, { "error", LOG_ERR },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(s, levels[i].name))
			return levels[i].level;
	return -EINVAL;
}

static const struct {
	const char *name;
	unsigned int view;
} collect_views[] = {
	{ "latency", COLLECT_LATENCY },
	{ "detail", COLLECT_DETAIL },
	{ "backdoor", COLLECT_BACKDOOR },
	{ "vmm", COLLECT_VMM },
};

const char *collect_name(unsigned int view)
{
	for (size_t i = 0; i < sizeof(collect_views) / sizeof(collect_views[0]); i++)
		if (collect_views[i].view == view)
			return collect_views[i].name;
	return NULL;
}

int parse_collect(const char *s, unsigned int *views, char *err, size_t errlen)
{
	unsigned int v = 0;
	const char *p = s;

	if (!strcmp(s, "all")) {
		*views = COLLECT_ALL;
		return 0;
	}
	if (!strcmp(s, "none")) {
		*views = 0;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		bool found = false;

		for (size_t i = 0; i < sizeof(collect_views) / sizeof(collect_views[0]); i++)
			if (len == strlen(collect_views[i].name) &&
			    !strncmp(p, collect_views[i].name, len)) {
				v |= collect_views[i].view;
				found = true;
			}
		if (!found) {
			snprintf(err, errlen,
				 "--collect: '%.*s' is not one of latency, vmm, detail, backdoor (or all, none)",
				 (int)(len > 40 ? 40 : len), p);
			return -EINVAL;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	*views = v;
	return 0;
}

int daemon_options_parse(struct daemon_options *o, int argc, char **argv, char *err, size_t errlen)
{
	enum { OPT_SOCKET = 256, OPT_METRICS, OPT_RETAIN, OPT_LOG_LEVEL, OPT_LATENCY_LABELS,
	       OPT_DETAIL_TOP, OPT_COLLECT, OPT_PIN_DIR, OPT_KEEP_PINNED, OPT_CLEANUP, OPT_TICK_MS,
	       OPT_RETAIN_MAX, OPT_MAX_VMS, OPT_MAX_THREADS, OPT_MAX_KEYS, OPT_GROUP, OPT_CLIENT_TIMEOUT,
	       OPT_MAX_KEYS_PER_VM, OPT_IOCTLS, OPT_PATCH_DIR, OPT_PATCH_AUTOLOAD, OPT_PATCH_STALL,
	       OPT_KMOD, OPT_KMOD_PATH, OPT_DRIVER, OPT_CONFIG, OPT_NO_CONFIG, OPT_PRINT_CONFIG };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "retain-exited", required_argument, NULL, OPT_RETAIN },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "latency-labels", required_argument, NULL, OPT_LATENCY_LABELS },
		{ "detail-top", required_argument, NULL, OPT_DETAIL_TOP },
		{ "collect", required_argument, NULL, OPT_COLLECT },
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ "keep-pinned", no_argument, NULL, OPT_KEEP_PINNED },
		{ "cleanup", no_argument, NULL, OPT_CLEANUP },
		{ "tick-ms", required_argument, NULL, OPT_TICK_MS },
		{ "retain-max", required_argument, NULL, OPT_RETAIN_MAX },
		{ "max-vms", required_argument, NULL, OPT_MAX_VMS },
		{ "max-threads", required_argument, NULL, OPT_MAX_THREADS },
		{ "max-keys", required_argument, NULL, OPT_MAX_KEYS },
		{ "max-keys-per-vm", required_argument, NULL, OPT_MAX_KEYS_PER_VM },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "client-timeout", required_argument, NULL, OPT_CLIENT_TIMEOUT },
		{ "ioctls", required_argument, NULL, OPT_IOCTLS },
		{ "patch-dir", required_argument, NULL, OPT_PATCH_DIR },
		{ "patch-autoload", no_argument, NULL, OPT_PATCH_AUTOLOAD },
		{ "patch-stall", required_argument, NULL, OPT_PATCH_STALL },
		{ "kmod", required_argument, NULL, OPT_KMOD },
		{ "kmod-path", required_argument, NULL, OPT_KMOD_PATH },
		{ "driver", required_argument, NULL, OPT_DRIVER },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "no-config", no_argument, NULL, OPT_NO_CONFIG },
		{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;

	optind = 0;	/* glibc: full re-initialisation, so tests can parse twice */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			if (!optarg[0] || strlen(optarg) >= sizeof(o->socket_path)) {
				snprintf(err, errlen, "--socket: path must be 1 to %zu bytes long",
					 sizeof(o->socket_path) - 1);
				return -EINVAL;
			}
			snprintf(o->socket_path, sizeof(o->socket_path), "%s", optarg);
			break;
		case OPT_METRICS:
			if (!strcmp(optarg, "off")) {
				o->metrics_enabled = false;
				break;
			}
			if (parse_listen_address(optarg, o->metrics_host, sizeof(o->metrics_host),
						 &o->metrics_port) < 0) {
				snprintf(err, errlen,
					 "--metrics: '%s' is not ADDR:PORT (e.g. 127.0.0.1:9753, [::1]:9753) or 'off'",
					 optarg);
				return -EINVAL;
			}
			o->metrics_enabled = true;
			break;
		case OPT_RETAIN: {
			unsigned int v;

			if (parse_uint_option("retain-exited", "a number of seconds", optarg, 0, 31536000,
					      &v, err, errlen) < 0)
				return -EINVAL;
			o->retain_exited_sec = v;
			break;
		}
		case OPT_LOG_LEVEL: {
			int l = parse_log_level(optarg);

			if (l < 0) {
				snprintf(err, errlen,
					 "--log-level: '%s' is not one of debug, info, notice, warning, err",
					 optarg);
				return -EINVAL;
			}
			o->log_level = l;
			break;
		}
		case OPT_IOCTLS:
			if (!strcmp(optarg, "on")) {
				o->ioctls = true;
			} else if (!strcmp(optarg, "off")) {
				o->ioctls = false;
			} else {
				snprintf(err, errlen, "--ioctls: '%s' is not 'on' or 'off'", optarg);
				return -EINVAL;
			}
			break;
		case OPT_LATENCY_LABELS:
			if (!strcmp(optarg, "vm")) {
				o->latency_labels = LATENCY_LABELS_VM;
			} else if (!strcmp(optarg, "vcpu")) {
				o->latency_labels = LATENCY_LABELS_VCPU;
			} else {
				snprintf(err, errlen, "--latency-labels: '%s' is not 'vm' or 'vcpu'", optarg);
				return -EINVAL;
			}
			break;
		case OPT_DETAIL_TOP:
			if (parse_uint_option("detail-top", "a number", optarg, 1, 10000, &o->detail_top,
					      err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_GROUP:
			/* A name, not a number: it is looked up, and shown in refusals. */
			if (!optarg[0] || strlen(optarg) >= sizeof(o->group) ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_.-") != strlen(optarg) || optarg[0] == '-') {
				snprintf(err, errlen,
					 "--group: '%.64s' is not a group name (letters, digits, _ . -; at most %zu bytes)",
					 optarg, sizeof(o->group) - 1);
				return -EINVAL;
			}
			snprintf(o->group, sizeof(o->group), "%s", optarg);
			break;
		case OPT_CLIENT_TIMEOUT:
			if (parse_uint_option("client-timeout", "a number of seconds", optarg, 1, 86400,
					      &o->client_timeout_sec, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_COLLECT:
			if (parse_collect(optarg, &o->collect, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_PIN_DIR:
			if (!strcmp(optarg, "none")) {
				o->pin_dir[0] = '\0';
				break;
			}
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(o->pin_dir) ||
			    strstr(optarg, "/../") || strstr(optarg, "//")) {
				snprintf(err, errlen,
					 "--pin-dir: '%s' is not an absolute path (under /sys/fs/bpf) of at most %zu bytes, or 'none'",
					 optarg, sizeof(o->pin_dir) - 1);
				return -EINVAL;
			}
			snprintf(o->pin_dir, sizeof(o->pin_dir), "%s", optarg);
			break;
		case OPT_PATCH_DIR:
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(o->patch_dir) ||
			    strstr(optarg, "/../") || strstr(optarg, "//") || !strcmp(optarg, "/")) {
				snprintf(err, errlen,
					 "--patch-dir: '%s' is not an absolute directory path of at most %zu bytes",
					 optarg, sizeof(o->patch_dir) - 1);
				return -EINVAL;
			}
			snprintf(o->patch_dir, sizeof(o->patch_dir), "%s", optarg);
			break;
		case OPT_PATCH_AUTOLOAD:
			o->patch_autoload = true;
			break;
		case OPT_PATCH_STALL:
			if (parse_uint_option("patch-stall", "a number of seconds", optarg, 1, 86400,
					      &o->patch_stall_sec, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_KMOD:
			if (!strcmp(optarg, "auto"))
				o->kmod = KMOD_AUTO;
			else if (!strcmp(optarg, "on"))
				o->kmod = KMOD_ON;
			else if (!strcmp(optarg, "off"))
				o->kmod = KMOD_OFF;
			else {
				snprintf(err, errlen, "--kmod: '%s' is not auto, on or off", optarg);
				return -EINVAL;
			}
			break;
		case OPT_DRIVER:
			if (!strcmp(optarg, "auto")) {
				o->driver = DRIVER_AUTO;
			} else if (!strcmp(optarg, "bpf")) {
				o->driver = DRIVER_BPF;
			} else if (!strcmp(optarg, "kmod")) {
				o->driver = DRIVER_KMOD;
			} else {
				snprintf(err, errlen, "--driver: '%s' is not auto, bpf or kmod", optarg);
				return -EINVAL;
			}
			break;
		case OPT_KMOD_PATH:
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(o->kmod_path) ||
			    strstr(optarg, "/../") || strstr(optarg, "//") ||
			    optarg[strlen(optarg) - 1] == '/') {
				snprintf(err, errlen,
					 "--kmod-path: '%s' is not an absolute file path of at most %zu bytes",
					 optarg, sizeof(o->kmod_path) - 1);
				return -EINVAL;
			}
			snprintf(o->kmod_path, sizeof(o->kmod_path), "%s", optarg);
			break;
		case OPT_CONFIG:
			if (!optarg[0] || strlen(optarg) >= sizeof(o->config_path)) {
				snprintf(err, errlen, "--config: path must be 1 to %zu bytes long",
					 sizeof(o->config_path) - 1);
				return -EINVAL;
			}
			snprintf(o->config_path, sizeof(o->config_path), "%s", optarg);
			break;
		case OPT_NO_CONFIG:
			o->no_config = true;
			break;
		case OPT_PRINT_CONFIG:
			o->print_config = true;
			break;
		case OPT_KEEP_PINNED:
			o->keep_pinned = true;
			break;
		case OPT_CLEANUP:
			o->cleanup = true;
			break;
		case OPT_TICK_MS:
			if (parse_uint_option("tick-ms", "a number", optarg, 50, 60000, &o->tick_ms, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_RETAIN_MAX:
			if (parse_uint_option("retain-max", "a number", optarg, 0, 1000000, &o->retain_exited_max, err,
					      errlen) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_VMS:
			if (parse_uint_option("max-vms", "a number", optarg, 16, 1u << 20, &o->max_vms, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_THREADS:
			if (parse_uint_option("max-threads", "a number", optarg, 0, 1u << 16, &o->max_threads, err,
					      errlen) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_KEYS:
			if (parse_uint_option("max-keys", "a number", optarg, 64, 1u << 24, &o->max_keys, err,
					      errlen) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_KEYS_PER_VM:
			if (parse_uint_option("max-keys-per-vm", "a number", optarg, 1, 1u << 24, &o->max_keys_per_vm,
					      err, errlen) < 0)
				return -EINVAL;
			break;
		case 'h':
			o->help = true;
			break;
		case 'V':
			o->version = true;
			break;
		case ':':
			snprintf(err, errlen, "option '%s' needs an argument", argv[optind - 1]);
			return -EINVAL;
		default: {
			/*
			 * Name the word that holds the bad option: getopt has not moved
			 * past it yet when the bad letter opens a group such as -xV.
			 */
			const char *word = argv[optind - 1];

			if (optind < argc && optopt > 0 && optopt < 256 && argv[optind][0] == '-' &&
			    argv[optind][1] != '-' && strchr(argv[optind], optopt))
				word = argv[optind];
			if (!strncmp(word, "--", 2) && strchr(word, '=') && optopt > 0)
				snprintf(err, errlen, "option '%s': this option takes no value", word);
			else if (!strncmp(word, "--", 2) || optopt <= 0 || optopt >= 256)
				snprintf(err, errlen, "unknown option '%s'", word);
			else if (strlen(word) == 2)
				snprintf(err, errlen, "unknown option '-%c'", optopt);
			else
				snprintf(err, errlen, "unknown option '-%c' in '%s'", optopt, word);
			return -EINVAL;
		}
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
