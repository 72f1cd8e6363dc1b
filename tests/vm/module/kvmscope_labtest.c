// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope_labtest: the smallest module the lab can load.  It proves that
 * a module built by the lab runner against the lab kernel's headers loads,
 * runs its init, takes a parameter and unloads: tests/vm/lab.c loads it
 * with greeting=<text> and reads the text back from
 * /sys/module/kvmscope_labtest/parameters/greeting.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static char *greeting = "hello";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "text shown in sysfs, proving the module ran");

static int __init kvmscope_labtest_init(void)
{
	pr_info("loaded, greeting=%s\n", greeting);
	return 0;
}

static void __exit kvmscope_labtest_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kvmscope_labtest_init);
module_exit(kvmscope_labtest_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kvmscope");
MODULE_DESCRIPTION("kvmscope lab test module: loads, takes a parameter, unloads");
