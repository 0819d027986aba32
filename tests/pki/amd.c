/*
 * amd.c — the AMD half of the generator: test ARK/ASK/ASVK per product,
 * VCEKs per chip and TCB, a VLEK per product, CRLs, and signed SNP reports,
 * filed in the raw AMD layout (format-spec/raw-layouts.md).
 *
 * The certificates copy the form of AMD KDS answers: the same DNs and
 * extensions, RSASSA-PSS SHA-384 with an explicit trailerField where real
 * certificates carry one (chains, Milan/Genoa VCEKs) and without it where
 * real ones omit it (Turin VCEKs, CRLs), VCEK/VLEK serial number 0, the raw
 * (unwrapped) hwid extension.
 *
 * Extra output beside the raw layout, for refusal tests:
 *   OUT/amd-revoked/Genoa/  a raw layout whose ASK (serial 0x20001) is revoked
 *                           by the Genoa CRL, with one VCEK issued through it.
 */
#include "pkigen.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define DAY 86400L
#define YEAR (365 * DAY)

enum { MILAN, GENOA, TURIN, NPRODUCTS };
enum { ROLE_ARK, ROLE_ASK, ROLE_ASVK, ROLE_REVOKED_ASK, NROLES };

typedef struct tcb {
	uint8_t fmc, bl, tee, snp, ucode;
} tcb;

typedef struct product {
	const char *name;        /* KDS product name */
	const char *product_name; /* the VCEK productName extension */
	uint8_t family, model, stepping;
	int struct_version;
	uint32_t serial_base;    /* ARK serial; ASK +1, ASVK +0x101 (as AMD numbers them) */
	tcb tcbs[2];             /* the fleet's two TCB levels for this product */
	EVP_PKEY *key[NROLES];
	X509 *cert[NROLES];
	uint8_t *der[NROLES];
	size_t der_len[NROLES];
	EVP_PKEY *vlek_key;
} product;

static product products[NPRODUCTS] = {
	{"Milan", "Milan-B0", 0x19, 0x01, 0x01, 0, 0x10000,
	 {{0, 3, 0, 8, 0x73}, {0, 4, 0, 22, 0xd5}}, {0}, {0}, {0}, {0}, NULL},
	{"Genoa", "Genoa", 0x19, 0x11, 0x01, 0, 0x20000,
	 {{0, 7, 0, 14, 0x48}, {0, 9, 0, 23, 0x54}}, {0}, {0}, {0}, {0}, NULL},
	{"Turin", "Turin", 0x1a, 0x02, 0x00, 1, 0x30000,
	 {{1, 1, 0, 1, 0x42}, {1, 2, 0, 4, 0x4a}}, {0}, {0}, {0}, {0}, NULL},
};

static const char *const vlek_csp = "TestCSP";

/* OpenSSL's error queue is per thread: print it where the failure happened. */
static void report_failure(const char *what, const char *which)
{
	fprintf(stderr, "colb-pkigen: cannot make the AMD %s for %s\n", what, which);
	ERR_print_errors_fp(stderr);
}

/* ---- TCB and chip id -------------------------------------------------- */

static uint64_t tcb_encode(const product *p, const tcb *t)
{
	if (p->struct_version == 0) /* Milan/Genoa: BL, TEE, -, -, -, -, SNP, UCODE */
		return (uint64_t)t->bl | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48 |
		       (uint64_t)t->ucode << 56;
	/* Turin: FMC, BL, TEE, SNP, -, -, -, UCODE */
	return (uint64_t)t->fmc | (uint64_t)t->bl << 8 | (uint64_t)t->tee << 16 |
	       (uint64_t)t->snp << 24 | (uint64_t)t->ucode << 56;
}

static size_t hwid_len(const product *p)
{
	return p->struct_version == 0 ? 64 : 8;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

/* ---- DER pieces ------------------------------------------------------- */

static size_t der_header(uint8_t *out, uint8_t tag, size_t len)
{
	out[0] = tag;
	if (len < 0x80) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len < 0x100) {
		out[1] = 0x81;
		out[2] = (uint8_t)len;
		return 3;
	}
	out[1] = 0x82;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	return 4;
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48, with or without the explicit
 * trailerField [3] INTEGER 1 that AMD's certificates carry. */
static const uint8_t pss_algid_trailer[] = {
	0x30, 0x46, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x39,
	0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
	0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	0xa2, 0x03, 0x02, 0x01, 0x30, 0xa3, 0x03, 0x02, 0x01, 0x01};
static const uint8_t pss_algid_plain[] = {
	0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
	0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
	0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	0xa2, 0x03, 0x02, 0x01, 0x30};

static int pss_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = m && EVP_DigestSignInit(m, &pc, EVP_sha384(), NULL, key) > 0 &&
		 EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		 EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) > 0 &&
		 EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) > 0 &&
		 EVP_DigestSign(m, sig, siglen, msg, len) > 0;
	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

/* Signs x with the RSA key: sets the TBS signature algorithm, encodes the
 * TBS, signs it and assembles the certificate by hand so that the
 * AlgorithmIdentifier bytes are exactly AMD's. Returns malloc'd DER. */
static uint8_t *sign_cert(X509 *x, EVP_PKEY *key, bool trailer, size_t *outlen)
{
	const uint8_t *algid = trailer ? pss_algid_trailer : pss_algid_plain;
	size_t algid_len = trailer ? sizeof pss_algid_trailer : sizeof pss_algid_plain;
	const uint8_t *p = algid;
	X509_ALGOR *parsed = d2i_X509_ALGOR(NULL, &p, (long)algid_len);
	X509_ALGOR *tbs_alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	uint8_t *tbs = NULL, *out = NULL;
	uint8_t sig[512];
	size_t siglen = sizeof sig;
	int tbs_len;

	if (!parsed || !X509_ALGOR_copy(tbs_alg, parsed))
		goto done;
	tbs_len = i2d_re_X509_tbs(x, &tbs);
	if (tbs_len <= 0 || pss_sign(key, tbs, (size_t)tbs_len, sig, &siglen) != 0)
		goto done;

	size_t bits_len = siglen + 1;
	size_t body = (size_t)tbs_len + algid_len + 4 + bits_len;
	out = malloc(body + 4);
	if (!out)
		goto done;
	size_t n = der_header(out, 0x30, body);
	memcpy(out + n, tbs, (size_t)tbs_len);
	n += (size_t)tbs_len;
	memcpy(out + n, algid, algid_len);
	n += algid_len;
	n += der_header(out + n, 0x03, bits_len);
	out[n++] = 0; /* no unused bits */
	memcpy(out + n, sig, siglen);
	n += siglen;
	*outlen = n;
done:
	X509_ALGOR_free(parsed);
	OPENSSL_free(tbs);
	return out;
}

static X509 *der_to_x509(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	return d2i_X509(NULL, &p, (long)len);
}

static char *der_to_pem(const char *label, const uint8_t *der, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL, *text;
	if (b && PEM_write_bio(b, label, "", der, (long)len) > 0) {
		long n = BIO_get_mem_data(b, &text);
		out = malloc((size_t)n + 1);
		if (out) {
			memcpy(out, text, (size_t)n);
			out[n] = 0;
		}
	}
	BIO_free(b);
	return out;
}

/* ---- names, validity, extensions -------------------------------------- */

static X509_NAME *amd_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	static const char *const fields[][2] = {
		{"OU", "Engineering"}, {"C", "US"}, {"L", "Santa Clara"},
		{"ST", "CA"}, {"O", "Advanced Micro Devices"},
	};
	for (size_t i = 0; n && i < sizeof fields / sizeof fields[0]; i++)
		X509_NAME_add_entry_by_txt(n, fields[i][0], MBSTRING_UTF8,
					   (const unsigned char *)fields[i][1], -1, -1, 0);
	if (n)
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static void set_validity(X509 *x, time_t from, long seconds)
{
	ASN1_TIME_set(X509_getm_notBefore(x), from);
	ASN1_TIME_set(X509_getm_notAfter(x), from + seconds);
}

static int add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	int rc = e && X509_add_ext(x, e, -1) ? 0 : -1;
	X509_EXTENSION_free(e);
	return rc;
}

/* An AMD extension whose OCTET STRING holds `der` as is. */
static int add_raw_ext(X509 *x, const char *oid, const uint8_t *der, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	int rc = -1;
	if (obj && os && ASN1_OCTET_STRING_set(os, der, (int)len) &&
	    (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) && X509_add_ext(x, e, -1))
		rc = 0;
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return rc;
}

static int add_int_ext(X509 *x, const char *oid, unsigned v)
{
	uint8_t der[4] = {0x02, 0x01, (uint8_t)v};
	size_t n = 3;
	if (v >= 0x80) { /* a positive INTEGER needs a leading zero byte */
		der[1] = 2;
		der[2] = 0;
		der[3] = (uint8_t)v;
		n = 4;
	}
	return add_raw_ext(x, oid, der, n);
}

static int add_ia5_ext(X509 *x, const char *oid, const char *s)
{
	uint8_t der[128];
	size_t len = strlen(s);
	if (len > 100)
		return -1;
	size_t n = der_header(der, 0x16, len);
	memcpy(der + n, s, len);
	return add_raw_ext(x, oid, der, n + len);
}

#define AMD_OID "1.3.6.1.4.1.3704.1."

/* structVersion, productName and the SPLs, in the order AMD writes them. */
static int add_tcb_exts(X509 *x, const product *p, const tcb *t)
{
	int rc = add_int_ext(x, AMD_OID "1", (unsigned)p->struct_version);
	rc |= add_ia5_ext(x, AMD_OID "2", p->product_name);
	if (p->struct_version == 0) {
		rc |= add_int_ext(x, AMD_OID "3.1", t->bl);
		rc |= add_int_ext(x, AMD_OID "3.2", t->tee);
		rc |= add_int_ext(x, AMD_OID "3.4", 0);
		rc |= add_int_ext(x, AMD_OID "3.5", 0);
		rc |= add_int_ext(x, AMD_OID "3.6", 0);
		rc |= add_int_ext(x, AMD_OID "3.7", 0);
		rc |= add_int_ext(x, AMD_OID "3.3", t->snp);
	} else {
		rc |= add_int_ext(x, AMD_OID "3.9", t->fmc);
		rc |= add_int_ext(x, AMD_OID "3.1", t->bl);
		rc |= add_int_ext(x, AMD_OID "3.2", t->tee);
		rc |= add_int_ext(x, AMD_OID "3.3", t->snp);
		rc |= add_int_ext(x, AMD_OID "3.5", 0);
		rc |= add_int_ext(x, AMD_OID "3.6", 0);
		rc |= add_int_ext(x, AMD_OID "3.7", 0);
	}
	rc |= add_int_ext(x, AMD_OID "3.8", t->ucode);
	return rc;
}

/* ---- the CA certificates --------------------------------------------- */

static bool role_exists(int prod, int role)
{
	return role != ROLE_REVOKED_ASK || prod == GENOA;
}

typedef struct gen {
	const pki_ctx *ctx;
	unsigned nchips;
	/* per chip, filled by the workers, read afterwards for the fleet file */
	uint8_t (*chip_id)[64];
	uint8_t *ntcbs;
	bool *has_report;
} gen;

static int gen_ca_key(uint64_t i, void *arg)
{
	gen *g = arg;
	int prod = (int)(i / NROLES), role = (int)(i % NROLES);
	if (!role_exists(prod, role))
		return 0;
	pki_rng_reseed(g->ctx, "amd-ca-key", i);
	products[prod].key[role] = pki_key_rsa(4096);
	return products[prod].key[role] ? 0 : -1;
}

static int make_ca_cert(const pki_ctx *ctx, int prod, int role)
{
	product *p = &products[prod];
	char cn[64];
	const char *kind = role == ROLE_ASVK ? "vlek" : "vcek";
	char crl_dp[128];
	int rc = -1;

	pki_rng_reseed(ctx, "amd-ca-cert", (uint64_t)(prod * NROLES + role));
	X509 *x = X509_new();
	X509 *ark = role == ROLE_ARK ? NULL : p->cert[ROLE_ARK];
	uint32_t serial = p->serial_base;
	if (role == ROLE_ASK)
		serial += prod == GENOA ? 2 : 1; /* Genoa's first ASK (…01) is the revoked one */
	else if (role == ROLE_REVOKED_ASK)
		serial += 1;
	else if (role == ROLE_ASVK)
		serial += 0x101;
	if (role == ROLE_ARK)
		snprintf(cn, sizeof cn, "ARK-%s", p->name);
	else if (role == ROLE_ASVK)
		snprintf(cn, sizeof cn, "SEV-VLEK-%s", p->name);
	else
		snprintf(cn, sizeof cn, "SEV-%s", p->name);
	snprintf(crl_dp, sizeof crl_dp, "URI:https://kdsintf.amd.com/%s/v1/%s/crl", kind, p->name);

	X509_NAME *subject = amd_name(cn);
	if (!x || !subject)
		goto done;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial);
	X509_set_subject_name(x, subject);
	X509_set_issuer_name(x, ark ? X509_get_subject_name(ark) : subject);
	set_validity(x, ctx->now - 3 * YEAR - (time_t)prod * 41 * DAY - (role ? 0 : DAY), 25 * YEAR);
	X509_set_pubkey(x, p->key[role]);
	if (role == ROLE_ARK) {
		if (add_conf_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    add_conf_ext(x, NULL, NID_subject_key_identifier, "hash") ||
		    add_conf_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") ||
		    add_conf_ext(x, NULL, NID_crl_distribution_points, crl_dp))
			goto done;
	} else {
		if (add_conf_ext(x, ark, NID_subject_key_identifier, "hash") ||
		    add_conf_ext(x, ark, NID_authority_key_identifier, "keyid:always") ||
		    add_conf_ext(x, ark, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
		    add_conf_ext(x, ark, NID_key_usage, "critical,keyCertSign") ||
		    add_conf_ext(x, ark, NID_crl_distribution_points, crl_dp))
			goto done;
	}
	p->der[role] = sign_cert(x, p->key[ROLE_ARK], true, &p->der_len[role]);
	if (p->der[role] && (p->cert[role] = der_to_x509(p->der[role], p->der_len[role])))
		rc = 0;
done:
	if (rc != 0)
		report_failure("CA certificate", cn);
	X509_NAME_free(subject);
	X509_free(x);
	return rc;
}

static int write_chain(const pki_ctx *ctx, const char *rel, const product *p, int role)
{
	char *a = der_to_pem("CERTIFICATE", p->der[role], p->der_len[role]);
	char *b = der_to_pem("CERTIFICATE", p->der[ROLE_ARK], p->der_len[ROLE_ARK]);
	int rc = -1;
	if (a && b) {
		size_t la = strlen(a), lb = strlen(b);
		char *both = malloc(la + lb + 1);
		if (both) {
			memcpy(both, a, la);
			memcpy(both + la, b, lb + 1);
			rc = pki_write_str(ctx, rel, both);
			free(both);
		}
	}
	free(a);
	free(b);
	return rc;
}

/* The product's CRL, signed by its ARK; Genoa's revokes the first ASK. */
static int write_crl(const pki_ctx *ctx, int prod)
{
	product *p = &products[prod];
	char rel[128];
	int rc = -1;
	uint8_t *der = NULL;
	size_t len = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	pki_rng_reseed(ctx, "amd-crl", (uint64_t)prod);
	if (!m || !crl || !t)
		goto done;
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->cert[ROLE_ARK]));
	ASN1_TIME_set(t, ctx->now - 30 * DAY);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, ctx->now + 335 * DAY);
	X509_CRL_set1_nextUpdate(crl, t);
	if (prod == GENOA) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, (long)(p->serial_base + 1));
		ASN1_TIME_set(t, ctx->now - 400 * DAY);
		X509_REVOKED_set_serialNumber(r, s);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, p->cert[ROLE_ARK], NULL, NULL, crl, 0);
	X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int ext_ok = aki && num && ASN1_INTEGER_set(num, prod == GENOA ? 4 : 6) &&
		     X509_CRL_add_ext(crl, aki, -1) && X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	if (!ext_ok)
		goto done;
	X509_CRL_sort(crl);
	if (EVP_DigestSignInit(m, &pc, EVP_sha384(), NULL, p->key[ROLE_ARK]) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) <= 0 || X509_CRL_sign_ctx(crl, m) <= 0)
		goto done;
	der = pki_crl_der(crl, &len);
	if (!der)
		goto done;
	snprintf(rel, sizeof rel, "amd/%s/crl.der", p->name);
	rc = pki_write(ctx, rel, der, len);
	if (rc == 0 && prod == GENOA) {
		snprintf(rel, sizeof rel, "amd-revoked/%s/crl.der", p->name);
		rc = pki_write(ctx, rel, der, len);
	}
done:
	if (rc != 0)
		report_failure("CRL", p->name);
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	EVP_MD_CTX_free(m);
	return rc;
}

static int gen_product_files(const pki_ctx *ctx, int prod)
{
	product *p = &products[prod];
	char rel[128];
	for (int role = 0; role < NROLES; role++)
		if (role_exists(prod, role) && make_ca_cert(ctx, prod, role) != 0)
			return -1;
	snprintf(rel, sizeof rel, "roots/amd-%s-ark.der", p->name);
	if (pki_write(ctx, rel, p->der[ROLE_ARK], p->der_len[ROLE_ARK]) != 0)
		return -1;
	snprintf(rel, sizeof rel, "amd/%s/cert_chain.pem", p->name);
	if (write_chain(ctx, rel, p, ROLE_ASK) != 0)
		return -1;
	snprintf(rel, sizeof rel, "amd/%s/vlek_cert_chain.pem", p->name);
	if (write_chain(ctx, rel, p, ROLE_ASVK) != 0)
		return -1;
	if (prod == GENOA) {
		snprintf(rel, sizeof rel, "amd-revoked/%s/cert_chain.pem", p->name);
		if (write_chain(ctx, rel, p, ROLE_REVOKED_ASK) != 0)
			return -1;
	}
	return write_crl(ctx, prod);
}

/* ---- VCEKs, VLEKs and reports ---------------------------------------- */

/* A VCEK (hwid != NULL) or a VLEK (csp != NULL) for key at TCB t. */
static uint8_t *make_endorsement(const pki_ctx *ctx, const product *p, EVP_PKEY *key, const tcb *t,
				 const uint8_t *hwid, const char *csp, int signer_role, size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *subject = amd_name(csp ? "SEV-VLEK" : "SEV-VCEK");
	uint8_t *der = NULL;
	if (!x || !subject)
		goto done;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0); /* as AMD's: serial 0 */
	X509_set_subject_name(x, subject);
	X509_set_issuer_name(x, X509_get_subject_name(p->cert[signer_role]));
	set_validity(x, ctx->now - 30 * DAY, csp ? YEAR : 7 * YEAR);
	X509_set_pubkey(x, key);
	if (add_tcb_exts(x, p, t) != 0)
		goto done;
	if (csp ? add_ia5_ext(x, AMD_OID "5", csp) : add_raw_ext(x, AMD_OID "4", hwid, hwid_len(p)))
		goto done;
	/* Real Turin VCEKs omit the explicit trailerField; the rest carry it. */
	der = sign_cert(x, p->key[signer_role], p->struct_version == 0 || csp, len);
done:
	X509_NAME_free(subject);
	X509_free(x);
	return der;
}

/* SNP ATTESTATION_REPORT v3 offsets (AMD SEV-SNP ABI). */
#define R_VERSION 0x000
#define R_POLICY 0x008
#define R_FAMILY_ID 0x010
#define R_IMAGE_ID 0x020
#define R_SIG_ALGO 0x034
#define R_CURRENT_TCB 0x038
#define R_PLATFORM_INFO 0x040
#define R_KEY_INFO 0x048
#define R_REPORT_DATA 0x050
#define R_MEASUREMENT 0x090
#define R_REPORT_ID 0x140
#define R_REPORT_ID_MA 0x160
#define R_REPORTED_TCB 0x180
#define R_CPUID_FAM 0x188
#define R_CHIP_ID 0x1a0
#define R_COMMITTED_TCB 0x1e0
#define R_CURRENT_VER 0x1e8
#define R_COMMITTED_VER 0x1ec
#define R_LAUNCH_TCB 0x1f0
#define R_SIGNATURE 0x2a0
#define R_SIG_S 0x2e8
#define REPORT_SIZE 1184

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int make_report(const product *p, EVP_PKEY *key, const tcb *t, const uint8_t chip_id[64],
		       bool vlek, uint8_t out[REPORT_SIZE])
{
	uint64_t tcbm = tcb_encode(p, t);
	memset(out, 0, REPORT_SIZE);
	put_le(out + R_VERSION, 3, 4);
	put_le(out + R_POLICY, 0x30000, 8); /* SMT allowed, reserved bit 17 set */
	pki_rng_bytes(out + R_FAMILY_ID, 16);
	pki_rng_bytes(out + R_IMAGE_ID, 16);
	put_le(out + R_SIG_ALGO, 1, 4); /* ECDSA P-384 with SHA-384 */
	put_le(out + R_CURRENT_TCB, tcbm, 8);
	put_le(out + R_PLATFORM_INFO, 0x3, 8);
	put_le(out + R_KEY_INFO, vlek ? 1u << 2 : 0, 4); /* SIGNING_KEY: 0 VCEK, 1 VLEK */
	pki_rng_bytes(out + R_REPORT_DATA, 64);
	pki_rng_bytes(out + R_MEASUREMENT, 48);
	pki_rng_bytes(out + R_REPORT_ID, 32);
	memset(out + R_REPORT_ID_MA, 0xff, 32);
	put_le(out + R_REPORTED_TCB, tcbm, 8);
	out[R_CPUID_FAM] = p->family;
	out[R_CPUID_FAM + 1] = p->model;
	out[R_CPUID_FAM + 2] = p->stepping;
	memcpy(out + R_CHIP_ID, chip_id, 64);
	put_le(out + R_COMMITTED_TCB, tcbm, 8);
	out[R_CURRENT_VER] = 0x15, out[R_CURRENT_VER + 1] = 0x37, out[R_CURRENT_VER + 2] = 1;
	memcpy(out + R_COMMITTED_VER, out + R_CURRENT_VER, 3);
	put_le(out + R_LAUNCH_TCB, tcbm, 8);

	uint8_t der[128];
	size_t derlen = sizeof der;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m && EVP_DigestSignInit(m, NULL, EVP_sha384(), NULL, key) > 0 &&
		 EVP_DigestSign(m, der, &derlen, out, R_SIGNATURE) > 0;
	EVP_MD_CTX_free(m);
	if (!ok)
		return -1;
	const uint8_t *q = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &q, (long)derlen);
	if (!sig)
		return -1;
	/* r and s little-endian, zero-extended to 72 bytes */
	ok = BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), out + R_SIGNATURE, 72) == 72 &&
	     BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), out + R_SIG_S, 72) == 72;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

/* Chip i: product i % 3; every fourth chip carries a second TCB; the first
 * two chips of each product and every 50th chip get a signed report at
 * their newest TCB. */
static int chip_product(uint64_t i)
{
	return (int)(i % NPRODUCTS);
}
static unsigned chip_ntcbs(uint64_t i)
{
	return i % 4 == 0 ? 2 : 1;
}
static bool chip_reported(uint64_t i)
{
	return i < 2 * NPRODUCTS || i % 50 == 0;
}

static int gen_chip(uint64_t i, void *arg)
{
	gen *g = arg;
	const pki_ctx *ctx = g->ctx;
	const product *p = &products[chip_product(i)];
	uint8_t *chip_id = g->chip_id[i];
	char hwid_hex[129], rel[256];
	unsigned n = chip_ntcbs(i);
	int rc = 0;

	pki_rng_reseed(ctx, "amd-chip", i);
	memset(chip_id, 0, 64);
	pki_rng_bytes(chip_id, hwid_len(p)); /* Turin: 8 significant bytes, the rest zero */
	hex(chip_id, hwid_len(p), hwid_hex);
	g->ntcbs[i] = (uint8_t)n;
	g->has_report[i] = chip_reported(i);

	for (unsigned k = 0; k < n && rc == 0; k++) {
		const tcb *t = &p->tcbs[k];
		size_t len = 0;
		/* Reseed before every step: RSA blinding consumes randomness on
		 * whichever thread signs first, so the stream drifts otherwise. */
		pki_rng_reseed(ctx, "amd-vcek", i * 2 + k);
		EVP_PKEY *key = pki_key_ec(NID_secp384r1);
		uint8_t *der = key ? make_endorsement(ctx, p, key, t, chip_id, NULL, ROLE_ASK, &len) : NULL;
		snprintf(rel, sizeof rel, "amd/%s/vcek/%s/%016llx.der", p->name, hwid_hex,
			 (unsigned long long)tcb_encode(p, t));
		rc = der ? pki_write(ctx, rel, der, len) : -1;
		free(der);
		/* The first Genoa chip also gets a VCEK through the revoked ASK. */
		if (rc == 0 && k == 0 && i == GENOA) {
			pki_rng_reseed(ctx, "amd-vcek-revoked", i);
			der = make_endorsement(ctx, p, key, t, chip_id, NULL, ROLE_REVOKED_ASK, &len);
			snprintf(rel, sizeof rel, "amd-revoked/%s/vcek/%s/%016llx.der", p->name, hwid_hex,
				 (unsigned long long)tcb_encode(p, t));
			rc = der ? pki_write(ctx, rel, der, len) : -1;
			free(der);
		}
		if (rc == 0 && k == n - 1 && g->has_report[i]) {
			uint8_t report[REPORT_SIZE];
			pki_rng_reseed(ctx, "amd-report", i);
			snprintf(rel, sizeof rel, "reports/%c%s-%llu.bin", p->name[0] + 32, p->name + 1,
				 (unsigned long long)i);
			rc = make_report(p, key, t, chip_id, false, report) == 0 ?
				     pki_write(ctx, rel, report, sizeof report) : -1;
		}
		EVP_PKEY_free(key);
	}
	if (rc != 0)
		report_failure("VCEK", hwid_hex);
	return rc;
}

/* One VLEK per product at its first TCB, and a report it signed (chip id
 * masked, as a cloud guest's usually is). */
static int gen_vlek(const pki_ctx *ctx, int prod)
{
	product *p = &products[prod];
	char rel[256];
	size_t len = 0;
	uint8_t zero_chip[64] = {0}, report[REPORT_SIZE];
	pki_rng_reseed(ctx, "amd-vlek", (uint64_t)prod);
	EVP_PKEY *key = pki_key_ec(NID_secp384r1);
	uint8_t *der = key ? make_endorsement(ctx, p, key, &p->tcbs[0], NULL, vlek_csp, ROLE_ASVK, &len) : NULL;
	int rc = -1;
	if (der) {
		snprintf(rel, sizeof rel, "amd/%s/vlek/%s/%016llx.der", p->name, vlek_csp,
			 (unsigned long long)tcb_encode(p, &p->tcbs[0]));
		rc = pki_write(ctx, rel, der, len);
	}
	if (rc == 0) {
		pki_rng_reseed(ctx, "amd-vlek-report", (uint64_t)prod);
		snprintf(rel, sizeof rel, "reports/%c%s-vlek.bin", p->name[0] + 32, p->name + 1);
		rc = make_report(p, key, &p->tcbs[0], zero_chip, true, report) == 0 ?
			     pki_write(ctx, rel, report, sizeof report) : -1;
	}
	if (rc != 0)
		report_failure("VLEK", p->name);
	free(der);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- the fleet fragment ----------------------------------------------- */

static int write_fleet(const gen *g)
{
	json_t *root = json_object(), *chips = json_array(), *reports = json_array();
	char hwid_hex[129], tcb_hex[17], rel[64];
	int rc = -1;
	if (!root || !chips || !reports)
		goto done;
	for (uint64_t i = 0; i < g->nchips; i++) {
		const product *p = &products[chip_product(i)];
		hex(g->chip_id[i], hwid_len(p), hwid_hex);
		for (unsigned k = 0; k < g->ntcbs[i]; k++) {
			snprintf(tcb_hex, sizeof tcb_hex, "%016llx", (unsigned long long)tcb_encode(p, &p->tcbs[k]));
			json_array_append_new(chips, json_pack("{s:s,s:s,s:s}", "product", p->name,
								"chip_id", hwid_hex, "tcb", tcb_hex));
		}
		if (g->has_report[i]) {
			snprintf(rel, sizeof rel, "reports/%c%s-%llu.bin", p->name[0] + 32, p->name + 1,
				 (unsigned long long)i);
			json_array_append_new(reports, json_string(rel));
		}
	}
	json_object_set(root, "chips", chips);
	json_object_set(root, "reports", reports);
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (text) {
		size_t n = strlen(text);
		char *with_nl = malloc(n + 2);
		if (with_nl) {
			memcpy(with_nl, text, n);
			memcpy(with_nl + n, "\n", 2);
			rc = pki_write_str(g->ctx, "fleet-amd.json", with_nl);
			free(with_nl);
		}
		free(text);
	}
done:
	json_decref(chips);
	json_decref(reports);
	json_decref(root);
	return rc;
}

/* ---- entry point ------------------------------------------------------ */

static int gen_product_unit(uint64_t i, void *arg)
{
	gen *g = arg;
	if (gen_product_files(g->ctx, (int)i) != 0)
		return -1;
	return gen_vlek(g->ctx, (int)i);
}

static void free_products(void)
{
	for (int prod = 0; prod < NPRODUCTS; prod++) {
		for (int role = 0; role < NROLES; role++) {
			EVP_PKEY_free(products[prod].key[role]);
			X509_free(products[prod].cert[role]);
			free(products[prod].der[role]);
			products[prod].key[role] = NULL;
			products[prod].cert[role] = NULL;
			products[prod].der[role] = NULL;
		}
	}
}

int pki_amd_generate(const pki_ctx *ctx, unsigned nchips)
{
	gen g = {.ctx = ctx, .nchips = nchips};
	int rc = -1;
	g.chip_id = calloc(nchips ? nchips : 1, sizeof *g.chip_id);
	g.ntcbs = calloc(nchips ? nchips : 1, 1);
	g.has_report = calloc(nchips ? nchips : 1, sizeof *g.has_report);
	if (!g.chip_id || !g.ntcbs || !g.has_report)
		goto done;
	/* RSA-4096 key generation dominates the CA part: one key per work unit. */
	if (pki_parallel(ctx, NPRODUCTS * NROLES, gen_ca_key, &g) != 0)
		goto done;
	if (pki_parallel(ctx, NPRODUCTS, gen_product_unit, &g) != 0)
		goto done;
	if (pki_parallel(ctx, nchips, gen_chip, &g) != 0)
		goto done;
	rc = write_fleet(&g);
done:
	if (rc != 0)
		ERR_print_errors_fp(stderr);
	free(g.chip_id);
	free(g.ntcbs);
	free(g.has_report);
	free_products();
	return rc;
}
