/*
 * pki.c — Intel's certificates: the pinned Intel SGX Root CA, issuer chains,
 * raw r||s signatures, CRLs, the SGX extension of PCK certs, and PCK cert
 * selection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle/internal.h"
#include "intel/intel_priv.h"
#include "util/util.h"

#define WHY(err, ...) (snprintf(why, whylen, __VA_ARGS__), (err))

/* The Intel SGX Root CA's public key (uncompressed P-256 point). Both real
 * root certificates (valid to 2033, and re-issued valid to 2049) carry it. */
static const uint8_t INTEL_ROOT_KEY[65] = {
	0x04, 0x0b, 0xa9, 0xc4, 0xc0, 0xc0, 0xc8, 0x61, 0x93, 0xa3, 0xfe, 0x23, 0xd6, 0xb0, 0x2c,
	0xda, 0x10, 0xa8, 0xbb, 0xd4, 0xe8, 0x8e, 0x48, 0xb4, 0x45, 0x85, 0x61, 0xa3, 0x6e, 0x70,
	0x55, 0x25, 0xf5, 0x67, 0x91, 0x8e, 0x2e, 0xdc, 0x88, 0xe4, 0x0d, 0x86, 0x0b, 0xd0, 0xcc,
	0x4e, 0xe2, 0x6a, 0xac, 0xc9, 0x88, 0xe5, 0x05, 0xa9, 0x53, 0x55, 0x8c, 0x45, 0x3f, 0x6b,
	0x09, 0x04, 0xae, 0x73, 0x94};

const char *intel_tee_name(colb_intel_tee tee) { return tee == COLB_INTEL_TDX ? "tdx" : "sgx"; }

const char *intel_identity_name(colb_intel_identity k)
{
	static const char *const n[] = {"qe", "qve", "qae", "td_qe"};
	return (unsigned)k < 4 ? n[k] : "?";
}

const char *intel_ca_name(colb_intel_ca ca) { return ca == COLB_INTEL_CA_PLATFORM ? "platform" : "processor"; }

const char *intel_ca_cn(colb_intel_ca ca)
{
	return ca == COLB_INTEL_CA_PLATFORM ? "Intel SGX PCK Platform CA" : "Intel SGX PCK Processor CA";
}

bool intel_parse_baseline_spec(const char *spec, int *kind, uint32_t *num)
{
	uint64_t v;
	*num = 0;
	if (!spec)
		return false;
	if (!strcmp(spec, "standard")) {
		*kind = 0;
		return true;
	}
	if (!strcmp(spec, "early")) {
		*kind = 1;
		return true;
	}
	if (colb_parse_u64(spec, &v) && v > 0 && v <= UINT32_MAX) {
		*kind = 2;
		*num = (uint32_t)v;
		return true;
	}
	return false;
}

/* ---- keys and names ---------------------------------------------------------- */

static bool ec_point(X509 *x, uint8_t out[65])
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	size_t n = 0;
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return false;
	if (!EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", out, 65, &n) || n != 65)
		return false;
	return true;
}

bool intel_key_is_pinned_root(X509 *x)
{
	uint8_t pt[65];
	return ec_point(x, pt) && !memcmp(pt, INTEL_ROOT_KEY, 65);
}

static bool same_key(X509 *a, X509 *b)
{
	EVP_PKEY *ka = X509_get0_pubkey(a), *kb = X509_get0_pubkey(b);
	return ka && kb && EVP_PKEY_eq(ka, kb) == 1;
}

static bool root_trusted(X509 *root, const colb_trust *t)
{
	if (intel_key_is_pinned_root(root))
		return true;
	for (size_t i = 0; t && i < colb_trust_intel_root_count(t); i++) {
		size_t len;
		const uint8_t *der = colb_trust_intel_root(t, i, &len);
		const uint8_t *p = der;
		X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;
		bool ok = x && same_key(x, root);
		X509_free(x);
		if (ok)
			return true;
	}
	return false;
}

void intel_cert_cn(X509 *x, bool issuer, char *buf, size_t len)
{
	buf[0] = 0;
	X509_NAME *n = issuer ? X509_get_issuer_name(x) : X509_get_subject_name(x);
	if (n && X509_NAME_get_text_by_NID(n, NID_commonName, buf, (int)len) < 0)
		buf[0] = 0;
}

/* ---- chains -------------------------------------------------------------------- */

void intel_chain_free(intel_chain *c)
{
	if (!c)
		return;
	sk_X509_pop_free(c->certs, X509_free);
	free(c->pem);
	memset(c, 0, sizeof *c);
}

colb_err intel_chain_parse(const char *pem, size_t len, intel_chain *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	if (len > 64 * 1024)
		return WHY(COLB_ERR_COLLATERAL, "issuer chain of %zu bytes is too long", len);
	out->certs = sk_X509_new_null();
	out->pem = malloc(len + 1);
	if (!out->certs || !out->pem) {
		intel_chain_free(out);
		return COLB_ERR_NOMEM;
	}
	memcpy(out->pem, pem, len);
	out->pem[len] = 0;
	out->pem_len = len;
	BIO *b = BIO_new_mem_buf(out->pem, (int)len);
	const char *last = NULL;
	for (const char *p = out->pem; (p = strstr(p, "-----BEGIN CERTIFICATE-----")); p++)
		last = p;
	X509 *x;
	while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (sk_X509_num(out->certs) >= INTEL_MAX_CHAIN || !sk_X509_push(out->certs, x)) {
			X509_free(x);
			BIO_free(b);
			intel_chain_free(out);
			return WHY(COLB_ERR_COLLATERAL, "issuer chain has more than %d certificates", INTEL_MAX_CHAIN);
		}
	}
	BIO_free(b);
	ERR_clear_error();
	if (sk_X509_num(out->certs) < 1 || !last) {
		intel_chain_free(out);
		return WHY(COLB_ERR_COLLATERAL, "issuer chain holds no PEM certificate");
	}
	out->root_pem = last;
	return COLB_OK;
}

colb_err intel_chain_verify(const intel_chain *c, const colb_trust *t, time_t at, const char *leaf_cn,
			    X509_CRL *root_crl, char *why, size_t whylen)
{
	int n = sk_X509_num(c->certs);
	if (n < 2)
		return WHY(COLB_ERR_CHAIN, "issuer chain has %d certificate(s), expected the issuing CA and the root", n);
	X509 *leaf = sk_X509_value(c->certs, 0), *root = sk_X509_value(c->certs, n - 1);
	char cn[128];
	if (leaf_cn) {
		intel_cert_cn(leaf, false, cn, sizeof cn);
		if (strcmp(cn, leaf_cn) != 0)
			return WHY(COLB_ERR_CHAIN, "issuer chain starts at '%s', expected '%s'", cn, leaf_cn);
	}
	if (X509_check_issued(root, root) != X509_V_OK)
		return WHY(COLB_ERR_CHAIN, "issuer chain does not end at a self-signed root");
	if (!root_trusted(root, t))
		return WHY(COLB_ERR_UNTRUSTED_ROOT, "issuer chain ends at a root that is not the pinned Intel SGX Root CA");
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *mid = sk_X509_new_null();
	colb_err rc = COLB_ERR_NOMEM;
	if (!store || !ctx || !mid || !X509_STORE_add_cert(store, root))
		goto out;
	for (int i = 1; i < n - 1; i++)
		if (!sk_X509_push(mid, sk_X509_value(c->certs, i)))
			goto out;
	if (!X509_STORE_CTX_init(ctx, store, leaf, mid))
		goto out;
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, at);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		rc = WHY(COLB_ERR_CHAIN, "issuer chain does not verify: %s", X509_verify_cert_error_string(e));
		goto out;
	}
	rc = COLB_OK;
	for (int i = 0; root_crl && i < n - 1; i++) {
		if (intel_crl_revokes(root_crl, sk_X509_value(c->certs, i))) {
			intel_cert_cn(sk_X509_value(c->certs, i), false, cn, sizeof cn);
			rc = WHY(COLB_ERR_REVOKED, "'%s' is revoked by the root CA CRL", cn);
			break;
		}
	}
out:
	ERR_clear_error();
	sk_X509_free(mid);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

bool intel_verify_raw_sig(X509 *cert, const uint8_t *data, size_t len, const uint8_t sig[64])
{
	EVP_PKEY *k = X509_get0_pubkey(cert);
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return false;
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
	uint8_t *der = NULL;
	int dlen = -1;
	if (s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
		r = ss = NULL;
		dlen = i2d_ECDSA_SIG(s, &der);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	bool ok = false;
	EVP_MD_CTX *md = dlen > 0 ? EVP_MD_CTX_new() : NULL;
	if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)dlen, data, len) == 1)
		ok = true;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

static bool asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = timegm(&tm);
	return true;
}

colb_err intel_crl_parse_verify(const uint8_t *der, size_t len, X509 *issuer, X509_CRL **out, time_t *this_update,
				time_t *next_update, char *why, size_t whylen)
{
	*out = NULL;
	if (len > INTEL_MAX_BODY)
		return WHY(COLB_ERR_COLLATERAL, "CRL of %zu bytes is over the cap", len);
	const uint8_t *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (!crl || p != der + len) {
		X509_CRL_free(crl);
		ERR_clear_error();
		return WHY(COLB_ERR_COLLATERAL, "not a DER CRL");
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		X509_CRL_free(crl);
		return WHY(COLB_ERR_CHAIN, "CRL issuer is not its chain's CA");
	}
	if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		X509_CRL_free(crl);
		ERR_clear_error();
		return WHY(COLB_ERR_COLLATERAL_SIG, "CRL signature does not verify");
	}
	*this_update = 0;
	*next_update = 0;
	if (!asn1_time(X509_CRL_get0_lastUpdate(crl), this_update) ||
	    (X509_CRL_get0_nextUpdate(crl) && !asn1_time(X509_CRL_get0_nextUpdate(crl), next_update))) {
		X509_CRL_free(crl);
		return WHY(COLB_ERR_COLLATERAL, "CRL dates are malformed");
	}
	*out = crl;
	return COLB_OK;
}

bool intel_crl_revokes(X509_CRL *crl, X509 *cert)
{
	X509_REVOKED *r = NULL;
	return crl && X509_CRL_get0_by_serial(crl, &r, (ASN1_INTEGER *)X509_get0_serialNumber(cert)) == 1;
}

/* ---- the SGX extension ------------------------------------------------------------ */

static const uint8_t SGX_OID[9] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};

typedef struct rd {
	const uint8_t *p, *end;
} rd;

/* One DER TLV with the expected tag; definite lengths up to 0xFFFF. */
static bool tlv(rd *r, uint8_t tag, rd *val)
{
	if (r->end - r->p < 2 || r->p[0] != tag)
		return false;
	size_t n = r->p[1], hl = 2;
	if (n == 0x81) {
		if (r->end - r->p < 3 || r->p[2] < 0x80)
			return false;
		n = r->p[2];
		hl = 3;
	} else if (n == 0x82) {
		if (r->end - r->p < 4 || r->p[2] == 0)
			return false;
		n = (size_t)r->p[2] << 8 | r->p[3];
		hl = 4;
	} else if (n > 0x7f) {
		return false;
	}
	if ((size_t)(r->end - r->p) - hl < n)
		return false;
	val->p = r->p + hl;
	val->end = val->p + n;
	r->p = val->end;
	return true;
}

/* An SGX OID: 1.2.840.113741.1.13.1.a[.b]; returns a*100+b, or -1. */
static int sgx_oid(const rd *o)
{
	size_t n = (size_t)(o->end - o->p);
	if (n < 10 || n > 11 || memcmp(o->p, SGX_OID, 9) != 0)
		return -1;
	if (o->p[9] == 0 || o->p[9] > 0x7f || (n == 11 && (o->p[10] == 0 || o->p[10] > 0x7f)))
		return -1;
	return o->p[9] * 100 + (n == 11 ? o->p[10] : 0);
}

static bool small_int(const rd *v, unsigned max, unsigned *out)
{
	size_t n = (size_t)(v->end - v->p);
	if (n < 1 || n > 3 || (v->p[0] & 0x80) || (n > 1 && v->p[0] == 0 && !(v->p[1] & 0x80)))
		return false;
	unsigned x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | v->p[i];
	if (x > max)
		return false;
	*out = x;
	return true;
}

static bool octets(const rd *v, uint8_t *out, size_t n)
{
	if ((size_t)(v->end - v->p) != n)
		return false;
	memcpy(out, v->p, n);
	return true;
}

colb_err intel_sgxext_decode(const uint8_t *der, size_t len, intel_sgxext *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	rd all = {der, der + len}, seq;
	unsigned seen = 0;
	if (!tlv(&all, 0x30, &seq) || all.p != all.end)
		return WHY(COLB_ERR_COLLATERAL, "SGX extension is not one DER SEQUENCE");
	while (seq.p < seq.end) {
		rd item, oid, val;
		if (!tlv(&seq, 0x30, &item) || !tlv(&item, 0x06, &oid))
			return WHY(COLB_ERR_COLLATERAL, "SGX extension item is malformed");
		int id = sgx_oid(&oid);
		if (id < 0 || id % 100 != 0)
			return WHY(COLB_ERR_COLLATERAL, "SGX extension item has a foreign OID");
		int a = id / 100;
		if (a >= 1 && a <= 7) {
			if (seen & (1u << a))
				return WHY(COLB_ERR_COLLATERAL, "SGX extension item .%d appears twice", a);
			seen |= 1u << a;
		}
		bool ok = true;
		unsigned v;
		switch (a) {
		case 1:
			ok = tlv(&item, 0x04, &val) && octets(&val, out->ppid, 16);
			break;
		case 2: {
			unsigned tseen = 0;
			rd tcb;
			ok = tlv(&item, 0x30, &tcb);
			while (ok && tcb.p < tcb.end) {
				rd comp, coid, cval;
				ok = tlv(&tcb, 0x30, &comp) && tlv(&comp, 0x06, &coid);
				int cid = ok ? sgx_oid(&coid) : -1;
				int b = cid % 100;
				if (!ok || cid / 100 != 2 || b < 1 || b > 18 || (tseen & (1u << b))) {
					ok = false;
					break;
				}
				tseen |= 1u << b;
				if (b <= 16)
					ok = tlv(&comp, 0x02, &cval) && small_int(&cval, 255, &v) && (out->tcb.comp[b - 1] = (uint8_t)v, 1);
				else if (b == 17)
					ok = tlv(&comp, 0x02, &cval) && small_int(&cval, 0xffff, &v) && (out->tcb.pcesvn = (uint16_t)v, 1);
				else
					ok = tlv(&comp, 0x04, &cval) && octets(&cval, out->cpusvn, 16);
				ok = ok && comp.p == comp.end;
			}
			ok = ok && tseen == 0x7fffe; /* .1 .. .18 */
			break;
		}
		case 3:
			ok = tlv(&item, 0x04, &val) && octets(&val, out->pceid, 2);
			break;
		case 4:
			ok = tlv(&item, 0x04, &val) && octets(&val, out->fmspc, 6);
			break;
		case 5:
			ok = tlv(&item, 0x0A, &val) && small_int(&val, 2, &v);
			out->sgx_type = ok ? (int)v : 0;
			break;
		case 6:
			ok = tlv(&item, 0x04, &val) && octets(&val, out->instance, 16);
			out->has_instance = ok;
			break;
		default:
			item.p = item.end; /* .7 configuration and later items: not needed here */
			break;
		}
		if (!ok || item.p != item.end)
			return WHY(COLB_ERR_COLLATERAL, "SGX extension item .%d is malformed", a);
	}
	if ((seen & 0x3e) != 0x3e)
		return WHY(COLB_ERR_COLLATERAL, "SGX extension lacks PPID, TCB, PCE-ID, FMSPC or SGX type");
	return COLB_OK;
}

colb_err intel_sgxext_from_cert(X509 *x, intel_sgxext *out, char *why, size_t whylen)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	int i = oid ? X509_get_ext_by_OBJ(x, oid, -1) : -1;
	int j = oid && i >= 0 ? X509_get_ext_by_OBJ(x, oid, i) : -1;
	ASN1_OBJECT_free(oid);
	if (i < 0 || j >= 0)
		return WHY(COLB_ERR_COLLATERAL, "PCK cert has %s SGX extension", i < 0 ? "no" : "more than one");
	ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(x, i));
	return intel_sgxext_decode(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), out, why, whylen);
}

/* ---- PCK cert selection ---------------------------------------------------------- */

static bool tcb_ge(const intel_tcb *a, const intel_tcb *b)
{
	for (int c = 0; c < 16; c++)
		if (a->comp[c] < b->comp[c])
			return false;
	return a->pcesvn >= b->pcesvn;
}

int intel_select_pck(const intel_tcb *raw, const intel_level *levels, size_t nlevels, const intel_tcb *certs,
		     size_t ncerts, size_t *level)
{
	int best = -1;
	size_t best_level = nlevels;
	for (size_t i = 0; i < ncerts; i++) {
		if (!tcb_ge(raw, &certs[i]))
			continue; /* above the platform's raw TCB in some component */
		for (size_t l = 0; l < nlevels && l < best_level; l++) {
			if (tcb_ge(&certs[i], &levels[l].tcb)) {
				best = (int)i;
				best_level = l;
				break;
			}
		}
	}
	if (level)
		*level = best_level;
	return best;
}
