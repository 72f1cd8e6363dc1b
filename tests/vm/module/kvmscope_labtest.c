// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmscope_labtest: the smallest module the lab can load.  It proves that
 * a module built by the lab runner against the lab kernel's headers loads,
 * runs its init, takes a parameter and unloads: tests/vm/lab.c loads it
 * with greeting=<text> and reads the text back from
 * /sys/module/kvmscope_labtest/parameters/greeting.
 *
 * It also keeps a kernel thread, kvmscope_parker, that parks inside
 * kvmscope_labtest_park() while the parameter park is 1 (parked reads 1
 * then).  The lab's second livepatch (tests/vm/livepatch/kvmscope_lp_park.c)
 * replaces that function: while the thread is parked in it, that patch's
 * transition cannot switch the thread and stalls, as a real patch stalls on
 * a task sleeping in a patched function; writing 0 to park releases it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/err.h>
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static char *greeting = "hello";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "text shown in sysfs, proving the module ran");

static bool park;
module_param(park, bool, 0644);
MODULE_PARM_DESC(park, "1: the kvmscope_parker thread parks in kvmscope_labtest_park()");

static bool parked;
module_param(parked, bool, 0444);
MODULE_PARM_DESC(parked, "1 while the thread is parked there");

static struct task_struct *parker;

/* Global and without arguments: no compiler clone renames it for the livepatch. */
void kvmscope_labtest_park(void);

noinline void kvmscope_labtest_park(void)
{
	WRITE_ONCE(parked, true);
	while (READ_ONCE(park) && !kthread_should_stop())
		msleep(20);
	WRITE_ONCE(parked, false);
}

static int parker_fn(void *unused)
{
	while (!kthread_should_stop()) {
		if (READ_ONCE(park))
			kvmscope_labtest_park();
		msleep(20);
	}
	return 0;
}

static int __init kvmscope_labtest_init(void)
{
	parker = kthread_run(parker_fn, NULL, "kvmscope_parker");
	if (IS_ERR(parker))
		return PTR_ERR(parker);
	pr_info("loaded, greeting=%s\n", greeting);
	return 0;
}

static void __exit kvmscope_labtest_exit(void)
{
	kthread_stop(parker);
	pr_info("unloaded\n");
}

module_init(kvmscope_labtest_init);
module_exit(kvmscope_labtest_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kvmscope");
MODULE_DESCRIPTION("kvmscope lab test module: loads, takes a parameter, unloads");
