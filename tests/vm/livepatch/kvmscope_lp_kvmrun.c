// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope_lp_kvmrun: a livepatch of kvm.ko that replaces
 * kvm_arch_vcpu_ioctl_run(), the function under every KVM_RUN, with one
 * that returns -EINTR.  A vCPU thread inside KVM_RUN has the original on
 * its stack until it returns to user space, so the transition waits on it:
 * the usual reason a KVM host's patch stalls, which tests/vm/lab.c makes
 * kvmscope show.  The lab's guest makes no KVM_RUN after the one the test
 * waits on, and the patch is disabled before any other guest runs: the
 * replacement is never meant to serve a guest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

struct kvm_vcpu;

static int kvmscope_lp_vcpu_run(struct kvm_vcpu *vcpu)
{
	return -EINTR;
}

static struct klp_func kvm_funcs[] = {
	{
		.old_name = "kvm_arch_vcpu_ioctl_run",
		.new_func = kvmscope_lp_vcpu_run,
	},
	{ }
};

static struct klp_object patched_objects[] = {
	{
		.name = "kvm",
		.funcs = kvm_funcs,
	},
	{ }
};

static struct klp_patch kvmrun_patch = {
	.mod = THIS_MODULE,
	.objs = patched_objects,
};

static int __init kvmscope_lp_kvmrun_init(void)
{
	return klp_enable_patch(&kvmrun_patch);
}

static void __exit kvmscope_lp_kvmrun_exit(void)
{
}

module_init(kvmscope_lp_kvmrun_init);
module_exit(kvmscope_lp_kvmrun_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kvmscope");
MODULE_DESCRIPTION("kvmscope lab livepatch: KVM_RUN held on the vCPU's stack");
MODULE_INFO(livepatch, "Y");
