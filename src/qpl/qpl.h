/*
 * qpl.h — the pieces of libdcap_quoteprov.so.1 shared between its files:
 * logging through the consumer's callback, the served bundle (opened
 * lazily, swapped atomically when a new one is installed), and the mapping
 * from colbundle errors to the ABI's quote3_error_t.
 *
 * Nothing here is exported: the version script (quoteprov.map) exports the
 * ABI's functions only.
 */
#ifndef COLB_QPL_H
#define COLB_QPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "colbundle.h"
#include "qpl/sgx_ql_types.h"

#define QPL_EXPORT __attribute__((visibility("default")))

#define QPL_DEFAULT_CONF "/etc/colbundle/colbundle.conf"

/* ---- logging (log.c) -------------------------------------------------------- */

/* Formats a message and hands it to the callbacks the consumer set
 * (sgx_ql_set_logging_callback, sgx_ql_set_logging_function) when its level
 * passes both the consumer's maximum and the configuration's log_level.
 * Never writes to stdout or stderr. */
void qpl_log(sgx_ql_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool qpl_log_enabled(sgx_ql_log_level_t level);
/* The configuration's log_level (-1: not set). */
void qpl_log_set_conf_level(int level);
quote3_error_t qpl_log_set_callback(sgx_ql_logging_callback_t cb, sgx_ql_log_level_t max);
quote3_error_t qpl_log_set_function(sgx_ql_logging_function_t fn);

/* ---- the served bundle (source.c) ----------------------------------------------- */

/* What identifies one installed file: an atomic rename gives a new inode. */
typedef struct qpl_fileid {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
} qpl_fileid;

/* Which installed bundle a source is: the file's identity for a `bundle`,
 * the store's generation name for a `store`. */
typedef struct qpl_ident {
	qpl_fileid file;
	char gen[COLB_STORE_GEN_MAX];
} qpl_ident;

/* One opened, verified bundle with everything it borrows. Reference-counted:
 * the current source holds one reference, every call in flight one more; the
 * last release frees it, so a swap never pulls a bundle from under a call. */
typedef struct qpl_source {
	atomic_uint refs;
	colb_bundle *b;
	colb_opts *opts;
	colb_trust *trust;
	char *path;            /* the bundle file or store watched for a new install */
	bool store;            /* path is a site store (format-spec/site-store.md) */
	qpl_ident id;          /* of the bundle that was verified */
	uint64_t version;
	/* Held around the libcolbundle lookups (not the copies): a failing
	 * lookup writes the handle's shared error message, so two of them at
	 * once would race. */
	pthread_mutex_t lookup_lock;
} qpl_source;

/* A reference to the current bundle, opening it on first use and switching
 * to a newly installed one. On failure the reason is logged and the ABI
 * error is returned. */
quote3_error_t qpl_acquire(qpl_source **out);
void qpl_release(qpl_source *s);
/* Forgets the current bundle: the next call reads the configuration and
 * opens the bundle again (sgx_qpl_clear_cache, sgx_qpl_global_cleanup). */
void qpl_drop(void);

/* ---- errors ----------------------------------------------------------------------- */

/* What a colbundle error means to a QPL consumer. `not_found` is the code for
 * COLB_ERR_NOT_FOUND in the caller's context (NO_QUOTE_COLLATERAL_DATA,
 * NO_PLATFORM_CERT_DATA, NO_QVE_IDENTITY_DATA). */
quote3_error_t qpl_map_err(colb_err e, quote3_error_t not_found);
/* The ABI name of a code ("SGX_QL_NO_QUOTE_COLLATERAL_DATA"), for logs. */
const char *qpl_err_name(quote3_error_t e);

#endif /* COLB_QPL_H */
