// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope.ko: the helper module of kvmscoped, for what BPF cannot do.
 *
 * It registers the misc device /dev/kvmscope (0600).  Its first ioctl is
 * the handshake: the module's version, its API version and the schema
 * hash of the headers it shares with the daemon (include/kvmscope/), so a
 * daemon never talks to a module built from other headers.  The others
 * drive the live-patch consistency canary (canary.c) and the exit
 * counters kept without BPF (exits.c), which the daemon maps from it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmscope.h"

#ifdef KVMSCOPE_SCHEMA_SKEW
/* The lab's kvmscope_skew.ko: a schema the daemon must refuse. */
#define KVMSCOPE_SCHEMA_BUILT (KVMSCOPE_SCHEMA ^ 1ULL)
#else
#define KVMSCOPE_SCHEMA_BUILT KVMSCOPE_SCHEMA
#endif

static long kvmscope_ioctl_version(void __user *argp)
{
	struct kvmscope_version v = {
		.api = KVMSCOPE_KMOD_API,
		.schema = KVMSCOPE_SCHEMA_BUILT,
	};

	if (kvmscope_canary_supported())
		v.features |= KVMSCOPE_FEATURE_CANARY;
	if (kvmscope_exits_supported())
		v.features |= KVMSCOPE_FEATURE_EXITS;
	strscpy(v.version, KVMSCOPE_VERSION, sizeof(v.version));
	return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
}

static long kvmscope_ioctl_canary_start(void __user *argp)
{
	struct kvmscope_canary_start req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	return kvmscope_canary_start(&req);
}

static long kvmscope_ioctl_canary_report(void __user *argp)
{
	struct kvmscope_canary_report *rep;
	long ret = 0;

	rep = kzalloc(sizeof(*rep), GFP_KERNEL);
	if (!rep)
		return -ENOMEM;
	kvmscope_canary_report(rep);
	if (copy_to_user(argp, rep, sizeof(*rep)))
		ret = -EFAULT;
	kfree(rep);
	return ret;
}

static long kvmscope_ioctl_exits_start(struct file *file, void __user *argp)
{
	struct kvmscope_kexits_start req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	return kvmscope_exits_start(file, &req);
}

static long kvmscope_ioctl_exits_free(struct file *file, void __user *argp)
{
	__u32 tgid;

	if (copy_from_user(&tgid, argp, sizeof(tgid)))
		return -EFAULT;
	return kvmscope_exits_free(file, tgid);
}

static long kvmscope_ioctl_exits_stream(struct file *file, void __user *argp)
{
	struct kvmscope_kexits_stream req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	return kvmscope_exits_stream(file, &req);
}

static long kvmscope_ioctl_exits_consumed(struct file *file, void __user *argp)
{
	__u64 tail;

	if (copy_from_user(&tail, argp, sizeof(tail)))
		return -EFAULT;
	return kvmscope_exits_consumed(file, tail);
}

static long kvmscope_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KVMSCOPE_IOC_VERSION:
		return kvmscope_ioctl_version(argp);
	case KVMSCOPE_IOC_CANARY_REPORT:
		return kvmscope_ioctl_canary_report(argp);
	case KVMSCOPE_IOC_CANARY_START:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return kvmscope_ioctl_canary_start(argp);
	case KVMSCOPE_IOC_CANARY_STOP:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		kvmscope_canary_stop();
		return 0;
	case KVMSCOPE_IOC_EXITS_START:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return kvmscope_ioctl_exits_start(file, argp);
	case KVMSCOPE_IOC_EXITS_STOP:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return kvmscope_exits_stop(file);
	case KVMSCOPE_IOC_EXITS_FREE:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return kvmscope_ioctl_exits_free(file, argp);
	case KVMSCOPE_IOC_EXITS_STREAM:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return kvmscope_ioctl_exits_stream(file, argp);
	case KVMSCOPE_IOC_EXITS_CONSUMED:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return kvmscope_ioctl_exits_consumed(file, argp);
	default:
		return -ENOTTY;
	}
}

static int kvmscope_mmap(struct file *file, struct vm_area_struct *vma)
{
	return kvmscope_exits_mmap(file, vma);
}

static int kvmscope_release(struct inode *inode, struct file *file)
{
	kvmscope_exits_release(file);
	return 0;
}

static const struct file_operations kvmscope_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kvmscope_ioctl,
	.mmap = kvmscope_mmap,
	.release = kvmscope_release,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kvmscope_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KVMSCOPE_KMOD_DEVICE,
	.fops = &kvmscope_fops,
	.mode = 0600,
};

static int __init kvmscope_init(void)
{
	int ret;

	kvmscope_exits_init();
	ret = misc_register(&kvmscope_dev);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", KVMSCOPE_KMOD_DEVICE, ret);
		return ret;
	}
	pr_info("version %s, API %u, schema %016llx%s\n", KVMSCOPE_VERSION, KVMSCOPE_KMOD_API,
		(unsigned long long)KVMSCOPE_SCHEMA_BUILT,
		kvmscope_canary_supported() ? "" : " (no consistency canary on this kernel)");
	return 0;
}

static void __exit kvmscope_exit(void)
{
	misc_deregister(&kvmscope_dev);
	kvmscope_canary_exit();
	kvmscope_exits_exit();
}

module_init(kvmscope_init);
module_exit(kvmscope_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kvmscope helper: handshake, live-patch consistency canary, exits without BPF");
MODULE_VERSION(KVMSCOPE_VERSION);
