/*
 * intel_priv.h — the pieces of the Intel layer shared between its files:
 * strict parsers for Intel's signed JSON, pckcerts answers and the SGX
 * certificate extension; chain, signature and CRL checks against the pinned
 * Intel SGX Root CA; PCK cert selection. Nothing here is exported.
 */
#ifndef COLB_INTEL_PRIV_H
#define COLB_INTEL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "colbundle.h"

/* Caps on untrusted input. */
#define INTEL_MAX_BODY (8u << 20)     /* one JSON body or CRL */
#define INTEL_MAX_LEVELS 256          /* TCB levels in one TCB info */
#define INTEL_MAX_PCK_ENTRIES 256     /* certs in one pckcerts answer */
#define INTEL_MAX_EVALS 256           /* numbers in one evaluation-number list */
#define INTEL_MAX_CHAIN 8             /* certificates in one issuer chain */
#define INTEL_JSON_DEPTH 16

/* A TCB: 16 SGX component SVNs (for tcbType 0, the CPUSVN bytes) and the PCE SVN. */
typedef struct intel_tcb {
	uint8_t comp[16];
	uint16_t pcesvn;
} intel_tcb;

typedef struct intel_level {
	intel_tcb tcb;
	char status[40];
	time_t tcb_date;
} intel_level;

/* ---- signed JSON bodies ------------------------------------------------------ */

/* Splits {"<wrapper>":{...},"signature":"<128 hex>"} (keys in either order,
 * JSON whitespace allowed) into the exact bytes of the inner object and the
 * raw r||s signature. */
colb_err intel_split_signed(const uint8_t *body, size_t len, const char *wrapper, const uint8_t **inner,
			    size_t *inner_len, uint8_t sig[64], char *why, size_t whylen);

typedef struct intel_tcbinfo {
	colb_intel_tee tee;
	int version;           /* 2 or 3 */
	time_t issue, next;
	uint8_t fmspc[6];
	char fmspc_hex[13];    /* as written (upper case) */
	uint16_t pceid;
	int tcb_type;
	uint32_t eval;
	size_t nlevels;
	intel_level *levels;   /* highest first */
} intel_tcbinfo;

colb_err intel_parse_tcbinfo(const uint8_t *inner, size_t len, intel_tcbinfo *out, char *why, size_t whylen);
void intel_tcbinfo_free(intel_tcbinfo *t);

typedef struct intel_identity {
	colb_intel_identity kind;
	time_t issue, next;
	uint32_t eval;
} intel_identity;

colb_err intel_parse_identity(const uint8_t *inner, size_t len, intel_identity *out, char *why, size_t whylen);

typedef struct intel_evalnums {
	colb_intel_tee tee;
	time_t issue, next;
	size_t n;
	uint32_t nums[INTEL_MAX_EVALS];
} intel_evalnums;

colb_err intel_parse_evalnums(const uint8_t *inner, size_t len, intel_evalnums *out, char *why, size_t whylen);

/* ---- pckcerts ------------------------------------------------------------------ */

typedef struct intel_pck_entry {
	intel_tcb tcb;
	char tcbm[37];
	char *pem;             /* decoded PEM (NULL when Intel answered "Not available") */
	size_t pem_len;
} intel_pck_entry;

/* Parses a PCS v4 pckcerts answer [{"tcb":{..},"tcbm":"..","cert":".."}]
 * (tcb with sgxtcbcompNNsvn keys or an sgxtcbcomponents array; cert URL-encoded
 * or plain PEM). Also accepts {"pck_data":[...]} wrappers. */
colb_err intel_parse_pckcerts(const uint8_t *body, size_t len, intel_pck_entry **out, size_t *n, char *why,
			      size_t whylen);
void intel_pck_entries_free(intel_pck_entry *e, size_t n);

/* ---- the SGX extension (OID 1.2.840.113741.1.13.1) ------------------------------ */

typedef struct intel_sgxext {
	uint8_t ppid[16];
	intel_tcb tcb;
	uint8_t cpusvn[16];
	uint8_t pceid[2];
	uint8_t fmspc[6];
	int sgx_type;          /* 0 standard, 1 scalable, 2 scalable with integrity */
	bool has_instance;
	uint8_t instance[16];
} intel_sgxext;

/* Decodes the extension's value (the DER inside the OCTET STRING). */
colb_err intel_sgxext_decode(const uint8_t *der, size_t len, intel_sgxext *out, char *why, size_t whylen);
colb_err intel_sgxext_from_cert(X509 *x, intel_sgxext *out, char *why, size_t whylen);

/* ---- certificates, chains, CRLs --------------------------------------------------- */

typedef struct intel_chain {
	STACK_OF(X509) *certs; /* as carried: issuing cert first, root last */
	char *pem;             /* decoded PEM text, NUL-terminated */
	size_t pem_len;
	const char *root_pem;  /* points into pem: the last certificate */
} intel_chain;

/* Parses a PEM chain (already percent-decoded). */
colb_err intel_chain_parse(const char *pem, size_t len, intel_chain *out, char *why, size_t whylen);
void intel_chain_free(intel_chain *c);
/* Verifies the chain at `at`: it ends at a self-signed root whose key is the
 * pinned Intel SGX Root CA key or an extra root of t; every link verifies;
 * the first certificate's CN is leaf_cn (when not NULL); none of its CAs is
 * revoked by root_crl (when not NULL). */
colb_err intel_chain_verify(const intel_chain *c, const colb_trust *t, time_t at, const char *leaf_cn,
			    X509_CRL *root_crl, char *why, size_t whylen);
/* ECDSA P-256 / SHA-256 raw r||s over data by cert's key. */
bool intel_verify_raw_sig(X509 *cert, const uint8_t *data, size_t len, const uint8_t sig[64]);
/* Parses a DER CRL and checks its signature by issuer. */
colb_err intel_crl_parse_verify(const uint8_t *der, size_t len, X509 *issuer, X509_CRL **out, time_t *this_update,
				time_t *next_update, char *why, size_t whylen);
bool intel_crl_revokes(X509_CRL *crl, X509 *cert);
/* The CN of a certificate's subject into buf ("" when none). */
void intel_cert_cn(X509 *x, bool issuer, char *buf, size_t len);
bool intel_key_is_pinned_root(X509 *x);

/* ---- PCK cert selection (reference section 4) ------------------------------------- */

/* Index into certs of the cert to use for a platform at raw TCB, or -1;
 * *level gets the TCB-info level it reaches. */
int intel_select_pck(const intel_tcb *raw, const intel_level *levels, size_t nlevels, const intel_tcb *certs,
		     size_t ncerts, size_t *level);
void intel_tcbm_hex(const intel_tcb *t, char out[37]);

/* ---- small helpers ---------------------------------------------------------------- */

const char *intel_tee_name(colb_intel_tee tee);            /* "sgx" | "tdx" */
const char *intel_identity_name(colb_intel_identity k);    /* "qe" | "qve" | "qae" | "td_qe" */
const char *intel_ca_name(colb_intel_ca ca);               /* "processor" | "platform" */
const char *intel_ca_cn(colb_intel_ca ca);                 /* "Intel SGX PCK Processor CA" ... */
#define INTEL_TCB_SIGNING_CN "Intel SGX TCB Signing"

/* Baseline spec: "standard" / "early" / a number. kind 0 standard, 1 early, 2 number. */
bool intel_parse_baseline_spec(const char *spec, int *kind, uint32_t *num);

#endif
