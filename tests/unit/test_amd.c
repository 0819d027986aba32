/*
 * test_amd.c — the AMD layer: real AMD data (at a pinned time), a synthetic
 * fleet from colb-pkigen, every refusal, and the output formats.
 */
#include "test_bundle_support.h"

#include <jansson.h>
#include <sys/stat.h>

#include "amd/amd_priv.h"
#include "util/util.h"

/* Real data is checked on 2025-06-01, when the real Milan and Genoa CRLs were
 * current; the synthetic fleet a day after the generator's --now. */
#define REAL_AT ((time_t)1748736000)
#define GEN_NOW "2025-12-01T00:00:00Z"
#define GEN_AT ((time_t)1764547200 + 86400)
#define DAY 86400

static char gen[512]; /* the synthetic fleet */

/* ---- helpers ------------------------------------------------------------------ */

static const char *real(const char *rel)
{
	return t_path(t_real_dir(), rel);
}

static char *read_text(const char *path, size_t *len)
{
	return (char *)t_read(path, len);
}

static void sh_ok(const char *cmd)
{
	if (t_sh("%s", cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* A fresh directory under the scratch directory. */
static const char *fresh_dir(const char *name)
{
	static char path[4][600];
	static int next;
	char *p = path[next++ & 3];
	snprintf(p, 600, "%s/%s", t_scratch(), name);
	t_sh("rm -rf '%s' && mkdir -p '%s'", p, p);
	return p;
}

/* Copies a file to dir/rel, creating directories. */
static void put(const char *dir, const char *rel, const char *src)
{
	t_sh("mkdir -p \"$(dirname '%s/%s')\" && cp '%s' '%s/%s'", dir, rel, src, dir, rel);
}

/* The real Milan layout: chain, CRL and the real VCEK filed under its hwid and TCB. */
static const char *real_milan_hwid =
	"3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d";
#define REAL_MILAN_TCB "4405000000000002"

static const char *real_milan_layout(void)
{
	const char *d = fresh_dir("real-milan");
	char rel[400];
	put(d, "Milan/cert_chain.pem", real("amd/milan/cert_chain.pem"));
	t_sh("openssl crl -in '%s' -outform der -out '%s/Milan/crl.der'", real("amd/milan/crl.pem"), d);
	snprintf(rel, sizeof rel, "Milan/vcek/%s/" REAL_MILAN_TCB ".der", real_milan_hwid);
	put(d, rel, real("amd/vcek/milan-b0-vcek.der"));
	return d;
}

typedef struct opened {
	colb_trust *trust;
	colb_bundle *b;
} opened;

/* Adds the generator's test ARKs to a trust. */
static void trust_test_arks(colb_trust *t)
{
	static const char *const products[] = {"Milan", "Genoa", "Turin"};
	for (int i = 0; i < 3; i++) {
		char path[700];
		size_t len;
		snprintf(path, sizeof path, "%s/roots/amd-%s-ark.der", gen, products[i]);
		uint8_t *der = t_read(path, &len);
		assert_int_equal(colb_trust_add_amd_ark(t, der, len), COLB_OK);
		free(der);
	}
}

/* Validates dir with colb_amd_input (at `at`, test ARKs trusted when
 * test_arks) and returns the error; on success the bundle is at *path. */
static colb_err create_from(const char *dir, time_t at, bool test_arks, const char *name, char *path, size_t plen,
			    char *why, size_t wlen)
{
	colb_trust *t = colb_trust_new();
	if (test_arks)
		trust_test_arks(t);
	colb_amd_input *in = colb_amd_input_new(t, at);
	colb_err rc = colb_amd_input_add_dir(in, dir);
	colb_writer *w = colb_writer_new();
	if (!rc)
		rc = colb_amd_input_write(in, w);
	snprintf(why, wlen, "%s", colb_amd_input_error(in));
	if (!rc) {
		colb_writer_set_version(w, 1);
		colb_writer_set_created(w, at - 3600);
		colb_writer_set_expires(w, at + 400 * DAY);
		colb_seckey *k = tb_seckey("amdtest");
		snprintf(path, plen, "%s/%s.colb", t_scratch(), name);
		rc = colb_writer_finish(w, k, path);
		if (rc)
			snprintf(why, wlen, "%s", colb_writer_error(w));
		colb_seckey_free(k);
	}
	colb_writer_free(w);
	colb_amd_input_free(in);
	colb_trust_free(t);
	return rc;
}

static opened open_at(const char *path, time_t at, bool test_arks, colb_freshness f)
{
	opened o;
	const char *keys[] = {"amdtest"};
	o.trust = tb_trust(keys, 1, 1);
	if (test_arks)
		trust_test_arks(o.trust);
	colb_opts *opts = colb_opts_new();
	colb_opts_set_trust(opts, o.trust);
	colb_opts_set_time(opts, at);
	colb_opts_set_freshness(opts, f);
	o.b = colb_bundle_new(opts);
	colb_opts_free(opts);
	colb_err rc = colb_bundle_open_file(o.b, path);
	if (rc)
		fail_msg("open %s: %s", path, colb_bundle_error(o.b));
	return o;
}

static void close_opened(opened *o)
{
	colb_bundle_free(o->b);
	colb_trust_free(o->trust);
}

static void expect_create(const char *dir, time_t at, bool test_arks, colb_err want, const char *why_part)
{
	char path[600], why[1024];
	colb_err rc = create_from(dir, at, test_arks, "x", path, sizeof path, why, sizeof why);
	if (rc != want)
		fail_msg("create from %s: expected %s, got %s (%s)", dir, colb_strerror(want), colb_strerror(rc), why);
	if (why_part && !strstr(why, why_part))
		fail_msg("the reason '%s' does not mention '%s'", why, why_part);
}

/* The first file under a directory matching a shell glob. */
static const char *first(const char *glob)
{
	static char out[4][800];
	static int next;
	char *p = out[next++ & 3];
	char cmd[900];
	snprintf(cmd, sizeof cmd, "ls -d %s 2>/dev/null | head -1", glob);
	FILE *f = popen(cmd, "r");
	if (!f || !fgets(p, 800, f))
		fail_msg("nothing matches %s", glob);
	pclose(f);
	p[strcspn(p, "\n")] = 0;
	return p;
}

/* ---- facts without a bundle ------------------------------------------------------ */

static void test_product_from_cpuid_follows_kds_families(void **s)
{
	(void)s;
	assert_int_equal(colb_amd_product_from_cpuid(0x19, 0x01), COLB_AMD_MILAN);
	assert_int_equal(colb_amd_product_from_cpuid(0x19, 0x11), COLB_AMD_GENOA);
	assert_int_equal(colb_amd_product_from_cpuid(0x19, 0xa0), COLB_AMD_GENOA); /* Bergamo/Siena */
	assert_int_equal(colb_amd_product_from_cpuid(0x1a, 0x02), COLB_AMD_TURIN);
	assert_int_equal(colb_amd_product_from_cpuid(0x1a, 0x12), COLB_AMD_UNKNOWN);
	assert_int_equal(colb_amd_product_from_cpuid(0x17, 0x01), COLB_AMD_UNKNOWN);
	assert_int_equal(colb_amd_product_from_name("genoa"), COLB_AMD_GENOA);
	assert_null(colb_amd_product_name(COLB_AMD_UNKNOWN));
}

static void test_tcb_layouts_differ_per_generation(void **s)
{
	(void)s;
	colb_amd_tcb t;
	uint64_t v;
	/* THIM's example: ucode 0x73, SNP 8, BL 3 */
	assert_int_equal(colb_amd_tcbm_parse("7308000000000003", &v), COLB_OK);
	assert_int_equal(colb_amd_tcb_decode(COLB_AMD_MILAN, v, &t), COLB_OK);
	assert_int_equal(t.bl, 3);
	assert_int_equal(t.snp, 8);
	assert_int_equal(t.ucode, 0x73);
	assert_int_equal(colb_amd_tcb_encode(COLB_AMD_MILAN, &t), v);
	/* Turin: FMC, BL, TEE, SNP in bytes 0-3 */
	colb_amd_tcb tt = {.fmc = 1, .bl = 2, .tee = 3, .snp = 4, .ucode = 0x4a};
	v = colb_amd_tcb_encode(COLB_AMD_TURIN, &tt);
	assert_int_equal(v, 0x4a00000004030201ull);
	assert_int_equal(colb_amd_tcb_decode(COLB_AMD_TURIN, v, &t), COLB_OK);
	assert_memory_equal(&t, &tt, sizeof t);
	/* a reserved byte set: byte 3 is reserved on Milan, SNP on Turin */
	assert_int_equal(colb_amd_tcb_decode(COLB_AMD_MILAN, 0x0000000004000000ull, &t), COLB_ERR_COLLATERAL);
	assert_int_equal(colb_amd_tcb_decode(COLB_AMD_TURIN, 0x0006000000000000ull, &t), COLB_ERR_COLLATERAL);
	char hex[17];
	colb_amd_tcbm_hex(0x7308000000000003ull, hex);
	assert_string_equal(hex, "7308000000000003");
	assert_int_equal(colb_amd_tcbm_parse("73080000000000", &v), COLB_ERR_INVALID_ARG);
}

static void test_turin_chip_id_has_8_significant_bytes(void **s)
{
	(void)s;
	uint8_t chip[64];
	char hex[129];
	assert_int_equal(colb_amd_chip_id_parse(COLB_AMD_TURIN, "1e550a8ee5cf9f4d", chip), COLB_OK);
	assert_int_equal(colb_amd_hwid_hex(COLB_AMD_TURIN, chip, hex), COLB_OK);
	assert_string_equal(hex, "1e550a8ee5cf9f4d");
	assert_int_equal(colb_amd_hwid_len(COLB_AMD_TURIN), 8);
	assert_int_equal(colb_amd_chip_id_parse(COLB_AMD_MILAN, "1e550a8ee5cf9f4d", chip), COLB_ERR_INVALID_ARG);
	chip[20] = 1; /* a Turin chip id with bytes past 8 is not a Turin hwid */
	assert_int_equal(colb_amd_hwid_hex(COLB_AMD_TURIN, chip, hex), COLB_ERR_INVALID_ARG);
	memset(chip, 0, 64); /* masked */
	assert_int_equal(colb_amd_hwid_hex(COLB_AMD_MILAN, chip, hex), COLB_ERR_INVALID_ARG);
}

static void test_report_parser_reads_v3_fields_and_refuses_bad_sizes(void **s)
{
	(void)s;
	size_t len;
	uint8_t *rep = t_read(t_path(gen, "reports/turin-2.bin"), &len);
	colb_amd_report r;
	assert_int_equal(colb_amd_report_parse(rep, len, &r), COLB_OK);
	assert_int_equal(r.version, 3);
	assert_int_equal(r.product, COLB_AMD_TURIN);
	assert_int_equal(r.signer, COLB_AMD_SIGNER_VCEK);
	assert_int_equal(colb_amd_report_parse(rep, len - 1, &r), COLB_ERR_COLLATERAL);
	rep[0x34] = 2; /* signature algorithm */
	assert_int_equal(colb_amd_report_parse(rep, len, &r), COLB_ERR_COLLATERAL);
	free(rep);
	rep = t_read(real("amd/vcek/milan-b0-report.bin"), &len);
	assert_int_equal(colb_amd_report_parse(rep, len, &r), COLB_OK);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.product, COLB_AMD_UNKNOWN); /* v2 has no CPUID bytes */
	assert_int_equal(r.reported_tcb, 0x4405000000000002ull);
	free(rep);
}

/* A certificate carrying the given AMD extensions (OID suffix, DER value). */
static X509 *cert_with_exts(const char *const *oids, const uint8_t *const *vals, const size_t *lens, size_t n)
{
	X509 *x = X509_new();
	assert_non_null(x);
	for (size_t i = 0; i < n; i++) {
		char oid[64];
		snprintf(oid, sizeof oid, "1.3.6.1.4.1.3704.1.%s", oids[i]);
		ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		assert_true(ASN1_OCTET_STRING_set(os, vals[i], (int)lens[i]));
		X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	return x;
}

static void test_extension_decoder_accepts_wrapped_hwid_and_refuses_bad_der(void **s)
{
	(void)s;
	uint8_t wrapped[66] = {0x04, 0x40}, raw8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	for (int i = 0; i < 64; i++)
		wrapped[2 + i] = (uint8_t)(i + 1);
	static const uint8_t sv0[] = {0x02, 0x01, 0x00}, ucode_d5[] = {0x02, 0x02, 0x00, 0xd5},
			     nonminimal[] = {0x02, 0x02, 0x00, 0x05}, negative[] = {0x02, 0x01, 0x85},
			     name[] = {0x16, 0x05, 'G', 'e', 'n', 'o', 'a'};
	amd_ext e;
	char why[256];
	/* a DER-wrapped 64-byte hwid and an SPL >= 0x80 (02 02 00 XX) */
	const char *o1[] = {"1", "2", "3.8", "4"};
	const uint8_t *v1[] = {sv0, name, ucode_d5, wrapped};
	size_t l1[] = {sizeof sv0, sizeof name, sizeof ucode_d5, sizeof wrapped};
	X509 *x = cert_with_exts(o1, v1, l1, 4);
	assert_true(amd_ext_decode(x, &e, why, sizeof why));
	assert_int_equal(e.hwid_len, 64);
	assert_int_equal(e.hwid[0], 1);
	assert_int_equal(e.hwid[63], 64);
	assert_int_equal(e.spl[8], 0xd5);
	assert_string_equal(e.product_name, "Genoa");
	X509_free(x);
	/* a raw 8-byte (Turin) hwid */
	const char *o2[] = {"4"};
	const uint8_t *v2[] = {raw8};
	size_t l2[] = {8};
	x = cert_with_exts(o2, v2, l2, 1);
	assert_true(amd_ext_decode(x, &e, why, sizeof why));
	assert_int_equal(e.hwid_len, 8);
	X509_free(x);
	/* refused: a non-minimal INTEGER, a negative one, a duplicate, a 7-byte hwid */
	const char *bad_oid[][2] = {{"3.3", "1"}, {"3.3", "1"}, {"3.1", "3.1"}, {"4", "1"}};
	const uint8_t *bad_val[][2] = {{nonminimal, sv0}, {negative, sv0}, {sv0, sv0}, {raw8, sv0}};
	size_t bad_len[][2] = {{sizeof nonminimal, sizeof sv0}, {sizeof negative, sizeof sv0},
			       {sizeof sv0, sizeof sv0}, {7, sizeof sv0}};
	for (int k = 0; k < 4; k++) {
		x = cert_with_exts(bad_oid[k], bad_val[k], bad_len[k], 2);
		if (amd_ext_decode(x, &e, why, sizeof why))
			fail_msg("case %d: expected a refusal of malformed AMD extensions", k);
		X509_free(x);
	}
}

/* ---- real data ------------------------------------------------------------------------ */

static void test_real_chains_validate_at_pinned_time(void **s)
{
	(void)s;
	static const char *const files[3][2] = {
		{"amd/milan/cert_chain.pem", "amd/milan/vlek_cert_chain.pem"},
		{"amd/genoa/cert_chain.pem", "amd/genoa/vlek_cert_chain.pem"},
		{"amd/turin/cert_chain.pem", "amd/turin/vlek_cert_chain.pem"},
	};
	for (int p = 0; p < 3; p++) {
		for (int v = 0; v < 2; v++) {
			size_t len;
			char *pem = read_text(real(files[p][v]), &len), why[512] = "";
			amd_chain c;
			colb_err rc = amd_chain_verify(pem, len, (colb_amd_product)(p + 1), v, NULL, REAL_AT, &c, why,
						       sizeof why);
			if (rc)
				fail_msg("%s: expected a valid chain, got %s: %s", files[p][v], colb_strerror(rc), why);
			amd_chain_clear(&c);
			/* and it is refused as another product's chain */
			rc = amd_chain_verify(pem, len, (colb_amd_product)((p + 1) % 3 + 1), v, NULL, REAL_AT, &c, why,
					      sizeof why);
			assert_int_equal(rc, COLB_ERR_UNTRUSTED_ROOT);
			free(pem);
		}
	}
}

static void test_real_crls_verify_and_genoa_revokes_an_ask(void **s)
{
	(void)s;
	static const char *const names[2] = {"milan", "genoa"};
	for (int i = 0; i < 2; i++) {
		char cmd[1200], path[600], why[512] = "";
		snprintf(path, sizeof path, "%s/%s-crl.der", t_scratch(), names[i]);
		snprintf(cmd, sizeof cmd, "openssl crl -in '%s/amd/%s/crl.pem' -outform der -out '%s'", t_real_dir(),
			 names[i], path);
		sh_ok(cmd);
		size_t clen, plen;
		uint8_t *der = t_read(path, &clen);
		snprintf(path, sizeof path, "amd/%s/cert_chain.pem", names[i]);
		char *pem = read_text(real(path), &plen);
		amd_chain c;
		amd_crl crl;
		assert_int_equal(amd_chain_verify(pem, plen, (colb_amd_product)(i + 1), false, NULL, REAL_AT, &c, why,
						  sizeof why),
				 COLB_OK);
		colb_err rc = amd_crl_verify(der, clen, &c, REAL_AT, &crl, why, sizeof why);
		if (rc)
			fail_msg("%s CRL: expected valid, got %s: %s", names[i], colb_strerror(rc), why);
		assert_false(crl.stale);
		/* the current ASK is not revoked... */
		assert_int_equal(amd_crl_check_chain(&crl, &c, why, sizeof why), COLB_OK);
		if (i == 1) {
			/* ...but the real Genoa CRL does revoke ASK serial 020001 */
			ASN1_INTEGER *serial = ASN1_INTEGER_new();
			ASN1_INTEGER_set(serial, 0x20001);
			X509_REVOKED *r = NULL;
			assert_int_equal(X509_CRL_get0_by_serial(crl.crl, &r, serial), 1);
			ASN1_INTEGER_free(serial);
		}
		/* a flipped signature byte breaks it */
		der[clen - 10] ^= 1;
		amd_crl_clear(&crl);
		assert_int_equal(amd_crl_verify(der, clen, &c, REAL_AT, &crl, why, sizeof why), COLB_ERR_COLLATERAL_SIG);
		amd_chain_clear(&c);
		free(der);
		free(pem);
	}
}

static void test_real_milan_report_verifies_against_vcek_found_by_chip_id_and_tcb(void **s)
{
	(void)s;
	char path[600], why[1024];
	colb_err rc = create_from(real_milan_layout(), REAL_AT, false, "real-milan", path, sizeof path, why, sizeof why);
	if (rc)
		fail_msg("create from the real Milan layout: %s: %s", colb_strerror(rc), why);
	opened o = open_at(path, REAL_AT, false, COLB_FRESHNESS_ENFORCE);
	size_t len;
	uint8_t *rep = t_read(real("amd/vcek/milan-b0-report.bin"), &len);
	colb_amd_cert c;
	rc = colb_amd_for_report(o.b, rep, len, COLB_AMD_MILAN, &c);
	if (rc)
		fail_msg("expected the report's VCEK, got %s: %s", colb_strerror(rc), colb_bundle_error(o.b));
	assert_string_equal(c.hwid, real_milan_hwid);
	assert_int_equal(c.tcbm, 0x4405000000000002ull);
	assert_string_equal(c.product_name, "Milan-B0");
	assert_int_equal(c.struct_version, 0);
	assert_false(c.stale);
	/* the same VCEK by chip id and TCB */
	colb_amd_report r;
	assert_int_equal(colb_amd_report_parse(rep, len, &r), COLB_OK);
	colb_amd_cert c2;
	assert_int_equal(colb_amd_vcek(o.b, COLB_AMD_MILAN, r.chip_id, r.reported_tcb, &c2), COLB_OK);
	assert_ptr_equal(c2.der, c.der);
	/* exact TCB match only */
	assert_int_equal(colb_amd_vcek(o.b, COLB_AMD_MILAN, r.chip_id, r.reported_tcb + 1, &c2), COLB_ERR_NOT_FOUND);
	/* a tampered report is refused */
	rep[0x50] ^= 1;
	assert_int_equal(colb_amd_for_report(o.b, rep, len, COLB_AMD_MILAN, &c2), COLB_ERR_COLLATERAL_SIG);
	assert_int_equal(colb_amd_verify_all(o.b), COLB_OK);
	free(rep);
	close_opened(&o);
}

static void test_real_turin_vcek_filed_under_8_byte_hwid_with_fmcspl(void **s)
{
	(void)s;
	size_t len;
	uint8_t *der = t_read(real("amd/vcek/turin-vcek.der"), &len);
	amd_ext e;
	char why[512];
	assert_true(amd_ext_decode_der(der, len, &e, why, sizeof why));
	assert_int_equal(e.hwid_len, 8);
	assert_int_equal(e.struct_version, 1);
	assert_true(e.has_spl[9]);
	assert_false(e.has_spl[4]);
	free(der);

	const char *d = fresh_dir("real-turin");
	put(d, "Turin/cert_chain.pem", real("amd/turin/cert_chain.pem"));
	/* fmc 0, bl 0, tee 0, snp 0, ucode 9 -> 0900000000000000 */
	put(d, "Turin/vcek/1e550a8ee5cf9f4d/0900000000000000.der", real("amd/vcek/turin-vcek.der"));
	char path[600], why2[1024];
	colb_err rc = create_from(d, REAL_AT, false, "real-turin", path, sizeof path, why2, sizeof why2);
	if (rc)
		fail_msg("create from the real Turin layout: %s: %s", colb_strerror(rc), why2);
	opened o = open_at(path, REAL_AT, false, COLB_FRESHNESS_WARN);
	uint8_t chip[64];
	assert_int_equal(colb_amd_chip_id_parse(COLB_AMD_TURIN, "1e550a8ee5cf9f4d", chip), COLB_OK);
	colb_amd_cert c;
	assert_int_equal(colb_amd_vcek(o.b, COLB_AMD_TURIN, chip, 0x0900000000000000ull, &c), COLB_OK);
	assert_string_equal(c.hwid, "1e550a8ee5cf9f4d");
	assert_true(c.stale); /* no Turin CRL in the bundle: served, flagged */
	close_opened(&o);
	/* without a CRL, ENFORCE refuses */
	o = open_at(path, REAL_AT, false, COLB_FRESHNESS_ENFORCE);
	assert_int_equal(colb_amd_vcek(o.b, COLB_AMD_TURIN, chip, 0x0900000000000000ull, &c), COLB_ERR_STALE);
	close_opened(&o);
	/* filed under the full 64-byte form, it is refused */
	d = fresh_dir("real-turin-64");
	put(d, "Turin/vcek/1e550a8ee5cf9f4d000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000/0900000000000000.der",
	    real("amd/vcek/turin-vcek.der"));
	expect_create(d, REAL_AT, false, COLB_ERR_BAD_PATH, "hwid");
}

static void test_builtin_chain_stands_in_when_the_layout_has_none(void **s)
{
	(void)s;
	const char *d = fresh_dir("real-milan-nochain");
	char rel[400], path[600], why[1024];
	snprintf(rel, sizeof rel, "Milan/vcek/%s/" REAL_MILAN_TCB ".der", real_milan_hwid);
	put(d, rel, real("amd/vcek/milan-b0-vcek.der"));
	colb_err rc = create_from(d, REAL_AT, false, "real-milan-nochain", path, sizeof path, why, sizeof why);
	if (rc)
		fail_msg("expected the built-in chain to be used, got %s: %s", colb_strerror(rc), why);
	opened o = open_at(path, REAL_AT, false, COLB_FRESHNESS_WARN);
	colb_amd_chain ch;
	assert_int_equal(colb_amd_chain_get(o.b, COLB_AMD_MILAN, 0, &ch), COLB_OK);
	size_t len;
	char *want = read_text(real("amd/milan/cert_chain.pem"), &len);
	assert_int_equal(ch.pem_len, len);
	assert_memory_equal(ch.pem, want, len);
	free(want);
	close_opened(&o);
}

/* ---- refusals ------------------------------------------------------------------------- */

static void test_create_refuses_wrong_product_chain(void **s)
{
	(void)s;
	const char *d = real_milan_layout();
	put(d, "Milan/cert_chain.pem", real("amd/genoa/cert_chain.pem"));
	expect_create(d, REAL_AT, false, COLB_ERR_UNTRUSTED_ROOT, "ARK-Milan");
}

static void test_create_refuses_forged_self_signed_ark(void **s)
{
	(void)s;
	/* The generator's ARKs are self-signed, well-formed, named ARK-<P>:
	 * without explicit trust they are forgeries. */
	expect_create(t_path(gen, "amd"), GEN_AT, false, COLB_ERR_UNTRUSTED_ROOT, "pinned");
}

static void test_test_ark_counts_only_for_the_product_it_names(void **s)
{
	(void)s;
	const char *d = fresh_dir("swapped");
	char cmd[1500];
	snprintf(cmd, sizeof cmd, "cp -r '%s/amd/Milan' '%s/Milan' && cp '%s/amd/Genoa/cert_chain.pem' '%s/Milan/cert_chain.pem'",
		 gen, d, gen, d);
	sh_ok(cmd);
	expect_create(d, GEN_AT, true, COLB_ERR_UNTRUSTED_ROOT, "ARK-Milan");
}

static void test_create_refuses_chain_through_revoked_ask(void **s)
{
	(void)s;
	expect_create(t_path(gen, "amd-revoked"), GEN_AT, true, COLB_ERR_REVOKED, "020001");
}

static void test_create_refuses_misfiled_hwid_and_tcb(void **s)
{
	(void)s;
	const char *v = first(t_path(gen, "amd/Milan/vcek/*/7308000000000003.der"));
	const char *d = fresh_dir("misfiled-hwid");
	char rel[300];
	snprintf(rel, sizeof rel, "Milan/vcek/%0128d/7308000000000003.der", 7);
	put(d, rel, v);
	put(d, "Milan/cert_chain.pem", t_path(gen, "amd/Milan/cert_chain.pem"));
	expect_create(d, GEN_AT, true, COLB_ERR_MISFILED, "hwid");

	d = fresh_dir("misfiled-tcb");
	const char *slash = strrchr(v, '/');
	char hwid[140];
	snprintf(hwid, sizeof hwid, "%.*s", 128, slash - 128);
	snprintf(rel, sizeof rel, "Milan/vcek/%s/d516000000000004.der", hwid);
	put(d, rel, v);
	put(d, "Milan/cert_chain.pem", t_path(gen, "amd/Milan/cert_chain.pem"));
	expect_create(d, GEN_AT, true, COLB_ERR_MISFILED, "TCB");
}

static void test_create_refuses_vcek_with_bad_signature(void **s)
{
	(void)s;
	const char *v = first(t_path(gen, "amd/Genoa/vcek/*/*.der"));
	const char *d = fresh_dir("badsig");
	const char *rel = strstr(v, "/amd/") + 5;
	put(d, rel, v);
	put(d, "Genoa/cert_chain.pem", t_path(gen, "amd/Genoa/cert_chain.pem"));
	char path[700];
	snprintf(path, sizeof path, "%s/%s", d, rel);
	size_t len;
	uint8_t *der = t_read(path, &len);
	der[len - 5] ^= 0x40; /* inside the signature */
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(der, 1, len, f), len);
	fclose(f);
	free(der);
	expect_create(d, GEN_AT, true, COLB_ERR_COLLATERAL_SIG, "signature");
}

static void test_create_refuses_unknown_files_in_the_layout(void **s)
{
	(void)s;
	const char *d = real_milan_layout();
	put(d, "Milan/notes.txt", real("amd/milan/crl.pem"));
	expect_create(d, REAL_AT, false, COLB_ERR_BAD_PATH, "notes.txt");
}

/* A bundle written around the input layer, so the reader meets a VCEK
 * filed under another chip's hwid. */
static void test_reader_refuses_misfiled_vcek(void **s)
{
	(void)s;
	const char *v = first(t_path(gen, "amd/Turin/vcek/*/4200000001000101.der"));
	size_t len, clen;
	uint8_t *der = t_read(v, &len);
	uint8_t *chain = t_read(t_path(gen, "amd/Turin/cert_chain.pem"), &clen);
	colb_writer *w = colb_writer_new();
	colb_writer_set_version(w, 1);
	colb_writer_set_created(w, GEN_AT - 3600);
	colb_writer_set_expires(w, GEN_AT + 30 * DAY);
	assert_int_equal(colb_writer_add_file(w, "amd/Turin/cert_chain.pem", chain, clen, NULL, NULL), COLB_OK);
	assert_int_equal(colb_writer_add_file(w, "amd/Turin/vcek/0123456789abcdef/4200000001000101.der", der, len, NULL, NULL),
			 COLB_OK);
	char path[600];
	snprintf(path, sizeof path, "%s/misfiled.colb", t_scratch());
	colb_seckey *k = tb_seckey("amdtest");
	assert_int_equal(colb_writer_finish(w, k, path), COLB_OK);
	colb_seckey_free(k);
	colb_writer_free(w);
	opened o = open_at(path, GEN_AT, true, COLB_FRESHNESS_WARN);
	uint8_t chip[64];
	assert_int_equal(colb_amd_chip_id_parse(COLB_AMD_TURIN, "0123456789abcdef", chip), COLB_OK);
	colb_amd_cert c;
	assert_int_equal(colb_amd_vcek(o.b, COLB_AMD_TURIN, chip, 0x4200000001000101ull, &c), COLB_ERR_MISFILED);
	/* memoised: the same verdict again, and from verify_all */
	assert_int_equal(colb_amd_vcek(o.b, COLB_AMD_TURIN, chip, 0x4200000001000101ull, &c), COLB_ERR_MISFILED);
	assert_int_equal(colb_amd_verify_all(o.b), COLB_ERR_MISFILED);
	assert_non_null(strstr(colb_bundle_error(o.b), "hwid"));
	close_opened(&o);
	free(der);
	free(chain);
}

/* ---- the synthetic fleet served --------------------------------------------------------- */

static char fleet_bundle[600];

static void make_fleet_bundle(void)
{
	if (fleet_bundle[0])
		return;
	char why[1024];
	colb_err rc = create_from(t_path(gen, "amd"), GEN_AT, true, "fleet", fleet_bundle, sizeof fleet_bundle, why,
				  sizeof why);
	if (rc)
		fail_msg("create from the synthetic fleet: %s: %s", colb_strerror(rc), why);
}

static void test_reader_serves_every_chip_of_the_fleet(void **s)
{
	(void)s;
	make_fleet_bundle();
	opened o = open_at(fleet_bundle, GEN_AT, true, COLB_FRESHNESS_ENFORCE);
	assert_int_equal(colb_amd_verify_all(o.b), COLB_OK);
	size_t len;
	char *text = read_text(t_path(gen, "fleet.json"), &len);
	json_t *fleet = json_loads(text, 0, NULL);
	free(text);
	json_t *chips = json_object_get(json_object_get(fleet, "amd"), "chips");
	assert_true(json_array_size(chips) >= 9);
	size_t i;
	json_t *c;
	json_array_foreach(chips, i, c) {
		colb_amd_product p = colb_amd_product_from_name(json_string_value(json_object_get(c, "product")));
		uint8_t chip[64];
		uint64_t tcbm;
		colb_amd_cert cert;
		assert_int_equal(colb_amd_chip_id_parse(p, json_string_value(json_object_get(c, "chip_id")), chip), COLB_OK);
		assert_int_equal(colb_amd_tcbm_parse(json_string_value(json_object_get(c, "tcb")), &tcbm), COLB_OK);
		colb_err rc = colb_amd_vcek(o.b, p, chip, tcbm, &cert);
		if (rc)
			fail_msg("chip %zu: expected its VCEK, got %s: %s", i, colb_strerror(rc), colb_bundle_error(o.b));
		assert_int_equal(cert.tcbm, tcbm);
		assert_memory_equal(cert.chip_id, chip, 64);
		const uint64_t *list;
		size_t n;
		assert_int_equal(colb_amd_vcek_tcbs(o.b, p, chip, &list, &n), COLB_OK);
		assert_true(n >= 1 && n <= 2);
	}
	json_t *reports = json_object_get(json_object_get(fleet, "amd"), "reports");
	assert_true(json_array_size(reports) >= 6);
	json_array_foreach(reports, i, c) {
		size_t rlen;
		uint8_t *rep = t_read(t_path(gen, json_string_value(c)), &rlen);
		colb_amd_cert cert;
		colb_err rc = colb_amd_for_report(o.b, rep, rlen, COLB_AMD_UNKNOWN, &cert);
		if (rc)
			fail_msg("%s: expected its VCEK, got %s: %s", json_string_value(c), colb_strerror(rc),
				 colb_bundle_error(o.b));
		free(rep);
	}
	json_decref(fleet);
	/* the VLEK and a report it signed */
	colb_amd_cert v;
	assert_int_equal(colb_amd_vlek(o.b, COLB_AMD_GENOA, "TestCSP", 0, &v), COLB_OK);
	assert_true(v.is_vlek);
	assert_string_equal(v.csp, "TestCSP");
	uint8_t *rep = t_read(t_path(gen, "reports/genoa-vlek.bin"), &len);
	colb_amd_cert by;
	assert_int_equal(colb_amd_for_report(o.b, rep, len, COLB_AMD_UNKNOWN, &by), COLB_OK);
	assert_ptr_equal(by.der, v.der);
	free(rep);
	assert_int_equal(colb_amd_vlek(o.b, COLB_AMD_GENOA, "OtherCSP", 0, &v), COLB_ERR_NOT_FOUND);
	colb_amd_crl crl;
	assert_int_equal(colb_amd_crl_get(o.b, COLB_AMD_GENOA, &crl), COLB_OK);
	assert_false(crl.stale);
	assert_int_equal(colb_amd_vcek_count(o.b), 12); /* 9 chips, 3 of them with two TCBs */
	close_opened(&o);
}

static void test_freshness_warn_flags_stale_crl_enforce_refuses(void **s)
{
	(void)s;
	make_fleet_bundle();
	time_t late = GEN_AT + 340 * DAY; /* past the CRLs' nextUpdate, VCEKs still valid */
	size_t len;
	uint8_t *rep = t_read(t_path(gen, "reports/milan-0.bin"), &len);
	colb_amd_cert c;
	/* the bundle itself must still be valid then: it expires at GEN_AT + 400 days */
	opened o = open_at(fleet_bundle, late, true, COLB_FRESHNESS_WARN);
	assert_int_equal(colb_amd_for_report(o.b, rep, len, COLB_AMD_UNKNOWN, &c), COLB_OK);
	assert_true(c.stale);
	close_opened(&o);
	o = open_at(fleet_bundle, late, true, COLB_FRESHNESS_ENFORCE);
	assert_int_equal(colb_amd_for_report(o.b, rep, len, COLB_AMD_UNKNOWN, &c), COLB_ERR_STALE);
	colb_amd_crl crl;
	assert_int_equal(colb_amd_crl_get(o.b, COLB_AMD_MILAN, &crl), COLB_ERR_STALE);
	close_opened(&o);
	free(rep);
}

/* ---- output formats ------------------------------------------------------------------ */

static void test_certtable_round_trips(void **s)
{
	(void)s;
	make_fleet_bundle();
	opened o = open_at(fleet_bundle, GEN_AT, true, COLB_FRESHNESS_WARN);
	size_t len;
	uint8_t *rep = t_read(t_path(gen, "reports/genoa-1.bin"), &len);
	colb_amd_cert c;
	assert_int_equal(colb_amd_for_report(o.b, rep, len, COLB_AMD_UNKNOWN, &c), COLB_OK);
	uint8_t *blob;
	size_t blen;
	assert_int_equal(colb_amd_certtable(&c, &blob, &blen), COLB_OK);
	colb_amd_certtable_entry e[8];
	size_t n;
	assert_int_equal(colb_amd_certtable_parse(blob, blen, e, 8, &n), COLB_OK);
	assert_int_equal(n, 3);
	static const uint8_t vcek_guid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
					      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
	assert_memory_equal(e[0].guid, vcek_guid, 16);
	assert_int_equal(e[0].role, COLB_AMD_ROLE_VCEK);
	assert_int_equal(e[1].role, COLB_AMD_ROLE_ASK);
	assert_int_equal(e[2].role, COLB_AMD_ROLE_ARK);
	assert_int_equal(e[0].len, c.der_len);
	assert_memory_equal(e[0].der, c.der, c.der_len);
	assert_memory_equal(e[1].der, c.ask_der, c.ask_der_len);
	assert_memory_equal(e[2].der, c.ark_der, c.ark_der_len);
	/* the report verifies with the VCEK taken back out of the table */
	assert_int_equal(colb_amd_report_verify(rep, len, e[0].der, e[0].len), COLB_OK);
	/* strictness: too few slots, a cut blob, an offset into the table */
	assert_int_equal(colb_amd_certtable_parse(blob, blen, e, 2, &n), COLB_ERR_LIMIT);
	assert_int_equal(colb_amd_certtable_parse(blob, blen - 1, e, 8, &n), COLB_ERR_COLLATERAL);
	assert_int_equal(colb_amd_certtable_parse(blob, 50, e, 8, &n), COLB_ERR_COLLATERAL);
	blob[16] = 8;
	blob[17] = blob[18] = blob[19] = 0;
	assert_int_equal(colb_amd_certtable_parse(blob, blen, e, 8, &n), COLB_ERR_COLLATERAL);
	colb_free(blob);
	free(rep);
	close_opened(&o);
}

static void test_thim_json_parses_and_tcbm_equals_reported_tcb(void **s)
{
	(void)s;
	char path[600], why[1024];
	colb_err rc = create_from(real_milan_layout(), REAL_AT, false, "real-milan-thim", path, sizeof path, why, sizeof why);
	if (rc)
		fail_msg("create: %s", why);
	opened o = open_at(path, REAL_AT, false, COLB_FRESHNESS_WARN);
	size_t len;
	uint8_t *rep = t_read(real("amd/vcek/milan-b0-report.bin"), &len);
	colb_amd_cert c;
	assert_int_equal(colb_amd_for_report(o.b, rep, len, COLB_AMD_MILAN, &c), COLB_OK);
	char *js;
	size_t jlen;
	assert_int_equal(colb_amd_thim_json(&c, 86400, &js, &jlen), COLB_OK);
	json_error_t jerr;
	json_t *j = json_loadb(js, jlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("THIM JSON does not parse: %s", jerr.text);
	assert_int_equal(json_object_size(j), 4);
	assert_string_equal(json_string_value(json_object_get(j, "vcekCert")), c.pem);
	assert_string_equal(json_string_value(json_object_get(j, "certificateChain")), c.chain_pem);
	assert_string_equal(json_string_value(json_object_get(j, "cacheControl")), "86400");
	/* tcbm: the report's little-endian REPORTED_TCB, most significant byte first */
	const char *tcbm = json_string_value(json_object_get(j, "tcbm"));
	uint64_t v;
	assert_int_equal(colb_amd_tcbm_parse(tcbm, &v), COLB_OK);
	uint64_t reported = 0;
	for (int i = 7; i >= 0; i--)
		reported = reported << 8 | rep[0x180 + i];
	assert_int_equal(v, reported);
	assert_string_equal(tcbm, "4405000000000002");
	assert_true(!strncmp(js, "{\"vcekCert\":\"-----BEGIN CERTIFICATE-----\\n", 42));
	json_decref(j);
	colb_free(js);
	free(rep);
	close_opened(&o);
}

static void test_trustee_export_reads_back_as_amd_dir(void **s)
{
	(void)s;
	make_fleet_bundle();
	opened o = open_at(fleet_bundle, GEN_AT, true, COLB_FRESHNESS_WARN);
	const char *d = fresh_dir("trustee");
	size_t n = 0;
	assert_int_equal(colb_amd_export_trustee(o.b, d, &n), COLB_OK);
	assert_int_equal(n, 12);
	/* names as trustee writes them: decimal SPLs, two digits, _fmc on Turin */
	char cmd[800];
	snprintf(cmd, sizeof cmd, "ls '%s'/vcek/*/bl03_tee00_snp08_ucode115_vcek.der >/dev/null && "
				  "ls '%s'/vcek/*/bl01_tee00_snp01_ucode66_fmc01_vcek.der >/dev/null", d, d);
	sh_ok(cmd);
	close_opened(&o);
	/* The store reads back as an --amd-dir input. It carries no chains, so the
	 * built-in real ones stand in, and the test VCEKs do not verify against
	 * them: refused, not accepted. */
	expect_create(d, GEN_AT, true, COLB_ERR_COLLATERAL_SIG, "signature");
}

static void test_trustee_store_with_real_vcek_is_accepted(void **s)
{
	(void)s;
	const char *d = fresh_dir("trustee-real");
	char rel[400];
	snprintf(rel, sizeof rel, "vcek/%s/bl02_tee00_snp05_ucode68_vcek.der", real_milan_hwid);
	put(d, rel, real("amd/vcek/milan-b0-vcek.der"));
	char path[600], why[1024];
	colb_err rc = create_from(d, REAL_AT, false, "trustee-real", path, sizeof path, why, sizeof why);
	if (rc)
		fail_msg("expected the trustee store to be read, got %s: %s", colb_strerror(rc), why);
	/* the SPLs in the name must match the VCEK */
	d = fresh_dir("trustee-real-bad");
	snprintf(rel, sizeof rel, "vcek/%s/bl02_tee00_snp06_ucode68_vcek.der", real_milan_hwid);
	put(d, rel, real("amd/vcek/milan-b0-vcek.der"));
	expect_create(d, REAL_AT, false, COLB_ERR_MISFILED, "SPLs");
}

static void test_snphost_dir_is_recognised(void **s)
{
	(void)s;
	const char *d = fresh_dir("snphost");
	put(d, "vcek.der", real("amd/vcek/milan-b0-vcek.der"));
	t_sh("awk '/BEGIN/{n++} n==1' '%s' > '%s/ask.pem' && awk '/BEGIN/{n++} n==2' '%s' > '%s/ark.pem'",
	     real("amd/milan/cert_chain.pem"), d, real("amd/milan/cert_chain.pem"), d);
	char path[600], why[1024];
	colb_err rc = create_from(d, REAL_AT, false, "snphost", path, sizeof path, why, sizeof why);
	if (rc)
		fail_msg("expected the snphost directory to be read, got %s: %s", colb_strerror(rc), why);
	opened o = open_at(path, REAL_AT, false, COLB_FRESHNESS_WARN);
	uint8_t chip[64];
	assert_int_equal(colb_amd_chip_id_parse(COLB_AMD_MILAN, real_milan_hwid, chip), COLB_OK);
	colb_amd_cert c;
	assert_int_equal(colb_amd_vcek(o.b, COLB_AMD_MILAN, chip, 0x4405000000000002ull, &c), COLB_OK);
	close_opened(&o);
}

static int setup(void **s)
{
	(void)s;
	snprintf(gen, sizeof gen, "%s/gen", t_scratch());
	if (t_sh("'%s/colb-pkigen' --out '%s' --seed amd-unit --now " GEN_NOW " --intel 0 --amd 9 >/dev/null 2>&1",
		 t_build_dir(), gen) != 0)
		return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_product_from_cpuid_follows_kds_families),
		cmocka_unit_test(test_tcb_layouts_differ_per_generation),
		cmocka_unit_test(test_turin_chip_id_has_8_significant_bytes),
		cmocka_unit_test(test_report_parser_reads_v3_fields_and_refuses_bad_sizes),
		cmocka_unit_test(test_extension_decoder_accepts_wrapped_hwid_and_refuses_bad_der),
		cmocka_unit_test(test_real_chains_validate_at_pinned_time),
		cmocka_unit_test(test_real_crls_verify_and_genoa_revokes_an_ask),
		cmocka_unit_test(test_real_milan_report_verifies_against_vcek_found_by_chip_id_and_tcb),
		cmocka_unit_test(test_real_turin_vcek_filed_under_8_byte_hwid_with_fmcspl),
		cmocka_unit_test(test_builtin_chain_stands_in_when_the_layout_has_none),
		cmocka_unit_test(test_create_refuses_wrong_product_chain),
		cmocka_unit_test(test_create_refuses_forged_self_signed_ark),
		cmocka_unit_test(test_test_ark_counts_only_for_the_product_it_names),
		cmocka_unit_test(test_create_refuses_chain_through_revoked_ask),
		cmocka_unit_test(test_create_refuses_misfiled_hwid_and_tcb),
		cmocka_unit_test(test_create_refuses_vcek_with_bad_signature),
		cmocka_unit_test(test_create_refuses_unknown_files_in_the_layout),
		cmocka_unit_test(test_reader_refuses_misfiled_vcek),
		cmocka_unit_test(test_reader_serves_every_chip_of_the_fleet),
		cmocka_unit_test(test_freshness_warn_flags_stale_crl_enforce_refuses),
		cmocka_unit_test(test_certtable_round_trips),
		cmocka_unit_test(test_thim_json_parses_and_tcbm_equals_reported_tcb),
		cmocka_unit_test(test_trustee_export_reads_back_as_amd_dir),
		cmocka_unit_test(test_trustee_store_with_real_vcek_is_accepted),
		cmocka_unit_test(test_snphost_dir_is_recognised),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
