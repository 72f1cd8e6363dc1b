// SPDX-License-Identifier: GPL-2.0-only
/*
 * A client's request line through JSON-RPC dispatch (rpc_handle_line):
 * parsing, batches, ids, params checks, access, error answers.  The
 * methods stand for the daemon's kinds: no params, named params read with
 * rpc_param_uint, a text handler, a write method a reader may not call.
 */
#include <jansson.h>

#include "fuzz.h"
#include "rpc.h"
#include "strbuf.h"

static json_t *m_plain(void *userdata, json_t *params, struct rpc_error *err)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *m_params(void *userdata, json_t *params, struct rpc_error *err)
{
	uint64_t pid = 0, vcpu = 0;

	if (rpc_param_uint(params, "pid", UINT32_MAX, &pid, err) < 0 ||
	    rpc_param_uint(params, "vcpu", 4095, &vcpu, err) < 0)
		return NULL;
	return json_pack("{s:I, s:I}", "pid", (json_int_t)pid, "vcpu", (json_int_t)vcpu);
}

static int m_text(void *userdata, json_t *params, struct rpc_error *err, struct strbuf *out)
{
	return strbuf_append(out, "{\"text\":true}", 13);
}

static json_t *m_write(void *userdata, const struct rpc_caller *caller, json_t *params,
		       struct rpc_error *err)
{
	return json_pack("{s:i}", "uid", (int)caller->uid);
}

static const struct rpc_method methods[] = {
	{ .name = "status", .handler = m_plain },
	{ .name = "exits.get", .handler = m_params,
	  .params = (const char *const[]){ "pid", "vcpu", NULL } },
	{ .name = "exits.text", .text_handler = m_text,
	  .params = (const char *const[]){ "pid", NULL } },
	{ .name = "livepatch.enable", .caller_handler = m_write, .access = RPC_WRITE,
	  .params = (const char *const[]){ "name", NULL } },
	{ .name = NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rpc_registry reg;
	static bool ready;
	int fd = -1;
	struct rpc_caller reader = { .may_read = true, .uid = 1000, .pid = 1, .group = "kvmscope",
				     .passed_fd = &fd };
	struct rpc_caller root = { .may_read = true, .may_write = true, .passed_fd = &fd };
	char *out;

	if (!ready) {
		if (rpc_register(&reg, methods, NULL) < 0)
			abort();
		ready = true;
	}
	out = rpc_handle_line(&reg, &reader, (const char *)data, size);
	free(out);
	out = rpc_handle_line(&reg, &root, (const char *)data, size);
	free(out);
	return 0;
}
