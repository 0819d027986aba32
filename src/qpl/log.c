/*
 * log.c — logging of the quote provider library: only through the callbacks
 * the consumer sets, never to stdout or stderr (a QPL lives inside someone
 * else's process).
 */
#include <stdarg.h>
#include <stdio.h>

#include "qpl/qpl.h"

/* Set and read from any thread: atomics, no lock on the logging path. */
static _Atomic(sgx_ql_logging_callback_t) intel_cb;
static atomic_int intel_max = SGX_QL_LOG_ERROR;
static _Atomic(sgx_ql_logging_function_t) azure_fn;
static atomic_int conf_level = -1;

void qpl_log_set_conf_level(int level)
{
	atomic_store(&conf_level, level);
}

quote3_error_t qpl_log_set_callback(sgx_ql_logging_callback_t cb, sgx_ql_log_level_t max)
{
	if ((unsigned)max > SGX_QL_LOG_TRACE)
		return SGX_QL_ERROR_INVALID_PARAMETER;
	atomic_store(&intel_max, (int)max);
	atomic_store(&intel_cb, cb);
	return SGX_QL_SUCCESS;
}

quote3_error_t qpl_log_set_function(sgx_ql_logging_function_t fn)
{
	atomic_store(&azure_fn, fn);
	return SGX_QL_SUCCESS;
}

/* Azure's callback has no maximum of its own: the configuration's
 * log_level decides, INFO when unset. */
static bool azure_wants(sgx_ql_log_level_t level)
{
	int c = atomic_load(&conf_level);
	return (int)level <= (c < 0 ? SGX_QL_LOG_INFO : c);
}

static bool intel_wants(sgx_ql_log_level_t level)
{
	int c = atomic_load(&conf_level);
	return (int)level <= atomic_load(&intel_max) && (c < 0 || (int)level <= c);
}

bool qpl_log_enabled(sgx_ql_log_level_t level)
{
	return (atomic_load(&intel_cb) && intel_wants(level)) || (atomic_load(&azure_fn) && azure_wants(level));
}

void qpl_log(sgx_ql_log_level_t level, const char *fmt, ...)
{
	sgx_ql_logging_callback_t cb = atomic_load(&intel_cb);
	sgx_ql_logging_function_t fn = atomic_load(&azure_fn);
	bool to_intel = cb && intel_wants(level), to_azure = fn && azure_wants(level);
	if (!to_intel && !to_azure)
		return;
	char msg[1536];
	int n = snprintf(msg, sizeof msg, "colbundle: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	if (to_intel)
		cb(level, msg);
	if (to_azure)
		fn(level == SGX_QL_LOG_ERROR ? AZ_QL_LOG_ERROR : AZ_QL_LOG_INFO, msg);
}
