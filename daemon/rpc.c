// SPDX-License-Identifier: GPL-2.0-only
/* JSON-RPC 2.0 request handling; see rpc.h. */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rpc.h"
#include "strbuf.h"

int rpc_register(struct rpc_registry *reg, const struct rpc_method *table, void *userdata)
{
	size_t n = 0;
	struct rpc_entry *v;

	while (table[n].name)
		n++;
	v = realloc(reg->entries, (reg->n + n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	reg->entries = v;
	for (size_t i = 0; i < n; i++) {
		v[reg->n + i].method = &table[i];
		v[reg->n + i].userdata = userdata;
	}
	reg->n += n;
	return 0;
}

void rpc_registry_free(struct rpc_registry *reg)
{
	free(reg->entries);
	reg->entries = NULL;
	reg->n = 0;
}

const struct rpc_entry *rpc_find(const struct rpc_registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->n; i++)
		if (!strcmp(reg->entries[i].method->name, name))
			return &reg->entries[i];
	return NULL;
}

int rpc_error_set(struct rpc_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int rpc_param_uint(json_t *params, const char *key, uint64_t max, uint64_t *out,
		   struct rpc_error *err)
{
	json_t *v = json_object_get(params, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return rpc_error_set(err, RPC_INVALID_PARAMS,
				     "params.%s must be an integer from 0 to %llu", key,
				     (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

/*
 * Never NULL for a request with an id: a client must not wait forever.
 * Every error message passes here, so this is where text cut inside a
 * UTF-8 character (which jansson refuses) is made valid.
 */
static json_t *response_error_data(json_t *id, int code, const char *message, json_t *data)
{
	char safe[600];
	json_t *error;

	snprintf(safe, sizeof(safe), "%s", message);
	utf8_sanitize(safe);
	error = json_pack("{s:i, s:s}", "code", code, "message", safe);
	if (!error)
		error = json_pack("{s:i, s:s}", "code", code, "message", "error (message unavailable)");
	if (error && data)
		json_object_set(error, "data", data);
	json_decref(data);
	return json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "error", error, "id",
			 id ? id : json_null());
}

static json_t *response_error(json_t *id, int code, const char *message)
{
	return response_error_data(id, code, message, NULL);
}

static char *dump(json_t *v)
{
	char *s = json_dumps(v, RPC_DUMP_FLAGS);

	json_decref(v);
	return s;
}

char *rpc_error_line(int code, const char *message)
{
	return dump(response_error(NULL, code, message));
}

static int check_params(const struct rpc_method *m, json_t *params, struct rpc_error *err)
{
	const char *key;
	json_t *value;

	json_object_foreach(params, key, value) {
		bool known = false;

		for (const char *const *p = m->params; p && *p; p++)
			if (!strcmp(*p, key))
				known = true;
		if (!known)
			return rpc_error_set(err, RPC_INVALID_PARAMS,
					     "method '%s' has no parameter '%s'", m->name, key);
	}
	return 0;
}

/*
 * Fill @err when @caller may not call @m.  The message names the
 * credential that is missing, so a user knows whom to ask.
 */
static int check_access(const struct rpc_method *m, const struct rpc_caller *caller,
			struct rpc_error *err)
{
	if (m->access == RPC_WRITE && !caller->may_write)
		rpc_error_set(err, RPC_PERMISSION_DENIED,
			      "permission denied: %s changes state: root only; you are uid %u",
			      m->name, (unsigned int)caller->uid);
	else if (!caller->may_read && caller->group)
		rpc_error_set(err, RPC_PERMISSION_DENIED,
			      "permission denied: %s reads state: root or group %s only; you are uid %u",
			      m->name, caller->group, (unsigned int)caller->uid);
	else if (!caller->may_read)
		rpc_error_set(err, RPC_PERMISSION_DENIED,
			      "permission denied: %s reads state: root only; you are uid %u",
			      m->name, (unsigned int)caller->uid);
	else
		return 0;
	log_warning("Refused %s to uid %u pid %d: %s", m->name, (unsigned int)caller->uid,
		    (int)caller->pid, m->access == RPC_WRITE ? "root only" : "not in the group");
	return -EPERM;
}

/*
 * Handle one request object; returns the response text, or NULL for a
 * notification (or, past every fallback, no memory).  With @bounded, an
 * answer past RPC_RESPONSE_MAX becomes an error that still carries the
 * request's id: a client must be able to tell which request was too big.
 */
static char *handle_request(const struct rpc_registry *reg, const struct rpc_caller *caller,
			    json_t *req, bool bounded)
{
	json_t *id, *method, *params, *version, *result = NULL;
	const struct rpc_entry *e;
	struct rpc_error err = { 0 };
	bool own_params = false, written = false;
	char *text = NULL, msg[300];
	struct strbuf sb;
	size_t len = 0;

	if (!json_is_object(req))
		return dump(response_error(NULL, RPC_INVALID_REQUEST,
					   "invalid request: expected a JSON object"));
	id = json_object_get(req, "id");
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
		return dump(response_error(NULL, RPC_INVALID_REQUEST,
					   "invalid request: \"id\" must be a string, an integer or null"));
	version = json_object_get(req, "jsonrpc");
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0"))
		return dump(response_error(id, RPC_INVALID_REQUEST,
					   "invalid request: \"jsonrpc\" must be \"2.0\""));
	method = json_object_get(req, "method");
	if (!json_is_string(method))
		return dump(response_error(id, RPC_INVALID_REQUEST,
					   "invalid request: \"method\" must be a string"));
	params = json_object_get(req, "params");
	if (params && !json_is_object(params) && !json_is_null(params))
		return dump(response_error(id, RPC_INVALID_PARAMS,
					   "invalid params: \"params\" must be an object of named parameters"));

	e = rpc_find(reg, json_string_value(method));
	if (!e) {
		snprintf(msg, sizeof(msg), "unknown method '%.200s'", json_string_value(method));
		return id ? dump(response_error(id, RPC_METHOD_NOT_FOUND, msg)) : NULL;
	}
	if (!params || json_is_null(params)) {
		params = json_object();
		own_params = true;
	}
	if (check_access(e->method, caller, &err) == 0 &&
	    check_params(e->method, params, &err) == 0) {
		if (e->method->text_handler) {
			/* The result goes straight where the response is written. */
			strbuf_init(&sb, 0);
			strbuf_puts(&sb, "{\"jsonrpc\":\"2.0\",\"result\":");
			written = e->method->text_handler(e->userdata, params, &err, &sb) == 0 &&
				  !sb.overflow;
			if (!written)
				strbuf_free(&sb);
		} else if (e->method->caller_handler) {
			result = e->method->caller_handler(e->userdata, caller, params, &err);
		} else {
			result = e->method->handler(e->userdata, params, &err);
		}
		if (!result && !written && !err.code)
			rpc_error_set(&err, RPC_INTERNAL_ERROR, "internal error in '%s'",
				      e->method->name);
	}
	if (own_params)
		json_decref(params);
	if (!id) {
		/* Notification: run it, answer nothing. */
		json_decref(result);
		if (written)
			strbuf_free(&sb);
		json_decref(err.data);
		return NULL;
	}
	if (!result && !written)
		return dump(response_error_data(id, err.code, err.message, err.data));
	json_decref(err.data);
	if (result) {
		text = dump(json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result", result, "id", id));
		len = text ? strlen(text) : 0;
		/*
		 * A big answer was built from many small JSON nodes, freed by
		 * now: give their pages back, or the daemon's RSS stays at its peak.
		 */
		if (len > (1u << 20))
			malloc_trim(0);
	} else {
		char *id_text = json_dumps(id, RPC_DUMP_FLAGS | JSON_ENCODE_ANY);

		strbuf_puts(&sb, ",\"id\":");
		strbuf_puts(&sb, id_text ? id_text : "null");
		strbuf_puts(&sb, "}");
		len = sb.len;
		text = id_text && !sb.overflow ? strbuf_steal(&sb) : NULL;
		strbuf_free(&sb);
		free(id_text);
	}
	if (!text)
		return rpc_error_line(RPC_INTERNAL_ERROR, "internal error: out of memory");
	if (bounded && len > RPC_RESPONSE_MAX) {
		free(text);
		snprintf(msg, sizeof(msg),
			 "the answer would be %zu bytes, over the %u MiB limit; narrow the request "
			 "(e.g. params.pid)", len, RPC_RESPONSE_MAX >> 20);
		text = dump(response_error(id, RPC_INTERNAL_ERROR, msg));
	}
	return text;
}

/*
 * A batch's response is built as text, request by request, so that its
 * size is known as it grows: once it passes the caller's bound, the
 * remaining requests are not run and each gets an error instead.
 */
static char *handle_batch(const struct rpc_registry *reg, const struct rpc_caller *caller,
			  json_t *batch)
{
	size_t max = caller->batch_output_max ? caller->batch_output_max : RPC_BATCH_OUTPUT_MAX;
	size_t i, n_responses = 0;
	struct strbuf sb;
	json_t *item;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "[");
	json_array_foreach(batch, i, item) {
		char *text;

		if (sb.len > max) {
			char msg[160];
			json_t *id = json_is_object(item) ? json_object_get(item, "id") : NULL;

			/* A notification gets nothing back, even here. */
			if (json_is_object(item) && !id)
				continue;
			if (id && !json_is_string(id) && !json_is_integer(id))
				id = NULL;
			snprintf(msg, sizeof(msg),
				 "not run: the batch's response passed the %zu byte limit; "
				 "send fewer requests per batch", max);
			text = dump(response_error(id, RPC_UNAVAILABLE, msg));
		} else {
			/* NULL: a notification, which gets no answer. */
			text = handle_request(reg, caller, item, false);
			if (!text)
				continue;
		}
		if (!text)
			text = rpc_error_line(RPC_INTERNAL_ERROR, "internal error: out of memory");
		if (text) {
			if (n_responses++)
				strbuf_puts(&sb, ",");
			strbuf_puts(&sb, text);
			free(text);
		}
	}
	strbuf_puts(&sb, "]");
	if (!n_responses || sb.overflow) {
		strbuf_free(&sb);
		return n_responses ? rpc_error_line(RPC_INTERNAL_ERROR, "internal error: out of memory")
				   : NULL;
	}
	return strbuf_steal(&sb);
}

char *rpc_handle_line(const struct rpc_registry *reg, const struct rpc_caller *caller,
		      const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req;
	char *text;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!req) {
		char msg[400];

		snprintf(msg, sizeof(msg), "parse error at column %d: %s", jerr.column, jerr.text);
		return rpc_error_line(RPC_PARSE_ERROR, msg);
	}
	if (json_is_array(req)) {
		size_t n = json_array_size(req);

		if (n == 0) {
			json_decref(req);
			return rpc_error_line(RPC_INVALID_REQUEST,
					      "invalid request: empty batch");
		}
		if (n > RPC_BATCH_MAX) {
			char msg[160];

			json_decref(req);
			snprintf(msg, sizeof(msg),
				 "invalid request: batch of %zu requests; the limit is %d per batch",
				 n, RPC_BATCH_MAX);
			return rpc_error_line(RPC_INVALID_REQUEST, msg);
		}
		text = handle_batch(reg, caller, req);
		json_decref(req);
		return text;
	}
	text = handle_request(reg, caller, req, true);
	json_decref(req);
	return text;
}
