/*
 * amd_priv.h — what the files of the AMD layer share: the built-in chains
 * and pins, the VCEK extension decoder, and the verification of chains,
 * CRLs and VCEK/VLEKs used both by `create` (input.c) and by the reader
 * (reader.c).
 */
#ifndef COLB_AMD_PRIV_H
#define COLB_AMD_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "colbundle.h"

/* Caps on what the layer reads: one certificate, a CA chain, a CRL. */
#define AMD_MAX_CERT (16 * 1024)
#define AMD_MAX_CHAIN (64 * 1024)
#define AMD_MAX_CRL (4 * 1024 * 1024)

/* ---- builtin.c ----------------------------------------------------------- */
const uint8_t *amd_builtin_ark_pin(colb_amd_product p);          /* 32 bytes */
const char *amd_builtin_chain(colb_amd_product p, bool vlek);    /* PEM */

/* ---- the VCEK/VLEK extensions (OIDs under 1.3.6.1.4.1.3704.1) ------------ */
#define AMD_NSPL 10 /* .3.1 .. .3.9 at index 1..9 */
typedef struct amd_ext {
	bool has_struct_version;
	int struct_version;
	char product_name[64];       /* "" when absent */
	bool has_spl[AMD_NSPL];
	uint8_t spl[AMD_NSPL];
	bool has_hwid;
	uint8_t hwid[64];
	size_t hwid_len;             /* 64 or 8 */
	bool has_csp;
	char csp[65];
} amd_ext;

/* Decodes the AMD extensions of a certificate (strict DER for every value;
 * hwid raw or wrapped in an OCTET STRING; unknown AMD OIDs are ignored,
 * duplicates refused). false + reason on malformed input. */
bool amd_ext_decode(const X509 *x, amd_ext *out, char *why, size_t whylen);
/* The same from a whole certificate (DER): the fuzz entry point. */
bool amd_ext_decode_der(const uint8_t *der, size_t len, amd_ext *out, char *why, size_t whylen);
/* The TCB the extensions state, in the layout of product p. */
bool amd_ext_tcb(const amd_ext *e, colb_amd_product p, colb_amd_tcb *tcb, char *why, size_t whylen);

/* ---- chains, CRLs, endorsement keys (verify.c) -------------------------- */

typedef struct amd_chain {
	colb_amd_product product;
	bool vlek;
	X509 *ark, *ask;             /* ask: the ASK, or the ASVK for vlek */
	uint8_t *ark_der, *ask_der;
	size_t ark_der_len, ask_der_len;
	char *pem;                   /* ASK then ARK, as given (NUL-terminated) */
	size_t pem_len;
	bool builtin;
} amd_chain;

void amd_chain_clear(amd_chain *c);
/* Parses and verifies a product's chain (PEM: ASK or ASVK, then ARK): the
 * ARK pinned for p (built-in pin, or a test ARK of t named ARK-<P>) and
 * self-signed, the ASK/ASVK signed by it, names and validity at `at`.
 * Errors: COLB_ERR_COLLATERAL (malformed), COLB_ERR_UNTRUSTED_ROOT,
 * COLB_ERR_CHAIN. */
colb_err amd_chain_verify(const char *pem, size_t len, colb_amd_product p, bool vlek,
			  const colb_trust *t, time_t at, amd_chain *out, char *why, size_t whylen);

typedef struct amd_crl {
	X509_CRL *crl;
	time_t this_update, next_update;
	bool stale;
} amd_crl;

void amd_crl_clear(amd_crl *c);
/* Parses a CRL (DER) and checks it is the ARK's: issuer, RSASSA-PSS
 * SHA-384 signature. stale when past nextUpdate at `at`. */
colb_err amd_crl_verify(const uint8_t *der, size_t len, const amd_chain *c, time_t at, amd_crl *out,
			char *why, size_t whylen);
/* COLB_ERR_REVOKED when the CRL revokes the chain's ASK/ASVK (or its ARK). */
colb_err amd_crl_check_chain(const amd_crl *crl, const amd_chain *c, char *why, size_t whylen);

/* A verified VCEK or VLEK. */
typedef struct amd_endorsement {
	bool vlek;
	amd_ext ext;
	colb_amd_tcb tcb;
	uint64_t tcbm;
	uint8_t chip_id[64];         /* hwid zero-extended (VCEK) */
	char hwid_hex[129];
	time_t not_before, not_after;
} amd_endorsement;

/* Parses a VCEK/VLEK (DER) and verifies it against the chain: issuer,
 * RSASSA-PSS SHA-384 signature by the ASK/ASVK, validity at `at`, a P-384
 * key, extensions that decode and fit the product. */
colb_err amd_endorsement_verify(const uint8_t *der, size_t len, const amd_chain *c, time_t at,
				amd_endorsement *out, char *why, size_t whylen);

/* PEM of one DER certificate (malloc'd, NUL-terminated). */
char *amd_der_to_pem(const uint8_t *der, size_t len, size_t *pem_len);

/* The trustee offline-store file name of a VCEK at a TCB. */
void amd_trustee_name(colb_amd_product p, const colb_amd_tcb *t, char out[64]);

#endif
