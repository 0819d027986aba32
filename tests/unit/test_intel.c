/*
 * test_intel.c — the Intel layer: real Intel collateral validates and any
 * flipped byte breaks it; PCK cert selection on real pckcerts answers; the
 * reader's baseline, freshness, revocation and lookups on a synthetic fleet;
 * the PCCS admin-tool import.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "intel/intel_priv.h"
#include "util/util.h"

/* 2025-06-01: inside the validity of the real PCS answers (issued 2025-05-27). */
#define REAL_AT ((time_t)1748736000)
/* One day after the synthetic PKI's issue time (2025-12-01). */
#define SYN_AT ((time_t)1764633600)

/* ---- real data ---------------------------------------------------------------- */

typedef struct real_item {
	const char *file, *body_key, *wrapper;
} real_item;

static const real_item REAL[] = {
	{"sgx_tcb_info_00906ED50000.json", "tcb_info_json", "tcbInfo"},
	{"sgx_tcb_info_early.json", "tcb_info_json", "tcbInfo"},
	{"tdx_tcb_info.json", "tcb_info_json", "tcbInfo"},
	{"sgx_qe_identity.json", "enclave_identity_json", "enclaveIdentity"},
	{"sgx_qve_identity.json", "enclave_identity_json", "enclaveIdentity"},
	{"tdx_qe_identity.json", "enclave_identity_json", "enclaveIdentity"},
	{"sgx_tcb_eval_nums.json", "tcb_evaluation_data_numbers_json", "tcbEvaluationDataNumbers"},
	{"tdx_tcb_eval_nums.json", "tcb_evaluation_data_numbers_json", "tcbEvaluationDataNumbers"},
};

static json_t *load_real(const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/intel/pcs-v4/%s", t_real_dir(), name);
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

/* The whole check a verifier does on a signed body: split, chain to the
 * pinned root, signature over the exact bytes, parse. */
static colb_err check_signed(const uint8_t *body, size_t len, const char *wrapper, const intel_chain *chain)
{
	const uint8_t *inner;
	size_t ilen;
	uint8_t sig[64];
	char why[256];
	colb_err rc = intel_split_signed(body, len, wrapper, &inner, &ilen, sig, why, sizeof why);
	if (rc)
		return rc;
	if (!intel_verify_raw_sig(sk_X509_value(chain->certs, 0), inner, ilen, sig))
		return COLB_ERR_COLLATERAL_SIG;
	if (!strcmp(wrapper, "tcbInfo")) {
		intel_tcbinfo ti;
		rc = intel_parse_tcbinfo(inner, ilen, &ti, why, sizeof why);
		intel_tcbinfo_free(&ti);
	} else if (!strcmp(wrapper, "enclaveIdentity")) {
		intel_identity id;
		rc = intel_parse_identity(inner, ilen, &id, why, sizeof why);
	} else {
		intel_evalnums en;
		rc = intel_parse_evalnums(inner, ilen, &en, why, sizeof why);
	}
	return rc;
}

static void test_real_signed_items_verify_and_any_flipped_byte_fails(void **state)
{
	for (size_t k = 0; k < COLB_ARRAY_LEN(REAL); k++) {
		json_t *j = load_real(REAL[k].file);
		const char *body = json_string_value(json_object_get(j, REAL[k].body_key));
		const char *pem = json_string_value(json_object_get(j, "issuer_chain"));
		assert_non_null(body);
		assert_non_null(pem);
		intel_chain chain;
		char why[256];
		assert_int_equal(intel_chain_parse(pem, strlen(pem), &chain, why, sizeof why), COLB_OK);
		colb_err rc = intel_chain_verify(&chain, NULL, REAL_AT, INTEL_TCB_SIGNING_CN, NULL, why, sizeof why);
		if (rc)
			fail_msg("%s: chain: %s", REAL[k].file, why);
		size_t len = strlen(body);
		uint8_t *copy = malloc(len);
		memcpy(copy, body, len);
		rc = check_signed(copy, len, REAL[k].wrapper, &chain);
		if (rc)
			fail_msg("%s: expected the real body to verify, got %s", REAL[k].file, colb_strerror(rc));
		/* Every byte of the first and last 80, and every 13th in between. */
		size_t tried = 0;
		for (size_t i = 0; i < len; i += (i < 80 || i + 80 >= len) ? 1 : 13) {
			copy[i] ^= 0x01;
			if (check_signed(copy, len, REAL[k].wrapper, &chain) == COLB_OK)
				fail_msg("%s: flipping byte %zu ('%c') still verifies", REAL[k].file, i, body[i]);
			copy[i] ^= 0x01;
			tried++;
		}
		assert_true(tried > 100);
		free(copy);
		intel_chain_free(&chain);
		json_decref(j);
	}
}

static void test_real_pck_crls_verify_and_a_flipped_byte_fails(void **state)
{
	static const char *const files[] = {"pck_crl_processor.json", "pck_crl_platform.json"};
	static const char *const cns[] = {"Intel SGX PCK Processor CA", "Intel SGX PCK Platform CA"};
	for (int k = 0; k < 2; k++) {
		json_t *j = load_real(files[k]);
		const char *crlpem = json_string_value(json_object_get(j, "crl_data"));
		const char *pem = json_string_value(json_object_get(j, "issuer_chain"));
		intel_chain chain;
		char why[256];
		assert_int_equal(intel_chain_parse(pem, strlen(pem), &chain, why, sizeof why), COLB_OK);
		assert_int_equal(intel_chain_verify(&chain, NULL, REAL_AT, cns[k], NULL, why, sizeof why), COLB_OK);
		BIO *b = BIO_new_mem_buf(crlpem, -1);
		X509_CRL *c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
		assert_non_null(c);
		uint8_t *der = NULL;
		int n = i2d_X509_CRL(c, &der);
		X509_CRL_free(c);
		assert_true(n > 0);
		X509_CRL *out;
		time_t tu, nu;
		assert_int_equal(intel_crl_parse_verify(der, (size_t)n, sk_X509_value(chain.certs, 0), &out, &tu, &nu, why,
							sizeof why),
				 COLB_OK);
		X509_CRL_free(out);
		for (int i = 0; i < n; i += 3) {
			der[i] ^= 0x01;
			if (intel_crl_parse_verify(der, (size_t)n, sk_X509_value(chain.certs, 0), &out, &tu, &nu, why,
						   sizeof why) == COLB_OK)
				fail_msg("%s: flipping byte %d still verifies", files[k], i);
			der[i] ^= 0x01;
		}
		/* The processor CRL is not the platform CA's. */
		OPENSSL_free(der);
		intel_chain_free(&chain);
		json_decref(j);
	}
}

static void test_both_real_roots_carry_the_pinned_key(void **state)
{
	static const char *const roots[] = {"IntelSGXRootCA-2033.der", "IntelSGXRootCA-2049.der"};
	for (int k = 0; k < 2; k++) {
		size_t len;
		uint8_t *der = t_read(t_path(t_path(t_real_dir(), "intel"), roots[k]), &len);
		const uint8_t *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		assert_non_null(x);
		assert_true(intel_key_is_pinned_root(x));
		X509_free(x);
		free(der);
	}
}

static void test_real_chain_is_refused_as_a_pck_chain(void **state)
{
	json_t *j = load_real("sgx_tcb_info_00906ED50000.json");
	const char *pem = json_string_value(json_object_get(j, "issuer_chain"));
	intel_chain chain;
	char why[256];
	assert_int_equal(intel_chain_parse(pem, strlen(pem), &chain, why, sizeof why), COLB_OK);
	/* The TCB Signing chain must not pass as a PCK CA's. */
	assert_int_equal(intel_chain_verify(&chain, NULL, REAL_AT, "Intel SGX PCK Processor CA", NULL, why, sizeof why),
			 COLB_ERR_CHAIN);
	/* After the TCB Signing cert expires (2032-05-06), the chain fails. */
	assert_int_equal(intel_chain_verify(&chain, NULL, (time_t)2000000000, INTEL_TCB_SIGNING_CN, NULL, why, sizeof why),
			 COLB_ERR_CHAIN);
	intel_chain_free(&chain);
	json_decref(j);
}

/* ---- PCK cert selection on the real pckcerts answers -------------------------------- */

static void load_real_pckcerts(const char *name, intel_pck_entry **e, size_t *n)
{
	size_t len;
	char path[1024];
	snprintf(path, sizeof path, "%s/intel/pckcerts/%s", t_real_dir(), name);
	uint8_t *data = t_read(path, &len);
	char why[256];
	colb_err rc = intel_parse_pckcerts(data, len, e, n, why, sizeof why);
	if (rc)
		fail_msg("%s: %s", name, why);
	free(data);
}

static void test_real_pckcerts_extensions_agree_with_their_tcb(void **state)
{
	static const char *const files[] = {"881c3086c0eef78f60f5702a7e379efe.certs", "16a5b41ebb076d263a1e39e64e7175e7.certs"};
	for (int f = 0; f < 2; f++) {
		intel_pck_entry *e;
		size_t n;
		load_real_pckcerts(files[f], &e, &n);
		assert_true(n >= 5);
		uint8_t fmspc[6];
		for (size_t i = 0; i < n; i++) {
			BIO *b = BIO_new_mem_buf(e[i].pem, (int)e[i].pem_len);
			X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
			BIO_free(b);
			assert_non_null(x);
			intel_sgxext ext;
			char why[256];
			colb_err rc = intel_sgxext_from_cert(x, &ext, why, sizeof why);
			if (rc)
				fail_msg("%s[%zu]: %s", files[f], i, why);
			assert_memory_equal(ext.tcb.comp, e[i].tcb.comp, 16);
			assert_int_equal(ext.tcb.pcesvn, e[i].tcb.pcesvn);
			if (i == 0)
				memcpy(fmspc, ext.fmspc, 6);
			assert_memory_equal(fmspc, ext.fmspc, 6);
			X509_free(x);
		}
		intel_pck_entries_free(e, n);
	}
}

/* The levels of the platform's TCB info are the TCBs of its pckcerts answer
 * (PCS returns one cert per level), highest first. */
static void test_pck_selection_on_real_answers(void **state)
{
	intel_pck_entry *e;
	size_t n;
	load_real_pckcerts("16a5b41ebb076d263a1e39e64e7175e7.certs", &e, &n);
	intel_level *lv = calloc(n, sizeof *lv);
	intel_tcb *certs = calloc(n, sizeof *certs);
	for (size_t i = 0; i < n; i++) {
		lv[i].tcb = e[i].tcb;
		certs[i] = e[i].tcb;
	}
	size_t level;
	/* Exactly at each level: that level's cert. */
	for (size_t i = 0; i < n; i++) {
		int k = intel_select_pck(&e[i].tcb, lv, n, certs, n, &level);
		assert_int_equal(k, (int)i);
		assert_int_equal(level, i);
	}
	/* Below every cert: nothing. */
	intel_tcb raw = e[n - 1].tcb;
	raw.comp[0] = 0;
	assert_int_equal(intel_select_pck(&raw, lv, n, certs, n, &level), -1);
	raw = e[n - 1].tcb;
	raw.pcesvn = 0;
	assert_int_equal(intel_select_pck(&raw, lv, n, certs, n, &level), -1);
	/* Above all: the top cert. */
	memset(raw.comp, 0xff, 16);
	raw.pcesvn = 0xffff;
	assert_int_equal(intel_select_pck(&raw, lv, n, certs, n, &level), 0);
	/* Between levels: level 0 (0E0E02040180 07...) less its component 7 (07 -> 03) is
	 * below level 0 but reaches level 1 (component 7 = 0). */
	raw = e[0].tcb;
	assert_int_equal(raw.comp[6], 7);
	raw.comp[6] = 3;
	assert_int_equal(intel_select_pck(&raw, lv, n, certs, n, &level), 1);
	/* After a microcode update past every level's SVN, the best cert is still
	 * the highest one at or below the raw TCB. */
	raw = e[2].tcb;
	raw.comp[0] = raw.comp[1] = (uint8_t)(e[0].tcb.comp[0] + 1);
	int k = intel_select_pck(&raw, lv, n, certs, n, &level);
	assert_true(k >= 0 && k <= 2);
	for (int c = 0; c < 16; c++)
		assert_true(certs[k].comp[c] <= raw.comp[c]);
	free(lv);
	free(certs);
	intel_pck_entries_free(e, n);
}

static void test_sgx_extension_decoder_refuses_truncations(void **state)
{
	intel_pck_entry *e;
	size_t n;
	load_real_pckcerts("881c3086c0eef78f60f5702a7e379efe.certs", &e, &n);
	BIO *b = BIO_new_mem_buf(e[0].pem, (int)e[0].pem_len);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(x, X509_get_ext_by_OBJ(x, oid, -1)));
	const uint8_t *d = ASN1_STRING_get0_data(os);
	size_t len = (size_t)ASN1_STRING_length(os);
	intel_sgxext ext;
	char why[256];
	assert_int_equal(intel_sgxext_decode(d, len, &ext, why, sizeof why), COLB_OK);
	assert_true(ext.has_instance); /* a Platform CA cert */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(intel_sgxext_decode(d, cut, &ext, why, sizeof why), COLB_OK);
	ASN1_OBJECT_free(oid);
	X509_free(x);
	intel_pck_entries_free(e, n);
}

/* ---- the reader on a synthetic fleet ------------------------------------------------- */

static char pki[600], keyname[600], bundle[700], pubpath[700];

static int make_fleet(void **state)
{
	snprintf(pki, sizeof pki, "%s/pki", t_scratch());
	if (t_sh("'%s/colb-pkigen' --out '%s' --seed test-intel --intel 12 --amd 0 >/dev/null 2>&1", t_build_dir(), pki))
		return -1;
	snprintf(keyname, sizeof keyname, "%s/key", t_scratch());
	snprintf(pubpath, sizeof pubpath, "%s.pub", keyname);
	snprintf(bundle, sizeof bundle, "%s/fleet.colb", t_scratch());
	char err[256];
	return colb_keygen(keyname, NULL, err, sizeof err) == COLB_OK ? 0 : -1;
}

static colb_trust *test_trust(void)
{
	colb_trust *t = colb_trust_new();
	char err[256];
	size_t len;
	uint8_t *root = t_read(t_path(pki, "roots/intel-root.der"), &len);
	assert_int_equal(colb_trust_add_pubkey_file(t, pubpath, err, sizeof err), COLB_OK);
	assert_int_equal(colb_trust_add_intel_root(t, root, len), COLB_OK);
	free(root);
	return t;
}

/* Writes a bundle from inputs; returns create's verdict. */
static colb_err write_bundle(const char *out, const char *baseline, uint32_t min_eval, const char *pccs,
			     char *msg, size_t msglen)
{
	colb_trust *t = test_trust();
	colb_intel_input *in = colb_intel_input_new(t, SYN_AT);
	colb_err rc = baseline ? colb_intel_input_set_baseline(in, baseline) : COLB_OK;
	colb_intel_input_set_min_eval(in, min_eval);
	if (!rc)
		rc = pccs ? colb_intel_input_import_pccs(in, pccs) : colb_intel_input_add_dir(in, t_path(pki, "intel"));
	if (!rc && !pccs)
		rc = colb_intel_input_add_pckid_csv(in, t_path(pki, "intel-pckid.csv"));
	colb_writer *w = colb_writer_new();
	colb_writer_set_created(w, SYN_AT);
	if (!rc)
		rc = colb_intel_input_write(in, w);
	snprintf(msg, msglen, "%s", colb_intel_input_error(in));
	if (!rc) {
		char err[256], kp[700];
		colb_seckey *k = NULL;
		snprintf(kp, sizeof kp, "%s.key", keyname);
		assert_int_equal(colb_seckey_load(kp, NULL, &k, err, sizeof err), COLB_OK);
		rc = colb_writer_finish(w, k, out);
		if (rc)
			snprintf(msg, msglen, "%s", colb_writer_error(w));
		colb_seckey_free(k);
	}
	colb_writer_free(w);
	colb_intel_input_free(in);
	colb_trust_free(t);
	return rc;
}

typedef struct opened {
	colb_trust *t;
	colb_opts *o;
	colb_bundle *b;
} opened;

static void open_at(opened *op, const char *path, time_t at, colb_freshness f)
{
	op->t = test_trust();
	op->o = colb_opts_new();
	colb_opts_set_trust(op->o, op->t);
	colb_opts_set_time(op->o, at);
	colb_opts_set_allow_expired(op->o, 1);
	colb_opts_set_freshness(op->o, f);
	op->b = colb_bundle_new(op->o);
	colb_err rc = colb_bundle_open_file(op->b, path);
	if (rc)
		fail_msg("open %s: %s", path, colb_bundle_error(op->b));
}

static void close_op(opened *op)
{
	colb_bundle_free(op->b);
	colb_opts_free(op->o);
	colb_trust_free(op->t);
}

static void test_reader_serves_exact_bytes_at_the_baseline(void **state)
{
	char msg[512];
	colb_err rc = write_bundle(bundle, NULL, 0, NULL, msg, sizeof msg);
	if (rc)
		fail_msg("create: %s", msg);
	opened op;
	open_at(&op, bundle, SYN_AT, COLB_FRESHNESS_WARN);
	uint8_t fm[6] = {0x00, 0x90, 0x6E, 0xD5, 0x00, 0x00};
	colb_intel_item it;
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 0, &it), COLB_OK);
	size_t len;
	uint8_t *want = t_read(t_path(pki, "intel/sgx/tcb/00906ED50000/17.json"), &len);
	assert_int_equal(it.len, len);
	assert_memory_equal(it.data, want, len);
	assert_int_equal(it.eval, 17);
	assert_false(it.stale);
	assert_non_null(strstr(it.issuer_chain, "BEGIN CERTIFICATE"));
	free(want);
	/* Warm calls return the same handle-owned bytes. */
	colb_intel_item again;
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 0, &again), COLB_OK);
	assert_ptr_equal(again.data, it.data);
	/* The identity served for eval 0 is at the baseline's number. */
	assert_int_equal(colb_intel_identity_get(op.b, COLB_INTEL_ID_QE, 0, &it), COLB_OK);
	assert_int_equal(it.eval, 17);
	/* The site override moves both. */
	assert_int_equal(colb_intel_set_baseline(op.b, "early"), COLB_OK);
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 0, &it), COLB_OK);
	assert_int_equal(it.eval, 18);
	assert_int_equal(colb_intel_identity_get(op.b, COLB_INTEL_ID_QE, 0, &it), COLB_OK);
	assert_int_equal(it.eval, 18);
	/* Only numbers the bundle carries. */
	assert_int_equal(colb_intel_set_baseline(op.b, "19"), COLB_ERR_BASELINE);
	assert_int_equal(colb_intel_set_baseline(op.b, "sideways"), COLB_ERR_BASELINE);
	assert_int_equal(colb_intel_set_baseline(op.b, "16"), COLB_OK);
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_TDX, fm, 0, &it), COLB_OK);
	assert_int_equal(it.eval, 16);
	/* What is carried. */
	const uint32_t *ev;
	size_t n;
	assert_int_equal(colb_intel_evals(op.b, COLB_INTEL_SGX, &ev, &n), COLB_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0], 16);
	assert_int_equal(ev[2], 18);
	const char *const *fl;
	assert_int_equal(colb_intel_fmspcs(op.b, COLB_INTEL_SGX, &fl, &n), COLB_OK);
	assert_int_equal(n, 6);
	assert_string_equal(fl[0], "00606C040000");
	/* A per-call number the bundle lacks. */
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 21, &it), COLB_ERR_NOT_FOUND);
	assert_int_equal(colb_intel_verify_all(op.b), COLB_OK);
	close_op(&op);
}

static void test_reader_refuses_revoked_pck_and_finds_platforms_by_ppid(void **state)
{
	opened op;
	open_at(&op, bundle, SYN_AT, COLB_FRESHNESS_WARN);
	char *rev = (char *)t_read(t_path(pki, "intel-revoked.txt"), &(size_t){0});
	char ca[16], qe[40], pce[8], tcbm[40], serial[64];
	char *line = strstr(rev, "\nprocessor ");
	assert_non_null(line);
	assert_int_equal(sscanf(line + 1, "%15s %39s %7s %39s %63s", ca, qe, pce, tcbm, serial), 5);
	uint8_t qeb[16], raw[18];
	assert_true(colb_hex_decode(qe, 32, qeb, 16));
	assert_true(colb_hex_decode(tcbm, 36, raw, 18));
	colb_intel_pck pck;
	assert_int_equal(colb_intel_pck_select(op.b, qeb, 0, raw, (uint16_t)(raw[16] | raw[17] << 8), 0, &pck),
			 COLB_ERR_REVOKED);
	/* A raw TCB below the revoked level selects the next cert, which is fine. */
	raw[0]--;
	raw[1]--;
	assert_int_equal(colb_intel_pck_select(op.b, qeb, 0, raw, (uint16_t)(raw[16] | raw[17] << 8), 0, &pck), COLB_OK);
	assert_true(pck.cpusvn[0] < raw[0] + 1);
	free(rev);

	/* The first CSV row, by QE ID and by encrypted PPID. */
	char *csv = (char *)t_read(t_path(pki, "intel-pckid.csv"), &(size_t){0});
	uint8_t enc[384], cpusvn[16], svn[2], q[16];
	assert_true(colb_hex_decode(csv, 768, enc, 384));
	assert_true(colb_hex_decode(csv + 774, 32, cpusvn, 16));
	assert_true(colb_hex_decode(csv + 807, 4, svn, 2));
	assert_true(colb_hex_decode(csv + 812, 32, q, 16));
	colb_intel_pck a, b;
	assert_int_equal(colb_intel_pck_select(op.b, q, 0, cpusvn, (uint16_t)(svn[0] | svn[1] << 8), 0, &a), COLB_OK);
	assert_int_equal(colb_intel_pck_select_by_ppid(op.b, enc, 384, 0, cpusvn, (uint16_t)(svn[0] | svn[1] << 8), 0, &b),
			 COLB_OK);
	assert_ptr_equal(a.cert_pem, b.cert_pem);
	assert_string_equal(a.tcb_status, "UpToDate");
	assert_string_equal(a.ca_type, "processor");
	assert_int_equal(a.eval, 17);
	enc[0] ^= 1;
	assert_int_equal(colb_intel_pck_select_by_ppid(op.b, enc, 384, 0, cpusvn, (uint16_t)(svn[0] | svn[1] << 8), 0, &b),
			 COLB_ERR_NOT_FOUND);
	/* Below every cert. */
	memset(cpusvn, 0, 16);
	assert_int_equal(colb_intel_pck_select(op.b, q, 0, cpusvn, 0, 0, &a), COLB_ERR_NOT_FOUND);
	free(csv);
	close_op(&op);
}

static void test_stale_collateral_is_served_with_a_warning_or_refused_under_enforce(void **state)
{
	/* 2026-02-01: past every TCB info's nextUpdate (2025-12-31). */
	time_t later = 1769904000;
	uint8_t fm[6] = {0x00, 0x90, 0x6E, 0xD5, 0x00, 0x00};
	colb_intel_item it;
	opened op;
	open_at(&op, bundle, later, COLB_FRESHNESS_WARN);
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 0, &it), COLB_OK);
	assert_true(it.stale);
	colb_intel_freshness_report r;
	colb_err frc = colb_intel_freshness(op.b, &r);
	if (frc)
		fail_msg("freshness: %s", colb_bundle_error(op.b));
	/* Everything but the root CA CRL (a year's lifetime) has gone stale. */
	if (r.stale != r.items - 1)
		fail_msg("expected %zu of %zu items stale, got %zu", r.items - 1, r.items, r.stale);
	assert_non_null(r.earliest_path);
	close_op(&op);
	open_at(&op, bundle, later, COLB_FRESHNESS_ENFORCE);
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 0, &it), COLB_ERR_STALE);
	assert_int_equal(colb_intel_pckcrl(op.b, COLB_INTEL_CA_PROCESSOR, &it), COLB_ERR_STALE);
	close_op(&op);
}

static void test_minimum_evaluation_number_is_enforced(void **state)
{
	char path[700], msg[512];
	snprintf(path, sizeof path, "%s/min.colb", t_scratch());
	/* create refuses items below the minimum... */
	assert_int_equal(write_bundle(path, NULL, 17, NULL, msg, sizeof msg), COLB_ERR_BELOW_MIN_EVAL);
	assert_non_null(strstr(msg, "below --min-eval 17"));
	/* ...and a baseline it does not carry. */
	assert_int_equal(write_bundle(path, "20", 0, NULL, msg, sizeof msg), COLB_ERR_BASELINE);
	/* The reader refuses per-call numbers below the bundle's minimum. */
	assert_int_equal(write_bundle(path, "early", 16, NULL, msg, sizeof msg), COLB_OK);
	opened op;
	open_at(&op, path, SYN_AT, COLB_FRESHNESS_WARN);
	uint8_t fm[6] = {0x00, 0x90, 0x6E, 0xD5, 0x00, 0x00};
	colb_intel_item it;
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 15, &it), COLB_ERR_BELOW_MIN_EVAL);
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 0, &it), COLB_OK);
	assert_int_equal(it.eval, 18); /* the bundle's policy is early */
	close_op(&op);
}

static void test_custom_param_in_thim_form(void **state)
{
	uint32_t e;
	const char *b64 = "dGNiRXZhbHVhdGlvbkRhdGFOdW1iZXI9MTc="; /* tcbEvaluationDataNumber=17 */
	assert_int_equal(colb_intel_parse_custom_param(b64, strlen(b64), &e), COLB_OK);
	assert_int_equal(e, 17);
	const char *plain = "region=eu;tcbEvaluationDataNumber=18";
	assert_int_equal(colb_intel_parse_custom_param(plain, strlen(plain), &e), COLB_OK);
	assert_int_equal(e, 18);
	assert_int_equal(colb_intel_parse_custom_param("tcbEvaluationDataNumber=x", 25, &e), COLB_ERR_INVALID_ARG);
	assert_int_equal(colb_intel_parse_custom_param("", 0, &e), COLB_OK);
	assert_int_equal(e, 0);
}

/* ---- the PCCS admin-tool import ----------------------------------------------------------- */

static char *file_text(const char *rel)
{
	size_t n;
	return (char *)t_read(t_path(pki, rel), &n);
}

static char *hdr_value(const char *rel, const char *name)
{
	char *h = file_text(rel), *p = strstr(h, name);
	assert_non_null(p);
	p += strlen(name) + 2;
	char *e = strchr(p, '\n');
	char *v = strndup(p, (size_t)(e - p));
	free(h);
	return v;
}

static char *hex_of(const char *rel)
{
	size_t n;
	uint8_t *d = t_read(t_path(pki, rel), &n);
	char *h = malloc(2 * n + 1);
	colb_hex_encode(d, n, h, false);
	free(d);
	return h;
}

static void test_pccs_import_recovers_the_signed_bytes(void **state)
{
	/* Build platform_collaterals.json the way Intel's admin tool writes it:
	 * TCB info as parsed objects, identities raw, CRLs hex, chains encoded. */
	json_t *root = json_object(), *coll = json_object(), *certs = json_object(), *pck = json_object();
	json_object_set_new(root, "platforms", json_array());
	json_object_set_new(root, "collaterals", coll);
	json_object_set_new(coll, "version", json_string("4.0"));
	json_object_set_new(coll, "certificates", certs);
	json_object_set_new(certs, "SGX-PCK-Certificate-Issuer-Chain", pck);
	char *v = hdr_value("intel/sgx/pckcrl/processor.der.hdr", "SGX-PCK-CRL-Issuer-Chain");
	json_object_set_new(pck, "PROCESSOR", json_string(v));
	free(v);
	v = hdr_value("intel/sgx/pckcrl/platform.der.hdr", "SGX-PCK-CRL-Issuer-Chain");
	json_object_set_new(pck, "PLATFORM", json_string(v));
	free(v);
	v = hdr_value("intel/sgx/tcb/00906ED50000/17.json.hdr", "TCB-Info-Issuer-Chain");
	json_object_set_new(certs, "TCB-Info-Issuer-Chain", json_string(v));
	json_object_set_new(certs, "SGX-Enclave-Identity-Issuer-Chain", json_string(v));
	free(v);
	json_t *tis = json_array();
	static const char *const fmspcs[] = {"00906ED50000", "00A067110000", "00606C040000", "30606A000000", "00806F050000", "90C06F000000"};
	for (int f = 0; f < 6; f++) {
		json_t *t = json_object();
		char rel[128];
		json_object_set_new(t, "fmspc", json_string(fmspcs[f]));
		static const char *const fields[] = {"sgx_tcbinfo", "sgx_tcbinfo_early", "tdx_tcbinfo", "tdx_tcbinfo_early"};
		for (int k = 0; k < 4; k++) {
			snprintf(rel, sizeof rel, "intel/%s/tcb/%s/%d.json", k < 2 ? "sgx" : "tdx", fmspcs[f], k % 2 ? 18 : 17);
			char *body = file_text(rel);
			json_object_set_new(t, fields[k], json_loads(body, JSON_PRESERVE_ORDER, NULL));
			free(body);
		}
		json_array_append_new(tis, t);
	}
	json_object_set_new(coll, "tcbinfos", tis);
	char *s = file_text("intel/sgx/identity/qe/17.json");
	json_object_set_new(coll, "qeidentity", json_string(s));
	free(s);
	s = file_text("intel/sgx/identity/qe/18.json");
	json_object_set_new(coll, "qeidentity_early", json_string(s));
	free(s);
	s = file_text("intel/tdx/identity/td_qe/17.json");
	json_object_set_new(coll, "tdqeidentity", json_string(s));
	free(s);
	json_t *crl = json_object();
	s = hex_of("intel/sgx/pckcrl/processor.der");
	json_object_set_new(crl, "processorCrl", json_string(s));
	free(s);
	json_object_set_new(coll, "pckcacrl", crl);
	s = hex_of("intel/rootcacrl.der");
	json_object_set_new(coll, "rootcacrl", json_string(s));
	free(s);
	json_object_set_new(coll, "pck_certs", json_array());
	char path[700], out[700], msg[512];
	snprintf(path, sizeof path, "%s/platform_collaterals.json", t_scratch());
	snprintf(out, sizeof out, "%s/pccs.colb", t_scratch());
	/* The admin tool writes with spaces; the import must not care. */
	assert_int_equal(json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
	json_decref(root);
	colb_err rc = write_bundle(out, NULL, 0, path, msg, sizeof msg);
	if (rc)
		fail_msg("import: %s", msg);
	opened op;
	open_at(&op, out, SYN_AT, COLB_FRESHNESS_WARN);
	uint8_t fm[6] = {0x00, 0xA0, 0x67, 0x11, 0x00, 0x00};
	colb_intel_item it;
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_SGX, fm, 0, &it), COLB_OK);
	assert_int_equal(it.eval, 17); /* the file's sgx_tcbinfo is the standard set */
	size_t len;
	uint8_t *want = t_read(t_path(pki, "intel/sgx/tcb/00A067110000/17.json"), &len);
	assert_int_equal(it.len, len);
	assert_memory_equal(it.data, want, len);
	free(want);
	assert_int_equal(colb_intel_tcbinfo(op.b, COLB_INTEL_TDX, fm, 18, &it), COLB_OK);
	assert_int_equal(colb_intel_identity_get(op.b, COLB_INTEL_ID_QE, 18, &it), COLB_OK);
	close_op(&op);

	/* A TCB info whose recovered bytes do not verify is refused by name. */
	char *text = file_text("intel/sgx/tcb/00906ED50000/17.json");
	(void)text;
	free(text);
	char *doc = (char *)t_read(path, &len);
	char *p = strstr(doc, "\"pcesvn\": 13");
	assert_non_null(p);
	p[11] = '2';
	FILE *fp = fopen(path, "w");
	fwrite(doc, 1, len, fp);
	fclose(fp);
	free(doc);
	assert_int_equal(write_bundle(out, NULL, 0, path, msg, sizeof msg), COLB_ERR_COLLATERAL_SIG);
	assert_non_null(strstr(msg, "tcbinfos[00906ED50000].sgx_tcbinfo"));
}

int main(void)
{
	const struct CMUnitTest real[] = {
		cmocka_unit_test(test_real_signed_items_verify_and_any_flipped_byte_fails),
		cmocka_unit_test(test_real_pck_crls_verify_and_a_flipped_byte_fails),
		cmocka_unit_test(test_both_real_roots_carry_the_pinned_key),
		cmocka_unit_test(test_real_chain_is_refused_as_a_pck_chain),
		cmocka_unit_test(test_real_pckcerts_extensions_agree_with_their_tcb),
		cmocka_unit_test(test_pck_selection_on_real_answers),
		cmocka_unit_test(test_sgx_extension_decoder_refuses_truncations),
		cmocka_unit_test(test_custom_param_in_thim_form),
	};
	const struct CMUnitTest fleet[] = {
		cmocka_unit_test(test_reader_serves_exact_bytes_at_the_baseline),
		cmocka_unit_test(test_reader_refuses_revoked_pck_and_finds_platforms_by_ppid),
		cmocka_unit_test(test_stale_collateral_is_served_with_a_warning_or_refused_under_enforce),
		cmocka_unit_test(test_minimum_evaluation_number_is_enforced),
		cmocka_unit_test(test_pccs_import_recovers_the_signed_bytes),
	};
	int rc = cmocka_run_group_tests_name("intel_real", real, NULL, NULL);
	return rc | cmocka_run_group_tests_name("intel_fleet", fleet, make_fleet, NULL);
}
