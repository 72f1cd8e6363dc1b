// SPDX-License-Identifier: GPL-2.0-only
/* Exit events from text trace lines; see traceline.h. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "kvmscope/exits.h"
#include "traceline.h"

/* Longest reason text an x86 kvm_exit prints: a name, then VMX flags. */
#define X86_REASON_TEXT_MAX 128

static bool skip_literal(const char **p, const char *literal)
{
	size_t n = strlen(literal);

	if (strncmp(*p, literal, n))
		return false;
	*p += n;
	return true;
}

/*
 * An unsigned number in @base at *p, without sign or leading blanks
 * (strtoull() would take both); a "0x" prefix is the caller's to skip.
 */
static bool parse_number(const char **p, int base, uint64_t *value)
{
	char *end;

	if (base == 16 ? !isxdigit((unsigned char)**p) : !isdigit((unsigned char)**p))
		return false;
	errno = 0;
	*value = strtoull(*p, &end, base);
	if (errno)
		return false;
	*p = end;
	return true;
}

/* "0x" and hex digits, as "0x%x" and __print_symbolic()'s fallback print them. */
static bool parse_hex(const char **p, uint64_t *value)
{
	return skip_literal(p, "0x") && parse_number(p, 16, value);
}

/* A whole string that is one "0x" hex number fitting 32 bits. */
static bool hex_u32_text(const char *text, uint32_t *value)
{
	uint64_t v;

	if (!parse_hex(&text, &v) || *text || v > UINT32_MAX)
		return false;
	*value = (uint32_t)v;
	return true;
}

/*
 * "TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0000000000400010".  The class is
 * taken from its number: the name in parentheses is the kernel's, and is a
 * number itself for the classes kvm_arm_exception_class lacks.
 */
static int parse_arm64_exit(const char *p, struct traceline_exit *parsed)
{
	const char *colon = strchr(p, ':');
	char ret_text[DECODE_NAME_MAX];
	uint32_t ret;
	uint64_t ec, pc;

	if (!colon || colon == p || (size_t)(colon - p) >= sizeof(ret_text))
		return -EINVAL;
	memcpy(ret_text, p, (size_t)(colon - p));
	ret_text[colon - p] = '\0';
	if (!hex_u32_text(ret_text, &ret)) {
		const struct reason_name *r = decode_table_find_name("arm64_exception", ret_text);

		if (!r)
			return -EINVAL;
		ret = r->code;
	}
	p = colon + 1;
	if (!skip_literal(&p, " HSR_EC: ") || !parse_hex(&p, &ec) || ec > UINT32_MAX)
		return -EINVAL;
	if (!skip_literal(&p, " ("))
		return -EINVAL;
	p = strchr(p, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* The kernel prints "), PC:"; hand-copied lines often lose the comma. */
	skip_literal(&p, ",");
	if (!skip_literal(&p, " PC: ") || !parse_hex(&p, &pc))
		return -EINVAL;
	parsed->isa = KVMSCOPE_ISA_ARM64;
	parsed->reason = arm64_exit_reason(ret, (uint32_t)ec);
	parsed->vcpu = KVMSCOPE_VCPU_UNKNOWN;
	parsed->pc = pc;
	return 0;
}

/* "01[0704c00180000000-000000000040a1b2]: exit sie icptcode 4 (Instruction)" */
static int parse_s390_sie_exit(const char *p, struct traceline_exit *parsed)
{
	uint64_t id, pswmask, pswaddr, icptcode;

	if (!parse_number(&p, 10, &id) || id >= KVMSCOPE_VCPU_UNKNOWN ||
	    !skip_literal(&p, "[") || !parse_number(&p, 16, &pswmask) ||
	    !skip_literal(&p, "-") || !parse_number(&p, 16, &pswaddr) ||
	    !skip_literal(&p, "]: exit sie icptcode ") || !parse_number(&p, 10, &icptcode) ||
	    icptcode > UINT8_MAX)
		return -EINVAL;
	parsed->isa = KVMSCOPE_ISA_S390;
	parsed->reason = (uint32_t)icptcode;
	parsed->vcpu = (uint32_t)id;
	parsed->pc = pswaddr;
	return 0;
}

/*
 * The reason text of an x86 kvm_exit: an SVM name (which may hold a space,
 * "PF excp"), or a VMX basic name followed by its flags ("INVALID_STATE
 * FAILED_VMENTRY", unnamed flags as hex), or a number for a code the
 * kernel has no string for.  Modifies @text.
 */
static int x86_reason_from_text(char *text, struct traceline_exit *parsed)
{
	const struct reason_name *r = decode_table_find_name("svm", text);
	char *token, *save = NULL;
	uint32_t reason, flag;
	bool vmx;

	if (r) {
		parsed->isa = KVMSCOPE_ISA_SVM;
		parsed->reason = r->code;
		return 0;
	}
	token = strtok_r(text, " ", &save);
	if (!token)
		return -EINVAL;
	r = decode_table_find_name("vmx", token);
	if (r)
		reason = r->code;
	else if (!hex_u32_text(token, &reason))
		return -EINVAL;
	vmx = r != NULL;
	while ((token = strtok_r(NULL, " ", &save))) {
		if (!strcmp(token, "FAILED_VMENTRY"))
			flag = 0x80000000u;
		else if (!hex_u32_text(token, &flag))
			return -EINVAL;
		reason |= flag;
		/* Only VMX prints flags. */
		vmx = true;
	}
	parsed->isa = vmx ? KVMSCOPE_ISA_VMX : KVMSCOPE_ISA_UNKNOWN;
	parsed->reason = reason;
	return 0;
}

/* "vcpu 0 reason io rip 0xfff0 info1 0x... info2 ..." (older kernels: "info %llx %llx"). */
static int parse_x86_exit(const char *p, struct traceline_exit *parsed)
{
	char text[X86_REASON_TEXT_MAX];
	const char *end;
	uint64_t vcpu, rip;
	int r;

	if (!skip_literal(&p, "vcpu ") || !parse_number(&p, 10, &vcpu) ||
	    vcpu >= KVMSCOPE_VCPU_UNKNOWN || !skip_literal(&p, " reason "))
		return -EINVAL;
	end = strstr(p, " rip 0x");
	if (!end || end == p || (size_t)(end - p) >= sizeof(text))
		return -EINVAL;
	memcpy(text, p, (size_t)(end - p));
	text[end - p] = '\0';
	p = end + strlen(" rip ");
	if (!parse_hex(&p, &rip))
		return -EINVAL;
	r = x86_reason_from_text(text, parsed);
	if (r < 0)
		return r;
	parsed->vcpu = (uint32_t)vcpu;
	parsed->pc = rip;
	return 0;
}

/*
 * Where @event's text starts in @line: after "<event>: ", the event name
 * standing alone or after perf script's "<system>:".
 */
static const char *event_payload(const char *line, const char *event)
{
	size_t n = strlen(event);

	for (const char *p = strstr(line, event); p; p = strstr(p + 1, event)) {
		bool starts_word = p == line || p[-1] == ' ' || p[-1] == ':';

		if (starts_word && p[n] == ':' && p[n + 1] == ' ')
			return p + n + 2;
	}
	return NULL;
}

int traceline_parse_exit(const char *line, struct traceline_exit *parsed)
{
	const char *x86_or_arm64 = event_payload(line, "kvm_exit");
	const char *s390 = event_payload(line, "kvm_s390_sie_exit");
	const char *first = line;

	while (isspace((unsigned char)*first))
		first++;
	if (*first == '#' || (!x86_or_arm64 && !s390))
		return -ENOENT;
	/* Both names in one line: the event is the one that comes first. */
	if (s390 && (!x86_or_arm64 || s390 < x86_or_arm64))
		return parse_s390_sie_exit(s390, parsed);
	if (!strncmp(x86_or_arm64, "vcpu ", 5))
		return parse_x86_exit(x86_or_arm64, parsed);
	return parse_arm64_exit(x86_or_arm64, parsed);
}
