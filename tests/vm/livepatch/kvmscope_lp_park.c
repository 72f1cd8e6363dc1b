// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope_lp_park: a livepatch of the lab test module (object
 * kvmscope_labtest) that replaces kvmscope_labtest_park() with a function
 * that returns at once.  While the module's kvmscope_parker thread sleeps
 * inside the original, the transition cannot switch that thread: the stall
 * tests/vm/lab.c makes kvmscope report, then releases or reverses.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

static void kvmscope_lp_park(void)
{
}

static struct klp_func park_funcs[] = {
	{
		.old_name = "kvmscope_labtest_park",
		.new_func = kvmscope_lp_park,
	},
	{ }
};

static struct klp_object patched_objects[] = {
	{
		.name = "kvmscope_labtest",
		.funcs = park_funcs,
	},
	{ }
};

static struct klp_patch park_patch = {
	.mod = THIS_MODULE,
	.objs = patched_objects,
};

static int __init kvmscope_lp_park_init(void)
{
	return klp_enable_patch(&park_patch);
}

static void __exit kvmscope_lp_park_exit(void)
{
}

module_init(kvmscope_lp_park_init);
module_exit(kvmscope_lp_park_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kvmscope");
MODULE_DESCRIPTION("kvmscope lab livepatch: kvmscope_labtest_park() returns at once");
MODULE_INFO(livepatch, "Y");
