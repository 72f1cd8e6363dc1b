// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lab cross-check: kvmscope's hardware exit counts against perf kvm stat.
 *
 * Runs as root inside the lab (tests/vm/run sets KVMSCOPE_LAB), where
 * kvm_amd gives real SVM exits.  A kvmscoped on a temporary socket and
 * perf kvm stat record watch the same test guest; then, per exit reason:
 *
 *   - every kvm_exit record perf wrote (perf script)  == kvmscope's count
 *   - perf kvm stat report --event=vmexit "Samples"  == kvmscope's count
 *     minus the exits KVM never re-entered from (latency "unfinished")
 *   - the io and hlt counts                          == what the guest did
 *
 * perf kvm stat report counts an exit when the vCPU's next kvm_entry
 * closes it (it reports exit handling times), so the last exit of each
 * vCPU, the guest's "done" OUT after which the VMM stops, is in the
 * recording but not in the report: io is one short per vCPU there.
 *
 * perf is started as the guest's parent (perf kvm stat record -- GUEST):
 * it execs the guest only once its events are enabled, follows the
 * guest's threads (and nothing else on the host), and ends when the guest
 * does.  A perf record started in the background takes about 15 s to get
 * ready under TCG and nothing says when it is, so a guest started beside
 * it can run, unseen, before perf records anything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "kvmscoped.h"
#include "proc.h"

/* The guest run compared: known OUT, IN and HLT counts on 2 vCPUs. */
#define GUEST_VCPUS 2
#define GUEST_OUTS 3000
#define GUEST_INS 1000
#define GUEST_HLTS 50
#define GUEST_NAME "crosscheck"

#define MAX_REASONS 64
#define SOCKET_WAIT_MS 10000
#define RPC_TIMEOUT_MS 10000

/* ---- what each side counted, by exit reason ---- */

struct reason_row {
	char name[48];
	long long count;	/* kvmscope: exits; perf: records or report samples */
	long long unfinished;	/* kvmscope only: exits with no kvm_entry after them */
	long long code;		/* kvmscope only: the raw exit code */
};

struct reason_table {
	struct reason_row rows[MAX_REASONS];
	int n;
};

/*
 * perf and the kernel name SVM exits with the strings of SVM_EXIT_REASONS
 * (arch/x86/include/uapi/asm/svm.h), as kvmscope does; only the case may
 * differ (VMX names are upper case in some tools).  Names used for the
 * same exit by other tools and docs map here.
 */
static const char *const reason_aliases[][2] = {
	{ "intr", "interrupt" },	/* SVM_EXIT_INTR, 0x060 */
	{ "ioio", "io" },		/* SVM_EXIT_IOIO, 0x07b */
};

static const char *canonical_reason(const char *name)
{
	for (size_t i = 0; i < sizeof(reason_aliases) / sizeof(reason_aliases[0]); i++)
		if (!strcasecmp(name, reason_aliases[i][0]))
			return reason_aliases[i][1];
	return name;
}

static bool same_reason(const char *a, const char *b)
{
	return !strcasecmp(canonical_reason(a), canonical_reason(b));
}

static struct reason_row *find_reason(struct reason_table *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (same_reason(t->rows[i].name, name))
			return &t->rows[i];
	return NULL;
}

/* Add @count to the row named @name, creating it. */
static struct reason_row *add_reason(struct reason_table *t, const char *name, long long count)
{
	struct reason_row *row = find_reason(t, name);

	if (!row) {
		if (t->n == MAX_REASONS)
			fail_msg("more than %d exit reasons: is this one guest?", MAX_REASONS);
		row = &t->rows[t->n++];
		memset(row, 0, sizeof(*row));
		snprintf(row->name, sizeof(row->name), "%s", name);
	}
	row->count += count;
	return row;
}

static long long reason_count(struct reason_table *t, const char *name)
{
	struct reason_row *row = find_reason(t, name);

	return row ? row->count : 0;
}

/* ---- processes ---- */

static const char *build_dir = "build";
static char tmpdir[64];
static char sock_path[108];
static char log_path[128];
static char perf_data[128];
static pid_t daemon_pid = -1;

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	char *p = realloc(*buf, *len + n + 1);

	if (!p)
		fail_msg("out of memory");
	*buf = p;
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* The shared runner (tests/common/proc.c): PATH lookup, stdin on /dev/null. */
#define run_capture proc_run

static char *build_path(const char *name)
{
	return test_build_path(build_dir, name);
}

/* ---- the daemon ---- */

static pid_t start_kvmscoped(const char *socket, const char *log)
{
	char *args[] = { "--socket", (char *)socket, "--metrics", "off", "--log-level", "debug",
			 NULL };

	return test_kvmscoped_start(build_path("kvmscoped"), log, args);
}

/* One JSON-RPC call on a fresh connection: the "result", or the test fails. */
static json_t *rpc(const char *method, const char *params)
{
	char line[512], buf[65536], *resp = NULL;
	json_t *msg, *result;
	json_error_t jerr;
	size_t len = 0;
	int fd;

	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}\n",
		 method, params ? params : "{}");
	fd = test_connect_unix(sock_path);
	if (fd < 0)
		fail_msg("cannot connect to kvmscoped at %s: %s (log: %s)", sock_path, strerror(-fd),
			 log_path);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line))
		fail_msg("cannot send %s to kvmscoped: %s", method, strerror(errno));
	while (!resp || !strchr(resp, '\n')) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, RPC_TIMEOUT_MS) <= 0)
			fail_msg("kvmscoped did not answer %s within %d ms", method, RPC_TIMEOUT_MS);
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			fail_msg("kvmscoped closed the connection during %s", method);
		append(&resp, &len, buf, (size_t)n);
	}
	close(fd);
	msg = json_loads(resp, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!msg)
		fail_msg("kvmscoped's answer to %s is not JSON (%s): %.300s", method, jerr.text, resp);
	free(resp);
	result = json_incref(json_object_get(msg, "result"));
	if (!result)
		fail_msg("%s failed: %s", method, json_dumps(msg, 0));
	json_decref(msg);
	return result;
}

static long long obj_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *obj_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* ---- the recorded run ---- */

struct recorded_run {
	bool attempted, done;
	long long pid;
	json_t *guest;			/* the guest's own report */
	struct reason_table kvmscope;	/* exits.get hardware_by_reason, svm */
	struct reason_table perf_records;	/* kvm_exit records in perf.data */
	struct reason_table perf_report;	/* perf kvm stat report --event=vmexit */
	long long perf_report_total;	/* its "Total Samples" */
	char perf_version[64];
};

static struct recorded_run recorded;

/*
 * perf kvm stat report's table:
 *              VM-EXIT    Samples  Samples%     Time%    Min Time ...
 *                   io       4000    98.26%    95.86%     57.10us ...
 * A reason may hold blanks ("DE excp"): the name is all before the
 * sample count that precedes the two percentages.
 */
static void parse_perf_report(const char *text, struct reason_table *t, long long *total)
{
	regex_t row_re, total_re;
	const char *line = text;
	bool header = false;

	assert_int_equal(regcomp(&row_re, "^ *(.*[^ ]) +([0-9]+) +[0-9.]+% +[0-9.]+% ", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&total_re, "^Total Samples: *([0-9]+)", REG_EXTENDED), 0);
	*total = -1;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		char buf[512], name[48];
		regmatch_t m[3];

		snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) ? n : sizeof(buf) - 1), line);
		if (strstr(buf, "VM-EXIT") && strstr(buf, "Samples"))
			header = true;
		else if (header && !regexec(&row_re, buf, 3, m, 0)) {
			snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
				 buf + m[1].rm_so);
			add_reason(t, name, atoll(buf + m[2].rm_so));
		} else if (!regexec(&total_re, buf, 2, m, 0)) {
			*total = atoll(buf + m[1].rm_so);
		}
		line = eol ? eol + 1 : NULL;
	}
	regfree(&row_re);
	regfree(&total_re);
	if (!header)
		fail_msg("no VM-EXIT table in perf kvm stat report's output:\n%.2000s", text);
}

/*
 * perf script -F event,trace, one line per record:
 *   kvm:kvm_exit: vcpu 0 reason npf rip 0x0 info1 0x... info2 ...
 */
static void parse_perf_script(char *text, struct reason_table *t)
{
	char *line = text;

	while (line && *line) {
		char *eol = strchr(line, '\n');
		const char *r, *rip;

		if (eol)
			*eol = '\0';
		if (strstr(line, "kvm:kvm_exit:")) {
			char name[48];

			r = strstr(line, " reason ");
			rip = r ? strstr(r, " rip ") : NULL;
			if (!r || !rip)
				fail_msg("a kvm_exit record without 'reason ... rip': %s", line);
			r += strlen(" reason ");
			snprintf(name, sizeof(name), "%.*s", (int)(rip - r), r);
			add_reason(t, name, 1);
		}
		if (eol)
			*eol = '\n';
		line = eol ? eol + 1 : NULL;
	}
}

static void fill_kvmscope_table(json_t *vm, struct reason_table *t)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(vm, "hardware_by_reason"), i, row) {
		json_t *lat = json_object_get(row, "latency");
		struct reason_row *r;

		if (strcmp(obj_str(row, "isa"), "svm"))
			fail_msg("hardware exit with isa '%s' in the lab (kvm_amd): %s", obj_str(row, "isa"),
				 json_dumps(row, 0));
		r = add_reason(t, obj_str(row, "reason"), obj_int(row, "count"));
		r->code = obj_int(row, "code");
		/* No latency object: no exit was measured, i.e. none was re-entered from. */
		r->unfinished += json_is_object(lat) ? obj_int(lat, "unfinished") : obj_int(row, "count");
	}
}

/* perf must have written every record: a lost one would be a false mismatch. */
static void assert_perf_lost_nothing(void)
{
	char *argv[] = { "perf", "--no-pager", "report", "-i", perf_data, "--stats", NULL };
	struct proc_result r = run_capture(argv);
	const char *lost;

	if (r.status != 0)
		fail_msg("perf report --stats failed (exit %d): %s", r.status, r.err);
	lost = strstr(r.out, "LOST");
	if (lost)
		fail_msg("perf lost records, the counts cannot match: %.200s", lost);
	proc_result_free(&r);
}

/*
 * A classic tracepoint's BPF programs decide whether the kernel also
 * hands the event to the perf events on it: perf_trace_run_bpf_submit()
 * drops it when they return 0.  kvmscope's programs attached there must
 * return 1, or perf (stat, record, kvm stat) sees none of those events
 * on the whole host while kvmscoped runs.
 */
static void assert_perf_saw_exits(struct recorded_run *rec)
{
	if (rec->perf_records.n || !rec->kvmscope.n)
		return;
	fail_msg("perf recorded no kvm_exit while kvmscope counted %lld io exits: a BPF program "
		 "on kvm:kvm_exit returned 0, which makes the kernel drop the event for every "
		 "perf event on that tracepoint (perf_trace_run_bpf_submit); kvmscope's "
		 "tracepoint programs must return 1", reason_count(&rec->kvmscope, "io"));
}

static void record_guest_once(void)
{
	struct recorded_run *rec = &recorded;
	char outs[32], ins[32], hlts[16], vcpus[8], pidarg[24], params[64];
	char *record_argv[] = { "perf", "kvm", "stat", "record", "-o", perf_data, "--",
				build_path("kvmscope-guest"), "--vcpus", vcpus, "--out", outs, "--in", ins,
				"--hlt", hlts, "-name", GUEST_NAME, NULL };
	char *report_argv[] = { "perf", "--no-pager", "kvm", "-i", perf_data, "stat", "report",
				"--event=vmexit", "--pid", pidarg, NULL };
	char *script_argv[] = { "perf", "--no-pager", "script", "-i", perf_data, "--pid", pidarg,
				"-F", "event,trace", NULL };
	char *version_argv[] = { "perf", "version", NULL };
	struct proc_result r;
	json_error_t jerr;
	json_t *exits, *vm;
	size_t i;

	if (rec->done)
		return;
	/* One recording for all tests: after a failure, do not record again. */
	if (rec->attempted)
		fail_msg("the recorded run failed already (see the first test)");
	rec->attempted = true;
	snprintf(vcpus, sizeof(vcpus), "%d", GUEST_VCPUS);
	snprintf(outs, sizeof(outs), "0x70:%d", GUEST_OUTS);
	snprintf(ins, sizeof(ins), "0x71:%d", GUEST_INS);
	snprintf(hlts, sizeof(hlts), "%d", GUEST_HLTS);

	r = run_capture(version_argv);
	snprintf(rec->perf_version, sizeof(rec->perf_version), "%s", r.out);
	rec->perf_version[strcspn(rec->perf_version, "\n")] = '\0';
	proc_result_free(&r);

	/* perf execs the guest once it records, and ends with it; stdout is the guest's. */
	r = run_capture(record_argv);
	if (r.status != 0)
		fail_msg("perf kvm stat record -- kvmscope-guest failed (exit %d): %s", r.status, r.err);
	rec->guest = json_loads(r.out, 0, &jerr);
	if (!rec->guest)
		fail_msg("the guest's report is not JSON (%s): %.400s\nperf: %s", jerr.text, r.out, r.err);
	proc_result_free(&r);
	rec->pid = obj_int(rec->guest, "pid");
	snprintf(pidarg, sizeof(pidarg), "%lld", rec->pid);

	snprintf(params, sizeof(params), "{\"pid\":%lld}", rec->pid);
	exits = rpc("exits.get", params);
	vm = NULL;
	json_array_foreach(json_object_get(exits, "vms"), i, vm)
		if (obj_int(vm, "pid") == rec->pid)
			break;
	if (!vm || obj_int(vm, "pid") != rec->pid)
		fail_msg("kvmscope has no VM with pid %lld: %s", rec->pid, json_dumps(exits, 0));
	fill_kvmscope_table(vm, &rec->kvmscope);
	json_decref(exits);

	assert_perf_lost_nothing();
	/* perf 6.1 writes this report to stderr, not stdout. */
	r = run_capture(report_argv);
	if (r.status != 0)
		fail_msg("perf kvm stat report failed (exit %d): %s%s", r.status, r.out, r.err);
	parse_perf_report(r.err, &rec->perf_report, &rec->perf_report_total);
	proc_result_free(&r);

	r = run_capture(script_argv);
	if (r.status != 0)
		fail_msg("perf script failed (exit %d): %s", r.status, r.err);
	parse_perf_script(r.out, &rec->perf_records);
	proc_result_free(&r);

	rec->done = true;
}

/* Every reason either side saw, in kvmscope's order (largest first), then perf's. */
static int union_reasons(const struct reason_table *tables[], int ntables, const char *names[])
{
	int n = 0;

	for (int t = 0; t < ntables; t++)
		for (int i = 0; i < tables[t]->n; i++) {
			bool seen = false;

			for (int j = 0; j < n; j++)
				seen = seen || same_reason(names[j], tables[t]->rows[i].name);
			if (!seen && n < MAX_REASONS * 3)
				names[n++] = tables[t]->rows[i].name;
		}
	return n;
}

static void print_tables(struct recorded_run *rec)
{
	const struct reason_table *tables[] = { &rec->kvmscope, &rec->perf_records, &rec->perf_report };
	const char *names[MAX_REASONS * 3];
	int n = union_reasons(tables, 3, names);

	print_message("[   INFO   ] guest pid %lld: %d vCPUs, --out 0x70:%d --in 0x71:%d --hlt %d; %s\n",
		      rec->pid, GUEST_VCPUS, GUEST_OUTS, GUEST_INS, GUEST_HLTS, rec->perf_version);
	print_message("[   INFO   ] kvmscope exits.get {pid} hardware_by_reason (svm):\n");
	print_message("[   INFO   ] %-14s %6s %10s %11s\n", "reason", "code", "count", "unfinished");
	for (int i = 0; i < rec->kvmscope.n; i++) {
		const struct reason_row *r = &rec->kvmscope.rows[i];

		print_message("[   INFO   ] %-14s %#6llx %10lld %11lld\n", r->name, r->code, r->count,
			      r->unfinished);
	}
	print_message("[   INFO   ] perf kvm stat report --event=vmexit --pid %lld (Total Samples %lld):\n",
		      rec->pid, rec->perf_report_total);
	print_message("[   INFO   ] %-14s %10s\n", "VM-EXIT", "Samples");
	for (int i = 0; i < rec->perf_report.n; i++)
		print_message("[   INFO   ] %-14s %10lld\n", rec->perf_report.rows[i].name,
			      rec->perf_report.rows[i].count);
	print_message("[   INFO   ] side by side (perf script: kvm:kvm_exit records in perf.data):\n");
	print_message("[   INFO   ] %-14s %10s %11s %12s %12s\n", "reason", "kvmscope", "unfinished",
		      "perf script", "perf report");
	for (int i = 0; i < n; i++) {
		struct reason_row *k = find_reason(&rec->kvmscope, names[i]);

		print_message("[   INFO   ] %-14s %10lld %11lld %12lld %12lld\n", names[i],
			      k ? k->count : 0, k ? k->unfinished : 0,
			      reason_count(&rec->perf_records, names[i]),
			      reason_count(&rec->perf_report, names[i]));
	}
}

/* ---- tests ---- */

/* The guest did what it was told, and both sides saw its io and hlt exits. */
static void test_guest_io_and_hlt(void **state)
{
	struct recorded_run *rec = &recorded;
	json_t *ue;
	long long io;

	record_guest_once();
	print_tables(rec);
	assert_perf_saw_exits(rec);
	ue = json_object_get(rec->guest, "userspace_exits");
	io = obj_int(ue, "IO");
	/* Every OUT and IN, plus one done OUT per vCPU. */
	assert_int_equal(io, GUEST_OUTS + GUEST_INS + GUEST_VCPUS);
	assert_int_equal(obj_int(ue, "HLT"), GUEST_HLTS);

	assert_int_equal(reason_count(&rec->kvmscope, "io"), io);
	assert_int_equal(reason_count(&rec->kvmscope, "hlt"), GUEST_HLTS);
	assert_int_equal(reason_count(&rec->perf_records, "io"), io);
	assert_int_equal(reason_count(&rec->perf_records, "hlt"), GUEST_HLTS);
	/* The report closes an exit at the next entry: each vCPU's done OUT has none. */
	assert_int_equal(reason_count(&rec->perf_report, "io"), io - GUEST_VCPUS);
	assert_int_equal(reason_count(&rec->perf_report, "hlt"), GUEST_HLTS);
}

/* Every kvm_exit perf recorded for the guest is one kvmscope counted, reason by reason. */
static void test_every_reason_matches_perf_records(void **state)
{
	struct recorded_run *rec = &recorded;
	const struct reason_table *tables[] = { &rec->kvmscope, &rec->perf_records };
	const char *names[MAX_REASONS * 3];
	int n, mismatches = 0;

	record_guest_once();
	assert_perf_saw_exits(rec);
	n = union_reasons(tables, 2, names);
	for (int i = 0; i < n; i++) {
		long long k = reason_count(&rec->kvmscope, names[i]);
		long long p = reason_count(&rec->perf_records, names[i]);

		if (k != p) {
			print_error("reason %s: kvmscope %lld, perf kvm_exit records %lld\n", names[i], k, p);
			mismatches++;
		}
	}
	if (mismatches)
		fail_msg("%d exit reasons differ between kvmscope and perf's kvm_exit records", mismatches);
	assert_true(n >= 2);
}

/*
 * perf kvm stat report's Samples are the exits KVM re-entered the guest
 * from: kvmscope's count minus its unfinished ones, for every reason.
 * Only io may have unfinished exits, one per vCPU (the done OUT).
 */
static void test_every_reason_matches_perf_report(void **state)
{
	struct recorded_run *rec = &recorded;
	const struct reason_table *tables[] = { &rec->kvmscope, &rec->perf_report };
	const char *names[MAX_REASONS * 3];
	long long kvmscope_total = 0;
	int n, mismatches = 0;

	record_guest_once();
	assert_perf_saw_exits(rec);
	n = union_reasons(tables, 2, names);
	for (int i = 0; i < n; i++) {
		struct reason_row *k = find_reason(&rec->kvmscope, names[i]);
		long long count = k ? k->count : 0, unfinished = k ? k->unfinished : 0;
		long long p = reason_count(&rec->perf_report, names[i]);
		long long expect_unfinished = same_reason(names[i], "io") ? GUEST_VCPUS : 0;

		if (!strcasecmp(names[i], "UNKNOWN"))
			print_error("perf's table of SVM exit reasons does not know a code kvmscope names\n");
		if (count - unfinished != p || unfinished != expect_unfinished) {
			print_error("reason %s: kvmscope %lld exits (%lld unfinished, expected %lld), "
				    "perf kvm stat report %lld\n",
				    names[i], count, unfinished, expect_unfinished, p);
			mismatches++;
		}
		kvmscope_total += count - unfinished;
	}
	if (mismatches)
		fail_msg("%d exit reasons differ between kvmscope and perf kvm stat report", mismatches);
	assert_int_equal(rec->perf_report_total, kvmscope_total);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	char *ver_argv[] = { "perf", "version", NULL };
	struct proc_result r;
	json_t *st;
	int err, wait_ms;

	if (getenv("KVMSCOPE_BUILD"))
		build_dir = getenv("KVMSCOPE_BUILD");
	if (!getenv("KVMSCOPE_LAB")) {
		fprintf(stderr, "crosscheck: runs inside the lab only, where kvm_amd gives real SVM exits:\n"
				"  tests/vm/run --kernel 6.1 -- %s/tests/crosscheck-tests\n", build_dir);
		return -1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "crosscheck: must run as root (loads BPF, records tracepoints)\n");
		return -1;
	}
	if (access("/sys/kernel/tracing/events/kvm/kvm_exit", F_OK) != 0) {
		fprintf(stderr, "crosscheck: no /sys/kernel/tracing/events/kvm/kvm_exit: %s "
				"(is tracefs mounted and kvm_amd loaded?)\n", strerror(errno));
		return -1;
	}
	r = run_capture(ver_argv);
	if (r.status != 0) {
		fprintf(stderr, "crosscheck: perf does not run (%s): install package linux-perf\n",
			r.err);
		proc_result_free(&r);
		return -1;
	}
	proc_result_free(&r);

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmscope-cc.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "crosscheck: mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/kvmscope.sock", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/kvmscoped.log", tmpdir);
	snprintf(perf_data, sizeof(perf_data), "%s/perf.data", tmpdir);
	daemon_pid = start_kvmscoped(sock_path, log_path);
	/* Inside the lab a start takes seconds: tests/run stretches the wait. */
	wait_ms = test_start_wait_ms(SOCKET_WAIT_MS);
	err = test_kvmscoped_wait(sock_path, daemon_pid, wait_ms);
	if (err) {
		fprintf(stderr, "crosscheck: kvmscoped %s %d ms: %s; log: %s\n",
			err == -ESRCH ? "exited before opening, within" : "did not open within",
			wait_ms, sock_path, log_path);
		daemon_pid = -1;
		return -1;
	}
	/* The comparison needs kvmscope's kvm_exit probe on a VMX/SVM backend. */
	st = rpc("status", NULL);
	if (strcmp(obj_str(st, "kvm_backend"), "kvm_amd") && strcmp(obj_str(st, "kvm_backend"), "kvm_intel")) {
		fprintf(stderr, "crosscheck: KVM backend is %s: kvm_exit never fires there\n",
			obj_str(st, "kvm_backend"));
		json_decref(st);
		return -1;
	}
	json_decref(st);
	return 0;
}

static int group_teardown(void **state)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	json_decref(recorded.guest);
	if (getenv("KVMSCOPE_KEEP_LOGS")) {
		fprintf(stderr, "crosscheck: daemon log and perf.data kept in %s\n", tmpdir);
	} else if (tmpdir[0]) {
		unlink(log_path);
		unlink(perf_data);
		unlink(sock_path);
		rmdir(tmpdir);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_io_and_hlt),
		cmocka_unit_test(test_every_reason_matches_perf_records),
		cmocka_unit_test(test_every_reason_matches_perf_report),
	};

	return cmocka_run_group_tests_name("crosscheck", tests, group_setup, group_teardown);
}
