// SPDX-License-Identifier: GPL-2.0-only
/*
 * The live-patch consistency canary: does the kernel's code patching keep
 * its promise while a call site is rewritten under running callers?
 *
 * kvmscope_canary() is called in a loop by one worker thread on each CPU
 * taking part but the first.  On the first, the updater redirects it to
 * kvmscope_canary_replacement() with an ftrace_ops that has IPMODIFY, as
 * livepatch does, and takes the redirection away again, as fast as it
 * can.  While the redirection is in place it also turns a second, plain
 * tracer of the same function on and off, so that the call site goes from
 * one call to another: the rewrite in which x86 before 5.2 skipped the
 * call from its breakpoint handler ("ftrace/x86: Emulate call function
 * while updating in breakpoint handler").
 *
 * The updater publishes a phase (include/kvmscope/canary.h) after every
 * change has returned; each call reads it before and after it runs and
 * is judged by kvmscope_canary_judge(): the same code the unit test
 * feeds with synthetic records.
 *
 * Both ops keep kvmscope_canary_anchor() (never called) in their filter,
 * so that they stay registered for the whole run and an update is one
 * ftrace_set_filter_ip(): unregistering would wait for an RCU-tasks grace
 * period each time, and an empty filter would mean every function.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/ftrace.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "kvmscope.h"

#if defined(CONFIG_X86) && defined(CONFIG_DYNAMIC_FTRACE) && \
	(defined(CONFIG_DYNAMIC_FTRACE_WITH_REGS) || defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS))
#define KVMSCOPE_HAVE_CANARY 1
#endif

/* Calls between two checks for the end of a run, and a short sleep. */
#define CANARY_BATCH 4096

/* The three bodies: global and noinline, so that no clone renames them. */
void kvmscope_canary(u32 *ran);
void kvmscope_canary_replacement(u32 *ran);
void kvmscope_canary_anchor(u32 *ran);

noinline void kvmscope_canary(u32 *ran)
{
	WRITE_ONCE(*ran, KVMSCOPE_CANARY_ORIGINAL);
}

noinline void kvmscope_canary_replacement(u32 *ran)
{
	WRITE_ONCE(*ran, KVMSCOPE_CANARY_REPLACEMENT);
}

noinline void kvmscope_canary_anchor(u32 *ran)
{
	WRITE_ONCE(*ran, KVMSCOPE_CANARY_NEITHER);
}

struct canary_worker {
	struct task_struct *task;
	unsigned int cpu;
	u64 calls[3];
	u64 settled[4];
	u64 violations[KVMSCOPE_CANARY_VERDICTS];
} ____cacheline_aligned_in_smp;

static DEFINE_MUTEX(canary_lock);	/* start, stop, report, exit */
static DEFINE_SPINLOCK(canary_kept_lock);
static atomic64_t canary_phase;
static struct task_struct *canary_updater;
static struct canary_worker *canary_workers;
static unsigned int canary_n_workers;
/* Run-wide fields of the report; counts are summed from the workers. */
static struct kvmscope_canary_report canary_rep;
static ktime_t canary_started, canary_ended;
static unsigned int canary_run_count;
static DEFINE_PER_CPU(u64, canary_tracer_calls);

/* Add the workers' counts to the report's, before they are freed. */
static void canary_fold(struct kvmscope_canary_report *rep)
{
	unsigned int i, j;

	for (i = 0; i < canary_n_workers; i++) {
		const struct canary_worker *w = &canary_workers[i];

		for (j = 0; j < 3; j++)
			rep->calls[j] += READ_ONCE(w->calls[j]);
		for (j = 0; j < 4; j++)
			rep->settled[j] += READ_ONCE(w->settled[j]);
		for (j = 1; j < KVMSCOPE_CANARY_VERDICTS; j++)
			rep->violations[j] += READ_ONCE(w->violations[j]);
	}
}

#ifdef KVMSCOPE_HAVE_CANARY

#ifdef ftrace_regs_set_instruction_pointer
#define canary_set_ip(fregs, ip) ftrace_regs_set_instruction_pointer(fregs, ip)
#else
#define canary_set_ip(fregs, ip) ftrace_instruction_pointer_set(fregs, ip)
#endif

static void notrace canary_redirect(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	canary_set_ip(fregs, (unsigned long)kvmscope_canary_replacement);
}

static void notrace canary_trace(unsigned long ip, unsigned long parent_ip,
				 struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	this_cpu_inc(canary_tracer_calls);
}

static struct ftrace_ops canary_redirect_ops = {
	.func = canary_redirect,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
};

static struct ftrace_ops canary_tracer_ops = {
	.func = canary_trace,
};

bool kvmscope_canary_supported(void)
{
	return true;
}

static void canary_keep(const struct kvmscope_canary_call *c, unsigned int verdict)
{
	struct kvmscope_canary_violation *v;

	spin_lock(&canary_kept_lock);
	if (canary_rep.kept < KVMSCOPE_CANARY_MAX_KEPT) {
		v = &canary_rep.violation[canary_rep.kept++];
		v->generation = KVMSCOPE_CANARY_GEN(c->before);
		v->verdict = verdict;
		v->cpu = c->cpu;
		v->body = c->body;
		v->state = KVMSCOPE_CANARY_STATE(c->before);
	}
	spin_unlock(&canary_kept_lock);
}

static int canary_worker_fn(void *data)
{
	struct canary_worker *w = data;
	struct kvmscope_canary_call c = { .cpu = w->cpu };
	unsigned int i, verdict;

	while (!kthread_should_stop()) {
		for (i = 0; i < CANARY_BATCH; i++) {
			u32 ran = KVMSCOPE_CANARY_NEITHER;

			c.before = atomic64_read_acquire(&canary_phase);
			kvmscope_canary(&ran);
			c.after = atomic64_read_acquire(&canary_phase);
			c.body = READ_ONCE(ran);
			w->calls[c.body < 3 ? c.body : 0]++;
			if (c.before == c.after)
				w->settled[KVMSCOPE_CANARY_STATE(c.before)]++;
			verdict = kvmscope_canary_judge(&c);
			if (unlikely(verdict != KVMSCOPE_CANARY_OK)) {
				w->violations[verdict]++;
				canary_keep(&c, verdict);
			}
		}
		/*
		 * Sleep a little: a task that never sleeps holds up RCU-tasks
		 * grace periods and a real livepatch transition run beside us.
		 */
		usleep_range(20, 50);
	}
	return 0;
}

static void canary_set_phase(u64 gen, unsigned int state)
{
	atomic64_set_release(&canary_phase, KVMSCOPE_CANARY_PHASE(gen, state));
}

static int canary_update(struct ftrace_ops *ops, int remove)
{
	int ret = ftrace_set_filter_ip(ops, (unsigned long)kvmscope_canary, remove, 0);

	if (!ret)
		WRITE_ONCE(canary_rep.updates, canary_rep.updates + 1);
	return ret;
}

static void canary_fail(int err, const char *what)
{
	pr_err("canary: %s failed: %d\n", what, err);
	WRITE_ONCE(canary_rep.error, err);
}

static void canary_stop_workers(void)
{
	unsigned int i;

	for (i = 0; i < canary_n_workers; i++) {
		if (canary_workers[i].task) {
			kthread_stop(canary_workers[i].task);
			put_task_struct(canary_workers[i].task);
			canary_workers[i].task = NULL;
		}
	}
}

static void canary_unregister(void)
{
	unregister_ftrace_function(&canary_redirect_ops);
	unregister_ftrace_function(&canary_tracer_ops);
	ftrace_free_filter(&canary_redirect_ops);
	ftrace_free_filter(&canary_tracer_ops);
}

/* Turn the redirection on and off until the deadline or kthread_stop(). */
static int canary_updater_fn(void *data)
{
	ktime_t deadline = ktime_add_ms(canary_started, (u64)canary_rep.seconds * MSEC_PER_SEC);
	u64 gen = 0;
	int ret = 0;

	while (!kthread_should_stop() && ktime_before(ktime_get(), deadline)) {
		canary_set_phase(gen, KVMSCOPE_CANARY_TURNING_ON);
		ret = canary_update(&canary_redirect_ops, 0);
		if (ret) {
			canary_fail(ret, "redirecting kvmscope_canary");
			break;
		}
		canary_set_phase(gen, KVMSCOPE_CANARY_ON);
		/* From one call to another, the redirection staying in place. */
		ret = canary_update(&canary_tracer_ops, 0);
		if (!ret)
			ret = canary_update(&canary_tracer_ops, 1);
		if (ret) {
			canary_fail(ret, "tracing kvmscope_canary beside the redirection");
			canary_update(&canary_tracer_ops, 1);
		}
		canary_set_phase(gen, KVMSCOPE_CANARY_TURNING_OFF);
		if (canary_update(&canary_redirect_ops, 1) && !ret) {
			ret = -EIO;
			canary_fail(ret, "removing the redirection");
		}
		canary_set_phase(gen + 1, KVMSCOPE_CANARY_OFF);
		if (ret)
			break;
		WRITE_ONCE(canary_rep.generations, ++gen);
		cond_resched();
	}
	/* The workers see the last phase, then everything is taken away. */
	canary_stop_workers();
	canary_unregister();
	canary_ended = ktime_get();
	WRITE_ONCE(canary_rep.state, ret ? KVMSCOPE_CANARY_FAILED : KVMSCOPE_CANARY_DONE);
	pr_info("canary run %u: %llu updates, %llu generations%s\n", canary_rep.run,
		canary_rep.updates, canary_rep.generations, ret ? ", failed" : "");

	/* Wait to be reaped (canary_reap()), so the task is always stoppable. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return ret;
}

/* Collect a finished (or to-be-stopped) run's updater; canary_lock held. */
static void canary_reap(void)
{
	unsigned int cpu;

	if (!canary_updater)
		return;
	kthread_stop(canary_updater);
	put_task_struct(canary_updater);
	canary_updater = NULL;
	canary_fold(&canary_rep);
	for_each_possible_cpu(cpu)
		canary_rep.tracer_calls += per_cpu(canary_tracer_calls, cpu);
	kfree(canary_workers);
	canary_workers = NULL;
	canary_n_workers = 0;
}

static int canary_register(void)
{
	int ret;

	ret = ftrace_set_filter_ip(&canary_redirect_ops, (unsigned long)kvmscope_canary_anchor, 0, 1);
	if (!ret)
		ret = ftrace_set_filter_ip(&canary_tracer_ops,
					   (unsigned long)kvmscope_canary_anchor, 0, 1);
	if (ret) {
		pr_err("canary: cannot filter on kvmscope_canary_anchor: %d\n", ret);
		goto free_filters;
	}
	ret = register_ftrace_function(&canary_redirect_ops);
	if (ret) {
		pr_err("canary: cannot register the redirection: %d\n", ret);
		goto free_filters;
	}
	ret = register_ftrace_function(&canary_tracer_ops);
	if (ret) {
		pr_err("canary: cannot register the tracer: %d\n", ret);
		goto unregister_redirect;
	}
	return 0;

unregister_redirect:
	unregister_ftrace_function(&canary_redirect_ops);
free_filters:
	ftrace_free_filter(&canary_redirect_ops);
	ftrace_free_filter(&canary_tracer_ops);
	return ret;
}

static struct task_struct *canary_thread(int (*fn)(void *), void *data, unsigned int cpu,
					 const char *name)
{
	struct task_struct *t = kthread_create_on_cpu(fn, data, cpu, name);

	if (!IS_ERR(t))
		get_task_struct(t);
	return t;
}

int kvmscope_canary_start(const struct kvmscope_canary_start *req)
{
	unsigned int online, cpus, cpu, n = 0, first;
	struct task_struct *t;
	int ret, i;

	if (req->seconds < 1 || req->seconds > KVMSCOPE_CANARY_MAX_SECONDS)
		return -EINVAL;
	mutex_lock(&canary_lock);
	if (canary_updater && READ_ONCE(canary_rep.state) == KVMSCOPE_CANARY_RUNNING) {
		ret = -EBUSY;
		goto unlock;
	}
	canary_reap();
	cpus_read_lock();
	online = num_online_cpus();
	cpus = req->cpus ? req->cpus : online;
	if (cpus < 2 || cpus > online) {
		ret = -ERANGE;
		goto unlock_cpus;
	}
	canary_workers = kcalloc(cpus - 1, sizeof(*canary_workers), GFP_KERNEL);
	if (!canary_workers) {
		ret = -ENOMEM;
		goto unlock_cpus;
	}
	memset(&canary_rep, 0, sizeof(canary_rep));
	for_each_possible_cpu(cpu)
		per_cpu(canary_tracer_calls, cpu) = 0;
	first = cpumask_first(cpu_online_mask);
	canary_rep.run = ++canary_run_count;
	canary_rep.seconds = req->seconds;
	canary_rep.cpus = cpus;
	canary_rep.updater_cpu = first;
	atomic64_set(&canary_phase, KVMSCOPE_CANARY_PHASE(0, KVMSCOPE_CANARY_OFF));

	ret = canary_register();
	if (ret)
		goto free_workers;
	for_each_online_cpu(cpu) {
		if (cpu == first)
			continue;
		if (n == cpus - 1)
			break;
		canary_workers[n].cpu = cpu;
		t = canary_thread(canary_worker_fn, &canary_workers[n], cpu, "kvmscope_canary/%u");
		if (IS_ERR(t)) {
			ret = PTR_ERR(t);
			goto stop_workers;
		}
		canary_workers[n++].task = t;
		canary_n_workers = n;
	}
	t = canary_thread(canary_updater_fn, NULL, first, "kvmscope_canupd/%u");
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto stop_workers;
	}
	canary_updater = t;
	canary_rep.state = KVMSCOPE_CANARY_RUNNING;
	canary_started = ktime_get();
	for (i = 0; i < canary_n_workers; i++)
		wake_up_process(canary_workers[i].task);
	wake_up_process(canary_updater);
	cpus_read_unlock();
	mutex_unlock(&canary_lock);
	pr_info("canary run %u: %u s on %u CPUs, updater on CPU %u\n", canary_rep.run,
		req->seconds, cpus, first);
	return 0;

stop_workers:
	canary_stop_workers();
	canary_unregister();
free_workers:
	kfree(canary_workers);
	canary_workers = NULL;
	canary_n_workers = 0;
	canary_rep.state = KVMSCOPE_CANARY_FAILED;
	canary_rep.error = ret;
unlock_cpus:
	cpus_read_unlock();
unlock:
	mutex_unlock(&canary_lock);
	return ret;
}

#else /* !KVMSCOPE_HAVE_CANARY */

bool kvmscope_canary_supported(void)
{
	return false;
}

int kvmscope_canary_start(const struct kvmscope_canary_start *req)
{
	return -EOPNOTSUPP;
}

static void canary_reap(void)
{
}

#endif

void kvmscope_canary_stop(void)
{
	mutex_lock(&canary_lock);
	canary_reap();
	mutex_unlock(&canary_lock);
}

void kvmscope_canary_report(struct kvmscope_canary_report *rep)
{
	unsigned int cpu;
	ktime_t end;

	mutex_lock(&canary_lock);
	spin_lock(&canary_kept_lock);
	*rep = canary_rep;
	spin_unlock(&canary_kept_lock);
	rep->state = READ_ONCE(canary_rep.state);
	if (canary_updater) {
		/* A run not yet reaped: its counts are still the workers'. */
		canary_fold(rep);
		for_each_possible_cpu(cpu)
			rep->tracer_calls += per_cpu(canary_tracer_calls, cpu);
	}
	if (rep->state != KVMSCOPE_CANARY_IDLE) {
		end = rep->state == KVMSCOPE_CANARY_RUNNING ? ktime_get() : canary_ended;
		rep->elapsed_ns = ktime_to_ns(ktime_sub(end, canary_started));
	}
	mutex_unlock(&canary_lock);
}

void kvmscope_canary_exit(void)
{
	mutex_lock(&canary_lock);
	canary_reap();
	mutex_unlock(&canary_lock);
}
