// SPDX-License-Identifier: GPL-2.0-only
/*
 * One empty program per BPF program type that kvmscope might attach with.
 * The daemon loads and attaches them one at a time at start (see
 * daemon/progprobe.c), so that `status` says which types this kernel
 * really allows, not which ones it merely declares.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* 1, not 0: 0 would drop the event for perf users while the probe is attached. */
SEC("tp/kvm/kvm_exit")
int probe_tracepoint(void *ctx)
{
	return 1;
}

SEC("raw_tp/kvm_exit")
int probe_raw_tp(void *ctx)
{
	return 0;
}

/* kvm may be a module: libbpf then finds the target in the module's BTF. */
SEC("tp_btf/kvm_exit")
int BPF_PROG(probe_tp_btf)
{
	return 0;
}

SEC("fentry/kvm_vcpu_ioctl")
int BPF_PROG(probe_fentry)
{
	return 0;
}

SEC("kprobe/kvm_vcpu_ioctl")
int BPF_KPROBE(probe_kprobe)
{
	return 0;
}
