/*
 * basics.c — AMD facts that need no bundle: products and CPUID, the TCB
 * layouts per generation, chip ids and hwids, SNP report parsing and
 * signature checking, THIM's JSON answer and the SNP certificate table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "amd/amd_priv.h"
#include "util/util.h"

/* ---- products ------------------------------------------------------------- */

static const char *const product_names[] = {NULL, "Milan", "Genoa", "Turin"};

const char *colb_amd_product_name(colb_amd_product p)
{
	return p >= COLB_AMD_MILAN && p <= COLB_AMD_TURIN ? product_names[p] : NULL;
}

colb_amd_product colb_amd_product_from_name(const char *name)
{
	for (int p = COLB_AMD_MILAN; name && p <= COLB_AMD_TURIN; p++)
		if (!strcasecmp(name, product_names[p]))
			return (colb_amd_product)p;
	return COLB_AMD_UNKNOWN;
}

colb_amd_product colb_amd_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19 && model <= 0x0f)
		return COLB_AMD_MILAN;
	if (family == 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)))
		return COLB_AMD_GENOA;
	if (family == 0x1a && model <= 0x11)
		return COLB_AMD_TURIN;
	return COLB_AMD_UNKNOWN;
}

/* ---- TCB -------------------------------------------------------------------- */

static bool is_turin_layout(colb_amd_product p)
{
	return p == COLB_AMD_TURIN;
}

colb_err colb_amd_tcb_decode(colb_amd_product p, uint64_t tcbm, colb_amd_tcb *out)
{
	if (!out || p < COLB_AMD_MILAN || p > COLB_AMD_TURIN)
		return COLB_ERR_INVALID_ARG;
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(tcbm >> (8 * i));
	memset(out, 0, sizeof *out);
	if (is_turin_layout(p)) {
		if (b[4] || b[5] || b[6])
			return COLB_ERR_COLLATERAL;
		out->fmc = b[0], out->bl = b[1], out->tee = b[2], out->snp = b[3], out->ucode = b[7];
	} else {
		if (b[2] || b[3] || b[4] || b[5])
			return COLB_ERR_COLLATERAL;
		out->bl = b[0], out->tee = b[1], out->snp = b[6], out->ucode = b[7];
	}
	return COLB_OK;
}

uint64_t colb_amd_tcb_encode(colb_amd_product p, const colb_amd_tcb *t)
{
	if (!t || p < COLB_AMD_MILAN || p > COLB_AMD_TURIN)
		return 0;
	if (is_turin_layout(p))
		return (uint64_t)t->fmc | (uint64_t)t->bl << 8 | (uint64_t)t->tee << 16 |
		       (uint64_t)t->snp << 24 | (uint64_t)t->ucode << 56;
	return (uint64_t)t->bl | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48 | (uint64_t)t->ucode << 56;
}

void colb_amd_tcbm_hex(uint64_t tcbm, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)tcbm);
}

colb_err colb_amd_tcbm_parse(const char *hex, uint64_t *out)
{
	uint8_t b[8];
	if (!hex || !out || strlen(hex) != 16 || !colb_hex_decode(hex, 16, b, 8))
		return COLB_ERR_INVALID_ARG;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	*out = v;
	return COLB_OK;
}

/* ---- chip ids ---------------------------------------------------------------- */

size_t colb_amd_hwid_len(colb_amd_product p)
{
	if (p == COLB_AMD_MILAN || p == COLB_AMD_GENOA)
		return 64;
	return p == COLB_AMD_TURIN ? 8 : 0;
}

colb_err colb_amd_hwid_hex(colb_amd_product p, const uint8_t chip_id[64], char out[129])
{
	size_t n = colb_amd_hwid_len(p);
	if (!chip_id || !out || !n)
		return COLB_ERR_INVALID_ARG;
	bool any = false;
	for (size_t i = 0; i < 64; i++) {
		if (chip_id[i] && i >= n)
			return COLB_ERR_INVALID_ARG; /* Turin: only 8 significant bytes */
		any |= chip_id[i] != 0;
	}
	if (!any)
		return COLB_ERR_INVALID_ARG; /* masked: KDS has no VCEK for it */
	colb_hex_encode(chip_id, n, out, false);
	return COLB_OK;
}

colb_err colb_amd_chip_id_parse(colb_amd_product p, const char *hex, uint8_t chip_id[64])
{
	if (!hex || !chip_id)
		return COLB_ERR_INVALID_ARG;
	size_t len = strlen(hex);
	memset(chip_id, 0, 64);
	if (len == 128 && colb_hex_decode(hex, 128, chip_id, 64))
		return COLB_OK;
	if (len == 16 && p == COLB_AMD_TURIN && colb_hex_decode(hex, 16, chip_id, 8))
		return COLB_OK;
	return COLB_ERR_INVALID_ARG;
}

/* ---- SNP reports --------------------------------------------------------------- */

#define R_VERSION 0x000
#define R_SIG_ALGO 0x034
#define R_KEY_INFO 0x048
#define R_REPORT_DATA 0x050
#define R_MEASUREMENT 0x090
#define R_REPORTED_TCB 0x180
#define R_CPUID 0x188
#define R_CHIP_ID 0x1a0
#define R_SIGNED_END 0x2a0
#define R_SIG_R 0x2a0
#define R_SIG_S 0x2e8
#define R_SIG_FIELD 72

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

colb_err colb_amd_report_parse(const uint8_t *d, size_t len, colb_amd_report *out)
{
	if (!d || !out)
		return COLB_ERR_INVALID_ARG;
	memset(out, 0, sizeof *out);
	if (len != COLB_AMD_REPORT_SIZE)
		return COLB_ERR_COLLATERAL; /* a report is exactly 1184 bytes */
	out->version = (uint32_t)le(d + R_VERSION, 4);
	out->sig_algo = (uint32_t)le(d + R_SIG_ALGO, 4);
	if (out->version < 2 || out->version > 255 || out->sig_algo != 1)
		return COLB_ERR_COLLATERAL;
	uint32_t key_info = (uint32_t)le(d + R_KEY_INFO, 4);
	unsigned signing_key = (key_info >> 2) & 7;
	if (signing_key != COLB_AMD_SIGNER_VCEK && signing_key != COLB_AMD_SIGNER_VLEK &&
	    signing_key != COLB_AMD_SIGNER_NONE)
		return COLB_ERR_COLLATERAL;
	out->signer = (colb_amd_signer)signing_key;
	out->reported_tcb = le(d + R_REPORTED_TCB, 8);
	memcpy(out->chip_id, d + R_CHIP_ID, 64);
	memcpy(out->report_data, d + R_REPORT_DATA, 64);
	memcpy(out->measurement, d + R_MEASUREMENT, 48);
	bool any = false;
	for (int i = 0; i < 64; i++)
		any |= out->chip_id[i] != 0;
	out->chip_id_masked = !any;
	if (out->version >= 3) {
		out->cpuid_family = d[R_CPUID];
		out->cpuid_model = d[R_CPUID + 1];
		out->cpuid_stepping = d[R_CPUID + 2];
		out->product = colb_amd_product_from_cpuid(out->cpuid_family, out->cpuid_model);
	}
	return COLB_OK;
}

colb_err colb_amd_report_verify(const uint8_t *report, size_t len, const uint8_t *cert_der, size_t cert_len)
{
	colb_amd_report r;
	if (!report || !cert_der || cert_len > AMD_MAX_CERT)
		return COLB_ERR_INVALID_ARG;
	colb_err rc = colb_amd_report_parse(report, len, &r);
	if (rc)
		return rc;
	const uint8_t *p = cert_der;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	if (!x || p != cert_der + cert_len) {
		X509_free(x);
		return COLB_ERR_COLLATERAL;
	}
	EVP_PKEY *key = X509_get0_pubkey(x);
	uint8_t be[R_SIG_FIELD];
	BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	uint8_t *der = NULL;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	rc = COLB_ERR_COLLATERAL_SIG;
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 384) {
		rc = COLB_ERR_COLLATERAL;
		goto done;
	}
	/* r and s are little-endian; BN wants big-endian. */
	for (int i = 0; i < R_SIG_FIELD; i++)
		be[i] = report[R_SIG_R + R_SIG_FIELD - 1 - i];
	br = BN_bin2bn(be, R_SIG_FIELD, NULL);
	for (int i = 0; i < R_SIG_FIELD; i++)
		be[i] = report[R_SIG_S + R_SIG_FIELD - 1 - i];
	bs = BN_bin2bn(be, R_SIG_FIELD, NULL);
	if (!sig || !br || !bs || !m || !ECDSA_SIG_set0(sig, br, bs)) {
		rc = COLB_ERR_NOMEM;
		goto done;
	}
	br = bs = NULL; /* owned by sig now */
	int dlen = i2d_ECDSA_SIG(sig, &der);
	if (dlen > 0 && EVP_DigestVerifyInit(m, NULL, EVP_sha384(), NULL, key) == 1 &&
	    EVP_DigestVerify(m, der, (size_t)dlen, report, R_SIGNED_END) == 1)
		rc = COLB_OK;
done:
	EVP_MD_CTX_free(m);
	OPENSSL_free(der);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	X509_free(x);
	return rc;
}

/* ---- THIM ------------------------------------------------------------------------ */

/* Appends s as a JSON string (quotes, \n, \", \\ and control characters escaped). */
static colb_err json_str(colb_buf *b, const char *s, size_t n)
{
	colb_err rc = colb_buf_append(b, "\"", 1);
	for (size_t i = 0; rc == COLB_OK && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			rc = colb_buf_append(b, e, 2);
		} else if (c == '\n') {
			rc = colb_buf_append(b, "\\n", 2);
		} else if (c < 0x20) {
			rc = colb_buf_printf(b, "\\u%04x", c);
		} else {
			rc = colb_buf_append(b, &c, 1);
		}
	}
	return rc ? rc : colb_buf_append(b, "\"", 1);
}

colb_err colb_amd_thim_json(const colb_amd_cert *c, unsigned cache_seconds, char **json, size_t *len)
{
	if (!c || !json || !c->pem || !c->chain_pem)
		return COLB_ERR_INVALID_ARG;
	colb_buf b;
	colb_buf_init(&b, 1u << 20);
	char tcbm[17];
	snprintf(tcbm, sizeof tcbm, "%016llX", (unsigned long long)c->tcbm);
	colb_err rc = colb_buf_append_str(&b, "{\"vcekCert\":");
	if (!rc)
		rc = json_str(&b, c->pem, c->pem_len);
	if (!rc)
		rc = colb_buf_printf(&b, ",\"tcbm\":\"%s\",\"certificateChain\":", tcbm);
	if (!rc)
		rc = json_str(&b, c->chain_pem, c->chain_pem_len);
	if (!rc)
		rc = colb_buf_printf(&b, ",\"cacheControl\":\"%u\"}", cache_seconds);
	if (rc) {
		colb_buf_free(&b);
		return rc;
	}
	size_t n;
	*json = (char *)colb_buf_steal(&b, &n);
	if (len)
		*len = n;
	return COLB_OK;
}

/* ---- the SNP certificate table ---------------------------------------------------- */

#define CT_ENTRY 24

/* RFC 4122 byte order of the GUIDs (the first three fields big-endian). */
static const uint8_t guid_vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
				      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t guid_vlek[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
				      0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
static const uint8_t guid_ask[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
				     0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
static const uint8_t guid_ark[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
				     0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

colb_err colb_amd_certtable(const colb_amd_cert *c, uint8_t **blob, size_t *len)
{
	if (!c || !blob || !len || !c->der || !c->ask_der || !c->ark_der)
		return COLB_ERR_INVALID_ARG;
	const uint8_t *guids[3] = {c->is_vlek ? guid_vlek : guid_vcek, guid_ask, guid_ark};
	const uint8_t *ders[3] = {c->der, c->ask_der, c->ark_der};
	size_t lens[3] = {c->der_len, c->ask_der_len, c->ark_der_len};
	size_t off = 4 * CT_ENTRY, total = off + lens[0] + lens[1] + lens[2];
	if (total > UINT32_MAX)
		return COLB_ERR_LIMIT;
	uint8_t *out = calloc(1, total);
	if (!out)
		return COLB_ERR_NOMEM;
	for (int i = 0; i < 3; i++) {
		uint8_t *e = out + i * CT_ENTRY;
		memcpy(e, guids[i], 16);
		put32(e + 16, (uint32_t)off);
		put32(e + 20, (uint32_t)lens[i]);
		memcpy(out + off, ders[i], lens[i]);
		off += lens[i];
	}
	*blob = out;
	*len = total;
	return COLB_OK;
}

static colb_amd_cert_role role_of(const uint8_t guid[16])
{
	if (!memcmp(guid, guid_vcek, 16))
		return COLB_AMD_ROLE_VCEK;
	if (!memcmp(guid, guid_vlek, 16))
		return COLB_AMD_ROLE_VLEK;
	if (!memcmp(guid, guid_ask, 16))
		return COLB_AMD_ROLE_ASK;
	if (!memcmp(guid, guid_ark, 16))
		return COLB_AMD_ROLE_ARK;
	return COLB_AMD_ROLE_UNKNOWN;
}

colb_err colb_amd_certtable_parse(const uint8_t *blob, size_t len, colb_amd_certtable_entry *entries,
				  size_t max, size_t *n)
{
	static const uint8_t zero[CT_ENTRY];
	if (!blob || !n || (max && !entries))
		return COLB_ERR_INVALID_ARG;
	*n = 0;
	/* Find the terminator first: the table's end bounds every offset. */
	size_t count = 0;
	for (;; count++) {
		if ((count + 1) * CT_ENTRY > len)
			return COLB_ERR_COLLATERAL; /* no terminating all-zero entry */
		if (!memcmp(blob + count * CT_ENTRY, zero, CT_ENTRY))
			break;
	}
	if (count > max)
		return COLB_ERR_LIMIT;
	size_t table_end = (count + 1) * CT_ENTRY;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *e = blob + i * CT_ENTRY;
		uint64_t off = le(e + 16, 4), l = le(e + 20, 4);
		if (l == 0 || off < table_end || off > len || l > len - off)
			return COLB_ERR_COLLATERAL;
		for (size_t j = 0; j < i; j++)
			if (!memcmp(entries[j].guid, e, 16))
				return COLB_ERR_COLLATERAL; /* the same GUID twice */
		memcpy(entries[i].guid, e, 16);
		entries[i].role = role_of(e);
		entries[i].der = blob + off;
		entries[i].len = (size_t)l;
	}
	*n = count;
	return COLB_OK;
}

/* ---- trustee's offline store ---------------------------------------------------- */

void amd_trustee_name(colb_amd_product p, const colb_amd_tcb *t, char out[64])
{
	if (p == COLB_AMD_TURIN)
		snprintf(out, 64, "bl%02u_tee%02u_snp%02u_ucode%02u_fmc%02u_vcek.der", t->bl, t->tee, t->snp,
			 t->ucode, t->fmc);
	else
		snprintf(out, 64, "bl%02u_tee%02u_snp%02u_ucode%02u_vcek.der", t->bl, t->tee, t->snp, t->ucode);
}
