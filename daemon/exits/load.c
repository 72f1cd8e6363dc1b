// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading the exits capability: which program each event gets (tp_btf,
 * classic tracepoint, or none, and why), loading them (or adopting the
 * maps and links a previous kvmscoped pinned), attaching, and its part
 * of `status`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "decode.h"
#include "exits.skel.h"
#include "exits_fast.skel.h"
#include "exits/exits.h"
#include "strbuf.h"
#include "log.h"
#include "preempt.h"
#include "progprobe.h"
#include "manager.h"
#include "options.h"
#include "pin.h"
#include "tracefs.h"

/*
 * The programs of bpf/exits.bpf.c as built for this architecture: on
 * arm64, kvm_exit and kvm_entry have no vCPU argument (the KVM_RUN hook
 * resolves it), the x86 events are absent and the nested-virtualization
 * events are counted.
 */
#if defined(__aarch64__)
#define X86_ONLY(what) .absent = "x86 only: " what
static const struct exits_probe probe_templates[] = {
	{ .category = "kvm", .event = "kvm_exit", .prog_name = "kvmscope_kvm_exit",
	  .btf_prog_name = "kvmscope_kvm_exit_btf",
	  .fields = { { "ret", 8, 4 }, { "esr_ec", 12, 4 }, { "vcpu_pc", 16, 8 } } },
	{ .category = "kvm", .event = "kvm_userspace_exit", .view = COLLECT_VMM,
	  .prog_name = "kvmscope_kvm_userspace_exit", .btf_prog_name = "kvmscope_kvm_userspace_exit_btf", .btf_backup_name = "kvmscope_kvm_userspace_exit_btf_backup", .fields = { { "reason", 8, 4 }, { "errno", 12, 4 } } },
	{ .category = "kvm", .event = "kvm_pio", X86_ONLY("arm64 has no port I/O") },
	{ .category = "syscalls", .event = "sys_enter_ioctl", .prog_name = "kvmscope_ioctl_enter",
	  .fields = { { "fd", 16, 8 }, { "cmd", 24, 8 } } },
	{ .category = "kvm", .event = "kvm_entry", .view = COLLECT_LATENCY | COLLECT_VMM, .prog_name = "kvmscope_kvm_entry",
	  .btf_prog_name = "kvmscope_kvm_entry_btf",
	  .fields = { { "vcpu_pc", 8, 8 } } },
	{ .category = "kvm", .event = "kvm_dev_ioctl", .prog_name = "kvmscope_kvm_dev_ioctl",
	  .fentry = true },
	{ .category = "kvm", .event = "kvm_mmio", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_mmio",
	  .btf_prog_name = "kvmscope_kvm_mmio_btf", .btf_backup_name = "kvmscope_kvm_mmio_btf_backup", .fields = { { "type", 8, 4 }, { "gpa", 16, 8 } } },
	{ .category = "kvm", .event = "kvm_nested_eret", .view = COLLECT_DETAIL,
	  .btf_prog_name = "kvmscope_kvm_nested_eret_btf" },
	{ .category = "kvm", .event = "kvm_inject_nested_exception", .view = COLLECT_DETAIL,
	  .btf_prog_name = "kvmscope_kvm_inject_nested_exception_btf" },
	{ .category = "kvm", .event = "kvm_forward_sysreg_trap", .view = COLLECT_DETAIL,
	  .btf_prog_name = "kvmscope_kvm_forward_sysreg_trap_btf" },
	{ .category = "kvm", .event = "kvm_msr", X86_ONLY("MSRs") },
	{ .category = "kvm", .event = "kvm_cpuid", X86_ONLY("CPUID") },
	{ .category = "kvm", .event = "kvm_hypercall", X86_ONLY("arm64 hypercalls are HVC64 exits") },
	{ .category = "kvm", .event = "kvm_vmgexit_enter", X86_ONLY("SEV-ES/SNP") },
	{ .category = "kvm", .event = "kvm_vmgexit_msr_protocol_enter", X86_ONLY("SEV-ES/SNP") },
};
/* kvm_exit and kvm_entry name no vCPU: the KVM_RUN hook is always needed. */
#define TP_HAS_VCPU 0
#else
static const struct exits_probe probe_templates[] = {
	{ .category = "kvm", .event = "kvm_exit", .prog_name = "kvmscope_kvm_exit",
	  .btf_prog_name = "kvmscope_kvm_exit_btf", .btf_vcpu_arg = true,
	  .fields = { { "exit_reason", 8, 4 }, { "isa", 24, 4 }, { "vcpu_id", 56, 4 } } },
	{ .category = "kvm", .event = "kvm_userspace_exit", .view = COLLECT_VMM | COLLECT_BACKDOOR,
	  .prog_name = "kvmscope_kvm_userspace_exit", .btf_prog_name = "kvmscope_kvm_userspace_exit_btf", .btf_backup_name = "kvmscope_kvm_userspace_exit_btf_backup", .fields = { { "reason", 8, 4 }, { "errno", 12, 4 } } },
	{ .category = "kvm", .event = "kvm_pio", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_pio",
	  .btf_prog_name = "kvmscope_kvm_pio_btf", .btf_backup_name = "kvmscope_kvm_pio_btf_backup",
	  .fields = { { "rw", 8, 4 }, { "port", 12, 4 }, { "size", 16, 4 } } },
	{ .category = "syscalls", .event = "sys_enter_ioctl", .prog_name = "kvmscope_ioctl_enter",
	  .fields = { { "fd", 16, 8 }, { "cmd", 24, 8 } } },
	{ .category = "kvm", .event = "kvm_entry", .view = COLLECT_LATENCY | COLLECT_VMM, .prog_name = "kvmscope_kvm_entry",
	  .btf_prog_name = "kvmscope_kvm_entry_btf", .btf_vcpu_arg = true,
	  .fields = { { "vcpu_id", 8, 4 } } },
	{ .category = "kvm", .event = "kvm_dev_ioctl", .prog_name = "kvmscope_kvm_dev_ioctl",
	  .fentry = true },
	{ .category = "kvm", .event = "kvm_mmio", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_mmio",
	  .btf_prog_name = "kvmscope_kvm_mmio_btf", .btf_backup_name = "kvmscope_kvm_mmio_btf_backup", .fields = { { "type", 8, 4 }, { "gpa", 16, 8 } } },
	{ .category = "kvm", .event = "kvm_msr", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_msr",
	  .btf_prog_name = "kvmscope_kvm_msr_btf", .btf_backup_name = "kvmscope_kvm_msr_btf_backup", .fields = { { "write", 8, 4 }, { "ecx", 12, 4 } } },
	{ .category = "kvm", .event = "kvm_cpuid", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_cpuid",
	  .btf_prog_name = "kvmscope_kvm_cpuid_btf", .btf_backup_name = "kvmscope_kvm_cpuid_btf_backup",
	  .fields = { { "function", 8, 4 }, { "index", 12, 4 } } },
	{ .category = "kvm", .event = "kvm_hypercall", .view = COLLECT_DETAIL, .prog_name = "kvmscope_kvm_hypercall",
	  .btf_prog_name = "kvmscope_kvm_hypercall_btf", .btf_backup_name = "kvmscope_kvm_hypercall_btf_backup", .fields = { { "nr", 8, 8 } } },
	{ .category = "kvm", .event = "kvm_vmgexit_enter", .view = COLLECT_DETAIL,
	  .prog_name = "kvmscope_kvm_vmgexit_enter",
	  .fields = { { "vcpu_id", 8, 4 }, { "exit_reason", 16, 8 } } },
	{ .category = "kvm", .event = "kvm_vmgexit_msr_protocol_enter", .view = COLLECT_DETAIL,
	  .prog_name = "kvmscope_kvm_vmgexit_msr",
	  .fields = { { "vcpu_id", 8, 4 }, { "ghcb_gpa", 16, 8 } } },
};
#define TP_HAS_VCPU 1
#endif

#define N_PROBES (sizeof(probe_templates) / sizeof(probe_templates[0]))
_Static_assert(N_PROBES <= N_PROBES_MAX, "raise N_PROBES_MAX");

/* Labels for enum kvmscope_drop_reason. */
const char *const exits_drop_names[KVMSCOPE_DROP_MAX] = {
	"hw_map_full", "user_map_full", "pio_map_full", "thread_map_full", "vm_map_full",
	"detail_map_full", "stream_ring_full",
	"exit_reason_unreadable",
};

/* ---- probe, attach, describe ---- */

static bool kernel_has_kvm_vcpu_btf(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod;
	bool found = false;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, "kvm_vcpu", BTF_KIND_STRUCT) > 0;
	if (!found) {
		mod = btf__load_module_btf("kvm", vmlinux);
		if (mod) {
			found = btf__find_by_name_kind(mod, "kvm_vcpu", BTF_KIND_STRUCT) > 0;
			btf__free(mod);
		}
	}
	btf__free(vmlinux);
	return found;
}

/* Does the tracepoint exist, with the record layout the BPF program reads? */
static void check_tracepoint(struct exits_probe *p)
{
	char *fmt = NULL;
	int r = tracefs_read_format(p->category, p->event, &fmt);

	if (r < 0) {
		if (!tracefs_root())
			snprintf(p->reason, sizeof(p->reason),
				 "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)");
		else if (r == -ENOENT)
			snprintf(p->reason, sizeof(p->reason), "the kernel has no %s:%s tracepoint%s",
				 p->category, p->event,
				 strcmp(p->category, "kvm") ? "" : " (is KVM loaded?)");
		else
			snprintf(p->reason, sizeof(p->reason), "cannot read the %s format: %s",
				 p->event, strerror(-r));
		return;
	}
	for (size_t i = 0; i < 3 && p->fields[i].field; i++) {
		int off, size;

		if (tracefs_field_layout(fmt, p->fields[i].field, &off, &size) < 0) {
			snprintf(p->reason, sizeof(p->reason), "%s has no field '%s'", p->event,
				 p->fields[i].field);
			goto out;
		}
		if (off != p->fields[i].offset || size != p->fields[i].size) {
			snprintf(p->reason, sizeof(p->reason),
				 "%s.%s is at offset %d size %d, the program expects %d/%d", p->event,
				 p->fields[i].field, off, size, p->fields[i].offset, p->fields[i].size);
			goto out;
		}
	}
	p->available = true;
out:
	free(fmt);
}

/*
 * Can tp_btf/<event> be used: the kernel's btf_trace_<event> typedef is in
 * @btf (the kvm module's, which includes vmlinux), and where the program
 * reads its first argument as a vCPU, it is a struct kvm_vcpu * (kvm_exit's
 * was the exit reason before Linux 5.16).
 */
static const struct btf_type *btf_strip(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

static bool tp_btf_usable(const struct btf *btf, const struct exits_probe *p, char *why, size_t len)
{
	const struct btf_type *t, *arg;
	char tname[96];
	int id;

	snprintf(tname, sizeof(tname), "btf_trace_%s", p->event);
	id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id <= 0) {
		snprintf(why, len, "kernel BTF has no %s", tname);
		return false;
	}
	t = btf_strip(btf, (uint32_t)id);
	t = t && btf_is_ptr(t) ? btf_strip(btf, t->type) : NULL;
	if (!t || !btf_is_func_proto(t)) {
		snprintf(why, len, "%s is not a pointer to a function", tname);
		return false;
	}
	if (!p->btf_vcpu_arg)
		return true;
	/* Parameter 0 is the tracepoint's void *data; the arguments follow. */
	arg = btf_vlen(t) >= 2 ? btf_strip(btf, btf_params(t)[1].type) : NULL;
	arg = arg && btf_is_ptr(arg) ? btf_strip(btf, arg->type) : NULL;
	if (!arg || !btf_is_struct(arg) || strcmp(btf__name_by_offset(btf, arg->name_off), "kvm_vcpu")) {
		snprintf(why, len, "the first argument of %s is not a struct kvm_vcpu *", p->event);
		return false;
	}
	return true;
}

static bool hw_backend_of(const char *backend)
{
	return !strcmp(backend, "kvm_amd") || !strcmp(backend, "kvm_intel") ||
	       !strcmp(backend, "kvm_arm64");
}

/*
 * Are exits counted at kvm_exit here?  Not on a software backend, whose
 * exits never fire it: there the userspace exits are the counts.
 */
bool exits_hw_counted(const struct exits_state *st)
{
	return hw_backend_of(manager_kvm_backend(st->m)) && st->probes[PROBE_KVM_EXIT].available;
}

/*
 * Choose, per event, the tp_btf program (no trace record is built) or the
 * classic one, and whether the KVM_RUN syscall hook is needed at all.
 */
static void choose_probes(struct exits_state *st, bool allow_btf, bool allow_fentry)
{
	const char *backend = manager_kvm_backend(st->m);
	bool hw_backend = hw_backend_of(backend);
	struct btf *vmlinux = allow_btf ? btf__load_vmlinux_btf() : NULL, *kvm = NULL;
	struct exits_probe *ioctl = &st->probes[PROBE_IOCTL], *dev = &st->probes[PROBE_DEV_IOCTL];

	if (vmlinux)
		kvm = btf__load_module_btf("kvm", vmlinux);
	for (size_t i = 0; i < N_PROBES; i++) {
		struct exits_probe *p = &st->probes[i];
		char why[160] = "";

		p->use_btf = p->not_needed = p->available = false;
		p->reason[0] = '\0';
		if (p->absent) {
			p->not_needed = true;
			snprintf(p->name, sizeof(p->name), "tracepoint/%s/%s", p->category, p->event);
			snprintf(p->reason, sizeof(p->reason), "%s", p->absent);
			continue;
		}
		if (p->fentry) {
			snprintf(p->name, sizeof(p->name), "fentry/%s", p->event);
			continue;	/* decided below */
		}
		if (vmlinux && p->btf_prog_name) {
			if (i == PROBE_KVM_EXIT && TP_HAS_VCPU && strcmp(backend, "kvm_amd"))
				snprintf(why, sizeof(why), "its reason is read from the VMCB (SVM only)");
			else
				p->use_btf = tp_btf_usable(kvm ? kvm : vmlinux, p, why, sizeof(why));
		}
		if (p->use_btf) {
			snprintf(p->name, sizeof(p->name), "tp_btf/%s", p->event);
			p->available = true;
			continue;
		}
		if (!p->prog_name) {
			/* A tp_btf program only (its record changed between releases). */
			snprintf(p->name, sizeof(p->name), "tp_btf/%s", p->event);
			snprintf(p->reason, sizeof(p->reason), "needs tp_btf: %s",
				 why[0] ? why : "kernel BTF is not available");
			continue;
		}
		snprintf(p->name, sizeof(p->name), "tracepoint/%s/%s", p->category, p->event);
		if (why[0])
			log_info("exits: %s: classic tracepoint, not tp_btf: %s", p->event, why);
		check_tracepoint(p);
	}
	for (size_t i = 0; i < N_PROBES; i++) {
		struct exits_probe *p = &st->probes[i];
		char views[64] = "";

		if (!p->view || p->absent || (manager_options(st->m)->collect & p->view))
			continue;
		/* Where kvm_exit does not fire, the userspace exits are the counts. */
		if (i == PROBE_USERSPACE_EXIT && !hw_backend)
			continue;
		for (unsigned int v = 1; v & COLLECT_ALL; v <<= 1)
			if (p->view & v)
				snprintf(views + strlen(views), sizeof(views) - strlen(views), "%s%s",
					 views[0] ? " nor " : "", collect_name(v));
		p->available = p->use_btf = false;
		p->not_needed = true;
		snprintf(p->reason, sizeof(p->reason), "switched off: --collect has no %s", views);
	}
	/*
	 * A syscall tracepoint puts every system call on the host on the slow
	 * path.  Where the hardware backend fires kvm_entry or kvm_exit with a
	 * vCPU argument, that does the hook's work (resolve the thread's vCPU,
	 * end the VMM's time), and an fentry on /dev/kvm's ioctl sees
	 * KVM_CREATE_VM.
	 */
	if (TP_HAS_VCPU && hw_backend && allow_fentry && st->vcpu_btf &&
	    (st->probes[PROBE_KVM_ENTRY].use_btf || st->probes[PROBE_KVM_EXIT].use_btf)) {
		dev->available = true;
		ioctl->available = false;
		ioctl->not_needed = true;
		snprintf(ioctl->reason, sizeof(ioctl->reason),
			 "not needed: tp_btf %s resolves vCPUs%s on %s, "
			 "fentry/kvm_dev_ioctl sees KVM_CREATE_VM",
			 st->probes[PROBE_KVM_ENTRY].use_btf ? "kvm_entry" : "kvm_exit",
			 st->probes[PROBE_KVM_ENTRY].use_btf ? " and ends the VMM's time" : "", backend);
	} else {
		dev->not_needed = true;
		snprintf(dev->reason, sizeof(dev->reason),
			 "not needed: sys_enter_ioctl sees KVM_CREATE_VM");
	}
	btf__free(kvm);
	btf__free(vmlinux);
	exits_kmod_mark(st);
}

/* The pin_meta this daemon would write: what it chose, with what sizes. */
static struct kvmscope_pin_meta wanted_meta(const struct exits_state *st)
{
	const struct daemon_options *o = manager_options(st->m);
	struct kvmscope_pin_meta meta = { .schema = KVMSCOPE_EXITS_SCHEMA_VERSION,
					  .collect = o->collect, .max_vms = o->max_vms,
					  .max_threads = o->max_threads, .max_keys = o->max_keys,
					  .max_keys_per_vm = o->max_keys_per_vm };

	for (size_t i = 0; i < N_PROBES; i++) {
		meta.probes |= (uint64_t)st->probes[i].available << (2 * i);
		meta.probes |= (uint64_t)(st->probes[i].available && st->probes[i].use_btf) << (2 * i + 1);
	}
	return meta;
}

/* "link_kvm_exit", "link_kvm_exit_backup": where probe @p's link (or its backup's) is pinned. */
static int link_pin_path(const struct exits_state *st, const struct exits_probe *p, bool backup,
			 char *buf, size_t len)
{
	char name[80];

	snprintf(name, sizeof(name), "link_%s%s", p->event, backup ? "_backup" : "");
	return pin_path(buf, len, st->pin_dir, name);
}

/*
 * The backup of probe @p, attached after its program (so it runs after
 * it), or adopted from its pin.  Without it the probe still counts; only
 * a skipped run is then lost, as the kernel's recursion_misses say.
 */
void exits_attach_backup(struct exits_state *st, struct exits_probe *p)
{
	struct bpf_program *prog;
	char path[300] = "";

	if (!p->btf_backup_name || !p->use_btf)
		return;
	if (st->pinned && link_pin_path(st, p, true, path, sizeof(path)) < 0)
		path[0] = '\0';
	if (st->adopted) {
		p->backup_link = path[0] && path_exists(path) ? bpf_link__open(path) : NULL;
		return;
	}
	if (!st->fast_reads || !st->backups_wanted || p->backup_link)
		return;
	prog = bpf_object__find_program_by_name(st->skel->obj, p->btf_backup_name);
	p->backup_link = prog ? bpf_program__attach(prog) : NULL;
	if (!p->backup_link) {
		log_warning("exits: %s: cannot attach its backup program: %s", p->name, strerror(errno));
		return;
	}
	if (st->pinned && path[0] && bpf_link__pin(p->backup_link, path) < 0)
		log_warning("exits: cannot pin the backup link of %s at %s: %s", p->name, path,
			    strerror(errno));
}

/*
 * Is there pinned state a previous daemon left that this one can adopt:
 * same schema, same probes and options, every link still pinned?  If
 * there is state but it does not match, say why in @why.
 */
static bool can_adopt(struct exits_state *st, char *why, size_t len)
{
	struct kvmscope_pin_meta have = { 0 }, want = wanted_meta(st);
	char path[300];
	uint32_t zero = 0;
	int fd;

	why[0] = '\0';
	if (pin_path(path, sizeof(path), st->pin_dir, "pin_meta") < 0)
		return false;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;	/* nothing pinned: a first start */
	if (bpf_map_lookup_elem(fd, &zero, &have) < 0)
		snprintf(why, len, "its metadata cannot be read");
	close(fd);
	if (why[0])
		return false;
	if (have.schema != want.schema) {
		snprintf(why, len, "it has schema version %u, this kvmscoped %u", have.schema,
			 want.schema);
		return false;
	}
	if (memcmp(&have, &want, sizeof(have))) {
		snprintf(why, len, "it was made with other options or probes (--collect, map sizes, kernel)");
		return false;
	}
	for (size_t i = 0; i < N_PROBES; i++) {
		if (!st->probes[i].available)
			continue;
		if (link_pin_path(st, &st->probes[i], false, path, sizeof(path)) < 0 ||
		    !path_exists(path)) {
			snprintf(why, len, "the link of %s is not pinned", st->probes[i].event);
			return false;
		}
	}
	return true;
}

/*
 * Lock the pin directory and decide: adopt what is there, or start clean
 * (removing it).  Without a pin directory, or when another kvmscoped
 * holds it, this daemon runs unpinned and says so in status.
 */
static void prepare_pins(struct exits_state *st)
{
	const struct daemon_options *o = manager_options(st->m);
	char why[200];
	int fd;

	st->pin_lock_fd = -1;
	if (!o->pin_dir[0]) {
		snprintf(st->pin_note, sizeof(st->pin_note), "off: --pin-dir none");
		return;
	}
	snprintf(st->pin_dir, sizeof(st->pin_dir), "%s", o->pin_dir);
	fd = pin_dir_lock(st->pin_dir);
	if (fd < 0) {
		snprintf(st->pin_note, sizeof(st->pin_note), "off: cannot lock %s: %s%s", st->pin_dir,
			 strerror(-fd), fd == -EWOULDBLOCK ? " (another kvmscoped uses it)" : "");
		log_warning("exits: pinning %s", st->pin_note);
		st->pin_dir[0] = '\0';
		return;
	}
	st->pin_lock_fd = fd;
	st->pinned = true;
	st->adopted = can_adopt(st, why, sizeof(why));
	if (st->adopted) {
		snprintf(st->pin_note, sizeof(st->pin_note),
			 "adopted the maps and links a previous kvmscoped pinned in %s", st->pin_dir);
		log_notice("exits: %s: counting went on while no daemon ran", st->pin_note);
		return;
	}
	if (why[0])
		log_notice("exits: pinned state in %s not adopted: %s; starting clean", st->pin_dir, why);
	/* Links go with their pins: the old programs stop counting into the old maps. */
	pin_dir_clear(st->pin_dir);
	snprintf(st->pin_note, sizeof(st->pin_note), "%s%s", why[0] ? "started clean: " : "new",
		 why[0] ? why : "");
}

/*
 * The exits object as built (@fast: exits_fast.bpf.o, the same maps and
 * programs reading kernel memory through bpf_rdonly_cast()).  One
 * skeleton type serves both: only the ELF it opens differs.
 */
_Static_assert(sizeof(struct exits_bpf) == sizeof(struct exits_fast_bpf),
	       "exits.bpf.o and exits_fast.bpf.o must have the same maps, programs and data");

static struct exits_bpf *exits_open(bool fast)
{
	struct exits_bpf *obj = calloc(1, sizeof(*obj));
	int err;

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	err = exits_bpf__create_skeleton(obj);
	if (!err && fast)
		obj->skeleton->data = exits_fast_bpf__elf_bytes(&obj->skeleton->data_sz);
	if (!err)
		err = bpf_object__open_skeleton(obj->skeleton, NULL);
	if (err) {
		exits_bpf__destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

static int open_and_load_variant(struct exits_state *st);

static int open_and_load(struct exits_state *st)
{
	int r;

	if (!st->fast_reads)
		return open_and_load_variant(st);
	/* While the fast-reads object is tried: its verifier log is not a warning. */
	progprobe_libbpf_quiet(true);
	r = open_and_load_variant(st);
	progprobe_libbpf_quiet(false);
	if (r >= 0)
		return r;
	snprintf(st->reads_note, sizeof(st->reads_note),
		 "bpf_probe_read_kernel(): this kernel's bpf_rdonly_cast() does not cast to void "
		 "(Linux 6.17+), which reads without a helper call");
	log_info("exits: kernel reads: %s", st->reads_note);
	st->fast_reads = false;
	return open_and_load_variant(st);
}

static int open_and_load_variant(struct exits_state *st)
{
	const struct daemon_options *o = manager_options(st->m);
	struct exits_bpf *s;
	int r;

	st->skel = s = exits_open(st->fast_reads);
	if (!s) {
		r = -errno;
		snprintf(st->load_error, sizeof(st->load_error), "cannot open the BPF object: %s",
			 strerror(-r));
		return r;
	}
	s->rodata->resolve_vcpu = st->vcpu_btf;
	/* Exits are counted when timed: only if something ends their time. */
	s->rodata->collect_latency = (o->collect & COLLECT_LATENCY) &&
		st->probes[PROBE_KVM_ENTRY].available;
	s->rodata->count_user_exits = (o->collect & COLLECT_VMM) || !exits_hw_counted(st);
	s->rodata->collect_vmm = (o->collect & COLLECT_VMM) &&
		(st->probes[PROBE_KVM_ENTRY].available || st->probes[PROBE_IOCTL].available);
	s->rodata->collect_backdoor = o->collect & COLLECT_BACKDOOR;
	/*
	 * The backups are loaded with the fast build (6.17+), and attached
	 * where the kernel preempts anywhere (Debian's 7.2 does; its
	 * tracepoints run their programs preemptible), or at the first
	 * skipped run the tick sees.
	 */
	{
		char how[160];

		st->backups_wanted = st->fast_reads && kernel_preempts_anywhere(how, sizeof(how)) == 1;
	}
	s->rodata->backup_runs = st->fast_reads;
	s->rodata->max_keys_per_vm = o->max_keys_per_vm;
	/* Sizes from the options; the per-VM and per-thread maps follow them. */
	bpf_map__set_max_entries(s->maps.vms_seen, o->max_vms);
	bpf_map__set_max_entries(s->maps.vm_state, o->max_vms);
	/* --max-threads 0: no slots, every exit through the hash maps (an array has one entry). */
	bpf_map__set_max_entries(s->maps.slots, o->max_threads ? o->max_threads : 1);
	bpf_map__set_max_entries(s->maps.free_slots, o->max_threads ? o->max_threads : 1);
	bpf_map__set_max_entries(s->maps.hw_exits, o->max_keys);
	bpf_map__set_max_entries(s->maps.user_exits, o->max_keys);
	bpf_map__set_max_entries(s->maps.pio_exits, o->max_keys);
	bpf_map__set_max_entries(s->maps.detail, o->max_keys);
	bpf_map__set_max_entries(s->maps.detail_other, o->max_keys / 4 ? o->max_keys / 4 : 16);
	/* Only what the probe table chooses loads (an architecture's object has others). */
	{
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, s->obj)
			bpf_program__set_autoload(prog, false);
	}
	for (size_t i = 0; i < N_PROBES; i++) {
		const struct exits_probe *p = &st->probes[i];
		struct bpf_program *classic = p->prog_name ?
			bpf_object__find_program_by_name(s->obj, p->prog_name) : NULL;
		struct bpf_program *btf = p->btf_prog_name ?
			bpf_object__find_program_by_name(s->obj, p->btf_prog_name) : NULL;

		/* Adopting: the pinned links keep their programs; none is loaded. */
		bool load = !st->adopted && p->available && !p->kmod;

		if (classic)
			bpf_program__set_autoload(classic, load && !p->use_btf);
		if (btf)
			bpf_program__set_autoload(btf, load && p->use_btf);
		if (p->btf_backup_name)
			bpf_program__set_autoload(
				bpf_object__find_program_by_name(s->obj, p->btf_backup_name),
				load && p->use_btf && st->fast_reads);
	}
	r = st->pinned ? pin_object_maps(s->obj, st->pin_dir) : 0;
	if (r >= 0)
		r = exits_bpf__load(s);
	if (r < 0) {
		snprintf(st->load_error, sizeof(st->load_error),
			 "cannot load the BPF programs: %s (run as root; see the log for the verifier)",
			 strerror(-r));
		exits_bpf__destroy(s);
		st->skel = NULL;
		return r;
	}
	if (st->pinned && !st->adopted) {
		struct kvmscope_pin_meta meta = wanted_meta(st);
		uint32_t zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(s->maps.pin_meta), &zero, &meta, BPF_ANY) < 0)
			log_warning("exits: cannot write the pin metadata: %s", strerror(errno));
	}
	return 0;
}

/* A clean stop: unpin, so nothing keeps counting for a daemon that is gone. */
static void remove_pins(struct exits_state *st)
{
	int r;

	if (!st->pinned || manager_options(st->m)->keep_pinned)
		return;
	r = pin_dir_remove(st->pin_dir);
	if (r < 0)
		log_warning_errno(r, "exits: cannot remove the pinned state in %s: %m", st->pin_dir);
}

void exits_free(void *state)
{
	struct exits_state *st = state;

	if (!st)
		return;
	remove_pins(st);
	exits_kmod_close(st);
	for (size_t i = 0; i < N_PROBES; i++) {
		bpf_link__destroy(st->probes[i].backup_link);
		bpf_link__destroy(st->probes[i].link);
	}
	exits_state_release(st);
	exits_slots_close(st);
	bpfstats_free(&st->bpf_cost);
	exits_bpf__destroy(st->skel);
	if (st->pin_lock_fd >= 0)
		close(st->pin_lock_fd);
	free(st);
}

int exits_probe(struct manager *m, void **state)
{
	struct exits_state *st;
	int r, any = 0;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->m = m;
	st->pin_lock_fd = -1;
	st->kmod_fd = -1;
	memcpy(st->probes, probe_templates, sizeof(probe_templates));
	st->ncpus = libbpf_num_possible_cpus();
	if (st->ncpus <= 0) {
		exits_free(st);
		return -EINVAL;
	}
	st->vcpu_btf = kernel_has_kvm_vcpu_btf();
	/* bpf_rdonly_cast() at all (Linux 6.2+; to void: 6.17+, which the load tells). */
	st->fast_reads = progprobe_kernel_has_func("bpf_rdonly_cast");
	if (st->fast_reads)
		snprintf(st->reads_note, sizeof(st->reads_note),
			 "bpf_rdonly_cast() to void: plain loads, no helper call");
	else
		snprintf(st->reads_note, sizeof(st->reads_note),
			 "bpf_probe_read_kernel(): the kernel has no bpf_rdonly_cast() (Linux 6.2+; "
			 "to void 6.17+), which reads without a helper call");
	*state = st;
	/* Cheapest first: tp_btf and fentry, then tp_btf alone, then classic. */
	choose_probes(st, true, true);
	/* kvmscope.ko for what BPF cannot attach, or for all it serves (--driver). */
	exits_kmod_start(st);
	for (size_t i = 0; i < N_PROBES; i++)
		any |= st->probes[i].available;
	if (!any) {
		snprintf(st->load_error, sizeof(st->load_error), "no tracepoint to attach to");
		return 0;
	}
	prepare_pins(st);
	r = open_and_load(st);
	if (r < 0 && st->adopted) {
		log_warning("exits: %s adopting the pinned state; starting clean", st->load_error);
		st->adopted = false;
		pin_dir_clear(st->pin_dir);
		r = open_and_load(st);
	}
	if (r < 0 && st->probes[PROBE_DEV_IOCTL].available) {
		log_warning("exits: %s with fentry; trying without", st->load_error);
		choose_probes(st, true, false);
		r = open_and_load(st);
	}
	if (r < 0 && st->probes[PROBE_KVM_ENTRY].use_btf) {
		log_warning("exits: %s with tp_btf; trying classic tracepoints", st->load_error);
		choose_probes(st, false, false);
		r = open_and_load(st);
	}
	if (r < 0) {
		log_error("exits: %s", st->load_error);
		return 0;
	}
	r = exits_slots_open(st);
	if (r < 0)
		log_warning("exits: cannot map the counter slots (%s): every exit goes to the hash maps",
			    strerror(-r));
	st->loaded = true;
	if (exits_ringbuf_open(st) < 0)
		log_warning("exits: cannot read the BPF ring buffers: VMs are found by polling");
	return 0;
}

int exits_attach(void *state)
{
	struct exits_state *st = state;
	int attached = 0;

	if (st->kmod_fatal) {
		log_error("exits: --driver kmod, but kvmscope.ko cannot count exits here: %s",
			  st->kmod_note);
		return -ENODEV;
	}
	if (!st->loaded) {
		for (size_t i = 0; i < N_PROBES; i++)
			if (st->probes[i].available)
				snprintf(st->probes[i].reason, sizeof(st->probes[i].reason), "%s",
					 st->load_error);
		return -ENOENT;
	}
	for (size_t i = 0; i < N_PROBES; i++) {
		struct exits_probe *p = &st->probes[i];
		struct bpf_program *prog;
		char path[300];

		if (!p->available)
			continue;
		if (p->kmod) {
			/* Attached by the module, now or when kvm.ko loads (status reads which). */
			p->attached = true;
			attached++;
			continue;
		}
		if (st->pinned && link_pin_path(st, p, false, path, sizeof(path)) < 0)
			path[0] = '\0';
		if (st->adopted) {
			/* The previous daemon's link, still attached, its program still counting. */
			p->link = path[0] ? bpf_link__open(path) : NULL;
			if (!p->link) {
				snprintf(p->reason, sizeof(p->reason), "cannot open the pinned link: %s",
					 strerror(errno));
				log_warning("exits: %s: %s", p->name, p->reason);
				continue;
			}
		} else {
			prog = bpf_object__find_program_by_name(st->skel->obj,
							p->use_btf ? p->btf_prog_name : p->prog_name);
			p->link = prog ? bpf_program__attach(prog) : NULL;
			if (!p->link) {
				snprintf(p->reason, sizeof(p->reason), "attach failed: %s", strerror(errno));
				log_warning("exits: %s: %s", p->name, p->reason);
				continue;
			}
			if (st->pinned && path[0] && bpf_link__pin(p->link, path) < 0)
				log_warning("exits: cannot pin the link of %s at %s: %s", p->name, path,
					    strerror(errno));
		}
		p->attached = true;
		attached++;
		exits_attach_backup(st, p);
	}
	for (size_t i = 0; i < N_PROBES; i++)
		if (!st->probes[i].attached && !st->probes[i].not_needed)
			log_notice("exits: %s not attached: %s", st->probes[i].name, st->probes[i].reason);
	return attached;
}

/* Labels for enum kvmscope_fallback. */
const char *const exits_fallback_names[KVMSCOPE_FALLBACK_MAX] = {
	"no_slot", "reason_out_of_range", "no_histogram_line", "port_table_taken",
};

/* The counter slots: how many, how many used, and what went to the hash maps. */
static json_t *describe_slots(struct exits_state *st)
{
	json_t *fb = json_object();

	for (uint32_t k = 0; k < KVMSCOPE_FALLBACK_MAX; k++)
		json_object_set_new(fb, exits_fallback_names[k],
				    json_integer((json_int_t)st->snap.fallbacks[k]));
	return json_pack("{s:b, s:I, s:I, s:I, s:o}", "mapped", st->slots != NULL,
			 "total", (json_int_t)st->n_slots, "used", (json_int_t)st->slots_used,
			 "bytes_each", (json_int_t)st->slot_size, "fallbacks", fb);
}

json_t *exits_describe(void *state)
{
	struct exits_state *st = state;
	json_t *probes = json_array(), *drops = json_object(), *isas = json_array(), *extra, *out;
	json_t *collect = json_array();
	bool latency = manager_options(st->m)->collect & COLLECT_LATENCY;
	bool backdoor = manager_options(st->m)->collect & COLLECT_BACKDOOR;
	bool vmm = manager_options(st->m)->collect & COLLECT_VMM;
	bool user_counted = vmm || !exits_hw_counted(st);
	const struct exits_probe *ioctl = &st->probes[PROBE_IOCTL], *entry = &st->probes[PROBE_KVM_ENTRY];
	const struct exits_probe *uexit = &st->probes[PROBE_USERSPACE_EXIT];
	bool entry_resolves = entry->attached && (entry->use_btf || entry->kmod);
	bool resolves = entry->kmod || (st->vcpu_btf && (ioctl->attached || entry_resolves));
	size_t attached = 0, wanted = 0;
	json_t *driver = exits_kmod_describe(st);

	for (size_t i = 0; i < N_PROBES; i++) {
		const struct exits_probe *p = &st->probes[i];

		attached += p->attached;
		wanted += !p->not_needed;
		json_array_append_new(probes, json_pack("{s:s, s:s, s:s, s:b, s:b, s:s?, s:b}", "name", p->name,
			"type", p->kmod ? "kmod" : p->fentry ? "fentry" : p->use_btf ? "tp_btf" : "tracepoint",
			"driver", p->kmod ? "kmod" : "bpf", "available", p->available,
			"attached", p->attached, "reason", p->attached ? NULL : p->reason,
			"backup", p->backup_link != NULL));
	}
	for (uint32_t d = 0; d < KVMSCOPE_DROP_MAX; d++)
		json_object_set_new(drops, exits_drop_names[d],
				    json_integer((json_int_t)st->snap.drops[d]));
	/* ISAs whose kvm_exit has been seen, live or in a retained snapshot. */
	for (size_t e = 0; e < st->n_exited; e++)
		for (size_t i = 0; i < st->exited[e].t.n; i++)
			if (st->exited[e].t.v[i].kind == EXIT_KIND_HW)
				st->isas_seen |= 1u << (st->exited[e].t.v[i].isa & 31);
	for (uint32_t isa = 0; isa < 32; isa++)
		if (st->isas_seen & (1u << isa))
			json_array_append_new(isas, json_string(isa_name(isa)));
	for (unsigned int v = 1; v & COLLECT_ALL; v <<= 1)
		if (manager_options(st->m)->collect & v)
			json_array_append_new(collect, json_string(collect_name(v)));
	extra = json_pack("{s:o, s:o, s:{s:b, s:s}, s:{s:b, s:s}, s:{s:b, s:s}, s:{s:b, s:s}}",
		"isas_seen", isas, "collect", collect,
		"handling_latency", "available", latency && entry->attached &&
			st->probes[PROBE_KVM_EXIT].attached,
		"how", !latency ? "switched off: --collect has no latency"
			: entry->attached ? "kvm_exit -> next kvm_entry of the thread"
			: "unavailable: kvm_entry is not attached",
		"userspace_exits", "available", uexit->attached && user_counted,
		"how", !uexit->attached ? uexit->reason
			: !user_counted ? "switched off: --collect has no vmm"
			: !exits_hw_counted(st) ? "kvm_userspace_exit: the counts here (kvm_exit does not fire)"
			: "kvm_userspace_exit, by KVM_EXIT reason",
		"vmm_latency", "available", vmm && uexit->attached && (ioctl->attached || entry->attached),
		"how", !vmm ? "switched off: --collect has no vmm"
			: ioctl->attached ? "kvm_userspace_exit -> the thread's next KVM_RUN"
			: entry->attached ? "kvm_userspace_exit -> the thread's next kvm_entry"
			: "unavailable: neither the KVM_RUN hook nor kvm_entry is attached",
		"vmware_backdoor", "available", TP_HAS_VCPU && backdoor && resolves && uexit->attached,
		"how", !TP_HAS_VCPU ? "x86 only: the VMware backdoor is an x86 I/O port"
			: !backdoor ? "switched off: --collect has no backdoor"
			: entry->kmod ? "RAX/RCX of the vCPU (kvmscope.ko, struct kvm_vcpu from kvm_entry) at KVM_EXIT_IO on 0x5658/0x5659"
			: !st->vcpu_btf ? "unavailable: kernel BTF has no struct kvm_vcpu to read the registers from"
			: ioctl->attached ? "RAX/RCX of the vCPU (struct kvm_vcpu via the KVM_RUN fd) at KVM_EXIT_IO on 0x5658/0x5659"
			: "RAX/RCX of the vCPU (struct kvm_vcpu from kvm_entry) at KVM_EXIT_IO on 0x5658/0x5659");
	json_object_set_new(extra, "slots", describe_slots(st));
	json_object_set_new(extra, "driver", driver);
	json_object_set_new(extra, "kernel_reads", json_pack("{s:b, s:s}", "fast", st->fast_reads,
							     "how", st->reads_note));
	out = json_pack("{s:s, s:i, s:o, s:{s:b, s:s}, s:o}", "state",
			 attached == wanted ? "active" : attached ? "degraded" : "inactive",
			 "schema_version", KVMSCOPE_EXITS_SCHEMA_VERSION, "probes", probes,
			 "vcpu_resolution", "available", resolves, "how",
			 entry->kmod ? "kvm_entry's struct kvm_vcpu (kvmscope.ko), at the thread's first entry"
			 : !st->vcpu_btf ? "unavailable: kernel BTF has no struct kvm_vcpu; vcpu shows as unknown"
			 : ioctl->attached ? "KVM_RUN fd -> struct kvm_vcpu (kernel BTF)"
			 : "kvm_entry's struct kvm_vcpu (tp_btf), at the thread's first entry",
			 "dropped", drops);
	json_object_update(out, extra);
	json_decref(extra);
	json_object_set_new(out, "pinning", json_pack("{s:s?, s:b, s:b, s:s, s:b}", "dir",
		st->pinned ? st->pin_dir : NULL, "pinned", st->pinned, "adopted", st->adopted,
		"state", st->pin_note, "kept_at_stop", st->pinned && manager_options(st->m)->keep_pinned));
	json_object_set_new(out, "bpf_cost", exits_bpf_cost_json(st));
	return out;
}

