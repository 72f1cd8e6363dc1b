// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope-guest - the kvmscope test guest.
 *
 * A minimal KVM VMM: it runs a hand-assembled real-mode x86 guest on one
 * thread per vCPU, makes exactly the requested mix of userspace exits
 * (port I/O, HLT, MMIO), checks that each vCPU saw exactly those exits and
 * prints what it did as one JSON object on stdout.  The integration tests
 * compare these numbers with what the kvmscope daemon counted.
 *
 * Every ioctl on /dev/kvm, the VM and the vCPUs goes through kvm_ioctl(),
 * which tallies it by fd, vCPU, request and result: the JSON's "ioctls" is
 * the exact list of ioctls this process made on KVM.  Options make extra
 * ioctls that fail on a host without confidential computing (SEV), so that
 * failed calls are counted too.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define PROG		"kvmscope-guest"

/* Guest RAM is [0, RAM_SIZE); everything in [MMIO_MIN, MMIO_MAX] is unbacked. */
#define RAM_SIZE	0x80000UL
#define MMIO_MIN	0x80000UL
#define MMIO_MAX	0xfffffUL
/* Per-vCPU code blocks start here; page 0 (real-mode IVT) stays unused. */
#define CODE_START	0x1000UL
/* Protected mode for --vmware-backdoor-gp: GDT, and ring-0 stacks below it. */
#define GDT_GPA		0x800
#define RING0_STACK_TOP	0x7f0
/* Real-mode IP is 16 bits, so one vCPU's code must fit one segment. */
#define MAX_CODE	0x10000UL
/*
 * Unused RAM is filled with 0xe4, which decodes as "in al, 0xe4" from any
 * offset: a guest that runs off its code makes an unexpected port exit
 * instead of silently doing something else.
 */
#define STRAY_FILL	0xe4
/* Where KVM may put its real-mode TSS (VMX without unrestricted guest). */
#define TSS_ADDR	0xfffbd000UL

#define DONE_PORT	0xf4
#define BDOOR_PORT	0x5658
#define BDOOR_PORT_HB	0x5659
#define BDOOR_MAGIC	0x564d5868U

#define MAX_VCPUS	64
#define MAX_OPS		1024
#define MAX_KEYS	(MAX_OPS + 1)

/*
 * Distinct (fd, vCPU, request, result) ioctl keys: the main thread's table,
 * into which the vCPU threads' own tables are merged at the end (64 vCPUs
 * make ~5 keys each), and each vCPU thread's table (KVM_RUN's results and
 * the register ioctls of --seconds).  Calls beyond them are "untallied".
 */
#define IOCTL_KEYS	1024
#define VCPU_IOCTL_KEYS	32
/* --encrypt-op, --try-vm-type, --check-cap, --bad-ioctl options */
#define MAX_EXTRAS	256
/* distinct (ID, result, error) of --encrypt-op calls */
#define MAX_ENC_RESULTS	256
#define BAD_IOCTL_BUF	4096

#ifndef KVM_MEMORY_ENCRYPT_OP
#define KVM_MEMORY_ENCRYPT_OP	_IOWR(KVMIO, 0xba, unsigned long)
#endif

/* struct kvm_sev_cmd, spelled out: older headers have no pad0 */
struct sev_cmd {
	uint32_t id;
	uint32_t pad0;
	uint64_t data;
	uint32_t error;
	uint32_t sev_fd;
};
_Static_assert(sizeof(struct sev_cmd) == 24, "struct kvm_sev_cmd is 24 bytes");

enum op_kind {
	OP_OUT,
	OP_IN,
	OP_HLT,
	OP_MMIO_READ,
	OP_MMIO_WRITE,
	OP_BDOOR,
	OP_CPUID,
	OP_RDMSR,
	OP_HYPERCALL,
	OP_BDOOR_GP,
};

/* One command-line operation, in command-line order. */
struct op {
	enum op_kind kind;
	uint32_t addr;		/* port or guest-physical address */
	uint32_t size;		/* port access size in bytes */
	uint32_t cmd;		/* VMware backdoor command (ECX), CPUID leaf, MSR, hypercall nr */
	uint64_t count;		/* total over all vCPUs */
	int key;		/* index into keys[], -1 for HLT */
};

enum key_type {
	KEY_PIO,
	KEY_MMIO,
};

/* A distinct kind of exit that is counted separately. */
struct exit_key {
	enum key_type type;
	uint8_t dir;		/* KVM_EXIT_IO_IN/OUT, or mmio is_write */
	uint8_t size;		/* port access size, 1 for MMIO */
	uint32_t addr;		/* port or guest-physical address */
};

enum fd_kind {
	FD_SYSTEM,		/* /dev/kvm */
	FD_VM,
	FD_VCPU,
};

static const char *const fd_kind_names[] = { "system", "vm", "vcpu" };

/* What one ioctl is counted by. */
struct ioctl_key {
	enum fd_kind kind;
	int vcpu;		/* vCPU fds; -1 for the others */
	uint32_t cmd;		/* request number */
	int result;		/* 0 for ret >= 0, else -errno */
};

struct ioctl_count {
	struct ioctl_key key;
	uint64_t count;
};

/* One thread's ioctls: only that thread writes it. */
struct ioctl_tally {
	struct ioctl_count *c;
	int nr;
	int max;
	int last;		/* lookup cache: KVM_RUNs come in runs */
	uint64_t untallied;	/* calls made with the table full */
};

/* --encrypt-op, --try-vm-type, --check-cap, --bad-ioctl */
enum extra_kind {
	EXTRA_ENCRYPT_OP,
	EXTRA_TRY_VM_TYPE,
	EXTRA_CHECK_CAP,
	EXTRA_BAD_IOCTL,
};

struct extra {
	enum extra_kind kind;
	uint32_t arg;		/* SEV command ID, VM type, capability, request */
	uint64_t count;
};

/* What the kernel wrote back into kvm_sev_cmd.error, per call kind. */
struct enc_result {
	uint32_t id;
	int result;		/* 0 or -errno */
	uint32_t error;
	uint64_t count;
};

struct guest;

struct vcpu {
	struct guest *g;
	int id;
	int fd;
	struct kvm_run *run;
	uint64_t code_gpa;
	pthread_t thread;
	pid_t tid;

	uint64_t *expect;	/* per key, what this vCPU must see */
	uint64_t *lap_expect;	/* per key, what one run of its code makes */
	uint64_t hlt_lap;
	uint64_t laps;		/* runs of its code beyond the first (--seconds) */
	struct kvm_regs init_regs;	/* where a new lap starts */
	struct kvm_sregs init_sregs;
	uint64_t *seen;		/* per key, what it did see */
	uint64_t hlt_expect;
	uint64_t hlt_seen;
	uint64_t io;
	uint64_t mmio;
	uint64_t intr;
	uint64_t kick_expect;	/* KVM_RUNs with immediate_exit to make */
	uint64_t kicks;		/* ... made, each returned -1/EINTR */
	int last_key;		/* lookup cache: exits come in runs */

	struct timespec t_start;
	struct timespec t_end;
	int err;

	/* the ioctls of this vCPU's thread (not those main made on its fd) */
	struct ioctl_tally ioctls;
	struct ioctl_count ioctl_slots[VCPU_IOCTL_KEYS];
};

struct guest {
	/* configuration */
	int nr_vcpus;
	struct op ops[MAX_OPS];
	int nr_ops;
	bool gp_mode;		/* ends in ring 3: --vmware-backdoor-gp */
	uint64_t start_delay_ms;
	uint64_t linger_ms;
	uint64_t get_regs;	/* --get-regs: KVM_GET_REGS calls on vCPU 0 before the run */
	uint64_t get_regs_ns;	/* how long they took, all of them */
	uint64_t immediate_exits;	/* --immediate-exit N */
	uint64_t run_seconds;	/* --seconds: repeat the operations this long */
	struct timespec run_until;
	uint64_t lap_pause_ms;	/* --lap-pause: a vCPU's rest between two runs */
	/* --exec-after: the program this process becomes at the end, and its arguments */
	const char *exec_path;
	char **exec_args;
	int nr_exec_args;

	struct exit_key keys[MAX_KEYS];
	int nr_keys;
	int done_key;

	struct extra extras[MAX_EXTRAS];
	int nr_extras;
	struct enc_result enc_results[MAX_ENC_RESULTS];
	int nr_enc_results;
	uint64_t enc_untallied;

	/* the main thread's ioctls; at the end, everyone's */
	struct ioctl_tally ioctls;
	struct ioctl_count ioctl_slots[IOCTL_KEYS];

	/* KVM state */
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	uint8_t *ram;
	struct vcpu vcpus[MAX_VCPUS];

	pthread_barrier_t start_barrier;
	pthread_barrier_t done_barrier;
	pthread_barrier_t release_barrier;
};

static const char *const exit_names[] = {
	"UNKNOWN", "EXCEPTION", "IO", "HYPERCALL", "DEBUG", "HLT", "MMIO",
	"IRQ_WINDOW_OPEN", "SHUTDOWN", "FAIL_ENTRY", "INTR", "SET_TPR",
	"TPR_ACCESS", "S390_SIEIC", "S390_RESET", "DCR", "NMI",
	"INTERNAL_ERROR", "OSI", "PAPR_HCALL", "S390_UCONTROL", "WATCHDOG",
	"S390_TSCH", "EPR", "SYSTEM_EVENT", "S390_STSI", "IOAPIC_EOI",
	"HYPERV", "ARM_NISV", "X86_RDMSR", "X86_WRMSR", "DIRTY_RING_FULL",
	"AP_RESET_HOLD", "X86_BUS_LOCK", "XEN", "RISCV_SBI", "RISCV_CSR",
	"NOTIFY", "LOONGARCH_IOCSR", "MEMORY_FAULT", "TDX", "ARM_SEA",
	"ARM_LDST64B", "SNP_REQ_CERTS",
};

static const char *exit_name(uint32_t reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]))
		return exit_names[reason];
	return "?";
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"Run a real-mode KVM guest that makes an exact mix of exits and print\n"
		"what it did as JSON on stdout.  Each COUNT is split over the vCPUs\n"
		"(vCPU i gets COUNT/N, plus 1 if i < COUNT%%N); each vCPU runs the\n"
		"operations in command-line order, then does one 1-byte OUT to port\n"
		"0xf4 (the done port).  Numbers are decimal or 0x hex.\n"
		"\n"
		"  --vcpus N                   vCPUs, one thread each (1..64, default 1)\n"
		"  --out PORT:COUNT[:SIZE]     COUNT OUTs to PORT of SIZE 1, 2 or 4 bytes\n"
		"                              (default 1); repeatable\n"
		"  --in PORT:COUNT[:SIZE]      same for IN; repeatable\n"
		"  --hlt COUNT                 COUNT HLTs; repeatable\n"
		"  --mmio-read GPA:COUNT       COUNT 1-byte reads of GPA, which must be in\n"
		"                              [0x80000, 0xfffff]; repeatable\n"
		"  --mmio-write GPA:COUNT      same for writes; repeatable\n"
		"  --vmware-backdoor CMD:COUNT COUNT 4-byte INs from port 0x5658 with\n"
		"                              EAX=0x564d5868, ECX=CMD; repeatable\n"
		"  --vmware-backdoor-gp CMD:COUNT  the same from CPL 3 in protected mode, where\n"
		"                              the I/O bitmap forbids the port: each IN takes\n"
		"                              a #GP that KVM completes only with\n"
		"                              kvm.enable_vmware_backdoor=1; must come last;\n"
		"                              the vCPU then ends with OUT to 0x5659\n"
		"  --cpuid LEAF:COUNT          COUNT CPUIDs of LEAF (subleaf 0); handled in\n"
		"                              the kernel, no exit to this VMM; repeatable\n"
		"  --rdmsr INDEX:COUNT         COUNT RDMSRs of INDEX (pick one KVM emulates,\n"
		"                              e.g. 0x1b; a #GP kills the guest); repeatable\n"
		"  --hypercall NR:COUNT        COUNT VMMCALLs (AMD host) or VMCALLs with EAX=NR (use 1,\n"
		"                              KVM_HC_VAPIC_POLL_IRQ: a no-op); repeatable\n"
		"  -name ARG, --name ARG       ignored (QEMU-style guest name)\n"
		"  -uuid UUID                  ignored (QEMU-style guest UUID)\n"
		"  --immediate-exit N          after each of the first N exits (split over the\n"
		"                              vCPUs like COUNT, none after the done OUT),\n"
		"                              call KVM_RUN with immediate_exit set, as QEMU\n"
		"                              does to kick a vCPU: it must fail with EINTR;\n"
		"                              the JSON's \"immediate_exits\" counts them\n"
		"  --start-delay MS            wait MS ms before the first KVM_RUN\n"
		"  --linger MS                 wait MS ms after printing the JSON\n"
		"  --seconds N                 run the operations again and again for N\n"
		"                              seconds (each vCPU finishes its current run),\n"
		"                              for a guest that stays busy; the JSON counts\n"
		"                              every run\n"
		"  --lap-pause MS              with --seconds, each vCPU rests MS ms (in\n"
		"                              its thread, out of KVM_RUN) before each run\n"
		"                              after the first: a guest busy at a steady rate\n"
		"  --check-cap CAP:COUNT       COUNT KVM_CHECK_EXTENSION(CAP) on /dev/kvm;\n"
		"                              repeatable\n"
		"  --try-vm-type TYPE:COUNT    COUNT KVM_CREATE_VM(TYPE) on /dev/kvm, e.g. 2\n"
		"                              (KVM_X86_SEV_VM, fails without SEV); a VM that\n"
		"                              is created is closed at once; repeatable\n"
		"  --encrypt-op ID:COUNT       COUNT KVM_MEMORY_ENCRYPT_OP on the VM with\n"
		"                              struct kvm_sev_cmd {id ID, data 0, error 0,\n"
		"                              sev_fd -1} (fails on a VM without SEV); the\n"
		"                              JSON's \"encrypt_ops\" has what the kernel wrote\n"
		"                              into .error; repeatable\n"
		"  --bad-ioctl CMD:COUNT       COUNT ioctls of request CMD (its type byte,\n"
		"                              (CMD >> 8) & 0xff, must be 0xae) on the VM with\n"
		"                              a zeroed 4096-byte buffer as argument; meant to\n"
		"                              fail (ENOTTY), so pick an unused CMD; repeatable\n"
		"  --get-regs COUNT            COUNT KVM_GET_REGS on vCPU 0 once it is set\n"
		"                              up, before the run, timed: \"get_regs_ns\" in\n"
		"                              the JSON (what an ioctl costs, make bench)\n"
		"  --exec-after PATH           once the JSON is printed (and --linger is\n"
		"                              over), exec PATH in this process with the\n"
		"                              arguments after --, as a VMM that re-executes\n"
		"                              itself does: the VM goes with the old image\n"
		"                              (KVM's files are close-on-exec), the pid stays\n"
		"  --help                      show this help\n"
		"\n"
		"--check-cap, --try-vm-type, --encrypt-op and --bad-ioctl run on the main\n"
		"thread, in this order: after KVM_GET_VCPU_MMAP_SIZE every --check-cap, then\n"
		"every --try-vm-type, then the real KVM_CREATE_VM; once the VM's memory is\n"
		"set up and loaded, every --encrypt-op, then every --bad-ioctl, then\n"
		"KVM_CREATE_VCPU (each kind in command-line order, each option's COUNT calls\n"
		"in a row).  Their failures are counted, not errors.\n"
		"\n"
		"The JSON's \"ioctls\" counts every ioctl this program made on /dev/kvm, the\n"
		"VM and the vCPUs, by fd, vCPU, request and result (0, or -errno).\n");
}

/* Parse a decimal or 0x-hex number; no sign, no blanks. */
static int parse_num(const char *s, const char **endp, uint64_t max,
		     uint64_t *val)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)s[0]))
			return -EINVAL;
	} else if (!isdigit((unsigned char)s[0])) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*endp = end;
	*val = v;
	return 0;
}

/*
 * Parse "A:B[:C]" into vals[]; names[] and maxes[] describe each field.
 * Returns the number of fields or -EINVAL after printing why.
 */
static int parse_fields(const char *opt, const char *arg,
			const char *const names[], const uint64_t maxes[],
			int nr_required, int nr_max, uint64_t vals[])
{
	const char *p = arg;
	int i, ret;

	for (i = 0; i < nr_max; i++) {
		ret = parse_num(p, &p, maxes[i], &vals[i]);
		if (ret == -ERANGE) {
			fprintf(stderr, PROG ": --%s '%s': %s is out of range (max %#" PRIx64 ")\n",
				opt, arg, names[i], maxes[i]);
			return -EINVAL;
		}
		if (ret) {
			fprintf(stderr, PROG ": --%s '%s': %s is not a number (decimal or 0x hex)\n",
				opt, arg, names[i]);
			return -EINVAL;
		}
		if (*p == '\0')
			break;
		if (*p != ':' || i == nr_max - 1) {
			fprintf(stderr, PROG ": --%s '%s': unexpected '%s' after %s\n",
				opt, arg, p, names[i]);
			return -EINVAL;
		}
		p++;
	}
	if (i + 1 < nr_required) {
		fprintf(stderr, PROG ": --%s '%s': missing %s\n",
			opt, arg, names[i + 1]);
		return -EINVAL;
	}
	return i + 1;
}

static struct op *new_op(struct guest *g, const char *opt)
{
	if (g->nr_ops >= MAX_OPS) {
		fprintf(stderr, PROG ": --%s: too many operations (max %d)\n",
			opt, MAX_OPS);
		return NULL;
	}
	return &g->ops[g->nr_ops++];
}

static int parse_pio(struct guest *g, const char *opt, const char *arg,
		     enum op_kind kind)
{
	static const char *const names[] = { "PORT", "COUNT", "SIZE" };
	static const uint64_t maxes[] = { 0xffff, UINT32_MAX, 4 };
	uint64_t v[3] = { 0, 0, 1 };
	struct op *op;

	if (parse_fields(opt, arg, names, maxes, 2, 3, v) < 0)
		return -EINVAL;
	if (v[2] != 1 && v[2] != 2 && v[2] != 4) {
		fprintf(stderr, PROG ": --%s '%s': SIZE must be 1, 2 or 4\n",
			opt, arg);
		return -EINVAL;
	}
	op = new_op(g, opt);
	if (!op)
		return -EINVAL;
	*op = (struct op){ .kind = kind, .addr = v[0], .count = v[1],
			   .size = v[2] };
	return 0;
}

static int parse_mmio(struct guest *g, const char *opt, const char *arg,
		      enum op_kind kind)
{
	static const char *const names[] = { "GPA", "COUNT" };
	static const uint64_t maxes[] = { UINT32_MAX, UINT32_MAX };
	uint64_t v[2];
	struct op *op;

	if (parse_fields(opt, arg, names, maxes, 2, 2, v) < 0)
		return -EINVAL;
	if (v[0] < MMIO_MIN || v[0] > MMIO_MAX) {
		fprintf(stderr, PROG ": --%s '%s': GPA must be an unbacked address in [%#lx, %#lx]\n",
			opt, arg, MMIO_MIN, MMIO_MAX);
		return -EINVAL;
	}
	op = new_op(g, opt);
	if (!op)
		return -EINVAL;
	*op = (struct op){ .kind = kind, .addr = v[0], .count = v[1],
			   .size = 1 };
	return 0;
}

static int parse_hlt(struct guest *g, const char *arg)
{
	static const char *const names[] = { "COUNT" };
	static const uint64_t maxes[] = { UINT32_MAX };
	uint64_t v[1];
	struct op *op;

	if (parse_fields("hlt", arg, names, maxes, 1, 1, v) < 0)
		return -EINVAL;
	op = new_op(g, "hlt");
	if (!op)
		return -EINVAL;
	*op = (struct op){ .kind = OP_HLT, .count = v[0] };
	return 0;
}

static int parse_bdoor_gp(struct guest *g, const char *arg)
{
	static const char *const names[] = { "CMD", "COUNT" };
	static const uint64_t maxes[] = { UINT32_MAX, UINT32_MAX };
	uint64_t v[2];
	struct op *op;

	if (parse_fields("vmware-backdoor-gp", arg, names, maxes, 2, 2, v) < 0)
		return -EINVAL;
	op = new_op(g, "vmware-backdoor-gp");
	if (!op)
		return -EINVAL;
	*op = (struct op){ .kind = OP_BDOOR_GP, .addr = BDOOR_PORT, .size = 4,
			   .cmd = v[0], .count = v[1] };
	g->gp_mode = true;
	return 0;
}

static int parse_bdoor(struct guest *g, const char *arg)
{
	static const char *const names[] = { "CMD", "COUNT" };
	static const uint64_t maxes[] = { UINT32_MAX, UINT32_MAX };
	uint64_t v[2];
	struct op *op;

	if (parse_fields("vmware-backdoor", arg, names, maxes, 2, 2, v) < 0)
		return -EINVAL;
	op = new_op(g, "vmware-backdoor");
	if (!op)
		return -EINVAL;
	*op = (struct op){ .kind = OP_BDOOR, .addr = BDOOR_PORT, .size = 4,
			   .cmd = v[0], .count = v[1] };
	return 0;
}

/* --cpuid, --rdmsr, --hypercall: VALUE:COUNT, done in the kernel. */
static int parse_in_kernel(struct guest *g, const char *opt, const char *arg, enum op_kind kind)
{
	static const char *const names[] = { "VALUE", "COUNT" };
	static const uint64_t maxes[] = { UINT32_MAX, UINT32_MAX };
	uint64_t v[2];
	struct op *op;

	if (parse_fields(opt, arg, names, maxes, 2, 2, v) < 0)
		return -EINVAL;
	op = new_op(g, opt);
	if (!op)
		return -EINVAL;
	*op = (struct op){ .kind = kind, .cmd = v[0], .count = v[1], .key = -1 };
	return 0;
}

/* --encrypt-op, --try-vm-type, --check-cap, --bad-ioctl: ARG:COUNT */
static int parse_extra(struct guest *g, const char *opt, const char *arg,
		       enum extra_kind kind, const char *arg_name)
{
	const char *const names[] = { arg_name, "COUNT" };
	static const uint64_t maxes[] = { UINT32_MAX, UINT32_MAX };
	uint64_t v[2];

	if (parse_fields(opt, arg, names, maxes, 2, 2, v) < 0)
		return -EINVAL;
	if (kind == EXTRA_BAD_IOCTL && ((v[0] >> 8) & 0xff) != KVMIO) {
		fprintf(stderr, PROG ": --%s '%s': CMD must be a KVM request, with type byte 0xae ((CMD >> 8) & 0xff), not %#x\n",
			opt, arg, (unsigned int)((v[0] >> 8) & 0xff));
		return -EINVAL;
	}
	if (g->nr_extras >= MAX_EXTRAS) {
		fprintf(stderr, PROG ": --%s: too many --encrypt-op, --try-vm-type, --check-cap and --bad-ioctl (max %d)\n",
			opt, MAX_EXTRAS);
		return -EINVAL;
	}
	g->extras[g->nr_extras++] = (struct extra){ .kind = kind,
						    .arg = v[0],
						    .count = v[1] };
	return 0;
}

static int parse_single(const char *opt, const char *arg, uint64_t min,
			uint64_t max, uint64_t *val)
{
	const char *end;
	int ret;

	ret = parse_num(arg, &end, max, val);
	if (!ret && *end != '\0')
		ret = -EINVAL;
	if (!ret && *val < min)
		ret = -ERANGE;
	if (ret == -ERANGE) {
		fprintf(stderr, PROG ": --%s '%s': must be in %" PRIu64 "..%" PRIu64 "\n",
			opt, arg, min, max);
		return -EINVAL;
	}
	if (ret) {
		fprintf(stderr, PROG ": --%s '%s': not a number (decimal or 0x hex)\n",
			opt, arg);
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_VCPUS = 256,
	OPT_OUT,
	OPT_IN,
	OPT_HLT,
	OPT_MMIO_READ,
	OPT_MMIO_WRITE,
	OPT_BDOOR,
	OPT_BDOOR_GP,
	OPT_CPUID,
	OPT_RDMSR,
	OPT_HYPERCALL,
	OPT_NAME,
	OPT_LINGER,
	OPT_START_DELAY,
	OPT_IMMEDIATE_EXIT,
	OPT_SECONDS,
	OPT_ENCRYPT_OP,
	OPT_TRY_VM_TYPE,
	OPT_CHECK_CAP,
	OPT_BAD_IOCTL,
	OPT_GET_REGS,
	OPT_EXEC_AFTER,
	OPT_LAP_PAUSE,
};

/*
 * getopt_long_only() so that QEMU's single-dash "-name" works; the only
 * short option is -h.  Returns 0, 1 for --help, or -EINVAL.
 */
static int parse_args(struct guest *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "in", required_argument, NULL, OPT_IN },
		{ "hlt", required_argument, NULL, OPT_HLT },
		{ "mmio-read", required_argument, NULL, OPT_MMIO_READ },
		{ "mmio-write", required_argument, NULL, OPT_MMIO_WRITE },
		{ "vmware-backdoor", required_argument, NULL, OPT_BDOOR },
		{ "vmware-backdoor-gp", required_argument, NULL, OPT_BDOOR_GP },
		{ "cpuid", required_argument, NULL, OPT_CPUID },
		{ "rdmsr", required_argument, NULL, OPT_RDMSR },
		{ "hypercall", required_argument, NULL, OPT_HYPERCALL },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "uuid", required_argument, NULL, OPT_NAME },
		{ "linger", required_argument, NULL, OPT_LINGER },
		{ "start-delay", required_argument, NULL, OPT_START_DELAY },
		{ "immediate-exit", required_argument, NULL, OPT_IMMEDIATE_EXIT },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "encrypt-op", required_argument, NULL, OPT_ENCRYPT_OP },
		{ "try-vm-type", required_argument, NULL, OPT_TRY_VM_TYPE },
		{ "check-cap", required_argument, NULL, OPT_CHECK_CAP },
		{ "bad-ioctl", required_argument, NULL, OPT_BAD_IOCTL },
		{ "get-regs", required_argument, NULL, OPT_GET_REGS },
		{ "exec-after", required_argument, NULL, OPT_EXEC_AFTER },
		{ "lap-pause", required_argument, NULL, OPT_LAP_PAUSE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c, ret;

	g->nr_vcpus = 1;
	while ((c = getopt_long_only(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VCPUS:
			ret = parse_single("vcpus", optarg, 1, MAX_VCPUS, &v);
			g->nr_vcpus = v;
			break;
		case OPT_OUT:
			ret = parse_pio(g, "out", optarg, OP_OUT);
			break;
		case OPT_IN:
			ret = parse_pio(g, "in", optarg, OP_IN);
			break;
		case OPT_HLT:
			ret = parse_hlt(g, optarg);
			break;
		case OPT_MMIO_READ:
			ret = parse_mmio(g, "mmio-read", optarg, OP_MMIO_READ);
			break;
		case OPT_MMIO_WRITE:
			ret = parse_mmio(g, "mmio-write", optarg, OP_MMIO_WRITE);
			break;
		case OPT_BDOOR:
			ret = parse_bdoor(g, optarg);
			break;
		case OPT_BDOOR_GP:
			ret = parse_bdoor_gp(g, optarg);
			break;
		case OPT_CPUID:
			ret = parse_in_kernel(g, "cpuid", optarg, OP_CPUID);
			break;
		case OPT_RDMSR:
			ret = parse_in_kernel(g, "rdmsr", optarg, OP_RDMSR);
			break;
		case OPT_HYPERCALL:
			ret = parse_in_kernel(g, "hypercall", optarg, OP_HYPERCALL);
			break;
		case OPT_NAME:
			ret = 0;
			break;
		case OPT_LINGER:
			ret = parse_single("linger", optarg, 0, UINT32_MAX,
					   &g->linger_ms);
			break;
		case OPT_START_DELAY:
			ret = parse_single("start-delay", optarg, 0, UINT32_MAX,
					   &g->start_delay_ms);
			break;
		case OPT_IMMEDIATE_EXIT:
			ret = parse_single("immediate-exit", optarg, 0, UINT32_MAX,
					   &g->immediate_exits);
			break;
		case OPT_SECONDS:
			ret = parse_single("seconds", optarg, 1, 86400, &g->run_seconds);
			break;
		case OPT_ENCRYPT_OP:
			ret = parse_extra(g, "encrypt-op", optarg,
					  EXTRA_ENCRYPT_OP, "ID");
			break;
		case OPT_TRY_VM_TYPE:
			ret = parse_extra(g, "try-vm-type", optarg,
					  EXTRA_TRY_VM_TYPE, "TYPE");
			break;
		case OPT_CHECK_CAP:
			ret = parse_extra(g, "check-cap", optarg,
					  EXTRA_CHECK_CAP, "CAP");
			break;
		case OPT_BAD_IOCTL:
			ret = parse_extra(g, "bad-ioctl", optarg,
					  EXTRA_BAD_IOCTL, "CMD");
			break;
		case OPT_GET_REGS:
			ret = parse_single("get-regs", optarg, 1, 100000000, &g->get_regs);
			break;
		case OPT_EXEC_AFTER:
			g->exec_path = optarg;
			ret = 0;
			break;
		case OPT_LAP_PAUSE:
			ret = parse_single("lap-pause", optarg, 0, 60000, &g->lap_pause_ms);
			break;
		case 'h':
			return 1;
		default:
			/* getopt already said what was wrong */
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	/* Only --exec-after's program takes arguments. */
	if (optind < argc && !g->exec_path) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	g->exec_args = argv + optind;
	g->nr_exec_args = argc - optind;
	if (g->run_seconds && g->nr_ops && g->ops[g->nr_ops - 1].kind == OP_BDOOR_GP) {
		fprintf(stderr, PROG ": --seconds does not go with --vmware-backdoor-gp (the guest stays in ring 3)\n");
		return -EINVAL;
	}
	/* Once in ring 3 the guest cannot come back for other operations. */
	for (int i = 1; i < g->nr_ops; i++)
		if (g->ops[i - 1].kind == OP_BDOOR_GP && g->ops[i].kind != OP_BDOOR_GP) {
			fprintf(stderr, PROG ": --vmware-backdoor-gp must come after every other operation\n");
			return -EINVAL;
		}
	return 0;
}

static int find_key(const struct guest *g, enum key_type type, uint8_t dir,
		    uint8_t size, uint32_t addr)
{
	int i;

	for (i = 0; i < g->nr_keys; i++) {
		const struct exit_key *k = &g->keys[i];

		if (k->type == type && k->dir == dir && k->size == size &&
		    k->addr == addr)
			return i;
	}
	return -1;
}

static int add_key(struct guest *g, enum key_type type, uint8_t dir,
		   uint8_t size, uint32_t addr)
{
	int i = find_key(g, type, dir, size, addr);

	if (i >= 0)
		return i;
	g->keys[g->nr_keys] = (struct exit_key){ .type = type, .dir = dir,
						 .size = size, .addr = addr };
	return g->nr_keys++;
}

/* Keys in command-line order of first use, the done port last. */
static void build_keys(struct guest *g)
{
	int i;

	for (i = 0; i < g->nr_ops; i++) {
		struct op *op = &g->ops[i];

		switch (op->kind) {
		case OP_OUT:
			op->key = add_key(g, KEY_PIO, KVM_EXIT_IO_OUT, op->size,
					  op->addr);
			break;
		case OP_IN:
		case OP_BDOOR:
		case OP_BDOOR_GP:
			op->key = add_key(g, KEY_PIO, KVM_EXIT_IO_IN, op->size,
					  op->addr);
			break;
		case OP_MMIO_READ:
			op->key = add_key(g, KEY_MMIO, 0, 1, op->addr);
			break;
		case OP_MMIO_WRITE:
			op->key = add_key(g, KEY_MMIO, 1, 1, op->addr);
			break;
		case OP_HLT:
		case OP_CPUID:
		case OP_RDMSR:
		case OP_HYPERCALL:
			op->key = -1;
			break;
		}
	}
	/* Ring 3 may only touch the backdoor ports: it says done on 0x5659. */
	g->done_key = add_key(g, KEY_PIO, KVM_EXIT_IO_OUT, 1, g->gp_mode ? BDOOR_PORT_HB : DONE_PORT);
}

static uint64_t vcpu_share(const struct guest *g, uint64_t count, int id)
{
	return count / g->nr_vcpus + ((uint64_t)id < count % g->nr_vcpus);
}

/* Guest code generation (16-bit real mode). */

struct emitter {
	uint8_t *buf;
	size_t len;
	bool overflow;
};

static void emit8(struct emitter *e, uint8_t b)
{
	if (e->len >= MAX_CODE) {
		e->overflow = true;
		return;
	}
	e->buf[e->len++] = b;
}

static void emit16(struct emitter *e, uint16_t w)
{
	emit8(e, w & 0xff);
	emit8(e, w >> 8);
}

static void emit32(struct emitter *e, uint32_t d)
{
	emit16(e, d & 0xffff);
	emit16(e, d >> 16);
}

/* mov r32, imm32: the 0x66 prefix makes B8+r 32-bit in a 16-bit segment */
static void emit_mov_r32(struct emitter *e, uint8_t reg, uint32_t imm)
{
	emit8(e, 0x66);
	emit8(e, 0xb8 + reg);
	emit32(e, imm);
}

/* mov r16, imm16 */
static void emit_mov_r16(struct emitter *e, uint8_t reg, uint16_t imm)
{
	emit8(e, 0xb8 + reg);
	emit16(e, imm);
}

#define REG_AX	0
#define REG_CX	1
#define REG_DX	2
#define REG_BX	3
#define REG_SI	6

/*
 * dec r32 ; jnz top.  A 32-bit counter, because per-vCPU counts go up to
 * 2^32-1.  Loop bodies are a few bytes, so rel8 always reaches.
 */
static void emit_loop_end(struct emitter *e, uint8_t reg, size_t top)
{
	long rel;

	emit8(e, 0x66);
	emit8(e, 0x48 + reg);
	rel = (long)top - (long)(e->len + 2);
	if (rel < -128) {
		e->overflow = true;
		return;
	}
	emit8(e, 0x75);
	emit8(e, (uint8_t)(int8_t)rel);
}

/* AMD and Hygon hosts run SVM: their hypercall instruction is VMMCALL. */
static bool host_is_amd(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx))
		return false;
	/* "AuthenticAMD" / "HygonGenuine": EBX holds the first four letters */
	return ebx == 0x68747541 || ebx == 0x6f677948;
}

static void emit_op(struct emitter *e, const struct op *op, uint32_t count)
{
	size_t top;

	switch (op->kind) {
	case OP_OUT:
	case OP_IN:
		emit_mov_r32(e, REG_CX, count);
		emit_mov_r16(e, REG_DX, op->addr);
		top = e->len;
		if (op->size == 4)
			emit8(e, 0x66);
		/* in al/ax/eax,dx = EC/ED; out dx,al/ax/eax = EE/EF */
		emit8(e, (op->kind == OP_IN ? 0xec : 0xee) +
			 (op->size != 1));
		emit_loop_end(e, REG_CX, top);
		break;
	case OP_HLT:
		emit_mov_r32(e, REG_CX, count);
		top = e->len;
		emit8(e, 0xf4);
		emit_loop_end(e, REG_CX, top);
		break;
	case OP_MMIO_READ:
	case OP_MMIO_WRITE:
		/* ds:bx = GPA; ds = (GPA & 0xf0000) >> 4 */
		emit_mov_r16(e, REG_AX, (op->addr & 0xf0000) >> 4);
		emit8(e, 0x8e);		/* mov ds, ax */
		emit8(e, 0xd8);
		emit_mov_r16(e, REG_BX, op->addr & 0xffff);
		emit_mov_r32(e, REG_CX, count);
		top = e->len;
		/* mov al,[bx] = 8A 07; mov [bx],al = 88 07 */
		emit8(e, op->kind == OP_MMIO_READ ? 0x8a : 0x88);
		emit8(e, 0x07);
		emit_loop_end(e, REG_CX, top);
		break;
	case OP_BDOOR:
		/* eax and ecx are backdoor arguments, so esi counts */
		emit_mov_r32(e, REG_SI, count);
		emit_mov_r16(e, REG_DX, BDOOR_PORT);
		top = e->len;
		emit_mov_r32(e, REG_AX, BDOOR_MAGIC);
		emit_mov_r32(e, REG_CX, op->cmd);
		emit8(e, 0x66);		/* in eax, dx */
		emit8(e, 0xed);
		emit_loop_end(e, REG_SI, top);
		break;
	case OP_CPUID:
		/* cpuid writes eax..edx: esi counts */
		emit_mov_r32(e, REG_SI, count);
		top = e->len;
		emit_mov_r32(e, REG_AX, op->cmd);
		emit_mov_r32(e, REG_CX, 0);
		emit8(e, 0x0f);		/* cpuid */
		emit8(e, 0xa2);
		emit_loop_end(e, REG_SI, top);
		break;
	case OP_RDMSR:
		emit_mov_r32(e, REG_SI, count);
		top = e->len;
		emit_mov_r32(e, REG_CX, op->cmd);
		emit8(e, 0x0f);		/* rdmsr */
		emit8(e, 0x32);
		emit_loop_end(e, REG_SI, top);
		break;
	case OP_BDOOR_GP:
		break;	/* emitted by gen_code(): it changes the CPU mode */
	case OP_HYPERCALL:
		/*
		 * The host vendor's own instruction: KVM would emulate the other
		 * one after a #UD and patch it, but in real mode its patch lands
		 * at EIP instead of CS:EIP and the guest loops on the #UD.
		 */
		emit_mov_r32(e, REG_SI, count);
		top = e->len;
		emit_mov_r32(e, REG_AX, op->cmd);
		emit_mov_r32(e, REG_BX, 0);
		emit8(e, 0x0f);		/* vmmcall 0f 01 d9, vmcall 0f 01 c1 */
		emit8(e, 0x01);
		emit8(e, host_is_amd() ? 0xd9 : 0xc1);
		emit_loop_end(e, REG_SI, top);
		break;
	}
}

/* Emit vCPU @id's program; returns its length or -E2BIG. */
/*
 * Real mode -> 32-bit protected mode -> CPL 3 with IOPL 0, so that an IN
 * from the backdoor port faults (#GP) as it does for a user-space program
 * in a VMware guest.  GDT at GDT_GPA (flat code/data for ring 0 and 3);
 * the reset TR (base 0, limit 0xffff) gets an I/O bitmap base of 0xffff at
 * linear 0x66, beyond its limit: every port is forbidden.
 */
static void emit_enter_ring3(struct emitter *e, uint64_t code_gpa, int id)
{
	/* iretd's 20 bytes per vCPU: 64 of them stay above the I/O map word at 0x66 */
	uint32_t stack = RING0_STACK_TOP - (uint32_t)id * 20;
	size_t at;

	emit8(e, 0xfa);				/* cli */
	emit8(e, 0x31); emit8(e, 0xc0);		/* xor ax, ax */
	emit8(e, 0x8e); emit8(e, 0xd8);		/* mov ds, ax */
	emit8(e, 0x0f); emit8(e, 0x01); emit8(e, 0x16);	/* lgdt [GDT_GPA] */
	emit16(e, GDT_GPA);
	emit8(e, 0x0f); emit8(e, 0x20); emit8(e, 0xc0);	/* mov eax, cr0 */
	emit8(e, 0x66); emit8(e, 0x83); emit8(e, 0xc8); emit8(e, 0x01);	/* or eax, 1 */
	emit8(e, 0x0f); emit8(e, 0x22); emit8(e, 0xc0);	/* mov cr0, eax */
	/* jmp far 0x08:flat32 (66 ea imm32 sel16): the next byte, as a flat address */
	at = e->len + 8;
	emit8(e, 0x66); emit8(e, 0xea);
	emit32(e, (uint32_t)(code_gpa + at));
	emit16(e, 0x08);
	/* 32-bit, ring 0 */
	emit8(e, 0x66); emit8(e, 0xb8); emit16(e, 0x10);	/* mov ax, 0x10 */
	emit8(e, 0x8e); emit8(e, 0xd8);		/* mov ds, ax */
	emit8(e, 0x8e); emit8(e, 0xc0);		/* mov es, ax */
	emit8(e, 0x8e); emit8(e, 0xd0);		/* mov ss, ax */
	emit8(e, 0xbc); emit32(e, stack);	/* mov esp, stack */
	emit8(e, 0x6a); emit8(e, 0x23);		/* push ss3 */
	emit8(e, 0x68); emit32(e, stack);	/* push esp3 (unused in ring 3) */
	emit8(e, 0x6a); emit8(e, 0x02);		/* push eflags: IF 0, IOPL 0 */
	emit8(e, 0x6a); emit8(e, 0x1b);		/* push cs3 */
	at = e->len + 6;
	emit8(e, 0x68); emit32(e, (uint32_t)(code_gpa + at));	/* push eip: after iretd */
	emit8(e, 0xcf);				/* iretd */
}

/* 32-bit ring 3: COUNT backdoor INs, each a #GP that KVM emulates. */
static void emit_bdoor_ring3(struct emitter *e, const struct op *op, uint32_t count)
{
	size_t top;

	emit8(e, 0xbe); emit32(e, count);	/* mov esi, count */
	top = e->len;
	emit8(e, 0xb8); emit32(e, BDOOR_MAGIC);	/* mov eax, magic */
	emit8(e, 0xb9); emit32(e, op->cmd);	/* mov ecx, cmd */
	emit8(e, 0xba); emit32(e, BDOOR_PORT);	/* mov edx, port */
	emit8(e, 0xed);				/* in eax, dx */
	emit8(e, 0x4e);				/* dec esi */
	emit8(e, 0x75);				/* jnz top */
	emit8(e, (uint8_t)(int8_t)((long)top - (long)(e->len + 1)));
}

static long gen_code(const struct guest *g, int id, uint8_t *buf, uint64_t code_gpa)
{
	struct emitter e = { .buf = buf };
	bool ring3 = false;
	int i;

	for (i = 0; i < g->nr_ops; i++) {
		uint64_t n = vcpu_share(g, g->ops[i].count, id);

		if (g->ops[i].kind == OP_BDOOR_GP) {
			if (!ring3)
				emit_enter_ring3(&e, code_gpa, id);
			ring3 = true;
			if (n)
				emit_bdoor_ring3(&e, &g->ops[i], n);
			continue;
		}
		if (n)
			emit_op(&e, &g->ops[i], n);
	}
	if (g->gp_mode) {
		if (!ring3)	/* this vCPU's share was 0: still say done the same way */
			emit_enter_ring3(&e, code_gpa, id);
		emit8(&e, 0x31); emit8(&e, 0xc0);	/* xor eax, eax: no magic */
		emit8(&e, 0xba); emit32(&e, BDOOR_PORT_HB);	/* mov edx, 0x5659 */
		emit8(&e, 0xee);			/* out dx, al */
		emit8(&e, 0xeb); emit8(&e, 0xfe);	/* jmp $ */
		return e.overflow ? -E2BIG : (long)e.len;
	}
	/* done: mov dx, 0xf4 ; out dx, al */
	emit_mov_r16(&e, REG_DX, DONE_PORT);
	emit8(&e, 0xee);
	/* never run: the VMM stops at the done exit; hlt ; jmp back */
	emit8(&e, 0xf4);
	emit8(&e, 0xeb);
	emit8(&e, 0xfd);
	if (e.overflow)
		return -E2BIG;
	return e.len;
}

/* The GDT that emit_enter_ring3() loads, and the I/O bitmap base it relies on. */
static void load_ring3_tables(struct guest *g)
{
	static const uint64_t gdt[] = {
		0,
		0x00cf9a000000ffffULL,	/* 0x08 code, ring 0 */
		0x00cf92000000ffffULL,	/* 0x10 data, ring 0 */
		0x00cffa000000ffffULL,	/* 0x18 code, ring 3 */
		0x00cff2000000ffffULL,	/* 0x20 data, ring 3 */
	};
	uint16_t limit = sizeof(gdt) - 1, iomap_base = 0xffff;
	uint32_t base = GDT_GPA + 8;

	memcpy(g->ram + GDT_GPA, &limit, 2);
	memcpy(g->ram + GDT_GPA + 2, &base, 4);
	memcpy(g->ram + base, gdt, sizeof(gdt));
	memcpy(g->ram + 0x66, &iomap_base, 2);
}

/* Write every vCPU's program into guest RAM, 16-byte aligned blocks. */
static int load_code(struct guest *g)
{
	static uint8_t buf[MAX_CODE];
	uint64_t stride, end;
	long len, max_len = 0;
	int i;

	/* shares differ by one, so a vCPU may skip an op: size them all */
	for (i = 0; i < g->nr_vcpus; i++) {
		len = gen_code(g, i, buf, 0);	/* addresses do not change lengths */
		if (len < 0) {
			fprintf(stderr, PROG ": guest code for vCPU %d exceeds 64 KiB; use fewer operations\n",
				i);
			return len;
		}
		if (len > max_len)
			max_len = len;
	}
	stride = (max_len + 15) & ~15UL;
	end = CODE_START + stride * g->nr_vcpus;
	if (end > RAM_SIZE) {
		fprintf(stderr, PROG ": guest code does not fit in guest RAM (%d vCPUs x %" PRIu64 " bytes > %#lx); use fewer operations or vCPUs\n",
			g->nr_vcpus, stride, RAM_SIZE - CODE_START);
		return -E2BIG;
	}
	for (i = 0; i < g->nr_vcpus; i++) {
		g->vcpus[i].code_gpa = CODE_START + stride * i;
		len = gen_code(g, i, buf, g->vcpus[i].code_gpa);
		memcpy(g->ram + g->vcpus[i].code_gpa, buf, len);
	}
	if (g->gp_mode)
		load_ring3_tables(g);
	return 0;
}

/* ioctl tally */

/* The calling thread's table: main's, or its vCPU's in a vCPU thread. */
static __thread struct ioctl_tally *thread_ioctls;

static void tally_init(struct ioctl_tally *t, struct ioctl_count *slots,
		       int max)
{
	*t = (struct ioctl_tally){ .c = slots, .max = max };
}

static bool ioctl_key_eq(const struct ioctl_key *a, const struct ioctl_key *b)
{
	return a->kind == b->kind && a->vcpu == b->vcpu && a->cmd == b->cmd &&
	       a->result == b->result;
}

static void tally_add(struct ioctl_tally *t, const struct ioctl_key *k,
		      uint64_t n)
{
	int i = t->last;

	if (i >= t->nr || !ioctl_key_eq(&t->c[i].key, k)) {
		for (i = 0; i < t->nr; i++)
			if (ioctl_key_eq(&t->c[i].key, k))
				break;
		if (i == t->nr) {
			if (t->nr >= t->max) {
				t->untallied += n;
				return;
			}
			t->c[t->nr++] = (struct ioctl_count){ .key = *k };
		}
		t->last = i;
	}
	t->c[i].count += n;
}

/*
 * Every ioctl on a KVM fd: ret as ioctl() returns it, errno kept.  @vcpu
 * is the vCPU index for vCPU fds, -1 for /dev/kvm and the VM.
 */
static int kvm_ioctl(int fd, enum fd_kind kind, int vcpu, unsigned long req,
		     unsigned long arg)
{
	struct ioctl_key k = { .kind = kind, .vcpu = vcpu, .cmd = req };
	int ret, err;

	ret = ioctl(fd, req, arg);
	err = errno;
	k.result = ret < 0 ? -err : 0;
	tally_add(thread_ioctls, &k, 1);
	errno = err;
	return ret;
}

static int sys_ioctl(struct guest *g, unsigned long req, unsigned long arg)
{
	return kvm_ioctl(g->kvm_fd, FD_SYSTEM, -1, req, arg);
}

static int vm_ioctl(struct guest *g, unsigned long req, unsigned long arg)
{
	return kvm_ioctl(g->vm_fd, FD_VM, -1, req, arg);
}

static int vcpu_ioctl(struct vcpu *v, unsigned long req, unsigned long arg)
{
	return kvm_ioctl(v->fd, FD_VCPU, v->id, req, arg);
}

static int ioctl_count_cmp(const void *pa, const void *pb)
{
	const struct ioctl_key *a = &((const struct ioctl_count *)pa)->key;
	const struct ioctl_key *b = &((const struct ioctl_count *)pb)->key;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->vcpu != b->vcpu)
		return a->vcpu < b->vcpu ? -1 : 1;
	if (a->cmd != b->cmd)
		return a->cmd < b->cmd ? -1 : 1;
	if (a->result != b->result)	/* success first, then -1, -2, ... */
		return a->result > b->result ? -1 : 1;
	return 0;
}

/*
 * Fold the vCPU threads' tables into main's, sorted.  Only once they are
 * past their last ioctl: after the done barrier.
 */
static void merge_ioctls(struct guest *g)
{
	int i, j;

	for (i = 0; i < g->nr_vcpus; i++) {
		const struct ioctl_tally *t = &g->vcpus[i].ioctls;

		for (j = 0; j < t->nr; j++)
			tally_add(&g->ioctls, &t->c[j].key, t->c[j].count);
		g->ioctls.untallied += t->untallied;
	}
	qsort(g->ioctls.c, g->ioctls.nr, sizeof(*g->ioctls.c),
	      ioctl_count_cmp);
	g->ioctls.last = 0;
}

/* Extra ioctls: --check-cap, --try-vm-type, --encrypt-op, --bad-ioctl */

static void enc_record(struct guest *g, uint32_t id, int result,
		       uint32_t error)
{
	struct enc_result *r;
	int i;

	for (i = 0; i < g->nr_enc_results; i++) {
		r = &g->enc_results[i];
		if (r->id == id && r->result == result && r->error == error) {
			r->count++;
			return;
		}
	}
	if (g->nr_enc_results >= MAX_ENC_RESULTS) {
		g->enc_untallied++;
		return;
	}
	g->enc_results[g->nr_enc_results++] = (struct enc_result){
		.id = id, .result = result, .error = error, .count = 1 };
}

static void extra_call(struct guest *g, const struct extra *x)
{
	static uint8_t buf[BAD_IOCTL_BUF];
	struct sev_cmd cmd;
	int ret;

	switch (x->kind) {
	case EXTRA_CHECK_CAP:
		sys_ioctl(g, KVM_CHECK_EXTENSION, x->arg);
		break;
	case EXTRA_TRY_VM_TYPE:
		ret = sys_ioctl(g, KVM_CREATE_VM, x->arg);
		if (ret >= 0)
			close(ret);
		break;
	case EXTRA_ENCRYPT_OP:
		cmd = (struct sev_cmd){ .id = x->arg, .sev_fd = UINT32_MAX };
		ret = vm_ioctl(g, KVM_MEMORY_ENCRYPT_OP, (unsigned long)&cmd);
		enc_record(g, x->arg, ret < 0 ? -errno : 0, cmd.error);
		break;
	case EXTRA_BAD_IOCTL:
		memset(buf, 0, sizeof(buf));	/* the last call may have written it */
		vm_ioctl(g, x->arg, (unsigned long)buf);
		break;
	}
}

/*
 * All the extras of one kind, in command-line order.  They are expected
 * to fail: the tally has their results, and that is all.
 */
static void run_extras(struct guest *g, enum extra_kind kind)
{
	int i;

	for (i = 0; i < g->nr_extras; i++) {
		const struct extra *x = &g->extras[i];

		if (x->kind != kind)
			continue;
		for (uint64_t n = 0; n < x->count; n++)
			extra_call(g, x);
	}
}

/* KVM setup */

static int setup_vm(struct guest *g)
{
	struct kvm_userspace_memory_region region;
	int ret;

	g->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g->kvm_fd < 0) {
		ret = -errno;
		fprintf(stderr, PROG ": cannot open /dev/kvm: %s%s\n",
			strerror(-ret),
			ret == -EACCES || ret == -EPERM ? " — run as root" :
			ret == -ENOENT ? " — is the kvm module loaded?" : "");
		return ret;
	}
	ret = sys_ioctl(g, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		fprintf(stderr, PROG ": KVM_GET_API_VERSION returned %d, need %d\n",
			ret, KVM_API_VERSION);
		return -EINVAL;
	}
	ret = sys_ioctl(g, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret < (int)sizeof(struct kvm_run)) {
		ret = ret < 0 ? -errno : -EINVAL;
		fprintf(stderr, PROG ": KVM_GET_VCPU_MMAP_SIZE failed: %s\n",
			strerror(-ret));
		return ret;
	}
	g->run_size = ret;

	run_extras(g, EXTRA_CHECK_CAP);
	run_extras(g, EXTRA_TRY_VM_TYPE);
	do {
		g->vm_fd = sys_ioctl(g, KVM_CREATE_VM, 0);
	} while (g->vm_fd < 0 && errno == EINTR);
	if (g->vm_fd < 0) {
		ret = -errno;
		fprintf(stderr, PROG ": KVM_CREATE_VM failed: %s\n",
			strerror(-ret));
		return ret;
	}

	/* VMX without unrestricted guest emulates real mode with a TSS */
	if (sys_ioctl(g, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    vm_ioctl(g, KVM_SET_TSS_ADDR, TSS_ADDR) < 0) {
		ret = -errno;
		fprintf(stderr, PROG ": KVM_SET_TSS_ADDR failed: %s\n",
			strerror(-ret));
		return ret;
	}

	g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g->ram == MAP_FAILED) {
		ret = -errno;
		fprintf(stderr, PROG ": cannot mmap %lu KiB of guest RAM: %s\n",
			RAM_SIZE >> 10, strerror(-ret));
		return ret;
	}
	memset(g->ram, STRAY_FILL, RAM_SIZE);

	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)g->ram,
	};
	if (vm_ioctl(g, KVM_SET_USER_MEMORY_REGION, (unsigned long)&region) < 0) {
		ret = -errno;
		fprintf(stderr, PROG ": KVM_SET_USER_MEMORY_REGION failed: %s\n",
			strerror(-ret));
		return ret;
	}
	return 0;
}

static int setup_vcpu(struct guest *g, struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	const char *what;
	void *run;
	int ret;

	v->fd = vm_ioctl(g, KVM_CREATE_VCPU, v->id);
	if (v->fd < 0) {
		what = "KVM_CREATE_VCPU";
		goto fail;
	}
	run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   v->fd, 0);
	if (run == MAP_FAILED) {
		what = "mmap of kvm_run";
		goto fail;
	}
	v->run = run;

	/* Real mode from reset; only point CS at this vCPU's code block. */
	if (vcpu_ioctl(v, KVM_GET_SREGS, (unsigned long)&sregs) < 0) {
		what = "KVM_GET_SREGS";
		goto fail;
	}
	sregs.cs.base = v->code_gpa;
	sregs.cs.selector = v->code_gpa >> 4;
	if (vcpu_ioctl(v, KVM_SET_SREGS, (unsigned long)&sregs) < 0) {
		what = "KVM_SET_SREGS";
		goto fail;
	}
	/* IF clear: no interrupts can be delivered, so no IVT is needed */
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rflags = 0x2;
	if (vcpu_ioctl(v, KVM_SET_REGS, (unsigned long)&regs) < 0) {
		what = "KVM_SET_REGS";
		goto fail;
	}
	v->init_regs = regs;
	v->init_sregs = sregs;
	return 0;
fail:
	ret = -errno;
	fprintf(stderr, PROG ": vCPU %d: %s failed: %s\n", v->id, what,
		strerror(-ret));
	return ret;
}

/* vCPU threads */

static void vcpu_report(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Say what went wrong, with where the guest was. */
static void vcpu_report(struct vcpu *v, const char *fmt, ...)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (vcpu_ioctl(v, KVM_GET_REGS, (unsigned long)&regs) < 0 ||
	    vcpu_ioctl(v, KVM_GET_SREGS, (unsigned long)&sregs) < 0) {
		fprintf(stderr, PROG ": vCPU %d: %s (registers unavailable: %s)\n",
			v->id, msg, strerror(errno));
		return;
	}
	fprintf(stderr, PROG ": vCPU %d: %s (rip %#llx, cs %#x base %#llx, code block at %#" PRIx64 ", rcx %#llx, rsi %#llx)\n",
		v->id, msg, regs.rip, sregs.cs.selector, sregs.cs.base,
		v->code_gpa, regs.rcx, regs.rsi);
}

static int vcpu_lookup(struct vcpu *v, enum key_type type, uint8_t dir,
		       uint8_t size, uint32_t addr)
{
	const struct exit_key *k = &v->g->keys[v->last_key];

	if (k->type == type && k->dir == dir && k->size == size &&
	    k->addr == addr)
		return v->last_key;
	return find_key(v->g, type, dir, size, addr);
}

/* Count one matching exit; fail if it was not requested or is one too many. */
static int vcpu_count(struct vcpu *v, int key, const char *what)
{
	if (key < 0 || v->seen[key] >= v->expect[key]) {
		vcpu_report(v, "unexpected %s exit (%s)", what,
			    key < 0 ? "not requested" : "more than requested");
		return -EPROTO;
	}
	v->last_key = key;
	v->seen[key]++;
	return 0;
}

static bool before(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec < deadline->tv_nsec);
}

/*
 * The done port closes a run of the vCPU's code: the end, or with
 * --seconds and time left, the start of one more run from the first
 * instruction, expecting one run's exits more.
 */
static int vcpu_lap_done(struct vcpu *v, bool *done)
{
	const struct guest *g = v->g;

	if (!g->run_seconds || !before(&g->run_until)) {
		*done = true;
		return 0;
	}
	if (vcpu_ioctl(v, KVM_SET_SREGS, (unsigned long)&v->init_sregs) < 0 ||
	    vcpu_ioctl(v, KVM_SET_REGS, (unsigned long)&v->init_regs) < 0) {
		vcpu_report(v, "cannot restart the code: %s", strerror(errno));
		return -errno;
	}
	for (int k = 0; k < g->nr_keys; k++)
		v->expect[k] += v->lap_expect[k];
	v->hlt_expect += v->hlt_lap;
	v->laps++;
	if (g->lap_pause_ms) {
		struct timespec ts = { .tv_sec = g->lap_pause_ms / 1000,
				       .tv_nsec = (g->lap_pause_ms % 1000) * 1000000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	return 0;
}

/* Handle a KVM_EXIT_IO; sets *done at the final done-port write. */
static int vcpu_io(struct vcpu *v, bool *done)
{
	struct kvm_run *run = v->run;
	bool in = run->io.direction == KVM_EXIT_IO_IN;
	char what[64];
	int key, ret;

	snprintf(what, sizeof(what), "%s port %#x size %u count %u",
		 in ? "IN from" : "OUT to", run->io.port, run->io.size,
		 run->io.count);
	if (run->io.count != 1 ||
	    run->io.data_offset + (uint64_t)run->io.size > v->g->run_size) {
		vcpu_report(v, "malformed %s exit", what);
		return -EPROTO;
	}
	key = vcpu_lookup(v, KEY_PIO, run->io.direction, run->io.size,
			  run->io.port);
	ret = vcpu_count(v, key, what);
	if (ret)
		return ret;
	v->io++;
	if (in)
		memset((uint8_t *)run + run->io.data_offset, 0, run->io.size);
	if (key == v->g->done_key && v->seen[key] == v->expect[key])
		return vcpu_lap_done(v, done);
	return 0;
}

static int vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[64];
	int key, ret;

	snprintf(what, sizeof(what), "MMIO %s at %#llx len %u",
		 run->mmio.is_write ? "write" : "read", run->mmio.phys_addr,
		 run->mmio.len);
	if (run->mmio.len != 1 || run->mmio.phys_addr > UINT32_MAX) {
		vcpu_report(v, "unexpected %s exit", what);
		return -EPROTO;
	}
	key = vcpu_lookup(v, KEY_MMIO, !!run->mmio.is_write, 1,
			  run->mmio.phys_addr);
	ret = vcpu_count(v, key, what);
	if (ret)
		return ret;
	v->mmio++;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
	return 0;
}

static void vcpu_report_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t r = run->exit_reason;

	switch (r) {
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_report(v, "exit reason %s (%u), hardware reason %#llx",
			    exit_name(r), r,
			    run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_report(v, "exit reason %s (%u), suberror %u, ndata %u, data[0] %#llx",
			    exit_name(r), r, run->internal.suberror,
			    run->internal.ndata,
			    run->internal.ndata ? run->internal.data[0] : 0ULL);
		break;
	case KVM_EXIT_EXCEPTION:
		vcpu_report(v, "exit reason %s (%u), exception %u, error code %#x",
			    exit_name(r), r, run->ex.exception,
			    run->ex.error_code);
		break;
	default:
		vcpu_report(v, "unexpected exit reason %s (%u)", exit_name(r), r);
		break;
	}
}

/*
 * KVM_RUN with immediate_exit set, as QEMU kicks a vCPU: KVM completes
 * the exit just handled, then returns -EINTR without entering the guest
 * (and kvm_userspace_exit fires with the stale exit reason).
 */
static int vcpu_kick(struct vcpu *v)
{
	int ret;

	v->run->immediate_exit = 1;
	ret = vcpu_ioctl(v, KVM_RUN, 0);
	v->run->immediate_exit = 0;
	if (ret == 0) {
		vcpu_report(v, "KVM_RUN with immediate_exit set ran the guest (exit reason %s)",
			    exit_name(v->run->exit_reason));
		return -EPROTO;
	}
	if (errno != EINTR) {
		vcpu_report(v, "KVM_RUN with immediate_exit set failed: %s, expected EINTR",
			    strerror(errno));
		return -errno;
	}
	v->kicks++;
	return 0;
}

static int vcpu_loop(struct vcpu *v)
{
	bool done = false;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &v->t_start);
	while (!done) {
		if (vcpu_ioctl(v, KVM_RUN, 0) < 0) {
			ret = -errno;
			if (ret == -EINTR) {
				v->intr++;
				continue;
			}
			vcpu_report(v, "KVM_RUN failed: %s", strerror(-ret));
			return ret;
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			ret = vcpu_io(v, &done);
			break;
		case KVM_EXIT_HLT:
			/* without an in-kernel irqchip RIP is already past the hlt */
			if (v->hlt_seen >= v->hlt_expect) {
				vcpu_report(v, "unexpected HLT exit (more than requested)");
				ret = -EPROTO;
				break;
			}
			v->hlt_seen++;
			ret = 0;
			break;
		case KVM_EXIT_MMIO:
			ret = vcpu_mmio(v);
			break;
		case KVM_EXIT_INTR:
			v->intr++;
			ret = 0;
			break;
		default:
			vcpu_report_exit(v);
			ret = -EPROTO;
			break;
		}
		if (!ret && !done && v->kicks < v->kick_expect)
			ret = vcpu_kick(v);
		if (ret)
			return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &v->t_end);
	return 0;
}

/* Compare what this vCPU saw with what it was asked to do. */
static int vcpu_verify(struct vcpu *v)
{
	const struct guest *g = v->g;
	int i, ret = 0;

	for (i = 0; i < g->nr_keys; i++) {
		const struct exit_key *k = &g->keys[i];

		if (v->seen[i] == v->expect[i])
			continue;
		fprintf(stderr, PROG ": vCPU %d: %s %s %#x size %u: saw %" PRIu64 " exits, expected %" PRIu64 "\n",
			v->id, k->type == KEY_PIO ? "port" : "MMIO",
			k->type == KEY_PIO ? (k->dir ? "out" : "in") :
					     (k->dir ? "write" : "read"),
			k->addr, k->size, v->seen[i], v->expect[i]);
		ret = -EPROTO;
	}
	if (v->kicks != v->kick_expect) {
		fprintf(stderr, PROG ": vCPU %d: made %" PRIu64 " KVM_RUNs with immediate_exit, expected %" PRIu64 " (too few exits)\n",
			v->id, v->kicks, v->kick_expect);
		ret = -EPROTO;
	}
	if (v->hlt_seen != v->hlt_expect) {
		fprintf(stderr, PROG ": vCPU %d: saw %" PRIu64 " HLT exits, expected %" PRIu64 "\n",
			v->id, v->hlt_seen, v->hlt_expect);
		ret = -EPROTO;
	}
	return ret;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct guest *g = v->g;
	char name[16];

	/* QEMU's vCPU thread name, which kvmscope knows */
	snprintf(name, sizeof(name), "CPU %d/KVM", v->id);
	pthread_setname_np(pthread_self(), name);
	v->tid = syscall(SYS_gettid);
	thread_ioctls = &v->ioctls;

	pthread_barrier_wait(&g->start_barrier);
	v->err = vcpu_loop(v);
	if (!v->err)
		v->err = vcpu_verify(v);
	pthread_barrier_wait(&g->done_barrier);
	/* stay alive (as a parked vCPU thread) while the VMM lingers */
	pthread_barrier_wait(&g->release_barrier);
	return NULL;
}

/* JSON output */

static void print_exits(FILE *f, uint64_t io, uint64_t hlt, uint64_t mmio,
			uint64_t intr)
{
	fprintf(f, "{\"IO\": %" PRIu64, io);
	if (hlt)
		fprintf(f, ", \"HLT\": %" PRIu64, hlt);
	if (mmio)
		fprintf(f, ", \"MMIO\": %" PRIu64, mmio);
	if (intr)
		fprintf(f, ", \"INTR\": %" PRIu64, intr);
	fputc('}', f);
}

/* The PIO or MMIO entries of @counts (per key) that are nonzero. */
static void print_keys(FILE *f, const struct guest *g, enum key_type type,
		       const uint64_t *counts, const char *indent)
{
	bool first = true;
	int i;

	fputc('[', f);
	for (i = 0; i < g->nr_keys; i++) {
		const struct exit_key *k = &g->keys[i];

		if (k->type != type || !counts[i])
			continue;
		fprintf(f, "%s\n%s", first ? "" : ",", indent);
		first = false;
		if (type == KEY_PIO)
			fprintf(f, "{\"port\": %u, \"direction\": \"%s\", \"size\": %u, \"count\": %" PRIu64 "}",
				k->addr, k->dir ? "out" : "in", k->size,
				counts[i]);
		else
			fprintf(f, "{\"gpa\": %u, \"direction\": \"%s\", \"count\": %" PRIu64 "}",
				k->addr, k->dir ? "write" : "read", counts[i]);
	}
	fputc(']', f);
}

static void print_ioctls(FILE *f, const struct guest *g)
{
	const struct ioctl_tally *t = &g->ioctls;
	int i;

	fputs(",\n \"ioctls\": [", f);
	for (i = 0; i < t->nr; i++) {
		const struct ioctl_key *k = &t->c[i].key;

		fprintf(f, "%s\n  {\"fd\": \"%s\", ", i ? "," : "",
			fd_kind_names[k->kind]);
		if (k->kind == FD_VCPU)
			fprintf(f, "\"vcpu\": %d, ", k->vcpu);
		fprintf(f, "\"cmd\": %" PRIu32 ", \"result\": %d, \"count\": %" PRIu64 "}",
			k->cmd, k->result, t->c[i].count);
	}
	fprintf(f, "],\n \"ioctls_untallied\": %" PRIu64, t->untallied);

	fputs(",\n \"encrypt_ops\": [", f);
	for (i = 0; i < g->nr_enc_results; i++) {
		const struct enc_result *r = &g->enc_results[i];

		fprintf(f, "%s\n  {\"id\": %" PRIu32 ", \"result\": %d, \"error\": %" PRIu32 ", \"count\": %" PRIu64 "}",
			i ? "," : "", r->id, r->result, r->error, r->count);
	}
	fprintf(f, "],\n \"encrypt_ops_untallied\": %" PRIu64, g->enc_untallied);
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

static int print_json(const struct guest *g)
{
	uint64_t totals[MAX_KEYS] = { 0 };
	uint64_t io = 0, hlt = 0, mmio = 0, intr = 0, kicks = 0;
	uint64_t start = UINT64_MAX, end = 0;
	FILE *f = stdout;
	int i, k;

	for (i = 0; i < g->nr_vcpus; i++) {
		const struct vcpu *v = &g->vcpus[i];

		for (k = 0; k < g->nr_keys; k++)
			totals[k] += v->seen[k];
		io += v->io;
		hlt += v->hlt_seen;
		mmio += v->mmio;
		intr += v->intr;
		kicks += v->kicks;
		if (ts_ns(&v->t_start) < start)
			start = ts_ns(&v->t_start);
		if (ts_ns(&v->t_end) > end)
			end = ts_ns(&v->t_end);
	}

	fprintf(f, "{\"pid\": %d, \"vcpus\": %d, \"elapsed_ns\": %" PRIu64 ", \"done_port\": %d,\n",
		(int)getpid(), g->nr_vcpus, end - start, g->gp_mode ? BDOOR_PORT_HB : DONE_PORT);
	fprintf(f, " \"immediate_exits\": %" PRIu64 ",\n", kicks);
	if (g->get_regs)
		fprintf(f, " \"get_regs\": %" PRIu64 ", \"get_regs_ns\": %" PRIu64 ",\n", g->get_regs,
			g->get_regs_ns);
	fputs(" \"userspace_exits\": ", f);
	print_exits(f, io, hlt, mmio, intr);
	fputs(",\n \"pio\": ", f);
	print_keys(f, g, KEY_PIO, totals, "  ");
	fputs(",\n \"mmio\": ", f);
	print_keys(f, g, KEY_MMIO, totals, "  ");
	fputs(",\n \"per_vcpu\": [", f);
	for (i = 0; i < g->nr_vcpus; i++) {
		const struct vcpu *v = &g->vcpus[i];

		fprintf(f, "%s\n  {\"vcpu\": %d, \"tid\": %d, \"immediate_exits\": %" PRIu64 ", \"userspace_exits\": ",
			i ? "," : "", v->id, (int)v->tid, v->kicks);
		print_exits(f, v->io, v->hlt_seen, v->mmio, v->intr);
		fputs(",\n   \"pio\": ", f);
		print_keys(f, g, KEY_PIO, v->seen, "    ");
		fputs(",\n   \"mmio\": ", f);
		print_keys(f, g, KEY_MMIO, v->seen, "    ");
		fputc('}', f);
	}
	fputc(']', f);
	print_ioctls(f, g);
	fputs("}\n", f);

	if (fflush(f) == EOF || ferror(f)) {
		fprintf(stderr, PROG ": cannot write JSON to stdout: %s\n",
			strerror(errno));
		return -EIO;
	}
	return 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Fill each vCPU's expected counts from its share of every op. */
static int init_vcpus(struct guest *g)
{
	int i, j;

	for (i = 0; i < g->nr_vcpus; i++) {
		struct vcpu *v = &g->vcpus[i];

		v->g = g;
		v->id = i;
		v->fd = -1;
		tally_init(&v->ioctls, v->ioctl_slots, VCPU_IOCTL_KEYS);
		v->expect = calloc(g->nr_keys, sizeof(*v->expect));
		v->seen = calloc(g->nr_keys, sizeof(*v->seen));
		if (!v->expect || !v->seen) {
			fprintf(stderr, PROG ": out of memory\n");
			return -ENOMEM;
		}
		for (j = 0; j < g->nr_ops; j++) {
			const struct op *op = &g->ops[j];
			uint64_t n = vcpu_share(g, op->count, i);

			if (op->kind == OP_HLT)
				v->hlt_expect += n;
			else if (op->key >= 0)	/* in-kernel ops make no exit here */
				v->expect[op->key] += n;
		}
		v->expect[g->done_key]++;
		v->kick_expect = vcpu_share(g, g->immediate_exits, i);
		v->lap_expect = malloc(g->nr_keys * sizeof(*v->lap_expect));
		if (!v->lap_expect) {
			fprintf(stderr, PROG ": out of memory\n");
			return -ENOMEM;
		}
		memcpy(v->lap_expect, v->expect, g->nr_keys * sizeof(*v->expect));
		v->hlt_lap = v->hlt_expect;
	}
	return 0;
}

static struct guest guest;

int main(int argc, char **argv)
{
	struct guest *g = &guest;
	bool failed = false;
	int i, ret;

	ret = parse_args(g, argc, argv);
	if (ret > 0) {
		usage(stdout);
		return 0;
	}
	if (ret < 0) {
		usage(stderr);
		return 2;
	}

	tally_init(&g->ioctls, g->ioctl_slots, IOCTL_KEYS);
	thread_ioctls = &g->ioctls;
	build_keys(g);
	if (init_vcpus(g) || setup_vm(g) || load_code(g))
		return 1;
	run_extras(g, EXTRA_ENCRYPT_OP);
	run_extras(g, EXTRA_BAD_IOCTL);
	for (i = 0; i < g->nr_vcpus; i++)
		if (setup_vcpu(g, &g->vcpus[i]))
			return 1;
	if (g->get_regs) {
		struct kvm_regs regs;
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (uint64_t n = 0; n < g->get_regs; n++)
			if (vcpu_ioctl(&g->vcpus[0], KVM_GET_REGS, (unsigned long)&regs) < 0) {
				fprintf(stderr, PROG ": KVM_GET_REGS: %s\n", strerror(errno));
				return 1;
			}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		g->get_regs_ns = ts_ns(&t1) - ts_ns(&t0);
	}

	pthread_barrier_init(&g->start_barrier, NULL, g->nr_vcpus + 1);
	pthread_barrier_init(&g->done_barrier, NULL, g->nr_vcpus + 1);
	pthread_barrier_init(&g->release_barrier, NULL, g->nr_vcpus + 1);
	for (i = 0; i < g->nr_vcpus; i++) {
		ret = pthread_create(&g->vcpus[i].thread, NULL, vcpu_thread,
				     &g->vcpus[i]);
		if (ret) {
			/* threads already started are parked; exit ends them */
			fprintf(stderr, PROG ": cannot create thread for vCPU %d: %s\n",
				i, strerror(ret));
			return 1;
		}
	}

	sleep_ms(g->start_delay_ms);
	/* The vCPU threads read it after the barrier. */
	clock_gettime(CLOCK_MONOTONIC, &g->run_until);
	g->run_until.tv_sec += (time_t)g->run_seconds;
	pthread_barrier_wait(&g->start_barrier);
	pthread_barrier_wait(&g->done_barrier);

	for (i = 0; i < g->nr_vcpus; i++)
		if (g->vcpus[i].err)
			failed = true;
	if (!failed) {
		/* the vCPU threads made their last ioctl before the barrier */
		merge_ioctls(g);
		if (print_json(g))
			failed = true;
		else
			sleep_ms(g->linger_ms);
	}

	pthread_barrier_wait(&g->release_barrier);
	for (i = 0; i < g->nr_vcpus; i++)
		pthread_join(g->vcpus[i].thread, NULL);
	/*
	 * The VM's files are left to exec: KVM makes them close-on-exec, as
	 * is /dev/kvm here, so the new image starts without a VM.
	 */
	if (!failed && g->exec_path) {
		char **args = calloc(g->nr_exec_args + 2, sizeof(*args));

		if (!args) {
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}
		args[0] = (char *)g->exec_path;
		for (i = 0; i < g->nr_exec_args; i++)
			args[i + 1] = g->exec_args[i];
		execv(g->exec_path, args);
		fprintf(stderr, PROG ": cannot exec %s: %s\n", g->exec_path, strerror(errno));
		free(args);
		return 1;
	}
	return failed ? 1 : 0;
}
