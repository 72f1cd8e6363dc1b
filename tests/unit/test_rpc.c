// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON-RPC 2.0 request handling against a fake method table.  Every
 * response is parsed back with jansson and checked field by field.
 */
#include "unit.h"

#include "rpc.h"
#include "strbuf.h"

/* What the fake handlers saw, so notifications can be shown to run. */
struct fake_calls {
	int echo;
	int count;
};

static json_t *echo_handler(void *userdata, json_t *params, struct rpc_error *err)
{
	struct fake_calls *calls = userdata;

	calls->echo++;
	return json_incref(params);
}

static json_t *fail_handler(void *userdata, json_t *params, struct rpc_error *err)
{
	rpc_error_set(err, RPC_NOT_FOUND, "no VM with pid %d", 42);
	return NULL;
}

/* A handler bug: no result and no error; the caller must still answer. */
static json_t *null_result_handler(void *userdata, json_t *params, struct rpc_error *err)
{
	return NULL;
}

static json_t *count_handler(void *userdata, json_t *params, struct rpc_error *err)
{
	struct fake_calls *calls = userdata;
	uint64_t n = 0;
	int r;

	calls->count++;
	r = rpc_param_uint(params, "n", 1000, &n, err);
	if (r < 0)
		return NULL;
	return json_pack("{s:I, s:b}", "n", (json_int_t)n, "present", r);
}

/* An answer over RPC_RESPONSE_MAX. */
static json_t *huge_handler(void *userdata, json_t *params, struct rpc_error *err)
{
	size_t len = RPC_RESPONSE_MAX + 16;
	char *text = malloc(len + 1);
	json_t *r;

	memset(text, 'x', len);
	text[len] = '\0';
	r = json_pack("{s:s}", "text", text);
	free(text);
	return r;
}

static json_t *data_handler(void *userdata, json_t *params, struct rpc_error *err)
{
	rpc_error_set(err, RPC_INVALID_PARAMS, "bad: see data");
	err->data = json_pack("{s:s}", "known", "yes");
	return NULL;
}

/* A result written as text: {"n":N,"text":...} put together by hand. */
static int text_handler(void *userdata, json_t *params, struct rpc_error *err, struct strbuf *out)
{
	uint64_t n = 0;

	if (rpc_param_uint(params, "n", 1000, &n, err) < 0)
		return -EINVAL;
	strbuf_printf(out, "{\"n\":%llu,\"text\":\"kept\"}", (unsigned long long)n);
	return 0;
}

/* A text handler that fails after writing part of its result: none of it may show. */
static int text_fail_handler(void *userdata, json_t *params, struct rpc_error *err,
			     struct strbuf *out)
{
	strbuf_puts(out, "{\"half\":");
	return rpc_error_set(err, RPC_NOT_FOUND, "nothing here");
}

/* A text result over RPC_RESPONSE_MAX. */
static int text_huge_handler(void *userdata, json_t *params, struct rpc_error *err,
			     struct strbuf *out)
{
	strbuf_puts(out, "\"");
	for (size_t i = 0; i < RPC_RESPONSE_MAX / 4096 + 1; i++)
		strbuf_printf(out, "%04096d", 0);
	strbuf_puts(out, "\"");
	return 0;
}

static const char *const echo_params[] = { "text", "n", NULL };
static const char *const count_params[] = { "n", NULL };

static const struct rpc_method fake_methods[] = {
	{ .name = "echo", .handler = echo_handler, .params = echo_params, .access = RPC_READ },
	{ .name = "fail", .handler = fail_handler, .params = NULL, .access = RPC_READ },
	{ .name = "nullres", .handler = null_result_handler, .params = NULL, .access = RPC_READ },
	{ .name = "withdata", .handler = data_handler, .params = NULL, .access = RPC_READ },
	{ .name = "huge", .handler = huge_handler, .params = NULL, .access = RPC_READ },
	{ NULL },
};

/* Registered separately, to show that tables add up. */
static const struct rpc_method more_methods[] = {
	{ .name = "count", .handler = count_handler, .params = count_params, .access = RPC_READ },
	{ .name = "change", .handler = echo_handler, .params = NULL, .access = RPC_WRITE },
	{ .name = "text", .text_handler = text_handler, .params = count_params },
	{ .name = "textfail", .text_handler = text_fail_handler },
	{ .name = "texthuge", .text_handler = text_huge_handler },
	{ NULL },
};

/* Root over the socket: may read and write. */
static const struct rpc_caller root_caller = { .may_read = true, .may_write = true };

struct rpc_fixture {
	struct rpc_registry registry;
	struct fake_calls calls;
};

static int fixture_setup(void **state)
{
	struct rpc_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(rpc_register(&f->registry, fake_methods, &f->calls), 0);
	assert_int_equal(rpc_register(&f->registry, more_methods, &f->calls), 0);
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct rpc_fixture *f = *state;

	rpc_registry_free(&f->registry);
	free(f);
	return 0;
}

/* Check the raw text is one line of valid JSON, then hand back the parsed value. */
static json_t *parse_response(char *text)
{
	json_error_t jerr;
	json_t *v;

	assert_non_null(text);
	if (strchr(text, '\n'))
		fail_msg("response contains a newline: %s", text);
	v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		fail_msg("response is not valid JSON (%s): %s", jerr.text, text);
	free(text);
	return v;
}

static json_t *handle_len(struct rpc_fixture *f, const char *line, size_t len)
{
	char *text = rpc_handle_line(&f->registry, &root_caller, line, len);

	if (!text)
		fail_msg("no response to a request that needs one: %.200s", line);
	return parse_response(text);
}

static json_t *handle(struct rpc_fixture *f, const char *line)
{
	return handle_len(f, line, strlen(line));
}

static void assert_no_response(struct rpc_fixture *f, const char *line)
{
	char *text = rpc_handle_line(&f->registry, &root_caller, line, strlen(line));

	if (text)
		fail_msg("expected no response to %s, got %s", line, text);
}

static void assert_envelope(json_t *resp)
{
	assert_true(json_is_object(resp));
	assert_string_equal(json_string_value(json_object_get(resp, "jsonrpc")), "2.0");
	assert_non_null(json_object_get(resp, "id"));
	/* Exactly one of result and error. */
	assert_true(!json_object_get(resp, "result") != !json_object_get(resp, "error"));
	assert_int_equal(json_object_size(resp), 3);
}

static void assert_id_integer(json_t *resp, json_int_t id)
{
	json_t *v = json_object_get(resp, "id");

	assert_true(json_is_integer(v));
	assert_int_equal(json_integer_value(v), id);
}

static void assert_id_null(json_t *resp)
{
	assert_true(json_is_null(json_object_get(resp, "id")));
}

/* Check code, and that the message holds @needle (when given); returns the message. */
static const char *assert_error(json_t *resp, int code, const char *needle)
{
	json_t *error = json_object_get(resp, "error");
	const char *message;

	assert_envelope(resp);
	if (!error)
		fail_msg("expected error %d, got a result", code);
	assert_true(json_is_integer(json_object_get(error, "code")));
	assert_int_equal(json_integer_value(json_object_get(error, "code")), code);
	message = json_string_value(json_object_get(error, "message"));
	assert_non_null(message);
	assert_true(message[0] != '\0');
	if (needle && !strstr(message, needle))
		fail_msg("error message \"%s\" does not contain \"%s\"", message, needle);
	return message;
}

static json_t *assert_result(json_t *resp)
{
	json_t *result = json_object_get(resp, "result");
	json_t *error = json_object_get(resp, "error");

	assert_envelope(resp);
	if (!result)
		fail_msg("expected a result, got error: %s",
			 json_string_value(json_object_get(error, "message")));
	return result;
}

/* Every line gets error @code mentioning @needle, echoing integer @id (-1: null). */
static void expect_error_for_each(struct rpc_fixture *f, const char *const *lines, size_t n,
				  int code, const char *needle, long long id)
{
	for (size_t i = 0; i < n; i++) {
		json_t *resp = handle(f, lines[i]);

		assert_error(resp, code, needle);
		if (id < 0)
			assert_id_null(resp);
		else
			assert_id_integer(resp, id);
		json_decref(resp);
	}
}

/* Too big an answer is an error that still names the request's id. */
static void test_oversized_answer_keeps_its_id(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"huge\",\"id\":\"big-1\"}");

	assert_string_equal(json_string_value(json_object_get(resp, "id")), "big-1");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "error"), "code")),
			 RPC_INTERNAL_ERROR);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(resp, "error"),
								 "message")), "32 MiB limit"));
	json_decref(resp);
}

static void test_register_and_find(void **state)
{
	struct rpc_fixture *f = *state;
	const struct rpc_entry *e;
	struct rpc_registry empty = { 0 };

	assert_int_equal(f->registry.n, 10);
	e = rpc_find(&f->registry, "echo");
	assert_non_null(e);
	assert_string_equal(e->method->name, "echo");
	assert_ptr_equal(e->userdata, &f->calls);
	e = rpc_find(&f->registry, "count");
	assert_non_null(e);
	assert_ptr_equal(e->method->handler, count_handler);
	assert_null(rpc_find(&f->registry, "ech"));
	assert_null(rpc_find(&f->registry, "echo2"));
	assert_null(rpc_find(&f->registry, ""));
	assert_null(rpc_find(&empty, "echo"));

	rpc_registry_free(&empty);
	assert_null(empty.entries);
}

static void test_result_with_integer_id(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp, *result;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"text\":\"hi\"},\"id\":7}");
	result = assert_result(resp);
	assert_string_equal(json_string_value(json_object_get(result, "text")), "hi");
	assert_int_equal(json_object_size(result), 1);
	assert_id_integer(resp, 7);
	assert_int_equal(f->calls.echo, 1);
	json_decref(resp);

	/* Ids are echoed exactly, whatever their size. */
	resp = handle(f, "{\"id\":9223372036854775807,\"method\":\"echo\",\"jsonrpc\":\"2.0\"}");
	assert_result(resp);
	assert_id_integer(resp, INT64_MAX);
	json_decref(resp);

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":-3}");
	assert_result(resp);
	assert_id_integer(resp, -3);
	json_decref(resp);
}

static void test_result_with_string_id(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"n\":1},\"id\":\"req-1\"}");
	assert_true(json_is_object(assert_result(resp)));
	assert_string_equal(json_string_value(json_object_get(resp, "id")), "req-1");
	json_decref(resp);

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"\"}");
	assert_result(resp);
	assert_string_equal(json_string_value(json_object_get(resp, "id")), "");
	json_decref(resp);
}

/* "id": null is a request, not a notification: it gets an answer with id null. */
static void test_null_id_is_answered(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":null}");
	assert_result(resp);
	assert_id_null(resp);
	json_decref(resp);
}

static void test_absent_or_null_params_are_empty_object(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp, *result;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}");
	result = assert_result(resp);
	assert_true(json_is_object(result));
	assert_int_equal(json_object_size(result), 0);
	json_decref(resp);

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":null,\"id\":2}");
	result = assert_result(resp);
	assert_true(json_is_object(result));
	assert_int_equal(json_object_size(result), 0);
	json_decref(resp);
}

static void test_notification_runs_but_gets_no_response(void **state)
{
	struct rpc_fixture *f = *state;

	assert_no_response(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"text\":\"x\"}}");
	assert_int_equal(f->calls.echo, 1);
	/* Failures of notifications are not reported either. */
	assert_no_response(f, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\"}");
	assert_no_response(f, "{\"jsonrpc\":\"2.0\",\"method\":\"nullres\"}");
	assert_no_response(f, "{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\"}");
	assert_no_response(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"bogus\":1}}");
	assert_int_equal(f->calls.echo, 1);
}

static void test_malformed_json_is_parse_error(void **state)
{
	static const char *const lines[] = {
		"{\"jsonrpc\":",
		"not json",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1,}",
		"{'jsonrpc':'2.0'}",
		"",
		/* Invalid UTF-8 inside a string. */
		"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}",
		/* Two objects on one line. */
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1} {}",
	};
	struct rpc_fixture *f = *state;

	expect_error_for_each(f, lines, ARRAY_SIZE(lines), RPC_PARSE_ERROR, "parse error", -1);
	assert_int_equal(f->calls.echo, 0);
}

static void test_truncated_json_is_parse_error(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"ec");
	assert_error(resp, RPC_PARSE_ERROR, "parse error");
	assert_id_null(resp);
	json_decref(resp);
}

/* Only @len bytes are the request: what follows in memory is not read. */
static void test_length_bounds_the_request(void **state)
{
	static const char line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":4}garbage";
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle_len(f, line, strlen(line) - strlen("garbage"));
	assert_result(resp);
	assert_id_integer(resp, 4);
	json_decref(resp);

	resp = handle_len(f, line, 20);
	assert_error(resp, RPC_PARSE_ERROR, "parse error");
	json_decref(resp);
}

/* Valid JSON that is not a request object is an invalid request, not a parse error. */
static void test_json_that_is_not_an_object_is_invalid_request(void **state)
{
	static const char *const lines[] = { "42", "\"x\"", "true", "null" };
	struct rpc_fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		json_t *resp = handle(f, lines[i]);
		json_t *error = json_object_get(resp, "error");

		if (json_integer_value(json_object_get(error, "code")) != RPC_INVALID_REQUEST)
			fail_msg("request %s: expected error %d, got %lld (%s)", lines[i],
				 RPC_INVALID_REQUEST,
				 (long long)json_integer_value(json_object_get(error, "code")),
				 json_string_value(json_object_get(error, "message")));
		assert_error(resp, RPC_INVALID_REQUEST, NULL);
		assert_id_null(resp);
		json_decref(resp);
	}
}

static void test_bad_jsonrpc_member_is_invalid_request(void **state)
{
	static const char *const lines[] = {
		"{\"method\":\"echo\",\"id\":5}",
		"{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":5}",
		"{\"jsonrpc\":2.0,\"method\":\"echo\",\"id\":5}",
		"{\"jsonrpc\":\"2.0 \",\"method\":\"echo\",\"id\":5}",
		"{\"jsonrpc\":null,\"method\":\"echo\",\"id\":5}",
	};
	struct rpc_fixture *f = *state;

	expect_error_for_each(f, lines, ARRAY_SIZE(lines), RPC_INVALID_REQUEST, "jsonrpc", 5);
	assert_int_equal(f->calls.echo, 0);
}

static void test_method_not_a_string_is_invalid_request(void **state)
{
	static const char *const lines[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":6}",
		"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":6}",
		"{\"jsonrpc\":\"2.0\",\"method\":null,\"id\":6}",
		"{\"jsonrpc\":\"2.0\",\"method\":[\"echo\"],\"id\":6}",
	};
	struct rpc_fixture *f = *state;

	expect_error_for_each(f, lines, ARRAY_SIZE(lines), RPC_INVALID_REQUEST, "method", 6);
}

/* An id that is not a string, integer or null cannot be echoed: it becomes null. */
static void test_bad_id_type_is_invalid_request(void **state)
{
	static const char *const lines[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1.5}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":[1]}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":{}}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":true}",
	};
	struct rpc_fixture *f = *state;

	expect_error_for_each(f, lines, ARRAY_SIZE(lines), RPC_INVALID_REQUEST, "id", -1);
	assert_int_equal(f->calls.echo, 0);
}

static void test_unknown_method(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"vms.nosuch\",\"id\":8}");
	assert_error(resp, RPC_METHOD_NOT_FOUND, "'vms.nosuch'");
	assert_id_integer(resp, 8);
	json_decref(resp);

	/* Method names match exactly: no prefixes, no case folding. */
	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"ECHO\",\"id\":\"a\"}");
	assert_error(resp, RPC_METHOD_NOT_FOUND, "ECHO");
	json_decref(resp);
	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"ech\",\"id\":\"a\"}");
	assert_error(resp, RPC_METHOD_NOT_FOUND, "ech");
	json_decref(resp);
}

static void test_params_not_an_object_is_invalid_params(void **state)
{
	static const char *const lines[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1,2],\"id\":9}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[],\"id\":9}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":\"text\",\"id\":9}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":3,\"id\":9}",
	};
	struct rpc_fixture *f = *state;

	expect_error_for_each(f, lines, ARRAY_SIZE(lines), RPC_INVALID_PARAMS, "params", 9);
	assert_int_equal(f->calls.echo, 0);
}

static void test_unknown_param_is_invalid_params(void **state)
{
	struct rpc_fixture *f = *state;
	const char *message;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\","
			 "\"params\":{\"text\":\"a\",\"colour\":1},\"id\":10}");
	message = assert_error(resp, RPC_INVALID_PARAMS, "'colour'");
	assert_non_null(strstr(message, "echo"));
	assert_id_integer(resp, 10);
	json_decref(resp);
	assert_int_equal(f->calls.echo, 0);

	/* A method that declares no parameters accepts none. */
	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"params\":{\"pid\":1},\"id\":11}");
	assert_error(resp, RPC_INVALID_PARAMS, "'pid'");
	json_decref(resp);

	/* ...but an empty object is fine. */
	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"params\":{},\"id\":12}");
	assert_error(resp, RPC_NOT_FOUND, NULL);
	json_decref(resp);
}

static void test_handler_error_is_passed_on(void **state)
{
	struct rpc_fixture *f = *state;
	const char *message;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":\"x\"}");
	message = assert_error(resp, RPC_NOT_FOUND, NULL);
	assert_string_equal(message, "no VM with pid 42");
	assert_string_equal(json_string_value(json_object_get(resp, "id")), "x");
	json_decref(resp);
}

static void test_handler_without_result_or_error_is_internal_error(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"nullres\",\"id\":13}");
	assert_error(resp, RPC_INTERNAL_ERROR, "nullres");
	assert_id_integer(resp, 13);
	json_decref(resp);
}

static void test_param_uint_direct(void **state)
{
	static const char *const bad[] = { "over", "str", "real", "bool", "neg" };
	struct rpc_error err = { 0 };
	uint64_t out = 77;
	json_t *params;

	params = json_pack("{s:I, s:I, s:I, s:s, s:f, s:b, s:n, s:I}", "zero", (json_int_t)0,
			   "max", (json_int_t)1000, "over", (json_int_t)1001, "str", "5",
			   "real", 1.0, "bool", 1, "null", "neg", (json_int_t)-1);
	assert_non_null(params);

	assert_int_equal(rpc_param_uint(params, "absent", 1000, &out, &err), 0);
	assert_int_equal(out, 77);
	assert_int_equal(rpc_param_uint(params, "null", 1000, &out, &err), 0);
	assert_int_equal(out, 77);
	assert_int_equal(err.code, 0);

	assert_int_equal(rpc_param_uint(params, "zero", 1000, &out, &err), 1);
	assert_int_equal(out, 0);
	assert_int_equal(rpc_param_uint(params, "max", 1000, &out, &err), 1);
	assert_int_equal(out, 1000);
	assert_int_equal(err.code, 0);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char expect[64];

		memset(&err, 0, sizeof(err));
		out = 77;
		assert_int_equal(rpc_param_uint(params, bad[i], 1000, &out, &err), -EINVAL);
		assert_int_equal(err.code, RPC_INVALID_PARAMS);
		assert_int_equal(out, 77);
		snprintf(expect, sizeof(expect), "params.%s must be an integer from 0 to 1000",
			 bad[i]);
		assert_string_equal(err.message, expect);
	}

	/* The widest range: INT64_MAX is the largest integer JSON can carry here. */
	json_object_set_new(params, "huge", json_integer(INT64_MAX));
	assert_int_equal(rpc_param_uint(params, "huge", UINT64_MAX, &out, &err), 1);
	assert_true(out == (uint64_t)INT64_MAX);
	json_decref(params);
}

static void test_param_uint_through_request(void **state)
{
	static const char *const bad[] = { "-1", "\"3\"", "1001", "2.5", "[]" };
	struct rpc_fixture *f = *state;
	json_t *resp, *result;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"params\":{\"n\":1000},\"id\":1}");
	result = assert_result(resp);
	assert_int_equal(json_integer_value(json_object_get(result, "n")), 1000);
	assert_true(json_is_true(json_object_get(result, "present")));
	json_decref(resp);

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":1}");
	result = assert_result(resp);
	assert_true(json_is_false(json_object_get(result, "present")));
	json_decref(resp);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char line[128];

		snprintf(line, sizeof(line),
			 "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"params\":{\"n\":%s},\"id\":2}",
			 bad[i]);
		resp = handle(f, line);
		assert_error(resp, RPC_INVALID_PARAMS, "params.n");
		assert_id_integer(resp, 2);
		json_decref(resp);
	}

	/* Beyond what jansson's integers hold: the line does not parse at all. */
	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"count\","
			 "\"params\":{\"n\":99999999999999999999},\"id\":3}");
	assert_error(resp, RPC_PARSE_ERROR, "parse error");
	json_decref(resp);
}

static void test_batch_answers_in_order(void **state)
{
	static const char batch[] =
		"[{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"n\":1},\"id\":1},"
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"n\":2}},"
		"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":3},"
		"{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\",\"id\":\"four\"},"
		"1,"
		"{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":6}]";
	struct rpc_fixture *f = *state;
	json_t *resp, *item;
	char *text;

	text = rpc_handle_line(&f->registry, &root_caller, batch, strlen(batch));
	resp = parse_response(text);
	assert_true(json_is_array(resp));
	assert_int_equal(json_array_size(resp), 5);

	item = json_array_get(resp, 0);
	assert_int_equal(json_integer_value(json_object_get(assert_result(item), "n")), 1);
	assert_id_integer(item, 1);

	item = json_array_get(resp, 1);
	assert_error(item, RPC_INVALID_REQUEST, "method");
	assert_id_integer(item, 3);

	item = json_array_get(resp, 2);
	assert_error(item, RPC_METHOD_NOT_FOUND, "nosuch");
	assert_string_equal(json_string_value(json_object_get(item, "id")), "four");

	item = json_array_get(resp, 3);
	assert_error(item, RPC_INVALID_REQUEST, NULL);
	assert_id_null(item);

	item = json_array_get(resp, 4);
	assert_error(item, RPC_NOT_FOUND, NULL);
	assert_id_integer(item, 6);
	json_decref(resp);

	/* The notification in the batch ran too. */
	assert_int_equal(f->calls.echo, 2);
}

static void test_batch_of_notifications_gets_no_response(void **state)
{
	struct rpc_fixture *f = *state;

	assert_no_response(f, "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"},"
			      "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"params\":{\"n\":3}}]");
	assert_int_equal(f->calls.echo, 1);
	assert_int_equal(f->calls.count, 1);
}

static void test_empty_batch_is_invalid_request(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle(f, "[]");
	assert_true(json_is_object(resp));
	assert_error(resp, RPC_INVALID_REQUEST, "empty batch");
	assert_id_null(resp);
	json_decref(resp);
}

static void test_duplicate_keys_are_parse_error(void **state)
{
	static const char *const lines[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"method\":\"fail\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"n\":1,\"n\":2},\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1,\"id\":2}",
	};
	struct rpc_fixture *f = *state;

	expect_error_for_each(f, lines, ARRAY_SIZE(lines), RPC_PARSE_ERROR, "parse error", -1);
	assert_int_equal(f->calls.echo, 0);
}

static void test_long_line_is_handled(void **state)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"text\":\"";
	static const char tail[] = "\"},\"id\":14}";
	const size_t text_len = 60000;
	struct rpc_fixture *f = *state;
	size_t len = strlen(head) + text_len + strlen(tail);
	char *line = malloc(len + 1);
	const char *echoed;
	json_t *resp;

	assert_non_null(line);
	assert_true(len < RPC_LINE_MAX);
	memcpy(line, head, strlen(head));
	for (size_t i = 0; i < text_len; i++)
		line[strlen(head) + i] = (char)('a' + i % 26);
	memcpy(line + strlen(head) + text_len, tail, strlen(tail) + 1);

	resp = handle(f, line);
	echoed = json_string_value(json_object_get(assert_result(resp), "text"));
	assert_non_null(echoed);
	assert_int_equal(strlen(echoed), text_len);
	assert_memory_equal(echoed, line + strlen(head), text_len);
	assert_id_integer(resp, 14);
	json_decref(resp);
	free(line);
}

/* Control characters and newlines in results are escaped: one response, one line. */
static void test_result_text_is_escaped(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\","
			 "\"params\":{\"text\":\"a\\nb\\r\\u0001\\\"\"},\"id\":15}");
	assert_string_equal(json_string_value(json_object_get(assert_result(resp), "text")),
			    "a\nb\r\001\"");
	json_decref(resp);
}

static void assert_ascii(const char *text)
{
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p >= 0x80)
			fail_msg("response has a raw non-ASCII byte 0x%02x: %s", (unsigned char)*p,
				 text);
}

static void test_utf8_method_name_is_escaped(void **state)
{
	static const char line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"vm\xc3\xa9.\xe2\x82\xac\",\"id\":16}";
	struct rpc_fixture *f = *state;
	char *text;
	json_t *resp;

	text = rpc_handle_line(&f->registry, &root_caller, line, strlen(line));
	assert_non_null(text);
	assert_ascii(text);
	/* jansson writes \u00E9; JSON allows either case. */
	assert_non_null(strcasestr(text, "\\u00e9"));
	assert_non_null(strcasestr(text, "\\u20ac"));
	resp = parse_response(text);
	assert_error(resp, RPC_METHOD_NOT_FOUND, "'vm\xc3\xa9.\xe2\x82\xac'");
	assert_id_integer(resp, 16);
	json_decref(resp);
}

/*
 * A method name long enough to be cut in the error message, with a
 * two-byte character straddling the cut, must still get its -32601.
 */
static void test_long_utf8_method_name_is_answered(void **state)
{
	struct rpc_fixture *f = *state;
	char name[256], line[512];
	json_t *resp;

	memset(name, 'a', 199);
	strcpy(name + 199, "\xc3\xa9");
	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":17}", name);

	resp = handle(f, line);
	assert_error(resp, RPC_METHOD_NOT_FOUND, "unknown method 'aaaa");
	assert_id_integer(resp, 17);
	json_decref(resp);
}

/* The same for an unknown parameter name cut at the 511-byte message limit. */
static void test_long_utf8_param_name_is_answered(void **state)
{
	static const char prefix[] = "method 'echo' has no parameter '";
	struct rpc_fixture *f = *state;
	char key[600], line[1024];
	size_t n_ascii = 510 - strlen(prefix);
	json_t *resp;

	memset(key, 'b', n_ascii);
	strcpy(key + n_ascii, "\xc3\xa9");
	snprintf(line, sizeof(line),
		 "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"%s\":1},\"id\":18}", key);

	resp = handle(f, line);
	assert_error(resp, RPC_INVALID_PARAMS, "has no parameter 'bbbb");
	assert_id_integer(resp, 18);
	json_decref(resp);
}

static void test_error_line(void **state)
{
	json_t *resp;

	resp = parse_response(rpc_error_line(RPC_INVALID_REQUEST, "line too long"));
	assert_string_equal(assert_error(resp, RPC_INVALID_REQUEST, NULL), "line too long");
	assert_id_null(resp);
	json_decref(resp);

	resp = parse_response(rpc_error_line(RPC_PARSE_ERROR, "two\nlines \"quoted\" \\"));
	assert_string_equal(assert_error(resp, RPC_PARSE_ERROR, NULL), "two\nlines \"quoted\" \\");
	json_decref(resp);
}

static void test_error_set(void **state)
{
	struct rpc_error err = { 0 };
	char big[1000];

	assert_int_equal(rpc_error_set(&err, RPC_UNAVAILABLE, "capability %s: %d", "exits", -2),
			 -EINVAL);
	assert_int_equal(err.code, RPC_UNAVAILABLE);
	assert_string_equal(err.message, "capability exits: -2");

	/* Long messages are cut to the buffer, NUL-terminated. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rpc_error_set(&err, RPC_INTERNAL_ERROR, "%s", big);
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
}

/* A batch of more than RPC_BATCH_MAX requests runs none of them. */
static void test_batch_over_limit_is_invalid_request(void **state)
{
	struct rpc_fixture *f = *state;
	struct strbuf sb;
	json_t *resp;
	char *text;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "[");
	for (int i = 0; i < RPC_BATCH_MAX + 1; i++)
		strbuf_printf(&sb, "%s{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":%d}",
			      i ? "," : "", i);
	strbuf_puts(&sb, "]");
	text = rpc_handle_line(&f->registry, &root_caller, sb.data, sb.len);
	resp = parse_response(text);
	assert_true(json_is_object(resp));
	assert_error(resp, RPC_INVALID_REQUEST, "the limit is 64 per batch");
	assert_id_null(resp);
	json_decref(resp);
	assert_int_equal(f->calls.echo, 0);

	/* Exactly the limit is fine. */
	strbuf_consume(&sb, sb.len);
	strbuf_puts(&sb, "[");
	for (int i = 0; i < RPC_BATCH_MAX; i++)
		strbuf_printf(&sb, "%s{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":%d}",
			      i ? "," : "", i);
	strbuf_puts(&sb, "]");
	resp = parse_response(rpc_handle_line(&f->registry, &root_caller, sb.data, sb.len));
	assert_int_equal(json_array_size(resp), RPC_BATCH_MAX);
	assert_int_equal(f->calls.echo, RPC_BATCH_MAX);
	json_decref(resp);
	strbuf_free(&sb);
}

/*
 * Once a batch's response passes the caller's bound, its remaining
 * requests do not run; each gets an error with its own id.
 */
static void test_batch_output_is_bounded(void **state)
{
	struct rpc_fixture *f = *state;
	struct rpc_caller caller = root_caller;
	struct strbuf sb;
	char big[1100];
	json_t *resp;

	memset(big, 'x', 1000);
	big[1000] = '\0';
	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "[");
	for (int i = 0; i < 10; i++)
		strbuf_printf(&sb, "%s{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"text\":\"%s\"},\"id\":%d}",
			      i ? "," : "", big, i);
	strbuf_puts(&sb, ",{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}]");
	caller.batch_output_max = 2500;
	resp = parse_response(rpc_handle_line(&f->registry, &caller, sb.data, sb.len));
	strbuf_free(&sb);
	assert_true(json_is_array(resp));
	/* Ten answers, the notification none; three ran (3 x ~1 KB > 2500). */
	assert_int_equal(json_array_size(resp), 10);
	assert_int_equal(f->calls.echo, 3);
	for (int i = 0; i < 10; i++) {
		json_t *item = json_array_get(resp, (size_t)i);

		assert_id_integer(item, i);
		if (i < 3)
			assert_non_null(json_object_get(item, "result"));
		else
			assert_error(item, RPC_UNAVAILABLE, "2500 byte limit");
	}
	json_decref(resp);
}

/* Access levels: the message names the missing credential. */
static void test_access_levels(void **state)
{
	static const char read_line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}";
	static const char write_line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"change\",\"id\":2}";
	struct rpc_fixture *f = *state;
	struct rpc_caller member = { .may_read = true, .uid = 1000, .pid = 7, .group = "kvmscope" };
	struct rpc_caller stranger = { .uid = 65534, .pid = 8, .group = "kvmscope" };
	json_t *resp;

	/* Root does both. */
	resp = handle(f, write_line);
	assert_non_null(assert_result(resp));
	json_decref(resp);

	resp = parse_response(rpc_handle_line(&f->registry, &member, read_line, strlen(read_line)));
	assert_non_null(assert_result(resp));
	json_decref(resp);
	resp = parse_response(rpc_handle_line(&f->registry, &member, write_line, strlen(write_line)));
	assert_string_equal(assert_error(resp, RPC_PERMISSION_DENIED, NULL),
			    "permission denied: change changes state: root only; you are uid 1000");
	assert_id_integer(resp, 2);
	json_decref(resp);

	resp = parse_response(rpc_handle_line(&f->registry, &stranger, read_line, strlen(read_line)));
	assert_string_equal(assert_error(resp, RPC_PERMISSION_DENIED, NULL),
			    "permission denied: echo reads state: root or group kvmscope only; you are uid 65534");
	json_decref(resp);
	stranger.group = NULL;
	resp = parse_response(rpc_handle_line(&f->registry, &stranger, write_line, strlen(write_line)));
	assert_error(resp, RPC_PERMISSION_DENIED, "root only; you are uid 65534");
	json_decref(resp);
	/* A refused call never ran: only root's "change" and the member's "echo" did. */
	assert_int_equal(f->calls.echo, 2);
}

static void test_error_data_is_passed_on(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp, *error;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"withdata\",\"id\":3}");
	assert_error(resp, RPC_INVALID_PARAMS, "see data");
	error = json_object_get(resp, "error");
	assert_string_equal(json_string_value(json_object_get(json_object_get(error, "data"), "known")),
			    "yes");
	json_decref(resp);
	/* As a notification the data is dropped without a leak (ASan/valgrind). */
	assert_no_response(f, "{\"jsonrpc\":\"2.0\",\"method\":\"withdata\"}");
}

/* A method that writes its result as text answers as any other. */
static void test_text_result(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp, *result;

	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"text\",\"params\":{\"n\":7},\"id\":\"a\\\"b\"}");
	assert_envelope(resp);
	assert_string_equal(json_string_value(json_object_get(resp, "id")), "a\"b");
	result = json_object_get(resp, "result");
	assert_int_equal(json_integer_value(json_object_get(result, "n")), 7);
	assert_string_equal(json_string_value(json_object_get(result, "text")), "kept");
	json_decref(resp);
	/* Its parameters are checked the same way. */
	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"text\",\"params\":{\"n\":-1},\"id\":3}");
	assert_error(resp, RPC_INVALID_PARAMS, "n");
	assert_id_integer(resp, 3);
	json_decref(resp);
	resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"text\",\"params\":{\"x\":1},\"id\":4}");
	assert_error(resp, RPC_INVALID_PARAMS, "no parameter 'x'");
	json_decref(resp);
	/* In a batch, and as a notification (no answer, no leak). */
	resp = handle(f, "[{\"jsonrpc\":\"2.0\",\"method\":\"text\",\"id\":1},"
			 "{\"jsonrpc\":\"2.0\",\"method\":\"text\"},"
			 "{\"jsonrpc\":\"2.0\",\"method\":\"textfail\",\"id\":2}]");
	assert_int_equal(json_array_size(resp), 2);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(json_array_get(resp, 0), "result"), "n")), 0);
	assert_error(json_array_get(resp, 1), RPC_NOT_FOUND, "nothing here");
	json_decref(resp);
	assert_no_response(f, "{\"jsonrpc\":\"2.0\",\"method\":\"text\"}");
}

/* A failed text handler's half-written result never reaches the answer. */
static void test_text_handler_error(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"textfail\",\"id\":9}");

	assert_error(resp, RPC_NOT_FOUND, "nothing here");
	assert_id_integer(resp, 9);
	assert_null(json_object_get(resp, "result"));
	json_decref(resp);
}

/* A text result over the limit is refused as a JSON one is, with its id. */
static void test_text_oversized_keeps_its_id(void **state)
{
	struct rpc_fixture *f = *state;
	json_t *resp = handle(f, "{\"jsonrpc\":\"2.0\",\"method\":\"texthuge\",\"id\":11}");

	assert_error(resp, RPC_INTERNAL_ERROR, "limit");
	assert_id_integer(resp, 11);
	json_decref(resp);
}

#define RPC_TEST(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)


int main(void)
{
	const struct CMUnitTest tests[] = {
		RPC_TEST(test_register_and_find),
		RPC_TEST(test_oversized_answer_keeps_its_id),
		RPC_TEST(test_result_with_integer_id),
		RPC_TEST(test_result_with_string_id),
		RPC_TEST(test_null_id_is_answered),
		RPC_TEST(test_absent_or_null_params_are_empty_object),
		RPC_TEST(test_notification_runs_but_gets_no_response),
		RPC_TEST(test_malformed_json_is_parse_error),
		RPC_TEST(test_truncated_json_is_parse_error),
		RPC_TEST(test_length_bounds_the_request),
		RPC_TEST(test_json_that_is_not_an_object_is_invalid_request),
		RPC_TEST(test_bad_jsonrpc_member_is_invalid_request),
		RPC_TEST(test_method_not_a_string_is_invalid_request),
		RPC_TEST(test_bad_id_type_is_invalid_request),
		RPC_TEST(test_unknown_method),
		RPC_TEST(test_params_not_an_object_is_invalid_params),
		RPC_TEST(test_unknown_param_is_invalid_params),
		RPC_TEST(test_handler_error_is_passed_on),
		RPC_TEST(test_handler_without_result_or_error_is_internal_error),
		RPC_TEST(test_param_uint_direct),
		RPC_TEST(test_param_uint_through_request),
		RPC_TEST(test_batch_answers_in_order),
		RPC_TEST(test_batch_of_notifications_gets_no_response),
		RPC_TEST(test_empty_batch_is_invalid_request),
		RPC_TEST(test_duplicate_keys_are_parse_error),
		RPC_TEST(test_long_line_is_handled),
		RPC_TEST(test_result_text_is_escaped),
		RPC_TEST(test_utf8_method_name_is_escaped),
		RPC_TEST(test_long_utf8_method_name_is_answered),
		RPC_TEST(test_long_utf8_param_name_is_answered),
		RPC_TEST(test_error_line),
		RPC_TEST(test_error_set),
		RPC_TEST(test_batch_over_limit_is_invalid_request),
		RPC_TEST(test_batch_output_is_bounded),
		RPC_TEST(test_access_levels),
		RPC_TEST(test_error_data_is_passed_on),
		RPC_TEST(test_text_result),
		RPC_TEST(test_text_handler_error),
		RPC_TEST(test_text_oversized_keeps_its_id),
	};

	return cmocka_run_group_tests_name("rpc", tests, NULL, NULL);
}
