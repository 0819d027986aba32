/*
 * test_bundle.c — the bundle core's happy paths: keys round-trip, a written
 * bundle opens and serves exactly its files, the writer is reproducible,
 * signatures add up to a k-of-n threshold, the state file round-trips.
 */
#include "test_bundle_support.h"

#include <sys/stat.h>

#include "bundle/conf.h"
#include "bundle/state.h"

static void test_keygen_writes_a_private_secret_key_and_refuses_to_overwrite(void **state)
{
	char name[512], err[256];
	snprintf(name, sizeof name, "%s/kg", t_scratch());
	assert_int_equal(colb_keygen(name, "correct horse", err, sizeof err), COLB_OK);
	struct stat st;
	assert_int_equal(stat(t_path(t_scratch(), "kg.key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(colb_keygen(name, "x", err, sizeof err), COLB_ERR_IO);
}

static void test_encrypted_key_needs_its_password(void **state)
{
	char name[512], path[600], err[256];
	snprintf(name, sizeof name, "%s/pw", t_scratch());
	snprintf(path, sizeof path, "%s.key", name);
	assert_int_equal(colb_keygen(name, "s3cret", err, sizeof err), COLB_OK);
	colb_seckey *k = NULL;
	assert_int_equal(colb_seckey_load(path, "wrong", &k, err, sizeof err), COLB_ERR_PASSWORD);
	assert_null(k);
	assert_int_equal(colb_seckey_load(path, NULL, &k, err, sizeof err), COLB_ERR_PASSWORD);
	assert_int_equal(colb_seckey_load(path, "s3cret", &k, err, sizeof err), COLB_OK);
	/* The key id in the .pub comment is the loaded key's. */
	char id[17];
	colb_seckey_id(k, id);
	size_t n;
	char pub[600];
	snprintf(pub, sizeof pub, "%s.pub", name);
	char *text = (char *)t_read(pub, &n);
	assert_non_null(strstr(text, id));
	free(text);
	colb_seckey_free(k);
}

static void test_tampered_secret_key_file_is_refused(void **state)
{
	char name[512], path[600], err[256];
	snprintf(name, sizeof name, "%s/tk", t_scratch());
	snprintf(path, sizeof path, "%s.key", name);
	assert_int_equal(colb_keygen(name, "pw", err, sizeof err), COLB_OK);
	size_t n;
	char *text = (char *)t_read(path, &n);
	char *line = strchr(text, '\n') + 1;
	/* Flip a character of the base64 inside the Argon2 limits / salt area. */
	line[30] = line[30] == 'A' ? 'B' : 'A';
	FILE *f = fopen(path, "w");
	fwrite(text, 1, n, f);
	fclose(f);
	colb_seckey *k = NULL;
	colb_err rc = colb_seckey_load(path, "pw", &k, err, sizeof err);
	assert_true(rc == COLB_ERR_PASSWORD || rc == COLB_ERR_KEY);
	free(text);
}

static void test_written_bundle_opens_and_serves_its_files(void **state)
{
	size_t len;
	uint8_t *data = tb_bundle(7, 42, "pub1", &len);
	const char *names[1] = {"pub1"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_bundle *b = NULL;
	colb_err rc = tb_open_with(data, len, t, NULL, &b);
	if (rc)
		fail_msg("open: %s", colb_bundle_error(b));
	assert_true(colb_bundle_version(b) == 42);
	assert_int_equal(colb_bundle_file_count(b), 7);
	assert_string_equal(colb_bundle_publisher(b), "Test Publisher");
	assert_int_equal(colb_bundle_created(b), TB_CREATED);
	assert_int_equal(colb_bundle_expires(b), TB_EXPIRES);
	assert_int_equal(strlen(colb_bundle_id(b)), 32);
	assert_int_equal(colb_bundle_signer_count(b), 1);
	assert_string_equal(colb_bundle_baseline_json(b), "{\"policy\":\"standard\"}");
	char digest[65];
	colb_sha256_hex(data, len, digest);
	assert_string_equal(colb_bundle_digest(b), digest);
	/* Files come sorted, with the kind and meta their path names. */
	colb_file_info fi, prev = {0};
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(colb_bundle_file_at(b, i, &fi), COLB_OK);
		if (i)
			assert_true(strcmp(prev.path, fi.path) < 0);
		prev = fi;
		const uint8_t *d;
		size_t n;
		assert_int_equal(colb_bundle_read(b, fi.path, &d, &n), COLB_OK);
		assert_int_equal(n, fi.size);
	}
	const uint8_t *d;
	size_t n;
	assert_int_equal(colb_bundle_read(b, "intel/tcbinfo/sgx/000000000003/18.json", &d, &n), COLB_OK);
	uint8_t *want = tb_body(100 + 37 * 3, 3);
	assert_int_equal(n, 100 + 37 * 3);
	assert_memory_equal(d, want, n);
	free(want);
	size_t i = colb_bundle_find_path(b, "intel/tcbinfo/sgx/000000000003/18.json");
	assert_int_equal(colb_bundle_file_at(b, i, &fi), COLB_OK);
	assert_string_equal(fi.kind, "tcbinfo");
	assert_string_equal(fi.meta_json, "{\"encoding\":\"json\",\"eval\":18,\"fmspc\":\"000000000003\",\"tee\":\"sgx\"}");
	assert_int_equal(colb_bundle_read(b, "intel/nothing.json", &d, &n), COLB_ERR_NOT_FOUND);
	assert_non_null(strstr(colb_bundle_error(b), "intel/nothing.json"));
	assert_int_equal(colb_bundle_verify_files(b), COLB_OK);
	size_t mlen;
	const char *mj = colb_bundle_manifest_json(b, &mlen);
	assert_true(mlen > 0 && !strncmp(mj, "{\"format\":\"colbundle\",\"format_version\":\"1.0\",", 44));
	assert_non_null(strstr(mj, "\"tee\":[\"sev-snp\",\"sgx\",\"tdx\"]"));
	assert_non_null(strstr(mj, "\"version\":\"42\""));
	colb_bundle_free(b);
	colb_trust_free(t);
	free(data);
}

static void test_writer_is_reproducible_byte_for_byte(void **state)
{
	size_t l1, l2;
	uint8_t *a = tb_bundle(20, 5, "pub1", &l1);
	uint8_t *b = tb_bundle(20, 5, "pub1", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(a, b, l1);
	free(a);
	free(b);
}

static void test_uint64_versions_survive_the_manifest(void **state)
{
	size_t len;
	uint8_t *data = tb_bundle(1, UINT64_MAX, "pub1", &len);
	const char *names[1] = {"pub1"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_bundle *b = NULL;
	assert_int_equal(tb_open_with(data, len, t, NULL, &b), COLB_OK);
	assert_true(colb_bundle_version(b) == UINT64_MAX);
	colb_bundle_free(b);
	colb_trust_free(t);
	free(data);
}

static void test_sign_adds_a_signature_and_meets_a_two_of_three_threshold(void **state)
{
	size_t len;
	uint8_t *data = tb_bundle(3, 9, "pub1", &len);
	const char *path = t_path(t_scratch(), "k.colb");
	FILE *f = fopen(path, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	const char *three[3] = {"pub1", "pub2", "pub3"};
	colb_trust *t = tb_trust(three, 3, 2);
	size_t n;
	uint8_t *d = t_read(path, &n);
	assert_int_equal(tb_open_with(d, n, t, NULL, NULL), COLB_ERR_THRESHOLD);
	free(d);
	/* The same key twice still counts once: sign refuses the duplicate. */
	char err[256];
	colb_seckey *k1 = tb_seckey("pub1"), *k2 = tb_seckey("pub2");
	assert_int_equal(colb_sign_file(path, k1, err, sizeof err), COLB_ERR_DUPLICATE_ENTRY);
	assert_int_equal(colb_sign_file(path, k2, err, sizeof err), COLB_OK);
	d = t_read(path, &n);
	assert_int_equal(n, len + 72);
	/* Nothing but the signature block length and the block itself changed. */
	assert_memory_equal(d, data, 16);
	assert_memory_equal(d + 20, data + 20, 8);
	colb_bundle *b = NULL;
	assert_int_equal(tb_open_with(d, n, t, NULL, &b), COLB_OK);
	assert_int_equal(colb_bundle_signer_count(b), 2);
	colb_bundle_free(b);
	free(d);
	colb_seckey_free(k1);
	colb_seckey_free(k2);
	colb_trust_free(t);
	free(data);
}

static void test_state_file_round_trips_and_guards_rollback(void **state)
{
	size_t len;
	uint8_t *data = tb_bundle(2, 100, "pub1", &len);
	const char *names[1] = {"pub1"};
	colb_trust *t = tb_trust(names, 1, 1);
	const char *sp = t_path(t_scratch(), "state.json");
	char digest[65], err[256], got[65];
	uint64_t v;
	colb_sha256_hex(data, len, digest);
	assert_int_equal(colb_state_write(sp, 100, digest, err, sizeof err), COLB_OK);
	assert_int_equal(colb_state_read(sp, &v, got, err, sizeof err), COLB_OK);
	assert_true(v == 100);
	assert_string_equal(got, digest);
	/* The same bundle again is fine; a newer one too. */
	assert_int_equal(tb_open_with(data, len, t, sp, NULL), COLB_OK);
	assert_int_equal(colb_state_write(sp, 99, digest, err, sizeof err), COLB_OK);
	assert_int_equal(tb_open_with(data, len, t, sp, NULL), COLB_OK);
	colb_trust_free(t);
	free(data);
}

static void test_conf_file_sets_trust_and_reports_file_and_line(void **state)
{
	const char *dir = t_scratch();
	const char *cp = t_path(dir, "colbundle.conf");
	tb_keyname("conf1");
	FILE *f = fopen(cp, "w");
	fprintf(f, "# site configuration\n\ntrust = conf1.pub\nthreshold = 1\n"
		   "freshness = enforce\nlog_level = debug\nallow_expired = no\n"
		   "baseline = early\nstate = /var/lib/colbundle/state.json\n");
	fclose(f);
	colb_conf c;
	colb_conf_init(&c);
	char err[256];
	assert_int_equal(colb_conf_load(cp, &c, err, sizeof err), COLB_OK);
	assert_int_equal(c.ntrust, 1);
	assert_string_equal(c.trust[0], t_path(dir, "conf1.pub"));
	assert_int_equal(c.freshness, COLB_FRESHNESS_ENFORCE);
	assert_int_equal(c.log_level, COLB_LOG_DEBUG);
	assert_int_equal(c.allow_expired, 0);
	assert_string_equal(c.baseline, "early");
	colb_conf_free(&c);
	colb_trust *t = colb_trust_new();
	assert_int_equal(colb_trust_load_conf(t, cp, err, sizeof err), COLB_OK);
	colb_trust_free(t);

	const char *bad[] = {"trust = a.pub\nbogus = 1\n", "threshold = 0\n", "freshness = sometimes\n",
			     "bundle = a\nbundle = b\n", "baseline = late\n", "no equals sign\n",
			     "allow_expired = maybe\n", "log_level = loud\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		colb_conf_init(&c);
		colb_err rc = colb_conf_parse(bad[i], strlen(bad[i]), "x.conf", NULL, &c, err, sizeof err);
		if (rc != COLB_ERR_CONFIG)
			fail_msg("'%s': expected COLB_ERR_CONFIG, got %d", bad[i], rc);
		if (strncmp(err, "x.conf:", 7) != 0)
			fail_msg("'%s': message '%s' does not name file:line", bad[i], err);
		colb_conf_free(&c);
	}
	colb_conf_init(&c);
	colb_conf_parse("trust = a.pub\nbogus = 1\n", 24, "x.conf", NULL, &c, err, sizeof err);
	assert_non_null(strstr(err, "x.conf:2:"));
	colb_conf_free(&c);
}

static void test_pubkey_with_wrong_key_id_is_refused(void **state)
{
	char pub[600], err[256];
	snprintf(pub, sizeof pub, "%s.pub", tb_keyname("pub1"));
	size_t n;
	char *text = (char *)t_read(pub, &n);
	char *line = strchr(text, '\n') + 1;
	line[4] = line[4] == 'A' ? 'B' : 'A'; /* inside the key id */
	colb_trust *t = colb_trust_new();
	assert_int_equal(colb_trust_add_pubkey_text(t, text, err, sizeof err), COLB_ERR_KEY);
	assert_int_equal(colb_trust_add_pubkey_text(t, "untrusted comment: x\nAAAA\n", err, sizeof err),
			 COLB_ERR_KEY);
	colb_trust_free(t);
	free(text);
}

static void test_writer_refuses_paths_outside_the_naming_rules(void **state)
{
	colb_writer *w = colb_writer_new();
	const uint8_t x = 'x';
	assert_int_equal(colb_writer_add_file(w, "../etc/passwd", &x, 1, NULL, NULL), COLB_ERR_BAD_PATH);
	assert_int_equal(colb_writer_add_file(w, "intel/tcbinfo/sgx/xyz/1.json", &x, 1, NULL, NULL),
			 COLB_ERR_BAD_PATH);
	assert_int_equal(colb_writer_add_file(w, "intel/tcbinfo/sgx/00906ED50000/17.json", &x, 1,
					      "vcek", NULL), COLB_ERR_INVALID_ARG);
	assert_int_equal(colb_writer_add_file(w, "intel/tcbinfo/sgx/00906ED50000/17.json", &x, 1,
					      NULL, "{\"colour\":\"red\"}"), COLB_ERR_INVALID_ARG);
	assert_int_equal(colb_writer_add_file(w, "intel/tcbinfo/sgx/00906ED50000/17.json", &x, 1,
					      NULL, "{\"fmspc\":\"00906ED50001\"}"), COLB_ERR_INVALID_ARG);
	assert_int_equal(colb_writer_add_file(w, "intel/pckcerts/00112233445566778899AABBCCDDEEFF-0000.json",
					      &x, 1, NULL, "{\"fmspc\":\"00906ED50000\"}"), COLB_OK);
	colb_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_writes_a_private_secret_key_and_refuses_to_overwrite),
		cmocka_unit_test(test_encrypted_key_needs_its_password),
		cmocka_unit_test(test_tampered_secret_key_file_is_refused),
		cmocka_unit_test(test_written_bundle_opens_and_serves_its_files),
		cmocka_unit_test(test_writer_is_reproducible_byte_for_byte),
		cmocka_unit_test(test_uint64_versions_survive_the_manifest),
		cmocka_unit_test(test_sign_adds_a_signature_and_meets_a_two_of_three_threshold),
		cmocka_unit_test(test_state_file_round_trips_and_guards_rollback),
		cmocka_unit_test(test_conf_file_sets_trust_and_reports_file_and_line),
		cmocka_unit_test(test_pubkey_with_wrong_key_id_is_refused),
		cmocka_unit_test(test_writer_refuses_paths_outside_the_naming_rules),
	};
	return cmocka_run_group_tests_name("bundle", tests, NULL, NULL);
}
