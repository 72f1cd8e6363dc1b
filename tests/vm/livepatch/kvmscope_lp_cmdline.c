// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope_lp_cmdline: a livepatch that replaces cmdline_proc_show() in
 * vmlinux, so that /proc/cmdline reads KVMSCOPE_LP_CMDLINE_LINE while the
 * patch is enabled.  tests/vm/lab.c uses it to drive a whole livepatch
 * cycle (enable, transition, ftrace site, disable, unload) in the lab.
 *
 * The livepatch API used here (klp_func, klp_object, klp_patch and
 * klp_enable_patch()) is the same in Linux 6.1 and 6.12.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

/* What /proc/cmdline reads while the patch is active; lab.c expects it. */
#define KVMSCOPE_LP_CMDLINE_LINE "kvmscope livepatch active\n"

/* Same prototype as fs/proc/cmdline.c's cmdline_proc_show() in 6.1 and 6.12. */
static int kvmscope_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_puts(m, KVMSCOPE_LP_CMDLINE_LINE);
	return 0;
}

static struct klp_func vmlinux_funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = kvmscope_cmdline_proc_show,
	},
	{ }
};

static struct klp_object patched_objects[] = {
	{
		/* .name NULL: the function lives in vmlinux */
		.funcs = vmlinux_funcs,
	},
	{ }
};

/*
 * .replace stays false: this patch stacks on whatever else is loaded
 * rather than reverting other livepatches on the machine.
 */
static struct klp_patch cmdline_patch = {
	.mod = THIS_MODULE,
	.objs = patched_objects,
};

static int __init kvmscope_lp_cmdline_init(void)
{
	int ret;

	ret = klp_enable_patch(&cmdline_patch);
	if (ret) {
		pr_err("cannot enable the patch of cmdline_proc_show: %d\n", ret);
		return ret;
	}
	pr_info("patching cmdline_proc_show\n");
	return 0;
}

/*
 * Unloading is only possible once the patch was disabled through
 * /sys/kernel/livepatch/kvmscope_lp_cmdline/enabled and that transition
 * has finished; the livepatch core holds a module reference until then.
 */
static void __exit kvmscope_lp_cmdline_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kvmscope_lp_cmdline_init);
module_exit(kvmscope_lp_cmdline_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kvmscope");
MODULE_DESCRIPTION("kvmscope lab livepatch: /proc/cmdline reads a fixed line");
MODULE_INFO(livepatch, "Y");
