/*
 * verify.c — AMD's certificates checked the way a careful verifier must:
 * the VCEK/VLEK extension decoder, ARK pinning, the ARK -> ASK/ASVK ->
 * VCEK/VLEK chain with RSASSA-PSS SHA-384 signatures (real encodings
 * accepted: explicit trailerField, serial number 0), and the ARK's CRL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "amd/amd_priv.h"
#include "bundle/internal.h"
#include "util/util.h"

/* Writes the reason and returns false, so checks read `return WHY(...)`. */
static bool __attribute__((format(printf, 3, 4))) why_fmt(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return false;
}
#define WHY(...) why_fmt(why, whylen, __VA_ARGS__)

/* ---- the extension decoder ------------------------------------------------- */

/* A DER INTEGER in 0..255, minimally encoded, filling the whole value. */
static bool der_small_uint(const uint8_t *p, size_t n, uint8_t *out)
{
	if (n == 3 && p[0] == 0x02 && p[1] == 1 && p[2] < 0x80) {
		*out = p[2];
		return true;
	}
	if (n == 4 && p[0] == 0x02 && p[1] == 2 && p[2] == 0 && p[3] >= 0x80) {
		*out = p[3];
		return true;
	}
	return false;
}

/* A DER IA5String (or UTF8String) of printable ASCII, short form length. */
static bool der_text(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	if (n < 2 || (p[0] != 0x16 && p[0] != 0x0c) || p[1] >= 0x80 || (size_t)p[1] != n - 2 ||
	    n - 2 >= outlen)
		return false;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	memcpy(out, p + 2, n - 2);
	out[n - 2] = 0;
	return true;
}

#define AMD_ARC "1.3.6.1.4.1.3704.1."

bool amd_ext_decode(const X509 *x, amd_ext *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	int count = X509_get_ext_count(x);
	for (int i = 0; i < count; i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		char oid[80];
		int olen = OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(e), 1);
		if (olen <= 0 || olen >= (int)sizeof oid)
			continue;
		if (strncmp(oid, AMD_ARC, strlen(AMD_ARC)) != 0)
			continue; /* not AMD's: standard extensions are not ours to judge */
		const char *sub = oid + strlen(AMD_ARC);
		const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(e);
		const uint8_t *v = ASN1_STRING_get0_data(os);
		size_t n = (size_t)ASN1_STRING_length(os);
		if (!strcmp(sub, "1")) {
			uint8_t sv;
			if (out->has_struct_version)
				return WHY("structVersion extension twice");
			if (!der_small_uint(v, n, &sv))
				return WHY("structVersion is not a small DER INTEGER");
			out->has_struct_version = true;
			out->struct_version = sv;
		} else if (!strcmp(sub, "2")) {
			if (out->product_name[0])
				return WHY("productName extension twice");
			if (!der_text(v, n, out->product_name, sizeof out->product_name) || !out->product_name[0])
				return WHY("productName is not a short IA5String");
		} else if (!strncmp(sub, "3.", 2) && sub[2] >= '1' && sub[2] <= '9' && !sub[3]) {
			int k = sub[2] - '0';
			if (out->has_spl[k])
				return WHY("SPL extension .3.%d twice", k);
			if (!der_small_uint(v, n, &out->spl[k]))
				return WHY("SPL extension .3.%d is not a DER INTEGER in 0..255", k);
			out->has_spl[k] = true;
		} else if (!strcmp(sub, "4")) {
			if (out->has_hwid)
				return WHY("hwid extension twice");
			/* Real certificates store the raw 64 (or 8) bytes; accept the
			 * DER OCTET STRING wrapping too. */
			if (n == 64 || n == 8) {
				memcpy(out->hwid, v, n);
				out->hwid_len = n;
			} else if ((n == 66 || n == 10) && v[0] == 0x04 && v[1] == n - 2) {
				memcpy(out->hwid, v + 2, n - 2);
				out->hwid_len = n - 2;
			} else {
				return WHY("hwid extension is %zu bytes, not 64 or 8 (raw or in an OCTET STRING)", n);
			}
			out->has_hwid = true;
		} else if (!strcmp(sub, "5")) {
			if (out->has_csp)
				return WHY("csp_id extension twice");
			if (!der_text(v, n, out->csp, sizeof out->csp) || !out->csp[0])
				return WHY("csp_id is not a short IA5String");
			out->has_csp = true;
		}
		/* other AMD OIDs: newer KDS fields, ignored */
	}
	return true;
}

bool amd_ext_decode_der(const uint8_t *der, size_t len, amd_ext *out, char *why, size_t whylen)
{
	const uint8_t *p = der;
	X509 *x = len <= AMD_MAX_CERT ? d2i_X509(NULL, &p, (long)len) : NULL;
	if (!x)
		return WHY("not a DER certificate");
	bool ok = amd_ext_decode(x, out, why, whylen);
	X509_free(x);
	return ok;
}

bool amd_ext_tcb(const amd_ext *e, colb_amd_product p, colb_amd_tcb *tcb, char *why, size_t whylen)
{
	memset(tcb, 0, sizeof *tcb);
	if (!e->has_struct_version)
		return WHY("no structVersion extension");
	bool turin = p == COLB_AMD_TURIN;
	if (turin ? e->struct_version < 1 : e->struct_version != 0)
		return WHY("structVersion %d does not fit a %s certificate", e->struct_version,
			   colb_amd_product_name(p));
	if (!e->has_spl[1] || !e->has_spl[2] || !e->has_spl[3] || !e->has_spl[8])
		return WHY("a blSPL, teeSPL, snpSPL or ucodeSPL extension is missing");
	if (turin && !e->has_spl[9])
		return WHY("no fmcSPL extension on a Turin certificate");
	tcb->bl = e->spl[1], tcb->tee = e->spl[2], tcb->snp = e->spl[3], tcb->ucode = e->spl[8];
	tcb->fmc = turin ? e->spl[9] : 0;
	return true;
}

/* ---- shared certificate checks ----------------------------------------------- */

static bool asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

static bool cert_times(const X509 *x, time_t *nb, time_t *na)
{
	return asn1_time(X509_get0_notBefore(x), nb) && asn1_time(X509_get0_notAfter(x), na);
}

static bool md_is(const X509_ALGOR *a, int nid)
{
	const ASN1_OBJECT *obj;
	int ptype;
	const void *pval;
	if (!a)
		return false;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	/* parameters absent or NULL */
	return OBJ_obj2nid(obj) == nid && (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL || ptype == -1);
}

/* RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailerField absent or 1. */
static bool pss_sha384(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	int ptype;
	const void *pval;
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != NID_rsassaPss || ptype != V_ASN1_SEQUENCE)
		return false;
	RSA_PSS_PARAMS *pss = ASN1_item_unpack((const ASN1_STRING *)pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
	bool ok = false;
	X509_ALGOR *mgf_md = NULL;
	if (pss && pss->maskGenAlgorithm && OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) == NID_mgf1 &&
	    pss->maskGenAlgorithm->parameter)
		mgf_md = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), pss->maskGenAlgorithm->parameter);
	if (pss && md_is(pss->hashAlgorithm, NID_sha384) && md_is(mgf_md, NID_sha384) &&
	    pss->saltLength && ASN1_INTEGER_get(pss->saltLength) == 48 &&
	    (!pss->trailerField || ASN1_INTEGER_get(pss->trailerField) == 1))
		ok = true;
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pss);
	return ok;
}

static bool cn_is(const X509_NAME *n, const char *want)
{
	char cn[128];
	int len = X509_NAME_get_text_by_NID((X509_NAME *)n, NID_commonName, cn, sizeof cn);
	return len > 0 && (size_t)len == strlen(want) && !strcmp(cn, want);
}

static bool is_ca(X509 *x)
{
	return X509_check_ca(x) >= 1;
}

static bool parse_der_cert(const uint8_t *der, size_t len, X509 **out)
{
	const uint8_t *p = der;
	*out = NULL;
	if (len == 0 || len > AMD_MAX_CERT)
		return false;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		X509_free(x);
		return false;
	}
	*out = x;
	return true;
}

/* Signature by `key` over x, with AMD's algorithm in both places. */
static bool signed_by(X509 *x, EVP_PKEY *key)
{
	const X509_ALGOR *outer;
	X509_get0_signature(NULL, &outer, x);
	return pss_sha384(outer) && pss_sha384(X509_get0_tbs_sigalg(x)) && X509_verify(x, key) == 1;
}

static void fmt_time(time_t t, char out[21])
{
	colb_time_format(t, out);
}

/* Validity at `at`; the reason names the certificate by `what`. */
static bool valid_at(const X509 *x, time_t at, const char *what, time_t *nb, time_t *na, char *why,
		     size_t whylen)
{
	time_t b, a;
	char s1[21], s2[21];
	if (!cert_times(x, &b, &a))
		return WHY("%s: unreadable validity dates", what);
	if (at < b || at > a) {
		fmt_time(b, s1);
		fmt_time(a, s2);
		return WHY("%s is not valid at the verification time (valid %s to %s)", what, s1, s2);
	}
	if (nb)
		*nb = b;
	if (na)
		*na = a;
	return true;
}

char *amd_der_to_pem(const uint8_t *der, size_t len, size_t *pem_len)
{
	char *b64 = colb_b64_encode(der, len);
	if (!b64)
		return NULL;
	size_t n = strlen(b64);
	colb_buf b;
	colb_buf_init(&b, n + n / 64 + 128);
	colb_err rc = colb_buf_append_str(&b, "-----BEGIN CERTIFICATE-----\n");
	for (size_t i = 0; !rc && i < n; i += 64) {
		rc = colb_buf_append(&b, b64 + i, n - i < 64 ? n - i : 64);
		if (!rc)
			rc = colb_buf_append(&b, "\n", 1);
	}
	if (!rc)
		rc = colb_buf_append_str(&b, "-----END CERTIFICATE-----\n");
	free(b64);
	if (rc) {
		colb_buf_free(&b);
		return NULL;
	}
	size_t out_len;
	char *out = (char *)colb_buf_steal(&b, &out_len);
	if (pem_len)
		*pem_len = out_len;
	return out;
}

/* ---- chains ----------------------------------------------------------------------- */

void amd_chain_clear(amd_chain *c)
{
	if (!c)
		return;
	X509_free(c->ark);
	X509_free(c->ask);
	free(c->ark_der);
	free(c->ask_der);
	free(c->pem);
	memset(c, 0, sizeof *c);
}

/* Splits PEM text into exactly two certificates' DER bytes. */
static bool split_pem2(const char *pem, size_t len, uint8_t *der[2], size_t dlen[2], char *why, size_t whylen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	int got = 0;
	der[0] = der[1] = NULL;
	while (b && got < 3) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long n = 0;
		if (PEM_read_bio(b, &name, &header, &data, &n) != 1)
			break;
		bool cert = !strcmp(name, "CERTIFICATE") && (!header || !header[0]) && n > 0 &&
			    n <= AMD_MAX_CERT;
		OPENSSL_free(name);
		OPENSSL_free(header);
		if (!cert || got >= 2) {
			OPENSSL_free(data);
			got = 3;
			break;
		}
		der[got] = malloc((size_t)n);
		if (der[got])
			memcpy(der[got], data, (size_t)n);
		dlen[got] = (size_t)n;
		OPENSSL_free(data);
		if (!der[got])
			break;
		got++;
	}
	BIO_free(b);
	if (got != 2) {
		free(der[0]);
		free(der[1]);
		der[0] = der[1] = NULL;
		return WHY("expected exactly two PEM certificates (ASK or ASVK, then ARK)");
	}
	return true;
}

static bool ark_pinned(X509 *ark, colb_amd_product p, const colb_trust *t)
{
	uint8_t *spki = NULL;
	int n = i2d_PUBKEY(X509_get0_pubkey(ark), &spki);
	if (n <= 0)
		return false;
	uint8_t h[32];
	colb_sha256(spki, (size_t)n, h);
	bool ok = !memcmp(h, amd_builtin_ark_pin(p), 32);
	char cn[32];
	snprintf(cn, sizeof cn, "ARK-%s", colb_amd_product_name(p));
	for (size_t i = 0; !ok && t && i < colb_trust_amd_ark_count(t); i++) {
		size_t len;
		const uint8_t *der = colb_trust_amd_ark(t, i, &len);
		X509 *test = NULL;
		if (!der || !parse_der_cert(der, len, &test))
			continue;
		/* A test ARK counts only for the product it names. */
		uint8_t *tspki = NULL;
		int tn = i2d_PUBKEY(X509_get0_pubkey(test), &tspki);
		ok = tn == n && !memcmp(tspki, spki, (size_t)n) && cn_is(X509_get_subject_name(test), cn);
		OPENSSL_free(tspki);
		X509_free(test);
	}
	OPENSSL_free(spki);
	return ok;
}

colb_err amd_chain_verify(const char *pem, size_t len, colb_amd_product p, bool vlek, const colb_trust *t,
			  time_t at, amd_chain *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	const char *pname = colb_amd_product_name(p);
	if (!pname || !pem)
		return WHY("unknown product"), COLB_ERR_INVALID_ARG;
	if (len > AMD_MAX_CHAIN)
		return WHY("chain of %zu bytes is over the %d-byte cap", len, AMD_MAX_CHAIN), COLB_ERR_LIMIT;
	out->product = p;
	out->vlek = vlek;
	uint8_t *der[2];
	size_t dlen[2];
	if (!split_pem2(pem, len, der, dlen, why, whylen))
		return COLB_ERR_COLLATERAL;
	out->ask_der = der[0], out->ask_der_len = dlen[0];
	out->ark_der = der[1], out->ark_der_len = dlen[1];
	out->pem = malloc(len + 1);
	if (!out->pem)
		return amd_chain_clear(out), COLB_ERR_NOMEM;
	memcpy(out->pem, pem, len);
	out->pem[len] = 0;
	out->pem_len = len;
	const char *ask_what = vlek ? "ASVK" : "ASK";
	colb_err rc = COLB_ERR_COLLATERAL;
	if (!parse_der_cert(der[1], dlen[1], &out->ark)) {
		WHY("the ARK is not a DER certificate");
		goto fail;
	}
	if (!parse_der_cert(der[0], dlen[0], &out->ask)) {
		WHY("the %s is not a DER certificate", ask_what);
		goto fail;
	}
	char cn[40];
	rc = COLB_ERR_UNTRUSTED_ROOT;
	snprintf(cn, sizeof cn, "ARK-%s", pname);
	if (!cn_is(X509_get_subject_name(out->ark), cn)) {
		WHY("the chain's root is not %s", cn);
		goto fail;
	}
	if (!ark_pinned(out->ark, p, t)) {
		WHY("the %s key is not the pinned %s ARK key", cn, pname);
		goto fail;
	}
	rc = COLB_ERR_CHAIN;
	EVP_PKEY *ark_key = X509_get0_pubkey(out->ark);
	if (X509_NAME_cmp(X509_get_subject_name(out->ark), X509_get_issuer_name(out->ark)) != 0 ||
	    !signed_by(out->ark, ark_key)) {
		WHY("the %s ARK is not self-signed with RSASSA-PSS SHA-384", pname);
		goto fail;
	}
	if (!is_ca(out->ark)) {
		WHY("the %s ARK is not a CA certificate", pname);
		goto fail;
	}
	if (!valid_at(out->ark, at, "the ARK", NULL, NULL, why, whylen))
		goto fail;
	snprintf(cn, sizeof cn, vlek ? "SEV-VLEK-%s" : "SEV-%s", pname);
	if (!cn_is(X509_get_subject_name(out->ask), cn)) {
		WHY("the %s is not named %s", ask_what, cn);
		goto fail;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(out->ask), X509_get_subject_name(out->ark)) != 0 ||
	    !signed_by(out->ask, ark_key)) {
		WHY("the %s %s is not signed by its ARK with RSASSA-PSS SHA-384", pname, ask_what);
		goto fail;
	}
	if (!is_ca(out->ask)) {
		WHY("the %s %s is not a CA certificate", pname, ask_what);
		goto fail;
	}
	if (!valid_at(out->ask, at, ask_what, NULL, NULL, why, whylen))
		goto fail;
	return COLB_OK;
fail:
	amd_chain_clear(out);
	return rc;
}

/* ---- CRLs -------------------------------------------------------------------------- */

void amd_crl_clear(amd_crl *c)
{
	if (!c)
		return;
	X509_CRL_free(c->crl);
	memset(c, 0, sizeof *c);
}

colb_err amd_crl_verify(const uint8_t *der, size_t len, const amd_chain *c, time_t at, amd_crl *out, char *why,
			size_t whylen)
{
	memset(out, 0, sizeof *out);
	if (len > AMD_MAX_CRL)
		return WHY("CRL of %zu bytes is over the cap", len), COLB_ERR_LIMIT;
	const uint8_t *p = der;
	X509_CRL *crl = len ? d2i_X509_CRL(NULL, &p, (long)len) : NULL;
	if (!crl || p != der + len) {
		X509_CRL_free(crl);
		return WHY("not a DER CRL"), COLB_ERR_COLLATERAL;
	}
	const X509_ALGOR *alg;
	X509_CRL_get0_signature(crl, NULL, &alg);
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(c->ark)) != 0) {
		X509_CRL_free(crl);
		return WHY("the CRL is not issued by the %s ARK", colb_amd_product_name(c->product)),
		       COLB_ERR_CHAIN;
	}
	if (!pss_sha384(alg) || X509_CRL_verify(crl, X509_get0_pubkey(c->ark)) != 1) {
		X509_CRL_free(crl);
		return WHY("the CRL's RSASSA-PSS SHA-384 signature by the %s ARK does not verify",
			   colb_amd_product_name(c->product)),
		       COLB_ERR_COLLATERAL_SIG;
	}
	if (!asn1_time(X509_CRL_get0_lastUpdate(crl), &out->this_update) ||
	    !asn1_time(X509_CRL_get0_nextUpdate(crl), &out->next_update)) {
		X509_CRL_free(crl);
		return WHY("the CRL has no readable thisUpdate/nextUpdate"), COLB_ERR_COLLATERAL;
	}
	out->crl = crl;
	out->stale = at > out->next_update;
	return COLB_OK;
}

colb_err amd_crl_check_chain(const amd_crl *crl, const amd_chain *c, char *why, size_t whylen)
{
	X509 *certs[2] = {c->ask, c->ark};
	for (int i = 0; i < 2; i++) {
		X509_REVOKED *r = NULL;
		if (X509_CRL_get0_by_serial(crl->crl, &r, (ASN1_INTEGER *)X509_get0_serialNumber(certs[i])) == 1) {
			BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certs[i]), NULL);
			char *hex = bn ? BN_bn2hex(bn) : NULL;
			BN_free(bn);
			WHY("the %s %s (serial %s) is revoked by the %s CRL", colb_amd_product_name(c->product),
			    i ? "ARK" : (c->vlek ? "ASVK" : "ASK"), hex ? hex : "?", colb_amd_product_name(c->product));
			OPENSSL_free(hex);
			return COLB_ERR_REVOKED;
		}
	}
	return COLB_OK;
}

/* ---- VCEKs and VLEKs ------------------------------------------------------------- */

colb_err amd_endorsement_verify(const uint8_t *der, size_t len, const amd_chain *c, time_t at,
				amd_endorsement *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	X509 *x = NULL;
	colb_err rc = COLB_ERR_COLLATERAL;
	const char *what = c->vlek ? "VLEK" : "VCEK";
	if (!parse_der_cert(der, len, &x)) {
		WHY("the %s is not a DER certificate", what);
		goto done;
	}
	EVP_PKEY *key = X509_get0_pubkey(x);
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 384) {
		WHY("the %s key is not ECDSA P-384", what);
		goto done;
	}
	if (!amd_ext_decode(x, &out->ext, why, whylen))
		goto done;
	if (!amd_ext_tcb(&out->ext, c->product, &out->tcb, why, whylen))
		goto done;
	out->tcbm = colb_amd_tcb_encode(c->product, &out->tcb);
	out->vlek = c->vlek;
	if (c->vlek) {
		if (!out->ext.has_csp || out->ext.has_hwid) {
			WHY("a VLEK must carry csp_id and no hwid");
			goto done;
		}
	} else {
		size_t want = colb_amd_hwid_len(c->product);
		if (!out->ext.has_hwid || out->ext.has_csp) {
			WHY("a VCEK must carry hwid and no csp_id");
			goto done;
		}
		if (out->ext.hwid_len != want) {
			WHY("the hwid has %zu bytes; a %s VCEK's has %zu", out->ext.hwid_len,
			    colb_amd_product_name(c->product), want);
			rc = COLB_ERR_MISFILED;
			goto done;
		}
		memcpy(out->chip_id, out->ext.hwid, want);
		colb_hex_encode(out->ext.hwid, want, out->hwid_hex, false);
	}
	rc = COLB_ERR_CHAIN;
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(c->ask)) != 0) {
		WHY("the %s is not issued by the %s %s", what, colb_amd_product_name(c->product),
		    c->vlek ? "ASVK" : "ASK");
		goto done;
	}
	if (!signed_by(x, X509_get0_pubkey(c->ask))) {
		WHY("the %s's RSASSA-PSS SHA-384 signature by the %s %s does not verify", what,
		    colb_amd_product_name(c->product), c->vlek ? "ASVK" : "ASK");
		rc = COLB_ERR_COLLATERAL_SIG;
		goto done;
	}
	if (!valid_at(x, at, what, &out->not_before, &out->not_after, why, whylen))
		goto done;
	rc = COLB_OK;
done:
	X509_free(x);
	return rc;
}
