/*
 * test_bundle_refusals.c — one test per refusal of the reader, each asserting
 * its own error code. Hostile bundles are built by signing an envelope around
 * whatever manifest and tar.gz the test needs (test_bundle_support.h).
 */
#include "test_bundle_support.h"

#include <unistd.h>

#define EXPECT(call, want)                                                                    \
	do {                                                                                  \
		colb_err got_ = (call);                                                       \
		if (got_ != (want))                                                           \
			fail_msg("%s: expected %s (%d), got %s (%d)", #call, colb_strerror(want), \
				 (int)(want), colb_strerror(got_), (int)got_);                \
	} while (0)

/* Opens with the "hostile" key trusted; returns the error and the message. */
static colb_err open_hostile(const uint8_t *d, size_t n, char *msg, size_t msglen)
{
	const char *names[1] = {"hostile"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_bundle *b = NULL;
	colb_err rc = tb_open_with(d, n, t, NULL, &b);
	if (msg)
		snprintf(msg, msglen, "%s", colb_bundle_error(b));
	colb_bundle_free(b);
	colb_trust_free(t);
	return rc;
}

/* A signed envelope around a manifest text and payload, with any minor. */
static uint8_t *envelope_minor(const char *manifest, const uint8_t *payload, size_t plen,
			       uint16_t minor, size_t *len)
{
	colb_seckey *k = tb_seckey("hostile");
	size_t mlen = strlen(manifest);
	uint8_t header[COLB_HEADER_LEN], cnt[2] = {1, 0}, sig[64];
	colb_envelope_header(header, minor, (uint32_t)mlen, 2 + 72, plen);
	colb_buf pae, out;
	colb_buf_init(&pae, 0);
	colb_buf_init(&out, 0);
	assert_int_equal(colb_pae_build(header, (const uint8_t *)manifest, mlen, &pae), COLB_OK);
	crypto_sign_detached(sig, NULL, pae.data, pae.len, k->sk);
	colb_buf_append(&out, header, sizeof header);
	colb_buf_append(&out, manifest, mlen);
	colb_buf_append(&out, cnt, 2);
	colb_buf_append(&out, k->keyid, 8);
	colb_buf_append(&out, sig, 64);
	colb_buf_append(&out, payload, plen);
	colb_buf_free(&pae);
	colb_seckey_free(k);
	return colb_buf_steal(&out, len);
}

static const char *P1 = "intel/tcbinfo/sgx/00906ED50000/17.json";
static const char *P2 = "intel/crl/processor.der";
static const char D1[] = "{\"tcbInfo\":{\"version\":3}}";
static const char D2[] = "crl-bytes!";

/* A valid hostile-key bundle's manifest text and payload, to edit. */
static char *good_manifest(uint8_t **payload, size_t *plen)
{
	tb_entry e[2] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}, {P1, D1, sizeof D1 - 1, 0, NULL, -1}};
	tb_listed l[2] = {{P2, D2, sizeof D2 - 1}, {P1, D1, sizeof D1 - 1}};
	*payload = tb_targz(e, 2, plen);
	colb_buf m;
	colb_buf_init(&m, 0);
	tb_manifest(l, 2, *payload, *plen, 7, &m);
	return (char *)colb_buf_steal(&m, NULL);
}

/* Replaces the first occurrence of `from` in s (which must exist). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	if (!p)
		fail_msg("'%s' not in manifest", from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return out;
}

static colb_err edited(const char *from, const char *to, uint16_t minor, char *msg, size_t msglen)
{
	uint8_t *payload;
	size_t plen, len;
	char *m = good_manifest(&payload, &plen);
	char *e = replace(m, from, to);
	uint8_t *d = envelope_minor(e, payload, plen, minor, &len);
	colb_err rc = open_hostile(d, len, msg, msglen);
	free(d);
	free(e);
	free(m);
	free(payload);
	return rc;
}

/* ---- the envelope ---------------------------------------------------------- */

static void test_reader_refuses_bad_magic(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	d[1] = 'X';
	EXPECT(tb_open(d, len, "pub1"), COLB_ERR_BAD_MAGIC);
	EXPECT(tb_open((const uint8_t *)"PK\3\4 a zip file, not a bundle", 30, "pub1"), COLB_ERR_BAD_MAGIC);
	free(d);
}

static void test_reader_refuses_unknown_major_version(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	d[8] = 2;
	EXPECT(tb_open(d, len, "pub1"), COLB_ERR_UNSUPPORTED_VERSION);
	free(d);
}

static void test_reader_reads_newer_minor_that_adds_nothing(void **state)
{
	EXPECT(edited("\"format_version\":\"1.0\"", "\"format_version\":\"1.1\"", 1, NULL, 0), COLB_OK);
}

static void test_reader_refuses_newer_minor_with_unknown_manifest_key(void **state)
{
	char msg[512];
	EXPECT(edited("\"format_version\":\"1.0\"", "\"format_version\":\"1.1\",\"mirror\":\"x\"", 1,
		      msg, sizeof msg), COLB_ERR_UNSUPPORTED_VERSION);
	assert_non_null(strstr(msg, "mirror"));
	/* The same key in a 1.0 bundle is simply a bad manifest. */
	EXPECT(edited("\"format_version\":\"1.0\"", "\"format_version\":\"1.0\",\"mirror\":\"x\"", 0,
		      NULL, 0), COLB_ERR_MANIFEST);
}

static void test_reader_refuses_format_version_that_disagrees_with_envelope(void **state)
{
	EXPECT(edited("\"format_version\":\"1.0\"", "\"format_version\":\"1.0\"", 1, NULL, 0),
	       COLB_ERR_MANIFEST);
}

static void test_reader_refuses_every_truncation(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(3, 1, "pub1", &len);
	for (size_t n = 0; n < len; n++) {
		colb_err rc = tb_open(d, n, "pub1");
		if (rc != COLB_ERR_TRUNCATED)
			fail_msg("truncated to %zu of %zu bytes: expected TRUNCATED, got %s", n, len,
				 colb_strerror(rc));
	}
	free(d);
}

static void test_reader_refuses_trailing_bytes_and_oversized_lengths(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	uint8_t *more = malloc(len + 1);
	memcpy(more, d, len);
	more[len] = 0;
	EXPECT(tb_open(more, len + 1, "pub1"), COLB_ERR_OVERSIZED);
	colb_put32(more + 12, COLB_MAX_MANIFEST + 1);
	EXPECT(tb_open(more, len, "pub1"), COLB_ERR_OVERSIZED);
	memcpy(more, d, len);
	colb_put64(more + 20, COLB_MAX_PAYLOAD + 1);
	EXPECT(tb_open(more, len, "pub1"), COLB_ERR_OVERSIZED);
	free(more);
	free(d);
}

static void test_reader_refuses_inconsistent_signature_block(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	uint32_t mlen = colb_le32(d + 12);
	/* count says 2 while the block holds one */
	d[COLB_HEADER_LEN + mlen] = 2;
	EXPECT(tb_open(d, len, "pub1"), COLB_ERR_MALFORMED);
	free(d);
}

/* ---- signatures and trust ------------------------------------------------------ */

static void test_reader_refuses_bundle_without_signature(void **state)
{
	uint8_t *payload;
	size_t plen;
	char *m = good_manifest(&payload, &plen);
	colb_buf out;
	colb_buf_init(&out, 0);
	assert_int_equal(colb_envelope_build((uint8_t *)m, strlen(m), payload, plen, NULL, 0, &out), COLB_OK);
	EXPECT(open_hostile(out.data, out.len, NULL, 0), COLB_ERR_NO_SIGNATURE);
	colb_buf_free(&out);
	free(m);
	free(payload);
}

static void test_reader_refuses_bad_signature_by_trusted_key(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	uint32_t mlen = colb_le32(d + 12);
	d[COLB_HEADER_LEN + mlen + 2 + 8 + 10] ^= 0x40;
	EXPECT(tb_open(d, len, "pub1"), COLB_ERR_BAD_SIGNATURE);
	free(d);
}

static void test_reader_refuses_untrusted_signer(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	EXPECT(tb_open(d, len, "pub2"), COLB_ERR_UNTRUSTED_KEY);
	free(d);
}

static void test_reader_refuses_when_threshold_not_met(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	const char *names[2] = {"pub1", "pub2"};
	colb_trust *t = tb_trust(names, 2, 2);
	EXPECT(tb_open_with(d, len, t, NULL, NULL), COLB_ERR_THRESHOLD);
	colb_trust_free(t);
	free(d);
}

static void test_same_key_signing_twice_counts_once(void **state)
{
	uint8_t *payload;
	size_t plen;
	char *m = good_manifest(&payload, &plen);
	colb_seckey *k = tb_seckey("hostile");
	const colb_seckey *keys[2] = {k, k};
	colb_buf out;
	colb_buf_init(&out, 0);
	assert_int_equal(colb_envelope_build((uint8_t *)m, strlen(m), payload, plen, keys, 2, &out), COLB_OK);
	const char *names[1] = {"hostile"};
	colb_trust *t = tb_trust(names, 1, 2);
	EXPECT(tb_open_with(out.data, out.len, t, NULL, NULL), COLB_ERR_THRESHOLD);
	colb_trust_free(t);
	colb_seckey_free(k);
	colb_buf_free(&out);
	free(m);
	free(payload);
}

/* ---- time and rollback ------------------------------------------------------- */

static colb_err open_at(const uint8_t *d, size_t len, time_t at, int allow_expired)
{
	const char *names[1] = {"pub1"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_opts_set_time(o, at);
	colb_opts_set_allow_expired(o, allow_expired);
	colb_bundle *b = colb_bundle_new(o);
	colb_err rc = colb_bundle_open_memory(b, d, len);
	colb_bundle_free(b);
	colb_opts_free(o);
	colb_trust_free(t);
	return rc;
}

static void test_reader_refuses_expired_bundle_unless_allowed(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	EXPECT(open_at(d, len, TB_EXPIRES, 0), COLB_ERR_EXPIRED);
	EXPECT(open_at(d, len, TB_EXPIRES - 1, 0), COLB_OK);
	EXPECT(open_at(d, len, TB_EXPIRES + 86400, 1), COLB_OK);
	free(d);
}

static void test_reader_refuses_bundle_created_in_the_future(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	EXPECT(open_at(d, len, TB_CREATED - COLB_CLOCK_SKEW - 1, 0), COLB_ERR_NOT_YET_VALID);
	EXPECT(open_at(d, len, TB_CREATED - COLB_CLOCK_SKEW, 0), COLB_OK);
	free(d);
}

static colb_err open_with_state(const uint8_t *d, size_t len, const char *state_text)
{
	const char *sp = t_path(t_scratch(), "rb-state.json");
	unlink(sp);
	if (state_text) {
		FILE *f = fopen(sp, "w");
		fputs(state_text, f);
		fclose(f);
	}
	const char *names[1] = {"pub1"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_err rc = tb_open_with(d, len, t, sp, NULL);
	colb_trust_free(t);
	return rc;
}

static void test_reader_refuses_rolled_back_bundle(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 41, "pub1", &len);
	char text[200], digest[65];
	colb_sha256_hex(d, len, digest);
	snprintf(text, sizeof text, "{\"version\":\"42\",\"digest\":\"%s\"}", digest);
	EXPECT(open_with_state(d, len, text), COLB_ERR_ROLLBACK);
	free(d);
}

static void test_reader_refuses_same_version_with_other_digest(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 42, "pub1", &len);
	char text[200];
	snprintf(text, sizeof text, "{\"version\":\"42\",\"digest\":\"%064d\"}", 0);
	EXPECT(open_with_state(d, len, text), COLB_ERR_ROLLBACK);
	free(d);
}

static void test_reader_refuses_unreadable_or_corrupt_state(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 42, "pub1", &len);
	EXPECT(open_with_state(d, len, NULL), COLB_ERR_STATE);
	EXPECT(open_with_state(d, len, "{\"version\":42}"), COLB_ERR_STATE);
	EXPECT(open_with_state(d, len, "{\"version\":\"42\",\"digest\":\"abc\"}"), COLB_ERR_STATE);
	EXPECT(open_with_state(d, len, "{\"version\":\"4x\",\"digest\":\"abc\"}"), COLB_ERR_STATE);
	EXPECT(open_with_state(d, len, "not json"), COLB_ERR_STATE);
	free(d);
}

/* ---- the manifest ------------------------------------------------------------- */

static void test_reader_refuses_manifest_with_duplicate_key(void **state)
{
	EXPECT(edited("\"publisher\":\"Test Publisher\"",
		      "\"publisher\":\"Test Publisher\",\"publisher\":\"Other\"", 0, NULL, 0),
	       COLB_ERR_MANIFEST);
}

static void test_reader_refuses_manifest_with_unknown_or_missing_key(void **state)
{
	EXPECT(edited("\"publisher\":\"Test Publisher\"", "\"publisher\":\"Test Publisher\",\"x\":1", 0,
		      NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited(",\"publisher\":\"Test Publisher\"", "", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"kind\":\"crl\"", "\"kind\":\"crl\",\"mode\":420", 0, NULL, 0), COLB_ERR_MANIFEST);
}

static void test_reader_refuses_manifest_with_wrong_types(void **state)
{
	EXPECT(edited("\"version\":\"7\"", "\"version\":7", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"version\":\"7\"", "\"version\":\"07\"", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"created\":\"2025-06-01T00:00:00Z\"", "\"created\":\"2025-06-01\"", 0, NULL, 0),
	       COLB_ERR_MANIFEST);
	EXPECT(edited("\"baseline\":{}", "\"baseline\":[]", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"size\":10,", "\"size\":10.0,", 0, NULL, 0), COLB_ERR_MANIFEST);
}

/* The manifest re-written by jansson: indented, keys sorted. */
static colb_err reformatted(size_t flags)
{
	uint8_t *payload;
	size_t plen, len;
	char *m = good_manifest(&payload, &plen);
	json_t *j = json_loads(m, 0, NULL);
	assert_non_null(j);
	char *e = json_dumps(j, flags);
	uint8_t *d = envelope_minor(e, payload, plen, 0, &len);
	colb_err rc = open_hostile(d, len, NULL, 0);
	json_decref(j);
	free(d);
	free(e);
	free(m);
	free(payload);
	return rc;
}

static void test_reader_reads_manifest_in_any_key_order_and_layout(void **state)
{
	EXPECT(reformatted(JSON_INDENT(2) | JSON_SORT_KEYS), COLB_OK);
	EXPECT(reformatted(JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII), COLB_OK);
	/* escapes decode to the same strings */
	EXPECT(edited("\"kind\":\"crl\"", "\"kind\":\"\\u0063rl\"", 0, NULL, 0), COLB_OK);
	EXPECT(edited("\"publisher\":\"Test Publisher\"", "\"publisher\":\"Test\\u0020Publisher\"", 0, NULL, 0),
	       COLB_OK);
}

static void test_reader_refuses_manifest_that_is_not_strict_json(void **state)
{
	EXPECT(edited("\"tee\":[\"sgx\"]", "\"tee\":[\"sgx\",]", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"payload\":{", "\"payload\":{,", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"Test Publisher\"", "'Test Publisher'", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"Test Publisher\"", "\"Test\\u0000Publisher\"", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"Test Publisher\"", "\"Test \xc0\xafPublisher\"", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"Test Publisher\"", "\"Test \\ud800Publisher\"", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"Test Publisher\"", "\"Test\tPublisher\"", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"size\":10,", "\"size\":010,", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"size\":10,", "\"size\":-10,", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"baseline\":{}", "\"baseline\":{\"a\":1,\"a\":2}", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"ca\":\"processor\"", "\"ca\":\"processor\",\"ca\":\"processor\"", 0, NULL, 0),
	       COLB_ERR_MANIFEST);
	EXPECT(edited("\"path\":", "\"path\":\"x\",\"path\":", 0, NULL, 0), COLB_ERR_MANIFEST);
	/* something after the object */
	uint8_t *payload;
	size_t plen, len;
	char *m = good_manifest(&payload, &plen);
	size_t n = strlen(m);
	m = realloc(m, n + 4);
	memcpy(m + n, " {}", 4);
	uint8_t *d = envelope_minor(m, payload, plen, 0, &len);
	EXPECT(open_hostile(d, len, NULL, 0), COLB_ERR_MANIFEST);
	free(d);
	free(m);
	free(payload);
}

static void test_reader_refuses_bundle_id_not_derived_from_content(void **state)
{
	EXPECT(edited("\"bundle_id\":\"", "\"bundle_id\":\"0", 0, NULL, 0), COLB_ERR_MANIFEST);
}

static void test_reader_refuses_unknown_kind_or_meta_key(void **state)
{
	EXPECT(edited("\"kind\":\"crl\"", "\"kind\":\"firmware\"", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"ca\":\"processor\"", "\"ca\":\"processor\",\"colour\":\"red\"", 0, NULL, 0),
	       COLB_ERR_MANIFEST);
	/* meta that disagrees with the path */
	EXPECT(edited("\"ca\":\"processor\"", "\"ca\":\"platform\"", 0, NULL, 0), COLB_ERR_MANIFEST);
	EXPECT(edited("\"fmspc\":\"00906ED50000\"", "\"fmspc\":\"00906ed50000\"", 0, NULL, 0),
	       COLB_ERR_MANIFEST);
}

static void test_reader_refuses_tee_list_that_disagrees_with_files(void **state)
{
	EXPECT(edited("\"tee\":[\"sgx\"]", "\"tee\":[\"sgx\",\"tdx\"]", 0, NULL, 0), COLB_ERR_MANIFEST);
}

static void test_reader_refuses_unsorted_or_duplicate_paths(void **state)
{
	uint8_t *payload;
	size_t plen, len;
	tb_entry e[2] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}, {P1, D1, sizeof D1 - 1, 0, NULL, -1}};
	payload = tb_targz(e, 2, &plen);
	tb_listed unsorted[2] = {{P1, D1, sizeof D1 - 1}, {P2, D2, sizeof D2 - 1}};
	tb_listed dup[2] = {{P2, D2, sizeof D2 - 1}, {P2, D2, sizeof D2 - 1}};
	colb_buf m;
	colb_buf_init(&m, 0);
	tb_manifest(unsorted, 2, payload, plen, 7, &m);
	uint8_t *d = tb_envelope(m.data, m.len, payload, plen, "hostile", &len);
	EXPECT(open_hostile(d, len, NULL, 0), COLB_ERR_MANIFEST);
	free(d);
	colb_buf_reset(&m);
	tb_manifest(dup, 2, payload, plen, 7, &m);
	d = tb_envelope(m.data, m.len, payload, plen, "hostile", &len);
	EXPECT(open_hostile(d, len, NULL, 0), COLB_ERR_DUPLICATE_ENTRY);
	free(d);
	colb_buf_free(&m);
	free(payload);
}

static void test_reader_refuses_listed_path_outside_allow_list(void **state)
{
	EXPECT(edited("\"path\":\"intel/crl/processor.der\"", "\"path\":\"intel/crl/../processor.der\"",
		      0, NULL, 0), COLB_ERR_BAD_PATH);
}

/* ---- the payload ---------------------------------------------------------------- */

static void test_reader_refuses_payload_digest_mismatch(void **state)
{
	size_t len;
	uint8_t *d = tb_bundle(2, 1, "pub1", &len);
	d[len - 5] ^= 1;
	char msg[512];
	const char *names[1] = {"pub1"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_bundle *b = NULL;
	EXPECT(tb_open_with(d, len, t, NULL, &b), COLB_ERR_DIGEST_MISMATCH);
	snprintf(msg, sizeof msg, "%s", colb_bundle_error(b));
	assert_non_null(strstr(msg, "payload"));
	assert_int_equal(colb_bundle_file_count(b), 0); /* serves nothing */
	colb_bundle_free(b);
	colb_trust_free(t);
	free(d);
}

static void test_reader_refuses_payload_that_is_not_targz(void **state)
{
	static const uint8_t junk[64] = "this is not gzip data at all, only text";
	tb_listed l[1] = {{P2, D2, sizeof D2 - 1}};
	colb_buf m;
	colb_buf_init(&m, 0);
	tb_manifest(l, 1, junk, sizeof junk, 7, &m);
	size_t len;
	uint8_t *d = tb_envelope(m.data, m.len, junk, sizeof junk, "hostile", &len);
	EXPECT(open_hostile(d, len, NULL, 0), COLB_ERR_ARCHIVE);
	free(d);
	colb_buf_free(&m);
}

static void test_reader_refuses_unlisted_entry(void **state)
{
	tb_entry e[2] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}, {P1, D1, sizeof D1 - 1, 0, NULL, -1}};
	tb_listed l[1] = {{P1, D1, sizeof D1 - 1}};
	size_t len;
	char msg[512];
	uint8_t *d = tb_hostile(e, 2, l, 1, &len);
	EXPECT(open_hostile(d, len, msg, sizeof msg), COLB_ERR_UNLISTED_ENTRY);
	assert_non_null(strstr(msg, P2));
	free(d);
}

static void test_reader_refuses_missing_entry(void **state)
{
	tb_entry e[1] = {{P1, D1, sizeof D1 - 1, 0, NULL, -1}};
	tb_listed l[2] = {{P2, D2, sizeof D2 - 1}, {P1, D1, sizeof D1 - 1}};
	size_t len;
	char msg[512];
	uint8_t *d = tb_hostile(e, 1, l, 2, &len);
	EXPECT(open_hostile(d, len, msg, sizeof msg), COLB_ERR_MISSING_ENTRY);
	assert_non_null(strstr(msg, P2));
	free(d);
}

static void test_reader_refuses_duplicated_entry(void **state)
{
	tb_entry e[2] = {{P1, D1, sizeof D1 - 1, 0, NULL, -1}, {P1, D1, sizeof D1 - 1, 0, NULL, -1}};
	tb_listed l[1] = {{P1, D1, sizeof D1 - 1}};
	size_t len;
	uint8_t *d = tb_hostile(e, 2, l, 1, &len);
	EXPECT(open_hostile(d, len, NULL, 0), COLB_ERR_DUPLICATE_ENTRY);
	free(d);
}

static void test_reader_refuses_wrongly_sized_entry(void **state)
{
	/* The manifest lists 12 bytes; the entry has 10. */
	static const char twelve[] = "crl-bytes!!!";
	tb_entry e[1] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}};
	tb_listed l[1] = {{P2, twelve, 12}};
	size_t len;
	char msg[512];
	uint8_t *d = tb_hostile(e, 1, l, 1, &len);
	EXPECT(open_hostile(d, len, msg, sizeof msg), COLB_ERR_SIZE_MISMATCH);
	assert_non_null(strstr(msg, "size 10 differs from manifest 12"));
	free(d);
}

static void test_reader_refuses_file_whose_digest_differs(void **state)
{
	/* Same size, other bytes: the open succeeds (the payload is authentic),
	 * the file is refused before a byte of it is returned. */
	static const char other[] = "CRL-BYTES!";
	tb_entry e[1] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}};
	tb_listed l[1] = {{P2, other, sizeof other - 1}};
	size_t len;
	uint8_t *d = tb_hostile(e, 1, l, 1, &len);
	const char *names[1] = {"hostile"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_bundle *b = NULL;
	EXPECT(tb_open_with(d, len, t, NULL, &b), COLB_OK);
	const uint8_t *data = NULL;
	size_t n = 0;
	EXPECT(colb_bundle_read(b, P2, &data, &n), COLB_ERR_DIGEST_MISMATCH);
	assert_null(data);
	EXPECT(colb_bundle_read(b, P2, &data, &n), COLB_ERR_DIGEST_MISMATCH);
	EXPECT(colb_bundle_verify_files(b), COLB_ERR_DIGEST_MISMATCH);
	colb_bundle_free(b);
	colb_trust_free(t);
	free(d);
}

static void test_verify_files_finds_a_bad_digest_among_many_large_files(void **state)
{
	/* Over 4 MiB in all, so that the digests are checked on several CPUs. */
	enum { N = 6, SZ = 1u << 20 };
	static const char *paths[N] = {"other/a", "other/b", "other/c", "other/d", "other/e", "other/f"};
	uint8_t *data[N];
	tb_entry e[N];
	tb_listed l[N];
	for (int i = 0; i < N; i++) {
		data[i] = malloc(SZ);
		for (size_t j = 0; j < SZ; j++)
			data[i][j] = (uint8_t)((j * 2654435761u >> 11) + (unsigned)i);
		e[i] = (tb_entry){paths[i], data[i], SZ, 0, NULL, -1};
		l[i] = (tb_listed){paths[i], data[i], SZ};
	}
	uint8_t *other = malloc(SZ);
	memcpy(other, data[4], SZ);
	other[SZ / 2] ^= 1;
	l[4].data = other; /* listed digest of other bytes, same size */
	size_t len;
	uint8_t *d = tb_hostile(e, N, l, N, &len);
	const char *names[1] = {"hostile"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_bundle *b = NULL;
	EXPECT(tb_open_with(d, len, t, NULL, &b), COLB_OK);
	EXPECT(colb_bundle_verify_files(b), COLB_ERR_DIGEST_MISMATCH);
	assert_non_null(strstr(colb_bundle_error(b), "other/e"));
	const uint8_t *p;
	size_t n;
	EXPECT(colb_bundle_read(b, "other/d", &p, &n), COLB_OK);
	assert_memory_equal(p, data[3], SZ);
	colb_bundle_free(b);
	colb_trust_free(t);
	free(d);
	free(other);
	for (int i = 0; i < N; i++)
		free(data[i]);
}

static void test_reader_refuses_symlink_hardlink_and_directory_entries(void **state)
{
	const int types[3] = {AE_IFLNK, AE_IFREG, AE_IFDIR};
	const char *links[3] = {"/etc/passwd", "intel/crl/platform.der", NULL};
	for (int i = 0; i < 3; i++) {
		tb_entry e[1] = {{P2, NULL, 0, types[i], links[i], 0}};
		tb_listed l[1] = {{P2, "", 0}};
		size_t len;
		uint8_t *d = tb_hostile(e, 1, l, 1, &len);
		colb_err rc = open_hostile(d, len, NULL, 0);
		if (rc != COLB_ERR_NOT_REGULAR)
			fail_msg("entry type %d: expected NOT_REGULAR, got %s", i, colb_strerror(rc));
		free(d);
	}
}

static void test_reader_refuses_entry_paths_with_dotdot_or_absolute(void **state)
{
	const char *bad[] = {"../intel/crl/processor.der", "/etc/passwd", "intel//crl/processor.der",
			     "intel/crl/./processor.der", "intel/crl/proc essor.der"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tb_entry e[2] = {{bad[i], D2, sizeof D2 - 1, 0, NULL, -1}, {P2, D2, sizeof D2 - 1, 0, NULL, -1}};
		tb_listed l[1] = {{P2, D2, sizeof D2 - 1}};
		size_t len;
		uint8_t *d = tb_hostile(e, 2, l, 1, &len);
		colb_err rc = open_hostile(d, len, NULL, 0);
		if (rc != COLB_ERR_BAD_PATH)
			fail_msg("'%s': expected BAD_PATH, got %s", bad[i], colb_strerror(rc));
		free(d);
	}
}

static colb_err open_limited(const uint8_t *d, size_t len, uint64_t total, uint64_t entry,
			     uint64_t entries, unsigned ratio)
{
	const char *names[1] = {"hostile"};
	colb_trust *t = tb_trust(names, 1, 1);
	colb_opts *o = colb_opts_new();
	colb_opts_set_trust(o, t);
	colb_opts_set_time(o, TB_AT);
	colb_opts_set_limits(o, total, entry, entries, ratio);
	colb_bundle *b = colb_bundle_new(o);
	colb_err rc = colb_bundle_open_memory(b, d, len);
	colb_bundle_free(b);
	colb_opts_free(o);
	colb_trust_free(t);
	return rc;
}

static void test_reader_refuses_decompression_bombs(void **state)
{
	size_t big = 8u << 20, len;
	uint8_t *zeros = calloc(1, big);
	const char *p3 = "intel/crl/platform.der";
	tb_entry e[2] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}, {p3, zeros, big, 0, NULL, -1}};
	tb_listed l[2] = {{p3, zeros, big}, {P2, D2, sizeof D2 - 1}}; /* sorted */
	uint8_t *d = tb_hostile(e, 2, l, 2, &len);
	/* 8 MiB of zeros gzip to about 8 KiB: a ratio near 1000:1 */
	EXPECT(open_limited(d, len, 0, 0, 0, 0), COLB_ERR_BOMB);
	EXPECT(open_limited(d, len, 0, 0, 0, 2000), COLB_OK);
	EXPECT(open_limited(d, len, 4u << 20, 0, 0, 2000), COLB_ERR_BOMB);   /* total */
	EXPECT(open_limited(d, len, 0, 1u << 20, 0, 2000), COLB_ERR_BOMB);   /* per entry */
	EXPECT(open_limited(d, len, 0, 0, 1, 2000), COLB_ERR_BOMB);          /* count */
	free(d);
	free(zeros);
}

static void test_reader_refuses_payload_inflating_past_its_listed_files(void **state)
{
	/* 2 MiB that no listed file accounts for */
	size_t big = 2u << 20, len;
	uint8_t *junk = malloc(big);
	for (size_t i = 0; i < big; i++)
		junk[i] = (uint8_t)(i * 2654435761u >> 13);
	tb_entry e[2] = {{"intel/crl/platform.der", junk, big, 0, NULL, -1}, {P2, D2, sizeof D2 - 1, 0, NULL, -1}};
	tb_listed l[1] = {{P2, D2, sizeof D2 - 1}};
	uint8_t *d = tb_hostile(e, 2, l, 1, &len);
	char msg[512];
	EXPECT(open_hostile(d, len, msg, sizeof msg), COLB_ERR_BOMB);
	assert_non_null(strstr(msg, "listed files need"));
	free(d);
	free(junk);
}

/* The one-file bundle around a payload edited by fn, signed after the edit. */
static colb_err open_edited_payload(void (*fn)(uint8_t *payload, size_t *plen), char *msg, size_t msglen)
{
	tb_entry e[1] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}};
	tb_listed l[1] = {{P2, D2, sizeof D2 - 1}};
	size_t plen, len;
	uint8_t *payload = tb_targz(e, 1, &plen);
	payload = realloc(payload, plen + 64);
	fn(payload, &plen);
	colb_buf m;
	colb_buf_init(&m, 0);
	tb_manifest(l, 1, payload, plen, 7, &m);
	uint8_t *d = tb_envelope(m.data, m.len, payload, plen, "hostile", &len);
	colb_err rc = open_hostile(d, len, msg, msglen);
	free(d);
	colb_buf_free(&m);
	free(payload);
	return rc;
}

static void trailer_length_plus_one(uint8_t *p, size_t *n) { p[*n - 4]++; }
static void trailer_cut(uint8_t *p, size_t *n) { *n -= 3; }
static void header_reserved_flag(uint8_t *p, size_t *n) { p[3] |= 0x80; }
static void no_change(uint8_t *p, size_t *n) {}

/* A gzip member with a file name and a comment in its header (as gzip(1)
 * writes one): the same deflate data behind a longer header. */
static void header_with_name_and_comment(uint8_t *p, size_t *n)
{
	static const char extra[] = "payload.tar\0made by hand";
	memmove(p + 10 + sizeof extra, p + 10, *n - 10);
	memcpy(p + 10, extra, sizeof extra);
	p[3] |= 8 | 16;
	*n += sizeof extra;
}

static void junk_after_the_stream(uint8_t *p, size_t *n)
{
	memcpy(p + *n, "junk", 4);
	*n += 4;
}

static void test_reader_refuses_data_after_the_gzip_stream(void **state)
{
	EXPECT(open_edited_payload(junk_after_the_stream, NULL, 0), COLB_ERR_ARCHIVE);
}

static void test_reader_checks_the_gzip_framing(void **state)
{
	char msg[512];
	EXPECT(open_edited_payload(no_change, NULL, 0), COLB_OK);
	EXPECT(open_edited_payload(header_with_name_and_comment, NULL, 0), COLB_OK);
	EXPECT(open_edited_payload(trailer_length_plus_one, msg, sizeof msg), COLB_ERR_ARCHIVE);
	assert_non_null(strstr(msg, "trailer"));
	EXPECT(open_edited_payload(trailer_cut, msg, sizeof msg), COLB_ERR_ARCHIVE);
	assert_non_null(strstr(msg, "truncated"));
	EXPECT(open_edited_payload(header_reserved_flag, msg, sizeof msg), COLB_ERR_ARCHIVE);
	assert_non_null(strstr(msg, "header"));
}

static void test_reader_refuses_entry_count_over_cap_in_the_archive(void **state)
{
	/* The manifest lists one file; the archive holds three (the extra two
	 * would be unlisted, but the count cap is checked first). */
	tb_entry e[3] = {{P2, D2, sizeof D2 - 1, 0, NULL, -1}, {P1, D1, sizeof D1 - 1, 0, NULL, -1},
			 {"intel/crl/platform.der", D2, sizeof D2 - 1, 0, NULL, -1}};
	tb_listed l[1] = {{P2, D2, sizeof D2 - 1}};
	size_t len;
	uint8_t *d = tb_hostile(e, 3, l, 1, &len);
	EXPECT(open_limited(d, len, 0, 0, 1, 0), COLB_ERR_BOMB);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_refuses_bad_magic),
		cmocka_unit_test(test_reader_refuses_unknown_major_version),
		cmocka_unit_test(test_reader_reads_newer_minor_that_adds_nothing),
		cmocka_unit_test(test_reader_refuses_newer_minor_with_unknown_manifest_key),
		cmocka_unit_test(test_reader_refuses_format_version_that_disagrees_with_envelope),
		cmocka_unit_test(test_reader_refuses_every_truncation),
		cmocka_unit_test(test_reader_refuses_trailing_bytes_and_oversized_lengths),
		cmocka_unit_test(test_reader_refuses_inconsistent_signature_block),
		cmocka_unit_test(test_reader_refuses_bundle_without_signature),
		cmocka_unit_test(test_reader_refuses_bad_signature_by_trusted_key),
		cmocka_unit_test(test_reader_refuses_untrusted_signer),
		cmocka_unit_test(test_reader_refuses_when_threshold_not_met),
		cmocka_unit_test(test_same_key_signing_twice_counts_once),
		cmocka_unit_test(test_reader_refuses_expired_bundle_unless_allowed),
		cmocka_unit_test(test_reader_refuses_bundle_created_in_the_future),
		cmocka_unit_test(test_reader_refuses_rolled_back_bundle),
		cmocka_unit_test(test_reader_refuses_same_version_with_other_digest),
		cmocka_unit_test(test_reader_refuses_unreadable_or_corrupt_state),
		cmocka_unit_test(test_reader_refuses_manifest_with_duplicate_key),
		cmocka_unit_test(test_reader_refuses_manifest_with_unknown_or_missing_key),
		cmocka_unit_test(test_reader_refuses_manifest_with_wrong_types),
		cmocka_unit_test(test_reader_reads_manifest_in_any_key_order_and_layout),
		cmocka_unit_test(test_reader_refuses_manifest_that_is_not_strict_json),
		cmocka_unit_test(test_reader_refuses_bundle_id_not_derived_from_content),
		cmocka_unit_test(test_reader_refuses_unknown_kind_or_meta_key),
		cmocka_unit_test(test_reader_refuses_tee_list_that_disagrees_with_files),
		cmocka_unit_test(test_reader_refuses_unsorted_or_duplicate_paths),
		cmocka_unit_test(test_reader_refuses_listed_path_outside_allow_list),
		cmocka_unit_test(test_reader_refuses_payload_digest_mismatch),
		cmocka_unit_test(test_reader_refuses_payload_that_is_not_targz),
		cmocka_unit_test(test_reader_refuses_unlisted_entry),
		cmocka_unit_test(test_reader_refuses_missing_entry),
		cmocka_unit_test(test_reader_refuses_duplicated_entry),
		cmocka_unit_test(test_reader_refuses_wrongly_sized_entry),
		cmocka_unit_test(test_reader_refuses_file_whose_digest_differs),
		cmocka_unit_test(test_verify_files_finds_a_bad_digest_among_many_large_files),
		cmocka_unit_test(test_reader_refuses_symlink_hardlink_and_directory_entries),
		cmocka_unit_test(test_reader_refuses_entry_paths_with_dotdot_or_absolute),
		cmocka_unit_test(test_reader_refuses_decompression_bombs),
		cmocka_unit_test(test_reader_refuses_entry_count_over_cap_in_the_archive),
		cmocka_unit_test(test_reader_refuses_payload_inflating_past_its_listed_files),
		cmocka_unit_test(test_reader_refuses_data_after_the_gzip_stream),
		cmocka_unit_test(test_reader_checks_the_gzip_framing),
	};
	return cmocka_run_group_tests_name("bundle_refusals", tests, NULL, NULL);
}
