// SPDX-License-Identifier: GPL-2.0-only
/* The ioctls capability's records and launch timelines; see model.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioctls/model.h"

int ioctl_table_push(struct ioctl_table *t, const struct kvmscope_ioctl_key *key,
		     const struct kvmscope_ioctl_value *value)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct ioctl_record *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].key = *key;
	t->v[t->n].count = value->count;
	t->v[t->n].time = value->time;
	t->n++;
	return 0;
}

void ioctl_table_free(struct ioctl_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int record_cmp(const void *a, const void *b)
{
	const struct kvmscope_ioctl_key *x = &((const struct ioctl_record *)a)->key;
	const struct kvmscope_ioctl_key *y = &((const struct ioctl_record *)b)->key;

	CMP(x->tgid, y->tgid);
	CMP(x->kind, y->kind);
	CMP(x->cmd, y->cmd);
	CMP(x->sub, y->sub);
	CMP(x->result, y->result);
	CMP(x->detail, y->detail);
	CMP(x->vcpu, y->vcpu);
	return 0;
}

void ioctl_table_sort(struct ioctl_table *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(t->v[0]), record_cmp);
}

size_t ioctl_table_range(const struct ioctl_table *t, uint32_t pid, size_t *first)
{
	size_t lo = 0, hi = t->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].key.tgid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < t->n && t->v[end].key.tgid == pid; end++)
		;
	*first = lo;
	return end - lo;
}

void ioctl_cmds_for(struct ioctl_cmds *c, enum ioctl_arch arch)
{
	c->arch = arch;
	c->kvm_run = ioctl_number("KVM_RUN", arch);
	c->create_vm = ioctl_number("KVM_CREATE_VM", arch);
	c->check_extension = ioctl_number("KVM_CHECK_EXTENSION", arch);
	c->enable_cap = ioctl_number("KVM_ENABLE_CAP", arch);
	c->memory_encrypt_op = ioctl_number("KVM_MEMORY_ENCRYPT_OP", arch);
	c->pv_command = ioctl_number("KVM_S390_PV_COMMAND", arch);
	c->pv_cpu_command = ioctl_number("KVM_S390_PV_CPU_COMMAND", arch);
	c->arm_vcpu_init = ioctl_number("KVM_ARM_VCPU_INIT", arch);
	c->set_cpuid2 = ioctl_number("KVM_SET_CPUID2", arch);
}

const char *vm_protection_name(enum vm_protection p)
{
	static const char *const names[] = {
		[PROTECTION_NONE] = "none",
		[PROTECTION_SW_PROTECTED] = "sw_protected",
		[PROTECTION_SEV] = "sev",
		[PROTECTION_SEV_ES] = "sev_es",
		[PROTECTION_SNP] = "snp",
		[PROTECTION_TDX] = "tdx",
		[PROTECTION_S390_PV] = "s390_pv",
		[PROTECTION_ARM_NESTED] = "arm64_nested",
		[PROTECTION_PKVM] = "pkvm",
	};

	return (unsigned int)p < sizeof(names) / sizeof(names[0]) ? names[p] : "unknown";
}

/* The protection a KVM_CREATE_VM machine type asks for. */
static enum vm_protection protection_of_type(enum ioctl_arch arch, uint32_t type)
{
	if (arch == IOCTL_ARCH_X86_64) {
		switch (type) {
		case 1: return PROTECTION_SW_PROTECTED;
		case 2: return PROTECTION_SEV;
		case 3: return PROTECTION_SEV_ES;
		case 4: return PROTECTION_SNP;
		case 5: return PROTECTION_TDX;
		}
	} else if (arch == IOCTL_ARCH_ARM64 && (type & (1u << 31))) {
		return PROTECTION_PKVM;
	}
	return PROTECTION_NONE;
}

const char *ioctl_sub_name(const struct ioctl_cmds *c, enum vm_protection p, uint32_t cmd,
			   uint32_t sub, char *buf, size_t len)
{
	const char *n = NULL;

	/* Request 0 is a VM's folded key, and the number of what an arch lacks. */
	if (cmd == KVMSCOPE_IOCTL_CMD_FOLDED)
		return NULL;
	if (cmd == c->memory_encrypt_op)
		n = p == PROTECTION_TDX ? tdx_cmd_name(sub) : sev_cmd_name(sub);
	else if (cmd == c->pv_command || cmd == c->pv_cpu_command)
		n = pv_cmd_name(sub);
	else if (cmd == c->create_vm)
		return vm_type_name(sub, c->arch, buf, len);
	else if (cmd == c->check_extension || cmd == c->enable_cap)
		n = kvm_cap_name(sub);
	else if (cmd == c->arm_vcpu_init)
		n = arm_target_name(sub);
	else
		return NULL;
	if (n)
		return n;
	snprintf(buf, len, "%u", sub);
	return buf;
}

const char *launch_step_name(const struct ioctl_cmds *c, enum vm_protection p,
			     const struct launch_step *s, char *buf, size_t len)
{
	const char *n;

	/* The sub-command is the step where there is one; else the ioctl. */
	if (s->cmd == c->memory_encrypt_op || s->cmd == c->pv_command ||
	    s->cmd == c->pv_cpu_command) {
		n = ioctl_sub_name(c, p, s->cmd, s->sub, buf, len);
		if (n && n != buf)
			return n;
	}
	return ioctl_name_or_number(s->cmd, s->kind, c->arch, buf, len);
}

static bool contains(const char *s, const char *part)
{
	return s && strstr(s, part);
}

/* The state a successful step @name of a confidential launch leads to, or NULL (no change). */
static const char *state_after(const char *name)
{
	if (contains(name, "LAUNCH_FINISH") || contains(name, "FINALIZE_VM") ||
	    contains(name, "KVM_PV_VERIFY"))
		return "running";
	if (contains(name, "LAUNCH_MEASURE"))
		return "measured";
	if (contains(name, "LAUNCH_") || contains(name, "INIT_MEM_REGION") ||
	    contains(name, "INIT_VCPU") || contains(name, "KVM_PV_SET_SEC_PARMS") ||
	    contains(name, "KVM_PV_UNPACK"))
		return "launching";
	if (contains(name, "SEND_") || contains(name, "RECEIVE_"))
		return "migrating";
	if (contains(name, "KVM_PV_DISABLE") || contains(name, "DECOMMISSION"))
		return "torn_down";
	if (contains(name, "INIT") || contains(name, "KVM_PV_ENABLE"))
		return "initialized";
	return NULL;
}

int launch_add(struct launch *l, const struct ioctl_cmds *c, const struct kvmscope_ioctl_event *ev)
{
	struct launch_step *s = l->n_steps ? &l->steps[l->n_steps - 1] : NULL;
	bool failed = ev->result < 0, launch_call = true;
	const char *name;
	char buf[64];

	if (!l->state)
		l->state = "created";
	if (ev->cmd == c->create_vm) {
		if (!failed)
			l->protection = protection_of_type(c->arch, ev->sub);
	} else if (ev->cmd == c->memory_encrypt_op) {
		/* A firmware error fails the call (-EIO and the like); .error says which. */
		if (!failed && l->protection == PROTECTION_NONE) {
			const char *n = sev_cmd_name(ev->sub);

			/* Legacy SEV: KVM_SEV_INIT / KVM_SEV_ES_INIT on a default VM. */
			if (contains(n, "KVM_SEV_ES_INIT"))
				l->protection = PROTECTION_SEV_ES;
			else if (contains(n, "KVM_SEV_INIT"))
				l->protection = PROTECTION_SEV;
		}
	} else if (ev->cmd == c->pv_command || ev->cmd == c->pv_cpu_command) {
		if (!failed && ev->cmd == c->pv_command && contains(pv_cmd_name(ev->sub), "KVM_PV_ENABLE"))
			l->protection = PROTECTION_S390_PV;
	} else if (ev->cmd == c->arm_vcpu_init) {
		/* features[0] bit 7: KVM_ARM_VCPU_HAS_EL2, nested virtualization. */
		if (!failed && (ev->detail & (1u << 7)))
			l->protection = PROTECTION_ARM_NESTED;
	} else {
		/* KVM_ENABLE_CAP and the rest: probing fails often and fails nothing. */
		launch_call = false;
	}

	if (s && s->cmd == ev->cmd && s->sub == ev->sub && s->result == ev->result &&
	    s->detail == ev->detail && s->kind == ev->kind && s->vcpu == ev->vcpu) {
		s->count++;
		s->duration_ns += ev->duration_ns;
		s->last_ns = ev->ts_ns + ev->duration_ns;
	} else {
		if (l->n_steps == LAUNCH_STEPS_MAX) {
			memmove(&l->steps[0], &l->steps[1], (l->n_steps - 1) * sizeof(l->steps[0]));
			l->n_steps--;
			l->dropped_steps++;
		}
		if (l->n_steps == l->cap_steps) {
			size_t cap = l->cap_steps ? l->cap_steps * 2 : 8;
			struct launch_step *v = realloc(l->steps, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			l->steps = v;
			l->cap_steps = cap;
		}
		s = &l->steps[l->n_steps++];
		*s = (struct launch_step){ .ts_ns = ev->ts_ns, .duration_ns = ev->duration_ns,
					   .last_ns = ev->ts_ns + ev->duration_ns, .count = 1,
					   .cmd = ev->cmd, .sub = ev->sub, .detail = ev->detail,
					   .vcpu = ev->vcpu, .result = ev->result,
					   .detail64 = ev->detail64, .kind = ev->kind };
	}
	if (!launch_call)
		return 0;
	name = launch_step_name(c, l->protection, s, buf, sizeof(buf));
	if (failed) {
		l->state = "failed";
		snprintf(l->failed_step, sizeof(l->failed_step), "%s", name);
	} else {
		/* A VM made, a vCPU set up: a new start, whatever failed before. */
		const char *next = ev->cmd == c->create_vm ? "created" :
				   ev->cmd == c->arm_vcpu_init ? "initialized" : state_after(name);

		if (next) {
			l->state = next;
			l->failed_step[0] = '\0';
		}
	}
	return 0;
}

void launch_free(struct launch *l)
{
	free(l->steps);
	memset(l, 0, sizeof(*l));
}
