/*
 * test_serve_refusals.c — the HTTP server never serves collateral that does
 * not verify: a bundle whose publisher signed a TCB info with a broken Intel
 * signature is refused at start, and refused at reload while the verified
 * bundle keeps serving; a good new bundle then goes into service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "serve/serve.h"
#include "util/util.h"

#define AT 1764633600 /* 2025-12-02T00:00:00Z: the synthetic PKI is fresh then */

static const char *dir;
static colb_trust *trust;
static colb_opts *opts;
static colb_seckey *key;

static int setup(void **state)
{
	dir = t_scratch();
	const char *b = t_build_dir();
	if (t_sh("'%s/colb-pkigen' --out '%s/pki' --intel 1 --amd 0 >/dev/null 2>&1", b, dir) ||
	    t_sh("'%s/colbundle' keygen --no-password --out '%s/k' >/dev/null 2>&1", b, dir))
		return -1;
	for (int v = 1; v <= 2; v++)
		if (t_sh("'%s/colbundle' create --out '%s/b%d.colb' --key '%s/k.key' --intel-dir '%s/pki/intel' "
			 "--intel-root '%s/pki/roots/intel-root.der' --created 2025-12-01T00:00:00Z --version %d "
			 ">/dev/null 2>&1", b, dir, v, dir, dir, dir, v))
			return -1;
	char why[256];
	trust = colb_trust_new();
	opts = colb_opts_new();
	size_t len;
	uint8_t *root = t_read(t_path(dir, "pki/roots/intel-root.der"), &len);
	if (colb_trust_add_pubkey_file(trust, t_path(dir, "k.pub"), why, sizeof why) ||
	    colb_trust_add_intel_root(trust, root, len) ||
	    colb_seckey_load(t_path(dir, "k.key"), NULL, &key, why, sizeof why))
		return -1;
	free(root);
	colb_opts_set_trust(opts, trust);
	colb_opts_set_time(opts, AT);
	return 0;
}

static int teardown(void **state)
{
	colb_seckey_free(key);
	colb_opts_free(opts);
	colb_trust_free(trust);
	return 0;
}

/* Re-signs b1's files, with their metadata, as version `version`, with one
 * hex digit of the first SGX TCB info's signature changed. */
static void write_tampered(const char *out, uint64_t version)
{
	colb_bundle *b = colb_bundle_new(opts);
	assert_int_equal(colb_bundle_open_file(b, t_path(dir, "b1.colb")), COLB_OK);
	colb_writer *w = colb_writer_new();
	colb_writer_set_version(w, version);
	colb_writer_set_created(w, AT - 86400);
	assert_int_equal(colb_writer_set_baseline_json(w, colb_bundle_baseline_json(b)), COLB_OK);
	bool tampered = false;
	for (size_t i = 0; i < colb_bundle_file_count(b); i++) {
		colb_file_info fi;
		const uint8_t *data;
		size_t len;
		assert_int_equal(colb_bundle_file_at(b, i, &fi), COLB_OK);
		assert_int_equal(colb_bundle_read(b, fi.path, &data, &len), COLB_OK);
		uint8_t *copy = malloc(len);
		memcpy(copy, data, len);
		char *sig = !tampered && !strncmp(fi.path, "intel/tcbinfo/sgx/", 18)
				    ? strstr((char *)copy, "\"signature\":\"") : NULL;
		if (sig && (size_t)(sig - (char *)copy) + 14 < len) {
			char *d = sig + 13;
			*d = *d == '0' ? '1' : '0';
			tampered = true;
		}
		/* the meta the path fixes is added again by the writer: pass the rest */
		assert_int_equal(colb_writer_add_file(w, fi.path, copy, len, fi.kind, fi.meta_json), COLB_OK);
		free(copy);
	}
	assert_true(tampered);
	colb_err rc = colb_writer_finish(w, key, out);
	if (rc)
		fail_msg("writing the tampered bundle: %s", colb_writer_error(w));
	colb_writer_free(w);
	colb_bundle_free(b);
}

static void test_a_bundle_with_a_broken_vendor_signature_is_refused_at_start(void **state)
{
	const char *bad = t_path(dir, "bad.colb");
	write_tampered(bad, 3);
	serve_config cfg;
	serve_config_defaults(&cfg);
	cfg.listen = "127.0.0.1:0";
	char why[1024] = "";
	serve_server *s = serve_start(&cfg, opts, bad, NULL, why, sizeof why);
	if (s) {
		serve_stop(s);
		fail_msg("a bundle with a broken TCB info signature went into service");
	}
	if (!strstr(why, "REFUSED") || !strstr(why, "signature does not verify"))
		fail_msg("expected a refusal for the TCB info's signature, got '%s'", why);
}

static void test_reload_refuses_it_and_keeps_the_verified_bundle(void **state)
{
	const char *live = t_path(dir, "live.colb");
	assert_int_equal(t_sh("cp '%s/b1.colb' '%s'", dir, live), 0);
	serve_config cfg;
	serve_config_defaults(&cfg);
	cfg.listen = "127.0.0.1:0";
	char why[1024] = "";
	serve_server *s = serve_start(&cfg, opts, live, NULL, why, sizeof why);
	if (!s)
		fail_msg("serve_start: %s", why);
	assert_int_equal(serve_reload(s, false), 0); /* nothing changed */
	write_tampered(t_path(dir, "bad4.colb"), 4);
	assert_int_equal(t_sh("cp '%s/bad4.colb' '%s.tmp' && mv '%s.tmp' '%s'", dir, live, live, live), 0);
	assert_int_equal(serve_reload(s, false), -1);
	assert_int_equal(serve_reload(s, false), 0); /* a refused file is not retried until it changes */
	assert_int_equal(serve_reload(s, true), -1); /* SIGHUP retries, and refuses again */
	assert_int_equal(t_sh("cp '%s/b2.colb' '%s.tmp' && mv '%s.tmp' '%s'", dir, live, live, live), 0);
	assert_int_equal(serve_reload(s, false), 1);
	serve_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_bundle_with_a_broken_vendor_signature_is_refused_at_start),
		cmocka_unit_test(test_reload_refuses_it_and_keeps_the_verified_bundle),
	};
	return cmocka_run_group_tests_name("serve_refusals", tests, setup, teardown);
}
