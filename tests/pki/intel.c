/*
 * intel.c — the Intel half of the synthetic PKI generator: a test Intel SGX
 * Root CA, PCK Processor/Platform CAs and TCB Signing cert, N platforms with
 * their PCS v4 `pckcerts` answers, TCB info (SGX and TDX) and enclave
 * identities at three TCB evaluation numbers, evaluation-number lists, PCK
 * and root CRLs, in the raw layout of format-spec/raw-layouts.md.
 *
 * Everything mirrors the shapes Intel serves (DNs, extension order, key
 * usages, CRL distribution points, validity lengths, compact JSON in Intel's
 * key order, raw r||s signatures over the exact inner-object bytes); only
 * the organisation name says TEST.
 */
#include "pkigen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/x509v3.h>

#define TEST_ORG "colbundle TEST PKI"
#define DAY 86400L
#define YEAR (365L * DAY)

/* The evaluation numbers carried: [EVAL_MIN, EVAL_MAX]; standard, early. */
#define EVAL_MIN 16
#define EVAL_MAX 18
#define EVAL_STANDARD 17
#define EVAL_EARLY 18
#define NEVAL (EVAL_MAX - EVAL_MIN + 1)
/* TCB levels per TCB info (and so PCK certs per platform). */
#define NLEVELS 7

#define PCK_CDP_PROCESSOR "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=processor&encoding=der"
#define PCK_CDP_PLATFORM "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=platform&encoding=der"
#define ROOT_CDP "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

/* FMSPCs of the fleet (real-looking values), their PCS platform class and
 * which PCK CA issues their certs. */
static const struct fmspc_def {
	const char *hex;
	const char *platform;
	int platform_ca;
} FMSPCS[] = {
	{"00906ED50000", "E3", 0},
	{"00A067110000", "E3", 0},
	{"00606C040000", "E5", 0},
	{"30606A000000", "E5", 1},
	{"00806F050000", "E5", 1},
	{"90C06F000000", "E5", 0},
};
#define NFMSPC (sizeof FMSPCS / sizeof FMSPCS[0])

/* ---- a small growable string ------------------------------------------- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
} sbuf;

static void sb_grow(sbuf *b, size_t add)
{
	if (b->oom || b->len + add + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + add + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_add(sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->oom = 1;
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

/* Percent-encodes everything but RFC 3986 unreserved characters, as Intel
 * PCS encodes PEM in issuer-chain headers and pckcerts `cert` fields. */
static void sb_percent(sbuf *b, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	sb_grow(b, 3 * strlen(s));
	for (; *s && !b->oom; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~') {
			b->p[b->len++] = (char)c;
		} else {
			b->p[b->len++] = '%';
			b->p[b->len++] = hexd[c >> 4];
			b->p[b->len++] = hexd[c & 15];
		}
	}
	if (!b->oom)
		b->p[b->len] = 0;
}

static void hex(const uint8_t *in, size_t n, char *out, int upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

static void fmt_time(time_t t, char out[21])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- DER building for the SGX extension -------------------------------- */

typedef struct der {
	uint8_t b[1024];
	size_t len;
} der;

static void der_tlv(der *d, uint8_t tag, const uint8_t *v, size_t n)
{
	/* The SGX extension's pieces are all shorter than 64 KiB. */
	d->b[d->len++] = tag;
	if (n < 128) {
		d->b[d->len++] = (uint8_t)n;
	} else if (n < 256) {
		d->b[d->len++] = 0x81;
		d->b[d->len++] = (uint8_t)n;
	} else {
		d->b[d->len++] = 0x82;
		d->b[d->len++] = (uint8_t)(n >> 8);
		d->b[d->len++] = (uint8_t)n;
	}
	memcpy(d->b + d->len, v, n);
	d->len += n;
}

/* OID 1.2.840.113741.1.13.1[.a[.b]] */
static void der_sgx_oid(der *d, int a, int b)
{
	uint8_t o[16] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};
	size_t n = 9;
	if (a)
		o[n++] = (uint8_t)a;
	if (b)
		o[n++] = (uint8_t)b;
	der_tlv(d, 0x06, o, n);
}

/* SEQUENCE { OID sgx.a[.b], value } */
static void der_pair(der *out, int a, int b, uint8_t tag, const uint8_t *v, size_t n)
{
	der t = {.len = 0};
	der_sgx_oid(&t, a, b);
	der_tlv(&t, tag, v, n);
	der_tlv(out, 0x30, t.b, t.len);
}

static void der_pair_int(der *out, int a, int b, unsigned v)
{
	uint8_t i[3];
	size_t n = 0;
	if (v > 0x7fff) {
		i[n++] = 0;
	}
	if (v > 0x7f) {
		if (v > 0xff)
			i[n++] = (uint8_t)(v >> 8);
		else
			i[n++] = 0; /* 128..255 need a leading zero */
	}
	i[n++] = (uint8_t)v;
	der_pair(out, a, b, 0x02, i, n);
}

/* ---- the TCB model ------------------------------------------------------ */

typedef struct tcb {
	uint8_t comp[16];
	unsigned pcesvn;
} tcb;

typedef struct level {
	tcb t;
	const char *status;
	int svn; /* the level's comp01 value, used for dates and advisories */
} level;

/* Levels of the SGX TCB info for FMSPC f at evaluation number e, highest
 * first: two configurations at each of three microcode SVNs, then an old
 * level with a lower PCE SVN. Each evaluation number raises the top SVN by
 * one, so a platform UpToDate at 17 is OutOfDate at 18. */
static void tcb_levels(unsigned f, int e, level out[NLEVELS])
{
	int s = 10 + (e - EVAL_MIN);
	for (int j = 0; j < NLEVELS; j++) {
		level *l = &out[j];
		memset(l, 0, sizeof *l);
		int svn = j < 6 ? s - j / 2 : s - 3;
		l->svn = svn;
		l->t.comp[0] = (uint8_t)svn;
		l->t.comp[1] = (uint8_t)svn;
		l->t.comp[2] = 2;
		l->t.comp[3] = (uint8_t)(2 + f % 3);
		l->t.comp[4] = (uint8_t)(1 + f % 2);
		l->t.comp[5] = f % 2 ? 1 : 128;
		l->t.comp[6] = (j % 2 == 0 && j < 6) ? 14 : 0;
		l->t.comp[7] = f == 4 ? 3 : 0;
		l->t.pcesvn = j < 6 ? 13 : 11;
		static const char *top[2][2] = {{"UpToDate", "ConfigurationNeeded"},
						{"SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded"}};
		if (j < 2)
			l->status = top[f % 2][j];
		else if (j < 6)
			l->status = j % 2 == 0 ? "OutOfDate" : "OutOfDateConfigurationNeeded";
		else
			l->status = "OutOfDate";
	}
}

/* The tcbDate of the evaluation whose top SVN is svn (midnight, UTC). */
static time_t svn_date(const pki_ctx *ctx, int svn)
{
	time_t base = ctx->now - ctx->now % DAY;
	return base - 60 * DAY - (time_t)(10 + EVAL_MAX - EVAL_MIN - svn) * 180 * DAY;
}

static void tcbm_hex(const tcb *t, char out[37])
{
	uint8_t b[18];
	memcpy(b, t->comp, 16);
	b[16] = (uint8_t)(t->pcesvn & 0xff);
	b[17] = (uint8_t)(t->pcesvn >> 8);
	hex(b, 18, out, 1);
}

/* ---- certificates and signatures --------------------------------------- */

typedef struct ca {
	EVP_PKEY *key;
	X509 *cert;
	char *pem;
} ca;

static struct intel_pki {
	ca root, processor, platform, signing;
	char *chain_processor, *chain_platform, *chain_signing; /* percent-encoded PEM */
} pki;

static X509_NAME *intel_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (!n)
		return NULL;
	if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)TEST_ORG, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "L", MBSTRING_UTF8, (const unsigned char *)"Santa Clara", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "ST", MBSTRING_UTF8, (const unsigned char *)"CA", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	if (!e)
		return -1;
	int ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

enum cert_role { ROLE_ROOT, ROLE_CA, ROLE_SIGNER, ROLE_PCK };

/* A certificate in Intel's shape: AKI, CRL DP, SKI, KU, BC[, SGX]. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, const ca *issuer, enum cert_role role,
		       time_t not_before, time_t not_after, const char *cdp, const der *sgx)
{
	X509 *x = X509_new();
	X509_NAME *subj = intel_name(cn);
	int ok = x && subj && X509_set_version(x, 2);
	if (ok) {
		pki_set_serial(x, role == ROLE_PCK ? 20 : 21);
		ok = X509_set_subject_name(x, subj) &&
		     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) : subj) &&
		     ASN1_TIME_set(X509_getm_notBefore(x), not_before) &&
		     ASN1_TIME_set(X509_getm_notAfter(x), not_after) && X509_set_pubkey(x, key);
	}
	if (ok) {
		X509V3_CTX v3;
		X509V3_set_ctx(&v3, issuer ? issuer->cert : x, x, NULL, NULL, 0);
		char dp[256];
		snprintf(dp, sizeof dp, "URI:%s", cdp);
		ok = (role == ROLE_ROOT ? add_ext(x, &v3, NID_subject_key_identifier, "hash") : 0) == 0 &&
		     add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") == 0 &&
		     add_ext(x, &v3, NID_crl_distribution_points, dp) == 0;
		if (ok && role == ROLE_ROOT) {
			/* Keep Intel's order: the SKI after the CRL DP. */
			X509_EXTENSION *ski = X509_delete_ext(x, 0);
			ok = ski && X509_add_ext(x, ski, -1);
			X509_EXTENSION_free(ski);
		} else if (ok) {
			ok = add_ext(x, &v3, NID_subject_key_identifier, "hash") == 0;
		}
		const char *ku = role == ROLE_ROOT || role == ROLE_CA ? "critical,keyCertSign,cRLSign"
								      : "critical,digitalSignature,nonRepudiation";
		const char *bc = role == ROLE_ROOT ? "critical,CA:TRUE,pathlen:1"
			       : role == ROLE_CA   ? "critical,CA:TRUE,pathlen:0"
						   : "critical,CA:FALSE";
		ok = ok && add_ext(x, &v3, NID_key_usage, ku) == 0 && add_ext(x, &v3, NID_basic_constraints, bc) == 0;
	}
	if (ok && sgx) {
		ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e = NULL;
		ok = oid && os && ASN1_OCTET_STRING_set(os, sgx->b, (int)sgx->len) &&
		     (e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)) && X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(oid);
	}
	ok = ok && X509_sign(x, issuer ? issuer->key : key, EVP_sha256()) > 0;
	X509_NAME_free(subj);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int make_ca(const pki_ctx *ctx, ca *c, const char *cn, const ca *issuer, enum cert_role role,
		   time_t nb, time_t na, uint64_t index)
{
	pki_rng_reseed(ctx, "intel-ca", index);
	c->key = pki_key_ec(NID_X9_62_prime256v1);
	if (!c->key)
		return -1;
	c->cert = make_cert(cn, c->key, issuer, role, nb, na, ROOT_CDP, NULL);
	if (!c->cert)
		return -1;
	/* Fill the extension cache now, before worker threads read it. */
	X509_check_purpose(c->cert, -1, 0);
	c->pem = pki_cert_pem(c->cert);
	return c->pem ? 0 : -1;
}

static char *encoded_chain(const ca *leaf_ca, const ca *root)
{
	sbuf pem = {0}, enc = {0};
	sb_str(&pem, leaf_ca->pem);
	sb_str(&pem, root->pem);
	if (pem.oom)
		return NULL;
	sb_percent(&enc, pem.p);
	free(pem.p);
	return enc.oom ? NULL : enc.p;
}

/* ECDSA P-256 / SHA-256 over the exact bytes, as 128 lowercase hex (r||s). */
static int sign_raw_hex(EVP_PKEY *key, const char *data, size_t len, char out[129])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[80];
	size_t siglen = sizeof sig;
	int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) > 0 &&
		 EVP_DigestSign(md, sig, &siglen, (const uint8_t *)data, len) > 0;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;
	const uint8_t *p = sig;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
	if (!s)
		return -1;
	uint8_t rs[64];
	const BIGNUM *r, *ss;
	ECDSA_SIG_get0(s, &r, &ss);
	ok = BN_bn2binpad(r, rs, 32) == 32 && BN_bn2binpad(ss, rs + 32, 32) == 32;
	ECDSA_SIG_free(s);
	if (!ok)
		return -1;
	hex(rs, 64, out, 0);
	return 0;
}

/* Writes {"<wrapper>":<inner>,"signature":"..."} and its .hdr. */
static int write_signed(const pki_ctx *ctx, const char *relpath, const char *wrapper, const sbuf *inner,
			const char *hdr_name)
{
	char sig[129], path[512];
	if (inner->oom || sign_raw_hex(pki.signing.key, inner->p, inner->len, sig) != 0)
		return -1;
	sbuf body = {0}, hdr = {0};
	sb_printf(&body, "{\"%s\":", wrapper);
	sb_add(&body, inner->p, inner->len);
	sb_printf(&body, ",\"signature\":\"%s\"}", sig);
	uint8_t rid[16];
	char ridhex[33];
	pki_rng_bytes(rid, sizeof rid);
	hex(rid, sizeof rid, ridhex, 0);
	sb_printf(&hdr, "Request-ID: %s\n%s: ", ridhex, hdr_name);
	sb_str(&hdr, pki.chain_signing);
	sb_str(&hdr, "\nContent-Type: application/json\n");
	snprintf(path, sizeof path, "%s.hdr", relpath);
	int rc = body.oom || hdr.oom ? -1 : 0;
	if (!rc)
		rc = pki_write(ctx, relpath, body.p, body.len) || pki_write(ctx, path, hdr.p, hdr.len) ? -1 : 0;
	free(body.p);
	free(hdr.p);
	return rc;
}

/* ---- TCB info, identities, evaluation numbers ---------------------------- */

static void advisories(sbuf *b, int svn, int top_svn, const char *status)
{
	if (!strcmp(status, "UpToDate"))
		return;
	sb_str(b, ",\"advisoryIDs\":[");
	int first = 1;
	if (strstr(status, "SWHardening")) {
		sb_str(b, "\"INTEL-SA-00334\",\"INTEL-SA-00615\"");
		first = 0;
	}
	if (strstr(status, "Configuration")) {
		sb_printf(b, "%s\"INTEL-SA-00219\",\"INTEL-SA-00289\"", first ? "" : ",");
		first = 0;
	}
	/* One advisory per TCB recovery the level misses. */
	for (int v = svn + 1; v <= top_svn; v++) {
		sb_printf(b, "%s\"INTEL-SA-%05d\"", first ? "" : ",", 800 + 11 * v);
		first = 0;
	}
	sb_str(b, "]");
}

static void sgx_components(sbuf *b, const tcb *t, int tdx_style)
{
	static const char *cat[16] = {"BIOS", "OS/VMM", "OS/VMM", "BIOS", "BIOS", "BIOS", NULL, "OS/VMM"};
	static const char *typ[16] = {"Early Microcode Update", "SGX Late Microcode Update", "TXT SINIT", NULL,
				      NULL, NULL, NULL, "SEAMLDR ACM"};
	sb_str(b, "\"sgxtcbcomponents\":[");
	for (int c = 0; c < 16; c++) {
		sb_printf(b, "%s{\"svn\":%u", c ? "," : "", t->comp[c]);
		if (tdx_style && cat[c])
			sb_printf(b, ",\"category\":\"%s\"", cat[c]);
		if (tdx_style && typ[c])
			sb_printf(b, ",\"type\":\"%s\"", typ[c]);
		sb_str(b, "}");
	}
	sb_str(b, "]");
}

static int write_tcbinfo(const pki_ctx *ctx, unsigned f, int e, int tdx)
{
	pki_rng_reseed(ctx, tdx ? "intel-tcbinfo-tdx" : "intel-tcbinfo-sgx", f * 100 + (unsigned)e);
	level lv[NLEVELS];
	tcb_levels(f, e, lv);
	char issue[21], next[21], date[21], path[256];
	fmt_time(ctx->now, issue);
	fmt_time(ctx->now + 30 * DAY, next);
	sbuf b = {0};
	sb_printf(&b,
		  "{\"id\":\"%s\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\",\"fmspc\":\"%s\","
		  "\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":%d,",
		  tdx ? "TDX" : "SGX", issue, next, FMSPCS[f].hex, e);
	if (tdx) {
		char zeros[97];
		memset(zeros, '0', 96);
		zeros[96] = 0;
		sb_printf(&b,
			  "\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
			  "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},\"tdxModuleIdentities\":[",
			  zeros);
		fmt_time(svn_date(ctx, lv[0].svn), date);
		sb_printf(&b,
			  "{\"id\":\"TDX_03\",\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
			  "\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":3},"
			  "\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"}]},",
			  zeros, date);
		sb_printf(&b,
			  "{\"id\":\"TDX_01\",\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
			  "\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},"
			  "\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"},",
			  zeros, date);
		fmt_time(svn_date(ctx, lv[2].svn), date);
		sb_printf(&b, "{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"%s\",\"tcbStatus\":\"OutOfDate\"}]}],", date);
	}
	sb_str(&b, "\"tcbLevels\":[");
	for (int j = 0; j < NLEVELS; j++) {
		sb_str(&b, j ? ",{\"tcb\":{" : "{\"tcb\":{");
		sgx_components(&b, &lv[j].t, tdx);
		sb_printf(&b, ",\"pcesvn\":%u", lv[j].t.pcesvn);
		if (tdx) {
			static const char *typ[3] = {"TDX Module", "TDX Module", "TDX Late Microcode Update"};
			unsigned svn[3] = {(unsigned)lv[j].svn - 7, 0, (unsigned)lv[j].svn};
			sb_str(&b, ",\"tdxtcbcomponents\":[");
			for (int c = 0; c < 16; c++) {
				if (c < 3)
					sb_printf(&b, "%s{\"svn\":%u,\"category\":\"OS/VMM\",\"type\":\"%s\"}",
						  c ? "," : "", svn[c], typ[c]);
				else
					sb_str(&b, ",{\"svn\":0}");
			}
			sb_str(&b, "]");
		}
		fmt_time(svn_date(ctx, lv[j].svn), date);
		sb_printf(&b, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"", date, lv[j].status);
		advisories(&b, lv[j].svn, lv[0].svn, lv[j].status);
		sb_str(&b, "}");
	}
	sb_str(&b, "]}");
	snprintf(path, sizeof path, "intel/%s/tcb/%s/%d.json", tdx ? "tdx" : "sgx", FMSPCS[f].hex, e);
	int rc = write_signed(ctx, path, "tcbInfo", &b, "TCB-Info-Issuer-Chain");
	free(b.p);
	return rc;
}

static const struct identity_def {
	const char *id, *dir, *tee, *attributes, *mrsigner;
	int isvprodid, top_svn; /* top ISV SVN at EVAL_MIN */
} IDENTITIES[] = {
	{"QE", "qe", "sgx", "11000000000000000000000000000000",
	 "8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF", 1, 6},
	{"QVE", "qve", "sgx", "01000000000000000000000000000000",
	 "8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF", 2, 3},
	{"QAE", "qae", "sgx", "01000000000000000000000000000000",
	 "8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF", 3, 1},
	{"TD_QE", "td_qe", "tdx", "11000000000000000000000000000000",
	 "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5", 2, 3},
};
#define NIDENT (sizeof IDENTITIES / sizeof IDENTITIES[0])

static int write_identity(const pki_ctx *ctx, unsigned k, int e)
{
	const struct identity_def *d = &IDENTITIES[k];
	pki_rng_reseed(ctx, "intel-identity", k * 100 + (unsigned)e);
	char issue[21], next[21], date[21], path[256];
	fmt_time(ctx->now, issue);
	fmt_time(ctx->now + 30 * DAY, next);
	int top = d->top_svn + (e - EVAL_MIN), top_tcb_svn = 10 + (e - EVAL_MIN);
	sbuf b = {0};
	sb_printf(&b,
		  "{\"id\":\"%s\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
		  "\"tcbEvaluationDataNumber\":%d,\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
		  "\"attributes\":\"%s\",\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
		  "\"mrsigner\":\"%s\",\"isvprodid\":%d,\"tcbLevels\":[",
		  d->id, issue, next, e, d->attributes, d->mrsigner, d->isvprodid);
	for (int svn = top, n = 0; svn >= 1 && n < 3; svn -= 1 + n, n++) {
		fmt_time(svn_date(ctx, top_tcb_svn - n), date);
		sb_printf(&b, "%s{\"tcb\":{\"isvsvn\":%d},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"", n ? "," : "",
			  svn, date, n ? "OutOfDate" : "UpToDate");
		if (n)
			sb_printf(&b, ",\"advisoryIDs\":[\"INTEL-SA-%05d\"]", 600 + 11 * svn);
		sb_str(&b, "}");
	}
	sb_str(&b, "]}");
	snprintf(path, sizeof path, "intel/%s/identity/%s/%d.json", d->tee, d->dir, e);
	int rc = write_signed(ctx, path, "enclaveIdentity", &b, "SGX-Enclave-Identity-Issuer-Chain");
	free(b.p);
	return rc;
}

static int write_eval_numbers(const pki_ctx *ctx, int tdx)
{
	pki_rng_reseed(ctx, "intel-evalnums", (uint64_t)tdx);
	char issue[21], next[21], rec[21], date[21], path[64];
	fmt_time(ctx->now, issue);
	fmt_time(ctx->now + 30 * DAY, next);
	sbuf b = {0};
	sb_printf(&b,
		  "{\"id\":\"%s\",\"version\":1,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\",\"tcbEvalNumbers\":[",
		  tdx ? "TDX" : "SGX", issue, next);
	for (int e = EVAL_MAX; e >= EVAL_MIN; e--) {
		time_t d = svn_date(ctx, 10 + (e - EVAL_MIN));
		fmt_time(d - DAY, rec);
		fmt_time(d, date);
		sb_printf(&b, "%s{\"tcbEvaluationDataNumber\":%d,\"tcbRecoveryEventDate\":\"%s\",\"tcbDate\":\"%s\"}",
			  e == EVAL_MAX ? "" : ",", e, rec, date);
	}
	sb_str(&b, "]}");
	snprintf(path, sizeof path, "intel/%s/tcbevaluationdatanumbers.json", tdx ? "tdx" : "sgx");
	int rc = write_signed(ctx, path, "tcbEvaluationDataNumbers", &b, "TCB-Evaluation-Data-Numbers-Issuer-Chain");
	free(b.p);
	return rc;
}

/* ---- platforms ------------------------------------------------------------ */

typedef struct platform {
	uint8_t qe_id[16];
	uint8_t enc_ppid[384];
	tcb raw;               /* the platform's raw CPUSVN and PCE SVN */
	unsigned f;            /* index into FMSPCS */
	char revoke_serial[48]; /* hex serial of the cert to revoke, or "" */
	char revoke_tcbm[37];
} platform;

typedef struct gen {
	const pki_ctx *ctx;
	platform *plat;
	unsigned n;
	/* Platforms whose exactly-matching top cert the CRLs revoke. */
	unsigned revoke_processor, revoke_platform;
} gen;

/* The platform's raw TCB, spread over the cases PCK selection must handle:
 * exactly at a level, between levels, after a microcode update, above every
 * level, and with a newer PCE SVN than its level. */
static void raw_tcb(unsigned i, int force_top, const level lv[NLEVELS], tcb *raw, int *exact_level)
{
	unsigned kase = force_top ? 0 : i % 5;
	unsigned j = force_top ? 0 : (i / 5) % NLEVELS;
	*raw = lv[j].t;
	*exact_level = -1;
	switch (kase) {
	case 0:
		*exact_level = (int)j;
		break;
	case 1: /* between the two configurations of one SVN */
		raw->comp[6] = 7;
		break;
	case 2: /* a microcode update past the level */
		raw->comp[0]++;
		raw->comp[1]++;
		break;
	case 3: /* above everything Intel lists */
		raw->comp[0] = raw->comp[1] = (uint8_t)(lv[0].svn + 1);
		raw->comp[6] = 15;
		raw->pcesvn = lv[0].t.pcesvn + 1;
		break;
	default:
		raw->pcesvn++;
		break;
	}
}

static int gen_platform(uint64_t idx, void *arg)
{
	gen *g = arg;
	const pki_ctx *ctx = g->ctx;
	platform *p = &g->plat[idx];
	unsigned i = (unsigned)idx;
	pki_rng_reseed(ctx, "intel-platform", idx);

	p->f = i % (unsigned)NFMSPC;
	const struct fmspc_def *fd = &FMSPCS[p->f];
	uint8_t ppid[16], pinst[16], fmspc[6];
	pki_rng_bytes(p->qe_id, sizeof p->qe_id);
	pki_rng_bytes(ppid, sizeof ppid);
	pki_rng_bytes(p->enc_ppid, sizeof p->enc_ppid);
	pki_rng_bytes(pinst, sizeof pinst);
	for (int k = 0; k < 6; k++) {
		unsigned v;
		sscanf(fd->hex + 2 * k, "%2x", &v);
		fmspc[k] = (uint8_t)v;
	}
	level lv[NLEVELS];
	tcb_levels(p->f, EVAL_EARLY, lv);
	int exact, want_revoke = i == g->revoke_processor || i == g->revoke_platform;
	raw_tcb(i, want_revoke, lv, &p->raw, &exact);
	const ca *issuer = fd->platform_ca ? &pki.platform : &pki.processor;

	/* Issued some time within the last year, valid seven years, as Intel's. */
	time_t nb = ctx->now - (time_t)(30 + i % 300) * DAY;
	sbuf body = {0};
	sb_str(&body, "[");
	for (int j = 0; j < NLEVELS; j++) {
		const tcb *t = &lv[j].t;
		der inner = {.len = 0}, tcbseq = {.len = 0}, ext = {.len = 0};
		der_pair(&inner, 1, 0, 0x04, ppid, 16);
		for (int c = 0; c < 16; c++)
			der_pair_int(&tcbseq, 2, c + 1, t->comp[c]);
		der_pair_int(&tcbseq, 2, 17, t->pcesvn);
		der_pair(&tcbseq, 2, 18, 0x04, t->comp, 16);
		{
			der tmp = {.len = 0};
			der_sgx_oid(&tmp, 2, 0);
			der_tlv(&tmp, 0x30, tcbseq.b, tcbseq.len);
			der_tlv(&inner, 0x30, tmp.b, tmp.len);
		}
		uint8_t pceid[2] = {0, 0}, sgxtype = fd->platform_ca ? 1 : 0;
		der_pair(&inner, 3, 0, 0x04, pceid, 2);
		der_pair(&inner, 4, 0, 0x04, fmspc, 6);
		der_pair(&inner, 5, 0, 0x0A, &sgxtype, 1);
		if (fd->platform_ca) {
			der cfg = {.len = 0}, tmp = {.len = 0};
			uint8_t yes = 0xFF;
			der_pair(&inner, 6, 0, 0x04, pinst, 16);
			der_pair(&cfg, 7, 1, 0x01, &yes, 1);
			der_pair(&cfg, 7, 2, 0x01, &yes, 1);
			der_pair(&cfg, 7, 3, 0x01, &yes, 1);
			der_sgx_oid(&tmp, 7, 0);
			der_tlv(&tmp, 0x30, cfg.b, cfg.len);
			der_tlv(&inner, 0x30, tmp.b, tmp.len);
		}
		der_tlv(&ext, 0x30, inner.b, inner.len);

		EVP_PKEY *key = pki_key_ec(NID_X9_62_prime256v1);
		X509 *x = key ? make_cert("Intel SGX PCK Certificate", key, issuer, ROLE_PCK, nb, nb + 7 * YEAR,
					  fd->platform_ca ? PCK_CDP_PLATFORM : PCK_CDP_PROCESSOR, &ext)
			      : NULL;
		char *pem = x ? pki_cert_pem(x) : NULL;
		if (pem && want_revoke && j == exact) {
			BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
			char *s = bn ? BN_bn2hex(bn) : NULL;
			if (s && strlen(s) < sizeof p->revoke_serial)
				strcpy(p->revoke_serial, s);
			tcbm_hex(t, p->revoke_tcbm);
			OPENSSL_free(s);
			BN_free(bn);
		}
		EVP_PKEY_free(key);
		X509_free(x);
		if (!pem) {
			free(body.p);
			return -1;
		}
		char tcbm[37];
		tcbm_hex(t, tcbm);
		sb_str(&body, j ? ",{\"tcb\":{" : "{\"tcb\":{");
		for (int c = 0; c < 16; c++)
			sb_printf(&body, "\"sgxtcbcomp%02dsvn\":%u,", c + 1, t->comp[c]);
		sb_printf(&body, "\"pcesvn\":%u},\"tcbm\":\"%s\",\"cert\":\"", t->pcesvn, tcbm);
		sb_percent(&body, pem);
		sb_str(&body, "\"}");
		free(pem);
	}
	sb_str(&body, "]");

	char qe[33], path[256], rid[33];
	uint8_t ridb[16];
	hex(p->qe_id, 16, qe, 1);
	pki_rng_bytes(ridb, sizeof ridb);
	hex(ridb, 16, rid, 0);
	sbuf hdr = {0};
	sb_printf(&hdr, "Request-ID: %s\nSGX-PCK-Certificate-Issuer-Chain: ", rid);
	sb_str(&hdr, fd->platform_ca ? pki.chain_platform : pki.chain_processor);
	sb_printf(&hdr, "\nSGX-FMSPC: %s\nSGX-PCK-Certificate-CA-Type: %s\nContent-Type: application/json\n", fd->hex,
		  fd->platform_ca ? "platform" : "processor");
	int rc = body.oom || hdr.oom ? -1 : 0;
	snprintf(path, sizeof path, "intel/sgx/pckcerts/%s-0000.json", qe);
	if (!rc)
		rc = pki_write(ctx, path, body.p, body.len);
	snprintf(path, sizeof path, "intel/sgx/pckcerts/%s-0000.json.hdr", qe);
	if (!rc)
		rc = pki_write(ctx, path, hdr.p, hdr.len);
	free(body.p);
	free(hdr.p);
	return rc;
}

/* ---- CRLs ------------------------------------------------------------------ */

static int add_revoked(X509_CRL *crl, const char *serial_hex, const uint8_t *serial_bin, size_t n,
		       time_t when)
{
	X509_REVOKED *r = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	ASN1_TIME *t = ASN1_TIME_set(NULL, when);
	ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
	if (serial_hex)
		BN_hex2bn(&bn, serial_hex);
	else
		bn = BN_bin2bn(serial_bin, (int)n, NULL);
	ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	int ok = r && ai && t && reason && X509_REVOKED_set_serialNumber(r, ai) &&
		 X509_REVOKED_set_revocationDate(r, t) && ASN1_ENUMERATED_set(reason, 1) /* keyCompromise */ &&
		 X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) > 0 && X509_CRL_add0_revoked(crl, r);
	if (!ok)
		X509_REVOKED_free(r);
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok ? 0 : -1;
}

/* A CRL in Intel's shape: v2, CRL number then AKI, keyCompromise entries. */
static int write_crl(const pki_ctx *ctx, const ca *issuer, const char *relpath, const char *hdr_chain,
		     const char *const *serials, size_t nserials, unsigned filler, long lifetime)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, ctx->now), *next = ASN1_TIME_set(NULL, ctx->now + lifetime);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int ok = crl && last && next && num && X509_CRL_set_version(crl, 1) &&
		 X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->cert)) &&
		 X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next) &&
		 ASN1_INTEGER_set(num, 1);
	for (size_t k = 0; ok && k < nserials; k++)
		ok = add_revoked(crl, serials[k], NULL, 0, ctx->now - DAY) == 0;
	for (unsigned k = 0; ok && k < filler; k++) {
		uint8_t s[20];
		pki_rng_bytes(s, sizeof s);
		s[0] = (uint8_t)((s[0] & 0x7f) | 1);
		ok = add_revoked(crl, NULL, s, sizeof s, ctx->now - (time_t)(k + 2) * DAY) == 0;
	}
	if (ok) {
		X509V3_CTX v3;
		X509V3_set_ctx(&v3, issuer->cert, NULL, NULL, crl, 0);
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
		ok = X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) > 0 && e && X509_CRL_add_ext(crl, e, -1) &&
		     X509_CRL_sign(crl, issuer->key, EVP_sha256()) > 0;
		X509_EXTENSION_free(e);
	}
	size_t len = 0;
	uint8_t *d = ok ? pki_crl_der(crl, &len) : NULL;
	int rc = d ? pki_write(ctx, relpath, d, len) : -1;
	if (!rc && hdr_chain) {
		char path[256];
		sbuf hdr = {0};
		uint8_t rid[16];
		char ridhex[33];
		pki_rng_bytes(rid, sizeof rid);
		hex(rid, sizeof rid, ridhex, 0);
		sb_printf(&hdr, "Request-ID: %s\nSGX-PCK-CRL-Issuer-Chain: ", ridhex);
		sb_str(&hdr, hdr_chain);
		sb_str(&hdr, "\nContent-Type: application/pkix-crl\n");
		snprintf(path, sizeof path, "%s.hdr", relpath);
		rc = hdr.oom ? -1 : pki_write(ctx, path, hdr.p, hdr.len);
		free(hdr.p);
	}
	OPENSSL_free(d);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return rc;
}

/* ---- the whole Intel side -------------------------------------------------- */

static int setup_cas(const pki_ctx *ctx)
{
	/* Validity lengths as Intel's: root to the end of 2049, PCK CAs fifteen
	 * years, TCB Signing seven years. */
	time_t root_nb = ctx->now - 7 * YEAR, root_na = 2524607999; /* 2049-12-31T23:59:59Z */
	if (root_na <= ctx->now)
		root_na = ctx->now + 25 * YEAR;
	if (make_ca(ctx, &pki.root, "Intel SGX Root CA", NULL, ROLE_ROOT, root_nb, root_na, 0) ||
	    make_ca(ctx, &pki.processor, "Intel SGX PCK Processor CA", &pki.root, ROLE_CA, root_nb + 600,
		    root_nb + 600 + 15 * YEAR, 1) ||
	    make_ca(ctx, &pki.platform, "Intel SGX PCK Platform CA", &pki.root, ROLE_CA, root_nb + 600,
		    root_nb + 600 + 15 * YEAR, 2) ||
	    make_ca(ctx, &pki.signing, "Intel SGX TCB Signing", &pki.root, ROLE_SIGNER, ctx->now - 200 * DAY,
		    ctx->now - 200 * DAY + 7 * YEAR, 3))
		return -1;
	pki.chain_processor = encoded_chain(&pki.processor, &pki.root);
	pki.chain_platform = encoded_chain(&pki.platform, &pki.root);
	pki.chain_signing = encoded_chain(&pki.signing, &pki.root);
	return pki.chain_processor && pki.chain_platform && pki.chain_signing ? 0 : -1;
}

static void free_cas(void)
{
	ca *all[] = {&pki.root, &pki.processor, &pki.platform, &pki.signing};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
		EVP_PKEY_free(all[k]->key);
		X509_free(all[k]->cert);
		free(all[k]->pem);
	}
	free(pki.chain_processor);
	free(pki.chain_platform);
	free(pki.chain_signing);
	memset(&pki, 0, sizeof pki);
}

static int write_collateral(const pki_ctx *ctx)
{
	for (unsigned f = 0; f < NFMSPC; f++)
		for (int e = EVAL_MIN; e <= EVAL_MAX; e++)
			if (write_tcbinfo(ctx, f, e, 0) || write_tcbinfo(ctx, f, e, 1))
				return -1;
	for (unsigned k = 0; k < NIDENT; k++)
		for (int e = EVAL_MIN; e <= EVAL_MAX; e++)
			if (write_identity(ctx, k, e))
				return -1;
	if (write_eval_numbers(ctx, 0) || write_eval_numbers(ctx, 1))
		return -1;
	char sets[128];
	snprintf(sets, sizeof sets, "{\"sgx\":{\"standard\":%d,\"early\":%d},\"tdx\":{\"standard\":%d,\"early\":%d}}\n",
		 EVAL_STANDARD, EVAL_EARLY, EVAL_STANDARD, EVAL_EARLY);
	if (pki_write_str(ctx, "intel/tcb-sets.json", sets))
		return -1;
	sbuf fm = {0};
	sb_str(&fm, "[");
	for (unsigned f = 0; f < NFMSPC; f++)
		sb_printf(&fm, "%s{\"fmspc\":\"%s\",\"platform\":\"%s\"}", f ? "," : "", FMSPCS[f].hex,
			  FMSPCS[f].platform);
	sb_str(&fm, "]");
	int rc = fm.oom ? -1 : pki_write(ctx, "intel/sgx/fmspcs.json", fm.p, fm.len);
	free(fm.p);
	return rc;
}

static int write_fleet_files(const pki_ctx *ctx, const gen *g)
{
	/* PCK Cert ID Retrieval Tool CSV: lowercase hex, PCE ID and PCE SVN LE. */
	sbuf csv = {0}, rev = {0}, fleet = {0};
	char enc[769], cpusvn[33], qe[33];
	for (unsigned i = 0; i < g->n && !csv.oom; i++) {
		const platform *p = &g->plat[i];
		hex(p->enc_ppid, sizeof p->enc_ppid, enc, 0);
		hex(p->raw.comp, 16, cpusvn, 0);
		hex(p->qe_id, 16, qe, 0);
		sb_printf(&csv, "%s,0000,%s,%02x%02x,%s\n", enc, cpusvn, p->raw.pcesvn & 0xff, p->raw.pcesvn >> 8,
			  qe);
	}
	sb_str(&rev, "# PCK certificates revoked by the generated PCK CRLs (TEST PKI)\n"
		     "# ca qe_id pce_id tcbm serial(hex)\n");
	for (unsigned i = 0; i < g->n; i++) {
		const platform *p = &g->plat[i];
		if (!p->revoke_serial[0])
			continue;
		hex(p->qe_id, 16, qe, 1);
		sb_printf(&rev, "%s %s 0000 %s %s\n", FMSPCS[p->f].platform_ca ? "platform" : "processor", qe,
			  p->revoke_tcbm, p->revoke_serial);
	}
	sb_str(&fleet, "{\"pckid_csv\":[\"intel-pckid.csv\"],\"platform_list\":[],\"fmspcs\":[");
	for (unsigned f = 0; f < NFMSPC; f++)
		sb_printf(&fleet, "%s\"%s\"", f ? "," : "", FMSPCS[f].hex);
	sb_str(&fleet, "],\"all_fmspcs\":false,\"tcb\":[\"standard\",\"early\"]}\n");
	int rc = csv.oom || rev.oom || fleet.oom ? -1 : 0;
	if (!rc)
		rc = pki_write(ctx, "intel-pckid.csv", csv.p ? csv.p : "", csv.len) ||
				     pki_write(ctx, "intel-revoked.txt", rev.p, rev.len) ||
				     pki_write(ctx, "fleet-intel.json", fleet.p, fleet.len)
			     ? -1
			     : 0;
	free(csv.p);
	free(rev.p);
	free(fleet.p);
	return rc;
}

int pki_intel_generate(const pki_ctx *ctx, unsigned nplatforms)
{
	gen g = {.ctx = ctx, .n = nplatforms, .revoke_processor = 2, .revoke_platform = 3};
	int rc = -1;
	if (setup_cas(ctx) != 0)
		goto out;
	g.plat = calloc(nplatforms ? nplatforms : 1, sizeof *g.plat);
	if (!g.plat || pki_parallel(ctx, nplatforms, gen_platform, &g) != 0)
		goto out;
	if (write_collateral(ctx) != 0)
		goto out;

	/* CRLs after the platforms: they revoke the chosen platforms' certs. */
	const char *proc[1], *plat[1];
	size_t nproc = 0, nplat = 0;
	for (unsigned i = 0; i < nplatforms; i++) {
		if (!g.plat[i].revoke_serial[0])
			continue;
		if (FMSPCS[g.plat[i].f].platform_ca)
			plat[nplat++] = g.plat[i].revoke_serial;
		else
			proc[nproc++] = g.plat[i].revoke_serial;
	}
	pki_rng_reseed(ctx, "intel-crl", 0);
	if (write_crl(ctx, &pki.processor, "intel/sgx/pckcrl/processor.der", pki.chain_processor, proc, nproc, 3,
		      30 * DAY) ||
	    write_crl(ctx, &pki.platform, "intel/sgx/pckcrl/platform.der", pki.chain_platform, plat, nplat, 5,
		      30 * DAY) ||
	    write_crl(ctx, &pki.root, "intel/rootcacrl.der", NULL, NULL, 0, 1, YEAR))
		goto out;

	size_t rlen = 0;
	uint8_t *rder = pki_cert_der(pki.root.cert, &rlen);
	if (!rder || pki_write(ctx, "roots/intel-root.der", rder, rlen) != 0) {
		OPENSSL_free(rder);
		goto out;
	}
	OPENSSL_free(rder);
	rc = write_fleet_files(ctx, &g);
out:
	free(g.plat);
	free_cas();
	return rc;
}
