/*
 * capture.h — `colbundle capture`: fetch a fleet's collateral from Intel PCS
 * (or a PCCS / THIM) and AMD KDS into a work directory laid out as
 * format-spec/raw-layouts.md describes, then validate and pack it exactly as
 * `create --intel-dir W/intel --amd-dir W/amd` does, and sign it.
 *
 * Answers are written into the work directory as they arrive, one file at a
 * time (temporary name + rename), so an interrupted capture resumes where it
 * stopped. The output bundle appears only when complete and signed.
 */
#ifndef COLB_CAPTURE_H
#define COLB_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "colbundle.h"

#define CAP_MAX_LIST 256

/* Whom to ask. Base URLs without the API path (".../sgx/certification/v4/"
 * is appended). */
#define CAP_DEFAULT_PCS "https://api.trustedservices.intel.com"
#define CAP_DEFAULT_KDS "https://kdsintf.amd.com"
#define CAP_DEFAULT_ROOT_CRL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

typedef enum cap_output {
	CAP_OUT_AUTO = 0,   /* progress bar on a terminal, log lines otherwise */
	CAP_OUT_PLAIN = 1,
	CAP_OUT_QUIET = 2,
	CAP_OUT_JSON = 3
} cap_output;

typedef struct cap_config {
	/* what the fleet needs */
	const char *fleet;                       /* fleet file, may be NULL */
	const char *pckid_csv[CAP_MAX_LIST];
	size_t npckid_csv;
	const char *platform_list[CAP_MAX_LIST];
	size_t nplatform_list;
	const char *fmspcs[CAP_MAX_LIST];        /* 12 hex */
	size_t nfmspcs;
	bool all_fmspcs;
	const char *amd_reports[CAP_MAX_LIST];
	size_t namd_reports;
	const char *amd_chips[CAP_MAX_LIST];     /* PRODUCT:CHIPID:TCB */
	size_t namd_chips;
	const char *tcb;                         /* "standard,early,N" or NULL */

	/* sources */
	const char *pcs, *pccs, *thim, *kds, *root_crl;
	const char *api_key_file;                /* or $COLBUNDLE_PCS_API_KEY_FILE */
	unsigned connections;                    /* per source (default 8) */
	int kds_interval_ms;                     /* < 0: the default (10 s) */
	unsigned retries;                        /* attempts per request (default 6) */
	unsigned backoff_ms;                     /* first retry delay (default 500) */
	unsigned timeout_s;

	/* where */
	const char *work;                        /* default: OUT.work */
	const char *out;
	const char *reuse;                       /* an older bundle to take immutable items from */
	const colb_trust *reuse_trust;           /* to open it (may be NULL: see cap_run) */

	/* validation and packing */
	const colb_trust *trust;                 /* extra test roots for validation */
	time_t at;                               /* validation time, 0 = now */
	const colb_seckey *key;
	time_t created;                          /* 0: $SOURCE_DATE_EPOCH or now */
	uint64_t version;                        /* 0: the writer's default */
	time_t expires;                          /* 0: the writer's default */
	const char *publisher;
	const char *baseline;                    /* Intel baseline: standard|early|N (NULL: standard) */
	uint32_t min_eval;                       /* nothing below this evaluation number (0: none) */
	bool keep_work;                          /* keep the work directory after success */

	cap_output output;
} cap_config;

/* What happened, for the caller's exit code. */
typedef struct cap_result {
	unsigned long fetched, reused, resumed, absent, failed, retries;
	double fetch_seconds;                    /* the network phase's wall time */
	double total_seconds;
	unsigned long requests;                  /* HTTP requests made, retries included */
	char why[1024];                          /* the first failure, "" on success */
} cap_result;

/* Runs a whole capture. Returns COLB_OK when the signed bundle was written;
 * otherwise no bundle exists at cfg->out (an older file there is left as it
 * was) and res->why says what failed. Progress and the summary go to
 * stderr (stdout for --json) as cfg->output says. */
colb_err cap_run(const cap_config *cfg, cap_result *res);

#endif
